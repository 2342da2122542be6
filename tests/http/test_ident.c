/* qingdan — HTTP tests of jurisdiction and item identity at the edges:
 * qingdand --customs as the office of declaration a query does not give
 * (and a bad one refused at start), v2 list documents with a bad member
 * refused naming it with nothing stored, and declared names and specs
 * that are too long or not UTF-8.
 *
 * One daemon started with --customs 2201 and both sample lists, in an
 * unchecked fixture (tests/http/harness.c).  The sample whitelist's
 * WL-0008 approves WL_ENT for 3002510000 in customs 51; WL-0001 approves
 * SH_ENT for 3002150000 in customs 22. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness.h"
#include "suite.h"

#define DEFAULT_CUSTOMS "2201"
#define WL_ENT "91440115MA9W3K7C66"
#define WL_Q "/v1/lookup?code=3002510000&entity=" WL_ENT "&date=" DAY "&list=" WL
#define SH_ENT "91310115MA1K8N6D88"
#define SH_Q "/v1/lookup?code=3002150000&entity=" SH_ENT "&date=" DAY "&list=" WL

static harness_daemon g_d;

static void setup(void)
{
	const char *args[] = {"--customs", DEFAULT_CUSTOMS, NULL};
	harness_opts o = {.tokens = true, .extra_args = args};
	ht_start_with_samples(&g_d, &o);
}

static void teardown(void)
{
	ht_stop_fixture(&g_d);
}

/* GET path (a lookup), which must answer 200 with decision and reason. */
static http_response *lookup_says(const char *path, const char *decision, const char *reason)
{
	http_response *r = http_get("%s", path);
	assert_status(r, 200);
	assert_jstr(r->json, "/decision", decision);
	assert_jstr(r->json, "/reason", reason);
	return r;
}

static http_response *post_check(const char *body)
{
	return http_request("POST", "/v1/check", NULL, body, strlen(body));
}

/* ---- qingdand --customs: the office of declaration by default ---- */

START_TEST(test_default_customs_lookup)
{
	/* No customs= in the query: decided for 2201, which WL-0008's 51
	 * excludes and WL-0001's 22 includes. */
	http_response *r = lookup_says(WL_Q, "deny", "outside_jurisdiction");
	assert_jstr(r->json, "/query/customs", DEFAULT_CUSTOMS);
	assert_jstr(r->json, "/results/0/near_misses/0/entry/id", "WL-0008");
	assert_jstr(r->json, "/results/0/near_misses/0/reason", "outside_jurisdiction");
	http_response_free(r);
	r = lookup_says(SH_Q, "allow", "listed");
	assert_jstr(r->json, "/query/customs", DEFAULT_CUSTOMS);
	assert_jstr(r->json, "/basis/entry/id", "WL-0001");
	http_response_free(r);

	/* customs= in the query overrides the default, both ways. */
	r = lookup_says(WL_Q "&customs=5101", "allow", "listed");
	assert_jstr(r->json, "/query/customs", "5101");
	assert_jstr(r->json, "/basis/entry/id", "WL-0008");
	http_response_free(r);
	r = lookup_says(SH_Q "&customs=5101", "deny", "outside_jurisdiction");
	assert_jstr(r->json, "/query/customs", "5101");
	http_response_free(r);

	/* A bad customs= is still refused, not replaced by the default. */
	r = http_get(WL_Q "&customs=51");
	assert_error(r, 400, "bad_parameter");
	assert_jstr(r->json, "/error/details/0/parameter", "customs");
	http_response_free(r);
}
END_TEST

START_TEST(test_default_customs_check)
{
	const char *body = "{\"entity\":\"" WL_ENT "\",\"date\":\"" DAY "\",\"list\":\"" WL "\",\"items\":["
			   "{\"ref\":\"a\",\"code\":\"3002510000\"},"
			   "{\"ref\":\"b\",\"code\":\"3002510000\",\"customs\":\"5101\"}]}";
	http_response *r = post_check(body);
	assert_status(r, 200);
	assert_jstr(r->json, "/items/0/reason", "outside_jurisdiction");
	assert_jstr(r->json, "/items/0/query/customs", DEFAULT_CUSTOMS);
	assert_jstr(r->json, "/items/1/reason", "listed");
	assert_jstr(r->json, "/items/1/query/customs", "5101");
	http_response_free(r);

	/* The request's customs overrides the default for every item. */
	body = "{\"entity\":\"" WL_ENT "\",\"date\":\"" DAY "\",\"list\":\"" WL "\",\"customs\":\"5101\","
	       "\"items\":[{\"ref\":\"a\",\"code\":\"3002510000\"}]}";
	r = post_check(body);
	assert_status(r, 200);
	assert_jstr(r->json, "/items/0/reason", "listed");
	assert_jstr(r->json, "/items/0/query/customs", "5101");
	http_response_free(r);
}
END_TEST

