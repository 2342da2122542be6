/* qingdand — internal interfaces of the daemon (not installed). */
#ifndef QINGDAND_H
#define QINGDAND_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "qingdan/buf.h"
#include "qingdan/decide.h"
#include "qingdan/problems.h"
#include "qingdan/store.h"
#include "logq.h"
#include "metrics.h"
#include "snaps.h"

/* Hard limits (defaults; each has an option).  Bodies are checked against
 * Content-Length when the headers arrive and again while chunked bodies
 * stream in. */
#define QD_BODY_MAX_DOCUMENT ((size_t)64 << 20) /* PUT of a list document */
#define QD_BODY_MAX_DEFAULT ((size_t)1 << 20)   /* every other body */
#define QD_CHECK_ITEMS_MAX 1000
#define QD_CONNECTIONS_MAX 1024
#define QD_CONNECTIONS_PER_IP_MAX 256
#define QD_CONNECTION_TIMEOUT 30                /* seconds a connection may idle */
#define QD_REQUEST_HEADER_MAX (32 * 1024)       /* bytes of request line + headers */
#define QD_JSON_DEPTH_MAX 64                    /* nesting of JSON request bodies */
#define QD_SHUTDOWN_GRACE 10                    /* seconds for in-flight requests at exit */
#define QD_ENTRIES_LIMIT_DEFAULT 100
#define QD_ENTRIES_LIMIT_MAX 1000
#define QD_PARAM_MAX 512                        /* bytes of one query value */

/* ---- errors: one table, one row per error ---- */
#define QD_HTTP_ERRORS(X) \
	X(E_BAD_PARAMETER, 400, "bad_parameter", "a query parameter is invalid") \
	X(E_UNKNOWN_PARAMETER, 400, "unknown_parameter", "unknown query parameter") \
	X(E_REPEATED_PARAMETER, 400, "repeated_parameter", "a query parameter is repeated") \
	X(E_MISSING_PARAMETER, 400, "missing_parameter", "a required query parameter is missing") \
	X(E_BAD_HEADER, 400, "bad_header", "a request header is invalid") \
	X(E_BAD_BODY, 400, "bad_body", "the request body is invalid") \
	X(E_BAD_JSON, 400, "bad_json", "the request body is not valid UTF-8 JSON") \
	X(E_UNAUTHORIZED, 401, "unauthorized", "a valid bearer token is required") \
	X(E_FORBIDDEN, 403, "forbidden", "the token lacks the required role") \
	X(E_ADMIN_DISABLED, 403, "admin_disabled", "admin endpoints are disabled: the daemon runs without a tokens file") \
	X(E_NOT_FOUND, 404, "not_found", "no such resource") \
	X(E_LIST_NOT_FOUND, 404, "list_not_found", "no such list") \
	X(E_VERSION_NOT_FOUND, 404, "version_not_found", "no such version of the list") \
	X(E_METHOD_NOT_ALLOWED, 405, "method_not_allowed", "method not allowed on this resource") \
	X(E_PRECONDITION_FAILED, 412, "precondition_failed", "If-Match does not match the list's current version") \
	X(E_TOO_LARGE, 413, "payload_too_large", "the request body is too large") \
	X(E_UNSUPPORTED_MEDIA, 415, "unsupported_media_type", "unsupported Content-Type") \
	X(E_INVALID_DOCUMENT, 422, "invalid_document", "the list document breaks the loader rules") \
	X(E_INTERNAL, 500, "internal_error", "internal error") \
	X(E_NOT_READY, 503, "not_ready", "not ready") \
	X(E_STORAGE_FULL, 507, "storage_full", "storage full: the change was not stored; the previous version stays current")

enum qd_http_error {
#define X(name, status, code, msg) name,
	QD_HTTP_ERRORS(X)
#undef X
	E_COUNT
};

enum access { ACCESS_OPEN, ACCESS_READ, ACCESS_ADMIN };

/* ---- tokens ---- */
enum role { ROLE_READER = 1, ROLE_ADMIN = 2 };

typedef struct token {
	char name[QD_ACTOR_MAX + 1];
	enum role role;
	char sha256[QD_SHA256_HEX];
} token;

typedef struct tokens {
	token *v;
	size_t n;
} tokens;

/* Parse a tokens file ("NAME ROLE SHA256HEX" lines, '#' comments).
 * Returns 0, or -1 with an English message naming the line in err. */
