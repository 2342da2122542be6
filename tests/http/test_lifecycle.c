/* qingdan — HTTP tests of the list lifecycle: versions, export, diff, dry
 * run, If-Match, rollback, audit, CSV import and as-of lookups.
 *
 * Like test_http.c: every TCase starts its own daemon (fresh store) in an
 * unchecked fixture, in the runner's process; Check forks each test, and
 * the tests of one TCase run in the order added against that daemon.  The
 * ones that change stored data say so, and later tests build on them. */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "harness.h"
#include "qingdan/xlsx.h"
#include "suite.h"

#define CSV_DIR "tests/data/csv/"

/* ------------------------------------------------------------------ */
/* assertions (the common ones are in suite.h) */

/* Two JSON values are equal; the message shows both. */
#define assert_json_eq(a, b, what)                                                           \
	do {                                                                                 \
		json_t *a_ = (a), *b_ = (b);                                                 \
		if (!json_equal(a_, b_)) {                                                   \
			char *sa_ = a_ ? json_compact(a_, NULL) : strdup("(missing)");       \
			char *sb_ = b_ ? json_compact(b_, NULL) : strdup("(missing)");       \
			ck_abort_msg("%s differ:\n  %.600s\n  %.600s", what, sa_, sb_);      \
		}                                                                            \
	} while (0)

/* ------------------------------------------------------------------ */
/* helpers */

/* Unix seconds of "YYYY-MM-DDTHH:MM:SSZ"; -1 when it is not that shape. */
static long long utc_seconds(const char *s)
{
	struct tm tm = {0};
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
			 &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm);
}

