/* test_sarray.c: shared arrays and matrices (mcore/sarray.h, smatrix.h):
 * each form of creation and read, grow, headers, a property test against
 * a local model across processes, readers during grows, descriptors
 * (wrong type, stale, another kind), out-of-range indices, a full pool,
 * reads of heap-value elements with every reader slot taken and inside
 * the thread's own mutation, and workers killed in the middle of grows
 * and sets. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcore/sarray.h"
#include "mcore/smatrix.h"
#include "testutil.h"

#define MiB ((size_t)1 << 20)

/* A record with a string that spells its number: a torn or freed value
 * shows. */
typedef struct rec {
    int64_t n;
    char *s;
} rec;

static int rec_copy(mc_copier *c, void *dst, const void *src)
{
    const rec *s = src;
    rec *d = dst;
    d->n = s->n;
    return mc_copy_str(c, &s->s, &d->s);
}

static void rec_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, ((const rec *)obj)->s);
}

static const mc_type rec_type = {
    .name = "rec", .id = 0x51a77a1e00000001ull, .size = sizeof(rec),
    .align = _Alignof(rec), .copy = rec_copy, .trace = rec_trace,
};

static const mc_type other_type = {
    .name = "other", .id = 0x51a77a1e00000002ull, .size = sizeof(rec),
    .align = _Alignof(rec), .copy = rec_copy, .trace = rec_trace,
};

/* A record of scalars (no pointers: stored inline, 24 bytes wide). */
typedef struct pt {
    double x, y;
    int64_t k;
} pt;

static const mc_type pt_type = {
    .name = "pt", .id = 0x51a77a1e00000003ull, .size = sizeof(pt),
    .align = _Alignof(pt),
};

static void spell(char *buf, size_t n, int64_t v)
{
    snprintf(buf, n, "value-%lld", (long long)v);
}

static int rec_bad(const rec *r)
{
    char buf[64];
    spell(buf, sizeof buf, r->n);
    return r->s == NULL || strcmp(r->s, buf) != 0;
}

/* rec r holding n, its string in buf */
#define REC(r, buf, v) \
    char buf[64]; \
    spell(buf, sizeof buf, (v)); \
    rec r = {(v), buf}

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return rng_state >> 17;
}

static int read_n(const void *v, void *ctx)
{
    const rec *r = v;
    *(int64_t *)ctx = r->n;
    return rec_bad(r) ? MC_EINVAL : 0;
}

static int read_i64(const void *v, void *ctx)
{
    *(int64_t *)ctx = *(const int64_t *)v;
    return 0;
}

static int init_sq(void *ctx, size_t i, void *elem)
{
    (void)ctx;
    *(int64_t *)elem = (int64_t)(i * i);
    return 0;
}

static int init_rec(void *ctx, size_t i, void *elem)
{
    char *buf = ctx; /* the caller's scratch: copied after we return */
    spell(buf, 64, (int64_t)i + 100);
    *(rec *)elem = (rec){(int64_t)i + 100, buf};
    return 0;
}

static int init_fail(void *ctx, size_t i, void *elem)
{
    (void)ctx; (void)elem;
    return i == 5 ? MC_EAGAIN : 0;
}

/* ------------------------------------------------------ inline basics */

