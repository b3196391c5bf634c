/* mcore/shashtbl.h: shared hash tables (Netmcore_hashtbl), typed, with
 * lock-free readers and writers that run in parallel.
 *
 * A table maps keys of one mc_type to values of another, in a pool.  Keys
 * are hashed and compared with the key type's hash and equal (type.h:
 * mcidl generates them for key types; the built-in scalar, string and
 * bytes types have them), mixed with a seed drawn per table.  Scalar
 * keys, floats included, compare by their bytes: 0.0 and -0.0 are two
 * keys, and a NaN key finds its binding again.  Like OCaml's
 * Hashtbl, a key may have several bindings: add puts a new one in front
 * (it shadows the older ones), remove takes the newest away (the older
 * one reappears), replace changes the newest.
 *
 * Keys and values are deep copies of process-local values (the heap's
 * copier), made when they are stored.  Reads come in the three forms of
 * heap.h's access discipline: _ro (the shared value as it is: unsafe,
 * valid until the next write of its binding), _c (a process-local deep
 * copy: free it with mc_local_free) and _p (a callback runs while the
 * value is kept alive).
 *
 * Concurrency.  A table is 16 shards, each a heap of its own with its own
 * robust lock, and a key's hash picks its shard: writers of keys in
 * different shards run in parallel.  Readers (_c, _p, mem, find_all, iter,
 * fold, length, stats) take no lock at all: they publish an epoch in the
 * shard's reader slot (heap.h's caveats), which keeps what they see from
 * being freed, and follow pointers that writers change by single stores.
 * A read that runs during writes sees each binding that the writes left in
 * place throughout, and each binding being written either before or after.
 *
 * Growth.  A shard makes its bucket array 4 times larger when it holds
 * more bindings than buckets, incrementally: every write moves a few buckets of the old
 * array into the new one, so no operation pays for the whole table.
 * Readers during a resize see every binding (a moved bucket's entries are
 * copied into the new chains, or shared with them, and the old chains
 * lose only removed bindings until the collector proves no reader can
 * see them).
 *
 * Crash consistency.  A process killed at any instruction of a write
 * leaves the table valid: at most the binding being written is in or not.
 * The next writer of that shard is told (MC_EOWNERDEAD, after its own
 * operation was done) and the shard's count is recounted.
 *
 * Caveats.
 *   - Callbacks of reads (find_p, find_all_p, iter, fold) run while the
 *     shard's readers are protected: they must not write to any shared
 *     hash table (refused with MC_ESTATE) and must not keep pointers into
 *     the table after they return.
 *   - The callback of mc_shashtbl_update runs under the key's shard lock:
 *     it may read the table but not write it (MC_ESTATE).
 *   - A destroyed table is refused (MC_EINVAL) while its header page has
 *     not been reused; no process may use it after mc_shashtbl_destroy.
 *   - Every process reading a table holds one reader slot in each shard
 *     it has read (heap.h: 256 threads per heap).
 *
 * Errors: every function returning int returns 0 (or a documented count)
 * or a negative MC_E* code (mcore/error.h); mc_last_error_detail() says
 * more.
 */
#ifndef MCORE_SHASHTBL_H
#define MCORE_SHASHTBL_H

#include <stddef.h>
#include <stdint.h>
#include "mcore/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mc_shashtbl mc_shashtbl; /**< same address in every process */

/** The number of shards (and shard locks) of every table. */
#define MC_SHASHTBL_SHARDS 16

/** Create a table in pool: keys of key_type (which must have hash and
 *  equal), values of val_type, and an optional header value (header_type
 *  and header_init both NULL, or both given; the header is a deep copy).
 *  Any process of the session may create one.
 *  @return 0 with *t set, or
 *   - MC_EINVAL a NULL pool, key_type, val_type or t; a key type without
 *               hash or equal; a header type without a value or a value
 *               without a type; a type aligned above 16
 *   - MC_ENOMEM the pool cannot hold the table's heaps
 *   - MC_ESYS   a lock could not be made
 *   - an error of the header type's copy routine
 *  Nothing is left in the pool after an error. */
