/* qingdan — the list document's v2 fields (DESIGN.md, "v2: jurisdiction
 * and item identity"): the list's term, successor, customs scope and
 * batches table; an entry's identity, aliases, customs and batch; and the
 * compact decision terms the store keeps beside each entry and version.
 *
 * A v2 field is written in the canonical form only when the document
 * gives it (an identity only when it is not its kind's default), so a
 * document without them exports, and hashes, as it did before. */
#include <stdio.h>

#include "qingdan/err.h"
#include "qingdan/jsonw.h"
#include "qingdan/names.h"

#include "listdoc_int.h"

static const char *const identity_names[2] = { "item", "category" };

const char *qd_identity_name(enum qd_identity i)
{
	return (unsigned)i < 2 ? identity_names[i] : "unknown";
}

/* Put val under key in canon when it is not null (stealing it). */
static void put_given(struct vctx *v, json_t *canon, const char *key, json_t *val)
{
	if (val != NULL && json_is_null(val))
		json_decref(val);
	else
		put(v, canon, key, val);
}

/* Do the prefixes a and b overlap (one starts with the other)? */
static bool overlap(const char *a, const char *b)
{
	size_t n = strlen(a) < strlen(b) ? strlen(a) : strlen(b);

	return strncmp(a, b, n) == 0;
}

/* The customs prefixes at obj[key]: 2 or 4 digits each, unique, at most
 * QD_SCOPE_CUSTOMS_MAX; in an entry (in_entry) each must overlap the
 * list's scope.  Returns the canonical array (new reference, possibly
 * empty); the prefixes go to out (when not NULL), *n their count. */
static json_t *customs_array(struct vctx *v, json_t *obj, const char *key, bool in_entry,
			     char (*out)[QD_CUSTOMS_LEN + 1], size_t *n)
{
	json_t *arr = qd_ld_array_field(v, obj, key, false);
	json_t *res = new_array(v);
	json_t *val;
	size_t j, old, base;
	char q[QBUF];

	*n = 0;
	if (arr == NULL)
		return res;
	base = qd_ld_jp_key(v, key);
	if (json_array_size(arr) > QD_SCOPE_CUSTOMS_MAX) {
		PROB(v, "%zu customs codes; at most %d allowed", json_array_size(arr), QD_SCOPE_CUSTOMS_MAX);
		jp_pop(v, base);
		return res;
	}
	json_array_foreach(arr, j, val) {
		const char *s;
		size_t len, k;

		old = qd_ld_jp_idx(v, j);
		if (!json_is_string(val)) {
			PROB(v, "expected a string for a customs code, got %s", qd_ld_type_name(val));
			jp_pop(v, old);
			continue;
		}
		s = json_string_value(val);
		len = json_string_length(val);
		if (!qd_customs_prefix_valid(s, len)) {
			PROB(v, "customs code %s must be 2 or 4 digits (关区代码: 52, 5201)", quote_json(val, q));
			jp_pop(v, old);
			continue;
		}
		for (k = 0; k < j; k++)
			if (json_equal(json_array_get(arr, k), val))
				break;
		if (k < j) {
			PROB(v, "customs code %s is listed twice", quote_json(val, q));
			jp_pop(v, old);
			continue;
		}
		if (in_entry && v->n_scope > 0) {
			for (k = 0; k < v->n_scope; k++)
				if (overlap(s, v->scope[k]))
					break;
			if (k == v->n_scope)
				PROB(v, "customs code %s is outside the list's scope (/scope/customs)",
				     quote_json(val, q));
		}
		if (out != NULL)
			memcpy(out[*n], s, len + 1);
		(*n)++;
		append(v, res, share(v, val));
		jp_pop(v, old);
	}
	jp_pop(v, base);
	return res;
}

