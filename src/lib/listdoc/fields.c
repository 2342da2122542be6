/* qingdan — the list document's fields: JSON Pointer tracking, messages
 * (with "did you mean" suggestions for unknown keys), and the checks of
 * scalar fields: strings, enums, dates, validity windows, ids, names,
 * arrays and entity ids. */
#include <stdio.h>

#include "listdoc_int.h"

/* ---- JSON Pointer ---------------------------------------------------- */

void qd_ld_jp_putn(struct vctx *v, const char *s, size_t n)
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
size_t qd_ld_jp_key(struct vctx *v, const char *key)
{
	size_t old = v->path.len;

	qd_ld_jp_putn(v, "/", 1);
	for (const char *k = key; *k; k++) {
		if (*k == '~')
			qd_ld_jp_putn(v, "~0", 2);
		else if (*k == '/')
			qd_ld_jp_putn(v, "~1", 2);
		else
			qd_ld_jp_putn(v, k, 1);
	}
	return old;
}

size_t qd_ld_jp_idx(struct vctx *v, size_t i)
{
	/* Every element of every entry passes here: no printf. */
	char buf[24], *p = buf + sizeof buf;
	size_t old = v->path.len;

	do
		*--p = (char)('0' + i % 10);
	while ((i /= 10) != 0);
	*--p = '/';
	qd_ld_jp_putn(v, p, (size_t)(buf + sizeof buf - p));
	return old;
}

/* ---- message helpers ------------------------------------------------- */

const char *qd_ld_type_name(const json_t *j)
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
void qd_ld_check_keys(struct vctx *v, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *val;

	size_t n = 0, at = 0;

	while (allowed[n] != NULL)
		n++;
	json_object_foreach(obj, key, val) {
		const char *best = NULL;
		size_t bestd = SUGGEST_MAX + 1;
		char q[QBUF];
		bool known = false;

		/* Documents mostly give the keys in the order allowed lists
		 * them: the search starts after the last key found. */
		for (size_t k = 0; k < n && !known; k++) {
			size_t j = (at + k) % n;

			if (strcmp(key, allowed[j]) == 0) {
				known = true;
				at = j + 1;
			}
		}
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

/* ---- scalar fields ----------------------------------------------------- */

/* Code points in the n bytes of UTF-8 at s: the bytes that do not
 * continue a sequence (jansson has checked the encoding). */
static size_t utf8_chars(const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += ((unsigned char)s[i] & 0xC0) != 0x80;
	return k;
}

/* Check that val (at the current path) is a usable string for `label`.
 * required strings must be non-empty; every string has a limit in
 * characters. */
bool qd_ld_check_string(struct vctx *v, json_t *val, const char *label, bool required, size_t max)
{
	size_t len;

	if (!json_is_string(val)) {
		PROB(v, "expected a string for \"%s\", got %s", label, qd_ld_type_name(val));
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
	/* Characters (code points), as JSON Schema's maxLength counts them:
	 * Chinese text gets the room the schema promises. */
	if (len > max && (len = utf8_chars(json_string_value(val), len)) > max) {
		PROB(v, "\"%s\" is %zu characters long; at most %zu allowed", label, len, max);
		return false;
	}
	return true;
}

/* A string field.  Returns the canonical value (new reference: a copy, or
 * null when absent or invalid); *out (if given) the validated value or NULL. */
json_t *qd_ld_str_field(struct vctx *v, json_t *obj, const char *key, bool required,
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
	old = qd_ld_jp_key(v, key);
	ok = qd_ld_check_string(v, val, key, required, max);
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
int qd_ld_enum_field(struct vctx *v, json_t *obj, const char *key, const char *const *names,
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
		old = qd_ld_jp_key(v, key);
		if (!json_is_string(val)) {
			PROB(v, "expected a string for \"%s\", got %s", key, qd_ld_type_name(val));
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
bool qd_ld_date_field(struct vctx *v, json_t *obj, const char *key, qd_date open,
		       qd_date *d, json_t **canon)
{
	json_t *val;
	char q[QBUF];
	bool ok = false;

	*d = open;
	*canon = qd_ld_str_field(v, obj, key, false, STR_MAX, &val);
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
void qd_ld_window_fields(struct vctx *v, json_t *obj, json_t *canon, qd_date *from, qd_date *to)
{
	json_t *cf, *ct;
	bool hf = qd_ld_date_field(v, obj, "valid_from", QD_DATE_MIN, from, &cf);
	bool ht = qd_ld_date_field(v, obj, "valid_to", QD_DATE_MAX, to, &ct);

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
json_t *qd_ld_id_field(struct vctx *v, json_t *obj, json_t **valid)
{
	json_t *val, *canon = qd_ld_str_field(v, obj, "id", true, STR_MAX, &val);
	char q[QBUF];

	*valid = NULL;
	if (val == NULL)
		return canon;
	if (!id_valid(json_string_value(val), json_string_length(val))) {
		PROB_KEY(v, "id", "id %s must start with a letter or digit and contain only "
			 "letters, digits, '.', '_', ':' and '-' (at most 64 characters)",
			 quote_json(val, q));
		return canon;
	}
	*valid = val;
	return canon;
}

void qd_ld_id_taken(struct vctx *v, json_t *val, const char *what, const char *section,
		    size_t prev)
{
	char q[QBUF];

	PROB_KEY(v, "id", "%s id %s is already used by /%s/%zu", what, quote_json(val, q),
		 section, prev);
}

/* A {"zh", "en"} object (title, name); required, zh required. */
json_t *qd_ld_name_field(struct vctx *v, json_t *obj, const char *key)
{
	static const char *const keys[] = { "zh", "en", NULL };
	json_t *val = json_object_get(obj, key);
	json_t *canon;
	size_t old;

	if (val == NULL || json_is_null(val)) {
		PROB_KEY(v, key, "\"%s\" is required (an object with \"zh\" and optionally \"en\")", key);
		return json_null();
	}
	old = qd_ld_jp_key(v, key);
	if (!json_is_object(val)) {
		PROB(v, "expected an object for \"%s\", got %s", key, qd_ld_type_name(val));
		jp_pop(v, old);
		return json_null();
	}
	qd_ld_check_keys(v, val, keys);
	canon = new_object(v);
	put(v, canon, "zh", qd_ld_str_field(v, val, "zh", true, STR_MAX, NULL));
	put(v, canon, "en", qd_ld_str_field(v, val, "en", false, STR_MAX, NULL));
	jp_pop(v, old);
	return canon;
}

/* An array field: returns the array (borrowed), or NULL when absent, null
 * or not an array (reported when required or of the wrong type). */
json_t *qd_ld_array_field(struct vctx *v, json_t *obj, const char *key, bool required)
{
	json_t *val = json_object_get(obj, key);

	if (val == NULL || json_is_null(val)) {
		if (required)
			PROB_KEY(v, key, "\"%s\" is required (an array)", key);
		return NULL;
	}
	if (!json_is_array(val)) {
		PROB_KEY(v, key, "expected an array for \"%s\", got %s", key, qd_ld_type_name(val));
		return NULL;
	}
	return val;
}

/* Parse an entity id at the current path; returns the normalised id as a
 * new json string, or NULL after a problem. */
json_t *qd_ld_entity_id(struct vctx *v, json_t *val)
{
	char norm[QD_ENTITY_MAX + 1];
	const char *why = NULL;
	char q[QBUF];
	json_t *res;

	if (!json_is_string(val)) {
		PROB(v, "expected a string for the entity id, got %s", qd_ld_type_name(val));
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
