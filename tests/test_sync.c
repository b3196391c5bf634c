/* test_sync.c: mutexes, semaphores and condition variables across
 * processes (mcore/mutex.h, sem.h, cond.h, sync.h).
 *
 * Every test runs a session whose driver creates a pool and puts one
 * `struct sh` in it; workers (forks of the master, which maps the pool)
 * get its address, the same in every process.  Deaths are real: a worker
 * raise()s SIGKILL, or the driver kill()s it by the pid it published. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcore/mcore.h"
#include "mcore/sync.h"
#include "testutil.h"

#define MiB ((size_t)1 << 20)
#define NW 16

/* Everything the tests share.  Plain (non-atomic) fields are only touched
 * under m[...] or when no worker runs; the driver polls flags with atomic
 * loads. */
struct sh {
    mc_mutex m[3];
    mc_mutex m2;
    mc_cond c, c2;
    mc_sem go, held, release, items, slots;
    long counter;
    long turn, arrived, tokens, nwoken, gen, count, flag;
    int woken[NW];
    pid_t pid[NW];
    long buf[16];
    long head, tail;
    long sum[4], got[4];
};

struct warg {
    struct sh *sh;
    int idx;  /* which worker */
    int kind; /* mutex index / kind */
    int mode; /* test-specific */
};

static struct sh *sh_new(void)
{
    mc_pool *p;
    void *c;
    if (W_RC(mc_pool_create(4 * MiB, &p), 0) ||
        W_RC(mc_pool_alloc(p, sizeof(struct sh), &c), 0))
        return NULL;
    memset(c, 0, sizeof(struct sh));
    return c;
}

/* Worker side: the argument, with the pool mapped. */
static struct warg getarg(const void *arg, size_t len)
{
    struct warg a = {0};
    if (len != sizeof a) {
        W_CHECK(0, "argument of %zu bytes", len);
        return a;
    }
    memcpy(&a, arg, sizeof a);
    mc_pool *p;
    if (W_RC(mc_pool_of(a.sh, &p), 0))
        a.sh = NULL;
    return a;
}

static mc_pid start(tu_driver_fn *fn, struct sh *sh, int idx, int kind,
                    int mode)
{
    struct warg a = {sh, idx, kind, mode};
    mc_pid p = -1;
    W_RC(tu_start_fn(fn, &a, sizeof a, &p), 0);
    return p;
}

static void join_killed(mc_pid p)
{
    mc_join_result r;
    if (W_RC(mc_join(tu_driver_jp, p, &r), 0))
        return;
    W_CHECK(r.kind == MC_EXIT_SIGNAL && r.code == SIGKILL,
            "expected death by SIGKILL, got %s", tu_kind_str(&r));
    mc_join_result_free(&r);
}

/* Poll until *p >= v (1) or ms pass (0). */
static int wait_ge(long *p, long v, int ms)
{
    int64_t end = tu_now_ms() + ms;
    while (__atomic_load_n(p, __ATOMIC_ACQUIRE) < v) {
        if (tu_now_ms() > end)
            return 0;
        tu_sleep_ms(1);
    }
    return 1;
}

static const mc_mutex_kind kinds[3] = {MC_MUTEX_NORMAL, MC_MUTEX_ERRORCHECK,
                                       MC_MUTEX_RECURSIVE};
static const char *const kind_names[3] = {"normal", "errorcheck",
                                          "recursive"};

/* ------------------------------------------------------ mutex: one process */

static void drv_mutex_basics(const void *arg, size_t len)
{
    (void)arg; (void)len;
    struct sh *sh = sh_new();
    if (!sh)
        return;
    for (int k = 0; k < 3; k++) {
        mc_mutex *m = &sh->m[k];
        if (W_RC(mc_mutex_init(m, kinds[k]), 0))
            return;
        W_RC(mc_mutex_unlock(m), MC_ESTATE); /* not held */
        W_RC(mc_mutex_lock(m), 0);
        W_RC(mc_mutex_consistent(m), MC_ESTATE); /* nobody died */
        if (kinds[k] == MC_MUTEX_RECURSIVE) {
            W_RC(mc_mutex_lock(m), 0);
            W_RC(mc_mutex_trylock(m), 0);
            W_RC(mc_mutex_timedlock(m, 10), 0);
            W_RC(mc_mutex_destroy(m), MC_EBUSY); /* held by us */
            for (int i = 0; i < 4; i++)
                W_RC(mc_mutex_unlock(m), 0);
        } else {
            if (kinds[k] == MC_MUTEX_ERRORCHECK) { /* relock by the owner */
                W_RC(mc_mutex_trylock(m), MC_ESTATE);
                W_RC(mc_mutex_lock(m), MC_ESTATE);
                W_RC(mc_mutex_timedlock(m, 0), MC_ESTATE);
                W_RC(mc_mutex_timedlock(m, 50), MC_ESTATE);
            } else {
                W_RC(mc_mutex_trylock(m), MC_EAGAIN);
                W_RC(mc_mutex_timedlock(m, 0), MC_ETIMEDOUT);
            }
            W_RC(mc_mutex_destroy(m), MC_EBUSY);
            W_RC(mc_mutex_unlock(m), 0);
        }
        W_RC(mc_mutex_unlock(m), MC_ESTATE);
        W_RC(mc_mutex_timedlock(m, 0), 0);
        W_RC(mc_mutex_unlock(m), 0);
        W_RC(mc_mutex_timedlock(m, -1), MC_EINVAL);
        W_RC(mc_mutex_timedlock(m, INT64_MAX), 0); /* no overflow */
        W_RC(mc_mutex_unlock(m), 0);
        W_RC(mc_mutex_destroy(m), 0);
        W_RC(mc_mutex_lock(m), MC_EINVAL);
        W_RC(mc_mutex_trylock(m), MC_EINVAL);
        W_RC(mc_mutex_unlock(m), MC_EINVAL);
        W_RC(mc_mutex_destroy(m), MC_EINVAL);
        W_RC(mc_mutex_init(m, kinds[k]), 0); /* usable again */
        W_RC(mc_mutex_lock(m), 0);
        W_RC(mc_mutex_unlock(m), 0);
        W_RC(mc_mutex_destroy(m), 0);
    }
    mc_mutex zero;
    memset(&zero, 0, sizeof zero);
    W_RC(mc_mutex_lock(&zero), MC_EINVAL); /* a zeroed copy is no lock */
    W_RC(mc_mutex_lock(NULL), MC_EINVAL);
    W_RC(mc_mutex_init(NULL, MC_MUTEX_NORMAL), MC_EINVAL);
    W_RC(mc_mutex_init(&zero, (mc_mutex_kind)7), MC_EINVAL);
    /* byte copies of a live mutex: test_copies */
}

