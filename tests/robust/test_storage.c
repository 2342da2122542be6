/* qingdan — storage full and stale readers.
 *
 * Storage full: qingdand runs with a tiny --map-size.  A small list loads;
 * a document that does not fit is refused with 507 "storage_full"; the
 * previous version stays current and keeps answering lookups; a later
 * smaller load succeeds; the store verifies.
 *
 * Stale readers: a process that holds a read transaction is killed with
 * SIGKILL, leaving its slot in LMDB's reader table (mdb_stat -r shows its
 * pid); starting qingdand on the store clears it (qd_store_open runs
 * mdb_reader_check()).
 *
 * Full disk: the store lies on an 8 MiB tmpfs (mounted in a private mount
 * namespace of the test's own process) and the map is larger than the
 * filesystem: the write that runs out of room is answered 507, and the
 * daemon keeps serving.
 *
 * Log injection: with the store full, the audit records of refused admin
 * requests (the first of each kind at once, the repeats once per window)
 * fail to be written, and stderr says so; a path segment with "%0a" and a
 * fake log line must not forge a line there, and the failures make at most
 * one line a second. */
#include <check.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "qingdan/store.h"
#include "robust.h"

#define LIST "robust-list"

static void expect_lookup(const char *code, long version, const char *decision, const char *reason)
{
	http_response *r = http_get("/v1/lookup?code=%s&list=" LIST "&date=2026-01-01", code);
	ck_assert_msg(r->status == 200, "lookup %s: %ld %s", code, r->status, r->body);
	ck_assert_str_eq(jptr_str(r->json, "/decision"), decision);
	ck_assert_str_eq(jptr_str(r->json, "/reason"), reason);
	ck_assert_int_eq(json_integer_value(jptr(r->json, "/results/0/version")), version);
	http_response_free(r);
}

static void expect_current(long version, const char *sha, unsigned entries)
{
	http_response *r = http_get("/v1/lists/" LIST);
	ck_assert_int_eq(r->status, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(r->json, "version")), version);
	ck_assert_str_eq(jptr_str(r->json, "/sha256"), sha);
	ck_assert_int_eq(json_integer_value(json_object_get(r->json, "entries")), entries);
	http_response_free(r);
}

START_TEST(storage_full)
{
	static const char *const extra[] = {"--map-size", "2M", "--access-log", "off", NULL};
	harness_opts o = {.tokens = true, .extra_args = extra};
	harness_daemon d;
	char err[512];
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "%s", err);

	size_t small_len, big_len, small2_len;
	unsigned small_n, big_n, small2_n;
	char *small = robust_doc(LIST, 100, 0, &small_len, &small_n);
	char *big = robust_doc(LIST, 20000, 2, &big_len, &big_n);
	char *small2 = robust_doc(LIST, 120, 1, &small2_len, &small2_n);
	char sha_small[QD_SHA256_HEX], sha_small2[QD_SHA256_HEX];
	ck_assert(robust_doc_sha(small, small_len, LIST, sha_small));
	ck_assert(robust_doc_sha(small2, small2_len, LIST, sha_small2));

	http_response *r = http_request_auth("PUT", "/v1/lists/" LIST, HARNESS_ADMIN_TOKEN, NULL, small, small_len);
	ck_assert_msg(r->status == 201, "small load: %ld %s", r->status, r->body);
	http_response_free(r);
	expect_current(1, sha_small, small_n);

	/* Far more than 2 MiB of entries. */
	r = http_request_auth("PUT", "/v1/lists/" LIST, HARNESS_ADMIN_TOKEN, NULL, big, big_len);
	ck_assert_msg(r->status == 507, "big load: %ld %.300s", r->status, r->body);
	ck_assert_str_eq(jptr_str(r->json, "/error/code"), "storage_full");
	ck_assert_ptr_nonnull(jptr_str(r->json, "/error/message"));
	printf("storage full: a %zu-byte, %u-entry document into a 2 MiB store: HTTP %ld %s: %s\n", big_len, big_n,
	       r->status, jptr_str(r->json, "/error/code"), jptr_str(r->json, "/error/message"));
	http_response_free(r);

	/* The previous version stays current and answers. */
	expect_current(1, sha_small, small_n);
	expect_lookup(ROBUST_CODE_FLIP, 1, "allow", "listed");
	expect_lookup(ROBUST_CODE_NEW, 1, "deny", "not_listed");
	/* Again, to see that a full store keeps refusing cleanly. */
	r = http_request_auth("PUT", "/v1/lists/" LIST, HARNESS_ADMIN_TOKEN, NULL, big, big_len);
	ck_assert_int_eq(r->status, 507);
	http_response_free(r);
	r = http_get("/v1/status");
	ck_assert_int_eq(r->status, 200);
	http_response_free(r);

	/* A smaller load succeeds afterwards. */
	r = http_request_auth("PUT", "/v1/lists/" LIST, HARNESS_ADMIN_TOKEN, NULL, small2, small2_len);
	ck_assert_msg(r->status == 200, "later small load: %ld %s", r->status, r->body);
	ck_assert_int_eq(json_integer_value(json_object_get(r->json, "version")), 2);
	http_response_free(r);
	expect_current(2, sha_small2, small2_n);
	expect_lookup(ROBUST_CODE_FLIP, 2, "deny", "suspended");
	expect_lookup(ROBUST_CODE_NEW, 2, "allow", "listed");

	const char *verify[] = {"--db", d.db, "verify", NULL};
	ck_assert_int_eq(harness_run_ctl(verify, NULL), 0);
	ck_assert_msg(harness_stop(&d, err, sizeof err), "%s", err);
	free(small);
	free(big);
	free(small2);
}
END_TEST

