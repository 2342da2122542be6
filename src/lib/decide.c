/* qingdan — the decision engine (DESIGN.md, "Decision rules").
 *
 * Per list: candidates are the entries whose code is a prefix of the
 * queried code and whose CIQ is absent or equal; each candidate either
 * applies or fails its first check in the order entity, item,
 * jurisdiction, status, window.
 * The most specific applicable entry decides; when none applies, the list
 * denies with the most informative failure.  Across lists, any allow wins.
 *
 * A candidate that fails is a "near miss" only when it is an include
 * entry: an exclude entry that does not apply cannot be what would make
 * the item covered, and reporting its failure ("expired carve-out") as the
 * reason would mislead. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qingdan/decide.h"
#include "qingdan/err.h"

/* Each reason's name and its length: the lookup path appends names
 * without a strlen. */
#define REASON(name) {name, sizeof(name) - 1}
static const struct reason_name {
	const char *s;
	size_t n;
} reason_names[QD_REASON_COUNT] = {
	[QD_REASON_LISTED] = REASON("listed"),
	[QD_REASON_EXCLUDED] = REASON("excluded"),
	[QD_REASON_EXPIRED] = REASON("expired"),
	[QD_REASON_NOT_YET_EFFECTIVE] = REASON("not_yet_effective"),
	[QD_REASON_SUSPENDED] = REASON("suspended"),
	[QD_REASON_REVOKED] = REASON("revoked"),
	[QD_REASON_OUTSIDE_JURISDICTION] = REASON("outside_jurisdiction"),
	[QD_REASON_ITEM_DIFFERS] = REASON("item_differs"),
	[QD_REASON_ENTITY_NOT_ELIGIBLE] = REASON("entity_not_eligible"),
	[QD_REASON_ENTITY_REQUIRED] = REASON("entity_required"),
	[QD_REASON_NOT_LISTED] = REASON("not_listed"),
};

const char *qd_reason_name(enum qd_reason r)
{
	return (unsigned)r < QD_REASON_COUNT ? reason_names[r].s : "unknown";
}

/* Append a string literal: its length is known here, no strlen on the
 * lookup path. */
#define PUT_LIT(b, lit) qd_buf_add_inline((b), (lit), sizeof(lit) - 1)

/* Append r's name (unquoted). */
static void put_reason(qd_buf *out, enum qd_reason r)
{
	if ((unsigned)r < QD_REASON_COUNT)
		qd_buf_add_inline(out, reason_names[r].s, reason_names[r].n);
	else
		PUT_LIT(out, "unknown");
}

/* Append "decision":…,"reason":"NAME (the reason's string left open),
 * after a comma when comma is true. */
static void put_verdict(qd_buf *out, bool comma, bool allow, enum qd_reason r)
{
	static const char a[] = ",\"decision\":\"allow\",\"reason\":\"", d[] = ",\"decision\":\"deny\",\"reason\":\"";
	if (allow)
		qd_buf_add(out, a + !comma, sizeof a - 1 - !comma);
	else
		qd_buf_add(out, d + !comma, sizeof d - 1 - !comma);
	put_reason(out, r);
}

/* The outcome of one list for the query. */
typedef struct list_result {
	const qd_list_info *list;
	bool allow;
	enum qd_reason reason;
	const qd_cand *decider;   /* the deciding entry (allow / excluded), else NULL */
	/* With a decider, once put_decider() has written its ,"entry":…,
	 * "clauses":… (up to the result's terms): where they lie in the
	 * answer, for the result to repeat them (basis_len 0: not yet). */
	size_t basis_off, basis_len;
} list_result;

static bool entity_in(const qd_cand *c, const char *entity)
{
	const char *p = c->entities;
	for (unsigned i = 0; i < c->n_entities; i++) {
		if (strcmp(p, entity) == 0)
			return true;
		p += strlen(p) + 1;
	}
	return false;
}

/* Roster state of the queried entity on one list, looked up once. */
enum roster { ROSTER_NONE, ROSTER_OK, ROSTER_BAD };

/* What a query declares of its goods, in normal form (qd_name_norm),
 * made once per query. */
typedef struct declared {
	const char *name;    /* NULL: not declared */
	const char *spec;
	char name_buf[QD_DECLARED_MAX + 1], spec_buf[QD_DECLARED_MAX + 1];
} declared;

/* The normal form of the declared value s (NULL: none) into buf; *out
 * points at it, or is NULL.  Returns 0, or -1 when s is not acceptable. */
static int declare(const char *s, char buf[QD_DECLARED_MAX + 1], const char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	size_t n = strlen(s);
	if (!qd_declared_valid(s, n, NULL) || qd_name_norm(s, n, buf, QD_DECLARED_MAX + 1) < 0)
		return -1;
	*out = buf;
	return 0;
}

/* Is code (4 digits) under one of the n prefixes at p? */
static bool customs_in(const char *p, unsigned n, const char *code)
{
	for (unsigned i = 0; i < n; i++) {
		size_t l = strlen(p);
		if (strncmp(p, code, l) == 0)
			return true;
		p += l + 1;
	}
	return false;
}

/* Is the normal form name one of the n names at p? */
static bool name_in(const char *p, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++) {
		if (strcmp(p, name) == 0)
			return true;
		p += strlen(p) + 1;
	}
	return false;
}

/* First failed check of candidate c of list l, or -1 when it applies.
 * t: c's decision terms, decoded when the query needs them (a customs
 * code or declared goods), else NULL. */
