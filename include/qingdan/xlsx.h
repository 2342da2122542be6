/* qingdan — spreadsheet (.xlsx) import of list entries.
 *
 * The first sheet of a workbook (or the one named) is read with the CSV
 * import's headings and rules (csvdoc.h): its rows become the entries of
 * an existing list.  The zip is read with libzip, the XML with libxml2's
 * streaming reader. */
#ifndef QINGDAN_XLSX_H
#define QINGDAN_XLSX_H

#include <stddef.h>

#include "qingdan/listdoc.h"
#include "qingdan/problems.h"

/* The Content-Type of an .xlsx workbook. */
#define QD_XLSX_TYPE "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

/* Parts (files) a workbook's zip may hold: more is no workbook of a list. */
#define QD_XLSX_PARTS_MAX 10000

/* Set up the XML parser once, before threads may import workbooks at
 * the same time (libxml2's own set-up is not safe to race).  Idempotent. */
void qd_xlsx_init(void);

/* Does buf start like a zip file (a workbook sent as something else)? */
int qd_xlsx_looks_like(const char *buf, size_t len);

/* Build a new list document from base with its entries replaced by the
 * rows of a sheet.
 *   buf, len   the .xlsx bytes
 *   sheet      the sheet's name, or NULL for the first sheet
 *   max_bytes  the most bytes the parts read may inflate to, all together
 *              (the limit a CSV file has); checked from the zip's sizes
 *              before inflating, and again while inflating
 *   base, out  as qd_csv_to_listdoc (csvdoc.h)
 *   problems   every violation at its row (line) and 1-based column, the
 *              message starting with the cell and the column's heading:
 *              清单!B7 (商品编码): …
 * Numeric cells become their digits (no exponent).  A commodity code
 * stored as a number is taken only with 10 digits, where no leading zero
 * can have been lost; shorter ones are refused, naming the cell.  A CIQ
 * code stored as a number is padded to its 3 digits.  Cells formatted as
 * dates (1900 or 1904 date system) become YYYY-MM-DD.  Merged cells are
 * refused.
 * Returns 0; QD_EINVAL (problems filled: not a workbook, no such sheet,
 * too large, bad cells, rule violations); QD_ENOMEM. */
int qd_xlsx_to_listdoc(const char *buf, size_t len, const char *sheet, size_t max_bytes,
		       const qd_listdoc *base, qd_listdoc **out, qd_problems *problems);

#endif
