/* mcore/sbuffer.h: shared byte buffers (Netmcore_buffer), with flow
 * control: bytes are appended at the end and deleted from the front, by
 * any process of the session, and a header value of one mc_type travels
 * with them.
 *
 * Positions are eternal 64-bit byte counts: the valid bytes are
 * [start, end), end = start + length; appending moves end, deleting moves
 * start; neither ever wraps.  Memory of deleted ranges is reused: a buffer
 * streaming any amount through a bounded window does not grow.
 *
 * Flow control, beyond the original: an optional capacity (the most bytes
 * between start and end).  mc_sbuffer_append waits while the bytes do not
 * fit (mc_sbuffer_append_timed: with a timeout, or not at all:
 * MC_EAGAIN); a reader waits for a position with mc_sbuffer_wait, which
 * also reports the end of the stream (mc_sbuffer_close).
 *
 * Reads (blit, sub, access) take no lock and see the bytes as they were
 * when they started; a delete_hd that removes the bytes while they are
 * being copied makes the copy fail (MC_EINVAL), never return other bytes.
 * mc_sbuffer_access hands out the bytes in place (no copy) and keeps them
 * from being reused while its callback runs.  Deletes (delete_hd, clear)
 * are one atomic step, without a lock; the other mutations (append,
 * close, header_set) take the buffer's heap lock.  A process that dies
 * inside any of them leaves the buffer valid: its operation happened
 * whole or not at all, and the next locking mutation reports
 * MC_EOWNERDEAD (having done its work).
 *
 * An sbuffer is passed to other processes by descriptor: plain bytes that
 * carry the header's type id, checked on lookup.
 *
 * Caveats.
 *   - An sbuffer is a heap (heap.h's caveats apply: reader slots, one
 *     mutation per heap per thread: do not mutate the buffer inside an
 *     mc_sbuffer_access callback, nor read a pointer from it afterwards).
 *   - Bytes appended by one call are published at once, after they are all
 *     in place; concurrent appends are serialized (never interleaved).
 *   - A process killed inside mc_sbuffer_access leaves its pins on the
 *     blocks it was reading: those blocks are not reused in place but
 *     replaced (the heap's collector frees them); nothing else is lost.
 *   - A destroyed buffer is refused (MC_EINVAL, NULL, 0) while its heap's
 *     header page is not reused; nobody may use it, or wait on it, after
 *     mc_sbuffer_destroy.
 */
#ifndef MCORE_SBUFFER_H
#define MCORE_SBUFFER_H

#include <stddef.h>
#include <stdint.h>
#include "mcore/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mc_sbuffer mc_sbuffer; /**< same address in every process */

/** Creation options (NULL: no capacity, the default block size). */
typedef struct mc_sbuffer_attr {
    /** The most bytes the buffer holds (end - start); 0: no limit. */
    uint64_t capacity;
    /** Bytes per block of storage: 0 for 64 KiB; else rounded up to a
     *  power of two between 4 KiB and 64 MiB.  mc_sbuffer_access hands
     *  out at most one block per callback. */
    size_t block_size;
} mc_sbuffer_attr;

/** Create an empty buffer in pool whose header is a deep copy of
 *  header_init, a local value of header_type (both NULL: no header).
 *  Positions start at 0.
 *  @return 0 (*buf set), or
 *   - MC_EINVAL pool or buf is NULL, one of header_type and header_init
 *               is NULL and not the other, or header_type's alignment is
 *               above 16
 *   - MC_ENOMEM the pool is full
 *   - MC_ESYS   the heap's lock could not be made
 *   - an error of a copy routine or init_sync of header_type
 *  Nothing is left in the pool after an error. */
int mc_sbuffer_create(mc_pool *pool, const mc_type *header_type,
                      const void *header_init, const mc_sbuffer_attr *attr,
                      mc_sbuffer **buf);

/** Free the buffer, its bytes and header (nobody may use it afterwards).
 *  @return 0, or
 *   - MC_EINVAL buf is NULL or already destroyed
 *   - MC_ESTATE the calling thread mutates its heap (mc_heap_modify) */
int mc_sbuffer_destroy(mc_sbuffer *buf);

/** Append len bytes from data, waiting for as long as it takes while the
 *  capacity leaves no room for all of them.  All or nothing: the bytes are
 *  published together, after they are all in place.
 *  @return 0, or
 *   - MC_EOWNERDEAD the bytes were appended; a previous holder of the lock
 *                   died inside a mutation (the buffer is valid; its
 *                   operation was lost or happened whole)
 *   - MC_EINVAL     buf is NULL or destroyed, data is NULL with len > 0,
 *                   or end + len would pass 2^64
 *   - MC_E2BIG      len is larger than the capacity (it could never fit)
 *   - MC_ECLOSED    the buffer was closed (nothing appended; as
 *                   squeue's push after close)
 *   - MC_ESTATE     the calling thread already mutates the buffer's heap
 *   - MC_ENOMEM     the pool has no room for a block (nothing appended)
 *   - MC_ESYS       the lock failed */
