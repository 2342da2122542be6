/* qingdan — the list document validator: what its files share (not installed).
 *
 * listdoc.c   validation of the whole document, parse entry points,
 *             linking, dump, free, kind/status/effect names
 * fields.c    JSON Pointer tracking, messages, the scalar fields
 * sections.c  clauses, roster members, entries and their parts
 * scan.c      finding the entries of a JSON document without parsing it
 * ahead.c     a big document's entries parsed and checked on two threads
 * fast.c      parsing an entry without jansson's lexer (jansson decides the rest)
 * pool.c      the bytes and ids the entries are kept as
 *
 * Every check reports at the JSON Pointer in struct vctx's path and adds
 * its part of the canonical document; see listdoc.c for the design. */
#ifndef QINGDAN_LISTDOC_INT_H
#define QINGDAN_LISTDOC_INT_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "qingdan/buf.h"
#include "qingdan/listdoc.h"

#include "pool.h"

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
	qd_idmap entry_ids;    /* entry id (in doc->text) -> index, for uniqueness */
	size_t *cl;            /* the clause indexes of the entry being checked */
	size_t cl_cap;
	size_t n_roster;       /* roster size as written (a bad member still makes it non-empty) */
	qd_listdoc *doc;
	/* Strings of the input are shared with the canonical tree, except when
	 * the input stays the caller's (qd_listdoc_from_json): then the
	 * document gets copies, so that nothing of it points into the
	 * caller's tree. */
	bool copy_strings;
	/* v2 (terms.c): the list's scope and batches table, for its entries. */
	char (*scope)[QD_CUSTOMS_LEN + 1];  /* the list's customs prefixes */
	size_t n_scope;
	json_t *batch_ids;     /* batch id -> index; NULL: no batches table */
	qd_date *batch_from, *batch_to;
	size_t n_batches;
	qd_buf eterms;         /* the terms of the entry being checked */
	/* A checker's (qd_ld_check_entry()): whether an entry's id is new is
	 * left to whoever keeps it; the id checked is noted in id_val. */
	bool defer_ids;
	json_t *id_val;
};

/* Indexed by enum qd_kind, qd_status and qd_effect (kind 0: unknown). */
extern const char *const qd_ld_kind_names[3];
extern const char *const qd_ld_status_names[3];
extern const char *const qd_ld_effect_names[2];

#define PROB(v, ...) qd_problems_add((v)->p, (v)->path.s ? (v)->path.s : "", __VA_ARGS__)
#define PROB_KEY(v, key, ...)                         \
	do {                                          \
		size_t o_ = qd_ld_jp_key((v), (key)); \
		PROB((v), __VA_ARGS__);               \
		jp_pop((v), o_);                      \
	} while (0)

/* ---- JSON Pointer (fields.c) ------------------------------------------- */

void qd_ld_jp_putn(struct vctx *v, const char *s, size_t n);
size_t qd_ld_jp_key(struct vctx *v, const char *key);
size_t qd_ld_jp_idx(struct vctx *v, size_t i);

static inline void jp_pop(struct vctx *v, size_t old)
{
	if (v->path.s != NULL && old <= v->path.len) {
		v->path.len = old;
		v->path.s[old] = '\0';
	}
}

/* ---- messages (fields.c) ------------------------------------------------- */

static inline const char *quote_json(const json_t *s, char buf[QBUF])
{
	return qd_quote(json_string_value(s), json_string_length(s), buf);
}

/* The JSON type of j in words ("a string", "null" …), for messages;
 * a static string. */
const char *qd_ld_type_name(const json_t *j);
/* The offset just past the JSON value starting at s[i] (of n bytes), or 0
 * when it is not one (scan.c). */
size_t qd_ld_skip_value(const char *s, size_t n, size_t i);
/* Report every key of obj not in allowed (NULL-terminated), suggesting
 * the nearest allowed key when one is close. */
void qd_ld_check_keys(struct vctx *v, json_t *obj, const char *const *allowed);

