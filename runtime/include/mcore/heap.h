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
 * lock is held: a process-shared lock that the next locker takes over when
 * its holder died, with MC_EOWNERDEAD; a worker that dies inside does not
 * block the others).  Inside, mc_heap_add deep-copies a process-
 * local value into the heap; the copy is *not* a root: attach it to a value
 * reachable from the root, or mc_heap_pin it, before the next mc_heap_add,
 * which may collect.  Only pointers to values of the same heap may be stored
 * in heap values.
 *
 * Linking.  A pointer of the added value (a reference, string or array, at
 * any depth) to a value that already lives in the *same* heap is kept as
 * it is, not copied: a new record that should point at an existing shared
 * one is built locally with that pointer and added (the shared value is not
 * duplicated, and the new record and the old parent see the same value).
 * A pointer to a value of another heap, or to process memory, is copied as
 * before.  The added value itself is always a new block, even when it is a
 * value of the heap (a shallow copy, its pointers linked); to duplicate a
 * heap value deeply, mc_heap_root_c or mc_local_copy it first.  A linked
 * value must be a value's start (type.h's rule for every pointer), and must
 * stay alive until the new value is attached: it is only read by the copy,
 * and the collection mc_heap_add may run first frees what is neither
 * reachable from the root nor pinned.  In a mutation nothing else frees
 * heap values (only the lock holder collects), so a value reachable from
 * the root when the mutation began, and not detached since, or a pinned
 * one, is safe to link.  The same holds for every copy into a heap:
 * mc_sref_assign and the generated add and set wrappers.
 *
 * MC_DEBUG=1 in the environment: freed memory is poisoned, and every header
 * and pointer of the heap is verified after each collection (abort with a
 * message on corruption).
 *
 * Caveats.
 *   - A mutation belongs to the thread that began it: a thread has at most
 *     one open mutation per heap (a second mc_heap_begin says MC_ESTATE),
 *     and an mc_mut used in another thread, or after mc_heap_commit, is
 *     refused (MC_ESTATE) as far as the handle can tell: a committed
 *     mc_mut is freed memory, and a new mutation may reuse its address.
 *   - The copy of mc_heap_add is *not* a root (see above); mc_heap_gc
 *     inside a mutation collects with that mutation's pins only.
 *   - Readers (mc_heap_root_c, _p, and srefs' deref) take no lock: a
 *     thread holds one of the heap's 256 reader slots from its first read
 *     of the heap until it exits (a dead thread's slot is reclaimed).  Once
 *     256 live threads have read a heap, a further reader takes the lock
 *     (waiting for mutations); inside its own mutation of the heap a
 *     thread reads without either.
 *   - A collection waits for the readers that started before it.  A reader
 *     callback may still lock the heap (a mutation, an sref assign, a push
 *     to a queue of the heap): while it waits for that lock (or a queue's
 *     push lock), a collection by the holder does not wait for it, which
 *     would wait for ever, but stops before its sweep: it frees nothing,
 *     returns MC_EAGAIN (mc_heap_gc; an allocation then grows the heap or
 *     says MC_ENOMEM) and counts in mc_heap_stats.skipped.  A later
 *     collection frees the garbage.  Other waits inside a reader callback
 *     are not seen: a callback that waits for an squeue's pop lock, or for
 *     a user mutex, whose holder is collecting this heap deadlocks with it.
 *     Do not wait for such locks inside _p callbacks.
 *   - A destroyed heap is refused (MC_EINVAL) while its header page has
 *     not been reused; no process may use a heap after mc_heap_destroy.
 *   - Pointers into a heap are valid in every process of the session (the
 *     pool is at one address) while the value is reachable; a value read
 *     with mc_heap_root_ro may be freed by the next mutation.
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
    uint64_t skipped;      /**< collections that freed nothing because a
                                reader waited for a lock (see the caveats);
                                not in `collections` */
} mc_heap_stats;

/** Create a heap in pool whose root is a deep copy of root_init (a local
 *  value of root_type).  Any process of the session may create one.
 *  @return 0, or
 *   - MC_EINVAL a NULL argument, or a type of the value with an alignment
 *               above 16 or not a power of two
 *   - MC_ENOMEM the pool cannot give the header or a chunk, more than 511
 *               types in the value, or a count too large
 *   - an error of a copy routine of root_type
 *  Nothing is left in the pool after an error. */
int mc_heap_create(mc_pool *pool, const mc_type *root_type,
                   const void *root_init, mc_heap **heap);

/** Free the heap and all its values; its chunks go back to the pool.  No
 *  process may use it afterwards (nobody may read or mutate it meanwhile).
 *  @return 0, or
 *   - MC_EINVAL heap is NULL, not a heap, or already destroyed
 *   - MC_ESTATE the calling thread has a mutation of it open (commit
 *               first); nothing freed */
int mc_heap_destroy(mc_heap *heap);

/** Start a mutation: takes the heap's lock (waiting for the current
 *  mutator, if any).  *mut is set on 0 and on MC_EOWNERDEAD only.
 *  @return 0, or
 *   - MC_EOWNERDEAD the previous holder died inside a mutation; the lock
 *                   is held all the same (*mut is open) and the heap's own
 *                   metadata is intact (what it had half-allocated is
 *                   reclaimed by the next collection); the user's data may
 *                   be half-updated
 *   - MC_ESTATE     the calling thread already mutates this heap (a second
 *                   lock would deadlock)
 *   - MC_EINVAL     heap or mut is NULL, or heap is not a live heap
 *   - MC_ENOMEM     no process memory for the mutation
 *   - MC_ESYS       the lock failed (the detail names the cause), e.g. a
 *                   dead holder's lock could not be made consistent */
int mc_heap_begin(mc_heap *heap, mc_mut **mut);

/** End a mutation: unpins what it pinned, releases the lock, frees mut.
 *  @return 0, or
 *   - MC_EINVAL mut is NULL
 *   - MC_ESTATE mut is not an open mutation of the calling thread
 *               (committed already, or begun by another thread); nothing
 *               done */
int mc_heap_commit(mc_mut *mut);

/** begin; fn(mut, root, ctx); commit.  mut is valid only while fn runs.
 *  @return fn's return value, or
 *   - MC_EINVAL fn is NULL, or an error of mc_heap_begin (fn not run);
 *               MC_EOWNERDEAD from begin is not one: fn runs, and should
 *               repair what the dead holder half-updated
 *   - MC_ESTATE, MC_ENOMEM, MC_ESYS as mc_heap_begin (fn not run) */
int mc_heap_modify(mc_heap *heap,
                   int (*fn)(mc_mut *mut, void *root, void *ctx), void *ctx);

/** The root value (the mutation's view: use it to attach new values);
 *  NULL if mut is NULL or not an open mutation of the calling thread. */
void *mc_heap_mut_root(mc_mut *mut);

/** Deep-copy a local value of type t into the heap; *shared receives the
 *  copy, which is not a root (see above).  Pointers to values of this heap
 *  are kept, not copied (see "Linking" above: they must be reachable or
 *  pinned).  May run a collection first.
 *  *shared is written only on success, once the copy is complete: it may be
 *  a field of a heap value (a crash before leaves it as it was).
 *  @return 0, or
 *   - MC_EINVAL a NULL argument, a type with an alignment above 16, or a
 *               type description the copier refuses
 *   - MC_ESTATE mut is not an open mutation of the calling thread
 *   - MC_ENOMEM the pool is full even after a collection, the heap's type
 *               table is full (511 types), or no process memory for the
 *               copy's tables (among them the index of the heap's chunks
 *               that tells a value of this heap); what was copied is
 *               garbage (the heap is otherwise as it was)
 *   - an error of a copy routine or init_sync of the value's types */
int mc_heap_add(mc_mut *mut, const mc_type *t, const void *value,
                void **shared);

/** Allocate count zeroed elements of t in the heap (like mc_heap_add of
 *  zeroes; sync fields are initialized).  May run a collection first; the
 *  block is not a root.
 *  @return 0, or
 *   - MC_EINVAL t or shared is NULL, or t's alignment is above 16
 *   - MC_ESTATE mut is not an open mutation of the calling thread
 *   - MC_ENOMEM the pool is full even after a collection, count * size
 *               overflows or passes 2^40 bytes, or the type table is full
 *   - an error of t's init_sync (the block is garbage) */
int mc_heap_alloc(mc_mut *mut, const mc_type *t, size_t count, void **shared);

/** Keep a heap value alive until the mutation commits.
 *  @return 0, or
 *   - MC_EINVAL shared is NULL or is not the start of a live value (its
 *               block header says so; other garbage is not detected)
 *   - MC_ESTATE mut is not an open mutation of the calling thread
 *   - MC_ENOMEM no process memory for the pin list */
int mc_heap_pin(mc_mut *mut, const void *shared);

/** The root value, read without any protection: valid only while nobody
 *  mutates the heap (unsafe by design, like Netmcore_heap.root).  NULL if
 *  heap is NULL or destroyed. */
void *mc_heap_root_ro(mc_heap *heap);

/** A local deep copy of the root (free with mc_local_free).  Takes no lock
 *  (see the caveats for the one case that does).
 *  @return 0, or
 *   - MC_EINVAL heap or copy is NULL, heap is not a live heap, or the
 *               copier refuses a type description
 *   - MC_ENOMEM no process memory for the copy (*copy unchanged)
 *   - MC_ESYS   the lock failed, when no reader slot was free
 *   - an error of a copy routine of the root's types */
int mc_heap_root_c(mc_heap *heap, void **copy);

/** Run fn on the root while the heap guarantees that nothing reachable
 *  from it is freed (a reader slot; see the caveats).  fn must not keep
 *  pointers into the heap after it returns, nor mutate the heap.
 *  @return fn's return value, or
 *   - MC_EINVAL heap or fn is NULL, or heap is not a live heap
 *   - MC_ESYS   the lock failed, when no reader slot was free */
int mc_heap_root_p(mc_heap *heap, int (*fn)(const void *root, void *ctx),
                   void *ctx);

/** Collect now (taking the lock).  Inside a mutation of the calling
 *  thread, collects at once with that mutation's pins as extra roots:
 *  values it added and neither attached nor pinned are freed.
 *  @return 0, or
 *   - MC_EINVAL heap is NULL, not a heap, or destroyed
 *   - MC_ENOMEM no process memory for the mark stack: nothing freed
 *   - MC_EAGAIN a reader of the heap waits for its lock (or a queue's push
 *               lock) inside its read: nothing freed (see the caveats)
 *   - MC_ESYS   the lock failed
 *  A dead previous holder (MC_EOWNERDEAD) is not an error here. */
int mc_heap_gc(mc_heap *heap);

/** Counters, read without the lock: each field is consistent, the set may
 *  straddle a mutation.
 *  @return 0, or
 *   - MC_EINVAL heap or st is NULL, or heap is not a live heap */
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

/** The descriptor of a heap.
 *  @return 0, or
 *   - MC_EINVAL heap or d is NULL, or heap is not a live heap */
int mc_heap_descr_of(mc_heap *heap, mc_heap_descr *d);

/** Find the heap a descriptor names, mapping its pool if needed (the
 *  caller then holds the pool; on a refusal, holds as before: a hold the
 *  lookup took is given back).
 *  @return 0, MC_ETYPE (another root type than root_type), or MC_EINVAL
 *          (unknown, stale or garbage descriptor: never a crash) */
int mc_heap_of_descr(const mc_heap_descr *d, const mc_type *root_type,
                     mc_heap **heap);

/** The heap's pool, and the root's type (NULL for a NULL heap). */
mc_pool *mc_heap_pool(const mc_heap *heap);
const mc_type *mc_heap_root_type(const mc_heap *heap);

#ifdef __cplusplus
}
#endif
#endif
