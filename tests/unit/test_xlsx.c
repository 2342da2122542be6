/* Unit tests: spreadsheet import (src/lib/xlsxdoc/).
 *
 * Every workbook is made here, part by part, with libzip: small sheets
 * whose XML says what the test is about, no opaque binaries. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <zip.h>

#include "fixture.h"
#include "qingdan/csvdoc.h"
#include "qingdan/err.h"
#include "qingdan/listdoc.h"
#include "qingdan/problems.h"
#include "qingdan/xlsx.h"

#define GBA "gba-research-positive"
#define CL "GACC-2022-143-1-1"
#define NS "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" " \
	   "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\""

/* ---- making workbooks ------------------------------------------------------ */

struct part {
	const char *name, *xml;
};

/* A zip of the parts (NULL-terminated), in memory; *len its size. */
static char *zip_parts(const struct part *parts, size_t *len)
{
	zip_error_t ze;
	zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
	zip_t *z;
	zip_stat_t st;
	char *buf;

	ck_assert_ptr_nonnull(src);
	zip_source_keep(src);
	z = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
	ck_assert_ptr_nonnull(z);
	for (const struct part *p = parts; p->name; p++) {
		zip_source_t *s = zip_source_buffer(z, p->xml, strlen(p->xml), 0);

		ck_assert_int_ge(zip_file_add(z, p->name, s, ZIP_FL_ENC_UTF_8), 0);
	}
	ck_assert_int_eq(zip_close(z), 0);
	ck_assert_int_eq(zip_source_stat(src, &st), 0);
	buf = malloc(st.size);
	ck_assert_int_eq(zip_source_open(src), 0);
	ck_assert_int_eq(zip_source_read(src, buf, st.size), (zip_int64_t)st.size);
	zip_source_close(src);
	zip_source_free(src);
	*len = (size_t)st.size;
	return buf;
}

static const char rels[] =
	"<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
	"<Relationship Id=\"rId1\" Target=\"worksheets/sheet1.xml\" Type=\"worksheet\"/>"
	"<Relationship Id=\"rId2\" Target=\"/xl/worksheets/sheet2.xml\" Type=\"worksheet\"/>"
	"</Relationships>";

/* Style 0: general; 1: a built-in date (14); 2: a custom date format. */
static const char styles[] =
	"<styleSheet " NS "><numFmts count=\"1\"><numFmt numFmtId=\"164\" formatCode=\"yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;\"/></numFmts>"
	"<cellStyleXfs count=\"1\"><xf numFmtId=\"14\"/></cellStyleXfs>"
	"<cellXfs count=\"3\"><xf numFmtId=\"0\"/><xf numFmtId=\"14\"/><xf numFmtId=\"164\"/></cellXfs></styleSheet>";

static const char shared[] =
	"<sst " NS " count=\"6\">"
	"<si><t>编号</t></si><si><t>商品编码</t></si><si><t>商品名称</t></si><si><t>依据条款</t></si>"
	"<si><r><t>诊断</t></r><r><rPr><b/></rPr><t>试剂</t></r><rPh><t>しんだん</t></rPh></si>"
	"<si><t>" CL "</t></si></sst>";

/* A workbook of sheet1 "清单" (and sheet2 "其他" when sheet2 is given),
 * with the shared strings ss. */
static char *workbook_ss(const char *sheet1, const char *sheet2, const char *ss, bool date1904, size_t *len)
{
	char wb[1024];
	struct part parts[8] = {
		{ "[Content_Types].xml", "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>" },
		{ "xl/workbook.xml", wb },
		{ "xl/_rels/workbook.xml.rels", rels },
		{ "xl/styles.xml", styles },
		{ "xl/sharedStrings.xml", ss },
		{ "xl/worksheets/sheet1.xml", sheet1 },
		{ sheet2 ? "xl/worksheets/sheet2.xml" : NULL, sheet2 },
	};

	snprintf(wb, sizeof(wb), "<workbook " NS "><workbookPr%s/><sheets>"
		 "<sheet name=\"清单\" sheetId=\"1\" r:id=\"rId1\"/>%s</sheets></workbook>",
		 date1904 ? " date1904=\"1\"" : "",
		 sheet2 ? "<sheet name=\"其他\" sheetId=\"2\" r:id=\"rId2\"/>" : "");
	return zip_parts(parts, len);
}

