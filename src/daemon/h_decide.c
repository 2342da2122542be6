/* qingdand — decisions: GET /v1/lookup and POST /v1/check. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "qingdan/clientref.h"
#include "qingdan/err.h"
#include "decisions.h"
#include "handlers.h"
#include "qingdand.h"
#include "receipts.h"
#include "respond.h"
#include "snaps.h"
#include "xlsx_out.h"

/* Query fields common to a lookup and a check item, before validation. */
typedef struct raw_query {
	const char *code;
	size_t code_len;
	const char *ciq;      /* NULL when absent */
	size_t ciq_len;
} raw_query;

/* Validate the code (and ciq) into q.  On error writes a message into msg
 * and returns the name of the offending field. */
static const char *parse_code(const raw_query *rq, qd_query *q, char *msg, size_t msglen)
{
	const char *why;
	if (qd_code_parse(rq->code, rq->code_len, &q->code, &why)) {
		snprintf(msg, msglen, "%s", why);
		return "code";
	}
	if (rq->ciq) {
		char ciq[QD_CIQ_LEN + 1];
		if (q->code.ciq[0]) {
			snprintf(msg, msglen, "ciq: the CIQ code is given twice (13-digit code and ciq)");
			return "ciq";
		}
		if (qd_ciq_parse(rq->ciq, rq->ciq_len, ciq, &why)) {
			snprintf(msg, msglen, "%s", why);
			return "ciq";
		}
		memcpy(q->code.ciq, ciq, sizeof ciq);
	}
	if (q->code.ciq[0] && q->code.len != QD_CODE_MAX) {
		snprintf(msg, msglen, "ciq: a CIQ code needs the full 10-digit commodity code (got %u digits)",
			 q->code.len);
		return "ciq";
	}
	return NULL;
}

/* Parse entity, date and list shared by lookup and check.  Returns the
 * name of the bad field (message in msg) or NULL. */
static const char *parse_context(server *srv, const char *entity, size_t entity_len,
				 const char *date, size_t date_len, const char *list,
				 char entity_out[QD_ENTITY_MAX + 1], qd_query *q, char *msg, size_t msglen)
{
	const char *why;
	q->entity = NULL;
	if (entity) {
		if (qd_entity_parse(entity, entity_len, entity_out, &why)) {
			snprintf(msg, msglen, "entity: %s", why);
			return "entity";
		}
		q->entity = entity_out;
	}
	if (date) {
		if (qd_date_parse(date, date_len, &q->date)) {
			snprintf(msg, msglen, "date: expected a calendar date YYYY-MM-DD");
			return "date";
		}
	} else {
		q->date = qd_date_at((int64_t)time(NULL), srv->utc_offset);
	}
	q->list = NULL;
	if (list) {
		if (!qd_list_id_valid(list)) {
			snprintf(msg, msglen, "list: not a list id ([a-z][a-z0-9-]{0,47})");
			return "list";
		}
		q->list = list;
	}
	return NULL;
}

/* Validate the office of declaration and the declared goods into q:
 * customs (4 digits; absent: the --customs default, if any) into
 * customs_out, name and spec (qd_declared_valid).  Returns the name of the
 * bad field (message in msg) or NULL. */
static const char *parse_goods(server *srv, const char *customs, size_t customs_len, const char *name,
			       size_t name_len, const char *spec, size_t spec_len,
			       char customs_out[QD_CUSTOMS_LEN + 1], qd_query *q, char *msg, size_t msglen)
{
	const char *why;
	q->customs = srv->cfg.customs[0] ? srv->cfg.customs : NULL;
	if (customs) {
		if (qd_customs_parse(customs, customs_len, customs_out, &why)) {
			snprintf(msg, msglen, "customs: %s", why);
			return "customs";
		}
		q->customs = customs_out;
	}
	q->name = q->spec = NULL;
	if (name) {
		if (!qd_declared_valid(name, name_len, &why)) {
			snprintf(msg, msglen, "name: the declared name %s", why);
			return "name";
		}
		q->name = name;
	}
	if (spec) {
		if (!qd_declared_valid(spec, spec_len, &why)) {
			snprintf(msg, msglen, "spec: the declared spec %s", why);
			return "spec";
		}
		q->spec = spec;
	}
	return NULL;
}

