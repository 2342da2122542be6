/* qingdand — JSON renderings of the store's history, audit and entry data
 * (see render.h).  The bytes are those the API has always answered: the
 * key order below is part of it. */
#include <jansson.h>

#include "qingdan/date.h"
#include "qingdan/err.h"
#include "qingdan/jsonw.h"
#include "render.h"

static int done(const qd_buf *b)
{
	return b->oom ? QD_ENOMEM : 0;
}

static void put_time(qd_buf *b, int64_t t);

/* A string as jansson escapes it (the version history is stored as JSON
 * that jansson wrote), or null. */
static int put_jstr(qd_buf *b, const char *s)
{
	if (!s) {
		qd_buf_puts(b, "null");
		return done(b);
	}
	json_t *j = json_string(s);
	int ret = j ? qd_json_write(b, j, 0) : QD_ENOMEM;
	json_decref(j);
	return ret;
}

int render_versions(qd_buf *b, const char *list, const qd_versions *vs)
{
	qd_buf_puts(b, "{\"list\":");
	qd_buf_json_cstr(b, list);
	qd_buf_printf(b, ",\"current\":%u,\"versions\":[", vs->current);
	int ret = 0;
	for (size_t i = 0; i < vs->n && !ret; i++) {
		const qd_version_info *v = &vs->v[i];
		char ts[21];
		qd_time_format(v->loaded_at, ts);
		qd_buf_printf(b, "%s{\"version\":%u,\"loaded_at\":\"%s\",\"actor\":", i ? "," : "", v->version, ts);
		if ((ret = put_jstr(b, v->actor)))
			break;
		qd_buf_puts(b, ",\"action\":");
		if ((ret = put_jstr(b, v->action)))
			break;
		qd_buf_puts(b, ",\"sha256\":");
		if ((ret = put_jstr(b, v->sha256)))
			break;
		qd_buf_printf(b, ",\"entries\":%u,\"source\":", v->entries);
		if ((ret = put_jstr(b, v->source)))
			break;
		if (v->effective_at) {
			qd_time_format(v->effective_at, ts);
			qd_buf_printf(b, ",\"effective_at\":\"%s\"", ts);
		} else {
			qd_buf_puts(b, ",\"effective_at\":null");
		}
		qd_buf_printf(b, ",\"cancelled\":%s}", v->cancelled ? "true" : "false");
	}
	qd_buf_puts(b, "]}");
	return ret ? ret : done(b);
}

int render_changes(qd_buf *b, const qd_changes *ch)
{
	qd_buf_putc(b, '[');
	for (size_t i = 0; ch && i < ch->n; i++) {
		const qd_change *c = &ch->v[i];
		if (i)
			qd_buf_putc(b, ',');
		qd_buf_puts(b, "{\"id\":");
		qd_buf_json_cstr(b, c->id);
		qd_buf_printf(b, ",\"kind\":\"%s\"", qd_change_kind_name(c->kind));
		if (c->kind == QD_CHANGE_CHANGED) {
			qd_buf_puts(b, ",\"fields\":[");
			for (size_t k = 0; k < c->n_fields; k++) {
				if (k)
					qd_buf_putc(b, ',');
				qd_buf_json_cstr(b, c->fields[k]);
			}
			qd_buf_putc(b, ']');
		}
		qd_buf_putc(b, '}');
	}
	qd_buf_putc(b, ']');
	return done(b);
}

int render_diff(qd_buf *b, const char *list, const qd_diff *d)
{
	qd_buf_puts(b, "{\"list\":");
	qd_buf_json_cstr(b, list);
	qd_buf_printf(b, ",\"from\":%u,\"to\":%u,\"diff\":{\"added\":%zu,\"removed\":%zu,\"changed\":%zu},"
		      "\"changes\":", d->from, d->to, d->added, d->removed, d->changed);
	render_changes(b, &d->changes);
	qd_buf_putc(b, '}');
	return done(b);
}

