/* sbuffer.c: shared byte buffers (see mcore/sbuffer.h): creation,
 * mutations, header and descriptors; the lock-free reads and waits are in
 * sbuffer_read.c, the layout (sb_ctl) in sbuffer_internal.h.
 *
 * Where it lives: in a heap of its own, like an sref, not in a memfd of
 * its own.  The heap gives, with no new machinery, what a buffer needs
 * besides its bytes: the header value (deep-copied, collected), a robust
 * process-shared lock that reports a dead holder (MC_EOWNERDEAD), reader
 * slots that keep what a lock-free reader holds from being freed, a
 * descriptor that is checked on lookup, and memory from the session's pool
 * (mapped at one address everywhere, so the bytes are plain pointers).  A
 * memfd would have needed all of these again, and a ring in one mapping
 * cannot grow when the buffer has no capacity.
 *
 * Layout.  The heap's root is a control record (sb_ctl).  The bytes are in
 * blocks of bsize bytes (heap allocations of mc_type_bytes, after a cache
 * line that counts pins, see below): position p is in block k = p / bsize,
 * at offset p % bsize.  A table of n slots (n a power of two) maps block k
 * to slot k % n.  The window W = [start / bsize, ceil(end / bsize)) is the
 * blocks that hold valid bytes (and the current, partly filled block); the
 * table is at least as large as W, and every slot of W holds its block.
 * Every other slot is NULL or holds a spare: a block whose bytes were
 * deleted, which a later append reuses in place, or moves to the slot it
 * needs when that one is empty (that is how deleted memory is reused: a
 * buffer whose window stays bounded never allocates again).  A move
 * clears the old slot before the new one is set: a crash between leaves
 * the block unreachable (the collector's), never in two slots; a reader
 * that meets a cleared slot knows that start has passed it.  A window
 * that outgrows the table gets a table twice as large (the old one is
 * garbage).
 *
 * Crash consistency: the heap's one-store discipline, no intent record.
 * Every mutation is prepared where nobody looks and committed by one
 * store, so a process killed at any instruction leaves a valid buffer:
 *   - append: blocks are placed in slots outside W (each slot by one
 *     pointer store of a complete block), a larger table is filled and
 *     published by one store of tab, the bytes are written past end; then
 *     one store of end publishes them all.  Killed before it: the
 *     append never happened (its blocks are spares).
 *   - delete_hd / clear: one compare-and-swap of start, without the lock
 *     (start only grows: an append that read it before counts fewer free
 *     bytes and spares than there are); the blocks left behind become
 *     spares by that store alone.
 *   - close: one store of closed; header_set: one store of hdr after
 *     mc_heap_add made the copy.
 * The heap's own allocations are crash-consistent (heap_internal.h).
 * Nothing is ever half-done, so the next locker, told MC_EOWNERDEAD by the
 * heap's robust lock, has nothing to repair: it wakes every waiter (the
 * dead holder may have committed without waking them) and reports the
 * death to its caller after doing its own work.
 *
 * Readers take no lock.  Within a heap reader slot (mc_heap_root_p: the
 * table and blocks they reach are not freed under them) they load start
 * and end, then the table, and copy; then they load start again: a block
 * is reused only after start has passed it, so if start has not passed
 * pos, nothing they copied was overwritten (seqlock-style validation: an
 * acquire fence between the copy and the second load, a release fence
 * after the store of start that freed a block and before any write into
 * it).  mc_sbuffer_access cannot validate afterwards, so it pins: each
 * block has a count of the accesses that pinned it, in a cache line before
 * its data.  The access loads every block pointer of its range, counts
 * itself in each, then checks start; an append reuses a spare only if its
 * count is zero, else it drops it from its slot (garbage, kept by the
 * pinner's reader slot) and takes another spare or a new block.  Counts and
 * start are seq_cst on both sides, so either the appender sees the pin or
 * the pinner sees the new start and gives up.  A process killed inside an
 * access leaves its pins on a block: that block is then never reused but
 * dropped, and its count goes with it.
 *
 * Waiting uses futexes on two counters of sb_ctl (data_seq: bumped by
 * append and close; space_seq: by delete_hd, clear and close) and counts
 * of sleepers, so that a mutation makes a wake system call only when
 * somebody sleeps; a sleeper on data_seq also says the end it waits for
 * (data_want, the lowest of them), and an append that does not reach it
 * wakes nobody; a waiter first polls a little (os/spin.h's adaptive
 * poll: the next append often comes within microseconds).  Sleeps are
 * cut into 50 ms slices that recheck the state: a dead process that
 * committed without waking, or died counted as a sleeper, costs at most a
 * slice, never a hang.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "data/sbuffer_internal.h"
#include "mem/copy.h"
#include "mem/heap_descr.h"
#include "os/futex.h"
#include "proc/alive.h"
#include "os/spin.h"
#include "proc/stat.h"

/* ------------------------------------------------------------- types */

