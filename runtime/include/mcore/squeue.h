/* mcore/squeue.h: shared FIFO queues (Netmcore_queue), with blocking pop,
 * an optional capacity and close.
 *
 * A queue lives in a heap of its own (heap.h) and holds deep copies of
 * values of one mc_type, the element type, plus an optional header: a
 * value of another type, copied in at creation, that stays at one address
 * for the queue's life (a place for the user's own counters or flags).
 * Any number of processes and threads push and pop at once.
 *
 * Reads come in two forms (heap.h's access discipline): _c gives a process-
 * local deep copy (free it with mc_local_free), _p runs a callback on the
 * shared value while it is kept alive.  No _ro form: a popped element is
 * garbage as soon as its popper is done with it.
 *
 * Blocking.  push, pop_c and pop_p take a timeout in milliseconds:
 *   0                   do not wait: MC_EAGAIN when the queue is empty
 *                       (pop) or full (push);
 *   > 0                 wait at most that long: MC_ETIMEDOUT;
 *   MC_SQUEUE_FOREVER   wait until it can be done (or the queue closes).
 * Timeouts are measured on CLOCK_MONOTONIC.  A queue made with capacity 0
 * is unbounded: push never waits (it fails with MC_ENOMEM when the pool is
 * full).
 *
 * Close.  mc_squeue_close refuses further pushes (MC_ECLOSED); consumers
 * still pop what is queued, and once the queue is empty every pop, blocked
 * or not, returns MC_ECLOSED: the end-of-queue code, distinct from
 * MC_EAGAIN and MC_ETIMEDOUT.  A work queue needs no semaphores of its own.
 *
 * Order.  One FIFO: elements are popped in the order their pushes took
 * the queue's push lock.  Each element is popped once.
 *
 * Owner death.  A process killed at any instruction of a push, a pop or a
 * clear leaves the queue valid: at most the element in flight is lost
 * (not yet pushed, or popped but not yet handed to the popper).  The next
 * call that takes the lock the dead process held repairs the queue and
 * returns MC_EOWNERDEAD *without doing its own work*: call it again.
 * (Crash-consistency argument: the top of runtime/src/data/squeue.c.)
 *
 * Caveats.
 *   - A queue is a heap: heap.h's caveats apply (reader slots; one
 *     mutation per heap per thread; nobody may use it after destroy).
 *   - The element and header types are fixed at creation; values passed
 *     to push are of the element type, unchecked.
 *   - A _p callback (pop_p, top_p, iter, fold) runs with no lock held, and
 *     the element stays alive until it returns; the heap's collector waits
 *     for it, so a long callback delays pushes that collect.  The callback
 *     must not keep pointers to the element after it returns.  It may push
 *     to and pop from the same queue: while it waits for the queue's push
 *     lock or its heap's lock, the collector does not wait for it but
 *     frees nothing (heap.h's caveats), so the queue's heap may grow.
 *   - A pop that returned MC_EOWNERDEAD, MC_ETIMEDOUT, MC_EAGAIN or
 *     MC_ECLOSED popped nothing; a push that returned an error pushed
 *     nothing.
 */
#ifndef MCORE_SQUEUE_H
#define MCORE_SQUEUE_H

#include <stddef.h>
#include <stdint.h>
#include "mcore/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mc_squeue mc_squeue; /**< same address in every process */

/** Wait as long as it takes (the timeout of push, pop_c, pop_p). */
#define MC_SQUEUE_FOREVER ((int64_t)-1)

/** @brief Create an empty queue in pool.
 * @param[in] pool        the pool of the queue's heap
 * @param[in] elem        the element type
 * @param[in] header_type the header's type, or NULL for no header
 * @param[in] header_init a local value of header_type, deep-copied in
 *                        (ignored when header_type is NULL)
 * @param[in] capacity    most elements queued at once; 0: unbounded
 * @param[out] q          the queue
 * @return 0, or
 *   - MC_EINVAL a NULL argument (header_init with a header_type), or a
 *               type with an alignment above 16
 *   - MC_ENOMEM the pool is full
 *   - MC_ESYS   a lock of the queue could not be made
 *   - an error of a copy routine or init_sync of header_type
 *  Nothing is left in the pool after an error. */
int mc_squeue_create(mc_pool *pool, const mc_type *elem,
                     const mc_type *header_type, const void *header_init,
                     size_t capacity, mc_squeue **q);

/** @brief Free the queue, its elements and its header.  Nobody may use it,
 *  or wait on it, any more.
 * @return 0, or
 *   - MC_EINVAL q is NULL or already destroyed
 *   - MC_ESTATE the calling thread mutates the queue's heap */
