/* qingdan — proposals: list changes stored pending until a second admin
 * approves them (through qd_store_put(), write.c) or rejects them (here).
 *
 * A record is the proposal's fields as JSON followed by the canonical
 * document while it is pending (see store_int.h).  Proposals are few (a
 * handful a week), so listing them reads every record. */
#include <jansson.h>

#include "store_int.h"

#define PROPOSAL_REC_FMT 1
enum { PR_FMT = 0, PR_JSONLEN = 4, PR_JSON = 8 };

static const char *const state_names[] = {"pending", "approved", "rejected", "expired"};

const char *qd_proposal_state_name(enum qd_proposal_state s)
{
	return (unsigned)s < sizeof state_names / sizeof *state_names ? state_names[s] : "pending";
}

void qd_proposal_free(qd_proposal *p)
{
	if (!p)
		return;
	free(p->action);
	free(p->source);
	free(p->proposer);
	free(p->comment);
	free(p->changes);
	free(p->decided_by);
	free(p->decision_comment);
	memset(p, 0, sizeof *p);
}

void qd_proposals_free(qd_proposal *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		qd_proposal_free(&v[i]);
	free(v);
}

/* A string member, or null for NULL. */
static json_t *jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* Build the record of p (with len bytes of document) into b. */
static int prop_encode(const qd_proposal *p, const char *doc, size_t len, qd_buf *b)
{
	json_t *changes = p->changes ? json_loads(p->changes, 0, NULL) : NULL;
	json_t *j = json_pack("{s:s, s:i, s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:o, s:o, "
			      "s:o, s:I, s:i}",
			      "list", p->list, "base_version", (int)p->base_version,
			      "state", qd_proposal_state_name(p->state), "action", p->action ? p->action : "load",
			      "source", jstr_or_null(p->source), "proposer", jstr_or_null(p->proposer),
			      "comment", jstr_or_null(p->comment), "created_at", (json_int_t)p->created_at,
			      "expires_at", (json_int_t)p->expires_at, "effective_at", (json_int_t)p->effective_at,
			      "sha256", p->sha256, "entries", (json_int_t)p->entries, "added", (json_int_t)p->added,
			      "removed", (json_int_t)p->removed, "changed", (json_int_t)p->changed,
			      "changes", json_is_array(changes) ? changes : json_array(),
			      "decided_by", jstr_or_null(p->decided_by),
			      "decision_comment", jstr_or_null(p->decision_comment),
			      "decided_at", (json_int_t)p->decided_at, "version", (int)p->version);
	if (changes && !json_is_array(changes))
		json_decref(changes);
	char *js = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!js)
		return QD_ENOMEM;
	size_t jl = strlen(js);
	unsigned char h[PR_JSON] = {0};
	h[PR_FMT] = PROPOSAL_REC_FMT;
	put_u32(h + PR_JSONLEN, (uint32_t)jl);
	qd_buf_reset(b);
	qd_buf_add(b, h, sizeof h);
	qd_buf_add(b, js, jl);
	if (len)
		qd_buf_add(b, doc, len);
	free(js);
	return b->oom ? QD_ENOMEM : 0;
}

static int64_t jint(json_t *j, const char *key, bool *ok)
{
	json_t *v = json_object_get(j, key);
	if (!json_is_integer(v))
		*ok = false;
	return (int64_t)json_integer_value(v);
}

/* Decode record d of proposal id into out; doc (may be NULL) receives the
 * document's place in d. */
