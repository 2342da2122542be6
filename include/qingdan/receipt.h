/* qingdan — decision receipts: a signed statement of what was answered,
 * on which versions of which lists.
 *
 * A receipt is {"payload": "<JCS text>", "alg", "kid", "sig"}: the
 * signature (sign.h) is over the payload string's UTF-8 bytes.  The
 * payload (RFC 8785 canonical JSON) of a lookup:
 *   {"kind":"lookup","decision_id","issued_at","client_ref","query":{…},
 *    "decision","reason","lists":[{"list","version","sha256"}…],
 *    "basis":null|{"list","version","entry","clauses":[ids]}}
 * and of a check:
 *   {"kind":"check","decision_id","issued_at","client_ref",
 *    "query":{"entity","date","list"},"decision","lists":[…],
 *    "items":[{"ref","code","ciq","decision","reason","list","version","entry"}
 *             | {"ref","error":"bad_item"} …]}
 * "lists" are the lists consulted, in the order they were; deciding the
 * query again pinned to them (decide.h, qd_pin) reproduces the answer. */
#ifndef QINGDAN_RECEIPT_H
#define QINGDAN_RECEIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "qingdan/buf.h"
#include "qingdan/decide.h"
#include "qingdan/sign.h"
#include "qingdan/store.h"

/* What a receipt says besides the decision. */
typedef struct qd_receipt_head {
	const char *decision_id;
	int64_t issued_at;           /* unix seconds */
	const char *client_ref;      /* NULL: none */
} qd_receipt_head;

/* Append the payload of a lookup's receipt (JCS text).
 *   s         the open snapshot the decision was made on: each consulted
 *             version's sha256 is read from it
 *   decision  the members qd_decide() appended, in braces (a JSON object)
 *   len       its length
 *   h         decision id, time, client_ref (borrowed)
 *   out       appended to
 * Returns 0, QD_EINVAL when decision is not a decision object, what
 * qd_snap_list_version() returns, QD_ENOMEM. */
int qd_receipt_lookup_payload(qd_snap *s, const char *decision, size_t len, const qd_receipt_head *h, qd_buf *out);

/* Append the payload of a check's receipt (JCS text).
 *   s      as above
 *   base   the context every item shares (entity, date, list)
 *   items  the check's item answers as written to the response:
 *          {"ref":…,<decision members>} or {"ref":…,"error":{…}},
 *          separated by commas
 *   len    their length
 * Returns as qd_receipt_lookup_payload(). */
int qd_receipt_check_payload(qd_snap *s, const qd_query *base, const char *items, size_t len,
			     const qd_receipt_head *h, qd_buf *out);

/* Sign payload with k and append the receipt object
 * {"payload":…,"alg":…,"kid":…,"sig":…} to out.
 * Returns 0, what qd_sign() returns. */
int qd_receipt_sign(const qd_key *k, const char *payload, size_t len, qd_buf *out);

/* A receipt's members (borrowed from the JSON they were read from). */
typedef struct qd_receipt {
	const char *payload;
	size_t payload_len;
	const char *alg, *kid, *sig;
	size_t sig_len;
} qd_receipt;

/* Read a receipt object's members.
 *   receipt  the object (borrowed; out points into it)
 *   member   on error, the name of the missing or mistyped member (""
 *            when receipt is not an object)
 * Returns 0 or QD_EINVAL. */
int qd_receipt_read(const json_t *receipt, qd_receipt *out, const char **member);

/* Check a receipt's signature with the key of its kid among keys.
 *   keys, n  the known keys (current and retired)
 *   why      on failure, an English reason (a static string)
 * Returns 0 (valid), QD_ENOENT (no key has the kid, or its algorithm is
 * not alg), QD_EBADSIG, QD_EBASE64 (sig is not base64), QD_ENOMEM. */
int qd_receipt_verify(const qd_receipt *r, qd_key *const *keys, size_t n, const char **why);

/* What deciding a receipt's query again came to. */
enum qd_reproduced { QD_REPRO_GONE = -1, QD_REPRO_DIFFERS = 0, QD_REPRO_SAME = 1 };

/* Decide a receipt payload's query (every item of a check) again on s,
 * pinned to the payload's lists and versions.
 *   s       an open snapshot
 *   out     QD_REPRO_SAME when every decision and reason agree with the
 *           payload's; QD_REPRO_DIFFERS when one does not, or a list or
 *           version is not in this store, or a version's sha256 differs;
 *           QD_REPRO_GONE when a version was pruned
 *   why     with DIFFERS or GONE, what differs (English)
 * Returns 0; QD_EINVAL when the payload is not a receipt payload (why
 * says what is wrong); QD_ENOMEM; QD_EIO. */
int qd_receipt_reproduce(qd_snap *s, const char *payload, size_t len, enum qd_reproduced *out, char *why,
			 size_t whylen);

#endif
