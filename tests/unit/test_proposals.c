/* Unit tests: proposals (src/lib/store/proposals.c and their approval in
 * write.c).  Times are given to the store, so expiry is exact. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qingdan/err.h"
#include "qingdan/store.h"

#include "fixture.h"

#define T0 1795000000
#define TTL (14 * 86400)

#define CLAUSE "{'id':'C-1','document':'署综函〔2022〕143号','article':'一','text':'免于提交。'}"

static void root_setup(void)
{
	fx_root_setup("proposals");
}

static void root_teardown(void)
{
	fx_root_teardown();
}

static qd_listdoc *doc_of(unsigned n)
{
	qd_buf b;
	qd_buf_init(&b);
	for (unsigned i = 1; i <= n; i++)
		qd_buf_printf(&b, "%s{'id':'E-%u','code':'38%02u','name':{'zh':'物品'},'clauses':['C-1']}", i > 1 ? "," : "",
			      i, i);
	qd_listdoc *d = fx_mkdoc("four", "{'list':'four','kind':'positive','title':{'zh':'复核'},"
				 "'clauses':[" CLAUSE "],'entities':[],'entries':[%s]}", b.data);
	qd_buf_free(&b);
	return d;
}

/* Propose doc (n entries) as alice at T0 against base; returns its number. */
static uint64_t propose(qd_store *st, unsigned n, uint32_t base)
{
	qd_listdoc *d = doc_of(n);
	size_t len;
	char *text = qd_listdoc_dump(d, &len);
	qd_proposal p = {.base_version = base, .action = (char *)"load", .proposer = (char *)"alice", .comment = (char *)"新批次",
			 .created_at = T0, .expires_at = T0 + TTL, .entries = (long)n, .changes = (char *)"[]"};
	snprintf(p.list, sizeof p.list, "four");
	ck_assert_int_eq(qd_listdoc_sha256(d, p.sha256), 0);
	ck_assert_int_eq(qd_store_proposal_add(st, &p, text, len, NULL), 0);
	free(text);
	qd_listdoc_free(d);
	return p.id;
}

/* Approve proposal id as actor at now: what qd_store_put() says. */
static int approve(qd_store *st, uint64_t id, const char *actor, int64_t now)
{
	qd_proposal p;
	char *text;
	size_t len;
	ck_assert_int_eq(qd_store_proposal_get(st, id, T0, &p, &text, &len), 0);
	ck_assert_ptr_nonnull(text);
	qd_listdoc *d;
	qd_problems pr;
	qd_problems_init(&pr);
	ck_assert_int_eq(qd_listdoc_parse(text, len, "four", &d, &pr), 0);
	qd_put_opts o = fx_put_opts(actor, "approve", "test", now);
	o.proposal = id;
	o.comment = "可以";
	qd_put_result res;
	int rc = qd_store_put(st, d, &o, &res, &pr);
	qd_problems_free(&pr);
	qd_listdoc_free(d);
	free(text);
	qd_proposal_free(&p);
	return rc;
}

START_TEST(approve_by_another)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_listdoc *d = doc_of(1);
	qd_put_opts o = fx_put_opts("alice", "load", "test", T0 - 10);
	fx_put_doc_ok(st, d, &o, NULL);
	qd_listdoc_free(d);
	uint64_t id = propose(st, 3, 1);
	ck_assert_uint_eq(id, 1);

	/* The proposer cannot; another can, and only once. */
	ck_assert_int_eq(approve(st, id, "alice", T0 + 1), QD_ESAMEPERSON);
	ck_assert_int_eq(approve(st, id, "bob", T0 + 2), 0);
	qd_list_info l;
	ck_assert_int_eq(qd_store_list(st, "four", &l), 0);
	ck_assert_uint_eq(l.version, 2);
	ck_assert_uint_eq(l.entries, 3);
	free(l.title);
	qd_proposal p;
	ck_assert_int_eq(qd_store_proposal_get(st, id, T0 + 3, &p, NULL, NULL), 0);
	ck_assert_int_eq(p.state, QD_PROPOSAL_APPROVED);
	ck_assert_str_eq(p.decided_by, "bob");
	ck_assert_str_eq(p.decision_comment, "可以");
	ck_assert_uint_eq(p.version, 2);
	qd_proposal_free(&p);
	qd_listdoc *d2 = doc_of(3);
	qd_put_opts o2 = fx_put_opts("carol", "approve", "test", T0 + 4);
	o2.proposal = id;
	qd_put_result res;
	qd_problems pr;
	qd_problems_init(&pr);
	ck_assert_int_eq(qd_store_put(st, d2, &o2, &res, &pr), QD_EDECIDED);
	qd_problems_free(&pr);
	qd_listdoc_free(d2);

	/* The audit names both, and the comment. */
	qd_audit_page ap;
	ck_assert_int_eq(qd_store_audit_page(st, 0, 5, &ap), 0);
	ck_assert_str_eq(ap.recs[0].action, "approve");
	ck_assert_str_eq(ap.recs[0].actor, "bob");
	ck_assert_str_eq(ap.recs[0].proposer, "alice");
	ck_assert_str_eq(ap.recs[0].comment, "可以");
	ck_assert_uint_eq(ap.recs[0].proposal, id);
	ck_assert_str_eq(ap.recs[1].action, "propose");
	ck_assert_str_eq(ap.recs[1].comment, "新批次");
	qd_audit_page_free(&ap);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

