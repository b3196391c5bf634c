/* squeue.c: a shared FIFO queue (mcore/squeue.h): a heap whose root holds
 * a linked list of segments of SEG_SLOTS element pointers (an unrolled
 * two-lock queue: Michael and Scott's, with many elements per node), the
 * push side under tlock, the pop side under hlock, so that a producer and
 * a consumer never wait for each other.  A push takes the heap's lock
 * only to allocate (a segment per SEG_SLOTS pushes, or a big element),
 * inside tlock; a thread that mutates the heap may not take tlock.
 *
 *   anchor -> ... -> hseg -> ... -> tail
 *
 * Elements are numbered 1, 2, ... in push order (seq); element s lives in
 * slot s - base of the segment whose base <= s < base + SEG_SLOTS, and a
 * slot is written once, by the push of its element.  nin is the last
 * pushed seq, nout the last popped one; hseg is the segment of element
 * nout + 1 (or the one before it, while that element's segment is not
 * linked yet).  length = nin - nout, in O(1).
 *
 * Memory.  Segments and values live in the heap and are collected by it.
 * A small element is copied whole into its slot's cell, in a block of
 * cells that each segment has (a cell holds the element and what it
 * points to, laid out as in a camlbox slot): a push then allocates
 * nothing, and a segment's elements are freed with it.  An element too big
 * for a cell is a heap value of its own (mc_heap_add), pointed to by its
 * slot.  The collector traces the segments from `anchor`, which only
 * pushers move (under the heap's lock, the lock every collection holds),
 * before they allocate, to where hseg was when they looked: a popped
 * element stays reachable until a later push allocates.  A cell push
 * runs beside a collection: it writes a cell and its slot, which the
 * collector skips, and nin; what the collector reads of the push side
 * (anchor, spare, a segment's next and cells) changes only under the
 * heap's lock.  A popper reads its element inside a reader slot (heap.h),
 * entered before the pop: a collection that no longer reaches the element
 * started after the anchor moved past its segment, hence after the pop,
 * hence after the popper entered its slot, and waits for it.  A reader
 * that enters during a collection sees an hseg at or after the anchor,
 * which that collection marks from and which no pusher can move while it
 * runs.  So consumers take no heap lock.  One gap: a collection skips the
 * collecting thread's own slot, so a push from inside a _p callback pins
 * the segments the callback holds (holds[]).
 *
 * Crash consistency (DESIGN.md 10b): a one-store discipline, with a mark.
 *   - push: the mark `pushing` is set first.  The value is copied into
 *     its cell or the heap (garbage until stored: a cell is written again
 *     by the next push, the collector frees a heap copy after a crash);
 *     ONE store of its slot publishes it (the commit point); then
 *     nin and the mark are updated.  When the tail segment is full, a new
 *     segment is allocated first (held in `spare`, which the collector
 *     traces), the value goes into its slot 0 while it is unpublished, and
 *     ONE store of tail->next is the commit point.  The next locker of
 *     tlock (robust) that finds the mark walks tail forward to the last
 *     linked segment and recomputes nin from the filled slots: the queue
 *     is whole, with the dead pusher's element in it or not (an unlinked
 *     spare is used again).
 *   - pop: under hlock, ONE store of nout pops (the commit point), then
 *     hseg moves when the element was in the next segment.  hlock is
 *     robust: the next locker gets MC_EOWNERDEAD and moves hseg up to
 *     nout's segment.  The element popped by the dead process is lost (the
 *     "item in flight").
 *   - clear: under tlock and hlock, with the mark: ONE store of nout (to nin),
 *     then hseg (to tail); the same repair.
 * A lagging hseg is harmless in itself (lookups walk forward from it); the
 * repair moves it up so that the anchor can pass what was popped.
 * tests/test_squeue.c kills a process at each window named here (the
 * CP_* crash points below), besides killing at random.
 * A waiter killed in a wait leaves a waiter count too high: producers then
 * signal when nobody waits (a wasted wake-up, never a lost one).
 *
 * Waking.  A consumer that finds the queue empty counts itself in cwaiters
 * before it looks again, under hlock, and sleeps on `nonempty`; a pusher
 * publishes, then reads cwaiters (both seq_cst: one of the two sees the
 * other), and signals under hlock only when somebody waits.  Producers
 * waiting for room do the same with pwaiters, plock and `notfull`.  Before
 * registering, a waiter polls the counters for a short adaptive time
 * (os/spin.h).  Waits happen outside any reader slot, so that a sleeping
 * consumer never holds up the collector.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "mcore/cond.h"
#include "mcore/mutex.h"
#include "mcore/squeue.h"
#include "mem/copy.h"
#include "mem/heap_descr.h"
#include "mem/heap_internal.h"
#include "os/spin.h"
#include "proc/stat.h"

/* Element pointers per segment: one allocation per 64 pushes instead of
 * one per push (a node per element cost a fifth of a push). */
#define SEG_SLOTS 64

typedef struct qseg {
    struct qseg *next;    /* atomic: written once, by the push that links */
    uint64_t base;        /* seq of slot[0] */
    char *cells;          /* SEG_SLOTS cells of `cell` bytes, or NULL */
    void *cells_blk;      /* the heap block that holds them (traced) */
    uint64_t cell;        /* bytes per cell (0: no cells) */
    void *slot[SEG_SLOTS]; /* atomic: written once, by the element's push */
} qseg;

/* A cell: the place in its segment's cells block where a small element
 * is copied whole (its root at the cell's start, what it points to after
 * it, as in a camlbox slot), so that a push allocates nothing: one
 * allocation of cells per SEG_SLOTS pushes.  Cells hold an element and
 * its own pointers only (no block header each): the collector keeps the
 * block alive through its segment and never follows pointers into it. */
#define CELL_MIN 64u
#define CELL_MAX 192u  /* SEG_SLOTS cells stay a small heap block */

static const mc_type cells_type = {
    .name = "mc_squeue_cells",
    .id = 0x6d635f7163656c6cull, /* never in a descriptor */
    .size = 16,
    .align = 16,
};

