/* qingdand — decision ids and the decision log.
 *
 * Every lookup and check answer carries an id unique to this process's
 * life ("<random prefix>-<sequence>"); with --decision-log each decision
 * is also written there as one JSON line.  A request's lines are gathered
 * while it decides and queued together before its answer: in a lossless
 * log (--decision-log-mode lossless) an answer whose lines could not be
 * queued is not given (503 log_unavailable). */
#ifndef QINGDAND_DECISIONS_H
#define QINGDAND_DECISIONS_H

#include <stddef.h>

#include "qingdan/buf.h"
#include "qingdan/decide.h"

struct server;

/* Pick srv's random decision id prefix (8 hex digits; from the time and
 * the process id when the kernel has no randomness to give) and start the
 * sequence at 0.  Call once, before the first request. */
void decisions_init(struct server *srv);

/* Write a fresh decision id ("<prefix>-<seq>", the sequence number in at
 * least 12 lowercase hex digits) into out; returns its length. */
size_t next_decision_id(struct server *srv, char out[40]);

/* The decision log lines of one request, newline-separated in b (empty
 * and unallocated without a decision log). */
typedef struct decision_lines {
	qd_buf b;
	unsigned n;
} decision_lines;

/* Start l empty; free it with decision_lines_free(). */
void decision_lines_init(decision_lines *l);
void decision_lines_free(decision_lines *l);

/* Count a decision in the metrics and, with a decision log, append its
 * line to l (queued by commit_decisions()).
 *   decision_id  the id answered with it
 *   client_ref   the request's validated client_ref; NULL: none
 *   q, o         the query and its outcome; borrowed
 *   ref, ref_len the item's "ref", already rendered as JSON; NULL: none */
void record_decision(struct server *srv, decision_lines *l, const char *decision_id, const char *client_ref,
		     const qd_query *q, const qd_outcome *o, const char *ref, size_t ref_len);

/* Queue l's lines in the decision log, before the answer is queued.  A
 * request's lines go in as one unit unless they pass a quarter of the
 * log's buffer: then in parts of whole lines, so a refusal may leave lines
 * of a request that was not answered, never an answer without its lines.
 * Returns true when queued, when there is no decision log, and always in
 * best-effort mode (lines dropped there are counted); false when a
 * lossless log could not take them within --decision-log-wait: the caller
 * answers 503 log_unavailable instead of the decision. */
bool commit_decisions(struct server *srv, decision_lines *l);

#endif
