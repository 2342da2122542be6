/* qingdan — CSV import: what its files share (not installed).
 *
 * csvdoc.c  tokenising, validation, the entry point (and the design)
 * decode.c  charset decoding: UTF-8, GB18030 via iconv
 * header.c  recognising the header row's headings
 * rows.c    building an entry from each data row
 * pipe.c    handing the entries over to be checked, on a second thread
 *           for big files */
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
	char **cells; /* FIELDS_MAX trimmed fields of a data row (rows.c) */
};

/* The entry of one data row, built by the tokenising side and checked by
 * the other (pipe.c).  The row's problems found while building it are
 * the batch's problems before np; those before np_id come before the
 * check of its id, which needs every earlier entry (qd_csv_id_check). */
struct qd_csv_ent {
	json_t *e;          /* owned by the batch (its arena, or a reference) */
	const char *id;     /* e's id, when the row has one */
	uint32_t flagged;   /* the fields already reported in CSV terms */
	unsigned line;      /* where the row began */
	int note_at;        /* index of the note (说明) in its conditions, or -1 */
	size_t np_id, np;   /* counts of the batch's problems, see above */
};

struct qd_csv_pipe;

/* Import state.  `oom` and `toom` are sticky and turn the result into
 * QD_ENOMEM.
 *
 * Two sides share it, maybe on two threads (pipe.c): the tokenising
 * side (tokeniser, header, rows: tp, toom and the fields down to
 * data_rows) and the checking side (the entries: p, oom and the fields
 * from b on).  Each writes only its own fields; the checking side reads
 * the header's (col_of, heading, missing), which are written before the
 * first entry is handed over and never after. */
struct imp {
	const qd_listdoc *base;
	qd_problems *p;          /* every problem, CSV line/column form */
	bool oom;                /* out of memory on the checking side */

	/* the tokenising side's problems: p, or the batch being filled,
	 * whose problems join p in order when it is checked */
	qd_problems *tp;
	bool toom;               /* out of memory on the tokenising side */
	struct qd_csv_pipe *pipe;

	/* tokeniser */
	unsigned line;           /* physical line being fed to libcsv */
	unsigned row_line;       /* line on which the current record began */
	bool in_row;             /* a record has begun and not yet ended */
	struct rowbuf row;

	bool cut;                /* the source stopped early (qd_csv_rows_cut) */

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

	size_t data_rows;        /* non-empty records after the header */

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
	unsigned ent_line;       /* the line of the entry being checked */
	/* its check on the tokenising side, and the bytes that refers to
	 * (NULL: not checked ahead) */
	const struct qd_ld_checked *chk;
	const char *chk_bytes;
	int note_at;             /* index of its note (说明) in its conditions,
				  * -1 when it has none */
};

/* A problem of the tokenising side (decoding, tokens, header, rows). */
#define PROB_AT(im, line, col, ...) qd_problems_add_at((im)->tp, (line), (col), __VA_ARGS__)

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

/* Trim the first n (<= FIELDS_MAX) stored fields of the current record
 * in place into im->row.cells (csvdoc.c); false when out of memory. */
bool qd_csv_row_trim(struct imp *im, size_t n);

/* Tokenise the text: every record to qd_csv_header or qd_csv_data_row
 * (csvdoc.c).  Returns 0 or QD_ENOMEM. */
int qd_csv_tokenise(struct imp *im, const char *text, size_t len);

/* Turn the bytes into UTF-8 text without a BOM (decode.c).  *text points
 * into buf or into *owned (malloc()ed, caller frees).  Returns 0;
 * QD_EINVAL after a problem; QD_ENOMEM; QD_EIO. */
int qd_csv_decode(struct imp *im, const char *buf, size_t len, const char *charset,
		  const char **text, size_t *tlen, char **owned);

/* The first non-blank record: the columns and their fields (header.c).
 * Problems go to im; sets im->toom when out of memory. */
void qd_csv_header(struct imp *im);

/* A record after the header: one entry handed to qd_csv_pipe_put unless
 * it is empty or has the wrong width (rows.c).  Sets im->toom when out of
 * memory. */
void qd_csv_data_row(struct imp *im);

/* The id of the entry ent against every earlier entry's; its problem
 * goes to im->p.  Returns the fields reported (csvdoc.c). */
uint32_t qd_csv_id_check(struct imp *im, const struct qd_csv_ent *ent);

/* Check the entry e (borrowed) at line im->ent_line with every loader
 * rule, its problems put at that line and the columns they concern;
 * flagged: the fields of the row already reported in CSV terms
 * (csvdoc.c). */
void qd_csv_entry(struct imp *im, json_t *e, uint32_t flagged);

/* ---- the pipe (pipe.c) ----------------------------------------------------------
 *
 * Entries and the tokenising side's problems go through batches, in
 * document order, to the checking side.  Inline, a batch is checked as
 * soon as it is full (or flushed); threaded, the text is tokenised on a
 * second thread while the caller checks the batches before. */

/* Begin an inline pipe for rows fed one by one (im->pipe, im->tp set).
 * Returns 0 or QD_ENOMEM. */
int qd_csv_pipe_begin(struct imp *im);

/* Check whatever the inline pipe holds. */
void qd_csv_pipe_flush(struct imp *im);

/* Check whatever is left and end the pipe (im->tp back to im->p). */
void qd_csv_pipe_end(struct imp *im);

/* Tokenise and check the whole text, on two threads when it is big enough
 * to be worth one.  Returns 0 or QD_ENOMEM. */
int qd_csv_pipe_run(struct imp *im, const char *text, size_t len);

/* The arena in which the tokenising side builds the next entry's tree
 * (NULL: malloc). */
struct qd_jarena *qd_csv_pipe_arena(const struct imp *im);

/* Hand the entry over (the tokenising side). */
void qd_csv_pipe_put(struct imp *im, const struct qd_csv_ent *ent);

#endif
