/* heap_lock.h: a heap's lock (mc_heap.lk, lk_seq, lk_waiters; heap.c's
 * heap_lock and heap_unlock use it).
 *
 * A heap's lock was a robust pthread mutex: its calls and the robust-list
 * bookkeeping around each lock and unlock were a quarter of a hash table
 * add (~280 instructions).  It is now a word: 0 when free, else its
 * holder's lock id (mc__lk_id); one CAS takes it, one exchange releases
 * it.  What the robust mutex got from the kernel, the lock of a holder
 * that died, the next locker finds itself: a word that names a thread
 * that is gone (no such thread; a zombie; a thread started at another
 * time under a reused id) is taken over by CAS, and the taker gets
 * MC_EOWNERDEAD, as from the robust mutex.  A waiter asks whether a
 * holder it meets is there at all (kill 0) before it sleeps; it sleeps on
 * lk_seq in slices of 2 ms and looks closer (/proc) after a slice that
 * nobody ended (a dead holder wakes nobody). */
#ifndef MC_MEM_HEAP_LOCK_H
#define MC_MEM_HEAP_LOCK_H

#include <stdint.h>

#include "mem/heap_internal.h"
#include "os/futex.h"

/* Thread tid's lock id: the tid, and its start time's low 32 bits (0 if
 * /proc cannot say) above, so that a reused tid names another holder. */
uint64_t mc__lk_id(int32_t tid);

/* The lock is taken (a CAS from 0 to me failed): wait for it.  0 when
 * taken, 1 when taken over from a dead holder (*dead: its tid), -1 when
 * me holds it already. */
int mc__lk_take_slow(mc_heap *h, uint64_t me, int32_t *dead);

/* A sleeper counts itself, reads lk_seq, then sees the lock taken, in
 * that order; the release frees the lock, then reads the count: either
 * the sleeper sees the lock free, or the release sees it and moves lk_seq
 * on, which ends (or forestalls) its sleep. */
static inline void mc__lk_release(mc_heap *h)
{
    atomic_exchange(&h->lk, 0);
    if (MC_UNLIKELY(atomic_load(&h->lk_waiters))) {
        atomic_fetch_add(&h->lk_seq, 1);
        mc__futex_wake((uint32_t *)&h->lk_seq, 1);
    }
}

#endif