static void drv_inline(const void *arg, size_t len)
{
    (void)arg; (void)len;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *p;
    mc_sarray *a;
    if (W_RC(mc_pool_create(64 * MiB, &p), 0))
        return;
    int64_t init[10];
    for (int i = 0; i < 10; i++)
        init[i] = i * 10;
    REC(h, hbuf, 42);
    if (W_RC(mc_sarray_create(p, &mc_type_i64, 10, init, &rec_type, &h, &a),
             0))
        return;
    W_CHECK(mc_sarray_is_inline(a) == 1, "i64 is inline");
    W_CHECK(mc_sarray_length(a) == 10, "length");
    W_CHECK(mc_sarray_type(a) == &mc_type_i64, "type");
    W_CHECK(mc_sarray_header_type(a) == &rec_type, "header type");
    int64_t v = -1;
    W_RC(mc_sarray_get(a, 3, &v), 0);
    W_CHECK(v == 30, "get 3: %lld", (long long)v);
    int64_t x = 77;
    W_RC(mc_sarray_set(a, 3, &x), 0);
    const int64_t *ro = mc_sarray_get_ro(a, 3);
    W_CHECK(ro && *ro == 77, "get_ro after set");
    int64_t *c = NULL;
    W_RC(mc_sarray_get_c(a, 3, (void **)&c), 0);
    W_CHECK(c && *c == 77, "get_c");
    mc_local_free(c);
    W_RC(mc_sarray_get_p(a, 9, read_i64, &v), 0);
    W_CHECK(v == 90, "get_p 9");
    /* out of range: refused, nothing written */
    x = -5;
    W_RC(mc_sarray_set(a, 10, &x), MC_EINVAL);
    W_RC(mc_sarray_set(a, SIZE_MAX, &x), MC_EINVAL);
    W_RC(mc_sarray_get(a, 10, &v), MC_EINVAL);
    W_CHECK(mc_sarray_get_ro(a, 10) == NULL, "get_ro out of range");
    W_RC(mc_sarray_get_c(a, 10, (void **)&c), MC_EINVAL);
    W_RC(mc_sarray_get_p(a, 10, read_i64, &v), MC_EINVAL);
    W_RC(mc_sarray_set(a, 0, NULL), MC_EINVAL);
    /* grow: the address of an element does not change */
    const int64_t *addr3 = mc_sarray_get_ro(a, 3);
    int64_t g = -1;
    W_RC(mc_sarray_grow(a, 5, &g), 0); /* not above: nothing */
    W_RC(mc_sarray_grow(a, 5, NULL), 0);
    W_RC(mc_sarray_grow(a, 11, NULL), MC_EINVAL);
    W_CHECK(mc_sarray_length(a) == 10, "length after refused grows");
    W_RC(mc_sarray_grow(a, 1000, &g), 0);
    W_CHECK(mc_sarray_length(a) == 1000, "length after grow");
    W_CHECK(mc_sarray_get_ro(a, 3) == addr3, "element 3 did not move");
    /* the block past the old end held no garbage: grow wrote every new
     * element, and nothing beyond */
    for (size_t i = 0; i < 1000; i++) {
        int64_t want = i == 3 ? 77 : i < 10 ? (int64_t)i * 10 : -1;
        W_RC(mc_sarray_get(a, i, &v), 0);
        if (v != want) {
            W_CHECK(v == want, "element %zu: %lld", i, (long long)v);
            break;
        }
    }
    W_RC(mc_sarray_grow(a, MC_SARRAY_MAX_LEN + 1, &g), MC_EINVAL);
    /* the header: three reads and a set */
    const rec *hr = mc_sarray_header_ro(a);
    W_CHECK(hr && hr->n == 42 && !rec_bad(hr) && hr->s != hbuf, "header");
    rec *hc = NULL;
    W_RC(mc_sarray_header_c(a, (void **)&hc), 0);
    W_CHECK(hc && hc->n == 42 && !rec_bad(hc), "header_c");
    mc_local_free(hc);
    REC(h2, hbuf2, 43);
    W_RC(mc_sarray_header_set(a, &h2), 0);
    W_RC(mc_sarray_header_p(a, read_n, &v), 0);
    W_CHECK(v == 43, "header_p after set");
    /* the inline accessors */
    W_RC(mc_sarray_set_i64(a, 500, 5005), 0);
    W_RC(mc_sarray_get_i64(a, 500, &v), 0);
    W_CHECK(v == 5005, "get_i64: %lld", (long long)v);
    W_CHECK(mc_sarray_ro_i64(a, 500) == mc_sarray_get_ro(a, 500) &&
                *mc_sarray_ro_i64(a, 500) == 5005, "ro_i64");
    W_RC(mc_sarray_set_i64(a, 1000, 1), MC_EINVAL);
    v = 42;
    W_RC(mc_sarray_get_i64(a, 1000, &v), MC_EINVAL);
    W_CHECK(v == 0, "get_i64 out of range: v is 0, not %lld", (long long)v);
    W_RC(mc_sarray_get_i64(a, 0, NULL), MC_EINVAL);
    W_CHECK(mc_sarray_ro_i64(a, 1000) == NULL, "ro_i64 out of range");
    /* a NULL handle: refused, not read (the inline path reads a stand-in) */
    W_CHECK(mc_sarray_ro_i64(NULL, 0) == NULL, "ro_i64 of NULL");
    W_RC(mc_sarray_set_i64(NULL, 0, 1), MC_EINVAL);
    W_RC(mc_sarray_get_i64(NULL, 0, &v), MC_EINVAL);
    W_RC(mc_sarray_set_i32(a, 0, 1), MC_ETYPE);
    W_RC(mc_sarray_get_f32(a, 0, &(float){0}), MC_ETYPE);
    W_CHECK(mc_sarray_ro_i32(a, 0) == NULL, "ro_i32 of an i64 array");
    W_RC(mc_heap_gc(mc_sarray_heap(a)), 0); /* verified (MC_DEBUG) */
    W_RC(mc_sarray_destroy(a), 0);
    /* destroyed: refused */
    W_RC(mc_sarray_set_i64(a, 0, 1), MC_EINVAL);
    W_RC(mc_sarray_get_i64(a, 0, &v), MC_EINVAL);
    W_CHECK(mc_sarray_ro_i64(a, 0) == NULL, "ro_i64 after destroy");
    W_RC(mc_sarray_destroy(a), MC_EINVAL);
    W_RC(mc_sarray_set(a, 0, &x), MC_EINVAL);
    W_RC(mc_sarray_get(a, 0, &v), MC_EINVAL);
    W_RC(mc_sarray_grow(a, 2000, &g), MC_EINVAL);
    W_CHECK(mc_sarray_get_ro(a, 0) == NULL, "get_ro after destroy");
    W_CHECK(mc_sarray_length(a) == 0, "length after destroy");
    W_CHECK(mc_sarray_header_ro(a) == NULL, "header after destroy");

    /* make and init; no header; an empty array that grows */
    int64_t seven = 7;
    if (!W_RC(mc_sarray_make(p, &mc_type_i64, 100, &seven, NULL, NULL, &a),
              0)) {
        W_CHECK(mc_sarray_header_ro(a) == NULL, "no header");
        W_RC(mc_sarray_header_c(a, (void **)&hc), MC_EINVAL);
        W_RC(mc_sarray_header_set(a, &h2), MC_EINVAL);
        W_RC(mc_sarray_get(a, 99, &v), 0);
        W_CHECK(v == 7, "make");
        W_RC(mc_sarray_destroy(a), 0);
    }
    if (!W_RC(mc_sarray_init(p, &mc_type_i64, 50, init_sq, NULL, NULL, NULL,
                             &a), 0)) {
        W_RC(mc_sarray_get(a, 49, &v), 0);
        W_CHECK(v == 49 * 49, "init");
        W_RC(mc_sarray_destroy(a), 0);
    }
    W_RC(mc_sarray_init(p, &mc_type_i64, 50, init_fail, NULL, NULL, NULL, &a),
         MC_EAGAIN);
    if (!W_RC(mc_sarray_create(p, &mc_type_f64, 0, NULL, NULL, NULL, &a),
              0)) {
        double d = 0.5, e;
        W_RC(mc_sarray_set(a, 0, &d), MC_EINVAL);
        for (size_t n = 1; n <= 5000; n += n / 3 + 1) {
            d = (double)n;
            W_RC(mc_sarray_grow(a, n, &d), 0);
        }
        size_t n = mc_sarray_length(a);
        W_RC(mc_sarray_get(a, n - 1, &e), 0);
        W_CHECK(e == (double)n, "f64 grown from empty: %g", e);
        W_RC(mc_sarray_destroy(a), 0);
    }
    /* a wide inline record, and argument checks */
    pt pts[3] = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}};
    if (!W_RC(mc_sarray_create(p, &pt_type, 3, pts, NULL, NULL, &a), 0)) {
        W_CHECK(mc_sarray_is_inline(a), "pt is inline");
        pt q = {0};
        W_RC(mc_sarray_set(a, 1, &pts[2]), 0);
        W_RC(mc_sarray_get(a, 1, &q), 0);
        W_CHECK(q.x == 7 && q.k == 9, "pt");
        W_RC(mc_sarray_destroy(a), 0);
    }
    W_RC(mc_sarray_create(p, &mc_type_i64, 3, NULL, NULL, NULL, &a),
         MC_EINVAL);
    W_RC(mc_sarray_create(p, &mc_type_i64, 0, NULL, &rec_type, NULL, &a),
         MC_EINVAL);
    W_RC(mc_sarray_create(NULL, &mc_type_i64, 0, NULL, NULL, NULL, &a),
         MC_EINVAL);
    W_RC(mc_sarray_make(p, &mc_type_i64, 3, NULL, NULL, NULL, &a), MC_EINVAL);
    W_RC(mc_pool_release(p), 0);
}

static void test_inline(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_inline, NULL, 0);
    tu_end();
}

/* ---------------------------------------------- elements with pointers */

