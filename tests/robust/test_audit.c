/* qingdan — refused attempts cost the store bounded space, and nothing on
 * a read or refusal path waits for the store's writer.
 *
 * Refusal flood: four client addresses (127.0.0.2 … 127.0.0.5) send
 * thousands of refused admin requests; the audit then holds a handful of
 * records whose counts add up to every refusal, and the store barely
 * grows.  qingdanctl audit --prune removes such records, never those of
 * stored changes.
 *
 * Writer stall: with one event thread, a big load runs while lookups and
 * refused admin calls keep answering on keep-alive connections.
 *
 * Queue: with one job thread and room for one waiting job, a third
 * concurrent load is answered 503 queue_full with Retry-After. */
#include <check.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../http/harness.h"
#include "robust.h"

static size_t discard(char *p, size_t size, size_t n, void *cls)
{
	(void)p;
	(void)cls;
	return size * n;
}

/* A keep-alive client bound to a source address. */
typedef struct client {
	CURL *h;
	char url[256];
} client;

static void client_init(client *c, const char *source)
{
	c->h = curl_easy_init();
	ck_assert_ptr_nonnull(c->h);
	if (source)
		curl_easy_setopt(c->h, CURLOPT_INTERFACE, source);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
}

/* One request; returns the status, *ms the time it took. */
static long client_do(client *c, const char *method, const char *path, const char *token, const char *body,
		      long *ms)
{
	snprintf(c->url, sizeof c->url, "%s%s", harness_current()->base_url, path);
	curl_easy_setopt(c->h, CURLOPT_URL, c->url);
	curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, method);
	struct curl_slist *hl = NULL;
	char auth[128];
	if (token) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
		hl = curl_slist_append(hl, auth);
	}
	hl = curl_slist_append(hl, "Content-Type: application/json");
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hl);
	if (body) {
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else {
		curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, method);
	}
	long t0 = robust_now_ms();
	CURLcode rc = curl_easy_perform(c->h);
	if (ms)
		*ms = robust_now_ms() - t0;
	curl_slist_free_all(hl);
	long st = 0;
	if (rc == CURLE_OK)
		curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &st);
	return st;
}

static void client_free(client *c)
{
	curl_easy_cleanup(c->h);
}

static json_t *status_json(void)
{
	http_response *r = http_get("/v1/status");
	ck_assert_int_eq(r->status, 200);
	json_t *j = json_incref(r->json);
	http_response_free(r);
	return j;
}

enum { SOURCES = 4, PER_SOURCE = 2500 };