static int prop_decode(uint64_t id, const MDB_val *d, int64_t now, qd_proposal *out, MDB_val *doc)
{
	memset(out, 0, sizeof *out);
	const unsigned char *p = d->mv_data;
	if (d->mv_size < PR_JSON || p[PR_FMT] != PROPOSAL_REC_FMT)
		return QD_EIO;
	uint64_t jl = get_u32(p + PR_JSONLEN);
	if (PR_JSON + jl > d->mv_size)
		return QD_EIO;
	json_t *j = json_loadb((const char *)p + PR_JSON, (size_t)jl, 0, NULL);
	const char *list = json_string_value(json_object_get(j, "list"));
	const char *state = json_string_value(json_object_get(j, "state"));
	const char *sha = json_string_value(json_object_get(j, "sha256"));
	bool ok = j && list && strlen(list) <= QD_LIST_ID_MAX && state && sha && strlen(sha) == 64, mem = true;
	if (ok) {
		out->id = id;
		snprintf(out->list, sizeof out->list, "%s", list);
		memcpy(out->sha256, sha, 65);
		out->state = QD_PROPOSAL_PENDING;
		for (unsigned i = 0; i < sizeof state_names / sizeof *state_names; i++)
			if (strcmp(state, state_names[i]) == 0)
				out->state = (enum qd_proposal_state)i;
		out->base_version = (uint32_t)jint(j, "base_version", &ok);
		out->created_at = jint(j, "created_at", &ok);
		out->expires_at = jint(j, "expires_at", &ok);
		out->effective_at = jint(j, "effective_at", &ok);
		out->entries = (long)jint(j, "entries", &ok);
		out->added = (long)jint(j, "added", &ok);
		out->removed = (long)jint(j, "removed", &ok);
		out->changed = (long)jint(j, "changed", &ok);
		out->decided_at = jint(j, "decided_at", &ok);
		out->version = (uint32_t)jint(j, "version", &ok);
		out->action = qd_st_jstr_dup(j, "action", &mem);
		out->source = qd_st_jstr_dup(j, "source", &mem);
		out->proposer = qd_st_jstr_dup(j, "proposer", &mem);
		out->comment = qd_st_jstr_dup(j, "comment", &mem);
		out->decided_by = qd_st_jstr_dup(j, "decided_by", &mem);
		out->decision_comment = qd_st_jstr_dup(j, "decision_comment", &mem);
		json_t *ch = json_object_get(j, "changes");
		if (json_is_array(ch) && !(out->changes = json_dumps(ch, JSON_COMPACT)))
			mem = false;
	}
	json_decref(j);
	if (!ok || !mem) {
		qd_proposal_free(out);
		return ok ? QD_ENOMEM : QD_EIO;
	}
	if (out->state == QD_PROPOSAL_PENDING && now >= out->expires_at)
		out->state = QD_PROPOSAL_EXPIRED;
	if (doc)
		*doc = (MDB_val){(size_t)(d->mv_size - PR_JSON - jl), (unsigned char *)d->mv_data + PR_JSON + jl};
	return 0;
}

static int prop_put(qd_store *st, MDB_txn *txn, const qd_proposal *p, const char *doc, size_t len)
{
	qd_buf b;
	qd_buf_init(&b);
	int ret = prop_encode(p, doc, len, &b);
	if (!ret) {
		unsigned char key[8];
		be64_put(key, p->id);
		MDB_val k = {8, key}, d = {b.len, b.data};
		ret = map_err(mdb_put(txn, st->proposals, &k, &d, 0));
	}
	qd_buf_free(&b);
	return ret;
}

int qd_st_proposal_read(qd_store *st, MDB_txn *txn, uint64_t id, int64_t now, qd_proposal *out, MDB_val *doc)
{
	memset(out, 0, sizeof *out);
	if (!st->has_proposals)
		return QD_ENOPROPOSAL;
	unsigned char key[8];
	be64_put(key, id);
	MDB_val k = {8, key}, d;
	int rc = mdb_get(txn, st->proposals, &k, &d);
	if (rc)
		return rc == MDB_NOTFOUND ? QD_ENOPROPOSAL : map_err(rc);
	return prop_decode(id, &d, now, out, doc);
}

/* Whether actor may decide proposal p at all: it is pending, not
 * expired, and actor did not propose it. */
