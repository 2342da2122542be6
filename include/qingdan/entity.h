/* qingdan — institution identifiers.
 *
 * Mainland institutions: the 18-character unified social credit code
 * (统一社会信用代码, GB 32100-2015) whose last character is a check
 * character.  Others: "SCHEME:ID", SCHEME 2–8 letters (case-insensitive,
 * stored uppercase), ID 1–64 of [A-Za-z0-9._-] kept as given. */
#ifndef QINGDAN_ENTITY_H
#define QINGDAN_ENTITY_H

#include <stdbool.h>
#include <stddef.h>

#define QD_USCC_LEN 18
#define QD_ENTITY_MAX (8 + 1 + 64)

/* Compute the GB 32100-2015 check character for the first 17 characters
 * of a USCC (uppercase or lowercase accepted).
 * Returns the check character (uppercase), or '\0' when a character is not
 * in the alphabet 0123456789ABCDEFGHJKLMNPQRTUWXY. */
char qd_uscc_check_char(const char first17[17]);

/* Parse and normalise an institution id.
 *   s, n  the text (need not be NUL-terminated)
 *   out   receives the normalised id, NUL-terminated: a USCC in uppercase, or
 *         "SCHEME:ID" with SCHEME uppercased and ID unchanged
 *   why   on error, a static English sentence ("USCC check character is 'X',
 *         expected 'L'" is not possible with a static string, so messages
 *         name the rule: "USCC check character does not match")
 * Returns 0, or QD_EINVAL. */
int qd_entity_parse(const char *s, size_t n, char out[QD_ENTITY_MAX + 1], const char **why);

#endif