/* The cell size for elements of t: room for the record and a few small
 * strings or arrays; 0 (no cells) for records too big to gain. */
static uint64_t cell_size(const mc_type *t)
{
    uint64_t n = ((uint64_t)t->size + 48 + 15) & ~(uint64_t)15;
    if (n < CELL_MIN)
        n = CELL_MIN;
    return n <= CELL_MAX ? n : 0;
}

/* The 16-byte units of a block of cells, and their start in it: cells
 * start on a cache line (a small element then lies in one line, for the
 * consumer to fetch). */
#define CELLS_UNITS(cell) ((SEG_SLOTS * (cell) + 48) / 16)
static char *cells_in(void *blk)
{
    return (char *)(((uintptr_t)blk + 63) & ~(uintptr_t)63);
}

/* Is v (the element of slot i of g) the copy in its cell? */
static inline int in_cell(const qseg *g, unsigned i, const void *v)
{
    return (uintptr_t)v == (uintptr_t)g->cells + i * g->cell && g->cells;
}

/* The groups below are 64 bytes apart or more: what the producers write
 * for each item, what the consumers write, and what both only read, are
 * never on one cache line (a line written by the other side is a miss
 * for each item). */
typedef struct qroot {
    /* fixed at creation (closed: written once) */
    const mc_type *etype, *htype;
    void *header;
    uint64_t capacity;
    uint64_t cell;        /* cell_size(etype) */
    uint32_t closed;      /* atomic */
    char pad0[64];
    /* push side: tlock (and the heap's lock to allocate) */
    mc_mutex tlock;
    qseg *anchor;         /* traced: the chain's collector root */
    qseg *tail;           /* the last linked segment */
    qseg *spare;          /* traced: the segment a push is filling */
    uint64_t seen_out;    /* nout as the push side last read it (<= nout):
                             room is checked without reading nout */
    uint32_t pushing;     /* 1 inside a push or clear (the mark) */
    char pad1[64];
    /* the push side's one field that consumers read (they poll it while
     * the queue is empty): written once per push */
    uint64_t nin;         /* atomic: seq of the last pushed element */
    char pad1b[64];
    /* pop side: hlock */
    mc_mutex hlock;
    qseg *hseg;           /* atomic: the segment of element nout + 1 */
    uint64_t nout;        /* atomic: seq of the last popped element */
    uint32_t pop_died;    /* a waker repaired a dead holder's pop: the
                             next locker reports it */
    char pad2[64];
    /* consumers waiting (read by every push: written only by waiters) */
    uint32_t cwaiters;    /* atomic: consumers waiting on nonempty */
    mc_cond nonempty;
    char pad3[64];
    /* producers waiting for room */
    mc_mutex plock;
    mc_cond notfull;
    uint32_t pwaiters;    /* atomic */
} qroot;

/* Fault injection for tests/test_squeue.c: a process whose
 * mc__squeue_crash_at is n kills itself at crash point n, so that every
 * window of the argument above is tested, not only those random kills
 * hit.  0 (always, outside that test): off; one load and compare each. */
int mc__squeue_crash_at;
enum {
    CP_PUSH_MARKED = 1, /* the mark set, nothing else */
    CP_PUSH_COPIED,     /* the value copied, not published */
    CP_PUSH_SLOT,       /* published in its slot, nin not updated */
    CP_PUSH_NIN,        /* nin updated, the mark still set */
    CP_SEG_SPARE,       /* a new segment allocated (spare) */
    CP_SEG_UNLINKED,    /* spare dropped, the segment not linked */
    CP_SEG_LINKED,      /* linked, tail not moved */
    CP_POP_NOUT,        /* popped (nout), hlock held */
    CP_POP_HSEG,        /* popped into the next segment, hseg not moved */
    CP_CLEAR_NOUT,      /* cleared (nout), hseg not moved */
    CP_LAST_
};
#define CRASH_POINT(n)                                                      \
    do {                                                                    \
        if (MC_UNLIKELY(mc__squeue_crash_at == (n)))                        \
            raise(SIGKILL);                                                 \
    } while (0)

#define LD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define LDS(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STS(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

/* ------------------------------------------------------------- types */

static void seg_trace(mc_tracer *tr, const void *obj)
{
    const qseg *g = obj;
    mc_trace_ptr(tr, LD(&g->next));
    mc_trace_ptr(tr, g->cells_blk);
    for (unsigned i = 0; i < SEG_SLOTS; i++) {
        void *v = LD(&g->slot[i]);
        if (!in_cell(g, i, v)) /* a cell's element is not a block */
            mc_trace_ptr(tr, v);
    }
}

static const mc_type seg_type = {
    .name = "mc_squeue_segment",
    .id = 0x6d635f7173656731ull, /* never in a descriptor */
    .size = sizeof(qseg),
    .align = _Alignof(qseg),
    .trace = seg_trace,
};

static int root_copy(mc_copier *c, void *dst, const void *src)
{
    const qroot *s = src;
    qroot *d = dst;
    d->etype = s->etype;
    d->htype = s->htype;
    d->capacity = s->capacity;
    if (s->htype) {
        int rc = mc_copy_ptr(c, s->htype, 1, &s->header, &d->header);
        if (rc)
            return rc;
    }
    qseg *g = mc_copy_alloc(c, &seg_type, 1);
    if (!g)
        return MC_ENOMEM;
    g->base = 1;
    d->cell = cell_size(s->etype);
    if (d->cell) {
        g->cells_blk = mc_copy_alloc(c, &cells_type, CELLS_UNITS(d->cell));
        if (!g->cells_blk)
            return MC_ENOMEM;
        g->cells = cells_in(g->cells_blk);
        g->cell = d->cell;
    }
    d->anchor = d->tail = d->hseg = g;
    return 0;
}

static void root_trace(mc_tracer *tr, const void *obj)
{
    const qroot *r = obj;
    mc_trace_ptr(tr, r->header);
    mc_trace_ptr(tr, r->anchor);
    mc_trace_ptr(tr, r->spare);
}

