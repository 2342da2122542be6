/* qingdand — decision ids and the decision log.
 *
 * Every lookup and check answer carries an id unique to this process's
 * life ("<random prefix>-<sequence>"); with --decision-log each decision
 * is also written there as one JSON line. */
#ifndef QINGDAND_DECISIONS_H
#define QINGDAND_DECISIONS_H

#include <stddef.h>

#include "qingdan/decide.h"

struct server;

/* Pick srv's random decision id prefix (8 hex digits; from the time and
 * the process id when the kernel has no randomness to give) and start the
 * sequence at 0.  Call once, before the first request. */
void decisions_init(struct server *srv);

/* Write a fresh decision id ("<prefix>-<seq>", the sequence number in at
 * least 12 lowercase hex digits) into out; returns its length. */
size_t next_decision_id(struct server *srv, char out[40]);

/* Count a decision in the metrics and write it to the decision log.
 *   decision_id  the id answered with it
 *   q, o         the query and its outcome; borrowed
 *   ref          the client's "ref", already rendered as JSON; NULL: none */
void record_decision(struct server *srv, const char *decision_id, const qd_query *q, const qd_outcome *o,
		     const char *ref);

#endif
