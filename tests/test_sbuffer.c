/* test_sbuffer.c: shared byte buffers (mcore/sbuffer.h): a property test
 * against a local model, memory reuse, flow control (a full buffer that
 * blocks and wakes, a reader at the end of the stream), a pipeline and
 * racing readers across processes, descriptors, and kill -9 of a writer
 * inside append and delete_hd. */
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcore/sbuffer.h"
#include "mcore/sref.h"
#include "testutil.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* A header: an int and a string. */
typedef struct hdr {
    int64_t n;
    char *s;
} hdr;

static int hdr_copy(mc_copier *c, void *dst, const void *src)
{
    const hdr *s = src;
    hdr *d = dst;
    d->n = s->n;
    return mc_copy_str(c, &s->s, &d->s);
}

static void hdr_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, ((const hdr *)obj)->s);
}

static const mc_type hdr_type = {
    .name = "hdr", .id = 0x51e0a2b3c4d5e6f7ull, .size = sizeof(hdr),
    .align = _Alignof(hdr), .copy = hdr_copy, .trace = hdr_trace,
};

static const mc_type other_type = {
    .name = "other", .id = 0x51e0a2b3c4d5e6f8ull, .size = sizeof(hdr),
    .align = _Alignof(hdr), .copy = hdr_copy, .trace = hdr_trace,
};

/* test_NAME: a session whose first process runs drv_NAME (checks in a
 * worker, leak checks around it). */
#define DRIVER_TEST(name)                                                   \
    static void test_##name(void **state)                                   \
    {                                                                       \
        (void)state;                                                        \
        tu_begin();                                                         \
        tu_drive(NULL, drv_##name, NULL, 0);                                \
        tu_end();                                                           \
    }

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* The byte every stream of these tests holds at position p: a function of
 * the position with a prime period (not a multiple of any block size, so
 * that bytes of another position show), read from a table so that a
 * writer can append a range without computing it: a torn or misplaced
 * append shows. */
#define PERIOD 65521u
#define PAT_MAX (256 * KiB)
static uint8_t pat[PERIOD + PAT_MAX];

static inline uint8_t at(uint64_t p)
{
    return pat[p % PERIOD];
}

/* The n <= PAT_MAX bytes from position p, in place. */
static const uint8_t *pat_at(uint64_t p)
{
    return pat + p % PERIOD;
}

static void pat_init(void)
{
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i < PERIOD; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pat[i] = (uint8_t)(x >> 24);
    }
    for (size_t i = PERIOD; i < sizeof pat; i++)
        pat[i] = pat[i - PERIOD];
}

static void fill_at(uint8_t *b, uint64_t p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b[i] = at(p + i);
}

/* Index of the first byte of b (from position p) that is wrong, or n. */
static size_t check_at(const uint8_t *b, uint64_t p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != at(p + i))
            return i;
    return n;
}

static int access_check(const void *data, size_t n, uint64_t p, void *ctx)
{
    uint64_t *next = ctx;
    if (p != *next || check_at(data, p, n) != n)
        return 1;
    *next = p + n;
    return 0;
}

static int pool_and_buf(size_t pool, uint64_t cap, size_t bsize,
                        mc_pool **p, mc_sbuffer **b)
{
    char s[] = "header 1";
    hdr h = {1, s};
    mc_sbuffer_attr a = {cap, bsize};
    if (W_RC(mc_pool_create(pool, p), 0) ||
        W_RC(mc_sbuffer_create(*p, &hdr_type, &h, &a, b), 0))
        return -1;
    return 0;
}

/* ------------------------------------------------------------- basics */

static int hdr_seen(const void *v, void *ctx)
{
    *(int64_t *)ctx = ((const hdr *)v)->n;
    return 7;
}

static int stop_at_once(const void *d, size_t n, uint64_t p, void *ctx)
{
    (void)d; (void)n; (void)p; (void)ctx;
    return 42;
}

