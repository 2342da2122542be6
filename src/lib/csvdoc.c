/* qingdan — CSV import of list entries.
 *
 * Three stages, all problems of every stage collected before giving up:
 *
 * 1. Decode.  The bytes become UTF-8 text: UTF-8 is checked (a BOM is
 *    dropped), GB18030 is converted with iconv(3), never by hand.  When no
 *    charset is named, a UTF-8 BOM or valid UTF-8 means UTF-8, and anything
 *    else is converted from GB18030 (what a Chinese Excel writes).  If neither
 *    decoding works, the problem names the line where the decoding that got
 *    further failed: that is the encoding the file most likely is in.  GBK
 *    and GB2312 are subsets of GB18030, so they are read as GB18030.
 *    Undecodable text stops the import: nothing after it can be trusted.
 *
 * 2. Tokenise with libcsv (Debian's libcsv3): it implements RFC 4180
 *    quoting including line breaks inside quoted fields, its strict mode
 *    (CSV_STRICT, CSV_STRICT_FINI) reports stray and unclosed quotes instead
 *    of guessing, it skips blank lines, and it keeps no global state (every
 *    callback gets our context).  It does not know line numbers, so we feed
 *    it one physical line at a time (a line ends at "\n", "\r\n" or a lone
 *    "\r"): a record begins on the first line with anything but blanks after
 *    the previous record ended, and a record can only end at the end of a
 *    chunk.  After a quoting error the parser restarts at the next line, so
 *    one stray '"' does not hide the problems of the rest of the file.
 *
 * 3. Build and validate.  Each record becomes an entry object (keys of the
 *    list document); the entries replace those of a copy of the base
 *    document, which qd_listdoc_from_json then validates with every loader
 *    rule.  Its problems (JSON Pointers /entries/<i>/<key>/...) are mapped
 *    back to the line of record i and the column holding <key>.
 *
 * Decisions beyond DESIGN.md:
 *  - A column "conditions" (备注要求) is accepted; a non-empty cell becomes
 *    one condition {"type": "remark", "text": cell}.
 *  - A header without data rows is a problem ("no entries"), not an empty
 *    list: an empty or truncated upload must not wipe a list.  To remove
 *    every entry, load a JSON document with "entries": [].
 *  - Rows whose cells are all empty (",,,," as spreadsheets write them) are
 *    skipped like blank lines.  A column with an empty heading is ignored as
 *    long as its cells are empty too.
 *  - Dates may also be written 2024/1/5, 2024.1.5, 2024-1-5 or
 *    2024年1月5日 (how spreadsheets in a Chinese locale show them); they
 *    become 2024-01-05.  Anything else passes to the validator unchanged.
 *  - English headings and English effect/status values are matched ignoring
 *    ASCII case.
 *  - Header problems (unknown, repeated, missing columns) do not stop the
 *    rows from being checked; the rule violations that a missing required
 *    column would cause on every row are reported once, on the header.
 *  - Problems are returned sorted by line and column.
 *  - When iconv cannot convert from GB18030 at all (no gconv modules), the
 *    result is QD_EIO: the file is not at fault. */
#include "qingdan/buf.h"
#include "qingdan/csvdoc.h"

#include <csv.h>
#include <errno.h>
#include <iconv.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qingdan/err.h"

/* A row wider than this is no list sheet (there are 17 fields); fields
 * beyond it are counted but not stored, so a line of a million commas
 * cannot make us allocate a million offsets. */
#define FIELDS_MAX 256
#define QBUF QD_QUOTE_BUF

enum field {
	F_ID,
	F_CODE,
	F_CIQ,
	F_NAME_ZH,
	F_NAME_EN,
	F_SPEC,
	F_EFFECT,
	F_ENTITIES,
	F_VALID_FROM,
	F_VALID_TO,
	F_STATUS,
	F_WAIVES,
	F_CONDITIONS,
	F_QTY_LIMIT,
	F_QTY_UNIT,
	F_CLAUSES,
	F_BATCH,
	F_COUNT
};

#define BIT(f) (UINT32_C(1) << (f))

/* The column headings (DESIGN.md, "CSV import"). */
static const struct field_def {
	const char *name;      /* English heading */
	const char *zh[4];     /* Chinese headings, NULL-terminated */
} fields[F_COUNT] = {
	[F_ID] = { "id", { "编号", "序号" } },
	[F_CODE] = { "code", { "商品编码", "商品编号", "HS编码" } },
	[F_CIQ] = { "ciq", { "检验检疫编码" } },
	[F_NAME_ZH] = { "name_zh", { "商品名称", "物品名称", "名称" } },
	[F_NAME_EN] = { "name_en", { "英文名称" } },
	[F_SPEC] = { "spec", { "规格型号", "规格" } },
	[F_EFFECT] = { "effect", { "类型" } },
	[F_ENTITIES] = { "entities", { "统一社会信用代码", "单位代码" } },
	[F_VALID_FROM] = { "valid_from", { "有效期起" } },
	[F_VALID_TO] = { "valid_to", { "有效期止" } },
	[F_STATUS] = { "status", { "状态" } },
	[F_WAIVES] = { "waives", { "免于提交单证" } },
	[F_CONDITIONS] = { "conditions", { "备注要求" } },
	[F_QTY_LIMIT] = { "quantity_limit", { "数量" } },
	[F_QTY_UNIT] = { "quantity_unit", { "计量单位" } },
	[F_CLAUSES] = { "clauses", { "依据条款" } },
	[F_BATCH] = { "batch", { "批次" } },
};

