/* qingdand — the request handlers, one group of endpoints per h_*.c file.
 * Only the dispatcher (http.c) calls them, from its route table; each
 * answers through respond.h and returns what libmicrohttpd's access
 * handler returns. */
#ifndef QINGDAND_HANDLERS_H
#define QINGDAND_HANDLERS_H

#include "qingdand.h"

/* h_decide.c: GET /v1/lookup, POST /v1/check. */
enum MHD_Result h_lookup(struct MHD_Connection *c, request *r);
enum MHD_Result h_check(struct MHD_Connection *c, request *r);

/* h_sheet.c: POST /v1/sheet (a workbook's rows as text, for the pages). */
enum MHD_Result h_sheet(struct MHD_Connection *c, request *r);

/* h_lists.c: GET /v1/lists, GET|PUT /v1/lists/{id}, GET /v1/lists/{id}/entries. */
enum MHD_Result h_lists(struct MHD_Connection *c, request *r);
enum MHD_Result h_list_get(struct MHD_Connection *c, request *r);
enum MHD_Result h_list_put(struct MHD_Connection *c, request *r);
enum MHD_Result h_entries(struct MHD_Connection *c, request *r);
enum MHD_Result h_expiring(struct MHD_Connection *c, request *r);
enum MHD_Result h_cancel_scheduled(struct MHD_Connection *c, request *r);

/* h_history.c: versions, export, diff, rollback, audit. */
enum MHD_Result h_versions(struct MHD_Connection *c, request *r);
enum MHD_Result h_version_get(struct MHD_Connection *c, request *r);
enum MHD_Result h_diff(struct MHD_Connection *c, request *r);
enum MHD_Result h_rollback(struct MHD_Connection *c, request *r);
enum MHD_Result h_audit(struct MHD_Connection *c, request *r);
/* h_proposals.c */
enum MHD_Result h_proposals(struct MHD_Connection *c, request *r);
enum MHD_Result h_proposal_get(struct MHD_Connection *c, request *r);
enum MHD_Result h_proposal_approve(struct MHD_Connection *c, request *r);
enum MHD_Result h_proposal_reject(struct MHD_Connection *c, request *r);
/* Answer with version v of list, streamed as its canonical bytes.  *err
 * receives the store error that kept the version from being read (0 when
 * it is sent or another answer was queued); the caller then answers it. */
enum MHD_Result send_version_doc(struct MHD_Connection *c, server *srv, const char *list, uint32_t v,
				 int *err);

/* h_feed.c: GET /v1/feed (with long polls, feedwait.h), GET /v1/feed/{n}. */
enum MHD_Result h_feed(struct MHD_Connection *c, request *r);
enum MHD_Result h_feed_doc(struct MHD_Connection *c, request *r);

/* h_receipts.c: GET /v1/keys, POST /v1/receipts/verify. */
enum MHD_Result h_keys(struct MHD_Connection *c, request *r);
enum MHD_Result h_receipt_verify(struct MHD_Connection *c, request *r);

/* h_ui.c: static pages, GET /ui, /ui/ and /ui/{file} (r->arg_n holds the
 * file name). */
enum MHD_Result h_ui(struct MHD_Connection *c, request *r);

/* h_health.c: GET /v1/status, /metrics, /healthz, /readyz. */
enum MHD_Result h_status(struct MHD_Connection *c, request *r);
enum MHD_Result h_metrics(struct MHD_Connection *c, request *r);
enum MHD_Result h_healthz(struct MHD_Connection *c, request *r);
enum MHD_Result h_readyz(struct MHD_Connection *c, request *r);

#endif
