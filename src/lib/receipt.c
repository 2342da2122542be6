/* Decision receipts: payloads built from decisions as rendered, signed,
 * checked and decided again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qingdan/date.h"
#include "qingdan/err.h"
#include "qingdan/jcs.h"
#include "qingdan/receipt.h"
#include "qingdan/names.h"

/* json_object_set_new() that remembers a failure in *ok. */
static void set(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (!v || json_object_set_new(o, key, v))
		*ok = false;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* The members every payload has. */
static json_t *payload_new(const char *kind, const qd_receipt_head *h, bool *ok)
{
	json_t *p = json_object();
	if (!p) {
		*ok = false;
		return NULL;
	}
	char at[21];
	qd_time_format(h->issued_at, at);
	set(p, "kind", json_string(kind), ok);
	set(p, "decision_id", json_string(h->decision_id), ok);
	set(p, "issued_at", json_string(at), ok);
	set(p, "client_ref", str_or_null(h->client_ref), ok);
	return p;
}

/* ---- reading a rendered decision ----
 *
 * A receipt names a few members of a decision that is several KiB of
 * JSON (entries, clause texts, near misses).  Parsing all of it for them
 * costs more than signing, so the decision's bytes are walked by structure
 * (strings and nesting) and only the small values wanted are parsed.  The
 * text is qd_decide()'s own rendering: well-formed, no white space needed
 * (but skipped). */

typedef struct span {
	const char *p;
	size_t n;
} span;

static size_t ws(span v, size_t i)
{
	while (i < v.n && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == '\n' || v.p[i] == '\r'))
		i++;
	return i;
}

/* The offset just past the value at v.p[i]; 0 when it does not end. */
static size_t skip(span v, size_t i)
{
	if (i >= v.n)
		return 0;
	if (v.p[i] != '"' && v.p[i] != '{' && v.p[i] != '[') {
		size_t j = i;
		while (j < v.n && !strchr(",}] \t\n\r", v.p[j]))
			j++;
		return j > i ? j : 0;
	}
	int depth = 0;
	for (size_t j = i; j < v.n; j++) {
		char c = v.p[j];
		if (c == '"') {
			/* Most of a decision's bytes are in strings (clause texts):
			 * find each quote with memchr, and count the backslashes
			 * before it to tell an escaped one. */
			for (;;) {
				const char *q = memchr(v.p + j + 1, '"', v.n - j - 1);
				if (!q)
					return 0;
				j = (size_t)(q - v.p);
				size_t b = 0;
				while (v.p[j - 1 - b] == '\\')
					b++;
				if (b % 2 == 0)
					break;
			}
			if (depth == 0)
				return j + 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth == 0)
				return j + 1;
			if (depth < 0)
				return 0;
		}
	}
	return 0;
}

/* The next element of the array or member of the object v (v.p[0] is '['
 * or '{'), from *pos (0 at first).  key (may be NULL) receives the
 * member's name without quotes.  Returns false at the end or on bytes it
 * cannot follow. */
static bool next(span v, size_t *pos, span *key, span *val)
{
	size_t i = ws(v, *pos ? *pos : 1);
	if (i < v.n && v.p[i] == ',')
		i = ws(v, i + 1);
	if (i >= v.n || v.p[i] == '}' || v.p[i] == ']')
		return false;
	if (v.p[0] == '{') {
		size_t e = skip(v, i);
		if (!e || v.p[i] != '"')
			return false;
		if (key)
			*key = (span){v.p + i + 1, e - i - 2};
		i = ws(v, e);
		if (i >= v.n || v.p[i] != ':')
			return false;
		i = ws(v, i + 1);
	}
	size_t e = skip(v, i);
	if (!e)
		return false;
	*val = (span){v.p + i, e - i};
	*pos = e;
	return true;
}

/* The members names[0 … n-1] of the object at the start of v into out
 * (an empty span for one absent), in one pass.  With all, every member is
 * passed (not only up to the last one wanted) and the offset just past the
 * object is returned (0 when it does not end there); without, 0. */