static int candidate_failure(const qd_cand *c, const qd_list_info *l, const qd_query *q, enum roster roster,
			     const qd_entry_terms *t, const declared *d)
{
	if (c->n_entities > 0 || roster != ROSTER_NONE) {
		if (!q->entity)
			return QD_REASON_ENTITY_REQUIRED;
		if (c->n_entities > 0 && !entity_in(c, q->entity))
			return QD_REASON_ENTITY_NOT_ELIGIBLE;
		if (roster == ROSTER_BAD)
			return QD_REASON_ENTITY_NOT_ELIGIBLE;
	}
	if (t && t->item) {
		if (d->name && !name_in(t->names, t->n_names, d->name))
			return QD_REASON_ITEM_DIFFERS;
		if (d->spec && t->spec[0] && strcmp(t->spec, d->spec) != 0)
			return QD_REASON_ITEM_DIFFERS;
	}
	if (q->customs) {
		const qd_list_terms *lt = &l->terms;
		if (lt->present && lt->n_customs && !customs_in(lt->customs, lt->n_customs, q->customs))
			return QD_REASON_OUTSIDE_JURISDICTION;
		if (t && t->n_customs && !customs_in(t->customs, t->n_customs, q->customs))
			return QD_REASON_OUTSIDE_JURISDICTION;
	}
	if (c->status == QD_STATUS_REVOKED)
		return QD_REASON_REVOKED;
	if (c->status == QD_STATUS_SUSPENDED)
		return QD_REASON_SUSPENDED;
	/* The list's term bounds every entry's window. */
	if (q->date < c->valid_from || (l->terms.present && q->date < l->terms.valid_from))
		return QD_REASON_NOT_YET_EFFECTIVE;
	if (q->date > c->valid_to || (l->terms.present && q->date > l->terms.valid_to))
		return QD_REASON_EXPIRED;
	return -1;
}

/* Append the customs scope that applies to list lt's entry with terms t
 * (has_t false: none) to out. */
static void put_scope(qd_buf *out, const qd_list_terms *lt, bool has_t, const qd_entry_terms *t)
{
	if (has_t && t->n_customs) {
		/* The entry's scope narrows its list's: the longer of each
		 * overlapping pair. */
		PUT_LIT(out, "{\"customs\":[");
		unsigned shown = 0;
		const char *e = t->customs;
		for (unsigned i = 0; i < t->n_customs; i++, e += strlen(e) + 1) {
			const char *lp = lt->present ? lt->customs : NULL;
			unsigned nl = lt->present ? lt->n_customs : 0;
			for (unsigned j = 0; j < (nl ? nl : 1); j++) {
				const char *m = e;
				if (nl) {
					size_t a = strlen(e), b = strlen(lp);
					if (strncmp(e, lp, a < b ? a : b) != 0) {
						lp += b + 1;
						continue;
					}
					m = a >= b ? e : lp;
					lp += b + 1;
				}
				if (shown++)
					qd_buf_putc_inline(out, ',');
				qd_buf_json_cstr(out, m);
			}
		}
		PUT_LIT(out, "],\"region\":");
		qd_buf_puts(out, lt->present ? lt->region_json : "null");
		qd_buf_putc_inline(out, '}');
	} else {
		qd_buf_puts(out, lt->present ? lt->scope_json : "null");
	}
}

/* Does an entry with terms t (has_t false: none) check the declared goods? */
static bool checks_item(bool has_t, const qd_entry_terms *t)
{
	return has_t && t->item && (t->item_in_entry || t->item_check[0]);
}

/* Append the item_check object of entry c with terms t (checks_item()
 * true) to out.  Returns 0, QD_EIO or QD_ENOMEM. */
static int put_item_check(qd_snap *s, const qd_list_info *l, const qd_cand *c, qd_buf *out,
			  const qd_entry_terms *t, const declared *d)
{
	/* The stored object, with which declared fields were compared (and
	 * matched: this entry decides) — kept in the terms by releases before
	 * 2026-12-06, since then rebuilt from the entry's JSON (the map's
	 * bytes, or a big version's decompressed). */
	if (t->item_in_entry) {
		int ret = 0;
		if (!c->entry_json_comp) {
			if (qd_item_check_from_entry(c->entry_json, c->entry_json_len, out))
				ret = QD_EIO;
		} else {
			qd_buf json;
			qd_buf_init(&json);
			ret = qd_snap_entry_json(s, l, c, &json);
			if (!ret && qd_item_check_from_entry(json.data, json.len, out))
				ret = json.oom || out->oom ? QD_ENOMEM : QD_EIO;
			qd_buf_free(&json);
		}
		if (ret)
			return ret;
		out->len--; /* its '}': "checked" follows */
	} else {
		qd_buf_add(out, t->item_check, strlen(t->item_check) - 1);
	}
	PUT_LIT(out, ",\"checked\":[");
	if (d->name)
		PUT_LIT(out, "\"name\"");
	if (d->spec && t->spec[0]) {
		if (d->name)
			qd_buf_putc_inline(out, ',');
		PUT_LIT(out, "\"spec\"");
	}
	PUT_LIT(out, "]}");
	return out->oom ? QD_ENOMEM : 0;
}

/* The brief view's ,"scope":…,"item_check":… for list l and its deciding
 * entry c (NULL: none): each only where it says something (not null).
 * Returns 0 or QD_EIO (malformed terms). */
static int put_v2_brief(qd_snap *s, qd_buf *out, const qd_list_info *l, const qd_cand *c, const declared *d)
{
	const qd_list_terms *lt = &l->terms;
	qd_entry_terms t;
	bool has_t = c && c->terms;
	if (!lt->present && !has_t)
		return 0;
	if (has_t && qd_entry_terms_decode(c->terms, c->terms_len, &t))
		return QD_EIO;
	if ((has_t && t.n_customs) || (lt->present && strcmp(lt->scope_json, "null") != 0)) {
		PUT_LIT(out, ",\"scope\":");
		put_scope(out, lt, has_t, &t);
	}
	if (checks_item(has_t, &t)) {
		PUT_LIT(out, ",\"item_check\":");
		return put_item_check(s, l, c, out, &t, d);
	}
	return 0;
}