static int root_init_sync(void *obj)
{
    qroot *r = obj;
    int rc = mc_mutex_init(&r->hlock, MC_MUTEX_NORMAL);
    if (!rc)
        rc = mc_mutex_init(&r->tlock, MC_MUTEX_NORMAL);
    if (!rc)
        rc = mc_mutex_init(&r->plock, MC_MUTEX_NORMAL);
    if (!rc)
        rc = mc_cond_init(&r->nonempty);
    if (!rc)
        rc = mc_cond_init(&r->notfull);
    return rc;
}

static const mc_type root_type = {
    .name = "mc_squeue_root",
    .id = 0x6d635f7175726f6full, /* never in a descriptor */
    .size = sizeof(qroot),
    .align = _Alignof(qroot),
    .copy = root_copy,
    .trace = root_trace,
    .init_sync = root_init_sync,
};

#define HEAP(q) ((mc_heap *)(q))
#define QUEUE(h) ((mc_squeue *)(h))

/* The root of a live queue, or NULL (with a detail naming fn).
 * mc_heap_root_ro and mc_heap_root_type, inline: two calls were a tenth
 * of a push. */
static qroot *root_of(mc_squeue *q, const char *fn)
{
    mc_heap *h = HEAP(q);
    qroot *r = NULL;
    if (MC_LIKELY(h != NULL) && MC_LIKELY(h->magic == MC__HEAP_MAGIC))
        r = atomic_load(&h->root);
    if (MC_LIKELY(r != NULL) &&
        MC_LIKELY(mc__heap_type(h, mc__bw_type(mc__ld(mc__hdr(r)))) ==
                  &root_type))
        return r;
    mc__err(MC_EINVAL, "%s: %s", fn,
            q ? "not a live queue (destroyed?)" : "NULL queue");
    return NULL;
}

/* ----------------------------------------------------- create, destroy */

int mc_squeue_create(mc_pool *pool, const mc_type *elem,
                     const mc_type *header_type, const void *header_init,
                     size_t capacity, mc_squeue **q)
{
    if (!pool || !elem || !q || (header_type && !header_init))
        return mc__err(MC_EINVAL, "mc_squeue_create: NULL argument");
    if (elem->align > 16 || (header_type && header_type->align > 16))
        return mc__err(MC_EINVAL, "mc_squeue_create: a type aligned above "
                                  "16 bytes");
    qroot init = {.etype = elem, .htype = header_type,
                  .header = (void *)header_init, .capacity = capacity};
    mc_heap *h;
    int rc = mc_heap_create(pool, &root_type, &init, &h);
    if (rc)
        return rc;
    *q = QUEUE(h);
    return 0;
}

int mc_squeue_destroy(mc_squeue *q)
{
    if (!root_of(q, "mc_squeue_destroy"))
        return MC_EINVAL;
    return mc_heap_destroy(HEAP(q));
}

/* ------------------------------------------------------------ helpers */

/* Nodes held by this thread's running callbacks (pop_p, top_p, iter,
 * fold): a push from inside one pins them (see the top of the file). */
#define MAX_HOLDS 16
struct hold {
    mc_heap *h;
    qseg *const *seg; /* the callback's current segment */
};
static _Thread_local struct hold holds[MAX_HOLDS];
static _Thread_local int nholds;

static void hold_push(mc_heap *h, qseg *const *seg)
{
    if (nholds < MAX_HOLDS)
        holds[nholds] = (struct hold){h, seg};
    nholds++;
}

static void hold_pop(void)
{
    nholds--;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ms left until deadline (>= 0), or -1 for no deadline. */
static int64_t left_ms(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t l = deadline - now_ms();
    return l < 0 ? 0 : l;
}

/* Repair the push side after a pusher's death (the mark is set): walk tail
 * to the last linked segment and nin to its last filled slot.  tlock
 * held.  A spare left is not linked (a push drops it before it links): the
 * next new segment is made of it (its slot 0 and cell 0 written again).
 * Returns MC_EOWNERDEAD. */
static int repair_push(qroot *r, const char *fn)
{
    qseg *t = r->tail, *n;
    while ((n = LD(&t->next)))
        t = n;
    r->tail = t;
    uint64_t s = r->nin < t->base ? t->base - 1 : r->nin;
    while (s + 1 - t->base < SEG_SLOTS && LD(&t->slot[s + 1 - t->base]))
        s++;
    STS(&r->nin, s);
    ST(&r->pushing, 0u);
    return mc__err(MC_EOWNERDEAD, "%s: a process died inside a push or "
                                  "clear of this queue; the queue is "
                                  "repaired, nothing was done: call again",
                   fn);
}

/* hlock was acquired with MC_EOWNERDEAD: nout is right (one store), hseg
 * may lag behind it. */
static void repair_pop(qroot *r)
{
    qseg *h = r->hseg, *n;
    uint64_t out = r->nout;
    while (out + 1 > h->base + SEG_SLOTS && (n = LD(&h->next)))
        h = n;
    ST(&r->hseg, h);
    mc_mutex_consistent(&r->hlock);
}

static int pop_died(qroot *r, const char *fn)
{
    r->pop_died = 0;
    mc_mutex_unlock(&r->hlock);
    return mc__err(MC_EOWNERDEAD, "%s: a process died inside a pop or clear "
                                  "of this queue; the queue is repaired, "
                                  "nothing was done: call again", fn);
}

/* Lock hlock; repair the pop side after a holder's death.  0, or
 * MC_EOWNERDEAD (repaired, unlocked), MC_ESYS/EPOISONED (unlocked). */
static int lock_head(qroot *r, const char *fn)
{
    int rc = mc_mutex_lock(&r->hlock);
    if (MC_LIKELY(rc == 0)) {
        if (MC_UNLIKELY(r->pop_died))
            return pop_died(r, fn);
        return 0;
    }
    if (rc != MC_EOWNERDEAD)
        return mc__err_in(rc, fn);
    repair_pop(r);
    return pop_died(r, fn);
}

/* Lock tlock, the push side's.  0; MC_EOWNERDEAD: a holder died inside a
 * push, clear or close, the push side is repaired, tlock is held (the
 * caller reports it, or not); MC_ESTATE: the calling thread mutates the
 * queue's heap (it would wait for a pusher that waits for the heap);
 * MC_ESYS (not held). */
static int lock_tail(qroot *r, mc_heap *h, const char *fn)
{
    if (MC_UNLIKELY(mc__heap_mutating(h)))
        return mc__err(MC_ESTATE, "%s: this thread is mutating the queue's "
                                  "heap", fn);
    int rc = mc_mutex_trylock(&r->tlock);
    if (MC_UNLIKELY(rc == MC_EAGAIN)) {
        /* a holder of tlock may wait for the heap's lock (and its collector
         * for our read, inside a callback): say that we wait */
        int ws = mc__heap_lock_wait(h);
        rc = mc_mutex_lock(&r->tlock);
        mc__heap_lock_waited(h, ws);
    }
    if (MC_LIKELY(rc == 0))
        return 0;
    if (rc != MC_EOWNERDEAD)
        return mc__err_in(rc, fn);
    mc_mutex_consistent(&r->tlock);
    if (!LD(&r->pushing))
        return 0; /* died outside the marked steps: nothing to repair */
    return repair_push(r, fn);
}

/* plock protects nothing but the waiting: a dead holder is no news. */
static int lock_plock(qroot *r, const char *fn)
{
    int rc = mc_mutex_lock(&r->plock);
    if (rc == MC_EOWNERDEAD)
        rc = mc_mutex_consistent(&r->plock);
    return rc ? mc__err_in(rc, fn) : 0;
}

/* Wake one waiter (all: every waiter) of c, if anybody waits.  m is
 * hlock or plock; a dead holder of hlock is repaired here and reported by
 * its next locker (pop_died). */
static void wake(qroot *r, mc_mutex *m, mc_cond *c, uint32_t *waiters,
                 int all)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (MC_LIKELY(!LDS(waiters)) && !all)
        return;
    int rc = mc_mutex_lock(m);
    if (rc == MC_EOWNERDEAD) {
        if (m == &r->hlock) {
            repair_pop(r);
            r->pop_died = 1;
        } else {
            mc_mutex_consistent(m);
        }
    } else if (rc) {
        return;
    }
    if (all)
        mc_cond_broadcast(c);
    else
        mc_cond_signal(c);
    mc_mutex_unlock(m);
}

