/* qingdan — HTTP tests of keys and receipts: GET /v1/keys, receipts on
 * lookups and checks, POST /v1/receipts/verify, and qingdand's refusal of
 * key files it must not use.
 *
 * Daemons are children started with tests/http/harness.c in unchecked
 * fixtures; their keys are made here with the library (sign.h), so a test
 * holds the private halves and can sign receipts of its own. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "harness.h"
#include "suite.h"
#include "qingdan/err.h"
#include "qingdan/jcs.h"
#include "qingdan/receipt.h"
#include "qingdan/sign.h"
#include "qingdan/xlsx.h"

/* ---- fixtures ---- */

/* A daemon and the keys it was given. */
typedef struct signed_daemon {
	harness_daemon d;
	char dir[256];          /* the key files */
	char sign_path[300], retired_path[300];
	qd_key *sign, *retired; /* private halves, kept here */
} signed_daemon;

static void make_tmpdir(char *out, size_t n, const char *tag)
{
	const char *t = getenv("TMPDIR");
	snprintf(out, n, "%s/qd-%s-XXXXXX", t && *t ? t : "/tmp", tag);
	if (!mkdtemp(out)) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		abort();
	}
}

static void rm_rf(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (dir[0] && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static qd_key *new_key(enum qd_alg alg, const char *path)
{
	qd_key *k = NULL;
	if (qd_key_generate(alg, &k) || (path && qd_key_write_private(k, path))) {
		fprintf(stderr, "cannot make a key at %s\n", path ? path : "(memory)");
		abort();
	}
	return k;
}

/* Write k's public PEM to path. */
static void write_public(const qd_key *k, const char *path)
{
	qd_buf pem;
	qd_buf_init(&pem);
	FILE *f = fopen(path, "w");
	if (qd_key_public_pem(k, &pem) || !f || fwrite(pem.data, 1, pem.len, f) != pem.len || fclose(f)) {
		fprintf(stderr, "cannot write %s\n", path);
		abort();
	}
	qd_buf_free(&pem);
}

static void put_sample(const char *id, const char *file)
{
	size_t len;
	char *s = ht_sample_text(file, &len);
	http_response *r = ht_put_list(id, NULL, HARNESS_ADMIN_TOKEN, NULL, s, len);
	free(s);
	if (r->status != 201 && r->status != 200) {
		fprintf(stderr, "loading %s: HTTP %ld: %s\n", id, r->status, r->body);
		abort();
	}
	http_response_free(r);
}

/* Start a daemon signing with alg, a retired key of the other algorithm,
 * both sample lists loaded; extra more daemon arguments (NULL-terminated
 * after the key options). */
static void start_signed(signed_daemon *sd, enum qd_alg alg, const char *retain)
{
	make_tmpdir(sd->dir, sizeof sd->dir, "keys");
	snprintf(sd->sign_path, sizeof sd->sign_path, "%s/sign.pem", sd->dir);
	snprintf(sd->retired_path, sizeof sd->retired_path, "%s/retired.pem", sd->dir);
	sd->sign = new_key(alg, sd->sign_path);
	sd->retired = new_key(alg == QD_ALG_SM2 ? QD_ALG_ED25519 : QD_ALG_SM2, NULL);
	write_public(sd->retired, sd->retired_path);
	const char *args[] = {"--signing-key", sd->sign_path, "--verify-keys", sd->retired_path,
			      "--retain-versions", retain, NULL};
	harness_opts o = {.tokens = true, .extra_args = args};
	char err[512];
	if (!harness_start(&sd->d, &o, err, sizeof err)) {
		fprintf(stderr, "cannot start qingdand: %s\n", err);
		abort();
	}
	put_sample(GBA, GBA_FILE);
	put_sample(WL, WL_FILE);
}

static void stop_signed(signed_daemon *sd)
{
	ht_stop_fixture(&sd->d);
	qd_key_free(sd->sign);
	qd_key_free(sd->retired);
	sd->sign = sd->retired = NULL;
	rm_rf(sd->dir);
}

static signed_daemon g_ed, g_sm2, g_prune, g_feed;
static harness_daemon g_plain;

static void setup_ed(void) { start_signed(&g_ed, QD_ALG_ED25519, "50"); }
static void teardown_ed(void) { stop_signed(&g_ed); }
static void setup_sm2(void) { start_signed(&g_sm2, QD_ALG_SM2, "50"); }
static void teardown_sm2(void) { stop_signed(&g_sm2); }
static void setup_prune(void) { start_signed(&g_prune, QD_ALG_ED25519, "2"); }
static void teardown_prune(void) { stop_signed(&g_prune); }
static void setup_feed(void) { start_signed(&g_feed, QD_ALG_SM2, "50"); }
static void teardown_feed(void) { stop_signed(&g_feed); }

static void setup_plain(void)
{
	harness_opts o = {.tokens = true};
	char err[512];
	if (!harness_start(&g_plain, &o, err, sizeof err)) {
		fprintf(stderr, "cannot start qingdand: %s\n", err);
		abort();
	}
	put_sample(GBA, GBA_FILE);
}

static void teardown_plain(void) { ht_stop_fixture(&g_plain); }

/* ---- helpers ---- */

/* The payload of the answer's receipt, parsed; fails unless it is the
 * JCS text of itself. */
static json_t *payload_of(json_t *answer)
{
	const char *p = jptr_str(answer, "/receipt/payload");
	ck_assert_msg(p != NULL, "no receipt.payload in the answer");
	json_t *j = json_loads(p, JSON_REJECT_DUPLICATES, NULL);
	ck_assert_msg(j != NULL, "receipt.payload is not JSON: %s", p);
	qd_buf canon;
	qd_buf_init(&canon);
	ck_assert_int_eq(qd_jcs_dump(j, &canon), 0);
	ck_assert_msg(strcmp(qd_buf_cstr(&canon), p) == 0, "payload is not canonical JSON:\n%s\n%s", p,
		      qd_buf_cstr(&canon));
	qd_buf_free(&canon);
	return j;
}

/* POST /v1/receipts/verify {"receipt": r}. */
static http_response *verify(json_t *r)
{
	json_t *body = json_pack("{s:O}", "receipt", r);
	char *s = json_dumps(body, JSON_COMPACT);
	http_response *resp = http_request("POST", "/v1/receipts/verify", NULL, s, strlen(s));
	free(s);
	json_decref(body);
	return resp;
}

static http_response *verify_text(const char *body)
{
	return http_request("POST", "/v1/receipts/verify", NULL, body, strlen(body));
}

/* A receipt with payload signed by k, as the daemon would write it. */
static json_t *resign(const qd_key *k, const char *payload)
{
	qd_buf b;
	qd_buf_init(&b);
	ck_assert_int_eq(qd_receipt_sign(k, payload, strlen(payload), &b), 0);
	json_t *j = json_loads(qd_buf_cstr(&b), 0, NULL);
	ck_assert_ptr_nonnull(j);
	qd_buf_free(&b);
	return j;
}

/* A receipt of the canonical JSON of payload, signed by k. */
static json_t *resign_tree(const qd_key *k, const json_t *payload)
{
	qd_buf canon;
	qd_buf_init(&canon);
	ck_assert_int_eq(qd_jcs_dump(payload, &canon), 0);
	json_t *t = resign(k, qd_buf_cstr(&canon));
	qd_buf_free(&canon);
	return t;
}

/* The receipt of a fresh lookup (a new reference). */
static json_t *lookup_receipt(const char *query)
{
	http_response *r = http_get("/v1/lookup?%s&receipt=true", query);
	assert_status(r, 200);
	json_t *rc = json_incref(jptr(r->json, "/receipt"));
	ck_assert_ptr_nonnull(rc);
	http_response_free(r);
	return rc;
}

static void assert_verified(json_t *receipt, bool valid, const char *kid, const char *reproduced)
{
	http_response *v = verify(receipt);
	assert_status(v, 200);
	assert_json_ct(v);
	ck_assert_msg(json_is_boolean(jptr(v->json, "/valid")) && json_is_true(jptr(v->json, "/valid")) == valid,
		      "valid: expected %d: %s", valid, v->body);
	assert_jstr(v->json, "/kid", kid);
	json_t *rep = jptr(v->json, "/reproduced");
	if (!reproduced)
		ck_assert_msg(json_is_null(rep), "reproduced: expected null: %s", v->body);
	else
		ck_assert_msg(json_is_boolean(rep) && json_is_true(rep) == (strcmp(reproduced, "true") == 0),
			      "reproduced: expected %s: %s", reproduced, v->body);
	if (!valid || !reproduced || strcmp(reproduced, "true") != 0)
		ck_assert_msg(json_string_length(jptr(v->json, "/reason")) > 0, "no reason given: %s", v->body);
	http_response_free(v);
}

/* ---- keys ---- */

static void check_keys(signed_daemon *sd)
{
	harness_use(&sd->d);
	http_response *r = http_get("/v1/keys");
	assert_status(r, 200);
	json_t *keys = jptr(r->json, "/keys");
	ck_assert_uint_eq(json_array_size(keys), 2);
	const qd_key *want[] = {sd->sign, sd->retired};
	for (size_t i = 0; i < 2; i++) {
		json_t *k = json_array_get(keys, i);
		assert_jstr(k, "/kid", qd_key_kid(want[i]));
		assert_jstr(k, "/alg", qd_key_alg(want[i]));
		ck_assert(json_is_true(json_object_get(k, "current")) == (i == 0));
		const char *pem = jptr_str(k, "/public_key");
		ck_assert_ptr_nonnull(pem);
		ck_assert_ptr_null(strstr(pem, "PRIVATE"));
		qd_key *pub = NULL;
		ck_assert_int_eq(qd_key_load_public_pem(pem, strlen(pem), &pub), 0);
		ck_assert_str_eq(qd_key_kid(pub), qd_key_kid(want[i]));
		qd_key_free(pub);
	}
	http_response_free(r);
}

START_TEST(keys_listed_ed25519)
{
	check_keys(&g_ed);
}
END_TEST

START_TEST(keys_listed_sm2)
{
	check_keys(&g_sm2);
}
END_TEST

/* ---- lookups ---- */

static void check_lookup_receipt(signed_daemon *sd)
{
	harness_use(&sd->d);
	http_response *r = http_get("/v1/lookup?" LOOKUP_Q "&client_ref=DEC-2026/000123&receipt=true");
	assert_status(r, 200);
	assert_jstr(r->json, "/receipt/alg", qd_key_alg(sd->sign));
	assert_jstr(r->json, "/receipt/kid", qd_key_kid(sd->sign));
	json_t *p = payload_of(r->json);
	assert_jstr(p, "/kind", "lookup");
	assert_jstr(p, "/decision_id", jptr_str(r->json, "/decision_id"));
	assert_jstr(p, "/client_ref", "DEC-2026/000123");
	ck_assert(ht_is_rfc3339(jptr_str(p, "/issued_at")));
	assert_jstr(p, "/decision", jptr_str(r->json, "/decision"));
	assert_jstr(p, "/reason", jptr_str(r->json, "/reason"));
	assert_jstr(p, "/query/code", CODE);
	assert_jstr(p, "/query/entity", ENT);
	assert_jstr(p, "/query/date", DAY);
	assert_jstr(p, "/basis/list", GBA);
	assert_jstr(p, "/basis/entry", jptr_str(r->json, "/basis/entry/id"));
	assert_jint(p, "/basis/version", 1);
	json_t *clauses = jptr(r->json, "/basis/clauses");
	ck_assert_uint_eq(json_array_size(jptr(p, "/basis/clauses")), json_array_size(clauses));
	ck_assert_uint_gt(json_array_size(clauses), 0);
	assert_jstr(p, "/basis/clauses/0", jptr_str(clauses, "/0/id"));
	/* Every consulted list, with the sha256 GET /v1/lists gives. */
	http_response *lists = http_get("/v1/lists");
	assert_status(lists, 200);
	json_t *pl = jptr(p, "/lists");
	ck_assert_uint_eq(json_array_size(pl), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *l = json_array_get(pl, i), *ll;
		size_t j;
		bool found = false;
		json_array_foreach(jptr(lists->json, "/lists"), j, ll) {
			if (strcmp(json_string_value(json_object_get(ll, "id")), jptr_str(l, "/list")) == 0) {
				assert_jstr(l, "/sha256", jptr_str(ll, "/sha256"));
				assert_jint(l, "/version", json_integer_value(json_object_get(ll, "version")));
				found = true;
			}
		}
		ck_assert_msg(found, "payload names list %s", jptr_str(l, "/list"));
	}
	http_response_free(lists);

	/* The signature holds over the payload's bytes with the public key. */
	const char *payload = jptr_str(r->json, "/receipt/payload"), *sig = jptr_str(r->json, "/receipt/sig");
	ck_assert_int_eq(qd_verify(sd->sign, payload, strlen(payload), sig, strlen(sig)), 0);
	ck_assert_int_eq(qd_verify(sd->retired, payload, strlen(payload), sig, strlen(sig)), QD_EBADSIG);

	assert_verified(jptr(r->json, "/receipt"), true, qd_key_kid(sd->sign), "true");
	json_decref(p);
	http_response_free(r);

	/* Without receipt=true (or with false) there is none. */
	r = http_get("/v1/lookup?" LOOKUP_Q);
	assert_status(r, 200);
	ck_assert_ptr_null(jptr(r->json, "/receipt"));
	http_response_free(r);
	r = http_get("/v1/lookup?" LOOKUP_Q "&receipt=false");
	assert_status(r, 200);
	ck_assert_ptr_null(jptr(r->json, "/receipt"));
	http_response_free(r);
}

START_TEST(lookup_receipt_ed25519)
{
	check_lookup_receipt(&g_ed);
}
END_TEST

START_TEST(lookup_receipt_sm2)
{
	check_lookup_receipt(&g_sm2);
}
END_TEST

/* A deny, for an earlier version (version=) and without entity: signed
 * and reproduced as well. */
START_TEST(lookup_receipt_deny_and_version)
{
	harness_use(&g_ed.d);
	json_t *rc = lookup_receipt("code=0101210010&date=" DAY);
	json_t *p = json_loads(jptr_str(rc, "/payload"), 0, NULL);
	assert_jstr(p, "/decision", "deny");
	assert_jnull(p, "/basis");
	assert_jnull(p, "/client_ref");
	assert_jnull(p, "/query/entity");
	assert_verified(rc, true, qd_key_kid(g_ed.sign), "true");
	json_decref(p);
	json_decref(rc);
	rc = lookup_receipt(LOOKUP_Q "&list=" GBA "&version=1");
	p = json_loads(jptr_str(rc, "/payload"), 0, NULL);
	ck_assert_uint_eq(json_array_size(jptr(p, "/lists")), 1);
	assert_jstr(p, "/lists/0/list", GBA);
	assert_verified(rc, true, qd_key_kid(g_ed.sign), "true");
	json_decref(p);
	json_decref(rc);
}
END_TEST

/* The office of declaration and the declared goods are part of the
 * query: a receipt for an answer that depends on them reproduces with
 * them (outside_jurisdiction, item_differs, and an allow). */
START_TEST(lookup_receipt_customs_and_goods)
{
	harness_use(&g_ed.d);
	static const char *const qs[] = {
		"code=3002150000&entity=91310115MA1K8N6D88&date=" DAY "&customs=5201",
		"code=3002150000&entity=91310115MA1K8N6D88&date=" DAY "&customs=2201&name=%E5%8D%95%E6%8A%97",
		"code=3002150000&entity=91310115MA1K8N6D88&date=" DAY
		"&customs=2201&name=%E5%8D%95%E5%85%8B%E9%9A%86%E6%8A%97%E4%BD%93%E6%B3%A8%E5%B0%84%E6%B6%B2%28%E7%A0%94%E5%8F%91%E7%94%A8%29",
	};
	static const char *const reasons[] = {"outside_jurisdiction", "item_differs", "listed"};
	for (size_t i = 0; i < 3; i++) {
		json_t *rc = lookup_receipt(qs[i]);
		json_t *p = json_loads(jptr_str(rc, "/payload"), 0, NULL);
		assert_jstr(p, "/reason", reasons[i]);
		assert_jstr(p, "/query/customs", i ? "2201" : "5201");
		assert_verified(rc, true, qd_key_kid(g_ed.sign), "true");
		json_decref(p);
		json_decref(rc);
	}
}
END_TEST

START_TEST(lookup_receipt_bad_param)
{
	harness_use(&g_ed.d);
	static const char *bad[] = {"yes", "1", "TRUE", "", "true%20"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		http_response *r = http_get("/v1/lookup?" LOOKUP_Q "&receipt=%s", bad[i]);
		assert_error(r, 400, "bad_parameter");
		assert_error_mentions(r, "receipt");
		assert_jstr(r->json, "/error/details/0/parameter", "receipt");
		http_response_free(r);
	}
	http_response *r = http_get("/v1/lookup?" LOOKUP_Q "&receipt=true&receipt=true");
	assert_error(r, 400, "repeated_parameter");
	http_response_free(r);
}
END_TEST

/* ---- checks ---- */

static const char check_body[] =
	"{\"entity\":\"" ENT "\",\"date\":\"" DAY "\",\"client_ref\":\"MSG-7\",\"receipt\":true,"
	"\"items\":[{\"ref\":\"line-1\",\"code\":\"" CODE "\"},{\"ref\":2,\"code\":\"0101210010\"},"
	"{\"ref\":\"bad\",\"code\":\"12x\"},{\"code\":\"" CODE "\"}]}";

START_TEST(check_receipt)
{
	harness_use(&g_sm2.d);
	http_response *r = http_request("POST", "/v1/check", NULL, check_body, strlen(check_body));
	assert_status(r, 200);
	json_t *p = payload_of(r->json);
	assert_jstr(p, "/kind", "check");
	assert_jstr(p, "/decision_id", jptr_str(r->json, "/decision_id"));
	assert_jstr(p, "/client_ref", "MSG-7");
	assert_jstr(p, "/decision", "deny");
	assert_jstr(p, "/query/entity", ENT);
	assert_jstr(p, "/query/date", DAY);
	ck_assert_uint_eq(json_array_size(jptr(p, "/lists")), 2);
	json_t *items = jptr(p, "/items");
	ck_assert_uint_eq(json_array_size(items), 4);
	assert_jstr(p, "/items/0/ref", "line-1");
	assert_jstr(p, "/items/0/code", CODE);
	assert_jstr(p, "/items/0/decision", "allow");
	assert_jstr(p, "/items/0/reason", "listed");
	assert_jstr(p, "/items/0/list", GBA);
	assert_jint(p, "/items/0/version", 1);
	assert_jstr(p, "/items/0/entry", jptr_str(r->json, "/items/0/basis/entry/id"));
	assert_jint(p, "/items/1/ref", 2);
	assert_jstr(p, "/items/1/decision", "deny");
	assert_jnull(p, "/items/1/entry");
	assert_jnull(p, "/items/1/list");
	assert_jstr(p, "/items/2/ref", "bad");
	assert_jstr(p, "/items/2/error", "bad_item");
	assert_jnull(p, "/items/3/ref");
	assert_jstr(p, "/items/3/decision", "allow");
	assert_verified(jptr(r->json, "/receipt"), true, qd_key_kid(g_sm2.sign), "true");
	json_decref(p);
	http_response_free(r);

	/* receipt must be a boolean; false gives none. */
	const char *bad = "{\"receipt\":\"true\",\"items\":[{\"code\":\"" CODE "\"}]}";
	r = http_request("POST", "/v1/check", NULL, bad, strlen(bad));
	assert_error(r, 400, "bad_body");
	assert_jstr(r->json, "/error/details/0/path", "/receipt");
	http_response_free(r);
	const char *off = "{\"receipt\":false,\"items\":[{\"code\":\"" CODE "\"}]}";
	r = http_request("POST", "/v1/check", NULL, off, strlen(off));
	assert_status(r, 200);
	ck_assert_ptr_null(jptr(r->json, "/receipt"));
	http_response_free(r);
}
END_TEST

/* ---- verification ---- */

START_TEST(verify_refuses_tampering)
{
	harness_use(&g_ed.d);
	json_t *rc = lookup_receipt(LOOKUP_Q);
	const char *kid = qd_key_kid(g_ed.sign);

	/* The payload changed by one word: the signature no longer holds, and
	 * nothing is decided again. */
	json_t *t = json_deep_copy(rc);
	char *p = strdup(jptr_str(rc, "/payload"));
	char *at = strstr(p, "\"allow\"");
	ck_assert_ptr_nonnull(at);
	memcpy(at, "\"alloW\"", 7);
	json_object_set_new(t, "payload", json_string(p));
	assert_verified(t, false, kid, NULL);
	json_decref(t);

	/* Another key's kid: unknown. */
	t = json_deep_copy(rc);
	json_object_set_new(t, "kid", json_string("0123456789abcdef"));
	assert_verified(t, false, "0123456789abcdef", NULL);
	json_decref(t);

	/* The right kid with the other algorithm's name. */
	t = json_deep_copy(rc);
	json_object_set_new(t, "alg", json_string("sm2"));
	assert_verified(t, false, kid, NULL);
	json_decref(t);

	/* Signed by a key the daemon does not know, under the daemon's kid. */
	qd_key *stranger = new_key(QD_ALG_ED25519, NULL);
	t = resign(stranger, jptr_str(rc, "/payload"));
	json_object_set_new(t, "kid", json_string(kid));
	assert_verified(t, false, kid, NULL);
	json_decref(t);
	qd_key_free(stranger);
	free(p);
	json_decref(rc);
}
END_TEST

/* A retired key still verifies; a payload whose decision differs from
 * what the versions say is valid but not reproduced. */
START_TEST(verify_retired_key_and_reproduction)
{
	harness_use(&g_ed.d);
	json_t *rc = lookup_receipt(LOOKUP_Q);
	const char *payload = jptr_str(rc, "/payload");
	json_t *t = resign(g_ed.retired, payload);
	assert_verified(t, true, qd_key_kid(g_ed.retired), "true");
	json_decref(t);

	json_t *p = json_loads(payload, 0, NULL);
	json_object_set_new(p, "decision", json_string("deny"));
	json_object_set_new(p, "reason", json_string("not_listed"));
	t = resign_tree(g_ed.retired, p);
	assert_verified(t, true, qd_key_kid(g_ed.retired), "false");
	json_decref(t);

	/* A version this store never had: not reproduced. */
	json_object_set_new(json_array_get(json_object_get(p, "lists"), 0), "version", json_integer(7));
	t = resign_tree(g_ed.retired, p);
	assert_verified(t, true, qd_key_kid(g_ed.retired), "false");
	json_decref(t);

	/* A signed payload that is no receipt payload: 422 naming it. */
	t = resign(g_ed.retired, "{\"hello\":1}");
	http_response *v = verify(t);
	assert_error(v, 422, "invalid_receipt");
	assert_jstr(v->json, "/error/details/0/path", "/receipt/payload");
	http_response_free(v);
	json_decref(t);
	json_decref(p);
	json_decref(rc);
}
END_TEST

START_TEST(verify_bad_bodies)
{
	harness_use(&g_ed.d);
	json_t *rc = lookup_receipt(LOOKUP_Q);
	static const char *members[] = {"payload", "alg", "kid", "sig"};
	for (size_t i = 0; i < 4; i++) {
		json_t *t = json_deep_copy(rc);
		json_object_del(t, members[i]);
		http_response *v = verify(t);
		assert_error(v, 400, "bad_body");
		char path[40];
		snprintf(path, sizeof path, "/receipt/%s", members[i]);
		assert_jstr(v->json, "/error/details/0/path", path);
		assert_error_mentions(v, members[i]);
		http_response_free(v);
		json_object_set_new(t, members[i], json_integer(5));
		v = verify(t);
		assert_error(v, 400, "bad_body");
		assert_jstr(v->json, "/error/details/0/path", path);
		http_response_free(v);
		json_decref(t);
	}
	static const char *sigs[] = {"abc", "not base64!", "QUJD\n", "QU=J"};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		json_t *t = json_deep_copy(rc);
		json_object_set_new(t, "sig", json_string(sigs[i]));
		http_response *v = verify(t);
		assert_error(v, 400, "bad_body");
		assert_jstr(v->json, "/error/details/0/path", "/receipt/sig");
		assert_error_mentions(v, "base64");
		http_response_free(v);
		json_decref(t);
	}
	static const char *bodies[] = {"[]", "{}", "{\"receipt\":[]}", "{\"receipt\":\"x\"}", "{\"receipt\":{},\"x\":1}"};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		http_response *v = verify_text(bodies[i]);
		assert_error(v, 400, "bad_body");
		http_response_free(v);
	}
	http_response *v = verify_text("{\"receipt\":");
	assert_error(v, 400, "bad_json");
	http_response_free(v);
	v = http_request("POST", "/v1/receipts/verify?x=1", NULL, "{}", 2);
	assert_error(v, 400, "unknown_parameter");
	http_response_free(v);
	json_decref(rc);
}
END_TEST

