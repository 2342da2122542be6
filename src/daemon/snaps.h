/* qingdand — per-thread read snapshots and their registry.
 *
 * Each worker thread keeps one snapshot handle (with its read cache) for
 * its whole life, made on its first read.  The registry lists every live
 * handle so /metrics can sum the read caches' counters across threads. */
#ifndef QINGDAND_SNAPS_H
#define QINGDAND_SNAPS_H

#include <pthread.h>
#include <stddef.h>

#include "qingdan/store.h"

typedef struct snaps {
	qd_store *store;             /* borrowed; outlives the registry */
	size_t read_cache;           /* bound of each handle's read cache; 0: off */
	pthread_key_t key;           /* per-thread slot, made by snaps_thread() */
	/* A handle is added when snaps_thread() makes it and removed, under
	 * lock, before its thread's exit frees it: whoever holds the lock may
	 * read the handles in v. */
	pthread_mutex_t lock;
	qd_snap **v;
	size_t n, cap;
	qd_snap_cache_stats gone;    /* counters of handles freed since; entries 0 (guarded by lock) */
} snaps;

/* Set up the per-thread snapshot key and an empty registry (before the
 * first request).
 *   r           the registry to initialise
 *   store       the store the handles read; borrowed, must outlive r
 *   read_cache  bound in bytes of each handle's read cache; 0: off */
void snaps_init(snaps *r, qd_store *store, size_t read_cache);

/* Free the registry.  Call once every thread that made a handle has exited
 * (after MHD_stop_daemon()): a live thread's handle would outlive it. */
void snaps_fini(snaps *r);

/* The calling thread's snapshot handle, made and registered on first use,
 * with its read transaction opened.
 * Returns the handle (owned by the thread; close the transaction with
 * qd_snap_close(), never free it), or NULL when it cannot be made or opened. */
qd_snap *snaps_thread(snaps *r);

/* Sum the read caches' statistics over every registered handle into out;
 * the counters include those of handles already freed. */
void snaps_cache_stats(snaps *r, qd_snap_cache_stats *out);

/* The per-thread read snapshot of srv's registry, opened: snaps_thread()
 * of srv->snaps.  Returns the handle or NULL on failure; close with
 * qd_snap_close(). */
struct server;
qd_snap *thread_snap(struct server *srv);

#endif
