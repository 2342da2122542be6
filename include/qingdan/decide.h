/* qingdan — the decision engine.
 *
 * Rules (DESIGN.md, "Decision rules"): per list, candidates by code prefix
 * and CIQ; applicability by entity scope and roster, status and window;
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
#include "qingdan/store.h"

/* Reasons, in "reason order" (most informative deny first) after listed. */
enum qd_reason {
	QD_REASON_LISTED = 0,
	QD_REASON_EXCLUDED,
	QD_REASON_EXPIRED,
	QD_REASON_NOT_YET_EFFECTIVE,
	QD_REASON_SUSPENDED,
	QD_REASON_REVOKED,
	QD_REASON_ENTITY_NOT_ELIGIBLE,
	QD_REASON_ENTITY_REQUIRED,
	QD_REASON_NOT_LISTED,
	QD_REASON_COUNT
};

/* Near misses kept per list result, most informative first. */
#define QD_NEAR_MISSES_MAX 20

/* "listed", "excluded" …; static strings. */
const char *qd_reason_name(enum qd_reason r);

typedef struct qd_query {
	qd_code code;        /* normalised; code.ciq "" or the queried CIQ */
	const char *entity;  /* normalised entity id, or NULL */
	qd_date date;        /* civil date the decision is for */
	const char *list;    /* consult only this list, or NULL for every list */
	uint32_t version;    /* with list: answer from this version (0: current) */
	bool has_at;         /* answer from the versions current at `at` */
	int64_t at;          /* unix seconds, when has_at */
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
 * Returns 0; QD_ENOENT when q->list names no list or q->version no
 * version of it; QD_EGONE when the version asked for (or current at
 * q->at) is no longer retained; QD_ENOMEM; QD_EIO. */
int qd_decide(qd_snap *s, const qd_query *q, qd_buf *out, qd_outcome *res);

/* Renderings of entries kept across a batch of decisions (the items of one
 * check): the same entry is a near miss or the basis of many items, and a
 * big version stores it compressed (only those are kept).  An entry of a list version never
 * changes, so a kept rendering stays exact; the cache still belongs with
 * one batch, because it only grows (up to a bound, then stops adding). */
typedef struct qd_entry_cache qd_entry_cache;

/* A new, empty cache; NULL on out-of-memory. */
qd_entry_cache *qd_entry_cache_new(void);
/* Free it; NULL is ignored. */
void qd_entry_cache_free(qd_entry_cache *ec);

/* qd_decide(), reading entry renderings from ec and keeping new ones there
 * (ec NULL: same as qd_decide()).  Same returns. */
int qd_decide_cached(qd_snap *s, const qd_query *q, qd_buf *out, qd_outcome *res, qd_entry_cache *ec);

#endif
