/* mcore/mutex.h: process-shared, robust mutexes (Netmcore_mutex).
 *
 * An mc_mutex is an in-place object: it works where it was initialized, in
 * memory that every user maps *at the same address* (a heap value, a
 * container header, a pool chunk, a MAP_SHARED mapping inherited across
 * fork), and it is never copied or moved.  Its bytes are not a handle: a
 * copy of them is not the same lock.  The mutex records its own address
 * when it is initialized and every call checks it, so a copy (memcpy,
 * struct assignment, a moved record) says MC_EINVAL, and so do all-zero
 * bytes (what the copier leaves in a process-local copy of a record, see
 * mcore/sync.h), instead of silently locking a private lock (Netmcore's
 * limit 14).  mc_mutex_init on the copy makes it a new, separate mutex.
 *
 * Kinds.  The owner is the thread that locked it (for a single-threaded
 * worker: the process).
 *   MC_MUTEX_NORMAL      no deadlock detection: relocking by the owner
 *                        blocks forever; fastest.
 *   MC_MUTEX_ERRORCHECK  relocking by the owner fails (MC_ESTATE).
 *   MC_MUTEX_RECURSIVE   the owner may relock; it stays locked until it has
 *                        been unlocked as many times.
 * Every kind refuses an unlock by a thread that does not hold it
 * (MC_ESTATE), and every kind is robust.
 *
 * Owner death.  When the holder dies (any signal, kill -9 included, or
 * thread exit) the kernel releases the lock and the next locker -- one
 * that was already blocked, or a later one -- acquires it with
 * MC_EOWNERDEAD.  That locker holds the mutex and must decide about the
 * state it protects, which may be half-updated:
 *   - repair it, then call mc_mutex_consistent() and go on (later lockers
 *     see a normal mutex), or
 *   - unlock without mc_mutex_consistent(): the mutex is poisoned, and
 *     every later lock, trylock and timedlock fails with MC_EPOISONED
 *     without acquiring it, until somebody mc_mutex_destroy()s and
 *     mc_mutex_init()s it again.
 * If the locker that got MC_EOWNERDEAD dies too, the next one gets
 * MC_EOWNERDEAD again.  (LMDB's mdb_mutex_failed is the model.)
 *
 * Built on glibc's robust, process-shared pthread mutexes: the kernel's
 * robust-futex list is owned by glibc, so only its mutexes can be robust.
 * Lock and unlock add one check of the address word (one load and
 * compare: bench/sync's sync.mutex_uncontended shows no difference).
 *
 * Timeouts are relative, in milliseconds, measured on CLOCK_MONOTONIC (a
 * change of the wall clock does not stretch or cut them).
 *
 * Caveats.  A mutex must stay at the address where it was initialized, in
 * every process that uses it (pools and heaps guarantee it; a mapping of
 * the same file at another address does not).  Initializing or destroying
 * a mutex somebody holds or waits for corrupts it.  The owner is a thread:
 * unlocking from another thread is refused.  A heap value is freed by the
 * collector without destroying its mutexes (sync.h): do not drop a record
 * whose mutex is held.
 */
#ifndef MCORE_MUTEX_H
#define MCORE_MUTEX_H

#include <stdint.h>
#include "mcore/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mc_mutex_kind {
    MC_MUTEX_NORMAL = 0,
    MC_MUTEX_ERRORCHECK = 1,
    MC_MUTEX_RECURSIVE = 2
} mc_mutex_kind;

/** A mutex: opaque bytes of a fixed size, so that records (and mcidl's
 *  generated structs) can embed it.  Initialize in place with
 *  mc_mutex_init(); never copy it. */
typedef struct mc_mutex {
    union { /* 8-aligned in C and C++ alike (no _Alignas) */
        unsigned char opaque_[64];
        uint64_t align_;
    };
} mc_mutex;

/** @brief Initialize a mutex in place, unlocked.
 *
 * The memory must not hold a live mutex (destroy it first): initializing a
 * mutex somebody holds or waits for corrupts it.
 * @param[out] m   where the mutex lives (shared memory, for use by several
 *                 processes)
 * @param[in] kind MC_MUTEX_NORMAL, MC_MUTEX_ERRORCHECK or MC_MUTEX_RECURSIVE
 * @return 0, or
 *   - MC_EINVAL m is NULL or kind is unknown
 *   - MC_ESYS   pthread_mutex_init failed (the detail says why) */