/* A bad --customs, on the command line or in a configuration file, stops
 * qingdand at start naming the option and the value. */
START_TEST(test_bad_default_customs_refused)
{
	const char *t = getenv("TMPDIR");
	char dir[256], db[300], conf[300], listen[64];
	snprintf(dir, sizeof dir, "%s/qd-ident-XXXXXX", t && *t ? t : "/tmp");
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(db, sizeof db, "%s/db", dir);
	snprintf(listen, sizeof listen, "127.0.0.1:%u", harness_free_port());
	const char *bad[] = {"52", "52011", "52a1", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *args[] = {"--db", db, "--listen", listen, "--customs", bad[i], NULL};
		char *err = NULL;
		int rc = harness_run_daemon(args, 10000, NULL, &err);
		ck_assert_msg(rc > 0, "--customs \"%s\": exit %d, expected a refusal", bad[i], rc);
		ck_assert_msg(err && strstr(err, "--customs") && strstr(err, "4 digits"),
			      "--customs \"%s\": the refusal does not name the option: %s", bad[i], err ? err : "");
		free(err);
	}
	snprintf(conf, sizeof conf, "%s/q.conf", dir);
	FILE *f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "db = %s\nlisten = %s\ncustoms = 5201x\n", db, listen);
	fclose(f);
	const char *args[] = {"--config", conf, NULL};
	char *err = NULL;
	int rc = harness_run_daemon(args, 10000, NULL, &err);
	ck_assert_msg(rc > 0, "customs = 5201x in a file: exit %d, expected a refusal", rc);
	ck_assert_msg(err && strstr(err, ":3: customs") && strstr(err, "5201x"),
		      "the refusal does not name the line and key: %s", err ? err : "");
	free(err);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* ---- a v2 document with one bad member: 422 naming it, nothing stored ---- */

typedef struct list_state {
	json_int_t version;
	char sha256[65];
	char *lookup; /* a lookup the whitelist decides, without decision_id */
} list_state;

static list_state wl_state(void)
{
	list_state s;
	http_response *r = ht_get_ok("/v1/lists/" WL);
	json_t *v = jptr(r->json, "/version");
	ck_assert(json_is_integer(v));
	s.version = json_integer_value(v);
	const char *sha = jptr_str(r->json, "/sha256");
	ck_assert(sha && ht_is_hex64(sha));
	snprintf(s.sha256, sizeof s.sha256, "%s", sha);
	http_response_free(r);
	r = ht_get_ok(SH_Q "&customs=2201&name=%E5%8D%95%E6%8A%97%E6%B3%A8%E5%B0%84%E6%B6%B2(%E7%A0%94%E5%8F%91%E7%94%A8)");
	json_object_del(r->json, "decision_id");
	s.lookup = json_compact(r->json, NULL);
	http_response_free(r);
	return s;
}

