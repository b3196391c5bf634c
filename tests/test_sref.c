/* test_sref.c: shared references and their descriptors (mcore/sref.h). */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcore/sref.h"
#include "testutil.h"

#define MiB ((size_t)1 << 20)

/* A small record: an int and a string that spells it, so that a torn or
 * freed value shows. */
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
    .name = "rec", .id = 0x2f6b1d0e9a8c7b35ull, .size = sizeof(rec),
    .align = _Alignof(rec), .copy = rec_copy, .trace = rec_trace,
};

static const mc_type other_type = {
    .name = "other", .id = 0x2f6b1d0e9a8c7b36ull, .size = sizeof(rec),
    .align = _Alignof(rec), .copy = rec_copy, .trace = rec_trace,
};

static void spell(char *buf, size_t n, int64_t v)
{
    snprintf(buf, n, "value-%lld", (long long)v);
}

/* 0 if r is consistent (its string spells its number). */
static int rec_bad(const rec *r)
{
    char buf[64];
    spell(buf, sizeof buf, r->n);
    return r->s == NULL || strcmp(r->s, buf) != 0;
}

static int assign_n(mc_sref *s, int64_t n)
{
    char buf[64];
    spell(buf, sizeof buf, n);
    rec r = {n, buf};
    return mc_sref_assign(s, &r);
}

static int check_pinned(const void *v, void *ctx)
{
    const rec *r = v;
    *(int64_t *)ctx = r->n;
    return rec_bad(r) ? MC_EINVAL : 0;
}

/* ------------------------------------------------------------- basics */

static void drv_basics(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_sref *s;
    if (W_RC(mc_pool_create(64 * MiB, &p), 0))
        return;
    char buf[64];
    spell(buf, sizeof buf, 0);
    rec init = {0, buf};
    if (W_RC(mc_sref_create(p, &rec_type, &init, &s), 0))
        return;
    W_CHECK(mc_sref_type(s) == &rec_type, "type");
    const rec *ro = mc_sref_deref_ro(s);
    W_CHECK(ro->n == 0 && !rec_bad(ro) && ro->s != buf,
            "the initial value is a copy in the heap");
    for (int64_t i = 1; i <= 20000; i++)
        if (W_RC(assign_n(s, i), 0))
            return;
    rec *c;
    if (!W_RC(mc_sref_deref_c(s, (void **)&c), 0)) {
        W_CHECK(c->n == 20000 && !rec_bad(c), "deref_c: %lld",
                (long long)c->n);
        mc_local_free(c);
    }
    int64_t seen = -1;
    W_RC(mc_sref_deref_p(s, check_pinned, &seen), 0);
    W_CHECK(seen == 20000, "deref_p saw %lld", (long long)seen);
    /* 20000 assignments of garbage were collected: the heap stays small */
    mc_heap_stats st;
    W_RC(mc_heap_stats_get(mc_sref_heap(s), &st), 0);
    W_CHECK(st.collections > 0, "no collection ran");
    W_CHECK(st.heap_bytes < 8 * MiB, "heap grew to %zu bytes", st.heap_bytes);
    W_RC(mc_sref_assign(s, NULL), MC_EINVAL);
    W_RC(mc_sref_deref_c(s, NULL), MC_EINVAL);
    W_RC(mc_sref_destroy(s), 0);
    /* a destroyed sref: errors and NULLs, not its stale value */
    W_RC(mc_sref_destroy(s), MC_EINVAL);
    W_CHECK(mc_sref_deref_ro(s) == NULL, "deref_ro after destroy");
    W_CHECK(mc_sref_type(s) == NULL, "type after destroy");
    W_RC(assign_n(s, 1), MC_EINVAL);
    W_RC(mc_sref_deref_c(s, (void **)&c), MC_EINVAL);
}

static void test_basics(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_basics, NULL, 0);
    tu_end();
}

/* -------------------------------------------- descriptors across workers */

