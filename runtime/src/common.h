/* common.h: internal helpers shared by every runtime module (not installed).
 * Internal, non-static symbols carry the mc__ prefix. */
#ifndef MC_COMMON_H
#define MC_COMMON_H

#include <stddef.h>
#include "mcore/error.h"

#define MC_UNUSED(x) ((void)(x))
#define MC_LIKELY(x) __builtin_expect(!!(x), 1)
#define MC_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Record what went wrong (printf-style) for mc_last_error_detail() and
 * return `code`, so that error paths read `return mc__err(MC_EINVAL, ...)`. */
int mc__err(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), cold));

/* mc__err for a failed system call: MC_ESYS (MC_ENOMEM for ENOMEM), with
 * "what: strerror(errno)" as the detail.  Reads errno. */
int mc__errno(const char *what) __attribute__((cold));

/* Put "fn: " in front of the detail unless it starts so already (a detail
 * written below a public function that serves several: the master's
 * handlers).  Returns code. */
int mc__err_in(int code, const char *fn) __attribute__((cold));

/* Empty this thread's detail (a worker before its body, the master before
 * each request it serves: what they report afterwards is their own). */
void mc__err_clear(void);

#endif