static size_t members(span v, const char *const *names, span *out, size_t n, bool all)
{
	size_t pos = 0, found = 0;
	span k, val;
	for (size_t i = 0; i < n; i++)
		out[i] = (span){NULL, 0};
	if (!v.n || v.p[0] != '{')
		return 0;
	while ((all || found < n) && next(v, &pos, &k, &val))
		for (size_t i = 0; i < n; i++)
			if (!out[i].n && strncmp(k.p, names[i], k.n) == 0 && names[i][k.n] == '\0') {
				out[i] = val;
				found++;
			}
	if (!all)
		return 0;
	pos = ws(v, pos ? pos : 1);
	return pos < v.n && v.p[pos] == '}' ? pos + 1 : 0;
}

/* The member name of the object v; an empty span when absent. */
static span get(span v, const char *name)
{
	span out;
	members(v, &name, &out, 1, false);
	return out;
}

/* The value v parsed (a new reference); NULL when absent or not JSON.
 * The values taken are ids, codes, names of decisions and reasons, version
 * numbers and null: the common shapes are made directly. */
static json_t *value(span v)
{
	if (!v.n)
		return NULL;
	if (v.n >= 2 && v.p[0] == '"' && v.p[v.n - 1] == '"' && !memchr(v.p, '\\', v.n))
		return json_stringn(v.p + 1, v.n - 2);
	if (v.n == 4 && memcmp(v.p, "null", 4) == 0)
		return json_null();
	return json_loadb(v.p, v.n, JSON_DECODE_ANY, NULL);
}

/* The unsigned integer v; 0 when it is none. */
static uint32_t uint_of(span v)
{
	uint64_t x = 0;
	size_t i;
	for (i = 0; i < v.n && v.p[i] >= '0' && v.p[i] <= '9' && x <= UINT32_MAX; i++)
		x = x * 10 + (uint64_t)(v.p[i] - '0');
	return i == v.n && x <= UINT32_MAX ? (uint32_t)x : 0;
}

/* Add the lists of one decision's results (each {"list","version",…}) to
 * lists ({list, version, sha256}, each list once, in the order met),
 * reading each version's sha256 from s.  Returns 0, QD_EINVAL, what
 * qd_snap_list_version() returns, QD_ENOMEM. */
static int add_lists(qd_snap *s, span results, json_t *lists)
{
	size_t pos = 0;
	span r;
	if (!results.n || results.p[0] != '[')
		return QD_EINVAL;
	while (next(results, &pos, NULL, &r)) {
		json_t *id = value(get(r, "list"));
		uint32_t version = uint_of(get(r, "version"));
		int rc = json_is_string(id) && version ? 0 : QD_EINVAL;
		size_t j;
		json_t *l;
		bool seen = false;
		json_array_foreach(lists, j, l)
			seen = seen || (!rc && json_equal(json_object_get(l, "list"), id));
		qd_list_info info;
		if (!rc && !seen && !(rc = qd_snap_list_version(s, json_string_value(id), version, &info))) {
			json_t *o = json_pack("{s:O,s:I,s:s}", "list", id, "version", (json_int_t)version, "sha256",
					      info.sha256);
			if (!o || json_array_append_new(lists, o))
				rc = QD_ENOMEM;
		}
		json_decref(id);
		if (rc)
			return rc;
	}
	return 0;
}

/* The ids of the objects in the array v. */
static json_t *ids_of(span v)
{
	json_t *a = json_array();
	size_t pos = 0;
	span o;
	if (v.n && v.p[0] == '[')
		while (a && next(v, &pos, NULL, &o))
			if (json_array_append_new(a, value(get(o, "id")))) {
				json_decref(a);
				return NULL;
			}
	return a;
}

/* The deciding entry of a decision's basis: {list, version, entry,
 * clauses: [ids]}, or null. */
