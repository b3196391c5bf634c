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
