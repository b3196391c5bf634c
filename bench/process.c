/* bench/process: the cost of a worker.
 *
 *   process.start_join  start + join of a trivial body from a worker, median
 *                       of N, beside bare fork() + waitpid() in that worker
 *   process.session     mc_run with one trivial worker: startup to exit
 *
 * Usage: build/bench/process [N [spin_us]]   (default 1000, and the
 * default polling time; -1 never polls) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "mcore/mcore.h"

static mc_res_id fork_nop, join_nop;
static int n_iter = 1000;

static int nop(void *user, const void *arg, size_t len, void **res,
               size_t *res_len)
{
    (void)user; (void)arg; (void)len; (void)res; (void)res_len;
    return 0;
}

/* Runs in a worker: both loops, interleaved in blocks of 50 so that machine
 * noise hits both alike.  Returns the two medians. */
static int driver(void *user, const void *arg, size_t len, void **res,
                  size_t *res_len)
{
    (void)user; (void)arg; (void)len;
    double *mc = malloc(n_iter * sizeof *mc);
    double *fw = malloc(n_iter * sizeof *fw);
    double *out = malloc(2 * sizeof *out);
    if (!mc || !fw || !out)
        return MC_ENOMEM;
    for (int done = 0; done < n_iter;) {
        int block = n_iter - done < 50 ? n_iter - done : 50;
        for (int i = 0; i < block; i++) {
            mc_pid pid;
            mc_join_result r;
            double t0 = bench_now_us();
            int rc = mc_start(fork_nop, NULL, 0, &pid);
            if (!rc)
                rc = mc_join(join_nop, pid, &r);
            if (rc)
                return rc;
            mc[done + i] = bench_now_us() - t0;
            mc_join_result_free(&r);
        }
        for (int i = 0; i < block; i++) {
            double t0 = bench_now_us();
            pid_t p = fork();
            if (p == 0)
                _exit(0);
            int st;
            if (p < 0 || waitpid(p, &st, 0) != p)
                return MC_ESYS;
            fw[done + i] = bench_now_us() - t0;
        }
        done += block;
    }
    out[0] = bench_median(mc, n_iter);
    out[1] = bench_median(fw, n_iter);
    free(mc);
    free(fw);
    *res = out;
    *res_len = 2 * sizeof *out;
    return 0;
}

int main(int argc, char **argv)
{
    mc_config cfg = {0};
    if (argc > 1)
        n_iter = atoi(argv[1]);
    if (argc > 2)
        cfg.spin_us = atoi(argv[2]);
    if (n_iter < 1) {
        fprintf(stderr, "usage: %s [iterations]\n", argv[0]);
        return 2;
    }
    mc_res_id fork_drv, join_drv;
    if (mc_def_process(nop, NULL, &fork_nop, &join_nop) ||
        mc_def_process(driver, NULL, &fork_drv, &join_drv))
        return 1;

    mc_join_result r;
    int rc = mc_run(&cfg, fork_drv, join_drv, NULL, 0, &r);
    if (rc || r.kind != MC_EXIT_RESULT || r.len != 2 * sizeof(double)) {
        fprintf(stderr, "process bench: %s (%s) kind %d code %d\n",
                mc_strerror(rc), mc_last_error_detail(), (int)r.kind, r.code);
        return 1;
    }
    double med[2];
    memcpy(med, r.data, sizeof med);
    mc_join_result_free(&r);
    bench_print("process.start_join", med[0], "us", "fork_waitpid", med[1]);

    int n_sess = n_iter / 5 > 20 ? n_iter / 5 : 20;
    double *t = malloc(n_sess * sizeof *t);
    if (!t)
        return 1;
    for (int i = 0; i < n_sess; i++) {
        double t0 = bench_now_us();
        rc = mc_run(&cfg, fork_nop, join_nop, NULL, 0, &r);
        t[i] = (bench_now_us() - t0) / 1000;
        if (rc || r.kind != MC_EXIT_RESULT) {
            fprintf(stderr, "session: %s (%s)\n", mc_strerror(rc),
                    mc_last_error_detail());
            return 1;
        }
        mc_join_result_free(&r);
    }
    bench_print("process.session", bench_median(t, n_sess), "ms", NULL, 0);
    free(t);
    return 0;
}
