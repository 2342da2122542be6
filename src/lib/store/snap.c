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
	free(s->held);
	free(s->hc);
	free(s->hm);
	free(s->hm_slots);
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

/* Hold one record of list i (key k, value d; vl: the version prefix's
 * length) — a clause, or with members a roster member; false: it cannot be
 * held (too many, not what it should be, no memory). */
static bool held_take(qd_snap *s, size_t i, bool members, const MDB_val *k, const MDB_val *d, size_t vl)
{
	held_list *h = &s->held[i];
	const unsigned char *id = (const unsigned char *)k->mv_data + vl;
	size_t idl = k->mv_size - vl;
	if (!members) {
		if (h->n_c == HELD_CLAUSES_MAX || d->mv_size > UINT32_MAX ||
		    !grow_array((void **)&s->hc, &s->cap_hc, s->n_hc + 1, sizeof *s->hc))
			return false;
		s->hc[s->n_hc++] = (held_clause){id, d->mv_data, (uint32_t)idl, (uint32_t)d->mv_size};
		h->n_c++;
		return true;
	}
	if (h->n_m == HELD_MEMBERS_MAX || d->mv_size < MEMBER_REC_LEN ||
	    !grow_array((void **)&s->hm, &s->cap_hm, s->n_hm + 1, sizeof *s->hm))
		return false;
	const unsigned char *p = d->mv_data;
	s->hm[s->n_hm++] = (held_member){id, (uint32_t)idl, (uint32_t)i, held_hash(i, id, idl), p[0],
					 get_i32(p + 4), get_i32(p + 8)};
	h->n_m++;
	return true;
}

/* Read what list i's version holds for the lookup path (see held_list in
 * store_int.h) into s->held[i].  A version with more clauses or members
 * than are held, or a record that is not what it should be, is simply not
 * held: lookups then read the store, which reports what is wrong. */
static int held_read(qd_snap *s, size_t i)
{
	const qd_list_info *li = &s->lists[i];
	held_list *h = &s->held[i];
	*h = (held_list){(uint32_t)s->n_hc, 0, (uint32_t)s->n_hm, 0, false, false};
	unsigned char key[QD_LIST_ID_MAX + 8];
	size_t vl = vprefix(key, li->id, li->version);
	for (int members = 0; members < 2; members++) {
		if (members && li->members > HELD_MEMBERS_MAX)
			break;
		MDB_cursor *cur;
		MDB_val k = {vl, key}, d;
		int rc = mdb_cursor_open(s->txn, members ? s->st->members : s->st->clauses, &cur);
		if (rc)
			return map_err(rc);
		bool all = true;
		for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0 && has_prefix(&k, key, vl);
		     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
			if (!(all = held_take(s, i, members, &k, &d, vl)))
				break;
		mdb_cursor_close(cur);
		if (all && rc != 0 && rc != MDB_NOTFOUND)
			return map_err(rc);
		if (members) {
			h->roster = all;
			if (!all) {
				s->n_hm = h->m_off;
				h->n_m = 0;
			}
		} else {
			h->clauses = all;
			if (!all) {
				s->n_hc = h->c_off;
				h->n_c = 0;
			}
		}
	}
	return 0;
}

/* Index the held members of every list (s->hm_slots); false: no memory
 * (then no roster is held). */
static bool held_index(qd_snap *s)
{
	size_t want = 16;
	while (want < 2 * s->n_hm)
		want *= 2;
	if (want > s->cap_slots) {
		uint32_t *nv = realloc(s->hm_slots, want * sizeof *nv);
		if (!nv)
			return false;
		s->hm_slots = nv;
		s->cap_slots = want;
	}
	memset(s->hm_slots, 0, want * sizeof *s->hm_slots);
	s->hm_mask = want - 1;
	for (size_t j = 0; j < s->n_hm; j++) {
		size_t at = s->hm[j].hash & s->hm_mask;
		while (s->hm_slots[at])
			at = (at + 1) & s->hm_mask;
		s->hm_slots[at] = (uint32_t)j + 1;
	}
	return true;
}

/* What the snapshot holds for list l (one of its lists, or a copy of one:
 * same id and version), or NULL. */
static inline const held_list *held_of(const qd_snap *s, const qd_list_info *l)
{
	if (!s->lists_loaded)
		return NULL;
	uintptr_t a = (uintptr_t)l, b = (uintptr_t)s->lists;
	if (a >= b && a < b + s->nlists * sizeof *s->lists && (a - b) % sizeof *s->lists == 0)
		return &s->held[(a - b) / sizeof *s->lists];
	for (size_t i = 0; i < s->nlists; i++)
		if (s->lists[i].version == l->version && strcmp(s->lists[i].id, l->id) == 0)
			return &s->held[i];
	return NULL;
}