static json_t *basis_of(span basis)
{
	if (!basis.n || basis.p[0] != '{')
		return json_null();
	return json_pack("{s:o,s:o,s:o,s:o}", "list", value(get(basis, "list")), "version",
			 value(get(basis, "version")), "entry", value(get(get(basis, "entry"), "id")), "clauses",
			 ids_of(get(basis, "clauses")));
}

/* Dump p as JCS into out and free it.  Returns 0 or QD_ENOMEM. */
static int finish(json_t *p, bool ok, int rc, qd_buf *out)
{
	if (!rc && !ok)
		rc = QD_ENOMEM;
	if (!rc)
		rc = qd_jcs_dump(p, out);
	json_decref(p);
	return rc;
}

int qd_receipt_lookup_payload(qd_snap *s, const char *decision, size_t len, const qd_receipt_head *h, qd_buf *out)
{
	span d = {decision, len};
	if (!len || decision[0] != '{' || skip(d, 0) != len)
		return QD_EINVAL;
	enum { M_DECISION, M_REASON, M_QUERY, M_BASIS, M_RESULTS, M_COUNT };
	static const char *const names[M_COUNT] = {"decision", "reason", "query", "basis", "results"};
	span m[M_COUNT];
	members(d, names, m, M_COUNT, false);
	bool ok = true;
	json_t *p = payload_new("lookup", h, &ok);
	json_t *lists = json_array();
	int rc = p && lists ? add_lists(s, m[M_RESULTS], lists) : QD_ENOMEM;
	if (p) {
		set(p, "query", value(m[M_QUERY]), &ok);
		set(p, "decision", value(m[M_DECISION]), &ok);
		set(p, "reason", value(m[M_REASON]), &ok);
		set(p, "basis", basis_of(m[M_BASIS]), &ok);
		set(p, "lists", json_incref(lists), &ok);
	}
	json_decref(lists);
	return finish(p, ok, rc, out);
}

/* One check item's entry in the payload. */
enum { I_REF, I_ERROR, I_DECISION, I_REASON, I_QUERY, I_BASIS, I_RESULTS, I_COUNT };

static json_t *check_item(const span *m)
{
	json_t *r = m[I_REF].n ? value(m[I_REF]) : json_null();
	if (m[I_ERROR].n)
		return json_pack("{s:o,s:s}", "ref", r, "error", "bad_item");
	span basis = m[I_BASIS];
	bool b = basis.n && basis.p[0] == '{';
	enum { Q_CODE, Q_CIQ, Q_CUSTOMS, Q_NAME, Q_SPEC, Q_COUNT };
	static const char *const names[Q_COUNT] = {"code", "ciq", "customs", "name", "spec"};
	span q[Q_COUNT];
	members(m[I_QUERY], names, q, Q_COUNT, false);
	/* customs, name and spec are in a query only when it had them. */
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "ref", r, "code", value(q[Q_CODE]), "ciq",
			 value(q[Q_CIQ]), "customs", q[Q_CUSTOMS].n ? value(q[Q_CUSTOMS]) : json_null(), "name",
			 q[Q_NAME].n ? value(q[Q_NAME]) : json_null(), "spec",
			 q[Q_SPEC].n ? value(q[Q_SPEC]) : json_null(), "decision", value(m[I_DECISION]), "reason",
			 value(m[I_REASON]), "list", b ? value(get(basis, "list")) : json_null(), "version",
			 b ? value(get(basis, "version")) : json_null(), "entry",
			 b ? value(get(get(basis, "entry"), "id")) : json_null());
}

