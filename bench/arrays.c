/* bench/arrays: shared arrays and matrices (mcore/sarray.h, smatrix.h).
 *
 *   sarray.set_i64      mc_sarray_set_i64 (sarray.h's inline accessor: a
 *                       check and one atomic store) vs a store into a
 *                       local C array, per second
 *   sarray.get_c_i64    mc_sarray_get_i64 (the i64 copied into the
 *                       caller's variable: the _c of a scalar) vs a load
 *                       from the local array
 *   sarray.get_ro_i64   *mc_sarray_ro_i64 vs the same load
 *   sarray.*_i64_call   the same through the called functions
 *                       (mc_sarray_set, mc_sarray_get, mc_sarray_get_ro)
 *   sarray.set_rec      mc_sarray_set of a record of an int and a 16-byte
 *                       string vs mc_sref_assign of the same record
 *   sarray.get_c_rec    mc_sarray_get_c vs mc_sref_deref_c
 *   sarray.get_p_rec    mc_sarray_get_p vs mc_sref_deref_p
 *   smatrix.set_f64     mc_smatrix_set_f64 (inline accessor) vs a store
 *                       into a local 2-D array
 *   smatrix.get_ro_f64  *mc_smatrix_ro_f64 vs a load from it
 *
 * The local loops go element by element with a compiler barrier in each
 * iteration (as code that touches one element at a time does): without it
 * the compiler turns them into vector code or removes them, and the ratio
 * would measure that.  Each figure is the median of several rounds; peers
 * run in the same rounds.  It runs in the master.
 * Usage: build/bench/arrays [rounds] */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "mcore/mcore.h"

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
    .name = "rec", .id = 0x51c3a7e9d0b24f68ull, .size = sizeof(rec),
    .align = _Alignof(rec), .copy = rec_copy, .trace = rec_trace,
};

static int rounds = 7;
static int failed;

#define CHECK(call) BENCH_TRY(call)

#define BARRIER() __asm__ volatile("" ::: "memory")

static int64_t sink;

/* ------------------------------------------------------------ scalars */

/* One pass over the array: each form of access, and the local peers. */
enum { N = 1 << 16, REP = 64 }; /* 512 KiB: in the caches */

