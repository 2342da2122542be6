/* Unit tests: client references (src/lib/clientref.c). */
#include <check.h>
#include <string.h>

#include "qingdan/clientref.h"

static const struct {
	const char *s;
	size_t n;          /* 0: strlen(s) */
	bool valid;
	const char *why;   /* a word of the message when invalid */
} cases[] = {
	{"a", 0, true, NULL},
	{"Z", 0, true, NULL},
	{"0", 0, true, NULL},
	{"DEC-2026/000123", 0, true, NULL},
	{"urn:msg:4711.2_b", 0, true, NULL},
	{"._:/-", 0, true, NULL},
	/* 64 characters: the longest allowed */
	{"0123456789012345678901234567890123456789012345678901234567890123", 0, true, NULL},
	{"", 0, false, "empty"},
	{"01234567890123456789012345678901234567890123456789012345678901234", 0, false, "longer"},
	{"has space", 0, false, "only"},
	{"quote\"", 0, false, "only"},
	{"back\\slash", 0, false, "only"},
	{"new\nline", 0, false, "only"},
	{"percent%41", 0, false, "only"},
	{"plus+", 0, false, "only"},
	{"comma,", 0, false, "only"},
	{"hash#", 0, false, "only"},
	{"\xe6\x8a\xa5\xe5\x85\xb3", 0, false, "only"},  /* 报关: not ASCII */
	{"nul\0after", 9, false, "only"},
	{"\x7f", 0, false, "only"},
};

START_TEST(client_ref_table)
{
	const char *s = cases[_i].s;
	size_t n = cases[_i].n ? cases[_i].n : strlen(s);
	const char *why = NULL;
	bool ok = qd_client_ref_valid(s, n, &why);
	ck_assert_msg(ok == cases[_i].valid, "case %d \"%s\": %s", _i, s, ok ? "accepted" : why);
	if (cases[_i].valid) {
		ck_assert_ptr_null(why);
	} else {
		ck_assert_ptr_nonnull(why);
		ck_assert_msg(strstr(why, cases[_i].why), "case %d: message \"%s\" lacks \"%s\"", _i, why,
			      cases[_i].why);
	}
}
END_TEST

START_TEST(client_ref_length_only_counts)
{
	/* Only n bytes are read; why may be NULL. */
	ck_assert(qd_client_ref_valid("abc def", 3, NULL));
	ck_assert(!qd_client_ref_valid("abc def", 4, NULL));
	ck_assert(!qd_client_ref_valid(NULL, 0, NULL));
}
END_TEST

static Suite *clientref_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("clientref");

	tcase_add_loop_test(tc, client_ref_table, 0, (int)(sizeof cases / sizeof cases[0]));
	tcase_add_test(tc, client_ref_length_only_counts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(clientref_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
