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
 * was lost, none was written for a 503.
 *
 * Failing writes without root: the same, with the daemon run under an
 * LD_PRELOAD shim (faultlog.c, built as qd_faultlog.so) that makes the
 * decision log's write and fsync fail with ENOSPC, or EIO, or only its
 * fsync fail with EIO, while a control file exists.  After a failed fsync
 * the writer writes its batch again, so there a line may appear more than
 * once (the same decision_id), each of a request's lines as often; none is
 * missing. */
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
 * with, and every request has exactly its expected number of lines; with
 * rewritten, a whole multiple of them (at least once: none is lost). */
static void match_log(const char *path, bool rewritten)
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
		const sent *r = &refs[i];
		if (rewritten && r->lines)
			ck_assert_msg(r->seen >= r->lines && r->seen % r->lines == 0,
				      "%s (HTTP %ld): %u lines, expected a multiple of %u", r->ref, r->status, r->seen,
				      r->lines);
		else
			ck_assert_msg(r->seen == r->lines, "%s (HTTP %ld): %u lines, expected %u", r->ref, r->status,
				      r->seen, r->lines);
		expected += r->lines;
		answered += r->status == 200;
	}
	if (rewritten)
		ck_assert_uint_ge(n_lines, expected);
	else
		ck_assert_uint_eq(n_lines, expected);
	printf("decision log: %u lines (%u expected) for %u answered requests of %u sent\n", n_lines, expected,
	       answered, n_refs);
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

/* Start d with a lossless decision log at log (wait_ms: its
 * --decision-log-wait, NULL for the default), no access log.  Returns as
 * harness_start(). */
static bool start_lossless(harness_daemon *d, const char *log, const char *wait_ms, char *err, size_t len)
{
	const char *const extra[] = {"--decision-log", log, "--decision-log-mode", "lossless", "--access-log", "off",
				     wait_ms ? "--decision-log-wait" : NULL, wait_ms, NULL};
	harness_opts o = {.tokens = true, .extra_args = extra};
	return harness_start(d, &o, err, len);
}

/* The list loaded, and five lookups answered before anything fails. */
static void load_and_look_up(void)
{
	load_list();
	n_refs = 0;
	for (int i = 0; i < 5; i++) {
		char ref[32];
		snprintf(ref, sizeof ref, "pre-%d", i);
		ck_assert_int_eq(lookup(ref), 200);
	}
}

