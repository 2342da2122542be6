/* qingdan — the feed: one record per committed version, chained by hash
 * and signed (store.h, "the feed").
 *
 * A record's value in the "feed" database is
 *   FEED_REC_FMT | hash (64 hex) | be32(length) | canonical JSON | sig
 * where sig is the compact JSON {"alg","kid","value"} or nothing.  The
 * hash is kept so that appending a record reads one value, not the chain. */
#include <jansson.h>

#include "qingdan/jcs.h"
#include "store_int.h"

#define FEED_REC_FMT 1
enum { FR_FMT = 0, FR_HASH = 1, FR_LEN = 65, FR_JSON = 69 };

static const char zero_hash[QD_FEED_HASH_HEX] =
	"0000000000000000000000000000000000000000000000000000000000000000";

static uint32_t be32_read(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void qd_store_set_signer(qd_store *st, const qd_feed_signer *s)
{
	if (s)
		st->signer = *s;
	else
		memset(&st->signer, 0, sizeof st->signer);
}

/* The last record's seq and hash in txn (0 and 64 zeros when none). */
static int feed_last(qd_store *st, MDB_txn *txn, uint64_t *seq, char hash[QD_FEED_HASH_HEX])
{
	*seq = 0;
	if (hash)
		memcpy(hash, zero_hash, QD_FEED_HASH_HEX);
	if (!st->has_feed)
		return 0;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->feed, &cur);
	if (rc)
		return map_err(rc);
	MDB_val k, d;
	rc = mdb_cursor_get(cur, &k, &d, MDB_LAST);
	if (rc == 0) {
		if (k.mv_size != 8 || d.mv_size < FR_JSON || ((unsigned char *)d.mv_data)[FR_FMT] != FEED_REC_FMT) {
			rc = EIO;
		} else {
			*seq = be64_read(k.mv_data);
			if (hash) {
				memcpy(hash, (char *)d.mv_data + FR_HASH, 64);
				hash[64] = '\0';
			}
		}
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : map_err(rc);
}

int qd_st_feed_put(qd_store *st, MDB_txn *txn, const feed_fields *f)
{
	if (!st->has_feed)
		return QD_EIO;
	uint64_t last;
	char prev[QD_FEED_HASH_HEX], committed[21], effective[21];
	int ret = feed_last(st, txn, &last, prev);
	if (ret)
		return ret;
	qd_time_format(f->committed_at, committed);
	qd_time_format(f->effective_at, effective);
	json_t *o = json_object();
	json_object_set_new(o, "seq", json_integer((json_int_t)(last + 1)));
	json_object_set_new(o, "list", json_string(f->list));
	json_object_set_new(o, "version", json_integer(f->version));
	json_object_set_new(o, "action", json_string(f->action));
	json_object_set_new(o, "sha256", f->sha256 ? json_string(f->sha256) : json_null());
	json_object_set_new(o, "entries", f->entries >= 0 ? json_integer(f->entries) : json_null());
	json_object_set_new(o, "committed_at", json_string(committed));
	json_object_set_new(o, "effective_at", json_string(effective));
	json_object_set_new(o, "actor", f->actor ? json_string(f->actor) : json_null());
	json_object_set_new(o, "prev", json_string(prev));
	qd_buf rec, sig;
	qd_buf_init(&rec);
	qd_buf_init(&sig);
	/* Room for the header, written once the canonical bytes are known
	 * (zero_hash is shorter than the header). */
	static const char header_room[FR_JSON];
	qd_buf_add(&rec, header_room, FR_JSON);
	if (json_object_size(o) != 10) {
		ret = QD_EINVAL; /* a string member that is not UTF-8 */
		goto out;
	}
	if ((ret = qd_jcs_dump(o, &rec)))
		goto out;
	size_t jl = rec.len - FR_JSON;
	char hash[QD_SHA256_HEX];
	qd_sha256_hex(rec.data + FR_JSON, jl, hash);
	rec.data[FR_FMT] = FEED_REC_FMT;
	memcpy(rec.data + FR_HASH, hash, 64);
	put_be32((unsigned char *)rec.data + FR_LEN, (uint32_t)jl);
	if (st->signer.sign) {
		if (st->signer.sign(st->signer.ctx, rec.data + FR_JSON, jl, &sig) || sig.oom) {
			ret = QD_EIO;
			goto out;
		}
		qd_buf_puts(&rec, "{\"alg\":");
		qd_buf_json_cstr(&rec, st->signer.alg);
		qd_buf_puts(&rec, ",\"kid\":");
		qd_buf_json_cstr(&rec, st->signer.kid);
		qd_buf_puts(&rec, ",\"value\":");
		qd_buf_json_str(&rec, sig.data, sig.len);
		qd_buf_putc(&rec, '}');
	}
	if (rec.oom) {
		ret = QD_ENOMEM;
		goto out;
	}
	unsigned char key[8];
	be64_put(key, last + 1);
	MDB_val k = {8, key}, d = {rec.len, rec.data};
	ret = map_err(mdb_put(txn, st->feed, &k, &d, MDB_APPEND));
out:
	json_decref(o);
	qd_buf_free(&rec);
	qd_buf_free(&sig);
	return ret;
}

int qd_st_feed_put_rec(qd_store *st, MDB_txn *txn, const qd_feed_rec *rec, const qd_feed_fields *f)
{
	if (!st->has_feed)
		return QD_EIO;
	uint64_t last;
	char head[QD_FEED_HASH_HEX];
	int ret = feed_last(st, txn, &last, head);
	if (ret)
		return ret;
	if (f->seq != last + 1 || strcmp(f->prev, head) != 0)
		return QD_ECONFLICT;
	char hash[QD_SHA256_HEX];
	qd_sha256_hex(rec->json, rec->json_len, hash);
	qd_buf b;
	qd_buf_init(&b);
	unsigned char h[FR_JSON];
	h[FR_FMT] = FEED_REC_FMT;
	memcpy(h + FR_HASH, hash, 64);
	put_be32(h + FR_LEN, (uint32_t)rec->json_len);
	qd_buf_add(&b, h, sizeof h);
	qd_buf_add(&b, rec->json, rec->json_len);
	if (rec->sig)
		qd_buf_puts(&b, rec->sig);
	if (b.oom) {
		qd_buf_free(&b);
		return QD_ENOMEM;
	}
	unsigned char key[8];
	be64_put(key, f->seq);
	MDB_val k = {8, key}, d = {b.len, b.data};
	ret = map_err(mdb_put(txn, st->feed, &k, &d, MDB_APPEND));
	qd_buf_free(&b);
	return ret;
}

static bool is_hex64(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int qd_feed_fields_parse(const char *json, size_t len, qd_feed_fields *out)
{
	memset(out, 0, sizeof *out);
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *seq = json_object_get(o, "seq"), *ver = json_object_get(o, "version");
	json_t *sha = json_object_get(o, "sha256"), *actor = json_object_get(o, "actor");
	const char *list = json_string_value(json_object_get(o, "list"));
	const char *action = json_string_value(json_object_get(o, "action"));
	const char *prev = json_string_value(json_object_get(o, "prev"));
	const char *ca = json_string_value(json_object_get(o, "committed_at"));
	const char *ea = json_string_value(json_object_get(o, "effective_at"));
	int ret = QD_EINVAL;
	if (!json_is_object(o) || !json_is_integer(seq) || json_integer_value(seq) < 1 ||
	    !json_is_integer(ver) || json_integer_value(ver) < 1 || json_integer_value(ver) > 0x7fffffff ||
	    !list || !qd_list_id_valid(list) || !action || strlen(action) >= sizeof out->action ||
	    !is_hex64(prev) || !ca || !ea || qd_time_parse(ca, strlen(ca), &out->committed_at) ||
	    qd_time_parse(ea, strlen(ea), &out->effective_at) ||
	    !(json_is_null(sha) || is_hex64(json_string_value(sha))) ||
	    !(json_is_null(actor) || json_is_string(actor)))
		goto out;
	out->seq = (uint64_t)json_integer_value(seq);
	out->version = (uint32_t)json_integer_value(ver);
	snprintf(out->list, sizeof out->list, "%s", list);
	snprintf(out->action, sizeof out->action, "%s", action);
	snprintf(out->prev, sizeof out->prev, "%s", prev);
	if (json_is_string(sha))
		snprintf(out->sha256, sizeof out->sha256, "%s", json_string_value(sha));
	if (json_is_string(actor))
		snprintf(out->actor, sizeof out->actor, "%s", json_string_value(actor));
	ret = 0;
out:
	json_decref(o);
	return ret;
}

int qd_st_feed_build(qd_store *st, MDB_txn *txn)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->audit, &cur);
	if (rc)
		return map_err(rc);
	/* Records built from history are not signed, whatever key the
	 * daemon later uses: a signature says "this server committed it",
	 * which a rebuilt record cannot claim. */
	qd_feed_signer keep = st->signer;
	memset(&st->signer, 0, sizeof st->signer);
	MDB_val k, d;
	int err = 0;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0 && !err;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		json_t *j = json_loadb(d.mv_data, d.mv_size, 0, NULL);
		const char *outcome = json_string_value(json_object_get(j, "outcome"));
		const char *ts = json_string_value(json_object_get(j, "time"));
		json_t *ent = json_object_get(j, "entries");
		feed_fields f = {
			.list = json_string_value(json_object_get(j, "list")),
			.action = json_string_value(json_object_get(j, "action")),
			.sha256 = json_string_value(json_object_get(j, "sha256")),
			.actor = json_string_value(json_object_get(j, "actor")),
			.version = (uint32_t)json_integer_value(json_object_get(j, "version")),
			.entries = json_is_integer(ent) ? (long)json_integer_value(ent) : -1,
		};
		/* Only records of stored versions make the chain; a record that
		 * does not decode is left out (verify then reports the version
		 * it should have covered). */
		if (outcome && strcmp(outcome, "stored") == 0 && ts && f.list && f.action && f.version &&
		    qd_time_parse(ts, strlen(ts), &f.committed_at) == 0) {
			f.effective_at = f.committed_at;
			err = qd_st_feed_put(st, txn, &f);
		}
		json_decref(j);
	}
	mdb_cursor_close(cur);
	st->signer = keep;
	if (err)
		return err;
	return rc == MDB_NOTFOUND ? 0 : map_err(rc);
}