/* Parse a view value: "brief" (*brief true) or "full".  Returns false for
 * anything else. */
static bool view_value(const char *v, size_t n, bool *brief)
{
	if (n == 5 && memcmp(v, "brief", 5) == 0)
		*brief = true;
	else if (n == 4 && memcmp(v, "full", 4) == 0)
		*brief = false;
	else
		return false;
	return true;
}

/* Answer a decision that could not be recorded in a lossless decision log. */
static enum MHD_Result log_unavailable(struct MHD_Connection *c)
{
	return respond_error_retry(c, E_LOG_UNAVAILABLE, NULL, QD_LOG_RETRY_S);
}

/* Answer a decision's library error: which list or version is unknown
 * (or pruned) is said in the terms of the query that named it. */
static enum MHD_Result decide_error(struct MHD_Connection *c, int err, const qd_query *q)
{
	const char *m = NULL;
	if (err == QD_ENOLIST)
		m = q->has_at ? "list: no such list at that time" : "list: no such list";
	else if (err == QD_ENOVERSION)
		m = "version: the list has no such version";
	else if (err == QD_EGONE)
		m = "the version asked for is no longer retained (see --retain-versions)";
	return respond_lib_error(c, err, m);
}

/* A lookup's receipt into out.  A receipt names what the full view shows
 * (the query, the basis's entry and clauses), so for a brief answer its
 * payload is made from the same query decided in the full view on the same
 * snapshot.  Returns as receipt_lookup(). */
static int lookup_receipt(server *srv, qd_snap *s, const qd_query *q, qd_buf *b, const char *id,
			  const char *cref, qd_buf *out)
{
	if (!q->brief)
		return receipt_lookup(srv, s, b, id, cref, out);
	qd_query fq = *q;
	fq.brief = false;
	qd_buf full;
	qd_buf_init(&full);
	qd_buf_putc(&full, '{');
	int err = qd_decide(s, &fq, &full, NULL);
	if (!err)
		err = receipt_lookup(srv, s, &full, id, cref, out);
	qd_buf_free(&full);
	return err;
}

