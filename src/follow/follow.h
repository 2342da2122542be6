/* qingdan — following a primary's feed: the transport (libcurl, for
 * http(s):// primaries and file:// directories written by qingdanctl
 * publish) and one step of following, shared by qingdand --follow and
 * qingdanctl follow-once.  What is checked before anything is applied is
 * libqingdan's (replica.h). */
#ifndef QINGDAN_FOLLOW_H
#define QINGDAN_FOLLOW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qingdan/replica.h"
#include "qingdan/sign.h"
#include "qingdan/store.h"

typedef struct follower follower;

/* Records asked for per page of the feed. */
#define FOLLOW_PAGE 100

/* A follower of source: "http://HOST:PORT" or "https://HOST:PORT" (a
 * primary's base URL, without a path), a URL with a path (a directory
 * written by qingdanctl publish, served as files by a web server, object
 * storage or a CDN), "file:///DIR" or a directory path.
 *   keys, n    the public keys records must be signed with (borrowed)
 *   max_bytes  the largest document accepted
 * Returns the follower, or NULL with a sentence in err (a source that is
 * none of those, out of memory). */
follower *follower_new(const char *source, qd_key *const *keys, size_t n, size_t max_bytes, char *err,
		       size_t errlen);

/* Free f; NULL is ignored. */
void follower_free(follower *f);

/* The source as given, and whether it can hold a request until a record
 * comes (an HTTP primary can; a directory cannot). */
const char *follower_source(const follower *f);
bool follower_long_polls(const follower *f);

/* Make every transfer of f end (as a fetch fault) soon after *stop turns
 * true: a daemon stopping must not wait out a long poll. */
void follower_set_stop(follower *f, const _Atomic bool *stop);

/* What one step did. */
typedef struct follow_step {
	unsigned applied;              /* records applied */
	uint64_t applied_seq;          /* this store's head afterwards */
	uint64_t head_seq;             /* the source's head, as last read (0: unknown) */
	bool polled;                   /* the source's feed was read */
	enum qd_replica_fault fault;   /* QD_RF_NONE when every record read was applied */
	char why[512];                 /* the fault, in words */
} follow_step;

/* Read the records after st's head from the source (an HTTP primary
 * holds the request up to wait_s seconds when there is nothing newer) and
 * apply them in order, each checked first; stop at the first that fails.
 * Never blocks longer than wait_s plus the transfer timeouts. */
void follower_step(follower *f, qd_store *st, unsigned wait_s, follow_step *out);

#endif
