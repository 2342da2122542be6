/* qingdan tests — Check helpers shared by the HTTP suites. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "suite.h"

int ht_stop_failures;

bool ht_error_body_ok(const http_response *r, const char *code, char *why, size_t n)
{
	const char *ct = http_header(r, "Content-Type");
	if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
		snprintf(why, n, "Content-Type is %s, expected application/json", ct ? ct : "(none)");
		return false;
	}
	if (!json_is_object(r->json) || json_object_size(r->json) != 1) {
		snprintf(why, n, "body is not {\"error\": …}");
		return false;
	}
	json_t *e = json_object_get(r->json, "error");
	if (!json_is_object(e) || json_object_size(e) != 3 || !json_is_string(json_object_get(e, "code")) ||
	    !json_is_string(json_object_get(e, "message")) || !json_is_array(json_object_get(e, "details"))) {
		snprintf(why, n, "error is not {\"code\": string, \"message\": string, \"details\": array}");
		return false;
	}
	const char *c = json_string_value(json_object_get(e, "code"));
	for (const char *p = c; *p; p++)
		if (!(islower((unsigned char)*p) || *p == '_')) {
			snprintf(why, n, "error.code \"%s\" is not snake_case", c);
			return false;
		}
	if (!*json_string_value(json_object_get(e, "message"))) {
		snprintf(why, n, "error.message is empty");
		return false;
	}
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(e, "details"), i, d) {
		bool has_path = json_is_string(json_object_get(d, "path"));
		bool has_lc = json_is_integer(json_object_get(d, "line")) &&
			      json_is_integer(json_object_get(d, "column"));
		bool has_param = json_is_string(json_object_get(d, "parameter"));
		if (!json_is_object(d) || !json_is_string(json_object_get(d, "message")) ||
		    !(has_path || has_lc || has_param)) {
			snprintf(why, n, "error.details[%zu] lacks message and path (or line and column, or parameter)", i);
			return false;
		}
	}
	if (code && strcmp(c, code) != 0) {
		snprintf(why, n, "error.code is \"%s\", expected \"%s\"", c, code);
		return false;
	}
	return true;
}

bool ht_is_hex64(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

bool ht_is_rfc3339(const char *s)
{
	if (!s)
		return false;
	const char *shape = "dddd-dd-ddTdd:dd:dd";
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return false;
	}
	s += strlen(shape);
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s == 'Z')
		return s[1] == '\0';
	return (*s == '+' || *s == '-') && isdigit((unsigned char)s[1]) && isdigit((unsigned char)s[2]) &&
	       s[3] == ':' && isdigit((unsigned char)s[4]) && isdigit((unsigned char)s[5]) && s[6] == '\0';
}

char *ht_sample_text(const char *file, size_t *len)
{
	char *s = harness_read_source(file, len);
	ck_assert_msg(s != NULL, "cannot read %s under QD_SOURCE_ROOT", file);
	return s;
}

http_response *ht_put_sample(const char *id, const char *file, const char *token)
{
	size_t len;
	char *s = ht_sample_text(file, &len);
	http_response *r = ht_put_list(id, NULL, token, NULL, s, len);
	free(s);
	return r;
}

void ht_start_with_samples(harness_daemon *d, const harness_opts *o)
{
	char err[512];
	if (!harness_start(d, o, err, sizeof err)) {
		fprintf(stderr, "cannot start qingdand: %s\n", err);
		abort();
	}
	const char *const lists[][2] = {{GBA, GBA_FILE}, {WL, WL_FILE}};
	for (size_t i = 0; i < 2; i++) {
		http_response *r = ht_put_sample(lists[i][0], lists[i][1], HARNESS_ADMIN_TOKEN);
		if (r->status != 201) {
			fprintf(stderr, "loading %s: HTTP %ld: %s\n", lists[i][0], r->status, r->body);
			harness_stop(d, err, sizeof err);
			abort();
		}
		http_response_free(r);
	}
}

http_response *ht_get_ok(const char *path)
{
	http_response *r = http_get("%s", path);
	assert_status(r, 200);
	assert_json_ct(r);
	return r;
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
