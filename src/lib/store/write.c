/* qingdan — writing the store: qd_store_put() (render, check, diff and
 * write a whole version, prune, move the list's pointer and log it, all in
 * one write transaction). */
#include <jansson.h>

#include "qingdan/mem.h"
#include "store_int.h"

static int delete_prefix(MDB_txn *txn, MDB_dbi dbi, const unsigned char *pfx, size_t pl)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		return rc;
	MDB_val k = {pl, (void *)pfx}, d;
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && has_prefix(&k, pfx, pl)) {
		if ((rc = mdb_cursor_del(cur, 0)))
			break;
		rc = mdb_cursor_get(cur, &k, &d, MDB_GET_CURRENT);
		if (rc == EINVAL)
			rc = MDB_NOTFOUND; /* deleted the last item of the database */
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static size_t gcd(size_t a, size_t b)
{
	while (b) {
		size_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}


/* ---- qd_store_put(): one write transaction, in steps ---- */

/* What the steps of one qd_store_put() share.  Every step runs inside the
 * one write transaction txn; nothing is visible to readers before the
 * commit at the end. */
typedef struct put_ctx {
	qd_store *st;
	const qd_listdoc *doc;
	const qd_put_opts *o;
	qd_put_result *res;
	qd_problems *problems;
	rendered r;          /* the document's records, rendered before txn begins */
	compress_job z;      /* r's compressed entries, made beside the checks */
	qd_buf rec;          /* the record being written */
	MDB_txn *txn;
	MDB_val lk;          /* the list's key in "lists" */
	qd_list_info prev;   /* the list record before the change (unless res->created) */
	uint32_t last, oldest; /* the list's newest and oldest retained versions */
	qd_feed_fields af;   /* when o->applying: its members */
	qd_proposal prop;    /* when o->proposal: the proposal approved */
	int64_t effective_at; /* a scheduled version: when it takes effect; else 0 */
	unsigned char *old_rec; /* a copy of the list record before the change (NULL: none) */
	size_t old_len;
	unsigned char key[KEY_MAX + 8];
} put_ctx;

/* Render the document's records and its canonical digest (before the
 * write transaction, which then stays short). */
static int put_render(put_ctx *p)
{
	int ret = qd_st_render_doc(p->doc, &p->r);
	if (ret)
		return ret;
	/* Readers refuse to inflate an entry past QD_ENTRY_JSON_MAX: a longer
	 * one, once stored compressed, would make every read of the version
	 * fail.  Refused whether or not this version is compressed, so that a
	 * document is accepted or not whatever its neighbours' sizes. */
	for (size_t i = 0; i < p->doc->n_entries; i++) {
		if (p->doc->entries[i].json_len > QD_ENTRY_JSON_MAX) {
			char path[40];
			snprintf(path, sizeof path, "/entries/%zu", i);
			qd_problems_add(p->problems, path,
					"entry \"%s\" renders to %zu bytes of JSON; at most %u allowed",
					p->doc->entries[i].id, p->doc->entries[i].json_len, QD_ENTRY_JSON_MAX);
			ret = QD_EINVAL;
		}
	}
	if (ret)
		return ret;
	/* A version to be written has its entries compressed (when big) on
	 * another thread while the digest is taken and the write checked. */
	if (!p->o->dry_run)
		qd_st_compress_begin(&p->z, p->doc, &p->r, p->st->compress_min_bytes);
	/* The digest of the canonical bytes, taken piece by piece: the dump
	 * is never held whole. */
	return qd_listdoc_sha256(p->doc, p->res->sha256);
}

/* Read the list record and check the preconditions: If-Match, and a kind
 * that does not change between versions. */
static int put_check(put_ctx *p)
{
	const qd_listdoc *doc = p->doc;
	qd_put_result *res = p->res;
	MDB_val ld;
	p->lk = (MDB_val){strlen(doc->list), (void *)doc->list};
	p->last = 0;
	p->oldest = 1;
	int rc = mdb_get(p->txn, p->st->lists, &p->lk, &ld);
	if (rc == 0 && list_rec_valid(&ld)) {
		list_rec_decode(&p->lk, &ld, &p->prev, &p->last, &p->oldest, false);
		if (!(p->old_rec = malloc(ld.mv_size)))
			return QD_ENOMEM;
		memcpy(p->old_rec, ld.mv_data, ld.mv_size);
		p->old_len = ld.mv_size;
		/* The version current now, which a scheduled one may have
		 * become since the record was written. */
		int ret = qd_st_list_due(p->st, p->txn, &p->prev, p->last, p->oldest, p->o->now, NULL);
		if (ret)
			return ret;
		res->previous = p->prev.version;
	} else if (rc == 0 || rc == MDB_NOTFOUND) {
		res->created = true;
	} else {
		return map_err(rc);
	}
	int64_t eff = p->o->applying ? (p->af.effective_at > p->af.committed_at ? p->af.effective_at : 0)
				     : p->o->effective_at > p->o->now ? p->o->effective_at : 0;
	if (eff && res->created) {
		qd_problems_add(p->problems, "/effective_at", "a new list takes effect when it is stored: "
				"load it first, then schedule its later versions");
		return QD_EINVAL;
	}
	p->effective_at = res->effective_at = eff;
	/* A version already scheduled for a later instant would take over
	 * from this one then: whoever schedules out of order means the
	 * later one to go, and says so by cancelling it. */
	if (eff && !p->o->applying) {
		uint32_t later;
		int64_t later_at;
		int ret = qd_st_sched_after(p->st, p->txn, doc->list, eff, &later, &later_at);
		if (ret)
			return ret;
		if (later) {
			char a[21], b[21];
			qd_time_format(later_at, a);
			qd_time_format(eff, b);
			qd_problems_add(p->problems, "/effective_at",
					"version %u of %s is scheduled for %s, after %s: it would take over from "
					"this version then; cancel it first, or schedule this one at or after it",
					later, doc->list, a, b);
			return QD_ESCHEDULE;
		}
	}
	if (p->o->proposal) {
		int ret = qd_st_proposal_check(p->st, p->txn, p->o->proposal, p->o->actor, p->o->now, doc->list,
					       res->created ? 0 : res->previous, &p->prop);
		if (ret)
			return ret;
		if (strcmp(p->prop.sha256, res->sha256) != 0)
			return QD_EIO; /* the stored document is not the one proposed */
	}
	if (p->o->if_match && p->o->if_match != res->previous)
		return QD_ECONFLICT;
	if (p->o->applying && p->af.version <= p->last) {
		qd_problems_add(p->problems, "/version",
				"the feed record names version %u of %s, but this store has version %u already",
				p->af.version, doc->list, p->last);
		return QD_EINVAL;
	}
	if (!res->created && p->prev.kind != doc->kind) {
		qd_problems_add(p->problems, "/kind", "kind cannot change from \"%s\" to \"%s\"; "
				"a list keeps its kind across versions",
				qd_kind_name(p->prev.kind), qd_kind_name(doc->kind));
		return QD_EINVAL;
	}
	res->version = p->o->applying ? p->af.version : p->last + 1;
	return 0;
}

/* The entries that differ between the previous version and the document,
 * as kv arrays each side: an old entry whose key no new entry has or whose
 * JSON differs, a new entry likewise.  Both sides are walked in key order
 * (the old version's cursor, the document through r.order), so the entries
 * that stay the same — most of them, usually — are compared where they
 * are, neither sorted nor kept; an old entry's JSON is kept (in vr->json,
 * at off) only when it differs. */
typedef struct diff_sides {
	kv *old, *neu;
	size_t nold, nneu;
	size_t capold, capneu;
} diff_sides;

/* Room for n kv on a side.  Sized ahead from the entry counts (and then
 * committed at once: it will be filled), a side is seldom grown, and
 * copied, later; when it is, only what it fills is faulted in. */
static int diff_reserve(kv **v, size_t *cap, size_t n, bool commit)
{
	kv *nv = realloc(*v, (n ? n : 1) * sizeof *nv);
	if (!nv)
		return QD_ENOMEM;
	if (commit && n > *cap)
		qd_mem_populate(nv + *cap, (n - *cap) * sizeof *nv);
	*v = nv;
	*cap = n ? n : 1;
	return 0;
}

static int diff_push(kv **v, size_t *n, size_t *cap, kv e)
{
	int rc;
	if (*n == *cap && (rc = diff_reserve(v, cap, *cap ? *cap * 2 : 64, false)))
		return rc;
	(*v)[(*n)++] = e;
	return 0;
}

/* Keep old entry c (its id in the key) on the old side; its JSON, when
 * compressed, was inflated into *scratch. */
static int diff_keep_old(diff_sides *d, vread *vr, const qd_cand *c, uint32_t seq, const qd_buf *scratch)
{
	kv e = {.id = c->id, .json = c->entry_json, .len = c->entry_json_len, .seq = seq};
	if (c->entry_json_comp != COMP_NONE) {
		e.z = true;
		e.off = vr->json.len;
		e.len = scratch->len;
		qd_buf_add(&vr->json, scratch->data, scratch->len);
		if (vr->json.oom)
			return QD_ENOMEM;
	}
	return diff_push(&d->old, &d->nold, &d->capold, e);
}

static kv entry_kv(const qd_listdoc *doc, size_t i)
{
	const qd_entry *e = &doc->entries[i];
	return (kv){.id = e->id, .json = e->json, .len = e->json_len, .seq = (uint32_t)i};
}

static int diff_keep_new(diff_sides *d, const qd_listdoc *doc, size_t i)
{
	return diff_push(&d->neu, &d->nneu, &d->capneu, entry_kv(doc, i));
}

/* Walk the previous version and the document side by side in key order. */
static int diff_walk(put_ctx *p, diff_sides *d, vread *vr)
{
	const qd_listdoc *doc = p->doc;
	unsigned char opfx[QD_LIST_ID_MAX + 8], nk[KEY_MAX + 8];
	size_t opl = vprefix(opfx, doc->list, p->prev.version), npl = vprefix(nk, doc->list, 0);
	qd_buf scratch;
	qd_buf_init(&scratch);
	MDB_cursor *cur;
	int rc = mdb_cursor_open(p->txn, p->st->entries, &cur), ret = 0;
	if (rc)
		return map_err(rc);
	size_t j = 0, ne = doc->n_entries;
	MDB_val k = {opl, opfx}, v;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); !ret && rc == 0 && has_prefix(&k, opfx, opl);
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		qd_cand c;
		uint32_t seq;
		if ((ret = rec_decode(&k, &v, &c, &seq, NULL)))
			break;
		/* The key after the version prefix, less the NUL that ends a
		 * format-3 key (no id ends in a NUL): code, NUL, CIQ, NUL, id. */
		const unsigned char *os = (const unsigned char *)k.mv_data + opl;
		size_t osl = k.mv_size - opl;
		if (osl && os[osl - 1] == 0)
			osl--;
		int cmp = 1;
		while (j < ne) {
			size_t i = p->r.order[j];
			int kl = qd_st_entry_key(nk, doc->list, 0, &doc->entries[i], false);
			if (kl < 0) {
				ret = QD_EINVAL;
				break;
			}
			size_t nsl = (size_t)kl - npl;
			cmp = memcmp(os, nk + npl, osl < nsl ? osl : nsl);
			if (!cmp)
				cmp = osl < nsl ? -1 : osl > nsl;
			if (cmp <= 0)
				break;
			/* A new entry before the old one: not in the old version. */
			if ((ret = diff_keep_new(d, doc, i)))
				break;
			j++;
		}
		if (ret)
			break;
		const char *oj = c.entry_json;
		size_t ol = c.entry_json_len;
		if (c.entry_json_comp != COMP_NONE) {
			qd_buf_reset(&scratch);
			if ((ret = zr_json(&vr->z, p->st, p->txn, doc->list, p->prev.version, c.entry_json_comp,
					   c.entry_json, c.entry_json_len, &scratch)))
				break;
			oj = scratch.data;
			ol = scratch.len;
		}
		if (cmp == 0) {
			/* The same key, so the same id: kept only when changed. */
			const qd_entry *e = &doc->entries[p->r.order[j]];
			bool same = ol == e->json_len && memcmp(oj, e->json, ol) == 0;
			if (!same && ((ret = diff_keep_old(d, vr, &c, seq, &scratch)) ||
				      (ret = diff_keep_new(d, doc, p->r.order[j]))))
				break;
			j++;
		} else if ((ret = diff_keep_old(d, vr, &c, seq, &scratch))) {
			break;
		}
	}
	if (!ret && rc != 0 && rc != MDB_NOTFOUND)
		ret = map_err(rc);
	for (; !ret && j < ne; j++)
		ret = diff_keep_new(d, doc, p->r.order[j]);
	mdb_cursor_close(cur);
	qd_buf_free(&scratch);
	return ret;
}