int mc_shashtbl_create(mc_pool *pool, const mc_type *key_type,
                       const mc_type *val_type, const mc_type *header_type,
                       const void *header_init, mc_shashtbl **t);

/** Free the table, its bindings and its header.  Nobody may use it
 *  afterwards (nor during).
 *  @return 0, or
 *   - MC_EINVAL t is NULL, not a table, or destroyed
 *   - MC_ESTATE the calling thread is inside a callback of the table or
 *               mutates its header heap; nothing freed */
int mc_shashtbl_destroy(mc_shashtbl *t);

/** Add a binding of a copy of key to a copy of value (local values of the
 *  table's types); older bindings of the key stay, shadowed.
 *  @return 0, or
 *   - MC_EOWNERDEAD the binding was added; the previous writer of the
 *                   key's shard died inside a write (its binding may be
 *                   in or not; the shard was checked and recounted)
 *   - MC_EINVAL     a NULL argument, or t is not a live table
 *   - MC_ESTATE     called from a read callback or an update callback
 *   - MC_ENOMEM     the pool is full even after a collection, or no
 *                   process memory for the operation (nothing added)
 *   - MC_ESYS       the shard's lock failed
 *   - an error of a copy routine of the key or value type (nothing
 *     added) */
int mc_shashtbl_add(mc_shashtbl *t, const void *key, const void *value);

/** Replace the newest binding of key by one to a copy of value, or add
 *  one if key is unbound.  Readers see the old value or the new one.
 *  @return 0, or the codes of mc_shashtbl_add (MC_ENOMEM and copy errors
 *          leave the old binding as it was) */
int mc_shashtbl_replace(mc_shashtbl *t, const void *key, const void *value);

/** Remove the newest binding of key; an older one, if any, reappears.
 *  @return 0, or
 *   - MC_ENOENT     key is not bound (nothing changed)
 *   - MC_EOWNERDEAD the binding was removed (or there was none); a writer
 *                   died before, as in mc_shashtbl_add
 *   - MC_EINVAL, MC_ESTATE, MC_ESYS as mc_shashtbl_add */
int mc_shashtbl_remove(mc_shashtbl *t, const void *key);

/** What an update callback decides (its return value; a negative MC_E*
 *  code aborts the update with that code, nothing changed). */
enum {
    MC_SHASHTBL_KEEP = 0,   /**< leave the binding as it is */
    MC_SHASHTBL_SET = 1,    /**< bind key to a copy of *new_value (replace
                                 the newest binding, or add one) */
    MC_SHASHTBL_REMOVE = 2, /**< remove the newest binding (if any) */
};

/** fn(old, &new_value, ctx) decides; old is the newest value of key in
 *  the table (NULL if unbound), valid while fn runs. */
typedef int mc_shashtbl_update_fn(const void *old, const void **new_value,
                                  void *ctx);

/** Read-modify-write of the newest binding of key under the key's shard
 *  lock: no other writer of the key runs between fn's read and the write,
 *  so counters lose no update.  fn runs once (it may read tables, not
 *  write them).
 *  fn says what to do by returning MC_SHASHTBL_KEEP, _SET or _REMOVE
 *  (REMOVE of an unbound key changes nothing); ctx is the place to report
 *  more to the caller.
 *  @return 0 once fn's decision is carried out, or
 *   - a negative code of fn (nothing changed)
 *   - MC_EOWNERDEAD the decision was carried out; a writer died before,
 *                   as in mc_shashtbl_add
 *   - MC_EINVAL     a NULL argument, t is not a live table, fn returned
 *                   SET without a value or an unknown decision (nothing
 *                   changed)
 *   - MC_ESTATE, MC_ENOMEM, MC_ESYS and copy errors as mc_shashtbl_add */
