/* qingdan — commodity codes (商品编号) and CIQ codes (检验检疫附加编号).
 *
 * A declaration carries a 10-digit commodity code (8 tariff digits + 2
 * supervision digits) and a 3-digit CIQ code.  People write codes with
 * dots, spaces or hyphens ("3822.1900.90", "3822 19 00 90"); those three
 * separators are removed, nothing else is. */
#ifndef QINGDAN_CODE_H
#define QINGDAN_CODE_H

#include <stdbool.h>
#include <stddef.h>

#define QD_CODE_MIN 2
#define QD_CODE_MAX 10
#define QD_CIQ_LEN 3

typedef struct qd_code {
	char digits[QD_CODE_MAX + 1]; /* NUL-terminated, QD_CODE_MIN..QD_CODE_MAX digits */
	unsigned len;                 /* strlen(digits) */
	char ciq[QD_CIQ_LEN + 1];     /* "" when absent, else exactly 3 digits */
} qd_code;

/* Parse a code as a query gives it: after removing '.', ' ' and '-', 2–10
 * digits, or 13 digits (10-digit code followed by the 3-digit CIQ code, which
 * lands in out->ciq).
 *   s, n  the text (need not be NUL-terminated; embedded NUL is an error)
 *   out   filled on success; left in an unspecified state on error
 *   why   on error, set to a static English sentence saying why
 *         ("code has 11 digits; expected 2-10, or 13 with the CIQ code",
 *         "code contains 'x'; …"); every message starts with "code " so a
 *         caller may splice in the value it was given
 * Returns 0, or QD_EINVAL. */
int qd_code_parse(const char *s, size_t n, qd_code *out, const char **why);

/* Parse a code as a list entry gives it: same separators, 2–10 digits
 * only (a list names its CIQ code in a separate field).  out->ciq is "".
 * Returns 0, or QD_EINVAL with *why set. */
int qd_code_parse_entry(const char *s, size_t n, qd_code *out, const char **why);

/* Parse a CIQ code: exactly 3 ASCII digits, no separators.
 *   out  receives the 3 digits and a NUL.
 * Returns 0, or QD_EINVAL with *why set. */
int qd_ciq_parse(const char *s, size_t n, char out[QD_CIQ_LEN + 1], const char **why);

/* Customs codes (关区代码): the 4-digit code of the office of declaration
 * (2 digits for the directly administered customs, e.g. 52 黄埔海关, 2 more
 * for the subordinate office).  A list or entry scope names 2- or 4-digit
 * prefixes of them. */
#define QD_CUSTOMS_LEN 4

/* Parse the customs code of a query: exactly 4 ASCII digits.
 *   out  receives the 4 digits and a NUL
 * Returns 0, or QD_EINVAL with *why set (a static English sentence). */
int qd_customs_parse(const char *s, size_t n, char out[QD_CUSTOMS_LEN + 1], const char **why);

/* Is s (n bytes) a scope prefix: exactly 2 or 4 ASCII digits? */
bool qd_customs_prefix_valid(const char *s, size_t n);

#endif