static void drv_use_descr(const void *arg, size_t len)
{
    mc_sref_descr d;
    W_CHECK(len == sizeof d, "arg");
    memcpy(&d, arg, sizeof d);
    mc_sref *s;
    W_RC(mc_sref_of_descr(&d, &other_type, &s), MC_ETYPE);
    if (W_RC(mc_sref_of_descr(&d, &rec_type, &s), 0))
        return;
    const rec *r = mc_sref_deref_ro(s);
    W_CHECK(r->n == 7 && !rec_bad(r), "the creator's value");
    W_RC(assign_n(s, 8), 0);
}

static void drv_descr(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_sref *s;
    mc_sref_descr d;
    char buf[64];
    spell(buf, sizeof buf, 7);
    rec init = {7, buf};
    if (W_RC(mc_pool_create(16 * MiB, &p), 0) ||
        W_RC(mc_sref_create(p, &rec_type, &init, &s), 0) ||
        W_RC(mc_sref_descr_of(s, &d), 0))
        return;
    mc_pid w;
    /* inheriting nothing: the worker maps the pool through the master */
    if (!W_RC(tu_start_fn_ex(drv_use_descr, &d, sizeof d, NULL, 0, &w), 0))
        W_JOIN_OK(tu_driver_jp, w, "descriptor user");
    const rec *r = mc_sref_deref_ro(s);
    W_CHECK(r->n == 8 && !rec_bad(r), "the worker's assignment: %lld",
            (long long)r->n);
    /* a stale descriptor: the sref is gone */
    W_RC(mc_sref_destroy(s), 0);
    W_RC(mc_sref_of_descr(&d, &rec_type, &s), MC_EINVAL);
}

static void test_descr(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_descr, NULL, 0);
    tu_end();
}

/* ------------------------------------------------------ heap descriptors */

static void drv_heap_user(const void *arg, size_t len)
{
    mc_heap_descr d;
    W_CHECK(len == sizeof d, "arg");
    memcpy(&d, arg, sizeof d);
    mc_heap *h;
    W_RC(mc_heap_of_descr(&d, &other_type, &h), MC_ETYPE);
    if (W_RC(mc_heap_of_descr(&d, &rec_type, &h), 0))
        return;
    const rec *r = mc_heap_root_ro(h);
    W_CHECK(r->n == 5 && !rec_bad(r), "root seen through the descriptor");
    mc_heap_descr bad = d;
    bad.gen++;
    W_RC(mc_heap_of_descr(&bad, &rec_type, &h), MC_EINVAL);
    bad = d;
    bad.magic = 0;
    W_RC(mc_heap_of_descr(&bad, &rec_type, &h), MC_EINVAL);
}

static void drv_heap_descr(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_heap *h;
    mc_heap_descr d;
    char buf[64];
    spell(buf, sizeof buf, 5);
    rec init = {5, buf};
    if (W_RC(mc_pool_create(16 * MiB, &p), 0) ||
        W_RC(mc_heap_create(p, &rec_type, &init, &h), 0) ||
        W_RC(mc_heap_descr_of(h, &d), 0))
        return;
    W_CHECK(d.type_id == rec_type.id, "the descriptor carries the type id");
    mc_pid w;
    if (!W_RC(tu_start_fn_ex(drv_heap_user, &d, sizeof d, NULL, 0, &w), 0))
        W_JOIN_OK(tu_driver_jp, w, "heap descriptor user");
    W_RC(mc_heap_destroy(h), 0);
    W_RC(mc_heap_of_descr(&d, &rec_type, &h), MC_EINVAL);
}

static void test_heap_descr(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_heap_descr, NULL, 0);
    tu_end();
}

/* ------------------------------------- refusals give the pool's hold back */

typedef struct two_descr {
    mc_sref_descr s;
    mc_heap_descr h;
} two_descr;

/* Is the pool held by this process?  mc_release says (and ends the hold:
 * take it again if so). */