/* A receipt for a version pruned since: the signature holds, the answer
 * cannot be reproduced (null, with the reason). */
START_TEST(verify_pruned_version)
{
	harness_use(&g_prune.d);
	json_t *rc = lookup_receipt(LOOKUP_Q);
	assert_verified(rc, true, qd_key_kid(g_prune.sign), "true");
	/* Two more versions with --retain-versions 2: version 1 is pruned. */
	put_sample(GBA, GBA_FILE);
	put_sample(GBA, GBA_FILE);
	http_response *v = verify(rc);
	assert_status(v, 200);
	assert_jtrue(v->json, "/valid");
	assert_jnull(v->json, "/reproduced");
	const char *why = jptr_str(v->json, "/reason");
	ck_assert_msg(why && strstr(why, "no longer retained"), "reason: %s", v->body);
	http_response_free(v);
	/* A new receipt names the new version and is reproduced. */
	json_decref(rc);
	rc = lookup_receipt(LOOKUP_Q);
	json_t *p = json_loads(jptr_str(rc, "/payload"), 0, NULL);
	assert_jint(p, "/basis/version", 3);
	assert_verified(rc, true, qd_key_kid(g_prune.sign), "true");
	json_decref(p);
	json_decref(rc);
}
END_TEST

/* ---- without a signing key ---- */

