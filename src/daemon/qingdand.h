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
#include "qingdan/err.h"
#include "qingdan/problems.h"
#include "qingdan/sign.h"
#include "qingdan/store.h"
#include "conn.h"
#include "logq.h"
#include "metrics.h"
#include "snaps.h"

/* Hard limits (defaults; each has an option).  Bodies are checked against
 * Content-Length when the headers arrive and again while chunked bodies
 * stream in. */
#define QD_BODY_MAX_DOCUMENT ((size_t)64 << 20) /* PUT of a list document */
#define QD_BODY_MAX_DEFAULT ((size_t)1 << 20)   /* every other body */
#define QD_CHECK_ITEMS_MAX 1000
#define QD_CHECK_RESPONSE_MAX ((size_t)64 << 20) /* bytes of one POST /v1/check answer */
/* Version downloads streamed at once: each holds an LMDB reader slot (of
 * QD_MAX_READERS_DEFAULT, shared with every worker's snapshot) and keeps
 * the version's pages from reuse while its client reads. */
#define QD_DOWNLOADS_MAX 16
#define QD_DOWNLOADS_RETRY_S 5                  /* Retry-After of a refused download */
#define QD_CONNECTIONS_MAX 1024
#define QD_CONNECTIONS_PER_IP_MAX 256
#define QD_CONNECTION_TIMEOUT 30                /* seconds a connection may idle */
/* Deadlines libmicrohttpd's idle timeout does not give (conn.h): a client
 * that sends a byte now and then is never idle. */
#define QD_HEADER_TIMEOUT 10                    /* seconds to a complete request head */
#define QD_BODY_TIMEOUT 10                      /* seconds of a body before QD_MIN_BODY_RATE applies */
#define QD_MIN_BODY_RATE 1024                   /* bytes a second a body averages after that */
/* Slots of QD_CONNECTIONS_MAX kept free for new clients by shutting down
 * connections whose request is not in, the longest waiting first. */
#define QD_CONNECTIONS_RESERVE 64
/* Bytes of memory held by request bodies across all connections: without
 * it 1 024 connections each stopping inside a 1 MiB body hold 1 GiB. */
#define QD_BODIES_IN_FLIGHT_MAX ((size_t)256 << 20)
#define QD_BODIES_RETRY_S 2                     /* Retry-After when they are used up */
/* Bytes of request line + headers: also the size of libmicrohttpd's
 * per-connection pool, which it zeroes whole at every request (16 KiB
 * instead of 32: +11 % lookups/s on one core, README "Performance"). */
#define QD_REQUEST_HEADER_MAX (16 * 1024)
#define QD_JSON_DEPTH_MAX 64                    /* nesting of JSON request bodies */
#define QD_SHUTDOWN_GRACE 10                    /* seconds for in-flight requests at exit */
#define QD_ENTRIES_LIMIT_DEFAULT 100
/* GET /v1/lists/{id}/expiring without ?within=, and the window of the
 * qingdan_entries_expiring metric: days. */
#define QD_EXPIRING_WITHIN_DEFAULT 30
#define QD_PROPOSAL_TTL_S (14 * 86400)          /* --proposal-ttl: seconds */
#define QD_PROPOSAL_TTL_MAX_S (365 * 86400)
#define QD_ENTRIES_LIMIT_MAX 1000
#define QD_PARAM_MAX 512                        /* bytes of one query value */
#define QD_QUERY_PARAMS_MAX 64                  /* query parameters of one request */
/* Loads, rollbacks, diffs and audit reads run on job threads (jobs.h). */
#define QD_JOB_THREADS 2
#define QD_QUEUED_JOBS_MAX 64                   /* waiting jobs; more answer 503 queue_full */
#define QD_QUEUE_RETRY_S 5                      /* Retry-After of a queue_full answer */
/* The audit of attempts that changed nothing (auditq.h). */
#define QD_AUDIT_WINDOW_S 60                    /* repeats of one attempt are one record per window */
#define QD_AUDIT_RETAIN_DAYS QD_AUDIT_RETAIN_DAYS_DEFAULT   /* older attempt records are pruned */
#define QD_AUDIT_MAX_ATTEMPTS QD_AUDIT_MAX_ATTEMPTS_DEFAULT /* attempt records kept at most (~45 MB) */

