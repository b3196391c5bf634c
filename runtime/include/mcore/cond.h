/* mcore/cond.h: process-shared condition variables (Netmcore_condition).
 *
 * An mc_cond is an in-place object like mc_mutex (mutex.h): it lives where
 * it was initialized, in memory every user maps at the same address, and
 * is never copied: a copy (memcpy, struct assignment) and all-zero bytes
 * are "not a condition" (MC_EINVAL), as it records its own address.
 * Unlike Netmcore_condition it needs no wait entries or wait sets (its
 * limit 19): any thread of any process may wait, on any number of
 * conditions, with nothing allocated.
 *
 * Semantics are POSIX's: wait atomically releases the mutex and sleeps;
 * it returns with the mutex held again.  A wait may return without a
 * signal (rarely), so wait in a loop on the predicate, under the mutex:
 *
 *     mc_mutex_lock(&r->m);
 *     while (!r->ready)
 *         mc_cond_wait(&r->c, &r->m);
 *     ... use r ...
 *     mc_mutex_unlock(&r->m);
 *
 * Guarantees:
 *   - no lost wake-up: a signal wakes at least one thread that was waiting
 *     when it was sent, if there is one; a broadcast wakes all of them;
 *   - order: a signal wakes the longest-sleeping waiter (the kernel queues
 *     a futex's sleepers first-in first-out), so a stream of new waiters
 *     cannot starve an old one (Netmcore_condition woke the newest first,
 *     its defect 6);
 *   - death: a waiter that dies leaves nothing behind (it is not counted
 *     anywhere a signal could be spent on it); a mutex whose holder died is
 *     reported when the wait relocks it: wait returns MC_EOWNERDEAD (held)
 *     or MC_EPOISONED (not held), as mc_mutex_lock would.
 *
 * A waiter polls for a few microseconds before it sleeps (waking a sleeping
 * process costs tens of microseconds on a virtual machine; an answer often
 * comes sooner), bounded so that an idle waiter does not burn a core.
 * Timeouts are relative milliseconds on CLOCK_MONOTONIC.
 *
 * Caveats.  A condition must stay at the address where it was initialized,
 * in every process that uses it.  Destroying one somebody waits on leaves
 * the waiter asleep until its timeout (for ever without one).  A wait may
 * return 0 without a signal, and one signal may wake more than one waiter:
 * recheck the predicate.
 */
#ifndef MCORE_COND_H
#define MCORE_COND_H

#include <stdint.h>
#include "mcore/mutex.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A condition variable: opaque bytes of a fixed size, embeddable in
 *  records.  Initialize in place with mc_cond_init(); never copy it. */
typedef struct mc_cond {
    union { /* 8-aligned in C and C++ alike (no _Alignas) */
        unsigned char opaque_[16];
        uint64_t align_;
    };
} mc_cond;

/** @brief Initialize a condition variable in place.
 * @param[out] c where it lives
 * @return 0, or
 *   - MC_EINVAL c is NULL */
int mc_cond_init(mc_cond *c);

/** @brief Release m, sleep until signalled, relock m.
 *
 * May return 0 without a signal: recheck the predicate.
 * @param[in] c an initialized condition
 * @param[in] m a mutex the caller holds (a recursive one exactly once)
 * @return 0 (m held), or
 *   - MC_EOWNERDEAD woken; m is held, but its previous holder died while
 *                   the caller slept (see mutex.h)
 *   - MC_EPOISONED  woken, but m is poisoned: *not* held
 *   - MC_ESTATE     the caller does not hold m (nothing done)
 *   - MC_EINVAL     c or m is NULL, not initialized, destroyed or a copy,
 *                   or m is recursive and held more than once (nothing
 *                   done)
 *   - MC_ESYS       relocking m failed otherwise (not held; the detail
 *                   names the error)
 *   - MC_ELOST      in a session's master only: the session server ended
 *                   (killed), and every worker with it, while the master
 *                   slept; m is *not* held.  The master's waits sleep in
 *                   slices of 200 ms to notice it. */
int mc_cond_wait(mc_cond *c, mc_mutex *m);

/** @brief mc_cond_wait for at most timeout_ms milliseconds.
 * @param[in] c          an initialized condition
 * @param[in] m          a mutex the caller holds
 * @param[in] timeout_ms relative timeout, >= 0
 * @return 0 (woken, m held), or
 *   - MC_ETIMEDOUT  no wake-up within timeout_ms; m is held again
 *   - MC_EOWNERDEAD, MC_EPOISONED, MC_ESTATE, MC_ESYS, MC_ELOST as for
 *                   mc_cond_wait
 *   - MC_EINVAL     as for mc_cond_wait, or timeout_ms < 0 */
int mc_cond_timedwait(mc_cond *c, mc_mutex *m, int64_t timeout_ms);

/** @brief Wake the longest-waiting thread, if any.  The caller need not
 *  hold the mutex (but holding it while changing the predicate is what
 *  makes the pattern above correct).
 * @param[in] c an initialized condition
 * @return 0, or
 *   - MC_EINVAL c is NULL, not initialized, destroyed, or a copy */
int mc_cond_signal(mc_cond *c);

/** @brief Wake every waiting thread.
 * @param[in] c an initialized condition
 * @return 0, or
 *   - MC_EINVAL c is NULL, not initialized, destroyed, or a copy */
int mc_cond_broadcast(mc_cond *c);

/** @brief Destroy a condition nobody waits for.  Afterwards every call but
 *  mc_cond_init says MC_EINVAL.
 * @param[in] c the condition
 * @return 0, or
 *   - MC_EINVAL c is NULL, not initialized, already destroyed, or a copy */
int mc_cond_destroy(mc_cond *c);

#ifdef __cplusplus
}
#endif
#endif