static void test_mutex_basics(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_mutex_basics, NULL, 0);
    tu_end();
}

/* ------------------------------------------ mutex: exclusion under contention */

enum { N_INC = 100000, N_CONT = 4 };

static void w_increment(const void *arg, size_t len)
{
    struct warg a = getarg(arg, len);
    if (!a.sh)
        return;
    mc_mutex *m = &a.sh->m[a.kind];
    if (W_RC(mc_sem_wait(&a.sh->go), 0))
        return;
    for (int i = 0; i < N_INC; i++) {
        if (W_RC(mc_mutex_lock(m), 0))
            return;
        if (a.kind == 2 && (i & 1)) { /* nest now and then */
            if (W_RC(mc_mutex_lock(m), 0))
                return;
            W_RC(mc_mutex_unlock(m), 0);
        }
        /* a non-atomic read-modify-write: lost updates show a broken lock */
        long v = a.sh->counter;
        a.sh->counter = v + 1;
        if (W_RC(mc_mutex_unlock(m), 0))
            return;
    }
}

static void drv_contention(const void *arg, size_t len)
{
    (void)arg; (void)len;
    struct sh *sh = sh_new();
    if (!sh || W_RC(mc_sem_init(&sh->go, 0), 0))
        return;
    for (int k = 0; k < 3; k++) {
        if (W_RC(mc_mutex_init(&sh->m[k], kinds[k]), 0))
            return;
        sh->counter = 0;
        mc_pid w[N_CONT];
        for (int i = 0; i < N_CONT; i++)
            w[i] = start(w_increment, sh, i, k, 0);
        for (int i = 0; i < N_CONT; i++)
            W_RC(mc_sem_post(&sh->go), 0);
        for (int i = 0; i < N_CONT; i++)
            W_JOIN_OK(tu_driver_jp, w[i], "incrementer");
        W_CHECK(sh->counter == (long)N_CONT * N_INC,
                "%s: counter %ld, expected %ld", kind_names[k], sh->counter,
                (long)N_CONT * N_INC);
        W_RC(mc_mutex_destroy(&sh->m[k]), 0);
    }
}

static void test_contention(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_contention, NULL, 0);
    tu_end();
}

/* ----------------------------- mutex: non-owner unlock, timedlock timing */

static void w_hold_all(const void *arg, size_t len)
{
    struct warg a = getarg(arg, len);
    if (!a.sh)
        return;
    for (int k = 0; k < 3; k++)
        if (W_RC(mc_mutex_lock(&a.sh->m[k]), 0))
            return;
    W_RC(mc_sem_post(&a.sh->held), 0);
    W_RC(mc_sem_wait(&a.sh->release), 0);
    for (int k = 0; k < 3; k++)
        W_RC(mc_mutex_unlock(&a.sh->m[k]), 0);
}

static void drv_nonowner(const void *arg, size_t len)
{
    (void)arg; (void)len;
    struct sh *sh = sh_new();
    if (!sh || W_RC(mc_sem_init(&sh->held, 0), 0) ||
        W_RC(mc_sem_init(&sh->release, 0), 0))
        return;
    for (int k = 0; k < 3; k++)
        if (W_RC(mc_mutex_init(&sh->m[k], kinds[k]), 0))
            return;
    mc_pid w = start(w_hold_all, sh, 0, 0, 0);
    if (W_RC(mc_sem_timedwait(&sh->held, 10000), 0))
        return;
    for (int k = 0; k < 3; k++) {
        mc_mutex *m = &sh->m[k];
        /* every kind is robust, and glibc checks the owner of robust ones */
        W_RC(mc_mutex_unlock(m), MC_ESTATE);
        W_RC(mc_mutex_trylock(m), MC_EAGAIN);
        W_RC(mc_mutex_consistent(m), MC_ESTATE);
        W_RC(mc_mutex_destroy(m), MC_EBUSY);
        int64_t t0 = tu_now_ms();
        W_RC(mc_mutex_timedlock(m, 100), MC_ETIMEDOUT);
        int64_t dt = tu_now_ms() - t0;
        W_CHECK(dt >= 99 && dt < 3000, "%s: timedlock(100) took %lld ms",
                kind_names[k], (long long)dt);
    }
    W_RC(mc_sem_post(&sh->release), 0);
    W_JOIN_OK(tu_driver_jp, w, "holder");
    for (int k = 0; k < 3; k++) {
        /* released by its owner: ours now, at once */
        W_RC(mc_mutex_timedlock(&sh->m[k], 1000), 0);
        W_RC(mc_mutex_unlock(&sh->m[k]), 0);
        W_RC(mc_mutex_destroy(&sh->m[k]), 0);
    }
}

static void test_nonowner(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_nonowner, NULL, 0);
    tu_end();
}

/* ------------------------------------------------------ mutex: owner death */

/* mode 0: lock (3 times if recursive) and die.
 * mode 1: publish the pid, lock, say so, sleep until killed.
 * mode 2: lock expecting MC_EOWNERDEAD (blocked while the owner dies),
 *         mark consistent, unlock.
 * mode 3: lock expecting MC_EOWNERDEAD and die without deciding.
 * mode 4: lock expecting MC_EPOISONED (three times, and try and timed).
 * mode 5: lock expecting 0 (the mutex was recovered). */