/* The decision log (logq.h): how long a decision waits for room in a
 * lossless log before it is answered 503 log_unavailable, and the
 * Retry-After of that answer. */
#define QD_DECISION_LOG_WAIT_MS 200
#define QD_FOLLOW_INTERVAL_S 2       /* --follow-interval */
#define QD_MAX_STALENESS_S 60        /* --max-staleness */
#define QD_LOG_RETRY_S 1

/* GnuTLS priorities of the built-in TLS: TLS 1.2 and 1.3 only. */
#define QD_TLS_PRIORITIES_DEFAULT "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

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
	X(E_SAME_PERSON, 403, "same_person", "a proposal is approved or rejected by another admin than its proposer") \
	X(E_APPROVAL_REQUIRED, 403, "approval_required", "changes go through proposals here (--require-approval): PUT or roll back with ?propose=true, and have another admin approve") \
	X(E_NOT_FOUND, 404, "not_found", "no such resource") \
	X(E_PROPOSAL_NOT_FOUND, 404, "proposal_not_found", "no such proposal") \
	X(E_LIST_NOT_FOUND, 404, "list_not_found", "no such list") \
	X(E_VERSION_NOT_FOUND, 404, "version_not_found", "no such version of the list") \
	X(E_METHOD_NOT_ALLOWED, 405, "method_not_allowed", "method not allowed on this resource") \
	X(E_ALREADY_EXISTS, 409, "already_exists", "the resource already exists") \
	X(E_SIGNING_DISABLED, 409, "signing_disabled", "receipts need a signing key: qingdand runs without --signing-key") \
	X(E_READ_ONLY_REPLICA, 409, "read_only_replica", "this qingdand follows a primary (--follow): change lists on the primary") \
	X(E_PROPOSAL_DECIDED, 409, "proposal_decided", "the proposal was approved or rejected already") \
	X(E_SCHEDULE_CONFLICT, 409, "schedule_conflict", "a later version of the list is scheduled already: cancel it first") \
	X(E_GONE, 410, "gone", "the version this feed record names is no longer retained") \
	X(E_PROPOSAL_EXPIRED, 410, "proposal_expired", "the proposal has expired (--proposal-ttl): propose the change again") \
	X(E_PRECONDITION_FAILED, 412, "precondition_failed", "If-Match does not match the list's current version") \
	X(E_TOO_LARGE, 413, "payload_too_large", "the request body is too large") \
	X(E_UNSUPPORTED_MEDIA, 415, "unsupported_media_type", "unsupported Content-Type") \
	X(E_INVALID_DOCUMENT, 422, "invalid_document", "the list document breaks the loader rules") \
	X(E_INVALID_WORKBOOK, 422, "invalid_workbook", "the workbook cannot be read") \
	X(E_BAD_KEY, 422, "bad_key", "not a key of a supported algorithm (ed25519, sm2)") \
	X(E_INVALID_RECEIPT, 422, "invalid_receipt", "the receipt's payload is not a receipt payload") \
	X(E_BAD_SIGNATURE, 422, "bad_signature", "the signature does not verify") \
	X(E_RESPONSE_TOO_LARGE, 422, "response_too_large", "the answer would exceed --max-check-response-bytes: send fewer items per check") \
	X(E_INTERNAL, 500, "internal_error", "internal error") \
	X(E_NOT_READY, 503, "not_ready", "not ready") \
	X(E_STALE, 503, "stale", "this replica has not read its primary's feed for longer than --max-staleness") \
	X(E_QUEUE_FULL, 503, "queue_full", "too many loads and other long requests are waiting (--max-queued-jobs): retry later") \
	X(E_DOWNLOADS_BUSY, 503, "too_many_downloads", "too many version downloads in progress (--max-downloads): retry later") \
	X(E_BODIES_BUSY, 503, "bodies_budget_exhausted", "request bodies in flight hold --max-bodies-in-flight bytes already: retry later") \
	X(E_LOG_UNAVAILABLE, 503, "log_unavailable", "the decision could not be recorded in the decision log (--decision-log-mode lossless): retry later") \
	X(E_STORAGE_FULL, 507, "storage_full", "storage full: the change was not stored; the previous version stays current")

enum qd_http_error {
#define X(name, status, code, msg) name,
	QD_HTTP_ERRORS(X)
#undef X
	E_COUNT
};

