/* qingdan — a compact JSON writer for jansson trees (see jsonw.h). */
#include "qingdan/jsonw.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "qingdan/err.h"

/* What a string byte needs: copied as is, escaped, or checked as the first
 * byte of a UTF-8 sequence (jansson refuses to write broken UTF-8). */
enum { B_PLAIN = 0, B_ESCAPE = 1, B_UTF8 = 2 };

static const unsigned char byte_class[256] = {
	[0x00 ... 0x1f] = B_ESCAPE,
	['"'] = B_ESCAPE,
	['\\'] = B_ESCAPE,
	[0x80 ... 0xff] = B_UTF8,
};

/* qd_utf8_len(), with the sequences of Chinese text (three bytes, lead
 * E1..EC or EE..EF: no overlong or surrogate form possible) taken inline:
 * they are most of a list's bytes. */
static inline size_t utf8_seq(const unsigned char *p, size_t n)
{
	if (n >= 3 && ((p[0] >= 0xe1 && p[0] <= 0xec) || p[0] >= 0xee) && p[0] <= 0xef &&
	    (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80)
		return 3;
	return qd_utf8_len(p, n);
}

static int put_string(qd_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0, i = 0;

	qd_buf_reserve(b, n + 2);
	qd_buf_putc_inline(b, '"');
	while (i < n) {
		unsigned char c = u[i];
		char esc[6];
		size_t k;

		switch (byte_class[c]) {
		case B_PLAIN:
			i++;
			continue;
		case B_UTF8:
			k = utf8_seq(u + i, n - i);
			if (k == 0)
				return QD_EINVAL;
			i += k;
			continue;
		}
		qd_buf_add_inline(b, s + run, i - run);
		run = ++i;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			/* jansson writes the other control characters as \u00XX, upper case. */
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			qd_buf_add_inline(b, esc, 6);
			continue;
		}
		qd_buf_add_inline(b, esc, 2);
	}
	qd_buf_add_inline(b, s + run, n - run);
	qd_buf_putc_inline(b, '"');
	return 0;
}

static void put_integer(qd_buf *b, json_int_t v)
{
	/* The magnitude as unsigned: -LLONG_MIN does not fit a json_int_t. */
	unsigned long long m = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	if (v < 0)
		qd_buf_putc_inline(b, '-');
	qd_buf_put_uint(b, m);
}

/* A real as jansson 2.14's jsonp_dtostr writes it: "%.*g"; the locale's
 * decimal point turned into '.'; ".0" appended when there is neither a
 * '.' nor an 'e' (so it reads back as a real); the exponent without '+'
 * and without leading zeros. */
static int put_real(qd_buf *b, double x, int precision)
{
	/* jansson formats into a buffer of this size and fails beyond it. */
	char buf[100];
	char point = localeconv()->decimal_point[0];
	int n = snprintf(buf, sizeof(buf), "%.*g", precision ? precision : 17, x);
	char *e, *from, *to;
	size_t len;

	if (n < 0 || (size_t)n >= sizeof(buf))
		return QD_EINVAL;
	len = (size_t)n;
	if (point != '.') {
		char *p = strchr(buf, point);

		if (p != NULL)
			*p = '.';
	}
	if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL) {
		if (len + 3 >= sizeof(buf))
			return QD_EINVAL;
		memcpy(buf + len, ".0", 3);
		len += 2;
	}
	e = strchr(buf, 'e');
	if (e != NULL) {
		to = e + 1;
		from = to + 1;
		if (*to == '-')
			to++;
		while (*from == '0')
			from++;
		if (from != to) {
			memmove(to, from, len - (size_t)(from - buf));
			len -= (size_t)(from - to);
		}
	}
	qd_buf_add_inline(b, buf, len);
	return 0;
}

static int write_value(qd_buf *b, const json_t *j, int precision, int depth)
{
	int rc = 0;

	if (j == NULL)
		return QD_EINVAL;
	switch (json_typeof(j)) {
	case JSON_NULL:
		qd_buf_add_inline(b, "null", 4);
		break;
	case JSON_TRUE:
		qd_buf_add_inline(b, "true", 4);
		break;
	case JSON_FALSE:
		qd_buf_add_inline(b, "false", 5);
		break;
	case JSON_INTEGER:
		put_integer(b, json_integer_value(j));
		break;
	case JSON_REAL:
		rc = put_real(b, json_real_value(j), precision);
		break;
	case JSON_STRING:
		rc = put_string(b, json_string_value(j), json_string_length(j));
		break;
	case JSON_ARRAY: {
		size_t n = json_array_size(j);

		if (depth >= QD_JSONW_DEPTH_MAX)
			return QD_EINVAL;
		qd_buf_putc_inline(b, '[');
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (i > 0)
				qd_buf_putc_inline(b, ',');
			rc = write_value(b, json_array_get(j, i), precision, depth + 1);
		}
		qd_buf_putc_inline(b, ']');
		break;
	}
	case JSON_OBJECT: {
		/* The iterator walks the keys in insertion order, as json_dumps
		 * does without JSON_SORT_KEYS; the cast drops a const the
		 * iteration functions lack, nothing is written. */
		json_t *o = (json_t *)j;
		void *it = json_object_iter(o);
		bool first = true;

		if (depth >= QD_JSONW_DEPTH_MAX)
			return QD_EINVAL;
		qd_buf_putc_inline(b, '{');
		for (; it != NULL && rc == 0; it = json_object_iter_next(o, it)) {
			if (!first)
				qd_buf_putc_inline(b, ',');
			first = false;
			rc = put_string(b, json_object_iter_key(it), json_object_iter_key_len(it));
			qd_buf_putc_inline(b, ':');
			if (rc == 0)
				rc = write_value(b, json_object_iter_value(it), precision, depth + 1);
		}
		qd_buf_putc_inline(b, '}');
		break;
	}
	default:
		return QD_EINVAL;
	}
	return rc;
}

int qd_json_write(qd_buf *b, const json_t *j, int precision)
{
	int rc;

	if (precision < 0 || precision > 31)
		return QD_EINVAL;
	rc = write_value(b, j, precision, 0);
	if (rc == 0 && b->oom)
		rc = QD_ENOMEM;
	return rc;
}