int tokens_load(const char *path, tokens *out, char *err, size_t errlen);
void tokens_free(tokens *t);

/* ---- settings: every option, from the command line or --config ---- */
typedef struct settings {
	char *db, *listen, *tokens, *access_log, *decision_log, *tls_cert, *tls_key;
	bool read_auth;
	unsigned threads;
	int utc_offset;
	unsigned retain;
	uint64_t map_size;
	size_t max_document_bytes, max_body_bytes;
	unsigned max_check_items, max_connections, max_connections_per_ip, connection_timeout;
	size_t max_header_bytes;
	unsigned max_json_depth;
	unsigned shutdown_grace;
	size_t read_cache;           /* bound of each worker thread's read cache; 0: off */
} settings;

/* ---- server ---- */
typedef struct server {
	settings cfg;
	metrics m;
	logq *access_log;            /* NULL: access log off */
	logq *decision_log;          /* NULL: no decision log */
	int64_t started;             /* unix seconds */
	qd_store *store;
	const char *tokens_path;     /* NULL: no tokens file, admin disabled (= cfg.tokens) */
	pthread_rwlock_t tokens_lock; /* guards tokens: SIGHUP swaps them */
	tokens tokens;
	bool read_auth;              /* reads need a token */
	int utc_offset;              /* minutes east of UTC for "today" */
	char id_prefix[9];           /* random per process, for decision ids */
	atomic_uint_fast64_t id_seq;
	snaps snaps;                 /* every worker thread's read snapshot (snaps.h) */
} server;

/* Per-request state, hung off *req_cls and freed in the completion callback. */
typedef struct request {
	server *srv;
	const struct route *route;
	char list_id[QD_LIST_ID_MAX + 1]; /* {id} path segment, when the route has one */
	char arg_n[16];                  /* {n} path segment, when the route has one */
	struct timespec t0;              /* when the headers arrived */
	unsigned route_index;            /* into the route table; METRICS_ROUTES_MAX when none */
	unsigned status;                 /* of the response queued */
	const char *method;              /* borrowed from libmicrohttpd, valid for the request */
	char path[128];                  /* start of the URL path, for the access log */
	qd_buf body;
	size_t body_max;
	bool too_large;
	bool body_is_csv;
	char actor[QD_ACTOR_MAX + 1];    /* token name or "anonymous" */
	bool authorized;
	int early_error;                 /* error found at header time, answered at the end; -1 none */
	const char *early_detail;
	/* Audit of admin requests: a stored change is audited by the store in
	 * its own transaction (audited = true); everything else on an admin
	 * route — refusals, failures, dry runs — by the dispatcher from these. */
	bool audited;
	const char *audit_action;        /* "load", "import", "rollback", "audit" */
	const char *audit_outcome;       /* NULL: derived from the status */
	const char *audit_source;        /* the change's source label, for dry runs */
	qd_put_result audit_res;         /* counts when audit_res_set */
	bool audit_res_set;
} request;

typedef enum MHD_Result (*handler_fn)(struct MHD_Connection *c, request *r);

typedef struct route {
	const char *pattern;  /* "/v1/lists/{id}"; {id} is a list id segment */
	const char *method;
	handler_fn handler;
	enum access access;
	enum body_kind { BODY_NONE, BODY_SMALL, BODY_DOCUMENT } body; /* limit: none, max_body_bytes, max_document_bytes */
	bool csv;             /* also accepts text/csv bodies */
	const char *action;   /* audit action name for admin routes */
} route;

/* ---- responses ---- */

/* Queue a JSON response; body is taken over (freed by libmicrohttpd). */
enum MHD_Result respond_json(struct MHD_Connection *c, unsigned status, qd_buf *body);
/* Start a response body of about want bytes, in a pooled block when one is
 * free (large bodies; see http.c).  Send it with respond_json_from(). */
void response_buf_init(qd_buf *b, size_t want);
/* Free the pooled blocks nobody has taken for RESPONSE_POOL_IDLE_S seconds
 * and give the memory back to the kernel (the main thread, once a second). */
#define RESPONSE_POOL_IDLE_S 5
void response_pool_trim(void);
/* Free the pooled blocks (at exit). */
void response_pool_free(void);
/* Queue the bytes of body from offset start on as a JSON response: the bytes
 * before start are room the caller left for a head it wrote last and are
 * not sent.  body's memory is taken over (freed once libmicrohttpd is done). */