/* The held roster record of entity (el bytes) in the list h is held for. */
static const held_member *held_member_of(const qd_snap *s, const held_list *h, const char *entity, size_t el)
{
	size_t list = (size_t)(h - s->held);
	uint32_t hash = held_hash(list, (const unsigned char *)entity, el);
	for (size_t at = hash & s->hm_mask;; at = (at + 1) & s->hm_mask) {
		uint32_t j = s->hm_slots[at];
		if (!j)
			return NULL;
		const held_member *m = &s->hm[j - 1];
		if (m->hash == hash && m->list == list && m->el == el && memcmp(m->e, entity, el) == 0)
			return m;
	}
}

/* Compare the n bytes at a with the m bytes at b in LMDB's key order. */
static inline int key_cmp(const unsigned char *a, size_t n, const unsigned char *b, size_t m)
{
	int c = memcmp(a, b, n < m ? n : m);
	return c ? c : (n > m) - (n < m);
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
		s->n_hc = s->n_hm = 0;
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
			if (!grow_array((void **)&s->held, &s->cap_held, s->nlists + 1, sizeof *s->held)) {
				ret = QD_ENOMEM;
				break;
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
			if ((ret = list_terms(s, li)) || (ret = held_read(s, s->nlists - 1)))
				break;
		}
		if (!ret && rc != MDB_NOTFOUND)
			ret = map_err(rc);
		mdb_cursor_close(cur);
		if (ret)
			return ret;
		bool indexed = held_index(s);
		uint64_t nc = 0, nm = 0;
		for (size_t i = 0; i < s->nlists; i++) {
			held_list *h = &s->held[i];
			h->roster = h->roster && indexed;
			nc += h->clauses ? h->n_c : 0;
			nm += h->roster ? h->n_m : 0;
		}
		atomic_store_explicit(&s->held_c, nc, memory_order_relaxed);
		atomic_store_explicit(&s->held_m, nm, memory_order_relaxed);
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
			/* The records lie scattered over the map, nearly each on a
			 * page of its own: ask for all of them before decoding the
			 * first, so that their cache and TLB misses overlap instead
			 * of coming one after another. */
			for (uint32_t i = 0; i < e->n_ref; i++) {
				const sc_ref *r = &c->refs[e->ref_off + i];
				__builtin_prefetch(r->d);
				__builtin_prefetch(r->k + r->kid);
			}
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
			/* Most entries name no CIQ code: the tail then starts with its NUL. */
			const unsigned char *z = tl && !t[0] ? t : memchr(t, 0, tl);
			if (!z)
				return QD_EIO;
			size_t cl = (size_t)(z - t);
			if (cl && (cl != qciq || memcmp(t, q->ciq, cl) != 0))
				continue;
			if (cnt == s->capcands && (ret = cands_room(s, cnt + 1)))
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
	const held_list *hl = held_of(s, l);
	bool held = hl && hl->clauses;
	size_t vl = held ? 0 : vprefix(key + 1, l->id, l->version);
	key[0] = SC_CLAUSE;
	snap_cache *sc = &s->cache;
	const char *id = c->clause_ids;
	qd_buf_putc_inline(out, '[');
	for (unsigned i = 0; i < c->n_clauses; i++, id += strlen(id) + 1) {
		size_t il = strlen(id);
		if (i)
			qd_buf_putc_inline(out, ',');
		if (held) {
			const held_clause *hc = s->hc + hl->c_off;
			size_t lo = 0, hi = hl->n_c;
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				int cmp = key_cmp(hc[mid].id, hc[mid].idl, (const unsigned char *)id, il);
				if (cmp == 0) {
					lo = mid;
					break;
				}
				if (cmp < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo >= hl->n_c || key_cmp(hc[lo].id, hc[lo].idl, (const unsigned char *)id, il) != 0)
				return QD_EIO; /* as a read of the store: an entry cites a clause its version lacks */
			qd_buf_add(out, hc[lo].d, hc[lo].dl);
			continue;
		}
		if (vl + il > KEY_MAX + 8)
			return QD_EIO;
		memcpy(key + 1 + vl, id, il);
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
	size_t el = strlen(entity);
	if (el > QD_ENTITY_MAX)
		return QD_ENOENT;
	const held_list *hl = held_of(s, l);
	if (hl && hl->roster) {
		const held_member *m = held_member_of(s, hl, entity, el);
		if (!m)
			return QD_ENOENT;
		out->status = (enum qd_status)m->status;
		out->valid_from = m->from;
		out->valid_to = m->to;
		return 0;
	}
	unsigned char key[1 + KEY_MAX + 8];
	/* key[0] is the cache key's kind; the store's key follows it. */
	size_t vl = vprefix(key + 1, l->id, l->version);
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