/* Diff the document against the previous version.  It runs before any
 * write: the LMDB pointers the previous entries are read into die at the
 * first put.  An entry kept on both sides under one id is a changed one
 * (its key changed, or its JSON), so the two sides, each sorted by id,
 * give qd_st_diff_sorted() what the whole versions would. */
static int put_diff(put_ctx *p)
{
	const qd_listdoc *doc = p->doc;
	diff_sides d = {0};
	vread vr = {0};
	int ret = 0;
	/* The digest of the previous version's document: the same bytes,
	 * entries and all (a document loaded again), differ by nothing. */
	if (!p->res->created && strcmp(p->prev.sha256, p->res->sha256) == 0)
		return 0;
	if (p->res->created) {
		/* Every entry is new. */
		if ((ret = diff_reserve(&d.neu, &d.capneu, doc->n_entries, true)))
			return ret;
		for (size_t i = 0; i < doc->n_entries; i++)
			d.neu[d.nneu++] = entry_kv(doc, i);
	} else {
		/* At least the difference of the counts is added (or removed);
		 * a side is never longer than its version. */
		size_t nn = doc->n_entries, no = p->prev.entries;
		size_t rn = nn > no ? nn - no + nn / 16 : 0, ro = no > nn ? no - nn + no / 16 : 0;
		/* After the order, whose working arrays are gone by then. */
		if (!(ret = qd_st_order_wait(&p->z, doc, &p->r)) &&
		    !(ret = diff_reserve(&d.neu, &d.capneu, rn < nn ? rn : nn, true)) &&
		    !(ret = diff_reserve(&d.old, &d.capold, ro < no ? ro : no, true)))
			ret = diff_walk(p, &d, &vr);
	}
	if (ret)
		goto out;
	for (size_t i = 0; i < d.nold; i++)
		if (d.old[i].z)
			d.old[i].json = vr.json.data + d.old[i].off;
	if (d.nold)
		qsort(d.old, d.nold, sizeof *d.old, qd_st_kv_cmp);
	if (d.nneu)
		qsort(d.neu, d.nneu, sizeof *d.neu, qd_st_kv_cmp);
	ret = qd_st_diff_sorted(d.old, d.nold, d.neu, d.nneu, p->res, p->o->changes);
out:
	free(d.old);
	free(d.neu);
	qd_st_vread_free(&vr);
	return ret;
}

