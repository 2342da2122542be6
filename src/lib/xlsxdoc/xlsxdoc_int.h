/* qingdan — spreadsheet import: what its files share (not installed).
 *
 * xlsxdoc.c  the zip and its parts: workbook, relationships, styles,
 *            shared strings; the entry point
 * sheet.c    the chosen sheet, row by row, into the CSV import's rows */
#ifndef QINGDAN_XLSXDOC_INT_H
#define QINGDAN_XLSXDOC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qingdan/csvdoc.h"
#include "qingdan/problems.h"

/* What the sheet's cells need from the rest of the workbook. */
struct book {
	/* The shared strings, UTF-8, each NUL-terminated, one after the other
	 * in one block: an empty <si/> costs a byte and an offset, not an
	 * allocation of its own.  String i starts at pool + str_off[i]. */
	char *pool;
	uint32_t *str_off;
	size_t n_strings;      /* at most QD_XLSX_STRINGS_MAX */
	bool *date_style;      /* per cell format (xf) index: a date format? */
	size_t n_styles;
	bool date1904;         /* the 1904 date system */
	const char *sheet;     /* the sheet's name, for messages */
	const char *part;      /* the sheet's part (xl/worksheets/sheet1.xml), for messages */
	size_t max_bytes;      /* the most bytes of text the sheet's cells may give, all together */
};

/* Where a sheet's rows go: the CSV import (qd_csv_rows_*), or plain rows
 * of text (qd_xlsx_rows).  The calls are those of csvdoc.h's
 * qd_csv_rows_add, _heading and _problem, with cls for the rows. */
struct sink {
	void *cls;
	void (*add)(void *cls, unsigned line, const char *const *cells, size_t n);
	const char *(*heading)(const void *cls, unsigned column, const char **field);
	void (*problem)(void *cls, unsigned line, unsigned column, const char *message);
};

/* Read the sheet part (xml, len bytes) row by row into the sink; problems
 * of its own (unreadable cells, merged cells) go there too.  *headings gets
 * the header row's headings (malloc()ed array of *ncols malloc()ed
 * strings, NULL when no header was found) for messages.  At most
 * QD_XLSX_CELLS_MAX cells and QD_XLSX_SHEET_ROWS_MAX rows are read, and
 * the cells' text (a shared string once per cell that names it) may come
 * to bk->max_bytes in all: past either, a problem naming the part, and the
 * rest is not read.  *cut (may be NULL) says whether reading stopped
 * before the sheet's end (a limit, XML that is not well-formed).  Returns
 * 0, QD_EINVAL (a problem was added) or QD_ENOMEM. */
int qd_xlsx_sheet(const struct book *bk, const char *xml, size_t len, const struct sink *rows,
		  char ***headings, size_t *ncols, bool *cut);

/* Read the shared strings part (named part, for messages) into bk->pool
 * and bk->str_off.  Returns 0; QD_EINVAL after a problem added to p (not
 * well-formed XML, more than QD_XLSX_STRINGS_MAX strings); QD_ENOMEM. */
int qd_xlsx_shared_strings(struct book *bk, const char *part, const char *xml, size_t len, qd_problems *p);

/* "B" for column 2, "AA" for 27: out holds at least 8 bytes. */
void qd_xlsx_col_name(unsigned col, char *out);

#endif