static void drv_basics(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_sbuffer *b;
    if (pool_and_buf(16 * MiB, 10000, 4096, &p, &b))
        return;
    W_CHECK(mc_sbuffer_start(b) == 0 && mc_sbuffer_length(b) == 0 &&
                mc_sbuffer_capacity(b) == 10000 && !mc_sbuffer_closed(b),
            "a new buffer");
    uint8_t in[10000], out[10000];
    fill_at(in, 0, sizeof in);
    W_RC(mc_sbuffer_append(b, in, 6000), 0);
    W_RC(mc_sbuffer_append(b, in + 6000, 0), 0);
    W_RC(mc_sbuffer_append(b, NULL, 0), 0);
    W_RC(mc_sbuffer_append(b, NULL, 1), MC_EINVAL);
    W_RC(mc_sbuffer_append(b, in, 10001), MC_E2BIG);
    W_RC(mc_sbuffer_append_timed(b, in + 6000, 4001, 0), MC_EAGAIN);
    W_RC(mc_sbuffer_append_timed(b, in + 6000, 4000, 0), 0);
    W_CHECK(mc_sbuffer_end(b) == 10000, "end %llu",
            (unsigned long long)mc_sbuffer_end(b));
    W_RC(mc_sbuffer_blit(b, 0, out, 10000), 0);
    W_CHECK(memcmp(in, out, 10000) == 0, "blit of everything");
    /* out of range: refused, nothing written to dst */
    memset(out, 0xee, sizeof out);
    W_RC(mc_sbuffer_blit(b, 9999, out, 2), MC_EINVAL);
    W_RC(mc_sbuffer_blit(b, 10001, out, 0), MC_EINVAL);
    W_RC(mc_sbuffer_blit(b, UINT64_MAX, out, 2), MC_EINVAL);
    W_RC(mc_sbuffer_blit(b, 5, out, SIZE_MAX), MC_EINVAL);
    W_CHECK(out[0] == 0xee && out[1] == 0xee, "a refused blit wrote");
    W_RC(mc_sbuffer_blit(b, 10000, out, 0), 0);
    void *s;
    W_RC(mc_sbuffer_sub(b, 4000, 100, &s), 0);
    W_CHECK(check_at(s, 4000, 100) == 100, "sub");
    free(s);
    s = NULL;
    W_RC(mc_sbuffer_sub(b, 4000, 6001, &s), MC_EINVAL);
    W_RC(mc_sbuffer_sub(b, 4000, SIZE_MAX, &s), MC_EINVAL);
    W_CHECK(s == NULL, "a refused sub sets nothing");
    uint64_t next = 3000;
    W_RC(mc_sbuffer_access(b, 3000, 7000, access_check, &next), 0);
    W_CHECK(next == 10000, "access walked to %llu",
            (unsigned long long)next);
    W_RC(mc_sbuffer_access(b, 0, 10, stop_at_once, NULL), 42);
    W_RC(mc_sbuffer_access(b, 1, 10000, stop_at_once, NULL), MC_EINVAL);
    /* delete from the front: positions are eternal */
    W_RC(mc_sbuffer_delete_hd(b, 10001), MC_EINVAL);
    W_RC(mc_sbuffer_delete_hd(b, 4500), 0);
    W_CHECK(mc_sbuffer_start(b) == 4500 && mc_sbuffer_length(b) == 5500,
            "after delete_hd");
    W_RC(mc_sbuffer_blit(b, 4499, out, 1), MC_EINVAL);
    W_RC(mc_sbuffer_blit(b, 4500, out, 5500), 0);
    W_CHECK(check_at(out, 4500, 5500) == 5500, "the rest");
    W_RC(mc_sbuffer_clear(b), 0);
    W_CHECK(mc_sbuffer_start(b) == 10000 && mc_sbuffer_length(b) == 0,
            "after clear");
    fill_at(in, 10000, 10000);
    W_RC(mc_sbuffer_append(b, in, 10000), 0);
    W_RC(mc_sbuffer_blit(b, 10000, out, 10000), 0);
    W_CHECK(memcmp(in, out, 10000) == 0, "after clear, appended again");
    /* the header */
    W_CHECK(mc_sbuffer_header_type(b) == &hdr_type, "header type");
    const hdr *ro = mc_sbuffer_header_ro(b);
    W_CHECK(ro && ro->n == 1 && strcmp(ro->s, "header 1") == 0, "header");
    char s2[] = "header 2";
    hdr h2 = {2, s2};
    W_RC(mc_sbuffer_header_set(b, &h2), 0);
    hdr *hc;
    if (!W_RC(mc_sbuffer_header_c(b, (void **)&hc), 0)) {
        W_CHECK(hc->n == 2 && strcmp(hc->s, "header 2") == 0, "header_c");
        mc_local_free(hc);
    }
    int64_t seen = 0;
    W_RC(mc_sbuffer_header_p(b, hdr_seen, &seen), 7);
    W_CHECK(seen == 2, "header_p");
    W_RC(mc_sbuffer_header_set(b, NULL), MC_EINVAL);
    /* close: the end of the stream */
    W_RC(mc_sbuffer_close(b), 0);
    W_RC(mc_sbuffer_close(b), 0);
    W_CHECK(mc_sbuffer_closed(b), "closed");
    W_RC(mc_sbuffer_append(b, in, 1), MC_ECLOSED);
    uint64_t end;
    int closed;
    W_RC(mc_sbuffer_wait(b, 30000, -1, &end, &closed), 0);
    W_CHECK(closed && end == 20000, "wait at the end of a closed stream");
    W_RC(mc_sbuffer_delete_hd(b, 100), 0); /* still deletable */
    W_RC(mc_sbuffer_destroy(b), 0);
    /* destroyed: refused */
    W_RC(mc_sbuffer_destroy(b), MC_EINVAL);
    W_RC(mc_sbuffer_append(b, in, 1), MC_EINVAL);
    W_RC(mc_sbuffer_blit(b, 0, out, 0), MC_EINVAL);
    W_RC(mc_sbuffer_wait(b, 0, 0, NULL, NULL), MC_EINVAL);
    W_CHECK(mc_sbuffer_header_ro(b) == NULL && mc_sbuffer_end(b) == 0,
            "accessors after destroy");
    /* no header */
    mc_sbuffer *nb;
    W_RC(mc_sbuffer_create(p, &hdr_type, NULL, NULL, &nb), MC_EINVAL);
    if (!W_RC(mc_sbuffer_create(p, NULL, NULL, NULL, &nb), 0)) {
        void *c;
        W_RC(mc_sbuffer_header_c(nb, &c), MC_EINVAL);
        W_CHECK(mc_sbuffer_header_ro(nb) == NULL, "no header");
        W_RC(mc_sbuffer_append(nb, in, 10000), 0);
        W_RC(mc_sbuffer_destroy(nb), 0);
    }
}

DRIVER_TEST(basics)

/* ----------------------------------------- property test against a model */

typedef struct mctx {
    const uint8_t *model;
    uint64_t next;
} mctx;

static int access_model(const void *d, size_t n, uint64_t p, void *ctx)
{
    mctx *c = ctx;
    if (p != c->next || memcmp(d, c->model + p, n) != 0)
        return 1;
    c->next = p + n;
    return 0;
}

