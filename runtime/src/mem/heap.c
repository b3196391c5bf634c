/* heap.c: shared heaps (see mcore/heap.h): allocation, mutations, readers.
 *
 * Layout, crash consistency and marks are described in heap_internal.h; the
 * collector is gc.c.  Allocation, in order of preference: the exact-size
 * free list (small blocks), bump allocation in the current chunk, the first
 * fitting block of a larger class (split), a new chunk from the pool.
 * Blocks above MC__LARGE_BLOCK get a chunk of their own.
 *
 * Readers (mc_heap_root_c, mc_heap_root_p) never take the lock.  Each thread
 * claims a reader slot in the heap header once (keyed by its OS thread id)
 * and, while it reads, publishes the heap's epoch there.  The collector
 * bumps the epoch when it starts and, before its sweep frees anything,
 * waits until no slot shows an older epoch: a reader that started before
 * the collection may hold a pointer to something the mutator detached, but
 * one that started later can only reach what the collector marked (the
 * graph does not change during a collection: the mutator is the collector).
 * Slots of dead threads (kill(tid, 0) fails with ESRCH) are cleared.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "mem/copy.h"
#include "mem/heap_internal.h"
#include "mem/heap_lock.h"
#include "os/futex.h"
#include "os/spin.h"
#include "proc/stat.h"

/* -------------------------------------------------------- small helpers */

unsigned mc__heap_class(size_t bytes)
{
    if (bytes <= MC__SMALL_MAX)
        return (unsigned)(bytes / MC__GRAN) - 2;
    unsigned k = 63u - (unsigned)__builtin_clzll((unsigned long long)bytes);
    unsigned c = MC__NSMALL + (k - 10); /* 1040..2047 -> first range class */
    return c < MC__NCLASS ? c : MC__NCLASS - 1;
}

static inline mc__block *next_free(const mc__block *b)
{
    return (mc__block *)(uintptr_t)b->w1;
}

const mc_type *mc__heap_type(const mc_heap *h, unsigned tidx)
{
    unsigned n = atomic_load_explicit(&h->ntypes, memory_order_acquire);
    return tidx && tidx < n ? h->types[tidx].t : NULL;
}

static int check_heap(const mc_heap *h, const char *what)
{
    if (!h)
        return mc__err(MC_EINVAL, "%s: NULL heap", what);
    if (h->magic != MC__HEAP_MAGIC)
        return mc__err(MC_EINVAL, "%s: %p is not a heap (destroyed?)", what,
                       (const void *)h);
    return 0;
}

static int debug_env(void)
{
    const char *e = getenv("MC_DEBUG");
    return e && *e && strcmp(e, "0") != 0;
}

/* The hint slot of t (type_index and type_hint). */
static inline unsigned hint_slot(const mc_type *t)
{
    /* mc_types are static records: their addresses differ in the low bits
     * above the alignment */
    uintptr_t a = (uintptr_t)t;
    return (unsigned)((a >> 4) ^ (a >> 8)) & 15;
}

/* t's index if the heap's hint knows it, else 0 (nothing added). */
static inline unsigned type_hint(const mc_heap *h, const mc_type *t)
{
    unsigned n = atomic_load_explicit(&h->ntypes, memory_order_acquire);
    unsigned i =
        atomic_load_explicit(&h->thint[hint_slot(t)], memory_order_relaxed);
    return i && i < n && h->types[i].t == t ? i : 0;
}

/* The index of t in the heap's type table, adding it if new.  The heap's
 * hints (heap_internal.h: thint) make the usual case two loads and a
 * compare. */
static int type_index(mc_heap *h, const mc_type *t, unsigned *out)
{
    unsigned i = type_hint(h, t);
    if (MC_LIKELY(i)) {
        *out = i;
        return 0;
    }
    unsigned slot = hint_slot(t);
    unsigned n = atomic_load_explicit(&h->ntypes, memory_order_acquire);
    for (i = 1; i < n; i++)
        if (h->types[i].t == t)
            break;
    if (i == n) {
        if (n == MC__NTYPES)
            return mc__err(MC_ENOMEM, "heap: type table full (%u types); "
                                      "cannot add type %s", MC__NTYPES - 1,
                           t->name ? t->name : "?");
        /* entry first, then the count that publishes it */
        h->types[n].id = t->id;
        h->types[n].t = t;
        atomic_store_explicit(&h->ntypes, n + 1, memory_order_release);
    }
    atomic_store_explicit(&h->thint[slot], (uint16_t)i, memory_order_relaxed);
    *out = i;
    return 0;
}

/* --------------------------------------------------------------- chunks */

/* A new, empty chunk with room for at least `need` bytes of blocks, linked
 * into the heap.  NULL (detail set) when the pool is full. */
static mc__chunk *new_chunk(mc_heap *h, size_t need)
{
    size_t size = MC__CHUNK_HDR + need;
    if (size < MC__MIN_CHUNK)
        size = MC__MIN_CHUNK;
    size = (size + 4095) & ~(size_t)4095;
    void *p;
    int rc = mc_pool_alloc(h->pool, size, &p);
    if (rc) {
        mc__err(MC_ENOMEM, "heap: the pool cannot give a chunk of %zu "
                           "bytes (heap holds %zu bytes in %zu chunks)",
                size, h->heap_bytes, h->nchunks);
        return NULL;
    }
    mc__chunk *c = p;
    c->magic = MC__CHUNK_MAGIC;
    c->size = size;
    c->top = mc__chunk_data(c);
    c->end = (char *)c + size;
    c->next = h->chunks;
    h->chunks = c; /* publishes an empty chunk: valid as is */
    h->heap_bytes += size;
    h->nchunks++;
    h->chunk_gen++;
    if (!h->span_lo || (uintptr_t)c < h->span_lo)
        h->span_lo = (uintptr_t)c;
    if ((uintptr_t)c->end > h->span_hi)
        h->span_hi = (uintptr_t)c->end;
    return c;
}

void mc__heap_drop_chunk(mc_heap *h, mc__chunk *c)
{
    /* The caller has unlinked c: a crash from here on loses it to the
     * pool, never leaves it half in the heap. */
    if (h->cur == c)
        h->cur = NULL;
    h->heap_bytes -= c->size;
    h->nchunks--;
    h->chunk_gen++;
    c->magic = 0;
    mc_pool_free(h->pool, c, c->size);
}

static void make_free(mc_heap *h, mc__block *b, size_t bytes)
{
    mc__heap_list_free(h, b, bytes);
}

/* The bump space of the current chunk becomes a free block, so that the
 * chunk can stop being current without losing it. */
static void retire_cur(mc_heap *h)
{
    mc__chunk *c = h->cur;
    if (!c)
        return;
    size_t tail = (size_t)(c->end - c->top);
    if (tail >= MC__HDR) {
        mc__block *b = (mc__block *)c->top;
        mc__st(b, mc__bw(MC__B_FREE, 0, 0, tail));
        c->top = c->end;  /* the tail is now a tiled free block */
        make_free(h, b, tail);
    }
    h->cur = NULL;
}

