/* qingdand — GET /healthz, /readyz, /metrics and /v1/status. */
#include <stdlib.h>
#include <time.h>

#include "qd_config.h"

#include "auditq.h"
#include "handlers.h"
#include "jobs.h"
#include "metrics.h"
#include "qingdand.h"
#include "render.h"
#include "following.h"
#include "respond.h"
#include "snaps.h"

enum MHD_Result h_healthz(struct MHD_Connection *c, request *r)
{
	(void)r;
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_puts(&b, "{\"status\":\"ok\"}");
	return respond_json(c, MHD_HTTP_OK, &b);
}

enum MHD_Result h_readyz(struct MHD_Connection *c, request *r)
{
	qd_list_info *v;
	size_t n;
	int err = qd_store_lists(r->srv->store, &v, &n);
	if (err)
		return respond_error(c, E_NOT_READY, "the store cannot be read");
	qd_list_infos_free(v, n);
	if (r->srv->following) {
		/* A replica is ready while what it serves is known to be the
		 * primary's, give or take --max-staleness. */
		following_state fs;
		following_get(r->srv->following, &fs);
		int64_t now = (int64_t)time(NULL);
		char msg[700];
		if (fs.fault == QD_RF_GONE) {
			snprintf(msg, sizeof msg, "cannot follow the primary: %s", fs.last_error);
			return respond_error(c, E_NOT_READY, msg);
		}
		if (!fs.last_ok || now - fs.last_ok > (int64_t)r->srv->cfg.max_staleness) {
			snprintf(msg, sizeof msg, "the primary's feed was %s (--max-staleness %u s)%s%s",
				 fs.last_ok ? "last read and applied longer ago than allowed" : "not read and applied yet",
				 r->srv->cfg.max_staleness, fs.last_error[0] ? "; last error: " : "", fs.last_error);
			return respond_error(c, E_STALE, msg);
		}
	}
	if (n == 0)
		return respond_error(c, E_NOT_READY, "no list is loaded yet");
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_printf(&b, "{\"status\":\"ready\",\"lists\":%zu}", n);
	return respond_json(c, MHD_HTTP_OK, &b);
}

/* qingdan_entries_expiring of each list, through the metrics' cache. */
static void count_expiring(server *srv, const qd_list_info *lists, size_t n, uint64_t *out)
{
	qd_date today = qd_date_at((int64_t)time(NULL), srv->utc_offset);
	for (size_t i = 0; i < n; i++) {
		const qd_list_info *l = &lists[i];
		if (metrics_expiring_get(&srv->m, l->id, l->version, today, &out[i]))
			continue;
		qd_expiring e;
		out[i] = UINT64_MAX;
		if (qd_store_expiring(srv->store, l->id, today, QD_EXPIRING_WITHIN_DEFAULT, true, &e))
			continue;
		/* The version counted is the one the store read, which a load
		 * may have moved on from since lists were read. */
		out[i] = e.entries + e.members;
		metrics_expiring_put(&srv->m, l->id, e.version, today, out[i]);
		qd_expiring_free(&e);
	}
}

enum MHD_Result h_metrics(struct MHD_Connection *c, request *r)
{
	server *srv = r->srv;
	metrics_inputs in = {
		.started = srv->started,
		.access_log = srv->access_log,
		.decision_log = srv->decision_log,
	};
	qd_list_info *lists = NULL;
	size_t n_lists = 0;
	in.has_lists = qd_store_lists(srv->store, &lists, &n_lists) == 0;
	in.lists = lists;
	in.n_lists = n_lists;
	uint64_t *expiring = in.has_lists && n_lists ? malloc(n_lists * sizeof *expiring) : NULL;
	if (expiring) {
		count_expiring(srv, lists, n_lists, expiring);
		in.expiring = expiring;
		in.expiring_days = QD_EXPIRING_WITHIN_DEFAULT;
	}
	in.has_store = qd_store_stats_get(srv->store, &in.store) == 0;
	snaps_cache_stats(&srv->snaps, &in.cache);
	if (srv->auditq)
		auditq_counts(srv->auditq, &in.audit_attempts, &in.audit_records, &in.audit_failures);
	if (srv->jobs)
		in.jobs_pending = jobs_pending(srv->jobs);
	following_state fs;
	if (srv->following) {
		following_get(srv->following, &fs);
		in.follow = &fs;
	}
	qd_buf b;
	qd_buf_init(&b);
	metrics_render(&srv->m, &in, &b);
	if (in.has_lists)
		qd_list_infos_free(lists, n_lists);
	free(expiring);
	size_t len;
	char *data = qd_buf_steal(&b, &len);
	if (!data)
		return MHD_NO;
	return respond_raw(c, MHD_HTTP_OK, data, len, "text/plain; version=0.0.4; charset=utf-8", "no-store",
			   NULL, NULL);
}

