/* Unit tests: scheduled versions (src/lib/store/schedule.c, write.c).
 *
 * The store's clock is set with qd_store_set_time(), so every instant
 * here is exact: a version scheduled for T is current from T on, and the
 * one before it until T − 1. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qingdan/code.h"
#include "qingdan/err.h"
#include "qingdan/store.h"

#include "fixture.h"

#define T0 1795000000 /* the first load */
#define T1 (T0 + 3600) /* the second version is stored … */
#define TE (T0 + 86400) /* … and takes effect a day after the first */

#define CLAUSE "{'id':'C-1','document':'署综函〔2022〕143号','article':'一','text':'免于提交。'}"

static void root_setup(void)
{
	fx_root_setup("schedule");
}

static void root_teardown(void)
{
	fx_root_teardown();
}

/* Store version n of list "sched" (n entries) at `now`, taking effect at eff (0: at once). */
static int put_at(qd_store *st, unsigned n, int64_t now, int64_t eff, qd_put_result *res, qd_problems *pr)
{
	qd_buf b;
	qd_buf_init(&b);
	for (unsigned i = 1; i <= n; i++)
		qd_buf_printf(&b, "%s{'id':'E-%u','code':'38%02u','name':{'zh':'物品'},'clauses':['C-1']}", i > 1 ? "," : "",
			      i, i);
	qd_listdoc *doc = fx_mkdoc("sched", "{'list':'sched','kind':'positive','title':{'zh':'排期 %u'},"
				   "'clauses':[" CLAUSE "],'entities':[],'entries':[%s]}", n, b.data);
	qd_buf_free(&b);
	qd_put_opts o = fx_put_opts("tester", "load", "test", now);
	o.effective_at = eff;
	int ret = qd_store_put(st, doc, &o, res, pr);
	qd_listdoc_free(doc);
	return ret;
}

static void put_ok_at(qd_store *st, unsigned n, int64_t now, int64_t eff)
{
	qd_put_result res;
	qd_problems pr;
	qd_problems_init(&pr);
	ck_assert_int_eq(put_at(st, n, now, eff, &res, &pr), 0);
	ck_assert_int_eq(res.effective_at, eff > now ? eff : 0);
	qd_problems_free(&pr);
}

/* The version current "now" by every reader: the list, the lists, a snapshot. */
static uint32_t current(qd_store *st, qd_snap *s)
{
	qd_list_info l;
	ck_assert_int_eq(qd_store_list(st, "sched", &l), 0);
	free(l.title);
	qd_list_info *v;
	size_t n;
	ck_assert_int_eq(qd_store_lists(st, &v, &n), 0);
	ck_assert_uint_eq(v[0].version, l.version);
	qd_list_infos_free(v, n);
	ck_assert_int_eq(qd_snap_open(s), 0);
	const qd_list_info *sl;
	ck_assert_int_eq(qd_snap_lists(s, &sl, &n), 0);
	ck_assert_uint_eq(sl[0].version, l.version);
	ck_assert_uint_eq(sl[0].entries, l.entries);
	qd_snap_close(s);
	return l.version;
}

/* The version current at t1, then at t2. */
static void assert_current(qd_store *st, qd_snap *s, int64_t t1, uint32_t v1, int64_t t2, uint32_t v2)
{
	qd_store_set_time(st, t1);
	ck_assert_uint_eq(current(st, s), v1);
	qd_store_set_time(st, t2);
	ck_assert_uint_eq(current(st, s), v2);
}

static uint32_t version_at(qd_snap *s, int64_t at)
{
	ck_assert_int_eq(qd_snap_open(s), 0);
	qd_list_info l;
	ck_assert_int_eq(qd_snap_list_at(s, "sched", at, &l), 0);
	qd_snap_close(s);
	return l.version;
}

