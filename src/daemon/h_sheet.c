/* qingdand — POST /v1/sheet: the rows of a workbook's sheet as text, for
 * the pre-check page, which reads a shipment file with the daemon's
 * spreadsheet reader instead of one of its own. */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "qingdan/err.h"
#include "qingdan/jsonw.h"
#include "qingdan/xlsx.h"
#include "handlers.h"
#include "qingdand.h"
#include "respond.h"

enum MHD_Result h_sheet(struct MHD_Connection *c, request *r)
{
	param sheet = {.name = "sheet"};
	enum MHD_Result res;
	if (!get_params(c, &sheet, 1, &res))
		return res;
	if (!r->body_is_xlsx)
		return respond_error(c, E_UNSUPPORTED_MEDIA, "send the workbook itself with Content-Type: " QD_XLSX_TYPE
				     " (.xlsx); a CSV file is read by the page");
	qd_problems pr;
	qd_problems_init(&pr);
	char *name = NULL;
	json_t *rows = NULL;
	/* A shipment workbook may inflate as far as a list file. */
	int err = qd_xlsx_rows(r->body.data ? r->body.data : "", r->body.len, sheet.value,
			       r->srv->cfg.max_document_bytes, QD_XLSX_ROWS_MAX, &name, &rows, &pr);
	if (err == QD_EINVAL) {
		char msg[96];
		snprintf(msg, sizeof msg, "the workbook cannot be read: %zu problem%s", qd_problems_total(&pr),
			 qd_problems_total(&pr) == 1 ? "" : "s");
		res = respond_problems(c, E_INVALID_WORKBOOK, msg, &pr);
	} else if (err) {
		res = respond_lib_error(c, err, NULL);
	} else {
		json_t *answer = json_pack("{s:s, s:o}", "sheet", name, "rows", rows);
		qd_buf b;
		qd_buf_init(&b);
		if (!answer || qd_json_write(&b, answer, 0) != 0) {
			qd_buf_free(&b);
			res = respond_lib_error(c, QD_ENOMEM, NULL);
		} else {
			res = respond_json(c, MHD_HTTP_OK, &b);
		}
		json_decref(answer);
	}
	free(name);
	qd_problems_free(&pr);
	return res;
}
