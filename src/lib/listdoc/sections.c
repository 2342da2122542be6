/* qingdan — the list document's sections: clauses, roster members and
 * entries, with the parts of an entry (its entities, waivers, conditions,
 * quantity and clause references). */
#include <stdio.h>

#include "listdoc_int.h"

/* The clause's id, which no earlier clause may have. */
static json_t *clause_id(struct vctx *v, json_t *in, size_t i)
{
	json_t *val, *canon = qd_ld_id_field(v, in, &val);
	json_t *prev;

	if (val == NULL)
		return canon;
	prev = json_object_get(v->clause_ids, json_string_value(val));
	if (prev != NULL)
		qd_ld_id_taken(v, val, "clause", "clauses", (size_t)json_integer_value(prev));
	else if (json_object_set_new(v->clause_ids, json_string_value(val),
				     json_integer((json_int_t)i)) != 0)
		v->oom = true;
	return canon;
}

/* The entry's id, which no earlier entry may have; a new one is copied
 * into the document's pool (e->id) and remembered with its index. */
static json_t *entry_id(struct vctx *v, json_t *in, size_t i, qd_entry *e)
{
	json_t *val, *canon = qd_ld_id_field(v, in, &val);
	uint32_t prev;
	const char *s;
	size_t n;
	char *copy;

	if (val == NULL)
		return canon;
	if (v->defer_ids) {
		v->id_val = val;
		return canon;
	}
	s = json_string_value(val);
	n = json_string_length(val);
	if (qd_idmap_get(&v->entry_ids, s, n, &prev)) {
		qd_ld_id_taken(v, val, "entry", "entries", prev);
		return canon;
	}
	copy = qd_pool_strndup(v->doc->text, s, n);
	e->id = copy;
	if (copy == NULL || !qd_idmap_put(&v->entry_ids, copy, n, (uint32_t)i))
		v->oom = true;
	return canon;
}

json_t *qd_ld_clause(struct vctx *v, json_t *in, size_t i)
{
	static const char *const keys[] = { "id", "document", "article", "title", "text", "url", NULL };
	json_t *c;

	if (!json_is_object(in)) {
		PROB(v, "expected an object for a clause, got %s", qd_ld_type_name(in));
		return json_null();
	}
	qd_ld_check_keys(v, in, keys);
	c = new_object(v);
	put(v, c, "id", clause_id(v, in, i));
	put(v, c, "document", qd_ld_str_field(v, in, "document", true, STR_MAX, NULL));
	put(v, c, "article", qd_ld_str_field(v, in, "article", true, STR_MAX, NULL));
	put(v, c, "title", qd_ld_str_field(v, in, "title", false, STR_MAX, NULL));
	put(v, c, "text", qd_ld_str_field(v, in, "text", true, TEXT_MAX, NULL));
	put(v, c, "url", qd_ld_str_field(v, in, "url", false, STR_MAX, NULL));
	return c;
}

