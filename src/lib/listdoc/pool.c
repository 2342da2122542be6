/* qingdan — byte pool and string map for a document's entries (pool.h). */
#include "pool.h"

#include "qingdan/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Blocks of this size hold many entries; an entry bigger than a quarter
 * of it gets a block of its own, so a big entry wastes no more than it
 * is. */
#define BLOCK (1u << 20)

struct block {
	struct block *prev;
	size_t size;                 /* bytes after the header */
	_Alignas(16) char data[];
};

struct qd_pool {
	struct block *cur;           /* newest shared block */
	struct block *big;           /* blocks of one big allocation each */
	size_t used;                 /* bytes of cur handed out */
	size_t total;
};

qd_pool *qd_pool_new(void)
{
	return calloc(1, sizeof(qd_pool));
}

static struct block *new_block(qd_pool *p, size_t size, struct block **list)
{
	struct block *b = malloc(sizeof(*b) + size);

	if (b == NULL)
		return NULL;
	/* Faulted in with one call (huge pages where there are whole ones)
	 * rather than a page at a time as it is written: a big document fills
	 * hundreds of blocks. */
	qd_mem_commit(b, sizeof(*b) + size);
	b->size = size;
	b->prev = *list;
	*list = b;
	p->total += sizeof(*b) + size;
	return b;
}

void *qd_pool_alloc(qd_pool *p, size_t n, size_t align)
{
	size_t at;

	if (n > BLOCK / 4) {
		struct block *b = new_block(p, n, &p->big);

		return b ? b->data : NULL;
	}
	at = p->cur ? (p->used + align - 1) & ~(align - 1) : 0;
	if (p->cur == NULL || at + n > p->cur->size) {
		if (new_block(p, BLOCK, &p->cur) == NULL)
			return NULL;
		at = 0;
	}
	p->used = at + n;
	return p->cur->data + at;
}

char *qd_pool_strndup(qd_pool *p, const char *s, size_t n)
{
	char *d = qd_pool_alloc(p, n + 1, 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

size_t qd_pool_size(const qd_pool *p)
{
	return p ? p->total : 0;
}

static void free_list(struct block *b)
{
	while (b != NULL) {
		struct block *prev = b->prev;

		free(b);
		b = prev;
	}
}

void qd_pool_free(qd_pool *p)
{
	if (p == NULL)
		return;
	free_list(p->cur);
	free_list(p->big);
	free(p);
}

/* ---- string map ---------------------------------------------------------- */

struct qd_idmap_slot {
	uint32_t hash;
	uint32_t val1;               /* value + 1; 0: empty */
};

static uint32_t hash_of(const char *s, size_t n)
{
	uint32_t h = 2166136261u;   /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

bool qd_idmap_get(const qd_idmap *m, const char *key, size_t n, uint32_t *val)
{
	uint32_t h = hash_of(key, n);

	if (m->cap == 0)
		return false;
	for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		const struct qd_idmap_slot *s = &m->slot[i];
		const char *k;

		if (s->val1 == 0)
			return false;
		if (s->hash != h)
			continue;
		k = m->key_of(m->ctx, s->val1 - 1);
		if (strncmp(k, key, n) == 0 && k[n] == '\0') {
			*val = s->val1 - 1;
			return true;
		}
	}
}

static void place(struct qd_idmap_slot *t, size_t cap, struct qd_idmap_slot s)
{
	size_t i = s.hash & (cap - 1);

	while (t[i].val1 != 0)
		i = (i + 1) & (cap - 1);
	t[i] = s;
}

bool qd_idmap_put(qd_idmap *m, const char *key, size_t n, uint32_t val)
{
	/* Kept at most three quarters full, so a probe stays short. */
	if ((m->n + 1) * 4 > m->cap * 3) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		struct qd_idmap_slot *t = calloc(ncap, sizeof(*t));

		if (t == NULL)
			return false;
		qd_mem_commit(t, ncap * sizeof(*t));
		for (size_t i = 0; i < m->cap; i++)
			if (m->slot[i].val1 != 0)
				place(t, ncap, m->slot[i]);
		free(m->slot);
		m->slot = t;
		m->cap = ncap;
	}
	place(m->slot, m->cap, (struct qd_idmap_slot){ .hash = hash_of(key, n), .val1 = val + 1 });
	m->n++;
	return true;
}

void qd_idmap_free(qd_idmap *m)
{
	free(m->slot);
	m->slot = NULL;
	m->cap = m->n = 0;
}
