/* Unit tests: civil dates, UTC offsets, RFC 3339 instants (src/lib/date.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "qingdan/date.h"
#include "qingdan/err.h"

static int pd(const char *s, qd_date *d)
{
	return qd_date_parse(s, strlen(s), d);
}

static int pt(const char *s, int64_t *t)
{
	return qd_time_parse(s, strlen(s), t);
}

START_TEST(date_known_day_numbers)
{
	qd_date d;

	ck_assert_int_eq(pd("1970-01-01", &d), 0);
	ck_assert_int_eq(d, 0);
	ck_assert_int_eq(pd("1969-12-31", &d), 0);
	ck_assert_int_eq(d, -1);
	ck_assert_int_eq(pd("2000-02-29", &d), 0);
	ck_assert_int_eq(d, 11016);
	ck_assert_int_eq(pd("2024-02-29", &d), 0);
	ck_assert_int_eq(d, 19782);
	ck_assert_int_eq(pd("2026-11-26", &d), 0);
	ck_assert_int_eq(d, 20783);
	ck_assert_int_eq(pd("1900-03-01", &d), 0);
	ck_assert_int_eq(d, -25508);
	ck_assert_int_eq(pd("0001-01-01", &d), 0);
	ck_assert_int_eq(d, -719162);
	ck_assert_int_eq(pd("9999-12-31", &d), 0);
	ck_assert_int_eq(d, 2932896);
}
END_TEST

START_TEST(date_leap_rule)
{
	qd_date d;

	ck_assert_int_eq(pd("2000-02-29", &d), 0);   /* divisible by 400 */
	ck_assert_int_eq(pd("1900-02-29", &d), QD_EINVAL); /* by 100, not 400 */
	ck_assert_int_eq(pd("2100-02-29", &d), QD_EINVAL);
	ck_assert_int_eq(pd("2024-02-29", &d), 0);
	ck_assert_int_eq(pd("2023-02-29", &d), QD_EINVAL);
	ck_assert_int_eq(pd("2024-02-30", &d), QD_EINVAL);
	ck_assert_int_eq(pd("2023-02-28", &d), 0);
	ck_assert_int_eq(pd("2023-04-31", &d), QD_EINVAL);
	ck_assert_int_eq(pd("2023-04-30", &d), 0);
	ck_assert_int_eq(pd("2023-12-31", &d), 0);
	ck_assert_int_eq(pd("2023-12-32", &d), QD_EINVAL);
	ck_assert_int_eq(pd("2023-13-01", &d), QD_EINVAL);
	ck_assert_int_eq(pd("2023-00-01", &d), QD_EINVAL);
	ck_assert_int_eq(pd("2023-01-00", &d), QD_EINVAL);
	ck_assert_int_eq(pd("0000-01-01", &d), QD_EINVAL);
}
END_TEST

START_TEST(date_strict_form)
{
	static const char *const bad[] = {
		"", "2024-1-01", "2024-01-1", "24-01-01", "2024/01/01", "20240101",
		"2024-01-01T00:00:00Z", " 2024-01-01", "2024-01-01 ", "+2024-01-01",
		"2024-0a-01", "2024-01-+1", "2024-01--1", "２０２４-01-01", "2024_01_01",
	};
	qd_date d = 12345;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(pd(bad[i], &d) == QD_EINVAL, "accepted \"%s\"", bad[i]);
		ck_assert_int_eq(d, 12345); /* untouched on error */
	}
	ck_assert_int_eq(qd_date_parse("2024-01-01\0", 11, &d), QD_EINVAL);
	ck_assert_int_eq(qd_date_parse("2024-01-0\0", 10, &d), QD_EINVAL);
	/* only n bytes are read */
	ck_assert_int_eq(qd_date_parse("2024-01-01XYZ", 10, &d), 0);
}
END_TEST

START_TEST(date_round_trip)
{
	char buf[11];
	qd_date d;

	/* every day across a span covering century and leap edges */
	for (qd_date x = -25600; x < 12000; x++) {
		qd_date_format(x, buf);
		ck_assert_int_eq(pd(buf, &d), 0);
		ck_assert_int_eq(d, x);
	}
	qd_date_format(0, buf);
	ck_assert_str_eq(buf, "1970-01-01");
	qd_date_format(-719162, buf);
	ck_assert_str_eq(buf, "0001-01-01");
	qd_date_format(2932896, buf);
	ck_assert_str_eq(buf, "9999-12-31");
	/* open window ends clamp to the writable range, never overflow the buffer */
	qd_date_format(QD_DATE_MIN, buf);
	ck_assert_str_eq(buf, "0001-01-01");
	qd_date_format(QD_DATE_MAX, buf);
	ck_assert_str_eq(buf, "9999-12-31");
}
END_TEST

