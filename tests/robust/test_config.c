/* qingdan — what the configuration lets through: TLS versions, the modes
 * of the secret files, and what /metrics and /v1/status show to whom.
 *
 * TLS: qingdand serves HTTPS with a self-signed certificate made here
 * with openssl(1) (the TLS cases pass with a note where it is missing).
 * A client held to TLS 1.0–1.1 gets no answer; TLS 1.2 and 1.3 do.  A bad
 * --tls-priorities stops start-up and --check-config.
 *
 * Modes: a tokens file that group or others may write, and a TLS key that
 * group or others may read, stop start-up and --check-config with the
 * chmod that fixes them; a tokens file made writable to others before a
 * SIGHUP is not taken (the old tokens stay).
 *
 * Disclosure: with --read-auth token, /metrics needs a token unless
 * --metrics-auth open; /v1/status names no filesystem path. */
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "qingdan/sha256.h"
#include "robust.h"

#define RUN_TIMEOUT_MS 10000

static const char *build_root(void)
{
	const char *b = getenv("QD_BUILD_ROOT");
	return b && *b ? b : "build";
}

static void make_dir(char *out, size_t len)
{
	snprintf(out, len, "/tmp/qd-config-XXXXXX");
	ck_assert_msg(mkdtemp(out) != NULL, "mkdtemp: %s", strerror(errno));
}

/* A whole file, or "" when it cannot be read (caller frees). */
static char *slurp(const char *path)
{
	char *s = harness_read_file(path);
	return s ? s : strdup("");
}

/* Run qingdand with args to its end (killed after RUN_TIMEOUT_MS); *err
 * receives its stderr (caller frees).  Returns the exit status, or -1. */
static int run_qingdand(const char *const *args, char **err)
{
	char *e = NULL;
	int rc = harness_run_daemon(args, RUN_TIMEOUT_MS, NULL, &e);
	*err = e ? e : strdup("");
	return rc;
}

/* Run qingdand with args, started (no --check-config) and then with
 * --check-config: both must exit 2 with every string of want in stderr. */
static void expect_refused(const char *dir, const char *const *args, const char *const *want)
{
	const char *argv[32];
	size_t n = 0;
	for (; args[n] && n < 30; n++)
		argv[n] = args[n];
	for (int check = 0; check < 2; check++) {
		argv[n] = check ? "--check-config" : NULL;
		argv[n + 1] = NULL;
		char *err = NULL;
		int rc = run_qingdand(argv, &err);
		ck_assert_msg(rc == 2, "%s: exit %d, expected 2; stderr: %s", check ? "--check-config" : "start", rc,
			      err);
		for (size_t i = 0; want[i]; i++)
			ck_assert_msg(strstr(err, want[i]), "%s: stderr lacks \"%s\": %s",
				      check ? "--check-config" : "start", want[i], err);
		free(err);
	}
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	ck_assert_msg(robust_write_file(path, text, strlen(text)), "cannot write %s", path);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static void write_admin_tokens(const char *path, const char *token, mode_t mode)
{
	char hex[QD_SHA256_HEX], line[200];
	qd_sha256_hex(token, strlen(token), hex);
	snprintf(line, sizeof line, "ops admin %s\n", hex);
	write_file(path, line, mode);
}

/* ---- TLS ---- */

static bool have_openssl(void)
{
	return system("command -v openssl >/dev/null 2>&1") == 0;
}

/* A self-signed certificate and its key (mode 0600) in dir. */
static void make_cert(const char *dir, char *cert, char *key, size_t len)
{
	snprintf(cert, len, "%s/cert.pem", dir);
	snprintf(key, len, "%s/key.pem", dir);
	char cmd[2048];
	snprintf(cmd, sizeof cmd,
		 "openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s' -out '%s' -days 2 -subj /CN=127.0.0.1 "
		 ">/dev/null 2>&1",
		 key, cert);
	ck_assert_msg(system(cmd) == 0, "openssl req failed");
	ck_assert_int_eq(chmod(key, 0600), 0);
}

static size_t sink(char *p, size_t size, size_t n, void *cls)
{
	(void)p;
	(void)cls;
	return size * n;
}

/* GET https://127.0.0.1:port/healthz with the client held to versions
 * [min, max] (CURL_SSLVERSION_*).  Returns the HTTP status, or 0 when no
 * TLS session came about. */
static long tls_get(unsigned port, long min, long max)
{
	CURL *h = curl_easy_init();
	ck_assert_ptr_nonnull(h);
	char url[64];
	snprintf(url, sizeof url, "https://127.0.0.1:%u/healthz", port);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, min | max);
	/* OpenSSL's default security level refuses TLS 1.0–1.1 itself: the
	 * client must offer them for the server's refusal to be what is seen. */
	curl_easy_setopt(h, CURLOPT_SSL_CIPHER_LIST, "DEFAULT@SECLEVEL=0");
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	long status = 0;
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	return status;
}

