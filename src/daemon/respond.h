/* qingdand — what the handlers share: queuing responses (JSON, errors from
 * the tables in qingdand.h, raw bytes), the pool of large response blocks,
 * query parameters, request bodies, and storing a list version with its
 * reply.  Everything here answers on the calling thread: a request is
 * answered entirely on one. */
#ifndef QINGDAND_RESPOND_H
#define QINGDAND_RESPOND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "qingdand.h"

/* ---- responses ---- */

/* Queue a JSON response; body is taken over (freed by libmicrohttpd). */
enum MHD_Result respond_json(struct MHD_Connection *c, unsigned status, qd_buf *body);
/* Start a response body of about want bytes, in a pooled buffer when one is
 * free: the thread's own for bodies under 16 KiB (send it with
 * respond_json() or respond_etag()), a shared block for large ones (send it
 * with respond_json_from()); see respond.c. */
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
/* Queue a 200 JSON response carrying ETag: "<version>"; body is taken over. */
enum MHD_Result respond_etag(struct MHD_Connection *c, qd_buf *body, uint32_t version);
/* Queue data (malloc()ed, taken over) with a Content-Type, a Cache-Control
 * (NULL: none) and one optional extra header (hname NULL: none). */
enum MHD_Result respond_raw(struct MHD_Connection *c, unsigned status, char *data, size_t len,
			    const char *ctype, const char *cache, const char *hname, const char *hvalue);
/* Queue a body of size bytes written piecewise by a reader (size
 * MHD_SIZE_UNKNOWN: sent chunked): libmicrohttpd calls read(cls, pos, buf,
 * max) as the client takes the bytes, and free_cls(cls) when done, also
 * when the client goes away; on failure to queue, free_cls(cls) is called
 * here.  Headers as respond_raw(). */
enum MHD_Result respond_stream(struct MHD_Connection *c, unsigned status, uint64_t size,
			       MHD_ContentReaderCallback read,
			       void *cls, MHD_ContentReaderFreeCallback free_cls, const char *ctype,
			       const char *cache, const char *hname, const char *hvalue);

/* ---- errors ---- */

/* Queue an error from the HTTP table; message NULL uses the table's default. */
enum MHD_Result respond_error(struct MHD_Connection *c, enum qd_http_error e, const char *message);
/* Same, with Retry-After: seconds (a 503 of a server too busy for now). */
enum MHD_Result respond_error_retry(struct MHD_Connection *c, enum qd_http_error e, const char *message,
				    unsigned seconds);
/* A query parameter error: details [{"parameter": name, "message"}].
 * name NULL: the message's first word, up to ':' or ' ' (every message
 * about a parameter starts with its name: "date: expected …"). */
enum MHD_Result respond_param_error(struct MHD_Connection *c, enum qd_http_error e, const char *name,
				    const char *message);
/* Same, with a "details" array of problems (p only read). */
enum MHD_Result respond_problems(struct MHD_Connection *c, enum qd_http_error e,
				 const char *message, const qd_problems *p);
/* Queue the answer to a library error: the HTTP error QD_LIB_HTTP_ERRORS
 * gives it (unknown codes: internal_error).
 *   message  NULL for the HTTP error's default; internal errors then say
 *            which library error it was (qd_strerror())
 * Returns what libmicrohttpd's access handler returns. */
enum MHD_Result respond_lib_error(struct MHD_Connection *c, int err, const char *message);
/* Answer e with message and one detail of that message at path (a JSON
 * Pointer into the body). */
enum MHD_Result respond_problem(struct MHD_Connection *c, enum qd_http_error e, const char *path,
				const char *message);
/* Same, with the problems the library filled (p only read; NULL: none). */
enum MHD_Result respond_lib_problems(struct MHD_Connection *c, int err, const char *message,
				     const qd_problems *p);
/* 405 with an Allow header listing the methods the path takes. */
enum MHD_Result respond_method_not_allowed(struct MHD_Connection *c, const char *allow);
/* The status and error message of the last response queued by this thread
 * (0 and NULL when none since respond_reset_last()); the message is valid
 * until the thread queues another. */
