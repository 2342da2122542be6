/* qingdan — what a replica checks before it applies a primary's version.
 *
 * A follower receives feed records (GET /v1/feed, or files written by
 * qingdanctl publish) and the documents they name, and applies them with
 * qd_store_apply() only after: the record is a feed record, its signature
 * verifies with a key the follower was given (by kid), it follows the
 * follower's head (seq and prev), and the document's bytes hash to the
 * record's sha256.  Transport is not here (no HTTP in the library). */
#ifndef QINGDAN_REPLICA_H
#define QINGDAN_REPLICA_H

#include <jansson.h>

#include "qingdan/sign.h"
#include "qingdan/store.h"

/* Why a record was not applied: the label of
 * qingdan_follow_errors_total{reason} and of last_error. */
enum qd_replica_fault {
	QD_RF_NONE = 0,
	QD_RF_FETCH,       /* the source could not be read */
	QD_RF_FORMAT,      /* a page, record or document that is not what it must be */
	QD_RF_SIGNATURE,   /* unsigned, unknown key, or a signature that does not verify */
	QD_RF_CHAIN,       /* seq or prev does not follow this store's head */
	QD_RF_DOCUMENT,    /* the document does not hash to the record's sha256, or does not load */
	QD_RF_GONE,        /* the primary no longer retains the version a record names */
	QD_RF_STORE,       /* this store could not write it */
	QD_RF_COUNT
};

/* "fetch", "format", … (static strings). */
const char *qd_replica_fault_name(enum qd_replica_fault f);

/* Turn a record as the feed shows it (its members and "sig") into out:
 * the canonical JSON without sig, and sig as compact JSON.
 * Returns 0, QD_EINVAL (not an object, sig neither null nor {alg, kid,
 * value} strings, or not representable canonically), QD_ENOMEM. */
int qd_feed_rec_from_json(const json_t *rec, qd_feed_rec *out);

/* Check rec's members and signature against keys (n of them, public).
 *   f    receives the members
 *   why  receives a sentence when it fails
 * Returns QD_RF_NONE or QD_RF_FORMAT / QD_RF_SIGNATURE. */
enum qd_replica_fault qd_replica_check(const qd_feed_rec *rec, qd_key *const *keys, size_t n,
				       qd_feed_fields *f, char *why, size_t whylen);

/* Apply a checked record and its document (doc, len: the canonical bytes
 * the primary serves for it) to st: the bytes must hash to the record's
 * sha256, load as the record's list, and follow st's head.
 *   source  the audit record's source label ("follow http://…")
 * Returns QD_RF_NONE, or QD_RF_DOCUMENT / QD_RF_CHAIN / QD_RF_STORE with
 * why filled. */
enum qd_replica_fault qd_replica_apply(qd_store *st, const qd_feed_rec *rec, const qd_feed_fields *f,
				       const char *doc, size_t len, const char *source, char *why,
				       size_t whylen);

#endif