int render_put_result(qd_buf *b, const char *list, const qd_put_result *res, const char *action,
		      const qd_changes *changes, bool dry)
{
	qd_buf_puts(b, "{\"list\":");
	qd_buf_json_cstr(b, list);
	qd_buf_printf(b, ",\"version\":%u,\"previous\":", res->version);
	if (res->previous)
		qd_buf_printf(b, "%u", res->previous);
	else
		qd_buf_puts(b, "null");
	qd_buf_printf(b, ",\"entries\":%zu,\"diff\":{\"added\":%zu,\"removed\":%zu,\"changed\":%zu},"
		      "\"sha256\":\"%s\",\"action\":\"%s\",\"changes\":",
		      res->entries, res->added, res->removed, res->changed, res->sha256, action);
	render_changes(b, changes);
	if (res->effective_at) {
		qd_buf_puts(b, ",\"effective_at\":");
		put_time(b, res->effective_at);
	}
	if (dry)
		qd_buf_puts(b, ",\"dry_run\":true");
	qd_buf_putc(b, '}');
	return done(b);
}

int render_audit_rec(qd_buf *b, const qd_audit_rec *a)
{
	qd_audit_rec_json(b, a);
	return done(b);
}

int render_audit_page(qd_buf *b, const qd_audit_page *p)
{
	qd_buf_puts(b, "{\"records\":[");
	for (size_t i = 0; i < p->n; i++) {
		if (i)
			qd_buf_putc(b, ',');
		render_audit_rec(b, &p->recs[i]);
	}
	qd_buf_puts(b, "],\"next_before\":");
	if (p->next_before)
		qd_buf_printf(b, "%llu", (unsigned long long)p->next_before);
	else
		qd_buf_puts(b, "null");
	qd_buf_putc(b, '}');
	return done(b);
}

int render_entries_page(qd_buf *b, const char *list, const qd_entries_page *p)
{
	qd_buf_puts(b, "{\"list\":");
	qd_buf_json_cstr(b, list);
	qd_buf_puts(b, ",\"entries\":[");
	for (size_t i = 0; i < p->n; i++) {
		if (i)
			qd_buf_putc(b, ',');
		qd_buf_add(b, p->v[i].json, p->v[i].len);
	}
	qd_buf_puts(b, "],\"next_cursor\":");
	qd_buf_json_cstr(b, p->next);
	qd_buf_putc(b, '}');
	return done(b);
}

static void put_sched_item(qd_buf *b, const qd_sched_item *it)
{
	qd_buf_printf(b, "{\"version\":%u,\"effective_at\":", it->version);
	put_time(b, it->effective_at);
	qd_buf_putc(b, '}');
}

int render_schedule(qd_buf *b, const qd_sched_item *v, size_t n)
{
	qd_buf_puts(b, ",\"scheduled\":");
	if (n)
		put_sched_item(b, &v[0]);
	else
		qd_buf_puts(b, "null");
	qd_buf_puts(b, ",\"schedule\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			qd_buf_putc(b, ',');
		put_sched_item(b, &v[i]);
	}
	qd_buf_putc(b, ']');
	return done(b);
}

void render_list_meta(qd_buf *b, const qd_list_info *l)
{
	char ts[21];
	qd_time_format(l->loaded_at, ts);
	qd_buf_puts(b, "{\"id\":");
	qd_buf_json_cstr(b, l->id);
	qd_buf_printf(b, ",\"kind\":\"%s\",\"title\":%s,\"version\":%u,\"entries\":%u,"
		      "\"loaded_at\":\"%s\",\"sha256\":\"%s\"}",
		      qd_kind_name(l->kind), l->title ? l->title : "null", l->version, l->entries, ts,
		      l->sha256);
}

/* A date, or null for an open end. */
static void put_date(qd_buf *b, qd_date d)
{
	if (d == QD_DATE_MIN || d == QD_DATE_MAX) {
		qd_buf_puts(b, "null");
		return;
	}
	char s[11];
	qd_date_format(d, s);
	qd_buf_printf(b, "\"%s\"", s);
}

