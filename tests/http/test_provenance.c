/* qingdan — HTTP tests of provenance: the feed (GET /v1/feed, long polls,
 * GET /v1/feed/{seq}) over a daemon that loads and rolls back lists.
 *
 * Like test_lifecycle.c: each TCase starts its own daemon in an unchecked
 * fixture; its tests run in the order added against that daemon. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "harness.h"
#include "qingdan/buf.h"
#include "qingdan/jcs.h"
#include "qingdan/sha256.h"
#include "suite.h"

#define GBA "gba-research-positive"
#define WL "biomed-rd-whitelist"
#define GBA_FILE "schema/examples/gba-research-positive.json"
#define WL_FILE "schema/examples/biomed-rd-whitelist.json"
#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"

/* The hash anyone can compute of a record: sha256 of the canonical JSON
 * of the record without "sig". */
static void record_hash(json_t *rec, char out[QD_SHA256_HEX])
{
	json_t *copy = json_deep_copy(rec);
	json_object_del(copy, "sig");
	qd_buf b;
	qd_buf_init(&b);
	ck_assert_int_eq(qd_jcs_dump(copy, &b), 0);
	qd_sha256_hex(b.data, b.len, out);
	qd_buf_free(&b);
	json_decref(copy);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void start(harness_daemon *d, const char *const *extra)
{
	harness_opts o = {.tokens = true, .extra_args = extra};
	char err[512];
	ck_assert_msg(harness_start(d, &o, err, sizeof err), "cannot start qingdand: %s", err);
}

static harness_daemon d_feed, d_gone;
static void setup_feed(void)
{
	start(&d_feed, NULL);
}
static void teardown_feed(void)
{
	ht_stop_fixture(&d_feed);
}
static const char *const retain1[] = {"--retain-versions", "1", NULL};
static void setup_gone(void)
{
	start(&d_gone, retain1);
}
static void teardown_gone(void)
{
	ht_stop_fixture(&d_gone);
}

/* ------------------------------------------------------------------ */
/* TCase feed: empty, then GBA v1, WL v1, GBA v2 (rollback to 1). */

START_TEST(test_feed_empty)
{
	http_response *r = ht_get_ok("/v1/feed");
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/records")), 0);
	assert_jint(r->json, "/head", 0);
	http_response_free(r);
	r = http_get("/v1/feed/1");
	assert_error(r, 404, "not_found");
	http_response_free(r);
}
END_TEST

START_TEST(test_feed_records_chain)
{
	http_response *a = ht_put_sample(GBA, GBA_FILE, HARNESS_ADMIN_TOKEN), *b = ht_put_sample(WL, WL_FILE, HARNESS_ADMIN_TOKEN);
	assert_status(a, 201);
	assert_status(b, 201);
	http_response *rb = http_request_auth("POST", "/v1/lists/" GBA "/rollback", HARNESS_ADMIN_TOKEN, NULL,
					      "{\"version\":1}", 13);
	assert_status(rb, 200);

	http_response *r = ht_get_ok("/v1/feed");
	json_t *recs = jptr(r->json, "/records");
	ck_assert_uint_eq(json_array_size(recs), 3);
	assert_jint(r->json, "/head", 3);
	const char *lists[] = {GBA, WL, GBA}, *actions[] = {"load", "load", "rollback"};
	const char *shas[] = {jptr_str(a->json, "/sha256"), jptr_str(b->json, "/sha256"),
			      jptr_str(a->json, "/sha256")};
	long versions[] = {1, 1, 2};
	char prev[QD_SHA256_HEX] = ZEROS;
	for (size_t i = 0; i < 3; i++) {
		json_t *rec = json_array_get(recs, i);
		ck_assert_uint_eq(json_object_size(rec), 11);
		assert_jint(rec, "/seq", (long)i + 1);
		assert_jstr(rec, "/list", lists[i]);
		assert_jint(rec, "/version", versions[i]);
		assert_jstr(rec, "/action", actions[i]);
		assert_jstr(rec, "/sha256", shas[i]);
		assert_jstr(rec, "/actor", HARNESS_ADMIN_NAME);
		assert_jstr(rec, "/prev", prev);
		ck_assert(ht_is_rfc3339(jptr_str(rec, "/committed_at")));
		assert_jstr(rec, "/effective_at", jptr_str(rec, "/committed_at"));
		assert_jnull(rec, "/sig"); /* no --signing-key */
		record_hash(rec, prev);
	}
	assert_jint(json_array_get(recs, 1), "/entries", json_integer_value(jptr(b->json, "/entries")));

	/* Paging. */
	http_response *p = ht_get_ok("/v1/feed?after=1&limit=1");
	ck_assert_uint_eq(json_array_size(jptr(p->json, "/records")), 1);
	assert_jint(p->json, "/records/0/seq", 2);
	assert_jint(p->json, "/head", 3);
	http_response_free(p);
	p = ht_get_ok("/v1/feed?after=3");
	ck_assert_uint_eq(json_array_size(jptr(p->json, "/records")), 0);
	http_response_free(p);
	http_response_free(r);
	http_response_free(a);
	http_response_free(b);
	http_response_free(rb);
}
END_TEST

START_TEST(test_feed_docs)
{
	/* /v1/feed/{seq} is the canonical document of the record's version,
	 * byte for byte, and hashes to the record's sha256. */
	http_response *f = ht_get_ok("/v1/feed");
	for (long seq = 1; seq <= 3; seq++) {
		json_t *rec = json_array_get(jptr(f->json, "/records"), (size_t)seq - 1);
		http_response *doc = http_get("/v1/feed/%ld", seq);
		assert_status(doc, 200);
		char path[160];
		snprintf(path, sizeof path, "/v1/lists/%s/versions/%lld", jptr_str(rec, "/list"),
			 (long long)json_integer_value(jptr(rec, "/version")));
		http_response *ver = ht_get_ok(path);
		ck_assert_uint_eq(doc->body_len, ver->body_len);
		ck_assert(memcmp(doc->body, ver->body, doc->body_len) == 0);
		char h[QD_SHA256_HEX];
		qd_sha256_hex(doc->body, doc->body_len, h);
		assert_jstr(rec, "/sha256", h);
		http_response_free(doc);
		http_response_free(ver);
	}
	http_response_free(f);
}
END_TEST

START_TEST(test_feed_bad_parameters)
{
	static const char *const bad[] = {
		"/v1/feed?after=x", "/v1/feed?after=-1", "/v1/feed?after=01",
		"/v1/feed?after=99999999999999999", "/v1/feed?limit=0", "/v1/feed?limit=1001",
		"/v1/feed?wait=31", "/v1/feed?wait=1.5",
	};
	static const char *const named[] = {"after", "after", "after", "after", "limit", "limit", "wait", "wait"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		http_response *r = http_get("%s", bad[i]);
		assert_error(r, 400, "bad_parameter");
		assert_error_mentions(r, named[i]);
		http_response_free(r);
	}
	http_response *r = http_get("/v1/feed?since=1");
	assert_error(r, 400, "unknown_parameter");
	http_response_free(r);
	static const char *const bad_seq[] = {"/v1/feed/0", "/v1/feed/x", "/v1/feed/-1"};
	for (size_t i = 0; i < 3; i++) {
		r = http_get("%s", bad_seq[i]);
		assert_error(r, 400, "bad_parameter");
		http_response_free(r);
	}
	r = http_get("/v1/feed/4");
	assert_error(r, 404, "not_found");
	assert_error_mentions(r, "no record 4");
	http_response_free(r);
	r = http_request("POST", "/v1/feed", NULL, "{}", 2);
	assert_error(r, 405, "method_not_allowed");
	http_response_free(r);
}
END_TEST

/* A long poll in a thread: GET /v1/feed?after=3&wait=20. */
typedef struct poll_arg {
	harness_daemon *d;
	http_response *r;
	long ms;
} poll_arg;

static void *long_poll(void *p)
{
	poll_arg *a = p;
	harness_use(a->d);
	long t0 = now_ms();
	a->r = http_get("/v1/feed?after=3&wait=20");
	a->ms = now_ms() - t0;
	return NULL;
}

START_TEST(test_feed_long_poll)
{
	/* Nothing newer within the wait: an empty page once it runs out. */
	http_response *r = ht_get_ok("/v1/feed?after=3&wait=1");
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/records")), 0);
	assert_jint(r->json, "/head", 3);
	http_response_free(r);

	/* A commit wakes a parked poll with the new record (whether the
	 * poll was parked before the load or came after it, the answer is
	 * the same; parked, it must not sit out its 20 s). */
	poll_arg a = {.d = &d_feed};
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, long_poll, &a), 0);
	struct timespec ts = {0, 300 * 1000000L};
	nanosleep(&ts, NULL);
	http_response *w = ht_put_sample(WL, WL_FILE, HARNESS_ADMIN_TOKEN);
	assert_status(w, 200);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	assert_status(a.r, 200);
	ck_assert_uint_eq(json_array_size(jptr(a.r->json, "/records")), 1);
	assert_jint(a.r->json, "/records/0/seq", 4);
	assert_jstr(a.r->json, "/records/0/list", WL);
	assert_jint(a.r->json, "/records/0/version", 2);
	ck_assert_msg(a.ms < 15000, "the poll waited %ld ms for a commit", a.ms);
	http_response_free(a.r);
	http_response_free(w);
}
END_TEST

