/* qingdan — the decision engine (DESIGN.md, "Decision rules").
 *
 * Per list: candidates are the entries whose code is a prefix of the
 * queried code and whose CIQ is absent or equal; each candidate either
 * applies or fails its first check in the order entity, status, window.
 * The most specific applicable entry decides; when none applies, the list
 * denies with the most informative failure.  Across lists, any allow wins.
 *
 * A candidate that fails is a "near miss" only when it is an include
 * entry: an exclude entry that does not apply cannot be what would make
 * the item covered, and reporting its failure ("expired carve-out") as the
 * reason would mislead. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qingdan/decide.h"
#include "qingdan/err.h"

static const char *const reason_names[QD_REASON_COUNT] = {
	[QD_REASON_LISTED] = "listed",
	[QD_REASON_EXCLUDED] = "excluded",
	[QD_REASON_EXPIRED] = "expired",
	[QD_REASON_NOT_YET_EFFECTIVE] = "not_yet_effective",
	[QD_REASON_SUSPENDED] = "suspended",
	[QD_REASON_REVOKED] = "revoked",
	[QD_REASON_ENTITY_NOT_ELIGIBLE] = "entity_not_eligible",
	[QD_REASON_ENTITY_REQUIRED] = "entity_required",
	[QD_REASON_NOT_LISTED] = "not_listed",
};

const char *qd_reason_name(enum qd_reason r)
{
	return (unsigned)r < QD_REASON_COUNT ? reason_names[r] : "unknown";
}

/* The outcome of one list for the query. */
typedef struct list_result {
	const qd_list_info *list;
	bool allow;
	enum qd_reason reason;
	const qd_cand *decider;   /* the deciding entry (allow / excluded), else NULL */
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

/* First failed check of candidate c, or -1 when it applies. */
static int candidate_failure(const qd_cand *c, const qd_query *q, enum roster roster)
{
	if (c->n_entities > 0 || roster != ROSTER_NONE) {
		if (!q->entity)
			return QD_REASON_ENTITY_REQUIRED;
		if (c->n_entities > 0 && !entity_in(c, q->entity))
			return QD_REASON_ENTITY_NOT_ELIGIBLE;
		if (roster == ROSTER_BAD)
			return QD_REASON_ENTITY_NOT_ELIGIBLE;
	}
	if (c->status == QD_STATUS_REVOKED)
		return QD_REASON_REVOKED;
	if (c->status == QD_STATUS_SUSPENDED)
		return QD_REASON_SUSPENDED;
	if (q->date < c->valid_from)
		return QD_REASON_NOT_YET_EFFECTIVE;
	if (q->date > c->valid_to)
		return QD_REASON_EXPIRED;
	return -1;
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

struct qd_entry_cache {
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
};

/* Past this much kept text, renderings are no longer added (lookups go on):
 * a bound on what one batch holds, far above what 1 000 items need
 * (about 4 MiB), and what keeps offsets within 32 bits. */
#define EC_ARENA_MAX (64u << 20)
/* Longest key kept: list id, version, entry id. */
#define EC_KEY_MAX 256

qd_entry_cache *qd_entry_cache_new(void)
{
	qd_entry_cache *ec = calloc(1, sizeof *ec);
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

void qd_entry_cache_free(qd_entry_cache *ec)
{
	if (!ec)
		return;
	free(ec->slots);
	free(ec->ents);
	qd_buf_free(&ec->arena);
	free(ec);
}

static struct ec_slot *ec_find(qd_entry_cache *ec, uint32_t h, const char *key, size_t kl)
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
static bool ec_room(qd_entry_cache *ec)
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

/* Hash of a key, eight bytes at a time (a byte loop is a long chain of
 * multiplies, and keys are some 30 bytes). */
static uint32_t ec_hash(const char *key, size_t n)
{
	uint64_t h = n * 0x9e3779b97f4a7c15ULL;
	uint64_t w;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, key + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, key + i, n - i);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	return (uint32_t)(h ^ h >> 29);
}

/* Append candidate c's entry JSON to out, from the cache when it holds it
 * (only compressed entries are kept). */
static int entry_json(qd_snap *s, const qd_list_info *l, const qd_cand *c, qd_buf *out,
		      qd_entry_cache *ec)
{
	/* A plain entry is one copy out of the map, no dearer than one out of
	 * the cache: only decompressions are worth keeping. */
	if (!ec || !c->entry_json_comp)
		return qd_snap_entry_json(s, l, c, out);
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
	uint32_t h = ec_hash(key, kl);
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

/* Decide one list and render its result object into out. */
static int decide_list(qd_snap *s, const qd_list_info *l, const qd_query *q, qd_buf *out,
		       list_result *lr, qd_buf *basis, qd_entry_cache *ec)
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
	for (size_t i = 0; i < n; i++) {
		const qd_cand *c = &cands[i];
		int f = candidate_failure(c, q, roster);
		if (f < 0) {
			if (!best || more_specific(c, best))
				best = c;
		} else if (c->effect == QD_EFFECT_INCLUDE) {
			misses[nmiss++] = (miss){c, (enum qd_reason)f};
			if ((enum qd_reason)f < worst)
				worst = (enum qd_reason)f;
		}
	}

	lr->list = l;
	lr->decider = best;
	if (best) {
		lr->allow = best->effect == QD_EFFECT_INCLUDE;
		lr->reason = lr->allow ? QD_REASON_LISTED : QD_REASON_EXCLUDED;
	} else {
		lr->allow = false;
		lr->reason = worst;
	}

	qd_buf_puts(out, "{\"list\":");
	qd_buf_json_cstr(out, l->id);
	/* Plain appends, not printf: this runs once per list per decision. */
	qd_buf_puts(out, ",\"kind\":\"");
	qd_buf_puts(out, qd_kind_name(l->kind));
	qd_buf_puts(out, "\",\"version\":");
	qd_buf_put_uint(out, l->version);
	qd_buf_puts(out, lr->allow ? ",\"decision\":\"allow\",\"reason\":\"" : ",\"decision\":\"deny\",\"reason\":\"");
	qd_buf_puts(out, qd_reason_name(lr->reason));
	qd_buf_putc(out, '"');
	if (best) {
		/* The basis is rendered now because the candidates die with the
		 * next list's lookup; the result repeats its entry and clauses. */
		qd_buf_reset(basis);
		qd_buf_puts(basis, "{\"list\":");
		qd_buf_json_cstr(basis, l->id);
		qd_buf_puts(basis, ",\"version\":");
		qd_buf_put_uint(basis, l->version);
		size_t tail = basis->len;
		qd_buf_puts(basis, ",\"entry\":");
		ret = entry_json(s, l, best, basis, ec);
		if (!ret) {
			qd_buf_puts(basis, ",\"clauses\":");
			ret = qd_snap_clauses_json(s, l, best, basis);
		}
		if (ret) {
			if (misses != small)
				free(misses);
			return ret;
		}
		qd_buf_add(out, basis->data + tail, basis->len - tail);
		qd_buf_putc(basis, '}');
	} else {
		qd_buf_puts(out, ",\"entry\":null,\"clauses\":[]");
	}
	qd_buf_puts(out, ",\"near_misses\":[");
	if (!best && nmiss) {
		qsort(misses, nmiss, sizeof *misses, miss_cmp);
		size_t shown = nmiss < QD_NEAR_MISSES_MAX ? nmiss : QD_NEAR_MISSES_MAX;
		for (size_t i = 0; i < shown; i++) {
			if (i)
				qd_buf_putc(out, ',');
			qd_buf_puts(out, "{\"entry\":");
			if ((ret = entry_json(s, l, misses[i].c, out, ec))) {
				if (misses != small)
					free(misses);
				return ret;
			}
			qd_buf_puts(out, ",\"reason\":\"");
			qd_buf_puts(out, qd_reason_name(misses[i].reason));
			qd_buf_puts(out, "\"}");
		}
	}
	qd_buf_putc(out, ']');
	qd_buf_putc(out, '}');
	if (misses != small)
		free(misses);
	return 0;
}

/* Take the basis just rendered without copying it: decide_list() renders
 * into the other buffer from now on (it empties it before use). */
static void swap(qd_buf **a, qd_buf **b)
{
	qd_buf *t = *a;
	*a = *b;
	*b = t;
}

int qd_decide(qd_snap *s, const qd_query *q, qd_buf *out, qd_outcome *res)
{
	return qd_decide_cached(s, q, out, res, NULL);
}

int qd_decide_cached(qd_snap *s, const qd_query *q, qd_buf *out, qd_outcome *res, qd_entry_cache *ec)
{
	const qd_list_info *lists;
	size_t nlists;
	qd_list_info one;
	int ret;
	if (q->list && q->version) {
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
	if (q->list && !q->version && !q->has_at) {
		size_t i;
		for (i = 0; i < nlists; i++)
			if (strcmp(lists[i].id, q->list) == 0)
				break;
		if (i == nlists)
			return QD_ENOENT;
		lists += i;
		nlists = 1;
	}

	/* Results go to a side buffer: the overall decision comes first in
	 * the object but is known only after every list is decided. */
	qd_buf *results = qd_snap_scratch(s, 0), *basis = qd_snap_scratch(s, 1),
	       *cur_basis = qd_snap_scratch(s, 2);
	bool allow = false;
	enum qd_reason reason = QD_REASON_NOT_LISTED;
	bool have_basis = false;
	if (res)
		res->n_lists = 0;
	for (size_t i = 0; i < nlists; i++) {
		list_result lr;
		if (i)
			qd_buf_putc(results, ',');
		ret = decide_list(s, &lists[i], q, results, &lr, cur_basis, ec);
		if (ret)
			goto out;
		if (res && res->n_lists < QD_OUTCOME_LISTS_MAX) {
			struct qd_list_outcome *lo = &res->lists[res->n_lists];
			memcpy(lo->id, lists[i].id, sizeof lo->id);
			lo->version = lists[i].version;
			lo->allow = lr.allow;
			lo->reason = lr.reason;
		}
		if (res)
			res->n_lists++;
		if (lr.allow && !allow) {
			allow = true;
			reason = QD_REASON_LISTED;
			swap(&basis, &cur_basis);
			have_basis = true;
		} else if (!allow && lr.reason < reason) {
			reason = lr.reason;
			have_basis = lr.reason == QD_REASON_EXCLUDED;
			if (have_basis)
				swap(&basis, &cur_basis);
		}
	}

	char date[11];
	qd_date_format(q->date, date);
	qd_buf_puts(out, allow ? "\"decision\":\"allow\",\"reason\":\"" : "\"decision\":\"deny\",\"reason\":\"");
	qd_buf_puts(out, qd_reason_name(reason));
	qd_buf_puts(out, "\",\"query\":{\"code\":");
	qd_buf_json_cstr(out, q->code.digits);
	qd_buf_puts(out, ",\"ciq\":");
	qd_buf_json_cstr(out, q->code.ciq[0] ? q->code.ciq : NULL);
	qd_buf_puts(out, ",\"entity\":");
	qd_buf_json_cstr(out, q->entity);
	qd_buf_puts(out, ",\"date\":\"");
	qd_buf_puts(out, date);
	qd_buf_puts(out, "\",\"list\":");
	qd_buf_json_cstr(out, q->list);
	qd_buf_puts(out, "},\"basis\":");
	if (have_basis)
		qd_buf_add(out, basis->data, basis->len);
	else
		qd_buf_puts(out, "null");
	qd_buf_puts(out, ",\"results\":[");
	qd_buf_add(out, results->data ? results->data : "", results->len);
	qd_buf_putc(out, ']');
	if (out->oom || results->oom || basis->oom || cur_basis->oom)
		ret = QD_ENOMEM;
	if (res) {
		res->allow = allow;
		res->reason = reason;
	}
out:
	return ret;
}
