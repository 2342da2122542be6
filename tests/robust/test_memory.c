/* qingdan — the memory a load takes: peak RSS at most ten times the
 * document plus a constant, for a JSON document of many tiny entries and
 * a CSV file of many short rows, stored or dry run; a CSV file of
 * invalid rows answers 422 with the capped list of problems and their
 * total, without holding every problem or every row.
 *
 * qingdanctl is run as a child and its peak RSS read from wait4(); the
 * daemon's from /proc/PID/status (VmHWM).  A load that stores also holds
 * the new version's pages until it commits (LMDB keeps a write
 * transaction's dirty pages in memory): its bound adds the growth of the
 * store the load caused.  Under the sanitizers memory is
 * not what the program uses (shadow memory, quarantine): there only the
 * RSS bound is skipped, found at run time, and the rest still runs. */
#include <check.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "qingdan/problems.h"

#include "robust.h"

#define LIST "mem"
#define JSON_ENTRIES 200000
#define CSV_ROWS 400000
#define SLACK_KIB (64L << 10) /* the constant: program, libraries, buffers */

static const char head[] =
	"{\"list\":\"" LIST "\",\"kind\":\"positive\",\"title\":{\"zh\":\"内存\"},"
	"\"clauses\":[{\"id\":\"C1\",\"document\":\"d\",\"article\":\"a\",\"text\":\"t\"}],"
	"\"entries\":[";

static const char *const codes[] = { "0101", "3822", "8471", "9018", "2933",
				     "300490", "38220010", "9027", "8419", "3822190090" };

static bool sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
	return true;
#else
	return dlsym(RTLD_DEFAULT, "__asan_init") != NULL ||
	       dlsym(RTLD_DEFAULT, "__ubsan_handle_add_overflow") != NULL;
#endif
}

static char dir[] = "/tmp/qd-memory-XXXXXX";

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	robust_rmtree(dir);
	strcpy(dir, "/tmp/qd-memory-XXXXXX");
}

