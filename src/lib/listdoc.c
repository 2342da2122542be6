/* qingdan — the list document: parsing, validation, canonical form.
 *
 * One validator walks a json_t (parsed or stored), reports every violation
 * with its JSON Pointer, and builds the canonical document as it goes: new
 * objects with every field in the fixed order of schema/list.schema.json.
 * The qd_listdoc is handed out only when no violation was found, so
 * everything it borrows points into a canonical document that passed. */
#include "qingdan/listdoc.h"

#include <stdlib.h>
#include <string.h>

#include "qingdan/err.h"
#include "qingdan/jsonw.h"

#define STR_MAX 2048       /* ordinary strings */
#define TEXT_MAX 20000     /* clause text: whole articles are quoted */
#define WAIVE_MAX 64       /* waiver codes ("Q", "医疗器械注册证") */
#define ID_MAX 64          /* clause and entry ids */
#define QBUF QD_QUOTE_BUF
#define SUGGEST_MAX 2      /* edit distance for "did you mean" */
/* Reals are written with 15 significant digits, not jansson's default 17:
 * a limit of 0.1 reads "0.1", not "0.10000000000000001", and 15 digits
 * survive text -> double -> text unchanged, so the dump stays idempotent. */
#define REAL_DIGITS 15

/* A JSON Pointer under construction; always NUL-terminated. */
struct jp {
	char *s;
	size_t len, cap;
};

/* Validation state.  The problems are the output; oom is sticky and turns
 * the result into QD_ENOMEM whatever else was found. */
struct vctx {
	qd_problems *p;
	struct jp path;
	bool oom;
	enum qd_kind kind;     /* 0 while unknown (missing or invalid) */
	json_t *clause_ids;    /* clause id -> index, for references */
	json_t *roster;        /* normalised entity id -> index */
	json_t *entry_ids;     /* entry id -> index, for uniqueness */
	size_t n_roster;       /* roster size as written (a bad member still makes it non-empty) */
	qd_listdoc *doc;
	/* Strings of the input are shared with the canonical tree, except when
	 * the canonical tree goes into an arena the input is not in: then it
	 * gets copies, so that nothing in the arena points out of it. */
	bool copy_strings;
	bool arena;            /* the trees built live in an arena: no json_decref */
};

static const char *const kind_names[] = { NULL, "positive", "whitelist" };
static const char *const status_names[] = { "active", "suspended", "revoked" };
static const char *const effect_names[] = { "include", "exclude" };

#define PROB(v, ...) qd_problems_add((v)->p, (v)->path.s ? (v)->path.s : "", __VA_ARGS__)
#define PROB_KEY(v, key, ...)                         \
	do {                                          \
		size_t o_ = jp_key((v), (key));       \
		PROB((v), __VA_ARGS__);               \
		jp_pop((v), o_);                      \
	} while (0)

/* ---- JSON Pointer ---------------------------------------------------- */

static void jp_putn(struct vctx *v, const char *s, size_t n)
{
	struct jp *jp = &v->path;

	if (jp->len + n + 1 > jp->cap) {
		size_t ncap = jp->cap ? jp->cap : 256;
		char *ns;

		while (jp->len + n + 1 > ncap)
			ncap *= 2;
		ns = realloc(jp->s, ncap);
		if (ns == NULL) {
			v->oom = true;
			return;
		}
		jp->s = ns;
		jp->cap = ncap;
	}
	memcpy(jp->s + jp->len, s, n);
	jp->len += n;
	jp->s[jp->len] = '\0';
}

/* Append "/key" with RFC 6901 escaping; returns the length to pop back to. */
static size_t jp_key(struct vctx *v, const char *key)
{
	size_t old = v->path.len;

	jp_putn(v, "/", 1);
	for (const char *k = key; *k; k++) {
		if (*k == '~')
			jp_putn(v, "~0", 2);
		else if (*k == '/')
			jp_putn(v, "~1", 2);
		else
			jp_putn(v, k, 1);
	}
	return old;
}

static size_t jp_idx(struct vctx *v, size_t i)
{
	char buf[24];
	size_t old = v->path.len;
	int n = snprintf(buf, sizeof(buf), "/%zu", i);

	jp_putn(v, buf, (size_t)n);
	return old;
}

static void jp_pop(struct vctx *v, size_t old)
{
	if (v->path.s != NULL && old <= v->path.len) {
		v->path.len = old;
		v->path.s[old] = '\0';
	}
}

/* ---- message helpers ------------------------------------------------- */


static const char *quote_json(const json_t *s, char buf[QBUF])
{
	return qd_quote(json_string_value(s), json_string_length(s), buf);
}

static const char *type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	}
	return "an unknown value";
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[32];

	/* Keys are short; longer inputs are not typos of them. */
	if (la >= 31 || lb >= 31)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* Report every key of obj not in allowed (NULL-terminated): typos must
 * not pass silently, so the nearest allowed key is suggested. */
static void check_keys(struct vctx *v, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *val;

	json_object_foreach(obj, key, val) {
		const char *best = NULL;
		size_t bestd = SUGGEST_MAX + 1;
		char q[QBUF];
		bool known = false;

		for (const char *const *a = allowed; *a && !known; a++)
			known = strcmp(key, *a) == 0;
		if (known)
			continue;
		for (const char *const *a = allowed; *a; a++) {
			size_t d = edit_distance(key, *a);

			if (d < bestd && d < strlen(*a)) {
				bestd = d;
				best = *a;
			}
		}
		if (best != NULL)
			PROB_KEY(v, key, "unknown key %s; did you mean \"%s\"?",
				 qd_quote(key, strlen(key), q), best);
		else
			PROB_KEY(v, key, "unknown key %s", qd_quote(key, strlen(key), q));
	}
}

