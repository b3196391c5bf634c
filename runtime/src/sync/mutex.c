/* mutex.c: robust, process-shared mutexes (mcore/mutex.h).
 *
 * A thin layer over glibc's robust pthread mutexes.  Why not our own futex
 * lock: owner death is detected by the kernel walking each thread's robust
 * list at exit, and that list is glibc's (one head per thread, registered
 * with set_robust_list); a lock of ours could not be on it.  glibc already
 * implements the states we document: EOWNERDEAD to the next locker,
 * pthread_mutex_consistent, ENOTRECOVERABLE after an unlock without it.
 * What is added: a word holding the mutex's own address, so that zeroed,
 * destroyed or copied bytes are refused instead of behaving as a private
 * mutex (mutex_internal.h), and mc codes. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "os/spin.h"
#include "sync/mutex_internal.h"

int mc__mutex_bad(const void *m, const char *what)
{
    if (!m)
        return mc__err(MC_EINVAL, "%s: NULL mutex", what);
    return mc__err(MC_EINVAL, "%s: not an initialized mutex (never "
                              "initialized, destroyed, or a copy)", what);
}

int mc__mutex_lock_error(mc__mutex *m, int e, const char *what)
{
    switch (e) {
    case EOWNERDEAD:
        return mc__err(MC_EOWNERDEAD, "%s: the previous holder died; the "
                                      "caller holds the mutex", what);
    case ENOTRECOVERABLE:
        return mc__err(MC_EPOISONED, "%s: mutex poisoned (unlocked after "
                                     "owner death without consistent)",
                       what);
    case EBUSY:
        return mc__err(MC_EAGAIN, "%s: held by another thread", what);
    case ETIMEDOUT:
        return mc__err(MC_ETIMEDOUT, "%s: still locked at the deadline",
                       what);
    case EDEADLK:
        return mc__err(MC_ESTATE, "%s: error-checking mutex already held "
                                  "by this thread", what);
    case EAGAIN:
        return mc__err(MC_E2BIG, "%s: recursive mutex nested too deeply",
                       what);
    case EPERM:
        return mc__err(MC_ESTATE, "%s: not held by this thread", what);
    default:
        (void)m;
        return mc__err(e == EINVAL ? MC_EINVAL : MC_ESYS, "%s: %s", what,
                       strerror(e));
    }
}

static const int pthread_kinds[] = {
    [MC_MUTEX_NORMAL] = PTHREAD_MUTEX_NORMAL,
    [MC_MUTEX_ERRORCHECK] = PTHREAD_MUTEX_ERRORCHECK,
    [MC_MUTEX_RECURSIVE] = PTHREAD_MUTEX_RECURSIVE,
};

int mc_mutex_init(mc_mutex *mx, mc_mutex_kind kind)
{
    mc__mutex *m = mc__mutex_of(mx);
    if (!m)
        return mc__err(MC_EINVAL, "mc_mutex_init: NULL mutex");
    if ((unsigned)kind > MC_MUTEX_RECURSIVE)
        return mc__err(MC_EINVAL, "mc_mutex_init: unknown kind %d",
                       (int)kind);
    /* Zero first: whatever the bytes were (a heap block, a destroyed
     * mutex), they are now "not a mutex" until the self word is written. */
    memset(mx, 0, sizeof *mx);
    pthread_mutexattr_t a;
    int e = pthread_mutexattr_init(&a);
    if (!e)
        e = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (!e)
        e = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (!e)
        e = pthread_mutexattr_settype(&a, pthread_kinds[kind]);
    if (!e)
        e = pthread_mutex_init(&m->pm, &a);
    pthread_mutexattr_destroy(&a);
    if (e)
        return mc__err(MC_ESYS, "mc_mutex_init: %s", strerror(e));
    m->kind = (uint32_t)kind;
    /* Release: a process that sees the self word sees an initialized
     * mutex. */
    __atomic_store_n(&m->self, mc__sync_self(m, MC__MUTEX_MAGIC),
                     __ATOMIC_RELEASE);
    return 0;
}

int mc_mutex_lock(mc_mutex *mx)
{
    mc__mutex *m = mc__mutex_of(mx);
    if (!mc__mutex_ok(m))
        return mc__mutex_bad(mx, "mc_mutex_lock");
    int e = pthread_mutex_lock(&m->pm);
    if (MC_LIKELY(e == 0))
        return 0;
    return mc__mutex_lock_error(m, e, "mc_mutex_lock");
}

