/* sbuffer_read.c: the lock-free side of shared byte buffers (see
 * mcore/sbuffer.h): blit, sub, access, waiting for a position, and the
 * accessors.  The protocol that keeps readers right while appends reuse
 * blocks (validation after a copy, pins during an access) is explained at
 * the top of sbuffer.c. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "data/sbuffer_internal.h"
#include "os/spin.h"

/* ------------------------------------------------------------ readers */

typedef struct rd {
    uint64_t pos;
    size_t len;
    char *dst;
    int (*fn)(const void *data, size_t n, uint64_t at, void *ctx);
    void *ctx;
    const char *name;
} rd;

/* [pos, pos + len) within [start, end) as seen now: 0 or MC_EINVAL. */
static int in_range(const sb_ctl *c, const rd *r)
{
    uint64_t s = __atomic_load_n(&c->start, __ATOMIC_SEQ_CST);
    uint64_t e = sb_ld(&c->end);
    if (r->pos < s || r->pos > e || r->len > e - r->pos)
        return mc__err(MC_EINVAL, "%s: [%llu, +%zu) is not within the "
                       "buffer's [%llu, %llu)", r->name,
                       (unsigned long long)r->pos, r->len,
                       (unsigned long long)s, (unsigned long long)e);
    return 0;
}

static int blit_fn(const void *root, void *ctx)
{
    const sb_ctl *c = root;
    rd *r = ctx;
    int rc = in_range(c, r);
    if (rc || !r->len)
        return rc;
    char **t = __atomic_load_n(&c->tab, __ATOMIC_ACQUIRE);
    size_t mask = sb_nslots(t) - 1;
    uint64_t bs = c->bsize;
    char *dst = r->dst;
    int taken = 0;
    for (uint64_t p = r->pos, e = r->pos + r->len; p < e;) {
        uint64_t off = p & (bs - 1);
        size_t n = bs - off;
        if (n > e - p)
            n = e - p;
        const char *b = __atomic_load_n(&t[(p >> c->bshift) & mask],
                                        __ATOMIC_ACQUIRE);
        if (!b) { /* taken as a spare: start has passed p */
            taken = 1;
            break;
        }
        memcpy(dst, SB_DATA(b) + off, n);
        dst += n;
        p += n;
    }
    /* validation: if start has not passed pos, no block we read was
     * reused (see the top of the file) */
    atomic_thread_fence(memory_order_acquire);
    if (taken || __atomic_load_n(&c->start, __ATOMIC_RELAXED) > r->pos)
        return mc__err(MC_EINVAL, "%s: a delete_hd removed the bytes at "
                       "%llu during the copy", r->name,
                       (unsigned long long)r->pos);
    return 0;
}

int mc_sbuffer_blit(mc_sbuffer *buf, uint64_t pos, void *dst, size_t len)
{
    if (!buf || (!dst && len))
        return mc__err(MC_EINVAL, "mc_sbuffer_blit: NULL argument");
    rd r = {.pos = pos, .len = len, .dst = dst, .name = "mc_sbuffer_blit"};
    return mc_heap_root_p(SB_HEAP(buf), blit_fn, &r);
}

