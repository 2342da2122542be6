/* Unit tests: the collection of validation problems (src/lib/problems.c).
 *
 * What validators and the HTTP and CLI renderers rely on: problems are
 * kept in the order found with their path (JSON Pointer) or line and
 * column (CSV) and a formatted message, all copied; at most
 * QD_PROBLEMS_CAP are kept and the rest only counted; free leaves the
 * collection reusable; qd_quote() writes a value as one short, escaped,
 * double-quoted line that fits its buffer and never splits a character. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qingdan/buf.h"
#include "qingdan/problems.h"

START_TEST(init_is_zero_fill)
{
	qd_problems p, z;
	memset(&p, 0x5a, sizeof p);
	qd_problems_init(&p);
	memset(&z, 0, sizeof z);
	ck_assert_int_eq(memcmp(&p, &z, sizeof p), 0);
	ck_assert_uint_eq(qd_problems_total(&p), 0);
	/* A zero-filled collection is usable as is. */
	qd_problems_add(&z, "/a", "x");
	ck_assert_uint_eq(z.count, 1);
	qd_problems_free(&z);
	qd_problems_free(&p);
}
END_TEST

START_TEST(add_keeps_order_path_message)
{
	qd_problems p;
	qd_problems_init(&p);
	qd_problems_add(&p, "/entries/3/code", "code %s has %d digits", "01", 2);
	qd_problems_add(&p, "", "the document is not an object");
	qd_problems_add(&p, "/title/zh", "%s", "missing");
	ck_assert_uint_eq(p.count, 3);
	ck_assert_uint_eq(p.omitted, 0);
	ck_assert_uint_eq(qd_problems_total(&p), 3);
	ck_assert_str_eq(p.items[0].path, "/entries/3/code");
	ck_assert_str_eq(p.items[0].message, "code 01 has 2 digits");
	ck_assert_str_eq(p.items[1].path, "");
	ck_assert_str_eq(p.items[1].message, "the document is not an object");
	ck_assert_str_eq(p.items[2].path, "/title/zh");
	ck_assert_str_eq(p.items[2].message, "missing");
	for (size_t i = 0; i < p.count; i++) {
		ck_assert_uint_eq(p.items[i].line, 0);
		ck_assert_uint_eq(p.items[i].column, 0);
	}
	qd_problems_free(&p);
}
END_TEST

START_TEST(add_null_path_is_root)
{
	qd_problems p;
	qd_problems_init(&p);
	qd_problems_add(&p, NULL, "whole document");
	ck_assert_uint_eq(p.count, 1);
	ck_assert_ptr_nonnull(p.items[0].path);
	ck_assert_str_eq(p.items[0].path, "");
	qd_problems_free(&p);
}
END_TEST

START_TEST(add_copies_arguments)
{
	qd_problems p;
	qd_problems_init(&p);
	char path[32], arg[32];
	strcpy(path, "/entries/0");
	strcpy(arg, "first");
	qd_problems_add(&p, path, "value %s", arg);
	strcpy(path, "/changed");
	strcpy(arg, "changed");
	ck_assert_ptr_ne(p.items[0].path, path);
	ck_assert_str_eq(p.items[0].path, "/entries/0");
	ck_assert_str_eq(p.items[0].message, "value first");
	qd_problems_free(&p);
}
END_TEST

START_TEST(add_at_line_column)
{
	qd_problems p;
	qd_problems_init(&p);
	qd_problems_add_at(&p, 1, 0, "header: %s", "no id column");
	qd_problems_add_at(&p, 7, 3, "cell %u", 3u);
	qd_problems_add(&p, "/entries/5", "mixed");
	ck_assert_uint_eq(p.count, 3);
	ck_assert_ptr_null(p.items[0].path);
	ck_assert_uint_eq(p.items[0].line, 1);
	ck_assert_uint_eq(p.items[0].column, 0);
	ck_assert_str_eq(p.items[0].message, "header: no id column");
	ck_assert_ptr_null(p.items[1].path);
	ck_assert_uint_eq(p.items[1].line, 7);
	ck_assert_uint_eq(p.items[1].column, 3);
	ck_assert_str_eq(p.items[1].message, "cell 3");
	ck_assert_str_eq(p.items[2].path, "/entries/5");
	ck_assert_uint_eq(p.items[2].line, 0);
	qd_problems_free(&p);
}
END_TEST

START_TEST(long_message)
{
	qd_problems p;
	qd_problems_init(&p);
	size_t n = 100000;
	char *big = malloc(n + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, 'm', n);
	big[n] = '\0';
	qd_problems_add(&p, "/x", "<%s>", big);
	qd_problems_add_at(&p, 2, 1, "%s!", big);
	ck_assert_uint_eq(p.count, 2);
	ck_assert_uint_eq(strlen(p.items[0].message), n + 2);
	ck_assert_int_eq(p.items[0].message[0], '<');
	ck_assert_int_eq(p.items[0].message[n + 1], '>');
	ck_assert_uint_eq(strlen(p.items[1].message), n + 1);
	ck_assert_int_eq(p.items[1].message[n], '!');
	free(big);
	qd_problems_free(&p);
}
END_TEST

