/* mcore/startup.h: turning the calling process into the master.
 *
 * mc_startup() makes the calling process the master of a session: it takes
 * a socket directory (its lock, and the manifest of named shared objects),
 * removes what a crashed earlier run with the same directory left behind,
 * and forks the session server, a small process of mcore's own that keeps
 * the tables, forks every worker and answers every process's requests
 * (process.h, "The master and the session server").  Then it runs `first`
 * in the master, which may start workers, wait on camlboxes, join, and
 * block in any mcore call; when `first` returns, mc_startup waits until no
 * worker is left, lets the server clean up, and returns.
 */
#ifndef MCORE_STARTUP_H
#define MCORE_STARTUP_H

#include "mcore/process.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Session options.  A zeroed struct (or NULL) gives the defaults. */
typedef struct mc_config {
    /** Directory for the session's lock file, manifest and status file
     *  (its processes and resources, for `mcadmin list`; removed with the
     *  lock when the session ends).  NULL: a
     *  directory of the session's own, session.XXXXXX under the user's
     *  sessions directory ($XDG_RUNTIME_DIR/mcore when XDG_RUNTIME_DIR
     *  names a directory of the effective user, else
     *  ${TMPDIR:-/tmp}/mcore-EUID; created 0700, checked like any socket
     *  directory), removed when the session ends.  A master killed
     *  outright leaves its directory there, lock free, only when
     *  its session server was killed too (a master killed alone is
     *  cleaned up after by the server): the next session with socket_dir
     *  NULL, or `mcadmin unlink` with no DIR, removes what its manifest
     *  lists, then the directory.  Two running sessions
     *  cannot share a directory (MC_EBUSY).  Created (0700) if missing.  mcore trusts nothing it did not make there: an existing
     *  directory must belong to the effective user and not be writable by
     *  its group or others (else MC_EINVAL); its lock and manifest are
     *  opened without following links and must be plain files of that
     *  user; a manifest lists only objects whose names mcore makes (shm
     *  and semaphore names, one component in /dev/shm, removed after a
     *  crash only while they belong to this user; files directly in this
     *  directory), so a forged one cannot make mcore remove anything
     *  else. */
    const char *socket_dir;
    /** Nonzero: do not remove the objects listed by a crashed run's
     *  manifest; fail with MC_EBUSY instead if one is found (socket_dir
     *  NULL: stale sessions are left for mcadmin). */
    int no_unlink;
    /** Microseconds a process polls for an awaited message (a reply, a
     *  request) before it sleeps: waking a sleeper costs tens of
     *  microseconds on some machines.  0: the default (50); negative: never
     *  poll.  Polling yields the CPU between polls. */
    int spin_us;
    /** Bytes of address space reserved for pools (the sum of their
     *  maximum sizes, each rounded up to 2 MiB plus a 2 MiB guard gap, in
     *  one session).  0: 1 TiB.  No memory is used until pools grow.
     *  At least 4 MiB (one pool) and at most 64 TiB (2^46), else
     *  MC_EINVAL; if the system refuses the size, halves are tried down to
     *  1 GiB (or the size asked, if smaller), then MC_ENOMEM. */
    size_t window_size;
    /** Milliseconds the session may last, from mc_startup; 0: no limit.
     *  When they run out, every worker still running is killed
     *  (SIGKILL; its join reports MC_EXIT_SIGNAL), mc_start returns
     *  MC_ETIMEDOUT, and mc_startup (mc_run) returns MC_ETIMEDOUT once
     *  `first` has returned.  Negative: MC_EINVAL.  So a worker that
     *  hangs cannot make a session hang forever. */
    int deadline_ms;
    /** Nonzero: workers that fail (their body returns an error, or they
     *  are killed by a signal, or exit before their body returned) are
     *  not reported on stderr.  By default each such end is reported, one
     *  line ("mcore: worker 3 (pid 1234) was killed by signal 11
     *  (Segmentation fault)"), as the original logs an uncaught
     *  exception; ends asked for (mc_kill, mc_cancel, the deadline, a stop
     *  signal, the master's death) are not, nor a death by SIGINT (the
     *  terminal's Ctrl-C reaches every process of the group). */
    int quiet;
    /** Nonzero: the first worker that fails (as `quiet` counts failures:
     *  its body returns an error, a signal other than SIGINT kills it, or
     *  it exits before its body returned; not the ends asked for) ends
     *  the session, as a broken process pool: every other worker is
     *  killed and the session server cleans up and ends.  The master's
     *  calls and waits (mc_join, queue and box waits, semaphores...)
     *  then return MC_ELOST instead of waiting for workers that will not
     *  come, and mc_startup returns MC_EPROCESS naming the worker.  By
     *  default a failure is only reported, and the others go on. */
    int end_on_failure;
} mc_config;

/** Called once in the master when the session is ready: starts workers
 *  (mc_start), and may wait for them (mc_join, camlbox waits...).  On a
 *  0 return the session goes on until every worker has ended.  A negative
 *  return ends it: the workers still running are killed (SIGKILL, and not
 *  reported as failed: nobody is left to join them or to send them what
 *  they may wait for), and mc_startup returns it. */
typedef int mc_first_fn(void *ctx);

/** Run a session.  Not reentrant; not from a worker.  first (may be NULL)
 *  runs in the master once the session is ready; a negative return ends
 *  the session, killing the workers still running (mc_first_fn), and is
 *  returned.
 *
 *  SIGINT and SIGTERM, when the program leaves them at SIG_DFL and
 *  unblocked, end the session cleanly wherever the master is (in its own
 *  code or in an mcore call): every worker is killed (SIGKILL), everything
 *  the session made is removed, and then the signal is raised again with
 *  its default action, so the program ends as it would have (mc_startup
 *  does not return).  A second such signal ends the master at once; the
 *  session server still removes everything.  Workers get the program's own
 *  dispositions.  The master killed outright (SIGKILL) is cleaned up after
 *  the same way.
 *  @return 0 when every worker has ended, first's negative return, or
 *   - MC_ETIMEDOUT cfg->deadline_ms passed (the workers were killed)
 *   - MC_EPROCESS cfg->end_on_failure: a worker failed, and the session
 *               ended (the detail names the worker)
 *   - MC_ELOST  the session server died (killed): the workers are gone,
 *               and mc_startup removed what the session made itself
 *   - MC_EINVAL cfg->deadline_ms negative
 *   - MC_ESTATE a session is already running in this process
 *   - MC_EBUSY  another master holds socket_dir, or (no_unlink) leftovers
 *   - MC_EINVAL socket_dir longer than 200 bytes, not a directory, not
 *               owned by the effective user, writable by group or others,
 *               or holding a lock or manifest that is a link or not a
 *               plain file of this user (the detail names the path)
 *   - MC_EINVAL window_size below 4 MiB or above 64 TiB
 *   - MC_ENOMEM out of memory, or no address window could be reserved
 *   - MC_ESYS   a system call failed (detail names it and the path) */
int mc_startup(const mc_config *cfg, mc_first_fn *first, void *ctx);

/** Run a session whose first process is started at fork_point with arg,
 *  and hand back that process's outcome (like Netmcore.run with
 *  extract_result).  Returns when every worker has ended.
 *  @param result  receives the outcome; free with mc_join_result_free
 *  @return 0, or the errors of mc_startup and mc_start */
int mc_run(const mc_config *cfg, mc_res_id fork_point, mc_res_id join_point,
           const void *arg, size_t len, mc_join_result *result);

#ifdef __cplusplus
}
#endif
#endif
