/* qingdand — per-thread read snapshots and their registry. */
#include <stdlib.h>
#include <string.h>

#include "qingdand.h"
#include "snaps.h"

/* What a worker thread's snapshot key holds: its handle, and the registry
 * that lists it (a key destructor is given nothing else). */
typedef struct snap_slot {
	snaps *reg;
	qd_snap *snap;
} snap_slot;

/* Run at a worker thread's exit.  The handle leaves the registry under the
 * lock before it is freed, so a /metrics scrape on another thread never
 * reads a freed handle; its counters are kept so the sums never go down. */
static void snap_destroy(void *p)
{
	snap_slot *slot = p;
	snaps *r = slot->reg;
	qd_snap_cache_stats st;
	qd_snap_cache_stats_get(slot->snap, &st);
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i] == slot->snap) {
			r->v[i] = r->v[--r->n];
			break;
		}
	}
	r->gone.hits += st.hits;
	r->gone.misses += st.misses;
	r->gone.resets += st.resets;
	pthread_mutex_unlock(&r->lock);
	qd_snap_free(slot->snap);
	free(slot);
}

void snaps_init(snaps *r, qd_store *store, size_t read_cache)
{
	r->store = store;
	r->read_cache = read_cache;
	pthread_key_create(&r->key, snap_destroy);
	pthread_mutex_init(&r->lock, NULL);
	r->v = NULL;
	r->n = r->cap = 0;
	memset(&r->gone, 0, sizeof r->gone);
}

void snaps_fini(snaps *r)
{
	pthread_key_delete(r->key);
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
	pthread_mutex_destroy(&r->lock);
}

/* Make this thread's handle and list it; NULL (nothing kept) on failure. */
static snap_slot *snap_slot_new(snaps *r)
{
	snap_slot *slot = malloc(sizeof *slot);
	qd_snap *s = qd_snap_new(r->store);
	if (!slot || !s)
		goto fail;
	qd_snap_set_cache(s, r->read_cache);
	*slot = (snap_slot){r, s};
	pthread_mutex_lock(&r->lock);
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		qd_snap **v = realloc(r->v, cap * sizeof *v);
		if (!v) {
			pthread_mutex_unlock(&r->lock);
			goto fail;
		}
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = s;
	pthread_mutex_unlock(&r->lock);
	if (pthread_setspecific(r->key, slot) != 0) {
		snap_destroy(slot);
		return NULL;
	}
	return slot;
fail:
	qd_snap_free(s);
	free(slot);
	return NULL;
}

qd_snap *snaps_thread(snaps *r)
{
	snap_slot *slot = pthread_getspecific(r->key);
	if (!slot && !(slot = snap_slot_new(r)))
		return NULL;
	return qd_snap_open(slot->snap) == 0 ? slot->snap : NULL;
}

qd_snap *thread_snap(server *srv)
{
	return snaps_thread(&srv->snaps);
}

void snaps_cache_stats(snaps *r, qd_snap_cache_stats *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->gone;
	for (size_t i = 0; i < r->n; i++) {
		qd_snap_cache_stats st;
		qd_snap_cache_stats_get(r->v[i], &st);
		out->hits += st.hits;
		out->misses += st.misses;
		out->resets += st.resets;
		out->entries += st.entries;
		out->held_clauses += st.held_clauses;
		out->held_members += st.held_members;
	}
	pthread_mutex_unlock(&r->lock);
}
