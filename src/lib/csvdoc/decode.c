/* qingdan — CSV import, stage 1: decoding the bytes to UTF-8 text
 * (UTF-8 checked, GB18030 converted with iconv(3)); see csvdoc.c. */
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>

#include "qingdan/buf.h"
#include "qingdan/err.h"
#include "qingdan/xlsx.h"

#include "csvdoc_int.h"

/* 1 + the line breaks ("\n", "\r\n", lone "\r") in s[0, off). */
static unsigned line_at(const char *s, size_t off)
{
	unsigned line = 1;

	for (size_t i = 0; i < off; i++) {
		if (s[i] == '\n' || (s[i] == '\r' && (i + 1 >= off || s[i + 1] != '\n')))
			line++;
	}
	return line;
}

/* i advanced past the ASCII bytes of s[i, n), eight at a time: most of
 * a list is ASCII, and both scans below are made over every byte. */
static size_t skip_ascii(const unsigned char *s, size_t i, size_t n)
{
	uint64_t w;

	while (i + 8 <= n) {
		memcpy(&w, s + i, 8);
		if (w & UINT64_C(0x8080808080808080))
			break;
		i += 8;
	}
	while (i < n && s[i] < 0x80)
		i++;
	return i;
}

/* qd_utf8_len(s + i, n - i) for s[i] >= 0x80, the three bytes of most
 * Chinese characters (E1-EC or EE-EF, then two continuation bytes)
 * told at once. */
static inline size_t utf8_k(const unsigned char *s, size_t i, size_t n)
{
	unsigned char c = s[i];

	if (i + 3 <= n && c >= 0xe1 && c <= 0xef && c != 0xed && (s[i + 1] & 0xc0) == 0x80 &&
	    (s[i + 2] & 0xc0) == 0x80)
		return 3;
	return qd_utf8_len(s + i, n - i);
}

static size_t utf8_scan(const unsigned char *s, size_t n, size_t *odd);

/* Offset of the first byte that does not start a well-formed UTF-8
 * sequence (no overlongs, surrogates or code points past U+10FFFF: what
 * jansson accepts), or n when all is well. */
static size_t utf8_bad(const unsigned char *s, size_t n)
{
	size_t odd;

	return utf8_scan(s, n, &odd);
}

/* Convert GB18030 to UTF-8 with iconv.  On success *out is malloc()ed.
 * Returns 0; QD_EINVAL with *bad the offset of the first undecodable byte
 * (len when the input ends inside a character); QD_ENOMEM; QD_EIO when
 * iconv cannot do this conversion at all. */
static int gb18030_to_utf8(const char *buf, size_t len, char **out, size_t *outlen, size_t *bad)
{
	iconv_t cd = iconv_open("UTF-8", "GB18030");
	/* A GB18030 character of 2 bytes becomes at most 3 bytes of UTF-8, of
	 * 1 or 4 bytes at most as many: 1.5 times the input always fits. */
	size_t cap = len + len / 2 + 16;
	char *res = NULL, *in = (char *)buf, *o;
	size_t inleft = len, oleft;
	int rc = 0;

	if (cd == (iconv_t)-1)
		return errno == ENOMEM ? QD_ENOMEM : QD_EIO;
	res = malloc(cap);
	if (res == NULL) {
		rc = QD_ENOMEM;
		goto out;
	}
	o = res;
	oleft = cap;
	while (inleft > 0) {
		if (iconv(cd, &in, &inleft, &o, &oleft) != (size_t)-1)
			break;
		if (errno == E2BIG) {
			size_t used = (size_t)(o - res);
			char *n = realloc(res, cap * 2);

			if (n == NULL) {
				rc = QD_ENOMEM;
				goto out;
			}
			res = n;
			cap *= 2;
			o = res + used;
			oleft = cap - used;
			continue;
		}
		/* EILSEQ: an invalid sequence; EINVAL: the input ends inside one. */
		*bad = errno == EINVAL ? len : (size_t)(in - buf);
		rc = QD_EINVAL;
		goto out;
	}
	*outlen = (size_t)(o - res);
	*out = res;
	res = NULL;
out:
	free(res);
	iconv_close(cd);
	return rc;
}

/* The code point of the k-byte UTF-8 sequence at p (checked already). */
static uint32_t utf8_cp(const unsigned char *p, size_t k)
{
	uint32_t c = p[0] & (k == 2 ? 0x1F : k == 3 ? 0x0F : 0x07);

	for (size_t i = 1; i < k; i++)
		c = (c << 6) | (p[i] & 0x3F);
	return c;
}

