/* qingdan — arenas for jansson trees that are dropped all at once.
 *
 * A 100 000-entry list document is millions of small jansson blocks;
 * freeing them one by one costs more than building them.  While a thread
 * has entered an arena, every jansson allocation of that thread comes
 * from the arena; qd_jarena_free() then releases them all at once, and
 * jansson's own free of an arena block does nothing.
 *
 * jansson's allocator hooks (json_set_alloc_funcs) are process-wide, so
 * the library installs them once, before main(): they take a block from
 * the calling thread's current arena, or from malloc() when there is none,
 * and they tell the two apart by address — arena blocks lie in one
 * address range reserved at start-up — so blocks from malloc() carry no
 * header and json_dumps() results may still be released with free().
 * Threads that never enter an arena see plain malloc()/free().
 *
 * Rules for code inside qd_jarena_enter()/qd_jarena_leave():
 *  - nothing jansson allocates there may outlive the arena: no
 *    json_dumps() (its result would be an arena block, not free()able),
 *    no reference into the arena kept by anything that lives longer;
 *  - a tree built in an arena needs no json_decref(): releasing the arena
 *    frees it (decref is harmless, only wasted work). */
#ifndef QINGDAN_JARENA_H
#define QINGDAN_JARENA_H

#include <stdbool.h>

typedef struct qd_jarena qd_jarena;

/* A new, empty arena; NULL when none can be had (no address range could be
 * reserved at start-up, or out of memory): the caller then works with
 * malloc()ed trees and releases them with json_decref() as usual. */
qd_jarena *qd_jarena_new(void);

/* Make a the calling thread's current arena (NULL: none, plain malloc()).
 * Returns the previous one, to be given back to qd_jarena_leave(). */
qd_jarena *qd_jarena_enter(qd_jarena *a);

/* Restore the arena qd_jarena_enter() returned. */
void qd_jarena_leave(qd_jarena *prev);

/* Does p (a block jansson allocated) lie in arena a?  false for a NULL. */
bool qd_jarena_owns(const qd_jarena *a, const void *p);

/* Release every block of a, keeping a and the memory of its newest run
 * for the blocks to come: an arena filled and emptied again and again
 * touches no fresh pages.  No tree of a may be used after it.  NULL is
 * ignored. */
void qd_jarena_reset(qd_jarena *a);

/* Release every block of a and a itself; the address range is unmapped, so
 * a stale pointer faults instead of reading reused memory.  NULL is
 * ignored.  No thread may have a as its current arena. */
void qd_jarena_free(qd_jarena *a);

#endif