json_t *qd_ld_member(struct vctx *v, json_t *in, size_t i, qd_member *m)
{
	static const char *const keys[] = { "id", "name", "status", "valid_from", "valid_to", NULL };
	json_t *c, *id = NULL, *val, *st;
	size_t old;

	if (!json_is_object(in)) {
		PROB(v, "expected an object for an entity, got %s", qd_ld_type_name(in));
		return json_null();
	}
	qd_ld_check_keys(v, in, keys);
	c = new_object(v);
	val = json_object_get(in, "id");
	if (val == NULL || json_is_null(val)) {
		PROB_KEY(v, "id", "\"id\" is required");
	} else {
		old = qd_ld_jp_key(v, "id");
		id = qd_ld_entity_id(v, val);
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
	put(v, c, "name", qd_ld_name_field(v, in, "name"));
	m->status = (enum qd_status)qd_ld_enum_field(v, in, "status", qd_ld_status_names, 3, QD_STATUS_ACTIVE, &st);
	put(v, c, "status", st);
	qd_ld_window_fields(v, in, c, &m->valid_from, &m->valid_to);
	return c;
}

/* The entry's "entities": normalised, unique, on the roster when there is
 * one, and at least one for a whitelist. */
static json_t *entry_entities(struct vctx *v, json_t *in)
{
	json_t *arr = qd_ld_array_field(v, in, "entities", false);
	json_t *out = new_array(v);
	json_t *seen = NULL;
	json_t *val;
	size_t j, old, base;
	char q[QBUF];

	/* Most entries name zero or one entity: skip the set for those. */
	if (json_array_size(arr) > 1 && (seen = json_object()) == NULL)
		v->oom = true;
	base = qd_ld_jp_key(v, "entities");
	json_array_foreach(arr, j, val) {
		json_t *id;
		json_t *prev;

		old = qd_ld_jp_idx(v, j);
		id = qd_ld_entity_id(v, val);
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

/* Arrays of strings up to this long are checked for repeats by comparing
 * each value with those before it: most entries cite a clause or two and
 * waive a code or two, and a set would cost more than it saves. */
#define DUP_SCAN 8

/* Has the validated string val, element j of arr, come before in arr?
 * Earlier elements equal to val are valid too, so a set of the valid
 * ones (*set, made on first use; the caller releases it) answers for a
 * long array in constant time, keeping a long array linear, not
 * quadratic, to check. */
static bool repeated(struct vctx *v, json_t **set, json_t *arr, size_t j, json_t *val)
{
	const char *s = json_string_value(val);

	if (json_array_size(arr) <= DUP_SCAN) {
		for (size_t k = 0; k < j; k++)
			if (json_equal(json_array_get(arr, k), val))
				return true;
		return false;
	}
	if (*set == NULL && (*set = json_object()) == NULL) {
		v->oom = true;
		return false;
	}
	if (json_object_get(*set, s) != NULL)
		return true;
	if (json_object_set_new(*set, s, json_null()) != 0)
		v->oom = true;
	return false;
}

static json_t *waives(struct vctx *v, json_t *in)
{
	json_t *arr = qd_ld_array_field(v, in, "waives", false);
	json_t *out = new_array(v);
	json_t *seen = NULL;
	json_t *val;
	size_t j, old, base = qd_ld_jp_key(v, "waives");
	char q[QBUF];

	json_array_foreach(arr, j, val) {
		old = qd_ld_jp_idx(v, j);
		if (qd_ld_check_string(v, val, "waives", true, WAIVE_MAX)) {
			if (repeated(v, &seen, arr, j, val))
				PROB(v, "waiver %s is listed twice", quote_json(val, q));
			append(v, out, share(v, val));
		}
		jp_pop(v, old);
	}
	jp_pop(v, base);
	json_decref(seen);
	return out ? out : json_null();
}

static json_t *conditions(struct vctx *v, json_t *in)
{
	static const char *const keys[] = { "type", "text", NULL };
	static const char *const types[] = { "remark", "note" };
	json_t *arr = qd_ld_array_field(v, in, "conditions", false);
	json_t *out = new_array(v);
	json_t *val;
	size_t j, old, base = qd_ld_jp_key(v, "conditions");

	json_array_foreach(arr, j, val) {
		json_t *c, *t;

		old = qd_ld_jp_idx(v, j);
		if (!json_is_object(val)) {
			PROB(v, "expected an object for a condition, got %s", qd_ld_type_name(val));
			jp_pop(v, old);
			continue;
		}
		qd_ld_check_keys(v, val, keys);
		c = new_object(v);
		qd_ld_enum_field(v, val, "type", types, 2, -1, &t);
		put(v, c, "type", t);
		put(v, c, "text", qd_ld_str_field(v, val, "text", true, STR_MAX, NULL));
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
	old = qd_ld_jp_key(v, "quantity");
	if (!json_is_object(val)) {
		PROB(v, "expected an object for \"quantity\" ({\"limit\", \"unit\"}), got %s",
		     qd_ld_type_name(val));
		jp_pop(v, old);
		return json_null();
	}
	qd_ld_check_keys(v, val, keys);
	c = new_object(v);
	lim = json_object_get(val, "limit");
	if (lim == NULL || json_is_null(lim)) {
		PROB_KEY(v, "limit", "\"limit\" is required when \"quantity\" is given");
		put(v, c, "limit", json_null());
	} else if (!json_is_number(lim)) {
		PROB_KEY(v, "limit", "expected a number for \"limit\", got %s", qd_ld_type_name(lim));
		put(v, c, "limit", json_null());
	} else if (json_number_value(lim) <= 0) {
		PROB_KEY(v, "limit", "\"limit\" must be greater than 0, not %g", json_number_value(lim));
		put(v, c, "limit", json_null());
	} else {
		/* Keep integer or real as written: 500 must not become 500.0. */
		put(v, c, "limit", json_is_integer(lim) ? json_integer(json_integer_value(lim))
							: json_real(real15(json_real_value(lim))));
	}
	put(v, c, "unit", qd_ld_str_field(v, val, "unit", true, STR_MAX, NULL));
	jp_pop(v, old);
	return c;
}

/* The entry's clause references: at least one, at most
 * QD_ENTRY_CLAUSES_MAX, unique, each defined. */
static json_t *entry_clauses(struct vctx *v, json_t *in, qd_entry *e)
{
	json_t *arr = qd_ld_array_field(v, in, "clauses", true);
	json_t *out = new_array(v);
	json_t *seen = NULL;
	json_t *val;
	size_t j, old, base = qd_ld_jp_key(v, "clauses");
	char q[QBUF];

	if (arr != NULL && json_array_size(arr) == 0)
		PROB(v, "an entry must cite at least one clause");
	if (json_array_size(arr) > QD_ENTRY_CLAUSES_MAX) {
		/* The entry record counts an entry's clauses in 16 bits; one
		 * problem for the array, not one per citation. */
		PROB(v, "an entry cites %zu clauses; at most %d allowed",
		     json_array_size(arr), QD_ENTRY_CLAUSES_MAX);
		jp_pop(v, base);
		return out ? out : json_null();
	}
	if (arr != NULL && json_array_size(arr) > v->cl_cap) {
		size_t *ncl = realloc(v->cl, json_array_size(arr) * sizeof(*ncl));

		if (ncl == NULL) {
			v->oom = true;
		} else {
			v->cl = ncl;
			v->cl_cap = json_array_size(arr);
		}
	}
	if (arr != NULL && json_array_size(arr) > 0 && json_array_size(arr) <= v->cl_cap)
		e->clauses = v->cl;
	json_array_foreach(arr, j, val) {
		json_t *idx;
		bool dup;

		old = qd_ld_jp_idx(v, j);
		if (!qd_ld_check_string(v, val, "clauses", true, STR_MAX)) {
			jp_pop(v, old);
			continue;
		}
		dup = repeated(v, &seen, arr, j, val);
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
	json_decref(seen);
	return out ? out : json_null();
}

json_t *qd_ld_entry(struct vctx *v, json_t *in, size_t i, qd_entry *e)
{
	static const char *const keys[] = {
		"id", "code", "ciq", "name", "spec", "effect", "entities", "valid_from", "valid_to",
		"status", "waives", "conditions", "quantity", "clauses", "batch",
		"identity", "aliases", "customs", NULL,
	};
	json_t *c, *code, *ciq, *t;
	enum qd_identity identity;
	long batch;
	bool code_ok = false;
	char q[QBUF], q2[QBUF];

	qd_buf_reset(&v->eterms);
	if (!json_is_object(in)) {
		PROB(v, "expected an object for an entry, got %s", qd_ld_type_name(in));
		return json_null();
	}
	qd_ld_check_keys(v, in, keys);
	c = new_object(v);
	put(v, c, "id", entry_id(v, in, i, e));

	t = qd_ld_str_field(v, in, "code", true, STR_MAX, &code);
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

	t = qd_ld_str_field(v, in, "ciq", false, STR_MAX, &ciq);
	if (ciq != NULL) {
		const char *why = NULL;

		if (qd_ciq_parse(json_string_value(ciq), json_string_length(ciq), e->code.ciq, &why) != 0)
			PROB_KEY(v, "ciq", "ciq %s is invalid: %s", quote_json(ciq, q), why);
		else if (code_ok && e->code.len != QD_CODE_MAX)
			PROB_KEY(v, "ciq", "ciq %s needs a 10-digit code; code %s has %u digits",
				 quote_json(ciq, q), quote_json(code, q2), e->code.len);
	}
	put(v, c, "ciq", t);

	put(v, c, "name", qd_ld_name_field(v, in, "name"));
	put(v, c, "spec", qd_ld_str_field(v, in, "spec", false, STR_MAX, NULL));
	identity = qd_ld_entry_identity(v, in, c);
	e->effect = (enum qd_effect)qd_ld_enum_field(v, in, "effect", qd_ld_effect_names, 2, QD_EFFECT_INCLUDE, &t);
	put(v, c, "effect", t);
	put(v, c, "entities", entry_entities(v, in));
	qd_ld_entry_customs(v, in, c);
	qd_ld_window_fields(v, in, c, &e->valid_from, &e->valid_to);
	e->status = (enum qd_status)qd_ld_enum_field(v, in, "status", qd_ld_status_names, 3, QD_STATUS_ACTIVE, &t);
	put(v, c, "status", t);
	put(v, c, "waives", waives(v, in));
	put(v, c, "conditions", conditions(v, in));
	put(v, c, "quantity", quantity(v, in));
	put(v, c, "clauses", entry_clauses(v, in, e));
	batch = qd_ld_entry_batch(v, in, c, e);
	qd_ld_entry_terms(v, c, identity, batch);
	return c;
}