/* Would a Chinese list hold this character?  Latin-1 (µ, °, ±, ×), Greek
 * (α-淀粉酶), punctuation, letterlike and math symbols, enclosed numbers,
 * CJK punctuation, kana, ideographs, full-width forms and the BOM.  GB18030
 * bytes read as UTF-8 give Cyrillic, Latin Extended, Armenian, Hebrew… —
 * never only these. */
static bool plausible(uint32_t c)
{
	static const uint32_t ranges[][2] = {
		{ 0x00A0, 0x00FF }, { 0x0370, 0x03FF }, { 0x2000, 0x22FF }, { 0x2460, 0x24FF },
		{ 0x2500, 0x257F }, { 0x25A0, 0x26FF }, { 0x3000, 0x30FF }, { 0x3400, 0x4DBF },
		{ 0x4E00, 0x9FFF }, { 0xF900, 0xFAFF }, { 0xFE30, 0xFE4F }, { 0xFEFF, 0xFEFF },
		{ 0xFF00, 0xFFEF },
	};

	if (c < 0x80 || (c >= 0x4E00 && c <= 0x9FFF))
		return true;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		if (c >= ranges[i][0] && c <= ranges[i][1])
			return true;
	}
	return false;
}

/* utf8_bad(s, n), and in *odd the offset of the first character before
 * it that a Chinese list would not hold (n when there is none): one pass
 * for both. */
static size_t utf8_scan(const unsigned char *s, size_t n, size_t *odd)
{
	size_t i = 0;

	*odd = n;
	while ((i = skip_ascii(s, i, n)) < n) {
		size_t k = utf8_k(s, i, n);

		if (k == 0)
			return i;
		if (*odd == n && !plausible(utf8_cp(s + i, k)))
			*odd = i;
		i += k;
	}
	return n;
}

/* Offset of the first UTF-8 character of the valid UTF-8 text s that a
 * Chinese list would not hold, or n when there is none. */
static size_t implausible_at(const char *s, size_t n)
{
	size_t odd;

	utf8_scan((const unsigned char *)s, n, &odd);
	return odd;
}

/* Bytes that are valid UTF-8 and valid GB18030 at once, with characters
 * that only the GB18030 reading makes sense of (GB18030 "芯片" is UTF-8
 * "оƬ"): refused, quoting the cell both ways, rather than stored as
 * mojibake; at: implausible_at(buf, len).  Returns true after
 * reporting. */
static bool ambiguous(struct imp *im, const char *buf, size_t len, size_t at)
{
	size_t from, to, glen = 0, gbad = 0;
	char *gb = NULL, q1[QBUF], q2[QBUF];
	bool refuse;

	if (at == len)
		return false;
	/* GB18030's trail bytes are all >= 0x30: a cell's bounds (',', '"',
	 * blanks, line breaks) never cut one of its characters. */
	for (from = at; from > 0 && (unsigned char)buf[from - 1] >= 0x30; from--)
		;
	for (to = at; to < len && (unsigned char)buf[to] >= 0x30; to++)
		;
	if (gb18030_to_utf8(buf, len, &gb, &glen, &gbad) != 0)
		return false;
	refuse = implausible_at(gb, glen) == glen;
	free(gb);
	gb = NULL;
	if (!refuse || gb18030_to_utf8(buf + from, to - from, &gb, &glen, &gbad) != 0)
		return refuse;
	PROB_AT(im, line_at(buf, at), 0, "the bytes are valid UTF-8 and valid GB18030, and only "
		"GB18030 reads them as Chinese text (%s as UTF-8, %s as GB18030); name the charset: "
		"charset=gb18030, or charset=utf-8 if the UTF-8 reading is right",
		qd_quote(buf + from, to - from, q1), qd_quote(gb, glen, q2));
	free(gb);
	return true;
}

static void describe_byte(const char *buf, size_t len, size_t off, char *out, size_t size)
{
	if (off >= len)
		snprintf(out, size, "the file ends inside a character");
	else
		snprintf(out, size, "byte 0x%02X", (unsigned char)buf[off]);
}

enum charset { CS_AUTO, CS_UTF8, CS_GB18030 };

/* Turn the bytes into UTF-8 text without a BOM.  *text points into buf or
 * into *owned (malloc()ed, caller frees).  Returns 0; QD_EINVAL after a
 * problem; QD_ENOMEM; QD_EIO. */