static int ctl_copy(mc_copier *c, void *dst, const void *src)
{
    const sb_ctl *s = src;
    sb_ctl *d = dst;
    *d = *s;
    d->hdr = NULL;
    d->tab = NULL;
    if (!s->hdr_type)
        return 0;
    return mc_copy_ptr(c, s->hdr_type, 1, &s->hdr, &d->hdr);
}

static void ctl_trace(mc_tracer *tr, const void *obj)
{
    const sb_ctl *c = obj;
    mc_trace_ptr(tr, c->hdr);
    mc_trace_ptr(tr, c->tab);
}

static const mc_type ctl_type = {
    .name = "mc_sbuffer_ctl",
    .id = 0x6d635f7362756663ull, /* not user-visible: never in a descriptor */
    .size = sizeof(sb_ctl),
    .align = _Alignof(sb_ctl),
    .copy = ctl_copy,
    .trace = ctl_trace,
};

static void slot_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, *(char *const *)obj);
}

/* One slot of the table: a block or NULL.  Never copied (allocated with
 * mc_heap_alloc only). */
static const mc_type slot_type = {
    .name = "mc_sbuffer_slot",
    .id = 0x6d635f7362736c74ull,
    .size = sizeof(char *),
    .align = _Alignof(char *),
    .trace = slot_trace,
};

/* ------------------------------------------------------------ create */

int mc_sbuffer_create(mc_pool *pool, const mc_type *header_type,
                      const void *header_init, const mc_sbuffer_attr *attr,
                      mc_sbuffer **buf)
{
    if (!pool || !buf)
        return mc__err(MC_EINVAL, "mc_sbuffer_create: NULL argument");
    if (!header_type != !header_init)
        return mc__err(MC_EINVAL, "mc_sbuffer_create: a header type "
                                  "without a value, or the reverse");
    size_t bs = attr && attr->block_size ? attr->block_size
                                         : SB_DEFAULT_BSIZE;
    if (bs > SB_MAX_BSIZE)
        bs = SB_MAX_BSIZE;
    size_t b = SB_MIN_BSIZE;
    unsigned shift = 12;
    while (b < bs)
        b <<= 1, shift++;
    sb_ctl init = {.hdr = (void *)header_init, .hdr_type = header_type,
                .cap = attr ? attr->capacity : 0, .bsize = b,
                .bshift = shift, .data_want = UINT64_MAX};
    mc_heap *h;
    int rc = mc_heap_create(pool, &ctl_type, &init, &h);
    if (rc)
        return rc;
    *buf = SB_BUF(h);
    return 0;
}

int mc_sbuffer_destroy(mc_sbuffer *buf)
{
    return mc_heap_destroy(SB_HEAP(buf));
}

/* ---------------------------------------------------------- mutations */

static uint64_t count_blocks(char **t)
{
    uint64_t n = 0;
    for (size_t i = 0; t && i < sb_nslots(t); i++)
        n += t[i] != NULL;
    return n;
}

