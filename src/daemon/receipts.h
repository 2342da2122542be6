/* qingdand — receipts on lookups and checks (h_receipts.c), for
 * h_decide.c. */
#ifndef QINGDAND_RECEIPTS_H
#define QINGDAND_RECEIPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "qingdan/buf.h"
#include "qingdan/decide.h"
#include "qingdand.h"

/* Parse a receipt=… query value: true or false.
 *   out  set on success
 * Returns false for anything else. */
bool receipt_param(const char *s, size_t n, bool *out);

/* Sign a lookup's receipt and append ,"receipt":{…} to out.
 *   s         the snapshot the decision was made on, still open
 *   decision  '{' and the members qd_decide() appended (restored on return)
 *   id        the decision id; client_ref NULL when none
 * Returns 0 or a library error (the answer is then 500: the decision
 * itself is fine, the receipt could not be made). */
int receipt_lookup(server *srv, qd_snap *s, qd_buf *decision, const char *id, const char *client_ref,
		   qd_buf *out);

/* The same for a check: items as written to the response, separated by
 * commas; base the items' shared context. */
int receipt_check(server *srv, qd_snap *s, const qd_query *base, const char *items, size_t len, const char *id,
		  const char *client_ref, qd_buf *out);

/* Answer 409 signing_disabled. */
enum MHD_Result receipt_disabled(struct MHD_Connection *c);

/* Answer 500 for a receipt that could not be made. */
enum MHD_Result receipt_failed(struct MHD_Connection *c, int err);

#endif
