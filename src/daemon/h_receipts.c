/* qingdand — keys and receipts: GET /v1/keys, POST /v1/receipts/verify,
 * and the receipts of lookups and checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "qingdan/err.h"
#include "qingdan/receipt.h"
#include "handlers.h"
#include "receipts.h"
#include "respond.h"
#include "snaps.h"

bool receipt_param(const char *s, size_t n, bool *out)
{
	if (n == 4 && memcmp(s, "true", 4) == 0)
		*out = true;
	else if (n == 5 && memcmp(s, "false", 5) == 0)
		*out = false;
	else
		return false;
	return true;
}

/* Sign payload and append ,"receipt":{…} to out. */
static int sign_into(server *srv, qd_buf *payload, qd_buf *out)
{
	int rc = payload->oom ? QD_ENOMEM : 0;
	if (!rc) {
		qd_buf_puts(out, ",\"receipt\":");
		rc = qd_receipt_sign(srv->sign_key, payload->data ? payload->data : "", payload->len, out);
	}
	qd_buf_free(payload);
	return rc;
}

int receipt_lookup(server *srv, qd_snap *s, qd_buf *decision, const char *id, const char *client_ref,
		   qd_buf *out)
{
	qd_receipt_head h = {id, (int64_t)time(NULL), client_ref};
	qd_buf payload;
	qd_buf_init(&payload);
	size_t len = decision->len;
	qd_buf_putc(decision, '}');
	int rc = decision->oom ? QD_ENOMEM : qd_receipt_lookup_payload(s, decision->data, decision->len, &h, &payload);
	decision->len = len;
	if (rc) {
		qd_buf_free(&payload);
		return rc;
	}
	return sign_into(srv, &payload, out);
}

int receipt_check(server *srv, qd_snap *s, const qd_query *base, const char *items, size_t len, const char *id,
		  const char *client_ref, qd_buf *out)
{
	qd_receipt_head h = {id, (int64_t)time(NULL), client_ref};
	qd_buf payload;
	qd_buf_init(&payload);
	int rc = qd_receipt_check_payload(s, base, items, len, &h, &payload);
	if (rc) {
		qd_buf_free(&payload);
		return rc;
	}
	return sign_into(srv, &payload, out);
}

enum MHD_Result receipt_disabled(struct MHD_Connection *c)
{
	return respond_error(c, E_SIGNING_DISABLED, NULL);
}

enum MHD_Result receipt_failed(struct MHD_Connection *c, int err)
{
	char msg[160];
	snprintf(msg, sizeof msg, "the receipt could not be made: %s", qd_strerror(err));
	return respond_error(c, E_INTERNAL, msg);
}

/* Append one key's object to b. */
static int put_key(qd_buf *b, const qd_key *k, bool current)
{
	qd_buf pem;
	qd_buf_init(&pem);
	int rc = qd_key_public_pem(k, &pem);
	if (!rc) {
		qd_buf_puts(b, "{\"kid\":\"");
		qd_buf_puts(b, qd_key_kid(k));
		qd_buf_puts(b, "\",\"alg\":\"");
		qd_buf_puts(b, qd_key_alg(k));
		qd_buf_puts(b, "\",\"public_key\":");
		qd_buf_json_str(b, pem.data, pem.len);
		qd_buf_puts(b, current ? ",\"current\":true}" : ",\"current\":false}");
	}
	qd_buf_free(&pem);
	return rc;
}

enum MHD_Result h_keys(struct MHD_Connection *c, request *r)
{
	enum MHD_Result res;
	if (!no_params(c, &res))
		return res;
	const server *srv = r->srv;
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_puts(&b, "{\"keys\":[");
	int rc = srv->sign_key ? put_key(&b, srv->sign_key, true) : 0;
	for (size_t i = 0; !rc && i < srv->n_verify_keys; i++) {
		if (i || srv->sign_key)
			qd_buf_putc(&b, ',');
		rc = put_key(&b, srv->verify_keys[i], false);
	}
	qd_buf_puts(&b, "]}");
	if (rc || b.oom) {
		qd_buf_free(&b);
		return respond_lib_error(c, rc ? rc : QD_ENOMEM, NULL);
	}
	return respond_json(c, MHD_HTTP_OK, &b);
}

