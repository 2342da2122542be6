/* Unit tests: decision receipts (src/lib/receipt.c): the payload read
 * from a rendered decision, signing and checking, and deciding a payload
 * again pinned to its versions. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "qingdan/err.h"
#include "qingdan/jcs.h"
#include "qingdan/receipt.h"

#define TODAY "2026-11-26"

/* Strings that a scanner of JSON by structure must step over: escaped
 * quotes and backslashes, brackets and braces inside strings. */
#define CLAUSES                                                                                  \
	"[{'id':'C-1','document':'文 \\'件\\' {', 'article':'一 ] [','text':'甲 \\\\\\' } 乙 \\\\'},"      \
	"{'id':'C-2','document':'D','article':'二','text':'\\\\\\\\'}]"
#define ENTRY(id, code, extra)                                                                   \
	"{'id':'" id "','code':'" code "','name':{'zh':'名 \\'}\\' ]','en':'x \\\\'},'clauses':['C-1','C-2']" extra "}"

static char *dir;
static qd_store *st;
static qd_snap *snap;

static void root_setup(void)
{
	fx_root_setup("receipt");
}

static void put(const char *entries, uint32_t want)
{
	qd_listdoc *doc = fx_mkdoc("rc-pos",
				   "{'list':'rc-pos','kind':'positive','title':{'zh':'回执 {测试}'},'clauses':%s,"
				   "'entries':%s}",
				   CLAUSES, entries);
	qd_put_opts o = fx_put_opts("tester", "load", "unit", 1795000000);
	qd_put_result res;
	fx_put_doc_ok(st, doc, &o, &res);
	ck_assert_uint_eq(res.version, want);
	qd_listdoc_free(doc);
}

static void store_setup(void)
{
	dir = fx_fresh_dir();
	st = fx_open_retain(dir, 2);
	put("[" ENTRY("E-1", "3822", "") "," ENTRY("E-X", "3822.90", ",'effect':'exclude'") "]", 1);
	snap = qd_snap_new(st);
	ck_assert_int_eq(qd_snap_open(snap), 0);
}

static void store_teardown(void)
{
	qd_snap_free(snap);
	qd_store_close(st);
	fx_drop_dir(dir);
}

/* Decide code on the snapshot: the rendering in braces (free()). */
static char *decide(const char *code, qd_outcome *o)
{
	qd_query q;
	memset(&q, 0, sizeof q);
	const char *why;
	ck_assert_int_eq(qd_code_parse(code, strlen(code), &q.code, &why), 0);
	ck_assert_int_eq(qd_date_parse(TODAY, 10, &q.date), 0);
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_putc(&b, '{');
	ck_assert_int_eq(qd_decide(snap, &q, &b, o), 0);
	qd_buf_putc(&b, '}');
	return qd_buf_steal(&b, NULL);
}

static json_t *lookup_payload(const char *code, const char *client_ref, char **text)
{
	qd_outcome o;
	char *d = decide(code, &o);
	qd_receipt_head h = {"d-1", 1795000000, client_ref};
	qd_buf p;
	qd_buf_init(&p);
	ck_assert_int_eq(qd_receipt_lookup_payload(snap, d, strlen(d), &h, &p), 0);
	free(d);
	json_t *j = json_loads(qd_buf_cstr(&p), JSON_REJECT_DUPLICATES, NULL);
	ck_assert_ptr_nonnull(j);
	/* The payload is its own canonical form. */
	qd_buf c;
	qd_buf_init(&c);
	ck_assert_int_eq(qd_jcs_dump(j, &c), 0);
	ck_assert_str_eq(qd_buf_cstr(&c), qd_buf_cstr(&p));
	qd_buf_free(&c);
	*text = qd_buf_steal(&p, NULL);
	return j;
}

