/* qingdan — hostile input: a table of malformed requests, each of which
 * must be answered 4xx with a JSON error body (never 5xx), after which the
 * daemon is still up and the stored lists are unchanged.
 *
 * Most requests go through libcurl (tests/http/harness.c); the ones curl
 * would normalise or refuse to send (NUL bytes, broken request lines,
 * lying Content-Length, oversized headers) go over a raw socket.
 *
 * A few requests are answered by libmicrohttpd itself before the
 * application sees them; their answers are not ours and not JSON:
 *   - request line and headers beyond --max-header-bytes: 431 (headers)
 *     or 414 (URI), HTML body;
 *   - a malformed request line, Content-Length or chunk header: 400, HTML
 *     body, or the connection is simply closed;
 *   - a NUL byte in the raw request line: libmicrohttpd stops the target
 *     at the NUL, so the application sees a shorter, valid target (200);
 *     the NUL never reaches the handlers (%00 does, and is refused).
 * For those the table asserts no 5xx and that the daemon stays up. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "robust.h"

#define GBA "gba-research-positive"
#define WL "biomed-rd-whitelist"

/* Limits the daemon runs with here, small so the table stays cheap. */
#define BODY_MAX 4096
#define DOC_MAX (256 * 1024)
#define ITEMS_MAX 10
#define DEPTH_MAX 16
#define HEADER_MAX 8192

enum auth { NOAUTH, ADMIN, READER, BADTOKEN };
enum answer {
	APP,       /* the application answers: 4xx, JSON error (code checked when given) */
	MHD_4XX,   /* libmicrohttpd answers 4xx itself (HTML), or closes */
	MHD_ANY,   /* libmicrohttpd passes something harmless on: anything but 5xx */
	MHD_EXACT, /* libmicrohttpd answers itself with exactly .status (may be 505) */
};

typedef struct hcase {
	const char *name;
	const char *method;      /* libcurl request, or NULL for raw */
	const char *path;
	const char *hdr;         /* one extra header line, or NULL */
	const char *body;        /* NULL: none */
	enum auth auth;
	unsigned status;         /* exact status expected, 0: any 4xx */
	const char *code;        /* error.code expected, or NULL */
	enum answer answer;
	char *(*gen)(size_t *len, const char **hdr); /* generated body (curl) or raw request */
	const char *raw;         /* raw request bytes (with raw_len) */
	size_t raw_len;
} hcase;

#define RAW(s) .raw = s, .raw_len = sizeof s - 1

/* ---- generated bodies and requests ---- */

static char *nested(unsigned depth, const char *pre, const char *post, size_t *len)
{
	size_t a = strlen(pre), b = strlen(post);
	char *s = malloc(a + 2 * depth + b + 1);
	memcpy(s, pre, a);
	memset(s + a, '[', depth);
	memset(s + a + depth, ']', depth);
	memcpy(s + a + 2 * depth, post, b + 1);
	*len = a + 2 * depth + b;
	return s;
}

static char *g_deep_ref(size_t *len, const char **hdr)
{
	(void)hdr;
	return nested(DEPTH_MAX + 4, "{\"items\":[{\"code\":\"38\",\"ref\":", "}]}", len);
}

static char *g_very_deep(size_t *len, const char **hdr)
{
	(void)hdr;
	/* Far beyond jansson's own limit too, and still under BODY_MAX. */
	return nested(2000, "", "", len);
}

static char *g_deep_doc(size_t *len, const char **hdr)
{
	(void)hdr;
	return nested(5000, "{\"list\":\"" GBA "\",\"title\":", "}", len);
}

static char *g_too_many_items(size_t *len, const char **hdr)
{
	(void)hdr;
	char *s = malloc(64 + 20 * (ITEMS_MAX + 1));
	size_t n = (size_t)sprintf(s, "{\"items\":[");
	for (int i = 0; i <= ITEMS_MAX; i++)
		n += (size_t)sprintf(s + n, "%s{\"code\":\"38\"}", i ? "," : "");
	n += (size_t)sprintf(s + n, "]}");
	*len = n;
	return s;
}

/* Over-limit bodies with a Content-Length are refused from the headers,
 * before the body is read.  The client asks first (Expect: 100-continue),
 * as a client sending a big body should: one that sends the body anyway
 * may see the connection reset under the 413 as the daemon closes it. */
static char *g_big_body(size_t *len, const char **hdr)
{
	*hdr = "Expect: 100-continue";
	*len = BODY_MAX + 1000;
	char *s = malloc(*len + 1);
	memset(s, ' ', *len);
	memcpy(s, "{\"items\":[{\"code\":\"38\"}],\"x\":\"", 30);
	s[*len - 2] = '"';
	s[*len - 1] = '}';
	s[*len] = '\0';
	return s;
}

static char *g_big_chunked(size_t *len, const char **hdr)
{
	char *s = g_big_body(len, hdr);
	*hdr = "Transfer-Encoding: chunked";
	return s;
}

static char *g_big_doc(size_t *len, const char **hdr)
{
	unsigned n;
	*hdr = "Expect: 100-continue";
	return robust_doc(GBA, 3000, 7, len, &n); /* well over DOC_MAX */
}

static char *g_big_doc_chunked(size_t *len, const char **hdr)
{
	unsigned n;
	*hdr = "Transfer-Encoding: chunked";
	return robust_doc(GBA, 3000, 7, len, &n);
}

static char *g_long_value(size_t *len, const char **hdr)
{
	(void)hdr;
	/* As a path: /v1/lookup?code=<600 digits>. */
	char *s = malloc(700);
	size_t n = (size_t)sprintf(s, "/v1/lookup?code=");
	memset(s + n, '3', 600);
	n += 600;
	s[n] = '\0';
	*len = n;
	return s;
}

static char *g_many_params(size_t *len, const char **hdr)
{
	(void)hdr;
	char *s = malloc(4096);
	size_t n = (size_t)sprintf(s, "/v1/lookup?code=38");
	for (int i = 0; i < 60; i++)
		n += (size_t)sprintf(s + n, "&p%d=", i);
	*len = n;
	return s;
}

static char *g_huge_header(size_t *len, const char **hdr)
{
	(void)hdr;
	size_t big = 4 * HEADER_MAX;
	char *s = malloc(big + 256);
	size_t n = (size_t)sprintf(s, "GET /v1/lookup?code=38 HTTP/1.1\r\nHost: t\r\nX-Big: ");
	memset(s + n, 'a', big);
	n += big;
	n += (size_t)sprintf(s + n, "\r\nConnection: close\r\n\r\n");
	*len = n;
	return s;
}

