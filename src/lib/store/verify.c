/* qingdan — the store's integrity check (qd_store_verify) and its backup. */
#include <jansson.h>

#include "store_int.h"

int qd_store_backup(qd_store *st, const char *dir, char *err, size_t errlen)
{
	/* MDB_CP_COMPACT copies from one read transaction: a consistent
	 * snapshot without free pages, while writers go on. */
	int rc = mdb_env_copy2(st->env, dir, MDB_CP_COMPACT);
	if (rc) {
		snprintf(err, errlen, "cannot back up into %s: %s", dir, mdb_strerror(rc));
		return QD_EIO;
	}
	return 0;
}


static bool version_known(qd_store *st, MDB_txn *txn, const unsigned char *key, size_t len)
{
	MDB_val k = {len, (void *)key}, d;
	return mdb_get(txn, st->versions, &k, &d) == 0;
}

/* What the checks of one qd_store_verify() share: its read transaction,
 * cursors on entries and roster records, and a decompressor. */
typedef struct vctx {
	qd_store *st;
	MDB_txn *txn;
	MDB_cursor *ec, *mc;
	zreader z;
	qd_buf vj;      /* the entry JSON being checked */
	qd_problems *p;
} vctx;

/* Check one entry record of list id at version v (prefix length pl): it
 * decodes, its key agrees with it and with its JSON, and what it cites
 * (clauses, roster entities when the version has members) is stored. */
static void verify_entry(vctx *x, const char *id, uint32_t v, const char *path, size_t pl,
			 const MDB_val *ek, const MDB_val *ed, uint32_t members)
{
	qd_cand c;
	qd_entry_terms et;
	if (rec_decode(ek, ed, &c, NULL, NULL) ||
	    (c.terms && qd_entry_terms_decode(c.terms, c.terms_len, &et))) {
		qd_problems_add(x->p, path, "an entry record is malformed");
		return;
	}
	/* The key is code|\0|ciq|\0|id (|\0 in format 3); it must
	 * agree with the record. */
	const char *kt = (const char *)ek->mv_data + pl;
	size_t ktl = ek->mv_size - pl;
	const char *z1 = memchr(kt, 0, ktl);
	const char *z2 = z1 ? memchr(z1 + 1, 0, ktl - (size_t)(z1 + 1 - kt)) : NULL;
	size_t cl = z1 ? (size_t)(z1 - kt) : 0;
	size_t kidl = z2 ? ktl - (size_t)(z2 + 1 - kt) : 0;
	unsigned fmt = ((const unsigned char *)ed->mv_data)[ER_FMT];
	if ((fmt == ENTRY_REC_FMT3 || fmt == ENTRY_REC_FMT4) && kidl)
		kidl--; /* the id's NUL */
	if (!z2 || cl != c.code_len || (size_t)(z2 - z1 - 1) != (c.has_ciq ? 3u : 0u) ||
	    strlen(c.id) != kidl || memcmp(z2 + 1, c.id, kidl) != 0) {
		qd_problems_add(x->p, path, "entry \"%s\": key and record disagree", c.id);
		return;
	}
	qd_buf_reset(&x->vj);
	json_t *ej = zr_json(&x->z, x->st, x->txn, id, v, c.entry_json_comp, c.entry_json,
			     c.entry_json_len, &x->vj) == 0
			     ? json_loadb(x->vj.data ? x->vj.data : "", x->vj.len, 0, NULL)
			     : NULL;
	const char *jid = json_string_value(json_object_get(ej, "id"));
	const char *jcode = json_string_value(json_object_get(ej, "code"));
	const char *jciq = json_string_value(json_object_get(ej, "ciq"));
	if (!ej || !jid || strcmp(jid, c.id) != 0 || !jcode || strlen(jcode) != cl ||
	    memcmp(jcode, kt, cl) != 0 || (jciq ? strlen(jciq) : 0) != (c.has_ciq ? 3u : 0u))
		qd_problems_add(x->p, path, "entry \"%s\": JSON and record disagree", c.id);
	if (ej && x->vj.len > QD_ENTRY_JSON_MAX)
		qd_problems_add(x->p, path, "entry \"%s\": its JSON is %zu bytes; at most %u allowed",
				c.id, x->vj.len, QD_ENTRY_JSON_MAX);
	if (c.n_clauses == 0)
		qd_problems_add(x->p, path, "entry \"%s\": cites no clause", c.id);
	/* The record's count and ids of the clauses cited must be the JSON's:
	 * a lookup shows the clauses the record names. */
	json_t *jcl = json_object_get(ej, "clauses");
	if (ej && (!json_is_array(jcl) || json_array_size(jcl) != c.n_clauses))
		qd_problems_add(x->p, path, "entry \"%s\": the record cites %u clauses, its JSON %zu",
				c.id, c.n_clauses, json_array_size(jcl));
	const char *cid = c.clause_ids;
	const char *rend = (const char *)ed->mv_data + ed->mv_size;
	for (unsigned j = 0; j < c.n_clauses; j++, cid += strlen(cid) + 1) {
		unsigned char ck[KEY_MAX + 8];
		if (cid >= rend || !memchr(cid, 0, (size_t)(rend - cid))) {
			qd_problems_add(x->p, path, "entry \"%s\": the record's clause ids are cut short",
					c.id);
			break;
		}
		size_t cvl = vprefix(ck, id, v), cil = strlen(cid);
		if (cvl + cil > sizeof ck)
			break;
		const char *jc = json_string_value(json_array_get(jcl, j));
		if (jc && strcmp(jc, cid) != 0)
			qd_problems_add(x->p, path, "entry \"%s\": the record cites clause %s where its JSON cites %s",
					c.id, cid, jc);
		memcpy(ck + cvl, cid, cil);
		MDB_val ckk = {cvl + cil, ck}, cd;
		if (mdb_get(x->txn, x->st->clauses, &ckk, &cd) != 0)
			qd_problems_add(x->p, path, "entry \"%s\": clause %s has no record", c.id, cid);
	}
	json_decref(ej);
	if (members) {
		const char *en = c.entities;
		for (unsigned j = 0; j < c.n_entities; j++, en += strlen(en) + 1) {
			unsigned char mk[KEY_MAX + 8];
			size_t ml = vprefix(mk, id, v);
			size_t el = strlen(en);
			if (el > QD_ENTITY_MAX)
				return;
			memcpy(mk + ml, en, el);
			MDB_val mkk = {ml + el, mk}, md;
			if (mdb_get(x->txn, x->st->members, &mkk, &md) != 0)
				qd_problems_add(x->p, path, "entry \"%s\": entity %s is not on the roster",
						c.id, en);
		}
	}
}

