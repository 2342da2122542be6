/* qingdan — the audit log writer.  Records of stored changes go in with
 * the change (write.c); records of attempts that changed nothing come
 * here, in batches, and are indexed in "attempts" (sequence → time) so
 * that they can be pruned oldest first without reading the log. */
#include <jansson.h>

#include "store_int.h"

/* The record's JSON is what GET /v1/audit shows, and what audit_decode()
 * in pages.c reads back. */
void qd_audit_rec_json(qd_buf *b, const qd_audit_rec *a)
{
	char ts[21];
	qd_time_format(a->time, ts);
	qd_buf_printf(b, "{\"id\":%llu,\"time\":\"%s\",\"actor\":", (unsigned long long)a->id, ts);
	qd_buf_json_cstr(b, a->actor ? a->actor : "anonymous");
	qd_buf_puts(b, ",\"action\":");
	qd_buf_json_cstr(b, a->action);
	qd_buf_puts(b, ",\"list\":");
	qd_buf_json_cstr(b, a->list);
	qd_buf_puts(b, ",\"version\":");
	if (a->version)
		qd_buf_printf(b, "%u", a->version);
	else
		qd_buf_puts(b, "null");
	qd_buf_puts(b, ",\"sha256\":");
	qd_buf_json_cstr(b, a->sha256);
	const long *counts[] = {&a->entries, &a->added, &a->removed, &a->changed};
	const char *names[] = {"entries", "added", "removed", "changed"};
	for (int i = 0; i < 4; i++) {
		if (*counts[i] >= 0)
			qd_buf_printf(b, ",\"%s\":%ld", names[i], *counts[i]);
		else
			qd_buf_printf(b, ",\"%s\":null", names[i]);
	}
	qd_buf_printf(b, ",\"status\":%u,\"outcome\":", a->status);
	qd_buf_json_cstr(b, a->outcome);
	qd_buf_puts(b, ",\"message\":");
	qd_buf_json_cstr(b, a->message);
	qd_buf_puts(b, ",\"source\":");
	qd_buf_json_cstr(b, a->source);
	qd_buf_puts(b, ",\"client\":");
	qd_buf_json_cstr(b, a->client);
	qd_buf_printf(b, ",\"count\":%llu,\"last_time\":",
		      (unsigned long long)(a->count > 1 ? a->count : 1));
	if (a->count > 1) {
		qd_time_format(a->last_time, ts);
		qd_buf_printf(b, "\"%s\"", ts);
	} else {
		qd_buf_puts(b, "null");
	}
	if (a->proposal) {
		qd_buf_printf(b, ",\"proposal\":%llu,\"proposer\":", (unsigned long long)a->proposal);
		qd_buf_json_cstr(b, a->proposer);
		qd_buf_puts(b, ",\"comment\":");
		qd_buf_json_cstr(b, a->comment);
	}
	qd_buf_putc(b, '}');
}

int qd_st_audit_put(qd_store *st, MDB_txn *txn, const qd_audit_rec *a, bool attempt)
{
	/* The key is one past the last: big-endian, so keys sort by age. */
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->audit, &cur);
	if (rc)
		return map_err(rc);
	MDB_val k, d;
	uint64_t seq = 1;
	rc = mdb_cursor_get(cur, &k, &d, MDB_LAST);
	if (rc == 0 && k.mv_size == 8)
		seq = be64_read(k.mv_data) + 1;
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return map_err(rc);
	unsigned char key[8], when[8];
	be64_put(key, seq);
	qd_audit_rec rec = *a;
	rec.id = seq;
	qd_buf b;
	qd_buf_init(&b);
	qd_audit_rec_json(&b, &rec);
	if (b.oom) {
		qd_buf_free(&b);
		return QD_ENOMEM;
	}
	MDB_val kk = {8, key}, dd = {b.len, b.data};
	rc = mdb_put(txn, st->audit, &kk, &dd, 0);
	qd_buf_free(&b);
	if (rc == 0 && attempt && st->has_attempts) {
		be64_put(when, (uint64_t)(a->count > 1 ? a->last_time : a->time));
		MDB_val wv = {8, when};
		rc = mdb_put(txn, st->attempts, &kk, &wv, 0);
	}
	return map_err(rc);
}

