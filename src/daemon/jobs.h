/* qingdand — the job threads: work that must not hold an event thread.
 *
 * libmicrohttpd serves each connection on one event thread, and every
 * other connection of that thread waits while a handler runs.  Loads,
 * rollbacks, diffs and audit reads take seconds on a big list (and may
 * wait for LMDB's writer lock), so the dispatcher suspends their
 * connection and hands them to these threads; lookups and refusals are
 * answered on the event threads and never wait for the store's writer. */
#ifndef QINGDAND_JOBS_H
#define QINGDAND_JOBS_H

#include <stdbool.h>

typedef struct jobs jobs;

/* Start n job threads (n >= 1) with room for max_queued waiting jobs.
 * Returns the pool, or NULL when a thread or memory cannot be had. */
jobs *jobs_start(unsigned n, unsigned max_queued);

/* Queue fn(arg) to run on a job thread.  Never blocks.
 * Returns true when queued; false when the queue is full or the pool is
 * stopping (the caller answers 503 itself). */
bool jobs_submit(jobs *j, void (*fn)(void *), void *arg);

/* Jobs queued or running now. */
unsigned jobs_pending(jobs *j);

/* Refuse new jobs, run every queued one to its end, join the threads and
 * free the pool.  NULL is ignored. */
void jobs_stop(jobs *j);

#endif