int mc_squeue_destroy(mc_squeue *q);

/** @brief Append a deep copy of value (a local value of the element type).
 *
 * Waits while the queue is at its capacity (see the timeouts above).
 * @param[in] q          the queue
 * @param[in] value      the value to copy in
 * @param[in] timeout_ms 0, > 0, or MC_SQUEUE_FOREVER
 * @return 0 (pushed), or
 *   - MC_EAGAIN     timeout 0 and the queue is full
 *   - MC_ETIMEDOUT  the queue stayed full for timeout_ms
 *   - MC_ELOST      in the master: the session server died (its workers too)
 *   - MC_ECLOSED    the queue is closed (before or while waiting)
 *   - MC_EOWNERDEAD a process died inside a push or clear of this queue;
 *                   the queue is repaired, nothing was pushed: push again
 *   - MC_ENOMEM     the pool is full even after a collection (the queue
 *                   is as it was), or no process memory
 *   - MC_EINVAL     q or value is NULL, q is destroyed, or timeout_ms is
 *                   below -1
 *   - MC_ESTATE     the calling thread mutates the queue's heap, or runs
 *                   more than 16 nested queue callbacks (_p, iter, fold)
 *   - MC_ESYS       a lock failed (the detail names it)
 *   - an error of a copy routine of the element type (nothing pushed) */
int mc_squeue_push(mc_squeue *q, const void *value, int64_t timeout_ms);

/** @brief Remove the head and return a local deep copy of it.
 *
 * Waits while the queue is empty and open (see the timeouts above).
 * @param[in] q          the queue
 * @param[out] copy      the copy (free with mc_local_free); set on 0 only
 * @param[in] timeout_ms 0, > 0, or MC_SQUEUE_FOREVER
 * @return 0, or
 *   - MC_EAGAIN     timeout 0 and the queue is empty (and open)
 *   - MC_ETIMEDOUT  the queue stayed empty for timeout_ms
 *   - MC_ELOST      in the master: the session server died (its workers too)
 *   - MC_ECLOSED    the queue is closed and empty: the end of the queue
 *   - MC_EOWNERDEAD a process died inside a pop or clear of this queue;
 *                   the queue is repaired, nothing was popped: pop again
 *   - MC_ENOMEM     no process memory for the copy: the element is lost
 *                   (it was popped)
 *   - MC_EINVAL     q or copy is NULL, q is destroyed, or timeout_ms is
 *                   below -1
 *   - MC_ESYS       a lock failed (the detail names it) */
int mc_squeue_pop_c(mc_squeue *q, void **copy, int64_t timeout_ms);

/** @brief Remove the head and run fn(element, ctx) on it, kept alive while
 *  fn runs (no lock held).  fn must not keep the pointer.
 * @return fn's return value (the element was popped), or, fn not run:
 *   - MC_EAGAIN, MC_ETIMEDOUT, MC_ECLOSED, MC_EOWNERDEAD, MC_ESYS as for
 *     mc_squeue_pop_c
 *   - MC_EINVAL q or fn is NULL, q is destroyed, or timeout_ms is below
 *               -1 */
int mc_squeue_pop_p(mc_squeue *q, int (*fn)(const void *elem, void *ctx),
                    void *ctx, int64_t timeout_ms);

/** @brief A local deep copy of the head, left in the queue.  Never waits.
 * @return 0, or
 *   - MC_EAGAIN  the queue is empty (and open)
 *   - MC_ECLOSED the queue is closed and empty
 *   - MC_ENOMEM  no process memory for the copy
 *   - MC_EINVAL  q or copy is NULL, or q is destroyed
 *   - MC_ESYS    the heap's lock failed, when no reader slot was free */
int mc_squeue_top_c(mc_squeue *q, void **copy);

/** @brief fn(head, ctx) on the head, left in the queue, kept alive while fn
 *  runs (no lock held).  Never waits.  Another process may pop the head
 *  meanwhile: fn then sees an element that is no longer queued.
 * @return fn's return value, or, fn not run:
 *   - MC_EAGAIN, MC_ECLOSED, MC_ESYS as for mc_squeue_top_c
 *   - MC_EINVAL q or fn is NULL, or q is destroyed */
int mc_squeue_top_p(mc_squeue *q, int (*fn)(const void *elem, void *ctx),
                    void *ctx);

/** @brief The number of queued elements, in O(1), without a lock (a
 *  moment's value: pushes and pops may be under way).
 * @return the length (>= 0), or
 *   - MC_EINVAL q is NULL or destroyed */
int64_t mc_squeue_length(mc_squeue *q);

/** @brief 1 if the queue holds no element, 0 if it holds some.
 * @return 1, 0, or
 *   - MC_EINVAL q is NULL or destroyed */