START_TEST(disk_full)
{
	char dir[256], db[300], why[160];
	snprintf(dir, sizeof dir, "%s/qd-diskfull-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	if (!robust_private_tmpfs(dir, "8m", why, sizeof why)) {
		printf("SKIP disk_full: cannot mount a small tmpfs here (%s)\n", why);
		robust_rmtree(dir);
		return;
	}
	snprintf(db, sizeof db, "%s/db", dir);
	static const char *const extra[] = {"--map-size", "64M", NULL};
	harness_daemon d = {0};
	char err[512];
	ck_assert_msg(robust_start_on(&d, db, extra, err, sizeof err), "%s", err);

	size_t small_len, big_len;
	unsigned small_n, big_n;
	char *small = robust_doc(LIST, 100, 0, &small_len, &small_n);
	char *big = robust_doc(LIST, 60000, 2, &big_len, &big_n);
	char sha_small[QD_SHA256_HEX];
	ck_assert(robust_doc_sha(small, small_len, LIST, sha_small));
	http_response *r = http_request_auth("PUT", "/v1/lists/" LIST, HARNESS_ADMIN_TOKEN, NULL, small, small_len);
	ck_assert_msg(r->status == 201, "small load: %ld %s", r->status, r->body);
	http_response_free(r);

	/* The map (64 MiB) has room; the filesystem (8 MiB) has not. */
	for (int i = 0; i < 2; i++) {
		r = http_request_auth("PUT", "/v1/lists/" LIST, HARNESS_ADMIN_TOKEN, NULL, big, big_len);
		ck_assert_msg(r->status == 507, "big load onto a full disk: %ld %.300s", r->status, r->body);
		ck_assert_str_eq(jptr_str(r->json, "/error/code"), "storage_full");
		if (i == 0)
			printf("disk full: a %zu-byte, %u-entry document onto an 8 MiB tmpfs: HTTP %ld %s: %s\n",
			       big_len, big_n, r->status, jptr_str(r->json, "/error/code"),
			       jptr_str(r->json, "/error/message"));
		http_response_free(r);
		/* Still serving: the previous version answers. */
		expect_current(1, sha_small, small_n);
		expect_lookup(ROBUST_CODE_FLIP, 1, "allow", "listed");
		r = http_get("/v1/status");
		ck_assert_int_eq(r->status, 200);
		http_response_free(r);
	}
	robust_kill9(d.pid);
	free(small);
	free(big);
	umount(dir);
	robust_rmtree(dir);
}
END_TEST

/* The lines of the daemon's log that start with prefix, and the number of
 * lines holding what. */
static unsigned log_count(const harness_daemon *d, const char *prefix, const char *what, unsigned *holding)
{
	FILE *f = fopen(d->log, "r");
	ck_assert_ptr_nonnull(f);
	unsigned n = 0, h = 0;
	char line[4096];
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			n++;
		if (what && strstr(line, what))
			h++;
	}
	fclose(f);
	if (holding)
		*holding = h;
	return n;
}

/* The value of an unlabelled counter or gauge in GET /metrics. */
static unsigned metric_value(const char *name)
{
	http_response *r = http_get("/metrics");
	ck_assert_int_eq(r->status, 200);
	unsigned v = 0;
	size_t n = strlen(name);
	for (const char *p = r->body; p && (p = strstr(p, name)); p += n) {
		if ((p == r->body || p[-1] == '\n') && p[n] == ' ') {
			v = (unsigned)strtoul(p + n + 1, NULL, 10);
			break;
		}
	}
	http_response_free(r);
	return v;
}

