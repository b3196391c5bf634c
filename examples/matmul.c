/* matmul: parallel multiplication of two n x n f64 matrices held in shared
 * matrices (mcore/smatrix.h), by N workers, rows split among them.
 *
 *   build/examples/matmul [n [workers]]     (default 160 2)
 *
 * X fills A and B (deterministic values), creates C, and starts the
 * workers, each with a Job (matmul.mcidl) holding the three matrices'
 * typed descriptors and a range of rows.  A worker
 * looks the matrices up and computes its rows of C = A B directly on the
 * matrices' row-major blocks (matmul_Mat_data: no call per element), then
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
#include "matmul.h" /* generated from examples/matmul.mcidl */

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

static int body_w(const matmul_Job *j, void *result, void *user)
{
    (void)result; (void)user;
    matmul_Mat *a, *b, *c;
    /* MC_ETYPE if a descriptor names a matrix of another element type */
    int rc = matmul_Mat_of_descr(&j->a, &a);
    if (!rc)
        rc = matmul_Mat_of_descr(&j->b, &b);
    if (!rc)
        rc = matmul_Mat_of_descr(&j->c, &c);
    if (rc)
        return rc;
    size_t n, m;
    if ((rc = matmul_Mat_dims(a, &n, &m)))
        return rc;
    kernel(matmul_Mat_data(a), matmul_Mat_data(b), matmul_Mat_data(c), n,
           j->row0, j->row1);
    return 0;
}

static int fill(void *ctx, size_t i, size_t j, double *elem)
{
    /* small integers and halves: exact in binary, easy to check by hand */
    unsigned seed = *(unsigned *)ctx;
    *elem = (double)((i * 7 + j * 3 + seed) % 11) * 0.5 - 2.0;
    return 0;
}

static int body_x(const matmul_Opts *o, void *result, void *user)
{
    (void)result; (void)user;
    size_t n = o->n;
    int nw = o->workers;
    mc_pool *pool;
    matmul_Mat *a = NULL, *b = NULL, *c = NULL;
    unsigned sa = 1, sb = 5;
    matmul_Job j;
    mc_pid *pids = calloc((size_t)nw, sizeof *pids);
    double *local = malloc(n * n * sizeof *local);
    int started = 0;
    int rc = pids && local ? 0 : MC_ENOMEM;
    if (!rc)
        rc = mc_pool_create(3 * n * n * sizeof(double) + (16 << 20), &pool);
    if (!rc)
        rc = matmul_Mat_init(pool, n, n, fill, &sa, &a);
    if (!rc)
        rc = matmul_Mat_init(pool, n, n, fill, &sb, &b);
    if (!rc)
        rc = matmul_Mat_make(pool, n, n, 0.0, &c);
    if (!rc && !(rc = matmul_Mat_descr_of(a, &j.a)) &&
        !(rc = matmul_Mat_descr_of(b, &j.b)))
        rc = matmul_Mat_descr_of(c, &j.c);
    double t0 = now_s();
    for (; !rc && started < nw; started++) {
        j.row0 = n * (size_t)started / (size_t)nw;
        j.row1 = n * (size_t)(started + 1) / (size_t)nw;
        rc = matmul_w_start(&j, &pids[started]);
    }
    for (int k = 0; k < started; k++) {
        /* MC_EPROCESS if the worker failed: the detail says how */
        int jrc = matmul_w_join(pids[k], NULL, NULL);
        if (jrc)
            fprintf(stderr, "matmul: worker %d: %s (%s)\n", k,
                    mc_strerror(jrc), mc_last_error_detail());
        if (!rc)
            rc = jrc;
    }
    double t1 = now_s();
    if (!rc) {
        kernel(matmul_Mat_data(a), matmul_Mat_data(b), local, n, 0, n);
        double t2 = now_s();
        const double *pc = matmul_Mat_data(c);
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
        matmul_Mat_destroy(a);
    if (b)
        matmul_Mat_destroy(b);
    if (c)
        matmul_Mat_destroy(c);
    free(pids);
    free(local);
    return rc;
}

int main(int argc, char **argv)
{
    matmul_Opts o = {160, 2};
    if (argc > 1)
        o.n = strtoull(argv[1], NULL, 10);
    if (argc > 2)
        o.workers = atoi(argv[2]);
    if (o.n == 0 || o.n > 20000 || o.workers < 1 || o.workers > 256) {
        fprintf(stderr, "usage: matmul [n (1..20000) [workers (1..256)]]\n");
        return 2;
    }
    if (matmul_x_def(body_x, NULL) || matmul_w_def(body_w, NULL))
        return 1;
    /* a whole session whose first process is X, given the options */
    int rc = matmul_x_run(&o, NULL, NULL);
    if (rc) {
        fprintf(stderr, "matmul: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