/* ---- canonical building ---------------------------------------------- */

/* These run for every field of every entry: inline, to keep calls out of
 * the inner loop of a 100 000-entry load. */

/* Set obj[key] = val, stealing val; NULL val means allocation failed.
 * Keys are the loader's own ASCII names, so jansson need not check them
 * for UTF-8. */
static inline void put(struct vctx *v, json_t *obj, const char *key, json_t *val)
{
	if (val == NULL || obj == NULL || json_object_set_new_nocheck(obj, key, val) != 0)
		v->oom = true;
}

static inline void append(struct vctx *v, json_t *arr, json_t *val)
{
	if (val == NULL || arr == NULL || json_array_append_new(arr, val) != 0)
		v->oom = true;
}

static inline json_t *new_object(struct vctx *v)
{
	json_t *o = json_object();

	if (o == NULL)
		v->oom = true;
	return o;
}

static inline json_t *new_array(struct vctx *v)
{
	json_t *a = json_array();

	if (a == NULL)
		v->oom = true;
	return a;
}

/* A validated input string for the canonical tree (new reference). */
static inline json_t *share(struct vctx *v, json_t *val)
{
	json_t *r;

	if (!v->copy_strings)
		return json_incref(val);
	r = json_stringn_nocheck(json_string_value(val), json_string_length(val));
	if (r == NULL)
		v->oom = true;
	return r;
}

/* ---- scalar fields (fields.c) -------------------------------------------- */

bool qd_ld_check_string(struct vctx *v, json_t *val, const char *label, bool required, size_t max);
json_t *qd_ld_str_field(struct vctx *v, json_t *obj, const char *key, bool required,
			size_t max, json_t **out);
int qd_ld_enum_field(struct vctx *v, json_t *obj, const char *key, const char *const *names,
		     int n, int dflt, json_t **canon);
bool qd_ld_date_field(struct vctx *v, json_t *obj, const char *key, qd_date open,
		      qd_date *d, json_t **canon);
void qd_ld_window_fields(struct vctx *v, json_t *obj, json_t *canon, qd_date *from, qd_date *to);
json_t *qd_ld_id_field(struct vctx *v, json_t *obj, json_t **valid);
void qd_ld_id_taken(struct vctx *v, json_t *val, const char *what, const char *section,
		    size_t prev);
json_t *qd_ld_name_field(struct vctx *v, json_t *obj, const char *key);
json_t *qd_ld_array_field(struct vctx *v, json_t *obj, const char *key, bool required);
json_t *qd_ld_entity_id(struct vctx *v, json_t *val);

/* ---- sections (sections.c) ------------------------------------------------- */

/* The canonical form of /clauses/i, /entities/i and /entries/i (new
 * references, json null when not an object); m and e receive the parsed
 * fields the qd_listdoc keeps (e->clauses points at v->cl, e->id into
 * doc->text). */
json_t *qd_ld_clause(struct vctx *v, json_t *in, size_t i);
json_t *qd_ld_member(struct vctx *v, json_t *in, size_t i, qd_member *m);
json_t *qd_ld_entry(struct vctx *v, json_t *in, size_t i, qd_entry *e);

/* ---- v2 fields (terms.c) ------------------------------------------------- */

/* The list's valid_from, valid_to, superseded_by and scope, checked and
 * put into canon (each only when given). */
void qd_ld_list_terms(struct vctx *v, json_t *root, json_t *canon);
/* The batches table, checked and put into canon when given; remembered in
 * v for the entries. */
void qd_ld_batches(struct vctx *v, json_t *root, json_t *canon);
/* The entry's identity and aliases (after "spec"): put into c when they
 * differ from the defaults; returns the identity. */
enum qd_identity qd_ld_entry_identity(struct vctx *v, json_t *in, json_t *c);
/* The entry's customs (after "entities"): put into c when given. */
void qd_ld_entry_customs(struct vctx *v, json_t *in, json_t *c);
/* The entry's batch: checked against the batches table (when there is
 * one), put into c, its window made the default of e's.  Returns the batch
 * index, or -1. */
