/* qingdan — the LMDB store: what its files share (not installed).
 *
 * open.c      environment, named databases, list metadata, stats
 * render.c    rendering and compressing a version's records (two threads)
 * write.c     qd_store_put()
 * audit.c     the audit log writer: attempt records, their index and pruning
 * history.c   versions, documents, diffs, audit pages, entry pages
 * snap.c      read snapshots for decisions (the lookup path)
 * snapcache.c a snapshot's read cache
 * verify.c    integrity check and backup
 * feed.c      the feed: chained, signed records of committed versions
 *
 * No MDB_* type appears outside these files.
 *
 * Named databases and their keys ("|" is concatenation, be32 a big-endian
 * uint32 so versions sort numerically, \0 a zero byte):
 *
 *   lists     id                                   → list record (binary header + title JSON)
 *   versions  id|\0|be32(version)                  → version record (binary header + JSON: metadata, document without
 *                                                  entries; then the list's decision terms, when it has any)
 *   entries   id|\0|be32(version)|code|\0|ciq|\0|entry-id → entry record (binary header + pre-rendered JSON;
 *                                                  then the entry's decision terms, formats 4 and 5)
 *   members   id|\0|be32(version)|entity-id        → roster record (binary)
 *   clauses   id|\0|be32(version)|clause-id        → clause object (compact JSON)
 *   audit     be64(sequence)                       → audit record (JSON)
 *   attempts  be64(sequence)                       → be64(unix time): the audit records of
 *                                                  attempts that changed nothing (prunable)
 *   feed      be64(seq)                            → feed record: fmt | hash (64 hex) |
 *                                                  be32(length) | canonical JSON | signature JSON
 *   schedule  id|\0|be32(version)                  → schedule record (SCHED_REC_LEN): when a
 *                                                  version stored ahead of time takes effect,
 *                                                  and whether it was cancelled; versions
 *                                                  without one took effect when stored
 *   proposals be64(id)                             → proposal record: fmt (1) | 3 zero bytes |
 *                                                  u32(length of the JSON) | JSON (the
 *                                                  proposal's fields, times as unix seconds,
 *                                                  the summary as an object) | the canonical
 *                                                  document, while pending (dropped when it
 *                                                  is decided or found expired)
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
#ifndef QINGDAN_STORE_INT_H
#define QINGDAN_STORE_INT_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>
#define ZDICT_STATIC_LINKING_ONLY /* ZDICT_trainFromBuffer_fastCover() */
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

/* List record format 2, written since versions can be scheduled: format
 * 1's header, then LR_NEXT, the earliest effective_at of a scheduled
 * version still to come when the record was written (0: none), and
 * LR_FLAGS; the title follows at LR_TITLE2.  LR_CURRENT and the counts
 * are the version current when the record was written: once LR_NEXT has
 * passed, readers work out the current version from the "schedule"
 * database (qd_st_list_due()).  Both formats are read. */
#define LIST_REC_FMT2 2
enum { LR_NEXT = 96, LR_FLAGS = 104, LR_TITLE2 = 112 };
enum { LRF_SCHEDULED = 1 }; /* some version of the list was ever scheduled */

/* A schedule record: effective_at (8, host order), state (1). */
#define SCHED_REC_LEN 16
enum { SCHED_PENDING = 0, SCHED_CANCELLED = 1 };

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

/* Formats 4 and 5: formats 3 and 2 followed by the entry's decision terms
 * (qd_entry.terms, the v2 fields a decision reads): the bytes after the
 * clause ids.  Entries without terms keep formats 3 and 2. */
#define ENTRY_REC_FMT4 4
#define ENTRY_REC_FMT5 5

/* ER_NCL counts an entry's clauses in 16 bits in both formats. */
_Static_assert(QD_ENTRY_CLAUSES_MAX <= 0xffff, "an entry record cannot count that many clauses");

#define MEMBER_REC_LEN 12

