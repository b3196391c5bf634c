/* test_shashtbl.c: shared hash tables (mcore/shashtbl.h): the API against
 * a local model from several processes, readers during resizes, update
 * without lost updates, kill -9 inside writes, descriptors, a full pool. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcore/shashtbl.h"
#include "testutil.h"

#define MiB ((size_t)1 << 20)

/* A test that runs its driver in a session, checked for leaks. */
#define DRIVER_TEST(name, drv)                                             \
    static void name(void **state)                                         \
    {                                                                      \
        (void)state;                                                       \
        tu_begin();                                                        \
        tu_drive(NULL, drv, NULL, 0);                                      \
        tu_end();                                                          \
    }

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Values are strings that spell their key and a generation, so that a
 * value under the wrong key, torn or freed, shows. */
static void spell(char *buf, size_t n, int64_t key, int64_t gen)
{
    snprintf(buf, n, "k%lld-g%lld", (long long)key, (long long)gen);
}

static int value_bad(int64_t key, const char *v)
{
    char buf[64];
    if (!v)
        return 1;
    int n = snprintf(buf, sizeof buf, "k%lld-g", (long long)key);
    return strncmp(v, buf, (size_t)n) != 0;
}

static int64_t value_gen(const char *v)
{
    const char *g = strstr(v, "-g");
    return g ? atoll(g + 2) : -1;
}

static int add_kv(mc_shashtbl *t, int64_t k, int64_t gen)
{
    char buf[64];
    spell(buf, sizeof buf, k, gen);
    char *s = buf;
    return mc_shashtbl_add(t, &k, &s);
}

static int replace_kv(mc_shashtbl *t, int64_t k, int64_t gen)
{
    char buf[64];
    spell(buf, sizeof buf, k, gen);
    char *s = buf;
    return mc_shashtbl_replace(t, &k, &s);
}

/* find_c of key k: its generation, -1 unbound, -2 error or bad value. */
static int64_t find_gen(mc_shashtbl *t, int64_t k)
{
    char **c;
    int rc = mc_shashtbl_find_c(t, &k, (void **)&c);
    if (rc == MC_ENOENT)
        return -1;
    if (rc)
        return -2;
    int64_t g = value_bad(k, *c) ? -2 : value_gen(*c);
    mc_local_free(c);
    return g;
}

static int make_table(size_t pool_size, mc_pool **p, mc_shashtbl **t)
{
    int64_t hdr = 0;
    if (W_RC(mc_pool_create(pool_size, p), 0))
        return -1;
    if (W_RC(mc_shashtbl_create(*p, &mc_type_i64, &mc_type_str,
                                &mc_type_i64, &hdr, t), 0))
        return -1;
    return 0;
}

static int open_table(const void *arg, size_t len, mc_shashtbl **t)
{
    mc_shashtbl_descr d;
    W_CHECK(len >= sizeof d, "arg of %zu bytes", len);
    if (len < sizeof d)
        return -1;
    memcpy(&d, arg, sizeof d);
    return W_RC(mc_shashtbl_of_descr(&d, &mc_type_i64, &mc_type_str,
                                     &mc_type_i64, t), 0) ? -1 : 0;
}

/* ---------------------------------------------------------------- basics */

static int count_cb(const void *key, const void *value, void *ctx)
{
    int64_t k = *(const int64_t *)key;
    if (value_bad(k, *(char *const *)value))
        return MC_EINVAL;
    (*(size_t *)ctx)++;
    return 0;
}

static int sum_keys(const void *key, const void *value, void *acc)
{
    (void)value;
    *(int64_t *)acc += *(const int64_t *)key;
    return 0;
}

static int gen_of_p(const void *value, void *ctx)
{
    *(int64_t *)ctx = value_gen(*(char *const *)value);
    return 0;
}

static int all_p(const void *const *vals, size_t n, void *ctx)
{
    int64_t *out = ctx;
    out[0] = (int64_t)n;
    for (size_t i = 0; i < n && i < 7; i++)
        out[i + 1] = value_gen(*(char *const *)vals[i]);
    return 0;
}

static mc_shashtbl *g_tbl;

/* A write inside a read callback is refused (it could free what the
 * read holds). */
static int write_inside(const void *value, void *ctx)
{
    (void)value;
    (void)ctx;
    return add_kv(g_tbl, 1, 99);
}

static int counter_inc(const void *old, const void **nv, void *ctx)
{
    int64_t *tmp = ctx;
    *tmp = old ? *(const int64_t *)old + 1 : 1;
    *nv = tmp;
    return MC_SHASHTBL_SET;
}

static int upd_remove(const void *old, const void **nv, void *ctx)
{
    (void)old, (void)nv, (void)ctx;
    return MC_SHASHTBL_REMOVE;
}

static int upd_bad(const void *old, const void **nv, void *ctx)
{
    (void)old, (void)nv, (void)ctx;
    return MC_SHASHTBL_SET; /* without a value */
}

static int upd_write(const void *old, const void **nv, void *ctx)
{
    (void)old, (void)nv, (void)ctx;
    return add_kv(g_tbl, 2, 1);
}

/* Float keys compare by their bits (shashtbl.h): 0.0 and -0.0 are two
 * keys, and a NaN finds itself (with == it could never be found again). */
static void drv_float_keys(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_shashtbl *t;
    if (W_RC(mc_pool_create(8 * MiB, &p), 0))
        return;
    if (!W_RC(mc_shashtbl_create(p, &mc_type_f64, &mc_type_i64, NULL, NULL,
                                 &t), 0)) {
        double zero = 0.0, negz = -0.0, nan = __builtin_nan("");
        int64_t one = 1, two = 2, three = 3, *v = NULL;
        W_RC(mc_shashtbl_add(t, &zero, &one), 0);
        W_RC(mc_shashtbl_mem(t, &negz), 0);
        W_RC(mc_shashtbl_add(t, &negz, &two), 0);
        W_RC(mc_shashtbl_add(t, &nan, &three), 0);
        W_CHECK(mc_shashtbl_length(t) == 3, "3 keys, got %zu",
                mc_shashtbl_length(t));
        if (!W_RC(mc_shashtbl_find_c(t, &nan, (void **)&v), 0))
            W_CHECK(*v == 3, "NaN's value %lld", (long long)*v);
        mc_local_free(v);
        W_RC(mc_shashtbl_remove(t, &nan), 0);
        W_RC(mc_shashtbl_mem(t, &nan), 0);
        const int64_t *z = mc_shashtbl_find_ro(t, &zero);
        const int64_t *nz = mc_shashtbl_find_ro(t, &negz);
        W_CHECK(z && nz && *z == 1 && *nz == 2, "0.0 and -0.0 apart");
        W_RC(mc_shashtbl_destroy(t), 0);
    }
    W_RC(mc_pool_release(p), 0);
}
DRIVER_TEST(test_float_keys, drv_float_keys)

