/* qingdan — HTTP tests of the brief view: view=brief on GET /v1/lookup and
 * "view": "brief" on POST /v1/check decide as the full view does and show
 * ids where the full view shows texts; bad values are refused naming the
 * field; a receipt on a brief answer is the full answer's receipt.
 *
 * One daemon with a signing key and both sample lists, in an unchecked
 * fixture (tests/http/harness.c). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness.h"
#include "suite.h"
#include "qingdan/sign.h"

#define WL_ENT "91440115MA9W3K7C66"
#define WL_Q "code=3002510000&entity=" WL_ENT "&list=" WL
/* 细胞治疗产品（研发用对照品）, and another product under the same code */
#define WL_NAME "%E7%BB%86%E8%83%9E%E6%B2%BB%E7%96%97%E4%BA%A7%E5%93%81(%E7%A0%94%E5%8F%91%E7%94%A8%E5%AF%B9%E7%85%A7%E5%93%81)"
#define OTHER_NAME "%E5%88%AB%E7%9A%84%E4%BA%A7%E5%93%81"

static harness_daemon g_d;
static char g_dir[256];

static void setup(void)
{
	const char *t = getenv("TMPDIR");
	snprintf(g_dir, sizeof g_dir, "%s/qd-brief-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(g_dir)) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		abort();
	}
	char key[300];
	snprintf(key, sizeof key, "%s/sign.pem", g_dir);
	qd_key *k = NULL;
	if (qd_key_generate(QD_ALG_ED25519, &k) || qd_key_write_private(k, key)) {
		fprintf(stderr, "cannot make a key at %s\n", key);
		abort();
	}
	qd_key_free(k);
	const char *args[] = {"--signing-key", key, NULL};
	harness_opts o = {.tokens = true, .extra_args = args};
	ht_start_with_samples(&g_d, &o);
}

static void teardown(void)
{
	ht_stop_fixture(&g_d);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", g_dir);
}

/* ---- comparing the views ---- */

/* brief's member name is full's, or absent where full's is null. */
static void assert_where_present(json_t *full, json_t *brief, const char *name, const char *where)
{
	json_t *f = json_object_get(full, name), *b = json_object_get(brief, name);
	ck_assert_msg(f != NULL, "%s: the full view has no %s", where, name);
	if (json_is_null(f))
		ck_assert_msg(b == NULL, "%s: %s is null in the full view, so absent in the brief", where, name);
	else
		ck_assert_msg(b && json_equal(f, b), "%s: %s differs from the full view's", where, name);
}

/* The members of a basis or result the brief view shows by id: the entry
 * (null or its id) and the clauses (their ids), then scope and item_check
 * where present; batch and terms are the full view's only. */
static void assert_ids(json_t *full, json_t *brief, const char *where, bool clauses)
{
	json_t *fe = json_object_get(full, "entry"), *be = json_object_get(brief, "entry");
	if (json_is_null(fe))
		ck_assert_msg(json_is_null(be), "%s: entry: expected null", where);
	else
		ck_assert_msg(json_is_string(be) && json_equal(json_object_get(fe, "id"), be),
			      "%s: entry: expected the id of the full view's entry", where);
	if (clauses) {
		json_t *fc = json_object_get(full, "clauses"), *bc = json_object_get(brief, "clauses");
		ck_assert_msg(json_is_array(bc) && json_array_size(bc) == json_array_size(fc),
			      "%s: clauses: expected as many ids as the full view has clauses", where);
		for (size_t i = 0; i < json_array_size(fc); i++)
			ck_assert_msg(json_is_string(json_array_get(bc, i)) &&
					      json_equal(json_object_get(json_array_get(fc, i), "id"), json_array_get(bc, i)),
				      "%s: clauses/%zu: expected the clause's id", where, i);
	}
	assert_where_present(full, brief, "scope", where);
	assert_where_present(full, brief, "item_check", where);
	ck_assert_msg(!json_object_get(brief, "batch") && !json_object_get(brief, "terms"),
		      "%s: batch and terms are not in the brief view", where);
}

/* A decision in the brief view says what the same decision in the full
 * view says, by id. */