static int pool_held(int64_t id)
{
    int rc = mc_release(id);
    if (rc == 0) {
        mc_pool *p;
        W_RC(mc_pool_lookup(id, &p), 0);
        return 1;
    }
    W_CHECK(rc == MC_ENOENT, "mc_release: %s", tu_code_name(rc));
    return 0;
}

/* Each refusal, not holding the pool before and holding it before. */
static void refusals(const two_descr *d, int held)
{
    const char *when = held ? "held before" : "not held before";
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    mc_sref *s;
    mc_heap *h;
    mc_sref_descr sd = d->s;
    sd.offset += page; /* no heap there */
    W_RC(mc_sref_of_descr(&sd, &rec_type, &s), MC_EINVAL);
    W_CHECK(pool_held(d->s.pool) == held, "sref, bad offset, %s", when);
    sd = d->s;
    sd.gen++;
    W_RC(mc_sref_of_descr(&sd, &rec_type, &s), MC_EINVAL);
    W_CHECK(pool_held(d->s.pool) == held, "sref, stale, %s", when);
    W_RC(mc_sref_of_descr(&d->s, &other_type, &s), MC_ETYPE);
    W_CHECK(pool_held(d->s.pool) == held, "sref, another type, %s", when);
    mc_heap_descr hd = d->h;
    hd.gen++;
    W_RC(mc_heap_of_descr(&hd, &rec_type, &h), MC_EINVAL);
    W_CHECK(pool_held(d->h.pool) == held, "heap, stale, %s", when);
    hd = d->h;
    hd.type_id = other_type.id; /* the heap's root is a rec */
    W_RC(mc_heap_of_descr(&hd, &other_type, &h), MC_ETYPE);
    W_CHECK(pool_held(d->h.pool) == held, "heap, another type, %s", when);
}

static void drv_refused_user(const void *arg, size_t len)
{
    two_descr d;
    W_CHECK(len == sizeof d, "arg");
    memcpy(&d, arg, sizeof d);
    W_CHECK(!pool_held(d.s.pool), "the pool is not inherited");
    refusals(&d, 0);
    mc_sref *s;
    if (W_RC(mc_sref_of_descr(&d.s, &rec_type, &s), 0))
        return;
    W_CHECK(pool_held(d.s.pool), "an accepted descriptor holds the pool");
    refusals(&d, 1);
}

static void drv_refused(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_sref *s;
    mc_heap *h;
    two_descr d;
    char buf[64];
    spell(buf, sizeof buf, 3);
    rec init = {3, buf};
    if (W_RC(mc_pool_create(16 * MiB, &p), 0) ||
        W_RC(mc_sref_create(p, &rec_type, &init, &s), 0) ||
        W_RC(mc_heap_create(p, &rec_type, &init, &h), 0) ||
        W_RC(mc_sref_descr_of(s, &d.s), 0) ||
        W_RC(mc_heap_descr_of(h, &d.h), 0))
        return;
    mc_pid w;
    if (!W_RC(tu_start_fn_ex(drv_refused_user, &d, sizeof d, NULL, 0, &w), 0))
        W_JOIN_OK(tu_driver_jp, w, "descriptor refusals");
    W_RC(mc_heap_destroy(h), 0);
    W_RC(mc_sref_destroy(s), 0);
}

/* A refused descriptor gives back the pool's hold its
 * lookup took, and leaves a hold the caller had before. */
static void test_refused_descr_hold(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_refused, NULL, 0);
    tu_end();
}

