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

int qd_store_verify(qd_store *st, qd_problems *p)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	MDB_cursor *lc = NULL, *ec = NULL, *mc = NULL, *vc = NULL, *dc = NULL;
	zreader vz = {0};
	qd_buf vj;
	qd_buf_init(&vj);
	int ret = 0;
	if ((rc = mdb_cursor_open(txn, st->lists, &lc)) || (rc = mdb_cursor_open(txn, st->entries, &ec)) ||
	    (rc = mdb_cursor_open(txn, st->members, &mc)) || (rc = mdb_cursor_open(txn, st->versions, &vc)) ||
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
			char path[160];
			snprintf(path, sizeof path, "/lists/%s/versions/%u", id, v);
			qd_list_info vi;
			MDB_val rec;
			int e = qd_st_get_version(st, txn, id, v, &vi, &rec);
			if (e) {
				qd_problems_add(p, path, "version record is %s", e == QD_EIO ? "malformed" : "missing");
				continue;
			}
			if (v == li.version && (vi.entries != li.entries || strcmp(vi.sha256, li.sha256) != 0))
				qd_problems_add(p, path, "the list record and the current version record disagree");
			/* Entries of this version. */
			unsigned char pfx[QD_LIST_ID_MAX + 8];
			size_t pl = vprefix(pfx, id, v);
			uint32_t count = 0;
			MDB_val ek = {pl, pfx}, ed;
			int erc;
			for (erc = mdb_cursor_get(ec, &ek, &ed, MDB_SET_RANGE); erc == 0 && has_prefix(&ek, pfx, pl);
			     erc = mdb_cursor_get(ec, &ek, &ed, MDB_NEXT)) {
				count++;
				qd_cand c;
				if (rec_decode(&ek, &ed, &c, NULL, NULL)) {
					qd_problems_add(p, path, "an entry record is malformed");
					continue;
				}
				/* The key is code|\0|ciq|\0|id (|\0 in format 3); it must
				 * agree with the record. */
				const char *kt = (const char *)ek.mv_data + pl;
				size_t ktl = ek.mv_size - pl;
				const char *z1 = memchr(kt, 0, ktl);
				const char *z2 = z1 ? memchr(z1 + 1, 0, ktl - (size_t)(z1 + 1 - kt)) : NULL;
				size_t cl = z1 ? (size_t)(z1 - kt) : 0;
				size_t kidl = z2 ? ktl - (size_t)(z2 + 1 - kt) : 0;
				if (((const unsigned char *)ed.mv_data)[ER_FMT] == ENTRY_REC_FMT3 && kidl)
					kidl--; /* the id's NUL */
				if (!z2 || cl != c.code_len || (size_t)(z2 - z1 - 1) != (c.has_ciq ? 3u : 0u) ||
				    strlen(c.id) != kidl || memcmp(z2 + 1, c.id, kidl) != 0) {
					qd_problems_add(p, path, "entry \"%s\": key and record disagree", c.id);
					continue;
				}
				qd_buf_reset(&vj);
				json_t *ej = zr_json(&vz, st, txn, id, v, c.entry_json_comp, c.entry_json,
						     c.entry_json_len, &vj) == 0
						     ? json_loadb(vj.data ? vj.data : "", vj.len, 0, NULL)
						     : NULL;
				const char *jid = json_string_value(json_object_get(ej, "id"));
				const char *jcode = json_string_value(json_object_get(ej, "code"));
				const char *jciq = json_string_value(json_object_get(ej, "ciq"));
				if (!ej || !jid || strcmp(jid, c.id) != 0 || !jcode || strlen(jcode) != cl ||
				    memcmp(jcode, kt, cl) != 0 || (jciq ? strlen(jciq) : 0) != (c.has_ciq ? 3u : 0u))
					qd_problems_add(p, path, "entry \"%s\": JSON and record disagree", c.id);
				if (c.n_clauses == 0)
					qd_problems_add(p, path, "entry \"%s\": cites no clause", c.id);
				const char *cid = c.clause_ids;
				for (unsigned j = 0; j < c.n_clauses; j++, cid += strlen(cid) + 1) {
					unsigned char ck[KEY_MAX + 8];
					size_t cvl = vprefix(ck, id, v), cil = strlen(cid);
					if (cvl + cil > sizeof ck)
						continue;
					memcpy(ck + cvl, cid, cil);
					MDB_val ckk = {cvl + cil, ck}, cd;
					if (mdb_get(txn, st->clauses, &ckk, &cd) != 0)
						qd_problems_add(p, path, "entry \"%s\": clause %s has no record", c.id, cid);
				}
				json_decref(ej);
				if (vi.members) {
					const char *en = c.entities;
					for (unsigned j = 0; j < c.n_entities; j++, en += strlen(en) + 1) {
						unsigned char mk[KEY_MAX + 8];
						size_t ml = vprefix(mk, id, v);
						size_t el = strlen(en);
						if (el > QD_ENTITY_MAX)
							continue;
						memcpy(mk + ml, en, el);
						MDB_val mkk = {ml + el, mk}, md;
						if (mdb_get(txn, st->members, &mkk, &md) != 0)
							qd_problems_add(p, path, "entry \"%s\": entity %s is not on the roster",
									c.id, en);
					}
				}
			}
			if (erc != 0 && erc != MDB_NOTFOUND) {
				ret = map_err(erc);
				goto out;
			}
			if (count != vi.entries)
				qd_problems_add(p, path, "holds %u entry records; the version record says %u", count,
						vi.entries);
			uint32_t mcount = 0;
			MDB_val mk = {pl, pfx}, md;
			for (erc = mdb_cursor_get(mc, &mk, &md, MDB_SET_RANGE); erc == 0 && has_prefix(&mk, pfx, pl);
			     erc = mdb_cursor_get(mc, &mk, &md, MDB_NEXT))
				mcount++;
			if (mcount != vi.members)
				qd_problems_add(p, path, "holds %u roster records; the version record says %u", mcount,
						vi.members);
		}
	}
	if (rc != MDB_NOTFOUND) {
		ret = map_err(rc);
		goto out;
	}
	/* Orphans: entry, roster and dictionary records of versions not in the
	 * history. */
	MDB_cursor *cs[] = {ec, mc, dc};
	const char *what[] = {"entry", "roster", "dictionary"};
	for (int i = 0; i < 3 && cs[i]; i++) {
		unsigned char lastv[QD_LIST_ID_MAX + 8];
		size_t lastvl = 0;
		bool last_ok = true;
		for (rc = mdb_cursor_get(cs[i], &k, &d, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cs[i], &k, &d, MDB_NEXT)) {
			const unsigned char *z = memchr(k.mv_data, 0, k.mv_size);
			size_t vl = z ? (size_t)(z - (const unsigned char *)k.mv_data) + 5 : 0;
			if (!z || vl > k.mv_size || vl > sizeof lastv) {
				qd_problems_add(p, "/", "a %s record has a malformed key", what[i]);
				continue;
			}
			if (vl != lastvl || memcmp(lastv, k.mv_data, vl) != 0) {
				memcpy(lastv, k.mv_data, vl);
				lastvl = vl;
				last_ok = version_known(st, txn, lastv, vl);
				if (!last_ok)
					qd_problems_add(p, "/", "%s records of list \"%.*s\" belong to a version that is not in its history",
							what[i], (int)(vl - 5), (const char *)lastv);
			}
		}
		if (rc != MDB_NOTFOUND) {
			ret = map_err(rc);
			goto out;
		}
	}
	(void)vc;
	if (!ret && qd_problems_total(p))
		ret = QD_EINVAL;
out:
	if (lc)
		mdb_cursor_close(lc);
	if (ec)
		mdb_cursor_close(ec);
	if (mc)
		mdb_cursor_close(mc);
	if (vc)
		mdb_cursor_close(vc);
	if (dc)
		mdb_cursor_close(dc);
	mdb_txn_abort(txn);
	zr_free(&vz);
	qd_buf_free(&vj);
	return ret;
}

