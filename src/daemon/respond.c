/* qingdand — responses the handlers share (see respond.h): JSON and raw
 * bodies, errors from the HTTP table and the library's, the pool of large
 * response blocks, query parameters, JSON request bodies, and storing a
 * list version with its reply. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qingdan/err.h"
#include "qingdand.h"
#include "render.h"
#include "feedwait.h"
#include "respond.h"

static const struct {
	unsigned status;
	const char *code;
	const char *message;
} errors[E_COUNT] = {
#define X(name, st, c, m) [name] = {st, c, m},
	QD_HTTP_ERRORS(X)
#undef X
};


bool json_depth_within(const char *p, size_t n, unsigned max)
{
	unsigned depth = 0;
	bool in_str = false;
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
		} else if (ch == '"') {
			in_str = true;
		} else if (ch == '[' || ch == '{') {
			if (++depth > max)
				return false;
		} else if ((ch == ']' || ch == '}') && depth) {
			depth--;
		}
	}
	return true;
}

/* What the last response queued by this thread said, for the audit. A
 * request is answered entirely on one thread, so thread-local is exact. */
static __thread unsigned tls_status;
static __thread char tls_message[256];

unsigned last_status(void)
{
	return tls_status;
}

const char *last_error_message(void)
{
	return tls_message[0] ? tls_message : NULL;
}

void respond_reset_last(void)
{
	tls_status = 0;
	tls_message[0] = '\0';
}

uint32_t parse_version(const char *s, size_t n)
{
	if (!s || n == 0 || n > 10 || s[0] == '0')
		return 0;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v <= 0x7fffffff ? (uint32_t)v : 0;
}

/* ---- responses ---- */

/* Add the headers every response carries and queue resp (consumed). */
static enum MHD_Result queue_response(struct MHD_Connection *c, unsigned status, struct MHD_Response *resp,
				      const char *ctype, const char *cache, const char *hname,
				      const char *hvalue)
{
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (cache)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
	if (hname)
		MHD_add_response_header(resp, hname, hvalue);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"qingdan\"");
	enum MHD_Result ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	tls_status = status;
	return ret;
}

enum MHD_Result respond_raw(struct MHD_Connection *c, unsigned status, char *data, size_t len,
			    const char *ctype, const char *cache, const char *hname, const char *hvalue)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(data);
		return MHD_NO;
	}
	return queue_response(c, status, resp, ctype, cache, hname, hvalue);
}

enum MHD_Result respond_stream(struct MHD_Connection *c, unsigned status, uint64_t size,
			       MHD_ContentReaderCallback read,
			       void *cls, MHD_ContentReaderFreeCallback free_cls, const char *ctype,
			       const char *cache, const char *hname, const char *hvalue)
{
	/* The block size is what libmicrohttpd asks the reader for at a
	 * time: large enough that a big document costs few calls. */
	struct MHD_Response *resp = MHD_create_response_from_callback(size, 64 * 1024, read, cls, free_cls);
	if (!resp) {
		free_cls(cls);
		return MHD_NO;
	}
	return queue_response(c, status, resp, ctype, cache, hname, hvalue);
}

/* ---- bodies of small responses ----
 * A lookup answers a few KiB, written into 16 KiB taken at once (one
 * allocation instead of a doubling series) and freed once sent.  glibc
 * serves a request of that size from its large bins, and before doing so
 * merges the small chunks the request's other allocations freed: some
 * 2 000 instructions a lookup (callgrind).  Each thread keeps up to
 * SMALL_POOL such buffers for its next responses instead.  A buffer goes
 * back to the pool of the thread that lets go of the response — with
 * libmicrohttpd, the thread that answered — and the pool is freed when
 * that thread ends. */
#define SMALL_POOL 4
#define SMALL_MIN ((size_t)16 << 10)
#define SMALL_MAX ((size_t)64 << 10)

typedef struct small_pool {
	char *p[SMALL_POOL];
	size_t cap[SMALL_POOL];
	size_t n;
} small_pool;

static __thread small_pool *tls_small;
static pthread_key_t small_key;
static pthread_once_t small_once = PTHREAD_ONCE_INIT;
static bool small_key_ok;

static void small_pool_free(void *v)
{
	small_pool *sp = v;
	for (size_t i = 0; i < sp->n; i++)
		free(sp->p[i]);
	free(sp);
	if (tls_small == sp)
		tls_small = NULL;
}

