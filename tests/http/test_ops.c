/* qingdan — HTTP tests of operations: status, readiness,
 * metrics, access and decision logs, SIGHUP (tokens, log reopening),
 * graceful SIGTERM with a request in flight, --config, --check-config,
 * --help and --version.
 *
 * Like test_http.c: daemons are children started with tests/http/harness.c
 * in unchecked fixtures (in the runner's process) or inside a test; Check
 * forks each test. */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "harness.h"
#include "suite.h"
#include "qingdan/sha256.h"


/* ------------------------------------------------------------------ */
/* helpers */

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *build_root(void)
{
	const char *b = getenv("QD_BUILD_ROOT");
	return b && *b ? b : "build";
}

static http_response *put_sample(const char *id, const char *file, const char *token)
{
	size_t len;
	char *s = ht_sample_text(file, &len);
	http_response *r = ht_put_list(id, NULL, token, NULL, s, len);
	free(s);
	return r;
}

static http_response *get_ok(const char *path)
{
	http_response *r = http_get("%s", path);
	assert_status(r, 200);
	return r;
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Wait (up to timeout_ms) until the file contains needle; returns its
 * contents (caller frees) or NULL. */
static char *wait_for_text(const char *path, const char *needle, long timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	for (;;) {
		char *s = harness_read_file(path);
		if (s && strstr(s, needle))
			return s;
		free(s);
		if (now_ms() > deadline)
			return NULL;
		sleep_ms(20);
	}
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	/* Tokens files among them: qingdand refuses one others can write. */
	ck_assert_int_eq(chmod(path, 0600), 0);
}

/* "NAME ROLE SHA256HEX" */
static void token_line(char *out, size_t n, const char *name, const char *role, const char *token)
{
	char hex[QD_SHA256_HEX];
	qd_sha256_hex(token, strlen(token), hex);
	snprintf(out, n, "%s %s %s\n", name, role, hex);
}

static void rm_rf(const char *dir)
{
	if (!dir[0])
		return;
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static void make_tmpdir(char *out, size_t n, const char *tag)
{
	const char *t = getenv("TMPDIR");
	snprintf(out, n, "%s/qd-%s-XXXXXX", t && *t ? t : "/tmp", tag);
	ck_assert_msg(mkdtemp(out) != NULL, "mkdtemp: %s", strerror(errno));
}

/* Run qingdand with args to its end (at most 10 s); see harness_run_daemon(). */
static int run_qingdand(const char *const *args, char **out, char **err)
{
	return harness_run_daemon(args, 10000, out, err);
}

/* ---- a request whose body arrives slowly, from a thread ---- */

typedef struct slow_req {
	char url[256];
	const char *token;
	const char *body;
	size_t len, pos;
	size_t chunk;
	long delay_ms;
	long status;
	char *resp;
	size_t resp_len;
	char err[CURL_ERROR_SIZE];
	volatile bool done;
} slow_req;

static size_t slow_read(char *buf, size_t size, size_t nmemb, void *ud)
{
	slow_req *s = ud;
	if (s->pos >= s->len)
		return 0;
	if (s->pos > 0)
		sleep_ms(s->delay_ms);
	size_t n = size * nmemb;
	if (n > s->chunk)
		n = s->chunk;
	if (n > s->len - s->pos)
		n = s->len - s->pos;
	memcpy(buf, s->body + s->pos, n);
	s->pos += n;
	return n;
}

static size_t slow_write(char *p, size_t size, size_t nmemb, void *ud)
{
	slow_req *s = ud;
	size_t n = size * nmemb;
	char *nb = realloc(s->resp, s->resp_len + n + 1);
	if (!nb)
		return 0;
	s->resp = nb;
	memcpy(s->resp + s->resp_len, p, n);
	s->resp_len += n;
	s->resp[s->resp_len] = '\0';
	return n;
}

/* PUT s->body to s->url with a chunked body, s->chunk bytes every s->delay_ms. */
static void *slow_put(void *arg)
{
	slow_req *s = arg;
	CURL *h = curl_easy_init();
	struct curl_slist *hl = NULL;
	char auth[256];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", s->token);
	hl = curl_slist_append(hl, auth);
	hl = curl_slist_append(hl, "Content-Type: application/json");
	hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(h, CURLOPT_URL, s->url);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, slow_read);
	curl_easy_setopt(h, CURLOPT_READDATA, s);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, slow_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->err);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &s->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	s->done = true;
	return NULL;
}

static void slow_start(slow_req *s, pthread_t *t, const char *path, const char *body, size_t len, size_t chunk,
		       long delay_ms)
{
	memset(s, 0, sizeof *s);
	snprintf(s->url, sizeof s->url, "%s%s", harness_current()->base_url, path);
	s->token = HARNESS_ADMIN_TOKEN;
	s->body = body;
	s->len = len;
	s->chunk = chunk;
	s->delay_ms = delay_ms;
	ck_assert_int_eq(pthread_create(t, NULL, slow_put, s), 0);
	/* Wait until the upload has really begun. */
	long deadline = now_ms() + 5000;
	while (s->pos < 2 * chunk && !s->done && now_ms() < deadline)
		sleep_ms(5);
	ck_assert_msg(!s->done, "the slow upload ended at once (HTTP %ld %s)", s->status, s->err);
}

/* ---- one keep-alive connection, to see whether it survives ---- */

static long keepalive_get(CURL *h, const char *path, long *new_connections)
{
	char url[512];
	snprintf(url, sizeof url, "%s%s", harness_current()->base_url, path);
	FILE *sink = fopen("/dev/null", "w");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	long status = 0, conns = -1;
	if (curl_easy_perform(h) == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
	}
	fclose(sink);
	*new_connections = conns;
	return status;
}

/* ---- metrics text ---- */

/* Value of the sample whose "name{labels}" is exactly series; -1 when absent. */
static double metric(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	}
	return -1;
}

/* Sum of the samples of a family (lines starting with "name{"), skipping
 * those whose line contains any of the excluded substrings; *lines gets
 * the number of samples summed. */
static double metric_sum(const char *text, const char *name, const char *const *exclude, int *lines)
{
	char pre[128];
	snprintf(pre, sizeof pre, "%s{", name);
	double sum = 0;
	int k = 0;
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, pre, strlen(pre)) != 0)
			continue;
		const char *eol = strchrnul(p, '\n');
		bool skip = false;
		for (size_t i = 0; exclude && exclude[i]; i++) {
			const char *x = strstr(p, exclude[i]);
			if (x && x < eol)
				skip = true;
		}
		if (skip)
			continue;
		const char *sp = memrchr(p, ' ', (size_t)(eol - p));
		sum += strtod(sp + 1, NULL);
		k++;
	}
	if (lines)
		*lines = k;
	return sum;
}

static char *scrape(void)
{
	http_response *r = http_get("/metrics");
	assert_status(r, 200);
	const char *ct = http_header(r, "Content-Type");
	ck_assert_msg(ct && strncmp(ct, "text/plain", 10) == 0 && strstr(ct, "version=0.0.4"),
		      "/metrics Content-Type is %s", ct ? ct : "(none)");
	char *s = strdup(r->body);
	http_response_free(r);
	return s;
}

/* ------------------------------------------------------------------ */
/* fixtures */

static void start_daemon(harness_daemon *d, const char *const *extra)
{
	harness_opts o = {.tokens = true, .extra_args = extra};
	char err[512];
	ck_assert_msg(harness_start(d, &o, err, sizeof err), "cannot start qingdand: %s", err);
}

static void preload(void)
{
	http_response *a = put_sample(GBA, GBA_FILE, HARNESS_ADMIN_TOKEN);
	http_response *b = put_sample(WL, WL_FILE, HARNESS_ADMIN_TOKEN);
	assert_status(a, 201);
	assert_status(b, 201);
	http_response_free(a);
	http_response_free(b);
}

static harness_daemon d_status, d_metrics, d_logs;
static void setup_status(void) { start_daemon(&d_status, NULL); }
static void teardown_status(void) { ht_stop_fixture(&d_status); }
static void setup_metrics(void) { start_daemon(&d_metrics, NULL); }
static void teardown_metrics(void) { ht_stop_fixture(&d_metrics); }

/* logs: access and decision logs in a directory of our own. */
static char logdir[256], access_path[300], decision_path[300];
static const char *logs_args[5];

static void setup_logs(void)
{
	make_tmpdir(logdir, sizeof logdir, "logs");
	snprintf(access_path, sizeof access_path, "%s/access.log", logdir);
	snprintf(decision_path, sizeof decision_path, "%s/decision.log", logdir);
	logs_args[0] = "--access-log";
	logs_args[1] = access_path;
	logs_args[2] = "--decision-log";
	logs_args[3] = decision_path;
	logs_args[4] = NULL;
	start_daemon(&d_logs, logs_args);
	preload();
}

static void teardown_logs(void)
{
	ht_stop_fixture(&d_logs);
	rm_rf(logdir);
}

