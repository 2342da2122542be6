/* qingdan — arenas for jansson trees (see jarena.h).
 *
 * One range of address space is reserved (PROT_NONE, nothing committed)
 * when the program starts and cut into chunks.  An arena takes runs of
 * consecutive chunks, makes them writable, and hands out blocks from them
 * by bumping a pointer; releasing the arena maps its runs back to
 * PROT_NONE (the kernel drops the pages) and returns the chunks.  Whether
 * a block is an arena block is then one subtraction and compare, valid in
 * any thread, with no header on any block. */
#include "qingdan/jarena.h"
#include "qingdan/mem.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Address space only: a 100 000-entry document takes a few hundred MiB,
 * and a daemon holds one document per load in flight.  Where that much
 * cannot be reserved (valgrind caps the address space), half as much is
 * tried, down to REGION_MIN. */
#define REGION_MAX ((size_t)64 << 30)
#define REGION_MIN ((size_t)1 << 30)
#define CHUNK_SHIFT 21                          /* 2 MiB chunks */
#define CHUNK ((size_t)1 << CHUNK_SHIFT)
#define NCHUNKS (REGION_MAX >> CHUNK_SHIFT)
#define GROW_MAX 16                             /* regular runs grow to 32 MiB */
/* jansson's blocks hold pointers, sizes, long long and double at most. */
#define ALIGN 8

struct run {
	size_t first, n;  /* chunk index and count */
};

struct qd_jarena {
	char *next, *end;   /* free part of the newest regular run */
	struct run *runs;   /* every run taken, released together */
	size_t nruns, cap;
	size_t grow;        /* chunks of the next regular run */
};

static char *region;    /* set before main(), read-only after */
static size_t region_size;
static size_t nchunks;  /* region_size in chunks */

/* owner[i] is the arena holding chunk i, NULL when free.  Changed under
 * `lock`; read without it by qd_jarena_owns(), which only ever asks about
 * chunks the asking arena may hold, so a concurrent change elsewhere
 * cannot make the answer wrong. */
