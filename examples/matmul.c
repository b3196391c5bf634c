/* matmul: parallel multiplication of two n x n f64 matrices held in shared
 * matrices (mcore/smatrix.h), by N workers, rows split among them.
 *
 *   build/examples/matmul [n [workers]]     (default 160 2)
 *
 * X fills A and B (deterministic values), creates C, and starts the
 * workers with the three descriptors and a range of rows each.  A worker
 * looks the matrices up and computes its rows of C = A B directly on the
 * matrices' row-major blocks (mc_smatrix_data: no call per element), then
 * returns; X joins them all.  X then multiplies the same inputs alone
 * into local memory with the same kernel and prints the largest absolute
 * difference (0: both computed every element the same way) and the time
 * of each:
 *   matmul: n=160 workers=2 parallel 0.004 s sequential 0.007 s speedup 1.75
 *   max abs difference: 0
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcore/mcore.h"

static mc_res_id fork_x, join_x, fork_w, join_w;

typedef struct job {
    mc_smatrix_descr a, b, c;
    size_t row0, row1;
} job;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Rows [r0, r1) of c = a b (n x n, row-major), in i-k-j order: the inner
 * loop runs along rows of b and c (unit stride). */
static void kernel(const double *a, const double *b, double *c, size_t n,
                   size_t r0, size_t r1)
{
    for (size_t i = r0; i < r1; i++) {
        double *ci = c + i * n;
        memset(ci, 0, n * sizeof *ci);
        for (size_t k = 0; k < n; k++) {
            double aik = a[i * n + k];
            const double *bk = b + k * n;
            for (size_t j = 0; j < n; j++)
                ci[j] += aik * bk[j];
        }
    }
}

static int body_w(void *user, const void *arg, size_t len, void **res,
                  size_t *res_len)
{
    (void)user; (void)res; (void)res_len;
    job j;
    mc_smatrix *a, *b, *c;
    if (len != sizeof j)
        return MC_EINVAL;
    memcpy(&j, arg, sizeof j);
    int rc = mc_smatrix_of_descr(&j.a, &mc_type_f64, NULL, &a);
    if (!rc)
        rc = mc_smatrix_of_descr(&j.b, &mc_type_f64, NULL, &b);
    if (!rc)
        rc = mc_smatrix_of_descr(&j.c, &mc_type_f64, NULL, &c);
    if (rc)
        return rc;
    size_t n, m;
    if ((rc = mc_smatrix_dims(a, &n, &m)))
        return rc;
    kernel(mc_smatrix_data(a), mc_smatrix_data(b), mc_smatrix_data(c), n,
           j.row0, j.row1);
    return 0;
}

static int fill(void *ctx, size_t i, size_t j, void *elem)
{
    /* small integers and halves: exact in binary, easy to check by hand */
    unsigned seed = *(unsigned *)ctx;
    *(double *)elem = (double)((i * 7 + j * 3 + seed) % 11) * 0.5 - 2.0;
    return 0;
}

struct opts {
    size_t n;
    int workers;
};

static int body_x(void *user, const void *arg, size_t len, void **res,
                  size_t *res_len)
{
    (void)user; (void)len; (void)res; (void)res_len;
    const struct opts *o = arg;
    size_t n = o->n;
    int nw = o->workers;
    mc_pool *pool;
    mc_smatrix *a = NULL, *b = NULL, *c = NULL;
    unsigned sa = 1, sb = 5;
    double zero = 0;
    job j;
    mc_pid *pids = calloc((size_t)nw, sizeof *pids);
    double *local = malloc(n * n * sizeof *local);
    int started = 0;
    int rc = pids && local ? 0 : MC_ENOMEM;
    if (!rc)
        rc = mc_pool_create(3 * n * n * sizeof(double) + (16 << 20), &pool);
    if (!rc)
        rc = mc_smatrix_init(pool, &mc_type_f64, n, n, fill, &sa, NULL, NULL,
                             &a);
    if (!rc)
        rc = mc_smatrix_init(pool, &mc_type_f64, n, n, fill, &sb, NULL, NULL,
                             &b);
    if (!rc)
        rc = mc_smatrix_make(pool, &mc_type_f64, n, n, &zero, NULL, NULL,
                             &c);
    if (!rc && !(rc = mc_smatrix_descr_of(a, &j.a)) &&
        !(rc = mc_smatrix_descr_of(b, &j.b)))
        rc = mc_smatrix_descr_of(c, &j.c);
    double t0 = now_s();
    for (; !rc && started < nw; started++) {
        j.row0 = n * (size_t)started / (size_t)nw;
        j.row1 = n * (size_t)(started + 1) / (size_t)nw;
        rc = mc_start(fork_w, &j, sizeof j, &pids[started]);
    }
    for (int k = 0; k < started; k++) {
        mc_join_result r = {0};
        int jrc = mc_join(join_w, pids[k], &r);
        if (!jrc && r.kind != MC_EXIT_RESULT) {
            fprintf(stderr, "matmul: worker %d ended with kind %d code %d "
                            "(%s)\n", k, (int)r.kind, r.code,
                    mc_strerror(r.code));
            jrc = MC_EPROCESS;
        }
        mc_join_result_free(&r);
        if (!rc)
            rc = jrc;
    }
    double t1 = now_s();
    if (!rc) {
        kernel(mc_smatrix_data(a), mc_smatrix_data(b), local, n, 0, n);
        double t2 = now_s();
        const double *pc = mc_smatrix_data(c);
        double diff = 0;
        for (size_t k = 0; k < n * n; k++)
            diff = fmax(diff, fabs(pc[k] - local[k]));
        printf("matmul: n=%zu workers=%d parallel %.3f s sequential %.3f s "
               "speedup %.2f\n", n, nw, t1 - t0, t2 - t1,
               (t2 - t1) / (t1 - t0));
        printf("max abs difference: %g\n", diff);
    } else {
        fprintf(stderr, "matmul: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
    }
    if (a)
        mc_smatrix_destroy(a);
    if (b)
        mc_smatrix_destroy(b);
    if (c)
        mc_smatrix_destroy(c);
    free(pids);
    free(local);
    return rc;
}

int main(int argc, char **argv)
{
    struct opts o = {160, 2};
    if (argc > 1)
        o.n = (size_t)strtoul(argv[1], NULL, 10);
    if (argc > 2)
        o.workers = atoi(argv[2]);
    if (o.n == 0 || o.n > 20000 || o.workers < 1 || o.workers > 256) {
        fprintf(stderr, "usage: matmul [n (1..20000) [workers (1..256)]]\n");
        return 2;
    }
    if (mc_def_process(body_x, NULL, &fork_x, &join_x) ||
        mc_def_process(body_w, NULL, &fork_w, &join_w))
        return 1;
    mc_join_result r;
    int rc = mc_run(NULL, fork_x, join_x, &o, sizeof o, &r);
    if (rc || r.kind != MC_EXIT_RESULT) {
        fprintf(stderr, "matmul: %s (%s), kind %d code %d\n",
                mc_strerror(rc), mc_last_error_detail(), (int)r.kind, r.code);
        return 1;
    }
    mc_join_result_free(&r);
    return 0;
}
