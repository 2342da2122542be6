/* qingdand — request dispatch: the route table, auth and body limits.
 * The only file that refers to the handlers; they answer through
 * respond.c. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "qingdan/xlsx.h"
#include "qingdan/err.h"
#include "qingdan/sha256.h"
#include "auditq.h"
#include "handlers.h"
#include "jobs.h"
#include "qingdand.h"
#include "respond.h"
#include "xlsx_out.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* The map of the API: every endpoint, in one place. */
static const route routes[] = {
	{"/v1/lookup", "GET", h_lookup, ACCESS_READ, BODY_NONE, false, NULL, false, false, false},
	{"/v1/check", "POST", h_check, ACCESS_READ, BODY_SMALL, false, NULL, false, true, false},
	{"/v1/sheet", "POST", h_sheet, ACCESS_READ, BODY_SMALL, true, NULL, true, false, false},
	{"/v1/lists", "GET", h_lists, ACCESS_READ, BODY_NONE, false, NULL, false, false, false},
	{"/v1/lists/{id}", "GET", h_list_get, ACCESS_READ, BODY_NONE, false, NULL, false, false, false},
	{"/v1/lists/{id}", "PUT", h_list_put, ACCESS_ADMIN, BODY_DOCUMENT, true, "load", true, false, false},
	{"/v1/lists/{id}/entries", "GET", h_entries, ACCESS_READ, BODY_NONE, false, NULL, false, false, false},
	{"/v1/lists/{id}/expiring", "GET", h_expiring, ACCESS_READ, BODY_NONE, false, NULL, false, false, false},
	{"/v1/lists/{id}/versions", "GET", h_versions, ACCESS_READ, BODY_NONE, false, NULL, false, false, false},
	{"/v1/lists/{id}/versions/{n}", "GET", h_version_get, ACCESS_READ, BODY_NONE, false, NULL, false, true, false},
	{"/v1/lists/{id}/diff", "GET", h_diff, ACCESS_READ, BODY_NONE, false, NULL, true, true, false},
	{"/v1/lists/{id}/scheduled", "DELETE", h_cancel_scheduled, ACCESS_ADMIN, BODY_NONE, false, "cancel", true, false, false},
	{"/v1/lists/{id}/rollback", "POST", h_rollback, ACCESS_ADMIN, BODY_SMALL, false, "rollback", true, false, false},
	{"/v1/audit", "GET", h_audit, ACCESS_ADMIN, BODY_NONE, false, "audit", true, false, false},
	{"/v1/proposals", "GET", h_proposals, ACCESS_ADMIN, BODY_NONE, false, "proposals", false, false, false},
	{"/v1/proposals/{n}", "GET", h_proposal_get, ACCESS_ADMIN, BODY_NONE, false, "proposals", false, false, false},
	{"/v1/proposals/{n}/approve", "POST", h_proposal_approve, ACCESS_ADMIN, BODY_SMALL, false, "approve", true, false, true},
	{"/v1/proposals/{n}/reject", "POST", h_proposal_reject, ACCESS_ADMIN, BODY_SMALL, false, "reject", true, false, true},
	{"/v1/feed", "GET", h_feed, ACCESS_READ, BODY_NONE, false, NULL, false, false, false},
	{"/v1/feed/{n}", "GET", h_feed_doc, ACCESS_READ, BODY_NONE, false, NULL, false, false, false},
	{"/v1/keys", "GET", h_keys, ACCESS_READ, BODY_NONE, false, NULL, false, false, false},
	{"/v1/receipts/verify", "POST", h_receipt_verify, ACCESS_READ, BODY_SMALL, false, NULL, false, false, false},
	{"/v1/status", "GET", h_status, ACCESS_READ, BODY_NONE, false, NULL, false, false, false},
	{"/ui", "GET", h_ui, ACCESS_OPEN, BODY_NONE, false, NULL, false, false, false},
	{"/ui/", "GET", h_ui, ACCESS_OPEN, BODY_NONE, false, NULL, false, false, false},
	{"/ui/{n}", "GET", h_ui, ACCESS_OPEN, BODY_NONE, false, NULL, false, false, false},
	{"/healthz", "GET", h_healthz, ACCESS_OPEN, BODY_NONE, false, NULL, false, false, false},
	{"/readyz", "GET", h_readyz, ACCESS_OPEN, BODY_NONE, false, NULL, false, false, false},
	{"/metrics", "GET", h_metrics, ACCESS_METRICS, BODY_NONE, false, NULL, false, false, false},
};

