/* Unit tests: commodity code and CIQ code parsing (src/lib/code.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "qingdan/code.h"
#include "qingdan/err.h"

static int parse(const char *s, qd_code *c, const char **why)
{
	return qd_code_parse(s, strlen(s), c, why);
}

static int parse_entry(const char *s, qd_code *c, const char **why)
{
	return qd_code_parse_entry(s, strlen(s), c, why);
}

START_TEST(query_separators_removed)
{
	static const char *const forms[] = {
		"3822190090", "3822.1900.90", "3822 19 00 90", "3822-19-00-90",
		"38.22.19.00.90", " 3822190090 ", "3822..19  00--90",
	};
	qd_code c;
	const char *why = NULL;

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		ck_assert_int_eq(parse(forms[i], &c, &why), 0);
		ck_assert_str_eq(c.digits, "3822190090");
		ck_assert_uint_eq(c.len, 10);
		ck_assert_str_eq(c.ciq, "");
	}
}
END_TEST

START_TEST(query_lengths)
{
	qd_code c;
	const char *why = NULL;

	ck_assert_int_eq(parse("38", &c, &why), 0);
	ck_assert_str_eq(c.digits, "38");
	ck_assert_uint_eq(c.len, 2);
	ck_assert_int_eq(parse("3822", &c, &why), 0);
	ck_assert_uint_eq(c.len, 4);
	ck_assert_int_eq(parse("382219", &c, &why), 0);
	ck_assert_uint_eq(c.len, 6);
	ck_assert_int_eq(parse("38221900", &c, &why), 0);
	ck_assert_uint_eq(c.len, 8);
	ck_assert_int_eq(parse("382", &c, &why), 0); /* odd lengths are still prefixes */
	ck_assert_uint_eq(c.len, 3);

	why = NULL;
	ck_assert_int_eq(parse("3", &c, &why), QD_EINVAL);
	ck_assert_str_eq(why, "code has 1 digit; expected 2-10, or 13 with the CIQ code");
	ck_assert_int_eq(parse("38221900901", &c, &why), QD_EINVAL);
	ck_assert_str_eq(why, "code has 11 digits; expected 2-10, or 13 with the CIQ code");
	ck_assert_int_eq(parse("382219009012", &c, &why), QD_EINVAL);
	ck_assert_str_eq(why, "code has 12 digits; expected 2-10, or 13 with the CIQ code");
	ck_assert_int_eq(parse("38221900901234", &c, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "more than 13 digits"));
}
END_TEST

START_TEST(query_with_ciq)
{
	qd_code c;
	const char *why = NULL;

	ck_assert_int_eq(parse("3822190090999", &c, &why), 0);
	ck_assert_str_eq(c.digits, "3822190090");
	ck_assert_uint_eq(c.len, 10);
	ck_assert_str_eq(c.ciq, "999");
	ck_assert_int_eq(parse("3822.1900.90.101", &c, &why), 0);
	ck_assert_str_eq(c.digits, "3822190090");
	ck_assert_str_eq(c.ciq, "101");
}
END_TEST

START_TEST(query_bad_characters)
{
	qd_code c;
	const char *why = NULL;

	ck_assert_int_eq(parse("38x2", &c, &why), QD_EINVAL);
	ck_assert_str_eq(why, "code contains 'x'; expected 2-10 digits after removing '.', ' ' and '-'");
	ck_assert_int_eq(parse("3822/19", &c, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "contains '/'"));
	ck_assert_int_eq(parse("3822_19", &c, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "contains '_'"));
	ck_assert_int_eq(parse("3822,19", &c, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "contains ','"));
	ck_assert_int_eq(parse("3822\t19", &c, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "control character"));
	/* full-width digits from a Chinese IME */
	ck_assert_int_eq(parse("\xef\xbc\x93\xef\xbc\x98\xef\xbc\x92\xef\xbc\x92", &c, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "non-ASCII"));
	ck_assert_int_eq(parse("+3822", &c, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "contains '+'"));
}
END_TEST

