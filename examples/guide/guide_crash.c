/* examples/guide/guide_crash.c: a worker dies by a signal in the middle
 * of its work; the master learns it from the join, and the session still
 * ends clean (mcore removes the pool).  Prints "worker 1 was killed by
 * signal 9" and "Session over". */
#include <signal.h>
#include <stdio.h>

#include "mcore/mcore.h"

static mc_res_id crash_fork, crash_join;

static int crash(void *user, const void *arg, size_t len, void **res,
                 size_t *res_len)
{
    (void)user; (void)arg; (void)len; (void)res; (void)res_len;
    mc_pool *pool;
    void *chunk;
    if (!mc_pool_create(64 << 20, &pool)) /* held, never released: */
        mc_pool_alloc(pool, 4096, &chunk);
    raise(SIGKILL); /* the worker dies as under the OOM killer */
    return 0;
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pid pid;
    mc_join_result r = {0};
    int rc = mc_start(crash_fork, NULL, 0, &pid);
    if (!rc)
        rc = mc_join(crash_join, pid, &r); /* 0: the join itself worked */
    if (!rc && r.kind == MC_EXIT_SIGNAL)
        printf("worker %lld was killed by signal %d\n", (long long)pid,
               r.code);
    mc_join_result_free(&r);
    return rc;
}

int main(void)
{
    /* quiet: no "mcore: worker 1 ... was killed" line on stderr */
    mc_config cfg = {.quiet = 1};
    int rc = mc_def_process(crash, NULL, &crash_fork, &crash_join);
    if (!rc)
        rc = mc_startup(&cfg, first, NULL);
    if (rc) {
        fprintf(stderr, "guide_crash: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    printf("Session over\n"); /* the worker's pool is gone with it */
    return 0;
}
