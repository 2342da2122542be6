/* qingdan — canonical JSON (RFC 8785, the JSON Canonicalization Scheme).
 *
 * Feed records and receipt payloads are signed and hashed as their JCS
 * bytes: members sorted by the UTF-16 code units of their names, no white
 * space, strings in UTF-8 with only '"', '\\' and control characters
 * escaped (\b \t \n \f \r short, the rest \u00xx in lower case).  What is
 * signed holds strings, integers, booleans and null only, so anyone can
 * recompute the bytes with any JCS library or a few lines of code; a real
 * number or an integer beyond ±(2^53 − 1) (which JSON numbers in
 * ECMAScript cannot hold exactly) is refused rather than rounded. */
#ifndef QINGDAN_JCS_H
#define QINGDAN_JCS_H

#include <jansson.h>

#include "qingdan/buf.h"

/* Largest integer an ECMAScript number holds exactly (2^53 − 1). */
#define QD_JCS_INT_MAX 9007199254740991LL

/* Append the canonical JSON of v to out.
 *   v    the value (borrowed)
 *   out  appended to; on error it is cut back to its length on entry
 * Returns 0; QD_EINVAL when v holds a real number, an integer beyond
 * ±QD_JCS_INT_MAX or a string that is not valid UTF-8; QD_ENOMEM. */
int qd_jcs_dump(const json_t *v, qd_buf *out);

#endif
