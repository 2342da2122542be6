/* qingdan — spreadsheet (.xlsx) import of list entries.
 *
 * A workbook is a zip (read with libzip) of XML parts (read with libxml2's
 * streaming xmlTextReader, no network, no entity expansion):
 * xl/workbook.xml names the sheets and the date system, its relationships
 * (xl/_rels/workbook.xml.rels) the part of each sheet, xl/styles.xml which
 * cell formats are dates, xl/sharedStrings.xml the text of most cells.
 * The chosen sheet's rows go one by one to the CSV import (csvdoc.h), so
 * its headings and rules are the CSV's.
 *
 * Limits: a zip of more than QD_XLSX_PARTS_MAX parts is refused; the
 * parts read may inflate to max_bytes all together — the size each part
 * declares is checked before it is inflated, and inflating stops at it. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/xmlreader.h>
#include <zip.h>

#include "qingdan/err.h"
#include "qingdan/xlsx.h"

#include "xlsxdoc_int.h"

struct wb {
	zip_t *zip;
	size_t budget;         /* bytes the parts may still inflate to */
	size_t max_bytes;
	qd_problems *p;        /* problems of the workbook as a whole */
};

void qd_xlsx_init(void)
{
	xmlInitParser();
}

int qd_xlsx_looks_like(const char *buf, size_t len)
{
	return len >= 4 && memcmp(buf, "PK\x03\x04", 4) == 0;
}

int qd_xlsx_looks_like_xls(const char *buf, size_t len)
{
	return len >= 8 && memcmp(buf, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8) == 0;
}

/* Inflate the part named name into *out (malloc()ed, NUL-terminated).
 * Returns 0; QD_ENOENT when there is no such part; QD_EINVAL after a
 * problem (too large, damaged); QD_ENOMEM. */