/* Append ,"scope":…,"item_check":…,"batch":… for list l and its deciding
 * entry c (NULL: none) to out.  Returns 0 or QD_EIO (malformed terms). */
static int put_v2(qd_snap *s, qd_buf *out, const qd_list_info *l, const qd_cand *c, const declared *d)
{
	const qd_list_terms *lt = &l->terms;
	qd_entry_terms t;
	bool has_t = c && c->terms;
	if (!lt->present && !has_t) {
		PUT_LIT(out, ",\"scope\":null,\"item_check\":null,\"batch\":null");
		return 0;
	}
	if (has_t && qd_entry_terms_decode(c->terms, c->terms_len, &t))
		return QD_EIO;
	PUT_LIT(out, ",\"scope\":");
	put_scope(out, lt, has_t, &t);
	PUT_LIT(out, ",\"item_check\":");
	if (checks_item(has_t, &t)) {
		int ret = put_item_check(s, l, c, out, &t, d);
		if (ret)
			return ret;
	} else {
		PUT_LIT(out, "null");
	}
	PUT_LIT(out, ",\"batch\":");
	const char *b = lt->present ? lt->batches : NULL;
	if (has_t && t.has_batch && b && t.batch < lt->n_batches) {
		for (unsigned i = 0; i < t.batch; i++)
			b += strlen(b) + 1;
		qd_buf_puts(out, b);
	} else {
		PUT_LIT(out, "null");
	}
	return 0;
}

/* Is a more specific than b? Longest code, then CIQ, then exclude. */
static bool more_specific(const qd_cand *a, const qd_cand *b)
{
	if (a->code_len != b->code_len)
		return a->code_len > b->code_len;
	if (a->has_ciq != b->has_ciq)
		return a->has_ciq;
	return a->effect == QD_EFFECT_EXCLUDE && b->effect != QD_EFFECT_EXCLUDE;
}

typedef struct miss {
	const qd_cand *c;
	enum qd_reason reason;
} miss;

static int miss_cmp(const void *a, const void *b)
{
	const miss *x = a, *y = b;
	if (x->reason != y->reason)
		return (int)x->reason - (int)y->reason;
	/* More specific entries first, then stable by position. */
	if (x->c->code_len != y->c->code_len)
		return (int)y->c->code_len - (int)x->c->code_len;
	return x->c < y->c ? -1 : x->c > y->c;
}

/* Sort misses by miss_cmp(): by insertion when they are few, as they are
 * for nearly every code (qsort's set-up costs more than the sort); a total
 * order, so either way gives the same sequence. */
static void sort_misses(miss *m, size_t n)
{
	if (n > 32) {
		qsort(m, n, sizeof *m, miss_cmp);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		miss x = m[i];
		size_t j = i;
		for (; j > 0 && miss_cmp(&m[j - 1], &x) > 0; j--)
			m[j] = m[j - 1];
		m[j] = x;
	}
}

/* Renderings of entries kept across the decisions of one batch: the same
 * entry is a near miss or the basis of many items, and a big version
 * stores it compressed (only those are kept).  An entry of a list version
 * never changes, so a kept rendering stays exact; the cache still belongs
 * with one batch, because it only grows (up to a bound, then stops adding). */
typedef struct entry_cache {
	/* Slots are 8 bytes so the table stays in cache; a slot names an
	 * entry by its index + 1 (0: free).  At most half full. */
	struct ec_slot {
		uint32_t hash;
		uint32_t ent;
	} *slots;
	size_t mask;
	struct ec_ent {
		uint32_t key_off, key_len, json_off, json_len;   /* in arena */
	} *ents;
	size_t n_ents, cap_ents;
	qd_buf arena;                      /* keys and renderings, back to back */
} entry_cache;

/* Past this much kept text, renderings are no longer added (lookups go on):
 * a bound on what one batch holds, far above what 1 000 items need
 * (about 4 MiB), and what keeps offsets within 32 bits. */
#define EC_ARENA_MAX (64u << 20)
/* Longest key kept: list id, version, entry id. */
#define EC_KEY_MAX 256

static entry_cache *entry_cache_new(void)
{
	entry_cache *ec = calloc(1, sizeof *ec);
	if (!ec)
		return NULL;
	ec->mask = 4095;
	ec->slots = calloc(ec->mask + 1, sizeof *ec->slots);
	if (!ec->slots) {
		free(ec);
		return NULL;
	}
	return ec;
}

static void entry_cache_free(entry_cache *ec)
{
	if (!ec)
		return;
	free(ec->slots);
	free(ec->ents);
	qd_buf_free(&ec->arena);
	free(ec);
}

static struct ec_slot *ec_find(entry_cache *ec, uint32_t h, const char *key, size_t kl)
{
	for (size_t i = h & ec->mask;; i = (i + 1) & ec->mask) {
		struct ec_slot *sl = &ec->slots[i];
		if (!sl->ent)
			return sl;
		const struct ec_ent *e = &ec->ents[sl->ent - 1];
		if (sl->hash == h && e->key_len == kl && memcmp(ec->arena.data + e->key_off, key, kl) == 0)
			return sl;
	}
}

/* Make room for one more entry; false when out of memory (the cache then
 * stops adding). */
