/* qingdan — a growable byte buffer for rendering responses.
 *
 * Appends never fail loudly: on out-of-memory the buffer sets `oom` and
 * ignores later appends, so a renderer can append freely and check once. */
#ifndef QINGDAN_BUF_H
#define QINGDAN_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct qd_buf {
	char *data;  /* owned; NUL-terminated whenever len > 0 or after qd_buf_cstr() */
	size_t len;
	size_t cap;
	bool oom;    /* an append failed; contents are incomplete */
} qd_buf;

/* Initialise an empty buffer (same as zero-filling it). */
void qd_buf_init(qd_buf *b);
/* Make room for at least n more bytes without reallocating. */
void qd_buf_reserve(qd_buf *b, size_t n);
/* Append n bytes. */
void qd_buf_add(qd_buf *b, const void *p, size_t n);
/* Append a NUL-terminated string. */
void qd_buf_puts(qd_buf *b, const char *s);
/* Append one byte. */
void qd_buf_putc(qd_buf *b, char c);
/* qd_buf_add() and qd_buf_putc() inline, for the many short appends of a
 * renderer on the lookup path: with room in the buffer they cost a compare
 * and the copy (a few moves when n is a constant), not a call. */
static inline void qd_buf_add_inline(qd_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 <= b->cap && !b->oom) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
		b->data[b->len] = '\0';
	} else {
		qd_buf_add(b, p, n);
	}
}
static inline void qd_buf_putc_inline(qd_buf *b, char c)
{
	if (b->len + 2 <= b->cap && !b->oom) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
	} else {
		qd_buf_putc(b, c);
	}
}
/* A 32-bit hash of n bytes at p, for the hash tables of the lookup path
 * (a snapshot's read cache, a batch's decisions and entries): eight bytes
 * at a time, since keys are some 30 bytes and a byte loop is a long chain
 * of multiplies. */
static inline uint32_t qd_hash_bytes(const void *p, size_t n)
{
	const unsigned char *k = p;
	uint64_t h = n * 0x9e3779b97f4a7c15ULL, w;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, k + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, k + i, n - i);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	return (uint32_t)(h ^ h >> 29);
}
/* Append an unsigned integer in decimal (no printf on hot paths). */
void qd_buf_put_uint(qd_buf *b, unsigned long long v);
/* Append printf-formatted text. */
void qd_buf_printf(qd_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Length of the well-formed UTF-8 sequence at p (n bytes left) that starts
 * with a byte >= 0x80: 2-4, or 0 when it is not one (stray continuation
 * byte, overlong form, surrogate, beyond U+10FFFF, or cut short) — the
 * sequences jansson accepts. */
size_t qd_utf8_len(const unsigned char *p, size_t n);
/* Append s (n bytes, UTF-8) as a quoted, escaped JSON string.  Bytes that
 * are not well-formed UTF-8 are written as U+FFFD, so the result is always
 * valid JSON. */
void qd_buf_json_str(qd_buf *b, const char *s, size_t n);
/* Append a JSON string for a NUL-terminated s, or null when s is NULL. */
void qd_buf_json_cstr(qd_buf *b, const char *s);
/* Append the whole contents of a file ("-": standard input), refusing more
 * than max bytes.  Returns 0, -EFBIG when the file is larger than max, or
 * -errno (open/read failure, -ENOMEM). */
int qd_buf_read_file(qd_buf *b, const char *path, size_t max);
/* Forget the contents, keep the memory. */
void qd_buf_reset(qd_buf *b);
/* The contents as a NUL-terminated string (borrowed; "" when empty). */
const char *qd_buf_cstr(qd_buf *b);
/* Hand the memory to the caller (malloc()ed, NUL-terminated, caller frees);
 * the buffer is left empty.  Returns NULL on out-of-memory. */
char *qd_buf_steal(qd_buf *b, size_t *len);
/* Free the memory; the buffer is left empty and reusable. */
void qd_buf_free(qd_buf *b);

#endif