/* ----------------------------------------------------- garbage in, no crash */

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void drv_garbage(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_sref *s, *got;
    mc_sref_descr good, d;
    char buf[64];
    spell(buf, sizeof buf, 1);
    rec init = {1, buf};
    if (W_RC(mc_pool_create(16 * MiB, &p), 0) ||
        W_RC(mc_sref_create(p, &rec_type, &init, &s), 0) ||
        W_RC(mc_sref_descr_of(s, &good), 0))
        return;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    int ok = 0;
    for (int i = 0; i < 10000; i++) {
        unsigned char *b = (unsigned char *)&d;
        if (i % 2) { /* random bytes */
            for (size_t k = 0; k < sizeof d; k++)
                b[k] = (unsigned char)rnd(&x);
        } else { /* a good descriptor with one field bent */
            d = good;
            uint64_t v = rnd(&x);
            switch (v % 4) {
            case 0: d.pool = (int64_t)(rnd(&x) % 64); break;
            case 1: d.offset = rnd(&x) % (32 * MiB); break;
            case 2: d.gen ^= 1 + rnd(&x) % 255; break;
            default: d.offset += 8 * (1 + rnd(&x) % 64); break;
            }
        }
        int same = memcmp(&d, &good, sizeof d) == 0;
        int rc = mc_sref_of_descr(&d, &rec_type, &got);
        if (rc == 0) {
            W_CHECK(same, "garbage descriptor %d accepted", i);
            ok++;
        } else if (same) {
            W_CHECK(0, "the good descriptor was refused: %s", tu_err(rc));
        } else if (rc != MC_EINVAL && rc != MC_ETYPE) {
            W_CHECK(0, "garbage descriptor %d: %s", i, tu_err(rc));
            return;
        }
    }
    W_CHECK(ok > 0 && ok < 100, "%d bent descriptors were the good one",
            ok);
    W_RC(mc_sref_of_descr(&good, &rec_type, &got), 0);
    W_CHECK(got == s, "the good one still works");
}

static void test_garbage(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_garbage, NULL, 0);
    tu_end();
}

/* ------------------------------------------ concurrent assign and read */

struct conc {
    mc_sref_descr d;
    int role; /* 0: writer, 1: copy reader, 2: pinned reader */
};

enum { N_ASSIGN = 20000 };

static void drv_conc_worker(const void *arg, size_t len)
{
    struct conc c;
    W_CHECK(len == sizeof c, "arg");
    memcpy(&c, arg, sizeof c);
    mc_sref *s;
    if (W_RC(mc_sref_of_descr(&c.d, &rec_type, &s), 0))
        return;
    if (c.role == 0) {
        for (int64_t i = 1; i <= N_ASSIGN; i++)
            if (W_RC(assign_n(s, i), 0))
                return;
        return;
    }
    int64_t last = 0;
    while (last < N_ASSIGN) {
        int64_t n = -1;
        if (c.role == 1) {
            rec *r;
            if (W_RC(mc_sref_deref_c(s, (void **)&r), 0))
                return;
            if (rec_bad(r)) {
                W_CHECK(0, "torn copy: %lld", (long long)r->n);
                mc_local_free(r);
                return;
            }
            n = r->n;
            mc_local_free(r);
        } else if (W_RC(mc_sref_deref_p(s, check_pinned, &n), 0)) {
            return;
        }
        if (n < last) {
            W_CHECK(0, "went back from %lld to %lld", (long long)last,
                    (long long)n);
            return;
        }
        last = n;
    }
}

static void drv_conc(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_sref *s;
    struct conc c;
    char buf[64];
    spell(buf, sizeof buf, 0);
    rec init = {0, buf};
    if (W_RC(mc_pool_create(64 * MiB, &p), 0) ||
        W_RC(mc_sref_create(p, &rec_type, &init, &s), 0) ||
        W_RC(mc_sref_descr_of(s, &c.d), 0))
        return;
    mc_pid w[3];
    for (int i = 0; i < 3; i++) {
        c.role = 2 - i; /* readers first */
        W_RC(tu_start_fn(drv_conc_worker, &c, sizeof c, &w[i]), 0);
    }
    for (int i = 0; i < 3; i++)
        W_JOIN_OK(tu_driver_jp, w[i], "concurrent worker");
    W_CHECK(((const rec *)mc_sref_deref_ro(s))->n == N_ASSIGN, "final");
}

