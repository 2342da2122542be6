/* Unit tests: CSV import of list entries (src/lib/csvdoc/).
 *
 * Base documents are the sample lists of schema/examples/; the CSV files
 * are in tests/data/csv/ (one for each sample list, in UTF-8, UTF-8 with
 * BOM and GB18030, plus broken ones). */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qingdan/csvdoc.h"
#include "qingdan/err.h"
#include "fixture.h"
#include "qingdan/listdoc.h"
#include "qingdan/problems.h"

#include <jansson.h>

/* ---- helpers ------------------------------------------------------------ */

static char *read_file(const char *rel, size_t *len)
{
	const char *root = getenv("QD_SOURCE_ROOT");
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", root ? root : ".", rel);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s (set QD_SOURCE_ROOT)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* A string literal as bytes and length (it may hold NUL bytes). */
#define BYTES(lit) (lit), (sizeof(lit) - 1)

#define GBA "gba-research-positive"
#define BIOMED "biomed-rd-whitelist"

static qd_listdoc *base_doc(const char *list)
{
	char rel[256];
	size_t len;
	char *buf;
	qd_listdoc *doc = NULL;

	snprintf(rel, sizeof(rel), "schema/examples/%s.json", list);
	buf = read_file(rel, &len);
	ck_assert_int_eq(qd_listdoc_parse(buf, len, list, &doc, NULL), 0);
	free(buf);
	return doc;
}

static void dump_problems(const qd_problems *p)
{
	for (size_t i = 0; i < p->count; i++)
		fprintf(stderr, "  problem %zu: line %u column %u: %s\n", i, p->items[i].line,
			p->items[i].column, p->items[i].message);
}

/* Import CSV bytes against the sample list `list`. */
static int import_buf(const char *buf, size_t len, const char *charset, const char *list,
		      qd_listdoc **out, qd_problems *p)
{
	qd_listdoc *base = base_doc(list);
	int rc = qd_csv_to_listdoc(buf, len, charset, base, out, p);

	qd_listdoc_free(base);
	return rc;
}

static int import_str(const char *csv, const char *list, qd_listdoc **out, qd_problems *p)
{
	return import_buf(csv, strlen(csv), NULL, list, out, p);
}

/* Import a fixture that must load cleanly. */
static qd_listdoc *import_ok(const char *fixture, const char *charset, const char *list)
{
	char rel[256];
	size_t len;
	char *buf;
	qd_listdoc *doc = NULL;
	qd_problems p;
	int rc;

	snprintf(rel, sizeof(rel), "tests/data/csv/%s", fixture);
	buf = read_file(rel, &len);
	qd_problems_init(&p);
	rc = import_buf(buf, len, charset, list, &doc, &p);
	if (rc != 0)
		dump_problems(&p);
	ck_assert_msg(rc == 0, "%s (charset %s): rc %d, %zu problems", fixture,
		      charset ? charset : "detected", rc, qd_problems_total(&p));
	ck_assert_ptr_nonnull(doc);
	qd_problems_free(&p);
	free(buf);
	return doc;
}

static int import_fixture(const char *fixture, const char *charset, const char *list,
			  qd_listdoc **out, qd_problems *p)
{
	char rel[256];
	size_t len;
	char *buf;
	int rc;

	snprintf(rel, sizeof(rel), "tests/data/csv/%s", fixture);
	buf = read_file(rel, &len);
	rc = import_buf(buf, len, charset, list, out, p);
	free(buf);
	return rc;
}

static bool has_problem(const qd_problems *p, unsigned line, unsigned column, const char *substr)
{
	for (size_t i = 0; i < p->count; i++) {
		if (p->items[i].path == NULL && p->items[i].line == line &&
		    p->items[i].column == column && strstr(p->items[i].message, substr) != NULL)
			return true;
	}
	return false;
}

#define ASSERT_PROBLEM(p, line, column, substr)                                             \
	do {                                                                                \
		if (!has_problem((p), (line), (column), (substr)))                          \
			dump_problems(p);                                                   \
		ck_assert_msg(has_problem((p), (line), (column), (substr)),                 \
			      "no problem at line %u column %u containing \"%s\"", (line),  \
			      (column), (substr));                                          \
	} while (0)

/* Exactly n problems (so a test also proves nothing spurious was said). */
#define ASSERT_COUNT(p, n)                                                                  \
	do {                                                                                \
		if (qd_problems_total(p) != (n))                                            \
			dump_problems(p);                                                   \
		ck_assert_uint_eq(qd_problems_total(p), (n));                               \
	} while (0)

/* Expect QD_EINVAL, no document, and exactly n problems. */
static void expect_invalid(int rc, qd_listdoc *doc, qd_problems *p, size_t n)
{
	if (rc != QD_EINVAL)
		dump_problems(p);
	ck_assert_int_eq(rc, QD_EINVAL);
	ck_assert_ptr_null(doc);
	ASSERT_COUNT(p, n);
}


static json_t *entry_json(const qd_listdoc *doc, size_t i)
{
	return fx_entry_tree(doc, i);
}

static const char *sval(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	ck_assert_msg(json_is_string(v), "%s is not a string", key);
	return json_string_value(v);
}

static void assert_same_doc(const qd_listdoc *a, const qd_listdoc *b)
{
	size_t la, lb;
	char *da = qd_listdoc_dump(a, &la), *db = qd_listdoc_dump(b, &lb);

	ck_assert_ptr_nonnull(da);
	ck_assert_ptr_nonnull(db);
	ck_assert_uint_eq(la, lb);
	ck_assert_str_eq(da, db);
	free(da);
	free(db);
}

/* Header of the gba tests below: every field, English names. */
#define EN_HEAD "id,code,ciq,name_zh,name_en,spec,effect,entities,valid_from,valid_to,status," \
		"waives,conditions,quantity_limit,quantity_unit,clauses,batch\n"

/* 说明 (notes) becomes a note after the 备注要求 remark; a problem of
 * the note is placed in its own column. */
START_TEST(notes_column)
{
	static const char head[] = "编号,商品编码,商品名称,备注要求,说明,依据条款\n";
	char *csv = malloc(8192), *long_note = malloc(2200);
	qd_listdoc *doc = NULL;
	qd_problems p;
	json_t *e, *c;
	int rc;

	qd_problems_init(&p);
	snprintf(csv, 8192, "%sPL-1,3822,试剂,跨境科研用物资正面清单,仅限自用,GACC-2022-143-1-1\n"
		 "PL-2,3821,培养基,,仅限自用,GACC-2022-143-1-1\n", head);
	rc = import_str(csv, GBA, &doc, &p);
	if (rc != 0)
		dump_problems(&p);
	ck_assert_int_eq(rc, 0);
	e = entry_json(doc, 0);
	c = json_object_get(e, "conditions");
	ck_assert_uint_eq(json_array_size(c), 2);
	ck_assert_str_eq(sval(json_array_get(c, 0), "type"), "remark");
	ck_assert_str_eq(sval(json_array_get(c, 1), "type"), "note");
	ck_assert_str_eq(sval(json_array_get(c, 1), "text"), "仅限自用");
	e = entry_json(doc, 1);
	c = json_object_get(e, "conditions");
	ck_assert_uint_eq(json_array_size(c), 1);
	ck_assert_str_eq(sval(json_array_get(c, 0), "type"), "note");
	qd_listdoc_free(doc);
	doc = NULL;

	/* A note of 2 100 characters is too long: column 5, not 4. */
	memset(long_note, 'x', 2100);
	long_note[2100] = '\0';
	snprintf(csv, 8192, "%sPL-1,3822,试剂,备注,%s,GACC-2022-143-1-1\n", head, long_note);
	rc = import_str(csv, GBA, &doc, &p);
	expect_invalid(rc, doc, &p, 1);
	ck_assert_uint_eq(p.items[0].line, 2);
	ck_assert_uint_eq(p.items[0].column, 5);
	qd_problems_free(&p);
	free(csv);
	free(long_note);
}
END_TEST

/* ---- valid files ------------------------------------------------------------ */

START_TEST(english_headers)
{
	qd_listdoc *doc = import_ok("gba-research-positive.csv", NULL, GBA);
	json_t *e, *q;

	ck_assert_str_eq(doc->list, GBA);
	ck_assert_uint_eq(doc->n_entries, 5);

	e = entry_json(doc, 0);
	ck_assert_str_eq(sval(e, "id"), "PL-0101");
	ck_assert_str_eq(sval(e, "code"), "38221900");
	ck_assert(json_is_null(json_object_get(e, "ciq")));
	ck_assert_str_eq(sval(json_object_get(e, "name"), "zh"), "实验用细胞培养基");
	ck_assert_str_eq(sval(json_object_get(e, "name"), "en"), "Cell culture media for research");
	ck_assert_str_eq(sval(e, "spec"), "限科研用, 不含人源成分");
	ck_assert_str_eq(sval(e, "valid_from"), "2025-01-01");
	ck_assert(json_is_null(json_object_get(e, "valid_to")));
	ck_assert_uint_eq(json_array_size(json_object_get(e, "waives")), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(e, "conditions")), 1);
	ck_assert_str_eq(sval(json_array_get(json_object_get(e, "conditions"), 0), "type"), "remark");
	ck_assert_str_eq(sval(json_array_get(json_object_get(e, "conditions"), 0), "text"),
			 "跨境科研用物资正面清单");
	q = json_object_get(e, "quantity");
	ck_assert(json_is_real(json_object_get(q, "limit")));
	ck_assert(json_real_value(json_object_get(q, "limit")) == 2.5);
	ck_assert_str_eq(sval(q, "unit"), "L");
	ck_assert_str_eq(sval(e, "batch"), "第四批");

	e = entry_json(doc, 1);
	ck_assert_str_eq(sval(e, "code"), "0106190090");
	ck_assert_str_eq(sval(e, "ciq"), "102");
	ck_assert_str_eq(doc->entries[1].code.ciq, "102");
	ck_assert_str_eq(sval(e, "valid_to"), "2027-12-31");
	q = json_object_get(e, "quantity");
	ck_assert(json_is_integer(json_object_get(q, "limit"))); /* 500 stays 500, not 500.0 */
	ck_assert_int_eq(json_integer_value(json_object_get(q, "limit")), 500);
	ck_assert_str_eq(sval(q, "unit"), "只");
	ck_assert(json_is_null(json_object_get(entry_json(doc, 2), "quantity")));

	/* A quoted field with a line break; a blank line before the next record. */
	e = entry_json(doc, 2);
	ck_assert_str_eq(sval(e, "spec"), "离子源、检测器\n及真空泵");
	ck_assert_int_eq(doc->entries[2].status, QD_STATUS_SUSPENDED);
	ck_assert_uint_eq(doc->entries[2].n_entities, 3);
	ck_assert_str_eq(doc->entries[2].entities[0], "HK:70012345");
	ck_assert_str_eq(doc->entries[2].entities[2], "MO:80321");
	ck_assert_uint_eq(doc->entries[2].n_clauses, 2);

	ck_assert_int_eq(doc->entries[3].effect, QD_EFFECT_EXCLUDE);
	ck_assert_str_eq(sval(entry_json(doc, 3), "code"), "30029030");

	/* Doubled quotes inside a quoted field. */
	e = entry_json(doc, 4);
	ck_assert_str_eq(sval(json_object_get(e, "name"), "zh"), "胨及其衍生物（含\"标准品\"）");
	ck_assert_int_eq(doc->entries[4].status, QD_STATUS_REVOKED);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "clauses"), 0)),
			 "SAMPLE-PL-EXCL-1");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "clauses"), 1)),
			 "GACC-2022-143-1-1");
	qd_listdoc_free(doc);
}
END_TEST