START_TEST(unsigned_daemon_refuses_receipts)
{
	harness_use(&g_plain);
	http_response *r = http_get("/v1/lookup?" LOOKUP_Q "&receipt=true");
	assert_error(r, 409, "signing_disabled");
	assert_error_mentions(r, "--signing-key");
	http_response_free(r);
	const char *body = "{\"receipt\":true,\"items\":[{\"code\":\"" CODE "\"}]}";
	r = http_request("POST", "/v1/check", NULL, body, strlen(body));
	assert_error(r, 409, "signing_disabled");
	http_response_free(r);
	/* The bad value is still the first thing said. */
	r = http_get("/v1/lookup?" LOOKUP_Q "&receipt=maybe");
	assert_error(r, 400, "bad_parameter");
	http_response_free(r);
	r = http_get("/v1/keys");
	assert_status(r, 200);
	ck_assert_uint_eq(json_array_size(jptr(r->json, "/keys")), 0);
	http_response_free(r);
	/* Nothing verifies without keys; still an answer, not an error. */
	qd_key *k = new_key(QD_ALG_SM2, NULL);
	json_t *t = resign(k, "{\"kind\":\"lookup\"}");
	assert_verified(t, false, qd_key_kid(k), NULL);
	json_decref(t);
	qd_key_free(k);
}
END_TEST

