/* qingdand — lists: GET /v1/lists, GET|PUT /v1/lists/{id},
 * GET /v1/lists/{id}/entries, GET /v1/lists/{id}/expiring. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qingdan/err.h"
#include "qingdan/csvdoc.h"
#include "qingdan/listdoc.h"
#include "qingdan/size.h"
#include "qingdan/xlsx.h"
#include "feedwait.h"
#include "handlers.h"
#include "qingdand.h"
#include "render.h"
#include "respond.h"

/* A list's metadata object with its schedule (render_list_meta(),
 * render_schedule()).  Returns 0 or the store's error. */
static int render_list_scheduled(qd_buf *b, qd_store *st, const qd_list_info *l)
{
	qd_sched_item *sv;
	size_t ns;
	int err = qd_store_scheduled(st, l->id, (int64_t)time(NULL), &sv, &ns);
	if (err)
		return err;
	render_list_meta(b, l);
	if (b->len && !b->oom)
		b->len--; /* the object goes on: its schedule */
	render_schedule(b, sv, ns);
	qd_buf_putc(b, '}');
	free(sv);
	return b->oom ? QD_ENOMEM : 0;
}

enum MHD_Result h_lists(struct MHD_Connection *c, request *r)
{
	enum MHD_Result res;
	if (!no_params(c, &res))
		return res;
	qd_list_info *v;
	size_t n;
	int err = qd_store_lists(r->srv->store, &v, &n);
	if (err)
		return respond_lib_error(c, err, NULL);
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_puts(&b, "{\"lists\":[");
	for (size_t i = 0; i < n && !err; i++) {
		if (i)
			qd_buf_putc(&b, ',');
		err = render_list_scheduled(&b, r->srv->store, &v[i]);
	}
	qd_buf_puts(&b, "]}");
	qd_list_infos_free(v, n);
	if (err) {
		qd_buf_free(&b);
		return respond_lib_error(c, err, NULL);
	}
	return respond_json(c, MHD_HTTP_OK, &b);
}

enum MHD_Result h_list_get(struct MHD_Connection *c, request *r)
{
	enum MHD_Result res;
	if (!no_params(c, &res))
		return res;
	qd_list_info l;
	int err = qd_store_list(r->srv->store, r->list_id, &l);
	if (err)
		return respond_lib_error(c, err, NULL);
	qd_buf b;
	qd_buf_init(&b);
	err = render_list_scheduled(&b, r->srv->store, &l);
	free(l.title);
	if (err) {
		qd_buf_free(&b);
		return respond_lib_error(c, err, NULL);
	}
	return respond_etag(c, &b, l.version);
}

enum MHD_Result h_entries(struct MHD_Connection *c, request *r)
{
	enum { P_PREFIX, P_LIMIT, P_CURSOR, P_COUNT };
	param p[P_COUNT] = {[P_PREFIX] = {.name = "prefix"}, [P_LIMIT] = {.name = "limit"},
			    [P_CURSOR] = {.name = "cursor"}};
	enum MHD_Result res;
	if (!get_params(c, p, P_COUNT, &res))
		return res;
	char prefix[QD_CODE_MAX + 1] = "";
	if (p[P_PREFIX].value && p[P_PREFIX].len) {
		/* A prefix is written like a code (dots, spaces, hyphens allowed),
		 * and may be as short as one digit. */
		size_t k = 0;
		for (size_t i = 0; i < p[P_PREFIX].len; i++) {
			char ch = p[P_PREFIX].value[i];
			if (ch == '.' || ch == ' ' || ch == '-')
				continue;
			if (ch < '0' || ch > '9' || k == QD_CODE_MAX)
				return respond_param_error(c, E_BAD_PARAMETER, NULL,
						     "prefix: expected up to 10 digits of a commodity code");
			prefix[k++] = ch;
		}
		prefix[k] = '\0';
	}
	size_t limit = QD_ENTRIES_LIMIT_DEFAULT;
	const param *pl = &p[P_LIMIT];
	if (pl->value) {
		char *end;
		unsigned long v = pl->len && pl->len <= 5 ? strtoul(pl->value, &end, 10) : 0;
		if (!pl->len || pl->len > 5 || *end || v < 1 || v > QD_ENTRIES_LIMIT_MAX || pl->value[0] == '+' ||
		    pl->value[0] == '-' || pl->value[0] == ' ')
			return respond_param_error(c, E_BAD_PARAMETER, NULL, "limit: expected an integer from 1 to 1000");
		limit = v;
	}
	qd_entries_page page;
	int err = qd_store_entries_page(r->srv->store, r->list_id, prefix, p[P_CURSOR].value, limit, &page);
	/* The prefix and the list id are checked already: the rule the store
	 * can find broken is the cursor's, a query parameter (400, not 422). */
	if (err == QD_EINVAL)
		return respond_param_error(c, E_BAD_PARAMETER, NULL, "cursor: not a cursor returned by this endpoint");
	if (err)
		return respond_lib_error(c, err, NULL);
	qd_buf b;
	qd_buf_init(&b);
	err = render_entries_page(&b, r->list_id, &page);
	qd_entries_page_free(&page);
	if (err) {
		qd_buf_free(&b);
		return respond_lib_error(c, err, NULL);
	}
	return respond_json(c, MHD_HTTP_OK, &b);
}

