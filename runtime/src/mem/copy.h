/* copy.h: the generic deep-copy driver behind mcore/type.h (internal).
 *
 * A copy walks a graph of typed allocations (type.h's layout rules) and
 * rebuilds it in a target: a shared heap, a process-local arena, later a
 * camlbox slot.  The target is an allocator hook; the walk is the same for
 * all.  It is iterative (a work list of allocations whose elements are still
 * to be copied), so deep lists do not use the C stack, and it keeps a map
 * from source allocation to target allocation, so that shared and cyclic
 * references stay shared and cyclic.
 *
 * The visited map is a small array scanned linearly while a copy has made
 * few allocations (the usual case: a record and a few strings), and an
 * open-addressing hash table after that: a small copy never touches a
 * table, and a large one pays O(1) per allocation.
 */
#ifndef MC_MEM_COPY_H
#define MC_MEM_COPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "mcore/type.h"

/* Allocations a copy may make before the visited set becomes a hash table.
 * Linear scans of up to this many pairs cost less than hashing. */
#define MC__COPY_SMALL 16
/* Work items held in the copier itself before the list goes to malloc. */
#define MC__COPY_WORK 16

/* One allocation whose elements still have to be copied. */
typedef struct mc__copy_work {
    const mc_type *t;
    size_t count;
    const char *src;
    char *dst;
} mc__copy_work;

typedef struct mc__copy_pair {
    const void *src;
    void *dst;
} mc__copy_pair;

/* The allocator of a target: `count` zeroed elements of t, aligned for t,
 * as the writer addresses them.  On failure: NULL, and c->err set to an
 * MC_E* code (with mc__err's detail). */
typedef void *mc__copy_alloc_fn(mc_copier *c, const mc_type *t,
                                size_t count);

/* The address under which the receiver of the copy will see `dst` (a target
 * address handed out by the allocator).  Pointer fields store this, not the
 * writer's address: a camlbox sender writes through its own mapping but
 * stores the receiver's.  NULL hook: the same address (heaps, local); an
 * MC__BUMP_SLOT target adds slot_delta instead of calling a hook. */
typedef void *mc__copy_reloc_fn(mc_copier *c, void *dst);

/* How the copier carves allocations inline from the target's bump region
 * (copy.c: target_alloc); the alloc hook is the slow path, and refreshes
 * the region.  A call per allocation was most of the cost of a copy. */
enum {
    MC__BUMP_NONE,  /* every allocation through the hook */
    MC__BUMP_ARENA, /* local arena: aligned bytes, no header */
    MC__BUMP_HEAP,  /* heap chunk: a block header before each payload */
    MC__BUMP_SLOT,  /* one buffer laid out as a camlbox slot (mc__slot_place:
                       strings 8-aligned too); stored pointers are the
                       writer's address + slot_delta, the reloc hook is not
                       called; the hook is called only when an allocation
                       does not fit (or its alignment is not supported) */
};

/* Entries of the copier's type -> heap block header cache. */
#define MC__COPY_HCACHE 16 /* 8 sets of 2 */

struct mc_copier {
    mc__copy_alloc_fn *alloc;
    mc__copy_reloc_fn *reloc;
    void *target;       /* the allocator's own state */
    int init_sync;      /* nonzero: run t->init_sync on created elements */
    int raw;            /* set around the allocation of a leaf that is
                           filled at once: the target need not zero it */
    int err;            /* first error (MC_E*), 0 while all is well */
    /* nonzero: the source is a heap's value, so a string's length is in
     * its block header (no strlen over cold memory) */
    int src_heap;

    int bump_kind;              /* MC__BUMP_* */
    char *bump, *bump_end;      /* the open region, set by the target */
    char *bump_start;           /* heap: where the region started */
    size_t carved;              /* heap: bytes carved by this copy so far
                                   (committed regions) */
    /* heap: header word 0 of each type seen (filled by the slow path) */
    const mc_type *hc_t[MC__COPY_HCACHE];
    uint64_t hc_w[MC__COPY_HCACHE];
    uint64_t hw_bytes;          /* heap: the same for strings (0: unknown) */
    /* heap: the address range of the target heap's chunks when the copy
     * began (a superset: heap.c keeps it).  A pointer of the source inside
     * it may be a value of the target heap, which is linked, not copied
     * (mc__heap_link); one outside it never is, so a local value costs one
     * compare per pointer.  0 and 0 for other targets. */
    uintptr_t link_lo, link_span;
    uint64_t link_gen;          /* heap: its chunk_gen when the copy began */
    uintptr_t slot_delta;       /* slot: the reader's address of a byte
                                   minus the writer's */

    mc__copy_work *work;        /* queue of pending allocations: taken in
                                   the order they were met, which follows
                                   the source's layout */
    size_t whead, nwork, capwork;
    mc__copy_work work_inline[MC__COPY_WORK];

    size_t nvisit;              /* pairs recorded */
    mc__copy_pair small[MC__COPY_SMALL];
    mc__copy_pair *table;       /* NULL until nvisit passes MC__COPY_SMALL */
    size_t tmask;               /* table capacity - 1 (a power of two) */
};

/* Prepare a copier for one copy into a target.  Cheap: no allocation.
 * (Inline, as fini: a call each was a tenth of a small copy.) */
