/* qingdan — HTTP tests of the .xlsx downloads: a version (?format=xlsx or
 * Accept), its round trip through PUT, a check's answer and a diff.
 *
 * POST /v1/sheet: a shipment workbook's rows for the pre-check page.
 *
 * Workbooks are read back with tests/data/xlsx/read_xlsx.py (python3's
 * zipfile and xml.etree), not with the daemon's own reader.  One daemon
 * for the TCase (fresh store, the two samples loaded); the tests run in
 * the order added and the later ones add versions. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"
#include "qingdan/xlsx.h"
#include "suite.h"

#define GBA "gba-research-positive"
#define WL "biomed-rd-whitelist"
#define GBA_FILE "schema/examples/gba-research-positive.json"
#define WL_FILE "schema/examples/biomed-rd-whitelist.json"
#define DAY "2026-11-26"
/* On the positive list's roster; PL-0001 (code 3822) covers CODE. */
#define ENT "91440101MA5D7R2TX1"
#define CODE "3822190090"

/* The entries sheet's headings: the CSV import's first Chinese heading of
 * every field, in its order. */
static const char *const ENTRY_HEADINGS[] = {
	"编号", "商品编码", "检验检疫编码", "商品名称", "英文名称", "规格型号", "类型", "统一社会信用代码",
	"有效期起", "有效期止", "状态", "免于提交单证", "备注要求", "说明", "数量", "计量单位", "依据条款", "批次",
};

static harness_daemon d;

static void setup(void)
{
	harness_opts o = {.tokens = true};
	char err[512];
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "cannot start qingdand: %s", err);
	const char *ids[] = {GBA, WL}, *files[] = {GBA_FILE, WL_FILE};
	for (int i = 0; i < 2; i++) {
		http_response *r = ht_put_sample(ids[i], files[i], HARNESS_ADMIN_TOKEN);
		assert_status(r, 201);
		http_response_free(r);
	}
}

static void teardown(void)
{
	ht_stop_fixture(&d);
}

/* ------------------------------------------------------------------ */
/* helpers */

/* The workbook r carries, read back: {"sheets": [{"name", "rows"}]}. */
static json_t *workbook_of(const http_response *r)
{
	const char *root = getenv("QD_SOURCE_ROOT");
	char path[64] = "/tmp/qd-sheets.XXXXXX", cmd[600];
	int fd = mkstemp(path);
	ck_assert(fd >= 0 && root != NULL);
	ck_assert_int_eq(write(fd, r->body, r->body_len), (ssize_t)r->body_len);
	close(fd);
	snprintf(cmd, sizeof cmd, "python3 '%s/tests/data/xlsx/read_xlsx.py' '%s'", root, path);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	json_error_t je;
	json_t *wb = json_loadf(p, 0, &je);
	int st = pclose(p);
	unlink(path);
	ck_assert_msg(wb != NULL && st == 0, "the answer is no workbook read_xlsx.py can read: %s", je.text);
	return wb;
}

/* A download that must be a workbook named filename. */
static void assert_workbook(const http_response *r, const char *filename)
{
	assert_status(r, 200);
	const char *ct = http_header(r, "Content-Type"), *cd = http_header(r, "Content-Disposition");
	ck_assert_msg(ct && strcmp(ct, QD_XLSX_TYPE) == 0, "Content-Type is %s", ct ? ct : "(none)");
	char want[160];
	snprintf(want, sizeof want, "attachment; filename=\"%s\"", filename);
	ck_assert_msg(cd && strcmp(cd, want) == 0, "Content-Disposition is %s, expected %s", cd ? cd : "(none)",
		      want);
	ck_assert_msg(r->body_len > 4 && memcmp(r->body, "PK\3\4", 4) == 0, "the body is no zip");
}

/* The rows of the sheet named name (fails when there is none). */
static json_t *sheet_rows(json_t *wb, const char *name)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(wb, "sheets"), i, s) {
		if (strcmp(json_string_value(json_object_get(s, "name")), name) == 0)
			return json_object_get(s, "rows");
	}
	ck_abort_msg("the workbook has no sheet %s", name);
	return NULL;
}

