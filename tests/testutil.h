/* tests/testutil.h: helpers shared by the cmocka tests of the runtime.
 *
 * Three groups:
 *
 *  - Leak checks for the master (the test process).  tu_begin() records the
 *    open descriptors of the process and the entries of /dev/shm;
 *    tu_end() asserts that no child process remains, that no descriptor
 *    was left open (a memfd above all) and that /dev/shm holds no new mcore
 *    object.  Every test that runs a session brackets it with them.
 *
 *  - Checks inside workers.  A worker is a forked child: cmocka's assert
 *    macros must never run there.  W_CHECK / W_RC record failures in a
 *    per-process report; tu_w_finish() hands the report back as the body's
 *    result bytes; in the master, tu_assert_report() fails the test with
 *    the report when it is not empty.
 *
 *  - Small utilities: error names, temporary socket directories, /dev/shm
 *    and manifest probes, timeouts, the path of mcadmin.
 */
#ifndef MCORE_TESTS_TESTUTIL_H
#define MCORE_TESTS_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <semaphore.h>
#include <sys/types.h>

#include "mcore/mcore.h"

/* ------------------------------------------------------------ errors */

/** "MC_EINVAL", "MC_ENOENT", ...; "0" for 0; "?(n)" otherwise (static
 *  buffer for unknown codes). */
const char *tu_code_name(int code);

/** "MC_EINVAL (invalid argument ...): <detail of the last error>" into a
 *  static buffer: the thing to print after a failing mcore call. */
const char *tu_err(int code);

/** "RESULT len=5", "ERROR code=-42", "STATUS 3", "SIGNAL 9 (Killed)". */
const char *tu_kind_str(const mc_join_result *r);

/** Master: assert that an mcore call returned `expect`, printing the names,
 *  mc_strerror and mc_last_error_detail otherwise. */