/* The model: the bytes of [mstart, mend) in a local array (it holds every
 * byte ever appended, from position 0). */
static void model_round(uint64_t seed, size_t bsize, uint64_t cap, int ops)
{
    mc_pool *p;
    mc_sbuffer *b;
    if (pool_and_buf(64 * MiB, cap, bsize, &p, &b))
        return;
    size_t mcap = 64 * MiB;
    uint8_t *model = malloc(mcap), *tmp = malloc(256 * KiB);
    uint64_t ms = 0, me = 0, x = seed;
    for (int i = 0; i < ops && !tu_w_failed(); i++) {
        unsigned op = (unsigned)(rnd(&x) % 100);
        size_t n = (size_t)(rnd(&x) % (rnd(&x) % 4 ? 3 * bsize : 64));
        if (op < 40) { /* append random bytes */
            if (me + n > mcap)
                break;
            for (size_t j = 0; j < n; j++)
                tmp[j] = (uint8_t)rnd(&x);
            int rc = mc_sbuffer_append_timed(b, tmp, n, 0);
            int fits = !cap || me + n - ms <= cap;
            if (cap && n > cap)
                W_CHECK(rc == MC_E2BIG, "append %zu: %s", n,
                        tu_code_name(rc));
            else if (fits && !W_RC(rc, 0))
                memcpy(model + me, tmp, n), me += n;
            else if (!fits)
                W_CHECK(rc == MC_EAGAIN, "append %zu to a full buffer: %s",
                        n, tu_code_name(rc));
        } else if (op < 60) { /* delete_hd, sometimes too much */
            uint64_t len = me - ms;
            uint64_t d = len ? rnd(&x) % (len + len / 8 + 1) : 1;
            W_RC(mc_sbuffer_delete_hd(b, d), d <= len ? 0 : MC_EINVAL);
            if (d <= len)
                ms += d;
        } else if (op < 62) {
            W_RC(mc_sbuffer_clear(b), 0);
            ms = me;
        } else { /* blit, sub or access of a random range, in or out */
            uint64_t lo = ms >= 100 ? ms - 100 : 0;
            uint64_t pos = lo + rnd(&x) % (me - lo + 100);
            if (n > 256 * KiB)
                n = 256 * KiB;
            int ok = pos >= ms && pos <= me && n <= me - pos;
            int kind = (int)(rnd(&x) % 3);
            if (kind == 0) {
                int rc = mc_sbuffer_blit(b, pos, tmp, n);
                W_CHECK(rc == (ok ? 0 : MC_EINVAL), "blit %llu+%zu: %s",
                        (unsigned long long)pos, n, tu_code_name(rc));
                if (ok && !rc)
                    W_CHECK(memcmp(tmp, model + pos, n) == 0,
                            "blit %llu+%zu: other bytes",
                            (unsigned long long)pos, n);
            } else if (kind == 1) {
                void *s;
                int rc = mc_sbuffer_sub(b, pos, n, &s);
                W_CHECK(rc == (ok ? 0 : MC_EINVAL), "sub: %s",
                        tu_code_name(rc));
                if (!rc) {
                    W_CHECK(memcmp(s, model + pos, n) == 0, "sub bytes");
                    free(s);
                }
            } else {
                mctx c = {model, pos};
                int rc = mc_sbuffer_access(b, pos, n, access_model, &c);
                W_CHECK(rc == (ok ? 0 : MC_EINVAL), "access %llu+%zu: %s",
                        (unsigned long long)pos, n, tu_code_name(rc));
                W_CHECK(!ok || c.next == pos + n, "access stopped early");
            }
        }
        W_CHECK(mc_sbuffer_start(b) == ms && mc_sbuffer_end(b) == me,
                "op %d: [%llu, %llu), model [%llu, %llu)", i,
                (unsigned long long)mc_sbuffer_start(b),
                (unsigned long long)mc_sbuffer_end(b),
                (unsigned long long)ms, (unsigned long long)me);
    }
    /* the whole contents, by blit and by access */
    uint8_t *all = malloc(me - ms + 1);
    if (!W_RC(mc_sbuffer_blit(b, ms, all, me - ms), 0))
        W_CHECK(memcmp(all, model + ms, me - ms) == 0, "final contents");
    free(all);
    free(model);
    free(tmp);
    W_RC(mc_sbuffer_destroy(b), 0);
    W_RC(mc_pool_release(p), 0);
}

static void drv_model(const void *arg, size_t len)
{
    (void)arg; (void)len;
    setenv("MC_DEBUG", "1", 1);
    model_round(0x1234567, 4096, 0, 4000);
    model_round(0x7654321, 4096, 50000, 4000);
    model_round(0xabcdef1, 65536, 0, 2000);
    model_round(0x5eed, 8192, 8192 * 3 + 17, 4000);
}

DRIVER_TEST(model)

/* ------------------------------------------------------- memory reuse */

/* 256 MiB through 4 MiB of capacity, 64 KiB at a time: after the first
 * rounds, the heap never grows again. */