/* Remove at most QD_AUDIT_PRUNE_BATCH attempt records in txn, oldest
 * first, while one is older than ret->before or there are more than
 * ret->max_records.  *n receives how many went. */
static int prune_batch(qd_store *st, MDB_txn *txn, const qd_audit_retention *ret, uint64_t *n)
{
	*n = 0;
	if (!ret || (!ret->before && !ret->max_records))
		return 0;
	MDB_stat s;
	int rc = mdb_stat(txn, st->attempts, &s);
	if (rc)
		return map_err(rc);
	uint64_t have = s.ms_entries;
	MDB_cursor *cur;
	if ((rc = mdb_cursor_open(txn, st->attempts, &cur)))
		return map_err(rc);
	MDB_val k, d;
	rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	while (rc == 0 && *n < QD_AUDIT_PRUNE_BATCH) {
		bool over = ret->max_records && have - *n > ret->max_records;
		bool old = ret->before && d.mv_size == 8 && (int64_t)be64_read(d.mv_data) < ret->before;
		if (!over && !old)
			break;
		MDB_val ak = k;
		rc = mdb_del(txn, st->audit, &ak, NULL);
		if (rc && rc != MDB_NOTFOUND)
			break;
		if ((rc = mdb_cursor_del(cur, 0)))
			break;
		(*n)++;
		rc = mdb_cursor_get(cur, &k, &d, MDB_GET_CURRENT);
		if (rc == EINVAL)
			rc = MDB_NOTFOUND; /* deleted the last one */
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : map_err(rc);
}

int qd_store_audit_attempts(qd_store *st, const qd_audit_rec *recs, size_t n,
			    const qd_audit_retention *ret, uint64_t *pruned)
{
	if (pruned)
		*pruned = 0;
	if (st->read_only)
		return QD_EIO;
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc)
		return map_err(rc);
	int err = 0;
	for (size_t i = 0; i < n && !err; i++)
		err = qd_st_audit_put(st, txn, &recs[i], true);
	uint64_t gone = 0;
	if (!err && st->has_attempts)
		err = prune_batch(st, txn, ret, &gone);
	if (err) {
		mdb_txn_abort(txn);
		return err;
	}
	err = qd_st_commit(st, txn);
	if (!err && pruned)
		*pruned = gone;
	return err;
}

int qd_store_audit_append(qd_store *st, const qd_audit_rec *rec)
{
	return qd_store_audit_attempts(st, rec, 1, NULL, NULL);
}

int qd_store_audit_prune(qd_store *st, const qd_audit_retention *ret, uint64_t *pruned)
{
	if (pruned)
		*pruned = 0;
	if (st->read_only || !st->has_attempts)
		return QD_EIO;
	for (;;) {
		MDB_txn *txn;
		int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
		if (rc)
			return map_err(rc);
		uint64_t n;
		int err = prune_batch(st, txn, ret, &n);
		if (err) {
			mdb_txn_abort(txn);
			return err;
		}
		if ((err = qd_st_commit(st, txn)))
			return err;
		if (pruned)
			*pruned += n;
		if (n < QD_AUDIT_PRUNE_BATCH)
			return 0;
	}
}

int qd_st_attempts_build(qd_store *st, MDB_txn *txn)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->audit, &cur);
	if (rc)
		return map_err(rc);
	MDB_val k, d;
	int err = 0;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0 && !err;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		json_t *j = json_loadb(d.mv_data, d.mv_size, 0, NULL);
		const char *outcome = json_string_value(json_object_get(j, "outcome"));
		const char *ts = json_string_value(json_object_get(j, "time"));
		int64_t t = 0;
		/* Only what is known to be an attempt is indexed: a record that
		 * does not decode is kept, as a change would be. */
		if (outcome && strcmp(outcome, "stored") != 0 && ts &&
		    qd_time_parse(ts, strlen(ts), &t) == 0 && k.mv_size == 8) {
			unsigned char when[8];
			be64_put(when, (uint64_t)t);
			MDB_val wv = {8, when}, kk = k;
			err = map_err(mdb_put(txn, st->attempts, &kk, &wv, 0));
		}
		json_decref(j);
	}
	mdb_cursor_close(cur);
	if (err)
		return err;
	return rc == MDB_NOTFOUND ? 0 : map_err(rc);
}
