/* cond.c: process-shared condition variables (mcore/cond.h).
 *
 * A sequence counter and a futex, with no per-waiter state at all:
 *
 *   wait:    s = seq (under the mutex); unlock; poll seq briefly; then
 *            sleepers++; futex_wait(&seq, s) (the kernel sleeps only while
 *            seq is still s); sleepers--; relock.
 *   signal:  seq++; if sleepers: futex_wake(&seq, 1).
 *   broadcast: the same, waking all.
 *
 * Why this and not glibc's pthread_cond: glibc's condvar keeps waiters in
 * two groups with reference counts in the condvar; a waiter killed while
 * it sleeps stays counted, so a signal can be spent on the dead waiter
 * (lost for the live ones) and a group switch or pthread_cond_destroy can
 * wait for it forever.  Here a dead sleeper is simply gone from the
 * kernel's futex queue; `sleepers` is only a hint that lets a signal with
 * nobody asleep skip the system call (a dead sleeper leaves it one too
 * high, which costs later signals a futex_wake each, nothing else).
 *
 * No lost wake-up: `sleepers++` and the load of seq by the waiter, and
 * `seq++` and the load of sleepers by the signaller, are sequentially
 * consistent, so either the signaller sees the sleeper (and wakes the
 * futex) or the waiter sees the new seq (and does not sleep); and
 * futex_wait itself refuses to sleep once seq moved.  A waiter that polls
 * or has not yet slept when the signal comes returns at once too: more
 * than one thread may return for one signal, which POSIX allows (and the
 * header documents).
 *
 * Order: the kernel queues sleepers of one futex first-in first-out (at
 * equal priority), so futex_wake(1) wakes the oldest sleeper.
 *
 * seq wraps at 2^32; a waiter would need to miss exactly 2^32 signals
 * between reading seq and sleeping to sleep through a change. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mcore/cond.h"
#include "os/futex.h"
#include "os/spin.h"
#include "proc/alive.h"
#include "sync/mutex_internal.h"

#define MC__COND_MAGIC 0x4d43434fu /* "MCCO" */

/* How long a waiter polls before sleeping.  A peer that is running answers
 * within a microsecond or two; a wake-up from sleep costs 50 us or more on
 * a virtual machine.  Bounded, so an idle waiter costs little CPU. */
#define MC__COND_SPIN_NS 20000u

typedef struct mc__cond {
    uint32_t seq;      /* bumped by every signal and broadcast: the futex */
    uint32_t sleepers; /* threads in (or about to enter) futex_wait: hint */
    uint64_t self;     /* mc__sync_self(this, MC__COND_MAGIC): not a copy */
} mc__cond;

_Static_assert(sizeof(mc__cond) <= sizeof(mc_cond),
               "mc_cond is too small for its implementation");

static inline mc__cond *cond_of(mc_cond *c)
{
    return (mc__cond *)(void *)c;
}

static inline int cond_ok(const mc__cond *c)
{
    return MC_LIKELY(c != NULL) &&
           MC_LIKELY(__atomic_load_n(&c->self, __ATOMIC_RELAXED) ==
                     mc__sync_self(c, MC__COND_MAGIC));
}

static int bad(const void *c, const char *what)
{
    if (!c)
        return mc__err(MC_EINVAL, "%s: NULL condition", what);
    return mc__err(MC_EINVAL, "%s: not an initialized condition (never "
                              "initialized, destroyed, or a copy)", what);
}

int mc_cond_init(mc_cond *cp)
{
    mc__cond *c = cond_of(cp);
    if (!c)
        return mc__err(MC_EINVAL, "mc_cond_init: NULL condition");
    memset(cp, 0, sizeof *cp);
    __atomic_store_n(&c->self, mc__sync_self(c, MC__COND_MAGIC),
                     __ATOMIC_RELEASE);
    return 0;
}

