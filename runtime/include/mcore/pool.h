/* mcore/pool.h: growable shared memory pools, at one address everywhere.
 *
 * At mc_startup the master reserves a large range of address space (the
 * window, PROT_NONE, no memory behind it) before forking anything, so a
 * range of the window is free in every process of the session.  A pool is a
 * range of the window backed by one memfd, mapped over its whole maximum
 * size at once, at the same address in every process that uses it: plain
 * pointers into a pool are valid everywhere.  It grows on demand (fallocate
 * in bounded steps, checked against the memory available), so memory is
 * really reserved when it is handed out: growth that cannot be backed is
 * MC_ENOMEM, never SIGBUS.
 *
 * Any process may create a pool, the master included; a process that did
 * not create it maps it on mc_pool_lookup (the memfd comes from the master),
 * even a worker started before the pool existed.  Pools are resources: the
 * creator holds it, lookup holds it, and it is freed when nobody does.
 *
 * Caveats.  A process holds a pool once however often it looks it up;
 * after mc_pool_release the handle must not be used by that process (a
 * second release says MC_ENOENT; other calls cannot tell a released pool
 * from a live one and act on memory that may be freed).  A chunk is the
 * caller's until mc_pool_free: a process that dies holding chunks leaks
 * them until the pool is freed (heaps recover theirs, heap.h).
 *
 * Statistics.  `mcadmin stat` shows every pool of a live session (its
 * maximum, reserved and used bytes) and the heaps in it: a pool's header
 * lists up to 32 of its heaps (one atomic store at mc_heap_create and at
 * mc_heap_destroy); more are only counted.  See mcadmin(1).
 */
#ifndef MCORE_POOL_H
#define MCORE_POOL_H

#include <stddef.h>
#include "mcore/process.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A pool.  The handle is the pool's address: the same in every process
 *  that mapped it. */
typedef struct mc_pool mc_pool;

typedef struct mc_pool_stats {
    size_t max;          /**< maximum size (bytes) */
    size_t size;         /**< bytes backed by memory now */
    size_t used;         /**< bytes handed out (chunks, and the header) */
    size_t free;         /**< max - used */
    size_t largest_free; /**< largest chunk that could be handed out now */
    size_t chunks;       /**< chunks handed out */
} mc_pool_stats;

/** Create a pool that can grow to max_size bytes (rounded up to pages).
 *  The caller holds it and has it mapped.
 *  @return 0, or
 *   - MC_EINVAL max_size 0 or larger than what is left of the window
 *   - MC_ENOMEM no window space or memory left
 *   - MC_ESTATE no session
 *   - MC_ESYS   memfd or mmap failed */
int mc_pool_create(size_t max_size, mc_pool **pool);

/** Map pool `id` in this process (if not yet) and hold it.
 *  @return 0, or
 *   - MC_ENOENT no such resource (never made, or freed)
 *   - MC_ETYPE  the resource is not a pool
 *   - MC_EINVAL pool is NULL, or the pool's header is not initialized yet
 *   - MC_ESTATE no session
 *   - MC_ESYS   mapping it failed, or no descriptor came with it */
int mc_pool_lookup(mc_res_id id, mc_pool **pool);

/** The pool's resource id (to pass to other processes); 0 for NULL. */
mc_res_id mc_pool_id(const mc_pool *pool);

/** Find the pool that contains addr, mapping it in this process (and
 *  holding it) if it was not mapped here yet.
 *  @return 0, or
 *   - MC_ENOENT addr is in no pool of this session
 *   - MC_EINVAL pool is NULL
 *   - in a worker, the errors of asking the master and of mc_pool_lookup */
int mc_pool_of(const void *addr, mc_pool **pool);

/** A snapshot of the pool's sizes (under its lock).
 *  @return 0, or
 *   - MC_EINVAL pool or st is NULL
 *   - MC_ESYS   the pool's lock failed */
int mc_pool_stats_get(mc_pool *pool, mc_pool_stats *st);

/** End this process's hold on the pool (see mc_release).  The mapping
 *  stays until the pool is freed: pointers stay valid while anybody holds
 *  it.
 *  @return 0, or
 *   - MC_EINVAL pool is NULL, or an address inside a pool
 *   - MC_ENOENT this process does not hold it (released already) or it is
 *               gone (in the master, whose mapping goes with the pool, only
 *               this process's table of mappings is read, never the pool)
 *   - MC_ESTATE no session */
int mc_pool_release(mc_pool *pool);

/** Take a chunk of at least `size` bytes (rounded up to pages) from the
 *  pool, growing it if needed.  For heaps and containers.
 *  @return 0, or
 *   - MC_EINVAL pool or chunk is NULL, or size is 0
 *   - MC_ENOMEM size passes the pool's maximum, the pool is full, or the
 *               machine (or its cgroup) has not the memory to back it
 *   - MC_ESYS   the pool's lock failed, or fallocate failed for another
 *               reason than lack of memory */
int mc_pool_alloc(mc_pool *pool, size_t size, void **chunk);

/** Give a chunk back (size as asked of mc_pool_alloc).
 *  @return 0, or
 *   - MC_EINVAL a NULL argument or size 0, chunk outside the pool's
 *               handed-out range or not page aligned, or chunk overlaps
 *               a free run (given back twice); nothing changed.  (A wrong
 *               size or a chunk that is part of another live chunk is not
 *               detected, and corrupts the pool.)
 *   - MC_ESYS   the pool's lock failed */
int mc_pool_free(mc_pool *pool, void *chunk, size_t size);

#ifdef __cplusplus
}
#endif
#endif
