/* Unit tests: the feed — a chained, signed record of every committed
 * version (src/lib/store/feed.c, the put_feed step of write.c).
 *
 * Signatures here come from a stand-in signer (the hex SHA-256 of a key
 * name and the message): what is tested is that the store signs the
 * exact canonical bytes, keeps the signature with the record and hands
 * both to the verifier; the real algorithms are tested with sign.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <lmdb.h>

#include "qingdan/buf.h"
#include "qingdan/err.h"
#include "qingdan/jcs.h"
#include "qingdan/listdoc.h"
#include "qingdan/problems.h"
#include "qingdan/sha256.h"
#include "qingdan/store.h"

#include "fixture.h"
#include "rawdb.h"

#define NOW 1795000000
#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"

static void root_setup(void)
{
	fx_root_setup("feed");
}

static void root_teardown(void)
{
	fx_root_teardown();
}

static qd_listdoc *mkdoc(const char *list, int n)
{
	char entries[512] = "";
	size_t len = 0;
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(entries + len, sizeof entries - len,
					"%s{'id':'E%d','code':'38221%d','name':{'zh':'物品 %d'},'clauses':['C-1']}",
					i ? "," : "", i, i, i);
	return fx_mkdoc(list,
			"{'list':'%s','kind':'positive','title':{'zh':'测试清单'},"
			"'clauses':[{'id':'C-1','document':'署综函〔2022〕143号','article':'一（一）',"
			"'text':'对列入正面清单的科研物资，免于提交进口药品通关单。'}],'entries':[%s]}",
			list, entries);
}

static void put(qd_store *st, const char *list, int n, const char *action, int64_t now,
		qd_put_result *res)
{
	qd_listdoc *doc = mkdoc(list, n);
	qd_put_opts o = fx_put_opts("管理员甲", action, "unit", now);
	fx_put_doc_ok(st, doc, &o, res);
	qd_listdoc_free(doc);
}

static qd_feed_page page(qd_store *st, uint64_t after, size_t limit)
{
	qd_feed_page p;
	int rc = qd_store_feed_page(st, after, limit, &p);
	ck_assert_msg(rc == 0, "qd_store_feed_page: %s", qd_strerror(rc));
	return p;
}

/* ---- the stand-in signer and verifier ---- */

static char k1_name[] = "k1", k2_name[] = "k2";

static int fake_sign(void *ctx, const void *msg, size_t len, qd_buf *out)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_puts(&b, ctx);
	qd_buf_putc(&b, '|');
	qd_buf_add(&b, msg, len);
	char h[QD_SHA256_HEX];
	qd_sha256_hex(b.data, b.len, h);
	qd_buf_free(&b);
	qd_buf_puts(out, h);
	return 0;
}

static int fake_verify(void *ctx, const char *alg, const char *kid, const void *msg, size_t len,
		       const char *sig, size_t sig_len)
{
	(void)ctx;
	if (strcmp(alg, "test") != 0 || strcmp(kid, "k1") != 0)
		return QD_ENOENT;
	qd_buf want;
	qd_buf_init(&want);
	fake_sign(k1_name, msg, len, &want);
	int ok = want.len == sig_len && memcmp(want.data, sig, sig_len) == 0;
	qd_buf_free(&want);
	return ok ? 0 : QD_EINVAL;
}

static const qd_feed_signer k1 = {.sign = fake_sign, .ctx = k1_name, .alg = "test", .kid = "k1"};

/* Verify st; returns the summary, fails unless clean. */
static qd_feed_summary verify_clean(qd_store *st)
{
	qd_problems pr;
	qd_problems_init(&pr);
	qd_feed_summary sum;
	int rc = qd_store_feed_verify(st, fake_verify, NULL, &sum, &pr);
	ck_assert_msg(rc == 0, "feed verify: %d, first problem %s: %s", rc,
		      pr.count ? pr.items[0].path : "-", pr.count ? pr.items[0].message : "-");
	qd_problems_free(&pr);
	return sum;
}