/* String values of every length: inline in their entries up to the
 * largest room, blocks of their own beyond, NULL, replaced (a replaced
 * entry's value is a block of its own), shadowed, and moved by resizes
 * after all of it.  MC_DEBUG=1 verifies every collection's heap. */
static size_t sval(int64_t k, int gen, char *buf)
{
    size_t n = (size_t)(k * 37 + gen * 11) % 700;
    for (size_t j = 0; j < n; j++)
        buf[j] = (char)('a' + (k + (int64_t)j + gen) % 26);
    buf[n] = '\0';
    return n;
}

static int sgen(int64_t k)
{
    return k % 3 == 0 ? 1 : 0; /* replaced: generation 1 */
}

static int cmp_p(const void *value, void *ctx)
{
    const char *v = *(char *const *)value;
    return v && strcmp(v, ctx) == 0 ? 0 : MC_EINVAL;
}

static void drv_strings(const void *arg, size_t len)
{
    (void)arg; (void)len;
    enum { N = 6000 };
    mc_pool *p;
    mc_shashtbl *t;
    static char buf[1024], b2[1024];
    char *s = buf;
    char *null = NULL;
    if (W_RC(mc_pool_create(256 * MiB, &p), 0))
        return;
    if (W_RC(mc_shashtbl_create(p, &mc_type_i64, &mc_type_str, NULL, NULL,
                                &t), 0)) {
        W_RC(mc_pool_release(p), 0);
        return;
    }
    for (int64_t k = 0; k < N; k++) {
        if (k == N / 2) /* replaces, then resizes that move them */
            for (int64_t r = 0; r < N / 2; r += 3) {
                sval(r, 1, buf);
                W_RC(mc_shashtbl_replace(t, &r, &s), 0);
            }
        sval(k, 0, buf);
        W_RC(mc_shashtbl_add(t, &k, k % 101 == 7 ? &null : &s), 0);
    }
    for (int64_t r = N / 2; r < N; r += 3) {
        sval(r, 1, buf);
        W_RC(mc_shashtbl_replace(t, &r, &s), 0);
    }
    /* a shadowed binding of each length class */
    for (int64_t k = 1; k < N; k += 97) {
        sval(k, 2, buf);
        W_RC(mc_shashtbl_add(t, &k, &s), 0);
    }
    for (int64_t k = N; k < 4 * N; k++) { /* more resizes */
        sval(k, 0, buf);
        W_RC(mc_shashtbl_add(t, &k, &s), 0);
    }
    int bad = 0;
    for (int64_t k = 0; k < 4 * N && bad < 5; k++) {
        int gen = k < N ? sgen(k) : 0;
        if (k < N && k % 97 == 1)
            gen = 2;
        sval(k, gen, buf);
        char **c = NULL;
        if (W_RC(mc_shashtbl_find_c(t, &k, (void **)&c), 0)) {
            bad++;
            continue;
        }
        if (k < N && k % 101 == 7 && gen == 0) {
            W_CHECK(*c == NULL, "key %lld: NULL value", (long long)k);
        } else {
            bad += !*c || strcmp(*c, buf) != 0;
            W_CHECK(*c && strcmp(*c, buf) == 0, "key %lld: find_c",
                    (long long)k);
            W_RC(mc_shashtbl_find_p(t, &k, cmp_p, buf), 0);
        }
        mc_local_free(c);
        if (gen == 2) {
            void **all = NULL;
            size_t n = 0;
            if (!W_RC(mc_shashtbl_find_all_c(t, &k, &all, &n), 0)) {
                sval(k, sgen(k), b2);
                W_CHECK(n == 2 && strcmp(*(char **)all[0], buf) == 0 &&
                            (k % 101 == 7 && !sgen(k)
                                 ? *(char **)all[1] == NULL
                                 : strcmp(*(char **)all[1], b2) == 0),
                        "key %lld: find_all_c", (long long)k);
                mc_shashtbl_free_all(all, n);
            }
            W_RC(mc_shashtbl_remove(t, &k), 0);
        }
    }
    W_CHECK(mc_shashtbl_length(t) == 4 * N, "length %zu",
            mc_shashtbl_length(t));
    W_RC(mc_shashtbl_destroy(t), 0);
    W_RC(mc_pool_release(p), 0);
}
DRIVER_TEST(test_strings, drv_strings)

