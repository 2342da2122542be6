/* qingdan — entries checked apart from the document builder, on another
 * thread (not installed; used by listdoc/ahead.c and csvdoc/pipe.c).
 *
 * A checker reads the builder's head (clauses, roster, scope, batches)
 * and writes nothing the builder holds; what it found is kept, in
 * document order, by qd_listdoc_add_checked(), which does what depends
 * on the entries before (the id not taken, the id map, the pool) and
 * hands an entry with any problem back to qd_listdoc_add(). */
#ifndef QINGDAN_LISTDOC_CHECKER_H
#define QINGDAN_LISTDOC_CHECKER_H

#include <stdbool.h>
#include <stddef.h>

#include "qingdan/buf.h"
#include "qingdan/listdoc.h"

/* An entry as qd_ld_check_entry() checked it. */
struct qd_ld_checked {
	qd_entry e;            /* its terms; id, clauses, json, entities and terms unset */
	json_t *id;            /* its id as given (NULL: none valid) */
	json_t *c;             /* its canonical tree (the entities are read from it) */
	size_t json_off, json_len;   /* its canonical bytes, in the batch's bytes */
	size_t terms_off, terms_len; /* its decision terms, there */
	size_t cl_off;         /* its clause indexes (e.n_clauses size_t), there */
	bool clean;            /* no problem found, nothing failed: it can be kept as is */
};

/* A checking context of its own for another thread, reading b's head:
 * NULL when b keeps no more entries (or out of memory). */
typedef struct qd_ld_checker qd_ld_checker;
qd_ld_checker *qd_ld_checker_new(const qd_listdoc_builder *b);
void qd_ld_checker_free(qd_ld_checker *k);
/* Check entry i (in) as qd_listdoc_add() does, writing nothing to the
 * builder: the result into r, its canonical bytes, terms and clause
 * indexes appended to bytes; its trees in the arena entered.  Whether
 * the id is new is for qd_listdoc_add_checked() to say. */
void qd_ld_check_entry(qd_ld_checker *k, json_t *in, size_t i, struct qd_ld_checked *r,
		       qd_buf *bytes);
/* Keep entry in, checked as r (with bytes, the data of r's buffer), as
 * qd_listdoc_add(b, in) would: when r is clean and its id new, from r;
 * else with qd_listdoc_add() itself, which then finds and reports its
 * problems. */
void qd_listdoc_add_checked(qd_listdoc_builder *b, json_t *in, const struct qd_ld_checked *r,
			    const char *bytes);

#endif