/* Cell (row, col) of rows, 0-based; NULL when absent or empty. */
static json_t *cell(json_t *rows, size_t row, size_t col)
{
	json_t *c = json_array_get(json_array_get(rows, row), col);
	return json_is_null(c) ? NULL : c;
}

/* A text cell holding want. */
#define assert_text(rows, row, col, want)                                                         \
	do {                                                                                      \
		json_t *c_ = cell(rows, row, col);                                                \
		ck_assert_msg(json_is_string(c_) && strcmp(json_string_value(c_), want) == 0,     \
			      "cell (%d, %d): expected the text \"%s\", got %s", (int)(row), (int)(col), \
			      want, c_ ? (json_is_string(c_) ? json_string_value(c_) : "a number") : "nothing"); \
	} while (0)

/* A number cell holding want. */
#define assert_num(rows, row, col, want)                                                          \
	do {                                                                                      \
		json_t *c_ = cell(rows, row, col);                                                \
		ck_assert_msg(json_is_number(c_) && json_number_value(c_) == (double)(want),      \
			      "cell (%d, %d): expected the number %g", (int)(row), (int)(col), (double)(want)); \
	} while (0)

/* The row of rows whose first cell is the text id; fails when none. */
static size_t row_of(json_t *rows, const char *id)
{
	for (size_t i = 1; i < json_array_size(rows); i++) {
		json_t *c = cell(rows, i, 0);
		if (json_is_string(c) && strcmp(json_string_value(c), id) == 0)
			return i;
	}
	ck_abort_msg("no row for %s", id);
	return 0;
}

static http_response *get_accept(const char *path, const char *accept)
{
	char h[200];
	snprintf(h, sizeof h, "Accept: %s", accept);
	const char *hs[] = {h, NULL};
	return http_request("GET", path, hs, NULL, 0);
}

/* Current version and sha256 of a list. */
static json_int_t list_version(const char *id, char sha[65])
{
	char path[128];
	snprintf(path, sizeof path, "/v1/lists/%s", id);
	http_response *r = ht_get_ok(path);
	json_int_t v = json_integer_value(jptr(r->json, "/version"));
	snprintf(sha, 65, "%s", jptr_str(r->json, "/sha256"));
	http_response_free(r);
	return v;
}

/* A workbook written by tests/data/xlsx/make_xlsx.py from the JSON
 * description spec; *len its size. */
static char *make_workbook(const char *spec, size_t *len)
{
	const char *root = getenv("QD_SOURCE_ROOT");
	char in[64] = "/tmp/qd-sheets-spec.XXXXXX", out[64] = "/tmp/qd-sheets-wb.XXXXXX", cmd[600];
	int fi = mkstemp(in), fo = mkstemp(out);
	ck_assert(fi >= 0 && fo >= 0 && root != NULL);
	close(fo);
	ck_assert_int_eq(write(fi, spec, strlen(spec)), (ssize_t)strlen(spec));
	close(fi);
	snprintf(cmd, sizeof cmd, "python3 '%s/tests/data/xlsx/make_xlsx.py' '%s' < '%s'", root, out, in);
	ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
	char *buf = harness_read_file(out);
	ck_assert_ptr_nonnull(buf);
	FILE *f = fopen(out, "rb");
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fclose(f);
	unlink(in);
	unlink(out);
	return buf;
}

static http_response *post_sheet(const char *query, const char *ct, const char *buf, size_t len)
{
	char path[128], cth[160];
	snprintf(path, sizeof path, "/v1/sheet%s%s", query ? "?" : "", query ? query : "");
	snprintf(cth, sizeof cth, "Content-Type: %s", ct ? ct : QD_XLSX_TYPE);
	const char *hs[] = {cth, NULL};
	return http_request("POST", path, hs, buf, len);
}

/* PUT body (Content-Type ct) as the next version of list id, as admin. */
static http_response *put_list(const char *id, const char *ct, const char *body, size_t len)
{
	char path[160], auth[128], cth[160];
	snprintf(path, sizeof path, "/v1/lists/%s", id);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", HARNESS_ADMIN_TOKEN);
	snprintf(cth, sizeof cth, "Content-Type: %s", ct);
	const char *hs[] = {auth, cth, NULL};
	return http_request("PUT", path, hs, body, len);
}

