/* qingdan — spreadsheet import: one sheet, streamed with libxml2's
 * xmlTextReader, each <row> handed to its sink (the CSV import, or plain
 * rows) as it ends. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlreader.h>

#include "qingdan/buf.h"
#include "qingdan/date.h"
#include "qingdan/err.h"
#include "qingdan/xlsx.h"

#include "xlsxdoc_int.h"

/* The widest sheet Excel writes (XFD). */
#define COLS_MAX 16384

enum ctype { C_NUMBER, C_SHARED, C_INLINE, C_STR, C_BOOL, C_ERROR, C_DATE };

struct cell {
	unsigned col;
	enum ctype type;
	unsigned style;
	char *text;    /* <v> or the inline string; malloc()ed */
};

struct sheet {
	const struct book *bk;
	const struct sink *rows;
	xmlTextReaderPtr rd;
	bool oom, bad;
	bool stop;                 /* a limit was passed: read no further */
	unsigned row;              /* the current row's number */
	size_t n_cells, n_rows;    /* <c> and <row> elements so far */
	size_t text_left;          /* bytes of cell text still allowed (bk->max_bytes at first) */
	struct cell *cells;
	size_t n, cap;
	char **headings;           /* the header row's, once it is in */
	size_t ncols;
	unsigned header_row;
};