static void check_poison(mc_heap *h, const mc__block *b, size_t bytes)
{
    const unsigned char *p = (const unsigned char *)(b + 1);
    for (size_t i = 0; i < bytes - MC__HDR; i++)
        if (p[i] != MC__POISON) {
            fprintf(stderr, "mcore: heap %p: free block %p (%zu bytes) was "
                            "written at offset %zu after it was freed\n",
                    (void *)h, (const void *)b, bytes, i);
            abort();
        }
}

/* Pop a block of at least `bytes` from the free lists (classes from cl up),
 * or NULL. */
static mc__block *take_fit(mc_heap *h, size_t bytes, unsigned cl)
{
    if (bytes > MC__SMALL_MAX) {
        /* the block's own class holds smaller blocks too: first fit among
         * its first few */
        uint64_t *link = (uint64_t *)&h->flist[cl];
        for (int n = 0; *link && n < 8; n++) {
            mc__block *b = (mc__block *)(uintptr_t)*link;
            if (mc__bw_bytes(mc__ld(b)) >= bytes) {
                *link = b->w1;
                return b;
            }
            link = &b->w1;
        }
    }
    /* the next non-empty larger class, by the hint bits: no scan of
     * every class when most lists are empty */
    for (unsigned w = (cl + 1) >> 6; w < 2; w++) {
        uint64_t bits = h->fmask[w];
        if (w == (cl + 1) >> 6)
            bits &= ~0ull << ((cl + 1) & 63);
        while (bits) {
            unsigned c = w * 64 + (unsigned)__builtin_ctzll(bits);
            mc__block *b = c < MC__NCLASS ? h->flist[c] : NULL;
            if (b) {
                h->flist[c] = next_free(b);
                return b;
            }
            h->fmask[w] &= ~(1ull << (c & 63)); /* stale hint */
            bits &= bits - 1;
        }
    }
    return NULL;
}

/* Allocate a block of exactly `bytes` (a granule multiple) for `count`
 * elements of type tidx; returns its zeroed payload, or NULL (detail set). */
static void *alloc_block(mc_heap *h, size_t bytes, unsigned tidx,
                         size_t count, int raw)
{
    mc__block *b;
    mc__chunk *c;
    uint64_t w = mc__bw(MC__B_ALLOC, 0, tidx, bytes);
    if (bytes > MC__LARGE_BLOCK) {
        c = new_chunk(h, bytes);
        if (!c)
            return NULL;
        b = (mc__block *)c->top;
        goto bump_in;
    }
    unsigned cl = mc__heap_class(bytes);
    if (bytes <= MC__SMALL_MAX && (b = h->flist[cl]) != NULL) {
        h->flist[cl] = next_free(b); /* exact fit */
        if (h->debug)
            check_poison(h, b, bytes);
        goto publish;
    }
    c = h->cur;
    if (c && (size_t)(c->end - c->top) >= bytes) {
        b = (mc__block *)c->top;
        goto bump_in;
    }
    b = take_fit(h, bytes, cl);
    if (b) {
        size_t have = mc__bw_bytes(mc__ld(b));
        if (h->debug) /* the part handed out; the rest is checked later */
            check_poison(h, b, bytes);
        if (have > bytes) {
            /* split: the remainder's header lies in b's free payload until
             * b's word 0 shrinks b, so the tiling is valid at each store */
            mc__block *r = (mc__block *)((char *)b + bytes);
            mc__st(r, mc__bw(MC__B_FREE, 0, 0, have - bytes));
            b->w1 = count;
            mc__st(b, w);
            make_free(h, r, have - bytes);
            goto zero;
        }
        goto publish;
    }
    retire_cur(h);
    c = new_chunk(h, bytes);
    if (!c)
        return NULL;
    h->cur = c;
    b = (mc__block *)c->top;
bump_in:
    /* bump allocation walks fresh memory: ask for the lines ahead now */
    __builtin_prefetch((char *)b + 256, 1, 3);
    __builtin_prefetch((char *)b + 512, 1, 3);
    b->w1 = count;
    mc__st(b, w);
    c->top = (char *)b + bytes; /* the block joins the tiling */
    goto zero;
publish:
    b->w1 = count;
    mc__st(b, w);
zero:
    /* zeroed after it is allocated: a crash leaves garbage in a block
     * nothing points to */
    if (!raw) /* a raw block is filled by its caller at once */
        memset(b + 1, 0, bytes - MC__HDR);
    h->alloc_since_gc += bytes;
    return b + 1;
}

/* count zeroed elements of t (sync fields not initialized). */
static int heap_alloc(mc_heap *h, const mc_type *t, size_t count,
                      void **out, int raw)
{
    if (t->align > MC__GRAN || (t->align & (t->align - 1)))
        return mc__err(MC_EINVAL, "heap: type %s: alignment %zu not "
                                  "supported (at most %u)",
                       t->name ? t->name : "?", t->align, MC__GRAN);
    size_t total; /* a multiply, not a divide: this runs per allocation */
    if (__builtin_mul_overflow(count, t->size, &total) ||
        total > ((size_t)1 << 40))
        return mc__err(MC_ENOMEM, "heap: %zu elements of %s are too many",
                       count, t->name ? t->name : "?");
    unsigned ti = 0;
    int rc = type_index(h, t, &ti);
    if (rc)
        return rc;
    void *p = alloc_block(h, mc__heap_block_bytes(t, count), ti, count,
                          raw);
    if (!p)
        return MC_ENOMEM;
    *out = p;
    return 0;
}

/* A copy into a heap carves its blocks from the current chunk's bump space
 * itself (copy.c) and moves the chunk's top over them here, in one store,
 * when it needs the allocator or ends: blocks above top are free space
 * until then, so a crash in between loses nothing (heap_internal.h).
 *
 * Regions.  After a collection the free space is mostly large free blocks
 * (runs of the dead), not bump space, and the allocator serves each small
 * block from them by a split: a call through the copier's slow path per
 * block (a third of a small mc_sref_assign).  So a copy may carve from a
 * region instead: a large free block taken off its list (h->rgn).  The
 * blocks are carved inside the region's payload, after its header, where
 * nothing sees them while the region's header says "free, this long"; the
 * commit writes the remainder's free header after them (still inside the
 * payload) and then shrinks the region's header to a 16-byte free block,
 * one store that makes the carved blocks and the remainder part of the
 * tiling.  The 16-byte blocks left behind (one per copy) are merged by
 * the next sweep.  The remainder stays the region. */
#define RGN_MIN 2048u /* a free block this large may become a region */

/* The region's payload as a bump range, if it has room for a block. */
static int rgn_range(mc_heap *h, char **lo, char **hi)
{
    mc__block *r = h->rgn;
    if (!r)
        return 0;
    size_t sz = mc__bw_bytes(mc__ld(r));
    if (sz < MC__HDR + MC__MIN_BLOCK)
        return 0;
    *lo = (char *)(r + 1);
    *hi = (char *)r + sz;
    return 1;
}