static int cond_wait(mc_cond *cp, mc_mutex *mx, int64_t timeout_ms,
                     const char *what)
{
    mc__cond *c = cond_of(cp);
    mc__mutex *m = mc__mutex_of(mx);
    if (!cond_ok(c))
        return bad(cp, what);
    if (!mc__mutex_ok(m))
        return mc__mutex_bad(mx, what);
    /* Unlocking a recursive mutex held twice would not release it, and the
     * signaller could never take it.  (glibc's own nesting count; only the
     * holder changes it, and the holder is the caller if it is > 0 here.) */
    if (m->kind == MC_MUTEX_RECURSIVE &&
        __atomic_load_n(&m->pm.__data.__count, __ATOMIC_RELAXED) > 1)
        return mc__err(MC_EINVAL, "%s: recursive mutex held more than once",
                       what);

    uint64_t start = mc__now_ns();
    struct timespec dl, *deadline = NULL;
    uint64_t spin_end = start + MC__COND_SPIN_NS;
    /* Above ~30 years the deadline would overflow: that is for ever. */
    if (timeout_ms >= 0 && timeout_ms < (int64_t)1000000000000) {
        uint64_t end = start + (uint64_t)timeout_ms * 1000000u;
        dl.tv_sec = (time_t)(end / 1000000000u);
        dl.tv_nsec = (long)(end % 1000000000u);
        deadline = &dl;
        if (end < spin_end)
            spin_end = end;
    }

    /* Read under the mutex: a signal that follows a change of the
     * predicate made under the mutex moves seq after this read. */
    uint32_t s = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
    int e = pthread_mutex_unlock(&m->pm);
    if (e)
        return mc__mutex_lock_error(m, e, what); /* not held: nothing done */

    int woken = 0, timed_out = 0, lost = 0;
    for (unsigned i = 1;; i++) {
        if (__atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) != s) {
            woken = 1;
            break;
        }
        mc__cpu_relax();
        if (i % 64 == 0) {
            if (mc__now_ns() >= spin_end)
                break;
            sched_yield(); /* let a peer on this CPU run and answer */
        }
    }
    if (!woken) {
        __atomic_fetch_add(&c->sleepers, 1, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&c->seq, __ATOMIC_SEQ_CST) == s) {
            struct timespec slice; /* the master's: see proc/alive.h */
            const struct timespec *d = mc__alive_deadline(deadline, &slice);
            e = mc__futex_wait(&c->seq, s, d);
            if (e == ETIMEDOUT && d != deadline) {
                if ((lost = mc__alive_check(what)) != 0)
                    break;
                continue;
            }
            if (e == ETIMEDOUT) {
                timed_out = 1;
                break;
            }
            if (e != EINTR) /* woken, or seq moved before we slept */
                break;
        }
        __atomic_fetch_sub(&c->sleepers, 1, __ATOMIC_RELAXED);
    }

    if (lost) /* m is not taken again: its holder may be gone too */
        return lost;
    e = pthread_mutex_lock(&m->pm);
    if (e) /* EOWNERDEAD (held) or ENOTRECOVERABLE (not held) */
        return mc__mutex_lock_error(m, e, what);
    if (timed_out && __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) == s)
        return mc__err(MC_ETIMEDOUT, "%s: not signalled within %lld ms",
                       what, (long long)timeout_ms);
    return 0;
}

int mc_cond_wait(mc_cond *c, mc_mutex *m)
{
    return cond_wait(c, m, -1, "mc_cond_wait");
}

int mc_cond_timedwait(mc_cond *c, mc_mutex *m, int64_t timeout_ms)
{
    if (timeout_ms < 0)
        return mc__err(MC_EINVAL, "mc_cond_timedwait: negative timeout");
    return cond_wait(c, m, timeout_ms, "mc_cond_timedwait");
}

static int wake(mc_cond *cp, int n, const char *what)
{
    mc__cond *c = cond_of(cp);
    if (!cond_ok(c))
        return bad(cp, what);
    __atomic_fetch_add(&c->seq, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&c->sleepers, __ATOMIC_SEQ_CST))
        mc__futex_wake(&c->seq, n);
    return 0;
}

int mc_cond_signal(mc_cond *c)
{
    return wake(c, 1, "mc_cond_signal");
}

int mc_cond_broadcast(mc_cond *c)
{
    return wake(c, INT_MAX, "mc_cond_broadcast");
}

int mc_cond_destroy(mc_cond *cp)
{
    mc__cond *c = cond_of(cp);
    if (!cond_ok(c))
        return bad(cp, "mc_cond_destroy");
    __atomic_store_n(&c->self, 0, __ATOMIC_RELEASE);
    return 0;
}