/* A mutation: the heap's lock, and whether its last holder died. */
typedef struct mu {
    mc_mut *mut;
    sb_ctl *c;
    int owner_dead;
} mu;

static void wake_all(sb_ctl *c)
{
    __atomic_fetch_add(&c->data_seq, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&c->space_seq, 1, __ATOMIC_SEQ_CST);
    mc__futex_wake(&c->data_seq, INT32_MAX);
    mc__futex_wake(&c->space_seq, INT32_MAX);
}

static int lock(mc_sbuffer *buf, mu *m, const char *fn)
{
    if (!buf)
        return mc__err(MC_EINVAL, "%s: NULL buffer", fn);
    int rc = mc_heap_begin(SB_HEAP(buf), &m->mut);
    if (rc && rc != MC_EOWNERDEAD)
        return mc__err_in(rc, fn);
    m->owner_dead = rc == MC_EOWNERDEAD;
    m->c = mc_heap_mut_root(m->mut);
    if (m->owner_dead) {
        wake_all(m->c); /* the dead holder may have committed unsignalled */
        m->c->nblocks = count_blocks(m->c->tab);
    }
    return 0;
}

/* Commit, and return rc, or MC_EOWNERDEAD for a success after a death. */
static int unlock(mu *m, int rc)
{
    mc_heap_commit(m->mut);
    return rc == 0 && m->owner_dead ? MC_EOWNERDEAD : rc;
}

/* Publish a larger table for a window of `need` blocks from block
 * kfirst, whose blocks [kfirst, klive) are live: those at their new slots,
 * the old table's spares in free slots, then one store of sb_ctl->tab. */
static int grow_table(mc_mut *mut, sb_ctl *c, uint64_t kfirst, uint64_t klive,
                      uint64_t need)
{
    char **old = c->tab;
    size_t on = old ? sb_nslots(old) : 0;
    size_t n = on ? on : SB_MIN_SLOTS;
    while (n < need) {
        if (n > ((size_t)1 << 40) / sizeof(char *))
            return mc__err(MC_ENOMEM, "mc_sbuffer_append: table too large");
        n *= 2;
    }
    char **t;
    /* may collect: old is reachable from the root meanwhile */
    int rc = mc_heap_alloc(mut, &slot_type, n, (void **)&t);
    if (rc)
        return mc__err_in(rc, "mc_sbuffer_append");
    for (uint64_t k = kfirst; k < klive; k++)
        t[k & (n - 1)] = old[k & (on - 1)];
    size_t j = 0;
    for (size_t i = 0; i < on; i++) {
        /* slot i is live if it is within klive - kfirst slots of
         * kfirst's */
        if (!old[i] || ((i - kfirst) & (on - 1)) < klive - kfirst)
            continue;
        while (j < n && t[j])
            j++;
        if (j == n)
            break;
        t[j++] = old[i];
    }
    /* the table is complete before it is published */
    __atomic_store_n(&c->tab, t, __ATOMIC_RELEASE);
    c->nblocks = count_blocks(t);
    return 0;
}

/* A spare for block k, which has none in its own slot: the nearest one
 * behind the window (the most recently deleted blocks), taken out of its
 * slot; NULL if the hint says there is none, or none is unpinned.  The
 * slot is cleared before the block is stored anywhere else: a crash
 * between leaves it unreachable (garbage), never in two slots. */
static char *take_spare(sb_ctl *c, char **t, uint64_t kfirst, uint64_t k)
{
    size_t n = sb_nslots(t);
    if (c->nblocks <= k - kfirst) /* every block is in [kfirst, k) */
        return NULL;
    for (uint64_t i = 1; i <= n - (k + 1 - kfirst); i++) {
        char **slot = &t[(kfirst - i) & (n - 1)];
        char *b = *slot;
        if (b && !__atomic_load_n(SB_PINS(b), __ATOMIC_SEQ_CST)) {
            __atomic_store_n(slot, NULL, __ATOMIC_RELEASE);
            return b;
        }
    }
    return NULL;
}