static void w_death(const void *arg, size_t len)
{
    struct warg a = getarg(arg, len);
    if (!a.sh)
        return;
    mc_mutex *m = &a.sh->m[a.kind];
    switch (a.mode) {
    case 0:
        for (int i = 0; i < (a.kind == 2 ? 3 : 1); i++)
            if (W_RC(mc_mutex_lock(m), 0))
                return;
        raise(SIGKILL);
        break;
    case 1:
        a.sh->pid[a.idx] = getpid();
        if (W_RC(mc_mutex_lock(m), 0))
            return;
        W_RC(mc_sem_post(&a.sh->held), 0);
        for (;;)
            pause();
    case 2:
        __atomic_store_n(&a.sh->flag, 1, __ATOMIC_RELEASE);
        if (W_RC(mc_mutex_lock(m), MC_EOWNERDEAD))
            return;
        W_RC(mc_mutex_consistent(m), 0);
        W_RC(mc_mutex_unlock(m), 0);
        break;
    case 3:
        if (W_RC(mc_mutex_lock(m), MC_EOWNERDEAD))
            return;
        raise(SIGKILL);
        break;
    case 4:
        for (int i = 0; i < 3; i++)
            W_RC(mc_mutex_lock(m), MC_EPOISONED);
        W_RC(mc_mutex_trylock(m), MC_EPOISONED);
        W_RC(mc_mutex_timedlock(m, 10), MC_EPOISONED);
        W_RC(mc_mutex_unlock(m), MC_ESTATE);
        break;
    case 5:
        W_RC(mc_mutex_lock(m), 0);
        W_RC(mc_mutex_unlock(m), 0);
        break;
    }
}

static void drv_owner_death(const void *arg, size_t len)
{
    (void)arg; (void)len;
    struct sh *sh = sh_new();
    if (!sh || W_RC(mc_sem_init(&sh->held, 0), 0))
        return;
    for (int k = 0; k < 3; k++) {
        mc_mutex *m = &sh->m[k];
        const char *kn = kind_names[k];
        if (W_RC(mc_mutex_init(m, kinds[k]), 0))
            return;

        /* 1. died holding it; the next locker repairs: normal again */
        join_killed(start(w_death, sh, 0, k, 0));
        if (W_RC(mc_mutex_lock(m), MC_EOWNERDEAD))
            return;
        W_RC(mc_mutex_consistent(m), 0);
        W_RC(mc_mutex_unlock(m), 0);
        W_RC(mc_mutex_lock(m), 0);
        W_RC(mc_mutex_unlock(m), 0);
        W_JOIN_OK(tu_driver_jp, start(w_death, sh, 1, k, 5), "recovered");

        /* 2. a locker blocked in lock gets it with MC_EOWNERDEAD */
        sh->flag = 0;
        mc_pid holder = start(w_death, sh, 0, k, 1);
        if (W_RC(mc_sem_timedwait(&sh->held, 10000), 0))
            return;
        mc_pid blocked = start(w_death, sh, 1, k, 2);
        W_CHECK(wait_ge(&sh->flag, 1, 10000), "%s: blocked locker", kn);
        tu_sleep_ms(50); /* let it block in the kernel */
        kill(sh->pid[0], SIGKILL);
        join_killed(holder);
        W_JOIN_OK(tu_driver_jp, blocked, "blocked locker");
        W_RC(mc_mutex_lock(m), 0);
        W_RC(mc_mutex_unlock(m), 0);

        /* 3. the one who got MC_EOWNERDEAD dies too: the next gets it too */
        join_killed(start(w_death, sh, 0, k, 0));
        join_killed(start(w_death, sh, 1, k, 3));
        if (W_RC(mc_mutex_trylock(m), MC_EOWNERDEAD))
            return;

        /* 4. unlocked without consistent: poisoned, for everybody */
        W_RC(mc_mutex_unlock(m), 0);
        for (int i = 0; i < 3; i++) {
            W_RC(mc_mutex_lock(m), MC_EPOISONED);
            W_RC(mc_mutex_trylock(m), MC_EPOISONED);
            W_RC(mc_mutex_timedlock(m, 5), MC_EPOISONED);
        }
        W_RC(mc_mutex_consistent(m), MC_ESTATE);
        W_JOIN_OK(tu_driver_jp, start(w_death, sh, 1, k, 4), "poisoned");
        W_RC(mc_mutex_lock(m), MC_EPOISONED);
        /* until destroyed and made anew */
        W_RC(mc_mutex_destroy(m), 0);
        W_RC(mc_mutex_init(m, kinds[k]), 0);
        W_JOIN_OK(tu_driver_jp, start(w_death, sh, 1, k, 5), "renewed");

        /* 5. destroy takes a mutex whose owner died */
        join_killed(start(w_death, sh, 0, k, 0));
        W_RC(mc_mutex_destroy(m), 0);
    }
}

static void test_owner_death(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_owner_death, NULL, 0);
    tu_end();
}

/* ---------------------------------------------------------- semaphores */

static void w_sem_waiter(const void *arg, size_t len)
{
    struct warg a = getarg(arg, len);
    if (!a.sh)
        return;
    int64_t t0 = tu_now_ms();
    W_RC(mc_sem_timedwait(&a.sh->go, 10000), 0);
    int64_t dt = tu_now_ms() - t0;
    W_CHECK(dt < 5000, "woken after %lld ms", (long long)dt);
}

static void drv_sem_basics(const void *arg, size_t len)
{
    (void)arg; (void)len;
    struct sh *sh = sh_new();
    if (!sh)
        return;
    mc_sem *s = &sh->held;
    int64_t v = -1;
    if (W_RC(mc_sem_init(s, 2), 0))
        return;
    W_RC(mc_sem_getvalue(s, &v), 0);
    W_CHECK(v == 2, "value %lld", (long long)v);
    W_RC(mc_sem_trywait(s), 0);
    W_RC(mc_sem_wait(s), 0);
    W_RC(mc_sem_trywait(s), MC_EAGAIN);
    W_RC(mc_sem_timedwait(s, 0), MC_ETIMEDOUT);
    int64_t t0 = tu_now_ms();
    W_RC(mc_sem_timedwait(s, 100), MC_ETIMEDOUT);
    int64_t dt = tu_now_ms() - t0;
    W_CHECK(dt >= 99 && dt < 3000, "timedwait(100) took %lld ms",
            (long long)dt);
    W_RC(mc_sem_post(s), 0);
    W_RC(mc_sem_getvalue(s, &v), 0);
    W_CHECK(v == 1, "value %lld", (long long)v);
    t0 = tu_now_ms();
    W_RC(mc_sem_timedwait(s, 1000), 0);
    W_CHECK(tu_now_ms() - t0 < 500, "a token was there");
    W_RC(mc_sem_timedwait(s, -1), MC_EINVAL);
    W_RC(mc_sem_post(s), 0);
    W_RC(mc_sem_timedwait(s, INT64_MAX), 0);
    W_RC(mc_sem_getvalue(s, NULL), MC_EINVAL);
    W_RC(mc_sem_destroy(s), 0);
    W_RC(mc_sem_post(s), MC_EINVAL);
    W_RC(mc_sem_wait(s), MC_EINVAL);
    W_RC(mc_sem_getvalue(s, &v), MC_EINVAL);
    W_RC(mc_sem_destroy(s), MC_EINVAL);
    W_RC(mc_sem_init(s, -1), MC_EINVAL);
    W_RC(mc_sem_init(s, (int64_t)MC_SEM_VALUE_MAX + 1), MC_EINVAL);
    W_RC(mc_sem_init(s, MC_SEM_VALUE_MAX), 0);
    W_RC(mc_sem_post(s), MC_E2BIG);
    W_RC(mc_sem_getvalue(s, &v), 0);
    W_CHECK(v == MC_SEM_VALUE_MAX, "value %lld", (long long)v);
    W_RC(mc_sem_destroy(s), 0);
    mc_sem zero;
    memset(&zero, 0, sizeof zero);
    W_RC(mc_sem_post(&zero), MC_EINVAL);
    W_RC(mc_sem_init(NULL, 0), MC_EINVAL);

    /* a post from another process wakes a sleeper */
    if (W_RC(mc_sem_init(&sh->go, 0), 0))
        return;
    mc_pid w = start(w_sem_waiter, sh, 0, 0, 0);
    tu_sleep_ms(50);
    W_RC(mc_sem_post(&sh->go), 0);
    W_JOIN_OK(tu_driver_jp, w, "sem waiter");
    W_RC(mc_sem_getvalue(&sh->go, &v), 0);
    W_CHECK(v == 0, "value %lld", (long long)v);
}