int mc_shashtbl_update(mc_shashtbl *t, const void *key,
                       mc_shashtbl_update_fn *fn, void *ctx);

/** The newest value of key as it lies in the table, or NULL (unbound, or
 *  a NULL or dead argument).  Unsafe by design (Netmcore's find_ro): the
 *  value may be freed after a later write of its binding. */
const void *mc_shashtbl_find_ro(mc_shashtbl *t, const void *key);

/** A local deep copy of the newest value of key (free it with
 *  mc_local_free).  Takes no lock.
 *  @return 0 with *copy set, or
 *   - MC_ENOENT key is not bound (*copy unchanged)
 *   - MC_EINVAL a NULL argument, or t is not a live table
 *   - MC_ENOMEM no process memory for the copy
 *   - MC_ESYS   a shard's lock failed (only when no reader slot was free,
 *               heap.h)
 *   - an error of a copy routine of the value type */
int mc_shashtbl_find_c(mc_shashtbl *t, const void *key, void **copy);

/** fn(value, ctx) on the newest value of key, kept alive while fn runs.
 *  Takes no lock.
 *  @return fn's result, or
 *   - MC_ENOENT key is not bound (fn not run)
 *   - MC_EINVAL, MC_ESYS as mc_shashtbl_find_c */
int mc_shashtbl_find_p(mc_shashtbl *t, const void *key,
                       int (*fn)(const void *value, void *ctx), void *ctx);

/** Is key bound?  Takes no lock.
 *  @return 1 (bound), 0 (not), or MC_EINVAL, MC_ESYS as find_c */
int mc_shashtbl_mem(mc_shashtbl *t, const void *key);

/** Every value of key as it lies in the table (unsafe, as find_ro),
 *  newest first: the first min(cap, count) go to vals[].
 *  @return the number of bindings of key (maybe more than cap), or
 *   - MC_EINVAL t or key is NULL, vals is NULL with cap > 0, or t is not
 *               a live table */
int mc_shashtbl_find_all_ro(mc_shashtbl *t, const void *key,
                            const void **vals, size_t cap);

/** Local deep copies of every value of key, newest first: *copies is a
 *  malloc()ed array of *n copies (NULL when 0); free it all with
 *  mc_shashtbl_free_all.
 *  @return 0 (also for an unbound key, with *n = 0), or
 *   - MC_EINVAL a NULL argument, or t is not a live table
 *   - MC_ENOMEM no process memory (nothing to free)
 *   - MC_ESYS   as mc_shashtbl_find_c */
int mc_shashtbl_find_all_c(mc_shashtbl *t, const void *key, void ***copies,
                           size_t *n);

/** Free what mc_shashtbl_find_all_c returned (NULL is allowed). */
void mc_shashtbl_free_all(void **copies, size_t n);

/** fn(vals, n, ctx) with every value of key, newest first (n may be 0),
 *  kept alive while fn runs.
 *  @return fn's result, or
 *   - MC_EINVAL a NULL argument, or t is not a live table
 *   - MC_ENOMEM no process memory for the array (fn not run)
 *   - MC_ESYS   as mc_shashtbl_find_c */
int mc_shashtbl_find_all_p(mc_shashtbl *t, const void *key,
                           int (*fn)(const void *const *vals, size_t n,
                                     void *ctx),
                           void *ctx);

/** The number of bindings (shadowed ones included).  Read without a lock:
 *  exact when no write runs.  0 for a NULL or dead table. */
size_t mc_shashtbl_length(mc_shashtbl *t);

/** fn(key, value, ctx) on every binding, shard by shard (no order
 *  otherwise), each binding kept alive while fn runs; a nonzero result of
 *  fn stops the walk.  Takes no lock: bindings added or removed meanwhile
 *  may be seen or not; the others are seen once each.
 *  @return 0, fn's nonzero result, or
 *   - MC_EINVAL t or fn is NULL, or t is not a live table
 *   - MC_ESYS   as mc_shashtbl_find_c */