/* "follow": null, or what the replica knows of its primary. */
static void render_following(qd_buf *b, following *fw)
{
	if (!fw) {
		qd_buf_puts(b, "null");
		return;
	}
	following_state fs;
	following_get(fw, &fs);
	qd_buf_puts(b, "{\"source\":");
	qd_buf_json_cstr(b, fs.source);
	qd_buf_printf(b, ",\"applied_seq\":%llu,\"head_seq\":%llu,\"lag_seconds\":", (unsigned long long)fs.applied_seq,
		      (unsigned long long)fs.head_seq);
	if (fs.lag_seconds >= 0)
		qd_buf_printf(b, "%lld", (long long)fs.lag_seconds);
	else
		qd_buf_puts(b, "null");
	char t[21];
	qd_buf_puts(b, ",\"last_ok\":");
	if (fs.last_ok) {
		qd_time_format(fs.last_ok, t);
		qd_buf_printf(b, "\"%s\"", t);
	} else {
		qd_buf_puts(b, "null");
	}
	qd_buf_puts(b, ",\"last_error\":");
	if (fs.last_error[0]) {
		qd_time_format(fs.last_error_at, t);
		qd_buf_printf(b, "{\"reason\":\"%s\",\"message\":", qd_replica_fault_name(fs.last_error_reason));
		qd_buf_json_cstr(b, fs.last_error);
		qd_buf_printf(b, ",\"at\":\"%s\",\"current\":%s}", t, fs.fault ? "true" : "false");
	} else {
		qd_buf_puts(b, "null");
	}
	qd_buf_putc(b, '}');
}

enum MHD_Result h_status(struct MHD_Connection *c, request *r)
{
	enum MHD_Result res;
	if (!no_params(c, &res))
		return res;
	server *srv = r->srv;
	qd_list_info *v;
	size_t n;
	int err = qd_store_lists(srv->store, &v, &n);
	if (err)
		return respond_lib_error(c, err, NULL);
	qd_store_stats st;
	err = qd_store_stats_get(srv->store, &st);
	if (err) {
		qd_list_infos_free(v, n);
		return respond_lib_error(c, err, NULL);
	}
	int64_t now = (int64_t)time(NULL);
	char started[21];
	qd_time_format(srv->started, started);
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_printf(&b, "{\"build\":{\"name\":\"qingdand\",\"version\":\"%s\"},\"started_at\":\"%s\","
		      "\"uptime_seconds\":%lld,\"threads\":%u,\"lists\":[",
		      QD_VERSION, started, (long long)(now - srv->started), srv->cfg.threads);
	for (size_t i = 0; i < n; i++) {
		if (i)
			qd_buf_putc(&b, ',');
		render_list_meta(&b, &v[i]);
	}
	qd_list_infos_free(v, n);
	/* No filesystem path: whoever may read may see this. */
	qd_buf_printf(&b, "],\"store\":{\"map_size_bytes\":%llu,\"map_used_bytes\":%llu,\"map_used_percent\":%.2f,"
		      "\"readers_used\":%u,\"readers_max\":%u,\"versions\":%llu,\"entries\":%llu,"
		      "\"audit_records\":%llu,\"audit_attempt_records\":%llu}}",
		      (unsigned long long)st.map_size, (unsigned long long)st.map_used,
		      st.map_size ? 100.0 * (double)st.map_used / (double)st.map_size : 0.0, st.readers_used,
		      st.readers_max, (unsigned long long)st.versions, (unsigned long long)st.entries,
		      (unsigned long long)st.audit, (unsigned long long)st.audit_attempts);
	b.len--; /* reopen the object for "feed" and "follow" */
	uint64_t head = 0;
	qd_store_feed_head(srv->store, &head, NULL);
	qd_buf_printf(&b, ",\"feed\":{\"head\":%llu,\"signing_kid\":", (unsigned long long)head);
	if (srv->sign_key)
		qd_buf_printf(&b, "\"%s\"}", qd_key_kid(srv->sign_key));
	else
		qd_buf_puts(&b, "null}");
	qd_buf_puts(&b, ",\"follow\":");
	render_following(&b, srv->following);
	qd_buf_putc(&b, '}');
	return respond_json(c, MHD_HTTP_OK, &b);
}