/* ---- start-up refusals ---- */

/* ---- signed feed records of an xlsx import and of an approval ---- */

/* The canonical JSON of a feed record without its sig (a new string). */
static char *record_canon(json_t *rec)
{
	json_t *copy = json_deep_copy(rec);
	json_object_del(copy, "sig");
	qd_buf b;
	qd_buf_init(&b);
	ck_assert_int_eq(qd_jcs_dump(copy, &b), 0);
	json_decref(copy);
	return qd_buf_steal(&b, NULL);
}

/* The feed's newest record, checked as anyone could: its prev is the
 * sha256 of the record before, and its sig verifies, over its canonical
 * bytes, with the public key GET /v1/keys lists under its kid (and not
 * over bytes changed by one).  Returns the record (a new reference). */
static json_t *newest_record_verified(const signed_daemon *sd)
{
	http_response *r = ht_get_ok("/v1/feed?limit=1000");
	json_t *recs = jptr(r->json, "/records");
	size_t n = json_array_size(recs);
	ck_assert_uint_ge(n, 2);
	assert_jint(r->json, "/head", (long)n);
	json_t *rec = json_incref(json_array_get(recs, n - 1));
	char *before = record_canon(json_array_get(recs, n - 2)), hash[QD_SHA256_HEX];
	qd_sha256_hex(before, strlen(before), hash);
	assert_jstr(rec, "/prev", hash);
	assert_jint(rec, "/seq", (long)n);
	free(before);
	http_response_free(r);

	const char *kid = jptr_str(rec, "/sig/kid"), *sig = jptr_str(rec, "/sig/value");
	ck_assert_msg(kid && sig, "record %zu is not signed", n);
	assert_jstr(rec, "/sig/alg", qd_key_alg(sd->sign));
	ck_assert_str_eq(kid, qd_key_kid(sd->sign));
	http_response *k = http_get("/v1/keys");
	assert_status(k, 200);
	const char *pem = NULL;
	json_t *keys = jptr(k->json, "/keys");
	for (size_t i = 0; i < json_array_size(keys); i++)
		if (strcmp(jptr_str(json_array_get(keys, i), "/kid"), kid) == 0)
			pem = jptr_str(json_array_get(keys, i), "/public_key");
	ck_assert_msg(pem != NULL, "/v1/keys has no key %s", kid);
	qd_key *pub = NULL;
	ck_assert_int_eq(qd_key_load_public_pem(pem, strlen(pem), &pub), 0);
	char *msg = record_canon(rec);
	size_t len = strlen(msg);
	ck_assert_int_eq(qd_verify(pub, msg, len, sig, strlen(sig)), 0);
	msg[len / 2] ^= 1;
	ck_assert_int_eq(qd_verify(pub, msg, len, sig, strlen(sig)), QD_EBADSIG);
	free(msg);
	qd_key_free(pub);
	http_response_free(k);
	return rec;
}