static void copy_commit(mc_copier *c, mc_heap *h)
{
    mc_mut *m = c->target;
    if (m->in_rgn) {
        if (c->bump == c->bump_start)
            return;
        mc__block *r = (mc__block *)c->bump_start - 1; /* == h->rgn */
        size_t n = (size_t)(c->bump - c->bump_start);
        size_t rest = (size_t)(c->bump_end - c->bump);
        mc__block *rb = (mc__block *)c->bump;
        if (rest) /* inside r's payload: not yet part of the tiling */
            mc__st(rb, mc__bw(MC__B_FREE, 0, 0, rest));
        mc__st(r, mc__bw(MC__B_FREE, 0, 0, MC__HDR)); /* the commit */
        h->rgn = rest >= MC__MIN_BLOCK ? rb : NULL; /* else: a 16-byte block */
        h->alloc_since_gc += n;
        c->carved += n;
        /* closed: rb is a header now, not a payload (copy_open reopens) */
        c->bump = c->bump_start = c->bump_end = NULL;
        return;
    }
    if (c->bump && h->cur && c->bump != h->cur->top) {
        size_t n = (size_t)(c->bump - c->bump_start);
        h->alloc_since_gc += n;
        c->carved += n;
        h->cur->top = c->bump;
    }
}

/* Open the copier's bump range: the current chunk's bump space, or the
 * region when the chunk has little left (the chunk's space is preferred:
 * no 16-byte block is left behind). */
static void copy_open(mc_copier *c, mc_heap *h)
{
    mc_mut *m = c->target;
    mc__chunk *cur = h->cur;
    char *lo, *hi;
    if ((!cur || (size_t)(cur->end - cur->top) < RGN_MIN) &&
        rgn_range(h, &lo, &hi)) {
        m->in_rgn = 1;
        c->bump = c->bump_start = lo;
        c->bump_end = hi;
        return;
    }
    m->in_rgn = 0;
    c->bump = c->bump_start = cur ? cur->top : NULL;
    c->bump_end = cur ? cur->end : NULL;
}

/* A new region: a free block of at least RGN_MIN bytes off the lists; the
 * old region, if any is left, goes to its list.  0, or -1 when no free
 * block is large enough. */
static int rgn_take(mc_heap *h)
{
    mc__block *b = take_fit(h, RGN_MIN, mc__heap_class(RGN_MIN));
    if (!b)
        return -1;
    size_t sz = mc__bw_bytes(mc__ld(b));
    if (h->debug) /* as an allocation from the lists checks its block */
        check_poison(h, b, sz);
    mc__block *old = h->rgn;
    h->rgn = b; /* b is on no list now: one owner */
    if (old) {
        size_t osz = mc__bw_bytes(mc__ld(old));
        if (osz >= MC__MIN_BLOCK)
            mc__heap_list_free(h, old, osz);
    }
    return 0;
}

/* Enter t's header word w (state and type, as alloc_block writes them)
 * in the copier's header cache; returns its slot. */
static unsigned hc_enter(mc_copier *c, const mc_type *t, uint64_t w)
{
    unsigned s = mc__copy_hfill(c, t);
    c->hc_t[s] = t;
    c->hc_w[s] = w;
    if (t == &mc_type_bytes)
        c->hw_bytes = w;
    return s;
}

/* The slow path: a block the region has no room for (or of a type not yet
 * in the copier's header cache) from the allocator, then a fresh region. */
/* The copier's slow path for a small block (n payload bytes): carved from
 * the region (a new one if it is spent), or NULL. */
static void *rgn_alloc(mc_copier *c, mc_heap *h, const mc_type *t,
                       size_t count, size_t n)
{
    int s = mc__copy_hfind(c, t);
    if (s < 0 && (s = mc__heap_copy_hc(c, t)) < 0)
        return NULL; /* heap_alloc, on the slow path, reports why */
    for (int k = 0;; k++) {
        copy_open(c, h); /* the region, if the chunk has no room */
        void *p =
            mc__heap_carve(&c->bump, c->bump_end, c->hc_w[s], n, count);
        if (p) {
            if (!c->raw)
                memset(p, 0, n);
            return p;
        }
        if (k || rgn_take(h)) /* (nothing was carved: no commit) */
            return NULL;
    }
}

static void *heap_copy_alloc(mc_copier *c, const mc_type *t, size_t count)
{
    mc_mut *m = c->target;
    mc_heap *h = m->h;
    copy_commit(c, h);
    size_t n;
    if (!__builtin_mul_overflow(count, t->size, &n) && n <= MC__SMALL_MAX) {
        void *p = rgn_alloc(c, h, t, count, n);
        if (p)
            return p;
    }
    if (h->cur && c->carved >= MC__MIN_CHUNK &&
        !__builtin_mul_overflow(count, t->size, &n) &&
        n <= MC__LARGE_BLOCK / 2 &&
        (size_t)(h->cur->end - h->cur->top) < mc__heap_block_bytes(t, count)) {
        /* A bulk copy whose region is spent.  The allocator would serve
         * this block from the free lists, and the next ones too, each
         * through this slow path; a fresh chunk lets the copy go on
         * carving inline.  Small copies (most: one value at a time) take
         * the free lists' blocks, so that freed memory is reused. */
        retire_cur(h);
        mc__chunk *nc = new_chunk(h, mc__heap_block_bytes(t, count));
        if (nc)
            h->cur = nc; /* else heap_alloc tries the lists, then fails */
    }
    void *p;
    int rc = heap_alloc(m->h, t, count, &p, c->raw);
    copy_open(c, m->h);
    if (rc) {
        c->err = rc;
        return NULL;
    }
    /* the block's header (state, type) is the template for the next
     * blocks of t */
    hc_enter(c, t, mc__ld(mc__hdr(p)) & 0xffffffffull);
    return p;
}

int mc__heap_copy_hc(mc_copier *c, const mc_type *t)
{
    mc_mut *m = c->target;
    unsigned ti;
    if (t->align > MC__GRAN || (t->align & (t->align - 1)) ||
        type_index(m->h, t, &ti))
        return -1; /* heap_alloc, on the slow path, reports it */
    return (int)hc_enter(c, t, mc__bw(MC__B_ALLOC, 0, ti, 0));
}

/* ---------------------------------------------------------------- links */

static int cmp_chunk(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (mc__chunk *const *)a;
    uintptr_t y = (uintptr_t) * (mc__chunk *const *)b;
    return x < y ? -1 : x > y;
}

/* m's sorted index of its heap's chunks, remade if a chunk came or went
 * since it was made, before the copy began (gen: the heap's chunk_gen
 * then).  Chunks a copy adds hold none of its source, and none goes
 * during a copy (only collections drop chunks), so an index made during
 * the copy serves to its end: a bulk copy that adds chunks does not remake
 * it per chunk.  Once per mutation in the usual case. */