/* Make every block of [end, end + len) present, then copy data in and
 * publish it with one store of end. */
static int do_append(mc_mut *mut, sb_ctl *c, const void *data, size_t len)
{
    uint64_t start = __atomic_load_n(&c->start, __ATOMIC_SEQ_CST);
    uint64_t end = c->end;
    uint32_t sh = c->bshift;
    uint64_t bs = c->bsize;
    uint64_t kfirst = start >> sh;
    uint64_t klive = (end + bs - 1) >> sh;           /* W = [kfirst, klive) */
    uint64_t knew = (end + len + bs - 1) >> sh;      /* the new W's end */
    if (!c->tab || knew - kfirst > sb_nslots(c->tab)) {
        int rc = grow_table(mut, c, kfirst, klive, knew - kfirst);
        if (rc)
            return rc;
    }
    char **t = c->tab;
    size_t mask = sb_nslots(t) - 1;
    for (uint64_t k = klive; k < knew; k++) {
        char **slot = &t[k & mask];
        /* a spare is reused in place unless an access pinned it (the
         * pinner checks start after pinning: see the top of the file);
         * a pinned one is dropped (garbage, kept by the pinner's reader
         * slot) for another spare or a new block */
        if (*slot && !__atomic_load_n(SB_PINS(*slot), __ATOMIC_SEQ_CST))
            continue;
        if (*slot) {
            __atomic_store_n(slot, NULL, __ATOMIC_RELEASE);
            c->nblocks--;
        }
        char *b = take_spare(c, t, kfirst, k);
        if (!b) {
            int rc = mc_heap_alloc(mut, &mc_type_bytes, SB_BHDR + bs,
                                   (void **)&b);
            if (rc)
                return mc__err_in(rc, "mc_sbuffer_append");
            c->nblocks++;
        }
        __atomic_store_n(slot, b, __ATOMIC_RELEASE);
    }
    /* pairs with the readers' acquire fence: a reader that sees a byte
     * written below into a spare sees the start that freed it */
    atomic_thread_fence(memory_order_release);
    const char *src = data;
    for (uint64_t p = end; p < end + len;) {
        uint64_t off = p & (bs - 1);
        size_t n = bs - off;
        if (n > end + len - p)
            n = end + len - p;
        memcpy(SB_DATA(t[(p >> sh) & mask]) + off, src, n);
        src += n;
        p += n;
    }
    __atomic_store_n(&c->end, end + len, __ATOMIC_SEQ_CST);
    /* wake the sleepers only if one of them waits for an end we reached
     * (data_want; they then all look again and say again what they wait
     * for): a consumer that waits for a chunk is woken once per chunk,
     * not once per append, which on one CPU would cost two context
     * switches an append.  The reset comes before the bump of data_seq:
     * a waiter says what it wants after it read data_seq, so one whose
     * want the reset erased read the old data_seq, and its sleep returns
     * at once (sbuffer_read.c, mc_sbuffer_wait). */
    int wake = __atomic_load_n(&c->data_waiters, __ATOMIC_SEQ_CST) &&
               __atomic_load_n(&c->data_want, __ATOMIC_SEQ_CST) <= end + len;
    if (wake)
        __atomic_store_n(&c->data_want, UINT64_MAX, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&c->data_seq, 1, __ATOMIC_SEQ_CST);
    if (wake)
        mc__futex_wake(&c->data_seq, INT32_MAX);
    return 0;
}

/* Poll (os/spin.h: adaptive, yielding) until *word differs from val;
 * 1 if it did (no need to sleep).  One control per thread: a thread waits
 * on one thing at a time. */
static _Thread_local mc__spin_ctl poll_ctl;

int mc__sb_poll(const uint32_t *word, uint32_t val)
{
    uint64_t budget = mc__spin_budget(&poll_ctl, SB_POLL_NS);
    if (!budget)
        return 0;
    uint64_t t0 = mc__now_ns();
    int paid = 0;
    while (mc__now_ns() - t0 < budget) {
        if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != val) {
            paid = 1;
            break;
        }
        if (mc__spin_yield_lost())
            break;
    }
    mc__spin_note(&poll_ctl, paid);
    return paid;
}