/* A workbook PUT is an import: its record names it, with the version,
 * sha256 and entries the PUT answered and the admin who sent it. */
START_TEST(feed_xlsx_import_signed)
{
	harness_use(&g_feed.d);
	http_response *wb = http_get("/v1/lists/" GBA "/versions/1?format=xlsx");
	assert_status(wb, 200);
	char auth[128];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", HARNESS_ADMIN_TOKEN);
	const char *hs[] = {auth, "Content-Type: " QD_XLSX_TYPE, NULL};
	http_response *r = http_request("PUT", "/v1/lists/" GBA, hs, wb->body, wb->body_len);
	assert_status(r, 200);
	assert_jstr(r->json, "/action", "import");

	json_t *rec = newest_record_verified(&g_feed);
	assert_jstr(rec, "/action", "import");
	assert_jstr(rec, "/list", GBA);
	assert_jint(rec, "/version", (long)json_integer_value(jptr(r->json, "/version")));
	assert_jstr(rec, "/sha256", jptr_str(r->json, "/sha256"));
	assert_jint(rec, "/entries", (long)json_integer_value(jptr(r->json, "/entries")));
	assert_jstr(rec, "/actor", HARNESS_ADMIN_NAME);
	assert_jstr(rec, "/effective_at", jptr_str(rec, "/committed_at"));
	json_decref(rec);
	http_response_free(r);
	http_response_free(wb);
}
END_TEST

