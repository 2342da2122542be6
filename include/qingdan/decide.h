/* qingdan — the decision engine.
 *
 * Rules (DESIGN.md, "Decision rules" and "v2: jurisdiction and item
 * identity"): per list, candidates by code prefix and CIQ; applicability
 * by entity scope and roster, item identity (declared name and spec),
 * jurisdiction (customs scope), status and window (the entry's, its
 * batch's and the list's term);
 * the most specific applicable entry decides (longest code, then CIQ,
 * then exclude over include); across lists, allow when any list allows.
 * deny means "not covered by the lists", never "prohibited". */
#ifndef QINGDAN_DECIDE_H
#define QINGDAN_DECIDE_H

#include <stdbool.h>

#include "qingdan/buf.h"
#include "qingdan/code.h"
#include "qingdan/date.h"
#include "qingdan/entity.h"
#include "qingdan/names.h"
#include "qingdan/store.h"

/* Reasons, in "reason order" (most informative deny first) after listed. */
enum qd_reason {
	QD_REASON_LISTED = 0,
	QD_REASON_EXCLUDED,
	QD_REASON_EXPIRED,
	QD_REASON_NOT_YET_EFFECTIVE,
	QD_REASON_SUSPENDED,
	QD_REASON_REVOKED,
	QD_REASON_OUTSIDE_JURISDICTION,
	QD_REASON_ITEM_DIFFERS,
	QD_REASON_ENTITY_NOT_ELIGIBLE,
	QD_REASON_ENTITY_REQUIRED,
	QD_REASON_NOT_LISTED,
	QD_REASON_COUNT
};

/* Near misses kept per list result, most informative first. */
#define QD_NEAR_MISSES_MAX 20

/* "listed", "excluded" …; static strings. */
const char *qd_reason_name(enum qd_reason r);

/* A list at a version: what a receipt names, and what deciding it again
 * consults. */
typedef struct qd_pin {
	const char *list;
	uint32_t version;
} qd_pin;

/* Pins one query may carry. */
#define QD_PINS_MAX 64

typedef struct qd_query {
	qd_code code;        /* normalised; code.ciq "" or the queried CIQ */
	const char *entity;  /* normalised entity id, or NULL */
	qd_date date;        /* civil date the decision is for */
	const char *list;    /* consult only this list, or NULL for every list */
	const char *customs; /* the office of declaration, 4 digits (qd_customs_parse),
			      * or NULL: customs scopes are shown, not checked */
	const char *name;    /* the declared name (qd_declared_valid), or NULL */
	const char *spec;    /* the declared spec (qd_declared_valid), or NULL */
	uint32_t version;    /* with list: answer from this version (0: current) */
	bool has_at;         /* answer from the versions current at `at` */
	int64_t at;          /* unix seconds, when has_at */
	/* With n_pins > 0: consult exactly these lists at these versions, in
	 * this order (list, version and at are then not used for choosing
	 * lists).  Borrowed for the call. */
	const qd_pin *pins;
	size_t n_pins;
	bool brief;          /* render the brief view (see qd_decide) */
} qd_query;

#define QD_OUTCOME_LISTS_MAX 16

/* What a decision came to, overall and per consulted list (the first
 * QD_OUTCOME_LISTS_MAX lists), for metrics and the decision log. */
typedef struct qd_outcome {
	bool allow;
	enum qd_reason reason;
	unsigned n_lists;                /* lists consulted (may exceed the array) */
	struct qd_list_outcome {
		char id[QD_LIST_ID_MAX + 1];
		uint32_t version;
		bool allow;
		enum qd_reason reason;
	} lists[QD_OUTCOME_LISTS_MAX];
} qd_outcome;

/* Decide q against the snapshot and append the decision's JSON members —
 *   "decision":…,"reason":…,"query":{…},"basis":{…}|null,"results":[…]
 * — to out, without the enclosing braces, so callers can add their own
 * members (decision_id, ref).
 *   s    an open snapshot (every list read from this one snapshot)
 *   res  receives the outcome (may be NULL)
 * Each result also carries "scope" (the customs scope that applies to its
 * deciding entry, or to the list; null: everywhere), "item_check" (what
 * the declared goods must be for an item entry's allow, and which
 * declared fields were "checked"; null for a category entry), "batch"
 * (the deciding entry's batch object, or null) and "terms" (the list's
 * valid_from, valid_to and superseded_by, or null); the basis carries the
 * same scope, item_check and batch.
 * With q->brief, the brief view — the same decision, for callers that
 * need the verdict, not the texts —
 *   "decision":…,"reason":…,"basis":{"list","version","entry":id,
 *   "clauses":[ids],"scope"?,"item_check"?}|null,"results":[{"list",
 *   "version","decision","reason","entry":id|null,"clauses":[ids],
 *   "scope"?,"item_check"?,
 *   "near_misses":[{"entry":id,"reason"}…]}…]
 * (no query; scope and item_check only where not null; no batch or
 * terms).  Both views decide the same: only the rendering differs.
 * Returns 0; QD_ENOLIST when q->list names no list (or, with q->at, none
 * that existed then); QD_ENOVERSION when q->version was never a version of
 * it; QD_EGONE when the version asked for (or current at q->at) is no
 * longer retained; the same three for a pin; QD_EINVAL for more than
 * QD_PINS_MAX pins, or when q->name or q->spec is not acceptable
 * (qd_declared_valid); QD_ENOMEM; QD_EIO. */
int qd_decide(qd_snap *s, const qd_query *q, qd_buf *out, qd_outcome *res);

/* A batch of decisions on one snapshot: the items of one check.  An item
 * asked again in the batch (same code, CIQ, entity, date, list, version,
 * instant, customs code and view, with no declared name or spec) is decided once: each repeat appends a copy of the bytes its
 * first decision appended and gets the same outcome, as deciding it alone
 * would (a query with pins is decided each time).  The batch also keeps the renderings of entries that many items
 * share (decompressed entries of big versions).  One thread at a time. */
typedef struct qd_batch qd_batch;

/* A new batch deciding on s into out.
 *   s    an open snapshot (borrowed): every item is decided on it, so it
 *        stays open, and is not reopened, while the batch is used
 *   out  the buffer each decision is appended to (borrowed, valid while the
 *        batch is used): between decisions the caller may append its own
 *        text, or cut the buffer back (qd_buf_reset(), a smaller len: the
 *        batch then forgets the decisions it kept), but must not change
 *        bytes in place (repeats are copied from them)
 *   n    how many distinct items to keep (sizes the tables once): past
 *        that many, new items are decided each time they come
 * Returns the batch, to free with qd_batch_free(); NULL on out-of-memory. */
qd_batch *qd_batch_new(qd_snap *s, qd_buf *out, size_t n);

/* Free the batch (not its snapshot or buffer); NULL is ignored. */
void qd_batch_free(qd_batch *b);

/* Decide q as qd_decide() does and append the same members to the batch's
 * buffer, in call order.
 *   q    the query (borrowed for the call; what the batch keeps of it is
 *        copied)
 *   res  receives the outcome (may be NULL)
 * Returns 0, or what qd_decide() returns for q (QD_ENOMEM also when the
 * buffer ran out of memory).  An error is this item's only: nothing of it
 * is left in the buffer, nothing is kept, and the batch goes on with the
 * next item. */
int qd_batch_decide(qd_batch *b, const qd_query *q, qd_outcome *res);

#endif