enum MHD_Result h_lookup(struct MHD_Connection *c, request *r)
{
	enum { P_CODE, P_CIQ, P_ENTITY, P_DATE, P_LIST, P_VERSION, P_AT, P_CLIENT_REF, P_CUSTOMS, P_NAME, P_SPEC,
	       P_RECEIPT, P_VIEW, P_COUNT };
	param p[P_COUNT] = {
		[P_CODE] = {.name = "code"}, [P_CIQ] = {.name = "ciq"}, [P_ENTITY] = {.name = "entity"},
		[P_DATE] = {.name = "date"}, [P_LIST] = {.name = "list"}, [P_VERSION] = {.name = "version"},
		[P_AT] = {.name = "at"}, [P_CLIENT_REF] = {.name = "client_ref"}, [P_CUSTOMS] = {.name = "customs"},
		[P_NAME] = {.name = "name"}, [P_SPEC] = {.name = "spec"}, [P_RECEIPT] = {.name = "receipt"},
		[P_VIEW] = {.name = "view"},
	};
	enum MHD_Result res;
	if (!get_params(c, p, P_COUNT, &res))
		return res;
	if (!p[P_CODE].value)
		return respond_param_error(c, E_MISSING_PARAMETER, "code",
					   "missing required query parameter \"code\"");
	char msg[200];
	qd_query q;
	memset(&q, 0, sizeof q);
	raw_query rq = {p[P_CODE].value, p[P_CODE].len, p[P_CIQ].value, p[P_CIQ].len};
	const char *bad = parse_code(&rq, &q, msg, sizeof msg);
	if (bad)
		return respond_param_error(c, E_BAD_PARAMETER, bad, msg);
	char entity[QD_ENTITY_MAX + 1];
	bad = parse_context(r->srv, p[P_ENTITY].value, p[P_ENTITY].len, p[P_DATE].value, p[P_DATE].len,
			    p[P_LIST].value, entity, &q, msg, sizeof msg);
	if (bad)
		return respond_param_error(c, E_BAD_PARAMETER, bad, msg);
	char customs[QD_CUSTOMS_LEN + 1];
	bad = parse_goods(r->srv, p[P_CUSTOMS].value, p[P_CUSTOMS].len, p[P_NAME].value, p[P_NAME].len,
			  p[P_SPEC].value, p[P_SPEC].len, customs, &q, msg, sizeof msg);
	if (bad)
		return respond_param_error(c, E_BAD_PARAMETER, bad, msg);
	if (p[P_VERSION].value) {
		q.version = parse_version(p[P_VERSION].value, p[P_VERSION].len);
		if (!q.version)
			return respond_param_error(c, E_BAD_PARAMETER, NULL,
						   "version: expected a version number (1, 2, …)");
		if (!q.list)
			return respond_param_error(c, E_BAD_PARAMETER, NULL,
						   "version: needs list= (versions are numbered per list)");
	}
	if (p[P_AT].value) {
		if (q.version)
			return respond_param_error(c, E_BAD_PARAMETER, NULL, "at: give either version or at, not both");
		if (qd_time_parse(p[P_AT].value, p[P_AT].len, &q.at))
			return respond_param_error(c, E_BAD_PARAMETER, NULL,
					     "at: expected an RFC 3339 time such as 2026-11-26T10:00:00+08:00");
		q.has_at = true;
		/* Without date=, the decision is for the civil day of that instant. */
		if (!p[P_DATE].value)
			q.date = qd_date_at(q.at, r->srv->utc_offset);
	}
	const char *cref = p[P_CLIENT_REF].value, *why;
	if (cref && !qd_client_ref_valid(cref, p[P_CLIENT_REF].len, &why)) {
		snprintf(msg, sizeof msg, "client_ref: %s", why);
		return respond_param_error(c, E_BAD_PARAMETER, NULL, msg);
	}
	bool want_receipt = false;
	if (p[P_RECEIPT].value && !receipt_param(p[P_RECEIPT].value, p[P_RECEIPT].len, &want_receipt))
		return respond_param_error(c, E_BAD_PARAMETER, "receipt", "receipt: expected true or false");
	if (want_receipt && !r->srv->sign_key)
		return receipt_disabled(c);
	if (p[P_VIEW].value && !view_value(p[P_VIEW].value, p[P_VIEW].len, &q.brief))
		return respond_param_error(c, E_BAD_PARAMETER, "view", "view: expected brief or full");

	qd_snap *s = thread_snap(r->srv);
	if (!s)
		return respond_error(c, E_INTERNAL, "cannot open a read snapshot");
	qd_buf b;
	/* Typical answers are a few KiB: one allocation instead of a doubling
	 * series, and the thread's pooled buffer when it has one. */
	response_buf_init(&b, 8192);
	qd_buf_putc(&b, '{');
	qd_outcome o;
	int err = qd_decide(s, &q, &b, &o);
	if (err) {
		qd_snap_close(s);
		qd_buf_free(&b);
		return decide_error(c, err, &q);
	}
	char id[40];
	size_t id_len = next_decision_id(r->srv, id);
	/* The receipt reads each consulted version's sha256 from the snapshot
	 * the decision was made on. */
	qd_buf receipt;
	qd_buf_init(&receipt);
	err = want_receipt ? lookup_receipt(r->srv, s, &q, &b, id, cref, &receipt) : 0;
	qd_snap_close(s);
	if (err) {
		qd_buf_free(&b);
		return receipt_failed(c, err);
	}
	decision_lines lines;
	decision_lines_init(&lines);
	record_decision(r->srv, &lines, id, cref, &q, &o, NULL, 0);
	/* The line is queued before the answer: an answer a lossless log
	 * could not record is not given. */
	bool recorded = commit_decisions(r->srv, &lines);
	decision_lines_free(&lines);
	if (!recorded) {
		qd_buf_free(&b);
		qd_buf_free(&receipt);
		return log_unavailable(c);
	}
	qd_buf_puts(&b, ",\"decision_id\":\"");
	qd_buf_add(&b, id, id_len);
	if (cref) {
		qd_buf_puts(&b, "\",\"client_ref\":\"");
		qd_buf_puts(&b, cref);
	}
	qd_buf_putc(&b, '"');
	if (receipt.len)
		qd_buf_add(&b, receipt.data, receipt.len);
	qd_buf_free(&receipt);
	qd_buf_putc(&b, '}');
	return respond_json(c, MHD_HTTP_OK, &b);
}

