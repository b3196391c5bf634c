/* proc/manifest.c: the manifest of named objects and the directory lock.
 * See manifest.h for the file format. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "proc/manifest.h"
#include "proc/stat.h"
#include "proc/status.h"

/* ---------------------------------------------------------------- helpers */

int mc__dir_open(const char *dir, const char *who, int *dfd)
{
    *dfd = -1;
    if (dir == NULL || dir[0] == '\0')
        return mc__err(MC_EINVAL, "%s: no directory given", who);
    if (strlen(dir) >= PATH_MAX - 32)
        return mc__err(MC_EINVAL, "%s: directory name too long: %.64s...",
                       who, dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return mc__err(MC_ENOENT, "%s: socket directory %s does not "
                           "exist", who, dir);
        if (errno == ENOTDIR)
            return mc__err(MC_EINVAL, "%s: socket directory %s is not a "
                           "directory", who, dir);
        int e = errno;
        return mc__err(e == ENOMEM ? MC_ENOMEM : MC_ESYS,
                       "%s: open(%s): %s", who, dir, strerror(e));
    }
    /* Whoever may write in the directory controls what its lock, manifest
     * and temporary files are (symlinks, hard links), and what the
     * manifest tells us to unlink. */
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0)
        rc = mc__errno("fstat(socket directory)");
    else if (st.st_uid != geteuid())
        rc = mc__err(MC_EINVAL, "%s: socket directory %s belongs to uid %u, "
                     "not to this user (uid %u): refused", who, dir,
                     (unsigned)st.st_uid, (unsigned)geteuid());
    else if (st.st_mode & (S_IWGRP | S_IWOTH))
        rc = mc__err(MC_EINVAL, "%s: socket directory %s is writable by "
                     "%s (mode %04o): refused", who, dir,
                     st.st_mode & S_IWOTH ? "others" : "its group",
                     (unsigned)(st.st_mode & 07777));
    if (rc) {
        close(fd);
        return rc;
    }
    *dfd = fd;
    return 0;
}

/* Open the file leaf of the trusted directory dfd without following a
 * symlink, and check that it is a regular file of ours with one link (a
 * hard link would let a truncate or write reach another file).  Returns
 * the descriptor, or -1 with errno (ENOENT: no such file) or a negative
 * MC_E* (detail set) in *rc. */
static int open_leaf(int dfd, const char *dir, const char *leaf, int flags,
                     int *rc)
{
    *rc = 0;
    int fd = openat(dfd, leaf, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                    0600);
    if (fd < 0) {
        if (errno == ENOENT)
            return -1;
        if (errno == ELOOP)
            *rc = mc__err(MC_EINVAL, "manifest: %s/%s is a symbolic link: "
                          "refused", dir, leaf);
        else {
            int e = errno;
            *rc = mc__err(e == ENOMEM ? MC_ENOMEM : MC_ESYS,
                          "manifest: open(%s/%s): %s", dir, leaf, strerror(e));
        }
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0)
        *rc = mc__errno("manifest: fstat");
    else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
             st.st_nlink != 1)
        *rc = mc__err(MC_EINVAL, "manifest: %s/%s is not a plain file of "
                      "this user with one link: refused", dir, leaf);
    if (*rc) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The leaf of a "file" entry if name is DIR/LEAF (LEAF one component, not
 * the lock or the manifest), else NULL. */
static const char *file_leaf(const char *dir, const char *name, size_t n)
{
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    if (n <= dl + 1 || memcmp(name, dir, dl) != 0 || name[dl] != '/')
        return NULL;
    const char *leaf = name + dl + 1;
    size_t ll = n - dl - 1;
    if (memchr(leaf, '/', ll) != NULL || (ll == 1 && leaf[0] == '.') ||
        (ll == 2 && leaf[0] == '.' && leaf[1] == '.'))
        return NULL;
    if ((ll == strlen(MC__MANIFEST_LOCK) &&
         memcmp(leaf, MC__MANIFEST_LOCK, ll) == 0) ||
        (ll >= strlen(MC__MANIFEST_FILE) &&
         memcmp(leaf, MC__MANIFEST_FILE, strlen(MC__MANIFEST_FILE)) == 0))
        return NULL;
    return leaf;
}