static void small_key_make(void)
{
	small_key_ok = pthread_key_create(&small_key, small_pool_free) == 0;
}

/* The calling thread's pool, made on first use; NULL: none (no memory). */
static small_pool *small_pool_get(void)
{
	if (tls_small)
		return tls_small;
	pthread_once(&small_once, small_key_make);
	if (!small_key_ok)
		return NULL;
	small_pool *sp = calloc(1, sizeof *sp);
	if (!sp)
		return NULL;
	/* The key's destructor frees the pool when the thread ends. */
	if (pthread_setspecific(small_key, sp)) {
		free(sp);
		return NULL;
	}
	return tls_small = sp;
}

static void small_release(void *cls)
{
	char *p = cls;
	size_t cap = malloc_usable_size(p);
	small_pool *sp = cap >= SMALL_MIN && cap <= SMALL_MAX ? small_pool_get() : NULL;
	if (sp && sp->n < SMALL_POOL) {
		sp->p[sp->n] = p;
		sp->cap[sp->n++] = cap;
		return;
	}
	free(p);
}

/* Finish a JSON body and queue it with one optional extra header. */
static enum MHD_Result respond_json_with(struct MHD_Connection *c, unsigned status, qd_buf *body,
					 const char *hname, const char *hvalue)
{
	size_t len;
	qd_buf_putc(body, '\n');
	size_t cap = body->cap;
	char *data = qd_buf_steal(body, &len);
	if (!data)
		return MHD_NO;
	if (cap < SMALL_MIN || cap > SMALL_MAX)
		return respond_raw(c, status, data, len, "application/json; charset=utf-8", "no-store", hname,
				   hvalue);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer_with_free_callback_cls(len, data, small_release, data);
	if (!resp) {
		free(data);
		return MHD_NO;
	}
	return queue_response(c, status, resp, "application/json; charset=utf-8", "no-store", hname, hvalue);
}

/* ---- blocks of large responses ----
 * A 1 000-item check answers some 6 MB.  When libmicrohttpd has sent it,
 * its block goes back to a small pool for the next large response instead
 * of to malloc, which may return it to the kernel and fault a fresh one in
 * for the next request (some 1 500 page faults, and throughput that varies
 * with the allocator's mood).  A few blocks of BLOCK_MIN..BLOCK_MAX bytes
 * are kept, and freed when no response has taken them for
 * RESPONSE_POOL_IDLE_S seconds, so a burst of checks does not keep its
 * memory for good. */
#define BLOCK_POOL 4
#define BLOCK_MIN ((size_t)1 << 20)
#define BLOCK_MAX ((size_t)64 << 20)

typedef struct block {
	char *p;
	size_t cap;
	time_t pooled;  /* CLOCK_MONOTONIC seconds when it went back to the pool */
} block;

static time_t mono_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static block pool[BLOCK_POOL];
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

void response_buf_init(qd_buf *b, size_t want)
{
	qd_buf_init(b);
	small_pool *sp = tls_small;
	if (want < SMALL_MIN && sp && sp->n) {
		sp->n--;
		b->data = sp->p[sp->n];
		b->cap = sp->cap[sp->n];
		b->data[0] = '\0';
	} else if (want >= BLOCK_MIN) {
		pthread_mutex_lock(&pool_lock);
		for (size_t i = 0; i < BLOCK_POOL; i++) {
			if (pool[i].p && pool[i].cap > want) {
				b->data = pool[i].p;
				b->cap = pool[i].cap;
				pool[i] = (block){0};
				break;
			}
		}
		pthread_mutex_unlock(&pool_lock);
	}
	qd_buf_reserve(b, want);
}

static void block_release(void *cls)
{
	block *k = cls;
	bool kept = false;
	if (k->cap >= BLOCK_MIN && k->cap <= BLOCK_MAX) {
		k->pooled = mono_seconds();
		pthread_mutex_lock(&pool_lock);
		for (size_t i = 0; i < BLOCK_POOL && !kept; i++) {
			if (!pool[i].p) {
				pool[i] = *k;
				kept = true;
			}
		}
		pthread_mutex_unlock(&pool_lock);
	}
	if (!kept)
		free(k->p);
	free(k);
}

