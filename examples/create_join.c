/* create_join: a compute process starts 10 workers that square 1..10, joins
 * them, and returns the sum; the master prints "Final result: 385". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcore/mcore.h"

#define N_WORKERS 10

static mc_res_id fork_sq, join_sq;

static int return_i64(int64_t v, void **res, size_t *len)
{
    int64_t *p = malloc(sizeof *p);
    if (!p)
        return MC_ENOMEM;
    *p = v;
    *res = p;
    *len = sizeof *p;
    return 0;
}

static int get_i64(const void *buf, size_t len, int64_t *v)
{
    if (len != sizeof *v)
        return MC_EINVAL;
    memcpy(v, buf, sizeof *v);
    return 0;
}

static int square(void *user, const void *arg, size_t len, void **res,
                  size_t *res_len)
{
    (void)user;
    int64_t k;
    int rc = get_i64(arg, len, &k);
    return rc ? rc : return_i64(k * k, res, res_len);
}

static int compute(void *user, const void *arg, size_t len, void **res,
                   size_t *res_len)
{
    (void)user; (void)arg; (void)len;
    mc_pid pids[N_WORKERS];
    int64_t sum = 0;
    for (int64_t i = 0; i < N_WORKERS; i++) {
        int64_t k = i + 1;
        int rc = mc_start(fork_sq, &k, sizeof k, &pids[i]);
        if (rc)
            return rc;
    }
    for (int i = 0; i < N_WORKERS; i++) {
        mc_join_result r;
        int64_t v;
        int rc = mc_join(join_sq, pids[i], &r);
        if (rc)
            return rc;
        if (r.kind != MC_EXIT_RESULT || get_i64(r.data, r.len, &v)) {
            fprintf(stderr, "worker %d failed (kind %d, code %d)\n", i,
                    (int)r.kind, r.code);
            mc_join_result_free(&r);
            return MC_EINVAL;
        }
        mc_join_result_free(&r);
        sum += v;
    }
    return return_i64(sum, res, res_len);
}

int main(void)
{
    mc_res_id fork_c, join_c;
    if (mc_def_process(square, NULL, &fork_sq, &join_sq) ||
        mc_def_process(compute, NULL, &fork_c, &join_c)) {
        fprintf(stderr, "create_join: %s\n", mc_last_error_detail());
        return 1;
    }
    mc_join_result r;
    int rc = mc_run(NULL, fork_c, join_c, NULL, 0, &r);
    int64_t sum;
    if (rc || r.kind != MC_EXIT_RESULT || get_i64(r.data, r.len, &sum)) {
        fprintf(stderr, "create_join: %s (%s), kind %d code %d\n",
                mc_strerror(rc), mc_last_error_detail(), (int)r.kind, r.code);
        return 1;
    }
    mc_join_result_free(&r);
    printf("Final result: %lld\n", (long long)sum);
    return 0;
}
