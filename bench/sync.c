/* bench/sync: mutexes, semaphores and condition variables, each beside
 * glibc's own in the same run.
 *
 *   sync.mutex_uncontended  lock+unlock by one process (ns) vs a robust,
 *                           process-shared pthread mutex (glibc_robust)
 *   sync.mutex_contended    two processes locking one mutex, 1M times each
 *                           around a shared increment: ns per lock+unlock
 *                           (wall time / all locks) vs glibc_robust
 *   sync.sem                post+wait by one process (ns) vs a
 *                           process-shared sem_t (glibc_sem)
 *   sync.cond_pingpong      round trip between two processes taking turns
 *                           under a mutex and a condition (us) vs a
 *                           process-shared pthread_cond with a robust
 *                           mutex (glibc_cond)
 *
 * Each figure is the median of several rounds.  The primitives need no
 * session: both sides live in one MAP_SHARED mapping and the second
 * process is a plain fork, the same for mcore and for glibc.
 * Usage: build/bench/sync [rounds] */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "mcore/sync.h"

static int rounds = 7;
static int failed;

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "bench/sync: %s failed (line %d)\n", #cond,    \
                    __LINE__);                                              \
            failed = 1;                                                     \
        }                                                                   \
    } while (0)

struct shared {
    mc_mutex m;
    mc_cond c;
    mc_sem s;
    pthread_mutex_t pm;
    pthread_cond_t pc;
    sem_t ps;
    _Alignas(64) volatile long counter;
    _Alignas(64) volatile long turn;
    _Alignas(64) int go;
};

static struct shared *sh;

static void glibc_init(void)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&sh->pm, &a);
    pthread_mutexattr_destroy(&a);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    pthread_cond_init(&sh->pc, &ca);
    pthread_condattr_destroy(&ca);
    sem_init(&sh->ps, 1, 0);
}

/* ------------------------------------------------------------ uncontended */

enum { N_UNC = 5000000 };

static double unc_mcore(void)
{
    double t0 = bench_now_us();
    for (int i = 0; i < N_UNC; i++) {
        mc_mutex_lock(&sh->m);
        mc_mutex_unlock(&sh->m);
    }
    return (bench_now_us() - t0) * 1e3 / N_UNC;
}

static double unc_glibc(void)
{
    double t0 = bench_now_us();
    for (int i = 0; i < N_UNC; i++) {
        pthread_mutex_lock(&sh->pm);
        pthread_mutex_unlock(&sh->pm);
    }
    return (bench_now_us() - t0) * 1e3 / N_UNC;
}

/* -------------------------------------------------------------- contended */

enum { N_CONT = 1000000 };

static void cont_loop(int glibc)
{
    while (!__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE))
        ;
    for (int i = 0; i < N_CONT; i++) {
        if (glibc) {
            pthread_mutex_lock(&sh->pm);
            sh->counter++;
            pthread_mutex_unlock(&sh->pm);
        } else {
            mc_mutex_lock(&sh->m);
            sh->counter++;
            mc_mutex_unlock(&sh->m);
        }
    }
}

/* Two forked processes run fn(glibc); returns the wall time in us from
 * their start signal to the end of both. */
static double two_procs(void (*fn)(int), int glibc)
{
    pid_t p[2];
    sh->go = 0;
    for (int i = 0; i < 2; i++) {
        p[i] = fork();
        if (p[i] == 0) {
            fn(glibc);
            _exit(0);
        }
        CHECK(p[i] > 0);
    }
    usleep(20000); /* both are spinning on go */
    double t0 = bench_now_us();
    __atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 2; i++) {
        int st;
        CHECK(waitpid(p[i], &st, 0) == p[i] && WIFEXITED(st) &&
              WEXITSTATUS(st) == 0);
    }
    return bench_now_us() - t0;
}

static double cont(int glibc)
{
    sh->counter = 0;
    double us = two_procs(cont_loop, glibc);
    CHECK(sh->counter == 2L * N_CONT);
    return us * 1e3 / (2.0 * N_CONT);
}

