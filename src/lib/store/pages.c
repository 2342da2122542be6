/* qingdan — pages of the audit log and pages of a list's current entries,
 * returned as plain data (callers render them). */
#include <jansson.h>

#include "store_int.h"

/* ---- the audit log ---- */

void qd_audit_page_free(qd_audit_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		qd_audit_rec *r = &p->recs[i];
		const char *s[] = {r->actor,   r->action,  r->list,   r->sha256, r->outcome,
				   r->message, r->source, r->client, r->proposer, r->comment};
		for (size_t k = 0; k < sizeof s / sizeof *s; k++)
			free((char *)s[k]);
	}
	free(p->recs);
	memset(p, 0, sizeof *p);
}

/* An integer member that may be null (-1). */
static long jcount(json_t *o, const char *key, bool *ok)
{
	json_t *v = json_object_get(o, key);
	if (json_is_integer(v))
		return (long)json_integer_value(v);
	if (!json_is_null(v))
		*ok = false;
	return -1;
}

/* Decode the audit record with sequence number id, as qd_st_audit_put()
 * wrote it, into r (strings malloc()ed). */
static int audit_decode(uint64_t id, const MDB_val *d, qd_audit_rec *r)
{
	memset(r, 0, sizeof *r);
	json_t *j = json_loadb(d->mv_data, d->mv_size, 0, NULL);
	const char *ts = json_string_value(json_object_get(j, "time"));
	json_t *jv = json_object_get(j, "version"), *js = json_object_get(j, "status");
	bool ok = j && ts && qd_time_parse(ts, strlen(ts), &r->time) == 0 && json_is_integer(js) &&
		  (json_is_integer(jv) || json_is_null(jv));
	if (!ok) {
		json_decref(j);
		return QD_EIO;
	}
	r->id = id;
	r->version = json_is_integer(jv) ? (uint32_t)json_integer_value(jv) : 0;
	r->status = (unsigned)json_integer_value(js);
	r->entries = jcount(j, "entries", &ok);
	r->added = jcount(j, "added", &ok);
	r->removed = jcount(j, "removed", &ok);
	r->changed = jcount(j, "changed", &ok);
	bool mem = true;
	r->actor = qd_st_jstr_dup(j, "actor", &mem);
	r->action = qd_st_jstr_dup(j, "action", &mem);
	r->list = qd_st_jstr_dup(j, "list", &mem);
	r->sha256 = qd_st_jstr_dup(j, "sha256", &mem);
	r->outcome = qd_st_jstr_dup(j, "outcome", &mem);
	r->message = qd_st_jstr_dup(j, "message", &mem);
	r->source = qd_st_jstr_dup(j, "source", &mem);
	/* Records written before attempts were aggregated have no client,
	 * count or last_time: one attempt, from an unknown address. */
	r->client = qd_st_jstr_dup(j, "client", &mem);
	/* Records of proposals name it, its proposer and a comment. */
	json_t *jp = json_object_get(j, "proposal");
	if (jp && (!json_is_integer(jp) || json_integer_value(jp) < 1))
		ok = false;
	r->proposal = jp ? (uint64_t)json_integer_value(jp) : 0;
	r->proposer = qd_st_jstr_dup(j, "proposer", &mem);
	r->comment = qd_st_jstr_dup(j, "comment", &mem);
	json_t *jc = json_object_get(j, "count");
	r->count = json_is_integer(jc) && json_integer_value(jc) > 0 ? (uint64_t)json_integer_value(jc) : 1;
	const char *lt = json_string_value(json_object_get(j, "last_time"));
	if (lt && qd_time_parse(lt, strlen(lt), &r->last_time) != 0)
		ok = false;
	json_decref(j);
	if (ok && mem)
		return 0;
	qd_audit_page p = {.recs = r, .n = 1};
	qd_audit_page_free(&p);
	return ok ? QD_ENOMEM : QD_EIO;
}

static uint64_t be64_get(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int qd_store_audit_page(qd_store *st, uint64_t before, size_t limit, qd_audit_page *out)
{
	memset(out, 0, sizeof *out);
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	MDB_cursor *cur;
	if ((rc = mdb_cursor_open(txn, st->audit, &cur))) {
		mdb_txn_abort(txn);
		return map_err(rc);
	}
	MDB_val k, d;
	if (before) {
		unsigned char key[8];
		for (int i = 0; i < 8; i++)
			key[i] = (unsigned char)(before >> (56 - 8 * i));
		k = (MDB_val){8, key};
		rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
		/* Positioned at the first key >= before (or past the end):
		 * step back to the newest record older than `before`. */
		rc = rc == 0 ? mdb_cursor_get(cur, &k, &d, MDB_PREV) : mdb_cursor_get(cur, &k, &d, MDB_LAST);
	} else {
		rc = mdb_cursor_get(cur, &k, &d, MDB_LAST);
	}
	size_t cap = 0;
	uint64_t last = 0;
	int ret = 0;
	for (; rc == 0 && out->n < limit; rc = mdb_cursor_get(cur, &k, &d, MDB_PREV)) {
		if (k.mv_size != 8)
			continue;
		last = be64_get(k.mv_data);
		if (!grow_array((void **)&out->recs, &cap, out->n + 1, sizeof *out->recs)) {
			ret = QD_ENOMEM;
			break;
		}
		if ((ret = audit_decode(last, &d, &out->recs[out->n])))
			break;
		out->n++;
	}
	if (!ret && rc == 0 && out->n == limit && last > 1)
		out->next_before = last;
	if (!ret && rc != 0 && rc != MDB_NOTFOUND)
		ret = map_err(rc);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (ret)
		qd_audit_page_free(out);
	return ret;
}

/* ---- entry pages ---- */

static void hex_encode(qd_buf *b, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		qd_buf_putc(b, hex[p[i] >> 4]);
		qd_buf_putc(b, hex[p[i] & 15]);
	}
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void qd_entries_page_free(qd_entries_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].json);
	free(p->v);
	free(p->next);
	memset(p, 0, sizeof *p);
}

