/* Unit tests: the expiry watch (src/lib/store/expiring.c).
 *
 * "Today" is a parameter of qd_store_expiring(), so every window here is
 * fixed: today is 2026-12-01 throughout. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qingdan/date.h"
#include "qingdan/err.h"
#include "qingdan/store.h"

#include "fixture.h"

#define NOW 1795000000

#define E_OK "91110000600037341L"
#define E_HK "hk:12345678"

#define CLAUSE "{'id':'C-1','document':'署综函〔2022〕143号','article':'一','text':'免于提交。'}"

#define ENT(id, code, extra) \
	"{'id':'" id "','code':'" code "','name':{'zh':'物品 " id "'},'clauses':['C-1']" extra "}"

static qd_date day(const char *s)
{
	qd_date d;
	ck_assert_int_eq(qd_date_parse(s, strlen(s), &d), 0);
	return d;
}

static void root_setup(void)
{
	fx_root_setup("expiring");
}

static void root_teardown(void)
{
	fx_root_teardown();
}

static void put(qd_store *st, const char *roster, const char *entries)
{
	qd_listdoc *doc = fx_mkdoc("watch",
				   "{'list':'watch','kind':'positive','title':{'zh':'到期提醒'},"
				   "'clauses':[" CLAUSE "],'entities':%s,'entries':%s}",
				   roster, entries);
	qd_put_opts o = fx_put_opts("tester", "load", "test", NOW);
	fx_put_doc_ok(st, doc, &o, NULL);
	qd_listdoc_free(doc);
}

/* The items of e as "kind:id:valid_to" joined by spaces; free() it. */
static char *items(const qd_expiring *e)
{
	qd_buf b;
	qd_buf_init(&b);
	for (size_t i = 0; i < e->n; i++) {
		char to[11];
		qd_date_format(e->v[i].valid_to, to);
		qd_buf_printf(&b, "%s%s:%s:%s", i ? " " : "", e->v[i].member ? "m" : "e", e->v[i].id, to);
	}
	return qd_buf_steal(&b, NULL);
}

#define ROSTER                                                                            \
	"[{'id':'" E_OK "','name':{'zh':'示例研究院'},'valid_to':'2026-12-05'},"                \
	"{'id':'" E_HK "','name':{'zh':'香港示例大学'},'status':'revoked','valid_to':'2026-12-02'}]"

#define ENTRIES                                                                           \
	"[" ENT("E-LATE", "3822", ",'valid_to':'2026-12-30'") ","                                 \
	ENT("E-TODAY", "9027", ",'valid_to':'2026-12-01'") ","                                    \
	ENT("E-PAST", "9028", ",'valid_to':'2026-11-30'") ","                                     \
	ENT("E-OPEN", "9029", "") ","                                                             \
	ENT("E-SAME", "2933000000", ",'ciq':'101','valid_to':'2026-12-05','status':'suspended'") ","   \
	ENT("E-REVOKED", "2934", ",'status':'revoked','valid_to':'2026-12-03'") ","              \
	ENT("E-EDGE", "2935", ",'valid_to':'2026-12-31'") "]"

START_TEST(window_and_order)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	put(st, ROSTER, ENTRIES);
	qd_expiring e;
	/* 30 days from 2026-12-01: through 2026-12-30; today counts, the
	 * 31st day and the past do not, nor revoked ones, nor open ends.
	 * One day: entries before members, then by code. */
	ck_assert_int_eq(qd_store_expiring(st, "watch", day("2026-12-01"), 30, false, &e), 0);
	char *s = items(&e);
	ck_assert_str_eq(s, "e:E-TODAY:2026-12-01 e:E-SAME:2026-12-05 m:" E_OK ":2026-12-05 e:E-LATE:2026-12-30");
	free(s);
	ck_assert_uint_eq(e.entries, 3);
	ck_assert_uint_eq(e.members, 1);
	ck_assert_uint_eq(e.version, 1);
	ck_assert(!e.truncated);
	/* What an item says of itself: the entry's code, CIQ, status and
	 * canonical object; a member has none of the entry's. */
	const qd_expiring_item *same = &e.v[1], *mem = &e.v[2];
	ck_assert_str_eq(same->code, "2933000000");
	ck_assert_str_eq(same->ciq, "101");
	ck_assert_int_eq(same->status, QD_STATUS_SUSPENDED);
	ck_assert_int_eq(same->valid_from, QD_DATE_MIN);
	ck_assert_ptr_nonnull(same->json);
	ck_assert_ptr_nonnull(strstr(same->json, "\"id\":\"E-SAME\""));
	ck_assert(mem->member);
	ck_assert_str_eq(mem->code, "");
	ck_assert_ptr_null(mem->json);
	qd_expiring_free(&e);

	/* 31 days reach 2026-12-31. */
	ck_assert_int_eq(qd_store_expiring(st, "watch", day("2026-12-01"), 31, false, &e), 0);
	ck_assert_uint_eq(e.entries, 4);
	ck_assert_str_eq(e.v[e.n - 1].id, "E-EDGE");
	qd_expiring_free(&e);

	/* One day: today only. */
	ck_assert_int_eq(qd_store_expiring(st, "watch", day("2026-12-01"), 1, false, &e), 0);
	s = items(&e);
	ck_assert_str_eq(s, "e:E-TODAY:2026-12-01");
	free(s);
	qd_expiring_free(&e);

	/* Counting only: the same counts, no items. */
	ck_assert_int_eq(qd_store_expiring(st, "watch", day("2026-12-01"), 30, true, &e), 0);
	ck_assert_uint_eq(e.entries, 3);
	ck_assert_uint_eq(e.members, 1);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_ptr_null(e.v);
	qd_expiring_free(&e);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