/* ---- canonical building ---------------------------------------------- */

/* Set obj[key] = val, stealing val; NULL val means allocation failed. */
static void put(struct vctx *v, json_t *obj, const char *key, json_t *val)
{
	if (val == NULL || obj == NULL || json_object_set_new(obj, key, val) != 0)
		v->oom = true;
}

static void append(struct vctx *v, json_t *arr, json_t *val)
{
	if (val == NULL || arr == NULL || json_array_append_new(arr, val) != 0)
		v->oom = true;
}

static json_t *new_object(struct vctx *v)
{
	json_t *o = json_object();

	if (o == NULL)
		v->oom = true;
	return o;
}

static json_t *new_array(struct vctx *v)
{
	json_t *a = json_array();

	if (a == NULL)
		v->oom = true;
	return a;
}

/* A validated input string for the canonical tree (new reference). */
static json_t *share(struct vctx *v, json_t *val)
{
	json_t *r;

	if (!v->copy_strings)
		return json_incref(val);
	r = json_stringn_nocheck(json_string_value(val), json_string_length(val));
	if (r == NULL)
		v->oom = true;
	return r;
}

/* ---- scalar fields ----------------------------------------------------- */

/* Check that val (at the current path) is a usable string for `label`.
 * required strings must be non-empty; every string has a byte limit. */
static bool check_string(struct vctx *v, json_t *val, const char *label, bool required, size_t max)
{
	size_t len;

	if (!json_is_string(val)) {
		PROB(v, "expected a string for \"%s\", got %s", label, type_name(val));
		return false;
	}
	len = json_string_length(val);
	/* Only a json_t built by a caller can hold one; JSON text cannot. */
	if (strlen(json_string_value(val)) != len) {
		PROB(v, "\"%s\" contains a NUL character", label);
		return false;
	}
	if (required && len == 0) {
		PROB(v, "\"%s\" must not be empty", label);
		return false;
	}
	if (len > max) {
		PROB(v, "\"%s\" is %zu bytes long; at most %zu allowed", label, len, max);
		return false;
	}
	return true;
}

/* A string field.  Returns the canonical value (new reference: a copy, or
 * null when absent or invalid); *out (if given) the validated value or NULL. */
static json_t *str_field(struct vctx *v, json_t *obj, const char *key, bool required,
			 size_t max, json_t **out)
{
	json_t *val = json_object_get(obj, key);
	json_t *res;
	size_t old;
	bool ok;

	if (out)
		*out = NULL;
	if (val == NULL || json_is_null(val)) {
		if (required)
			PROB_KEY(v, key, "\"%s\" is required", key);
		return json_null();
	}
	old = jp_key(v, key);
	ok = check_string(v, val, key, required, max);
	jp_pop(v, old);
	if (!ok)
		return json_null();
	/* Strings are immutable here: the canonical tree shares them with the
	 * parsed one instead of copying (a large list has ~10 per entry). */
	res = share(v, val);
	if (out)
		*out = val;
	return res;
}

/* An enum field written as a string; absent or null gives dflt (or a
 * problem when dflt < 0).  Returns the index, or -1 after a problem.
 * *canon receives the canonical string (new reference). */
static int enum_field(struct vctx *v, json_t *obj, const char *key, const char *const *names,
		      int n, int dflt, json_t **canon)
{
	json_t *val = json_object_get(obj, key);
	size_t old;
	char q[QBUF];
	int found = -1;

	*canon = NULL;
	if (val == NULL || json_is_null(val)) {
		if (dflt < 0) {
			PROB_KEY(v, key, "\"%s\" is required", key);
			*canon = json_null();
			return -1;
		}
		found = dflt;
	} else {
		old = jp_key(v, key);
		if (!json_is_string(val)) {
			PROB(v, "expected a string for \"%s\", got %s", key, type_name(val));
		} else {
			for (int i = 0; i < n; i++) {
				if (names[i] != NULL && strcmp(json_string_value(val), names[i]) == 0 &&
				    strlen(names[i]) == json_string_length(val))
					found = i;
			}
			if (found < 0) {
				/* Name the allowed values: there are only two or three. */
				char allowed[64] = "";

				for (int i = 0; i < n; i++) {
					if (names[i] == NULL)
						continue;
					if (allowed[0] != '\0')
						strcat(allowed, ", ");
					strcat(allowed, names[i]);
				}
				PROB(v, "%s %s is not one of %s", key, quote_json(val, q), allowed);
			}
		}
		jp_pop(v, old);
	}
	if (found < 0) {
		*canon = json_null();
		return -1;
	}
	*canon = json_string(names[found]);
	if (*canon == NULL)
		v->oom = true;
	return found;
}

/* An optional date "YYYY-MM-DD".  *d gets the day or `open` when absent
 * or invalid; returns true when a valid date was given. */