static void drv_basics(const void *arg, size_t len)
{
    (void)arg, (void)len;
    mc_pool *p;
    mc_shashtbl *t;
    if (make_table(64 * MiB, &p, &t))
        return;
    g_tbl = t;
    int64_t k = 5, g = -1;
    char **cp = NULL;
    W_CHECK(mc_shashtbl_length(t) == 0, "empty");
    W_RC(mc_shashtbl_mem(t, &k), 0);
    W_RC(mc_shashtbl_find_c(t, &k, (void **)&cp), MC_ENOENT);
    W_RC(mc_shashtbl_find_p(t, &k, gen_of_p, &g), MC_ENOENT);
    W_RC(mc_shashtbl_remove(t, &k), MC_ENOENT);
    W_CHECK(mc_shashtbl_find_ro(t, &k) == NULL, "find_ro of nothing");
    /* three bindings of 5: newest first, remove uncovers the older */
    W_RC(add_kv(t, 5, 1), 0);
    W_RC(add_kv(t, 5, 2), 0);
    W_RC(add_kv(t, 5, 3), 0);
    W_RC(add_kv(t, 6, 1), 0);
    W_CHECK(mc_shashtbl_length(t) == 4, "length %zu", mc_shashtbl_length(t));
    W_RC(mc_shashtbl_mem(t, &k), 1);
    W_CHECK(find_gen(t, 5) == 3, "newest of 5: %lld",
            (long long)find_gen(t, 5));
    W_RC(mc_shashtbl_find_p(t, &k, gen_of_p, &g), 0);
    W_CHECK(g == 3, "find_p %lld", (long long)g);
    char *const *ro = mc_shashtbl_find_ro(t, &k);
    W_CHECK(ro && value_gen(*ro) == 3, "find_ro");
    const void *vals[2];
    W_RC(mc_shashtbl_find_all_ro(t, &k, vals, 2), 3);
    W_CHECK(value_gen(*(char *const *)vals[0]) == 3 &&
                value_gen(*(char *const *)vals[1]) == 2,
            "find_all_ro order");
    void **copies;
    size_t n;
    if (!W_RC(mc_shashtbl_find_all_c(t, &k, &copies, &n), 0)) {
        W_CHECK(n == 3, "find_all_c %zu", n);
        for (size_t i = 0; i < n; i++)
            W_CHECK(value_gen(*(char **)copies[i]) == 3 - (int64_t)i,
                    "find_all_c order at %zu", i);
        mc_shashtbl_free_all(copies, n);
    }
    int64_t out[8] = {0};
    W_RC(mc_shashtbl_find_all_p(t, &k, all_p, out), 0);
    W_CHECK(out[0] == 3 && out[1] == 3 && out[2] == 2 && out[3] == 1,
            "find_all_p %lld %lld %lld %lld", (long long)out[0],
            (long long)out[1], (long long)out[2], (long long)out[3]);
    int64_t none = 77;
    W_RC(mc_shashtbl_find_all_p(t, &none, all_p, out), 0);
    W_CHECK(out[0] == 0, "find_all_p of an unbound key");
    W_RC(mc_shashtbl_find_all_c(t, &none, &copies, &n), 0);
    W_CHECK(n == 0 && copies == NULL, "find_all_c of an unbound key");
    /* replace changes the newest only */
    W_RC(replace_kv(t, 5, 4), 0);
    W_RC(mc_shashtbl_find_all_ro(t, &k, vals, 2), 3);
    W_CHECK(value_gen(*(char *const *)vals[0]) == 4 &&
                value_gen(*(char *const *)vals[1]) == 2,
            "replace changed the newest");
    W_RC(replace_kv(t, 7, 1), 0); /* adds */
    W_CHECK(find_gen(t, 7) == 1, "replace of an unbound key adds");
    W_RC(mc_shashtbl_remove(t, &k), 0);
    W_CHECK(find_gen(t, 5) == 2, "the older binding reappears");
    W_CHECK(mc_shashtbl_length(t) == 4, "length %zu", mc_shashtbl_length(t));
    size_t cnt = 0;
    W_RC(mc_shashtbl_iter(t, count_cb, &cnt), 0);
    W_CHECK(cnt == 4, "iter saw %zu", cnt);
    int64_t sum = 0;
    W_RC(mc_shashtbl_fold(t, sum_keys, &sum), 0);
    W_CHECK(sum == 5 + 5 + 6 + 7, "fold sum %lld", (long long)sum);
    /* writes inside callbacks are refused */
    W_RC(mc_shashtbl_find_p(t, &k, write_inside, NULL), MC_ESTATE);
    int64_t two = 2;
    W_RC(mc_shashtbl_update(t, &two, upd_write, NULL), MC_ESTATE);
    W_RC(mc_shashtbl_mem(t, &two), 0);
    /* update: counters in another table, remove, a bad decision */
    mc_shashtbl *c;
    if (!W_RC(mc_shashtbl_create(p, &mc_type_str, &mc_type_i64, NULL, NULL,
                                 &c), 0)) {
        char *w = "word";
        int64_t tmp, *v;
        for (int i = 0; i < 10; i++)
            W_RC(mc_shashtbl_update(c, &w, counter_inc, &tmp), 0);
        v = (int64_t *)mc_shashtbl_find_ro(c, &w);
        W_CHECK(v && *v == 10, "counter %lld", v ? (long long)*v : -1LL);
        W_CHECK(mc_shashtbl_length(c) == 1, "update replaces");
        W_RC(mc_shashtbl_update(c, &w, upd_bad, NULL), MC_EINVAL);
        W_RC(mc_shashtbl_update(c, &w, upd_remove, NULL), 0);
        W_RC(mc_shashtbl_mem(c, &w), 0);
        W_CHECK(mc_shashtbl_header(c) == NULL, "no header");
        W_RC(mc_shashtbl_destroy(c), 0);
    }
    /* header */
    int64_t *hdr = mc_shashtbl_header(t);
    W_CHECK(hdr && *hdr == 0, "header");
    W_CHECK(mc_shashtbl_header_heap(t) != NULL, "header heap");
    W_CHECK(mc_shashtbl_key_type(t) == &mc_type_i64 &&
                mc_shashtbl_value_type(t) == &mc_type_str,
            "types");
    /* stats, clear */
    for (int64_t i = 0; i < 5000; i++)
        W_RC(add_kv(t, 100 + i, i), 0);
    mc_shashtbl_stats st;
    W_RC(mc_shashtbl_stats_get(t, &st), 0);
    W_CHECK(st.bindings == 5004, "stats bindings %zu", st.bindings);
    W_CHECK(st.resizes >= 16 * 3, "stats resizes %llu",
            (unsigned long long)st.resizes);
    W_CHECK(st.buckets >= 2048 && st.longest_chain >= 1 &&
                st.longest_chain < 20,
            "buckets %zu, longest %zu", st.buckets, st.longest_chain);
    for (int64_t i = 0; i < 5000; i += 97)
        W_CHECK(find_gen(t, 100 + i) == i, "key %lld", (long long)i);
    W_RC(mc_shashtbl_clear(t), 0);
    W_CHECK(mc_shashtbl_length(t) == 0, "cleared");
    W_CHECK(find_gen(t, 100) == -1, "cleared key");
    W_RC(add_kv(t, 1, 1), 0);
    W_CHECK(find_gen(t, 1) == 1, "usable after clear");
    /* bad arguments */
    W_RC(mc_shashtbl_add(t, NULL, &k), MC_EINVAL);
    W_RC(mc_shashtbl_add(NULL, &k, &k), MC_EINVAL);
    W_RC(mc_shashtbl_find_c(t, &k, NULL), MC_EINVAL);
    W_RC(mc_shashtbl_iter(t, NULL, NULL), MC_EINVAL);
    W_RC(mc_shashtbl_create(p, &mc_type_bytes, &mc_type_i64, NULL, NULL, &c),
         MC_EINVAL); /* no hash */
    W_RC(mc_shashtbl_create(p, &mc_type_i64, &mc_type_i64, &mc_type_i64,
                            NULL, &c), MC_EINVAL);
    /* a heap that is not a table */
    mc_heap *h;
    if (!W_RC(mc_heap_create(p, &mc_type_i64, &k, &h), 0)) {
        W_RC(mc_shashtbl_add((mc_shashtbl *)h, &k, &k), MC_EINVAL);
        W_RC(mc_heap_destroy(h), 0);
    }
    W_RC(mc_shashtbl_destroy(t), 0);
    W_RC(mc_shashtbl_destroy(t), MC_EINVAL);
    W_RC(add_kv(t, 1, 1), MC_EINVAL);
    W_CHECK(find_gen(t, 1) == -2, "find after destroy");
    W_CHECK(mc_shashtbl_length(t) == 0, "length after destroy");
}