static void test_sem_basics(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_sem_basics, NULL, 0);
    tu_end();
}

/* Producers and consumers over a bounded buffer of 16 slots: `slots`
 * counts free slots, `items` filled ones, m[0] guards head and tail. */
enum { N_ITEMS = 20000, N_PROD = 2, N_CONS = 2 };

static void w_producer(const void *arg, size_t len)
{
    struct warg a = getarg(arg, len);
    if (!a.sh)
        return;
    struct sh *sh = a.sh;
    for (long i = 1; i <= N_ITEMS; i++) {
        if (W_RC(mc_sem_wait(&sh->slots), 0) ||
            W_RC(mc_mutex_lock(&sh->m[0]), 0))
            return;
        sh->buf[sh->head++ % 16] = (long)a.idx * 1000000 + i;
        W_RC(mc_mutex_unlock(&sh->m[0]), 0);
        W_RC(mc_sem_post(&sh->items), 0);
    }
}

static void w_consumer(const void *arg, size_t len)
{
    struct warg a = getarg(arg, len);
    if (!a.sh)
        return;
    struct sh *sh = a.sh;
    long sum = 0;
    for (long i = 0; i < N_ITEMS * N_PROD / N_CONS; i++) {
        if (W_RC(mc_sem_timedwait(&sh->items, 10000), 0) ||
            W_RC(mc_mutex_lock(&sh->m[0]), 0))
            return;
        sum += sh->buf[sh->tail++ % 16];
        W_RC(mc_mutex_unlock(&sh->m[0]), 0);
        W_RC(mc_sem_post(&sh->slots), 0);
    }
    sh->sum[a.idx] = sum;
}

static void drv_prodcons(const void *arg, size_t len)
{
    (void)arg; (void)len;
    struct sh *sh = sh_new();
    if (!sh || W_RC(mc_sem_init(&sh->slots, 16), 0) ||
        W_RC(mc_sem_init(&sh->items, 0), 0) ||
        W_RC(mc_mutex_init(&sh->m[0], MC_MUTEX_NORMAL), 0))
        return;
    mc_pid w[N_PROD + N_CONS];
    for (int i = 0; i < N_CONS; i++)
        w[i] = start(w_consumer, sh, i, 0, 0);
    for (int i = 0; i < N_PROD; i++)
        w[N_CONS + i] = start(w_producer, sh, i + 1, 0, 0);
    for (int i = 0; i < N_PROD + N_CONS; i++)
        W_JOIN_OK(tu_driver_jp, w[i], "producer/consumer");
    long want = 0;
    for (long p = 1; p <= N_PROD; p++)
        want += p * 1000000 * N_ITEMS + (long)N_ITEMS * (N_ITEMS + 1) / 2;
    W_CHECK(sh->sum[0] + sh->sum[1] == want, "sum %ld, expected %ld",
            sh->sum[0] + sh->sum[1], want);
    W_CHECK(sh->head == N_PROD * N_ITEMS && sh->tail == sh->head,
            "head %ld tail %ld", sh->head, sh->tail);
    int64_t v;
    W_RC(mc_sem_getvalue(&sh->items, &v), 0);
    W_CHECK(v == 0, "items left: %lld", (long long)v);
    W_RC(mc_sem_getvalue(&sh->slots, &v), 0);
    W_CHECK(v == 16, "free slots: %lld", (long long)v);
}

static void test_prodcons(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_prodcons, NULL, 0);
    tu_end();
}

/* ---------------------------------------------------- condition variables */

static void w_signal_later(const void *arg, size_t len)
{
    struct warg a = getarg(arg, len);
    if (!a.sh || W_RC(mc_sem_wait(&a.sh->go), 0) ||
        W_RC(mc_mutex_lock(&a.sh->m[0]), 0))
        return;
    a.sh->flag = 1;
    W_RC(mc_cond_signal(&a.sh->c), 0);
    W_RC(mc_mutex_unlock(&a.sh->m[0]), 0);
}