static inline void mc__copier_init(mc_copier *c, mc__copy_alloc_fn *alloc,
                                   mc__copy_reloc_fn *reloc, void *target)
{
    /* Only the scalars: the inline arrays are written before being read. */
    c->alloc = alloc;
    c->reloc = reloc;
    c->target = target;
    c->init_sync = 0;
    c->raw = 0;
    c->err = 0;
    c->src_heap = 0;
    c->bump_kind = MC__BUMP_NONE;
    c->bump = c->bump_end = c->bump_start = NULL;
    c->carved = 0;
    c->link_lo = c->link_span = 0;
    c->link_gen = 0;
    c->slot_delta = 0;
    /* hc_t and hw_bytes are cleared by the heap target (heap.c:
     * heap_copy), the only one that reads them */
    c->work = c->work_inline;
    c->whead = c->nwork = 0;
    c->capwork = MC__COPY_WORK;
    c->nvisit = 0;
    c->table = NULL;
    c->tmask = 0;
}

/* Copy `count` elements of t at src (the root of a value) into the target,
 * and everything reachable from them; *dst receives the writer's address of
 * the root copy.  For t == &mc_type_bytes, src is a NUL-terminated string
 * and count is ignored.  Returns 0 or the first error (MC_E*): then *dst is
 * untouched and whatever was allocated stays in the target (the caller
 * frees it, or lets the collector do so). */
int mc__copy_root(mc_copier *c, const mc_type *t, size_t count,
                  const void *src, void **dst);

/* The set of t in the copier's header cache: two slots, s and s + 1.
 * Two ways, because the few types of one copy are often neighbours in
 * memory, and a type that kept evicting another took the slow path at
 * every block. */
static inline unsigned mc__copy_hset(const mc_type *t)
{
    uint64_t a = (uint64_t)(uintptr_t)t >> 3;
    return (unsigned)((a * 0x9e3779b97f4a7c15ull) >> 61) * 2;
}

/* Empty the header cache (hc_t) with eight 16-byte stores.  A memset
 * (or a loop gcc sees as one) compiles to rep stos here, whose start-up
 * cost was a tenth of a whole small mc_sref_assign: the zero is hidden
 * from the compiler so that the stores stay stores. */
static inline void mc__copy_hc_clear(mc_copier *c)
{
#if defined(__SSE2__)
    __m128i z = _mm_setzero_si128();
    __asm__("" : "+x"(z));
    for (unsigned i = 0; i < MC__COPY_HCACHE; i += 2)
        _mm_storeu_si128((__m128i *)(void *)&c->hc_t[i], z);
#else
    memset(c->hc_t, 0, sizeof c->hc_t);
#endif
}

/* The slot holding t's header word, or -1. */
static inline int mc__copy_hfind(const mc_copier *c, const mc_type *t)
{
    unsigned s = mc__copy_hset(t);
    if (c->hc_t[s] == t)
        return (int)s;
    if (c->hc_t[s + 1] == t)
        return (int)s + 1;
    return -1;
}

/* The slot to fill for t: its own, a free one, or the second way. */
static inline unsigned mc__copy_hfill(const mc_copier *c, const mc_type *t)
{
    unsigned s = mc__copy_hset(t);
    return c->hc_t[s] == t || !c->hc_t[s] ? s : s + 1;
}

/* Whether the source pointer p (to count elements of t) is to be linked,
 * not copied: 1 if it is the start of a live value of the copy's target
 * heap (c->target is its mc_mut) whose block holds at least count elements
 * of t; 0 if not (copy it); an MC_E* code (c->err set) if the heap's chunk
 * index could not be made.  Called only for p in [link_lo, link_lo +
 * link_span). */
int mc__heap_link(mc_copier *c, const void *p, const mc_type *t,
                  size_t count);

/* p lies in the target heap's chunk range: worth asking mc__heap_link */
static inline int mc__copy_in_span(const mc_copier *c, const void *p)
{
    return (uintptr_t)p - c->link_lo < c->link_span;
}

/* mc_local_copy of a value that lives in a heap (mc_heap_root_c, sref
 * reads): the same copy, with string lengths read from block headers. */
int mc__local_copy_heap(const mc_type *t, const void *value, void **copy);

/* Where an allocation of `count` elements of t goes in a camlbox slot
 * whose first `used` bytes are taken: at a multiple of max(8, t->align),
 * at least 1 byte long (two allocations must not share an address).  The
 * one layout rule of a slot, for the sender (camlbox.c) and mc_copy_size.
 * 0 with *off and *sz set, 1: the alignment is not supported (above 16, or
 * not a power of two), 2: it would end past cap (or its size overflows). */
static inline int mc__slot_place(size_t used, const mc_type *t, size_t count,
                                 size_t cap, size_t *off, size_t *sz)
{
    size_t align = t->align < 8 ? 8 : t->align;
    if (align > 16 || (align & (align - 1)))
        return 1;
    if (used > SIZE_MAX - (align - 1) || (t->size && count > cap / t->size))
        return 2;
    size_t o = (used + align - 1) & ~(align - 1);
    size_t n = count * t->size;
    if (n == 0)
        n = 1;
    if (o > cap || n > cap - o)
        return 2;
    *off = o;
    *sz = n;
    return 0;
}

/* Release the copier's own memory (work list, table). */
static inline void mc__copier_fini(mc_copier *c)
{
    if (c->work != c->work_inline)
        free(c->work);
    if (c->table)
        free(c->table);
    c->work = c->work_inline;
    c->table = NULL;
}

#endif
