/* qingdan — crash consistency: large list documents are loaded while the
 * writer is killed with SIGKILL at random moments, many times.  After each
 * kill the store opens, `qingdanctl verify` passes, and the list is
 * exactly one complete version: the one before the load or the one the
 * load was writing (its exported canonical form hashes to that document's
 * sha256, its entry count and version number match).
 *
 * The writer takes turns: `qingdanctl load` (killed mid-load), qingdand
 * serving a PUT (the daemon killed mid-request, then restarted on the
 * same store), and qingdand approving a proposal (proposed first, the
 * daemon killed while a second admin's approval is stored): after a kill
 * the proposal is approved exactly when its version is current, and
 * pending otherwise.  Kill moments are drawn over the measured duration of a
 * load, half of them in its second half, where the write transaction runs;
 * the duration estimate adapts so that kills keep landing before the
 * writer finishes.  Set QD_ROBUST_SEED to replay a sequence. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "robust.h"

#define LIST "robust-list"
#define ENTRIES 20000
#define NDOCS 4
#define ROUNDS 30
#define MIN_ROUNDS 10
#define BUDGET_MS 60000

static char dir[256], db[300];
static char paths[NDOCS][320];
static char shas[NDOCS][QD_SHA256_HEX];
static unsigned counts[NDOCS];
static char *docs[NDOCS];
static size_t lens[NDOCS];

/* What the list holds: the index of the document, and its version. */
typedef struct state {
	int doc;
	unsigned version;
} state;

static int doc_by_sha(const char *sha)
{
	for (int i = 0; i < NDOCS; i++)
		if (strcmp(sha, shas[i]) == 0)
			return i;
	return -1;
}

static void ctl_ok(const char *const *args, char **out, const char *what)
{
	int rc = harness_run_ctl(args, out);
	ck_assert_msg(rc == 0, "qingdanctl %s exited %d", what, rc);
}

/* Check the store offline: verify, then the current version's content. */
static state check_store(const char *when)
{
	const char *verify[] = {"--db", db, "verify", NULL};
	int rc = harness_run_ctl(verify, NULL);
	ck_assert_msg(rc == 0, "%s: qingdanctl verify exited %d", when, rc);

	const char *exp[] = {"--db", db, "export", LIST, NULL};
	char *out = NULL;
	ctl_ok(exp, &out, "export");
	char sha[QD_SHA256_HEX];
	qd_sha256_hex(out, strlen(out), sha);
	free(out);
	state s = {doc_by_sha(sha), 0};
	ck_assert_msg(s.doc >= 0, "%s: the current version (sha256 %s) is none of the documents loaded", when, sha);

	const char *lists[] = {"--db", db, "lists", NULL};
	ctl_ok(lists, &out, "lists");
	char id[64], kind[16], sha16[80];
	unsigned entries;
	ck_assert_msg(sscanf(out, "%63s %15s v%u %u entries loaded %*s sha256 %64s", id, kind, &s.version,
			     &entries, sha16) == 5,
		      "%s: cannot read qingdanctl lists: %s", when, out);
	ck_assert_str_eq(id, LIST);
	ck_assert_msg(entries == counts[s.doc], "%s: %u entries, document %d has %u", when, entries, s.doc,
		      counts[s.doc]);
	ck_assert_msg(strncmp(sha16, shas[s.doc], 16) == 0, "%s: lists says sha256 %s, export %s", when, sha16,
		      shas[s.doc]);
	free(out);
	return s;
}

/* A writer's request on its own thread: the PUT of document doc, or
 * (id > 0) the second admin's approval of proposal id. */
typedef struct put_job {
	int doc;
	long id;
	long status;
	pthread_t th;
} put_job;

static void *put_thread(void *p)
{
	put_job *j = p;
	char path[64];
	snprintf(path, sizeof path, "/v1/proposals/%ld/approve", j->id);
	http_response *r = j->id ? http_request_auth("POST", path, HARNESS_ADMIN2_TOKEN, NULL, NULL, 0)
				 : http_request_auth("PUT", "/v1/lists/" LIST, HARNESS_ADMIN_TOKEN, NULL, docs[j->doc],
						     lens[j->doc]);
	j->status = r->status;
	http_response_free(r);
	return NULL;
}

/* Propose document doc to the running daemon; returns the proposal. */
static long propose_doc(int doc, const char *when)
{
	http_response *r = http_request_auth("PUT", "/v1/lists/" LIST "?propose=true", HARNESS_ADMIN_TOKEN, NULL,
					     docs[doc], lens[doc]);
	ck_assert_msg(r->status == 202, "%s: proposing answered %ld", when, r->status);
	long id = (long)json_integer_value(json_object_get(r->json, "proposal"));
	http_response_free(r);
	return id;
}