static void drv_reuse(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_sbuffer *b;
    if (pool_and_buf(64 * MiB, 4 * MiB, 0, &p, &b))
        return;
    static uint8_t chunk[64 * KiB];
    size_t warm = 0;
    uint64_t total = 256 * MiB, pos = 0;
    while (mc_sbuffer_end(b) < total && !tu_w_failed()) {
        int rc = mc_sbuffer_append_timed(b, chunk, sizeof chunk, 0);
        if (rc == MC_EAGAIN) {
            W_RC(mc_sbuffer_delete_hd(b, 2 * MiB + 4096), 0);
            pos += 2 * MiB + 4096;
        } else if (W_RC(rc, 0)) {
            break;
        }
        mc_heap_stats st;
        W_RC(mc_heap_stats_get(mc_sbuffer_heap(b), &st), 0);
        if (mc_sbuffer_end(b) == 16 * MiB)
            warm = st.heap_bytes;
        else if (warm)
            W_CHECK(st.heap_bytes == warm, "the heap grew from %zu to %zu "
                    "bytes at %llu", warm, st.heap_bytes,
                    (unsigned long long)mc_sbuffer_end(b));
    }
    W_CHECK(warm && warm < 6 * MiB, "heap %zu bytes", warm);
    W_CHECK(mc_sbuffer_start(b) == pos, "start");
    W_RC(mc_sbuffer_destroy(b), 0);
}

DRIVER_TEST(reuse)

/* ------------------------------------------------------ pool exhaustion */

/* An unbounded buffer in a 4 MiB pool: appends fail with MC_ENOMEM and
 * leave the buffer as it was; once bytes are deleted, their blocks take
 * appends again without the pool. */
static void drv_enomem(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_sbuffer *b;
    if (pool_and_buf(4 * MiB, 0, 0, &p, &b))
        return;
    int rc = 0;
    uint64_t e = 0;
    while (!tu_w_failed() && e < 64 * MiB) {
        rc = mc_sbuffer_append(b, pat_at(e), 100 * KiB);
        if (rc)
            break;
        e += 100 * KiB;
    }
    W_CHECK(rc == MC_ENOMEM, "a full pool: %s", tu_code_name(rc));
    W_CHECK(mc_sbuffer_end(b) == e && e > MiB, "end %llu after MC_ENOMEM, "
            "%llu appended", (unsigned long long)mc_sbuffer_end(b),
            (unsigned long long)e);
    uint8_t *tmp = malloc(e);
    if (!W_RC(mc_sbuffer_blit(b, 0, tmp, e), 0))
        W_CHECK(check_at(tmp, 0, e) == e, "the bytes after MC_ENOMEM");
    free(tmp);
    W_RC(mc_sbuffer_append(b, pat_at(e), 100 * KiB), MC_ENOMEM);
    W_RC(mc_sbuffer_delete_hd(b, MiB), 0);
    W_RC(mc_sbuffer_append(b, pat_at(e), 100 * KiB), 0);
    W_RC(mc_sbuffer_destroy(b), 0);
    W_RC(mc_pool_release(p), 0);
}

DRIVER_TEST(enomem)

/* ------------------------------------------------ flow control, blocking */

static int open_descr(const void *arg, size_t len, mc_sbuffer **b)
{
    mc_sbuffer_descr d;
    if (len != sizeof d) {
        W_CHECK(0, "argument of %zu bytes", len);
        return -1;
    }
    memcpy(&d, arg, sizeof d);
    return W_RC(mc_sbuffer_of_descr(&d, &hdr_type, b), 0) ? -1 : 0;
}

/* After 300 ms, delete 100 bytes. */
static void drv_late_deleter(const void *arg, size_t len)
{
    mc_sbuffer *b;
    if (open_descr(arg, len, &b))
        return;
    tu_sleep_ms(300);
    W_RC(mc_sbuffer_delete_hd(b, 100), 0);
}

/* After 300 ms, close. */
static void drv_late_closer(const void *arg, size_t len)
{
    mc_sbuffer *b;
    if (open_descr(arg, len, &b))
        return;
    tu_sleep_ms(300);
    W_RC(mc_sbuffer_close(b), 0);
}

static void drv_full(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_sbuffer *b;
    mc_sbuffer_descr d;
    if (pool_and_buf(16 * MiB, 1000, 0, &p, &b) ||
        W_RC(mc_sbuffer_descr_of(b, &d), 0))
        return;
    uint8_t in[1000];
    fill_at(in, 0, sizeof in);
    W_RC(mc_sbuffer_append(b, in, 1000), 0);
    W_RC(mc_sbuffer_append_timed(b, in, 1, 0), MC_EAGAIN);
    int64_t t0 = tu_now_ms();
    W_RC(mc_sbuffer_append_timed(b, in, 1, 100), MC_ETIMEDOUT);
    int64_t dt = tu_now_ms() - t0;
    W_CHECK(dt >= 95 && dt < 1000, "a 100 ms timeout took %lld ms",
            (long long)dt);
    /* blocks until a worker deletes, then appends (t0 before the start:
     * the worker's 300 ms then come after it, however late it starts) */
    mc_pid w;
    t0 = tu_now_ms();
    if (W_RC(tu_start_fn(drv_late_deleter, &d, sizeof d, &w), 0))
        return;
    fill_at(in, 1000, 100);
    W_RC(mc_sbuffer_append(b, in, 100), 0);
    dt = tu_now_ms() - t0;
    W_CHECK(dt >= 290, "append returned after %lld ms, before the delete",
            (long long)dt);
    W_JOIN_OK(tu_driver_jp, w, "deleter");
    uint8_t out[1000];
    W_RC(mc_sbuffer_blit(b, 100, out, 1000), 0);
    W_CHECK(check_at(out, 100, 1000) == 1000, "contents after the wait");
    /* full again: a close wakes the blocked appender, which fails */
    t0 = tu_now_ms();
    if (W_RC(tu_start_fn(drv_late_closer, &d, sizeof d, &w), 0))
        return;
    W_RC(mc_sbuffer_append(b, in, 1), MC_ECLOSED);
    dt = tu_now_ms() - t0;
    W_CHECK(dt >= 290, "append returned after %lld ms, before the close",
            (long long)dt);
    W_JOIN_OK(tu_driver_jp, w, "closer");
    W_CHECK(mc_sbuffer_end(b) == 1100, "end %llu",
            (unsigned long long)mc_sbuffer_end(b));
    W_RC(mc_sbuffer_destroy(b), 0);
}