static const char *jstr(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

static enum qd_reproduced reproduce(const char *payload, char *why, size_t whylen)
{
	enum qd_reproduced r = QD_REPRO_DIFFERS;
	ck_assert_int_eq(qd_receipt_reproduce(snap, payload, strlen(payload), &r, why, whylen), 0);
	return r;
}

START_TEST(payload_of_an_allow)
{
	char *text;
	json_t *p = lookup_payload("3822190090", "DEC-1", &text);
	ck_assert_str_eq(jstr(p, "kind"), "lookup");
	ck_assert_str_eq(jstr(p, "decision_id"), "d-1");
	ck_assert_str_eq(jstr(p, "client_ref"), "DEC-1");
	ck_assert_str_eq(jstr(p, "issued_at"), "2026-11-18T11:06:40Z");
	ck_assert_str_eq(jstr(p, "decision"), "allow");
	ck_assert_str_eq(jstr(p, "reason"), "listed");
	json_t *q = json_object_get(p, "query");
	ck_assert_str_eq(jstr(q, "code"), "3822190090");
	ck_assert_str_eq(jstr(q, "date"), TODAY);
	ck_assert(json_is_null(json_object_get(q, "entity")));
	json_t *b = json_object_get(p, "basis");
	ck_assert_str_eq(jstr(b, "list"), "rc-pos");
	ck_assert_int_eq(json_integer_value(json_object_get(b, "version")), 1);
	ck_assert_str_eq(jstr(b, "entry"), "E-1");
	json_t *cl = json_object_get(b, "clauses");
	ck_assert_uint_eq(json_array_size(cl), 2);
	ck_assert_str_eq(json_string_value(json_array_get(cl, 0)), "C-1");
	ck_assert_str_eq(json_string_value(json_array_get(cl, 1)), "C-2");
	json_t *lists = json_object_get(p, "lists");
	ck_assert_uint_eq(json_array_size(lists), 1);
	qd_list_info info;
	ck_assert_int_eq(qd_store_list(st, "rc-pos", &info), 0);
	free(info.title);
	ck_assert_str_eq(jstr(json_array_get(lists, 0), "sha256"), info.sha256);
	ck_assert_uint_eq(json_object_size(p), 9);

	char why[256];
	ck_assert_int_eq(reproduce(text, why, sizeof why), QD_REPRO_SAME);
	json_decref(p);
	free(text);
}
END_TEST

START_TEST(payload_of_an_exclusion_and_a_deny)
{
	char *text;
	json_t *p = lookup_payload("3822900000", NULL, &text);
	ck_assert_str_eq(jstr(p, "decision"), "deny");
	ck_assert_str_eq(jstr(p, "reason"), "excluded");
	ck_assert_str_eq(jstr(json_object_get(p, "basis"), "entry"), "E-X");
	ck_assert(json_is_null(json_object_get(p, "client_ref")));
	char why[256];
	ck_assert_int_eq(reproduce(text, why, sizeof why), QD_REPRO_SAME);
	json_decref(p);
	free(text);
	p = lookup_payload("0101", NULL, &text);
	ck_assert_str_eq(jstr(p, "reason"), "not_listed");
	ck_assert(json_is_null(json_object_get(p, "basis")));
	ck_assert_int_eq(reproduce(text, why, sizeof why), QD_REPRO_SAME);
	json_decref(p);
	free(text);
}
END_TEST

/* A payload stays reproducible after the list changes (pinned to its
 * version), and says so when its version is pruned. */
START_TEST(reproduce_pinned_then_gone)
{
	char *text;
	json_t *p = lookup_payload("3822190090", NULL, &text);
	qd_snap_close(snap);
	put("[" ENTRY("E-2", "9027", "") "]", 2);
	ck_assert_int_eq(qd_snap_open(snap), 0);
	char why[256];
	ck_assert_int_eq(reproduce(text, why, sizeof why), QD_REPRO_SAME);
	/* The current version denies it: a payload saying so for version 1
	 * is not what version 1 says. */
	json_object_set_new(p, "decision", json_string("deny"));
	json_object_set_new(p, "reason", json_string("not_listed"));
	char *changed = json_dumps(p, JSON_COMPACT);
	ck_assert_int_eq(reproduce(changed, why, sizeof why), QD_REPRO_DIFFERS);
	ck_assert_ptr_nonnull(strstr(why, "the receipt says deny (not_listed)"));
	ck_assert_ptr_nonnull(strstr(why, "gives allow (listed)"));
	free(changed);
	/* Another sha256 for the version: not the same document. */
	json_object_set_new(p, "decision", json_string("allow"));
	json_object_set_new(p, "reason", json_string("listed"));
	json_object_set_new(json_array_get(json_object_get(p, "lists"), 0), "sha256",
			    json_string("0000000000000000000000000000000000000000000000000000000000000000"));
	changed = json_dumps(p, JSON_COMPACT);
	ck_assert_int_eq(reproduce(changed, why, sizeof why), QD_REPRO_DIFFERS);
	ck_assert_ptr_nonnull(strstr(why, "another sha256"));
	free(changed);

	qd_snap_close(snap);
	put("[" ENTRY("E-3", "9027", "") "]", 3);
	ck_assert_int_eq(qd_snap_open(snap), 0);
	ck_assert_int_eq(reproduce(text, why, sizeof why), QD_REPRO_GONE);
	ck_assert_str_eq(why, "rc-pos version 1 is no longer retained");
	json_decref(p);
	free(text);
}
END_TEST

START_TEST(reproduce_refuses_what_is_no_payload)
{
	static const char *bad[] = {
		"", "[]", "{}", "{\"kind\":\"other\"}", "not json",
		"{\"kind\":\"lookup\",\"lists\":[],\"query\":{\"code\":\"38\",\"date\":\"2026-13-01\"}}",
		"{\"kind\":\"lookup\",\"lists\":[{\"list\":\"rc-pos\"}],\"query\":{\"code\":\"38\",\"date\":\"2026-11-26\"}}",
		"{\"kind\":\"lookup\",\"lists\":[],\"query\":{\"code\":\"3x\",\"date\":\"2026-11-26\"},\"decision\":\"allow\",\"reason\":\"listed\"}",
		"{\"kind\":\"lookup\",\"lists\":[],\"query\":{\"code\":\"38\",\"date\":\"2026-11-26\",\"entity\":\"nope\"}}",
		"{\"kind\":\"check\",\"lists\":[],\"query\":{\"date\":\"2026-11-26\"}}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		enum qd_reproduced r;
		char why[256] = "";
		ck_assert_msg(qd_receipt_reproduce(snap, bad[i], strlen(bad[i]), &r, why, sizeof why) == QD_EINVAL,
			      "accepted: %s", bad[i]);
		ck_assert_msg(why[0], "no reason for: %s", bad[i]);
	}
	/* A list this store never had: decided differently, not an error. */
	const char *other = "{\"kind\":\"lookup\",\"lists\":[{\"list\":\"elsewhere\",\"version\":1,\"sha256\":\"x\"}],"
			    "\"query\":{\"code\":\"38\",\"date\":\"2026-11-26\"},\"decision\":\"deny\",\"reason\":\"not_listed\"}";
	char why[256];
	ck_assert_int_eq(reproduce(other, why, sizeof why), QD_REPRO_DIFFERS);
	ck_assert_str_eq(why, "elsewhere version 1 is not in this store");
}
END_TEST

/* A check's items as the daemon writes them: decided items and a bad
 * one, separated by commas. */
START_TEST(check_payload_and_reproduction)
{
	qd_outcome o;
	char *a = decide("3822190090", &o), *x = decide("3822900000", &o);
	qd_buf items;
	qd_buf_init(&items);
	qd_buf_printf(&items, "{\"ref\":\"l-1\",%.*s},", (int)(strlen(a) - 2), a + 1);
	qd_buf_puts(&items, "{\"ref\":7,\"error\":{\"code\":\"bad_item\",\"message\":\"m \\\"}\\\"\",\"details\":[]}},");
	qd_buf_printf(&items, "{\"ref\":null,%.*s}", (int)(strlen(x) - 2), x + 1);
	qd_query base;
	memset(&base, 0, sizeof base);
	ck_assert_int_eq(qd_date_parse(TODAY, 10, &base.date), 0);
	qd_receipt_head h = {"d-2", 1795000000, "MSG-9"};
	qd_buf p;
	qd_buf_init(&p);
	ck_assert_int_eq(qd_receipt_check_payload(snap, &base, items.data, items.len, &h, &p), 0);
	json_t *j = json_loads(qd_buf_cstr(&p), 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(jstr(j, "kind"), "check");
	ck_assert_str_eq(jstr(j, "decision"), "deny");
	ck_assert_str_eq(jstr(json_object_get(j, "query"), "date"), TODAY);
	json_t *it = json_object_get(j, "items");
	ck_assert_uint_eq(json_array_size(it), 3);
	ck_assert_str_eq(jstr(json_array_get(it, 0), "ref"), "l-1");
	ck_assert_str_eq(jstr(json_array_get(it, 0), "entry"), "E-1");
	ck_assert_str_eq(jstr(json_array_get(it, 0), "code"), "3822190090");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(it, 1), "ref")), 7);
	ck_assert_str_eq(jstr(json_array_get(it, 1), "error"), "bad_item");
	ck_assert(json_is_null(json_object_get(json_array_get(it, 2), "ref")));
	ck_assert_str_eq(jstr(json_array_get(it, 2), "reason"), "excluded");
	ck_assert_uint_eq(json_array_size(json_object_get(j, "lists")), 1);
	char why[256];
	ck_assert_int_eq(reproduce(qd_buf_cstr(&p), why, sizeof why), QD_REPRO_SAME);
	/* One item's reason changed: the check is not reproduced. */
	json_object_set_new(json_array_get(it, 2), "reason", json_string("not_listed"));
	char *changed = json_dumps(j, JSON_COMPACT);
	ck_assert_int_eq(reproduce(changed, why, sizeof why), QD_REPRO_DIFFERS);
	free(changed);
	/* Items that are not objects are no check. */
	qd_buf_reset(&p);
	ck_assert_int_eq(qd_receipt_check_payload(snap, &base, "[1]", 3, &h, &p), QD_EINVAL);
	ck_assert_int_eq(qd_receipt_check_payload(snap, &base, "{\"ref\":", 7, &h, &p), QD_EINVAL);
	json_decref(j);
	qd_buf_free(&p);
	qd_buf_free(&items);
	free(a);
	free(x);
}
END_TEST