/* Whether the new version's keys all sort after every key the entries
 * database holds (an empty database included): the version then goes at
 * its end. */
static int entries_at_end(put_ctx *p, bool *at_end)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(p->txn, p->st->entries, &cur);
	if (rc)
		return map_err(rc);
	MDB_val k, d;
	rc = mdb_cursor_get(cur, &k, &d, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND) {
		*at_end = true;
		return 0;
	}
	if (rc)
		return map_err(rc);
	/* Every new key starts with the version's prefix and goes on past
	 * it, so it sorts after k when k sorts before the prefix (k a proper
	 * start of it included). */
	size_t n = vprefix(p->key, p->doc->list, p->res->version);
	int c = memcmp(k.mv_data, p->key, k.mv_size < n ? k.mv_size : n);
	*at_end = c < 0 || (c == 0 && k.mv_size < n);
	return 0;
}

/* How many inserts ahead put_entries asks for the bytes of the entry it
 * will write (and twice as many for the entry itself). */
#define PREFETCH_AHEAD 8

/* What put_entry(i) reads, asked for ahead in two steps, since the
 * entries go in key order, not in the order they lie in memory (and were
 * compressed on other threads): first the entry and its slot in r.z,
 * PREFETCH_AHEAD inserts later the bytes they point to. */
