/* qingdan — read snapshots for decisions: a handle's read transaction,
 * the lists at an instant or version, candidate entries for a code (the
 * lookup path, through the read cache), clauses, entry JSON and roster
 * members. */
#include "store_int.h"

qd_snap *qd_snap_new(qd_store *st)
{
	qd_snap *s = calloc(1, sizeof *s);
	if (s) {
		s->st = st;
		s->cache.limit = QD_SNAP_CACHE_DEFAULT;
	}
	return s;
}

qd_buf *qd_snap_scratch(qd_snap *s, unsigned i)
{
	qd_buf *b = &s->scratch[i < QD_SNAP_SCRATCH ? i : 0];
	qd_buf_reset(b);
	return b;
}

int qd_snap_open(qd_snap *s)
{
	if (s->open)
		return 0;
	int rc;
	if (!s->txn) {
		rc = mdb_txn_begin(s->st->env, NULL, MDB_RDONLY, &s->txn);
		if (rc) {
			s->txn = NULL;
			return map_err(rc);
		}
		rc = mdb_cursor_open(s->txn, s->st->entries, &s->cur);
		s->cur_ready = true;
	} else {
		rc = mdb_txn_renew(s->txn);
		s->cur_ready = false;
	}
	if (rc) {
		if (s->cur)
			mdb_cursor_close(s->cur);
		mdb_txn_abort(s->txn);
		s->txn = NULL;
		s->cur = NULL;
		return map_err(rc);
	}
	s->open = true;
	/* The lists read for an earlier transaction still hold when no write
	 * has committed since: a snapshot sees the last committed write. */
	size_t txnid = mdb_txn_id(s->txn);
	if (s->lists_loaded && txnid != s->lists_txnid)
		s->lists_loaded = false;
	/* … and until a scheduled version takes effect: the clock is read
	 * only while one is to come. */
	if (s->lists_loaded && s->lists_until != INT64_MAX && qd_st_now(s->st) >= s->lists_until)
		s->lists_loaded = false;
	/* The cache's map references hold only for the state they were read
	 * at: pages a later write freed may have been reused. */
	if (s->cache.txnid != txnid) {
		qd_st_sc_reset(&s->cache);
		s->cache.txnid = txnid;
	}
	return 0;
}

void qd_snap_close(qd_snap *s)
{
	if (s->open) {
		mdb_txn_reset(s->txn);
		s->open = false;
	}
}

void qd_snap_free(qd_snap *s)
{
	if (!s)
		return;
	if (s->cur)
		mdb_cursor_close(s->cur);
	if (s->txn)
		mdb_txn_abort(s->txn);
	free(s->lists);
	free(s->cands);
	free(s->at_lists);
	for (unsigned i = 0; i < QD_SNAP_SCRATCH; i++)
		qd_buf_free(&s->scratch[i]);
	zr_free(&s->z);
	qd_st_sc_free(&s->cache);
	free(s);
}

/* Fill li->terms from the version record of li's current version. */
static int list_terms(qd_snap *s, qd_list_info *li)
{
	unsigned char key[QD_LIST_ID_MAX + 8];
	MDB_val k = {vprefix(key, li->id, li->version), key}, d;
	int rc = mdb_get(s->txn, s->st->versions, &k, &d);
	if (rc)
		return rc == MDB_NOTFOUND ? QD_EIO : map_err(rc);
	if (!version_rec_valid(&d))
		return QD_EIO;
	return version_rec_terms(&d, &li->terms);
}

