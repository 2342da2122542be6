/* qingdan — the store's environment: opening it and its named databases,
 * list metadata (list and version records), and its size and counts.
 * The layout of the databases is described in store_int.h. */
#include <sys/statvfs.h>

#include "store_int.h"

/* Free space below which an EIO from a commit is taken for a full disk.
 * LMDB writes dirty pages in runs of up to some megabytes; a run cut
 * short by a full filesystem leaves less than one run free. */
#define DISK_FULL_MARGIN ((uint64_t)4 << 20)

void qd_list_infos_free(qd_list_info *infos, size_t n)
{
	if (!infos)
		return;
	for (size_t i = 0; i < n; i++)
		free(infos[i].title);
	free(infos);
}

int qd_st_commit(qd_store *st, MDB_txn *txn)
{
	int rc = mdb_txn_commit(txn);
	if (rc != EIO)
		return map_err(rc);
	const char *dir = NULL;
	struct statvfs fs;
	if (mdb_env_get_path(st->env, &dir) == 0 && dir && statvfs(dir, &fs) == 0 &&
	    (uint64_t)fs.f_bavail * fs.f_frsize < DISK_FULL_MARGIN)
		return QD_ENOSPC;
	return QD_EIO;
}

/* ---- open / close ---- */

void qd_store_opts_default(qd_store_opts *opts)
{
	opts->map_size = QD_MAP_SIZE_DEFAULT;
	opts->max_readers = QD_MAX_READERS_DEFAULT;
	opts->retain = QD_RETAIN_DEFAULT;
	opts->read_only = false;
	opts->compress_min_bytes = Z_MIN_BYTES;
}

int qd_store_open(const char *dir, const qd_store_opts *opts, qd_store **out,
		  char *err, size_t errlen)
{
	qd_store_opts def;
	if (!opts) {
		qd_store_opts_default(&def);
		opts = &def;
	}
	char dummy[1];
	if (!err) {
		err = dummy;
		errlen = sizeof dummy;
	}
	qd_store *st = calloc(1, sizeof *st);
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return QD_ENOMEM;
	}
	st->retain = opts->retain ? opts->retain : 1;
	st->compress_min_bytes = opts->compress_min_bytes;
	st->read_only = opts->read_only;

	int rc = mdb_env_create(&st->env);
	if (rc) {
		snprintf(err, errlen, "cannot create LMDB environment: %s", mdb_strerror(rc));
		free(st);
		return map_err(rc);
	}
	MDB_txn *txn = NULL;
	const char *step = "set up";
	if ((rc = mdb_env_set_maxdbs(st->env, 32)) ||
	    (rc = mdb_env_set_mapsize(st->env, (size_t)opts->map_size)) ||
	    (rc = mdb_env_set_maxreaders(st->env, opts->max_readers)))
		goto fail;
	/* MDB_NOTLS: read transactions belong to snapshot handles, not to
	 * threads, so a handle can be reset and renewed by whichever thread
	 * serves the next request.  Never MDB_NOSYNC: a committed load must
	 * survive a crash. */
	step = "open";
	rc = mdb_env_open(st->env, dir, MDB_NOTLS | (opts->read_only ? MDB_RDONLY : 0), 0640);
	if (rc)
		goto fail;
	int dead = 0;
	mdb_reader_check(st->env, &dead);

	step = "open databases in";
	rc = mdb_txn_begin(st->env, NULL, opts->read_only ? MDB_RDONLY : 0, &txn);
	if (rc)
		goto fail;
	unsigned flags = opts->read_only ? 0 : MDB_CREATE;
	if ((rc = mdb_dbi_open(txn, "lists", flags, &st->lists)) ||
	    (rc = mdb_dbi_open(txn, "versions", flags, &st->versions)) ||
	    (rc = mdb_dbi_open(txn, "entries", flags, &st->entries)) ||
	    (rc = mdb_dbi_open(txn, "members", flags, &st->members)) ||
	    (rc = mdb_dbi_open(txn, "clauses", flags, &st->clauses)) ||
	    (rc = mdb_dbi_open(txn, "audit", flags, &st->audit)))
		goto fail;
	/* A store written before compressed entries has no "dicts" yet. */
	rc = mdb_dbi_open(txn, "dicts", flags, &st->dicts);
	st->has_dicts = rc == 0;
	if (rc == MDB_NOTFOUND && opts->read_only)
		rc = 0;
	if (rc)
		goto fail;
	/* A store written before scheduled versions has no "schedule" yet. */
	rc = mdb_dbi_open(txn, "schedule", flags, &st->schedule);
	st->has_schedule = rc == 0;
	if (rc == MDB_NOTFOUND && opts->read_only)
		rc = 0;
	if (rc)
		goto fail;
	/* A store written before proposals has no "proposals" yet. */
	rc = mdb_dbi_open(txn, "proposals", flags, &st->proposals);
	st->has_proposals = rc == 0;
	if (rc == MDB_NOTFOUND && opts->read_only)
		rc = 0;
	if (rc)
		goto fail;
	/* A store written before attempt records were indexed gets its index
	 * built once, by the first read-write open. */
	rc = mdb_dbi_open(txn, "attempts", 0, &st->attempts);
	if (rc == MDB_NOTFOUND && !opts->read_only) {
		step = "index the audit log's attempt records in";
		if (!(rc = mdb_dbi_open(txn, "attempts", MDB_CREATE, &st->attempts))) {
			st->has_attempts = true;
			if (qd_st_attempts_build(st, txn))
				rc = EIO;
		}
	} else {
		st->has_attempts = rc == 0;
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	if (rc)
		goto fail;
	/* A store written before the feed gets it built once, from its
	 * audit log, by the first read-write open. */
	rc = mdb_dbi_open(txn, "feed", 0, &st->feed);
	if (rc == MDB_NOTFOUND && !opts->read_only) {
		step = "build the feed from the audit log in";
		if (!(rc = mdb_dbi_open(txn, "feed", MDB_CREATE, &st->feed))) {
			st->has_feed = true;
			if (qd_st_feed_build(st, txn))
				rc = EIO;
		}
	} else {
		st->has_feed = rc == 0;
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	if (rc)
		goto fail;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc)
		goto fail;
	*out = st;
	return 0;
fail:
	if (rc == MDB_NOTFOUND && opts->read_only)
		snprintf(err, errlen, "store in %s is not initialised (run qingdanctl init)", dir);
	else
		snprintf(err, errlen, "cannot %s LMDB store in %s: %s", step, dir, mdb_strerror(rc));
	if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(st->env);
	free(st);
	return map_err(rc);
}

