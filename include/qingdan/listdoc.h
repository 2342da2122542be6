/* qingdan — the list document: parsing, validation, canonical form.
 *
 * A list document (schema/list.schema.json) is parsed with duplicate keys
 * rejected, validated against every loader rule (all violations reported,
 * each with its JSON Pointer), and turned into a canonical form: every
 * field written explicitly in one fixed key order, codes normalised,
 * entity ids normalised, absent optional values as null, absent arrays as
 * [], absent effect as "include", absent status as "active". */
#ifndef QINGDAN_LISTDOC_H
#define QINGDAN_LISTDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "qingdan/buf.h"
#include "qingdan/code.h"
#include "qingdan/date.h"
#include "qingdan/entity.h"
#include "qingdan/jarena.h"
#include "qingdan/problems.h"

#define QD_LIST_ID_MAX 48

/* Clauses one entry may cite: generous for any real entry, and well below
 * the 65 535 an entry record can count. */
#define QD_ENTRY_CLAUSES_MAX 1000

/* Bytes an entry's canonical JSON (qd_listdoc_entry_json) may take: the
 * store refuses a version with a longer entry, and its readers refuse to
 * inflate a stored entry past it, so every stored entry can be read. */
#define QD_ENTRY_JSON_MAX (16u << 20)

/* Rules of the v2 fields (DESIGN.md, "v2: jurisdiction and item identity"). */
#define QD_SCOPE_CUSTOMS_MAX 64   /* customs prefixes of a list or entry scope */
#define QD_BATCHES_MAX 1000       /* rows of a list's batches table */
#define QD_ALIASES_MAX 32         /* aliases of one item entry */
#define QD_BATCH_ID_MAX 64        /* characters of a batch id ("第一批" is 3) */

enum qd_kind { QD_KIND_POSITIVE = 1, QD_KIND_WHITELIST = 2 };
/* What an entry approves: one product (item: a declared name and spec
 * must match it) or everything under its code (category). */
enum qd_identity { QD_IDENTITY_ITEM = 0, QD_IDENTITY_CATEGORY = 1 };
enum qd_status { QD_STATUS_ACTIVE = 0, QD_STATUS_SUSPENDED = 1, QD_STATUS_REVOKED = 2 };
enum qd_effect { QD_EFFECT_INCLUDE = 0, QD_EFFECT_EXCLUDE = 1 };

/* A clause (条款) that entries cite. */
typedef struct qd_clause {
	const char *id;   /* borrowed from json */
	json_t *json;     /* canonical clause object, borrowed from the document */
} qd_clause;

/* A roster member: an institution eligible under the list. */
typedef struct qd_member {
	const char *id;        /* normalised entity id, borrowed from json */
	enum qd_status status;
	qd_date valid_from;    /* QD_DATE_MIN when open */
	qd_date valid_to;      /* QD_DATE_MAX when open */
	json_t *json;          /* canonical member object, borrowed */
} qd_member;

/* A list entry.  Everything it points to belongs to its document. */
typedef struct qd_entry {
	const char *id;          /* NUL-terminated */
	qd_code code;            /* normalised code; code.ciq is the entry's ciq or "" */
	enum qd_status status;
	enum qd_effect effect;
	qd_date valid_from;      /* QD_DATE_MIN when open */
	qd_date valid_to;        /* QD_DATE_MAX when open */
	const char **entities;   /* n_entities normalised ids */
	size_t n_entities;
	size_t *clauses;         /* n_clauses indexes into qd_listdoc.clauses */
	size_t n_clauses;
	const char *json;        /* the canonical entry object as compact JSON
				  * (qd_listdoc_entry_json), NUL-terminated */
	size_t json_len;
	const char *terms;       /* the entry's decision terms (qd_entry_terms_decode),
				  * or NULL: none (terms_len 0) */
	size_t terms_len;
} qd_entry;

/* An entry's decision terms, decoded from the compact form the store keeps
 * beside its JSON (qd_entry.terms): what a decision reads of the v2
 * fields without parsing the entry.  Pointers are into the decoded bytes.
 * The form: flags (1 byte: 1 item, 2 batch, 4 item_check in the entry),
 * customs count (1), batch index (2, little-endian), name count (1); then
 * each customs prefix, the normalised spec ("" when none) and each
 * normalised name (name.zh, name.en, aliases), all NUL-terminated; then,
 * without flag 4, the item_check JSON object ("" for a category entry),
 * NUL-terminated.  With flag 4 (an item entry, as written since
 * 2026-12-06) nothing follows the names: the item_check object is
 * {"name":…,"spec":…,"aliases":…} with the values the entry's own JSON
 * holds (qd_item_check_from_entry()), which saves a whitelist entry record
 * some 120 bytes; a reader that predates flag 4 finds the record
 * malformed rather than an item check missing. */