/* kind and name checked without a NUL-terminated name: name is n bytes. */
static int check_entry(const char *dir, const char *kind, size_t kind_len,
                       const char *name, size_t n)
{
    int named; /* 1: shm/sem (one leading '/'), 0: file in dir */
    if (kind_len == 3 && memcmp(kind, "shm", 3) == 0)
        named = 1;
    else if (kind_len == 3 && memcmp(kind, "sem", 3) == 0)
        named = 1;
    else if (kind_len == 4 && memcmp(kind, "file", 4) == 0)
        named = 0;
    else
        return MC_EINVAL;
    if (n < 2 || n >= MC__MANIFEST_NAME_MAX || name[0] != '/')
        return MC_EINVAL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return MC_EINVAL;
    if (!named)
        return file_leaf(dir, name, n) ? 0 : MC_EINVAL;
    if (memchr(name + 1, '/', n - 1) != NULL || n >= 200 ||
        (n == 2 && name[1] == '.') ||
        (n == 3 && name[1] == '.' && name[2] == '.'))
        return MC_EINVAL;
    return 0;
}

int mc__manifest_check(const char *dir, const char *kind, const char *name)
{
    if (dir == NULL || kind == NULL || name == NULL)
        return mc__err(MC_EINVAL, "manifest: NULL directory, kind or name");
    size_t kl = strnlen(kind, 8);
    size_t nl = strnlen(name, MC__MANIFEST_NAME_MAX);
    if (check_entry(dir, kind, kl, name, nl) != 0)
        return mc__err(MC_EINVAL,
                       "manifest: bad entry \"%.16s %.64s\": mcore lists only "
                       "shm and sem objects named /NAME (one component, "
                       "under 200 characters) and files directly in the "
                       "socket directory %.64s",
                       kind, name, dir);
    return 0;
}

/* Whole file into a malloc'd buffer (*len bytes, NUL-terminated).  A
 * missing file gives *buf = NULL, *len = 0, return 0. */
