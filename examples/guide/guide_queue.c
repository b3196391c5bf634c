/* examples/guide/guide_queue.c: a work queue.  The master pushes the
 * numbers 1..10 into a queue of capacity 4, three workers pop them until
 * the queue is closed and return their sums of squares.  Prints
 * "Sum of squares 1..10: 385". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcore/mcore.h"

static mc_res_id work_fork, work_join;

static int work(void *user, const void *arg, size_t len, void **res,
                size_t *res_len)
{
    (void)user; (void)len;
    mc_squeue_descr d;
    mc_squeue *q;
    int64_t *sum = calloc(1, sizeof *sum), *job;
    memcpy(&d, arg, sizeof d);
    int rc = sum ? mc_squeue_of_descr(&d, &mc_type_i64, NULL, &q) : MC_ENOMEM;
    while (!rc) { /* a blocking pop: waits while the queue is empty */
        rc = mc_squeue_pop_c(q, (void **)&job, MC_SQUEUE_FOREVER);
        if (!rc)
            *sum += *job * *job;
        if (!rc)
            mc_local_free(job);
    }
    if (rc != MC_ECLOSED) { /* MC_ECLOSED: closed and empty, all done */
        free(sum);
        return rc;
    }
    *res = sum; /* the result's bytes; mcore frees them */
    *res_len = sizeof *sum;
    return 0;
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    mc_squeue *q;
    mc_squeue_descr d;
    mc_pid pid[3];
    int64_t total = 0;
    int rc = mc_pool_create(64 << 20, &pool);
    if (!rc) /* i64 elements, no header, at most 4 queued */
        rc = mc_squeue_create(pool, &mc_type_i64, NULL, NULL, 4, &q);
    if (!rc)
        rc = mc_squeue_descr_of(q, &d);
    for (int i = 0; i < 3 && !rc; i++)
        rc = mc_start(work_fork, &d, sizeof d, &pid[i]);
    for (int64_t n = 1; n <= 10 && !rc; n++) /* waits while it is full */
        rc = mc_squeue_push(q, &n, MC_SQUEUE_FOREVER);
    if (!rc)
        rc = mc_squeue_close(q); /* the workers' pops end with MC_ECLOSED */
    for (int i = 0; i < 3 && !rc; i++) {
        mc_join_result r = {0};
        rc = mc_join(work_join, pid[i], &r);
        if (!rc && (r.kind != MC_EXIT_RESULT || r.len != sizeof total))
            rc = MC_EPROCESS;
        if (!rc)
            total += *(const int64_t *)r.data;
        mc_join_result_free(&r);
    }
    if (!rc)
        printf("Sum of squares 1..10: %lld\n", (long long)total);
    return rc ? rc : mc_squeue_destroy(q);
}

int main(void)
{
    int rc = mc_def_process(work, NULL, &work_fork, &work_join);
    if (!rc)
        rc = mc_startup(NULL, first, NULL);
    if (rc) {
        fprintf(stderr, "guide_queue: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
