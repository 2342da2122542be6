/* qingdan — rendering a version's records before they are written: the
 * clause JSON, the zstd dictionary and the compressed entries (on two
 * threads for a big document), entry records and keys, and the version
 * record.  An entry's JSON is the document's canonical bytes as they are. */
#include <pthread.h>

#include "qingdan/mem.h"
#include "store_int.h"

void qd_st_rendered_free(rendered *r, const qd_listdoc *doc)
{
	if (r->clause)
		for (size_t i = 0; i < doc->n_clauses; i++)
			free(r->clause[i]);
	free(r->clause);
	free(r->clause_len);
	for (int k = 0; k < 2; k++) {
		for (size_t j = 0; j < r->z_blocks[k].n; j++)
			free(r->z_blocks[k].block[j]);
		free(r->z_blocks[k].block);
	}
	free(r->z);
	free(r->z_len);
	free(r->dict);
	free(r->order);
}

/* Compressed entries are kept in blocks of this size (a bigger one in a
 * block of its own). */
#define Z_BLOCK ((size_t)4 << 20)

/* n bytes for a compressed entry in blocks bl; NULL when out of memory. */
static unsigned char *z_room(z_blocks_t *bl, size_t n)
{
	if (bl->n > 0 && n <= Z_BLOCK - bl->used) {
		unsigned char *p = bl->block[bl->n - 1] + bl->used;
		bl->used += n;
		return p;
	}
	if (bl->n == bl->cap) {
		size_t nc = bl->cap ? bl->cap * 2 : 16;
		unsigned char **nb = realloc(bl->block, nc * sizeof(*nb));
		if (!nb)
			return NULL;
		bl->block = nb;
		bl->cap = nc;
	}
	unsigned char *p = malloc(n > Z_BLOCK ? n : Z_BLOCK);
	if (!p)
		return NULL;
	/* A record bigger than a block fills its own: the next starts anew. */
	bl->block[bl->n++] = p;
	bl->used = n > Z_BLOCK ? Z_BLOCK : n;
	return p;
}

/* A share of a document's entries, [from, to), for one thread's work. */
typedef struct part {
	const qd_listdoc *doc;
	rendered *r;
	const ZSTD_CDict *cd;   /* compress_entries() */
	size_t from, to;
	int idx;                /* which share: 0 or 1 */
	int rc;
} part;

/* Documents at least this big compress their entries on two threads (the
 * entries are only read; a CDict is shared read-only). */
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
	a.idx = 0;
	b.idx = 1;
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

int qd_st_render_doc(const qd_listdoc *doc, rendered *r)
{
	memset(r, 0, sizeof *r);
	size_t nc = doc->n_clauses ? doc->n_clauses : 1;
	r->clause = calloc(nc, sizeof *r->clause);
	r->clause_len = calloc(nc, sizeof *r->clause_len);
	if (!r->clause || !r->clause_len)
		return QD_ENOMEM;
	for (size_t i = 0; i < doc->n_clauses; i++) {
		r->clause[i] = json_dumps(doc->clauses[i].json, JSON_COMPACT | JSON_REAL_PRECISION(15));
		if (!r->clause[i])
			return QD_ENOMEM;
		r->clause_len[i] = strlen(r->clause[i]);
	}
	return 0;
}