/* Entry keys of the list document, and the field whose column a problem
 * under /entries/<i>/<key> is reported at. */
static const struct key_field {
	const char *key;
	enum field f;
} key_fields[] = {
	{ "id", F_ID }, { "code", F_CODE }, { "ciq", F_CIQ }, { "name", F_NAME_ZH },
	{ "spec", F_SPEC }, { "effect", F_EFFECT }, { "entities", F_ENTITIES },
	{ "valid_from", F_VALID_FROM }, { "valid_to", F_VALID_TO }, { "status", F_STATUS },
	{ "waives", F_WAIVES }, { "conditions", F_CONDITIONS }, { "quantity", F_QTY_LIMIT },
	{ "clauses", F_CLAUSES }, { "batch", F_BATCH },
};

/* Values of effect and status as admins write them. */
struct alias {
	const char *text;
	const char *canon;
};

static const struct alias effect_aliases[] = {
	{ "include", "include" }, { "exclude", "exclude" },
	{ "纳入", "include" }, { "排除", "exclude" }, { NULL, NULL },
};

static const struct alias status_aliases[] = {
	{ "active", "active" }, { "suspended", "suspended" }, { "revoked", "revoked" },
	{ "有效", "active" }, { "暂停", "suspended" }, { "撤销", "revoked" }, { NULL, NULL },
};

#define COL_UNKNOWN (-1)        /* heading names no field: ignored after the report */
#define COL_REPEATED (-2)       /* second column for a field: ignored after the report */
#define COL_BLANK (-3)          /* empty heading: its cells must be empty */
#define COL_BLANK_REPORTED (-4) /* ... and one of them was not (reported once) */

/* The fields of the record being tokenised, each NUL-terminated, back to
 * back in `bytes`; `off` has the first min(nf, FIELDS_MAX) offsets. */
struct rowbuf {
	char *bytes;
	size_t len, cap;
	size_t *off;
	size_t nf;  /* fields seen, stored or not */
};

/* Import state.  `oom` is sticky and turns the result into QD_ENOMEM. */
struct imp {
	const qd_listdoc *base;
	qd_problems *p;          /* every problem, CSV line/column form */
	bool oom;
	/* Where the entries are built (NULL: malloc()); the document made
	 * from them takes it over.  Trees in it are never json_decref()ed. */
	qd_jarena *arena;

	/* tokeniser */
	unsigned line;           /* physical line being fed to libcsv */
	unsigned row_line;       /* line on which the current record began */
	bool in_row;             /* a record has begun and not yet ended */
	struct rowbuf row;

	/* header; col_field[j] is the field of column j+1 (or a COL_ value),
	 * col_of[f] the 1-based column of field f (0 when there is none) */
	bool have_header;        /* the first non-blank record has been seen */
	bool header_ok;          /* ... and names at least one field */
	unsigned header_line;
	size_t ncols;
	int *col_field;
	char **heading;          /* ncols trimmed headings as written */
	unsigned col_of[F_COUNT];
	uint32_t missing;        /* fields whose absent column was reported on the header */

	/* entries: lines[i] and flagged[i] belong to json entries[i] */
	json_t *entries;
	json_t *ids;             /* entry id -> line, for repeated ids */
	unsigned *lines;
	uint32_t *flagged;       /* fields of the entry with a CSV-level problem already */
	size_t n, cap;
	size_t data_rows;        /* non-empty records after the header */
};

#define PROB_AT(im, line, col, ...) qd_problems_add_at((im)->p, (line), (col), __VA_ARGS__)

/* ---- small helpers ------------------------------------------------------ */

