/* qingdan — the expiry watch: which entries and roster members of a list's
 * current version reach the end of their validity within a window of days.
 *
 * It reads every entry and member record of the version once, in one read
 * transaction: an administrative question asked now and then (a page, a
 * metrics scrape the daemon caches per version and day), never on the
 * lookup path, so no index of end dates is kept. */
#include "store_int.h"

void qd_expiring_free(qd_expiring *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].id);
		free(e->v[i].json);
	}
	free(e->v);
	memset(e, 0, sizeof *e);
}

/* Items sort by valid_to, entries before members, then as the keys of
 * their records do (code, CIQ, id): the order a scan of one day's records
 * meets them in, which is what lets the second pass below stop at a quota
 * within the last day it keeps. */
static int item_cmp(const void *a, const void *b)
{
	const qd_expiring_item *x = a, *y = b;
	if (x->valid_to != y->valid_to)
		return x->valid_to < y->valid_to ? -1 : 1;
	if (x->member != y->member)
		return x->member ? 1 : -1;
	int c = strcmp(x->code, y->code);
	if (!c)
		c = strcmp(x->ciq, y->ciq);
	return c ? c : strcmp(x->id, y->id);
}

/* One scan of a version's records.  The first pass counts (out->entries,
 * out->members) and fills hist, a count per day of the window; the second
 * (hist NULL) lists the records ending before cut, and quota of those
 * ending on cut, so that at most QD_EXPIRING_MAX are kept, the earliest. */
typedef struct scan {
	qd_store *st;
	MDB_txn *txn;
	const char *list;
	uint32_t version;
	qd_date today, end;   /* the window: today <= valid_to < end */
	size_t *hist;
	qd_date cut;
	size_t quota;
	qd_expiring *out;
	size_t cap;
} scan;

/* Whether the second pass keeps a record ending on day to. */
static bool scan_keep(scan *sc, qd_date to)
{
	if (to < sc->cut)
		return true;
	if (to > sc->cut || !sc->quota)
		return false;
	sc->quota--;
	return true;
}

/* Room for one more item in out->v, zeroed.  Returns 0 or QD_ENOMEM. */
static int item_add(scan *sc, qd_expiring_item **it)
{
	qd_expiring *out = sc->out;
	if (!grow_array((void **)&out->v, &sc->cap, out->n + 1, sizeof *out->v))
		return QD_ENOMEM;
	*it = &out->v[out->n];
	memset(*it, 0, sizeof **it);
	return 0;
}

/* Copy the NUL-terminated field of key k at *at (advanced past its NUL)
 * into dst (room for max characters).  Returns false when it is malformed. */
static bool key_field(const MDB_val *k, size_t *at, char *dst, size_t max)
{
	const unsigned char *p = k->mv_data;
	size_t i = *at;
	while (i < k->mv_size && p[i] != 0)
		i++;
	if (i == k->mv_size || i - *at > max)
		return false;
	memcpy(dst, p + *at, i - *at);
	dst[i - *at] = '\0';
	*at = i + 1;
	return true;
}

/* Whether a record with this end and status is in the window; the first
 * pass counts it in *count and hist. */
static bool scan_match(scan *sc, qd_date to, enum qd_status status, size_t *count)
{
	if (to < sc->today || to >= sc->end || status == QD_STATUS_REVOKED)
		return false;
	if (sc->hist) {
		(*count)++;
		sc->hist[to - sc->today]++;
		return false;
	}
	return scan_keep(sc, to);
}

