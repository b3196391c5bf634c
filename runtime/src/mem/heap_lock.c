/* heap_lock.c: waiting for a heap's lock, and taking it over from a
 * holder that died (mem/heap_lock.h says how the lock works). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "mem/heap_lock.h"
#include "os/spin.h"

#define LK_SPIN 64
#define LK_POLL_NS (2u * 1000 * 1000)

/* State (field 3) and start time (field 22, clock ticks after boot) of
 * thread tid, from /proc; 0 when it cannot be read. */
static int thread_stat(int32_t tid, char *state, uint64_t *start)
{
    char path[48], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the name (field 2) may hold anything */
    if (!p || p[1] != ' ' || !p[2])
        return 0;
    *state = p[2];
    p += 2;
    for (int f = 3; f < 22; f++) {
        p = strchr(p, ' ');
        if (!p)
            return 0;
        p++;
    }
    *start = strtoull(p, NULL, 10);
    return 1;
}

uint64_t mc__lk_id(int32_t tid)
{
    char state;
    uint64_t start = 0;
    if (!thread_stat(tid, &state, &start))
        start = 0;
    return (uint64_t)(uint32_t)start << 32 | (uint32_t)tid;
}

/* 1 if the thread of lock id `id` is surely gone: no such thread (one
 * system call: quick says that is all to look at), a zombie, or another
 * thread under its id. */
static int holder_dead(uint64_t id, int quick)
{
    int32_t tid = (int32_t)(uint32_t)id;
    if (kill((pid_t)tid, 0) == -1 && errno == ESRCH)
        return 1;
    if (quick)
        return 0;
    char state;
    uint64_t start;
    if (!thread_stat(tid, &state, &start))
        return 0; /* cannot tell: alive */
    if (state == 'Z' || state == 'X' || state == 'x')
        return 1; /* exited (a zombie until its parent waits) */
    uint32_t tag = (uint32_t)(id >> 32);
    return tag && tag != (uint32_t)start; /* the id is another's now */
}

int mc__lk_take_slow(mc_heap *h, uint64_t me, int32_t *dead)
{
    int ws = -2, rc, timed_out = 0;
    uint64_t slept_on = 0;
    for (unsigned i = 0;; i++) {
        uint64_t cur = atomic_load_explicit(&h->lk, memory_order_relaxed);
        if (cur == 0) {
            if (atomic_compare_exchange_weak_explicit(
                    &h->lk, &cur, me, memory_order_acquire,
                    memory_order_relaxed)) {
                rc = 0;
                break;
            }
            continue;
        }
        if (cur == me) {
            rc = -1;
            break;
        }
        if (i < LK_SPIN) {
            mc__cpu_relax();
            continue;
        }
        if (ws == -2) /* inside a read of h: a collector must not wait for
                         us (mc__reader) */
            ws = mc__heap_lock_wait(h);
        /* a holder not seen before: is it there at all?  The same one
         * through a whole slice asleep: is it alive? */
        if ((cur != slept_on || timed_out) &&
            holder_dead(cur, cur != slept_on)) {
            if (atomic_compare_exchange_strong(&h->lk, &cur, me)) {
                *dead = (int32_t)(uint32_t)cur;
                rc = 1;
                break;
            }
            continue;
        }
        atomic_fetch_add(&h->lk_waiters, 1);
        uint32_t seq = atomic_load(&h->lk_seq);
        timed_out = 0;
        slept_on = cur;
        if (atomic_load(&h->lk) == cur) /* (seq_cst: see lk_release) */
            timed_out = mc__futex_wait_ns((uint32_t *)&h->lk_seq, seq,
                                          LK_POLL_NS) == ETIMEDOUT;
        atomic_fetch_sub(&h->lk_waiters, 1);
    }
    if (ws != -2)
        mc__heap_lock_waited(h, ws);
    return rc;
}

