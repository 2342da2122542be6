/* qingdan — the LMDB store.
 *
 * Named databases and their keys ("|" is concatenation, be32 a big-endian
 * uint32 so versions sort numerically, \0 a zero byte):
 *
 *   lists     id                                   → list record (binary header + title JSON)
 *   versions  id|\0|be32(version)                  → version record (binary header + JSON: metadata, document without entries)
 *   entries   id|\0|be32(version)|code|\0|ciq|\0|entry-id → entry record (binary header + pre-rendered JSON)
 *   members   id|\0|be32(version)|entity-id        → roster record (binary)
 *   clauses   id|\0|be32(version)|clause-id        → clause object (compact JSON)
 *   audit     be64(sequence)                       → audit record (JSON)
 *
 * Entry keys sort by code, so the candidates for a queried code are found
 * with one range seek per prefix length ("3822\0" … ) and entry pages by
 * code prefix are one range scan.  Entry records carry the canonical entry
 * object pre-rendered as JSON and the ids of the clauses they cite; each
 * clause is rendered once per version in its own record (a clause cited
 * by 100 000 entries is stored once), so a lookup copies bytes, reads a
 * clause or two by key, and never re-encodes.  Every version is complete on its own; a
 * load writes all of it in one transaction and moves the current pointer
 * in the same transaction. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>
#include <zdict.h>
#include <zstd.h>

#include "qingdan/err.h"
#include "qingdan/jarena.h"
#include "qingdan/store.h"

#define LIST_REC_FMT 1
#define ENTRY_REC_FMT 2

/* Fixed offsets of the list record header. */
enum {
	LR_FMT = 0, LR_KIND = 1, LR_LENGTHS = 2, LR_CURRENT = 4, LR_LAST = 8, LR_ENTRIES = 12,
	LR_MEMBERS = 16, LR_OLDEST = 20, LR_LOADED = 24, LR_SHA = 32, LR_TITLE = 96,
};

/* Fixed offsets of the entry record header. */
enum {
	ER_FMT = 0, ER_STATUS = 1, ER_EFFECT = 2, ER_CODELEN = 3, ER_HASCIQ = 4, ER_COMP = 5, ER_NCL = 6,
	ER_FROM = 8, ER_TO = 12, ER_SEQ = 16, ER_NENT = 20, ER_IDLEN = 24,
	ER_ENTLEN = 28, ER_JSONLEN = 32, ER_CLLEN = 36, ER_DATA = 40,
};

/* Entry record format 3, written since: the same first 20 bytes, shorter
 * length fields, and the entry id only in the key, which then ends in a
 * NUL so the id can be read in place.  A record whose lengths do not fit
 * is written in format 2; both are read. */
#define ENTRY_REC_FMT3 3
enum { E3_NENT = 20, E3_ENTLEN = 22, E3_CLLEN = 24, E3_JSONLEN = 26, E3_DATA = 30 };

#define MEMBER_REC_LEN 12

/* The entry JSON of a big version is stored compressed (zstd) with a
 * dictionary trained on that version's own entries and kept in the "dicts"
 * database under the version's key: entries of one list repeat the same
 * names, conditions and clause ids, so a 100 000-entry version takes a
 * third of the space and a lookup maps that many fewer pages.  It costs
 * CPU: every entry an answer shows is decompressed (about 2 500
 * instructions for a 500-byte entry, where a lookup is about 40 000), so
 * only versions whose entries render to more than Z_MIN_BYTES are
 * compressed, where memory is what the store runs short of first.  ER_COMP
 * says how one record's JSON is stored. */
enum { COMP_NONE = 0, COMP_ZSTD_DICT = 1 };
#define Z_MIN_BYTES ((uint64_t)32 << 20) /* default: versions with less stay plain */
#define Z_SAMPLES 4000            /* entries the dictionary learns from, at most */
#define Z_DICT_MAX 32768
#define Z_LEVEL 3
#define Z_JSON_MAX (16u << 20)    /* no stored entry renders longer */
#define Z_SLOTS 4                 /* dictionaries a reader keeps ready */

/* Decompression state of one reader: a context and the dictionaries of the
 * last few (list, version) pairs it read.  A (list, version) pair never
 * changes content, so a cached dictionary never goes stale. */
typedef struct zslot {
	char list[QD_LIST_ID_MAX + 1];
	uint32_t version;
	ZSTD_DDict *dd;
} zslot;

typedef struct zreader {
	ZSTD_DCtx *dctx;
	zslot slot[Z_SLOTS];
	unsigned next;
} zreader;

/* Fixed offsets of the version record header; JSON follows at VR_JSON. */
enum { VR_FMT = 0, VR_LENGTHS = 2, VR_ENTRIES = 4, VR_MEMBERS = 8, VR_LOADED = 16, VR_SHA = 24, VR_JSON = 88 };
#define VERSION_REC_FMT 1

/* Longest entry key: list id, version, code, ciq, entry id and separators. */
#define KEY_MAX (QD_LIST_ID_MAX + 1 + 4 + QD_CODE_MAX + 1 + QD_CIQ_LEN + 1 + 64 + 16)

struct qd_store {
	MDB_env *env;
	MDB_dbi lists, versions, entries, members, clauses, audit, dicts;
	bool has_dicts;
	unsigned retain;
	bool read_only;
	uint64_t compress_min_bytes;
};

/* A snapshot handle's read cache (see qd_snap_set_cache()).  It maps a key
 * — SC_CANDS: list, version, code digits, CIQ; SC_MEMBER: list, version,
 * entity — to what the B-tree said for the committed state `txnid`: the
 * candidate records, as references into the map, or the roster record.
 * Map pages of that state stay put until a later write commits, and the
 * cache is emptied as soon as the handle sees one (qd_snap_open()). */
enum { SC_CANDS = 'c', SC_MEMBER = 'm' };

typedef struct sc_ref {            /* one candidate record in the map */
	const unsigned char *k;
	const void *d;
	uint16_t kl, kid;               /* key length, offset of the entry id in it */
	uint32_t dl;
} sc_ref;

typedef struct sc_ent {
	uint32_t key_off, key_len;      /* in keys */
	uint32_t ref_off, n_ref;        /* SC_CANDS: refs[ref_off, ref_off + n_ref) */
	int32_t from, to;               /* SC_MEMBER: the roster record … */
	uint8_t status, found;          /* … or found == 0: not on the roster */
} sc_ent;

typedef struct snap_cache {
	size_t limit;                   /* bytes; 0: no cache */
	size_t txnid;                   /* the committed state the entries describe */
	struct sc_slot {
		uint32_t hash, ent;     /* ent: index + 1 into ents (0: free) */
	} *slots;
	size_t mask, max_ents;
	sc_ent *ents;
	size_t n_ents, cap_ents;
	unsigned char *keys;
	size_t keys_len, keys_cap;
	sc_ref *refs;
	size_t n_refs, cap_refs;
	sc_ref *pending;                /* refs of the candidates being read */
	size_t n_pending, cap_pending;
	/* One writer (the handle's thread); relaxed atomics so another thread
	 * may read them. */
	_Atomic uint64_t hits, misses, resets, held;
} snap_cache;

struct qd_snap {
	qd_store *st;
	MDB_txn *txn;        /* NULL until first open; reset (not freed) when closed */
	bool open;
	MDB_cursor *cur;     /* cursor on entries, renewed with the transaction */
	qd_list_info *lists; /* cached for the open transaction; valid while open */
	size_t nlists, caplists;
	bool lists_loaded;
	size_t lists_txnid;  /* the snapshot (last committed write) lists were read at */
	qd_cand *cands;
	size_t capcands;
	qd_list_info *at_lists; /* results of qd_snap_lists_at(), valid while open */
	size_t cap_at;
	qd_buf scratch[QD_SNAP_SCRATCH];
	zreader z;
	snap_cache cache;
};

/* ---- small helpers ---- */

static int map_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS: return 0;
	case MDB_NOTFOUND: return QD_ENOENT;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case MDB_READERS_FULL: return rc == MDB_READERS_FULL ? QD_EIO : QD_ENOSPC;
	case ENOMEM: return QD_ENOMEM;
	case ENOSPC: return QD_ENOSPC;
	default: return QD_EIO;
	}
}

static void put_u32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void put_i32(unsigned char *p, int32_t v)
{
	memcpy(p, &v, 4);
}