/* The entry JSON of a big version is stored compressed (zstd) with a
 * dictionary trained on that version's own entries and kept in the "dicts"
 * database under the version's key: entries of one list repeat the same
 * names, conditions and clause ids, so a 100 000-entry version takes a
 * third of the space and a lookup maps that many fewer pages.  It costs
 * CPU: every entry an answer shows is decompressed, a sizeable share of
 * a lookup's work for a 500-byte entry, so only versions whose entries render to more than Z_MIN_BYTES are
 * compressed, where memory is what the store runs short of first.  ER_COMP
 * says how one record's JSON is stored. */
enum { COMP_NONE = 0, COMP_ZSTD_DICT = 1 };
#define Z_MIN_BYTES ((uint64_t)32 << 20) /* default: versions with less stay plain */
#define Z_SAMPLES 4000            /* entries the dictionary learns from, at most */
#define Z_DICT_MAX 32768
/* fastCover's segment and d-mer sizes.  ZDICT_trainFromBuffer() tries four
 * segment sizes and keeps the best, training four times: on 100 000-entry
 * lists it chose 1 024 or 1 511, and one training with a fixed size of
 * that order compresses as well (on all the samples rather than the three
 * quarters the search trains on) for a quarter of the instructions. */
#define Z_TRAIN_K 1511
#define Z_TRAIN_D 8
#define Z_LEVEL 3
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
enum { VR_FMT = 0, VR_LENGTHS = 2, VR_ENTRIES = 4, VR_MEMBERS = 8, VR_TERMS = 12, VR_LOADED = 16, VR_SHA = 24, VR_JSON = 88 };
/* VR_TERMS: 0, or where the version's list terms (qd_listdoc.terms) start:
 * they follow the JSON to the record's end.  Records written before v2
 * have 0 there. */
#define VERSION_REC_FMT 1

/* Longest entry key: list id, version, code, ciq, entry id and separators. */
#define KEY_MAX (QD_LIST_ID_MAX + 1 + 4 + QD_CODE_MAX + 1 + QD_CIQ_LEN + 1 + 64 + 16)

struct qd_store {
	MDB_env *env;
	MDB_dbi lists, versions, entries, members, clauses, audit, dicts, attempts, feed, proposals, schedule;
	bool has_dicts, has_attempts, has_feed, has_proposals, has_schedule;
	int64_t fixed_now;       /* qd_store_set_time(): the clock "now" reads; 0: the real one */
	qd_feed_signer signer;   /* .sign NULL: records are not signed; set before use */
	unsigned retain;
	bool read_only;
	uint64_t compress_min_bytes;
};

/* A snapshot handle's read cache (see qd_snap_set_cache()).  It maps a key
 * — SC_CANDS: list, version, code digits, CIQ; SC_MEMBER: list, version,
 * entity; SC_CLAUSE: list, version, clause id — to what the B-tree said for
 * the committed state `txnid`: the candidate records or the clause's JSON,
 * as references into the map, or the roster record.  Map pages of that
 * state stay put until a later write commits, and the cache is emptied as
 * soon as the handle sees one (qd_snap_open()). */
enum { SC_CANDS = 'c', SC_MEMBER = 'm', SC_CLAUSE = 'l' };

typedef struct sc_ref {            /* one candidate record in the map (SC_CLAUSE: d, dl only) */
	const unsigned char *k;
	const void *d;
	uint16_t kl, kid;               /* key length, offset of the entry id in it */
	uint32_t dl;
} sc_ref;