static void drv_boxed(const void *arg, size_t len)
{
    (void)arg; (void)len;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *p;
    mc_sarray *a;
    if (W_RC(mc_pool_create(64 * MiB, &p), 0))
        return;
    REC(r, buf, 5);
    if (W_RC(mc_sarray_make(p, &rec_type, 4, &r, NULL, NULL, &a), 0))
        return;
    W_CHECK(!mc_sarray_is_inline(a), "rec is not inline");
    W_CHECK(mc_sarray_get_ro(a, 0) == mc_sarray_get_ro(a, 3),
            "make: one shared copy");
    W_RC(mc_sarray_get(a, 0, &r), MC_ETYPE);
    for (int64_t i = 0; i < 20000; i++) {
        REC(x, xb, i);
        if (W_RC(mc_sarray_set(a, (size_t)i % 4, &x), 0))
            break;
    }
    int64_t n = -1;
    W_RC(mc_sarray_get_p(a, 3, read_n, &n), 0);
    W_CHECK(n == 19999, "get_p: %lld", (long long)n);
    rec *c = NULL;
    W_RC(mc_sarray_get_c(a, 0, (void **)&c), 0);
    W_CHECK(c && c->n == 19996 && !rec_bad(c), "get_c");
    mc_local_free(c);
    /* the replaced values were collected */
    mc_heap_stats st;
    W_RC(mc_heap_stats_get(mc_sarray_heap(a), &st), 0);
    W_CHECK(st.collections > 0 && st.heap_bytes < 8 * MiB,
            "%llu collections, %zu bytes", (unsigned long long)st.collections,
            st.heap_bytes);
    REC(g, gb, -1);
    W_RC(mc_sarray_grow(a, 300, &g), 0);
    W_CHECK(mc_sarray_get_ro(a, 4) == mc_sarray_get_ro(a, 299),
            "grow: new elements share one copy");
    const rec *e = mc_sarray_get_ro(a, 299);
    W_CHECK(e && e->n == -1 && !rec_bad(e), "grown element");
    W_RC(mc_heap_gc(mc_sarray_heap(a)), 0);
    W_RC(mc_sarray_destroy(a), 0);

    rec recs[3];
    char bufs[3][64];
    for (int i = 0; i < 3; i++) {
        spell(bufs[i], 64, i);
        recs[i] = (rec){i, bufs[i]};
    }
    if (!W_RC(mc_sarray_create(p, &rec_type, 3, recs, NULL, NULL, &a), 0)) {
        W_CHECK(mc_sarray_get_ro(a, 0) != mc_sarray_get_ro(a, 1),
                "create: a copy each");
        W_RC(mc_sarray_get_p(a, 2, read_n, &n), 0);
        W_CHECK(n == 2, "create");
        W_RC(mc_sarray_destroy(a), 0);
    }
    char scratch[64];
    if (!W_RC(mc_sarray_init(p, &rec_type, 30, init_rec, scratch, NULL, NULL,
                             &a), 0)) {
        for (size_t i = 0; i < 30; i++) {
            const rec *x = mc_sarray_get_ro(a, i);
            W_CHECK(x && x->n == (int64_t)i + 100 && !rec_bad(x),
                    "init %zu", i);
        }
        W_RC(mc_heap_gc(mc_sarray_heap(a)), 0);
        W_RC(mc_sarray_destroy(a), 0);
    }
    W_RC(mc_sarray_init(p, &rec_type, 30, init_fail, NULL, NULL, NULL, &a),
         MC_EAGAIN);
    W_RC(mc_pool_release(p), 0);
}

static void test_boxed(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_boxed, NULL, 0);
    tu_end();
}

/* ------------------------------------- property test across processes */

/* The driver and the worker draw the same operations from one seed: the
 * worker applies them to the shared arrays, the driver to a local model,
 * and then compares. */
struct prop_arg {
    mc_sarray_descr di, dr;
    uint64_t seed;
    int ops;
};

#define PROP_MAX 3000

typedef struct model {
    size_t n;
    int64_t v[PROP_MAX];
} model;

/* One operation, applied to the model (and, if ai, to the arrays). */
static void prop_step(model *m, mc_sarray *ai, mc_sarray *ar)
{
    uint64_t r = rnd();
    int op = (int)(r % 10);
    if (op < 6 && m->n) { /* set */
        size_t i = (r >> 8) % m->n;
        int64_t v = (int64_t)(r >> 20) % 100000;
        m->v[i] = v;
        if (ai) {
            REC(x, xb, v);
            W_RC(mc_sarray_set(ai, i, &v), 0);
            W_RC(mc_sarray_set(ar, i, &x), 0);
        }
    } else if (op < 8) { /* grow */
        size_t n = m->n + (r >> 8) % 40;
        if (n > PROP_MAX)
            n = PROP_MAX;
        int64_t v = -(int64_t)m->n;
        for (size_t i = m->n; i < n; i++)
            m->v[i] = v;
        m->n = n;
        if (ai) {
            REC(x, xb, v);
            W_RC(mc_sarray_grow(ai, n, &v), 0);
            W_RC(mc_sarray_grow(ar, n, &x), 0);
        }
    } else if (ai && m->n) { /* read, against the model */
        size_t i = (r >> 8) % m->n;
        int64_t v = 0;
        W_RC(mc_sarray_get(ai, i, &v), 0);
        W_CHECK(v == m->v[i], "worker read %zu", i);
        rec *c = NULL;
        if (!W_RC(mc_sarray_get_c(ar, i, (void **)&c), 0))
            W_CHECK(c->n == m->v[i] && !rec_bad(c), "worker read_c %zu", i);
        mc_local_free(c);
    } else if (ai) { /* out of range */
        int64_t v = 1;
        W_RC(mc_sarray_set(ai, m->n, &v), MC_EINVAL);
    }
}

static void drv_prop_worker(const void *arg, size_t len)
{
    struct prop_arg a;
    W_CHECK(len == sizeof a, "arg");
    memcpy(&a, arg, sizeof a);
    mc_sarray *ai, *ar;
    if (W_RC(mc_sarray_of_descr(&a.di, &mc_type_i64, NULL, &ai), 0) ||
        W_RC(mc_sarray_of_descr(&a.dr, &rec_type, NULL, &ar), 0))
        return;
    static model m;
    m.n = mc_sarray_length(ai);
    for (size_t i = 0; i < m.n; i++)
        W_RC(mc_sarray_get(ai, i, &m.v[i]), 0);
    rng_state = a.seed;
    for (int k = 0; k < a.ops && !tu_w_failed(); k++)
        prop_step(&m, ai, ar);
}

static int init_id(void *ctx, size_t i, void *elem)
{
    (void)ctx;
    *(int64_t *)elem = (int64_t)i;
    return 0;
}

static int init_id_rec(void *ctx, size_t i, void *elem)
{
    char *buf = ctx;
    spell(buf, 64, (int64_t)i);
    *(rec *)elem = (rec){(int64_t)i, buf};
    return 0;
}