#define NROUTES ((unsigned)(sizeof routes / sizeof routes[0]))
_Static_assert(sizeof routes / sizeof routes[0] <= METRICS_ROUTES_MAX, "metrics has room for every route");

unsigned route_labels(metrics_route *out, unsigned max)
{
	unsigned n = NROUTES < max ? NROUTES : max;
	for (unsigned i = 0; i < n; i++)
		out[i] = (metrics_route){routes[i].pattern, routes[i].method};
	return n;
}

/* ---- routing ---- */

/* Match path against pattern segment by segment.  "{id}" matches any
 * segment (copied to r->list_id; *bad_id when it is not a list id), "{n}"
 * any segment (copied to r->arg_n). */
static bool match(const char *pattern, const char *path, request *r, bool *bad_id)
{
	*bad_id = false;
	while (*pattern && *path) {
		if (*pattern != '/' || *path != '/')
			return false;
		pattern++;
		path++;
		const char *pe = strchrnul(pattern, '/');
		const char *se = strchrnul(path, '/');
		size_t pl = (size_t)(pe - pattern), sl = (size_t)(se - path);
		if (pl == 4 && memcmp(pattern, "{id}", 4) == 0) {
			if (sl == 0)
				return false;
			if (sl > QD_LIST_ID_MAX) {
				*bad_id = true;
			} else {
				memcpy(r->list_id, path, sl);
				r->list_id[sl] = '\0';
				if (!qd_list_id_valid(r->list_id))
					*bad_id = true;
			}
		} else if (pl == 3 && memcmp(pattern, "{n}", 3) == 0) {
			if (sl == 0)
				return false;
			size_t k = sl < sizeof r->arg_n - 1 ? sl : sizeof r->arg_n - 1;
			memcpy(r->arg_n, path, k);
			r->arg_n[k] = '\0';
			if (sl != k)
				r->arg_n[0] = 'x'; /* too long: never a valid number */
		} else if (pl != sl || memcmp(pattern, path, pl) != 0) {
			return false;
		}
		pattern = pe;
		path = se;
	}
	return *pattern == '\0' && *path == '\0';
}

/* ---- auth ---- */

/* Resolve the bearer token.  Returns 1 and fills *t when it is known, 0 when
 * no Authorization header was sent, -1 when the header or token is invalid. */
static int find_token(server *srv, struct MHD_Connection *c, token *t)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h)
		return 0;
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return -1;
	h += 7;
	while (*h == ' ')
		h++;
	size_t n = strlen(h);
	while (n && h[n - 1] == ' ')
		n--;
	if (n == 0 || n > 512)
		return -1;
	char hex[QD_SHA256_HEX];
	qd_sha256_hex(h, n, hex);
	int found = -1;
	pthread_rwlock_rdlock(&srv->tokens_lock);
	/* Compare with every token, in constant time each, so timing says
	 * nothing about which (if any) matched. */
	for (size_t i = 0; i < srv->tokens.n; i++) {
		if (qd_ct_streq(hex, srv->tokens.v[i].sha256) && found < 0) {
			*t = srv->tokens.v[i];
			found = 1;
		}
	}
	pthread_rwlock_unlock(&srv->tokens_lock);
	return found;
}

/* Copy the string src into dst (cap bytes, cap > 0), cut to fit: no
 * printf on the path of every request. */
static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Decide whether the request may go on; on refusal sets r->early_error. */
static void authorize(server *srv, struct MHD_Connection *c, request *r)
{
	copy_str(r->actor, sizeof r->actor, "anonymous");
	if (r->route->access == ACCESS_OPEN)
		return;
	if ((r->route->access == ACCESS_READ || r->route->access == ACCESS_METRICS) && !srv->read_auth)
		return;
	if (r->route->access == ACCESS_METRICS && srv->metrics_open)
		return;
	if (r->route->access == ACCESS_ADMIN && !srv->tokens_path) {
		r->early_error = E_ADMIN_DISABLED;
		return;
	}
	token t;
	int f = find_token(srv, c, &t);
	if (f == 0) {
		r->early_error = E_UNAUTHORIZED;
		r->early_detail = "missing bearer token (Authorization: Bearer <token>)";
		return;
	}
	if (f < 0) {
		r->early_error = E_UNAUTHORIZED;
		r->early_detail = "unknown bearer token";
		return;
	}
	copy_str(r->actor, sizeof r->actor, t.name);
	if (r->route->access == ACCESS_ADMIN && t.role != ROLE_ADMIN) {
		r->early_error = E_FORBIDDEN;
		r->early_detail = "this endpoint needs a token with role admin";
		return;
	}
	/* A replica's lists are its primary's: a change made here would fork
	 * its feed from the one it follows. */
	if (srv->following && r->route->access == ACCESS_ADMIN && strcmp(r->method, "GET") != 0)
		r->early_error = E_READ_ONLY_REPLICA;
}

