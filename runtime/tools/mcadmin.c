/* mcadmin: inspect and clean up mcore socket directories.
 *
 *   mcadmin list [DIR]     the named objects in DIR's manifest, the lock,
 *                          and the session's processes and resources
 *   mcadmin ps [DIR]       the processes and resources of live sessions
 *   mcadmin unlink [DIR]   remove them (refused while a master runs)
 *
 * Without DIR: every session directory under the user's sessions directory
 * (where sessions with the default socket_dir live): list shows each, live
 * or stale; unlink removes the stale ones (their master is gone) with what
 * their manifests list.
 *
 * Exit status: 0 done, 1 usage or bad DIR or failure, 2 refused because a
 * running master holds DIR. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "proc/manifest.h"
#include "proc/status.h"

static const char usage[] =
    "usage: mcadmin list [DIR]\n"
    "       mcadmin ps [DIR]\n"
    "       mcadmin unlink [DIR]\n"
    "       mcadmin --help\n";

static const char help[] =
    "\n"
    "Inspect and clean up the socket directories of mcore sessions.\n"
    "\n"
    "  list DIR     print each named object recorded in DIR/mcore.manifest\n"
    "               as \"KIND NAME\" (\"(missing)\" if it no longer exists),\n"
    "               then whether a running master holds DIR/mcore.lock\n"
    "               (\"session: live\" or \"session: not live\"), then the\n"
    "               session's processes (mcore pid, OS pid, parent's pid,\n"
    "               state, process type) and resources (id, kind, size,\n"
    "               holders, name) from DIR/mcore.status, which the master\n"
    "               rewrites as they change; a dead master's last status\n"
    "               is shown under \"not live\"\n"
    "  ps DIR       the session's processes and resources alone\n"
    "  unlink DIR   remove every recorded object (shared memory, semaphores,\n"
    "               temporary files) and the manifest, e.g. after a crash;\n"
    "               refused (exit 2) while a running master holds DIR\n"
    "  list         the same for every session directory of this user's\n"
    "               sessions made with the default socket directory\n"
    "               ($XDG_RUNTIME_DIR/mcore, else ${TMPDIR:-/tmp}/mcore-UID)\n"
    "  ps           the same for every live session of this user\n"
    "  unlink       remove every stale one (its master is gone) with the\n"
    "               objects its manifest lists; live ones are left alone\n"
    "\n"
    "Exit status: 0 success, 1 usage error, bad DIR or failure, 2 refused.\n";

/* 1 if the object still exists, 0 if not. */
static int object_exists(const char *kind, const char *name)
{
    char path[PATH_MAX];
    struct stat st;
    if (strcmp(kind, "shm") == 0)
        snprintf(path, sizeof path, "/dev/shm%s", name);
    else if (strcmp(kind, "sem") == 0)
        snprintf(path, sizeof path, "/dev/shm/sem.%s", name + 1);
    else
        snprintf(path, sizeof path, "%s", name);
    return lstat(path, &st) == 0;
}

static int print_entry(const char *kind, const char *name, void *ctx)
{
    int *count = ctx;
    (*count)++;
    printf("%s %s%s\n", kind, name,
           !object_exists(kind, name)        ? " (missing)"
           : mc__manifest_foreign(kind, name) ? " (not this user's: kept)"
                                              : "");
    return 0;
}

/* The pid recorded in DIR/mcore.lock, or 0. */
static long lock_holder(const char *dir)
{
    char path[PATH_MAX], buf[32];
    long pid = 0;
    if (snprintf(path, sizeof path, "%s/%s", dir, MC__MANIFEST_LOCK) >=
        (int)sizeof path)
        return 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0) {
        buf[n] = '\0';
        if (sscanf(buf, "%ld", &pid) != 1)
            pid = 0;
    }
    return pid;
}

static int check_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        fprintf(stderr, "mcadmin: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "mcadmin: %s: not a directory\n", dir);
        return 1;
    }
    return 0;
}

static void fail(const char *what, int rc)
{
    const char *d = mc_last_error_detail();
    fprintf(stderr, "mcadmin: %s: %s%s%s\n", what, mc_strerror(rc),
            d[0] ? ": " : "", d);
}

/* DIR/mcore.status (proc/status.h) into *text (malloc()ed, NUL-ended):
 * 0, 1 if there is none, -1 if it is not a status file or kept changing
 * while it was read. */
