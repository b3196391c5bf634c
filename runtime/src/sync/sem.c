/* sem.c: process-shared counting semaphores (mcore/sem.h).
 *
 * glibc's sem_t with pshared = 1: a 64-bit word holding the count and the
 * number of sleepers, a futex, and no system call when a token is there or
 * nobody sleeps.  A futex semaphore of our own would do the same two
 * operations (bench/sync's sync.sem compares), so we only add a word
 * holding the semaphore's own address (mutex_internal.h: mc__sync_self)
 * and mc codes.  A sleeper that dies leaves the sleeper count one too high,
 * which costs later posts a futex wake each, never a lost token. */
#include <errno.h>
#include <semaphore.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "os/spin.h"
#include "mcore/sem.h"
#include "proc/alive.h"
#include "sync/mutex_internal.h" /* mc__sync_self */

#define MC__SEM_MAGIC 0x4d435345u /* "MCSE" */

typedef struct mc__sem {
    sem_t s;
    uint64_t self; /* mc__sync_self(this, MC__SEM_MAGIC): not a copy */
} mc__sem;

_Static_assert(sizeof(mc__sem) <= sizeof(mc_sem),
               "mc_sem is too small for its implementation");
_Static_assert(_Alignof(mc__sem) <= _Alignof(mc_sem),
               "mc_sem is aligned less than its implementation");

static inline mc__sem *sem_of(mc_sem *s)
{
    return (mc__sem *)(void *)s;
}

static inline int sem_ok(const mc__sem *s)
{
    return MC_LIKELY(s != NULL) &&
           MC_LIKELY(__atomic_load_n(&s->self, __ATOMIC_RELAXED) ==
                     mc__sync_self(s, MC__SEM_MAGIC));
}

static int bad(const void *s, const char *what)
{
    if (!s)
        return mc__err(MC_EINVAL, "%s: NULL semaphore", what);
    return mc__err(MC_EINVAL, "%s: not an initialized semaphore (never "
                              "initialized, destroyed, or a copy)", what);
}

static int wait_error(int e, const char *what)
{
    if (e == EAGAIN)
        return mc__err(MC_EAGAIN, "%s: the count is 0", what);
    if (e == ETIMEDOUT)
        return mc__err(MC_ETIMEDOUT, "%s: the count stayed 0", what);
    return mc__err(e == EINVAL ? MC_EINVAL : MC_ESYS, "%s: %s", what,
                   strerror(e));
}

int mc_sem_init(mc_sem *sp, int64_t value)
{
    mc__sem *s = sem_of(sp);
    if (!s)
        return mc__err(MC_EINVAL, "mc_sem_init: NULL semaphore");
    if (value < 0 || value > MC_SEM_VALUE_MAX)
        return mc__err(MC_EINVAL, "mc_sem_init: value %lld out of range",
                       (long long)value);
    memset(sp, 0, sizeof *sp);
    if (sem_init(&s->s, 1, (unsigned)value))
        return mc__errno("mc_sem_init: sem_init");
    __atomic_store_n(&s->self, mc__sync_self(s, MC__SEM_MAGIC),
                     __ATOMIC_RELEASE);
    return 0;
}

int mc_sem_post(mc_sem *sp)
{
    mc__sem *s = sem_of(sp);
    if (!sem_ok(s))
        return bad(sp, "mc_sem_post");
    if (MC_LIKELY(sem_post(&s->s) == 0))
        return 0;
    if (errno == EOVERFLOW)
        return mc__err(MC_E2BIG, "mc_sem_post: count at its maximum");
    return wait_error(errno, "mc_sem_post");
}

/* Wait until the absolute CLOCK_MONOTONIC deadline dl (NULL: none); the
 * master's wait sleeps in slices and ends with MC_ELOST when its session
 * server is gone (proc/alive.h). */
static int clock_wait(mc__sem *s, const struct timespec *dl, const char *what)
{
    for (;;) {
        struct timespec slice;
        const struct timespec *d = mc__alive_deadline(dl, &slice);
        int r = d ? sem_clockwait(&s->s, CLOCK_MONOTONIC, d) : sem_wait(&s->s);
        if (r == 0)
            return 0;
        if (errno == ETIMEDOUT && d != dl) {
            int rc = mc__alive_check(what);
            if (rc)
                return rc;
            continue;
        }
        if (errno != EINTR) /* a signal handler ran: wait on */
            return wait_error(errno, what);
    }
}

int mc_sem_wait(mc_sem *sp)
{
    mc__sem *s = sem_of(sp);
    if (!sem_ok(s))
        return bad(sp, "mc_sem_wait");
    if (mc__alive_sliced())
        return sem_trywait(&s->s) == 0 ? 0
                                        : clock_wait(s, NULL, "mc_sem_wait");
    for (;;) {
        if (MC_LIKELY(sem_wait(&s->s) == 0))
            return 0;
        if (errno != EINTR) /* a signal handler ran: wait on */
            return wait_error(errno, "mc_sem_wait");
    }
}

int mc_sem_trywait(mc_sem *sp)
{
    mc__sem *s = sem_of(sp);
    if (!sem_ok(s))
        return bad(sp, "mc_sem_trywait");
    for (;;) {
        if (MC_LIKELY(sem_trywait(&s->s) == 0))
            return 0;
        if (errno != EINTR)
            return wait_error(errno, "mc_sem_trywait");
    }
}

int mc_sem_timedwait(mc_sem *sp, int64_t timeout_ms)
{
    mc__sem *s = sem_of(sp);
    if (!sem_ok(s))
        return bad(sp, "mc_sem_timedwait");
    if (timeout_ms < 0)
        return mc__err(MC_EINVAL, "mc_sem_timedwait: negative timeout");
    if (sem_trywait(&s->s) == 0) /* no clock read when a token is there */
        return 0;
    /* an absolute deadline: a restart after EINTR does not extend it */
    struct timespec ts = mc__deadline_ms(timeout_ms);
    return clock_wait(s, &ts, "mc_sem_timedwait");
}

int mc_sem_getvalue(mc_sem *sp, int64_t *value)
{
    mc__sem *s = sem_of(sp);
    if (!sem_ok(s))
        return bad(sp, "mc_sem_getvalue");
    if (!value)
        return mc__err(MC_EINVAL, "mc_sem_getvalue: NULL value");
    int v;
    if (sem_getvalue(&s->s, &v))
        return mc__errno("mc_sem_getvalue");
    *value = v < 0 ? 0 : v;
    return 0;
}

int mc_sem_destroy(mc_sem *sp)
{
    mc__sem *s = sem_of(sp);
    if (!sem_ok(s))
        return bad(sp, "mc_sem_destroy");
    __atomic_store_n(&s->self, 0, __ATOMIC_RELEASE);
    sem_destroy(&s->s);
    return 0;
}