int mc_shashtbl_iter(mc_shashtbl *t,
                     int (*fn)(const void *key, const void *value, void *ctx),
                     void *ctx);

/** Fold over every binding: fn(key, value, acc) for each, as iter (acc is
 *  the accumulator the callbacks update; a nonzero result stops).
 *  @return as mc_shashtbl_iter */
int mc_shashtbl_fold(mc_shashtbl *t,
                     int (*fn)(const void *key, const void *value, void *acc),
                     void *acc);

/** Remove every binding (shard by shard, each under its lock).
 *  @return 0, or
 *   - MC_EOWNERDEAD done; a writer had died before, as in mc_shashtbl_add
 *   - MC_EINVAL t is NULL or not a live table
 *   - MC_ESTATE as mc_shashtbl_add
 *   - MC_ENOMEM a shard could not get its new, empty bucket array (the
 *               shards before it were cleared)
 *   - MC_ESYS   a shard's lock failed */
int mc_shashtbl_clear(mc_shashtbl *t);

typedef struct mc_shashtbl_stats {
    size_t bindings;      /**< as mc_shashtbl_length */
    size_t buckets;       /**< of the current arrays, all shards */
    size_t longest_chain; /**< bindings in the longest bucket */
    uint64_t resizes;     /**< bucket-array growths begun so far */
    unsigned resizing;    /**< shards in the middle of one */
} mc_shashtbl_stats;

/** Counters, read without a lock (walks every bucket: O(bindings)).
 *  @return 0, or
 *   - MC_EINVAL t or st is NULL, or t is not a live table
 *   - MC_ESYS   as mc_shashtbl_find_c */
int mc_shashtbl_stats_get(mc_shashtbl *t, mc_shashtbl_stats *st);

/** The header value as it lies in the table (NULL: no header, or a NULL
 *  or dead table).  Change it in place under mc_shashtbl_header_heap's
 *  lock (inside mc_heap_modify, the header is *(void **)root). */
void *mc_shashtbl_header(mc_shashtbl *t);

/** The heap holding the header (NULL for a NULL or dead table). */
mc_heap *mc_shashtbl_header_heap(mc_shashtbl *t);

/** The key and value types (NULL for a NULL or dead table). */
const mc_type *mc_shashtbl_key_type(mc_shashtbl *t);
const mc_type *mc_shashtbl_value_type(mc_shashtbl *t);

/** A descriptor: plain bytes, valid in every process of the session. */
typedef struct mc_shashtbl_descr {
    uint64_t magic;
    uint64_t key_id;    /**< the key type's id */
    uint64_t value_id;  /**< the value type's id */
    uint64_t header_id; /**< the header type's id (0: no header) */
    int64_t pool;       /**< pool resource id */
    uint64_t offset;    /**< of the table's heap in its pool */
    uint64_t gen;       /**< its generation: stale descriptors fail */
} mc_shashtbl_descr;

/** The descriptor of a table.
 *  @return 0, or
 *   - MC_EINVAL t or d is NULL, or t is not a live table */
int mc_shashtbl_descr_of(mc_shashtbl *t, mc_shashtbl_descr *d);

/** Find the table a descriptor names, mapping its pool if needed (the
 *  caller then holds the pool; on a refusal, holds as before).
 *  header_type NULL: the table has no header.
 *  @return 0 with *t set, or
 *   - MC_ETYPE  the table's key, value or header type is not the one
 *               given (by id)
 *   - MC_EINVAL a NULL d, key_type, val_type or t; an unknown, stale or
 *               garbage descriptor (never a crash) */
int mc_shashtbl_of_descr(const mc_shashtbl_descr *d, const mc_type *key_type,
                         const mc_type *val_type, const mc_type *header_type,
                         mc_shashtbl **t);

#ifdef __cplusplus
}
#endif
#endif