static bool date_field(struct vctx *v, json_t *obj, const char *key, qd_date open,
		       qd_date *d, json_t **canon)
{
	json_t *val;
	char q[QBUF];
	bool ok = false;

	*d = open;
	*canon = str_field(v, obj, key, false, STR_MAX, &val);
	if (val == NULL)
		return false;
	if (qd_date_parse(json_string_value(val), json_string_length(val), d) == 0) {
		ok = true;
	} else {
		*d = open;
		PROB_KEY(v, key, "%s %s is not a real calendar date in the form YYYY-MM-DD",
			 key, quote_json(val, q));
	}
	return ok;
}

/* valid_from / valid_to as a pair, added to canon in that order. */
static void window_fields(struct vctx *v, json_t *obj, json_t *canon, qd_date *from, qd_date *to)
{
	json_t *cf, *ct;
	bool hf = date_field(v, obj, "valid_from", QD_DATE_MIN, from, &cf);
	bool ht = date_field(v, obj, "valid_to", QD_DATE_MAX, to, &ct);

	put(v, canon, "valid_from", cf);
	put(v, canon, "valid_to", ct);
	if (hf && ht && *from > *to)
		PROB_KEY(v, "valid_to", "valid_from %s is after valid_to %s",
			 json_string_value(cf), json_string_value(ct));
}

/* An id of a clause or entry: [A-Za-z0-9][A-Za-z0-9._:-]{0,63}. */
static bool id_valid(const char *s, size_t n)
{
	if (n == 0 || n > ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != ':' && c != '-')))
			return false;
	}
	return true;
}

/* The "id" of a clause or entry, unique within `seen` (id -> index in the
 * array /<section>).  Returns the canonical id string. */
static json_t *id_field(struct vctx *v, json_t *obj, json_t *seen, const char *what,
			const char *section, size_t index)
{
	json_t *val, *canon = str_field(v, obj, "id", true, STR_MAX, &val);
	json_t *prev;
	char q[QBUF];

	if (val == NULL)
		return canon;
	if (!id_valid(json_string_value(val), json_string_length(val))) {
		PROB_KEY(v, "id", "id %s must start with a letter or digit and contain only "
			 "letters, digits, '.', '_', ':' and '-' (at most 64 characters)",
			 quote_json(val, q));
		return canon;
	}
	prev = json_object_get(seen, json_string_value(val));
	if (prev != NULL) {
		PROB_KEY(v, "id", "%s id %s is already used by /%s/%" JSON_INTEGER_FORMAT,
			 what, quote_json(val, q), section, json_integer_value(prev));
		return canon;
	}
	if (json_object_set_new(seen, json_string_value(val), json_integer((json_int_t)index)) != 0)
		v->oom = true;
	return canon;
}

/* A {"zh", "en"} object (title, name); required, zh required. */
static json_t *name_field(struct vctx *v, json_t *obj, const char *key)
{
	static const char *const keys[] = { "zh", "en", NULL };
	json_t *val = json_object_get(obj, key);
	json_t *canon;
	size_t old;

	if (val == NULL || json_is_null(val)) {
		PROB_KEY(v, key, "\"%s\" is required (an object with \"zh\" and optionally \"en\")", key);
		return json_null();
	}
	old = jp_key(v, key);
	if (!json_is_object(val)) {
		PROB(v, "expected an object for \"%s\", got %s", key, type_name(val));
		jp_pop(v, old);
		return json_null();
	}
	check_keys(v, val, keys);
	canon = new_object(v);
	put(v, canon, "zh", str_field(v, val, "zh", true, STR_MAX, NULL));
	put(v, canon, "en", str_field(v, val, "en", false, STR_MAX, NULL));
	jp_pop(v, old);
	return canon;
}

/* An array field: returns the array (borrowed), or NULL when absent, null
 * or not an array (reported when required or of the wrong type). */
static json_t *array_field(struct vctx *v, json_t *obj, const char *key, bool required)
{
	json_t *val = json_object_get(obj, key);

	if (val == NULL || json_is_null(val)) {
		if (required)
			PROB_KEY(v, key, "\"%s\" is required (an array)", key);
		return NULL;
	}
	if (!json_is_array(val)) {
		PROB_KEY(v, key, "expected an array for \"%s\", got %s", key, type_name(val));
		return NULL;
	}
	return val;
}

/* Parse an entity id at the current path; returns the normalised id as a
 * new json string, or NULL after a problem. */
static json_t *entity_id(struct vctx *v, json_t *val)
{
	char norm[QD_ENTITY_MAX + 1];
	const char *why = NULL;
	char q[QBUF];
	json_t *res;

	if (!json_is_string(val)) {
		PROB(v, "expected a string for the entity id, got %s", type_name(val));
		return NULL;
	}
	if (qd_entity_parse(json_string_value(val), json_string_length(val), norm, &why) != 0) {
		PROB(v, "entity %s is invalid: %s", quote_json(val, q), why);
		return NULL;
	}
	res = json_string(norm);
	if (res == NULL)
		v->oom = true;
	return res;
}

/* ---- sections ----------------------------------------------------------- */

static json_t *clause(struct vctx *v, json_t *in, size_t i)
{
	static const char *const keys[] = { "id", "document", "article", "title", "text", "url", NULL };
	json_t *c;

	if (!json_is_object(in)) {
		PROB(v, "expected an object for a clause, got %s", type_name(in));
		return json_null();
	}
	check_keys(v, in, keys);
	c = new_object(v);
	put(v, c, "id", id_field(v, in, v->clause_ids, "clause", "clauses", i));
	put(v, c, "document", str_field(v, in, "document", true, STR_MAX, NULL));
	put(v, c, "article", str_field(v, in, "article", true, STR_MAX, NULL));
	put(v, c, "title", str_field(v, in, "title", false, STR_MAX, NULL));
	put(v, c, "text", str_field(v, in, "text", true, TEXT_MAX, NULL));
	put(v, c, "url", str_field(v, in, "url", false, STR_MAX, NULL));
	return c;
}

