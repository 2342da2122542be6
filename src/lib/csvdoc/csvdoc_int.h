/* qingdan — CSV import: what its files share (not installed).
 *
 * csvdoc.c  tokenising, validation, the entry point (and the design)
 * decode.c  charset decoding: UTF-8, GB18030 via iconv
 * header.c  recognising the header row's headings
 * rows.c    building an entry from each data row */
#ifndef QINGDAN_CSVDOC_INT_H
#define QINGDAN_CSVDOC_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "qingdan/csvdoc.h"

#include "../listdoc/pool.h"

/* A row wider than this is no list sheet (there are 18 fields); fields
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
	F_NOTES,
	F_QTY_LIMIT,
	F_QTY_UNIT,
	F_CLAUSES,
	F_BATCH,
	F_IDENTITY,
	F_ALIASES,
	F_CUSTOMS,
	F_COUNT
};

#define BIT(f) (UINT32_C(1) << (f))

/* A field's column headings. */
struct field_def {
	const char *name;      /* English heading */
	const char *zh[4];     /* Chinese headings, NULL-terminated */
};

extern const struct field_def qd_csv_fields[F_COUNT];

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

	/* entries: each goes through the document builder as its row ends,
	 * and only its canonical bytes stay */
	qd_listdoc_builder *b;   /* begun with the first entry */
	qd_problems vp;          /* the builder's problems, taken out after each entry */
	unsigned *lines;         /* the line of each entry built */
	size_t n, cap;           /* entries built, lines allocated */
	/* Repeated ids: an id the builder holds (qd_listdoc_find) is known
	 * with its entry; any other id is kept here, in others[] by index. */
	const char *row_id;      /* the current row's id, when new */
	qd_idmap other_ids;      /* id -> index into others */
	struct other_id {
		const char *id;  /* in id_text */
		unsigned line;
	} *others;
	size_t n_others, cap_others;
	qd_pool *id_text;
	size_t data_rows;        /* non-empty records after the header */
	int note_at;             /* index of the current row's note (说明) in its
				  * conditions, -1 when it has none */
};

#define PROB_AT(im, line, col, ...) qd_problems_add_at((im)->p, (line), (col), __VA_ARGS__)

/* ---- small helpers ------------------------------------------------------ */

static inline bool ascii_case_eq(const char *a, size_t n, const char *b)
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
static inline size_t blank_at(const char *s, size_t n)
{
	if (n >= 1 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n'))
		return 1;
	if (n >= 3 && memcmp(s, "\xe3\x80\x80", 3) == 0)
		return 3;
	return 0;
}

static inline size_t blank_before(const char *s, size_t n)
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

static inline void trim(const char **s, size_t *n)
{
	size_t k;

	while ((k = blank_at(*s, *n)) > 0) {
		*s += k;
		*n -= k;
	}
	while ((k = blank_before(*s, *n)) > 0)
		*n -= k;
}

/* The heading of field f's column as the file writes it. */
static inline const char *hd(const struct imp *im, enum field f)
{
	return im->col_of[f] ? im->heading[im->col_of[f] - 1] : qd_csv_fields[f].name;
}

/* Trim every stored field of the current record in place (csvdoc.c);
 * returns an array of n pointers to them (malloc()ed), or NULL when out
 * of memory. */
char **qd_csv_row_cells(struct imp *im, size_t n);

/* Turn the bytes into UTF-8 text without a BOM (decode.c).  *text points
 * into buf or into *owned (malloc()ed, caller frees).  Returns 0;
 * QD_EINVAL after a problem; QD_ENOMEM; QD_EIO. */
int qd_csv_decode(struct imp *im, const char *buf, size_t len, const char *charset,
		  const char **text, size_t *tlen, char **owned);

/* The first non-blank record: the columns and their fields (header.c).
 * Problems go to im; sets im->oom when out of memory. */
void qd_csv_header(struct imp *im);

/* A record after the header: one entry for qd_csv_entry unless it is
 * empty or has the wrong width (rows.c).  Sets im->oom when out of
 * memory. */
void qd_csv_data_row(struct imp *im);

/* Check the entry e (stolen) of the current row with every loader rule,
 * its problems put at the row's line and the columns they concern;
 * flagged: the fields of the row already reported in CSV terms
 * (csvdoc.c). */
void qd_csv_entry(struct imp *im, json_t *e, uint32_t flagged);

#endif
