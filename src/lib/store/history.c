/* qingdan — reading a list's history: the retained versions, the document
 * of a version, diffs between versions (and the entry-level changes a
 * load reports), and a version's document piecewise for streaming.
 * Everything is returned as plain data; callers render it.  Pages of the
 * audit log and of a list's entries are in pages.c. */
#include <jansson.h>

#include "store_int.h"

void qd_st_vread_free(vread *r)
{
	zr_free(&r->z);
	qd_buf_free(&r->json);
}

int qd_st_kv_cmp(const void *a, const void *b)
{
	return strcmp(((const kv *)a)->id, ((const kv *)b)->id);
}

const char *qd_change_kind_name(enum qd_change_kind kind)
{
	switch (kind) {
	case QD_CHANGE_ADDED: return "added";
	case QD_CHANGE_REMOVED: return "removed";
	case QD_CHANGE_CHANGED: return "changed";
	}
	return "?";
}

void qd_changes_free(qd_changes *ch)
{
	if (!ch)
		return;
	for (size_t i = 0; i < ch->n; i++) {
		free(ch->v[i].id);
		for (size_t k = 0; k < ch->v[i].n_fields; k++)
			free(ch->v[i].fields[k]);
		free(ch->v[i].fields);
	}
	free(ch->v);
	ch->v = NULL;
	ch->n = 0;
}

/* The keys whose values differ between the old and new entry objects a
 * and b, into c->fields. */
static int change_fields(qd_change *c, const kv *a, const kv *b)
{
	json_t *x = json_loadb(a->json, a->len, 0, NULL);
	json_t *y = json_loadb(b->json, b->len, 0, NULL);
	int ret = 0;
	const char *key;
	json_t *v;
	/* Canonical entries carry every key, so one side's keys suffice. */
	if (x && y)
		json_object_foreach(y, key, v) {
			if (json_equal(v, json_object_get(x, key)))
				continue;
			char **nf = realloc(c->fields, (c->n_fields + 1) * sizeof *nf);
			if (!nf) {
				ret = QD_ENOMEM;
				break;
			}
			c->fields = nf;
			if (!(c->fields[c->n_fields] = strdup(key))) {
				ret = QD_ENOMEM;
				break;
			}
			c->n_fields++;
		}
	json_decref(x);
	json_decref(y);
	return ret;
}

/* Append one change to ch (the first QD_CHANGES_MAX only); a and b, for a
 * changed entry, are its old and new objects. */
static int add_change(qd_changes *ch, size_t *cap, const char *id, enum qd_change_kind kind,
		      const kv *a, const kv *b)
{
	if (!ch || ch->n >= QD_CHANGES_MAX)
		return 0;
	if (ch->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		qd_change *nv = realloc(ch->v, nc * sizeof *nv);
		if (!nv)
			return QD_ENOMEM;
		ch->v = nv;
		*cap = nc;
	}
	qd_change *c = &ch->v[ch->n];
	memset(c, 0, sizeof *c);
	c->kind = kind;
	if (!(c->id = strdup(id)))
		return QD_ENOMEM;
	ch->n++;
	return a && b ? change_fields(c, a, b) : 0;
}

int qd_st_diff_sorted(const kv *a, size_t na, const kv *b, size_t nb, qd_put_result *res,
		      qd_changes *ch)
{
	size_t i = 0, j = 0, cap = ch ? ch->n : 0;
	int ret = 0;
	while ((i < na || j < nb) && !ret) {
		int c = i == na ? 1 : j == nb ? -1 : strcmp(a[i].id, b[j].id);
		if (c < 0) {
			res->removed++;
			ret = add_change(ch, &cap, a[i].id, QD_CHANGE_REMOVED, NULL, NULL);
			i++;
		} else if (c > 0) {
			res->added++;
			ret = add_change(ch, &cap, b[j].id, QD_CHANGE_ADDED, NULL, NULL);
			j++;
		} else {
			if (a[i].len != b[j].len || memcmp(a[i].json, b[j].json, a[i].len) != 0) {
				res->changed++;
				ret = add_change(ch, &cap, a[i].id, QD_CHANGE_CHANGED, &a[i], &b[j]);
			}
			i++;
			j++;
		}
	}
	return ret;
}