DRIVER_TEST(full)

/* After 200 ms append 10 bytes; after 200 ms more, close. */
static void drv_late_writer(const void *arg, size_t len)
{
    mc_sbuffer *b;
    if (open_descr(arg, len, &b))
        return;
    uint8_t in[10];
    fill_at(in, 0, 10);
    tu_sleep_ms(200);
    W_RC(mc_sbuffer_append(b, in, 10), 0);
    tu_sleep_ms(200);
    W_RC(mc_sbuffer_close(b), 0);
}

static void drv_eof(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_sbuffer *b;
    mc_sbuffer_descr d;
    if (pool_and_buf(16 * MiB, 0, 0, &p, &b) ||
        W_RC(mc_sbuffer_descr_of(b, &d), 0))
        return;
    uint64_t end = 99;
    int closed = 9;
    W_RC(mc_sbuffer_wait(b, 0, 0, &end, &closed), 0);
    W_CHECK(end == 0 && closed == 0, "wait for 0");
    W_RC(mc_sbuffer_wait(b, 1, 0, &end, &closed), MC_EAGAIN);
    W_RC(mc_sbuffer_wait(b, 1, 50, NULL, NULL), MC_ETIMEDOUT);
    mc_pid w;
    int64_t t0 = tu_now_ms();
    if (W_RC(tu_start_fn(drv_late_writer, &d, sizeof d, &w), 0))
        return;
    W_RC(mc_sbuffer_wait(b, 5, -1, &end, &closed), 0);
    W_CHECK(end == 10 && !closed, "woken by the append: end %llu",
            (unsigned long long)end);
    W_CHECK(tu_now_ms() - t0 >= 195, "woke early");
    /* a reader at the end of the stream: woken by close */
    W_RC(mc_sbuffer_wait(b, 11, 5000, &end, &closed), 0);
    W_CHECK(end == 10 && closed, "end of stream: end %llu closed %d",
            (unsigned long long)end, closed);
    W_CHECK(tu_now_ms() - t0 >= 395 && tu_now_ms() - t0 < 4000,
            "close woke the reader after %lld ms",
            (long long)(tu_now_ms() - t0));
    W_JOIN_OK(tu_driver_jp, w, "writer");
    W_RC(mc_sbuffer_destroy(b), 0);
}

DRIVER_TEST(eof)

/* Sleepers that wait for different ends (sbuffer.c: an append wakes them
 * only when it reaches the lowest, and those it did not serve sleep
 * again, saying again what they wait for): each returns once its end is
 * there, not before, and none is lost. */
static void drv_waiter(const void *arg, size_t len)
{
    struct {
        mc_sbuffer_descr d;
        uint64_t upto;
    } a;
    memcpy(&a, arg, sizeof a);
    (void)len;
    mc_sbuffer *b;
    if (W_RC(mc_sbuffer_of_descr(&a.d, &hdr_type, &b), 0))
        return;
    uint64_t end = 0;
    int closed = 1;
    W_RC(mc_sbuffer_wait(b, a.upto, 20000, &end, &closed), 0);
    W_CHECK(end >= a.upto && !closed, "waited for %llu: end %llu",
            (unsigned long long)a.upto, (unsigned long long)end);
}

static void drv_wants(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_sbuffer *b;
    struct {
        mc_sbuffer_descr d;
        uint64_t upto;
    } a;
    memset(&a, 0, sizeof a);
    if (pool_and_buf(16 * MiB, 0, 0, &p, &b) ||
        W_RC(mc_sbuffer_descr_of(b, &a.d), 0))
        return;
    enum { NW = 3 };
    const uint64_t upto[NW] = {3000, 1000, 2000};
    mc_pid w[NW];
    for (int i = 0; i < NW; i++) {
        a.upto = upto[i];
        if (W_RC(tu_start_fn(drv_waiter, &a, sizeof a, &w[i]), 0))
            return;
    }
    tu_sleep_ms(100); /* (most likely asleep by now; either way is right) */
    uint8_t in[500];
    fill_at(in, 0, sizeof in);
    for (int k = 0; k < 6; k++) { /* 500, 1000 (the second), ... */
        W_RC(mc_sbuffer_append(b, in, sizeof in), 0);
        uint64_t e = mc_sbuffer_end(b);
        for (int i = 0; i < NW; i++)
            if (upto[i] == e)
                W_JOIN_OK(tu_driver_jp, w[i], "waiter");
        tu_sleep_ms(20);
    }
    W_RC(mc_sbuffer_destroy(b), 0);
}

DRIVER_TEST(wants)

/* ----------------------------------------------- pipeline across processes */

#define PIPE_BYTES (48 * MiB)

/* Producer: appends the stream in pieces of random sizes, by each form
 * of append (blocking, timed, non-blocking retried), then closes. */