typedef struct sc_ent {
	uint32_t key_off, key_len;      /* in keys */
	uint32_t ref_off, n_ref;        /* SC_CANDS, SC_CLAUSE: refs[ref_off, ref_off + n_ref) */
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

/* What a snapshot reads once with its lists (qd_snap_lists()) and holds
 * until they are read again (a write commits, a scheduled version takes
 * effect): each listed version's clause texts, when it has at most
 * HELD_CLAUSES_MAX, and its roster, when it has at most HELD_MEMBERS_MAX
 * members — as references into the map, the clauses in key order and the
 * members in a hash table, so a lookup finds the deciding entry's clauses
 * and the asking entity's roster record without a B-tree search each (two a lookup, about
 * 1 100 instructions each, more for the first of a database in a
 * transaction).  A version with more is read from the store as before. */
#define HELD_CLAUSES_MAX 256
#define HELD_MEMBERS_MAX 2048

typedef struct held_clause {
	const unsigned char *id;        /* the key's clause id (not NUL-terminated) */
	const void *d;                  /* the clause's JSON */
	uint32_t idl, dl;
} held_clause;

typedef struct held_member {
	const unsigned char *e;         /* the key's entity id (not NUL-terminated) */
	uint32_t el, list;              /* list: its index in s->lists */
	uint32_t hash;                  /* held_hash(list, e, el) */
	uint8_t status;
	int32_t from, to;
} held_member;

/* Where a held member is looked up: its entity's bytes and its list. */
static inline uint32_t held_hash(size_t list, const unsigned char *e, size_t el)
{
	return qd_hash_bytes(e, el) ^ (uint32_t)(list * 0x9e3779b9u);
}

typedef struct held_list {              /* one per s->lists[i] */
	uint32_t c_off, n_c, m_off, n_m;  /* hc[c_off, c_off + n_c), hm[m_off, m_off + n_m) */
	bool clauses, roster;             /* held: every clause, every member */
} held_list;

struct qd_snap {
	qd_store *st;
	MDB_txn *txn;        /* NULL until first open; reset (not freed) when closed */
	bool open;
	MDB_cursor *cur;     /* cursor on entries; bound to the open transaction only while cur_ready */
	bool cur_ready;      /* cur renewed for this transaction: done at its first search, since
			      * a lookup the read cache answers needs no cursor */
	qd_list_info *lists; /* cached for the open transaction; valid while open */
	size_t nlists, caplists;
	bool lists_loaded;
	size_t lists_txnid;  /* the snapshot (last committed write) lists were read at */
	int64_t lists_until; /* … and the instant a scheduled version changes them (INT64_MAX: none) */
	qd_cand *cands;
	size_t capcands;
	held_list *held;     /* parallel to lists, valid with them */
	size_t cap_held;
	held_clause *hc;
	size_t n_hc, cap_hc;
	held_member *hm;
	size_t n_hm, cap_hm;
	uint32_t *hm_slots;  /* open addressing over hm: index + 1, 0 free */
	size_t hm_mask, cap_slots;
	_Atomic uint64_t held_c, held_m; /* what is held, for qd_snap_cache_stats_get() */
	qd_list_info *at_lists; /* results of qd_snap_lists_at(), valid while open */
	size_t cap_at;
	qd_buf scratch[QD_SNAP_SCRATCH];
	zreader z;
	snap_cache cache;
};

/* ---- small helpers: inline, the lookup path (snap.c) decodes records with them ---- */

static inline int map_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS: return 0;
	case MDB_NOTFOUND: return QD_ENOENT;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case MDB_READERS_FULL: return rc == MDB_READERS_FULL ? QD_EIO : QD_ENOSPC;
	case ENOMEM: return QD_ENOMEM;
	case ENOSPC:
	case EDQUOT:
	case EFBIG: return QD_ENOSPC;
	default: return QD_EIO;
	}
}

static inline void put_u32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static inline uint32_t get_u32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline void put_i32(unsigned char *p, int32_t v)
{
	memcpy(p, &v, 4);
}