static void drv_cond_basics(const void *arg, size_t len)
{
    (void)arg; (void)len;
    struct sh *sh = sh_new();
    if (!sh || W_RC(mc_cond_init(&sh->c), 0))
        return;
    for (int k = 0; k < 3; k++) {
        mc_mutex *m = &sh->m[k];
        if (W_RC(mc_mutex_init(m, kinds[k]), 0))
            return;
        W_RC(mc_cond_wait(&sh->c, m), MC_ESTATE); /* not held */
        W_RC(mc_mutex_lock(m), 0);
        int64_t t0 = tu_now_ms();
        W_RC(mc_cond_timedwait(&sh->c, m, 100), MC_ETIMEDOUT);
        int64_t dt = tu_now_ms() - t0;
        W_CHECK(dt >= 99 && dt < 3000, "timedwait(100) took %lld ms",
                (long long)dt);
        W_RC(mc_cond_timedwait(&sh->c, m, 0), MC_ETIMEDOUT);
        W_RC(mc_cond_timedwait(&sh->c, m, -1), MC_EINVAL);
        if (kinds[k] == MC_MUTEX_RECURSIVE) {
            W_RC(mc_mutex_lock(m), 0);
            W_RC(mc_cond_timedwait(&sh->c, m, 10), MC_EINVAL);
            W_RC(mc_mutex_unlock(m), 0);
        }
        W_RC(mc_mutex_unlock(m), 0); /* the waits gave it back held */
        W_RC(mc_mutex_unlock(m), MC_ESTATE);
    }
    /* a timeout too long to represent waits for ever (for the signal) */
    if (W_RC(mc_sem_init(&sh->go, 0), 0))
        return;
    mc_pid w = start(w_signal_later, sh, 0, 0, 0);
    W_RC(mc_mutex_lock(&sh->m[0]), 0);
    W_RC(mc_sem_post(&sh->go), 0);
    while (!sh->flag)
        if (W_RC(mc_cond_timedwait(&sh->c, &sh->m[0], INT64_MAX), 0))
            break;
    W_RC(mc_mutex_unlock(&sh->m[0]), 0);
    W_JOIN_OK(tu_driver_jp, w, "signaller");
    W_RC(mc_cond_signal(&sh->c), 0); /* nobody waits: nothing happens */
    W_RC(mc_cond_broadcast(&sh->c), 0);
    W_RC(mc_cond_destroy(&sh->c), 0);
    W_RC(mc_cond_signal(&sh->c), MC_EINVAL);
    W_RC(mc_cond_destroy(&sh->c), MC_EINVAL);
    W_RC(mc_mutex_lock(&sh->m[0]), 0);
    W_RC(mc_cond_wait(&sh->c, &sh->m[0]), MC_EINVAL);
    W_RC(mc_mutex_unlock(&sh->m[0]), 0);
    W_RC(mc_cond_init(NULL), MC_EINVAL);
    W_RC(mc_cond_broadcast(NULL), MC_EINVAL);
}

static void test_cond_basics(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_cond_basics, NULL, 0);
    tu_end();
}

/* Ping-pong: two processes take turns 10,000 times each.  One lost signal
 * and both sleep: the timed wait turns that into a failure. */
enum { N_PING = 10000 };

static void w_pingpong(const void *arg, size_t len)
{
    struct warg a = getarg(arg, len);
    if (!a.sh)
        return;
    struct sh *sh = a.sh;
    mc_mutex *m = &sh->m[a.kind];
    for (int r = 0; r < N_PING; r++) {
        if (W_RC(mc_mutex_lock(m), 0))
            return;
        while (sh->turn % 2 != a.idx) {
            int rc = mc_cond_timedwait(&sh->c, m, 10000);
            if (rc) {
                W_CHECK(0, "round %d: %s (turn %ld)", r, tu_err(rc),
                        sh->turn);
                if (rc != MC_EPOISONED)
                    mc_mutex_unlock(m);
                return;
            }
        }
        sh->turn++;
        W_RC(mc_cond_signal(&sh->c), 0);
        W_RC(mc_mutex_unlock(m), 0);
    }
}

static void drv_pingpong(const void *arg, size_t len)
{
    (void)arg; (void)len;
    struct sh *sh = sh_new();
    if (!sh || W_RC(mc_cond_init(&sh->c), 0))
        return;
    for (int k = 0; k < 3; k += 2) { /* normal, and recursive held once */
        if (W_RC(mc_mutex_init(&sh->m[k], kinds[k]), 0))
            return;
        sh->turn = 0;
        mc_pid a = start(w_pingpong, sh, 0, k, 0);
        mc_pid b = start(w_pingpong, sh, 1, k, 0);
        W_JOIN_OK(tu_driver_jp, a, "ping");
        W_JOIN_OK(tu_driver_jp, b, "pong");
        W_CHECK(sh->turn == 2 * N_PING, "turn %ld", sh->turn);
    }
}

static void test_pingpong(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_pingpong, NULL, 0);
    tu_end();
}

/* Broadcast: N waiters for a flag, all woken by one broadcast; then a
 * barrier of N processes built on broadcast, 2000 generations. */
enum { N_BC = 6, N_BAR = 4, N_GEN = 2000 };

static void w_bc_waiter(const void *arg, size_t len)
{
    struct warg a = getarg(arg, len);
    if (!a.sh)
        return;
    struct sh *sh = a.sh;
    mc_mutex *m = &sh->m[0];
    if (W_RC(mc_mutex_lock(m), 0))
        return;
    sh->arrived++;
    while (!sh->flag)
        if (W_RC(mc_cond_timedwait(&sh->c, m, 10000), 0))
            break;
    sh->nwoken++;
    W_RC(mc_mutex_unlock(m), 0);
}

static void w_barrier(const void *arg, size_t len)
{
    struct warg a = getarg(arg, len);
    if (!a.sh)
        return;
    struct sh *sh = a.sh;
    mc_mutex *m = &sh->m[0];
    for (int g = 0; g < N_GEN; g++) {
        if (W_RC(mc_mutex_lock(m), 0))
            return;
        if (++sh->count == N_BAR) {
            sh->count = 0;
            sh->gen++;
            W_RC(mc_cond_broadcast(&sh->c2), 0);
        } else {
            long my = sh->gen;
            while (sh->gen == my) {
                int rc = mc_cond_timedwait(&sh->c2, m, 10000);
                if (rc) {
                    W_CHECK(0, "generation %d: %s", g, tu_err(rc));
                    mc_mutex_unlock(m);
                    return;
                }
            }
        }
        W_RC(mc_mutex_unlock(m), 0);
    }
}