/* ------------------------------------------------------------------ */
/* TCase status: /healthz, /readyz, /v1/status.  Order matters. */

START_TEST(test_readyz_before_any_list)
{
	http_response *r = http_get("/healthz");
	assert_status(r, 200);
	http_response_free(r);
	r = http_get("/readyz");
	assert_error(r, 503, "not_ready");
	const char *m = jptr_str(r->json, "/error/message");
	ck_assert_msg(m && strstr(m, "list"), "the 503 does not give the reason: %s", r->body);
	http_response_free(r);
}
END_TEST

static void check_store(json_t *st)
{
	json_t *size = jptr(st, "/store/map_size_bytes"), *used = jptr(st, "/store/map_used_bytes");
	json_t *pct = jptr(st, "/store/map_used_percent");
	ck_assert_msg(json_is_integer(size) && json_integer_value(size) > 0, "store.map_size_bytes");
	ck_assert_msg(json_is_integer(used) && json_integer_value(used) > 0 &&
			      json_integer_value(used) <= json_integer_value(size),
		      "store.map_used_bytes");
	ck_assert_msg(json_is_number(pct), "store.map_used_percent is not a number");
	double want = 100.0 * (double)json_integer_value(used) / (double)json_integer_value(size);
	ck_assert_msg(json_number_value(pct) >= 0 && json_number_value(pct) <= 100 &&
			      json_number_value(pct) > want - 0.011 && json_number_value(pct) < want + 0.011,
		      "store.map_used_percent %g, expected %g", json_number_value(pct), want);
	json_t *ru = jptr(st, "/store/readers_used"), *rm = jptr(st, "/store/readers_max");
	ck_assert_msg(json_is_integer(ru) && json_is_integer(rm) && json_integer_value(ru) >= 0 &&
			      json_integer_value(rm) > 0 && json_integer_value(ru) <= json_integer_value(rm),
		      "store.readers_used / readers_max");
}

/* Loads both samples. */
START_TEST(test_status_fields)
{
	/* The version reported is the one the binary prints. */
	char *out = NULL;
	const char *args[] = {"--version", NULL};
	ck_assert_int_eq(run_qingdand(args, &out, NULL), 0);
	char version[64] = "";
	ck_assert_msg(out && sscanf(out, "qingdand %63s", version) == 1, "qingdand --version printed %s", out);
	free(out);

	http_response *r = get_ok("/v1/status");
	json_t *st = r->json;
	assert_jstr(st, "/build/name", "qingdand");
	assert_jstr(st, "/build/version", version);
	ck_assert_msg(json_is_integer(jptr(st, "/uptime_seconds")) && json_integer_value(jptr(st, "/uptime_seconds")) >= 0,
		      "uptime_seconds");
	ck_assert_msg(ht_is_rfc3339(jptr_str(st, "/started_at")), "started_at");
	ck_assert_msg(json_is_array(jptr(st, "/lists")) && json_array_size(jptr(st, "/lists")) == 0, "lists: %s", r->body);
	check_store(st);
	json_int_t used0 = json_integer_value(jptr(st, "/store/map_used_bytes"));
	http_response_free(r);

	char sha_gba[65], sha_wl[65];
	r = put_sample(GBA, GBA_FILE, HARNESS_ADMIN_TOKEN);
	assert_status(r, 201);
	snprintf(sha_gba, sizeof sha_gba, "%s", jptr_str(r->json, "/sha256"));
	http_response_free(r);
	r = put_sample(WL, WL_FILE, HARNESS_ADMIN_TOKEN);
	assert_status(r, 201);
	snprintf(sha_wl, sizeof sha_wl, "%s", jptr_str(r->json, "/sha256"));
	http_response_free(r);

	r = get_ok("/v1/status");
	st = r->json;
	json_t *lists = jptr(st, "/lists");
	ck_assert_msg(json_array_size(lists) == 2, "expected two lists: %s", r->body);
	/* Ordered by id. */
	assert_jstr(lists, "/0/id", WL);
	assert_jstr(lists, "/1/id", GBA);
	assert_jstr(lists, "/0/kind", "whitelist");
	assert_jstr(lists, "/1/kind", "positive");
	for (int i = 0; i < 2; i++) {
		json_t *l = json_array_get(lists, (size_t)i);
		assert_jint(l, "/version", 1);
		assert_jint(l, "/entries", i == 0 ? 18 : 32);
		assert_jstr(l, "/sha256", i == 0 ? sha_wl : sha_gba);
		ck_assert_msg(ht_is_rfc3339(jptr_str(l, "/loaded_at")), "lists[%d].loaded_at", i);
		ck_assert_msg(json_is_object(jptr(l, "/title")), "lists[%d].title", i);
	}
	check_store(st);
	ck_assert_msg(json_integer_value(jptr(st, "/store/map_used_bytes")) > used0,
		      "map_used_bytes did not grow with two lists");
	assert_jint(st, "/store/versions", 2);
	assert_jint(st, "/store/entries", 50);
	http_response_free(r);
}
END_TEST

START_TEST(test_readyz_after_a_list)
{
	http_response *r = get_ok("/readyz");
	assert_jstr(r->json, "/status", "ready");
	assert_jint(r->json, "/lists", 2);
	http_response_free(r);
}
END_TEST

START_TEST(test_status_uptime)
{
	http_response *r = get_ok("/v1/status");
	json_int_t u0 = json_integer_value(jptr(r->json, "/uptime_seconds"));
	char started[40];
	snprintf(started, sizeof started, "%s", jptr_str(r->json, "/started_at"));
	http_response_free(r);
	sleep_ms(1100);
	r = get_ok("/v1/status");
	ck_assert_msg(json_integer_value(jptr(r->json, "/uptime_seconds")) >= u0 + 1, "uptime did not advance");
	assert_jstr(r->json, "/started_at", started);
	http_response_free(r);
	/* Unknown parameters are refused here too. */
	r = http_get("/v1/status?verbose=1");
	assert_error(r, 400, "unknown_parameter");
	http_response_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TCase metrics: known traffic on a fresh daemon, then one scrape. */

typedef struct counter {
	char key[200];
	long n;
} counter;

static void count(counter *c, size_t *n, size_t cap, const char *key)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(c[i].key, key) == 0) {
			c[i].n++;
			return;
		}
	ck_assert_uint_lt(*n, cap);
	snprintf(c[*n].key, sizeof c[*n].key, "%s", key);
	c[*n].n = 1;
	(*n)++;
}

/* Count what a decided answer (a lookup or a check item) adds to
 * qingdan_decisions_total (one per consulted list) and qingdan_answers_total. */
static void count_answer(json_t *a, counter *dec, size_t *nd, counter *ans, size_t *na)
{
	char key[200];
	size_t i;
	json_t *res;
	json_array_foreach(json_object_get(a, "results"), i, res) {
		snprintf(key, sizeof key, "qingdan_decisions_total{list=\"%s\",decision=\"%s\",reason=\"%s\"}",
			 jptr_str(res, "/list"), jptr_str(res, "/decision"), jptr_str(res, "/reason"));
		count(dec, nd, 64, key);
	}
	snprintf(key, sizeof key, "qingdan_answers_total{decision=\"%s\",reason=\"%s\"}", jptr_str(a, "/decision"),
		 jptr_str(a, "/reason"));
	count(ans, na, 64, key);
}