static json_t *scope(struct vctx *v, json_t *root)
{
	static const char *const keys[] = { "customs", "region", NULL };
	json_t *val = json_object_get(root, "scope");
	json_t *c, *customs, *region;
	size_t old, n;

	if (val == NULL || json_is_null(val))
		return json_null();
	old = qd_ld_jp_key(v, "scope");
	if (!json_is_object(val)) {
		PROB(v, "expected an object for \"scope\" ({\"customs\", \"region\"}), got %s",
		     qd_ld_type_name(val));
		jp_pop(v, old);
		return json_null();
	}
	qd_ld_check_keys(v, val, keys);
	v->scope = calloc(QD_SCOPE_CUSTOMS_MAX, sizeof(*v->scope));
	if (v->scope == NULL)
		v->oom = true;
	customs = customs_array(v, val, "customs", false, v->scope, &n);
	v->n_scope = v->scope ? n : 0;
	region = qd_ld_str_field(v, val, "region", false, STR_MAX, NULL);
	jp_pop(v, old);
	if (json_array_size(customs) == 0 && json_is_null(region)) {
		json_decref(customs);
		json_decref(region);
		return json_null();
	}
	c = new_object(v);
	put(v, c, "customs", customs);
	put(v, c, "region", region);
	return c;
}

void qd_ld_list_terms(struct vctx *v, json_t *root, json_t *canon)
{
	json_t *cf, *ct, *sb, *val;
	qd_date from, to;
	bool hf = qd_ld_date_field(v, root, "valid_from", QD_DATE_MIN, &from, &cf);
	bool ht = qd_ld_date_field(v, root, "valid_to", QD_DATE_MAX, &to, &ct);
	const char *self = json_string_value(json_object_get(root, "list"));
	char q[QBUF];

	if (hf && ht && from > to)
		PROB_KEY(v, "valid_to", "valid_from %s is after valid_to %s", json_string_value(cf),
			 json_string_value(ct));
	put_given(v, canon, "valid_from", cf);
	put_given(v, canon, "valid_to", ct);
	sb = qd_ld_str_field(v, root, "superseded_by", false, STR_MAX, &val);
	if (val != NULL) {
		if (strlen(json_string_value(val)) != json_string_length(val) ||
		    !qd_list_id_valid(json_string_value(val)))
			PROB_KEY(v, "superseded_by", "superseded_by %s is not a list id", quote_json(val, q));
		else if (self != NULL && strcmp(self, json_string_value(val)) == 0)
			PROB_KEY(v, "superseded_by", "a list cannot be superseded by itself");
	}
	put_given(v, canon, "superseded_by", sb);
	put_given(v, canon, "scope", scope(v, root));
}

/* A batch id: 1 to QD_BATCH_ID_MAX characters (code points, as JSON
 * Schema's maxLength counts them: "第一批" is 3), no control characters
 * and no NUL (ids are keys of an object and parts of messages). */
static bool batch_id_ok(const char *s, size_t n)
{
	size_t chars = 0;

	if (n == 0 || strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
		chars += ((unsigned char)s[i] & 0xC0) != 0x80;
	}
	return chars <= QD_BATCH_ID_MAX;
}

static json_t *batch(struct vctx *v, json_t *in, size_t i)
{
	static const char *const keys[] = { "id", "title", "document", "published", "valid_from",
					    "valid_to", NULL };
	json_t *c, *id, *val, *t;
	qd_date published;
	char q[QBUF];

	if (!json_is_object(in)) {
		PROB(v, "expected an object for a batch, got %s", qd_ld_type_name(in));
		return json_null();
	}
	qd_ld_check_keys(v, in, keys);
	c = new_object(v);
	id = qd_ld_str_field(v, in, "id", true, STR_MAX, &val);
	if (val != NULL) {
		json_t *prev = json_object_get(v->batch_ids, json_string_value(val));

		if (!batch_id_ok(json_string_value(val), json_string_length(val)))
			PROB_KEY(v, "id", "batch id %s must be 1 to %d characters without control characters",
				 quote_json(val, q), QD_BATCH_ID_MAX);
		else if (prev != NULL)
			PROB_KEY(v, "id", "batch id %s is already used by /batches/%" JSON_INTEGER_FORMAT,
				 quote_json(val, q), json_integer_value(prev));
		else if (json_object_set_new(v->batch_ids, json_string_value(val),
					     json_integer((json_int_t)i)) != 0)
			v->oom = true;
	}
	put(v, c, "id", id);
	put(v, c, "title", qd_ld_str_field(v, in, "title", false, STR_MAX, NULL));
	put(v, c, "document", qd_ld_str_field(v, in, "document", false, STR_MAX, NULL));
	qd_ld_date_field(v, in, "published", QD_DATE_MIN, &published, &t);
	put(v, c, "published", t);
	qd_ld_window_fields(v, in, c, &v->batch_from[i], &v->batch_to[i]);
	return c;
}