START_TEST(test_feed_parked_at_shutdown)
{
	/* A poll still parked when the daemon is told to stop is answered
	 * (or its connection closed), and the daemon exits 0. */
	harness_daemon d;
	static const char *const grace[] = {"--shutdown-grace", "30", NULL};
	start(&d, grace);
	poll_arg a = {.d = &d};
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, long_poll, &a), 0);
	struct timespec ts = {0, 500 * 1000000L};
	nanosleep(&ts, NULL);
	char err[256];
	ck_assert_msg(harness_stop(&d, err, sizeof err), "qingdand did not stop cleanly: %s", err);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_msg(a.r->status == 200 || a.r->status == 0, "parked poll answered %ld", a.r->status);
	/* Answered when the stop begins, not when its wait (20 s) ends
	 * inside the shutdown grace (30 s). */
	ck_assert_msg(a.ms < 15000, "the parked poll was held %ld ms past the stop", a.ms);
	http_response_free(a.r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TCase gone: --retain-versions 1. */

START_TEST(test_feed_doc_gone)
{
	http_response *a = ht_put_sample(GBA, GBA_FILE, HARNESS_ADMIN_TOKEN);
	assert_status(a, 201);
	http_response *b = ht_put_sample(GBA, GBA_FILE, HARNESS_ADMIN_TOKEN); /* version 2: version 1 goes */
	assert_status(b, 200);
	http_response *r = http_get("/v1/feed/1");
	assert_error(r, 410, "gone");
	assert_error_mentions(r, "no longer retained");
	http_response_free(r);
	r = http_get("/v1/feed/2");
	assert_status(r, 200);
	/* The record itself stays in the feed. */
	http_response *f = ht_get_ok("/v1/feed");
	assert_jint(f->json, "/records/0/version", 1);
	http_response_free(f);
	http_response_free(r);
	http_response_free(a);
	http_response_free(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("provenance");
	TCase *tc = ht_tcase(s, "feed", setup_feed, teardown_feed);
	tcase_add_test(tc, test_feed_empty);
	tcase_add_test(tc, test_feed_records_chain);
	tcase_add_test(tc, test_feed_docs);
	tcase_add_test(tc, test_feed_bad_parameters);
	tcase_add_test(tc, test_feed_long_poll);
	tc = ht_tcase(s, "gone", setup_gone, teardown_gone);
	tcase_add_test(tc, test_feed_doc_gone);
	tcase_add_test(tc, test_feed_parked_at_shutdown);
	return ht_run(s);
}