static int bench_i64(mc_pool *pool)
{
    int64_t zero = 0;
    mc_sarray *made;
    CHECK(mc_sarray_make(pool, &mc_type_i64, N, &zero, NULL, NULL, &made));
    mc_sarray *const a = made; /* a handle in a register, as in user code */
    int64_t *loc = calloc(N, sizeof *loc);
    /* inline accessors, the called forms, the local peers */
    double s[16], g[16], r[16], sc[16], gc[16], rc_[16], sl[16], gl[16];
    for (int k = 0; k < rounds; k++) {
        double t[9];
        t[0] = bench_now_us();
        for (int rep = 0; rep < REP; rep++)
            for (size_t i = 0; i < N; i++)
                CHECK(mc_sarray_set_i64(a, i, (int64_t)i + rep));
        t[1] = bench_now_us();
        int64_t acc = 0; /* in a register, as a reader's sum would be */
        for (int rep = 0; rep < REP; rep++)
            for (size_t i = 0; i < N; i++) {
                int64_t v;
                CHECK(mc_sarray_get_i64(a, i, &v));
                acc += v;
            }
        t[2] = bench_now_us();
        for (int rep = 0; rep < REP; rep++)
            for (size_t i = 0; i < N; i++)
                acc += *mc_sarray_ro_i64(a, i);
        t[3] = bench_now_us();
        for (int rep = 0; rep < REP; rep++)
            for (size_t i = 0; i < N; i++) {
                int64_t v = (int64_t)i + rep;
                CHECK(mc_sarray_set(a, i, &v));
            }
        t[4] = bench_now_us();
        for (int rep = 0; rep < REP; rep++)
            for (size_t i = 0; i < N; i++) {
                int64_t v;
                CHECK(mc_sarray_get(a, i, &v));
                acc += v;
            }
        t[5] = bench_now_us();
        for (int rep = 0; rep < REP; rep++)
            for (size_t i = 0; i < N; i++)
                acc += *(const int64_t *)mc_sarray_get_ro(a, i);
        t[6] = bench_now_us();
        for (int rep = 0; rep < REP; rep++)
            for (size_t i = 0; i < N; i++) {
                loc[i] = (int64_t)i + rep;
                BARRIER();
            }
        t[7] = bench_now_us();
        for (int rep = 0; rep < REP; rep++)
            for (size_t i = 0; i < N; i++) {
                acc += loc[i];
                BARRIER();
            }
        t[8] = bench_now_us();
        sink += acc;
        double ops = (double)N * REP * 1e6;
        double *out[8] = {s, g, r, sc, gc, rc_, sl, gl};
        for (int f = 0; f < 8; f++)
            out[f][k] = ops / (t[f + 1] - t[f]);
    }
    double msl = bench_median(sl, rounds), mgl = bench_median(gl, rounds);
    bench_print("sarray.set_i64", bench_median(s, rounds), "ops/s",
                "local_array_set", msl);
    bench_print("sarray.get_c_i64", bench_median(g, rounds), "ops/s",
                "local_array_get", mgl);
    bench_print("sarray.get_ro_i64", bench_median(r, rounds), "ops/s",
                "local_array_get", mgl);
    bench_print("sarray.set_i64_call", bench_median(sc, rounds), "ops/s",
                "local_array_set", msl);
    bench_print("sarray.get_c_i64_call", bench_median(gc, rounds), "ops/s",
                "local_array_get", mgl);
    bench_print("sarray.get_ro_i64_call", bench_median(rc_, rounds), "ops/s",
                "local_array_get", mgl);
    free(loc);
    return mc_sarray_destroy(a);
}

/* ------------------------------------------------------------ records */

static int add_n(const void *v, void *ctx)
{
    *(int64_t *)ctx += ((const rec *)v)->n;
    return 0;
}

static int bench_rec(mc_pool *pool)
{
    char str[17] = "0123456789abcdef";
    rec r = {1, str};
    enum { N = 16, M = 200000 }; /* M operations over N elements */
    mc_sarray *a;
    mc_sref *s;
    CHECK(mc_sarray_make(pool, &rec_type, N, &r, NULL, NULL, &a));
    CHECK(mc_sref_create(pool, &rec_type, &r, &s));
    double as[16], ss[16], ac[16], sc[16], ap[16], sp[16];
    for (int k = 0; k < rounds; k++) {
        double t0 = bench_now_us();
        for (int i = 0; i < M; i++) {
            r.n = i;
            CHECK(mc_sarray_set(a, (size_t)i % N, &r));
        }
        double t1 = bench_now_us();
        for (int i = 0; i < M; i++) {
            r.n = i;
            CHECK(mc_sref_assign(s, &r));
        }
        double t2 = bench_now_us();
        for (int i = 0; i < M; i++) {
            void *copy;
            CHECK(mc_sarray_get_c(a, (size_t)i % N, &copy));
            sink += ((rec *)copy)->n;
            mc_local_free(copy);
        }
        double t3 = bench_now_us();
        for (int i = 0; i < M; i++) {
            void *copy;
            CHECK(mc_sref_deref_c(s, &copy));
            sink += ((rec *)copy)->n;
            mc_local_free(copy);
        }
        double t4 = bench_now_us();
        for (int i = 0; i < M; i++)
            CHECK(mc_sarray_get_p(a, (size_t)i % N, add_n, &sink));
        double t5 = bench_now_us();
        for (int i = 0; i < M; i++)
            CHECK(mc_sref_deref_p(s, add_n, &sink));
        double t6 = bench_now_us();
        as[k] = M / (t1 - t0) * 1e6;
        ss[k] = M / (t2 - t1) * 1e6;
        ac[k] = M / (t3 - t2) * 1e6;
        sc[k] = M / (t4 - t3) * 1e6;
        ap[k] = M / (t5 - t4) * 1e6;
        sp[k] = M / (t6 - t5) * 1e6;
    }
    bench_print("sarray.set_rec", bench_median(as, rounds), "ops/s",
                "sref_assign", bench_median(ss, rounds));
    bench_print("sarray.get_c_rec", bench_median(ac, rounds), "ops/s",
                "sref_deref_c", bench_median(sc, rounds));
    bench_print("sarray.get_p_rec", bench_median(ap, rounds), "ops/s",
                "sref_deref_p", bench_median(sp, rounds));
    CHECK(mc_sref_destroy(s));
    return mc_sarray_destroy(a);
}