static void drv_broadcast(const void *arg, size_t len)
{
    (void)arg; (void)len;
    struct sh *sh = sh_new();
    if (!sh || W_RC(mc_cond_init(&sh->c), 0) ||
        W_RC(mc_cond_init(&sh->c2), 0) ||
        W_RC(mc_mutex_init(&sh->m[0], MC_MUTEX_NORMAL), 0))
        return;
    mc_pid w[N_BC];
    for (int i = 0; i < N_BC; i++)
        w[i] = start(w_bc_waiter, sh, i, 0, 0);
    W_CHECK(wait_ge(&sh->arrived, N_BC, 10000), "arrivals");
    tu_sleep_ms(30); /* all asleep in the kernel */
    W_RC(mc_mutex_lock(&sh->m[0]), 0);
    sh->flag = 1;
    W_RC(mc_cond_broadcast(&sh->c), 0);
    W_RC(mc_mutex_unlock(&sh->m[0]), 0);
    for (int i = 0; i < N_BC; i++)
        W_JOIN_OK(tu_driver_jp, w[i], "broadcast waiter");
    W_CHECK(sh->nwoken == N_BC, "woken: %ld", sh->nwoken);

    for (int i = 0; i < N_BAR; i++)
        w[i] = start(w_barrier, sh, i, 0, 0);
    for (int i = 0; i < N_BAR; i++)
        W_JOIN_OK(tu_driver_jp, w[i], "barrier");
    W_CHECK(sh->gen == N_GEN, "generations: %ld", sh->gen);
}

static void test_broadcast(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_broadcast, NULL, 0);
    tu_end();
}

/* Order: waiters that fell asleep one after the other are woken one per
 * signal in the same order (Netmcore_condition woke the newest first). */
enum { N_FIFO = 5 };

static void w_fifo(const void *arg, size_t len)
{
    struct warg a = getarg(arg, len);
    if (!a.sh)
        return;
    struct sh *sh = a.sh;
    mc_mutex *m = &sh->m[0];
    if (W_RC(mc_mutex_lock(m), 0))
        return;
    sh->arrived++;
    while (sh->tokens == 0)
        if (W_RC(mc_cond_timedwait(&sh->c, m, 10000), 0))
            break;
    sh->tokens--;
    sh->woken[sh->nwoken] = a.idx;
    __atomic_store_n(&sh->nwoken, sh->nwoken + 1, __ATOMIC_RELEASE);
    W_RC(mc_mutex_unlock(m), 0);
}

static void drv_fifo(const void *arg, size_t len)
{
    (void)arg; (void)len;
    struct sh *sh = sh_new();
    if (!sh || W_RC(mc_cond_init(&sh->c), 0) ||
        W_RC(mc_mutex_init(&sh->m[0], MC_MUTEX_NORMAL), 0))
        return;
    mc_pid w[N_FIFO];
    for (int i = 0; i < N_FIFO; i++) {
        w[i] = start(w_fifo, sh, i, 0, 0);
        W_CHECK(wait_ge(&sh->arrived, i + 1, 10000), "arrival %d", i);
        tu_sleep_ms(30); /* past its polling: asleep, in arrival order */
    }
    for (int i = 0; i < N_FIFO; i++) {
        W_RC(mc_mutex_lock(&sh->m[0]), 0);
        sh->tokens++;
        W_RC(mc_cond_signal(&sh->c), 0);
        W_RC(mc_mutex_unlock(&sh->m[0]), 0);
        W_CHECK(wait_ge(&sh->nwoken, i + 1, 10000), "wake-up %d", i);
    }
    for (int i = 0; i < N_FIFO; i++)
        W_JOIN_OK(tu_driver_jp, w[i], "fifo waiter");
    char got[64] = "";
    for (int i = 0; i < N_FIFO; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), " %d",
                 sh->woken[i]);
    for (int i = 0; i < N_FIFO; i++)
        W_CHECK(sh->woken[i] == i, "wake-up order:%s", got);
}

static void test_fifo(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_fifo, NULL, 0);
    tu_end();
}

/* Death and conditions.
 * mode 0: publish pid, wait on c for flag (killed while asleep).
 * mode 1: wait on c for flag; expect 0.
 * mode 2: wait on c for flag; expect MC_EOWNERDEAD (the holder died).
 * mode 3: lock, set flag, signal, die holding the mutex.
 * mode 4: wait on c for flag; expect MC_EPOISONED, and not to hold m. */
static void w_cond_death(const void *arg, size_t len)
{
    struct warg a = getarg(arg, len);
    if (!a.sh)
        return;
    struct sh *sh = a.sh;
    mc_mutex *m = &sh->m[a.kind];
    if (a.mode == 0)
        sh->pid[a.idx] = getpid();
    if (W_RC(mc_mutex_lock(m), 0))
        return;
    if (a.mode == 3) {
        sh->flag = 1;
        W_RC(mc_cond_signal(&sh->c), 0);
        raise(SIGKILL);
    }
    __atomic_fetch_add(&sh->arrived, 1, __ATOMIC_RELEASE);
    int rc = 0;
    while (!sh->flag && rc == 0)
        rc = mc_cond_timedwait(&sh->c, m, 10000);
    int want = a.mode == 2 ? MC_EOWNERDEAD : a.mode == 4 ? MC_EPOISONED : 0;
    W_CHECK(rc == want, "wait: %s, expected %s", tu_err(rc),
            tu_code_name(want));
    if (rc == MC_EOWNERDEAD) {
        W_CHECK(sh->flag == 1, "the dead holder's change is visible");
        W_RC(mc_mutex_consistent(m), 0);
    }
    if (rc == MC_EPOISONED)
        W_RC(mc_mutex_unlock(m), MC_ESTATE); /* not held */
    else
        W_RC(mc_mutex_unlock(m), 0);
}