static char *workbook(const char *sheet1, const char *sheet2, bool date1904, size_t *len)
{
	return workbook_ss(sheet1, sheet2, shared, date1904, len);
}

/* head, then n times each, then tail: a part too large to write out. */
static char *repeat(const char *head, const char *each, size_t n, const char *tail)
{
	size_t h = strlen(head), e = strlen(each), t = strlen(tail);
	char *s = malloc(h + n * e + t + 1), *o = s;

	ck_assert_ptr_nonnull(s);
	memcpy(o, head, h);
	o += h;
	for (size_t i = 0; i < n; i++, o += e)
		memcpy(o, each, e);
	memcpy(o, tail, t + 1);
	return s;
}

/* The peak resident set so far, in bytes (a sanity bound, not a timing). */
static long peak_rss(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss * 1024L;
}

/* The header row (shared strings 0-3) and then rows. */
#define SHEET(rows) "<worksheet " NS "><sheetData>" \
	"<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v></c>" \
	"<c r=\"C1\" t=\"s\"><v>2</v></c><c r=\"D1\" t=\"s\"><v>3</v></c></row>" rows "</sheetData></worksheet>"

static qd_listdoc *base_doc(void)
{
	const char *root = getenv("QD_SOURCE_ROOT");
	char path[1024];
	json_t *j;
	qd_listdoc *doc = NULL;

	snprintf(path, sizeof(path), "%s/schema/examples/" GBA ".json", root ? root : ".");
	j = json_load_file(path, 0, NULL);
	ck_assert_msg(j != NULL, "cannot read %s (set QD_SOURCE_ROOT)", path);
	ck_assert_int_eq(qd_listdoc_from_json(j, GBA, &doc, NULL), 0);
	json_decref(j);
	return doc;
}

static int import(const char *buf, size_t len, const char *sheet, size_t max, qd_listdoc **out,
		  qd_problems *p)
{
	qd_listdoc *base = base_doc();
	int rc = qd_xlsx_to_listdoc(buf, len, sheet, max, base, out, p);

	qd_listdoc_free(base);
	return rc;
}

static bool has(const qd_problems *p, const char *substr)
{
	for (size_t i = 0; i < p->count; i++) {
		if (strstr(p->items[i].message, substr) != NULL)
			return true;
	}
	for (size_t i = 0; i < p->count; i++)
		fprintf(stderr, "  problem: %u:%u %s\n", p->items[i].line, p->items[i].column, p->items[i].message);
	return false;
}

static const char *entry_str(const qd_listdoc *doc, size_t i, const char *key, char *out, size_t size)
{
	json_t *e = fx_entry_tree(doc, i), *v = json_object_get(e, key);

	snprintf(out, size, "%s", json_is_string(v) ? json_string_value(v) : "(not a string)");
	if (strcmp(key, "name") == 0)
		snprintf(out, size, "%s", json_string_value(json_object_get(v, "zh")));
	return out;
}

/* ---- tests ------------------------------------------------------------------ */

/* Shared, rich and inline strings; a code stored as a 10-digit number (in
 * Excel's exponent form too); dates as serials in both date systems. */
