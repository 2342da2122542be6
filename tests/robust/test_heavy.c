/* qingdan — heavy requests: a check whose answer would be huge is refused
 * under --max-check-response-bytes (and answered under a larger bound);
 * four concurrent downloads of a ~20 MB version are streamed, neither
 * holding it whole in memory nor stalling lookups meanwhile; past
 * --max-downloads a download is refused with 503 and Retry-After.
 *
 * Every daemon here runs on loopback with a fresh store; each test starts
 * its own so that the peak memory it reads from /proc is its own. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "robust.h"

/* Under the sanitizers everything runs several times slower (the test
 * client's growing of a large body too) and freed memory is held in
 * quarantine: the sizes shrink, so that requests finish within the
 * client's timeout, and memory is not measured. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define SANITIZED 1
#define SCALE 4
#else
#define SANITIZED 0
#define SCALE 1
#endif

#define HUGE_LIST "huge-entry"
/* Remarks of 2 000 bytes: an entry of about 8 MiB; each check item's
 * answer carries it twice (about 17 MB). */
#define HUGE_REMARKS (SANITIZED ? 130 : 4200)
#define CHECK_BOUND (SANITIZED ? "768K" : "24M") /* passed after the second item */
#define CHECK_ITEMS 10
#define BIG_LIST "big-version"
#define BIG_ENTRIES (2000 / SCALE)
#define BIG_REMARKS 5     /* of 2 000 bytes: ~10 KB an entry, ~20 MB in all */
#define DOWNLOADS 4
#define LOOKUP_MAX_MS 1000 /* generous: the machine may be busy */

/* A field of /proc/PID/status in KiB (VmHWM, RssAnon …); -1 when absent. */
static long proc_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long v = -1;
	size_t fl = strlen(field);
	while (fgets(line, sizeof line, f))
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			v = strtol(line + fl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void start(harness_daemon *d, const char *const *extra)
{
	curl_global_init(CURL_GLOBAL_ALL);
	harness_opts o = {.tokens = true, .extra_args = extra};
	char err[512];
	ck_assert_msg(harness_start(d, &o, err, sizeof err), "cannot start qingdand: %s", err);
}

static void stop(harness_daemon *d)
{
	char err[512];
	ck_assert_msg(harness_stop(d, err, sizeof err), "stopping qingdand: %s", err);
}

/* Load the list of one ~8 MiB entry and POST a check of CHECK_ITEMS items
 * that all match it.  Returns the response. */
static http_response *check_huge(void)
{
	size_t len;
	char *doc = robust_entry_doc(HUGE_LIST, 1, 0, HUGE_REMARKS, &len);
	http_response *r = http_request_auth("PUT", "/v1/lists/" HUGE_LIST, HARNESS_ADMIN_TOKEN, NULL, doc, len);
	free(doc);
	ck_assert_msg(r->status == 201, "PUT: HTTP %ld: %.300s", r->status, r->body ? r->body : "");
	http_response_free(r);
	char body[1024];
	size_t n = (size_t)snprintf(body, sizeof body, "{\"list\":\"" HUGE_LIST "\",\"items\":[");
	for (int i = 0; i < CHECK_ITEMS; i++)
		n += (size_t)snprintf(body + n, sizeof body - n, "%s{\"ref\":%d,\"code\":\"3822000000\"}",
				      i ? "," : "", i);
	snprintf(body + n, sizeof body - n, "]}");
	return http_request("POST", "/v1/check", NULL, body, strlen(body));
}

/* Under a 24 MiB bound, ten items of ~17 MB each are refused with 422
 * response_too_large naming the second item, where the answer passed the
 * bound. */
START_TEST(check_refused_past_bound)
{
	static const char *const extra[] = {"--access-log", "off", "--max-check-response-bytes", CHECK_BOUND, NULL};
	harness_daemon d;
	start(&d, extra);
	http_response *r = check_huge();
	long hwm = proc_kib(d.pid, "VmHWM");
	printf("check of %d items of a %d-remark entry under a %s bound: HTTP %ld, %zu bytes, VmHWM %ld KiB\n",
	       CHECK_ITEMS, HUGE_REMARKS, CHECK_BOUND, r->status, r->body_len, hwm);
	fflush(stdout);
	ck_assert_msg(r->status == 422, "HTTP %ld, expected 422 (%zu bytes)", r->status, r->body_len);
	json_t *e = json_object_get(r->json, "error");
	ck_assert_str_eq(json_string_value(json_object_get(e, "code")), "response_too_large");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(e, "message")),
				     "--max-check-response-bytes"));
	const char *path = json_string_value(json_object_get(json_array_get(json_object_get(e, "details"), 0), "path"));
	ck_assert_ptr_nonnull(path);
	ck_assert_str_eq(path, "/items/1");
	http_response_free(r);
	r = http_get("/healthz");
	ck_assert_int_eq(r->status, 200);
	http_response_free(r);
	stop(&d);
}
END_TEST