static json_t *member(struct vctx *v, json_t *in, size_t i, qd_member *m)
{
	static const char *const keys[] = { "id", "name", "status", "valid_from", "valid_to", NULL };
	json_t *c, *id = NULL, *val, *st;
	size_t old;

	if (!json_is_object(in)) {
		PROB(v, "expected an object for an entity, got %s", type_name(in));
		return json_null();
	}
	check_keys(v, in, keys);
	c = new_object(v);
	val = json_object_get(in, "id");
	if (val == NULL || json_is_null(val)) {
		PROB_KEY(v, "id", "\"id\" is required");
	} else {
		old = jp_key(v, "id");
		id = entity_id(v, val);
		if (id != NULL) {
			json_t *prev = json_object_get(v->roster, json_string_value(id));
			char q[QBUF];

			if (prev != NULL)
				PROB(v, "entity %s is listed twice (also /entities/%" JSON_INTEGER_FORMAT ")",
				     quote_json(id, q), json_integer_value(prev));
			else if (json_object_set_new(v->roster, json_string_value(id),
						     json_integer((json_int_t)i)) != 0)
				v->oom = true;
		}
		jp_pop(v, old);
	}
	put(v, c, "id", id ? id : json_null());
	put(v, c, "name", name_field(v, in, "name"));
	m->status = (enum qd_status)enum_field(v, in, "status", status_names, 3, QD_STATUS_ACTIVE, &st);
	put(v, c, "status", st);
	window_fields(v, in, c, &m->valid_from, &m->valid_to);
	return c;
}

/* The entry's "entities": normalised, unique, on the roster when there is
 * one, and at least one for a whitelist. */
static json_t *entry_entities(struct vctx *v, json_t *in)
{
	json_t *arr = array_field(v, in, "entities", false);
	json_t *out = new_array(v);
	json_t *seen = NULL;
	json_t *val;
	size_t j, old, base;
	char q[QBUF];

	/* Most entries name zero or one entity: skip the set for those. */
	if (json_array_size(arr) > 1 && (seen = json_object()) == NULL)
		v->oom = true;
	base = jp_key(v, "entities");
	json_array_foreach(arr, j, val) {
		json_t *id;
		json_t *prev;

		old = jp_idx(v, j);
		id = entity_id(v, val);
		if (id == NULL) {
			jp_pop(v, old);
			continue;
		}
		prev = json_object_get(seen, json_string_value(id));
		if (prev != NULL) {
			PROB(v, "entity %s is listed twice (also /entities/%" JSON_INTEGER_FORMAT
			     " of this entry)", quote_json(id, q), json_integer_value(prev));
		} else {
			if (seen != NULL && json_object_set_new(seen, json_string_value(id),
								json_integer((json_int_t)j)) != 0)
				v->oom = true;
			if (v->n_roster > 0 && json_object_get(v->roster, json_string_value(id)) == NULL)
				PROB(v, "entity %s is not on the list's roster (/entities)", quote_json(id, q));
		}
		append(v, out, id);
		jp_pop(v, old);
	}
	if (v->kind == QD_KIND_WHITELIST && json_array_size(out) == 0 && json_array_size(arr) == 0)
		PROB(v, "a whitelist entry must name at least one entity");
	jp_pop(v, base);
	json_decref(seen);
	return out ? out : json_null();
}

static json_t *waives(struct vctx *v, json_t *in)
{
	json_t *arr = array_field(v, in, "waives", false);
	json_t *out = new_array(v);
	json_t *val;
	size_t j, old, base = jp_key(v, "waives");
	char q[QBUF];

	json_array_foreach(arr, j, val) {
		bool dup = false;

		old = jp_idx(v, j);
		if (check_string(v, val, "waives", true, WAIVE_MAX)) {
			/* Waiver lists are a handful of codes: a linear scan is enough. */
			for (size_t k = 0; k < j && !dup; k++) {
				json_t *o = json_array_get(arr, k);

				dup = json_is_string(o) && json_equal(o, val);
			}
			if (dup)
				PROB(v, "waiver %s is listed twice", quote_json(val, q));
			append(v, out, share(v, val));
		}
		jp_pop(v, old);
	}
	jp_pop(v, base);
	return out ? out : json_null();
}

static json_t *conditions(struct vctx *v, json_t *in)
{
	static const char *const keys[] = { "type", "text", NULL };
	static const char *const types[] = { "remark", "note" };
	json_t *arr = array_field(v, in, "conditions", false);
	json_t *out = new_array(v);
	json_t *val;
	size_t j, old, base = jp_key(v, "conditions");

	json_array_foreach(arr, j, val) {
		json_t *c, *t;

		old = jp_idx(v, j);
		if (!json_is_object(val)) {
			PROB(v, "expected an object for a condition, got %s", type_name(val));
			jp_pop(v, old);
			continue;
		}
		check_keys(v, val, keys);
		c = new_object(v);
		enum_field(v, val, "type", types, 2, -1, &t);
		put(v, c, "type", t);
		put(v, c, "text", str_field(v, val, "text", true, STR_MAX, NULL));
		append(v, out, c);
		jp_pop(v, old);
	}
	jp_pop(v, base);
	return out ? out : json_null();
}