/* What each library error (the table in include/qingdan/err.h) is answered
 * with: X(library error, HTTP error above).  respond_lib_error() answers
 * from it.  Several library errors may share an HTTP error (a pruned and a
 * never-stored version are both version_not_found to a client), so the
 * code a client reads is the HTTP row's, and err.h's code names the
 * library error.  respond.c checks at compile time that every library
 * error but QD_OK has one row and that both tables give it the same
 * status. */
#define QD_LIB_HTTP_ERRORS(X) \
	X(QD_EINVAL, E_INVALID_DOCUMENT) \
	X(QD_ENOLIST, E_LIST_NOT_FOUND) \
	X(QD_ENOSPC, E_STORAGE_FULL) \
	X(QD_ENOMEM, E_INTERNAL) \
	X(QD_EIO, E_INTERNAL) \
	X(QD_ECONFLICT, E_PRECONDITION_FAILED) \
	X(QD_ESYNTAX, E_BAD_JSON) \
	X(QD_EGONE, E_VERSION_NOT_FOUND) \
	X(QD_ENOVERSION, E_VERSION_NOT_FOUND) \
	X(QD_ENOENT, E_NOT_FOUND) \
	X(QD_EEXIST, E_ALREADY_EXISTS) \
	X(QD_EKEYPERM, E_FORBIDDEN) \
	X(QD_EBADKEY, E_BAD_KEY) \
	X(QD_EBADSIG, E_BAD_SIGNATURE) \
	X(QD_EBASE64, E_BAD_BODY) \
	X(QD_ENOPROPOSAL, E_PROPOSAL_NOT_FOUND) \
	X(QD_EEXPIRED, E_PROPOSAL_EXPIRED) \
	X(QD_EDECIDED, E_PROPOSAL_DECIDED) \
	X(QD_ESAMEPERSON, E_SAME_PERSON) \
	X(QD_ESCHEDULE, E_SCHEDULE_CONFLICT)

/* ACCESS_METRICS: as ACCESS_READ, unless --metrics-auth open. */
enum access { ACCESS_OPEN, ACCESS_READ, ACCESS_ADMIN, ACCESS_METRICS };

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

/* Parse a tokens file ("NAME ROLE SHA256HEX" lines, '#' comments).  A file
 * that its group or others may write is refused: whoever can write it can
 * make themselves admin.
 *   out  filled on success (free with tokens_free()); empty on failure
 * Returns 0, or -1 with an English message naming the line, or the mode and
 * the chmod that fixes it, in err. */
int tokens_load(const char *path, tokens *out, char *err, size_t errlen);
void tokens_free(tokens *t);

