/* qingdan — the lossless decision log (--decision-log-mode lossless).
 *
 * Burst: reader threads run lookups and checks at once, each with a
 * client_ref of its own; afterwards the decision log holds exactly one
 * line per answered decision (a lookup, or a check's item), each with the
 * decision_id answered and the request's client_ref.
 *
 * Failing device: the decision log lies on a 16 MiB tmpfs (mounted in a
 * private mount namespace of the test's own process, which the daemon
 * inherits) that is then filled up.  The writer cannot write, keeps the
 * lines and retries; once its buffer is full, decisions are answered 503
 * log_unavailable (never 200 without a line) while /healthz still
 * answers.  When space is freed, lookups answer 200 again, and every
 * answered decision, from before, during and after, has its line: none
 * was lost, none was written for a 503. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <jansson.h>

#include "robust.h"

#define LIST "robust-list"
#define THREADS 4
#define PER_THREAD 150      /* requests per thread: lookups, every fifth a check */
#define CHECK_ITEMS 3
#define FULL_ITEMS 1000     /* items of each check that fills the buffer */
#define FULL_CHECKS_MAX 40  /* the buffer (4 MiB) is full after about 12 */
#define REFS_MAX 2048

/* Every request the test sent with a client_ref: what was answered, and
 * how many decision log lines it must have. */
typedef struct sent {
	char ref[32];
	char id[40];         /* decision_id answered; "" for a 503 */
	long status;
	unsigned lines;      /* expected lines: the decisions answered */
	unsigned seen;       /* lines found in the log */
} sent;

static sent refs[REFS_MAX];
static unsigned n_refs;
static pthread_mutex_t refs_mu = PTHREAD_MUTEX_INITIALIZER;

static void add_sent(const char *ref, const http_response *r, unsigned items)
{
	pthread_mutex_lock(&refs_mu);
	ck_assert_uint_lt(n_refs, REFS_MAX);
	sent *s = &refs[n_refs++];
	snprintf(s->ref, sizeof s->ref, "%s", ref);
	s->status = r->status;
	const char *id = r->status == 200 ? jptr_str(r->json, "/decision_id") : NULL;
	snprintf(s->id, sizeof s->id, "%s", id ? id : "");
	s->lines = r->status == 200 ? items : 0;
	s->seen = 0;
	pthread_mutex_unlock(&refs_mu);
}

static sent *find_sent(const char *ref)
{
	for (unsigned i = 0; i < n_refs; i++)
		if (strcmp(refs[i].ref, ref) == 0)
			return &refs[i];
	return NULL;
}

/* A lookup with client_ref ref, recorded.  Returns the status. */
static long lookup(const char *ref)
{
	http_response *r = http_get("/v1/lookup?code=" ROBUST_CODE_FLIP "&list=" LIST "&date=2026-01-01&client_ref=%s",
				    ref);
	if (r->status == 200)
		ck_assert_str_eq(jptr_str(r->json, "/client_ref"), ref);
	else if (r->status == 503)
		ck_assert_str_eq(jptr_str(r->json, "/error/code"), "log_unavailable");
	add_sent(ref, r, 1);
	long st = r->status;
	http_response_free(r);
	return st;
}

/* A check of n items (codes not listed: small answers) with client_ref
 * ref, recorded.  Returns the response (the caller frees it). */
static http_response *check(const char *ref, unsigned n)
{
	size_t cap = 128 + (size_t)n * 40;
	char *body = malloc(cap);
	ck_assert_ptr_nonnull(body);
	size_t k = (size_t)snprintf(body, cap, "{\"client_ref\":\"%s\",\"list\":\"" LIST "\",\"date\":\"2026-01-01\",\"items\":[",
				    ref);
	for (unsigned i = 0; i < n; i++)
		k += (size_t)snprintf(body + k, cap - k, "%s{\"ref\":%u,\"code\":\"%s\"}", i ? "," : "", i,
				      i % 2 ? ROBUST_CODE_NEW : ROBUST_CODE_FLIP);
	snprintf(body + k, cap - k, "]}");
	http_response *r = http_request("POST", "/v1/check", NULL, body, strlen(body));
	free(body);
	if (r->status == 200)
		ck_assert_str_eq(jptr_str(r->json, "/client_ref"), ref);
	add_sent(ref, r, n);
	return r;
}

/* Match the decision log against what was answered: every line parses,
 * carries a client_ref the test sent and the decision_id it was answered
 * with, and every request has exactly its expected number of lines. */