int qd_st_read_version_entries(qd_store *st, MDB_txn *txn, const char *list, uint32_t version,
				kv **out, size_t *n, vread *vr)
{
	unsigned char pfx[QD_LIST_ID_MAX + 8];
	size_t pl = vprefix(pfx, list, version);
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->entries, &cur);
	if (rc)
		return map_err(rc);
	kv *v = NULL;
	size_t cnt = 0, cap = 0;
	int ret = 0;
	MDB_val k = {pl, pfx}, d;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0 && has_prefix(&k, pfx, pl);
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		qd_cand c;
		uint32_t seq;
		if ((ret = rec_decode(&k, &d, &c, &seq, NULL)))
			break;
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 64;
			kv *nv = realloc(v, nc * sizeof *nv);
			if (!nv) {
				ret = QD_ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		kv *e = &v[cnt];
		e->id = c.id;
		e->seq = seq;
		e->z = c.entry_json_comp != COMP_NONE;
		e->json = c.entry_json;
		e->len = c.entry_json_len;
		if (e->z) {
			e->off = vr->json.len;
			ret = zr_json(&vr->z, st, txn, list, version, c.entry_json_comp, c.entry_json,
				      c.entry_json_len, &vr->json);
			if (ret)
				break;
			e->len = vr->json.len - e->off;
		}
		cnt++;
	}
	if (!ret && rc != 0 && rc != MDB_NOTFOUND)
		ret = map_err(rc);
	mdb_cursor_close(cur);
	if (ret) {
		free(v);
		return ret;
	}
	for (size_t i = 0; i < cnt; i++)
		if (v[i].z)
			v[i].json = vr->json.data + v[i].off;
	if (cnt)
		qsort(v, cnt, sizeof *v, qd_st_kv_cmp);
	*out = v;
	*n = cnt;
	return 0;
}


/* ---- versions, documents, diffs ---- */

static int kv_seq_cmp(const void *a, const void *b)
{
	uint32_t x = ((const kv *)a)->seq, y = ((const kv *)b)->seq;
	return x < y ? -1 : x > y;
}

/* The document of one version; with_entries false leaves "entries" empty.
 * The entries go through the document builder one at a time, so a
 * 100 000-entry version is never one tree. */
static int get_doc_in(qd_store *st, MDB_txn *txn, const char *list, uint32_t version, bool with_entries,
		      qd_listdoc **out, qd_list_info *li_out)
{
	*out = NULL;
	qd_list_info li;
	MDB_val rec;
	kv *ents = NULL;
	size_t n = 0;
	vread vr = {0};
	json_t *vj = NULL, *doc = NULL;
	qd_listdoc_builder *b = NULL;
	qd_problems pr;
	qd_problems_init(&pr);
	int ret = qd_st_get_version(st, txn, list, version, &li, &rec);
	if (ret)
		goto out;
	vj = json_loadb((const char *)rec.mv_data + VR_JSON, version_rec_json_len(&rec), 0, NULL);
	doc = vj ? json_deep_copy(json_object_get(vj, "header")) : NULL;
	json_t *arr = json_array();
	if (!doc || !json_is_object(doc) || !arr || json_object_set_new(doc, "entries", arr)) {
		ret = QD_EIO;
		goto out;
	}
	if (with_entries &&
	    (ret = qd_st_read_version_entries(st, txn, list, li.version, &ents, &n, &vr)))
		goto out;
	if (!(b = qd_listdoc_begin(doc, list, &pr))) {
		ret = QD_ENOMEM;
		goto out;
	}
	if (n)
		qsort(ents, n, sizeof *ents, kv_seq_cmp);
	for (size_t i = 0; i < n && !qd_listdoc_failed(b); i++) {
		json_t *e = json_loadb(ents[i].json, ents[i].len, 0, NULL);
		if (!e) {
			ret = QD_EIO;
			goto out;
		}
		qd_listdoc_add(b, e);
		json_decref(e);
	}
	ret = qd_listdoc_finish(b, out);
	b = NULL;
	if (ret == QD_EINVAL)
		ret = QD_EIO; /* a stored version always passed validation */
out:
	qd_listdoc_finish(b, NULL);
	qd_problems_free(&pr);
	free(ents);
	qd_st_vread_free(&vr);
	json_decref(doc);
	json_decref(vj);
	if (!ret && li_out)
		*li_out = li;
	return ret;
}