/* Start qingdand serving HTTPS on a free port; waits until TLS 1.2 is
 * answered.  Returns the pid (0 when it did not come up; then *log_text
 * holds its log). */
static pid_t start_tls(const char *dir, const char *cert, const char *key, unsigned *port, char **log_text)
{
	char exe[512], db[300], logp[300], listen[40];
	snprintf(exe, sizeof exe, "%s/src/daemon/qingdand", build_root());
	snprintf(db, sizeof db, "%s/db", dir);
	snprintf(logp, sizeof logp, "%s/daemon.log", dir);
	for (int attempt = 0; attempt < 3; attempt++) {
		*port = harness_free_port();
		snprintf(listen, sizeof listen, "127.0.0.1:%u", *port);
		const char *argv[] = {exe, "--db", db, "--listen", listen, "--tls-cert", cert, "--tls-key", key,
				      "--threads", "2", "--access-log", "off", NULL};
		fflush(NULL);
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			int out = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600), in = open("/dev/null", O_RDONLY);
			dup2(in, 0);
			dup2(out, 1);
			dup2(out, 2);
			execv(exe, (char *const *)argv);
			_exit(127);
		}
		long deadline = robust_now_ms() + HARNESS_START_TIMEOUT_MS;
		while (robust_now_ms() < deadline) {
			int st;
			if (waitpid(pid, &st, WNOHANG) == pid)
				break;
			if (tls_get(*port, CURL_SSLVERSION_TLSv1_2, CURL_SSLVERSION_MAX_TLSv1_2) == 200)
				return pid;
			robust_sleep_ms(50);
		}
		robust_kill9(pid);
	}
	*log_text = slurp(logp);
	return 0;
}

START_TEST(tls_12_and_13_only)
{
	if (!have_openssl()) {
		fprintf(stderr, "tls_12_and_13_only: openssl(1) is not installed; not run\n");
		return;
	}
	char dir[64], cert[128], key[128];
	make_dir(dir, sizeof dir);
	make_cert(dir, cert, key, sizeof cert);
	unsigned port;
	char *log_text = NULL;
	pid_t pid = start_tls(dir, cert, key, &port, &log_text);
	ck_assert_msg(pid > 0, "qingdand did not serve HTTPS: %s", log_text ? log_text : "");
	long s10 = tls_get(port, CURL_SSLVERSION_TLSv1_0, CURL_SSLVERSION_MAX_TLSv1_0);
	long s11 = tls_get(port, CURL_SSLVERSION_TLSv1_0, CURL_SSLVERSION_MAX_TLSv1_1);
	long s12 = tls_get(port, CURL_SSLVERSION_TLSv1_2, CURL_SSLVERSION_MAX_TLSv1_2);
	long s13 = tls_get(port, CURL_SSLVERSION_TLSv1_3, CURL_SSLVERSION_MAX_TLSv1_3);
	kill(pid, SIGTERM);
	int st;
	waitpid(pid, &st, 0);
	robust_rmtree(dir);
	ck_assert_msg(s10 == 0, "a TLS 1.0 client was answered %ld", s10);
	ck_assert_msg(s11 == 0, "a TLS 1.0-1.1 client was answered %ld", s11);
	ck_assert_msg(s12 == 200, "a TLS 1.2 client got %ld", s12);
	ck_assert_msg(s13 == 200, "a TLS 1.3 client got %ld", s13);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "qingdand did not stop cleanly");
}
END_TEST

START_TEST(tls_bad_priorities)
{
	if (!have_openssl()) {
		fprintf(stderr, "tls_bad_priorities: openssl(1) is not installed; not run\n");
		return;
	}
	char dir[64], cert[128], key[128], db[128];
	make_dir(dir, sizeof dir);
	make_cert(dir, cert, key, sizeof cert);
	snprintf(db, sizeof db, "%s/db", dir);
	const char *args[] = {"--db", db, "--listen", "127.0.0.1:1", "--tls-cert", cert, "--tls-key", key,
			      "--tls-priorities", "NORMAL:+NO-SUCH-THING", NULL};
	expect_refused(dir, args, (const char *const[]){"tls-priorities", "NORMAL:+NO-SUCH-THING", NULL});
	/* A priority string without --tls-cert would go unchecked. */
	const char *alone[] = {"--db", db, "--listen", "127.0.0.1:1", "--tls-priorities", "NORMAL", NULL};
	expect_refused(dir, alone, (const char *const[]){"--tls-priorities", "--tls-cert", NULL});
	/* A good one passes --check-config. */
	const char *good[] = {"--db", db, "--listen", "127.0.0.1:1", "--tls-cert", cert, "--tls-key", key,
			      "--tls-priorities", "SECURE256:-VERS-ALL:+VERS-TLS1.3", "--check-config", NULL};
	char *err = NULL;
	int rc = run_qingdand(good, &err);
	ck_assert_msg(rc == 0, "--check-config with a good priority string: exit %d: %s", rc, err);
	free(err);
	robust_rmtree(dir);
}
END_TEST

