/* qingdan — a collection of validation problems ("violations").
 *
 * Validators report every problem they find, not just the first, each
 * with a JSON Pointer path (JSON documents) or a line and column (CSV). */
#ifndef QINGDAN_PROBLEMS_H
#define QINGDAN_PROBLEMS_H

#include <stddef.h>

#define QD_PROBLEMS_CAP 200 /* more than this are counted in `omitted`, not kept */

typedef struct qd_problem {
	char *path;       /* JSON Pointer ("/entries/3/code"), or NULL for CSV */
	unsigned line;    /* 1-based CSV line (header = 1), 0 when path is used */
	unsigned column;  /* 1-based CSV column, 0 when unknown */
	char *message;    /* English sentence; owned */
} qd_problem;

typedef struct qd_problems {
	qd_problem *items; /* owned array of `count` problems */
	size_t count;
	size_t cap;
	size_t omitted;    /* problems found beyond QD_PROBLEMS_CAP */
} qd_problems;

#define QD_QUOTE_MAX 60                       /* bytes of a value repeated inside a message */
#define QD_QUOTE_BUF (QD_QUOTE_MAX * 6 + 8)   /* room for the quoted, escaped form */

/* Write s (n bytes) into buf as a double-quoted, escaped string, cut after
 * about QD_QUOTE_MAX bytes (never inside a UTF-8 character, "…" added), so
 * a message stays one readable line whatever the value holds.
 * Returns buf. */
const char *qd_quote(const char *s, size_t n, char buf[QD_QUOTE_BUF]);

/* Initialise an empty collection (same as zero-filling it). */
void qd_problems_init(qd_problems *p);

/* Add a problem at a JSON Pointer path (copied; may be "" for the root).
 * The message is printf-formatted and copied. Out-of-memory is swallowed:
 * the problem is then counted in `omitted`. */
void qd_problems_add(qd_problems *p, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Add a problem at a CSV line and column (column 0 = whole line). */
void qd_problems_add_at(qd_problems *p, unsigned line, unsigned column, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Total problems found (kept + omitted). */
size_t qd_problems_total(const qd_problems *p);

/* Free every problem; the collection is left empty and reusable. */
void qd_problems_free(qd_problems *p);

#endif
