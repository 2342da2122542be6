/* qingdan tests — Check helpers shared by the HTTP suites (http,
 * lifecycle, ops), on top of the Check-free harness. */
#ifndef QD_TEST_SUITE_H
#define QD_TEST_SUITE_H

#include <stddef.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

/* A file under QD_SOURCE_ROOT, as bytes or parsed; fails the test if absent. */
char *ht_sample_text(const char *file, size_t *len);
json_t *ht_sample_json(const char *file);

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