#define tu_assert_rc(rc, expect) \
    tu_assert_rc_(rc, expect, #rc, __FILE__, __LINE__)
void tu_assert_rc_(int rc, int expect, const char *what, const char *file,
                   int line);

/* ------------------------------------------------- leak checks (master) */

/** Record the state of the test process: open descriptors (number and
 *  readlink target), /dev/shm entries.  Also flushes stdio (so that forked
 *  workers do not print cmocka's buffered output twice), resets the worker
 *  report of the master, and sets the signals cmocka catches (SEGV, BUS,
 *  FPE, ILL, SYS) back to SIG_DFL, so that a worker that crashes dies of
 *  the signal instead of jumping into cmocka's runner. */
void tu_begin(void);

/** After the session(s): fail the test when a child process remains
 *  (running or zombie), when a descriptor was opened since tu_begin()
 *  (memfds named as such), or when /dev/shm has a new entry whose name
 *  contains "mcore" (one that survives a 3 s grace period: another test
 *  process may run at the same time), or when a new $TMPDIR/mcore.* entry
 *  or $TMPDIR/mcore-EUID/session.* entry (a private socket directory)
 *  was left behind.  The first tu_begin() points TMPDIR at a directory of
 *  this process's own (removed at exit) and unsets XDG_RUNTIME_DIR, so
 *  that default sessions live there and other processes' private
 *  directories are not counted. */
#define tu_end() tu_end_(__FILE__, __LINE__)
void tu_end_(const char *file, int line);

/** The same checks, returning 0 when clean, else -1 with a description in
 *  buf.  Exposed for tests that check in several places. */
int tu_check_clean(char *buf, size_t cap);

/* --------------------------------------------- checks inside workers */

/** Start a fresh report (call at the top of each body). */
void tu_w_reset(void);
/** Record a failure (printf-style). */
void tu_w_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** Number of failures recorded since tu_w_reset(). */
int tu_w_failed(void);
/** The report so far ("" when clean). */
const char *tu_w_report(void);
/** End a body: *result gets a malloc()ed copy of the report (NULL and 0
 *  when clean); returns 0, to be returned by the body. */
int tu_w_finish(void **result, size_t *result_len);

#define W_CHECK(cond, ...)                                                  \
    do {                                                                    \
        if (!(cond)) {                                                      \
            tu_w_fail(__FILE__, __LINE__, "check `%s` failed: ", #cond);   \
            tu_w_fail(NULL, 0, __VA_ARGS__);                                \
        }                                                                   \
    } while (0)

/** Evaluate an mcore call and record a failure unless it returned
 *  `expect`; yields the return code. */
#define W_RC(call, expect) \
    tu_w_rc_((call), (expect), #call, __FILE__, __LINE__)
int tu_w_rc_(int rc, int expect, const char *what, const char *file,
             int line);

/** Worker: join pid and require a clean report from it (kind RESULT and no
 *  bytes); otherwise record a failure that quotes its report.  `what` names
 *  the joined process in the message.  Returns 0 when clean. */
#define W_JOIN_OK(jp, pid, what) \
    tu_w_join_ok_((jp), (pid), (what), __FILE__, __LINE__)
int tu_w_join_ok_(mc_res_id jp, mc_pid pid, const char *what,
                  const char *file, int line);

/** Master: the outcome of a session whose first process is a checking
 *  driver.  Fails the test unless rc == 0, the kind is RESULT and the
 *  report is empty; frees the result. */
#define tu_assert_report(rc, res) \
    tu_assert_report_((rc), (res), __FILE__, __LINE__)
void tu_assert_report_(int rc, mc_join_result *res, const char *file,
                       int line);

/** Master: fail the test if the master's own report (checks made in a
 *  `first` function with W_CHECK/W_RC) is not empty. */
#define tu_assert_master_report() \
    tu_assert_master_report_(__FILE__, __LINE__)
void tu_assert_master_report_(const char *file, int line);

/* ----------------------------------------------------------- drivers */

/** A driver: code run in a worker that checks with W_CHECK/W_RC.  Its
 *  report becomes the worker's result.  A function pointer may travel as
 *  bytes because every worker is a fork of the master (same addresses). */
typedef void tu_driver_fn(const void *arg, size_t len);

/** The process type that runs drivers (defined by tu_def_driver()). */
extern mc_res_id tu_driver_fp, tu_driver_jp;

/** Define the driver process type (master, before any session; does
 *  nothing the second time).  Fails the test on error. */
void tu_def_driver(void);

/** A cmocka group setup that only calls tu_def_driver(). */
int tu_group_setup_driver(void **state);

/** From any process of a session: start fn(arg, len) in a new worker
 *  (inheriting what the caller holds / exactly `inherit`; tu_start_fn_ex
 *  with inherit NULL and n 0 passes a non-NULL empty list). */
int tu_start_fn(tu_driver_fn *fn, const void *arg, size_t len, mc_pid *pid);
int tu_start_fn_ex(tu_driver_fn *fn, const void *arg, size_t len,
                   const mc_res_id *inherit, size_t n, mc_pid *pid);

/** Master: run a session whose first process runs fn(arg, len); assert that
 *  it ended cleanly with an empty report. */
#define tu_drive(cfg, fn, arg, len) \
    tu_drive_((cfg), (fn), (arg), (len), __FILE__, __LINE__)
void tu_drive_(const mc_config *cfg, tu_driver_fn *fn, const void *arg,
               size_t len, const char *file, int line);

/* -------------------------------------------------------- utilities */

/** A fresh directory /tmp/mcore-test.XXXXXX (malloc()ed path). */
char *tu_mkdtemp(void);
/** Remove a directory tree (best effort); frees nothing. */
void tu_rmtree(const char *path);

/** 1 if a POSIX shm name ("/x") exists in /dev/shm, else 0. */
int tu_shm_exists(const char *name);
/** 1 if a POSIX named semaphore ("/x") exists (/dev/shm/sem.x). */
int tu_sem_exists(const char *name);
/** 1 if path exists (lstat). */
int tu_path_exists(const char *path);
/** Path in /dev/shm of a shm name or (sem != 0) a semaphore name. */
void tu_devshm_path(const char *name, int sem, char *buf, size_t cap);

/** Wait up to ms milliseconds until exists() of the object is `want`;
 *  returns 1 when reached. kind: 's' shm, 'e' sem, 'f' file. */
int tu_wait_exists(char kind, const char *name, int want, int ms);
/** exists() for kind 's', 'e', 'f'. */
int tu_exists(char kind, const char *name);

/** 1 if DIR/mcore.manifest has the exact line `line`, 0 if not (or no
 *  manifest). */
int tu_manifest_has(const char *dir, const char *line);
/** 1 if DIR/mcore.manifest exists. */
int tu_manifest_exists(const char *dir);

/** Path of mcadmin next to this test binary's build tree:
 *  dirname(dirname(/proc/self/exe))/mcadmin. Static buffer. */
const char *tu_mcadmin_path(void);

/** An absolute CLOCK_REALTIME deadline ms milliseconds from now. */
struct timespec tu_deadline(int ms);
/** sem_timedwait with a timeout in ms; 0 or -1 (errno). */
int tu_sem_wait_ms(sem_t *s, int ms);
/** Milliseconds of CLOCK_MONOTONIC. */
int64_t tu_now_ms(void);
/** Sleep ms milliseconds. */
void tu_sleep_ms(int ms);

/** Fill / check a deterministic byte pattern (seeded). tu_pattern_check
 *  returns the index of the first wrong byte, or (size_t)-1 when right. */
void tu_pattern_fill(void *buf, size_t len, uint32_t seed);
size_t tu_pattern_check(const void *buf, size_t len, uint32_t seed);

#endif
