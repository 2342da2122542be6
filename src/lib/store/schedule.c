/* qingdan — scheduled versions: a version stored now that takes effect at
 * a later instant.  Its schedule record (the "schedule" database) holds
 * that instant; the list record keeps pointing at the version current
 * when it was written, with LR_NEXT saying when that may change, so a
 * lookup reads nothing more while no scheduled instant has passed
 * (qd_st_list_due() returns at once).  Which version is current at an
 * instant is worked out by qd_st_current_at(). */
#include <time.h>

#include "store_int.h"

int64_t qd_st_now(const qd_store *st)
{
	return st->fixed_now ? st->fixed_now : (int64_t)time(NULL);
}

void qd_store_set_time(qd_store *st, int64_t now)
{
	st->fixed_now = now;
}

int qd_st_sched_get(qd_store *st, MDB_txn *txn, const char *list, uint32_t version, int64_t *eff,
		    unsigned *state)
{
	if (!st->has_schedule)
		return QD_ENOENT;
	unsigned char key[QD_LIST_ID_MAX + 8];
	MDB_val k = {vprefix(key, list, version), key}, d;
	int rc = mdb_get(txn, st->schedule, &k, &d);
	if (rc)
		return rc == MDB_NOTFOUND ? QD_ENOENT : map_err(rc);
	if (d.mv_size != SCHED_REC_LEN)
		return QD_EIO;
	memcpy(eff, d.mv_data, 8);
	*state = ((const unsigned char *)d.mv_data)[8];
	return 0;
}

int qd_st_sched_put(qd_store *st, MDB_txn *txn, const char *list, uint32_t version, int64_t effective_at,
		    unsigned state)
{
	if (!st->has_schedule)
		return QD_EIO;
	unsigned char key[QD_LIST_ID_MAX + 8], rec[SCHED_REC_LEN] = {0};
	memcpy(rec, &effective_at, 8);
	rec[8] = (unsigned char)state;
	MDB_val k = {vprefix(key, list, version), key}, d = {sizeof rec, rec};
	return map_err(mdb_put(txn, st->schedule, &k, &d, 0));
}

int qd_st_current_at(qd_store *st, MDB_txn *txn, const char *list, uint32_t last, uint32_t oldest,
		     bool has_schedule, int64_t at, qd_list_info *out)
{
	bool found = false;
	int64_t best = 0;
	for (uint32_t v = last; v >= oldest && v > 0; v--) {
		qd_list_info vi;
		MDB_val rec;
		int ret = qd_st_get_version(st, txn, list, v, &vi, &rec);
		if (ret == QD_ENOVERSION || ret == QD_EGONE)
			continue;
		if (ret)
			return ret;
		int64_t eff = vi.loaded_at;
		unsigned state = SCHED_PENDING;
		if (has_schedule && (ret = qd_st_sched_get(st, txn, list, v, &eff, &state)) && ret != QD_ENOENT)
			return ret;
		if (state == SCHED_CANCELLED || eff > at)
			continue;
		/* Without schedules versions take effect in the order they
		 * are stored: the newest stored by `at` is the one. */
		if (!has_schedule) {
			*out = vi;
			return 0;
		}
		if (!found || eff > best) {
			*out = vi;
			best = eff;
			found = true;
		}
	}
	if (found)
		return 0;
	/* Older than every retained version: it did not exist yet, unless
	 * versions were pruned, one of which may have been current then. */
	return oldest > 1 ? QD_EGONE : QD_ENOLIST;
}

/* Scan list's pending scheduled versions whose instant is after `after`:
 * the earliest instant into *first, the latest into *last with its version
 * into *last_version (0 and 0 when there is none). */
