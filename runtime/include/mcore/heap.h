/* mcore/heap.h: shared heaps of typed values, with a garbage collector.
 *
 * A heap lives in a pool and holds values of mc_types (type.h) reachable
 * from one root value.  It takes chunks from the pool as it grows and gives
 * wholly free chunks back.  The collector is a non-moving mark-sweep with an
 * explicit mark stack: it runs when allocation since the last collection
 * passes the live size after it (so about half the heap is free), and on
 * demand.  Roots: the root value, and values pinned by a running mutation.
 *
 * Mutation happens between mc_heap_begin and mc_heap_commit (the heap's
 * lock is held: a robust, process-shared mutex; a worker that dies inside
 * does not block the others).  Inside, mc_heap_add deep-copies a process-
 * local value into the heap; the copy is *not* a root: attach it to a value
 * reachable from the root, or mc_heap_pin it, before the next mc_heap_add,
 * which may collect.  Only pointers to values of the same heap may be stored
 * in heap values.
 *
 * MC_DEBUG=1 in the environment: freed memory is poisoned, and every header
 * and pointer of the heap is verified after each collection (abort with a
 * message on corruption).
 */
#ifndef MCORE_HEAP_H
#define MCORE_HEAP_H

#include <stddef.h>
#include <stdint.h>
#include "mcore/pool.h"
#include "mcore/type.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mc_heap mc_heap;  /**< lives in its pool: same address everywhere */
typedef struct mc_mut mc_mut;    /**< a running mutation (process-local) */

typedef struct mc_heap_stats {
    size_t live_bytes;     /**< after the last collection, plus allocated since */
    size_t heap_bytes;     /**< bytes of chunks taken from the pool */
    size_t chunks;
    uint64_t collections;
    double last_pause_ms;  /**< duration of the last collection */
} mc_heap_stats;

/** Create a heap in pool whose root is a deep copy of root_init (a local
 *  value of root_type).
 *  @return 0, MC_EINVAL (NULL argument), MC_ENOMEM (pool full), or an error
 *          of the type's copy routine */
int mc_heap_create(mc_pool *pool, const mc_type *root_type,
                   const void *root_init, mc_heap **heap);

/** Free the heap and all its values; its chunks go back to the pool.  No
 *  process may use it afterwards. */
int mc_heap_destroy(mc_heap *heap);

/** Start a mutation: takes the heap's lock.
 *  @return 0, or MC_EOWNERDEAD: the previous holder died inside a
 *          mutation; the lock is held all the same and the heap's own
 *          metadata is intact (what it had half-allocated is reclaimed by
 *          the next collection); the user's data may be half-updated. */
int mc_heap_begin(mc_heap *heap, mc_mut **mut);

/** End a mutation: unpins what it pinned, releases the lock. */
int mc_heap_commit(mc_mut *mut);

/** begin; fn(mut, root, ctx); commit.  Returns fn's return value (or the
 *  error of begin; MC_EOWNERDEAD from begin is not an error here). */
int mc_heap_modify(mc_heap *heap,
                   int (*fn)(mc_mut *mut, void *root, void *ctx), void *ctx);

/** The root value (the mutation's view: use it to attach new values). */
void *mc_heap_mut_root(mc_mut *mut);

/** Deep-copy a local value of type t into the heap; *shared receives the
 *  copy.  May run a collection first.
 *  @return 0, MC_EINVAL, MC_ENOMEM (the heap is left as it was) */
int mc_heap_add(mc_mut *mut, const mc_type *t, const void *value,
                void **shared);

/** Allocate count zeroed elements of t in the heap (like mc_heap_add of
 *  zeroes; sync fields are initialized).  May run a collection first. */
int mc_heap_alloc(mc_mut *mut, const mc_type *t, size_t count, void **shared);

/** Keep a heap value alive until the mutation commits. */
int mc_heap_pin(mc_mut *mut, const void *shared);

/** The root value, read without any protection: valid only while nobody
 *  mutates the heap (unsafe by design, like Netmcore_heap.root). */
void *mc_heap_root_ro(mc_heap *heap);

/** A local deep copy of the root (free with mc_local_free). */
int mc_heap_root_c(mc_heap *heap, void **copy);

/** Run fn on the root while the heap guarantees it is not freed. */
int mc_heap_root_p(mc_heap *heap, int (*fn)(const void *root, void *ctx),
                   void *ctx);

/** Collect now. */
int mc_heap_gc(mc_heap *heap);

int mc_heap_stats_get(mc_heap *heap, mc_heap_stats *st);

/** A heap's descriptor: plain bytes, to pass a heap to another process
 *  (a heap itself is never copied). */
typedef struct mc_heap_descr {
    uint64_t magic;
    uint64_t type_id;  /**< the root type's id */
    int64_t pool;      /**< pool resource id */
    uint64_t offset;   /**< of the heap in its pool */
    uint64_t gen;      /**< the heap's generation: stale descriptors fail */
} mc_heap_descr;

int mc_heap_descr_of(mc_heap *heap, mc_heap_descr *d);

/** Find the heap a descriptor names, mapping its pool if needed (the
 *  caller then holds the pool; on a refusal, holds as before: a hold the
 *  lookup took is given back).
 *  @return 0, MC_ETYPE (another root type than root_type), or MC_EINVAL
 *          (unknown, stale or garbage descriptor: never a crash) */
int mc_heap_of_descr(const mc_heap_descr *d, const mc_type *root_type,
                     mc_heap **heap);

/** The heap's pool, and the root's type. */
mc_pool *mc_heap_pool(const mc_heap *heap);
const mc_type *mc_heap_root_type(const mc_heap *heap);

#ifdef __cplusplus
}
#endif
#endif