START_TEST(keeps_title_clauses_roster)
{
	qd_listdoc *base = base_doc(GBA);
	qd_listdoc *doc = import_ok("gba-research-positive.csv", NULL, GBA);
	static const char *const kept[] = { "list", "kind", "title", "issuer", "published",
					    "source", "clauses", "entities" };

	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		ck_assert_msg(json_equal(json_object_get(base->json, kept[i]),
					 json_object_get(doc->json, kept[i])), "%s changed", kept[i]);
	ck_assert_int_eq(doc->kind, base->kind);
	ck_assert_uint_eq(doc->n_clauses, base->n_clauses);
	ck_assert_uint_eq(doc->n_members, base->n_members);
	/* The entries are replaced, not added to. */
	ck_assert_uint_eq(base->n_entries, 32);
	ck_assert_uint_eq(doc->n_entries, 5);
	qd_listdoc_free(doc);
	qd_listdoc_free(base);
}
END_TEST

START_TEST(bom_equals_plain)
{
	qd_listdoc *plain = import_ok("gba-research-positive.csv", NULL, GBA);
	qd_listdoc *bom = import_ok("gba-research-positive-bom.csv", NULL, GBA);
	qd_listdoc *named = import_ok("gba-research-positive-bom.csv", "UTF-8", GBA);

	assert_same_doc(plain, bom);
	assert_same_doc(plain, named);
	qd_listdoc_free(plain);
	qd_listdoc_free(bom);
	qd_listdoc_free(named);
}
END_TEST

/* Chinese headings and values in GB18030 give the same document as the
 * same file in UTF-8, and as the English rendering of it. */
static const char *const gb_charsets[] = { NULL, "gb18030", "GB18030", "gbk", "gb2312" };

START_TEST(gb18030_equals_utf8)
{
	qd_listdoc *utf8 = import_ok("biomed-rd-whitelist-zh.csv", NULL, BIOMED);
	qd_listdoc *gb = import_ok("biomed-rd-whitelist-gb18030.csv", gb_charsets[_i], BIOMED);

	assert_same_doc(utf8, gb);
	qd_listdoc_free(utf8);
	qd_listdoc_free(gb);
}
END_TEST

START_TEST(chinese_equals_english)
{
	qd_listdoc *zh = import_ok("biomed-rd-whitelist-gb18030.csv", NULL, BIOMED);
	qd_listdoc *en = import_ok("biomed-rd-whitelist-en.csv", "utf8", BIOMED);

	assert_same_doc(zh, en);
	qd_listdoc_free(zh);
	qd_listdoc_free(en);
}
END_TEST