/* Validate an optional string member; returns false on a wrong type. */
static bool opt_string(json_t *v, const char **s, size_t *len)
{
	*s = NULL;
	*len = 0;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v))
		return false;
	*s = json_string_value(v);
	*len = json_string_length(v);
	return true;
}

static enum MHD_Result bad_body(struct MHD_Connection *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum MHD_Result bad_body(struct MHD_Connection *c, const char *path, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return respond_problem(c, E_BAD_BODY, path, msg);
}

/* Room kept in front of a check response for its head (decision, summary,
 * decision_id, client_ref), which is written last; the longest head is
 * about 270 bytes. */
#define CHECK_HEAD_MAX 384

/* Append an item's ref as json_dumps() would write it (absent: null). */
static void put_ref(qd_buf *b, json_t *ref)
{
	if (json_is_string(ref)) {
		const char *p = json_string_value(ref);
		size_t n = json_string_length(ref);
		size_t i = 0;
		/* jansson escapes only '"', '\\' and control characters (its
		 * strings are valid UTF-8): anything else goes out as it is. */
		while (i < n && (unsigned char)p[i] >= 0x20 && p[i] != '"' && p[i] != '\\')
			i++;
		if (i == n) {
			qd_buf_putc(b, '"');
			qd_buf_add(b, p, n);
			qd_buf_putc(b, '"');
			return;
		}
	} else if (json_is_integer(ref)) {
		json_int_t v = json_integer_value(ref);
		if (v < 0)
			qd_buf_putc(b, '-');
		qd_buf_put_uint(b, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v);
		return;
	}
	if (!ref || json_is_null(ref)) {
		qd_buf_puts(b, "null");
		return;
	}
	char *s = json_dumps(ref, JSON_ENCODE_ANY | JSON_COMPACT);
	if (s)
		qd_buf_puts(b, s);
	else
		b->oom = true;
	free(s);
}

/* A check request's members, validated: the items and the context every
 * item shares.  base.entity points into ent, so the struct stays put. */
typedef struct check_req {
	json_t *items;                /* borrowed from the body */
	size_t n;
	const char *client_ref;       /* validated, borrowed from the body; NULL: none */
	bool receipt;                 /* "receipt": true */
	bool brief;                   /* "view": "brief" */
	qd_query base;
	char ent[QD_ENTITY_MAX + 1];
	char customs[QD_CUSTOMS_LEN + 1];
} check_req;

/* Read the body's top-level members into cr.  Answers 400 naming the
 * member and returns false on the first problem. */
static bool check_context(struct MHD_Connection *c, request *r, json_t *body, check_req *cr,
			  enum MHD_Result *res)
{
	const char *entity = NULL, *date = NULL, *list = NULL, *customs = NULL;
	size_t entity_len = 0, date_len = 0, list_len = 0, customs_len = 0;
	cr->items = NULL;
	cr->client_ref = NULL;
	cr->receipt = false;
	cr->brief = false;
	if (!json_is_object(body)) {
		*res = bad_body(c, "", "%s", "the body must be a JSON object");
		return false;
	}
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		bool ok = true;
		if (strcmp(key, "entity") == 0)
			ok = opt_string(v, &entity, &entity_len);
		else if (strcmp(key, "date") == 0)
			ok = opt_string(v, &date, &date_len);
		else if (strcmp(key, "list") == 0)
			ok = opt_string(v, &list, &list_len);
		else if (strcmp(key, "customs") == 0)
			ok = opt_string(v, &customs, &customs_len);
		else if (strcmp(key, "items") == 0)
			cr->items = v;
		else if (strcmp(key, "client_ref") == 0) {
			const char *why = "must be a string";
			if (!json_is_string(v) ||
			    !qd_client_ref_valid(json_string_value(v), json_string_length(v), &why)) {
				*res = bad_body(c, "/client_ref", "client_ref %s", why);
				return false;
			}
			cr->client_ref = json_string_value(v);
		} else if (strcmp(key, "receipt") == 0) {
			if (!json_is_boolean(v)) {
				*res = bad_body(c, "/receipt", "%s", "receipt must be true or false");
				return false;
			}
			cr->receipt = json_is_true(v);
		} else if (strcmp(key, "view") == 0) {
			if (!json_is_string(v) || !view_value(json_string_value(v), json_string_length(v), &cr->brief)) {
				*res = bad_body(c, "/view", "%s", "view must be \"brief\" or \"full\"");
				return false;
			}
		} else {
			char path[80];
			snprintf(path, sizeof path, "/%.60s", key);
			*res = bad_body(c, path, "unknown key \"%.60s\"", key);
			return false;
		}
		if (!ok) {
			char path[80];
			snprintf(path, sizeof path, "/%s", key);
			*res = bad_body(c, path, "%s must be a string or null", key);
			return false;
		}
	}
	if (!cr->items) {
		*res = bad_body(c, "/items", "%s", "missing required key \"items\"");
		return false;
	}
	if (!json_is_array(cr->items)) {
		*res = bad_body(c, "/items", "%s", "items must be an array");
		return false;
	}
	cr->n = json_array_size(cr->items);
	if (cr->n == 0 || cr->n > r->srv->cfg.max_check_items) {
		char m[80];
		snprintf(m, sizeof m, "items must hold 1 to %u items (got %zu)", r->srv->cfg.max_check_items, cr->n);
		*res = bad_body(c, "/items", "%s", m);
		return false;
	}
	if ((date && memchr(date, 0, date_len)) || (list && strlen(list) != list_len) ||
	    (entity && memchr(entity, 0, entity_len))) {
		*res = bad_body(c, "", "%s", "entity, date and list must not contain NUL");
		return false;
	}
	char msg[200];
	memset(&cr->base, 0, sizeof cr->base);
	const char *bad = parse_context(r->srv, entity, entity_len, date, date_len, list, cr->ent, &cr->base,
					msg, sizeof msg);
	if (!bad)
		bad = parse_goods(r->srv, customs, customs_len, NULL, 0, NULL, 0, cr->customs, &cr->base, msg, sizeof msg);
	if (bad) {
		char path[16];
		snprintf(path, sizeof path, "/%s", bad);
		*res = bad_body(c, path, "%s", msg);
		return false;
	}
	cr->base.brief = cr->brief;
	return true;
}