int mc_mutex_trylock(mc_mutex *mx)
{
    mc__mutex *m = mc__mutex_of(mx);
    if (!mc__mutex_ok(m))
        return mc__mutex_bad(mx, "mc_mutex_trylock");
    int e = pthread_mutex_trylock(&m->pm);
    if (MC_LIKELY(e == 0))
        return 0;
    return mc__mutex_lock_error(m, e, "mc_mutex_trylock");
}

int mc_mutex_timedlock(mc_mutex *mx, int64_t timeout_ms)
{
    mc__mutex *m = mc__mutex_of(mx);
    if (!mc__mutex_ok(m))
        return mc__mutex_bad(mx, "mc_mutex_timedlock");
    if (timeout_ms < 0)
        return mc__err(MC_EINVAL, "mc_mutex_timedlock: negative timeout");
    /* Fast path: no clock read when the mutex is free. */
    int e = pthread_mutex_trylock(&m->pm);
    if (e == EBUSY && timeout_ms > 0) {
        struct timespec ts = mc__deadline_ms(timeout_ms);
        /* CLOCK_MONOTONIC: a wall-clock change does not move the deadline */
        e = pthread_mutex_clocklock(&m->pm, CLOCK_MONOTONIC, &ts);
    } else if (e == EBUSY) {
        e = ETIMEDOUT;
    }
    if (MC_LIKELY(e == 0))
        return 0;
    return mc__mutex_lock_error(m, e, "mc_mutex_timedlock");
}

int mc_mutex_unlock(mc_mutex *mx)
{
    mc__mutex *m = mc__mutex_of(mx);
    if (!mc__mutex_ok(m))
        return mc__mutex_bad(mx, "mc_mutex_unlock");
    /* glibc checks the owner for every robust kind (EPERM otherwise), and
     * an unlock while inconsistent makes the mutex unrecoverable. */
    int e = pthread_mutex_unlock(&m->pm);
    if (MC_LIKELY(e == 0))
        return 0;
    return mc__mutex_lock_error(m, e, "mc_mutex_unlock");
}

int mc_mutex_consistent(mc_mutex *mx)
{
    mc__mutex *m = mc__mutex_of(mx);
    if (!mc__mutex_ok(m))
        return mc__mutex_bad(mx, "mc_mutex_consistent");
    /* glibc answers EINVAL both for "not inconsistent" and "not the
     * holder"; our EINVAL means a bad argument, so this is MC_ESTATE. */
    int e = pthread_mutex_consistent(&m->pm);
    if (e)
        return mc__err(MC_ESTATE, "mc_mutex_consistent: the mutex is not "
                                  "in the owner-died state, or not held");
    return 0;
}

int mc_mutex_destroy(mc_mutex *mx)
{
    mc__mutex *m = mc__mutex_of(mx);
    if (!mc__mutex_ok(m))
        return mc__mutex_bad(mx, "mc_mutex_destroy");
    /* pthread_mutex_destroy does not refuse a held robust mutex, so probe
     * with trylock.  A recursive mutex held by the caller would succeed
     * (count + 1); the count tells: 1 means it was free. */
    int e = pthread_mutex_trylock(&m->pm);
    if (e == 0 || e == EOWNERDEAD) {
        if (e == 0 && m->kind == MC_MUTEX_RECURSIVE &&
            m->pm.__data.__count > 1) {
            pthread_mutex_unlock(&m->pm);
            return mc__err(MC_EBUSY, "mc_mutex_destroy: held by this "
                                     "thread");
        }
        if (e == EOWNERDEAD)
            pthread_mutex_consistent(&m->pm);
        pthread_mutex_unlock(&m->pm);
    } else if (e == EBUSY || e == EDEADLK) { /* EDEADLK: error-checking,
                                                 held by the caller */
        return mc__err(MC_EBUSY, "mc_mutex_destroy: the mutex is held");
    } else if (e != ENOTRECOVERABLE) { /* poisoned, nobody holds it: goes */
        return mc__mutex_lock_error(m, e, "mc_mutex_destroy");
    }
    __atomic_store_n(&m->self, 0, __ATOMIC_RELEASE);
    pthread_mutex_destroy(&m->pm);
    return 0;
}