static bool ascii_case_eq(const char *a, size_t n, const char *b)
{
	if (strlen(b) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}


/* Blanks around a cell or an item: ASCII space, tab, line breaks (a quoted
 * cell may end in one) and the ideographic space U+3000. */
static size_t blank_at(const char *s, size_t n)
{
	if (n >= 1 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n'))
		return 1;
	if (n >= 3 && memcmp(s, "\xe3\x80\x80", 3) == 0)
		return 3;
	return 0;
}

static size_t blank_before(const char *s, size_t n)
{
	char c;

	if (n == 0)
		return 0;
	c = s[n - 1];
	if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
		return 1;
	if (n >= 3 && memcmp(s + n - 3, "\xe3\x80\x80", 3) == 0)
		return 3;
	return 0;
}

static void trim(const char **s, size_t *n)
{
	size_t k;

	while ((k = blank_at(*s, *n)) > 0) {
		*s += k;
		*n -= k;
	}
	while ((k = blank_before(*s, *n)) > 0)
		*n -= k;
}

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

/* ---- decoding ------------------------------------------------------------ */

/* Offset of the first byte that does not start a well-formed UTF-8
 * sequence (no overlongs, surrogates or code points past U+10FFFF: what
 * jansson accepts), or n when all is well. */
static size_t utf8_bad(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = qd_utf8_len(s + i, n - i);
		if (k == 0)
			return i;
		i += k;
	}
	return n;
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
static int decode(struct imp *im, const char *buf, size_t len, const char *charset,
		  const char **text, size_t *tlen, char **owned)
{
	enum charset cs = CS_AUTO;
	size_t skip = 0, ubad = 0, gbad = 0;
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
		ubad = skip + utf8_bad((const unsigned char *)buf + skip, len - skip);
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

/* ---- header --------------------------------------------------------------- */

static int field_of_heading(const char *s, size_t n)
{
	for (int f = 0; f < F_COUNT; f++) {
		if (ascii_case_eq(s, n, fields[f].name))
			return f;
		for (const char *const *zh = fields[f].zh; *zh; zh++) {
			if (ascii_case_eq(s, n, *zh))
				return f;
		}
	}
	return -1;
}

/* "id (编号, 序号), code (商品编码, …), …" for messages. */
static void list_fields(char *buf, size_t size, uint32_t which)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int f = 0; f < F_COUNT && o < size; f++) {
		if (!(which & BIT(f)))
			continue;
		o += (size_t)snprintf(buf + o, size - o, "%s%s (", o ? ", " : "", fields[f].name);
		for (const char *const *zh = fields[f].zh; *zh && o < size; zh++)
			o += (size_t)snprintf(buf + o, size - o, "%s%s", zh == fields[f].zh ? "" : ", ", *zh);
		if (o < size)
			o += (size_t)snprintf(buf + o, size - o, ")");
	}
}

/* The heading of field f's column as the file writes it. */
static const char *hd(const struct imp *im, enum field f)
{
	return im->col_of[f] ? im->heading[im->col_of[f] - 1] : fields[f].name;
}

/* Trim every stored field in place; returns an array of n pointers to
 * them (malloc()ed), or NULL when out of memory. */
static char **row_cells(struct imp *im, size_t n)
{
	char **cells = calloc(n ? n : 1, sizeof(*cells));

	if (cells == NULL)
		return NULL;
	for (size_t j = 0; j < n; j++) {
		const char *s = im->row.bytes + im->row.off[j];
		size_t len = strlen(s);

		trim(&s, &len);
		cells[j] = (char *)s;
		cells[j][len] = '\0';
	}
	return cells;
}

static void header(struct imp *im)
{
	size_t n = im->row.nf;
	char **cells;
	unsigned recognised = 0;
	bool blank = true;
	uint32_t required = BIT(F_ID) | BIT(F_CODE) | BIT(F_NAME_ZH) | BIT(F_CLAUSES);
	char list[1024], q[QBUF];

	if (n > FIELDS_MAX) {
		im->have_header = true;
		PROB_AT(im, im->row_line, 0, "the header has %zu columns; at most %d are read", n, FIELDS_MAX);
		return;
	}
	cells = row_cells(im, n);
	if (cells == NULL) {
		im->oom = true;
		return;
	}
	/* Rows of empty cells above the header are skipped like blank lines. */
	for (size_t j = 0; j < n && blank; j++)
		blank = cells[j][0] == '\0';
	if (blank) {
		free(cells);
		return;
	}
	im->have_header = true;
	im->header_line = im->row_line;
	im->col_field = calloc(n, sizeof(*im->col_field));
	im->heading = calloc(n, sizeof(*im->heading));
	if (im->col_field == NULL || im->heading == NULL) {
		free(cells);
		im->oom = true;
		return;
	}
	im->ncols = n;
	for (size_t j = 0; j < n; j++) {
		int f;

		im->heading[j] = strdup(cells[j]);
		if (im->heading[j] == NULL)
			im->oom = true;
		if (cells[j][0] == '\0') {
			im->col_field[j] = COL_BLANK;
			continue;
		}
		f = field_of_heading(cells[j], strlen(cells[j]));
		if (f < 0) {
			im->col_field[j] = COL_UNKNOWN;
		} else if (im->col_of[f] != 0) {
			im->col_field[j] = COL_REPEATED;
		} else {
			im->col_field[j] = f;
			im->col_of[f] = (unsigned)j + 1;
			recognised++;
		}
	}
	free(cells);
	if (im->oom)
		return;
	list_fields(list, sizeof(list), UINT32_MAX);
	if (recognised == 0) {
		/* Every cell unknown: a missing header, not a header full of typos. */
		PROB_AT(im, im->row_line, 0, "the first line is not a header row: none of its cells "
			"names a column; expected headings among %s", list);
		return;
	}
	im->header_ok = true;
	for (size_t j = 0; j < n; j++) {
		const char *h = im->heading[j];

		if (im->col_field[j] == COL_UNKNOWN) {
			PROB_AT(im, im->row_line, (unsigned)j + 1, "unknown column %s; expected one of %s",
				qd_quote(h, strlen(h), q), list);
		} else if (im->col_field[j] == COL_REPEATED) {
			int f = field_of_heading(h, strlen(h));

			PROB_AT(im, im->row_line, (unsigned)j + 1,
				"column %s repeats column %u (%s): each field may appear once",
				qd_quote(h, strlen(h), q), im->col_of[f], fields[f].name);
		}
	}
	if (im->base->kind == QD_KIND_WHITELIST)
		required |= BIT(F_ENTITIES);
	for (int f = 0; f < F_COUNT; f++) {
		if ((required & BIT(f)) && im->col_of[f] == 0)
			im->missing |= BIT(f);
	}
	if (im->missing != 0) {
		list_fields(list, sizeof(list), im->missing);
		PROB_AT(im, im->row_line, 0, "missing required column%s %s%s",
			(im->missing & (im->missing - 1)) ? "s" : "", list,
			im->base->kind == QD_KIND_WHITELIST && (im->missing & BIT(F_ENTITIES))
				? " (a whitelist names the entities of every entry)" : "");
	}
	/* A quantity is a limit and a unit: one column alone cannot make one. */
	if ((im->col_of[F_QTY_LIMIT] != 0) != (im->col_of[F_QTY_UNIT] != 0)) {
		enum field have = im->col_of[F_QTY_LIMIT] ? F_QTY_LIMIT : F_QTY_UNIT;
		enum field lack = have == F_QTY_LIMIT ? F_QTY_UNIT : F_QTY_LIMIT;

		PROB_AT(im, im->row_line, im->col_of[have], "column %s needs a %s (%s) column as well",
			qd_quote(hd(im, have), strlen(hd(im, have)), q), fields[lack].name, fields[lack].zh[0]);
		im->missing |= BIT(F_QTY_LIMIT) | BIT(F_QTY_UNIT);
	}
}

/* ---- data rows --------------------------------------------------------------- */

static void put(struct imp *im, json_t *obj, const char *key, json_t *val)
{
	if (val == NULL || json_object_set_new(obj, key, val) != 0)
		im->oom = true;
}

static json_t *str(struct imp *im, const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);

	if (j == NULL)
		im->oom = true;
	return j;
}