START_TEST(switches_at_the_instant)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_snap *s = qd_snap_new(st);
	put_ok_at(st, 1, T0, 0);
	put_ok_at(st, 2, T1, TE);

	/* Stored, not current: until TE − 1, now and as of then. */
	qd_store_set_time(st, T1);
	ck_assert_uint_eq(current(st, s), 1);
	qd_store_set_time(st, TE - 1);
	ck_assert_uint_eq(current(st, s), 1); /* the same handle: its list cache ends at TE */
	ck_assert_uint_eq(version_at(s, TE - 1), 1);
	ck_assert_uint_eq(version_at(s, T1), 1);
	qd_store_set_time(st, TE);
	ck_assert_uint_eq(current(st, s), 2);
	ck_assert_uint_eq(version_at(s, TE), 2);
	ck_assert_uint_eq(version_at(s, TE + 1000), 2);
	ck_assert_uint_eq(version_at(s, T0), 1);

	/* The schedule as GET /v1/lists/{id} shows it. */
	qd_sched_item *v;
	size_t n;
	ck_assert_int_eq(qd_store_scheduled(st, "sched", T1, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(v[0].version, 2);
	ck_assert_int_eq(v[0].effective_at, TE);
	free(v);
	ck_assert_int_eq(qd_store_scheduled(st, "sched", TE, &v, &n), 0);
	ck_assert_uint_eq(n, 0);
	qd_snap_free(s);
	qd_store_close(st);

	/* Across a reopen, started late: current at once. */
	st = fx_open_store(dir, NULL);
	qd_store_set_time(st, TE + 5);
	s = qd_snap_new(st);
	ck_assert_uint_eq(current(st, s), 2);
	qd_snap_free(s);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

START_TEST(several_in_order_and_cancel)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_snap *s = qd_snap_new(st);
	put_ok_at(st, 1, T0, 0);
	put_ok_at(st, 2, T1, TE);
	put_ok_at(st, 3, T1 + 1, TE + 100);
	/* A change made at once meanwhile is current until the first instant. */
	put_ok_at(st, 4, T1 + 2, 0);
	qd_store_set_time(st, T1 + 3);
	ck_assert_uint_eq(current(st, s), 4);
	qd_store_set_time(st, TE + 99);
	ck_assert_uint_eq(current(st, s), 2);
	qd_store_set_time(st, TE + 100);
	ck_assert_uint_eq(current(st, s), 3);

	/* Cancel version 3 before its instant: version 2 stays current. */
	qd_sched_item *v;
	size_t n;
	ck_assert_int_eq(qd_store_cancel_scheduled(st, "sched", 3, "tester", NULL, TE + 50, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(v[0].version, 3);
	free(v);
	qd_store_set_time(st, TE + 200);
	ck_assert_uint_eq(current(st, s), 2);
	ck_assert_uint_eq(version_at(s, TE + 150), 2);
	/* Nothing left to cancel; an unknown list. */
	ck_assert_int_eq(qd_store_cancel_scheduled(st, "sched", 0, "tester", NULL, TE + 50, &v, &n), QD_ENOENT);
	ck_assert_int_eq(qd_store_cancel_scheduled(st, "nosuch", 0, "tester", NULL, TE + 50, &v, &n), QD_ENOLIST);
	/* Each committed version and the cancellation are in the feed. */
	qd_feed_page fp;
	ck_assert_int_eq(qd_store_feed_page(st, 0, 100, &fp), 0);
	ck_assert_uint_eq(fp.n, 5);
	ck_assert_ptr_nonnull(strstr(fp.recs[4].json, "\"action\":\"cancel\""));
	ck_assert_ptr_nonnull(strstr(fp.recs[1].json, "\"effective_at\":\"2026-11-19T"));
	qd_feed_page_free(&fp);
	qd_problems pr;
	qd_problems_init(&pr);
	ck_assert_int_eq(qd_store_verify(st, &pr), 0);
	qd_feed_summary sum;
	ck_assert_int_eq(qd_store_feed_verify(st, NULL, NULL, &sum, &pr), 0);
	ck_assert_uint_eq(sum.records, 5);
	qd_problems_free(&pr);
	qd_snap_free(s);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

START_TEST(refused_and_kept)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_put_result res;
	qd_problems pr;
	qd_problems_init(&pr);
	/* A new list cannot wait for an instant. */
	ck_assert_int_eq(put_at(st, 1, T0, TE, &res, &pr), QD_EINVAL);
	ck_assert_str_eq(pr.items[0].path, "/effective_at");
	qd_problems_free(&pr);
	qd_list_info l;
	ck_assert_int_eq(qd_store_list(st, "sched", &l), QD_ENOLIST);
	qd_store_close(st);

	/* Retention never prunes the version current now for one to come. */
	st = fx_open_retain(dir, 1);
	qd_snap *s = qd_snap_new(st);
	put_ok_at(st, 1, T0, 0);
	put_ok_at(st, 2, T1, TE);
	assert_current(st, s, T1, 1, TE, 2);
	qd_snap_free(s);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

/* A version to take effect before one scheduled already would be taken
 * over by that older one at its instant: refused, naming it, until it is
 * cancelled.  The same instant or a later one is in order. */
START_TEST(out_of_order_refused)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_snap *s = qd_snap_new(st);
	put_ok_at(st, 1, T0, 0);
	put_ok_at(st, 2, T1, TE + 100);
	qd_put_result res;
	qd_problems pr;
	qd_problems_init(&pr);
	ck_assert_int_eq(put_at(st, 3, T1 + 1, TE, &res, &pr), QD_ESCHEDULE);
	ck_assert_uint_eq(pr.count, 1);
	ck_assert_str_eq(pr.items[0].path, "/effective_at");
	ck_assert_msg(strstr(pr.items[0].message, "version 2 of sched is scheduled for 2026-11-19T11:08:20Z, after "
						      "2026-11-19T11:06:40Z"),
		      "%s", pr.items[0].message);
	ck_assert_msg(strstr(pr.items[0].message, "cancel it first"), "%s", pr.items[0].message);
	qd_problems_free(&pr);
	/* A dry run says the same. */
	qd_problems_init(&pr);
	qd_listdoc *doc = fx_mkdoc("sched", "{'list':'sched','kind':'positive','title':{'zh':'排期'},"
				   "'clauses':[" CLAUSE "],'entities':[],'entries':[]}");
	qd_put_opts o = fx_put_opts("tester", "load", "test", T1 + 1);
	o.effective_at = TE;
	o.dry_run = true;
	ck_assert_int_eq(qd_store_put(st, doc, &o, &res, &pr), QD_ESCHEDULE);
	qd_listdoc_free(doc);
	qd_problems_free(&pr);
	/* Nothing was stored. */
	qd_sched_item *v;
	size_t n;
	ck_assert_int_eq(qd_store_scheduled(st, "sched", T1 + 2, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(v[0].version, 2);
	free(v);

	/* The same instant: the newer takes effect then; a later one after it. */
	put_ok_at(st, 3, T1 + 2, TE + 100);
	put_ok_at(st, 4, T1 + 3, TE + 200);
	assert_current(st, s, TE + 100, 3, TE + 200, 4);

	/* Once the later ones are cancelled, the earlier instant is taken. */
	qd_store_set_time(st, 0);
	ck_assert_int_eq(qd_store_cancel_scheduled(st, "sched", 0, "tester", NULL, T1 + 4, &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	free(v);
	put_ok_at(st, 5, T1 + 5, TE);
	assert_current(st, s, TE - 1, 1, TE, 5);
	qd_snap_free(s);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

/* A follower applying the primary's feed keeps its schedule and its
 * cancellations: the same version is current at every instant. */
START_TEST(follower_applies_schedule_and_cancel)
{
	char *pd = fx_fresh_dir(), *fd = fx_fresh_dir();
	qd_store *pst = fx_open_store(pd, NULL), *fst = fx_open_store(fd, NULL);
	put_ok_at(pst, 1, T0, 0);
	put_ok_at(pst, 2, T1, TE);
	put_ok_at(pst, 3, T1 + 1, TE + 100);
	qd_sched_item *v;
	size_t n;
	ck_assert_int_eq(qd_store_cancel_scheduled(pst, "sched", 3, "tester", NULL, T1 + 2, &v, &n), 0);
	free(v);
	qd_feed_page fp;
	ck_assert_int_eq(qd_store_feed_page(pst, 0, 100, &fp), 0);
	ck_assert_uint_eq(fp.n, 4);
	for (size_t i = 0; i < fp.n; i++) {
		qd_listdoc *doc;
		ck_assert_int_eq(qd_store_get_doc(pst, "sched", fp.recs[i].version, &doc), 0);
		qd_put_opts o = fx_put_opts("follower", "load", "feed", 0);
		qd_put_result res;
		qd_problems pr;
		qd_problems_init(&pr);
		int rc = qd_store_apply(fst, doc, &fp.recs[i], &o, &res, &pr);
		ck_assert_msg(rc == 0, "record %zu: %d %s", i, rc, pr.count ? pr.items[0].message : "");
		qd_problems_free(&pr);
		qd_listdoc_free(doc);
	}
	qd_feed_page_free(&fp);
	qd_snap *ps = qd_snap_new(pst), *fs = qd_snap_new(fst);
	const int64_t at[] = {T0, T1 + 5, TE - 1, TE, TE + 100, TE + 1000};
	for (size_t i = 0; i < sizeof at / sizeof *at; i++)
		ck_assert_uint_eq(version_at(fs, at[i]), version_at(ps, at[i]));
	ck_assert_uint_eq(version_at(fs, TE + 1000), 2);
	ck_assert_int_eq(qd_store_scheduled(fst, "sched", T1 + 5, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(v[0].version, 2);
	free(v);
	qd_snap_free(ps);
	qd_snap_free(fs);
	qd_store_close(pst);
	qd_store_close(fst);
	fx_drop_dir(pd);
	fx_drop_dir(fd);
}
END_TEST

static Suite *schedule_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("schedule");
	tcase_add_unchecked_fixture(tc, root_setup, root_teardown);
	tcase_add_test(tc, switches_at_the_instant);
	tcase_add_test(tc, several_in_order_and_cancel);
	tcase_add_test(tc, refused_and_kept);
	tcase_add_test(tc, out_of_order_refused);
	tcase_add_test(tc, follower_applies_schedule_and_cancel);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(schedule_suite());
	srunner_run_all(sr, CK_NORMAL);
	int nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