static int32_t get_i32(const unsigned char *p)
{
	int32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void put_u16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static unsigned get_u16(const unsigned char *p)
{
	return (unsigned)(p[0] | p[1] << 8);
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Writes id|\0|be32(version) into k; returns its length. */
static size_t vprefix(unsigned char *k, const char *list, uint32_t version)
{
	size_t n = strlen(list);
	memcpy(k, list, n);
	k[n] = 0;
	put_be32(k + n + 1, version);
	return n + 5;
}

static bool has_prefix(const MDB_val *key, const unsigned char *p, size_t n)
{
	return key->mv_size >= n && memcmp(key->mv_data, p, n) == 0;
}

static void zr_free(zreader *z)
{
	ZSTD_freeDCtx(z->dctx);
	for (unsigned i = 0; i < Z_SLOTS; i++)
		ZSTD_freeDDict(z->slot[i].dd);
	memset(z, 0, sizeof *z);
}

/* The dictionary of (list, version), from the cache or the store. */
static int zr_dict(zreader *z, qd_store *st, MDB_txn *txn, const char *list, uint32_t version,
		   ZSTD_DDict **out)
{
	for (unsigned i = 0; i < Z_SLOTS; i++) {
		zslot *sl = &z->slot[i];
		if (sl->dd && sl->version == version && strcmp(sl->list, list) == 0) {
			*out = sl->dd;
			return 0;
		}
	}
	if (!st->has_dicts)
		return QD_EIO;
	unsigned char key[QD_LIST_ID_MAX + 8];
	MDB_val k = {vprefix(key, list, version), key}, d;
	int rc = mdb_get(txn, st->dicts, &k, &d);
	if (rc)
		return rc == MDB_NOTFOUND ? QD_EIO : map_err(rc);
	ZSTD_DDict *dd = ZSTD_createDDict(d.mv_data, d.mv_size);
	if (!dd)
		return QD_ENOMEM;
	zslot *sl = &z->slot[z->next++ % Z_SLOTS];
	ZSTD_freeDDict(sl->dd);
	sl->dd = dd;
	sl->version = version;
	snprintf(sl->list, sizeof sl->list, "%s", list);
	*out = dd;
	return 0;
}

/* Append the JSON of an entry record, stored as comp says, to out. */
static int zr_json(zreader *z, qd_store *st, MDB_txn *txn, const char *list, uint32_t version,
		   unsigned comp, const char *json, size_t len, qd_buf *out)
{
	if (comp == COMP_NONE) {
		qd_buf_add(out, json, len);
		return out->oom ? QD_ENOMEM : 0;
	}
	if (comp != COMP_ZSTD_DICT)
		return QD_EIO;
	unsigned long long n = ZSTD_getFrameContentSize(json, len);
	if (n == ZSTD_CONTENTSIZE_UNKNOWN || n == ZSTD_CONTENTSIZE_ERROR || n > Z_JSON_MAX)
		return QD_EIO;
	if (!z->dctx && !(z->dctx = ZSTD_createDCtx()))
		return QD_ENOMEM;
	ZSTD_DDict *dd = NULL;
	int ret = zr_dict(z, st, txn, list, version, &dd);
	if (ret)
		return ret;
	qd_buf_reserve(out, (size_t)n);
	if (out->oom)
		return QD_ENOMEM;
	size_t got = ZSTD_decompress_usingDDict(z->dctx, out->data + out->len, (size_t)n, json, len, dd);
	if (ZSTD_isError(got) || got != n)
		return QD_EIO;
	out->len += got;
	out->data[out->len] = '\0';
	return 0;
}

/* Decode the entry record with key k and value d (format 2 or 3) into c;
 * seq, when not NULL, receives the entry's position in its document.  A
 * caller that has found where the id starts in the key passes it as kid
 * (else NULL).  The pointers in c are into k and d. */
static int rec_decode(const MDB_val *k, const MDB_val *d, qd_cand *c, uint32_t *seq,
		      const unsigned char *kid)
{
	const unsigned char *p = d->mv_data;
	uint64_t entlen, jl, cl, data;
	if (d->mv_size >= ER_DATA && p[ER_FMT] == ENTRY_REC_FMT) {
		uint32_t idlen = get_u32(p + ER_IDLEN);
		entlen = get_u32(p + ER_ENTLEN);
		jl = get_u32(p + ER_JSONLEN);
		cl = get_u32(p + ER_CLLEN);
		data = (uint64_t)ER_DATA + idlen + 1;
		if (data > d->mv_size || p[ER_DATA + idlen] != '\0')
			return QD_EIO;
		c->n_entities = get_u32(p + ER_NENT);
		c->id = (const char *)p + ER_DATA;
	} else if (d->mv_size >= E3_DATA && p[ER_FMT] == ENTRY_REC_FMT3) {
		entlen = get_u16(p + E3_ENTLEN);
		jl = get_u32(p + E3_JSONLEN);
		cl = get_u16(p + E3_CLLEN);
		data = E3_DATA;
		c->n_entities = get_u16(p + E3_NENT);
		/* The id is the key's last field, between two NULs. */
		const unsigned char *kb = k->mv_data;
		size_t kl = k->mv_size, at = kl ? kl - 1 : 0;
		if (kl < 3 || kb[kl - 1] != 0)
			return QD_EIO;
		if (kid && kid > kb && kid < kb + kl - 1 && kid[-1] == 0) {
			at = (size_t)(kid - kb);
		} else {
			while (at > 0 && kb[at - 1] != 0)
				at--;
		}
		if (at == 0 || at == kl - 1)
			return QD_EIO;
		c->id = (const char *)kb + at;
	} else {
		return QD_EIO;
	}
	if (data + entlen + jl + 1 + cl > d->mv_size)
		return QD_EIO;
	c->status = (enum qd_status)p[ER_STATUS];
	c->effect = (enum qd_effect)p[ER_EFFECT];
	c->code_len = p[ER_CODELEN];
	c->has_ciq = p[ER_HASCIQ] != 0;
	c->valid_from = get_i32(p + ER_FROM);
	c->valid_to = get_i32(p + ER_TO);
	c->entities = (const char *)p + data;
	c->entry_json = c->entities + entlen;
	c->entry_json_len = (size_t)jl;
	c->entry_json_comp = p[ER_COMP];
	if (c->entry_json_comp > COMP_ZSTD_DICT)
		return QD_EIO;
	c->clause_ids = c->entry_json + jl + 1;
	c->n_clauses = get_u16(p + ER_NCL);
	if (seq)
		*seq = get_u32(p + ER_SEQ);
	return 0;
}

/* ---- list records ---- */

static void list_rec_decode(const MDB_val *key, const MDB_val *val, qd_list_info *out,
			    uint32_t *last, uint32_t *oldest, bool want_title)
{
	const unsigned char *p = val->mv_data;
	memset(out, 0, sizeof *out);
	size_t n = key->mv_size < QD_LIST_ID_MAX ? key->mv_size : QD_LIST_ID_MAX;
	memcpy(out->id, key->mv_data, n);
	out->id[n] = '\0';
	out->kind = (enum qd_kind)p[LR_KIND];
	out->code_lengths = (uint16_t)(p[LR_LENGTHS] | p[LR_LENGTHS + 1] << 8);
	out->version = get_u32(p + LR_CURRENT);
	out->entries = get_u32(p + LR_ENTRIES);
	out->members = get_u32(p + LR_MEMBERS);
	memcpy(&out->loaded_at, p + LR_LOADED, 8);
	memcpy(out->sha256, p + LR_SHA, 64);
	out->sha256[64] = '\0';
	if (last)
		*last = get_u32(p + LR_LAST);
	if (oldest)
		*oldest = get_u32(p + LR_OLDEST);
	if (want_title && val->mv_size > LR_TITLE)
		out->title = strndup((const char *)p + LR_TITLE, val->mv_size - LR_TITLE);
}

static bool list_rec_valid(const MDB_val *val)
{
	return val->mv_size > LR_TITLE && ((const unsigned char *)val->mv_data)[LR_FMT] == LIST_REC_FMT;
}

void qd_list_infos_free(qd_list_info *infos, size_t n)
{
	if (!infos)
		return;
	for (size_t i = 0; i < n; i++)
		free(infos[i].title);
	free(infos);
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
	if ((rc = mdb_env_set_maxdbs(st->env, 8)) ||
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
		list_rec_decode(&k, &d, &v[cnt], NULL, NULL, true);
		cnt++;
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
	if (rc == 0)
		list_rec_decode(&k, &d, out, NULL, NULL, true);
	mdb_txn_abort(txn);
	return map_err(rc);
}

/* ---- put ---- */

typedef struct kv {
	const char *id;
	const char *json;
	size_t len;
	uint32_t seq;   /* position in the document */
	bool z;         /* json is at off in the reader's buffer (decompressed) */
	size_t off;
} kv;

/* What reading a version's entries decompresses into. */
typedef struct vread {
	zreader z;
	qd_buf json;
} vread;

static void vread_free(vread *r)
{
	zr_free(&r->z);
	qd_buf_free(&r->json);
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const kv *)a)->id, ((const kv *)b)->id);
}

