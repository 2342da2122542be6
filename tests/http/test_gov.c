/* qingdan — HTTP tests of governed publication: the expiry watch
 * (GET /v1/lists/{id}/expiring and its metric) and proposals approved by
 * a second admin (four eyes), across a restart too.
 *
 * The daemon's "today" is the real China-time date, so fixture documents
 * are written relative to it.  Every window a test asks about is chosen
 * so that the answer stays the same if the day turns between the load
 * and the question. */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "qingdan/buf.h"
#include "harness.h"
#include "suite.h"

#define WATCH "expiry-watch"
#define WATCH_METRIC "expiry-metric"
#define E_OK "91110000600037341L"
#define E_HK "HK:12345678"

/* The civil date `days` from today in China time, "YYYY-MM-DD". */
static void date_from_today(int days, char out[11])
{
	time_t t = time(NULL) + 8 * 3600 + (time_t)days * 86400;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* Start a fixture's daemon with tokens and extra arguments (may be NULL). */
static void start(harness_daemon *d, const char *const *extra)
{
	harness_opts o = {.tokens = true, .extra_args = extra};
	char err[512];
	ck_assert_msg(harness_start(d, &o, err, sizeof err), "cannot start qingdand: %s", err);
}

static harness_daemon d_watch;

static void setup_watch(void)
{
	start(&d_watch, NULL);
}

static void teardown_watch(void)
{
	ht_stop_fixture(&d_watch);
}

/* PUT a new list `id` whose entries end 5 days ago, in 2, 10 and 40 days,
 * and never; one revoked entry in 3 days; a roster member in 10 days. */
static void put_watch_list(const char *id)
{
	char past[11], d2[11], d3[11], d10[11], d40[11];
	date_from_today(-5, past);
	date_from_today(2, d2);
	date_from_today(3, d3);
	date_from_today(10, d10);
	date_from_today(40, d40);
	char doc[4096];
	snprintf(doc, sizeof doc,
		 "{\"list\":\"%s\",\"kind\":\"positive\",\"title\":{\"zh\":\"到期提醒\",\"en\":\"Expiry watch\"},"
		 "\"clauses\":[{\"id\":\"C-1\",\"document\":\"署综函〔2022〕143号\",\"article\":\"一\",\"text\":\"免于提交。\"}],"
		 "\"entities\":[{\"id\":\"" E_OK "\",\"name\":{\"zh\":\"示例研究院\"},\"valid_to\":\"%s\"},"
		 "{\"id\":\"" E_HK "\",\"name\":{\"zh\":\"香港示例大学\"}}],"
		 "\"entries\":["
		 "{\"id\":\"E-40\",\"code\":\"3822\",\"name\":{\"zh\":\"试剂\"},\"clauses\":[\"C-1\"],\"valid_to\":\"%s\"},"
		 "{\"id\":\"E-10\",\"code\":\"9027\",\"name\":{\"zh\":\"仪器\"},\"clauses\":[\"C-1\"],\"valid_to\":\"%s\"},"
		 "{\"id\":\"E-2\",\"code\":\"3002\",\"name\":{\"zh\":\"血清\"},\"clauses\":[\"C-1\"],\"valid_to\":\"%s\"},"
		 "{\"id\":\"E-R\",\"code\":\"3003\",\"name\":{\"zh\":\"撤销\"},\"clauses\":[\"C-1\"],\"status\":\"revoked\","
		 "\"valid_to\":\"%s\"},"
		 "{\"id\":\"E-PAST\",\"code\":\"3004\",\"name\":{\"zh\":\"过期\"},\"clauses\":[\"C-1\"],\"valid_to\":\"%s\"},"
		 "{\"id\":\"E-OPEN\",\"code\":\"3005\",\"name\":{\"zh\":\"长期\"},\"clauses\":[\"C-1\"]}]}",
		 id, d10, d40, d10, d2, d3, past);
	http_response *r = ht_put_list(id, NULL, HARNESS_ADMIN_TOKEN, NULL, doc, strlen(doc));
	assert_status(r, 201);
	http_response_free(r);
}

START_TEST(test_expiring_window)
{
	put_watch_list(WATCH);
	char d2[11], d10[11], before[11], after[11];
	date_from_today(2, d2);
	date_from_today(10, d10);
	date_from_today(0, before);

	/* The default window is 30 days: E-2, then on day 10 the entry
	 * before the member; not the past, the revoked, the open or day 40. */
	http_response *r = ht_get_ok("/v1/lists/" WATCH "/expiring");
	date_from_today(0, after);
	const char *today = jptr_str(r->json, "/today");
	ck_assert_msg(today && (strcmp(today, before) == 0 || strcmp(today, after) == 0),
		      "today is %s, not China time's %s", today ? today : "(none)", before);
	assert_jstr(r->json, "/list", WATCH);
	assert_jint(r->json, "/version", 1);
	assert_jint(r->json, "/within", 30);
	assert_jint(r->json, "/entries", 2);
	assert_jint(r->json, "/members", 1);
	ck_assert(json_is_false(jptr(r->json, "/truncated")));
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/items")), 3);
	assert_jstr(r->json, "/items/0/kind", "entry");
	assert_jstr(r->json, "/items/0/id", "E-2");
	assert_jstr(r->json, "/items/0/code", "3002");
	assert_jstr(r->json, "/items/0/status", "active");
	assert_jstr(r->json, "/items/0/valid_to", d2);
	assert_jnull(r->json, "/items/0/valid_from");
	assert_jnull(r->json, "/items/0/ciq");
	assert_jstr(r->json, "/items/0/entry/name/zh", "血清");
	assert_jstr(r->json, "/items/1/id", "E-10");
	assert_jstr(r->json, "/items/1/valid_to", d10);
	assert_jstr(r->json, "/items/2/kind", "member");
	assert_jstr(r->json, "/items/2/id", E_OK);
	assert_jstr(r->json, "/items/2/valid_to", d10);
	assert_jnull(r->json, "/items/2/code");
	assert_jnull(r->json, "/items/2/entry");
	http_response_free(r);

	/* Five days: E-2 alone; a year: day 40 too. */
	r = ht_get_ok("/v1/lists/" WATCH "/expiring?within=5");
	assert_jint(r->json, "/entries", 1);
	assert_jint(r->json, "/members", 0);
	assert_jstr(r->json, "/items/0/id", "E-2");
	http_response_free(r);
	r = ht_get_ok("/v1/lists/" WATCH "/expiring?within=3660");
	assert_jint(r->json, "/entries", 3);
	assert_jstr(r->json, "/items/3/id", "E-40");
	http_response_free(r);
}
END_TEST

START_TEST(test_expiring_metric)
{
	/* A list of its own: 2 entries and 1 member in 30 days. */
	put_watch_list(WATCH_METRIC);
	http_response *r = http_get("/metrics");
	assert_status(r, 200);
	ck_assert_msg(strstr(r->body, "qingdan_entries_expiring{list=\"" WATCH_METRIC "\",within=\"30d\"} 3\n"),
		      "no expiring gauge of 3 in:\n%.4000s", r->body);
	http_response_free(r);
	/* A new version that renews everything: the gauge follows it. */
	const char *doc = "{\"list\":\"" WATCH_METRIC "\",\"kind\":\"positive\",\"title\":{\"zh\":\"到期提醒\"},"
			  "\"clauses\":[{\"id\":\"C-1\",\"document\":\"署综函〔2022〕143号\",\"article\":\"一\","
			  "\"text\":\"免于提交。\"}],\"entities\":[],"
			  "\"entries\":[{\"id\":\"E-2\",\"code\":\"3002\",\"name\":{\"zh\":\"血清\"},\"clauses\":[\"C-1\"]}]}";
	r = ht_put_list(WATCH_METRIC, NULL, HARNESS_ADMIN_TOKEN, NULL, doc, strlen(doc));
	assert_status(r, 200);
	http_response_free(r);
	r = http_get("/metrics");
	ck_assert_msg(strstr(r->body, "qingdan_entries_expiring{list=\"" WATCH_METRIC "\",within=\"30d\"} 0\n"),
		      "no expiring gauge of 0 in:\n%.4000s", r->body);
	http_response_free(r);
}
END_TEST

START_TEST(test_expiring_bad_input)
{
	const char *bad[] = {"within=0", "within=3661", "within=-1", "within=abc", "within=", "within=1.5",
			     "within=30&within=30", "days=30"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		http_response *r = http_get("/v1/lists/" WATCH "/expiring?%s", bad[i]);
		ck_assert_msg(r->status == 400, "%s: expected 400, got %ld", bad[i], r->status);
		char why[300];
		ck_assert_msg(ht_error_body_ok(r, NULL, why, sizeof why), "%s: %s", bad[i], why);
		char name[16];
		snprintf(name, sizeof name, "%.*s", (int)strcspn(bad[i], "="), bad[i]);
		assert_error_mentions(r, name);
		http_response_free(r);
	}
	http_response *r = http_get("/v1/lists/nope/expiring?within=30");
	assert_error(r, 404, "list_not_found");
	http_response_free(r);
}
END_TEST

/* ---- proposals ---- */

#define PROP "four-eyes"
#define ADMIN HARNESS_ADMIN_TOKEN
#define APPROVER HARNESS_ADMIN2_TOKEN

/* A small list document of PROP whose entries are E-1 … E-n. */
static char *prop_doc(unsigned n)
{
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_puts(&b, "{\"list\":\"" PROP "\",\"kind\":\"positive\",\"title\":{\"zh\":\"双人复核\"},"
		    "\"clauses\":[{\"id\":\"C-1\",\"document\":\"署综函〔2022〕143号\",\"article\":\"一\","
		    "\"text\":\"免于提交。\"}],\"entities\":[],\"entries\":[");
	for (unsigned i = 1; i <= n; i++)
		qd_buf_printf(&b, "%s{\"id\":\"E-%u\",\"code\":\"38%02u\",\"name\":{\"zh\":\"物品 %u\"},"
			      "\"clauses\":[\"C-1\"]}", i > 1 ? "," : "", i, i, i);
	qd_buf_puts(&b, "]}");
	return qd_buf_steal(&b, NULL);
}

/* PUT prop_doc(n) with a query (may be NULL) of any length. */
static http_response *put_doc(const char *query, const char *token, unsigned n)
{
	char *doc = prop_doc(n);
	qd_buf path;
	qd_buf_init(&path);
	qd_buf_printf(&path, "/v1/lists/" PROP "%s%s", query ? "?" : "", query ? query : "");
	http_response *r = http_request_auth("PUT", path.data, token, NULL, doc, strlen(doc));
	qd_buf_free(&path);
	free(doc);
	return r;
}

static http_response *post(const char *path, const char *token, const char *body)
{
	return http_request_auth("POST", path, token, body ? "Content-Type: application/json" : NULL, body,
				 body ? strlen(body) : 0);
}

static http_response *get_admin(const char *path)
{
	return http_request_auth("GET", path, ADMIN, NULL, NULL, 0);
}

static long list_version(void)
{
	http_response *r = http_get("/v1/lists/" PROP);
	long v = r->status == 200 ? (long)json_integer_value(jptr(r->json, "/version")) : 0;
	http_response_free(r);
	return v;
}

/* Unix seconds of an RFC 3339 UTC instant as the daemon writes it
 * ("2026-12-01T00:00:00Z"); -1 when it is not one. */
static time_t utc_seconds(const char *s)
{
	struct tm tm = {0};
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
	return end && !*end ? timegm(&tm) : (time_t)-1;
}

/* Load PROP with 2 entries (a new list), then propose 3: the 202 answer. */
static http_response *load_then_propose(void)
{
	http_response *r = put_doc(NULL, ADMIN, 2);
	assert_status(r, 201);
	http_response_free(r);
	r = put_doc("propose=true", ADMIN, 3);
	assert_status(r, 202);
	return r;
}

/* Propose n entries; returns the proposal number. */
static long propose(unsigned n, const char *extra_query)
{
	char q[128];
	snprintf(q, sizeof q, "propose=true%s%s", extra_query ? "&" : "", extra_query ? extra_query : "");
	http_response *r = put_doc(q, ADMIN, n);
	assert_status(r, 202);
	long id = (long)json_integer_value(jptr(r->json, "/proposal"));
	ck_assert_int_gt(id, 0);
	http_response_free(r);
	return id;
}

static void approve_path(long id, char *out, size_t n, const char *what)
{
	snprintf(out, n, "/v1/proposals/%ld/%s", id, what);
}

/* The newest audit records as a JSON array (a new reference). */
static json_t *audit_records(void)
{
	http_response *r = get_admin("/v1/audit?limit=20");
	assert_status(r, 200);
	json_t *a = json_incref(jptr(r->json, "/records"));
	http_response_free(r);
	return a;
}

/* The newest audit record with this action. */
static json_t *audit_find(json_t *recs, const char *action)
{
	for (size_t i = 0; i < json_array_size(recs); i++) {
		json_t *rec = json_array_get(recs, i);
		const char *a = json_string_value(json_object_get(rec, "action"));
		if (a && strcmp(a, action) == 0)
			return rec;
	}
	return NULL;
}

/* The second admin approves proposal id with body (may be NULL): 200;
 * returns the version stored. */
static long approve_ok(long id, const char *body)
{
	char path[64];
	approve_path(id, path, sizeof path, "approve");
	http_response *r = post(path, APPROVER, body);
	assert_status(r, 200);
	long v = (long)json_integer_value(jptr(r->json, "/version"));
	ck_assert_int_gt(v, 0);
	http_response_free(r);
	return v;
}

/* Approving and rejecting proposal id (by the second admin) both answer
 * status and code. */
static void assert_undecidable(long id, long status, const char *code)
{
	const char *what[] = {"approve", "reject"};
	for (size_t i = 0; i < 2; i++) {
		char path[64];
		approve_path(id, path, sizeof path, what[i]);
		http_response *r = post(path, APPROVER, NULL);
		assert_error(r, status, code);
		http_response_free(r);
	}
}

static harness_daemon d_prop, d_require;

static void setup_prop(void)
{
	start(&d_prop, NULL);
}

static void teardown_prop(void)
{
	ht_stop_fixture(&d_prop);
}

static const char *const require_args[] = {"--require-approval", "yes", NULL};

static void setup_require(void)
{
	start(&d_require, require_args);
}

static void teardown_require(void)
{
	ht_stop_fixture(&d_require);
}

START_TEST(test_propose_then_approve)
{
	/* A proposal: compared with version 1, nothing stored in the list. */
	http_response *r = load_then_propose();
	long id = (long)json_integer_value(jptr(r->json, "/proposal"));
	assert_jstr(r->json, "/list", PROP);
	assert_jint(r->json, "/base_version", 1);
	assert_jstr(r->json, "/state", "pending");
	assert_jstr(r->json, "/proposer", HARNESS_ADMIN_NAME);
	assert_jstr(r->json, "/action", "load");
	assert_jint(r->json, "/diff/added", 1);
	assert_jint(r->json, "/entries", 3);
	assert_jstr(r->json, "/changes/0/id", "E-3");
	assert_jstr(r->json, "/changes/0/kind", "added");
	ck_assert(ht_is_hex64(jptr_str(r->json, "/sha256")));
	ck_assert(ht_is_rfc3339(jptr_str(r->json, "/expires_at")));
	/* The default --proposal-ttl: 14 days. */
	time_t created = utc_seconds(jptr_str(r->json, "/created_at"));
	ck_assert_int_gt(created, 0);
	ck_assert_int_eq(utc_seconds(jptr_str(r->json, "/expires_at")), created + 14 * 86400);
	char sha[65];
	snprintf(sha, sizeof sha, "%s", jptr_str(r->json, "/sha256"));
	http_response_free(r);
	ck_assert_int_eq(list_version(), 1);

	/* Listed, admins only. */
	r = get_admin("/v1/proposals?state=pending");
	assert_status(r, 200);
	assert_jint(r->json, "/proposals/0/proposal", id);
	assert_jint(r->json, "/proposals/0/diff/added", 1);
	ck_assert_ptr_null(jptr(r->json, "/proposals/0/changes"));
	http_response_free(r);
	r = http_request_auth("GET", "/v1/proposals", HARNESS_READER_TOKEN, NULL, NULL, 0);
	assert_error(r, 403, "forbidden");
	http_response_free(r);

	/* Its proposer cannot approve it, nor reject it. */
	char path[64];
	approve_path(id, path, sizeof path, "approve");
	r = post(path, ADMIN, NULL);
	assert_error(r, 403, "same_person");
	assert_error_mentions(r, HARNESS_ADMIN_NAME);
	http_response_free(r);
	approve_path(id, path, sizeof path, "reject");
	r = post(path, ADMIN, "{\"comment\":\"自己驳回\"}");
	assert_error(r, 403, "same_person");
	http_response_free(r);
	ck_assert_int_eq(list_version(), 1);

	/* A second admin approves: version 2 is the proposed document. */
	approve_path(id, path, sizeof path, "approve");
	r = post(path, APPROVER, "{\"comment\":\"已核对批文\"}");
	assert_status(r, 200);
	assert_jstr(r->json, "/state", "approved");
	assert_jstr(r->json, "/decided_by", HARNESS_ADMIN2_NAME);
	assert_jstr(r->json, "/decision_comment", "已核对批文");
	assert_jint(r->json, "/version", 2);
	http_response_free(r);
	r = ht_get_ok("/v1/lists/" PROP);
	assert_jint(r->json, "/version", 2);
	assert_jint(r->json, "/entries", 3);
	assert_jstr(r->json, "/sha256", sha);
	http_response_free(r);

	/* The history and the audit name both. */
	r = ht_get_ok("/v1/lists/" PROP "/versions");
	assert_jstr(r->json, "/versions/0/action", "approve");
	assert_jstr(r->json, "/versions/0/actor", HARNESS_ADMIN2_NAME);
	http_response_free(r);
	json_t *recs = audit_records();
	json_t *ap = audit_find(recs, "approve"), *pp = audit_find(recs, "propose");
	ck_assert_ptr_nonnull(ap);
	ck_assert_ptr_nonnull(pp);
	assert_jstr(ap, "/actor", HARNESS_ADMIN2_NAME);
	assert_jstr(ap, "/proposer", HARNESS_ADMIN_NAME);
	assert_jstr(ap, "/comment", "已核对批文");
	assert_jint(ap, "/proposal", id);
	assert_jint(ap, "/version", 2);
	assert_jstr(ap, "/outcome", "stored");
	assert_jstr(pp, "/actor", HARNESS_ADMIN_NAME);
	assert_jstr(pp, "/outcome", "proposed");
	assert_jint(pp, "/status", 202);
	json_t *same = NULL;
	for (size_t i = 0; i < json_array_size(recs); i++) {
		json_t *rec = json_array_get(recs, i);
		const char *code = jptr_str(rec, "/message");
		if (jptr_str(rec, "/outcome") && strcmp(jptr_str(rec, "/outcome"), "refused") == 0 && code &&
		    strstr(code, "another admin"))
			same = rec;
	}
	ck_assert_msg(same != NULL, "the refused self-approval is audited");
	json_decref(recs);

	/* Decided: no second decision. */
	assert_undecidable(id, 409, "proposal_decided");
	ck_assert_int_eq(list_version(), 2);
}
END_TEST

START_TEST(test_stale_then_reject)
{
	long v = list_version();
	long id = propose(5, NULL);
	/* Someone changes the list directly meanwhile. */
	http_response *r = put_doc(NULL, ADMIN, 1);
	assert_status(r, 200);
	http_response_free(r);
	ck_assert_int_eq(list_version(), v + 1);

	char path[64];
	approve_path(id, path, sizeof path, "approve");
	r = post(path, APPROVER, NULL);
	assert_error(r, 412, "precondition_failed");
	assert_error_mentions(r, "stale");
	http_response_free(r);
	ck_assert_int_eq(list_version(), v + 1);
	char one[64];
	snprintf(one, sizeof one, "/v1/proposals/%ld", id);
	r = get_admin(one);
	assert_status(r, 200);
	assert_jstr(r->json, "/state", "pending");
	ck_assert(json_is_true(jptr(r->json, "/stale")));
	ck_assert(json_is_array(jptr(r->json, "/changes")));
	http_response_free(r);

	/* Rejected with a comment; then nothing more. */
	approve_path(id, path, sizeof path, "reject");
	r = post(path, APPROVER, "{\"comment\":\"清单已更新，请重新提交\"}");
	assert_status(r, 200);
	assert_jstr(r->json, "/state", "rejected");
	assert_jstr(r->json, "/decision_comment", "清单已更新，请重新提交");
	ck_assert(json_is_false(jptr(r->json, "/stale")));
	http_response_free(r);
	approve_path(id, path, sizeof path, "approve");
	r = post(path, APPROVER, NULL);
	assert_error(r, 409, "proposal_decided");
	http_response_free(r);
	ck_assert_int_eq(list_version(), v + 1);
	json_t *recs = audit_records();
	json_t *rj = audit_find(recs, "reject");
	ck_assert_ptr_nonnull(rj);
	assert_jstr(rj, "/actor", HARNESS_ADMIN2_NAME);
	assert_jstr(rj, "/proposer", HARNESS_ADMIN_NAME);
	assert_jstr(rj, "/outcome", "rejected");
	json_decref(recs);
}
END_TEST

START_TEST(test_propose_rollback_and_csv)
{
	long v = list_version();
	http_response *r = http_get("/v1/lists/" PROP "/versions/1");
	assert_status(r, 200);
	http_response_free(r);
	r = http_request_auth("POST", "/v1/lists/" PROP "/rollback?propose=true", ADMIN,
			      "Content-Type: application/json", "{\"version\":1}", 13);
	assert_status(r, 202);
	assert_jstr(r->json, "/action", "rollback");
	assert_jstr(r->json, "/source", "rollback to version 1");
	long id = (long)json_integer_value(jptr(r->json, "/proposal"));
	http_response_free(r);
	ck_assert_int_eq(list_version(), v);
	char path[64];
	approve_path(id, path, sizeof path, "approve");
	r = post(path, APPROVER, NULL);
	assert_status(r, 200);
	http_response_free(r);
	ck_assert_int_eq(list_version(), v + 1);
	r = ht_get_ok("/v1/lists/" PROP);
	assert_jint(r->json, "/entries", 2);
	http_response_free(r);

	/* A CSV batch proposed: an import, approved as such. */
	const char *csv = "id,code,name_zh,clauses\nE-1,3801,物品 1,C-1\nE-9,3809,物品 9,C-1\n";
	r = ht_put_list(PROP, "propose=true", ADMIN, "Content-Type: text/csv", csv, strlen(csv));
	assert_status(r, 202);
	assert_jstr(r->json, "/action", "import");
	assert_jint(r->json, "/entries", 2);
	id = (long)json_integer_value(jptr(r->json, "/proposal"));
	http_response_free(r);
	approve_path(id, path, sizeof path, "approve");
	r = post(path, APPROVER, NULL);
	assert_status(r, 200);
	http_response_free(r);
	r = http_get("/v1/lists/" PROP "/entries");
	assert_jstr(r->json, "/entries/1/id", "E-9");
	http_response_free(r);
}
END_TEST

/* A workbook proposed: version 1 of PROP downloaded as .xlsx and sent
 * back with ?propose=true is an import of its entries, approved as such. */
START_TEST(test_propose_xlsx)
{
	http_response *r = ht_get_ok("/v1/lists/" PROP "/versions/1");
	long entries = (long)json_array_size(jptr(r->json, "/entries"));
	http_response_free(r);
	ck_assert_int_gt(entries, 0);
	long v = list_version();
	http_response *x = http_get("/v1/lists/" PROP "/versions/1?format=xlsx");
	assert_status(x, 200);
	r = http_request_auth("PUT", "/v1/lists/" PROP "?propose=true", ADMIN,
			      "Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", x->body,
			      x->body_len);
	http_response_free(x);
	assert_status(r, 202);
	assert_jstr(r->json, "/action", "import");
	assert_jstr(r->json, "/source", "http (xlsx)");
	assert_jint(r->json, "/base_version", v);
	assert_jint(r->json, "/entries", entries);
	long id = (long)json_integer_value(jptr(r->json, "/proposal"));
	http_response_free(r);
	ck_assert_int_eq(list_version(), v);
	ck_assert_int_eq(approve_ok(id, NULL), v + 1);
	r = ht_get_ok("/v1/lists/" PROP);
	assert_jint(r->json, "/entries", entries);
	http_response_free(r);
	r = ht_get_ok("/v1/lists/" PROP "/versions");
	assert_jstr(r->json, "/versions/0/action", "approve");
	assert_jstr(r->json, "/versions/0/source", "http (xlsx)");
	http_response_free(r);
}
END_TEST

/* Percent-encode s for a query string into a new string. */
static char *query_escape(const char *s)
{
	qd_buf b;
	qd_buf_init(&b);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-')
			qd_buf_putc(&b, (char)*p);
		else
			qd_buf_printf(&b, "%%%02X", *p);
	}
	return qd_buf_steal(&b, NULL);
}