/* ---- settings: every option, from the command line or --config ---- */
typedef struct settings {
	char *db, *listen, *tokens, *access_log, *decision_log, *tls_cert, *tls_key;
	bool decision_log_lossless;  /* --decision-log-mode lossless */
	unsigned decision_log_wait;  /* ms a decision waits for room in a lossless decision log */
	char *tls_priorities;        /* GnuTLS priority string of the built-in TLS */
	char *signing_key;           /* private key file receipts are signed with; NULL: none */
	char *verify_keys;           /* file of retired public keys; NULL: none */
	char *follow;                /* --follow: the primary or directory; NULL: not a replica */
	char *follow_key;            /* --follow-key: the primary's public key(s) */
	unsigned follow_interval;    /* seconds between polls of a directory, least backoff */
	unsigned max_staleness;      /* seconds after which /readyz answers stale */
	bool read_auth;
	bool metrics_open;           /* --metrics-auth open: /metrics needs no token */
	unsigned threads;
	bool listen_per_thread;      /* --listen-per-thread: a listening socket (and daemon) per thread */
	int utc_offset;
	char customs[QD_CUSTOMS_LEN + 1]; /* --customs: default office of declaration; "" none */
	unsigned retain;
	uint64_t map_size;
	size_t max_document_bytes, max_body_bytes;
	unsigned max_check_items, max_connections, max_connections_per_ip, connection_timeout;
	unsigned header_timeout;     /* seconds to a complete request head */
	unsigned body_timeout;       /* seconds of a body before min_body_rate applies */
	size_t min_body_rate;        /* bytes a second; 0: bodies have no deadline */
	unsigned reserve_connections; /* slots kept free for new clients */
	size_t max_bodies_in_flight; /* bytes held by request bodies, all connections */
	size_t max_header_bytes;
	size_t max_check_response_bytes; /* bytes of one check's answer */
	unsigned max_downloads;      /* version downloads streamed at once */
	unsigned max_json_depth;
	unsigned shutdown_grace;
	size_t read_cache;           /* bound of each worker thread's read cache; 0: off */
	unsigned job_threads, max_queued_jobs;
	unsigned audit_window, audit_retain, audit_max_attempts;
	bool require_approval;       /* --require-approval yes: changes go through proposals */
	unsigned proposal_ttl;       /* seconds a pending proposal lives */
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
	bool metrics_open;           /* /metrics needs no token even when reads do */
	int utc_offset;              /* minutes east of UTC for "today" */
	char id_prefix[9];           /* random per process, for decision ids */
	atomic_uint_fast64_t id_seq;
	snaps snaps;                 /* every worker thread's read snapshot (snaps.h) */
	atomic_uint downloads;       /* version downloads in progress, <= cfg.max_downloads */
	struct auditq *auditq;       /* attempts that changed nothing (auditq.h) */
	struct jobs *jobs;           /* long requests (jobs.h) */
	struct feedwait *feedwait;   /* parked long polls of the feed (feedwait.h) */
	struct following *following; /* --follow: the thread applying the primary's feed (following.h) */
	conns conns;                 /* open connections, their deadlines, the body budget (conn.h) */
	/* Loaded at start-up and never changed: any thread signs and verifies
	 * with them at once (sign.h). */
	qd_key *sign_key;            /* --signing-key; NULL: receipts are refused (409) */
	qd_key **verify_keys;        /* --verify-keys, retired keys */
	size_t n_verify_keys;
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
	size_t body_charged;             /* of the body budget (srv->conns), given back at the end */
	conn *conn;                      /* the connection's tracking; NULL when untracked */
	bool too_large;
	bool body_is_csv;
	bool body_is_xlsx;               /* a spreadsheet (PUT of a list's entries) */
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
	int64_t effective_at;            /* a change to take effect then (unix seconds); 0: at once */
	qd_put_result audit_res;         /* counts when audit_res_set */
	bool audit_res_set;
	/* A request answered on a job thread: its connection is suspended
	 * from JOB_QUEUED until the job has queued the response. */
	enum { JOB_NONE, JOB_QUEUED, JOB_DONE } job_state;
	enum MHD_Result job_ret;         /* the handler's result, once JOB_DONE */
	struct MHD_Connection *mhd;      /* while JOB_QUEUED */
	bool feed_resumed;               /* a long poll of the feed, parked and resumed: answer now */
} request;

typedef enum MHD_Result (*handler_fn)(struct MHD_Connection *c, request *r);

typedef struct route {
	const char *pattern;  /* "/v1/lists/{id}"; {id} is a list id segment */
	const char *method;
	handler_fn handler;
	enum access access;
	enum body_kind { BODY_NONE, BODY_SMALL, BODY_DOCUMENT } body; /* limit: none, max_body_bytes, max_document_bytes */
	bool csv;             /* also accepts text/csv and .xlsx bodies */
	const char *action;   /* audit action name for admin routes */
	bool job;             /* answered on a job thread (jobs.h): long, or waits for the writer */
	bool xlsx;            /* may answer with a workbook (format=xlsx, Accept): then as a job */
	bool body_optional;   /* a POST that may come without a body (and then without Content-Type) */
} route;

/* ---- dispatch (http.c): libmicrohttpd's callbacks, cls being the server ---- */

/* libmicrohttpd's URI log callback, called with the raw URI before it
 * parses the query: refuses a query of more than QD_QUERY_PARAMS_MAX
 * parameters (answered 400 by the access handler) before libmicrohttpd
 * parses it.  Returns the request state that becomes *req_cls (malloc()ed,
 * freed by the completion callback; NULL when out of memory). */
void *qd_uri_logged(void *cls, const char *uri, struct MHD_Connection *c);
/* libmicrohttpd's unescape callback: decodes %XX in the URL path and in
 * each query name and value in place, as libmicrohttpd's own does (same
 * bytes), but skips a string with no '%' in one scan.  Returns the length. */
size_t qd_unescape(void *cls, struct MHD_Connection *c, char *s);
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

#endif
