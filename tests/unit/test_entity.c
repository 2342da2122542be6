/* Unit tests: institution ids, USCC check character (src/lib/entity.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "qingdan/entity.h"
#include "qingdan/err.h"

static int parse(const char *s, char out[QD_ENTITY_MAX + 1], const char **why)
{
	return qd_entity_parse(s, strlen(s), out, why);
}

START_TEST(uscc_check_char_vectors)
{
	/* GB 32100-2015 test vector from DESIGN.md, and a second real code */
	ck_assert_int_eq(qd_uscc_check_char("91110000600037341"), 'L');
	ck_assert_int_eq(qd_uscc_check_char("91350100M000100Y4"), '3');
	ck_assert_int_eq(qd_uscc_check_char("91440101MA5AXXXXX"), 'W');
	/* no zero digits: every weight and every alphabet value takes part
	 * (computed independently from the GB 32100-2015 definition) */
	ck_assert_int_eq(qd_uscc_check_char("Y1234567ABCDEFGHJ"), '6');
	ck_assert_int_eq(qd_uscc_check_char("KLMNPQRTUWXY98765"), '4');
	ck_assert_int_eq(qd_uscc_check_char("123456789ABCDEFGH"), 'C');
	/* lowercase letters are accepted and give the uppercase check character */
	ck_assert_int_eq(qd_uscc_check_char("91350100m000100y4"), '3');
	/* all-zero: sum 0 -> (31 - 0) % 31 = 0 -> '0' */
	ck_assert_int_eq(qd_uscc_check_char("00000000000000000"), '0');
	/* characters outside the alphabet */
	ck_assert_int_eq(qd_uscc_check_char("9111000060003734I"), '\0');
	ck_assert_int_eq(qd_uscc_check_char("O1110000600037341"), '\0');
	ck_assert_int_eq(qd_uscc_check_char("91110000600037S41"), '\0');
	ck_assert_int_eq(qd_uscc_check_char("9111000060003734V"), '\0');
	ck_assert_int_eq(qd_uscc_check_char("9111000060003734Z"), '\0');
	ck_assert_int_eq(qd_uscc_check_char("9111000060003734-"), '\0');
}
END_TEST

START_TEST(uscc_parse_valid)
{
	char out[QD_ENTITY_MAX + 1];
	const char *why = NULL;

	ck_assert_int_eq(parse("91110000600037341L", out, &why), 0);
	ck_assert_str_eq(out, "91110000600037341L");
	ck_assert_int_eq(parse("91110000600037341l", out, &why), 0);
	ck_assert_str_eq(out, "91110000600037341L");
	ck_assert_int_eq(parse("91350100m000100y43", out, &why), 0);
	ck_assert_str_eq(out, "91350100M000100Y43");
	/* only n bytes are read */
	ck_assert_int_eq(qd_entity_parse("91110000600037341Lxyz", 18, out, &why), 0);
	ck_assert_str_eq(out, "91110000600037341L");
}
END_TEST

START_TEST(uscc_parse_invalid)
{
	char out[QD_ENTITY_MAX + 1];
	const char *why = NULL;

	ck_assert_int_eq(parse("91110000600037341X", out, &why), QD_EINVAL);
	ck_assert_str_eq(why, "USCC check character (the 18th) does not match the first 17 characters");
	/* the design document's placeholder fails its check character */
	ck_assert_int_eq(parse("91440101MA5AXXXXXX", out, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "check character"));
	/* a single changed digit is caught */
	ck_assert_int_eq(parse("91110000600037351L", out, &why), QD_EINVAL);
	why = NULL;
	ck_assert_int_eq(parse("9111000060003734IL", out, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "outside"));
	ck_assert_int_eq(parse("91110000600037341O", out, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "outside"));
	ck_assert_int_eq(parse("9111000060003734 L", out, &why), QD_EINVAL);
	/* 17 and 19 characters */
	ck_assert_int_eq(parse("91110000600037341", out, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "neither"));
	ck_assert_int_eq(parse("91110000600037341L0", out, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "neither"));
	ck_assert_int_eq(qd_entity_parse("9111000060003\0" "341L", 18, out, &why), QD_EINVAL);
	ck_assert_str_eq(why, "entity id contains a NUL byte");
	ck_assert_int_eq(qd_entity_parse("", 0, out, &why), QD_EINVAL);
	ck_assert_str_eq(why, "entity id is empty");
}
END_TEST

START_TEST(scheme_id_valid)
{
	char out[QD_ENTITY_MAX + 1];
	char buf[QD_ENTITY_MAX + 2];
	const char *why = NULL;

	ck_assert_int_eq(parse("HK:12345678", out, &why), 0);
	ck_assert_str_eq(out, "HK:12345678");
	/* the scheme is case-insensitive, the id is kept as given */
	ck_assert_int_eq(parse("hk:AbC-1.2_3", out, &why), 0);
	ck_assert_str_eq(out, "HK:AbC-1.2_3");
	ck_assert_int_eq(parse("Mo:x", out, &why), 0);
	ck_assert_str_eq(out, "MO:x");
	/* an 18-character SCHEME:ID is not mistaken for a USCC */
	ck_assert_int_eq(parse("HK:123456789012345", out, &why), 0);
	ck_assert_str_eq(out, "HK:123456789012345");

	/* longest: 8-letter scheme and a 64-character id */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "ABCDEFGH:", 9);
	buf[QD_ENTITY_MAX] = '\0';
	ck_assert_int_eq(parse(buf, out, &why), 0);
	ck_assert_uint_eq(strlen(out), QD_ENTITY_MAX);
	ck_assert_str_eq(out, buf);
}
END_TEST

START_TEST(scheme_id_invalid)
{
	char out[QD_ENTITY_MAX + 1];
	char buf[QD_ENTITY_MAX + 10];
	const char *why = NULL;

	ck_assert_int_eq(parse("H:123", out, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "2-8 letters"));
	ck_assert_int_eq(parse("ABCDEFGHI:123", out, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "2-8 letters"));
	ck_assert_int_eq(parse("H1:123", out, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "2-8 letters"));
	ck_assert_int_eq(parse(":123", out, &why), QD_EINVAL);
	ck_assert_int_eq(parse("HK:", out, &why), QD_EINVAL);
	ck_assert_str_eq(why, "entity id after ':' is empty");
	ck_assert_int_eq(parse("HK:12 34", out, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "may only contain"));
	ck_assert_int_eq(parse("HK:12:34", out, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "may only contain"));
	ck_assert_int_eq(parse("HK:12/34", out, &why), QD_EINVAL);
	ck_assert_int_eq(parse("HK:\xe9\xa6\x99", out, &why), QD_EINVAL);

	/* 65-character id: too long (both with a short and a long scheme) */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "HK:", 3);
	buf[3 + 65] = '\0';
	ck_assert_int_eq(parse(buf, out, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "longer than 64"));
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "ABCDEFGH:", 9);
	buf[9 + 65] = '\0';
	ck_assert_int_eq(parse(buf, out, &why), QD_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "longer"));
}
END_TEST

static Suite *entity_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("entity");

	tcase_add_test(tc, uscc_check_char_vectors);
	tcase_add_test(tc, uscc_parse_valid);
	tcase_add_test(tc, uscc_parse_invalid);
	tcase_add_test(tc, scheme_id_valid);
	tcase_add_test(tc, scheme_id_invalid);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(entity_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