static int read_all(int dfd, const char *dir, const char *leaf, char **buf,
                    size_t *len)
{
    *buf = NULL;
    *len = 0;
    int rc;
    int fd = open_leaf(dfd, dir, leaf, O_RDONLY, &rc);
    if (fd < 0)
        return rc;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    if (b == NULL) {
        close(fd);
        return mc__err(MC_ENOMEM, "manifest: out of memory");
    }
    for (;;) {
        if (cap - n < 2) {
            char *nb = realloc(b, cap * 2);
            if (nb == NULL) {
                free(b);
                close(fd);
                return mc__err(MC_ENOMEM, "manifest: out of memory");
            }
            b = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, b + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = mc__errno("manifest: read");
            free(b);
            close(fd);
            return rc;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One parsed line.  kind and name point into the buffer, which parse
 * NUL-terminates in place. */
typedef struct line {
    char *start; /* the raw line */
    size_t len;  /* raw length, without the '\n' */
    const char *kind, *name;
    int valid;
} line;

/* The line at *pos (advancing *pos past it).  0 at the end of the buffer.
 * A final line without '\n' (an interrupted write) is invalid. */
static int next_line(const char *dir, char *buf, size_t len, size_t *pos,
                     line *ln)
{
    if (*pos >= len)
        return 0;
    char *s = buf + *pos;
    char *nl = memchr(s, '\n', len - *pos);
    size_t l = nl ? (size_t)(nl - s) : len - *pos;
    *pos += l + (nl != NULL);
    ln->start = s;
    ln->len = l;
    ln->kind = ln->name = NULL;
    ln->valid = 0;
    if (nl == NULL)
        return 1;
    char *sp = memchr(s, ' ', l);
    if (sp == NULL)
        return 1;
    if (check_entry(dir, s, (size_t)(sp - s), sp + 1,
                    l - (size_t)(sp - s) - 1))
        return 1;
    *sp = '\0';
    *nl = '\0';
    ln->kind = s;
    ln->name = sp + 1;
    ln->valid = 1;
    return 1;
}

/* ---------------------------------------------------------------- api */

int mc__manifest_add(const char *dir, const char *kind, const char *name)
{
    char rec[MC__MANIFEST_NAME_MAX + 16];
    int dfd, rc = mc__manifest_check(dir, kind, name);
    if (rc == 0)
        rc = mc__dir_open(dir, "manifest", &dfd);
    if (rc != 0)
        return rc;
    int n = snprintf(rec, sizeof rec, "%s %s\n", kind, name);
    int fd = open_leaf(dfd, dir, MC__MANIFEST_FILE,
                       O_WRONLY | O_APPEND | O_CREAT, &rc);
    close(dfd);
    if (fd < 0)
        return rc ? rc : mc__errno("manifest: open for append");
    /* One write(): O_APPEND makes it atomic with respect to other
     * appenders, so lines never interleave. */
    ssize_t w;
    do
        w = write(fd, rec, (size_t)n);
    while (w < 0 && errno == EINTR);
    if (w != n) {
        rc = w < 0 ? mc__errno("manifest: write")
                   : mc__err(MC_ESYS, "manifest: short write to %s/%s", dir,
                             MC__MANIFEST_FILE);
        close(fd);
        return rc;
    }
    if (close(fd) != 0)
        return mc__errno("manifest: close");
    return 0;
}

/* Replace dfd's manifest with buf[0..len): a fresh temporary (a stale one,
 * whatever it is, is unlinked first: O_EXCL never writes through a planted
 * link), then rename. */
static int rewrite(int dfd, const char *buf, size_t len)
{
    static const char tmp[] = MC__MANIFEST_FILE ".tmp";
    if (unlinkat(dfd, tmp, 0) != 0 && errno != ENOENT)
        return mc__errno("manifest: unlink temporary");
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                    O_CLOEXEC, 0600);
    if (fd < 0)
        return mc__errno("manifest: open temporary");
    int rc = 0;
    if (write_all(fd, buf, len) != 0)
        rc = mc__errno("manifest: write temporary");
    if (close(fd) != 0 && rc == 0)
        rc = mc__errno("manifest: close temporary");
    if (rc == 0 && renameat(dfd, tmp, dfd, MC__MANIFEST_FILE) != 0)
        rc = mc__errno("manifest: rename");
    if (rc)
        unlinkat(dfd, tmp, 0);
    return rc;
}

int mc__manifest_remove(const char *dir, const char *kind, const char *name)
{
    int dfd, rc = mc__manifest_check(dir, kind, name);
    if (rc == 0)
        rc = mc__dir_open(dir, "manifest", &dfd);
    if (rc != 0)
        return rc;

    char *buf;
    size_t len;
    if ((rc = read_all(dfd, dir, MC__MANIFEST_FILE, &buf, &len)) != 0)
        goto done;
    if (buf == NULL) {
        rc = mc__err(MC_ENOENT, "manifest: %s %s not listed (no manifest)",
                     kind, name);
        goto done;
    }

    /* Compact the buffer in place: keep every valid line but the first
     * match; corrupt lines are dropped. */
    size_t pos = 0, out = 0;
    int found = 0;
    line ln;
    while (next_line(dir, buf, len, &pos, &ln)) {
        if (!ln.valid)
            continue;
        if (!found && strcmp(ln.kind, kind) == 0 &&
            strcmp(ln.name, name) == 0) {
            found = 1;
            continue;
        }
        /* Restore the separators next_line replaced and move the line. */
        size_t kl = strlen(ln.kind);
        ln.start[kl] = ' ';
        memmove(buf + out, ln.start, ln.len);
        out += ln.len;
        buf[out++] = '\n';
    }
    if (!found)
        rc = mc__err(MC_ENOENT, "manifest: %s %s not listed", kind, name);
    else if (out == 0) {
        if (unlinkat(dfd, MC__MANIFEST_FILE, 0) != 0 && errno != ENOENT)
            rc = mc__errno("manifest: unlink");
    } else
        rc = rewrite(dfd, buf, out);
done:
    free(buf);
    close(dfd);
    return rc;
}

/* mc__manifest_each on an open directory. */
static int each(int dfd, const char *dir, mc__manifest_fn *fn, void *ctx)
{
    char *buf;
    size_t len;
    int rc = read_all(dfd, dir, MC__MANIFEST_FILE, &buf, &len);
    if (rc != 0 || buf == NULL)
        return rc;
    size_t pos = 0;
    line ln;
    while (rc == 0 && next_line(dir, buf, len, &pos, &ln))
        if (ln.valid)
            rc = fn(ln.kind, ln.name, ctx);
    free(buf);
    return rc;
}

int mc__manifest_each(const char *dir, mc__manifest_fn *fn, void *ctx)
{
    int dfd, rc;
    if (fn == NULL)
        return mc__err(MC_EINVAL, "manifest: NULL callback");
    if ((rc = mc__dir_open(dir, "manifest", &dfd)) != 0)
        return rc;
    rc = each(dfd, dir, fn, ctx);
    close(dfd);
    return rc;
}

int mc__manifest_foreign(const char *kind, const char *name)
{
    /* glibc keeps POSIX shm objects and semaphores in /dev/shm, the latter
     * as sem.NAME.  lstat: a symlink planted there is not ours either. */
    char path[300];
    struct stat st;
    if (strcmp(kind, "file") == 0)
        return 0; /* in our own directory: checked by the entry */
    snprintf(path, sizeof path, "/dev/shm/%s%s",
             strcmp(kind, "sem") == 0 ? "sem." : "", name + 1);
    if (lstat(path, &st) != 0)
        return 0;
    return !S_ISREG(st.st_mode) || st.st_uid != geteuid();
}

typedef struct unlink_ctx {
    int dfd;
    const char *dir;
    int removed;
    int first_err;
} unlink_ctx;

static int unlink_one(const char *kind, const char *name, void *vctx)
{
    unlink_ctx *c = vctx;
    int r;
    const char *what;
    if (mc__manifest_foreign(kind, name))
        return 0; /* not ours to remove, whatever the manifest says */
    if (strcmp(kind, "shm") == 0) {
        r = shm_unlink(name);
        what = "shm_unlink";
    } else if (strcmp(kind, "sem") == 0) {
        r = sem_unlink(name);
        what = "sem_unlink";
    } else {
        r = unlinkat(c->dfd, file_leaf(c->dir, name, strlen(name)), 0);
        what = "unlink";
    }
    if (r == 0)
        c->removed++;
    else if (errno != ENOENT && c->first_err == 0) {
        int e = errno;
        c->first_err = mc__err(e == ENOMEM ? MC_ENOMEM : MC_ESYS,
                               "manifest: %s %s: %s", what, name, strerror(e));
    }
    return 0; /* keep going */
}

int mc__manifest_unlink_all(const char *dir, int *removed)
{
    unlink_ctx c = {-1, dir, 0, 0};
    int rc;
    if (removed)
        *removed = 0;
    if ((rc = mc__dir_open(dir, "manifest", &c.dfd)) != 0)
        return rc;
    rc = each(c.dfd, dir, unlink_one, &c);
    if (removed)
        *removed = c.removed;
    if (rc == 0 && c.first_err != 0)
        rc = c.first_err; /* detail already set; keep the manifest */
    if (rc == 0 && unlinkat(c.dfd, MC__MANIFEST_FILE, 0) != 0 &&
        errno != ENOENT)
        rc = mc__errno("manifest: unlink");
    close(c.dfd);
    return rc;
}

/* ---------------------------------------------------------------- lock */

int mc__dir_lock(const char *dir, int *lock_fd)
{
    int dfd, rc;
    if (lock_fd == NULL)
        return mc__err(MC_EINVAL, "dir_lock: NULL lock_fd");
    *lock_fd = -1;
    if ((rc = mc__dir_open(dir, "manifest", &dfd)) != 0)
        return rc;
    /* Retry if the file we locked was unlinked (by a master that was
     * unlocking) between our open and our flock. */
    for (int tries = 0; tries < 100; tries++) {
        int fd = open_leaf(dfd, dir, MC__MANIFEST_LOCK, O_RDWR | O_CREAT,
                           &rc);
        if (fd < 0) {
            if (rc == 0)
                rc = mc__errno("dir_lock: open lock file");
            break;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK) {
                rc = mc__err(MC_EBUSY,
                             "socket directory %s is in use by a running "
                             "master (%s/%s is locked)",
                             dir, dir, MC__MANIFEST_LOCK);
                break;
            }
            if (e == EINTR)
                continue;
            errno = e;
            rc = mc__errno("dir_lock: flock");
            break;
        }
        struct stat a, b;
        if (fstat(fd, &a) != 0) {
            rc = mc__errno("dir_lock: fstat");
            close(fd);
            break;
        }
        if (fstatat(dfd, MC__MANIFEST_LOCK, &b, AT_SYMLINK_NOFOLLOW) != 0 ||
            a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
            close(fd);
            continue;
        }
        /* Record the holder for mcadmin (best effort). */
        char pid[32];
        int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) < 0) {
            /* not fatal */
        }
        *lock_fd = fd;
        close(dfd);
        return 0;
    }
    close(dfd);
    return rc ? rc : mc__err(MC_EBUSY, "dir_lock: %s/%s keeps changing", dir,
                             MC__MANIFEST_LOCK);
}