typedef struct qd_entry_terms {
	bool item;                /* identity item */
	bool item_in_entry;       /* flag 4: item_check is rebuilt from the entry's JSON */
	bool has_batch;           /* batch names a row of the batches table */
	unsigned batch;           /* its index */
	unsigned n_customs;
	const char *customs;      /* n_customs NUL-terminated prefixes, back to back */
	const char *spec;         /* normalised spec, "" when none */
	unsigned n_names;
	const char *names;        /* n_names NUL-terminated normalised names */
	const char *item_check;   /* {"name":{…},"spec":…,"aliases":[…]} or "" */
} qd_entry_terms;

/* Decode n bytes of entry terms.  Returns 0, or -1 when they are malformed. */
int qd_entry_terms_decode(const char *p, size_t n, qd_entry_terms *out);

/* Append an item entry's item_check object, {"name":…,"spec":…,"aliases":…},
 * to out, its values taken from the entry's compact JSON (n bytes at json,
 * as the store keeps it): "spec" null and "aliases" [] when the entry has
 * none.  Returns 0, or -1 when json is not an object this can read. */
int qd_item_check_from_entry(const char *json, size_t n, qd_buf *out);

/* A list version's decision terms (qd_listdoc.terms): the list's term of
 * validity, its customs scope and its batches.  The form: customs count
 * (1 byte), 0 (1), batch count (2, little-endian), valid_from and
 * valid_to (4 each, host order); then each customs prefix, the scope JSON
 * (object or null), the region JSON (string or null), the terms JSON
 * ({"valid_from","valid_to","superseded_by"} or null) and each batch
 * object, all NUL-terminated. */
typedef struct qd_list_terms {
	bool present;             /* false: a list without v2 terms (all open) */
	qd_date valid_from;       /* QD_DATE_MIN when open */
	qd_date valid_to;         /* QD_DATE_MAX when open */
	unsigned n_customs;
	const char *customs;      /* n_customs NUL-terminated prefixes */
	const char *scope_json;
	const char *region_json;
	const char *terms_json;
	unsigned n_batches;
	const char *batches;      /* n_batches NUL-terminated JSON objects */
} qd_list_terms;

/* Decode n bytes of list terms into out (n 0: out->present false).
 * Returns 0, or -1 when they are malformed. */
int qd_list_terms_decode(const char *p, size_t n, qd_list_terms *out);

struct qd_pool;

/* A validated document.  The head (everything but the entries) is a
 * canonical json_t; each entry is kept as its canonical bytes, never as a
 * tree, so a document takes a few times its size in memory. */
typedef struct qd_listdoc {
	json_t *json;            /* canonical document without "entries"; owned
				  * (one reference) */
	qd_jarena *arena;        /* owned; when set, json and every node under it
				  * live in it and go with it (no json_decref) */
	struct qd_pool *text;    /* owned: the entries' bytes and arrays */
	const char *list;        /* list id, borrowed */
	enum qd_kind kind;
	qd_clause *clauses;      /* owned array, document order */
	size_t n_clauses;
	qd_member *members;      /* owned array, document order */
	size_t n_members;
	qd_entry *entries;       /* owned array, document order */
	size_t n_entries;
	char *terms;             /* the list's decision terms (qd_list_terms_decode),
				  * malloc()ed; NULL when it has none */
	size_t terms_len;
} qd_listdoc;

/* Is s a well-formed list id: [a-z][a-z0-9-]{0,47}? */
bool qd_list_id_valid(const char *s);

/* Parse and validate a JSON list document.
 *   buf, len     the bytes (any content; need not be NUL-terminated)
 *   expect_list  the list id the document must carry (from the URL), or NULL
 *   out          on success, a new document; free with qd_listdoc_free()
 *   problems     receives every violation (JSON Pointer + message), or NULL
 *                when only the verdict is wanted; for a
 *                syntax error one problem with path "" whose message gives
 *                jansson's line and column
 * Returns 0; QD_ESYNTAX when the bytes are not JSON at all (or not UTF-8);
 * QD_EINVAL when the JSON parses but breaks a loader rule (including
 * duplicate keys, unknown keys and wrong types); QD_ENOMEM. */
int qd_listdoc_parse(const char *buf, size_t len, const char *expect_list,
		     qd_listdoc **out, qd_problems *problems);

/* Build a document from a json_t (as stored, or as a caller built it):
 * the same validation as qd_listdoc_parse, each entry checked and
 * rendered on its own.  doc is borrowed: the caller keeps (and still
 * releases) its reference and may free it right after the call.
 * Returns 0, QD_EINVAL (problems filled), or QD_ENOMEM. */
int qd_listdoc_from_json(json_t *doc, const char *expect_list,
			 qd_listdoc **out, qd_problems *problems);

/* qd_listdoc_from_json() for a tree the caller built inside arena (with
 * qd_jarena_enter(arena)): the document's head shares the tree's strings
 * and, on success, the document takes the arena over (qd_listdoc_free
 * releases it).  On failure the caller still owns the arena.  arena may
 * be NULL: the tree is then an ordinary one and is only borrowed, as by
 * qd_listdoc_from_json().  Returns as qd_listdoc_from_json(). */