void response_pool_trim(void)
{
	time_t now = mono_seconds();
	bool freed = false;
	pthread_mutex_lock(&pool_lock);
	for (size_t i = 0; i < BLOCK_POOL; i++) {
		if (pool[i].p && now - pool[i].pooled >= RESPONSE_POOL_IDLE_S) {
			free(pool[i].p);
			pool[i] = (block){0};
			freed = true;
		}
	}
	pthread_mutex_unlock(&pool_lock);
	/* Blocks that came from the heap rather than their own mapping go
	 * back to the kernel only when asked. */
	if (freed)
		malloc_trim(0);
}

void response_pool_free(void)
{
	/* Other threads' small pools go with them; the caller's, here. */
	if (tls_small) {
		pthread_setspecific(small_key, NULL);
		small_pool_free(tls_small);
	}
	pthread_mutex_lock(&pool_lock);
	for (size_t i = 0; i < BLOCK_POOL; i++) {
		free(pool[i].p);
		pool[i] = (block){0};
	}
	pthread_mutex_unlock(&pool_lock);
}

enum MHD_Result respond_json_from(struct MHD_Connection *c, unsigned status, qd_buf *body, size_t start)
{
	size_t len;
	qd_buf_putc(body, '\n');
	size_t cap = body->cap;
	char *data = qd_buf_steal(body, &len);
	if (!data)
		return MHD_NO;
	block *k = malloc(sizeof *k);
	if (start > len || !k) {
		free(data);
		free(k);
		return MHD_NO;
	}
	*k = (block){data, cap, 0};
	/* The response points into the block; the callback releases the block
	 * itself, so the head room costs no copy of a multi-megabyte body. */
	struct MHD_Response *resp =
		MHD_create_response_from_buffer_with_free_callback_cls(len - start, data + start, block_release, k);
	if (!resp) {
		free(data);
		free(k);
		return MHD_NO;
	}
	return queue_response(c, status, resp, "application/json; charset=utf-8", "no-store", NULL, NULL);
}

enum MHD_Result respond_json(struct MHD_Connection *c, unsigned status, qd_buf *body)
{
	return respond_json_with(c, status, body, NULL, NULL);
}

enum MHD_Result respond_etag(struct MHD_Connection *c, qd_buf *body, uint32_t version)
{
	char etag[24];
	snprintf(etag, sizeof etag, "\"%u\"", version);
	return respond_json_with(c, MHD_HTTP_OK, body, MHD_HTTP_HEADER_ETAG, etag);
}

static void error_head(qd_buf *b, enum qd_http_error e, const char *message)
{
	snprintf(tls_message, sizeof tls_message, "%s", message ? message : errors[e].message);
	qd_buf_puts(b, "{\"error\":{\"code\":");
	qd_buf_json_cstr(b, errors[e].code);
	qd_buf_puts(b, ",\"message\":");
	qd_buf_json_cstr(b, message ? message : errors[e].message);
}

enum MHD_Result respond_error(struct MHD_Connection *c, enum qd_http_error e, const char *message)
{
	qd_buf b;
	qd_buf_init(&b);
	error_head(&b, e, message);
	qd_buf_puts(&b, ",\"details\":[]}}");
	return respond_json(c, errors[e].status, &b);
}

enum MHD_Result respond_param_error(struct MHD_Connection *c, enum qd_http_error e, const char *name,
				    const char *message)
{
	qd_buf b;
	qd_buf_init(&b);
	error_head(&b, e, message);
	qd_buf_puts(&b, ",\"details\":[{\"parameter\":");
	if (name)
		qd_buf_json_cstr(&b, name);
	else
		qd_buf_json_str(&b, message, strcspn(message, ": "));
	qd_buf_puts(&b, ",\"message\":");
	qd_buf_json_cstr(&b, message);
	qd_buf_puts(&b, "}]}}");
	return respond_json(c, errors[e].status, &b);
}

enum MHD_Result respond_error_retry(struct MHD_Connection *c, enum qd_http_error e, const char *message,
				    unsigned seconds)
{
	qd_buf b;
	qd_buf_init(&b);
	error_head(&b, e, message);
	qd_buf_puts(&b, ",\"details\":[]}}");
	char after[16];
	snprintf(after, sizeof after, "%u", seconds);
	return respond_json_with(c, errors[e].status, &b, MHD_HTTP_HEADER_RETRY_AFTER, after);
}