/* Append one change to the changes array (fields: the keys whose values
 * differ between the old and new entry objects). */
static void add_change(qd_buf *ch, size_t *n, const char *id, const char *kind,
		       const kv *a, const kv *b)
{
	if (!ch || *n >= QD_CHANGES_MAX)
		return;
	if ((*n)++)
		qd_buf_putc(ch, ',');
	qd_buf_puts(ch, "{\"id\":");
	qd_buf_json_cstr(ch, id);
	qd_buf_printf(ch, ",\"kind\":\"%s\"", kind);
	if (a && b) {
		json_t *x = json_loadb(a->json, a->len, 0, NULL);
		json_t *y = json_loadb(b->json, b->len, 0, NULL);
		qd_buf_puts(ch, ",\"fields\":[");
		bool first = true;
		const char *key;
		json_t *v;
		/* Canonical entries carry every key, so one side's keys suffice. */
		if (x && y)
			json_object_foreach(y, key, v) {
				if (json_equal(v, json_object_get(x, key)))
					continue;
				if (!first)
					qd_buf_putc(ch, ',');
				qd_buf_json_cstr(ch, key);
				first = false;
			}
		qd_buf_putc(ch, ']');
		json_decref(x);
		json_decref(y);
	}
	qd_buf_putc(ch, '}');
}

/* Count added / removed / changed entries between two id-sorted arrays, and
 * list the first QD_CHANGES_MAX changes into ch (a JSON array) if non-NULL. */
static void diff_sorted(const kv *a, size_t na, const kv *b, size_t nb, qd_put_result *res,
			qd_buf *ch)
{
	size_t i = 0, j = 0, nch = 0;
	if (ch)
		qd_buf_putc(ch, '[');
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : strcmp(a[i].id, b[j].id);
		if (c < 0) {
			res->removed++;
			add_change(ch, &nch, a[i].id, "removed", NULL, NULL);
			i++;
		} else if (c > 0) {
			res->added++;
			add_change(ch, &nch, b[j].id, "added", NULL, NULL);
			j++;
		} else {
			if (a[i].len != b[j].len || memcmp(a[i].json, b[j].json, a[i].len) != 0) {
				res->changed++;
				add_change(ch, &nch, a[i].id, "changed", &a[i], &b[j]);
			}
			i++;
			j++;
		}
	}
	if (ch)
		qd_buf_putc(ch, ']');
}

/* Read every entry of one version as (id, json) pairs sorted by id.  The
 * pointers are LMDB's or into vr's buffer: valid until the next write in
 * txn and while vr lives. */
static int read_version_entries(qd_store *st, MDB_txn *txn, const char *list, uint32_t version,
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
	qsort(v, cnt, sizeof *v, kv_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

/* Delete every key starting with pfx in dbi. */
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

/* Pre-rendered JSON of the document's clauses, one compact string each. */
typedef struct rendered {
	char **clause;   /* per clause */
	size_t *clause_len;
	char **entry;    /* per entry */
	size_t *entry_len;
	char **z;        /* per entry: compressed JSON, NULL to store it plain */
	size_t *z_len;
	void *dict;      /* the dictionary, when entries are compressed */
	size_t dict_len;
} rendered;

static void rendered_free(rendered *r, const qd_listdoc *doc)
{
	if (r->clause)
		for (size_t i = 0; i < doc->n_clauses; i++)
			free(r->clause[i]);
	if (r->entry)
		for (size_t i = 0; i < doc->n_entries; i++)
			free(r->entry[i]);
	free(r->clause);
	free(r->clause_len);
	free(r->entry);
	free(r->entry_len);
	if (r->z)
		for (size_t i = 0; i < doc->n_entries; i++)
			free(r->z[i]);
	free(r->z);
	free(r->z_len);
	free(r->dict);
}

/* A share of a document's entries, [from, to), for one thread's work. */
typedef struct part {
	const qd_listdoc *doc;
	rendered *r;
	const ZSTD_CDict *cd;   /* compress_entries() */
	size_t from, to;
	int rc;
} part;

/* Documents at least this big render and compress their entries on two
 * threads (the writer only reads the tree; a CDict is shared read-only). */
#define RENDER_SPLIT 4096

/* Run body over entries [0, n) of p: in two halves on two threads when n
 * is big, else (or when no thread can be had) all here. */
static int run_parts(void *(*body)(void *), part p, size_t n)
{
	part a = p, b = p;
	pthread_t t;
	bool two = false;
	a.from = 0;
	a.to = b.to = n;
	if (n >= RENDER_SPLIT) {
		a.to = b.from = n / 2;
		two = pthread_create(&t, NULL, body, &b) == 0;
		if (!two)
			a.to = n;
	}
	body(&a);
	if (two)
		pthread_join(t, NULL);
	return a.rc ? a.rc : two ? b.rc : 0;
}

/* Render entries [from, to) of a document. */
static void *render_entries(void *arg)
{
	part *p = arg;
	for (size_t i = p->from; i < p->to; i++) {
		p->r->entry[i] = qd_listdoc_entry_json(p->doc, i, &p->r->entry_len[i]);
		if (!p->r->entry[i]) {
			p->rc = QD_ENOMEM;
			break;
		}
	}
	return NULL;
}

static int render_doc(const qd_listdoc *doc, rendered *r)
{
	memset(r, 0, sizeof *r);
	size_t nc = doc->n_clauses ? doc->n_clauses : 1, ne = doc->n_entries ? doc->n_entries : 1;
	r->clause = calloc(nc, sizeof *r->clause);
	r->clause_len = calloc(nc, sizeof *r->clause_len);
	r->entry = calloc(ne, sizeof *r->entry);
	r->entry_len = calloc(ne, sizeof *r->entry_len);
	if (!r->clause || !r->clause_len || !r->entry || !r->entry_len)
		return QD_ENOMEM;
	for (size_t i = 0; i < doc->n_clauses; i++) {
		r->clause[i] = json_dumps(doc->clauses[i].json, JSON_COMPACT | JSON_REAL_PRECISION(15));
		if (!r->clause[i])
			return QD_ENOMEM;
		r->clause_len[i] = strlen(r->clause[i]);
	}
	return run_parts(render_entries, (part){.doc = doc, .r = r}, doc->n_entries);
}

/* Compress entries [from, to) with the version's dictionary. */
static void *compress_entries(void *arg)
{
	part *p = arg;
	rendered *r = p->r;
	char *tmp = NULL;
	size_t cap = 0;
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	if (!cc || ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 0)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_dictIDFlag, 0)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_refCDict(cc, p->cd))) {
		p->rc = QD_ENOMEM;
		goto out;
	}
	for (size_t i = p->from; i < p->to; i++) {
		size_t len = r->entry_len[i], bound = ZSTD_compressBound(len);
		if (bound > cap) {
			char *t = realloc(tmp, bound);
			if (!t) {
				p->rc = QD_ENOMEM;
				break;
			}
			tmp = t;
			cap = bound;
		}
		size_t zl = ZSTD_compress2(cc, tmp, cap, r->entry[i], len);
		if (ZSTD_isError(zl)) {
			p->rc = QD_ENOMEM;
			break;
		}
		if (zl >= len)
			continue; /* nothing gained: this one stays plain */
		if (!(r->z[i] = malloc(zl))) {
			p->rc = QD_ENOMEM;
			break;
		}
		memcpy(r->z[i], tmp, zl);
		r->z_len[i] = zl;
	}
out:
	free(tmp);
	ZSTD_freeCCtx(cc);
	return NULL;
}

/* Train a dictionary on the version's entries (up to Z_SAMPLES of them,
 * evenly spread) and compress every entry with it.  A version too small,
 * with too few entries or too uniform to learn from stays plain. */
