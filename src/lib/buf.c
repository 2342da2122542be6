#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qingdan/buf.h"
#include "qingdan/mem.h"

void qd_buf_init(qd_buf *b)
{
	memset(b, 0, sizeof *b);
}

static bool grow_slow(qd_buf *b, size_t extra)
{
	if (b->oom)
		return false;
	if (b->len + extra + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1) {
		if (cap > SIZE_MAX / 2) {
			b->oom = true;
			return false;
		}
		cap *= 2;
	}
	char *p = realloc(b->data, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

/* Inlined fast path: appends to a buffer with room cost a compare. */
static inline bool grow(qd_buf *b, size_t extra)
{
	return (b->len + extra + 1 <= b->cap && !b->oom) || grow_slow(b, extra);
}

void qd_buf_reserve(qd_buf *b, size_t n)
{
	grow(b, n);
}

void qd_buf_add(qd_buf *b, const void *p, size_t n)
{
	if (!grow(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void qd_buf_puts(qd_buf *b, const char *s)
{
	qd_buf_add(b, s, strlen(s));
}

void qd_buf_putc(qd_buf *b, char c)
{
	if (!grow(b, 1))
		return;
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void qd_buf_put_uint(qd_buf *b, unsigned long long v)
{
	char tmp[24];
	size_t i = sizeof tmp;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	qd_buf_add_inline(b, tmp + i, sizeof tmp - i);
}

void qd_buf_printf(qd_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char small[256];
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) {
		va_end(ap2);
		return;
	}
	if ((size_t)n < sizeof small) {
		qd_buf_add(b, small, (size_t)n);
	} else if (grow(b, (size_t)n)) {
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
		b->len += (size_t)n;
	}
	va_end(ap2);
}

size_t qd_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k < len; k++)
		if (p[k] < 0x80 || p[k] > 0xbf)
			return 0;
	return len;
}

/* Bytes a JSON string holds as they are: printable ASCII but '"' and '\\'. */
#define PLAIN8(c) ((c) >= 0x20 && (c) < 0x80 && (c) != '"' && (c) != '\\')
#define PLAIN_ROW(r) PLAIN8(r), PLAIN8(r + 1), PLAIN8(r + 2), PLAIN8(r + 3), PLAIN8(r + 4), \
	PLAIN8(r + 5), PLAIN8(r + 6), PLAIN8(r + 7)
static const bool json_plain[256] = {
	PLAIN_ROW(0x00), PLAIN_ROW(0x08), PLAIN_ROW(0x10), PLAIN_ROW(0x18),
	PLAIN_ROW(0x20), PLAIN_ROW(0x28), PLAIN_ROW(0x30), PLAIN_ROW(0x38),
	PLAIN_ROW(0x40), PLAIN_ROW(0x48), PLAIN_ROW(0x50), PLAIN_ROW(0x58),
	PLAIN_ROW(0x60), PLAIN_ROW(0x68), PLAIN_ROW(0x70), PLAIN_ROW(0x78),
};

void qd_buf_json_str(qd_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	/* Ids, codes and dates need no escape: one check a byte, one copy. */
	size_t i = 0;
	while (i < n && json_plain[(unsigned char)s[i]])
		i++;
	if (i == n) {
		if (!grow(b, n + 2))
			return;
		char *p = b->data + b->len;
		p[0] = '"';
		memcpy(p + 1, s, n);
		p[n + 1] = '"';
		p[n + 2] = '\0';
		b->len += n + 2;
		return;
	}
	/* The bytes before i are plain: the loop starts at the first that
	 * is not. */
	qd_buf_putc(b, '"');
	size_t run = 0;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80) {
			/* Messages can quote input (jansson's "near '…'") or cut a
			 * string at a byte count; a broken sequence must not make
			 * the whole answer invalid JSON, so it becomes U+FFFD. */
			size_t k = qd_utf8_len((const unsigned char *)s + i, n - i);
			if (k) {
				i += k - 1;
				continue;
			}
			qd_buf_add(b, s + run, i - run);
			run = i + 1;
			qd_buf_add(b, "\xef\xbf\xbd", 3);
			continue;
		}
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		qd_buf_add(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': qd_buf_add(b, "\\\"", 2); break;
		case '\\': qd_buf_add(b, "\\\\", 2); break;
		case '\n': qd_buf_add(b, "\\n", 2); break;
		case '\r': qd_buf_add(b, "\\r", 2); break;
		case '\t': qd_buf_add(b, "\\t", 2); break;
		default: {
			char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			qd_buf_add(b, u, 6);
		}
		}
	}
	qd_buf_add(b, s + run, n - run);
	qd_buf_putc(b, '"');
}

void qd_buf_json_cstr(qd_buf *b, const char *s)
{
	if (s)
		qd_buf_json_str(b, s, strlen(s));
	else
		qd_buf_add(b, "null", 4);
}

int qd_buf_read_file(qd_buf *b, const char *path, size_t max)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f)
		return -errno;
	int ret = 0;
	size_t start = b->len;
	struct stat sb;
	/* A regular file's size is known: room for all of it, the NUL and
	 * one byte more (the read that finds the end) at once, committed
	 * before the bytes are copied in, and never grown (a big block grown
	 * by realloc() after qd_mem_commit() is copied).  A file that grows
	 * meanwhile still reads whole, below. */
	if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
	    (uint64_t)sb.st_size <= max) {
		if (!grow(b, (size_t)sb.st_size + 1)) {
			ret = -ENOMEM;
			goto out;
		}
		qd_mem_commit(b->data + b->len, (size_t)sb.st_size + 2);
	}
	for (;;) {
		/* Grown when there is no room for one byte and the NUL. */
		if (b->cap - b->len < 2 && !grow(b, 1 << 16)) {
			ret = -ENOMEM;
			break;
		}
		size_t r = fread(b->data + b->len, 1, b->cap - b->len - 1, f);
		b->len += r;
		b->data[b->len] = '\0';
		if (b->len - start > max) {
			ret = -EFBIG;
			break;
		}
		if (r == 0) {
			if (ferror(f))
				ret = errno ? -errno : -EIO;
			break;
		}
	}
out:
	if (f != stdin)
		fclose(f);
	return ret;
}

void qd_buf_reset(qd_buf *b)
{
	b->len = 0;
	b->oom = false;
	if (b->data)
		b->data[0] = '\0';
}

const char *qd_buf_cstr(qd_buf *b)
{
	return b->data ? b->data : "";
}

char *qd_buf_steal(qd_buf *b, size_t *len)
{
	if (b->oom) {
		qd_buf_free(b);
		return NULL;
	}
	if (!b->data && !grow(b, 0))
		return NULL;
	b->data[b->len] = '\0';
	char *p = b->data;
	if (len)
		*len = b->len;
	qd_buf_init(b);
	return p;
}

void qd_buf_free(qd_buf *b)
{
	free(b->data);
	qd_buf_init(b);
}