START_TEST(query_empty_nul_long)
{
	qd_code c;
	const char *why = NULL;
	char buf[100];

	ck_assert_int_eq(qd_code_parse("", 0, &c, &why), QD_EINVAL);
	ck_assert_str_eq(why, "code is empty; expected 2-10 digits");
	ck_assert_int_eq(parse(" . - ", &c, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "no digits"));
	ck_assert_int_eq(qd_code_parse("38\0" "22", 5, &c, &why), QD_EINVAL);
	ck_assert_str_eq(why, "code contains a NUL byte");
	/* not NUL-terminated input: only n bytes are read */
	ck_assert_int_eq(qd_code_parse("3822xyz", 4, &c, &why), 0);
	ck_assert_str_eq(c.digits, "3822");

	/* 64 bytes is the most accepted: 10 digits padded with spaces */
	memset(buf, ' ', sizeof(buf));
	memcpy(buf, "3822190090", 10);
	ck_assert_int_eq(qd_code_parse(buf, 64, &c, &why), 0);
	ck_assert_str_eq(c.digits, "3822190090");
	ck_assert_int_eq(qd_code_parse(buf, 65, &c, &why), QD_EINVAL);
	ck_assert_str_eq(why, "code is longer than 64 characters");
	memset(buf, '1', sizeof(buf));
	ck_assert_int_eq(qd_code_parse(buf, 64, &c, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "more than 13 digits"));
}
END_TEST

START_TEST(entry_codes)
{
	qd_code c;
	const char *why = NULL;

	ck_assert_int_eq(parse_entry("3822", &c, &why), 0);
	ck_assert_str_eq(c.digits, "3822");
	ck_assert_str_eq(c.ciq, "");
	ck_assert_int_eq(parse_entry("3822.19.00.90", &c, &why), 0);
	ck_assert_str_eq(c.digits, "3822190090");
	ck_assert_uint_eq(c.len, 10);
	ck_assert_int_eq(parse_entry("3", &c, &why), QD_EINVAL);
	ck_assert_str_eq(why, "code has 1 digit; expected 2-10 after removing '.', ' ' and '-'");
	ck_assert_int_eq(parse_entry("38221900901", &c, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "11 digits"));
	/* a list names its CIQ code separately */
	ck_assert_int_eq(parse_entry("3822190090101", &c, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "13 digits"));
	ck_assert_ptr_nonnull(strstr(why, "ciq"));
	ck_assert_int_eq(parse_entry("38A2", &c, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "contains 'A'"));
	ck_assert_int_eq(parse_entry("", &c, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "empty"));
}
END_TEST

START_TEST(messages_start_with_code)
{
	/* listdoc splices the value after "code "; every message must allow it */
	static const char *const bad[] = { "", "1", "12345678901", "38x2", "3\x01", "\xc3\xa9", "12345678901234" };
	qd_code c;
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		ck_assert_int_eq(parse(bad[i], &c, &why), QD_EINVAL);
		ck_assert_ptr_nonnull(why);
		ck_assert_int_eq(strncmp(why, "code ", 5), 0);
		why = NULL;
		ck_assert_int_eq(parse_entry(bad[i], &c, &why), QD_EINVAL);
		ck_assert_ptr_nonnull(why);
		ck_assert_int_eq(strncmp(why, "code ", 5), 0);
	}
}
END_TEST

START_TEST(ciq_codes)
{
	char ciq[QD_CIQ_LEN + 1];
	const char *why = NULL;

	ck_assert_int_eq(qd_ciq_parse("101", 3, ciq, &why), 0);
	ck_assert_str_eq(ciq, "101");
	ck_assert_int_eq(qd_ciq_parse("000", 3, ciq, &why), 0);
	ck_assert_str_eq(ciq, "000");
	ck_assert_int_eq(qd_ciq_parse("10", 2, ciq, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "exactly 3 digits"));
	ck_assert_int_eq(qd_ciq_parse("1011", 4, ciq, &why), QD_EINVAL);
	ck_assert_int_eq(qd_ciq_parse("", 0, ciq, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "empty"));
	ck_assert_int_eq(qd_ciq_parse("1.1", 3, ciq, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "not a digit"));
	ck_assert_int_eq(qd_ciq_parse("1 01", 4, ciq, &why), QD_EINVAL);
	ck_assert_int_eq(qd_ciq_parse("1\0" "1", 3, ciq, &why), QD_EINVAL);
	ck_assert_int_eq(qd_ciq_parse("abc", 3, ciq, &why), QD_EINVAL);
}
END_TEST

static Suite *code_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("code");

	tcase_add_test(tc, query_separators_removed);
	tcase_add_test(tc, query_lengths);
	tcase_add_test(tc, query_with_ciq);
	tcase_add_test(tc, query_bad_characters);
	tcase_add_test(tc, query_empty_nul_long);
	tcase_add_test(tc, entry_codes);
	tcase_add_test(tc, messages_start_with_code);
	tcase_add_test(tc, ciq_codes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(code_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