static int compress_doc(const qd_listdoc *doc, rendered *r, uint64_t min_bytes)
{
	size_t n = doc->n_entries, all = 0;
	for (size_t i = 0; i < n; i++)
		all += r->entry_len[i];
	if (all <= min_bytes || n < Z_SAMPLES / 4)
		return 0;
	size_t step = (n + Z_SAMPLES - 1) / Z_SAMPLES, ns = (n + step - 1) / step, total = 0;
	for (size_t i = 0; i < n; i += step)
		total += r->entry_len[i];
	char *sb = malloc(total ? total : 1);
	size_t *ss = malloc(ns * sizeof *ss);
	r->dict = malloc(Z_DICT_MAX);
	if (!sb || !ss || !r->dict) {
		free(sb);
		free(ss);
		return QD_ENOMEM;
	}
	size_t o = 0, k = 0;
	for (size_t i = 0; i < n; i += step) {
		memcpy(sb + o, r->entry[i], r->entry_len[i]);
		o += r->entry_len[i];
		ss[k++] = r->entry_len[i];
	}
	size_t dl = ZDICT_trainFromBuffer(r->dict, Z_DICT_MAX, sb, ss, (unsigned)ns);
	free(sb);
	free(ss);
	if (ZDICT_isError(dl)) {
		free(r->dict);
		r->dict = NULL;
		return 0;
	}
	r->dict_len = dl;
	r->z = calloc(n, sizeof *r->z);
	r->z_len = calloc(n, sizeof *r->z_len);
	ZSTD_CDict *cd = ZSTD_createCDict(r->dict, dl, Z_LEVEL);
	if (!r->z || !r->z_len || !cd) {
		ZSTD_freeCDict(cd);
		return QD_ENOMEM;
	}
	int ret = run_parts(compress_entries, (part){.doc = doc, .r = r, .cd = cd}, n);
	ZSTD_freeCDict(cd);
	return ret;
}

/* Build the entry record for entry i into b; true when it is in format 3
 * (its key then ends in a NUL, see entry_key). */
static bool entry_record(const qd_listdoc *doc, const rendered *r, size_t i, qd_buf *b)
{
	const qd_entry *e = &doc->entries[i];
	size_t idlen = strlen(e->id), entlen = 0, cllen = 0;
	for (size_t j = 0; j < e->n_entities; j++)
		entlen += strlen(e->entities[j]) + 1;
	for (size_t j = 0; j < e->n_clauses; j++)
		cllen += strlen(doc->clauses[e->clauses[j]].id) + 1;
	const char *js = r->entry[i];
	size_t jl = r->entry_len[i];
	unsigned char comp = COMP_NONE;
	if (r->z && r->z[i]) {
		js = r->z[i];
		jl = r->z_len[i];
		comp = COMP_ZSTD_DICT;
	}
	bool f3 = e->n_entities <= 0xffff && entlen <= 0xffff && cllen <= 0xffff;
	unsigned char h[ER_DATA];
	memset(h, 0, sizeof h);
	h[ER_FMT] = f3 ? ENTRY_REC_FMT3 : ENTRY_REC_FMT;
	h[ER_STATUS] = (unsigned char)e->status;
	h[ER_EFFECT] = (unsigned char)e->effect;
	h[ER_CODELEN] = (unsigned char)e->code.len;
	h[ER_HASCIQ] = e->code.ciq[0] != '\0';
	h[ER_COMP] = comp;
	put_u16(h + ER_NCL, (unsigned)e->n_clauses);
	put_i32(h + ER_FROM, e->valid_from);
	put_i32(h + ER_TO, e->valid_to);
	put_u32(h + ER_SEQ, (uint32_t)i);
	if (f3) {
		put_u16(h + E3_NENT, (unsigned)e->n_entities);
		put_u16(h + E3_ENTLEN, (unsigned)entlen);
		put_u16(h + E3_CLLEN, (unsigned)cllen);
		put_u32(h + E3_JSONLEN, (uint32_t)jl);
	} else {
		put_u32(h + ER_NENT, (uint32_t)e->n_entities);
		put_u32(h + ER_IDLEN, (uint32_t)idlen);
		put_u32(h + ER_ENTLEN, (uint32_t)entlen);
		put_u32(h + ER_JSONLEN, (uint32_t)jl);
		put_u32(h + ER_CLLEN, (uint32_t)cllen);
	}

	qd_buf_reset(b);
	qd_buf_add(b, h, f3 ? E3_DATA : ER_DATA);
	if (!f3)
		qd_buf_add(b, e->id, idlen + 1);
	for (size_t j = 0; j < e->n_entities; j++)
		qd_buf_add(b, e->entities[j], strlen(e->entities[j]) + 1);
	qd_buf_add(b, js, jl);
	qd_buf_add(b, "", 1);
	for (size_t j = 0; j < e->n_clauses; j++) {
		const char *cid = doc->clauses[e->clauses[j]].id;
		qd_buf_add(b, cid, strlen(cid) + 1);
	}
	return f3;
}

/* The key of entry e: list, version, code, ciq, id; with a NUL after the id
 * for a format-3 record (f3). */
static int entry_key(unsigned char *k, const char *list, uint32_t version, const qd_entry *e,
		     bool f3)
{
	size_t n = vprefix(k, list, version);
	memcpy(k + n, e->code.digits, e->code.len);
	n += e->code.len;
	k[n++] = 0;
	size_t cl = strlen(e->code.ciq);
	memcpy(k + n, e->code.ciq, cl);
	n += cl;
	k[n++] = 0;
	size_t il = strlen(e->id);
	if (n + il + 1 > KEY_MAX)
		return -1;
	memcpy(k + n, e->id, il);
	n += il;
	if (f3)
		k[n++] = 0;
	return (int)n;
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

/* Which code lengths the document's entries use: a lookup seeks only those
 * prefix lengths (most lists name items at 4, 6, 8 and 10 digits). */
static uint16_t code_lengths(const qd_listdoc *doc)
{
	uint16_t m = 0;
	for (size_t i = 0; i < doc->n_entries; i++)
		m |= (uint16_t)(1u << doc->entries[i].code.len);
	return m;
}

/* The version record: a binary header (what as-of lookups need without
 * parsing JSON) and JSON with the metadata and the document without its
 * entries ("header"). */
static int version_record(const qd_listdoc *doc, const qd_put_opts *o, uint32_t version,
			  const char *sha, qd_buf *b)
{
	json_t *hdr = json_object();
	if (!hdr)
		return QD_ENOMEM;
	const char *key;
	json_t *val;
	json_object_foreach(doc->json, key, val) {
		if (strcmp(key, "entries") != 0)
			json_object_set(hdr, key, val);
	}
	char ts[21];
	qd_time_format(o->now, ts);
	json_t *rec = json_pack("{s:I, s:s, s:s?, s:s?, s:s, s:I, s:s?, s:o}",
				"version", (json_int_t)version, "loaded_at", ts,
				"actor", o->actor, "action", o->action, "sha256", sha,
				"entries", (json_int_t)doc->n_entries, "source", o->source,
				"header", hdr);
	if (!rec)
		return QD_ENOMEM;
	char *js = json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(rec);
	if (!js)
		return QD_ENOMEM;
	unsigned char h[VR_JSON];
	memset(h, 0, sizeof h);
	h[VR_FMT] = VERSION_REC_FMT;
	uint16_t lengths = code_lengths(doc);
	h[VR_LENGTHS] = (unsigned char)lengths;
	h[VR_LENGTHS + 1] = (unsigned char)(lengths >> 8);
	put_u32(h + VR_ENTRIES, (uint32_t)doc->n_entries);
	put_u32(h + VR_MEMBERS, (uint32_t)doc->n_members);
	memcpy(h + VR_LOADED, &o->now, 8);
	memcpy(h + VR_SHA, sha, 64);
	qd_buf_reset(b);
	qd_buf_add(b, h, sizeof h);
	qd_buf_puts(b, js);
	free(js);
	return b->oom ? QD_ENOMEM : 0;
}

static bool version_rec_valid(const MDB_val *d)
{
	return d->mv_size > VR_JSON && ((const unsigned char *)d->mv_data)[VR_FMT] == VERSION_REC_FMT;
}

/* Next audit key: one past the last (big-endian, so keys sort by age). */
static int audit_put(qd_store *st, MDB_txn *txn, const qd_audit_rec *a)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->audit, &cur);
	if (rc)
		return map_err(rc);
	MDB_val k, d;
	uint64_t seq = 1;
	rc = mdb_cursor_get(cur, &k, &d, MDB_LAST);
	if (rc == 0 && k.mv_size == 8) {
		const unsigned char *p = k.mv_data;
		seq = 0;
		for (int i = 0; i < 8; i++)
			seq = seq << 8 | p[i];
		seq++;
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return map_err(rc);
	unsigned char key[8];
	for (int i = 0; i < 8; i++)
		key[i] = (unsigned char)(seq >> (56 - 8 * i));
	char ts[21];
	qd_time_format(a->time, ts);
	qd_buf b;
	qd_buf_init(&b);
	qd_buf_printf(&b, "{\"id\":%llu,\"time\":\"%s\",\"actor\":", (unsigned long long)seq, ts);
	qd_buf_json_cstr(&b, a->actor ? a->actor : "anonymous");
	qd_buf_puts(&b, ",\"action\":");
	qd_buf_json_cstr(&b, a->action);
	qd_buf_puts(&b, ",\"list\":");
	qd_buf_json_cstr(&b, a->list);
	qd_buf_puts(&b, ",\"version\":");
	if (a->version)
		qd_buf_printf(&b, "%u", a->version);
	else
		qd_buf_puts(&b, "null");
	qd_buf_puts(&b, ",\"sha256\":");
	qd_buf_json_cstr(&b, a->sha256);
	const long *counts[] = {&a->entries, &a->added, &a->removed, &a->changed};
	const char *names[] = {"entries", "added", "removed", "changed"};
	for (int i = 0; i < 4; i++) {
		if (*counts[i] >= 0)
			qd_buf_printf(&b, ",\"%s\":%ld", names[i], *counts[i]);
		else
			qd_buf_printf(&b, ",\"%s\":null", names[i]);
	}
	qd_buf_printf(&b, ",\"status\":%u,\"outcome\":", a->status);
	qd_buf_json_cstr(&b, a->outcome);
	qd_buf_puts(&b, ",\"message\":");
	qd_buf_json_cstr(&b, a->message);
	qd_buf_puts(&b, ",\"source\":");
	qd_buf_json_cstr(&b, a->source);
	qd_buf_putc(&b, '}');
	if (b.oom) {
		qd_buf_free(&b);
		return QD_ENOMEM;
	}
	MDB_val kk = {8, key}, dd = {b.len, b.data};
	rc = mdb_put(txn, st->audit, &kk, &dd, 0);
	qd_buf_free(&b);
	return map_err(rc);
}