/* The proposer's comment (comment= with propose=true), on a PUT and on a
 * rollback: kept with the proposal and in the audit. */
START_TEST(test_proposer_comment)
{
	long v = list_version();
	const char *note = "新批次 2026-12：据署综函〔2022〕143号";
	char *esc = query_escape(note), q[512];
	snprintf(q, sizeof q, "propose=true&comment=%s", esc);
	http_response *r = put_doc(q, ADMIN, 5);
	assert_status(r, 202);
	assert_jstr(r->json, "/comment", note);
	long id = (long)json_integer_value(jptr(r->json, "/proposal"));
	http_response_free(r);
	char one[64];
	snprintf(one, sizeof one, "/v1/proposals/%ld", id);
	r = get_admin(one);
	assert_status(r, 200);
	assert_jstr(r->json, "/comment", note);
	http_response_free(r);
	json_t *recs = audit_records();
	json_t *pp = audit_find(recs, "propose");
	ck_assert_ptr_nonnull(pp);
	assert_jint(pp, "/proposal", id);
	assert_jstr(pp, "/comment", note);
	json_decref(recs);

	/* A rollback proposed with its reason. */
	char path[600];
	snprintf(path, sizeof path, "/v1/lists/" PROP "/rollback?propose=true&comment=%s", esc);
	r = http_request_auth("POST", path, ADMIN, "Content-Type: application/json", "{\"version\":1}", 13);
	assert_status(r, 202);
	assert_jstr(r->json, "/action", "rollback");
	assert_jstr(r->json, "/comment", note);
	long rb = (long)json_integer_value(jptr(r->json, "/proposal"));
	http_response_free(r);
	snprintf(one, sizeof one, "/v1/proposals/%ld", rb);
	r = get_admin(one);
	assert_jstr(r->json, "/comment", note);
	http_response_free(r);
	free(esc);

	/* Without one: null.  1 000 bytes are taken. */
	r = put_doc("propose=true", ADMIN, 5);
	assert_status(r, 202);
	assert_jnull(r->json, "/comment");
	http_response_free(r);
	char big[1100];
	memset(big, 'a', 1000);
	big[1000] = '\0';
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_printf(&b, "propose=true&comment=%s", big);
	r = put_doc(b.data, ADMIN, 5);
	assert_status(r, 202);
	ck_assert_uint_eq(strlen(jptr_str(r->json, "/comment")), 1000);
	http_response_free(r);

	/* Refused, naming comment, nothing proposed: too long, not UTF-8,
	 * without propose=true. */
	r = get_admin("/v1/proposals");
	size_t before = json_array_size(jptr(r->json, "/proposals"));
	http_response_free(r);
	qd_buf_reset(&b);
	qd_buf_printf(&b, "propose=true&comment=%sa", big);
	const char *bad[] = {b.data, "propose=true&comment=%FF%FE", "propose=true&comment=%E6%96",
			     "comment=x", "dry_run=true&comment=x"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		r = put_doc(bad[i], ADMIN, 6);
		ck_assert_msg(r->status == 400, "%.60s: expected 400, got %ld", bad[i], r->status);
		assert_error_mentions(r, "comment");
		http_response_free(r);
	}
	r = http_request_auth("POST", "/v1/lists/" PROP "/rollback?comment=x", ADMIN, "Content-Type: application/json",
			      "{\"version\":1}", 13);
	assert_error(r, 400, "bad_parameter");
	assert_error_mentions(r, "comment");
	http_response_free(r);
	qd_buf_free(&b);
	ck_assert_int_eq(list_version(), v);
	r = get_admin("/v1/proposals");
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/proposals")), before);
	http_response_free(r);
}
END_TEST

