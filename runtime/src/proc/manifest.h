/* proc/manifest.h: the manifest of named objects in the socket directory,
 * the directory lock held by a running master, and the per-user parent of
 * the default session directories (internal).
 *
 * DIR/mcore.manifest lists, one per line, every named object the master
 * created and has not yet removed, as "KIND NAME\n":
 *
 *     shm /mcore.1a2b3c
 *     sem /mcore.4d5e
 *     file /tmp/x/mcore.tmp.12
 *
 * Lines are appended with a single O_APPEND write, so they never
 * interleave and survive a killed process.  After a crash, `mcadmin unlink
 * DIR` (or mc__manifest_unlink_all) removes what is left.  DIR/mcore.lock is
 * flock()ed by the running master so that cleanup never removes live
 * objects.
 *
 * Trust: the socket directory must be owned by the effective user and not
 * writable by group or others (else MC_EINVAL, detail naming the path);
 * every file in it is opened relative to it with O_NOFOLLOW and must be a
 * regular file of that user with one link.  A manifest names only objects
 * whose names mcore makes, so that even a forged one cannot point at
 * anything else: kinds are exactly "shm", "sem" and "file"; names have no
 * newline or control character and fewer than MC__MANIFEST_NAME_MAX
 * characters; shm and sem names are "/NAME" (POSIX names: objects in
 * /dev/shm only, NAME neither "." nor "..", no other '/') and are unlinked
 * only while the object there belongs to the effective user; file names are
 * DIR/LEAF, a file directly in the socket directory (not its lock or
 * manifest).  Other lines are skipped as corrupt, on every read.
 *
 * All functions return 0 or a negative MC_E* code (detail set).
 */
#ifndef MC_PROC_MANIFEST_H
#define MC_PROC_MANIFEST_H

#define MC__MANIFEST_FILE "mcore.manifest"
#define MC__MANIFEST_LOCK "mcore.lock"
#define MC__MANIFEST_NAME_MAX 256 /* names are strictly shorter */

/* Open DIR (O_DIRECTORY, close-on-exec) into *dfd after checking that it
 * is a directory owned by the effective user and not writable by group or
 * others.  who starts the detail ("mc_startup", "mcadmin").  MC_ENOENT if
 * it does not exist, MC_EINVAL if it is not to be trusted, MC_ESYS. */
int mc__dir_open(const char *dir, const char *who, int *dfd);

/* 0 if (kind, name) is a valid entry of DIR's manifest, else MC_EINVAL with
 * a detail. */
int mc__manifest_check(const char *dir, const char *kind, const char *name);

/* Append "kind name\n" to DIR/mcore.manifest (created 0600 if missing). */
int mc__manifest_add(const char *dir, const char *kind, const char *name);

/* Rewrite the manifest without the (first) matching line, via
 * DIR/mcore.manifest.tmp and rename; remove the file when it becomes empty.
 * MC_ENOENT if no such line (or no manifest). */
int mc__manifest_remove(const char *dir, const char *kind, const char *name);

/* Called once per valid entry; a non-zero return stops the walk and is
 * returned by mc__manifest_each. */
typedef int mc__manifest_fn(const char *kind, const char *name, void *ctx);

/* Call fn for each valid entry in file order.  A missing manifest has no
 * entries (returns 0). */
int mc__manifest_each(const char *dir, mc__manifest_fn *fn, void *ctx);

/* 1 if the object (kind, name) of a valid entry exists but belongs to
 * another user (or is not a plain file): cleanup leaves it alone.  0 if it
 * is ours or gone. */
int mc__manifest_foreign(const char *kind, const char *name);

/* Unlink every listed object (shm_unlink, sem_unlink or unlink; an object
 * already gone is fine, a foreign one is left alone), then remove the
 * manifest.  *removed (may be NULL) receives the number of objects actually
 * removed.  On a failure to unlink some object, the others are still tried,
 * the manifest is kept, and the first error is returned. */
int mc__manifest_unlink_all(const char *dir, int *removed);

/* Create/open DIR/mcore.lock (0600, close-on-exec) and take an exclusive
 * non-blocking flock.  MC_EBUSY if another open file description holds it
 * (a running master).  On success *lock_fd is the lock's descriptor. */
int mc__dir_lock(const char *dir, int *lock_fd);

/* 1 if DIR/mcore.lock is currently held by someone, 0 if not (or there is
 * no lock file), negative MC_E* on error.  Does not keep the lock. */
int mc__dir_lock_held(const char *dir);

/* Unlink DIR/mcore.lock and close fd (fd < 0: nothing). */
void mc__dir_unlock(int fd, const char *dir);

/* ------------------------------------------------ default session dirs
 *
 * With socket_dir NULL every session gets its own directory PARENT/
 * session.XXXXXX under one per-user parent, $XDG_RUNTIME_DIR/mcore when
 * XDG_RUNTIME_DIR is an absolute path to a directory of the effective
 * user, else ${TMPDIR:-/tmp}/mcore-EUID (0700, not a link, owner-checked
 * like any socket directory).  A session directory whose lock is free
 * belongs to a master that is gone: a starting session and `mcadmin
 * unlink` with no DIR remove what its manifest lists, then the directory.
 * Creating one and sweeping stale ones hold a flock on the parent, so a
 * sweep never takes a directory that is being set up. */
#define MC__SESSION_PREFIX "session."

/* The parent's path into buf (created 0700 if create), checked. */
int mc__sessions_parent(char *buf, size_t cap, int create, const char *who);

/* A fresh session directory under parent (malloc'd path in *dir), locked
 * (*lock_fd, as mc__dir_lock). */
int mc__session_create(const char *parent, char **dir, int *lock_fd);

/* Call fn with the path of each session directory under parent; a
 * non-zero return stops the walk and is returned. */
typedef int mc__session_fn(const char *dir, void *ctx);
int mc__sessions_each(const char *parent, mc__session_fn *fn, void *ctx);

/* Remove every stale session under parent (see above).  *sessions and
 * *objects (may be NULL) count what was removed.  A session that could
 * not be removed whole is kept (its manifest lists what is left); the
 * others are still tried, and the first error is returned. */
int mc__sessions_sweep(const char *parent, int *sessions, int *objects);

#endif
