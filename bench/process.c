/* bench/process: the cost of a worker.
 *
 *   process.start_join  start + join of a trivial body from a worker, median
 *                       of N, beside bare fork() + waitpid() in that worker
 *   process.session     mc_run with one trivial worker: startup to exit
 *   process.master_box_rtt  a round trip (us) from the master to an echo
 *                       worker and back through two camlboxes, beside the
 *                       same from a worker (worker_box_rtt): the master
 *                       takes part in its session as a worker does, so it
 *                       should be no slower.  Medians of rounds taken in
 *                       turn (master, worker, master...).
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

static mc_res_id fork_nop, join_nop, fork_echo, join_echo, fork_rtt,
    join_rtt;
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

/* ------------------------------------------------- box round trips */

static int recv_i64(mc_camlbox *box, int64_t *x)
{
    unsigned slot;
    size_t n = 0;
    int rc = mc_camlbox_wait(box, -1, &slot, 1, &n);
    if (rc)
        return rc;
    const int64_t *v;
    mc_camlbox_get(box, slot, (const void **)&v);
    *x = *v;
    return mc_camlbox_delete(box, slot);
}

/* Make a box, send its id to the asker's box (arg), then send back every
 * value received, until a negative one. */
static int echo(void *user, const void *arg, size_t len, void **res,
                size_t *res_len)
{
    (void)user; (void)res; (void)res_len;
    mc_res_id back_id;
    if (len != sizeof back_id)
        return MC_EINVAL;
    memcpy(&back_id, arg, sizeof back_id);
    mc_camlbox_sender *back;
    mc_camlbox *box;
    int rc = mc_camlbox_sender_lookup(back_id, &mc_type_i64, &back);
    if (rc || (rc = mc_camlbox_create(&mc_type_i64, 4, 64, NULL, &box)))
        return rc;
    int64_t x = mc_camlbox_id(box);
    for (rc = mc_camlbox_send(back, &x); !rc;) {
        if ((rc = recv_i64(box, &x)) || x < 0)
            break;
        rc = mc_camlbox_send(back, &x);
    }
    mc_camlbox_destroy(box);
    mc_camlbox_sender_release(back);
    return rc;
}

/* Median round trip (us) of iters messages from the calling process (the
 * master or a worker) to a new echo worker. */
static double box_rtt(int iters)
{
    mc_camlbox *box;
    mc_camlbox_sender *to;
    if (mc_camlbox_create(&mc_type_i64, 4, 64, NULL, &box))
        return -1;
    mc_res_id id = mc_camlbox_id(box);
    mc_pid pid;
    int64_t peer, x;
    if (mc_start(fork_echo, &id, sizeof id, &pid) || recv_i64(box, &peer) ||
        mc_camlbox_sender_lookup(peer, &mc_type_i64, &to))
        return -1;
    double *v = malloc(iters * sizeof *v);
    int bad = !v;
    for (int i = 0; i < iters && !bad; i++) {
        double t0 = bench_now_us();
        bad = mc_camlbox_send(to, &(int64_t){i}) || recv_i64(box, &x) ||
              x != i;
        v[i] = bench_now_us() - t0;
    }
    mc_camlbox_send(to, &(int64_t){-1});
    mc_join_result jr;
    mc_join(join_echo, pid, &jr);
    mc_join_result_free(&jr);
    mc_camlbox_sender_release(to);
    mc_camlbox_destroy(box);
    double med = bad ? -1 : bench_median(v, iters);
    free(v);
    return med;
}

/* A worker's round trips, as its result (one double). */
static int rtt_worker(void *user, const void *arg, size_t len, void **res,
                      size_t *res_len)
{
    (void)user; (void)arg; (void)len;
    double *d = malloc(sizeof *d);
    if (!d)
        return MC_ENOMEM;
    *d = box_rtt(n_iter);
    *res = d;
    *res_len = sizeof *d;
    return *d < 0 ? MC_EINVAL : 0;
}

/* In the master: rounds of its own round trips and a worker's, in turn. */
static int first_rtt(void *ctx)
{
    double *med = ctx;
    enum { ROUNDS = 7 };
    double m[ROUNDS], w[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        mc_pid pid;
        mc_join_result jr;
        if ((m[r] = box_rtt(n_iter)) < 0 ||
            mc_start(fork_rtt, NULL, 0, &pid) ||
            mc_join(join_rtt, pid, &jr) || jr.kind != MC_EXIT_RESULT ||
            jr.len != sizeof(double))
            return MC_EINVAL;
        memcpy(&w[r], jr.data, sizeof(double));
        mc_join_result_free(&jr);
    }
    med[0] = bench_median(m, ROUNDS);
    med[1] = bench_median(w, ROUNDS);
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
        mc_def_process(driver, NULL, &fork_drv, &join_drv) ||
        mc_def_process(echo, NULL, &fork_echo, &join_echo) ||
        mc_def_process(rtt_worker, NULL, &fork_rtt, &join_rtt))
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

    double rtt[2];
    if ((rc = mc_startup(&cfg, first_rtt, rtt))) {
        fprintf(stderr, "box round trips: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    bench_print("process.master_box_rtt", rtt[0], "us", "worker_box_rtt",
                rtt[1]);
    return 0;
}
