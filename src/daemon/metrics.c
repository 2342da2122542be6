/* qingdand — Prometheus metrics (text exposition format 0.0.4). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qd_config.h"
#include "following.h"
#include "metrics.h"

static const unsigned statuses[METRICS_STATUSES] = {
	200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 405, 412, 413, 415, 422, 500, 503, 507, 0, 0,
};

static const double buckets[METRICS_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
};

void metrics_init(metrics *m, const metrics_route *routes, unsigned n)
{
	memset(m, 0, sizeof *m);
	m->shards = aligned_alloc(_Alignof(metrics_shard), METRICS_SHARDS * sizeof *m->shards);
	m->n_shards = METRICS_SHARDS;
	if (m->shards) {
		memset(m->shards, 0, METRICS_SHARDS * sizeof *m->shards);
	} else {
		m->shards = &m->one;
		m->n_shards = 1;
	}
	pthread_mutex_init(&m->mu, NULL);
	m->n_routes = n < METRICS_ROUTES_MAX ? n : METRICS_ROUTES_MAX;
	if (m->n_routes)
		memcpy(m->routes, routes, m->n_routes * sizeof *routes);
}

void metrics_fini(metrics *m)
{
	if (m->shards != &m->one)
		free(m->shards);
	m->shards = NULL;
	pthread_mutex_destroy(&m->mu);
}

/* This thread's shard of m: the threads are dealt the shards in turn. */
static metrics_shard *shard(metrics *m)
{
	static atomic_uint dealt;
	static _Thread_local unsigned mine; /* 1 + the thread's turn; 0: none yet */
	if (!mine)
		mine = atomic_fetch_add_explicit(&dealt, 1, memory_order_relaxed) % METRICS_SHARDS + 1;
	return &m->shards[(mine - 1) % m->n_shards];
}

/* The index of list id in the shards' per-list counters, naming it if it
 * is new; METRICS_LISTS_MAX when every slot is taken.  The names are
 * written once under the lock before n_lists counts them, so they are
 * read without it. */
static unsigned list_index(metrics *m, const char *id)
{
	unsigned n = atomic_load_explicit(&m->n_lists, memory_order_acquire);
	for (unsigned k = 0; k < n; k++)
		if (strcmp(m->list_ids[k], id) == 0)
			return k;
	pthread_mutex_lock(&m->mu);
	unsigned k = n;
	n = atomic_load_explicit(&m->n_lists, memory_order_relaxed);
	while (k < n && strcmp(m->list_ids[k], id) != 0)
		k++;
	if (k == n && k < METRICS_LISTS_MAX) {
		snprintf(m->list_ids[k], sizeof m->list_ids[k], "%s", id);
		atomic_store_explicit(&m->n_lists, k + 1, memory_order_release);
	}
	pthread_mutex_unlock(&m->mu);
	return k;
}

/* The sum over the shards of the counter at offset off of a shard. */
static uint64_t sum(const metrics *m, const atomic_uint_fast64_t *c0)
{
	size_t off = (size_t)((const char *)c0 - (const char *)&m->shards[0]);
	uint64_t v = 0;
	for (unsigned i = 0; i < m->n_shards; i++)
		v += atomic_load_explicit((const atomic_uint_fast64_t *)((const char *)&m->shards[i] + off),
					  memory_order_relaxed);
	return v;
}

bool metrics_expiring_get(metrics *m, const char *list, uint32_t version, qd_date day, uint64_t *count)
{
	bool found = false;
	pthread_mutex_lock(&m->mu);
	for (unsigned i = 0; i < m->n_expiring && !found; i++)
		if (strcmp(m->expiring[i].id, list) == 0) {
			found = m->expiring[i].version == version && m->expiring[i].day == day;
			*count = m->expiring[i].count;
		}
	pthread_mutex_unlock(&m->mu);
	return found;
}

void metrics_expiring_put(metrics *m, const char *list, uint32_t version, qd_date day, uint64_t count)
{
	pthread_mutex_lock(&m->mu);
	unsigned i = 0;
	while (i < m->n_expiring && strcmp(m->expiring[i].id, list) != 0)
		i++;
	if (i == m->n_expiring && i < METRICS_LISTS_MAX) {
		snprintf(m->expiring[i].id, sizeof m->expiring[i].id, "%s", list);
		m->n_expiring++;
	}
	if (i < m->n_expiring) {
		m->expiring[i].version = version;
		m->expiring[i].day = day;
		m->expiring[i].count = count;
	}
	pthread_mutex_unlock(&m->mu);
}