START_TEST(refusal_flood_bounded)
{
	static const char *const extra[] = {"--audit-window", "2", "--access-log", "off", NULL};
	harness_opts o = {.tokens = true, .extra_args = extra};
	harness_daemon d;
	char err[512];
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "%s", err);
	json_t *s0 = status_json();
	json_int_t used0 = json_integer_value(jptr(s0, "/store/map_used_bytes"));
	json_int_t recs0 = json_integer_value(jptr(s0, "/store/audit_records"));
	json_decref(s0);

	long t0 = robust_now_ms();
	unsigned sent = 0;
	for (int s = 0; s < SOURCES; s++) {
		char src[16];
		snprintf(src, sizeof src, "127.0.0.%d", 2 + s);
		client c;
		client_init(&c, src);
		for (int i = 0; i < PER_SOURCE; i++, sent++) {
			/* two kinds from each address: no token, and a wrong one */
			long st = i % 2 ? client_do(&c, "PUT", "/v1/lists/flood", NULL, "{}", NULL)
					: client_do(&c, "GET", "/v1/audit", "not-a-token", NULL, NULL);
			ck_assert_int_eq(st, 401);
		}
		client_free(&c);
	}
	long flood_ms = robust_now_ms() - t0;
	/* Past the window: the repeats are written as one record per kind. */
	robust_sleep_ms(2500);

	http_response *r = http_request_auth("GET", "/v1/audit?limit=1000", HARNESS_ADMIN_TOKEN, NULL, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	json_t *recs = jptr(r->json, "/records");
	size_t n = json_array_size(recs);
	unsigned long long counted = 0;
	bool sources[SOURCES] = {false};
	for (size_t i = 0; i < n; i++) {
		json_t *rec = json_array_get(recs, i);
		const char *addr = jptr_str(rec, "/client");
		ck_assert_msg(addr != NULL, "an attempt record without its client: %s", json_compact(rec, NULL));
		ck_assert_int_eq(json_integer_value(jptr(rec, "/status")), 401);
		ck_assert_str_eq(jptr_str(rec, "/outcome"), "refused");
		json_int_t cnt = json_integer_value(jptr(rec, "/count"));
		ck_assert_int_ge(cnt, 1);
		if (cnt > 1)
			ck_assert_msg(jptr_str(rec, "/last_time") != NULL, "an aggregate without last_time");
		counted += (unsigned long long)cnt;
		int k = atoi(addr + strlen("127.0.0.")) - 2;
		if (k >= 0 && k < SOURCES)
			sources[k] = true;
	}
	http_response_free(r);
	json_t *s1 = status_json();
	json_int_t grown = json_integer_value(jptr(s1, "/store/map_used_bytes")) - used0;
	json_int_t recs1 = json_integer_value(jptr(s1, "/store/audit_records"));
	json_decref(s1);
	printf("refusal flood: %u refused requests from %d addresses in %ld ms: %zu audit records "
	       "(counting %llu attempts), store grew %lld bytes (%lld records before, %lld after)\n",
	       sent, SOURCES, flood_ms, n, counted, (long long)grown, (long long)recs0, (long long)recs1);
	/* Every refusal is accounted for, in a bounded number of records:
	 * per kind (2 per address) at most 2 per window. */
	ck_assert_uint_eq(counted, sent);
	unsigned windows = (unsigned)(flood_ms / 2000) + 3;
	ck_assert_msg(n <= 2u * 2 * SOURCES * windows, "%zu audit records for %u refusals", n, sent);
	for (int s = 0; s < SOURCES; s++)
		ck_assert_msg(sources[s], "no record names 127.0.0.%d", 2 + s);
	ck_assert_msg(grown <= 256 * 1024, "the store grew %lld bytes", (long long)grown);

	/* qingdanctl audit --prune, beside the running daemon (LMDB allows
	 * both): a stored change, then all attempt records but the newest go. */
	size_t len;
	unsigned ne;
	char *doc = robust_doc("kept", 10, 0, &len, &ne);
	r = http_request_auth("PUT", "/v1/lists/kept", HARNESS_ADMIN_TOKEN, NULL, doc, len);
	ck_assert_int_eq(r->status, 201);
	http_response_free(r);
	free(doc);
	char db[300];
	snprintf(db, sizeof db, "%s", d.db);
	const char *prune[] = {"--db", db, "audit", "--prune", "--keep", "1", NULL};
	char *out = NULL;
	ck_assert_int_eq(harness_run_ctl(prune, &out), 0);
	char want[64];
	snprintf(want, sizeof want, "pruned %zu ", n - 1);
	ck_assert_msg(out && strstr(out, want), "qingdanctl audit --prune said: %s (expected %s)", out, want);
	free(out);
	const char *list[] = {"--db", db, "audit", "--limit", "1000", NULL};
	ck_assert_int_eq(harness_run_ctl(list, &out), 0);
	unsigned lines = 0, stored = 0;
	for (char *p = out; p && *p; p++)
		lines += *p == '\n';
	for (char *p = out; p && (p = strstr(p, " stored ")); p++)
		stored++;
	ck_assert_msg(lines == 2 && stored == 1, "after the prune: %s", out);
	free(out);
	const char *bad[] = {"--db", db, "audit", "--prune", "--keep", "0", NULL};
	ck_assert_int_eq(harness_run_ctl(bad, NULL), 64);
	ck_assert_msg(harness_stop(&d, err, sizeof err), "%s", err);
}
END_TEST

typedef struct loader {
	char *doc;
	size_t len;
	const char *list;
	long status, ms;
	char retry_after[32];
} loader;

static size_t header_cb(char *p, size_t size, size_t n, void *cls)
{
	loader *l = cls;
	size_t len = size * n;
	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
		snprintf(l->retry_after, sizeof l->retry_after, "%.*s", (int)(len - 12), p + 12);
	return len;
}

static void *load_thread(void *arg)
{
	loader *l = arg;
	CURL *h = curl_easy_init();
	char url[256], path[64];
	snprintf(path, sizeof path, "/v1/lists/%s", l->list);
	snprintf(url, sizeof url, "%s%s", harness_current()->base_url, path);
	struct curl_slist *hl = curl_slist_append(NULL, "Authorization: Bearer " HARNESS_ADMIN_TOKEN);
	hl = curl_slist_append(hl, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, l->doc);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)l->len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, l);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 240000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	long t0 = robust_now_ms();
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &l->status);
	l->ms = robust_now_ms() - t0;
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	return NULL;
}

/* Entries in the big load: seconds of work under every build. */
#define BIG_ENTRIES 60000

/* One big load (list "big", n entries, variant v) while lookups and refused
 * calls run on the two keep-alive clients; returns the load's time and
 * the slowest of each. */