void qd_ld_batches(struct vctx *v, json_t *root, json_t *canon)
{
	json_t *arr = qd_ld_array_field(v, root, "batches", false);
	json_t *out;
	size_t base, old, i, n;
	json_t *el;

	if (arr == NULL)
		return;
	n = json_array_size(arr);
	if (n > QD_BATCHES_MAX) {
		PROB_KEY(v, "batches", "%zu batches; at most %d allowed", n, QD_BATCHES_MAX);
		return;
	}
	v->batch_ids = json_object();
	v->batch_from = calloc(n ? n : 1, sizeof(*v->batch_from));
	v->batch_to = calloc(n ? n : 1, sizeof(*v->batch_to));
	out = new_array(v);
	if (v->batch_ids == NULL || v->batch_from == NULL || v->batch_to == NULL || out == NULL) {
		v->oom = true;
		json_decref(out);
		return;
	}
	v->n_batches = n;
	base = qd_ld_jp_key(v, "batches");
	json_array_foreach(arr, i, el) {
		old = qd_ld_jp_idx(v, i);
		append(v, out, batch(v, el, i));
		jp_pop(v, old);
	}
	jp_pop(v, base);
	put(v, canon, "batches", out);
}

/* Does string s normalise to nothing (only spaces and punctuation)?  Such
 * an alias could never match a declared name, which must normalise to
 * something (qd_declared_valid).  Sets v->oom when it cannot tell. */
static bool norm_empty(struct vctx *v, json_t *s)
{
	size_t n = json_string_length(s);
	char *buf = malloc(n + 1);
	long len;

	if (buf == NULL) {
		v->oom = true;
		return false;
	}
	len = qd_name_norm(json_string_value(s), n, buf, n + 1);
	free(buf);
	return len == 0;
}

/* The entry's aliases: strings with something besides spaces and
 * punctuation, unique, at most QD_ALIASES_MAX. */
static json_t *aliases(struct vctx *v, json_t *in)
{
	json_t *arr = qd_ld_array_field(v, in, "aliases", false);
	json_t *out = new_array(v);
	json_t *val;
	size_t j, k, old, base;
	char q[QBUF];

	if (arr == NULL)
		return out;
	base = qd_ld_jp_key(v, "aliases");
	if (json_array_size(arr) > QD_ALIASES_MAX) {
		PROB(v, "%zu aliases; at most %d allowed", json_array_size(arr), QD_ALIASES_MAX);
		jp_pop(v, base);
		return out;
	}
	json_array_foreach(arr, j, val) {
		old = qd_ld_jp_idx(v, j);
		if (qd_ld_check_string(v, val, "aliases", true, STR_MAX)) {
			for (k = 0; k < j; k++)
				if (json_equal(json_array_get(arr, k), val))
					break;
			if (k < j)
				PROB(v, "alias %s is listed twice", quote_json(val, q));
			else if (norm_empty(v, val))
				PROB(v, "alias %s is only spaces and punctuation, which names are compared "
					"without: it would match no declared name", quote_json(val, q));
			append(v, out, share(v, val));
		}
		jp_pop(v, old);
	}
	jp_pop(v, base);
	return out;
}

enum qd_identity qd_ld_entry_identity(struct vctx *v, json_t *in, json_t *c)
{
	int dflt = v->kind == QD_KIND_POSITIVE ? QD_IDENTITY_CATEGORY : QD_IDENTITY_ITEM;
	json_t *t, *al;
	int id = qd_ld_enum_field(v, in, "identity", identity_names, 2, dflt, &t);

	if (id >= 0 && id != dflt)
		put(v, c, "identity", t);
	else
		json_decref(t);
	al = aliases(v, in);
	if (json_array_size(al) > 0)
		put(v, c, "aliases", al);
	else
		json_decref(al);
	return id < 0 ? (enum qd_identity)dflt : (enum qd_identity)id;
}