int qd_snap_lists(qd_snap *s, const qd_list_info **out, size_t *n)
{
	if (!s->open)
		return QD_EIO;
	if (!s->lists_loaded) {
		MDB_cursor *cur;
		int rc = mdb_cursor_open(s->txn, s->st->lists, &cur);
		if (rc)
			return map_err(rc);
		s->nlists = 0;
		s->lists_until = INT64_MAX;
		int64_t now = 0;
		MDB_val k, d;
		int ret = 0;
		for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
			if (!list_rec_valid(&d))
				continue;
			if (s->nlists == s->caplists) {
				size_t nc = s->caplists ? s->caplists * 2 : 8;
				qd_list_info *nv = realloc(s->lists, nc * sizeof *nv);
				if (!nv) {
					ret = QD_ENOMEM;
					break;
				}
				s->lists = nv;
				s->caplists = nc;
			}
			qd_list_info *li = &s->lists[s->nlists++];
			uint32_t last, oldest;
			list_rec_decode(&k, &d, li, &last, &oldest, false);
			if (li->next_at) {
				if (!now)
					now = qd_st_now(s->st);
				if ((ret = qd_st_list_due(s->st, s->txn, li, last, oldest, now, &s->lists_until)))
					break;
			}
			/* The terms are in the version record: one read per list,
			 * kept with the lists until a write commits. */
			if ((ret = list_terms(s, li)))
				break;
		}
		if (!ret && rc != MDB_NOTFOUND)
			ret = map_err(rc);
		mdb_cursor_close(cur);
		if (ret)
			return ret;
		s->lists_loaded = true;
		s->lists_txnid = mdb_txn_id(s->txn);
	}
	*out = s->lists;
	*n = s->nlists;
	return 0;
}

/* Steps forward tried before a seek: a step within a page costs about a
 * tenth of a seek from the root. */
#define SEEK_STEPS 4

/* Does key sort before the n bytes at p, in LMDB's default order (bytes,
 * then length)? */
static inline bool key_below(const MDB_val *key, const unsigned char *p, size_t n)
{
	size_t m = key->mv_size < n ? key->mv_size : n;
	int c = memcmp(key->mv_data, p, m);
	return c < 0 || (c == 0 && key->mv_size < n);
}

static int cands_room(qd_snap *s, size_t n)
{
	return grow_array((void **)&s->cands, &s->capcands, n, sizeof *s->cands) ? 0 : QD_ENOMEM;
}

int qd_snap_candidates(qd_snap *s, const qd_list_info *l, const qd_code *q,
		       const qd_cand **out, size_t *n)
{
	if (!s->open)
		return QD_EIO;
	unsigned char key[KEY_MAX + 8];
	size_t vl = vprefix(key, l->id, l->version);
	size_t cnt = 0;
	size_t qciq = strlen(q->ciq);
	int ret;

	/* The cache key: kind, list and version, digits, CIQ. */
	snap_cache *c = &s->cache;
	unsigned char ck[1 + KEY_MAX + 8];
	size_t ckl = 0;
	uint32_t h = 0;
	bool keep = c->limit > 0;
	if (keep) {
		ck[0] = SC_CANDS;
		memcpy(ck + 1, key, vl);
		memcpy(ck + 1 + vl, q->digits, q->len);
		ck[1 + vl + q->len] = 0;
		memcpy(ck + 2 + vl + q->len, q->ciq, qciq);
		ckl = 2 + vl + q->len + qciq;
		h = sc_hash(ck, ckl);
		const sc_ent *e = sc_get(c, ck, ckl, h);
		if (e) {
			if ((ret = cands_room(s, e->n_ref)))
				return ret;
			for (uint32_t i = 0; i < e->n_ref; i++) {
				const sc_ref *r = &c->refs[e->ref_off + i];
				MDB_val k = {r->kl, (void *)r->k}, d = {r->dl, (void *)r->d};
				if ((ret = rec_decode(&k, &d, &s->cands[i], NULL, r->k + r->kid)))
					return ret;
			}
			*out = s->cands;
			*n = e->n_ref;
			return 0;
		}
		c->n_pending = 0;
	}

	if (!s->cur_ready) {
		int rc = mdb_cursor_renew(s->txn, s->cur);
		if (rc)
			return map_err(rc);
		s->cur_ready = true;
	}
	/* One range per prefix length: entries at "3822", "382219", … in key
	 * order, since a shorter prefix ends with the NUL ("3822\0…" sorts
	 * before "382219\0…").  So where one range ends the cursor is at the
	 * first key past it, and every key before that sorts before the next
	 * range: when that key is already at or past the next range's start
	 * (as most often, the codes of a list being sparse), or a few steps
	 * get it there, the cursor is where a seek would put it, and the seek
	 * from the root (four levels for 10 000 entries) is saved. */
	MDB_val k, d;
	int rc = 0;
	bool placed = false;  /* the cursor is at k, the first key past the last range (rc: none) */
	for (unsigned len = QD_CODE_MIN; len <= q->len; len++) {
		if (l->code_lengths && !(l->code_lengths & (1u << len)))
			continue;
		memcpy(key + vl, q->digits, len);
		key[vl + len] = 0;
		size_t pl = vl + len + 1;
		if (placed) {
			unsigned step = 0;
			while (rc == 0 && key_below(&k, key, pl) && step++ < SEEK_STEPS)
				rc = mdb_cursor_get(s->cur, &k, &d, MDB_NEXT);
			if (rc == MDB_NOTFOUND)
				break; /* no key at or past this range's start: none in it or any further one */
			if (rc)
				return map_err(rc);
			placed = !key_below(&k, key, pl);
		}
		if (!placed) {
			k = (MDB_val){pl, key};
			rc = mdb_cursor_get(s->cur, &k, &d, MDB_SET_RANGE);
		}
		for (; rc == 0 && has_prefix(&k, key, pl); rc = mdb_cursor_get(s->cur, &k, &d, MDB_NEXT)) {
			/* Key tail after the code: ciq|\0|entry-id. */
			const unsigned char *t = (const unsigned char *)k.mv_data + pl;
			size_t tl = k.mv_size - pl;
			const unsigned char *z = memchr(t, 0, tl);
			if (!z)
				return QD_EIO;
			size_t cl = (size_t)(z - t);
			if (cl && (cl != qciq || memcmp(t, q->ciq, cl) != 0))
				continue;
			if ((ret = cands_room(s, cnt + 1)))
				return ret;
			if ((ret = rec_decode(&k, &d, &s->cands[cnt], NULL, z + 1)))
				return ret;
			cnt++;
			if (keep) {
				keep = grow_array((void **)&c->pending, &c->cap_pending, c->n_pending + 1,
						  sizeof *c->pending);
				/* LMDB keys are at most 511 bytes: offsets fit 16 bits. */
				if (keep)
					c->pending[c->n_pending++] = (sc_ref){
						k.mv_data, d.mv_data, (uint16_t)k.mv_size,
						(uint16_t)(z + 1 - (const unsigned char *)k.mv_data),
						(uint32_t)d.mv_size};
			}
		}
		if (rc != 0 && rc != MDB_NOTFOUND)
			return map_err(rc);
		placed = true;
	}
	if (keep)
		qd_st_sc_add(c, ck, ckl, h, c->pending, c->n_pending);
	*out = s->cands;
	*n = cnt;
	return 0;
}

