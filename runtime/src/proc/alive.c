/* alive.c: whether the session is still there (alive.h). */
#include "proc/alive.h"

#include <string.h>
#include <sys/wait.h>

#include "common.h"
#include "proc/state.h"

int mc__alive_sliced(void)
{
    const mc__worker *w = mc__W;
    return w && w->self == 0 && w->master_ospid > 0;
}

int mc__alive_check(const char *fn)
{
    if (!mc__alive_sliced())
        return 0;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)mc__W->master_ospid, &si,
               WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == 0)
        return 0;
    return mc__err(MC_ELOST, "%s: the session is gone (its server ended, "
                             "and every worker with it)", fn);
}

const struct timespec *mc__alive_deadline(const struct timespec *dl,
                                          struct timespec *slice)
{
    if (!mc__alive_sliced())
        return dl;
    clock_gettime(CLOCK_MONOTONIC, slice);
    slice->tv_nsec += MC__ALIVE_SLICE_NS;
    if (slice->tv_nsec >= 1000000000) {
        slice->tv_sec++;
        slice->tv_nsec -= 1000000000;
    }
    if (dl && (dl->tv_sec < slice->tv_sec ||
               (dl->tv_sec == slice->tv_sec && dl->tv_nsec < slice->tv_nsec)))
        return dl;
    return slice;
}