static void drv_producer(const void *arg, size_t len)
{
    mc_sbuffer *b;
    if (open_descr(arg, len, &b))
        return;
    uint64_t x = 99, pos = 0;
    while (pos < PIPE_BYTES && !tu_w_failed()) {
        size_t n = (size_t)(rnd(&x) % (40 * KiB));
        if (n > PIPE_BYTES - pos)
            n = PIPE_BYTES - pos;
        int form = (int)(rnd(&x) % 3), rc;
        if (form == 0)
            rc = mc_sbuffer_append(b, pat_at(pos), n);
        else
            while ((rc = mc_sbuffer_append_timed(b, pat_at(pos), n,
                                                 form == 1 ? 0 : 5)) ==
                       MC_EAGAIN ||
                   rc == MC_ETIMEDOUT)
                sched_yield(); /* full: try again */
        if (W_RC(rc, 0))
            break;
        pos += n;
    }
    W_RC(mc_sbuffer_close(b), 0);
}

/* A random subrange [*at, *at + *n) of [lo, hi). */
static void subrange(uint64_t *x, uint64_t lo, uint64_t hi, uint64_t *at,
                     size_t *n)
{
    *at = lo + rnd(x) % (hi - lo + 1);
    *n = (size_t)(rnd(x) % (hi - *at + 1));
}

/* Consumer (the driver), a property test across processes: waits for a
 * random amount, reads random subranges of what is there by access, blit
 * and sub, checking every byte against the stream, probes before start,
 * deletes a random part, until the end of the stream. */
static void drv_pipeline(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_sbuffer *b;
    mc_sbuffer_descr d;
    if (pool_and_buf(64 * MiB, 256 * KiB, 16 * KiB, &p, &b) ||
        W_RC(mc_sbuffer_descr_of(b, &d), 0))
        return;
    mc_pid w;
    if (W_RC(tu_start_fn(drv_producer, &d, sizeof d, &w), 0))
        return;
    uint8_t *tmp = malloc(256 * KiB);
    uint64_t x = 12345, pos = 0, end, at;
    size_t n;
    int closed;
    while (!tu_w_failed()) {
        uint64_t want = pos + 1 + rnd(&x) % (128 * KiB);
        if (W_RC(mc_sbuffer_wait(b, want, 10000, &end, &closed), 0))
            break;
        W_CHECK(end >= want || closed, "woken at %llu for %llu",
                (unsigned long long)end, (unsigned long long)want);
        if (end == pos && closed)
            break;
        for (int i = 0; i < 3; i++) {
            subrange(&x, pos, end, &at, &n);
            uint64_t next = at;
            W_RC(mc_sbuffer_access(b, at, n, access_check, &next), 0);
            subrange(&x, pos, end, &at, &n);
            if (!W_RC(mc_sbuffer_blit(b, at, tmp, n), 0))
                W_CHECK(check_at(tmp, at, n) == n, "blit at %llu",
                        (unsigned long long)at);
            void *sb;
            subrange(&x, pos, end, &at, &n);
            if (!W_RC(mc_sbuffer_sub(b, at, n, &sb), 0)) {
                W_CHECK(check_at(sb, at, n) == n, "sub at %llu",
                        (unsigned long long)at);
                free(sb);
            }
        }
        if (pos)
            W_RC(mc_sbuffer_blit(b, pos - 1, tmp, 1), MC_EINVAL);
        uint64_t del = rnd(&x) % 2 ? end - pos : rnd(&x) % (end - pos + 1);
        if (W_RC(mc_sbuffer_delete_hd(b, del), 0))
            break;
        pos += del;
        W_CHECK(mc_sbuffer_start(b) == pos, "start");
    }
    W_CHECK(pos == PIPE_BYTES, "got %llu bytes", (unsigned long long)pos);
    free(tmp);
    /* after a failure, free a producer blocked on a full buffer */
    W_RC(mc_sbuffer_close(b), 0);
    W_RC(mc_sbuffer_clear(b), 0);
    W_JOIN_OK(tu_driver_jp, w, "producer");
    mc_heap_stats st;
    W_RC(mc_heap_stats_get(mc_sbuffer_heap(b), &st), 0);
    /* 48 MiB went through 256 KiB */
    W_CHECK(st.heap_bytes < 4 * MiB, "the heap grew to %zu", st.heap_bytes);
    W_RC(mc_sbuffer_destroy(b), 0);
}

DRIVER_TEST(pipeline)

/* ------------------------------------ readers racing appends and deletes */

typedef struct race_arg {
    mc_sbuffer_descr d;
    int mode; /* 0 blit, 1 access */
} race_arg;

/* Reads ranges at the front, which the writer deletes all the time: every
 * read either fails (deleted under it) or returns the right bytes. */
static void drv_race_reader(const void *arg, size_t len)
{
    race_arg a;
    mc_sbuffer *b;
    memcpy(&a, arg, sizeof a);
    if (len != sizeof a || open_descr(&a.d, sizeof a.d, &b))
        return;
    uint8_t *tmp = malloc(64 * KiB);
    uint64_t x = 7 + (uint64_t)a.mode;
    long ok = 0, gone = 0;
    while (!mc_sbuffer_closed(b) && !tu_w_failed()) {
        uint64_t s = mc_sbuffer_start(b);
        size_t n = (size_t)(rnd(&x) % (64 * KiB));
        int rc;
        if (a.mode == 0) {
            rc = mc_sbuffer_blit(b, s, tmp, n);
            if (rc == 0)
                W_CHECK(check_at(tmp, s, n) == n, "blit at %llu: torn",
                        (unsigned long long)s);
        } else {
            uint64_t next = s;
            rc = mc_sbuffer_access(b, s, n, access_check, &next);
            W_CHECK(rc != 1, "access at %llu: wrong bytes",
                    (unsigned long long)s);
        }
        if (rc == 0)
            ok++;
        else if (rc == MC_EINVAL)
            gone++;
        else
            W_RC(rc, 0);
    }
    free(tmp);
    W_CHECK(ok > 0, "no read succeeded (%ld refused)", gone);
}