enum MHD_Result respond_json_from(struct MHD_Connection *c, unsigned status, qd_buf *body, size_t start);
/* Queue an error from the table; message NULL uses the table's default. */
enum MHD_Result respond_error(struct MHD_Connection *c, enum qd_http_error e, const char *message);
/* Same, with a "details" array of problems. */
enum MHD_Result respond_problems(struct MHD_Connection *c, enum qd_http_error e,
				 const char *message, const qd_problems *p);
/* The status and error message of the last response queued by this thread. */
unsigned last_status(void);
const char *last_error_message(void);
/* Queue a 200 JSON response carrying ETag: "<version>"; body is taken over. */
enum MHD_Result respond_etag(struct MHD_Connection *c, qd_buf *body, uint32_t version);
/* Queue data (malloc()ed, taken over) with a Content-Type, a Cache-Control
 * (NULL: none) and one optional extra header (hname NULL: none). */
enum MHD_Result respond_raw(struct MHD_Connection *c, unsigned status, char *data, size_t len,
			    const char *ctype, const char *cache, const char *hname, const char *hvalue);
/* Parse a positive version number (1..2^31-1); returns 0 when invalid. */
uint32_t parse_version(const char *s, size_t n);
/* Is the JSON text at most max levels deep?  Checked before parsing so a
 * hostile body cannot make the parser recurse deeply. */
bool json_depth_within(const char *p, size_t n, unsigned max);
/* If-Match: 0 when absent, the version, or -1 when malformed. */
long parse_if_match(struct MHD_Connection *c);
/* Store doc as the list's new version (or dry-run it) and answer with the
 * load reply; records what happened for the audit. */
enum MHD_Result store_and_reply(struct MHD_Connection *c, request *r, const qd_listdoc *doc,
				const char *action, const char *source, bool dry);
/* Error for a library error code (ENOSPC → 507 …). */
enum MHD_Result respond_lib_error(struct MHD_Connection *c, int err);

/* ---- query parameters ---- */
typedef struct param {
	const char *name;
	const char *value;  /* NULL when absent */
	size_t len;
} param;

/* Collect the query string into params (names given, values NULL).  Unknown,
 * repeated, overlong or NUL-containing parameters are answered with 400 and
 * false is returned (*result holds the MHD result to return). */
bool get_params(struct MHD_Connection *c, param *params, size_t n, enum MHD_Result *result);

/* ---- dispatch (http.c): libmicrohttpd's callbacks, cls being the server ---- */

/* The access handler: matches the route, checks auth and body limits, and
 * runs the handler once the body is in. */
enum MHD_Result qd_access_handler(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls);
/* The completion callback: counts, logs and frees the request in *req_cls
 * (also for aborted requests). */
void qd_request_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			  enum MHD_RequestTerminationCode toe);

/* Copy the route table's labels, by route index, into out (at most max).
 * The strings are string literals.  Returns the number copied. */
unsigned route_labels(metrics_route *out, unsigned max);

/* ---- handlers ---- */
enum MHD_Result h_lookup(struct MHD_Connection *c, request *r);
enum MHD_Result h_check(struct MHD_Connection *c, request *r);
enum MHD_Result h_lists(struct MHD_Connection *c, request *r);
enum MHD_Result h_list_get(struct MHD_Connection *c, request *r);
enum MHD_Result h_list_put(struct MHD_Connection *c, request *r);
enum MHD_Result h_entries(struct MHD_Connection *c, request *r);
enum MHD_Result h_versions(struct MHD_Connection *c, request *r);
enum MHD_Result h_version_get(struct MHD_Connection *c, request *r);
enum MHD_Result h_diff(struct MHD_Connection *c, request *r);
enum MHD_Result h_rollback(struct MHD_Connection *c, request *r);
enum MHD_Result h_audit(struct MHD_Connection *c, request *r);
/* Static pages: GET /ui, /ui/ and /ui/{file} (r->arg_n holds the file name). */
enum MHD_Result h_ui(struct MHD_Connection *c, request *r);
enum MHD_Result h_status(struct MHD_Connection *c, request *r);
enum MHD_Result h_metrics(struct MHD_Connection *c, request *r);
enum MHD_Result h_healthz(struct MHD_Connection *c, request *r);
enum MHD_Result h_readyz(struct MHD_Connection *c, request *r);

/* Render one list's metadata object into b. */
void render_list_meta(qd_buf *b, const qd_list_info *l);

#endif