DRIVER_TEST(test_basics, drv_basics)

/* ------------------------------------------------------- against a model */

#define MODEL_KEYS 300 /* per process: few, so that keys repeat */
#define MODEL_OPS 20000
#define MODEL_PROCS 4
#define MODEL_DEPTH 8

/* Key k's bindings, newest last (gens). */
typedef struct mkey {
    int64_t g[MODEL_DEPTH];
    int n;
} mkey;

typedef struct model_arg {
    mc_shashtbl_descr d;
    int who;
} model_arg;

static int64_t mkey_of(int who, int i)
{
    return (int64_t)i * MODEL_PROCS + who; /* disjoint per process */
}

static void drv_model(const void *arg, size_t len)
{
    model_arg a;
    mc_shashtbl *t;
    if (open_table(arg, len, &t))
        return;
    memcpy(&a, arg, sizeof a);
    mkey *m = calloc(MODEL_KEYS, sizeof *m);
    uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(a.who + 1);
    int64_t gen = 0;
    for (int op = 0; op < MODEL_OPS && !tu_w_failed(); op++) {
        int i = (int)(rnd(&x) % MODEL_KEYS);
        int64_t k = mkey_of(a.who, i);
        mkey *e = &m[i];
        switch (rnd(&x) % 6) {
        case 0: /* add */
        case 1:
            if (e->n == MODEL_DEPTH)
                break;
            if (!W_RC(add_kv(t, k, ++gen), 0))
                e->g[e->n++] = gen;
            break;
        case 2: /* replace */
            if (!W_RC(replace_kv(t, k, ++gen), 0)) {
                if (e->n)
                    e->g[e->n - 1] = gen;
                else
                    e->g[e->n++] = gen;
            }
            break;
        case 3: /* remove */
            W_RC(mc_shashtbl_remove(t, &k), e->n ? 0 : MC_ENOENT);
            if (e->n)
                e->n--;
            break;
        case 4: { /* find */
            int64_t g = find_gen(t, k);
            W_CHECK(g == (e->n ? e->g[e->n - 1] : -1),
                    "op %d key %lld: found %lld, model %lld", op,
                    (long long)k, (long long)g,
                    (long long)(e->n ? e->g[e->n - 1] : -1));
            break;
        }
        default: { /* find_all */
            const void *v[MODEL_DEPTH + 1];
            int n = mc_shashtbl_find_all_ro(t, &k, v, MODEL_DEPTH + 1);
            W_CHECK(n == e->n, "op %d key %lld: %d bindings, model %d", op,
                    (long long)k, n, e->n);
            for (int j = 0; j < n && j < e->n; j++)
                W_CHECK(value_gen(*(char *const *)v[j]) == e->g[e->n - 1 - j],
                        "op %d key %lld: binding %d", op, (long long)k, j);
        }
        }
    }
    /* the final state, binding by binding, with copies */
    for (int i = 0; i < MODEL_KEYS && !tu_w_failed(); i++) {
        int64_t k = mkey_of(a.who, i);
        void **c;
        size_t n;
        if (W_RC(mc_shashtbl_find_all_c(t, &k, &c, &n), 0))
            break;
        W_CHECK((int)n == m[i].n, "final key %lld: %zu bindings, model %d",
                (long long)k, n, m[i].n);
        for (size_t j = 0; j < n && (int)j < m[i].n; j++)
            W_CHECK(value_gen(*(char **)c[j]) == m[i].g[m[i].n - 1 - j],
                    "final key %lld binding %zu", (long long)k, j);
        mc_shashtbl_free_all(c, n);
    }
    int64_t total = 0;
    for (int i = 0; i < MODEL_KEYS; i++)
        total += m[i].n;
    free(m);
    /* the process's count, for the driver */
    int64_t slot = 1000000 + a.who;
    char buf[64];
    spell(buf, sizeof buf, slot, total);
    char *s = buf;
    W_RC(mc_shashtbl_add(t, &slot, &s), 0);
}

static void drv_models(const void *arg, size_t len)
{
    (void)arg, (void)len;
    mc_pool *p;
    mc_shashtbl *t;
    if (make_table(256 * MiB, &p, &t))
        return;
    model_arg a[MODEL_PROCS];
    mc_pid pids[MODEL_PROCS];
    for (int w = 0; w < MODEL_PROCS; w++) {
        W_RC(mc_shashtbl_descr_of(t, &a[w].d), 0);
        a[w].who = w;
        if (W_RC(tu_start_fn(drv_model, &a[w], sizeof a[w], &pids[w]), 0))
            return;
    }
    for (int w = 0; w < MODEL_PROCS; w++)
        W_JOIN_OK(tu_driver_jp, pids[w], "model process");
    int64_t total = 0;
    for (int w = 0; w < MODEL_PROCS; w++)
        total += find_gen(t, 1000000 + w);
    size_t cnt = 0;
    W_RC(mc_shashtbl_iter(t, count_cb, &cnt), 0);
    W_CHECK(mc_shashtbl_length(t) == (size_t)total + MODEL_PROCS &&
                cnt == mc_shashtbl_length(t),
            "length %zu, iter %zu, models %lld", mc_shashtbl_length(t), cnt,
            (long long)total);
    W_RC(mc_shashtbl_destroy(t), 0);
}

DRIVER_TEST(test_model, drv_models)

/* -------------------------------------------- readers during resizes */

#define STABLE 2000  /* keys 0..STABLE-1: there throughout */
#define GROW 120000  /* keys the writer adds meanwhile */
#define NREADERS 2

typedef struct rs_arg {
    mc_shashtbl_descr d;
} rs_arg;

static int iter_stable(const void *key, const void *value, void *ctx)
{
    int64_t k = *(const int64_t *)key;
    if (value_bad(k, *(char *const *)value))
        return MC_EINVAL;
    if (k < STABLE)
        (*(int64_t *)ctx)++;
    return 0;
}

