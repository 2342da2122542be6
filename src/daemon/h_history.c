/* qingdand — list history: versions, export, diff, rollback, audit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "qingdan/err.h"
#include "handlers.h"
#include "qingdand.h"
#include "render.h"
#include "respond.h"
#include "xlsx_out.h"

/* Send a rendering of store data, or the error that cut it short. */
static enum MHD_Result respond_rendered(struct MHD_Connection *c, int err, qd_buf *b)
{
	if (err) {
		qd_buf_free(b);
		return respond_lib_error(c, err, NULL);
	}
	return respond_json(c, MHD_HTTP_OK, b);
}

/* Answer a store error of a read of version v, naming the version when it
 * is the version that is missing. */
static enum MHD_Result version_error(struct MHD_Connection *c, request *r, int err, uint32_t v)
{
	char msg[160];
	const char *m = NULL;
	if (err == QD_EGONE) {
		snprintf(msg, sizeof msg, "version %u of %s is no longer retained (see --retain-versions)", v,
			 r->list_id);
		m = msg;
	} else if (err == QD_ENOVERSION) {
		snprintf(msg, sizeof msg, "list %s has no version %u", r->list_id, v);
		m = msg;
	}
	return respond_lib_error(c, err, m);
}

enum MHD_Result h_versions(struct MHD_Connection *c, request *r)
{
	enum MHD_Result res;
	if (!no_params(c, &res))
		return res;
	qd_versions vs;
	int err = qd_store_versions(r->srv->store, r->list_id, &vs);
	if (err)
		return respond_lib_error(c, err, NULL);
	qd_buf b;
	qd_buf_init(&b);
	err = render_versions(&b, r->list_id, &vs);
	qd_versions_free(&vs);
	return respond_rendered(c, err, &b);
}

/* A version download in progress: the reader's current chunk and how much
 * of it is sent. */
typedef struct doc_stream {
	server *srv;             /* holds one of srv->downloads */
	qd_doc_reader *r;
	const char *p;
	size_t left;
	bool done;
} doc_stream;

static ssize_t doc_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	doc_stream *ds = cls;
	while (!ds->left) {
		if (ds->done)
			return MHD_CONTENT_READER_END_OF_STREAM;
		/* A store error now can only cut the body short: the status
		 * and length are sent.  The client sees the connection close
		 * before Content-Length bytes. */
		if (qd_store_doc_reader_next(ds->r, &ds->p, &ds->left))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (!ds->left)
			ds->done = true;
	}
	size_t n = ds->left < max ? ds->left : max;
	memcpy(buf, ds->p, n);
	ds->p += n;
	ds->left -= n;
	return (ssize_t)n;
}

static void doc_stream_free(void *cls)
{
	doc_stream *ds = cls;
	qd_store_doc_reader_close(ds->r);
	atomic_fetch_sub(&ds->srv->downloads, 1);
	free(ds);
}

enum MHD_Result send_version_doc(struct MHD_Connection *c, server *srv, const char *list, uint32_t v,
				 int *err)
{
	*err = 0;
	/* A download holds a reader slot for as long as its client reads:
	 * past the cap, refuse rather than let slow clients take the slots
	 * the lookups need. */
	if (atomic_fetch_add(&srv->downloads, 1) >= srv->cfg.max_downloads) {
		atomic_fetch_sub(&srv->downloads, 1);
		return respond_error_retry(c, E_DOWNLOADS_BUSY, NULL, QD_DOWNLOADS_RETRY_S);
	}
	doc_stream *ds = calloc(1, sizeof *ds);
	if (!ds) {
		atomic_fetch_sub(&srv->downloads, 1);
		return respond_lib_error(c, QD_ENOMEM, NULL);
	}
	ds->srv = srv;
	/* Read piecewise while the client takes it: a version of many MiB is
	 * never held whole, and no event thread spends its time building it. */
	*err = qd_store_doc_reader_open(srv->store, list, v, &ds->r);
	if (*err) {
		free(ds);
		atomic_fetch_sub(&srv->downloads, 1);
		return MHD_NO;
	}
	char etag[24];
	snprintf(etag, sizeof etag, "\"%u\"", v);
	/* The canonical bytes as they are: loading them again must reproduce them. */
	return respond_stream(c, MHD_HTTP_OK, qd_store_doc_reader_size(ds->r), doc_stream_read, ds, doc_stream_free, "application/json; charset=utf-8",
			      "no-store", MHD_HTTP_HEADER_ETAG, etag);
}

enum MHD_Result h_version_get(struct MHD_Connection *c, request *r)
{
	enum MHD_Result res;
	param format = {.name = "format"};
	bool xlsx;
	if (!get_params(c, &format, 1, &res) || !xlsx_format_param(c, &format, &xlsx, &res))
		return res;
	uint32_t v = parse_version(r->arg_n, strlen(r->arg_n));
	if (!v)
		return respond_param_error(c, E_BAD_PARAMETER, NULL, "version: expected a positive integer in the path");
	int err;
	res = xlsx ? xlsx_send_version(c, r->srv, r->list_id, v, &err) : send_version_doc(c, r->srv, r->list_id, v, &err);
	return err ? version_error(c, r, err, v) : res;
}