START_TEST(cells_read_as_text)
{
	static const char sheet[] = "<worksheet " NS "><sheetData>"
		"<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v></c>"
		"<c r=\"C1\" t=\"s\"><v>2</v></c><c r=\"D1\" t=\"s\"><v>3</v></c>"
		"<c r=\"E1\" t=\"inlineStr\"><is><t>有效期起</t></is></c>"
		"<c r=\"F1\" t=\"inlineStr\"><is><t>有效期止</t></is></c></row>"
		"<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>PL-1</t></is></c><c r=\"B2\"><v>3822190090</v></c>"
		"<c r=\"C2\" t=\"s\"><v>4</v></c><c r=\"D2\" t=\"s\"><v>5</v></c>"
		"<c r=\"E2\" s=\"1\"><v>45292</v></c><c r=\"F2\" s=\"2\"><v>46022</v></c></row>"
		"<row r=\"4\"><c r=\"A4\"><v>2</v></c><c r=\"B4\"><v>3.82219009E9</v></c>"
		"<c r=\"C4\" t=\"str\"><v>血液</v></c><c r=\"D4\" t=\"s\"><v>5</v></c></row>"
		"</sheetData></worksheet>";
	char *buf, v[256];
	size_t len;
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	buf = workbook(sheet, NULL, false, &len);
	ck_assert_int_eq(import(buf, len, NULL, 1 << 20, &doc, &p), 0);
	ck_assert_uint_eq(doc->n_entries, 2);
	ck_assert_str_eq(entry_str(doc, 0, "code", v, sizeof(v)), "3822190090");
	ck_assert_str_eq(entry_str(doc, 0, "name", v, sizeof(v)), "诊断试剂");
	ck_assert_str_eq(entry_str(doc, 0, "valid_from", v, sizeof(v)), "2024-01-01");
	ck_assert_str_eq(entry_str(doc, 0, "valid_to", v, sizeof(v)), "2025-12-31");
	ck_assert_str_eq(entry_str(doc, 1, "id", v, sizeof(v)), "2");
	ck_assert_str_eq(entry_str(doc, 1, "code", v, sizeof(v)), "3822190090");
	ck_assert_str_eq(entry_str(doc, 1, "name", v, sizeof(v)), "血液");
	qd_listdoc_free(doc);
	free(buf);

	/* The date system is the workbook's: serial 43830 is 2024-01-01 in
	 * the 1904 system and 2019-12-31 in the 1900 one. */
	for (int d1904 = 1; d1904 >= 0; d1904--) {
		static const char dated[] = "<worksheet " NS "><sheetData>"
			"<row r=\"1\"><c t=\"s\"><v>0</v></c><c t=\"s\"><v>1</v></c><c t=\"s\"><v>2</v></c>"
			"<c t=\"s\"><v>3</v></c><c t=\"inlineStr\"><is><t>有效期起</t></is></c></row>"
			"<row r=\"2\"><c t=\"inlineStr\"><is><t>PL-1</t></is></c><c><v>3822190090</v></c>"
			"<c t=\"s\"><v>4</v></c><c t=\"s\"><v>5</v></c><c s=\"1\"><v>43830</v></c></row>"
			"</sheetData></worksheet>";

		doc = NULL;
		buf = workbook(dated, NULL, d1904, &len);
		ck_assert_int_eq(import(buf, len, NULL, 1 << 20, &doc, &p), 0);
		ck_assert_str_eq(entry_str(doc, 0, "valid_from", v, sizeof(v)), d1904 ? "2024-01-01" : "2019-12-31");
		qd_listdoc_free(doc);
		free(buf);
	}
	qd_problems_free(&p);
}
END_TEST

START_TEST(date_1904)
{
	static const char sheet[] = "<worksheet " NS "><sheetData>"
		"<row r=\"1\"><c t=\"s\"><v>0</v></c><c t=\"s\"><v>1</v></c><c t=\"s\"><v>2</v></c>"
		"<c t=\"s\"><v>3</v></c><c t=\"inlineStr\"><is><t>valid_from</t></is></c></row>"
		"<row r=\"2\"><c t=\"inlineStr\"><is><t>PL-1</t></is></c><c><v>3822190090</v></c>"
		"<c t=\"s\"><v>4</v></c><c t=\"s\"><v>5</v></c><c s=\"1\"><v>43830</v></c></row>"
		"</sheetData></worksheet>";
	char *buf, v[64];
	size_t len;
	qd_listdoc *doc = NULL;

	buf = workbook(sheet, NULL, true, &len);
	ck_assert_int_eq(import(buf, len, NULL, 1 << 20, &doc, NULL), 0);
	ck_assert_str_eq(entry_str(doc, 0, "valid_from", v, sizeof(v)), "2024-01-01");
	qd_listdoc_free(doc);
	free(buf);
}
END_TEST

/* 0106190010 stored as a number is 106190010: refused, naming the cell
 * and the column; a rule broken in a cell names it the same way. */