START_TEST(date_from_ymd)
{
	qd_date d;

	ck_assert_int_eq(qd_date_from_ymd(2026, 11, 26, &d), 0);
	ck_assert_int_eq(d, 20783);
	ck_assert_int_eq(qd_date_from_ymd(2023, 2, 29, &d), QD_EINVAL);
	ck_assert_int_eq(qd_date_from_ymd(0, 1, 1, &d), QD_EINVAL);
	ck_assert_int_eq(qd_date_from_ymd(10000, 1, 1, &d), QD_EINVAL);
	ck_assert_int_eq(qd_date_from_ymd(2023, 0, 1, &d), QD_EINVAL);
	ck_assert_int_eq(qd_date_from_ymd(2023, 13, 1, &d), QD_EINVAL);
	ck_assert_int_eq(qd_date_from_ymd(2023, 1, 0, &d), QD_EINVAL);
	ck_assert_int_eq(qd_date_from_ymd(-5, 1, 1, &d), QD_EINVAL);
}
END_TEST

START_TEST(date_at_offsets)
{
	qd_date d;

	/* 2026-11-26T17:00:00Z is already 2026-11-27 in China */
	ck_assert_int_eq(qd_date_at(1795712400, 0), 20783);
	ck_assert_int_eq(qd_date_at(1795712400, QD_UTC_OFFSET_DEFAULT), 20784);
	ck_assert_int_eq(pd("2026-11-27", &d), 0);
	ck_assert_int_eq(qd_date_at(1795712400, 8 * 60), d);
	/* 15:59:59Z is still the same day at +08:00, 16:00:00Z is the next */
	ck_assert_int_eq(qd_date_at(1795708800 - 1, 8 * 60), 20783);
	ck_assert_int_eq(qd_date_at(1795708800, 8 * 60), 20784);
	/* west of UTC: 2026-11-26T03:00Z is 2026-11-25 at -05:30, 06:00Z is not */
	ck_assert_int_eq(qd_date_at(1795662000, -(5 * 60 + 30)), 20782);
	ck_assert_int_eq(qd_date_at(1795672800, -(5 * 60 + 30)), 20783);
	/* negative instants floor, not truncate */
	ck_assert_int_eq(qd_date_at(-1, 0), -1);
	ck_assert_int_eq(qd_date_at(-86400, 0), -1);
	ck_assert_int_eq(qd_date_at(-86401, 0), -2);
	ck_assert_int_eq(qd_date_at(0, -1), -1);
	ck_assert_int_eq(qd_date_at(0, 0), 0);
	/* far instants saturate instead of wrapping */
	ck_assert_int_eq(qd_date_at(INT64_MAX, 14 * 60), QD_DATE_MAX);
	ck_assert_int_eq(qd_date_at(INT64_MIN, -14 * 60), QD_DATE_MIN);
}
END_TEST

START_TEST(utc_offsets)
{
	int m = 999;

	ck_assert_int_eq(qd_utc_offset_parse("+08:00", &m), 0);
	ck_assert_int_eq(m, 480);
	ck_assert_int_eq(qd_utc_offset_parse("+0800", &m), 0);
	ck_assert_int_eq(m, 480);
	ck_assert_int_eq(qd_utc_offset_parse("-05:30", &m), 0);
	ck_assert_int_eq(m, -330);
	ck_assert_int_eq(qd_utc_offset_parse("-0530", &m), 0);
	ck_assert_int_eq(m, -330);
	ck_assert_int_eq(qd_utc_offset_parse("Z", &m), 0);
	ck_assert_int_eq(m, 0);
	ck_assert_int_eq(qd_utc_offset_parse("+14:00", &m), 0);
	ck_assert_int_eq(m, 840);
	ck_assert_int_eq(qd_utc_offset_parse("-14:00", &m), 0);
	ck_assert_int_eq(m, -840);
	ck_assert_int_eq(qd_utc_offset_parse("+00:00", &m), 0);
	ck_assert_int_eq(m, 0);

	m = 999;
	ck_assert_int_eq(qd_utc_offset_parse("+14:01", &m), QD_EINVAL);
	ck_assert_int_eq(qd_utc_offset_parse("-15:00", &m), QD_EINVAL);
	ck_assert_int_eq(qd_utc_offset_parse("+08:60", &m), QD_EINVAL);
	ck_assert_int_eq(qd_utc_offset_parse("08:00", &m), QD_EINVAL);
	ck_assert_int_eq(qd_utc_offset_parse("+8:00", &m), QD_EINVAL);
	ck_assert_int_eq(qd_utc_offset_parse("+08", &m), QD_EINVAL);
	ck_assert_int_eq(qd_utc_offset_parse("+08:00 ", &m), QD_EINVAL);
	ck_assert_int_eq(qd_utc_offset_parse("+08:0", &m), QD_EINVAL);
	ck_assert_int_eq(qd_utc_offset_parse("+080", &m), QD_EINVAL);
	ck_assert_int_eq(qd_utc_offset_parse("+08000", &m), QD_EINVAL);
	ck_assert_int_eq(qd_utc_offset_parse("+08-00", &m), QD_EINVAL);
	ck_assert_int_eq(qd_utc_offset_parse("UTC", &m), QD_EINVAL);
	ck_assert_int_eq(qd_utc_offset_parse("", &m), QD_EINVAL);
	ck_assert_int_eq(qd_utc_offset_parse("ZZ", &m), QD_EINVAL);
	ck_assert_int_eq(m, 999);
}
END_TEST