/* Verify st and expect a problem at path (and only at paths in allowed). */
static void verify_finds(qd_store *st, const char *path, const char *const *allowed)
{
	qd_problems pr;
	qd_problems_init(&pr);
	qd_feed_summary sum;
	ck_assert_int_eq(qd_store_feed_verify(st, fake_verify, NULL, &sum, &pr), QD_EINVAL);
	bool found = false;
	for (size_t i = 0; i < pr.count; i++) {
		if (strcmp(pr.items[i].path, path) == 0)
			found = true;
		bool ok = strcmp(pr.items[i].path, path) == 0;
		for (size_t k = 0; allowed && allowed[k]; k++)
			ok = ok || strcmp(pr.items[i].path, allowed[k]) == 0;
		ck_assert_msg(ok, "unexpected problem at %s: %s", pr.items[i].path, pr.items[i].message);
	}
	ck_assert_msg(found, "no problem at %s", path);
	qd_problems_free(&pr);
}

/* ---- tests ---- */

START_TEST(every_version_chained)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	uint64_t head;
	char hash[QD_FEED_HASH_HEX];
	ck_assert_int_eq(qd_store_feed_head(st, &head, hash), 0);
	ck_assert_uint_eq(head, 0);
	ck_assert_str_eq(hash, ZEROS);
	ck_assert_uint_eq(verify_clean(st).records, 0); /* an empty feed verifies */

	qd_put_result r1, r2, r3, r4;
	put(st, "fa", 2, "load", NOW, &r1);
	put(st, "fb", 1, "import", NOW + 60, &r2);
	put(st, "fa", 3, "load", NOW + 120, &r3);
	put(st, "fa", 2, "rollback", NOW + 180, &r4);

	qd_feed_page p = page(st, 0, 100);
	ck_assert_uint_eq(p.n, 4);
	ck_assert_uint_eq(p.head, 4);
	const qd_put_result *res[] = {&r1, &r2, &r3, &r4};
	const char *lists[] = {"fa", "fb", "fa", "fa"}, *actions[] = {"load", "import", "load", "rollback"};
	const char *times[] = {"2026-11-18T11:06:40Z", "2026-11-18T11:07:40Z", "2026-11-18T11:08:40Z",
			       "2026-11-18T11:09:40Z"};
	char prev[QD_FEED_HASH_HEX] = ZEROS;
	for (size_t i = 0; i < 4; i++) {
		qd_feed_rec *r = &p.recs[i];
		ck_assert_uint_eq(r->seq, i + 1);
		ck_assert_str_eq(r->list, lists[i]);
		ck_assert_uint_eq(r->version, res[i]->version);
		ck_assert_ptr_null(r->sig);
		/* Anyone can recompute the hash from the bytes, and the bytes
		 * from the members. */
		char h[QD_SHA256_HEX];
		qd_sha256_hex(r->json, r->json_len, h);
		ck_assert_str_eq(h, r->hash);
		json_t *o = json_loads(r->json, 0, NULL);
		ck_assert_ptr_nonnull(o);
		ck_assert_uint_eq(json_object_size(o), 10);
		ck_assert_int_eq(json_integer_value(json_object_get(o, "seq")), (json_int_t)(i + 1));
		ck_assert_str_eq(json_string_value(json_object_get(o, "action")), actions[i]);
		ck_assert_str_eq(json_string_value(json_object_get(o, "sha256")), res[i]->sha256);
		ck_assert_int_eq(json_integer_value(json_object_get(o, "entries")), (json_int_t)res[i]->entries);
		ck_assert_str_eq(json_string_value(json_object_get(o, "committed_at")), times[i]);
		ck_assert_str_eq(json_string_value(json_object_get(o, "effective_at")), times[i]);
		ck_assert_str_eq(json_string_value(json_object_get(o, "actor")), "管理员甲");
		ck_assert_str_eq(json_string_value(json_object_get(o, "prev")), prev);
		qd_buf c;
		qd_buf_init(&c);
		ck_assert_int_eq(qd_jcs_dump(o, &c), 0);
		ck_assert_str_eq(qd_buf_cstr(&c), r->json);
		qd_buf_free(&c);
		json_decref(o);
		memcpy(prev, r->hash, sizeof prev);
	}
	ck_assert_int_eq(qd_store_feed_head(st, &head, hash), 0);
	ck_assert_uint_eq(head, 4);
	ck_assert_str_eq(hash, prev);

	/* The feed as it is served: the canonical members and sig. */
	qd_buf b;
	qd_buf_init(&b);
	qd_feed_rec_json(&b, &p.recs[0]);
	json_t *shown = json_loads(qd_buf_cstr(&b), 0, NULL);
	ck_assert_ptr_nonnull(shown);
	ck_assert(json_is_null(json_object_get(shown, "sig")));
	ck_assert_uint_eq(json_object_size(shown), 11);
	json_decref(shown);
	qd_buf_free(&b);
	qd_feed_page_free(&p);

	/* Paging: after and limit; past the head, nothing but the head. */
	p = page(st, 1, 2);
	ck_assert_uint_eq(p.n, 2);
	ck_assert_uint_eq(p.recs[0].seq, 2);
	ck_assert_uint_eq(p.recs[1].seq, 3);
	qd_feed_page_free(&p);
	p = page(st, 4, 10);
	ck_assert_uint_eq(p.n, 0);
	ck_assert_uint_eq(p.head, 4);
	qd_feed_page_free(&p);

	qd_feed_rec one;
	ck_assert_int_eq(qd_store_feed_get(st, 3, &one), 0);
	ck_assert_uint_eq(one.version, 2);
	qd_feed_rec_free(&one);
	ck_assert_int_eq(qd_store_feed_get(st, 5, &one), QD_ENOENT);

	qd_feed_summary sum = verify_clean(st);
	ck_assert_uint_eq(sum.records, 4);
	ck_assert_uint_eq(sum.unsigned_records, 4);
	ck_assert_uint_eq(sum.signed_valid, 0);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

