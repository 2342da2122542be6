/* qingdand — Prometheus metrics.
 *
 * Counters are atomics bumped on the request path; the per-list decision
 * counters sit behind a mutex because lists come and go at run time (the
 * critical section is a short linear search over a handful of lists). */
#ifndef QINGDAND_METRICS_H
#define QINGDAND_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "qingdan/buf.h"
#include "qingdan/decide.h"

#define METRICS_ROUTES_MAX 32
#define METRICS_LISTS_MAX 64
/* Status codes counted individually; anything else lands in "other". */
#define METRICS_STATUSES 20
/* Latency histogram upper bounds, seconds. */
#define METRICS_BUCKETS 12

enum load_outcome { LOAD_STORED, LOAD_DRY_RUN, LOAD_REFUSED, LOAD_FAILED, LOAD_OUTCOMES };

typedef struct metrics {
	atomic_uint_fast64_t requests[METRICS_ROUTES_MAX + 1][METRICS_STATUSES + 1];
	atomic_uint_fast64_t latency[METRICS_BUCKETS + 1]; /* last: +Inf */
	atomic_uint_fast64_t latency_us_sum, latency_count;
	atomic_uint_fast64_t loads[LOAD_OUTCOMES];
	atomic_int_fast64_t last_load_time;                /* unix seconds of the last stored change */
	pthread_mutex_t mu;                                /* guards the per-list decision counters */
	unsigned n_lists;
	struct {
		char id[QD_LIST_ID_MAX + 1];
		uint64_t n[2][QD_REASON_COUNT];                 /* [allow][reason] */
	} lists[METRICS_LISTS_MAX];
	atomic_uint_fast64_t decisions_overall[2][QD_REASON_COUNT];
} metrics;

void metrics_init(metrics *m);
/* Count a finished request: route index (METRICS_ROUTES_MAX when none matched), status, duration. */
void metrics_request(metrics *m, unsigned route, unsigned status, uint64_t duration_us);
/* Count one decision: overall and per consulted list. */
void metrics_decision(metrics *m, const qd_outcome *o);
void metrics_load(metrics *m, enum load_outcome o, int64_t now);

/* Render the metrics in Prometheus text format. */
struct server;
void metrics_render(struct server *srv, qd_buf *b);

#endif
