/* qingdand — static pages: GET /ui, /ui/ and /ui/{file}.
 *
 * The pages (src/daemon/ui/) are embedded in the binary at build time by
 * ui/embed.py, so the daemon serves them with nothing to install and no
 * external assets: customs networks are closed.  Every page answer carries
 * a strict Content-Security-Policy (no inline script or style), nosniff,
 * no-referrer and frame-ancestors 'none'; files are revalidated with their
 * ETag (a prefix of their SHA-256) so an upgraded daemon never serves a
 * stale script. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "qingdand.h"
#include "respond.h"
#include "ui_assets.h"

#define UI_CSP                                                                                    \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "          \
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "                \
	"form-action 'self'; frame-ancestors 'none'"

static void security_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Content-Security-Policy", UI_CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
	MHD_add_response_header(resp, "Permissions-Policy", "camera=(), microphone=(), geolocation=()");
}

static const qd_ui_asset *find_asset(const char *name)
{
	for (size_t i = 0; i < qd_ui_assets_count; i++)
		if (strcmp(qd_ui_assets[i].name, name) == 0)
			return &qd_ui_assets[i];
	return NULL;
}

/* Does If-None-Match (a list of entity tags, or *) name etag? */
static bool etag_matches(const char *inm, const char *etag)
{
	size_t n = strlen(etag);
	const char *p = inm;
	while (*p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '*')
			return true;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return true;
		while (*p && *p != ',')
			p++;
	}
	return false;
}

/* Percent-encode s (one query value or name) into b. */
static void put_encoded(qd_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == ':') {
			qd_buf_putc(b, (char)ch);
		} else {
			qd_buf_putc(b, '%');
			qd_buf_putc(b, hex[ch >> 4]);
			qd_buf_putc(b, hex[ch & 15]);
		}
	}
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
			       const char *value, size_t value_size)
{
	(void)kind;
	qd_buf *b = cls;
	if (b->len > 8192)
		return MHD_NO; /* a shared link is short; drop absurd query strings */
	qd_buf_putc(b, b->len == 4 ? '?' : '&');
	put_encoded(b, key, key_size);
	if (value) {
		qd_buf_putc(b, '=');
		put_encoded(b, value, value_size);
	}
	return MHD_YES;
}

/* GET /ui: redirect to /ui/, keeping the query string (a shared link). */
static enum MHD_Result redirect_to_pages(struct MHD_Connection *c, request *r)
{
	qd_buf loc;
	qd_buf_init(&loc);
	qd_buf_puts(&loc, "/ui/");
	MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, add_arg, &loc);
	if (loc.oom || !loc.data) {
		qd_buf_free(&loc);
		return MHD_NO;
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		qd_buf_free(&loc);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, loc.data);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	security_headers(resp);
	qd_buf_free(&loc);
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_FOUND, resp);
	MHD_destroy_response(resp);
	r->status = MHD_HTTP_FOUND; /* for the access log and metrics */
	return ret;
}

enum MHD_Result h_ui(struct MHD_Connection *c, request *r)
{
	const char *pattern = r->route->pattern;
	if (strcmp(pattern, "/ui") == 0)
		return redirect_to_pages(c, r);

	/* Pages have short names; files are named as they are in ui/. */
	const char *name = "index.html";
	if (strcmp(pattern, "/ui/") != 0) {
		name = r->arg_n;
		if (strcmp(name, "admin") == 0)
			name = "admin.html"; /* "index.html" and "admin.html" work too */
	}
	const qd_ui_asset *a = find_asset(name);
	if (!a)
		return respond_error(c, E_NOT_FOUND, "no such page (the pages are /ui/ and /ui/admin)");

	const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	bool not_modified = inm && etag_matches(inm, a->etag);
	struct MHD_Response *resp =
		not_modified ? MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT)
			     : MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	if (!not_modified)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, a->etag);
	/* Revalidate every time: a 304 costs little and an upgrade is never
	 * half-applied (new page, old script). */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	security_headers(resp);
	unsigned status = not_modified ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK;
	enum MHD_Result ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	r->status = status; /* for the access log and metrics */
	return ret;
}