/* Round to the REAL_DIGITS significant digits the dump writes, so the
 * canonical json_t holds exactly the number its bytes say. */
static double real15(double x)
{
	char buf[40];

	snprintf(buf, sizeof(buf), "%.*g", REAL_DIGITS, x);
	return strtod(buf, NULL);
}

static json_t *quantity(struct vctx *v, json_t *in)
{
	static const char *const keys[] = { "limit", "unit", NULL };
	json_t *val = json_object_get(in, "quantity");
	json_t *c, *lim;
	size_t old;

	if (val == NULL || json_is_null(val))
		return json_null();
	old = jp_key(v, "quantity");
	if (!json_is_object(val)) {
		PROB(v, "expected an object for \"quantity\" ({\"limit\", \"unit\"}), got %s",
		     type_name(val));
		jp_pop(v, old);
		return json_null();
	}
	check_keys(v, val, keys);
	c = new_object(v);
	lim = json_object_get(val, "limit");
	if (lim == NULL || json_is_null(lim)) {
		PROB_KEY(v, "limit", "\"limit\" is required when \"quantity\" is given");
		put(v, c, "limit", json_null());
	} else if (!json_is_number(lim)) {
		PROB_KEY(v, "limit", "expected a number for \"limit\", got %s", type_name(lim));
		put(v, c, "limit", json_null());
	} else if (json_number_value(lim) <= 0) {
		PROB_KEY(v, "limit", "\"limit\" must be greater than 0, not %g", json_number_value(lim));
		put(v, c, "limit", json_null());
	} else {
		/* Keep integer or real as written: 500 must not become 500.0. */
		put(v, c, "limit", json_is_integer(lim) ? json_integer(json_integer_value(lim))
							: json_real(real15(json_real_value(lim))));
	}
	put(v, c, "unit", str_field(v, val, "unit", true, STR_MAX, NULL));
	jp_pop(v, old);
	return c;
}

/* The entry's clause references: at least one, unique, each defined. */
static json_t *entry_clauses(struct vctx *v, json_t *in, qd_entry *e)
{
	json_t *arr = array_field(v, in, "clauses", true);
	json_t *out = new_array(v);
	json_t *val;
	size_t j, old, base = jp_key(v, "clauses");
	char q[QBUF];

	if (arr != NULL && json_array_size(arr) == 0)
		PROB(v, "an entry must cite at least one clause");
	if (arr != NULL && json_array_size(arr) > 0) {
		e->clauses = calloc(json_array_size(arr), sizeof(*e->clauses));
		if (e->clauses == NULL)
			v->oom = true;
	}
	json_array_foreach(arr, j, val) {
		json_t *idx;
		bool dup = false;

		old = jp_idx(v, j);
		if (!check_string(v, val, "clauses", true, STR_MAX)) {
			jp_pop(v, old);
			continue;
		}
		for (size_t k = 0; k < j && !dup; k++)
			dup = json_equal(json_array_get(arr, k), val);
		idx = json_object_get(v->clause_ids, json_string_value(val));
		if (dup)
			PROB(v, "clause %s is cited twice", quote_json(val, q));
		else if (idx == NULL || strlen(json_string_value(val)) != json_string_length(val))
			PROB(v, "clause %s is not defined in /clauses", quote_json(val, q));
		else if (e->clauses != NULL)
			e->clauses[e->n_clauses++] = (size_t)json_integer_value(idx);
		append(v, out, share(v, val));
		jp_pop(v, old);
	}
	jp_pop(v, base);
	return out ? out : json_null();
}

static json_t *entry(struct vctx *v, json_t *in, size_t i, qd_entry *e)
{
	static const char *const keys[] = {
		"id", "code", "ciq", "name", "spec", "effect", "entities", "valid_from", "valid_to",
		"status", "waives", "conditions", "quantity", "clauses", "batch", NULL,
	};
	json_t *c, *code, *ciq, *t;
	bool code_ok = false;
	char q[QBUF], q2[QBUF];

	if (!json_is_object(in)) {
		PROB(v, "expected an object for an entry, got %s", type_name(in));
		return json_null();
	}
	check_keys(v, in, keys);
	c = new_object(v);
	put(v, c, "id", id_field(v, in, v->entry_ids, "entry", "entries", i));

	t = str_field(v, in, "code", true, STR_MAX, &code);
	if (code != NULL) {
		const char *why = NULL;

		if (qd_code_parse_entry(json_string_value(code), json_string_length(code),
					&e->code, &why) == 0) {
			code_ok = true;
			json_decref(t);
			t = json_string(e->code.digits);
		} else {
			/* Every code.c message starts with "code ": splice the value in. */
			PROB_KEY(v, "code", "code %s %s", quote_json(code, q), why + 5);
		}
	}
	put(v, c, "code", t);

	t = str_field(v, in, "ciq", false, STR_MAX, &ciq);
	if (ciq != NULL) {
		const char *why = NULL;

		if (qd_ciq_parse(json_string_value(ciq), json_string_length(ciq), e->code.ciq, &why) != 0)
			PROB_KEY(v, "ciq", "ciq %s is invalid: %s", quote_json(ciq, q), why);
		else if (code_ok && e->code.len != QD_CODE_MAX)
			PROB_KEY(v, "ciq", "ciq %s needs a 10-digit code; code %s has %u digits",
				 quote_json(ciq, q), quote_json(code, q2), e->code.len);
	}
	put(v, c, "ciq", t);

	put(v, c, "name", name_field(v, in, "name"));
	put(v, c, "spec", str_field(v, in, "spec", false, STR_MAX, NULL));
	e->effect = (enum qd_effect)enum_field(v, in, "effect", effect_names, 2, QD_EFFECT_INCLUDE, &t);
	put(v, c, "effect", t);
	put(v, c, "entities", entry_entities(v, in));
	window_fields(v, in, c, &e->valid_from, &e->valid_to);
	e->status = (enum qd_status)enum_field(v, in, "status", status_names, 3, QD_STATUS_ACTIVE, &t);
	put(v, c, "status", t);
	put(v, c, "waives", waives(v, in));
	put(v, c, "conditions", conditions(v, in));
	put(v, c, "quantity", quantity(v, in));
	put(v, c, "clauses", entry_clauses(v, in, e));
	put(v, c, "batch", str_field(v, in, "batch", false, STR_MAX, NULL));
	return c;
}