static int prop_decidable(const qd_proposal *p, const char *actor)
{
	if (p->state == QD_PROPOSAL_EXPIRED)
		return QD_EEXPIRED;
	if (p->state != QD_PROPOSAL_PENDING)
		return QD_EDECIDED;
	if (p->proposer && actor && strcmp(p->proposer, actor) == 0)
		return QD_ESAMEPERSON;
	return 0;
}

int qd_st_proposal_check(qd_store *st, MDB_txn *txn, uint64_t id, const char *actor, int64_t now,
			 const char *list, uint32_t current, qd_proposal *out)
{
	int ret = qd_st_proposal_read(st, txn, id, now, out, NULL);
	if (!ret)
		ret = prop_decidable(out, actor);
	if (!ret && (strcmp(out->list, list) != 0 || out->base_version != current))
		ret = QD_ECONFLICT;
	return ret;
}

int qd_st_proposal_close(qd_store *st, MDB_txn *txn, qd_proposal *p, enum qd_proposal_state state,
			 const char *actor, const char *comment, int64_t now, uint32_t version)
{
	char *by = actor ? strdup(actor) : NULL, *cm = comment ? strdup(comment) : NULL;
	if ((actor && !by) || (comment && !cm)) {
		free(by);
		free(cm);
		return QD_ENOMEM;
	}
	free(p->decided_by);
	free(p->decision_comment);
	p->decided_by = by;
	p->decision_comment = cm;
	p->state = state;
	p->decided_at = now;
	p->version = version;
	return prop_put(st, txn, p, NULL, 0);
}

/* Drop the documents of pending proposals that have expired by now, and
 * record them as expired. */
static int prop_expire(qd_store *st, MDB_txn *txn, int64_t now)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->proposals, &cur);
	if (rc)
		return map_err(rc);
	int ret = 0;
	uint64_t *ids = NULL;
	size_t n = 0, cap = 0;
	MDB_val k, d;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		qd_proposal p;
		MDB_val doc;
		if (k.mv_size != 8 || prop_decode(be64_read(k.mv_data), &d, now, &p, &doc))
			continue; /* verify reports what does not decode */
		if (p.state == QD_PROPOSAL_EXPIRED && doc.mv_size) {
			if (!grow_array((void **)&ids, &cap, n + 1, sizeof *ids)) {
				ret = QD_ENOMEM;
				qd_proposal_free(&p);
				break;
			}
			ids[n++] = p.id;
		}
		qd_proposal_free(&p);
	}
	mdb_cursor_close(cur);
	if (!ret && rc != MDB_NOTFOUND)
		ret = map_err(rc);
	for (size_t i = 0; i < n && !ret; i++) {
		qd_proposal p;
		if (!(ret = qd_st_proposal_read(st, txn, ids[i], now, &p, NULL)))
			ret = prop_put(st, txn, &p, NULL, 0); /* p.state is expired */
		qd_proposal_free(&p);
	}
	free(ids);
	return ret;
}

int qd_store_proposal_add(qd_store *st, qd_proposal *p, const char *doc, size_t len, const char *client)
{
	if (st->read_only || !st->has_proposals)
		return QD_EIO;
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc)
		return map_err(rc);
	int ret = prop_expire(st, txn, p->created_at);
	MDB_cursor *cur = NULL;
	if (!ret && (rc = mdb_cursor_open(txn, st->proposals, &cur)))
		ret = map_err(rc);
	if (!ret) {
		MDB_val k, d;
		rc = mdb_cursor_get(cur, &k, &d, MDB_LAST);
		p->id = rc == 0 && k.mv_size == 8 ? be64_read(k.mv_data) + 1 : 1;
		if (rc && rc != MDB_NOTFOUND)
			ret = map_err(rc);
		mdb_cursor_close(cur);
	}
	p->state = QD_PROPOSAL_PENDING;
	if (!ret)
		ret = prop_put(st, txn, p, doc, len);
	if (!ret) {
		qd_audit_rec a = {
			.time = p->created_at, .actor = p->proposer, .action = "propose", .list = p->list,
			.version = p->base_version, .sha256 = p->sha256, .entries = p->entries, .added = -1,
			.removed = -1, .changed = -1, .status = 202, .outcome = "proposed", .source = p->source,
			.client = client, .proposal = p->id, .proposer = p->proposer, .comment = p->comment,
		};
		ret = qd_st_audit_put(st, txn, &a, false);
	}
	if (ret) {
		mdb_txn_abort(txn);
		return ret;
	}
	return qd_st_commit(st, txn);
}

