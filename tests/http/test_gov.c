/* qingdan — HTTP tests of governed publication: the expiry watch
 * (GET /v1/lists/{id}/expiring and its metric).
 *
 * The daemon's "today" is the real China-time date, so fixture documents
 * are written relative to it.  Every window a test asks about is chosen
 * so that the answer stays the same if the day turns between the load
 * and the question. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "harness.h"
#include "suite.h"

#define WATCH "expiry-watch"
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

static harness_daemon d_watch;

static void setup_watch(void)
{
	harness_opts o = {.tokens = true};
	char err[512];
	ck_assert_msg(harness_start(&d_watch, &o, err, sizeof err), "cannot start qingdand: %s", err);
}

static void teardown_watch(void)
{
	ht_stop_fixture(&d_watch);
}

/* PUT a list whose entries end 5 days ago, in 2, 10 and 40 days, and
 * never; one revoked entry in 3 days; a roster member in 10 days. */
static void put_watch_list(void)
{
	char past[11], d2[11], d3[11], d10[11], d40[11];
	date_from_today(-5, past);
	date_from_today(2, d2);
	date_from_today(3, d3);
	date_from_today(10, d10);
	date_from_today(40, d40);
	char doc[4096];
	snprintf(doc, sizeof doc,
		 "{\"list\":\"" WATCH "\",\"kind\":\"positive\",\"title\":{\"zh\":\"到期提醒\",\"en\":\"Expiry watch\"},"
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
		 d10, d40, d10, d2, d3, past);
	http_response *r = ht_put_list(WATCH, NULL, HARNESS_ADMIN_TOKEN, NULL, doc, strlen(doc));
	assert_status(r, 201);
	http_response_free(r);
}

START_TEST(test_expiring_window)
{
	put_watch_list();
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
	/* The list of test_expiring_window: 2 entries and 1 member in 30 days. */
	http_response *r = http_get("/metrics");
	assert_status(r, 200);
	ck_assert_msg(strstr(r->body, "qingdan_entries_expiring{list=\"" WATCH "\",within=\"30d\"} 3\n"),
		      "no expiring gauge of 3 in:\n%.4000s", r->body);
	http_response_free(r);
	/* A new version that renews everything: the gauge follows it. */
	const char *doc = "{\"list\":\"" WATCH "\",\"kind\":\"positive\",\"title\":{\"zh\":\"到期提醒\"},"
			  "\"clauses\":[{\"id\":\"C-1\",\"document\":\"署综函〔2022〕143号\",\"article\":\"一\","
			  "\"text\":\"免于提交。\"}],\"entities\":[],"
			  "\"entries\":[{\"id\":\"E-2\",\"code\":\"3002\",\"name\":{\"zh\":\"血清\"},\"clauses\":[\"C-1\"]}]}";
	r = ht_put_list(WATCH, NULL, HARNESS_ADMIN_TOKEN, NULL, doc, strlen(doc));
	assert_status(r, 200);
	http_response_free(r);
	r = http_get("/metrics");
	ck_assert_msg(strstr(r->body, "qingdan_entries_expiring{list=\"" WATCH "\",within=\"30d\"} 0\n"),
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

static Suite *gov_suite(void)
{
	Suite *s = suite_create("gov");
	TCase *tc = ht_tcase(s, "expiring", setup_watch, teardown_watch);
	tcase_add_test(tc, test_expiring_window);
	tcase_add_test(tc, test_expiring_metric);
	tcase_add_test(tc, test_expiring_bad_input);
	return s;
}

int main(void)
{
	return ht_run(gov_suite());
}
