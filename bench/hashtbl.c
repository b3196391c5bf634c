/* bench/hashtbl.c: the shared hash table (mcore/shashtbl.h) against GLib's
 * GHashTable (process-local: the speed of light for one process), in the
 * same run.
 *
 *   build/bench/hashtbl [N [ROUNDS]]        the figures below (N = 10^6)
 *   build/bench/hashtbl scale N P1,P2,...   find_c and add with P
 *                                           processes at once
 *   build/bench/hashtbl add|single [N [ROUNDS]]  only shashtbl.add, or
 *                                           only the one-process figures
 *                                           (add, find_c, find_p): for
 *                                           profiling (callgrind)
 *
 * Keys: N i64 keys; values: 16-byte strings (15 characters and the NUL).
 * Figures (medians of ROUNDS rounds, default 5):
 *   shashtbl.add          N adds into a fresh table (key and value copied
 *                         in) vs g_hash_table_insert of a malloc'd copy of
 *                         the key and g_strdup of the value
 *   shashtbl.find_c       N lookups in random order, the value copied out
 *                         (a local copy, freed) vs g_hash_table_lookup +
 *                         g_strdup + g_free
 *   shashtbl.find_p       the same with a callback that copies the value
 *                         to a stack buffer vs lookup + strcpy to one
 *   shashtbl.find_c_2proc two processes looking up at once, aggregate, vs
 *                         one process, same run
 *   shashtbl.find_c_with_writer  one reader while another process adds and
 *                         removes other keys, vs the reader alone
 * Processes are mcore workers; a shared page made before mc_startup
 * (inherited by every worker) carries the start signal.
 */
#include <glib.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "mcore/mcore.h"

#define VLEN 16
#define MAXP 64

typedef struct ctl {
    _Atomic int ready;
    _Atomic int go;
    _Atomic int stop;
    double end_us[MAXP];
    int64_t ops[MAXP];
} ctl;

static ctl *C;
static mc_res_id fp, jp;
static int64_t N = 1000000;
static int ROUNDS = 5;
static int ONLY; /* 1: add only, 2: the one-process figures only */

typedef struct job {
    mc_shashtbl_descr d;
    int id;
    int kind;   /* 0 reader (find_c), 1 writer (add/remove until stop),
                   2 adder of its own key range */
    int64_t ops;
    int64_t n;  /* keys in the table: 0..n-1 */
} job;

static void spell(char *buf, int64_t k)
{
    /* 15 characters: the key's 14 low decimal digits */
    snprintf(buf, VLEN, "v%014llu",
             (unsigned long long)k % 100000000000000ull);
}

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static int64_t *perm; /* lookup order */