unsigned last_status(void);
const char *last_error_message(void);
/* Forget the last response: called before a handler runs. */
void respond_reset_last(void);

/* ---- query parameters ---- */
typedef struct param {
	const char *name;
	const char *value;  /* NULL when absent; borrowed from libmicrohttpd */
	size_t len;
	size_t max;         /* bytes the value may have; 0: QD_PARAM_MAX */
} param;

/* Collect the query string into params (names given, values NULL).  Unknown,
 * repeated, overlong or NUL-containing parameters are answered with 400 and
 * false is returned (*result holds the MHD result to return). */
bool get_params(struct MHD_Connection *c, param *params, size_t n, enum MHD_Result *result);
/* A true/false parameter ("true", "1", "false", "0"; absent: false) into
 * *out.  Anything else is answered with 400 naming it and false is
 * returned (*result holds the MHD result to return). */
bool bool_param(struct MHD_Connection *c, const param *p, bool *out, enum MHD_Result *result);
/* Check an effective_at value (RFC 3339, after now) of n bytes into *out.
 * Returns NULL, or what is wrong with it ("effective_at: …"). */
const char *check_effective_at(const char *s, size_t n, int64_t *out);
/* The same for an endpoint that takes no query parameters: any is answered
 * with 400 (unknown_parameter) and false is returned. */
bool no_params(struct MHD_Connection *c, enum MHD_Result *result);
/* Parse a positive version number (1..2^31-1); returns 0 when invalid. */
uint32_t parse_version(const char *s, size_t n);
/* If-Match: 0 when absent, the version, or -1 when malformed. */
long parse_if_match(struct MHD_Connection *c);

/* ---- request bodies ---- */

/* Is the JSON text at most max levels deep?  Checked before parsing so a
 * hostile body cannot make the parser recurse deeply. */
bool json_depth_within(const char *p, size_t n, unsigned max);
/* Parse r's body as JSON (any value; duplicate keys refused), after
 * checking its depth against the configured maximum.
 *   out     receives a new reference on success
 *   result  on failure, what the 400 bad_json answer queued returned
 * Returns true on success; false when the answer has been queued. */
bool parse_json_body(struct MHD_Connection *c, request *r, json_t **out, enum MHD_Result *result);
/* The same for a route whose only input is its body: a query parameter is
 * refused first (no_params()). */
bool parse_json_only(struct MHD_Connection *c, request *r, json_t **out, enum MHD_Result *result);

/* ---- stores ---- */

/* The client's address of c as text into out ("-" when unknown); returns out. */
const char *client_address(struct MHD_Connection *c, char out[46]);

/* Answer a qd_store_put() of list that failed with err under If-Match
 * if_match (0: none), with the problems it filled (pr only read). */
enum MHD_Result respond_put_error(struct MHD_Connection *c, int err, long if_match, const char *list,
				  const qd_problems *pr);

/* Keep doc as a proposal of a change to its list (compared now with the
 * current version, If-Match honoured, nothing stored in the list) and
 * answer 202 with it; the store audits it.  doc is only read.
 * (h_proposals.c) */
enum MHD_Result propose_and_reply(struct MHD_Connection *c, request *r, const qd_listdoc *doc,
				  const char *action, const char *source, const char *comment);

/* The proposer's comment= query parameter p of a change (its param.max
 * QD_COMMENT_MAX): absent (*out NULL), or with propose=true, UTF-8 text
 * (*out borrowed from p).  Returns true, or false with a 400 naming
 * comment answered in *res.  (h_proposals.c) */
bool proposal_comment(struct MHD_Connection *c, const param *p, bool propose, const char **out,
		      enum MHD_Result *res);

/* Store doc as the list's new version (or dry-run it) and answer with the
 * load reply; records what happened for the audit.  doc is only read. */
enum MHD_Result store_and_reply(struct MHD_Connection *c, request *r, const qd_listdoc *doc,
				const char *action, const char *source, bool dry);

#endif
