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

/* What the follower knows now. */
typedef struct following_state {
	const char *source;           /* borrowed from the following */
	uint64_t applied_seq;         /* this store's head */
	uint64_t head_seq;            /* the source's, as last read (0: never read) */
	int64_t last_ok;              /* unix seconds of the last read that applied everything read (0: never) */
	int64_t lag_seconds;          /* since this store last had everything the source had (-1: never) */
	enum qd_replica_fault fault;  /* of the last attempt (QD_RF_NONE: it succeeded) */
	char last_error[512];         /* the last fault in words ("" when none yet) */
	enum qd_replica_fault last_error_reason;
	int64_t last_error_at;
	uint64_t errors[QD_RF_COUNT]; /* faults counted by reason */
} following_state;

/* Start following source with the public keys in key_file.
 *   notify(arg) is called after each step that applied records (wakes
 *   long polls of this store's own feed)
 * Returns NULL with a sentence in err when the keys or the source are
 * unusable or the thread cannot start. */
following *following_start(qd_store *st, const char *source, const char *key_file, unsigned interval_s,
			   size_t max_bytes, void (*notify)(void *), void *arg, char *err, size_t errlen);

/* Copy the state out (under the following's lock). */
void following_get(following *f, following_state *out);

/* Stop the thread (ending a long poll in progress) and free f.  NULL is
 * ignored. */
void following_stop(following *f);

#endif