/* A waiter polls the counters (no lock, no pointer followed) for a short,
 * adaptive time before it registers as a waiter (os/spin.h): while it is
 * not registered, the other side skips its lock and signal, and a stream
 * of items between two running processes never sleeps. */
#define QUEUE_SPIN_NS 20000u

static _Thread_local mc__spin_ctl pop_spin, push_spin;

/* The length from the counters, nout read first (nin only grows).  After
 * a crash between a commit and its counter, until the repair, either may
 * lag by one: never below 0. */
static uint64_t qlen(const qroot *r)
{
    uint64_t out = LDS(&r->nout), in = LDS(&r->nin);
    return in > out ? in - out : 0;
}

static int ready(qroot *r, int room)
{
    if (LDS(&r->closed))
        return 1;
    return room ? qlen(r) < r->capacity : qlen(r) > 0;
}

/* 1 if the queue became ready (room: for a push; else for a pop) */
static int poll_ready(qroot *r, int room)
{
    mc__spin_ctl *ctl = room ? &push_spin : &pop_spin;
    uint64_t budget = mc__spin_budget(ctl, QUEUE_SPIN_NS);
    if (!budget)
        return 0;
    uint64_t end = mc__now_ns() + budget;
    for (unsigned i = 1;; i++) {
        if (ready(r, room)) {
            mc__spin_note(ctl, 1);
            return 1;
        }
        if (i % 64) {
            mc__cpu_relax();
        } else if (mc__spin_yield_lost() || mc__now_ns() >= end) {
            mc__spin_note(ctl, 0);
            return 0;
        }
    }
}

/* ---------------------------------------------------------------- push */

struct push_ctx {
    const void *value;
    mc_heap *h;
    int full; /* set: at capacity, nothing done */
};

/* The copier's slow path in a cell: the element does not fit. */
static void *cell_full(mc_copier *c, const mc_type *t, size_t count)
{
    (void)t;
    (void)count;
    c->err = MC_E2BIG; /* no detail: the push goes on with a heap copy */
    return NULL;
}

/* Copy value (of t) into a cell of `size` bytes, as a camlbox slot holds
 * a message (the pool has one address in every process: no relocation).
 * 0 (*out: the cell), MC_E2BIG (it does not fit), or an error of a copy
 * routine. */
static int copy_cell(const mc_type *t, char *cell, uint64_t size,
                     const void *value, void **out)
{
    if (!t->ptrs && !t->copy && !t->init_sync && t->size <= size) {
        memcpy(cell, value, t->size);
        *out = cell;
        return 0;
    }
    mc_copier c;
    mc__copier_init(&c, cell_full, NULL, cell);
    c.init_sync = 1;
    c.bump_kind = MC__BUMP_SLOT;
    c.bump = cell;
    c.bump_end = cell + size;
    int rc = mc__copy_root(&c, t, 1, value, out);
    mc__copier_fini(&c);
    return c.err == MC_E2BIG ? MC_E2BIG : rc;
}

/* Before a push allocates (a collection may run): let the collector free
 * what was popped (the anchor moves up to the head's segment: see the top
 * of the file), and pin the segments that this thread's running callbacks
 * hold. */
