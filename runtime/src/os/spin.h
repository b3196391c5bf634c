/* spin.h: bounded polling before sleeping.
 *
 * Waking a sleeping process costs tens of microseconds on a virtual machine
 * (measured here: 50-59 us for a cross-core futex round trip), while a reply
 * often comes within a few.  So a waiter polls for a short, bounded time,
 * yielding the CPU between polls (on a small machine the process it waits
 * for may need that CPU), and only then sleeps.  The bound keeps an idle
 * waiter from burning a core. */
#ifndef MC_SPIN_H
#define MC_SPIN_H

#include <sched.h>
#include <stdint.h>
#include <time.h>

#define MC__SPIN_US_DEFAULT 50
#define MC__SPIN_LOST_NS 10000u /* a gap this long: the CPU went elsewhere */

static inline uint64_t mc__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One pause between polls: give way to a runnable process on this CPU. */
static inline void mc__spin_pause(void)
{
    sched_yield();
}

/* A few cycles' pause inside a tight poll (the CPU's spin-wait hint). */
static inline void mc__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* ------------------------------------------------- adaptive polling
 *
 * A poll pays when what it waits for comes while it polls; one that ends
 * in a sleep burnt CPU for nothing, and when runnable processes outnumber
 * the CPUs it burnt it away from the process being waited for (13
 * processes passing a token through camlboxes on 2 CPUs took twice as long
 * with polling as without).  So a waiter polls only while polling pays:
 *  - a poll that lost its CPU to another task between two of its checks
 *    (it yielded, or was preempted: mc__spin_lost) stops at once: its
 *    CPU is wanted, perhaps by the process it waits for.  If nothing came
 *    it did not pay; if its message came meanwhile it counts neither way
 *    (in a crowded ring it delayed the sender, on a machine loaded by
 *    others it merely waited its turn: counted as a miss, it cut
 *    camlbox.tput_1to1 by 3 there, as a machine-wide count of runnable
 *    tasks, tried first, cut it by 2 to 4) -- except in a camlbox wait
 *    that yielded and got one message, which a sleep would have got as
 *    well: a miss there (in a ring of 12 processes such polls kept a
 *    third of the waits polling; a poll preempted by other jobs, or one
 *    that finds many messages, still counts neither way);
 *  - after k polls in a row that did not pay, not for the next 2^k - 1
 *    waits (at most 63), and the next poll (a probe) keeps its CPU for
 *    MC__SPIN_PROBE_NS before it first yields, not the caller's whole
 *    tight phase: a probe that goes on failing costs a few microseconds;
 *  - only a poll that pays resets that.  A wait that did not poll and
 *    whose message came soon says little: on a crowded machine messages
 *    come soon *because* nobody polls (a ring of 12 processes on 2 CPUs:
 *    each wait lasts 11 hops, about the bound), and letting such waits
 *    turn polling back on made every few waits poll again, for nothing.
 * The state is the waiter's own (one per box or sender handle). */
typedef struct mc__spin_ctl {
    uint32_t misses;  /* polls in a row that did not pay */
    uint32_t skip;    /* waits left that do not poll */
} mc__spin_ctl;

#define MC__SPIN_PROBE_NS 2000u

/* Did a poll lose its CPU between two of its checks at prev and now (ns)?
 * A check is a few dozen `pause`s or one sched_yield (about a microsecond
 * alone on a VM): a gap above MC__SPIN_LOST_NS means that another task
 * ran meanwhile, because the poll yielded to it or was preempted. */
static inline int mc__spin_lost(uint64_t prev, uint64_t now)
{
    return now - prev > MC__SPIN_LOST_NS;
}

/* Yield the CPU once: 1 if it was lost meanwhile (another task ran), for
 * polls that check once per yield (sbuffer, squeue). */
static inline int mc__spin_yield_lost(void)
{
    uint64_t t0 = mc__now_ns();
    sched_yield();
    return mc__spin_lost(t0, mc__now_ns());
}

/* How long to poll now, at most max_ns: 0 while polls do not pay. */
static inline uint64_t mc__spin_budget(mc__spin_ctl *c, uint64_t max_ns)
{
    if (max_ns == 0)
        return 0;
    if (c->skip) {
        c->skip--;
        return 0;
    }
    return max_ns;
}

/* How long this poll may keep its CPU before it first yields: the
 * caller's tight phase while polls pay, MC__SPIN_PROBE_NS in a probe. */
static inline uint64_t mc__spin_tight(const mc__spin_ctl *c,
                                      uint64_t tight_ns)
{
    return c->misses && tight_ns > MC__SPIN_PROBE_NS ? MC__SPIN_PROBE_NS
                                                     : tight_ns;
}

/* What a wait that polled showed: paid = its message came while it
 * polled.  (A wait that did not poll tells nothing: no call.) */
static inline void mc__spin_note(mc__spin_ctl *c, int paid)
{
    if (paid) {
        c->misses = 0;
        c->skip = 0;
    } else {
        if (c->misses < 6)
            c->misses++;
        c->skip = (1u << c->misses) - 1;
    }
}

/* The absolute CLOCK_MONOTONIC time timeout_ms (>= 0) from now: timed
 * waits use it so that a wall-clock change or a restart after EINTR does
 * not move their deadline. */
static inline struct timespec mc__deadline_ms(int64_t timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000);
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

#endif