/* ------------------------------------------------------------- matrix */

static int bench_matrix(mc_pool *pool)
{
    enum { R = 256, C = 256, REP = 16 }; /* 512 KiB */
    double zero = 0;
    mc_smatrix *made;
    CHECK(mc_smatrix_make(pool, &mc_type_f64, R, C, &zero, NULL, NULL,
                          &made));
    mc_smatrix *const m = made;
    static double loc[R][C];
    double s[16], sl[16], g[16], gl[16];
    double dsink = 0;
    for (int k = 0; k < rounds; k++) {
        double t0 = bench_now_us();
        for (int rep = 0; rep < REP; rep++)
            for (size_t i = 0; i < R; i++)
                for (size_t j = 0; j < C; j++) {
                    CHECK(mc_smatrix_set_f64(m, i, j,
                                             (double)(i + j + (size_t)rep)));
                }
        double t1 = bench_now_us();
        for (int rep = 0; rep < REP; rep++)
            for (size_t i = 0; i < R; i++)
                for (size_t j = 0; j < C; j++) {
                    loc[i][j] = (double)(i + j + (size_t)rep);
                    BARRIER();
                }
        double t2 = bench_now_us();
        for (int rep = 0; rep < REP; rep++)
            for (size_t i = 0; i < R; i++)
                for (size_t j = 0; j < C; j++)
                    dsink += *mc_smatrix_ro_f64(m, i, j);
        double t3 = bench_now_us();
        for (int rep = 0; rep < REP; rep++)
            for (size_t i = 0; i < R; i++)
                for (size_t j = 0; j < C; j++) {
                    dsink += loc[i][j];
                    BARRIER();
                }
        double t4 = bench_now_us();
        double ops = (double)R * C * REP * 1e6;
        s[k] = ops / (t1 - t0);
        sl[k] = ops / (t2 - t1);
        g[k] = ops / (t3 - t2);
        gl[k] = ops / (t4 - t3);
    }
    bench_print("smatrix.set_f64", bench_median(s, rounds), "ops/s",
                "local_2d_set", bench_median(sl, rounds));
    bench_print("smatrix.get_ro_f64", bench_median(g, rounds), "ops/s",
                "local_2d_get", bench_median(gl, rounds));
    sink += (int64_t)dsink;
    return mc_smatrix_destroy(m);
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    CHECK(mc_pool_create((size_t)1 << 30, &pool));
    int rc = bench_i64(pool);
    if (!rc)
        rc = bench_rec(pool);
    if (!rc)
        rc = bench_matrix(pool);
    if (sink == 42) /* keeps the reads from being optimized away */
        printf("#\n");
    mc_pool_release(pool);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        rounds = atoi(argv[1]);
    if (rounds < 1 || rounds > 16) {
        fprintf(stderr, "usage: %s [rounds 1..16]\n", argv[0]);
        return 2;
    }
    int rc = mc_startup(NULL, first, NULL);
    if (rc || failed) {
        fprintf(stderr, "arrays bench: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