int mc__sb_sleep(uint32_t *word, uint32_t val, const struct timespec *dl)
{
    struct timespec now, until;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (dl && (now.tv_sec > dl->tv_sec ||
               (now.tv_sec == dl->tv_sec && now.tv_nsec >= dl->tv_nsec)))
        return MC_ETIMEDOUT;
    until = now;
    until.tv_nsec += SB_SLICE_NS;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    if (dl && (dl->tv_sec < until.tv_sec ||
               (dl->tv_sec == until.tv_sec && dl->tv_nsec < until.tv_nsec)))
        until = *dl;
    if (mc__futex_wait(word, val, &until) == ETIMEDOUT)
        return mc__alive_check("mc_sbuffer"); /* the master's: alive.h */
    return 0;
}

int mc_sbuffer_append_timed(mc_sbuffer *buf, const void *data, size_t len,
                            int timeout_ms)
{
    static const char fn[] = "mc_sbuffer_append";
    if (!data && len)
        return mc__err(MC_EINVAL, "%s: NULL data", fn);
    struct timespec dl = mc__deadline_ms(timeout_ms > 0 ? timeout_ms : 0);
    int dead = 0;
    for (;;) {
        mu m;
        int rc = lock(buf, &m, fn);
        if (rc)
            return rc;
        dead |= m.owner_dead;
        sb_ctl *c = m.c;
        if (c->closed)
            return unlock(&m, mc__err(MC_ECLOSED, "%s: the buffer is closed",
                                      fn));
        if (c->end + len < c->end)
            return unlock(&m, mc__err(MC_EINVAL, "%s: end + %zu passes "
                                      "2^64", fn, len));
        /* space_seq before start: a delete after this load changes it,
         * so that the sleep below cannot miss that delete's wake-up */
        uint32_t seq = __atomic_load_n(&c->space_seq, __ATOMIC_SEQ_CST);
        if (c->cap && len > c->cap)
            return unlock(&m, mc__err(MC_E2BIG, "%s: %zu bytes, capacity "
                                      "%llu", fn, len,
                                      (unsigned long long)c->cap));
        uint64_t start = __atomic_load_n(&c->start, __ATOMIC_SEQ_CST);
        if (!c->cap || c->end + len - start <= c->cap) {
            rc = len ? do_append(m.mut, c, data, len) : 0;
            m.owner_dead |= dead;
            return unlock(&m, rc);
        }
        if (timeout_ms == 0)
            return unlock(&m, mc__err(MC_EAGAIN, "%s: the buffer is full",
                                      fn));
        /* full: wait until a delete_hd bumps space_seq: poll, then count
         * ourselves as a sleeper (so that deletes wake us), look again,
         * sleep */
        mc_heap_commit(m.mut);
        if (mc__sb_poll(&c->space_seq, seq))
            continue;
        __atomic_fetch_add(&c->space_waiters, 1, __ATOMIC_SEQ_CST);
        rc = 0;
        if (__atomic_load_n(&c->space_seq, __ATOMIC_SEQ_CST) == seq)
            rc = mc__sb_sleep(&c->space_seq, seq, timeout_ms > 0 ? &dl : NULL);
        __atomic_fetch_sub(&c->space_waiters, 1, __ATOMIC_SEQ_CST);
        if (rc == MC_ELOST)
            return rc;
        if (rc)
            return mc__err(MC_ETIMEDOUT, "%s: no room within %d ms", fn,
                           timeout_ms);
    }
}

int mc_sbuffer_append(mc_sbuffer *buf, const void *data, size_t len)
{
    return mc_sbuffer_append_timed(buf, data, len, -1);
}

/* Deletes take no lock: moving start is one compare-and-swap, and start
 * only grows, so an appender that read it earlier under the lock counts
 * fewer free bytes and fewer spares than there are (never more).  A
 * consumer that deletes thus never waits for an append's copy. */
