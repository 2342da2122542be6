/* Unit tests: the LMDB store (src/lib/store/).
 *
 * Every test gets a fresh store directory made with mkdtemp() inside a
 * per-run root under /tmp; the test removes its directory, and the root
 * (with anything a failed test left behind) is removed after the run.
 *
 * List documents are written inline as JSON with single quotes (turned
 * into double quotes before parsing) so each fixture reads as what it is. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "qingdan/buf.h"
#include "qingdan/code.h"
#include "qingdan/date.h"
#include "qingdan/err.h"
#include "qingdan/listdoc.h"
#include "qingdan/problems.h"
#include "qingdan/sha256.h"
#include "qingdan/store.h"

#include "fixture.h"

#define NOW 1795000000 /* unix seconds recorded as loaded_at */

/* Institutions (valid GB 32100-2015 check characters). */
#define E_OK "91110000600037341L"
#define E_HK "HK:12345678"
#define E_OUT "91440101MA5AXXXXXW"

/* One clause every fixture entry cites. */
#define CLAUSE                                                                       \
	"{'id':'C-1','document':'署综函〔2022〕143号','article':'一（一）',"                 \
	"'text':'对列入正面清单的科研物资，免于提交进口药品通关单。'}"

/* An entry with the given id and code; `extra` adds members (",'ciq':'101'"). */
#define ENT(id, code, extra)                                                         \
	"{'id':'" id "','code':'" code "','name':{'zh':'物品 " id "'},'clauses':['C-1']" \
	extra "}"

/* ---- temporary directories ---- */

/* Unchecked fixtures: run once in the test runner's process. */
static void root_setup(void)
{
	fx_root_setup("store");
}

static void root_teardown(void)
{
	fx_root_teardown();
}

static bool file_exists(const char *dir, const char *name)
{
	char p[512];
	struct stat sb;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return stat(p, &sb) == 0 && sb.st_size > 0;
}

/* ---- documents ---- */

/* Parse a fixture document; aborts the test with the first problem if the
 * fixture itself is invalid. */
static qd_listdoc *mkdoc(const char *list, const char *kind, const char *roster,
			 const char *entries)
{
	return fx_mkdoc(list,
			"{'list':'%s','kind':'%s','title':{'zh':'测试清单 %s','en':'Test list %s'},"
			"'clauses':[" CLAUSE "],'entities':%s,'entries':%s}",
			list, kind, list, list, roster, entries);
}

static qd_put_opts put_opts(void)
{
	return fx_put_opts("tester", "load", "unit", NOW);
}

/* Put a document with the given options; returns qd_store_put's result. */
static int put_doc(qd_store *st, const char *list, const char *kind, const char *roster,
		   const char *entries, const qd_put_opts *o, qd_put_result *res,
		   qd_problems *pr)
{
	qd_listdoc *doc = mkdoc(list, kind, roster, entries);
	qd_problems local;
	qd_problems_init(&local);
	int rc = qd_store_put(st, doc, o, res, pr ? pr : &local);
	qd_problems_free(&local);
	qd_listdoc_free(doc);
	return rc;
}

/* Put with default options and expect success. */
static void put_ok(qd_store *st, const char *list, const char *kind, const char *roster,
		   const char *entries, qd_put_result *res)
{
	qd_listdoc *doc = mkdoc(list, kind, roster, entries);
	qd_put_opts o = put_opts();
	fx_put_doc_ok(st, doc, &o, res);
	qd_listdoc_free(doc);
}

/* ---- reading back ---- */

/* The "id" members of a JSON array of objects, comma-separated. */
static char *ids_of(json_t *arr)
{
	qd_buf b;
	qd_buf_init(&b);
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (i)
			qd_buf_putc(&b, ',');
		qd_buf_puts(&b, json_string_value(json_object_get(v, "id")));
	}
	char *s = strdup(qd_buf_cstr(&b));
	qd_buf_free(&b);
	return s;
}

/* One page of entries as "id,id,…"; *next receives the cursor (or NULL). */
static char *page_ids(qd_store *st, const char *list, const char *prefix, const char *cursor,
		      size_t limit, char **next)
{
	qd_entries_page pg;
	int rc = qd_store_entries_page(st, list, prefix, cursor, limit, &pg);
	ck_assert_msg(rc == 0, "entries page of %s: %d", list, rc);
	ck_assert_uint_le(pg.n, limit);
	qd_buf b;
	qd_buf_init(&b);
	for (size_t i = 0; i < pg.n; i++) {
		json_error_t je;
		json_t *e = json_loadb(pg.v[i].json, pg.v[i].len, 0, &je);
		ck_assert_msg(e != NULL, "entry %zu is not JSON: %s: %s", i, je.text, pg.v[i].json);
		ck_assert(json_is_object(e));
		ck_assert_uint_eq(strlen(pg.v[i].json), pg.v[i].len);
		if (i)
			qd_buf_putc(&b, ',');
		qd_buf_puts(&b, json_string_value(json_object_get(e, "id")));
		json_decref(e);
	}
	char *ids = strdup(qd_buf_cstr(&b));
	qd_buf_free(&b);
	if (next) {
		*next = pg.next;
		pg.next = NULL;
	}
	qd_entries_page_free(&pg);
	return ids;
}

/* Every entry of the current version whose code starts with prefix. */
static char *all_ids(qd_store *st, const char *list, const char *prefix)
{
	char *next = NULL;
	char *ids = page_ids(st, list, prefix, NULL, 1000, &next);
	ck_assert_ptr_null(next);
	return ids;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Candidate ids, sorted (the API promises no order), comma-separated. */
static char *cand_ids(const qd_cand *c, size_t n)
{
	const char **v = calloc(n ? n : 1, sizeof *v);
	ck_assert_ptr_nonnull(v);
	for (size_t i = 0; i < n; i++)
		v[i] = c[i].id;
	qsort(v, n, sizeof *v, cmp_str);
	qd_buf b;
	qd_buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		if (i)
			qd_buf_putc(&b, ',');
		qd_buf_puts(&b, v[i]);
	}
	free(v);
	char *s = strdup(qd_buf_cstr(&b));
	qd_buf_free(&b);
	return s;
}

static qd_code qcode(const char *s)
{
	qd_code c;
	const char *why = NULL;
	ck_assert_msg(qd_code_parse(s, strlen(s), &c, &why) == 0, "code %s: %s", s, why);
	return c;
}

/* Candidates for code (and optional separate ciq) on list l, as sorted ids. */
static char *snap_cands(qd_snap *s, const qd_list_info *l, const char *code, const char *ciq)
{
	qd_code q = qcode(code);
	if (ciq) {
		const char *why = NULL;
		ck_assert_int_eq(qd_ciq_parse(ciq, strlen(ciq), q.ciq, &why), 0);
	}
	const qd_cand *c = NULL;
	size_t n = 0;
	ck_assert_int_eq(qd_snap_candidates(s, l, &q, &c, &n), 0);
	return cand_ids(c, n);
}