START_TEST(errors_name_sheet_cell_column)
{
	char *buf;
	size_t len;
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	buf = workbook(SHEET("<row r=\"2\"><c t=\"inlineStr\"><is><t>PL-1</t></is></c><c><v>106190010</v></c>"
			     "<c t=\"s\"><v>4</v></c><c t=\"s\"><v>5</v></c></row>"
			     "<row r=\"7\"><c t=\"inlineStr\"><is><t>PL-2</t></is></c>"
			     "<c t=\"inlineStr\"><is><t>38x2</t></is></c><c t=\"s\"><v>4</v></c>"
			     "<c t=\"inlineStr\"><is><t>NOPE</t></is></c></row>"), NULL, false, &len);
	ck_assert_int_eq(import(buf, len, NULL, 1 << 20, &doc, &p), QD_EINVAL);
	ck_assert_ptr_null(doc);
	ck_assert(has(&p, "清单!B2 (商品编码): the code is stored as the number 106190010"));
	ck_assert(has(&p, "清单!B7 (商品编码): "));
	ck_assert(has(&p, "清单!D7 (依据条款): "));
	ck_assert_uint_eq(p.items[0].line, 2);
	ck_assert_uint_eq(p.items[0].column, 2);
	qd_problems_free(&p);
	free(buf);
}
END_TEST

START_TEST(merged_header_refused)
{
	char *buf;
	size_t len;
	qd_listdoc *doc = NULL;
	qd_problems p;
	static const char sheet[] = "<worksheet " NS "><sheetData>"
		"<row r=\"1\"><c t=\"s\"><v>0</v></c><c t=\"s\"><v>1</v></c><c t=\"s\"><v>2</v></c>"
		"<c t=\"s\"><v>3</v></c></row>"
		"<row r=\"2\"><c t=\"inlineStr\"><is><t>PL-1</t></is></c><c><v>3822190090</v></c>"
		"<c t=\"s\"><v>4</v></c><c t=\"s\"><v>5</v></c></row>"
		"</sheetData><mergeCells count=\"1\"><mergeCell ref=\"B1:C1\"/></mergeCells></worksheet>";

	qd_problems_init(&p);
	buf = workbook(sheet, NULL, false, &len);
	ck_assert_int_eq(import(buf, len, NULL, 1 << 20, &doc, &p), QD_EINVAL);
	ck_assert(has(&p, "清单!B1 (商品编码): merged header cells B1:C1"));
	qd_problems_free(&p);
	free(buf);
}
END_TEST

/* ?sheet=NAME: that sheet; a name the workbook lacks lists its sheets. */
START_TEST(sheet_by_name)
{
	char *buf, v[64];
	size_t len;
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	buf = workbook("<worksheet " NS "><sheetData/></worksheet>",
		       SHEET("<row r=\"2\"><c t=\"inlineStr\"><is><t>PL-9</t></is></c><c><v>3822190090</v></c>"
			     "<c t=\"s\"><v>4</v></c><c t=\"s\"><v>5</v></c></row>"), false, &len);
	ck_assert_int_eq(import(buf, len, "其他", 1 << 20, &doc, &p), 0);
	ck_assert_str_eq(entry_str(doc, 0, "id", v, sizeof(v)), "PL-9");
	qd_listdoc_free(doc);
	doc = NULL;
	ck_assert_int_eq(import(buf, len, "第三页", 1 << 20, &doc, &p), QD_EINVAL);
	ck_assert(has(&p, "no sheet \"第三页\"; its sheets are \"清单\", \"其他\""));
	qd_problems_free(&p);
	/* The first sheet is empty: said so, with the sheet's name. */
	ck_assert_int_eq(import(buf, len, NULL, 1 << 20, &doc, &p), QD_EINVAL);
	ck_assert(has(&p, "the file is empty"));
	qd_problems_free(&p);
	free(buf);
}
END_TEST

/* A part that would inflate past the limit is refused from its declared
 * size, before it is inflated; not a zip, or a zip that is no workbook,
 * is said to be so. */
START_TEST(limits_and_not_a_workbook)
{
	char *big = malloc(300001), *buf;
	size_t len;
	qd_listdoc *doc = NULL;
	qd_problems p;
	struct part parts[] = { { "xl/workbook.xml", big }, { NULL, NULL } };

	memset(big, ' ', 300000);
	memcpy(big, "<workbook>", 10);
	big[300000] = '\0';
	qd_problems_init(&p);
	buf = zip_parts(parts, &len);
	ck_assert_uint_lt(len, 10000);
	ck_assert_int_eq(import(buf, len, NULL, 100000, &doc, &p), QD_EINVAL);
	ck_assert(has(&p, "inflates to more than 100000 bytes"));
	qd_problems_free(&p);
	free(buf);
	free(big);

	ck_assert_int_eq(import("id,code\n", 8, NULL, 1 << 20, &doc, &p), QD_EINVAL);
	ck_assert(has(&p, "not an .xlsx workbook"));
	qd_problems_free(&p);
	ck_assert(qd_xlsx_looks_like("PK\x03\x04rest", 8));
	ck_assert(!qd_xlsx_looks_like("id,code\n", 8));
}
END_TEST

