/* qingdan tests — Check helpers shared by the HTTP suites (http,
 * lifecycle, ops), on top of the Check-free harness. */
#ifndef QD_TEST_SUITE_H
#define QD_TEST_SUITE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

/* ---- the sample lists (schema/examples/) and a query they answer ---- */

#define GBA "gba-research-positive"
#define WL "biomed-rd-whitelist"
#define GBA_FILE "schema/examples/gba-research-positive.json"
#define WL_FILE "schema/examples/biomed-rd-whitelist.json"
/* Decisions name their date, so the sample windows stay put. */
#define DAY "2026-11-26"
/* On the positive list's roster, active, valid from 2023-03-01; PL-0001
 * (code 3822) covers CODE. */
#define ENT "91440101MA5D7R2TX1"
#define CODE "3822190090"
#define LOOKUP_Q "code=" CODE "&entity=" ENT "&date=" DAY

/* ---- assertions on answers ---- */

/* Does r carry the JSON error object ({"error": {"code" (snake_case, equal
 * to code unless NULL), "message" (non-empty), "details": [{"message",
 * "path" | "line"+"column" | "parameter"}]}}) with a JSON Content-Type?  Returns false
 * with the reason in why. */
bool ht_error_body_ok(const http_response *r, const char *code, char *why, size_t n);
/* 64 lowercase hex digits (a SHA-256). */
bool ht_is_hex64(const char *s);
/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM). */
bool ht_is_rfc3339(const char *s);

#define assert_status(r, st)                                                                    \
	ck_assert_msg((r)->status == (st), "expected HTTP %d, got %ld%s%s; body: %.800s", (int)(st), \
		      (r)->status, (r)->curl_error[0] ? " — " : "", (r)->curl_error, (r)->body)

/* Status st and the JSON error object with error.code code. */
#define assert_error(r, st, code)                                                        \
	do {                                                                             \
		const http_response *r_ = (r);                                           \
		assert_status(r_, st);                                                   \
		char why_[300];                                                          \
		ck_assert_msg(ht_error_body_ok(r_, code, why_, sizeof why_), "%s; body: %.800s", \
			      why_, r_->body);                                           \
	} while (0)

/* error.message contains the substring (case-insensitive). */
#define assert_error_mentions(r, sub)                                                          \
	do {                                                                                   \
		const char *m_ = jptr_str((r)->json, "/error/message");                        \
		ck_assert_msg(m_ && strcasestr(m_, sub), "error.message %s%s%s does not name \"%s\"", \
			      m_ ? "\"" : "", m_ ? m_ : "(none)", m_ ? "\"" : "", sub);          \
	} while (0)

#define assert_jstr(j, ptr, want)                                                                  \
	do {                                                                                       \
		const char *g_ = jptr_str(j, ptr);                                                 \
		const char *w_ = (want);                                                           \
		ck_assert_msg(g_ && strcmp(g_, w_) == 0, "%s: expected \"%s\", got %s%s%s", ptr, w_, \
			      g_ ? "\"" : "", g_ ? g_ : "(missing or not a string)", g_ ? "\"" : ""); \
	} while (0)

#define assert_jint(j, ptr, want)                                                                   \
	do {                                                                                        \
		json_t *g_ = jptr(j, ptr);                                                          \
		ck_assert_msg(json_is_integer(g_) && json_integer_value(g_) == (json_int_t)(want),  \
			      "%s: expected %lld, got %s%lld", ptr, (long long)(want),              \
			      json_is_integer(g_) ? "" : "no integer ",                             \
			      (long long)json_integer_value(g_));                                   \
	} while (0)

#define assert_jnull(j, ptr) ck_assert_msg(json_is_null(jptr(j, ptr)), "%s: expected null", ptr)

#define assert_jtrue(j, ptr) ck_assert_msg(json_is_true(jptr(j, ptr)), "%s: expected true", ptr)

#define assert_json_ct(r)                                                                      \
	do {                                                                                   \
		const char *ct_ = http_header(r, "Content-Type");                              \
		ck_assert_msg(ct_ && strncasecmp(ct_, "application/json", 16) == 0,            \
			      "Content-Type is %s, expected application/json", ct_ ? ct_ : "(none)"); \
	} while (0)

/* A file under QD_SOURCE_ROOT, as bytes or parsed; fails the test if absent. */
char *ht_sample_text(const char *file, size_t *len);
json_t *ht_sample_json(const char *file);

/* PUT the sample document file (under QD_SOURCE_ROOT) as list id. */
http_response *ht_put_sample(const char *id, const char *file, const char *token);

/* Start d with options o and load both sample lists (GBA, WL) as the
 * admin.  For unchecked fixtures, which cannot assert: on a failure it
 * says why on stderr, stops the daemon and abort()s. */
void ht_start_with_samples(harness_daemon *d, const harness_opts *o);

/* GET path; fails the test unless it answers 200 with JSON. */
http_response *ht_get_ok(const char *path);

/* PUT /v1/lists/{id}[?query] with a token and an optional extra header. */
http_response *ht_put_list(const char *id, const char *query, const char *token, const char *extra_header,
			      const char *body, size_t len);

/* Stop a fixture's daemon.  Teardowns run in the runner and cannot assert,
 * so a daemon that did not exit 0 on SIGTERM is counted and fails the
 * program at the end (ht_run). */
void ht_stop_fixture(harness_daemon *d);
extern int ht_stop_failures;

/* A test case with a 60 s timeout and an optional unchecked fixture. */
TCase *ht_tcase(Suite *s, const char *name, SFun setup, SFun teardown);

/* Run the suite with libcurl set up; returns main()'s exit status. */
int ht_run(Suite *s);

#endif