static void match_log(const char *path)
{
	char *text = harness_read_file(path);
	ck_assert_msg(text != NULL, "cannot read %s", path);
	unsigned n_lines = 0, expected = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);
		ck_assert_msg(json_is_object(j), "a torn or broken line: %.200s", line);
		const char *ref = jptr_str(j, "/client_ref");
		ck_assert_msg(ref != NULL, "a line without client_ref: %.200s", line);
		sent *s = find_sent(ref);
		ck_assert_msg(s != NULL, "a line for a request never sent: %.200s", line);
		ck_assert_msg(s->status == 200, "a line for %s, answered %ld", ref, s->status);
		ck_assert_str_eq(jptr_str(j, "/decision_id"), s->id);
		s->seen++;
		n_lines++;
		json_decref(j);
	}
	free(text);
	unsigned answered = 0;
	for (unsigned i = 0; i < n_refs; i++) {
		ck_assert_msg(refs[i].seen == refs[i].lines, "%s (HTTP %ld): %u lines, expected %u", refs[i].ref,
			      refs[i].status, refs[i].seen, refs[i].lines);
		expected += refs[i].lines;
		answered += refs[i].status == 200;
	}
	ck_assert_uint_eq(n_lines, expected);
	printf("decision log: %u lines for %u answered requests of %u sent\n", n_lines, answered, n_refs);
}

static void load_list(void)
{
	size_t len;
	unsigned n;
	char *doc = robust_doc(LIST, 100, 0, &len, &n);
	http_response *r = http_request_auth("PUT", "/v1/lists/" LIST, HARNESS_ADMIN_TOKEN, NULL, doc, len);
	ck_assert_msg(r->status == 201, "load: %ld %s", r->status, r->body);
	http_response_free(r);
	free(doc);
}

static double metric(const char *name)
{
	http_response *r = http_get("/metrics");
	ck_assert_int_eq(r->status, 200);
	double v = -1;
	size_t nl = strlen(name);
	for (const char *p = r->body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, name, nl) == 0 && p[nl] == ' ')
			v = strtod(p + nl + 1, NULL);
	http_response_free(r);
	return v;
}

static void *burst(void *arg)
{
	unsigned t = (unsigned)(size_t)arg;
	for (unsigned i = 0; i < PER_THREAD; i++) {
		char ref[32];
		snprintf(ref, sizeof ref, "t%u/%u", t, i);
		if (i % 5 == 4) {
			http_response *r = check(ref, CHECK_ITEMS);
			ck_assert_msg(r->status == 200, "check %s: %ld %s", ref, r->status, r->body);
			http_response_free(r);
		} else {
			ck_assert_int_eq(lookup(ref), 200);
		}
	}
	return NULL;
}