/* Check version v of list id (li: its list record): the version record,
 * every entry record, and the entry and roster counts.  Returns 0 or the
 * error that stopped the walk. */
static int verify_version(vctx *x, const char *id, uint32_t v, const qd_list_info *li)
{
	char path[160];
	snprintf(path, sizeof path, "/lists/%s/versions/%u", id, v);
	qd_list_info vi;
	MDB_val rec;
	int e = qd_st_get_version(x->st, x->txn, id, v, &vi, &rec);
	if (e) {
		qd_problems_add(x->p, path, "version record is %s", e == QD_EIO ? "malformed" : "missing");
		return 0;
	}
	if (v == li->version && (vi.entries != li->entries || strcmp(vi.sha256, li->sha256) != 0))
		qd_problems_add(x->p, path, "the list record and the current version record disagree");
	/* Entries of this version. */
	unsigned char pfx[QD_LIST_ID_MAX + 8];
	size_t pl = vprefix(pfx, id, v);
	uint32_t count = 0;
	MDB_val ek = {pl, pfx}, ed;
	int erc;
	for (erc = mdb_cursor_get(x->ec, &ek, &ed, MDB_SET_RANGE); erc == 0 && has_prefix(&ek, pfx, pl);
	     erc = mdb_cursor_get(x->ec, &ek, &ed, MDB_NEXT)) {
		count++;
		verify_entry(x, id, v, path, pl, &ek, &ed, vi.members);
	}
	if (erc != 0 && erc != MDB_NOTFOUND)
		return map_err(erc);
	if (count != vi.entries)
		qd_problems_add(x->p, path, "holds %u entry records; the version record says %u", count,
				vi.entries);
	uint32_t mcount = 0;
	MDB_val mk = {pl, pfx}, md;
	for (erc = mdb_cursor_get(x->mc, &mk, &md, MDB_SET_RANGE); erc == 0 && has_prefix(&mk, pfx, pl);
	     erc = mdb_cursor_get(x->mc, &mk, &md, MDB_NEXT))
		mcount++;
	if (mcount != vi.members)
		qd_problems_add(x->p, path, "holds %u roster records; the version record says %u", mcount,
				vi.members);
	return 0;
}