/* Decode a stored record into r (copies). */
static int feed_decode(const MDB_val *k, const MDB_val *d, qd_feed_rec *r)
{
	memset(r, 0, sizeof *r);
	const unsigned char *p = d->mv_data;
	if (k->mv_size != 8 || d->mv_size < FR_JSON || p[FR_FMT] != FEED_REC_FMT)
		return QD_EIO;
	size_t jl = be32_read(p + FR_LEN);
	if (jl > d->mv_size - FR_JSON)
		return QD_EIO;
	r->seq = be64_read(k->mv_data);
	memcpy(r->hash, p + FR_HASH, 64);
	r->hash[64] = '\0';
	r->json = malloc(jl + 1);
	size_t sl = d->mv_size - FR_JSON - jl;
	r->sig = sl ? malloc(sl + 1) : NULL;
	if (!r->json || (sl && !r->sig)) {
		qd_feed_rec_free(r);
		return QD_ENOMEM;
	}
	memcpy(r->json, p + FR_JSON, jl);
	r->json[jl] = '\0';
	r->json_len = jl;
	if (sl) {
		memcpy(r->sig, p + FR_JSON + jl, sl);
		r->sig[sl] = '\0';
	}
	json_t *o = json_loadb(r->json, jl, 0, NULL);
	const char *list = json_string_value(json_object_get(o, "list"));
	snprintf(r->list, sizeof r->list, "%s", list ? list : "");
	r->version = (uint32_t)json_integer_value(json_object_get(o, "version"));
	json_decref(o);
	return 0;
}