START_TEST(test_metrics_after_traffic)
{
	long t0 = (long)time(NULL);
	counter dec[64], ans[64];
	size_t nd = 0, na = 0;
	int sent = 0; /* requests other than /healthz and /metrics */
	http_response *r;

	/* Loads: 2 stored, 1 refused (422), 1 refused (401), 1 dry run. */
	preload();
	sent += 2;
	json_t *bad = harness_load_json(GBA_FILE);
	json_object_set_new(jptr(bad, "/entries/0"), "code", json_string("38AB"));
	char *bads = json_compact(bad, NULL);
	r = ht_put_list(GBA, NULL, HARNESS_ADMIN_TOKEN, NULL, bads, strlen(bads));
	assert_status(r, 422);
	http_response_free(r);
	free(bads);
	json_decref(bad);
	r = put_sample(GBA, GBA_FILE, NULL);
	assert_status(r, 401);
	http_response_free(r);
	size_t len;
	char *doc = ht_sample_text(GBA_FILE, &len);
	r = ht_put_list(GBA, "dry_run=true", HARNESS_ADMIN_TOKEN, NULL, doc, len);
	assert_status(r, 200);
	http_response_free(r);
	free(doc);
	sent += 3;

	/* N lookups answered 200. */
	static const char *const lookups[] = {
		LOOKUP_Q, LOOKUP_Q, LOOKUP_Q, "code=0101210010&date=" DAY,
		"code=3002150000&entity=91310115MA1K8N6D88&date=" DAY, "code=3822&list=" GBA "&date=" DAY,
	};
	const int N = (int)(sizeof lookups / sizeof lookups[0]);
	for (int i = 0; i < N; i++) {
		r = http_get("/v1/lookup?%s", lookups[i]);
		assert_status(r, 200);
		count_answer(r->json, dec, &nd, ans, &na);
		http_response_free(r);
	}
	sent += N;
	/* M checks (an invalid item is not a decision). */
	static const char *const checks[] = {
		"{\"entity\":\"" ENT "\",\"date\":\"" DAY "\",\"items\":[{\"ref\":1,\"code\":\"" CODE
		"\"},{\"ref\":2,\"code\":\"0101210010\"},{\"ref\":3,\"code\":\"12AB\"}]}",
		"{\"date\":\"" DAY "\",\"list\":\"" WL "\",\"items\":[{\"code\":\"3002150000\"}]}",
	};
	const int M = (int)(sizeof checks / sizeof checks[0]);
	for (int i = 0; i < M; i++) {
		r = http_request("POST", "/v1/check", NULL, checks[i], strlen(checks[i]));
		assert_status(r, 200);
		size_t k;
		json_t *it;
		json_array_foreach(jptr(r->json, "/items"), k, it)
			if (json_object_get(it, "results"))
				count_answer(it, dec, &nd, ans, &na);
		http_response_free(r);
	}
	sent += M;
	/* 404s and a 400. */
	r = http_get("/v1/lists/no-such-list");
	assert_status(r, 404);
	http_response_free(r);
	r = http_get("/no/such/endpoint");
	assert_status(r, 404);
	http_response_free(r);
	r = http_get("/v1/lookup?code=" CODE "&list=no-such-list");
	assert_status(r, 404);
	http_response_free(r);
	r = http_get("/v1/lookup?code=12AB");
	assert_status(r, 400);
	http_response_free(r);
	sent += 4;

	/* Scrape until every request above has been counted (each is counted
	 * when libmicrohttpd reports it complete, just after the reply). */
	static const char *const not_mine[] = {"route=\"/healthz\"", "route=\"/metrics\"", NULL};
	char *m = NULL;
	long deadline = now_ms() + 3000;
	for (;;) {
		free(m);
		m = scrape();
		if ((int)metric_sum(m, "qingdan_http_requests_total", not_mine, NULL) >= sent || now_ms() > deadline)
			break;
		sleep_ms(20);
	}
	ck_assert_msg((int)metric_sum(m, "qingdan_http_requests_total", not_mine, NULL) == sent,
		      "requests counted: %g, sent: %d\n%s", metric_sum(m, "qingdan_http_requests_total", not_mine, NULL),
		      sent, m);

	static const struct {
		const char *series;
		double want;
	} exact[] = {
		{"qingdan_http_requests_total{route=\"/v1/lists/{id}\",method=\"PUT\",status=\"201\"}", 2},
		{"qingdan_http_requests_total{route=\"/v1/lists/{id}\",method=\"PUT\",status=\"200\"}", 1},
		{"qingdan_http_requests_total{route=\"/v1/lists/{id}\",method=\"PUT\",status=\"401\"}", 1},
		{"qingdan_http_requests_total{route=\"/v1/lists/{id}\",method=\"PUT\",status=\"422\"}", 1},
		{"qingdan_http_requests_total{route=\"/v1/lookup\",method=\"GET\",status=\"404\"}", 1},
		{"qingdan_http_requests_total{route=\"/v1/lookup\",method=\"GET\",status=\"400\"}", 1},
		{"qingdan_http_requests_total{route=\"/v1/lists/{id}\",method=\"GET\",status=\"404\"}", 1},
		{"qingdan_http_requests_total{route=\"unmatched\",method=\"-\",status=\"404\"}", 1},
		{"qingdan_loads_total{outcome=\"stored\"}", 2},
		{"qingdan_loads_total{outcome=\"dry_run\"}", 1},
		{"qingdan_loads_total{outcome=\"refused\"}", 2},
		{"qingdan_loads_total{outcome=\"failed\"}", 0},
		{"qingdan_list_version{list=\"" GBA "\"}", 1},
		{"qingdan_list_version{list=\"" WL "\"}", 1},
		{"qingdan_list_entries{list=\"" GBA "\"}", 32},
		{"qingdan_list_entries{list=\"" WL "\"}", 18},
	};
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		ck_assert_msg(metric(m, exact[i].series) == exact[i].want, "%s is %g, expected %g", exact[i].series,
			      metric(m, exact[i].series), exact[i].want);
	char s[200];
	snprintf(s, sizeof s, "qingdan_http_requests_total{route=\"/v1/lookup\",method=\"GET\",status=\"200\"}");
	ck_assert_msg(metric(m, s) == N, "%s is %g, expected %d", s, metric(m, s), N);
	snprintf(s, sizeof s, "qingdan_http_requests_total{route=\"/v1/check\",method=\"POST\",status=\"200\"}");
	ck_assert_msg(metric(m, s) == M, "%s is %g, expected %d", s, metric(m, s), M);

	/* Decisions by list, decision and reason: exactly what the answers said. */
	int lines;
	double total = metric_sum(m, "qingdan_decisions_total", NULL, &lines);
	ck_assert_msg(lines == (int)nd, "%d qingdan_decisions_total series, expected %zu:\n%s", lines, nd, m);
	long want_total = 0;
	for (size_t i = 0; i < nd; i++) {
		ck_assert_msg(metric(m, dec[i].key) == dec[i].n, "%s is %g, expected %ld", dec[i].key,
			      metric(m, dec[i].key), dec[i].n);
		want_total += dec[i].n;
	}
	ck_assert_msg(total == want_total, "decisions total %g, expected %ld", total, want_total);
	ck_assert_msg(nd >= 3, "the traffic should have produced several kinds of decisions");
	metric_sum(m, "qingdan_answers_total", NULL, &lines);
	ck_assert_int_eq(lines, (int)na);
	for (size_t i = 0; i < na; i++)
		ck_assert_msg(metric(m, ans[i].key) == ans[i].n, "%s is %g, expected %ld", ans[i].key, metric(m, ans[i].key),
			      ans[i].n);

	/* The latency histogram: cumulative buckets, +Inf = _count = every request counted. */
	double prev = -1, inf = -1;
	int buckets = 0;
	for (const char *p = m; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		static const char bucket[] = "qingdan_http_request_duration_seconds_bucket{le=\"";
		if (strncmp(p, bucket, sizeof bucket - 1) != 0)
			continue;
		const char *sp = strchr(p, ' ');
		double v = strtod(sp + 1, NULL);
		ck_assert_msg(v >= prev, "histogram buckets are not cumulative:\n%s", m);
		prev = v;
		buckets++;
		if (strncmp(p + sizeof bucket - 1, "+Inf\"", 5) == 0)
			inf = v;
	}
	ck_assert_int_ge(buckets, 5);
	double cnt = metric(m, "qingdan_http_request_duration_seconds_count");
	double all = metric_sum(m, "qingdan_http_requests_total", NULL, NULL);
	ck_assert_msg(inf == cnt && cnt == all, "+Inf bucket %g, _count %g, requests counted %g", inf, cnt, all);
	ck_assert_msg(metric(m, "qingdan_http_request_duration_seconds_sum") > 0, "_sum is not positive");

	/* Store and load gauges agree with /v1/status. */
	double used = metric(m, "qingdan_lmdb_map_used_bytes");
	double last = metric(m, "qingdan_last_load_time_seconds");
	ck_assert_msg(last >= t0 && last <= (double)time(NULL), "qingdan_last_load_time_seconds %g", last);
	r = get_ok("/v1/status");
	ck_assert_msg(used > 0 && used == (double)json_integer_value(jptr(r->json, "/store/map_used_bytes")),
		      "qingdan_lmdb_map_used_bytes %g, /v1/status says %lld", used,
		      (long long)json_integer_value(jptr(r->json, "/store/map_used_bytes")));
	http_response_free(r);

	/* Every family is typed; every sample is named qingdan_*. */
	static const char *const types[] = {
		"# TYPE qingdan_http_requests_total counter\n",
		"# TYPE qingdan_http_request_duration_seconds histogram\n",
		"# TYPE qingdan_decisions_total counter\n",
		"# TYPE qingdan_loads_total counter\n",
		"# TYPE qingdan_list_version gauge\n",
		"# TYPE qingdan_list_entries gauge\n",
		"# TYPE qingdan_lmdb_map_used_bytes gauge\n",
		"# TYPE qingdan_last_load_time_seconds gauge\n",
		"# TYPE qingdan_read_cache_hits_total counter\n",
		"# TYPE qingdan_read_cache_misses_total counter\n",
		"# TYPE qingdan_read_cache_resets_total counter\n",
	};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		ck_assert_msg(strstr(m, types[i]) != NULL, "no \"%.*s\"", (int)strlen(types[i]) - 1, types[i]);
	for (const char *p = m; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		ck_assert_msg(*p == '#' || strncmp(p, "qingdan_", 8) == 0, "a sample not named qingdan_*: %.80s", p);

	/* The read caches (one per worker thread, summed): a lookup asked
	 * again on the thread that answered it is a hit.  Each connection
	 * goes to one of the harness's two threads, so of three identical
	 * lookups two share a thread and the later of them hits. */
	double hits0 = metric(m, "qingdan_read_cache_hits_total");
	double misses0 = metric(m, "qingdan_read_cache_misses_total");
	ck_assert_msg(hits0 >= 0 && misses0 > 0 && metric(m, "qingdan_read_cache_resets_total") >= 0,
		      "read cache counters: hits %g, misses %g, resets %g", hits0, misses0,
		      metric(m, "qingdan_read_cache_resets_total"));
	for (int i = 0; i < 3; i++) {
		r = http_get("/v1/lookup?code=2934999011&entity=" ENT "&date=" DAY);
		assert_status(r, 200);
		http_response_free(r);
	}
	free(m);
	m = scrape();
	double hits1 = metric(m, "qingdan_read_cache_hits_total");
	ck_assert_msg(hits1 >= hits0 + 1, "the same lookup three times: read cache hits %g, then %g", hits0, hits1);
	ck_assert_msg(metric(m, "qingdan_read_cache_misses_total") >= misses0, "misses went down: %g, then %g", misses0,
		      metric(m, "qingdan_read_cache_misses_total"));
	free(m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TCase logs: --access-log and --decision-log files, SIGHUP. */

/* The lines of a log file parsed as JSON (array; every line must parse). */
static json_t *log_lines(const char *path)
{
	char *s = harness_read_file(path);
	ck_assert_msg(s != NULL, "cannot read %s", path);
	json_t *a = json_array();
	char *save = NULL;
	for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t e;
		json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &e);
		ck_assert_msg(json_is_object(j), "a log line is not a JSON object: %s", line);
		json_array_append_new(a, j);
	}
	free(s);
	return a;
}

/* Lines of the access log whose route is not /healthz (the harness polls it). */
static size_t access_lines_not_healthz(json_t *lines)
{
	size_t n = 0, i;
	json_t *l;
	json_array_foreach(lines, i, l)
		if (!jptr_str(l, "/route") || strcmp(jptr_str(l, "/route"), "/healthz") != 0)
			n++;
	return n;
}

START_TEST(test_access_log)
{
	/* Secrets in the token, the query and the body. */
	http_response *r = http_request_auth("GET", "/v1/lookup?code=" CODE "&entity=HK:S3CR3T-QUERY-VALUE-91&date=" DAY,
					     HARNESS_READER_TOKEN, NULL, NULL, 0);
	assert_status(r, 200);
	http_response_free(r);
	json_t *doc = harness_load_json(GBA_FILE);
	json_object_set_new(jptr(doc, "/title"), "en", json_string("BODY-MARKER-7731"));
	char *body = json_compact(doc, NULL);
	r = ht_put_list(GBA, "dry_run=true", HARNESS_ADMIN_TOKEN, NULL, body, strlen(body));
	assert_status(r, 200);
	http_response_free(r);
	free(body);
	json_decref(doc);
	r = http_get("/v1/lists/" GBA "?api_key=QUERY-KEY-SECRET-12");
	assert_status(r, 400);
	http_response_free(r);
	r = http_request_auth("GET", "/v1/audit", "WRONG-TOKEN-SECRET-55", NULL, NULL, 0);
	assert_status(r, 401);
	http_response_free(r);

	char *text = wait_for_text(access_path, "\"status\":401", 3000);
	ck_assert_msg(text != NULL, "the 401 never reached %s", access_path);
	sleep_ms(150);
	free(text);
	text = harness_read_file(access_path);
	static const char *const secrets[] = {HARNESS_READER_TOKEN, HARNESS_ADMIN_TOKEN, "WRONG-TOKEN-SECRET", "S3CR3T",
					      "QUERY-KEY-SECRET", "BODY-MARKER", "Bearer", "?"};
	for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
		ck_assert_msg(strstr(text, secrets[i]) == NULL, "the access log holds \"%s\":\n%s", secrets[i], text);
	free(text);

	json_t *lines = log_lines(access_path);
	/* One line per request: 2 preloads + the 4 above. */
	ck_assert_msg(access_lines_not_healthz(lines) == 6, "%zu access log lines (besides /healthz), expected 6",
		      access_lines_not_healthz(lines));
	size_t i;
	json_t *l;
	bool seen_lookup = false, seen_put = false, seen_401 = false;
	json_array_foreach(lines, i, l) {
		char *s = json_compact(l, NULL);
		ck_assert_msg(ht_is_rfc3339(jptr_str(l, "/time")), "no time: %s", s);
		ck_assert_msg(jptr_str(l, "/method") && jptr_str(l, "/route"), "no method or route: %s", s);
		ck_assert_msg(json_is_integer(jptr(l, "/status")), "no status: %s", s);
		ck_assert_msg(json_is_number(jptr(l, "/duration_ms")) && json_number_value(jptr(l, "/duration_ms")) >= 0,
			      "no duration_ms: %s", s);
		assert_jstr(l, "/client", "127.0.0.1");
		const char *route = jptr_str(l, "/route"), *method = jptr_str(l, "/method");
		json_int_t st = json_integer_value(jptr(l, "/status"));
		if (strcmp(route, "/v1/lookup") == 0 && strcmp(method, "GET") == 0 && st == 200)
			seen_lookup = true;
		if (strcmp(route, "/v1/lists/{id}") == 0 && strcmp(method, "PUT") == 0 && st == 200) {
			seen_put = true;
			/* The token's name may be logged, never the token. */
			assert_jstr(l, "/actor", HARNESS_ADMIN_NAME);
		}
		if (strcmp(route, "/v1/audit") == 0 && st == 401)
			seen_401 = true;
		free(s);
	}
	ck_assert_msg(seen_lookup && seen_put && seen_401, "missing lines (lookup %d, PUT %d, 401 %d)", seen_lookup,
		      seen_put, seen_401);
	json_decref(lines);
}
END_TEST

START_TEST(test_decision_log)
{
	http_response *r = http_get("/v1/lookup?" LOOKUP_Q);
	assert_status(r, 200);
	char id[64];
	snprintf(id, sizeof id, "%s", jptr_str(r->json, "/decision_id"));
	char needle[100];
	snprintf(needle, sizeof needle, "\"decision_id\":\"%s\"", id);
	char *text = wait_for_text(decision_path, needle, 3000);
	ck_assert_msg(text != NULL, "decision %s never reached %s", id, decision_path);
	free(text);
	json_t *lines = log_lines(decision_path);
	json_t *found = NULL, *l;
	size_t i;
	json_array_foreach(lines, i, l)
		if (jptr_str(l, "/decision_id") && strcmp(jptr_str(l, "/decision_id"), id) == 0)
			found = l;
	ck_assert_ptr_nonnull(found);
	ck_assert_msg(ht_is_rfc3339(jptr_str(found, "/time")), "no time");
	assert_jstr(found, "/query/code", CODE);
	assert_jstr(found, "/query/entity", ENT);
	assert_jstr(found, "/query/date", DAY);
	assert_jstr(found, "/decision", jptr_str(r->json, "/decision"));
	assert_jstr(found, "/reason", jptr_str(r->json, "/reason"));
	json_t *ls = jptr(found, "/lists");
	ck_assert_msg(json_array_size(ls) == json_array_size(jptr(r->json, "/results")) && json_array_size(ls) == 2,
		      "the decision log names %zu lists", json_array_size(ls));
	json_t *res;
	json_array_foreach(jptr(r->json, "/results"), i, res) {
		bool match = false;
		size_t k;
		json_t *x;
		json_array_foreach(ls, k, x)
			if (strcmp(jptr_str(x, "/list"), jptr_str(res, "/list")) == 0) {
				ck_assert_int_eq(json_integer_value(jptr(x, "/version")), json_integer_value(jptr(res, "/version")));
				assert_jstr(x, "/decision", jptr_str(res, "/decision"));
				assert_jstr(x, "/reason", jptr_str(res, "/reason"));
				match = true;
			}
		ck_assert_msg(match, "list %s is not in the decision log line", jptr_str(res, "/list"));
	}
	json_decref(lines);
	http_response_free(r);

	/* As-of lookups are logged with their version; checks with each ref. */
	r = http_get("/v1/lookup?" LOOKUP_Q "&list=" GBA "&version=1");
	assert_status(r, 200);
	snprintf(needle, sizeof needle, "\"decision_id\":\"%s\"", jptr_str(r->json, "/decision_id"));
	text = wait_for_text(decision_path, needle, 3000);
	ck_assert_ptr_nonnull(text);
	char *line = strstr(text, needle);
	while (line > text && line[-1] != '\n')
		line--;
	json_t *j = json_loadb(line, strcspn(line, "\n"), 0, NULL);
	assert_jint(j, "/query/version", 1);
	assert_jstr(j, "/query/list", GBA);
	json_decref(j);
	free(text);
	http_response_free(r);

	const char *chk = "{\"entity\":\"" ENT "\",\"date\":\"" DAY "\",\"items\":[{\"ref\":\"line-a\",\"code\":\"" CODE
			  "\"},{\"ref\":\"line-b\",\"code\":\"0101210010\"}]}";
	r = http_request("POST", "/v1/check", NULL, chk, strlen(chk));
	assert_status(r, 200);
	snprintf(needle, sizeof needle, "\"decision_id\":\"%s\"", jptr_str(r->json, "/decision_id"));
	text = wait_for_text(decision_path, "\"line-b\"", 3000);
	ck_assert_ptr_nonnull(text);
	int n = 0;
	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		n++;
	ck_assert_msg(n == 2, "check %s: %d decision log lines, expected one per item", needle, n);
	ck_assert_msg(strstr(text, "\"ref\":\"line-a\"") && strstr(text, "\"ref\":\"line-b\""), "refs are not logged");
	free(text);
	http_response_free(r);
}
END_TEST

/* SIGHUP reopens the logs (logrotate renames them first) and keeps connections. */
START_TEST(test_sighup_reopens_logs)
{
	CURL *h = curl_easy_init();
	long conns;
	ck_assert_int_eq(keepalive_get(h, "/v1/status", &conns), 200);
	ck_assert_int_eq(conns, 1);
	char *seen = wait_for_text(access_path, "\"route\":\"/v1/status\"", 3000);
	ck_assert_ptr_nonnull(seen);
	free(seen);

	/* A request in flight across the SIGHUP. */
	size_t len;
	char *doc = ht_sample_text(GBA_FILE, &len);
	slow_req s;
	pthread_t t;
	slow_start(&s, &t, "/v1/lists/" GBA "?dry_run=true", doc, len, 1024, 25);

	char a1[320], d1[320];
	snprintf(a1, sizeof a1, "%s.1", access_path);
	snprintf(d1, sizeof d1, "%s.1", decision_path);
	ck_assert_int_eq(rename(access_path, a1), 0);
	ck_assert_int_eq(rename(decision_path, d1), 0);
	ck_assert_int_eq(kill(d_logs.pid, SIGHUP), 0);
	long deadline = now_ms() + 3000;
	while ((!file_exists(access_path) || !file_exists(decision_path)) && now_ms() < deadline)
		sleep_ms(10);
	ck_assert_msg(file_exists(access_path), "SIGHUP did not reopen %s", access_path);
	ck_assert_msg(file_exists(decision_path), "SIGHUP did not reopen %s", decision_path);

	/* The same connection still serves. */
	ck_assert_int_eq(keepalive_get(h, "/v1/lists", &conns), 200);
	ck_assert_msg(conns == 0, "the keep-alive connection was dropped by SIGHUP (%ld new connections)", conns);
	curl_easy_cleanup(h);
	http_response *r = http_get("/v1/lookup?" LOOKUP_Q);
	assert_status(r, 200);
	char needle[100];
	snprintf(needle, sizeof needle, "\"decision_id\":\"%s\"", jptr_str(r->json, "/decision_id"));
	http_response_free(r);

	char *text = wait_for_text(access_path, "\"route\":\"/v1/lists\"", 3000);
	ck_assert_msg(text != NULL, "requests after SIGHUP do not reach the new %s", access_path);
	free(text);
	text = wait_for_text(decision_path, needle, 3000);
	ck_assert_msg(text != NULL, "decisions after SIGHUP do not reach the new %s", decision_path);
	free(text);
	text = harness_read_file(a1);
	ck_assert_msg(text && strstr(text, "\"route\":\"/v1/status\""), "the rotated access log lost its lines");
	ck_assert_msg(!strstr(text, "\"route\":\"/v1/lists\""), "a request after SIGHUP went to the rotated file");
	free(text);
	text = harness_read_file(d1);
	ck_assert_msg(text && !strstr(text, needle), "a decision after SIGHUP went to the rotated file");
	free(text);

	pthread_join(t, NULL);
	ck_assert_msg(s.status == 200, "the upload in flight during SIGHUP got HTTP %ld (%s): %s", s.status, s.err,
		      s.resp ? s.resp : "");
	free(s.resp);
	free(doc);
}
END_TEST

/* SIGHUP re-reads the tokens file; a file that does not parse keeps the old tokens. */
START_TEST(test_sighup_tokens)
{
	const char *rotated = "qd-rotated-admin-0c1d2e3f";
	char l1[200], l2[200], text[600];
	token_line(l1, sizeof l1, "rotated", "admin", rotated);
	token_line(l2, sizeof l2, HARNESS_READER_NAME, "reader", HARNESS_READER_TOKEN);
	snprintf(text, sizeof text, "# rotated: the test admin is gone\n%s%s", l1, l2);

	http_response *r = http_request_auth("GET", "/v1/audit?limit=1", rotated, NULL, NULL, 0);
	assert_status(r, 401);
	http_response_free(r);
	write_file(d_logs.tokens, text);
	ck_assert_int_eq(kill(d_logs.pid, SIGHUP), 0);
	long status = 0, deadline = now_ms() + 3000;
	while (now_ms() < deadline) {
		r = http_request_auth("GET", "/v1/audit?limit=1", rotated, NULL, NULL, 0);
		status = r->status;
		http_response_free(r);
		if (status == 200)
			break;
		sleep_ms(20);
	}
	ck_assert_msg(status == 200, "the new token is refused after SIGHUP (HTTP %ld)", status);
	r = http_request_auth("GET", "/v1/audit?limit=1", HARNESS_ADMIN_TOKEN, NULL, NULL, 0);
	assert_error(r, 401, "unauthorized");
	http_response_free(r);
	r = http_request_auth("GET", "/v1/audit?limit=1", HARNESS_READER_TOKEN, NULL, NULL, 0);
	assert_error(r, 403, "forbidden");
	http_response_free(r);
	/* Changes are made in the new token's name. */
	size_t len;
	char *doc = ht_sample_text(GBA_FILE, &len);
	r = ht_put_list(GBA, NULL, rotated, NULL, doc, len);
	assert_status(r, 200);
	http_response_free(r);
	r = http_get("/v1/lists/" GBA "/versions");
	assert_jstr(r->json, "/versions/0/actor", "rotated");
	http_response_free(r);

	/* A broken file: the old tokens stay in force. */
	write_file(d_logs.tokens, "this is not a tokens file\n");
	ck_assert_int_eq(kill(d_logs.pid, SIGHUP), 0);
	char *log = wait_for_text(d_logs.log, "keeping the old tokens", 3000);
	ck_assert_msg(log != NULL, "no word on stderr about the broken tokens file");
	free(log);
	r = ht_put_list(GBA, "dry_run=true", rotated, NULL, doc, len);
	assert_status(r, 200);
	http_response_free(r);
	r = ht_put_list(GBA, "dry_run=true", HARNESS_ADMIN_TOKEN, NULL, doc, len);
	assert_error(r, 401, "unauthorized");
	http_response_free(r);
	free(doc);
}
END_TEST

/* client_ref goes into every decision log line of its request: the
 * lookup's, and each item's of a check. */
START_TEST(test_decision_log_client_ref)
{
	http_response *r = http_get("/v1/lookup?" LOOKUP_Q "&client_ref=DEC-2026/77");
	assert_status(r, 200);
	assert_jstr(r->json, "/client_ref", "DEC-2026/77");
	char needle[100];
	snprintf(needle, sizeof needle, "\"decision_id\":\"%s\"", jptr_str(r->json, "/decision_id"));
	char *text = wait_for_text(decision_path, needle, 3000);
	ck_assert_msg(text != NULL, "lookup %s never reached %s", needle, decision_path);
	free(text);
	http_response_free(r);

	const char *chk = "{\"client_ref\":\"MSG:4711\",\"entity\":\"" ENT "\",\"date\":\"" DAY
			  "\",\"items\":[{\"ref\":\"cr-a\",\"code\":\"" CODE "\"},{\"code\":\"0101210010\"}]}";
	r = http_request("POST", "/v1/check", NULL, chk, strlen(chk));
	assert_status(r, 200);
	assert_jstr(r->json, "/client_ref", "MSG:4711");
	char check_id[64];
	snprintf(check_id, sizeof check_id, "%s", jptr_str(r->json, "/decision_id"));
	snprintf(needle, sizeof needle, "\"decision_id\":\"%s\"", check_id);
	http_response_free(r);
	long deadline = now_ms() + 3000;
	json_t *lines = NULL;
	int n_check = 0, n_lookup = 0;
	while (now_ms() < deadline) {
		json_decref(lines);
		lines = log_lines(decision_path);
		n_check = n_lookup = 0;
		size_t i;
		json_t *l;
		json_array_foreach(lines, i, l) {
			const char *cr = jptr_str(l, "/client_ref");
			if (strcmp(jptr_str(l, "/decision_id"), check_id) == 0) {
				ck_assert_msg(cr && strcmp(cr, "MSG:4711") == 0, "a check line without its client_ref");
				n_check++;
			} else if (cr && strcmp(cr, "DEC-2026/77") == 0) {
				assert_jstr(l, "/query/code", CODE);
				n_lookup++;
			}
		}
		if (n_check == 2)
			break;
		sleep_ms(20);
	}
	json_decref(lines);
	ck_assert_msg(n_check == 2, "%d check lines with client_ref, expected 2", n_check);
	ck_assert_msg(n_lookup == 1, "%d lookup lines with client_ref, expected 1", n_lookup);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TCase shutdown: SIGTERM while a request is in flight. */

START_TEST(test_sigterm_inflight)
{
	harness_daemon d;
	start_daemon(&d, NULL);
	size_t len;
	char *doc = ht_sample_text(GBA_FILE, &len);
	/* About 2 s of upload: 512 bytes every 40 ms. */
	slow_req s;
	pthread_t t;
	slow_start(&s, &t, "/v1/lists/" GBA, doc, len, 512, 40);
	long t_kill = now_ms();
	ck_assert_int_eq(kill(d.pid, SIGTERM), 0);

	/* New connections are refused while the upload goes on. */
	bool refused = false;
	while (!s.done && now_ms() < t_kill + 1500) {
		http_response *r = http_get("/healthz");
		bool gone = r->status == 0;
		http_response_free(r);
		if (gone && !s.done) {
			refused = true;
			break;
		}
		sleep_ms(20);
	}
	/* (No waitpid here: harness_stop_signal() reaps the daemon below.) */
	pthread_join(t, NULL);
	ck_assert_msg(s.status == 201, "the request in flight at SIGTERM got HTTP %ld (%s): %s", s.status, s.err,
		      s.resp ? s.resp : "");
	json_t *j = json_loads(s.resp, 0, NULL);
	assert_jint(j, "/version", 1);
	json_decref(j);
	ck_assert_msg(s.pos == len, "the body was not sent in full");
	ck_assert_msg(now_ms() - t_kill >= 500, "the upload did not outlast the SIGTERM");
	ck_assert_msg(refused, "new connections were still accepted after SIGTERM");
	char *log = harness_read_file(d.log);
	ck_assert_msg(log && strstr(log, "finishing in-flight requests"), "no word of the shutdown on stderr");
	free(log);
	free(s.resp);
	free(doc);
	/* Signal 0: only wait for the exit (status 0) and clean up. */
	char err[512];
	ck_assert_msg(harness_stop_signal(&d, 0, err, sizeof err), "after SIGTERM: %s", err);
}
END_TEST

/* The daemon's anonymous memory in KiB (RssAnon), or -1. */
static long rss_anon_kib(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long v = -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "RssAnon: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* A large check's response block is kept for the next one, but not for
 * good: unused for RESPONSE_POOL_IDLE_S (5) seconds it goes back to the
 * kernel, and the next check still answers in full. */
START_TEST(test_large_response_memory_returns)
{
	harness_daemon d;
	start_daemon(&d, NULL);
	preload();
	size_t cap = 64 * 1024, len = 0;
	char *body = malloc(cap);
	ck_assert_ptr_nonnull(body);
	len += (size_t)snprintf(body, cap, "{\"entity\":\"" ENT "\",\"date\":\"" DAY "\",\"items\":[");
	for (int i = 0; i < 1000; i++)
		len += (size_t)snprintf(body + len, cap - len, "%s{\"ref\":\"%d\",\"code\":\"%s\"}", i ? "," : "",
					i, i % 2 ? CODE : "3002150010");
	len += (size_t)snprintf(body + len, cap - len, "]}");
	ck_assert_uint_lt(len, cap);
	const char *ct[] = {"Content-Type: application/json", NULL};
	long before = rss_anon_kib(d.pid);
	http_response *r = http_request("POST", "/v1/check", ct, body, len);
	assert_status(r, 200);
	size_t big = r->body_len;
	http_response_free(r);
	ck_assert_msg(big > (2u << 20), "the check answered only %zu bytes", big);
#ifndef __SANITIZE_ADDRESS__ /* ASan's allocator keeps freed memory in quarantine */
	long after = rss_anon_kib(d.pid);
	ck_assert_msg(before > 0 && after - before > (long)(big / 2048),
		      "RssAnon %ld → %ld KiB for a %zu-byte response: the block is not held", before, after, big);
	/* Freed within a few seconds of idleness. */
	long t0 = now_ms(), now = after;
	while (now_ms() - t0 < 15000) {
		sleep_ms(250);
		now = rss_anon_kib(d.pid);
		if (now < after - (long)(big / 2048))
			break;
	}
	ck_assert_msg(now < after - (long)(big / 2048), "RssAnon still %ld KiB after %ld ms idle (was %ld, %ld before the check)",
		      now, now_ms() - t0, after, before);
	ck_assert_msg(now_ms() - t0 >= 3000, "the block went back after only %ld ms", now_ms() - t0);
#else
	(void)before;
#endif
	r = http_request("POST", "/v1/check", ct, body, len);
	assert_status(r, 200);
	ck_assert_uint_eq(r->body_len, big);
	http_response_free(r);
	free(body);
	char err[512];
	ck_assert_msg(harness_stop(&d, err, sizeof err), "%s", err);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TCase config: --config, --check-config, --help, --version. */

START_TEST(test_config_file_only)
{
	char dir[256], conf[300], tokens[300], acc[300], dec[300], text[2048], tl[200], exe[512];
	make_tmpdir(dir, sizeof dir, "conf");
	snprintf(conf, sizeof conf, "%s/qingdand.conf", dir);
	snprintf(tokens, sizeof tokens, "%s/tokens", dir);
	snprintf(acc, sizeof acc, "%s/access log.jsonl", dir);
	snprintf(dec, sizeof dec, "%s/decision.log", dir);
	token_line(tl, sizeof tl, HARNESS_ADMIN_NAME, "admin", HARNESS_ADMIN_TOKEN);
	write_file(tokens, tl);
	unsigned port = harness_free_port();
	ck_assert_uint_gt(port, 0);
	snprintf(text, sizeof text,
		 "# qingdand test configuration\n"
		 "\n"
		 "db = %s/db\n"
		 "listen = 127.0.0.1:%u   # loopback only\n"
		 "  tokens=%s\n"
		 "threads = 2\n"
		 "listen-per-thread = no\n"
		 "access-log = \"%s\"\n"
		 "decision-log = %s\n"
		 "retain-versions = 2\n"
		 "read-cache = 4M\n",
		 dir, port, tokens, acc, dec);
	write_file(conf, text);

	snprintf(exe, sizeof exe, "%s/src/daemon/qingdand", build_root());
	char logp[300];
	snprintf(logp, sizeof logp, "%s/stderr", dir);
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(exe, exe, "--config", conf, (char *)NULL);
		_exit(127);
	}
	harness_daemon fake;
	memset(&fake, 0, sizeof fake);
	fake.pid = pid;
	fake.port = port;
	snprintf(fake.base_url, sizeof fake.base_url, "http://127.0.0.1:%u", port);
	harness_use(&fake);
	long status = 0, deadline = now_ms() + 10000;
	int st;
	while (now_ms() < deadline && waitpid(pid, &st, WNOHANG) == 0) {
		http_response *r = http_get("/healthz");
		status = r->status;
		http_response_free(r);
		if (status == 200)
			break;
		sleep_ms(25);
	}
	if (status != 200) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		char *l = harness_read_file(logp);
		rm_rf(dir);
		ck_abort_msg("qingdand --config FILE did not serve on port %u: %s", port, l ? l : "");
	}
	/* The tokens, the retention and the logs come from the file. */
	for (int i = 0; i < 3; i++) {
		http_response *r = put_sample(GBA, GBA_FILE, HARNESS_ADMIN_TOKEN);
		assert_status(r, i == 0 ? 201 : 200);
		http_response_free(r);
	}
	http_response *r = get_ok("/v1/lists/" GBA "/versions");
	ck_assert_msg(json_array_size(jptr(r->json, "/versions")) == 2, "retain-versions = 2 not applied: %s", r->body);
	http_response_free(r);
	r = get_ok("/v1/lookup?" LOOKUP_Q);
	char needle[100];
	snprintf(needle, sizeof needle, "\"decision_id\":\"%s\"", jptr_str(r->json, "/decision_id"));
	http_response_free(r);
	char *t = wait_for_text(dec, needle, 3000);
	ck_assert_msg(t != NULL, "decision-log from the file not written");
	free(t);
	t = wait_for_text(acc, "\"route\":\"/v1/lookup\"", 3000);
	ck_assert_msg(t != NULL, "access-log (a quoted value with a space) from the file not written");
	free(t);
	/* listen-per-thread = no: the two threads share one socket. */
	t = harness_read_file(logp);
	ck_assert_msg(t && strstr(t, "2 threads, 1 listening socket,"), "listen-per-thread = no not applied: %s",
		      t ? t : "");
	free(t);
	harness_use(NULL);
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	deadline = now_ms() + 15000;
	pid_t w;
	while ((w = waitpid(pid, &st, WNOHANG)) == 0 && now_ms() < deadline)
		sleep_ms(20);
	if (w != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	ck_assert_msg(w == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "qingdand --config did not exit 0 on SIGTERM");
	rm_rf(dir);
}
END_TEST

START_TEST(test_config_command_line_wins)
{
	char dir[256], conf[300], text[1024];
	make_tmpdir(dir, sizeof dir, "conf");
	snprintf(conf, sizeof conf, "%s/qingdand.conf", dir);
	/* db and listen are overridden by the harness's --db and --listen;
	 * max-check-items by the command line; read-auth is not. */
	snprintf(text, sizeof text,
		 "db = %s/file-db\n"
		 "listen = 127.0.0.1:1\n"
		 "max-check-items = 5\n"
		 "read-auth = token\n"
		 "metrics-auth = open\n" /* scrape() sends no token */
		 "read-cache = 0\n",
		 dir);
	write_file(conf, text);
	const char *extra[] = {"--config", conf, "--max-check-items", "7", NULL};
	harness_daemon d;
	start_daemon(&d, extra);
	char filedb[300];
	snprintf(filedb, sizeof filedb, "%s/file-db", dir);
	ck_assert_msg(!file_exists(filedb), "the file's db was created although --db was given");

	http_response *r = http_get("/v1/lists");
	assert_error(r, 401, "unauthorized"); /* read-auth = token from the file */
	http_response_free(r);
	r = put_sample(GBA, GBA_FILE, HARNESS_ADMIN_TOKEN);
	assert_status(r, 201);
	http_response_free(r);
	for (int n = 7; n <= 8; n++) {
		char body[2048] = "{\"date\":\"" DAY "\",\"items\":[";
		for (int i = 0; i < n; i++)
			strcat(body, i ? ",{\"code\":\"" CODE "\"}" : "{\"code\":\"" CODE "\"}");
		strcat(body, "]}");
		char auth[128];
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", HARNESS_READER_TOKEN);
		const char *hs[] = {auth, NULL};
		r = http_request("POST", "/v1/check", hs, body, strlen(body));
		if (n == 7)
			assert_status(r, 200);
		else
			assert_error(r, 400, "bad_body");
		http_response_free(r);
	}
	/* read-cache = 0 from the file: the same lookup again is never a hit. */
	char rauth[128];
	snprintf(rauth, sizeof rauth, "Authorization: Bearer %s", HARNESS_READER_TOKEN);
	const char *rhs[] = {rauth, NULL};
	for (int i = 0; i < 4; i++) {
		r = http_request("GET", "/v1/lookup?" LOOKUP_Q, rhs, NULL, 0);
		assert_status(r, 200);
		http_response_free(r);
	}
	char *m = scrape();
	ck_assert_msg(metric(m, "qingdan_read_cache_hits_total") == 0, "read-cache = 0: hits %g",
		      metric(m, "qingdan_read_cache_hits_total"));
	free(m);
	ht_stop_fixture(&d);
	ck_assert_int_eq(ht_stop_failures, 0);
	rm_rf(dir);
}
END_TEST

START_TEST(test_check_config)
{
	char dir[256], db[300], good[300], tokens[300], text[1024], tl[200];
	make_tmpdir(dir, sizeof dir, "conf");
	snprintf(db, sizeof db, "%s/db", dir);
	snprintf(good, sizeof good, "%s/good.conf", dir);
	snprintf(tokens, sizeof tokens, "%s/tokens", dir);
	const char *init[] = {"--db", db, "init", NULL};
	ck_assert_int_eq(harness_run_ctl(init, NULL), 0);
	token_line(tl, sizeof tl, "ops", "admin", "qd-some-token");
	write_file(tokens, tl);
	/* A quoted value may be followed by a comment (man 8 qingdand). */
	snprintf(text, sizeof text, "# good\ndb = %s\nlisten = 127.0.0.1:%u\ntokens = %s\nmap-size = 64M\n"
		 "max-body-bytes = \"64K\" # a quoted value, then a comment\n", db, harness_free_port(), tokens);
	write_file(good, text);
	char *out = NULL, *err = NULL;
	const char *a_good[] = {"--config", good, "--check-config", NULL};
	int rc = run_qingdand(a_good, &out, &err);
	ck_assert_msg(rc == 0, "--check-config on a good file: exit %d: %s", rc, err ? err : "");
	ck_assert_msg(out && strstr(out, "configuration OK"), "--check-config printed: %s", out ? out : "");
	free(out);
	free(err);
	/* The value read is 64K = 65536 (the default is 1M): a body of 65536
	 * bytes is read, one of 65537 is a 413. */
	{
		const char *extra[] = {"--config", good, NULL};
		harness_daemon hd;
		char auth[128], *body = malloc(65537 + 1);
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", HARNESS_READER_TOKEN);
		const char *hs[] = {auth, "Content-Type: application/json", NULL};
		start_daemon(&hd, extra);
		for (size_t n = 65536; n <= 65537; n++) {
			int k = snprintf(body, n + 1, "{\"date\":\"" DAY "\",\"items\":[{\"code\":\"" CODE "\"}]}");
			memset(body + k, ' ', n - (size_t)k);
			http_response *r = http_request("POST", "/v1/check", hs, body, n);
			if (n == 65536)
				assert_status(r, 200);
			else
				assert_error(r, 413, "payload_too_large");
			http_response_free(r);
		}
		free(body);
		ht_stop_fixture(&hd);
	}

	static const struct {
		const char *name, *body, *line, *key;
	} bad[] = {
		{"unknown.conf", "db = DB\nlisten = 127.0.0.1:1\n\nbogus-key = 3\n", ":4:", "bogus-key"},
		{"threads.conf", "db = DB\nlisten = 127.0.0.1:1\nthreads = lots\n", ":3:", "threads"},
		{"perthread.conf", "db = DB\nlisten = 127.0.0.1:1\nlisten-per-thread = maybe\n", ":3:",
		 "listen-per-thread"},
		{"readauth.conf", "db = DB\nread-auth = maybe\nlisten = 127.0.0.1:1\n", ":2:", "read-auth"},
		{"mapsize.conf", "# x\n# y\ndb = DB\nlisten = 127.0.0.1:1\nmap-size = 12Q\n", ":5:", "map-size"},
		{"offset.conf", "utc-offset = +25:00\ndb = DB\nlisten = 127.0.0.1:1\n", ":1:", "utc-offset"},
		{"readcache.conf", "db = DB\nlisten = 127.0.0.1:1\nread-cache = 2X\n", ":3:", "read-cache"},
		{"noeq.conf", "db = DB\nlisten 127.0.0.1:1\n", ":2:", "key = value"},
		{"config.conf", "db = DB\nlisten = 127.0.0.1:1\nconfig = other.conf\n", ":3:", "config"},
		{"afterquote.conf", "db = DB\nlisten = 127.0.0.1:1\nmax-body-bytes = \"64K\" 1\n", ":3:", "closing quote"},
		{"openquote.conf", "db = DB\nlisten = 127.0.0.1:1\nmax-body-bytes = \"64K\n", ":3:", "never closed"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char path[300], body[600];
		snprintf(path, sizeof path, "%s/%s", dir, bad[i].name);
		/* Replace DB with the store's path. */
		const char *p = strstr(bad[i].body, "DB");
		snprintf(body, sizeof body, "%.*s%s%s", (int)(p - bad[i].body), bad[i].body, db, p + 2);
		write_file(path, body);
		for (int check = 1; check >= 0; check--) {
			const char *args[] = {"--config", path, check ? "--check-config" : NULL, NULL};
			rc = run_qingdand(args, &out, &err);
			ck_assert_msg(rc == 2, "%s%s: exit %d, expected 2", bad[i].name, check ? " --check-config" : "", rc);
			char where[320];
			snprintf(where, sizeof where, "%s%s", bad[i].name, bad[i].line);
			ck_assert_msg(err && strstr(err, where) && strstr(err, bad[i].key),
				      "%s: the message does not name \"%s\" and \"%s\": %s", bad[i].name, where, bad[i].key,
				      err ? err : "");
			free(out);
			free(err);
		}
	}
	/* A missing file, a bad value on the command line, a missing store. */
	char missing[300];
	snprintf(missing, sizeof missing, "%s/missing.conf", dir);
	const char *a_missing[] = {"--config", missing, "--check-config", NULL};
	ck_assert_int_eq(run_qingdand(a_missing, NULL, NULL), 2);
	const char *a_cmd[] = {"--config", good, "--threads", "0", "--check-config", NULL};
	rc = run_qingdand(a_cmd, NULL, &err);
	ck_assert_msg(rc == 2 && err && strstr(err, "threads"), "--threads 0: exit %d: %s", rc, err ? err : "");
	free(err);
	/* --read-cache: a size from 0 (off) to 1G. */
	static const char *const caches_ok[] = {"0", "512K", "2M", "1G"};
	for (size_t i = 0; i < sizeof caches_ok / sizeof caches_ok[0]; i++) {
		const char *a_rc[] = {"--config", good, "--read-cache", caches_ok[i], "--check-config", NULL};
		rc = run_qingdand(a_rc, NULL, &err);
		ck_assert_msg(rc == 0, "--read-cache %s: exit %d: %s", caches_ok[i], rc, err ? err : "");
		free(err);
	}
	static const char *const caches_bad[] = {"2G", "-1", "lots", "2X", ""};
	for (size_t i = 0; i < sizeof caches_bad / sizeof caches_bad[0]; i++) {
		const char *a_rc[] = {"--config", good, "--read-cache", caches_bad[i], "--check-config", NULL};
		rc = run_qingdand(a_rc, NULL, &err);
		ck_assert_msg(rc == 2 && err && strstr(err, "--read-cache: expected a size in bytes"),
			      "--read-cache \"%s\": exit %d: %s", caches_bad[i], rc, err ? err : "");
		free(err);
	}
	/* The command line wins in --check-config too: a bad listen fixed there. */
	char badlisten[300];
	snprintf(badlisten, sizeof badlisten, "%s/badlisten.conf", dir);
	snprintf(text, sizeof text, "db = %s\nlisten = nowhere\n", db);
	write_file(badlisten, text);
	const char *a_bl[] = {"--config", badlisten, "--check-config", NULL};
	ck_assert_int_eq(run_qingdand(a_bl, NULL, NULL), 2);
	const char *a_fix[] = {"--config", badlisten, "--listen", "127.0.0.1:1", "--check-config", NULL};
	ck_assert_int_eq(run_qingdand(a_fix, NULL, NULL), 0);

	/* A new installation: no store yet is fine when qingdand can make one
	 * (and the check makes nothing); a store it could not make is not. */
	char fresh[300], nested[320], afile[300];
	snprintf(fresh, sizeof fresh, "%s/new-db", dir);
	snprintf(nested, sizeof nested, "%s/no-such-dir/db", dir);
	snprintf(afile, sizeof afile, "%s/a-file", dir);
	write_file(afile, "not a directory\n");
	const char *a_fresh[] = {"--config", good, "--db", fresh, "--check-config", NULL};
	rc = run_qingdand(a_fresh, &out, &err);
	ck_assert_msg(rc == 0 && out && strstr(out, "configuration OK") && strstr(out, "will create"),
		      "--check-config, no store yet: exit %d: %s%s", rc, out ? out : "", err ? err : "");
	free(out);
	free(err);
	struct stat sb;
	ck_assert_msg(stat(fresh, &sb) != 0, "--check-config created %s", fresh);
	ck_assert_int_eq(mkdir(fresh, 0750), 0); /* an empty directory: the same */
	rc = run_qingdand(a_fresh, &out, &err);
	ck_assert_msg(rc == 0 && out && strstr(out, "will create"), "--check-config, empty store directory: exit %d: %s",
		      rc, err ? err : "");
	free(out);
	free(err);
	ck_assert_msg(stat(fresh, &sb) == 0 && rmdir(fresh) == 0, "--check-config wrote into %s", fresh);
	const char *a_nested[] = {"--config", good, "--db", nested, "--check-config", NULL};
	rc = run_qingdand(a_nested, NULL, &err);
	ck_assert_msg(rc == 2 && err && strstr(err, "cannot create store directory") && strstr(err, "no-such-dir"),
		      "--check-config, parent missing: exit %d: %s", rc, err ? err : "");
	free(err);
	const char *a_file[] = {"--config", good, "--db", afile, "--check-config", NULL};
	rc = run_qingdand(a_file, NULL, &err);
	ck_assert_msg(rc == 2 && err && strstr(err, "not a directory"), "--check-config, db is a file: exit %d: %s", rc,
		      err ? err : "");
	free(err);
	rm_rf(dir);
}
END_TEST

/* A second daemon on an address another already listens on refuses to
 * start, whichever way either listens: the sockets allow sharing a port
 * (SO_REUSEPORT), so without the check it would take part of the
 * connections to its own store.  The first keeps answering. */
START_TEST(test_port_in_use)
{
	char err[512];
	harness_daemon d;
	const char *first[] = {"--threads", "2", NULL};
	harness_opts o = {.extra_args = first};
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "cannot start qingdand: %s", err);
	char dir[256], db[300], listen[64];
	make_tmpdir(dir, sizeof dir, "port");
	snprintf(db, sizeof db, "%s/db", dir);
	const char *init[] = {"--db", db, "init", NULL};
	ck_assert_int_eq(harness_run_ctl(init, NULL), 0);
	snprintf(listen, sizeof listen, "127.0.0.1:%u", d.port);
	static const char *const modes[][4] = {{"--threads", "2", "--listen-per-thread", "yes"},
					       {"--threads", "2", "--listen-per-thread", "no"},
					       {"--threads", "1", "--listen-per-thread", "yes"}};
	for (size_t i = 0; i < 3; i++) {
		const char *args[] = {"--db", db, "--listen", listen, modes[i][0], modes[i][1], modes[i][2], modes[i][3], NULL};
		char *out = NULL, *e = NULL;
		int rc = harness_run_daemon(args, 10000, &out, &e);
		ck_assert_msg(rc != 0 && rc != -1, "a second daemon on %s (%s %s) exited %d", listen, modes[i][1], modes[i][3], rc);
		ck_assert_msg(e && strstr(e, "cannot listen on") && strstr(e, "in use"),
			      "the refusal does not say the address is in use: %s", e ? e : "");
		free(out);
		free(e);
	}
	http_response *r = http_get("/healthz");
	ck_assert_msg(r && r->status == 200, "the first daemon no longer answers");
	http_response_free(r);
	ck_assert_msg(harness_stop(&d, err, sizeof err), "%s", err);
}
END_TEST

START_TEST(test_help_version)
{
	const char *const helps[] = {"--help", "-h"};
	for (int i = 0; i < 2; i++) {
		char *out = NULL;
		const char *args[] = {helps[i], NULL};
		ck_assert_int_eq(run_qingdand(args, &out, NULL), 0);
		ck_assert_msg(out && strstr(out, "Usage: qingdand") && strstr(out, "--config") && strstr(out, "--check-config"),
			      "%s printed: %s", helps[i], out ? out : "");
		free(out);
	}
	const char *const versions[] = {"--version", "-V"};
	for (int i = 0; i < 2; i++) {
		char *out = NULL;
		const char *args[] = {versions[i], NULL};
		ck_assert_int_eq(run_qingdand(args, &out, NULL), 0);
		ck_assert_msg(out && strncmp(out, "qingdand ", 9) == 0 && isdigit((unsigned char)out[9]), "%s printed: %s",
			      versions[i], out ? out : "");
		free(out);
	}
	const char *bogus[] = {"--bogus-option", NULL};
	ck_assert_int_eq(run_qingdand(bogus, NULL, NULL), 2);
	const char *nodb[] = {"--listen", "127.0.0.1:1", NULL};
	char *err = NULL;
	ck_assert_int_eq(run_qingdand(nodb, NULL, &err), 2);
	ck_assert_msg(err && strstr(err, "--db"), "without --db: %s", err ? err : "");
	free(err);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *ops_suite(void)
{
	Suite *s = suite_create("ops");
	TCase *tc;

	tc = ht_tcase(s, "status", setup_status, teardown_status);
	tcase_add_test(tc, test_readyz_before_any_list);
	tcase_add_test(tc, test_status_fields);
	tcase_add_test(tc, test_readyz_after_a_list);
	tcase_add_test(tc, test_status_uptime);

	tc = ht_tcase(s, "metrics", setup_metrics, teardown_metrics);
	tcase_add_test(tc, test_metrics_after_traffic);

	tc = ht_tcase(s, "logs", setup_logs, teardown_logs);
	tcase_add_test(tc, test_access_log);
	tcase_add_test(tc, test_decision_log);
	tcase_add_test(tc, test_sighup_reopens_logs);
	tcase_add_test(tc, test_sighup_tokens);
	tcase_add_test(tc, test_decision_log_client_ref);

	tc = ht_tcase(s, "shutdown", NULL, NULL);
	tcase_add_test(tc, test_sigterm_inflight);
	tcase_add_test(tc, test_large_response_memory_returns);

	tc = ht_tcase(s, "config", NULL, NULL);
	tcase_add_test(tc, test_config_file_only);
	tcase_add_test(tc, test_config_command_line_wins);
	tcase_add_test(tc, test_check_config);
	tcase_add_test(tc, test_help_version);
	tcase_add_test(tc, test_port_in_use);
	return s;
}

int main(void)
{
	return ht_run(ops_suite());
}