/* The message of r's first problem contains want. */
#define assert_detail(r, want)                                                                    \
	ck_assert_msg(strstr(jptr_str((r)->json, "/error/details/0/message"), want) != NULL,      \
		      "expected a problem saying \"%s\": %s", want, (r)->body)

/* ------------------------------------------------------------------ */

/* A version as a workbook: the entries under the CSV's Chinese headings,
 * codes as text, dates as dates, limits as numbers; the clauses, the
 * roster and the version on their own sheets. */
START_TEST(test_version_xlsx)
{
	http_response *r = http_get("/v1/lists/" GBA "/versions/1?format=xlsx");
	assert_workbook(r, GBA "-v1.xlsx");
	json_t *wb = workbook_of(r);
	http_response_free(r);
	static const char *const names[] = {"清单", "条款", "名录", "版本"};
	json_t *sheets = json_object_get(wb, "sheets");
	ck_assert_uint_eq(json_array_size(sheets), 4);
	for (size_t i = 0; i < 4; i++)
		assert_jstr(json_array_get(sheets, i), "/name", names[i]);

	json_t *doc = ht_sample_json(GBA_FILE), *rows = sheet_rows(wb, "清单");
	ck_assert_uint_eq(json_array_size(rows), json_array_size(json_object_get(doc, "entries")) + 1);
	for (size_t j = 0; j < sizeof ENTRY_HEADINGS / sizeof ENTRY_HEADINGS[0]; j++)
		assert_text(rows, 0, j, ENTRY_HEADINGS[j]);
	/* PL-0004: code 300212 as text, waives Q, a remark and a note, 500 mL. */
	size_t i = row_of(rows, "PL-0004");
	assert_text(rows, i, 1, "300212");
	assert_text(rows, i, 3, "抗血清及其他血份");
	assert_text(rows, i, 6, "纳入");
	json_t *date = json_pack("{s:s}", "date", "2022-10-01");
	ck_assert_msg(json_equal(cell(rows, i, 8), date), "valid_from is not the date cell 2022-10-01");
	json_decref(date);
	assert_text(rows, i, 10, "有效");
	assert_text(rows, i, 11, "Q");
	assert_text(rows, i, 12, "跨境科研用物资正面清单");
	assert_text(rows, i, 13, "仅限所列机构自用于科学研究，不得转让、销售或用于临床。");
	assert_num(rows, i, 14, 500);
	assert_text(rows, i, 15, "mL");
	assert_text(rows, i, 16, "GACC-2022-143-1-1");

	rows = sheet_rows(wb, "条款");
	ck_assert_uint_eq(json_array_size(rows), json_array_size(json_object_get(doc, "clauses")) + 1);
	assert_text(rows, row_of(rows, "GACC-2022-143-1-1"), 1, "署综函〔2022〕143号");
	rows = sheet_rows(wb, "名录");
	ck_assert_uint_eq(json_array_size(rows), json_array_size(json_object_get(doc, "entities")) + 1);
	assert_text(rows, row_of(rows, ENT), 3, "有效");
	rows = sheet_rows(wb, "版本");
	assert_text(rows, row_of(rows, "清单"), 1, GBA);
	assert_num(rows, row_of(rows, "版本"), 1, 1);
	json_decref(doc);

	/* The Accept header asks for the same workbook; format=json wins over it. */
	r = get_accept("/v1/lists/" GBA "/versions/1", QD_XLSX_TYPE);
	assert_workbook(r, GBA "-v1.xlsx");
	json_t *again = workbook_of(r);
	ck_assert_msg(json_equal(wb, again), "the workbook asked for by Accept differs");
	json_decref(again);
	http_response_free(r);
	r = get_accept("/v1/lists/" GBA "/versions/1?format=json", QD_XLSX_TYPE);
	assert_status(r, 200);
	assert_json_ct(r);
	assert_jstr(r->json, "/list", GBA);
	http_response_free(r);
	json_decref(wb);
}
END_TEST

/* format takes json or xlsx; other parameters are still refused; a
 * missing version is named as for JSON. */