START_TEST(cap_keeps_first_counts_rest)
{
	qd_problems p;
	qd_problems_init(&p);
	for (unsigned i = 0; i < QD_PROBLEMS_CAP + 57; i++) {
		char path[32];
		snprintf(path, sizeof path, "/entries/%u", i);
		if (i % 3 == 0)
			qd_problems_add_at(&p, i + 1, 2, "problem %u", i);
		else
			qd_problems_add(&p, path, "problem %u", i);
	}
	ck_assert_uint_eq(p.count, QD_PROBLEMS_CAP);
	ck_assert_uint_eq(p.omitted, 57);
	ck_assert_uint_eq(qd_problems_total(&p), QD_PROBLEMS_CAP + 57);
	ck_assert_uint_ge(p.cap, p.count);
	/* The ones kept are the first ones found, in order. */
	for (unsigned i = 0; i < QD_PROBLEMS_CAP; i++) {
		char want[32];
		snprintf(want, sizeof want, "problem %u", i);
		ck_assert_str_eq(p.items[i].message, want);
		if (i % 3 == 0) {
			ck_assert_ptr_null(p.items[i].path);
			ck_assert_uint_eq(p.items[i].line, i + 1);
		} else {
			snprintf(want, sizeof want, "/entries/%u", i);
			ck_assert_str_eq(p.items[i].path, want);
		}
	}
	qd_problems_free(&p);
}
END_TEST

START_TEST(free_leaves_reusable)
{
	qd_problems p;
	qd_problems_init(&p);
	qd_problems_free(&p);
	for (int round = 0; round < 3; round++) {
		for (unsigned i = 0; i < QD_PROBLEMS_CAP + 1; i++)
			qd_problems_add(&p, "/a", "n%u", i);
		ck_assert_uint_eq(p.count, QD_PROBLEMS_CAP);
		ck_assert_uint_eq(p.omitted, 1);
		qd_problems_free(&p);
		ck_assert_ptr_null(p.items);
		ck_assert_uint_eq(p.count, 0);
		ck_assert_uint_eq(p.cap, 0);
		ck_assert_uint_eq(p.omitted, 0);
		ck_assert_uint_eq(qd_problems_total(&p), 0);
	}
	/* After a free, the count starts again from nothing. */
	qd_problems_add(&p, "/b", "again");
	ck_assert_uint_eq(p.count, 1);
	ck_assert_str_eq(p.items[0].message, "again");
	qd_problems_free(&p);
}
END_TEST

/* ---- qd_quote ---- */

/* Guard bytes around the buffer qd_quote() writes, to catch overruns. */
#define GUARD 64

typedef struct quoted {
	char area[GUARD + QD_QUOTE_BUF + GUARD];
} quoted;

/* qd_quote() of n bytes of s into a guarded buffer; the guards must be
 * untouched, the result must be buf itself, and it must fit. */
static const char *quote(quoted *q, const char *s, size_t n)
{
	memset(q->area, 0xa5, sizeof q->area);
	char *buf = q->area + GUARD;
	const char *r = qd_quote(s, n, buf);
	ck_assert_ptr_eq(r, buf);
	for (size_t i = 0; i < GUARD; i++) {
		ck_assert_int_eq((unsigned char)q->area[i], 0xa5);
		ck_assert_int_eq((unsigned char)q->area[GUARD + QD_QUOTE_BUF + i], 0xa5);
	}
	ck_assert_uint_lt(strlen(r), QD_QUOTE_BUF);
	return r;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);
	return a >= b && memcmp(s + a - b, tail, b) == 0;
}

START_TEST(quote_short_values)
{
	quoted q;
	ck_assert_str_eq(quote(&q, "", 0), "\"\"");
	ck_assert_str_eq(quote(&q, "gba-pos", 7), "\"gba-pos\"");
	ck_assert_str_eq(quote(&q, "中文", 6), "\"中文\"");
	/* Only n bytes are read. */
	ck_assert_str_eq(quote(&q, "abcdef", 3), "\"abc\"");
}
END_TEST

START_TEST(quote_escapes)
{
	quoted q;
	ck_assert_str_eq(quote(&q, "a\"b", 3), "\"a\\\"b\"");
	ck_assert_str_eq(quote(&q, "a\\b", 3), "\"a\\\\b\"");
	ck_assert_str_eq(quote(&q, "a\nb\tc", 5), "\"a\\u000ab\\u0009c\"");
	ck_assert_str_eq(quote(&q, "\x7f", 1), "\"\\u007f\"");
	ck_assert_str_eq(quote(&q, "a\0b", 3), "\"a\\u0000b\"");
	/* The result is one line whatever the value holds. */
	char all[32];
	for (int i = 0; i < 32; i++)
		all[i] = (char)i;
	const char *r = quote(&q, all, 32);
	ck_assert_ptr_null(strchr(r, '\n'));
	ck_assert_ptr_null(strchr(r, '\r'));
}
END_TEST