/* Check the shape of every item before any is decided.  Answers 400
 * naming the item's member and returns false on the first problem. */
static bool check_item_shapes(struct MHD_Connection *c, const check_req *cr, enum MHD_Result *res)
{
	for (size_t i = 0; i < cr->n; i++) {
		json_t *it = json_array_get(cr->items, i);
		char path[64];
		if (!json_is_object(it)) {
			snprintf(path, sizeof path, "/items/%zu", i);
			*res = bad_body(c, path, "%s", "each item must be an object");
			return false;
		}
		const char *key;
		json_t *v;
		char wbuf[64];
		json_object_foreach(it, key, v) {
			const char *why = NULL;
			if (strcmp(key, "ref") == 0) {
				if (!json_is_string(v) && !json_is_integer(v) && !json_is_null(v))
					why = "ref must be a string, an integer or null";
			} else if (strcmp(key, "code") == 0) {
				if (!json_is_string(v))
					why = "code must be a string";
			} else if (strcmp(key, "ciq") == 0) {
				if (!json_is_string(v) && !json_is_null(v))
					why = "ciq must be a string or null";
			} else if (strcmp(key, "customs") == 0 || strcmp(key, "name") == 0 ||
				   strcmp(key, "spec") == 0) {
				if (!json_is_string(v) && !json_is_null(v)) {
					snprintf(wbuf, sizeof wbuf, "%s must be a string or null", key);
					why = wbuf;
				}
			} else {
				why = "";
			}
			if (why) {
				/* The path points at the key, also for an unknown key
				 * (as for a top-level one). */
				snprintf(path, sizeof path, "/items/%zu/%.20s", i, key);
				if (*why)
					*res = bad_body(c, path, "%s", why);
				else
					*res = bad_body(c, path, "unknown key \"%.40s\"", key);
				return false;
			}
		}
		if (!json_object_get(it, "code")) {
			snprintf(path, sizeof path, "/items/%zu/code", i);
			*res = bad_body(c, path, "%s", "missing required key \"code\"");
			return false;
		}
	}
	return true;
}