static bool ec_room(entry_cache *ec)
{
	if (ec->n_ents == ec->cap_ents) {
		size_t cap = ec->cap_ents ? ec->cap_ents * 2 : 1024;
		struct ec_ent *nv = realloc(ec->ents, cap * sizeof *nv);
		if (!nv)
			return false;
		ec->ents = nv;
		ec->cap_ents = cap;
	}
	if (2 * (ec->n_ents + 1) <= ec->mask + 1)
		return true;
	size_t size = (ec->mask + 1) * 2;
	struct ec_slot *nv = calloc(size, sizeof *nv);
	if (!nv)
		return false;
	for (size_t i = 0; i <= ec->mask; i++) {
		if (!ec->slots[i].ent)
			continue;
		size_t j = ec->slots[i].hash & (size - 1);
		while (nv[j].ent)
			j = (j + 1) & (size - 1);
		nv[j] = ec->slots[i];
	}
	free(ec->slots);
	ec->slots = nv;
	ec->mask = size - 1;
	return true;
}

/* entry_json() of a compressed entry with a cache. */
static int entry_json_kept(qd_snap *s, const qd_list_info *l, const qd_cand *c, qd_buf *out,
			   entry_cache *ec)
{
	char key[EC_KEY_MAX];
	size_t il = strlen(l->id), el = strlen(c->id);
	if (il + el + 6 > sizeof key)
		return qd_snap_entry_json(s, l, c, out);
	/* An entry of a list version never changes: (list, version, id)
	 * names its rendering for good. */
	memcpy(key, l->id, il + 1);
	memcpy(key + il + 1, &l->version, 4);
	memcpy(key + il + 5, c->id, el);
	size_t kl = il + 5 + el;
	uint32_t h = qd_hash_bytes(key, kl);
	struct ec_slot *sl = ec_find(ec, h, key, kl);
	if (sl->ent) {
		const struct ec_ent *e = &ec->ents[sl->ent - 1];
		qd_buf_add(out, ec->arena.data + e->json_off, e->json_len);
		return 0;
	}
	size_t at = out->len;
	int ret = qd_snap_entry_json(s, l, c, out);
	if (ret || out->oom || ec->arena.oom || ec->arena.len > EC_ARENA_MAX)
		return ret;
	if (2 * (ec->n_ents + 1) > ec->mask + 1 || ec->n_ents == ec->cap_ents) {
		if (!ec_room(ec))
			return 0;
		sl = ec_find(ec, h, key, kl);
	}
	size_t key_off = ec->arena.len;
	qd_buf_add(&ec->arena, key, kl);
	qd_buf_add(&ec->arena, out->data + at, out->len - at);
	if (ec->arena.oom)
		return 0;
	ec->ents[ec->n_ents] = (struct ec_ent){(uint32_t)key_off, (uint32_t)kl, (uint32_t)(key_off + kl),
					       (uint32_t)(out->len - at)};
	sl->hash = h;
	sl->ent = (uint32_t)++ec->n_ents;
	return 0;
}

/* Append candidate c's entry JSON to out, from the cache when it holds it
 * (only compressed entries are kept).  The test for a plain entry is
 * inlined into its callers, apart from the rest: it is most calls. */
static inline int entry_json(qd_snap *s, const qd_list_info *l, const qd_cand *c, qd_buf *out,
			     entry_cache *ec)
{
	/* A plain entry is one copy out of the map, no dearer than one out of
	 * the cache: only decompressions are worth keeping. */
	if (!ec || !c->entry_json_comp)
		return qd_snap_entry_json(s, l, c, out);
	return entry_json_kept(s, l, c, out, ec);
}

/* What one list decided, kept until the decision is rendered: the
 * snapshot's candidates are read again for the next list, so the deciding
 * entry and the near misses shown are copies (their texts stay in the map
 * for the snapshot's life). */
typedef struct picked {
	list_result lr;                           /* lr.decider: &best, or NULL */
	qd_cand best;
	size_t n_shown;                           /* near misses shown (no decider) */
	miss shown[QD_NEAR_MISSES_MAX];           /* their .c point into cands */
	qd_cand cands[QD_NEAR_MISSES_MAX];
} picked;

/* Decide list l for the query into *p: its candidates, the roster, each
 * candidate's first failed check, the most specific entry that applies,
 * else the near misses in the order they are shown. */
static int pick_list(qd_snap *s, const qd_list_info *l, const qd_query *q, const declared *d, picked *p)
{
	const qd_cand *cands;
	size_t n;
	int ret = qd_snap_candidates(s, l, &q->code, &cands, &n);
	if (ret)
		return ret;

	enum roster roster = ROSTER_NONE;
	/* The roster matters only to candidates: no read when there are none. */
	if (l->members > 0 && n > 0) {
		roster = ROSTER_BAD;
		qd_member_rec m;
		if (q->entity) {
			ret = qd_snap_member(s, l, q->entity, &m);
			if (ret == 0 && m.status == QD_STATUS_ACTIVE && q->date >= m.valid_from &&
			    q->date <= m.valid_to)
				roster = ROSTER_OK;
			else if (ret && ret != QD_ENOENT)
				return ret;
		}
	}

	const qd_cand *best = NULL;
	miss small[16];
	miss *misses = small;
	size_t nmiss = 0;
	if (n > 16) {
		misses = malloc(n * sizeof *misses);
		if (!misses)
			return QD_ENOMEM;
	}
	enum qd_reason worst = QD_REASON_NOT_LISTED;
	/* An entry's terms are read only when the query asks what they
	 * answer: most lookups name no customs code and no goods. */
	bool need_terms = q->customs || d->name || d->spec;
	for (size_t i = 0; i < n; i++) {
		const qd_cand *c = &cands[i];
		qd_entry_terms t;
		if (need_terms && c->terms && qd_entry_terms_decode(c->terms, c->terms_len, &t)) {
			if (misses != small)
				free(misses);
			return QD_EIO;
		}
		int f = candidate_failure(c, l, q, roster, need_terms && c->terms ? &t : NULL, d);
		if (f < 0) {
			if (!best || more_specific(c, best))
				best = c;
		} else if (c->effect == QD_EFFECT_INCLUDE) {
			misses[nmiss++] = (miss){c, (enum qd_reason)f};
			if ((enum qd_reason)f < worst)
				worst = (enum qd_reason)f;
		}
	}

	list_result *lr = &p->lr;
	lr->list = l;
	lr->basis_off = lr->basis_len = 0;
	p->n_shown = 0;
	if (best) {
		p->best = *best;
		lr->decider = &p->best;
		lr->allow = best->effect == QD_EFFECT_INCLUDE;
		lr->reason = lr->allow ? QD_REASON_LISTED : QD_REASON_EXCLUDED;
	} else {
		lr->decider = NULL;
		lr->allow = false;
		lr->reason = worst;
		/* Only a list that nothing decides shows its near misses. */
		sort_misses(misses, nmiss);
		p->n_shown = nmiss < QD_NEAR_MISSES_MAX ? nmiss : QD_NEAR_MISSES_MAX;
		for (size_t i = 0; i < p->n_shown; i++) {
			p->cands[i] = *misses[i].c;
			p->shown[i] = (miss){&p->cands[i], misses[i].reason};
		}
	}
	if (misses != small)
		free(misses);
	return 0;
}

