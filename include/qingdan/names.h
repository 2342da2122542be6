/* qingdan — names and specifications compared as people write them.
 *
 * A whitelist approval names a product (商品名称) and its model or
 * specification (规格型号); a declaration names the goods again, typed by
 * someone else, often in another input mode.  Two names are the same when
 * their normal forms are equal: full-width ASCII (U+FF01–U+FF5E) folded
 * to half-width, Latin letters folded to lower case, white space removed
 * (ASCII, U+00A0, U+2000–U+200B, U+3000) and the punctuation
 * ( ) （ ） [ ] 【 】 - _ , ， 、 . 。 / removed (the full-width forms of
 * the ASCII ones by the width folding), except a '.' between two digits:
 * a decimal point (1.5 mL is not 15 mL).  Nothing else changes: Chinese
 * characters compare as written. */
#ifndef QINGDAN_NAMES_H
#define QINGDAN_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes a declared name or spec may take (lookup, check item). */
#define QD_DECLARED_MAX 256

/* Write the normal form of s (n bytes of UTF-8) into out.
 *   out  room for cap bytes; the normal form is never longer than s, so
 *        cap = n + 1 always suffices; NUL-terminated
 * Returns the length of the normal form, or -1 when s is not well-formed
 * UTF-8, holds a NUL, or out is too small. */
long qd_name_norm(const char *s, size_t n, char *out, size_t cap);

/* Are a and b (NUL-terminated UTF-8) the same name in normal form?
 * false when either is not well-formed UTF-8. */
bool qd_name_same(const char *a, const char *b);

/* Is s (n bytes) acceptable as a declared name or spec: 1 to
 * QD_DECLARED_MAX bytes of well-formed UTF-8 without control characters,
 * whose normal form is not empty?
 *   why  on false, a static English sentence saying why (may be NULL) */
bool qd_declared_valid(const char *s, size_t n, const char **why);

#endif