int mc_squeue_is_empty(mc_squeue *q);

/** @brief Drop every queued element (they become garbage).  Producers
 *  waiting for room are woken.
 * @return 0, or
 *   - MC_EOWNERDEAD a process died inside a push, pop or clear; the queue
 *                   is repaired and was not cleared: clear again
 *   - MC_EINVAL     q is NULL or destroyed
 *   - MC_ESTATE     the calling thread mutates the queue's heap
 *   - MC_ESYS       a lock failed */
int mc_squeue_clear(mc_squeue *q);

/** @brief Close the queue: later pushes fail with MC_ECLOSED, pops drain
 *  what is queued and then return MC_ECLOSED.  Every waiting producer and
 *  consumer is woken.  Closing a closed queue does nothing.  A queue is
 *  not reopened.
 * @return 0, or
 *   - MC_EINVAL q is NULL or destroyed
 *   - MC_ESTATE the calling thread mutates the queue's heap
 *   - MC_ESYS   a lock failed
 *  A dead lock holder (MC_EOWNERDEAD) is not an error here: the queue is
 *  repaired and closed. */
int mc_squeue_close(mc_squeue *q);

/** @brief 1 if the queue was closed, 0 if not.
 * @return 1, 0, or MC_EINVAL (q is NULL or destroyed) */
int mc_squeue_is_closed(mc_squeue *q);

/** @brief fn(elem, ctx) on each element of a snapshot of the queue, head
 *  first: the elements queued when the call started, including those
 *  popped meanwhile (each stays alive while the walk lasts).  No lock is
 *  held while fn runs.  A nonzero return of fn stops the walk.
 * @return 0, fn's nonzero return value, or
 *   - MC_EINVAL q or fn is NULL, or q is destroyed
 *   - MC_ESYS   the heap's lock failed, when no reader slot was free */
int mc_squeue_iter(mc_squeue *q, int (*fn)(const void *elem, void *ctx),
                   void *ctx);

/** @brief Fold over a snapshot as mc_squeue_iter walks it:
 *  fn(acc, elem) for each element, head first; acc is the caller's
 *  accumulator.  A nonzero return of fn stops the fold.
 * @return as mc_squeue_iter */
int mc_squeue_fold(mc_squeue *q, int (*fn)(void *acc, const void *elem),
                   void *acc);

/** The header value in the queue's heap, or NULL (no header, q NULL or
 *  destroyed).  It stays at this address while the queue lives; its
 *  fields may be changed in place under the user's own synchronization
 *  (e.g. a mutex in the header), or inside mc_heap_modify of
 *  mc_squeue_heap(q) (e.g. to attach new heap values to it). */
void *mc_squeue_header(mc_squeue *q);

/** The queue's heap (NULL if q is NULL). */
mc_heap *mc_squeue_heap(mc_squeue *q);

/** The element type, the header type (NULL: none), the capacity (0:
 *  unbounded); NULL / 0 for a NULL or destroyed queue. */
const mc_type *mc_squeue_type(mc_squeue *q);
const mc_type *mc_squeue_header_type(mc_squeue *q);
size_t mc_squeue_capacity(mc_squeue *q);

/** A descriptor: plain bytes, valid in every process of the session. */
typedef struct mc_squeue_descr {
    uint64_t magic;
    uint64_t type_id;   /**< the element type's id */
    uint64_t header_id; /**< the header type's id (0: no header) */
    int64_t pool;       /**< pool resource id */
    uint64_t offset;    /**< of the heap in its pool */
    uint64_t gen;       /**< the heap's generation: stale descriptors fail */
} mc_squeue_descr;

/** @brief The descriptor of a queue.
 * @return 0, or
 *   - MC_EINVAL q or d is NULL, or q is destroyed */
int mc_squeue_descr_of(mc_squeue *q, mc_squeue_descr *d);

/** @brief Find the queue a descriptor names, mapping its pool if needed
 *  (the caller then holds the pool; on a refusal, holds as before: a hold
 *  the lookup took is given back).
 * @param[in] d           the descriptor
 * @param[in] elem        the element type the caller expects
 * @param[in] header_type the header type the caller expects (NULL: none)
 * @param[out] q          the queue; set on 0 only
 * @return 0, or
 *   - MC_ETYPE  the queue's element or header type is another one
 *   - MC_EINVAL a NULL argument (but header_type), or an unknown, stale or
 *               garbage descriptor (never a crash) */
int mc_squeue_of_descr(const mc_squeue_descr *d, const mc_type *elem,
                       const mc_type *header_type, mc_squeue **q);

#ifdef __cplusplus
}
#endif
#endif
