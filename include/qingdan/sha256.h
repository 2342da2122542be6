/* qingdan — SHA-256 (Nettle) in the forms the project uses. */
#ifndef QINGDAN_SHA256_H
#define QINGDAN_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define QD_SHA256_HEX 65 /* 64 hex digits + NUL */

/* Hash n bytes at p; writes lowercase hex and a NUL into out. */
void qd_sha256_hex(const void *p, size_t n, char out[QD_SHA256_HEX]);

/* Compare two NUL-terminated strings in time independent of where they
 * differ (lengths are not secret).  Returns 1 when equal, 0 otherwise. */
int qd_ct_streq(const char *a, const char *b);

#endif