START_TEST(lossless_burst)
{
	char dir[256], log[300];
	snprintf(dir, sizeof dir, "%s/qd-declog-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(log, sizeof log, "%s/decision.log", dir);
	const char *const extra[] = {"--decision-log", log, "--decision-log-mode", "lossless", "--access-log", "off", NULL};
	harness_opts o = {.tokens = true, .extra_args = extra};
	harness_daemon d;
	char err[512];
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "%s", err);
	load_list();
	n_refs = 0;
	pthread_t th[THREADS];
	for (size_t t = 0; t < THREADS; t++)
		ck_assert_int_eq(pthread_create(&th[t], NULL, burst, (void *)t), 0);
	for (size_t t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	ck_assert_msg(metric("qingdan_decision_log_syncs_total") >= 1, "no fsync batch counted");
	ck_assert_msg(metric("qingdan_decision_log_unavailable_total") == 0, "a decision was refused");
	printf("burst: %.0f fsync batches for %u requests\n", metric("qingdan_decision_log_syncs_total"), n_refs);
	/* An answer is sent once its lines are queued, not once they are
	 * written: a clean stop writes and fsyncs everything queued, so the
	 * log is read after it. */
	ck_assert_msg(harness_stop(&d, err, sizeof err), "%s", err);
	match_log(log);
	robust_rmtree(dir);
}
END_TEST

/* Write zeros to path until the filesystem is full. */
static void fill(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	static const char zeros[65536];
	for (;;) {
		ssize_t w = write(fd, zeros, sizeof zeros);
		if (w <= 0) {
			ck_assert_msg(w == 0 || errno == ENOSPC, "filling: %s", strerror(errno));
			break;
		}
	}
	close(fd);
}

START_TEST(lossless_device_full)
{
	char dir[256], log[300], filler[300], why[160];
	snprintf(dir, sizeof dir, "%s/qd-declogfull-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	if (!robust_private_tmpfs(dir, "16m", why, sizeof why)) {
		printf("SKIP lossless_device_full: cannot mount a small tmpfs here (%s)\n", why);
		robust_rmtree(dir);
		return;
	}
	snprintf(log, sizeof log, "%s/decision.log", dir);
	snprintf(filler, sizeof filler, "%s/filler", dir);
	const char *const extra[] = {"--decision-log", log, "--decision-log-mode", "lossless", "--decision-log-wait", "100",
				     "--access-log", "off", NULL};
	harness_opts o = {.tokens = true, .extra_args = extra};
	harness_daemon d;
	char err[512];
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "%s", err);
	load_list();
	n_refs = 0;
	for (int i = 0; i < 5; i++) {
		char ref[32];
		snprintf(ref, sizeof ref, "pre-%d", i);
		ck_assert_int_eq(lookup(ref), 200);
	}

	/* The device is full: answers go on until the buffer is, then 503. */
	long t0 = robust_now_ms();
	fill(filler);
	http_response *refused = NULL;
	unsigned full_ok = 0;
	for (int k = 0; k < FULL_CHECKS_MAX && !refused; k++) {
		char ref[32];
		snprintf(ref, sizeof ref, "full-%d", k);
		http_response *r = check(ref, FULL_ITEMS);
		ck_assert_msg(r->status == 200 || r->status == 503, "check %s: %ld %.300s", ref, r->status, r->body);
		if (r->status == 503) {
			refused = r;
		} else {
			full_ok++;
			http_response_free(r);
		}
	}
	ck_assert_msg(refused != NULL, "%d checks of %d items on a full device, and none refused", FULL_CHECKS_MAX,
		      FULL_ITEMS);
	ck_assert_str_eq(jptr_str(refused->json, "/error/code"), "log_unavailable");
	ck_assert_msg(http_header(refused, "Retry-After") != NULL, "no Retry-After on the 503");
	printf("device full: %u checks of %d items answered, then HTTP %ld %s: %s\n", full_ok, FULL_ITEMS,
	       refused->status, jptr_str(refused->json, "/error/code"), jptr_str(refused->json, "/error/message"));
	http_response_free(refused);
	/* Lookups fill what room a check's lines left; from the first one
	 * refused (all these lines have the same length), all are. */
	int during = 0;
	for (;; during++) {
		char ref[32];
		snprintf(ref, sizeof ref, "during-%04d", during);
		if (lookup(ref) == 503)
			break;
		ck_assert_msg(during < 4000, "4000 lookups on a full device, and none refused");
	}
	for (int i = 1; i <= 3; i++) {
		char ref[32];
		snprintf(ref, sizeof ref, "during-%04d", during + i);
		ck_assert_int_eq(lookup(ref), 503);
	}
	http_response *r = http_get("/healthz");
	ck_assert_int_eq(r->status, 200);
	http_response_free(r);
	ck_assert_msg(metric("qingdan_decision_log_unavailable_total") >= 3, "503s not counted");
	ck_assert_msg(metric("qingdan_decision_log_write_failures_total") >= 1, "write failures not counted");

	/* Space again: the kept lines are written and lookups answer 200. */
	ck_assert_int_eq(unlink(filler), 0);
	long deadline = robust_now_ms() + 15000;
	int k = 0;
	for (;; k++) {
		char ref[32];
		snprintf(ref, sizeof ref, "recover-%d", k);
		if (lookup(ref) == 200)
			break;
		ck_assert_msg(robust_now_ms() < deadline, "no recovery 15 s after space was freed");
		robust_sleep_ms(50);
	}
	printf("recovered after %d refused lookups, %ld ms after the device filled\n", k, robust_now_ms() - t0);
	for (int i = 0; i < 5; i++) {
		char ref[32];
		snprintf(ref, sizeof ref, "post-%d", i);
		ck_assert_int_eq(lookup(ref), 200);
	}
	/* stderr said so, a line a second at most, and said it recovered. */
	char *out = harness_read_file(d.log);
	ck_assert_ptr_nonnull(out);
	unsigned said = 0;
	for (const char *p = strstr(out, "cannot write log"); p; p = strstr(p + 1, "cannot write log"))
		said++;
	ck_assert_msg(said >= 1 && said <= 2 + (unsigned)((robust_now_ms() - t0) / 1000),
		      "%u stderr lines about the failing log:\n%s", said, out);
	ck_assert_msg(strstr(out, "is written again"), "no word of the recovery on stderr:\n%s", out);
	free(out);
	ck_assert_msg(harness_stop(&d, err, sizeof err), "%s", err);
	match_log(log);
	umount(dir);
	robust_rmtree(dir);
}
END_TEST

static Suite *declog_suite(void)
{
	Suite *s = suite_create("robust-declog");
	TCase *tc = tcase_create("declog");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, lossless_burst);
	tcase_add_test(tc, lossless_device_full);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(declog_suite());
	srunner_run_all(sr, CK_NORMAL);
	int nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