/* The instant t written with a +08:00 offset ("2026-11-27T08:00:01+08:00"). */
static void china_time(long long t, char out[32])
{
	time_t c = (time_t)(t + 8 * 3600);
	struct tm tm;
	gmtime_r(&c, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S+08:00", &tm);
}

static http_response *put_json_as(const char *id, const char *query, const char *token, const char *extra_header,
				  const json_t *doc)
{
	size_t len;
	char *s = json_compact(doc, &len);
	http_response *r = ht_put_list(id, query, token, extra_header, s, len);
	free(s);
	return r;
}

static http_response *put_json(const char *id, const char *query, const char *extra_header, const json_t *doc)
{
	return put_json_as(id, query, HARNESS_ADMIN_TOKEN, extra_header, doc);
}

static http_response *put_sample(const char *id, const char *file)
{
	size_t len;
	char *s = ht_sample_text(file, &len);
	http_response *r = ht_put_list(id, NULL, HARNESS_ADMIN_TOKEN, NULL, s, len);
	free(s);
	return r;
}

/* PUT a CSV file of tests/data/csv with a Content-Type ("text/csv" when NULL). */
static http_response *put_csv(const char *id, const char *file, const char *content_type, const char *query,
			      const char *if_match)
{
	size_t len;
	char path[256], ct[128], im[64];
	snprintf(path, sizeof path, CSV_DIR "%s", file);
	char *s = ht_sample_text(path, &len);
	snprintf(ct, sizeof ct, "Content-Type: %s", content_type ? content_type : "text/csv");
	snprintf(path, sizeof path, "/v1/lists/%s%s%s", id, query ? "?" : "", query ? query : "");
	char auth[128];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", HARNESS_ADMIN_TOKEN);
	const char *hs[4] = {auth, ct, NULL, NULL};
	if (if_match) {
		snprintf(im, sizeof im, "If-Match: \"%s\"", if_match);
		hs[2] = im;
	}
	http_response *r = http_request("PUT", path, hs, s, len);
	free(s);
	return r;
}

static http_response *post_rollback(const char *id, const char *token, const char *extra_header, const char *body)
{
	char path[256];
	snprintf(path, sizeof path, "/v1/lists/%s/rollback", id);
	return http_request_auth("POST", path, token, extra_header, body, strlen(body));
}

/* GET that must answer 200. */
static http_response *get_ok(const char *path)
{
	http_response *r = http_get("%s", path);
	assert_status(r, 200);
	ck_assert_msg(r->json != NULL, "GET %s: body is not JSON: %.300s", path, r->body);
	return r;
}

/* Current version and sha256 of a list (GET /v1/lists/{id}). */
static json_int_t list_version(const char *id, char sha[65])
{
	char path[128];
	snprintf(path, sizeof path, "/v1/lists/%s", id);
	http_response *r = get_ok(path);
	json_int_t v = json_integer_value(jptr(r->json, "/version"));
	if (sha)
		snprintf(sha, 65, "%s", jptr_str(r->json, "/sha256") ? jptr_str(r->json, "/sha256") : "");
	http_response_free(r);
	return v;
}

/* A lookup's answer without its decision_id (which differs every time). */
static json_t *lookup_answer(const char *query)
{
	char path[512];
	snprintf(path, sizeof path, "/v1/lookup?%s", query);
	http_response *r = get_ok(path);
	json_t *j = json_incref(r->json);
	ck_assert_msg(json_is_string(json_object_get(j, "decision_id")), "lookup answer has no decision_id");
	json_object_del(j, "decision_id");
	http_response_free(r);
	return j;
}

/* The result of one list in a lookup answer, or NULL. */
static json_t *result_of(json_t *answer, const char *list)
{
	size_t i;
	json_t *res;
	json_array_foreach(json_object_get(answer, "results"), i, res)
		if (jptr_str(res, "/list") && strcmp(jptr_str(res, "/list"), list) == 0)
			return res;
	return NULL;
}

/* The positive list's "v2": PL-0001 suspended (changed: status), PL-0002
 * removed, PL-9999 added (a copy of PL-0003 with code 9999).  For ENT and
 * CODE on DAY, v1 answers allow (listed) and v2 deny (suspended). */
static json_t *gba_changed(void)
{
	json_t *doc = ht_sample_json(GBA_FILE);
	json_t *entries = json_object_get(doc, "entries");
	ck_assert_str_eq(jptr_str(entries, "/0/id"), "PL-0001");
	ck_assert_str_eq(jptr_str(entries, "/1/id"), "PL-0002");
	ck_assert_str_eq(jptr_str(entries, "/2/id"), "PL-0003");
	json_t *added = json_deep_copy(json_array_get(entries, 2));
	json_object_set_new(added, "id", json_string("PL-9999"));
	json_object_set_new(added, "code", json_string("9999"));
	json_object_set_new(json_array_get(entries, 0), "status", json_string("suspended"));
	json_array_remove(entries, 1);
	json_array_append_new(entries, added);
	return doc;
}

/* The changes array that gba_changed() makes against the sample. */
static json_t *gba_changed_changes(void)
{
	return json_pack("[{s:s,s:s,s:[s]},{s:s,s:s},{s:s,s:s}]", "id", "PL-0001", "kind", "changed", "fields",
			 "status", "id", "PL-0002", "kind", "removed", "id", "PL-9999", "kind", "added");
}

static void check_put_reply(json_t *j, const char *id, long version, long previous, long entries, long added,
			    long removed, long changed)
{
	assert_jstr(j, "/list", id);
	assert_jint(j, "/version", version);
	if (previous)
		assert_jint(j, "/previous", previous);
	else
		assert_jnull(j, "/previous");
	assert_jint(j, "/entries", entries);
	assert_jint(j, "/diff/added", added);
	assert_jint(j, "/diff/removed", removed);
	assert_jint(j, "/diff/changed", changed);
	ck_assert_msg(ht_is_hex64(jptr_str(j, "/sha256")), "sha256 is not 64 lowercase hex digits");
	ck_assert_msg(json_is_array(jptr(j, "/changes")), "the reply has no changes array");
}

/* ------------------------------------------------------------------ */
/* fixtures */

static char sha_gba[65], sha_wl[65];

static void start_fixture(harness_daemon *d, const char *const *extra, bool preload)
{
	harness_opts o = {.tokens = true, .extra_args = extra};
	char err[512];
	ck_assert_msg(harness_start(d, &o, err, sizeof err), "cannot start qingdand: %s", err);
	if (!preload)
		return;
	http_response *a = put_sample(GBA, GBA_FILE), *b = put_sample(WL, WL_FILE);
	if (a->status != 201 || b->status != 201) {
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

#define FIXTURE(name, extra, preload)                                    \
	static harness_daemon d_##name;                                  \
	static void setup_##name(void)                                   \
	{                                                                \
		start_fixture(&d_##name, extra, preload);                \
	}                                                                \
	static void teardown_##name(void)                                \
	{                                                                \
		ht_stop_fixture(&d_##name);                                 \
	}

FIXTURE(history, NULL, true)
FIXTURE(audit, NULL, true)
FIXTURE(csv, NULL, true)

/* ------------------------------------------------------------------ */
/* TCase history: versions, export, dry run, diff, If-Match, rollback.
 * GBA goes v1 (sample) → v2 (its own export) → v3 (gba_changed) → v4
 * (rollback to 1). */

START_TEST(test_versions_fields)
{
	http_response *r = get_ok("/v1/lists/" GBA "/versions");
	assert_jstr(r->json, "/list", GBA);
	assert_jint(r->json, "/current", 1);
	json_t *vs = jptr(r->json, "/versions");
	ck_assert_msg(json_is_array(vs) && json_array_size(vs) == 1, "expected one version: %s", r->body);
	json_t *v = json_array_get(vs, 0);
	static const char *const keys[] = {"version", "loaded_at", "actor", "action", "sha256",
					   "entries", "source", "effective_at", "cancelled"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		ck_assert_msg(json_object_get(v, keys[i]) != NULL, "versions[0] has no \"%s\": %s", keys[i], r->body);
	ck_assert_uint_eq(json_object_size(v), sizeof keys / sizeof keys[0]);
	assert_jint(v, "/version", 1);
	ck_assert_msg(ht_is_rfc3339(jptr_str(v, "/loaded_at")), "loaded_at is not RFC 3339: %s", r->body);
	long long at = utc_seconds(jptr_str(v, "/loaded_at")), now = (long long)time(NULL);
	ck_assert_msg(at > now - 300 && at <= now + 1, "loaded_at %s is not about now", jptr_str(v, "/loaded_at"));
	/* The actor is the token's NAME, never the token. */
	assert_jstr(v, "/actor", HARNESS_ADMIN_NAME);
	assert_jstr(v, "/action", "load");
	assert_jstr(v, "/sha256", sha_gba);
	json_t *doc = ht_sample_json(GBA_FILE);
	assert_jint(v, "/entries", json_array_size(json_object_get(doc, "entries")));
	json_decref(doc);
	ck_assert_msg(jptr_str(v, "/source") && *jptr_str(v, "/source"), "source is not a label: %s", r->body);
	/* Loaded at once: no instant of its own, nothing cancelled. */
	ck_assert_msg(json_is_null(jptr(v, "/effective_at")), "effective_at of a version loaded at once: %s", r->body);
	ck_assert_msg(json_is_false(jptr(v, "/cancelled")), "cancelled of a version loaded at once: %s", r->body);
	ck_assert_msg(strstr(r->body, HARNESS_ADMIN_TOKEN) == NULL, "the versions list shows a token");
	http_response_free(r);

	/* Versions of an unknown list. */
	r = http_get("/v1/lists/no-such-list/versions");
	assert_error(r, 404, "list_not_found");
	http_response_free(r);
}
END_TEST

/* The samples are canonical: exporting what was loaded gives their bytes. */
START_TEST(test_export_canonical)
{
	const char *ids[] = {GBA, WL}, *files[] = {GBA_FILE, WL_FILE}, *shas[] = {sha_gba, sha_wl};
	for (int i = 0; i < 2; i++) {
		size_t len;
		char *want = ht_sample_text(files[i], &len);
		http_response *r = http_get("/v1/lists/%s/versions/1", ids[i]);
		assert_status(r, 200);
		ck_assert_msg(r->body_len == len && memcmp(r->body, want, len) == 0,
			      "GET /v1/lists/%s/versions/1 (%zu bytes) is not byte-identical to %s (%zu bytes)", ids[i],
			      r->body_len, files[i], len);
		const char *etag = http_header(r, "ETag");
		ck_assert_msg(etag && strcmp(etag, "\"1\"") == 0, "ETag is %s, expected \"1\"", etag ? etag : "(none)");
		const char *ct = http_header(r, "Content-Type");
		ck_assert_msg(ct && strncasecmp(ct, "application/json", 16) == 0, "Content-Type is %s", ct ? ct : "(none)");
		/* The version's sha256 is the hash of exactly these bytes. */
		http_response *m = get_ok(ids[i][0] == 'g' ? "/v1/lists/" GBA : "/v1/lists/" WL);
		assert_jstr(m->json, "/sha256", shas[i]);
		http_response_free(m);
		free(want);
		http_response_free(r);
	}
	/* Bad and unknown version numbers. */
	const char *bad[] = {"0", "x", "-1", "01", "1.0", "99999999999"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		http_response *r = http_get("/v1/lists/" GBA "/versions/%s", bad[i]);
		assert_error(r, 400, "bad_parameter");
		http_response_free(r);
	}
	http_response *r = http_get("/v1/lists/" GBA "/versions/2");
	assert_error(r, 404, "version_not_found");
	http_response_free(r);
	r = http_get("/v1/lists/no-such-list/versions/1");
	assert_error(r, 404, "list_not_found");
	http_response_free(r);
}
END_TEST

/* Stores v2 (the export of v1). */
START_TEST(test_export_roundtrip)
{
	http_response *e1 = http_get("/v1/lists/" GBA "/versions/1");
	assert_status(e1, 200);
	http_response *r = ht_put_list(GBA, NULL, HARNESS_ADMIN_TOKEN, NULL, e1->body, e1->body_len);
	assert_status(r, 200);
	check_put_reply(r->json, GBA, 2, 1, 32, 0, 0, 0);
	assert_jstr(r->json, "/sha256", sha_gba);
	ck_assert_msg(json_array_size(jptr(r->json, "/changes")) == 0, "changes is not empty: %s", r->body);
	http_response_free(r);
	http_response *e2 = http_get("/v1/lists/" GBA "/versions/2");
	assert_status(e2, 200);
	ck_assert_msg(e1->body_len == e2->body_len && memcmp(e1->body, e2->body, e1->body_len) == 0,
		      "export → load → export is not byte-identical");
	ck_assert_str_eq(http_header(e2, "ETag"), "\"2\"");
	http_response_free(e1);
	http_response_free(e2);
	/* The diff between the two is empty. */
	r = get_ok("/v1/lists/" GBA "/diff?from=1&to=2");
	assert_jint(r->json, "/diff/added", 0);
	assert_jint(r->json, "/diff/removed", 0);
	assert_jint(r->json, "/diff/changed", 0);
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/changes")), 0);
	http_response_free(r);
}
END_TEST

/* Stores nothing. */
START_TEST(test_dry_run_changes)
{
	char sha[65];
	ck_assert_int_eq(list_version(GBA, sha), 2);
	json_t *before = lookup_answer(LOOKUP_Q);
	http_response *vb = get_ok("/v1/lists/" GBA "/versions");

	json_t *doc = gba_changed();
	http_response *r = put_json(GBA, "dry_run=true", NULL, doc);
	assert_status(r, 200);
	check_put_reply(r->json, GBA, 3, 2, 32, 1, 1, 1);
	assert_jtrue(r->json, "/dry_run");
	json_t *want = gba_changed_changes();
	assert_json_eq(jptr(r->json, "/changes"), want, "dry-run changes and the expected changes");
	json_decref(want);
	ck_assert_msg(strcmp(jptr_str(r->json, "/sha256"), sha) != 0, "a changed document has the old sha256");
	http_response_free(r);

	/* Nothing was stored: same version, hash, history and answers. */
	char sha2[65];
	ck_assert_int_eq(list_version(GBA, sha2), 2);
	ck_assert_str_eq(sha2, sha);
	http_response *va = get_ok("/v1/lists/" GBA "/versions");
	ck_assert_msg(strcmp(va->body, vb->body) == 0, "the version history changed after a dry run");
	http_response *v3 = http_get("/v1/lists/" GBA "/versions/3");
	assert_error(v3, 404, "version_not_found");
	json_t *after = lookup_answer(LOOKUP_Q);
	assert_json_eq(before, after, "lookups before and after a dry run");
	assert_jstr(after, "/decision", "allow");
	json_decref(before);
	json_decref(after);
	json_decref(doc);
	http_response_free(v3);
	http_response_free(va);
	http_response_free(vb);
}
END_TEST

/* Stores v3 (gba_changed). */
START_TEST(test_put_changed)
{
	json_t *doc = gba_changed();
	http_response *r = put_json(GBA, NULL, NULL, doc);
	assert_status(r, 200);
	check_put_reply(r->json, GBA, 3, 2, 32, 1, 1, 1);
	ck_assert_ptr_null(jptr(r->json, "/dry_run"));
	assert_jstr(r->json, "/action", "load");
	json_t *want = gba_changed_changes();
	assert_json_eq(jptr(r->json, "/changes"), want, "load changes and the expected changes");
	json_decref(want);
	http_response_free(r);
	json_decref(doc);
	json_t *a = lookup_answer(LOOKUP_Q);
	assert_jstr(a, "/decision", "deny");
	assert_jstr(a, "/reason", "suspended");
	json_decref(a);
}
END_TEST

START_TEST(test_diff_versions)
{
	json_t *want = gba_changed_changes();
	http_response *r = get_ok("/v1/lists/" GBA "/diff?from=1&to=3");
	assert_jstr(r->json, "/list", GBA);
	assert_jint(r->json, "/from", 1);
	assert_jint(r->json, "/to", 3);
	assert_jint(r->json, "/diff/added", 1);
	assert_jint(r->json, "/diff/removed", 1);
	assert_jint(r->json, "/diff/changed", 1);
	assert_json_eq(jptr(r->json, "/changes"), want, "diff 1→3 changes and the expected changes");
	http_response_free(r);

	/* to defaults to the current version. */
	r = get_ok("/v1/lists/" GBA "/diff?from=2");
	assert_jint(r->json, "/to", 3);
	assert_json_eq(jptr(r->json, "/changes"), want, "diff 2→current changes and the expected changes");
	http_response_free(r);
	json_decref(want);

	/* Backwards: added and removed swap. */
	r = get_ok("/v1/lists/" GBA "/diff?from=3&to=1");
	want = json_pack("[{s:s,s:s,s:[s]},{s:s,s:s},{s:s,s:s}]", "id", "PL-0001", "kind", "changed", "fields",
			 "status", "id", "PL-0002", "kind", "added", "id", "PL-9999", "kind", "removed");
	assert_json_eq(jptr(r->json, "/changes"), want, "diff 3→1 changes and the expected changes");
	json_decref(want);
	http_response_free(r);

	r = get_ok("/v1/lists/" GBA "/diff?from=3&to=3");
	assert_jint(r->json, "/diff/changed", 0);
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/changes")), 0);
	http_response_free(r);
}
END_TEST

START_TEST(test_diff_errors)
{
	static const struct {
		const char *query;
		int status;
		const char *code, *mentions;
	} cases[] = {
		{"", 400, "missing_parameter", "from"},
		{"?to=2", 400, "missing_parameter", "from"},
		{"?from=", 400, "bad_parameter", "from"},
		{"?from=abc", 400, "bad_parameter", "from"},
		{"?from=0", 400, "bad_parameter", "from"},
		{"?from=-1", 400, "bad_parameter", "from"},
		{"?from=1.5", 400, "bad_parameter", "from"},
		{"?from=1&to=x", 400, "bad_parameter", "to"},
		{"?from=1&to=0", 400, "bad_parameter", "to"},
		{"?from=1&from=2", 400, "repeated_parameter", "from"},
		{"?from=1&color=red", 400, "unknown_parameter", "color"},
		{"?from=99", 404, "version_not_found", "99"},
		{"?from=1&to=99", 404, "version_not_found", "99"},
		{"?from=99&to=1", 404, "version_not_found", "99"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		http_response *r = http_get("/v1/lists/" GBA "/diff%s", cases[i].query);
		assert_error(r, cases[i].status, cases[i].code);
		assert_error_mentions(r, cases[i].mentions);
		http_response_free(r);
	}
	http_response *r = http_get("/v1/lists/no-such-list/diff?from=1&to=2");
	assert_error(r, 404, "list_not_found");
	http_response_free(r);
}
END_TEST

/* A stale If-Match leaves everything as it was. */
START_TEST(test_if_match_412)
{
	char sha[65];
	json_int_t v = list_version(GBA, sha);
	ck_assert_int_eq(v, 3);
	http_response *meta = get_ok("/v1/lists/" GBA);
	ck_assert_str_eq(http_header(meta, "ETag"), "\"3\"");
	http_response *hist = get_ok("/v1/lists/" GBA "/versions");
	json_t *before = lookup_answer(LOOKUP_Q);
	json_t *before_v = lookup_answer(LOOKUP_Q "&list=" GBA "&version=3");

	/* The sample would change the answer (PL-0001 active again). */
	size_t len;
	char *doc = ht_sample_text(GBA_FILE, &len);
	const char *stale[] = {"If-Match: \"2\"", "If-Match: \"1\"", "If-Match: \"4\"", "If-Match: 2"};
	for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) {
		http_response *r = ht_put_list(GBA, NULL, HARNESS_ADMIN_TOKEN, stale[i], doc, len);
		assert_error(r, 412, "precondition_failed");
		assert_error_mentions(r, "nothing was stored");
		http_response_free(r);
		r = ht_put_list(GBA, "dry_run=true", HARNESS_ADMIN_TOKEN, stale[i], doc, len);
		assert_error(r, 412, "precondition_failed");
		http_response_free(r);
	}
	char sha2[65];
	ck_assert_int_eq(list_version(GBA, sha2), 3);
	ck_assert_str_eq(sha2, sha);
	http_response *meta2 = get_ok("/v1/lists/" GBA);
	ck_assert_msg(strcmp(meta->body, meta2->body) == 0, "list metadata changed after 412:\n%s%s", meta->body,
		      meta2->body);
	http_response *hist2 = get_ok("/v1/lists/" GBA "/versions");
	ck_assert_msg(strcmp(hist->body, hist2->body) == 0, "version history changed after 412");
	json_t *after = lookup_answer(LOOKUP_Q);
	assert_json_eq(before, after, "lookups before and after 412");
	assert_jstr(after, "/reason", "suspended");
	json_decref(after);
	after = lookup_answer(LOOKUP_Q "&list=" GBA "&version=3");
	assert_json_eq(before_v, after, "version=3 lookups before and after 412");
	json_decref(after);
	json_decref(before);
	json_decref(before_v);
	http_response_free(meta);
	http_response_free(meta2);
	http_response_free(hist);
	http_response_free(hist2);
	free(doc);
}
END_TEST

/* Stores v4 (rollback to v1). */
START_TEST(test_rollback)
{
	/* Stale If-Match on rollback: 412 and nothing stored. */
	http_response *r = post_rollback(GBA, HARNESS_ADMIN_TOKEN, "If-Match: \"2\"", "{\"version\":1}");
	assert_error(r, 412, "precondition_failed");
	http_response_free(r);
	ck_assert_int_eq(list_version(GBA, NULL), 3);

	r = post_rollback(GBA, HARNESS_ADMIN_TOKEN, "If-Match: \"3\"", "{\"version\": 1}");
	assert_status(r, 200);
	check_put_reply(r->json, GBA, 4, 3, 32, 1, 1, 1);
	assert_jstr(r->json, "/sha256", sha_gba);
	assert_jstr(r->json, "/action", "rollback");
	http_response_free(r);

	/* v4 has v1's content and sha256; v1–v3 are still there. */
	char sha[65];
	ck_assert_int_eq(list_version(GBA, sha), 4);
	ck_assert_str_eq(sha, sha_gba);
	size_t len;
	char *want = ht_sample_text(GBA_FILE, &len);
	r = http_get("/v1/lists/" GBA "/versions/4");
	assert_status(r, 200);
	ck_assert_msg(r->body_len == len && memcmp(r->body, want, len) == 0, "version 4 is not version 1's document");
	http_response_free(r);
	free(want);
	r = get_ok("/v1/lists/" GBA "/versions");
	assert_jint(r->json, "/current", 4);
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/versions")), 4);
	assert_jint(r->json, "/versions/0/version", 4);
	assert_jstr(r->json, "/versions/0/action", "rollback");
	assert_jstr(r->json, "/versions/0/actor", HARNESS_ADMIN_NAME);
	assert_jstr(r->json, "/versions/0/sha256", sha_gba);
	ck_assert_msg(jptr_str(r->json, "/versions/0/source") && strstr(jptr_str(r->json, "/versions/0/source"), "1"),
		      "the rollback's source does not name version 1: %s", r->body);
	http_response_free(r);
	json_t *a = lookup_answer(LOOKUP_Q);
	assert_jstr(a, "/decision", "allow");
	assert_jint(a, "/basis/version", 4);
	json_decref(a);
	/* The ETag follows. */
	r = get_ok("/v1/lists/" GBA);
	ck_assert_str_eq(http_header(r, "ETag"), "\"4\"");
	http_response_free(r);
}
END_TEST

START_TEST(test_rollback_errors)
{
	http_response *r = post_rollback(GBA, HARNESS_ADMIN_TOKEN, NULL, "{\"version\": 99}");
	assert_error(r, 404, "version_not_found");
	assert_error_mentions(r, "99");
	http_response_free(r);
	r = post_rollback("no-such-list", HARNESS_ADMIN_TOKEN, NULL, "{\"version\": 1}");
	assert_error(r, 404, "list_not_found");
	http_response_free(r);

	static const char *const bad_bodies[] = {
		"{}", "{\"version\": \"1\"}", "{\"version\": 0}", "{\"version\": -3}", "{\"version\": 1.5}",
		"{\"version\": null}", "{\"version\": 1, \"force\": true}", "[1]",
	};
	for (size_t i = 0; i < sizeof bad_bodies / sizeof bad_bodies[0]; i++) {
		r = post_rollback(GBA, HARNESS_ADMIN_TOKEN, NULL, bad_bodies[i]);
		assert_error(r, 400, "bad_body");
		http_response_free(r);
	}
	static const char *const not_json[] = {"", "1", "{version: 1}", "{\"version\": 1", "{\"version\":1,\"version\":2}"};
	for (size_t i = 0; i < sizeof not_json / sizeof not_json[0]; i++) {
		r = post_rollback(GBA, HARNESS_ADMIN_TOKEN, NULL, not_json[i]);
		assert_error(r, 400, NULL);
		http_response_free(r);
	}
	r = post_rollback(GBA, HARNESS_ADMIN_TOKEN, "If-Match: nonsense", "{\"version\": 1}");
	assert_error(r, 400, "bad_header");
	http_response_free(r);
	r = post_rollback(GBA, NULL, NULL, "{\"version\": 1}");
	assert_error(r, 401, "unauthorized");
	http_response_free(r);
	r = post_rollback(GBA, HARNESS_READER_TOKEN, NULL, "{\"version\": 1}");
	assert_error(r, 403, "forbidden");
	http_response_free(r);
	/* Nothing of that was stored. */
	ck_assert_int_eq(list_version(GBA, NULL), 4);
}
END_TEST

START_TEST(test_versions_history)
{
	http_response *r = get_ok("/v1/lists/" GBA "/versions");
	json_t *vs = jptr(r->json, "/versions");
	ck_assert_uint_eq(json_array_size(vs), 4);
	static const char *const actions[] = {"rollback", "load", "load", "load"};
	long long prev = -1;
	for (size_t i = 0; i < 4; i++) {
		json_t *v = json_array_get(vs, i);
		assert_jint(v, "/version", 4 - (long)i);
		assert_jstr(v, "/action", actions[i]);
		assert_jstr(v, "/actor", HARNESS_ADMIN_NAME);
		ck_assert_msg(ht_is_hex64(jptr_str(v, "/sha256")), "versions[%zu].sha256", i);
		long long at = utc_seconds(jptr_str(v, "/loaded_at"));
		ck_assert_msg(at > 0 && (prev < 0 || at <= prev), "versions are not newest first: %s", r->body);
		prev = at;
	}
	/* v1, v2 and v4 have the same content; v3 differs. */
	ck_assert_str_eq(jptr_str(vs, "/0/sha256"), sha_gba);
	ck_assert_str_eq(jptr_str(vs, "/2/sha256"), sha_gba);
	ck_assert_str_eq(jptr_str(vs, "/3/sha256"), sha_gba);
	ck_assert_str_ne(jptr_str(vs, "/1/sha256"), sha_gba);
	assert_jint(vs, "/1/entries", 32);
	http_response_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TCase audit: every admin action, refused ones included. */

/* The audit records, newest first (GET /v1/audit?limit=1000 as admin). */
static json_t *audit_all(void)
{
	http_response *r = http_request_auth("GET", "/v1/audit?limit=1000", HARNESS_ADMIN_TOKEN, NULL, NULL, 0);
	assert_status(r, 200);
	json_t *recs = json_incref(jptr(r->json, "/records"));
	ck_assert_msg(json_is_array(recs), "audit has no records array: %.300s", r->body);
	http_response_free(r);
	return recs;
}

typedef struct want_rec {
	const char *actor, *action, *list;
	int status;
	const char *outcome;
	const char *message; /* substring of message; NULL: message must be null */
	long version;        /* 0: null */
	const char *sha256;  /* NULL: not checked */
	long entries, added, removed, changed; /* -1: null */
} want_rec;

static void check_rec(json_t *rec, const want_rec *w, size_t i)
{
	char *s = json_compact(rec, NULL);
	static const char *const keys[] = {"id", "time", "actor", "action", "list", "version", "sha256", "entries",
					   "added", "removed", "changed", "status", "outcome", "message", "source"};
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
		ck_assert_msg(json_object_get(rec, keys[k]) != NULL, "record %zu has no \"%s\": %s", i, keys[k], s);
	ck_assert_msg(ht_is_rfc3339(jptr_str(rec, "/time")), "record %zu: time is not RFC 3339: %s", i, s);
	ck_assert_msg(jptr_str(rec, "/actor") && strcmp(jptr_str(rec, "/actor"), w->actor) == 0,
		      "record %zu: actor, expected %s: %s", i, w->actor, s);
	ck_assert_msg(jptr_str(rec, "/action") && strcmp(jptr_str(rec, "/action"), w->action) == 0,
		      "record %zu: action, expected %s: %s", i, w->action, s);
	if (w->list)
		ck_assert_msg(jptr_str(rec, "/list") && strcmp(jptr_str(rec, "/list"), w->list) == 0,
			      "record %zu: list, expected %s: %s", i, w->list, s);
	else
		ck_assert_msg(json_is_null(jptr(rec, "/list")), "record %zu: list should be null: %s", i, s);
	ck_assert_msg(json_integer_value(jptr(rec, "/status")) == w->status, "record %zu: status, expected %d: %s", i,
		      w->status, s);
	ck_assert_msg(jptr_str(rec, "/outcome") && strcmp(jptr_str(rec, "/outcome"), w->outcome) == 0,
		      "record %zu: outcome, expected %s: %s", i, w->outcome, s);
	if (w->message)
		ck_assert_msg(jptr_str(rec, "/message") && strcasestr(jptr_str(rec, "/message"), w->message),
			      "record %zu: message should mention \"%s\": %s", i, w->message, s);
	else
		ck_assert_msg(json_is_null(jptr(rec, "/message")), "record %zu: message should be null: %s", i, s);
	if (w->version)
		ck_assert_msg(json_integer_value(jptr(rec, "/version")) == w->version,
			      "record %zu: version, expected %ld: %s", i, w->version, s);
	else
		ck_assert_msg(json_is_null(jptr(rec, "/version")), "record %zu: version should be null: %s", i, s);
	if (w->sha256)
		ck_assert_msg(jptr_str(rec, "/sha256") && strcmp(jptr_str(rec, "/sha256"), w->sha256) == 0,
			      "record %zu: sha256, expected %s: %s", i, w->sha256, s);
	const char *cnt[] = {"/entries", "/added", "/removed", "/changed"};
	long want[] = {w->entries, w->added, w->removed, w->changed};
	for (int k = 0; k < 4; k++) {
		if (want[k] < 0)
			ck_assert_msg(json_is_null(jptr(rec, cnt[k])), "record %zu: %s should be null: %s", i, cnt[k], s);
		else
			ck_assert_msg(json_integer_value(jptr(rec, cnt[k])) == want[k], "record %zu: %s, expected %ld: %s",
				      i, cnt[k], want[k], s);
	}
	/* No token ever reaches the audit. */
	ck_assert_msg(!strstr(s, HARNESS_ADMIN_TOKEN) && !strstr(s, HARNESS_READER_TOKEN), "record %zu holds a token", i);
	free(s);
}

START_TEST(test_audit_records)
{
	json_t *before = audit_all();
	size_t n0 = json_array_size(before);
	/* The two preloads. */
	ck_assert_uint_eq(n0, 2);
	want_rec pre = {HARNESS_ADMIN_NAME, "load", WL, 201, "stored", NULL, 1, sha_wl, 18, 18, 0, 0};
	check_rec(json_array_get(before, 0), &pre, 0);
	json_decref(before);

	size_t len;
	char *doc = ht_sample_text(GBA_FILE, &len);
	json_t *changed = gba_changed();
	json_t *invalid = ht_sample_json(GBA_FILE);
	json_object_set_new(jptr(invalid, "/entries/0"), "code", json_string("38AB"));
	http_response *r;
	/* a: stored load (v2), b: dry run */
	r = ht_put_list(GBA, NULL, HARNESS_ADMIN_TOKEN, NULL, doc, len);
	assert_status(r, 200);
	http_response_free(r);
	r = put_json(GBA, "dry_run=true", NULL, changed);
	assert_status(r, 200);
	char sha_changed[65];
	snprintf(sha_changed, sizeof sha_changed, "%s", jptr_str(r->json, "/sha256"));
	http_response_free(r);
	/* c: no token (401), d: reader token (403), e: stale If-Match (412), f: invalid (422) */
	r = ht_put_list(GBA, NULL, NULL, NULL, doc, len);
	assert_error(r, 401, "unauthorized");
	http_response_free(r);
	r = ht_put_list(GBA, NULL, HARNESS_READER_TOKEN, NULL, doc, len);
	assert_error(r, 403, "forbidden");
	http_response_free(r);
	r = ht_put_list(GBA, NULL, HARNESS_ADMIN_TOKEN, "If-Match: \"1\"", doc, len);
	assert_error(r, 412, "precondition_failed");
	http_response_free(r);
	r = put_json(GBA, NULL, NULL, invalid);
	assert_error(r, 422, "invalid_document");
	http_response_free(r);
	/* g: CSV import (v3), h: rollback (v4), i: rollback to an unknown version (404), j: anonymous rollback */
	r = put_csv(GBA, "gba-research-positive.csv", NULL, NULL, NULL);
	assert_status(r, 200);
	char sha_csv[65];
	snprintf(sha_csv, sizeof sha_csv, "%s", jptr_str(r->json, "/sha256"));
	http_response_free(r);
	r = post_rollback(GBA, HARNESS_ADMIN_TOKEN, NULL, "{\"version\":1}");
	assert_status(r, 200);
	http_response_free(r);
	r = post_rollback(GBA, HARNESS_ADMIN_TOKEN, NULL, "{\"version\":99}");
	assert_error(r, 404, "version_not_found");
	http_response_free(r);
	r = post_rollback(GBA, NULL, NULL, "{\"version\":1}");
	assert_error(r, 401, "unauthorized");
	http_response_free(r);
	/* k: the reader reading the audit (403), l: an unknown token (401) */
	r = http_request_auth("GET", "/v1/audit", HARNESS_READER_TOKEN, NULL, NULL, 0);
	assert_error(r, 403, "forbidden");
	http_response_free(r);
	r = http_request_auth("GET", "/v1/audit", "not-a-known-token", NULL, NULL, 0);
	assert_error(r, 401, "unauthorized");
	http_response_free(r);

	const want_rec w[] = {
		/* newest first */
		{"anonymous", "audit", NULL, 401, "refused", "token", 0, NULL, -1, -1, -1, -1},
		{HARNESS_READER_NAME, "audit", NULL, 403, "refused", "admin", 0, NULL, -1, -1, -1, -1},
		{"anonymous", "rollback", GBA, 401, "refused", "token", 0, NULL, -1, -1, -1, -1},
		{HARNESS_ADMIN_NAME, "rollback", GBA, 404, "refused", "99", 0, NULL, -1, -1, -1, -1},
		{HARNESS_ADMIN_NAME, "rollback", GBA, 200, "stored", NULL, 4, sha_gba, 32, 32, 5, 0},
		{HARNESS_ADMIN_NAME, "import", GBA, 200, "stored", NULL, 3, sha_csv, 5, 5, 32, 0},
		{HARNESS_ADMIN_NAME, "load", GBA, 422, "refused", "rule", 0, NULL, -1, -1, -1, -1},
		{HARNESS_ADMIN_NAME, "load", GBA, 412, "refused", "If-Match", 0, NULL, -1, -1, -1, -1},
		{HARNESS_READER_NAME, "load", GBA, 403, "refused", "admin", 0, NULL, -1, -1, -1, -1},
		{"anonymous", "load", GBA, 401, "refused", "token", 0, NULL, -1, -1, -1, -1},
		{HARNESS_ADMIN_NAME, "load", GBA, 200, "dry_run", NULL, 3, sha_changed, 32, 1, 1, 1},
		{HARNESS_ADMIN_NAME, "load", GBA, 200, "stored", NULL, 2, sha_gba, 32, 0, 0, 0},
	};
	size_t nw = sizeof w / sizeof w[0];
	json_t *recs = audit_all();
	ck_assert_msg(json_array_size(recs) == n0 + nw, "expected %zu audit records, got %zu", n0 + nw,
		      json_array_size(recs));
	json_int_t prev_id = -1;
	for (size_t i = 0; i < json_array_size(recs); i++) {
		json_int_t id = json_integer_value(jptr(json_array_get(recs, i), "/id"));
		ck_assert_msg(id > 0 && (prev_id < 0 || id < prev_id), "audit ids are not newest first");
		prev_id = id;
	}
	for (size_t i = 0; i < nw; i++)
		check_rec(json_array_get(recs, i), &w[i], i);
	/* Stored changes carry their source label. */
	ck_assert_msg(jptr_str(json_array_get(recs, 5), "/source") &&
			      strstr(jptr_str(json_array_get(recs, 5), "/source"), "csv"),
		      "the import record has no source naming CSV");
	json_decref(recs);
	json_decref(changed);
	json_decref(invalid);
	free(doc);
}
END_TEST

START_TEST(test_audit_paging)
{
	json_t *all = audit_all();
	size_t n = json_array_size(all);
	ck_assert_uint_ge(n, 10);
	size_t seen = 0;
	char path[128] = "/v1/audit?limit=3";
	for (int page = 0; page < 100; page++) {
		http_response *r = http_request_auth("GET", path, HARNESS_ADMIN_TOKEN, NULL, NULL, 0);
		assert_status(r, 200);
		json_t *recs = jptr(r->json, "/records");
		size_t k = json_array_size(recs);
		ck_assert_msg(k >= 1 && k <= 3, "page %d holds %zu records", page, k);
		for (size_t i = 0; i < k; i++) {
			ck_assert_msg(seen < n, "paging returns more records than there are");
			assert_json_eq(json_array_get(recs, i), json_array_get(all, seen), "paged and unpaged records");
			seen++;
		}
		json_t *nb = jptr(r->json, "/next_before");
		ck_assert_msg(nb != NULL, "no next_before: %s", r->body);
		if (json_is_null(nb)) {
			http_response_free(r);
			break;
		}
		ck_assert_msg(json_is_integer(nb), "next_before is neither an integer nor null");
		/* next_before is the id of the page's last record. */
		ck_assert_int_eq(json_integer_value(nb), json_integer_value(jptr(recs, "/2/id") ? jptr(recs, "/2/id")
												: jptr(recs, "/0/id")));
		snprintf(path, sizeof path, "/v1/audit?limit=3&before=%lld", (long long)json_integer_value(nb));
		http_response_free(r);
	}
	ck_assert_msg(seen == n, "paging saw %zu of %zu records", seen, n);
	json_decref(all);

	/* before= an id: only older records. */
	http_response *r = http_request_auth("GET", "/v1/audit?limit=1000&before=3", HARNESS_ADMIN_TOKEN, NULL, NULL, 0);
	assert_status(r, 200);
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/records")), 2);
	assert_jint(r->json, "/records/0/id", 2);
	assert_jint(r->json, "/records/1/id", 1);
	assert_jnull(r->json, "/next_before");
	http_response_free(r);

	static const struct {
		const char *q, *code;
	} bad[] = {
		{"limit=0", "bad_parameter"},   {"limit=1001", "bad_parameter"}, {"limit=x", "bad_parameter"},
		{"limit=-1", "bad_parameter"},  {"before=0", "bad_parameter"},   {"before=x", "bad_parameter"},
		{"after=1", "unknown_parameter"}, {"limit=1&limit=2", "repeated_parameter"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char p[96];
		snprintf(p, sizeof p, "/v1/audit?%s", bad[i].q);
		r = http_request_auth("GET", p, HARNESS_ADMIN_TOKEN, NULL, NULL, 0);
		assert_error(r, 400, bad[i].code);
		http_response_free(r);
	}
	/* Readers and anonymous clients cannot read the audit. */
	r = http_request_auth("GET", "/v1/audit", HARNESS_READER_TOKEN, NULL, NULL, 0);
	assert_error(r, 403, "forbidden");
	http_response_free(r);
	r = http_get("/v1/audit");
	assert_error(r, 401, "unauthorized");
	ck_assert_msg(http_header(r, "WWW-Authenticate") != NULL, "401 without WWW-Authenticate");
	http_response_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TCase csv: PUT text/csv.  GBA: v1 sample → v2 CSV → v3 CSV with BOM;
 * WL: v1 sample → v2…v5 CSV in every encoding and heading language. */

/* The export of a list's current version. */
static json_t *export_current(const char *id)
{
	char path[128];
	snprintf(path, sizeof path, "/v1/lists/%s/versions/%lld", id, (long long)list_version(id, NULL));
	http_response *r = get_ok(path);
	json_t *j = json_incref(r->json);
	http_response_free(r);
	return j;
}

/* Everything but the entries is the sample's. */
static void assert_kept_from_sample(json_t *exported, const char *file)
{
	json_t *sample = ht_sample_json(file);
	const char *keys[] = {"list", "kind", "title", "issuer", "published", "source", "clauses", "entities"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		char what[64];
		snprintf(what, sizeof what, "\"%s\" of the export and of %s", keys[i], file);
		assert_json_eq(json_object_get(exported, keys[i]), json_object_get(sample, keys[i]), what);
	}
	ck_assert_uint_eq(json_object_size(exported), json_object_size(sample));
	json_decref(sample);
}

static json_t *entry_by_id(json_t *doc, const char *id)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(doc, "entries"), i, e)
		if (strcmp(jptr_str(e, "/id"), id) == 0)
			return e;
	return NULL;
}

static bool has_detail_at(json_t *j, long line, long column)
{
	size_t i;
	json_t *d;
	json_array_foreach(jptr(j, "/error/details"), i, d)
		if (json_integer_value(jptr(d, "/line")) == line && json_integer_value(jptr(d, "/column")) == column &&
		    jptr_str(d, "/message") && *jptr_str(d, "/message"))
			return true;
	return false;
}

START_TEST(test_csv_unknown_list)
{
	http_response *r = put_csv("no-such-list", "gba-research-positive.csv", NULL, NULL, NULL);
	assert_error(r, 404, "list_not_found");
	assert_error_mentions(r, "JSON");
	assert_error_mentions(r, "first");
	http_response_free(r);
	r = http_get("/v1/lists/no-such-list");
	assert_error(r, 404, "list_not_found");
	http_response_free(r);
}
END_TEST

START_TEST(test_csv_bad)
{
	json_t *before = lookup_answer(LOOKUP_Q);
	http_response *r = put_csv(GBA, "gba-research-positive-bad.csv", NULL, NULL, NULL);
	assert_error(r, 422, "invalid_document");
	/* Every problem at once, each at its line (header = 1) and column. */
	static const long at[][2] = {
		{3, 2},  /* code 38A2 */
		{4, 8},  /* clause NO-SUCH-CLAUSE */
		{5, 5},  /* entity with a wrong check character */
		{6, 7},  /* quantity_limit without quantity_unit (column 7 of the row) */
		{9, 0},  /* PL-0207 has 5 fields, the header 8: the whole row (column 0) */
		{10, 1}, /* id PL-0201 again (line 10: the multi-line cell of PL-0206 spans 7–8) */
	};
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
		ck_assert_msg(has_detail_at(r->json, at[i][0], at[i][1]), "no detail at line %ld column %ld: %s",
			      at[i][0], at[i][1], r->body);
	/* The short row (PL-0207) on line 9. */
	bool short_row = false;
	size_t i;
	json_t *d;
	json_array_foreach(jptr(r->json, "/error/details"), i, d) {
		ck_assert_msg(json_is_integer(jptr(d, "/line")) && json_is_integer(jptr(d, "/column")) && !jptr(d, "/path"),
			      "a CSV problem without line and column: %s", r->body);
		if (json_integer_value(jptr(d, "/line")) == 9 && strstr(jptr_str(d, "/message"), "field"))
			short_row = true;
	}
	ck_assert_msg(short_row, "no detail about the short row on line 9: %s", r->body);
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/error/details")), 6);
	assert_error_mentions(r, "nothing was stored");
	http_response_free(r);

	/* Nothing stored. */
	char sha[65];
	ck_assert_int_eq(list_version(GBA, sha), 1);
	ck_assert_str_eq(sha, sha_gba);
	json_t *after = lookup_answer(LOOKUP_Q);
	assert_json_eq(before, after, "lookups before and after a refused CSV");
	json_decref(before);
	json_decref(after);

	/* Bytes that are neither UTF-8 nor GB18030: 422 naming line 3. */
	r = put_csv(GBA, "bad-bytes.csv", NULL, NULL, NULL);
	assert_error(r, 422, "invalid_document");
	json_t *d0 = jptr(r->json, "/error/details/0");
	ck_assert_msg(json_integer_value(jptr(d0, "/line")) == 3, "bad bytes not reported on line 3: %s", r->body);
	http_response_free(r);
	/* A GB18030 file declared UTF-8 is not silently mangled. */
	r = put_csv(WL, "biomed-rd-whitelist-gb18030.csv", "text/csv; charset=utf-8", NULL, NULL);
	assert_error(r, 422, "invalid_document");
	http_response_free(r);
	/* An unknown charset. */
	r = put_csv(WL, "biomed-rd-whitelist-zh.csv", "text/csv; charset=koi8-r", NULL, NULL);
	assert_error(r, 422, "invalid_document");
	http_response_free(r);
	ck_assert_int_eq(list_version(GBA, NULL), 1);
	ck_assert_int_eq(list_version(WL, NULL), 1);
}
END_TEST

START_TEST(test_csv_dry_run)
{
	http_response *r = put_csv(GBA, "gba-research-positive.csv", NULL, "dry_run=true", NULL);
	assert_status(r, 200);
	check_put_reply(r->json, GBA, 2, 1, 5, 5, 32, 0);
	assert_jtrue(r->json, "/dry_run");
	assert_jstr(r->json, "/action", "import");
	http_response_free(r);
	char sha[65];
	ck_assert_int_eq(list_version(GBA, sha), 1);
	ck_assert_str_eq(sha, sha_gba);
	/* A stale If-Match: 412, nothing stored. */
	r = put_csv(GBA, "gba-research-positive.csv", NULL, NULL, "7");
	assert_error(r, 412, "precondition_failed");
	http_response_free(r);
	ck_assert_int_eq(list_version(GBA, NULL), 1);
}
END_TEST

/* Stores GBA v2. */
START_TEST(test_csv_utf8)
{
	http_response *r = put_csv(GBA, "gba-research-positive.csv", "text/csv", NULL, "1");
	assert_status(r, 200);
	check_put_reply(r->json, GBA, 2, 1, 5, 5, 32, 0);
	assert_jstr(r->json, "/action", "import");
	http_response_free(r);
	r = get_ok("/v1/lists/" GBA "/versions");
	assert_jstr(r->json, "/versions/0/action", "import");
	assert_jstr(r->json, "/versions/0/actor", HARNESS_ADMIN_NAME);
	assert_jint(r->json, "/versions/0/entries", 5);
	http_response_free(r);

	json_t *doc = export_current(GBA);
	assert_kept_from_sample(doc, GBA_FILE);
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "entries")), 5);
	/* Cells are normalised: codes without dots, multi-valued cells split on ;, ； and |. */
	json_t *e = entry_by_id(doc, "PL-0101");
	ck_assert_msg(e != NULL, "PL-0101 is missing");
	assert_jstr(e, "/code", "38221900");
	assert_jstr(e, "/name/zh", "实验用细胞培养基");
	assert_jstr(e, "/name/en", "Cell culture media for research");
	assert_jstr(e, "/spec", "限科研用, 不含人源成分");
	assert_jstr(e, "/quantity/unit", "L");
	ck_assert_msg(json_number_value(jptr(e, "/quantity/limit")) == 2.5, "quantity.limit is not 2.5");
	assert_jstr(e, "/waives/0", "Q");
	assert_jstr(e, "/batch", "第四批");
	e = entry_by_id(doc, "PL-0102");
	ck_assert_msg(e != NULL, "PL-0102 is missing");
	assert_jstr(e, "/code", "0106190090");
	assert_jstr(e, "/ciq", "102");
	assert_jstr(e, "/valid_to", "2027-12-31");
	e = entry_by_id(doc, "PL-0103");
	ck_assert_msg(e != NULL, "PL-0103 is missing");
	json_t *want = json_pack("[s,s,s]", "HK:70012345", "HK:70045678", "MO:80321");
	assert_json_eq(jptr(e, "/entities"), want, "PL-0103 entities");
	json_decref(want);
	want = json_pack("[s,s]", "GACC-2022-143-1-1", "SAMPLE-PL-HKMO-1");
	assert_json_eq(jptr(e, "/clauses"), want, "PL-0103 clauses");
	json_decref(want);
	assert_jstr(e, "/status", "suspended");
	assert_jstr(e, "/spec", "离子源、检测器\n及真空泵");
	json_decref(doc);
}
END_TEST

/* Stores GBA v3. */
START_TEST(test_csv_bom)
{
	char sha2[65];
	ck_assert_int_eq(list_version(GBA, sha2), 2);
	http_response *r = put_csv(GBA, "gba-research-positive-bom.csv", "text/csv; charset=utf-8", NULL, NULL);
	assert_status(r, 200);
	check_put_reply(r->json, GBA, 3, 2, 5, 0, 0, 0);
	assert_jstr(r->json, "/sha256", sha2);
	http_response_free(r);
	json_t *doc = export_current(GBA);
	ck_assert_msg(entry_by_id(doc, "PL-0101") != NULL, "the BOM became part of the first heading");
	json_decref(doc);
}
END_TEST

/* Stores WL v2 (Chinese headings, UTF-8). */
START_TEST(test_csv_zh_headings)
{
	http_response *r = put_csv(WL, "biomed-rd-whitelist-zh.csv", NULL, NULL, NULL);
	assert_status(r, 200);
	check_put_reply(r->json, WL, 2, 1, 4, 4, 18, 0);
	assert_jstr(r->json, "/action", "import");
	http_response_free(r);
	json_t *doc = export_current(WL);
	assert_kept_from_sample(doc, WL_FILE);
	json_t *e = entry_by_id(doc, "WL-0101");
	ck_assert_msg(e != NULL, "WL-0101 is missing");
	assert_jstr(e, "/code", "3002150000");
	assert_jstr(e, "/ciq", "999");
	assert_jstr(e, "/effect", "include");
	assert_jstr(e, "/status", "active");
	assert_jstr(e, "/valid_from", "2026-03-01");
	assert_jstr(e, "/valid_to", "2027-02-28");
	json_t *want = json_pack("[s,s]", "91310115MA1K8N6D88", "12110108MB0R3T7W7F");
	assert_json_eq(jptr(e, "/entities"), want, "WL-0101 entities (split on ；)");
	json_decref(want);
	want = json_pack("[s,s]", "Q", "医疗器械注册证");
	assert_json_eq(jptr(e, "/waives"), want, "WL-0101 waives (split on |)");
	json_decref(want);
	e = entry_by_id(doc, "WL-0102");
	ck_assert_msg(e != NULL, "WL-0102 is missing");
	assert_jstr(e, "/status", "suspended"); /* "　暂停　" with ideographic spaces */
	e = entry_by_id(doc, "WL-0103");
	ck_assert_msg(e != NULL, "WL-0103 is missing");
	assert_jstr(e, "/effect", "exclude");
	assert_jstr(e, "/status", "revoked");
	assert_jstr(e, "/valid_to", "2026-12-31"); /* 2026年12月31日 */
	json_decref(doc);
}
END_TEST

/* Stores WL v3, v4, v5: the English-heading UTF-8 file and the GB18030
 * file (detected and named) hold the same entries. */
START_TEST(test_csv_same_entries_every_encoding)
{
	char sha[65];
	ck_assert_int_eq(list_version(WL, sha), 2);
	static const struct {
		const char *file, *ct;
	} files[] = {
		{"biomed-rd-whitelist-en.csv", "text/csv"},
		{"biomed-rd-whitelist-gb18030.csv", "text/csv"},
		{"biomed-rd-whitelist-gb18030.csv", "text/csv; charset=gb18030"},
	};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		http_response *r = put_csv(WL, files[i].file, files[i].ct, NULL, NULL);
		assert_status(r, 200);
		check_put_reply(r->json, WL, 3 + (long)i, 2 + (long)i, 4, 0, 0, 0);
		ck_assert_msg(strcmp(jptr_str(r->json, "/sha256"), sha) == 0, "%s (%s) gives other entries: %s",
			      files[i].file, files[i].ct, r->body);
		http_response_free(r);
	}
	json_t *doc = export_current(WL);
	assert_jstr(entry_by_id(doc, "WL-0101"), "/name/zh", "人源化单克隆抗体（研发用）");
	json_decref(doc);
}
END_TEST

/* A workbook written by tests/data/xlsx/make_xlsx.py from the JSON
 * description spec (a file under QD_SOURCE_ROOT when it ends in .json,
 * else the description itself); *len its size. */
static char *make_workbook(const char *spec, size_t *len)
{
	const char *root = getenv("QD_SOURCE_ROOT");
	char in[64] = "/tmp/qd-xlsx-spec.XXXXXX", out[64] = "/tmp/qd-xlsx.XXXXXX", cmd[1024], src[512];
	int fi = mkstemp(in), fo = mkstemp(out);
	ck_assert(fi >= 0 && fo >= 0 && root != NULL);
	close(fo);
	if (strstr(spec, ".json") == spec + strlen(spec) - 5) {
		snprintf(src, sizeof src, "%s/%s", root, spec);
	} else {
		ck_assert_int_eq(write(fi, spec, strlen(spec)), (ssize_t)strlen(spec));
		snprintf(src, sizeof src, "%s", in);
	}
	close(fi);
	snprintf(cmd, sizeof cmd, "python3 '%s/tests/data/xlsx/make_xlsx.py' '%s' < '%s'", root, out, src);
	ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
	FILE *f = fopen(out, "rb");
	ck_assert_ptr_nonnull(f);
	char *buf = malloc(1 << 20);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	unlink(in);
	unlink(out);
	return buf;
}

static http_response *put_xlsx(const char *id, const char *query, const char *ct, const char *buf, size_t len)
{
	char path[256], auth[128], cth[160];
	snprintf(path, sizeof path, "/v1/lists/%s%s%s", id, query ? "?" : "", query ? query : "");
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", HARNESS_ADMIN_TOKEN);
	snprintf(cth, sizeof cth, "Content-Type: %s", ct ? ct : QD_XLSX_TYPE);
	const char *hs[] = {auth, cth, NULL};
	return http_request("PUT", path, hs, buf, len);
}

/* A workbook's sheet holding the CSV's entries gives the same entries;
 * its problems name sheet, cell and column; a workbook sent as CSV is
 * named as one. */
START_TEST(test_xlsx)
{
	char sha[65];
	size_t len;
	json_int_t v = list_version(GBA, sha);
	char *wb = make_workbook("tests/data/xlsx/" GBA ".json", &len);

	http_response *r = put_xlsx(GBA, "sheet=%E6%B8%85%E5%8D%95", NULL, wb, len); /* 清单 */
	assert_status(r, 200);
	check_put_reply(r->json, GBA, v + 1, v, 5, 0, 0, 0);
	assert_jstr(r->json, "/sha256", sha);
	assert_jstr(r->json, "/action", "import");
	http_response_free(r);

	/* The first sheet is notes, not a list. */
	r = put_xlsx(GBA, NULL, NULL, wb, len);
	assert_error(r, 422, "invalid_document");
	assert_jint(r->json, "/error/details/0/line", 1);
	ck_assert_msg(strstr(jptr_str(r->json, "/error/details/0/message"), "说明!1: ") != NULL, "%s", r->body);
	http_response_free(r);

	r = put_xlsx(GBA, NULL, "text/csv", wb, len);
	assert_error(r, 415, "unsupported_media_type");
	assert_error_mentions(r, "is an .xlsx spreadsheet");
	assert_error_mentions(r, QD_XLSX_TYPE);
	http_response_free(r);

	r = put_xlsx(GBA, "sheet=x", "application/json", "{}", 2);
	assert_error(r, 400, "bad_parameter");
	assert_jstr(r->json, "/error/details/0/parameter", "sheet");
	http_response_free(r);
	free(wb);

	/* 0106190090 typed into a number cell is 106190090. */
	wb = make_workbook("{\"sheets\": [{\"name\": \"清单\", \"rows\": [[\"编号\", \"商品编码\", "
			   "\"商品名称\", \"依据条款\"], [\"PL-1\", 106190090, \"小鼠\", \"GACC-2022-143-1-1\"]]}]}",
			   &len);
	r = put_xlsx(GBA, NULL, NULL, wb, len);
	assert_error(r, 422, "invalid_document");
	ck_assert_msg(strstr(jptr_str(r->json, "/error/details/0/message"),
			     "清单!B2 (商品编码): the code is stored as the number 106190090") != NULL, "%s", r->body);
	assert_jint(r->json, "/error/details/0/column", 2);
	http_response_free(r);
	free(wb);
	ck_assert_int_eq(list_version(GBA, NULL), v + 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TCase asof: WL v1; GBA v1 (sample), 1.1 s later GBA v2 (gba_changed). */

static harness_daemon d_asof;
static char asof_t1[32], asof_t2[32]; /* loaded_at of GBA v1 and v2 */

static void setup_asof(void)
{
	start_fixture(&d_asof, NULL, false);
	http_response *r = put_sample(WL, WL_FILE);
	assert_status(r, 201);
	http_response_free(r);
	r = put_sample(GBA, GBA_FILE);
	assert_status(r, 201);
	http_response_free(r);
	usleep(1100 * 1000);
	json_t *doc = gba_changed();
	r = put_json(GBA, NULL, NULL, doc);
	assert_status(r, 200);
	http_response_free(r);
	json_decref(doc);
	r = get_ok("/v1/lists/" GBA "/versions");
	snprintf(asof_t2, sizeof asof_t2, "%s", jptr_str(r->json, "/versions/0/loaded_at"));
	snprintf(asof_t1, sizeof asof_t1, "%s", jptr_str(r->json, "/versions/1/loaded_at"));
	http_response_free(r);
	ck_assert_msg(utc_seconds(asof_t1) > 0 && utc_seconds(asof_t2) > utc_seconds(asof_t1),
		      "loaded_at of v1 (%s) and v2 (%s) are not apart", asof_t1, asof_t2);
}

static void teardown_asof(void)
{
	ht_stop_fixture(&d_asof);
}

START_TEST(test_asof_current)
{
	json_t *a = lookup_answer(LOOKUP_Q);
	assert_jstr(a, "/decision", "deny");
	assert_jstr(a, "/reason", "suspended");
	assert_jint(result_of(a, GBA), "/version", 2);
	assert_jint(result_of(a, WL), "/version", 1);
	json_decref(a);
}
END_TEST

START_TEST(test_asof_version)
{
	json_t *a = lookup_answer(LOOKUP_Q "&list=" GBA "&version=1");
	assert_jstr(a, "/decision", "allow");
	assert_jstr(a, "/reason", "listed");
	assert_jstr(a, "/basis/list", GBA);
	assert_jint(a, "/basis/version", 1);
	assert_jstr(a, "/basis/entry/id", "PL-0001");
	assert_jstr(a, "/basis/entry/status", "active");
	ck_assert_uint_eq(json_array_size(json_object_get(a, "results")), 1);
	assert_jint(a, "/results/0/version", 1);
	assert_jstr(a, "/query/list", GBA);
	json_decref(a);

	a = lookup_answer(LOOKUP_Q "&list=" GBA "&version=2");
	assert_jstr(a, "/decision", "deny");
	assert_jstr(a, "/reason", "suspended");
	assert_jnull(a, "/basis");
	assert_jint(a, "/results/0/version", 2);
	json_decref(a);
}
END_TEST

START_TEST(test_asof_at)
{
	char q[256];
	/* The instant v1 was stored: v1 answers (and WL's v1). */
	snprintf(q, sizeof q, LOOKUP_Q "&at=%s", asof_t1);
	json_t *a = lookup_answer(q);
	assert_jstr(a, "/decision", "allow");
	assert_jint(a, "/basis/version", 1);
	assert_jstr(a, "/basis/list", GBA);
	assert_jint(result_of(a, GBA), "/version", 1);
	ck_assert_msg(result_of(a, WL) != NULL, "the whitelist (stored before) is missing at %s", asof_t1);
	assert_jint(result_of(a, WL), "/version", 1);
	json_decref(a);

	/* The same instant written with +08:00 (the '+' escaped). */
	char cn[32], esc[48];
	china_time(utc_seconds(asof_t1), cn);
	snprintf(esc, sizeof esc, "%.19s%%2B08:00", cn);
	snprintf(q, sizeof q, LOOKUP_Q "&at=%s", esc);
	a = lookup_answer(q);
	assert_jint(result_of(a, GBA), "/version", 1);
	assert_jstr(a, "/decision", "allow");
	json_decref(a);

	/* Between the two loads (v2 came at least a second later) and at v2. */
	snprintf(q, sizeof q, LOOKUP_Q "&list=" GBA "&at=%s", asof_t2);
	a = lookup_answer(q);
	assert_jstr(a, "/decision", "deny");
	assert_jstr(a, "/reason", "suspended");
	assert_jint(result_of(a, GBA), "/version", 2);
	json_decref(a);

	/* Without date=, the decision is for the civil day (UTC+08:00) of at. */
	snprintf(q, sizeof q, "code=" CODE "&entity=" ENT "&at=%s", asof_t1);
	a = lookup_answer(q);
	char day[11];
	snprintf(day, sizeof day, "%.10s", cn);
	assert_jstr(a, "/query/date", day);
	assert_jint(result_of(a, GBA), "/version", 1);
	json_decref(a);

	/* Before any list existed: no list answers. */
	a = lookup_answer(LOOKUP_Q "&at=2001-01-01T00:00:00Z");
	assert_jstr(a, "/decision", "deny");
	assert_jstr(a, "/reason", "not_listed");
	ck_assert_uint_eq(json_array_size(json_object_get(a, "results")), 0);
	json_decref(a);
	http_response *r = http_get("/v1/lookup?" LOOKUP_Q "&list=" GBA "&at=2001-01-01T00:00:00Z");
	assert_error(r, 404, "list_not_found");
	http_response_free(r);
}
END_TEST

static const struct bad_asof {
	const char *query;
	int status;
	const char *code, *mentions;
} bad_asof[] = {
	{"&list=" GBA "&version=abc", 400, "bad_parameter", "version"},
	{"&list=" GBA "&version=0", 400, "bad_parameter", "version"},
	{"&list=" GBA "&version=-1", 400, "bad_parameter", "version"},
	{"&list=" GBA "&version=1.5", 400, "bad_parameter", "version"},
	{"&list=" GBA "&version=", 400, "bad_parameter", "version"},
	{"&list=" GBA "&version=99999999999", 400, "bad_parameter", "version"},
	{"&version=1", 400, "bad_parameter", "list"},
	{"&list=" GBA "&version=1&version=2", 400, "repeated_parameter", "version"},
	{"&at=yesterday", 400, "bad_parameter", "at"},
	{"&at=", 400, "bad_parameter", "at"},
	{"&at=2026-11-26", 400, "bad_parameter", "at"},
	{"&at=2026-13-01T00:00:00Z", 400, "bad_parameter", "at"},
	{"&at=2026-02-30T10:00:00Z", 400, "bad_parameter", "at"},
	{"&at=2026-11-26T25:00:00Z", 400, "bad_parameter", "at"},
	{"&at=2026-11-26T10:00:00", 400, "bad_parameter", "at"},
	{"&at=1795738115", 400, "bad_parameter", "at"},
	{"&list=" GBA "&version=1&at=2026-11-26T10:00:00Z", 400, "bad_parameter", "at"},
	{"&list=" GBA "&version=99", 404, "version_not_found", "version"},
	{"&list=no-such-list&version=1", 404, "list_not_found", "list"},
};

START_TEST(test_asof_bad)
{
	const struct bad_asof *c = &bad_asof[_i];
	http_response *r = http_get("/v1/lookup?" LOOKUP_Q "%s", c->query);
	assert_error(r, c->status, c->code);
	assert_error_mentions(r, c->mentions);
	http_response_free(r);
}
END_TEST

/* Versions beyond --retain-versions are gone: 404, said so. */
START_TEST(test_asof_pruned)
{
	harness_daemon d;
	static const char *const retain[] = {"--retain-versions", "2", NULL};
	harness_opts o = {.tokens = true, .extra_args = retain};
	char err[512];
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "start: %s", err);
	json_t *changed = gba_changed();
	http_response *r = put_sample(GBA, GBA_FILE);
	assert_status(r, 201);
	http_response_free(r);
	r = put_json(GBA, NULL, NULL, changed);
	assert_status(r, 200);
	http_response_free(r);
	r = put_sample(GBA, GBA_FILE);
	assert_status(r, 200);
	assert_jint(r->json, "/version", 3);
	http_response_free(r);
	r = get_ok("/v1/lists/" GBA "/versions");
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/versions")), 2);
	assert_jint(r->json, "/versions/1/version", 2);
	http_response_free(r);
	r = http_get("/v1/lists/" GBA "/versions/1");
	assert_error(r, 404, "version_not_found");
	assert_error_mentions(r, "retain");
	http_response_free(r);
	r = http_get("/v1/lookup?" LOOKUP_Q "&list=" GBA "&version=1");
	assert_error(r, 404, "version_not_found");
	http_response_free(r);
	r = post_rollback(GBA, HARNESS_ADMIN_TOKEN, NULL, "{\"version\":1}");
	assert_error(r, 404, "version_not_found");
	http_response_free(r);
	r = http_get("/v1/lists/" GBA "/diff?from=1&to=3");
	assert_error(r, 404, "version_not_found");
	http_response_free(r);
	/* Retained versions still answer. */
	json_t *a = lookup_answer(LOOKUP_Q "&list=" GBA "&version=2");
	assert_jstr(a, "/reason", "suspended");
	json_decref(a);
	json_decref(changed);
	ck_assert_msg(harness_stop(&d, err, sizeof err), "stop: %s", err);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *lifecycle_suite(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc;

	tc = ht_tcase(s, "history", setup_history, teardown_history);
	tcase_add_test(tc, test_versions_fields);
	tcase_add_test(tc, test_export_canonical);
	tcase_add_test(tc, test_export_roundtrip);
	tcase_add_test(tc, test_dry_run_changes);
	tcase_add_test(tc, test_put_changed);
	tcase_add_test(tc, test_diff_versions);
	tcase_add_test(tc, test_diff_errors);
	tcase_add_test(tc, test_if_match_412);
	tcase_add_test(tc, test_rollback);
	tcase_add_test(tc, test_rollback_errors);
	tcase_add_test(tc, test_versions_history);

	tc = ht_tcase(s, "audit", setup_audit, teardown_audit);
	tcase_add_test(tc, test_audit_records);
	tcase_add_test(tc, test_audit_paging);

	tc = ht_tcase(s, "csv", setup_csv, teardown_csv);
	tcase_add_test(tc, test_csv_unknown_list);
	tcase_add_test(tc, test_csv_bad);
	tcase_add_test(tc, test_csv_dry_run);
	tcase_add_test(tc, test_csv_utf8);
	tcase_add_test(tc, test_csv_bom);
	tcase_add_test(tc, test_csv_zh_headings);
	tcase_add_test(tc, test_csv_same_entries_every_encoding);
	tcase_add_test(tc, test_xlsx);

	tc = ht_tcase(s, "asof", setup_asof, teardown_asof);
	tcase_add_test(tc, test_asof_current);
	tcase_add_test(tc, test_asof_version);
	tcase_add_test(tc, test_asof_at);
	tcase_add_loop_test(tc, test_asof_bad, 0, (int)(sizeof bad_asof / sizeof bad_asof[0]));
	tcase_add_test(tc, test_asof_pruned);
	return s;
}

int main(void)
{
	return ht_run(lifecycle_suite());
}