static void drv_reader(const void *arg, size_t len)
{
    mc_shashtbl *t;
    if (open_table(arg, len, &t))
        return;
    int64_t *done = mc_shashtbl_header(t);
    int64_t rounds = 0;
    while (!__atomic_load_n(done, __ATOMIC_ACQUIRE) && !tu_w_failed()) {
        for (int64_t k = 0; k < STABLE && !tu_w_failed(); k++) {
            int64_t g = find_gen(t, k);
            W_CHECK(g == k, "round %lld: stable key %lld: %lld",
                    (long long)rounds, (long long)k, (long long)g);
            W_RC(mc_shashtbl_mem(t, &k), 1);
        }
        int64_t seen = 0;
        W_RC(mc_shashtbl_iter(t, iter_stable, &seen), 0);
        W_CHECK(seen == STABLE, "round %lld: iter saw %lld stable keys",
                (long long)rounds, (long long)seen);
        rounds++;
    }
    W_CHECK(rounds > 0, "no round");
}

static void drv_resize(const void *arg, size_t len)
{
    (void)arg, (void)len;
    mc_pool *p;
    mc_shashtbl *t;
    if (make_table(512 * MiB, &p, &t))
        return;
    for (int64_t k = 0; k < STABLE; k++)
        W_RC(add_kv(t, k, k), 0);
    rs_arg a;
    W_RC(mc_shashtbl_descr_of(t, &a.d), 0);
    mc_pid pids[NREADERS];
    for (int r = 0; r < NREADERS; r++)
        if (W_RC(tu_start_fn(drv_reader, &a, sizeof a, &pids[r]), 0))
            return;
    mc_shashtbl_stats st0, st;
    W_RC(mc_shashtbl_stats_get(t, &st0), 0);
    /* grow through several resizes of every shard, removing half again,
     * so that the readers' keys move between arrays while they read */
    for (int64_t k = STABLE; k < STABLE + GROW && !tu_w_failed(); k++) {
        W_RC(add_kv(t, k, k), 0);
        if (k % 2 == 1) {
            int64_t r = k - 1; /* >= STABLE */
            W_RC(mc_shashtbl_remove(t, &r), 0);
        }
    }
    W_RC(mc_shashtbl_stats_get(t, &st), 0);
    W_CHECK(st.resizes >= st0.resizes + 16 * 2, "resizes %llu -> %llu",
            (unsigned long long)st0.resizes, (unsigned long long)st.resizes);
    __atomic_store_n((int64_t *)mc_shashtbl_header(t), 1, __ATOMIC_RELEASE);
    for (int r = 0; r < NREADERS; r++)
        W_JOIN_OK(tu_driver_jp, pids[r], "reader");
    W_CHECK(mc_shashtbl_length(t) == STABLE + GROW / 2, "length %zu",
            mc_shashtbl_length(t));
    W_RC(mc_shashtbl_destroy(t), 0);
}

DRIVER_TEST(test_readers_during_resize, drv_resize)

/* ------------------------------------------------- update, no lost one */

#define UPD_PROCS 4
#define UPD_N 3000
#define UPD_KEYS 40

static void drv_updater(const void *arg, size_t len)
{
    mc_shashtbl_descr d;
    mc_shashtbl *t;
    memcpy(&d, arg, len < sizeof d ? len : sizeof d);
    if (W_RC(mc_shashtbl_of_descr(&d, &mc_type_i64, &mc_type_i64, NULL, &t),
             0))
        return;
    int64_t tmp;
    for (int i = 0; i < UPD_N && !tu_w_failed(); i++) {
        int64_t k = i % UPD_KEYS;
        W_RC(mc_shashtbl_update(t, &k, counter_inc, &tmp), 0);
    }
}

static void drv_update(const void *arg, size_t len)
{
    (void)arg, (void)len;
    mc_pool *p;
    mc_shashtbl *t;
    mc_shashtbl_descr d;
    if (W_RC(mc_pool_create(64 * MiB, &p), 0) ||
        W_RC(mc_shashtbl_create(p, &mc_type_i64, &mc_type_i64, NULL, NULL,
                                &t), 0) ||
        W_RC(mc_shashtbl_descr_of(t, &d), 0))
        return;
    mc_pid pids[UPD_PROCS];
    for (int w = 0; w < UPD_PROCS; w++)
        if (W_RC(tu_start_fn(drv_updater, &d, sizeof d, &pids[w]), 0))
            return;
    for (int w = 0; w < UPD_PROCS; w++)
        W_JOIN_OK(tu_driver_jp, pids[w], "updater");
    for (int64_t k = 0; k < UPD_KEYS; k++) {
        const int64_t *v = mc_shashtbl_find_ro(t, &k);
        W_CHECK(v && *v == UPD_PROCS * UPD_N / UPD_KEYS,
                "key %lld counted %lld", (long long)k,
                v ? (long long)*v : -1LL);
    }
    W_CHECK(mc_shashtbl_length(t) == UPD_KEYS, "length %zu",
            mc_shashtbl_length(t));
    W_RC(mc_shashtbl_destroy(t), 0);
}

DRIVER_TEST(test_update, drv_update)

/* ---------------------------------------------------------- kill -9 */

#define KILLS 200
#define KILL_KEYS 20000 /* victims' keys: STABLE_K.. */
#define STABLE_K 500

static void drv_victim(const void *arg, size_t len)
{
    mc_shashtbl *t;
    if (open_table(arg, len, &t))
        return;
    int64_t *progress = mc_shashtbl_header(t);
    uint64_t x = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull + 1;
    for (int64_t i = 1;; i++) { /* until killed */
        int64_t k = STABLE_K + (int64_t)(rnd(&x) % KILL_KEYS);
        int rc;
        switch (rnd(&x) % 8) {
        case 0:
        case 1:
            rc = mc_shashtbl_remove(t, &k);
            if (rc == MC_ENOENT)
                rc = 0;
            break;
        case 2:
            rc = replace_kv(t, k, i);
            break;
        default:
            rc = add_kv(t, k, i);
        }
        if (rc && rc != MC_EOWNERDEAD) {
            W_RC(rc, 0);
            return;
        }
        __atomic_store_n(progress, i, __ATOMIC_RELEASE);
    }
}