static inline void prefetch_far(const put_ctx *p, size_t i)
{
	const char *e = (const char *)&p->doc->entries[i];
	__builtin_prefetch(e);
	__builtin_prefetch(e + sizeof(qd_entry) - 1);
	if (p->r.z)
		__builtin_prefetch(&p->r.z[i]);
}

static inline void prefetch_near(const put_ctx *p, size_t i)
{
	const qd_entry *e = &p->doc->entries[i];
	__builtin_prefetch(e->id);
	if (e->n_entities)
		__builtin_prefetch(e->entities);
	if (e->terms)
		__builtin_prefetch(e->terms);
	if (p->r.z)
		__builtin_prefetch(p->r.z[i]);
}

/* Put the record of entry i at cur (MDB_APPEND: after the last key) or
 * (cur NULL) where it belongs. */
static int put_entry(put_ctx *p, MDB_cursor *cur, size_t i)
{
	const qd_listdoc *doc = p->doc;
	bool f3 = qd_st_entry_record(doc, &p->r, i, &p->rec);
	int kl = qd_st_entry_key(p->key, doc->list, p->res->version, &doc->entries[i], f3);
	if (kl < 0)
		return QD_EINVAL;
	if (p->rec.oom)
		return QD_ENOMEM;
	MDB_val k = {(size_t)kl, p->key}, d = {p->rec.len, p->rec.data};
	int rc = cur ? mdb_cursor_put(cur, &k, &d, MDB_APPEND)
		     : mdb_put(p->txn, p->st->entries, &k, &d, MDB_NOOVERWRITE);
	/* MDB_KEYEXIST: two entries with one key (for MDB_APPEND, a key not
	 * after the one before it, which key order makes the same thing). */
	return rc == MDB_KEYEXIST ? QD_EINVAL : map_err(rc);
}

