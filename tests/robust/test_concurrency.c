/* qingdan — concurrency: a loader thread replaces a list again and again,
 * alternating two documents A and B, while reader threads run lookups and
 * checks against the daemon.  No request may fail, and every answer must
 * come from exactly one version: within one check, every item names the
 * same version of the list, and every decision is the one that version's
 * document gives (A allows 9701000000 and does not list 9702000000; B has
 * 9701000000 suspended and allows 9702000000 — see robust.h).
 *
 * The loader sets the variant a version will hold before it sends the PUT
 * (a list has one writer here, so version n+1 is the next), so a reader can
 * never see a version whose content is unknown. */
#include <check.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "robust.h"

#define LIST "robust-list"
#define GBA "gba-research-positive"
#define ENTRIES 3000
#define READERS 4
#define RUN_MS 8000
#define RUN_MAX_MS 40000 /* within the test's timeout */
#define MAXV 100000
#define CHECK_ITEMS 24

static harness_daemon d;
static char *doc[2];
static size_t doc_len[2];
static _Atomic int variant_of[MAXV]; /* version -> 0 (A), 1 (B); -1 unknown */
static atomic_bool stop;
static atomic_long n_loads, n_lookups, n_checks, n_items, n_errors, v_min = MAXV, v_max;
static pthread_mutex_t err_mu = PTHREAD_MUTEX_INITIALIZER;
static char first_error[600];

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void report(const char *fmt, ...)
{
	atomic_fetch_add(&n_errors, 1);
	pthread_mutex_lock(&err_mu);
	if (!first_error[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(first_error, sizeof first_error, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&err_mu);
}

static void seen(long v)
{
	long m = atomic_load(&v_min);
	while (v < m && !atomic_compare_exchange_weak(&v_min, &m, v))
		;
	m = atomic_load(&v_max);
	while (v > m && !atomic_compare_exchange_weak(&v_max, &m, v))
		;
}

/* What variant `var` decides for a code: decision and reason. */
static void expected(int var, const char *code, const char **dec, const char **reason)
{
	bool flip = strcmp(code, ROBUST_CODE_FLIP) == 0;
	if (!flip && strcmp(code, ROBUST_CODE_NEW) != 0) {
		*dec = "deny"; /* in neither document */
		*reason = "not_listed";
	} else if (var == 0) {
		*dec = flip ? "allow" : "deny";
		*reason = flip ? "listed" : "not_listed";
	} else {
		*dec = flip ? "deny" : "allow";
		*reason = flip ? "suspended" : "listed";
	}
}

/* Check one decision object (a lookup or a check item) for code; returns
 * the version of LIST it came from, or -1 after report(). */
static long check_decision(json_t *o, const char *code, const char *what)
{
	json_t *results = json_object_get(o, "results");
	size_t i;
	json_t *res;
	json_t *mine = NULL;
	json_array_foreach(results, i, res)
		if (strcmp(json_string_value(json_object_get(res, "list")) ?: "", LIST) == 0)
			mine = res;
	if (!mine) {
		report("%s %s: no result for %s", what, code, LIST);
		return -1;
	}
	long v = (long)json_integer_value(json_object_get(mine, "version"));
	if (v < 1 || v >= MAXV || atomic_load(&variant_of[v]) < 0) {
		report("%s %s: version %ld of %s was never loaded", what, code, v, LIST);
		return -1;
	}
	int var = atomic_load(&variant_of[v]);
	const char *dec, *reason;
	expected(var, code, &dec, &reason);
	const char *got_dec = json_string_value(json_object_get(mine, "decision"));
	const char *got_reason = json_string_value(json_object_get(mine, "reason"));
	if (!got_dec || !got_reason || strcmp(got_dec, dec) || strcmp(got_reason, reason)) {
		report("%s %s: version %ld (document %c) answered %s/%s, expected %s/%s", what, code, v, 'A' + var,
		     got_dec ?: "?", got_reason ?: "?", dec, reason);
		return -1;
	}
	seen(v);
	return v;
}

static void *loader(void *p)
{
	(void)p;
	long v = 1;
	int var = 0;
	while (!atomic_load(&stop)) {
		var = 1 - var;
		atomic_store(&variant_of[v + 1], var);
		http_response *r = http_request_auth("PUT", "/v1/lists/" LIST, HARNESS_ADMIN_TOKEN, NULL, doc[var],
						     doc_len[var]);
		long got = (long)json_integer_value(json_object_get(r->json, "version"));
		if (r->status != 200 || got != v + 1) {
			report("PUT %c: HTTP %ld, version %ld (expected %ld): %.200s", 'A' + var, r->status, got, v + 1,
			     r->body);
			http_response_free(r);
			break;
		}
		http_response_free(r);
		v++;
		atomic_fetch_add(&n_loads, 1);
		if (v + 2 >= MAXV)
			break;
	}
	return NULL;
}

static void *reader(void *p)
{
	long k = (long)(intptr_t)p;
	/* Check bodies: the two marker codes, interleaved with others. */
	char body[2048];
	const char *codes[CHECK_ITEMS];
	size_t n = (size_t)snprintf(body, sizeof body, "{\"date\":\"2026-01-01\",\"items\":[");
	for (int i = 0; i < CHECK_ITEMS; i++) {
		codes[i] = i % 3 == 0 ? ROBUST_CODE_FLIP : i % 3 == 1 ? ROBUST_CODE_NEW : "3822190090";
		n += (size_t)snprintf(body + n, sizeof body - n, "%s{\"ref\":%d,\"code\":\"%s\"}", i ? "," : "", i,
				      codes[i]);
	}
	snprintf(body + n, sizeof body - n, "]}");
	while (!atomic_load(&stop)) {
		k++;
		if (k % 2) {
			const char *code = k % 4 == 1 ? ROBUST_CODE_FLIP : ROBUST_CODE_NEW;
			http_response *r = http_get("/v1/lookup?code=%s&date=2026-01-01%s", code,
						    k % 8 < 4 ? "&list=" LIST : "");
			if (r->status != 200)
				report("lookup %s: HTTP %ld %s %.200s", code, r->status, r->curl_error, r->body);
			else
				check_decision(r->json, code, "lookup");
			http_response_free(r);
			atomic_fetch_add(&n_lookups, 1);
		} else {
			http_response *r = http_request("POST", "/v1/check", NULL, body, strlen(body));
			if (r->status != 200) {
				report("check: HTTP %ld %s %.200s", r->status, r->curl_error, r->body);
			} else {
				json_t *items = json_object_get(r->json, "items");
				long v0 = -1;
				if (json_array_size(items) != CHECK_ITEMS)
					report("check: %zu items answered", json_array_size(items));
				for (size_t i = 0; i < json_array_size(items); i++) {
					long v = check_decision(json_array_get(items, i), codes[i], "check item");
					if (v < 0)
						break;
					if (v0 < 0)
						v0 = v;
					else if (v != v0) {
						report("check: item %zu from version %ld, item 0 from version %ld", i, v, v0);
						break;
					}
				}
				atomic_fetch_add(&n_items, (long)json_array_size(items));
			}
			http_response_free(r);
			atomic_fetch_add(&n_checks, 1);
		}
	}
	return NULL;
}

static void setup(void)
{
	curl_global_init(CURL_GLOBAL_ALL);
	static const char *const extra[] = {"--retain-versions", "5", "--access-log", "off", NULL};
	harness_opts o = {.tokens = true, .extra_args = extra};
	char err[512];
	if (!harness_start(&d, &o, err, sizeof err)) {
		fprintf(stderr, "cannot start qingdand: %s\n", err);
		abort();
	}
}

static void teardown(void)
{
	char err[512];
	if (d.pid && !harness_stop(&d, err, sizeof err))
		fprintf(stderr, "stopping qingdand: %s\n", err);
}

START_TEST(loads_under_reads)
{
	for (int i = 0; i < MAXV; i++)
		atomic_init(&variant_of[i], -1);
	for (int i = 0; i < 2; i++) {
		unsigned cnt;
		doc[i] = robust_doc(LIST, ENTRIES, (unsigned)i, &doc_len[i], &cnt);
	}
	size_t len;
	char *gba = harness_read_source("schema/examples/gba-research-positive.json", &len);
	http_response *r = http_request_auth("PUT", "/v1/lists/" GBA, HARNESS_ADMIN_TOKEN, NULL, gba, len);
	ck_assert_int_eq(r->status, 201);
	http_response_free(r);
	free(gba);
	atomic_store(&variant_of[1], 0);
	r = http_request_auth("PUT", "/v1/lists/" LIST, HARNESS_ADMIN_TOKEN, NULL, doc[0], doc_len[0]);
	ck_assert_int_eq(r->status, 201);
	http_response_free(r);

	pthread_t lt, rt[READERS];
	long t0 = robust_now_ms();
	pthread_create(&lt, NULL, loader, NULL);
	for (long i = 0; i < READERS; i++)
		pthread_create(&rt[i], NULL, reader, (void *)(intptr_t)i);
	/* At least RUN_MS; on a busy machine longer, until the interleaving
	 * the assertions below ask for has happened (at most RUN_MAX_MS). */
	while (atomic_load(&n_errors) == 0) {
		long el = robust_now_ms() - t0;
		bool enough = atomic_load(&n_loads) >= 5 && atomic_load(&n_checks) >= 20 &&
			      atomic_load(&v_max) - atomic_load(&v_min) >= 3;
		if ((el >= RUN_MS && enough) || el >= RUN_MAX_MS)
			break;
		robust_sleep_ms(50);
	}
	atomic_store(&stop, true);
	pthread_join(lt, NULL);
	for (int i = 0; i < READERS; i++)
		pthread_join(rt[i], NULL);
	long took = robust_now_ms() - t0;

	printf("concurrency: %.1f s, %ld loads (%d-entry documents, alternating A/B), %d reader threads: "
	       "%ld lookups, %ld checks (%ld items), versions %ld..%ld seen by readers, %ld errors or mixed answers\n",
	       (double)took / 1000, atomic_load(&n_loads), ENTRIES, READERS, atomic_load(&n_lookups),
	       atomic_load(&n_checks), atomic_load(&n_items), atomic_load(&v_min), atomic_load(&v_max),
	       atomic_load(&n_errors));
	ck_assert_msg(atomic_load(&n_errors) == 0, "%ld failures; first: %s", atomic_load(&n_errors), first_error);
	/* The run must really have interleaved loads with reads. */
	ck_assert_int_ge(atomic_load(&n_loads), 5);
	ck_assert_int_ge(atomic_load(&v_max) - atomic_load(&v_min), 3);
	ck_assert_int_ge(atomic_load(&n_checks), 20);
	free(doc[0]);
	free(doc[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("robust-concurrency");
	TCase *tc = tcase_create("concurrency");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, loads_under_reads);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