START_TEST(audit_failure_log)
{
	/* One-second audit windows: the repeats of an attempt are written
	 * (and fail) within the test's time. */
	static const char *const extra[] = {"--map-size", "2M", "--access-log", "off", "--audit-window", "1", NULL};
	harness_opts o = {.tokens = true, .extra_args = extra};
	harness_daemon d;
	char err[512];
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "%s", err);
	/* Fill the map: lists as large as still fit, then refused requests
	 * for lists of many names (each name's first refusal in a window
	 * writes an audit record) until the audit write fails. */
	static const unsigned sizes[] = {4000, 2000, 1000, 500, 250, 120, 60};
	for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		for (unsigned k = 0; k < 4; k++) {
			char list[32], path[64];
			snprintf(list, sizeof list, "fill-%u-%u", i, k);
			snprintf(path, sizeof path, "/v1/lists/%s", list);
			size_t len;
			unsigned n;
			char *doc = robust_doc(list, sizes[i], k, &len, &n);
			http_response *r = http_request_auth("PUT", path, HARNESS_ADMIN_TOKEN, NULL, doc, len);
			long st = r->status;
			http_response_free(r);
			free(doc);
			ck_assert_msg(st == 201 || st == 507, "filling: %ld", st);
			if (st == 507)
				break;
		}
	}
	const char *fail = "qingdand: cannot write audit record";
	unsigned sent = 0;
	long t0 = robust_now_ms(); /* failure lines may start from here */
	while (log_count(&d, fail, NULL, NULL) == 0) {
		ck_assert_msg(sent < 20000, "the audit kept writing after %u refused requests", sent);
		for (int i = 0; i < 50; i++, sent++) {
			char path[64];
			snprintf(path, sizeof path, "/v1/lists/refused-%u", sent);
			http_response *r = http_request("PUT", path, NULL, "{}", 2);
			ck_assert_int_eq(r->status, 401);
			http_response_free(r);
		}
	}
	/* A batch of records failed; now until one record alone does not fit
	 * either (each refusal a new kind, written alone: the failure counter
	 * of /metrics tells). */
	robust_sleep_ms(1100); /* a new audit window: the last one's kinds are all taken */
	unsigned fails = metric_value("qingdan_audit_write_failures_total");
	for (unsigned k = 0;; k++) {
		ck_assert_msg(k < 2000, "single audit records still fit after %u more refusals", k);
		char path[64];
		snprintf(path, sizeof path, "/v1/lists/alone-%u", k);
		http_response *r = http_request("PUT", path, NULL, "{}", 2);
		ck_assert_int_eq(r->status, 401);
		http_response_free(r);
		unsigned done = metric_value("qingdan_audit_attempt_records_written_total") +
				metric_value("qingdan_audit_write_failures_total");
		for (int w = 0; w < 200 && done == metric_value("qingdan_audit_attempt_records_written_total") +
								metric_value("qingdan_audit_write_failures_total");
		     w++)
			robust_sleep_ms(5);
		if (metric_value("qingdan_audit_write_failures_total") > fails)
			break;
	}
	/* The store is full now; forged lines in the list id segment, in a
	 * new audit window. */
	robust_sleep_ms(1100);
	unsigned forged = 0;
	for (; forged < 300; forged++) {
		/* two kinds, so that the window's repeats are two records whose
		 * failures come within one second */
		http_response *r = http_request("PUT", forged % 2 ? "/v1/lists/x%0aqingdand:%20SIGHUP:%20reloaded%209%20tokens%0d%0a"
							       : "/v1/lists/x%0aqingdand:%20SIGHUP:%20reloaded%209%20tokens%0a",
						NULL, "{}", 2);
		ck_assert_int_eq(r->status, 401);
		http_response_free(r);
	}
	/* Past the burst's audit window and the one-a-second limit: this
	 * one's failure (a new kind, written at once) gets its line. */
	robust_sleep_ms(2100);
	http_response *r = http_request("PUT", "/v1/lists/x%0aqingdand:%20SIGHUP:%20reloaded%209%20tokens", NULL,
					"{}", 2);
	ck_assert_int_eq(r->status, 401);
	http_response_free(r);
	long secs = (robust_now_ms() - t0) / 1000 + 1;
	r = http_get("/healthz");
	ck_assert_int_eq(r->status, 200);
	http_response_free(r);

	unsigned escaped, counted;
	unsigned fake = log_count(&d, "qingdand: SIGHUP", NULL, NULL);
	unsigned lines = log_count(&d, fail, "x\\x0aqingdand: SIGHUP: reloaded 9 tokens", &escaped);
	log_count(&d, fail, "more like it in the last", &counted);
	printf("log injection: %u refused requests with a forged line, store full: %u forged lines, %u "
	       "\"cannot write audit record\" lines (%u with the escaped path, %u with a count of lines left "
	       "out)\n", forged + 1, fake, lines, escaped, counted);
	ck_assert_msg(fake == 0, "%u forged lines reached stderr", fake);
	ck_assert_msg(escaped >= 1, "no audit failure line shows the escaped path");
	ck_assert_msg(counted >= 1, "no audit failure line counts the lines left out");
	/* One line a second at most, plus the one when the failures began. */
	ck_assert_msg(lines <= (unsigned)secs + 2, "%u audit failure lines in about %ld s", lines, secs);
	ck_assert_msg(harness_stop(&d, err, sizeof err), "%s", err);
}
END_TEST