/* The workbook buf is refused (nothing made) with a problem holding substr. */
static void refused(const char *buf, size_t len, size_t max, const char *substr)
{
	qd_listdoc *doc = NULL;
	qd_problems p;

	qd_problems_init(&p);
	ck_assert_int_eq(import(buf, len, NULL, max, &doc, &p), QD_EINVAL);
	ck_assert_ptr_null(doc);
	ck_assert_msg(has(&p, substr), "no problem says: %s", substr);
	/* The rows past the limit were not read: nothing is said of the
	 * file as a whole. */
	ck_assert(!has(&p, "the file is empty"));
	ck_assert(!has(&p, "no entries"));
	qd_problems_free(&p);
}

/* Shared strings cost their bytes, not an allocation each: a million
 * empty <si/> are read in a small multiple of their 5 MB, and more than
 * QD_XLSX_STRINGS_MAX are refused naming the part. */
START_TEST(shared_strings_bounded)
{
	static const size_t counts[] = { 1000000, QD_XLSX_STRINGS_MAX + 300000 };

	for (size_t k = 0; k < 2; k++) {
		char *ss = repeat("<sst " NS "><si><t>编号</t></si><si><t>商品编码</t></si><si><t>商品名称</t></si>"
				  "<si><t>依据条款</t></si>", "<si/>", counts[k] - 4, "</sst>"), *buf;
		size_t inflated = strlen(ss), len;
		qd_listdoc *doc = NULL;
		qd_problems p;
		long before, grown;

		buf = workbook_ss(SHEET("<row r=\"2\"><c t=\"inlineStr\"><is><t>PL-1</t></is></c><c><v>3822190090</v></c>"
					"<c t=\"inlineStr\"><is><t>试剂</t></is></c>"
					"<c t=\"inlineStr\"><is><t>" CL "</t></is></c></row>"),
				  NULL, ss, false, &len);
		free(ss);
		qd_problems_init(&p);
		before = peak_rss();
		if (k == 0) {
			ck_assert_int_eq(import(buf, len, NULL, 64 << 20, &doc, &p), 0);
			ck_assert_uint_eq(doc->n_entries, 1);
			qd_listdoc_free(doc);
		} else {
			ck_assert_int_eq(import(buf, len, NULL, 64 << 20, &doc, &p), QD_EINVAL);
			ck_assert(has(&p, "the workbook's shared strings (xl/sharedStrings.xml) are more than 4194304"));
		}
		grown = peak_rss() - before;
		ck_assert_msg(grown < 8 * (long)inflated, "%zu shared strings (%zu bytes) took %ld bytes",
			      counts[k], inflated, grown);
		qd_problems_free(&p);
		free(buf);
	}
}
END_TEST

/* One shared string named by many cells is counted once per cell: the
 * cells' text may not pass the byte limit; nor may a row pass column
 * XFD, nor the sheet QD_XLSX_CELLS_MAX cells. */
START_TEST(cells_bounded)
{
	char *big = repeat("<sst " NS "><si><t>", "试剂", 2000, "</t></si></sst>"), *sheet, *buf;
	size_t len;

	/* 6 000 bytes named by 100 cells: 600 000 bytes past a 100 000 limit. */
	sheet = repeat("<worksheet " NS "><sheetData><row r=\"1\">", "<c t=\"s\"><v>0</v></c>", 100,
		       "</row></sheetData></worksheet>");
	buf = workbook_ss(sheet, NULL, big, false, &len);
	refused(buf, len, 100000, "sheet \"清单\": the cells of the sheet (xl/worksheets/sheet1.xml) hold more than "
		      "100000 bytes of text");
	free(buf);
	free(sheet);
	free(big);

	sheet = repeat("<worksheet " NS "><sheetData><row r=\"1\">", "<c r=\"A1\"/>", 16385,
		       "</row></sheetData></worksheet>");
	buf = workbook(sheet, NULL, false, &len);
	refused(buf, len, 1 << 20, "row 1 of the sheet (xl/worksheets/sheet1.xml) has more than 16384 cells");
	free(buf);
	free(sheet);

	/* Rows of 16384 cells, one cell more than QD_XLSX_CELLS_MAX in all. */
	big = repeat("<row>", "<c/>", 16384, "</row>");
	sheet = repeat("<worksheet " NS "><sheetData>", big, QD_XLSX_CELLS_MAX / 16384,
		       "<row><c/></row></sheetData></worksheet>");
	buf = workbook(sheet, NULL, false, &len);
	free(big);
	refused(buf, len, 64 << 20, "the sheet (xl/worksheets/sheet1.xml) has more than 4194304 cells");
	free(buf);
	free(sheet);
}
END_TEST