/* A proposal writes no record; its approval writes one, action approve,
 * with the version approved, its sha256 and the approver as actor. */
START_TEST(feed_approval_signed)
{
	harness_use(&g_feed.d);
	http_response *h = ht_get_ok("/v1/feed?limit=1000");
	json_int_t head = json_integer_value(jptr(h->json, "/head"));
	http_response_free(h);
	http_response *v1 = ht_get_ok("/v1/lists/" WL);
	assert_jint(v1->json, "/version", 1);
	const char *sha1 = jptr_str(v1->json, "/sha256");
	ck_assert_ptr_nonnull(sha1);

	http_response *p = http_request_auth("POST", "/v1/lists/" WL "/rollback?propose=true", HARNESS_ADMIN_TOKEN,
					     "Content-Type: application/json", "{\"version\":1}", 13);
	assert_status(p, 202);
	long id = (long)json_integer_value(jptr(p->json, "/proposal"));
	h = ht_get_ok("/v1/feed?limit=1000");
	assert_jint(h->json, "/head", (long)head);
	http_response_free(h);

	char path[64];
	snprintf(path, sizeof path, "/v1/proposals/%ld/approve", id);
	http_response *a = http_request_auth("POST", path, HARNESS_ADMIN2_TOKEN, NULL, NULL, 0);
	assert_status(a, 200);
	assert_jstr(a->json, "/state", "approved");

	json_t *rec = newest_record_verified(&g_feed);
	assert_jint(rec, "/seq", (long)head + 1);
	assert_jstr(rec, "/action", "approve");
	assert_jstr(rec, "/list", WL);
	assert_jint(rec, "/version", (long)json_integer_value(jptr(a->json, "/version")));
	assert_jstr(rec, "/sha256", sha1);
	assert_jstr(rec, "/actor", HARNESS_ADMIN2_NAME);
	http_response *l = ht_get_ok("/v1/lists/" WL);
	assert_jint(rec, "/version", (long)json_integer_value(jptr(l->json, "/version")));
	assert_jstr(l->json, "/sha256", sha1);
	http_response_free(l);
	json_decref(rec);
	http_response_free(a);
	http_response_free(p);
	http_response_free(v1);
}
END_TEST

