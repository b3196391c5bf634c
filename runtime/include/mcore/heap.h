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
 * Readers (mc_heap_root_c, mc_heap_root_p) take no lock: each thread holds
 * one reader slot per heap it has read (256 slots per heap), and the
 * collector waits for readers that started before it.  A thread that finds
 * no free slot (more than 256 live threads have read the heap) reads under
 * the heap's lock, or, inside its own mutation of that heap, under the
 * lock it already holds.
 *
 * MC_DEBUG=1 in the environment: freed memory is poisoned, and every header
 * and pointer of the heap is verified after each collection (abort with a
 * message on corruption).
 *
 * Caveats.  A mutation belongs to the thread that began it: add, alloc,
 * pin and commit it there, and begin at most one per heap per thread
 * (MC_ESTATE otherwise).  A heap value stays valid only while it is
 * reachable from the root or pinned: pointers obtained outside a mutation
 * or a _p callback (mc_heap_root_ro) may be freed by the next collection.
 * Destroying a heap while another process reads or mutates it is not
 * detected.  A heap lives in its pool: it is gone when the pool is freed.
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
 *  value of root_type).  Any process holding the pool may call it.
 *  @return 0 with *heap set, or (nothing is left in the pool)
 *   - MC_EINVAL a NULL argument; root_type aligned above 16 bytes; an error
 *               of the type's copy routine or pointer table
 *   - MC_ENOMEM the pool cannot give the header or a chunk; no local memory
 *               for the copy's bookkeeping
 *   - MC_ESYS   the heap's mutex could not be made, or the pool's lock
 *               failed
 *   - an error of the type's copy routine or init_sync */
int mc_heap_create(mc_pool *pool, const mc_type *root_type,
                   const void *root_init, mc_heap **heap);

/** Free the heap and all its values; its chunks go back to the pool.  No
 *  process may use it afterwards (not detected in other processes; in this
 *  one, later calls say MC_EINVAL and mc_heap_root_ro gives NULL while the
 *  pool's memory is not reused).
 *  @return 0, or
 *   - MC_EINVAL heap is NULL, or not a heap (destroyed already)
 *   - MC_ESTATE this thread has a mutation of the heap open: commit it
 *               first (nothing done) */
int mc_heap_destroy(mc_heap *heap);

/** Start a mutation: takes the heap's lock (blocking while another thread
 *  or process mutates it).  *mut is set on 0 and on MC_EOWNERDEAD only.
 *  @return 0, or
 *   - MC_EOWNERDEAD the previous holder died inside a mutation; the lock
 *                   is held all the same and the heap's own metadata is
 *                   intact (what it had half-allocated is reclaimed by the
 *                   next collection); the user's data may be half-updated
 *   - MC_ESTATE     this thread already mutates the heap (a second begin
 *                   would deadlock)
 *   - MC_EINVAL     heap or mut is NULL, or heap is not a heap (destroyed)
 *   - MC_ENOMEM     no local memory for the mutation
 *   - MC_ESYS       the lock failed (the detail says why; a lock left
 *                   unrecoverable says so) */
int mc_heap_begin(mc_heap *heap, mc_mut **mut);

/** End a mutation: unpins what it pinned, releases the lock, frees mut.
 *  Call it in the thread that began the mutation, once.
 *  @return 0, or
 *   - MC_EINVAL mut is NULL
 *   - MC_ESTATE mut is not a mutation this thread has open: committed
 *               already, or begun by another thread (nothing done).  A
 *               committed mut whose memory a later mc_heap_begin of this
 *               thread reused cannot be told from that new mutation. */
int mc_heap_commit(mc_mut *mut);

/** begin; fn(mut, root, ctx); commit.  mut is valid only inside fn (do
 *  not commit it).
 *  @return fn's return value, or an error of mc_heap_begin (MC_ESTATE,
 *          MC_EINVAL, MC_ESYS; MC_EINVAL also for a NULL fn).
 *          MC_EOWNERDEAD from begin is not an error here: fn runs. */
int mc_heap_modify(mc_heap *heap,
                   int (*fn)(mc_mut *mut, void *root, void *ctx), void *ctx);

/** The root value (the mutation's view: use it to attach new values), or
 *  NULL if mut is not a mutation this thread has open. */
void *mc_heap_mut_root(mc_mut *mut);