static int sched_scan(qd_store *st, MDB_txn *txn, const char *list, int64_t after, int64_t *first, int64_t *last,
		      uint32_t *last_version)
{
	*first = *last = 0;
	*last_version = 0;
	if (!st->has_schedule)
		return 0;
	unsigned char key[QD_LIST_ID_MAX + 2];
	size_t n = strlen(list);
	memcpy(key, list, n);
	key[n++] = 0;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->schedule, &cur);
	if (rc)
		return map_err(rc);
	MDB_val k = {n, key}, d;
	int ret = 0;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0 && has_prefix(&k, key, n);
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (d.mv_size != SCHED_REC_LEN || k.mv_size != n + 4) {
			ret = QD_EIO;
			break;
		}
		int64_t eff;
		memcpy(&eff, d.mv_data, 8);
		if (((const unsigned char *)d.mv_data)[8] != SCHED_PENDING || eff <= after)
			continue;
		if (!*first || eff < *first)
			*first = eff;
		if (eff > *last) {
			const unsigned char *v = (const unsigned char *)k.mv_data + n;
			*last = eff;
			*last_version = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
		}
	}
	if (!ret && rc && rc != MDB_NOTFOUND)
		ret = map_err(rc);
	mdb_cursor_close(cur);
	return ret;
}

int qd_st_next_at(qd_store *st, MDB_txn *txn, const char *list, int64_t after, int64_t *out)
{
	int64_t last;
	uint32_t version;
	return sched_scan(st, txn, list, after, out, &last, &version);
}

int qd_st_sched_after(qd_store *st, MDB_txn *txn, const char *list, int64_t after, uint32_t *version,
		      int64_t *eff)
{
	int64_t first;
	return sched_scan(st, txn, list, after, &first, eff, version);
}

int qd_st_list_due(qd_store *st, MDB_txn *txn, qd_list_info *li, uint32_t last, uint32_t oldest, int64_t now,
		   int64_t *until)
{
	if (!li->next_at)
		return 0;
	if (now < li->next_at) {
		if (until && li->next_at < *until)
			*until = li->next_at;
		return 0;
	}
	qd_list_info cur;
	int ret = qd_st_current_at(st, txn, li->id, last, oldest, li->has_schedule, now, &cur);
	if (ret)
		return ret;
	li->version = cur.version;
	li->code_lengths = cur.code_lengths;
	li->entries = cur.entries;
	li->members = cur.members;
	li->loaded_at = cur.loaded_at;
	memcpy(li->sha256, cur.sha256, sizeof li->sha256);
	li->terms = cur.terms;
	int64_t next;
	if ((ret = qd_st_next_at(st, txn, li->id, now, &next)))
		return ret;
	if (until && next && next < *until)
		*until = next;
	return 0;
}

int qd_store_scheduled(qd_store *st, const char *list, int64_t now, qd_sched_item **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	qd_list_info li;
	uint32_t last, oldest;
	int ret = qd_st_get_list(st, txn, list, &li, &last, &oldest);
	size_t cap = 0;
	for (uint32_t v = oldest; !ret && li.has_schedule && v <= last; v++) {
		int64_t eff;
		unsigned state;
		int r = qd_st_sched_get(st, txn, list, v, &eff, &state);
		if (r == QD_ENOENT || (!r && (state != SCHED_PENDING || eff <= now)))
			continue;
		if (r) {
			ret = r;
		} else if (!grow_array((void **)out, &cap, *n + 1, sizeof **out)) {
			ret = QD_ENOMEM;
		} else {
			(*out)[(*n)++] = (qd_sched_item){v, eff};
		}
	}
	mdb_txn_abort(txn);
	if (ret) {
		free(*out);
		*out = NULL;
		*n = 0;
		return ret;
	}
	/* By instant; versions sort by number already, which breaks ties. */
	for (size_t i = 1; i < *n; i++)
		for (size_t j = i; j > 0 && (*out)[j - 1].effective_at > (*out)[j].effective_at; j--) {
			qd_sched_item t = (*out)[j];
			(*out)[j] = (*out)[j - 1];
			(*out)[j - 1] = t;
		}
	return 0;
}

/* Rewrite list's record as of now: the version current now (a scheduled
 * one may have taken effect since it was written) and LR_NEXT the next
 * pending instant after now. */