int render_expiring(qd_buf *b, const char *list, qd_date today, unsigned within, const qd_expiring *e)
{
	qd_buf_puts(b, "{\"list\":");
	qd_buf_json_cstr(b, list);
	qd_buf_printf(b, ",\"version\":%u,\"today\":", e->version);
	put_date(b, today);
	qd_buf_printf(b, ",\"within\":%u,\"until\":", within);
	put_date(b, today + (qd_date)within - 1);
	qd_buf_printf(b, ",\"entries\":%zu,\"members\":%zu,\"truncated\":%s,\"items\":[", e->entries,
		      e->members, e->truncated ? "true" : "false");
	for (size_t i = 0; i < e->n; i++) {
		const qd_expiring_item *it = &e->v[i];
		qd_buf_printf(b, "%s{\"kind\":\"%s\",\"id\":", i ? "," : "", it->member ? "member" : "entry");
		qd_buf_json_cstr(b, it->id);
		qd_buf_puts(b, ",\"code\":");
		if (it->member)
			qd_buf_puts(b, "null");
		else
			qd_buf_json_cstr(b, it->code);
		qd_buf_puts(b, ",\"ciq\":");
		if (it->ciq[0])
			qd_buf_json_cstr(b, it->ciq);
		else
			qd_buf_puts(b, "null");
		qd_buf_printf(b, ",\"status\":\"%s\",\"valid_from\":", qd_status_name(it->status));
		put_date(b, it->valid_from);
		qd_buf_puts(b, ",\"valid_to\":");
		put_date(b, it->valid_to);
		qd_buf_puts(b, ",\"entry\":");
		if (it->json)
			qd_buf_add(b, it->json, it->json_len);
		else
			qd_buf_puts(b, "null");
		qd_buf_putc(b, '}');
	}
	qd_buf_puts(b, "]}");
	return done(b);
}

/* An instant, or null for 0. */
static void put_time(qd_buf *b, int64_t t)
{
	if (!t) {
		qd_buf_puts(b, "null");
		return;
	}
	char ts[21];
	qd_time_format(t, ts);
	qd_buf_printf(b, "\"%s\"", ts);
}

int render_proposal(qd_buf *b, const qd_proposal *p, bool stale, bool with_changes)
{
	qd_buf_printf(b, "{\"proposal\":%llu,\"list\":", (unsigned long long)p->id);
	qd_buf_json_cstr(b, p->list);
	qd_buf_puts(b, ",\"base_version\":");
	if (p->base_version)
		qd_buf_printf(b, "%u", p->base_version);
	else
		qd_buf_puts(b, "null");
	qd_buf_printf(b, ",\"state\":\"%s\",\"stale\":%s,\"action\":", qd_proposal_state_name(p->state),
		      stale ? "true" : "false");
	int ret = put_jstr(b, p->action);
	const char *names[] = {",\"source\":", ",\"proposer\":", ",\"comment\":"};
	const char *vals[] = {p->source, p->proposer, p->comment};
	for (int i = 0; i < 3 && !ret; i++) {
		qd_buf_puts(b, names[i]);
		ret = put_jstr(b, vals[i]);
	}
	if (ret)
		return ret;
	qd_buf_puts(b, ",\"created_at\":");
	put_time(b, p->created_at);
	qd_buf_puts(b, ",\"expires_at\":");
	put_time(b, p->expires_at);
	qd_buf_puts(b, ",\"effective_at\":");
	put_time(b, p->effective_at);
	qd_buf_printf(b, ",\"sha256\":\"%s\",\"entries\":%ld,\"diff\":{\"added\":%ld,\"removed\":%ld,"
		      "\"changed\":%ld},\"decided_by\":", p->sha256, p->entries, p->added, p->removed, p->changed);
	if ((ret = put_jstr(b, p->decided_by)))
		return ret;
	qd_buf_puts(b, ",\"decided_at\":");
	put_time(b, p->decided_at);
	qd_buf_puts(b, ",\"decision_comment\":");
	if ((ret = put_jstr(b, p->decision_comment)))
		return ret;
	qd_buf_puts(b, ",\"version\":");
	if (p->version)
		qd_buf_printf(b, "%u", p->version);
	else
		qd_buf_puts(b, "null");
	if (with_changes) {
		qd_buf_puts(b, ",\"changes\":");
		qd_buf_puts(b, p->changes ? p->changes : "[]");
	}
	qd_buf_putc(b, '}');
	return done(b);
}
