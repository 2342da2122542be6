/* Unit tests: the table of library errors (include/qingdan/err.h,
 * src/lib/err.c). */
#include <check.h>
#include <limits.h>
#include <string.h>

#include "qingdan/err.h"

typedef struct row {
	const char *name;
	int value;
	const char *code;
	unsigned http;
	int exit;
	const char *message;
} row;

static const row rows[] = {
#define X(name, value, code, http, exit, msg) {#name, name, code, http, exit, msg},
	QD_ERRORS(X)
#undef X
};

#define NROWS (sizeof rows / sizeof rows[0])

/* Values, names, codes and messages each differ from row to row. */
START_TEST(err_rows_distinct)
{
	for (size_t i = 0; i < NROWS; i++) {
		ck_assert_int_le(rows[i].value, 0);
		for (size_t j = i + 1; j < NROWS; j++) {
			ck_assert_msg(rows[i].value != rows[j].value, "%s and %s share a value", rows[i].name,
				      rows[j].name);
			ck_assert_str_ne(rows[i].name, rows[j].name);
			ck_assert_msg(strcmp(rows[i].code, rows[j].code) != 0, "%s and %s share the code %s",
				      rows[i].name, rows[j].name, rows[i].code);
			ck_assert_msg(strcmp(rows[i].message, rows[j].message) != 0, "%s and %s share a message",
				      rows[i].name, rows[j].name);
		}
	}
}
END_TEST

/* Codes are snake_case. */
START_TEST(err_codes_snake_case)
{
	for (size_t i = 0; i < NROWS; i++) {
		const char *c = rows[i].code;
		ck_assert_msg(c[0] >= 'a' && c[0] <= 'z', "%s: code %s", rows[i].name, c);
		ck_assert_msg(strspn(c, "abcdefghijklmnopqrstuvwxyz_") == strlen(c), "%s: code %s", rows[i].name, c);
		ck_assert_msg(c[strlen(c) - 1] != '_', "%s: code %s", rows[i].name, c);
	}
}
END_TEST

/* Every function answers each row with its columns. */
START_TEST(err_functions_follow_the_table)
{
	for (size_t i = 0; i < NROWS; i++) {
		const row *r = &rows[i];
		ck_assert_str_eq(qd_strerror(r->value), r->message);
		ck_assert_str_eq(qd_err_code(r->value), r->code);
		ck_assert_int_eq(qd_err_exit(r->value), r->exit);
		const char *code = NULL;
		ck_assert_uint_eq(qd_err_http(r->value, &code), r->http);
		ck_assert_str_eq(code, r->code);
		ck_assert_uint_eq(qd_err_http(r->value, NULL), r->http);
	}
}
END_TEST

/* The rows the daemon and qingdanctl rely on. */
START_TEST(err_known_rows)
{
	ck_assert_str_eq(qd_strerror(QD_OK), "success");
	ck_assert_int_eq(qd_err_exit(QD_OK), 0);
	ck_assert_str_eq(qd_strerror(QD_ENOLIST), "no such list");
	ck_assert_str_eq(qd_strerror(QD_ENOVERSION), "no such version");
	ck_assert_str_eq(qd_strerror(QD_EGONE), "version no longer retained");
	ck_assert_str_eq(qd_strerror(QD_ENOMEM), "out of memory");
	ck_assert_str_eq(qd_strerror(QD_EIO), "storage or system error");
	ck_assert_int_ne(QD_ENOLIST, QD_ENOVERSION);
	ck_assert_int_ne(QD_ENOLIST, QD_ENOENT);
	ck_assert_int_ne(QD_ENOVERSION, QD_ENOENT);
	/* sysexits: 65 data, 69 unavailable, 74 I/O, 75 try again */
	ck_assert_int_eq(qd_err_exit(QD_EINVAL), 65);
	ck_assert_int_eq(qd_err_exit(QD_ESYNTAX), 65);
	ck_assert_int_eq(qd_err_exit(QD_ENOLIST), 69);
	ck_assert_int_eq(qd_err_exit(QD_ENOVERSION), 69);
	ck_assert_int_eq(qd_err_exit(QD_EGONE), 69);
	ck_assert_int_eq(qd_err_exit(QD_ENOENT), 69);
	ck_assert_int_eq(qd_err_exit(QD_EIO), 74);
	ck_assert_int_eq(qd_err_exit(QD_ENOMEM), 74);
	ck_assert_int_eq(qd_err_exit(QD_ENOSPC), 75);
	ck_assert_int_eq(qd_err_exit(QD_ECONFLICT), 75);
	/* HTTP: not found is 404, storage full 507, internal failures 500 */
	ck_assert_uint_eq(qd_err_http(QD_ENOLIST, NULL), 404);
	ck_assert_uint_eq(qd_err_http(QD_ENOVERSION, NULL), 404);
	ck_assert_uint_eq(qd_err_http(QD_EGONE, NULL), 404);
	ck_assert_uint_eq(qd_err_http(QD_ENOSPC, NULL), 507);
	ck_assert_uint_eq(qd_err_http(QD_ECONFLICT, NULL), 412);
	ck_assert_uint_eq(qd_err_http(QD_ESYNTAX, NULL), 400);
	ck_assert_uint_eq(qd_err_http(QD_EIO, NULL), 500);
	ck_assert_uint_eq(qd_err_http(QD_ENOMEM, NULL), 500);
	/* only genuine internal failures are 5xx but for storage full */
	for (size_t i = 0; i < NROWS; i++)
		if (rows[i].value != QD_EIO && rows[i].value != QD_ENOMEM && rows[i].value != QD_ENOSPC)
			ck_assert_msg(rows[i].http < 500, "%s is answered %u", rows[i].name, rows[i].http);
}
END_TEST

/* Values in no row: positive ones, one past the last, far below. */
START_TEST(err_unknown_values)
{
	int lowest = 0;
	for (size_t i = 0; i < NROWS; i++)
		if (rows[i].value < lowest)
			lowest = rows[i].value;
	const int unknown[] = {1, 2, 42, INT_MAX, lowest - 1, lowest - 100, -1000, INT_MIN};
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
		int e = unknown[i];
		ck_assert_str_eq(qd_strerror(e), "unknown error");
		ck_assert_str_eq(qd_err_code(e), "unknown_error");
		ck_assert_int_eq(qd_err_exit(e), 74);
		const char *code = NULL;
		ck_assert_uint_eq(qd_err_http(e, &code), 500);
		ck_assert_str_eq(code, "unknown_error");
	}
}
END_TEST

static Suite *err_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("err");

	tcase_add_test(tc, err_rows_distinct);
	tcase_add_test(tc, err_codes_snake_case);
	tcase_add_test(tc, err_functions_follow_the_table);
	tcase_add_test(tc, err_known_rows);
	tcase_add_test(tc, err_unknown_values);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(err_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