enum MHD_Result respond_problems(struct MHD_Connection *c, enum qd_http_error e,
				 const char *message, const qd_problems *p)
{
	qd_buf b;
	qd_buf_init(&b);
	error_head(&b, e, message);
	qd_buf_puts(&b, ",\"details\":[");
	for (size_t i = 0; i < p->count; i++) {
		const qd_problem *pr = &p->items[i];
		if (i)
			qd_buf_putc(&b, ',');
		qd_buf_puts(&b, "{\"message\":");
		qd_buf_json_cstr(&b, pr->message);
		if (pr->path) {
			qd_buf_puts(&b, ",\"path\":");
			qd_buf_json_cstr(&b, pr->path);
		} else {
			qd_buf_printf(&b, ",\"line\":%u,\"column\":%u", pr->line, pr->column);
		}
		qd_buf_putc(&b, '}');
	}
	if (p->omitted) {
		if (p->count)
			qd_buf_putc(&b, ',');
		qd_buf_printf(&b, "{\"message\":\"%zu more problems not shown\",\"path\":\"\"}", p->omitted);
	}
	qd_buf_puts(&b, "]}}");
	return respond_json(c, errors[e].status, &b);
}

/* The HTTP error of each library error, indexed by -err; 0 where none
 * (QD_OK), else the enum qd_http_error value + 1. */
static const unsigned char lib_http[] = {
#define X(lib, http) [-(lib)] = (http) + 1,
	QD_LIB_HTTP_ERRORS(X)
#undef X
};

/* The checks that keep QD_LIB_HTTP_ERRORS and the library's table in step:
 * the same status from both, one row for every library error but QD_OK. */
enum {
#define X(name, st, c, m) HTTP_STATUS_##name = st,
	QD_HTTP_ERRORS(X)
#undef X
#define X(name, value, code, http, exit, msg) LIB_STATUS_##name = http,
	QD_ERRORS(X)
#undef X
};
#define X(lib, http) \
	_Static_assert(LIB_STATUS_##lib == HTTP_STATUS_##http, #lib " is answered with the status err.h gives it");
QD_LIB_HTTP_ERRORS(X)
#undef X
enum {
#define X(name, value, code, http, exit, msg) | (1ull << -(value))
	LIB_ERRORS = 0 QD_ERRORS(X),
#undef X
#define X(lib, http) | (1ull << -(lib))
	LIB_MAPPED = 0 QD_LIB_HTTP_ERRORS(X),
#undef X
#define X(...) + 1
	LIB_MAPPED_ROWS = 0 QD_LIB_HTTP_ERRORS(X),
#undef X
};
_Static_assert(LIB_MAPPED == (LIB_ERRORS & ~1ull), "every library error but QD_OK has an HTTP error");
_Static_assert(LIB_MAPPED_ROWS == __builtin_popcountll(LIB_MAPPED), "no library error has two HTTP errors");

enum MHD_Result respond_lib_problems(struct MHD_Connection *c, int err, const char *message,
				     const qd_problems *p)
{
	enum qd_http_error e = E_INTERNAL;
	if (err < 0 && -(long)err < (long)(sizeof lib_http / sizeof lib_http[0]) && lib_http[-err])
		e = (enum qd_http_error)(lib_http[-err] - 1);
	/* "internal error" alone says nothing: the library's own words say
	 * what failed, and nothing about the request. */
	if (!message && e == E_INTERNAL)
		message = qd_strerror(err);
	return p ? respond_problems(c, e, message, p) : respond_error(c, e, message);
}

enum MHD_Result respond_lib_error(struct MHD_Connection *c, int err, const char *message)
{
	return respond_lib_problems(c, err, message, NULL);
}

enum MHD_Result respond_problem(struct MHD_Connection *c, enum qd_http_error e, const char *path,
				const char *message)
{
	qd_problems pr;
	qd_problems_init(&pr);
	qd_problems_add(&pr, path, "%s", message);
	enum MHD_Result ret = respond_problems(c, e, message, &pr);
	qd_problems_free(&pr);
	return ret;
}

enum MHD_Result respond_method_not_allowed(struct MHD_Connection *c, const char *allow)
{
	qd_buf b;
	qd_buf_init(&b);
	error_head(&b, E_METHOD_NOT_ALLOWED, NULL);
	qd_buf_puts(&b, ",\"details\":[]}}");
	return respond_json_with(c, MHD_HTTP_METHOD_NOT_ALLOWED, &b, MHD_HTTP_HEADER_ALLOW, allow);
}

/* ---- query parameters ---- */

typedef struct param_ctx {
	param *params;
	size_t n;
	char msg[160];
	char name[40];  /* the parameter concerned; empty when it cannot be shown */
	enum qd_http_error err;
	bool failed;
} param_ctx;

static enum MHD_Result param_it(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
				const char *value, size_t value_size)
{
	param_ctx *x = cls;
	if (x->failed)
		return MHD_NO;
	size_t i;
	/* The first byte before the length: most names differ there. */
	for (i = 0; i < x->n; i++)
		if (x->params[i].name[0] == key[0] && strlen(x->params[i].name) == key_size &&
		    memcmp(x->params[i].name, key, key_size) == 0)
			break;
	if (i == x->n || memchr(key, 0, key_size)) {
		/* Names are echoed only when short and printable. */
		bool show = key_size <= 32;
		for (size_t j = 0; show && j < key_size; j++)
			show = key[j] > 0x20 && key[j] < 0x7f && key[j] != '"' && key[j] != '\\';
		if (show) {
			snprintf(x->msg, sizeof x->msg, "unknown query parameter \"%.*s\"", (int)key_size, key);
			snprintf(x->name, sizeof x->name, "%.*s", (int)key_size, key);
		} else
			snprintf(x->msg, sizeof x->msg, "unknown query parameter");
		x->err = E_UNKNOWN_PARAMETER;
		x->failed = true;
		return MHD_NO;
	}
	param *p = &x->params[i];
	/* The name is copied for the error alone: no printf on the way of a
	 * good parameter. */
	if (p->value) {
		snprintf(x->name, sizeof x->name, "%s", p->name);
		snprintf(x->msg, sizeof x->msg, "query parameter \"%s\" is repeated", p->name);
		x->err = E_REPEATED_PARAMETER;
		x->failed = true;
		return MHD_NO;
	}
	if (!value)
		value = "";
	size_t max = p->max ? p->max : QD_PARAM_MAX;
	if (value_size > max || memchr(value, 0, value_size)) {
		snprintf(x->name, sizeof x->name, "%s", p->name);
		if (value_size > max)
			snprintf(x->msg, sizeof x->msg, "query parameter \"%s\" is too long (at most %zu bytes)",
				 p->name, max);
		else
			snprintf(x->msg, sizeof x->msg, "query parameter \"%s\" is not text (contains NUL)", p->name);
		x->err = E_BAD_PARAMETER;
		x->failed = true;
		return MHD_NO;
	}
	p->value = value;
	p->len = value_size;
	return MHD_YES;
}

bool get_params(struct MHD_Connection *c, param *params, size_t n, enum MHD_Result *result)
{
	param_ctx x = {.params = params, .n = n};
	for (size_t i = 0; i < n; i++)
		params[i].value = NULL;
	MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, param_it, &x);
	if (x.failed) {
		*result = x.name[0] ? respond_param_error(c, x.err, x.name, x.msg) : respond_error(c, x.err, x.msg);
		return false;
	}
	return true;
}