/* Is pid in the reader table that `mdb_stat -r` prints? */
static bool reader_listed(const char *db, pid_t pid, char *table, size_t tlen)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "mdb_stat -r '%s' 2>&1", db);
	FILE *p = popen(cmd, "r");
	ck_assert_msg(p != NULL, "cannot run mdb_stat (lmdb-utils)");
	bool found = false;
	size_t n = 0;
	char line[256];
	while (fgets(line, sizeof line, p)) {
		n += (size_t)snprintf(table + n, n < tlen ? tlen - n : 0, "%s", line);
		if (n >= tlen)
			n = tlen - 1;
		long v;
		if (sscanf(line, "%ld", &v) == 1 && v == (long)pid)
			found = true;
	}
	/* mdb_stat -r exits 1 even when it printed the table (it keeps the
	 * printer's return value), so judge it by its output. */
	pclose(p);
	ck_assert_msg(strstr(table, "Reader Table Status") != NULL, "mdb_stat -r failed: %s", table);
	return found;
}

START_TEST(stale_readers_cleared)
{
	char dir[256], db[300], table[4096];
	snprintf(dir, sizeof dir, "%s/qd-readers-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/db", dir);
	const char *init[] = {"--db", db, "init", NULL};
	ck_assert_int_eq(harness_run_ctl(init, NULL), 0);

	/* LMDB resets its reader table when the first process opens the
	 * environment, so stale slots only outlive their process while
	 * someone else keeps the store open: the holder (a long-running
	 * qingdanctl, a backup …) does.  Then a reader dies inside its read
	 * transaction. */
	int pfd[2];
	ck_assert_int_eq(pipe(pfd), 0);
	fflush(NULL);
	pid_t holder = fork();
	ck_assert_int_ge(holder, 0);
	if (holder == 0) {
		close(pfd[0]);
		qd_store *st;
		char e[256];
		if (qd_store_open(db, NULL, &st, e, sizeof e) == 0)
			(void)!write(pfd[1], "h", 1);
		for (;;)
			pause();
	}
	char c = 0;
	ck_assert_msg(read(pfd[0], &c, 1) == 1 && c == 'h', "the holder process could not open the store");
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		close(pfd[0]);
		qd_store *st;
		char e[256];
		qd_snap *s = NULL;
		if (qd_store_open(db, NULL, &st, e, sizeof e) == 0 && (s = qd_snap_new(st)) && qd_snap_open(s) == 0)
			(void)!write(pfd[1], "r", 1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	ck_assert_msg(read(pfd[0], &c, 1) == 1 && c == 'r', "the reader process could not open a snapshot");
	close(pfd[0]);
	ck_assert_msg(reader_listed(db, child, table, sizeof table), "reader %d not in the table:\n%s", (int)child,
		      table);
	robust_kill9(child);
	ck_assert_msg(reader_listed(db, child, table, sizeof table),
		      "the killed reader %d left no stale slot, nothing to clear:\n%s", (int)child, table);

	harness_daemon d = {0};
	char err[512];
	ck_assert_msg(robust_start_on(&d, db, NULL, err, sizeof err), "%s", err);
	bool still = reader_listed(db, child, table, sizeof table);
	robust_kill9(d.pid);
	robust_kill9(holder);
	ck_assert_msg(!still, "qingdand started but the dead reader %d is still in the table:\n%s", (int)child,
		      table);
	printf("stale readers: the slot of reader %d (killed with SIGKILL inside a read transaction) was "
	       "cleared when qingdand started\n", (int)child);
	robust_rmtree(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("robust-storage");
	TCase *tc = tcase_create("storage");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, storage_full);
	tcase_add_test(tc, stale_readers_cleared);
	tcase_add_test(tc, disk_full);
	tcase_add_test(tc, audit_failure_log);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