/* Split a multi-valued cell on ';', '；' (U+FF1B) or '|'; items are
 * trimmed and empty ones dropped. */
static json_t *split(struct imp *im, const char *s)
{
	json_t *arr = json_array();
	const char *item = s;

	if (arr == NULL) {
		im->oom = true;
		return NULL;
	}
	for (const char *c = s;; c++) {
		size_t seplen = 0;

		if (*c == ';' || *c == '|' || *c == '\0')
			seplen = 1;
		else if (c[0] == '\xef' && c[1] == '\xbc' && c[2] == '\x9b') /* ； */
			seplen = 3;
		if (seplen == 0)
			continue;
		{
			const char *t = item;
			size_t n = (size_t)(c - item);

			trim(&t, &n);
			if (n > 0 && json_array_append_new(arr, str(im, t, n)) != 0)
				im->oom = true;
		}
		if (*c == '\0')
			break;
		c += seplen - 1;
		item = c + 1;
	}
	return arr;
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return n > 0;
}

/* A date as spreadsheets in a Chinese locale write it — 2024/1/5,
 * 2024.1.5, 2024-1-5, 2024年1月5日 — becomes "2024-01-05"; anything else
 * is passed on for the validator to judge. */
static json_t *date_value(struct imp *im, const char *s)
{
	const char *y = s, *m, *d, *end;
	size_t n = strlen(s);
	char buf[16];
	bool zh = false;

	if (n < 8 || !digits(y, 4))
		return str(im, s, n);
	m = y + 4;
	if (*m == '-' || *m == '/' || *m == '.') {
		m++;
	} else if (strncmp(m, "年", strlen("年")) == 0) {
		m += strlen("年");
		zh = true;
	} else {
		return str(im, s, n);
	}
	for (d = m; *d >= '0' && *d <= '9'; d++)
		;
	if (d - m < 1 || d - m > 2)
		return str(im, s, n);
	if (zh && strncmp(d, "月", strlen("月")) == 0)
		d += strlen("月");
	else if (!zh && *d == m[-1])
		d++;
	else
		return str(im, s, n);
	for (end = d; *end >= '0' && *end <= '9'; end++)
		;
	if (end - d < 1 || end - d > 2)
		return str(im, s, n);
	if (zh && strcmp(end, "日") == 0)
		end += strlen("日");
	if (*end != '\0')
		return str(im, s, n);
	snprintf(buf, sizeof(buf), "%.4s-%02d-%02d", y, atoi(m), atoi(d));
	return str(im, buf, strlen(buf));
}

/* A quantity limit: a decimal number, integers kept as integers.  Returns
 * NULL when the cell is not a number (*oom untouched) or on out-of-memory. */