START_TEST(nothing_without_a_commit)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	put(st, "fn", 1, "load", NOW, NULL);
	/* A dry run and a refused precondition commit nothing. */
	qd_listdoc *doc = mkdoc("fn", 2);
	qd_put_opts o = fx_put_opts("t", "load", "unit", NOW + 1);
	o.dry_run = true;
	qd_put_result res;
	qd_problems pr;
	qd_problems_init(&pr);
	ck_assert_int_eq(qd_store_put(st, doc, &o, &res, &pr), 0);
	o.dry_run = false;
	o.if_match = 7;
	ck_assert_int_eq(qd_store_put(st, doc, &o, &res, &pr), QD_ECONFLICT);
	qd_problems_free(&pr);
	qd_listdoc_free(doc);
	uint64_t head;
	ck_assert_int_eq(qd_store_feed_head(st, &head, NULL), 0);
	ck_assert_uint_eq(head, 1);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

START_TEST(records_signed)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	put(st, "fs", 1, "load", NOW, NULL);
	qd_store_set_signer(st, &k1);
	put(st, "fs", 2, "load", NOW + 1, NULL);
	qd_feed_page p = page(st, 0, 10);
	ck_assert_uint_eq(p.n, 2);
	ck_assert_ptr_null(p.recs[0].sig);
	ck_assert_ptr_nonnull(p.recs[1].sig);
	json_t *s = json_loads(p.recs[1].sig, 0, NULL);
	qd_buf want;
	qd_buf_init(&want);
	fake_sign(k1_name, p.recs[1].json, p.recs[1].json_len, &want);
	ck_assert_str_eq(json_string_value(json_object_get(s, "alg")), "test");
	ck_assert_str_eq(json_string_value(json_object_get(s, "kid")), "k1");
	ck_assert_str_eq(json_string_value(json_object_get(s, "value")), qd_buf_cstr(&want));
	qd_buf_free(&want);
	json_decref(s);
	qd_feed_page_free(&p);

	qd_feed_summary sum = verify_clean(st);
	ck_assert_uint_eq(sum.records, 2);
	ck_assert_uint_eq(sum.signed_valid, 1);
	ck_assert_uint_eq(sum.unsigned_records, 1);

	/* A key the verifier does not know is counted, not failed. */
	static const qd_feed_signer k2 = {.sign = fake_sign, .ctx = k2_name, .alg = "test", .kid = "k2"};
	qd_store_set_signer(st, &k2);
	put(st, "fs", 1, "load", NOW + 2, NULL);
	sum = verify_clean(st);
	ck_assert_uint_eq(sum.unknown_kid, 1);
	/* Each signing key, with its records and those left unchecked. */
	ck_assert_uint_eq(sum.n_kids, 2);
	ck_assert_str_eq(sum.kids[0].kid, "k1");
	ck_assert_str_eq(sum.kids[0].alg, "test");
	ck_assert_uint_eq(sum.kids[0].records, 1);
	ck_assert_uint_eq(sum.kids[0].unknown, 0);
	ck_assert_uint_eq(sum.kids[0].first_seq, 2);
	ck_assert_str_eq(sum.kids[1].kid, "k2");
	ck_assert_uint_eq(sum.kids[1].records, 1);
	ck_assert_uint_eq(sum.kids[1].unknown, 1);
	ck_assert_uint_eq(sum.kids[1].first_seq, 3);
	ck_assert_uint_eq(sum.kids[1].last_seq, 3);
	ck_assert_uint_eq(sum.kids_left_out, 0);
	qd_store_set_signer(st, NULL);
	put(st, "fs", 2, "load", NOW + 3, NULL);
	sum = verify_clean(st);
	ck_assert_uint_eq(sum.unsigned_records, 2);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