void qd_ld_entry_customs(struct vctx *v, json_t *in, json_t *c)
{
	size_t n;
	json_t *arr = customs_array(v, in, "customs", true, NULL, &n);

	if (json_array_size(arr) > 0)
		put(v, c, "customs", arr);
	else
		json_decref(arr);
}

long qd_ld_entry_batch(struct vctx *v, json_t *in, json_t *c, qd_entry *e)
{
	json_t *val, *t = qd_ld_str_field(v, in, "batch", false, STR_MAX, &val);
	json_t *idx;
	long i = -1;
	char q[QBUF], d1[11], d2[11];

	put(v, c, "batch", t);
	if (val == NULL || v->batch_ids == NULL)
		return -1;
	idx = json_object_get(v->batch_ids, json_string_value(val));
	if (idx == NULL || strlen(json_string_value(val)) != json_string_length(val)) {
		PROB_KEY(v, "batch", "batch %s is not defined in /batches", quote_json(val, q));
		return -1;
	}
	i = (long)json_integer_value(idx);
	/* The batch's window is the default of its entries'. */
	if (e->valid_from == QD_DATE_MIN)
		e->valid_from = v->batch_from[i];
	if (e->valid_to == QD_DATE_MAX)
		e->valid_to = v->batch_to[i];
	if (e->valid_from > e->valid_to) {
		qd_date_format(e->valid_from, d1);
		qd_date_format(e->valid_to, d2);
		PROB_KEY(v, "batch", "with batch %s the entry would be valid from %s to %s: an empty window",
			 quote_json(val, q), d1, d2);
	}
	return i;
}

/* Append the normal form of string s (json string or not) and its NUL. */
static void put_norm(struct vctx *v, json_t *s)
{
	char buf[STR_MAX + 1];
	long n = -1;

	if (json_is_string(s) && json_string_length(s) <= STR_MAX)
		n = qd_name_norm(json_string_value(s), json_string_length(s), buf, sizeof buf);
	if (n > 0)
		qd_buf_add(&v->eterms, buf, (size_t)n);
	qd_buf_add(&v->eterms, "", 1);
}

void qd_ld_entry_terms(struct vctx *v, json_t *c, enum qd_identity identity, long batch)
{
	json_t *customs = json_object_get(c, "customs"), *name = json_object_get(c, "name");
	json_t *al = json_object_get(c, "aliases"), *val;
	bool item = identity == QD_IDENTITY_ITEM;
	unsigned char h[5];
	size_t j, names = 0;

	qd_buf_reset(&v->eterms);
	if (!item && json_array_size(customs) == 0 && batch < 0)
		return;
	if (item) {
		names = 1 + (json_is_string(json_object_get(name, "en")) ? 1 : 0) + json_array_size(al);
	}
	/* An item entry's item_check object is not kept here: it is rebuilt
	 * from the entry's JSON, which holds the same values (flag 4). */
	h[0] = (unsigned char)((item ? 1 | 4 : 0) | (batch >= 0 ? 2 : 0));
	h[1] = (unsigned char)json_array_size(customs);
	h[2] = (unsigned char)(batch >= 0 ? batch & 0xff : 0);
	h[3] = (unsigned char)(batch >= 0 ? (batch >> 8) & 0xff : 0);
	h[4] = (unsigned char)names;
	qd_buf_add(&v->eterms, h, sizeof h);
	json_array_foreach(customs, j, val)
		qd_buf_add(&v->eterms, json_string_value(val), json_string_length(val) + 1);
	if (item)
		put_norm(v, json_object_get(c, "spec"));
	else
		qd_buf_add(&v->eterms, "", 1);
	if (item) {
		put_norm(v, json_object_get(name, "zh"));
		if (json_is_string(json_object_get(name, "en")))
			put_norm(v, json_object_get(name, "en"));
		json_array_foreach(al, j, val)
			put_norm(v, val);
	} else {
		qd_buf_add(&v->eterms, "", 1); /* no item_check */
	}
	if (v->eterms.oom)
		v->oom = true;
}