static int link_index(mc_mut *m, uint64_t gen)
{
    mc_heap *h = m->h;
    if (m->lk && m->lk_gen >= gen)
        return 0;
    if (h->nchunks > m->caplk) {
        size_t cap = h->nchunks + h->nchunks / 2 + 8;
        mc__chunk **a = realloc(m->lk, cap * sizeof *a);
        if (!a)
            return mc__err(MC_ENOMEM, "mc_heap_add: no memory for the index "
                                      "of the heap's %zu chunks", h->nchunks);
        m->lk = a;
        m->caplk = cap;
    }
    size_t n = 0;
    for (mc__chunk *c = h->chunks; c && n < m->caplk; c = c->next)
        m->lk[n++] = c;
    qsort(m->lk, n, sizeof *m->lk, cmp_chunk);
    m->nlk = n;
    m->lk_gen = h->chunk_gen;
    return 0;
}

int mc__heap_link(mc_copier *c, const void *p, const mc_type *t,
                  size_t count)
{
    mc_mut *m = c->target;
    if (!m->h->nchunks)
        return 0;
    int rc = link_index(m, c->link_gen);
    if (rc)
        return rc;
    /* the last chunk that starts at or below p */
    size_t lo = 0, hi = m->nlk;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((uintptr_t)m->lk[mid] <= (uintptr_t)p)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return 0;
    mc__chunk *ch = m->lk[lo - 1];
    /* a payload: 16-aligned, its header inside the chunk's blocks.  An
     * interior pointer (type.h forbids them, but a copy used to forgive
     * them) almost never meets a header that says "live value of type t
     * with count elements" at p - 16; it is copied */
    if (((uintptr_t)p & (MC__GRAN - 1)) ||
        (const char *)p < mc__chunk_data(ch) + MC__HDR ||
        (const char *)p >= ch->top)
        return 0;
    uint64_t w = mc__ld(mc__hdr(p));
    if (mc__bw_state(w) != MC__B_ALLOC ||
        mc__heap_type(m->h, mc__bw_type(w)) != t ||
        mc__heap_count(p) < count)
        return 0;
    return 1;
}

static int heap_copy(mc_mut *m, const mc_type *t, const void *value,
                     void **out)
{
    mc_copier c;
    mc__copier_init(&c, heap_copy_alloc, NULL, m);
    c.init_sync = 1;
    c.bump_kind = MC__BUMP_HEAP;
    mc__copy_hc_clear(&c); /* the header cache starts empty */
    c.hw_bytes = 0;
    /* ...but for the root's type and strings, when the heap's hints know
     * them (a value of the same type as before: the usual assignment):
     * entering them on first use, through calls, cost more than the copy
     * of a small record */
    unsigned ti = type_hint(m->h, t);
    if (ti)
        hc_enter(&c, t, mc__bw(MC__B_ALLOC, 0, ti, 0));
    if ((ti = type_hint(m->h, &mc_type_bytes)) != 0)
        hc_enter(&c, &mc_type_bytes, mc__bw(MC__B_ALLOC, 0, ti, 0));
    c.link_lo = m->h->span_lo;
    c.link_span = m->h->span_hi - m->h->span_lo;
    c.link_gen = m->h->chunk_gen;
    copy_open(&c, m->h);
    void *p = NULL;
    int rc = mc__copy_root(&c, t, 1, value, &p);
    copy_commit(&c, m->h);
    mc__copier_fini(&c);
    /* only now: out may be a field of a heap value (the root's), and a
     * crash before the commit above must not leave it pointing into bump
     * space, above the chunk's top */
    if (!rc)
        *out = p;
    return rc;
}

/* ------------------------------------------------------------- readers */

static _Atomic unsigned fork_gen = 1;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
    /* The child's threads are new: every cached tid and slot is stale. */
    atomic_fetch_add(&fork_gen, 1);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

/* Heaps a thread reads in turn without losing its cache entries: a hash
 * table alone reads its 16 shard heaps (a miss costs a scan of the
 * heap's reader slots).  Looked up from a start hashed from the heap's
 * address (heaps are page-aligned), then in order. */
#define TL_SLOTS 32
#define TL_START(h) ((unsigned)((uintptr_t)(h) >> 12) % TL_SLOTS)

/* This thread's reader slots, per heap. */
static _Thread_local struct {
    unsigned gen;
    int32_t tid;
    int32_t pid;      /* getpid() is a system call: cached per fork */
    uint64_t lkid;    /* this thread's id in a heap's lock word (0: not
                         made yet; see the lock, below) */
    unsigned rr;
    int last;         /* the entry of the last read: tried first */
    struct {
        mc_heap *h;
        int slot;
        int depth; /* nested reads of the same heap */
    } e[TL_SLOTS];
} tl;

static int32_t my_tid(void)
{
    unsigned g = atomic_load_explicit(&fork_gen, memory_order_relaxed);
    if (tl.gen != g) {
        pthread_once(&atfork_once, register_atfork);
        memset(&tl, 0, sizeof tl);
        tl.gen = atomic_load(&fork_gen);
        tl.tid = (int32_t)syscall(SYS_gettid);
        tl.pid = (int32_t)getpid();
    }
    return tl.tid;
}

static int32_t my_pid(void)
{
    my_tid();
    return tl.pid;
}

static int tid_dead(int32_t tid)
{
    return kill((pid_t)tid, 0) == -1 && errno == ESRCH;
}

/* Claim a reader slot of h for this thread: the one it already holds (a
 * thread keeps its slot when its cache entry is evicted, and must find it
 * again, else every eviction would leak one slot of the heap), else a free
 * one, else one whose thread is dead.  -1 if all are in use. */
static int claim_slot(mc_heap *h, int32_t tid)
{
    int free_s = -1;
    for (int s = 0; s < MC__NREADERS; s++) {
        int32_t t = atomic_load_explicit(&h->readers[s].tid,
                                         memory_order_relaxed);
        if (t == tid)
            return s;
        if (t == 0 && free_s < 0)
            free_s = s;
    }
    for (int s = free_s; s >= 0 && s < MC__NREADERS; s++) {
        int32_t z = 0;
        if (atomic_load_explicit(&h->readers[s].tid, memory_order_relaxed) ==
                0 &&
            atomic_compare_exchange_strong(&h->readers[s].tid, &z, tid))
            return s;
    }
    for (int s = 0; s < MC__NREADERS; s++) {
        int32_t old = atomic_load(&h->readers[s].tid);
        if (old && tid_dead(old) &&
            atomic_compare_exchange_strong(&h->readers[s].tid, &old, tid)) {
            atomic_store(&h->readers[s].epoch, 0);
            return s;
        }
    }
    return -1;
}

/* Enter a read of h: returns the cache entry index (>= 0), or -1 when no
 * slot could be had (the caller then takes the lock).  Inlined in both of
 * its callers: as a call it cost every read 14 more instructions. */
