/* qingdan — the list document: parsing, validation, canonical form.
 *
 * One validator walks a json_t (parsed or stored), reports every violation
 * with its JSON Pointer, and builds the canonical document as it goes: new
 * objects with every field in the fixed order of schema/list.schema.json.
 * The qd_listdoc is handed out only when no violation was found, so
 * everything it borrows points into a canonical document that passed. */
#include <stdio.h>

#include <nettle/sha2.h>

#include "qingdan/err.h"
#include "qingdan/jsonw.h"
#include "qingdan/mem.h"

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
	free(doc->entries);
	free(doc->members);
	free(doc->clauses);
	free(doc->terms);
	qd_pool_free(doc->text);
	if (doc->arena != NULL)
		qd_jarena_free(doc->arena);
	else
		json_decref(doc->json);
	free(doc);
}

/* Point the borrowed fields of doc at its canonical head. */
static void link_doc(qd_listdoc *doc)
{
	json_t *clauses = json_object_get(doc->json, "clauses");
	json_t *members = json_object_get(doc->json, "entities");

	doc->list = json_string_value(json_object_get(doc->json, "list"));
	for (size_t i = 0; i < doc->n_clauses; i++) {
		doc->clauses[i].json = json_array_get(clauses, i);
		doc->clauses[i].id = json_string_value(json_object_get(doc->clauses[i].json, "id"));
	}
	for (size_t i = 0; i < doc->n_members; i++) {
		doc->members[i].json = json_array_get(members, i);
		doc->members[i].id = json_string_value(json_object_get(doc->members[i].json, "id"));
	}
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

/* ---- building a document entry by entry ------------------------------------ */

struct qd_listdoc_builder {
	struct vctx v;
	qd_listdoc *doc;
	json_t *canon;         /* the canonical head */
	size_t before;         /* problems found before the document */
	size_t cap;            /* doc->entries allocated */
	size_t committed;      /* doc->entries faulted in ahead (mem.h) */
	bool dead;             /* not an object: nothing more to check */
	bool failed;           /* a problem was found (sticky) */
	qd_buf out;            /* one entry's rendering */
	qd_jarena *arena;      /* the head's trees live in it (NULL: malloc) */
	qd_jarena *scratch;    /* one entry's trees, reset after each (NULL: malloc) */
};

/* The id of entry val, for the id map. */
static const char *entry_id_of(const void *ctx, uint32_t val)
{
	const qd_listdoc_builder *b = ctx;

	return b->doc->entries[val].id;
}

bool qd_listdoc_find(const qd_listdoc_builder *b, const char *id, size_t *index)
{
	uint32_t v;

	if (b == NULL || !qd_idmap_get(&b->v.entry_ids, id, strlen(id), &v))
		return false;
	*index = v;
	return true;
}

bool qd_listdoc_failed(const qd_listdoc_builder *b)
{
	return b->failed || b->v.oom || qd_problems_total(b->v.p) > b->before;
}

void qd_listdoc_discard(qd_listdoc_builder *b)
{
	if (b != NULL)
		b->failed = true;
}

/* Room for n entries in all. */
static void reserve(qd_listdoc_builder *b, size_t n)
{
	qd_entry *ne;

	if (n <= b->cap || b->doc == NULL)
		return;
	ne = realloc(b->doc->entries, n * sizeof(*ne));
	if (ne == NULL) {
		b->v.oom = true;
		return;
	}
	b->doc->entries = ne;
	b->cap = n;
}

/* Keep entry e, whose canonical tree is c: its compact bytes json, its
 * entities (read from c), its clause indexes cl (e->n_clauses of them, at
 * any alignment) and its terms, all copied into the document's pool. */
static void keep_parts(qd_listdoc_builder *b, qd_entry *e, json_t *c, const char *json,
		       size_t json_len, const void *cl, const char *terms, size_t terms_len)
{
	struct vctx *v = &b->v;
	qd_pool *pool = b->doc->text;
	json_t *ents = json_object_get(c, "entities");

	e->clauses = NULL;
	e->json = qd_pool_strndup(pool, json, json_len);
	e->json_len = json_len;
	e->n_entities = json_array_size(ents);
	if (e->n_entities > 0) {
		e->entities = qd_pool_alloc(pool, e->n_entities * sizeof(*e->entities), sizeof(void *));
		for (size_t j = 0; e->entities != NULL && j < e->n_entities; j++) {
			json_t *id = json_array_get(ents, j);

			e->entities[j] = qd_pool_strndup(pool, json_string_value(id), json_string_length(id));
			if (e->entities[j] == NULL)
				v->oom = true;
		}
		if (e->entities == NULL)
			v->oom = true;
	}
	if (e->n_clauses > 0) {
		e->clauses = qd_pool_alloc(pool, e->n_clauses * sizeof(*e->clauses), sizeof(size_t));
		if (e->clauses == NULL)
			v->oom = true;
		else
			memcpy(e->clauses, cl, e->n_clauses * sizeof(*e->clauses));
	}
	if (terms_len > 0) {
		char *t = qd_pool_alloc(pool, terms_len, 1);

		if (t == NULL) {
			v->oom = true;
		} else {
			memcpy(t, terms, terms_len);
			e->terms = t;
			e->terms_len = terms_len;
		}
	}
	if (e->json == NULL)
		v->oom = true;
}

/* Keep the canonical entry c of e, just checked by b. */
static void keep_entry(qd_listdoc_builder *b, qd_entry *e, json_t *c)
{
	qd_buf_reset(&b->out);
	if (qd_json_write(&b->out, c, REAL_DIGITS) != 0 || b->out.oom) {
		e->clauses = NULL;
		b->v.oom = true;
		return;
	}
	keep_parts(b, e, c, b->out.data, b->out.len, e->clauses, b->v.eterms.data, b->v.eterms.len);
}

#define ENTRIES_AHEAD (((size_t)1 << 20) / sizeof(qd_entry))

/* The next entry's slot in the document; NULL when there is none. */
static qd_entry *next_entry(qd_listdoc_builder *b)
{
	qd_listdoc *doc = b->doc;
	size_t i;

	if (b->dead || doc == NULL)
		return NULL;
	i = doc->n_entries;
	if (i == b->cap)
		reserve(b, b->cap ? b->cap * 2 : 64);
	if (i == b->cap)
		return NULL;
	/* A big document's slots are faulted in 1 MiB at a time, ahead of
	 * their entries: one call each time instead of a fault a page (no
	 * huge pages: the array grows by realloc()). */
	if (i == b->committed) {
		size_t to = i + ENTRIES_AHEAD;

		b->committed = to < b->cap ? to : b->cap;
		qd_mem_populate(&doc->entries[i], (b->committed - i) * sizeof(doc->entries[i]));
	}
	doc->n_entries++;
	return memset(&doc->entries[i], 0, sizeof(doc->entries[i]));
}

void qd_listdoc_add(qd_listdoc_builder *b, json_t *in)
{
	struct vctx *v = &b->v;
	qd_entry *e = next_entry(b);
	qd_jarena *prev;
	size_t base, old, i;
	json_t *c;

	if (e == NULL)
		return;
	i = (size_t)(e - b->doc->entries);
	/* Each entry's trees are made and dropped here, in an arena of their
	 * own that is reset after each entry (the document's arena would keep
	 * every one of them until the document goes). */
	prev = qd_jarena_enter(b->scratch);
	base = qd_ld_jp_key(v, "entries");
	old = qd_ld_jp_idx(v, i);
	c = qd_ld_entry(v, in, i, e);
	jp_pop(v, old);
	jp_pop(v, base);
	b->failed = qd_listdoc_failed(b);
	if (!b->failed)
		keep_entry(b, e, c);
	else
		e->clauses = NULL;
	/* The walk still gives back what c holds of the caller's tree. */
	json_decref(c);
	qd_jarena_leave(prev);
	qd_jarena_reset(b->scratch);
}

/* ---- entries checked on another thread (see ahead.c) ---------------------- */

struct qd_ld_checker {
	struct vctx v;
	qd_problems p;
};

qd_ld_checker *qd_ld_checker_new(const qd_listdoc_builder *b)
{
	qd_ld_checker *k;

	if (b == NULL || b->dead || b->doc == NULL || qd_listdoc_failed(b))
		return NULL;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return NULL;
	/* The head's tables are shared, read only; what a check writes is
	 * the checker's own. */
	k->v = b->v;
	k->v.p = &k->p;
	k->v.path = (struct jp){ 0 };
	k->v.oom = false;
	memset(&k->v.entry_ids, 0, sizeof(k->v.entry_ids));
	k->v.cl = NULL;
	k->v.cl_cap = 0;
	qd_buf_init(&k->v.eterms);
	k->v.defer_ids = true;
	qd_ld_jp_putn(&k->v, "", 0);
	if (k->v.oom) {
		qd_ld_checker_free(k);
		return NULL;
	}
	return k;
}

void qd_ld_checker_free(qd_ld_checker *k)
{
	if (k == NULL)
		return;
	free(k->v.path.s);
	free(k->v.cl);
	qd_buf_free(&k->v.eterms);
	qd_problems_free(&k->p);
	free(k);
}

void qd_ld_check_entry(qd_ld_checker *k, json_t *in, size_t i, struct qd_ld_checked *r,
		       qd_buf *bytes)
{
	struct vctx *v = &k->v;
	size_t base, old;

	memset(r, 0, sizeof(*r));
	v->id_val = NULL;
	base = qd_ld_jp_key(v, "entries");
	old = qd_ld_jp_idx(v, i);
	r->c = qd_ld_entry(v, in, i, &r->e);
	jp_pop(v, old);
	jp_pop(v, base);
	r->id = v->id_val;
	r->clean = !v->oom && qd_problems_total(&k->p) == 0 && r->id != NULL;
	if (r->clean) {
		r->json_off = bytes->len;
		if (qd_json_write(bytes, r->c, REAL_DIGITS) != 0)
			r->clean = false;
		r->json_len = bytes->len - r->json_off;
		/* (An empty part may have no bytes to point at.) */
		r->terms_off = bytes->len;
		r->terms_len = v->eterms.len;
		if (r->terms_len > 0)
			qd_buf_add(bytes, v->eterms.data, r->terms_len);
		r->cl_off = bytes->len;
		if (r->e.n_clauses > 0)
			qd_buf_add(bytes, r->e.clauses, r->e.n_clauses * sizeof(*r->e.clauses));
		if (bytes->oom)
			r->clean = false;
	}
	/* e.clauses pointed into the checker's scratch. */
	r->e.clauses = NULL;
	qd_problems_free(&k->p);
	v->oom = false;
}

void qd_listdoc_add_checked(qd_listdoc_builder *b, json_t *in, const struct qd_ld_checked *r,
			    const char *bytes)
{
	struct vctx *v = &b->v;
	const char *id;
	size_t n, i;
	uint32_t prev;
	qd_entry *e;
	char *copy;

	if (r == NULL || !r->clean || b->dead || b->doc == NULL || qd_listdoc_failed(b) ||
	    qd_idmap_get(&v->entry_ids, json_string_value(r->id), json_string_length(r->id), &prev)) {
		/* A problem (maybe only that the id is taken), or nothing is
		 * kept any more: checked again in line, which reports it. */
		qd_listdoc_add(b, in);
		return;
	}
	e = next_entry(b);
	if (e == NULL)
		return;
	i = (size_t)(e - b->doc->entries);
	*e = r->e;
	id = json_string_value(r->id);
	n = json_string_length(r->id);
	copy = qd_pool_strndup(b->doc->text, id, n);
	e->id = copy;
	if (copy == NULL || !qd_idmap_put(&v->entry_ids, copy, n, (uint32_t)i))
		v->oom = true;
	keep_parts(b, e, r->c, bytes + r->json_off, r->json_len, bytes + r->cl_off,
		   bytes + r->terms_off, r->terms_len);
	b->failed = qd_listdoc_failed(b);
}

static qd_listdoc_builder *begin(json_t *root, const char *expect_list, qd_problems *problems,
				 bool copy_strings)
{
	static const char *const keys[] = {
		"list", "kind", "title", "issuer", "published", "source", "clauses", "entities",
		"entries", "valid_from", "valid_to", "superseded_by", "scope", "batches", NULL,
	};
	qd_listdoc_builder *b = calloc(1, sizeof(*b));
	struct vctx *v;
	json_t *t, *clauses, *members, *entries;
	qd_date published;
	size_t i;
	json_t *el;
	int kind;

	if (b == NULL)
		return NULL;
	v = &b->v;
	v->entry_ids.key_of = entry_id_of;
	v->entry_ids.ctx = b;
	v->p = problems;
	v->copy_strings = copy_strings;
	b->before = qd_problems_total(problems);
	qd_buf_init(&b->out);
	b->scratch = qd_jarena_new();
	qd_ld_jp_putn(v, "", 0);
	if (!json_is_object(root)) {
		PROB(v, "a list document must be a JSON object, not %s", qd_ld_type_name(root));
		b->dead = true;
		return b;
	}
	v->clause_ids = json_object();
	v->roster = json_object();
	b->canon = json_object();
	b->doc = v->doc = calloc(1, sizeof(*b->doc));
	if (b->doc != NULL)
		b->doc->text = qd_pool_new();
	if (v->clause_ids == NULL || v->roster == NULL || b->canon == NULL || b->doc == NULL ||
	    b->doc->text == NULL) {
		v->oom = true;
		b->dead = true;
		return b;
	}
	qd_ld_check_keys(v, root, keys);
	list_field(v, root, b->canon, expect_list);
	kind = qd_ld_enum_field(v, root, "kind", qd_ld_kind_names, 3, -1, &t);
	v->kind = kind < 0 ? 0 : (enum qd_kind)kind;
	put(v, b->canon, "kind", t);
	put(v, b->canon, "title", qd_ld_name_field(v, root, "title"));
	put(v, b->canon, "issuer", qd_ld_str_field(v, root, "issuer", false, STR_MAX, NULL));
	qd_ld_date_field(v, root, "published", QD_DATE_MIN, &published, &t);
	put(v, b->canon, "published", t);
	put(v, b->canon, "source", qd_ld_str_field(v, root, "source", false, STR_MAX, NULL));
	qd_ld_list_terms(v, root, b->canon);

	clauses = qd_ld_array_field(v, root, "clauses", true);
	if (clauses != NULL && json_array_size(clauses) == 0)
		PROB_KEY(v, "clauses", "a list needs at least one clause for its entries to cite");
	b->doc->clauses = alloc_n(v, json_array_size(clauses), sizeof(*b->doc->clauses));
	b->doc->n_clauses = b->doc->clauses ? json_array_size(clauses) : 0;
	WALK(v, clauses, "clauses", b->canon, res_ = qd_ld_clause(v, el_, i_));

	members = qd_ld_array_field(v, root, "entities", false);
	v->n_roster = json_array_size(members);
	b->doc->members = alloc_n(v, v->n_roster, sizeof(*b->doc->members));
	b->doc->n_members = b->doc->members ? v->n_roster : 0;
	WALK(v, members, "entities", b->canon,
	     qd_member scratch_;
	     res_ = qd_ld_member(v, el_, i_, b->doc->members ? &b->doc->members[i_] : &scratch_));
	qd_ld_batches(v, root, b->canon);

	entries = qd_ld_array_field(v, root, "entries", true);
	b->failed = qd_listdoc_failed(b);
	reserve(b, json_array_size(entries));
	json_array_foreach(entries, i, el)
		qd_listdoc_add(b, el);
	return b;
}

int qd_listdoc_finish(qd_listdoc_builder *b, qd_listdoc **out)
{
	qd_listdoc *doc;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (b == NULL)
		return QD_ENOMEM;
	doc = b->doc;
	if (b->v.oom)
		rc = QD_ENOMEM;
	else if (qd_listdoc_failed(b))
		rc = QD_EINVAL;
	else
		rc = 0;
	if (rc == 0 && out != NULL) {
		doc->json = b->canon;
		b->canon = NULL;
		doc->kind = b->v.kind;
		doc->arena = b->arena;
		b->arena = NULL;
		link_doc(doc);
		if (qd_ld_head_terms(doc) != 0) {
			rc = QD_ENOMEM;
		} else {
			*out = doc;
			doc = NULL;
		}
	}
	if (doc != NULL && b->arena != NULL)
		doc->json = NULL;      /* the arena's owner releases it */
	free_parts(doc);
	/* In an arena these go with it: walking them to free nothing is the
	 * cost the arena is there to save. */
	if (b->arena == NULL) {
		json_decref(b->canon);
		json_decref(b->v.roster);
		json_decref(b->v.clause_ids);
	}
	qd_idmap_free(&b->v.entry_ids);
	qd_ld_terms_free(&b->v);
	free(b->v.cl);
	free(b->v.path.s);
	qd_buf_free(&b->out);
	qd_jarena_free(b->scratch);
	free(b);
	return rc;
}

static qd_listdoc_builder *begin(json_t *root, const char *expect_list, qd_problems *problems,
				 bool copy_strings);

qd_listdoc_builder *qd_listdoc_begin(json_t *root, const char *expect_list, qd_problems *problems)
{
	return begin(root, expect_list, problems, false);
}

/* Validate a whole tree: its head, then each of its entries; the head in
 * arena (NULL: none), copy_strings as in struct vctx. */
static int validate(json_t *root, const char *expect_list, qd_listdoc **out, qd_problems *problems,
		    qd_jarena *arena, bool copy_strings)
{
	qd_jarena *prev = qd_jarena_enter(arena);
	qd_listdoc_builder *b = begin(root, expect_list, problems, copy_strings);

	if (b != NULL)
		b->arena = arena;
	qd_jarena_leave(prev);
	return qd_listdoc_finish(b, out);
}

/* ---- parsing ------------------------------------------------------------------ */

/* A jansson error err, found parsing buf from byte offset `at` (its line
 * and column counted from there), as the one problem of an unparsable
 * document, placed in the whole of buf. */
static int report(const char *buf, size_t at, const json_error_t *err, qd_problems *problems)
{
	int line = err->line, column = err->column;

	if (at > 0) {
		int l0, c0;

		qd_ld_line_col(buf, at, &l0, &c0);
		if (line <= 1)
			column += c0;
		line += l0 - 1;
	}
	switch (json_error_code(err)) {
	case json_error_out_of_memory:
		return QD_ENOMEM;
	case json_error_duplicate_key:
		/* It parsed as JSON: this breaks a loader rule, so 422, not 400. */
		qd_problems_add(problems, "", "%s (line %d, column %d)", err->text, line, column);
		return QD_EINVAL;
	default:
		qd_problems_add(problems, "", "not valid JSON: %s (line %d, column %d)",
				err->text, line, column);
		return QD_ESYNTAX;
	}
}

static const size_t load_flags = QD_LD_FAST_FLAGS;

/* The whole document as one tree: for what the scanner cannot follow.
 * The tree is built in arena (NULL: none), which a document takes over. */
static int parse_whole(const char *buf, size_t len, const char *expect_list,
		       qd_listdoc **out, qd_problems *problems, qd_jarena *arena)
{
	json_error_t err;
	qd_jarena *prev = qd_jarena_enter(arena);
	json_t *root = json_loadb(buf, len, load_flags, &err);
	int rc;

	qd_jarena_leave(prev);
	if (root == NULL)
		return report(buf, 0, &err, problems);
	rc = validate(root, expect_list, out, problems, arena, false);
	/* In an arena the tree goes with it, unvisited. */
	if (arena == NULL)
		json_decref(root);
	return rc;
}

/* The first entry of sc that is not JSON, reported; 0 when all parse. */
static int first_bad_entry(const char *buf, const struct qd_ld_scan *sc, qd_problems *problems)
{
	size_t pos = sc->open + 1, start, end;
	json_error_t err;
	/* Each entry's tree is dropped at once, not kept in an arena. */
	qd_jarena *prev = qd_jarena_enter(NULL);
	int rc = 0;

	while (rc == 0 && qd_ld_scan_next(buf, sc, &pos, &start, &end)) {
		json_t *e = json_loadb(buf + start, end - start, load_flags, &err);

		if (e == NULL)
			rc = report(buf, start, &err, problems);
		json_decref(e);
	}
	qd_jarena_leave(prev);
	return rc;
}

/* The document's head: buf without the elements of its entries array
 * ("entries": []), parsed.  NULL after reporting why not (*rc set). */
static json_t *parse_head(const char *buf, size_t len, const struct qd_ld_scan *sc,
			  qd_problems *problems, int *rc)
{
	size_t cut = sc->close - (sc->open + 1), hlen = len - cut;
	char *h = malloc(hlen ? hlen : 1);
	json_error_t err;
	json_t *root;
	int l0, c0, lb, cb;

	if (h == NULL) {
		*rc = QD_ENOMEM;
		return NULL;
	}
	memcpy(h, buf, sc->open + 1);
	memcpy(h + sc->open + 1, buf + sc->close, len - sc->close);
	root = json_loadb(h, hlen, load_flags, &err);
	free(h);
	if (root != NULL)
		return root;
	if ((size_t)err.position <= sc->open + 1) {
		*rc = report(buf, 0, &err, problems);
		return NULL;
	}
	/* After the array: an entry that is not JSON comes first. */
	if ((*rc = first_bad_entry(buf, sc, problems)) != 0)
		return NULL;
	/* Put the place back where it is in the whole document: the lines
	 * of the elements, and on the line of the ']' their characters. */
	qd_ld_line_col(buf, sc->open + 1, &l0, &c0);     /* up to the '[' */
	qd_ld_line_col(buf, sc->close, &lb, &cb);        /* before the ']' */
	if (err.line == l0)
		err.column += cb - c0;
	err.line += lb - l0;
	*rc = report(buf, 0, &err, problems);
	return NULL;
}

/* Move the problems of from to the end of to. */
static void move_problems(qd_problems *from, qd_problems *to)
{
	for (size_t i = 0; i < from->count; i++)
		qd_problems_add(to, from->items[i].path, "%s", from->items[i].message);
	to->omitted += from->omitted;
	qd_problems_free(from);
}

/* Parse and check a document entry by entry, its head in arena (NULL:
 * none), which the document takes over.  Problems go to a collection of
 * their own first: an entry that is not JSON makes the document
 * unparsable, and then that is its only problem. */
static int parse_entries(const char *buf, size_t len, const char *expect_list,
			 qd_listdoc **out, qd_problems *problems, qd_jarena *arena)
{
	struct qd_ld_scan sc;
	qd_problems mine;
	qd_listdoc_builder *b;
	qd_jarena *prev;
	qd_ld_ahead *ahead;
	struct qd_ld_parsed el;
	const json_error_t *err;
	json_t *root;
	int rc = 0;

	if (qd_ld_scan_entries(buf, len, &sc) != 1)
		/* No entries array to take apart (or an odd one): the document
		 * is small, or is broken where the whole parse says best. */
		return parse_whole(buf, len, expect_list, out, problems, arena);
	prev = qd_jarena_enter(arena);
	root = parse_head(buf, len, &sc, problems, &rc);
	if (root == NULL) {
		qd_jarena_leave(prev);
		qd_ld_scan_free(&sc);
		return rc;
	}
	qd_problems_init(&mine);
	b = qd_listdoc_begin(root, expect_list, &mine);
	qd_jarena_leave(prev);
	if (arena == NULL)
		json_decref(root);
	if (b != NULL) {
		b->arena = arena;
		if (!b->dead)
			reserve(b, sc.n);
	}
	/* The entries are parsed ahead, on a second thread for a big
	 * document, while this one checks and renders them. */
	ahead = b != NULL ? qd_ld_ahead_start(buf, &sc, load_flags, b) : NULL;
	if (b != NULL && ahead == NULL) {
		qd_listdoc_finish(b, NULL);
		qd_problems_free(&mine);
		qd_ld_scan_free(&sc);
		return QD_ENOMEM;
	}
	while (ahead != NULL && qd_ld_ahead_next(ahead, &el, &err)) {
		if (el.e == NULL) {
			rc = report(buf, el.start, err, problems);
			qd_ld_ahead_end(ahead);
			qd_listdoc_finish(b, NULL);
			qd_problems_free(&mine);
			qd_ld_scan_free(&sc);
			return rc;
		}
		if (el.checked != NULL)
			qd_listdoc_add_checked(b, el.e, el.checked, el.bytes);
		else
			qd_listdoc_add(b, el.e);
	}
	qd_ld_ahead_end(ahead);
	qd_ld_scan_free(&sc);
	rc = qd_listdoc_finish(b, out);
	move_problems(&mine, problems);
	return rc;
}

int qd_listdoc_parse(const char *buf, size_t len, const char *expect_list,
		     qd_listdoc **out, qd_problems *problems)
{
	qd_problems scratch;
	qd_jarena *arena;
	int rc;

	*out = NULL;
	/* A caller that wants only the verdict may pass no collection. */
	qd_problems_init(&scratch);
	arena = qd_jarena_new();
	rc = parse_entries(buf, len, expect_list, out, problems ? problems : &scratch, arena);
	if (*out == NULL)
		qd_jarena_free(arena);
	qd_problems_free(&scratch);
	return rc;
}

/* Validate doc, its head into arena (NULL: none); copy_strings as in
 * struct vctx. */
static int from_json(json_t *doc, const char *expect_list, qd_listdoc **out,
		     qd_problems *problems, qd_jarena *arena, bool copy_strings)
{
	qd_problems scratch;
	int rc;

	*out = NULL;
	qd_problems_init(&scratch);
	if (doc == NULL) {
		qd_problems_add(problems ? problems : &scratch, "", "no document");
		rc = QD_EINVAL;
	} else {
		rc = validate(doc, expect_list, out, problems ? problems : &scratch, arena,
			      copy_strings);
	}
	qd_problems_free(&scratch);
	return rc;
}

int qd_listdoc_from_json(json_t *doc, const char *expect_list,
			 qd_listdoc **out, qd_problems *problems)
{
	/* The caller's tree stays the caller's: the head gets copies of its
	 * strings. */
	return from_json(doc, expect_list, out, problems, NULL, true);
}

int qd_listdoc_from_arena(json_t *doc, qd_jarena *arena, const char *expect_list,
			  qd_listdoc **out, qd_problems *problems)
{
	return from_json(doc, expect_list, out, problems, arena, false);
}

char *qd_listdoc_entry_json(const qd_listdoc *doc, size_t i, size_t *len)
{
	const qd_entry *e = &doc->entries[i];
	char *r = malloc(e->json_len + 1);

	if (r == NULL)
		return NULL;
	memcpy(r, e->json, e->json_len + 1);
	*len = e->json_len;
	return r;
}

char *qd_listdoc_dump_head(const qd_listdoc *doc, size_t *len)
{
	/* The head is the document without "entries", which come last. */
	char *h = NULL, *r = NULL;
	qd_buf b;
	qd_buf_init(&b);

	h = json_dumps(doc->json, JSON_INDENT(2) | JSON_REAL_PRECISION(REAL_DIGITS));
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

	if (ej != NULL && el != NULL) {
		for (size_t i = 0; i < n; i++) {
			ej[i] = (char *)doc->entries[i].json;
			el[i] = doc->entries[i].json_len;
		}
		r = qd_listdoc_dump_with(doc, ej, el, len);
	}
	free(ej);
	free(el);
	return r;
}

int qd_listdoc_sha256(const qd_listdoc *doc, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	struct sha256_ctx ctx;
	uint8_t d[SHA256_DIGEST_SIZE];
	size_t hl;
	char *h = qd_listdoc_dump_head(doc, &hl);
	const char *t;

	if (h == NULL)
		return QD_ENOMEM;
	sha256_init(&ctx);
	sha256_update(&ctx, hl, (const uint8_t *)h);
	free(h);
	for (size_t i = 0; i < doc->n_entries; i++) {
		const char *sep = qd_listdoc_dump_sep(i);

		sha256_update(&ctx, strlen(sep), (const uint8_t *)sep);
		sha256_update(&ctx, doc->entries[i].json_len, (const uint8_t *)doc->entries[i].json);
	}
	t = qd_listdoc_dump_tail(doc->n_entries);
	sha256_update(&ctx, strlen(t), (const uint8_t *)t);
	sha256_digest(&ctx, sizeof d, d);
	for (size_t i = 0; i < sizeof d; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[64] = '\0';
	return 0;
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