static void make_perm(int64_t n)
{
    free(perm);
    perm = malloc((size_t)n * sizeof *perm);
    uint64_t x = 88172645463325252ull;
    for (int64_t i = 0; i < n; i++)
        perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(rnd(&x) % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* --------------------------------------------------------- the figures */

static int fill(mc_shashtbl *t, int64_t from, int64_t to)
{
    char buf[VLEN];
    char *s = buf;
    for (int64_t k = from; k < to; k++) {
        spell(buf, k);
        int rc = mc_shashtbl_add(t, &k, &s);
        if (rc)
            return rc;
    }
    return 0;
}

static int64_t find_c_loop(mc_shashtbl *t, int64_t n, int64_t ops,
                           uint64_t seed)
{
    int64_t bad = 0;
    uint64_t x = seed | 1;
    for (int64_t i = 0; i < ops; i++) {
        int64_t k = perm ? perm[i % n] : (int64_t)(rnd(&x) % (uint64_t)n);
        char **c;
        if (mc_shashtbl_find_c(t, &k, (void **)&c)) {
            bad++;
            continue;
        }
        mc_local_free(c);
    }
    return bad;
}

static int copy_out(const void *value, void *ctx)
{
    strcpy(ctx, *(char *const *)value);
    return 0;
}

static int body(void *user, const void *arg, size_t len, void **result,
                size_t *result_len)
{
    (void)user, (void)result, (void)result_len;
    job j;
    if (len != sizeof j)
        return MC_EINVAL;
    memcpy(&j, arg, sizeof j);
    mc_shashtbl *t;
    int rc = mc_shashtbl_of_descr(&j.d, &mc_type_i64, &mc_type_str, NULL,
                                  &t);
    if (rc)
        return rc;
    free(perm); /* random keys per process: no shared order */
    perm = NULL;
    if (j.kind == 0) { /* warm the reader slots of every shard */
        find_c_loop(t, j.n, 1000, (uint64_t)j.id * 7919 + 1);
    }
    atomic_fetch_add(&C->ready, 1);
    while (!atomic_load(&C->go))
        ;
    if (j.kind == 0) {
        if (find_c_loop(t, j.n, j.ops, (uint64_t)j.id * 7919 + 1))
            return MC_ENOENT;
    } else if (j.kind == 1) {
        char buf[VLEN];
        char *s = buf;
        int64_t k = j.n + (int64_t)j.id * 100000;
        /* add 10^4 keys of its own, remove them, and again: no
         * duplicates, the table's size steady */
        for (int64_t i = 0; !atomic_load(&C->stop); i++) {
            int64_t key = k + i % 10000;
            if ((i / 10000) % 2 == 0) {
                spell(buf, key);
                rc = mc_shashtbl_add(t, &key, &s);
            } else {
                rc = mc_shashtbl_remove(t, &key);
            }
            if (rc && rc != MC_ENOENT)
                return rc;
            C->ops[j.id] = i;
        }
    } else {
        rc = fill(t, j.n + (int64_t)j.id * j.ops,
                  j.n + (int64_t)(j.id + 1) * j.ops);
        if (rc)
            return rc;
    }
    C->end_us[j.id] = bench_now_us();
    return 0;
}

static void join_one(mc_pid pid, int i)
{
    mc_join_result r = {0};
    mc_join(jp, pid, &r);
    if (r.kind != MC_EXIT_RESULT)
        fprintf(stderr, "hashtbl: worker %d failed (%d)\n", i, r.code);
    mc_join_result_free(&r);
}

/* Start np workers of the kinds given (kinds[i]), wait until they are
 * ready, go, join them: the seconds from go to the last end. */
static double run_procs(mc_shashtbl *t, int np, const int *kinds,
                        int64_t ops, int64_t n, double *reader_s)
{
    job j[MAXP];
    mc_pid pids[MAXP];
    atomic_store(&C->ready, 0);
    atomic_store(&C->go, 0);
    atomic_store(&C->stop, 0);
    for (int i = 0; i < np; i++) {
        j[i] = (job){.id = i, .kind = kinds[i], .ops = ops, .n = n};
        mc_shashtbl_descr_of(t, &j[i].d);
        C->end_us[i] = 0;
        if (mc_start(fp, &j[i], sizeof j[i], &pids[i])) {
            fprintf(stderr, "hashtbl: start: %s\n", mc_last_error_detail());
            exit(1);
        }
    }
    while (atomic_load(&C->ready) < np)
        usleep(100);
    double t0 = bench_now_us();
    atomic_store(&C->go, 1);
    /* a writer runs until the readers are done */
    for (int i = 0; i < np; i++)
        if (kinds[i] == 0)
            join_one(pids[i], i);
    atomic_store(&C->stop, 1);
    double last = 0;
    for (int i = 0; i < np; i++) {
        if (kinds[i] != 0)
            join_one(pids[i], i);
        /* the writer's end (kind 1) is not the figure's */
        if (kinds[i] != 1 && C->end_us[i] > last)
            last = C->end_us[i];
    }
    if (reader_s)
        *reader_s = (last - t0) / 1e6;
    return (last - t0) / 1e6;
}

static mc_shashtbl *new_table(mc_pool *pool)
{
    mc_shashtbl *t;
    if (mc_shashtbl_create(pool, &mc_type_i64, &mc_type_str, NULL, NULL,
                           &t)) {
        fprintf(stderr, "hashtbl: create: %s\n", mc_last_error_detail());
        exit(1);
    }
    return t;
}

static void key_free(gpointer p) { g_free(p); }

static int figures(void)
{
    mc_pool *pool;
    if (mc_pool_create((size_t)16 << 30, &pool)) {
        fprintf(stderr, "hashtbl: pool: %s\n", mc_last_error_detail());
        return 1;
    }
    make_perm(N);
    double add[16], gadd[16], fc[16], gfc[16], fpv[16], gfp[16];
    double two[16], one[16], w1[16], w0[16];
    char buf[VLEN], out[VLEN];
    mc_shashtbl *t = NULL;
    for (int r = 0; r < ROUNDS; r++) {
        /* add vs GLib insert */
        if (t)
            mc_shashtbl_destroy(t);
        t = new_table(pool);
        bench_evict();
        double t0 = bench_now_us();
        if (fill(t, 0, N)) {
            fprintf(stderr, "hashtbl: add: %s\n", mc_last_error_detail());
            return 1;
        }
        add[r] = N / ((bench_now_us() - t0) / 1e6);
        if (ONLY == 1) {
            gadd[r] = 0;
            continue;
        }
        GHashTable *g = g_hash_table_new_full(g_int64_hash, g_int64_equal,
                                              key_free, g_free);
        bench_evict();
        t0 = bench_now_us();
        for (int64_t k = 0; k < N; k++) {
            spell(buf, k);
            g_hash_table_insert(g, g_memdup2(&k, sizeof k), g_strdup(buf));
        }
        gadd[r] = N / ((bench_now_us() - t0) / 1e6);

        /* find_c vs lookup + g_strdup */
        bench_evict();
        t0 = bench_now_us();
        if (find_c_loop(t, N, N, 1)) {
            fprintf(stderr, "hashtbl: find_c missed\n");
            return 1;
        }
        fc[r] = N / ((bench_now_us() - t0) / 1e6);
        bench_evict();
        t0 = bench_now_us();
        size_t sum = 0;
        for (int64_t i = 0; i < N; i++) {
            char *v = g_hash_table_lookup(g, &perm[i]);
            char *c = g_strdup(v);
            sum += (unsigned char)c[1];
            g_free(c);
        }
        gfc[r] = N / ((bench_now_us() - t0) / 1e6);

        /* find_p vs lookup + strcpy */
        bench_evict();
        t0 = bench_now_us();
        for (int64_t i = 0; i < N; i++) {
            mc_shashtbl_find_p(t, &perm[i], copy_out, out);
            sum += (unsigned char)out[1];
        }
        fpv[r] = N / ((bench_now_us() - t0) / 1e6);
        bench_evict();
        t0 = bench_now_us();
        for (int64_t i = 0; i < N; i++) {
            strcpy(out, g_hash_table_lookup(g, &perm[i]));
            sum += (unsigned char)out[1];
        }
        gfp[r] = N / ((bench_now_us() - t0) / 1e6);
        if (sum == 42)
            printf("(sum)\n");
        g_hash_table_destroy(g);
        if (ONLY)
            continue;

        /* two readers vs one, same table */
        int k1[1] = {0}, k2[2] = {0, 0}, kw[2] = {0, 1};
        one[r] = N / run_procs(t, 1, k1, N, N, NULL);
        two[r] = 2 * N / run_procs(t, 2, k2, N, N, NULL);
        /* a reader with a writer beside it vs alone */
        w0[r] = one[r];
        double rs;
        run_procs(t, 2, kw, N, N, &rs);
        w1[r] = N / rs;
    }
    double m = 1e6;
    if (ONLY == 1) {
        bench_print("shashtbl.add", bench_median(add, ROUNDS) / m, "Mops/s",
                    NULL, 0);
        mc_shashtbl_destroy(t);
        return 0;
    }
    bench_print("shashtbl.add", bench_median(add, ROUNDS) / m, "Mops/s",
                "glib_insert", bench_median(gadd, ROUNDS) / m);
    bench_print("shashtbl.find_c", bench_median(fc, ROUNDS) / m, "Mops/s",
                "glib_lookup_strdup", bench_median(gfc, ROUNDS) / m);
    bench_print("shashtbl.find_p", bench_median(fpv, ROUNDS) / m, "Mops/s",
                "glib_lookup_strcpy", bench_median(gfp, ROUNDS) / m);
    if (ONLY) {
        mc_shashtbl_destroy(t);
        return 0;
    }
    bench_print("shashtbl.find_c_2proc", bench_median(two, ROUNDS) / m,
                "Mops/s", "find_c_1proc", bench_median(one, ROUNDS) / m);
    bench_print("shashtbl.find_c_with_writer", bench_median(w1, ROUNDS) / m,
                "Mops/s", "find_c_alone", bench_median(w0, ROUNDS) / m);
    mc_shashtbl_stats st;
    if (!mc_shashtbl_stats_get(t, &st))
        fprintf(stderr, "hashtbl: %zu bindings, %zu buckets, longest chain "
                        "%zu, %llu resizes\n", st.bindings, st.buckets,
                st.longest_chain, (unsigned long long)st.resizes);
    mc_shashtbl_destroy(t);
    return 0;
}

/* find_c and add with P processes, for each P of the list. */
static int scale(const char *list)
{
    mc_pool *pool;
    if (mc_pool_create((size_t)64 << 30, &pool))
        return 1;
    mc_shashtbl *t = new_table(pool);
    if (fill(t, 0, N))
        return 1;
    double base_r = 0, base_a = 0;
    char *l = strdup(list);
    for (char *p = strtok(l, ","); p; p = strtok(NULL, ",")) {
        int np = atoi(p);
        if (np < 1 || np > MAXP)
            continue;
        int kinds[MAXP];
        double rr[16], aa[16];
        for (int r = 0; r < ROUNDS; r++) {
            for (int i = 0; i < np; i++)
                kinds[i] = 0;
            rr[r] = (double)np * N / run_procs(t, np, kinds, N, N, NULL);
            /* P adders of fresh key ranges into a fresh table */
            mc_shashtbl *a = new_table(pool);
            for (int i = 0; i < np; i++)
                kinds[i] = 2;
            int64_t per = N / np;
            aa[r] = (double)per * np / run_procs(a, np, kinds, per, 0, NULL);
            mc_shashtbl_destroy(a);
        }
        double vr = bench_median(rr, ROUNDS), va = bench_median(aa, ROUNDS);
        if (!base_r) {
            base_r = vr;
            base_a = va;
        }
        char fig[64];
        snprintf(fig, sizeof fig, "shashtbl.find_c_%dproc", np);
        bench_print(fig, vr / 1e6, "Mops/s", "find_c_1proc", base_r / 1e6);
        snprintf(fig, sizeof fig, "shashtbl.add_%dproc", np);
        bench_print(fig, va / 1e6, "Mops/s", "add_1proc", base_a / 1e6);
    }
    free(l);
    mc_shashtbl_destroy(t);
    return 0;
}

static const char *scale_list;

static int first(void *ctx)
{
    (void)ctx;
    return scale_list ? scale(scale_list) : figures();
}

int main(int argc, char **argv)
{
    int a = 1;
    if (a < argc && strcmp(argv[a], "scale") == 0) {
        scale_list = "1,2,4,8,16";
        a++;
        if (a < argc)
            N = atoll(argv[a++]);
        if (a < argc)
            scale_list = argv[a++];
    } else {
        if (a < argc && strcmp(argv[a], "add") == 0)
            ONLY = 1, a++;
        else if (a < argc && strcmp(argv[a], "single") == 0)
            ONLY = 2, a++;
        if (a < argc)
            N = atoll(argv[a++]);
        if (a < argc)
            ROUNDS = atoi(argv[a++]);
    }
    if (N < 1000 || ROUNDS < 1 || ROUNDS > 16) {
        fprintf(stderr, "usage: hashtbl [add|single] [N [ROUNDS]] | "
                        "hashtbl scale N P1,P2,...\n");
        return 2;
    }
    C = mmap(NULL, sizeof *C, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (C == MAP_FAILED || mc_def_process(body, NULL, &fp, &jp))
        return 1;
    int rc = mc_startup(NULL, first, NULL);
    if (rc) {
        fprintf(stderr, "hashtbl: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