static int read_status(const char *dir, char **text, int *version)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, MC__STATUS_FILE) >=
        (int)sizeof path)
        return -1;
    for (int tries = 0; tries < 50; tries++) {
        if (tries)
            usleep(2000); /* being rewritten: read it again */
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            return errno == ENOENT ? 1 : -1;
        size_t len = 0, cap = 16384;
        char *buf = malloc(cap + 1), hdr[MC__STATUS_HDR + 1];
        ssize_t n = 0;
        while (buf && (n = read(fd, buf + len, cap - len)) > 0)
            if ((len += (size_t)n) == cap) {
                char *b = realloc(buf, 2 * cap + 1);
                if (!b) {
                    free(buf);
                    buf = NULL;
                    break;
                }
                buf = b;
                cap *= 2;
            }
        /* the seqlock's second read (status.h) */
        ssize_t h = buf && n == 0 ? pread(fd, hdr, MC__STATUS_HDR, 0) : -1;
        close(fd);
        if (!buf || n < 0 || h < 0) {
            free(buf);
            return -1;
        }
        buf[len] = '\0';
        hdr[h] = '\0';
        unsigned long long s1, s2;
        int v2;
        if (sscanf(buf, MC__STATUS_MAGIC " %d %llu", version, &s1) != 2) {
            free(buf);
            return len == 0 ? 1 : -1; /* (0 bytes: not written yet) */
        }
        if (sscanf(hdr, MC__STATUS_MAGIC " %d %llu", &v2, &s2) == 2 &&
            s1 == s2 && s1 % 2 == 0) {
            *text = buf;
            return 0;
        }
        free(buf);
    }
    return -1;
}

/* The session's processes and resources, as its master last wrote them
 * (DIR/mcore.status). */
static void print_status(const char *dir, int live)
{
    char *text = NULL;
    int version = 0;
    int rc = read_status(dir, &text, &version);
    if (rc == 1) {
        if (live)
            printf("status: none yet\n");
        return;
    }
    if (rc < 0) {
        printf("status: %s/%s is not a status file, or kept changing\n",
               dir, MC__STATUS_FILE);
        return;
    }
    if (!live)
        printf("last status of the dead master:\n");
    if (version > MC__STATUS_VERSION)
        printf("(status version %d, newer than this mcadmin's %d: fields "
               "it does not know are not shown)\n", version,
               MC__STATUS_VERSION);
    int procs = 0, res = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char a[32], b[32], c[32], d[32];
        int off = 0;
        if (sscanf(line, "session %31s %31s %n", a, b, &off) == 2 && off) {
            time_t tt = (time_t)atoll(b);
            char when[64] = "?";
            struct tm tm;
            if (localtime_r(&tt, &tm))
                strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
            printf("master: pid %s, program %s, status of %s\n", a,
                   line + off, when);
        } else if (sscanf(line, "proc %31s %31s %31s %31s %n", a, b, c, d,
                          &off) == 4 && off) {
            if (!procs++)
                printf("processes:\n  %6s %8s %6s %-8s %s\n", "PID",
                       "OSPID", "PARENT", "STATE", "TYPE");
            printf("  %6s %8s %6s %-8s %s\n", a, b,
                   strcmp(c, "-1") == 0 ? "-" : c, d, line + off);
        } else if (sscanf(line, "res %31s %31s %31s %31s %n", a, b, c, d,
                          &off) == 4 && off) {
            if (!res++)
                printf("resources:\n  %6s %-10s %12s %7s %s\n", "ID",
                       "KIND", "SIZE", "HOLDERS", "NAME");
            printf("  %6s %-10s %12s %7s %s\n", a, b, c, d, line + off);
        }
    }
    free(text);
}

static int cmd_list(const char *dir)
{
    int count = 0;
    int rc = mc__manifest_each(dir, print_entry, &count);
    if (rc != 0) {
        fail("list", rc);
        return 1;
    }
    if (count == 0)
        printf("(no objects recorded)\n");
    int held = mc__dir_lock_held(dir);
    if (held < 0) {
        fail("lock", held);
        return 1;
    }
    if (held) {
        long pid = lock_holder(dir);
        if (pid > 0)
            printf("lock: held by a running master (pid %ld)\n", pid);
        else
            printf("lock: held by a running master\n");
    } else {
        printf("lock: free (no master running)\n");
    }
    printf("session: %s\n", held ? "live" : "not live");
    print_status(dir, held);
    return 0;
}

