/* qingdan — HTTP tests: qingdand run as a child process, driven with
 * libcurl, checked against the HTTP contract in DESIGN.md.
 *
 * Every TCase starts its own daemon (fresh store) in an unchecked fixture,
 * i.e. in the test runner's process: Check forks each test, and the
 * daemon must outlive them.  Tests of one TCase run in the order added and
 * share that daemon; the ones that change stored data say so. */
#include <check.h>
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "harness.h"
#include "suite.h"
#include "qingdan/sha256.h"

#define GACC_DOC "署综函〔2022〕143号"

/* ------------------------------------------------------------------ */
/* helpers */

static size_t sample_entry_count(const char *file)
{
	json_t *j = ht_sample_json(file);
	size_t n = json_array_size(json_object_get(j, "entries"));
	json_decref(j);
	return n;
}

static http_response *put_json(const char *id, const char *query, const char *extra_header, const json_t *doc)
{
	size_t len;
	char *s = json_compact(doc, &len);
	http_response *r = ht_put_list(id, query, HARNESS_ADMIN_TOKEN, extra_header, s, len);
	free(s);
	return r;
}

static http_response *put_sample(const char *id, const char *file)
{
	size_t len;
	char *s = ht_sample_text(file, &len);
	http_response *r = ht_put_list(id, NULL, HARNESS_ADMIN_TOKEN, NULL, s, len);
	free(s);
	return r;
}

static http_response *post_check(const char *body)
{
	return http_request("POST", "/v1/check", NULL, body, strlen(body));
}

static http_response *post_check_json(json_t *body)
{
	size_t len;
	char *s = json_compact(body, &len);
	http_response *r = http_request("POST", "/v1/check", NULL, s, len);
	free(s);
	return r;
}

/* The list's metadata (GET /v1/lists/{id}), asserted 200. */
static http_response *list_meta(const char *id)
{
	http_response *r = http_get("/v1/lists/%s", id);
	assert_status(r, 200);
	return r;
}

/* Does any results[*].near_misses hold {entry: {id}, reason}?  Also checks
 * that every near miss is exactly {entry, reason}. */
static bool has_near_miss(json_t *lookup, const char *entry_id, const char *reason)
{
	bool found = false;
	size_t i, j;
	json_t *res, *nm;
	json_array_foreach(json_object_get(lookup, "results"), i, res) {
		json_array_foreach(json_object_get(res, "near_misses"), j, nm) {
			ck_assert_msg(json_is_object(nm) && json_object_size(nm) == 2 &&
					      json_is_object(json_object_get(nm, "entry")) &&
					      json_is_string(json_object_get(nm, "reason")),
				      "a near miss is not {\"entry\": {…}, \"reason\": \"…\"}");
			if (strcmp(jptr_str(nm, "/entry/id"), entry_id) == 0 &&
			    strcmp(jptr_str(nm, "/reason"), reason) == 0)
				found = true;
		}
	}
	return found;
}

/* The clause object with that id in a sample document. */
static json_t *sample_clause(json_t *doc, const char *id)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "clauses"), i, c)
		if (strcmp(json_string_value(json_object_get(c, "id")), id) == 0)
			return c;
	return NULL;
}