START_TEST(test_proposal_bad_input)
{
	http_response *r = get_admin("/v1/proposals");
	size_t before = json_array_size(jptr(r->json, "/proposals"));
	http_response_free(r);
	long v = list_version();

	const char *paths[] = {"/v1/proposals/999/approve", "/v1/proposals/abc/approve", "/v1/proposals/0/reject",
			       "/v1/proposals/99999999999999999999/approve"};
	for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
		r = post(paths[i], APPROVER, NULL);
		assert_error(r, 404, "proposal_not_found");
		http_response_free(r);
	}
	r = get_admin("/v1/proposals/999");
	assert_error(r, 404, "proposal_not_found");
	http_response_free(r);
	r = get_admin("/v1/proposals?state=open");
	assert_error(r, 400, "bad_parameter");
	assert_error_mentions(r, "state");
	http_response_free(r);

	/* propose and dry_run together; propose not a boolean. */
	r = put_doc("propose=true&dry_run=true", ADMIN, 2);
	assert_error(r, 400, "bad_parameter");
	assert_error_mentions(r, "propose");
	http_response_free(r);
	r = put_doc("propose=maybe", ADMIN, 2);
	assert_error(r, 400, "bad_parameter");
	assert_error_mentions(r, "propose");
	http_response_free(r);
	/* A document that breaks a rule is no proposal. */
	const char *bad = "{\"list\":\"" PROP "\",\"kind\":\"positive\",\"title\":{\"zh\":\"坏\"},"
			  "\"clauses\":[],\"entities\":[],\"entries\":[{\"id\":\"E-1\",\"code\":\"38AB\"}]}";
	r = ht_put_list(PROP, "propose=true", ADMIN, NULL, bad, strlen(bad));
	assert_error(r, 422, "invalid_document");
	http_response_free(r);
	/* If-Match is honoured when proposing: a valid document against
	 * another version is no proposal; against the current one it is. */
	char *doc = prop_doc(3), im[40];
	snprintf(im, sizeof im, "If-Match: \"%ld\"", v + 1);
	r = http_request_auth("PUT", "/v1/lists/" PROP "?propose=true", ADMIN, im, doc, strlen(doc));
	assert_error(r, 412, "precondition_failed");
	assert_error_mentions(r, "If-Match");
	http_response_free(r);
	r = get_admin("/v1/proposals");
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/proposals")), before);
	http_response_free(r);
	snprintf(im, sizeof im, "If-Match: \"%ld\"", v);
	r = http_request_auth("PUT", "/v1/lists/" PROP "?propose=true", ADMIN, im, doc, strlen(doc));
	assert_status(r, 202);
	assert_jint(r->json, "/base_version", v);
	long matched = (long)json_integer_value(jptr(r->json, "/proposal"));
	http_response_free(r);
	free(doc);
	char path[64];
	approve_path(matched, path, sizeof path, "reject");
	r = post(path, APPROVER, NULL);
	assert_status(r, 200);
	http_response_free(r);

	/* Bodies of a decision. */
	long id = propose(4, NULL);
	approve_path(id, path, sizeof path, "approve");
	const char *bodies[] = {"{\"comment\":5}", "{\"note\":\"x\"}", "[]", "{\"comment\":\"x\"", "\"x\""};
	for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
		r = post(path, APPROVER, bodies[i]);
		ck_assert_msg(r->status == 400, "%s: expected 400, got %ld", bodies[i], r->status);
		char why[300];
		ck_assert_msg(ht_error_body_ok(r, NULL, why, sizeof why), "%s: %s", bodies[i], why);
		http_response_free(r);
	}
	r = post(path, HARNESS_READER_TOKEN, NULL);
	assert_error(r, 403, "forbidden");
	http_response_free(r);
	ck_assert_int_eq(list_version(), v);

	r = get_admin("/v1/proposals");
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/proposals")), before + 2);
	assert_jstr(r->json, "/proposals/0/state", "pending");
	http_response_free(r);
	/* Rejected now, so that it stays out of the tests after this one. */
	approve_path(id, path, sizeof path, "reject");
	r = post(path, APPROVER, NULL);
	assert_status(r, 200);
	http_response_free(r);
}
END_TEST