int mc__dir_lock_held(const char *dir)
{
    int dfd, rc;
    if ((rc = mc__dir_open(dir, "manifest", &dfd)) != 0)
        return rc;
    int fd = open_leaf(dfd, dir, MC__MANIFEST_LOCK, O_RDONLY, &rc);
    close(dfd);
    if (fd < 0)
        return rc; /* 0: no lock file */
    int held;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        held = 0; /* closing releases it */
    } else if (errno == EWOULDBLOCK) {
        held = 1;
    } else {
        held = mc__errno("dir_lock: flock");
    }
    close(fd);
    return held;
}

void mc__dir_unlock(int fd, const char *dir)
{
    if (fd < 0)
        return;
    /* Unlink while still holding the lock, so that nobody locks a file
     * that is about to disappear without noticing (see mc__dir_lock). */
    int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (dfd >= 0) {
        /* the status file describes the holder of the lock (status.h) */
        unlinkat(dfd, MC__STATUS_FILE, 0);
        unlinkat(dfd, MC__STAT_SOCK, 0); /* a dead server's (stat.h) */
        unlinkat(dfd, MC__MANIFEST_LOCK, 0);
        close(dfd);
    }
    close(fd);
}

/* ---------------------------------------------------------------- sessions */

int mc__sessions_parent(char *buf, size_t cap, int create, const char *who)
{
    /* $XDG_RUNTIME_DIR is the user's own (tmpfs, removed at logout) when
     * it is ours; under sudo it is another user's and is skipped. */
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    struct stat st;
    int n;
    if (xdg && xdg[0] == '/' && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode) &&
        st.st_uid == geteuid())
        n = snprintf(buf, cap, "%s/mcore", xdg);
    else {
        const char *tmp = getenv("TMPDIR");
        n = snprintf(buf, cap, "%s/mcore-%u",
                     tmp && tmp[0] == '/' ? tmp : "/tmp", (unsigned)geteuid());
    }
    if (n < 0 || (size_t)n >= cap || (size_t)n > 150)
        return mc__err(MC_EINVAL, "%s: the sessions directory %.64s... would "
                       "be too long (XDG_RUNTIME_DIR or TMPDIR)", who, buf);
    if (create && mkdir(buf, 0700) != 0 && errno != EEXIST)
        return mc__err(errno == ENOMEM ? MC_ENOMEM : MC_ESYS,
                       "%s: mkdir(%s): %s", who, buf, strerror(errno));
    /* a link planted where ours should be is refused, not followed */
    if (lstat(buf, &st) != 0)
        return errno == ENOENT
                   ? mc__err(MC_ENOENT, "%s: no sessions directory %s", who,
                             buf)
                   : mc__err(MC_ESYS, "%s: lstat(%s): %s", who, buf,
                             strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return mc__err(MC_EINVAL, "%s: sessions directory %s is not a "
                       "directory: refused", who, buf);
    int dfd, rc = mc__dir_open(buf, who, &dfd);
    if (rc == 0)
        close(dfd);
    return rc;
}

