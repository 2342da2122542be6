/* Unit tests: canonical JSON, RFC 8785 (src/lib/jcs.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qingdan/err.h"
#include "qingdan/jcs.h"
#include "qingdan/listdoc.h"
#include "qingdan/sha256.h"

/* The canonical bytes of the JSON text s, or NULL (err set) on refusal. */
static char *canon(const char *s, int *err)
{
	json_error_t je;
	json_t *v = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	ck_assert_msg(v != NULL, "test input %s: %s", s, je.text);
	qd_buf b;
	qd_buf_init(&b);
	*err = qd_jcs_dump(v, &b);
	json_decref(v);
	if (*err) {
		ck_assert_uint_eq(b.len, 0);
		qd_buf_free(&b);
		return NULL;
	}
	return qd_buf_steal(&b, NULL);
}

static void expect(const char *in, const char *want)
{
	int err;
	char *got = canon(in, &err);
	ck_assert_msg(got != NULL, "%s refused: %d", in, err);
	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(members_sorted_by_utf16_units)
{
	/* RFC 8785 § 3.2.3's example: U+1F600 (surrogates D83D DE00) sorts
	 * before U+FB33 in UTF-16 although its UTF-8 bytes sort after. */
	expect("{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\","
	       "\"\\ufb33\":\"Hebrew Letter Dalet With Dagesh\",\"1\":\"One\","
	       "\"\\ud83d\\ude00\":\"Emoji: Grinning Face\",\"\\u0080\":\"Control\","
	       "\"\\u00f6\":\"Latin Small Letter O With Diaeresis\"}",
	       "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
	       "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\",\"\xe2\x82\xac\":\"Euro Sign\","
	       "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
	       "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
	/* Prefixes sort first; nesting is sorted at every level. */
	expect("{\"ab\":1,\"a\":{\"z\":[3,{\"y\":null,\"x\":true}],\"b\":false}}",
	       "{\"a\":{\"b\":false,\"z\":[3,{\"x\":true,\"y\":null}]},\"ab\":1}");
}
END_TEST

START_TEST(strings_minimally_escaped)
{
	/* Short escapes for the five that have them, \u00xx lower case for
	 * other controls, and everything else (DEL, U+2028, CJK) literal. */
	expect("[\"\\b\\t\\n\\f\\r\\u0001\\u001f\\\"\\\\/\\u007f\\u2028\"]",
	       "[\"\\b\\t\\n\\f\\r\\u0001\\u001f\\\"\\\\/\x7f\xe2\x80\xa8\"]");
	expect("{\"list\":\"\xe5\x8d\x8e\xe5\x8d\x97\",\"seq\":1}",
	       "{\"list\":\"\xe5\x8d\x8e\xe5\x8d\x97\",\"seq\":1}");
	expect("\"\\u0000\"", "\"\\u0000\"");
}
END_TEST

START_TEST(numbers)
{
	expect("[0,-0,1,-1,9007199254740991,-9007199254740991]",
	       "[0,0,1,-1,9007199254740991,-9007199254740991]");
	int err;
	ck_assert_ptr_null(canon("[9007199254740992]", &err));
	ck_assert_int_eq(err, QD_EINVAL);
	ck_assert_ptr_null(canon("{\"a\":[1.5]}", &err));
	ck_assert_int_eq(err, QD_EINVAL);
}
END_TEST

/* README "The version chain (feed)", "A worked example": the record of
 * loading schema/examples/gba-research-positive.json as the store's first
 * version, its canonical bytes and their sha256, the `prev` of record 2.
 * README and code must agree byte for byte: change both together. */
#define README_DOC_SHA256 "08dea6ad63fbcec2101958d5fe645c57599eaea24f3f322c98dc320a9a9dc526"
#define README_RECORD_CANON                                                                              \
	"{\"action\":\"load\",\"actor\":\"admin-zhang\",\"committed_at\":\"2026-12-05T07:42:50Z\","       \
	"\"effective_at\":\"2026-12-05T07:42:50Z\",\"entries\":32,\"list\":\"gba-research-positive\","      \
	"\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"seq\":1,"            \
	"\"sha256\":\"" README_DOC_SHA256 "\",\"version\":1}"
#define README_RECORD_HASH "6e0b9abf022f1ba9d37983ab8abdf07e5d05c250e08bc371f728db473c2ff5b9"

START_TEST(a_feed_record)
{
	/* The record as the feed shows it (members in the store's order, and
	 * sig, which is not hashed), then the bytes that are hashed. */
	json_error_t je;
	json_t *r = json_loads("{\"seq\":1,\"list\":\"gba-research-positive\",\"version\":1,\"action\":\"load\","
			       "\"sha256\":\"" README_DOC_SHA256 "\",\"entries\":32,"
			       "\"committed_at\":\"2026-12-05T07:42:50Z\",\"effective_at\":\"2026-12-05T07:42:50Z\","
			       "\"actor\":\"admin-zhang\","
			       "\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\","
			       "\"sig\":null}",
			       0, &je);
	ck_assert_msg(r != NULL, "%s", je.text);
	ck_assert_int_eq(json_object_del(r, "sig"), 0);
	qd_buf b;
	qd_buf_init(&b);
	ck_assert_int_eq(qd_jcs_dump(r, &b), 0);
	ck_assert_uint_eq(b.len, strlen(README_RECORD_CANON));
	ck_assert_str_eq(qd_buf_cstr(&b), README_RECORD_CANON);
	char hash[QD_SHA256_HEX];
	qd_sha256_hex(b.data, b.len, hash);
	ck_assert_str_eq(hash, README_RECORD_HASH);
	qd_buf_free(&b);
	json_decref(r);
}
END_TEST

START_TEST(a_feed_record_names_the_sample_list)
{
	/* The record's sha256 is that of the sample list's canonical document. */
	char path[1024];
	snprintf(path, sizeof path, "%s/schema/examples/gba-research-positive.json",
		 getenv("QD_SOURCE_ROOT") ? getenv("QD_SOURCE_ROOT") : ".");
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	static char text[1 << 20];
	size_t n = fread(text, 1, sizeof text, f);
	ck_assert(feof(f));
	fclose(f);
	qd_listdoc *doc = NULL;
	ck_assert_int_eq(qd_listdoc_parse(text, n, "gba-research-positive", &doc, NULL), 0);
	ck_assert_uint_eq(doc->n_entries, 32);
	char hex[65];
	ck_assert_int_eq(qd_listdoc_sha256(doc, hex), 0);
	ck_assert_str_eq(hex, README_DOC_SHA256);
	qd_listdoc_free(doc);
}
END_TEST

START_TEST(appends_and_cuts_back)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_puts(&b, "x=");
	json_t *ok = json_pack("{s:i}", "a", 1);
	ck_assert_int_eq(qd_jcs_dump(ok, &b), 0);
	ck_assert_str_eq(qd_buf_cstr(&b), "x={\"a\":1}");
	json_t *bad = json_pack("{s:i,s:f}", "a", 1, "b", 0.5);
	ck_assert_int_eq(qd_jcs_dump(bad, &b), QD_EINVAL);
	ck_assert_str_eq(qd_buf_cstr(&b), "x={\"a\":1}");
	ck_assert_int_eq(qd_jcs_dump(NULL, &b), QD_EINVAL);
	json_decref(ok);
	json_decref(bad);
	qd_buf_free(&b);
}
END_TEST

static Suite *jcs_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("jcs");

	tcase_add_test(tc, members_sorted_by_utf16_units);
	tcase_add_test(tc, strings_minimally_escaped);
	tcase_add_test(tc, numbers);
	tcase_add_test(tc, a_feed_record);
	tcase_add_test(tc, a_feed_record_names_the_sample_list);
	tcase_add_test(tc, appends_and_cuts_back);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jcs_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