/* ---- storing a list version ---- */

/* Quotes around the version are optional. */
long parse_if_match(struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MATCH);
	if (!h)
		return 0;
	size_t n = strlen(h);
	if (n >= 2 && h[0] == '"' && h[n - 1] == '"') {
		h++;
		n -= 2;
	}
	uint32_t v = parse_version(h, n);
	return v ? (long)v : -1;
}

/* The client's address as text ("-" when unknown). */
const char *client_address(struct MHD_Connection *c, char out[46])
{
	strcpy(out, "-");
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
				  INET6_ADDRSTRLEN);
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
				  INET6_ADDRSTRLEN);
	}
	return out;
}

enum MHD_Result respond_put_error(struct MHD_Connection *c, int err, long if_match, const char *list,
				  const qd_problems *pr)
{
	char msg[160];
	const char *m = NULL;
	if (err == QD_EINVAL) {
		m = "the list document breaks a loader rule; nothing was stored";
	} else if (err == QD_ECONFLICT) {
		snprintf(msg, sizeof msg, "If-Match: \"%ld\" is not the current version of %s; nothing was stored",
			 if_match, list);
		m = msg;
	} else if (err == QD_ESCHEDULE && pr && pr->count) {
		m = pr->items[0].message; /* names the later version and its instant */
	}
	return respond_lib_problems(c, err, m, pr);
}