static void test_concurrent(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_conc, NULL, 0);
    tu_end();
}

/* ------------------------------------------ many srefs read in turn */

/* One thread reads more heaps in turn than its reader-slot cache holds,
 * more times than a heap has slots.  Each heap must still have free
 * slots: a reader in another process reads every one while the driver
 * holds all their locks, and a _c read inside a mutation of its own heap
 * takes no lock (sref.h). */
#define N_SREFS 20
#define N_ROUNDS 300 /* > MC__NREADERS (256) */

static void drv_many_reader(const void *arg, size_t len)
{
    W_CHECK(len == N_SREFS * sizeof(mc_sref_descr), "arg");
    const mc_sref_descr *d = arg;
    alarm(60); /* a read that waits for the driver's locks waits for ever */
    for (int i = 0; i < N_SREFS; i++) {
        mc_sref *s;
        rec *r;
        if (W_RC(mc_sref_of_descr(&d[i], &rec_type, &s), 0) ||
            W_RC(mc_sref_deref_c(s, (void **)&r), 0))
            return;
        W_CHECK(r->n == i && !rec_bad(r), "sref %d holds %lld", i,
                (long long)r->n);
        mc_local_free(r);
    }
    alarm(0);
}

static void drv_many(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_sref *s[N_SREFS];
    mc_sref_descr d[N_SREFS];
    char buf[64];
    if (W_RC(mc_pool_create(64 * MiB, &p), 0))
        return;
    for (int i = 0; i < N_SREFS; i++) {
        spell(buf, sizeof buf, i);
        rec init = {i, buf};
        if (W_RC(mc_sref_create(p, &rec_type, &init, &s[i]), 0) ||
            W_RC(mc_sref_descr_of(s[i], &d[i]), 0))
            return;
    }
    for (int k = 0; k < N_ROUNDS && !tu_w_failed(); k++)
        for (int i = 0; i < N_SREFS; i++) {
            int64_t n = -1;
            W_RC(mc_sref_deref_p(s[i], check_pinned, &n), 0);
            W_CHECK(n == i, "round %d: sref %d read %lld", k, i,
                    (long long)n);
        }
    mc_mut *mut[N_SREFS];
    for (int i = 0; i < N_SREFS; i++)
        if (W_RC(mc_heap_begin(mc_sref_heap(s[i]), &mut[i]), 0))
            return;
    mc_pid w;
    if (!W_RC(tu_start_fn(drv_many_reader, d, sizeof d, &w), 0))
        W_JOIN_OK(tu_driver_jp, w, "reader of every sref");
    /* s[0] left this thread's cache in the last round */
    rec *r = NULL;
    W_RC(mc_sref_deref_c(s[0], (void **)&r), 0);
    W_CHECK(r && r->n == 0, "deref_c inside the mutation");
    mc_local_free(r);
    for (int i = 0; i < N_SREFS; i++) {
        W_RC(mc_heap_commit(mut[i]), 0);
        W_RC(mc_sref_destroy(s[i]), 0);
    }
    W_RC(mc_pool_release(p), 0);
}

static void test_many(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_many, NULL, 0);
    tu_end();
}

/* ------------------------------------------------------------ regions */

/* Assignments of values of many sizes through collections: after each
 * collection the free space is large free blocks, and copies carve from
 * them (heap.c: regions).  MC_DEBUG verifies the tiling, the lists and the
 * poison of free blocks after every collection. */
