/* qingdan — spreadsheets (.xlsx): import of list entries, and downloads.
 *
 * The first sheet of a workbook (or the one named) is read with the CSV
 * import's headings and rules (csvdoc.h): its rows become the entries of
 * an existing list.  The zip is read with libzip, the XML with libxml2's
 * streaming reader.  Downloads (a version, a diff, a check's answer) are
 * written with libxlsxwriter. */
#ifndef QINGDAN_XLSX_H
#define QINGDAN_XLSX_H

#include <stddef.h>

#include <stdint.h>

#include <jansson.h>

#include "qingdan/listdoc.h"
#include "qingdan/problems.h"
#include "qingdan/store.h"

/* The Content-Type of an .xlsx workbook. */
#define QD_XLSX_TYPE "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

/* Parts (files) a workbook's zip may hold: more is no workbook of a list. */
#define QD_XLSX_PARTS_MAX 10000

/* Memory follows the bytes: a workbook within max_bytes (below) cannot
 * make a request hold more than a small multiple of them.  Shared strings
 * (xl/sharedStrings.xml) are kept in one block, a byte and an offset for
 * an empty one; a sheet gives at most this many cells, in rows of at most
 * 16384 cells (column XFD), and at most Excel's own 1 048 576 rows; the
 * text of its cells — a shared string counted once for every cell that
 * names it — comes to max_bytes at most.  Past any of these the workbook
 * is refused, naming the part. */
#define QD_XLSX_STRINGS_MAX 4194304
#define QD_XLSX_CELLS_MAX 4194304
#define QD_XLSX_SHEET_ROWS_MAX 1048576

/* What a legacy Excel 97–2003 workbook (.xls) sent as CSV or .xlsx is told. */
#define QD_XLSX_LEGACY_ADVICE "the file is an Excel 97–2003 workbook (.xls), which is not read: " \
	"open it in Excel or WPS and save it as an Excel workbook (.xlsx) or as CSV UTF-8, then send that"

/* Set up the XML parser once, before threads may import workbooks at
 * the same time (libxml2's own set-up is not safe to race).  Idempotent. */
void qd_xlsx_init(void);

/* Does buf start like a zip file (a workbook sent as something else)? */
int qd_xlsx_looks_like(const char *buf, size_t len);

/* Does buf start like a legacy Excel 97–2003 workbook (.xls): an OLE2
 * compound file, D0 CF 11 E0 A1 B1 1A E1? */
int qd_xlsx_looks_like_xls(const char *buf, size_t len);

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
 * dates (1900 or 1904 date system) become YYYY-MM-DD.  A number cell in a
 * column of identifiers that are not codes is refused where its digits
 * cannot be what was typed: always under entities (a 统一社会信用代码 has
 * 18 characters, more than a number keeps), under customs unless it has
 * 4 digits (0100 becomes 100), under id, batch and aliases when it is
 * not a whole number below 10^15.  Merged cells are refused, in the
 * header or not.  A legacy .xls workbook is named as one
 * (QD_XLSX_LEGACY_ADVICE).
 * Returns 0; QD_EINVAL (problems filled: not a workbook, no such sheet,
 * too large, bad cells, rule violations); QD_ENOMEM. */
int qd_xlsx_to_listdoc(const char *buf, size_t len, const char *sheet, size_t max_bytes,
		       const qd_listdoc *base, qd_listdoc **out, qd_problems *problems);

/* Rows a sheet may give qd_xlsx_rows() (a shipment, not a list). */
#define QD_XLSX_ROWS_MAX 100000

/* Read the rows of a sheet as text: a shipment file, whose columns the
 * caller makes sense of.
 *   buf, len, sheet, max_bytes  as qd_xlsx_to_listdoc()
 *   max_rows  the most non-empty rows taken; more is a problem
 *   name      on success, the sheet's name (malloc()ed; caller frees)
 *   rows      on success, a new array of {"line": row number, "cells":
 *             [text, …]}, one per non-empty row, cells as the import reads
 *             them (numbers as digits, dates as YYYY-MM-DD); the first row
 *             is taken as the header, and a column headed code, 商品编号,
 *             商品编码 or HS编码 (ciq, 检验检疫编码) has its number cells
 *             judged as codes (a short one is refused, naming the cell),
 *             and one headed entity, 统一社会信用代码 or 单位代码 has its
 *             number cells refused as in an import
 *   problems  as qd_xlsx_to_listdoc()
 * Returns 0; QD_EINVAL (problems filled); QD_ENOMEM. */
int qd_xlsx_rows(const char *buf, size_t len, const char *sheet, size_t max_bytes, size_t max_rows,
		 char **name, json_t **rows, qd_problems *problems);

/* Write a version of a list as a workbook at path (created or truncated).
 * Sheets: 清单, the entries, one row each under the CSV import's first
 * Chinese heading of every field (so the workbook loads back into the
 * same entries, but for an entry with more than one remark or note, which
 * come back as one, their texts a line each); 条款, the clauses; 名录, the
 * roster (when there is one); 版本, the list, its title and the version.
 *   doc      the version's document (only read)
 *   version  its number, for the 版本 sheet
 * Returns 0, QD_ENOMEM or QD_EIO (the file or a temporary file cannot be
 * written). */
int qd_xlsx_write_list(const qd_listdoc *doc, uint32_t version, const char *path);

/* Write the diff of two versions as a workbook at path: 变动, a row per
 * added or removed entry and per changed field of a changed entry (its
 * heading, old and new cell text), with the entry's code and name; 概要,
 * the counts.
 *   list      the list id
 *   d         the diff (only read; its first QD_CHANGES_MAX changes)
 *   from, to  the documents of d->from and d->to (only read)
 * Returns as qd_xlsx_write_list(). */
int qd_xlsx_write_diff(const char *list, const qd_diff *d, const qd_listdoc *from, const qd_listdoc *to,
		       const char *path);

/* Write a check's answer as a workbook at path: 预检结果, a row per item
 * (its number, ref, code, CIQ code, decision and reason in words, the
 * deciding list, version and entry, the clauses, waived documents,
 * remark, note and quantity limit); 概要, the decision id, summary and
 * context.
 *   request  the check's request body, for the codes of invalid items
 *            and the context (only read)
 *   answer   the answer as rendered (POST /v1/check's JSON; only read)
 * Returns as qd_xlsx_write_list(). */
int qd_xlsx_write_check(const json_t *request, const json_t *answer, const char *path);

#endif