enum MHD_Result h_cancel_scheduled(struct MHD_Connection *c, request *r)
{
	enum { P_VERSION, P_COUNT };
	param p[P_COUNT] = {[P_VERSION] = {.name = "version"}};
	enum MHD_Result res;
	if (!get_params(c, p, P_COUNT, &res))
		return res;
	uint32_t v = 0;
	if (p[P_VERSION].value && !(v = parse_version(p[P_VERSION].value, p[P_VERSION].len)))
		return respond_param_error(c, E_BAD_PARAMETER, NULL, "version: expected a version number");
	char client[46];
	qd_sched_item *sv;
	size_t n;
	int err = qd_store_cancel_scheduled(r->srv->store, r->list_id, v, r->actor, client_address(c, client),
					    (int64_t)time(NULL), &sv, &n);
	if (err == QD_ENOENT) {
		char msg[160];
		if (v)
			snprintf(msg, sizeof msg, "version %u of %s is not scheduled to take effect later; "
				 "nothing was cancelled", v, r->list_id);
		else
			snprintf(msg, sizeof msg, "no version of %s is scheduled to take effect later; "
				 "nothing was cancelled", r->list_id);
		return respond_error(c, E_NOT_FOUND, msg);
	}
	if (err)
		return respond_lib_error(c, err, NULL);
	r->audited = true; /* with the cancellation, as its feed records */
	feedwait_notify(r->srv->feedwait);
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_puts(&b, "{\"list\":");
	qd_buf_json_cstr(&b, r->list_id);
	qd_buf_puts(&b, ",\"cancelled\":[");
	for (size_t i = 0; i < n; i++) {
		char ts[21];
		qd_time_format(sv[i].effective_at, ts);
		qd_buf_printf(&b, "%s{\"version\":%u,\"effective_at\":\"%s\"}", i ? "," : "", sv[i].version, ts);
	}
	qd_buf_puts(&b, "]}");
	free(sv);
	return respond_json(c, MHD_HTTP_OK, &b);
}

enum MHD_Result h_expiring(struct MHD_Connection *c, request *r)
{
	enum { P_WITHIN, P_COUNT };
	param p[P_COUNT] = {[P_WITHIN] = {.name = "within"}};
	enum MHD_Result res;
	if (!get_params(c, p, P_COUNT, &res))
		return res;
	uint64_t within = QD_EXPIRING_WITHIN_DEFAULT;
	if (p[P_WITHIN].value && qd_parse_uint(p[P_WITHIN].value, 1, QD_EXPIRING_DAYS_MAX, &within))
		return respond_param_error(c, E_BAD_PARAMETER, NULL,
					   "within: expected a number of days from 1 to 3660");
	qd_date today = qd_date_at((int64_t)time(NULL), r->srv->utc_offset);
	qd_expiring e;
	int err = qd_store_expiring(r->srv->store, r->list_id, today, (unsigned)within, false, &e);
	if (err)
		return respond_lib_error(c, err, NULL);
	qd_buf b;
	qd_buf_init(&b);
	err = render_expiring(&b, r->list_id, today, (unsigned)within, &e);
	qd_expiring_free(&e);
	if (err) {
		qd_buf_free(&b);
		return respond_lib_error(c, err, NULL);
	}
	return respond_json(c, MHD_HTTP_OK, &b);
}

/* The charset parameter of a text/csv Content-Type, or NULL (detect). */
static const char *csv_charset(struct MHD_Connection *c, char *buf, size_t len)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *cs = ct ? strcasestr(ct, "charset=") : NULL;
	if (!cs)
		return NULL;
	cs += 8;
	if (*cs == '"')
		cs++;
	size_t n = strcspn(cs, "\"; ");
	if (n == 0 || n >= len)
		return "unsupported";
	memcpy(buf, cs, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)buf[i]);
	return buf;
}