/* ps DIR: the processes and resources of a live session. */
static int cmd_ps(const char *dir)
{
    int held = mc__dir_lock_held(dir);
    if (held < 0) {
        fail("lock", held);
        return 1;
    }
    if (!held) {
        printf("session: not live\n");
        return 0;
    }
    print_status(dir, 1);
    return 0;
}

static int cmd_unlink(const char *dir)
{
    int lock_fd = -1;
    int rc = mc__dir_lock(dir, &lock_fd);
    if (rc == MC_EBUSY) {
        long pid = lock_holder(dir);
        fprintf(stderr,
                "mcadmin: refusing: a running master holds %s/%s", dir,
                MC__MANIFEST_LOCK);
        if (pid > 0)
            fprintf(stderr, " (pid %ld)", pid);
        fprintf(stderr, "; stop it first\n");
        return 2;
    }
    if (rc != 0) {
        fail("lock", rc);
        return 1;
    }
    /* Holding the lock, no master can start here while we clean up. */
    int removed = 0;
    rc = mc__manifest_unlink_all(dir, &removed);
    mc__dir_unlock(lock_fd, dir);
    printf("removed %d object%s\n", removed, removed == 1 ? "" : "s");
    if (rc != 0) {
        fail("unlink", rc);
        return 1;
    }
    return 0;
}

/* ------------------------------------------- the default session dirs */

static int list_one(const char *dir, void *ctx)
{
    int *n = ctx;
    (*n)++;
    printf("%s:\n", dir);
    fflush(stdout);
    return cmd_list(dir) ? -1 : 0;
}

static int ps_one(const char *dir, void *ctx)
{
    int held = mc__dir_lock_held(dir);
    if (held <= 0)
        return 0; /* stale, or unreadable: list shows it */
    (*(int *)ctx)++;
    printf("%s:\n", dir);
    print_status(dir, 1);
    return 0;
}

/* list or ps (what) of every session under the sessions directory: one
 * (list_one, ps_one) for each; none: what to say when none was shown. */
static int cmd_all(mc__session_fn *one, const char *what, const char *none)
{
    char parent[PATH_MAX];
    int rc = mc__sessions_parent(parent, sizeof parent, 0, "mcadmin");
    if (rc == MC_ENOENT) {
        printf("(no sessions directory)\n");
        return 0;
    }
    int n = 0;
    if (rc == 0)
        rc = mc__sessions_each(parent, one, &n);
    if (rc == -1)
        return 1; /* cmd_list said why */
    if (rc != 0) {
        fail(what, rc);
        return 1;
    }
    if (n == 0)
        printf("(no %s in %s)\n", none, parent);
    return 0;
}

static int cmd_unlink_all(void)
{
    char parent[PATH_MAX];
    int rc = mc__sessions_parent(parent, sizeof parent, 0, "mcadmin");
    if (rc == MC_ENOENT) {
        printf("removed 0 stale sessions (no sessions directory)\n");
        return 0;
    }
    int sessions = 0, objects = 0;
    if (rc == 0)
        rc = mc__sessions_sweep(parent, &sessions, &objects);
    printf("removed %d stale session%s and %d object%s\n", sessions,
           sessions == 1 ? "" : "s", objects, objects == 1 ? "" : "s");
    if (rc != 0) {
        fail("unlink", rc);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
                      strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        fputs(help, stdout);
        return 0;
    }
    if (argc != 3 && argc != 2) {
        fputs(usage, stderr);
        return 1;
    }
    const char *cmd = argv[1], *dir = argv[2];
    if (strcmp(cmd, "list") != 0 && strcmp(cmd, "unlink") != 0 &&
        strcmp(cmd, "ps") != 0) {
        fprintf(stderr, "mcadmin: unknown command '%s'\n", cmd);
        fputs(usage, stderr);
        return 1;
    }
    if (argc == 2) {
        if (strcmp(cmd, "list") == 0)
            return cmd_all(list_one, "list", "sessions");
        if (strcmp(cmd, "ps") == 0)
            return cmd_all(ps_one, "ps", "live sessions");
        return cmd_unlink_all();
    }
    if (check_dir(dir) != 0)
        return 1;
    /* the master lists its files under the real path of its directory */
    char *real = realpath(dir, NULL);
    if (real == NULL) {
        fprintf(stderr, "mcadmin: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    int st = strcmp(cmd, "list") == 0 ? cmd_list(real)
             : strcmp(cmd, "ps") == 0 ? cmd_ps(real)
                                      : cmd_unlink(real);
    free(real);
    return st;
}
