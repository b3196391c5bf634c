/* mcore/sref.h: shared references (Netmcore_ref): one mutable variable
 * holding a value of one mc_type, in a heap of its own.
 *
 * Reads come in three forms (heap.h's access discipline):
 *   _ro  the shared value as it is: valid only while nobody assigns (unsafe
 *        by design; for read-only phases or under your own lock);
 *   _c   a process-local deep copy (free with mc_local_free);
 *   _p   the shared value, kept alive while a callback runs.
 * None of them takes the heap's lock, so they may be called inside a
 * mutation of the sref's heap without deadlock.
 *
 * An sref is passed to other processes by descriptor: plain bytes, carrying
 * the value's type id, checked on lookup.
 *
 * Caveats.  An sref is a heap (heap.h's caveats apply: reader slots, one
 * mutation per heap per thread).  The value's type is fixed at creation:
 * mc_sref_assign takes a value of that type, unchecked.  A value read with
 * _ro, or a pointer kept from a _p callback, may be freed by the collection
 * that follows the next assignment.  A destroyed sref is refused
 * (MC_EINVAL, NULL) while its header page is not reused; no process may use
 * it after mc_sref_destroy.
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
 *  @return 0, or
 *   - MC_EINVAL a NULL argument, or a type with an alignment above 16
 *   - MC_ENOMEM the pool is full, or more than 510 types in the value
 *   - MC_ESYS   the heap's lock could not be made
 *   - an error of a copy routine or init_sync of t */
int mc_sref_create(mc_pool *pool, const mc_type *t, const void *init,
                   mc_sref **sref);

/** Free the sref and its heap (nobody may use it afterwards).
 *  @return 0, or
 *   - MC_EINVAL sref is NULL or already destroyed
 *   - MC_ESTATE the calling thread mutates its heap (mc_heap_modify) */
int mc_sref_destroy(mc_sref *sref);

/** Replace the value with a deep copy of a local value (of the sref's
 *  type), under the heap's lock.  Pointers of value to values already in
 *  the sref (the current value, read with mc_sref_deref_ro, or what it
 *  reaches) are linked, not copied (heap.h, "Linking"): a list can grow by
 *  one new node per assignment; they must still be reachable from the
 *  current value, which the assignment replaces only after the copy.  A
 *  previous holder that died inside a mutation (MC_EOWNERDEAD) is not an
 *  error: the assignment happens.
 *  @return 0, or
 *   - MC_EINVAL sref or value is NULL, or sref is destroyed
 *   - MC_ESTATE the calling thread already mutates the sref's heap
 *   - MC_ENOMEM the pool is full even after a collection, or no process
 *               memory (the old value stays)
 *   - MC_ESYS   the lock failed
 *   - an error of a copy routine of the type (the old value stays) */
int mc_sref_assign(mc_sref *sref, const void *value);

/** The shared value as it is (see above: unsafe); NULL if sref is NULL or
 *  destroyed. */
const void *mc_sref_deref_ro(mc_sref *sref);

/** A local deep copy of the value; free with mc_local_free(*copy).
 *  @return 0, or
 *   - MC_EINVAL sref or copy is NULL, or sref is destroyed
 *   - MC_ENOMEM no process memory (*copy unchanged)
 *   - MC_ESYS   the lock failed, when no reader slot was free (heap.h)
 *   - an error of a copy routine of the type */
int mc_sref_deref_c(mc_sref *sref, void **copy);

/** fn(value, ctx) with the value kept alive while fn runs.
 *  @return fn's result, or
 *   - MC_EINVAL sref or fn is NULL, or sref is destroyed
 *   - MC_ESYS   the lock failed, when no reader slot was free (heap.h) */
int mc_sref_deref_p(mc_sref *sref, int (*fn)(const void *value, void *ctx),
                    void *ctx);

/** The sref's heap (for mc_heap_modify of the value in place; inside, the
 *  value is *(void **)mc_heap_mut_root(mut)). */
mc_heap *mc_sref_heap(mc_sref *sref);

/** The value's type; NULL if sref is destroyed. */
const mc_type *mc_sref_type(const mc_sref *sref);

/** A descriptor: plain bytes, valid in every process of the session. */
typedef struct mc_sref_descr {
    uint64_t magic;
    uint64_t type_id;  /**< the value type's id */
    int64_t pool;      /**< pool resource id */
    uint64_t offset;   /**< of the heap in its pool */
    uint64_t gen;      /**< the heap's generation: stale descriptors fail */
} mc_sref_descr;

/** The descriptor of an sref.
 *  @return 0, or
 *   - MC_EINVAL sref or d is NULL, or sref is destroyed */
int mc_sref_descr_of(const mc_sref *sref, mc_sref_descr *d);

/** Find the sref a descriptor names (mapping its pool if needed; the
 *  caller then holds the pool; on a refusal, holds as before: a hold the
 *  lookup took is given back).
 *  @return 0, or
 *   - MC_ETYPE  the descriptor is of another value type than t
 *   - MC_EINVAL unknown, stale or garbage descriptor (never a crash) */
int mc_sref_of_descr(const mc_sref_descr *d, const mc_type *t,
                     mc_sref **sref);

#ifdef __cplusplus
}
#endif
#endif