static json_t *number(struct imp *im, const char *s)
{
	size_t n = strlen(s);
	char *end;
	json_t *j;

	/* strtod alone would take "0x1p3", "nan" and "inf". */
	if (strspn(s, "0123456789+-.eE") != n || n == 0)
		return NULL;
	errno = 0;
	{
		long long v = strtoll(s, &end, 10);

		if (end == s + n && errno == 0) {
			j = json_integer((json_int_t)v);
			goto out;
		}
	}
	errno = 0;
	{
		double v = strtod(s, &end);

		if (end != s + n || !isfinite(v))
			return NULL;
		j = json_real(v);
	}
out:
	if (j == NULL)
		im->oom = true;
	return j;
}

/* Map an effect or status cell through its aliases; NULL after reporting
 * an unknown value. */
static const char *alias(struct imp *im, const struct alias *a, enum field f, const char *s)
{
	char allowed[128], q[QBUF];
	size_t o = 0;

	for (const struct alias *x = a; x->text; x++) {
		if (ascii_case_eq(s, strlen(s), x->text))
			return x->canon;
	}
	allowed[0] = '\0';
	for (const struct alias *x = a; x->text && o < sizeof(allowed); x++)
		o += (size_t)snprintf(allowed + o, sizeof(allowed) - o, "%s%s", o ? ", " : "", x->text);
	PROB_AT(im, im->row_line, im->col_of[f], "%s %s is not one of %s",
		hd(im, f), qd_quote(s, strlen(s), q), allowed);
	return NULL;
}

/* Build the entry of one data row; cells[] are the trimmed fields. */
static void entry(struct imp *im, char **cells)
{
	static const enum field required[] = { F_ID, F_CODE, F_NAME_ZH, F_CLAUSES };
	const unsigned line = im->row_line;
	uint32_t flagged = 0;
	const char *c[F_COUNT] = { 0 };
	json_t *e = json_object();
	char q[QBUF];

	if (e == NULL) {
		im->oom = true;
		return;
	}
	for (size_t j = 0; j < im->ncols; j++) {
		if (im->col_field[j] >= 0 && cells[j][0] != '\0') {
			c[im->col_field[j]] = cells[j];
		} else if (im->col_field[j] == COL_BLANK && cells[j][0] != '\0') {
			PROB_AT(im, line, (unsigned)j + 1, "this cell holds %s but its column has no heading",
				qd_quote(cells[j], strlen(cells[j]), q));
			im->col_field[j] = COL_BLANK_REPORTED;
		}
	}

	/* Required cells: one message naming the heading, instead of the
	 * validator's "is required" about a JSON key. */
	for (size_t k = 0; k < sizeof(required) / sizeof(required[0]); k++) {
		enum field f = required[k];

		if (im->col_of[f] != 0 && c[f] == NULL) {
			PROB_AT(im, line, im->col_of[f], "%s is empty; every entry needs one", hd(im, f));
			flagged |= BIT(f);
		}
	}

	if (c[F_ID] != NULL) {
		json_t *prev = json_object_get(im->ids, c[F_ID]);

		put(im, e, "id", str(im, c[F_ID], strlen(c[F_ID])));
		if (prev != NULL) {
			PROB_AT(im, line, im->col_of[F_ID], "%s %s is already used on line %" JSON_INTEGER_FORMAT,
				hd(im, F_ID), qd_quote(c[F_ID], strlen(c[F_ID]), q), json_integer_value(prev));
			flagged |= BIT(F_ID);
		} else if (json_object_set_new(im->ids, c[F_ID], json_integer(line)) != 0) {
			im->oom = true;
		}
	}
	if (c[F_CODE] != NULL)
		put(im, e, "code", str(im, c[F_CODE], strlen(c[F_CODE])));
	if (c[F_CIQ] != NULL)
		put(im, e, "ciq", str(im, c[F_CIQ], strlen(c[F_CIQ])));
	if (c[F_NAME_ZH] != NULL || c[F_NAME_EN] != NULL) {
		json_t *name = json_object();

		if (name == NULL)
			im->oom = true;
		if (name != NULL && c[F_NAME_ZH] != NULL)
			put(im, name, "zh", str(im, c[F_NAME_ZH], strlen(c[F_NAME_ZH])));
		if (name != NULL && c[F_NAME_EN] != NULL)
			put(im, name, "en", str(im, c[F_NAME_EN], strlen(c[F_NAME_EN])));
		put(im, e, "name", name);
	}
	if (c[F_SPEC] != NULL)
		put(im, e, "spec", str(im, c[F_SPEC], strlen(c[F_SPEC])));
	if (c[F_EFFECT] != NULL) {
		const char *v = alias(im, effect_aliases, F_EFFECT, c[F_EFFECT]);

		if (v != NULL)
			put(im, e, "effect", str(im, v, strlen(v)));
		else
			flagged |= BIT(F_EFFECT);
	}
	if (c[F_ENTITIES] != NULL)
		put(im, e, "entities", split(im, c[F_ENTITIES]));
	if (c[F_VALID_FROM] != NULL)
		put(im, e, "valid_from", date_value(im, c[F_VALID_FROM]));
	if (c[F_VALID_TO] != NULL)
		put(im, e, "valid_to", date_value(im, c[F_VALID_TO]));
	if (c[F_STATUS] != NULL) {
		const char *v = alias(im, status_aliases, F_STATUS, c[F_STATUS]);

		if (v != NULL)
			put(im, e, "status", str(im, v, strlen(v)));
		else
			flagged |= BIT(F_STATUS);
	}
	if (c[F_WAIVES] != NULL)
		put(im, e, "waives", split(im, c[F_WAIVES]));
	if (c[F_CONDITIONS] != NULL) {
		json_t *arr = json_array(), *cond = json_object();

		if (arr == NULL || cond == NULL) {
			json_decref(arr);
			json_decref(cond);
			im->oom = true;
		} else {
			put(im, cond, "type", str(im, "remark", 6));
			put(im, cond, "text", str(im, c[F_CONDITIONS], strlen(c[F_CONDITIONS])));
			if (json_array_append_new(arr, cond) != 0)
				im->oom = true;
			put(im, e, "conditions", arr);
		}
	}
	/* Both or neither; with only one of the columns the header said so. */
	if (!(im->missing & BIT(F_QTY_LIMIT)) && (c[F_QTY_LIMIT] != NULL || c[F_QTY_UNIT] != NULL)) {
		const char *lim = c[F_QTY_LIMIT], *unit = c[F_QTY_UNIT];

		if (lim == NULL || unit == NULL) {
			enum field lack = lim == NULL ? F_QTY_LIMIT : F_QTY_UNIT;
			enum field have = lim == NULL ? F_QTY_UNIT : F_QTY_LIMIT;

			PROB_AT(im, line, im->col_of[lack], "%s is given but %s is empty; give both or neither",
				hd(im, have), hd(im, lack));
			flagged |= BIT(F_QTY_LIMIT) | BIT(F_QTY_UNIT);
		} else {
			bool was_oom = im->oom;
			json_t *limit = number(im, lim);

			if (limit == NULL && im->oom == was_oom) {
				PROB_AT(im, line, im->col_of[F_QTY_LIMIT], "%s %s is not a number",
					hd(im, F_QTY_LIMIT), qd_quote(lim, strlen(lim), q));
				flagged |= BIT(F_QTY_LIMIT);
			} else if (limit != NULL) {
				json_t *qty = json_object();

				if (qty == NULL) {
					json_decref(limit);
					im->oom = true;
				} else {
					put(im, qty, "limit", limit);
					put(im, qty, "unit", str(im, unit, strlen(unit)));
					put(im, e, "quantity", qty);
				}
			}
		}
	}
	if (c[F_CLAUSES] != NULL)
		put(im, e, "clauses", split(im, c[F_CLAUSES]));
	if (c[F_BATCH] != NULL)
		put(im, e, "batch", str(im, c[F_BATCH], strlen(c[F_BATCH])));

	if (im->n == im->cap) {
		size_t ncap = im->cap ? im->cap * 2 : 64;
		unsigned *nl = realloc(im->lines, ncap * sizeof(*nl));
		uint32_t *nf;

		if (nl != NULL)
			im->lines = nl;
		nf = realloc(im->flagged, ncap * sizeof(*nf));
		if (nf != NULL)
			im->flagged = nf;
		if (nl == NULL || nf == NULL) {
			json_decref(e);
			im->oom = true;
			return;
		}
		im->cap = ncap;
	}
	if (json_array_append_new(im->entries, e) != 0) {
		im->oom = true;
		return;
	}
	im->lines[im->n] = line;
	im->flagged[im->n] = flagged;
	im->n++;
}