/** Deep-copy a local value of type t into the heap; *shared receives the
 *  copy.  May run a collection first (roots: the root and the pins).
 *  @return 0, or (the heap's values are left as they were; what was
 *          copied is garbage)
 *   - MC_EINVAL t, value or shared is NULL; a type aligned above 16; an
 *               error of a copy routine or pointer table
 *   - MC_ESTATE mut is not a mutation this thread has open (committed)
 *   - MC_ENOMEM the pool has no chunk left even after a collection; the
 *               heap's type table is full (511 types); a count too large;
 *               no local memory for the copy's bookkeeping
 *   - an error of a type's copy routine or init_sync */
int mc_heap_add(mc_mut *mut, const mc_type *t, const void *value,
                void **shared);

/** Allocate count zeroed elements of t in the heap (like mc_heap_add of
 *  zeroes; sync fields are initialized).  May run a collection first.
 *  @return 0 with *shared set, or
 *   - MC_EINVAL t or shared is NULL, or t is aligned above 16
 *   - MC_ESTATE mut is not a mutation this thread has open
 *   - MC_ENOMEM as for mc_heap_add
 *   - an error of t's init_sync (the block is garbage) */
int mc_heap_alloc(mc_mut *mut, const mc_type *t, size_t count, void **shared);

/** Keep a heap value alive until the mutation commits (a collection inside
 *  the mutation traces it as a root).
 *  @param shared the start of a value of this heap (as mc_heap_add gave)
 *  @return 0, or
 *   - MC_EINVAL shared is NULL or not an allocated heap value
 *   - MC_ESTATE mut is not a mutation this thread has open
 *   - MC_ENOMEM no local memory for the pin list */
int mc_heap_pin(mc_mut *mut, const void *shared);

/** The root value, read without any protection: valid only while nobody
 *  mutates the heap (unsafe by design, like Netmcore_heap.root). */
void *mc_heap_root_ro(mc_heap *heap);

/** A local deep copy of the root (free with mc_local_free).  Takes no lock
 *  (see above), so it may be called inside a mutation of the heap.
 *  @return 0 with *copy set, or
 *   - MC_EINVAL heap or copy is NULL, heap is destroyed, or an error of a
 *               copy routine
 *   - MC_ENOMEM no local memory (nothing left allocated)
 *   - MC_ESYS   no reader slot was free and the lock failed */
int mc_heap_root_c(mc_heap *heap, void **copy);

/** Run fn on the root while the heap guarantees it is not freed.  The root
 *  and what it reaches are valid until fn returns, not after.
 *  @return fn's return value, or
 *   - MC_EINVAL heap or fn is NULL, or heap is destroyed
 *   - MC_ESYS   no reader slot was free and the lock failed */
int mc_heap_root_p(mc_heap *heap, int (*fn)(const void *root, void *ctx),
                   void *ctx);

/** Collect now.  Inside a mutation of the heap by this thread, it
 *  collects under that mutation's lock, with its pins as roots; otherwise
 *  it takes the lock (MC_EOWNERDEAD from it is handled: it collects).
 *  @return 0, or
 *   - MC_EINVAL heap is NULL or destroyed
 *   - MC_ENOMEM no local memory for the mark stack (nothing freed)
 *   - MC_ESYS   the lock failed */
int mc_heap_gc(mc_heap *heap);

/** Counters of the heap, read without the lock: each is exact, the set may
 *  straddle a mutation.
 *  @return 0, or MC_EINVAL (heap or st NULL, heap destroyed) */
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

/** The heap's descriptor.
 *  @return 0 with *d set, or MC_EINVAL (heap or d NULL, heap destroyed) */
int mc_heap_descr_of(mc_heap *heap, mc_heap_descr *d);

/** Find the heap a descriptor names, mapping its pool if needed (the
 *  caller then holds the pool).
 *  @return 0, MC_ETYPE (another root type than root_type), or MC_EINVAL
 *          (unknown, stale or garbage descriptor: never a crash) */
int mc_heap_of_descr(const mc_heap_descr *d, const mc_type *root_type,
                     mc_heap **heap);

/** The heap's pool, and the root's type (NULL for a NULL heap; the type is
 *  NULL for a destroyed one too). */
mc_pool *mc_heap_pool(const mc_heap *heap);
const mc_type *mc_heap_root_type(const mc_heap *heap);

#ifdef __cplusplus
}
#endif
#endif