/* Write the entry records of the new version.  How full LMDB leaves the
 * pages depends on the order of the inserts: a page splits in the middle
 * unless the new key goes at its end, where the page is left full. */
static int put_entries(put_ctx *p)
{
	const qd_listdoc *doc = p->doc;
	size_t ne = doc->n_entries;
	bool at_end = false;
	int ret = p->r.order ? entries_at_end(p, &at_end) : 0;
	if (ret)
		return ret;
	if (at_end) {
		/* The version goes at the end of the database (a list's newest
		 * version usually does, unless a list whose id sorts after it
		 * exists): in key order, every insert is at the end of the last
		 * page, which fills before the next one begins. */
		MDB_cursor *cur;
		int rc = mdb_cursor_open(p->txn, p->st->entries, &cur);
		if (rc)
			return map_err(rc);
		for (size_t j = 0; j < ne && !ret; j++) {
			if (j + 2 * PREFETCH_AHEAD < ne)
				prefetch_far(p, p->r.order[j + 2 * PREFETCH_AHEAD]);
			if (j + PREFETCH_AHEAD < ne)
				prefetch_near(p, p->r.order[j + PREFETCH_AHEAD]);
			ret = put_entry(p, cur, p->r.order[j]);
		}
		mdb_cursor_close(cur);
		return ret;
	}
	/* Between other keys, inserts in key order would meet those keys on
	 * every page and split them all in the middle, and so would document
	 * order (documents tend to list entries in code order): scattered
	 * inserts fill the pages about two thirds.  The order is a fixed
	 * permutation of the document: a stride near n/φ, coprime to n. */
	size_t stride = ne > 2 ? (size_t)((double)ne * 0.6180339887) : 1;
	while (ne > 2 && gcd(stride, ne) != 1)
		stride++;
	size_t ahead = ne ? stride * PREFETCH_AHEAD % ne : 0, far = ne ? 2 * ahead % ne : 0;
	for (size_t step = 0, i = 0; step < ne && !ret; step++, i = (i + stride) % ne) {
		prefetch_far(p, (i + far) % ne);
		prefetch_near(p, (i + ahead) % ne);
		ret = put_entry(p, NULL, i);
	}
	return ret;
}