static bool content_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);
	if (strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* Check Content-Type and Content-Length as soon as the headers are in. */
static void check_body_headers(struct MHD_Connection *c, request *r)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (!ct && r->route->body_optional && (!cl || strcmp(cl, "0") == 0) &&
	    !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
		return; /* no body at all */
	if (ct && r->route->csv && content_type_is(ct, "text/csv")) {
		/* The charset (utf-8, gb18030 …) is the CSV importer's business. */
		r->body_is_csv = true;
	} else if (ct && r->route->csv && content_type_is(ct, QD_XLSX_TYPE)) {
		r->body_is_xlsx = true;
	} else if (!ct || !content_type_is(ct, "application/json")) {
		r->early_error = E_UNSUPPORTED_MEDIA;
		r->early_detail = r->route->csv ? "Content-Type must be application/json, text/csv or "
						  QD_XLSX_TYPE " (.xlsx)"
						: "Content-Type must be application/json";
		return;
	}
	/* A JSON body in another charset cannot be a list document. */
	const char *cs = r->body_is_csv || r->body_is_xlsx ? NULL : strcasestr(ct, "charset=");
	if (cs) {
		cs += 8;
		if (*cs == '"')
			cs++;
		if (strncasecmp(cs, "utf-8", 5) != 0 && strncasecmp(cs, "utf8", 4) != 0) {
			r->early_error = E_UNSUPPORTED_MEDIA;
			r->early_detail = "JSON bodies must be UTF-8 (charset=utf-8)";
			return;
		}
	}
	if (cl) {
		unsigned long long v = strtoull(cl, NULL, 10);
		if (v > r->body_max) {
			r->early_error = E_TOO_LARGE;
			r->early_detail = NULL;
		}
	}
}

/* Record an admin request that the store did not audit itself: refusals,
 * failures and dry runs.  Counted in the audit queue, which writes it
 * later on its own thread: a refusal never waits for the store. */
static void audit_request(server *srv, struct MHD_Connection *c, request *r)
{
	unsigned st = last_status();
	if (st < 400 && !r->audit_outcome)
		return; /* a successful read of the audit itself */
	char client[INET6_ADDRSTRLEN];
	qd_audit_rec a = {
		.time = (int64_t)time(NULL),
		.actor = r->actor[0] ? r->actor : "anonymous",
		.action = r->audit_action ? r->audit_action : r->route->action,
		.list = r->list_id[0] ? r->list_id : NULL,
		.entries = -1, .added = -1, .removed = -1, .changed = -1,
		.status = st,
		.outcome = r->audit_outcome ? r->audit_outcome : st >= 500 ? "failed" : "refused",
		.message = st >= 400 ? last_error_message() : NULL,
		.source = r->audit_source,
		.client = client_address(c, client),
	};
	if (r->audit_res_set) {
		a.version = r->audit_res.version;
		a.sha256 = r->audit_res.sha256;
		a.entries = (long)r->audit_res.entries;
		a.added = (long)r->audit_res.added;
		a.removed = (long)r->audit_res.removed;
		a.changed = (long)r->audit_res.changed;
	}
	auditq_add(srv->auditq, &a);
}

static void request_free(request *r)
{
	qd_buf_free(&r->body);
	free(r);
}

void qd_request_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			  enum MHD_RequestTerminationCode toe);