START_TEST(test_format_errors)
{
	static const char *const paths[] = {
		"/v1/lists/" GBA "/versions/1?format=pdf",
		"/v1/lists/" GBA "/diff?from=1&format=xls",
	};
	for (size_t i = 0; i < 2; i++) {
		http_response *r = http_get("%s", paths[i]);
		assert_error(r, 400, "bad_parameter");
		assert_jstr(r->json, "/error/details/0/parameter", "format");
		http_response_free(r);
	}
	http_response *r = http_get("/v1/lists/" GBA "/versions/1?format=xlsx&sheet=1");
	assert_error(r, 400, "unknown_parameter");
	assert_jstr(r->json, "/error/details/0/parameter", "sheet");
	http_response_free(r);
	r = http_get("/v1/lists/" GBA "/versions/99?format=xlsx");
	assert_error(r, 404, "version_not_found");
	http_response_free(r);
	r = http_get("/v1/lists/no-such-list/versions/1?format=xlsx");
	assert_error(r, 404, "list_not_found");
	http_response_free(r);
	const char *body = "{\"items\":[{\"code\":\"" CODE "\"}]}";
	r = http_request("POST", "/v1/check?format=csv", NULL, body, strlen(body));
	assert_error(r, 400, "bad_parameter");
	http_response_free(r);
	r = http_request("POST", "/v1/check?fmt=xlsx", NULL, body, strlen(body));
	assert_error(r, 400, "unknown_parameter");
	http_response_free(r);
	/* Other answers stay JSON whatever Accept says. */
	r = get_accept("/v1/lookup?code=" CODE "&date=" DAY, QD_XLSX_TYPE);
	assert_status(r, 200);
	assert_json_ct(r);
	http_response_free(r);
}
END_TEST

/* A downloaded workbook PUT back gives the same entries (the same sha256
 * of the document) for both kinds of list. */
START_TEST(test_version_roundtrip)
{
	const char *ids[] = {GBA, WL};
	for (int k = 0; k < 2; k++) {
		char sha[65], path[160];
		json_int_t v = list_version(ids[k], sha);
		snprintf(path, sizeof path, "/v1/lists/%s/versions/%lld?format=xlsx", ids[k], (long long)v);
		http_response *wb = http_get("%s", path);
		assert_status(wb, 200);
		http_response *r = put_list(ids[k], QD_XLSX_TYPE, wb->body, wb->body_len);
		assert_status(r, 200);
		assert_jint(r->json, "/version", v + 1);
		assert_jstr(r->json, "/sha256", sha);
		assert_jint(r->json, "/diff/added", 0);
		assert_jint(r->json, "/diff/removed", 0);
		assert_jint(r->json, "/diff/changed", 0);
		http_response_free(r);
		http_response_free(wb);
	}
}
END_TEST

/* A check as a workbook: a row per item with the decision and reason in
 * words, the deciding list, version, entry and clause, what the entry
 * waives and asks for; invalid items keep their code; a summary sheet. */