/* Append the deciding entry's part of a result — ,"entry":…,"clauses":…
 * and scope, item_check, batch (the full view) or only scope and
 * item_check where present (the brief view) — to out, and note where it
 * lies (the basis repeats it). */
static int put_decider(qd_snap *s, const qd_query *q, const declared *d, list_result *lr, qd_buf *out,
		       entry_cache *ec)
{
	const qd_list_info *l = lr->list;
	const qd_cand *best = lr->decider;
	int ret;
	lr->basis_off = out->len;
	PUT_LIT(out, ",\"entry\":");
	if (q->brief) {
		qd_buf_json_cstr(out, best->id);
		PUT_LIT(out, ",\"clauses\":[");
		const char *id = best->clause_ids;
		for (unsigned i = 0; i < best->n_clauses; i++, id += strlen(id) + 1) {
			if (i)
				qd_buf_putc_inline(out, ',');
			qd_buf_json_cstr(out, id);
		}
		qd_buf_putc_inline(out, ']');
		ret = put_v2_brief(s, out, l, best, d);
	} else {
		ret = entry_json(s, l, best, out, ec);
		if (!ret) {
			PUT_LIT(out, ",\"clauses\":");
			ret = qd_snap_clauses_json(s, l, best, out);
		}
		if (!ret)
			ret = put_v2(s, out, l, best, d);
	}
	lr->basis_len = out->len - lr->basis_off;
	return ret;
}

/* Append list p's result object to out.  Its deciding entry's part is
 * copied from out when the basis already holds it (lr.basis_len set). */
static int put_result(qd_snap *s, const qd_query *q, const declared *d, picked *p, qd_buf *out,
		      entry_cache *ec)
{
	list_result *lr = &p->lr;
	const qd_list_info *l = lr->list;
	int ret = 0;
	PUT_LIT(out, "{\"list\":");
	qd_buf_json_cstr(out, l->id);
	if (!q->brief) {
		/* Plain appends, not printf: this runs once per list per decision. */
		PUT_LIT(out, ",\"kind\":\"");
		qd_buf_puts(out, qd_kind_name(l->kind));
		qd_buf_putc_inline(out, '"');
	}
	PUT_LIT(out, ",\"version\":");
	qd_buf_put_uint(out, l->version);
	put_verdict(out, true, lr->allow, lr->reason);
	qd_buf_putc_inline(out, '"');
	if (lr->decider && lr->basis_len) {
		/* Reserve first: the bytes are copied from the buffer itself,
		 * which must not move under the copy. */
		qd_buf_reserve(out, lr->basis_len);
		if (out->oom)
			return QD_ENOMEM;
		qd_buf_add_inline(out, out->data + lr->basis_off, lr->basis_len);
	} else if (lr->decider) {
		if ((ret = put_decider(s, q, d, lr, out, ec)))
			return ret;
	} else if (q->brief) {
		PUT_LIT(out, ",\"entry\":null,\"clauses\":[]");
		if ((ret = put_v2_brief(s, out, l, NULL, d)))
			return ret;
	} else if (!l->terms.present) {
		PUT_LIT(out, ",\"entry\":null,\"clauses\":[],\"scope\":null,\"item_check\":null,\"batch\":null");
	} else {
		PUT_LIT(out, ",\"entry\":null,\"clauses\":[]");
		put_v2(s, out, l, NULL, d);
	}
	if (q->brief) {
		PUT_LIT(out, ",\"near_misses\":[");
	} else if (l->terms.present) {
		PUT_LIT(out, ",\"terms\":");
		qd_buf_puts(out, l->terms.terms_json);
		PUT_LIT(out, ",\"near_misses\":[");
	} else {
		PUT_LIT(out, ",\"terms\":null,\"near_misses\":[");
	}
	for (size_t i = 0; i < p->n_shown; i++) {
		if (i)
			qd_buf_putc_inline(out, ',');
		PUT_LIT(out, "{\"entry\":");
		if (q->brief)
			qd_buf_json_cstr(out, p->shown[i].c->id);
		else if ((ret = entry_json(s, l, p->shown[i].c, out, ec)))
			return ret;
		PUT_LIT(out, ",\"reason\":\"");
		put_reason(out, p->shown[i].reason);
		PUT_LIT(out, "\"}");
	}
	PUT_LIT(out, "]}");
	return 0;
}