START_TEST(start_refuses_bad_key_files)
{
	char dir[256];
	make_tmpdir(dir, sizeof dir, "badkeys");
	char key[300], junk[300], missing[300], db[300], pub[300];
	snprintf(key, sizeof key, "%s/sign.pem", dir);
	snprintf(junk, sizeof junk, "%s/junk.pem", dir);
	snprintf(missing, sizeof missing, "%s/missing.pem", dir);
	snprintf(pub, sizeof pub, "%s/pub.pem", dir);
	snprintf(db, sizeof db, "%s/db", dir);
	qd_key *k = new_key(QD_ALG_SM2, key);
	write_public(k, pub);
	FILE *f = fopen(junk, "w");
	ck_assert_ptr_nonnull(f);
	fputs("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(junk, 0600), 0);
	ck_assert_int_eq(chmod(pub, 0600), 0);
	struct {
		const char *opt, *path;
		mode_t mode;  /* of key; 0: leave */
		const char *says;
	} cases[] = {
		{"--signing-key", key, 0640, "chmod go-rwx"},
		{"--signing-key", key, 0604, "open to others"},
		{"--signing-key", junk, 0, "no Ed25519 or SM2 private key"},
		{"--signing-key", pub, 0, "no Ed25519 or SM2 private key"},
		{"--signing-key", missing, 0, "cannot read"},
		{"--verify-keys", junk, 0, "verify-keys"},
		{"--verify-keys", missing, 0, "cannot read"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ck_assert_int_eq(chmod(key, cases[i].mode ? cases[i].mode : 0600), 0);
		for (int check = 0; check < 2; check++) {
			const char *args[] = {"--db", db, "--listen", "127.0.0.1:1", cases[i].opt, cases[i].path,
					      check ? "--check-config" : NULL, NULL};
			char *out = NULL, *err = NULL;
			int rc = harness_run_daemon(args, 10000, &out, &err);
			ck_assert_msg(rc == 2, "%s %s (mode %o)%s: exit %d, expected 2: %s", cases[i].opt, cases[i].path,
				      (unsigned)cases[i].mode, check ? " --check-config" : "", rc, err ? err : "");
			ck_assert_msg(err && strstr(err, cases[i].says), "%s %s: stderr lacks \"%s\": %s", cases[i].opt,
				      cases[i].path, cases[i].says, err ? err : "");
			free(out);
			free(err);
		}
	}
	/* The same key at mode 0600 is accepted. */
	ck_assert_int_eq(chmod(key, 0600), 0);
	const char *ok[] = {"--db", db, "--listen", "127.0.0.1:1", "--signing-key", key, "--verify-keys", pub,
			    "--check-config", NULL};
	char *out = NULL, *err = NULL;
	int rc = harness_run_daemon(ok, 10000, &out, &err);
	ck_assert_msg(rc == 0, "good keys: exit %d: %s", rc, err ? err : "");
	free(out);
	free(err);
	qd_key_free(k);
	rm_rf(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("receipts");
	TCase *tc = ht_tcase(s, "ed25519", setup_ed, teardown_ed);
	tcase_add_test(tc, keys_listed_ed25519);
	tcase_add_test(tc, lookup_receipt_ed25519);
	tcase_add_test(tc, lookup_receipt_deny_and_version);
	tcase_add_test(tc, lookup_receipt_customs_and_goods);
	tcase_add_test(tc, lookup_receipt_bad_param);
	tcase_add_test(tc, verify_refuses_tampering);
	tcase_add_test(tc, verify_retired_key_and_reproduction);
	tcase_add_test(tc, verify_bad_bodies);
	tc = ht_tcase(s, "sm2", setup_sm2, teardown_sm2);
	tcase_add_test(tc, keys_listed_sm2);
	tcase_add_test(tc, lookup_receipt_sm2);
	tcase_add_test(tc, check_receipt);
	tc = ht_tcase(s, "pruned", setup_prune, teardown_prune);
	tcase_add_test(tc, verify_pruned_version);
	tc = ht_tcase(s, "feed", setup_feed, teardown_feed);
	tcase_add_test(tc, feed_xlsx_import_signed);
	tcase_add_test(tc, feed_approval_signed);
	tc = ht_tcase(s, "unsigned", setup_plain, teardown_plain);
	tcase_add_test(tc, unsigned_daemon_refuses_receipts);
	tc = ht_tcase(s, "startup", NULL, NULL);
	tcase_add_test(tc, start_refuses_bad_key_files);
	return ht_run(s);
}