/* Write the new version's clause and roster records and its dictionary. */
static int put_clauses_members(put_ctx *p)
{
	const qd_listdoc *doc = p->doc;
	unsigned char *key = p->key;
	int rc;
	for (size_t i = 0; i < doc->n_clauses; i++) {
		size_t n = vprefix(key, doc->list, p->res->version);
		size_t il = strlen(doc->clauses[i].id);
		memcpy(key + n, doc->clauses[i].id, il);
		MDB_val k = {n + il, key}, d = {p->r.clause_len[i], p->r.clause[i]};
		if ((rc = mdb_put(p->txn, p->st->clauses, &k, &d, 0)))
			return map_err(rc);
	}
	for (size_t i = 0; i < doc->n_members; i++) {
		const qd_member *m = &doc->members[i];
		size_t n = vprefix(key, doc->list, p->res->version);
		size_t il = strlen(m->id);
		memcpy(key + n, m->id, il);
		unsigned char mv[MEMBER_REC_LEN] = {0};
		mv[0] = (unsigned char)m->status;
		put_i32(mv + 4, m->valid_from);
		put_i32(mv + 8, m->valid_to);
		MDB_val k = {n + il, key}, d = {sizeof mv, mv};
		if ((rc = mdb_put(p->txn, p->st->members, &k, &d, 0)))
			return map_err(rc);
	}
	if (p->r.dict) {
		size_t n = vprefix(key, doc->list, p->res->version);
		MDB_val k = {n, key}, d = {p->r.dict_len, p->r.dict};
		if ((rc = mdb_put(p->txn, p->st->dicts, &k, &d, 0)))
			return map_err(rc);
	}
	return 0;
}

/* Write the version record. */
static int put_version(put_ctx *p)
{
	int ret = qd_st_version_record(p->doc, p->o, p->res->version, p->res->sha256, &p->rec);
	if (ret)
		return ret;
	size_t n = vprefix(p->key, p->doc->list, p->res->version);
	MDB_val k = {n, p->key}, d = {p->rec.len, p->rec.data};
	return map_err(mdb_put(p->txn, p->st->versions, &k, &d, 0));
}

/* The new version's schedule record, when it takes effect later. */
static int put_schedule(put_ctx *p)
{
	if (!p->effective_at)
		return 0;
	return qd_st_sched_put(p->st, p->txn, p->doc->list, p->res->version, p->effective_at, SCHED_PENDING);
}

/* Prune the versions that fall out of the retention window. */
static int put_prune(put_ctx *p)
{
	uint32_t version = p->res->version, retain = p->st->retain;
	if (p->res->created)
		p->oldest = version;
	/* Never the version current now, nor a later one (still to take
	 * effect) when the new one waits for its instant. */
	uint32_t floor = p->effective_at ? p->prev.version : version;
	while (version >= retain && p->oldest <= version - retain && p->oldest < floor) {
		size_t n = vprefix(p->key, p->doc->list, p->oldest);
		MDB_val k = {n, p->key};
		int rc;
		if ((rc = delete_prefix(p->txn, p->st->entries, p->key, n)) ||
		    (rc = delete_prefix(p->txn, p->st->members, p->key, n)) ||
		    (rc = delete_prefix(p->txn, p->st->clauses, p->key, n)) ||
		    (rc = delete_prefix(p->txn, p->st->dicts, p->key, n)))
			return map_err(rc);
		rc = mdb_del(p->txn, p->st->versions, &k, NULL);
		if (rc && rc != MDB_NOTFOUND)
			return map_err(rc);
		if (p->st->has_schedule && (rc = mdb_del(p->txn, p->st->schedule, &k, NULL)) && rc != MDB_NOTFOUND)
			return map_err(rc);
		p->oldest++;
	}
	return 0;
}

/* Rewrite the list record: the current pointer moves to the new version,
 * or — a version that takes effect later — stays on the version current
 * now, with LR_NEXT saying when that changes. */
