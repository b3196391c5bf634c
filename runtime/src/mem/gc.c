/* gc.c: the heap's collector: non-moving mark-sweep with an explicit mark
 * stack (never recursion: a 10^6-deep list is one loop), and the MC_DEBUG
 * verifier.
 *
 * One collection, with the heap lock held:
 *   1. bump the reader epoch and the collection number (the mark value);
 *   2. mark from the root and the pins: an object is marked by one store of
 *      its header word and pushed if its type traces pointers, a few
 *      pointers after it was found and its header prefetched;
 *   3. wait for the readers that started before step 1;
 *   4. sweep every chunk: free lists are emptied first, then every run of
 *      dead or free blocks becomes one free block (one header store) and is
 *      listed; a chunk that is a single run goes back to the pool; the
 *      current chunk's dead tail becomes bump space again; counters are
 *      recomputed.
 * If the mark stack cannot grow, the collection stops before the sweep and
 * frees nothing (stale marks are harmless: see heap_internal.h).  So does
 * one whose step 3 meets a reader that waits for a lock (heap.c:
 * mc__heap_lock_wait): that reader may wait for us, and what it read must
 * stay; the heap grows until a later collection sweeps.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "mem/heap_internal.h"
#include "mem/ptr_table.h"

struct mc_tracer {
    mc_heap *h;
    unsigned mark;
    void **stack;
    size_t n, cap;
    int err;
    int verify_only;      /* verifier: check pointers, mark nothing */
    /* MC_DEBUG: sorted payloads of allocated blocks */
    void **live;
    size_t nlive;
    const void *from;     /* object being traced (for messages) */
    const mc_type *from_t;
    /* pointers found, their headers prefetched, examined MARK_RING
     * pointers later (mark_found) */
#define MARK_RING 16
    const void *ring[MARK_RING];
    unsigned rhead, rn;
    uintptr_t last;       /* the pointer found before */
};

static inline __attribute__((always_inline)) void
mark_found(struct mc_tracer *tr, const void *p);

static void corrupt(const mc_heap *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn, cold));

