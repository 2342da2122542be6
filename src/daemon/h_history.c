/* qingdand — list history: versions, export, diff, rollback, audit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "qingdan/err.h"
#include "qingdand.h"
#include "render.h"

/* Send a rendering of store data, or the error that cut it short. */
static enum MHD_Result respond_rendered(struct MHD_Connection *c, int err, qd_buf *b)
{
	if (err) {
		qd_buf_free(b);
		return respond_lib_error(c, err);
	}
	return respond_json(c, MHD_HTTP_OK, b);
}

/* Answer a store error of a versioned read: list or version unknown … */
static enum MHD_Result version_error(struct MHD_Connection *c, request *r, int err, uint32_t v)
{
	char msg[160];
	if (err == QD_EGONE) {
		snprintf(msg, sizeof msg, "version %u of %s is no longer retained (see --retain-versions)", v,
			 r->list_id);
		return respond_error(c, E_VERSION_NOT_FOUND, msg);
	}
	if (err == QD_ENOENT) {
		qd_list_info l;
		if (qd_store_list(r->srv->store, r->list_id, &l) == QD_ENOENT)
			return respond_error(c, E_LIST_NOT_FOUND, NULL);
		free(l.title);
		snprintf(msg, sizeof msg, "list %s has no version %u (current: %u)", r->list_id, v, l.version);
		return respond_error(c, E_VERSION_NOT_FOUND, msg);
	}
	return respond_lib_error(c, err);
}

enum MHD_Result h_versions(struct MHD_Connection *c, request *r)
{
	enum MHD_Result res;
	param none[1] = {{.name = "-"}};
	if (!get_params(c, none, 0, &res))
		return res;
	qd_versions vs;
	int err = qd_store_versions(r->srv->store, r->list_id, &vs);
	if (err)
		return err == QD_ENOENT ? respond_error(c, E_LIST_NOT_FOUND, NULL) : respond_lib_error(c, err);
	qd_buf b;
	qd_buf_init(&b);
	err = render_versions(&b, r->list_id, &vs);
	qd_versions_free(&vs);
	return respond_rendered(c, err, &b);
}

enum MHD_Result h_version_get(struct MHD_Connection *c, request *r)
{
	enum MHD_Result res;
	param none[1] = {{.name = "-"}};
	if (!get_params(c, none, 0, &res))
		return res;
	uint32_t v = parse_version(r->arg_n, strlen(r->arg_n));
	if (!v)
		return respond_error(c, E_BAD_PARAMETER, "version: expected a positive integer in the path");
	qd_listdoc *doc;
	int err = qd_store_get_doc(r->srv->store, r->list_id, v, &doc);
	if (err)
		return version_error(c, r, err, v);
	size_t len;
	char *data = qd_listdoc_dump(doc, &len);
	qd_listdoc_free(doc);
	if (!data)
		return respond_lib_error(c, QD_ENOMEM);
	char etag[24];
	snprintf(etag, sizeof etag, "\"%u\"", v);
	/* The canonical bytes as they are: loading them again must reproduce them. */
	return respond_raw(c, MHD_HTTP_OK, data, len, "application/json; charset=utf-8", "no-store",
			   MHD_HTTP_HEADER_ETAG, etag);
}

enum MHD_Result h_diff(struct MHD_Connection *c, request *r)
{
	param p[] = {{.name = "from"}, {.name = "to"}};
	enum MHD_Result res;
	if (!get_params(c, p, 2, &res))
		return res;
	uint32_t from = parse_version(p[0].value, p[0].len);
	uint32_t to = p[1].value ? parse_version(p[1].value, p[1].len) : 0;
	if (!p[0].value)
		return respond_error(c, E_MISSING_PARAMETER, "missing required query parameter \"from\"");
	if (!from)
		return respond_error(c, E_BAD_PARAMETER, "from: expected a version number (1, 2, …)");
	if (p[1].value && !to)
		return respond_error(c, E_BAD_PARAMETER, "to: expected a version number (1, 2, …)");
	qd_diff d;
	int err = qd_store_diff(r->srv->store, r->list_id, from, to, &d);
	if (err) {
		/* Say which of the two versions is missing. */
		qd_listdoc *doc;
		uint32_t bad = from;
		if (qd_store_get_doc(r->srv->store, r->list_id, from, &doc) == 0) {
			qd_listdoc_free(doc);
			bad = to;
		}
		return version_error(c, r, err, bad);
	}
	qd_buf b;
	qd_buf_init(&b);
	err = render_diff(&b, r->list_id, &d);
	qd_diff_free(&d);
	return respond_rendered(c, err, &b);
}

/* Parse If-Match: "<version>" (quotes optional).  Returns 0 when absent,
 * the version, or -1 when malformed. */
long parse_if_match(struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MATCH);
	if (!h)
		return 0;
	size_t n = strlen(h);
	if (n >= 2 && h[0] == '"' && h[n - 1] == '"') {
		h++;
		n -= 2;
	}
	uint32_t v = parse_version(h, n);
	return v ? (long)v : -1;
}