START_TEST(test_require_approval)
{
	/* Direct changes are refused, dry runs are not. */
	http_response *r = put_doc(NULL, ADMIN, 2);
	assert_error(r, 403, "approval_required");
	assert_error_mentions(r, "propose=true");
	http_response_free(r);
	r = put_doc("dry_run=true", ADMIN, 2);
	assert_status(r, 200);
	http_response_free(r);
	r = http_get("/v1/lists/" PROP);
	assert_error(r, 404, "list_not_found");
	http_response_free(r);

	/* A new list through a proposal. */
	r = put_doc("propose=true", ADMIN, 2);
	assert_status(r, 202);
	assert_jnull(r->json, "/base_version");
	long id = (long)json_integer_value(jptr(r->json, "/proposal"));
	http_response_free(r);
	char path[64];
	approve_path(id, path, sizeof path, "approve");
	r = post(path, APPROVER, NULL);
	assert_status(r, 201);
	assert_jint(r->json, "/version", 1);
	http_response_free(r);

	r = http_request_auth("POST", "/v1/lists/" PROP "/rollback", ADMIN, "Content-Type: application/json",
			      "{\"version\":1}", 13);
	assert_error(r, 403, "approval_required");
	http_response_free(r);
	/* A CSV batch too. */
	const char *csv = "id,code,name_zh,clauses\nE-1,3801,物品 1,C-1\nE-9,3809,物品 9,C-1\n";
	r = ht_put_list(PROP, NULL, ADMIN, "Content-Type: text/csv", csv, strlen(csv));
	assert_error(r, 403, "approval_required");
	http_response_free(r);
	ck_assert_int_eq(list_version(), 1);
	json_t *recs = audit_records();
	json_t *refused = audit_find(recs, "rollback");
	ck_assert_ptr_nonnull(refused);
	assert_jint(refused, "/status", 403);
	json_decref(recs);
}
END_TEST

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Proposed on one daemon, approved on the next one over the same store. */
START_TEST(test_proposal_survives_restart)
{
	char dir[] = "/tmp/qd-gov-restart-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	const char *args[] = {"--db", dir, NULL};
	harness_opts o = {.tokens = true, .extra_args = args};
	harness_daemon a, b;
	char err[512];
	ck_assert_msg(harness_start(&a, &o, err, sizeof err), "start: %s", err);
	http_response *r = put_doc(NULL, ADMIN, 2);
	assert_status(r, 201);
	http_response_free(r);
	long id = propose(6, NULL);
	ck_assert_msg(harness_stop(&a, err, sizeof err), "stop: %s", err);

	ck_assert_msg(harness_start(&b, &o, err, sizeof err), "restart: %s", err);
	char one[64];
	snprintf(one, sizeof one, "/v1/proposals/%ld", id);
	r = get_admin(one);
	assert_status(r, 200);
	assert_jstr(r->json, "/state", "pending");
	assert_jint(r->json, "/entries", 6);
	http_response_free(r);
	char path[64];
	approve_path(id, path, sizeof path, "approve");
	r = post(path, APPROVER, NULL);
	assert_status(r, 200);
	assert_jint(r->json, "/version", 2);
	http_response_free(r);
	ck_assert_int_eq(list_version(), 2);
	ck_assert_msg(harness_stop(&b, err, sizeof err), "stop: %s", err);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
END_TEST

/* ---- expiry of proposals (--proposal-ttl) ---- */

static harness_daemon d_ttl;
static const char *const ttl_args[] = {"--proposal-ttl", "2s", NULL};

static void setup_ttl(void)
{
	start(&d_ttl, ttl_args);
}

static void teardown_ttl(void)
{
	ht_stop_fixture(&d_ttl);
}

/* The audit record of a refused decision of proposal id (status 410). */
static json_t *audit_refused(json_t *recs, const char *action, long id)
{
	for (size_t i = 0; i < json_array_size(recs); i++) {
		json_t *rec = json_array_get(recs, i);
		const char *a = jptr_str(rec, "/action"), *oc = jptr_str(rec, "/outcome");
		char path[64];
		snprintf(path, sizeof path, "/v1/proposals/%ld/%s", id, action);
		if (a && oc && strcmp(oc, "refused") == 0 && json_integer_value(jptr(rec, "/status")) == 410 &&
		    (strcmp(a, action) == 0 || (jptr_str(rec, "/path") && strcmp(jptr_str(rec, "/path"), path) == 0)))
			return rec;
	}
	return NULL;
}

/* --proposal-ttl 2s: a proposal left pending past its expiry can be
 * neither approved nor rejected, and is listed as expired. */
START_TEST(test_proposal_expires)
{
	http_response *r = load_then_propose();
	long id = (long)json_integer_value(jptr(r->json, "/proposal"));
	time_t created = utc_seconds(jptr_str(r->json, "/created_at"));
	time_t expires = utc_seconds(jptr_str(r->json, "/expires_at"));
	ck_assert_int_gt(created, 0);
	ck_assert_int_eq(expires, created + 2);
	http_response_free(r);

	/* Past the instant (waiting for the clock, not for the daemon). */
	while (time(NULL) < expires + 1)
		usleep(100000);
	char path[64], one[64];
	approve_path(id, path, sizeof path, "approve");
	r = post(path, APPROVER, "{\"comment\":\"迟了\"}");
	assert_error(r, 410, "proposal_expired");
	assert_error_mentions(r, "expired");
	http_response_free(r);
	assert_undecidable(id, 410, "proposal_expired");
	ck_assert_int_eq(list_version(), 1);

	snprintf(one, sizeof one, "/v1/proposals/%ld", id);
	r = get_admin(one);
	assert_status(r, 200);
	assert_jstr(r->json, "/state", "expired");
	assert_jnull(r->json, "/decided_by");
	http_response_free(r);
	r = get_admin("/v1/proposals?state=expired");
	assert_status(r, 200);
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/proposals")), 1);
	assert_jint(r->json, "/proposals/0/proposal", id);
	assert_jstr(r->json, "/proposals/0/state", "expired");
	http_response_free(r);
	r = get_admin("/v1/proposals?state=pending");
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/proposals")), 0);
	http_response_free(r);

	/* Both refusals are audited. */
	json_t *recs = audit_records();
	ck_assert_msg(audit_refused(recs, "approve", id), "the refused approval is audited");
	ck_assert_msg(audit_refused(recs, "reject", id), "the refused rejection is audited");
	json_decref(recs);
}
END_TEST

/* --proposal-ttl values refused at start, naming the option; units and
 * a bare number of days accepted. */
START_TEST(test_proposal_ttl_values)
{
	char dir[] = "/tmp/qd-gov-ttl-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	const char *bad[] = {"0", "0s", "2w", "12H", "1.5d", "-1d", "d", "", "366d", "31536001s", "10 d", "1dd",
			     "99999999999"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		const char *args[] = {"--db", dir, "--listen", "127.0.0.1:1", "--proposal-ttl", bad[i],
				      "--check-config", NULL};
		char *err = NULL;
		int rc = harness_run_daemon(args, 10000, NULL, &err);
		ck_assert_msg(rc != 0, "--proposal-ttl \"%s\" accepted", bad[i]);
		ck_assert_msg(err && strstr(err, "proposal-ttl"), "--proposal-ttl \"%s\": %s", bad[i], err ? err : "");
		free(err);
	}
	const char *good[] = {"14d", "12h", "30m", "90s", "14", "365d", "1s"};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		const char *args[] = {"--db", dir, "--listen", "127.0.0.1:1", "--proposal-ttl", good[i],
				      "--check-config", NULL};
		char *err = NULL;
		int rc = harness_run_daemon(args, 10000, NULL, &err);
		ck_assert_msg(rc == 0, "--proposal-ttl \"%s\" refused: %s", good[i], err ? err : "");
		free(err);
	}
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
END_TEST