int qd_csv_decode(struct imp *im, const char *buf, size_t len, const char *charset,
		  const char **text, size_t *tlen, char **owned)
{
	enum charset cs = CS_AUTO;
	size_t skip = 0, ubad = 0, gbad = 0, odd;
	char what[48];
	int rc;

	*owned = NULL;
	if (charset != NULL) {
		size_t n = strlen(charset);
		char q[QBUF];

		if (ascii_case_eq(charset, n, "utf-8") || ascii_case_eq(charset, n, "utf8")) {
			cs = CS_UTF8;
		} else if (ascii_case_eq(charset, n, "gb18030") || ascii_case_eq(charset, n, "gbk") ||
			   ascii_case_eq(charset, n, "gb2312")) {
			cs = CS_GB18030;
		} else {
			PROB_AT(im, 0, 0, "unsupported charset %s; use utf-8 or gb18030 "
				"(gbk and gb2312 are read as gb18030)", qd_quote(charset, n, q));
			return QD_EINVAL;
		}
	}
	/* A workbook is no text at all: say what it is rather than which
	 * byte fails to decode. */
	if (qd_xlsx_looks_like_xls(buf, len)) {
		PROB_AT(im, 0, 0, "%s", QD_XLSX_LEGACY_ADVICE);
		return QD_EINVAL;
	}
	if (qd_xlsx_looks_like(buf, len)) {
		PROB_AT(im, 0, 0, "the file is an Excel workbook (.xlsx, a zip), not CSV text: send it as "
			"a workbook (Content-Type " QD_XLSX_TYPE ", or qingdanctl load LIST FILE.xlsx)");
		return QD_EINVAL;
	}
	/* Excel's "Unicode text" is UTF-16: say so instead of "not UTF-8". */
	if (len >= 2 && ((buf[0] == '\xff' && buf[1] == '\xfe') || (buf[0] == '\xfe' && buf[1] == '\xff'))) {
		PROB_AT(im, 1, 0, "the file is UTF-16 text; save it as CSV in UTF-8 or GB18030");
		return QD_EINVAL;
	}
	if (cs != CS_GB18030) {
		/* A UTF-8 BOM settles the question. */
		if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
			skip = 3;
			cs = CS_UTF8;
		}
		ubad = skip + utf8_scan((const unsigned char *)buf + skip, len - skip, &odd);
		/* Without a BOM skip is 0: odd is implausible_at(buf, len). */
		if (ubad == len && cs == CS_AUTO && ambiguous(im, buf, len, odd))
			return QD_EINVAL;
		if (ubad == len) {
			*text = buf + skip;
			*tlen = len - skip;
			goto check_nul;
		}
		if (cs == CS_UTF8) {
			describe_byte(buf, len, ubad, what, sizeof(what));
			PROB_AT(im, line_at(buf, ubad), 0, "bytes are not valid UTF-8 (%s)", what);
			return QD_EINVAL;
		}
	}
	rc = gb18030_to_utf8(buf, len, owned, tlen, &gbad);
	if (rc == QD_EINVAL) {
		if (cs == CS_GB18030) {
			describe_byte(buf, len, gbad, what, sizeof(what));
			PROB_AT(im, line_at(buf, gbad), 0, "bytes are not valid GB18030 (%s)", what);
		} else {
			size_t off = ubad > gbad ? ubad : gbad;

			describe_byte(buf, len, off, what, sizeof(what));
			PROB_AT(im, line_at(buf, off), 0, "bytes are neither UTF-8 nor GB18030 (%s)", what);
		}
		return QD_EINVAL;
	}
	if (rc != 0)
		return rc;
	*text = *owned;
	/* GB18030 has a BOM too (84 31 95 33); it converts to U+FEFF. */
	if (*tlen >= 3 && memcmp(*text, "\xef\xbb\xbf", 3) == 0) {
		*text += 3;
		*tlen -= 3;
	}
	/* iconv's output is UTF-8 by contract; jansson would refuse anything else. */
	if (utf8_bad((const unsigned char *)*text, *tlen) != *tlen)
		return QD_EIO;
check_nul:
	{
		const char *nul = memchr(*text, '\0', *tlen);

		if (nul != NULL) {
			PROB_AT(im, line_at(*text, (size_t)(nul - *text)), 0,
				"the file contains a NUL byte; it is not CSV text in UTF-8 or GB18030");
			return QD_EINVAL;
		}
	}
	return 0;
}