START_TEST(chinese_values)
{
	qd_listdoc *doc = import_ok("biomed-rd-whitelist-gb18030.csv", NULL, BIOMED);
	json_t *e;

	ck_assert_uint_eq(doc->n_entries, 4);
	/* 纳入/排除 */
	ck_assert_int_eq(doc->entries[0].effect, QD_EFFECT_INCLUDE);
	ck_assert_int_eq(doc->entries[2].effect, QD_EFFECT_EXCLUDE);
	/* 有效/暂停/撤销; "　暂停　" has ideographic spaces around it */
	ck_assert_int_eq(doc->entries[0].status, QD_STATUS_ACTIVE);
	ck_assert_int_eq(doc->entries[1].status, QD_STATUS_SUSPENDED);
	ck_assert_int_eq(doc->entries[2].status, QD_STATUS_REVOKED);
	ck_assert_str_eq(sval(entry_json(doc, 1), "status"), "suspended");
	/* 2026/3/1 and 2026年12月31日 as spreadsheets write them */
	e = entry_json(doc, 0);
	ck_assert_str_eq(sval(e, "valid_from"), "2026-03-01");
	ck_assert_str_eq(sval(e, "valid_to"), "2027-02-28");
	ck_assert_str_eq(sval(entry_json(doc, 2), "valid_to"), "2026-12-31");
	/* 统一社会信用代码 split on '；', 免于提交单证 on '|' */
	ck_assert_uint_eq(doc->entries[0].n_entities, 2);
	ck_assert_str_eq(doc->entries[0].entities[1], "12110108MB0R3T7W7F");
	ck_assert_uint_eq(json_array_size(json_object_get(e, "waives")), 2);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "waives"), 1)),
			 "医疗器械注册证");
	ck_assert_str_eq(sval(e, "code"), "3002150000");
	ck_assert_str_eq(sval(e, "ciq"), "999");
	ck_assert_str_eq(sval(entry_json(doc, 3), "spec"), "10片/盒\n一次性使用");
	qd_listdoc_free(doc);
}
END_TEST

START_TEST(multi_value_separators)
{
	const char *csv =
		"id,code,name_zh,entities,waives,clauses\n"
		"PL-1,3822,试剂,12440115MB2C0N8415;91440115MA9W3K7C66；hk:70012345|MO:80321,"
		"\" Q ;; A；B |C| \",GACC-2022-143-1-1 ； SAMPLE-PL-HKMO-1\n";
	qd_listdoc *doc = NULL;
	qd_problems p;
	json_t *w;

	qd_problems_init(&p);
	ck_assert_int_eq(import_str(csv, GBA, &doc, &p), 0);
	ck_assert_uint_eq(doc->entries[0].n_entities, 4);
	ck_assert_str_eq(doc->entries[0].entities[0], "12440115MB2C0N8415");
	ck_assert_str_eq(doc->entries[0].entities[1], "91440115MA9W3K7C66");
	ck_assert_str_eq(doc->entries[0].entities[2], "HK:70012345"); /* scheme uppercased */
	ck_assert_str_eq(doc->entries[0].entities[3], "MO:80321");
	w = json_object_get(entry_json(doc, 0), "waives");
	ck_assert_uint_eq(json_array_size(w), 4); /* empty items dropped, items trimmed */
	ck_assert_str_eq(json_string_value(json_array_get(w, 0)), "Q");
	ck_assert_str_eq(json_string_value(json_array_get(w, 1)), "A");
	ck_assert_str_eq(json_string_value(json_array_get(w, 2)), "B");
	ck_assert_str_eq(json_string_value(json_array_get(w, 3)), "C");
	ck_assert_uint_eq(doc->entries[0].n_clauses, 2);
	qd_listdoc_free(doc);
	qd_problems_free(&p);
}
END_TEST

