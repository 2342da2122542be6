/* qingdand — decision ids and the decision log. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "decisions.h"
#include "qingdand.h"

void decisions_init(server *srv)
{
	unsigned char rnd[4];
	if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) {
		unsigned t = (unsigned)time(NULL) ^ (unsigned)getpid();
		memcpy(rnd, &t, sizeof rnd);
	}
	snprintf(srv->id_prefix, sizeof srv->id_prefix, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
	atomic_store(&srv->id_seq, 0);
}

size_t next_decision_id(server *srv, char out[40])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t n = atomic_fetch_add(&srv->id_seq, 1);
	/* By hand, not snprintf("%s-%012llx"): this is on every lookup. */
	size_t k = strnlen(srv->id_prefix, sizeof srv->id_prefix - 1);
	memcpy(out, srv->id_prefix, k);
	out[k++] = '-';
	char digits[16];
	size_t nd = 0;
	do {
		digits[nd++] = hex[n & 15];
		n >>= 4;
	} while (n);
	for (size_t i = nd; i < 12; i++)
		out[k++] = '0';
	while (nd)
		out[k++] = digits[--nd];
	out[k] = '\0';
	return k;
}

void decision_lines_init(decision_lines *l)
{
	qd_buf_init(&l->b);
	l->n = 0;
}

void decision_lines_free(decision_lines *l)
{
	qd_buf_free(&l->b);
	l->n = 0;
}

void record_decision(server *srv, decision_lines *l, const char *decision_id, const char *client_ref,
		     const qd_query *q, const qd_outcome *o, const char *ref, size_t ref_len)
{
	metrics_decision(&srv->m, o);
	if (!srv->decision_log)
		return;
	/* Plain appends, no printf: with a decision log this runs for every
	 * decision.  What goes in without qd_buf_json_cstr() (ids, times,
	 * validated list ids and client_refs, reason names, the ref already
	 * rendered as JSON) needs no escaping. */
	char ts[21], date[11];
	qd_time_format((int64_t)time(NULL), ts);
	qd_date_format(q->date, date);
	qd_buf *b = &l->b;
	if (l->n)
		qd_buf_putc(b, '\n');
	qd_buf_puts(b, "{\"time\":\"");
	qd_buf_puts(b, ts);
	qd_buf_puts(b, "\",\"decision_id\":\"");
	qd_buf_puts(b, decision_id);
	qd_buf_putc(b, '"');
	if (client_ref) {
		qd_buf_puts(b, ",\"client_ref\":\"");
		qd_buf_puts(b, client_ref);
		qd_buf_putc(b, '"');
	}
	if (ref) {
		qd_buf_puts(b, ",\"ref\":");
		qd_buf_add(b, ref, ref_len);
	}
	qd_buf_puts(b, ",\"query\":{\"code\":");
	qd_buf_json_cstr(b, q->code.digits);
	qd_buf_puts(b, ",\"ciq\":");
	qd_buf_json_cstr(b, q->code.ciq[0] ? q->code.ciq : NULL);
	qd_buf_puts(b, ",\"entity\":");
	qd_buf_json_cstr(b, q->entity);
	qd_buf_puts(b, ",\"date\":\"");
	qd_buf_puts(b, date);
	qd_buf_puts(b, "\",\"list\":");
	qd_buf_json_cstr(b, q->list);
	if (q->version) {
		qd_buf_puts(b, ",\"version\":");
		qd_buf_put_uint(b, q->version);
	}
	if (q->has_at) {
		char at[21];
		qd_time_format(q->at, at);
		qd_buf_puts(b, ",\"at\":\"");
		qd_buf_puts(b, at);
		qd_buf_putc(b, '"');
	}
	/* The goods and office an answer was given for, when the query
	 * named them: what it decided depends on them. */
	if (q->customs) {
		qd_buf_puts(b, ",\"customs\":\"");
		qd_buf_puts(b, q->customs);
		qd_buf_putc(b, '"');
	}
	if (q->name) {
		qd_buf_puts(b, ",\"name\":");
		qd_buf_json_cstr(b, q->name);
	}
	if (q->spec) {
		qd_buf_puts(b, ",\"spec\":");
		qd_buf_json_cstr(b, q->spec);
	}
	qd_buf_puts(b, "},\"decision\":\"");
	qd_buf_puts(b, o->allow ? "allow" : "deny");
	qd_buf_puts(b, "\",\"reason\":\"");
	qd_buf_puts(b, qd_reason_name(o->reason));
	qd_buf_puts(b, "\",\"lists\":[");
	unsigned n = o->n_lists < QD_OUTCOME_LISTS_MAX ? o->n_lists : QD_OUTCOME_LISTS_MAX;
	for (unsigned i = 0; i < n; i++) {
		qd_buf_puts(b, i ? ",{\"list\":\"" : "{\"list\":\"");
		qd_buf_puts(b, o->lists[i].id);
		qd_buf_puts(b, "\",\"version\":");
		qd_buf_put_uint(b, o->lists[i].version);
		qd_buf_puts(b, ",\"decision\":\"");
		qd_buf_puts(b, o->lists[i].allow ? "allow" : "deny");
		qd_buf_puts(b, "\",\"reason\":\"");
		qd_buf_puts(b, qd_reason_name(o->lists[i].reason));
		qd_buf_puts(b, "\"}");
	}
	qd_buf_puts(b, "]}");
	l->n++;
}

/* Parts of a request's lines queued as one unit at most: a check of many
 * items must not need the whole buffer empty to be taken. */
#define DECISION_PART_MAX (LOGQ_CAP / 4)

bool commit_decisions(server *srv, decision_lines *l)
{
	logq *log = srv->decision_log;
	if (!log || !l->n)
		return true;
	bool lossless = log->mode == LOGQ_LOSSLESS;
	if (l->b.oom) {
		/* The lines could not be built: that is a line not recorded. */
		if (lossless) {
			atomic_fetch_add(&log->refused, 1);
			return false;
		}
		atomic_fetch_add(&log->dropped, l->n);
		return true;
	}
	const char *p = l->b.data, *end = l->b.data + l->b.len;
	bool ok = true;
	while (p < end) {
		const char *cut = end;
		unsigned lines = 0;
		if ((size_t)(end - p) > DECISION_PART_MAX) {
			/* The last newline within the bound, or the first one
			 * past it when a single line is longer. */
			const char *nl = memrchr(p, '\n', DECISION_PART_MAX);
			if (!nl)
				nl = memchr(p + DECISION_PART_MAX, '\n', (size_t)(end - p) - DECISION_PART_MAX);
			if (nl)
				cut = nl;
		}
		for (const char *s = p; s < cut; s++)
			lines += *s == '\n';
		lines++;
		if (!logq_put(log, p, (size_t)(cut - p), lines) && lossless) {
			ok = false;
			break;
		}
		p = cut + 1;
	}
	return ok;
}