int mc_sbuffer_sub(mc_sbuffer *buf, uint64_t pos, size_t len, void **out)
{
    if (!buf || !out)
        return mc__err(MC_EINVAL, "mc_sbuffer_sub: NULL argument");
    /* a length beyond the buffer's is refused before it is allocated */
    if (len > mc_sbuffer_length(buf))
        return mc__err(MC_EINVAL, "mc_sbuffer_sub: %zu bytes, the buffer "
                       "holds %llu", len,
                       (unsigned long long)mc_sbuffer_length(buf));
    char *p = malloc(len ? len : 1);
    if (!p)
        return mc__err(MC_ENOMEM, "mc_sbuffer_sub: %zu bytes", len);
    rd r = {.pos = pos, .len = len, .dst = p, .name = "mc_sbuffer_sub"};
    int rc = mc_heap_root_p(SB_HEAP(buf), blit_fn, &r);
    if (rc) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* Pin every block of the range, then check start again: a slot is
 * replaced, or its block reused, only after start passes it, so if start
 * has not passed pos, every pointer loaded is the block of its position
 * and stays so until unpinned.  (Loaded lazily during the walk, a slot
 * could already hold the block of a later position.) */
#define SB_SNAP 64

static int access_walk(sb_ctl *c, rd *r, char **blk, size_t nb)
{
    char **t = __atomic_load_n(&c->tab, __ATOMIC_ACQUIRE);
    size_t mask = sb_nslots(t) - 1;
    uint64_t k0 = r->pos >> c->bshift;
    int gone = 0;
    for (size_t i = 0; i < nb; i++) {
        blk[i] = __atomic_load_n(&t[(k0 + i) & mask], __ATOMIC_ACQUIRE);
        if (blk[i]) /* NULL: taken as a spare, start has passed it */
            __atomic_fetch_add(SB_PINS(blk[i]), 1, __ATOMIC_SEQ_CST);
        else
            gone = 1;
    }
    int rc = 0;
    if (gone || __atomic_load_n(&c->start, __ATOMIC_SEQ_CST) > r->pos)
        rc = mc__err(MC_EINVAL, "%s: a delete_hd removed the bytes at %llu",
                     r->name, (unsigned long long)r->pos);
    uint64_t bs = c->bsize;
    for (uint64_t p = r->pos, e = r->pos + r->len; p < e && !rc;) {
        uint64_t off = p & (bs - 1);
        size_t n = bs - off;
        if (n > e - p)
            n = e - p;
        rc = r->fn(SB_DATA(blk[(p >> c->bshift) - k0]) + off, n, p, r->ctx);
        p += n;
    }
    for (size_t i = 0; i < nb; i++)
        if (blk[i])
            __atomic_fetch_sub(SB_PINS(blk[i]), 1, __ATOMIC_SEQ_CST);
    return rc;
}

static int access_fn(const void *root, void *ctx)
{
    sb_ctl *c = (sb_ctl *)root;
    rd *r = ctx;
    int rc = in_range(c, r);
    if (rc || !r->len)
        return rc;
    size_t nb = (size_t)(((r->pos + r->len - 1) >> c->bshift) -
                         (r->pos >> c->bshift) + 1);
    char *small[SB_SNAP];
    char **blk = nb <= SB_SNAP ? small : malloc(nb * sizeof *blk);
    if (!blk)
        return mc__err(MC_ENOMEM, "%s: %zu block pointers", r->name, nb);
    rc = access_walk(c, r, blk, nb);
    if (blk != small)
        free(blk);
    return rc;
}

int mc_sbuffer_access(mc_sbuffer *buf, uint64_t pos, size_t len,
                      int (*fn)(const void *data, size_t n, uint64_t at,
                                void *ctx),
                      void *ctx)
{
    if (!buf || !fn)
        return mc__err(MC_EINVAL, "mc_sbuffer_access: NULL argument");
    rd r = {.pos = pos, .len = len, .fn = fn, .ctx = ctx,
            .name = "mc_sbuffer_access"};
    return mc_heap_root_p(SB_HEAP(buf), access_fn, &r);
}

int mc_sbuffer_wait(mc_sbuffer *buf, uint64_t upto, int timeout_ms,
                    uint64_t *end, int *closed)
{
    sb_ctl *c = (sb_ctl *)sb_ctl_of(buf);
    if (!c)
        return mc__err(MC_EINVAL, "mc_sbuffer_wait: NULL or destroyed "
                                  "buffer");
    struct timespec dl = mc__deadline_ms(timeout_ms > 0 ? timeout_ms : 0);
    int counted = 0, polled = 0, rc = 0;
    for (;;) {
        uint32_t seq = __atomic_load_n(&c->data_seq, __ATOMIC_SEQ_CST);
        uint64_t e = __atomic_load_n(&c->end, __ATOMIC_SEQ_CST);
        int cl = (int)__atomic_load_n(&c->closed, __ATOMIC_SEQ_CST);
        if (end)
            *end = e;
        if (closed)
            *closed = cl;
        if (e >= upto || cl)
            break;
        if (timeout_ms == 0) {
            rc = mc__err(MC_EAGAIN, "mc_sbuffer_wait: end %llu < %llu",
                         (unsigned long long)e, (unsigned long long)upto);
            break;
        }
        if (!polled) {
            polled = 1;
            if (mc__sb_poll(&c->data_seq, seq))
                continue;
        }
        if (!counted) {
            /* count ourselves, then look again before sleeping: an append
             * that missed the count is seen by the next look */
            __atomic_fetch_add(&c->data_waiters, 1, __ATOMIC_SEQ_CST);
            counted = 1;
            continue;
        }
        /* say what we wait for (the lowest want wins; sbuffer.c,
         * do_append), after the load of data_seq: an append that erases
         * it afterwards (having reached it) bumps data_seq after, so the
         * sleep on seq returns at once and we say it again.  Said only
         * when about to sleep, then end looked at again: a want left by
         * a waiter that did not sleep would cost a needless wake-up */
        uint64_t w = __atomic_load_n(&c->data_want, __ATOMIC_SEQ_CST);
        while (upto < w &&
               !__atomic_compare_exchange_n(&c->data_want, &w, upto, 0,
                                            __ATOMIC_SEQ_CST,
                                            __ATOMIC_SEQ_CST))
            ;
        if (__atomic_load_n(&c->end, __ATOMIC_SEQ_CST) >= upto ||
            __atomic_load_n(&c->closed, __ATOMIC_SEQ_CST))
            continue;
        if ((rc = mc__sb_sleep(&c->data_seq, seq,
                               timeout_ms > 0 ? &dl : NULL)) == MC_ELOST)
            break;
        if (rc) {
            rc = mc__err(MC_ETIMEDOUT, "mc_sbuffer_wait: end %llu < %llu "
                         "after %d ms", (unsigned long long)e,
                         (unsigned long long)upto, timeout_ms);
            break;
        }
    }
    if (counted)
        __atomic_fetch_sub(&c->data_waiters, 1, __ATOMIC_SEQ_CST);
    return rc;
}

/* ---------------------------------------------------------- accessors */

uint64_t mc_sbuffer_start(mc_sbuffer *buf)
{
    const sb_ctl *c = sb_ctl_of(buf);
    return c ? sb_ld(&c->start) : 0;
}

uint64_t mc_sbuffer_end(mc_sbuffer *buf)
{
    const sb_ctl *c = sb_ctl_of(buf);
    return c ? sb_ld(&c->end) : 0;
}

uint64_t mc_sbuffer_length(mc_sbuffer *buf)
{
    const sb_ctl *c = sb_ctl_of(buf);
    if (!c)
        return 0;
    uint64_t s = sb_ld(&c->start);
    uint64_t e = sb_ld(&c->end); /* after start: never below it */
    return e - s;
}

uint64_t mc_sbuffer_capacity(mc_sbuffer *buf)
{
    const sb_ctl *c = sb_ctl_of(buf);
    return c ? c->cap : 0;
}

int mc_sbuffer_closed(mc_sbuffer *buf)
{
    const sb_ctl *c = sb_ctl_of(buf);
    return c ? (int)__atomic_load_n(&c->closed, __ATOMIC_ACQUIRE) : 0;
}

mc_heap *mc_sbuffer_heap(mc_sbuffer *buf)
{
    return SB_HEAP(buf);
}