int qd_store_proposals(qd_store *st, int64_t now, int state, size_t limit, qd_proposal **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!st->has_proposals)
		return 0;
	if (limit > QD_PROPOSALS_MAX)
		limit = QD_PROPOSALS_MAX;
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	MDB_cursor *cur;
	if ((rc = mdb_cursor_open(txn, st->proposals, &cur))) {
		mdb_txn_abort(txn);
		return map_err(rc);
	}
	int ret = 0;
	size_t cap = 0;
	MDB_val k, d;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_LAST); rc == 0 && *n < limit;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_PREV)) {
		qd_proposal p;
		if (k.mv_size != 8 || (ret = prop_decode(be64_read(k.mv_data), &d, now, &p, NULL)))
			break;
		if (state >= 0 && (int)p.state != state) {
			qd_proposal_free(&p);
			continue;
		}
		if (!grow_array((void **)out, &cap, *n + 1, sizeof **out)) {
			qd_proposal_free(&p);
			ret = QD_ENOMEM;
			break;
		}
		(*out)[(*n)++] = p;
	}
	if (!ret && k.mv_size != 8 && rc == 0)
		ret = QD_EIO;
	if (!ret && rc && rc != MDB_NOTFOUND)
		ret = map_err(rc);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (ret) {
		qd_proposals_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return ret;
}

int qd_store_proposal_get(qd_store *st, uint64_t id, int64_t now, qd_proposal *out, char **doc, size_t *len)
{
	if (doc) {
		*doc = NULL;
		*len = 0;
	}
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	MDB_val d;
	int ret = qd_st_proposal_read(st, txn, id, now, out, &d);
	if (!ret && doc && out->state == QD_PROPOSAL_PENDING && d.mv_size) {
		if (!(*doc = malloc(d.mv_size + 1))) {
			ret = QD_ENOMEM;
			qd_proposal_free(out);
		} else {
			memcpy(*doc, d.mv_data, d.mv_size);
			(*doc)[d.mv_size] = '\0';
			*len = d.mv_size;
		}
	}
	mdb_txn_abort(txn);
	return ret;
}

int qd_store_proposal_reject(qd_store *st, uint64_t id, const char *actor, const char *comment,
			     const char *client, int64_t now, qd_proposal *out)
{
	if (st->read_only)
		return QD_EIO;
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc)
		return map_err(rc);
	qd_proposal p;
	int ret = qd_st_proposal_read(st, txn, id, now, &p, NULL);
	if (!ret && !(ret = prop_decidable(&p, actor)))
		ret = qd_st_proposal_close(st, txn, &p, QD_PROPOSAL_REJECTED, actor, comment, now, 0);
	if (!ret) {
		qd_audit_rec a = {
			.time = now, .actor = actor, .action = "reject", .list = p.list, .sha256 = p.sha256,
			.entries = p.entries, .added = -1, .removed = -1, .changed = -1, .status = 200,
			.outcome = "rejected", .source = p.source, .client = client, .proposal = p.id,
			.proposer = p.proposer, .comment = comment,
		};
		ret = qd_st_audit_put(st, txn, &a, false);
	}
	if (!ret)
		ret = qd_st_commit(st, txn);
	else
		mdb_txn_abort(txn);
	if (!ret && out)
		*out = p;
	else
		qd_proposal_free(&p);
	return ret;
}