void qd_xlsx_col_name(unsigned col, char *out)
{
	char rev[8];
	size_t n = 0;

	while (col > 0 && n < 7) {
		rev[n++] = (char)('A' + (col - 1) % 26);
		col = (col - 1) / 26;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = rev[n - 1 - i];
	out[n] = '\0';
}

/* "B7" → column 2, row 7 (row 0 when absent); false when malformed. */
static bool parse_ref(const char *s, unsigned *col, unsigned *row)
{
	unsigned c = 0, r = 0;

	for (; *s >= 'A' && *s <= 'Z'; s++) {
		c = c * 26 + (unsigned)(*s - 'A' + 1);
		if (c > COLS_MAX)
			return false;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		r = r * 10 + (unsigned)(*s - '0');
		if (r > 10000000)
			return false;
	}
	*col = c;
	*row = r;
	return *s == '\0' && c > 0;
}

static void problem(struct sheet *sh, unsigned row, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void problem(struct sheet *sh, unsigned row, unsigned col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sh->rows->problem(sh->rows->cls, row, col, msg);
	sh->bad = true;
}

/* Append the text inside the current element (reader on its start tag)
 * and a NUL to b, leaving the reader on its end tag; phonetic runs
 * (<rPh>) are left out.  Returns 0 or QD_ENOMEM. */
static int element_text(xmlTextReaderPtr rd, qd_buf *b)
{
	int depth = xmlTextReaderDepth(rd), rph = -1;

	qd_buf_add(b, "", 0);
	if (xmlTextReaderIsEmptyElement(rd))
		return b->oom ? QD_ENOMEM : 0;
	while (xmlTextReaderRead(rd) == 1) {
		int t = xmlTextReaderNodeType(rd), d = xmlTextReaderDepth(rd);
		const char *name = (const char *)xmlTextReaderConstLocalName(rd);

		if (t == XML_READER_TYPE_END_ELEMENT && d == depth)
			break;
		if (t == XML_READER_TYPE_ELEMENT && strcmp(name, "rPh") == 0 && !xmlTextReaderIsEmptyElement(rd))
			rph = d;
		else if (t == XML_READER_TYPE_END_ELEMENT && d == rph)
			rph = -1;
		if (rph < 0 && (t == XML_READER_TYPE_TEXT || t == XML_READER_TYPE_CDATA ||
				t == XML_READER_TYPE_SIGNIFICANT_WHITESPACE || t == XML_READER_TYPE_WHITESPACE)) {
			const char *v = (const char *)xmlTextReaderConstValue(rd);

			if (v != NULL)
				qd_buf_puts(b, v);
		}
	}
	return b->oom ? QD_ENOMEM : 0;
}

/* The shared strings part: every <si>, rich runs joined, phonetic runs
 * left out, into one block (the pool) with an offset each. */
int qd_xlsx_shared_strings(struct book *bk, const char *part, const char *xml, size_t len, qd_problems *p)
{
	qd_buf pool = { 0 };
	xmlTextReaderPtr rd;
	size_t cap = 0;
	int rc = 0, r;

	rd = xmlReaderForMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
				XML_PARSE_NOWARNING);
	if (rd == NULL)
		return QD_ENOMEM;
	while ((r = xmlTextReaderRead(rd)) == 1) {
		size_t at = pool.len;

		if (xmlTextReaderNodeType(rd) != XML_READER_TYPE_ELEMENT ||
		    strcmp((const char *)xmlTextReaderConstLocalName(rd), "si") != 0)
			continue;
		if (bk->n_strings == QD_XLSX_STRINGS_MAX) {
			qd_problems_add_at(p, 0, 0, "the workbook's shared strings (%s) are more than %d; at "
					   "most %d are read", part, QD_XLSX_STRINGS_MAX, QD_XLSX_STRINGS_MAX);
			rc = QD_EINVAL;
			break;
		}
		rc = element_text(rd, &pool);
		if (rc != 0)
			break;
		pool.len++; /* keep the NUL: the next string starts after it */
		if (at > UINT32_MAX) {
			qd_problems_add_at(p, 0, 0, "the workbook's shared strings (%s) hold more than %u bytes",
					   part, UINT32_MAX);
			rc = QD_EINVAL;
			break;
		}
		if (bk->n_strings == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			uint32_t *no = realloc(bk->str_off, ncap * sizeof(*no));

			if (no == NULL) {
				rc = QD_ENOMEM;
				break;
			}
			bk->str_off = no;
			cap = ncap;
		}
		bk->str_off[bk->n_strings++] = (uint32_t)at;
	}
	if (rc == 0 && r < 0) {
		qd_problems_add_at(p, 0, 0, "the workbook's shared strings (%s) are not well-formed XML", part);
		rc = QD_EINVAL;
	}
	xmlFreeTextReader(rd);
	/* The doubling's slack goes back: what stays is the strings' size. */
	if (rc == 0 && pool.cap > pool.len && pool.len > 0) {
		char *np = realloc(pool.data, pool.len);

		if (np != NULL)
			pool.data = np;
	}
	if (rc == 0 && cap > bk->n_strings && bk->n_strings > 0) {
		uint32_t *no = realloc(bk->str_off, bk->n_strings * sizeof(*no));

		if (no != NULL)
			bk->str_off = no;
	}
	bk->pool = pool.data;
	return rc;
}

/* ---- cells to text -------------------------------------------------------- */

/* A number as its digits: integers without exponent or fraction. */
static void number_text(double v, char *out, size_t size)
{
	if (v == floor(v) && fabs(v) < 1e15)
		snprintf(out, size, "%.0f", v);
	else
		snprintf(out, size, "%.15g", v);
}

/* A date serial as YYYY-MM-DD: days since 1899-12-30 (1900 system, which
 * counts a 29 February 1900 that never was, so serials below 61 are a day
 * off) or since 1904-01-01. */
static bool serial_date(const struct book *bk, double v, char out[11])
{
	qd_date base;
	long days = (long)floor(v);

	if (!isfinite(v) || v < 1 || v > 2958465)
		return false;
	if (bk->date1904) {
		qd_date_from_ymd(1904, 1, 1, &base);
	} else {
		qd_date_from_ymd(1899, 12, 30, &base);
		if (days == 60)
			return false;
		if (days < 60)
			days++;
	}
	qd_date_format(base + (qd_date)days, out);
	return true;
}

/* A number cell under a column of identifiers that are not codes: can
 * its digits (text) be what was typed?  Not under entities: a
 * 统一社会信用代码 has 18 characters and a number cell keeps 15 digits
 * (and no letters).  Under customs only with 4 digits: 0100 was typed
 * as 100.  Under id, batch and aliases, a whole number below 10^15 (no
 * exponent).  Reports the problem and returns false when not. */
static bool identifier_number(struct sheet *sh, const struct cell *c, const char *field, double v,
			      const char *text)
{
	bool ok;

	if (strcmp(field, "entities") == 0)
		ok = false;
	else if (strcmp(field, "customs") == 0)
		ok = v == floor(v) && v >= 1000 && v <= 9999;
	else if (strcmp(field, "id") == 0 || strcmp(field, "batch") == 0 || strcmp(field, "aliases") == 0)
		ok = v == floor(v) && fabs(v) < 1e15;
	else
		return true;
	if (!ok)
		problem(sh, sh->row, c->col, "the cell holds the number %s, not text: a number cell "
			"keeps at most 15 digits, no letters and no leading zeros, so the identifier "
			"typed cannot be told; format the column as text (文本) and enter it again", text);
	return ok;
}

/* The text of one cell; a malloc()ed string or NULL (out of memory, or
 * a problem reported, *bad set). */
static char *cell_text(struct sheet *sh, const struct cell *c, const char *field)
{
	char buf[64], ref[16];
	double v;
	char *end;

	qd_xlsx_col_name(c->col, ref);
	snprintf(ref + strlen(ref), sizeof(ref) - strlen(ref), "%u", sh->row);
	switch (c->type) {
	case C_SHARED: {
		unsigned long i = strtoul(c->text, &end, 10);

		if (*end != '\0' || end == c->text || i >= sh->bk->n_strings) {
			problem(sh, sh->row, c->col, "cell %s names shared string %s, which the workbook lacks",
				ref, c->text);
			return NULL;
		}
		return strdup(sh->bk->pool + sh->bk->str_off[i]);
	}
	case C_INLINE:
	case C_STR:
		return strdup(c->text);
	case C_BOOL:
		return strdup(strcmp(c->text, "1") == 0 ? "TRUE" : "FALSE");
	case C_ERROR:
		problem(sh, sh->row, c->col, "cell %s holds the formula error %s", ref, c->text);
		return NULL;
	case C_DATE:
		return strndup(c->text, strlen(c->text) > 10 ? 10 : strlen(c->text));
	case C_NUMBER:
		break;
	}
	if (c->text[0] == '\0')
		return strdup("");
	v = strtod(c->text, &end);
	if (*end != '\0' || !isfinite(v)) {
		problem(sh, sh->row, c->col, "cell %s is a number cell holding \"%.40s\"", ref, c->text);
		return NULL;
	}
	if (c->style < sh->bk->n_styles && sh->bk->date_style[c->style] && serial_date(sh->bk, v, buf))
		return strdup(buf);
	number_text(v, buf, sizeof(buf));
	if (field != NULL && strcmp(field, "code") == 0 && (v != floor(v) || strlen(buf) != 10)) {
		/* 0106190010 stored as a number is 106190010: which zeros were
		 * lost cannot be told, since codes of every length are allowed. */
		problem(sh, sh->row, c->col, "the code is stored as the number %s, which may have lost "
			"leading zeros (0106190010 becomes 106190010); only 10-digit numbers are read as "
			"codes: format the column as text (文本) and enter the code again", buf);
		return NULL;
	}
	if (field != NULL && !identifier_number(sh, c, field, v, buf))
		return NULL;
	if (field != NULL && strcmp(field, "ciq") == 0 && v == floor(v) && v >= 0 && v < 1000)
		snprintf(buf, sizeof(buf), "%03.0f", v); /* always 3 digits: 1 was 001 */
	return strdup(buf);
}

/* ---- rows ------------------------------------------------------------------- */

static void cells_clear(struct sheet *sh)
{
	for (size_t i = 0; i < sh->n; i++)
		free(sh->cells[i].text);
	sh->n = 0;
}

/* Keep the header row's headings once the CSV import has found it. */
static void take_headings(struct sheet *sh)
{
	size_t n = 0;

	if (sh->headings != NULL || sh->rows->heading(sh->rows->cls, 1, NULL) == NULL)
		return;
	while (sh->rows->heading(sh->rows->cls, (unsigned)n + 1, NULL) != NULL)
		n++;
	sh->headings = calloc(n, sizeof(*sh->headings));
	if (sh->headings == NULL) {
		sh->oom = true;
		return;
	}
	sh->ncols = n;
	sh->header_row = sh->row;
	for (size_t j = 0; j < n; j++) {
		sh->headings[j] = strdup(sh->rows->heading(sh->rows->cls, (unsigned)j + 1, NULL));
		if (sh->headings[j] == NULL)
			sh->oom = true;
	}
}

/* Count k bytes of cell text against the budget: a shared string named
 * by a million cells is a million copies on their way to the sink. */
static bool text_allowed(struct sheet *sh, size_t k)
{
	if (k + 1 <= sh->text_left) {
		sh->text_left -= k + 1;
		return true;
	}
	problem(sh, 0, 0, "the cells of the sheet (%s) hold more than %zu bytes of text (a shared "
		"string counts once for every cell that names it); that is the limit of a list file",
		sh->bk->part, sh->bk->max_bytes);
	sh->stop = true;
	return false;
}

static void row_end(struct sheet *sh)
{
	unsigned width = 0;
	char **texts;
	static const char empty[] = "";

	for (size_t i = 0; i < sh->n; i++) {
		if (sh->cells[i].col > width)
			width = sh->cells[i].col;
	}
	texts = calloc(width ? width : 1, sizeof(*texts));
	if (texts == NULL) {
		sh->oom = true;
		return;
	}
	for (size_t i = 0; i < sh->n && !sh->oom; i++) {
		const char *field = NULL;
		struct cell *c = &sh->cells[i];

		sh->rows->heading(sh->rows->cls, c->col, &field);
		if (texts[c->col - 1] != NULL)
			continue; /* a repeated reference: the first stands */
		texts[c->col - 1] = cell_text(sh, c, sh->headings ? field : NULL);
		if (texts[c->col - 1] == NULL && !sh->bad)
			sh->oom = true;
		if (texts[c->col - 1] != NULL && !text_allowed(sh, strlen(texts[c->col - 1])))
			break;
		if (texts[c->col - 1] == NULL)
			texts[c->col - 1] = strdup(c->text); /* reported: checked no further */
		if (texts[c->col - 1] == NULL)
			sh->oom = true;
	}
	/* Trailing empty cells are what a sheet leaves off anyway. */
	while (width > 0 && (texts[width - 1] == NULL || texts[width - 1][0] == '\0'))
		free(texts[--width]);
	if (!sh->oom && !sh->stop && width > 0) {
		for (unsigned j = 0; j < width; j++) {
			if (texts[j] == NULL)
				texts[j] = (char *)empty;
		}
		/* The header's width pads a data row whose last cells are empty. */
		if (sh->headings != NULL && width < sh->ncols) {
			char **nt = realloc(texts, sh->ncols * sizeof(*nt));

			if (nt == NULL) {
				sh->oom = true;
			} else {
				texts = nt;
				while (width < sh->ncols)
					texts[width++] = (char *)empty;
			}
		}
		if (!sh->oom)
			sh->rows->add(sh->rows->cls, sh->row, (const char *const *)texts, width);
		take_headings(sh);
	}
	for (unsigned j = 0; j < width; j++) {
		if (texts[j] != empty)
			free(texts[j]);
	}
	free(texts);
	cells_clear(sh);
}

static char *attr(struct sheet *sh, const char *name)
{
	return (char *)xmlTextReaderGetAttribute(sh->rd, (const xmlChar *)name);
}

/* <c r="B7" t="s" s="3"><v>…</v> | <is><t>…</t></is></c> */
static void cell_start(struct sheet *sh)
{
	char *r = attr(sh, "r"), *t = attr(sh, "t"), *s = attr(sh, "s");
	unsigned col = sh->n ? sh->cells[sh->n - 1].col + 1 : 1, row = 0;
	struct cell *c;
	int depth = xmlTextReaderDepth(sh->rd);

	if (r != NULL && !parse_ref(r, &col, &row)) {
		problem(sh, sh->row, 0, "a cell of row %u has the reference \"%.20s\", which is no cell",
			sh->row, r);
		col = 0;
	}
	if (col > COLS_MAX)
		col = 0;
	/* Each cell costs memory until its row ends, and each row's cells
	 * go on to the sink: both are counted, not only the bytes. */
	if (++sh->n_cells > QD_XLSX_CELLS_MAX) {
		problem(sh, 0, 0, "the sheet (%s) has more than %d cells; at most %d are read", sh->bk->part,
			QD_XLSX_CELLS_MAX, QD_XLSX_CELLS_MAX);
		sh->stop = true;
		goto out;
	}
	if (sh->n == COLS_MAX) {
		problem(sh, sh->row, 0, "row %u of the sheet (%s) has more than %d cells (column XFD)",
			sh->row, sh->bk->part, COLS_MAX);
		sh->stop = true;
		goto out;
	}
	if (sh->n == sh->cap) {
		size_t ncap = sh->cap ? sh->cap * 2 : 32;
		struct cell *nc = realloc(sh->cells, ncap * sizeof(*nc));

		if (nc == NULL) {
			sh->oom = true;
			goto out;
		}
		sh->cells = nc;
		sh->cap = ncap;
	}
	c = &sh->cells[sh->n];
	c->col = col;
	c->style = s ? (unsigned)strtoul(s, NULL, 10) : 0;
	c->type = t == NULL || strcmp(t, "n") == 0 ? C_NUMBER : strcmp(t, "s") == 0 ? C_SHARED
		: strcmp(t, "inlineStr") == 0 ? C_INLINE : strcmp(t, "b") == 0 ? C_BOOL
		: strcmp(t, "e") == 0 ? C_ERROR : strcmp(t, "d") == 0 ? C_DATE : C_STR;
	c->text = NULL;
	if (!xmlTextReaderIsEmptyElement(sh->rd)) {
		while (xmlTextReaderRead(sh->rd) == 1) {
			int nt = xmlTextReaderNodeType(sh->rd);
			const char *name = (const char *)xmlTextReaderConstLocalName(sh->rd);

			if (nt == XML_READER_TYPE_END_ELEMENT && xmlTextReaderDepth(sh->rd) == depth)
				break;
			if (nt != XML_READER_TYPE_ELEMENT || c->text != NULL)
				continue;
			if (strcmp(name, "v") == 0 || strcmp(name, "is") == 0) {
				qd_buf b = { 0 };

				element_text(sh->rd, &b);
				c->text = qd_buf_steal(&b, NULL);
				if (c->text == NULL)
					sh->oom = true;
			}
		}
	}
	if (c->text == NULL && !sh->oom && (c->text = strdup("")) == NULL)
		sh->oom = true;
	if (col > 0 && c->text != NULL)
		sh->n++;
	else
		free(c->text);
out:
	xmlFree(r);
	xmlFree(t);
	xmlFree(s);
}

static void merge_cell(struct sheet *sh)
{
	char *ref = attr(sh, "ref"), *colon;
	unsigned c1, r1, c2, r2;

	if (ref == NULL)
		return;
	colon = strchr(ref, ':');
	if (colon != NULL) {
		*colon = '\0';
		if (parse_ref(ref, &c1, &r1) && parse_ref(colon + 1, &c2, &r2)) {
			*colon = ':';
			if (sh->header_row >= r1 && sh->header_row <= r2)
				problem(sh, sh->header_row, c1, "merged header cells %s: give each column its "
					"own heading in its own cell (unmerge them)", ref);
			else
				problem(sh, r1, c1, "merged cells %s: only the first of them holds the value; "
					"unmerge them and fill every cell", ref);
		}
	}
	xmlFree(ref);
}

int qd_xlsx_sheet(const struct book *bk, const char *xml, size_t len, const struct sink *rows,
		  char ***headings, size_t *ncols, bool *cut)
{
	struct sheet sh = { .bk = bk, .rows = rows, .text_left = bk->max_bytes };
	int r = 1;

	sh.rd = xmlReaderForMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
				   XML_PARSE_NOWARNING);
	if (sh.rd == NULL)
		return QD_ENOMEM;
	while (!sh.oom && !sh.stop && (r = xmlTextReaderRead(sh.rd)) == 1) {
		int t = xmlTextReaderNodeType(sh.rd);
		const char *name = (const char *)xmlTextReaderConstLocalName(sh.rd);

		if (t == XML_READER_TYPE_ELEMENT && strcmp(name, "row") == 0) {
			char *rn = attr(&sh, "r");
			unsigned long n = rn ? strtoul(rn, NULL, 10) : 0;

			cells_clear(&sh);
			sh.row = n > sh.row && n <= 10000000 ? (unsigned)n : sh.row + 1;
			xmlFree(rn);
			if (++sh.n_rows > QD_XLSX_SHEET_ROWS_MAX) {
				problem(&sh, 0, 0, "the sheet (%s) has more than %d rows, Excel's own limit",
					bk->part, QD_XLSX_SHEET_ROWS_MAX);
				sh.stop = true;
				break;
			}
			if (xmlTextReaderIsEmptyElement(sh.rd))
				row_end(&sh);
		} else if (t == XML_READER_TYPE_END_ELEMENT && strcmp(name, "row") == 0) {
			row_end(&sh);
		} else if (t == XML_READER_TYPE_ELEMENT && strcmp(name, "c") == 0) {
			cell_start(&sh);
		} else if (t == XML_READER_TYPE_ELEMENT && strcmp(name, "mergeCell") == 0) {
			merge_cell(&sh);
		}
	}
	/* The reader parses ahead of the rows it gives: the fault lies
	 * somewhere after the last row given, if any was. */
	if (!sh.oom && !sh.stop && r < 0 && sh.row > 0)
		problem(&sh, sh.row, 0, "the sheet (%s) is not well-formed XML after row %u", bk->part, sh.row);
	else if (!sh.oom && !sh.stop && r < 0)
		problem(&sh, 0, 0, "the sheet (%s) is not well-formed XML", bk->part);
	if (cut != NULL)
		*cut = sh.stop || r < 0;
	cells_clear(&sh);
	free(sh.cells);
	xmlFreeTextReader(sh.rd);
	*headings = sh.headings;
	*ncols = sh.ncols;
	return sh.oom ? QD_ENOMEM : sh.bad ? QD_EINVAL : 0;
}