static int get_doc(qd_store *st, const char *list, uint32_t version, bool with_entries,
		   qd_listdoc **out)
{
	*out = NULL;
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	int ret = get_doc_in(st, txn, list, version, with_entries, out, NULL);
	mdb_txn_abort(txn);
	return ret;
}

int qd_store_get_doc(qd_store *st, const char *list, uint32_t version, qd_listdoc **out)
{
	return get_doc(st, list, version, true, out);
}

int qd_store_get_head(qd_store *st, const char *list, uint32_t version, qd_listdoc **out)
{
	return get_doc(st, list, version, false, out);
}

/* ---- a version's canonical document, piecewise ---- */

/* Where one entry of the version lies; the pointers are LMDB's, valid
 * while the reader's transaction lives. */
typedef struct dr_ent {
	MDB_val k, d;
	uint32_t seq;
} dr_ent;

struct qd_doc_reader {
	qd_store *st;
	/* Read-only and owned: the environment is opened MDB_NOTLS, so the
	 * transaction may be used by whichever thread calls next (one at a
	 * time).  It pins the version's pages, and one reader slot, until
	 * close. */
	MDB_txn *txn;
	char list[QD_LIST_ID_MAX + 1];
	uint32_t version;
	dr_ent *ents;           /* in document order */
	size_t n, next;
	char *head;             /* NULL once sent */
	size_t head_len;
	uint64_t size;          /* of the whole document */
	bool tail_sent;
	qd_buf chunk;           /* the last chunk handed out */
	vread vr;
};

static int dr_seq_cmp(const void *a, const void *b)
{
	uint32_t x = ((const dr_ent *)a)->seq, y = ((const dr_ent *)b)->seq;
	return x < y ? -1 : x > y;
}

/* Locate every entry of the version in r->ents, in document order: only
 * where each lies is kept, never its JSON. */
static int dr_locate(qd_doc_reader *r)
{
	unsigned char pfx[QD_LIST_ID_MAX + 8];
	size_t pl = vprefix(pfx, r->list, r->version);
	MDB_cursor *cur;
	int rc = mdb_cursor_open(r->txn, r->st->entries, &cur);
	if (rc)
		return map_err(rc);
	size_t cap = 0;
	int ret = 0;
	MDB_val k = {pl, pfx}, d;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0 && has_prefix(&k, pfx, pl);
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		qd_cand c;
		uint32_t seq;
		if ((ret = rec_decode(&k, &d, &c, &seq, NULL)))
			break;
		uint64_t jl = c.entry_json_len;
		if (c.entry_json_comp != COMP_NONE) {
			/* The frame says its size: nothing is decompressed yet. */
			unsigned long long fl = ZSTD_getFrameContentSize(c.entry_json, c.entry_json_len);
			if (fl == ZSTD_CONTENTSIZE_UNKNOWN || fl == ZSTD_CONTENTSIZE_ERROR || fl > QD_ENTRY_JSON_MAX) {
				ret = QD_EIO;
				break;
			}
			jl = fl;
		}
		r->size += strlen(qd_listdoc_dump_sep(r->n)) + jl;
		if (r->n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			dr_ent *nv = realloc(r->ents, nc * sizeof *nv);
			if (!nv) {
				ret = QD_ENOMEM;
				break;
			}
			r->ents = nv;
			cap = nc;
		}
		r->ents[r->n++] = (dr_ent){k, d, seq};
	}
	if (!ret && rc != 0 && rc != MDB_NOTFOUND)
		ret = map_err(rc);
	mdb_cursor_close(cur);
	if (!ret) {
		qsort(r->ents, r->n, sizeof *r->ents, dr_seq_cmp);
		r->size += strlen(qd_listdoc_dump_tail(r->n));
	}
	return ret;
}