static char *g_huge_url(size_t *len, const char **hdr)
{
	(void)hdr;
	size_t big = 4 * HEADER_MAX;
	char *s = malloc(big + 256);
	size_t n = (size_t)sprintf(s, "GET /v1/lookup?code=");
	memset(s + n, '3', big);
	n += big;
	n += (size_t)sprintf(s + n, " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	*len = n;
	return s;
}

static char *g_params_beyond_pool(size_t *len, const char **hdr)
{
	(void)hdr;
	char *s = malloc(64 * 1024);
	size_t n = (size_t)sprintf(s, "GET /v1/lookup?code=38");
	for (int i = 0; i < 3000; i++)
		n += (size_t)sprintf(s + n, "&p%d=", i);
	n += (size_t)sprintf(s + n, " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	*len = n;
	return s;
}

static char *g_raw_chunked(size_t *len, const char **hdr)
{
	(void)hdr;
	char *s = malloc(3 * BODY_MAX);
	size_t n = (size_t)sprintf(s, "POST /v1/check HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
				      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
	for (int k = 0; k < 2; k++) {
		n += (size_t)sprintf(s + n, "%x\r\n", BODY_MAX * 3 / 4);
		memset(s + n, ' ', BODY_MAX * 3 / 4);
		n += BODY_MAX * 3 / 4;
		n += (size_t)sprintf(s + n, "\r\n");
	}
	n += (size_t)sprintf(s + n, "0\r\n\r\n");
	*len = n;
	return s;
}

static char *g_many_headers(size_t *len, const char **hdr)
{
	(void)hdr;
	char *s = malloc(64 * 1024);
	size_t n = (size_t)sprintf(s, "GET /v1/lookup?code=38 HTTP/1.1\r\nHost: t\r\n");
	for (int i = 0; i < 2000; i++)
		n += (size_t)sprintf(s + n, "X-H%d: v\r\n", i);
	n += (size_t)sprintf(s + n, "Connection: close\r\n\r\n");
	*len = n;
	return s;
}

/* ---- the table ---- */

#define CHECK_ITEMS "{\"items\":[{\"code\":\"38\"}]"
#define JSONCT "Content-Type: application/json"

static const hcase cases[] = {
	/* GET /v1/lookup: query strings */
	{"bad percent-encoding %zz", "GET", "/v1/lookup?code=%zz", .status = 400, .code = "bad_parameter"},
	{"lone percent", "GET", "/v1/lookup?code=%", .status = 400, .code = "bad_parameter"},
	{"truncated escape %3", "GET", "/v1/lookup?code=38%3", .status = 400, .code = "bad_parameter"},
	{"NUL in code", "GET", "/v1/lookup?code=38%0022", .status = 400, .code = "bad_parameter"},
	{"leading NUL in code", "GET", "/v1/lookup?code=%003822", .status = 400, .code = "bad_parameter"},
	{"NUL in entity", "GET", "/v1/lookup?code=38&entity=HK:1%002", .status = 400, .code = "bad_parameter"},
	{"NUL in date", "GET", "/v1/lookup?code=38&date=2026-01-01%00", .status = 400, .code = "bad_parameter"},
	{"NUL in list", "GET", "/v1/lookup?code=38&list=" GBA "%00x", .status = 400, .code = "bad_parameter"},
	{"NUL in parameter name", "GET", "/v1/lookup?code=38&co%00de=1", .status = 400, .code = "unknown_parameter"},
	{"overlong code (600 digits)", "GET", NULL, .status = 400, .code = "bad_parameter", .gen = g_long_value},
	{"code of separators only", "GET", "/v1/lookup?code=...---...", .status = 400, .code = "bad_parameter"},
	{"repeated code", "GET", "/v1/lookup?code=38&code=39", .status = 400, .code = "repeated_parameter"},
	{"repeated entity", "GET", "/v1/lookup?code=38&entity=HK:1&entity=HK:2", .status = 400, .code = "repeated_parameter"},
	{"repeated empty parameter", "GET", "/v1/lookup?code=38&date&date", .status = 400, .code = "repeated_parameter"},
	{"invalid UTF-8 in code", "GET", "/v1/lookup?code=%C3%28", .status = 400, .code = "bad_parameter"},
	{"invalid UTF-8 in entity", "GET", "/v1/lookup?code=38&entity=%FF%FE", .status = 400, .code = "bad_parameter"},
	{"overlong UTF-8 in list", "GET", "/v1/lookup?code=38&list=%C0%AF", .status = 400, .code = "bad_parameter"},
	{"full-width digits", "GET", "/v1/lookup?code=%EF%BC%93%EF%BC%98", .status = 400, .code = "bad_parameter"},
	{"missing code", "GET", "/v1/lookup?entity=HK:1", .status = 400, .code = "missing_parameter"},
	{"code without value", "GET", "/v1/lookup?code", .status = 400, .code = "bad_parameter"},
	{"unknown parameter", "GET", "/v1/lookup?code=38&colour=red", .status = 400, .code = "unknown_parameter"},
	{"empty parameter name", "GET", "/v1/lookup?code=38&=x", .status = 400, .code = "unknown_parameter"},
	{"60 unknown parameters", "GET", NULL, .status = 400, .code = "unknown_parameter", .gen = g_many_params},
	{"impossible date", "GET", "/v1/lookup?code=38&date=2026-02-30", .status = 400, .code = "bad_parameter"},
	{"short date", "GET", "/v1/lookup?code=38&date=2026-1-1", .status = 400, .code = "bad_parameter"},
	{"five-digit year", "GET", "/v1/lookup?code=38&date=20260-01-01", .status = 400, .code = "bad_parameter"},
	{"version 0", "GET", "/v1/lookup?code=38&list=" GBA "&version=0", .status = 400, .code = "bad_parameter"},
	{"version huge number", "GET", "/v1/lookup?code=38&list=" GBA "&version=99999999999999999999", .status = 400, .code = "bad_parameter"},
	{"version 2^31", "GET", "/v1/lookup?code=38&list=" GBA "&version=2147483648", .status = 400, .code = "bad_parameter"},
	{"version negative", "GET", "/v1/lookup?code=38&list=" GBA "&version=-1", .status = 400, .code = "bad_parameter"},
	{"version with leading zero", "GET", "/v1/lookup?code=38&list=" GBA "&version=01", .status = 400, .code = "bad_parameter"},
	{"version without list", "GET", "/v1/lookup?code=38&version=1", .status = 400, .code = "bad_parameter"},
	{"version and at", "GET", "/v1/lookup?code=38&list=" GBA "&version=1&at=2026-01-01T00:00:00Z", .status = 400, .code = "bad_parameter"},
	{"version that does not exist", "GET", "/v1/lookup?code=38&list=" GBA "&version=9999", .status = 404, .code = "version_not_found"},
	{"at not a time", "GET", "/v1/lookup?code=38&at=yesterday", .status = 400, .code = "bad_parameter"},
	{"at without offset", "GET", "/v1/lookup?code=38&at=2026-01-01T00:00:00", .status = 400, .code = "bad_parameter"},
	{"at with leap second", "GET", "/v1/lookup?code=38&at=2026-12-31T23:59:60Z", .status = 400, .code = "bad_parameter"},
	{"list path traversal", "GET", "/v1/lookup?code=38&list=../../etc/passwd", .status = 400, .code = "bad_parameter"},
	{"list uppercase", "GET", "/v1/lookup?code=38&list=GBA", .status = 400, .code = "bad_parameter"},
	{"list overlong", "GET", "/v1/lookup?code=38&list=a1234567890123456789012345678901234567890123456789", .status = 400, .code = "bad_parameter"},
	{"list unknown", "GET", "/v1/lookup?code=38&list=no-such-list", .status = 404, .code = "list_not_found"},
	{"ciq of 2 digits", "GET", "/v1/lookup?code=3822190090&ciq=12", .status = 400, .code = "bad_parameter"},
	{"ciq twice", "GET", "/v1/lookup?code=3822190090102&ciq=102", .status = 400, .code = "bad_parameter"},
	{"ciq with short code", "GET", "/v1/lookup?code=3822&ciq=102", .status = 400, .code = "bad_parameter"},
	{"ciq with NULs", "GET", "/v1/lookup?code=3822190090&ciq=%00%00%00", .status = 400, .code = "bad_parameter"},
	{"code 11 digits", "GET", "/v1/lookup?code=38221900901", .status = 400, .code = "bad_parameter"},
	{"code with sign", "GET", "/v1/lookup?code=%2B38", .status = 400, .code = "bad_parameter"},
	{"entity SCHEME: without id", "GET", "/v1/lookup?code=38&entity=HK:", .status = 400, .code = "bad_parameter"},
	{"entity bad USCC check", "GET", "/v1/lookup?code=38&entity=91110000600037341M", .status = 400, .code = "bad_parameter"},
	{"entity id too long", "GET", "/v1/lookup?code=38&entity=HK:1234567890123456789012345678901234567890123456789012345678901234567890", .status = 400, .code = "bad_parameter"},
	{"lookup with a body", "GET", "/v1/lookup?code=38", .body = "{}", .status = 400, .code = "bad_body"},

	/* paths and ids */
	{"path traversal in id (encoded)", "GET", "/v1/lists/..%2F..%2Fetc", .status = 404},
	{"path traversal in id (raw)", "GET", "/v1/lists/../../etc/passwd", .status = 404},
	{"id of dots", "GET", "/v1/lists/%2e%2e", .status = 404},
	{"id uppercase", "GET", "/v1/lists/GBA", .status = 404, .code = "list_not_found"},
	{"id overlong", "GET", "/v1/lists/a12345678901234567890123456789012345678901234567890", .status = 404, .code = "list_not_found"},
	{"id with NUL", "GET", "/v1/lists/gba%00x", .status = 404},
	{"id with invalid UTF-8", "GET", "/v1/lists/%FF", .status = 404},
	{"version 0 in path", "GET", "/v1/lists/" GBA "/versions/0", .status = 400, .code = "bad_parameter"},
	{"version word in path", "GET", "/v1/lists/" GBA "/versions/abc", .status = 400, .code = "bad_parameter"},
	{"version huge in path", "GET", "/v1/lists/" GBA "/versions/99999999999999999999999", .status = 400, .code = "bad_parameter"},
	{"version negative in path", "GET", "/v1/lists/" GBA "/versions/-1", .status = 400, .code = "bad_parameter"},
	{"version missing", "GET", "/v1/lists/" GBA "/versions/999", .status = 404, .code = "version_not_found"},
	{"unknown path", "GET", "/v1/nothing", .status = 404, .code = "not_found"},
	{"trailing path segment", "GET", "/v1/lookup/extra?code=38", .status = 404, .code = "not_found"},
	{"double slash", "GET", "//v1/lists", .status = 404, .code = "not_found"},

	/* entries, diff, audit: cursors and numbers */
	{"bad cursor", "GET", "/v1/lists/" GBA "/entries?cursor=garbage", .status = 400, .code = "bad_parameter"},
	{"cursor with NUL", "GET", "/v1/lists/" GBA "/entries?cursor=%00", .status = 400, .code = "bad_parameter"},
	{"cursor of invalid UTF-8", "GET", "/v1/lists/" GBA "/entries?cursor=%FF%FF%FF%FF", .status = 400, .code = "bad_parameter"},
	{"limit 0", "GET", "/v1/lists/" GBA "/entries?limit=0", .status = 400, .code = "bad_parameter"},
	{"limit too big", "GET", "/v1/lists/" GBA "/entries?limit=1001", .status = 400, .code = "bad_parameter"},
	{"limit exponent", "GET", "/v1/lists/" GBA "/entries?limit=1e3", .status = 400, .code = "bad_parameter"},
	{"limit huge", "GET", "/v1/lists/" GBA "/entries?limit=99999999999999999999", .status = 400, .code = "bad_parameter"},
	{"prefix with letter", "GET", "/v1/lists/" GBA "/entries?prefix=38x", .status = 400, .code = "bad_parameter"},
	{"prefix of 11 digits", "GET", "/v1/lists/" GBA "/entries?prefix=38221900901", .status = 400, .code = "bad_parameter"},
	{"entries unknown parameter", "GET", "/v1/lists/" GBA "/entries?page=2", .status = 400, .code = "unknown_parameter"},
	{"diff without from", "GET", "/v1/lists/" GBA "/diff", .status = 400, .code = "missing_parameter"},
	{"diff from word", "GET", "/v1/lists/" GBA "/diff?from=abc", .status = 400, .code = "bad_parameter"},
	{"diff to 0", "GET", "/v1/lists/" GBA "/diff?from=1&to=0", .status = 400, .code = "bad_parameter"},
	{"diff repeated from", "GET", "/v1/lists/" GBA "/diff?from=1&from=1", .status = 400, .code = "repeated_parameter"},
	{"audit without token", "GET", "/v1/audit", .status = 401, .code = "unauthorized"},
	{"audit bad before", "GET", "/v1/audit?before=x", .auth = ADMIN, .status = 400},
	{"audit bad limit", "GET", "/v1/audit?limit=-3", .auth = ADMIN, .status = 400},
	{"status with parameter", "GET", "/v1/status?x=1", .status = 400, .code = "unknown_parameter"},

	/* methods */
	{"DELETE a list", "DELETE", "/v1/lists/" GBA, .status = 405, .code = "method_not_allowed"},
	{"POST lookup", "POST", "/v1/lookup?code=38", .body = "{}", .status = 405, .code = "method_not_allowed"},
	{"GET check", "GET", "/v1/check", .status = 405, .code = "method_not_allowed"},
	{"PATCH check", "PATCH", "/v1/check", .body = CHECK_ITEMS "}", .status = 405, .code = "method_not_allowed"},
	{"PUT lookup", "PUT", "/v1/lookup", .body = "{}", .status = 405, .code = "method_not_allowed"},
	{"unknown method BREW", "BREW", "/v1/lookup?code=38", .status = 405, .code = "method_not_allowed"},
	{"GET rollback", "GET", "/v1/lists/" GBA "/rollback", .status = 405, .code = "method_not_allowed"},

	/* POST /v1/check: content types and bodies */
	{"check text/plain", "POST", "/v1/check", "Content-Type: text/plain", CHECK_ITEMS "}", .status = 415, .code = "unsupported_media_type"},
	{"check text/csv", "POST", "/v1/check", "Content-Type: text/csv", "code\n38\n", .status = 415, .code = "unsupported_media_type"},
	{"check latin-1 JSON", "POST", "/v1/check", "Content-Type: application/json; charset=iso-8859-1", CHECK_ITEMS "}", .status = 415, .code = "unsupported_media_type"},
	{"check application/jsonx", "POST", "/v1/check", "Content-Type: application/jsonx", CHECK_ITEMS "}", .status = 415, .code = "unsupported_media_type"},
	{"check empty body", "POST", "/v1/check", JSONCT, "", .status = 400, .code = "bad_json"},
	{"check null", "POST", "/v1/check", JSONCT, "null", .status = 400},
	{"check array", "POST", "/v1/check", JSONCT, "[]", .status = 400, .code = "bad_body"},
	{"check string", "POST", "/v1/check", JSONCT, "\"items\"", .status = 400},
	{"items a string", "POST", "/v1/check", JSONCT, "{\"items\":\"38\"}", .status = 400, .code = "bad_body"},
	{"items null", "POST", "/v1/check", JSONCT, "{\"items\":null}", .status = 400, .code = "bad_body"},
	{"items empty", "POST", "/v1/check", JSONCT, "{\"items\":[]}", .status = 400, .code = "bad_body"},
	{"items missing", "POST", "/v1/check", JSONCT, "{\"entity\":\"HK:1\"}", .status = 400, .code = "bad_body"},
	{"too many items", "POST", "/v1/check", JSONCT, NULL, .status = 400, .code = "bad_body", .gen = g_too_many_items},
	{"item a string", "POST", "/v1/check", JSONCT, "{\"items\":[\"38\"]}", .status = 400, .code = "bad_body"},
	{"code a number", "POST", "/v1/check", JSONCT, "{\"items\":[{\"code\":38}]}", .status = 400, .code = "bad_body"},
	{"code null", "POST", "/v1/check", JSONCT, "{\"items\":[{\"code\":null}]}", .status = 400, .code = "bad_body"},
	{"ciq a number", "POST", "/v1/check", JSONCT, "{\"items\":[{\"code\":\"3822190090\",\"ciq\":102}]}", .status = 400, .code = "bad_body"},
	{"ref an object", "POST", "/v1/check", JSONCT, "{\"items\":[{\"code\":\"38\",\"ref\":{}}]}", .status = 400, .code = "bad_body"},
	{"entity a number", "POST", "/v1/check", JSONCT, CHECK_ITEMS ",\"entity\":123}", .status = 400, .code = "bad_body"},
	{"date an array", "POST", "/v1/check", JSONCT, CHECK_ITEMS ",\"date\":[2026,1,1]}", .status = 400, .code = "bad_body"},
	{"list true", "POST", "/v1/check", JSONCT, CHECK_ITEMS ",\"list\":true}", .status = 400, .code = "bad_body"},
	{"bad date in body", "POST", "/v1/check", JSONCT, CHECK_ITEMS ",\"date\":\"2026-13-01\"}", .status = 400, .code = "bad_body"},
	{"bad entity in body", "POST", "/v1/check", JSONCT, CHECK_ITEMS ",\"entity\":\"nobody\"}", .status = 400, .code = "bad_body"},
	{"unknown list in body", "POST", "/v1/check", JSONCT, CHECK_ITEMS ",\"list\":\"no-such\"}", .status = 404, .code = "list_not_found"},
	{"NUL in entity (body)", "POST", "/v1/check", JSONCT, CHECK_ITEMS ",\"entity\":\"HK:1\\u0000\"}", .status = 400, .code = "bad_json"},
	{"NUL in list (body)", "POST", "/v1/check", JSONCT, CHECK_ITEMS ",\"list\":\"" GBA "\\u0000\"}", .status = 400, .code = "bad_json"},
	{"unknown top-level key", "POST", "/v1/check", JSONCT, CHECK_ITEMS ",\"colour\":\"red\"}", .status = 400, .code = "bad_body"},
	{"unknown item key", "POST", "/v1/check", JSONCT, "{\"items\":[{\"code\":\"38\",\"qty\":1}]}", .status = 400, .code = "bad_body"},
	{"duplicate top-level key", "POST", "/v1/check", JSONCT, CHECK_ITEMS ",\"items\":[]}", .status = 400, .code = "bad_json"},
	{"duplicate item key", "POST", "/v1/check", JSONCT, "{\"items\":[{\"code\":\"38\",\"code\":\"39\"}]}", .status = 400, .code = "bad_json"},
	{"nesting beyond max depth", "POST", "/v1/check", JSONCT, NULL, .status = 400, .code = "bad_json", .gen = g_deep_ref},
	{"nesting 2000 deep", "POST", "/v1/check", JSONCT, NULL, .status = 400, .code = "bad_json", .gen = g_very_deep},
	{"huge integer ref", "POST", "/v1/check", JSONCT, "{\"items\":[{\"code\":\"38\",\"ref\":123456789012345678901234567890}]}", .status = 400, .code = "bad_json"},
	{"huge real ref", "POST", "/v1/check", JSONCT, "{\"items\":[{\"code\":\"38\",\"ref\":1e999}]}", .status = 400, .code = "bad_json"},
	{"real ref", "POST", "/v1/check", JSONCT, "{\"items\":[{\"code\":\"38\",\"ref\":1.5}]}", .status = 400, .code = "bad_body"},
	{"invalid UTF-8 in body", "POST", "/v1/check", JSONCT, "{\"items\":[{\"code\":\"\xff\xfe\"}]}", .status = 400, .code = "bad_json"},
	/* Error messages quote the input (jansson's "near '…'") or cut it at
	 * a byte count; the answer must stay valid UTF-8 JSON all the same
	 * (found by fuzz_request: tests/fuzz/request.in/regression-crash-4c8c…). */
	{"JSON error quoting broken UTF-8", "POST", "/v1/check", JSONCT, "{\"gey\\\\\\\\\\\xc3\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\\", .status = 400, .code = "bad_json"},
	{"unknown key cut inside a character", "POST", "/v1/check", JSONCT, CHECK_ITEMS ",\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa中文\":1}", .status = 400, .code = "bad_body"},
	{"lone surrogate escape", "POST", "/v1/check", JSONCT, "{\"items\":[{\"code\":\"\\ud800\"}]}", .status = 400, .code = "bad_json"},
	{"truncated JSON", "POST", "/v1/check", JSONCT, "{\"items\":[{\"code\":", .status = 400, .code = "bad_json"},
	{"trailing garbage", "POST", "/v1/check", JSONCT, CHECK_ITEMS "} x", .status = 400, .code = "bad_json"},
	{"byte-order mark", "POST", "/v1/check", JSONCT, "\xef\xbb\xbf" CHECK_ITEMS "}", .status = 400, .code = "bad_json"},
	{"check query parameter", "POST", "/v1/check?code=38", JSONCT, CHECK_ITEMS "}", .status = 400, .code = "unknown_parameter"},
	{"body over the limit (Content-Length)", "POST", "/v1/check", JSONCT, NULL, .status = 413, .code = "payload_too_large", .gen = g_big_body},
	{"body over the limit (chunked)", "POST", "/v1/check", JSONCT, NULL, .status = 413, .code = "payload_too_large", .gen = g_big_chunked},

	/* PUT /v1/lists/{id}: auth, preconditions, documents */
	{"PUT without token", "PUT", "/v1/lists/" GBA, JSONCT, "{}", .status = 401, .code = "unauthorized"},
	{"PUT with unknown token", "PUT", "/v1/lists/" GBA, JSONCT, "{}", .auth = BADTOKEN, .status = 401, .code = "unauthorized"},
	{"PUT with reader token", "PUT", "/v1/lists/" GBA, JSONCT, "{}", .auth = READER, .status = 403, .code = "forbidden"},
	{"PUT with Basic auth", "PUT", "/v1/lists/" GBA, "Authorization: Basic YWRtaW46YWRtaW4=", "{}", .status = 401, .code = "unauthorized"},
	{"PUT If-Match not a number", "PUT", "/v1/lists/" GBA, "If-Match: \"abc\"", NULL, .auth = ADMIN, .status = 400, .code = "bad_header"},
	{"PUT If-Match 0", "PUT", "/v1/lists/" GBA, "If-Match: \"0\"", NULL, .auth = ADMIN, .status = 400, .code = "bad_header"},
	{"PUT If-Match star", "PUT", "/v1/lists/" GBA, "If-Match: *", NULL, .auth = ADMIN, .status = 400, .code = "bad_header"},
	{"PUT If-Match stale", "PUT", "/v1/lists/" GBA, "If-Match: \"999\"", NULL, .auth = ADMIN, .status = 412, .code = "precondition_failed"},
	{"PUT dry_run maybe", "PUT", "/v1/lists/" GBA "?dry_run=maybe", JSONCT, "{}", .auth = ADMIN, .status = 400, .code = "bad_parameter"},
	{"PUT dry_run repeated", "PUT", "/v1/lists/" GBA "?dry_run=true&dry_run=true", JSONCT, "{}", .auth = ADMIN, .status = 400, .code = "repeated_parameter"},
	{"PUT not JSON", "PUT", "/v1/lists/" GBA, JSONCT, "list: gba", .auth = ADMIN, .status = 400, .code = "bad_json"},
	{"PUT empty body", "PUT", "/v1/lists/" GBA, JSONCT, "", .auth = ADMIN, .status = 400, .code = "bad_json"},
	{"PUT document for another list", "PUT", "/v1/lists/" GBA, JSONCT, "{\"list\":\"" WL "\"}", .auth = ADMIN, .status = 422, .code = "invalid_document"},
	{"PUT document with unknown key", "PUT", "/v1/lists/" GBA, JSONCT, "{\"list\":\"" GBA "\",\"kind\":\"positive\",\"title\":{\"zh\":\"x\"},\"clauses\":[],\"entries\":[],\"colour\":1}", .auth = ADMIN, .status = 422, .code = "invalid_document"},
	{"PUT document with wrong types", "PUT", "/v1/lists/" GBA, JSONCT, "{\"list\":1,\"kind\":[],\"title\":\"x\",\"clauses\":{},\"entries\":null}", .auth = ADMIN, .status = 422},
	{"PUT document with duplicate keys", "PUT", "/v1/lists/" GBA, JSONCT, "{\"list\":\"" GBA "\",\"list\":\"" GBA "\"}", .auth = ADMIN, .status = 0},
	{"PUT document nested 5000 deep", "PUT", "/v1/lists/" GBA, JSONCT, NULL, .auth = ADMIN, .status = 0, .gen = g_deep_doc},
	{"PUT document over the limit (Content-Length)", "PUT", "/v1/lists/" GBA, JSONCT, NULL, .auth = ADMIN, .status = 413, .code = "payload_too_large", .gen = g_big_doc},
	{"PUT document over the limit (chunked)", "PUT", "/v1/lists/" GBA, JSONCT, NULL, .auth = ADMIN, .status = 413, .code = "payload_too_large", .gen = g_big_doc_chunked},
	{"PUT application/xml", "PUT", "/v1/lists/" GBA, "Content-Type: application/xml", "<list/>", .auth = ADMIN, .status = 415, .code = "unsupported_media_type"},
	{"PUT CSV with bad bytes", "PUT", "/v1/lists/" GBA, "Content-Type: text/csv; charset=utf-8", "id,code,name_zh,clauses\nX,38,\xff\xfe,C1\n", .auth = ADMIN, .status = 422, .code = "invalid_document"},
	{"PUT CSV in unknown charset", "PUT", "/v1/lists/" GBA, "Content-Type: text/csv; charset=ebcdic", "id,code,name_zh,clauses\n", .auth = ADMIN, .status = 0},
	{"PUT CSV for a new list", "PUT", "/v1/lists/no-such-list", "Content-Type: text/csv", "id,code,name_zh,clauses\nX,38,x,C1\n", .auth = ADMIN, .status = 404, .code = "list_not_found"},
	{"PUT to an invalid id", "PUT", "/v1/lists/Bad_Id", JSONCT, "{}", .auth = ADMIN, .status = 404, .code = "list_not_found"},
	{"rollback version a string", "POST", "/v1/lists/" GBA "/rollback", JSONCT, "{\"version\":\"1\"}", .auth = ADMIN, .status = 400},
	{"rollback version 0", "POST", "/v1/lists/" GBA "/rollback", JSONCT, "{\"version\":0}", .auth = ADMIN, .status = 400},
	{"rollback version huge", "POST", "/v1/lists/" GBA "/rollback", JSONCT, "{\"version\":1e300}", .auth = ADMIN, .status = 400},
	{"rollback unknown version", "POST", "/v1/lists/" GBA "/rollback", JSONCT, "{\"version\":4096}", .auth = ADMIN, .status = 404},
	{"rollback unknown key", "POST", "/v1/lists/" GBA "/rollback", JSONCT, "{\"version\":1,\"force\":true}", .auth = ADMIN, .status = 400},

	/* raw requests */
	{"raw: Content-Length far over the limit, no body", RAW("POST /v1/check HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n"), .status = 413, .code = "payload_too_large"},
	{"raw: document Content-Length over the limit, no body", RAW("PUT /v1/lists/" GBA " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " HARNESS_ADMIN_TOKEN "\r\nContent-Type: application/json\r\nContent-Length: 68719476736\r\n\r\n"), .status = 413, .code = "payload_too_large"},
	{"raw: NUL in a decoded query (%00)", RAW("GET /v1/lookup?code=%00 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"), .status = 400, .code = "bad_parameter"},
	{"raw: unencoded space in query", RAW("GET /v1/lookup?code=38 22 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"), .status = 0, .answer = MHD_ANY},
	{"raw: raw bytes 0x80-0xff in query", RAW("GET /v1/lookup?code=\x80\xff&entity=\xc3\x28 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"), .status = 400, .code = "bad_parameter"},
	{"raw: raw NUL in the request line", RAW("GET /v1/lookup?code=38\0x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"), .answer = MHD_ANY},
	{"raw: garbage request line", RAW("HELLO\r\n\r\n"), .answer = MHD_4XX},
	/* The one 5xx: libmicrohttpd refuses an HTTP version it does not
	 * speak with 505 before the application sees the request. */
	{"raw: unsupported HTTP version", RAW("GET /v1/lookup?code=38 HTTP/3.7\r\nHost: t\r\n\r\n"), .status = 505, .answer = MHD_EXACT},
	{"raw: bad Content-Length", RAW("POST /v1/check HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n"), .answer = MHD_4XX},
	{"raw: negative Content-Length", RAW("POST /v1/check HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: -5\r\n\r\n"), .answer = MHD_4XX},
	{"raw: bad chunk size", RAW("POST /v1/check HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"), .answer = MHD_4XX},
	{"raw: huge chunk size", RAW("POST /v1/check HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n{}\r\n0\r\n\r\n"), .answer = MHD_4XX},
	{"raw: chunked over the limit", .gen = g_raw_chunked, .status = 413, .code = "payload_too_large"},
	{"raw: header without colon", RAW("GET /v1/lookup?code=38 HTTP/1.1\r\nHost: t\r\nNoColonHere\r\n\r\n"), .answer = MHD_4XX},
	{"raw: headers beyond --max-header-bytes", .gen = g_huge_header, .status = 431, .answer = MHD_4XX},
	{"raw: URL beyond --max-header-bytes", .gen = g_huge_url, .answer = MHD_4XX},
	{"raw: 2000 headers", .gen = g_many_headers, .answer = MHD_4XX},
	/* libmicrohttpd 0.9.75 runs out of connection memory splitting the
	 * arguments, logs "431 … Closing connection" but sends nothing and
	 * keeps the socket until --connection-timeout: a slot held, no crash. */
	{"raw: 3000 parameters (beyond the header memory)", .gen = g_params_beyond_pool, .answer = MHD_4XX},
};

#define NCASES ((int)(sizeof cases / sizeof cases[0]))

/* ---- fixture ---- */

static harness_daemon d;
static char gba_sha[QD_SHA256_HEX], wl_sha[QD_SHA256_HEX];
static long gba_version, wl_version;

static void list_state(const char *id, long *version, char sha[QD_SHA256_HEX])
{
	http_response *r = http_get("/v1/lists/%s", id);
	ck_assert_msg(r->status == 200, "GET /v1/lists/%s: %ld %s", id, r->status, r->body);
	*version = (long)json_integer_value(json_object_get(r->json, "version"));
	const char *s = json_string_value(json_object_get(r->json, "sha256"));
	ck_assert_ptr_nonnull(s);
	snprintf(sha, QD_SHA256_HEX, "%s", s);
	http_response_free(r);
}

static void load(const char *id, const char *file)
{
	size_t len;
	char *doc = harness_read_source(file, &len);
	if (!doc) {
		fprintf(stderr, "cannot read %s\n", file);
		abort();
	}
	char path[128];
	snprintf(path, sizeof path, "/v1/lists/%s", id);
	http_response *r = http_request_auth("PUT", path, HARNESS_ADMIN_TOKEN, NULL, doc, len);
	if (r->status != 201) {
		fprintf(stderr, "loading %s: %ld %s\n", file, r->status, r->body);
		abort();
	}
	http_response_free(r);
	free(doc);
}

static void setup(void)
{
	static const char *const extra[] = {
		"--max-body-bytes", "4096", "--max-document-bytes", "262144", "--max-check-items", "10",
		"--max-json-depth", "16", "--max-header-bytes", "8192", "--access-log", "off", NULL};
	_Static_assert(BODY_MAX == 4096 && DOC_MAX == 262144 && ITEMS_MAX == 10 && DEPTH_MAX == 16 &&
			       HEADER_MAX == 8192, "the limits above match the daemon's arguments");
	harness_opts o = {.tokens = true, .extra_args = extra};
	char err[512];
	if (!harness_start(&d, &o, err, sizeof err)) {
		fprintf(stderr, "cannot start qingdand: %s\n", err);
		abort();
	}
	load(GBA, "schema/examples/gba-research-positive.json");
	load(WL, "schema/examples/biomed-rd-whitelist.json");
	/* The fixture runs in the runner, not a forked test: no ck_assert here. */
	http_response *r = http_get("/v1/lists/%s", GBA);
	gba_version = (long)json_integer_value(json_object_get(r->json, "version"));
	snprintf(gba_sha, sizeof gba_sha, "%s", json_string_value(json_object_get(r->json, "sha256")));
	http_response_free(r);
	r = http_get("/v1/lists/%s", WL);
	wl_version = (long)json_integer_value(json_object_get(r->json, "version"));
	snprintf(wl_sha, sizeof wl_sha, "%s", json_string_value(json_object_get(r->json, "sha256")));
	http_response_free(r);
}

static void teardown(void)
{
	char err[512];
	if (d.pid && !harness_stop(&d, err, sizeof err))
		fprintf(stderr, "stopping qingdand: %s\n", err);
}

/* The daemon is the runner's child, not this forked test's: look at
 * /proc (a dead daemon is a zombie until the runner reaps it). */
static void assert_alive(const char *after)
{
	char path[64], stat[256] = "";
	snprintf(path, sizeof path, "/proc/%d/stat", (int)d.pid);
	FILE *f = fopen(path, "r");
	if (f) {
		if (!fgets(stat, sizeof stat, f))
			stat[0] = '\0';
		fclose(f);
	}
	const char *rp = strrchr(stat, ')');
	ck_assert_msg(rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X', "qingdand died after \"%s\"", after);
}

/* ---- tests ---- */

static void check_json_error(unsigned status, const char *ct, const char *body, const hcase *c)
{
	ck_assert_msg(ct && strncasecmp(ct, "application/json", 16) == 0,
		      "%s: HTTP %u with Content-Type %s, expected a JSON error; body: %.300s", c->name, status,
		      ct ? ct : "(none)", body ? body : "");
	json_t *j = body ? json_loads(body, JSON_REJECT_DUPLICATES, NULL) : NULL;
	json_t *e = json_object_get(j, "error");
	ck_assert_msg(json_is_object(e) && json_is_string(json_object_get(e, "code")) &&
			      json_is_string(json_object_get(e, "message")) &&
			      json_is_array(json_object_get(e, "details")),
		      "%s: HTTP %u body is not a JSON error: %.300s", c->name, status, body ? body : "");
	if (c->code)
		ck_assert_msg(strcmp(json_string_value(json_object_get(e, "code")), c->code) == 0,
			      "%s: error.code %s, expected %s (%.300s)", c->name,
			      json_string_value(json_object_get(e, "code")), c->code, body);
	json_decref(j);
}

static void check_status(const hcase *c, unsigned status, const char *body)
{
	if (c->answer == MHD_EXACT) {
		ck_assert_msg(status == c->status, "%s: HTTP %u, expected libmicrohttpd's %u", c->name, status,
			      c->status);
		return;
	}
	ck_assert_msg(status < 500, "%s: HTTP %u (5xx); body: %.300s", c->name, status, body ? body : "");
	if (c->answer == MHD_ANY)
		return;
	if (c->answer == MHD_4XX) {
		ck_assert_msg(status == 0 || (status >= 400 && status < 500),
			      "%s: HTTP %u, expected 4xx or a closed connection", c->name, status);
		if (c->status && status)
			ck_assert_msg(status == c->status, "%s: HTTP %u, expected %u", c->name, status, c->status);
		return;
	}
	if (c->status)
		ck_assert_msg(status == c->status, "%s: HTTP %u, expected %u; body: %.300s", c->name, status,
			      c->status, body ? body : "");
	else
		ck_assert_msg(status >= 400 && status < 500, "%s: HTTP %u, expected 4xx; body: %.300s", c->name,
			      status, body ? body : "");
}

static const char *raw_header(const char *resp, const char *name)
{
	static char v[128];
	const char *end = strstr(resp, "\r\n\r\n");
	size_t nl = strlen(name);
	for (const char *p = strstr(resp, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
			const char *s = p + 3 + nl;
			while (*s == ' ')
				s++;
			size_t k = strcspn(s, "\r");
			snprintf(v, sizeof v, "%.*s", (int)(k < sizeof v - 1 ? k : sizeof v - 1), s);
			return v;
		}
	}
	return NULL;
}

START_TEST(hostile_request)
{
	const hcase *c = &cases[_i];
	bool raw = c->raw || (!c->method && c->gen);
	if (raw) {
		size_t len = c->raw_len;
		char *gen = NULL;
		const char *h = NULL;
		if (c->gen)
			gen = c->gen(&len, &h);
		char *resp;
		const char *body;
		unsigned st = robust_raw(d.port, gen ? gen : c->raw, len, 3000, &resp, &body);
		check_status(c, st, body);
		if (c->answer == APP)
			check_json_error(st, resp ? raw_header(resp, "Content-Type") : NULL, body, c);
		free(resp);
		free(gen);
	} else {
		size_t len = 0;
		const char *hdr = c->hdr;
		char *gen = c->gen ? c->gen(&len, &hdr) : NULL;
		const char *path = c->path;
		const char *body = c->body;
		if (gen && !c->path) {
			path = gen; /* generated URL */
		} else if (gen) {
			body = gen;
		} else if (body) {
			len = strlen(body);
		}
		char *sample = NULL;
		if (!body && c->hdr && strncasecmp(c->hdr, "If-Match", 8) == 0) {
			/* A valid document, so that only the precondition is wrong. */
			sample = harness_read_source("schema/examples/gba-research-positive.json", &len);
			body = sample;
		}
		char auth[160];
		const char *hs[4];
		size_t n = 0;
		if (c->auth != NOAUTH) {
			snprintf(auth, sizeof auth, "Authorization: Bearer %s",
				 c->auth == ADMIN ? HARNESS_ADMIN_TOKEN
				 : c->auth == READER ? HARNESS_READER_TOKEN : "not-a-token");
			hs[n++] = auth;
		}
		if (hdr)
			hs[n++] = hdr;
		if (hdr && strncasecmp(hdr, "Transfer-Encoding", 17) == 0 && c->hdr)
			hs[n++] = c->hdr;
		hs[n] = NULL;
		http_response *r = http_request(c->method, path, hs, body, len);
		ck_assert_msg(r->status != 0, "%s: no answer (%s)", c->name, r->curl_error);
		check_status(c, (unsigned)r->status, r->body);
		if (c->answer == APP)
			check_json_error((unsigned)r->status, http_header(r, "Content-Type"), r->body, c);
		http_response_free(r);
		free(gen);
		free(sample);
	}
	assert_alive(c->name);
}
END_TEST

START_TEST(still_up_and_unchanged)
{
	assert_alive("the whole table");
	http_response *r = http_get("/healthz");
	ck_assert_int_eq(r->status, 200);
	http_response_free(r);
	long v;
	char sha[QD_SHA256_HEX];
	list_state(GBA, &v, sha);
	ck_assert_int_eq(v, gba_version);
	ck_assert_str_eq(sha, gba_sha);
	list_state(WL, &v, sha);
	ck_assert_int_eq(v, wl_version);
	ck_assert_str_eq(sha, wl_sha);
	/* Every list still has exactly the version loaded in the fixture. */
	r = http_get("/v1/lists/%s/versions", GBA);
	ck_assert_int_eq(r->status, 200);
	ck_assert_int_eq(json_array_size(json_object_get(r->json, "versions")), 1);
	http_response_free(r);
	/* And decisions still come. */
	r = http_get("/v1/lookup?code=3822190090&date=2026-11-26&list=%s", GBA);
	ck_assert_int_eq(r->status, 200);
	http_response_free(r);
	printf("hostile table: %d malformed requests, none answered 5xx; %s v%ld and %s v%ld unchanged\n",
	       NCASES, GBA, gba_version, WL, wl_version);
}
END_TEST

/* ---- documents that break a per-entry limit, at the daemon's own limits ----
 *
 * A second daemon with the default --max-document-bytes, so that a
 * document can reach the per-entry bounds of the list format. */

static harness_daemon dl;

static void limits_setup(void)
{
	static const char *const extra[] = {"--access-log", "off", NULL};
	harness_opts o = {.tokens = true, .extra_args = extra};
	char err[512];
	if (!harness_start(&dl, &o, err, sizeof err)) {
		fprintf(stderr, "cannot start qingdand: %s\n", err);
		abort();
	}
}

static void limits_teardown(void)
{
	char err[512];
	if (dl.pid && !harness_stop(&dl, err, sizeof err))
		fprintf(stderr, "stopping qingdand: %s\n", err);
}

/* PUT doc as list id; expect a 422 invalid_document naming `path` in its
 * details, and no list id afterwards. */
static void expect_refused(const char *id, char *doc, size_t len, const char *path)
{
	char url[96];
	snprintf(url, sizeof url, "/v1/lists/%s", id);
	http_response *r = http_request_auth("PUT", url, HARNESS_ADMIN_TOKEN, NULL, doc, len);
	free(doc);
	ck_assert_msg(r->status == 422, "PUT %s: HTTP %ld, expected 422: %.300s", id, r->status,
		      r->body ? r->body : "");
	json_t *e = json_object_get(r->json, "error");
	ck_assert_str_eq(json_string_value(json_object_get(e, "code")), "invalid_document");
	json_t *det = json_object_get(e, "details");
	ck_assert_uint_eq(json_array_size(det), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(det, 0), "path")), path);
	http_response_free(r);
	r = http_get("%s", url);
	ck_assert_int_eq(r->status, 404);
	http_response_free(r);
}

/* 65 537 clauses cited by one entry: the record counts them in 16 bits,
 * so it loaded and then showed one. */
START_TEST(entry_citing_65537_clauses)
{
	size_t len;
	char *doc = robust_entry_doc("many-clauses", 65537, 0, 0, &len);
	expect_refused("many-clauses", doc, len, "/entries/0/clauses");
}
END_TEST

/* One entry rendering past the store's 16 MiB read bound (8 500 remarks
 * of 2 000 bytes, each within the string limit). */
START_TEST(entry_over_16_mib)
{
	size_t len;
	char *doc = robust_entry_doc("huge-entry", 1, 0, 8500, &len);
	expect_refused("huge-entry", doc, len, "/entries/0");
}
END_TEST

/* 40 000 distinct waivers and 1 000 clauses in one entry: checked for
 * repeats pairwise, this took seconds of the event thread. */
START_TEST(entry_with_40000_waivers)
{
	size_t len;
	char *doc = robust_entry_doc("many-waivers", 1000, 40000, 0, &len);
	long t0 = robust_now_ms();
	http_response *r = http_request_auth("PUT", "/v1/lists/many-waivers", HARNESS_ADMIN_TOKEN, NULL, doc, len);
	long ms = robust_now_ms() - t0;
	free(doc);
	ck_assert_msg(r->status == 201, "HTTP %ld: %.300s", r->status, r->body ? r->body : "");
	http_response_free(r);
	ck_assert_msg(ms < 4000, "40 000 waivers took %ld ms to load", ms);
	printf("one entry with 40 000 waivers and 1 000 clauses: loaded in %ld ms\n", ms);
}
END_TEST

/* 600 query parameters: answered promptly with a JSON error,
 * whatever their names; libmicrohttpd's connection pool alone would hold
 * the connection until the idle timeout. */
static void many_params_answered(bool known)
{
	const char *what = known ? "code" : "unknown names";
	char *s = malloc(64 * 1024);
	size_t n = (size_t)sprintf(s, "GET /v1/lookup?code=38");
	for (int i = 0; i < 600; i++)
		n += (size_t)(known ? sprintf(s + n, "&code=%d", i) : sprintf(s + n, "&unknown%d=x", i));
	n += (size_t)sprintf(s + n, " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	char *resp;
	const char *body;
	long t0 = robust_now_ms();
	unsigned st = robust_raw(d.port, s, n, 5000, &resp, &body);
	long ms = robust_now_ms() - t0;
	ck_assert_msg(st == 400, "600 parameters (%s): HTTP %u after %ld ms, expected 400", what, st, ms);
	ck_assert_msg(ms < 2000, "600 parameters (%s): answered after %ld ms", what, ms);
	const hcase c = {"600 parameters", .code = "bad_parameter"};
	check_json_error(st, raw_header(resp, "Content-Type"), body, &c);
	ck_assert_msg(strstr(body, "too many query parameters"), "600 parameters: %s", body);
	printf("600 query parameters (%s): HTTP %u in %ld ms\n", what, st, ms);
	free(resp);
	free(s);
	assert_alive("600 parameters");
}

START_TEST(six_hundred_params)
{
	many_params_answered(true);
	many_params_answered(false);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("robust-hostile");
	TCase *tc = tcase_create("hostile");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, hostile_request, 0, NCASES);
	tcase_add_test(tc, still_up_and_unchanged);
	tcase_add_test(tc, six_hundred_params);
	suite_add_tcase(s, tc);
	tc = tcase_create("entry-limits");
	tcase_add_unchecked_fixture(tc, limits_setup, limits_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, entry_citing_65537_clauses);
	tcase_add_test(tc, entry_over_16_mib);
	tcase_add_test(tc, entry_with_40000_waivers);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
