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

#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MC__SPIN_US_DEFAULT 50
#define MC__SPIN_OVER_NS 5000u /* the poll while CPUs are oversubscribed */

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
 *  - for at most MC__SPIN_OVER_NS while the machine has more runnable
 *    tasks than CPUs (/proc/loadavg's running count, read at most every
 *    10 ms): a reply already on its way is still caught (a sender that
 *    keeps a box busy), a long poll is not made (turning it off entirely
 *    cut camlbox.tput_1to1 by 4 on a loaded machine);
 *  - after k polls in a row that did not pay, not for the next 2^k - 1
 *    waits (at most 63); a wait whose message came within the poll's
 *    bound, polled or not, resets that.
 * The state is the waiter's own (one per box or sender handle). */
typedef struct mc__spin_ctl {
    uint32_t misses;  /* polls in a row that did not pay */
    uint32_t skip;    /* waits left that do not poll */
} mc__spin_ctl;

/* 1 if more tasks are runnable than there are CPUs online (cached for
 * 10 ms per translation unit; 0 if /proc cannot tell). */
static inline int mc__oversubscribed(void)
{
    static uint64_t checked_at; /* mc__now_ns() of the last look */
    static int over, ncpu;
    uint64_t now = mc__now_ns();
    if (now - __atomic_load_n(&checked_at, __ATOMIC_RELAXED) <
        10u * 1000 * 1000)
        return __atomic_load_n(&over, __ATOMIC_RELAXED);
    __atomic_store_n(&checked_at, now, __ATOMIC_RELAXED);
    if (!__atomic_load_n(&ncpu, __ATOMIC_RELAXED)) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        __atomic_store_n(&ncpu, n > 0 ? (int)n : 1, __ATOMIC_RELAXED);
    }
    char buf[128];
    int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC), o = 0;
    if (fd >= 0) {
        ssize_t r = read(fd, buf, sizeof buf - 1);
        close(fd);
        /* "0.50 0.40 0.30 RUNNING/TOTAL LASTPID" */
        const char *p = r > 0 ? (buf[r] = '\0', buf) : NULL;
        for (int f = 0; p && f < 3; f++)
            p = (p = strchr(p, ' ')) ? p + 1 : NULL;
        if (p)
            o = atoi(p) > __atomic_load_n(&ncpu, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&over, o, __ATOMIC_RELAXED);
    return o;
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
    if (max_ns > MC__SPIN_OVER_NS && mc__oversubscribed())
        return MC__SPIN_OVER_NS;
    return max_ns;
}

/* What the wait showed: paid = its message came within the poll's bound. */
static inline void mc__spin_note(mc__spin_ctl *c, int paid)
{
    if (paid) {
        c->misses = 0;
        c->skip = 0;
    } else if (c->skip == 0) {
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