int mc_sbuffer_append(mc_sbuffer *buf, const void *data, size_t len);

/** mc_sbuffer_append with a limit on the wait: timeout_ms < 0 waits for
 *  ever, 0 does not wait at all.
 *  @return as mc_sbuffer_append, and
 *   - MC_EAGAIN    timeout_ms is 0 and the bytes do not fit now
 *   - MC_ETIMEDOUT they did not fit within timeout_ms
 *   - MC_ELOST     in the master: the session server died (its workers too)
 *  (nothing appended in either case) */
int mc_sbuffer_append_timed(mc_sbuffer *buf, const void *data, size_t len,
                            int timeout_ms);

/** Copy the bytes [pos, pos + len) into dst (local memory), without a
 *  lock.
 *  @return 0, or
 *   - MC_EINVAL buf is NULL or destroyed, dst is NULL with len > 0, or the
 *               range is not within [start, end) (nothing copied), or a
 *               concurrent delete_hd removed it during the copy (dst then
 *               holds garbage); the detail says which
 *   - MC_ESYS   the heap's lock failed, when no reader slot was free */
int mc_sbuffer_blit(mc_sbuffer *buf, uint64_t pos, void *dst, size_t len);

/** The bytes [pos, pos + len) in a new malloc()ed block (free with
 *  free(); len 0 gives a 1-byte block).
 *  @return 0 (*out set), or
 *   - MC_ENOMEM no process memory (*out unchanged)
 *   - MC_EINVAL out is NULL, or as mc_sbuffer_blit (*out unchanged)
 *   - MC_ESYS   as mc_sbuffer_blit */
int mc_sbuffer_sub(mc_sbuffer *buf, uint64_t pos, size_t len, void **out);

/** Zero-copy read: fn(data, n, at, ctx) for each contiguous piece of
 *  [pos, pos + len), in order (data holds the n bytes from position at;
 *  a piece never crosses a block).  The bytes are pinned while the calls
 *  run: no append reuses their memory.  fn must not keep data after it
 *  returns, nor mutate the buffer; a non-zero return stops the walk.
 *  @return 0, the first non-zero return of fn, or
 *   - MC_EINVAL buf or fn is NULL, buf is destroyed, or the range is not
 *               within [start, end), or a concurrent delete_hd removed it
 *               before it could be pinned (fn not called in either case)
 *   - MC_ENOMEM the range spans more than 64 blocks and there is no
 *               process memory for their list (fn not called)
 *   - MC_ESYS   the heap's lock failed, when no reader slot was free */
int mc_sbuffer_access(mc_sbuffer *buf, uint64_t pos, size_t len,
                      int (*fn)(const void *data, size_t n, uint64_t at,
                                void *ctx),
                      void *ctx);

/** Delete the first n bytes (start += n), without the lock (one
 *  compare-and-swap: a reader or deleter never waits for an append's
 *  copy).  Their memory is reused by later appends; it wakes appenders
 *  waiting for room.
 *  @return 0, or
 *   - MC_EINVAL buf is NULL or destroyed, or n > length (nothing
 *               deleted) */
int mc_sbuffer_delete_hd(mc_sbuffer *buf, uint64_t n);

/** Delete every byte there is now (start = end: positions go on from
 *  there).
 *  @return 0, or
 *   - MC_EINVAL buf is NULL or destroyed */
int mc_sbuffer_clear(mc_sbuffer *buf);

/** End the stream: later appends fail (MC_ECLOSED) and readers waiting
 *  past the end return with *closed set.  The bytes stay readable and
 *  deletable.  Closing twice is not an error.
 *  @return 0, or
 *   - MC_EOWNERDEAD closed; a previous holder died (see append)
 *   - MC_EINVAL     buf is NULL or destroyed
 *   - MC_ESTATE     the calling thread already mutates the buffer's heap
 *   - MC_ESYS       the lock failed */
int mc_sbuffer_close(mc_sbuffer *buf);