void qd_store_close(qd_store *st)
{
	if (!st)
		return;
	mdb_env_close(st->env);
	free(st);
}

/* ---- list metadata ---- */

int qd_store_lists(qd_store *st, qd_list_info **out, size_t *n)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	qd_list_info *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	int ret = 0;
	if ((rc = mdb_cursor_open(txn, st->lists, &cur))) {
		ret = map_err(rc);
		goto out;
	}
	MDB_val k, d;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (!list_rec_valid(&d))
			continue;
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 8;
			qd_list_info *nv = realloc(v, nc * sizeof *nv);
			if (!nv) {
				ret = QD_ENOMEM;
				goto out;
			}
			v = nv;
			cap = nc;
		}
		uint32_t last, oldest;
		list_rec_decode(&k, &d, &v[cnt], &last, &oldest, true);
		cnt++;
		if ((ret = qd_st_list_due(st, txn, &v[cnt - 1], last, oldest, qd_st_now(st), NULL)))
			goto out;
	}
	if (rc != MDB_NOTFOUND)
		ret = map_err(rc);
out:
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (ret) {
		qd_list_infos_free(v, cnt);
		return ret;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int qd_store_list(qd_store *st, const char *id, qd_list_info *out)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	MDB_val k = {strlen(id), (void *)id}, d;
	rc = mdb_get(txn, st->lists, &k, &d);
	if (rc == 0 && !list_rec_valid(&d))
		rc = MDB_NOTFOUND;
	int ret = 0;
	if (rc == 0) {
		uint32_t last, oldest;
		list_rec_decode(&k, &d, out, &last, &oldest, true);
		if ((ret = qd_st_list_due(st, txn, out, last, oldest, qd_st_now(st), NULL))) {
			free(out->title);
			out->title = NULL;
		}
	}
	mdb_txn_abort(txn);
	return ret ? ret : rc == MDB_NOTFOUND ? QD_ENOLIST : map_err(rc);
}