static _Atomic(qd_jarena *) owner[NCHUNKS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static size_t hint;     /* where the next search starts; under lock */

static __thread qd_jarena *current;

static bool in_region(const void *p)
{
	return (uintptr_t)p - (uintptr_t)region < region_size;
}

/* Give back chunks [first, first+n): pages dropped, access revoked. */
static void put_run(size_t first, size_t n)
{
	void *p = mmap(region + (first << CHUNK_SHIFT), n << CHUNK_SHIFT, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);

	/* If the pages could not be dropped, the chunks stay taken: reusing
	 * them would hand out memory someone may still point into. */
	if (p == MAP_FAILED)
		return;
	pthread_mutex_lock(&lock);
	for (size_t i = first; i < first + n; i++)
		atomic_store_explicit(&owner[i], NULL, memory_order_relaxed);
	if (first < hint)
		hint = first;
	pthread_mutex_unlock(&lock);
}

/* Take n consecutive chunks for a and make them writable; NULL when the
 * region is full or the memory cannot be committed. */
static char *take_run(qd_jarena *a, size_t n)
{
	size_t first = NCHUNKS, len = 0;
	char *p;

	if (a->nruns == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 16;
		struct run *nr = realloc(a->runs, ncap * sizeof(*nr));

		if (nr == NULL)
			return NULL;
		a->runs = nr;
		a->cap = ncap;
	}
	pthread_mutex_lock(&lock);
	for (size_t i = hint; i < nchunks && len < n; i++) {
		if (atomic_load_explicit(&owner[i], memory_order_relaxed) != NULL) {
			len = 0;
			continue;
		}
		if (len++ == 0)
			first = i;
	}
	if (len < n) {
		pthread_mutex_unlock(&lock);
		return NULL;
	}
	for (size_t i = first; i < first + n; i++)
		atomic_store_explicit(&owner[i], a, memory_order_relaxed);
	if (first == hint)
		hint = first + n;
	pthread_mutex_unlock(&lock);
	p = region + (first << CHUNK_SHIFT);
	if (mprotect(p, n << CHUNK_SHIFT, PROT_READ | PROT_WRITE) != 0) {
		put_run(first, n);
		return NULL;
	}
	/* Chunks are 2 MiB and aligned: huge pages, faulted in at once.
	 * put_run()'s fresh mapping has lost the marking, so it is made each
	 * time. */
	qd_mem_commit(p, n << CHUNK_SHIFT);
	a->runs[a->nruns++] = (struct run){ first, n };
	return p;
}

static void *arena_alloc(qd_jarena *a, size_t size)
{
	char *p;

	size = size ? (size + ALIGN - 1) & ~(size_t)(ALIGN - 1) : ALIGN;
	if ((size_t)(a->end - a->next) >= size) {
		p = a->next;
		a->next += size;
		return p;
	}
	/* A block bigger than a quarter of a run (a long string, a large
	 * array's table) gets a run of its own; the current run goes on. */
	if (size > (a->grow << CHUNK_SHIFT) / 4) {
		if (size > region_size)
			return NULL;
		return take_run(a, (size + CHUNK - 1) >> CHUNK_SHIFT);
	}
	p = take_run(a, a->grow);
	if (p == NULL)
		return NULL;
	a->end = p + (a->grow << CHUNK_SHIFT);
	a->next = p + size;
	if (a->grow < GROW_MAX)
		a->grow *= 2;
	return p;
}

static void *hook_malloc(size_t size)
{
	qd_jarena *a = current;

	return a != NULL ? arena_alloc(a, size) : malloc(size);
}

static void hook_free(void *p)
{
	/* An arena block goes when its arena goes. */
	if (!in_region(p))
		free(p);
}

/* Before main(), so that no other thread can be inside jansson while the
 * hooks change.  Blocks allocated earlier are malloc() blocks, which the
 * hooks free with free() like any other. */
__attribute__((constructor)) static void install(void)
{
	void *p = MAP_FAILED;
	size_t size;

	for (size = REGION_MAX; size >= REGION_MIN; size /= 2) {
		p = mmap(NULL, size + CHUNK, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED)
			break;
	}
	/* Without the range there are no arenas and jansson keeps malloc(). */
	if (p == MAP_FAILED)
		return;
	/* Chunks on 2 MiB boundaries, so that each can be one huge page; the
	 * slack before and after is given back. */
	uintptr_t start = ((uintptr_t)p + CHUNK - 1) & ~(uintptr_t)(CHUNK - 1);
	size_t head = start - (uintptr_t)p;
	if (head)
		munmap(p, head);
	munmap((char *)start + size, CHUNK - head);
	region = (char *)start;
	region_size = size;
	nchunks = region_size >> CHUNK_SHIFT;
	json_set_alloc_funcs(hook_malloc, hook_free);
}

qd_jarena *qd_jarena_new(void)
{
	qd_jarena *a;

	if (region == NULL)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (a != NULL)
		a->grow = 1;
	return a;
}

qd_jarena *qd_jarena_enter(qd_jarena *a)
{
	qd_jarena *prev = current;

	current = a;
	return prev;
}

void qd_jarena_leave(qd_jarena *prev)
{
	current = prev;
}

bool qd_jarena_owns(const qd_jarena *a, const void *p)
{
	if (a == NULL || !in_region(p))
		return false;
	return atomic_load_explicit(&owner[((uintptr_t)p - (uintptr_t)region) >> CHUNK_SHIFT],
				    memory_order_relaxed) == a;
}

void qd_jarena_free(qd_jarena *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->nruns; i++)
		put_run(a->runs[i].first, a->runs[i].n);
	free(a->runs);
	free(a);
}

void qd_jarena_reset(qd_jarena *a)
{
	struct run keep = { 0, 0 };

	if (a == NULL)
		return;
	/* The newest regular run (the one a->end closes) stays, written
	 * pages and all; every other run goes back. */
	for (size_t i = 0; i < a->nruns; i++) {
		struct run r = a->runs[i];

		if (a->end != NULL && region + ((r.first + r.n) << CHUNK_SHIFT) == a->end)
			keep = r;
		else
			put_run(r.first, r.n);
	}
	a->nruns = 0;
	if (keep.n == 0) {
		a->next = a->end = NULL;
		return;
	}
	a->runs[a->nruns++] = keep;
	a->next = region + (keep.first << CHUNK_SHIFT);
}
