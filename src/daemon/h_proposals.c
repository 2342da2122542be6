/* qingdand — proposals (four eyes): PUT /v1/lists/{id}?propose=true and
 * POST /v1/lists/{id}/rollback?propose=true make them (propose_and_reply),
 * GET /v1/proposals[/{n}] show them, POST /v1/proposals/{n}/approve and
 * /reject decide them.  The store checks the rules again in the
 * transaction that decides: what is checked here first only gives a
 * clearer answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netinet/in.h>

#include <jansson.h>

#include "qingdan/err.h"
#include "feedwait.h"
#include "handlers.h"
#include "qingdand.h"
#include "render.h"
#include "respond.h"

/* Is pending proposal p stale: has its list moved on from base_version? */
static bool is_stale(server *srv, const qd_proposal *p)
{
	if (p->state != QD_PROPOSAL_PENDING)
		return false;
	qd_list_info l;
	int err = qd_store_list(srv->store, p->list, &l);
	if (err)
		return err == QD_ENOLIST && p->base_version != 0;
	free(l.title);
	return l.version != p->base_version;
}

static enum MHD_Result reply_proposal(struct MHD_Connection *c, request *r, unsigned status, const qd_proposal *p)
{
	qd_buf b;
	qd_buf_init(&b);
	if (render_proposal(&b, p, is_stale(r->srv, p), true)) {
		qd_buf_free(&b);
		return respond_lib_error(c, QD_ENOMEM, NULL);
	}
	return respond_json(c, status, &b);
}

bool proposal_comment(struct MHD_Connection *c, const param *p, bool propose, const char **out,
		      enum MHD_Result *res)
{
	*out = NULL;
	if (!p->value)
		return true;
	const char *why = NULL;
	/* Its length was checked by get_params() (param.max). */
	if (!propose)
		why = "comment: the proposer's comment goes with propose=true";
	for (size_t i = 0; !why && i < p->len;) {
		size_t n = (unsigned char)p->value[i] < 0x80 ? 1
			 : qd_utf8_len((const unsigned char *)p->value + i, p->len - i);
		if (!n)
			why = "comment: not UTF-8 text";
		i += n;
	}
	if (!why) {
		*out = p->value;
		return true;
	}
	*res = respond_param_error(c, E_BAD_PARAMETER, "comment", why);
	return false;
}

enum MHD_Result propose_and_reply(struct MHD_Connection *c, request *r, const qd_listdoc *doc,
				  const char *action, const char *source, const char *comment)
{
	long if_match = parse_if_match(c);
	if (if_match < 0)
		return respond_error(c, E_BAD_HEADER, "If-Match: expected a version number such as \"3\"");
	server *srv = r->srv;
	qd_problems pr;
	qd_problems_init(&pr);
	qd_changes changes = {0};
	char client[INET6_ADDRSTRLEN];
	int64_t now = (int64_t)time(NULL);
	qd_put_opts o = {
		.actor = r->actor, .action = action, .source = source, .client = client_address(c, client),
		.now = now, .if_match = (uint32_t)if_match, .dry_run = true, .changes = &changes,
		.effective_at = r->effective_at,
	};
	qd_put_result pres;
	enum MHD_Result res;
	qd_buf ch;
	qd_buf_init(&ch);
	char *dump = NULL;
	r->audit_action = "propose";
	int err = qd_store_put(srv->store, doc, &o, &pres, &pr);
	if (err) {
		res = respond_put_error(c, err, if_match, doc->list, &pr);
		goto out;
	}
	size_t len = 0;
	if (render_changes(&ch, &changes) || !(dump = qd_listdoc_dump(doc, &len))) {
		res = respond_lib_error(c, QD_ENOMEM, NULL);
		goto out;
	}
	qd_proposal p = {
		.base_version = pres.created ? 0 : pres.previous, .action = (char *)action,
		.source = (char *)source, .proposer = r->actor, .created_at = now,
		.expires_at = now + (int64_t)srv->cfg.proposal_ttl, .entries = (long)pres.entries,
		.added = (long)pres.added, .removed = (long)pres.removed, .changed = (long)pres.changed,
		.changes = ch.data, .effective_at = r->effective_at, .comment = (char *)comment,
	};
	snprintf(p.list, sizeof p.list, "%s", doc->list);
	memcpy(p.sha256, pres.sha256, sizeof p.sha256);
	if ((err = qd_store_proposal_add(srv->store, &p, dump, len, client))) {
		res = respond_lib_error(c, err, NULL);
		goto out;
	}
	r->audited = true; /* the store wrote the record with the proposal */
	fprintf(stderr, "qingdand: proposal %llu: %s of %s (%zu entries, +%zu -%zu ~%zu)\n",
		(unsigned long long)p.id, action, p.list, pres.entries, pres.added, pres.removed, pres.changed);
	res = reply_proposal(c, r, MHD_HTTP_ACCEPTED, &p);
out:
	free(dump);
	qd_buf_free(&ch);
	qd_changes_free(&changes);
	qd_problems_free(&pr);
	return res;
}

