/* qingdan — the list document: parsing, validation, canonical form.
 *
 * One validator walks a json_t (parsed or stored), reports every violation
 * with its JSON Pointer, and builds the canonical document as it goes: new
 * objects with every field in the fixed order of schema/list.schema.json.
 * The qd_listdoc is handed out only when no violation was found, so
 * everything it borrows points into a canonical document that passed. */
#include <stdio.h>

#include "qingdan/err.h"
#include "qingdan/jsonw.h"

#include "listdoc_int.h"

const char *const qd_ld_kind_names[3] = { NULL, "positive", "whitelist" };
const char *const qd_ld_status_names[3] = { "active", "suspended", "revoked" };
const char *const qd_ld_effect_names[2] = { "include", "exclude" };

/* Walk one top-level array: body sees the element el_ at index i_ (with
 * the path extended by "/i_") and sets res_, its canonical form; the
 * results go to a new array stored under key in canon. */
#define WALK(v, arr, key, canon, body)                                   \
	do {                                                             \
		json_t *out_ = new_array(v);                             \
		size_t base_ = qd_ld_jp_key((v), (key));                 \
		size_t i_;                                               \
		json_t *el_;                                             \
		json_array_foreach((arr), i_, el_) {                     \
			size_t old_ = qd_ld_jp_idx((v), i_);             \
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
	json_t *val, *t = qd_ld_str_field(v, root, "list", true, STR_MAX, &val);
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
	qd_ld_jp_putn(&v, "", 0);
	if (!json_is_object(root)) {
		PROB(&v, "a list document must be a JSON object, not %s", qd_ld_type_name(root));
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
	qd_ld_check_keys(&v, root, keys);
	list_field(&v, root, canon, expect_list);
	kind = qd_ld_enum_field(&v, root, "kind", qd_ld_kind_names, 3, -1, &t);
	v.kind = kind < 0 ? 0 : (enum qd_kind)kind;
	put(&v, canon, "kind", t);
	put(&v, canon, "title", qd_ld_name_field(&v, root, "title"));
	put(&v, canon, "issuer", qd_ld_str_field(&v, root, "issuer", false, STR_MAX, NULL));
	qd_ld_date_field(&v, root, "published", QD_DATE_MIN, &published, &t);
	put(&v, canon, "published", t);
	put(&v, canon, "source", qd_ld_str_field(&v, root, "source", false, STR_MAX, NULL));

	clauses = qd_ld_array_field(&v, root, "clauses", true);
	if (clauses != NULL && json_array_size(clauses) == 0)
		PROB_KEY(&v, "clauses", "a list needs at least one clause for its entries to cite");
	doc->clauses = alloc_n(&v, json_array_size(clauses), sizeof(*doc->clauses));
	doc->n_clauses = doc->clauses ? json_array_size(clauses) : 0;
	WALK(&v, clauses, "clauses", canon, res_ = qd_ld_clause(&v, el_, i_));

	members = qd_ld_array_field(&v, root, "entities", false);
	v.n_roster = json_array_size(members);
	doc->members = alloc_n(&v, v.n_roster, sizeof(*doc->members));
	doc->n_members = doc->members ? v.n_roster : 0;
	WALK(&v, members, "entities", canon,
	     qd_member scratch_;
	     res_ = qd_ld_member(&v, el_, i_, doc->members ? &doc->members[i_] : &scratch_));

	entries = qd_ld_array_field(&v, root, "entries", true);
	doc->entries = alloc_n(&v, json_array_size(entries), sizeof(*doc->entries));
	doc->n_entries = doc->entries ? json_array_size(entries) : 0;
	WALK(&v, entries, "entries", canon,
	     qd_entry scratch_ = { 0 };
	     res_ = qd_ld_entry(&v, el_, i_, doc->entries ? &doc->entries[i_] : &scratch_);
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
	char *p = qd_buf_steal(&b, len);
	/* A load keeps every entry's rendering until it commits: give back
	 * the growth slack (often most of the block for a small entry). */
	char *fit = p ? realloc(p, *len + 1) : NULL;
	return fit ? fit : p;
}

char *qd_listdoc_dump_head(const qd_listdoc *doc, size_t *len)
{
	/* The header: the document without "entries", which is its last key. */
	json_t *head = json_object();
	const char *key;
	json_t *val;
	char *h = NULL, *r = NULL;
	qd_buf b;
	qd_buf_init(&b);

	if (head == NULL)
		return NULL;
	json_object_foreach(doc->json, key, val) {
		if (strcmp(key, "entries") != 0 && json_object_set(head, key, val) != 0)
			goto out;
	}
	h = json_dumps(head, JSON_INDENT(2) | JSON_REAL_PRECISION(REAL_DIGITS));
	if (h == NULL)
		goto out;
	size_t hl = strlen(h);
	/* h ends "\n}"; the entries go before that brace. */
	if (hl < 2 || h[hl - 1] != '}')
		goto out;
	hl -= 2;
	qd_buf_add(&b, h, hl);
	qd_buf_puts(&b, hl > 1 ? ",\n  \"entries\": [" : "\n  \"entries\": [");
	r = qd_buf_steal(&b, len);
out:
	qd_buf_free(&b);
	free(h);
	json_decref(head);
	return r;
}

const char *qd_listdoc_dump_sep(size_t i)
{
	return i ? ",\n    " : "\n    ";
}

const char *qd_listdoc_dump_tail(size_t n_entries)
{
	return n_entries ? "\n  ]\n}\n" : "]\n}\n";
}

char *qd_listdoc_dump_with(const qd_listdoc *doc, char *const *entry_json, const size_t *entry_len,
			   size_t *len)
{
	size_t hl;
	char *h = qd_listdoc_dump_head(doc, &hl);
	if (h == NULL)
		return NULL;
	size_t total = hl + 16;
	for (size_t i = 0; i < doc->n_entries; i++)
		total += entry_len[i] + 6;
	/* One allocation of the final size: the head is copied into it
	 * once, and a large document is not grown by doubling. */
	char *r = malloc(total);
	if (r == NULL) {
		free(h);
		return NULL;
	}
	memcpy(r, h, hl);
	free(h);
	size_t o = hl;
	for (size_t i = 0; i < doc->n_entries; i++) {
		const char *sep = qd_listdoc_dump_sep(i);
		size_t sl = strlen(sep);
		memcpy(r + o, sep, sl);
		o += sl;
		memcpy(r + o, entry_json[i], entry_len[i]);
		o += entry_len[i];
	}
	const char *tail = qd_listdoc_dump_tail(doc->n_entries);
	size_t tl = strlen(tail);
	memcpy(r + o, tail, tl + 1);
	o += tl;
	if (len)
		*len = o;
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
	return (k == QD_KIND_POSITIVE || k == QD_KIND_WHITELIST) ? qd_ld_kind_names[k] : "unknown";
}

const char *qd_status_name(enum qd_status s)
{
	return ((unsigned)s < 3) ? qd_ld_status_names[s] : "unknown";
}

const char *qd_effect_name(enum qd_effect e)
{
	return ((unsigned)e < 2) ? qd_ld_effect_names[e] : "unknown";
}