static int check_all(const void *key, const void *value, void *ctx)
{
    int64_t k = *(const int64_t *)key;
    if (value_bad(k, *(char *const *)value))
        return MC_EINVAL;
    (*(size_t *)ctx)++;
    return 0;
}

static void drv_kill(const void *arg, size_t len)
{
    (void)arg, (void)len;
    setenv("MC_DEBUG", "1", 1); /* heaps verified after each collection */
    alarm(400);
    mc_pool *p;
    mc_shashtbl *t;
    if (make_table(1024 * MiB, &p, &t))
        return;
    for (int64_t k = 0; k < STABLE_K; k++)
        W_RC(add_kv(t, k, k), 0);
    mc_shashtbl_descr d;
    W_RC(mc_shashtbl_descr_of(t, &d), 0);
    int64_t *progress = mc_shashtbl_header(t);
    uint64_t x = 12345;
    int told = 0;
    for (int it = 0; it < KILLS && !tu_w_failed(); it++) {
        __atomic_store_n(progress, 0, __ATOMIC_RELEASE);
        mc_pid pid;
        if (W_RC(tu_start_fn(drv_victim, &d, sizeof d, &pid), 0))
            break;
        while (__atomic_load_n(progress, __ATOMIC_ACQUIRE) == 0)
            usleep(20);
        usleep((useconds_t)(rnd(&x) % 3000));
        W_RC(mc_kill(pid, SIGKILL), 0); /* asked for: not reported */
        mc_join_result r = {0};
        W_RC(mc_join(tu_driver_jp, pid, &r), 0);
        W_CHECK(r.kind == MC_EXIT_SIGNAL && r.code == SIGKILL,
                "victim %d: %s", it, tu_kind_str(&r));
        mc_join_result_free(&r);
        /* valid: every binding consistent, the stable keys all there */
        size_t n = 0;
        W_RC(mc_shashtbl_iter(t, check_all, &n), 0);
        for (int64_t k = 0; k < STABLE_K; k += 7)
            W_CHECK(find_gen(t, k) == k, "kill %d: stable key %lld", it,
                    (long long)k);
        /* usable: writes go on; one of them may hear of the death */
        for (int j = 0; j < 32; j++) {
            int64_t k = STABLE_K + KILL_KEYS + j;
            int rc = add_kv(t, k, it);
            W_CHECK(rc == 0 || rc == MC_EOWNERDEAD, "add after kill: %s",
                    tu_code_name(rc));
            told += rc == MC_EOWNERDEAD;
            rc = mc_shashtbl_remove(t, &k);
            W_CHECK(rc == 0 || rc == MC_EOWNERDEAD, "remove after kill: %s",
                    tu_code_name(rc));
            told += rc == MC_EOWNERDEAD;
        }
    }
    /* every shard written once more (recounts done): length agrees */
    for (int64_t k = 0; k < STABLE_K; k++) {
        int rc = replace_kv(t, k, k);
        W_CHECK(rc == 0 || rc == MC_EOWNERDEAD, "replace: %s",
                tu_code_name(rc));
        told += rc == MC_EOWNERDEAD;
    }
    size_t n = 0;
    W_RC(mc_shashtbl_iter(t, check_all, &n), 0);
    W_CHECK(n == mc_shashtbl_length(t), "iter %zu, length %zu", n,
            mc_shashtbl_length(t));
    mc_shashtbl_stats st;
    W_RC(mc_shashtbl_stats_get(t, &st), 0);
    if (getenv("MC_TEST_VERBOSE"))
        fprintf(stderr, "kill: %d kills, %d writers told, %zu bindings, "
                        "%llu resizes\n", KILLS, told, n,
                (unsigned long long)st.resizes);
    W_CHECK(told > KILLS / 4, "only %d of %d kills were inside a write",
            told, KILLS);
    W_CHECK(st.resizes > 16 * 4, "resizes %llu",
            (unsigned long long)st.resizes);
    alarm(0);
    W_RC(mc_shashtbl_destroy(t), 0);
}

/* Deaths inside the windows themselves (random kills seldom land there):
 * the victim kills itself at the library's crash points. */
extern void (*mc__shashtbl_crash_hook)(int where);

static int crash_where;
static uint64_t crash_x;

static void crash_hook(int where)
{
    if (where == crash_where && rnd(&crash_x) % 64 == 0)
        raise(SIGKILL);
}

static void drv_crasher(const void *arg, size_t len)
{
    mc_shashtbl *t;
    if (open_table(arg, len, &t))
        return;
    int64_t *where = mc_shashtbl_header(t);
    crash_where = (int)*where;
    crash_x = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull + 1;
    mc__shashtbl_crash_hook = crash_hook;
    for (int64_t i = 1; i < 1000000; i++) { /* until it kills itself */
        int64_t k = STABLE_K + (int64_t)(rnd(&crash_x) % KILL_KEYS);
        int rc = crash_where == 3 && i % 2 ? mc_shashtbl_remove(t, &k)
                                           : add_kv(t, k, i);
        if (rc && rc != MC_EOWNERDEAD && rc != MC_ENOENT) {
            W_RC(rc, 0);
            return;
        }
    }
    W_CHECK(0, "never reached crash point %d", crash_where);
}

#define CRASHES 30

static void drv_crash_windows(const void *arg, size_t len)
{
    (void)arg, (void)len;
    alarm(300);
    mc_pool *p;
    mc_shashtbl *t;
    if (make_table(1024 * MiB, &p, &t))
        return;
    for (int64_t k = 0; k < STABLE_K; k++)
        W_RC(add_kv(t, k, k), 0);
    mc_shashtbl_descr d;
    W_RC(mc_shashtbl_descr_of(t, &d), 0);
    int64_t *where = mc_shashtbl_header(t);
    int told = 0;
    for (int w = 1; w <= 3; w++)
        for (int it = 0; it < CRASHES && !tu_w_failed(); it++) {
            *where = w;
            mc_pid pid;
            if (W_RC(tu_start_fn(drv_crasher, &d, sizeof d, &pid), 0))
                return;
            mc_join_result r = {0};
            W_RC(mc_join(tu_driver_jp, pid, &r), 0);
            W_CHECK(r.kind == MC_EXIT_SIGNAL && r.code == SIGKILL,
                    "crasher at %d: %s", w, tu_kind_str(&r));
            mc_join_result_free(&r);
            /* every shard written (500 keys reach all 16): recounted */
            for (int64_t k = 0; k < STABLE_K; k++) {
                int rc = replace_kv(t, k, k);
                W_CHECK(rc == 0 || rc == MC_EOWNERDEAD, "replace: %s",
                        tu_code_name(rc));
                told += rc == MC_EOWNERDEAD;
            }
            size_t n = 0;
            W_RC(mc_shashtbl_iter(t, check_all, &n), 0);
            W_CHECK(n == mc_shashtbl_length(t),
                    "crash point %d, round %d: iter %zu, length %zu", w, it,
                    n, mc_shashtbl_length(t));
        }
    W_CHECK(told == 3 * CRASHES, "%d writers told of %d deaths", told,
            3 * CRASHES);
    alarm(0);
    W_RC(mc_shashtbl_destroy(t), 0);
}