enum MHD_Result h_proposals(struct MHD_Connection *c, request *r)
{
	enum { P_STATE, P_LIMIT, P_COUNT };
	param p[P_COUNT] = {[P_STATE] = {.name = "state"}, [P_LIMIT] = {.name = "limit"}};
	enum MHD_Result res;
	if (!get_params(c, p, P_COUNT, &res))
		return res;
	int state = -1;
	if (p[P_STATE].value) {
		for (int s = QD_PROPOSAL_PENDING; s <= QD_PROPOSAL_EXPIRED; s++)
			if (strcmp(p[P_STATE].value, qd_proposal_state_name((enum qd_proposal_state)s)) == 0)
				state = s;
		if (state < 0)
			return respond_param_error(c, E_BAD_PARAMETER, NULL,
						   "state: expected pending, approved, rejected or expired");
	}
	size_t limit = 100;
	if (p[P_LIMIT].value) {
		uint32_t v = parse_version(p[P_LIMIT].value, p[P_LIMIT].len);
		if (!v || v > QD_PROPOSALS_MAX)
			return respond_param_error(c, E_BAD_PARAMETER, NULL, "limit: expected an integer from 1 to 1000");
		limit = v;
	}
	qd_proposal *v;
	size_t n;
	int err = qd_store_proposals(r->srv->store, (int64_t)time(NULL), state, limit, &v, &n);
	if (err)
		return respond_lib_error(c, err, NULL);
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_puts(&b, "{\"proposals\":[");
	for (size_t i = 0; i < n && !err; i++) {
		if (i)
			qd_buf_putc(&b, ',');
		err = render_proposal(&b, &v[i], is_stale(r->srv, &v[i]), false);
	}
	qd_buf_puts(&b, "]}");
	qd_proposals_free(v, n);
	if (err || b.oom) {
		qd_buf_free(&b);
		return respond_lib_error(c, QD_ENOMEM, NULL);
	}
	return respond_json(c, MHD_HTTP_OK, &b);
}

/* The proposal number of the path, or 0 (answered 404) when it is none. */
static uint64_t proposal_id(struct MHD_Connection *c, request *r, enum MHD_Result *res)
{
	uint64_t id = parse_version(r->arg_n, strlen(r->arg_n));
	if (!id) {
		char msg[96];
		snprintf(msg, sizeof msg, "no proposal %.16s: proposals are numbered 1, 2, 3 …", r->arg_n);
		*res = respond_error(c, E_PROPOSAL_NOT_FOUND, msg);
	}
	return id;
}

/* Answer a library error about proposal p (or id when p is NULL). */
static enum MHD_Result proposal_error(struct MHD_Connection *c, int err, uint64_t id, const qd_proposal *p)
{
	char msg[320];
	const char *m = NULL;
	if (err == QD_ENOPROPOSAL) {
		snprintf(msg, sizeof msg, "no proposal %llu", (unsigned long long)id);
		m = msg;
	} else if (err == QD_EEXPIRED && p) {
		char ts[21];
		qd_time_format(p->expires_at, ts);
		snprintf(msg, sizeof msg, "proposal %llu expired at %s (--proposal-ttl); nothing was changed: "
			 "propose the change again", (unsigned long long)id, ts);
		m = msg;
	} else if (err == QD_EDECIDED && p) {
		snprintf(msg, sizeof msg, "proposal %llu was %s by %s already; nothing was changed",
			 (unsigned long long)id, qd_proposal_state_name(p->state), p->decided_by ? p->decided_by : "?");
		m = msg;
	} else if (err == QD_ESAMEPERSON && p) {
		snprintf(msg, sizeof msg, "proposal %llu was made by %s: another admin approves or rejects it; "
			 "nothing was changed", (unsigned long long)id, p->proposer ? p->proposer : "?");
		m = msg;
	}
	return respond_lib_error(c, err, m);
}