START_TEST(test_check_xlsx)
{
	const char *body = "{\"entity\":\"" ENT "\",\"date\":\"" DAY "\",\"client_ref\":\"DEC-1\",\"items\":["
			   "{\"ref\":\"a\",\"code\":\"" CODE "\"},{\"ref\":7,\"code\":\"3002.12\"},"
			   "{\"code\":\"12x\"},{\"ref\":\"d\",\"code\":\"0101\"}]}";
	http_response *j = http_request("POST", "/v1/check", NULL, body, strlen(body));
	assert_status(j, 200);
	http_response *r = http_request("POST", "/v1/check?format=xlsx", NULL, body, strlen(body));
	ck_assert_int_eq(r->status, 200);
	json_t *wb = workbook_of(r);
	json_t *rows = sheet_rows(wb, "预检结果");
	ck_assert_uint_eq(json_array_size(rows), 5);
	assert_text(rows, 0, 0, "序号");
	assert_text(rows, 0, 4, "结论");
	assert_text(rows, 0, 5, "原因");

	/* Item 1: allowed by PL-0001 of the positive list. */
	assert_num(rows, 1, 0, 1);
	assert_text(rows, 1, 1, "a");
	assert_text(rows, 1, 2, CODE);
	assert_text(rows, 1, 4, "适用便利措施");
	assert_text(rows, 1, 5, "已列入清单，可适用便利措施。");
	assert_text(rows, 1, 6, jptr_str(j->json, "/items/0/basis/list"));
	assert_num(rows, 1, 7, json_integer_value(jptr(j->json, "/items/0/basis/version")));
	assert_text(rows, 1, 8, jptr_str(j->json, "/items/0/basis/entry/id"));
	ck_assert_msg(strstr(json_string_value(cell(rows, 1, 10)), "署综函〔2022〕143号") != NULL,
		      "the clause is not named: %s", json_string_value(cell(rows, 1, 10)));
	/* Item 2: 300212 (PL-0004) waives Q, with a remark and a limit. */
	assert_text(rows, 2, 1, "7");
	assert_text(rows, 2, 2, "300212");
	assert_text(rows, 2, 8, "PL-0004");
	assert_text(rows, 2, 11, "Q");
	assert_text(rows, 2, 12, "跨境科研用物资正面清单");
	assert_text(rows, 2, 14, "500 mL");
	/* Item 3: invalid, its code as given. */
	assert_text(rows, 3, 2, "12x");
	assert_text(rows, 3, 4, "编码无效");
	ck_assert_ptr_null(cell(rows, 3, 6));
	/* Item 4: as the JSON answer says, in words. */
	assert_text(rows, 4, 1, "d");
	assert_jstr(j->json, "/items/3/decision", "deny");
	assert_text(rows, 4, 4, "未纳入（按常规程序办理）");
	ck_assert_msg(json_string_value(cell(rows, 4, 5)) && strstr(json_string_value(cell(rows, 4, 5)), "按常规程序办理"),
		      "the reason of a deny is not in words");

	rows = sheet_rows(wb, "概要");
	assert_text(rows, row_of(rows, "客户参考号"), 1, "DEC-1");
	assert_num(rows, row_of(rows, "适用便利措施"), 1, json_integer_value(jptr(j->json, "/summary/allow")));
	assert_num(rows, row_of(rows, "未纳入"), 1, json_integer_value(jptr(j->json, "/summary/deny")));
	assert_num(rows, row_of(rows, "编码无效"), 1, 1);
	assert_text(rows, row_of(rows, "日期"), 1, DAY);
	const char *id = json_string_value(cell(rows, row_of(rows, "决定编号"), 1));
	char want[96];
	snprintf(want, sizeof want, "check-%s.xlsx", id ? id : "?");
	assert_workbook(r, want);
	json_decref(wb);
	http_response_free(r);
	http_response_free(j);
}
END_TEST

/* The diff of two versions as a workbook: a row per added and removed
 * entry and per changed field with its old and new text; the counts. */
START_TEST(test_diff_xlsx)
{
	char sha[65];
	json_int_t v = list_version(GBA, sha);
	json_t *doc = ht_sample_json(GBA_FILE), *entries = json_object_get(doc, "entries");
	json_t *e0 = json_array_get(entries, 0);
	const char *removed = json_string_value(json_object_get(json_array_get(entries, 2), "id"));
	char removed_id[64];
	snprintf(removed_id, sizeof removed_id, "%s", removed);
	json_object_set_new(json_object_get(e0, "name"), "zh", json_string("诊断试剂（改）"));
	json_array_remove(entries, 2);
	json_array_append_new(entries, json_pack("{s:s, s:s, s:{s:s}, s:[s]}", "id", "PL-9999", "code", "0101",
						 "name", "zh", "马", "clauses", "GACC-2022-143-1-1"));
	size_t len;
	char *s = json_compact(doc, &len);
	http_response *r = ht_put_list(GBA, NULL, HARNESS_ADMIN_TOKEN, NULL, s, len);
	assert_status(r, 200);
	http_response_free(r);
	free(s);

	char path[160], name[96];
	snprintf(path, sizeof path, "/v1/lists/" GBA "/diff?from=%lld&to=%lld&format=xlsx", (long long)v,
		 (long long)v + 1);
	snprintf(name, sizeof name, GBA "-diff-v%lld-v%lld.xlsx", (long long)v, (long long)v + 1);
	r = http_get("%s", path);
	assert_workbook(r, name);
	json_t *wb = workbook_of(r);
	json_t *rows = sheet_rows(wb, "变动");
	ck_assert_uint_eq(json_array_size(rows), 4);
	size_t i = row_of(rows, json_string_value(json_object_get(e0, "id")));
	assert_text(rows, i, 1, "修改");
	assert_text(rows, i, 2, "商品名称");
	assert_text(rows, i, 3, "诊断或实验用试剂及配制试剂");
	assert_text(rows, i, 4, "诊断试剂（改）");
	i = row_of(rows, removed_id);
	assert_text(rows, i, 1, "删除");
	ck_assert_ptr_nonnull(cell(rows, i, 5));
	i = row_of(rows, "PL-9999");
	assert_text(rows, i, 1, "新增");
	assert_text(rows, i, 5, "0101");
	assert_text(rows, i, 6, "马");
	rows = sheet_rows(wb, "概要");
	assert_num(rows, row_of(rows, "原版本"), 1, v);
	assert_num(rows, row_of(rows, "新版本"), 1, v + 1);
	assert_num(rows, row_of(rows, "新增条目"), 1, 1);
	assert_num(rows, row_of(rows, "删除条目"), 1, 1);
	assert_num(rows, row_of(rows, "修改条目"), 1, 1);
	json_decref(wb);
	json_decref(doc);
	http_response_free(r);
}
END_TEST