START_TEST(lossless_burst)
{
	char dir[256], log[300];
	snprintf(dir, sizeof dir, "%s/qd-declog-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(log, sizeof log, "%s/decision.log", dir);
	harness_daemon d;
	char err[512];
	ck_assert_msg(start_lossless(&d, log, NULL, err, sizeof err), "%s", err);
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
	match_log(log, false);
	robust_rmtree(dir);
}
END_TEST

/* How a test makes the decision log's device fail, and work again. */
typedef struct device {
	void (*start_failing)(const struct device *);
	void (*stop_failing)(const struct device *);
	char path[300];      /* the filler, or the shim's control file */
	const char *fault;   /* what the shim's control file says */
	const char *says;    /* what stderr must say of the failure (strerror) */
} device;

/* Write zeros to the device's path until the filesystem is full. */
static void fill(const struct device *dev)
{
	int fd = open(dev->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
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

static void unlink_filler(const struct device *dev)
{
	ck_assert_int_eq(unlink(dev->path), 0);
}

/* The shim fails the log's calls while its control file exists.  The file
 * appears whole (written aside, then renamed): the shim reads an empty
 * one as ENOSPC, and the daemon's writer, which runs meanwhile, could
 * otherwise fail with that in the instant between creating and writing. */
static void shim_on(const struct device *dev)
{
	char tmp[320];
	snprintf(tmp, sizeof tmp, "%s.new", dev->path);
	FILE *f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s\n", dev->fault);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, dev->path), 0);
}

static void shim_off(const struct device *dev)
{
	ck_assert_int_eq(unlink(dev->path), 0);
}

/* With the daemon d running on a lossless decision log: make its device
 * fail, fill the writer's buffer with checks until one is refused 503,
 * then lookups until they all are; let the device work again and wait
 * until lookups answer 200.  Every request is recorded for match_log. */
static void fail_and_recover(harness_daemon *d, const device *dev)
{
	/* The device fails: answers go on until the buffer is full, then 503. */
	long t0 = robust_now_ms();
	dev->start_failing(dev);
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
	ck_assert_msg(refused != NULL, "%d checks of %d items on a failing device, and none refused", FULL_CHECKS_MAX,
		      FULL_ITEMS);
	ck_assert_str_eq(jptr_str(refused->json, "/error/code"), "log_unavailable");
	ck_assert_msg(http_header(refused, "Retry-After") != NULL, "no Retry-After on the 503");
	printf("device failing: %u checks of %d items answered, then HTTP %ld %s: %s\n", full_ok, FULL_ITEMS,
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
		ck_assert_msg(during < 4000, "4000 lookups on a failing device, and none refused");
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

	/* The device works again: the kept lines are written and lookups
	 * answer 200. */
	dev->stop_failing(dev);
	long deadline = robust_now_ms() + 15000;
	int k = 0;
	for (;; k++) {
		char ref[32];
		/* Longer than the refused lookups' refs: a line that fits in
		 * the room they left cannot pass for a recovery. */
		snprintf(ref, sizeof ref, "recover-%04d", k);
		if (lookup(ref) == 200)
			break;
		ck_assert_msg(robust_now_ms() < deadline, "no recovery 15 s after the device works again");
		robust_sleep_ms(50);
	}
	printf("recovered after %d refused lookups, %ld ms after the device filled\n", k, robust_now_ms() - t0);
	for (int i = 0; i < 5; i++) {
		char ref[32];
		snprintf(ref, sizeof ref, "post-%d", i);
		ck_assert_int_eq(lookup(ref), 200);
	}
	/* stderr said so, a line a second at most, and said it recovered. */
	char *out = harness_read_file(d->log);
	ck_assert_ptr_nonnull(out);
	unsigned said = 0;
	for (const char *p = strstr(out, "cannot write log"); p; p = strstr(p + 1, "cannot write log"))
		said++;
	ck_assert_msg(said >= 1 && said <= 2 + (unsigned)((robust_now_ms() - t0) / 1000),
		      "%u stderr lines about the failing log:\n%s", said, out);
	ck_assert_msg(strstr(out, dev->says), "stderr does not say \"%s\":\n%s", dev->says, out);
	ck_assert_msg(strstr(out, "is written again"), "no word of the recovery on stderr:\n%s", out);
	free(out);
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
	harness_daemon d;
	char err[512];
	ck_assert_msg(start_lossless(&d, log, "100", err, sizeof err), "%s", err);
	load_and_look_up();
	device dev = {.start_failing = fill, .stop_failing = unlink_filler, .says = strerror(ENOSPC)};
	snprintf(dev.path, sizeof dev.path, "%s", filler);
	fail_and_recover(&d, &dev);
	ck_assert_msg(harness_stop(&d, err, sizeof err), "%s", err);
	match_log(log, false);
	umount(dir);
	robust_rmtree(dir);
}
END_TEST

/* The shim's faults: what its control file says, and the errno stderr names. */
static const struct {
	const char *fault;
	int err;
} shim_faults[] = {{"ENOSPC", ENOSPC}, {"EIO", EIO}, {"EIO-SYNC", EIO}};

START_TEST(lossless_failing_writes)
{
	char shim[1024], dir[256], log[300];
	snprintf(shim, sizeof shim, "%s/tests/qd_faultlog.so", getenv("QD_BUILD_ROOT") ? getenv("QD_BUILD_ROOT") : "build");
	ck_assert_msg(access(shim, R_OK) == 0, "no shim at %s: %s", shim, strerror(errno));
	snprintf(dir, sizeof dir, "%s/qd-declogshim-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(log, sizeof log, "%s/decision.log", dir);
	device dev = {.start_failing = shim_on, .stop_failing = shim_off, .fault = shim_faults[_i].fault,
		      .says = strerror(shim_faults[_i].err)};
	snprintf(dev.path, sizeof dev.path, "%s/fault-on", dir);

	/* Only the daemon runs under the shim.  A sanitized build's runtime
	 * would refuse a library preloaded before it. */
	const char *asan = getenv("ASAN_OPTIONS");
	char asan_opts[512];
	snprintf(asan_opts, sizeof asan_opts, "%s%sverify_asan_link_order=0", asan ? asan : "", asan ? ":" : "");
	ck_assert_int_eq(setenv("LD_PRELOAD", shim, 1), 0);
	ck_assert_int_eq(setenv("QD_FAULT_FILE", log, 1), 0);
	ck_assert_int_eq(setenv("QD_FAULT_CONTROL", dev.path, 1), 0);
	ck_assert_int_eq(setenv("ASAN_OPTIONS", asan_opts, 1), 0);
	harness_daemon d;
	char err[512];
	bool started = start_lossless(&d, log, "100", err, sizeof err);
	unsetenv("LD_PRELOAD");
	unsetenv("QD_FAULT_FILE");
	unsetenv("QD_FAULT_CONTROL");
	if (asan)
		setenv("ASAN_OPTIONS", asan, 1);
	else
		unsetenv("ASAN_OPTIONS");
	ck_assert_msg(started, "%s", err);
	load_and_look_up();
	printf("shim fault %s:\n", dev.fault);
	fail_and_recover(&d, &dev);
	ck_assert_msg(harness_stop(&d, err, sizeof err), "%s", err);
	/* After a failed fsync the batch is written again. */
	match_log(log, shim_faults[_i].err == EIO && strcmp(dev.fault, "EIO-SYNC") == 0);
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
	tcase_add_loop_test(tc, lossless_failing_writes, 0, (int)(sizeof shim_faults / sizeof shim_faults[0]));
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