/* One JSON line per request: never the query string, tokens or bodies. */
static void access_log(server *srv, struct MHD_Connection *c, request *r, uint64_t us,
		       enum MHD_RequestTerminationCode toe)
{
	char client[INET6_ADDRSTRLEN];
	client_address(c, client);
	char ts[21];
	qd_time_format((int64_t)time(NULL), ts);
	qd_buf b;
	qd_buf_init(&b);
	/* Plain appends, no printf: this runs for every request. */
	qd_buf_puts(&b, "{\"time\":\"");
	qd_buf_puts(&b, ts);
	qd_buf_puts(&b, "\",\"method\":");
	qd_buf_json_cstr(&b, r->method ? r->method : "-");
	qd_buf_puts(&b, ",\"route\":");
	qd_buf_json_cstr(&b, r->route ? r->route->pattern : NULL);
	qd_buf_puts(&b, ",\"path\":");
	qd_buf_json_cstr(&b, r->path);
	qd_buf_puts(&b, ",\"status\":");
	qd_buf_put_uint(&b, r->status);
	/* Milliseconds with three decimals, as "%.3f" of us / 1000.0 wrote. */
	char frac[5] = {'.', (char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10), (char)('0' + us % 10), '\0'};
	qd_buf_puts(&b, ",\"duration_ms\":");
	qd_buf_put_uint(&b, us / 1000);
	qd_buf_puts(&b, frac);
	qd_buf_puts(&b, ",\"client\":\"");
	qd_buf_puts(&b, client);
	qd_buf_putc(&b, '"');
	if (r->route && r->route->access != ACCESS_OPEN && r->actor[0] && strcmp(r->actor, "anonymous") != 0) {
		qd_buf_puts(&b, ",\"actor\":");
		qd_buf_json_cstr(&b, r->actor);
	}
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		qd_buf_puts(&b, ",\"aborted\":true");
	qd_buf_putc(&b, '}');
	if (!b.oom)
		logq_write(srv->access_log, b.data, b.len);
	qd_buf_free(&b);
}

/* Drop the body kept so far and give its memory back to the budget. */
static void body_drop(request *r)
{
	if (r->body_charged)
		conns_body_release(&r->srv->conns, r->body_charged);
	r->body_charged = 0;
	qd_buf_free(&r->body);
}

/* Keep n more body bytes, growing the buffer by doubling up to the
 * route's limit (a body of exactly --max-document-bytes holds that much,
 * not twice) and charging the growth to --max-bodies-in-flight first.
 * The caller has checked that the body stays within r->body_max.
 * Returns 0, 1 when the budget cannot hold the growth, -1 out of memory. */
static int body_keep(server *srv, request *r, const char *p, size_t n)
{
	qd_buf *b = &r->body;
	size_t need = b->len + n + 1;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < need)
			cap *= 2;
		if (cap > r->body_max + 1)
			cap = r->body_max + 1;
		if (!conns_body_charge(&srv->conns, cap - b->cap))
			return 1;
		char *d = realloc(b->data, cap);
		if (!d) {
			conns_body_release(&srv->conns, cap - b->cap);
			return -1;
		}
		r->body_charged += cap - b->cap;
		b->data = d;
		b->cap = cap;
	}
	qd_buf_add(b, p, n);
	return b->oom ? -1 : 0;
}

/* Whether the body announced by the headers cannot fit in what is left of
 * --max-bodies-in-flight: refused now, before the client sends it.  A
 * chunked body (no Content-Length) is refused only when nothing is left. */
static bool bodies_full(server *srv, struct MHD_Connection *c)
{
	size_t used = conns_body_in_flight(&srv->conns), budget = srv->conns.body_budget;
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long want = cl ? strtoull(cl, NULL, 10) + 1 : 1;
	return used >= budget || want > budget - used;
}

void qd_request_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			  enum MHD_RequestTerminationCode toe)
{
	server *srv = cls;
	request *r = *req_cls;
	if (!r)
		return;
	if (!r->srv) {
		/* Closed before its headers were in: never seen by the handler,
		 * so neither counted nor logged. */
		request_free(r);
		*req_cls = NULL;
		return;
	}
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	uint64_t us = (uint64_t)(t1.tv_sec - r->t0.tv_sec) * 1000000u +
		      (uint64_t)((t1.tv_nsec - r->t0.tv_nsec) / 1000);
	metrics_request(&srv->m, r->route_index, r->status, us);
	if (srv->access_log)
		access_log(srv, c, r, us, toe);
	conn_request_done(r->conn);
	body_drop(r);
	request_free(r);
	*req_cls = NULL;
}