static void drv_prop(const void *arg, size_t len)
{
    (void)arg; (void)len;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *p;
    mc_sarray *ai, *ar;
    char scratch[64];
    if (W_RC(mc_pool_create(64 * MiB, &p), 0) ||
        W_RC(mc_sarray_init(p, &mc_type_i64, 7, init_id, NULL, NULL, NULL,
                            &ai), 0) ||
        W_RC(mc_sarray_init(p, &rec_type, 7, init_id_rec, scratch, NULL,
                            NULL, &ar), 0))
        return;
    for (int round = 0; round < 4 && !tu_w_failed(); round++) {
        struct prop_arg a = {.seed = 0x1234567ull + (uint64_t)round * 977,
                             .ops = 3000};
        W_RC(mc_sarray_descr_of(ai, &a.di), 0);
        W_RC(mc_sarray_descr_of(ar, &a.dr), 0);
        static model m;
        m.n = mc_sarray_length(ai);
        for (size_t i = 0; i < m.n; i++)
            m.v[i] = *(const int64_t *)mc_sarray_get_ro(ai, i);
        mc_pid w;
        if (W_RC(tu_start_fn_ex(drv_prop_worker, &a, sizeof a, NULL, 0, &w),
                 0))
            break;
        W_JOIN_OK(tu_driver_jp, w, "property worker");
        /* the worker started from the arrays as they were: replay */
        rng_state = a.seed;
        for (int k = 0; k < a.ops; k++)
            prop_step(&m, NULL, NULL);
        W_CHECK(mc_sarray_length(ai) == m.n && mc_sarray_length(ar) == m.n,
                "round %d: lengths %zu %zu, model %zu", round,
                mc_sarray_length(ai), mc_sarray_length(ar), m.n);
        for (size_t i = 0; i < m.n && i < mc_sarray_length(ai); i++) {
            const int64_t *v = mc_sarray_get_ro(ai, i);
            const rec *r = mc_sarray_get_ro(ar, i);
            if (*v != m.v[i] || r->n != m.v[i] || rec_bad(r)) {
                W_CHECK(0, "round %d: element %zu: %lld and %lld, model "
                        "%lld", round, i, (long long)*v, (long long)r->n,
                        (long long)m.v[i]);
                break;
            }
        }
        W_RC(mc_heap_gc(mc_sarray_heap(ar)), 0);
    }
    W_RC(mc_sarray_destroy(ai), 0);
    W_RC(mc_sarray_destroy(ar), 0);
    W_RC(mc_pool_release(p), 0);
}

static void test_prop(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_prop, NULL, 0);
    tu_end();
}

/* ------------------------------------------------ readers during grow */

/* Element i of both arrays holds i (set before each grow publishes), so a
 * reader that sees length n checks every index below n. */
struct grow_arg {
    mc_sarray_descr di, dr;
    mc_sarray_descr dflag; /* element 0 becomes 1: stop; 1 + k: reader k
                              started */
    int k;
};

static void drv_grow_reader(const void *arg, size_t len)
{
    struct grow_arg a;
    W_CHECK(len == sizeof a, "arg");
    memcpy(&a, arg, sizeof a);
    mc_sarray *ai, *ar, *flag;
    if (W_RC(mc_sarray_of_descr(&a.di, &mc_type_i64, NULL, &ai), 0) ||
        W_RC(mc_sarray_of_descr(&a.dr, &rec_type, NULL, &ar), 0) ||
        W_RC(mc_sarray_of_descr(&a.dflag, &mc_type_i64, NULL, &flag), 0))
        return;
    int64_t one = 1;
    W_RC(mc_sarray_set(flag, 1 + (size_t)a.k, &one), 0); /* started */
    rng_state = (uint64_t)a.k + 5;
    int64_t stop = 0;
    uint64_t reads = 0;
    while (!tu_w_failed()) {
        W_RC(mc_sarray_get(flag, 0, &stop), 0);
        size_t n = mc_sarray_length(ar);
        if (n == 0)
            continue;
        size_t i = (size_t)rnd() % n;
        int64_t v = -1;
        rec *c = NULL;
        if (!W_RC(mc_sarray_get_c(ar, i, (void **)&c), 0))
            W_CHECK(!rec_bad(c) && (c->n == (int64_t)i || c->n < 0),
                    "rec %zu of %zu: %lld", i, n, (long long)c->n);
        mc_local_free(c);
        n = mc_sarray_length(ai);
        i = n ? (size_t)rnd() % n : 0;
        if (n && !W_RC(mc_sarray_get(ai, i, &v), 0))
            W_CHECK(v == (int64_t)i || v < 0, "i64 %zu of %zu: %lld", i, n,
                    (long long)v);
        reads++;
        if (stop)
            break;
    }
    W_CHECK(reads > 100, "only %llu reads", (unsigned long long)reads);
}

static void drv_grow_readers(const void *arg, size_t len)
{
    (void)arg; (void)len;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *p;
    mc_sarray *ai, *ar, *flag;
    int64_t zero = 0;
    REC(r0, b0, 0);
    if (W_RC(mc_pool_create(128 * MiB, &p), 0) ||
        W_RC(mc_sarray_make(p, &mc_type_i64, 1, &zero, NULL, NULL, &ai), 0) ||
        W_RC(mc_sarray_make(p, &rec_type, 1, &r0, NULL, NULL, &ar), 0) ||
        W_RC(mc_sarray_make(p, &mc_type_i64, 3, &zero, NULL, NULL, &flag),
             0))
        return;
    struct grow_arg a = {0};
    W_RC(mc_sarray_descr_of(ai, &a.di), 0);
    W_RC(mc_sarray_descr_of(ar, &a.dr), 0);
    W_RC(mc_sarray_descr_of(flag, &a.dflag), 0);
    enum { READERS = 2 };
    mc_pid w[READERS];
    int started = 0;
    for (; started < READERS; started++) {
        a.k = started;
        if (W_RC(tu_start_fn(drv_grow_reader, &a, sizeof a, &w[started]), 0))
            break;
    }
    for (int k = 0; k < started; k++) {
        int64_t s = 0;
        while (!mc_sarray_get(flag, 1 + (size_t)k, &s) && !s)
            usleep(100);
    }
    /* grow by steps; new elements first hold -n (one shared copy), then
     * each is set to its index; other elements are set again meanwhile */
    for (size_t n = 2; n <= 300000 && !tu_w_failed(); n += 1 + n / 16) {
        size_t old = mc_sarray_length(ar);
        int64_t g = -(int64_t)n;
        REC(rg, bg, g);
        W_RC(mc_sarray_grow(ai, n, &g), 0);
        W_RC(mc_sarray_grow(ar, n, &rg), 0);
        for (size_t i = old; i < n; i++) {
            int64_t v = (int64_t)i;
            REC(x, xb, v);
            W_RC(mc_sarray_set(ai, i, &v), 0);
            if (i % 31 == 0 || n < 500)
                W_RC(mc_sarray_set(ar, i, &x), 0);
        }
    }
    int64_t one = 1;
    W_RC(mc_sarray_set(flag, 0, &one), 0);
    for (int i = 0; i < started; i++)
        W_JOIN_OK(tu_driver_jp, w[i], "reader");
    W_RC(mc_heap_gc(mc_sarray_heap(ar)), 0);
    W_RC(mc_sarray_destroy(ai), 0);
    W_RC(mc_sarray_destroy(ar), 0);
    W_RC(mc_sarray_destroy(flag), 0);
    W_RC(mc_pool_release(p), 0);
}