int qd_receipt_check_payload(qd_snap *s, const qd_query *base, const char *items, size_t len,
			     const qd_receipt_head *h, qd_buf *out)
{
	bool ok = true;
	json_t *p = payload_new("check", h, &ok);
	json_t *lists = json_array(), *arr = json_array();
	int rc = p && lists && arr ? 0 : QD_ENOMEM;
	bool all_allow = true;
	/* The items lie in the response separated by commas. */
	for (size_t pos = 0; !rc && pos < len;) {
		static const char *const names[I_COUNT] = {"ref", "error", "decision", "reason", "query", "basis",
							   "results"};
		span m[I_COUNT];
		/* One pass over each item, which also finds where it ends. */
		size_t e = members((span){items + pos, len - pos}, names, m, I_COUNT, true);
		if (!e) {
			rc = QD_EINVAL;
			break;
		}
		pos += e;
		if (pos < len && items[pos] == ',')
			pos++;
		/* The items of one check share entity, date and list, and so
		 * the lists consulted: the first decided item names them. */
		if (m[I_RESULTS].n && !json_array_size(lists))
			rc = add_lists(s, m[I_RESULTS], lists);
		span dec = m[I_DECISION];
		all_allow = all_allow && dec.n == 7 && memcmp(dec.p, "\"allow\"", 7) == 0;
		json_t *entry = rc ? NULL : check_item(m);
		if (!rc && (!entry || json_array_append_new(arr, entry)))
			rc = QD_ENOMEM;
	}
	if (p) {
		char date[11];
		qd_date_format(base->date, date);
		set(p, "query",
		    json_pack("{s:o,s:s,s:o}", "entity", str_or_null(base->entity), "date", date, "list",
			      str_or_null(base->list)),
		    &ok);
		set(p, "decision", json_string(all_allow ? "allow" : "deny"), &ok);
		set(p, "lists", json_incref(lists), &ok);
		set(p, "items", json_incref(arr), &ok);
	}
	json_decref(lists);
	json_decref(arr);
	return finish(p, ok, rc, out);
}

int qd_receipt_sign(const qd_key *k, const char *payload, size_t len, qd_buf *out)
{
	qd_buf sig;
	qd_buf_init(&sig);
	int rc = qd_sign(k, payload, len, &sig);
	if (!rc) {
		qd_buf_puts(out, "{\"payload\":");
		qd_buf_json_str(out, payload, len);
		qd_buf_puts(out, ",\"alg\":\"");
		qd_buf_puts(out, qd_key_alg(k));
		qd_buf_puts(out, "\",\"kid\":\"");
		qd_buf_puts(out, qd_key_kid(k));
		qd_buf_puts(out, "\",\"sig\":\"");
		qd_buf_add(out, sig.data, sig.len);
		qd_buf_puts(out, "\"}");
		rc = out->oom ? QD_ENOMEM : 0;
	}
	qd_buf_free(&sig);
	return rc;
}

int qd_receipt_read(const json_t *receipt, qd_receipt *out, const char **member)
{
	*member = "";
	if (!json_is_object(receipt))
		return QD_EINVAL;
	static const char *const names[] = {"payload", "alg", "kid", "sig"};
	const char *v[4];
	size_t n[4];
	for (size_t i = 0; i < 4; i++) {
		json_t *m = json_object_get(receipt, names[i]);
		if (!json_is_string(m)) {
			*member = names[i];
			return QD_EINVAL;
		}
		v[i] = json_string_value(m);
		n[i] = json_string_length(m);
	}
	*out = (qd_receipt){v[0], n[0], v[1], v[2], v[3], n[3]};
	return 0;
}

int qd_receipt_verify(const qd_receipt *r, qd_key *const *keys, size_t n, const char **why)
{
	const qd_key *k = NULL;
	for (size_t i = 0; i < n && !k; i++)
		if (strcmp(qd_key_kid(keys[i]), r->kid) == 0)
			k = keys[i];
	if (!k) {
		*why = "no known key has this kid";
		return QD_ENOENT;
	}
	if (strcmp(qd_key_alg(k), r->alg) != 0) {
		*why = "the key with this kid is of another algorithm";
		return QD_ENOENT;
	}
	int rc = qd_verify(k, r->payload, r->payload_len, r->sig, r->sig_len);
	*why = rc == QD_EBADSIG ? "the signature does not verify: the payload or the signature was altered"
	       : rc == QD_EBASE64 ? "sig is not base64 (RFC 4648, with padding)"
				  : NULL;
	return rc;
}