/* "YYYY-MM-DD" of now at UTC+08:00. */
static void china_today(char out[11])
{
	time_t t = time(NULL) + 8 * 3600;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* ------------------------------------------------------------------ */
/* fixtures: one daemon per TCase */

static char sha_gba[65], sha_wl[65];

static void start_fixture(harness_daemon *d, bool tokens, bool read_auth, const char *const *extra, bool preload)
{
	harness_opts o = {.tokens = tokens, .read_auth = read_auth, .extra_args = extra};
	char err[512];
	ck_assert_msg(harness_start(d, &o, err, sizeof err), "cannot start qingdand: %s", err);
	if (!preload)
		return;
	http_response *a = put_sample(GBA, GBA_FILE), *b = put_sample(WL, WL_FILE);
	if (a->status != 201 || b->status != 201) {
		/* A failed unchecked setup skips the teardown: stop here. */
		fprintf(stderr, "preloading the samples: HTTP %ld / %ld\n%s\n%s\n", a->status, b->status, a->body,
			b->body);
		harness_stop(d, err, sizeof err);
	}
	assert_status(a, 201);
	assert_status(b, 201);
	snprintf(sha_gba, sizeof sha_gba, "%s", jptr_str(a->json, "/sha256"));
	snprintf(sha_wl, sizeof sha_wl, "%s", jptr_str(b->json, "/sha256"));
	http_response_free(a);
	http_response_free(b);
}

#define FIXTURE(name, tokens, read_auth, extra, preload)                                \
	static harness_daemon d_##name;                                                 \
	static void setup_##name(void)                                                  \
	{                                                                               \
		start_fixture(&d_##name, tokens, read_auth, extra, preload);            \
	}                                                                               \
	static void teardown_##name(void)                                               \
	{                                                                               \
		ht_stop_fixture(&d_##name);                                                \
	}

static const char *const small_map[] = {"--map-size", "1M", NULL};

FIXTURE(load, true, false, NULL, false)
FIXTURE(reject, true, false, NULL, true)
FIXTURE(auth, true, false, NULL, true)
FIXTURE(noadmin, false, false, NULL, false)
FIXTURE(readauth, true, true, NULL, true)
FIXTURE(errors, true, false, NULL, true)
FIXTURE(lookup, true, false, NULL, true)
FIXTURE(check, true, false, NULL, true)
FIXTURE(lists, true, false, NULL, true)
FIXTURE(storage, true, false, small_map, false)

/* ------------------------------------------------------------------ */
/* TCase load: health, readiness, loading, versions, dry run, If-Match.
 * Order matters: the store starts empty. */

START_TEST(test_healthz)
{
	http_response *r = http_get("/healthz");
	assert_status(r, 200);
	assert_json_ct(r);
	assert_jstr(r->json, "/status", "ok");
	http_response_free(r);
}
END_TEST

START_TEST(test_readyz_not_ready)
{
	http_response *r = http_get("/readyz");
	assert_error(r, 503, "not_ready");
	http_response_free(r);
}
END_TEST

static void check_put_reply(http_response *r, const char *id, long version, long previous, size_t entries,
			    size_t added, size_t removed, size_t changed)
{
	assert_json_ct(r);
	assert_jstr(r->json, "/list", id);
	assert_jint(r->json, "/version", version);
	if (previous)
		assert_jint(r->json, "/previous", previous);
	else
		assert_jnull(r->json, "/previous");
	assert_jint(r->json, "/entries", entries);
	ck_assert_msg(json_is_object(jptr(r->json, "/diff")), "no diff object");
	assert_jint(r->json, "/diff/added", added);
	assert_jint(r->json, "/diff/removed", removed);
	assert_jint(r->json, "/diff/changed", changed);
	ck_assert_msg(ht_is_hex64(jptr_str(r->json, "/sha256")), "sha256 is not 64 lowercase hex digits");
}

START_TEST(test_put_new_lists)
{
	size_t ngba = sample_entry_count(GBA_FILE), nwl = sample_entry_count(WL_FILE);
	http_response *r = put_sample(GBA, GBA_FILE);
	assert_status(r, 201);
	check_put_reply(r, GBA, 1, 0, ngba, ngba, 0, 0);
	ck_assert_ptr_null(jptr(r->json, "/dry_run"));
	http_response_free(r);

	r = put_sample(WL, WL_FILE);
	assert_status(r, 201);
	check_put_reply(r, WL, 1, 0, nwl, nwl, 0, 0);
	char sha[65];
	snprintf(sha, sizeof sha, "%s", jptr_str(r->json, "/sha256"));
	http_response_free(r);

	r = list_meta(WL);
	assert_jint(r->json, "/version", 1);
	assert_jstr(r->json, "/sha256", sha);
	http_response_free(r);
}
END_TEST

START_TEST(test_readyz_ready)
{
	http_response *r = http_get("/readyz");
	assert_status(r, 200);
	assert_json_ct(r);
	http_response_free(r);
}
END_TEST

START_TEST(test_put_same_again)
{
	size_t ngba = sample_entry_count(GBA_FILE);
	http_response *m = list_meta(GBA);
	assert_jint(m->json, "/version", 1);
	char sha[65];
	snprintf(sha, sizeof sha, "%s", jptr_str(m->json, "/sha256"));
	http_response_free(m);

	http_response *r = put_sample(GBA, GBA_FILE);
	assert_status(r, 200);
	check_put_reply(r, GBA, 2, 1, ngba, 0, 0, 0);
	/* The same document has the same canonical hash. */
	assert_jstr(r->json, "/sha256", sha);
	http_response_free(r);

	m = list_meta(GBA);
	assert_jint(m->json, "/version", 2);
	ck_assert_str_eq(http_header(m, "ETag"), "\"2\"");
	http_response_free(m);
}
END_TEST

START_TEST(test_put_dry_run)
{
	size_t ngba = sample_entry_count(GBA_FILE);
	http_response *m = list_meta(GBA);
	json_int_t v = json_integer_value(jptr(m->json, "/version"));
	char sha[65];
	snprintf(sha, sizeof sha, "%s", jptr_str(m->json, "/sha256"));
	http_response_free(m);

	/* Drop the last entry and rename the first: removed 1, changed 1. */
	json_t *doc = ht_sample_json(GBA_FILE);
	json_t *entries = json_object_get(doc, "entries");
	json_array_remove(entries, json_array_size(entries) - 1);
	json_object_set_new(json_object_get(json_array_get(entries, 0), "name"), "zh", json_string("改名的试剂"));

	http_response *r = put_json(GBA, "dry_run=true", NULL, doc);
	assert_status(r, 200);
	check_put_reply(r, GBA, v + 1, v, ngba - 1, 0, 1, 1);
	assert_jtrue(r->json, "/dry_run");
	http_response_free(r);

	/* Nothing was stored. */
	m = list_meta(GBA);
	assert_jint(m->json, "/version", v);
	assert_jstr(m->json, "/sha256", sha);
	assert_jint(m->json, "/entries", ngba);
	http_response_free(m);

	/* dry_run=false stores. */
	r = put_json(GBA, "dry_run=false", NULL, doc);
	assert_status(r, 200);
	check_put_reply(r, GBA, v + 1, v, ngba - 1, 0, 1, 1);
	ck_assert_ptr_null(jptr(r->json, "/dry_run"));
	http_response_free(r);

	/* Put the sample back (one entry added, one changed). */
	r = put_sample(GBA, GBA_FILE);
	assert_status(r, 200);
	check_put_reply(r, GBA, v + 2, v + 1, ngba, 1, 0, 1);
	assert_jstr(r->json, "/sha256", sha);
	http_response_free(r);

	/* A dry run of a new list: 200 (not 201), version 1, and still no list. */
	json_object_set_new(doc, "list", json_string("dry-new"));
	r = put_json("dry-new", "dry_run=1", NULL, doc);
	assert_status(r, 200);
	check_put_reply(r, "dry-new", 1, 0, ngba - 1, ngba - 1, 0, 0);
	assert_jtrue(r->json, "/dry_run");
	http_response_free(r);
	r = http_get("/v1/lists/dry-new");
	assert_error(r, 404, "list_not_found");
	http_response_free(r);

	/* A bad dry_run value is a 400 that names it. */
	r = put_json("dry-new", "dry_run=maybe", NULL, doc);
	assert_error(r, 400, "bad_parameter");
	assert_error_mentions(r, "dry_run");
	http_response_free(r);
	json_decref(doc);
}
END_TEST

START_TEST(test_put_if_match)
{
	http_response *m = list_meta(GBA);
	json_int_t v = json_integer_value(jptr(m->json, "/version"));
	ck_assert_int_ge(v, 2);
	char sha[65], loaded[40];
	snprintf(sha, sizeof sha, "%s", jptr_str(m->json, "/sha256"));
	snprintf(loaded, sizeof loaded, "%s", jptr_str(m->json, "/loaded_at"));
	http_response_free(m);

	size_t len;
	char *doc = ht_sample_text(GBA_FILE, &len);
	char h[64];

	/* Stale version: 412, nothing changes. */
	snprintf(h, sizeof h, "If-Match: \"%lld\"", (long long)(v - 1));
	http_response *r = ht_put_list(GBA, NULL, HARNESS_ADMIN_TOKEN, h, doc, len);
	assert_error(r, 412, "precondition_failed");
	http_response_free(r);
	/* A version that does not exist yet: 412 too. */
	snprintf(h, sizeof h, "If-Match: \"%lld\"", (long long)(v + 1));
	r = ht_put_list(GBA, NULL, HARNESS_ADMIN_TOKEN, h, doc, len);
	assert_error(r, 412, "precondition_failed");
	http_response_free(r);
	m = list_meta(GBA);
	assert_jint(m->json, "/version", v);
	assert_jstr(m->json, "/sha256", sha);
	assert_jstr(m->json, "/loaded_at", loaded);
	http_response_free(m);

	/* Malformed If-Match: 400. */
	const char *bad[] = {"If-Match: garbage", "If-Match: \"\"", "If-Match: \"-1\"", "If-Match: \"1x\"",
			     "If-Match: \"0\""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		r = ht_put_list(GBA, NULL, HARNESS_ADMIN_TOKEN, bad[i], doc, len);
		assert_error(r, 400, "bad_header");
		assert_error_mentions(r, "If-Match");
		http_response_free(r);
	}
	m = list_meta(GBA);
	assert_jint(m->json, "/version", v);
	http_response_free(m);

	/* The current version: stored. */
	snprintf(h, sizeof h, "If-Match: \"%lld\"", (long long)v);
	r = ht_put_list(GBA, NULL, HARNESS_ADMIN_TOKEN, h, doc, len);
	assert_status(r, 200);
	assert_jint(r->json, "/version", v + 1);
	assert_jint(r->json, "/previous", v);
	http_response_free(r);

	m = list_meta(GBA);
	assert_jint(m->json, "/version", v + 1);
	char etag[32];
	snprintf(etag, sizeof etag, "\"%lld\"", (long long)(v + 1));
	ck_assert_str_eq(http_header(m, "ETag"), etag);
	http_response_free(m);
	free(doc);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TCase reject: documents that must change nothing. */

typedef struct snapshot {
	json_t *meta_gba, *meta_wl;
	json_t *lookup;
	char *entries;
} snapshot;

static snapshot take_snapshot(void)
{
	snapshot s;
	http_response *r = list_meta(GBA);
	s.meta_gba = json_incref(r->json);
	http_response_free(r);
	r = list_meta(WL);
	s.meta_wl = json_incref(r->json);
	http_response_free(r);
	r = http_get("/v1/lookup?code=3822190090&entity=" ENT "&date=" DAY);
	assert_status(r, 200);
	s.lookup = json_incref(r->json);
	json_object_del(s.lookup, "decision_id");
	http_response_free(r);
	r = http_get("/v1/lists/" GBA "/entries?limit=1000");
	assert_status(r, 200);
	s.entries = strdup(r->body);
	http_response_free(r);
	return s;
}

/* Asserts the store answers exactly as when s was taken. */
static void assert_unchanged(snapshot *s)
{
	snapshot now = take_snapshot();
	char *a = json_compact(s->meta_gba, NULL), *b = json_compact(now.meta_gba, NULL);
	ck_assert_msg(json_equal(s->meta_gba, now.meta_gba), "list metadata changed:\n%s\n%s", a, b);
	free(a);
	free(b);
	ck_assert_msg(json_equal(s->meta_wl, now.meta_wl), "whitelist metadata changed");
	ck_assert_msg(json_equal(s->lookup, now.lookup), "a lookup answers differently");
	ck_assert_msg(strcmp(s->entries, now.entries) == 0, "the entries changed");
	json_decref(now.meta_gba);
	json_decref(now.meta_wl);
	json_decref(now.lookup);
	free(now.entries);
}

static void free_snapshot(snapshot *s)
{
	json_decref(s->meta_gba);
	json_decref(s->meta_wl);
	json_decref(s->lookup);
	free(s->entries);
}

static bool details_have_path(json_t *err_json, const char *path)
{
	size_t i;
	json_t *d;
	json_array_foreach(jptr(err_json, "/error/details"), i, d) {
		const char *p = jptr_str(d, "/path");
		if (p && strcmp(p, path) == 0)
			return true;
	}
	return false;
}

#define assert_detail_path(j, path)                                                            \
	do {                                                                                   \
		char *s_ = json_compact(jptr(j, "/error/details"), NULL);                       \
		ck_assert_msg(details_have_path(j, path), "no error detail with path %s in %s", path, s_); \
		free(s_);                                                                      \
	} while (0)

START_TEST(test_reject_many_violations)
{
	snapshot s = take_snapshot();
	json_t *doc = ht_sample_json(GBA_FILE);
	json_object_set_new(jptr(doc, "/entries/0"), "code", json_string("38AB"));   /* bad code */
	json_object_set_new(jptr(doc, "/entries/1"), "colour", json_string("red"));  /* unknown key */
	json_array_set_new(jptr(doc, "/entries/2/clauses"), 0, json_string("NO-SUCH-CLAUSE"));
	json_object_set_new(jptr(doc, "/entries/3"), "status", json_string("paused")); /* bad enum */
	json_object_set_new(jptr(doc, "/entries/4"), "valid_from", json_string("2023-02-29"));
	json_object_set_new(doc, "bogus", json_true());                               /* unknown top key */

	http_response *r = put_json(GBA, NULL, NULL, doc);
	assert_error(r, 422, "invalid_document");
	assert_detail_path(r->json, "/entries/0/code");
	assert_detail_path(r->json, "/entries/1/colour");
	assert_detail_path(r->json, "/entries/2/clauses/0");
	assert_detail_path(r->json, "/entries/3/status");
	assert_detail_path(r->json, "/entries/4/valid_from");
	assert_detail_path(r->json, "/bogus");
	ck_assert_uint_ge(json_array_size(jptr(r->json, "/error/details")), 6);
	http_response_free(r);
	assert_unchanged(&s);

	/* The same with If-Match and dry_run: still 422, still nothing. */
	r = put_json(GBA, "dry_run=true", NULL, doc);
	assert_error(r, 422, "invalid_document");
	http_response_free(r);
	assert_unchanged(&s);

	/* The store itself agrees (qingdanctl reads it while the daemon runs). */
	char *out = NULL;
	const char *args[] = {"--db", harness_current()->db, "lists", NULL};
	int rc = harness_run_ctl(args, &out);
	ck_assert_msg(rc == 0, "qingdanctl lists exited %d", rc);
	ck_assert_msg(strstr(out, GBA) && strstr(out, " v1 "), "qingdanctl lists: %s", out);
	free(out);
	free_snapshot(&s);
	json_decref(doc);
}
END_TEST

START_TEST(test_reject_bad_json)
{
	snapshot s = take_snapshot();
	const char *bodies[] = {
		"{not json",
		"",
		"{\"list\": \"" GBA "\", \"kind\": \"positive\"",
		"{\"list\": \"\xff\xfe\"}", /* not UTF-8 */
		"{} trailing",
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		http_response *r = ht_put_list(GBA, NULL, HARNESS_ADMIN_TOKEN, NULL, bodies[i], strlen(bodies[i]));
		assert_error(r, 400, "bad_json");
		http_response_free(r);
	}
	/* JSON that RFC 8259 lets a parser accept but no value here can hold
	 * exactly: bad_json, as the API documents, naming what and where. */
	const struct {
		const char *body, *says;
	} unrepresentable[] = {
		{"{\"list\": \"a\\u0000b\"}", "\\u0000"},
		{"{\"list\": \"" GBA "\", \"n\": 1e400}", "overflow"},
		{"{\"list\": \"\\ud800\"}", "unicode"},
	};
	for (size_t i = 0; i < sizeof unrepresentable / sizeof unrepresentable[0]; i++) {
		const char *b = unrepresentable[i].body;
		http_response *r = ht_put_list(GBA, NULL, HARNESS_ADMIN_TOKEN, NULL, b, strlen(b));
		assert_error(r, 400, "bad_json");
		const char *d = jptr_str(r->json, "/error/details/0/message");
		ck_assert_msg(d && strcasestr(d, unrepresentable[i].says) && strstr(d, "(line 1, column"),
			      "details[0] of %s: %s", b, r->body);
		http_response_free(r);
	}
	assert_unchanged(&s);
	free_snapshot(&s);
}
END_TEST

START_TEST(test_reject_not_a_document)
{
	snapshot s = take_snapshot();
	/* Parsed JSON that breaks loader rules: 422, not 400. */
	const char *bodies[] = {
		"[]",
		"{}",
		"{\"list\": \"" GBA "\", \"list\": \"" GBA "\"}", /* duplicate key */
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		http_response *r = ht_put_list(GBA, NULL, HARNESS_ADMIN_TOKEN, NULL, bodies[i], strlen(bodies[i]));
		assert_error(r, 422, "invalid_document");
		http_response_free(r);
	}
	/* Wrong types are loader violations too. */
	json_t *doc = ht_sample_json(GBA_FILE);
	json_object_set_new(jptr(doc, "/entries/0"), "code", json_integer(3822));
	json_object_set_new(doc, "clauses", json_string("none"));
	http_response *r = put_json(GBA, NULL, NULL, doc);
	assert_error(r, 422, "invalid_document");
	assert_detail_path(r->json, "/entries/0/code");
	assert_detail_path(r->json, "/clauses");
	http_response_free(r);
	json_decref(doc);
	assert_unchanged(&s);
	free_snapshot(&s);
}
END_TEST

/* A scalar is JSON too (RFC 8259): the loader's own rule "a list document
 * must be a JSON object" should answer it with 422, like [] above. */
START_TEST(test_reject_scalar_document)
{
	snapshot s = take_snapshot();
	const char *bodies[] = {"\"text\"", "42", "null", "true"};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		http_response *r = ht_put_list(GBA, NULL, HARNESS_ADMIN_TOKEN, NULL, bodies[i], strlen(bodies[i]));
		ck_assert_msg(r->status == 422, "PUT body %s: expected 422 invalid_document, got %ld: %s", bodies[i],
			      r->status, r->body);
		assert_error(r, 422, "invalid_document");
		http_response_free(r);
	}
	assert_unchanged(&s);
	free_snapshot(&s);
}
END_TEST

START_TEST(test_reject_id_mismatch)
{
	snapshot s = take_snapshot();
	size_t len;
	char *text = ht_sample_text(WL_FILE, &len);
	http_response *r = ht_put_list("another-list", NULL, HARNESS_ADMIN_TOKEN, NULL, text, len);
	assert_error(r, 422, "invalid_document");
	assert_detail_path(r->json, "/list");
	http_response_free(r);
	/* Nor onto the other existing list. */
	r = ht_put_list(GBA, NULL, HARNESS_ADMIN_TOKEN, NULL, text, len);
	assert_error(r, 422, "invalid_document");
	assert_detail_path(r->json, "/list");
	http_response_free(r);
	r = http_get("/v1/lists/another-list");
	assert_error(r, 404, "list_not_found");
	http_response_free(r);
	free(text);
	assert_unchanged(&s);
	free_snapshot(&s);
}
END_TEST

START_TEST(test_reject_kind_change)
{
	snapshot s = take_snapshot();
	json_t *doc = ht_sample_json(WL_FILE);
	json_object_set_new(doc, "kind", json_string("positive"));
	http_response *r = put_json(WL, NULL, NULL, doc);
	assert_error(r, 422, "invalid_document");
	assert_detail_path(r->json, "/kind");
	http_response_free(r);
	/* Even as a dry run. */
	r = put_json(WL, "dry_run=true", NULL, doc);
	assert_error(r, 422, "invalid_document");
	assert_detail_path(r->json, "/kind");
	http_response_free(r);
	json_decref(doc);
	r = list_meta(WL);
	assert_jstr(r->json, "/kind", "whitelist");
	http_response_free(r);
	assert_unchanged(&s);
	free_snapshot(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TCase auth (tokens file, reads open). */

START_TEST(test_auth_admin_put)
{
	snapshot s = take_snapshot();
	size_t len;
	char *doc = ht_sample_text(GBA_FILE, &len);

	/* No Authorization: 401 with a Bearer challenge. */
	http_response *r = ht_put_list(GBA, NULL, NULL, NULL, doc, len);
	assert_error(r, 401, "unauthorized");
	const char *wa = http_header(r, "WWW-Authenticate");
	ck_assert_msg(wa && strncmp(wa, "Bearer", 6) == 0, "WWW-Authenticate: %s", wa ? wa : "(none)");
	http_response_free(r);

	/* Unknown token, empty token, another scheme: 401. */
	const char *bad[] = {"Authorization: Bearer not-a-known-token", "Authorization: Bearer ",
			     "Authorization: Basic dGVzdDp0ZXN0", "Authorization: " HARNESS_ADMIN_TOKEN};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		r = ht_put_list(GBA, NULL, NULL, bad[i], doc, len);
		assert_error(r, 401, "unauthorized");
		wa = http_header(r, "WWW-Authenticate");
		ck_assert_msg(wa && strncmp(wa, "Bearer", 6) == 0, "WWW-Authenticate: %s", wa ? wa : "(none)");
		http_response_free(r);
	}

	/* A reader token lacks the role. */
	r = ht_put_list(GBA, NULL, HARNESS_READER_TOKEN, NULL, doc, len);
	assert_error(r, 403, "forbidden");
	http_response_free(r);

	/* Refusals are decided before the body is looked at. */
	r = ht_put_list(GBA, NULL, HARNESS_READER_TOKEN, NULL, "{not json", 9);
	assert_error(r, 403, "forbidden");
	http_response_free(r);
	r = ht_put_list(GBA, NULL, NULL, NULL, "{not json", 9);
	assert_error(r, 401, "unauthorized");
	http_response_free(r);
	assert_unchanged(&s);

	/* The admin token works ("bearer" is case-insensitive). */
	r = ht_put_list(GBA, NULL, NULL, "Authorization: bearer " HARNESS_ADMIN_TOKEN, doc, len);
	assert_status(r, 200);
	assert_jint(r->json, "/version", 2);
	http_response_free(r);
	free(doc);
	free_snapshot(&s);
}
END_TEST

START_TEST(test_auth_reads_open)
{
	/* Without --read-auth, reads need no token; a token does no harm. */
	http_response *r = http_get("/v1/lookup?code=3822190090&entity=" ENT "&date=" DAY);
	assert_status(r, 200);
	assert_jstr(r->json, "/decision", "allow");
	http_response_free(r);
	r = http_request_auth("GET", "/v1/lists", HARNESS_READER_TOKEN, NULL, NULL, 0);
	assert_status(r, 200);
	http_response_free(r);
	r = http_request_auth("GET", "/v1/lists", "unknown", NULL, NULL, 0);
	assert_status(r, 200);
	http_response_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TCase noadmin: no tokens file: admin endpoints fail closed. */

START_TEST(test_noadmin_put_forbidden)
{
	size_t len;
	char *doc = ht_sample_text(GBA_FILE, &len);
	http_response *r = ht_put_list(GBA, NULL, HARNESS_ADMIN_TOKEN, NULL, doc, len);
	assert_error(r, 403, "admin_disabled");
	http_response_free(r);
	r = ht_put_list(GBA, NULL, NULL, NULL, doc, len);
	assert_error(r, 403, "admin_disabled");
	http_response_free(r);
	free(doc);
	r = http_get("/v1/lists/" GBA);
	assert_error(r, 404, "list_not_found");
	http_response_free(r);
	r = http_get("/readyz");
	assert_error(r, 503, "not_ready");
	http_response_free(r);
}
END_TEST

START_TEST(test_noadmin_ctl_load_is_served)
{
	/* qingdanctl loads into the daemon's store while it runs; the daemon
	 * serves the new list at once. */
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", getenv("QD_SOURCE_ROOT"), GBA_FILE);
	const char *args[] = {"--db", harness_current()->db, "load", GBA, path, NULL};
	char *out = NULL;
	int rc = harness_run_ctl(args, &out);
	ck_assert_msg(rc == 0, "qingdanctl load exited %d: %s", rc, out ? out : "");
	free(out);

	http_response *r = http_get("/readyz");
	assert_status(r, 200);
	http_response_free(r);
	r = http_get("/v1/lookup?code=3822190090&entity=" ENT "&date=" DAY);
	assert_status(r, 200);
	assert_jstr(r->json, "/decision", "allow");
	assert_jstr(r->json, "/basis/list", GBA);
	http_response_free(r);
	r = list_meta(GBA);
	assert_jint(r->json, "/version", 1);
	http_response_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TCase readauth: --read-auth token. */

START_TEST(test_readauth_lookup)
{
	const char *path = "/v1/lookup?code=3822190090&entity=" ENT "&date=" DAY;
	http_response *r = http_get("%s", path);
	assert_error(r, 401, "unauthorized");
	const char *wa = http_header(r, "WWW-Authenticate");
	ck_assert_msg(wa && strncmp(wa, "Bearer", 6) == 0, "WWW-Authenticate: %s", wa ? wa : "(none)");
	http_response_free(r);

	r = http_request_auth("GET", path, "not-a-known-token", NULL, NULL, 0);
	assert_error(r, 401, "unauthorized");
	http_response_free(r);

	r = http_request_auth("GET", path, HARNESS_READER_TOKEN, NULL, NULL, 0);
	assert_status(r, 200);
	assert_jstr(r->json, "/decision", "allow");
	http_response_free(r);

	/* An admin token may read too. */
	r = http_request_auth("GET", path, HARNESS_ADMIN_TOKEN, NULL, NULL, 0);
	assert_status(r, 200);
	http_response_free(r);
}
END_TEST

START_TEST(test_readauth_other_reads)
{
	const char *paths[] = {"/v1/lists", "/v1/lists/" GBA, "/v1/lists/" GBA "/entries"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		http_response *r = http_get("%s", paths[i]);
		assert_error(r, 401, "unauthorized");
		http_response_free(r);
		r = http_request_auth("GET", paths[i], HARNESS_READER_TOKEN, NULL, NULL, 0);
		assert_status(r, 200);
		http_response_free(r);
	}
	const char *body = "{\"date\":\"" DAY "\",\"entity\":\"" ENT "\",\"items\":[{\"code\":\"3822190090\"}]}";
	http_response *r = http_request_auth("POST", "/v1/check", NULL, NULL, body, strlen(body));
	assert_error(r, 401, "unauthorized");
	http_response_free(r);
	r = http_request_auth("POST", "/v1/check", HARNESS_READER_TOKEN, NULL, body, strlen(body));
	assert_status(r, 200);
	assert_jstr(r->json, "/decision", "allow");
	http_response_free(r);

	/* Health stays open. */
	r = http_get("/healthz");
	assert_status(r, 200);
	http_response_free(r);
	r = http_get("/readyz");
	assert_status(r, 200);
	http_response_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TCase errors: routing, methods, media types, sizes. */

START_TEST(test_unsupported_media_type)
{
	snapshot s = take_snapshot();
	size_t len;
	char *doc = ht_sample_text(GBA_FILE, &len);
	const char *cts[] = {"Content-Type: text/plain", "Content-Type: application/x-www-form-urlencoded",
			     "Content-Type: application/json; charset=latin1", "Content-Type: application/jsonx",
			     "Content-Type:" /* none at all */};
	for (size_t i = 0; i < sizeof cts / sizeof cts[0]; i++) {
		http_response *r = ht_put_list(GBA, NULL, HARNESS_ADMIN_TOKEN, cts[i], doc, len);
		assert_error(r, 415, "unsupported_media_type");
		http_response_free(r);
		const char *body = "{\"items\":[{\"code\":\"3822\"}]}";
		r = http_request_auth("POST", "/v1/check", NULL, cts[i], body, strlen(body));
		assert_error(r, 415, "unsupported_media_type");
		http_response_free(r);
	}
	assert_unchanged(&s);
	/* Parameters and case are fine. */
	http_response *r = ht_put_list(GBA, NULL, HARNESS_ADMIN_TOKEN, "Content-Type: Application/JSON; charset=UTF-8",
				    doc, len);
	assert_status(r, 200);
	http_response_free(r);
	free(doc);
	free_snapshot(&s);
}
END_TEST

static char *padded_check_body(size_t total)
{
	const char *head = "{\"date\":\"" DAY "\",\"entity\":\"" ENT "\",\"items\":[{\"code\":\"3822190090\"}]}";
	size_t hl = strlen(head);
	ck_assert_uint_ge(total, hl);
	char *b = malloc(total + 1);
	ck_assert_ptr_nonnull(b);
	memcpy(b, head, hl);
	memset(b + hl, ' ', total - hl);
	b[total] = '\0';
	return b;
}

START_TEST(test_payload_too_large)
{
	const size_t limit = (size_t)1 << 20;
	/* Just over the limit, announced by Content-Length. */
	char *b = padded_check_body(limit + 1);
	http_response *r = http_request("POST", "/v1/check", NULL, b, limit + 1);
	assert_error(r, 413, "payload_too_large");
	http_response_free(r);
	/* The same, streamed chunked (no Content-Length). */
	const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
	r = http_request("POST", "/v1/check", chunked, b, limit + 1);
	assert_error(r, 413, "payload_too_large");
	http_response_free(r);
	free(b);
	/* Exactly the limit is accepted. */
	b = padded_check_body(limit);
	r = http_request("POST", "/v1/check", NULL, b, limit);
	assert_status(r, 200);
	assert_jstr(r->json, "/decision", "allow");
	http_response_free(r);
	r = http_request("POST", "/v1/check", chunked, b, limit);
	assert_status(r, 200);
	http_response_free(r);
	free(b);
}
END_TEST

START_TEST(test_not_found)
{
	const char *paths[] = {"/nope", "/v1", "/v1/", "/v1/lookups", "/v2/lookup?code=3822", "/v1/lists/",
			       "/v1/lists/" GBA "/nope", "/v1/lists/" GBA "/entries/x", "/healthz/x",
			       "/v1/lists/..%2Fetc", "/v1/lists/../etc/passwd"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		http_response *r = http_get("%s", paths[i]);
		assert_status(r, 404);
		char why[300];
		ck_assert_msg(ht_error_body_ok(r, NULL, why, sizeof why), "%s: %s", paths[i], why);
		http_response_free(r);
	}
	/* Unknown lists, including ids that cannot be list ids. */
	const char *lists[] = {"/v1/lists/nope", "/v1/lists/UPPER", "/v1/lists/a_b", "/v1/lists/9abc",
			       "/v1/lists/%2e%2e", "/v1/lists/nope/entries", "/v1/lists/UPPER/entries",
			       "/v1/lists/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 49 */};
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		http_response *r = http_get("%s", lists[i]);
		assert_status(r, 404);
		char why[300];
		ck_assert_msg(ht_error_body_ok(r, NULL, why, sizeof why), "%s: %s", lists[i], why);
		http_response_free(r);
	}
	http_response *r = http_get("/v1/lists/nope");
	assert_error(r, 404, "list_not_found");
	http_response_free(r);
	r = http_get("/v1/lists/UPPER");
	assert_error(r, 404, "list_not_found");
	http_response_free(r);
	r = http_get("/nope");
	assert_error(r, 404, "not_found");
	http_response_free(r);
	/* A PUT to a bad id stores nothing. */
	size_t len;
	char *doc = ht_sample_text(GBA_FILE, &len);
	r = ht_put_list("UPPER", NULL, HARNESS_ADMIN_TOKEN, NULL, doc, len);
	assert_status(r, 404);
	http_response_free(r);
	free(doc);
}
END_TEST

static bool allow_has(const char *allow, const char *method)
{
	if (!allow)
		return false;
	size_t n = strlen(method);
	for (const char *p = allow; (p = strstr(p, method)); p += n)
		if ((p == allow || p[-1] == ' ' || p[-1] == ',') && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return true;
	return false;
}

START_TEST(test_method_not_allowed)
{
	struct {
		const char *method, *path, *must, *must2, *mustnt;
	} cases[] = {
		{"DELETE", "/v1/lists/x", "GET", "PUT", "DELETE"},
		{"POST", "/v1/lists/" GBA, "GET", "PUT", "POST"},
		{"POST", "/v1/lookup", "GET", NULL, "POST"},
		{"PUT", "/v1/lookup?code=3822", "GET", NULL, "PUT"},
		{"GET", "/v1/check", "POST", NULL, "GET"},
		{"DELETE", "/v1/lists", "GET", NULL, "DELETE"},
		{"PUT", "/healthz", "GET", NULL, "PUT"},
		{"POST", "/readyz", "GET", NULL, "POST"},
		{"PATCH", "/v1/lists/" GBA "/entries", "GET", NULL, "PATCH"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		http_response *r = http_request_auth(cases[i].method, cases[i].path, HARNESS_ADMIN_TOKEN, NULL, NULL, 0);
		assert_error(r, 405, "method_not_allowed");
		const char *allow = http_header(r, "Allow");
		ck_assert_msg(allow_has(allow, cases[i].must), "%s %s: Allow: %s lacks %s", cases[i].method,
			      cases[i].path, allow ? allow : "(none)", cases[i].must);
		if (cases[i].must2)
			ck_assert_msg(allow_has(allow, cases[i].must2), "%s %s: Allow: %s lacks %s",
				      cases[i].method, cases[i].path, allow, cases[i].must2);
		ck_assert_msg(!allow_has(allow, cases[i].mustnt), "%s %s: Allow: %s has %s", cases[i].method,
			      cases[i].path, allow, cases[i].mustnt);
		http_response_free(r);
	}
	/* With a body too. */
	const char *body = "{\"items\":[]}";
	http_response *r = http_request("POST", "/v1/lookup", NULL, body, strlen(body));
	assert_error(r, 405, "method_not_allowed");
	ck_assert_msg(allow_has(http_header(r, "Allow"), "GET"), "Allow lacks GET");
	http_response_free(r);
}
END_TEST

/* Beyond libmicrohttpd's per-connection memory a request is refused by the
 * library itself (414/431, its own HTML body, not the JSON error object):
 * assert only that it is a 4xx and that the daemon carries on. */
START_TEST(test_oversized_request_head)
{
	size_t n = 100000;
	char *path = malloc(n + 64);
	ck_assert_ptr_nonnull(path);
	int k = snprintf(path, 64, "/v1/lookup?code=3822&entity=");
	memset(path + k, 'A', n);
	path[k + (int)n] = '\0';
	http_response *r = http_request("GET", path, NULL, NULL, 0);
	ck_assert_msg(r->status >= 400 && r->status < 500, "a 100 kB request line: HTTP %ld", r->status);
	http_response_free(r);

	char *hdr = malloc(n + 64);
	ck_assert_ptr_nonnull(hdr);
	k = snprintf(hdr, 64, "X-Padding: ");
	memset(hdr + k, 'b', n);
	hdr[k + (int)n] = '\0';
	const char *hs[] = {hdr, NULL};
	r = http_request("GET", "/v1/lookup?code=3822", hs, NULL, 0);
	ck_assert_msg(r->status >= 400 && r->status < 500, "a 100 kB header: HTTP %ld", r->status);
	http_response_free(r);
	free(hdr);
	free(path);

	r = http_get("/v1/lookup?code=3822190090&entity=" ENT "&date=" DAY);
	assert_status(r, 200);
	assert_jstr(r->json, "/decision", "allow");
	http_response_free(r);
}
END_TEST

/* The default --max-header-bytes is 16 KiB (qingdand(8)): a head of 14 000
 * bytes is answered, one of 17 000 is refused with 431. */
START_TEST(test_default_head_room)
{
	static const size_t sizes[] = {14000, 17000};
	for (size_t i = 0; i < 2; i++) {
		char *hdr = malloc(sizes[i] + 64);
		ck_assert_ptr_nonnull(hdr);
		int k = snprintf(hdr, 64, "X-Padding: ");
		memset(hdr + k, 'b', sizes[i]);
		hdr[k + (int)sizes[i]] = '\0';
		const char *hs[] = {hdr, NULL};
		http_response *r =
			http_request("GET", "/v1/lookup?code=3822190090&entity=" ENT "&date=" DAY, hs, NULL, 0);
		ck_assert_msg(r->status == (i ? 431 : 200), "a head with a %zu-byte header: HTTP %ld", sizes[i],
			      r->status);
		http_response_free(r);
		free(hdr);
	}
}
END_TEST

START_TEST(test_body_on_get)
{
	const char *body = "{\"code\":\"3822\"}";
	http_response *r = http_request("GET", "/v1/lookup?code=3822190090", NULL, body, strlen(body));
	assert_error(r, 400, "bad_body");
	http_response_free(r);
	r = http_request("GET", "/v1/lists", NULL, body, strlen(body));
	assert_error(r, 400, "bad_body");
	http_response_free(r);
}
END_TEST

START_TEST(test_unknown_params_elsewhere)
{
	const char *paths[] = {"/v1/lists?x=1", "/v1/lists/" GBA "?verbose=1", "/v1/lists/" GBA "/entries?page=2"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		http_response *r = http_get("%s", paths[i]);
		assert_error(r, 400, "unknown_parameter");
		http_response_free(r);
	}
	http_response *r = http_get("/v1/lists/" GBA "/entries?page=2");
	assert_error_mentions(r, "page");
	http_response_free(r);
	size_t len;
	char *doc = ht_sample_text(GBA_FILE, &len);
	r = ht_put_list(GBA, "force=1", HARNESS_ADMIN_TOKEN, NULL, doc, len);
	assert_error(r, 400, "unknown_parameter");
	assert_error_mentions(r, "force");
	http_response_free(r);
	r = ht_put_list(GBA, "dry_run=true&dry_run=true", HARNESS_ADMIN_TOKEN, NULL, doc, len);
	assert_error(r, 400, "repeated_parameter");
	http_response_free(r);
	free(doc);
	r = http_request("POST", "/v1/check?x=1", NULL, "{\"items\":[{\"code\":\"3822\"}]}", 27);
	assert_error(r, 400, "unknown_parameter");
	http_response_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TCase lookup. */

START_TEST(test_lookup_allow_basis)
{
	json_t *doc = ht_sample_json(GBA_FILE);
	http_response *m = list_meta(GBA);
	json_int_t version = json_integer_value(jptr(m->json, "/version"));
	http_response_free(m);

	http_response *r = http_get("/v1/lookup?code=3822.1900.90&entity=" ENT "&date=" DAY);
	assert_status(r, 200);
	assert_json_ct(r);
	json_t *j = r->json;
	assert_jstr(j, "/decision", "allow");
	assert_jstr(j, "/reason", "listed");
	assert_jstr(j, "/query/code", "3822190090");
	assert_jnull(j, "/query/ciq");
	assert_jstr(j, "/query/entity", ENT);
	assert_jstr(j, "/query/date", DAY);
	assert_jnull(j, "/query/list");
	assert_jstr(j, "/basis/list", GBA);
	assert_jint(j, "/basis/version", version);
	assert_jstr(j, "/basis/entry/id", "PL-0001");
	assert_jstr(j, "/basis/entry/code", "3822");

	/* The clauses are the full objects of the document. */
	json_t *clauses = jptr(j, "/basis/clauses");
	ck_assert_uint_eq(json_array_size(clauses), 1);
	const char *cid = jptr_str(doc, "/entries/0/clauses/0");
	assert_jstr(j, "/basis/clauses/0/id", cid);
	json_t *want = sample_clause(doc, cid);
	ck_assert_ptr_nonnull(want);
	assert_jstr(j, "/basis/clauses/0/text", json_string_value(json_object_get(want, "text")));
	assert_jstr(j, "/basis/clauses/0/document", GACC_DOC);
	assert_jstr(j, "/basis/clauses/0/article", json_string_value(json_object_get(want, "article")));

	/* One result per list, each complete. */
	json_t *results = json_object_get(j, "results");
	ck_assert_uint_eq(json_array_size(results), 2);
	size_t i;
	json_t *res;
	bool saw_gba = false;
	json_array_foreach(results, i, res) {
		const char *keys[] = {"list", "kind", "version", "decision", "reason", "entry", "clauses", "near_misses"};
		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
			ck_assert_msg(json_object_get(res, keys[k]), "results[%zu] lacks %s", i, keys[k]);
		if (strcmp(jptr_str(res, "/list"), GBA) == 0) {
			saw_gba = true;
			assert_jstr(res, "/kind", "positive");
			assert_jstr(res, "/decision", "allow");
			assert_jstr(res, "/reason", "listed");
			assert_jstr(res, "/entry/id", "PL-0001");
			ck_assert_uint_eq(json_array_size(json_object_get(res, "near_misses")), 0);
		} else {
			assert_jstr(res, "/list", WL);
			assert_jstr(res, "/kind", "whitelist");
		}
	}
	ck_assert(saw_gba);
	const char *id = jptr_str(j, "/decision_id");
	ck_assert_msg(id && *id, "no decision_id");
	http_response_free(r);
	json_decref(doc);
}
END_TEST

/* One decision per row: query → decision, reason, basis entry (NULL: basis
 * null), and a near miss that must be reported (entry id, reason). */
static const struct decision_case {
	const char *query;
	const char *decision, *reason;
	const char *basis_list, *basis_entry;
	const char *miss_entry, *miss_reason;
} decision_cases[] = {
	{"code=3822190090&entity=" ENT, "allow", "listed", GBA, "PL-0001", NULL, NULL},
	/* a carve-out: the more specific exclude entry decides, with its clause */
	{"code=3002901000&entity=" ENT, "deny", "excluded", GBA, "PL-0011", NULL, NULL},
	{"code=3002900000&entity=" ENT, "allow", "listed", GBA, "PL-0010", NULL, NULL},
	{"code=8471300000&entity=" ENT, "deny", "not_listed", NULL, NULL, NULL, NULL},
	{"code=3822190090", "deny", "entity_required", NULL, NULL, "PL-0001", "entity_required"},
	/* not on the roster */
	{"code=3822190090&entity=91110000600037341L", "deny", "entity_not_eligible", NULL, NULL, "PL-0001",
	 "entity_not_eligible"},
	/* on the roster, but only from 2027-01-01 */
	{"code=3822190090&entity=91440101MAE8B3WX1U&list=" GBA, "deny", "entity_not_eligible", NULL, NULL, "PL-0001",
	 "entity_not_eligible"},
	/* on the roster, suspended */
	{"code=3822190090&entity=91440115MACL4P9Y3D&list=" GBA, "deny", "entity_not_eligible", NULL, NULL, "PL-0001",
	 "entity_not_eligible"},
	/* named by the entry, but the roster membership ended 2025-12-31 */
	{"code=3002510000&entity=91440112MA7F2Q5U21&list=" GBA, "deny", "entity_not_eligible", NULL, NULL, "PL-0008",
	 "entity_not_eligible"},
	{"code=3002510000&entity=91440115MA9W3K7C66&list=" GBA, "allow", "listed", GBA, "PL-0008", NULL, NULL},
	{"code=2941100000&entity=" ENT, "deny", "expired", NULL, NULL, "PL-0028", "expired"},
	{"code=9012100000&entity=" ENT, "deny", "not_yet_effective", NULL, NULL, "PL-0027", "not_yet_effective"},
	{"code=3001200000&entity=" ENT, "deny", "suspended", NULL, NULL, "PL-0023", "suspended"},
	{"code=3504000000&entity=" ENT, "deny", "revoked", NULL, NULL, "PL-0030", "revoked"},
	/* whitelist: its own entries for the institution */
	{"code=3002150000&entity=91310115MA1K8N6D88", "allow", "listed", WL, "WL-0001", NULL, NULL},
	/* its own entry lapsed: "expired", not "approved for another institution" */
	{"code=3004909099&entity=91310115MA1K8N6D88", "deny", "expired", NULL, NULL, "WL-0002", "expired"},
	{"code=3002130000&entity=91510107MA6J1Y4E39", "deny", "not_yet_effective", NULL, NULL, "WL-0011",
	 "not_yet_effective"},
	{"code=3822900000&entity=91130100MA4X7G1Q5A", "deny", "suspended", NULL, NULL, "WL-0015", "suspended"},
	{"code=3002120090&entity=91440112MA3H9C2P77", "deny", "revoked", NULL, NULL, "WL-0005", "revoked"},
	{"code=3002150000&entity=91110000600037341L&list=" WL, "deny", "entity_not_eligible", NULL, NULL, "WL-0001",
	 "entity_not_eligible"},
	/* Hong Kong institution, SCHEME:ID, lower-case scheme accepted */
	{"code=9031100000&entity=hk:70012345", "allow", "listed", GBA, "PL-0031", NULL, NULL},
	{"code=9031100000&entity=" ENT, "deny", "entity_not_eligible", NULL, NULL, "PL-0031", "entity_not_eligible"},
	/* CIQ: 13-digit code, ciq=, CIQ-specific entries need a CIQ */
	{"code=0106190090101&entity=" ENT, "allow", "listed", GBA, "PL-0014", NULL, NULL},
	{"code=0106190090&ciq=102&entity=" ENT, "allow", "listed", GBA, "PL-0015", NULL, NULL},
	{"code=0106190090999&entity=" ENT, "deny", "not_yet_effective", NULL, NULL, "PL-0032", "not_yet_effective"},
	{"code=0106190090&entity=" ENT, "deny", "not_listed", NULL, NULL, NULL, NULL},
	{"code=0106190090103&entity=" ENT, "deny", "not_listed", NULL, NULL, NULL, NULL},
	/* heading-level query: only 2/4-digit entries are candidates */
	{"code=38&entity=" ENT, "deny", "not_listed", NULL, NULL, NULL, NULL},
	{"code=3822&entity=" ENT, "allow", "listed", GBA, "PL-0001", NULL, NULL},
};

START_TEST(test_lookup_decisions)
{
	const struct decision_case *c = &decision_cases[_i];
	http_response *r = http_get("/v1/lookup?%s&date=" DAY, c->query);
	assert_status(r, 200);
	json_t *j = r->json;
	const char *dec = jptr_str(j, "/decision"), *reason = jptr_str(j, "/reason");
	ck_assert_msg(dec && reason && strcmp(dec, c->decision) == 0 && strcmp(reason, c->reason) == 0,
		      "%s: expected %s/%s, got %s/%s", c->query, c->decision, c->reason, dec ? dec : "?",
		      reason ? reason : "?");
	assert_jstr(j, "/query/date", DAY);
	if (c->basis_entry) {
		assert_jstr(j, "/basis/list", c->basis_list);
		assert_jstr(j, "/basis/entry/id", c->basis_entry);
		ck_assert_msg(json_array_size(jptr(j, "/basis/clauses")) >= 1, "%s: basis without clauses", c->query);
	} else {
		ck_assert_msg(json_is_null(jptr(j, "/basis")), "%s: basis is not null", c->query);
	}
	/* deny means "not covered", never "prohibited". */
	ck_assert_msg(!strcasestr(r->body, "prohibit"), "%s: the answer speaks of a prohibition", c->query);
	if (c->miss_entry)
		ck_assert_msg(has_near_miss(j, c->miss_entry, c->miss_reason), "%s: no near miss {%s, %s} in %.1500s",
			      c->query, c->miss_entry, c->miss_reason, r->body);
	else
		has_near_miss(j, "", ""); /* shape only */
	if (strcmp(c->reason, "not_listed") == 0) {
		size_t i;
		json_t *res;
		json_array_foreach(json_object_get(j, "results"), i, res) {
			assert_jstr(res, "/reason", "not_listed");
			ck_assert_uint_eq(json_array_size(json_object_get(res, "near_misses")), 0);
		}
	}
	http_response_free(r);
}
END_TEST

START_TEST(test_lookup_excluded_basis)
{
	json_t *doc = ht_sample_json(GBA_FILE);
	http_response *r = http_get("/v1/lookup?code=3002.9010.00&entity=" ENT "&date=" DAY);
	assert_status(r, 200);
	assert_jstr(r->json, "/decision", "deny");
	assert_jstr(r->json, "/reason", "excluded");
	assert_jstr(r->json, "/basis/entry/id", "PL-0011");
	assert_jstr(r->json, "/basis/entry/effect", "exclude");
	/* The carve-out cites its own clause. */
	json_t *want = sample_clause(doc, "SAMPLE-PL-EXCL-1");
	assert_jstr(r->json, "/basis/clauses/0/id", "SAMPLE-PL-EXCL-1");
	assert_jstr(r->json, "/basis/clauses/0/text", json_string_value(json_object_get(want, "text")));
	http_response_free(r);
	json_decref(doc);
}
END_TEST

START_TEST(test_lookup_code_forms)
{
	const char *forms[] = {"3822190090", "3822.1900.90", "3822%2019%2000%2090", "3822-1900-90", "3822+1900+90"};
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		http_response *r = http_get("/v1/lookup?code=%s&entity=" ENT "&date=" DAY, forms[i]);
		assert_status(r, 200);
		assert_jstr(r->json, "/query/code", "3822190090");
		assert_jnull(r->json, "/query/ciq");
		assert_jstr(r->json, "/decision", "allow");
		http_response_free(r);
	}
	/* 13 digits: 10 + CIQ, echoed apart; the same as ciq=. */
	const char *ciq_forms[] = {"code=0106190090101", "code=0106.1900.90.101", "code=0106190090&ciq=101"};
	for (size_t i = 0; i < sizeof ciq_forms / sizeof ciq_forms[0]; i++) {
		http_response *r = http_get("/v1/lookup?%s&entity=" ENT "&date=" DAY, ciq_forms[i]);
		assert_status(r, 200);
		assert_jstr(r->json, "/query/code", "0106190090");
		assert_jstr(r->json, "/query/ciq", "101");
		assert_jstr(r->json, "/decision", "allow");
		assert_jstr(r->json, "/basis/entry/id", "PL-0014");
		http_response_free(r);
	}
}
END_TEST

START_TEST(test_lookup_query_echo)
{
	/* The scheme of SCHEME:ID is stored upper-case; the id is kept. */
	http_response *r = http_get("/v1/lookup?code=9031100000&entity=hk:70012345&date=2025-01-31");
	assert_status(r, 200);
	assert_jstr(r->json, "/query/entity", "HK:70012345");
	assert_jstr(r->json, "/query/date", "2025-01-31");
	http_response_free(r);
	/* A USCC is upper-cased. */
	r = http_get("/v1/lookup?code=3822&entity=91440101ma5d7r2tx1&date=2024-02-29");
	assert_status(r, 200);
	assert_jstr(r->json, "/query/entity", ENT);
	assert_jstr(r->json, "/query/date", "2024-02-29");
	assert_jstr(r->json, "/query/code", "3822");
	assert_jstr(r->json, "/decision", "allow");
	http_response_free(r);
	/* Without date: today in China (UTC+08:00). */
	char before[11], after[11];
	china_today(before);
	r = http_get("/v1/lookup?code=3822&entity=" ENT);
	china_today(after);
	assert_status(r, 200);
	const char *d = jptr_str(r->json, "/query/date");
	ck_assert_msg(d && (strcmp(d, before) == 0 || strcmp(d, after) == 0),
		      "query.date %s, expected today at UTC+08:00 (%s)", d ? d : "(none)", before);
	assert_jnull(r->json, "/query/list");
	http_response_free(r);
	/* Without entity: null. */
	r = http_get("/v1/lookup?code=3822&date=" DAY);
	assert_status(r, 200);
	assert_jnull(r->json, "/query/entity");
	http_response_free(r);
}
END_TEST

START_TEST(test_lookup_list_param)
{
	http_response *r = http_get("/v1/lookup?code=3822190090&entity=" ENT "&date=" DAY "&list=" WL);
	assert_status(r, 200);
	assert_jstr(r->json, "/query/list", WL);
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/results")), 1);
	assert_jstr(r->json, "/results/0/list", WL);
	/* The positive list would allow it, but it was not consulted. */
	assert_jstr(r->json, "/decision", "deny");
	assert_jstr(r->json, "/reason", "entity_not_eligible");
	http_response_free(r);

	r = http_get("/v1/lookup?code=3822190090&entity=" ENT "&date=" DAY "&list=" GBA);
	assert_status(r, 200);
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/results")), 1);
	assert_jstr(r->json, "/results/0/list", GBA);
	assert_jstr(r->json, "/decision", "allow");
	http_response_free(r);

	r = http_get("/v1/lookup?code=3822190090&entity=" ENT "&date=" DAY "&list=nope");
	assert_error(r, 404, "list_not_found");
	http_response_free(r);
}
END_TEST

START_TEST(test_lookup_decision_id)
{
	http_response *a = http_get("/v1/lookup?code=3822190090&entity=" ENT "&date=" DAY);
	http_response *b = http_get("/v1/lookup?code=3822190090&entity=" ENT "&date=" DAY);
	assert_status(a, 200);
	assert_status(b, 200);
	const char *ia = jptr_str(a->json, "/decision_id"), *ib = jptr_str(b->json, "/decision_id");
	ck_assert_msg(ia && ib && *ia && *ib, "decision_id missing");
	ck_assert_str_ne(ia, ib);
	/* Everything else is the same. */
	json_object_del(a->json, "decision_id");
	json_object_del(b->json, "decision_id");
	ck_assert(json_equal(a->json, b->json));
	http_response_free(a);
	http_response_free(b);
}
END_TEST

static const struct bad_query {
	const char *query;
	long status;
	const char *code;
	const char *names;
} bad_queries[] = {
	{"", 400, "missing_parameter", "code"},
	{"entity=" ENT "&date=" DAY, 400, "missing_parameter", "code"},
	{"code=38AB", 400, "bad_parameter", "code"},
	{"code=", 400, "bad_parameter", "code"},
	{"code=3", 400, "bad_parameter", "code"},
	{"code=38221900901", 400, "bad_parameter", "code"},        /* 11 digits */
	{"code=38221900901234", 400, "bad_parameter", "code"},     /* 14 digits */
	{"code=3822&entity=91440101MA5D7R2TX2", 400, "bad_parameter", "entity"}, /* check character */
	{"code=3822&entity=91440101MA5D7R2T", 400, "bad_parameter", "entity"},
	{"code=3822&entity=HK%3A", 400, "bad_parameter", "entity"},
	{"code=3822&entity=", 400, "bad_parameter", "entity"},
	{"code=3822&date=2023-02-29", 400, "bad_parameter", "date"},
	{"code=3822&date=2026-13-01", 400, "bad_parameter", "date"},
	{"code=3822&date=2026-1-1", 400, "bad_parameter", "date"},
	{"code=3822&date=today", 400, "bad_parameter", "date"},
	{"code=3822&foo=1", 400, "unknown_parameter", "foo"},
	{"code=3822&Code=3822", 400, "unknown_parameter", "Code"},
	{"code=3822&entities=" ENT, 400, "unknown_parameter", "entities"},
	{"code=3822&code=3822", 400, "repeated_parameter", "code"},
	{"code=3822&date=" DAY "&date=" DAY, 400, "repeated_parameter", "date"},
	{"code=0106190090101&ciq=101", 400, "bad_parameter", "ciq"},
	{"code=3822&ciq=101", 400, "bad_parameter", "ciq"},
	{"code=0106190090&ciq=1x1", 400, "bad_parameter", "ciq"},
	{"code=0106190090&ciq=1010", 400, "bad_parameter", "ciq"},
	{"code=3822&list=UPPER", 400, "bad_parameter", "list"},
	{"code=3822&customs=52", 400, "bad_parameter", "customs"},
	{"code=3822&customs=52011", 400, "bad_parameter", "customs"},
	{"code=3822&customs=52a1", 400, "bad_parameter", "customs"},
	{"code=3822&customs=", 400, "bad_parameter", "customs"},
	{"code=3822&customs=5201&customs=5201", 400, "repeated_parameter", "customs"},
	{"code=3822&name=", 400, "bad_parameter", "name"},
	{"code=3822&name=%FF%FE", 400, "bad_parameter", "name"},
	{"code=3822&name=a%0Ab", 400, "bad_parameter", "name"},
	{"code=3822&name=(%20)", 400, "bad_parameter", "name"},
	{"code=3822&spec=%E7%8E", 400, "bad_parameter", "spec"},
	{"code=3822&spec=", 400, "bad_parameter", "spec"},
	{"code=3822&list=nope", 404, "list_not_found", "list"},
};

START_TEST(test_lookup_bad_queries)
{
	const struct bad_query *q = &bad_queries[_i];
	http_response *r = http_get("/v1/lookup?%s", q->query);
	assert_error(r, q->status, q->code);
	assert_error_mentions(r, q->names);
	/* A client learns the field from details, not by parsing prose. */
	if (q->status == 400) {
		assert_jstr(r->json, "/error/details/0/parameter", q->names);
		ck_assert_str_eq(jptr_str(r->json, "/error/details/0/message"),
				 jptr_str(r->json, "/error/message"));
	}
	http_response_free(r);
}
END_TEST

START_TEST(test_lookup_overlong_param)
{
	char path[2048];
	int n = snprintf(path, sizeof path, "/v1/lookup?code=3822&entity=");
	memset(path + n, 'A', 1000);
	path[n + 1000] = '\0';
	http_response *r = http_get("%s", path);
	assert_error(r, 400, "bad_parameter");
	assert_error_mentions(r, "entity");
	http_response_free(r);
	/* NUL in a value. */
	r = http_get("/v1/lookup?code=3822%%00");
	assert_error(r, 400, "bad_parameter");
	http_response_free(r);
}
END_TEST

/* Escapes anywhere in a value decode as libmicrohttpd's own decoder does:
 * after plain bytes, one after another, and one cut short stays as it is. */
START_TEST(test_lookup_percent_escapes)
{
	http_response *a = http_get("/v1/lookup?code=3822");
	http_response *b = http_get("/v1/lookup?code=38%%32%%32");
	http_response *c = http_get("/v1/lookup?co%%64e=%%33822");
	ck_assert_int_eq(a->status, 200);
	ck_assert_int_eq(b->status, 200);
	ck_assert_int_eq(c->status, 200);
	ck_assert_ptr_nonnull(a->json);
	json_t *da = json_object_get(a->json, "results");
	ck_assert_ptr_nonnull(da);
	ck_assert(json_equal(da, json_object_get(b->json, "results")));
	ck_assert(json_equal(da, json_object_get(c->json, "results")));
	ck_assert(json_equal(json_object_get(a->json, "query"), json_object_get(b->json, "query")));
	http_response_free(a);
	http_response_free(b);
	http_response_free(c);
	/* "%3" before the end is no escape: the code is "3822%3", refused. */
	http_response *d = http_get("/v1/lookup?code=3822%%3");
	assert_error(d, 400, "bad_parameter");
	assert_error_mentions(d, "code");
	http_response_free(d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TCase check. */

/* A check's decided item (borrowed) is what GET path answers, but for its
 * ref and the lookup's decision_id. */
static void assert_item_is_lookup(json_t *item, const char *path)
{
	http_response *l = http_get("%s", path);
	assert_status(l, 200);
	json_t *it = json_copy(item);
	json_object_del(it, "ref");
	json_object_del(l->json, "decision_id");
	ck_assert_msg(json_equal(it, l->json), "check item differs from the lookup");
	json_decref(it);
	http_response_free(l);
}

START_TEST(test_check_mixed)
{
	const char *body = "{\"entity\":\"" ENT "\",\"date\":\"" DAY "\",\"items\":["
			   "{\"ref\":\"a\",\"code\":\"3822.1900.90\"},"
			   "{\"ref\":2,\"code\":\"3002901000\"},"
			   "{\"ref\":\"c\",\"code\":\"8471300000\"},"
			   "{\"ref\":\"d\",\"code\":\"38AB\"},"
			   "{\"ref\":\"e\",\"code\":\"0106190090\",\"ciq\":\"101\"},"
			   "{\"code\":\"0106190090101\",\"ciq\":\"101\"}]}";
	http_response *r = post_check(body);
	assert_status(r, 200);
	assert_json_ct(r);
	json_t *j = r->json;
	assert_jstr(j, "/decision", "deny");
	assert_jint(j, "/summary/allow", 2);
	assert_jint(j, "/summary/deny", 2);
	assert_jint(j, "/summary/invalid", 2);
	json_t *items = json_object_get(j, "items");
	ck_assert_uint_eq(json_array_size(items), 6);

	/* Request order, refs echoed as given. */
	assert_jstr(j, "/items/0/ref", "a");
	assert_jint(j, "/items/1/ref", 2);
	assert_jstr(j, "/items/2/ref", "c");
	assert_jstr(j, "/items/3/ref", "d");
	assert_jstr(j, "/items/4/ref", "e");
	ck_assert_msg(json_is_null(jptr(j, "/items/5/ref")), "absent ref not echoed as null");

	const char *decided_keys[] = {"decision", "reason", "query", "basis", "results"};
	int decided[] = {0, 1, 2, 4};
	for (size_t k = 0; k < 4; k++) {
		json_t *it = json_array_get(items, (size_t)decided[k]);
		for (size_t q = 0; q < sizeof decided_keys / sizeof decided_keys[0]; q++)
			ck_assert_msg(json_object_get(it, decided_keys[q]), "items[%d] lacks %s", decided[k],
				      decided_keys[q]);
		ck_assert_msg(!json_object_get(it, "error"), "items[%d] has an error", decided[k]);
	}
	assert_jstr(j, "/items/0/decision", "allow");
	assert_jstr(j, "/items/0/reason", "listed");
	assert_jstr(j, "/items/0/query/code", "3822190090");
	assert_jstr(j, "/items/0/query/entity", ENT);
	assert_jstr(j, "/items/0/query/date", DAY);
	assert_jstr(j, "/items/0/basis/entry/id", "PL-0001");
	assert_jstr(j, "/items/1/decision", "deny");
	assert_jstr(j, "/items/1/reason", "excluded");
	assert_jstr(j, "/items/1/basis/entry/id", "PL-0011");
	assert_jstr(j, "/items/2/decision", "deny");
	assert_jstr(j, "/items/2/reason", "not_listed");
	assert_jnull(j, "/items/2/basis");
	assert_jstr(j, "/items/4/decision", "allow");
	assert_jstr(j, "/items/4/query/ciq", "101");
	assert_jstr(j, "/items/4/basis/entry/id", "PL-0014");

	/* Invalid items: {ref, error} only, the error pointing into the body. */
	for (size_t k = 3; k <= 5; k += 2) {
		json_t *it = json_array_get(items, k);
		ck_assert_msg(json_is_object(json_object_get(it, "error")), "items[%zu] has no error", k);
		ck_assert_msg(!json_object_get(it, "decision"), "items[%zu] has a decision", k);
		ck_assert_msg(json_is_string(jptr(it, "/error/code")) && json_is_string(jptr(it, "/error/message")) &&
				      json_is_array(jptr(it, "/error/details")),
			      "items[%zu].error is not {code, message, details}", k);
	}
	assert_jstr(j, "/items/3/error/details/0/path", "/items/3/code");
	assert_jstr(j, "/items/5/error/details/0/path", "/items/5/ciq");

	/* Each decided item says what the lookup says. */
	assert_item_is_lookup(json_array_get(items, 1), "/v1/lookup?code=3002901000&entity=" ENT "&date=" DAY);
	http_response_free(r);
}
END_TEST

START_TEST(test_check_all_allowed)
{
	const char *body = "{\"entity\":\"" ENT "\",\"date\":\"" DAY "\",\"list\":null,\"items\":["
			   "{\"ref\":\"x1\",\"code\":\"3822190090\"},"
			   "{\"ref\":\"x2\",\"code\":\"9027200000\",\"ciq\":null},"
			   "{\"ref\":null,\"code\":\"0106190090101\"}]}";
	http_response *r = post_check(body);
	assert_status(r, 200);
	assert_jstr(r->json, "/decision", "allow");
	assert_jint(r->json, "/summary/allow", 3);
	assert_jint(r->json, "/summary/deny", 0);
	assert_jint(r->json, "/summary/invalid", 0);
	http_response_free(r);

	/* 1000 items is the limit, and allowed. */
	json_t *b = json_pack("{s:s, s:s, s:[]}", "entity", ENT, "date", DAY, "items");
	for (int i = 0; i < 1000; i++)
		json_array_append_new(json_object_get(b, "items"), json_pack("{s:i, s:s}", "ref", i, "code", "3822190090"));
	r = post_check_json(b);
	assert_status(r, 200);
	assert_jstr(r->json, "/decision", "allow");
	assert_jint(r->json, "/summary/allow", 1000);
	assert_jint(r->json, "/items/999/ref", 999);
	http_response_free(r);

	/* 1001: the whole request is refused. */
	json_array_append_new(json_object_get(b, "items"), json_pack("{s:i, s:s}", "ref", 1000, "code", "3822190090"));
	r = post_check_json(b);
	assert_error(r, 400, "bad_body");
	assert_detail_path(r->json, "/items");
	http_response_free(r);
	json_decref(b);
}
END_TEST

START_TEST(test_check_list_and_context)
{
	/* list= restricts every item. */
	const char *body = "{\"entity\":\"" ENT "\",\"date\":\"" DAY "\",\"list\":\"" WL "\","
			   "\"items\":[{\"code\":\"3822190090\"}]}";
	http_response *r = post_check(body);
	assert_status(r, 200);
	assert_jstr(r->json, "/decision", "deny");
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/items/0/results")), 1);
	assert_jstr(r->json, "/items/0/query/list", WL);
	http_response_free(r);

	body = "{\"list\":\"nope\",\"items\":[{\"code\":\"3822190090\"}]}";
	r = post_check(body);
	assert_error(r, 404, "list_not_found");
	http_response_free(r);

	/* Bad context fields are a 400 for the whole request, naming them. */
	struct {
		const char *body, *path;
	} bad[] = {
		{"{\"entity\":\"91440101MA5D7R2TX2\",\"items\":[{\"code\":\"3822\"}]}", "/entity"},
		{"{\"date\":\"2023-02-29\",\"items\":[{\"code\":\"3822\"}]}", "/date"},
		{"{\"list\":\"UPPER\",\"items\":[{\"code\":\"3822\"}]}", "/list"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		r = post_check(bad[i].body);
		assert_error(r, 400, "bad_body");
		assert_detail_path(r->json, bad[i].path);
		http_response_free(r);
	}
}
END_TEST

START_TEST(test_check_bad_bodies)
{
	const char *not_json[] = {"{not json", "", "{\"items\":[{\"code\":\"3822\"}]", "\xff"};
	for (size_t i = 0; i < sizeof not_json / sizeof not_json[0]; i++) {
		http_response *r = post_check(not_json[i]);
		assert_error(r, 400, "bad_json");
		http_response_free(r);
	}
	/* Unknown keys, wrong types, missing or empty items: 400 naming the path. */
	struct {
		const char *body, *path, *names;
	} bad[] = {
		{"{\"items\":[{\"code\":\"3822\"}],\"colour\":1}", "/colour", "colour"},
		{"{\"items\":[{\"code\":\"3822\",\"qty\":1}]}", "/items/0/qty", "qty"},
		{"{\"items\":[{\"code\":\"3822\"},{\"code\":\"3822\",\"Code\":\"1\"}]}", "/items/1/Code", "Code"},
		{"{\"items\":{}}", "/items", "items"},
		{"{\"items\":\"3822\"}", "/items", "items"},
		{"{\"items\":[{\"code\":3822}]}", "/items/0/code", "code"},
		{"{\"items\":[{\"code\":\"3822\",\"ciq\":101}]}", "/items/0/ciq", "ciq"},
		{"{\"items\":[{\"code\":\"3822\",\"ref\":[1]}]}", "/items/0/ref", "ref"},
		{"{\"items\":[\"3822\"]}", "/items/0", NULL},
		{"{\"items\":[{\"ref\":\"a\"}]}", "/items/0/code", "code"},
		{"{\"entity\":5,\"items\":[{\"code\":\"3822\"}]}", "/entity", "entity"},
		{"{\"date\":true,\"items\":[{\"code\":\"3822\"}]}", "/date", "date"},
		{"{\"items\":[]}", "/items", "items"},
		{"{\"customs\":\"52\",\"items\":[{\"code\":\"3822\"}]}", "/customs", "customs"},
		{"{\"customs\":5201,\"items\":[{\"code\":\"3822\"}]}", "/customs", "customs"},
		{"{\"items\":[{\"code\":\"3822\",\"name\":1}]}", "/items/0/name", "name"},
		{"{\"items\":[{\"code\":\"3822\",\"spec\":[]}]}", "/items/0/spec", "spec"},
		{"{\"items\":[{\"code\":\"3822\",\"customs\":5201}]}", "/items/0/customs", "customs"},
		{"{}", "/items", "items"},
		{"[]", "", NULL},
		{"{\"items\":[{\"code\":\"3822\"}],\"items\":[]}", NULL, NULL}, /* duplicate key */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		http_response *r = post_check(bad[i].body);
		ck_assert_msg(r->status == 400, "%s: expected 400, got %ld", bad[i].body, r->status);
		char why[300];
		ck_assert_msg(ht_error_body_ok(r, NULL, why, sizeof why), "%s: %s", bad[i].body, why);
		if (bad[i].path) {
			char *s = json_compact(jptr(r->json, "/error/details"), NULL);
			ck_assert_msg(details_have_path(r->json, bad[i].path), "%s: no detail with path \"%s\" in %s",
				      bad[i].body, bad[i].path, s);
			free(s);
		}
		if (bad[i].names)
			assert_error_mentions(r, bad[i].names);
		http_response_free(r);
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* Jurisdiction and item identity (the sample whitelist: WL-0008 is
 * approved for WL_ENT, customs 51, batch 第二批, term to 2028-12-31). */

#define WL_ENT "91440115MA9W3K7C66"
#define WL_Q "/v1/lookup?code=3002510000&entity=" WL_ENT "&date=" DAY "&list=biomed-rd-whitelist"

/* GET path (a lookup), which must answer 200 with decision and reason. */
static http_response *lookup_says(const char *path, const char *decision, const char *reason)
{
	http_response *r = http_get("%s", path);
	assert_status(r, 200);
	assert_jstr(r->json, "/decision", decision);
	assert_jstr(r->json, "/reason", reason);
	return r;
}

START_TEST(test_lookup_jurisdiction_item)
{
	/* No customs, no name: allowed, with what the allow depends on. */
	http_response *r = lookup_says(WL_Q, "allow", "listed");
	assert_jnull(r->json, "/query/customs");
	assert_jnull(r->json, "/query/name");
	assert_jstr(r->json, "/basis/entry/id", "WL-0008");
	assert_jstr(r->json, "/basis/scope/customs/0", "51");
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/basis/scope/customs")), 1);
	assert_jstr(r->json, "/basis/batch/id", "第二批");
	assert_jstr(r->json, "/basis/batch/published", "2026-08-25");
	assert_jstr(r->json, "/basis/item_check/name/zh", "细胞治疗产品（研发用对照品）");
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/basis/item_check/checked")), 0);
	assert_jstr(r->json, "/results/0/terms/valid_to", "2028-12-31");
	assert_jnull(r->json, "/results/0/terms/superseded_by");
	assert_jstr(r->json, "/results/0/scope/customs/0", "51");
	http_response_free(r);

	/* The office of declaration inside and outside the entry's scope. */
	r = lookup_says(WL_Q "&customs=5101", "allow", "listed");
	assert_jstr(r->json, "/query/customs", "5101");
	http_response_free(r);
	r = lookup_says(WL_Q "&customs=2201", "deny", "outside_jurisdiction");
	assert_jnull(r->json, "/basis");
	assert_jstr(r->json, "/results/0/near_misses/0/entry/id", "WL-0008");
	assert_jstr(r->json, "/results/0/near_misses/0/reason", "outside_jurisdiction");
	/* the list's scope is still shown */
	assert_jstr(r->json, "/results/0/scope/customs/0", "01");
	http_response_free(r);

	/* Declared goods: the name written another way matches; another
	 * product under the code does not. */
	r = lookup_says(WL_Q "&name=%E7%BB%86%E8%83%9E%E6%B2%BB%E7%96%97%E4%BA%A7%E5%93%81"
		     "(%E7%A0%94%E5%8F%91%E7%94%A8%E5%AF%B9%E7%85%A7%E5%93%81)", "allow", "listed");
	assert_jstr(r->json, "/query/name", "细胞治疗产品(研发用对照品)");
	assert_jstr(r->json, "/basis/item_check/checked/0", "name");
	http_response_free(r);
	r = lookup_says(WL_Q "&name=%E7%BB%86%E8%83%9E%E6%B2%BB%E7%96%97%E4%BA%A7%E5%93%81", "deny",
			"item_differs");
	http_response_free(r);
	/* Item before jurisdiction. */
	r = lookup_says(WL_Q "&customs=2201&name=x", "deny", "item_differs");
	http_response_free(r);

	/* A declared name over 256 bytes is refused, naming it. */
	char path[1024];
	int n = snprintf(path, sizeof path, WL_Q "&name=");
	memset(path + n, 'a', 257);
	path[n + 257] = '\0';
	r = http_get("%s", path);
	assert_error(r, 400, "bad_parameter");
	assert_error_mentions(r, "name");
	http_response_free(r);
}
END_TEST

START_TEST(test_check_goods)
{
	const char *body = "{\"entity\":\"" WL_ENT "\",\"date\":\"" DAY "\",\"list\":\"biomed-rd-whitelist\","
			   "\"customs\":\"5101\",\"items\":["
			   "{\"ref\":\"a\",\"code\":\"3002510000\"},"
			   "{\"ref\":\"b\",\"code\":\"3002510000\",\"customs\":\"2201\"},"
			   "{\"ref\":\"c\",\"code\":\"3002510000\",\"name\":\"别的产品\"},"
			   "{\"ref\":\"d\",\"code\":\"3002510000\",\"name\":\"细胞治疗产品（研发用对照品）\",\"spec\":\"1mL\"},"
			   "{\"ref\":\"e\",\"code\":\"3002510000\",\"customs\":\"22\"},"
			   "{\"ref\":\"f\",\"code\":\"3002510000\",\"name\":\"\"}]}";
	http_response *r = post_check(body);
	assert_status(r, 200);
	json_t *j = r->json;
	assert_jint(j, "/summary/allow", 2);
	assert_jint(j, "/summary/deny", 2);
	assert_jint(j, "/summary/invalid", 2);
	assert_jstr(j, "/items/0/reason", "listed");
	assert_jstr(j, "/items/0/query/customs", "5101");
	assert_jstr(j, "/items/1/reason", "outside_jurisdiction");
	assert_jstr(j, "/items/1/query/customs", "2201");
	assert_jstr(j, "/items/2/reason", "item_differs");
	assert_jstr(j, "/items/2/query/name", "别的产品");
	/* the entry has no spec: a declared spec is not compared */
	assert_jstr(j, "/items/3/reason", "listed");
	assert_jstr(j, "/items/3/basis/item_check/checked/0", "name");
	ck_assert_uint_eq(json_array_size(jptr(j, "/items/3/basis/item_check/checked")), 1);
	assert_jstr(j, "/items/4/error/details/0/path", "/items/4/customs");
	assert_jstr(j, "/items/5/error/details/0/path", "/items/5/name");
	/* An item says what the lookup says. */
	assert_item_is_lookup(jptr(j, "/items/1"), WL_Q "&customs=2201");
	http_response_free(r);
}
END_TEST

/* client_ref: echoed in the lookup answer; an invalid one is 400 naming it. */
START_TEST(test_lookup_client_ref)
{
	http_response *a = http_get("/v1/lookup?code=3822190090&entity=" ENT "&date=" DAY "&client_ref=DEC-2026/0001.a_b:c");
	http_response *b = http_get("/v1/lookup?code=3822190090&entity=" ENT "&date=" DAY);
	assert_status(a, 200);
	assert_status(b, 200);
	assert_jstr(a->json, "/client_ref", "DEC-2026/0001.a_b:c");
	ck_assert_ptr_null(jptr(b->json, "/client_ref"));
	/* Nothing else changes. */
	json_object_del(a->json, "decision_id");
	json_object_del(b->json, "decision_id");
	json_object_del(a->json, "client_ref");
	ck_assert(json_equal(a->json, b->json));
	http_response_free(a);
	http_response_free(b);

	char longest[65], too_long[66];
	memset(longest, 'x', 64);
	longest[64] = '\0';
	memset(too_long, 'x', 65);
	too_long[65] = '\0';
	http_response *r = http_get("/v1/lookup?code=3822&client_ref=%s", longest);
	assert_status(r, 200);
	assert_jstr(r->json, "/client_ref", longest);
	http_response_free(r);
	const char *bad[] = {"", too_long, "a%20b", "a%22b", "%E6%8A%A5", "a%00b", "a+b", "a%0Ab"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		r = http_get("/v1/lookup?code=3822&client_ref=%s", bad[i]);
		assert_error(r, 400, "bad_parameter");
		assert_error_mentions(r, "client_ref");
		http_response_free(r);
	}
	r = http_get("/v1/lookup?code=3822&client_ref=a&client_ref=b");
	assert_error(r, 400, "repeated_parameter");
	http_response_free(r);
}
END_TEST

/* client_ref in a check body: echoed at the top of the answer; an invalid
 * one is 400 bad_body naming /client_ref. */
START_TEST(test_check_client_ref)
{
	http_response *r = post_check("{\"client_ref\":\"MSG:4711\",\"entity\":\"" ENT "\",\"date\":\"" DAY
				      "\",\"items\":[{\"ref\":1,\"code\":\"3822190090\"}]}");
	assert_status(r, 200);
	assert_jstr(r->json, "/client_ref", "MSG:4711");
	ck_assert_ptr_nonnull(jptr_str(r->json, "/decision_id"));
	ck_assert_int_eq(json_array_size(jptr(r->json, "/items")), 1);
	http_response_free(r);
	r = post_check("{\"items\":[{\"code\":\"3822190090\"}]}");
	assert_status(r, 200);
	ck_assert_ptr_null(jptr(r->json, "/client_ref"));
	http_response_free(r);
	/* The longest client_ref with the longest summary still fits the head. */
	char body[512];
	snprintf(body, sizeof body, "{\"client_ref\":\"%064d\",\"items\":[{\"code\":\"3822190090\"}]}", 7);
	r = post_check(body);
	assert_status(r, 200);
	ck_assert_uint_eq(strlen(jptr_str(r->json, "/client_ref")), 64);
	http_response_free(r);

	const char *bad[] = {
		"{\"client_ref\":\"\",\"items\":[{\"code\":\"3822\"}]}",
		"{\"client_ref\":\"x2345678901234567890123456789012345678901234567890123456789012345\",\"items\":[{\"code\":\"3822\"}]}",
		"{\"client_ref\":\"has space\",\"items\":[{\"code\":\"3822\"}]}",
		"{\"client_ref\":\"a\\tb\",\"items\":[{\"code\":\"3822\"}]}",
		"{\"client_ref\":\"\u62a5\u5173\",\"items\":[{\"code\":\"3822\"}]}",
		"{\"client_ref\":42,\"items\":[{\"code\":\"3822\"}]}",
		"{\"client_ref\":null,\"items\":[{\"code\":\"3822\"}]}",
		"{\"client_ref\":[\"a\"],\"items\":[{\"code\":\"3822\"}]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		r = post_check(bad[i]);
		ck_assert_msg(r->status == 400, "%s: expected 400, got %ld", bad[i], r->status);
		assert_jstr(r->json, "/error/code", "bad_body");
		char why[300];
		ck_assert_msg(ht_error_body_ok(r, NULL, why, sizeof why), "%s: %s", bad[i], why);
		ck_assert_msg(details_have_path(r->json, "/client_ref"), "%s: no detail with path /client_ref: %s", bad[i],
			      r->body);
		assert_error_mentions(r, "client_ref");
		http_response_free(r);
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* TCase lists. */

START_TEST(test_lists_index)
{
	http_response *r = http_get("/v1/lists");
	assert_status(r, 200);
	assert_json_ct(r);
	json_t *lists = jptr(r->json, "/lists");
	ck_assert_uint_eq(json_array_size(lists), 2);
	size_t i;
	json_t *l;
	bool seen[2] = {false, false};
	json_array_foreach(lists, i, l) {
		const char *id = jptr_str(l, "/id");
		ck_assert_ptr_nonnull(id);
		bool gba = strcmp(id, GBA) == 0;
		ck_assert_msg(gba || strcmp(id, WL) == 0, "unexpected list %s", id);
		seen[gba ? 0 : 1] = true;
		json_t *doc = ht_sample_json(gba ? GBA_FILE : WL_FILE);
		assert_jstr(l, "/kind", gba ? "positive" : "whitelist");
		ck_assert_msg(json_equal(json_object_get(l, "title"), json_object_get(doc, "title")),
			      "%s: title differs from the document's", id);
		assert_jint(l, "/version", 1);
		assert_jint(l, "/entries", json_array_size(json_object_get(doc, "entries")));
		ck_assert_msg(ht_is_rfc3339(jptr_str(l, "/loaded_at")), "%s: loaded_at %s is not RFC 3339", id,
			      jptr_str(l, "/loaded_at") ? jptr_str(l, "/loaded_at") : "(none)");
		assert_jstr(l, "/sha256", gba ? sha_gba : sha_wl);
		json_decref(doc);

		/* GET /v1/lists/{id} says the same, with an ETag. */
		http_response *m = list_meta(id);
		assert_json_ct(m);
		ck_assert_msg(json_equal(m->json, l), "%s: GET /v1/lists/{id} differs from the index", id);
		const char *etag = http_header(m, "ETag");
		ck_assert_msg(etag && strcmp(etag, "\"1\"") == 0, "%s: ETag %s, expected \"1\"", id, etag ? etag : "(none)");
		http_response_free(m);
	}
	ck_assert(seen[0] && seen[1]);
	http_response_free(r);
}
END_TEST

START_TEST(test_head)
{
	http_response *r = http_request("HEAD", "/v1/lists/" GBA, NULL, NULL, 0);
	assert_status(r, 200);
	ck_assert_str_eq(http_header(r, "ETag"), "\"1\"");
	ck_assert_uint_eq(r->body_len, 0);
	http_response_free(r);
	r = http_request("HEAD", "/healthz", NULL, NULL, 0);
	assert_status(r, 200);
	http_response_free(r);
	r = http_request("HEAD", "/v1/lists/nope", NULL, NULL, 0);
	assert_status(r, 404);
	http_response_free(r);
}
END_TEST

/* Walk GET /v1/lists/{id}/entries with the query, collecting entry ids
 * (in order) into a JSON array; returns the number of pages. */
static size_t walk_entries(const char *id, const char *query, size_t page_max, json_t *ids)
{
	char cursor[512] = "";
	size_t pages = 0;
	for (;;) {
		http_response *r;
		if (cursor[0])
			r = http_get("/v1/lists/%s/entries?%s&cursor=%s", id, query, cursor);
		else
			r = http_get("/v1/lists/%s/entries?%s", id, query);
		assert_status(r, 200);
		pages++;
		ck_assert_msg(pages < 1000, "paging does not end");
		json_t *entries = jptr(r->json, "/entries");
		ck_assert_msg(json_is_array(entries), "no entries array");
		ck_assert_uint_le(json_array_size(entries), page_max);
		size_t i;
		json_t *e;
		json_array_foreach(entries, i, e) {
			ck_assert_msg(json_is_string(json_object_get(e, "id")) && json_is_string(json_object_get(e, "code")),
				      "entry without id/code");
			json_array_append(ids, json_object_get(e, "id"));
		}
		json_t *next = jptr(r->json, "/next_cursor");
		ck_assert_msg(next && (json_is_null(next) || json_is_string(next)), "next_cursor missing");
		if (json_is_null(next)) {
			http_response_free(r);
			return pages;
		}
		ck_assert_msg(json_array_size(entries) == page_max, "a short page with a next_cursor");
		ck_assert_uint_lt(strlen(json_string_value(next)), sizeof cursor);
		snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
		http_response_free(r);
	}
}

static bool ids_contain(json_t *ids, const char *id)
{
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
		if (strcmp(json_string_value(v), id) == 0)
			return true;
	return false;
}

START_TEST(test_entries_default_page)
{
	json_t *doc = ht_sample_json(GBA_FILE);
	size_t n = json_array_size(json_object_get(doc, "entries"));
	http_response *r = http_get("/v1/lists/" GBA "/entries");
	assert_status(r, 200);
	assert_json_ct(r);
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/entries")), n);
	assert_jnull(r->json, "/next_cursor");
	http_response_free(r);
	json_decref(doc);
}
END_TEST

START_TEST(test_entries_paging)
{
	const char *lists[][2] = {{GBA, GBA_FILE}, {WL, WL_FILE}};
	for (size_t k = 0; k < 2; k++) {
		json_t *doc = ht_sample_json(lists[k][1]);
		json_t *want = json_object_get(doc, "entries");
		json_t *ids = json_array();
		size_t pages = walk_entries(lists[k][0], "limit=5", 5, ids);
		ck_assert_uint_eq(json_array_size(ids), json_array_size(want));
		ck_assert_uint_eq(pages, (json_array_size(want) + 4) / 5);
		/* Each entry exactly once. */
		size_t i;
		json_t *e;
		json_array_foreach(want, i, e)
			ck_assert_msg(ids_contain(ids, json_string_value(json_object_get(e, "id"))), "%s: %s not seen",
				      lists[k][0], json_string_value(json_object_get(e, "id")));
		json_t *ids2 = json_array();
		walk_entries(lists[k][0], "limit=1", 1, ids2);
		ck_assert_msg(json_equal(ids, ids2), "limit=1 walks a different order than limit=5");
		json_decref(ids2);
		/* A page size that divides the count: no empty last page. */
		size_t n = json_array_size(want), half = n / 2;
		ck_assert_uint_eq(n % 2, 0);
		ids2 = json_array();
		char q[32];
		snprintf(q, sizeof q, "limit=%zu", half);
		ck_assert_uint_eq(walk_entries(lists[k][0], q, half, ids2), 2);
		ck_assert_msg(json_equal(ids, ids2), "limit=%zu walks a different order", half);
		json_decref(ids2);
		ids2 = json_array();
		snprintf(q, sizeof q, "limit=%zu", n);
		ck_assert_uint_eq(walk_entries(lists[k][0], q, n, ids2), 1);
		json_decref(ids2);
		json_decref(ids);
		json_decref(doc);
	}
}
END_TEST

START_TEST(test_entries_prefix)
{
	json_t *doc = ht_sample_json(GBA_FILE);
	size_t want = 0, i;
	json_t *e;
	json_array_foreach(json_object_get(doc, "entries"), i, e)
		if (strncmp(json_string_value(json_object_get(e, "code")), "3002", 4) == 0)
			want++;
	ck_assert_uint_gt(want, 2);

	const char *queries[] = {"prefix=3002", "prefix=30.02", "prefix=3002&limit=2", "prefix=3002&limit=1000"};
	for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
		json_t *ids = json_array();
		http_response *r = http_get("/v1/lists/" GBA "/entries?%s", queries[q]);
		assert_status(r, 200);
		json_array_foreach(jptr(r->json, "/entries"), i, e)
			ck_assert_msg(strncmp(jptr_str(e, "/code"), "3002", 4) == 0, "%s: code %s", queries[q],
				      jptr_str(e, "/code"));
		http_response_free(r);
		walk_entries(GBA, queries[q], strstr(queries[q], "limit=2") ? 2 : 1000, ids);
		ck_assert_uint_eq(json_array_size(ids), want);
		json_decref(ids);
	}
	/* A prefix nothing has. */
	http_response *r = http_get("/v1/lists/" GBA "/entries?prefix=77");
	assert_status(r, 200);
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/entries")), 0);
	assert_jnull(r->json, "/next_cursor");
	http_response_free(r);
	json_decref(doc);
}
END_TEST

START_TEST(test_entries_errors)
{
	const char *bad[] = {"limit=0", "limit=abc", "limit=5000", "limit=1001", "limit=-1", "limit=", "limit=+5",
			     "limit=5x", "cursor=zz", "cursor=abc", "cursor=", "prefix=ab", "prefix=12345678901",
			     "limit=5&limit=5"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		http_response *r = http_get("/v1/lists/" GBA "/entries?%s", bad[i]);
		ck_assert_msg(r->status == 400, "%s: expected 400, got %ld", bad[i], r->status);
		char why[300];
		ck_assert_msg(ht_error_body_ok(r, NULL, why, sizeof why), "%s: %s", bad[i], why);
		char name[16];
		snprintf(name, sizeof name, "%.*s", (int)strcspn(bad[i], "="), bad[i]);
		assert_error_mentions(r, name);
		http_response_free(r);
	}
	http_response *r = http_get("/v1/lists/nope/entries");
	assert_error(r, 404, "list_not_found");
	http_response_free(r);
	r = http_get("/v1/lists/nope/entries?limit=5");
	assert_error(r, 404, "list_not_found");
	http_response_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TCase storage: a store too small for the document (--map-size 1M). */

START_TEST(test_storage_full)
{
	http_response *r = put_sample(GBA, GBA_FILE);
	assert_status(r, 201);
	http_response_free(r);
	http_response *m = list_meta(GBA);
	json_t *before = json_incref(m->json);
	http_response_free(m);

	/* About 3 MB of entries: cannot fit in a 1 MiB map. */
	json_t *doc = ht_sample_json(GBA_FILE);
	json_t *entries = json_object_get(doc, "entries");
	json_t *tmpl = json_deep_copy(json_array_get(entries, 0));
	json_array_clear(entries);
	for (int i = 0; i < 6000; i++) {
		json_t *e = json_deep_copy(tmpl);
		char id[16], code[16];
		snprintf(id, sizeof id, "BIG-%05d", i);
		snprintf(code, sizeof code, "%010ld", 3822000000L + i);
		json_object_set_new(e, "id", json_string(id));
		json_object_set_new(e, "code", json_string(code));
		json_array_append_new(entries, e);
	}
	json_decref(tmpl);
	r = put_json(GBA, NULL, NULL, doc);
	assert_error(r, 507, "storage_full");
	http_response_free(r);
	json_decref(doc);

	/* The previous version stays current and is served. */
	m = list_meta(GBA);
	ck_assert_msg(json_equal(before, m->json), "the list changed after a storage-full load");
	http_response_free(m);
	r = http_get("/v1/lookup?code=3822190090&entity=" ENT "&date=" DAY);
	assert_status(r, 200);
	assert_jstr(r->json, "/decision", "allow");
	http_response_free(r);
	/* A document that fits still loads. */
	r = put_sample(GBA, GBA_FILE);
	assert_status(r, 200);
	assert_jint(r->json, "/version", 2);
	http_response_free(r);
	json_decref(before);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TCase signals: daemons started inside the test itself. */

START_TEST(test_sigterm_exits_zero)
{
	harness_daemon d;
	harness_opts o = {.tokens = true};
	char err[512];
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "start: %s", err);
	http_response *r = put_sample(GBA, GBA_FILE);
	assert_status(r, 201);
	http_response_free(r);
	ck_assert_msg(harness_stop(&d, err, sizeof err), "stop: %s", err);

	/* SIGINT too. */
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "start: %s", err);
	ck_assert_msg(harness_stop_signal(&d, SIGINT, err, sizeof err), "stop with SIGINT: %s", err);
}
END_TEST

START_TEST(test_sighup_reloads_tokens)
{
	harness_daemon d;
	harness_opts o = {.tokens = true};
	char err[512];
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "start: %s", err);
	size_t len;
	char *doc = ht_sample_text(GBA_FILE, &len);
	http_response *r = ht_put_list(GBA, NULL, "rotated-admin-token", NULL, doc, len);
	assert_error(r, 401, "unauthorized");
	http_response_free(r);

	/* Rotate: only the new token is an admin now. */
	char hex[QD_SHA256_HEX];
	qd_sha256_hex("rotated-admin-token", strlen("rotated-admin-token"), hex);
	FILE *f = fopen(d.tokens, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "rotated admin %s\n", hex);
	fclose(f);
	kill(d.pid, SIGHUP);
	long status = 0;
	for (int i = 0; i < 100; i++) {
		r = ht_put_list(GBA, "dry_run=true", "rotated-admin-token", NULL, doc, len);
		status = r->status;
		http_response_free(r);
		if (status == 200)
			break;
		usleep(20000);
	}
	ck_assert_msg(status == 200, "the new token is not accepted after SIGHUP (last status %ld)", status);
	r = ht_put_list(GBA, NULL, HARNESS_ADMIN_TOKEN, NULL, doc, len);
	assert_error(r, 401, "unauthorized");
	http_response_free(r);
	free(doc);
	ck_assert_msg(harness_stop(&d, err, sizeof err), "stop: %s", err);
}
END_TEST

/* Signals arriving while the daemon is busy (here: re-reading a long
 * tokens file) must still be taken by the main thread: no thread may have
 * them unblocked, or one SIGHUP/SIGTERM takes its default action and kills
 * the process. */
START_TEST(test_sighup_burst)
{
	harness_daemon d;
	harness_opts o = {.tokens = true};
	char err[512];
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "start: %s", err);
	char hex[QD_SHA256_HEX];
	qd_sha256_hex(HARNESS_ADMIN_TOKEN, strlen(HARNESS_ADMIN_TOKEN), hex);
	FILE *f = fopen(d.tokens, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 20000; i++)
		fprintf(f, "admin%d admin %s\n", i, hex);
	fclose(f);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 20; i++)
			kill(d.pid, SIGHUP);
		usleep(100000);
		int st;
		ck_assert_msg(waitpid(d.pid, &st, WNOHANG) == 0, "qingdand died during a burst of SIGHUPs (wait status %#x)",
			      st);
	}
	http_response *r = http_get("/healthz");
	assert_status(r, 200);
	http_response_free(r);
	/* A SIGTERM right after another burst. */
	for (int i = 0; i < 20; i++)
		kill(d.pid, SIGHUP);
	ck_assert_msg(harness_stop(&d, err, sizeof err), "stop: %s", err);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc;

	tc = ht_tcase(s, "load", setup_load, teardown_load);
	tcase_add_test(tc, test_healthz);
	tcase_add_test(tc, test_readyz_not_ready);
	tcase_add_test(tc, test_put_new_lists);
	tcase_add_test(tc, test_readyz_ready);
	tcase_add_test(tc, test_put_same_again);
	tcase_add_test(tc, test_put_dry_run);
	tcase_add_test(tc, test_put_if_match);

	tc = ht_tcase(s, "reject", setup_reject, teardown_reject);
	tcase_add_test(tc, test_reject_many_violations);
	tcase_add_test(tc, test_reject_bad_json);
	tcase_add_test(tc, test_reject_not_a_document);
	tcase_add_test(tc, test_reject_scalar_document);
	tcase_add_test(tc, test_reject_id_mismatch);
	tcase_add_test(tc, test_reject_kind_change);

	tc = ht_tcase(s, "auth", setup_auth, teardown_auth);
	tcase_add_test(tc, test_auth_admin_put);
	tcase_add_test(tc, test_auth_reads_open);

	tc = ht_tcase(s, "noadmin", setup_noadmin, teardown_noadmin);
	tcase_add_test(tc, test_noadmin_put_forbidden);
	tcase_add_test(tc, test_noadmin_ctl_load_is_served);

	tc = ht_tcase(s, "readauth", setup_readauth, teardown_readauth);
	tcase_add_test(tc, test_readauth_lookup);
	tcase_add_test(tc, test_readauth_other_reads);

	tc = ht_tcase(s, "errors", setup_errors, teardown_errors);
	tcase_add_test(tc, test_unsupported_media_type);
	tcase_add_test(tc, test_payload_too_large);
	tcase_add_test(tc, test_not_found);
	tcase_add_test(tc, test_method_not_allowed);
	tcase_add_test(tc, test_body_on_get);
	tcase_add_test(tc, test_oversized_request_head);
	tcase_add_test(tc, test_default_head_room);
	tcase_add_test(tc, test_unknown_params_elsewhere);

	tc = ht_tcase(s, "lookup", setup_lookup, teardown_lookup);
	tcase_add_test(tc, test_lookup_allow_basis);
	tcase_add_loop_test(tc, test_lookup_decisions, 0, (int)(sizeof decision_cases / sizeof decision_cases[0]));
	tcase_add_test(tc, test_lookup_excluded_basis);
	tcase_add_test(tc, test_lookup_code_forms);
	tcase_add_test(tc, test_lookup_query_echo);
	tcase_add_test(tc, test_lookup_list_param);
	tcase_add_test(tc, test_lookup_decision_id);
	tcase_add_loop_test(tc, test_lookup_bad_queries, 0, (int)(sizeof bad_queries / sizeof bad_queries[0]));
	tcase_add_test(tc, test_lookup_overlong_param);
	tcase_add_test(tc, test_lookup_percent_escapes);
	tcase_add_test(tc, test_lookup_client_ref);
	tcase_add_test(tc, test_lookup_jurisdiction_item);
	tcase_add_test(tc, test_check_goods);

	tc = ht_tcase(s, "check", setup_check, teardown_check);
	tcase_add_test(tc, test_check_mixed);
	tcase_add_test(tc, test_check_all_allowed);
	tcase_add_test(tc, test_check_list_and_context);
	tcase_add_test(tc, test_check_bad_bodies);
	tcase_add_test(tc, test_check_client_ref);

	tc = ht_tcase(s, "lists", setup_lists, teardown_lists);
	tcase_add_test(tc, test_lists_index);
	tcase_add_test(tc, test_head);
	tcase_add_test(tc, test_entries_default_page);
	tcase_add_test(tc, test_entries_paging);
	tcase_add_test(tc, test_entries_prefix);
	tcase_add_test(tc, test_entries_errors);

	tc = ht_tcase(s, "storage", setup_storage, teardown_storage);
	tcase_add_test(tc, test_storage_full);

	tc = ht_tcase(s, "signals", NULL, NULL);
	tcase_add_test(tc, test_sigterm_exits_zero);
	tcase_add_test(tc, test_sighup_reloads_tokens);
	tcase_add_test(tc, test_sighup_burst);
	return s;
}

int main(void)
{
	return ht_run(http_suite());
}