static void test_grow_readers(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_grow_readers, NULL, 0);
    tu_end();
}

/* -------------------------------------------------------- descriptors */

struct descr_arg {
    mc_sarray_descr a;
    mc_smatrix_descr m;
};

static void drv_descr_user(const void *arg, size_t len)
{
    struct descr_arg d;
    W_CHECK(len == sizeof d, "arg");
    memcpy(&d, arg, sizeof d);
    mc_sarray *a;
    mc_smatrix *m;
    W_RC(mc_sarray_of_descr(&d.a, &other_type, &mc_type_i64, &a), MC_ETYPE);
    W_RC(mc_sarray_of_descr(&d.a, &rec_type, NULL, &a), MC_ETYPE);
    W_RC(mc_sarray_of_descr(&d.a, &rec_type, &mc_type_f64, &a), MC_ETYPE);
    mc_sarray_descr bad = d.a;
    bad.gen++;
    W_RC(mc_sarray_of_descr(&bad, &rec_type, &mc_type_i64, &a), MC_EINVAL);
    bad = d.a;
    bad.offset += 4096;
    W_RC(mc_sarray_of_descr(&bad, &rec_type, &mc_type_i64, &a), MC_EINVAL);
    /* a matrix descriptor is no sarray's, even with the magic changed */
    mc_sarray_descr forged;
    memcpy(&forged, &d.m, sizeof forged);
    W_RC(mc_sarray_of_descr(&forged, &mc_type_f64, NULL, &a), MC_EINVAL);
    forged.magic = d.a.magic;
    W_RC(mc_sarray_of_descr(&forged, &mc_type_f64, NULL, &a), MC_EINVAL);
    W_RC(mc_smatrix_of_descr(&d.m, &mc_type_i64, NULL, &m), MC_ETYPE);
    if (!W_RC(mc_sarray_of_descr(&d.a, &rec_type, &mc_type_i64, &a), 0)) {
        int64_t h = *(const int64_t *)mc_sarray_header_ro(a);
        W_CHECK(h == 11, "header %lld", (long long)h);
        REC(x, xb, 8);
        W_RC(mc_sarray_set(a, 1, &x), 0);
    }
    if (!W_RC(mc_smatrix_of_descr(&d.m, &mc_type_f64, NULL, &m), 0)) {
        /* a worker fills a row through the block's address */
        double *data = mc_smatrix_data(m);
        for (int j = 0; j < 3; j++)
            data[1 * 3 + j] = 10.0 + j;
    }
}

static void drv_descr(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_sarray *a;
    mc_smatrix *m;
    REC(r, rb, 1);
    int64_t h = 11;
    double zero = 0;
    struct descr_arg d;
    if (W_RC(mc_pool_create(16 * MiB, &p), 0) ||
        W_RC(mc_sarray_make(p, &rec_type, 3, &r, &mc_type_i64, &h, &a), 0) ||
        W_RC(mc_smatrix_make(p, &mc_type_f64, 2, 3, &zero, NULL, NULL, &m),
             0) ||
        W_RC(mc_sarray_descr_of(a, &d.a), 0) ||
        W_RC(mc_smatrix_descr_of(m, &d.m), 0))
        return;
    mc_pid w;
    if (!W_RC(tu_start_fn_ex(drv_descr_user, &d, sizeof d, NULL, 0, &w), 0))
        W_JOIN_OK(tu_driver_jp, w, "descriptor user");
    int64_t n = -1;
    W_RC(mc_sarray_get_p(a, 1, read_n, &n), 0);
    W_CHECK(n == 8, "the worker's set: %lld", (long long)n);
    double v = -1;
    W_RC(mc_smatrix_get(m, 1, 2, &v), 0);
    W_CHECK(v == 12.0, "the worker's row: %g", v);
    W_RC(mc_smatrix_get(m, 0, 2, &v), 0);
    W_CHECK(v == 0.0, "row 0 untouched: %g", v);
    W_RC(mc_sarray_destroy(a), 0);
    W_RC(mc_smatrix_destroy(m), 0);
    /* stale */
    W_RC(mc_sarray_of_descr(&d.a, &rec_type, &mc_type_i64, &a), MC_EINVAL);
    W_RC(mc_smatrix_of_descr(&d.m, &mc_type_f64, NULL, &m), MC_EINVAL);
    W_RC(mc_pool_release(p), 0);
}

static void test_descr(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_descr, NULL, 0);
    tu_end();
}

/* ------------------------------------------------------------- matrix */

static int init_ij(void *ctx, size_t i, size_t j, void *elem)
{
    (void)ctx;
    *(double *)elem = (double)(i * 100 + j);
    return 0;
}