/* ---- list and version records in a transaction ---- */

/* The list record as written (its current version may have been overtaken
 * by a scheduled one since: see qd_st_get_list()). */
static int get_list_raw(qd_store *st, MDB_txn *txn, const char *list, qd_list_info *li, uint32_t *last,
			uint32_t *oldest)
{
	if (strlen(list) > QD_LIST_ID_MAX)
		return QD_ENOLIST;
	MDB_val k = {strlen(list), (void *)list}, d;
	int rc = mdb_get(txn, st->lists, &k, &d);
	if (rc == 0 && !list_rec_valid(&d))
		rc = MDB_NOTFOUND;
	if (rc)
		return rc == MDB_NOTFOUND ? QD_ENOLIST : map_err(rc);
	list_rec_decode(&k, &d, li, last, oldest, false);
	return 0;
}

int qd_st_get_list(qd_store *st, MDB_txn *txn, const char *list, qd_list_info *li,
		   uint32_t *last, uint32_t *oldest)
{
	uint32_t l = 0, o = 0;
	int ret = get_list_raw(st, txn, list, li, &l, &o);
	if (!ret)
		ret = qd_st_list_due(st, txn, li, l, o, qd_st_now(st), NULL);
	if (last)
		*last = l;
	if (oldest)
		*oldest = o;
	return ret;
}

int qd_st_get_version(qd_store *st, MDB_txn *txn, const char *list, uint32_t version,
		      qd_list_info *li, MDB_val *rec)
{
	uint32_t last, oldest;
	/* A version asked by number needs the record as written only (and
	 * the current one is worked out from versions asked by number). */
	int ret = version ? get_list_raw(st, txn, list, li, &last, &oldest)
			  : qd_st_get_list(st, txn, list, li, &last, &oldest);
	if (ret)
		return ret;
	if (version == 0)
		version = li->version;
	if (version > last)
		return QD_ENOVERSION;
	unsigned char key[QD_LIST_ID_MAX + 8];
	MDB_val k = {vprefix(key, list, version), key};
	int rc = mdb_get(txn, st->versions, &k, rec);
	if (rc == MDB_NOTFOUND)
		return version < oldest ? QD_EGONE : QD_ENOVERSION;
	if (rc)
		return map_err(rc);
	if (!version_rec_valid(rec))
		return QD_EIO;
	const unsigned char *p = rec->mv_data;
	li->version = version;
	li->code_lengths = (uint16_t)(p[VR_LENGTHS] | p[VR_LENGTHS + 1] << 8);
	li->entries = get_u32(p + VR_ENTRIES);
	li->members = get_u32(p + VR_MEMBERS);
	memcpy(&li->loaded_at, p + VR_LOADED, 8);
	memcpy(li->sha256, p + VR_SHA, 64);
	li->sha256[64] = '\0';
	return version_rec_terms(rec, &li->terms);
}

/* ---- operations ---- */

int qd_store_stats_get(qd_store *st, qd_store_stats *out)
{
	memset(out, 0, sizeof *out);
	MDB_envinfo ei;
	MDB_stat es;
	int rc = mdb_env_info(st->env, &ei);
	if (!rc)
		rc = mdb_env_stat(st->env, &es);
	if (rc)
		return map_err(rc);
	out->map_size = ei.me_mapsize;
	out->map_used = (uint64_t)(ei.me_last_pgno + 1) * es.ms_psize;
	out->readers_max = ei.me_maxreaders;
	out->readers_used = ei.me_numreaders;
	MDB_txn *txn;
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)))
		return map_err(rc);
	MDB_dbi dbis[] = {st->lists, st->versions, st->entries, st->members, st->audit};
	uint64_t *counts[] = {&out->lists, &out->versions, &out->entries, &out->members, &out->audit};
	for (size_t i = 0; i < 5 && !rc; i++) {
		MDB_stat s;
		rc = mdb_stat(txn, dbis[i], &s);
		if (!rc)
			*counts[i] = s.ms_entries;
	}
	if (!rc && st->has_attempts) {
		MDB_stat s;
		if (!(rc = mdb_stat(txn, st->attempts, &s)))
			out->audit_attempts = s.ms_entries;
	}
	mdb_txn_abort(txn);
	return map_err(rc);
}