/* Under a bound above the whole answer the same check is answered. */
START_TEST(check_answered_within_bound)
{
	static const char *const extra[] = {"--access-log", "off", "--max-check-response-bytes", "1G", NULL};
	harness_daemon d;
	start(&d, extra);
	http_response *r = check_huge();
	printf("the same check under a 1 GiB bound: HTTP %ld, %zu bytes, VmHWM %ld KiB\n", r->status, r->body_len,
	       proc_kib(d.pid, "VmHWM"));
	fflush(stdout);
	if (r->status != 200)
		harness_dump_log(&d);
	ck_assert_msg(r->status == 200, "HTTP %ld (%s): %.300s", r->status, r->curl_error, r->body ? r->body : "");
	ck_assert_uint_eq(json_array_size(json_object_get(r->json, "items")), CHECK_ITEMS);
	ck_assert_str_eq(json_string_value(json_object_get(r->json, "decision")), "allow");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r->json, "summary"), "allow")), CHECK_ITEMS);
	http_response_free(r);
	stop(&d);
}
END_TEST

/* A list of BIG_ENTRIES entries of BIG_REMARKS remarks of 2 000 bytes of
 * text that does not compress away.  malloc()ed, *len set. */
static char *big_doc(size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	ck_assert_ptr_nonnull(f);
	fputs("{\"list\":\"" BIG_LIST "\",\"kind\":\"positive\",\"title\":{\"zh\":\"大版本\"},"
	      "\"clauses\":[{\"id\":\"c1\",\"document\":\"d\",\"article\":\"a\",\"text\":\"t\"}],\"entries\":[",
	      f);
	unsigned seed = 12345;
	char text[2001];
	for (unsigned i = 0; i < BIG_ENTRIES; i++) {
		fprintf(f, "%s{\"id\":\"E%05u\",\"code\":\"%02u%08u\",\"name\":{\"zh\":\"物品%u\"},"
			   "\"clauses\":[\"c1\"],\"conditions\":[",
			i ? "," : "", i, 1 + i % 96, i, i);
		for (unsigned k = 0; k < BIG_REMARKS; k++) {
			for (int j = 0; j < 2000; j++) {
				seed = seed * 1103515245u + 12345u;
				text[j] = (char)('a' + (seed >> 16) % 26);
			}
			text[2000] = '\0';
			fprintf(f, "%s{\"type\":\"remark\",\"text\":\"%s\"}", k ? "," : "", text);
		}
		fputs("]}", f);
	}
	fputs("]}", f);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

static atomic_bool dl_stop;
static atomic_long dl_peak_anon, lookup_max_ms, lookups;

typedef struct download {
	pthread_t th;
	long status;
	char sha[QD_SHA256_HEX];
	size_t len;
} download;

static void *download_thread(void *p)
{
	download *dl = p;
	http_response *r = http_get("/v1/lists/" BIG_LIST "/versions/1");
	dl->status = r->status;
	dl->len = r->body_len;
	qd_sha256_hex(r->body, r->body_len, dl->sha);
	http_response_free(r);
	return NULL;
}

/* Sample the daemon's anonymous memory (mapped store pages are file
 * pages: not what a download should cost) until dl_stop. */
static void *sampler_thread(void *p)
{
	pid_t pid = *(pid_t *)p;
	while (!atomic_load(&dl_stop)) {
		long v = proc_kib(pid, "RssAnon");
		if (v > atomic_load(&dl_peak_anon))
			atomic_store(&dl_peak_anon, v);
		robust_sleep_ms(5);
	}
	return NULL;
}

/* Lookups, one after another, until dl_stop: the slowest is kept. */
static void *lookup_thread(void *p)
{
	(void)p;
	while (!atomic_load(&dl_stop)) {
		long t0 = robust_now_ms();
		http_response *r = http_get("/v1/lookup?code=0100000000&list=" BIG_LIST);
		long t = robust_now_ms() - t0;
		ck_assert_msg(r->status == 200, "lookup during downloads: HTTP %ld", r->status);
		http_response_free(r);
		if (t > atomic_load(&lookup_max_ms))
			atomic_store(&lookup_max_ms, t);
		atomic_fetch_add(&lookups, 1);
		robust_sleep_ms(20);
	}
	return NULL;
}

/* A ~20 MB version downloaded four times at once: every download carries
 * the canonical bytes, the daemon's anonymous memory grows by less than
 * one copy of the document, and lookups meanwhile answer within
 * LOOKUP_MAX_MS.  The version is loaded by a first daemon and served by a
 * second on the same store, so that the load's own memory is not counted. */
START_TEST(version_downloads)
{
	char dir[] = "/tmp/qd-heavy-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char db[64];
	snprintf(db, sizeof db, "%s/db", dir);
	curl_global_init(CURL_GLOBAL_ALL);
	size_t len;
	char *doc = big_doc(&len);
	char sha[QD_SHA256_HEX];
	ck_assert(robust_doc_sha(doc, len, BIG_LIST, sha));
	harness_daemon d = {0};
	char err[512];
	ck_assert_msg(robust_start_on(&d, db, NULL, err, sizeof err), "%s", err);
	http_response *r = http_request_auth("PUT", "/v1/lists/" BIG_LIST, HARNESS_ADMIN_TOKEN, NULL, doc, len);
	free(doc);
	ck_assert_msg(r->status == 201, "PUT: HTTP %ld: %.300s", r->status, r->body ? r->body : "");
	http_response_free(r);
	robust_kill9(d.pid);

	ck_assert_msg(robust_start_on(&d, db, NULL, err, sizeof err), "%s", err);
	r = http_get("/v1/lookup?code=0100000000&list=" BIG_LIST);
	ck_assert_int_eq(r->status, 200);
	http_response_free(r);
	long base_anon = proc_kib(d.pid, "RssAnon"), base_hwm = proc_kib(d.pid, "VmHWM");
	atomic_store(&dl_stop, false);
	atomic_store(&dl_peak_anon, base_anon);
	pthread_t sampler, looker;
	pthread_create(&sampler, NULL, sampler_thread, &d.pid);
	robust_sleep_ms(100);
	pthread_create(&looker, NULL, lookup_thread, NULL);
	long t0 = robust_now_ms();
	download dl[DOWNLOADS];
	for (int i = 0; i < DOWNLOADS; i++)
		pthread_create(&dl[i].th, NULL, download_thread, &dl[i]);
	for (int i = 0; i < DOWNLOADS; i++)
		pthread_join(dl[i].th, NULL);
	long took = robust_now_ms() - t0;
	atomic_store(&dl_stop, true);
	pthread_join(looker, NULL);
	pthread_join(sampler, NULL);
	long hwm = proc_kib(d.pid, "VmHWM");
	long peak = atomic_load(&dl_peak_anon) - base_anon;
	printf("%d concurrent downloads of a %zu-byte version: %ld ms; anonymous memory +%ld KiB at peak, VmHWM "
	       "%ld -> %ld KiB; %ld lookups meanwhile, slowest %ld ms\n",
	       DOWNLOADS, len, took, peak, base_hwm, hwm, atomic_load(&lookups), atomic_load(&lookup_max_ms));
	fflush(stdout);
	for (int i = 0; i < DOWNLOADS; i++) {
		ck_assert_msg(dl[i].status == 200, "download %d: HTTP %ld", i, dl[i].status);
		ck_assert_msg(strcmp(dl[i].sha, sha) == 0, "download %d: %zu bytes, not the canonical document", i,
			      dl[i].len);
	}
	if (!SANITIZED)
		ck_assert_msg((size_t)peak * 1024 < len,
			      "the downloads took %ld KiB of memory (the document is %zu bytes)", peak, len);
	ck_assert_msg(atomic_load(&lookup_max_ms) < LOOKUP_MAX_MS, "a lookup took %ld ms during the downloads",
		      atomic_load(&lookup_max_ms));
	robust_kill9(d.pid);

	/* Under --max-downloads 1, a download whose client reads slowly
	 * holds the only place: the next is refused, lookups still answer,
	 * and once the client goes away downloads are served again. */
	static const char *const one[] = {"--max-downloads", "1", NULL};
	ck_assert_msg(robust_start_on(&d, db, one, err, sizeof err), "%s", err);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	int small = 4096;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d.port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	static const char get[] = "GET /v1/lists/" BIG_LIST "/versions/1 HTTP/1.1\r\nHost: t\r\n\r\n";
	ck_assert_int_eq(send(fd, get, sizeof get - 1, 0), (ssize_t)(sizeof get - 1));
	char head[13] = {0};
	ck_assert_int_eq(recv(fd, head, 12, MSG_WAITALL), 12);
	ck_assert_str_eq(head, "HTTP/1.1 200");
	r = http_get("/v1/lists/" BIG_LIST "/versions/1");
	ck_assert_msg(r->status == 503, "a second download under --max-downloads 1: HTTP %ld", r->status);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r->json, "error"), "code")),
			 "too_many_downloads");
	ck_assert_ptr_nonnull(http_header(r, "Retry-After"));
	http_response_free(r);
	r = http_get("/v1/lookup?code=0100000000&list=" BIG_LIST);
	ck_assert_int_eq(r->status, 200);
	http_response_free(r);
	close(fd);
	long status = 0;
	for (long t1 = robust_now_ms(); robust_now_ms() - t1 < 10000;) {
		r = http_get("/v1/lists/" BIG_LIST "/versions/1");
		status = r->status;
		http_response_free(r);
		if (status == 200)
			break;
		robust_sleep_ms(100);
	}
	ck_assert_msg(status == 200, "after the slow client left: HTTP %ld", status);
	/* A clean exit: under the sanitizers, nothing a download held leaks. */
	ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
	int st = 0;
	ck_assert_int_eq(waitpid(d.pid, &st, 0), d.pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		harness_dump_log(&d);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "qingdand exit status %#x", st);
	robust_rmtree(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("robust-heavy");
	TCase *tc = tcase_create("check");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, check_refused_past_bound);
	tcase_add_test(tc, check_answered_within_bound);
	suite_add_tcase(s, tc);
	TCase *tv = tcase_create("versions");
	tcase_set_timeout(tv, 120);
	tcase_add_test(tv, version_downloads);
	suite_add_tcase(s, tv);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