/* ---- reproduction ---- */

/* The query of a payload, parsed back.  Strings point into the payload's
 * JSON; entity into ent. */
typedef struct repro {
	qd_query q;
	char ent[QD_ENTITY_MAX + 1];
	char customs[QD_CUSTOMS_LEN + 1];
	qd_pin pins[QD_PINS_MAX];
} repro;

static int bad(char *why, size_t whylen, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return QD_EINVAL;
}

/* The shared context (entity, date, list) and the pins of a payload. */
static int repro_context(json_t *p, repro *r, char *why, size_t whylen)
{
	memset(&r->q, 0, sizeof r->q);
	json_t *q = json_object_get(p, "query"), *lists = json_object_get(p, "lists");
	if (!json_is_object(q) || !json_is_array(lists))
		return bad(why, whylen, "the payload has no query or lists");
	const char *ent = json_string_value(json_object_get(q, "entity"));
	const char *date = json_string_value(json_object_get(q, "date"));
	const char *list = json_string_value(json_object_get(q, "list"));
	const char *w;
	if (ent && qd_entity_parse(ent, strlen(ent), r->ent, &w))
		return bad(why, whylen, "query.entity is not an institution id");
	r->q.entity = ent ? r->ent : NULL;
	if (!date || qd_date_parse(date, strlen(date), &r->q.date))
		return bad(why, whylen, "query.date is not a date");
	if (list && !qd_list_id_valid(list))
		return bad(why, whylen, "query.list is not a list id");
	r->q.list = list;
	if (json_array_size(lists) > QD_PINS_MAX)
		return bad(why, whylen, "the payload names too many lists");
	size_t i;
	json_t *l;
	json_array_foreach(lists, i, l) {
		const char *id = json_string_value(json_object_get(l, "list"));
		json_t *v = json_object_get(l, "version");
		if (!id || !qd_list_id_valid(id) || !json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > UINT32_MAX || !json_is_string(json_object_get(l, "sha256")))
			return bad(why, whylen, "each of lists must be {list, version, sha256}");
		r->pins[i] = (qd_pin){id, (uint32_t)json_integer_value(v)};
	}
	r->q.pins = r->pins;
	r->q.n_pins = json_array_size(lists);
	return 0;
}

/* Is every pinned version in this store, with the payload's sha256? */
static int repro_versions(qd_snap *s, json_t *lists, const repro *r, enum qd_reproduced *out, char *why,
			  size_t whylen)
{
	for (size_t i = 0; i < r->q.n_pins; i++) {
		const qd_pin *pin = &r->pins[i];
		qd_list_info info;
		int rc = qd_snap_list_version(s, pin->list, pin->version, &info);
		if (rc == QD_EGONE || rc == QD_ENOLIST || rc == QD_ENOVERSION) {
			*out = rc == QD_EGONE ? QD_REPRO_GONE : QD_REPRO_DIFFERS;
			snprintf(why, whylen, "%s version %u %s", pin->list, pin->version,
				 rc == QD_EGONE ? "is no longer retained" : "is not in this store");
			return 1;
		}
		if (rc)
			return rc;
		const char *sha = json_string_value(json_object_get(json_array_get(lists, i), "sha256"));
		if (strcmp(sha, info.sha256) != 0) {
			*out = QD_REPRO_DIFFERS;
			snprintf(why, whylen, "%s version %u in this store has another sha256", pin->list, pin->version);
			return 1;
		}
	}
	return 0;
}

/* Decide r->q with the code and CIQ of obj (a payload's query or item)
 * and compare with obj's decision and reason.  Returns 0 with *same set,
 * QD_EINVAL (why), or what qd_decide() returns. */