static int delete_n(mc_sbuffer *buf, uint64_t n, int all, const char *fn)
{
    sb_ctl *c = (sb_ctl *)sb_ctl_of(buf);
    if (!c)
        return mc__err(MC_EINVAL, "%s: NULL or destroyed buffer", fn);
    uint64_t s = __atomic_load_n(&c->start, __ATOMIC_SEQ_CST), to;
    do {
        uint64_t e = __atomic_load_n(&c->end, __ATOMIC_SEQ_CST);
        if (all)
            n = e - s;
        if (n > e - s)
            return mc__err(MC_EINVAL, "%s: %llu bytes, the buffer holds "
                           "%llu", fn, (unsigned long long)n,
                           (unsigned long long)(e - s));
        if (!n)
            return 0;
        to = s + n;
    } while (!__atomic_compare_exchange_n(&c->start, &s, to, 0,
                                          __ATOMIC_SEQ_CST,
                                          __ATOMIC_SEQ_CST));
    __atomic_fetch_add(&c->space_seq, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&c->space_waiters, __ATOMIC_SEQ_CST))
        mc__futex_wake(&c->space_seq, INT32_MAX);
    return 0;
}

int mc_sbuffer_delete_hd(mc_sbuffer *buf, uint64_t n)
{
    return delete_n(buf, n, 0, "mc_sbuffer_delete_hd");
}

int mc_sbuffer_clear(mc_sbuffer *buf)
{
    return delete_n(buf, 0, 1, "mc_sbuffer_clear");
}

int mc_sbuffer_close(mc_sbuffer *buf)
{
    mu m;
    int rc = lock(buf, &m, "mc_sbuffer_close");
    if (rc)
        return rc;
    __atomic_store_n(&m.c->closed, 1, __ATOMIC_SEQ_CST);
    wake_all(m.c);
    return unlock(&m, 0);
}

/* ------------------------------------------------------------- header */

const mc_type *mc_sbuffer_header_type(mc_sbuffer *buf)
{
    const sb_ctl *c = sb_ctl_of(buf);
    return c ? c->hdr_type : NULL;
}

const void *mc_sbuffer_header_ro(mc_sbuffer *buf)
{
    const sb_ctl *c = sb_ctl_of(buf);
    return c ? __atomic_load_n(&c->hdr, __ATOMIC_ACQUIRE) : NULL;
}

struct hdr_ctx {
    int (*fn)(const void *header, void *ctx);
    void *ctx;
    void **copy;
};

static int hdr_read(const void *root, void *ctx)
{
    const sb_ctl *c = root;
    struct hdr_ctx *h = ctx;
    const void *v = __atomic_load_n(&c->hdr, __ATOMIC_ACQUIRE);
    if (h->copy)
        return mc__local_copy_heap(c->hdr_type, v, h->copy);
    return h->fn(v, h->ctx);
}

static int hdr_check(mc_sbuffer *buf, const void *arg, const char *fn)
{
    if (!buf || !arg)
        return mc__err(MC_EINVAL, "%s: NULL argument", fn);
    const sb_ctl *c = sb_ctl_of(buf);
    if (!c)
        return mc__err(MC_EINVAL, "%s: destroyed buffer", fn);
    if (!c->hdr_type)
        return mc__err(MC_EINVAL, "%s: the buffer has no header", fn);
    return 0;
}

int mc_sbuffer_header_c(mc_sbuffer *buf, void **copy)
{
    int rc = hdr_check(buf, copy, "mc_sbuffer_header_c");
    if (rc)
        return rc;
    struct hdr_ctx h = {NULL, NULL, copy};
    return mc_heap_root_p(SB_HEAP(buf), hdr_read, &h);
}