int qd_snap_list_version(qd_snap *s, const char *list, uint32_t version, qd_list_info *out)
{
	if (!s->open)
		return QD_EIO;
	MDB_val rec;
	return qd_st_get_version(s->st, s->txn, list, version, out, &rec);
}

int qd_snap_list_at(qd_snap *s, const char *list, int64_t at, qd_list_info *out)
{
	if (!s->open)
		return QD_EIO;
	qd_list_info li;
	uint32_t last, oldest;
	int ret = qd_st_get_list(s->st, s->txn, list, &li, &last, &oldest);
	if (ret)
		return ret;
	return qd_st_current_at(s->st, s->txn, list, last, oldest, li.has_schedule, at, out);
}

int qd_snap_lists_at(qd_snap *s, int64_t at, const qd_list_info **out, size_t *n)
{
	const qd_list_info *cur;
	size_t ncur;
	int ret = qd_snap_lists(s, &cur, &ncur);
	if (ret)
		return ret;
	if (ncur > s->cap_at) {
		qd_list_info *nv = realloc(s->at_lists, ncur * sizeof *nv);
		if (!nv)
			return QD_ENOMEM;
		s->at_lists = nv;
		s->cap_at = ncur;
	}
	size_t k = 0;
	for (size_t i = 0; i < ncur; i++) {
		ret = qd_snap_list_at(s, cur[i].id, at, &s->at_lists[k]);
		if (ret == QD_ENOLIST)
			continue; /* the list did not exist yet */
		if (ret)
			return ret;
		k++;
	}
	*out = s->at_lists;
	*n = k;
	return 0;
}