/* A bare number is days, as before units. */
START_TEST(test_proposal_ttl_bare_days)
{
	const char *args[] = {"--proposal-ttl", "3", NULL};
	harness_daemon d;
	start(&d, args);
	http_response *r = load_then_propose();
	ck_assert_int_eq(utc_seconds(jptr_str(r->json, "/expires_at")),
			 utc_seconds(jptr_str(r->json, "/created_at")) + 3 * 86400);
	http_response_free(r);
	char err[512];
	ck_assert_msg(harness_stop(&d, err, sizeof err), "stop: %s", err);
}
END_TEST

/* ---- scheduled versions ---- */

/* The instant `secs` from now, RFC 3339 UTC, into out (21 bytes). */
static void instant(long secs, char out[21], time_t *t)
{
	*t = time(NULL) + secs;
	struct tm tm;
	gmtime_r(t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The instant `secs` from now into eff and *t, and the query
 * "effective_at=…" of it into q. */
static void effective_query(long secs, char q[64], char eff[21], time_t *t)
{
	instant(secs, eff, t);
	snprintf(q, 64, "effective_at=%s", eff);
}

/* The version of PROP a lookup of 3801 uses at instant t (0: now). */
static long lookup_version(time_t t)
{
	char path[160], q[40] = "";
	if (t) {
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(q, sizeof q, "&at=%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	snprintf(path, sizeof path, "/v1/lookup?code=3801&list=" PROP "%s", q);
	http_response *r = http_get("%s", path);
	assert_status(r, 200);
	long v = (long)json_integer_value(jptr(r->json, "/results/0/version"));
	http_response_free(r);
	return v;
}

static harness_daemon d_sched;

static void setup_sched(void)
{
	start(&d_sched, NULL);
}

static void teardown_sched(void)
{
	ht_stop_fixture(&d_sched);
}

START_TEST(test_schedule_switches_exactly)
{
	http_response *r = put_doc(NULL, ADMIN, 1);
	assert_status(r, 201);
	http_response_free(r);
	char eff[21], q[64];
	time_t te;
	instant(3600, eff, &te);

	/* Stored now as version 2, current from the instant on. */
	snprintf(q, sizeof q, "effective_at=%s", eff);
	r = put_doc(q, ADMIN, 3);
	assert_status(r, 200);
	assert_jint(r->json, "/version", 2);
	assert_jstr(r->json, "/effective_at", eff);
	http_response_free(r);
	r = ht_get_ok("/v1/lists/" PROP);
	assert_jint(r->json, "/version", 1);
	assert_jint(r->json, "/entries", 1);
	assert_jint(r->json, "/scheduled/version", 2);
	assert_jstr(r->json, "/scheduled/effective_at", eff);
	assert_jint(r->json, "/schedule/0/version", 2);
	http_response_free(r);
	ck_assert_int_eq(lookup_version(0), 1);
	ck_assert_int_eq(lookup_version(te - 1), 1);
	ck_assert_int_eq(lookup_version(te), 2);
	ck_assert_int_eq(lookup_version(te + 86400), 2);

	/* The feed says when it takes effect. */
	r = http_get("/v1/feed");
	assert_status(r, 200);
	assert_jstr(r->json, "/records/1/effective_at", eff);
	http_response_free(r);

	/* A second one after it; cancelling one leaves the other. */
	char eff2[21];
	time_t te2;
	instant(7200, eff2, &te2);
	snprintf(q, sizeof q, "effective_at=%s", eff2);
	r = put_doc(q, ADMIN, 4);
	assert_status(r, 200);
	http_response_free(r);
	ck_assert_int_eq(lookup_version(te2), 3);
	r = http_request_auth("DELETE", "/v1/lists/" PROP "/scheduled?version=3", ADMIN, NULL, NULL, 0);
	assert_status(r, 200);
	assert_jint(r->json, "/cancelled/0/version", 3);
	http_response_free(r);
	ck_assert_int_eq(lookup_version(te2), 2);
	r = ht_get_ok("/v1/lists/" PROP);
	assert_jint(r->json, "/scheduled/version", 2);
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/schedule")), 1);
	http_response_free(r);
	r = http_get("/v1/feed");
	assert_jstr(r->json, "/records/3/action", "cancel");
	assert_jint(r->json, "/records/3/version", 3);
	assert_jstr(r->json, "/records/3/effective_at", eff2);
	http_response_free(r);

	/* Cancel the rest; then there is nothing to cancel. */
	r = http_request_auth("DELETE", "/v1/lists/" PROP "/scheduled", ADMIN, NULL, NULL, 0);
	assert_status(r, 200);
	assert_jint(r->json, "/cancelled/0/version", 2);
	http_response_free(r);
	ck_assert_int_eq(lookup_version(te + 86400), 1);
	r = http_request_auth("DELETE", "/v1/lists/" PROP "/scheduled", ADMIN, NULL, NULL, 0);
	assert_error(r, 404, "not_found");
	assert_error_mentions(r, "nothing was cancelled");
	http_response_free(r);
	/* Audited: each cancellation, and the refusal. */
	json_t *recs = audit_records();
	json_t *c = audit_find(recs, "cancel");
	ck_assert_ptr_nonnull(c);
	assert_jstr(c, "/outcome", "refused");
	assert_jint(c, "/status", 404);
	json_t *done = NULL;
	for (size_t i = 0; i < json_array_size(recs) && !done; i++) {
		const char *oc = jptr_str(json_array_get(recs, i), "/outcome");
		if (oc && strcmp(oc, "cancelled") == 0)
			done = json_array_get(recs, i);
	}
	ck_assert_ptr_nonnull(done);
	assert_jstr(done, "/actor", HARNESS_ADMIN_NAME);
	assert_jint(done, "/version", 2);
	json_decref(recs);
	r = ht_get_ok("/v1/lists/" PROP);
	assert_jnull(r->json, "/scheduled");
	http_response_free(r);
	/* The history keeps each version's instant and its cancellation,
	 * newest first; the first version took effect when stored. */
	r = ht_get_ok("/v1/lists/" PROP "/versions");
	assert_jint(r->json, "/versions/0/version", 3);
	assert_jstr(r->json, "/versions/0/effective_at", eff2);
	ck_assert(json_is_true(jptr(r->json, "/versions/0/cancelled")));
	assert_jint(r->json, "/versions/1/version", 2);
	assert_jstr(r->json, "/versions/1/effective_at", eff);
	ck_assert(json_is_true(jptr(r->json, "/versions/1/cancelled")));
	assert_jint(r->json, "/versions/2/version", 1);
	assert_jnull(r->json, "/versions/2/effective_at");
	ck_assert(json_is_false(jptr(r->json, "/versions/2/cancelled")));
	http_response_free(r);
}
END_TEST

START_TEST(test_schedule_bad_input)
{
	const char *bad[] = {"effective_at=2020-01-01T00:00:00Z", "effective_at=tomorrow", "effective_at=",
			     "effective_at=2026-13-01T00:00:00Z"};
	long v = list_version();
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		http_response *r = put_doc(bad[i], ADMIN, 2);
		ck_assert_msg(r->status == 400, "%s: expected 400, got %ld", bad[i], r->status);
		assert_error_mentions(r, "effective_at");
		http_response_free(r);
	}
	ck_assert_int_eq(list_version(), v);
	/* A new list cannot wait. */
	char eff[21], q[64];
	time_t te;
	instant(3600, eff, &te);
	snprintf(q, sizeof q, "effective_at=%s", eff);
	const char *doc = "{\"list\":\"not-yet\",\"kind\":\"positive\",\"title\":{\"zh\":\"新\"},"
			  "\"clauses\":[{\"id\":\"C-1\",\"document\":\"署综函〔2022〕143号\",\"article\":\"一\","
			  "\"text\":\"免于提交。\"}],\"entities\":[],\"entries\":[{\"id\":\"E-1\",\"code\":\"3801\","
			  "\"name\":{\"zh\":\"物品\"},\"clauses\":[\"C-1\"]}]}";
	http_response *r = ht_put_list("not-yet", q, ADMIN, NULL, doc, strlen(doc));
	assert_error(r, 422, "invalid_document");
	ck_assert_str_eq(jptr_str(r->json, "/error/details/0/path"), "/effective_at");
	http_response_free(r);
	/* A rollback's instant in the past. */
	const char *body = "{\"version\":1,\"effective_at\":\"2020-01-01T00:00:00+08:00\"}";
	r = http_request_auth("POST", "/v1/lists/" PROP "/rollback", ADMIN, "Content-Type: application/json", body,
			      strlen(body));
	assert_error(r, 400, "bad_body");
	assert_error_mentions(r, "effective_at");
	http_response_free(r);
	ck_assert_int_eq(list_version(), v);
}
END_TEST

/* A proposal to take effect later: approved now, current at its instant. */
START_TEST(test_schedule_through_a_proposal)
{
	char eff[21], q[64];
	time_t te;
	instant(5000, eff, &te);
	snprintf(q, sizeof q, "effective_at=%s", eff);
	long v = list_version();
	long id = propose(7, q);
	char path[64], one[64];
	snprintf(one, sizeof one, "/v1/proposals/%ld", id);
	http_response *r = get_admin(one);
	assert_jstr(r->json, "/effective_at", eff);
	http_response_free(r);
	approve_path(id, path, sizeof path, "approve");
	r = post(path, APPROVER, NULL);
	assert_status(r, 200);
	long stored = (long)json_integer_value(jptr(r->json, "/version"));
	ck_assert_int_gt(stored, v);
	http_response_free(r);
	ck_assert_int_eq(list_version(), v);
	ck_assert_int_eq(lookup_version(te - 1), v);
	ck_assert_int_eq(lookup_version(te), stored);
	r = http_request_auth("DELETE", "/v1/lists/" PROP "/scheduled", ADMIN, NULL, NULL, 0);
	assert_status(r, 200);
	http_response_free(r);
}
END_TEST

/* The versions PROP has scheduled, as GET /v1/lists/{id} shows them. */
static size_t scheduled_count(void)
{
	http_response *r = ht_get_ok("/v1/lists/" PROP);
	size_t n = json_array_size(jptr(r->json, "/schedule"));
	http_response_free(r);
	return n;
}

static void cancel_all(void)
{
	http_response *r = http_request_auth("DELETE", "/v1/lists/" PROP "/scheduled", ADMIN, NULL, NULL, 0);
	assert_status(r, 200);
	http_response_free(r);
}

/* PROP is at version v and has version `version` scheduled for eff (te):
 * lookups switch at te.  Then cancel it. */
static void assert_scheduled_then_cancel(long v, long version, const char *eff, time_t te)
{
	http_response *r = ht_get_ok("/v1/lists/" PROP);
	assert_jint(r->json, "/version", v);
	assert_jint(r->json, "/scheduled/version", version);
	assert_jstr(r->json, "/scheduled/effective_at", eff);
	http_response_free(r);
	ck_assert_int_eq(lookup_version(te - 1), v);
	ck_assert_int_eq(lookup_version(te), version);
	cancel_all();
}

/* Schedule prop_doc(n) a few seconds ahead (3; further when a slow run
 * sent it after that instant): its instant into eff and *te.  Returns the
 * version stored. */
static long schedule_soon(unsigned n, char eff[21], time_t *te)
{
	long stored = 0;
	for (long lead = 3; !stored && lead <= 48; lead *= 2) {
		char q[64];
		instant(lead, eff, te);
		snprintf(q, sizeof q, "effective_at=%s", eff);
		http_response *r = put_doc(q, ADMIN, n);
		if (r->status == 200)
			stored = (long)json_integer_value(jptr(r->json, "/version"));
		else
			assert_error_mentions(r, "in the future");
		http_response_free(r);
	}
	ck_assert_int_gt(stored, 0);
	return stored;
}

/* A running daemon switches at the instant: plain lookups (no at=) polled
 * across it answer the old version until the instant and the new one from
 * then on, never the old one again.  Only the order is asserted: an answer
 * whose request left before effective_at − 1 s is the old version, one
 * whose request left after effective_at + 1 s the new one. */
START_TEST(test_schedule_switches_live)
{
	long v = list_version();
	char eff[21];
	time_t te;
	long stored = schedule_soon(2, eff, &te);
	time_t ready = time(NULL);
	ck_assert_int_gt(stored, v);
	bool switched = false;
	unsigned olds = 0, news = 0;
	for (;;) {
		time_t sent = time(NULL);
		long got = lookup_version(0);
		time_t back = time(NULL);
		ck_assert_msg(got == v || got == stored, "a lookup answered version %ld", got);
		if (got == stored)
			switched = true;
		else
			ck_assert_msg(!switched, "version %ld answered again after version %ld", v, stored);
		if (back < te - 1) {
			ck_assert_int_eq(got, v);
			olds++;
		}
		if (sent > te + 1) {
			ck_assert_int_eq(got, stored);
			if (++news >= 3)
				break;
		}
		usleep(50000);
	}
	/* The old version was seen, unless a slow run left no second for it. */
	ck_assert(olds > 0 || ready + 2 >= te - 1);
	http_response *r = ht_get_ok("/v1/lists/" PROP);
	assert_jint(r->json, "/version", stored);
	assert_jnull(r->json, "/scheduled");
	http_response_free(r);
}
END_TEST

/* date= asks about the validity of entries, not which version is current:
 * a version scheduled for an instant before that date does not answer it. */
START_TEST(test_schedule_leaves_date_alone)
{
	long v = list_version();
	char eff[21], q[64];
	time_t te;
	effective_query(3600, q, eff, &te);
	http_response *r = put_doc(q, ADMIN, 1);
	assert_status(r, 200);
	long stored = (long)json_integer_value(jptr(r->json, "/version"));
	http_response_free(r);
	char day[11];
	date_from_today(30, day);
	const char *codes[] = {"3801", "3802"};
	for (size_t i = 0; i < 2; i++) {
		r = http_get("/v1/lookup?code=%s&list=" PROP "&date=%s", codes[i], day);
		assert_status(r, 200);
		assert_jint(r->json, "/results/0/version", v);
		http_response_free(r);
	}
	ck_assert_int_eq(lookup_version(te), stored);
	cancel_all();
}
END_TEST

/* A version to take effect before one scheduled already is refused (the
 * older would take over at its instant): on PUT, on a proposal and on an
 * approval, until the later one is cancelled. */
START_TEST(test_schedule_out_of_order)
{
	long v = list_version();
	char early[21], mid[21], late[21], q[96];
	time_t t_early, t_mid, t_late;
	instant(3000, early, &t_early);
	instant(3600, mid, &t_mid);
	instant(7200, late, &t_late);
	snprintf(q, sizeof q, "effective_at=%s", early);
	long id = propose(3, q);
	snprintf(q, sizeof q, "effective_at=%s", late);
	http_response *r = put_doc(q, ADMIN, 4);
	assert_status(r, 200);
	long later = (long)json_integer_value(jptr(r->json, "/version"));
	http_response_free(r);

	char name[32];
	snprintf(name, sizeof name, "version %ld", later);
	snprintf(q, sizeof q, "effective_at=%s", mid);
	r = put_doc(q, ADMIN, 5);
	assert_error(r, 409, "schedule_conflict");
	assert_error_mentions(r, name);
	assert_error_mentions(r, late);
	assert_error_mentions(r, "cancel it first");
	ck_assert_str_eq(jptr_str(r->json, "/error/details/0/path"), "/effective_at");
	http_response_free(r);
	snprintf(q, sizeof q, "propose=true&effective_at=%s", mid);
	r = put_doc(q, ADMIN, 5);
	assert_error(r, 409, "schedule_conflict");
	http_response_free(r);
	char path[64];
	approve_path(id, path, sizeof path, "approve");
	r = post(path, APPROVER, NULL);
	assert_error(r, 409, "schedule_conflict");
	assert_error_mentions(r, name);
	http_response_free(r);
	ck_assert_int_eq(list_version(), v);
	ck_assert_uint_eq(scheduled_count(), 1);
	char one[64];
	snprintf(one, sizeof one, "/v1/proposals/%ld", id);
	r = get_admin(one);
	assert_jstr(r->json, "/state", "pending");
	http_response_free(r);
	json_t *recs = audit_records();
	json_t *refused = NULL;
	for (size_t i = 0; i < json_array_size(recs) && !refused; i++)
		if (json_integer_value(jptr(json_array_get(recs, i), "/status")) == 409)
			refused = json_array_get(recs, i);
	ck_assert_msg(refused != NULL, "the refused schedule is audited");
	json_decref(recs);

	/* The same instant, or a later one, is in order. */
	snprintf(q, sizeof q, "effective_at=%s", late);
	r = put_doc(q, ADMIN, 5);
	assert_status(r, 200);
	http_response_free(r);

	/* Cancelled: the earlier one is approved, scheduled for its instant. */
	cancel_all();
	assert_scheduled_then_cancel(v, approve_ok(id, NULL), early, t_early);
}
END_TEST

/* effective_at given by the approver, and on a rollback that succeeds. */
START_TEST(test_schedule_on_approval_and_rollback)
{
	long v = list_version();
	char eff[21], body[96];
	time_t te;
	instant(4000, eff, &te);
	long id = propose(8, NULL);
	snprintf(body, sizeof body, "{\"effective_at\":\"%s\",\"comment\":\"元旦生效\"}", eff);
	char path[64];
	approve_path(id, path, sizeof path, "approve");
	http_response *r = post(path, APPROVER, body);
	assert_status(r, 200);
	long stored = (long)json_integer_value(jptr(r->json, "/version"));
	/* The reply and the proposal show the approver's instant. */
	assert_jstr(r->json, "/state", "approved");
	assert_jstr(r->json, "/effective_at", eff);
	http_response_free(r);
	snprintf(path, sizeof path, "/v1/proposals/%ld", id);
	r = get_admin(path);
	assert_jstr(r->json, "/effective_at", eff);
	http_response_free(r);
	assert_scheduled_then_cancel(v, stored, eff, te);

	/* A rollback to version 1, scheduled. */
	snprintf(body, sizeof body, "{\"version\":1,\"effective_at\":\"%s\"}", eff);
	r = http_request_auth("POST", "/v1/lists/" PROP "/rollback", ADMIN,
					     "Content-Type: application/json", body, strlen(body));
	assert_status(r, 200);
	assert_jstr(r->json, "/action", "rollback");
	assert_jstr(r->json, "/effective_at", eff);
	long rolled = (long)json_integer_value(jptr(r->json, "/version"));
	http_response_free(r);
	assert_scheduled_then_cancel(v, rolled, eff, te);
}
END_TEST

/* A proposal whose instant passed before it was approved takes effect at
 * approval (as documented for the approve body's effective_at). */
START_TEST(test_schedule_passed_before_approval)
{
	long v = list_version();
	char eff[21], q[64];
	time_t te;
	effective_query(2, q, eff, &te);
	long id = propose(9, q);
	while (time(NULL) <= te)
		usleep(100000);
	char path[64];
	approve_path(id, path, sizeof path, "approve");
	http_response *r = post(path, APPROVER, NULL);
	assert_status(r, 200);
	/* It took effect at approval: the proposal says so. */
	assert_jnull(r->json, "/effective_at");
	long stored = (long)json_integer_value(jptr(r->json, "/version"));
	http_response_free(r);
	ck_assert_int_gt(stored, v);
	ck_assert_int_eq(list_version(), stored);
	ck_assert_int_eq(lookup_version(0), stored);
	r = ht_get_ok("/v1/lists/" PROP);
	assert_jnull(r->json, "/scheduled");
	http_response_free(r);
}
END_TEST

/* Scheduled a moment ahead, the daemon stopped, started after the instant:
 * it serves the scheduled version at once. */
START_TEST(test_schedule_crosses_a_restart)
{
	char dir[] = "/tmp/qd-gov-sched-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	const char *args[] = {"--db", dir, NULL};
	harness_opts o = {.tokens = true, .extra_args = args};
	harness_daemon a, b;
	char err[512];
	ck_assert_msg(harness_start(&a, &o, err, sizeof err), "start: %s", err);
	http_response *r = put_doc(NULL, ADMIN, 1);
	assert_status(r, 201);
	http_response_free(r);
	char eff[21];
	time_t te;
	schedule_soon(3, eff, &te);
	ck_assert_int_eq(list_version(), 1);
	ck_assert_msg(harness_stop(&a, err, sizeof err), "stop: %s", err);
	/* Down across the instant (waiting for the clock, not for a thread). */
	while (time(NULL) <= te)
		usleep(200000);
	ck_assert_msg(harness_start(&b, &o, err, sizeof err), "restart: %s", err);
	ck_assert_int_eq(list_version(), 2);
	ck_assert_int_eq(lookup_version(0), 2);
	r = ht_get_ok("/v1/lists/" PROP);
	assert_jnull(r->json, "/scheduled");
	assert_jint(r->json, "/entries", 3);
	http_response_free(r);
	/* A version that has taken effect still shows its instant. */
	r = ht_get_ok("/v1/lists/" PROP "/versions");
	assert_jint(r->json, "/versions/0/version", 2);
	assert_jstr(r->json, "/versions/0/effective_at", eff);
	ck_assert(json_is_false(jptr(r->json, "/versions/0/cancelled")));
	http_response_free(r);
	ck_assert_msg(harness_stop(&b, err, sizeof err), "stop: %s", err);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
END_TEST

static Suite *gov_suite(void)
{
	Suite *s = suite_create("gov");
	TCase *tc = ht_tcase(s, "expiring", setup_watch, teardown_watch);
	tcase_add_test(tc, test_expiring_window);
	tcase_add_test(tc, test_expiring_metric);
	tcase_add_test(tc, test_expiring_bad_input);

	tc = ht_tcase(s, "proposals", setup_prop, teardown_prop);
	tcase_add_test(tc, test_propose_then_approve);
	tcase_add_test(tc, test_stale_then_reject);
	tcase_add_test(tc, test_propose_rollback_and_csv);
	tcase_add_test(tc, test_propose_xlsx);
	tcase_add_test(tc, test_proposer_comment);
	tcase_add_test(tc, test_proposal_bad_input);

	tc = ht_tcase(s, "require", setup_require, teardown_require);
	tcase_add_test(tc, test_require_approval);

	tc = ht_tcase(s, "schedule", setup_sched, teardown_sched);
	tcase_add_test(tc, test_schedule_switches_exactly);
	tcase_add_test(tc, test_schedule_bad_input);
	tcase_add_test(tc, test_schedule_through_a_proposal);
	tcase_add_test(tc, test_schedule_out_of_order);
	tcase_add_test(tc, test_schedule_on_approval_and_rollback);
	tcase_add_test(tc, test_schedule_passed_before_approval);
	tcase_add_test(tc, test_schedule_switches_live);
	tcase_add_test(tc, test_schedule_leaves_date_alone);

	tc = ht_tcase(s, "ttl", setup_ttl, teardown_ttl);
	tcase_add_test(tc, test_proposal_expires);

	tc = ht_tcase(s, "restart", NULL, NULL);
	tcase_add_test(tc, test_proposal_ttl_values);
	tcase_add_test(tc, test_proposal_ttl_bare_days);
	tcase_add_test(tc, test_proposal_survives_restart);
	tcase_add_test(tc, test_schedule_crosses_a_restart);
	return s;
}

int main(void)
{
	return ht_run(gov_suite());
}