static void drv_cond_death(const void *arg, size_t len)
{
    (void)arg; (void)len;
    struct sh *sh = sh_new();
    if (!sh || W_RC(mc_cond_init(&sh->c), 0))
        return;
    for (int k = 0; k < 3; k++) {
        mc_mutex *m = &sh->m[k];
        if (W_RC(mc_mutex_init(m, kinds[k]), 0))
            return;

        /* 1. a sleeper is killed; one signal still wakes the next one */
        sh->flag = 0;
        sh->arrived = 0;
        mc_pid dead = start(w_cond_death, sh, 0, k, 0);
        W_CHECK(wait_ge(&sh->arrived, 1, 10000), "arrival");
        tu_sleep_ms(30);
        kill(sh->pid[0], SIGKILL);
        join_killed(dead);
        mc_pid live = start(w_cond_death, sh, 1, k, 1);
        W_CHECK(wait_ge(&sh->arrived, 2, 10000), "arrival");
        tu_sleep_ms(30);
        W_RC(mc_mutex_lock(m), 0); /* the dead sleeper left it free */
        sh->flag = 1;
        W_RC(mc_cond_signal(&sh->c), 0);
        W_RC(mc_mutex_unlock(m), 0);
        W_JOIN_OK(tu_driver_jp, live, "waiter after a dead one");

        /* 2. the holder dies after signalling: the waiter's relock says
         *    MC_EOWNERDEAD */
        sh->flag = 0;
        sh->arrived = 0;
        mc_pid waiter = start(w_cond_death, sh, 1, k, 2);
        W_CHECK(wait_ge(&sh->arrived, 1, 10000), "arrival");
        tu_sleep_ms(30);
        join_killed(start(w_cond_death, sh, 2, k, 3));
        W_JOIN_OK(tu_driver_jp, waiter, "waiter of a dead holder");
        W_RC(mc_mutex_lock(m), 0); /* repaired by the waiter */
        W_RC(mc_mutex_unlock(m), 0);

        /* 3. poisoned while a thread waits: its relock fails */
        sh->flag = 0;
        sh->arrived = 0;
        waiter = start(w_cond_death, sh, 1, k, 4);
        W_CHECK(wait_ge(&sh->arrived, 1, 10000), "arrival");
        tu_sleep_ms(30);
        join_killed(start(w_death, sh, 2, k, 0)); /* dies holding m */
        W_RC(mc_mutex_lock(m), MC_EOWNERDEAD);
        sh->flag = 1;
        W_RC(mc_mutex_unlock(m), 0); /* without consistent: poisoned */
        W_RC(mc_cond_broadcast(&sh->c), 0);
        W_JOIN_OK(tu_driver_jp, waiter, "waiter of a poisoned mutex");
        W_RC(mc_mutex_destroy(m), 0);
    }
}

static void test_cond_death(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_cond_death, NULL, 0);
    tu_end();
}

/* ------------------------------------------------ records: init_sync */

typedef struct srec {
    int64_t n;
    mc_mutex m;
    mc_sem s;
    mc_cond c;
    char *name;
} srec;

static const mc_sync_field srec_sync[] = {
    {offsetof(srec, m), MC_SYNC_MUTEX, MC_MUTEX_ERRORCHECK},
    {offsetof(srec, s), MC_SYNC_SEM, 3},
    {offsetof(srec, c), MC_SYNC_COND, 0},
};

static int srec_copy(mc_copier *c, void *dst, const void *src)
{
    const srec *s = src;
    srec *d = dst;
    d->n = s->n; /* the sync fields stay zero: init_sync makes them */
    return mc_copy_str(c, &s->name, &d->name);
}

static void srec_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, ((const srec *)obj)->name);
}

static int srec_init_sync(void *obj)
{
    return mc_sync_init_fields(obj, srec_sync, 3);
}

static const mc_type srec_type = {
    .name = "srec", .id = 0x6a0c4e2b9d1f7358ull, .size = sizeof(srec),
    .align = _Alignof(srec), .copy = srec_copy, .trace = srec_trace,
    .init_sync = srec_init_sync,
};

static void w_srec(const void *arg, size_t len)
{
    mc_heap_descr d;
    if (len != sizeof d) {
        W_CHECK(0, "arg");
        return;
    }
    memcpy(&d, arg, sizeof d);
    mc_heap *h;
    if (W_RC(mc_heap_of_descr(&d, &srec_type, &h), 0))
        return;
    srec *r = mc_heap_root_ro(h);
    /* the driver holds r->m and waits on the semaphore */
    W_RC(mc_mutex_trylock(&r->m), MC_EAGAIN);
    W_RC(mc_sem_post(&r->s), 0);
    if (W_RC(mc_mutex_lock(&r->m), 0))
        return;
    r->n++;
    W_RC(mc_cond_signal(&r->c), 0);
    W_RC(mc_mutex_unlock(&r->m), 0);
}

static void drv_init_sync(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_heap *h;
    srec local;
    memset(&local, 0, sizeof local); /* no dummies: zero is fine */
    local.n = 41;
    local.name = "answer";
    if (W_RC(mc_pool_create(16 * MiB, &p), 0) ||
        W_RC(mc_heap_create(p, &srec_type, &local, &h), 0))
        return;
    srec *r = mc_heap_root_ro(h);
    W_CHECK(r->n == 41 && strcmp(r->name, "answer") == 0, "copied fields");
    int64_t v = -1;
    W_RC(mc_sem_getvalue(&r->s, &v), 0);
    W_CHECK(v == 3, "the semaphore starts at its declared count: %lld",
            (long long)v);
    W_RC(mc_mutex_lock(&local.m), MC_EINVAL); /* the local one was no lock */
    if (W_RC(mc_mutex_lock(&r->m), 0))
        return;
    W_RC(mc_mutex_lock(&r->m), MC_ESTATE); /* it is error-checking */

    /* a local copy of the record has no live locks */
    srec *copy;
    if (!W_RC(mc_heap_root_c(h, (void **)&copy), 0)) {
        W_CHECK(copy->n == 41, "copy");
        W_RC(mc_mutex_trylock(&copy->m), MC_EINVAL);
        W_RC(mc_sem_post(&copy->s), MC_EINVAL);
        W_RC(mc_cond_signal(&copy->c), MC_EINVAL);
        mc_local_free(copy);
    }

    /* another process uses the record's mutex, semaphore and condition */
    mc_heap_descr d;
    W_RC(mc_heap_descr_of(h, &d), 0);
    mc_pid w;
    if (!W_RC(tu_start_fn(w_srec, &d, sizeof d, &w), 0)) {
        W_RC(mc_sem_timedwait(&r->s, 10000), 0); /* 3 + 1 tokens */
        W_RC(mc_sem_timedwait(&r->s, 10000), 0);
        W_RC(mc_sem_timedwait(&r->s, 10000), 0);
        W_RC(mc_sem_timedwait(&r->s, 10000), 0);
        while (r->n == 41)
            if (W_RC(mc_cond_timedwait(&r->c, &r->m, 10000), 0))
                break;
        W_CHECK(r->n == 42, "n = %lld", (long long)r->n);
        W_RC(mc_mutex_unlock(&r->m), 0);
        W_JOIN_OK(tu_driver_jp, w, "record user");
    }

    /* mc_heap_alloc initializes every element */
    mc_mut *mut;
    srec *arr;
    if (!W_RC(mc_heap_begin(h, &mut), 0)) {
        if (!W_RC(mc_heap_alloc(mut, &srec_type, 3, (void **)&arr), 0))
            for (int i = 0; i < 3; i++) {
                W_RC(mc_mutex_trylock(&arr[i].m), 0);
                W_RC(mc_mutex_unlock(&arr[i].m), 0);
                W_RC(mc_sem_trywait(&arr[i].s), 0);
                W_RC(mc_cond_broadcast(&arr[i].c), 0);
            }
        W_RC(mc_heap_commit(mut), 0);
    }

    static const mc_sync_field bad[] = {{0, 9, 0}};
    static const mc_sync_field badkind[] = {{0, MC_SYNC_MUTEX, 5}};
    srec tmp;
    W_RC(mc_sync_init_fields(&tmp, bad, 1), MC_EINVAL);
    W_RC(mc_sync_init_fields(&tmp, badkind, 1), MC_EINVAL);
    W_RC(mc_sync_init_fields(NULL, srec_sync, 3), MC_EINVAL);
    W_RC(mc_sync_init_fields(NULL, NULL, 0), 0);
    W_RC(mc_heap_destroy(h), 0);
}