/* Append the full view's ","query":{…},"basis":" (closing the reason's
 * string) to out. */
static void put_query(qd_buf *out, const qd_query *q)
{
	char date[11];
	qd_date_format(q->date, date);
	PUT_LIT(out, "\",\"query\":{\"code\":");
	qd_buf_json_cstr(out, q->code.digits);
	PUT_LIT(out, ",\"ciq\":");
	qd_buf_json_cstr(out, q->code.ciq[0] ? q->code.ciq : NULL);
	PUT_LIT(out, ",\"entity\":");
	qd_buf_json_cstr(out, q->entity);
	PUT_LIT(out, ",\"date\":\"");
	qd_buf_puts(out, date);
	PUT_LIT(out, "\",\"list\":");
	qd_buf_json_cstr(out, q->list);
	if (!q->customs && !q->name && !q->spec) {
		PUT_LIT(out, ",\"customs\":null,\"name\":null,\"spec\":null},\"basis\":");
	} else {
		PUT_LIT(out, ",\"customs\":");
		qd_buf_json_cstr(out, q->customs);
		PUT_LIT(out, ",\"name\":");
		qd_buf_json_cstr(out, q->name);
		PUT_LIT(out, ",\"spec\":");
		qd_buf_json_cstr(out, q->spec);
		PUT_LIT(out, "},\"basis\":");
	}
}

/* qd_decide(), reading entry renderings from ec and keeping new ones there
 * (ec NULL: none kept).  Same returns. */
static int decide(qd_snap *s, const qd_query *q, qd_buf *out, qd_outcome *res, entry_cache *ec)
{
	const qd_list_info *lists;
	size_t nlists;
	qd_list_info one, pinned[QD_PINS_MAX];
	int ret;
	if (q->n_pins) {
		if (q->n_pins > QD_PINS_MAX)
			return QD_EINVAL;
		for (size_t i = 0; i < q->n_pins; i++)
			if ((ret = qd_snap_list_version(s, q->pins[i].list, q->pins[i].version, &pinned[i])))
				return ret;
		lists = pinned;
		nlists = q->n_pins;
	} else if (q->list && q->version) {
		if ((ret = qd_snap_list_version(s, q->list, q->version, &one)))
			return ret;
		lists = &one;
		nlists = 1;
	} else if (q->has_at && q->list) {
		if ((ret = qd_snap_list_at(s, q->list, q->at, &one)))
			return ret;
		lists = &one;
		nlists = 1;
	} else if (q->has_at) {
		ret = qd_snap_lists_at(s, q->at, &lists, &nlists);
	} else {
		ret = qd_snap_lists(s, &lists, &nlists);
	}
	if (ret)
		return ret;
	declared d;
	if (declare(q->name, d.name_buf, &d.name) || declare(q->spec, d.spec_buf, &d.spec))
		return QD_EINVAL;
	if (q->list && !q->version && !q->has_at && !q->n_pins) {
		size_t i;
		for (i = 0; i < nlists; i++)
			if (strcmp(lists[i].id, q->list) == 0)
				break;
		if (i == nlists)
			return QD_ENOLIST;
		lists += i;
		nlists = 1;
	}

	/* Every list is decided first, since the overall decision comes
	 * first in the object; then the answer is written in its order,
	 * straight into out.  The lists' picks live in a scratch buffer of
	 * the snapshot (malloc()ed, so aligned for the struct). */
	qd_buf *mem = qd_snap_scratch(s, 0);
	qd_buf_reserve(mem, nlists * sizeof(picked));
	if (mem->oom)
		return QD_ENOMEM;
	picked *pk = (picked *)(void *)mem->data;
	bool allow = false;
	enum qd_reason reason = QD_REASON_NOT_LISTED;
	picked *basis = NULL;
	if (res)
		res->n_lists = 0;
	for (size_t i = 0; i < nlists; i++) {
		if ((ret = pick_list(s, &lists[i], q, &d, &pk[i])))
			return ret;
		const list_result *lr = &pk[i].lr;
		if (res && res->n_lists < QD_OUTCOME_LISTS_MAX) {
			struct qd_list_outcome *lo = &res->lists[res->n_lists];
			memcpy(lo->id, lists[i].id, sizeof lo->id);
			lo->version = lists[i].version;
			lo->allow = lr->allow;
			lo->reason = lr->reason;
		}
		if (res)
			res->n_lists++;
		if (lr->allow && !allow) {
			allow = true;
			reason = QD_REASON_LISTED;
			basis = &pk[i];
		} else if (!allow && lr->reason < reason) {
			reason = lr->reason;
			basis = lr->reason == QD_REASON_EXCLUDED ? &pk[i] : NULL;
		}
	}

	/* One allocation for most answers: a result without its entry's
	 * texts is a few hundred bytes, each entry shown a copy of its
	 * stored JSON, and a clause's text about a paragraph (not read yet:
	 * a longer one makes the buffer grow once more). */
	size_t at = out->len, need = 512 + 512 * nlists;
	for (size_t i = 0; i < nlists; i++) {
		const qd_cand *c = pk[i].lr.decider;
		if (c)
			need += (c->entry_json_len + 256 + 2048 * (size_t)c->n_clauses) * (&pk[i] == basis ? 2 : 1);
		for (size_t j = 0; j < pk[i].n_shown; j++)
			need += pk[i].cands[j].entry_json_len + 64;
	}
	qd_buf_reserve(out, need);
	put_verdict(out, false, allow, reason);
	if (q->brief)
		PUT_LIT(out, "\",\"basis\":");
	else
		put_query(out, q);
	if (basis) {
		PUT_LIT(out, "{\"list\":");
		qd_buf_json_cstr(out, basis->lr.list->id);
		PUT_LIT(out, ",\"version\":");
		qd_buf_put_uint(out, basis->lr.list->version);
		if ((ret = put_decider(s, q, &d, &basis->lr, out, ec)))
			goto fail;
		qd_buf_putc_inline(out, '}');
	} else {
		PUT_LIT(out, "null");
	}
	PUT_LIT(out, ",\"results\":[");
	for (size_t i = 0; i < nlists; i++) {
		if (i)
			qd_buf_putc_inline(out, ',');
		if ((ret = put_result(s, q, &d, &pk[i], out, ec)))
			goto fail;
	}
	qd_buf_putc_inline(out, ']');
	if (out->oom) {
		ret = QD_ENOMEM;
		goto fail;
	}
	if (res) {
		res->allow = allow;
		res->reason = reason;
	}
	return 0;
fail:
	/* Nothing of a decision that failed is left in out. */
	if (!out->oom && out->data) {
		out->len = at;
		out->data[at] = '\0';
	}
	return ret;
}

