/* qingdand — Prometheus metrics.
 *
 * The counters bumped on the request path are kept in shards: each thread
 * counts in its own (threads are dealt shards in turn as they first count),
 * so no cache line is written by two threads on the way of a request, and a
 * scrape sums the shards.  The lists the per-list decision counters are for
 * are named once each, under a mutex; a decision only reads the names. */
#ifndef QINGDAND_METRICS_H
#define QINGDAND_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qingdan/buf.h"
#include "qingdan/decide.h"
#include "qingdan/store.h"
#include "logq.h"

#define METRICS_ROUTES_MAX 32
#define METRICS_LISTS_MAX 64
/* Status codes counted individually; anything else lands in "other". */
#define METRICS_STATUSES 20
/* Latency histogram upper bounds, seconds. */
#define METRICS_BUCKETS 12

/* A route's labels in qingdan_http_requests_total. */
typedef struct metrics_route {
	const char *pattern;  /* "/v1/lists/{id}" */
	const char *method;   /* "GET" */
} metrics_route;

enum load_outcome { LOAD_STORED, LOAD_DRY_RUN, LOAD_REFUSED, LOAD_FAILED, LOAD_OUTCOMES };

/* Shards of the request path's counters: threads beyond it share. */
#define METRICS_SHARDS 64

/* One shard's counters, on cache lines of its own. */
typedef struct metrics_shard {
	_Alignas(64) atomic_uint_fast64_t requests[METRICS_ROUTES_MAX + 1][METRICS_STATUSES + 1];
	atomic_uint_fast64_t latency[METRICS_BUCKETS + 1]; /* last: +Inf */
	atomic_uint_fast64_t latency_us_sum, latency_count;
	atomic_uint_fast64_t decisions_overall[2][QD_REASON_COUNT];
	atomic_uint_fast64_t lists[METRICS_LISTS_MAX][2][QD_REASON_COUNT]; /* [list][allow][reason] */
} metrics_shard;

typedef struct metrics {
	unsigned n_routes;
	metrics_route routes[METRICS_ROUTES_MAX];          /* labels by route index; strings borrowed */
	metrics_shard *shards;                             /* METRICS_SHARDS, or &one alone */
	unsigned n_shards;
	metrics_shard one;                                 /* when the shards could not be allocated */
	atomic_uint_fast64_t loads[LOAD_OUTCOMES];
	atomic_int_fast64_t last_load_time;                /* unix seconds of the last stored change */
	pthread_mutex_t mu;                                /* guards naming a list, and the expiry counts */
	atomic_uint n_lists;                               /* named lists: the index in a shard's lists */
	char list_ids[METRICS_LISTS_MAX][QD_LIST_ID_MAX + 1]; /* written once, before n_lists counts it */
	/* The last counts of qingdan_entries_expiring, guarded by mu: a
	 * version's count changes only with the day, so a scrape reads a
	 * list's records once per version and day. */
	unsigned n_expiring;
	struct {
		char id[QD_LIST_ID_MAX + 1];
		uint32_t version;
		qd_date day;
		uint64_t count;
	} expiring[METRICS_LISTS_MAX];
} metrics;

/* Start with every counter at 0.
 *   routes  the route table's labels, by route index: the array is copied,
 *           its strings are borrowed and must outlive m (string literals)
 *   n       entries in routes; those past METRICS_ROUTES_MAX are ignored */
void metrics_init(metrics *m, const metrics_route *routes, unsigned n);
/* Release what metrics_init() set up. */
void metrics_fini(metrics *m);
/* Count a finished request: route index (METRICS_ROUTES_MAX when none matched), status, duration. */
void metrics_request(metrics *m, unsigned route, unsigned status, uint64_t duration_us);
/* Count one decision: overall and per consulted list. */
void metrics_decision(metrics *m, const qd_outcome *o);
/* Count a list change by outcome; a stored one also sets the last load time to now. */
void metrics_load(metrics *m, enum load_outcome o, int64_t now);

/* The count of qingdan_entries_expiring kept for list at version on day:
 * true and *count set when there is one. */
bool metrics_expiring_get(metrics *m, const char *list, uint32_t version, qd_date day, uint64_t *count);
/* Keep a count for metrics_expiring_get() (the first METRICS_LISTS_MAX
 * lists only; the others are counted at every scrape). */
void metrics_expiring_put(metrics *m, const char *list, uint32_t version, qd_date day, uint64_t count);

/* What /metrics shows besides the counters: the caller reads it from the
 * store, the read caches and the logs just before rendering.  Every
 * pointer is borrowed for the call. */
typedef struct metrics_inputs {
	int64_t started;               /* unix seconds the daemon started */
	bool has_lists;                /* false: the store's lists could not be read, no list gauges */
	const qd_list_info *lists;     /* every list, ordered by id */
	size_t n_lists;
	bool has_store;                /* false: the store's statistics could not be read, no LMDB gauges */
	qd_store_stats store;
	qd_snap_cache_stats cache;     /* summed over every worker thread */
	const logq *access_log;        /* NULL: access log off */
	const logq *decision_log;      /* NULL: no decision log */
	/* The audit of attempts (auditq.h) and the job threads (jobs.h). */
	uint64_t audit_attempts, audit_records, audit_failures;
	unsigned jobs_pending;
	const struct following_state *follow; /* NULL: not a replica */
	/* Per list (as lists): entries and roster members whose validity
	 * ends within QD_EXPIRING_WITHIN_DEFAULT days, UINT64_MAX when they
	 * could not be counted; NULL: none shown. */
	const uint64_t *expiring;
	unsigned expiring_days;
} metrics_inputs;

/* Render the counters of m (summed over its shards) and the figures in
 * in, in Prometheus text format (exposition format 0.0.4), appended to b.
 * m is only read. */
void metrics_render(metrics *m, const metrics_inputs *in, qd_buf *b);

#endif
