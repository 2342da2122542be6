/* qingdan — a client's reference to its own paperwork.
 *
 * A lookup or a check may carry a `client_ref`: the declaration or message
 * number it was made for, 1–64 characters of [A-Za-z0-9._:/-].  It is
 * echoed in the answer and in every record of the decision (decision log,
 * receipts), so its alphabet needs no escaping in JSON or in a log line. */
#ifndef QINGDAN_CLIENTREF_H
#define QINGDAN_CLIENTREF_H

#include <stdbool.h>
#include <stddef.h>

#define QD_CLIENT_REF_MAX 64

/* Is s[0..n) a valid client_ref?
 *   s, n  the text (need not be NUL-terminated; a NUL byte makes it invalid)
 *   why   when not NULL and the text is invalid, receives a static English
 *         sentence naming the rule broken (without the field name)
 * Returns true when valid. */
bool qd_client_ref_valid(const char *s, size_t n, const char **why);

#endif
