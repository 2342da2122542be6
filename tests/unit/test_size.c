/* Unit tests: sizes and counts in option values (src/lib/size.c). */
#include <check.h>
#include <stdint.h>

#include "qingdan/err.h"
#include "qingdan/size.h"

#define UNTOUCHED UINT64_C(0xdeadbeef)

/* Parse s with no bounds to speak of; *out keeps UNTOUCHED on failure. */
static int ps(const char *s, uint64_t *out)
{
	*out = UNTOUCHED;
	return qd_parse_size(s, 0, UINT64_MAX, out);
}

static int pu(const char *s, uint64_t *out)
{
	*out = UNTOUCHED;
	return qd_parse_uint(s, 0, UINT64_MAX, out);
}

START_TEST(size_plain_numbers)
{
	uint64_t n;

	ck_assert_int_eq(ps("0", &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(ps("1", &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(ps("1048576", &n), 0);
	ck_assert_uint_eq(n, 1048576);
	ck_assert_int_eq(ps("007", &n), 0);
	ck_assert_uint_eq(n, 7);
	ck_assert_int_eq(ps("18446744073709551615", &n), 0);
	ck_assert_uint_eq(n, UINT64_MAX);
}
END_TEST

START_TEST(size_suffixes_either_case)
{
	uint64_t n;

	ck_assert_int_eq(ps("1K", &n), 0);
	ck_assert_uint_eq(n, 1024);
	ck_assert_int_eq(ps("1k", &n), 0);
	ck_assert_uint_eq(n, 1024);
	ck_assert_int_eq(ps("32K", &n), 0);
	ck_assert_uint_eq(n, 32768);
	ck_assert_int_eq(ps("2M", &n), 0);
	ck_assert_uint_eq(n, UINT64_C(2) << 20);
	ck_assert_int_eq(ps("2m", &n), 0);
	ck_assert_uint_eq(n, UINT64_C(2) << 20);
	ck_assert_int_eq(ps("8G", &n), 0);
	ck_assert_uint_eq(n, UINT64_C(8) << 30);
	ck_assert_int_eq(ps("8g", &n), 0);
	ck_assert_uint_eq(n, UINT64_C(8) << 30);
	ck_assert_int_eq(ps("0M", &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(ps("08G", &n), 0);
	ck_assert_uint_eq(n, UINT64_C(8) << 30);
	/* No other unit: T, B, KB, KiB, a second suffix. */
	ck_assert_int_eq(ps("1T", &n), QD_EINVAL);
	ck_assert_int_eq(ps("1B", &n), QD_EINVAL);
	ck_assert_int_eq(ps("1KB", &n), QD_EINVAL);
	ck_assert_int_eq(ps("1KiB", &n), QD_EINVAL);
	ck_assert_int_eq(ps("1MK", &n), QD_EINVAL);
	ck_assert_uint_eq(n, UNTOUCHED);
}
END_TEST

START_TEST(size_overflow)
{
	uint64_t n;

	ck_assert_int_eq(ps("18446744073709551616", &n), QD_EINVAL);
	ck_assert_uint_eq(n, UNTOUCHED);
	ck_assert_int_eq(ps("99999999999999999999", &n), QD_EINVAL);
	ck_assert_int_eq(ps("999999999999999999999999999999", &n), QD_EINVAL);
	/* The digits fit, the product does not. */
	ck_assert_int_eq(ps("17179869184G", &n), QD_EINVAL);
	ck_assert_int_eq(ps("18446744073709551615K", &n), QD_EINVAL);
	ck_assert_uint_eq(n, UNTOUCHED);
	/* The largest product that fits. */
	ck_assert_int_eq(ps("17179869183G", &n), 0);
	ck_assert_uint_eq(n, UINT64_C(17179869183) << 30);
	ck_assert_int_eq(ps("18014398509481983K", &n), 0);
	ck_assert_uint_eq(n, UINT64_C(18014398509481983) << 10);
}
END_TEST

START_TEST(size_malformed)
{
	uint64_t n;

	ck_assert_int_eq(ps("", &n), QD_EINVAL);
	ck_assert_int_eq(ps(NULL, &n), QD_EINVAL);
	ck_assert_int_eq(ps("K", &n), QD_EINVAL);
	ck_assert_int_eq(ps("G", &n), QD_EINVAL);
	ck_assert_int_eq(ps("-1", &n), QD_EINVAL);
	ck_assert_int_eq(ps("-1M", &n), QD_EINVAL);
	ck_assert_int_eq(ps("+1", &n), QD_EINVAL);
	ck_assert_int_eq(ps(" 1", &n), QD_EINVAL);
	ck_assert_int_eq(ps("\t1", &n), QD_EINVAL);
	ck_assert_int_eq(ps("1 ", &n), QD_EINVAL);
	ck_assert_int_eq(ps("1M ", &n), QD_EINVAL);
	ck_assert_int_eq(ps("1x", &n), QD_EINVAL);
	ck_assert_int_eq(ps("1M2", &n), QD_EINVAL);
	ck_assert_int_eq(ps("1.5M", &n), QD_EINVAL);
	ck_assert_int_eq(ps("0x10", &n), QD_EINVAL);
	ck_assert_int_eq(ps("1e6", &n), QD_EINVAL);
	ck_assert_uint_eq(n, UNTOUCHED);
}
END_TEST

START_TEST(size_bounds)
{
	const uint64_t lo = UINT64_C(1) << 20, hi = UINT64_C(1) << 40;
	uint64_t n = UNTOUCHED;

	ck_assert_int_eq(qd_parse_size("1M", lo, hi, &n), 0);
	ck_assert_uint_eq(n, lo);
	ck_assert_int_eq(qd_parse_size("1024K", lo, hi, &n), 0);
	ck_assert_uint_eq(n, lo);
	ck_assert_int_eq(qd_parse_size("1024G", lo, hi, &n), 0);
	ck_assert_uint_eq(n, hi);
	ck_assert_int_eq(qd_parse_size("1099511627776", lo, hi, &n), 0);
	ck_assert_uint_eq(n, hi);
	n = UNTOUCHED;
	ck_assert_int_eq(qd_parse_size("1048575", lo, hi, &n), QD_EINVAL);
	ck_assert_int_eq(qd_parse_size("1023K", lo, hi, &n), QD_EINVAL);
	ck_assert_int_eq(qd_parse_size("0", lo, hi, &n), QD_EINVAL);
	ck_assert_int_eq(qd_parse_size("1025G", lo, hi, &n), QD_EINVAL);
	ck_assert_int_eq(qd_parse_size("1099511627777", lo, hi, &n), QD_EINVAL);
	ck_assert_uint_eq(n, UNTOUCHED);
	/* A range of one value. */
	ck_assert_int_eq(qd_parse_size("4K", 4096, 4096, &n), 0);
	ck_assert_uint_eq(n, 4096);
	ck_assert_int_eq(qd_parse_size("4097", 4096, 4096, &n), QD_EINVAL);
	ck_assert_uint_eq(n, 4096);
}
END_TEST

START_TEST(uint_counts)
{
	uint64_t n;

	ck_assert_int_eq(pu("0", &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(pu("100000", &n), 0);
	ck_assert_uint_eq(n, 100000);
	ck_assert_int_eq(pu("18446744073709551615", &n), 0);
	ck_assert_uint_eq(n, UINT64_MAX);
	ck_assert_int_eq(pu("18446744073709551616", &n), QD_EINVAL);
	/* No suffixes for a count. */
	ck_assert_int_eq(pu("5k", &n), QD_EINVAL);
	ck_assert_int_eq(pu("5K", &n), QD_EINVAL);
	ck_assert_int_eq(pu("1M", &n), QD_EINVAL);
	ck_assert_int_eq(pu("1G", &n), QD_EINVAL);
	ck_assert_int_eq(pu("", &n), QD_EINVAL);
	ck_assert_int_eq(pu("-1", &n), QD_EINVAL);
	ck_assert_int_eq(pu("+3", &n), QD_EINVAL);
	ck_assert_int_eq(pu(" 3", &n), QD_EINVAL);
	ck_assert_int_eq(pu("3x", &n), QD_EINVAL);
	ck_assert_uint_eq(n, UNTOUCHED);

	n = UNTOUCHED;
	ck_assert_int_eq(qd_parse_uint("1", 1, 100000, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(qd_parse_uint("100000", 1, 100000, &n), 0);
	ck_assert_uint_eq(n, 100000);
	n = UNTOUCHED;
	ck_assert_int_eq(qd_parse_uint("0", 1, 100000, &n), QD_EINVAL);
	ck_assert_int_eq(qd_parse_uint("100001", 1, 100000, &n), QD_EINVAL);
	ck_assert_uint_eq(n, UNTOUCHED);
}
END_TEST

static Suite *size_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("size");

	tcase_add_test(tc, size_plain_numbers);
	tcase_add_test(tc, size_suffixes_either_case);
	tcase_add_test(tc, size_overflow);
	tcase_add_test(tc, size_malformed);
	tcase_add_test(tc, size_bounds);
	tcase_add_test(tc, uint_counts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(size_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