START_TEST(test_bad_v2_documents)
{
	static const struct {
		const char *what, *pointer, *key; /* set key of the object at pointer */
		const char *value;                /* JSON */
		const char *path;                 /* the detail that must name it */
	} bad[] = {
		{"a scope prefix of 3 digits", "/scope", "customs",
		 "[\"01\", \"04\", \"22\", \"51\", \"5201\", \"57\", \"79\", \"520\"]", "/scope/customs/7"},
		{"an unknown batch id", "/entries/0", "batch", "\"第九批\"", "/entries/0/batch"},
		{"identity not item or category", "/entries/0", "identity", "\"product\"", "/entries/0/identity"},
		{"an empty alias", "/entries/0", "aliases", "[\"\"]", "/entries/0/aliases/0"},
		{"aliases not an array", "/entries/0", "aliases", "\"x\"", "/entries/0/aliases"},
		{"an alias of punctuation only", "/entries/17", "aliases", "[\"慢病毒载体\", \"（）\"]",
		 "/entries/17/aliases/1"},
		{"entry customs outside the list's scope", "/entries/0", "customs", "[\"53\"]", "/entries/0/customs/0"},
	};
	list_state before = wl_state();
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *doc = ht_sample_json(WL_FILE);
		json_t *obj = jptr(doc, bad[i].pointer);
		ck_assert_msg(json_is_object(obj), "%s: no object at %s", bad[i].what, bad[i].pointer);
		json_error_t je;
		json_t *val = json_loads(bad[i].value, JSON_DECODE_ANY, &je);
		ck_assert_ptr_nonnull(val);
		json_object_set_new(obj, bad[i].key, val);
		size_t len;
		char *s = json_compact(doc, &len);
		json_decref(doc);
		const char *queries[] = {NULL, "dry_run=true"};
		for (size_t k = 0; k < 2; k++) {
			http_response *r = ht_put_list(WL, queries[k], HARNESS_ADMIN_TOKEN, NULL, s, len);
			ck_assert_msg(r->status == 422, "%s%s: expected 422, got %ld: %.600s", bad[i].what,
				      queries[k] ? " (dry run)" : "", r->status, r->body);
			assert_error(r, 422, "invalid_document");
			json_t *details = jptr(r->json, "/error/details");
			ck_assert_msg(json_array_size(details) == 1, "%s: %zu details, expected 1: %s", bad[i].what,
				      json_array_size(details), r->body);
			assert_jstr(r->json, "/error/details/0/path", bad[i].path);
			http_response_free(r);
		}
		free(s);
		list_state now = wl_state();
		ck_assert_msg(now.version == before.version, "%s: the version went from %lld to %lld", bad[i].what,
			      (long long)before.version, (long long)now.version);
		ck_assert_msg(strcmp(now.sha256, before.sha256) == 0, "%s: the sha256 changed", bad[i].what);
		ck_assert_msg(strcmp(now.lookup, before.lookup) == 0, "%s: a lookup answers differently:\n%s\n%s",
			      bad[i].what, before.lookup, now.lookup);
		free(now.lookup);
	}
	free(before.lookup);
}
END_TEST

/* ---- declared names and specs at the edges ---- */

START_TEST(test_declared_limits)
{
	/* 256 bytes is the most: a spec of 256 bytes is compared (WL-0001
	 * has a spec, so it differs), one of 257 is refused naming spec. */
	char path[1024];
	int n = snprintf(path, sizeof path, SH_Q "&spec=");
	memset(path + n, 'a', 256);
	path[n + 256] = '\0';
	http_response *r = lookup_says(path, "deny", "item_differs");
	http_response_free(r);
	path[n + 256] = 'a';
	path[n + 257] = '\0';
	r = http_get("%s", path);
	assert_error(r, 400, "bad_parameter");
	assert_jstr(r->json, "/error/details/0/parameter", "spec");
	assert_error_mentions(r, "256");
	http_response_free(r);

	/* Not UTF-8: a lone continuation byte, a cut-off sequence, an
	 * overlong form. */
	static const struct {
		const char *query, *param;
	} not_utf8[] = {
		{"&name=%80abc", "name"},
		{"&name=%E7%8E", "name"},
		{"&spec=500mg%C0%AF", "spec"},
		{"&spec=%FF", "spec"},
	};
	for (size_t i = 0; i < sizeof not_utf8 / sizeof not_utf8[0]; i++) {
		r = http_get(SH_Q "%s", not_utf8[i].query);
		assert_error(r, 400, "bad_parameter");
		assert_jstr(r->json, "/error/details/0/parameter", not_utf8[i].param);
		http_response_free(r);
	}

	/* In a check, a bad item spec is that item's bad_item, naming it. */
	char body[1200];
	n = snprintf(body, sizeof body, "{\"entity\":\"" SH_ENT "\",\"date\":\"" DAY "\",\"list\":\"" WL "\",\"items\":["
			 "{\"ref\":\"a\",\"code\":\"3002150000\",\"spec\":\"");
	memset(body + n, 'b', 257);
	snprintf(body + n + 257, sizeof body - (size_t)n - 257,
		 "\"},{\"ref\":\"b\",\"code\":\"3002150000\",\"spec\":\"\\u00ff\\u00fe\"}]}");
	r = post_check(body);
	assert_status(r, 200);
	assert_jint(r->json, "/summary/invalid", 1);
	assert_jstr(r->json, "/items/0/error/details/0/path", "/items/0/spec");
	/* \u00ff\u00fe is well-formed text: compared, and different */
	assert_jstr(r->json, "/items/1/reason", "item_differs");
	http_response_free(r);
}
END_TEST

static Suite *ident_suite(void)
{
	Suite *s = suite_create("ident");
	TCase *tc = ht_tcase(s, "ident", setup, teardown);
	tcase_add_test(tc, test_default_customs_lookup);
	tcase_add_test(tc, test_default_customs_check);
	tcase_add_test(tc, test_bad_default_customs_refused);
	tcase_add_test(tc, test_bad_v2_documents);
	tcase_add_test(tc, test_declared_limits);
	return s;
}

int main(void)
{
	return ht_run(ident_suite());
}