/* The parent open and locked (flock on the directory itself): creating a
 * session directory and taking its lock, and sweeping stale ones, are
 * atomic with respect to each other. */
static int lock_parent(const char *parent, int *dfd)
{
    int rc = mc__dir_open(parent, "sessions", dfd);
    if (rc)
        return rc;
    while (flock(*dfd, LOCK_EX) != 0)
        if (errno != EINTR) {
            rc = mc__errno("sessions: flock");
            close(*dfd);
            *dfd = -1;
            return rc;
        }
    return 0;
}

int mc__session_create(const char *parent, char **dir, int *lock_fd)
{
    int pfd, rc = lock_parent(parent, &pfd);
    *dir = NULL;
    *lock_fd = -1;
    if (rc)
        return rc;
    char t[PATH_MAX];
    snprintf(t, sizeof t, "%s/" MC__SESSION_PREFIX "XXXXXX", parent);
    if (!mkdtemp(t))
        rc = mc__errno("mc_startup: mkdtemp(session directory)");
    else if (!(*dir = strdup(t))) {
        rmdir(t);
        rc = mc__err(MC_ENOMEM, "mc_startup: out of memory");
    } else if ((rc = mc__dir_lock(*dir, lock_fd)) != 0) {
        rmdir(t);
        free(*dir);
        *dir = NULL;
    }
    close(pfd); /* unlocks */
    return rc;
}

