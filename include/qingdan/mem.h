/* qingdan — committing big blocks of memory ahead of writing them.
 *
 * Loading a 100 000-entry list writes a few hundred MiB of fresh memory:
 * the file's bytes, the parsed document, its entries' records.  Faulted in
 * a 4 KiB page at a time as it is first written, that is tens of thousands
 * of page faults, each a trip into the kernel, and on a virtual machine a
 * dear one.  qd_mem_commit() asks for the block's aligned 2 MiB stretches
 * as transparent huge pages (where the kernel's setting is "madvise", the
 * usual default, only memory so marked gets them) and faults the whole
 * block in with one call.  Both are hints: where the kernel refuses either,
 * the block is as malloc() left it and faults in as it is written. */
#ifndef QINGDAN_MEM_H
#define QINGDAN_MEM_H

#include <stddef.h>

/* Blocks smaller than this are left alone: a huge page is 2 MiB, and a
 * populate call costs more than the few faults of a small block saves. */
#define QD_MEM_COMMIT_MIN ((size_t)256 << 10)

/* Mark [p, p+n) for huge pages and fault it in, writable.  p need not be
 * aligned; only the whole pages (huge pages) inside it are touched.  Does
 * nothing for n < QD_MEM_COMMIT_MIN.  For blocks that are never grown in
 * place (see qd_mem_populate). */
void qd_mem_commit(void *p, size_t n);

/* Only the faulting in, no huge pages: for a block that realloc() may grow
 * later.  Marking part of a big block splits its mapping in two, and
 * glibc's realloc() then cannot move the block with mremap() but copies
 * it, holding both copies at once. */
void qd_mem_populate(void *p, size_t n);

#endif