/* Items of a check by outcome. */
typedef struct check_counts {
	size_t allow, deny, invalid;
} check_counts;

/* Append item i's answer for a code that does not parse. */
static void put_bad_item(qd_buf *b, size_t i, const char *field, const char *msg)
{
	qd_buf_puts(b, ",\"error\":{\"code\":\"bad_item\",\"message\":");
	qd_buf_json_cstr(b, msg);
	qd_buf_printf(b, ",\"details\":[{\"message\":");
	qd_buf_json_cstr(b, msg);
	qd_buf_printf(b, ",\"path\":\"/items/%zu/%s\"}]}}", i, field);
}

/* An item's own customs code (over the request's), name and spec into q
 * (customs into customs_out).  Returns the bad field (message in msg) or
 * NULL. */
static const char *item_goods(server *srv, json_t *it, qd_query *q, char customs_out[QD_CUSTOMS_LEN + 1],
			      char *msg, size_t msglen)
{
	json_t *cu = json_object_get(it, "customs"), *na = json_object_get(it, "name"),
	       *sp = json_object_get(it, "spec");
	if (!json_is_string(cu) && !json_is_string(na) && !json_is_string(sp))
		return NULL;
	const char *base = q->customs;
	const char *bad = parse_goods(srv, json_string_value(cu), json_string_length(cu), json_string_value(na),
				      json_string_length(na), json_string_value(sp), json_string_length(sp),
				      customs_out, q, msg, msglen);
	if (!json_is_string(cu))
		q->customs = base;
	return bad;
}

/* check_decide()'s answer when the response passes its bound. */
#define CHECK_TOO_LARGE 1

/* The full view's items a receipt of a brief check is made from: a second
 * batch on the same snapshot, deciding each item again into its own buffer. */
typedef struct full_items {
	qd_batch *batch;
	qd_buf buf;
} full_items;

/* Append item i's answer in the full view to f (NULL: no receipt, or the
 * answer is already in the full view): the ref as written at ref..ref_len,
 * then the bad item's error (field, msg) or q decided.  Returns 0 or what
 * qd_batch_decide() returns. */
static int full_item(full_items *f, size_t i, const char *ref, size_t ref_len, const char *field,
		     const char *msg, const qd_query *q)
{
	if (!f)
		return 0;
	qd_buf *fb = &f->buf;
	qd_buf_puts(fb, i ? ",{\"ref\":" : "{\"ref\":");
	qd_buf_add(fb, ref, ref_len);
	if (field) {
		put_bad_item(fb, i, field, msg);
		return 0;
	}
	qd_buf_putc(fb, ',');
	qd_query fq = *q;
	fq.brief = false;
	int err = qd_batch_decide(f->batch, &fq, NULL);
	qd_buf_putc(fb, '}');
	return err;
}

/* Decide every item into b, in request order, each as {"ref":…,…} (and
 * into f in the full view when f is not NULL);
 * count them in *k and record each decision under id in lines.  Returns 0, the
 * library error that stopped it (an unknown list or version: every item
 * shares them), or CHECK_TOO_LARGE with the item that passed the bound in
 * *stop.  The bound is checked after each item, so b holds at most the
 * bound plus one item's answer (its entries are at most QD_ENTRY_JSON_MAX
 * each): a few items repeating a huge entry cannot grow it without end.
 * f's buffer is bound the same way. */