/* A number cell under 统一社会信用代码 is refused saying it holds a
 * number and to format the column as text, naming the cell; so is a
 * 关区代码 that lost its leading zero.  A whole number under 编号 reads. */
START_TEST(identifier_in_number_cell)
{
	char *buf, v[64];
	size_t len;
	qd_listdoc *doc = NULL;
	qd_problems p;
	static const char sheet[] = "<worksheet " NS "><sheetData>"
		"<row r=\"1\"><c t=\"s\"><v>0</v></c><c t=\"s\"><v>1</v></c><c t=\"s\"><v>2</v></c>"
		"<c t=\"s\"><v>3</v></c><c t=\"inlineStr\"><is><t>统一社会信用代码</t></is></c>"
		"<c t=\"inlineStr\"><is><t>关区代码</t></is></c></row>"
		"<row r=\"7\"><c><v>12</v></c><c><v>3822190090</v></c>"
		"<c t=\"s\"><v>4</v></c><c t=\"s\"><v>5</v></c><c><v>9.11101087226452E+17</v></c>"
		"<c><v>100</v></c></row>"
		"</sheetData></worksheet>";

	qd_problems_init(&p);
	buf = workbook(sheet, NULL, false, &len);
	ck_assert_int_eq(import(buf, len, NULL, 1 << 20, &doc, &p), QD_EINVAL);
	ck_assert(has(&p, "清单!E7 (统一社会信用代码): the cell holds the number 9.11101087226452e+17, not text"));
	ck_assert(has(&p, "format the column as text (文本)"));
	ck_assert(has(&p, "清单!F7 (关区代码): the cell holds the number 100, not text"));
	ck_assert(!has(&p, "清单!A7"));
	qd_problems_free(&p);
	free(buf);

	/* A 4-digit customs code and a whole-number id read as their digits. */
	buf = workbook(SHEET("<row r=\"2\"><c><v>12</v></c><c><v>3822190090</v></c>"
			     "<c t=\"s\"><v>4</v></c><c t=\"s\"><v>5</v></c></row>"), NULL, false, &len);
	ck_assert_int_eq(import(buf, len, NULL, 1 << 20, &doc, &p), 0);
	ck_assert_str_eq(entry_str(doc, 0, "id", v, sizeof(v)), "12");
	qd_listdoc_free(doc);
	qd_problems_free(&p);
	free(buf);
}
END_TEST

/* An Excel 97–2003 workbook (.xls) sent as .xlsx or as CSV is named as
 * one, with what to do. */
START_TEST(legacy_xls_named)
{
	char xls[512] = "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1";
	qd_listdoc *doc = NULL, *base = base_doc();
	qd_problems p;

	memset(xls + 8, 0, sizeof(xls) - 8);
	qd_problems_init(&p);
	ck_assert(qd_xlsx_looks_like_xls(xls, sizeof(xls)));
	ck_assert(!qd_xlsx_looks_like_xls("PK\x03\x04rest", 8));
	ck_assert_int_eq(import(xls, sizeof(xls), NULL, 1 << 20, &doc, &p), QD_EINVAL);
	ck_assert(has(&p, "Excel 97–2003 workbook (.xls)"));
	ck_assert(has(&p, "save it as an Excel workbook (.xlsx) or as CSV UTF-8"));
	ck_assert_uint_eq(p.count, 1);
	qd_problems_free(&p);
	ck_assert_int_eq(qd_csv_to_listdoc(xls, sizeof(xls), NULL, base, &doc, &p), QD_EINVAL);
	ck_assert(has(&p, "Excel 97–2003 workbook (.xls)"));
	ck_assert_uint_eq(p.count, 1);
	qd_problems_free(&p);
	ck_assert_int_eq(qd_csv_to_listdoc(xls, sizeof(xls), "gb18030", base, &doc, &p), QD_EINVAL);
	ck_assert(has(&p, "Excel 97–2003 workbook (.xls)"));
	qd_problems_free(&p);
	qd_listdoc_free(base);
}
END_TEST

