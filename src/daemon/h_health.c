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
	if (n == 0)
		return respond_error(c, E_NOT_READY, "no list is loaded yet");
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_printf(&b, "{\"status\":\"ready\",\"lists\":%zu}", n);
	return respond_json(c, MHD_HTTP_OK, &b);
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
	in.has_store = qd_store_stats_get(srv->store, &in.store) == 0;
	snaps_cache_stats(&srv->snaps, &in.cache);
	if (srv->auditq)
		auditq_counts(srv->auditq, &in.audit_attempts, &in.audit_records, &in.audit_failures);
	if (srv->jobs)
		in.jobs_pending = jobs_pending(srv->jobs);
	qd_buf b;
	qd_buf_init(&b);
	metrics_render(&srv->m, &in, &b);
	if (in.has_lists)
		qd_list_infos_free(lists, n_lists);
	size_t len;
	char *data = qd_buf_steal(&b, &len);
	if (!data)
		return MHD_NO;
	return respond_raw(c, MHD_HTTP_OK, data, len, "text/plain; version=0.0.4; charset=utf-8", "no-store",
			   NULL, NULL);
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
	return respond_json(c, MHD_HTTP_OK, &b);
}