int qd_store_audit_append(qd_store *st, const qd_audit_rec *rec)
{
	if (st->read_only)
		return QD_EIO;
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc)
		return map_err(rc);
	int ret = audit_put(st, txn, rec);
	if (ret) {
		mdb_txn_abort(txn);
		return ret;
	}
	return map_err(mdb_txn_commit(txn));
}

int qd_store_audit_page(qd_store *st, uint64_t before, size_t limit, qd_buf *out)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	MDB_cursor *cur;
	if ((rc = mdb_cursor_open(txn, st->audit, &cur))) {
		mdb_txn_abort(txn);
		return map_err(rc);
	}
	MDB_val k, d;
	if (before) {
		unsigned char key[8];
		for (int i = 0; i < 8; i++)
			key[i] = (unsigned char)(before >> (56 - 8 * i));
		k = (MDB_val){8, key};
		rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
		/* Positioned at the first key >= before (or past the end):
		 * step back to the newest record older than `before`. */
		rc = rc == 0 ? mdb_cursor_get(cur, &k, &d, MDB_PREV) : mdb_cursor_get(cur, &k, &d, MDB_LAST);
	} else {
		rc = mdb_cursor_get(cur, &k, &d, MDB_LAST);
	}
	qd_buf_puts(out, "{\"records\":[");
	size_t n = 0;
	uint64_t last = 0;
	for (; rc == 0 && n < limit; rc = mdb_cursor_get(cur, &k, &d, MDB_PREV)) {
		if (k.mv_size != 8)
			continue;
		if (n++)
			qd_buf_putc(out, ',');
		qd_buf_add(out, d.mv_data, d.mv_size);
		const unsigned char *p = k.mv_data;
		last = 0;
		for (int i = 0; i < 8; i++)
			last = last << 8 | p[i];
	}
	qd_buf_puts(out, "],\"next_before\":");
	if (rc == 0 && n == limit && last > 1)
		qd_buf_printf(out, "%llu", (unsigned long long)last);
	else
		qd_buf_puts(out, "null");
	qd_buf_putc(out, '}');
	int ret = rc == 0 || rc == MDB_NOTFOUND ? 0 : map_err(rc);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (!ret && out->oom)
		ret = QD_ENOMEM;
	return ret;
}