int mc_mutex_init(mc_mutex *m, mc_mutex_kind kind);

/** @brief Lock, blocking until the mutex is free.  A signal handler does
 *  not interrupt the wait.
 * @param[in] m an initialized mutex
 * @return 0 (held), or
 *   - MC_EOWNERDEAD the previous holder died; the mutex *is held* by the
 *                   caller, who must call mc_mutex_consistent() or leave it
 *                   poisoned by unlocking (see above)
 *   - MC_EPOISONED  a holder unlocked it after owner death without marking
 *                   it consistent; not held
 *   - MC_ESTATE     error-checking kind: the caller already holds it
 *   - MC_E2BIG      recursive kind: the nesting count would overflow
 *   - MC_EINVAL     m is NULL, not initialized, destroyed, or a copy
 *   - MC_ESYS       another pthread error (the detail names it) */
int mc_mutex_lock(mc_mutex *m);

/** @brief Lock if that needs no waiting.
 * @param[in] m an initialized mutex
 * @return 0 (held), MC_EOWNERDEAD (held, as for mc_mutex_lock), or
 *   - MC_EAGAIN    another thread holds it (or the caller itself, for the
 *                  normal kind); not held
 *   - MC_ESTATE    error-checking kind: the caller already holds it
 *   - MC_EPOISONED, MC_E2BIG, MC_EINVAL, MC_ESYS as for mc_mutex_lock */
int mc_mutex_trylock(mc_mutex *m);

/** @brief Lock, waiting at most timeout_ms milliseconds.
 * @param[in] m          an initialized mutex
 * @param[in] timeout_ms relative timeout, >= 0 (0: do not wait)
 * @return 0 (held), MC_EOWNERDEAD (held, as for mc_mutex_lock), or
 *   - MC_ETIMEDOUT the mutex stayed locked for timeout_ms; not held
 *   - MC_EPOISONED, MC_ESTATE, MC_E2BIG, MC_ESYS as for mc_mutex_lock
 *   - MC_EINVAL    as for mc_mutex_lock, or timeout_ms < 0 */
int mc_mutex_timedlock(mc_mutex *m, int64_t timeout_ms);

/** @brief Unlock (once, for the recursive kind).
 *
 * Unlocking a mutex acquired with MC_EOWNERDEAD, without calling
 * mc_mutex_consistent() first, poisons it.
 * @param[in] m a mutex the calling thread holds
 * @return 0, or
 *   - MC_ESTATE the calling thread does not hold it (any kind)
 *   - MC_EINVAL m is NULL, not initialized, destroyed, or a copy
 *   - MC_ESYS   another pthread error (the detail names it) */
int mc_mutex_unlock(mc_mutex *m);

/** @brief Declare the state protected by a mutex repaired, after
 *  acquiring it with MC_EOWNERDEAD.  The caller still holds it.
 * @param[in] m a mutex the caller acquired with MC_EOWNERDEAD
 * @return 0, or
 *   - MC_ESTATE the mutex is not in the owner-died state, or the caller
 *               does not hold it
 *   - MC_EINVAL m is NULL, not initialized, destroyed, or a copy */
int mc_mutex_consistent(mc_mutex *m);

/** @brief Destroy an unlocked (or poisoned) mutex.  Afterwards every call
 *  but mc_mutex_init says MC_EINVAL; mc_mutex_init makes it usable again.
 *
 * Nobody may wait for it.  A mutex whose holder died is destroyed as well.
 * @param[in] m the mutex
 * @return 0, or
 *   - MC_EBUSY  a live thread (the caller included) holds it; left as it
 *               was
 *   - MC_EINVAL m is NULL, not initialized, already destroyed, or a copy
 *   - MC_ESYS   probing it (trylock) failed otherwise; left as it was */
int mc_mutex_destroy(mc_mutex *m);

#ifdef __cplusplus
}
#endif
#endif
