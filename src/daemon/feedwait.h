/* qingdand — long polls of the feed (GET /v1/feed?wait=S).
 *
 * A follower that has read everything asks again with wait=S and the
 * request is parked: its connection is suspended (no event thread or job
 * thread waits for it) until the feed's head passes the seq it asked
 * after, or S seconds pass, and then resumed to be answered.  One thread
 * watches the head: woken by every commit of this process
 * (feedwait_notify()), and once a second while requests are parked, for
 * commits made by another process on the same store (qingdanctl load). */
#ifndef QINGDAND_FEEDWAIT_H
#define QINGDAND_FEEDWAIT_H

#include <stdbool.h>
#include <stdint.h>

#include <microhttpd.h>

#include "qingdan/store.h"

typedef struct feedwait feedwait;

/* Requests parked at once, at most: past that a long poll is answered at
 * once, as if its wait were 0 (a follower then polls again). */
#define FEEDWAIT_MAX 256

/* Start the watcher of st's feed.  Returns NULL when a thread or memory
 * cannot be had. */
feedwait *feedwait_start(qd_store *st);

/* Park connection c, suspended by the caller, until the head passes
 * `after` or wait_s seconds pass; then set *resumed and resume it.
 * Returns false (c not taken: the caller resumes it and answers now)
 * when FEEDWAIT_MAX are parked or the watcher is stopping. */
bool feedwait_park(feedwait *fw, struct MHD_Connection *c, bool *resumed, uint64_t after,
		   unsigned wait_s);

/* A commit happened: look at the head now. */
void feedwait_notify(feedwait *fw);

/* Resume every parked connection now and park no more (each is answered
 * with what it finds): when the daemon starts to stop, so that a long
 * poll does not hold the shutdown grace.  fw stays valid.  NULL is
 * ignored. */
void feedwait_drain(feedwait *fw);

/* Resume every parked connection, stop the thread and free fw: before
 * MHD_stop_daemon().  NULL is ignored. */
void feedwait_stop(feedwait *fw);

#endif