START_TEST(headings_forgiving)
{
	/* English headings ignore case; headings and cells are trimmed, including
	 * U+3000; CRLF; all-empty rows and unnamed empty columns are skipped. */
	const char *csv =
		" ID ,Code,\xe3\x80\x80商品名称\xe3\x80\x80,HS编码\xe2\x80\x8b,,依据条款\r\n"
		"PL-1 , 38.22 ,试剂,,,GACC-2022-143-1-1\r\n"
		",,,,,\r\n"
		"   \r\n"
		"PL-2,3822,试剂二,,,GACC-2022-143-1-1";
	qd_listdoc *doc = NULL;
	qd_problems p;

	/* "HS编码" followed by a zero-width space is not a heading we know. */
	qd_problems_init(&p);
	expect_invalid(import_str(csv, GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 1, 4, "unknown column \"HS编码");
	qd_problems_free(&p);

	csv = " ID ,Code,\xe3\x80\x80商品名称\xe3\x80\x80,,依据条款\r\n"
	      "PL-1 , 38.22 ,试剂,,GACC-2022-143-1-1\r\n"
	      ",,,,\r\n"
	      "   \r\n"
	      "PL-2,3822,试剂二,,GACC-2022-143-1-1";
	qd_problems_init(&p);
	ck_assert_int_eq(import_str(csv, GBA, &doc, &p), 0);
	ck_assert_uint_eq(doc->n_entries, 2);
	ck_assert_str_eq(doc->entries[0].id, "PL-1");
	ck_assert_str_eq(doc->entries[0].code.digits, "3822");
	qd_listdoc_free(doc);
	qd_problems_free(&p);
}
END_TEST

START_TEST(rows_above_header)
{
	/* Empty rows above the header are skipped; lines keep counting. */
	const char *csv = ",,,\n"
			  "\n"
			  "id,code,name_zh,clauses\n"
			  "PL-1,3822,试剂,GACC-2022-143-1-1\n"
			  "PL-2,3822,试剂,GACC-2022-143-1-9\n";
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	expect_invalid(import_str(csv, GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 5, 4, "clause \"GACC-2022-143-1-9\" is not defined");
	qd_problems_free(&p);
}
END_TEST

START_TEST(no_problems_collection)
{
	qd_listdoc *doc = NULL;

	ck_assert_int_eq(import_str("id,code\n", GBA, &doc, NULL), QD_EINVAL);
	ck_assert_ptr_null(doc);
}
END_TEST

/* ---- errors ---------------------------------------------------------------------- */

/* The broken fixture: every problem at once, each at its line and column,
 * sorted, and nothing else. */
START_TEST(bad_file_all_at_once)
{
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	expect_invalid(import_fixture("gba-research-positive-bad.csv", NULL, GBA, &doc, &p), doc, &p, 6);
	ASSERT_PROBLEM(&p, 3, 2, "code \"38A2\"");                    /* bad code, row 3 */
	ASSERT_PROBLEM(&p, 4, 8, "clause \"NO-SUCH-CLAUSE\" is not defined");
	ASSERT_PROBLEM(&p, 5, 5, "entity \"91440101MA5D7R2TX2\" is invalid");
	ASSERT_PROBLEM(&p, 6, 7, "quantity_limit is given but quantity_unit is empty");
	/* The record on lines 7-8 has a quoted line break; line 9 is ragged. */
	ASSERT_PROBLEM(&p, 9, 0, "row has 5 fields; the header has 8");
	ASSERT_PROBLEM(&p, 10, 1, "\"PL-0201\" is already used on line 2");
	for (size_t i = 1; i < p.count; i++)
		ck_assert_uint_lt(p.items[i - 1].line, p.items[i].line);
	qd_problems_free(&p);
}
END_TEST

START_TEST(unknown_header)
{
	const char *csv = "id,code,name_zh,colour,clauses\n"
			  "PL-1,3822,试剂,red,GACC-2022-143-1-1\n";
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	expect_invalid(import_str(csv, GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 1, 4, "unknown column \"colour\"; expected one of id (编号, 序号)");
	ASSERT_PROBLEM(&p, 1, 4, "clauses (依据条款)");
	qd_problems_free(&p);
}
END_TEST

START_TEST(header_and_rows_at_once)
{
	/* A header problem does not stop the rows from being checked. */
	const char *csv = "编号,商品编码,名称,colour,依据条款,商品编号\n"
			  "PL-1,3822,试剂,red,GACC-2022-143-1-1,\n"
			  "PL-2,12345678901,试剂,red,GACC-2022-143-1-1,\n";
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	expect_invalid(import_str(csv, GBA, &doc, &p), doc, &p, 3);
	ASSERT_PROBLEM(&p, 1, 4, "unknown column \"colour\"");
	ASSERT_PROBLEM(&p, 1, 6, "column \"商品编号\" repeats column 2 (code)");
	ASSERT_PROBLEM(&p, 3, 2, "code \"12345678901\" has 11 digits");
	qd_problems_free(&p);
}
END_TEST

START_TEST(not_a_header)
{
	const char *csv = "PL-1,3822,试剂,GACC-2022-143-1-1\n";
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	expect_invalid(import_str(csv, GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 1, 0, "not a header row");
	qd_problems_free(&p);
}
END_TEST

START_TEST(missing_required_columns)
{
	const char *csv = "id,code,name_zh\n"
			  "PL-1,3822,试剂\n"
			  "PL-2,3822,试剂二\n";
	qd_listdoc *doc = NULL;
	qd_problems p;

	/* Said once, on the header, not once per row. */
	qd_problems_init(&p);
	expect_invalid(import_str(csv, GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 1, 0, "missing required column clauses (依据条款)");
	qd_problems_free(&p);

	/* A whitelist needs the entities column too. */
	qd_problems_init(&p);
	expect_invalid(import_str("商品名称,依据条款\n试剂,GACC-2022-143-1-1\n", BIOMED, &doc, &p),
		       doc, &p, 1);
	ASSERT_PROBLEM(&p, 1, 0, "missing required columns id (编号, 序号), code (");
	ASSERT_PROBLEM(&p, 1, 0, "entities (统一社会信用代码, 单位代码)");
	qd_problems_free(&p);
}
END_TEST

START_TEST(required_cells)
{
	const char *csv = "id,code,name_zh,name_en,entities,clauses\n"
			  "WL-1,,,Reagent,,\n";
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	expect_invalid(import_str(csv, BIOMED, &doc, &p), doc, &p, 4);
	ASSERT_PROBLEM(&p, 2, 2, "code is empty");
	ASSERT_PROBLEM(&p, 2, 3, "name_zh is empty");
	ASSERT_PROBLEM(&p, 2, 5, "a whitelist entry must name at least one entity");
	ASSERT_PROBLEM(&p, 2, 6, "clauses is empty");
	qd_problems_free(&p);
}
END_TEST

START_TEST(ragged_rows)
{
	const char *csv = "id,code,name_zh,spec,clauses\n"
			  "PL-1,3822,试剂,\"first line\n"
			  "second line\n"
			  "third line\",GACC-2022-143-1-1\n"
			  "PL-2,3822,试剂,GACC-2022-143-1-1\n"
			  "\n"
			  "PL-3,3822,试剂,,GACC-2022-143-1-1,extra\n";
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	expect_invalid(import_str(csv, GBA, &doc, &p), doc, &p, 2);
	ASSERT_PROBLEM(&p, 5, 0, "row has 4 fields; the header has 5");
	ASSERT_PROBLEM(&p, 7, 0, "row has 6 fields; the header has 5");
	qd_problems_free(&p);
}
END_TEST

START_TEST(line_breaks_counted)
{
	/* CRLF, a lone CR and a CRLF inside quotes each count as one line. */
	const char *csv = "id,code,name_zh,spec,clauses\r\n"
			  "PL-1,3822,试剂,\"a\r\nb\",GACC-2022-143-1-1\r"
			  "PL-2,3822,试剂,,GACC-2022-143-1-1\r\n"
			  "\r\n"
			  "PL-3,38x,试剂,,GACC-2022-143-1-1";
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	expect_invalid(import_str(csv, GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 6, 2, "code \"38x\"");
	qd_problems_free(&p);
}
END_TEST

START_TEST(undefined_clause_and_bad_entity)
{
	const char *csv = "编号,商品编码,商品名称,单位代码,依据条款\n"
			  "WL-1,3822,试剂,91310115MA1K8N6D88,SAMPLE-WL-1\n"
			  "WL-2,3822,试剂,91310115MA1K8N6D80；91310115MA1K8N6D88,SAMPLE-WL-1|SAMPLE-WL-9\n"
			  "WL-3,3822,试剂,91440101MA5D7R2TX1,SAMPLE-WL-1\n";
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	expect_invalid(import_str(csv, BIOMED, &doc, &p), doc, &p, 3);
	ASSERT_PROBLEM(&p, 3, 4, "entity \"91310115MA1K8N6D80\" is invalid: ");
	ASSERT_PROBLEM(&p, 3, 5, "clause \"SAMPLE-WL-9\" is not defined");
	ASSERT_PROBLEM(&p, 4, 4, "is not on the list's roster");
	qd_problems_free(&p);
}
END_TEST

START_TEST(quantity_rules)
{
	const char *csv = "id,code,name_zh,clauses,数量,计量单位\n"
			  "PL-1,3822,试剂,GACC-2022-143-1-1,100,\n"
			  "PL-2,3822,试剂,GACC-2022-143-1-1,,mL\n"
			  "PL-3,3822,试剂,GACC-2022-143-1-1,lots,mL\n"
			  "PL-4,3822,试剂,GACC-2022-143-1-1,0,mL\n"
			  "PL-5,3822,试剂,GACC-2022-143-1-1,nan,mL\n"
			  "PL-6,3822,试剂,GACC-2022-143-1-1,1e3,mL\n";
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	expect_invalid(import_str(csv, GBA, &doc, &p), doc, &p, 5);
	ASSERT_PROBLEM(&p, 2, 6, "数量 is given but 计量单位 is empty; give both or neither");
	ASSERT_PROBLEM(&p, 3, 5, "计量单位 is given but 数量 is empty");
	ASSERT_PROBLEM(&p, 4, 5, "数量 \"lots\" is not a number");
	ASSERT_PROBLEM(&p, 5, 5, "\"limit\" must be greater than 0");
	ASSERT_PROBLEM(&p, 6, 5, "数量 \"nan\" is not a number");
	qd_problems_free(&p);

	/* A limit column without a unit column. */
	qd_problems_init(&p);
	expect_invalid(import_str("id,code,name_zh,clauses,quantity_limit\n"
				  "PL-1,3822,试剂,GACC-2022-143-1-1,5\n", GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 1, 5, "needs a quantity_unit (计量单位) column");
	qd_problems_free(&p);
}
END_TEST

/* The v2 columns: 认定方式, 别名, 关区代码 (and 批次 against the batches
 * table), in Chinese and English headings. */
START_TEST(v2_columns)
{
	const char *csv = "编号,商品编码,商品名称,规格型号,认定方式,别名,统一社会信用代码,关区代码,依据条款,批次\n"
			  "WL-9001,2941100000,环孢菌素A,500mg/瓶,单品,环孢素A；Cyclosporin A,91310115MA1K8N6D88,"
			  "22,SAMPLE-WL-1,第二批\n"
			  "WL-9002,3822,诊断试剂,,类别,,91310115MA1K8N6D88,2201|01,SAMPLE-WL-1,\n";
	const char *en = "id,code,name_zh,spec,identity,aliases,entities,customs,clauses,batch\n"
			 "WL-9001,2941100000,环孢菌素A,500mg/瓶,item,环孢素A|Cyclosporin A,91310115MA1K8N6D88,"
			 "22,SAMPLE-WL-1,第二批\n"
			 "WL-9002,3822,诊断试剂,,category,,91310115MA1K8N6D88,2201;01,SAMPLE-WL-1,\n";
	qd_listdoc *doc = NULL, *doc2 = NULL;
	qd_problems p;
	json_t *e;

	qd_problems_init(&p);
	ck_assert_int_eq(import_str(csv, BIOMED, &doc, &p), 0);
	ck_assert_int_eq(import_str(en, BIOMED, &doc2, &p), 0);
	assert_same_doc(doc, doc2);
	ck_assert_uint_eq(doc->n_entries, 2);
	e = entry_json(doc, 0);
	/* item is a whitelist's default: not written */
	ck_assert_ptr_null(json_object_get(e, "identity"));
	ck_assert_uint_eq(json_array_size(json_object_get(e, "aliases")), 2);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "aliases"), 1)), "Cyclosporin A");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "customs"), 0)), "22");
	ck_assert_str_eq(sval(e, "batch"), "第二批");
	/* the batch's window is the entry's default */
	qd_date d;
	ck_assert_int_eq(qd_date_from_ymd(2026, 9, 1, &d), 0);
	ck_assert_int_eq(doc->entries[0].valid_from, d);
	ck_assert_ptr_nonnull(doc->entries[0].terms);
	e = entry_json(doc, 1);
	ck_assert_str_eq(sval(e, "identity"), "category");
	ck_assert_uint_eq(json_array_size(json_object_get(e, "customs")), 2);
	qd_listdoc_free(doc);
	qd_listdoc_free(doc2);
	qd_problems_free(&p);
}
END_TEST