/* Store doc as a new version and answer like a load. */
enum MHD_Result store_and_reply(struct MHD_Connection *c, request *r, const qd_listdoc *doc,
				const char *action, const char *source, bool dry)
{
	long if_match = parse_if_match(c);
	if (if_match < 0)
		return respond_error(c, E_BAD_HEADER, "If-Match: expected a version number such as \"3\"");
	qd_problems pr;
	qd_problems_init(&pr);
	qd_changes changes = {0};
	qd_put_opts o = {
		.actor = r->actor,
		.action = action,
		.source = source,
		.now = (int64_t)time(NULL),
		.if_match = (uint32_t)if_match,
		.dry_run = dry,
		.changes = &changes,
	};
	qd_put_result pres;
	enum MHD_Result res;
	r->audit_action = action;
	int err = qd_store_put(r->srv->store, doc, &o, &pres, &pr);
	if (err == QD_EINVAL) {
		res = respond_problems(c, E_INVALID_DOCUMENT,
				       "the list document breaks a loader rule; nothing was stored", &pr);
		goto out;
	}
	if (err == QD_ECONFLICT) {
		char msg[160];
		snprintf(msg, sizeof msg, "If-Match: \"%ld\" is not the current version of %s; nothing was stored",
			 if_match, doc->list);
		res = respond_error(c, E_PRECONDITION_FAILED, msg);
		goto out;
	}
	if (err) {
		res = respond_lib_error(c, err);
		goto out;
	}
	r->audit_res = pres;
	r->audit_res_set = true;
	if (dry) {
		r->audit_outcome = "dry_run";
		r->audit_source = source;
	}
	else
		r->audited = true; /* the store wrote the record with the change */
	fprintf(stderr, "qingdand: %s %s %s version %u (%zu entries, +%zu -%zu ~%zu) by %s\n",
		dry ? "dry run:" : "stored", action, doc->list, pres.version, pres.entries, pres.added,
		pres.removed, pres.changed, r->actor);
	qd_buf b;
	qd_buf_init(&b);
	if (render_put_result(&b, doc->list, &pres, action, &changes, dry)) {
		qd_buf_free(&b);
		res = respond_lib_error(c, QD_ENOMEM);
		goto out;
	}
	res = respond_json(c, pres.created && !dry ? MHD_HTTP_CREATED : MHD_HTTP_OK, &b);
out:
	qd_changes_free(&changes);
	qd_problems_free(&pr);
	return res;
}

enum MHD_Result h_rollback(struct MHD_Connection *c, request *r)
{
	enum MHD_Result res;
	param none[1] = {{.name = "-"}};
	if (!get_params(c, none, 0, &res))
		return res;
	json_error_t jerr;
	if (!json_depth_within(r->body.data ? r->body.data : "", r->body.len, r->srv->cfg.max_json_depth))
		return respond_error(c, E_BAD_JSON, "request body is nested too deeply");
	json_t *body = json_loadb(r->body.data ? r->body.data : "", r->body.len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!body) {
		char msg[300];
		snprintf(msg, sizeof msg, "request body is not valid JSON: %s (line %d, column %d)", jerr.text,
			 jerr.line, jerr.column);
		return respond_error(c, E_BAD_JSON, msg);
	}
	json_t *jv = json_object_get(body, "version");
	if (!json_is_object(body) || json_object_size(body) != 1 || !json_is_integer(jv) ||
	    json_integer_value(jv) < 1 || json_integer_value(jv) > 0x7fffffff) {
		const char *path = jv ? "/version" : "";
		json_decref(body);
		qd_problems pr;
		qd_problems_init(&pr);
		qd_problems_add(&pr, path, "the body must be {\"version\": N} with N a stored version number");
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
	res = store_and_reply(c, r, doc, "rollback", source, false);
	qd_listdoc_free(doc);
	return res;
}

enum MHD_Result h_audit(struct MHD_Connection *c, request *r)
{
	param p[] = {{.name = "limit"}, {.name = "before"}};
	enum MHD_Result res;
	if (!get_params(c, p, 2, &res))
		return res;
	size_t limit = 100;
	if (p[0].value) {
		uint32_t v = parse_version(p[0].value, p[0].len);
		if (!v || v > 1000)
			return respond_error(c, E_BAD_PARAMETER, "limit: expected an integer from 1 to 1000");
		limit = v;
	}
	uint64_t before = 0;
	if (p[1].value) {
		before = parse_version(p[1].value, p[1].len);
		if (!before)
			return respond_error(c, E_BAD_PARAMETER, "before: expected a record id (a positive integer)");
	}
	qd_audit_page page;
	int err = qd_store_audit_page(r->srv->store, before, limit, &page);
	if (err)
		return respond_lib_error(c, err);
	qd_buf b;
	qd_buf_init(&b);
	err = render_audit_page(&b, &page);
	qd_audit_page_free(&page);
	return respond_rendered(c, err, &b);
}