/* Find list id in a snapshot's lists. */
static const qd_list_info *snap_list(qd_snap *s, const char *id)
{
	const qd_list_info *ls = NULL;
	size_t n = 0;
	ck_assert_int_eq(qd_snap_lists(s, &ls, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (strcmp(ls[i].id, id) == 0)
			return &ls[i];
	return NULL;
}

static qd_date day(const char *s)
{
	qd_date d;
	ck_assert_int_eq(qd_date_parse(s, strlen(s), &d), 0);
	return d;
}

#define ck_str_free_eq(expr, expect)                                                 \
	do {                                                                         \
		char *got_ = (expr);                                                 \
		ck_assert_str_eq(got_, (expect));                                    \
		free(got_);                                                          \
	} while (0)

/* ---- fixtures ---- */

/* A list with entries at every prefix level of 3822190090, plus a CIQ-specific
 * entry, a sibling heading and an unrelated chapter; deliberately out of code
 * order in the document. */
#define CODES_ENTRIES                                                                \
	"[" ENT("E-9027", "9027", "") "," ENT("E-3822190090-101", "3822.1900.90",         \
						  ",'ciq':'101'") ","                       \
	ENT("E-382219", "3822 19", "") "," ENT("E-38", "38", "") ","                         \
	ENT("E-3822190090", "3822190090", "") "," ENT("E-3823", "3823", "") ","              \
	ENT("E-902780", "9027.80", "") "," ENT("E-3822", "3822", "") "]"

/* The same entries sorted by code (then CIQ, then id), as the store pages them. */
#define CODES_ORDER                                                                  \
	"E-38,E-3822,E-382219,E-3822190090,E-3822190090-101,E-3823,E-9027,E-902780"

#define ROSTER                                                                       \
	"[{'id':'" E_OK "','name':{'zh':'示例研究院'}},"                                      \
	"{'id':'hk:12345678','name':{'zh':'香港示例大学'},'status':'suspended',"             \
	"'valid_from':'2027-01-01','valid_to':'2027-12-31'}]"

/* ---- tests ---- */

START_TEST(open_creates_databases)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	ck_assert(file_exists(dir, "data.mdb"));

	qd_list_info *infos = NULL;
	size_t n = 99;
	ck_assert_int_eq(qd_store_lists(st, &infos, &n), 0);
	ck_assert_uint_eq(n, 0);
	qd_list_infos_free(infos, n);
	qd_store_close(st);

	/* The named databases exist now: a read-only open finds them. */
	qd_store_opts ro;
	qd_store_opts_default(&ro);
	ro.read_only = true;
	st = fx_open_store(dir, &ro);
	ck_assert_int_eq(qd_store_lists(st, &infos, &n), 0);
	ck_assert_uint_eq(n, 0);
	qd_list_infos_free(infos, n);
	/* …and a read-only store refuses writes. */
	qd_put_opts o = put_opts();
	qd_put_result res;
	ck_assert_int_ne(put_doc(st, "ro", "positive", "[]", "[" ENT("A", "3822", "") "]", &o,
				 &res, NULL), 0);
	qd_store_close(st);

	fx_rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(read_only_fresh_dir_fails)
{
	char *dir = fx_fresh_dir();
	qd_store_opts ro;
	qd_store_opts_default(&ro);
	ro.read_only = true;
	qd_store *st = (qd_store *)0x1; /* must not be replaced on failure */
	char err[256] = "";
	int rc = qd_store_open(dir, &ro, &st, err, sizeof err);
	ck_assert_int_ne(rc, 0);
	ck_assert_ptr_eq(st, (qd_store *)0x1);
	ck_assert_msg(err[0] != '\0', "no error message");
	ck_assert_msg(!file_exists(dir, "data.mdb"), "read-only open created data.mdb");
	/* err may be NULL */
	ck_assert_int_ne(qd_store_open(dir, &ro, &st, NULL, 0), 0);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(put_new_list)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_put_result res;
	memset(&res, 0xa5, sizeof res);
	put_ok(st, "gba", "positive", ROSTER,
	       "[" ENT("A", "3822", "") "," ENT("B", "9027", "") "," ENT("C", "3002150010", "") "]",
	       &res);
	ck_assert_uint_eq(res.version, 1);
	ck_assert_uint_eq(res.previous, 0);
	ck_assert(res.created);
	ck_assert_uint_eq(res.entries, 3);
	ck_assert_uint_eq(res.added, 3);
	ck_assert_uint_eq(res.removed, 0);
	ck_assert_uint_eq(res.changed, 0);

	qd_list_info li;
	ck_assert_int_eq(qd_store_list(st, "gba", &li), 0);
	ck_assert_str_eq(li.id, "gba");
	ck_assert_int_eq(li.kind, QD_KIND_POSITIVE);
	ck_assert_uint_eq(li.version, 1);
	ck_assert_uint_eq(li.entries, 3);
	ck_assert_uint_eq(li.members, 2);
	ck_assert_int_eq(li.loaded_at, NOW);
	ck_assert_str_eq(li.sha256, res.sha256);
	ck_assert_ptr_nonnull(li.title);
	json_t *t = json_loads(li.title, 0, NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(json_string_value(json_object_get(t, "zh")), "测试清单 gba");
	ck_assert_str_eq(json_string_value(json_object_get(t, "en")), "Test list gba");
	json_decref(t);
	free(li.title);

	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(sha256_is_of_canonical_dump)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	const char *entries = "[" ENT("A", "3822.19", ",'ciq':null") "," ENT("B", "9027", "") "]";
	qd_listdoc *doc = mkdoc("gba", "positive", ROSTER, entries);
	size_t len = 0;
	char *dump = qd_listdoc_dump(doc, &len);
	ck_assert_ptr_nonnull(dump);
	char want[QD_SHA256_HEX];
	qd_sha256_hex(dump, len, want);
	free(dump);

	qd_put_opts o = put_opts();
	qd_put_result res;
	qd_problems pr;
	qd_problems_init(&pr);
	ck_assert_int_eq(qd_store_put(st, doc, &o, &res, &pr), 0);
	ck_assert_uint_eq(strlen(res.sha256), 64);
	ck_assert_str_eq(res.sha256, want);

	/* the dry run reports the same hash */
	o.dry_run = true;
	qd_put_result dry;
	ck_assert_int_eq(qd_store_put(st, doc, &o, &dry, &pr), 0);
	ck_assert_str_eq(dry.sha256, want);
	/* an identical document: no differences */
	ck_assert_uint_eq(dry.added + dry.removed + dry.changed, 0);

	qd_list_info li;
	ck_assert_int_eq(qd_store_list(st, "gba", &li), 0);
	ck_assert_str_eq(li.sha256, want);
	free(li.title);
	qd_list_info *infos;
	size_t n;
	ck_assert_int_eq(qd_store_lists(st, &infos, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(infos[0].sha256, want);
	qd_list_infos_free(infos, n);

	qd_problems_free(&pr);
	qd_listdoc_free(doc);
	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(second_put_diff)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	put_ok(st, "gba", "positive", "[]",
	       "[" ENT("A", "3822", "") "," ENT("B", "9027", "") "," ENT("C", "3002150010", "") "]",
	       NULL);

	/* A changes a field, B goes, C stays as it was, D arrives. */
	qd_put_result res;
	put_ok(st, "gba", "positive", "[]",
	       "[" ENT("C", "3002.1500.10", "") "," ENT("A", "3822", ",'spec':'10 x 1 mL'") ","
	       ENT("D", "2934", "") "]",
	       &res);
	ck_assert_uint_eq(res.version, 2);
	ck_assert_uint_eq(res.previous, 1);
	ck_assert(!res.created);
	ck_assert_uint_eq(res.entries, 3);
	ck_assert_uint_eq(res.added, 1);
	ck_assert_uint_eq(res.removed, 1);
	ck_assert_uint_eq(res.changed, 1);

	qd_list_info li;
	ck_assert_int_eq(qd_store_list(st, "gba", &li), 0);
	ck_assert_uint_eq(li.version, 2);
	ck_assert_uint_eq(li.entries, 3);
	ck_assert_str_eq(li.sha256, res.sha256);
	free(li.title);
	ck_str_free_eq(all_ids(st, "gba", ""), "D,C,A");

	/* The changed field is what the store serves now. */
	qd_entries_page pg;
	ck_assert_int_eq(qd_store_entries_page(st, "gba", "3822", NULL, 10, &pg), 0);
	ck_assert_uint_eq(pg.n, 1);
	ck_assert_ptr_null(pg.next);
	json_t *e0 = json_loadb(pg.v[0].json, pg.v[0].len, 0, NULL);
	ck_assert_ptr_nonnull(e0);
	ck_assert_str_eq(json_string_value(json_object_get(e0, "spec")), "10 x 1 mL");
	json_decref(e0);
	qd_entries_page_free(&pg);

	/* Every entry changed, one at a time: only "changed" counts. */
	put_ok(st, "gba", "positive", "[]",
	       "[" ENT("C", "3002150010", ",'status':'suspended'") ","
	       ENT("A", "3822", ",'spec':'10 x 2 mL'") "," ENT("D", "2934", ",'batch':'第二批'") "]",
	       &res);
	ck_assert_uint_eq(res.version, 3);
	ck_assert_uint_eq(res.previous, 2);
	ck_assert_uint_eq(res.added, 0);
	ck_assert_uint_eq(res.removed, 0);
	ck_assert_uint_eq(res.changed, 3);

	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(dry_run_stores_nothing)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_put_opts o = put_opts();
	o.dry_run = true;
	qd_put_result res;

	/* A dry run of a new list: version 1 would be created, nothing is. */
	ck_assert_int_eq(put_doc(st, "gba", "positive", "[]",
				 "[" ENT("A", "3822", "") "," ENT("B", "9027", "") "]", &o, &res, NULL),
			 0);
	ck_assert_uint_eq(res.version, 1);
	ck_assert_uint_eq(res.previous, 0);
	ck_assert(res.created);
	ck_assert_uint_eq(res.added, 2);
	qd_list_info li;
	ck_assert_int_eq(qd_store_list(st, "gba", &li), QD_ENOLIST);
	qd_list_info *infos;
	size_t n;
	ck_assert_int_eq(qd_store_lists(st, &infos, &n), 0);
	ck_assert_uint_eq(n, 0);
	qd_list_infos_free(infos, n);

	qd_put_result v1;
	put_ok(st, "gba", "positive", "[]", "[" ENT("A", "3822", "") "," ENT("B", "9027", "") "]",
	       &v1);
	ck_assert_uint_eq(v1.version, 1);

	/* A dry run against version 1. */
	ck_assert_int_eq(put_doc(st, "gba", "positive", "[]",
				 "[" ENT("A", "3822", ",'spec':'x'") "," ENT("C", "2934", "") "]", &o,
				 &res, NULL),
			 0);
	ck_assert_uint_eq(res.version, 2);
	ck_assert_uint_eq(res.previous, 1);
	ck_assert(!res.created);
	ck_assert_uint_eq(res.entries, 2);
	ck_assert_uint_eq(res.added, 1);
	ck_assert_uint_eq(res.removed, 1);
	ck_assert_uint_eq(res.changed, 1);
	ck_assert_str_ne(res.sha256, v1.sha256);

	ck_assert_int_eq(qd_store_list(st, "gba", &li), 0);
	ck_assert_uint_eq(li.version, 1);
	ck_assert_uint_eq(li.entries, 2);
	ck_assert_str_eq(li.sha256, v1.sha256);
	free(li.title);
	ck_str_free_eq(all_ids(st, "gba", ""), "A,B");

	/* The real put after the dry run gets the version the dry run announced. */
	qd_put_result v2;
	put_ok(st, "gba", "positive", "[]", "[" ENT("A", "3822", ",'spec':'x'") "," ENT("C", "2934", "") "]",
	       &v2);
	ck_assert_uint_eq(v2.version, 2);
	ck_assert_str_eq(v2.sha256, res.sha256);

	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(if_match)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_put_opts o = put_opts();
	qd_put_result res;

	/* A new list has no version 1 to match. */
	o.if_match = 1;
	ck_assert_int_eq(put_doc(st, "gba", "positive", "[]", "[" ENT("A", "3822", "") "]", &o,
				 &res, NULL),
			 QD_ECONFLICT);
	qd_list_info li;
	ck_assert_int_eq(qd_store_list(st, "gba", &li), QD_ENOLIST);

	put_ok(st, "gba", "positive", "[]", "[" ENT("A", "3822", "") "]", NULL);

	/* Mismatch: refused, nothing stored. */
	o.if_match = 2;
	ck_assert_int_eq(put_doc(st, "gba", "positive", "[]", "[" ENT("B", "9027", "") "]", &o,
				 &res, NULL),
			 QD_ECONFLICT);
	ck_assert_int_eq(qd_store_list(st, "gba", &li), 0);
	ck_assert_uint_eq(li.version, 1);
	free(li.title);
	ck_str_free_eq(all_ids(st, "gba", ""), "A");

	/* A mismatching dry run is refused as well. */
	o.dry_run = true;
	ck_assert_int_eq(put_doc(st, "gba", "positive", "[]", "[" ENT("B", "9027", "") "]", &o,
				 &res, NULL),
			 QD_ECONFLICT);
	o.dry_run = false;

	/* Match: stored as version 2. */
	o.if_match = 1;
	ck_assert_int_eq(put_doc(st, "gba", "positive", "[]", "[" ENT("B", "9027", "") "]", &o,
				 &res, NULL),
			 0);
	ck_assert_uint_eq(res.version, 2);
	ck_assert_uint_eq(res.previous, 1);
	ck_assert_int_eq(qd_store_list(st, "gba", &li), 0);
	ck_assert_uint_eq(li.version, 2);
	free(li.title);
	ck_str_free_eq(all_ids(st, "gba", ""), "B");

	/* The old precondition is stale now. */
	ck_assert_int_eq(put_doc(st, "gba", "positive", "[]", "[" ENT("C", "2934", "") "]", &o,
				 &res, NULL),
			 QD_ECONFLICT);
	ck_assert_int_eq(qd_store_list(st, "gba", &li), 0);
	ck_assert_uint_eq(li.version, 2);
	free(li.title);

	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(kind_cannot_change)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_put_result v1;
	put_ok(st, "gba", "positive", "[]", "[" ENT("A", "3822", "") "]", &v1);

	qd_put_opts o = put_opts();
	qd_put_result res;
	qd_problems pr;
	qd_problems_init(&pr);
	ck_assert_int_eq(put_doc(st, "gba", "whitelist", "[]",
				 "[" ENT("W", "3822", ",'entities':['" E_OK "']") "]", &o, &res, &pr),
			 QD_EINVAL);
	ck_assert_uint_ge(pr.count, 1);
	bool found = false;
	for (size_t i = 0; i < pr.count; i++)
		if (pr.items[i].path && strcmp(pr.items[i].path, "/kind") == 0)
			found = true;
	ck_assert_msg(found, "no problem at /kind (first: %s)", pr.items[0].path);
	qd_problems_free(&pr);

	/* the dry run is refused the same way */
	o.dry_run = true;
	ck_assert_int_eq(put_doc(st, "gba", "whitelist", "[]",
				 "[" ENT("W", "3822", ",'entities':['" E_OK "']") "]", &o, &res, &pr),
			 QD_EINVAL);
	qd_problems_free(&pr);

	qd_list_info li;
	ck_assert_int_eq(qd_store_list(st, "gba", &li), 0);
	ck_assert_uint_eq(li.version, 1);
	ck_assert_int_eq(li.kind, QD_KIND_POSITIVE);
	ck_assert_str_eq(li.sha256, v1.sha256);
	free(li.title);
	ck_str_free_eq(all_ids(st, "gba", ""), "A");

	/* …and the next good put still gets version 2 (no version was used up). */
	qd_put_result v2;
	put_ok(st, "gba", "positive", "[]", "[" ENT("B", "9027", "") "]", &v2);
	ck_assert_uint_eq(v2.version, 2);

	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(lists_ordered_with_titles)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	put_ok(st, "zeta", "positive", "[]", "[" ENT("A", "3822", "") "]", NULL);
	put_ok(st, "alpha", "whitelist", "[]",
	       "[" ENT("W1", "3822", ",'entities':['" E_OK "']") "," ENT("W2", "9027",
	       ",'entities':['" E_HK "']") "]",
	       NULL);
	put_ok(st, "alpha-2", "positive", ROSTER, "[" ENT("A", "3822", "") "]", NULL);
	put_ok(st, "mid", "positive", "[]", "[" ENT("A", "3822", "") "]", NULL);
	put_ok(st, "mid", "positive", "[]", "[" ENT("A", "3822", "") "," ENT("B", "9027", "") "]",
	       NULL);

	qd_list_info *infos = NULL;
	size_t n = 0;
	ck_assert_int_eq(qd_store_lists(st, &infos, &n), 0);
	ck_assert_uint_eq(n, 4);
	const char *want[] = {"alpha", "alpha-2", "mid", "zeta"};
	const uint32_t versions[] = {1, 1, 2, 1};
	const uint32_t counts[] = {2, 1, 2, 1};
	for (size_t i = 0; i < n; i++) {
		ck_assert_str_eq(infos[i].id, want[i]);
		ck_assert_uint_eq(infos[i].version, versions[i]);
		ck_assert_uint_eq(infos[i].entries, counts[i]);
		ck_assert_ptr_nonnull(infos[i].title);
		json_t *t = json_loads(infos[i].title, 0, NULL);
		ck_assert_ptr_nonnull(t);
		char zh[64];
		snprintf(zh, sizeof zh, "测试清单 %s", want[i]);
		ck_assert_str_eq(json_string_value(json_object_get(t, "zh")), zh);
		json_decref(t);
		ck_assert_uint_eq(strlen(infos[i].sha256), 64);
	}
	ck_assert_int_eq(infos[0].kind, QD_KIND_WHITELIST);
	ck_assert_int_eq(infos[1].kind, QD_KIND_POSITIVE);
	ck_assert_uint_eq(infos[1].members, 2);
	ck_assert_uint_eq(infos[0].members, 0);
	qd_list_infos_free(infos, n);

	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(unknown_list)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_list_info li;
	ck_assert_int_eq(qd_store_list(st, "nope", &li), QD_ENOLIST);
	put_ok(st, "gba", "positive", "[]", "[" ENT("A", "3822", "") "]", NULL);
	ck_assert_int_eq(qd_store_list(st, "nope", &li), QD_ENOLIST);
	/* a prefix of an existing id is not that list */
	ck_assert_int_eq(qd_store_list(st, "gb", &li), QD_ENOLIST);
	ck_assert_int_eq(qd_store_list(st, "gba-2", &li), QD_ENOLIST);
	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

/* The retained versions of a list from qd_store_versions(), as
 * "current:v,v,…" (newest first). */
static char *versions_of(qd_store *st, const char *list)
{
	qd_versions vs;
	ck_assert_int_eq(qd_store_versions(st, list, &vs), 0);
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_printf(&b, "%u:", vs.current);
	for (size_t i = 0; i < vs.n; i++) {
		qd_buf_printf(&b, "%s%u", i ? "," : "", vs.v[i].version);
		ck_assert_uint_eq(strlen(vs.v[i].sha256), 64);
	}
	qd_versions_free(&vs);
	char *s = strdup(qd_buf_cstr(&b));
	qd_buf_free(&b);
	return s;
}

/* The entry ids of one stored version (document order), or the error. */
static char *doc_ids(qd_store *st, const char *list, uint32_t version, int *rc)
{
	qd_listdoc *doc = NULL;
	*rc = qd_store_get_doc(st, list, version, &doc);
	if (*rc)
		return NULL;
	ck_assert_ptr_nonnull(doc);
	json_t *entries = json_array();
	for (size_t i = 0; i < doc->n_entries; i++)
		json_array_append_new(entries, json_loadb(doc->entries[i].json, doc->entries[i].json_len, 0, NULL));
	char *ids = ids_of(entries);
	json_decref(entries);
	qd_listdoc_free(doc);
	return ids;
}

static void expect_verify_clean(qd_store *st)
{
	qd_problems pr;
	qd_problems_init(&pr);
	int rc = qd_store_verify(st, &pr);
	ck_assert_msg(rc == 0, "qd_store_verify: %d; first problem: %s: %s", rc,
		      pr.count ? pr.items[0].path : "", pr.count ? pr.items[0].message : "");
	qd_problems_free(&pr);
}

START_TEST(retention)
{
	char *dir = fx_fresh_dir();
	qd_store_opts opts;
	qd_store_opts_default(&opts);
	opts.retain = 3;
	qd_store *st = fx_open_store(dir, &opts);

	/* Five versions with different entries; a neighbour list whose id
	 * extends this one must not be touched by pruning. */
	const char *docs[] = {
		"[" ENT("V1", "3822", "") "]",
		"[" ENT("V1", "3822", "") "," ENT("V2", "9027", "") "]",
		"[" ENT("V1", "3822", "") "," ENT("V2", "9027", "") "," ENT("V3", "2934", "") "]",
		"[" ENT("V2", "9027", "") "," ENT("V3", "2934", "") "," ENT("V4", "3002", "") "]",
		"[" ENT("V3", "2934", "") "," ENT("V5", "9018", "") "]",
	};
	put_ok(st, "ret-b", "positive", "[]", "[" ENT("N", "3822", "") "]", NULL);
	for (unsigned i = 0; i < 5; i++) {
		qd_put_result res;
		put_ok(st, "ret", "positive", "[]", docs[i], &res);
		ck_assert_uint_eq(res.version, i + 1);
		ck_assert_uint_eq(res.previous, i);
		qd_list_info li;
		ck_assert_int_eq(qd_store_list(st, "ret", &li), 0);
		ck_assert_uint_eq(li.version, i + 1);
		free(li.title);
	}
	qd_list_info li;
	ck_assert_int_eq(qd_store_list(st, "ret", &li), 0);
	ck_assert_uint_eq(li.version, 5);
	ck_assert_uint_eq(li.entries, 2);
	free(li.title);
	ck_str_free_eq(all_ids(st, "ret", ""), "V3,V5");
	ck_str_free_eq(all_ids(st, "ret-b", ""), "N");

	/* Pruning, seen through the history: versions 1 and 2 are gone, 3-5 kept
	 * with their own entries, 6 never existed. */
	ck_str_free_eq(versions_of(st, "ret"), "5:5,4,3");
	ck_str_free_eq(versions_of(st, "ret-b"), "1:1");
	int rc;
	ck_assert_ptr_null(doc_ids(st, "ret", 1, &rc));
	ck_assert_int_eq(rc, QD_EGONE);
	ck_assert_ptr_null(doc_ids(st, "ret", 2, &rc));
	ck_assert_int_eq(rc, QD_EGONE);
	ck_str_free_eq(doc_ids(st, "ret", 3, &rc), "V1,V2,V3");
	ck_str_free_eq(doc_ids(st, "ret", 4, &rc), "V2,V3,V4");
	ck_str_free_eq(doc_ids(st, "ret", 5, &rc), "V3,V5");
	ck_str_free_eq(doc_ids(st, "ret", 0, &rc), "V3,V5");
	ck_assert_ptr_null(doc_ids(st, "ret", 6, &rc));
	ck_assert_int_eq(rc, QD_ENOVERSION);
	ck_str_free_eq(doc_ids(st, "ret-b", 1, &rc), "N");
	/* …and in the record counts: 3+3+2 entries of "ret", 1 of "ret-b". */
	qd_store_stats stats;
	ck_assert_int_eq(qd_store_stats_get(st, &stats), 0);
	ck_assert_uint_eq(stats.lists, 2);
	ck_assert_uint_eq(stats.versions, 4);
	ck_assert_uint_eq(stats.entries, 9);
	expect_verify_clean(st);

	/* The current version is readable through a snapshot too. */
	qd_snap *s = qd_snap_new(st);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(qd_snap_open(s), 0);
	const qd_list_info *l = snap_list(s, "ret");
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(l->version, 5);
	ck_str_free_eq(snap_cands(s, l, "9018000000", NULL), "V5");
	ck_str_free_eq(snap_cands(s, l, "9027000000", NULL), "");
	qd_snap_free(s);

	/* A sixth version still works and pruning keeps going. */
	qd_put_result res;
	put_ok(st, "ret", "positive", "[]", docs[0], &res);
	ck_assert_uint_eq(res.version, 6);
	ck_assert_uint_eq(res.previous, 5);
	ck_assert_uint_eq(res.removed, 2);
	ck_assert_uint_eq(res.added, 1);
	ck_str_free_eq(versions_of(st, "ret"), "6:6,5,4");
	ck_assert_ptr_null(doc_ids(st, "ret", 3, &rc));
	ck_assert_int_eq(rc, QD_EGONE);
	qd_store_close(st);

	/* Reopen: the data is still there and numbering continues. */
	st = fx_open_store(dir, &opts);
	ck_str_free_eq(versions_of(st, "ret"), "6:6,5,4");
	put_ok(st, "ret", "positive", "[]", docs[1], &res);
	ck_assert_uint_eq(res.version, 7);
	ck_str_free_eq(all_ids(st, "ret", ""), "V1,V2");
	ck_str_free_eq(all_ids(st, "ret-b", ""), "N");
	ck_str_free_eq(versions_of(st, "ret"), "7:7,6,5");
	ck_assert_int_eq(qd_store_stats_get(st, &stats), 0);
	ck_assert_uint_eq(stats.entries, 2 + 1 + 2 + 1); /* v5, v6, v7, ret-b */
	expect_verify_clean(st);
	qd_store_close(st);

	fx_rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(retain_one)
{
	char *dir = fx_fresh_dir();
	qd_store_opts opts;
	qd_store_opts_default(&opts);
	opts.retain = 1;
	qd_store *st = fx_open_store(dir, &opts);
	for (unsigned i = 1; i <= 3; i++) {
		qd_put_result res;
		put_ok(st, "one", "positive", "[]", i % 2 ? "[" ENT("A", "3822", "") "]"
							  : "[" ENT("B", "9027", "") "]",
		       &res);
		ck_assert_uint_eq(res.version, i);
		ck_str_free_eq(all_ids(st, "one", ""), i % 2 ? "A" : "B");
	}
	ck_str_free_eq(versions_of(st, "one"), "3:3");
	int rc;
	ck_assert_ptr_null(doc_ids(st, "one", 2, &rc));
	ck_assert_int_eq(rc, QD_EGONE);
	qd_store_stats stats;
	ck_assert_int_eq(qd_store_stats_get(st, &stats), 0);
	ck_assert_uint_eq(stats.versions, 1);
	ck_assert_uint_eq(stats.entries, 1);
	expect_verify_clean(st);
	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

/* Pruning a version that spans many LMDB pages removes all of it (entries
 * and roster), and only it. */
START_TEST(retention_large)
{
	enum { N = 3000, M = 200 };
	qd_buf e, r;
	qd_buf_init(&e);
	qd_buf_init(&r);
	qd_buf_putc(&e, '[');
	for (int i = 0; i < N; i++)
		qd_buf_printf(&e, "%s{'id':'L-%05d','code':'%08d','name':{'zh':'物品'},"
			      "'spec':'%0100d','clauses':['C-1']}",
			      i ? "," : "", i, 38000000 + i * 7, i);
	qd_buf_putc(&e, ']');
	qd_buf_putc(&r, '[');
	for (int i = 0; i < M; i++)
		qd_buf_printf(&r, "%s{'id':'HK:M%04d','name':{'zh':'机构'}}", i ? "," : "", i);
	qd_buf_putc(&r, ']');

	char *dir = fx_fresh_dir();
	qd_store_opts opts;
	qd_store_opts_default(&opts);
	opts.retain = 2;
	qd_store *st = fx_open_store(dir, &opts);
	put_ok(st, "big-a", "positive", "[]", "[" ENT("A", "3822", "") "]", NULL);
	for (unsigned v = 1; v <= 4; v++) {
		qd_put_result res;
		put_ok(st, "big", "positive", qd_buf_cstr(&r), qd_buf_cstr(&e), &res);
		ck_assert_uint_eq(res.version, v);
		ck_assert_uint_eq(res.entries, N);
	}
	put_ok(st, "big-z", "positive", "[]", "[" ENT("Z", "3822", "") "]", NULL);
	qd_buf_free(&e);
	qd_buf_free(&r);

	qd_store_stats stats;
	ck_assert_int_eq(qd_store_stats_get(st, &stats), 0);
	ck_assert_uint_eq(stats.lists, 3);
	ck_assert_uint_eq(stats.versions, 2 + 1 + 1);
	ck_assert_uint_eq(stats.entries, 2 * N + 2);
	ck_assert_uint_eq(stats.members, 2 * M);
	ck_str_free_eq(versions_of(st, "big"), "4:4,3");
	ck_str_free_eq(all_ids(st, "big-a", ""), "A");
	ck_str_free_eq(all_ids(st, "big-z", ""), "Z");
	expect_verify_clean(st);

	qd_list_info li;
	ck_assert_int_eq(qd_store_list(st, "big", &li), 0);
	ck_assert_uint_eq(li.version, 4);
	ck_assert_uint_eq(li.entries, N);
	ck_assert_uint_eq(li.members, M);
	free(li.title);
	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

/* Entries whose keys sort otherwise than the document lists them: codes
 * that start other codes, an entry with a CIQ code beside one without,
 * ids that start other ids or share their first bytes.  Whether the
 * version goes at the end of the store (written in key order) or between
 * other lists' keys (scattered), every entry is stored and reads back
 * byte for byte, in document order. */
START_TEST(entries_in_key_order_or_between)
{
	static const char *const entries =
		"[" ENT("Z9", "3822", "") "," ENT("A1", "38220000", "") "," ENT("AB", "3822", "") ","
		ENT("A", "3822", "") "," ENT("C", "3822000000", ",'ciq':'101'") ","
		ENT("B", "3822000000", ",'ciq':'001'") "," ENT("D", "382200", "") "," ENT("ABC", "3822", "") ","
		ENT("E", "9027", "") "," ENT("F", "38221", "") "," ENT("G", "2934", "") ","
		ENT("A0", "3822000000", ",'ciq':'101'") "," ENT("H", "3822000000", "") ","
		ENT("LONG-ID-2", "3822", "") "," ENT("LONG-ID-10", "3822", "") "]";
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	/* m at the end of an empty store; a before it (between); m again at
	 * the end, a again between a's first version and m. */
	const char *lists[] = {"m", "a", "m", "a"};
	qd_listdoc *doc = mkdoc("m", "positive", "[]", entries);
	for (size_t l = 0; l < 4; l++) {
		qd_put_result res;
		put_ok(st, lists[l], "positive", "[]", entries, &res);
		ck_assert_uint_eq(res.version, l < 2 ? 1 : 2);
		qd_listdoc *back = NULL;
		ck_assert_int_eq(qd_store_get_doc(st, lists[l], res.version, &back), 0);
		ck_assert_uint_eq(back->n_entries, doc->n_entries);
		for (size_t i = 0; i < doc->n_entries; i++) {
			ck_assert_uint_eq(back->entries[i].json_len, doc->entries[i].json_len);
			ck_assert(memcmp(back->entries[i].json, doc->entries[i].json, doc->entries[i].json_len) == 0);
		}
		qd_listdoc_free(back);
		expect_verify_clean(st);
	}
	qd_listdoc_free(doc);
	qd_store_stats ss;
	ck_assert_int_eq(qd_store_stats_get(st, &ss), 0);
	ck_assert_uint_eq(ss.entries, 4 * 15);
	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

/* A document big enough that its entries render and compress on two
 * threads: the stored hash, the exported version, lookups and entry pages
 * still give exactly the canonical bytes. */
START_TEST(big_document_renders_exactly)
{
	enum { N = 9001 };
	qd_buf e;
	qd_buf_init(&e);
	qd_buf_putc(&e, '[');
	for (int i = 0; i < N; i++)
		qd_buf_printf(&e, "%s{'id':'R-%05d','code':'%010ld','name':{'zh':'物品\\\"%d\\n','en':'item %d'},"
			      "'quantity':{'limit':%d.%d,'unit':'kg'},'conditions':[{'type':'note','text':'第%d条'}],"
			      "'valid_from':'2026-01-%02d','clauses':['C-1']}",
			      i ? "," : "", i, 3800000000 + i * 7L, i, i, i + 1, i % 10, i, 1 + i % 28);
	qd_buf_putc(&e, ']');
	qd_listdoc *doc = mkdoc("big", "positive", "[]", qd_buf_cstr(&e));
	qd_buf_free(&e);
	ck_assert_uint_eq(doc->n_entries, N);
	size_t len = 0;
	char *dump = qd_listdoc_dump(doc, &len);
	ck_assert_ptr_nonnull(dump);
	char want[QD_SHA256_HEX];
	qd_sha256_hex(dump, len, want);

	/* Stored compressed (the default keeps a version this small plain). */
	char *dir = fx_fresh_dir();
	qd_store_opts so;
	qd_store_opts_default(&so);
	so.compress_min_bytes = 0;
	qd_store *st = fx_open_store(dir, &so);
	qd_put_opts o = put_opts();
	qd_put_result res;
	qd_problems pr;
	qd_problems_init(&pr);
	ck_assert_int_eq(qd_store_put(st, doc, &o, &res, &pr), 0);
	ck_assert_str_eq(res.sha256, want);
	ck_assert_uint_eq(res.added, N);
	{
		/* The same version stored plain takes well over twice the room. */
		char *pdir = fx_fresh_dir();
		qd_store *plain = fx_open_store(pdir, NULL);
		qd_put_result pres;
		ck_assert_int_eq(qd_store_put(plain, doc, &o, &pres, &pr), 0);
		ck_assert_str_eq(pres.sha256, want);
		qd_store_stats zs, ps;
		ck_assert_int_eq(qd_store_stats_get(st, &zs), 0);
		ck_assert_int_eq(qd_store_stats_get(plain, &ps), 0);
		ck_assert_msg(zs.map_used * 2 < ps.map_used, "compressed %llu bytes, plain %llu",
			      (unsigned long long)zs.map_used, (unsigned long long)ps.map_used);
		qd_store_close(plain);
		fx_rm_rf(pdir);
		free(pdir);
	}

	qd_listdoc *back = NULL;
	ck_assert_int_eq(qd_store_get_doc(st, "big", res.version, &back), 0);
	size_t blen = 0;
	char *bdump = qd_listdoc_dump(back, &blen);
	ck_assert_ptr_nonnull(bdump);
	ck_assert_uint_eq(blen, len);
	ck_assert(memcmp(bdump, dump, len) == 0);
	expect_verify_clean(st);

	/* A lookup reads back exactly the entry the document held. */
	qd_snap *sn = qd_snap_new(st);
	ck_assert_int_eq(qd_snap_open(sn), 0);
	const qd_list_info *l = snap_list(sn, "big");
	ck_assert_ptr_nonnull(l);
	for (size_t i = 0; i < N; i += 997) {
		char code[16];
		snprintf(code, sizeof code, "%010ld", 3800000000 + (long)i * 7L);
		qd_code q = qcode(code);
		const qd_cand *c = NULL;
		size_t n = 0;
		ck_assert_int_eq(qd_snap_candidates(sn, l, &q, &c, &n), 0);
		ck_assert_uint_eq(n, 1);
		qd_buf got;
		qd_buf_init(&got);
		ck_assert_int_eq(qd_snap_entry_json(sn, l, &c[0], &got), 0);
		size_t wl = 0;
		char *want_json = qd_listdoc_entry_json(doc, i, &wl);
		ck_assert_uint_eq(got.len, wl);
		ck_assert_str_eq(got.data, want_json);
		free(want_json);
		qd_buf_free(&got);
	}
	qd_snap_close(sn);
	qd_snap_free(sn);
	/* And so does a page of entries. */
	ck_str_free_eq(all_ids(st, "big", "380000000"), "R-00000,R-00001");

	free(bdump);
	free(dump);
	qd_listdoc_free(back);
	qd_listdoc_free(doc);
	qd_problems_free(&pr);
	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(entries_paging)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	put_ok(st, "codes", "positive", "[]", CODES_ENTRIES, NULL);

	/* Everything, in code order. */
	ck_str_free_eq(all_ids(st, "codes", ""), CODES_ORDER);
	/* Prefix filtering. */
	ck_str_free_eq(all_ids(st, "codes", "3822"),
		       "E-3822,E-382219,E-3822190090,E-3822190090-101");
	ck_str_free_eq(all_ids(st, "codes", "38"), "E-38,E-3822,E-382219,E-3822190090,"
						   "E-3822190090-101,E-3823");
	ck_str_free_eq(all_ids(st, "codes", "3822190090"), "E-3822190090,E-3822190090-101");
	ck_str_free_eq(all_ids(st, "codes", "9"), "E-9027,E-902780");
	ck_str_free_eq(all_ids(st, "codes", "5"), "");

	/* Limit: the first page holds exactly `limit` entries and has a cursor. */
	char *next = NULL;
	ck_str_free_eq(page_ids(st, "codes", "", NULL, 3, &next), "E-38,E-3822,E-382219");
	ck_assert_ptr_nonnull(next);
	free(next);

	/* Walking with every page size visits every entry once, in order. */
	for (size_t limit = 1; limit <= 9; limit++) {
		qd_buf all;
		qd_buf_init(&all);
		char *cursor = NULL;
		unsigned pages = 0;
		do {
			char *nx = NULL;
			char *ids = page_ids(st, "codes", "", cursor, limit, &nx);
			if (all.len && ids[0])
				qd_buf_putc(&all, ',');
			qd_buf_puts(&all, ids);
			free(ids);
			free(cursor);
			cursor = nx;
			pages++;
			ck_assert_uint_le(pages, 9);
		} while (cursor);
		ck_assert_str_eq(qd_buf_cstr(&all), CODES_ORDER);
		ck_assert_uint_eq(pages, (8 + limit - 1) / limit);
		qd_buf_free(&all);
	}

	/* The same within a prefix: two pages of two, no empty third page. */
	ck_str_free_eq(page_ids(st, "codes", "3822", NULL, 2, &next), "E-3822,E-382219");
	ck_assert_ptr_nonnull(next);
	char *next2 = NULL;
	ck_str_free_eq(page_ids(st, "codes", "3822", next, 2, &next2),
		       "E-3822190090,E-3822190090-101");
	ck_assert_ptr_null(next2);
	free(next);

	/* Bad cursors. */
	char sentinel[] = "x";
	qd_entries_page pg = {.next = sentinel};
	ck_assert_int_eq(qd_store_entries_page(st, "codes", "", "zz", 2, &pg), QD_EINVAL);
	ck_assert_ptr_null(pg.next);
	ck_assert_uint_eq(pg.n, 0);
	pg.next = sentinel;
	ck_assert_int_eq(qd_store_entries_page(st, "codes", "", "abc", 2, &pg), QD_EINVAL);
	ck_assert_ptr_null(pg.next);
	ck_assert_int_eq(qd_store_entries_page(st, "codes", "", "", 2, &pg), QD_EINVAL);
	/* A prefix longer than any code. */
	ck_assert_int_eq(qd_store_entries_page(st, "codes", "38221900901", NULL, 2, &pg),
			 QD_EINVAL);
	/* Unknown list. */
	pg.next = sentinel;
	ck_assert_int_eq(qd_store_entries_page(st, "nope", "", NULL, 2, &pg), QD_ENOLIST);
	ck_assert_ptr_null(pg.next);
	ck_assert_uint_eq(pg.n, 0);

	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(snapshot_candidates_and_members)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	put_ok(st, "codes", "positive", ROSTER, CODES_ENTRIES, NULL);
	put_ok(st, "other", "whitelist", "[]",
	       "[" ENT("W-1", "3822", ",'entities':['" E_OUT "','hk:1']") "]", NULL);

	qd_snap *s = qd_snap_new(st);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(qd_snap_open(s), 0);
	const qd_list_info *ls = NULL;
	size_t n = 0;
	ck_assert_int_eq(qd_snap_lists(s, &ls, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(ls[0].id, "codes");
	ck_assert_str_eq(ls[1].id, "other");
	ck_assert_uint_eq(ls[0].version, 1);
	ck_assert_uint_eq(ls[0].entries, 8);
	ck_assert_uint_eq(ls[0].members, 2);
	ck_assert_int_eq(ls[1].kind, QD_KIND_WHITELIST);
	const qd_list_info *l = &ls[0];

	/* Every prefix of the queried code, CIQ-less entries only. */
	ck_str_free_eq(snap_cands(s, l, "3822190090", NULL),
		       "E-38,E-3822,E-382219,E-3822190090");
	ck_str_free_eq(snap_cands(s, l, "3822.1900.90", NULL),
		       "E-38,E-3822,E-382219,E-3822190090");
	/* The CIQ-specific entry joins only for its own CIQ code. */
	ck_str_free_eq(snap_cands(s, l, "3822190090", "101"),
		       "E-38,E-3822,E-382219,E-3822190090,E-3822190090-101");
	ck_str_free_eq(snap_cands(s, l, "3822190090101", NULL),
		       "E-38,E-3822,E-382219,E-3822190090,E-3822190090-101");
	ck_str_free_eq(snap_cands(s, l, "3822190090", "102"),
		       "E-38,E-3822,E-382219,E-3822190090");
	/* Shorter queries see only entries at or above their level. */
	ck_str_free_eq(snap_cands(s, l, "382219", NULL), "E-38,E-3822,E-382219");
	ck_str_free_eq(snap_cands(s, l, "38", NULL), "E-38");
	/* Siblings and unrelated codes. */
	ck_str_free_eq(snap_cands(s, l, "3822200000", NULL), "E-38,E-3822");
	ck_str_free_eq(snap_cands(s, l, "3823000000", NULL), "E-38,E-3823");
	ck_str_free_eq(snap_cands(s, l, "9027800000", NULL), "E-9027,E-902780");
	ck_str_free_eq(snap_cands(s, l, "3900000000", NULL), "");
	ck_str_free_eq(snap_cands(s, l, "39", NULL), "");

	/* Decoded candidate fields. */
	qd_code q = qcode("3822190090101");
	const qd_cand *c = NULL;
	ck_assert_int_eq(qd_snap_candidates(s, l, &q, &c, &n), 0);
	ck_assert_uint_eq(n, 5);
	const qd_cand *ciq = NULL, *head = NULL;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(c[i].id, "E-3822190090-101") == 0)
			ciq = &c[i];
		if (strcmp(c[i].id, "E-3822") == 0)
			head = &c[i];
	}
	ck_assert_ptr_nonnull(ciq);
	ck_assert_ptr_nonnull(head);
	ck_assert_uint_eq(ciq->code_len, 10);
	ck_assert(ciq->has_ciq);
	ck_assert_uint_eq(head->code_len, 4);
	ck_assert(!head->has_ciq);
	ck_assert_int_eq(head->status, QD_STATUS_ACTIVE);
	ck_assert_int_eq(head->effect, QD_EFFECT_INCLUDE);
	ck_assert_int_eq(head->valid_from, QD_DATE_MIN);
	ck_assert_int_eq(head->valid_to, QD_DATE_MAX);
	ck_assert_uint_eq(head->n_entities, 0);
	json_t *ej = json_loadb(ciq->entry_json, ciq->entry_json_len, 0, NULL);
	ck_assert_ptr_nonnull(ej);
	ck_assert_str_eq(json_string_value(json_object_get(ej, "id")), "E-3822190090-101");
	ck_assert_str_eq(json_string_value(json_object_get(ej, "code")), "3822190090");
	ck_assert_str_eq(json_string_value(json_object_get(ej, "ciq")), "101");
	json_decref(ej);
	qd_buf cb;
	qd_buf_init(&cb);
	ck_assert_int_eq(qd_snap_clauses_json(s, l, ciq, &cb), 0);
	json_t *cj = json_loadb(cb.data, cb.len, 0, NULL);
	qd_buf_free(&cb);
	ck_assert_ptr_nonnull(cj);
	ck_assert_uint_eq(json_array_size(cj), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(cj, 0), "id")), "C-1");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(cj, 0), "document")),
			 "署综函〔2022〕143号");
	json_decref(cj);

	/* Entry scope, status and window travel with the candidate. */
	const qd_list_info *ol = &ls[1];
	ck_assert_int_eq(qd_snap_candidates(s, ol, &q, &c, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(c[0].id, "W-1");
	ck_assert_uint_eq(c[0].n_entities, 2);
	ck_assert_str_eq(c[0].entities, E_OUT);
	ck_assert_str_eq(c[0].entities + strlen(E_OUT) + 1, "HK:1");

	/* Roster lookups. */
	qd_member_rec m;
	ck_assert_int_eq(qd_snap_member(s, l, E_OK, &m), 0);
	ck_assert_int_eq(m.status, QD_STATUS_ACTIVE);
	ck_assert_int_eq(m.valid_from, QD_DATE_MIN);
	ck_assert_int_eq(m.valid_to, QD_DATE_MAX);
	ck_assert_int_eq(qd_snap_member(s, l, E_HK, &m), 0);
	ck_assert_int_eq(m.status, QD_STATUS_SUSPENDED);
	ck_assert_int_eq(m.valid_from, day("2027-01-01"));
	ck_assert_int_eq(m.valid_to, day("2027-12-31"));
	ck_assert_int_eq(qd_snap_member(s, l, E_OUT, &m), QD_ENOENT);
	ck_assert_int_eq(qd_snap_member(s, l, "", &m), QD_ENOENT);
	/* a list without a roster */
	ck_assert_int_eq(qd_snap_member(s, ol, E_OUT, &m), QD_ENOENT);

	qd_snap_free(s);
	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(snapshot_isolation)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	put_ok(st, "codes", "positive", ROSTER, CODES_ENTRIES, NULL);

	qd_snap *old = qd_snap_new(st);
	ck_assert_ptr_nonnull(old);
	ck_assert_int_eq(qd_snap_open(old), 0);
	const qd_list_info *l = snap_list(old, "codes");
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(l->version, 1);
	ck_str_free_eq(snap_cands(old, l, "3822190090", NULL), "E-38,E-3822,E-382219,E-3822190090");

	/* Version 2: the chapter entry and the HK member go, a new entry and a
	 * new list arrive. */
	put_ok(st, "codes", "positive", "[{'id':'" E_OK "','name':{'zh':'示例研究院'}}]",
	       "[" ENT("E-3822", "3822", "") "," ENT("E-NEW", "382219", "") "]", NULL);
	put_ok(st, "added", "positive", "[]", "[" ENT("A", "3822", "") "]", NULL);

	/* The open snapshot still sees version 1, everywhere. */
	const qd_list_info *ls = NULL;
	size_t n = 0;
	ck_assert_int_eq(qd_snap_lists(old, &ls, &n), 0);
	ck_assert_uint_eq(n, 1);
	l = snap_list(old, "codes");
	ck_assert_uint_eq(l->version, 1);
	ck_assert_uint_eq(l->entries, 8);
	ck_str_free_eq(snap_cands(old, l, "3822190090", NULL), "E-38,E-3822,E-382219,E-3822190090");
	qd_member_rec m;
	ck_assert_int_eq(qd_snap_member(old, l, E_HK, &m), 0);

	/* A new snapshot sees version 2. */
	qd_snap *fresh = qd_snap_new(st);
	ck_assert_ptr_nonnull(fresh);
	ck_assert_int_eq(qd_snap_open(fresh), 0);
	ck_assert_int_eq(qd_snap_lists(fresh, &ls, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(ls[0].id, "added");
	l = snap_list(fresh, "codes");
	ck_assert_uint_eq(l->version, 2);
	ck_assert_uint_eq(l->entries, 2);
	ck_str_free_eq(snap_cands(fresh, l, "3822190090", NULL), "E-3822,E-NEW");
	ck_assert_int_eq(qd_snap_member(fresh, l, E_HK, &m), QD_ENOENT);
	qd_snap_free(fresh);

	/* Closing and reopening the old handle moves it to the present. */
	qd_snap_close(old);
	ck_assert_int_eq(qd_snap_open(old), 0);
	l = snap_list(old, "codes");
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(l->version, 2);
	ck_str_free_eq(snap_cands(old, l, "3822190090", NULL), "E-3822,E-NEW");
	ck_assert_int_eq(qd_snap_member(old, l, E_HK, &m), QD_ENOENT);
	ck_assert_int_eq(qd_snap_lists(old, &ls, &n), 0);
	ck_assert_uint_eq(n, 2);
	/* opening an open snapshot is harmless */
	ck_assert_int_eq(qd_snap_open(old), 0);
	qd_snap_close(old);
	/* a closed snapshot refuses reads */
	ck_assert_int_ne(qd_snap_lists(old, &ls, &n), 0);
	qd_snap_free(old);

	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(reopen_keeps_data)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_put_result v1, v2;
	put_ok(st, "codes", "positive", ROSTER, CODES_ENTRIES, &v1);
	put_ok(st, "codes", "positive", ROSTER, CODES_ENTRIES, &v2);
	ck_assert_uint_eq(v2.version, 2);
	qd_store_close(st);

	st = fx_open_store(dir, NULL);
	qd_list_info li;
	ck_assert_int_eq(qd_store_list(st, "codes", &li), 0);
	ck_assert_uint_eq(li.version, 2);
	ck_assert_uint_eq(li.entries, 8);
	ck_assert_uint_eq(li.members, 2);
	ck_assert_str_eq(li.sha256, v2.sha256);
	ck_assert_int_eq(li.loaded_at, NOW);
	free(li.title);
	ck_str_free_eq(all_ids(st, "codes", ""), CODES_ORDER);

	qd_snap *s = qd_snap_new(st);
	ck_assert_int_eq(qd_snap_open(s), 0);
	const qd_list_info *l = snap_list(s, "codes");
	ck_assert_ptr_nonnull(l);
	ck_str_free_eq(snap_cands(s, l, "3822190090", "101"),
		       "E-38,E-3822,E-382219,E-3822190090,E-3822190090-101");
	qd_member_rec m;
	ck_assert_int_eq(qd_snap_member(s, l, E_OK, &m), 0);
	qd_snap_free(s);

	/* The next version continues the numbering. */
	qd_put_result v3;
	put_ok(st, "codes", "positive", ROSTER, CODES_ENTRIES, &v3);
	ck_assert_uint_eq(v3.version, 3);
	ck_assert_uint_eq(v3.previous, 2);
	qd_store_close(st);

	/* A read-only open of an initialised store reads it. */
	qd_store_opts ro;
	qd_store_opts_default(&ro);
	ro.read_only = true;
	st = fx_open_store(dir, &ro);
	ck_assert_int_eq(qd_store_list(st, "codes", &li), 0);
	ck_assert_uint_eq(li.version, 3);
	free(li.title);
	qd_store_close(st);

	fx_rm_rf(dir);
	free(dir);
}
END_TEST

/* A missing list and a missing version are told apart by every reader:
 * QD_ENOLIST, QD_ENOVERSION (never stored) and QD_EGONE (pruned). */
START_TEST(missing_list_or_version)
{
	char *dir = fx_fresh_dir();
	qd_store_opts opts;
	qd_store_opts_default(&opts);
	opts.retain = 2;
	qd_store *st = fx_open_store(dir, &opts);
	/* nf: versions 2 and 3 kept, 1 pruned; once: version 1 only. */
	put_ok(st, "nf", "positive", "[]", "[" ENT("A", "3822", "") "]", NULL);
	put_ok(st, "nf", "positive", "[]", "[" ENT("B", "9027", "") "]", NULL);
	put_ok(st, "nf", "positive", "[]", "[" ENT("C", "2934", "") "]", NULL);
	put_ok(st, "once", "positive", "[]", "[" ENT("A", "3822", "") "]", NULL);

	qd_list_info li;
	ck_assert_int_eq(qd_store_list(st, "nope", &li), QD_ENOLIST);

	qd_versions vs;
	ck_assert_int_eq(qd_store_versions(st, "nope", &vs), QD_ENOLIST);

	qd_listdoc *doc = NULL;
	ck_assert_int_eq(qd_store_get_doc(st, "nope", 1, &doc), QD_ENOLIST);
	ck_assert_int_eq(qd_store_get_doc(st, "nope", 0, &doc), QD_ENOLIST);
	ck_assert_int_eq(qd_store_get_doc(st, "nf", 4, &doc), QD_ENOVERSION);
	ck_assert_int_eq(qd_store_get_doc(st, "nf", 1, &doc), QD_EGONE);
	ck_assert_int_eq(qd_store_get_head(st, "nope", 1, &doc), QD_ENOLIST);
	ck_assert_int_eq(qd_store_get_head(st, "nf", 4, &doc), QD_ENOVERSION);
	ck_assert_int_eq(qd_store_get_head(st, "nf", 1, &doc), QD_EGONE);
	ck_assert_ptr_null(doc);

	/* A diff says which of its versions is missing. */
	static const struct {
		const char *list;
		uint32_t from, to;
		int rc;
		uint32_t missing;
	} diffs[] = {
		{"nope", 1, 2, QD_ENOLIST, 0},
		{"nope", 0, 0, QD_ENOLIST, 0},
		{"nf", 4, 2, QD_ENOVERSION, 4},
		{"nf", 2, 4, QD_ENOVERSION, 4},
		{"nf", 0, 9, QD_ENOVERSION, 9},
		{"nf", 8, 9, QD_ENOVERSION, 8},
		{"nf", 1, 3, QD_EGONE, 1},
		{"nf", 3, 1, QD_EGONE, 1},
		{"nf", 1, 9, QD_EGONE, 1},
		{"nf", 9, 1, QD_ENOVERSION, 9},
		{"nf", 2, 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof diffs / sizeof diffs[0]; i++) {
		qd_diff d;
		int rc = qd_store_diff(st, diffs[i].list, diffs[i].from, diffs[i].to, &d);
		ck_assert_msg(rc == diffs[i].rc, "diff %s %u..%u: %d (%s), expected %d", diffs[i].list,
			      diffs[i].from, diffs[i].to, rc, qd_strerror(rc), diffs[i].rc);
		ck_assert_msg(d.missing == diffs[i].missing, "diff %s %u..%u: missing %u, expected %u",
			      diffs[i].list, diffs[i].from, diffs[i].to, d.missing, diffs[i].missing);
		qd_diff_free(&d);
	}

	qd_entries_page pg;
	ck_assert_int_eq(qd_store_entries_page(st, "nope", "", NULL, 2, &pg), QD_ENOLIST);
	ck_assert_int_eq(qd_store_entries_page(st, "nope", "38", NULL, 2, &pg), QD_ENOLIST);

	qd_snap *s = qd_snap_new(st);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(qd_snap_open(s), 0);
	ck_assert_int_eq(qd_snap_list_version(s, "nope", 1, &li), QD_ENOLIST);
	ck_assert_int_eq(qd_snap_list_version(s, "nf", 4, &li), QD_ENOVERSION);
	ck_assert_int_eq(qd_snap_list_version(s, "nf", 1, &li), QD_EGONE);
	ck_assert_int_eq(qd_snap_list_version(s, "nf", 2, &li), 0);
	ck_assert_int_eq(qd_snap_list_at(s, "nope", NOW, &li), QD_ENOLIST);
	/* Before its first version a list did not exist yet, unless versions
	 * were pruned: one of them may have been current then. */
	ck_assert_int_eq(qd_snap_list_at(s, "once", NOW - 1, &li), QD_ENOLIST);
	ck_assert_int_eq(qd_snap_list_at(s, "nf", NOW - 1, &li), QD_EGONE);
	ck_assert_int_eq(qd_snap_list_at(s, "once", NOW, &li), 0);
	ck_assert_uint_eq(li.version, 1);
	const qd_list_info *at;
	size_t n;
	ck_assert_int_eq(qd_snap_lists_at(s, NOW - 1, &at, &n), QD_EGONE);
	qd_snap_free(s);

	qd_store_close(st);
	fx_rm_rf(dir);
	free(dir);
}
END_TEST

/* ---- per-entry limits ---- */

/* A document for list "huge": `small` one-line entries, then entry "HUGE"
 * with `conds` remarks of 2 000 bytes each (within the 2 048 a string may
 * take), which render to about 2 030 bytes apiece. */
static qd_listdoc *doc_with_huge_entry(size_t small, size_t conds)
{
	qd_buf b;
	qd_buf_init(&b);
	char *cl = fx_dq(CLAUSE);
	qd_buf_printf(&b, "{\"list\":\"huge\",\"kind\":\"positive\",\"title\":{\"zh\":\"大条目\"},"
		      "\"clauses\":[%s],\"entries\":[", cl);
	free(cl);
	for (size_t i = 0; i < small; i++)
		qd_buf_printf(&b, "{\"id\":\"E%05zu\",\"code\":\"%010zu\",\"name\":{\"zh\":\"物品 %zu\","
			      "\"en\":\"item %zu\"},\"spec\":\"%zu ml\",\"clauses\":[\"C-1\"]},",
			      i, 3800000000 + i * 13, i, i * 7, 1 + i % 500);
	qd_buf_puts(&b, "{\"id\":\"HUGE\",\"code\":\"3822\",\"name\":{\"zh\":\"大\"},"
		    "\"clauses\":[\"C-1\"],\"conditions\":[");
	char text[2001];
	memset(text, 'x', 2000);
	text[2000] = '\0';
	for (size_t i = 0; i < conds; i++) {
		memcpy(text, "remark ", 7);
		snprintf(text + 7, 12, "%010u", (unsigned)i);
		text[17] = 'x';
		qd_buf_printf(&b, "%s{\"type\":\"remark\",\"text\":\"%s\"}", i ? "," : "", text);
	}
	qd_buf_puts(&b, "]}]}");
	ck_assert(!b.oom);
	qd_listdoc *doc = fx_parse_doc(b.data, b.len, "huge");
	qd_buf_free(&b);
	return doc;
}

/* An entry that renders past QD_ENTRY_JSON_MAX is refused at /entries/i
 * and nothing is stored: stored compressed, no reader could inflate it. */
START_TEST(entry_over_json_max_refused)
{
	qd_listdoc *doc = doc_with_huge_entry(1200, 8500);
	size_t hl = 0;
	char *hj = qd_listdoc_entry_json(doc, 1200, &hl);
	ck_assert_ptr_nonnull(hj);
	free(hj);
	ck_assert_uint_gt(hl, QD_ENTRY_JSON_MAX);

	char *dir = fx_fresh_dir();
	qd_store_opts so;
	qd_store_opts_default(&so);
	so.compress_min_bytes = 0;
	qd_store *st = fx_open_store(dir, &so);
	qd_put_opts o = put_opts();
	qd_put_result res;
	qd_problems pr;
	qd_problems_init(&pr);
	int rc = qd_store_put(st, doc, &o, &res, &pr);
	qd_listdoc *back = NULL;
	int back_rc = rc == 0 ? qd_store_get_doc(st, "huge", 0, &back) : 0;
	qd_listdoc_free(back);
	ck_assert_msg(rc == QD_EINVAL, "put: %d (reading it back: %d)", rc, back_rc);
	ck_assert_uint_eq(pr.count, 1);
	ck_assert_str_eq(pr.items[0].path, "/entries/1200");
	ck_assert_msg(strstr(pr.items[0].message, "\"HUGE\"") && strstr(pr.items[0].message, "at most 16777216"),
		      "message: %s", pr.items[0].message);
	qd_problems_free(&pr);

	/* A dry run says the same. */
	o.dry_run = true;
	qd_problems_init(&pr);
	ck_assert_int_eq(qd_store_put(st, doc, &o, &res, &pr), QD_EINVAL);
	ck_assert_str_eq(pr.items[0].path, "/entries/1200");
	qd_problems_free(&pr);

	qd_list_info *ls = NULL;
	size_t nl = 9;
	ck_assert_int_eq(qd_store_lists(st, &ls, &nl), 0);
	ck_assert_uint_eq(nl, 0);
	qd_list_infos_free(ls, nl);
	expect_verify_clean(st);
	qd_store_close(st);
	qd_listdoc_free(doc);
	fx_drop_dir(dir);
}
END_TEST

/* Just under the bound, the same entry is stored compressed and reads
 * back whole, by export and by lookup. */
START_TEST(entry_under_json_max_reads_back)
{
	qd_listdoc *doc = doc_with_huge_entry(1200, 8000);
	size_t hl = 0;
	char *hj = qd_listdoc_entry_json(doc, 1200, &hl);
	ck_assert_ptr_nonnull(hj);
	ck_assert_uint_le(hl, QD_ENTRY_JSON_MAX);
	ck_assert_uint_gt(hl, QD_ENTRY_JSON_MAX - (1u << 20));

	char *dir = fx_fresh_dir();
	qd_store_opts so;
	qd_store_opts_default(&so);
	so.compress_min_bytes = 0;
	qd_store *st = fx_open_store(dir, &so);
	qd_put_opts o = put_opts();
	qd_put_result res;
	qd_problems pr;
	qd_problems_init(&pr);
	ck_assert_int_eq(qd_store_put(st, doc, &o, &res, &pr), 0);
	qd_store_stats zs;
	ck_assert_int_eq(qd_store_stats_get(st, &zs), 0);
	ck_assert_msg(zs.map_used < hl / 2, "not stored compressed: %llu bytes used",
		      (unsigned long long)zs.map_used);

	qd_listdoc *back = NULL;
	ck_assert_int_eq(qd_store_get_doc(st, "huge", res.version, &back), 0);
	ck_assert_uint_eq(back->n_entries, 1201);
	qd_listdoc_free(back);

	qd_snap *sn = qd_snap_new(st);
	ck_assert_int_eq(qd_snap_open(sn), 0);
	const qd_list_info *l = snap_list(sn, "huge");
	qd_code q = qcode("3822");
	const qd_cand *c = NULL;
	size_t n = 0;
	ck_assert_int_eq(qd_snap_candidates(sn, l, &q, &c, &n), 0);
	ck_assert_uint_eq(n, 1);
	qd_buf got;
	qd_buf_init(&got);
	ck_assert_int_eq(qd_snap_entry_json(sn, l, &c[0], &got), 0);
	ck_assert_uint_eq(got.len, hl);
	ck_assert(memcmp(got.data, hj, hl) == 0);
	qd_buf_free(&got);
	qd_snap_close(sn);
	qd_snap_free(sn);
	expect_verify_clean(st);

	free(hj);
	qd_problems_free(&pr);
	qd_store_close(st);
	qd_listdoc_free(doc);
	fx_drop_dir(dir);
}
END_TEST

/* An entry citing QD_ENTRY_CLAUSES_MAX clauses keeps every one in its
 * record. */
START_TEST(entry_clauses_max_stored_whole)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_puts(&b, "{\"list\":\"many\",\"kind\":\"positive\",\"title\":{\"zh\":\"多条款\"},\"clauses\":[");
	for (int i = 0; i < QD_ENTRY_CLAUSES_MAX; i++)
		qd_buf_printf(&b, "%s{\"id\":\"C-%d\",\"document\":\"d\",\"article\":\"%d\",\"text\":\"t\"}",
			      i ? "," : "", i, i);
	qd_buf_puts(&b, "],\"entries\":[{\"id\":\"A\",\"code\":\"3822\",\"name\":{\"zh\":\"物品\"},\"clauses\":[");
	for (int i = 0; i < QD_ENTRY_CLAUSES_MAX; i++)
		qd_buf_printf(&b, "%s\"C-%d\"", i ? "," : "", i);
	qd_buf_puts(&b, "]}]}");
	qd_listdoc *doc = fx_parse_doc(b.data, b.len, "many");
	qd_buf_free(&b);

	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_put_opts o = put_opts();
	fx_put_doc_ok(st, doc, &o, NULL);
	qd_snap *sn = qd_snap_new(st);
	ck_assert_int_eq(qd_snap_open(sn), 0);
	const qd_list_info *l = snap_list(sn, "many");
	qd_code q = qcode("3822");
	const qd_cand *c = NULL;
	size_t n = 0;
	ck_assert_int_eq(qd_snap_candidates(sn, l, &q, &c, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(c[0].n_clauses, QD_ENTRY_CLAUSES_MAX);
	qd_snap_close(sn);
	qd_snap_free(sn);
	expect_verify_clean(st);
	qd_store_close(st);
	qd_listdoc_free(doc);
	fx_drop_dir(dir);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("store");

	tcase_add_unchecked_fixture(tc, root_setup, root_teardown);
	tcase_add_test(tc, open_creates_databases);
	tcase_add_test(tc, read_only_fresh_dir_fails);
	tcase_add_test(tc, put_new_list);
	tcase_add_test(tc, sha256_is_of_canonical_dump);
	tcase_add_test(tc, second_put_diff);
	tcase_add_test(tc, dry_run_stores_nothing);
	tcase_add_test(tc, if_match);
	tcase_add_test(tc, kind_cannot_change);
	tcase_add_test(tc, lists_ordered_with_titles);
	tcase_add_test(tc, unknown_list);
	tcase_add_test(tc, retention);
	tcase_add_test(tc, retain_one);
	tcase_add_test(tc, retention_large);
	tcase_add_test(tc, big_document_renders_exactly);
	tcase_add_test(tc, entries_in_key_order_or_between);
	tcase_add_test(tc, entries_paging);
	tcase_add_test(tc, snapshot_candidates_and_members);
	tcase_add_test(tc, snapshot_isolation);
	tcase_add_test(tc, reopen_keeps_data);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_unchecked_fixture(tc, root_setup, root_teardown);
	tcase_add_test(tc, missing_list_or_version);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_unchecked_fixture(tc, root_setup, root_teardown);
	tcase_add_test(tc, entry_over_json_max_refused);
	tcase_add_test(tc, entry_under_json_max_reads_back);
	tcase_add_test(tc, entry_clauses_max_stored_whole);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