/* A document of n tiny entries (about 70 bytes each). */
static char *json_doc(unsigned n, size_t *len)
{
	size_t cap = sizeof(head) + (size_t)n * 96 + 16, o = 0;
	char *s = malloc(cap);

	ck_assert_ptr_nonnull(s);
	o += (size_t)snprintf(s, cap, "%s", head);
	for (unsigned i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s{\"id\":\"E%07u\",\"code\":\"%s\",\"name\":{\"zh\":\"x\"},"
				      "\"clauses\":[\"C1\"]}", i ? ",\n" : "\n", i, codes[i % 10]);
	o += (size_t)snprintf(s + o, cap - o, "\n]}\n");
	*len = o;
	return s;
}

/* A CSV file of n rows of about 39 bytes (as a sheet of a million rows
 * of 39 MB); bad: every code invalid. */
static char *csv_doc(unsigned n, bool bad, size_t *len)
{
	size_t cap = 64 + (size_t)n * 64, o = 0;
	char *s = malloc(cap);

	ck_assert_ptr_nonnull(s);
	o += (size_t)snprintf(s, cap, "id,code,name_zh,clauses,batch\n");
	for (unsigned i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "E%08u,%s%s,试剂名称%03u,C1,b%u\n", i,
				      bad ? "x" : "", codes[i % 10], i % 100, i % 7);
	*len = o;
	return s;
}

static void write_file(const char *name, const char *p, size_t len, char *path, size_t cap)
{
	snprintf(path, cap, "%s/%s", dir, name);
	ck_assert(robust_write_file(path, p, len));
}

/* Run qingdanctl; its exit status, *maxrss its peak RSS in KiB. */
static int ctl(const char *const *args, long *maxrss)
{
	struct rusage ru;
	int st;
	pid_t pid = robust_spawn_ctl(args);

	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(wait4(pid, &st, 0, &ru), pid);
	*maxrss = ru.ru_maxrss;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The store's "map used" bytes (qingdanctl stats). */
static long map_used(const char *db)
{
	char *out = NULL, *p;
	long v = -1;

	ck_assert_int_eq(harness_run_ctl((const char *const[]){ "--db", db, "stats", NULL }, &out), 0);
	if (out != NULL && (p = strstr(out, "map used")) != NULL)
		v = strtol(p + strlen("map used"), NULL, 10);
	free(out);
	ck_assert_int_ge(v, 0);
	return v;
}

/* kib within 10 x input + SLACK_KIB + stored KiB (what the store grew by). */
static void check_bound_stored(const char *what, long kib, size_t input, long stored)
{
	long bound = (long)(10 * input / 1024) + SLACK_KIB + stored;

	printf("%s: %zu bytes in, %ld KiB stored, peak RSS %ld KiB (bound %ld KiB)%s\n", what, input,
	       stored, kib, bound, sanitized() ? " — not checked under the sanitizers" : "");
	fflush(stdout);
	if (!sanitized())
		ck_assert_msg(kib <= bound, "%s: peak RSS %ld KiB over 10 x %zu bytes + %ld KiB + %ld KiB",
			      what, kib, input, SLACK_KIB, stored);
}

static void check_bound(const char *what, long kib, size_t input)
{
	check_bound_stored(what, kib, input, 0);
}

static void ctl_ok(const char *const *args)
{
	long rss;

	ck_assert_int_eq(ctl(args, &rss), 0);
}

START_TEST(json_load_bounded)
{
	char db[512], path[512];
	size_t len;
	char *doc = json_doc(JSON_ENTRIES, &len);
	long rss, used;

	snprintf(db, sizeof db, "%s/db", dir);
	write_file("doc.json", doc, len, path, sizeof path);
	free(doc);
	ctl_ok((const char *const[]){ "--db", db, "init", NULL });
	ck_assert_int_eq(ctl((const char *const[]){ "--db", db, "load", LIST, path, "--dry-run", NULL }, &rss), 0);
	check_bound("JSON dry run", rss, len);
	used = map_used(db);
	ck_assert_int_eq(ctl((const char *const[]){ "--db", db, "load", LIST, path, NULL }, &rss), 0);
	check_bound_stored("JSON load", rss, len, (map_used(db) - used) / 1024);
}
END_TEST

START_TEST(csv_load_bounded)
{
	char db[512], base[512], path[512];
	size_t len, blen;
	char *b = json_doc(1, &blen);
	char *csv = csv_doc(CSV_ROWS, false, &len);
	long rss, used;

	snprintf(db, sizeof db, "%s/db", dir);
	write_file("base.json", b, blen, base, sizeof base);
	write_file("rows.csv", csv, len, path, sizeof path);
	free(b);
	free(csv);
	ctl_ok((const char *const[]){ "--db", db, "init", NULL });
	ctl_ok((const char *const[]){ "--db", db, "load", LIST, base, NULL });
	ck_assert_int_eq(ctl((const char *const[]){ "--db", db, "load", LIST, path, "--dry-run", NULL }, &rss), 0);
	check_bound("CSV dry run", rss, len);
	used = map_used(db);
	ck_assert_int_eq(ctl((const char *const[]){ "--db", db, "load", LIST, path, NULL }, &rss), 0);
	check_bound_stored("CSV load", rss, len, (map_used(db) - used) / 1024);
}
END_TEST

/* A field of /proc/PID/status in KiB; -1 when absent. */
static long proc_kib(pid_t pid, const char *field)
{
	char p[64], line[256];
	size_t fl = strlen(field);
	long v = -1;
	FILE *f;

	snprintf(p, sizeof p, "/proc/%ld/status", (long)pid);
	if ((f = fopen(p, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			v = strtol(line + fl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

START_TEST(invalid_csv_capped)
{
	harness_daemon d;
	harness_opts o = { .tokens = true };
	char err[512], want[128];
	size_t blen, len;
	char *b = json_doc(1, &blen);
	char *csv = csv_doc(CSV_ROWS, true, &len);
	http_response *r;
	json_t *e, *details;

	curl_global_init(CURL_GLOBAL_ALL);
	ck_assert_msg(harness_start(&d, &o, err, sizeof err), "cannot start qingdand: %s", err);
	r = http_request_auth("PUT", "/v1/lists/" LIST, HARNESS_ADMIN_TOKEN, NULL, b, blen);
	ck_assert_int_eq(r->status, 201);
	http_response_free(r);
	r = http_request_auth("PUT", "/v1/lists/" LIST, HARNESS_ADMIN_TOKEN,
			      "Content-Type: text/csv", csv, len);
	check_bound("invalid CSV over HTTP (daemon)", proc_kib(d.pid, "VmHWM"), len);
	ck_assert_msg(r->status == 422, "HTTP %ld: %.300s", r->status, r->body);
	e = json_object_get(r->json, "error");
	ck_assert_str_eq(json_string_value(json_object_get(e, "code")), "invalid_document");
	snprintf(want, sizeof want, "the list CSV file breaks %u loader rules; nothing was stored", CSV_ROWS);
	ck_assert_str_eq(json_string_value(json_object_get(e, "message")), want);
	details = json_object_get(e, "details");
	/* The cap's problems, then one detail with how many more there are. */
	ck_assert_uint_eq(json_array_size(details), QD_PROBLEMS_CAP + 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(details, 0), "line")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(details, 0), "column")), 2);
	snprintf(want, sizeof want, "%u more problems not shown", CSV_ROWS - QD_PROBLEMS_CAP);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(details, QD_PROBLEMS_CAP),
							   "message")), want);
	http_response_free(r);
	free(b);
	free(csv);
	ck_assert_msg(harness_stop(&d, err, sizeof err), "%s", err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("robust-memory");
	TCase *tc = tcase_create("load");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, json_load_bounded);
	tcase_add_test(tc, csv_load_bounded);
	tcase_add_test(tc, invalid_csv_capped);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
