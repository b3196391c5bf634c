/* mcore/sref.h: shared references (Netmcore_ref): one mutable variable
 * holding a value of one mc_type, in a heap of its own.
 *
 * Reads come in three forms (heap.h's access discipline):
 *   _ro  the shared value as it is: valid only while nobody assigns (unsafe
 *        by design; for read-only phases or under your own lock);
 *   _c   a process-local deep copy (free with mc_local_free);
 *   _p   the shared value, kept alive while a callback runs.
 * None of them waits for the heap's lock while the heap has a reader slot
 * for the calling thread (heap.h: 256 threads at once), and none takes it
 * inside the calling thread's own mutation of the sref's heap: they may be
 * called there without deadlock.
 *
 * An sref is passed to other processes by descriptor: plain bytes, carrying
 * the value's type id, checked on lookup.
 *
 * Caveats.  The value an assignment replaces is freed by a later
 * collection: a pointer from _ro is valid only until the next assignment
 * (or collection), one from _p only inside the callback.  Destroying an
 * sref that another process still uses is not detected there.  An sref
 * lives in its pool's memory: it is gone when the pool is freed.
 */
#ifndef MCORE_SREF_H
#define MCORE_SREF_H

#include <stdint.h>
#include "mcore/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mc_sref mc_sref; /**< same address in every process */

/** Create an sref in pool holding a deep copy of init (a local value of t).
 *  @return 0 with *sref set, or the errors of mc_heap_create:
 *   - MC_EINVAL a NULL argument, t aligned above 16, a copy routine's
 *               error
 *   - MC_ENOMEM the pool is full; no local memory
 *   - MC_ESYS   the heap's mutex could not be made
 *   - an error of t's copy routine or init_sync */
int mc_sref_create(mc_pool *pool, const mc_type *t, const void *init,
                   mc_sref **sref);

/** Free the sref and its heap.
 *  @return 0, or
 *   - MC_EINVAL sref is NULL or destroyed already
 *   - MC_ESTATE this thread is mutating the sref's heap (nothing done) */
int mc_sref_destroy(mc_sref *sref);

/** Replace the value with a deep copy of a local value (of the sref's
 *  type), under the heap's lock.  A previous holder's death inside a
 *  mutation (MC_EOWNERDEAD) is handled: the assignment happens.
 *  @return 0, or (the old value stays on every error)
 *   - MC_EINVAL sref or value is NULL, sref is destroyed, or a copy
 *               routine's error
 *   - MC_ESTATE this thread is mutating the sref's heap (use the mutation:
 *               mc_heap_add, then store the pointer in the cell)
 *   - MC_ENOMEM the pool is full even after a collection; no local memory
 *   - MC_ESYS   the lock failed
 *   - an error of the type's copy routine or init_sync */
int mc_sref_assign(mc_sref *sref, const void *value);

/** The shared value as it is (see above: unsafe); NULL if sref is NULL or
 *  destroyed. */
const void *mc_sref_deref_ro(mc_sref *sref);

/** A local deep copy of the value; free with mc_local_free(*copy).
 *  @return 0 with *copy set, or
 *   - MC_EINVAL sref or copy is NULL, sref is destroyed, or a copy
 *               routine's error
 *   - MC_ENOMEM no local memory (nothing left allocated)
 *   - MC_ESYS   no reader slot was free and the lock failed */
int mc_sref_deref_c(mc_sref *sref, void **copy);

/** fn(value, ctx) with the value kept alive until fn returns.
 *  @return fn's result, or
 *   - MC_EINVAL sref or fn is NULL, or sref is destroyed
 *   - MC_ESYS   no reader slot was free and the lock failed */
int mc_sref_deref_p(mc_sref *sref, int (*fn)(const void *value, void *ctx),
                    void *ctx);

/** The sref's heap (for mc_heap_modify of the value in place; inside, the
 *  value is *(void **)mc_heap_mut_root(mut)). */
mc_heap *mc_sref_heap(mc_sref *sref);

/** The value's type (NULL if sref is NULL or destroyed). */
const mc_type *mc_sref_type(const mc_sref *sref);

/** A descriptor: plain bytes, valid in every process of the session. */
typedef struct mc_sref_descr {
    uint64_t magic;
    uint64_t type_id;  /**< the value type's id */
    int64_t pool;      /**< pool resource id */
    uint64_t offset;   /**< of the heap in its pool */
    uint64_t gen;      /**< the heap's generation: stale descriptors fail */
} mc_sref_descr;

/** The sref's descriptor.
 *  @return 0 with *d set, or MC_EINVAL (sref or d NULL, sref destroyed) */
int mc_sref_descr_of(const mc_sref *sref, mc_sref_descr *d);

/** Find the sref a descriptor names (mapping its pool if needed; the
 *  caller then holds the pool).
 *  @return 0, or
 *   - MC_ETYPE  the descriptor is of another value type than t
 *   - MC_EINVAL unknown, stale or garbage descriptor (never a crash) */
int mc_sref_of_descr(const mc_sref_descr *d, const mc_type *t,
                     mc_sref **sref);

#ifdef __cplusplus
}
#endif
#endif