static int read_part(struct wb *w, const char *name, char **out, size_t *len)
{
	zip_stat_t st;
	zip_file_t *f;
	zip_int64_t idx = zip_name_locate(w->zip, name, ZIP_FL_NOCASE), got = 0, n;
	char *buf, extra;

	*out = NULL;
	if (idx < 0)
		return QD_ENOENT;
	zip_stat_init(&st);
	if (zip_stat_index(w->zip, (zip_uint64_t)idx, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) {
		qd_problems_add_at(w->p, 0, 0, "the workbook's part %s is damaged", name);
		return QD_EINVAL;
	}
	/* Before inflating anything: a zip bomb declares its size too.  The
	 * XML reader takes an int length. */
	if (st.size > w->budget || st.size > INT_MAX) {
		qd_problems_add_at(w->p, 0, 0, "the workbook inflates to more than %zu bytes (part %s "
				   "alone is %llu bytes); that is the limit of a list file", w->max_bytes,
				   name, (unsigned long long)st.size);
		return QD_EINVAL;
	}
	buf = malloc((size_t)st.size + 1);
	if (buf == NULL)
		return QD_ENOMEM;
	f = zip_fopen_index(w->zip, (zip_uint64_t)idx, 0);
	while (f != NULL && (zip_uint64_t)got < st.size &&
	       (n = zip_fread(f, buf + got, st.size - (zip_uint64_t)got)) > 0)
		got += n;
	/* Inflating stops at the declared size: a part that claims less
	 * than it holds is damaged, not read on. */
	if (f == NULL || (zip_uint64_t)got != st.size || zip_fread(f, &extra, 1) != 0) {
		if (f != NULL)
			zip_fclose(f);
		free(buf);
		qd_problems_add_at(w->p, 0, 0, "the workbook's part %s is damaged (it does not inflate "
				   "to the size it declares)", name);
		return QD_EINVAL;
	}
	zip_fclose(f);
	buf[got] = '\0';
	w->budget -= (size_t)got;
	*out = buf;
	*len = (size_t)got;
	return 0;
}

static xmlTextReaderPtr reader(const char *xml, size_t len)
{
	return xmlReaderForMemory(xml, (int)len, NULL, NULL,
				  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

/* A part that must be there, inflated and under a reader: *xml and *rd
 * to free on success.  Returns 0; QD_EINVAL after a problem (missing:
 * the message given); QD_ENOMEM. */
static int open_part(struct wb *w, const char *name, const char *missing, char **xml, size_t *len,
		     xmlTextReaderPtr *rd)
{
	int rc = read_part(w, name, xml, len);

	if (rc == QD_ENOENT) {
		qd_problems_add_at(w->p, 0, 0, "%s", missing);
		return QD_EINVAL;
	}
	if (rc != 0)
		return rc;
	*rd = reader(*xml, *len);
	if (*rd == NULL) {
		free(*xml);
		return QD_ENOMEM;
	}
	return 0;
}

static bool is_element(xmlTextReaderPtr rd, const char *name)
{
	return xmlTextReaderNodeType(rd) == XML_READER_TYPE_ELEMENT &&
	       strcmp((const char *)xmlTextReaderConstLocalName(rd), name) == 0;
}

/* The value of the attribute whose local name is local (any prefix):
 * r:id is written with whatever prefix the file binds. */
static char *attr_local(xmlTextReaderPtr rd, const char *local)
{
	char *v = NULL;

	if (xmlTextReaderMoveToFirstAttribute(rd) != 1)
		return NULL;
	do {
		if (strcmp((const char *)xmlTextReaderConstLocalName(rd), local) == 0) {
			v = (char *)xmlTextReaderValue(rd);
			break;
		}
	} while (xmlTextReaderMoveToNextAttribute(rd) == 1);
	xmlTextReaderMoveToElement(rd);
	return v;
}

/* The chosen sheet's name and relationship id, and the date system.
 * sheet: the name wanted, or NULL for the first.  Returns 0; QD_EINVAL
 * after a problem; QD_ENOMEM. */
static int workbook(struct wb *w, struct book *bk, const char *sheet, char **name, char **rid)
{
	char *xml, names[512] = "";
	size_t len, o = 0;
	xmlTextReaderPtr rd;
	int rc = open_part(w, "xl/workbook.xml", "the file is a zip but not an .xlsx workbook "
			   "(it has no xl/workbook.xml)", &xml, &len, &rd);

	if (rc != 0)
		return rc;
	while (*name == NULL && xmlTextReaderRead(rd) == 1) {
		if (is_element(rd, "workbookPr")) {
			char *d = attr_local(rd, "date1904");

			bk->date1904 = d != NULL && (strcmp(d, "1") == 0 || strcmp(d, "true") == 0);
			xmlFree(d);
		} else if (is_element(rd, "sheet")) {
			char *n = attr_local(rd, "name"), *id = attr_local(rd, "id");

			if (n != NULL && o < sizeof(names))
				o += (size_t)snprintf(names + o, sizeof(names) - o, "%s\"%s\"", o ? ", " : "", n);
			if (n != NULL && id != NULL && (sheet == NULL || strcmp(sheet, n) == 0)) {
				*name = strdup(n);
				*rid = strdup(id);
				if (*name == NULL || *rid == NULL)
					rc = QD_ENOMEM;
			}
			xmlFree(n);
			xmlFree(id);
		}
	}
	xmlFreeTextReader(rd);
	free(xml);
	if (rc == 0 && *name == NULL) {
		if (sheet != NULL)
			qd_problems_add_at(w->p, 0, 0, "the workbook has no sheet \"%s\"; its sheets are %s",
					   sheet, o ? names : "none");
		else
			qd_problems_add_at(w->p, 0, 0, "the workbook has no sheets");
		rc = QD_EINVAL;
	}
	return rc;
}

/* The part of relationship rid: "xl/worksheets/sheet1.xml". */
static int sheet_part(struct wb *w, const char *rid, char **part)
{
	char *xml;
	size_t len;
	xmlTextReaderPtr rd;
	int rc = open_part(w, "xl/_rels/workbook.xml.rels", "the workbook lacks xl/_rels/workbook.xml.rels",
			   &xml, &len, &rd);

	if (rc != 0)
		return rc;
	while (*part == NULL && xmlTextReaderRead(rd) == 1) {
		char *id, *target;

		if (!is_element(rd, "Relationship"))
			continue;
		id = attr_local(rd, "Id");
		target = attr_local(rd, "Target");
		if (id != NULL && target != NULL && strcmp(id, rid) == 0) {
			size_t n = strlen(target) + 4;

			*part = malloc(n);
			if (*part == NULL)
				rc = QD_ENOMEM;
			else if (target[0] == '/')
				snprintf(*part, n, "%s", target + 1);
			else
				snprintf(*part, n, "xl/%s", target);
		}
		xmlFree(id);
		xmlFree(target);
	}
	xmlFreeTextReader(rd);
	free(xml);
	if (rc == 0 && *part == NULL) {
		qd_problems_add_at(w->p, 0, 0, "the workbook names no part for its sheet");
		rc = QD_EINVAL;
	}
	return rc;
}

/* Is a number format a date?  The built-in date formats, or a code with
 * y, d, 年 or 日 outside quotes and brackets. */
static bool date_format(unsigned id, const char *code)
{
	if ((id >= 14 && id <= 17) || id == 22 || (id >= 27 && id <= 36) || (id >= 50 && id <= 58))
		return true;
	if (code == NULL)
		return false;
	for (const char *c = code; *c; c++) {
		if (*c == '"') {
			c = strchr(c + 1, '"');
			if (c == NULL)
				return false;
		} else if (*c == '[') {
			c = strchr(c + 1, ']');
			if (c == NULL)
				return false;
		} else if (*c == '\\' && c[1]) {
			c++;
		} else if (*c == 'y' || *c == 'Y' || *c == 'd' || *c == 'D' || strncmp(c, "年", 3) == 0 ||
			   strncmp(c, "日", 3) == 0) {
			return true;
		}
	}
	return false;
}

/* Which cell formats (xf of cellXfs) are dates. */
static int styles(struct wb *w, struct book *bk)
{
	struct fmt {
		unsigned id;
		char *code;
	} fmts[256];
	size_t nf = 0, cap = 0;
	char *xml;
	size_t len;
	xmlTextReaderPtr rd;
	int rc = read_part(w, "xl/styles.xml", &xml, &len), in_xfs = -1;

	if (rc == QD_ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	rd = reader(xml, len);
	if (rd == NULL) {
		free(xml);
		return QD_ENOMEM;
	}
	while (rc == 0 && xmlTextReaderRead(rd) == 1) {
		if (is_element(rd, "numFmt") && nf < sizeof(fmts) / sizeof(fmts[0])) {
			char *id = attr_local(rd, "numFmtId");

			fmts[nf].id = id ? (unsigned)strtoul(id, NULL, 10) : 0;
			fmts[nf].code = attr_local(rd, "formatCode");
			nf++;
			xmlFree(id);
		} else if (is_element(rd, "cellXfs") && !xmlTextReaderIsEmptyElement(rd)) {
			in_xfs = xmlTextReaderDepth(rd);
		} else if (xmlTextReaderNodeType(rd) == XML_READER_TYPE_END_ELEMENT &&
			   xmlTextReaderDepth(rd) == in_xfs) {
			in_xfs = -1;
		} else if (in_xfs >= 0 && is_element(rd, "xf") && xmlTextReaderDepth(rd) == in_xfs + 1) {
			char *id = attr_local(rd, "numFmtId");
			unsigned fid = id ? (unsigned)strtoul(id, NULL, 10) : 0;
			const char *code = NULL;

			xmlFree(id);
			for (size_t i = 0; i < nf; i++) {
				if (fmts[i].id == fid)
					code = fmts[i].code;
			}
			if (bk->n_styles == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				bool *ns = realloc(bk->date_style, ncap * sizeof(*ns));

				if (ns == NULL) {
					rc = QD_ENOMEM;
					break;
				}
				bk->date_style = ns;
				cap = ncap;
			}
			bk->date_style[bk->n_styles++] = date_format(fid, code);
		}
	}
	for (size_t i = 0; i < nf; i++)
		xmlFree(fmts[i].code);
	xmlFreeTextReader(rd);
	free(xml);
	return rc;
}

/* Each problem's message begins with where it is: 清单!B7 (商品编码): … */
static int place_problems(qd_problems *p, const char *sheet, char **headings, size_t ncols)
{
	for (size_t i = 0; i < p->count; i++) {
		qd_problem *pr = &p->items[i];
		char col[8], *m = NULL;
		int n;

		if (pr->line == 0) {
			n = asprintf(&m, "sheet \"%s\": %s", sheet, pr->message);
		} else if (pr->column == 0) {
			n = asprintf(&m, "%s!%u: %s", sheet, pr->line, pr->message);
		} else {
			qd_xlsx_col_name(pr->column, col);
			if (pr->column <= ncols && headings[pr->column - 1][0] != '\0')
				n = asprintf(&m, "%s!%s%u (%s): %s", sheet, col, pr->line,
					     headings[pr->column - 1], pr->message);
			else
				n = asprintf(&m, "%s!%s%u: %s", sheet, col, pr->line, pr->message);
		}
		if (n < 0)
			return QD_ENOMEM;
		free(pr->message);
		pr->message = m;
	}
	return 0;
}

/* A workbook opened and its chosen sheet's part read, for a sink. */
struct opened {
	struct wb w;
	struct book bk;
	char *name, *rid, *part, *xml;  /* the sheet's name, relationship, part and XML */
	size_t xlen;
};

/* Open the workbook buf and read the sheet named sheet (NULL: the first):
 * its name, the date formats, the shared strings and the sheet's XML.
 * Problems of the workbook as a whole go to p.  Returns 0, QD_EINVAL (a
 * problem added) or QD_ENOMEM; o is to be closed with book_close() either
 * way. */
static int book_open(struct opened *o, const char *buf, size_t len, const char *sheet, size_t max_bytes,
		     qd_problems *p)
{
	zip_source_t *src;
	zip_error_t ze;
	int rc;

	memset(o, 0, sizeof(*o));
	o->bk.max_bytes = max_bytes;
	o->w.budget = max_bytes;
	o->w.max_bytes = max_bytes;
	o->w.p = p;
	if (qd_xlsx_looks_like_xls(buf, len)) {
		qd_problems_add_at(p, 0, 0, "%s", QD_XLSX_LEGACY_ADVICE);
		return QD_EINVAL;
	}
	zip_error_init(&ze);
	src = zip_source_buffer_create(buf, len, 0, &ze);
	if (src != NULL && (o->w.zip = zip_open_from_source(src, ZIP_RDONLY, &ze)) == NULL)
		zip_source_free(src);
	if (o->w.zip == NULL) {
		qd_problems_add_at(p, 0, 0, "the file is not an .xlsx workbook (%s)", zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return QD_EINVAL;
	}
	zip_error_fini(&ze);
	if (zip_get_num_entries(o->w.zip, 0) > QD_XLSX_PARTS_MAX) {
		qd_problems_add_at(p, 0, 0, "the workbook has %lld parts; at most %d are read",
				   (long long)zip_get_num_entries(o->w.zip, 0), QD_XLSX_PARTS_MAX);
		return QD_EINVAL;
	}
	rc = workbook(&o->w, &o->bk, sheet, &o->name, &o->rid);
	if (rc == 0)
		rc = sheet_part(&o->w, o->rid, &o->part);
	if (rc == 0)
		rc = styles(&o->w, &o->bk);
	if (rc == 0) {
		char *ss;
		size_t sl;

		rc = read_part(&o->w, "xl/sharedStrings.xml", &ss, &sl);
		if (rc == 0) {
			rc = qd_xlsx_shared_strings(&o->bk, "xl/sharedStrings.xml", ss, sl, p);
			free(ss);
		} else if (rc == QD_ENOENT) {
			rc = 0;
		}
	}
	if (rc == 0) {
		rc = read_part(&o->w, o->part, &o->xml, &o->xlen);
		if (rc == QD_ENOENT) {
			qd_problems_add_at(p, 0, 0, "the workbook lacks the part %s of sheet \"%s\"", o->part, o->name);
			rc = QD_EINVAL;
		}
	}
	o->bk.sheet = o->name;
	o->bk.part = o->part;
	return rc;
}

static void book_close(struct opened *o)
{
	free(o->bk.pool);
	free(o->bk.str_off);
	free(o->bk.date_style);
	free(o->name);
	free(o->rid);
	free(o->part);
	free(o->xml);
	if (o->w.zip != NULL)
		zip_discard(o->w.zip);
}

/* Hand over problems (mine, on QD_EINVAL) to the caller's; free headings. */
static void book_done(int rc, qd_problems *mine, qd_problems *problems, char **headings, size_t ncols)
{
	if (rc == QD_EINVAL && problems != NULL) {
		for (size_t i = 0; i < mine->count; i++)
			qd_problems_add_at(problems, mine->items[i].line, mine->items[i].column, "%s",
					   mine->items[i].message);
		problems->omitted += mine->omitted;
	}
	for (size_t j = 0; j < ncols; j++)
		free(headings[j]);
	free(headings);
	qd_problems_free(mine);
}

/* The CSV import as a sink. */
static void csv_add(void *cls, unsigned line, const char *const *cells, size_t n)
{
	qd_csv_rows_add(cls, line, cells, n);
}

static const char *csv_heading(const void *cls, unsigned column, const char **field)
{
	return qd_csv_rows_heading(cls, column, field);
}

static void csv_problem(void *cls, unsigned line, unsigned column, const char *message)
{
	qd_csv_rows_problem(cls, line, column, message);
}

int qd_xlsx_to_listdoc(const char *buf, size_t len, const char *sheet, size_t max_bytes,
		       const qd_listdoc *base, qd_listdoc **out, qd_problems *problems)
{
	qd_problems mine;
	struct opened o;
	char **headings = NULL;
	size_t ncols = 0;
	int rc;

	*out = NULL;
	qd_problems_init(&mine);
	rc = book_open(&o, buf, len, sheet, max_bytes, &mine);
	if (rc == 0) {
		qd_csv_rows *rows = qd_csv_rows_begin(base);
		struct sink sk = { rows, csv_add, csv_heading, csv_problem };
		bool cut = false;

		rc = rows ? qd_xlsx_sheet(&o.bk, o.xml, o.xlen, &sk, &headings, &ncols, &cut) : QD_ENOMEM;
		if (cut)
			qd_csv_rows_cut(rows);
		rc = qd_csv_rows_end(rows, rc, out, &mine);
		if (rc == QD_EINVAL && place_problems(&mine, o.name, headings, ncols) != 0)
			rc = QD_ENOMEM;
	}
	book_done(rc, &mine, problems, headings, ncols);
	book_close(&o);
	return rc;
}

/* ---- plain rows ---------------------------------------------------------------- */

/* Rows of text: the first row is the header, whose headings name the
 * columns of codes and of entities (so that a number cell there is
 * judged as in an import). */
struct plain {
	json_t *rows;           /* [{"line", "cells"}] */
	char **headings;        /* the first row's cells */
	size_t ncols;
	size_t max_rows;
	size_t n;               /* rows seen */
	qd_problems *p;
	bool oom;
};

static const char *const code_headings[] = { "code", "商品编号", "商品编码", "HS编码", "hs_code", NULL };
static const char *const ciq_headings[] = { "ciq", "检验检疫编码", NULL };
static const char *const entity_headings[] = { "entity", "entities", "统一社会信用代码", "单位代码", NULL };

static bool named(const char *h, const char *const *names)
{
	for (; *names; names++) {
		if (strcasecmp(h, *names) == 0)
			return true;
	}
	return false;
}

static void plain_add(void *cls, unsigned line, const char *const *cells, size_t n)
{
	struct plain *pl = cls;
	json_t *arr, *row;

	if (pl->oom || pl->n++ > pl->max_rows)
		return;
	if (pl->n > pl->max_rows) {
		qd_problems_add_at(pl->p, line, 0, "more than %zu rows: split the file", pl->max_rows);
		return;
	}
	arr = json_array();
	row = json_pack("{s:I, s:o}", "line", (json_int_t)line, "cells", arr);
	if (row == NULL || json_array_append_new(pl->rows, row) != 0) {
		pl->oom = true;
		return;
	}
	for (size_t j = 0; j < n; j++) {
		if (json_array_append_new(arr, json_string(cells[j])) != 0)
			pl->oom = true;
	}
	if (pl->headings == NULL) {
		pl->headings = calloc(n ? n : 1, sizeof(*pl->headings));
		if (pl->headings == NULL) {
			pl->oom = true;
			return;
		}
		pl->ncols = n;
		for (size_t j = 0; j < n; j++) {
			pl->headings[j] = strdup(cells[j]);
			if (pl->headings[j] == NULL)
				pl->oom = true;
		}
	}
}

static const char *plain_heading(const void *cls, unsigned column, const char **field)
{
	const struct plain *pl = cls;
	const char *h;

	if (field != NULL)
		*field = NULL;
	if (pl->headings == NULL || column == 0 || column > pl->ncols || pl->headings[column - 1] == NULL)
		return NULL;
	h = pl->headings[column - 1];
	if (field != NULL)
		*field = named(h, code_headings) ? "code" : named(h, ciq_headings) ? "ciq"
			: named(h, entity_headings) ? "entities" : NULL;
	return h;
}

static void plain_problem(void *cls, unsigned line, unsigned column, const char *message)
{
	struct plain *pl = cls;

	qd_problems_add_at(pl->p, line, column, "%s", message);
}

int qd_xlsx_rows(const char *buf, size_t len, const char *sheet, size_t max_bytes, size_t max_rows,
		 char **name, json_t **rows, qd_problems *problems)
{
	qd_problems mine;
	struct opened o;
	struct plain pl = { .max_rows = max_rows, .p = &mine };
	char **headings = NULL;
	size_t ncols = 0;
	int rc;

	*rows = NULL;
	*name = NULL;
	qd_problems_init(&mine);
	rc = book_open(&o, buf, len, sheet, max_bytes, &mine);
	if (rc == 0) {
		struct sink sk = { &pl, plain_add, plain_heading, plain_problem };

		pl.rows = json_array();
		rc = pl.rows ? qd_xlsx_sheet(&o.bk, o.xml, o.xlen, &sk, &headings, &ncols, NULL) : QD_ENOMEM;
		if (rc == 0 && pl.oom)
			rc = QD_ENOMEM;
		if (rc == 0 && mine.count + mine.omitted > 0)
			rc = QD_EINVAL;
		if (rc == QD_EINVAL && place_problems(&mine, o.name, pl.headings, pl.ncols) != 0)
			rc = QD_ENOMEM;
	}
	if (rc == 0) {
		*rows = pl.rows;
		*name = o.name;
		o.name = NULL;
	} else {
		json_decref(pl.rows);
	}
	book_done(rc, &mine, problems, headings, ncols);
	for (size_t j = 0; j < pl.ncols; j++)
		free(pl.headings[j]);
	free(pl.headings);
	book_close(&o);
	return rc;
}
