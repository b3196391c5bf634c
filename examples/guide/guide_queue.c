/* examples/guide/guide_queue.c: a work queue.  The master pushes the
 * numbers 1..10 into a queue of capacity 4, three workers pop them until
 * the queue is closed and return their sums of squares.  Prints
 * "Sum of squares 1..10: 385". */
#include <stdio.h>

#include "mcore/mcore.h"
#include "guide_queue.h" /* generated from guide_queue.mcidl */

static int work(const guide_queue_Nums_descr *d, int64_t *sum, void *user)
{
    (void)user;
    guide_queue_Nums *q;
    int64_t n;
    int rc = guide_queue_Nums_of_descr(d, &q); /* descriptor -> queue */
    while (!rc) { /* a blocking pop: waits while the queue is empty */
        rc = guide_queue_Nums_pop(q, &n, MC_SQUEUE_FOREVER);
        if (!rc)
            *sum += n * n; /* *sum starts at 0 */
    }
    return rc == MC_ECLOSED ? 0 : rc; /* closed and empty: all done */
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    guide_queue_Nums *q;
    guide_queue_Nums_descr d;
    mc_pid pid[3];
    int64_t total = 0;
    int rc = mc_pool_create(64 << 20, &pool);
    if (!rc) /* empty, of the declared capacity (4) */
        rc = guide_queue_Nums_create(pool, &q);
    if (!rc)
        rc = guide_queue_Nums_descr_of(q, &d);
    for (int i = 0; i < 3 && !rc; i++)
        rc = guide_queue_work_start(&d, &pid[i]);
    for (int64_t n = 1; n <= 10 && !rc; n++) /* waits while it is full */
        rc = guide_queue_Nums_push(q, n, MC_SQUEUE_FOREVER);
    if (!rc)
        rc = guide_queue_Nums_close(q); /* the workers' pops: MC_ECLOSED */
    for (int i = 0; i < 3 && !rc; i++) {
        int64_t *sum; /* a local copy of the worker's result */
        rc = guide_queue_work_join(pid[i], &sum, NULL);
        if (!rc) {
            total += *sum;
            mc_local_free(sum);
        }
    }
    if (!rc)
        printf("Sum of squares 1..10: %lld\n", (long long)total);
    return rc ? rc : guide_queue_Nums_destroy(q);
}

int main(void)
{
    int rc = guide_queue_work_def(work, NULL);
    if (!rc)
        rc = mc_startup(NULL, first, NULL);
    if (rc) {
        fprintf(stderr, "guide_queue: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