static void corrupt(const mc_heap *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mcore: heap %p is corrupt: ", (const void *)h);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a;
    uintptr_t y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

static int is_live(const struct mc_tracer *tr, const void *p)
{
    size_t lo = 0, hi = tr->nlive;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((uintptr_t)tr->live[mid] < (uintptr_t)p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < tr->nlive && tr->live[lo] == p;
}

static const char *tname(const mc_type *t)
{
    return t && t->name ? t->name : "?";
}

void mc_trace_ptr(mc_tracer *tr, const void *p)
{
    if (!p)
        return;
    if (tr->live && !is_live(tr, p))
        corrupt(tr->h, "a value of type %s at %p points to %p, which is not "
                       "the start of a value of this heap",
                tname(tr->from_t), tr->from, p);
    if (tr->verify_only)
        return;
    /* Values may lie scattered over the heap (a hash table's chains), so
     * that each header read would be a cache miss, one after the other:
     * the header is prefetched now and read MARK_RING pointers later,
     * with the misses of the ring in flight together.  A pointer near the
     * one before (values copied in order: the hardware's prefetcher
     * follows them) is examined at once. */
    uintptr_t d = (uintptr_t)p - tr->last + 4096;
    tr->last = (uintptr_t)p;
    if (d < 8192) {
        mark_found(tr, p);
        return;
    }
    __builtin_prefetch(mc__hdr(p), 1, 3);
    if (tr->rn == MARK_RING) {
        const void *q = tr->ring[tr->rhead];
        tr->rhead = (tr->rhead + 1) % MARK_RING;
        tr->rn--;
        mark_found(tr, q);
    }
    tr->ring[(tr->rhead + tr->rn++) % MARK_RING] = p;
}

/* Mark p, a pointer the collector found, unless it is marked already,
 * and push it if its type traces pointers. */
static inline __attribute__((always_inline)) void
mark_found(struct mc_tracer *tr, const void *p)
{
    mc__block *b = mc__hdr(p);
    uint64_t w = mc__ld(b);
    if (mc__bw_mark(w) == tr->mark)
        return;
    if (mc__bw_state(w) != MC__B_ALLOC)
        corrupt(tr->h, "a value points to %p, whose header %#llx is not "
                       "that of a live value", p, (unsigned long long)w);
    mc__st(b, (w & ~(uint64_t)0xff00) | (uint64_t)tr->mark << 8);
    const mc_type *t = mc__heap_type(tr->h, mc__bw_type(w));
    if (!t)
        corrupt(tr->h, "value %p has type index %u, not in the type table", p,
                mc__bw_type(w));
    if (!mc__type_traced(t))
        return;
    if (tr->n == tr->cap) {
        size_t cap = tr->cap ? 2 * tr->cap : 4096;
        void **s = realloc(tr->stack, cap * sizeof *s);
        if (!s) {
            tr->err = 1;
            return;
        }
        tr->stack = s;
        tr->cap = cap;
    }
    tr->stack[tr->n++] = (void *)p;
}

/* Report the pointers of one element of t at v by t's pointer table. */
static void trace_fields(struct mc_tracer *tr, const mc_type *t,
                         const char *v)
{
    const mc_ptr_field *f = t->ptrs, *end = f + t->nptrs;
    for (; f < end; f++) {
        if (!mc__pf_live(f, v))
            continue;
        if (f->kind != MC_PF_ELEM) { /* a string, array or reference */
            mc_trace_ptr(tr, mc__pf_ptr(v, f->off));
            continue;
        }
        const mc_type *e = f->t;
        for (size_t i = 0; i < f->n; i++) {
            const char *x = v + f->off + i * e->size;
            if (e->ptrs)
                trace_fields(tr, e, x);
            else if (e->trace)
                e->trace(tr, x);
        }
    }
}

/* Report every pointer of the object at p (all its elements). */
static void trace_object(struct mc_tracer *tr, const void *p)
{
    mc__block *b = mc__hdr(p);
    uint64_t w = mc__ld(b);
    const mc_type *t = mc__heap_type(tr->h, mc__bw_type(w));
    size_t count = (size_t)b->w1;
    if (!t)
        corrupt(tr->h, "value %p has type index %u, not in the type table", p,
                mc__bw_type(w));
    if (count * t->size > mc__bw_bytes(w) - MC__HDR)
        corrupt(tr->h, "value %p (%s): %zu elements do not fit its %zu "
                       "bytes", p, tname(t), count, mc__bw_bytes(w) - MC__HDR);
    if (!mc__type_traced(t))
        return;
    tr->from = p;
    tr->from_t = t;
    for (size_t i = 0; i < count; i++) {
        const char *x = (const char *)p + i * t->size;
        if (t->ptrs)
            trace_fields(tr, t, x);
        else
            t->trace(tr, x);
    }
}

/* Trace what the stack holds (marked values) and examine what the ring
 * holds, until both are empty. */
static void mark_loop(struct mc_tracer *tr)
{
    while (!tr->err) {
        if (tr->n) {
            trace_object(tr, tr->stack[--tr->n]);
        } else if (tr->rn) {
            const void *q = tr->ring[tr->rhead];
            tr->rhead = (tr->rhead + 1) % MARK_RING;
            tr->rn--;
            mark_found(tr, q);
        } else {
            break;
        }
    }
}

/* MC_DEBUG: the sorted payloads of every allocated block. */
static void collect_live(mc_heap *h, struct mc_tracer *tr)
{
    size_t n = 0, cap = 1024;
    void **v = malloc(cap * sizeof *v);
    for (mc__chunk *c = h->chunks; c && v; c = c->next)
        for (char *p = mc__chunk_data(c); p < c->top;) {
            uint64_t w = mc__ld((mc__block *)p);
            size_t bytes = mc__bw_bytes(w);
            if (bytes < MC__HDR || p + bytes > c->top)
                corrupt(h, "block %p in chunk %p has size %zu (header "
                           "%#llx)", (void *)p, (void *)c, bytes,
                        (unsigned long long)w);
            if (mc__bw_state(w) == MC__B_ALLOC) {
                if (n == cap) {
                    void **nv = realloc(v, 2 * cap * sizeof *v);
                    if (!nv) {
                        free(v);
                        v = NULL;
                        break;
                    }
                    v = nv;
                    cap *= 2;
                }
                v[n++] = p + MC__HDR;
            }
            p += bytes;
        }
    if (!v) {
        /* no memory for the check: run without it */
        tr->live = NULL;
        tr->nlive = 0;
        return;
    }
    qsort(v, n, sizeof *v, cmp_ptr);
    tr->live = v;
    tr->nlive = n;
}

/* Turn [start, end) (dead and free blocks) into one free block. */
static void free_run(mc_heap *h, char *start, char *end)
{
    size_t bytes = (size_t)(end - start);
    mc__block *b = (mc__block *)start;
    /* one store makes the run one block; only then are the headers inside
     * it overwritten */
    mc__heap_list_free(h, b, bytes);
}

static size_t sweep(mc_heap *h, unsigned mark)
{
    size_t live = 0;
    h->rgn = NULL; /* first: the runs below may swallow it */
    for (unsigned i = 0; i < MC__NCLASS; i++)
        h->flist[i] = NULL;
    h->fmask[0] = h->fmask[1] = 0;
    mc__chunk **link = &h->chunks;
    while (*link) {
        mc__chunk *c = *link;
        if (c->magic != MC__CHUNK_MAGIC)
            corrupt(h, "chunk %p has a bad magic %#llx", (void *)c,
                    (unsigned long long)c->magic);
        char *data = mc__chunk_data(c), *p = data, *run = NULL;
        while (p < c->top) {
            mc__block *b = (mc__block *)p;
            uint64_t w = mc__ld(b);
            size_t bytes = mc__bw_bytes(w);
            unsigned st = mc__bw_state(w);
            if (bytes < MC__HDR || p + bytes > c->top ||
                (st != MC__B_ALLOC && st != MC__B_FREE))
                corrupt(h, "block %p in chunk %p: bad header %#llx",
                        (void *)p, (void *)c, (unsigned long long)w);
            if (st == MC__B_ALLOC && mc__bw_mark(w) == mark) {
                if (run)
                    free_run(h, run, p);
                run = NULL;
                live += bytes;
            } else if (!run) {
                run = p;
            }
            p += bytes;
        }
        if (run == data || data == c->top) {
            /* wholly free (the current chunk too: the root's chunk always
             * stays, and its free blocks serve the next allocations) */
            *link = c->next; /* unlink, then give back */
            mc__heap_drop_chunk(h, c);
            continue;
        }
        if (run) {
            if (c == h->cur)
                c->top = run; /* the dead tail becomes bump space */
            else
                free_run(h, run, c->top);
        }
        link = &c->next;
    }
    return live;
}

/* Reset the mark of every allocated block (one store each): after 254
 * collections without a sweep, a stale mark could equal the next one's. */
static void clear_marks(mc_heap *h)
{
    for (mc__chunk *c = h->chunks; c; c = c->next)
        for (char *p = mc__chunk_data(c); p < c->top;) {
            mc__block *b = (mc__block *)p;
            uint64_t w = mc__ld(b);
            if (mc__bw_state(w) == MC__B_ALLOC && mc__bw_mark(w))
                mc__st(b, w & ~(uint64_t)0xff00);
            p += mc__bw_bytes(w);
        }
    h->unswept = 0;
}

int mc__heap_collect(mc_heap *h, void *const *pins, size_t npins)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (h->unswept >= 254)
        clear_marks(h);
    h->unswept++;
    uint64_t epoch = atomic_fetch_add(&h->epoch, 1) + 1;
    h->gcno++;
    struct mc_tracer tr = {.h = h, .mark = h->gcno % 255 + 1};
    if (h->debug)
        collect_live(h, &tr);

    tr.from_t = NULL;
    tr.from = NULL;
    mc_trace_ptr(&tr, atomic_load(&h->root));
    for (size_t i = 0; i < npins; i++)
        mc_trace_ptr(&tr, pins[i]);
    mark_loop(&tr);
    free(tr.stack);
    free(tr.live);
    if (tr.err)
        return mc__err(MC_ENOMEM, "heap collection: no memory for the mark "
                                  "stack; nothing was freed");

    if (mc__heap_wait_readers(h, epoch)) {
        /* nothing freed: count what was allocated as live, so that the
         * next collection waits for as much allocation again (not one per
         * allocation while the reader waits) */
        h->live_after_gc += h->alloc_since_gc;
        h->alloc_since_gc = 0;
        h->gc_garbage = 0;
        h->gc_requested = 0;
        h->skipped++;
        return mc__err(MC_EAGAIN, "heap collection: a reader waits for a "
                                  "lock; nothing was freed");
    }
    size_t live = sweep(h, tr.mark);
    h->unswept = 0;

    h->gc_garbage = 0;
    h->live_after_gc = live;
    h->alloc_since_gc = 0;
    h->gc_requested = 0;
    h->collections++;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    h->last_pause_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                       (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (h->debug)
        mc__heap_verify(h, "after a collection");
    return 0;
}

/* ------------------------------------------------------------ verifier */

void mc__heap_verify(mc_heap *h, const char *when)
{
    struct mc_tracer tr = {.h = h, .verify_only = 1};
    collect_live(h, &tr); /* checks the tiling of every chunk */
    if (!tr.live)
        return;
    unsigned mark = h->gcno % 255 + 1;
    size_t nchunks = 0, bytes = 0;
    for (mc__chunk *c = h->chunks; c; c = c->next) {
        if (c->magic != MC__CHUNK_MAGIC || c->top < mc__chunk_data(c) ||
            c->top > c->end || c->end != (char *)c + c->size)
            corrupt(h, "%s: chunk %p has a bad header", when, (void *)c);
        nchunks++;
        bytes += c->size;
        for (char *p = mc__chunk_data(c); p < c->top;) {
            mc__block *b = (mc__block *)p;
            uint64_t w = mc__ld(b);
            size_t sz = mc__bw_bytes(w);
            if (mc__bw_state(w) == MC__B_ALLOC) {
                if (mc__bw_mark(w) != mark)
                    corrupt(h, "%s: value %p survived unmarked", when,
                            (void *)(b + 1));
                trace_object(&tr, b + 1);
            } else if (mc__bw_state(w) == MC__B_FREE) {
                if (sz >= MC__MIN_BLOCK)
                    for (size_t i = MC__HDR; i < sz; i++)
                        if ((unsigned char)p[i] != MC__POISON)
                            corrupt(h, "%s: free block %p was written at "
                                       "offset %zu", when, (void *)p, i);
            } else {
                corrupt(h, "%s: block %p: bad header %#llx", when, (void *)p,
                        (unsigned long long)w);
            }
            p += sz;
        }
    }
    if (nchunks != h->nchunks || bytes != h->heap_bytes)
        corrupt(h, "%s: %zu chunks of %zu bytes, the counters say %zu of %zu",
                when, nchunks, bytes, h->nchunks, h->heap_bytes);
    for (unsigned cl = 0; cl < MC__NCLASS; cl++) {
        size_t steps = 0;
        for (mc__block *b = h->flist[cl]; b;
             b = (mc__block *)(uintptr_t)b->w1) {
            uint64_t w = mc__ld(b);
            if (mc__bw_state(w) != MC__B_FREE ||
                mc__heap_class(mc__bw_bytes(w)) != cl)
                corrupt(h, "%s: free list %u holds %p (header %#llx)", when,
                        cl, (void *)b, (unsigned long long)w);
            if (++steps > tr.nlive + (bytes / MC__MIN_BLOCK))
                corrupt(h, "%s: free list %u has a cycle", when, cl);
        }
    }
    void *root = atomic_load(&h->root);
    if (root && !is_live(&tr, root))
        corrupt(h, "%s: the root %p is not a live value", when, root);
    free(tr.live);
}