enum MHD_Result h_proposal_get(struct MHD_Connection *c, request *r)
{
	enum MHD_Result res;
	if (!no_params(c, &res))
		return res;
	uint64_t id = proposal_id(c, r, &res);
	if (!id)
		return res;
	qd_proposal p;
	int err = qd_store_proposal_get(r->srv->store, id, (int64_t)time(NULL), &p, NULL, NULL);
	if (err)
		return proposal_error(c, err, id, NULL);
	res = reply_proposal(c, r, MHD_HTTP_OK, &p);
	qd_proposal_free(&p);
	return res;
}

/* The optional body of approve and reject: none, or {"comment": "…"}
 * (a string of at most QD_COMMENT_MAX bytes, or null).  *body keeps the
 * comment's memory: json_decref() it. */
static bool decision_body(struct MHD_Connection *c, request *r, json_t **body, const char **comment,
			  enum MHD_Result *res)
{
	*body = NULL;
	*comment = NULL;
	bool approve = strcmp(r->route->action, "approve") == 0;
	if (!r->body.len)
		return true;
	if (!parse_json_body(c, r, body, res))
		return false;
	const char *bad = NULL, *path = "";
	if (!json_is_object(*body)) {
		bad = "the body must be an object: {\"comment\": \"…\"}";
	} else {
		const char *key;
		json_t *v;
		json_object_foreach(*body, key, v) {
			if (approve && strcmp(key, "effective_at") == 0) {
				if (!json_is_string(v) ||
				    (bad = check_effective_at(json_string_value(v), json_string_length(v), &r->effective_at)))
					bad = bad ? bad : "effective_at: expected an RFC 3339 date-time";
				if (bad) {
					path = key;
					break;
				}
				continue;
			}
			if (strcmp(key, "comment") != 0) {
				bad = approve ? "unknown member: the body may hold \"comment\" and \"effective_at\" only"
					      : "unknown member: the body may hold \"comment\" only";
				path = key;
				break;
			}
			if (json_is_string(v) && json_string_length(v) <= QD_COMMENT_MAX)
				*comment = json_string_value(v);
			else if (!json_is_null(v)) {
				bad = "comment: expected a string of at most 1000 bytes, or null";
				path = "comment";
			}
		}
	}
	if (!bad)
		return true;
	char ptr[80];
	snprintf(ptr, sizeof ptr, "%s%.64s", *path ? "/" : "", path);
	qd_problems pr;
	qd_problems_init(&pr);
	qd_problems_add(&pr, ptr, "%s", bad);
	*res = respond_problems(c, E_BAD_BODY, bad, &pr);
	qd_problems_free(&pr);
	json_decref(*body);
	*body = NULL;
	return false;
}

/* What approve and reject start with: no query, the proposal's number
 * and the body.  Returns 0 (answered: *res) or the number. */
static uint64_t decision_start(struct MHD_Connection *c, request *r, json_t **body, const char **comment,
			       enum MHD_Result *res)
{
	if (!no_params(c, res))
		return 0;
	uint64_t id = proposal_id(c, r, res);
	return id && decision_body(c, r, body, comment, res) ? id : 0;
}

