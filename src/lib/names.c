/* qingdan — names and specifications compared as people write them
 * (DESIGN.md, "v2: jurisdiction and item identity"). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qingdan/buf.h"
#include "qingdan/names.h"

/* The code point of the well-formed sequence of len bytes at p. */
static uint32_t decode(const unsigned char *p, size_t len)
{
	if (len == 2)
		return (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
	if (len == 3)
		return (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
	return (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 | (uint32_t)(p[2] & 0x3f) << 6 |
	       (p[3] & 0x3f);
}

/* ASCII characters a name drops: white space and the punctuation set. */
static bool ascii_dropped(unsigned char c)
{
	switch (c) {
	case ' ': case '\t': case '\n': case '\r': case '\v': case '\f':
	case '(': case ')': case '[': case ']': case '-': case '_': case ',': case '.': case '/':
		return true;
	default:
		return false;
	}
}

/* Code points beyond ASCII a name drops: white space and the CJK
 * punctuation of the set (【 】 、 。; the full-width ASCII ones are folded
 * first). */
static bool wide_dropped(uint32_t cp)
{
	return cp == 0x00a0 || (cp >= 0x2000 && cp <= 0x200b) || cp == 0x3000 || cp == 0x3010 ||
	       cp == 0x3011 || cp == 0x3001 || cp == 0x3002;
}

/* Does the text at p (n bytes) start with a digit, half- or full-width? */
static bool digit_at(const unsigned char *p, size_t n)
{
	if (n >= 1 && p[0] >= '0' && p[0] <= '9')
		return true;
	/* U+FF10–U+FF19: EF BC 90–99. */
	return n >= 3 && p[0] == 0xef && p[1] == 0xbc && p[2] >= 0x90 && p[2] <= 0x99;
}

long qd_name_norm(const char *s, size_t n, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (c == 0)
			return -1;
		if (c < 0x80) {
			i++;
		} else {
			size_t len = qd_utf8_len(p + i, n - i);
			if (!len)
				return -1;
			uint32_t cp = decode(p + i, len);
			if (cp >= 0xff01 && cp <= 0xff5e) {
				/* Full-width ASCII: the same character, half-width. */
				c = (unsigned char)(cp - 0xfee0);
				i += len;
			} else if (wide_dropped(cp)) {
				i += len;
				continue;
			} else if (cp >= 0xc0 && cp <= 0xde && cp != 0xd7) {
				/* Latin-1 capitals fold to their small letters (+0x20). */
				if (o + 2 >= cap)
					return -1;
				cp += 0x20;
				out[o++] = (char)(0xc0 | cp >> 6);
				out[o++] = (char)(0x80 | (cp & 0x3f));
				i += len;
				continue;
			} else {
				if (o + len >= cap)
					return -1;
				memcpy(out + o, p + i, len);
				o += len;
				i += len;
				continue;
			}
		}
		/* A decimal point stays: 1.5 mL is not 15 mL. */
		if (c == '.' && o > 0 && out[o - 1] >= '0' && out[o - 1] <= '9' && digit_at(p + i, n - i)) {
			if (o + 1 >= cap)
				return -1;
			out[o++] = '.';
			continue;
		}
		if (ascii_dropped(c))
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	if (o >= cap)
		return -1;
	out[o] = '\0';
	return (long)o;
}

bool qd_name_same(const char *a, const char *b)
{
	size_t an = strlen(a), bn = strlen(b);
	char *x = malloc(an + 1), *y = malloc(bn + 1);
	bool same = false;

	if (x && y && qd_name_norm(a, an, x, an + 1) >= 0 && qd_name_norm(b, bn, y, bn + 1) >= 0)
		same = strcmp(x, y) == 0;
	free(x);
	free(y);
	return same;
}

bool qd_declared_valid(const char *s, size_t n, const char **why)
{
	const unsigned char *p = (const unsigned char *)s;
	const char *scratch;

	if (why == NULL)
		why = &scratch;
	if (s == NULL)
		n = 0;

	if (n == 0) {
		*why = "must not be empty";
		return false;
	}
	if (n > QD_DECLARED_MAX) {
		*why = "is longer than 256 bytes";
		return false;
	}
	for (size_t i = 0; i < n;) {
		if (p[i] < 0x20 || p[i] == 0x7f) {
			*why = "contains a control character";
			return false;
		}
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		size_t len = qd_utf8_len(p + i, n - i);
		if (!len) {
			*why = "is not valid UTF-8";
			return false;
		}
		i += len;
	}
	/* A value of nothing but spaces and punctuation would match an
	 * approval whose name is the same nothing. */
	char norm[QD_DECLARED_MAX + 1];
	if (qd_name_norm(s, n, norm, sizeof norm) <= 0) {
		*why = "has nothing but spaces and punctuation";
		return false;
	}
	return true;
}