void qd_store_doc_reader_close(qd_doc_reader *r)
{
	if (!r)
		return;
	if (r->txn)
		mdb_txn_abort(r->txn);
	free(r->ents);
	free(r->head);
	qd_buf_free(&r->chunk);
	qd_st_vread_free(&r->vr);
	free(r);
}

int qd_store_doc_reader_open(qd_store *st, const char *list, uint32_t version, qd_doc_reader **out)
{
	*out = NULL;
	if (strlen(list) > QD_LIST_ID_MAX)
		return QD_ENOLIST;
	qd_doc_reader *r = calloc(1, sizeof *r);
	if (!r)
		return QD_ENOMEM;
	r->st = st;
	strcpy(r->list, list);
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &r->txn);
	if (rc) {
		r->txn = NULL;
		qd_store_doc_reader_close(r);
		return map_err(rc);
	}
	qd_listdoc *head = NULL;
	qd_list_info li;
	int ret = get_doc_in(st, r->txn, list, version, false, &head, &li);
	if (!ret) {
		r->version = li.version;
		r->head = qd_listdoc_dump_head(head, &r->head_len);
		r->size = r->head_len;
		ret = r->head ? dr_locate(r) : QD_ENOMEM;
	}
	qd_listdoc_free(head);
	if (ret) {
		qd_store_doc_reader_close(r);
		return ret;
	}
	*out = r;
	return 0;
}

uint64_t qd_store_doc_reader_size(const qd_doc_reader *r)
{
	return r->size;
}

int qd_store_doc_reader_next(qd_doc_reader *r, const char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	r->chunk.len = 0;
	if (r->head) {
		/* Handed over whole: the head is small next to the entries. */
		qd_buf_free(&r->chunk);
		r->chunk.data = r->head;
		r->chunk.len = r->chunk.cap = r->head_len;
		r->head = NULL;
		*data = r->chunk.data;
		*len = r->chunk.len;
		return 0;
	}
	while (r->next < r->n && r->chunk.len < QD_DOC_READER_CHUNK) {
		const dr_ent *e = &r->ents[r->next];
		qd_cand c;
		uint32_t seq;
		int ret = rec_decode(&e->k, &e->d, &c, &seq, NULL);
		if (ret)
			return ret;
		qd_buf_puts(&r->chunk, qd_listdoc_dump_sep(r->next));
		ret = zr_json(&r->vr.z, r->st, r->txn, r->list, r->version, c.entry_json_comp, c.entry_json,
			      c.entry_json_len, &r->chunk);
		if (ret)
			return ret;
		r->next++;
	}
	if (r->next == r->n && !r->tail_sent && r->chunk.len < QD_DOC_READER_CHUNK) {
		qd_buf_puts(&r->chunk, qd_listdoc_dump_tail(r->n));
		r->tail_sent = true;
	}
	if (r->chunk.oom)
		return QD_ENOMEM;
	*data = r->chunk.data;
	*len = r->chunk.len;
	return 0;
}

void qd_diff_free(qd_diff *d)
{
	if (!d)
		return;
	qd_changes_free(&d->changes);
	memset(d, 0, sizeof *d);
}

int qd_store_diff(qd_store *st, const char *list, uint32_t from, uint32_t to, qd_diff *out)
{
	memset(out, 0, sizeof *out);
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	qd_list_info a, b;
	MDB_val rec;
	kv *ea = NULL, *eb = NULL;
	size_t na = 0, nb = 0;
	vread va = {0}, vb = {0};
	uint32_t missing = from;
	int ret = qd_st_get_version(st, txn, list, from, &a, &rec);
	if (!ret) {
		missing = to;
		ret = qd_st_get_version(st, txn, list, to, &b, &rec);
	}
	if (ret || (ret = qd_st_read_version_entries(st, txn, list, a.version, &ea, &na, &va)) ||
	    (ret = qd_st_read_version_entries(st, txn, list, b.version, &eb, &nb, &vb)))
		goto out;
	qd_put_result res;
	memset(&res, 0, sizeof res);
	ret = qd_st_diff_sorted(ea, na, eb, nb, &res, &out->changes);
	out->from = a.version;
	out->to = b.version;
	out->added = res.added;
	out->removed = res.removed;
	out->changed = res.changed;
out:
	free(ea);
	free(eb);
	qd_st_vread_free(&va);
	qd_st_vread_free(&vb);
	mdb_txn_abort(txn);
	if (ret) {
		qd_diff_free(out);
		if (ret == QD_ENOVERSION || ret == QD_EGONE)
			out->missing = missing;
	}
	return ret;
}