static void assert_same_decision(json_t *full, json_t *brief, const char *where)
{
	static const char *const same[] = {"decision", "reason"};
	for (size_t i = 0; i < 2; i++)
		ck_assert_msg(json_equal(json_object_get(full, same[i]), json_object_get(brief, same[i])),
			      "%s: %s differs from the full view's", where, same[i]);
	ck_assert_msg(!json_object_get(brief, "query"), "%s: the brief view has no query", where);
	json_t *fb = json_object_get(full, "basis"), *bb = json_object_get(brief, "basis");
	if (json_is_null(fb)) {
		ck_assert_msg(json_is_null(bb), "%s: basis: expected null", where);
	} else {
		ck_assert_msg(json_is_object(bb), "%s: basis: expected an object", where);
		ck_assert_msg(json_equal(json_object_get(fb, "list"), json_object_get(bb, "list")) &&
				      json_equal(json_object_get(fb, "version"), json_object_get(bb, "version")),
			      "%s: basis: list and version differ", where);
		assert_ids(fb, bb, where, true);
	}
	json_t *fr = json_object_get(full, "results"), *br = json_object_get(brief, "results");
	ck_assert_msg(json_array_size(fr) > 0 && json_array_size(br) == json_array_size(fr),
		      "%s: results: expected one per list, as in the full view", where);
	for (size_t i = 0; i < json_array_size(fr); i++) {
		json_t *f = json_array_get(fr, i), *b = json_array_get(br, i);
		static const char *const res[] = {"list", "version", "decision", "reason"};
		for (size_t m = 0; m < 4; m++)
			ck_assert_msg(json_equal(json_object_get(f, res[m]), json_object_get(b, res[m])),
				      "%s: results/%zu/%s differs", where, i, res[m]);
		assert_ids(f, b, where, true);
		json_t *fm = json_object_get(f, "near_misses"), *bm = json_object_get(b, "near_misses");
		ck_assert_msg(json_array_size(bm) == json_array_size(fm), "%s: results/%zu: near misses differ",
			      where, i);
		for (size_t k = 0; k < json_array_size(fm); k++) {
			json_t *x = json_array_get(fm, k), *y = json_array_get(bm, k);
			ck_assert_msg(json_is_string(json_object_get(y, "entry")) &&
					      json_equal(json_object_get(json_object_get(x, "entry"), "id"),
							 json_object_get(y, "entry")) &&
					      json_equal(json_object_get(x, "reason"), json_object_get(y, "reason")),
				      "%s: results/%zu/near_misses/%zu: expected the entry's id and the reason", where, i,
				      k);
		}
	}
}

/* ---- lookups ---- */

/* Queries of every kind of answer: query, decision, reason. */
static const struct brief_case {
	const char *query;
	const char *decision, *reason;
} brief_cases[] = {
	{LOOKUP_Q, "allow", "listed"},
	{"code=3002901000&entity=" ENT "&date=" DAY, "deny", "excluded"},
	{"code=8471300000&entity=" ENT "&date=" DAY, "deny", "not_listed"},
	{"code=3822190090&date=" DAY, "deny", "entity_required"},
	{"code=2941100000&entity=" ENT "&date=" DAY, "deny", "expired"},
	{"code=3822190090&entity=91110000600037341L&date=" DAY, "deny", "entity_not_eligible"},
	{WL_Q "&date=" DAY, "allow", "listed"},
	{WL_Q "&date=" DAY "&customs=5101&name=" WL_NAME, "allow", "listed"},
	{WL_Q "&date=" DAY "&customs=2201", "deny", "outside_jurisdiction"},
	{WL_Q "&date=" DAY "&name=" OTHER_NAME, "deny", "item_differs"},
};

START_TEST(test_lookup_brief)
{
	const struct brief_case *c = &brief_cases[_i];
	http_response *f = http_get("/v1/lookup?%s", c->query);
	http_response *b = http_get("/v1/lookup?%s&view=brief", c->query);
	assert_status(f, 200);
	assert_status(b, 200);
	assert_json_ct(b);
	assert_jstr(b->json, "/decision", c->decision);
	assert_jstr(b->json, "/reason", c->reason);
	assert_same_decision(f->json, b->json, c->query);
	ck_assert_msg(json_is_string(jptr(b->json, "/decision_id")), "%s: no decision_id", c->query);
	/* ids for texts: shorter, and a fraction of an answer with a basis */
	ck_assert_msg(b->body_len < f->body_len, "%s: brief %zu bytes, full %zu", c->query, b->body_len,
		      f->body_len);
	if (!json_is_null(jptr(f->json, "/basis")))
		ck_assert_msg(b->body_len * 3 < f->body_len, "%s: brief %zu bytes, full %zu", c->query,
			      b->body_len, f->body_len);
	http_response_free(f);
	http_response_free(b);
}
END_TEST