static int before_alloc(mc_mut *mut, qroot *r, mc_heap *h)
{
    r->anchor = LD(&r->hseg);
    for (int i = 0; i < nholds; i++) {
        qseg *held = *holds[i].seg;
        if (held && holds[i].h == h) {
            int rc = mc_heap_pin(mut, held);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* The push's steps that need the heap's lock (tlock and the mark held):
 * a new segment, or a heap copy of a value too big for its cell. */
static int do_push(mc_mut *mut, void *rootp, void *ctx)
{
    qroot *r = rootp;
    struct push_ctx *p = ctx;
    qseg *t = r->tail, *g = t;
    uint64_t s = LD(&r->nin) + 1;
    /* the collector may now free what was popped (see the top) */
    int rc = before_alloc(mut, r, p->h);
    if (!rc && s - t->base == SEG_SLOTS) {
        /* a new segment first, reachable from the root (spare) while the
         * value is copied: a collection in an allocation keeps it */
        g = r->spare;
        if (!g && !(rc = mc_heap_alloc(mut, &seg_type, 1, (void **)&g)))
            r->spare = g;
        if (!rc && r->cell && !g->cells) {
            void *blk;
            rc = mc_heap_alloc(mut, &cells_type, CELLS_UNITS(r->cell), &blk);
            if (!rc) {
                g->cell = r->cell;
                g->cells_blk = blk; /* traced from here on (spare) */
                g->cells = cells_in(blk); /* then used (a reused spare's
                                             cells are traced) */
            }
        }
        CRASH_POINT(CP_SEG_SPARE);
    }
    void *v = NULL;
    if (!rc && g != t && g->cells) {
        rc = copy_cell(r->etype, g->cells, g->cell, p->value, &v);
        if (rc == MC_E2BIG) /* a big one: a block of the heap */
            rc = 0, v = NULL;
    }
    if (!rc && !v)
        rc = mc_heap_add(mut, r->etype, p->value, &v);
    if (rc)
        return rc;
    /* nothing allocates from here on: v needs no root until it is stored */
    CRASH_POINT(CP_PUSH_COPIED);
    if (g == t) {
        __atomic_store_n(&t->slot[s - t->base], v, __ATOMIC_RELEASE);
        CRASH_POINT(CP_PUSH_SLOT);
    } else {
        g->base = s;
        g->slot[0] = v;
        r->spare = NULL; /* g is only ours until linked */
        CRASH_POINT(CP_SEG_UNLINKED);
        __atomic_store_n(&t->next, g, __ATOMIC_RELEASE); /* commit */
        CRASH_POINT(CP_SEG_LINKED);
        r->tail = g;
    }
    return 0;
}

/* One push under tlock: 0 (pushed or p->full), or an error.  A small
 * value goes into its cell without the heap's lock: nothing allocates,
 * and the collector neither follows a cell's element nor needs the push
 * side's fields but anchor and spare (moved under the heap's lock). */
static int push_once(qroot *r, struct push_ctx *p)
{
    int rc = lock_tail(r, p->h, "mc_squeue_push");
    if (rc) {
        if (rc == MC_EOWNERDEAD)
            mc_mutex_unlock(&r->tlock);
        return rc;
    }
    uint64_t nin = r->nin;
    if (LD(&r->closed)) {
        rc = mc__err(MC_ECLOSED, "mc_squeue_push: the queue is closed");
        goto out;
    }
    if (r->capacity && nin - r->seen_out >= r->capacity) {
        /* full as last seen: look at nout again (a line the consumers
         * write, so not at every push) */
        uint64_t out = LDS(&r->nout);
        r->seen_out = out < nin ? out : nin;
        if (nin - r->seen_out >= r->capacity) {
            p->full = 1;
            goto out;
        }
    }
    if (MC_UNLIKELY(nholds > MAX_HOLDS)) {
        rc = mc__err(MC_ESTATE, "mc_squeue_push: more than %d queue "
                                "callbacks nested in this thread",
                     MAX_HOLDS);
        goto out;
    }
    ST(&r->pushing, 1u);
    CRASH_POINT(CP_PUSH_MARKED);
    qseg *t = r->tail;
    uint64_t s = nin + 1;
    unsigned i = (unsigned)(s - t->base);
    void *v = NULL;
    if (i < SEG_SLOTS && t->cells) {
        rc = copy_cell(r->etype, t->cells + i * t->cell, t->cell, p->value,
                       &v);
        if (rc == MC_E2BIG)
            rc = 0, v = NULL;
    }
    if (!rc && v) {
        CRASH_POINT(CP_PUSH_COPIED);
        __atomic_store_n(&t->slot[i], v, __ATOMIC_RELEASE); /* commit */
        CRASH_POINT(CP_PUSH_SLOT);
    } else if (!rc) {
        rc = mc_heap_modify(p->h, do_push, p);
    }
    if (!rc) {
        /* release stores: the fence in wake() orders them before the load
         * of cwaiters (the waiters' side of the handshake) */
        ST(&r->nin, s);
        CRASH_POINT(CP_PUSH_NIN);
    }
    ST(&r->pushing, 0u);
out:
    mc_mutex_unlock(&r->tlock);
    return rc;
}

/* Wait until the queue has room, is closed, or deadline passes.  0 to try
 * again, or an error. */
static int wait_room(qroot *r, int64_t deadline)
{
    int rc = lock_plock(r, "mc_squeue_push");
    if (rc)
        return rc;
    __atomic_add_fetch(&r->pwaiters, 1, __ATOMIC_SEQ_CST);
    while (!LDS(&r->closed) && qlen(r) >= r->capacity) {
        int64_t l = left_ms(deadline);
        if (l == 0) {
            rc = MC_ETIMEDOUT;
            break;
        }
        rc = l < 0 ? mc_cond_wait(&r->notfull, &r->plock)
                   : mc_cond_timedwait(&r->notfull, &r->plock, l);
        if (rc == MC_EOWNERDEAD)
            rc = mc_mutex_consistent(&r->plock);
        if (rc == MC_ETIMEDOUT)
            break;
        if (rc) {
            __atomic_sub_fetch(&r->pwaiters, 1, __ATOMIC_SEQ_CST);
            return mc__err_in(rc, "mc_squeue_push");
        }
    }
    __atomic_sub_fetch(&r->pwaiters, 1, __ATOMIC_SEQ_CST);
    mc_mutex_unlock(&r->plock);
    return rc == MC_ETIMEDOUT ? 1 : 0; /* 1: out of time, try once more */
}

int mc_squeue_push(mc_squeue *q, const void *value, int64_t timeout_ms)
{
    qroot *r = root_of(q, "mc_squeue_push");
    if (!r)
        return MC_EINVAL;
    if (!value || timeout_ms < -1)
        return mc__err(MC_EINVAL, "mc_squeue_push: %s",
                       value ? "timeout below -1" : "NULL value");
    int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : -1;
    for (int last = 0;;) {
        struct push_ctx p = {.value = value, .h = HEAP(q)};
        int rc = push_once(r, &p);
        if (rc)
            return rc;
        if (!p.full) {
            wake(r, &r->hlock, &r->nonempty, &r->cwaiters, 0);
            return 0;
        }
        if (timeout_ms == 0)
            return mc__err(MC_EAGAIN, "mc_squeue_push: the queue is full "
                                      "(%llu elements)",
                           (unsigned long long)r->capacity);
        if (last)
            return mc__err(MC_ETIMEDOUT, "mc_squeue_push: the queue stayed "
                                         "full for %lld ms",
                           (long long)timeout_ms);
        if (poll_ready(r, 1))
            continue;
        rc = wait_room(r, deadline);
        if (rc < 0)
            return rc;
        last = rc;
    }
}

/* ----------------------------------------------------------------- pop */

/* Emptiness travels in the context, not as a return code: a callback
 * may return any int. */
struct pop_ctx {
    int (*fn)(const void *elem, void *ctx);
    void *ctx;
    void **copy;
    mc_heap *h;
    int empty; /* set: nothing popped */
};

/* Element s and its segment, looking from segment g on (g->base <= s), or
 * NULL: not pushed yet (*where untouched). */
static void *elem_at(qseg *g, uint64_t s, qseg **where)
{
    while (s - g->base >= SEG_SLOTS) {
        qseg *n = LD(&g->next);
        if (!n)
            return NULL;
        g = n;
    }
    void *v = LD(&g->slot[s - g->base]);
    if (v)
        *where = g;
    return v;
}

/* A local copy of element v, of slot i of g: a cell's element holds its
 * own strings (their lengths are not in block headers). */
static int copy_out(const qroot *r, const qseg *g, unsigned i, const void *v,
                    void **copy)
{
    return in_cell(g, i, v) ? mc_local_copy(r->etype, v, copy)
                            : mc__local_copy_heap(r->etype, v, copy);
}

/* Empty, seen without the lock (inside a reader slot)?  Not when the
 * counters say otherwise: a dead popper's lag, which the lock repairs
 * (else a waiter's poll would spin on it). */
static int empty_unlocked(qroot *r)
{
    /* the slot first: nin is on the producers' line */
    uint64_t s = LDS(&r->nout) + 1;
    qseg *g = LD(&r->hseg);
    if (s < g->base || elem_at(g, s, &g))
        return 0;
    return !qlen(r);
}

/* Inside a reader slot: pop one element and hand it over. */
static int pop_fn(const void *rootp, void *ctx)
{
    qroot *r = (qroot *)rootp;
    struct pop_ctx *p = ctx;
    p->empty = 0;
    if (empty_unlocked(r)) { /* the common case of a waiting pop */
        p->empty = 1;
        return 0;
    }
    int rc = lock_head(r, p->fn ? "mc_squeue_pop_p" : "mc_squeue_pop_c");
    if (rc)
        return rc;
    uint64_t s = r->nout + 1;
    qseg *h = r->hseg, *g = h;
    void *v = elem_at(h, s, &g);
    if (!v) {
        mc_mutex_unlock(&r->hlock);
        p->empty = 1;
        return 0;
    }
    ST(&r->nout, s); /* commit; wake() fences before reading pwaiters */
    CRASH_POINT(CP_POP_NOUT);
    if (g != h) {
        CRASH_POINT(CP_POP_HSEG);
        ST(&r->hseg, g);
    }
    mc_mutex_unlock(&r->hlock);
    if (r->capacity)
        wake(r, &r->plock, &r->notfull, &r->pwaiters, 0);
    if (!p->fn)
        return copy_out(r, g, (unsigned)(s - g->base), v, p->copy);
    qseg *held = g;
    hold_push(p->h, &held);
    rc = p->fn(v, p->ctx);
    hold_pop();
    return rc;
}

/* Wait until the queue is not empty, is closed, or deadline passes.
 * 0: try again; 1: out of time (try once more); < 0: an error. */
static int wait_item(qroot *r, int64_t deadline, const char *fn)
{
    int rc = lock_head(r, fn);
    if (rc)
        return rc;
    __atomic_add_fetch(&r->cwaiters, 1, __ATOMIC_SEQ_CST);
    qseg *g;
    while (!LDS(&r->closed) && !elem_at(r->hseg, r->nout + 1, &g)) {
        int64_t l = left_ms(deadline);
        if (l == 0) {
            rc = MC_ETIMEDOUT;
            break;
        }
        rc = l < 0 ? mc_cond_wait(&r->nonempty, &r->hlock)
                   : mc_cond_timedwait(&r->nonempty, &r->hlock, l);
        if (rc == MC_ETIMEDOUT)
            break;
        if (rc) {
            __atomic_sub_fetch(&r->cwaiters, 1, __ATOMIC_SEQ_CST);
            if (rc == MC_EOWNERDEAD) { /* held: repair as lock_head does */
                repair_pop(r);
                return pop_died(r, fn);
            }
            return mc__err_in(rc, fn);
        }
    }
    __atomic_sub_fetch(&r->cwaiters, 1, __ATOMIC_SEQ_CST);
    mc_mutex_unlock(&r->hlock);
    return rc == MC_ETIMEDOUT ? 1 : 0;
}

static int pop(mc_squeue *q, struct pop_ctx *p, int64_t timeout_ms,
               const char *fn)
{
    qroot *r = root_of(q, fn);
    if (!r)
        return MC_EINVAL;
    if (timeout_ms < -1)
        return mc__err(MC_EINVAL, "%s: timeout below -1", fn);
    p->h = HEAP(q);
    int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : -1;
    for (int last = 0;;) {
        /* read closed before looking: closed and then empty is the end */
        int closed = LDS(&r->closed);
        int rc = mc_heap_root_p(HEAP(q), pop_fn, p);
        if (rc || !p->empty)
            return rc;
        if (closed)
            return mc__err(MC_ECLOSED, "%s: the queue is closed and empty",
                           fn);
        if (timeout_ms == 0)
            return mc__err(MC_EAGAIN, "%s: the queue is empty", fn);
        if (last)
            return mc__err(MC_ETIMEDOUT, "%s: the queue stayed empty for "
                                         "%lld ms", fn,
                           (long long)timeout_ms);
        if (poll_ready(r, 0))
            continue;
        rc = wait_item(r, deadline, fn);
        if (rc < 0)
            return rc;
        last = rc;
    }
}

int mc_squeue_pop_c(mc_squeue *q, void **copy, int64_t timeout_ms)
{
    if (!copy)
        return mc__err(MC_EINVAL, "mc_squeue_pop_c: NULL copy");
    struct pop_ctx p = {.copy = copy};
    return pop(q, &p, timeout_ms, "mc_squeue_pop_c");
}

int mc_squeue_pop_p(mc_squeue *q, int (*fn)(const void *elem, void *ctx),
                    void *ctx, int64_t timeout_ms)
{
    if (!fn)
        return mc__err(MC_EINVAL, "mc_squeue_pop_p: NULL fn");
    struct pop_ctx p = {.fn = fn, .ctx = ctx};
    return pop(q, &p, timeout_ms, "mc_squeue_pop_p");
}

/* ------------------------------------------------------ top, iter, fold */

struct walk_ctx {
    int (*fn)(const void *elem, void *ctx);
    int (*fold)(void *acc, const void *elem);
    void *ctx;
    void **copy;
    int top; /* only the first element */
    mc_heap *h;
    int empty; /* top: set when there was none */
};

static int walk_fn(const void *rootp, void *ctx)
{
    const qroot *r = rootp;
    struct walk_ctx *w = ctx;
    /* the snapshot: from the head to the last pushed when we look (nin
     * first: an element popped meanwhile is still shown) */
    uint64_t last = LDS(&r->nin);
    uint64_t s = LDS(&r->nout) + 1;
    qseg *cur = LD(&r->hseg);
    if (s < cur->base)
        s = cur->base; /* popped since we read nout */
    hold_push(w->h, &cur);
    int rc = 0, any = 0;
    for (; s <= last; s++) {
        void *v = elem_at(cur, s, &cur);
        if (!v)
            break;
        any = 1;
        if (w->copy)
            rc = copy_out(r, cur, (unsigned)(s - cur->base), v, w->copy);
        else if (w->fold)
            rc = w->fold(w->ctx, v);
        else
            rc = w->fn(v, w->ctx);
        if (rc || w->top)
            break;
    }
    hold_pop();
    w->empty = !any;
    return rc;
}

static int walk(mc_squeue *q, struct walk_ctx *w, const char *fn)
{
    qroot *r = root_of(q, fn);
    if (!r)
        return MC_EINVAL;
    w->h = HEAP(q);
    int closed = LDS(&r->closed);
    int rc = mc_heap_root_p(HEAP(q), walk_fn, w);
    if (rc || !w->top || !w->empty)
        return rc;
    return closed ? mc__err(MC_ECLOSED, "%s: the queue is closed and empty",
                            fn)
                  : mc__err(MC_EAGAIN, "%s: the queue is empty", fn);
}

int mc_squeue_top_c(mc_squeue *q, void **copy)
{
    if (!copy)
        return mc__err(MC_EINVAL, "mc_squeue_top_c: NULL copy");
    struct walk_ctx w = {.copy = copy, .top = 1};
    return walk(q, &w, "mc_squeue_top_c");
}

int mc_squeue_top_p(mc_squeue *q, int (*fn)(const void *elem, void *ctx),
                    void *ctx)
{
    if (!fn)
        return mc__err(MC_EINVAL, "mc_squeue_top_p: NULL fn");
    struct walk_ctx w = {.fn = fn, .ctx = ctx, .top = 1};
    return walk(q, &w, "mc_squeue_top_p");
}

int mc_squeue_iter(mc_squeue *q, int (*fn)(const void *elem, void *ctx),
                   void *ctx)
{
    if (!fn)
        return mc__err(MC_EINVAL, "mc_squeue_iter: NULL fn");
    struct walk_ctx w = {.fn = fn, .ctx = ctx};
    return walk(q, &w, "mc_squeue_iter");
}

int mc_squeue_fold(mc_squeue *q, int (*fn)(void *acc, const void *elem),
                   void *acc)
{
    if (!fn)
        return mc__err(MC_EINVAL, "mc_squeue_fold: NULL fn");
    struct walk_ctx w = {.fold = fn, .ctx = acc};
    return walk(q, &w, "mc_squeue_fold");
}

/* ------------------------------------------------- length, clear, close */

int64_t mc_squeue_length(mc_squeue *q)
{
    qroot *r = root_of(q, "mc_squeue_length");
    if (!r)
        return MC_EINVAL;
    return (int64_t)qlen(r);
}

int mc_squeue_is_empty(mc_squeue *q)
{
    int64_t n = mc_squeue_length(q);
    return n < 0 ? (int)n : n == 0;
}

int mc_squeue_clear(mc_squeue *q)
{
    qroot *r = root_of(q, "mc_squeue_clear");
    if (!r)
        return MC_EINVAL;
    int rc = lock_tail(r, HEAP(q), "mc_squeue_clear");
    if (rc) {
        if (rc == MC_EOWNERDEAD)
            mc_mutex_unlock(&r->tlock);
        return rc;
    }
    rc = lock_head(r, "mc_squeue_clear");
    if (rc) {
        mc_mutex_unlock(&r->tlock);
        return rc;
    }
    ST(&r->pushing, 1u);
    STS(&r->nout, r->nin); /* commit: nin is exact under tlock */
    CRASH_POINT(CP_CLEAR_NOUT);
    ST(&r->hseg, r->tail);
    ST(&r->pushing, 0u);
    mc_mutex_unlock(&r->hlock);
    mc_mutex_unlock(&r->tlock);
    if (r->capacity)
        wake(r, &r->plock, &r->notfull, &r->pwaiters, 1);
    return 0;
}

int mc_squeue_close(mc_squeue *q)
{
    qroot *r = root_of(q, "mc_squeue_close");
    if (!r)
        return MC_EINVAL;
    /* under tlock: a push that saw it open has published already */
    int rc = lock_tail(r, HEAP(q), "mc_squeue_close");
    if (rc && rc != MC_EOWNERDEAD) /* a dead pusher: not an error here */
        return rc;
    STS(&r->closed, 1u);
    mc_mutex_unlock(&r->tlock);
    wake(r, &r->hlock, &r->nonempty, &r->cwaiters, 1);
    wake(r, &r->plock, &r->notfull, &r->pwaiters, 1);
    return 0;
}

int mc_squeue_is_closed(mc_squeue *q)
{
    qroot *r = root_of(q, "mc_squeue_is_closed");
    return r ? (int)LDS(&r->closed) : MC_EINVAL;
}

/* -------------------------------------------------------------- access */

void *mc_squeue_header(mc_squeue *q)
{
    qroot *r = q ? mc_heap_root_ro(HEAP(q)) : NULL;
    return r && mc_heap_root_type(HEAP(q)) == &root_type ? r->header : NULL;
}

mc_heap *mc_squeue_heap(mc_squeue *q)
{
    return HEAP(q);
}

const mc_type *mc_squeue_type(mc_squeue *q)
{
    qroot *r = q ? mc_heap_root_ro(HEAP(q)) : NULL;
    return r && mc_heap_root_type(HEAP(q)) == &root_type ? r->etype : NULL;
}

const mc_type *mc_squeue_header_type(mc_squeue *q)
{
    qroot *r = q ? mc_heap_root_ro(HEAP(q)) : NULL;
    return r && mc_heap_root_type(HEAP(q)) == &root_type ? r->htype : NULL;
}

size_t mc_squeue_capacity(mc_squeue *q)
{
    qroot *r = q ? mc_heap_root_ro(HEAP(q)) : NULL;
    return r && mc_heap_root_type(HEAP(q)) == &root_type
               ? (size_t)r->capacity
               : 0;
}

/* ------------------------------------------------------------ descriptors */

#define SQUEUE_DESCR_MAGIC 0x6d63737175653031ull /* "mcsque01" */

int mc_squeue_descr_of(mc_squeue *q, mc_squeue_descr *d)
{
    qroot *r = root_of(q, "mc_squeue_descr_of");
    if (!r)
        return MC_EINVAL;
    if (!d)
        return mc__err(MC_EINVAL, "mc_squeue_descr_of: NULL argument");
    mc__heap_ref ref;
    int rc = mc__heap_ref_of(HEAP(q), &ref);
    if (rc)
        return rc;
    *d = (mc_squeue_descr){.magic = SQUEUE_DESCR_MAGIC,
                           .type_id = r->etype->id,
                           .header_id = r->htype ? r->htype->id : 0,
                           .pool = ref.pool, .offset = ref.offset,
                           .gen = ref.gen};
    return 0;
}

int mc_squeue_of_descr(const mc_squeue_descr *d, const mc_type *elem,
                       const mc_type *header_type, mc_squeue **q)
{
    if (!d || !elem || !q)
        return mc__err(MC_EINVAL, "mc_squeue_of_descr: NULL argument");
    if (d->magic != SQUEUE_DESCR_MAGIC)
        return mc__err(MC_EINVAL,
                       "mc_squeue_of_descr: not a queue descriptor");
    mc_heap *h;
    mc__heap_ref ref = {d->pool, d->offset, d->gen};
    int held;
    int rc = mc__heap_of_ref(&ref, &root_type, &h, &held,
                             "mc_squeue_of_descr");
    if (rc)
        return rc;
    const qroot *r = mc_heap_root_ro(h);
    uint64_t hid = header_type ? header_type->id : 0;
    uint64_t rhid = r->htype ? r->htype->id : 0;
    if (d->type_id != elem->id || r->etype->id != elem->id)
        return mc__heap_ref_refuse(
            d->pool, held,
            mc__err(MC_ETYPE, "mc_squeue_of_descr: queue of %s (id %016llx), "
                    "not %s (id %016llx)", r->etype->name,
                    (unsigned long long)r->etype->id, elem->name,
                    (unsigned long long)elem->id));
    if (d->header_id != hid || rhid != hid)
        return mc__heap_ref_refuse(
            d->pool, held,
            mc__err(MC_ETYPE, "mc_squeue_of_descr: queue with header %s, "
                    "not %s", r->htype ? r->htype->name : "(none)",
                    header_type ? header_type->name : "(none)"));
    *q = QUEUE(h);
    return 0;
}

/* ------------------------------------------- mcadmin stat (proc/stat.h) */

const mc_type *const mc__squeue_stat_type = &root_type;

int mc__squeue_peek(const void *root, const char *hi, uint64_t *length,
                    uint64_t *capacity, int *closed)
{
    const qroot *r = root;
    if ((uintptr_t)hi - (uintptr_t)root < sizeof *r)
        return -1;
    uint64_t in = __atomic_load_n(&r->nin, __ATOMIC_RELAXED);
    uint64_t out = __atomic_load_n(&r->nout, __ATOMIC_RELAXED);
    *length = in > out ? in - out : 0;
    *capacity = __atomic_load_n(&r->capacity, __ATOMIC_RELAXED);
    *closed = __atomic_load_n(&r->closed, __ATOMIC_RELAXED) != 0;
    return 0;
}