START_TEST(stale_expired_rejected)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_listdoc *d = doc_of(1);
	qd_put_opts o = fx_put_opts("alice", "load", "test", T0 - 10);
	fx_put_doc_ok(st, d, &o, NULL);
	uint64_t stale = propose(st, 2, 1), late = propose(st, 4, 1), no = propose(st, 5, 1);
	ck_assert_uint_eq(no, 3);

	/* The list moves on: the first is stale (412), and stays pending. */
	o.now = T0 + 5;
	fx_put_doc_ok(st, d, &o, NULL);
	qd_listdoc_free(d);
	ck_assert_int_eq(approve(st, stale, "bob", T0 + 6), QD_ECONFLICT);
	qd_proposal p;
	ck_assert_int_eq(qd_store_proposal_get(st, stale, T0 + 6, &p, NULL, NULL), 0);
	ck_assert_int_eq(p.state, QD_PROPOSAL_PENDING);
	qd_proposal_free(&p);

	/* Rejected by another, not by its proposer; then closed. */
	ck_assert_int_eq(qd_store_proposal_reject(st, no, "alice", NULL, NULL, T0 + 7, NULL), QD_ESAMEPERSON);
	ck_assert_int_eq(qd_store_proposal_reject(st, no, "bob", "不符合", NULL, T0 + 7, NULL), 0);
	ck_assert_int_eq(qd_store_proposal_reject(st, no, "bob", NULL, NULL, T0 + 8, NULL), QD_EDECIDED);
	ck_assert_int_eq(qd_store_proposal_get(st, no, T0 + 8, &p, NULL, NULL), 0);
	ck_assert_int_eq(p.state, QD_PROPOSAL_REJECTED);
	qd_proposal_free(&p);

	/* Expiry at exactly created_at + TTL. */
	ck_assert_int_eq(qd_store_proposal_get(st, late, T0 + TTL - 1, &p, NULL, NULL), 0);
	ck_assert_int_eq(p.state, QD_PROPOSAL_PENDING);
	qd_proposal_free(&p);
	ck_assert_int_eq(qd_store_proposal_get(st, late, T0 + TTL, &p, NULL, NULL), 0);
	ck_assert_int_eq(p.state, QD_PROPOSAL_EXPIRED);
	qd_proposal_free(&p);
	ck_assert_int_eq(qd_store_proposal_reject(st, late, "bob", NULL, NULL, T0 + TTL, NULL), QD_EEXPIRED);
	ck_assert_int_eq(approve(st, late, "bob", T0 + TTL), QD_EEXPIRED);
	ck_assert_int_eq(qd_store_proposal_get(st, 99, T0, &p, NULL, NULL), QD_ENOPROPOSAL);

	/* Listing by state, newest first. */
	qd_proposal *v;
	size_t n;
	ck_assert_int_eq(qd_store_proposals(st, T0 + TTL, -1, 100, &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(v[0].id, 3);
	qd_proposals_free(v, n);
	ck_assert_int_eq(qd_store_proposals(st, T0 + TTL, QD_PROPOSAL_EXPIRED, 100, &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	qd_proposals_free(v, n);
	qd_store_close(st);

	/* Reopened: all still there. */
	st = fx_open_store(dir, NULL);
	ck_assert_int_eq(qd_store_proposals(st, T0, QD_PROPOSAL_PENDING, 100, &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	qd_proposals_free(v, n);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

static Suite *proposals_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("proposals");
	tcase_add_unchecked_fixture(tc, root_setup, root_teardown);
	tcase_add_test(tc, approve_by_another);
	tcase_add_test(tc, stale_expired_rejected);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(proposals_suite());
	srunner_run_all(sr, CK_NORMAL);
	int nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