void *qd_uri_logged(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)c;
	/* malloc and clear rather than calloc: glibc's calloc skips the
	 * thread's cache of free chunks, and this is every request (some 800
	 * instructions, callgrind).  explicit_bzero because the compiler turns
	 * malloc and memset back into calloc. */
	request *r = malloc(sizeof *r);
	if (!r)
		return NULL;
	explicit_bzero(r, sizeof *r);
	/* r->srv stays NULL until the access handler has seen the headers:
	 * that is how it and the completion callback tell this early state. */
	r->early_error = -1;
	const char *q = strchr(uri, '?');
	if (!q)
		return r;
	size_t n = 1;
	for (const char *p = q + 1; *p; p++)
		n += *p == '&';
	if (n > QD_QUERY_PARAMS_MAX) {
		r->early_error = E_BAD_PARAMETER;
		/* libmicrohttpd parses the query right after this callback into
		 * records it takes from the connection's memory pool (some 56
		 * bytes each, the pool being --max-header-bytes), and when the
		 * pool runs out it neither answers nor closes until the idle
		 * timeout.  The query lies in its writable read buffer: ending it
		 * here leaves nothing to parse, and the request is answered 400
		 * without reading one parameter. */
		((char *)q)[1] = '\0';
	}
	return r;
}

size_t qd_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	/* Most names and values have no escape: libmicrohttpd's decoder copies
	 * them byte by byte (some 800 instructions a lookup, callgrind).  The
	 * part before the first '%' is left as it is; from there on
	 * libmicrohttpd's own decodes, so the result is its result. */
	char *p = strchrnul(s, '%');
	if (!*p)
		return (size_t)(p - s);
	return (size_t)(p - s) + MHD_http_unescape(p);
}

/* Find r's route for url and method (HEAD as GET).  Returns true with
 * r->route set (*bad_id: the {id} segment is no list id); otherwise
 * answers 405 (the path exists) or 404, sets *ret and returns false. */
static bool find_route(struct MHD_Connection *c, request *r, const char *url, const char *method,
		       bool *bad_id, enum MHD_Result *ret)
{
	const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
	char allow[64] = "";
	bool path_known = false;
	for (size_t i = 0; i < NROUTES; i++) {
		bool bid = false;
		if (!match(routes[i].pattern, url, r, &bid))
			continue;
		path_known = true;
		if (strcmp(routes[i].method, m) == 0) {
			r->route = &routes[i];
			r->route_index = (unsigned)i;
			*bad_id = bid;
			return true;
		}
		if (allow[0])
			strcat(allow, ", ");
		strcat(allow, routes[i].method);
	}
	if (path_known) {
		if (strstr(allow, "GET"))
			strcat(allow, ", HEAD");
		*ret = respond_method_not_allowed(c, allow);
	} else {
		*ret = respond_error(c, E_NOT_FOUND, "no such endpoint");
	}
	r->status = last_status();
	return false;
}

/* Answer a request whose body is in, then audit and count it: on the
 * event thread, or on a job thread for a route marked job. */
static enum MHD_Result answer(server *srv, struct MHD_Connection *c, request *r)
{
	respond_reset_last();
	enum MHD_Result ret;
	if (r->early_error >= 0) {
		enum qd_http_error e = (enum qd_http_error)r->early_error;
		if (e == E_TOO_LARGE) {
			char msg[96];
			snprintf(msg, sizeof msg, "the request body is larger than %zu bytes", r->body_max);
			ret = respond_error(c, e, msg);
		} else if (e == E_LIST_NOT_FOUND) {
			ret = respond_error(c, e, "no such list (list ids match [a-z][a-z0-9-]{0,47})");
		} else if (e == E_QUEUE_FULL) {
			ret = respond_error_retry(c, e, NULL, QD_QUEUE_RETRY_S);
		} else if (e == E_BODIES_BUSY) {
			ret = respond_error_retry(c, e, NULL, QD_BODIES_RETRY_S);
		} else {
			ret = respond_error(c, e, r->early_detail);
		}
	} else if (r->too_large) {
		char msg[96];
		snprintf(msg, sizeof msg, "the request body is larger than %zu bytes", r->body_max);
		ret = respond_error(c, E_TOO_LARGE, msg);
	} else {
		ret = r->route->handler(c, r);
	}
	if (last_status())
		r->status = last_status();
	if (r->route->access == ACCESS_ADMIN && !r->audited)
		audit_request(srv, c, r);
	/* Reads of admin data (the audit, proposals) change no list. */
	if (r->route->access == ACCESS_ADMIN && strcmp(r->route->method, "GET") != 0)
		metrics_load(&srv->m, r->status >= 500 ? LOAD_FAILED : r->status >= 400 ? LOAD_REFUSED
				      : r->audit_outcome ? LOAD_DRY_RUN : LOAD_STORED, (int64_t)time(NULL));
	return ret;
}

/* A job: answer r on this job thread, then give its connection back to
 * libmicrohttpd, which sends the queued response. */