static void data_row(struct imp *im)
{
	size_t n = im->row.nf < FIELDS_MAX ? im->row.nf : FIELDS_MAX;
	char **cells = row_cells(im, n);
	bool empty = true;

	if (cells == NULL) {
		im->oom = true;
		return;
	}
	for (size_t j = 0; j < n && empty; j++)
		empty = cells[j][0] == '\0';
	if (empty && im->row.nf <= FIELDS_MAX)
		goto out;
	im->data_rows++;
	if (!im->header_ok)
		goto out;
	if (im->row.nf != im->ncols) {
		PROB_AT(im, im->row_line, 0, "row has %zu field%s; the header has %zu",
			im->row.nf, im->row.nf == 1 ? "" : "s", im->ncols);
		goto out;
	}
	entry(im, cells);
out:
	free(cells);
}

/* ---- tokenising -------------------------------------------------------------- */

static void on_field(void *s, size_t len, void *data)
{
	struct imp *im = data;
	struct rowbuf *r = &im->row;

	r->nf++;
	if (im->oom || r->nf > FIELDS_MAX)
		return;
	if (s == NULL)
		len = 0;
	if (r->len + len + 1 > r->cap) {
		size_t ncap = r->cap ? r->cap : 256;
		char *nb;

		while (r->len + len + 1 > ncap)
			ncap *= 2;
		nb = realloc(r->bytes, ncap);
		if (nb == NULL) {
			im->oom = true;
			return;
		}
		r->bytes = nb;
		r->cap = ncap;
	}
	if (r->off == NULL && (r->off = malloc(FIELDS_MAX * sizeof(*r->off))) == NULL) {
		im->oom = true;
		return;
	}
	r->off[r->nf - 1] = r->len;
	if (len > 0)
		memcpy(r->bytes + r->len, s, len);
	r->len += len;
	r->bytes[r->len++] = '\0';
}