static inline int32_t get_i32(const unsigned char *p)
{
	int32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline void put_u16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline unsigned get_u16(const unsigned char *p)
{
	return (unsigned)(p[0] | p[1] << 8);
}

static inline void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static inline void be64_put(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static inline uint64_t be64_read(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Writes id|\0|be32(version) into k; returns its length. */
static inline size_t vprefix(unsigned char *k, const char *list, uint32_t version)
{
	size_t n = strlen(list);
	memcpy(k, list, n);
	k[n] = 0;
	put_be32(k + n + 1, version);
	return n + 5;
}

static inline bool has_prefix(const MDB_val *key, const unsigned char *p, size_t n)
{
	return key->mv_size >= n && memcmp(key->mv_data, p, n) == 0;
}

static inline void zr_free(zreader *z)
{
	ZSTD_freeDCtx(z->dctx);
	for (unsigned i = 0; i < Z_SLOTS; i++)
		ZSTD_freeDDict(z->slot[i].dd);
	memset(z, 0, sizeof *z);
}

/* The dictionary of (list, version), from the cache or the store. */
static inline int zr_dict(zreader *z, qd_store *st, MDB_txn *txn, const char *list, uint32_t version,
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
static inline int zr_json(zreader *z, qd_store *st, MDB_txn *txn, const char *list, uint32_t version,
		   unsigned comp, const char *json, size_t len, qd_buf *out)
{
	if (comp == COMP_NONE) {
		qd_buf_add(out, json, len);
		return out->oom ? QD_ENOMEM : 0;
	}
	if (comp != COMP_ZSTD_DICT)
		return QD_EIO;
	unsigned long long n = ZSTD_getFrameContentSize(json, len);
	if (n == ZSTD_CONTENTSIZE_UNKNOWN || n == ZSTD_CONTENTSIZE_ERROR || n > QD_ENTRY_JSON_MAX)
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
static inline int rec_decode(const MDB_val *k, const MDB_val *d, qd_cand *c, uint32_t *seq,
		      const unsigned char *kid)
{
	const unsigned char *p = d->mv_data;
	uint64_t entlen, jl, cl, data;
	/* Format 3 (and 4) first: what the store writes now. */
	if (d->mv_size >= E3_DATA && (p[ER_FMT] == ENTRY_REC_FMT3 || p[ER_FMT] == ENTRY_REC_FMT4)) {
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
	} else if (d->mv_size >= ER_DATA && (p[ER_FMT] == ENTRY_REC_FMT || p[ER_FMT] == ENTRY_REC_FMT5)) {
		uint32_t idlen = get_u32(p + ER_IDLEN);
		entlen = get_u32(p + ER_ENTLEN);
		jl = get_u32(p + ER_JSONLEN);
		cl = get_u32(p + ER_CLLEN);
		data = (uint64_t)ER_DATA + idlen + 1;
		if (data > d->mv_size || p[ER_DATA + idlen] != '\0')
			return QD_EIO;
		c->n_entities = get_u32(p + ER_NENT);
		c->id = (const char *)p + ER_DATA;
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
	c->terms = NULL;
	c->terms_len = 0;
	if (p[ER_FMT] == ENTRY_REC_FMT4 || p[ER_FMT] == ENTRY_REC_FMT5) {
		uint64_t at = data + entlen + jl + 1 + cl;
		if (at >= d->mv_size)
			return QD_EIO;
		c->terms = (const char *)p + at;
		c->terms_len = (size_t)(d->mv_size - at);
	}
	if (seq)
		*seq = get_u32(p + ER_SEQ);
	return 0;
}

/* ---- list records ---- */

static inline void list_rec_decode(const MDB_val *key, const MDB_val *val, qd_list_info *out,
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
	size_t title = LR_TITLE;
	if (p[LR_FMT] == LIST_REC_FMT2) {
		memcpy(&out->next_at, p + LR_NEXT, 8);
		out->has_schedule = (get_u32(p + LR_FLAGS) & LRF_SCHEDULED) != 0;
		title = LR_TITLE2;
	}
	if (last)
		*last = get_u32(p + LR_LAST);
	if (oldest)
		*oldest = get_u32(p + LR_OLDEST);
	if (want_title && val->mv_size > title)
		out->title = strndup((const char *)p + title, val->mv_size - title);
}

static inline bool list_rec_valid(const MDB_val *val)
{
	unsigned fmt = val->mv_size ? ((const unsigned char *)val->mv_data)[LR_FMT] : 0;
	return (fmt == LIST_REC_FMT && val->mv_size > LR_TITLE) || (fmt == LIST_REC_FMT2 && val->mv_size > LR_TITLE2);
}

static inline bool version_rec_valid(const MDB_val *d)
{
	if (d->mv_size <= VR_JSON || ((const unsigned char *)d->mv_data)[VR_FMT] != VERSION_REC_FMT)
		return false;
	uint32_t t = get_u32((const unsigned char *)d->mv_data + VR_TERMS);
	return t == 0 || (t > VR_JSON && t <= d->mv_size);
}

/* The length of a valid version record's JSON. */
static inline size_t version_rec_json_len(const MDB_val *d)
{
	uint32_t t = get_u32((const unsigned char *)d->mv_data + VR_TERMS);
	return (t ? t : d->mv_size) - VR_JSON;
}

/* Decode a valid version record's list terms into out (present false when
 * it has none).  Returns 0, or QD_EIO when they are malformed. */
static inline int version_rec_terms(const MDB_val *d, qd_list_terms *out)
{
	uint32_t t = get_u32((const unsigned char *)d->mv_data + VR_TERMS);
	if (!t)
		return qd_list_terms_decode(NULL, 0, out);
	return qd_list_terms_decode((const char *)d->mv_data + t, d->mv_size - t, out) ? QD_EIO : 0;
}


/* ---- the read cache's lookup: inline, it is on every lookup's path ---- */

static inline void sc_count(_Atomic uint64_t *n)
{
	atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1, memory_order_relaxed);
}

static inline uint32_t sc_hash(const unsigned char *k, size_t n)
{
	return qd_hash_bytes(k, n);
}

/* The entry under key, or NULL with *slot the free slot where it goes. */
static inline sc_ent *sc_find(snap_cache *c, const unsigned char *key, size_t kl, uint32_t h,
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
static inline bool grow_array(void **p, size_t *cap, size_t need, size_t size)
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

/* Look key up; counts the hit or miss.  NULL on a miss or with no cache. */
static inline const sc_ent *sc_get(snap_cache *c, const unsigned char *key, size_t kl, uint32_t h)
{
	struct sc_slot *sl;
	const sc_ent *e = c->slots ? sc_find(c, key, kl, h, &sl) : NULL;
	sc_count(e ? &c->hits : &c->misses);
	return e;
}

/* ---- what the files share ---- */

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

/* The blocks one thread's compressed entries are kept in (render.c). */
typedef struct z_blocks_t {
	unsigned char **block;
	size_t n, cap;
	size_t used;     /* bytes taken in the last block */
} z_blocks_t;

/* Pre-rendered JSON of a document's clauses, and its entries compressed
 * (their plain JSON is the document's own, qd_entry.json). */
typedef struct rendered {
	char **clause;   /* per clause */
	size_t *clause_len;
	/* Per entry of a compressed version: its JSON compressed (z_len
	 * bytes, in the blocks of the thread that compressed it), or NULL
	 * when that gained nothing.  z NULL: the version stays plain. */
	unsigned char **z;
	size_t *z_len;
	z_blocks_t z_blocks[2];
	void *dict;      /* the dictionary, when entries are compressed */
	size_t dict_len;
	uint32_t *order; /* entry indices in key order (qd_st_key_order()), or NULL */
} rendered;

/* ---- functions the files share ---- */

/* open.c: commit txn and translate the result like map_err(), except that
 * an EIO while the store's filesystem is (nearly) out of space is
 * QD_ENOSPC: LMDB reports a short write as EIO.  txn is gone either way.
 * Returns 0, QD_ENOSPC, QD_ENOMEM or QD_EIO. */
int qd_st_commit(qd_store *st, MDB_txn *txn);

/* open.c: read a list record in txn.  Returns 0, QD_ENOLIST or QD_EIO. */
int qd_st_get_list(qd_store *st, MDB_txn *txn, const char *list, qd_list_info *li,
		   uint32_t *last, uint32_t *oldest);

/* open.c: read the version record of list@version (0: the current one)
 * into li and rec (rec valid while txn lives).  Returns 0, QD_ENOLIST (no
 * such list), QD_ENOVERSION (the version never existed), QD_EGONE (pruned)
 * or QD_EIO. */
int qd_st_get_version(qd_store *st, MDB_txn *txn, const char *list, uint32_t version,
		      qd_list_info *li, MDB_val *rec);

/* render.c: render the document's clauses into r (its entries' JSON is
 * the document's own).  Free r with qd_st_rendered_free() whatever this
 * returns.  Returns 0 or QD_ENOMEM. */
int qd_st_render_doc(const qd_listdoc *doc, rendered *r);

/* render.c: free what r holds. */
void qd_st_rendered_free(rendered *r, const qd_listdoc *doc);

/* render.c: train a dictionary on a big version's entries and compress
 * them into r->z (left NULL for a version that stays plain).  Returns 0
 * or QD_ENOMEM. */
int qd_st_compress_doc(const qd_listdoc *doc, rendered *r, uint64_t min_bytes);

/* render.c: the document's entries in the order of their keys, into
 * r->order (keys sort alike whatever the list and version).
 * Returns 0 or QD_ENOMEM. */
int qd_st_key_order(const qd_listdoc *doc, rendered *r);

/* render.c: qd_st_key_order() and qd_st_compress_doc() begun on a thread
 * of their own, so that the digest, the checks and the diff run beside
 * them; finished (joined, its result returned) by qd_st_compress_finish(),
 * which runs them there and then when no thread could be had.  Finish
 * every job begun, before its r is freed. */
typedef struct compress_job {
	const qd_listdoc *doc;
	rendered *r;
	uint64_t min_bytes;
	int rc;
	bool begun, threaded;
	pthread_t thread;
	pthread_mutex_t mu;  /* guards ordered and order_rc while threaded */
	pthread_cond_t cv;   /* signalled when ordered becomes true */
	bool ordered;        /* r->order is done (order_rc: how it went) */
	int order_rc;
} compress_job;
void qd_st_compress_begin(compress_job *j, const qd_listdoc *doc, rendered *r, uint64_t min_bytes);
int qd_st_compress_finish(compress_job *j);

/* render.c: make sure r->order is there before the job is finished: wait
 * for the job's thread to work it out, or (no job begun, or no thread
 * for it) work it out here.  Returns 0 or QD_ENOMEM. */
int qd_st_order_wait(compress_job *j, const qd_listdoc *doc, rendered *r);

/* render.c: build the entry record of entry i, its JSON plain, into b;
 * true when it is in format 3 (its key then ends in a NUL, see
 * qd_st_entry_key()). */
bool qd_st_entry_record(const qd_listdoc *doc, const rendered *r, size_t i, qd_buf *b);

/* render.c: write the key of entry e into k (KEY_MAX bytes); returns its
 * length, or -1 when it does not fit. */
int qd_st_entry_key(unsigned char *k, const char *list, uint32_t version, const qd_entry *e,
		    bool f3);

/* render.c: bit L set when some entry of doc has an L-digit code. */
uint16_t qd_st_code_lengths(const qd_listdoc *doc);

/* render.c: build the version record of doc into b.
 * Returns 0 or QD_ENOMEM. */
int qd_st_version_record(const qd_listdoc *doc, const qd_put_opts *o, uint32_t version,
			 const char *sha, qd_buf *b);

/* history.c: order kv by id (for qsort). */
int qd_st_kv_cmp(const void *a, const void *b);
/* A copy of the string member key of o (history.c); NULL (and *ok
 * untouched) when it is null or absent, NULL with *ok false when it is
 * something else or memory ran out.  free() it. */
char *qd_st_jstr_dup(json_t *o, const char *key, bool *ok);

/* history.c: free what r holds. */
void qd_st_vread_free(vread *r);

/* history.c: every entry of one version as (id, json) pairs sorted by id.
 *   out  a new array of *n pairs; its pointers are LMDB's or into vr's
 *        buffer: valid until the next write in txn and while vr lives
 * Returns 0, QD_ENOMEM or QD_EIO. */
int qd_st_read_version_entries(qd_store *st, MDB_txn *txn, const char *list, uint32_t version,
			       kv **out, size_t *n, vread *vr);

/* history.c: count added / removed / changed entries between two id-sorted
 * arrays into res, and list the first QD_CHANGES_MAX changes into ch when
 * it is not NULL.  Returns 0 or QD_ENOMEM. */
int qd_st_diff_sorted(const kv *a, size_t na, const kv *b, size_t nb, qd_put_result *res,
		      qd_changes *ch);

/* audit.c: append audit record a in txn, with the next sequence number;
 * attempt: it is an attempt record (indexed in "attempts").
 * Returns 0, QD_ENOSPC, QD_ENOMEM or QD_EIO. */
int qd_st_audit_put(qd_store *st, MDB_txn *txn, const qd_audit_rec *a, bool attempt);

/* audit.c: index the attempt records of a store written before the
 * "attempts" database existed, in txn (once, when it is created).
 * Returns 0, QD_ENOMEM or QD_EIO. */
int qd_st_attempts_build(qd_store *st, MDB_txn *txn);

/* feed.c: what a committed version's feed record says. */
typedef struct feed_fields {
	const char *list, *action, *sha256, *actor; /* sha256, actor may be NULL */
	uint32_t version;
	long entries;                               /* -1: unknown (null) */
	int64_t committed_at, effective_at;
} feed_fields;

/* feed.c: append the feed record of f in txn, chained to the last one and
 * signed when the store has a signer.  Returns 0, QD_ENOSPC, QD_ENOMEM,
 * QD_EIO (also when signing fails: nothing unsigned slips in while a key
 * is set). */
int qd_st_feed_put(qd_store *st, MDB_txn *txn, const feed_fields *f);

/* feed.c: append a record made elsewhere (a follower applying its
 * primary's), verbatim, in txn: its seq must follow the head and its prev
 * be the head's hash (else QD_ECONFLICT).  f holds rec's members. */
int qd_st_feed_put_rec(qd_store *st, MDB_txn *txn, const qd_feed_rec *rec, const qd_feed_fields *f);

/* feed.c: build the feed of a store that predates it from its audit log's
 * records of stored changes (unsigned), in txn. */
int qd_st_feed_build(qd_store *st, MDB_txn *txn);

/* proposals.c: read proposal id in txn at `now` into out (strings
 * malloc()ed), doc (may be NULL) pointing at its document in the map
 * (size 0 when it has none).  Returns 0, QD_ENOPROPOSAL, QD_ENOMEM or
 * QD_EIO. */
int qd_st_proposal_read(qd_store *st, MDB_txn *txn, uint64_t id, int64_t now, qd_proposal *out, MDB_val *doc);

/* proposals.c: check, in txn, that proposal id may be approved by actor
 * at now as a change of list from version `current` (0: no list yet);
 * out receives it.  Returns 0, QD_ENOPROPOSAL, QD_EDECIDED, QD_EEXPIRED,
 * QD_ESAMEPERSON, QD_ECONFLICT (another list, or the list is no longer at
 * the base version), QD_ENOMEM or QD_EIO. */
int qd_st_proposal_check(qd_store *st, MDB_txn *txn, uint64_t id, const char *actor, int64_t now,
			 const char *list, uint32_t current, qd_proposal *out);

/* proposals.c: rewrite proposal p in txn as decided (state, decided_by
 * actor, decision_comment comment, decided_at now, version), without its
 * document.  Returns 0, QD_ENOSPC, QD_ENOMEM or QD_EIO. */
int qd_st_proposal_close(qd_store *st, MDB_txn *txn, qd_proposal *p, enum qd_proposal_state state,
			 const char *actor, const char *comment, int64_t now, uint32_t version);

/* schedule.c: the clock: qd_store_set_time()'s instant, or the time. */
int64_t qd_st_now(const qd_store *st);

/* schedule.c: the version of list current at instant `at` into out (as
 * qd_st_get_version() fills it): the one with the latest effective time
 * at or before `at` (a scheduled version's effective_at, any other's
 * loaded_at; cancelled ones never), the higher version on a tie.
 * last, oldest: the list record's; has_schedule: its LRF_SCHEDULED.
 * Returns 0; QD_ENOLIST (none yet); QD_EGONE (pruned); QD_EIO. */
int qd_st_current_at(qd_store *st, MDB_txn *txn, const char *list, uint32_t last, uint32_t oldest,
		     bool has_schedule, int64_t at, qd_list_info *out);

/* schedule.c: li was decoded from a list record (last, oldest its own):
 * when a scheduled version has taken effect by `now` since the record was
 * written, make li describe the version current now.  until (may be NULL)
 * is lowered to the next instant at which that changes (kept when none).
 * Returns 0 or as qd_st_current_at(). */
int qd_st_list_due(qd_store *st, MDB_txn *txn, qd_list_info *li, uint32_t last, uint32_t oldest, int64_t now,
		   int64_t *until);

/* schedule.c: the earliest effective_at after `after` of list's pending
 * scheduled versions into *out (0: none).  Returns 0 or QD_EIO. */
int qd_st_next_at(qd_store *st, MDB_txn *txn, const char *list, int64_t after, int64_t *out);

/* schedule.c: of list's pending scheduled versions to take effect after
 * `after`, the one with the latest instant: its version and instant into
 * *version and *eff (0 and 0: none).  Returns 0 or QD_EIO. */
int qd_st_sched_after(qd_store *st, MDB_txn *txn, const char *list, int64_t after, uint32_t *version,
		      int64_t *eff);

/* schedule.c: write version's schedule record (pending, effective_at).
 * Returns 0, QD_ENOSPC, QD_ENOMEM, QD_EIO. */
int qd_st_sched_put(qd_store *st, MDB_txn *txn, const char *list, uint32_t version, int64_t effective_at,
		    unsigned state);

/* schedule.c: version's schedule record: 0 with *eff and *state, or
 * QD_ENOENT (it took effect when stored), QD_EIO. */
int qd_st_sched_get(qd_store *st, MDB_txn *txn, const char *list, uint32_t version, int64_t *eff,
		    unsigned *state);

/* schedule.c: cancel version of list (pending at `now`) in txn, as the
 * feed record rec says (a follower) or as actor does here (rec NULL):
 * its schedule record, the list record's LR_NEXT, the feed and audit
 * records.  Returns 0, QD_ENOENT (nothing pending to cancel), QD_ECONFLICT
 * (rec does not follow the head), QD_ENOSPC, QD_ENOMEM, QD_EIO. */
int qd_st_cancel(qd_store *st, MDB_txn *txn, const char *list, uint32_t version, int64_t now, const char *actor,
		 const char *client, const qd_feed_rec *rec, const qd_feed_fields *f);

/* snapcache.c: forget every answer (keeps the memory). */
void qd_st_sc_reset(snap_cache *c);

/* snapcache.c: free the cache's memory (its bound stays). */
void qd_st_sc_free(snap_cache *c);

/* snapcache.c: remember an answer the cache does not hold yet, emptying
 * the cache first when it is full.  Returns the entry, or NULL when it is
 * not kept (the cache is off, the answer is too big, or out of memory). */
sc_ent *qd_st_sc_add(snap_cache *c, const unsigned char *key, size_t kl, uint32_t h,
		     const sc_ref *refs, size_t nref);


#endif