/* The near misses of a denied lookup, and the client_ref, in the brief view. */
START_TEST(test_lookup_brief_members)
{
	http_response *b = http_get("/v1/lookup?%s", WL_Q "&date=" DAY "&customs=2201&view=brief&client_ref=po-7");
	assert_status(b, 200);
	assert_jnull(b->json, "/basis");
	assert_jstr(b->json, "/results/0/near_misses/0/entry", "WL-0008");
	assert_jstr(b->json, "/results/0/near_misses/0/reason", "outside_jurisdiction");
	assert_jstr(b->json, "/results/0/scope/customs/0", "01");
	assert_jstr(b->json, "/client_ref", "po-7");
	http_response_free(b);

	b = http_get("/v1/lookup?%s", WL_Q "&date=" DAY "&name=" WL_NAME "&view=brief");
	assert_status(b, 200);
	assert_jstr(b->json, "/basis/entry", "WL-0008");
	assert_jstr(b->json, "/basis/item_check/checked/0", "name");
	assert_jstr(b->json, "/basis/scope/customs/0", "51");
	http_response_free(b);

	/* view=full is the default, member for member */
	http_response *f = http_get("/v1/lookup?" LOOKUP_Q "&view=full");
	http_response *d = http_get("/v1/lookup?" LOOKUP_Q);
	assert_status(f, 200);
	assert_status(d, 200);
	json_object_del(f->json, "decision_id");
	json_object_del(d->json, "decision_id");
	ck_assert_msg(json_equal(f->json, d->json), "view=full differs from the default");
	http_response_free(f);
	http_response_free(d);
}
END_TEST

/* ---- checks ---- */

static http_response *post(const char *body)
{
	return http_request("POST", "/v1/check", NULL, body, strlen(body));
}

#define CHECK_ITEMS                                                                                     \
	"\"entity\":\"" WL_ENT "\",\"date\":\"" DAY "\",\"items\":["                                    \
	"{\"ref\":\"a\",\"code\":\"3002510000\"},"                                                      \
	"{\"ref\":\"b\",\"code\":\"3002510000\",\"customs\":\"2201\"},"                                 \
	"{\"ref\":\"c\",\"code\":\"3002510000\",\"name\":\"别的产品\"},"                                \
	"{\"ref\":\"d\",\"code\":\"3002510000\",\"name\":\"细胞治疗产品（研发用对照品）\"},"             \
	"{\"ref\":\"e\",\"code\":\"3002901000\"},"                                                      \
	"{\"ref\":\"f\",\"code\":\"8471300000\"},"                                                      \
	"{\"ref\":\"g\",\"code\":\"38221900\"},"                                                        \
	"{\"ref\":\"h\",\"code\":\"3002510000\"},"                                                      \
	"{\"ref\":\"i\",\"code\":\"12x\"}]"

START_TEST(test_check_brief)
{
	http_response *f = post("{" CHECK_ITEMS "}");
	http_response *b = post("{\"view\":\"brief\",\"client_ref\":\"po-8\"," CHECK_ITEMS "}");
	assert_status(f, 200);
	assert_status(b, 200);
	ck_assert_msg(json_equal(jptr(f->json, "/summary"), jptr(b->json, "/summary")) &&
			      json_equal(jptr(f->json, "/decision"), jptr(b->json, "/decision")),
		      "decision and summary differ from the full view's");
	assert_jstr(b->json, "/client_ref", "po-8");
	ck_assert_msg(json_is_string(jptr(b->json, "/decision_id")), "no decision_id");
	json_t *fi = jptr(f->json, "/items"), *bi = jptr(b->json, "/items");
	ck_assert_uint_eq(json_array_size(bi), 9);
	for (size_t i = 0; i < json_array_size(fi); i++) {
		json_t *x = json_array_get(fi, i), *y = json_array_get(bi, i);
		char where[32];
		snprintf(where, sizeof where, "items/%zu", i);
		ck_assert_msg(json_equal(json_object_get(x, "ref"), json_object_get(y, "ref")), "%s: ref", where);
		if (json_object_get(x, "error"))
			ck_assert_msg(json_equal(json_object_get(x, "error"), json_object_get(y, "error")),
				      "%s: the error differs", where);
		else
			assert_same_decision(x, y, where);
	}
	/* the other list allows b and c; the whitelist says why it does not */
	assert_jstr(b->json, "/items/1/results/0/reason", "outside_jurisdiction");
	assert_jstr(b->json, "/items/1/results/0/near_misses/0/entry", "WL-0008");
	assert_jstr(b->json, "/items/2/results/0/reason", "item_differs");
	assert_jstr(b->json, "/items/4/reason", "excluded");
	assert_jstr(b->json, "/items/8/error/code", "bad_item");
	ck_assert_msg(b->body_len * 3 < f->body_len, "brief %zu bytes, full %zu", b->body_len, f->body_len);
	http_response_free(f);
	http_response_free(b);
}
END_TEST