static int put_list_record(put_ctx *p)
{
	const qd_listdoc *doc = p->doc;
	char *tj = NULL;
	const char *title;
	size_t tl;
	if (p->effective_at) {
		/* The title is the current version's: the old record's. */
		size_t at = p->old_rec[LR_FMT] == LIST_REC_FMT2 ? LR_TITLE2 : LR_TITLE;
		title = (const char *)p->old_rec + at;
		tl = p->old_len - at;
	} else {
		if (!(tj = json_dumps(json_object_get(doc->json, "title"), JSON_COMPACT)))
			return QD_ENOMEM;
		title = tj;
		tl = strlen(tj);
	}
	bool sched = p->effective_at || (p->prev.has_schedule && !p->res->created);
	int64_t next = 0;
	int ret = sched ? qd_st_next_at(p->st, p->txn, doc->list, p->o->now, &next) : 0;
	if (ret) {
		free(tj);
		return ret;
	}
	qd_buf_reset(&p->rec);
	unsigned char h[LR_TITLE2];
	memset(h, 0, sizeof h);
	h[LR_FMT] = LIST_REC_FMT2;
	h[LR_KIND] = (unsigned char)doc->kind;
	uint16_t lengths = p->effective_at ? p->prev.code_lengths : qd_st_code_lengths(doc);
	h[LR_LENGTHS] = (unsigned char)lengths;
	h[LR_LENGTHS + 1] = (unsigned char)(lengths >> 8);
	put_u32(h + LR_LAST, p->res->version);
	put_u32(h + LR_OLDEST, p->oldest);
	if (p->effective_at) {
		put_u32(h + LR_CURRENT, p->prev.version);
		put_u32(h + LR_ENTRIES, p->prev.entries);
		put_u32(h + LR_MEMBERS, p->prev.members);
		memcpy(h + LR_LOADED, &p->prev.loaded_at, 8);
		memcpy(h + LR_SHA, p->prev.sha256, 64);
	} else {
		put_u32(h + LR_CURRENT, p->res->version);
		put_u32(h + LR_ENTRIES, (uint32_t)doc->n_entries);
		put_u32(h + LR_MEMBERS, (uint32_t)doc->n_members);
		memcpy(h + LR_LOADED, &p->o->now, 8);
		memcpy(h + LR_SHA, p->res->sha256, 64);
	}
	memcpy(h + LR_NEXT, &next, 8);
	put_u32(h + LR_FLAGS, sched ? LRF_SCHEDULED : 0);
	qd_buf_add(&p->rec, h, sizeof h);
	qd_buf_add(&p->rec, title, tl);
	free(tj);
	if (p->rec.oom)
		return QD_ENOMEM;
	MDB_val d = {p->rec.len, p->rec.data};
	return map_err(mdb_put(p->txn, p->st->lists, &p->lk, &d, 0));
}

/* The change's audit record, in the same transaction as the change. */
static int put_audit(put_ctx *p)
{
	const qd_put_opts *o = p->o;
	const qd_put_result *res = p->res;
	qd_audit_rec a = {
		.time = o->now, .actor = o->actor, .action = o->action, .list = p->doc->list,
		.version = res->version, .sha256 = res->sha256, .entries = (long)res->entries,
		.added = (long)res->added, .removed = (long)res->removed,
		.changed = (long)res->changed, .status = res->created ? 201 : 200,
		.outcome = "stored", .source = o->source, .client = o->client,
	};
	if (o->proposal) {
		a.proposal = o->proposal;
		a.proposer = p->prop.proposer;
		a.comment = o->comment;
	}
	return qd_st_audit_put(p->st, p->txn, &a, false);
}

/* The version's feed record, chained and signed, in the same transaction:
 * no version is committed without one. */
static int put_feed(put_ctx *p)
{
	if (p->o->applying)
		return qd_st_feed_put_rec(p->st, p->txn, p->o->applying, &p->af);
	feed_fields f = {
		.list = p->doc->list, .action = p->o->action, .sha256 = p->res->sha256,
		.actor = p->o->actor, .version = p->res->version, .entries = (long)p->res->entries,
		.committed_at = p->o->now, .effective_at = p->effective_at ? p->effective_at : p->o->now,
	};
	return qd_st_feed_put(p->st, p->txn, &f);
}