void qd_feed_rec_free(qd_feed_rec *r)
{
	if (!r)
		return;
	free(r->json);
	free(r->sig);
	r->json = r->sig = NULL;
}

void qd_feed_rec_json(qd_buf *b, const qd_feed_rec *r)
{
	/* The canonical object with "sig" added before its closing brace. */
	if (r->json_len < 2) {
		qd_buf_puts(b, "null");
		return;
	}
	qd_buf_add(b, r->json, r->json_len - 1);
	qd_buf_puts(b, ",\"sig\":");
	qd_buf_puts(b, r->sig ? r->sig : "null");
	qd_buf_putc(b, '}');
}

void qd_feed_page_free(qd_feed_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		qd_feed_rec_free(&p->recs[i]);
	free(p->recs);
	memset(p, 0, sizeof *p);
}

int qd_store_feed_head(qd_store *st, uint64_t *seq, char hash[QD_FEED_HASH_HEX])
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	int ret = feed_last(st, txn, seq, hash);
	mdb_txn_abort(txn);
	return ret;
}

int qd_store_feed_page(qd_store *st, uint64_t after, size_t limit, qd_feed_page *out)
{
	memset(out, 0, sizeof *out);
	if (limit > QD_FEED_PAGE_MAX)
		limit = QD_FEED_PAGE_MAX;
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	int ret = feed_last(st, txn, &out->head, NULL);
	if (ret || !st->has_feed || limit == 0 || after >= out->head)
		goto out;
	if ((rc = mdb_cursor_open(txn, st->feed, &cur))) {
		ret = map_err(rc);
		goto out;
	}
	size_t cap = out->head - after < limit ? (size_t)(out->head - after) : limit;
	out->recs = calloc(cap, sizeof *out->recs);
	if (!out->recs) {
		ret = QD_ENOMEM;
		goto out;
	}
	unsigned char key[8];
	be64_put(key, after + 1);
	MDB_val k = {8, key}, d;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0 && out->n < cap;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if ((ret = feed_decode(&k, &d, &out->recs[out->n])))
			goto out;
		out->n++;
	}
	if (rc && rc != MDB_NOTFOUND)
		ret = map_err(rc);