/* POST /v1/sheet gives a shipment workbook's rows as text: codes in text
 * and 10-digit number cells as digits, dates as dates, rows as wide as
 * the header, empty rows left out with the row numbers kept; a short code in a number cell, a missing
 * sheet and a file that is no workbook are 422 naming what is wrong. */
START_TEST(test_sheet_rows)
{
	size_t len;
	char *wb = make_workbook("{\"sheets\": [{\"name\": \"说明\", \"rows\": [[\"见下一页\"]]},"
				 "{\"name\": \"货物\", \"rows\": [[\"商品编号\", \"商品名称\", \"日期\"],"
				 "[\"3822.1900.90\", \"试剂\"], [3002120000, {\"inline\": \"血清\"}], [],"
				 "[\"0106190010\", \"小鼠\", {\"date\": \"2026-01-02\"}]]}]}", &len);
	http_response *r = post_sheet("sheet=%E8%B4%A7%E7%89%A9", NULL, wb, len); /* 货物 */
	assert_status(r, 200);
	assert_json_ct(r);
	assert_jstr(r->json, "/sheet", "货物");
	json_t *want = json_loads("[{\"line\": 1, \"cells\": [\"商品编号\", \"商品名称\", \"日期\"]},"
				  "{\"line\": 2, \"cells\": [\"3822.1900.90\", \"试剂\", \"\"]},"
				  "{\"line\": 3, \"cells\": [\"3002120000\", \"血清\", \"\"]},"
				  "{\"line\": 5, \"cells\": [\"0106190010\", \"小鼠\", \"2026-01-02\"]}]", 0, NULL);
	ck_assert_msg(json_equal(jptr(r->json, "/rows"), want), "rows: %s", r->body);
	json_decref(want);
	http_response_free(r);

	/* The first sheet by default. */
	r = post_sheet(NULL, NULL, wb, len);
	assert_status(r, 200);
	assert_jstr(r->json, "/sheet", "说明");
	assert_jstr(r->json, "/rows/0/cells/0", "见下一页");
	http_response_free(r);

	r = post_sheet("sheet=x", NULL, wb, len);
	assert_error(r, 422, "invalid_workbook");
	ck_assert_msg(strstr(jptr_str(r->json, "/error/details/0/message"), "no sheet \"x\"") != NULL, "%s", r->body);
	http_response_free(r);
	r = post_sheet(NULL, "text/csv", "商品编号\n3822\n", strlen("商品编号\n3822\n"));
	assert_error(r, 415, "unsupported_media_type");
	http_response_free(r);
	r = post_sheet(NULL, NULL, "not a zip", 9);
	assert_error(r, 422, "invalid_workbook");
	http_response_free(r);
	r = post_sheet("format=xlsx", NULL, wb, len);
	assert_error(r, 400, "unknown_parameter");
	http_response_free(r);
	free(wb);

	/* 0106190010 typed into a number cell is 106190010: named, not guessed. */
	wb = make_workbook("{\"sheets\": [{\"name\": \"货物\", \"rows\": [[\"品名\", \"HS编码\"],"
			   "[\"小鼠\", 106190010]]}]}", &len);
	r = post_sheet(NULL, NULL, wb, len);
	assert_error(r, 422, "invalid_workbook");
	assert_jint(r->json, "/error/details/0/line", 2);
	assert_jint(r->json, "/error/details/0/column", 2);
	ck_assert_msg(strstr(jptr_str(r->json, "/error/details/0/message"), "货物!B2 (HS编码): the code is stored as the number 106190010") != NULL,
		      "%s", r->body);
	http_response_free(r);
	free(wb);
}
END_TEST

