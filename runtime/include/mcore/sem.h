/* mcore/sem.h: process-shared counting semaphores (Netmcore_sem).
 *
 * An mc_sem is an in-place object like mc_mutex (mutex.h): it lives where
 * it was initialized, in memory every user maps at the same address, and
 * is never copied: a copy (memcpy, struct assignment) and all-zero bytes
 * are "not a semaphore" (MC_EINVAL), as it records its own address.  It is
 * a POSIX sem_t with pshared = 1 and that address word: glibc's is
 * futex-based, and a post or a wait that finds a token is one atomic
 * operation with no system call.
 *
 * A waiter that dies takes nothing with it: the count is only changed by a
 * completed wait or post.  Waits are restarted after signal handlers, as in
 * Netmcore_sem.  Timeouts are relative milliseconds on CLOCK_MONOTONIC.
 *
 * (These are unnamed semaphores in shared memory.  Named semaphores shared
 * with unrelated processes are resources: mc_named_sem_create, resource.h.)
 *
 * Caveats.  A semaphore must stay at the address where it was initialized,
 * in every process that uses it.  Initializing or destroying one somebody
 * waits for corrupts it.  A waiter that dies leaves the sleeper count one
 * too high: later posts cost a futex wake each, no token is lost.
 */
#ifndef MCORE_SEM_H
#define MCORE_SEM_H

#include <stdint.h>
#include "mcore/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A semaphore: opaque bytes of a fixed size, embeddable in records.
 *  Initialize in place with mc_sem_init(); never copy it. */
typedef struct mc_sem {
    union { /* 8-aligned in C and C++ alike (no _Alignas) */
        unsigned char opaque_[48];
        uint64_t align_;
    };
} mc_sem;

/** The largest value a semaphore can count to. */
#define MC_SEM_VALUE_MAX 2147483647

/** @brief Initialize a semaphore in place with a count of value.
 *
 * The memory must not hold a live semaphore somebody waits for.
 * @param[out] s     where the semaphore lives
 * @param[in]  value initial count, 0 to MC_SEM_VALUE_MAX
 * @return 0, or
 *   - MC_EINVAL s is NULL or value is out of range
 *   - MC_ESYS   sem_init failed */
int mc_sem_init(mc_sem *s, int64_t value);

/** @brief Add one to the count, waking one waiter if any.
 * @param[in] s an initialized semaphore
 * @return 0, or
 *   - MC_E2BIG  the count is MC_SEM_VALUE_MAX already (unchanged)
 *   - MC_EINVAL s is NULL, not initialized, destroyed, or a copy
 *   - MC_ESYS   sem_post failed otherwise (the detail says) */
int mc_sem_post(mc_sem *s);

/** @brief Take one from the count, blocking while it is 0.
 * @param[in] s an initialized semaphore
 * @return 0, or
 *   - MC_EINVAL s is NULL, not initialized, destroyed, or a copy
 *   - MC_ELOST  in the master: the session server died (its workers too)
 *   - MC_ESYS   the wait failed for another reason (the detail says) */
int mc_sem_wait(mc_sem *s);

/** @brief Take one from the count if it is above 0, without blocking.
 * @param[in] s an initialized semaphore
 * @return 0, or
 *   - MC_EAGAIN the count is 0 (nothing taken)
 *   - MC_EINVAL s is NULL, not initialized, destroyed, or a copy
 *   - MC_ESYS   sem_trywait failed otherwise */
int mc_sem_trywait(mc_sem *s);

/** @brief Take one from the count, waiting at most timeout_ms for it to
 *  become positive.
 * @param[in] s          an initialized semaphore
 * @param[in] timeout_ms relative timeout, >= 0 (0 behaves as trywait but
 *                       says MC_ETIMEDOUT)
 * @return 0, or
 *   - MC_ETIMEDOUT the count stayed 0 for timeout_ms (nothing taken)
 *   - MC_ELOST     in the master: the session server died (its workers too)
 *   - MC_EINVAL    s is NULL, not initialized, destroyed or a copy, or
 *                  timeout_ms < 0
 *   - MC_ESYS      the wait failed for another reason */
int mc_sem_timedwait(mc_sem *s, int64_t timeout_ms);

/** @brief The current count (a snapshot: it may change at once).
 * @param[in]  s     an initialized semaphore
 * @param[out] value the count (never negative: waiters are not counted)
 * @return 0, or
 *   - MC_EINVAL s or value is NULL, or s is not initialized, destroyed,
 *               or a copy
 *   - MC_ESYS   sem_getvalue failed */
int mc_sem_getvalue(mc_sem *s, int64_t *value);

/** @brief Destroy a semaphore nobody waits for.  Afterwards every call but
 *  mc_sem_init says MC_EINVAL.
 * @param[in] s the semaphore
 * @return 0, or
 *   - MC_EINVAL s is NULL, not initialized, already destroyed, or a copy */
int mc_sem_destroy(mc_sem *s);

#ifdef __cplusplus
}
#endif
#endif