static void drv_regions(const void *arg, size_t len)
{
    (void)arg; (void)len;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *p;
    mc_sref *s;
    char buf[1200];
    spell(buf, sizeof buf, 0);
    rec init = {0, buf};
    if (W_RC(mc_pool_create(64 * MiB, &p), 0) ||
        W_RC(mc_sref_create(p, &rec_type, &init, &s), 0))
        return;
    int ok = 1;
    for (int64_t i = 1; i <= 40000 && ok; i++) {
        /* "value-<i>" padded to 1..1100 bytes, then cut back to spell i */
        size_t pad = (size_t)(i * 7919 % 1100);
        int k = snprintf(buf, sizeof buf, "value-%lld", (long long)i);
        memset(buf + k, 'x', pad);
        buf[k + pad] = '\0';
        rec r = {i, buf};
        ok = W_RC(mc_sref_assign(s, &r), 0) == 0;
        const rec *ro = mc_sref_deref_ro(s);
        if (ok && !(ro->n == i && strlen(ro->s) == (size_t)k + pad &&
                    strncmp(ro->s, buf, (size_t)k) == 0)) {
            W_CHECK(0, "value %lld", (long long)i);
            ok = 0;
        }
        if (i % 5000 == 0)
            ok = ok && W_RC(mc_heap_gc(mc_sref_heap(s)), 0) == 0;
    }
    mc_heap_stats st;
    W_RC(mc_heap_stats_get(mc_sref_heap(s), &st), 0);
    W_CHECK(st.collections > 10, "collections %llu",
            (unsigned long long)st.collections);
    /* freed memory is reused (regions take it), the heap does not grow */
    W_CHECK(st.heap_bytes < 4 * MiB, "heap grew to %zu bytes",
            st.heap_bytes);
    W_RC(mc_sref_destroy(s), 0);
    W_RC(mc_pool_release(p), 0);
}

static void test_regions(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_regions, NULL, 0);
    tu_end();
}

/* kill -9 of a process in the middle of assignments (regions, commits,
 * collections), many times: the next assignment happens, and the next
 * collection (verified: MC_DEBUG) finds a valid heap. */
static void drv_kill_victim(const void *arg, size_t len)
{
    mc_sref_descr d;
    W_CHECK(len == sizeof d, "arg");
    memcpy(&d, arg, sizeof d);
    mc_sref *s;
    if (W_RC(mc_sref_of_descr(&d, &rec_type, &s), 0))
        return;
    /* the driver learns whom to kill from the values: -(pid << 24 | i) */
    int64_t me = (int64_t)getpid() << 24;
    for (int64_t i = 1;; i++)
        if (W_RC(assign_n(s, -(me | (i & 0xffffff))), 0))
            return;
}

enum { SREF_KILLS = 200 };

static void drv_kill(const void *arg, size_t len)
{
    (void)arg; (void)len;
    setenv("MC_DEBUG", "1", 1);
    alarm(240); /* a deadlock ends the driver (and fails the test) */
    mc_pool *p;
    mc_sref *s;
    mc_sref_descr d;
    char buf[64];
    spell(buf, sizeof buf, 0);
    rec init = {0, buf};
    if (W_RC(mc_pool_create(64 * MiB, &p), 0) ||
        W_RC(mc_sref_create(p, &rec_type, &init, &s), 0) ||
        W_RC(mc_sref_descr_of(s, &d), 0))
        return;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    int owner_dead = 0;
    for (int it = 0; it < SREF_KILLS && !tu_w_failed(); it++) {
        mc_pid pid;
        if (W_RC(tu_start_fn(drv_kill_victim, &d, sizeof d, &pid), 0))
            break;
        int64_t n;
        while ((n = __atomic_load_n(
                    &((const rec *)mc_sref_deref_ro(s))->n,
                    __ATOMIC_ACQUIRE)) >= 0)
            usleep(50);
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        usleep((useconds_t)(seed >> 33) % 3000);
        kill((pid_t)(-n >> 24), SIGKILL);
        mc_join_result r = {0};
        W_RC(mc_join(tu_driver_jp, pid, &r), 0);
        W_CHECK(r.kind == MC_EXIT_SIGNAL && r.code == SIGKILL,
                "victim %d: %s", it, tu_kind_str(&r));
        mc_join_result_free(&r);
        /* the value is whole: the last assignment the victim finished */
        rec *c = NULL;
        if (!W_RC(mc_sref_deref_c(s, (void **)&c), 0)) {
            W_CHECK(!rec_bad(c), "kill %d: torn value", it);
            mc_local_free(c);
        }
        mc_mut *mut; /* (only to count the kills inside a mutation) */
        int rc = mc_heap_begin(mc_sref_heap(s), &mut);
        W_CHECK(rc == 0 || rc == MC_EOWNERDEAD, "kill %d: begin: %s", it,
                tu_code_name(rc));
        owner_dead += rc == MC_EOWNERDEAD;
        if (rc == 0 || rc == MC_EOWNERDEAD)
            W_RC(mc_heap_commit(mut), 0);
        W_RC(assign_n(s, 0), 0);
        W_RC(mc_heap_gc(mc_sref_heap(s)), 0);
        const rec *ro = mc_sref_deref_ro(s);
        W_CHECK(ro->n == 0 && !rec_bad(ro), "kill %d: value after", it);
    }
    alarm(0);
    if (getenv("MC_TEST_VERBOSE"))
        fprintf(stderr, "sref kill: %d kills, %d inside a mutation\n",
                SREF_KILLS, owner_dead);
    W_RC(mc_sref_destroy(s), 0);
    W_RC(mc_pool_release(p), 0);
}