/* What a hostile or mistaken workbook gets: a zip bomb (a sheet that
 * declares more than --max-document-bytes, 64 MiB here, in a zip under
 * 1 MiB) is a 422 from the declared size, naming the part, and nothing
 * is stored; an Excel 97–2003 workbook sent as CSV or as .xlsx is a 422
 * that says what it is; an 18-digit 统一社会信用代码 typed into a number
 * cell names the cell and asks for a text column. */
START_TEST(test_hostile_workbooks)
{
	char sha[65], sha2[65];
	size_t len;
	json_int_t v = list_version(GBA, sha);
	char *wb = make_workbook("{\"sheets\": [{\"name\": \"清单\", \"rows\": [[\"编号\", \"商品编码\"],"
				 "[\"PL-1\", \"3822190090\"]], \"pad\": 68157440}]}", &len);
	ck_assert_uint_lt(len, 1 << 20);
	http_response *r = put_list(GBA, QD_XLSX_TYPE, wb, len);
	assert_error(r, 422, "invalid_document");
	assert_detail(r, "the workbook inflates to more than 67108864 bytes (part xl/worksheets/sheet1.xml alone is");
	http_response_free(r);
	free(wb);
	ck_assert_int_eq(list_version(GBA, sha2), v);
	ck_assert_str_eq(sha2, sha);

	char xls[512] = "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1";
	memset(xls + 8, 0, sizeof xls - 8);
	const char *types[] = {"text/csv", QD_XLSX_TYPE};
	for (int k = 0; k < 2; k++) {
		r = put_list(GBA, types[k], xls, sizeof xls);
		assert_error(r, 422, "invalid_document");
		assert_detail(r, "the file is an Excel 97–2003 workbook (.xls)");
		assert_detail(r, "save it as an Excel workbook (.xlsx) or as CSV UTF-8");
		http_response_free(r);
	}
	r = post_sheet(NULL, NULL, xls, sizeof xls);
	assert_error(r, 422, "invalid_workbook");
	assert_detail(r, "Excel 97–2003 workbook (.xls)");
	http_response_free(r);
	ck_assert_int_eq(list_version(GBA, sha2), v);

	wb = make_workbook("{\"sheets\": [{\"name\": \"货物\", \"rows\": [[\"品名\", \"统一社会信用代码\"],"
			   "[\"小鼠\", 911101087226452000]]}]}", &len);
	r = post_sheet(NULL, NULL, wb, len);
	assert_error(r, 422, "invalid_workbook");
	assert_detail(r, "货物!B2 (统一社会信用代码): the cell holds the number 9.11101087226452e+17, not text");
	assert_detail(r, "format the column as text (文本)");
	http_response_free(r);
	free(wb);
}
END_TEST

static Suite *sheets_suite(void)
{
	Suite *s = suite_create("sheets");
	TCase *tc = ht_tcase(s, "downloads", setup, teardown);
	tcase_add_test(tc, test_version_xlsx);
	tcase_add_test(tc, test_format_errors);
	tcase_add_test(tc, test_version_roundtrip);
	tcase_add_test(tc, test_check_xlsx);
	tcase_add_test(tc, test_diff_xlsx);
	tcase_add_test(tc, test_sheet_rows);
	tcase_add_test(tc, test_hostile_workbooks);
	return s;
}

int main(void)
{
	return ht_run(sheets_suite());
}