int qd_decide(qd_snap *s, const qd_query *q, qd_buf *out, qd_outcome *res)
{
	return decide(s, q, out, res, NULL);
}

/* ---- batches ---- */

/* What a query asks besides its code: the items of one batch that share it
 * consult the same lists (same ids and versions), so their outcomes differ
 * only in the allow/reason fields.  Strings are copied, so a query's own
 * may change after the call. */
typedef struct batch_ctx {
	char entity[QD_ENTITY_MAX + 1];
	char list[QD_LIST_ID_MAX + 1];
	char customs[QD_CUSTOMS_LEN + 1];
	bool has_entity, has_list, has_customs;
	bool has_at;
	bool brief;          /* rendered in the brief view */
	qd_date date;
	uint32_t version;
	int64_t at;
	bool has_lists;      /* lists below is filled */
	qd_outcome lists;    /* the first outcome kept here: list ids and versions */
} batch_ctx;

/* A decision already rendered in the batch, by code, CIQ and context. */
typedef struct batch_slot {
	char key[16];       /* code digits, NUL-padded to 11, then the CIQ */
	uint32_t ctx;       /* index into qd_batch.ctxs */
	uint32_t out;       /* index into qd_batch.outs */
	size_t off, len;    /* the decision's bytes in the batch's buffer; len 0: slot free */
} batch_slot;

typedef struct batch_outcome {
	bool allow;
	unsigned char reason;
	unsigned n_lists;
	bool list_allow[QD_OUTCOME_LISTS_MAX];
	unsigned char list_reason[QD_OUTCOME_LISTS_MAX];
} batch_outcome;

struct qd_batch {
	qd_snap *s;          /* borrowed; open for the batch's whole life */
	qd_buf *out;         /* borrowed; bytes at slots' off/len stay as written unless cut back */
	batch_slot *slots;   /* open addressing; at most half full (n_outs <= cap_outs) */
	size_t mask;
	batch_outcome *outs;
	uint32_t n_outs, cap_outs;
	batch_ctx *ctxs;
	uint32_t n_ctxs, cap_ctxs;
	uint32_t last_ctx;   /* where the previous item's context was found (< n_ctxs) */
	size_t end;          /* out->len after the last call: shorter now, it was cut back */
	entry_cache *ec;
};

qd_batch *qd_batch_new(qd_snap *s, qd_buf *out, size_t n)
{
	if (n == 0)
		n = 1;
	/* Offsets into the slot table and counts are 32 bits. */
	if (n > UINT32_MAX / 4)
		return NULL;
	qd_batch *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	size_t size = 16;
	while (size < 2 * n)
		size *= 2;
	b->s = s;
	b->out = out;
	b->slots = calloc(size, sizeof *b->slots);
	b->mask = size - 1;
	b->outs = malloc(n * sizeof *b->outs);
	b->cap_outs = (uint32_t)n;
	b->ec = entry_cache_new();
	if (!b->slots || !b->outs || !b->ec) {
		qd_batch_free(b);
		return NULL;
	}
	return b;
}

void qd_batch_free(qd_batch *b)
{
	if (!b)
		return;
	free(b->slots);
	free(b->outs);
	free(b->ctxs);
	entry_cache_free(b->ec);
	free(b);
}

static bool same_str(bool has, const char *kept, const char *s)
{
	return has ? s && strcmp(kept, s) == 0 : !s;
}

static bool ctx_is(const batch_ctx *c, const qd_query *q)
{
	return c->date == q->date && c->version == q->version && c->has_at == q->has_at && c->brief == q->brief &&
	       (!q->has_at || c->at == q->at) && same_str(c->has_entity, c->entity, q->entity) &&
	       same_str(c->has_list, c->list, q->list) && same_str(c->has_customs, c->customs, q->customs);
}

/* The index of q's context, added when new; -1 when it cannot be kept
 * (pins, a string too long to be a normalised one, or out of memory): the item is
 * then decided without the table. */