out:
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (ret)
		qd_feed_page_free(out);
	return ret;
}

int qd_store_feed_get(qd_store *st, uint64_t seq, qd_feed_rec *out)
{
	memset(out, 0, sizeof *out);
	if (!st->has_feed)
		return QD_ENOENT;
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	unsigned char key[8];
	be64_put(key, seq);
	MDB_val k = {8, key}, d;
	rc = mdb_get(txn, st->feed, &k, &d);
	int ret = rc ? map_err(rc) : feed_decode(&k, &d, out);
	mdb_txn_abort(txn);
	return ret;
}

/* ---- verification ---- */

/* A (list, version) the feed covers: "list\0" then be32(version). */
typedef struct covered {
	unsigned char key[QD_LIST_ID_MAX + 6];
	size_t len;
} covered;

static int covered_cmp(const void *a, const void *b)
{
	const covered *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->key, y->key, n);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Count record seq as signed by (alg, kid); unknown: left unchecked. */
static void count_kid(qd_feed_summary *sum, const char *alg, const char *kid, uint64_t seq, bool unknown)
{
	size_t i = 0;
	while (i < sum->n_kids && (strcmp(sum->kids[i].kid, kid) != 0 || strcmp(sum->kids[i].alg, alg) != 0))
		i++;
	if (i == sum->n_kids) {
		if (i == QD_FEED_KIDS_MAX || strlen(kid) >= sizeof sum->kids[i].kid ||
		    strlen(alg) >= sizeof sum->kids[i].alg) {
			sum->kids_left_out += unknown;
			return;
		}
		qd_feed_kid *k = &sum->kids[sum->n_kids++];
		memset(k, 0, sizeof *k);
		snprintf(k->alg, sizeof k->alg, "%s", alg);
		snprintf(k->kid, sizeof k->kid, "%s", kid);
		k->first_seq = seq;
	}
	qd_feed_kid *k = &sum->kids[i];
	k->records++;
	k->unknown += unknown;
	k->last_seq = seq;
}

/* Check one record r (the one after prev_seq/prev_hash). */
static void verify_one(qd_store *st, MDB_txn *txn, const qd_feed_rec *r, uint64_t prev_seq,
		       const char *prev_hash, qd_feed_verify_fn verify, void *ctx,
		       qd_feed_summary *sum, qd_problems *pr)
{
	char path[40], hash[QD_SHA256_HEX];
	snprintf(path, sizeof path, "/feed/%llu", (unsigned long long)r->seq);
	if (r->seq != prev_seq + 1)
		qd_problems_add(pr, path, "record %llu follows record %llu: records are missing",
				(unsigned long long)r->seq, (unsigned long long)prev_seq);
	qd_sha256_hex(r->json, r->json_len, hash);
	if (strcmp(hash, r->hash) != 0)
		qd_problems_add(pr, path, "the record's bytes hash to %s, not to the stored %s", hash, r->hash);
	json_t *o = json_loadb(r->json, r->json_len, 0, NULL);
	qd_buf c;
	qd_buf_init(&c);
	if (!o || qd_jcs_dump(o, &c) || c.len != r->json_len || memcmp(c.data, r->json, c.len) != 0)
		qd_problems_add(pr, path, "the record is not canonical JSON (RFC 8785)");
	qd_buf_free(&c);
	json_t *seq = json_object_get(o, "seq");
	if (!json_is_integer(seq) || (uint64_t)json_integer_value(seq) != r->seq)
		qd_problems_add(pr, path, "the record's seq member does not match its key");
	const char *prev = json_string_value(json_object_get(o, "prev"));
	if (!prev || strcmp(prev, prev_hash) != 0)
		qd_problems_add(pr, path, "prev is %s, but the record before hashes to %s",
				prev ? prev : "missing", prev_hash);
	/* A retained version must be the one the record names. */
	const char *sha = json_string_value(json_object_get(o, "sha256"));
	qd_list_info li;
	MDB_val vr;
	if (sha && r->list[0] && qd_st_get_version(st, txn, r->list, r->version, &li, &vr) == 0 &&
	    strcmp(li.sha256, sha) != 0)
		qd_problems_add(pr, path, "list %s version %u has sha256 %s, the record says %s", r->list,
				r->version, li.sha256, sha);
	json_decref(o);
	if (!r->sig) {
		sum->unsigned_records++;
		return;
	}
	json_t *s = json_loads(r->sig, 0, NULL);
	const char *alg = json_string_value(json_object_get(s, "alg"));
	const char *kid = json_string_value(json_object_get(s, "kid"));
	const char *val = json_string_value(json_object_get(s, "value"));
	if (!alg || !kid || !val) {
		qd_problems_add(pr, path, "the record's signature is not {alg, kid, value}");
	} else if (verify) {
		int v = verify(ctx, alg, kid, r->json, r->json_len, val, strlen(val));
		if (v == 0)
			sum->signed_valid++;
		else if (v == QD_ENOENT)
			sum->unknown_kid++;
		else
			qd_problems_add(pr, path, "the %s signature by key %s does not verify", alg, kid);
		count_kid(sum, alg, kid, r->seq, v == QD_ENOENT);
	} else {
		sum->unknown_kid++;
		count_kid(sum, alg, kid, r->seq, true);
	}
	json_decref(s);
}