static int check_decide(request *r, const check_req *cr, qd_batch *batch, qd_buf *b, full_items *f,
			const char *id, decision_lines *lines, check_counts *k, size_t *stop)
{
	char msg[200];
	char customs[QD_CUSTOMS_LEN + 1];
	int err = 0;
	size_t max = r->srv->cfg.max_check_response_bytes;
	for (size_t i = 0; i < cr->n && !err; i++) {
		if (b->len > max || (f && f->buf.len > max)) {
			*stop = i - 1;
			return CHECK_TOO_LARGE;
		}
		json_t *it = json_array_get(cr->items, i);
		json_t *code = json_object_get(it, "code");
		json_t *ciq = json_object_get(it, "ciq");
		if (i)
			qd_buf_putc(b, ',');
		qd_buf_puts(b, "{\"ref\":");
		size_t ref_at = b->len;
		json_t *ref = json_object_get(it, "ref");
		put_ref(b, ref);
		size_t ref_len = b->len - ref_at;
		qd_query q = cr->base;
		raw_query rq = {json_string_value(code), json_string_length(code),
				ciq && json_is_string(ciq) ? json_string_value(ciq) : NULL,
				ciq && json_is_string(ciq) ? json_string_length(ciq) : 0};
		const char *field = parse_code(&rq, &q, msg, sizeof msg);
		if (!field)
			field = item_goods(r->srv, it, &q, customs, msg, sizeof msg);
		if (field) {
			k->invalid++;
			put_bad_item(b, i, field, msg);
			if (!b->oom)
				full_item(f, i, b->data + ref_at, ref_len, field, msg, &q);
			continue;
		}
		qd_buf_putc(b, ',');
		qd_outcome o;
		err = qd_batch_decide(batch, &q, &o);
		qd_buf_putc(b, '}');
		if (!err && !b->oom)
			err = full_item(f, i, b->data + ref_at, ref_len, NULL, NULL, &q);
		if (err)
			break;
		o.allow ? k->allow++ : k->deny++;
		/* The log names the ref only when the item has one. */
		record_decision(r->srv, lines, id, cr->client_ref, &q, &o, ref && !b->oom ? b->data + ref_at : NULL,
				ref_len);
	}
	if (!err && (b->len > max || (f && f->buf.len > max))) {
		*stop = cr->n - 1;
		return CHECK_TOO_LARGE;
	}
	return err;
}

/* Refuse a check whose answer passed --max-check-response-bytes at item
 * i: 422, as the request is well formed but cannot be answered whole. */
static enum MHD_Result check_too_large(struct MHD_Connection *c, size_t max, size_t i)
{
	char msg[200];
	snprintf(msg, sizeof msg,
		 "the answer passes %zu bytes (--max-check-response-bytes) at item %zu: send fewer items per check",
		 max, i);
	char path[40];
	snprintf(path, sizeof path, "/items/%zu", i);
	return respond_problem(c, E_RESPONSE_TOO_LARGE, path, msg);
}

/* Write the head (decision, summary, decision_id, client_ref) into the
 * room kept in front of b's items, close the body and queue it: as JSON,
 * or as a workbook of xlsx_request's items when that is not NULL. */
static enum MHD_Result check_reply(struct MHD_Connection *c, qd_buf *b, const char *id, const char *client_ref,
				   size_t n, const check_counts *k, const qd_buf *receipt, const json_t *xlsx_request)
{
	char head[CHECK_HEAD_MAX];
	int hl = snprintf(head, sizeof head,
			  "{\"decision\":\"%s\",\"summary\":{\"allow\":%zu,\"deny\":%zu,\"invalid\":%zu},"
			  "\"decision_id\":\"%s\"%s%s%s,\"items\":[",
			  k->allow == n ? "allow" : "deny", k->allow, k->deny, k->invalid, id,
			  client_ref ? ",\"client_ref\":\"" : "", client_ref ? client_ref : "", client_ref ? "\"" : "");
	if (hl < 0 || hl >= CHECK_HEAD_MAX) {
		qd_buf_free(b);
		return respond_error(c, E_INTERNAL, "check response head too long");
	}
	memcpy(b->data + CHECK_HEAD_MAX - hl, head, (size_t)hl);
	qd_buf_putc(b, ']');
	if (receipt->len)
		qd_buf_add(b, receipt->data, receipt->len);
	qd_buf_putc(b, '}');
	if (xlsx_request)
		return xlsx_send_check(c, xlsx_request, b, CHECK_HEAD_MAX - (size_t)hl);
	return respond_json_from(c, MHD_HTTP_OK, b, CHECK_HEAD_MAX - (size_t)hl);
}