/* Append the compact JSON of j (or null) and a NUL to b. */
static void put_json(qd_buf *b, json_t *j)
{
	if (j == NULL || qd_json_write(b, j, REAL_DIGITS) != 0)
		qd_buf_puts(b, "null");
	qd_buf_add(b, "", 1);
}

int qd_ld_head_terms(qd_listdoc *doc)
{
	json_t *h = doc->json;
	json_t *sc = json_object_get(h, "scope"), *bt = json_object_get(h, "batches");
	json_t *vf = json_object_get(h, "valid_from"), *vt = json_object_get(h, "valid_to");
	json_t *sb = json_object_get(h, "superseded_by");
	json_t *customs = json_object_get(sc, "customs"), *val, *terms = NULL;
	qd_date from = QD_DATE_MIN, to = QD_DATE_MAX;
	unsigned char hd[12];
	size_t j;
	qd_buf b;

	doc->terms = NULL;
	doc->terms_len = 0;
	if (!sc && !bt && !vf && !vt && !sb)
		return 0;
	if (vf)
		qd_date_parse(json_string_value(vf), json_string_length(vf), &from);
	if (vt)
		qd_date_parse(json_string_value(vt), json_string_length(vt), &to);
	qd_buf_init(&b);
	hd[0] = (unsigned char)json_array_size(customs);
	hd[1] = 0;
	hd[2] = (unsigned char)(json_array_size(bt) & 0xff);
	hd[3] = (unsigned char)(json_array_size(bt) >> 8);
	memcpy(hd + 4, &from, 4);
	memcpy(hd + 8, &to, 4);
	qd_buf_add(&b, hd, sizeof hd);
	json_array_foreach(customs, j, val)
		qd_buf_add(&b, json_string_value(val), json_string_length(val) + 1);
	put_json(&b, sc);
	put_json(&b, json_object_get(sc, "region"));
	if (vf || vt || sb)
		terms = json_pack("{s:O, s:O, s:O}", "valid_from", vf ? vf : json_null(), "valid_to",
				  vt ? vt : json_null(), "superseded_by", sb ? sb : json_null());
	put_json(&b, terms);
	json_decref(terms);
	json_array_foreach(bt, j, val)
		put_json(&b, val);
	if (b.oom || ((vf || vt || sb) && terms == NULL)) {
		qd_buf_free(&b);
		return QD_ENOMEM;
	}
	doc->terms = qd_buf_steal(&b, &doc->terms_len);
	return doc->terms ? 0 : QD_ENOMEM;
}

void qd_ld_terms_free(struct vctx *v)
{
	free(v->scope);
	json_decref(v->batch_ids);
	free(v->batch_from);
	free(v->batch_to);
	qd_buf_free(&v->eterms);
}

/* The NUL-terminated string at *p (before end); moves *p past it.  NULL
 * when there is none. */
static const char *next_str(const char **p, const char *end)
{
	const char *s = *p;
	const char *z = s < end ? memchr(s, 0, (size_t)(end - s)) : NULL;

	if (z == NULL)
		return NULL;
	*p = z + 1;
	return s;
}

/* Skip n strings; the first of them, or NULL when they are not there. */
static const char *strings(const char **p, const char *end, unsigned n)
{
	const char *first = *p;

	for (unsigned i = 0; i < n; i++)
		if (next_str(p, end) == NULL)
			return NULL;
	return first;
}

int qd_entry_terms_decode(const char *p, size_t n, qd_entry_terms *out)
{
	const unsigned char *u = (const unsigned char *)p;
	const char *end = p + n, *q = p + 5;

	memset(out, 0, sizeof(*out));
	if (n < 5)
		return -1;
	out->item = (u[0] & 1) != 0;
	out->has_batch = (u[0] & 2) != 0;
	out->item_in_entry = (u[0] & 4) != 0;
	if ((u[0] & ~7) || (out->item_in_entry && !out->item))
		return -1;
	out->n_customs = u[1];
	out->batch = (unsigned)(u[2] | u[3] << 8);
	out->n_names = u[4];
	if ((out->customs = strings(&q, end, out->n_customs)) == NULL ||
	    (out->spec = next_str(&q, end)) == NULL || (out->names = strings(&q, end, out->n_names)) == NULL)
		return -1;
	if (out->item_in_entry) {
		out->item_check = "";
		return q == end ? 0 : -1;
	}
	return (out->item_check = next_str(&q, end)) == NULL ? -1 : 0;
}