static void drv_matrix(const void *arg, size_t len)
{
    (void)arg; (void)len;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *p;
    mc_smatrix *m;
    if (W_RC(mc_pool_create(64 * MiB, &p), 0))
        return;
    double data[3 * 4];
    for (int k = 0; k < 12; k++)
        data[k] = k;
    REC(h, hb, 3);
    if (W_RC(mc_smatrix_create(p, &mc_type_f64, 3, 4, data, &rec_type, &h,
                               &m), 0))
        return;
    size_t rows = 0, cols = 0;
    W_RC(mc_smatrix_dims(m, &rows, &cols), 0);
    W_CHECK(rows == 3 && cols == 4, "dims %zu x %zu", rows, cols);
    double *blk = mc_smatrix_data(m);
    W_CHECK(blk && memcmp(blk, data, sizeof data) == 0,
            "one contiguous row-major block");
    double x = -1;
    W_RC(mc_smatrix_set(m, 2, 3, &x), 0);
    W_CHECK(blk[11] == -1, "set (2, 3) is element 11");
    W_CHECK(mc_smatrix_get_ro(m, 1, 2) == &blk[6], "get_ro address");
    double v;
    W_RC(mc_smatrix_get(m, 1, 1, &v), 0);
    W_CHECK(v == 5, "get");
    double *c = NULL;
    W_RC(mc_smatrix_get_c(m, 0, 3, (void **)&c), 0);
    W_CHECK(c && *c == 3, "get_c");
    mc_local_free(c);
    /* out of range: refused, the block unchanged */
    double before[12];
    memcpy(before, blk, sizeof before);
    double y = 99;
    W_RC(mc_smatrix_set(m, 3, 0, &y), MC_EINVAL);
    W_RC(mc_smatrix_set(m, 0, 4, &y), MC_EINVAL);
    W_RC(mc_smatrix_set(m, 1, SIZE_MAX, &y), MC_EINVAL);
    W_RC(mc_smatrix_get(m, 0, 4, &v), MC_EINVAL);
    W_RC(mc_smatrix_get_c(m, 3, 0, (void **)&c), MC_EINVAL);
    W_CHECK(mc_smatrix_get_ro(m, 0, 4) == NULL, "get_ro out of range");
    W_CHECK(memcmp(before, blk, sizeof before) == 0, "no write");
    int64_t hn = -1;
    W_RC(mc_smatrix_header_p(m, read_n, &hn), 0);
    W_CHECK(hn == 3, "header");
    REC(h2, hb2, 4);
    W_RC(mc_smatrix_header_set(m, &h2), 0);
    W_CHECK(((const rec *)mc_smatrix_header_ro(m))->n == 4, "header_set");
    W_RC(mc_smatrix_set_f64(m, 2, 1, 2.5), 0);
    W_CHECK(blk[9] == 2.5, "set_f64 (2, 1) is element 9");
    W_RC(mc_smatrix_get_f64(m, 2, 1, &v), 0);
    W_CHECK(v == 2.5 && mc_smatrix_ro_f64(m, 2, 1) == &blk[9], "get_f64");
    memcpy(before, blk, sizeof before);
    W_RC(mc_smatrix_set_f64(m, 3, 0, 1), MC_EINVAL);
    W_RC(mc_smatrix_set_f64(m, 0, 4, 1), MC_EINVAL);
    v = 42;
    W_RC(mc_smatrix_get_f64(m, 0, 4, &v), MC_EINVAL);
    W_CHECK(v == 0, "get_f64 out of range: v is 0, not %g", v);
    W_RC(mc_smatrix_set_i32(m, 0, 0, 1), MC_ETYPE);
    W_CHECK(mc_smatrix_ro_f64(m, 3, 0) == NULL, "ro_f64 out of range");
    W_CHECK(mc_smatrix_ro_f64(NULL, 0, 0) == NULL, "ro_f64 of NULL");
    W_RC(mc_smatrix_set_f64(NULL, 0, 0, 1), MC_EINVAL);
    W_RC(mc_smatrix_get_f64(NULL, 0, 0, &v), MC_EINVAL);
    W_CHECK(memcmp(before, blk, sizeof before) == 0, "no write (inline)");
    W_RC(mc_smatrix_destroy(m), 0);
    W_RC(mc_smatrix_destroy(m), MC_EINVAL);
    W_RC(mc_smatrix_set_f64(m, 0, 0, 1), MC_EINVAL);
    W_RC(mc_smatrix_set(m, 0, 0, &y), MC_EINVAL);

    if (!W_RC(mc_smatrix_init(p, &mc_type_f64, 30, 20, init_ij, NULL, NULL,
                              NULL, &m), 0)) {
        W_RC(mc_smatrix_get(m, 29, 19, &v), 0);
        W_CHECK(v == 2919, "init");
        W_RC(mc_smatrix_destroy(m), 0);
    }
    /* a matrix of records: slots, no data block */
    REC(r, rb, 6);
    if (!W_RC(mc_smatrix_make(p, &rec_type, 5, 5, &r, NULL, NULL, &m), 0)) {
        W_CHECK(mc_smatrix_data(m) == NULL, "no block for records");
        REC(q, qb, 9);
        W_RC(mc_smatrix_set(m, 4, 4, &q), 0);
        int64_t n = -1;
        W_RC(mc_smatrix_get_p(m, 4, 4, read_n, &n), 0);
        W_CHECK(n == 9, "set rec");
        W_RC(mc_smatrix_get_p(m, 0, 0, read_n, &n), 0);
        W_CHECK(n == 6, "make rec");
        W_RC(mc_smatrix_get(m, 0, 0, &q), MC_ETYPE);
        W_RC(mc_heap_gc(mc_smatrix_heap(m)), 0);
        W_RC(mc_smatrix_destroy(m), 0);
    }
    W_RC(mc_smatrix_make(p, &mc_type_f64, SIZE_MAX / 2, 3, &y, NULL, NULL,
                         &m), MC_EINVAL);
    W_RC(mc_pool_release(p), 0);
}

static void test_matrix(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_matrix, NULL, 0);
    tu_end();
}

/* ------------------------------ matrix property test across processes */

#define MR 13
#define MC 17

struct mprop_arg {
    mc_smatrix_descr df, dr;
    uint64_t seed;
    int ops;
};

/* One random set (or an out-of-range one), applied to the model and, if
 * mf, to the matrices. */
static void mprop_step(int64_t model[MR][MC], mc_smatrix *mf, mc_smatrix *mr)
{
    uint64_t r = rnd();
    size_t i = (r >> 8) % (MR + 1), j = (r >> 16) % (MC + 1);
    int64_t v = (int64_t)(r >> 24) % 1000;
    if (i < MR && j < MC)
        model[i][j] = v;
    if (!mf)
        return;
    int want = i < MR && j < MC ? 0 : MC_EINVAL;
    REC(x, xb, v);
    if (r & 1)
        W_RC(mc_smatrix_set_f64(mf, i, j, (double)v), want);
    else
        W_RC(mc_smatrix_set(mf, i, j, &(double){(double)v}), want);
    W_RC(mc_smatrix_set(mr, i, j, &x), want);
}

static void drv_mprop_worker(const void *arg, size_t len)
{
    struct mprop_arg a;
    W_CHECK(len == sizeof a, "arg");
    memcpy(&a, arg, sizeof a);
    mc_smatrix *mf, *mr;
    if (W_RC(mc_smatrix_of_descr(&a.df, &mc_type_f64, NULL, &mf), 0) ||
        W_RC(mc_smatrix_of_descr(&a.dr, &rec_type, NULL, &mr), 0))
        return;
    static int64_t model[MR][MC];
    rng_state = a.seed;
    for (int k = 0; k < a.ops && !tu_w_failed(); k++)
        mprop_step(model, mf, mr);
}