static inline __attribute__((always_inline)) int reader_enter(mc_heap *h)
{
    int32_t tid = my_tid();
    int i = tl.last, k;
    if (tl.e[i].h == h && atomic_load_explicit(&h->readers[tl.e[i].slot].tid,
                                               memory_order_relaxed) == tid)
        goto found;
    unsigned i0 = TL_START(h);
    for (k = 0, i = (int)i0; k < TL_SLOTS; k++, i = (i + 1) % TL_SLOTS)
        if (tl.e[i].h == h &&
            atomic_load_explicit(&h->readers[tl.e[i].slot].tid,
                                 memory_order_relaxed) == tid)
            break;
    if (k == TL_SLOTS) {
        int s = claim_slot(h, tid);
        if (s < 0)
            return -1;
        /* prefer an idle cache entry; the slot of an evicted heap stays
         * claimed (that heap may be gone: it is never written again) */
        for (k = 0, i = (int)i0; k < TL_SLOTS && tl.e[i].h;
             k++, i = (i + 1) % TL_SLOTS)
            ;
        if (k == TL_SLOTS) {
            for (i = 0; i < TL_SLOTS && tl.e[tl.rr % TL_SLOTS].depth; i++)
                tl.rr++;
            if (i == TL_SLOTS)
                return -1; /* s stays ours: the next claim finds it */
            i = (int)(tl.rr++ % TL_SLOTS);
        }
        tl.e[i].h = h;
        tl.e[i].slot = s;
        tl.e[i].depth = 0;
    }
    tl.last = i;
found:
    if (tl.e[i].depth++ == 0) {
        mc__reader *r = &h->readers[tl.e[i].slot];
        /* The slot must be visible before we read the root: the fence
         * below pairs with the collector's fence between its epoch bump
         * and its slot scan (if the collector misses this store, our reads
         * after the fence see its bump and the graph it marks).  So the
         * store itself can be relaxed: a seq_cst store is a second full
         * barrier (xchg), which cost as much as the rest of a read. */
        atomic_store_explicit(&r->epoch, atomic_load(&h->epoch),
                              memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
    }
    return i;
}

static void reader_exit(mc_heap *h, int i)
{
    if (--tl.e[i].depth == 0)
        atomic_store_explicit(&h->readers[tl.e[i].slot].epoch, 0,
                              memory_order_release);
}

int mc__heap_lock_wait(mc_heap *h)
{
    /* (a forked child's cache is its parent's until my_tid resets it; the
     * child reads nothing yet) */
    if (tl.gen != atomic_load_explicit(&fork_gen, memory_order_relaxed))
        return -1;
    /* entries fill from a start hashed from their heap: look at all */
    for (int i = 0; i < TL_SLOTS; i++)
        if (tl.e[i].h == h && tl.e[i].depth) {
            /* seq_cst: seen by a collector's next look at the slot */
            atomic_store(&h->readers[tl.e[i].slot].waiting, 1);
            return tl.e[i].slot;
        }
    return -1;
}

void mc__heap_lock_waited(mc_heap *h, int s)
{
    if (s >= 0)
        atomic_store(&h->readers[s].waiting, 0);
}

int mc__heap_wait_readers(mc_heap *h, uint64_t epoch)
{
    atomic_thread_fence(memory_order_seq_cst);
    int32_t self = my_tid();
    for (int s = 0; s < MC__NREADERS; s++) {
        mc__reader *r = &h->readers[s];
        for (unsigned spins = 0;; spins++) {
            uint64_t e = atomic_load(&r->epoch);
            if (e == 0 || e >= epoch)
                break;
            int32_t tid = atomic_load(&r->tid);
            /* our own read (a modify inside mc_heap_root_p) cannot wait
             * for itself */
            if (tid == self)
                break;
            /* a reader blocked on a lock that our caller holds (or whose
             * holder waits for ours): waiting would deadlock */
            if (atomic_load(&r->waiting))
                return -1;
            if (tid == 0 || tid_dead(tid)) {
                atomic_compare_exchange_strong(&r->epoch, &e, 0);
                if (tid)
                    atomic_compare_exchange_strong(&r->tid, &tid, 0);
                break;
            }
            if (spins < 100) {
                mc__spin_pause();
            } else {
                struct timespec ts = {0, 100000};
                nanosleep(&ts, NULL);
            }
        }
    }
    return 0;
}

/* ---------------------------------------------------------- mutations */

/* This thread's open mutations (to find the pins when mc_heap_gc is
 * called inside one). */
static _Thread_local mc_mut *open_muts;

/* After a holder died: the counters of chunks follow the chunk list by a
 * store or two (new_chunk, mc__heap_drop_chunk), so a death between them
 * leaves them off by one chunk; and a chunk unlinked for dropping may
 * still be the current one.  Both are set right from the list. */
static void repair_chunks(mc_heap *h)
{
    size_t n = 0, bytes = 0;
    int cur_linked = 0;
    for (mc__chunk *c = h->chunks; c; c = c->next) {
        n++;
        bytes += c->size;
        cur_linked |= c == h->cur;
    }
    h->nchunks = n;
    h->heap_bytes = bytes;
    if (!cur_linked)
        h->cur = NULL;
}

/* ------------------------------------------------------------- the lock
 *
 * One word, taken by one CAS (mem/heap_lock.h says how, and how a dead
 * holder's lock is taken over). */

/* This thread's lock id (mc__lk_id), made once. */
static uint64_t my_lkid(void)
{
    int32_t tid = my_tid();
    if (MC_UNLIKELY(!tl.lkid))
        tl.lkid = mc__lk_id(tid);
    return tl.lkid;
}

static int heap_lock(mc_heap *h)
{
    /* A thread that locks twice would deadlock: refuse instead (its open
     * mutations are at hand). */
    for (mc_mut *o = open_muts; o; o = o->next_open)
        if (o->h == h)
            return mc__err(MC_ESTATE, "heap %p: this thread is already "
                                      "mutating it", (void *)h);
    uint64_t me = my_lkid(), z = 0;
    if (MC_UNLIKELY(!atomic_compare_exchange_strong_explicit(
            &h->lk, &z, me, memory_order_acquire, memory_order_relaxed))) {
        int32_t dead = 0;
        int r = mc__lk_take_slow(h, me, &dead);
        if (r < 0)
            return mc__err(MC_ESTATE, "heap %p: this thread holds its lock "
                                      "already", (void *)h);
        if (r > 0) {
            /* The metadata is valid at every instruction
             * (heap_internal.h); what the dead holder half-built is
             * garbage for the collector. */
            repair_chunks(h);
            h->gc_requested = 1;
            atomic_store_explicit(&h->holder, my_pid(),
                                  memory_order_relaxed);
            return mc__err(MC_EOWNERDEAD, "heap %p: the previous holder "
                                          "(thread %d) died inside a "
                                          "mutation", (void *)h, (int)dead);
        }
    }
    /* diagnostics only: the lock orders it */
    atomic_store_explicit(&h->holder, tl.pid, memory_order_relaxed);
    return 0;
}

static void heap_unlock(mc_heap *h)
{
    atomic_store_explicit(&h->holder, 0, memory_order_relaxed);
    mc__lk_release(h);
}

/* Collect if the allocation since the last collection passed the trigger
 * (or a crash asked for one).  Returns 1 if it collected. */
static int maybe_collect(mc_mut *m)
{
    mc_heap *h = m->h;
    size_t base = h->live_after_gc > MC__GC_MIN_TRIGGER ? h->live_after_gc
                                                        : MC__GC_MIN_TRIGGER;
    if (h->gc_adapt) {
        /* on the garbage told (data/arr.h: mc__heap_garbage), and after
         * 32 times the last live bytes (at least MC__GC_ADAPT_MIN) for
         * garbage that was not told */
        size_t all = h->live_after_gc + h->alloc_since_gc;
        size_t g = h->gc_garbage;
        size_t live = all > g ? all - g : 0;
        int worth = g >= MC__GC_MIN_TRIGGER && g > live / 2;
        size_t cap = h->live_after_gc > MC__GC_ADAPT_MIN ? h->live_after_gc
                                                         : MC__GC_ADAPT_MIN;
        if (!h->gc_requested && !worth && h->alloc_since_gc <= cap << 5)
            return 0;
    } else if (!h->gc_requested && h->alloc_since_gc <= base) {
        return 0;
    }
    return mc__heap_collect(h, m->pins, m->npins) == 0;
}

/* Lock heap and open the mutation m (zeroed by the caller). */
static int open_mut(mc_heap *heap, mc_mut *m)
{
    int rc = heap_lock(heap);
    if (rc && rc != MC_EOWNERDEAD)
        return rc;
    m->h = heap;
    m->next_open = open_muts;
    open_muts = m;
    return rc;
}

static void close_mut(mc_mut *mut)
{
    for (mc_mut **p = &open_muts; *p; p = &(*p)->next_open)
        if (*p == mut) {
            *p = mut->next_open;
            break;
        }
    heap_unlock(mut->h);
    if (mut->pins) /* (most mutations have neither: no calls) */
        free(mut->pins);
    if (mut->lk)
        free(mut->lk);
}

int mc__heap_mutating(const mc_heap *h)
{
    for (const mc_mut *o = open_muts; o; o = o->next_open)
        if (o->h == h)
            return 1;
    return 0;
}

int mc_heap_begin(mc_heap *heap, mc_mut **mut)
{
    int rc = check_heap(heap, "mc_heap_begin");
    if (rc)
        return rc;
    if (!mut)
        return mc__err(MC_EINVAL, "mc_heap_begin: NULL mut");
    mc_mut *m = calloc(1, sizeof *m);
    if (!m)
        return mc__err(MC_ENOMEM, "mc_heap_begin: no memory");
    rc = open_mut(heap, m);
    if (rc && rc != MC_EOWNERDEAD) {
        free(m);
        return rc;
    }
    *mut = m;
    return rc;
}

/* mut is an open mutation of this thread.  Only the pointer is compared,
 * never followed: a committed mutation is freed memory. */
static int check_mut(const mc_mut *mut, const char *what)
{
    if (!mut)
        return mc__err(MC_EINVAL, "%s: NULL mut", what);
    for (const mc_mut *o = open_muts; o; o = o->next_open)
        if (o == mut)
            return 0;
    return mc__err(MC_ESTATE, "%s: %p is not an open mutation of this "
                              "thread (committed already?)", what,
                   (const void *)mut);
}

int mc_heap_commit(mc_mut *mut)
{
    int rc = check_mut(mut, "mc_heap_commit");
    if (rc)
        return rc;
    close_mut(mut);
    free(mut);
    return 0;
}

int mc_heap_modify(mc_heap *heap,
                   int (*fn)(mc_mut *mut, void *root, void *ctx), void *ctx)
{
    if (!fn)
        return mc__err(MC_EINVAL, "mc_heap_modify: NULL fn");
    int rc = check_heap(heap, "mc_heap_modify");
    if (rc)
        return rc;
    mc_mut m = {0}; /* a callback's mutation needs no heap allocation */
    rc = open_mut(heap, &m);
    if (rc && rc != MC_EOWNERDEAD)
        return rc;
    rc = fn(&m, atomic_load(&heap->root), ctx); /* m is open: no check */
    close_mut(&m);
    return rc;
}

void *mc_heap_mut_root(mc_mut *mut)
{
    return check_mut(mut, "mc_heap_mut_root") ? NULL
                                              : atomic_load(&mut->h->root);
}

int mc_heap_add(mc_mut *mut, const mc_type *t, const void *value,
                void **shared)
{
    if (!t || !value || !shared)
        return mc__err(MC_EINVAL, "mc_heap_add: NULL argument");
    int rc0 = check_mut(mut, "mc_heap_add");
    if (rc0)
        return rc0;
    return mc__heap_add_in(mut, t, value, shared);
}

int mc__heap_add_in(mc_mut *mut, const mc_type *t, const void *value,
                    void **shared)
{
    int collected = maybe_collect(mut);
    int rc = heap_copy(mut, t, value, shared);
    if (rc == MC_ENOMEM && !collected &&
        mc__heap_collect(mut->h, mut->pins, mut->npins) == 0)
        rc = heap_copy(mut, t, value, shared); /* the pool may have room now */
    return rc;
}

int mc_heap_alloc(mc_mut *mut, const mc_type *t, size_t count, void **shared)
{
    if (!t || !shared)
        return mc__err(MC_EINVAL, "mc_heap_alloc: NULL argument");
    int rc0 = check_mut(mut, "mc_heap_alloc");
    if (rc0)
        return rc0;
    int collected = maybe_collect(mut);
    void *p;
    int rc = heap_alloc(mut->h, t, count, &p, 0);
    if (rc == MC_ENOMEM && !collected &&
        mc__heap_collect(mut->h, mut->pins, mut->npins) == 0)
        rc = heap_alloc(mut->h, t, count, &p, 0);
    if (rc)
        return rc;
    if (t->init_sync)
        for (size_t i = 0; i < count; i++) {
            rc = t->init_sync((char *)p + i * t->size);
            if (rc)
                return rc; /* p is garbage: nothing points to it */
        }
    *shared = p;
    return 0;
}

int mc_heap_pin(mc_mut *mut, const void *shared)
{
    if (!shared)
        return mc__err(MC_EINVAL, "mc_heap_pin: NULL argument");
    int rc = check_mut(mut, "mc_heap_pin");
    if (rc)
        return rc;
    if (mc__bw_state(mc__ld(mc__hdr(shared))) != MC__B_ALLOC)
        return mc__err(MC_EINVAL, "mc_heap_pin: %p is not a value of heap "
                                  "%p", shared, (void *)mut->h);
    if (mut->npins == mut->cappins) {
        size_t cap = mut->cappins ? 2 * mut->cappins : 16;
        void **p = realloc(mut->pins, cap * sizeof *p);
        if (!p)
            return mc__err(MC_ENOMEM, "mc_heap_pin: no memory");
        mut->pins = p;
        mut->cappins = cap;
    }
    mut->pins[mut->npins++] = (void *)shared;
    return 0;
}

/* ----------------------------------------------------- create, destroy */

int mc_heap_create(mc_pool *pool, const mc_type *root_type,
                   const void *root_init, mc_heap **heap)
{
    if (!pool || !root_type || !root_init || !heap)
        return mc__err(MC_EINVAL, "mc_heap_create: NULL argument");
    size_t self = (sizeof(mc_heap) + 4095) & ~(size_t)4095;
    void *p;
    int rc = mc_pool_alloc(pool, self, &p);
    if (rc)
        return rc == MC_ENOMEM ? mc__err(MC_ENOMEM, "mc_heap_create: pool "
                                                    "full")
                               : rc;
    mc_heap *h = p;
    memset(h, 0, sizeof *h);
    h->pool = pool;
    h->self_size = self;
    h->debug = debug_env();
    /* a stale descriptor must not name a new heap at the same address */
    static _Atomic uint64_t made;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    h->gen = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
             ((uint64_t)getpid() << 40) ^ atomic_fetch_add(&made, 1);
    atomic_init(&h->epoch, 1);
    atomic_init(&h->ntypes, 1);

    atomic_init(&h->lk, 0); /* free (heap.c: the lock) */
    atomic_init(&h->lk_seq, 0);
    atomic_init(&h->lk_waiters, 0);
    h->magic = MC__HEAP_MAGIC;

    /* nobody else knows the heap yet: copy the root without the lock */
    mc_mut m = {.h = h};
    void *root;
    rc = heap_copy(&m, root_type, root_init, &root);
    free(m.lk); /* (never made: the new heap's span was empty) */
    if (rc) {
        mc_heap_destroy(h);
        return rc;
    }
    atomic_store(&h->root, root);
    mc__pool_heap_note(pool, h, 1); /* for mcadmin stat (proc/stat.h) */
    *heap = h;
    return 0;
}

int mc_heap_destroy(mc_heap *heap)
{
    int rc = check_heap(heap, "mc_heap_destroy");
    if (rc)
        return rc;
    for (mc_mut *o = open_muts; o; o = o->next_open)
        if (o->h == heap)
            return mc__err(MC_ESTATE, "mc_heap_destroy: this thread is "
                                      "mutating heap %p", (void *)heap);
    mc__pool_heap_note(heap->pool, heap, 0);
    mc__chunk *c = heap->chunks;
    heap->chunks = NULL;
    while (c) {
        mc__chunk *next = c->next;
        c->magic = 0;
        mc_pool_free(heap->pool, c, c->size);
        c = next;
    }
    heap->magic = 0;
    mc_pool_free(heap->pool, heap, heap->self_size);
    return 0;
}

/* ---------------------------------------------------------------- reads */

void *mc_heap_root_ro(mc_heap *heap)
{
    /* NULL for a destroyed heap, not its stale root */
    return heap && heap->magic == MC__HEAP_MAGIC ? atomic_load(&heap->root)
                                                 : NULL;
}

const mc_type *mc_heap_root_type(const mc_heap *heap)
{
    if (!heap)
        return NULL;
    void *root = atomic_load(&((mc_heap *)heap)->root);
    return root ? mc__heap_type(heap, mc__bw_type(mc__ld(mc__hdr(root))))
                : NULL;
}

mc_pool *mc_heap_pool(const mc_heap *heap)
{
    return heap ? heap->pool : NULL;
}

/* Run fn(root, ctx) with the root's graph protected from the collector:
 * in a reader slot, or (no slot free) under the lock, or, inside a
 * mutation of h by this thread, as it is: this thread is then the only
 * collector, so nothing is freed while fn runs. */
static int with_root(mc_heap *h, int (*fn)(const void *, void *), void *ctx)
{
    int i = reader_enter(h);
    if (i >= 0) {
        int rc = fn(atomic_load_explicit(&h->root, memory_order_acquire),
                    ctx);
        reader_exit(h, i);
        return rc;
    }
    for (mc_mut *o = open_muts; o; o = o->next_open)
        if (o->h == h)
            return fn(atomic_load(&h->root), ctx);
    int rc = heap_lock(h);
    if (rc && rc != MC_EOWNERDEAD)
        return rc;
    rc = fn(atomic_load(&h->root), ctx);
    heap_unlock(h);
    return rc;
}

struct copy_ctx {
    const mc_type *t;
    void **copy;
};

static int copy_root_fn(const void *root, void *ctx)
{
    struct copy_ctx *c = ctx;
    return mc__local_copy_heap(c->t, root, c->copy);
}

int mc_heap_root_c(mc_heap *heap, void **copy)
{
    int rc = check_heap(heap, "mc_heap_root_c");
    if (rc)
        return rc;
    if (!copy)
        return mc__err(MC_EINVAL, "mc_heap_root_c: NULL copy");
    struct copy_ctx c = {mc_heap_root_type(heap), copy};
    return with_root(heap, copy_root_fn, &c);
}

int mc_heap_root_p(mc_heap *heap, int (*fn)(const void *root, void *ctx),
                   void *ctx)
{
    int rc = check_heap(heap, "mc_heap_root_p");
    if (rc)
        return rc;
    if (!fn)
        return mc__err(MC_EINVAL, "mc_heap_root_p: NULL fn");
    return with_root(heap, fn, ctx);
}

/* -------------------------------------------------------- collect, stats */

int mc_heap_gc(mc_heap *heap)
{
    int rc = check_heap(heap, "mc_heap_gc");
    if (rc)
        return rc;
    rc = heap_lock(heap);
    if (rc == MC_ESTATE) {
        /* inside a mutation of this thread: collect with its pins */
        for (mc_mut *m = open_muts; m; m = m->next_open)
            if (m->h == heap)
                return mc__heap_collect(heap, m->pins, m->npins);
        return rc;
    }
    if (rc && rc != MC_EOWNERDEAD)
        return rc;
    rc = mc__heap_collect(heap, NULL, 0);
    heap_unlock(heap);
    return rc;
}

int mc_heap_stats_get(mc_heap *heap, mc_heap_stats *st)
{
    int rc = check_heap(heap, "mc_heap_stats_get");
    if (rc)
        return rc;
    if (!st)
        return mc__err(MC_EINVAL, "mc_heap_stats_get: NULL stats");
    /* word-sized fields read without the lock: each is consistent, the set
     * may straddle a mutation */
    st->live_bytes = heap->live_after_gc + heap->alloc_since_gc;
    st->heap_bytes = heap->heap_bytes;
    st->chunks = heap->nchunks;
    st->collections = heap->collections;
    st->last_pause_ms = heap->last_pause_ms;
    st->skipped = heap->skipped;
    return 0;
}

/* ------------------------------------- for containers (data/arr.h) */

/* mc_heap_modify that says whether the previous holder died (begin's
 * MC_EOWNERDEAD), so that a container can report it after its operation. */
int mc__heap_modify_dead(mc_heap *heap,
                         int (*fn)(mc_mut *mut, void *root, void *ctx),
                         void *ctx, int *dead);
int mc__heap_modify_dead(mc_heap *heap,
                         int (*fn)(mc_mut *mut, void *root, void *ctx),
                         void *ctx, int *dead)
{
    *dead = 0;
    int rc = check_heap(heap, "mc_heap_modify");
    if (rc)
        return rc;
    mc_mut m = {0};
    rc = open_mut(heap, &m);
    if (rc && rc != MC_EOWNERDEAD)
        return rc;
    *dead = rc == MC_EOWNERDEAD;
    rc = fn(&m, atomic_load(&heap->root), ctx); /* m is open: no check */
    close_mut(&m);
    return rc;
}

/* fn(*slot, ctx) with what the slot points to protected as mc_heap_root_p
 * protects the root's graph; for containers (sarray's elements), whose
 * slots never move: one reader entry and no callback in between. */
struct slot_read {
    void *const *slot;
    int (*fn)(const void *, void *);
    void *ctx;
};

static int slot_read_fn(const void *root, void *ctx)
{
    (void)root;
    const struct slot_read *s = ctx;
    return s->fn(__atomic_load_n(s->slot, __ATOMIC_ACQUIRE), s->ctx);
}

int mc__heap_read_slot(mc_heap *h, void *const *slot,
                       int (*fn)(const void *, void *), void *ctx);
int mc__heap_read_slot(mc_heap *h, void *const *slot,
                       int (*fn)(const void *, void *), void *ctx)
{
    int i = reader_enter(h);
    if (MC_LIKELY(i >= 0)) {
        int rc = fn(__atomic_load_n(slot, __ATOMIC_ACQUIRE), ctx);
        reader_exit(h, i);
        return rc;
    }
    /* no reader slot: with_root's other ways (it tries one again) */
    struct slot_read s = {slot, fn, ctx};
    return with_root(h, slot_read_fn, &s);
}

/* *slot = a heap copy of value (of t), under the lock: mc_heap_modify of
 * an add and one release store, without a callback (sarray's set of an
 * element that is a heap value; the slot lies in h and never moves, h is
 * live).  MC_EOWNERDEAD (said as what's) when done after a holder died. */
int mc__heap_set_slot(mc_heap *h, void **slot, const mc_type *t,
                      const void *value, const char *what);
int mc__heap_set_slot(mc_heap *h, void **slot, const mc_type *t,
                      const void *value, const char *what)
{
    mc_mut m = {0};
    int rc0 = open_mut(h, &m);
    if (rc0 && rc0 != MC_EOWNERDEAD)
        return rc0;
    void *v;
    int rc = mc__heap_add_in(&m, t, value, &v); /* m is open: no check */
    if (!rc)
        __atomic_store_n(slot, v, __ATOMIC_RELEASE);
    close_mut(&m);
    if (rc || !rc0)
        return rc;
    return mc__err(MC_EOWNERDEAD, "%s: done; the previous holder of the "
                                  "heap's lock died inside a mutation (the "
                                  "container is valid)", what);
}

/* For a container inside its mutation (mc_heap_modify's callback): one
 * collection check for a whole operation, then allocations that skip what
 * mc_heap_alloc checks per call (arguments, the mutation, the trigger) and
 * the zeroing.  An add of a hash table is one allocation: these checks were
 * a third of it. */
int mc__heap_maybe_collect(mc_mut *mut)
{
    return maybe_collect(mut);
}

void *mc__heap_alloc_raw(mc_mut *mut, const mc_type *t, size_t count)
{
    unsigned ti = type_hint(mut->h, t);
    if (MC_UNLIKELY(!ti) && type_index(mut->h, t, &ti))
        return NULL;
    return alloc_block(mut->h, mc__heap_block_bytes(t, count), ti, count, 1);
}

/* Containers that say what garbage they make (shashtbl's shards): the
 * heap collects on that (mc__heap_garbage; data/arr.h says when), not on
 * what it allocates.  A full pool collects anyway (mc_heap_add, _alloc). */
void mc__heap_gc_adaptive(mc_heap *heap);
void mc__heap_gc_adaptive(mc_heap *heap)
{
    heap->gc_adapt = 1;
}

void mc__heap_garbage(mc_mut *mut, size_t bytes)
{
    mc_heap *h = mut->h;
    size_t g = h->gc_garbage + bytes;
    h->gc_garbage = g < bytes ? SIZE_MAX : g; /* (saturates) */
}

/* ------------------------------------------------- for mcadmin stat */

int mc__heap_peek(const char *lo, const char *hi, const void *hp,
                  mc__heap_view *v)
{
    /* addresses compared as integers: a stale or garbled one may point
     * anywhere */
    uintptr_t l = (uintptr_t)lo, e = (uintptr_t)hi, c = (uintptr_t)hp;
    memset(v, 0, sizeof *v);
    if (c < l || c > e || e - c < sizeof(mc_heap))
        return -1;
    mc_heap *h = (mc_heap *)hp;
    if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != MC__HEAP_MAGIC)
        return -1;
    /* as mc_heap_stats_get, with relaxed loads: another process may be
     * mutating the heap */
    size_t live = __atomic_load_n(&h->live_after_gc, __ATOMIC_RELAXED) +
                  __atomic_load_n(&h->alloc_since_gc, __ATOMIC_RELAXED);
    v->st.live_bytes = live;
    v->st.heap_bytes = __atomic_load_n(&h->heap_bytes, __ATOMIC_RELAXED);
    v->st.chunks = __atomic_load_n(&h->nchunks, __ATOMIC_RELAXED);
    v->st.collections = __atomic_load_n(&h->collections, __ATOMIC_RELAXED);
    v->st.skipped = __atomic_load_n(&h->skipped, __ATOMIC_RELAXED);
    __atomic_load(&h->last_pause_ms, &v->st.last_pause_ms,
                  __ATOMIC_RELAXED);
    /* the root's type: its block header is checked to lie in the range,
     * and the type index against the table, before either is read */
    const char *root = atomic_load_explicit(&h->root, memory_order_acquire);
    uintptr_t r = (uintptr_t)root;
    if (r >= l + MC__HDR && r < e && e - r >= MC__GRAN) {
        unsigned t = mc__bw_type(mc__ld(mc__hdr(root)));
        uint32_t nt = atomic_load_explicit(&h->ntypes, memory_order_acquire);
        if (t < nt && t < MC__NTYPES) {
            v->root = root;
            v->root_type = h->types[t].t;
        }
    }
    return 0;
}