int qd_snap_clauses_json(qd_snap *s, const qd_list_info *l, const qd_cand *c, qd_buf *out)
{
	if (!s->open)
		return QD_EIO;
	/* key[0] is the cache key's kind; the store's key follows it. */
	unsigned char key[1 + KEY_MAX + 8];
	size_t vl = vprefix(key + 1, l->id, l->version);
	key[0] = SC_CLAUSE;
	snap_cache *sc = &s->cache;
	const char *id = c->clause_ids;
	qd_buf_putc_inline(out, '[');
	for (unsigned i = 0; i < c->n_clauses; i++, id += strlen(id) + 1) {
		size_t il = strlen(id);
		if (vl + il > KEY_MAX + 8)
			return QD_EIO;
		memcpy(key + 1 + vl, id, il);
		if (i)
			qd_buf_putc_inline(out, ',');
		/* The deciding entry's clauses, on every lookup that allows:
		 * kept like candidates (not counted as hits or misses, which
		 * say how often a code or an entity was asked again). */
		uint32_t h = 0;
		if (sc->limit) {
			struct sc_slot *sl;
			h = sc_hash(key, 1 + vl + il);
			const sc_ent *e = sc->slots ? sc_find(sc, key, 1 + vl + il, h, &sl) : NULL;
			if (e) {
				const sc_ref *r = &sc->refs[e->ref_off];
				qd_buf_add(out, r->d, r->dl);
				continue;
			}
		}
		MDB_val k = {vl + il, key + 1}, d;
		int rc = mdb_get(s->txn, s->st->clauses, &k, &d);
		if (rc)
			return rc == MDB_NOTFOUND ? QD_EIO : map_err(rc);
		qd_buf_add(out, d.mv_data, d.mv_size);
		if (sc->limit && d.mv_size <= UINT32_MAX) {
			sc_ref r = {NULL, d.mv_data, 0, 0, (uint32_t)d.mv_size};
			qd_st_sc_add(sc, key, 1 + vl + il, h, &r, 1);
		}
	}
	qd_buf_putc_inline(out, ']');
	return out->oom ? QD_ENOMEM : 0;
}

int qd_snap_entry_json(qd_snap *s, const qd_list_info *l, const qd_cand *c, qd_buf *out)
{
	if (!s->open)
		return QD_EIO;
	return zr_json(&s->z, s->st, s->txn, l->id, l->version, c->entry_json_comp, c->entry_json,
		       c->entry_json_len, out);
}

int qd_snap_member(qd_snap *s, const qd_list_info *l, const char *entity, qd_member_rec *out)
{
	if (!s->open)
		return QD_EIO;
	unsigned char key[1 + KEY_MAX + 8];
	/* key[0] is the cache key's kind; the store's key follows it. */
	size_t vl = vprefix(key + 1, l->id, l->version);
	size_t el = strlen(entity);
	if (el > QD_ENTITY_MAX)
		return QD_ENOENT;
	memcpy(key + 1 + vl, entity, el);
	key[0] = SC_MEMBER;
	snap_cache *c = &s->cache;
	uint32_t h = 0;
	if (c->limit) {
		h = sc_hash(key, 1 + vl + el);
		const sc_ent *e = sc_get(c, key, 1 + vl + el, h);
		if (e) {
			if (!e->found)
				return QD_ENOENT;
			out->status = (enum qd_status)e->status;
			out->valid_from = e->from;
			out->valid_to = e->to;
			return 0;
		}
	}
	MDB_val k = {vl + el, key + 1}, d;
	int rc = mdb_get(s->txn, s->st->members, &k, &d);
	if (rc == MDB_NOTFOUND) {
		if (c->limit)
			qd_st_sc_add(c, key, 1 + vl + el, h, NULL, 0); /* found = 0 */
		return QD_ENOENT;
	}
	if (rc)
		return map_err(rc);
	if (d.mv_size < MEMBER_REC_LEN)
		return QD_EIO;
	const unsigned char *p = d.mv_data;
	out->status = (enum qd_status)p[0];
	out->valid_from = get_i32(p + 4);
	out->valid_to = get_i32(p + 8);
	sc_ent *e = c->limit ? qd_st_sc_add(c, key, 1 + vl + el, h, NULL, 0) : NULL;
	if (e) {
		e->found = 1;
		e->status = (uint8_t)out->status;
		e->from = out->valid_from;
		e->to = out->valid_to;
	}
	return 0;
}