void metrics_request(metrics *m, unsigned ri, unsigned status, uint64_t us)
{
	unsigned si = METRICS_STATUSES;
	for (unsigned i = 0; i < METRICS_STATUSES; i++)
		if (statuses[i] == status) {
			si = i;
			break;
		}
	if (ri > METRICS_ROUTES_MAX)
		ri = METRICS_ROUTES_MAX;
	metrics_shard *sh = shard(m);
	atomic_fetch_add_explicit(&sh->requests[ri][si], 1, memory_order_relaxed);
	double sec = (double)us / 1e6;
	unsigned b = 0;
	while (b < METRICS_BUCKETS && sec > buckets[b])
		b++;
	atomic_fetch_add_explicit(&sh->latency[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&sh->latency_us_sum, us, memory_order_relaxed);
	atomic_fetch_add_explicit(&sh->latency_count, 1, memory_order_relaxed);
}

void metrics_decision(metrics *m, const qd_outcome *o)
{
	metrics_shard *sh = shard(m);
	atomic_fetch_add_explicit(&sh->decisions_overall[o->allow][o->reason], 1, memory_order_relaxed);
	unsigned n = o->n_lists < QD_OUTCOME_LISTS_MAX ? o->n_lists : QD_OUTCOME_LISTS_MAX;
	for (unsigned i = 0; i < n; i++) {
		const struct qd_list_outcome *lo = &o->lists[i];
		unsigned k = list_index(m, lo->id);
		if (k < METRICS_LISTS_MAX)
			atomic_fetch_add_explicit(&sh->lists[k][lo->allow][lo->reason], 1, memory_order_relaxed);
	}
}

void metrics_load(metrics *m, enum load_outcome o, int64_t now)
{
	atomic_fetch_add(&m->loads[o], 1);
	if (o == LOAD_STORED)
		atomic_store(&m->last_load_time, now);
}

static void help(qd_buf *b, const char *name, const char *type, const char *text)
{
	qd_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* Requests by route and status, and the latency histogram. */
static void render_http(metrics *m, qd_buf *b)
{
	help(b, "qingdan_http_requests_total", "counter", "HTTP requests by route, method and status.");
	for (unsigned r = 0; r <= METRICS_ROUTES_MAX; r++) {
		const char *method = "-", *pattern = "unmatched";
		if (r < METRICS_ROUTES_MAX) {
			if (r >= m->n_routes)
				continue;
			pattern = m->routes[r].pattern;
			method = m->routes[r].method;
		}
		for (unsigned s = 0; s <= METRICS_STATUSES; s++) {
			uint64_t v = sum(m, &m->shards[0].requests[r][s]);
			if (!v)
				continue;
			char st[16] = "other";
			if (s < METRICS_STATUSES && statuses[s])
				snprintf(st, sizeof st, "%u", statuses[s]);
			qd_buf_printf(b, "qingdan_http_requests_total{route=\"%s\",method=\"%s\",status=\"%s\"} %llu\n",
				      pattern, method, st, (unsigned long long)v);
		}
	}

	help(b, "qingdan_http_request_duration_seconds", "histogram",
	     "Time from request headers to response completion.");
	uint64_t cum = 0;
	for (unsigned i = 0; i <= METRICS_BUCKETS; i++) {
		cum += sum(m, &m->shards[0].latency[i]);
		if (i < METRICS_BUCKETS)
			qd_buf_printf(b, "qingdan_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[i],
				      (unsigned long long)cum);
		else
			qd_buf_printf(b, "qingdan_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
				      (unsigned long long)cum);
	}
	qd_buf_printf(b, "qingdan_http_request_duration_seconds_sum %.6f\n",
		      (double)sum(m, &m->shards[0].latency_us_sum) / 1e6);
	qd_buf_printf(b, "qingdan_http_request_duration_seconds_count %llu\n",
		      (unsigned long long)sum(m, &m->shards[0].latency_count));
}

/* Decisions per list and overall, and list changes. */
static void render_decisions(metrics *m, qd_buf *b)
{
	help(b, "qingdan_decisions_total", "counter",
	     "Decisions by list result: list, decision and reason (one per consulted list).");
	unsigned n_lists = atomic_load_explicit(&m->n_lists, memory_order_acquire);
	for (unsigned k = 0; k < n_lists; k++)
		for (int a = 0; a < 2; a++)
			for (int r = 0; r < QD_REASON_COUNT; r++) {
				uint64_t v = sum(m, &m->shards[0].lists[k][a][r]);
				if (v)
					qd_buf_printf(b, "qingdan_decisions_total{list=\"%s\",decision=\"%s\",reason=\"%s\"} %llu\n",
						      m->list_ids[k], a ? "allow" : "deny",
						      qd_reason_name((enum qd_reason)r), (unsigned long long)v);
			}
	help(b, "qingdan_answers_total", "counter", "Overall answers (across lists) by decision and reason.");
	for (int a = 0; a < 2; a++)
		for (int r = 0; r < QD_REASON_COUNT; r++) {
			uint64_t v = sum(m, &m->shards[0].decisions_overall[a][r]);
			if (v)
				qd_buf_printf(b, "qingdan_answers_total{decision=\"%s\",reason=\"%s\"} %llu\n",
					      a ? "allow" : "deny", qd_reason_name((enum qd_reason)r),
					      (unsigned long long)v);
		}

	help(b, "qingdan_loads_total", "counter",
	     "List changes (load, import, rollback) by outcome: stored, dry_run, refused, failed.");
	static const char *const outcomes[LOAD_OUTCOMES] = {"stored", "dry_run", "refused", "failed"};
	for (int i = 0; i < LOAD_OUTCOMES; i++)
		qd_buf_printf(b, "qingdan_loads_total{outcome=\"%s\"} %llu\n", outcomes[i],
			      (unsigned long long)atomic_load(&m->loads[i]));
	help(b, "qingdan_last_load_time_seconds", "gauge",
	     "Unix time of the last list change this daemon stored (0: none since start).");
	qd_buf_printf(b, "qingdan_last_load_time_seconds %lld\n", (long long)atomic_load(&m->last_load_time));
}

/* The store's lists and LMDB, and the read caches. */
static void render_store(const metrics_inputs *in, qd_buf *b)
{
	if (in->has_lists) {
		const qd_list_info *lists = in->lists;
		size_t n = in->n_lists;
		help(b, "qingdan_list_version", "gauge", "Current version of each list.");
		for (size_t i = 0; i < n; i++)
			qd_buf_printf(b, "qingdan_list_version{list=\"%s\"} %u\n", lists[i].id, lists[i].version);
		help(b, "qingdan_list_entries", "gauge", "Entries in the current version of each list.");
		for (size_t i = 0; i < n; i++)
			qd_buf_printf(b, "qingdan_list_entries{list=\"%s\"} %u\n", lists[i].id, lists[i].entries);
		help(b, "qingdan_list_loaded_time_seconds", "gauge", "Unix time the current version was stored.");
		for (size_t i = 0; i < n; i++)
			qd_buf_printf(b, "qingdan_list_loaded_time_seconds{list=\"%s\"} %lld\n", lists[i].id,
				      (long long)lists[i].loaded_at);
		if (in->expiring) {
			help(b, "qingdan_entries_expiring", "gauge",
			     "Entries and roster members of each list's current version (revoked ones aside) "
			     "whose valid_to falls within the next days (China time), today included.");
			for (size_t i = 0; i < n; i++)
				if (in->expiring[i] != UINT64_MAX)
					qd_buf_printf(b, "qingdan_entries_expiring{list=\"%s\",within=\"%ud\"} %llu\n",
						      lists[i].id, in->expiring_days,
						      (unsigned long long)in->expiring[i]);
		}
	}
	if (in->has_store) {
		const qd_store_stats *st = &in->store;
		help(b, "qingdan_lmdb_map_size_bytes", "gauge", "LMDB map size (the store's maximum).");
		qd_buf_printf(b, "qingdan_lmdb_map_size_bytes %llu\n", (unsigned long long)st->map_size);
		help(b, "qingdan_lmdb_map_used_bytes", "gauge", "LMDB map in use.");
		qd_buf_printf(b, "qingdan_lmdb_map_used_bytes %llu\n", (unsigned long long)st->map_used);
		help(b, "qingdan_lmdb_readers", "gauge", "LMDB reader slots in use.");
		qd_buf_printf(b, "qingdan_lmdb_readers %u\n", st->readers_used);
		help(b, "qingdan_audit_attempt_records", "gauge",
		     "Audit records of attempts that changed nothing (pruned by --audit-retain and --audit-max-attempts).");
		qd_buf_printf(b, "qingdan_audit_attempt_records %llu\n", (unsigned long long)st->audit_attempts);
	}
	help(b, "qingdan_audit_attempts_total", "counter",
	     "Refused, failed and dry-run admin requests counted for the audit.");
	qd_buf_printf(b, "qingdan_audit_attempts_total %llu\n", (unsigned long long)in->audit_attempts);
	help(b, "qingdan_audit_attempt_records_written_total", "counter",
	     "Audit records written for them (one per kind of attempt and window, plus repeats).");
	qd_buf_printf(b, "qingdan_audit_attempt_records_written_total %llu\n", (unsigned long long)in->audit_records);
	help(b, "qingdan_audit_write_failures_total", "counter", "Audit writes that failed (storage full …).");
	qd_buf_printf(b, "qingdan_audit_write_failures_total %llu\n", (unsigned long long)in->audit_failures);
	help(b, "qingdan_jobs_pending", "gauge", "Loads, rollbacks, diffs and audit reads queued or running.");
	qd_buf_printf(b, "qingdan_jobs_pending %u\n", in->jobs_pending);
	if (in->follow) {
		const following_state *f = in->follow;
		help(b, "qingdan_follow_applied_seq", "gauge", "The last feed record of the primary this replica applied.");
		qd_buf_printf(b, "qingdan_follow_applied_seq %llu\n", (unsigned long long)f->applied_seq);
		help(b, "qingdan_follow_head_seq", "gauge", "The primary's last feed record, as last read.");
		qd_buf_printf(b, "qingdan_follow_head_seq %llu\n", (unsigned long long)f->head_seq);
		help(b, "qingdan_follow_lag_seconds", "gauge",
		     "Seconds since this replica last had every record its primary had (-1: never).");
		qd_buf_printf(b, "qingdan_follow_lag_seconds %lld\n", (long long)f->lag_seconds);
		help(b, "qingdan_follow_errors_total", "counter", "Failed attempts to follow the primary, by reason.");
		for (int r = QD_RF_NONE + 1; r < QD_RF_COUNT; r++)
			qd_buf_printf(b, "qingdan_follow_errors_total{reason=\"%s\"} %llu\n",
				      qd_replica_fault_name((enum qd_replica_fault)r), (unsigned long long)f->errors[r]);
	}

	const qd_snap_cache_stats *cs = &in->cache;
	help(b, "qingdan_read_cache_hits_total", "counter",
	     "Codes and entities found in a worker thread's read cache (all threads).");
	qd_buf_printf(b, "qingdan_read_cache_hits_total %llu\n", (unsigned long long)cs->hits);
	help(b, "qingdan_read_cache_misses_total", "counter",
	     "Codes and entities the read caches did not hold, so the store was searched (all threads).");
	qd_buf_printf(b, "qingdan_read_cache_misses_total %llu\n", (unsigned long long)cs->misses);
	help(b, "qingdan_read_cache_resets_total", "counter",
	     "Times a read cache was emptied to make room (all threads): a steady climb says --read-cache is small.");
	qd_buf_printf(b, "qingdan_read_cache_resets_total %llu\n", (unsigned long long)cs->resets);
}

static void render_logs(const metrics_inputs *in, qd_buf *b)
{
	help(b, "qingdan_log_lines_total", "counter", "Lines written to each log.");
	help(b, "qingdan_log_dropped_total", "counter", "Lines dropped because a log could not keep up.");
	help(b, "qingdan_log_errors_total", "counter", "Lines lost to write errors (disk full, I/O error).");
	const logq *logs[] = {in->access_log, in->decision_log};
	const char *names[] = {"access", "decision"};
	for (int i = 0; i < 2; i++) {
		if (!logs[i])
			continue;
		qd_buf_printf(b, "qingdan_log_lines_total{log=\"%s\"} %llu\n", names[i],
			      (unsigned long long)atomic_load(&logs[i]->lines));
		qd_buf_printf(b, "qingdan_log_dropped_total{log=\"%s\"} %llu\n", names[i],
			      (unsigned long long)atomic_load(&logs[i]->dropped));
		qd_buf_printf(b, "qingdan_log_errors_total{log=\"%s\"} %llu\n", names[i],
			      (unsigned long long)atomic_load(&logs[i]->errors));
	}
	const logq *d = in->decision_log;
	if (!d || d->mode != LOGQ_LOSSLESS)
		return;
	help(b, "qingdan_decision_log_unavailable_total", "counter",
	     "Decisions answered 503 log_unavailable: the lossless decision log could not take their lines.");
	qd_buf_printf(b, "qingdan_decision_log_unavailable_total %llu\n", (unsigned long long)atomic_load(&d->refused));
	help(b, "qingdan_decision_log_syncs_total", "counter",
	     "Batches of lines written and fsynced to the lossless decision log.");
	qd_buf_printf(b, "qingdan_decision_log_syncs_total %llu\n", (unsigned long long)atomic_load(&d->syncs));
	help(b, "qingdan_decision_log_write_failures_total", "counter",
	     "Failed write or fsync attempts of the lossless decision log (its lines are kept and retried).");
	qd_buf_printf(b, "qingdan_decision_log_write_failures_total %llu\n",
		      (unsigned long long)atomic_load(&d->write_failures));
}

void metrics_render(metrics *m, const metrics_inputs *in, qd_buf *b)
{
	help(b, "qingdan_build_info", "gauge", "Build of the running daemon.");
	qd_buf_printf(b, "qingdan_build_info{version=\"%s\"} 1\n", QD_VERSION);
	help(b, "qingdan_start_time_seconds", "gauge", "Unix time the daemon started.");
	qd_buf_printf(b, "qingdan_start_time_seconds %lld\n", (long long)in->started);
	render_http(m, b);
	render_decisions(m, b);
	render_store(in, b);
	render_logs(in, b);
}
