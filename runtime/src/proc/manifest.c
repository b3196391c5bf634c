/* proc/manifest.c: the manifest of named objects and the directory lock.
 * See manifest.h for the file format. */
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

/* ---------------------------------------------------------------- helpers */

/* DIR/leaf into buf[PATH_MAX]. */
static int dir_path(char *buf, const char *dir, const char *leaf)
{
    if (dir == NULL || dir[0] == '\0')
        return mc__err(MC_EINVAL, "manifest: no directory given");
    int n = snprintf(buf, PATH_MAX, "%s/%s", dir, leaf);
    if (n < 0 || n >= PATH_MAX)
        return mc__err(MC_EINVAL, "manifest: directory name too long: %.64s...",
                       dir);
    return 0;
}

/* kind and name checked without a NUL-terminated name: name is n bytes. */
static int check_entry(const char *kind, size_t kind_len, const char *name,
                       size_t n)
{
    int named; /* 1: shm/sem (one leading '/'), 0: file (absolute path) */
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
    if (memchr(name, '\n', n) != NULL || memchr(name, '\0', n) != NULL)
        return MC_EINVAL;
    if (named && memchr(name + 1, '/', n - 1) != NULL)
        return MC_EINVAL;
    return 0;
}

int mc__manifest_check(const char *kind, const char *name)
{
    if (kind == NULL || name == NULL)
        return mc__err(MC_EINVAL, "manifest: NULL kind or name");
    size_t kl = strnlen(kind, 8);
    size_t nl = strnlen(name, MC__MANIFEST_NAME_MAX);
    if (check_entry(kind, kl, name, nl) != 0)
        return mc__err(MC_EINVAL,
                       "manifest: bad entry \"%.16s %.64s\" (kind must be "
                       "shm, sem or file; shm/sem names are /NAME, file "
                       "names absolute; under %d characters, no newline)",
                       kind, name, MC__MANIFEST_NAME_MAX);
    return 0;
}

/* Whole file into a malloc'd buffer (*len bytes, NUL-terminated).  A
 * missing file gives *buf = NULL, *len = 0, return 0. */
static int read_all(const char *path, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return mc__errno("manifest: open");
    }
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
            int rc = mc__errno("manifest: read");
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
static int next_line(char *buf, size_t len, size_t *pos, line *ln)
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
    if (check_entry(s, (size_t)(sp - s), sp + 1, l - (size_t)(sp - s) - 1))
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
    char path[PATH_MAX], rec[MC__MANIFEST_NAME_MAX + 16];
    int rc = mc__manifest_check(kind, name);
    if (rc == 0)
        rc = dir_path(path, dir, MC__MANIFEST_FILE);
    if (rc != 0)
        return rc;
    int n = snprintf(rec, sizeof rec, "%s %s\n", kind, name);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return mc__errno("manifest: open for append");
    /* One write(): O_APPEND makes it atomic with respect to other
     * appenders, so lines never interleave. */
    ssize_t w;
    do
        w = write(fd, rec, (size_t)n);
    while (w < 0 && errno == EINTR);
    if (w != n) {
        rc = w < 0 ? mc__errno("manifest: write")
                   : mc__err(MC_ESYS, "manifest: short write to %s", path);
        close(fd);
        return rc;
    }
    if (close(fd) != 0)
        return mc__errno("manifest: close");
    return 0;
}

int mc__manifest_remove(const char *dir, const char *kind, const char *name)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    int rc = mc__manifest_check(kind, name);
    if (rc == 0)
        rc = dir_path(path, dir, MC__MANIFEST_FILE);
    if (rc == 0)
        rc = dir_path(tmp, dir, MC__MANIFEST_FILE ".tmp");
    if (rc != 0)
        return rc;

    char *buf;
    size_t len;
    if ((rc = read_all(path, &buf, &len)) != 0)
        return rc;
    if (buf == NULL)
        return mc__err(MC_ENOENT, "manifest: %s %s not listed (no manifest)",
                       kind, name);

    /* Compact the buffer in place: keep every valid line but the first
     * match; corrupt lines are dropped. */
    size_t pos = 0, out = 0;
    int found = 0;
    line ln;
    while (next_line(buf, len, &pos, &ln)) {
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
    if (!found) {
        free(buf);
        return mc__err(MC_ENOENT, "manifest: %s %s not listed", kind, name);
    }

    if (out == 0) {
        free(buf);
        if (unlink(path) != 0 && errno != ENOENT)
            return mc__errno("manifest: unlink");
        return 0;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        free(buf);
        return mc__errno("manifest: open temporary");
    }
    if (write_all(fd, buf, out) != 0) {
        rc = mc__errno("manifest: write temporary");
        close(fd);
        unlink(tmp);
        free(buf);
        return rc;
    }
    free(buf);
    if (close(fd) != 0) {
        rc = mc__errno("manifest: close temporary");
        unlink(tmp);
        return rc;
    }
    if (rename(tmp, path) != 0) {
        rc = mc__errno("manifest: rename");
        unlink(tmp);
        return rc;
    }
    return 0;
}