/* Bad v2 cells name their line and column. */
START_TEST(v2_bad_cells)
{
	const char *csv = "编号,商品编码,商品名称,认定方式,统一社会信用代码,关区代码,依据条款,批次\n"
			  "WL-9001,2941,环孢菌素A,单个,91310115MA1K8N6D88,22,SAMPLE-WL-1,第一批\n"
			  "WL-9002,2941,环孢菌素A,单品,91310115MA1K8N6D88,221,SAMPLE-WL-1,第九批\n";
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	expect_invalid(import_str(csv, BIOMED, &doc, &p), doc, &p, 3);
	ASSERT_PROBLEM(&p, 2, 4, "认定方式 \"单个\" is not one of item, category, 单品, 类别");
	ASSERT_PROBLEM(&p, 3, 6, "customs code \"221\" must be 2 or 4 digits");
	ASSERT_PROBLEM(&p, 3, 8, "batch \"第九批\" is not defined in /batches");
	qd_problems_free(&p);
}
END_TEST

START_TEST(enum_values)
{
	const char *csv = "id,code,name_zh,clauses,类型,状态,valid_from,valid_to\n"
			  "PL-1,3822,试剂,GACC-2022-143-1-1,Include,ACTIVE,,\n"
			  "PL-2,3822,试剂,GACC-2022-143-1-1,纳入了,有效,2025-02-30,\n"
			  "PL-3,3822,试剂,GACC-2022-143-1-1,排除,停用,2025/3/1,2025/2/1\n";
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	expect_invalid(import_str(csv, GBA, &doc, &p), doc, &p, 4);
	ASSERT_PROBLEM(&p, 3, 5, "类型 \"纳入了\" is not one of include, exclude, 纳入, 排除");
	ASSERT_PROBLEM(&p, 3, 7, "valid_from \"2025-02-30\" is not a real calendar date");
	ASSERT_PROBLEM(&p, 4, 6, "状态 \"停用\" is not one of active, suspended, revoked, 有效, 暂停, 撤销");
	ASSERT_PROBLEM(&p, 4, 8, "valid_from 2025-03-01 is after valid_to 2025-02-01");
	qd_problems_free(&p);
}
END_TEST

START_TEST(quoting_errors)
{
	/* A stray quote loses its record only: the next lines are still read. */
	const char *csv = "id,code,name_zh,clauses\n"
			  "PL-1,38\"22,试剂,GACC-2022-143-1-1\n"
			  "PL-2,\"3822\"x,试剂,GACC-2022-143-1-1\n"
			  "PL-3,3822z,试剂,GACC-2022-143-1-1\n"
			  "PL-4,3822,\"试剂,GACC-2022-143-1-1\n"
			  "PL-5,3822,试剂,GACC-2022-143-1-1\n";
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	expect_invalid(import_str(csv, GBA, &doc, &p), doc, &p, 4);
	ASSERT_PROBLEM(&p, 2, 2, "misplaced '\"'");
	ASSERT_PROBLEM(&p, 3, 2, "misplaced '\"'");
	ASSERT_PROBLEM(&p, 4, 2, "code \"3822z\"");
	ASSERT_PROBLEM(&p, 5, 3, "never closed");
	qd_problems_free(&p);
}
END_TEST