enum MHD_Result h_check(struct MHD_Connection *c, request *r)
{
	enum MHD_Result res;
	param format = {.name = "format"};
	bool xlsx;
	if (!get_params(c, &format, 1, &res) || !xlsx_format_param(c, &format, &xlsx, &res))
		return res;
	json_t *body = NULL;
	/* The query (format=) is checked above: only the body here. */
	if (!parse_json_body(c, r, &body, &res))
		return res;
	check_req cr;
	if (!check_context(c, r, body, &cr, &res) || !check_item_shapes(c, &cr, &res))
		goto out;
	if (cr.receipt && !r->srv->sign_key) {
		res = receipt_disabled(c);
		goto out;
	}
	/* A workbook shows each item's entry and clauses: it is made from the
	 * full view whatever the view asked. */
	if (xlsx)
		cr.base.brief = false;

	qd_snap *s = thread_snap(r->srv);
	if (!s) {
		res = respond_error(c, E_INTERNAL, "cannot open a read snapshot");
		goto out;
	}
	qd_buf b;
	/* One buffer for the whole response: the head (decision and summary)
	 * is known only at the end and goes into room kept in front, so a
	 * body of several MiB is never copied.  A decided item is about 6 KiB
	 * (under 1 KiB brief); past 10 000 items the buffer grows as it goes. */
	static const char head_room[CHECK_HEAD_MAX];
	response_buf_init(&b, CHECK_HEAD_MAX + (cr.n < 10000 ? cr.n : 10000) * (cr.base.brief ? 1024 : 6144));
	qd_buf_add(&b, head_room, sizeof head_room);
	/* The batch decides an item repeated in the request once. */
	qd_batch *batch = qd_batch_new(s, &b, cr.n);
	full_items full = {0}, *f = NULL;
	if (batch && cr.receipt && cr.base.brief) {
		f = &full;
		full.batch = qd_batch_new(s, &full.buf, cr.n);
	}
	if (!batch || (f && !full.batch)) {
		qd_snap_close(s);
		qd_batch_free(batch);
		qd_batch_free(full.batch);
		qd_buf_free(&b);
		res = respond_lib_error(c, QD_ENOMEM, NULL);
		goto out;
	}
	char id[40];
	next_decision_id(r->srv, id);
	check_counts k = {0, 0, 0};
	size_t stop = 0;
	decision_lines lines;
	decision_lines_init(&lines);
	int err = check_decide(r, &cr, batch, &b, f, id, &lines, &k, &stop);
	qd_buf receipt;
	qd_buf_init(&receipt);
	/* The receipt is made from the full view's items (see full_items). */
	const char *items = f ? full.buf.data : b.data + CHECK_HEAD_MAX;
	size_t items_len = f ? full.buf.len : b.len - CHECK_HEAD_MAX;
	int rerr = !err && !b.oom && cr.receipt
			   ? (f && full.buf.oom ? QD_ENOMEM
						: receipt_check(r->srv, s, &cr.base, items, items_len, id, cr.client_ref,
								&receipt))
			   : 0;
	qd_snap_close(s);
	qd_batch_free(batch);
	qd_batch_free(full.batch);
	qd_buf_free(&full.buf);
	if (rerr) {
		qd_buf_free(&b);
		res = receipt_failed(c, rerr);
		goto out_lines;
	}
	if (err == CHECK_TOO_LARGE) {
		qd_buf_free(&b);
		res = check_too_large(c, r->srv->cfg.max_check_response_bytes, stop);
		goto out_lines;
	}
	if (err || b.oom) {
		qd_buf_free(&b);
		res = decide_error(c, err ? err : QD_ENOMEM, &cr.base);
		goto out_lines;
	}
	/* Every item's line is queued before the answer: an answer a
	 * lossless log could not record is not given. */
	if (!commit_decisions(r->srv, &lines)) {
		qd_buf_free(&b);
		res = log_unavailable(c);
		goto out_lines;
	}
	res = check_reply(c, &b, id, cr.client_ref, cr.n, &k, &receipt, xlsx ? body : NULL);
out_lines:
	qd_buf_free(&receipt);
	decision_lines_free(&lines);
out:
	json_decref(body);
	return res;
}