enum MHD_Result h_diff(struct MHD_Connection *c, request *r)
{
	enum { P_FROM, P_TO, P_FORMAT, P_COUNT };
	param p[P_COUNT] = {[P_FROM] = {.name = "from"}, [P_TO] = {.name = "to"}, [P_FORMAT] = {.name = "format"}};
	enum MHD_Result res;
	bool xlsx;
	if (!get_params(c, p, P_COUNT, &res) || !xlsx_format_param(c, &p[P_FORMAT], &xlsx, &res))
		return res;
	uint32_t from = parse_version(p[P_FROM].value, p[P_FROM].len);
	uint32_t to = p[P_TO].value ? parse_version(p[P_TO].value, p[P_TO].len) : 0;
	if (!p[P_FROM].value)
		return respond_param_error(c, E_MISSING_PARAMETER, "from", "missing required query parameter \"from\"");
	if (!from)
		return respond_param_error(c, E_BAD_PARAMETER, NULL, "from: expected a version number (1, 2, …)");
	if (p[P_TO].value && !to)
		return respond_param_error(c, E_BAD_PARAMETER, NULL, "to: expected a version number (1, 2, …)");
	qd_diff d;
	int err = qd_store_diff(r->srv->store, r->list_id, from, to, &d);
	if (err)
		return version_error(c, r, err, d.missing);
	if (xlsx) {
		res = xlsx_send_diff(c, r->srv, r->list_id, &d, &err);
		uint32_t gone = err == QD_EGONE || err == QD_ENOVERSION ? d.to : 0;
		qd_diff_free(&d);
		return err ? version_error(c, r, err, gone) : res;
	}
	qd_buf b;
	qd_buf_init(&b);
	err = render_diff(&b, r->list_id, &d);
	qd_diff_free(&d);
	return respond_rendered(c, err, &b);
}

enum MHD_Result h_rollback(struct MHD_Connection *c, request *r)
{
	enum { P_PROPOSE, P_COMMENT, P_COUNT };
	param p[P_COUNT] = {[P_PROPOSE] = {.name = "propose"}, [P_COMMENT] = {.name = "comment", .max = QD_COMMENT_MAX}};
	enum MHD_Result res;
	bool propose;
	const char *comment;
	if (!get_params(c, p, P_COUNT, &res) || !bool_param(c, &p[P_PROPOSE], &propose, &res) ||
	    !proposal_comment(c, &p[P_COMMENT], propose, &comment, &res))
		return res;
	if (!propose && r->srv->cfg.require_approval)
		return respond_error(c, E_APPROVAL_REQUIRED, NULL);
	json_t *body = NULL;
	if (!parse_json_body(c, r, &body, &res))
		return res;
	json_t *jv = json_object_get(body, "version"), *je = json_object_get(body, "effective_at");
	const char *why = NULL;
	if (je && (!json_is_string(je) ||
		   (why = check_effective_at(json_string_value(je), json_string_length(je), &r->effective_at)))) {
		json_decref(body);
		qd_problems pr;
		qd_problems_init(&pr);
		qd_problems_add(&pr, "/effective_at", "%s", why ? why : "effective_at: expected an RFC 3339 date-time");
		res = respond_problems(c, E_BAD_BODY, why ? why : "effective_at: expected an RFC 3339 date-time", &pr);
		qd_problems_free(&pr);
		return res;
	}
	if (!json_is_object(body) || json_object_size(body) != (je ? 2u : 1u) || !json_is_integer(jv) ||
	    json_integer_value(jv) < 1 || json_integer_value(jv) > 0x7fffffff) {
		const char *path = jv ? "/version" : "";
		json_decref(body);
		qd_problems pr;
		qd_problems_init(&pr);
		qd_problems_add(&pr, path, "the body must be {\"version\": N} with N a stored version number "
				"(and optionally \"effective_at\")");
		res = respond_problems(c, E_BAD_BODY, "the body must be {\"version\": N}", &pr);
		qd_problems_free(&pr);
		return res;
	}
	uint32_t v = (uint32_t)json_integer_value(jv);
	json_decref(body);
	qd_listdoc *doc;
	int err = qd_store_get_doc(r->srv->store, r->list_id, v, &doc);
	if (err)
		return version_error(c, r, err, v);
	char source[48];
	snprintf(source, sizeof source, "rollback to version %u", v);
	res = propose ? propose_and_reply(c, r, doc, "rollback", source, comment)
		      : store_and_reply(c, r, doc, "rollback", source, false);
	qd_listdoc_free(doc);
	return res;
}

enum MHD_Result h_audit(struct MHD_Connection *c, request *r)
{
	enum { P_LIMIT, P_BEFORE, P_COUNT };
	param p[P_COUNT] = {[P_LIMIT] = {.name = "limit"}, [P_BEFORE] = {.name = "before"}};
	enum MHD_Result res;
	if (!get_params(c, p, P_COUNT, &res))
		return res;
	size_t limit = 100;
	if (p[P_LIMIT].value) {
		uint32_t v = parse_version(p[P_LIMIT].value, p[P_LIMIT].len);
		if (!v || v > 1000)
			return respond_param_error(c, E_BAD_PARAMETER, NULL, "limit: expected an integer from 1 to 1000");
		limit = v;
	}
	uint64_t before = 0;
	if (p[P_BEFORE].value) {
		before = parse_version(p[P_BEFORE].value, p[P_BEFORE].len);
		if (!before)
			return respond_param_error(c, E_BAD_PARAMETER, NULL, "before: expected a record id (a positive integer)");
	}
	qd_audit_page page;
	int err = qd_store_audit_page(r->srv->store, before, limit, &page);
	if (err)
		return respond_lib_error(c, err, NULL);
	qd_buf b;
	qd_buf_init(&b);
	err = render_audit_page(&b, &page);
	qd_audit_page_free(&page);
	return respond_rendered(c, err, &b);
}