static void row_reset(struct rowbuf *r)
{
	r->len = 0;
	r->nf = 0;
}

static void on_row(int c, void *data)
{
	struct imp *im = data;

	(void)c;
	im->in_row = false;
	if (!im->oom) {
		if (!im->have_header)
			header(im);
		else
			data_row(im);
	}
	row_reset(&im->row);
}

/* End of the physical line starting at pos: just past its "\n", "\r\n"
 * or lone "\r", or len. */
static size_t line_end(const char *s, size_t len, size_t pos)
{
	for (size_t i = pos; i < len; i++) {
		if (s[i] == '\n')
			return i + 1;
		if (s[i] == '\r')
			return (i + 1 < len && s[i + 1] == '\n') ? i + 2 : i + 1;
	}
	return len;
}

/* Anything but what libcsv skips between records? */
static bool has_content(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return true;
	}
	return false;
}

static const unsigned char csv_opts = CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL;

static int tokenise(struct imp *im, const char *text, size_t len)
{
	struct csv_parser cp;
	size_t pos = 0;

	if (csv_init(&cp, csv_opts) != 0)
		return QD_ENOMEM;
	im->line = 1;
	while (pos < len && !im->oom) {
		size_t end = line_end(text, len, pos), n = end - pos;

		if (!im->in_row && has_content(text + pos, n)) {
			im->in_row = true;
			im->row_line = im->line;
		}
		if (csv_parse(&cp, text + pos, n, on_field, on_row, im) < n) {
			if (csv_error(&cp) != CSV_EPARSE) {
				im->oom = true;
				break;
			}
			PROB_AT(im, im->line, (unsigned)im->row.nf + 1,
				"misplaced '\"': a quote inside an unquoted field, or text after a "
				"closing quote (write \"\" for a quote inside a quoted field)");
			/* The record is lost; the next line starts afresh, so later
			 * records are still checked.  A lost header is still a header:
			 * the next record must not be read as one. */
			if (!im->have_header) {
				im->have_header = true;
				im->header_line = im->row_line;
			}
			row_reset(&im->row);
			im->in_row = false;
			csv_free(&cp);
			if (csv_init(&cp, csv_opts) != 0)
				return QD_ENOMEM;
		}
		if (end > pos && (text[end - 1] == '\n' || text[end - 1] == '\r'))
			im->line++;
		pos = end;
	}
	if (!im->oom && csv_fini(&cp, on_field, on_row, im) != 0) {
		if (csv_error(&cp) == CSV_EPARSE)
			PROB_AT(im, im->row_line, (unsigned)im->row.nf + 1,
				"the quoted field begun here is never closed (a '\"' is missing)");
		else
			im->oom = true;
	}
	csv_free(&cp);
	return im->oom ? QD_ENOMEM : 0;
}

/* ---- validation ---------------------------------------------------------------- */

/* The field whose column a problem at /entries/<i><rest> belongs to, or
 * -1 for the entry as a whole or an unknown key. */
static int field_of_path(const char *rest)
{
	size_t n;

	if (*rest != '/')
		return -1;
	rest++;
	n = strcspn(rest, "/");
	for (size_t k = 0; k < sizeof(key_fields) / sizeof(key_fields[0]); k++) {
		if (strlen(key_fields[k].key) != n || strncmp(rest, key_fields[k].key, n) != 0)
			continue;
		if (key_fields[k].f == F_NAME_ZH && strncmp(rest + n, "/en", 3) == 0)
			return F_NAME_EN;
		if (key_fields[k].f == F_QTY_LIMIT && strncmp(rest + n, "/unit", 5) == 0)
			return F_QTY_UNIT;
		return key_fields[k].f;
	}
	return -1;
}

/* Report a validator problem at the line and column it concerns. */
static void map_problem(struct imp *im, const qd_problem *vp)
{
	const char *path = vp->path ? vp->path : "";
	const char *prefix = "/entries/";
	size_t plen = strlen(prefix);

	if (strncmp(path, prefix, plen) == 0 && path[plen] >= '0' && path[plen] <= '9') {
		char *rest;
		unsigned long i = strtoul(path + plen, &rest, 10);

		if (i < im->n) {
			int f = field_of_path(rest);

			/* Already said, in CSV terms: on the header or for this cell. */
			if (f >= 0 && ((im->missing & BIT(f)) || (im->flagged[i] & BIT(f))))
				return;
			PROB_AT(im, im->lines[i], f >= 0 ? im->col_of[f] : 0, "%s", vp->message);
			return;
		}
	}
	PROB_AT(im, 0, 0, "%s: %s", path[0] ? path : "/", vp->message);
}

/* The base document with its entries replaced (a new reference).  Every
 * other member is deep-copied: the base may be shared. */