int qd_listdoc_from_arena(json_t *doc, qd_jarena *arena, const char *expect_list,
			  qd_listdoc **out, qd_problems *problems);

/* A document built entry by entry, so that no tree of all its entries is
 * ever held: qd_listdoc_begin() with the head, qd_listdoc_add() for each
 * entry in document order, qd_listdoc_finish().  Problems carry the JSON
 * Pointers of the whole document (/entries/<i>/...). */
typedef struct qd_listdoc_builder qd_listdoc_builder;

/* Start a document.
 *   head         the document object; the elements of its "entries"
 *                array, if any, are added first (the array must be
 *                there, "entries": [] when the entries come one by one);
 *                borrowed, needed only during the call
 *   expect_list  as for qd_listdoc_parse
 *   problems     receives the violations (not NULL); kept by the builder
 *                until qd_listdoc_finish
 * Returns a builder (free it with qd_listdoc_finish), or NULL when out of
 * memory. */
qd_listdoc_builder *qd_listdoc_begin(json_t *head, const char *expect_list, qd_problems *problems);

/* Validate the next entry (borrowed; any json_t, judged as
 * /entries/<i>) and keep its canonical bytes.  Once a problem is known
 * (qd_listdoc_failed) entries are still checked, so that every problem is
 * counted, but no longer kept.  Between calls the caller may take the
 * problems out of the collection (qd_problems_free): a document once
 * failed stays failed. */
void qd_listdoc_add(qd_listdoc_builder *b, json_t *entry);

/* The caller has found the document invalid on its own grounds: keep
 * checking entries, keep none, and finish with QD_EINVAL. */
void qd_listdoc_discard(qd_listdoc_builder *b);

/* Has any problem (or out-of-memory) been found so far? */
bool qd_listdoc_failed(const qd_listdoc_builder *b);

/* Is id the id of an entry added so far (one that passed the id rules,
 * the first with it)?  *index receives that entry's index. */
bool qd_listdoc_find(const qd_listdoc_builder *b, const char *id, size_t *index);

/* Finish and free b.  out (may be NULL to discard) receives the document
 * when nothing was found wrong.  Returns 0, QD_EINVAL or QD_ENOMEM. */
int qd_listdoc_finish(qd_listdoc_builder *b, qd_listdoc **out);

/* Serialise the canonical document: fixed key order, UTF-8 unescaped, reals
 * with 15 significant digits (0.1, not 0.10000000000000001); everything but
 * the entries with 2-space indentation, then "entries" with one compact
 * entry object per line (qd_listdoc_entry_json), so a diff of two exports
 * shows changed entries line by line; trailing newline.  Loading these
 * bytes again yields the same bytes.  Returns a malloc()ed NUL-terminated
 * string (caller frees), *len set to its length; NULL on out-of-memory. */
char *qd_listdoc_dump(const qd_listdoc *doc, size_t *len);

/* The compact canonical JSON of entry i, as it appears on its line of the
 * dump: a malloc()ed copy of doc->entries[i].json, NUL-terminated (caller
 * frees), *len set; NULL on out-of-memory. */
char *qd_listdoc_entry_json(const qd_listdoc *doc, size_t i, size_t *len);

/* The pieces of qd_listdoc_dump(), for writing a document piecewise
 * (without holding it whole): the head, then for each entry i (in document
 * order) qd_listdoc_dump_sep(i) and its qd_listdoc_entry_json(), then
 * qd_listdoc_dump_tail(number of entries).  Together they are the dump's
 * bytes exactly.
 * qd_listdoc_dump_head: everything before the first entry (doc's entries
 * are not read); malloc()ed, NUL-terminated (caller frees), *len set;
 * NULL on out-of-memory.
 * qd_listdoc_dump_sep, qd_listdoc_dump_tail: static strings. */
char *qd_listdoc_dump_head(const qd_listdoc *doc, size_t *len);
const char *qd_listdoc_dump_sep(size_t i);
const char *qd_listdoc_dump_tail(size_t n_entries);

/* qd_listdoc_dump() from entry renderings the caller already has
 * (entry_json[i] of entry_len[i] bytes, from qd_listdoc_entry_json), so a
 * loader that stores them renders each entry once. */
char *qd_listdoc_dump_with(const qd_listdoc *doc, char *const *entry_json, const size_t *entry_len,
			   size_t *len);

/* The sha256 of qd_listdoc_dump()'s bytes as 64 lowercase hex digits,
 * computed piecewise (the dump is never held whole).  Returns 0 or
 * QD_ENOMEM. */
int qd_listdoc_sha256(const qd_listdoc *doc, char hex[65]);

/* Free a document and everything it owns; NULL is ignored. */
void qd_listdoc_free(qd_listdoc *doc);

/* Names for the enums ("positive", "active", "include" …); static strings. */
const char *qd_kind_name(enum qd_kind k);
const char *qd_status_name(enum qd_status s);
const char *qd_effect_name(enum qd_effect e);
const char *qd_identity_name(enum qd_identity i);

#endif
