/* mcore/error.h: error codes shared by every mcore function.
 *
 * Every fallible mcore function returns 0 on success or one of the negative
 * MC_E* codes below.  The codes sit far below the errno range so they can
 * never be confused with a negated errno value.  After a failure,
 * mc_last_error_detail() says in words what was wrong (per thread).
 */
#ifndef MCORE_ERROR_H
#define MCORE_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
    MC_OK = 0,
    MC_EINVAL = -30500,  /**< invalid argument (bad id, NULL, out of range) */
    MC_ESTATE,           /**< call not allowed in this state or process */
    MC_ENOENT,           /**< no such resource, process or name */
    MC_ENOMEM,           /**< out of memory (local, shared or pool) */
    MC_ESYS,             /**< a system call failed; the detail names it */
    MC_ETYPE,            /**< object of the wrong kind or type id */
    MC_EAGAIN,           /**< not ready yet, or would block */
    MC_E2BIG,            /**< value too large for its destination */
    MC_EBUSY,            /**< in use by someone else (e.g. a running master) */
    MC_ELOST,            /**< the session is gone (its server ended); a
                              worker should exit */
    MC_EOWNERDEAD,       /**< lock acquired; its previous owner died */
    MC_EPOISONED,        /**< lock's protected state was declared lost */
    MC_EEXIST,           /**< a named object already exists */
    MC_ETIMEDOUT,        /**< a timed wait ran out of time */
    MC_EPROCESS,         /**< a process ended without a result (see its
                              join result: error, exit status or signal) */
    MC_EDEAD,            /**< a process this call depends on died (e.g. a
                              sender of a camlbox, see mc_camlbox_wait) */
    MC_ECLOSED,          /**< the container was closed (for a read: and
                              is drained; see mc_squeue_close) */
    MC_ELAST_            /* not an error: one past the last code */
};

/** A static English description of an mcore code (or of a negated errno).
 *  Never NULL. */
const char *mc_strerror(int code);

/** What went wrong in the last failing mcore call of this thread, in words
 *  ("mc_join: pid 7 was already joined").  Never NULL.
 *
 *  Read it after a call that returned an error code, before the next mcore
 *  call of the same thread: it then describes that failure, starting with
 *  the function's name (every error path writes it; a failure in the master
 *  that a worker's request met comes back with the master's words).  After
 *  a call that succeeded it is meaningless: it may hold an earlier
 *  failure's words.  (The calls of process.h and resource.h write nothing
 *  when they succeed, not even for a condition they handled, such as
 *  polling for the master's reply.)  A worker starts with "", and a body's
 *  failure travels to its join (process.h, mc_join_result). */
const char *mc_last_error_detail(void);

#ifdef __cplusplus
}
#endif
#endif