START_TEST(time_parse_forms)
{
	int64_t t = 0;

	ck_assert_int_eq(pt("2026-11-26T10:00:00Z", &t), 0);
	ck_assert_int_eq(t, 1795687200);
	ck_assert_int_eq(pt("2026-11-26T18:00:00+08:00", &t), 0);
	ck_assert_int_eq(t, 1795687200);
	ck_assert_int_eq(pt("2026-11-26T18:00:00.5+08:00", &t), 0);
	ck_assert_int_eq(t, 1795687200);
	ck_assert_int_eq(pt("2026-11-26t10:00:00.999999z", &t), 0);
	ck_assert_int_eq(t, 1795687200);
	ck_assert_int_eq(pt("2026-11-26 04:30:00-05:30", &t), 0);
	ck_assert_int_eq(t, 1795687200);
	ck_assert_int_eq(pt("1969-12-31T23:59:59Z", &t), 0);
	ck_assert_int_eq(t, -1);
	/* offset carries the date back across midnight */
	ck_assert_int_eq(pt("2026-11-27T01:00:00+08:00", &t), 0);
	ck_assert_int_eq(t, 1795712400); /* 2026-11-26T17:00:00Z */
}
END_TEST

START_TEST(time_parse_rejects)
{
	static const char *const bad[] = {
		"2026-11-26T10:00:00",        /* offset required */
		"2026-11-26",
		"2026-11-26T24:00:00Z",
		"2026-11-26T10:60:00Z",
		"2026-11-26T10:00:60Z",       /* no leap seconds */
		"2026-11-26T1:00:00Z",
		"2026-11-26X10:00:00Z",
		"2026-11-26T10:00:00.Z",
		"2026-11-26T10:00:00+0800",   /* RFC 3339 needs the colon */
		"2026-11-26T10:00:00+08",
		"2026-11-26T10:00:00+24:00",
		"2026-11-26T10:00:00+08:60",
		"2026-11-26T10:00:00Z ",
		"2026-11-26T10:00:00ZZ",
		"2026-02-30T10:00:00Z",
		"2026-11-26T10-00-00Z",
		"",
	};
	int64_t t = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(pt(bad[i], &t) == QD_EINVAL, "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(t, 42);
}
END_TEST

START_TEST(time_format)
{
	char buf[21];
	int64_t t;

	qd_time_format(1795736524, buf);
	ck_assert_str_eq(buf, "2026-11-26T23:42:04Z");
	qd_time_format(0, buf);
	ck_assert_str_eq(buf, "1970-01-01T00:00:00Z");
	qd_time_format(-1, buf);
	ck_assert_str_eq(buf, "1969-12-31T23:59:59Z");
	ck_assert_int_eq(pt("2026-11-26T23:42:04Z", &t), 0);
	ck_assert_int_eq(t, 1795736524);
	/* far instants clamp to the writable range */
	qd_time_format(INT64_MAX, buf);
	ck_assert_str_eq(buf, "9999-12-31T23:59:59Z");
	qd_time_format(INT64_MIN, buf);
	ck_assert_str_eq(buf, "0001-01-01T00:00:00Z");
}
END_TEST

static Suite *date_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("date");

	tcase_add_test(tc, date_known_day_numbers);
	tcase_add_test(tc, date_leap_rule);
	tcase_add_test(tc, date_strict_form);
	tcase_add_test(tc, date_round_trip);
	tcase_add_test(tc, date_from_ymd);
	tcase_add_test(tc, date_at_offsets);
	tcase_add_test(tc, utc_offsets);
	tcase_add_test(tc, time_parse_forms);
	tcase_add_test(tc, time_parse_rejects);
	tcase_add_test(tc, time_format);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(date_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