START_TEST(quote_cuts_long_values)
{
	quoted q;
	char s[1000];
	for (size_t i = 0; i < sizeof s; i++)
		s[i] = (char)('a' + i % 26);
	const char *r = quote(&q, s, sizeof s);
	ck_assert_int_eq(r[0], '"');
	ck_assert_msg(ends_with(r, "…\""), "not cut: %s", r);
	size_t kept = strlen(r) - 1 - strlen("…\"");
	/* About QD_QUOTE_MAX bytes of the value, as they were. */
	ck_assert_uint_ge(kept, QD_QUOTE_MAX - 8);
	ck_assert_uint_le(kept, QD_QUOTE_MAX);
	ck_assert_int_eq(memcmp(r + 1, s, kept), 0);
	/* A value well below the limit is not cut. */
	r = quote(&q, s, QD_QUOTE_MAX / 2);
	ck_assert(!ends_with(r, "…\""));
	ck_assert_uint_eq(strlen(r), QD_QUOTE_MAX / 2 + 2);
}
END_TEST

START_TEST(quote_never_splits_a_character)
{
	quoted q;
	/* Characters of 2, 3 and 4 bytes, at every phase against the cut. */
	static const char *chars[] = {"é", "中", "\xf0\x9f\x98\x80"};
	for (size_t c = 0; c < 3; c++) {
		size_t cl = strlen(chars[c]);
		for (size_t phase = 0; phase < 4; phase++) {
			char s[400];
			size_t n = 0;
			for (; n < phase; n++)
				s[n] = 'x';
			while (n + cl <= sizeof s) {
				memcpy(s + n, chars[c], cl);
				n += cl;
			}
			const char *r = quote(&q, s, n);
			ck_assert_msg(ends_with(r, "…\""), "not cut: %s", r);
			size_t kept = strlen(r) - 1 - strlen("…\"");
			ck_assert_int_eq(memcmp(r + 1, s, kept), 0);
			/* The part kept is whole characters: valid UTF-8 to the end. */
			for (size_t i = phase; i < kept; i += cl)
				ck_assert_uint_eq(qd_utf8_len((const unsigned char *)r + 1 + i, kept - i),
						  cl);
			ck_assert_uint_eq((kept - phase) % cl, 0);
		}
	}
}
END_TEST

START_TEST(quote_worst_case_fits)
{
	quoted q;
	/* Every byte escaped to six: the buffer is sized for it. */
	char ctl[500];
	memset(ctl, '\x01', sizeof ctl);
	const char *r = quote(&q, ctl, sizeof ctl);
	ck_assert(ends_with(r, "…\""));
	ck_assert_int_eq(strncmp(r, "\"\\u0001\\u0001", 13), 0);
	char mixed[500];
	for (size_t i = 0; i < sizeof mixed; i++)
		mixed[i] = "\"\\\x1f"[i % 3];
	r = quote(&q, mixed, sizeof mixed);
	ck_assert(ends_with(r, "…\""));
}
END_TEST

START_TEST(quote_cuts_runs_of_continuation_bytes)
{
	quoted q;
	/* Not UTF-8: a long run of continuation bytes has no lead byte to cut
	 * before, and must still be cut near the limit (qingdanctl --charset
	 * quotes bytes that were never checked). */
	char s[600];
	memset(s, '\x80', sizeof s);
	const char *r = quote(&q, s, sizeof s);
	ck_assert_msg(ends_with(r, "…\""), "not cut");
	size_t kept = strlen(r) - 1 - strlen("…\"");
	ck_assert_uint_ge(kept, QD_QUOTE_MAX);
	ck_assert_uint_le(kept, QD_QUOTE_MAX + 9);
	ck_assert_int_eq(memcmp(r + 1, s, kept), 0);
	/* The same after a prefix that ends just below the limit. */
	char t[600];
	memset(t, 'a', QD_QUOTE_MAX - 1);
	memset(t + QD_QUOTE_MAX - 1, '\xbf', sizeof t - (QD_QUOTE_MAX - 1));
	r = quote(&q, t, sizeof t);
	ck_assert(ends_with(r, "…\""));
}
END_TEST

static Suite *problems_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("problems");

	tcase_add_test(tc, init_is_zero_fill);
	tcase_add_test(tc, add_keeps_order_path_message);
	tcase_add_test(tc, add_null_path_is_root);
	tcase_add_test(tc, add_copies_arguments);
	tcase_add_test(tc, add_at_line_column);
	tcase_add_test(tc, long_message);
	tcase_add_test(tc, cap_keeps_first_counts_rest);
	tcase_add_test(tc, free_leaves_reusable);
	tcase_add_test(tc, quote_short_values);
	tcase_add_test(tc, quote_escapes);
	tcase_add_test(tc, quote_cuts_long_values);
	tcase_add_test(tc, quote_never_splits_a_character);
	tcase_add_test(tc, quote_worst_case_fits);
	tcase_add_test(tc, quote_cuts_runs_of_continuation_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(problems_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
