/* qingdand — the audit of attempts that changed nothing, off the request
 * path.
 *
 * Refusals, failures and dry runs on admin routes are audited here, not
 * by the store in the request's thread: a request only takes a mutex and
 * counts.  Within one window (--audit-window) the first attempt of a kind
 * (actor, client, action, list, status, outcome, message) is written at
 * once; its repeats are counted and written as one record (count,
 * last_time) when the window ends.  At most QD_AUDIT_KINDS kinds are kept
 * apart per window; the rest share one record.  So whatever the rate of
 * attempts, a window writes at most 2 × QD_AUDIT_KINDS + 1 records, and
 * the store keeps at most --audit-max-attempts of them, none older than
 * --audit-retain days.  One writer thread does every write. */
#ifndef QINGDAND_AUDITQ_H
#define QINGDAND_AUDITQ_H

#include <stdint.h>

#include "qingdan/store.h"

/* Kinds of attempt told apart in one window. */
#define QD_AUDIT_KINDS 64

typedef struct auditq auditq;

typedef struct auditq_opts {
	unsigned window_s;        /* aggregation window, seconds (>= 1) */
	unsigned retain_days;     /* attempt records older than this go; 0: kept */
	uint64_t max_attempts;    /* attempt records kept at most; 0: no bound */
} auditq_opts;

/* Start the writer thread for store st (borrowed; outlives the queue).
 * Returns the queue or NULL (no memory or thread). */
auditq *auditq_start(qd_store *st, const auditq_opts *o);

/* Count one attempt; rec's strings are copied when kept.  Never waits
 * for the store. */
void auditq_add(auditq *q, const qd_audit_rec *rec);

/* Write every first attempt not yet written, now, on the calling thread
 * (for the job threads: before a change is stored or the audit is read,
 * so that the log keeps the order in which requests were answered).
 * Waits for the store's writer. */
void auditq_sync(auditq *q);

/* Counters for /metrics: attempts counted, records written, writes that
 * failed. */
void auditq_counts(auditq *q, uint64_t *attempts, uint64_t *records, uint64_t *failures);

/* Write everything counted (repeats too), stop the thread, free q.  NULL
 * is ignored. */
void auditq_stop(auditq *q);

#endif