int qd_store_entries_page(qd_store *st, const char *list, const char *prefix,
			  const char *cursor, size_t limit, qd_entries_page *out)
{
	memset(out, 0, sizeof *out);
	char **next = &out->next;
	unsigned char key[KEY_MAX + 8];
	size_t pfl = strlen(prefix);
	if (pfl > QD_CODE_MAX || strlen(list) > QD_LIST_ID_MAX)
		return QD_EINVAL;
	size_t seek_len = 0;
	unsigned char seek[KEY_MAX + 8];
	if (cursor) {
		/* A cursor is the hex of the key tail after the version prefix. */
		size_t cl = strlen(cursor);
		if (cl == 0 || cl % 2 || cl / 2 > KEY_MAX - QD_LIST_ID_MAX - 5)
			return QD_EINVAL;
		for (size_t i = 0; i < cl; i += 2) {
			int hi = hex_val(cursor[i]), lo = hex_val(cursor[i + 1]);
			if (hi < 0 || lo < 0)
				return QD_EINVAL;
			seek[seek_len++] = (unsigned char)(hi << 4 | lo);
		}
	}

	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	MDB_cursor *cur = NULL;
	zreader z = {0};
	int ret = 0;
	MDB_val lk = {strlen(list), (void *)list}, ld;
	rc = mdb_get(txn, st->lists, &lk, &ld);
	if (rc || !list_rec_valid(&ld)) {
		ret = rc && rc != MDB_NOTFOUND ? map_err(rc) : QD_ENOLIST;
		goto out;
	}
	qd_list_info li;
	uint32_t last, oldest;
	list_rec_decode(&lk, &ld, &li, &last, &oldest, false);
	if ((ret = qd_st_list_due(st, txn, &li, last, oldest, qd_st_now(st), NULL)))
		goto out;
	size_t vl = vprefix(key, list, li.version);
	memcpy(key + vl, prefix, pfl);
	size_t match_len = vl + pfl;
	MDB_val k, d;
	if (cursor) {
		memcpy(key + vl, seek, seek_len);
		k = (MDB_val){vl + seek_len, key};
	} else {
		k = (MDB_val){match_len, key};
	}
	if ((rc = mdb_cursor_open(txn, st->entries, &cur))) {
		ret = map_err(rc);
		goto out;
	}
	/* has_prefix() compares against `key`, which must hold the match prefix. */
	unsigned char match[KEY_MAX + 8];
	memcpy(match, key, vl);
	memcpy(match + vl, prefix, pfl);
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	if (cursor && rc == 0 && k.mv_size == vl + seek_len && memcmp(k.mv_data, key, k.mv_size) == 0)
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	size_t count = 0, cap = 0;
	const unsigned char *last_key = NULL;
	size_t last_len = 0;
	qd_buf one;
	qd_buf_init(&one);
	for (; rc == 0 && has_prefix(&k, match, match_len); rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (count == limit) {
			qd_buf tmp;
			qd_buf_init(&tmp);
			hex_encode(&tmp, last_key + vl, last_len - vl);
			*next = qd_buf_steal(&tmp, NULL);
			if (!*next)
				ret = QD_ENOMEM;
			break;
		}
		qd_cand c;
		if ((ret = rec_decode(&k, &d, &c, NULL, NULL)))
			break;
		if (!grow_array((void **)&out->v, &cap, count + 1, sizeof *out->v)) {
			ret = QD_ENOMEM;
			break;
		}
		ret = zr_json(&z, st, txn, list, li.version, c.entry_json_comp, c.entry_json,
			      c.entry_json_len, &one);
		if (!ret && !(out->v[count].json = qd_buf_steal(&one, &out->v[count].len)))
			ret = QD_ENOMEM;
		if (ret)
			break;
		out->n = ++count;
		last_key = k.mv_data;
		last_len = k.mv_size;
	}
	qd_buf_free(&one);
	if (!ret && rc != 0 && rc != MDB_NOTFOUND)
		ret = map_err(rc);
out:
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	zr_free(&z);
	if (ret)
		qd_entries_page_free(out);
	return ret;
}