/* ---- file modes ---- */

START_TEST(tokens_file_writable_by_others)
{
	char dir[64], tok[128], db[128];
	make_dir(dir, sizeof dir);
	snprintf(tok, sizeof tok, "%s/tokens", dir);
	snprintf(db, sizeof db, "%s/db", dir);
	const char *args[] = {"--db", db, "--listen", "127.0.0.1:1", "--tokens", tok, NULL};
	write_admin_tokens(tok, HARNESS_ADMIN_TOKEN, 0666);
	char fix[200];
	snprintf(fix, sizeof fix, "chmod go-w %s", tok);
	expect_refused(dir, args, (const char *const[]){tok, "writable by group and others", "0666", fix, NULL});
	ck_assert_int_eq(chmod(tok, 0602), 0);
	expect_refused(dir, args, (const char *const[]){"writable by others", "0602", fix, NULL});
	ck_assert_int_eq(chmod(tok, 0660), 0);
	expect_refused(dir, args, (const char *const[]){"writable by group", "0660", fix, NULL});
	/* Readable by all is not the concern: only the hashes are in it. */
	ck_assert_int_eq(chmod(tok, 0644), 0);
	const char *check[] = {"--db", db, "--listen", "127.0.0.1:1", "--tokens", tok, "--check-config", NULL};
	char *err = NULL;
	int rc = run_qingdand(check, &err);
	ck_assert_msg(rc == 0, "--check-config with a 0644 tokens file: exit %d: %s", rc, err);
	free(err);
	robust_rmtree(dir);
}
END_TEST

START_TEST(tls_key_readable_by_others)
{
	if (!have_openssl()) {
		fprintf(stderr, "tls_key_readable_by_others: openssl(1) is not installed; not run\n");
		return;
	}
	char dir[64], cert[128], key[128], db[128];
	make_dir(dir, sizeof dir);
	make_cert(dir, cert, key, sizeof cert);
	snprintf(db, sizeof db, "%s/db", dir);
	const char *args[] = {"--db", db, "--listen", "127.0.0.1:1", "--tls-cert", cert, "--tls-key", key, NULL};
	char fix[200];
	snprintf(fix, sizeof fix, "chmod go-rwx %s", key);
	ck_assert_int_eq(chmod(key, 0644), 0);
	expect_refused(dir, args, (const char *const[]){key, "group and others", "0644", fix, NULL});
	ck_assert_int_eq(chmod(key, 0640), 0);
	expect_refused(dir, args, (const char *const[]){"open to group", "0640", fix, NULL});
	ck_assert_int_eq(chmod(key, 0602), 0);
	expect_refused(dir, args, (const char *const[]){"open to others", "0602", fix, NULL});
	ck_assert_int_eq(chmod(key, 0400), 0);
	const char *check[] = {"--db", db, "--listen", "127.0.0.1:1", "--tls-cert", cert, "--tls-key", key,
			       "--check-config", NULL};
	char *err = NULL;
	int rc = run_qingdand(check, &err);
	ck_assert_msg(rc == 0, "--check-config with a 0400 key: exit %d: %s", rc, err);
	free(err);
	robust_rmtree(dir);
}
END_TEST

static bool log_has(const char *path, const char *text, long timeout_ms)
{
	long deadline = robust_now_ms() + timeout_ms;
	do {
		char *s = slurp(path);
		bool found = strstr(s, text) != NULL;
		free(s);
		if (found)
			return true;
		robust_sleep_ms(50);
	} while (robust_now_ms() < deadline);
	return false;
}

