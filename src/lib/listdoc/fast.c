/* qingdan — the entries of a list document parsed without jansson's
 * lexer, for speed.  jansson reads a document a character at a time
 * through its stream layer, which made it nine tenths of a big load's
 * parsing work; the entries of a list are plain JSON of a few shapes, and
 * this reader takes them in one pass and builds the same tree with
 * jansson's own constructors (so the trees are jansson's, in the caller's
 * arena, and everything after parsing is unchanged).
 *
 * It decides only what it is sure of.  Whatever is unusual — a real
 * number, an integer of more than 18 digits, a \u escape of a NUL or an
 * unpaired surrogate, a byte that is not UTF-8, a control character, a
 * repeated key, deep nesting, anything after the value — makes it give
 * up (NULL), and the caller parses the bytes with jansson, which then
 * also words the error.  So a document is accepted or refused exactly as
 * jansson (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY) would, and its tree
 * is the same: tests/unit/test_fastjson.c holds the two readers side by
 * side on every entry of the samples, of generated lists, and of
 * mutations of them. */
#include "listdoc_int.h"

/* Nesting taken here; deeper goes to jansson. */
#define FAST_DEPTH 32

/* Byte classes inside a string. */
enum { C_PLAIN = 0, C_QUOTE, C_ESC, C_CTRL, C_LEAD2, C_LEAD3, C_LEAD4, C_BAD };

static const unsigned char str_class[256] = {
	[0x00 ... 0x1f] = C_CTRL,
	['"'] = C_QUOTE,
	['\\'] = C_ESC,
	[0x80 ... 0xc1] = C_BAD, /* continuation bytes, and overlong leads */
	[0xc2 ... 0xdf] = C_LEAD2,
	[0xe0 ... 0xef] = C_LEAD3,
	[0xf0 ... 0xf4] = C_LEAD4,
	[0xf5 ... 0xff] = C_BAD,
};

struct fp {
	const unsigned char *p, *end;
	qd_buf tmp; /* a string with escapes, unescaped */
};

static inline void ws(struct fp *f)
{
	while (f->p < f->end && (*f->p == ' ' || *f->p == '\n' || *f->p == '\r' || *f->p == '\t'))
		f->p++;
}

static inline bool cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/* The UTF-8 sequence of class k at p (which has n bytes left): its length,
 * or 0 when it is not a well-formed one (truncated, overlong, a surrogate,
 * past U+10FFFF). */
static size_t utf8_len(const unsigned char *p, size_t n, unsigned k)
{
	if (k == C_LEAD2)
		return n >= 2 && cont(p[1]) ? 2 : 0;
	if (k == C_LEAD3) {
		if (n < 3 || !cont(p[1]) || !cont(p[2]))
			return 0;
		if (p[0] == 0xe0 && p[1] < 0xa0)
			return 0; /* overlong */
		if (p[0] == 0xed && p[1] >= 0xa0)
			return 0; /* U+D800..U+DFFF */
		return 3;
	}
	if (k == C_LEAD4) {
		if (n < 4 || !cont(p[1]) || !cont(p[2]) || !cont(p[3]))
			return 0;
		if (p[0] == 0xf0 && p[1] < 0x90)
			return 0; /* overlong */
		if (p[0] == 0xf4 && p[1] >= 0x90)
			return 0; /* past U+10FFFF */
		return 4;
	}
	return 0;
}