/* ---- bad values ---- */

START_TEST(test_brief_bad_view)
{
	static const char *const bad[] = {"short", "", "BRIEF", "brief%20", "full,brief"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		http_response *r = http_get("/v1/lookup?" LOOKUP_Q "&view=%s", bad[i]);
		assert_error(r, 400, "bad_parameter");
		assert_error_mentions(r, "view");
		http_response_free(r);
	}
	static const char *const bodies[] = {
		"{\"view\":\"short\",\"items\":[{\"code\":\"3822190090\"}]}",
		"{\"view\":1,\"items\":[{\"code\":\"3822190090\"}]}",
		"{\"view\":null,\"items\":[{\"code\":\"3822190090\"}]}",
		"{\"view\":\"Brief\",\"items\":[{\"code\":\"3822190090\"}]}",
	};
	for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
		http_response *r = post(bodies[i]);
		assert_error(r, 400, "bad_body");
		assert_jstr(r->json, "/error/details/0/path", "/view");
		http_response_free(r);
	}
}
END_TEST

/* ---- receipts ---- */

/* The receipt's payload, parsed, without what differs answer by answer. */
static json_t *payload_of(json_t *answer)
{
	json_t *p = json_loads(jptr_str(answer, "/receipt/payload"), 0, NULL);
	ck_assert_ptr_nonnull(p);
	json_object_del(p, "decision_id");
	json_object_del(p, "issued_at");
	return p;
}

static void assert_verifies(json_t *answer)
{
	json_t *body = json_pack("{s:O}", "receipt", jptr(answer, "/receipt"));
	char *s = json_dumps(body, JSON_COMPACT);
	http_response *v = http_request("POST", "/v1/receipts/verify", NULL, s, strlen(s));
	free(s);
	json_decref(body);
	assert_status(v, 200);
	assert_jtrue(v->json, "/valid");
	assert_jtrue(v->json, "/reproduced");
	http_response_free(v);
}

START_TEST(test_brief_receipts)
{
	static const char *const queries[] = {LOOKUP_Q, "code=3002901000&entity=" ENT "&date=" DAY,
					      WL_Q "&date=" DAY "&customs=2201"};
	for (size_t i = 0; i < 3; i++) {
		http_response *f = http_get("/v1/lookup?%s&receipt=true", queries[i]);
		http_response *b = http_get("/v1/lookup?%s&receipt=true&view=brief", queries[i]);
		assert_status(f, 200);
		assert_status(b, 200);
		ck_assert_msg(!jptr(b->json, "/query"), "%s: not a brief answer", queries[i]);
		assert_verifies(b->json);
		json_t *pf = payload_of(f->json), *pb = payload_of(b->json);
		ck_assert_msg(json_equal(pf, pb), "%s: the brief answer's receipt says otherwise than the full's",
			      queries[i]);
		json_decref(pf);
		json_decref(pb);
		http_response_free(f);
		http_response_free(b);
	}
	http_response *f = post("{\"receipt\":true," CHECK_ITEMS "}");
	http_response *b = post("{\"receipt\":true,\"view\":\"brief\"," CHECK_ITEMS "}");
	assert_status(f, 200);
	assert_status(b, 200);
	ck_assert_msg(json_is_string(jptr(b->json, "/items/0/basis/entry")), "not a brief answer");
	assert_verifies(b->json);
	json_t *pf = payload_of(f->json), *pb = payload_of(b->json);
	ck_assert_msg(json_equal(pf, pb), "the brief check's receipt says otherwise than the full check's");
	ck_assert_uint_eq(json_array_size(json_object_get(pb, "items")), 9);
	json_decref(pf);
	json_decref(pb);
	http_response_free(f);
	http_response_free(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("brief");
	TCase *tc = ht_tcase(s, "brief", setup, teardown);
	tcase_add_loop_test(tc, test_lookup_brief, 0, sizeof brief_cases / sizeof *brief_cases);
	tcase_add_test(tc, test_lookup_brief_members);
	tcase_add_test(tc, test_check_brief);
	tcase_add_test(tc, test_brief_bad_view);
	tcase_add_test(tc, test_brief_receipts);
	return ht_run(s);
}
