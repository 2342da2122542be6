/* qingdand — workbook (.xlsx) answers: whether a request asks for one
 * (?format=xlsx, or the xlsx type in Accept), and a version, a diff or a
 * check's answer written by the library (xlsx.h) into a temporary file and
 * sent as an attachment. */
#ifndef QINGDAND_XLSX_OUT_H
#define QINGDAND_XLSX_OUT_H

#include <stdbool.h>

#include <jansson.h>

#include "qingdan/store.h"
#include "qingdand.h"
#include "respond.h"

/* Does the request ask for a workbook: format=xlsx, or an Accept that
 * names the xlsx type when format is not json?  Read before the
 * parameters are checked (the dispatcher answers such a request on a job
 * thread: a workbook of many entries takes seconds to write). */
bool xlsx_requested(struct MHD_Connection *c);

/* The format parameter p ("json" or "xlsx"; absent: Accept decides) into
 * *xlsx.  Returns true, or false after answering 400 bad_parameter
 * (*res holds the result). */
bool xlsx_format_param(struct MHD_Connection *c, const param *p, bool *xlsx, enum MHD_Result *res);

/* Answer with version v of list as a workbook.  *err receives the store
 * error that kept the version from being read (0 when an answer was
 * queued); the caller then answers it. */
enum MHD_Result xlsx_send_version(struct MHD_Connection *c, server *srv, const char *list, uint32_t v,
				  int *err);

/* Answer with the diff d of list as a workbook; the two versions'
 * documents are read for the changed values.  *err as above (d->from or
 * d->to gone since the diff was taken). */
enum MHD_Result xlsx_send_diff(struct MHD_Connection *c, server *srv, const char *list, const qd_diff *d,
			       int *err);

/* Answer a check as a workbook: asked is its request body (only read); the
 * answer's JSON is body's bytes from start on (body is freed here). */
enum MHD_Result xlsx_send_check(struct MHD_Connection *c, const json_t *asked, qd_buf *body, size_t start);

#endif