void qd_versions_free(qd_versions *vs)
{
	if (!vs)
		return;
	for (size_t i = 0; i < vs->n; i++) {
		free(vs->v[i].actor);
		free(vs->v[i].action);
		free(vs->v[i].source);
	}
	free(vs->v);
	memset(vs, 0, sizeof *vs);
}

char *qd_st_jstr_dup(json_t *o, const char *key, bool *ok)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return NULL;
	char *s = json_is_string(v) ? strdup(json_string_value(v)) : NULL;
	if (!s)
		*ok = false;
	return s;
}

/* Decode one version record (key tail be32(version)) into vi. */
static int version_info_decode(const MDB_val *d, qd_version_info *vi)
{
	if (!version_rec_valid(d))
		return QD_EIO;
	const unsigned char *p = d->mv_data;
	json_t *vj = json_loadb((const char *)p + VR_JSON, version_rec_json_len(d), 0, NULL);
	json_t *jv = json_object_get(vj, "version"), *je = json_object_get(vj, "entries");
	const char *sha = json_string_value(json_object_get(vj, "sha256"));
	if (!json_is_integer(jv) || !json_is_integer(je) || !sha || strlen(sha) != 64) {
		json_decref(vj);
		return QD_EIO;
	}
	memset(vi, 0, sizeof *vi);
	vi->version = (uint32_t)json_integer_value(jv);
	vi->entries = (uint32_t)json_integer_value(je);
	memcpy(&vi->loaded_at, p + VR_LOADED, 8);
	memcpy(vi->sha256, sha, 65);
	bool ok = true;
	vi->actor = qd_st_jstr_dup(vj, "actor", &ok);
	vi->action = qd_st_jstr_dup(vj, "action", &ok);
	vi->source = qd_st_jstr_dup(vj, "source", &ok);
	json_decref(vj);
	if (!ok) {
		free(vi->actor);
		free(vi->action);
		free(vi->source);
		return QD_ENOMEM;
	}
	return 0;
}

int qd_store_versions(qd_store *st, const char *list, qd_versions *out)
{
	memset(out, 0, sizeof *out);
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	qd_list_info li;
	MDB_cursor *cur = NULL;
	uint32_t last, oldest;
	size_t cap = 0;
	int ret = qd_st_get_list(st, txn, list, &li, &last, &oldest);
	if (ret)
		goto out;
	if ((rc = mdb_cursor_open(txn, st->versions, &cur))) {
		ret = map_err(rc);
		goto out;
	}
	out->current = li.version;
	unsigned char key[QD_LIST_ID_MAX + 8];
	/* Newest first: start past the last version and walk backwards. */
	MDB_val k = {vprefix(key, list, last), key}, d;
	size_t pl = strlen(list) + 1;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_KEY); rc == 0 && has_prefix(&k, key, pl) &&
							     k.mv_size == pl + 4;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_PREV)) {
		if (!grow_array((void **)&out->v, &cap, out->n + 1, sizeof *out->v)) {
			ret = QD_ENOMEM;
			break;
		}
		if ((ret = version_info_decode(&d, &out->v[out->n])))
			break;
		qd_version_info *vi = &out->v[out->n++];
		int64_t eff;
		unsigned state;
		int sr = qd_st_sched_get(st, txn, list, vi->version, &eff, &state);
		if (sr == 0) {
			vi->effective_at = eff;
			vi->cancelled = state == SCHED_CANCELLED;
		} else if (sr != QD_ENOENT) {
			ret = sr;
			break;
		}
	}
	if (!ret && rc != 0 && rc != MDB_NOTFOUND)
		ret = map_err(rc);
out:
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (ret)
		qd_versions_free(out);
	return ret;
}
