/* qingdand — GET /healthz and GET /readyz. */
#include <stdlib.h>

#include "qingdand.h"

enum MHD_Result h_healthz(struct MHD_Connection *c, request *r)
{
	(void)r;
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_puts(&b, "{\"status\":\"ok\"}");
	return respond_json(c, MHD_HTTP_OK, &b);
}

enum MHD_Result h_readyz(struct MHD_Connection *c, request *r)
{
	qd_list_info *v;
	size_t n;
	int err = qd_store_lists(r->srv->store, &v, &n);
	if (err)
		return respond_error(c, E_NOT_READY, "the store cannot be read");
	qd_list_infos_free(v, n);
	if (n == 0)
		return respond_error(c, E_NOT_READY, "no list is loaded yet");
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_printf(&b, "{\"status\":\"ready\",\"lists\":%zu}", n);
	return respond_json(c, MHD_HTTP_OK, &b);
}
