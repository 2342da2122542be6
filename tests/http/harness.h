/* qingdan — HTTP test harness: runs qingdand as a child process on a free
 * loopback port with a temporary store, and talks to it with libcurl.
 *
 * Environment (set by meson): QD_BUILD_ROOT (where qingdand and qingdanctl
 * are built) and QD_SOURCE_ROOT (for the sample documents).  Optional:
 * QD_DAEMON_WRAPPER, a command prefix for the daemon, e.g.
 * "valgrind -q --error-exitcode=99" (start timeout ×5; exit status must
 * still be 0).
 *
 * The harness does not depend on Check: start/stop report failures through
 * their return value and an error message, so they can run in a Check
 * unchecked fixture (in the parent process) and in plain programs. */
#ifndef QD_TEST_HARNESS_H
#define QD_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

/* Tokens written to the tokens file when harness_opts.tokens is set. */
#define HARNESS_ADMIN_NAME "test-admin"
#define HARNESS_ADMIN_TOKEN "qd-test-admin-7f3c9e21b84d"
/* A second admin, to approve what the first proposes. */
#define HARNESS_ADMIN2_NAME "test-approver"
#define HARNESS_ADMIN2_TOKEN "qd-test-approver-2b8e61f04ad9"
#define HARNESS_READER_NAME "test-reader"
#define HARNESS_READER_TOKEN "qd-test-reader-5a06d1e9c372"

#define HARNESS_START_TIMEOUT_MS 10000
#define HARNESS_STOP_TIMEOUT_MS 15000

typedef struct harness_opts {
	bool tokens;                   /* write a tokens file and pass --tokens */
	bool read_auth;                /* pass --read-auth token */
	const char *const *extra_args; /* more daemon arguments, NULL-terminated; may be NULL */
} harness_opts;

typedef struct harness_daemon {
	pid_t pid;          /* 0 when not running */
	unsigned port;
	char dir[256];      /* temporary directory holding everything below */
	char db[300];       /* --db */
	char tokens[300];   /* --tokens, "" when none */
	char log[300];      /* the daemon's stdout and stderr */
	char base_url[64];  /* "http://127.0.0.1:PORT" */
} harness_daemon;

/* Start the daemon and wait (HARNESS_START_TIMEOUT_MS) until GET /healthz
 * answers 200.  Makes d the current daemon for http_request().  Returns
 * true, or false with a message in err (everything started is cleaned up). */
bool harness_start(harness_daemon *d, const harness_opts *o, char *err, size_t errlen);

/* SIGTERM, then waitpid.  Returns true when the daemon exited with status 0
 * within HARNESS_STOP_TIMEOUT_MS; otherwise false with a message in err (and
 * the daemon killed).  Removes the temporary directory either way, after
 * copying the log to stderr on failure. */
bool harness_stop(harness_daemon *d, char *err, size_t errlen);

/* The same with another signal (SIGINT …). */
bool harness_stop_signal(harness_daemon *d, int sig, char *err, size_t errlen);

/* Make d the daemon http_request() talks to. */
void harness_use(harness_daemon *d);
harness_daemon *harness_current(void);

/* Print the daemon's log to stderr (for diagnosing a failure). */
void harness_dump_log(const harness_daemon *d);

/* A free TCP port on 127.0.0.1 (bind port 0, read it, close); 0 on error. */
unsigned harness_free_port(void);

/* ---- HTTP ---- */

typedef struct http_header_field {
	char *name;
	char *value;
} http_header_field;

typedef struct http_response {
	long status;                  /* 0 when the request failed at the transport level */
	char curl_error[256];
	http_header_field *headers;   /* of the final response (after any 100 Continue) */
	size_t n_headers;
	char *body;                   /* NUL-terminated */
	size_t body_len;
	size_t body_cap;              /* bytes allocated for body (grows by doubling) */
	json_t *json;                 /* the body parsed, or NULL when it is not JSON */
} http_response;

/* Send a request to the current daemon.  path includes the query string
 * and is sent as is (no normalisation of "..").  headers is a
 * NULL-terminated array of "Name: value" lines, or NULL.  When body is not
 * NULL it is sent with Content-Length len (and "Content-Type:
 * application/json" unless headers name a Content-Type); when headers
 * contain "Transfer-Encoding: chunked" it is streamed chunked instead.
 * Never returns NULL (aborts on out of memory). */
http_response *http_request(const char *method, const char *path, const char *const *headers,
			    const void *body, size_t len);

/* GET with a printf-style path, no extra headers. */
http_response *http_get(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Request with "Authorization: Bearer <token>" (token may be NULL: no header)
 * plus an optional extra header line (may be NULL). */
http_response *http_request_auth(const char *method, const char *path, const char *token,
				 const char *extra_header, const void *body, size_t len);

/* Value of the first response header with that name (case-insensitive), or NULL. */
const char *http_header(const http_response *r, const char *name);

void http_response_free(http_response *r);

/* ---- files and JSON ---- */

/* Read $QD_SOURCE_ROOT/relpath into a NUL-terminated buffer; NULL on error. */
char *harness_read_source(const char *relpath, size_t *len);

/* Parse $QD_SOURCE_ROOT/relpath as JSON; NULL on error. */
json_t *harness_load_json(const char *relpath);

/* Navigate a JSON value by a JSON Pointer ("/basis/clauses/0/text", "" for
 * the root); NULL when any step is missing. */
json_t *jptr(json_t *root, const char *pointer);

/* String at pointer, or NULL when missing or not a string. */
const char *jptr_str(json_t *root, const char *pointer);

/* Serialise compactly (caller frees). */
char *json_compact(const json_t *v, size_t *len);

/* ---- qingdanctl ---- */

/* Run $QD_BUILD_ROOT/src/ctl/qingdanctl with args (NULL-terminated, not
 * including argv[0]).  Captures stdout into *out (NUL-terminated, caller
 * frees; may pass NULL).  Returns the exit status, or -1 when it could not
 * be run or was killed. */
int harness_run_ctl(const char *const *args, char **out);

/* ---- qingdand as a command ---- */

/* Run $QD_BUILD_ROOT/src/daemon/qingdand with args (NULL-terminated, not
 * including argv[0]) to its end, stdin /dev/null.  Its stdout and stderr
 * go to *out and *err (NUL-terminated, caller frees; either may be NULL).
 * Returns the exit status, or -1 when it did not exit normally within
 * timeout_ms (it is then killed). */
int harness_run_daemon(const char *const *args, long timeout_ms, char **out, char **err);

/* A whole file, NUL-terminated (caller frees); NULL when it cannot be read. */
char *harness_read_file(const char *path);

#endif