long qd_ld_entry_batch(struct vctx *v, json_t *in, json_t *c, qd_entry *e);
/* Render the terms of the canonical entry c into v->eterms (left empty
 * when the entry has none). */
void qd_ld_entry_terms(struct vctx *v, json_t *c, enum qd_identity id, long batch);
/* Render the list terms of the canonical head into doc->terms.
 * Returns 0 or QD_ENOMEM. */
int qd_ld_head_terms(qd_listdoc *doc);
/* Free what v holds for the v2 fields. */
void qd_ld_terms_free(struct vctx *v);

/* ---- scanning (scan.c) ------------------------------------------------------ */

/* Where the top-level "entries" array of a JSON document lies. */
struct qd_ld_scan {
	size_t open, close;    /* offsets of its '[' and ']' */
	size_t n;              /* its elements */
	size_t *span;          /* 2 n offsets: where each element starts and ends
				* (malloc()ed; NULL when none, or out of memory) */
};

/* Find the first top-level "entries" array of buf, an object, by its
 * structure only (strings, escapes and nesting; the bytes are not
 * otherwise checked).  Returns 1 when found (*sc set), 0 when the
 * document has no such array (or its top level is not an object), -1 when
 * the structure is odd before the array ends (the caller parses the whole
 * document instead). */
int qd_ld_scan_entries(const char *buf, size_t len, struct qd_ld_scan *sc);
/* Release sc->span. */
void qd_ld_scan_free(struct qd_ld_scan *sc);

/* The element of the entries array that starts at or after *pos
 * (initially sc->open + 1): its span [*start, *end); *pos moves past it.
 * Returns false after the last one. */
bool qd_ld_scan_next(const char *buf, const struct qd_ld_scan *sc, size_t *pos,
		     size_t *start, size_t *end);

/* ---- an entry without jansson's lexer (fast.c) ----------------------------- */

/* The flags of a load, which qd_ld_fast_parse() reads as jansson would. */
#define QD_LD_FAST_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)

/* The JSON value s[0, n) as json_loadb(s, n, QD_LD_FAST_FLAGS) gives it,
 * built with jansson's constructors (so in the arena entered, if any); NULL
 * when the bytes are anything but the plain shapes this reader takes —
 * then parse them with jansson, which accepts them or says why not. */
json_t *qd_ld_fast_parse(const char *s, size_t n);

#include "checker.h"

/* ---- entries parsed and checked ahead (ahead.c) --------------------------- */

/* One element of the entries array, parsed: e is NULL when it is not JSON. */
struct qd_ld_parsed {
	json_t *e;             /* borrowed: valid until the next element is asked for */
	size_t start;          /* where it starts in buf */
	const struct qd_ld_checked *checked;  /* checked ahead (NULL: not) */
	const char *bytes;     /* the bytes checked refers to */
};

typedef struct qd_ld_ahead qd_ld_ahead;

/* Begin parsing the elements of sc's array in buf (jansson flags), on a
 * second thread when there are many, and then checking them for b as
 * well (when b is not NULL and keeps entries).  buf, sc and b must
 * outlive it.  NULL when out of memory. */
qd_ld_ahead *qd_ld_ahead_start(const char *buf, const struct qd_ld_scan *sc, size_t flags,
			       const qd_listdoc_builder *b);
/* The next element in document order; false after the last.  One with
 * out->e NULL is the last: *err says why it is not JSON. */
bool qd_ld_ahead_next(qd_ld_ahead *a, struct qd_ld_parsed *out, const json_error_t **err);
/* Stop, and release what was parsed and not taken. */
void qd_ld_ahead_end(qd_ld_ahead *a);

/* Where byte offset pos of buf is as jansson counts: *line (1-based) and
 * *column, the characters before pos on that line; for placing an error
 * found in a part of buf in the whole. */
void qd_ld_line_col(const char *buf, size_t pos, int *line, int *column);

#endif