/* Few versions kept, so that verify stays quick as rounds add versions. */
static const char *const daemon_args[] = {"--retain-versions", "3", NULL};

static long load_with_ctl(int doc)
{
	long t0 = robust_now_ms();
	const char *args[] = {"--db", db, "--retain-versions", "3", "load", LIST, paths[doc], NULL};
	ctl_ok(args, NULL, "load");
	return robust_now_ms() - t0;
}

static long load_with_daemon(int doc)
{
	harness_daemon d = {0};
	char err[512];
	ck_assert_msg(robust_start_on(&d, db, daemon_args, err, sizeof err), "%s", err);
	long t0 = robust_now_ms();
	put_job j = {.doc = doc};
	put_thread(&j);
	long t = robust_now_ms() - t0;
	ck_assert_msg(j.status == 200 || j.status == 201, "PUT answered %ld", j.status);
	robust_kill9(d.pid);
	return t;
}

START_TEST(kill_writer_at_random)
{
	const char *seed_env = getenv("QD_ROBUST_SEED");
	unsigned seed = seed_env ? (unsigned)strtoul(seed_env, NULL, 10) : (unsigned)time(NULL) ^ (unsigned)getpid();
	srand(seed);
	printf("crash consistency: seed %u (QD_ROBUST_SEED to replay)\n", seed);

	snprintf(dir, sizeof dir, "%s/qd-crash-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/db", dir);
	for (int i = 0; i < NDOCS; i++) {
		docs[i] = robust_doc(LIST, ENTRIES + (unsigned)i, (unsigned)i, &lens[i], &counts[i]);
		ck_assert(robust_doc_sha(docs[i], lens[i], LIST, shas[i]));
		snprintf(paths[i], sizeof paths[i], "%s/doc%d.json", dir, i);
		ck_assert(robust_write_file(paths[i], docs[i], lens[i]));
	}
	const char *init[] = {"--db", db, "init", NULL};
	ctl_ok(init, NULL, "init");

	/* Undisturbed loads first: they must work, and they time a load. */
	long t_ctl = load_with_ctl(0);
	state cur = check_store("after the first load");
	ck_assert_int_eq(cur.doc, 0);
	ck_assert_int_eq(cur.version, 1);
	long t_put = load_with_daemon(1);
	cur = check_store("after the first PUT");
	ck_assert_int_eq(cur.doc, 1);
	ck_assert_int_eq(cur.version, 2);

	long t_ctl0 = t_ctl, t_put0 = t_put, t_approve = t_put;
	long start = robust_now_ms();
	int rounds = 0, kept_old = 0, got_new = 0, finished = 0, by_ctl = 0, by_daemon = 0, by_approval = 0;
	for (; rounds < ROUNDS && (robust_now_ms() - start < BUDGET_MS || rounds < MIN_ROUNDS); rounds++) {
		int next = (cur.doc + 1 + rand() % (NDOCS - 1)) % NDOCS;
		int mode = rounds % 3; /* 0: qingdanctl load, 1: PUT, 2: an approval */
		bool daemon = mode == 1;
		long *span = mode == 2 ? &t_approve : daemon ? &t_put : &t_ctl;
		/* Half the kills anywhere in the load, half in its second half,
		 * where the write transaction runs and commits. */
		long delay = rounds % 4 < 2 ? rand() % (*span + 1) : *span / 2 + rand() % (*span * 6 / 10 + 1);
		char when[96];
		snprintf(when, sizeof when, "round %d (%s killed after %ld ms)", rounds,
			 mode == 2 ? "qingdand approving" : daemon ? "qingdand" : "qingdanctl load", delay);
		bool completed = false;
		if (mode == 2) {
			by_approval++;
			harness_daemon d = {0};
			char err[512];
			ck_assert_msg(robust_start_on(&d, db, daemon_args, err, sizeof err), "%s: %s", when, err);
			put_job j = {.id = propose_doc(next, when)};
			pthread_create(&j.th, NULL, put_thread, &j);
			robust_sleep_ms(delay);
			robust_kill9(d.pid);
			pthread_join(j.th, NULL);
			completed = j.status == 200;
			ck_assert_msg(robust_start_on(&d, db, daemon_args, err, sizeof err),
				      "%s: the daemon does not start again: %s", when, err);
			http_response *r = http_get("/v1/lists/" LIST);
			const char *sha = json_string_value(json_object_get(r->json, "sha256"));
			int doc = sha ? doc_by_sha(sha) : -1;
			http_response_free(r);
			char path[64];
			snprintf(path, sizeof path, "/v1/proposals/%ld", j.id);
			r = http_request_auth("GET", path, HARNESS_ADMIN_TOKEN, NULL, NULL, 0);
			ck_assert_msg(r->status == 200, "%s: the proposal after restart: %ld", when, r->status);
			const char *pstate = json_string_value(json_object_get(r->json, "state"));
			ck_assert_msg(pstate && strcmp(pstate, doc == next ? "approved" : "pending") == 0,
				      "%s: the list is document %d (new: %d), the proposal is %s", when, doc, next,
				      pstate ? pstate : "(none)");
			http_response_free(r);
			if (doc != next) {
				/* Rejected, so that it does not linger as pending. */
				snprintf(path, sizeof path, "/v1/proposals/%ld/reject", j.id);
				r = http_request_auth("POST", path, HARNESS_ADMIN2_TOKEN, NULL, NULL, 0);
				ck_assert_msg(r->status == 200, "%s: rejecting it: %ld", when, r->status);
				http_response_free(r);
			}
			robust_kill9(d.pid);
		} else if (!daemon) {
			by_ctl++;
			const char *args[] = {"--db", db, "--retain-versions", "3", "load", LIST, paths[next], NULL};
			pid_t pid = robust_spawn_ctl(args);
			ck_assert_int_gt(pid, 0);
			robust_sleep_ms(delay);
			int st;
			completed = waitpid(pid, &st, WNOHANG) == pid;
			if (completed)
				ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: load failed", when);
			else
				robust_kill9(pid);
		} else {
			by_daemon++;
			harness_daemon d = {0};
			char err[512];
			ck_assert_msg(robust_start_on(&d, db, daemon_args, err, sizeof err), "%s: %s", when, err);
			put_job j = {.doc = next};
			pthread_create(&j.th, NULL, put_thread, &j);
			robust_sleep_ms(delay);
			robust_kill9(d.pid);
			pthread_join(j.th, NULL);
			completed = j.status == 200 || j.status == 201;
			/* After a restart the daemon must serve the same state. */
			ck_assert_msg(robust_start_on(&d, db, daemon_args, err, sizeof err),
				      "%s: the daemon does not start again: %s", when, err);
			http_response *r = http_get("/v1/lists/" LIST);
			ck_assert_msg(r->status == 200, "%s: GET after restart: %ld", when, r->status);
			const char *sha = json_string_value(json_object_get(r->json, "sha256"));
			int doc = sha ? doc_by_sha(sha) : -1;
			ck_assert_msg(doc == cur.doc || doc == next,
				      "%s: after restart the list is document %d, expected %d (old) or %d (new)", when,
				      doc, cur.doc, next);
			ck_assert_int_eq(json_integer_value(json_object_get(r->json, "entries")), counts[doc]);
			http_response_free(r);
			robust_kill9(d.pid);
		}
		state now = check_store(when);
		ck_assert_msg(now.doc == cur.doc || now.doc == next,
			      "%s: the list is document %d, expected %d (old) or %d (new)", when, now.doc, cur.doc,
			      next);
		if (now.doc == next) {
			ck_assert_msg(now.version == cur.version + 1, "%s: new content as version %u after %u", when,
				      now.version, cur.version);
			got_new++;
		} else {
			ck_assert_msg(now.version == cur.version, "%s: old content as version %u, was %u", when,
				      now.version, cur.version);
			ck_assert_msg(!completed, "%s: the load reported success but the old version is current", when);
			kept_old++;
		}
		finished += completed;
		/* Steer the kills towards the commit: a load that finished before
		 * its kill means the span was too long, one that left the old
		 * version that it may have been too short. */
		if (completed)
			*span = *span * 9 / 10 > 20 ? *span * 9 / 10 : 20;
		else if (now.doc == cur.doc)
			*span = *span * 21 / 20 + 1;
		cur = now;
	}
	long took = robust_now_ms() - start;
	printf("crash consistency: %d SIGKILL rounds in %.1f s (%d qingdanctl load, %d qingdand PUT, "
	       "%d approvals; "
	       "%d-entry documents; first loads took %ld ms by qingdanctl, %ld ms by PUT): %d writers killed "
	       "before they finished (%d left the old version, %d had committed the new one), %d after; "
	       "verify passed and the list was one complete version every time\n",
	       rounds, (double)took / 1000, by_ctl, by_daemon, by_approval, ENTRIES, t_ctl0, t_put0, rounds - finished, kept_old,
	       got_new - finished, finished);
	ck_assert_int_ge(rounds, MIN_ROUNDS);
	for (int i = 0; i < NDOCS; i++)
		free(docs[i]);
	robust_rmtree(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("robust-crash");
	TCase *tc = tcase_create("crash");
	tcase_set_timeout(tc, 280);
	tcase_add_test(tc, kill_writer_at_random);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