DRIVER_TEST(test_crash_windows, drv_crash_windows)

DRIVER_TEST(test_kill, drv_kill)

/* ------------------------------------------------- descriptors, types */

static void drv_descr_user(const void *arg, size_t len)
{
    mc_shashtbl_descr d;
    memcpy(&d, arg, len < sizeof d ? len : sizeof d);
    mc_shashtbl *t;
    W_RC(mc_shashtbl_of_descr(&d, &mc_type_i32, &mc_type_str, &mc_type_i64,
                              &t), MC_ETYPE);
    W_RC(mc_shashtbl_of_descr(&d, &mc_type_i64, &mc_type_i64, &mc_type_i64,
                              &t), MC_ETYPE);
    W_RC(mc_shashtbl_of_descr(&d, &mc_type_i64, &mc_type_str, NULL, &t),
         MC_ETYPE);
    mc_shashtbl_descr bad = d;
    bad.gen++;
    W_RC(mc_shashtbl_of_descr(&bad, &mc_type_i64, &mc_type_str,
                              &mc_type_i64, &t), MC_EINVAL);
    bad = d;
    bad.magic ^= 1;
    W_RC(mc_shashtbl_of_descr(&bad, &mc_type_i64, &mc_type_str,
                              &mc_type_i64, &t), MC_EINVAL);
    bad = d;
    bad.offset += 4096;
    W_RC(mc_shashtbl_of_descr(&bad, &mc_type_i64, &mc_type_str,
                              &mc_type_i64, &t), MC_EINVAL);
    if (W_RC(mc_shashtbl_of_descr(&d, &mc_type_i64, &mc_type_str,
                                  &mc_type_i64, &t), 0))
        return;
    W_CHECK(find_gen(t, 3) == 3, "the creator's binding");
    W_RC(add_kv(t, 4, 4), 0);
}

static void drv_descr(const void *arg, size_t len)
{
    (void)arg, (void)len;
    mc_pool *p;
    mc_shashtbl *t;
    mc_shashtbl_descr d;
    if (make_table(64 * MiB, &p, &t) || W_RC(add_kv(t, 3, 3), 0) ||
        W_RC(mc_shashtbl_descr_of(t, &d), 0))
        return;
    W_CHECK(d.key_id == mc_type_i64.id && d.value_id == mc_type_str.id,
            "ids in the descriptor");
    mc_pid w;
    /* inheriting nothing: the worker maps the pool through the master */
    if (!W_RC(tu_start_fn_ex(drv_descr_user, &d, sizeof d, NULL, 0, &w), 0))
        W_JOIN_OK(tu_driver_jp, w, "descriptor user");
    W_CHECK(find_gen(t, 4) == 4, "the worker's binding");
    mc_shashtbl *u;
    W_RC(mc_shashtbl_of_descr(&d, &mc_type_i64, &mc_type_str, &mc_type_i64,
                              &u), 0);
    W_CHECK(u == t, "the same table");
    W_RC(mc_shashtbl_destroy(t), 0);
    W_RC(mc_shashtbl_of_descr(&d, &mc_type_i64, &mc_type_str, &mc_type_i64,
                              &u), MC_EINVAL);
}

DRIVER_TEST(test_descr, drv_descr)

/* --------------------------------------------------------- a full pool */

static void drv_full(const void *arg, size_t len)
{
    (void)arg, (void)len;
    mc_pool *p;
    mc_shashtbl *t;
    if (make_table(16 * MiB, &p, &t))
        return;
    int64_t k, last = -1;
    int rc = 0;
    for (k = 0; k < 10000000; k++) {
        rc = add_kv(t, k, k);
        if (rc)
            break;
        last = k;
    }
    W_CHECK(rc == MC_ENOMEM, "filling: %s", tu_code_name(rc));
    W_CHECK(last > 1000, "only %lld bindings fit", (long long)last);
    W_CHECK(mc_shashtbl_length(t) == (size_t)last + 1, "length %zu",
            mc_shashtbl_length(t));
    W_CHECK(find_gen(t, k) == -1, "the failed add left nothing");
    for (int64_t i = 0; i <= last; i += 13)
        W_CHECK(find_gen(t, i) == i, "key %lld after ENOMEM", (long long)i);
    /* free half; the space comes back */
    for (int64_t i = 0; i <= last; i += 2)
        W_RC(mc_shashtbl_remove(t, &i), 0);
    for (int64_t i = 0; i < last / 4 && !tu_w_failed(); i++)
        W_RC(add_kv(t, last + 1 + i, i), 0);
    W_CHECK(find_gen(t, last + 1) == 0, "added after freeing");
    W_RC(mc_shashtbl_destroy(t), 0);
    /* a pool too small for the table itself: nothing left behind */
    mc_pool *q;
    if (!W_RC(mc_pool_create(256 * 1024, &q), 0)) {
        W_RC(mc_shashtbl_create(q, &mc_type_i64, &mc_type_str, NULL, NULL,
                                &t), MC_ENOMEM);
        mc_pool_stats ps;
        W_RC(mc_pool_stats_get(q, &ps), 0);
        W_RC(mc_shashtbl_create(q, &mc_type_i64, &mc_type_str, NULL, NULL,
                                &t), MC_ENOMEM);
        mc_pool_stats ps2;
        W_RC(mc_pool_stats_get(q, &ps2), 0);
        W_CHECK(memcmp(&ps, &ps2, sizeof ps) == 0,
                "a failed create left something in the pool");
    }
}

DRIVER_TEST(test_full, drv_full)

/* ------------------------------------------------ collections on garbage */

/* A table's shard heaps collect on the garbage the table tells them
 * (removes, replaces, resizes: data/arr.h mc__heap_garbage), not on their
 * allocation.  Churn (add, replace, remove, again) must keep the pool's use
 * near the live data: were the garbage not told, the heaps would grow to
 * 32 MiB each before a collection (more than the bound below). */