static int repro_one(qd_snap *s, repro *r, json_t *obj, json_t *expect, qd_buf *scratch, bool *same, char *why,
		     size_t whylen)
{
	const char *code = json_string_value(json_object_get(obj, "code"));
	const char *ciq = json_string_value(json_object_get(obj, "ciq"));
	const char *dec = json_string_value(json_object_get(expect, "decision"));
	const char *reason = json_string_value(json_object_get(expect, "reason"));
	const char *w;
	memset(&r->q.code, 0, sizeof r->q.code);
	if (!code || qd_code_parse(code, strlen(code), &r->q.code, &w) || !dec || !reason)
		return bad(why, whylen, "a decision without a valid code, decision or reason");
	/* The office of declaration and the declared goods, as the decision
	 * had them (a lookup's query, a check item). */
	const char *customs = json_string_value(json_object_get(obj, "customs"));
	const char *name = json_string_value(json_object_get(obj, "name"));
	const char *spec = json_string_value(json_object_get(obj, "spec"));
	if (customs && qd_customs_parse(customs, strlen(customs), r->customs, &w))
		return bad(why, whylen, "a decision with an invalid customs code");
	if ((name && !qd_declared_valid(name, strlen(name), &w)) || (spec && !qd_declared_valid(spec, strlen(spec), &w)))
		return bad(why, whylen, "a decision with an invalid declared name or spec");
	r->q.customs = customs ? r->customs : NULL;
	r->q.name = name;
	r->q.spec = spec;
	if (ciq && qd_ciq_parse(ciq, strlen(ciq), r->q.code.ciq, &w))
		return bad(why, whylen, "a decision with an invalid ciq");
	qd_outcome o;
	qd_buf_reset(scratch);
	int rc = qd_decide(s, &r->q, scratch, &o);
	if (rc)
		return rc;
	const char *now_dec = o.allow ? "allow" : "deny", *now_reason = qd_reason_name(o.reason);
	*same = strcmp(dec, now_dec) == 0 && strcmp(reason, now_reason) == 0;
	if (!*same)
		snprintf(why, whylen, "%s: the receipt says %s (%s), deciding again gives %s (%s)", code, dec, reason,
			 now_dec, now_reason);
	return 0;
}

int qd_receipt_reproduce(qd_snap *s, const char *payload, size_t len, enum qd_reproduced *out, char *why,
			 size_t whylen)
{
	*why = '\0';
	json_t *p = json_loadb(payload, len, JSON_REJECT_DUPLICATES, NULL);
	const char *kind = json_string_value(json_object_get(p, "kind"));
	repro *r = malloc(sizeof *r);
	qd_buf scratch;
	qd_buf_init(&scratch);
	int rc;
	if (!r) {
		rc = QD_ENOMEM;
		goto out;
	}
	if (!kind || (strcmp(kind, "lookup") != 0 && strcmp(kind, "check") != 0)) {
		rc = bad(why, whylen, "the payload is not a receipt payload (kind lookup or check)");
		goto out;
	}
	if ((rc = repro_context(p, r, why, whylen)))
		goto out;
	rc = repro_versions(s, json_object_get(p, "lists"), r, out, why, whylen);
	if (rc) {
		rc = rc == 1 ? 0 : rc;
		goto out;
	}
	bool same = true;
	if (strcmp(kind, "lookup") == 0) {
		json_t *q = json_object_get(p, "query");
		rc = repro_one(s, r, q, p, &scratch, &same, why, whylen);
	} else {
		json_t *items = json_object_get(p, "items"), *it;
		size_t i;
		if (!json_is_array(items))
			rc = bad(why, whylen, "the check payload has no items");
		json_array_foreach(items, i, it) {
			if (rc || !same)
				break;
			if (json_object_get(it, "error"))
				continue;
			rc = repro_one(s, r, it, it, &scratch, &same, why, whylen);
		}
	}
	if (!rc)
		*out = same ? QD_REPRO_SAME : QD_REPRO_DIFFERS;
out:
	qd_buf_free(&scratch);
	free(r);
	json_decref(p);
	return rc;
}