/* The proposal approved, closed in the same transaction as its version.
 * Its effective_at becomes the instant the version was scheduled for (the
 * approver's, else the proposer's), 0 when it took effect at once. */
static int put_proposal(put_ctx *p)
{
	if (!p->o->proposal)
		return 0;
	p->prop.effective_at = p->effective_at;
	return qd_st_proposal_close(p->st, p->txn, &p->prop, QD_PROPOSAL_APPROVED, p->o->actor, p->o->comment,
				    p->o->now, p->res->version);
}

int qd_store_put(qd_store *st, const qd_listdoc *doc, const qd_put_opts *o,
		 qd_put_result *res, qd_problems *problems)
{
	if (st->read_only)
		return QD_EIO;
	memset(res, 0, sizeof *res);
	res->entries = doc->n_entries;
	put_ctx p = {.st = st, .doc = doc, .o = o, .res = res, .problems = problems};
	qd_buf_init(&p.rec);
	int ret = o->applying ? qd_feed_fields_parse(o->applying->json, o->applying->json_len, &p.af) : 0;
	if (!ret && o->applying && strcmp(p.af.list, doc->list) != 0) {
		qd_problems_add(problems, "/list", "the feed record is for list %s, the document for %s",
				p.af.list, doc->list);
		ret = QD_EINVAL;
	}
	if (ret || (ret = put_render(&p)))
		goto out;
	if (o->applying && strcmp(p.af.sha256, res->sha256) != 0) {
		qd_problems_add(problems, "/sha256", "the document's digest is %s, the feed record says %s",
				res->sha256, p.af.sha256[0] ? p.af.sha256 : "null");
		ret = QD_EINVAL;
		goto out;
	}
	int rc = mdb_txn_begin(st->env, NULL, 0, &p.txn);
	if (rc) {
		p.txn = NULL;
		ret = map_err(rc);
		goto out;
	}
	if ((ret = put_check(&p)) || (ret = put_diff(&p)) || o->dry_run)
		goto out;
	if ((ret = qd_st_compress_finish(&p.z)) || (ret = put_entries(&p)) ||
	    (ret = put_clauses_members(&p)) || (ret = put_version(&p)) || (ret = put_schedule(&p)) ||
	    (ret = put_prune(&p)) ||
	    (ret = put_list_record(&p)) || (ret = put_audit(&p)) || (ret = put_feed(&p)) ||
	    (ret = put_proposal(&p)))
		goto out;
	ret = qd_st_commit(st, p.txn);
	p.txn = NULL;
out:
	if (p.txn)
		mdb_txn_abort(p.txn);
	qd_st_compress_finish(&p.z);
	qd_buf_free(&p.rec);
	qd_st_rendered_free(&p.r, doc);
	qd_proposal_free(&p.prop);
	free(p.old_rec);
	return ret;
}

int qd_store_apply(qd_store *st, const qd_listdoc *doc, const qd_feed_rec *rec, const qd_put_opts *o,
		   qd_put_result *res, qd_problems *problems)
{
	qd_feed_fields f;
	int ret = qd_feed_fields_parse(rec->json, rec->json_len, &f);
	if (ret)
		return ret;
	if (strcmp(f.action, "cancel") == 0) {
		/* A cancellation: the version stays, it never takes effect. */
		memset(res, 0, sizeof *res);
		MDB_txn *txn;
		int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
		if (rc)
			return map_err(rc);
		ret = qd_st_cancel(st, txn, f.list, f.version, f.committed_at, o->actor, o->client, rec, &f);
		if (ret == QD_ENOENT) {
			qd_problems_add(problems, "/version", "the feed record cancels version %u of %s, which is not "
					"scheduled here", f.version, f.list);
			ret = QD_EINVAL;
		}
		if (ret) {
			mdb_txn_abort(txn);
			return ret;
		}
		res->version = f.version;
		return qd_st_commit(st, txn);
	}
	qd_put_opts a = {
		.actor = o->actor, .action = o->action, .source = o->source, .client = o->client,
		.now = f.committed_at, .applying = rec,
	};
	return qd_store_put(st, doc, &a, res, problems);
}