START_TEST(tokens_reload_writable_by_others)
{
	harness_daemon d = {0};
	char err[512];
	harness_opts o = {.tokens = true};
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "%s", err);
	/* An attacker's token, in a file anyone may now write. */
	static const char evil[] = "qd-test-evil-0d15ea5e";
	write_admin_tokens(d.tokens, evil, 0666);
	kill(d.pid, SIGHUP);
	ck_assert_msg(log_has(d.log, "SIGHUP: keeping the old tokens", 5000), "no refusal logged at SIGHUP");
	ck_assert_msg(log_has(d.log, "writable by group and others (mode 0666)", 0), "the log lacks the mode");
	http_response *r = http_request_auth("GET", "/v1/audit", evil, NULL, NULL, 0);
	ck_assert_msg(r->status == 401, "the token from a world-writable file was taken: %ld", r->status);
	http_response_free(r);
	r = http_request_auth("GET", "/v1/audit", HARNESS_ADMIN_TOKEN, NULL, NULL, 0);
	ck_assert_msg(r->status == 200, "the old admin token was lost: %ld", r->status);
	http_response_free(r);
	/* Fixed as the message says, the next SIGHUP takes the file. */
	ck_assert_int_eq(chmod(d.tokens, 0644), 0);
	kill(d.pid, SIGHUP);
	ck_assert_msg(log_has(d.log, "SIGHUP: reloaded 1 tokens", 5000), "the fixed file was not reloaded");
	r = http_request_auth("GET", "/v1/audit", evil, NULL, NULL, 0);
	ck_assert_int_eq(r->status, 200);
	http_response_free(r);
	ck_assert_msg(harness_stop(&d, err, sizeof err), "%s", err);
}
END_TEST

/* ---- disclosure ---- */

static long get_status(const char *path, const char *token)
{
	http_response *r = http_request_auth("GET", path, token, NULL, NULL, 0);
	long s = r->status;
	http_response_free(r);
	return s;
}

START_TEST(metrics_follow_read_auth)
{
	harness_daemon d = {0};
	char err[512];
	harness_opts o = {.tokens = true, .read_auth = true};
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "%s", err);
	http_response *r = http_request_auth("GET", "/metrics", NULL, NULL, NULL, 0);
	ck_assert_msg(r->status == 401, "/metrics without a token under --read-auth token: %ld", r->status);
	ck_assert_str_eq(jptr_str(r->json, "/error/code"), "unauthorized");
	http_response_free(r);
	ck_assert_int_eq(get_status("/metrics", "not-a-token"), 401);
	ck_assert_int_eq(get_status("/metrics", HARNESS_READER_TOKEN), 200);
	ck_assert_int_eq(get_status("/metrics", HARNESS_ADMIN_TOKEN), 200);
	/* Probes stay open. */
	ck_assert_int_eq(get_status("/healthz", NULL), 200);
	ck_assert_msg(harness_stop(&d, err, sizeof err), "%s", err);

	const char *const open_args[] = {"--metrics-auth", "open", NULL};
	o.extra_args = open_args;
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "%s", err);
	ck_assert_int_eq(get_status("/metrics", NULL), 200);
	ck_assert_int_eq(get_status("/v1/lists", NULL), 401);
	ck_assert_msg(harness_stop(&d, err, sizeof err), "%s", err);

	/* Reads open: /metrics open, whatever --metrics-auth says. */
	o = (harness_opts){.tokens = true};
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "%s", err);
	ck_assert_int_eq(get_status("/metrics", NULL), 200);
	ck_assert_msg(harness_stop(&d, err, sizeof err), "%s", err);
}
END_TEST

START_TEST(status_names_no_path)
{
	harness_daemon d = {0};
	char err[512];
	harness_opts o = {.tokens = true};
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "%s", err);
	const char *tokens[] = {NULL, HARNESS_READER_TOKEN, HARNESS_ADMIN_TOKEN};
	for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
		http_response *r = http_request_auth("GET", "/v1/status", tokens[i], NULL, NULL, 0);
		ck_assert_int_eq(r->status, 200);
		ck_assert_msg(json_is_object(jptr(r->json, "/store")), "no store object: %s", r->body);
		ck_assert_msg(!jptr(r->json, "/store/path"), "/v1/status names the store path: %s", r->body);
		ck_assert_msg(!strstr(r->body, d.dir), "/v1/status shows %s: %s", d.dir, r->body);
		http_response_free(r);
	}
	ck_assert_msg(harness_stop(&d, err, sizeof err), "%s", err);
}
END_TEST

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	Suite *s = suite_create("robust-config");
	TCase *tc = tcase_create("tls");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, tls_12_and_13_only);
	tcase_add_test(tc, tls_bad_priorities);
	suite_add_tcase(s, tc);
	tc = tcase_create("modes");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, tokens_file_writable_by_others);
	tcase_add_test(tc, tls_key_readable_by_others);
	tcase_add_test(tc, tokens_reload_writable_by_others);
	suite_add_tcase(s, tc);
	tc = tcase_create("disclosure");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, metrics_follow_read_auth);
	tcase_add_test(tc, status_names_no_path);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