/* -------------------------------------------------------------- semaphore */

enum { N_SEM = 5000000 };

static double sem_mcore(void)
{
    double t0 = bench_now_us();
    for (int i = 0; i < N_SEM; i++) {
        mc_sem_post(&sh->s);
        mc_sem_wait(&sh->s);
    }
    return (bench_now_us() - t0) * 1e3 / N_SEM;
}

static double sem_glibc(void)
{
    double t0 = bench_now_us();
    for (int i = 0; i < N_SEM; i++) {
        sem_post(&sh->ps);
        sem_wait(&sh->ps);
    }
    return (bench_now_us() - t0) * 1e3 / N_SEM;
}

/* -------------------------------------------------------------- ping-pong */

enum { N_PING = 20000 };

/* Side `me` (0 or 1) takes N_PING turns: waits for turn % 2 == me. */
static void ping_side(int me, int glibc)
{
    for (int r = 0; r < N_PING; r++) {
        if (glibc) {
            pthread_mutex_lock(&sh->pm);
            while (sh->turn % 2 != me)
                pthread_cond_wait(&sh->pc, &sh->pm);
            sh->turn++;
            pthread_cond_signal(&sh->pc);
            pthread_mutex_unlock(&sh->pm);
        } else {
            mc_mutex_lock(&sh->m);
            while (sh->turn % 2 != me)
                mc_cond_wait(&sh->c, &sh->m);
            sh->turn++;
            mc_cond_signal(&sh->c);
            mc_mutex_unlock(&sh->m);
        }
    }
}

static double pingpong(int glibc)
{
    sh->turn = 0;
    pid_t p = fork();
    if (p == 0) {
        ping_side(1, glibc);
        _exit(0);
    }
    CHECK(p > 0);
    double t0 = bench_now_us();
    ping_side(0, glibc);
    double us = bench_now_us() - t0;
    int st;
    CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(sh->turn == 2L * N_PING);
    return us / N_PING; /* one round trip: a turn of each side */
}

/* ------------------------------------------------------------------- main */

static void figure(const char *name, const char *unit, const char *peer,
                   double (*mine)(int), double (*theirs)(int))
{
    double *a = calloc((size_t)rounds, sizeof *a);
    double *b = calloc((size_t)rounds, sizeof *b);
    if (!a || !b) {
        failed = 1;
        free(a);
        free(b);
        return;
    }
    /* alternate, so that drift of the machine hits both alike */
    for (int r = 0; r < rounds; r++) {
        a[r] = mine(0);
        b[r] = theirs(1);
    }
    bench_print(name, bench_median(a, (size_t)rounds), unit, peer,
                bench_median(b, (size_t)rounds));
    free(a);
    free(b);
}

static double unc_m(int g) { (void)g; return unc_mcore(); }
static double unc_g(int g) { (void)g; return unc_glibc(); }
static double sem_m(int g) { (void)g; return sem_mcore(); }
static double sem_g(int g) { (void)g; return sem_glibc(); }

int main(int argc, char **argv)
{
    if (argc > 1)
        rounds = atoi(argv[1]) > 0 ? atoi(argv[1]) : rounds;
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    memset(sh, 0, sizeof *sh);
    if (mc_mutex_init(&sh->m, MC_MUTEX_NORMAL) || mc_cond_init(&sh->c) ||
        mc_sem_init(&sh->s, 0)) {
        fprintf(stderr, "bench/sync: init: %s\n", mc_last_error_detail());
        return 1;
    }
    glibc_init();
    figure("sync.mutex_uncontended", "ns", "glibc_robust", unc_m, unc_g);
    figure("sync.mutex_contended", "ns", "glibc_robust", cont, cont);
    figure("sync.sem", "ns", "glibc_sem", sem_m, sem_g);
    figure("sync.cond_pingpong", "us", "glibc_cond", pingpong, pingpong);
    return failed;
}