int mc__manifest_each(const char *dir, mc__manifest_fn *fn, void *ctx)
{
    char path[PATH_MAX];
    int rc;
    if (fn == NULL)
        return mc__err(MC_EINVAL, "manifest: NULL callback");
    if ((rc = dir_path(path, dir, MC__MANIFEST_FILE)) != 0)
        return rc;
    char *buf;
    size_t len;
    if ((rc = read_all(path, &buf, &len)) != 0 || buf == NULL)
        return rc;
    size_t pos = 0;
    line ln;
    while (rc == 0 && next_line(buf, len, &pos, &ln))
        if (ln.valid)
            rc = fn(ln.kind, ln.name, ctx);
    free(buf);
    return rc;
}

typedef struct unlink_ctx {
    int removed;
    int first_err;
} unlink_ctx;

static int unlink_one(const char *kind, const char *name, void *vctx)
{
    unlink_ctx *c = vctx;
    int r;
    const char *what;
    if (strcmp(kind, "shm") == 0) {
        r = shm_unlink(name);
        what = "shm_unlink";
    } else if (strcmp(kind, "sem") == 0) {
        r = sem_unlink(name);
        what = "sem_unlink";
    } else {
        r = unlink(name);
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
    char path[PATH_MAX];
    unlink_ctx c = {0, 0};
    int rc;
    if (removed)
        *removed = 0;
    if ((rc = dir_path(path, dir, MC__MANIFEST_FILE)) != 0)
        return rc;
    rc = mc__manifest_each(dir, unlink_one, &c);
    if (removed)
        *removed = c.removed;
    if (rc != 0)
        return rc;
    if (c.first_err != 0)
        return c.first_err; /* detail already set; keep the manifest */
    if (unlink(path) != 0 && errno != ENOENT)
        return mc__errno("manifest: unlink");
    return 0;
}

/* ---------------------------------------------------------------- lock */

int mc__dir_lock(const char *dir, int *lock_fd)
{
    char path[PATH_MAX];
    int rc;
    if (lock_fd == NULL)
        return mc__err(MC_EINVAL, "dir_lock: NULL lock_fd");
    *lock_fd = -1;
    if ((rc = dir_path(path, dir, MC__MANIFEST_LOCK)) != 0)
        return rc;
    /* Retry if the file we locked was unlinked (by a master that was
     * unlocking) between our open and our flock. */
    for (int tries = 0; tries < 100; tries++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return mc__errno("dir_lock: open lock file");
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK)
                return mc__err(MC_EBUSY,
                               "socket directory %s is in use by a running "
                               "master (%s is locked)",
                               dir, path);
            if (e == EINTR)
                continue;
            errno = e;
            return mc__errno("dir_lock: flock");
        }
        struct stat a, b;
        if (fstat(fd, &a) != 0) {
            rc = mc__errno("dir_lock: fstat");
            close(fd);
            return rc;
        }
        if (stat(path, &b) != 0 || a.st_ino != b.st_ino ||
            a.st_dev != b.st_dev) {
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
        return 0;
    }
    return mc__err(MC_EBUSY, "dir_lock: %s keeps changing", path);
}

int mc__dir_lock_held(const char *dir)
{
    char path[PATH_MAX];
    int rc;
    if ((rc = dir_path(path, dir, MC__MANIFEST_LOCK)) != 0)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return mc__errno("dir_lock: open lock file");
    }
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
    char path[PATH_MAX];
    if (fd < 0)
        return;
    /* Unlink while still holding the lock, so that nobody locks a file
     * that is about to disappear without noticing (see mc__dir_lock). */
    if (dir != NULL && snprintf(path, sizeof path, "%s/%s", dir,
                                MC__MANIFEST_LOCK) < (int)sizeof path)
        unlink(path);
    close(fd);
}