/* More than QD_XLSX_PARTS_MAX parts: refused before any is read. */
START_TEST(too_many_parts)
{
	size_t n = QD_XLSX_PARTS_MAX + 1, len;
	struct part *parts = calloc(n + 1, sizeof(*parts));
	char (*names)[16] = malloc(n * sizeof(*names)), *buf;

	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "p/%zu", i);
		parts[i].name = names[i];
		parts[i].xml = "";
	}
	buf = zip_parts(parts, &len);
	refused(buf, len, 1 << 20, "the workbook has 10001 parts; at most 10000 are read");
	free(buf);
	free(parts);
	free(names);
}
END_TEST

/* Merged cells below the header are refused too (only the first cell of
 * a merged range holds its value); a formula error names its cell; a
 * sheet that is not well-formed XML names its part. */
START_TEST(merged_error_malformed)
{
	char *buf;
	size_t len;
	qd_listdoc *doc = NULL;
	qd_problems p;
	static const char merged[] = "<worksheet " NS "><sheetData>"
		"<row r=\"1\"><c t=\"s\"><v>0</v></c><c t=\"s\"><v>1</v></c><c t=\"s\"><v>2</v></c>"
		"<c t=\"s\"><v>3</v></c></row>"
		"<row r=\"2\"><c t=\"inlineStr\"><is><t>PL-1</t></is></c><c><v>3822190090</v></c>"
		"<c t=\"s\"><v>4</v></c><c t=\"s\"><v>5</v></c></row>"
		"<row r=\"3\"><c t=\"inlineStr\"><is><t>PL-2</t></is></c><c><v>3822190090</v></c>"
		"<c t=\"s\"><v>4</v></c><c t=\"s\"><v>5</v></c></row>"
		"</sheetData><mergeCells count=\"1\"><mergeCell ref=\"D2:D3\"/></mergeCells></worksheet>";

	buf = workbook(merged, NULL, false, &len);
	refused(buf, len, 1 << 20, "清单!D2 (依据条款): merged cells D2:D3: only the first of them holds the value");
	free(buf);
	qd_problems_init(&p);

	buf = workbook(SHEET("<row r=\"2\"><c t=\"inlineStr\"><is><t>PL-1</t></is></c><c><v>3822190090</v></c>"
			     "<c r=\"C2\" t=\"e\"><v>#N/A</v></c><c t=\"s\"><v>5</v></c></row>"), NULL, false, &len);
	ck_assert_int_eq(import(buf, len, NULL, 1 << 20, &doc, &p), QD_EINVAL);
	ck_assert(has(&p, "清单!C2 (商品名称): cell C2 holds the formula error #N/A"));
	ck_assert_uint_eq(p.items[0].line, 2);
	ck_assert_uint_eq(p.items[0].column, 3);
	qd_problems_free(&p);
	free(buf);

	buf = workbook(SHEET("<row r=\"2\"><c t=\"inlineStr\"><is><t>PL-1</t></is></c><c><v>3822190090</v></row>"),
		       NULL, false, &len);
	refused(buf, len, 1 << 20, "the sheet (xl/worksheets/sheet1.xml) is not well-formed XML");
	free(buf);
}
END_TEST

/* Set the uncompressed size that the zip's local and central headers
 * declare for the entry name. */
static void declare_size(char *zip, size_t len, const char *name, uint32_t size)
{
	size_t nl = strlen(name);
	int patched = 0;

	for (size_t i = 0; i + 46 + nl <= len; i++) {
		unsigned char *h = (unsigned char *)zip + i;
		size_t at;

		if (memcmp(h, "PK\x03\x04", 4) == 0 && h[26] + 256u * h[27] == nl && memcmp(h + 30, name, nl) == 0)
			at = 22;
		else if (memcmp(h, "PK\x01\x02", 4) == 0 && h[28] + 256u * h[29] == nl && memcmp(h + 46, name, nl) == 0)
			at = 24;
		else
			continue;
		for (int b = 0; b < 4; b++)
			h[at + b] = (unsigned char)(size >> (8 * b));
		patched++;
	}
	ck_assert_int_eq(patched, 2);
}