int qd_store_put(qd_store *st, const qd_listdoc *doc, const qd_put_opts *o,
		 qd_put_result *res, qd_problems *problems)
{
	if (st->read_only)
		return QD_EIO;
	memset(res, 0, sizeof *res);
	res->entries = doc->n_entries;

	rendered r;
	qd_buf rec;
	qd_buf_init(&rec);
	kv *old = NULL, *neu = NULL;
	size_t nold = 0;
	vread ov = {0};
	MDB_txn *txn = NULL;
	int ret = render_doc(doc, &r);
	if (ret)
		goto out;
	{
		/* The canonical bytes reuse the entry renderings the records store. */
		size_t dumplen;
		char *dump = qd_listdoc_dump_with(doc, r.entry, r.entry_len, &dumplen);
		if (!dump) {
			ret = QD_ENOMEM;
			goto out;
		}
		qd_sha256_hex(dump, dumplen, res->sha256);
		free(dump);
	}

	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc) {
		ret = map_err(rc);
		goto out;
	}
	MDB_val lk = {strlen(doc->list), (void *)doc->list}, ld;
	qd_list_info prev;
	uint32_t last = 0, oldest = 1;
	rc = mdb_get(txn, st->lists, &lk, &ld);
	if (rc == 0 && list_rec_valid(&ld)) {
		list_rec_decode(&lk, &ld, &prev, &last, &oldest, false);
		res->previous = prev.version;
	} else if (rc == 0 || rc == MDB_NOTFOUND) {
		res->created = true;
	} else {
		ret = map_err(rc);
		goto out;
	}
	if (o->if_match && o->if_match != res->previous) {
		ret = QD_ECONFLICT;
		goto out;
	}
	if (!res->created && prev.kind != doc->kind) {
		qd_problems_add(problems, "/kind", "kind cannot change from \"%s\" to \"%s\"; "
				"a list keeps its kind across versions",
				qd_kind_name(prev.kind), qd_kind_name(doc->kind));
		ret = QD_EINVAL;
		goto out;
	}
	res->version = last + 1;

	/* Diff before any write: the LMDB pointers in `old` die at the first put. */
	if (!res->created) {
		ret = read_version_entries(st, txn, doc->list, prev.version, &old, &nold, &ov);
		if (ret)
			goto out;
	}
	neu = malloc((doc->n_entries ? doc->n_entries : 1) * sizeof *neu);
	if (!neu) {
		ret = QD_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < doc->n_entries; i++)
		neu[i] = (kv){.id = doc->entries[i].id, .json = r.entry[i], .len = r.entry_len[i], .seq = (uint32_t)i};
	qsort(neu, doc->n_entries, sizeof *neu, kv_cmp);
	diff_sorted(old, nold, neu, doc->n_entries, res, o->changes);
	free(old);
	old = NULL;
	vread_free(&ov);
	if (o->dry_run)
		goto out;
	if ((ret = compress_doc(doc, &r, st->compress_min_bytes)))
		goto out;

	/* Insert in a scattered order: documents tend to list entries in code
	 * order, and a B-tree filled in key order leaves its pages half full
	 * (LMDB splits them in the middle); scattered inserts fill them about
	 * two thirds, so a version takes fewer pages.  The order is a fixed
	 * permutation of the document: a stride near n/φ, coprime to n. */
	size_t ne = doc->n_entries, stride = ne > 2 ? (size_t)((double)ne * 0.6180339887) : 1;
	while (ne > 2 && gcd(stride, ne) != 1)
		stride++;
	unsigned char key[KEY_MAX + 8];
	for (size_t step = 0, i = 0; step < ne; step++, i = (i + stride) % ne) {
		bool f3 = entry_record(doc, &r, i, &rec);
		int kl = entry_key(key, doc->list, res->version, &doc->entries[i], f3);
		if (kl < 0) {
			ret = QD_EINVAL;
			goto out;
		}
		if (rec.oom) {
			ret = QD_ENOMEM;
			goto out;
		}
		MDB_val k = {(size_t)kl, key}, d = {rec.len, rec.data};
		if ((rc = mdb_put(txn, st->entries, &k, &d, MDB_NOOVERWRITE))) {
			ret = rc == MDB_KEYEXIST ? QD_EINVAL : map_err(rc);
			goto out;
		}
	}
	for (size_t i = 0; i < doc->n_clauses; i++) {
		size_t n = vprefix(key, doc->list, res->version);
		size_t il = strlen(doc->clauses[i].id);
		memcpy(key + n, doc->clauses[i].id, il);
		MDB_val k = {n + il, key}, d = {r.clause_len[i], r.clause[i]};
		if ((rc = mdb_put(txn, st->clauses, &k, &d, 0))) {
			ret = map_err(rc);
			goto out;
		}
	}
	for (size_t i = 0; i < doc->n_members; i++) {
		const qd_member *m = &doc->members[i];
		size_t n = vprefix(key, doc->list, res->version);
		size_t il = strlen(m->id);
		memcpy(key + n, m->id, il);
		unsigned char mv[MEMBER_REC_LEN] = {0};
		mv[0] = (unsigned char)m->status;
		put_i32(mv + 4, m->valid_from);
		put_i32(mv + 8, m->valid_to);
		MDB_val k = {n + il, key}, d = {sizeof mv, mv};
		if ((rc = mdb_put(txn, st->members, &k, &d, 0))) {
			ret = map_err(rc);
			goto out;
		}
	}
	if (r.dict) {
		size_t n = vprefix(key, doc->list, res->version);
		MDB_val k = {n, key}, d = {r.dict_len, r.dict};
		if ((rc = mdb_put(txn, st->dicts, &k, &d, 0))) {
			ret = map_err(rc);
			goto out;
		}
	}
	if ((ret = version_record(doc, o, res->version, res->sha256, &rec)))
		goto out;
	{
		size_t n = vprefix(key, doc->list, res->version);
		MDB_val k = {n, key}, d = {rec.len, rec.data};
		if ((rc = mdb_put(txn, st->versions, &k, &d, 0))) {
			ret = map_err(rc);
			goto out;
		}
	}

	/* Prune versions that fall out of the retention window. */
	if (res->created)
		oldest = res->version;
	while (res->version >= st->retain && oldest <= res->version - st->retain) {
		size_t n = vprefix(key, doc->list, oldest);
		MDB_val k = {n, key};
		if ((rc = delete_prefix(txn, st->entries, key, n)) ||
		    (rc = delete_prefix(txn, st->members, key, n)) ||
		    (rc = delete_prefix(txn, st->clauses, key, n)) ||
		    (rc = delete_prefix(txn, st->dicts, key, n))) {
			ret = map_err(rc);
			goto out;
		}
		rc = mdb_del(txn, st->versions, &k, NULL);
		if (rc && rc != MDB_NOTFOUND) {
			ret = map_err(rc);
			goto out;
		}
		oldest++;
	}

	{
		json_t *title = json_object_get(doc->json, "title");
		char *tj = json_dumps(title, JSON_COMPACT);
		if (!tj) {
			ret = QD_ENOMEM;
			goto out;
		}
		size_t tl = strlen(tj);
		qd_buf_reset(&rec);
		unsigned char h[LR_TITLE];
		memset(h, 0, sizeof h);
		h[LR_FMT] = LIST_REC_FMT;
		h[LR_KIND] = (unsigned char)doc->kind;
		uint16_t lengths = code_lengths(doc);
		h[LR_LENGTHS] = (unsigned char)lengths;
		h[LR_LENGTHS + 1] = (unsigned char)(lengths >> 8);
		put_u32(h + LR_CURRENT, res->version);
		put_u32(h + LR_LAST, res->version);
		put_u32(h + LR_ENTRIES, (uint32_t)doc->n_entries);
		put_u32(h + LR_MEMBERS, (uint32_t)doc->n_members);
		put_u32(h + LR_OLDEST, oldest);
		memcpy(h + LR_LOADED, &o->now, 8);
		memcpy(h + LR_SHA, res->sha256, 64);
		qd_buf_add(&rec, h, sizeof h);
		qd_buf_add(&rec, tj, tl);
		free(tj);
		if (rec.oom) {
			ret = QD_ENOMEM;
			goto out;
		}
		MDB_val d = {rec.len, rec.data};
		if ((rc = mdb_put(txn, st->lists, &lk, &d, 0))) {
			ret = map_err(rc);
			goto out;
		}
	}
	{
		qd_audit_rec a = {
			.time = o->now, .actor = o->actor, .action = o->action, .list = doc->list,
			.version = res->version, .sha256 = res->sha256, .entries = (long)res->entries,
			.added = (long)res->added, .removed = (long)res->removed,
			.changed = (long)res->changed, .status = res->created ? 201 : 200,
			.outcome = "stored", .source = o->source,
		};
		if ((ret = audit_put(st, txn, &a)))
			goto out;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc)
		ret = map_err(rc);
out:
	if (txn)
		mdb_txn_abort(txn);
	free(old);
	vread_free(&ov);
	free(neu);
	qd_buf_free(&rec);
	rendered_free(&r, doc);
	return ret;
}

/* ---- history: versions, documents, diffs ---- */

/* Read a list record in txn.  Returns 0, QD_ENOENT or QD_EIO. */
static int get_list(qd_store *st, MDB_txn *txn, const char *list, qd_list_info *li,
		    uint32_t *last, uint32_t *oldest)
{
	if (strlen(list) > QD_LIST_ID_MAX)
		return QD_ENOENT;
	MDB_val k = {strlen(list), (void *)list}, d;
	int rc = mdb_get(txn, st->lists, &k, &d);
	if (rc == 0 && !list_rec_valid(&d))
		rc = MDB_NOTFOUND;
	if (rc)
		return map_err(rc);
	list_rec_decode(&k, &d, li, last, oldest, false);
	return 0;
}

/* Read the version record of list@version.  Returns 0, QD_ENOENT (never
 * existed), QD_EGONE (pruned) or QD_EIO. */
static int get_version(qd_store *st, MDB_txn *txn, const char *list, uint32_t version,
		       qd_list_info *li, MDB_val *rec)
{
	uint32_t last, oldest;
	int ret = get_list(st, txn, list, li, &last, &oldest);
	if (ret)
		return ret;
	if (version == 0)
		version = li->version;
	if (version > last)
		return QD_ENOENT;
	unsigned char key[QD_LIST_ID_MAX + 8];
	MDB_val k = {vprefix(key, list, version), key};
	int rc = mdb_get(txn, st->versions, &k, rec);
	if (rc == MDB_NOTFOUND)
		return version < oldest ? QD_EGONE : QD_ENOENT;
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
	return 0;
}

static int kv_seq_cmp(const void *a, const void *b)
{
	uint32_t x = ((const kv *)a)->seq, y = ((const kv *)b)->seq;
	return x < y ? -1 : x > y;
}

/* The document of one version; with_entries false leaves "entries" empty.
 * The tree is built in an arena the document takes over, so a 100 000-entry
 * version is not freed node by node. */
static int get_doc(qd_store *st, const char *list, uint32_t version, bool with_entries,
		   qd_listdoc **out)
{
	*out = NULL;
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	qd_list_info li;
	MDB_val rec;
	kv *ents = NULL;
	size_t n = 0;
	vread vr = {0};
	qd_jarena *arena = qd_jarena_new(), *prev = qd_jarena_enter(arena);
	json_t *vj = NULL, *doc = NULL;
	int ret = get_version(st, txn, list, version, &li, &rec);
	if (ret)
		goto out;
	vj = json_loadb((const char *)rec.mv_data + VR_JSON, rec.mv_size - VR_JSON, 0, NULL);
	doc = vj ? json_deep_copy(json_object_get(vj, "header")) : NULL;
	json_t *arr = json_array();
	if (!doc || !json_is_object(doc) || !arr || json_object_set_new(doc, "entries", arr)) {
		ret = QD_EIO;
		goto out;
	}
	if (with_entries) {
		if ((ret = read_version_entries(st, txn, list, li.version, &ents, &n, &vr)))
			goto out;
		qsort(ents, n, sizeof *ents, kv_seq_cmp);
		for (size_t i = 0; i < n; i++) {
			json_t *e = json_loadb(ents[i].json, ents[i].len, 0, NULL);
			if (!e || json_array_append_new(arr, e)) {
				ret = QD_EIO;
				goto out;
			}
		}
	}
	qd_problems pr;
	qd_problems_init(&pr);
	ret = qd_listdoc_from_arena(doc, arena, list, out, &pr);
	qd_problems_free(&pr);
	if (ret == QD_EINVAL)
		ret = QD_EIO; /* a stored version always passed validation */
out:
	free(ents);
	vread_free(&vr);
	qd_jarena_leave(prev);
	if (!arena) {
		/* No arena could be had: ordinary trees, only borrowed. */
		json_decref(doc);
		json_decref(vj);
	} else if (ret) {
		qd_jarena_free(arena); /* the trees go with it */
	} /* else the document owns the arena and its trees */
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

int qd_store_diff(qd_store *st, const char *list, uint32_t from, uint32_t to, qd_buf *out)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	qd_list_info a, b;
	MDB_val rec;
	kv *ea = NULL, *eb = NULL;
	size_t na = 0, nb = 0;
	vread va = {0}, vb = {0};
	int ret;
	if ((ret = get_version(st, txn, list, from, &a, &rec)) ||
	    (ret = get_version(st, txn, list, to, &b, &rec)) ||
	    (ret = read_version_entries(st, txn, list, a.version, &ea, &na, &va)) ||
	    (ret = read_version_entries(st, txn, list, b.version, &eb, &nb, &vb)))
		goto out;
	qd_put_result res;
	memset(&res, 0, sizeof res);
	qd_buf ch;
	qd_buf_init(&ch);
	diff_sorted(ea, na, eb, nb, &res, &ch);
	qd_buf_puts(out, "{\"list\":");
	qd_buf_json_cstr(out, list);
	qd_buf_printf(out, ",\"from\":%u,\"to\":%u,\"diff\":{\"added\":%zu,\"removed\":%zu,\"changed\":%zu},"
		      "\"changes\":", a.version, b.version, res.added, res.removed, res.changed);
	qd_buf_add(out, ch.data, ch.len);
	qd_buf_putc(out, '}');
	if (ch.oom || out->oom)
		ret = QD_ENOMEM;
	qd_buf_free(&ch);
out:
	free(ea);
	free(eb);
	vread_free(&va);
	vread_free(&vb);
	mdb_txn_abort(txn);
	return ret;
}

