/* workq: a work queue feeding a pool of worker processes.
 *
 * The master makes two queues in one pool: `jobs`, of capacity 8, and
 * `answers`, unbounded.  It starts N workers (argument 1, default 4),
 * each given both queues' descriptors, and pushes one job per range of
 * 10000 numbers below 10^6 (blocking while 8 jobs wait), then closes
 * `jobs`.  A worker pops jobs until the queue is closed and drained
 * (MC_ECLOSED), counts the primes of each range and pushes an answer.
 * The master pops the answers as they come (blocking), joins the workers
 * and prints the total and how the jobs were shared:
 *
 *   Primes below 1000000: 78498 (100 jobs, 4 workers)
 *
 * No semaphore or condition variable of its own: the capacity throttles
 * the master, the blocking pop idles the workers, close ends them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcore/mcore.h"
#include "workq.h" /* generated from examples/workq.mcidl */

#define LIMIT 1000000
#define RANGE 10000
#define MAX_WORKERS 64

static mc_res_id fork_w, join_w;

struct worker_arg {
    mc_squeue_descr jobs, answers;
    int id;
};

static int is_prime(int64_t n)
{
    if (n < 2)
        return 0;
    for (int64_t d = 2; d * d <= n; d++)
        if (n % d == 0)
            return 0;
    return 1;
}

static int body_worker(void *user, const void *arg, size_t len,
                       void **result, size_t *result_len)
{
    (void)user; (void)result; (void)result_len;
    struct worker_arg a;
    if (len != sizeof a)
        return MC_EINVAL;
    memcpy(&a, arg, sizeof a);
    mc_squeue *jobs, *answers;
    int rc = mc_squeue_of_descr(&a.jobs, &workq_Job_type, NULL, &jobs);
    if (!rc)
        rc = mc_squeue_of_descr(&a.answers, &workq_Answer_type, NULL,
                                &answers);
    while (!rc) {
        workq_Job *job;
        rc = mc_squeue_pop_c(jobs, (void **)&job, MC_SQUEUE_FOREVER);
        if (rc)
            break;
        workq_Answer ans = {job->lo, 0, a.id};
        for (int64_t n = job->lo; n < job->hi; n++)
            ans.primes += is_prime(n);
        mc_local_free(job);
        rc = mc_squeue_push(answers, &ans, MC_SQUEUE_FOREVER);
    }
    return rc == MC_ECLOSED ? 0 : rc; /* closed and drained: done */
}

struct run {
    mc_squeue *jobs, *answers;
    int nworkers;
};

static int collect(struct run *r, int njobs)
{
    int64_t total = 0;
    int per_worker[MAX_WORKERS] = {0};
    for (int i = 0; i < njobs; i++) {
        workq_Answer *ans;
        int rc = mc_squeue_pop_c(r->answers, (void **)&ans,
                                 MC_SQUEUE_FOREVER);
        if (rc)
            return rc;
        total += ans->primes;
        if (ans->worker >= 0 && ans->worker < r->nworkers)
            per_worker[ans->worker]++;
        mc_local_free(ans);
    }
    printf("Primes below %d: %lld (%d jobs, %d workers)\n", LIMIT,
           (long long)total, njobs, r->nworkers);
    printf("Jobs per worker:");
    for (int w = 0; w < r->nworkers; w++)
        printf(" %d", per_worker[w]);
    printf("\n");
    return 0;
}

static int first(void *ctx)
{
    struct run *r = ctx;
    mc_pool *pool;
    struct worker_arg a;
    int rc = mc_pool_create(256 << 20, &pool);
    if (!rc)
        rc = mc_squeue_create(pool, &workq_Job_type, NULL, NULL, 8,
                              &r->jobs);
    if (!rc)
        rc = mc_squeue_create(pool, &workq_Answer_type, NULL, NULL, 0,
                              &r->answers);
    if (!rc)
        rc = mc_squeue_descr_of(r->jobs, &a.jobs);
    if (!rc)
        rc = mc_squeue_descr_of(r->answers, &a.answers);
    mc_pid pid[MAX_WORKERS];
    int started = 0;
    for (; !rc && started < r->nworkers; started++) {
        a.id = started;
        rc = mc_start(fork_w, &a, sizeof a, &pid[started]);
    }
    /* the master feeds the jobs; it waits while 8 are queued */
    int njobs = 0;
    for (int64_t lo = 0; !rc && lo < LIMIT; lo += RANGE, njobs++) {
        workq_Job job = {lo, lo + RANGE};
        rc = mc_squeue_push(r->jobs, &job, MC_SQUEUE_FOREVER);
    }
    if (started)
        mc_squeue_close(r->jobs); /* the workers end once it is drained */
    if (!rc)
        rc = collect(r, njobs);
    for (int i = 0; i < started; i++) {
        mc_join_result res;
        int jrc = mc_join(join_w, pid[i], &res);
        if (!jrc) {
            if (res.kind != MC_EXIT_RESULT)
                jrc = MC_EPROCESS;
            mc_join_result_free(&res);
        }
        rc = rc ? rc : jrc;
    }
    if (rc)
        fprintf(stderr, "workq: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
    return rc ? -1 : 0;
}

int main(int argc, char **argv)
{
    struct run r = {NULL, NULL, argc > 1 ? atoi(argv[1]) : 4};
    if (r.nworkers < 1 || r.nworkers > MAX_WORKERS) {
        fprintf(stderr, "usage: workq [workers (1-%d)]\n", MAX_WORKERS);
        return 2;
    }
    if (mc_def_process(body_worker, NULL, &fork_w, &join_w))
        return 1;
    return mc_startup(NULL, first, &r) ? 1 : 0;
}