static int hex4(const unsigned char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static void put_utf8(qd_buf *b, uint32_t u)
{
	char o[4];
	size_t n;

	if (u < 0x80) {
		o[0] = (char)u;
		n = 1;
	} else if (u < 0x800) {
		o[0] = (char)(0xc0 | u >> 6);
		o[1] = (char)(0x80 | (u & 0x3f));
		n = 2;
	} else if (u < 0x10000) {
		o[0] = (char)(0xe0 | u >> 12);
		o[1] = (char)(0x80 | (u >> 6 & 0x3f));
		o[2] = (char)(0x80 | (u & 0x3f));
		n = 3;
	} else {
		o[0] = (char)(0xf0 | u >> 18);
		o[1] = (char)(0x80 | (u >> 12 & 0x3f));
		o[2] = (char)(0x80 | (u >> 6 & 0x3f));
		o[3] = (char)(0x80 | (u & 0x3f));
		n = 4;
	}
	qd_buf_add(b, o, n);
}

/* An escape at f->p (just past the backslash) onto f->tmp; false to give
 * up. */
static bool unescape(struct fp *f)
{
	static const char simple[256] = {
		['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = '\b',
		['f'] = '\f', ['n'] = '\n', ['r'] = '\r', ['t'] = '\t',
	};
	int u, lo;

	if (f->p >= f->end)
		return false;
	if (*f->p != 'u') {
		char c = simple[*f->p];

		if (c == 0)
			return false;
		qd_buf_putc(&f->tmp, c);
		f->p++;
		return true;
	}
	if (f->end - f->p < 5 || (u = hex4(f->p + 1)) < 0)
		return false;
	f->p += 5;
	if (u == 0 || (u >= 0xdc00 && u <= 0xdfff))
		return false; /* NUL; a low surrogate alone */
	if (u >= 0xd800 && u <= 0xdbff) {
		if (f->end - f->p < 6 || f->p[0] != '\\' || f->p[1] != 'u' ||
		    (lo = hex4(f->p + 2)) < 0xdc00 || lo > 0xdfff)
			return false;
		f->p += 6;
		u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
	}
	put_utf8(&f->tmp, (uint32_t)u);
	return true;
}

/* The string at f->p (at its opening quote): its bytes in *s, *n, either
 * in the input or in f->tmp; false to give up. */
static bool string(struct fp *f, const char **s, size_t *n)
{
	const unsigned char *from = ++f->p;
	bool esc = false;

	for (;;) {
		const unsigned char *p = f->p, *end = f->end;
		unsigned k = C_PLAIN;

		while (p < end && (k = str_class[*p]) == C_PLAIN)
			p++;
		f->p = p;
		if (p >= end)
			return false;
		if (k == C_QUOTE)
			break;
		if (k == C_ESC) {
			if (!esc) {
				qd_buf_reset(&f->tmp);
				esc = true;
			}
			qd_buf_add(&f->tmp, from, (size_t)(p - from));
			f->p = p + 1;
			if (!unescape(f))
				return false;
			from = f->p;
			continue;
		}
		if (k == C_CTRL || k == C_BAD)
			return false;
		size_t l = utf8_len(p, (size_t)(end - p), k);
		if (l == 0)
			return false;
		f->p = p + l;
	}
	if (!esc) {
		*s = (const char *)from;
		*n = (size_t)(f->p - from);
	} else {
		qd_buf_add(&f->tmp, from, (size_t)(f->p - from));
		if (f->tmp.oom)
			return false;
		*s = f->tmp.data;
		*n = f->tmp.len;
	}
	f->p++; /* the closing quote */
	return true;
}

static json_t *value(struct fp *f, int depth);

static json_t *number(struct fp *f)
{
	const unsigned char *p = f->p;
	bool neg = *p == '-';
	long long v = 0;
	int digits = 0;

	if (neg)
		p++;
	if (p >= f->end || *p < '0' || *p > '9')
		return NULL;
	if (*p == '0' && p + 1 < f->end && p[1] >= '0' && p[1] <= '9')
		return NULL; /* a leading zero: jansson refuses it */
	while (p < f->end && *p >= '0' && *p <= '9') {
		/* 18 digits always fit a long long; longer ones are jansson's. */
		if (++digits > 18)
			return NULL;
		v = v * 10 + (*p++ - '0');
	}
	if (p < f->end && (*p == '.' || *p == 'e' || *p == 'E'))
		return NULL; /* a real: jansson reads those */
	f->p = p;
	return json_integer(neg ? -v : v);
}

static bool word(struct fp *f, const char *w, size_t n)
{
	if ((size_t)(f->end - f->p) < n || memcmp(f->p, w, n) != 0)
		return false;
	f->p += n;
	return true;
}

/* After a member of an object or an element of an array: 1 when a comma
 * says another follows, 0 at the closing bracket (consumed), -1 else. */
static int after_member(struct fp *f, unsigned char close)
{
	ws(f);
	if (f->p < f->end && *f->p == ',') {
		f->p++;
		ws(f);
		return 1;
	}
	if (f->p < f->end && *f->p == close) {
		f->p++;
		return 0;
	}
	return -1;
}

/* At an opening bracket: step past it; true when the closing one follows
 * at once (consumed too). */
static bool empty(struct fp *f, unsigned char close)
{
	f->p++;
	ws(f);
	if (f->p < f->end && *f->p == close) {
		f->p++;
		return true;
	}
	return false;
}

static json_t *object(struct fp *f, int depth)
{
	json_t *o = json_object();

	if (o == NULL || empty(f, '}'))
		return o;
	for (;;) {
		const char *k;
		size_t kl;
		json_t *v;

		if (f->p >= f->end || *f->p != '"' || !string(f, &k, &kl))
			goto fail;
		/* A key with escapes sits in f->tmp, which the value may
		 * reuse: it is copied first. */
		char kbuf[128], *copy = NULL;
		if (k == f->tmp.data) {
			copy = kl < sizeof kbuf ? kbuf : malloc(kl);
			if (copy == NULL)
				goto fail;
			memcpy(copy, k, kl);
			k = copy;
		}
		ws(f);
		v = NULL;
		if (f->p < f->end && *f->p == ':') {
			f->p++;
			ws(f);
			v = value(f, depth + 1);
		}
		if (v != NULL && json_object_getn(o, k, kl) != NULL) {
			json_decref(v); /* a repeated key */
			v = NULL;
		}
		/* json_object_setn_new_nocheck() takes v even when it fails. */
		bool ok = v != NULL && json_object_setn_new_nocheck(o, k, kl, v) == 0;
		if (copy != NULL && copy != kbuf)
			free(copy);
		if (!ok)
			goto fail;
		int more = after_member(f, '}');
		if (more < 0)
			goto fail;
		if (more == 0)
			return o;
	}
fail:
	json_decref(o);
	return NULL;
}

static json_t *array(struct fp *f, int depth)
{
	json_t *a = json_array();

	if (a == NULL || empty(f, ']'))
		return a;
	for (;;) {
		json_t *v = value(f, depth + 1);

		if (v == NULL || json_array_append_new(a, v) != 0)
			goto fail;
		int more = after_member(f, ']');
		if (more < 0)
			goto fail;
		if (more == 0)
			return a;
	}
fail:
	json_decref(a);
	return NULL;
}

static json_t *value(struct fp *f, int depth)
{
	const char *s;
	size_t n;

	if (f->p >= f->end || depth > FAST_DEPTH)
		return NULL;
	switch (*f->p) {
	case '{':
		return object(f, depth);
	case '[':
		return array(f, depth);
	case '"':
		return string(f, &s, &n) ? json_stringn_nocheck(s, n) : NULL;
	case 't':
		return word(f, "true", 4) ? json_true() : NULL;
	case 'f':
		return word(f, "false", 5) ? json_false() : NULL;
	case 'n':
		return word(f, "null", 4) ? json_null() : NULL;
	default:
		return number(f);
	}
}

json_t *qd_ld_fast_parse(const char *s, size_t n)
{
	struct fp f = {.p = (const unsigned char *)s, .end = (const unsigned char *)s + n};
	json_t *v;

	qd_buf_init(&f.tmp);
	ws(&f);
	v = value(&f, 0);
	ws(&f);
	if (v != NULL && f.p != f.end) {
		json_decref(v);
		v = NULL;
	}
	qd_buf_free(&f.tmp);
	return v;
}
