/* qingdan — a compact JSON writer for jansson trees.
 *
 * Writes the bytes json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY |
 * JSON_REAL_PRECISION(precision)) gives for the same tree, without
 * json_dumps' per-call allocations (its loop-detection table and its
 * string buffer): the list loader renders every entry of a 100 000-entry
 * document this way.  Key order is the object's insertion order, UTF-8 is
 * written as is, and the escapes, integers and reals are jansson 2.14's.
 *
 * The tree is only read (no reference counts, no flags), so two threads
 * may write the same tree at once. */
#ifndef QINGDAN_JSONW_H
#define QINGDAN_JSONW_H

#include <jansson.h>

#include "qingdan/buf.h"

/* Deeper nesting is refused (json_dumps refuses only cycles; a tree this
 * deep cannot come from JSON text, whose parser stops at 2048). */
#define QD_JSONW_DEPTH_MAX 4096

/* Append the compact JSON of j to b.
 *   precision  significant digits of reals, 1-31 as JSON_REAL_PRECISION
 *              takes them; 0 means jansson's default, 17
 * Returns 0; QD_EINVAL where json_dumps would fail (a string that is not
 * UTF-8, which only a *_nocheck constructor can make; a real jansson
 * cannot format; nesting past QD_JSONW_DEPTH_MAX, e.g. a cycle) — b then
 * holds a partial rendering; QD_ENOMEM when b ran out of memory. */
int qd_json_write(qd_buf *b, const json_t *j, int precision);

#endif