static void drv_mprop(const void *arg, size_t len)
{
    (void)arg; (void)len;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *p;
    mc_smatrix *mf, *mr;
    double zf = 0;
    REC(z, zb, 0);
    if (W_RC(mc_pool_create(64 * MiB, &p), 0) ||
        W_RC(mc_smatrix_make(p, &mc_type_f64, MR, MC, &zf, NULL, NULL, &mf),
             0) ||
        W_RC(mc_smatrix_make(p, &rec_type, MR, MC, &z, NULL, NULL, &mr), 0))
        return;
    static int64_t model[MR][MC]; /* zero, as the matrices */
    for (int round = 0; round < 3 && !tu_w_failed(); round++) {
        struct mprop_arg a = {.seed = 0xabcdefull + (uint64_t)round * 31,
                              .ops = 2000};
        W_RC(mc_smatrix_descr_of(mf, &a.df), 0);
        W_RC(mc_smatrix_descr_of(mr, &a.dr), 0);
        mc_pid w;
        if (W_RC(tu_start_fn_ex(drv_mprop_worker, &a, sizeof a, NULL, 0, &w),
                 0))
            break;
        W_JOIN_OK(tu_driver_jp, w, "matrix property worker");
        rng_state = a.seed;
        for (int k = 0; k < a.ops; k++)
            mprop_step(model, NULL, NULL);
        const double *data = mc_smatrix_data(mf);
        for (size_t i = 0; i < MR; i++)
            for (size_t j = 0; j < MC; j++) {
                const rec *e = mc_smatrix_get_ro(mr, i, j);
                if (data[i * MC + j] != (double)model[i][j] || !e ||
                    e->n != model[i][j] || rec_bad(e)) {
                    W_CHECK(0, "round %d: (%zu, %zu): %g and %lld, model "
                            "%lld", round, i, j, data[i * MC + j],
                            e ? (long long)e->n : -1LL,
                            (long long)model[i][j]);
                    i = MR;
                    break;
                }
            }
        W_RC(mc_heap_gc(mc_smatrix_heap(mr)), 0);
    }
    W_RC(mc_smatrix_destroy(mf), 0);
    W_RC(mc_smatrix_destroy(mr), 0);
    W_RC(mc_pool_release(p), 0);
}

static void test_matrix_prop(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_mprop, NULL, 0);
    tu_end();
}

/* ------------------------------------------------------------ full pool */

static void drv_full(const void *arg, size_t len)
{
    (void)arg; (void)len;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *p;
    mc_sarray *a, *b;
    int64_t one = 1;
    REC(r, rb, 1);
    if (W_RC(mc_pool_create(4 * MiB, &p), 0) ||
        W_RC(mc_sarray_make(p, &mc_type_i64, 10, &one, NULL, NULL, &a), 0) ||
        W_RC(mc_sarray_make(p, &rec_type, 10, &r, NULL, NULL, &b), 0))
        return;
    /* grow until the pool is full: the array as it was */
    size_t n = 10;
    int rc = 0;
    for (; n < ((size_t)1 << 30); n *= 2) {
        int64_t v = (int64_t)n;
        rc = mc_sarray_grow(a, n * 2, &v);
        if (rc)
            break;
    }
    W_CHECK(rc == MC_ENOMEM, "grow ended with %s", tu_code_name(rc));
    W_CHECK(mc_sarray_length(a) == n, "length %zu after a refused grow to "
            "%zu", mc_sarray_length(a), n * 2);
    int64_t v;
    W_RC(mc_sarray_get(a, n - 1, &v), 0);
    W_CHECK(v == (int64_t)n / 2, "last element %lld", (long long)v);
    W_RC(mc_sarray_get(a, 0, &v), 0);
    W_CHECK(v == 1, "first element");
    /* sets of records until the pool is full: the old value stays */
    char *big = malloc(256 * 1024);
    memset(big, 'x', 256 * 1024 - 1);
    big[256 * 1024 - 1] = 0;
    rec bigr = {-7, big};
    for (int i = 0; i < 64 && !rc; i++) {
        /* each grow keeps one more big string alive */
        rc = mc_sarray_grow(b, mc_sarray_length(b) + 1, &bigr);
    }
    W_CHECK(rc == MC_ENOMEM, "big grows ended with %s", tu_code_name(rc));
    size_t bl = mc_sarray_length(b);
    /* a value larger than what is left, even after a collection */
    char *huge = malloc(3 * MiB);
    memset(huge, 'y', 3 * MiB - 1);
    huge[3 * MiB - 1] = 0;
    rec huger = {-8, huge};
    rc = mc_sarray_set(b, 0, &huger);
    free(huge);
    W_CHECK(rc == MC_ENOMEM, "set ended with %s", tu_code_name(rc));
    int64_t n0 = -1;
    W_RC(mc_sarray_get_p(b, 0, read_n, &n0), 0);
    W_CHECK(n0 == 1, "old value kept: %lld", (long long)n0);
    W_CHECK(mc_sarray_length(b) == bl, "length kept");
    free(big);
    /* usable again once the memory is free */
    W_RC(mc_sarray_destroy(a), 0);
    REC(s, sb, 2);
    W_RC(mc_sarray_set(b, 0, &s), 0);
    W_RC(mc_heap_gc(mc_sarray_heap(b)), 0);
    W_RC(mc_sarray_destroy(b), 0);
    W_RC(mc_pool_release(p), 0);
}

static void test_full(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_full, NULL, 0);
    tu_end();
}

/* ------------------------------------------------ every slot taken */

/* Elements that are heap values are read in one of the heap's reader
 * slots (mc__heap_read_slot).  256 live threads each hold one; the
 * driver's thread, with none left for it, reads under the lock, and
 * inside its own mutation of the heap (the lock it holds) as it is; a set
 * there is refused (one mutation per heap per thread). */
#define N_HOLDERS 256 /* MC__NREADERS */

struct holders {
    mc_sarray *a;
    pthread_barrier_t read, done;
    int failed;
};

static void *hold_slot(void *arg)
{
    struct holders *hs = arg;
    int64_t n = -1;
    if (mc_sarray_get_p(hs->a, 1, read_n, &n) || n != 3)
        __atomic_store_n(&hs->failed, 1, __ATOMIC_RELAXED);
    pthread_barrier_wait(&hs->read);
    pthread_barrier_wait(&hs->done); /* alive: the slot stays claimed */
    return NULL;
}

/* get_c and get_p of element i: 0 if both read want */
static int read_both(mc_sarray *a, size_t i, int64_t want)
{
    rec *c = NULL;
    int64_t n = -1;
    int rc = mc_sarray_get_c(a, i, (void **)&c);
    int ok = !rc && c && c->n == want && !rec_bad(c);
    mc_local_free(c);
    rc = mc_sarray_get_p(a, i, read_n, &n);
    return ok && !rc && n == want ? 0 : -1;
}