static long batch_ctx_of(qd_batch *b, const qd_query *q)
{
	/* Declared goods differ item by item: such an item is decided on
	 * its own. */
	if (q->name || q->spec)
		return -1;
	/* The items of one check share their context: the last one found
	 * answers nearly always, and the scan is for mixed batches only. */
	if (q->n_pins)
		return -1;
	if (b->n_ctxs && ctx_is(&b->ctxs[b->last_ctx], q))
		return b->last_ctx;
	for (uint32_t i = 0; i < b->n_ctxs; i++) {
		if (ctx_is(&b->ctxs[i], q)) {
			b->last_ctx = i;
			return i;
		}
	}
	if ((q->entity && strlen(q->entity) > QD_ENTITY_MAX) || (q->list && strlen(q->list) > QD_LIST_ID_MAX) ||
	    (q->customs && strlen(q->customs) > QD_CUSTOMS_LEN))
		return -1;
	if (b->n_ctxs == b->cap_ctxs) {
		/* Past the item bound no context is worth adding: no more
		 * decisions are kept anyway. */
		if (b->n_ctxs >= b->cap_outs)
			return -1;
		uint32_t cap = b->cap_ctxs ? b->cap_ctxs * 2 : 1;
		batch_ctx *nv = realloc(b->ctxs, cap * sizeof *nv);
		if (!nv)
			return -1;
		b->ctxs = nv;
		b->cap_ctxs = cap;
	}
	batch_ctx *c = &b->ctxs[b->n_ctxs];
	memset(c, 0, offsetof(batch_ctx, lists));
	if (q->entity) {
		c->has_entity = true;
		strcpy(c->entity, q->entity);
	}
	if (q->list) {
		c->has_list = true;
		strcpy(c->list, q->list);
	}
	if (q->customs) {
		c->has_customs = true;
		strcpy(c->customs, q->customs);
	}
	c->date = q->date;
	c->version = q->version;
	c->has_at = q->has_at;
	c->brief = q->brief;
	c->at = q->has_at ? q->at : 0;
	b->last_ctx = b->n_ctxs;
	return b->n_ctxs++;
}

static void batch_key(const qd_code *code, char key[16])
{
	memset(key, 0, 16);
	memcpy(key, code->digits, code->len <= QD_CODE_MAX ? code->len : QD_CODE_MAX);
	for (size_t i = 0; i < QD_CIQ_LEN && code->ciq[i]; i++)
		key[QD_CODE_MAX + 1 + i] = code->ciq[i];
}

/* The slot holding (code, ctx), or the free slot where it belongs. */
static batch_slot *batch_find(qd_batch *b, const qd_code *code, uint32_t ctx)
{
	char key[16];
	batch_key(code, key);
	/* Word at a time, as for entry keys: a byte loop is most of what a
	 * repeated item costs besides the copy. */
	uint32_t h = qd_hash_bytes(key, sizeof key) ^ ctx * 0x9e3779b9u;
	for (size_t i = h & b->mask;; i = (i + 1) & b->mask) {
		batch_slot *sl = &b->slots[i];
		if (!sl->len || (sl->ctx == ctx && memcmp(sl->key, key, sizeof key) == 0))
			return sl;
	}
}

static void batch_keep(qd_batch *b, batch_slot *sl, const qd_code *code, uint32_t ctx, size_t off,
		       size_t len, const qd_outcome *o)
{
	batch_ctx *c = &b->ctxs[ctx];
	if (!c->has_lists) {
		c->lists = *o;
		c->has_lists = true;
	}
	uint32_t k = b->n_outs++;
	batch_outcome *bo = &b->outs[k];
	bo->allow = o->allow;
	bo->reason = (unsigned char)o->reason;
	bo->n_lists = o->n_lists;
	for (unsigned i = 0; i < o->n_lists && i < QD_OUTCOME_LISTS_MAX; i++) {
		bo->list_allow[i] = o->lists[i].allow;
		bo->list_reason[i] = (unsigned char)o->lists[i].reason;
	}
	batch_key(code, sl->key);
	sl->ctx = ctx;
	sl->off = off;
	sl->len = len;
	sl->out = k;
}

static void batch_outcome_of(const qd_batch *b, const batch_slot *sl, qd_outcome *o)
{
	const batch_outcome *bo = &b->outs[sl->out];
	*o = b->ctxs[sl->ctx].lists;
	o->allow = bo->allow;
	o->reason = (enum qd_reason)bo->reason;
	o->n_lists = bo->n_lists;
	for (unsigned i = 0; i < bo->n_lists && i < QD_OUTCOME_LISTS_MAX; i++) {
		o->lists[i].allow = bo->list_allow[i];
		o->lists[i].reason = (enum qd_reason)bo->list_reason[i];
	}
}

int qd_batch_decide(qd_batch *b, const qd_query *q, qd_outcome *res)
{
	qd_buf *out = b->out;
	qd_outcome own;
	/* Decided straight into res when there is one: an outcome is about
	 * 1 KiB, and a copy per item shows in a check's profile. */
	qd_outcome *o = res ? res : &own;
	if (out->len < b->end) {
		/* Cut back: kept bytes may be gone or overwritten, so nothing
		 * kept is copied again (contexts do not depend on the buffer). */
		memset(b->slots, 0, (b->mask + 1) * sizeof *b->slots);
		b->n_outs = 0;
	}
	long ctx = batch_ctx_of(b, q);
	batch_slot *sl = ctx < 0 ? NULL : batch_find(b, &q->code, (uint32_t)ctx);
	if (sl && sl->len) {
		/* Reserve first: the bytes are copied from the buffer itself,
		 * which must not move under the copy. */
		qd_buf_reserve(out, sl->len);
		if (out->oom)
			return QD_ENOMEM;
		qd_buf_add(out, out->data + sl->off, sl->len);
		b->end = out->len;
		if (res)
			batch_outcome_of(b, sl, res);
		return 0;
	}
	size_t at = out->len;
	int ret = decide(b->s, q, out, o, b->ec);
	if (!ret && out->oom)
		ret = QD_ENOMEM;
	if (ret) {
		/* Per item: the next item starts from where this one did. */
		out->len = at;
		if (out->data)
			out->data[at] = '\0';
		b->end = at;
		return ret;
	}
	b->end = out->len;
	if (sl && b->n_outs < b->cap_outs)
		batch_keep(b, sl, &q->code, (uint32_t)ctx, at, out->len - at, o);
	return 0;
}