/* Is the key of kl bytes at k the word w (wl bytes)? */
#define KEY_IS(k, kl, w) ((kl) == sizeof(w) - 1 && memcmp((k), (w), sizeof(w) - 1) == 0)

int qd_item_check_from_entry(const char *json, size_t n, qd_buf *out)
{
	const char *end = json + n, *p = json, *val[3] = {NULL, NULL, NULL};
	size_t vlen[3] = {0, 0, 0};

	if (n < 2 || *p != '{')
		return -1;
	p++;
	/* The store's entry JSON is canonical (sections.c): its keys come in
	 * one order — id, code, ciq, name, spec, identity and aliases when
	 * present, then effect and the rest — so the scan stops at "effect"
	 * and reads only the short head of the entry.  It starts at "name":
	 * the values before it (an id, digits, null) hold no quote, so the
	 * first ,"name": is that key (a quote inside a string is escaped). */
	const char *at = memmem(json, n, ",\"name\":", 8);
	if (at != NULL)
		p = at + 1;
	while (p < end && *p != '}') {
		/* "key":value, the key plain (the entry's keys need no escapes) */
		const char *k = p + 1, *ke = *p == '"' ? memchr(k, '"', (size_t)(end - k)) : NULL;
		if (ke == NULL || ke + 1 >= end || ke[1] != ':')
			return -1;
		size_t kl = (size_t)(ke - k);
		if (KEY_IS(k, kl, "effect"))
			break;
		const char *v = ke + 2;
		size_t ve_off = qd_ld_skip_value(json, n, (size_t)(v - json));
		if (ve_off == 0)
			return -1;
		const char *ve = json + ve_off;
		int which = KEY_IS(k, kl, "name") ? 0 : KEY_IS(k, kl, "spec") ? 1 : KEY_IS(k, kl, "aliases") ? 2 : -1;
		if (which >= 0) {
			val[which] = v;
			vlen[which] = (size_t)(ve - v);
		}
		p = ve;
		if (p < end && *p == ',')
			p++;
	}
	if (p >= end)
		return -1;
	qd_buf_reserve(out, vlen[0] + vlen[1] + vlen[2] + 40);
	if (out->oom)
		return -1;
	qd_buf_add_inline(out, "{\"name\":", 8);
	if (val[0])
		qd_buf_add_inline(out, val[0], vlen[0]);
	else
		qd_buf_add_inline(out, "null", 4);
	qd_buf_add_inline(out, ",\"spec\":", 8);
	if (val[1])
		qd_buf_add_inline(out, val[1], vlen[1]);
	else
		qd_buf_add_inline(out, "null", 4);
	qd_buf_add_inline(out, ",\"aliases\":", 11);
	if (val[2])
		qd_buf_add_inline(out, val[2], vlen[2]);
	else
		qd_buf_add_inline(out, "[]", 2);
	qd_buf_putc_inline(out, '}');
	return out->oom ? -1 : 0;
}

int qd_list_terms_decode(const char *p, size_t n, qd_list_terms *out)
{
	const unsigned char *u = (const unsigned char *)p;
	const char *end = p + n, *q = p + 12;

	memset(out, 0, sizeof(*out));
	out->valid_from = QD_DATE_MIN;
	out->valid_to = QD_DATE_MAX;
	if (n == 0)
		return 0;
	if (n < 12)
		return -1;
	out->n_customs = u[0];
	out->n_batches = (unsigned)(u[2] | u[3] << 8);
	memcpy(&out->valid_from, p + 4, 4);
	memcpy(&out->valid_to, p + 8, 4);
	if ((out->customs = strings(&q, end, out->n_customs)) == NULL ||
	    (out->scope_json = next_str(&q, end)) == NULL || (out->region_json = next_str(&q, end)) == NULL ||
	    (out->terms_json = next_str(&q, end)) == NULL ||
	    (out->batches = strings(&q, end, out->n_batches)) == NULL)
		return -1;
	out->present = true;
	return 0;
}