static void drv_slots(const void *arg, size_t len)
{
    (void)arg; (void)len;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *p;
    struct holders hs = {0};
    REC(r, rb, 3);
    if (W_RC(mc_pool_create(16 * MiB, &p), 0) ||
        W_RC(mc_sarray_make(p, &rec_type, 4, &r, NULL, NULL, &hs.a), 0))
        return;
    /* (no read by this thread before the holders: it would keep a slot) */
    mc_mut *mut;
    W_RC(mc_heap_begin(mc_sarray_heap(hs.a), &mut), 0);
    REC(x, xb, 4);
    W_RC(mc_sarray_set(hs.a, 2, &x), MC_ESTATE); /* one mutation a thread */
    W_RC(mc_heap_commit(mut), 0);
    W_RC(mc_sarray_set(hs.a, 2, &x), 0);
    pthread_barrier_init(&hs.read, NULL, N_HOLDERS + 1);
    pthread_barrier_init(&hs.done, NULL, N_HOLDERS + 1);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 64 * 1024);
    pthread_t th[N_HOLDERS];
    int n = 0;
    for (; n < N_HOLDERS; n++)
        if (pthread_create(&th[n], &at, hold_slot, &hs))
            break;
    W_CHECK(n == N_HOLDERS, "started %d threads", n);
    if (n == N_HOLDERS) {
        pthread_barrier_wait(&hs.read);
        W_CHECK(!hs.failed, "a holder's read");
        W_CHECK(read_both(hs.a, 2, 4) == 0, "read without a slot");
        REC(y, yb, 5);
        W_RC(mc_sarray_set(hs.a, 0, &y), 0);
        W_RC(mc_heap_gc(mc_sarray_heap(hs.a)), 0);
        W_CHECK(read_both(hs.a, 0, 5) == 0, "read after a set");
        W_RC(mc_heap_begin(mc_sarray_heap(hs.a), &mut), 0);
        W_CHECK(read_both(hs.a, 0, 5) == 0, "read inside the mutation");
        W_RC(mc_heap_commit(mut), 0);
        pthread_barrier_wait(&hs.done);
    }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    pthread_attr_destroy(&at);
    pthread_barrier_destroy(&hs.read);
    pthread_barrier_destroy(&hs.done);
    W_RC(mc_sarray_destroy(hs.a), 0);
    W_RC(mc_pool_release(p), 0);
}

static void test_slots(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_slots, NULL, 0);
    tu_end();
}

/* ---------------------------------------------- kill -9 in grow and set */

struct kill_arg {
    mc_sarray_descr d;
    mc_sarray_descr dpid;
    int it;
};

static void drv_kill_victim(const void *arg, size_t len)
{
    struct kill_arg a;
    memcpy(&a, arg, sizeof a);
    (void)len;
    mc_sarray *ar, *pa;
    if (W_RC(mc_sarray_of_descr(&a.d, &rec_type, NULL, &ar), 0) ||
        W_RC(mc_sarray_of_descr(&a.dpid, &mc_type_i64, NULL, &pa), 0))
        return;
    int64_t me = (int64_t)getpid();
    W_RC(mc_sarray_set(pa, 0, &me), 0);
    rng_state = (uint64_t)a.it * 7919 + 1;
    for (;;) { /* until killed */
        size_t n = mc_sarray_length(ar);
        int rc;
        if (rnd() % 3 == 0 && n < 50000) {
            REC(g, gb, -1);
            rc = mc_sarray_grow(ar, n + 1 + rnd() % 4, &g);
        } else {
            size_t i = (size_t)rnd() % n;
            REC(x, xb, (int64_t)i);
            rc = mc_sarray_set(ar, i, &x);
        }
        if (rc && rc != MC_EOWNERDEAD) {
            W_RC(rc, 0);
            return;
        }
    }
}

#define KILLS 200

static void drv_kill(const void *arg, size_t len)
{
    (void)arg; (void)len;
    setenv("MC_DEBUG", "1", 1);
    alarm(240);
    mc_pool *p;
    mc_sarray *ar, *pa;
    REC(r, rb, 0);
    int64_t zero = 0;
    if (W_RC(mc_pool_create(256 * MiB, &p), 0) ||
        W_RC(mc_sarray_make(p, &rec_type, 1, &r, NULL, NULL, &ar), 0) ||
        W_RC(mc_sarray_make(p, &mc_type_i64, 1, &zero, NULL, NULL, &pa), 0))
        return;
    struct kill_arg a = {.it = 0};
    W_RC(mc_sarray_descr_of(ar, &a.d), 0);
    W_RC(mc_sarray_descr_of(pa, &a.dpid), 0);
    int dead = 0;
    rng_state = 99;
    for (int it = 0; it < KILLS && !tu_w_failed(); it++) {
        a.it = it;
        mc_pid pid;
        if (W_RC(tu_start_fn(drv_kill_victim, &a, sizeof a, &pid), 0))
            break;
        int64_t ospid = 0;
        while (!mc_sarray_get(pa, 0, &ospid) && ospid == 0)
            usleep(50);
        usleep((useconds_t)(rnd() % 3000));
        kill((pid_t)ospid, SIGKILL);
        mc_join_result jr = {0};
        W_RC(mc_join(tu_driver_jp, pid, &jr), 0);
        W_CHECK(jr.kind == MC_EXIT_SIGNAL && jr.code == SIGKILL,
                "victim %d: %s", it, tu_kind_str(&jr));
        mc_join_result_free(&jr);
        W_RC(mc_sarray_set(pa, 0, &zero), 0);
        /* valid: every element is -1 (grown) or its index, the heap
         * verifies (MC_DEBUG), and the array is usable */
        size_t n = mc_sarray_length(ar);
        /* all of it now and then, else the end (where grows were) */
        for (size_t i = it % 20 == 0 || n < 2000 ? 0 : n - 2000; i < n; i++) {
            const rec *e = mc_sarray_get_ro(ar, i);
            if (!e || rec_bad(e) || (e->n != -1 && e->n != (int64_t)i)) {
                W_CHECK(0, "kill %d: element %zu of %zu", it, i, n);
                break;
            }
        }
        REC(x, xb, 0);
        int rc = mc_sarray_set(ar, 0, &x);
        W_CHECK(rc == 0 || rc == MC_EOWNERDEAD, "set after kill %d: %s", it,
                tu_code_name(rc));
        dead += rc == MC_EOWNERDEAD;
        REC(g, gb, -1);
        rc = mc_sarray_grow(ar, n + 1, &g);
        W_CHECK(rc == 0, "grow after kill %d: %s", it, tu_code_name(rc));
        if (it % 10 == 0)
            W_RC(mc_heap_gc(mc_sarray_heap(ar)), 0);
    }
    if (getenv("MC_TEST_VERBOSE"))
        fprintf(stderr, "sarray kill loop: %d of %d kills held the lock, "
                "length %zu\n", dead, KILLS, mc_sarray_length(ar));
    W_CHECK(dead > 0, "no kill hit the lock (of %d)", KILLS);
    W_RC(mc_heap_gc(mc_sarray_heap(ar)), 0);
    W_RC(mc_sarray_destroy(ar), 0);
    W_RC(mc_sarray_destroy(pa), 0);
    W_RC(mc_pool_release(p), 0);
}

static void test_kill(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_kill, NULL, 0);
    tu_end();
}

static int group_setup(void **state)
{
    (void)state;
    tu_def_driver();
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inline),
        cmocka_unit_test(test_boxed),
        cmocka_unit_test(test_prop),
        cmocka_unit_test(test_grow_readers),
        cmocka_unit_test(test_descr),
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_matrix_prop),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_slots),
        cmocka_unit_test(test_kill),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