static bool entry_record(const qd_listdoc *doc, size_t i, const char *js, size_t jl, unsigned char comp,
			 qd_buf *b);
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
		const qd_entry *e = &p->doc->entries[i];
		size_t len = e->json_len, bound = ZSTD_compressBound(len);
		if (bound > cap) {
			char *t = realloc(tmp, bound);
			if (!t) {
				p->rc = QD_ENOMEM;
				break;
			}
			tmp = t;
			cap = bound;
		}
		size_t zl = ZSTD_compress2(cc, tmp, cap, e->json, len);
		if (ZSTD_isError(zl)) {
			p->rc = QD_ENOMEM;
			break;
		}
		if (zl >= len)
			continue; /* nothing gained: this one stays plain */
		/* The compressed entries of a share follow one another in
		 * blocks of Z_BLOCK bytes: a 60-byte piece malloc()ed alone
		 * would cost a quarter more, and one block grown by realloc()
		 * leaves its old copies on the heap. */
		if (!(r->z[i] = z_room(&r->z_blocks[p->idx], zl))) {
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
int qd_st_compress_doc(const qd_listdoc *doc, rendered *r, uint64_t min_bytes)
{
	size_t n = doc->n_entries, all = 0;
	for (size_t i = 0; i < n; i++)
		all += doc->entries[i].json_len;
	if (all <= min_bytes || n < Z_SAMPLES / 4)
		return 0;
	size_t step = (n + Z_SAMPLES - 1) / Z_SAMPLES, ns = (n + step - 1) / step, total = 0;
	for (size_t i = 0; i < n; i += step)
		total += doc->entries[i].json_len;
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
		memcpy(sb + o, doc->entries[i].json, doc->entries[i].json_len);
		o += doc->entries[i].json_len;
		ss[k++] = doc->entries[i].json_len;
	}
	ZDICT_fastCover_params_t fp = {.k = Z_TRAIN_K, .d = Z_TRAIN_D, .f = 20, .accel = 1,
				       .zParams.compressionLevel = Z_LEVEL};
	size_t dl = ZDICT_trainFromBuffer_fastCover(r->dict, Z_DICT_MAX, sb, ss, (unsigned)ns, fp);
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

/* One entry's place in the key order.  A key goes on after the version
 * prefix with the code's digits, a NUL, the CIQ code (none, or 3 digits),
 * a NUL and the id.  code_ciq holds the first part as 4-bit digits (a
 * digit d as d + 1, a NUL as 0, at most 15 of them, from the top): its
 * order is the bytes' order.  id8 holds the id's first 8 bytes, big-endian
 * (0 past its end: no id holds a NUL).  Only ids that agree on those need
 * the id itself. */
_Static_assert(QD_CODE_MAX + 1 + QD_CIQ_LEN + 1 <= 16, "a code and CIQ code fit 64 bits as 4-bit digits");
#define KEY_BUCKETS 65536 /* the top 16 bits of code_ciq: a code's first 4 digits */

typedef struct keyed {
	uint64_t code_ciq, id8;
	const char *id;
	uint32_t i;
} keyed;

static int keyed_cmp(const void *a, const void *b)
{
	const keyed *x = a, *y = b;
	if (x->code_ciq != y->code_ciq)
		return x->code_ciq < y->code_ciq ? -1 : 1;
	if (x->id8 != y->id8)
		return x->id8 < y->id8 ? -1 : 1;
	int c = strcmp(x->id, y->id);
	return c ? c : x->i < y->i ? -1 : x->i > y->i;
}

int qd_st_key_order(const qd_listdoc *doc, rendered *r)
{
	size_t n = doc->n_entries;
	keyed *v = malloc((n ? n : 1) * sizeof *v);
	if (!v || !(r->order = malloc((n ? n : 1) * sizeof *r->order))) {
		free(v);
		return QD_ENOMEM;
	}
	qd_mem_commit(v, n * sizeof *v);
	for (size_t i = 0; i < n; i++) {
		const qd_entry *e = &doc->entries[i];
		uint64_t cc = 0, id8 = 0;
		unsigned shift = 64;
		for (unsigned d = 0; d < e->code.len; d++)
			cc |= (uint64_t)(e->code.digits[d] - '0' + 1) << (shift -= 4);
		shift -= 4; /* the NUL after the code */
		for (const char *c = e->code.ciq; *c; c++)
			cc |= (uint64_t)(*c - '0' + 1) << (shift -= 4);
		for (unsigned b = 0; b < 8 && e->id[b]; b++)
			id8 |= (uint64_t)(unsigned char)e->id[b] << (56 - 8 * b);
		v[i] = (keyed){.code_ciq = cc, .id8 = id8, .id = e->id, .i = (uint32_t)i};
	}
	/* By the code's first 4 digits first (a counting sort), then each
	 * share of entries with the same 4 by qsort: the same order as one
	 * qsort of them all, in fewer comparisons. */
	size_t *at = calloc(KEY_BUCKETS + 1, sizeof *at);
	keyed *w = malloc((n ? n : 1) * sizeof *w);
	if (!at || !w) {
		free(at);
		free(w);
		free(v);
		return QD_ENOMEM;
	}
	qd_mem_commit(w, n * sizeof *w);
	for (size_t i = 0; i < n; i++)
		at[(v[i].code_ciq >> 48) + 1]++;
	for (size_t b = 1; b <= KEY_BUCKETS; b++)
		at[b] += at[b - 1];
	for (size_t i = 0; i < n; i++)
		w[at[v[i].code_ciq >> 48]++] = v[i];
	/* at[b] is now where bucket b ends. */
	for (size_t b = 0, from = 0; b < KEY_BUCKETS; from = at[b++])
		if (at[b] - from > 1)
			qsort(w + from, at[b] - from, sizeof *w, keyed_cmp);
	for (size_t i = 0; i < n; i++)
		r->order[i] = w[i].i;
	free(at);
	free(w);
	free(v);
	return 0;
}

static void *compress_job_run(void *arg)
{
	compress_job *j = arg;
	if (j->threaded) {
		/* The order first: the diff waits for it. */
		int rc = qd_st_key_order(j->doc, j->r);
		pthread_mutex_lock(&j->mu);
		j->order_rc = rc;
		j->ordered = true;
		pthread_cond_signal(&j->cv);
		pthread_mutex_unlock(&j->mu);
	} else if (!j->ordered) {
		j->order_rc = qd_st_key_order(j->doc, j->r);
		j->ordered = true;
	}
	j->rc = j->order_rc ? j->order_rc : qd_st_compress_doc(j->doc, j->r, j->min_bytes);
	return NULL;
}

void qd_st_compress_begin(compress_job *j, const qd_listdoc *doc, rendered *r, uint64_t min_bytes)
{
	*j = (compress_job){.doc = doc, .r = r, .min_bytes = min_bytes, .begun = true};
	if (pthread_mutex_init(&j->mu, NULL) != 0)
		return;
	if (pthread_cond_init(&j->cv, NULL) != 0) {
		pthread_mutex_destroy(&j->mu);
		return;
	}
	/* threaded is set before the thread starts: it reads it. */
	j->threaded = true;
	if (pthread_create(&j->thread, NULL, compress_job_run, j) != 0) {
		j->threaded = false;
		pthread_cond_destroy(&j->cv);
		pthread_mutex_destroy(&j->mu);
	}
}

int qd_st_order_wait(compress_job *j, const qd_listdoc *doc, rendered *r)
{
	if (j->begun && j->threaded) {
		pthread_mutex_lock(&j->mu);
		while (!j->ordered)
			pthread_cond_wait(&j->cv, &j->mu);
		pthread_mutex_unlock(&j->mu);
		return j->order_rc;
	}
	if (r->order)
		return 0;
	int rc = qd_st_key_order(doc, r);
	if (j->begun) {
		j->ordered = true;
		j->order_rc = rc;
	}
	return rc;
}

int qd_st_compress_finish(compress_job *j)
{
	if (!j->begun)
		return 0;
	j->begun = false;
	if (j->threaded) {
		pthread_join(j->thread, NULL);
		pthread_cond_destroy(&j->cv);
		pthread_mutex_destroy(&j->mu);
	} else {
		compress_job_run(j);
	}
	return j->rc;
}

bool qd_st_entry_record(const qd_listdoc *doc, const rendered *r, size_t i, qd_buf *b)
{
	const qd_entry *e = &doc->entries[i];
	if (r->z && r->z[i])
		return entry_record(doc, i, (const char *)r->z[i], r->z_len[i], COMP_ZSTD_DICT, b);
	return entry_record(doc, i, e->json, e->json_len, COMP_NONE, b);
}

/* Build the record of entry i, with jl bytes of JSON js stored as comp
 * says, into b; true when it is in format 3 (its key then ends in a NUL,
 * see entry_key_tail()). */
static bool entry_record(const qd_listdoc *doc, size_t i, const char *js, size_t jl, unsigned char comp,
			 qd_buf *b)
{
	const qd_entry *e = &doc->entries[i];
	size_t idlen = strlen(e->id), entlen = 0, cllen = 0;
	for (size_t j = 0; j < e->n_entities; j++)
		entlen += strlen(e->entities[j]) + 1;
	for (size_t j = 0; j < e->n_clauses; j++)
		cllen += strlen(doc->clauses[e->clauses[j]].id) + 1;
	bool f3 = e->n_entities <= 0xffff && entlen <= 0xffff && cllen <= 0xffff;
	unsigned char h[ER_DATA];
	memset(h, 0, sizeof h);
	h[ER_FMT] = f3 ? (e->terms_len ? ENTRY_REC_FMT4 : ENTRY_REC_FMT3)
		       : (e->terms_len ? ENTRY_REC_FMT5 : ENTRY_REC_FMT);
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
	if (e->terms_len)
		qd_buf_add(b, e->terms, e->terms_len);
	return f3;
}

/* The key of entry e after its version prefix: code, NUL, ciq, NUL, id;
 * with a NUL after the id for a format-3 record (f3).  Returns its length,
 * or -1 when it does not fit in room bytes. */
static int entry_key_tail(unsigned char *k, size_t room, const qd_entry *e, bool f3)
{
	size_t cl = strlen(e->code.ciq), il = strlen(e->id);
	size_t n = e->code.len + 1 + cl + 1 + il + f3;
	if (n > room)
		return -1;
	memcpy(k, e->code.digits, e->code.len);
	n = e->code.len;
	k[n++] = 0;
	memcpy(k + n, e->code.ciq, cl);
	n += cl;
	k[n++] = 0;
	memcpy(k + n, e->id, il);
	n += il;
	if (f3)
		k[n++] = 0;
	return (int)n;
}

int qd_st_entry_key(unsigned char *k, const char *list, uint32_t version, const qd_entry *e,
		     bool f3)
{
	size_t n = vprefix(k, list, version);
	/* KEY_MAX less one: the key without its NUL stays under KEY_MAX. */
	int t = entry_key_tail(k + n, KEY_MAX - 1 - n + f3, e, f3);
	return t < 0 ? -1 : (int)n + t;
}

/* Which code lengths the document's entries use: a lookup seeks only those
 * prefix lengths (most lists name items at 4, 6, 8 and 10 digits). */
uint16_t qd_st_code_lengths(const qd_listdoc *doc)
{
	uint16_t m = 0;
	for (size_t i = 0; i < doc->n_entries; i++)
		m |= (uint16_t)(1u << doc->entries[i].code.len);
	return m;
}

/* The version record: a binary header (what as-of lookups need without
 * parsing JSON) and JSON with the metadata and the document without its
 * entries ("header"). */
int qd_st_version_record(const qd_listdoc *doc, const qd_put_opts *o, uint32_t version,
			  const char *sha, qd_buf *b)
{
	json_t *hdr = json_copy(doc->json);
	if (!hdr)
		return QD_ENOMEM;
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
	uint16_t lengths = qd_st_code_lengths(doc);
	h[VR_LENGTHS] = (unsigned char)lengths;
	h[VR_LENGTHS + 1] = (unsigned char)(lengths >> 8);
	put_u32(h + VR_ENTRIES, (uint32_t)doc->n_entries);
	put_u32(h + VR_MEMBERS, (uint32_t)doc->n_members);
	memcpy(h + VR_LOADED, &o->now, 8);
	memcpy(h + VR_SHA, sha, 64);
	if (doc->terms_len)
		put_u32(h + VR_TERMS, (uint32_t)(VR_JSON + strlen(js)));
	qd_buf_reset(b);
	qd_buf_add(b, h, sizeof h);
	qd_buf_puts(b, js);
	free(js);
	if (doc->terms_len)
		qd_buf_add(b, doc->terms, doc->terms_len);
	return b->oom ? QD_ENOMEM : 0;
}