START_TEST(current_version_only)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	put(st, ROSTER, ENTRIES);
	/* Version 2 renews E-TODAY and drops the roster. */
	put(st, "[]", "[" ENT("E-TODAY", "9027", ",'valid_to':'2027-12-01'") "]");
	qd_expiring e;
	ck_assert_int_eq(qd_store_expiring(st, "watch", day("2026-12-01"), 30, false, &e), 0);
	ck_assert_uint_eq(e.version, 2);
	ck_assert_uint_eq(e.entries + e.members, 0);
	ck_assert_uint_eq(e.n, 0);
	qd_expiring_free(&e);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

START_TEST(bad_arguments)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	put(st, ROSTER, ENTRIES);
	qd_expiring e;
	ck_assert_int_eq(qd_store_expiring(st, "nosuch", day("2026-12-01"), 30, false, &e), QD_ENOLIST);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_int_eq(qd_store_expiring(st, "watch", day("2026-12-01"), 0, false, &e), QD_EINVAL);
	ck_assert_int_eq(qd_store_expiring(st, "watch", day("2026-12-01"), QD_EXPIRING_DAYS_MAX + 1, false, &e),
			 QD_EINVAL);
	ck_assert_int_eq(qd_store_expiring(st, "watch", day("2026-12-01"), QD_EXPIRING_DAYS_MAX, false, &e), 0);
	ck_assert_uint_eq(e.entries, 4);
	qd_expiring_free(&e);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

/* More than QD_EXPIRING_MAX expire: the earliest are listed, the counts
 * are whole. */
START_TEST(truncated_keeps_earliest)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	size_t n = QD_EXPIRING_MAX + 50;
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_putc(&b, '[');
	for (size_t i = 0; i < n; i++) {
		/* Ids and codes run against the dates: the entry with the
		 * highest code ends first. */
		char to[11];
		qd_date_format(day("2026-12-01") + (qd_date)((n - 1 - i) / 1005), to);
		qd_buf_printf(&b, "%s{'id':'E-%05zu','code':'%06zu','name':{'zh':'物品'},'clauses':['C-1'],"
			      "'valid_to':'%s'}", i ? "," : "", i, 100000 + i, to);
	}
	qd_buf_putc(&b, ']');
	put(st, "[]", b.data);
	qd_buf_free(&b);
	qd_expiring e;
	ck_assert_int_eq(qd_store_expiring(st, "watch", day("2026-12-01"), 30, false, &e), 0);
	ck_assert_uint_eq(e.entries, n);
	ck_assert_uint_eq(e.n, QD_EXPIRING_MAX);
	ck_assert(e.truncated);
	/* 1005 end on each of ten days, the highest codes first: nine days
	 * whole (9045), then the first 955 by code of the tenth day. */
	for (size_t i = 1; i < e.n; i++)
		ck_assert_int_le(e.v[i - 1].valid_to, e.v[i].valid_to);
	ck_assert_int_eq(e.v[0].valid_to, day("2026-12-01"));
	ck_assert_int_eq(e.v[e.n - 1].valid_to, day("2026-12-10"));
	ck_assert_str_eq(e.v[e.n - 1].id, "E-00954");
	qd_expiring_free(&e);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

static Suite *expiring_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("expiring");
	tcase_add_unchecked_fixture(tc, root_setup, root_teardown);
	tcase_add_test(tc, window_and_order);
	tcase_add_test(tc, current_version_only);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, truncated_keeps_earliest);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(expiring_suite());
	srunner_run_all(sr, CK_NORMAL);
	int nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
