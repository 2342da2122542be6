/* qingdan — a snapshot handle's read cache: its memory, filling it and
 * emptying it, and its bound and counters.  Looking an answer up is inline
 * in store_int.h, on the lookup path. */
#include "store_int.h"

void qd_st_sc_reset(snap_cache *c)
{
	if (c->n_ents)
		memset(c->slots, 0, (c->mask + 1) * sizeof *c->slots);
	c->n_ents = c->keys_len = c->n_refs = 0;
	atomic_store_explicit(&c->held, 0, memory_order_relaxed);
}

void qd_st_sc_free(snap_cache *c)
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

sc_ent *qd_st_sc_add(snap_cache *c, const unsigned char *key, size_t kl, uint32_t h,
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
		qd_st_sc_reset(c);
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

void qd_snap_set_cache(qd_snap *s, size_t bytes)
{
	qd_st_sc_free(&s->cache);
	s->cache.limit = bytes;
}

void qd_snap_cache_stats_get(const qd_snap *s, qd_snap_cache_stats *out)
{
	out->hits = atomic_load_explicit(&s->cache.hits, memory_order_relaxed);
	out->misses = atomic_load_explicit(&s->cache.misses, memory_order_relaxed);
	out->resets = atomic_load_explicit(&s->cache.resets, memory_order_relaxed);
	out->entries = atomic_load_explicit(&s->cache.held, memory_order_relaxed);
	out->held_clauses = atomic_load_explicit(&s->held_c, memory_order_relaxed);
	out->held_members = atomic_load_explicit(&s->held_m, memory_order_relaxed);
}