/* A part whose declared size lies is refused: inflating stops at the
 * size it declares (less than it holds), or finds less than declared. */
START_TEST(declared_size_lies)
{
	char *sheet = repeat("<worksheet " NS "><sheetData>", "<row><c t=\"inlineStr\"><is><t>PL-1</t></is></c></row>",
			     2000, "</sheetData></worksheet>"), *buf;
	size_t len, real = strlen(sheet);
	const uint32_t lies[] = { 100, (uint32_t)real + 50000 };

	for (int k = 0; k < 2; k++) {
		buf = workbook(sheet, NULL, false, &len);
		declare_size(buf, len, "xl/worksheets/sheet1.xml", lies[k]);
		refused(buf, len, 1 << 20, "the workbook's part xl/worksheets/sheet1.xml is damaged");
		free(buf);
	}
	free(sheet);
}
END_TEST

/* The file at path, whole; *len its size. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	buf = malloc(*len + 1);
	ck_assert_uint_eq(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

/* A version written as a workbook reads back into the same document:
 * the samples, and entries with what a cell could spoil — codes with a
 * leading zero, a 13-character id of digits, a limit with a fraction,
 * dates before 1901 (text) and after, exclusions, revoked status, several
 * entities and waivers, a remark and a note. */
START_TEST(written_reads_back)
{
	static const char *const extra =
		"{'id': '0001', 'code': '0106190010', 'ciq': '001', 'name': {'zh': '小鼠', 'en': null},"
		" 'spec': '活体；SPF', 'effect': 'exclude', 'entities': [], 'valid_from': '1899-12-31',"
		" 'valid_to': '9999-12-31', 'status': 'revoked', 'waives': ['Q', '许可证'],"
		" 'conditions': [{'type': 'remark', 'text': '备注 1'}, {'type': 'note', 'text': '说明\\n两行'}],"
		" 'quantity': {'limit': 0.125, 'unit': '只'}, 'clauses': ['GACC-2022-143-1-1'], 'batch': '1'}";
	char path[] = "/tmp/qd-xlsx-write.XXXXXX";
	int fd = mkstemp(path);
	qd_listdoc *base = base_doc(), *doc, *back = NULL;
	char *text, *da, *db;
	json_t *j;
	size_t len, la, lb;
	qd_problems p;

	ck_assert_int_ge(fd, 0);
	close(fd);
	/* The sample with one more entry. */
	da = qd_listdoc_dump(base, &la);
	j = json_loads(da, 0, NULL);
	free(da);
	{
		char *e = fx_dq(extra);

		json_array_append_new(json_object_get(j, "entries"), json_loads(e, 0, NULL));
		free(e);
	}
	ck_assert_int_eq(qd_listdoc_from_json(j, GBA, &doc, NULL), 0);
	json_decref(j);

	ck_assert_int_eq(qd_xlsx_write_list(doc, 7, path), 0);
	text = slurp(path, &len);
	unlink(path);
	qd_problems_init(&p);
	ck_assert_int_eq(qd_xlsx_to_listdoc(text, len, NULL, len * 100, base, &back, &p), 0);
	da = qd_listdoc_dump(doc, &la);
	db = qd_listdoc_dump(back, &lb);
	ck_assert_str_eq(db, da);
	free(da);
	free(db);
	free(text);
	qd_problems_free(&p);
	qd_listdoc_free(back);
	qd_listdoc_free(doc);
	qd_listdoc_free(base);
}
END_TEST

static Suite *xlsx_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("xlsx");

	tcase_add_test(tc, cells_read_as_text);
	tcase_add_test(tc, date_1904);
	tcase_add_test(tc, errors_name_sheet_cell_column);
	tcase_add_test(tc, merged_header_refused);
	tcase_add_test(tc, sheet_by_name);
	tcase_add_test(tc, limits_and_not_a_workbook);
	tcase_add_test(tc, written_reads_back);
	tcase_add_test(tc, shared_strings_bounded);
	tcase_add_test(tc, cells_bounded);
	tcase_add_test(tc, identifier_in_number_cell);
	tcase_add_test(tc, legacy_xls_named);
	tcase_add_test(tc, too_many_parts);
	tcase_add_test(tc, merged_error_malformed);
	tcase_add_test(tc, declared_size_lies);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(xlsx_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