/* The only data row is broken: its error alone, not "no entries" first. */
START_TEST(only_row_malformed)
{
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	expect_invalid(import_str("id,code,name_zh,clauses\nPL-1,38\"22,试剂,GACC-2022-143-1-1\n", GBA,
				  &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 2, 2, "misplaced '\"'");
	qd_problems_free(&p);

	/* A quoted field never closed swallows the rest of the file: still
	 * one data row, reported where its quote opens, not "no entries". */
	qd_problems_init(&p);
	expect_invalid(import_str("id,code,name_zh,clauses\nPL-1,3822,\"试剂,GACC-2022-143-1-1\n", GBA, &doc, &p),
		       doc, &p, 1);
	ASSERT_PROBLEM(&p, 2, 3, "never closed");
	qd_problems_free(&p);
}
END_TEST

START_TEST(blank_heading_with_value)
{
	const char *csv = "id,code,name_zh,,clauses\n"
			  "PL-1,3822,试剂,,GACC-2022-143-1-1\n"
			  "PL-2,3822,试剂,oops,GACC-2022-143-1-1\n"
			  "PL-3,3822,试剂,again,GACC-2022-143-1-1\n";
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	expect_invalid(import_str(csv, GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 3, 4, "this cell holds \"oops\" but its column has no heading");
	qd_problems_free(&p);
}
END_TEST

START_TEST(empty_files)
{
	qd_listdoc *doc = NULL;
	qd_problems p;

	/* A header alone would wipe the list: refused. */
	qd_problems_init(&p);
	expect_invalid(import_str(EN_HEAD "\n,,,,,,,,,,,,,,,,\n", GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 1, 0, "has a header but no entries");
	qd_problems_free(&p);

	qd_problems_init(&p);
	expect_invalid(import_str("", GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 1, 0, "the file is empty");
	qd_problems_free(&p);

	qd_problems_init(&p);
	expect_invalid(import_str("\xef\xbb\xbf\r\n  \r\n", GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 1, 0, "the file is empty");
	qd_problems_free(&p);
}
END_TEST

START_TEST(invalid_bytes)
{
	qd_listdoc *doc = NULL;
	qd_problems p;

	/* Detected: neither decoding works; the line is where UTF-8, the one
	 * that got further, failed. */
	qd_problems_init(&p);
	expect_invalid(import_fixture("bad-bytes.csv", NULL, GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 3, 0, "bytes are neither UTF-8 nor GB18030 (byte 0xFF)");
	qd_problems_free(&p);

	qd_problems_init(&p);
	expect_invalid(import_fixture("bad-bytes.csv", "utf-8", GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 3, 0, "bytes are not valid UTF-8 (byte 0xFF)");
	qd_problems_free(&p);

	/* Named UTF-8, but the file is GB18030. */
	qd_problems_init(&p);
	expect_invalid(import_fixture("biomed-rd-whitelist-gb18030.csv", "utf-8", BIOMED, &doc, &p),
		       doc, &p, 1);
	ASSERT_PROBLEM(&p, 1, 0, "not valid UTF-8");
	qd_problems_free(&p);

	/* A UTF-8 BOM declares UTF-8: no second guess with GB18030. */
	qd_problems_init(&p);
	expect_invalid(import_buf(BYTES("\xef\xbb\xbfid,code,name_zh,clauses\nPL-1,3822,\xca\xd4,c\n"),
				  NULL, GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 2, 0, "bytes are not valid UTF-8 (byte 0xCA)");
	qd_problems_free(&p);

	/* GB18030 text with a bad byte on line 2; and a truncated character. */
	qd_problems_init(&p);
	expect_invalid(import_buf(BYTES("id,code,name_zh,clauses\nPL-1,3822,\xca\xd4\xbc\xc1\x80,c\n"),
				  "gb18030", GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 2, 0, "bytes are not valid GB18030 (byte 0x80)");
	qd_problems_free(&p);

	qd_problems_init(&p);
	expect_invalid(import_buf(BYTES("id\n\nPL-1,\xca"), NULL, GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 3, 0, "the file ends inside a character");
	qd_problems_free(&p);

	/* UTF-16 and NUL bytes are named as such. */
	qd_problems_init(&p);
	expect_invalid(import_buf(BYTES("\xff\xfei\0d\0"), NULL, GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 1, 0, "UTF-16");
	qd_problems_free(&p);

	qd_problems_init(&p);
	expect_invalid(import_buf(BYTES("id\nPL\0-1\n"), NULL, GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 2, 0, "NUL byte");
	qd_problems_free(&p);
}
END_TEST

/* GB18030 bytes that are valid UTF-8 as well: 芯片 石墨 血液 in GB18030
 * read as UTF-8 are "оƬ", "ʯī", "ѪҺ".  Refused unless the charset is
 * named, never stored as mojibake. */
START_TEST(gb18030_that_is_also_utf8)
{
	static const char csv[] = "id,code,name_zh,clauses\n"
				  "PL-1,3822,\xd0\xbe\xc6\xac,GACC-2022-143-1-1\n"
				  "PL-2,3801,\xca\xaf\xc4\xab,GACC-2022-143-1-1\n"
				  "PL-3,3002,\xd1\xaa\xd2\xba,GACC-2022-143-1-1\n";
	static const char *const names[] = { "芯片", "石墨", "血液" };
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	expect_invalid(import_buf(BYTES(csv), NULL, GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 2, 0, "\"芯片\" as GB18030");
	ASSERT_PROBLEM(&p, 2, 0, "charset=gb18030");
	qd_problems_free(&p);

	doc = NULL;
	ck_assert_int_eq(import_buf(BYTES(csv), "gb18030", GBA, &doc, NULL), 0);
	for (size_t i = 0; i < 3; i++) {
		json_t *e = entry_json(doc, i);

		ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "name"), "zh")), names[i]);
	}
	qd_listdoc_free(doc);

	/* Named UTF-8: the caller said so. */
	doc = NULL;
	ck_assert_int_eq(import_buf(BYTES(csv), "utf-8", GBA, &doc, NULL), 0);
	qd_listdoc_free(doc);
}
END_TEST

START_TEST(unsupported_charset)
{
	size_t len;
	char *buf = read_file("tests/data/csv/gba-research-positive.csv", &len);
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	expect_invalid(import_buf(buf, len, "latin1", GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 0, 0, "unsupported charset \"latin1\"");
	qd_problems_free(&p);
	free(buf);
}
END_TEST

START_TEST(problem_cap)
{
	/* 300 bad rows: the collection keeps its cap and counts the rest. */
	size_t cap = 64 + 300 * 48, o = 0;
	char *csv = malloc(cap);
	qd_listdoc *doc = NULL;
	qd_problems p;

	ck_assert_ptr_nonnull(csv);
	o += (size_t)snprintf(csv + o, cap - o, "id,code,name_zh,clauses\n");
	for (int i = 0; i < 300; i++)
		o += (size_t)snprintf(csv + o, cap - o, "PL-%d,x,试剂,GACC-2022-143-1-1\n", i);
	qd_problems_init(&p);
	ck_assert_int_eq(import_str(csv, GBA, &doc, &p), QD_EINVAL);
	ck_assert_uint_eq(p.count, QD_PROBLEMS_CAP);
	ck_assert_uint_eq(qd_problems_total(&p), 300);
	ck_assert_uint_eq(p.items[0].line, 2);
	qd_problems_free(&p);
	free(csv);
}
END_TEST

START_TEST(wide_rows_are_bounded)
{
	/* A line of 100000 commas is reported, not stored field by field. */
	size_t n = 100000;
	char *csv = malloc(64 + n);
	qd_listdoc *doc = NULL;
	qd_problems p;
	size_t o = (size_t)sprintf(csv, "id,code,name_zh,clauses\n");

	memset(csv + o, ',', n);
	o += n;
	csv[o] = '\0';
	qd_problems_init(&p);
	expect_invalid(import_str(csv, GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 2, 0, "row has 100001 fields; the header has 4");
	qd_problems_free(&p);

	o = (size_t)sprintf(csv, "id");
	memset(csv + o, ',', n);
	csv[o + n] = '\0';
	qd_problems_init(&p);
	expect_invalid(import_str(csv, GBA, &doc, &p), doc, &p, 1);
	ASSERT_PROBLEM(&p, 1, 0, "the header has 100001 columns");
	qd_problems_free(&p);
	free(csv);
}
END_TEST

/* ---- big files: tokenised on a second thread while rows are checked ---- */

/* More data lines than a file needs to be tokenised on a thread of its
 * own (4096 lines), so the tests below cross many batch boundaries. */
#define BIG_ROWS 5000

static const char *const big_codes[] = { "3002150000", "3822190090", "30024900", "9027899000" };
static const char *const big_ents[] = {
	"91310115MA1K8N6D88", "91440112MA3H9C2P77", "91440115MA9W3K7C66;91510107MA6J1Y4E39",
	"91440402MA2U5L8B3Y",
};

/* Row i (from 1) of the big file as a CSV line without its line break;
 * with breaks, every 7th row's spec holds a quoted line break. */
static void big_row(FILE *f, int i, bool breaks)
{
	fprintf(f, "WL-%05d,%s,%s,研发样品%d,R&D sample %d,%s,%s,%s,%s,%s,%s,Q,%s,%s,%s,"
		"GACC-2022-143-1-1,第四批", i, big_codes[i % 4], i % 3 == 0 && i % 4 != 2 ? "999" : "", i, i,
		breaks && i % 7 == 0 ? "\"10片/盒\n一次性使用\"" : i % 5 == 0 ? "50 mL/瓶" : "",
		i % 11 == 0 ? "exclude" : "include", big_ents[i % 4],
		i % 2 ? "2026-03-01" : "2026/3/1", i % 3 == 0 ? "2027-02-28" : "",
		i % 13 == 0 ? "suspended" : "active", i % 4 == 0 ? "已纳入白名单" : "",
		i % 2 ? "100" : "", i % 2 ? "瓶" : "");
}

/* Row i as the list document's entry, what big_row(f, i, true) means. */
static json_t *big_entry(int i)
{
	char id[16], zh[32], en[32];
	json_t *e, *ents = json_array();
	char *list = strdup(big_ents[i % 4]);

	snprintf(id, sizeof(id), "WL-%05d", i);
	snprintf(zh, sizeof(zh), "研发样品%d", i);
	snprintf(en, sizeof(en), "R&D sample %d", i);
	for (char *t = strtok(list, ";"); t != NULL; t = strtok(NULL, ";"))
		json_array_append_new(ents, json_string(t));
	free(list);
	e = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:o, s:s, s:s, s:[s], s:[s], s:s}", "id", id,
		      "code", big_codes[i % 4], "name", "zh", zh, "en", en,
		      "effect", i % 11 == 0 ? "exclude" : "include", "entities", ents,
		      "valid_from", "2026-03-01", "status", i % 13 == 0 ? "suspended" : "active",
		      "waives", "Q", "clauses", "GACC-2022-143-1-1", "batch", "第四批");
	ck_assert_ptr_nonnull(e);
	if (i % 3 == 0 && i % 4 != 2)
		json_object_set_new(e, "ciq", json_string("999"));
	if (i % 3 == 0)
		json_object_set_new(e, "valid_to", json_string("2027-02-28"));
	if (i % 7 == 0)
		json_object_set_new(e, "spec", json_string("10片/盒\n一次性使用"));
	else if (i % 5 == 0)
		json_object_set_new(e, "spec", json_string("50 mL/瓶"));
	if (i % 4 == 0)
		json_object_set_new(e, "conditions",
				    json_pack("[{s:s, s:s}]", "type", "remark", "text", "已纳入白名单"));
	if (i % 2)
		json_object_set_new(e, "quantity", json_pack("{s:i, s:s}", "limit", 100, "unit", "瓶"));
	return e;
}

/* A row of the big file's shape with the cells given; tail: what
 * follows the clauses cell (",batch", or nothing for a short row). */
static void odd_row(FILE *f, const char *id, const char *code, const char *name_en,
		    const char *effect, const char *from, const char *qty, const char *tail)
{
	fprintf(f, "%s,%s,,研发样品,%s,,%s,91310115MA1K8N6D88,%s,,active,Q,,%s,,GACC-2022-143-1-1%s",
		id, code, name_en, effect, from, qty, tail);
}

/* A big CSV file is the same document, to the byte, as the JSON document
 * of the same entries (each parsed on two threads): lines ending in LF and
 * CRLF by turns (_i 0), and in a bare CR, as old Mac spreadsheets write
 * them (_i 1: a file that is tokenised on its own thread too). */
START_TEST(big_file_equals_json)
{
	static const char *const ends[2][2] = { { "\n", "\r\n" }, { "\r", "\r" } };
	const char *rel = "schema/examples/" BIOMED ".json";
	char *csv = NULL, *js, *basetext;
	char hex_csv[65], hex_json[65];
	size_t len, blen;
	FILE *f = open_memstream(&csv, &len);
	qd_listdoc *doc = NULL, *jdoc = NULL;
	json_t *root, *entries = json_array();
	qd_problems p;

	ck_assert_ptr_nonnull(f);
	fwrite(EN_HEAD, 1, strlen(EN_HEAD) - 1, f);
	fputs(ends[_i][0], f);
	for (int i = 1; i <= BIG_ROWS; i++) {
		big_row(f, i, true);
		fputs(ends[_i][i % 2 == 0], f);
		json_array_append_new(entries, big_entry(i));
	}
	fclose(f);
	qd_problems_init(&p);
	if (import_buf(csv, len, NULL, BIOMED, &doc, &p) != 0)
		dump_problems(&p);
	ck_assert_ptr_nonnull(doc);
	ck_assert_uint_eq(doc->n_entries, BIG_ROWS);

	basetext = read_file(rel, &blen);
	root = json_loadb(basetext, blen, 0, NULL);
	ck_assert_ptr_nonnull(root);
	json_object_set_new(root, "entries", entries);
	js = json_dumps(root, 0);
	ck_assert_int_eq(qd_listdoc_parse(js, strlen(js), BIOMED, &jdoc, &p), 0);
	ck_assert_int_eq(qd_listdoc_sha256(doc, hex_csv), 0);
	ck_assert_int_eq(qd_listdoc_sha256(jdoc, hex_json), 0);
	ck_assert_str_eq(hex_csv, hex_json);
	assert_same_doc(doc, jdoc);
	qd_problems_free(&p);
	qd_listdoc_free(doc);
	qd_listdoc_free(jdoc);
	json_decref(root);
	free(js);
	free(basetext);
	free(csv);
}
END_TEST

/* The odd rows of big_file_problems (row i is on line i + 1); false
 * for a row like the others. */
static bool problem_row(FILE *f, int i)
{
	if (i == 1)
		odd_row(f, "WL-00001", "3002150000", "R&D sample 1", "maybe", "2026-03-01", "",
			",第四批");
	else if (i == 2500)
		odd_row(f, "WL-00002", "38A2", "R&D sample", "include", "2026-03-01", "", ",第四批");
	else if (i == 3000)
		odd_row(f, "WL-03000", "3002150000", "R&D \"sample\" 3000", "include", "2026-03-01",
			"", ",第四批");
	else if (i == 3001)
		odd_row(f, "WL-03001", "3002150000", "\"R&D sample\" 3001", "include", "2026-03-01",
			"", ",第四批");
	else if (i == 4000)
		odd_row(f, "WL-04000", "3002150000", "R&D sample", "include", "2026-03-01", "", "");
	else if (i == 4999)
		odd_row(f, "WL-04999", "3002150000", "R&D sample", "include", "2026/13/1", "5",
			",第四批");
	else if (i == BIG_ROWS)
		odd_row(f, "WL-00001", "3002150000", "R&D sample", "include", "2026-03-01", "",
			",\"第四批\n");
	else
		return false;
	return true;
}

/* Every 10th row has an unknown effect, every 20th also repeats an id. */
static bool cap_row(FILE *f, int i)
{
	char id[16];

	if (i % 10 != 0)
		return false;
	snprintf(id, sizeof(id), "WL-%05d", i % 20 == 0 ? 1 : i);
	odd_row(f, id, "3002150000", "R&D sample", "maybe", "2026-03-01", "", ",第四批");
	return true;
}

/* The big file with the rows odd() writes instead of big_row()'s; its
 * length in *len. */
static char *big_csv(bool (*odd)(FILE *, int), size_t *len)
{
	char *csv = NULL;
	FILE *f = open_memstream(&csv, len);

	ck_assert_ptr_nonnull(f);
	fputs(EN_HEAD, f);
	for (int i = 1; i <= BIG_ROWS; i++) {
		if (!odd(f, i))
			big_row(f, i, false);
		fputc('\n', f);
	}
	fclose(f);
	return csv;
}

/* Problems of a big file at its first, middle and last rows, a quoting
 * error among them: every one at its line and column, in order, each
 * worded as in a small file. */
START_TEST(big_file_problems)
{
	static const struct {
		unsigned line, column;
		const char *message;
	} want[] = {
		{ 2, 7, "effect \"maybe\" is not one of include, exclude, 纳入, 排除" },
		{ 2501, 1, "id \"WL-00002\" is already used on line 3" },
		{ 2501, 2, "code \"38A2\" contains 'A'; expected 2-10 digits after removing '.', ' ' "
			   "and '-'" },
		{ 3001, 5, "misplaced '\"': a quote inside an unquoted field, or text after a closing quote "
			   "(write \"\" for a quote inside a quoted field)" },
		{ 3002, 5, "misplaced '\"': a quote inside an unquoted field, or text after a closing quote "
			   "(write \"\" for a quote inside a quoted field)" },
		{ 4001, 0, "row has 16 fields; the header has 17" },
		{ 5000, 9, "valid_from \"2026-13-01\" is not a real calendar date in the form "
			   "YYYY-MM-DD" },
		{ 5000, 15, "quantity_limit is given but quantity_unit is empty; give both or neither" },
		{ 5001, 17, "the quoted field begun here is never closed (a '\"' is missing)" },
	};
	size_t len, n = sizeof(want) / sizeof(want[0]);
	char *csv = big_csv(problem_row, &len);
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	expect_invalid(import_buf(csv, len, NULL, BIOMED, &doc, &p), doc, &p, n);
	for (size_t i = 0; i < n; i++) {
		const qd_problem *q = &p.items[i];

		if (q->line != want[i].line || q->column != want[i].column ||
		    strcmp(q->message, want[i].message) != 0)
			dump_problems(&p);
		ck_assert_uint_eq(q->line, want[i].line);
		ck_assert_uint_eq(q->column, want[i].column);
		ck_assert_str_eq(q->message, want[i].message);
	}
	qd_problems_free(&p);
	free(csv);
}
END_TEST

/* Past the problem cap, a big file's problems are counted as a small
 * file's are: the first ones kept, in order, the rest counted. */
START_TEST(big_file_problem_cap)
{
	size_t len;
	char *csv = big_csv(cap_row, &len);
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	expect_invalid(import_buf(csv, len, NULL, BIOMED, &doc, &p), doc, &p,
		       BIG_ROWS / 10 + BIG_ROWS / 20);
	ck_assert_uint_eq(p.count, QD_PROBLEMS_CAP);
	/* Row 10 on line 11, row 20 on line 21 (its id first) ... */
	for (size_t k = 0; k < QD_PROBLEMS_CAP; k++) {
		unsigned row = (unsigned)(k / 3 * 20 + (k % 3 == 0 ? 10 : 20));

		ck_assert_uint_eq(p.items[k].line, row + 1);
		ck_assert_uint_eq(p.items[k].column, k % 3 == 1 ? 1 : 7);
	}
	ck_assert_str_eq(p.items[1].message, "id \"WL-00001\" is already used on line 2");
	qd_problems_free(&p);
	free(csv);
}
END_TEST

static Suite *csvdoc_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("csvdoc");

	tcase_add_test(tc, english_headers);
	tcase_add_test(tc, notes_column);
	tcase_add_test(tc, keeps_title_clauses_roster);
	tcase_add_test(tc, bom_equals_plain);
	tcase_add_loop_test(tc, gb18030_equals_utf8, 0,
			    (int)(sizeof(gb_charsets) / sizeof(gb_charsets[0])));
	tcase_add_test(tc, chinese_equals_english);
	tcase_add_test(tc, chinese_values);
	tcase_add_test(tc, multi_value_separators);
	tcase_add_test(tc, headings_forgiving);
	tcase_add_test(tc, rows_above_header);
	tcase_add_test(tc, no_problems_collection);
	tcase_add_test(tc, bad_file_all_at_once);
	tcase_add_test(tc, unknown_header);
	tcase_add_test(tc, header_and_rows_at_once);
	tcase_add_test(tc, not_a_header);
	tcase_add_test(tc, missing_required_columns);
	tcase_add_test(tc, required_cells);
	tcase_add_test(tc, ragged_rows);
	tcase_add_test(tc, line_breaks_counted);
	tcase_add_test(tc, undefined_clause_and_bad_entity);
	tcase_add_test(tc, quantity_rules);
	tcase_add_test(tc, enum_values);
	tcase_add_test(tc, v2_columns);
	tcase_add_test(tc, v2_bad_cells);
	tcase_add_test(tc, quoting_errors);
	tcase_add_test(tc, only_row_malformed);
	tcase_add_test(tc, gb18030_that_is_also_utf8);
	tcase_add_test(tc, blank_heading_with_value);
	tcase_add_test(tc, empty_files);
	tcase_add_test(tc, invalid_bytes);
	tcase_add_test(tc, unsupported_charset);
	tcase_add_test(tc, problem_cap);
	tcase_add_test(tc, wide_rows_are_bounded);
	tcase_add_loop_test(tc, big_file_equals_json, 0, 2);
	tcase_add_test(tc, big_file_problems);
	tcase_add_test(tc, big_file_problem_cap);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(csvdoc_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