enum MHD_Result h_proposal_approve(struct MHD_Connection *c, request *r)
{
	enum MHD_Result res;
	json_t *body;
	const char *comment;
	uint64_t id = decision_start(c, r, &body, &comment, &res);
	if (!id)
		return res;
	server *srv = r->srv;
	int64_t now = (int64_t)time(NULL);
	qd_proposal p;
	char *text = NULL;
	size_t len = 0;
	qd_listdoc *doc = NULL;
	qd_problems pr;
	qd_problems_init(&pr);
	int err = qd_store_proposal_get(srv->store, id, now, &p, &text, &len);
	if (err) {
		res = proposal_error(c, err, id, NULL);
		goto out_body;
	}
	snprintf(r->list_id, sizeof r->list_id, "%s", p.list); /* for the audit of a refusal */
	err = p.state == QD_PROPOSAL_EXPIRED	? QD_EEXPIRED
	      : p.state != QD_PROPOSAL_PENDING ? QD_EDECIDED
	      : strcmp(p.proposer ? p.proposer : "", r->actor) == 0 ? QD_ESAMEPERSON : 0;
	if (err || !text) {
		res = proposal_error(c, err ? err : QD_EIO, id, &p);
		goto out;
	}
	/* The canonical bytes of a document that passed: parsing them again
	 * rebuilds what the store takes. */
	if ((err = qd_listdoc_parse(text, len, p.list, &doc, &pr))) {
		res = respond_lib_error(c, QD_EIO, "the proposal's document no longer reads back");
		goto out;
	}
	char client[INET6_ADDRSTRLEN];
	/* The approver's instant, else the proposer's (at once when it has
	 * passed meanwhile). */
	qd_put_opts o = {
		.actor = r->actor, .action = "approve", .source = p.source, .client = client_address(c, client),
		.now = now, .proposal = id, .comment = comment,
		.effective_at = r->effective_at ? r->effective_at : p.effective_at,
	};
	qd_put_result pres;
	err = qd_store_put(srv->store, doc, &o, &pres, &pr);
	if (err == QD_ECONFLICT) {
		qd_list_info l = {0};
		bool exists = qd_store_list(srv->store, p.list, &l) == 0;
		free(l.title);
		char msg[320], base[16] = "none (new list)";
		if (p.base_version)
			snprintf(base, sizeof base, "%u", p.base_version);
		snprintf(msg, sizeof msg, "list %s is at version %u now, proposal %llu was made against version %s: "
			 "nothing was changed; the proposal stays pending and is stale: propose the change again",
			 p.list, exists ? l.version : 0, (unsigned long long)id, base);
		res = respond_error(c, E_PRECONDITION_FAILED, msg);
		goto out;
	}
	if (err) {
		res = err == QD_EINVAL || err == QD_ESCHEDULE ? respond_put_error(c, err, 0, p.list, &pr)
							      : proposal_error(c, err, id, &p);
		goto out;
	}
	r->audited = true; /* with the version, in its transaction */
	feedwait_notify(srv->feedwait);
	fprintf(stderr, "qingdand: proposal %llu approved: %s version %u (%zu entries)\n", (unsigned long long)id,
		p.list, pres.version, pres.entries);
	qd_proposal_free(&p);
	if ((err = qd_store_proposal_get(srv->store, id, now, &p, NULL, NULL))) {
		res = respond_lib_error(c, err, NULL);
		goto out_body;
	}
	res = reply_proposal(c, r, pres.created ? MHD_HTTP_CREATED : MHD_HTTP_OK, &p);
out:
	qd_proposal_free(&p);
out_body:
	qd_listdoc_free(doc);
	free(text);
	qd_problems_free(&pr);
	json_decref(body);
	return res;
}

enum MHD_Result h_proposal_reject(struct MHD_Connection *c, request *r)
{
	enum MHD_Result res;
	json_t *body;
	const char *comment;
	uint64_t id = decision_start(c, r, &body, &comment, &res);
	if (!id)
		return res;
	int64_t now = (int64_t)time(NULL);
	char client[INET6_ADDRSTRLEN];
	qd_proposal p;
	int err = qd_store_proposal_reject(r->srv->store, id, r->actor, comment, client_address(c, client), now, &p);
	if (err) {
		/* Read it for a message that says why (and for the audit's list). */
		qd_proposal q;
		bool known = qd_store_proposal_get(r->srv->store, id, now, &q, NULL, NULL) == 0;
		if (known)
			snprintf(r->list_id, sizeof r->list_id, "%s", q.list);
		res = proposal_error(c, err, id, known ? &q : NULL);
		if (known)
			qd_proposal_free(&q);
	} else {
		r->audited = true;
		res = reply_proposal(c, r, MHD_HTTP_OK, &p);
		qd_proposal_free(&p);
	}
	json_decref(body);
	return res;
}