/* The keys a receipt may be signed with: the current one first. */
static qd_key **known_keys(const server *srv, size_t *n)
{
	qd_key **v = malloc((srv->n_verify_keys + 1) * sizeof *v);
	*n = 0;
	if (!v)
		return NULL;
	if (srv->sign_key)
		v[(*n)++] = srv->sign_key;
	for (size_t i = 0; i < srv->n_verify_keys; i++)
		v[(*n)++] = srv->verify_keys[i];
	return v;
}

enum MHD_Result h_receipt_verify(struct MHD_Connection *c, request *r)
{
	enum MHD_Result res;
	json_t *body;
	if (!parse_json_only(c, r, &body, &res))
		return res;
	json_t *rj = json_is_object(body) ? json_object_get(body, "receipt") : NULL;
	qd_receipt rc;
	const char *member;
	if (!json_is_object(body) || json_object_size(body) != 1 || !rj) {
		res = respond_problem(c, E_BAD_BODY, "/receipt", "the body must be {\"receipt\": {payload, alg, kid, sig}}");
		goto out;
	}
	if (qd_receipt_read(rj, &rc, &member)) {
		char path[40], msg[120];
		snprintf(path, sizeof path, "/receipt%s%s", *member ? "/" : "", member);
		if (*member)
			snprintf(msg, sizeof msg, "receipt.%s: missing, or not a string", member);
		else
			snprintf(msg, sizeof msg, "receipt must be an object {payload, alg, kid, sig}");
		res = respond_problem(c, E_BAD_BODY, path, msg);
		goto out;
	}
	size_t n;
	qd_key **keys = known_keys(r->srv, &n);
	if (!keys) {
		res = respond_lib_error(c, QD_ENOMEM, NULL);
		goto out;
	}
	const char *why = NULL;
	int v = qd_receipt_verify(&rc, keys, n, &why);
	free(keys);
	if (v == QD_EBASE64) {
		res = respond_problem(c, E_BAD_BODY, "/receipt/sig", "receipt.sig: not base64 (RFC 4648, with padding, no line breaks)");
		goto out;
	}
	if (v && v != QD_ENOENT && v != QD_EBADSIG) {
		res = respond_lib_error(c, v, NULL);
		goto out;
	}
	/* Only a payload whose signature holds is worth deciding again. */
	enum qd_reproduced rep = QD_REPRO_GONE;
	char rwhy[256] = "";
	bool have_rep = false;
	if (!v) {
		qd_snap *s = thread_snap(r->srv);
		if (!s) {
			res = respond_error(c, E_INTERNAL, "cannot open a read snapshot");
			goto out;
		}
		int e = qd_receipt_reproduce(s, rc.payload, rc.payload_len, &rep, rwhy, sizeof rwhy);
		qd_snap_close(s);
		if (e == QD_EINVAL) {
			char msg[300];
			snprintf(msg, sizeof msg, "receipt.payload: %s", rwhy);
			res = respond_problem(c, E_INVALID_RECEIPT, "/receipt/payload", msg);
			goto out;
		}
		if (e) {
			res = respond_lib_error(c, e, NULL);
			goto out;
		}
		have_rep = true;
	}
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_puts(&b, v ? "{\"valid\":false,\"kid\":" : "{\"valid\":true,\"kid\":");
	qd_buf_json_cstr(&b, rc.kid);
	qd_buf_puts(&b, ",\"reproduced\":");
	qd_buf_puts(&b, !have_rep || rep == QD_REPRO_GONE ? "null" : rep == QD_REPRO_SAME ? "true" : "false");
	qd_buf_puts(&b, ",\"reason\":");
	qd_buf_json_cstr(&b, v ? why : rwhy[0] ? rwhy : NULL);
	qd_buf_putc(&b, '}');
	res = respond_json(c, MHD_HTTP_OK, &b);
out:
	json_decref(body);
	return res;
}