int qd_store_versions(qd_store *st, const char *list, qd_buf *out)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	qd_list_info li;
	MDB_cursor *cur = NULL;
	uint32_t last, oldest;
	int ret = get_list(st, txn, list, &li, &last, &oldest);
	if (ret)
		goto out;
	if ((rc = mdb_cursor_open(txn, st->versions, &cur))) {
		ret = map_err(rc);
		goto out;
	}
	qd_buf_puts(out, "{\"list\":");
	qd_buf_json_cstr(out, list);
	qd_buf_printf(out, ",\"current\":%u,\"versions\":[", li.version);
	unsigned char key[QD_LIST_ID_MAX + 8];
	/* Newest first: start past the last version and walk backwards. */
	MDB_val k = {vprefix(key, list, last), key}, d;
	size_t pl = strlen(list) + 1;
	size_t n = 0;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_KEY); rc == 0 && has_prefix(&k, key, pl) &&
							     k.mv_size == pl + 4;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_PREV)) {
		if (!version_rec_valid(&d)) {
			ret = QD_EIO;
			break;
		}
		json_t *vj = json_loadb((const char *)d.mv_data + VR_JSON, d.mv_size - VR_JSON, 0, NULL);
		if (!vj) {
			ret = QD_EIO;
			break;
		}
		json_object_del(vj, "header");
		char *js = json_dumps(vj, JSON_COMPACT);
		json_decref(vj);
		if (!js) {
			ret = QD_ENOMEM;
			break;
		}
		if (n++)
			qd_buf_putc(out, ',');
		qd_buf_puts(out, js);
		free(js);
	}
	if (!ret && rc != 0 && rc != MDB_NOTFOUND)
		ret = map_err(rc);
	qd_buf_puts(out, "]}");
	if (!ret && out->oom)
		ret = QD_ENOMEM;
out:
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return ret;
}

/* ---- entry pages ---- */

static void hex_encode(qd_buf *b, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		qd_buf_putc(b, hex[p[i] >> 4]);
		qd_buf_putc(b, hex[p[i] & 15]);
	}
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int qd_store_entries_page(qd_store *st, const char *list, const char *prefix,
			  const char *cursor, size_t limit, qd_buf *out, char **next)
{
	*next = NULL;
	unsigned char key[KEY_MAX + 8];
	size_t pfl = strlen(prefix);
	if (pfl > QD_CODE_MAX || strlen(list) > QD_LIST_ID_MAX)
		return QD_EINVAL;
	size_t seek_len = 0;
	unsigned char seek[KEY_MAX + 8];
	if (cursor) {
		/* A cursor is the hex of the key tail after the version prefix. */
		size_t cl = strlen(cursor);
		if (cl == 0 || cl % 2 || cl / 2 > KEY_MAX - QD_LIST_ID_MAX - 5)
			return QD_EINVAL;
		for (size_t i = 0; i < cl; i += 2) {
			int hi = hex_val(cursor[i]), lo = hex_val(cursor[i + 1]);
			if (hi < 0 || lo < 0)
				return QD_EINVAL;
			seek[seek_len++] = (unsigned char)(hi << 4 | lo);
		}
	}

	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	MDB_cursor *cur = NULL;
	zreader z = {0};
	int ret = 0;
	MDB_val lk = {strlen(list), (void *)list}, ld;
	rc = mdb_get(txn, st->lists, &lk, &ld);
	if (rc || !list_rec_valid(&ld)) {
		ret = rc && rc != MDB_NOTFOUND ? map_err(rc) : QD_ENOENT;
		goto out;
	}
	qd_list_info li;
	list_rec_decode(&lk, &ld, &li, NULL, NULL, false);
	size_t vl = vprefix(key, list, li.version);
	memcpy(key + vl, prefix, pfl);
	size_t match_len = vl + pfl;
	MDB_val k, d;
	if (cursor) {
		memcpy(key + vl, seek, seek_len);
		k = (MDB_val){vl + seek_len, key};
	} else {
		k = (MDB_val){match_len, key};
	}
	if ((rc = mdb_cursor_open(txn, st->entries, &cur))) {
		ret = map_err(rc);
		goto out;
	}
	/* has_prefix() compares against `key`, which must hold the match prefix. */
	unsigned char match[KEY_MAX + 8];
	memcpy(match, key, vl);
	memcpy(match + vl, prefix, pfl);
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	if (cursor && rc == 0 && k.mv_size == vl + seek_len && memcmp(k.mv_data, key, k.mv_size) == 0)
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	size_t count = 0;
	qd_buf_putc(out, '[');
	const unsigned char *last_key = NULL;
	size_t last_len = 0;
	for (; rc == 0 && has_prefix(&k, match, match_len); rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (count == limit) {
			qd_buf tmp;
			qd_buf_init(&tmp);
			hex_encode(&tmp, last_key + vl, last_len - vl);
			*next = qd_buf_steal(&tmp, NULL);
			if (!*next)
				ret = QD_ENOMEM;
			break;
		}
		qd_cand c;
		if ((ret = rec_decode(&k, &d, &c, NULL, NULL)))
			break;
		if (count)
			qd_buf_putc(out, ',');
		ret = zr_json(&z, st, txn, list, li.version, c.entry_json_comp, c.entry_json,
			      c.entry_json_len, out);
		if (ret)
			break;
		last_key = k.mv_data;
		last_len = k.mv_size;
		count++;
	}
	if (!ret && rc != 0 && rc != MDB_NOTFOUND)
		ret = map_err(rc);
	qd_buf_putc(out, ']');
	if (!ret && out->oom)
		ret = QD_ENOMEM;
out:
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	zr_free(&z);
	if (ret) {
		free(*next);
		*next = NULL;
	}
	return ret;
}

/* ---- snapshots ---- */

/* ---- the snapshot's read cache ---- */

static void sc_count(_Atomic uint64_t *n)
{
	atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1, memory_order_relaxed);
}

static uint32_t sc_hash(const unsigned char *k, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ k[i]) * 16777619u;
	return h;
}

static void sc_reset(snap_cache *c)
{
	if (c->n_ents)
		memset(c->slots, 0, (c->mask + 1) * sizeof *c->slots);
	c->n_ents = c->keys_len = c->n_refs = 0;
	atomic_store_explicit(&c->held, 0, memory_order_relaxed);
}

static void sc_free(snap_cache *c)
{
	free(c->slots);
	free(c->ents);
	free(c->keys);
	free(c->refs);
	free(c->pending);
	c->slots = NULL;
	c->ents = NULL;
	c->keys = NULL;
	c->refs = NULL;
	c->pending = NULL;
	c->mask = c->max_ents = 0;
	c->n_ents = c->cap_ents = c->keys_len = c->keys_cap = 0;
	c->n_refs = c->cap_refs = c->n_pending = c->cap_pending = 0;
}

