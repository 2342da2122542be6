/* qingdand --follow: the thread that keeps this store a replica of a
 * primary, by applying the signed versions of its feed (follow.h does a
 * step; this runs steps, backs off after errors and keeps the figures
 * /v1/status, /readyz and /metrics show). */
#ifndef QINGDAND_FOLLOWING_H
#define QINGDAND_FOLLOWING_H

#include <stdbool.h>
#include <stdint.h>

#include "qingdan/replica.h"
#include "qingdan/store.h"

typedef struct following following;

/* Longest wait between attempts after repeated errors, in seconds. */
#define FOLLOWING_BACKOFF_MAX_S 60

/* Longest a primary is asked to hold a poll, in seconds: under its limit
 * of 30 (GET /v1/feed?wait=). */
#define FOLLOWING_POLL_MAX_S 25

/* What the follower knows now. */
typedef struct following_state {
	const char *source;           /* borrowed from the following */
	uint64_t applied_seq;         /* this store's head */
	uint64_t head_seq;            /* the source's, as last read (0: never read) */
	int64_t last_ok;              /* unix seconds of the last answer of the source, "nothing new"
				       * included, whose records were all applied (0: never) */
	int64_t lag_seconds;          /* since this store last had everything the source had (-1: never) */
	enum qd_replica_fault fault;  /* of the last attempt (QD_RF_NONE: it succeeded) */
	char last_error[512];         /* the last fault in words ("" when none yet) */
	enum qd_replica_fault last_error_reason;
	int64_t last_error_at;
	uint64_t errors[QD_RF_COUNT]; /* faults counted by reason */
} following_state;

/* How long a poll of a primary may be held, for --max-staleness
 * max_staleness_s: half of it (1 s at least, FOLLOWING_POLL_MAX_S at
 * most), so that an idle primary still answers often enough for an
 * in-sync replica to stay ready. */
unsigned following_poll_wait_s(unsigned max_staleness_s);

/* Start following source with the public keys in key_file.
 *   interval_s       the pause between reads of a directory, after a poll
 *                    the primary answered at once with nothing new, and
 *                    the first pause after an error (doubling from there)
 *   max_staleness_s  --max-staleness: bounds the poll's wait
 *                    (following_poll_wait_s)
 *   notify(arg) is called after each step that applied records (wakes
 *   long polls of this store's own feed)
 * Returns NULL with a sentence in err when the keys or the source are
 * unusable or the thread cannot start. */
following *following_start(qd_store *st, const char *source, const char *key_file, unsigned interval_s,
			   unsigned max_staleness_s, size_t max_bytes, void (*notify)(void *), void *arg, char *err, size_t errlen);

/* Copy the state out (under the following's lock). */
void following_get(following *f, following_state *out);

/* Stop the thread (ending a long poll in progress) and free f.  NULL is
 * ignored. */
void following_stop(following *f);

#endif
