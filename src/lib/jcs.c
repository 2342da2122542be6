/* qingdan — canonical JSON (RFC 8785). */
#include "qingdan/jcs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qingdan/err.h"

/* Next UTF-16 code unit of a UTF-8 string being compared: *pending holds
 * the low surrogate of a supplementary character whose high one was just
 * returned.  Input is valid UTF-8 (checked before sorting). */
static unsigned next_unit(const unsigned char **p, const unsigned char *end, unsigned *pending)
{
	if (*pending) {
		unsigned u = *pending;
		*pending = 0;
		return u;
	}
	const unsigned char *s = *p;
	uint32_t cp;
	size_t k = qd_utf8_len(s, (size_t)(end - s));
	if (s[0] < 0x80)
		cp = s[0], k = 1;
	else if (k == 2)
		cp = (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
	else if (k == 3)
		cp = (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	else
		cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
		     (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
	*p = s + (k ? k : 1);
	if (cp < 0x10000)
		return cp;
	cp -= 0x10000;
	*pending = 0xdc00 | (cp & 0x3ff);
	return 0xd800 | (cp >> 10);
}

/* Member names compare by UTF-16 code units (RFC 8785 § 3.2.3), which
 * differs from byte order only for characters beyond the BMP. */
static int cmp_names(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	const unsigned char *p = (const unsigned char *)x, *pe = p + strlen(x);
	const unsigned char *q = (const unsigned char *)y, *qe = q + strlen(y);
	unsigned pp = 0, qp = 0;
	while ((p < pe || pp) && (q < qe || qp)) {
		unsigned u = next_unit(&p, pe, &pp), v = next_unit(&q, qe, &qp);
		if (u != v)
			return u < v ? -1 : 1;
	}
	return (p < pe || pp) ? 1 : (q < qe || qp) ? -1 : 0;
}

static bool valid_utf8(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = qd_utf8_len((const unsigned char *)s + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

static int put_string(qd_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (!valid_utf8(s, n))
		return QD_EINVAL;
	qd_buf_putc(out, '"');
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		qd_buf_add(out, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': qd_buf_add(out, "\\\"", 2); break;
		case '\\': qd_buf_add(out, "\\\\", 2); break;
		case '\b': qd_buf_add(out, "\\b", 2); break;
		case '\t': qd_buf_add(out, "\\t", 2); break;
		case '\n': qd_buf_add(out, "\\n", 2); break;
		case '\f': qd_buf_add(out, "\\f", 2); break;
		case '\r': qd_buf_add(out, "\\r", 2); break;
		default: {
			char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			qd_buf_add(out, u, 6);
		}
		}
	}
	qd_buf_add(out, s + run, n - run);
	qd_buf_putc(out, '"');
	return 0;
}

static int put_value(const json_t *v, qd_buf *out, int depth);

static int put_object(const json_t *v, qd_buf *out, int depth)
{
	size_t n = json_object_size(v);
	const char **names = n ? malloc(n * sizeof *names) : NULL;
	if (n && !names)
		return QD_ENOMEM;
	size_t i = 0;
	const char *k;
	json_t *m;
	int ret = 0;
	json_object_foreach((json_t *)v, k, m) {
		if (!valid_utf8(k, strlen(k))) {
			ret = QD_EINVAL;
			goto out;
		}
		names[i++] = k;
	}
	qsort(names, n, sizeof *names, cmp_names);
	qd_buf_putc(out, '{');
	for (i = 0; i < n && !ret; i++) {
		if (i)
			qd_buf_putc(out, ',');
		ret = put_string(out, names[i], strlen(names[i]));
		qd_buf_putc(out, ':');
		if (!ret)
			ret = put_value(json_object_get(v, names[i]), out, depth + 1);
	}
	qd_buf_putc(out, '}');
out:
	free(names);
	return ret;
}

static int put_value(const json_t *v, qd_buf *out, int depth)
{
	/* Signed payloads are a few levels deep; the bound only keeps a
	 * pathological tree from exhausting the stack. */
	if (depth > 64)
		return QD_EINVAL;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return put_object(v, out, depth);
	case JSON_ARRAY: {
		qd_buf_putc(out, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				qd_buf_putc(out, ',');
			int ret = put_value(json_array_get(v, i), out, depth + 1);
			if (ret)
				return ret;
		}
		qd_buf_putc(out, ']');
		return 0;
	}
	case JSON_STRING:
		return put_string(out, json_string_value(v), json_string_length(v));
	case JSON_INTEGER: {
		json_int_t x = json_integer_value(v);
		if (x > QD_JCS_INT_MAX || x < -QD_JCS_INT_MAX)
			return QD_EINVAL;
		qd_buf_printf(out, "%lld", (long long)x);
		return 0;
	}
	case JSON_TRUE:
		qd_buf_add(out, "true", 4);
		return 0;
	case JSON_FALSE:
		qd_buf_add(out, "false", 5);
		return 0;
	case JSON_NULL:
		qd_buf_add(out, "null", 4);
		return 0;
	default:
		return QD_EINVAL; /* JSON_REAL: see jcs.h */
	}
}

int qd_jcs_dump(const json_t *v, qd_buf *out)
{
	size_t start = out->len;
	int ret = v ? put_value(v, out, 0) : QD_EINVAL;
	if (!ret && out->oom)
		ret = QD_ENOMEM;
	if (ret) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return ret;
}
