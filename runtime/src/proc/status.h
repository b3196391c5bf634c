/* proc/status.h: the session's status file, for `mcadmin list` (internal).
 *
 * The master keeps DIR/mcore.status (DIR: the session's socket directory)
 * up to date: rewritten in place (it is mapped) when a process starts,
 * ends or is joined, and when a resource is made or removed.  It is
 * removed with the directory's lock (manifest.c: mc__dir_unlock), so one
 * that remains belongs to a master that died: `mcadmin list` says the
 * session is not live (its lock is free) and shows the last status.
 *
 * Format: text lines of space-separated fields; a NAME field is last and
 * runs to the end of the line; NUL bytes end the text (the file keeps its
 * size).  The first line, MC__STATUS_HDR bytes wide, names the version
 * and a sequence number (20 digits): odd while the master rewrites the
 * rest.  A reader reads the file, then the first line again, and takes
 * what it read if both numbers are even and equal (a seqlock; mcadmin.c:
 * read_status).  A reader skips lines of kinds it does not know.
 *
 *     mcore-status 1 SEQ
 *     session OSPID UNIXTIME PROG        the master's OS pid, when written
 *     proc PID OSPID PARENT STATE TYPE   one per process, the master (pid
 *                                        0, parent -1, type "master") first
 *     res ID KIND SIZE HOLDERS NAME      one per resource
 *
 * STATE: running; joining (blocked in mc_join); exiting (its outcome is
 * in, it is not reaped yet); ended (reaped, its outcome waits for a join).
 * TYPE: the process type's name (mc_def_process_named), or "-".  KIND:
 * shm, shm_named, file, sem, fork_point, join_point, pool, camlbox.  SIZE
 * in bytes (0 if none); NAME: the object's name (shm, sem, file path), the
 * process type's of a fork or join point, or "-".
 */
#ifndef MC_PROC_STATUS_H
#define MC_PROC_STATUS_H

#include <stddef.h>
#include <stdint.h>

#define MC__STATUS_FILE "mcore.status"
#define MC__STATUS_MAGIC "mcore-status"
#define MC__STATUS_VERSION 1
/* "mcore-status 1 " + 20 digits + "\n" */
#define MC__STATUS_HDR (sizeof MC__STATUS_MAGIC + 2 + 20 + 1)

/* Master: rewrite the status file from the master's tables.  Best effort:
 * a failure to write it only leaves the previous version. */
void mc__status_write(void);

/* Also for stat.c: a process's STATE above, and the keys of a table of
 * the server, sorted (malloc()ed; NULL if none or no memory). */
struct mc__proc;
struct mc__idmap;
const char *mc__status_state(const struct mc__proc *p);
int64_t *mc__status_keys(const struct mc__idmap *m, size_t *n);

#endif