int mc__sessions_each(const char *parent, mc__session_fn *fn, void *ctx)
{
    int pfd, rc = mc__dir_open(parent, "sessions", &pfd);
    if (rc)
        return rc;
    DIR *d = fdopendir(pfd);
    if (!d) {
        rc = mc__errno("sessions: fdopendir");
        close(pfd);
        return rc;
    }
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        struct stat st;
        char path[PATH_MAX];
        if (strncmp(e->d_name, MC__SESSION_PREFIX,
                    strlen(MC__SESSION_PREFIX)) != 0 ||
            fstatat(pfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISDIR(st.st_mode) ||
            snprintf(path, sizeof path, "%s/%s", parent, e->d_name) >=
                (int)sizeof path)
            continue;
        rc = fn(path, ctx);
    }
    closedir(d);
    return rc;
}

typedef struct sweep_ctx {
    int sessions, objects, first_err;
} sweep_ctx;

/* One session directory: removed with what its manifest lists when its
 * lock is free (its master is gone). */
static int sweep_one(const char *dir, void *vctx)
{
    sweep_ctx *c = vctx;
    int lock_fd, n = 0;
    int rc = mc__dir_lock(dir, &lock_fd);
    if (rc == MC_EBUSY)
        return 0; /* a live session */
    if (rc == 0)
        rc = mc__manifest_unlink_all(dir, &n);
    c->objects += n;
    if (rc == 0) {
        /* a rewrite cut short leaves its temporary behind */
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            unlinkat(dfd, MC__MANIFEST_FILE ".tmp", 0);
            close(dfd);
        }
    }
    mc__dir_unlock(lock_fd, dir);
    if (rc == 0 && rmdir(dir) != 0)
        rc = mc__err(MC_ESYS, "sessions: rmdir(%s): %s", dir,
                     strerror(errno));
    if (rc == 0)
        c->sessions++;
    else if (c->first_err == 0)
        c->first_err = rc;
    return 0; /* the others are still tried */
}

int mc__sessions_sweep(const char *parent, int *sessions, int *objects)
{
    sweep_ctx c = {0, 0, 0};
    int pfd, rc = lock_parent(parent, &pfd);
    if (rc == 0) {
        rc = mc__sessions_each(parent, sweep_one, &c);
        close(pfd);
    }
    if (sessions)
        *sessions = c.sessions;
    if (objects)
        *objects = c.objects;
    return rc ? rc : c.first_err;
}