int mc_sbuffer_header_p(mc_sbuffer *buf,
                        int (*fn)(const void *header, void *ctx), void *ctx)
{
    int rc = hdr_check(buf, (const void *)fn, "mc_sbuffer_header_p");
    if (rc)
        return rc;
    struct hdr_ctx h = {fn, ctx, NULL};
    return mc_heap_root_p(SB_HEAP(buf), hdr_read, &h);
}

int mc_sbuffer_header_set(mc_sbuffer *buf, const void *value)
{
    int rc = hdr_check(buf, value, "mc_sbuffer_header_set");
    if (rc)
        return rc;
    mu m;
    if ((rc = lock(buf, &m, "mc_sbuffer_header_set")))
        return rc;
    void *copy;
    rc = mc_heap_add(m.mut, m.c->hdr_type, value, &copy);
    if (!rc)
        __atomic_store_n(&m.c->hdr, copy, __ATOMIC_RELEASE);
    return unlock(&m, rc);
}

/* ------------------------------------------------------------ descriptors */

#define SBUF_DESCR_MAGIC 0x6d63736275663031ull /* "mcsbuf01" */

int mc_sbuffer_descr_of(mc_sbuffer *buf, mc_sbuffer_descr *d)
{
    if (!buf || !d)
        return mc__err(MC_EINVAL, "mc_sbuffer_descr_of: NULL argument");
    mc__heap_ref ref;
    int rc = mc__heap_ref_of(SB_HEAP(buf), &ref);
    if (rc)
        return mc__err_in(rc, "mc_sbuffer_descr_of");
    const sb_ctl *c = sb_ctl_of(buf);
    *d = (mc_sbuffer_descr){.magic = SBUF_DESCR_MAGIC,
                            .type_id = c->hdr_type ? c->hdr_type->id : 0,
                            .pool = ref.pool, .offset = ref.offset,
                            .gen = ref.gen};
    return 0;
}

int mc_sbuffer_of_descr(const mc_sbuffer_descr *d,
                        const mc_type *header_type, mc_sbuffer **buf)
{
    static const char fn[] = "mc_sbuffer_of_descr";
    if (!d || !buf)
        return mc__err(MC_EINVAL, "%s: NULL argument", fn);
    if (d->magic != SBUF_DESCR_MAGIC)
        return mc__err(MC_EINVAL, "%s: not an sbuffer descriptor", fn);
    mc_heap *h;
    mc__heap_ref ref = {d->pool, d->offset, d->gen};
    int held;
    int rc = mc__heap_of_ref(&ref, &ctl_type, &h, &held, fn);
    if (rc)
        return rc;
    const sb_ctl *c = mc_heap_root_ro(h);
    uint64_t want = header_type ? header_type->id : 0;
    uint64_t have = c->hdr_type ? c->hdr_type->id : 0;
    if (d->type_id != want || have != want)
        return mc__heap_ref_refuse(
            d->pool, held,
            mc__err(MC_ETYPE, "%s: the buffer's header is %s (id %016llx), "
                    "not %s (id %016llx)", fn,
                    c->hdr_type ? c->hdr_type->name : "none",
                    (unsigned long long)have,
                    header_type ? header_type->name : "none",
                    (unsigned long long)want));
    *buf = SB_BUF(h);
    return 0;
}

/* ------------------------------------------- mcadmin stat (proc/stat.h) */

const mc_type *const mc__sbuffer_stat_type = &ctl_type;

int mc__sbuffer_peek(const void *root, const char *hi, uint64_t *length,
                     uint64_t *capacity, int *closed)
{
    const sb_ctl *c = root;
    if ((uintptr_t)hi - (uintptr_t)root < sizeof *c)
        return -1;
    uint64_t start = __atomic_load_n(&c->start, __ATOMIC_RELAXED);
    uint64_t end = __atomic_load_n(&c->end, __ATOMIC_RELAXED);
    *length = end > start ? end - start : 0;
    *capacity = __atomic_load_n(&c->cap, __ATOMIC_RELAXED);
    *closed = __atomic_load_n(&c->closed, __ATOMIC_RELAXED) != 0;
    return 0;
}