static void test_kill(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_kill, NULL, 0);
    tu_end();
}

/* ------------------------------------------------ every slot taken */

/* 256 live threads each hold a reader slot of the heap; the driver's
 * thread, with none left for it, reads under the lock, and inside its own
 * mutation of the heap under the lock it holds (sref.h: no deadlock, no
 * MC_ESTATE). */
#define N_HOLDERS 256 /* MC__NREADERS */

struct holders {
    mc_sref *s;
    pthread_barrier_t read, done;
    int failed;
};

static void *hold_slot(void *arg)
{
    struct holders *hs = arg;
    int64_t n = -1;
    if (mc_sref_deref_p(hs->s, check_pinned, &n) || n != 3)
        __atomic_store_n(&hs->failed, 1, __ATOMIC_RELAXED);
    pthread_barrier_wait(&hs->read);
    pthread_barrier_wait(&hs->done); /* alive: the slot stays claimed */
    return NULL;
}

static void drv_full(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    struct holders hs = {0};
    char buf[64];
    spell(buf, sizeof buf, 3);
    rec init = {3, buf};
    if (W_RC(mc_pool_create(16 * MiB, &p), 0) ||
        W_RC(mc_sref_create(p, &rec_type, &init, &hs.s), 0))
        return;
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
        rec *r = NULL;
        W_RC(mc_sref_deref_c(hs.s, (void **)&r), 0); /* under the lock */
        W_CHECK(r && r->n == 3, "read without a slot");
        mc_local_free(r);
        mc_mut *mut;
        W_RC(mc_heap_begin(mc_sref_heap(hs.s), &mut), 0);
        r = NULL;
        W_RC(mc_sref_deref_c(hs.s, (void **)&r), 0); /* the lock is ours */
        W_CHECK(r && r->n == 3, "read inside the mutation");
        mc_local_free(r);
        int64_t v = -1;
        W_RC(mc_sref_deref_p(hs.s, check_pinned, &v), 0);
        W_CHECK(v == 3, "deref_p inside the mutation: %lld", (long long)v);
        W_RC(mc_heap_commit(mut), 0);
        pthread_barrier_wait(&hs.done);
    }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    pthread_attr_destroy(&at);
    pthread_barrier_destroy(&hs.read);
    pthread_barrier_destroy(&hs.done);
    W_RC(mc_sref_destroy(hs.s), 0);
    W_RC(mc_pool_release(p), 0);
}

static void test_full(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_full, NULL, 0);
    tu_end();
}

static int group_setup(void **state)
{
    (void)state;
    tu_def_driver();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_descr),
        cmocka_unit_test(test_heap_descr),
        cmocka_unit_test(test_refused_descr_hold),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_regions),
        cmocka_unit_test(test_kill),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
