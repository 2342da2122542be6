/* qingdand — the feed: GET /v1/feed (records, long polls) and
 * GET /v1/feed/{seq} (the document a record names). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedwait.h"
#include "handlers.h"
#include "qingdan/err.h"
#include "qingdand.h"
#include "respond.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* The longest long poll, in seconds (wait=). */
#define QD_FEED_WAIT_MAX 30

/* Sequence numbers stay below 2^53: JSON numbers carry them exactly. */
#define QD_FEED_SEQ_MAX 9007199254740991ULL

/* A feed sequence number: 0 or a positive integer without leading zeros,
 * below 2^53 (what JSON numbers carry exactly).  Returns false when s is
 * not one. */
static bool parse_seq(const char *s, size_t n, uint64_t *out)
{
	if (!s || n == 0 || n > 16 || (n > 1 && s[0] == '0'))
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > QD_FEED_SEQ_MAX)
		return false;
	*out = v;
	return true;
}

enum MHD_Result h_feed(struct MHD_Connection *c, request *r)
{
	enum { P_AFTER, P_LIMIT, P_WAIT, P_COUNT };
	param p[P_COUNT] = {[P_AFTER] = {.name = "after"}, [P_LIMIT] = {.name = "limit"},
			    [P_WAIT] = {.name = "wait"}};
	enum MHD_Result res;
	if (!get_params(c, p, P_COUNT, &res))
		return res;
	uint64_t after = 0, limit = 100, wait = 0;
	if (p[P_AFTER].value && !parse_seq(p[P_AFTER].value, p[P_AFTER].len, &after))
		return respond_param_error(c, E_BAD_PARAMETER, NULL, "after: expected a record seq (0, 1, 2, …)");
	if (p[P_LIMIT].value &&
	    (!parse_seq(p[P_LIMIT].value, p[P_LIMIT].len, &limit) || limit < 1 || limit > QD_FEED_PAGE_MAX))
		return respond_param_error(c, E_BAD_PARAMETER, NULL, "limit: expected an integer from 1 to " STR(QD_FEED_PAGE_MAX));
	if (p[P_WAIT].value &&
	    (!parse_seq(p[P_WAIT].value, p[P_WAIT].len, &wait) || wait > QD_FEED_WAIT_MAX))
		return respond_param_error(c, E_BAD_PARAMETER, NULL, "wait: expected seconds from 0 to " STR(QD_FEED_WAIT_MAX));
	qd_feed_page page;
	int err = qd_store_feed_page(r->srv->store, after, (size_t)limit, &page);
	if (err)
		return respond_lib_error(c, err, NULL);
	/* Nothing newer: park the request until there is, or wait runs out.
	 * Once resumed it is answered with what there is then. */
	if (!page.n && wait && !r->feed_resumed && page.head <= after) {
		MHD_suspend_connection(c);
		if (feedwait_park(r->srv->feedwait, c, &r->feed_resumed, after, (unsigned)wait)) {
			qd_feed_page_free(&page);
			return MHD_YES;
		}
		MHD_resume_connection(c);
	}
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_puts(&b, "{\"records\":[");
	for (size_t i = 0; i < page.n; i++) {
		if (i)
			qd_buf_putc(&b, ',');
		qd_feed_rec_json(&b, &page.recs[i]);
	}
	qd_buf_printf(&b, "],\"head\":%llu}", (unsigned long long)page.head);
	qd_feed_page_free(&page);
	if (b.oom) {
		qd_buf_free(&b);
		return respond_lib_error(c, QD_ENOMEM, NULL);
	}
	return respond_json(c, MHD_HTTP_OK, &b);
}

enum MHD_Result h_feed_doc(struct MHD_Connection *c, request *r)
{
	enum MHD_Result res;
	if (!no_params(c, &res))
		return res;
	uint64_t seq;
	if (!parse_seq(r->arg_n, strlen(r->arg_n), &seq) || seq == 0)
		return respond_param_error(c, E_BAD_PARAMETER, NULL, "seq: expected a record seq (1, 2, …) in the path");
	qd_feed_rec rec;
	int err = qd_store_feed_get(r->srv->store, seq, &rec);
	if (err == QD_ENOENT) {
		char msg[80];
		snprintf(msg, sizeof msg, "the feed has no record %llu", (unsigned long long)seq);
		return respond_error(c, E_NOT_FOUND, msg);
	}
	if (err)
		return respond_lib_error(c, err, NULL);
	char list[QD_LIST_ID_MAX + 1];
	snprintf(list, sizeof list, "%s", rec.list);
	uint32_t v = rec.version;
	qd_feed_rec_free(&rec);
	err = 0;
	res = send_version_doc(c, r->srv, list, v, &err);
	if (!err)
		return res;
	char msg[160];
	if (err == QD_EGONE || err == QD_ENOVERSION || err == QD_ENOLIST) {
		snprintf(msg, sizeof msg, "record %llu names version %u of %s, which is no longer retained",
			 (unsigned long long)seq, v, list);
		return respond_error(c, E_GONE, msg);
	}
	return respond_lib_error(c, err, NULL);
}