static void drv_race(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_sbuffer *b;
    race_arg a;
    if (pool_and_buf(64 * MiB, 512 * KiB, 4096, &p, &b) ||
        W_RC(mc_sbuffer_descr_of(b, &a.d), 0))
        return;
    mc_pid w[2];
    for (int i = 0; i < 2; i++) {
        a.mode = i;
        if (W_RC(tu_start_fn(drv_race_reader, &a, sizeof a, &w[i]), 0))
            return;
    }
    uint8_t *tmp = malloc(64 * KiB);
    uint64_t x = 3, pos = 0;
    int64_t t0 = tu_now_ms();
    while (tu_now_ms() - t0 < 1500 && !tu_w_failed()) {
        size_t n = (size_t)(rnd(&x) % (64 * KiB));
        fill_at(tmp, pos, n);
        int rc = mc_sbuffer_append_timed(b, tmp, n, 0);
        if (rc == 0)
            pos += n;
        else if (rc == MC_EAGAIN)
            W_RC(mc_sbuffer_delete_hd(b, mc_sbuffer_length(b) / 2 + 1), 0);
        else
            W_RC(rc, 0);
    }
    free(tmp);
    W_RC(mc_sbuffer_close(b), 0);
    for (int i = 0; i < 2; i++)
        W_JOIN_OK(tu_driver_jp, w[i], i ? "access reader" : "blit reader");
    W_RC(mc_sbuffer_destroy(b), 0);
}

DRIVER_TEST(race)

/* --------------------------------------------------------- descriptors */

static void drv_descr_user(const void *arg, size_t len)
{
    mc_sbuffer_descr d;
    memcpy(&d, arg, sizeof d);
    W_CHECK(len == sizeof d, "arg");
    mc_sbuffer *b;
    W_RC(mc_sbuffer_of_descr(&d, &other_type, &b), MC_ETYPE);
    W_RC(mc_sbuffer_of_descr(&d, NULL, &b), MC_ETYPE);
    mc_sbuffer_descr bad = d;
    bad.gen++;
    W_RC(mc_sbuffer_of_descr(&bad, &hdr_type, &b), MC_EINVAL);
    bad = d;
    bad.magic ^= 1;
    W_RC(mc_sbuffer_of_descr(&bad, &hdr_type, &b), MC_EINVAL);
    bad = d;
    bad.offset += 4096;
    W_RC(mc_sbuffer_of_descr(&bad, &hdr_type, &b), MC_EINVAL);
    bad = d;
    bad.pool = 1234567;
    W_RC(mc_sbuffer_of_descr(&bad, &hdr_type, &b), MC_EINVAL);
    if (W_RC(mc_sbuffer_of_descr(&d, &hdr_type, &b), 0))
        return;
    uint8_t out[100];
    W_RC(mc_sbuffer_blit(b, 0, out, 100), 0);
    W_CHECK(check_at(out, 0, 100) == 100, "the creator's bytes");
    fill_at(out, 100, 100);
    W_RC(mc_sbuffer_append(b, out, 100), 0);
}

static void drv_descr(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_sbuffer *b;
    mc_sbuffer_descr d;
    if (pool_and_buf(16 * MiB, 0, 0, &p, &b) ||
        W_RC(mc_sbuffer_descr_of(b, &d), 0))
        return;
    W_CHECK(d.type_id == hdr_type.id, "the descriptor's type id");
    uint8_t in[100];
    fill_at(in, 0, 100);
    W_RC(mc_sbuffer_append(b, in, 100), 0);
    mc_pid w;
    /* inheriting nothing: the worker maps the pool through the session */
    if (!W_RC(tu_start_fn_ex(drv_descr_user, &d, sizeof d, NULL, 0, &w), 0))
        W_JOIN_OK(tu_driver_jp, w, "descriptor user");
    W_CHECK(mc_sbuffer_end(b) == 200, "the worker's append");
    /* an sref's heap named by an sbuffer descriptor: another kind */
    char s[] = "x";
    hdr h = {0, s};
    mc_sref *r;
    mc_sref_descr rd;
    if (!W_RC(mc_sref_create(p, &hdr_type, &h, &r), 0) &&
        !W_RC(mc_sref_descr_of(r, &rd), 0)) {
        mc_sbuffer_descr x = {d.magic, rd.type_id, rd.pool, rd.offset,
                              rd.gen};
        mc_sbuffer *bx;
        int rc = mc_sbuffer_of_descr(&x, &hdr_type, &bx);
        W_CHECK(rc == MC_ETYPE, "an sref as a buffer: %s",
                tu_code_name(rc));
        W_RC(mc_sref_destroy(r), 0);
    }
    /* stale: the buffer is gone */
    W_RC(mc_sbuffer_destroy(b), 0);
    W_RC(mc_sbuffer_of_descr(&d, &hdr_type, &b), MC_EINVAL);
}

DRIVER_TEST(descr)

/* ----------------------------------------------- kill -9 inside a mutation */

typedef struct kill_arg {
    mc_sbuffer_descr d;
    uint64_t seed;
} kill_arg;

/* The victim appends pieces of the stream (up to three blocks, so that
 * appends cross blocks and reuse spares) and deletes from the front,
 * until killed; its pid in the header says it started. */
