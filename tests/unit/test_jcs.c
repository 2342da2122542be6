/* Unit tests: canonical JSON, RFC 8785 (src/lib/jcs.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "qingdan/err.h"
#include "qingdan/jcs.h"

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

START_TEST(a_feed_record)
{
	/* The worked example of the README's "Proving an answer later". */
	expect("{\"seq\":1,\"list\":\"sample-whitelist\",\"version\":1,\"action\":\"load\","
	       "\"sha256\":\"ab\",\"entries\":3,\"committed_at\":\"2026-12-01T02:00:00Z\","
	       "\"effective_at\":\"2026-12-01T02:00:00Z\",\"actor\":null,\"prev\":\"00\"}",
	       "{\"action\":\"load\",\"actor\":null,\"committed_at\":\"2026-12-01T02:00:00Z\","
	       "\"effective_at\":\"2026-12-01T02:00:00Z\",\"entries\":3,\"list\":\"sample-whitelist\","
	       "\"prev\":\"00\",\"seq\":1,\"sha256\":\"ab\",\"version\":1}");
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
