/* qingdan — compact storage for a loaded document's entries (not
 * installed): a byte pool that never moves what it handed out, and a map
 * from strings (borrowed, usually pool bytes) to 32-bit values.  A
 * document of a million entries keeps its entries' canonical bytes, ids
 * and small arrays here instead of a jansson node for each. */
#ifndef QINGDAN_LISTDOC_POOL_H
#define QINGDAN_LISTDOC_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct qd_pool qd_pool;

/* A new, empty pool; NULL when out of memory. */
qd_pool *qd_pool_new(void);

/* n bytes aligned to align (a power of two, at most 16) from p; they stay
 * where they are until qd_pool_free.  NULL when out of memory. */
void *qd_pool_alloc(qd_pool *p, size_t n, size_t align);

/* A NUL-terminated copy of s[0, n) in p; NULL when out of memory. */
char *qd_pool_strndup(qd_pool *p, const char *s, size_t n);

/* Bytes the pool holds (its blocks), for tests and measurements. */
size_t qd_pool_size(const qd_pool *p);

/* Release the pool and every byte it handed out; NULL is ignored. */
void qd_pool_free(qd_pool *p);

/* String -> 32-bit value, open addressing, 8 bytes a slot: the keys are
 * not stored but asked for (key_of(ctx, value), a NUL-terminated string
 * that must stay valid and unchanged while the map is used), so a value
 * must name its key, as an index into an array of them does. */
typedef const char *(*qd_idmap_key_fn)(const void *ctx, uint32_t val);

typedef struct qd_idmap {
	struct qd_idmap_slot *slot;
	size_t cap, n;           /* cap: 0 or a power of two */
	qd_idmap_key_fn key_of;
	const void *ctx;
} qd_idmap;

/* Look key[0, n) up: true and *val set when present. */
bool qd_idmap_get(const qd_idmap *m, const char *key, size_t n, uint32_t *val);

/* Add key[0, n) (not present; key_of(ctx, val) must already give it) with
 * val; false when out of memory. */
bool qd_idmap_put(qd_idmap *m, const char *key, size_t n, uint32_t val);

/* Release the map's table; the map is left empty (key_of and ctx kept). */
void qd_idmap_free(qd_idmap *m);

#endif
