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
 * the master, the blocking pop idles the workers, close ends them.  The
 * queues and the worker process are typed (workq.mcidl); jobs and answers
 * have no pointers, so _pop copies them into locals (no allocation). */
#include <stdio.h>
#include <stdlib.h>

#include "mcore/mcore.h"
#include "workq.h" /* generated from examples/workq.mcidl */

#define LIMIT 1000000
#define RANGE 10000
#define MAX_WORKERS 64

static int is_prime(int64_t n)
{
    if (n < 2)
        return 0;
    for (int64_t d = 2; d * d <= n; d++)
        if (n % d == 0)
            return 0;
    return 1;
}

static int worker(const workq_Crew *c, void *result, void *user)
{
    (void)result; (void)user;
    workq_Jobs *jobs;
    workq_Answers *answers;
    int rc = workq_Jobs_of_descr(&c->jobs, &jobs);
    if (!rc)
        rc = workq_Answers_of_descr(&c->answers, &answers);
    while (!rc) {
        workq_Job job;
        if ((rc = workq_Jobs_pop(jobs, &job, MC_SQUEUE_FOREVER)))
            break;
        workq_Answer ans = {job.lo, 0, c->id};
        for (int64_t n = job.lo; n < job.hi; n++)
            ans.primes += is_prime(n);
        rc = workq_Answers_push(answers, &ans, MC_SQUEUE_FOREVER);
    }
    return rc == MC_ECLOSED ? 0 : rc; /* closed and drained: done */
}

struct run {
    workq_Jobs *jobs;
    workq_Answers *answers;
    int nworkers;
};

static int collect(struct run *r, int njobs)
{
    int64_t total = 0;
    int per_worker[MAX_WORKERS] = {0};
    for (int i = 0; i < njobs; i++) {
        workq_Answer ans;
        int rc = workq_Answers_pop(r->answers, &ans, MC_SQUEUE_FOREVER);
        if (rc)
            return rc;
        total += ans.primes;
        if (ans.worker >= 0 && ans.worker < r->nworkers)
            per_worker[ans.worker]++;
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
    workq_Crew crew;
    int rc = mc_pool_create(256 << 20, &pool);
    if (!rc) /* of the declared capacity: 8 */
        rc = workq_Jobs_create(pool, &r->jobs);
    if (!rc) /* unbounded */
        rc = workq_Answers_create(pool, &r->answers);
    if (!rc)
        rc = workq_Jobs_descr_of(r->jobs, &crew.jobs);
    if (!rc)
        rc = workq_Answers_descr_of(r->answers, &crew.answers);
    mc_pid pid[MAX_WORKERS];
    int started = 0;
    for (int i = 0; i < r->nworkers && !rc; i++) {
        crew.id = i;
        if (!(rc = workq_worker_start(&crew, &pid[i])))
            started++;
    }
    /* the master feeds the jobs; it waits while 8 are queued */
    int njobs = 0;
    for (int64_t lo = 0; !rc && lo < LIMIT; lo += RANGE, njobs++) {
        workq_Job job = {lo, lo + RANGE};
        rc = workq_Jobs_push(r->jobs, &job, MC_SQUEUE_FOREVER);
    }
    if (started)
        workq_Jobs_close(r->jobs); /* the workers end once it is drained */
    if (!rc)
        rc = collect(r, njobs);
    for (int i = 0; i < started; i++) {
        int jrc = workq_worker_join(pid[i], NULL, NULL);
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
    if (workq_worker_def(worker, NULL))
        return 1;
    return mc_startup(NULL, first, &r) ? 1 : 0;
}
