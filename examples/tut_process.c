/* tut_process: the tutorial's "X starts Y" example.
 *
 * X sets a global to 1 and starts Y with k.  Y computes k + 1 + c.  As every
 * worker is a fresh fork of the master, where c is still 0, Y sees c == 0
 * and the result is 2, not 3.  (Typed start/join wrappers come from mcidl;
 * this example uses the byte interface they are built on.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcore/mcore.h"

static int c = 0;
static mc_res_id fork_y, join_y;

static int return_int(int v, void **res, size_t *len)
{
    int *p = malloc(sizeof *p);
    if (!p)
        return MC_ENOMEM;
    *p = v;
    *res = p;
    *len = sizeof *p;
    return 0;
}

static int body_y(void *user, const void *arg, size_t len, void **res,
                  size_t *res_len)
{
    (void)user;
    int k;
    if (len != sizeof k)
        return MC_EINVAL;
    memcpy(&k, arg, sizeof k);
    return return_int(k + 1 + c, res, res_len);
}

static int body_x(void *user, const void *arg, size_t len, void **res,
                  size_t *res_len)
{
    (void)user; (void)res; (void)res_len;
    mc_pid pid;
    mc_join_result r;
    c = 1; /* not seen by Y: Y is forked from the master */
    int rc = mc_start(fork_y, arg, len, &pid);
    if (!rc)
        rc = mc_join(join_y, pid, &r);
    if (rc || r.kind != MC_EXIT_RESULT || r.len != sizeof(int)) {
        fprintf(stderr, "Error in process Y: %s %s\n", mc_strerror(rc),
                mc_last_error_detail());
        return rc ? rc : MC_EINVAL;
    }
    int j;
    memcpy(&j, r.data, sizeof j);
    mc_join_result_free(&r);
    printf("Result: %d\n", j);
    return 0;
}

int main(void)
{
    mc_res_id fork_x, join_x;
    if (mc_def_process(body_y, NULL, &fork_y, &join_y) ||
        mc_def_process(body_x, NULL, &fork_x, &join_x))
        return 1;
    int k = 1;
    mc_join_result r;
    int rc = mc_run(NULL, fork_x, join_x, &k, sizeof k, &r);
    if (rc || r.kind != MC_EXIT_RESULT) {
        fprintf(stderr, "tut_process: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    mc_join_result_free(&r);
    return 0;
}