static void run_job(void *arg)
{
	request *r = arg;
	struct MHD_Connection *c = r->mhd;
	/* Attempts answered before this request are written before its
	 * change (or its read of the audit): the log keeps their order. */
	if (r->route->access == ACCESS_ADMIN)
		auditq_sync(r->srv->auditq);
	r->job_ret = answer(r->srv, c, r);
	r->job_state = JOB_DONE;
	r->mhd = NULL;
	MHD_resume_connection(c);
}

enum MHD_Result qd_access_handler(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls);

enum MHD_Result qd_access_handler(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	server *srv = cls;
	(void)version;
	request *r = *req_cls;
	if (!r || !r->srv) {
		/* Phase 1: headers are in. */
		int too_many = r ? r->early_error : -1;
		if (!r)
			r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		r->srv = srv;
		r->early_error = -1;
		r->route_index = METRICS_ROUTES_MAX;
		r->method = method;
		clock_gettime(CLOCK_MONOTONIC, &r->t0);
		/* Only printable ASCII of the path reaches the log. */
		size_t k = 0;
		for (const char *u = url; *u && k < sizeof r->path - 1; u++)
			r->path[k++] = *u > 0x20 && *u < 0x7f ? *u : '?';
		r->path[k] = '\0';
		*req_cls = r;
		r->conn = conn_of(c);
		conn_head_done(r->conn);

		bool bad_id = false;
		enum MHD_Result ret;
		if (!find_route(c, r, url, method, &bad_id, &ret))
			return ret;
		if (bad_id)
			r->early_error = E_LIST_NOT_FOUND;
		authorize(srv, c, r);
		if (r->early_error < 0 && too_many >= 0) {
			r->early_error = too_many;
			r->early_detail = "too many query parameters (at most " STR(QD_QUERY_PARAMS_MAX) ")";
		}
		r->body_max = r->route->body == BODY_DOCUMENT ? srv->cfg.max_document_bytes
			      : r->route->body == BODY_SMALL  ? srv->cfg.max_body_bytes : 0;
		if (r->early_error < 0 && r->route->body != BODY_NONE)
			check_body_headers(c, r);
		if (r->early_error < 0 && r->route->body != BODY_NONE && bodies_full(srv, c))
			r->early_error = E_BODIES_BUSY;
		/* A body that Content-Length already says is too large, or that
		 * the budget of bodies cannot hold, is refused now, before the
		 * client sends it: waiting for the end would let a client make us
		 * read gigabytes just to hear 413.  Answered below like any
		 * request; libmicrohttpd then closes the connection instead of
		 * reading the body. */
		if (r->early_error != E_TOO_LARGE && r->early_error != E_BODIES_BUSY)
			return MHD_YES;
	}

	if (*upload_data_size) {
		/* Phase 2: a body chunk.  Errors found earlier still consume the
		 * body so the connection can be reused; we only stop keeping it. */
		if (r->early_error < 0 && r->route->body == BODY_NONE) {
			r->early_error = E_BAD_BODY;
			r->early_detail = "this endpoint takes no request body";
		}
		conn_body_progress(r->conn, *upload_data_size);
		if (r->early_error < 0 && !r->too_large) {
			if (r->body.len + *upload_data_size > r->body_max) {
				r->too_large = true;
				body_drop(r);
			} else {
				int k = body_keep(srv, r, upload_data, *upload_data_size);
				if (k > 0) {
					/* Nothing can be answered before the end of
					 * the body: the rest is read and dropped. */
					r->early_error = E_BODIES_BUSY;
					body_drop(r);
				} else if (k < 0) {
					*upload_data_size = 0;
					return MHD_NO;
				}
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}

	/* Phase 3: the whole request is in. */
	if (r->job_state == JOB_DONE)
		return r->job_ret; /* resumed: the job has answered */
	conn_request_in(r->conn);
	/* A workbook takes seconds to write for a large version: never on
	 * the event thread that serves the lookups. */
	if ((r->route->job || (r->route->xlsx && xlsx_requested(c))) && r->early_error < 0 && !r->too_large) {
		r->mhd = c;
		r->job_state = JOB_QUEUED;
		MHD_suspend_connection(c);
		if (jobs_submit(srv->jobs, run_job, r))
			return MHD_YES;
		MHD_resume_connection(c);
		r->job_state = JOB_NONE;
		r->early_error = E_QUEUE_FULL;
		r->early_detail = NULL;
	}
	return answer(srv, c, r);
}