/* Orphans: entry, roster and dictionary records (cursors cs) of versions
 * that are not in the history.  Returns 0 or the error that stopped the walk. */
static int verify_orphans(vctx *x, MDB_cursor *const cs[3])
{
	MDB_val k, d;
	int rc;
	const char *what[] = {"entry", "roster", "dictionary"};
	for (int i = 0; i < 3 && cs[i]; i++) {
		unsigned char lastv[QD_LIST_ID_MAX + 8];
		size_t lastvl = 0;
		bool last_ok = true;
		for (rc = mdb_cursor_get(cs[i], &k, &d, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cs[i], &k, &d, MDB_NEXT)) {
			const unsigned char *z = memchr(k.mv_data, 0, k.mv_size);
			size_t vl = z ? (size_t)(z - (const unsigned char *)k.mv_data) + 5 : 0;
			if (!z || vl > k.mv_size || vl > sizeof lastv) {
				qd_problems_add(x->p, "/", "a %s record has a malformed key", what[i]);
				continue;
			}
			if (vl != lastvl || memcmp(lastv, k.mv_data, vl) != 0) {
				memcpy(lastv, k.mv_data, vl);
				lastvl = vl;
				last_ok = version_known(x->st, x->txn, lastv, vl);
				if (!last_ok)
					qd_problems_add(x->p, "/", "%s records of list \"%.*s\" belong to a version that is not in its history",
							what[i], (int)(vl - 5), (const char *)lastv);
			}
		}
		if (rc != MDB_NOTFOUND)
			return map_err(rc);
	}
	return 0;
}

int qd_store_verify(qd_store *st, qd_problems *p)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	MDB_cursor *lc = NULL, *vc = NULL, *dc = NULL;
	vctx x = {.st = st, .txn = txn, .p = p};
	int ret = 0;
	if ((rc = mdb_cursor_open(txn, st->lists, &lc)) || (rc = mdb_cursor_open(txn, st->entries, &x.ec)) ||
	    (rc = mdb_cursor_open(txn, st->members, &x.mc)) || (rc = mdb_cursor_open(txn, st->versions, &vc)) ||
	    (st->has_dicts && (rc = mdb_cursor_open(txn, st->dicts, &dc)))) {
		ret = map_err(rc);
		goto out;
	}
	MDB_val k, d;
	for (rc = mdb_cursor_get(lc, &k, &d, MDB_FIRST); rc == 0; rc = mdb_cursor_get(lc, &k, &d, MDB_NEXT)) {
		char id[QD_LIST_ID_MAX + 1];
		size_t il = k.mv_size < QD_LIST_ID_MAX ? k.mv_size : QD_LIST_ID_MAX;
		memcpy(id, k.mv_data, il);
		id[il] = '\0';
		if (!list_rec_valid(&d) || !qd_list_id_valid(id) || il != k.mv_size) {
			qd_problems_add(p, "/lists", "list record \"%s\" is malformed", id);
			continue;
		}
		qd_list_info li;
		uint32_t last, oldest;
		list_rec_decode(&k, &d, &li, &last, &oldest, false);
		if (li.version == 0 || li.version > last || oldest > li.version)
			qd_problems_add(p, "/lists", "%s: current version %u is outside the retained range %u..%u",
					id, li.version, oldest, last);
		for (uint32_t v = oldest; v && v <= last; v++) {
			if ((ret = verify_version(&x, id, v, &li)))
				goto out;
		}
	}
	if (rc != MDB_NOTFOUND) {
		ret = map_err(rc);
		goto out;
	}
	MDB_cursor *cs[] = {x.ec, x.mc, dc};
	if ((ret = verify_orphans(&x, cs)))
		goto out;
	if (!ret && qd_problems_total(p))
		ret = QD_EINVAL;
out:
	if (lc)
		mdb_cursor_close(lc);
	if (x.ec)
		mdb_cursor_close(x.ec);
	if (x.mc)
		mdb_cursor_close(x.mc);
	if (vc)
		mdb_cursor_close(vc);
	if (dc)
		mdb_cursor_close(dc);
	mdb_txn_abort(txn);
	zr_free(&x.z);
	qd_buf_free(&x.vj);
	return ret;
}