static int list_next_update(qd_store *st, MDB_txn *txn, const char *list, int64_t now)
{
	MDB_val k = {strlen(list), (void *)list}, d;
	int rc = mdb_get(txn, st->lists, &k, &d);
	if (rc)
		return map_err(rc);
	if (!list_rec_valid(&d) || ((const unsigned char *)d.mv_data)[LR_FMT] != LIST_REC_FMT2)
		return QD_EIO; /* a list with schedules has a record in format 2 */
	qd_list_info li;
	uint32_t last, oldest;
	list_rec_decode(&k, &d, &li, &last, &oldest, false);
	int64_t next;
	int ret = qd_st_list_due(st, txn, &li, last, oldest, now, NULL);
	if (!ret)
		ret = qd_st_next_at(st, txn, list, now, &next);
	if (ret)
		return ret;
	unsigned char *copy = malloc(d.mv_size);
	if (!copy)
		return QD_ENOMEM;
	memcpy(copy, d.mv_data, d.mv_size);
	copy[LR_LENGTHS] = (unsigned char)li.code_lengths;
	copy[LR_LENGTHS + 1] = (unsigned char)(li.code_lengths >> 8);
	put_u32(copy + LR_CURRENT, li.version);
	put_u32(copy + LR_ENTRIES, li.entries);
	put_u32(copy + LR_MEMBERS, li.members);
	memcpy(copy + LR_LOADED, &li.loaded_at, 8);
	memcpy(copy + LR_SHA, li.sha256, 64);
	memcpy(copy + LR_NEXT, &next, 8);
	MDB_val nd = {d.mv_size, copy};
	ret = map_err(mdb_put(txn, st->lists, &k, &nd, 0));
	free(copy);
	return ret;
}

int qd_st_cancel(qd_store *st, MDB_txn *txn, const char *list, uint32_t version, int64_t now, const char *actor,
		 const char *client, const qd_feed_rec *rec, const qd_feed_fields *f)
{
	int64_t eff;
	unsigned state;
	int ret = qd_st_sched_get(st, txn, list, version, &eff, &state);
	if (ret)
		return ret;
	if (state != SCHED_PENDING || (!rec && eff <= now))
		return QD_ENOENT;
	qd_list_info vi;
	MDB_val vrec;
	if ((ret = qd_st_get_version(st, txn, list, version, &vi, &vrec)) ||
	    (ret = qd_st_sched_put(st, txn, list, version, eff, SCHED_CANCELLED)) ||
	    (ret = list_next_update(st, txn, list, now)))
		return ret;
	qd_audit_rec a = {
		.time = now, .actor = actor, .action = "cancel", .list = list, .version = version,
		.sha256 = vi.sha256, .entries = (long)vi.entries, .added = -1, .removed = -1, .changed = -1,
		.status = 200, .outcome = "cancelled", .client = client,
	};
	if ((ret = qd_st_audit_put(st, txn, &a, false)))
		return ret;
	if (rec)
		return qd_st_feed_put_rec(st, txn, rec, f);
	feed_fields ff = {
		.list = list, .action = "cancel", .sha256 = vi.sha256, .actor = actor, .version = version,
		.entries = (long)vi.entries, .committed_at = now, .effective_at = eff,
	};
	return qd_st_feed_put(st, txn, &ff);
}

int qd_store_cancel_scheduled(qd_store *st, const char *list, uint32_t version, const char *actor,
			      const char *client, int64_t now, qd_sched_item **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (st->read_only)
		return QD_EIO;
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc)
		return map_err(rc);
	qd_list_info li;
	uint32_t last, oldest;
	int ret = qd_st_get_list(st, txn, list, &li, &last, &oldest);
	size_t cap = 0;
	for (uint32_t v = version ? version : oldest; !ret && li.has_schedule && v <= (version ? version : last);
	     v++) {
		int64_t eff;
		unsigned state;
		int r = qd_st_sched_get(st, txn, list, v, &eff, &state);
		if (r == QD_ENOENT || (!r && (state != SCHED_PENDING || eff <= now)))
			continue;
		if (!r && !grow_array((void **)out, &cap, *n + 1, sizeof **out))
			r = QD_ENOMEM;
		if (!r && !(r = qd_st_cancel(st, txn, list, v, now, actor, client, NULL, NULL)))
			(*out)[(*n)++] = (qd_sched_item){v, eff};
		ret = r;
	}
	if (!ret && !*n)
		ret = QD_ENOENT;
	if (!ret)
		ret = qd_st_commit(st, txn);
	else
		mdb_txn_abort(txn);
	if (ret) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return ret;
}