static int failing_sign(void *ctx, const void *msg, size_t len, qd_buf *out)
{
	(void)ctx, (void)msg, (void)len, (void)out;
	return QD_EIO;
}

START_TEST(signing_failure_commits_nothing)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	put(st, "ff", 1, "load", NOW, NULL);
	static const qd_feed_signer bad = {.sign = failing_sign, .alg = "test", .kid = "kx"};
	qd_store_set_signer(st, &bad);
	qd_listdoc *doc = mkdoc("ff", 2);
	qd_put_opts o = fx_put_opts("t", "load", "unit", NOW + 1);
	qd_put_result res;
	qd_problems pr;
	qd_problems_init(&pr);
	ck_assert_int_eq(qd_store_put(st, doc, &o, &res, &pr), QD_EIO);
	qd_problems_free(&pr);
	qd_listdoc_free(doc);
	qd_versions vs;
	ck_assert_int_eq(qd_store_versions(st, "ff", &vs), 0);
	ck_assert_uint_eq(vs.current, 1);
	qd_versions_free(&vs);
	qd_store_set_signer(st, NULL);
	verify_clean(st);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

START_TEST(built_for_a_store_without_one)
{
	/* A store as the release before the feed left it: versions and an
	 * audit log (changes and refusals), no "feed" database. */
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_put_result r1, r2, r3;
	put(st, "fo", 1, "load", NOW, &r1);
	qd_audit_rec refused = {.time = NOW + 5, .actor = "anonymous", .action = "load", .list = "fo",
				.entries = -1, .added = -1, .removed = -1, .changed = -1,
				.status = 403, .outcome = "refused"};
	ck_assert_int_eq(qd_store_audit_append(st, &refused), 0);
	put(st, "fo", 2, "load", NOW + 10, &r2);
	put(st, "fo", 1, "rollback", NOW + 20, &r3);
	qd_feed_page before = page(st, 0, 10);
	ck_assert_uint_eq(before.n, 3);
	qd_store_close(st);
	raw r = raw_open(dir, "feed");
	ck_assert_int_eq(mdb_drop(r.txn, r.dbi, 1), 0);
	raw_commit(&r);

	/* A read-only open does not build it, and says there is none. */
	qd_store_opts ro;
	qd_store_opts_default(&ro);
	ro.read_only = true;
	st = fx_open_store(dir, &ro);
	uint64_t head = 9;
	ck_assert_int_eq(qd_store_feed_head(st, &head, NULL), 0);
	ck_assert_uint_eq(head, 0);
	qd_problems pr;
	qd_problems_init(&pr);
	qd_feed_summary sum;
	ck_assert_int_eq(qd_store_feed_verify(st, NULL, NULL, &sum, &pr), QD_EINVAL);
	ck_assert_str_eq(pr.items[0].path, "/feed");
	qd_problems_free(&pr);
	qd_store_close(st);

	/* The first read-write open builds it: the same records, unsigned
	 * even though a signer is set as soon as the store is open. */
	st = fx_open_store(dir, NULL);
	qd_store_set_signer(st, &k1);
	qd_feed_page after = page(st, 0, 10);
	ck_assert_uint_eq(after.n, 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_str_eq(after.recs[i].json, before.recs[i].json);
		ck_assert_str_eq(after.recs[i].hash, before.recs[i].hash);
		ck_assert_ptr_null(after.recs[i].sig);
	}
	qd_feed_page_free(&before);
	qd_feed_page_free(&after);
	/* New versions continue the chain, signed. */
	put(st, "fo", 3, "load", NOW + 30, NULL);
	sum = verify_clean(st);
	ck_assert_uint_eq(sum.records, 4);
	ck_assert_uint_eq(sum.signed_valid, 1);
	ck_assert_uint_eq(sum.unsigned_records, 3);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

/* Rewrite record seq of the closed store in dir with edit(). */
static void edit_record(const char *dir, uint64_t seq, void (*edit)(MDB_val *d, qd_buf *neu))
{
	raw r = raw_open(dir, "feed");
	unsigned char key[8];
	for (int i = 0; i < 8; i++)
		key[i] = (unsigned char)(seq >> (56 - 8 * i));
	MDB_val k = {8, key}, d;
	ck_assert_int_eq(mdb_get(r.txn, r.dbi, &k, &d), 0);
	qd_buf neu;
	qd_buf_init(&neu);
	edit(&d, &neu);
	if (neu.len) {
		MDB_val nd = {neu.len, neu.data};
		ck_assert_int_eq(mdb_put(r.txn, r.dbi, &k, &nd, 0), 0);
	} else {
		ck_assert_int_eq(mdb_del(r.txn, r.dbi, &k, NULL), 0);
	}
	qd_buf_free(&neu);
	raw_commit(&r);
}

/* Change the entries count "entries":2 to 9 in place (hash left stale). */
static void bump_entries(MDB_val *d, qd_buf *neu)
{
	qd_buf_add(neu, d->mv_data, d->mv_size);
	char *p = memmem(neu->data, neu->len, "\"entries\":2", 11);
	ck_assert_ptr_nonnull(p);
	p[10] = '9';
}

/* The same edit with the stored hash recomputed: only the chain shows it. */
static void bump_entries_rehash(MDB_val *d, qd_buf *neu)
{
	bump_entries(d, neu);
	size_t jl = (size_t)((unsigned char)neu->data[65]) << 24 | (size_t)((unsigned char)neu->data[66]) << 16 |
		    (size_t)((unsigned char)neu->data[67]) << 8 | (unsigned char)neu->data[68];
	char h[QD_SHA256_HEX];
	qd_sha256_hex(neu->data + 69, jl, h);
	memcpy(neu->data + 1, h, 64);
}

static void drop(MDB_val *d, qd_buf *neu)
{
	(void)d, (void)neu;
}

/* Three versions of "ft": entries 1, 2, 3. */
static char *tamper_fixture(void)
{
	char *dir = fx_fresh_dir();
	qd_store *st = fx_open_store(dir, NULL);
	qd_store_set_signer(st, &k1);
	for (int i = 1; i <= 3; i++)
		put(st, "ft", i, "load", NOW + i, NULL);
	verify_clean(st);
	qd_store_close(st);
	return dir;
}

START_TEST(tampering_found)
{
	char *dir = tamper_fixture();
	edit_record(dir, 2, bump_entries);
	qd_store *st = fx_open_store(dir, NULL);
	static const char *const only2[] = {NULL};
	verify_finds(st, "/feed/2", only2);
	qd_store_close(st);
	fx_drop_dir(dir);

	/* Rehashed: record 3's prev and record 2's signature give it away. */
	dir = tamper_fixture();
	edit_record(dir, 2, bump_entries_rehash);
	st = fx_open_store(dir, NULL);
	static const char *const and3[] = {"/feed/3", NULL};
	verify_finds(st, "/feed/2", and3);
	qd_store_close(st);
	fx_drop_dir(dir);

	/* A record removed: a gap, and a version without a record. */
	dir = tamper_fixture();
	edit_record(dir, 2, drop);
	st = fx_open_store(dir, NULL);
	static const char *const gap[] = {"/lists/ft/versions/2", NULL};
	verify_finds(st, "/feed/3", gap);
	qd_store_close(st);
	fx_drop_dir(dir);
}
END_TEST

static Suite *feed_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("feed");
	tcase_add_unchecked_fixture(tc, root_setup, root_teardown);
	tcase_add_test(tc, every_version_chained);
	tcase_add_test(tc, nothing_without_a_commit);
	tcase_add_test(tc, records_signed);
	tcase_add_test(tc, signing_failure_commits_nothing);
	tcase_add_test(tc, built_for_a_store_without_one);
	tcase_add_test(tc, tampering_found);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(feed_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