static void drv_victim(const void *arg, size_t len)
{
    kill_arg a;
    mc_sbuffer *b;
    memcpy(&a, arg, sizeof a);
    if (len != sizeof a || open_descr(&a.d, sizeof a.d, &b))
        return;
    uint64_t x = a.seed | 1;
    char s[] = "victim";
    hdr h = {(int64_t)getpid(), s};
    int rc = mc_sbuffer_header_set(b, &h);
    W_CHECK(rc == 0 || rc == MC_EOWNERDEAD, "header_set: %s",
            tu_code_name(rc));
    for (;;) {
        size_t n = (size_t)(rnd(&x) % (16 * 4096));
        uint64_t e = mc_sbuffer_end(b); /* only we append */
        rc = mc_sbuffer_append(b, pat_at(e), n);
        if (rc != 0 && rc != MC_EOWNERDEAD && W_RC(rc, 0))
            return;
        uint64_t l = mc_sbuffer_length(b);
        if (l > 128 * KiB) { /* down to 64 KiB or less: the window
                              * stays below 192 KiB */
            rc = mc_sbuffer_delete_hd(b, l - 64 * KiB + rnd(&x) % (64 * KiB));
            if (rc != 0 && rc != MC_EOWNERDEAD && W_RC(rc, 0))
                return;
        }
    }
}

#define KILLS 200

static void drv_kill(const void *arg, size_t len)
{
    (void)arg; (void)len;
    setenv("MC_DEBUG", "1", 1);
    alarm(240); /* a deadlock ends the driver (and fails the test) */
    mc_pool *p;
    mc_sbuffer *b;
    kill_arg a;
    if (pool_and_buf(64 * MiB, 0, 4096, &p, &b) ||
        W_RC(mc_sbuffer_descr_of(b, &a.d), 0))
        return;
    uint8_t *tmp = malloc(256 * KiB);
    int owner_dead = 0;
    size_t heap_max = 0;
    for (int it = 0; it < KILLS && !tu_w_failed(); it++) {
        a.seed = 0x9999 + (uint64_t)it;
        char s[] = "master";
        hdr h = {0, s};
        int rc = mc_sbuffer_header_set(b, &h);
        W_CHECK(rc == 0 || rc == MC_EOWNERDEAD, "header_set: %s",
                tu_code_name(rc));
        owner_dead += rc == MC_EOWNERDEAD;
        mc_pid pid;
        if (W_RC(tu_start_fn(drv_victim, &a, sizeof a, &pid), 0))
            break;
        const hdr *hr;
        int64_t ospid;
        while ((hr = mc_sbuffer_header_ro(b)) == NULL ||
               (ospid = __atomic_load_n(&hr->n, __ATOMIC_ACQUIRE)) == 0)
            usleep(50);
        usleep((useconds_t)(a.seed * 7919 % 3000));
        kill((pid_t)ospid, SIGKILL);
        mc_join_result r = {0};
        W_RC(mc_join(tu_driver_jp, pid, &r), 0);
        W_CHECK(r.kind == MC_EXIT_SIGNAL && r.code == SIGKILL,
                "victim %d: %s", it, tu_kind_str(&r));
        mc_join_result_free(&r);
        /* valid: every byte is the stream's (no torn append), and the
         * buffer takes appends and deletes again */
        uint64_t st = mc_sbuffer_start(b), e = mc_sbuffer_end(b);
        W_CHECK(st <= e && e - st <= 256 * KiB, "kill %d: [%llu, %llu)", it,
                (unsigned long long)st, (unsigned long long)e);
        if (e - st <= 256 * KiB && !W_RC(mc_sbuffer_blit(b, st, tmp, e - st),
                                         0))
            W_CHECK(check_at(tmp, st, e - st) == e - st,
                    "kill %d: wrong byte at %llu", it,
                    (unsigned long long)(st + check_at(tmp, st, e - st)));
        fill_at(tmp, e, 5000);
        rc = mc_sbuffer_append(b, tmp, 5000);
        W_CHECK(rc == 0 || rc == MC_EOWNERDEAD, "append after kill %d: %s",
                it, tu_code_name(rc));
        owner_dead += rc == MC_EOWNERDEAD;
        W_RC(mc_sbuffer_delete_hd(b, mc_sbuffer_length(b) / 2), 0);
        if (it % 8 == 0)
            W_RC(mc_heap_gc(mc_sbuffer_heap(b)), 0); /* verified: MC_DEBUG */
        mc_heap_stats hs;
        W_RC(mc_heap_stats_get(mc_sbuffer_heap(b), &hs), 0);
        if (hs.heap_bytes > heap_max)
            heap_max = hs.heap_bytes;
    }
    if (getenv("MC_TEST_VERBOSE"))
        fprintf(stderr, "sbuffer kills: %d of %d found the lock held, heap "
                        "at most %zu bytes\n", owner_dead, KILLS, heap_max);
    W_CHECK(owner_dead > KILLS / 4, "only %d of %d kills hit the lock",
            owner_dead, KILLS);
    W_CHECK(heap_max < 4 * MiB, "the heap grew to %zu bytes", heap_max);
    free(tmp);
    W_RC(mc_sbuffer_destroy(b), 0);
}

DRIVER_TEST(kill)

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_reuse),
        cmocka_unit_test(test_enomem),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_eof),
        cmocka_unit_test(test_wants),
        cmocka_unit_test(test_pipeline),
        cmocka_unit_test(test_race),
        cmocka_unit_test(test_descr),
        cmocka_unit_test(test_kill),
    };
    pat_init();
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, tu_group_setup_driver, NULL);
}
