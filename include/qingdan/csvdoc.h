/* qingdan — CSV import of list entries.
 *
 * A CSV file replaces the entries of an existing list and keeps its title,
 * clauses and roster.  Headers may be English field names or the Chinese
 * headings admins receive (DESIGN.md, "CSV import"); multi-valued cells
 * split on ';', '；' or '|'; UTF-8 with or without BOM, or GB18030
 * (detected when the bytes are not UTF-8, or named by the caller). */
#ifndef QINGDAN_CSVDOC_H
#define QINGDAN_CSVDOC_H

#include <stddef.h>

#include "qingdan/listdoc.h"
#include "qingdan/problems.h"

/* Build a new list document from base with its entries replaced by the rows
 * of a CSV file.
 *   buf, len  the CSV bytes
 *   charset   "utf-8", "gb18030" (also "gbk", "gb2312": read as GB18030), or
 *             NULL to detect (UTF-8 when the bytes are valid UTF-8, else GB18030;
 *             refused when both readings work and only GB18030 gives Chinese text)
 *   base      the list's current document, its entries not needed
 *             (qd_store_get_head); borrowed
 *   out       on success, a new validated document; free with qd_listdoc_free()
 *   problems  every violation, each with its CSV line (1-based, header = 1) and
 *             column (1-based; 0 when it concerns the whole line)
 * A column "conditions" (备注要求) adds one {"type":"remark"} condition per
 * non-empty cell, a column "notes" (说明) one {"type":"note"} after it.  A header with no data rows is refused ("no entries"), so
 * a truncated upload cannot empty a list; load JSON with "entries": [] for that.
 * Returns 0; QD_EINVAL (problems filled: unknown or missing headers, ragged
 * rows, undecodable bytes, bad cells, rule violations); QD_ENOMEM; QD_EIO
 * when the system cannot convert GB18030 at all (missing gconv modules). */
int qd_csv_to_listdoc(const char *buf, size_t len, const char *charset,
		      const qd_listdoc *base, qd_listdoc **out, qd_problems *problems);

/* Rows from another source (a spreadsheet's cells) through the same
 * headings and rules: begin, add each row, end.  Problems are placed at
 * the rows' line numbers and 1-based columns as for a CSV file. */
typedef struct qd_csv_rows qd_csv_rows;

/* Begin an import against base (borrowed until qd_csv_rows_end).
 * Returns NULL when out of memory (qd_csv_rows_end(NULL, …) then answers
 * QD_ENOMEM). */
qd_csv_rows *qd_csv_rows_begin(const qd_listdoc *base);

/* One row: its line (the sheet's row number, increasing) and n cells,
 * each NUL-terminated UTF-8 text ("" for an empty cell). */
void qd_csv_rows_add(qd_csv_rows *r, unsigned line, const char *const *cells, size_t n);

/* Once the header row is in: the heading of a 1-based column as written
 * and, in *field (may be NULL), the English field name it names ("code",
 * "ciq", …, or NULL).  Returns NULL before the header or past its width;
 * valid until qd_csv_rows_end. */
const char *qd_csv_rows_heading(const qd_csv_rows *r, unsigned column, const char **field);

/* A problem of the source's own (a cell it cannot read). */
void qd_csv_rows_problem(qd_csv_rows *r, unsigned line, unsigned column, const char *message);

/* The source stopped before its end (a limit passed, a damaged part) and
 * has said why with qd_csv_rows_problem: the checks of the file as a whole
 * ("the file is empty", "a header but no entries") are not made, since
 * the rows it did not read may hold what they look for. */
void qd_csv_rows_cut(qd_csv_rows *r);

/* End the import and free r.  rc: 0, QD_EINVAL (the source found
 * problems, already added: rows are still checked) or another error,
 * which is returned as is.  Otherwise as qd_csv_to_listdoc. */
int qd_csv_rows_end(qd_csv_rows *r, int rc, qd_listdoc **out, qd_problems *problems);

#endif