/* Signed, read back, checked against known keys. */
START_TEST(sign_read_verify)
{
	qd_key *k, *other;
	ck_assert_int_eq(qd_key_generate(QD_ALG_SM2, &k), 0);
	ck_assert_int_eq(qd_key_generate(QD_ALG_ED25519, &other), 0);
	const char *payload = "{\"kind\":\"lookup\",\"n\":\"引号 \\\" 名\"}";
	qd_buf b;
	qd_buf_init(&b);
	ck_assert_int_eq(qd_receipt_sign(k, payload, strlen(payload), &b), 0);
	json_t *j = json_loads(qd_buf_cstr(&b), 0, NULL);
	ck_assert_ptr_nonnull(j);
	qd_receipt r;
	const char *member;
	ck_assert_int_eq(qd_receipt_read(j, &r, &member), 0);
	ck_assert_str_eq(r.payload, payload);
	ck_assert_str_eq(r.alg, "sm2");
	ck_assert_str_eq(r.kid, qd_key_kid(k));
	const char *why = NULL;
	qd_key *both[] = {other, k};
	ck_assert_int_eq(qd_receipt_verify(&r, both, 2, &why), 0);
	ck_assert_int_eq(qd_receipt_verify(&r, both, 1, &why), QD_ENOENT);
	ck_assert_ptr_nonnull(strstr(why, "kid"));
	qd_receipt t = r;
	t.alg = "ed25519";
	ck_assert_int_eq(qd_receipt_verify(&t, both, 2, &why), QD_ENOENT);
	t = r;
	t.payload_len--;
	ck_assert_int_eq(qd_receipt_verify(&t, both, 2, &why), QD_EBADSIG);
	t = r;
	t.sig = "@@@@";
	t.sig_len = 4;
	ck_assert_int_eq(qd_receipt_verify(&t, both, 2, &why), QD_EBASE64);
	/* Each member missing or of the wrong type is named. */
	static const char *names[] = {"payload", "alg", "kid", "sig"};
	for (size_t i = 0; i < 4; i++) {
		json_t *c = json_deep_copy(j);
		json_object_set_new(c, names[i], json_integer(1));
		ck_assert_int_eq(qd_receipt_read(c, &t, &member), QD_EINVAL);
		ck_assert_str_eq(member, names[i]);
		json_object_del(c, names[i]);
		ck_assert_int_eq(qd_receipt_read(c, &t, &member), QD_EINVAL);
		ck_assert_str_eq(member, names[i]);
		json_decref(c);
	}
	json_t *arr = json_array();
	ck_assert_int_eq(qd_receipt_read(arr, &t, &member), QD_EINVAL);
	ck_assert_str_eq(member, "");
	json_decref(arr);
	json_decref(j);
	qd_buf_free(&b);
	qd_key_free(k);
	qd_key_free(other);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("receipt");
	tcase_add_unchecked_fixture(tc, root_setup, fx_root_teardown);
	tcase_add_checked_fixture(tc, store_setup, store_teardown);
	tcase_add_test(tc, payload_of_an_allow);
	tcase_add_test(tc, payload_of_an_exclusion_and_a_deny);
	tcase_add_test(tc, reproduce_pinned_then_gone);
	tcase_add_test(tc, reproduce_refuses_what_is_no_payload);
	tcase_add_test(tc, check_payload_and_reproduction);
	tcase_add_test(tc, sign_read_verify);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
