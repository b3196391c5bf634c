/* error.c: mc_strerror and the per-thread error detail. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

static _Thread_local char detail[512];

static const char *const messages[] = {
    [MC_EINVAL - MC_EINVAL] = "invalid argument",
    [MC_ESTATE - MC_EINVAL] = "not allowed in this state or process",
    [MC_ENOENT - MC_EINVAL] = "no such resource, process or name",
    [MC_ENOMEM - MC_EINVAL] = "out of memory",
    [MC_ESYS - MC_EINVAL] = "system call failed",
    [MC_ETYPE - MC_EINVAL] = "wrong kind or type",
    [MC_EAGAIN - MC_EINVAL] = "not ready, or would block",
    [MC_E2BIG - MC_EINVAL] = "too large",
    [MC_EBUSY - MC_EINVAL] = "in use",
    [MC_ELOST - MC_EINVAL] = "the session is gone (its server ended)",
    [MC_EOWNERDEAD - MC_EINVAL] = "previous lock owner died",
    [MC_EPOISONED - MC_EINVAL] = "protected state was declared lost",
    [MC_EEXIST - MC_EINVAL] = "already exists",
    [MC_ETIMEDOUT - MC_EINVAL] = "timed out",
    [MC_EPROCESS - MC_EINVAL] = "the process ended without a result",
    [MC_EDEAD - MC_EINVAL] = "a process this call depends on died",
    [MC_ECLOSED - MC_EINVAL] = "closed (and, for a read, drained)",
};

const char *mc_strerror(int code)
{
    if (code == 0)
        return "success";
    if (code >= MC_EINVAL && code < MC_ELAST_)
        return messages[code - MC_EINVAL];
    if (code < 0 && code > -4096)
        return strerror(-code);
    return "unknown error";
}

const char *mc_last_error_detail(void)
{
    return detail;
}

int mc__err_in(int code, const char *fn)
{
    size_t n = strlen(fn);
    if ((strncmp(detail, fn, n) == 0 && detail[n] == ':') ||
        n + 2 >= sizeof detail)
        return code;
    size_t m = strlen(detail);
    if (m > sizeof detail - 1 - (n + 2)) /* the end goes, not the front */
        m = sizeof detail - 1 - (n + 2);
    memmove(detail + n + 2, detail, m);
    memcpy(detail, fn, n);
    detail[n] = ':';
    detail[n + 1] = ' ';
    detail[n + 2 + m] = '\0';
    return code;
}

void mc__err_clear(void)
{
    detail[0] = '\0';
}

int mc__err(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return code;
}

int mc__errno(const char *what)
{
    int e = errno;
    return mc__err(e == ENOMEM ? MC_ENOMEM : MC_ESYS, "%s: %s", what,
                   strerror(e));
}