/* Walk one top-level array: body sees the element el_ at index i_ (with
 * the path extended by "/i_") and sets res_, its canonical form; the
 * results go to a new array stored under key in canon. */
#define WALK(v, arr, key, canon, body)                                   \
	do {                                                             \
		json_t *out_ = new_array(v);                             \
		size_t base_ = jp_key((v), (key));                       \
		size_t i_;                                               \
		json_t *el_;                                             \
		json_array_foreach((arr), i_, el_) {                     \
			size_t old_ = jp_idx((v), i_);                   \
			json_t *res_;                                    \
			body;                                            \
			append((v), out_, res_);                         \
			jp_pop((v), old_);                               \
		}                                                        \
		jp_pop((v), base_);                                      \
		put((v), (canon), (key), out_ ? out_ : json_null());     \
	} while (0)

bool qd_list_id_valid(const char *s)
{
	size_t n;

	if (s == NULL || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	n = strlen(s);
	if (n > QD_LIST_ID_MAX)
		return false;
	for (size_t i = 1; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	}
	return true;
}

static void list_field(struct vctx *v, json_t *root, json_t *canon, const char *expect_list)
{
	json_t *val, *t = str_field(v, root, "list", true, STR_MAX, &val);
	char q[QBUF], q2[QBUF];

	if (val != NULL) {
		if (strlen(json_string_value(val)) != json_string_length(val) ||
		    !qd_list_id_valid(json_string_value(val)))
			PROB_KEY(v, "list", "list id %s is not valid: expected a lowercase letter, then "
				 "at most 47 lowercase letters, digits or '-'", quote_json(val, q));
		else if (expect_list != NULL && strcmp(expect_list, json_string_value(val)) != 0)
			PROB_KEY(v, "list", "list id %s does not match the list being loaded, %s",
				 quote_json(val, q), qd_quote(expect_list, strlen(expect_list), q2));
	}
	put(v, canon, "list", t);
}

static void free_parts(qd_listdoc *doc)
{
	if (doc == NULL)
		return;
	for (size_t i = 0; i < doc->n_entries; i++) {
		free(doc->entries[i].entities);
		free(doc->entries[i].clauses);
	}
	free(doc->entries);
	free(doc->members);
	free(doc->clauses);
	if (doc->arena != NULL)
		qd_jarena_free(doc->arena);
	else
		json_decref(doc->json);
	free(doc);
}

/* Point the borrowed fields of doc at its canonical json; the arrays of
 * entity pointers are allocated here, once everything is known valid. */
static int link_doc(qd_listdoc *doc)
{
	json_t *clauses = json_object_get(doc->json, "clauses");
	json_t *members = json_object_get(doc->json, "entities");
	json_t *entries = json_object_get(doc->json, "entries");

	doc->list = json_string_value(json_object_get(doc->json, "list"));
	for (size_t i = 0; i < doc->n_clauses; i++) {
		doc->clauses[i].json = json_array_get(clauses, i);
		doc->clauses[i].id = json_string_value(json_object_get(doc->clauses[i].json, "id"));
	}
	for (size_t i = 0; i < doc->n_members; i++) {
		doc->members[i].json = json_array_get(members, i);
		doc->members[i].id = json_string_value(json_object_get(doc->members[i].json, "id"));
	}
	for (size_t i = 0; i < doc->n_entries; i++) {
		qd_entry *e = &doc->entries[i];
		json_t *ents;

		e->json = json_array_get(entries, i);
		e->id = json_string_value(json_object_get(e->json, "id"));
		ents = json_object_get(e->json, "entities");
		e->n_entities = json_array_size(ents);
		if (e->n_entities > 0) {
			e->entities = calloc(e->n_entities, sizeof(*e->entities));
			if (e->entities == NULL)
				return QD_ENOMEM;
			for (size_t j = 0; j < e->n_entities; j++)
				e->entities[j] = json_string_value(json_array_get(ents, j));
		}
	}
	return 0;
}

static void *alloc_n(struct vctx *v, size_t n, size_t size)
{
	void *p;

	if (n == 0)
		return NULL;
	p = calloc(n, size);
	if (p == NULL)
		v->oom = true;
	return p;
}

/* The one validator behind qd_listdoc_parse and qd_listdoc_from_json.
 * arena is the calling thread's current arena (or NULL); on success the
 * document takes it over.  copy_strings: see struct vctx. */
static int validate(json_t *root, const char *expect_list, qd_listdoc **out, qd_problems *problems,
		    qd_jarena *arena, bool copy_strings)
{
	static const char *const keys[] = {
		"list", "kind", "title", "issuer", "published", "source", "clauses", "entities",
		"entries", NULL,
	};
	struct vctx v = { .p = problems, .copy_strings = copy_strings, .arena = arena != NULL };
	size_t before = qd_problems_total(problems);
	json_t *canon = NULL, *t, *clauses, *members, *entries;
	qd_listdoc *doc = NULL;
	qd_date published;
	int kind, rc;

	*out = NULL;
	jp_putn(&v, "", 0);
	if (!json_is_object(root)) {
		PROB(&v, "a list document must be a JSON object, not %s", type_name(root));
		rc = QD_EINVAL;
		goto out;
	}
	v.clause_ids = json_object();
	v.roster = json_object();
	v.entry_ids = json_object();
	canon = json_object();
	doc = calloc(1, sizeof(*doc));
	if (v.clause_ids == NULL || v.roster == NULL || v.entry_ids == NULL || canon == NULL ||
	    doc == NULL) {
		rc = QD_ENOMEM;
		goto out;
	}
	check_keys(&v, root, keys);
	list_field(&v, root, canon, expect_list);
	kind = enum_field(&v, root, "kind", kind_names, 3, -1, &t);
	v.kind = kind < 0 ? 0 : (enum qd_kind)kind;
	put(&v, canon, "kind", t);
	put(&v, canon, "title", name_field(&v, root, "title"));
	put(&v, canon, "issuer", str_field(&v, root, "issuer", false, STR_MAX, NULL));
	date_field(&v, root, "published", QD_DATE_MIN, &published, &t);
	put(&v, canon, "published", t);
	put(&v, canon, "source", str_field(&v, root, "source", false, STR_MAX, NULL));

	clauses = array_field(&v, root, "clauses", true);
	if (clauses != NULL && json_array_size(clauses) == 0)
		PROB_KEY(&v, "clauses", "a list needs at least one clause for its entries to cite");
	doc->clauses = alloc_n(&v, json_array_size(clauses), sizeof(*doc->clauses));
	doc->n_clauses = doc->clauses ? json_array_size(clauses) : 0;
	WALK(&v, clauses, "clauses", canon, res_ = clause(&v, el_, i_));

	members = array_field(&v, root, "entities", false);
	v.n_roster = json_array_size(members);
	doc->members = alloc_n(&v, v.n_roster, sizeof(*doc->members));
	doc->n_members = doc->members ? v.n_roster : 0;
	WALK(&v, members, "entities", canon,
	     qd_member scratch_;
	     res_ = member(&v, el_, i_, doc->members ? &doc->members[i_] : &scratch_));

	entries = array_field(&v, root, "entries", true);
	doc->entries = alloc_n(&v, json_array_size(entries), sizeof(*doc->entries));
	doc->n_entries = doc->entries ? json_array_size(entries) : 0;
	WALK(&v, entries, "entries", canon,
	     qd_entry scratch_ = { 0 };
	     res_ = entry(&v, el_, i_, doc->entries ? &doc->entries[i_] : &scratch_);
	     if (!doc->entries) free(scratch_.clauses));

	if (v.oom) {
		rc = QD_ENOMEM;
		goto out;
	}
	if (qd_problems_total(problems) > before) {
		rc = QD_EINVAL;
		goto out;
	}
	doc->json = canon;
	canon = NULL;
	doc->kind = v.kind;
	rc = link_doc(doc);
	if (rc != 0)
		goto out;
	doc->arena = arena;
	*out = doc;
	doc = NULL;
out:
	if (doc != NULL && v.arena)
		doc->json = NULL;      /* the arena's owner releases it */
	free_parts(doc);
	/* In an arena these go with it: walking them to free nothing is the
	 * cost the arena is there to save. */
	if (!v.arena) {
		json_decref(canon);
		json_decref(v.entry_ids);
		json_decref(v.roster);
		json_decref(v.clause_ids);
	}
	free(v.path.s);
	return rc;
}

/* Parse and validate inside arena (the current one, or NULL). */
static int parse_into(const char *buf, size_t len, const char *expect_list,
		      qd_listdoc **out, qd_problems *problems, qd_jarena *arena)
{
	json_error_t err;
	json_t *root;
	int rc;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	if (root == NULL) {
		switch (json_error_code(&err)) {
		case json_error_out_of_memory:
			return QD_ENOMEM;
		case json_error_duplicate_key:
			/* It parsed as JSON: this breaks a loader rule, so 422, not 400. */
			qd_problems_add(problems, "", "%s (line %d, column %d)",
					err.text, err.line, err.column);
			return QD_EINVAL;
		default:
			qd_problems_add(problems, "", "not valid JSON: %s (line %d, column %d)",
					err.text, err.line, err.column);
			return QD_ESYNTAX;
		}
	}
	rc = validate(root, expect_list, out, problems, arena, false);
	/* In an arena the parsed tree stays until the arena goes: the
	 * canonical tree shares its strings. */
	if (arena == NULL)
		json_decref(root);
	return rc;
}

int qd_listdoc_parse(const char *buf, size_t len, const char *expect_list,
		     qd_listdoc **out, qd_problems *problems)
{
	qd_problems scratch;
	int rc;

	qd_jarena *arena, *prev;

	*out = NULL;
	/* A caller that wants only the verdict may pass no collection. */
	qd_problems_init(&scratch);
	arena = qd_jarena_new();
	prev = qd_jarena_enter(arena);
	rc = parse_into(buf, len, expect_list, out, problems ? problems : &scratch, arena);
	qd_jarena_leave(prev);
	if (*out == NULL)
		qd_jarena_free(arena);
	qd_problems_free(&scratch);
	return rc;
}

/* Validate doc into arena (NULL: none); copy_strings as in struct vctx. */
static int from_json(json_t *doc, const char *expect_list, qd_listdoc **out,
		     qd_problems *problems, qd_jarena *arena, bool copy_strings)
{
	qd_problems scratch;
	qd_jarena *prev;
	int rc;

	*out = NULL;
	qd_problems_init(&scratch);
	if (doc == NULL) {
		qd_problems_add(problems ? problems : &scratch, "", "no document");
		rc = QD_EINVAL;
	} else {
		prev = qd_jarena_enter(arena);
		rc = validate(doc, expect_list, out, problems ? problems : &scratch, arena,
			      copy_strings);
		qd_jarena_leave(prev);
	}
	qd_problems_free(&scratch);
	return rc;
}

int qd_listdoc_from_json(json_t *doc, const char *expect_list,
			 qd_listdoc **out, qd_problems *problems)
{
	/* The caller's tree is not in the new arena, and the caller frees it:
	 * the canonical tree must not share its strings. */
	qd_jarena *arena = qd_jarena_new();
	int rc = from_json(doc, expect_list, out, problems, arena, arena != NULL);

	if (*out == NULL)
		qd_jarena_free(arena);
	return rc;
}

int qd_listdoc_from_arena(json_t *doc, qd_jarena *arena, const char *expect_list,
			  qd_listdoc **out, qd_problems *problems)
{
	return from_json(doc, expect_list, out, problems, arena, false);
}

char *qd_listdoc_entry_json(const qd_listdoc *doc, size_t i, size_t *len)
{
	qd_buf b;

	qd_buf_init(&b);
	/* An entry renders to a few hundred bytes: one allocation, mostly. */
	qd_buf_reserve(&b, 1024);
	if (qd_json_write(&b, doc->entries[i].json, REAL_DIGITS) != 0) {
		qd_buf_free(&b);
		return NULL;
	}
	return qd_buf_steal(&b, len);
}

char *qd_listdoc_dump_with(const qd_listdoc *doc, char *const *entry_json, const size_t *entry_len,
			   size_t *len)
{
	/* The header: the document without "entries", which is its last key. */
	json_t *head = json_object();
	const char *key;
	json_t *val;
	char *h = NULL, *r = NULL;
	size_t hl, total, o;

	if (head == NULL)
		return NULL;
	json_object_foreach(doc->json, key, val) {
		if (strcmp(key, "entries") != 0 && json_object_set(head, key, val) != 0)
			goto out;
	}
	h = json_dumps(head, JSON_INDENT(2) | JSON_REAL_PRECISION(REAL_DIGITS));
	if (h == NULL)
		goto out;
	hl = strlen(h);
	/* h ends "\n}"; the entries go before that brace. */
	if (hl < 2 || h[hl - 1] != '}')
		goto out;
	hl -= 2;
	total = hl + 32;
	for (size_t i = 0; i < doc->n_entries; i++)
		total += entry_len[i] + 6;
	r = malloc(total);
	if (r == NULL)
		goto out;
	memcpy(r, h, hl);
	o = hl;
	o += (size_t)sprintf(r + o, "%s\n  \"entries\": [", hl > 1 ? "," : "");
	for (size_t i = 0; i < doc->n_entries; i++) {
		memcpy(r + o, i ? ",\n    " : "\n    ", i ? 6 : 5);
		o += i ? 6 : 5;
		memcpy(r + o, entry_json[i], entry_len[i]);
		o += entry_len[i];
	}
	o += (size_t)sprintf(r + o, "%s]\n}\n", doc->n_entries ? "\n  " : "");
	if (len)
		*len = o;
out:
	free(h);
	json_decref(head);
	return r;
}

char *qd_listdoc_dump(const qd_listdoc *doc, size_t *len)
{
	size_t n = doc->n_entries;
	char **ej = calloc(n ? n : 1, sizeof *ej);
	size_t *el = calloc(n ? n : 1, sizeof *el);
	char *r = NULL;

	if (ej == NULL || el == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)
		if ((ej[i] = qd_listdoc_entry_json(doc, i, &el[i])) == NULL)
			goto out;
	r = qd_listdoc_dump_with(doc, ej, el, len);
out:
	if (ej != NULL)
		for (size_t i = 0; i < n; i++)
			free(ej[i]);
	free(ej);
	free(el);
	return r;
}

void qd_listdoc_free(qd_listdoc *doc)
{
	free_parts(doc);
}

const char *qd_kind_name(enum qd_kind k)
{
	return (k == QD_KIND_POSITIVE || k == QD_KIND_WHITELIST) ? kind_names[k] : "unknown";
}

const char *qd_status_name(enum qd_status s)
{
	return ((unsigned)s < 3) ? status_names[s] : "unknown";
}

const char *qd_effect_name(enum qd_effect e)
{
	return ((unsigned)e < 2) ? effect_names[e] : "unknown";
}