static void test_init_sync(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_init_sync, NULL, 0);
    tu_end();
}

/* ------------------------------------------------------ copies, reuse */

/* A copy of an initialized mutex, semaphore or condition
 * (memcpy or struct assignment) is refused with MC_EINVAL, and the
 * original still works; item 21: a destroyed one is refused too (destroy
 * twice included). */
static void drv_copies(const void *arg, size_t len)
{
    (void)arg; (void)len;
    struct sh *sh = sh_new();
    if (!sh)
        return;
    mc_mutex *m = &sh->m[0];
    if (W_RC(mc_mutex_init(m, MC_MUTEX_ERRORCHECK), 0) ||
        W_RC(mc_sem_init(&sh->go, 1), 0) || W_RC(mc_cond_init(&sh->c), 0))
        return;
    mc_mutex mcopy, mset;
    memcpy(&mcopy, m, sizeof mcopy);
    mset = *m;
    mc_mutex *mc[2] = {&mcopy, &mset};
    for (int i = 0; i < 2; i++) {
        W_RC(mc_mutex_lock(mc[i]), MC_EINVAL);
        W_RC(mc_mutex_trylock(mc[i]), MC_EINVAL);
        W_RC(mc_mutex_timedlock(mc[i], 0), MC_EINVAL);
        W_RC(mc_mutex_unlock(mc[i]), MC_EINVAL);
        W_RC(mc_mutex_consistent(mc[i]), MC_EINVAL);
        W_RC(mc_mutex_destroy(mc[i]), MC_EINVAL);
    }
    /* a copy made while it is held, too; a re-init makes a copy a mutex */
    if (W_RC(mc_mutex_lock(m), 0) == 0) {
        mset = *m;
        W_RC(mc_mutex_unlock(&mset), MC_EINVAL);
        W_RC(mc_mutex_unlock(m), 0);
    }
    W_RC(mc_mutex_init(&mset, MC_MUTEX_NORMAL), 0);
    if (W_RC(mc_mutex_lock(&mset), 0) == 0)
        W_RC(mc_mutex_unlock(&mset), 0);
    W_RC(mc_mutex_destroy(&mset), 0);

    mc_sem scopy, sset;
    memcpy(&scopy, &sh->go, sizeof scopy);
    sset = sh->go;
    mc_sem *sc[2] = {&scopy, &sset};
    int64_t v;
    for (int i = 0; i < 2; i++) {
        W_RC(mc_sem_post(sc[i]), MC_EINVAL);
        W_RC(mc_sem_wait(sc[i]), MC_EINVAL);
        W_RC(mc_sem_trywait(sc[i]), MC_EINVAL);
        W_RC(mc_sem_timedwait(sc[i], 0), MC_EINVAL);
        W_RC(mc_sem_getvalue(sc[i], &v), MC_EINVAL);
        W_RC(mc_sem_destroy(sc[i]), MC_EINVAL);
    }

    mc_cond ccopy, cset;
    memcpy(&ccopy, &sh->c, sizeof ccopy);
    cset = sh->c;
    mc_cond *cc[2] = {&ccopy, &cset};
    for (int i = 0; i < 2; i++) {
        W_RC(mc_cond_signal(cc[i]), MC_EINVAL);
        W_RC(mc_cond_broadcast(cc[i]), MC_EINVAL);
        if (W_RC(mc_mutex_lock(m), 0) == 0) {
            W_RC(mc_cond_timedwait(cc[i], m, 0), MC_EINVAL);
            W_RC(mc_cond_timedwait(&sh->c, &mcopy, 0), MC_EINVAL);
            W_RC(mc_mutex_unlock(m), 0);
        }
        W_RC(mc_cond_destroy(cc[i]), MC_EINVAL);
    }

    /* the originals still work */
    if (W_RC(mc_mutex_lock(m), 0) == 0) {
        W_RC(mc_cond_timedwait(&sh->c, m, 1), MC_ETIMEDOUT);
        W_RC(mc_mutex_unlock(m), 0);
    }
    W_RC(mc_sem_trywait(&sh->go), 0);
    W_RC(mc_cond_signal(&sh->c), 0);

    /* destroyed: every call refused, destroy twice included */
    W_RC(mc_mutex_destroy(m), 0);
    W_RC(mc_mutex_destroy(m), MC_EINVAL);
    W_RC(mc_mutex_lock(m), MC_EINVAL);
    W_RC(mc_sem_destroy(&sh->go), 0);
    W_RC(mc_sem_destroy(&sh->go), MC_EINVAL);
    W_RC(mc_sem_post(&sh->go), MC_EINVAL);
    W_RC(mc_cond_destroy(&sh->c), 0);
    W_RC(mc_cond_destroy(&sh->c), MC_EINVAL);
    W_RC(mc_cond_signal(&sh->c), MC_EINVAL);
}

static void test_copies(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_copies, NULL, 0);
    tu_end();
}

static int group_setup(void **state)
{
    (void)state;
    tu_def_driver();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutex_basics),
        cmocka_unit_test(test_contention),
        cmocka_unit_test(test_nonowner),
        cmocka_unit_test(test_owner_death),
        cmocka_unit_test(test_sem_basics),
        cmocka_unit_test(test_prodcons),
        cmocka_unit_test(test_cond_basics),
        cmocka_unit_test(test_pingpong),
        cmocka_unit_test(test_broadcast),
        cmocka_unit_test(test_fifo),
        cmocka_unit_test(test_cond_death),
        cmocka_unit_test(test_init_sync),
        cmocka_unit_test(test_copies),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