enum MHD_Result store_and_reply(struct MHD_Connection *c, request *r, const qd_listdoc *doc,
				const char *action, const char *source, bool dry)
{
	long if_match = parse_if_match(c);
	if (if_match < 0)
		return respond_error(c, E_BAD_HEADER, "If-Match: expected a version number such as \"3\"");
	qd_problems pr;
	qd_problems_init(&pr);
	qd_changes changes = {0};
	char client[INET6_ADDRSTRLEN];
	qd_put_opts o = {
		.actor = r->actor,
		.action = action,
		.source = source,
		.client = client_address(c, client),
		.now = (int64_t)time(NULL),
		.if_match = (uint32_t)if_match,
		.dry_run = dry,
		.changes = &changes,
		.effective_at = r->effective_at,
	};
	qd_put_result pres;
	enum MHD_Result res;
	r->audit_action = action;
	int err = qd_store_put(r->srv->store, doc, &o, &pres, &pr);
	if (err) {
		res = respond_put_error(c, err, if_match, doc->list, &pr);
		goto out;
	}
	r->audit_res = pres;
	r->audit_res_set = true;
	if (dry) {
		r->audit_outcome = "dry_run";
		r->audit_source = source;
	}
	else {
		r->audited = true; /* the store wrote the record with the change */
		feedwait_notify(r->srv->feedwait); /* and its feed record: wake long polls */
	}
	char list[4 * QD_LIST_ID_MAX + 1], actor[4 * QD_ACTOR_MAX + 1];
	fprintf(stderr, "qingdand: %s %s %s version %u (%zu entries, +%zu -%zu ~%zu) by %s\n",
		dry ? "dry run:" : "stored", action, log_escape(list, sizeof list, doc->list), pres.version,
		pres.entries, pres.added, pres.removed, pres.changed, log_escape(actor, sizeof actor, r->actor));
	qd_buf b;
	qd_buf_init(&b);
	if (render_put_result(&b, doc->list, &pres, action, &changes, dry)) {
		qd_buf_free(&b);
		res = respond_lib_error(c, QD_ENOMEM, NULL);
		goto out;
	}
	res = respond_json(c, pres.created && !dry ? MHD_HTTP_CREATED : MHD_HTTP_OK, &b);
out:
	qd_changes_free(&changes);
	qd_problems_free(&pr);
	return res;
}

/* ---- query parameters and request bodies ---- */

bool bool_param(struct MHD_Connection *c, const param *p, bool *out, enum MHD_Result *result)
{
	*out = false;
	if (!p->value)
		return true;
	if (strcmp(p->value, "true") == 0 || strcmp(p->value, "1") == 0) {
		*out = true;
		return true;
	}
	if (strcmp(p->value, "false") == 0 || strcmp(p->value, "0") == 0)
		return true;
	char msg[96];
	snprintf(msg, sizeof msg, "%s: expected true or false", p->name);
	*result = respond_param_error(c, E_BAD_PARAMETER, p->name, msg);
	return false;
}

const char *check_effective_at(const char *s, size_t n, int64_t *out)
{
	if (qd_time_parse(s, n, out))
		return "effective_at: expected an RFC 3339 date-time with its offset, e.g. 2026-12-01T00:00:00+08:00";
	if (*out <= (int64_t)time(NULL))
		return "effective_at: must be in the future (a change that takes effect now needs none)";
	return NULL;
}

bool no_params(struct MHD_Connection *c, enum MHD_Result *result)
{
	/* get_params() needs an array to point at, never read when n is 0. */
	param none[1] = {{.name = "-"}};
	return get_params(c, none, 0, result);
}

bool parse_json_body(struct MHD_Connection *c, request *r, json_t **out, enum MHD_Result *result)
{
	const char *data = r->body.data ? r->body.data : "";
	unsigned max = r->srv->cfg.max_json_depth;
	char msg[300];
	*out = NULL;
	if (!json_depth_within(data, r->body.len, max)) {
		snprintf(msg, sizeof msg, "request body is nested deeper than %u levels", max);
		*result = respond_error(c, E_BAD_JSON, msg);
		return false;
	}
	json_error_t jerr;
	*out = json_loadb(data, r->body.len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!*out) {
		snprintf(msg, sizeof msg, "request body is not valid JSON: %s (line %d, column %d)", jerr.text,
			 jerr.line, jerr.column);
		*result = respond_error(c, E_BAD_JSON, msg);
		return false;
	}
	return true;
}

bool parse_json_only(struct MHD_Connection *c, request *r, json_t **out, enum MHD_Result *result)
{
	*out = NULL;
	return no_params(c, result) && parse_json_body(c, r, out, result);
}