enum MHD_Result h_list_put(struct MHD_Connection *c, request *r)
{
	enum { P_DRY_RUN, P_SHEET, P_PROPOSE, P_EFFECTIVE, P_COMMENT, P_COUNT };
	param p[P_COUNT] = {[P_DRY_RUN] = {.name = "dry_run"}, [P_SHEET] = {.name = "sheet"},
			    [P_PROPOSE] = {.name = "propose"}, [P_EFFECTIVE] = {.name = "effective_at"},
			    [P_COMMENT] = {.name = "comment", .max = QD_COMMENT_MAX}};
	enum MHD_Result res;
	bool rows = r->body_is_csv || r->body_is_xlsx;
	r->audit_action = rows ? "import" : "load";
	if (!get_params(c, p, P_COUNT, &res))
		return res;
	if (p[P_SHEET].value && !r->body_is_xlsx)
		return respond_param_error(c, E_BAD_PARAMETER, NULL,
					   "sheet: names a sheet of an .xlsx body (Content-Type " QD_XLSX_TYPE ")");
	bool dry, propose;
	if (!bool_param(c, &p[P_DRY_RUN], &dry, &res) || !bool_param(c, &p[P_PROPOSE], &propose, &res))
		return res;
	if (dry && propose)
		return respond_param_error(c, E_BAD_PARAMETER, NULL,
					   "propose: a proposal is compared with the current version already; "
					   "give dry_run or propose, not both");
	const char *comment;
	if (!proposal_comment(c, &p[P_COMMENT], propose, &comment, &res))
		return res;
	if (!dry && !propose && r->srv->cfg.require_approval)
		return respond_error(c, E_APPROVAL_REQUIRED, NULL);
	const char *why;
	if (p[P_EFFECTIVE].value &&
	    (why = check_effective_at(p[P_EFFECTIVE].value, p[P_EFFECTIVE].len, &r->effective_at)))
		return respond_param_error(c, E_BAD_PARAMETER, "effective_at", why);

	qd_problems pr;
	qd_problems_init(&pr);
	qd_listdoc *doc = NULL, *base = NULL;
	int err;
	const char *body = r->body.data ? r->body.data : "";
	if (r->body_is_csv && qd_xlsx_looks_like(body, r->body.len)) {
		res = respond_error(c, E_UNSUPPORTED_MEDIA, "the body is an .xlsx spreadsheet (a zip), not CSV "
				    "text: send it as it is with Content-Type: " QD_XLSX_TYPE
				    " (qingdanctl load LIST FILE.xlsx), or save it as CSV");
		goto out;
	}
	if (rows) {
		err = qd_store_get_head(r->srv->store, r->list_id, 0, &base);
		if (err) {
			res = respond_lib_error(c, err,
						err == QD_ENOLIST ? "CSV and spreadsheets replace the entries of an "
								    "existing list: load a JSON list document for "
								    "this list first"
								  : NULL);
			goto out;
		}
	}
	if (r->body_is_xlsx) {
		err = qd_xlsx_to_listdoc(body, r->body.len, p[P_SHEET].value, r->srv->cfg.max_document_bytes,
					 base, &doc, &pr);
	} else if (r->body_is_csv) {
		char csbuf[32];
		err = qd_csv_to_listdoc(body, r->body.len, csv_charset(c, csbuf, sizeof csbuf), base, &doc, &pr);
	} else {
		err = qd_listdoc_parse(body, r->body.len, r->list_id, &doc, &pr);
	}
	if (err) {
		char msg[128];
		const char *m = NULL;
		if (err == QD_EINVAL) {
			snprintf(msg, sizeof msg, "the list %s breaks %zu loader rule%s; nothing was stored",
				 r->body_is_csv ? "CSV file" : r->body_is_xlsx ? "spreadsheet" : "document",
				 qd_problems_total(&pr),
				 qd_problems_total(&pr) == 1 ? "" : "s");
			m = msg;
		}
		res = respond_lib_problems(c, err, m, &pr);
		goto out;
	}
	const char *source = r->body_is_csv ? "http (text/csv)" : r->body_is_xlsx ? "http (xlsx)" : "http (application/json)";
	res = propose ? propose_and_reply(c, r, doc, rows ? "import" : "load", source, comment)
		      : store_and_reply(c, r, doc, rows ? "import" : "load", source, dry);
out:
	qd_listdoc_free(doc);
	qd_listdoc_free(base);
	qd_problems_free(&pr);
	return res;
}
