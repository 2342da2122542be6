/* qingdan — byte sizes and counts given as option values ("64M", "100000"),
 * parsed the same way by qingdand's options and qingdanctl's. */
#ifndef QINGDAN_SIZE_H
#define QINGDAN_SIZE_H

#include <stdint.h>

/* Parse a size in bytes: one or more decimal digits (leading zeros allowed),
 * optionally followed by one suffix K/k (2^10), M/m (2^20) or G/g (2^30),
 * and nothing else: no sign, no blanks, no "0x", no "KB".
 *   s         NUL-terminated text (borrowed)
 *   min, max  the accepted range, both ends included, after the suffix is
 *             applied
 *   out       set to the value on success, untouched otherwise
 * Returns 0, or QD_EINVAL when s is empty or malformed, when the value
 * (digits or digits times the suffix) does not fit in 64 bits, or when it
 * lies outside [min, max]. */
int qd_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Parse a count: as qd_parse_size, but without a suffix (decimal digits
 * only).  Same parameters and returns. */
int qd_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
