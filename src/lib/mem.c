/* qingdan — committing big blocks of memory ahead of writing them (mem.h). */
#include "qingdan/mem.h"

#include <stdint.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define PAGE ((uintptr_t)4096)
#define HUGE ((uintptr_t)2 << 20)

/* The largest [a, e) inside [p, p+n) with a and e multiples of unit. */
static int inner(void *p, size_t n, uintptr_t unit, uintptr_t *a, uintptr_t *e)
{
	*a = ((uintptr_t)p + unit - 1) & ~(unit - 1);
	*e = ((uintptr_t)p + n) & ~(unit - 1);
	return *e > *a;
}

/* Mark the whole 2 MiB stretches of [p, p+n) for huge pages. */
static void hint_huge(void *p, size_t n)
{
	uintptr_t a, e;

	if (inner(p, n, HUGE, &a, &e))
		(void)madvise((void *)a, e - a, MADV_HUGEPAGE);
}

void qd_mem_populate(void *p, size_t n)
{
	uintptr_t a, e;

	if (n >= QD_MEM_COMMIT_MIN && inner(p, n, PAGE, &a, &e))
		(void)madvise((void *)a, e - a, MADV_POPULATE_WRITE);
}

void qd_mem_commit(void *p, size_t n)
{
	if (n < QD_MEM_COMMIT_MIN)
		return;
	hint_huge(p, n);
	qd_mem_populate(p, n);
}
