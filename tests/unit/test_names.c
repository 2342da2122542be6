/* Unit tests: name and specification matching (src/lib/names.c). */
#include <check.h>
#include <string.h>

#include "qingdan/names.h"

/* Pairs a declaration may give for what an approval names. */
static const struct {
	const char *a, *b;
	bool same;
} pairs[] = {
	{"环孢菌素A", "环孢菌素A", true},
	{"环孢菌素A", "环孢菌素a", true},                 /* Latin case */
	{"环孢菌素A", "环孢菌素Ａ", true},                /* full-width Latin */
	{"环孢菌素A", "环孢菌素 A", true},                /* space */
	{"环孢菌素A", "环孢菌素\xe3\x80\x80" "A", true},  /* U+3000 ideographic space */
	{"环孢菌素A", "环孢菌素B", false},
	{"环孢菌素A", "环孢素A", false},                  /* a character missing */
	{"Cyclosporin A", "CYCLOSPORIN-A", true},
	{"Cyclosporin A", "cyclosporin_a", true},
	{"Cyclosporin A", "Cyclosporine A", false},
	{"重组人胰岛素(注射用)", "重组人胰岛素（注射用）", true}, /* brackets of both widths */
	{"重组人胰岛素[注射用]", "重组人胰岛素【注射用】", true},
	{"重组人胰岛素【注射用】", "重组人胰岛素注射用", true},
	{"胎牛血清，进口", "胎牛血清、进口。", true},
	{"500mg/瓶", "500 MG／瓶", true},                 /* full-width slash, case, space */
	{"500mg/瓶", "５００ｍｇ／瓶", true},               /* full-width digits */
	{"500mg/瓶", "500mg/支", false},
	{"500mg/瓶", "50mg/瓶", false},
	{"10×10mL", "10×10ML", true},                    /* × (U+00D7) is not a letter */
	{"ÉTOPOSIDE", "étoposide", true},                /* Latin-1 capitals fold */
	{"ÅÑÖ", "åñö", true},
	{"ß", "ss", false},                              /* no case mapping beyond one letter */
	{"ŁÓDŹ", "łódź", false},                         /* only Latin-1 folds: Ł, Ź stay */
	{"ΑΒΓ", "αβγ", false},                           /* Greek is not folded */
	{"1.5 mL", "1.5ML", true},
	{"1.5 mL", "１．５ｍＬ", true},                     /* full-width decimal point */
	{"1.5 mL", "15ml", false},                       /* a decimal point is kept */
	{"Tris.HCl", "TrisHCl", true},                   /* '.' elsewhere is dropped */
	{"规格1.", "规格1", true},
	{"", "", true},
	{"A", "", false},
};

START_TEST(names_pairs)
{
	bool same = qd_name_same(pairs[_i].a, pairs[_i].b);
	ck_assert_msg(same == pairs[_i].same, "pair %d: \"%s\" vs \"%s\" %s", _i, pairs[_i].a, pairs[_i].b,
		      same ? "matched" : "did not match");
	/* Symmetric. */
	ck_assert(qd_name_same(pairs[_i].b, pairs[_i].a) == same);
}
END_TEST

START_TEST(names_normal_form)
{
	char out[64];
	ck_assert_int_eq(qd_name_norm("５００ ＭＧ／瓶", strlen("５００ ＭＧ／瓶"), out, sizeof out), 8);
	ck_assert_str_eq(out, "500mg瓶");
	ck_assert_int_eq(qd_name_norm("(A)", 3, out, sizeof out), 1);
	ck_assert_str_eq(out, "a");
	/* Never longer than the input: n + 1 bytes suffice. */
	const char *s = "重组人胰岛素（注射用）";
	size_t n = strlen(s);
	ck_assert_int_ge(qd_name_norm(s, n, out, n + 1), 0);
	ck_assert_str_eq(out, "重组人胰岛素注射用");
	/* Too small a buffer, bad UTF-8 and NUL are refused. */
	ck_assert_int_eq(qd_name_norm("abc", 3, out, 3), -1);
	ck_assert_int_eq(qd_name_norm("\xe7\x8e", 2, out, sizeof out), -1);
	ck_assert_int_eq(qd_name_norm("\xc0\xaf", 2, out, sizeof out), -1);
	ck_assert_int_eq(qd_name_norm("a\0b", 3, out, sizeof out), -1);
	ck_assert(!qd_name_same("\xff", "\xff"));
}
END_TEST

START_TEST(names_declared)
{
	const char *why = NULL;
	char big[QD_DECLARED_MAX + 2];
	ck_assert(qd_declared_valid("环孢菌素A", strlen("环孢菌素A"), &why));
	memset(big, 'a', sizeof big);
	ck_assert(qd_declared_valid(big, QD_DECLARED_MAX, &why));
	ck_assert(!qd_declared_valid(big, QD_DECLARED_MAX + 1, &why));
	ck_assert_ptr_nonnull(strstr(why, "256"));
	ck_assert(!qd_declared_valid("", 0, &why));
	ck_assert_ptr_nonnull(strstr(why, "empty"));
	ck_assert(!qd_declared_valid("\xe7\x8e", 2, &why));
	ck_assert_ptr_nonnull(strstr(why, "UTF-8"));
	ck_assert(!qd_declared_valid("a\nb", 3, &why));
	ck_assert_ptr_nonnull(strstr(why, "control"));
	ck_assert(!qd_declared_valid("a\0b", 3, NULL));
	ck_assert(!qd_declared_valid("（ ）-", strlen("（ ）-"), &why));
	ck_assert_ptr_nonnull(strstr(why, "punctuation"));
}
END_TEST

static Suite *names_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("names");

	tcase_add_loop_test(tc, names_pairs, 0, (int)(sizeof pairs / sizeof pairs[0]));
	tcase_add_test(tc, names_normal_form);
	tcase_add_test(tc, names_declared);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(names_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