static long stall_round(client *look, client *refuse, unsigned n, unsigned v, long *worst_lookup,
			long *worst_refusal)
{
	loader l = {.list = "big"};
	unsigned ne;
	l.doc = robust_doc("big", n, v, &l.len, &ne);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, load_thread, &l), 0);
	*worst_lookup = *worst_refusal = 0;
	unsigned rounds = 0;
	long t0 = robust_now_ms();
	/* until the load has answered (its thread sets status) */
	while (__atomic_load_n(&l.status, __ATOMIC_SEQ_CST) == 0 && robust_now_ms() - t0 < 240000) {
		long ms;
		long st = client_do(look, "GET", "/v1/lookup?code=" ROBUST_CODE_FLIP, NULL, NULL, &ms);
		ck_assert_msg(st == 200 || st == 404, "lookup: %ld", st);
		if (ms > *worst_lookup)
			*worst_lookup = ms;
		st = client_do(refuse, "PUT", "/v1/lists/big", "wrong-token", "{}", &ms);
		ck_assert_int_eq(st, 401);
		if (ms > *worst_refusal)
			*worst_refusal = ms;
		rounds++;
		robust_sleep_ms(5);
	}
	pthread_join(t, NULL);
	printf("writer stall: a %zu-byte, %u-entry load took %ld ms; meanwhile %u lookups and refusals on "
	       "one event thread, slowest lookup %ld ms, slowest refusal %ld ms\n",
	       l.len, ne, l.ms, rounds, *worst_lookup, *worst_refusal);
	ck_assert_msg(l.status == 200 || l.status == 201, "the load: %ld", l.status);
	ck_assert_msg(*worst_lookup < 500 && *worst_refusal < 500,
		      "a lookup waited %ld ms, a refusal %ld ms, during a %ld ms load", *worst_lookup,
		      *worst_refusal, l.ms);
	free(l.doc);
	return l.ms;
}

START_TEST(no_wait_for_writer)
{
	static const char *const extra[] = {"--threads", "1", "--access-log", "off", NULL};
	harness_opts o = {.tokens = true, .extra_args = extra};
	harness_daemon d;
	char err[512];
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "%s", err);
	client look, refuse;
	client_init(&look, NULL);
	client_init(&refuse, NULL);
	/* the connections exist before the load starts (keep-alive) */
	ck_assert_int_eq(client_do(&look, "GET", "/healthz", NULL, NULL, NULL), 200);
	ck_assert_int_eq(client_do(&refuse, "GET", "/healthz", NULL, NULL, NULL), 200);
	/* Loads of growing size until one lasts a second: long enough that a
	 * lookup waiting for it would be seen (a fast machine loads the first
	 * size in less). */
	long took = 0, wl, wr;
	unsigned n = BIG_ENTRIES;
	for (unsigned v = 0; v < 4 && took < 1000; v++, n *= 2)
		took = stall_round(&look, &refuse, n, v, &wl, &wr);
	ck_assert_msg(took >= 1000, "the longest load took %ld ms: too short to show a stall", took);
	client_free(&look);
	client_free(&refuse);
	ck_assert_msg(harness_stop(&d, err, sizeof err), "%s", err);
}
END_TEST

START_TEST(job_queue_full)
{
	static const char *const extra[] = {"--job-threads", "1", "--max-queued-jobs", "1", "--access-log", "off",
					    NULL};
	harness_opts o = {.tokens = true, .extra_args = extra};
	harness_daemon d;
	char err[512];
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "%s", err);
	static const char *const names[] = {"q-one", "q-two", "q-three"};
	loader l[3];
	pthread_t t[3];
	unsigned ne;
	for (int i = 0; i < 3; i++) {
		l[i] = (loader){.list = names[i]};
		l[i].doc = robust_doc(names[i], 2 * BIG_ENTRIES, (unsigned)i, &l[i].len, &ne);
	}
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(pthread_create(&t[i], NULL, load_thread, &l[i]), 0);
		robust_sleep_ms(150); /* in this order into the queue, well within one load */
	}
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	printf("job queue: three loads with one job thread and one place in the queue: %ld (%ld ms), %ld (%ld ms), "
	       "%ld (%ld ms)\n", l[0].status, l[0].ms, l[1].status, l[1].ms, l[2].status, l[2].ms);
	ck_assert_int_eq(l[0].status, 201);
	ck_assert_int_eq(l[1].status, 201);
	ck_assert_int_eq(l[2].status, 503);
	ck_assert_msg(atoi(l[2].retry_after) > 0, "no Retry-After on the 503: \"%s\"", l[2].retry_after);
	/* the refused load is audited as refused, the others as stored */
	http_response *r = http_request_auth("GET", "/v1/audit?limit=10", HARNESS_ADMIN_TOKEN, NULL, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(jptr_str(r->json, "/records/0/outcome"), "stored");
	bool refused = false;
	for (size_t i = 0; i < json_array_size(jptr(r->json, "/records")); i++) {
		json_t *rec = json_array_get(jptr(r->json, "/records"), i);
		if (json_integer_value(jptr(rec, "/status")) == 503 && strcmp(jptr_str(rec, "/list"), "q-three") == 0)
			refused = true;
	}
	ck_assert_msg(refused, "the 503 is not in the audit: %s", r->body);
	http_response_free(r);
	for (int i = 0; i < 3; i++)
		free(l[i].doc);
	ck_assert_msg(harness_stop(&d, err, sizeof err), "%s", err);
}
END_TEST

int main(void)
{
	curl_global_init(CURL_GLOBAL_ALL);
	Suite *s = suite_create("robust-audit");
	TCase *tc = tcase_create("audit");
	tcase_set_timeout(tc, 280);
	tcase_add_test(tc, refusal_flood_bounded);
	tcase_add_test(tc, no_wait_for_writer);
	tcase_add_test(tc, job_queue_full);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