/* The slot table, made on first use: sized so it is at most half full. */
static bool sc_ready(snap_cache *c)
{
	if (c->slots)
		return true;
	size_t max = c->limit / 256, n = 16;
	if (max < 8)
		return false;
	while (n < 2 * max)
		n <<= 1;
	c->slots = calloc(n, sizeof *c->slots);
	if (!c->slots)
		return false;
	c->mask = n - 1;
	c->max_ents = max;
	return true;
}

/* The entry under key, or NULL with *slot the free slot where it goes. */
static sc_ent *sc_find(snap_cache *c, const unsigned char *key, size_t kl, uint32_t h,
		       struct sc_slot **slot)
{
	for (size_t i = h & c->mask;; i = (i + 1) & c->mask) {
		struct sc_slot *sl = &c->slots[i];
		if (!sl->ent) {
			*slot = sl;
			return NULL;
		}
		sc_ent *e = &c->ents[sl->ent - 1];
		if (sl->hash == h && e->key_len == kl && memcmp(c->keys + e->key_off, key, kl) == 0) {
			*slot = sl;
			return e;
		}
	}
}

/* Room for need items of size bytes in *p (capacity *cap, doubling). */
static bool grow_array(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t nc = *cap ? *cap * 2 : 64;
	while (nc < need)
		nc *= 2;
	void *nv = realloc(*p, nc * size);
	if (!nv)
		return false;
	*p = nv;
	*cap = nc;
	return true;
}

/* Remember an answer the cache does not hold yet, emptying the cache first
 * when it is full.  Returns the entry, or NULL when it is not kept (the
 * cache is off, the answer is too big, or out of memory). */
static sc_ent *sc_add(snap_cache *c, const unsigned char *key, size_t kl, uint32_t h,
		      const sc_ref *refs, size_t nref)
{
	if (!sc_ready(c))
		return NULL;
	/* Half the bound for contents: arrays grow by doubling. */
	size_t budget = c->limit / 2, cost = sizeof(sc_ent) + kl + nref * sizeof(sc_ref);
	if (cost > budget / 8)
		return NULL; /* one answer may not crowd out the others */
	if (c->n_ents == c->max_ents ||
	    c->n_ents * sizeof(sc_ent) + c->keys_len + c->n_refs * sizeof(sc_ref) + cost > budget) {
		sc_reset(c);
		sc_count(&c->resets);
	}
	if (!grow_array((void **)&c->ents, &c->cap_ents, c->n_ents + 1, sizeof *c->ents) ||
	    !grow_array((void **)&c->keys, &c->keys_cap, c->keys_len + kl, 1) ||
	    !grow_array((void **)&c->refs, &c->cap_refs, c->n_refs + nref, sizeof *c->refs))
		return NULL;
	struct sc_slot *sl;
	if (sc_find(c, key, kl, h, &sl))
		return NULL; /* callers add only after a miss */
	sc_ent *e = &c->ents[c->n_ents];
	memset(e, 0, sizeof *e);
	e->key_off = (uint32_t)c->keys_len;
	e->key_len = (uint32_t)kl;
	memcpy(c->keys + c->keys_len, key, kl);
	c->keys_len += kl;
	e->ref_off = (uint32_t)c->n_refs;
	e->n_ref = (uint32_t)nref;
	if (nref)
		memcpy(c->refs + c->n_refs, refs, nref * sizeof *refs);
	c->n_refs += nref;
	sl->hash = h;
	sl->ent = (uint32_t)++c->n_ents;
	atomic_store_explicit(&c->held, c->n_ents, memory_order_relaxed);
	return e;
}

/* Look key up; counts the hit or miss.  NULL on a miss or with no cache. */
static const sc_ent *sc_get(snap_cache *c, const unsigned char *key, size_t kl, uint32_t h)
{
	struct sc_slot *sl;
	const sc_ent *e = c->slots ? sc_find(c, key, kl, h, &sl) : NULL;
	sc_count(e ? &c->hits : &c->misses);
	return e;
}

void qd_snap_set_cache(qd_snap *s, size_t bytes)
{
	sc_free(&s->cache);
	s->cache.limit = bytes;
}

void qd_snap_cache_stats_get(const qd_snap *s, qd_snap_cache_stats *out)
{
	out->hits = atomic_load_explicit(&s->cache.hits, memory_order_relaxed);
	out->misses = atomic_load_explicit(&s->cache.misses, memory_order_relaxed);
	out->resets = atomic_load_explicit(&s->cache.resets, memory_order_relaxed);
	out->entries = atomic_load_explicit(&s->cache.held, memory_order_relaxed);
}

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
	} else {
		rc = mdb_txn_renew(s->txn);
		if (!rc)
			rc = mdb_cursor_renew(s->txn, s->cur);
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
	/* The cache's map references hold only for the state they were read
	 * at: pages a later write freed may have been reused. */
	if (s->cache.txnid != txnid) {
		sc_reset(&s->cache);
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
	sc_free(&s->cache);
	free(s);
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
			list_rec_decode(&k, &d, &s->lists[s->nlists++], NULL, NULL, false);
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

	/* One range seek per prefix length: entries at "38", "382", "3822" … */
	for (unsigned len = QD_CODE_MIN; len <= q->len; len++) {
		if (l->code_lengths && !(l->code_lengths & (1u << len)))
			continue;
		memcpy(key + vl, q->digits, len);
		key[vl + len] = 0;
		size_t pl = vl + len + 1;
		MDB_val k = {pl, key}, d;
		int rc;
		for (rc = mdb_cursor_get(s->cur, &k, &d, MDB_SET_RANGE); rc == 0 && has_prefix(&k, key, pl);
		     rc = mdb_cursor_get(s->cur, &k, &d, MDB_NEXT)) {
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
	}
	if (keep)
		sc_add(c, ck, ckl, h, c->pending, c->n_pending);
	*out = s->cands;
	*n = cnt;
	return 0;
}

int qd_snap_list_version(qd_snap *s, const char *list, uint32_t version, qd_list_info *out)
{
	if (!s->open)
		return QD_EIO;
	MDB_val rec;
	return get_version(s->st, s->txn, list, version, out, &rec);
}

int qd_snap_list_at(qd_snap *s, const char *list, int64_t at, qd_list_info *out)
{
	if (!s->open)
		return QD_EIO;
	qd_list_info li;
	uint32_t last, oldest;
	int ret = get_list(s->st, s->txn, list, &li, &last, &oldest);
	if (ret)
		return ret;
	/* Versions are stored in time order, so the one current at `at` is
	 * the newest stored at or before it. */
	for (uint32_t v = last; v >= oldest && v > 0; v--) {
		MDB_val rec;
		ret = get_version(s->st, s->txn, list, v, out, &rec);
		if (ret == QD_ENOENT || ret == QD_EGONE)
			continue;
		if (ret)
			return ret;
		if (out->loaded_at <= at)
			return 0;
	}
	/* Older than every retained version: it did not exist yet, unless
	 * versions were pruned, one of which may have been current then. */
	return oldest > 1 ? QD_EGONE : QD_ENOENT;
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
		if (ret == QD_ENOENT)
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
	unsigned char key[KEY_MAX + 8];
	size_t vl = vprefix(key, l->id, l->version);
	const char *id = c->clause_ids;
	qd_buf_putc(out, '[');
	for (unsigned i = 0; i < c->n_clauses; i++) {
		size_t il = strlen(id);
		if (vl + il > sizeof key)
			return QD_EIO;
		memcpy(key + vl, id, il);
		MDB_val k = {vl + il, key}, d;
		int rc = mdb_get(s->txn, s->st->clauses, &k, &d);
		if (rc)
			return rc == MDB_NOTFOUND ? QD_EIO : map_err(rc);
		if (i)
			qd_buf_putc(out, ',');
		qd_buf_add(out, d.mv_data, d.mv_size);
		id += il + 1;
	}
	qd_buf_putc(out, ']');
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
			sc_add(c, key, 1 + vl + el, h, NULL, 0); /* found = 0 */
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
	sc_ent *e = c->limit ? sc_add(c, key, 1 + vl + el, h, NULL, 0) : NULL;
	if (e) {
		e->found = 1;
		e->status = (uint8_t)out->status;
		e->from = out->valid_from;
		e->to = out->valid_to;
	}
	return 0;
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
	mdb_txn_abort(txn);
	return map_err(rc);
}

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

/* Versions present in the history of one list (for orphan detection). */
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
			int e = get_version(st, txn, id, v, &vi, &rec);
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