/* Every retained version must have a record: cov holds the covered
 * (list, version) pairs, sorted. */
static int verify_coverage(qd_store *st, MDB_txn *txn, const covered *cov, size_t ncov, qd_problems *pr)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->versions, &cur);
	if (rc)
		return map_err(rc);
	MDB_val k, d;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		covered want = {.len = k.mv_size};
		if (k.mv_size > sizeof want.key)
			continue;
		memcpy(want.key, k.mv_data, k.mv_size);
		if (!ncov || !bsearch(&want, cov, ncov, sizeof *cov, covered_cmp)) {
			const char *list = (const char *)k.mv_data;
			size_t ll = strnlen(list, k.mv_size);
			if (ll + 5 != k.mv_size)
				continue;
			char path[QD_LIST_ID_MAX + 40];
			snprintf(path, sizeof path, "/lists/%.*s/versions/%u", (int)ll, list,
				 be32_read((const unsigned char *)k.mv_data + ll + 1));
			qd_problems_add(pr, path, "this version has no feed record");
		}
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : map_err(rc);
}

int qd_store_feed_verify(qd_store *st, qd_feed_verify_fn verify, void *ctx,
			 qd_feed_summary *sum, qd_problems *problems)
{
	memset(sum, 0, sizeof *sum);
	size_t before = qd_problems_total(problems);
	if (!st->has_feed) {
		qd_problems_add(problems, "/feed", "the store has no feed (open it read-write once to build it)");
		return QD_EINVAL;
	}
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	covered *cov = NULL;
	size_t ncov = 0, capcov = 0;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return map_err(rc);
	int ret = 0;
	if ((rc = mdb_cursor_open(txn, st->feed, &cur))) {
		ret = map_err(rc);
		goto out;
	}
	uint64_t prev_seq = 0;
	char prev_hash[QD_FEED_HASH_HEX];
	memcpy(prev_hash, zero_hash, sizeof prev_hash);
	MDB_val k, d;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		qd_feed_rec r;
		if (feed_decode(&k, &d, &r)) {
			char path[40];
			snprintf(path, sizeof path, "/feed/%llu",
				 k.mv_size == 8 ? (unsigned long long)be64_read(k.mv_data) : 0ULL);
			qd_problems_add(problems, path, "the record does not decode");
			continue;
		}
		sum->records++;
		verify_one(st, txn, &r, prev_seq, prev_hash, verify, ctx, sum, problems);
		prev_seq = r.seq;
		memcpy(prev_hash, r.hash, sizeof prev_hash);
		if (ncov == capcov) {
			size_t nc = capcov ? capcov * 2 : 64;
			covered *n = realloc(cov, nc * sizeof *n);
			if (!n) {
				qd_feed_rec_free(&r);
				ret = QD_ENOMEM;
				goto out;
			}
			cov = n;
			capcov = nc;
		}
		cov[ncov].len = vprefix(cov[ncov].key, r.list, r.version);
		ncov++;
		qd_feed_rec_free(&r);
	}
	if (rc != MDB_NOTFOUND) {
		ret = map_err(rc);
		goto out;
	}
	if (ncov)
		qsort(cov, ncov, sizeof *cov, covered_cmp);
	ret = verify_coverage(st, txn, cov, ncov, problems);
out:
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	free(cov);
	if (!ret && qd_problems_total(problems) > before)
		ret = QD_EINVAL;
	return ret;
}