static int scan_entries(scan *sc)
{
	unsigned char key[QD_LIST_ID_MAX + 8];
	size_t vl = vprefix(key, sc->list, sc->version);
	MDB_cursor *cur;
	int rc = mdb_cursor_open(sc->txn, sc->st->entries, &cur);
	if (rc)
		return map_err(rc);
	zreader z = {0};
	qd_buf one;
	qd_buf_init(&one);
	int ret = 0;
	MDB_val k = {vl, key}, d;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0 && has_prefix(&k, key, vl);
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		qd_cand c;
		if ((ret = rec_decode(&k, &d, &c, NULL, NULL)))
			break;
		if (!scan_match(sc, c.valid_to, c.status, &sc->out->entries))
			continue;
		qd_expiring_item *it;
		if ((ret = item_add(sc, &it)))
			break;
		size_t at = vl;
		if (!key_field(&k, &at, it->code, QD_CODE_MAX) || !key_field(&k, &at, it->ciq, QD_CIQ_LEN)) {
			ret = QD_EIO;
			break;
		}
		it->status = c.status;
		it->valid_from = c.valid_from;
		it->valid_to = c.valid_to;
		if (!(it->id = strdup(c.id))) {
			ret = QD_ENOMEM;
			break;
		}
		sc->out->n++;
		ret = zr_json(&z, sc->st, sc->txn, sc->list, sc->version, c.entry_json_comp, c.entry_json,
			      c.entry_json_len, &one);
		if (!ret && !(it->json = qd_buf_steal(&one, &it->json_len)))
			ret = QD_ENOMEM;
		if (ret)
			break;
	}
	if (!ret && rc != 0 && rc != MDB_NOTFOUND)
		ret = map_err(rc);
	qd_buf_free(&one);
	zr_free(&z);
	mdb_cursor_close(cur);
	return ret;
}

static int scan_members(scan *sc)
{
	unsigned char key[QD_LIST_ID_MAX + 8];
	size_t vl = vprefix(key, sc->list, sc->version);
	MDB_cursor *cur;
	int rc = mdb_cursor_open(sc->txn, sc->st->members, &cur);
	if (rc)
		return map_err(rc);
	int ret = 0;
	MDB_val k = {vl, key}, d;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0 && has_prefix(&k, key, vl);
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (d.mv_size < MEMBER_REC_LEN || k.mv_size == vl || k.mv_size - vl > QD_ENTITY_MAX) {
			ret = QD_EIO;
			break;
		}
		const unsigned char *p = d.mv_data;
		enum qd_status status = (enum qd_status)p[0];
		qd_date to = get_i32(p + 8);
		if (!scan_match(sc, to, status, &sc->out->members))
			continue;
		qd_expiring_item *it;
		if ((ret = item_add(sc, &it)))
			break;
		it->member = true;
		it->status = status;
		it->valid_from = get_i32(p + 4);
		it->valid_to = to;
		if (!(it->id = strndup((const char *)k.mv_data + vl, k.mv_size - vl))) {
			ret = QD_ENOMEM;
			break;
		}
		sc->out->n++;
	}
	if (!ret && rc != 0 && rc != MDB_NOTFOUND)
		ret = map_err(rc);
	mdb_cursor_close(cur);
	return ret;
}

/* Where the second pass stops: every day before sc->cut whole, and
 * sc->quota records of day sc->cut, QD_EXPIRING_MAX in all at most. */
static void scan_cut(scan *sc, unsigned days)
{
	size_t taken = 0;
	sc->cut = sc->end;
	sc->quota = 0;
	for (unsigned i = 0; i < days; i++) {
		if (taken + sc->hist[i] > QD_EXPIRING_MAX) {
			sc->cut = sc->today + (qd_date)i;
			sc->quota = QD_EXPIRING_MAX - taken;
			sc->out->truncated = true;
			return;
		}
		taken += sc->hist[i];
	}
}

int qd_store_expiring(qd_store *st, const char *list, qd_date today, unsigned days, bool count_only,
		      qd_expiring *out)
{
	memset(out, 0, sizeof *out);
	if (days < 1 || days > QD_EXPIRING_DAYS_MAX || today > QD_DATE_MAX - (qd_date)days)
		return QD_EINVAL;
	scan sc = {.st = st, .list = list, .today = today, .end = today + (qd_date)days, .out = out};
	if (!(sc.hist = calloc(days, sizeof *sc.hist)))
		return QD_ENOMEM;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &sc.txn);
	if (rc) {
		free(sc.hist);
		return map_err(rc);
	}
	qd_list_info li;
	int ret = qd_st_get_list(st, sc.txn, list, &li, NULL, NULL);
	if (!ret) {
		sc.version = li.version;
		ret = scan_entries(&sc);
	}
	if (!ret)
		ret = scan_members(&sc);
	if (!ret && !count_only) {
		scan_cut(&sc, days);
		free(sc.hist);
		sc.hist = NULL;
		ret = scan_entries(&sc);
		if (!ret)
			ret = scan_members(&sc);
	}
	free(sc.hist);
	mdb_txn_abort(sc.txn);
	if (ret) {
		qd_expiring_free(out);
		return ret;
	}
	out->version = li.version;
	if (out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, item_cmp);
	return 0;
}
