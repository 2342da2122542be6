/* qingdan tests — Check helpers shared by the HTTP suites. */
#include <stdio.h>

#include <curl/curl.h>

#include "suite.h"

int ht_stop_failures;

char *ht_sample_text(const char *file, size_t *len)
{
	char *s = harness_read_source(file, len);
	ck_assert_msg(s != NULL, "cannot read %s under QD_SOURCE_ROOT", file);
	return s;
}

json_t *ht_sample_json(const char *file)
{
	json_t *j = harness_load_json(file);
	ck_assert_msg(j != NULL, "cannot parse %s under QD_SOURCE_ROOT", file);
	return j;
}

http_response *ht_put_list(const char *id, const char *query, const char *token, const char *extra_header,
			      const char *body, size_t len)
{
	char path[256];
	snprintf(path, sizeof path, "/v1/lists/%s%s%s", id, query ? "?" : "", query ? query : "");
	return http_request_auth("PUT", path, token, extra_header, body, len);
}

void ht_stop_fixture(harness_daemon *d)
{
	char err[512];
	if (!harness_stop(d, err, sizeof err)) {
		fprintf(stderr, "FAIL: stopping qingdand: %s\n", err);
		ht_stop_failures++;
	}
}

TCase *ht_tcase(Suite *s, const char *name, SFun setup, SFun teardown)
{
	TCase *tc = tcase_create(name);
	tcase_set_timeout(tc, 60);
	if (setup)
		tcase_add_unchecked_fixture(tc, setup, teardown);
	suite_add_tcase(s, tc);
	return tc;
}

int ht_run(Suite *s)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "curl_global_init failed\n");
		return 1;
	}
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	if (ht_stop_failures)
		fprintf(stderr, "%d daemon(s) did not exit with status 0 on SIGTERM\n", ht_stop_failures);
	return nf == 0 && ht_stop_failures == 0 ? 0 : 1;
}