static json_t *with_entries(struct imp *im)
{
	json_t *doc = json_object();
	const char *key;
	json_t *val;

	if (doc == NULL)
		return NULL;
	json_object_foreach(im->base->json, key, val) {
		json_t *v = strcmp(key, "entries") == 0 ? json_incref(im->entries) : json_deep_copy(val);

		if (v == NULL || json_object_set_new(doc, key, v) != 0) {
			json_decref(doc);
			return NULL;
		}
	}
	if (json_object_get(doc, "entries") == NULL &&
	    json_object_set(doc, "entries", im->entries) != 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static int validate(struct imp *im, qd_listdoc **out)
{
	qd_problems vp;
	json_t *doc = with_entries(im);
	int rc;

	if (doc == NULL)
		return QD_ENOMEM;
	qd_problems_init(&vp);
	rc = qd_listdoc_from_arena(doc, im->arena, im->base->list, out, &vp);
	if (im->arena == NULL)
		json_decref(doc);
	for (size_t i = 0; i < vp.count; i++)
		map_problem(im, &vp.items[i]);
	im->p->omitted += vp.omitted;
	qd_problems_free(&vp);
	return rc == QD_ENOMEM ? QD_ENOMEM : 0;
}

/* ---- the entry point -------------------------------------------------------------- */

struct sorted {
	const qd_problem *p;
	size_t seq;
};

static int by_position(const void *a, const void *b)
{
	const struct sorted *x = a, *y = b;

	if (x->p->line != y->p->line)
		return x->p->line < y->p->line ? -1 : 1;
	if (x->p->column != y->p->column)
		return x->p->column < y->p->column ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hand the collected problems to the caller, sorted by line and column. */
static int transfer(qd_problems *from, qd_problems *to)
{
	struct sorted *s = calloc(from->count ? from->count : 1, sizeof(*s));

	if (s == NULL)
		return QD_ENOMEM;
	for (size_t i = 0; i < from->count; i++) {
		s[i].p = &from->items[i];
		s[i].seq = i;
	}
	qsort(s, from->count, sizeof(*s), by_position);
	for (size_t i = 0; i < from->count; i++)
		qd_problems_add_at(to, s[i].p->line, s[i].p->column, "%s", s[i].p->message);
	to->omitted += from->omitted;
	free(s);
	return 0;
}

static void imp_free(struct imp *im)
{
	for (size_t j = 0; im->heading != NULL && j < im->ncols; j++)
		free(im->heading[j]);
	free(im->heading);
	free(im->col_field);
	free(im->row.bytes);
	free(im->row.off);
	if (im->arena == NULL) {
		json_decref(im->entries);
		json_decref(im->ids);
	}
	free(im->lines);
	free(im->flagged);
}

int qd_csv_to_listdoc(const char *buf, size_t len, const char *charset,
		      const qd_listdoc *base, qd_listdoc **out, qd_problems *problems)
{
	qd_problems mine, scratch;
	struct imp im = { .base = base, .p = &mine };
	qd_listdoc *doc = NULL;
	qd_jarena *prev = NULL;
	const char *text = NULL;
	char *owned = NULL;
	size_t tlen = 0;
	int rc;

	*out = NULL;
	qd_problems_init(&mine);
	qd_problems_init(&scratch);
	/* A caller that wants only the verdict may pass no collection. */
	if (problems == NULL)
		problems = &scratch;
	if (base == NULL || base->json == NULL || (buf == NULL && len > 0)) {
		qd_problems_add_at(problems, 0, 0, "no base document or no CSV bytes");
		rc = QD_EINVAL;
		goto out;
	}
	rc = decode(&im, buf ? buf : "", len, charset, &text, &tlen, &owned);
	if (rc != 0)
		goto done;
	im.arena = qd_jarena_new();
	prev = qd_jarena_enter(im.arena);
	im.entries = json_array();
	im.ids = json_object();
	if (im.entries == NULL || im.ids == NULL) {
		rc = QD_ENOMEM;
		goto done;
	}
	rc = tokenise(&im, text, tlen);
	if (rc != 0)
		goto done;
	if (!im.have_header)
		PROB_AT(&im, 1, 0, "the file is empty; a header row naming the columns is required");
	else if (im.header_ok && im.data_rows == 0)
		PROB_AT(&im, im.header_line, 0, "the file has a header but no entries; to remove every "
			"entry load a JSON document with \"entries\": []");
	if (im.header_ok) {
		rc = validate(&im, &doc);
		if (rc != 0)
			goto done;
	}
	rc = im.oom ? QD_ENOMEM : 0;
done:
	qd_jarena_leave(prev);
	if (rc == 0 && qd_problems_total(&mine) > 0)
		rc = QD_EINVAL;
	if (rc == QD_EINVAL && transfer(&mine, problems) != 0)
		rc = QD_ENOMEM;
	if (rc == 0) {
		*out = doc;
		doc = NULL;
	}
out:
	/* The tree goes with the arena: what points into it goes first. */
	imp_free(&im);
	if (doc == NULL && *out == NULL)
		qd_jarena_free(im.arena);
	qd_listdoc_free(doc);
	free(owned);
	qd_problems_free(&mine);
	qd_problems_free(&scratch);
	return rc;
}
