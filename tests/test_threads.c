/* tests/test_threads.c: a worker's calls into mcore from several threads.
 *
 * process.h promises that a worker may call mcore from several threads.
 * Here threads of one worker create, look up, map, open and release
 * resources at the same time, over ids that the others create and release
 * too, so that the worker's resource cache grows, shrinks and is read all
 * along.  Before the cache had its lock this raced (TSan) and read freed
 * memory of the id map (ASan).  The test command also runs this test built
 * with -fsanitize=thread (build/tsan/).  In the master, other threads than
 * mc_startup's are refused.
 */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define N_THREADS 4
#define N_CHURN 2     /* threads that change the cache; the others read */
#define N_SHARED 8    /* resources every thread looks up */
#define N_ROUNDS 300

struct shared {
    mc_res_id shm[N_SHARED];
    mc_res_id sem[N_SHARED];
    mc_res_id pool;
    void *pool_addr;
};

struct thr {
    const struct shared *sh;
    unsigned seed;
    int index;
};

static unsigned next_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 16;
}

static int churners_left; /* atomic: churning threads still running */

/* A churning thread: each round creates resources of its own and releases
 * them (ids are never reused, so the cache's id map fills with tombstones
 * and is rebuilt every few rounds, under the other threads' reads), and
 * looks up, maps and opens the shared ones. */
static void churn(struct thr *t)
{
    const struct shared *sh = t->sh;
    for (int r = 0; r < N_ROUNDS; r++) {
        mc_res_id own[3];
        int n_own = 0;
        if (W_RC(mc_shm_create(4096, &own[n_own]), 0) == 0)
            n_own++;
        if (W_RC(mc_named_sem_create(0, &own[n_own]), 0) == 0)
            n_own++;
        if (r % 8 == 0 && W_RC(mc_file_create(&own[n_own]), 0) == 0)
            n_own++;

        unsigned k = next_rand(&t->seed) % N_SHARED;
        mc_res_info info;
        W_RC(mc_res_get(sh->shm[k], &info), 0);
        int fd = -1;
        if (W_RC(mc_shm_fd(sh->shm[k], &fd), 0) == 0) {
            /* the descriptor stays open while this worker holds it */
            uint32_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
                               fd, 0);
            if (p == MAP_FAILED)
                W_CHECK(0, "mmap of shm %lld (fd %d): %s",
                        (long long)sh->shm[k], fd, strerror(errno));
            else {
                __atomic_fetch_add(&p[t->index], 1, __ATOMIC_RELAXED);
                munmap(p, 4096);
            }
        }
        sem_t *s;
        if (W_RC(mc_named_sem_get(sh->sem[k], &s), 0) == 0)
            W_CHECK(sem_post(s) == 0, "sem_post: %s", strerror(errno));
        if (r % 16 == 0) {
            mc_pool *pool;
            void *chunk; /* may grow the pool: reads the cached memfd */
            if (W_RC(mc_pool_lookup(sh->pool, &pool), 0) == 0 &&
                W_RC(mc_pool_alloc(pool, 1 << 20, &chunk), 0) == 0)
                mc_pool_free(pool, chunk, 1 << 20);
        }
        if (r % 4 == 0) { /* a pool of its own: this process's table of
                             pool mappings grows under mc_pool_of */
            mc_pool *pool, *of;
            if (W_RC(mc_pool_create(1 << 16, &pool), 0) == 0 &&
                W_RC(mc_pool_of((char *)pool + 100, &of), 0) == 0)
                W_CHECK(of == pool, "mc_pool_of gave %p, not %p", (void *)of,
                        (void *)pool);
        }
        for (int i = 0; i < n_own; i++)
            W_RC(mc_release(own[i]), 0);
    }
    __atomic_fetch_sub(&churners_left, 1, __ATOMIC_RELEASE);
}

/* A reading thread: the cache's fast path (mc_shm_fd of a resource held
 * already), as often as it can, while the churners change the cache. */
static void read_fast(struct thr *t)
{
    const struct shared *sh = t->sh;
    unsigned n = 0;
    while (__atomic_load_n(&churners_left, __ATOMIC_ACQUIRE) > 0) {
        int fd = -1;
        unsigned k = next_rand(&t->seed) % N_SHARED;
        if (W_RC(mc_shm_fd(sh->shm[k], &fd), 0) == 0)
            W_CHECK(fd >= 0, "mc_shm_fd gave fd %d", fd);
        mc_pool *of;
        if (W_RC(mc_pool_of(sh->pool_addr, &of), 0) == 0)
            W_CHECK((void *)of == sh->pool_addr, "mc_pool_of gave %p, not %p",
                    (void *)of, sh->pool_addr);
        if (++n % 1024 == 0)
            sched_yield();
    }
}

static void *thread_main(void *arg)
{
    struct thr *t = arg;
    if (t->index < N_CHURN)
        churn(t);
    else
        read_fast(t);
    return NULL;
}

/* The driver (a worker): shared resources, then the threads. */
static void drv_threads(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    struct shared sh;
    for (int i = 0; i < N_SHARED; i++) {
        if (W_RC(mc_shm_create(4096, &sh.shm[i]), 0) ||
            W_RC(mc_named_sem_create(0, &sh.sem[i]), 0))
            return;
    }
    mc_pool *pool;
    if (W_RC(mc_pool_create((size_t)64 << 20, &pool), 0))
        return;
    sh.pool = mc_pool_id(pool);
    sh.pool_addr = pool;

    pthread_t th[N_THREADS];
    struct thr t[N_THREADS];
    int started = 0;
    churners_left = N_CHURN;
    for (int i = 0; i < N_THREADS; i++) {
        t[i] = (struct thr){&sh, 1234u + (unsigned)i * 77u, i};
        int e = pthread_create(&th[i], NULL, thread_main, &t[i]);
        if (e) {
            W_CHECK(0, "pthread_create: %s", strerror(e));
            churners_left = 0;
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);

    /* every thread's posts arrived, and every thread's increments */
    int posts = 0;
    for (int i = 0; i < N_SHARED; i++) {
        sem_t *s;
        if (W_RC(mc_named_sem_get(sh.sem[i], &s), 0))
            continue;
        while (sem_trywait(s) == 0)
            posts++;
    }
    W_CHECK(posts == N_CHURN * N_ROUNDS, "%d posts, expected %d", posts,
            N_CHURN * N_ROUNDS);
    uint32_t sum[N_THREADS] = {0};
    for (int i = 0; i < N_SHARED; i++) {
        int fd;
        if (W_RC(mc_shm_fd(sh.shm[i], &fd), 0))
            continue;
        uint32_t *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
            continue;
        for (int j = 0; j < N_THREADS; j++)
            sum[j] += p[j];
        munmap(p, 4096);
    }
    for (int j = 0; j < N_CHURN; j++)
        W_CHECK(sum[j] == N_ROUNDS, "thread %d: %u increments, expected %d",
                j, sum[j], N_ROUNDS);
}

static void test_worker_threads(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_threads, NULL, 0);
    tu_end();
}

/* The master is a client of the session server like a worker: the same
 * threads, from its own process (process.h, Threads). */
static int first_threads(void *ctx)
{
    (void)ctx;
    drv_threads(NULL, 0);
    return 0;
}

static void test_master_threads(void **state)
{
    (void)state;
    tu_begin();
    tu_assert_rc(mc_startup(NULL, first_threads, NULL), 0);
    tu_assert_master_report();
    tu_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worker_threads),
        cmocka_unit_test(test_master_threads),
    };
    return cmocka_run_group_tests(tests, tu_group_setup_driver, NULL);
}
