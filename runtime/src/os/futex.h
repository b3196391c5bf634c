/* futex.h: sleeping on a 32-bit word in shared memory.  Not FUTEX_PRIVATE:
 * the words live in memory shared between processes (mapped at different
 * addresses in a camlbox), and the kernel keys shared futexes by page. */
#ifndef MC_FUTEX_H
#define MC_FUTEX_H

#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Sleep while *addr == val, until woken or the absolute CLOCK_MONOTONIC
 * deadline (NULL: none).  An absolute deadline (FUTEX_WAIT_BITSET) is not
 * extended by a restart after EINTR.  0 or an errno (EAGAIN, EINTR,
 * ETIMEDOUT). */
static inline int mc__futex_wait(uint32_t *addr, uint32_t val,
                                 const struct timespec *deadline)
{
    long r = syscall(SYS_futex, addr, FUTEX_WAIT_BITSET, val, deadline,
                     NULL, FUTEX_BITSET_MATCH_ANY);
    return r == 0 ? 0 : errno;
}

/* The same with a relative timeout of ns nanoseconds. */
static inline int mc__futex_wait_ns(uint32_t *addr, uint32_t val,
                                    uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u),
                          (long)(ns % 1000000000u)};
    long r = syscall(SYS_futex, addr, FUTEX_WAIT, val, &ts, NULL, 0);
    return r == 0 ? 0 : errno;
}

/* Wake up to n sleepers on addr. */
static inline void mc__futex_wake(uint32_t *addr, int n)
{
    syscall(SYS_futex, addr, FUTEX_WAKE, n, NULL, NULL, 0);
}

#endif