/** Wait until end >= upto (the bytes before upto are appended) or the
 *  buffer is closed.  timeout_ms < 0 waits for ever, 0 only looks.
 *  *end (if not NULL) gets the end seen last, *closed (if not NULL) 1 if
 *  the buffer was closed, else 0: after a 0 return, end >= upto, or
 *  *closed is 1 and no more bytes will ever come (end of stream).
 *  A sleeping waiter is woken only by the append that reaches upto (or a
 *  close): a consumer that waits for a chunk (upto = pos + 1 MiB, say)
 *  pays one wake-up per chunk, not one per append, which matters most
 *  when producer and consumer share a CPU (each wake-up is then a context
 *  switch each way).
 *  @return 0, or
 *   - MC_EAGAIN    timeout_ms is 0 and end < upto, not closed
 *   - MC_ETIMEDOUT the same after timeout_ms
 *   - MC_ELOST     in the master: the session server died (its workers too)
 *   - MC_EINVAL    buf is NULL or destroyed */
int mc_sbuffer_wait(mc_sbuffer *buf, uint64_t upto, int timeout_ms,
                    uint64_t *end, int *closed);

/** Positions (each read atomically; together they may straddle a
 *  mutation): the first valid byte, one past the last, their difference.
 *  0 for a NULL or destroyed buffer. */
uint64_t mc_sbuffer_start(mc_sbuffer *buf);
uint64_t mc_sbuffer_end(mc_sbuffer *buf);
uint64_t mc_sbuffer_length(mc_sbuffer *buf);

/** The capacity (0: none), and whether the buffer was closed (1), is open
 *  (0); both 0 for a NULL or destroyed buffer. */
uint64_t mc_sbuffer_capacity(mc_sbuffer *buf);
int mc_sbuffer_closed(mc_sbuffer *buf);

/** The header as it is in the heap (unsafe as mc_sref_deref_ro: valid
 *  while nobody sets it); NULL if there is none or buf is destroyed. */
const void *mc_sbuffer_header_ro(mc_sbuffer *buf);

/** A local deep copy of the header; free with mc_local_free(*copy).
 *  @return 0, or
 *   - MC_EINVAL buf or copy is NULL, buf is destroyed or has no header
 *   - MC_ENOMEM no process memory (*copy unchanged)
 *   - MC_ESYS   the lock failed, when no reader slot was free
 *   - an error of a copy routine of the header's type */
int mc_sbuffer_header_c(mc_sbuffer *buf, void **copy);

/** fn(header, ctx) with the header kept alive while fn runs.
 *  @return fn's result, or
 *   - MC_EINVAL buf or fn is NULL, buf is destroyed or has no header
 *   - MC_ESYS   the lock failed, when no reader slot was free */
int mc_sbuffer_header_p(mc_sbuffer *buf,
                        int (*fn)(const void *header, void *ctx), void *ctx);

/** Replace the header with a deep copy of a local value of its type.
 *  @return 0, or
 *   - MC_EOWNERDEAD set; a previous holder died (see append)
 *   - MC_EINVAL     buf or value is NULL, buf is destroyed or has no
 *                   header
 *   - MC_ESTATE     the calling thread already mutates the buffer's heap
 *   - MC_ENOMEM     the pool is full (the old header stays)
 *   - MC_ESYS       the lock failed
 *   - an error of a copy routine of the type (the old header stays) */
int mc_sbuffer_header_set(mc_sbuffer *buf, const void *value);

/** The header's type (NULL: no header, or buf destroyed). */
const mc_type *mc_sbuffer_header_type(mc_sbuffer *buf);

/** The buffer's heap (for mc_heap_stats_get: its size does not grow while
 *  the bytes between start and end stay bounded). */
mc_heap *mc_sbuffer_heap(mc_sbuffer *buf);

/** A descriptor: plain bytes, valid in every process of the session. */
typedef struct mc_sbuffer_descr {
    uint64_t magic;
    uint64_t type_id;  /**< the header type's id (0: no header) */
    int64_t pool;      /**< pool resource id */
    uint64_t offset;   /**< of the heap in its pool */
    uint64_t gen;      /**< the heap's generation: stale descriptors fail */
} mc_sbuffer_descr;

/** The descriptor of a buffer.
 *  @return 0, or
 *   - MC_EINVAL buf or d is NULL, or buf is destroyed */
int mc_sbuffer_descr_of(mc_sbuffer *buf, mc_sbuffer_descr *d);

/** Find the buffer a descriptor names (mapping its pool if needed; the
 *  caller then holds the pool; on a refusal, holds as before: a hold the
 *  lookup took is given back).  header_type NULL: a buffer without a
 *  header.
 *  @return 0, or
 *   - MC_ETYPE  the buffer's header is of another type than header_type
 *               (or has a header and header_type is NULL, or the
 *               reverse), or the descriptor names a live heap that is not
 *               a buffer's (an sref's, say)
 *   - MC_EINVAL d or buf is NULL, or an unknown, stale or garbage
 *               descriptor (never a crash) */
int mc_sbuffer_of_descr(const mc_sbuffer_descr *d,
                        const mc_type *header_type, mc_sbuffer **buf);

#ifdef __cplusplus
}
#endif
#endif