static void drv_gc_garbage(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_pool *pool;
    mc_shashtbl *t;
    if (W_RC(mc_pool_create(1024 * MiB, &pool), 0))
        return;
    if (W_RC(mc_shashtbl_create(pool, &mc_type_i64, &mc_type_str, NULL,
                                NULL, &t), 0)) {
        mc_pool_release(pool);
        return;
    }
    char buf[256];
    char *s = buf;
    size_t most = 0;
    for (int round = 0; round < 30 && !tu_w_failed(); round++) {
        for (int64_t k = 0; k < 4000; k++) {
            /* long strings: blocks of their own, garbage when replaced */
            memset(buf, 'a' + round % 26, 200);
            snprintf(buf + 200, 56, "k%lld", (long long)k);
            if (W_RC(mc_shashtbl_add(t, &k, &s), 0) ||
                W_RC(mc_shashtbl_replace(t, &k, &s), 0))
                break;
        }
        for (int64_t k = 0; k < 4000; k++)
            if (W_RC(mc_shashtbl_remove(t, &k), 0))
                break;
        mc_pool_stats ps;
        W_RC(mc_pool_stats_get(pool, &ps), 0);
        if (ps.used > most)
            most = ps.used;
    }
    /* live at most: 4000 bindings of ~560 bytes (2.2 MiB), and each shard
     * may hold half its live bytes or 256 KiB of garbage, and chunks */
    W_CHECK(most < 24 * MiB, "the pool held %zu bytes at most", most);
    W_RC(mc_shashtbl_destroy(t), 0);
    W_RC(mc_pool_release(pool), 0);
}

DRIVER_TEST(test_gc_garbage, drv_gc_garbage)

/* ------------------------------------------- value shapes, shared runs */

static int null_seen(const void *v, void *ctx)
{
    *(int *)ctx = *(char *const *)v == NULL;
    return 0;
}

#define SHAPE_KEYS 3000
#define SHAPE_DEPTH 4

/* The direct paths of add (a NULL, an empty, a plain value) and of the
 * local copy; then keys with several bindings through the resizes (whose
 * steps share the chains' last runs with the new buckets) with removes
 * mixed in, checked binding by binding, newest first, against a model.
 * MC_DEBUG: the shard heaps verify themselves after every collection. */
static void drv_shapes(const void *arg, size_t len)
{
    (void)arg, (void)len;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *p;
    mc_shashtbl *t, *n;
    if (make_table(256 * MiB, &p, &t))
        return;
    int64_t k = 1;
    char *s = NULL, **c = NULL;
    W_RC(mc_shashtbl_add(t, &k, &s), 0);
    if (!W_RC(mc_shashtbl_find_c(t, &k, (void **)&c), 0)) {
        W_CHECK(*c == NULL, "a NULL string comes back NULL");
        mc_local_free(c);
    }
    int was_null = 0;
    W_RC(mc_shashtbl_find_p(t, &k, null_seen, &was_null), 0);
    W_CHECK(was_null, "find_p sees the NULL string");
    s = "";
    W_RC(mc_shashtbl_add(t, &k, &s), 0);
    if (!W_RC(mc_shashtbl_find_c(t, &k, (void **)&c), 0)) {
        W_CHECK(*c && **c == 0, "an empty string");
        mc_local_free(c);
    }
    W_RC(mc_shashtbl_clear(t), 0);
    if (!W_RC(mc_shashtbl_create(p, &mc_type_i64, &mc_type_i64, NULL, NULL,
                                 &n), 0)) {
        for (int64_t i = 0; i < 2000; i++) {
            int64_t v = i * 3;
            W_RC(mc_shashtbl_add(n, &i, &v), 0);
        }
        for (int64_t i = 0; i < 2000; i += 7) {
            int64_t *v;
            if (!W_RC(mc_shashtbl_find_c(n, &i, (void **)&v), 0)) {
                W_CHECK(*v == i * 3, "plain value %lld", (long long)*v);
                mc_local_free(v);
            }
        }
        W_RC(mc_shashtbl_destroy(n), 0);
    }
    /* the model: gens of each key's bindings, newest last */
    static int64_t g[SHAPE_KEYS][SHAPE_DEPTH];
    static int ng[SHAPE_KEYS];
    memset(ng, 0, sizeof ng);
    uint64_t x = 0x5eed;
    for (int64_t op = 0; op < 40000; op++) {
        int64_t key = (int64_t)(rnd(&x) % SHAPE_KEYS);
        if (ng[key] < SHAPE_DEPTH && rnd(&x) % 4 != 0) {
            if (!W_RC(add_kv(t, key, op), 0))
                g[key][ng[key]++] = op;
        } else if (ng[key] > 0) {
            if (!W_RC(mc_shashtbl_remove(t, &key), 0))
                ng[key]--;
        }
    }
    size_t total = 0;
    for (int64_t key = 0; key < SHAPE_KEYS; key++) {
        void **copies;
        size_t m;
        total += (size_t)ng[key];
        if (W_RC(mc_shashtbl_find_all_c(t, &key, &copies, &m), 0))
            continue;
        W_CHECK(m == (size_t)ng[key], "key %lld: %zu bindings, not %d",
                (long long)key, m, ng[key]);
        for (size_t i = 0; i < m && i < (size_t)ng[key]; i++) {
            const char *v = *(char **)copies[i];
            W_CHECK(!value_bad(key, v) &&
                        value_gen(v) == g[key][ng[key] - 1 - (int)i],
                    "key %lld binding %zu: %s", (long long)key, i, v);
        }
        mc_shashtbl_free_all(copies, m);
    }
    W_CHECK(mc_shashtbl_length(t) == total, "length %zu, not %zu",
            mc_shashtbl_length(t), total);
    mc_shashtbl_stats st;
    W_RC(mc_shashtbl_stats_get(t, &st), 0);
    W_CHECK(st.resizes >= 16 * 3, "resizes %llu",
            (unsigned long long)st.resizes);
    W_RC(mc_shashtbl_destroy(t), 0);
    unsetenv("MC_DEBUG");
}

DRIVER_TEST(test_shapes, drv_shapes)


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
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_readers_during_resize),
        cmocka_unit_test(test_update),
        cmocka_unit_test(test_descr),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_kill),
        cmocka_unit_test(test_crash_windows),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_float_keys),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_gc_garbage),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
