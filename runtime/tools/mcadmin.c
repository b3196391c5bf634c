/* mcadmin: inspect and clean up mcore socket directories.
 *
 *   mcadmin list [DIR]     the named objects in DIR's manifest, the lock,
 *                          and the session's processes and resources
 *   mcadmin ps [DIR]       the processes and resources of live sessions
 *   mcadmin unlink [DIR]   remove them (refused while a master runs)
 *   mcadmin stat [--json] [--watch [SECONDS]] [--count N] [DIR]
 *                          live statistics of a session, asked of its
 *                          session server (proc/stat.h)
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
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "proc/manifest.h"
#include "os/fdpass.h"
#include "proc/stat.h"
#include "proc/status.h"

static const char usage[] =
    "usage: mcadmin list [DIR]\n"
    "       mcadmin ps [DIR]\n"
    "       mcadmin unlink [DIR]\n"
    "       mcadmin stat [--json] [--watch [SECONDS]] [--count N] [DIR]\n"
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
    "  stat DIR     live statistics, asked of the session's server when\n"
    "               you run it (it costs the session nothing otherwise):\n"
    "               its workers (pid, OS pid, parent, state, resources\n"
    "               held, type), pools (maximum, size reserved, used,\n"
    "               chunks, heaps, holders), heaps (pool, address, live\n"
    "               bytes, free bytes of its chunks, chunks, collections,\n"
    "               last pause), camlboxes (slots, slots used, messages\n"
    "               ready and being read, senders, messages delivered\n"
    "               since made, senders lost, slot size) and containers\n"
    "               (sarray: length; smatrix: rows, cols; squeue:\n"
    "               length, capacity, closed; sbuffer: bytes, capacity,\n"
    "               closed; shashtbl: bindings)\n"
    "    --json     the same as one JSON object per session (a line):\n"
    "               {\"dir\",\"version\",\"session\",\"workers\",\"pools\",\n"
    "               \"heaps\",\"camlboxes\",\"containers\"}; without DIR,\n"
    "               {\"sessions\":[...]}\n"
    "    --watch [SECONDS]  refresh every SECONDS (default 2) until the\n"
    "               session ends (exit 1) or you stop it\n"
    "    --count N  stop after N refreshes (implies --watch)\n"
    "               A dead session (exit 1) points to list and unlink; a\n"
    "               directory of another user or not of a session says so\n"
    "  list         the same for every session directory of this user's\n"
    "               sessions made with the default socket directory\n"
    "               ($XDG_RUNTIME_DIR/mcore, else ${TMPDIR:-/tmp}/mcore-UID)\n"
    "  ps           the same for every live session of this user\n"
    "  unlink       remove every stale one (its master is gone) with the\n"
    "               objects its manifest lists; live ones are left alone\n"
    "  stat         the same for every live session of this user\n"
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

/* ------------------------------------------------------------- stat */

/* A reply of the session server (proc/stat.h), parsed: one record per
 * line, its kind and its key=value fields, values decoded. */
typedef struct {
    char *kind;
    size_t n;
    char **key, **val;
} stat_rec;

typedef struct {
    stat_rec *r;
    size_t n;
} stat_reply;

static void reply_free(stat_reply *s)
{
    for (size_t i = 0; i < s->n; i++) {
        for (size_t j = 0; j < s->r[i].n; j++) {
            free(s->r[i].key[j]);
            free(s->r[i].val[j]);
        }
        free(s->r[i].kind);
        free(s->r[i].key);
        free(s->r[i].val);
    }
    free(s->r);
    s->r = NULL;
    s->n = 0;
}

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                  : -1;
}

/* %XX undone (stat.h), in place. */
static void unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        int h, l;
        if (*s == '%' && (h = hexval(s[1])) >= 0 && (l = hexval(s[2])) >= 0) {
            *o++ = (char)(h * 16 + l);
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

/* Parse text (changed); 0, or -1 if it is no reply or out of memory. */
static int reply_parse(char *text, stat_reply *s)
{
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    int version;
    if (!line || sscanf(line, MC__STAT_MAGIC " %d", &version) != 1)
        return -1;
    while ((line = strtok_r(NULL, "\n", &save))) {
        stat_rec *r = realloc(s->r, (s->n + 1) * sizeof *r);
        if (!r)
            return -1;
        s->r = r;
        r = &s->r[s->n++];
        memset(r, 0, sizeof *r);
        char *save2 = NULL, *tok = strtok_r(line, " ", &save2);
        if (!(r->kind = strdup(tok ? tok : "?")))
            return -1;
        while ((tok = strtok_r(NULL, " ", &save2))) {
            char *eq = strchr(tok, '=');
            if (!eq)
                continue;
            *eq = '\0';
            char **k = realloc(r->key, (r->n + 1) * sizeof *k);
            if (k)
                r->key = k;
            char **v = realloc(r->val, (r->n + 1) * sizeof *v);
            if (v)
                r->val = v;
            if (!k || !v)
                return -1;
            r->key[r->n] = strdup(tok);
            r->val[r->n] = strdup(eq + 1);
            if (!r->key[r->n] || !r->val[r->n]) {
                free(r->key[r->n]);
                free(r->val[r->n]);
                return -1;
            }
            unescape(r->val[r->n++]);
        }
    }
    return 0;
}

static const char *rec_get(const stat_rec *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->key[i], key) == 0)
            return r->val[i];
    return "?";
}

/* Ask the server of the live session in dir (a real path); *text is its
 * reply (malloc()ed).  On failure, says why on stderr, with what to do,
 * and returns 1 (2: the session is not live). */
static int stat_fetch(const char *dir, char **text)
{
    struct stat sd;
    if (stat(dir, &sd) == 0 && sd.st_uid != geteuid()) {
        struct passwd *pw = getpwuid(sd.st_uid);
        fprintf(stderr, "mcadmin: %s belongs to user %s (uid %ld), not to "
                "you: a session answers its own user only; run mcadmin as "
                "that user (e.g. sudo -u %s mcadmin stat %s)\n", dir,
                pw ? pw->pw_name : "?", (long)sd.st_uid,
                pw ? pw->pw_name : "USER", dir);
        return 1;
    }
    int held = mc__dir_lock_held(dir);
    if (held < 0) {
        fail("lock", held);
        return 1;
    }
    char path[PATH_MAX];
    if (!held) {
        static const char *const marks[] = {MC__MANIFEST_LOCK,
                                            MC__MANIFEST_FILE,
                                            MC__STATUS_FILE};
        int any = 0;
        for (int i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, marks[i]);
            any |= access(path, F_OK) == 0;
        }
        if (!any)
            fprintf(stderr, "mcadmin: %s is not an mcore session directory "
                    "(no %s, %s or %s in it): give the socket directory of "
                    "a running session; 'mcadmin ps' lists the live ones\n",
                    dir, MC__MANIFEST_LOCK, MC__MANIFEST_FILE,
                    MC__STATUS_FILE);
        else
            fprintf(stderr, "mcadmin: %s: session not live (its master is "
                    "gone): 'mcadmin list %s' shows its last status, "
                    "'mcadmin unlink %s' removes what it left\n", dir, dir,
                    dir);
        return 2;
    }
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (snprintf(a.sun_path, sizeof a.sun_path, "%s/%s", dir,
                 MC__STAT_SOCK) >= (int)sizeof a.sun_path) {
        fprintf(stderr, "mcadmin: %s: the path is too long for a unix "
                "socket: its session serves no statistics (give it a "
                "shorter socket_dir)\n", dir);
        return 1;
    }
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s < 0) {
        fprintf(stderr, "mcadmin: socket: %s\n", strerror(errno));
        return 1;
    }
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        int e = errno;
        close(s);
        if (e == ENOENT)
            fprintf(stderr, "mcadmin: %s: the session is live but serves "
                    "no statistics (no %s: its program uses an mcore "
                    "older than this mcadmin); 'mcadmin ps %s' shows its "
                    "processes\n", dir, MC__STAT_SOCK, dir);
        else
            fprintf(stderr, "mcadmin: %s: the session server does not "
                    "answer on %s (%s): it may be ending; try again, or "
                    "'mcadmin ps %s'\n", dir, a.sun_path, strerror(e), dir);
        return 1;
    }
    /* the server answers at once, between two requests of its clients */
    struct timeval tv = {.tv_sec = 10};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c;
    int fds[MC__FDS_MAX];
    ssize_t n = mc__recv_fds(s, &c, 1, fds, 0);
    close(s);
    if (n != 1 || c != 'S' || fds[0] < 0) {
        for (int i = 0; i < MC__FDS_MAX; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        if (n == -EAGAIN)
            fprintf(stderr, "mcadmin: %s: no answer from the session "
                    "server in %ld s: try again\n", dir, (long)tv.tv_sec);
        else
            fprintf(stderr, "mcadmin: %s: the session server closed the "
                    "connection without an answer: it answers its own "
                    "user only, or it is ending\n", dir);
        return 1;
    }
    int fd = fds[0];
    for (int i = 1; i < MC__FDS_MAX; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    struct stat sf;
    char *buf = NULL;
    size_t len = 0;
    if (fstat(fd, &sf) == 0 && (buf = malloc((size_t)sf.st_size + 1))) {
        while (len < (size_t)sf.st_size) {
            ssize_t r = pread(fd, buf + len, (size_t)sf.st_size - len,
                              (off_t)len);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            len += (size_t)r;
        }
        buf[len] = '\0';
    }
    close(fd);
    if (!buf) {
        fprintf(stderr, "mcadmin: %s: cannot read the answer\n", dir);
        return 1;
    }
    *text = buf;
    return 0;
}

/* Human output: known kinds as tables, the others as KIND key=value. */
typedef struct {
    const char *key, *head;
    int width; /* < 0: left-aligned */
} stat_col;

static const struct {
    const char *kind, *title;
    stat_col cols[14];
} stat_tables[] = {
    {"worker", "workers", {{"pid", "PID", 6}, {"ospid", "OSPID", 8},
                           {"parent", "PARENT", 6}, {"state", "STATE", -8},
                           {"holds", "HOLDS", 5}, {"type", "TYPE", -1}}},
    {"pool", "pools", {{"id", "ID", 6}, {"max", "MAX", 12},
                       {"size", "SIZE", 12}, {"used", "USED", 12},
                       {"chunks", "CHUNKS", 7}, {"heaps", "HEAPS", 5},
                       {"holders", "HOLDERS", 7}}},
    {"heap", "heaps", {{"pool", "POOL", 6}, {"addr", "ADDR", 14},
                       {"live", "LIVE", 12}, {"free", "FREE", 12},
                       {"chunks", "CHUNKS", 6}, {"collections", "GCS", 6},
                       {"last_pause_ms", "LAST_PAUSE_MS", 13}}},
    {"camlbox", "camlboxes", {{"id", "ID", 6}, {"slots", "SLOTS", 6},
                              {"used", "USED", 6}, {"ready", "READY", 6},
                              {"reading", "READING", 7},
                              {"senders", "SENDERS", 7},
                              {"delivered", "DELIVERED", 10},
                              {"lost", "LOST", 5},
                              {"slot_size", "SLOT_SIZE", 10}}},
};
#define N_TABLES (sizeof stat_tables / sizeof stat_tables[0])

static void print_stat_text(const stat_reply *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->r[i].kind, "session") == 0) {
            time_t tt = (time_t)atoll(rec_get(&s->r[i], "time"));
            char when[64] = "?";
            struct tm tm;
            if (localtime_r(&tt, &tm))
                strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
            printf("master: pid %s, program %s, at %s\n",
                   rec_get(&s->r[i], "ospid"), rec_get(&s->r[i], "prog"),
                   when);
        }
    for (size_t t = 0; t < N_TABLES; t++) {
        int shown = 0;
        for (size_t i = 0; i < s->n; i++) {
            if (strcmp(s->r[i].kind, stat_tables[t].kind) != 0)
                continue;
            const stat_col *c = stat_tables[t].cols;
            if (!shown++) {
                printf("%s:\n ", stat_tables[t].title);
                for (int k = 0; c[k].key; k++)
                    printf(" %*s", c[k].width, c[k].head);
                printf("\n");
            }
            printf(" ");
            for (int k = 0; c[k].key; k++)
                printf(" %*s", c[k].width, rec_get(&s->r[i], c[k].key));
            printf("\n");
        }
        if (!shown)
            printf("%s: none\n", stat_tables[t].title);
    }
    int shown = 0;
    for (size_t i = 0; i < s->n; i++) {
        const stat_rec *r = &s->r[i];
        int known = strcmp(r->kind, "session") == 0;
        for (size_t t = 0; t < N_TABLES && !known; t++)
            known = strcmp(r->kind, stat_tables[t].kind) == 0;
        if (known)
            continue;
        if (!shown++)
            printf("containers:\n");
        printf("  %-8s", r->kind);
        for (size_t k = 0; k < r->n; k++)
            printf(" %s=%s", r->key[k], r->val[k]);
        printf("\n");
    }
    if (!shown)
        printf("containers: none\n");
}

static void json_str(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    putchar('"');
}

/* A JSON number as JSON writes them (no leading zeros, no "0x")? */
static int json_number(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return 0;
    if (*p == '.') {
        if (!(*++p >= '0' && *p <= '9'))
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

static void json_rec(const stat_rec *r, int with_kind)
{
    printf("{");
    if (with_kind) {
        printf("\"kind\":");
        json_str(r->kind);
    }
    for (size_t k = 0; k < r->n; k++) {
        printf("%s", k || with_kind ? "," : "");
        json_str(r->key[k]);
        putchar(':');
        if (json_number(r->val[k]))
            fputs(r->val[k], stdout);
        else if (strcmp(r->val[k], "-") == 0)
            fputs("null", stdout);
        else
            json_str(r->val[k]);
    }
    printf("}");
}

/* One session as a JSON object (no newline). */
static void print_stat_json(const char *dir, const stat_reply *s)
{
    printf("{\"dir\":");
    json_str(dir);
    printf(",\"version\":%d,\"session\":", MC__STAT_VERSION);
    int had = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!had && strcmp(s->r[i].kind, "session") == 0) {
            json_rec(&s->r[i], 0);
            had = 1;
        }
    if (!had)
        printf("null");
    for (size_t t = 0; t <= N_TABLES; t++) {
        printf(",\"%s\":[", t < N_TABLES ? stat_tables[t].title
                                          : "containers");
        int n = 0;
        for (size_t i = 0; i < s->n; i++) {
            const stat_rec *r = &s->r[i];
            int match;
            if (t < N_TABLES) {
                match = strcmp(r->kind, stat_tables[t].kind) == 0;
            } else {
                match = strcmp(r->kind, "session") != 0;
                for (size_t u = 0; u < N_TABLES && match; u++)
                    match = strcmp(r->kind, stat_tables[u].kind) != 0;
            }
            if (!match)
                continue;
            printf("%s", n++ ? "," : "");
            json_rec(r, t == N_TABLES);
        }
        printf("]");
    }
    printf("}");
}

typedef struct {
    int json;
    int all;     /* every live session (no DIR) */
    int n;       /* sessions shown */
} stat_opts;

/* stat of one session directory (a real path): 0, 1 failure, 2 not live. */
static int stat_one(const char *dir, stat_opts *o)
{
    char *text = NULL;
    int rc = stat_fetch(dir, &text);
    if (rc)
        return rc;
    stat_reply s = {0};
    if (reply_parse(text, &s) != 0) {
        free(text);
        reply_free(&s);
        fprintf(stderr, "mcadmin: %s: the session server's answer is not a "
                "statistics reply (or out of memory)\n", dir);
        return 1;
    }
    /* printed only once the whole answer is in: a session that fails
     * prints nothing (stat_all_one's separators) */
    if (o->all && o->json)
        fputs(o->n ? "," : "", stdout);
    else if (o->all)
        printf("%s:\n", dir);
    o->n++;
    if (o->json)
        print_stat_json(dir, &s);
    else
        print_stat_text(&s);
    free(text);
    reply_free(&s);
    return 0;
}

/* Every live session: one that cannot answer (ended meanwhile, an older
 * mcore without statistics) is named on stderr and skipped. */
static int stat_all_one(const char *dir, void *ctx)
{
    if (mc__dir_lock_held(dir) <= 0)
        return 0; /* stale: 'mcadmin list' shows it */
    fflush(stdout);
    stat_one(dir, ctx);
    fflush(stderr);
    return 0;
}

/* One round: dir NULL: every live session of the user. */
static int stat_round(const char *dir, stat_opts *o)
{
    if (dir) {
        int rc = stat_one(dir, o);
        if (!rc && o->json)
            printf("\n");
        return rc;
    }
    char parent[PATH_MAX];
    int rc = mc__sessions_parent(parent, sizeof parent, 0, "mcadmin");
    o->n = 0;
    o->all = 1;
    if (o->json)
        printf("{\"sessions\":[");
    if (rc == 0)
        rc = mc__sessions_each(parent, stat_all_one, o);
    if (o->json)
        printf("]}\n");
    if (rc != 0 && rc != MC_ENOENT) {
        fail("stat", rc);
        return 1;
    }
    if (!o->json && o->n == 0)
        printf("(no live session answered%s%s)\n", rc == 0 ? " in " : "",
               rc == 0 ? parent : "");
    return 0;
}

static int cmd_stat(int argc, char **argv)
{
    stat_opts o = {0};
    double every = 0;
    long count = 0;
    const char *dir = NULL;
    for (int i = 0; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--json") == 0) {
            o.json = 1;
        } else if (strcmp(argv[i], "--watch") == 0) {
            every = 2;
            if (i + 1 < argc && (strtod(argv[i + 1], &end), *end == '\0' &&
                                                          end != argv[i + 1])) {
                every = strtod(argv[++i], NULL);
                if (!(every >= 0.1 && every <= 86400)) {
                    fprintf(stderr, "mcadmin: --watch %s: give seconds "
                            "between 0.1 and 86400\n", argv[i]);
                    return 1;
                }
            }
        } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            count = strtol(argv[++i], &end, 10);
            if (*end || count < 1) {
                fprintf(stderr, "mcadmin: --count %s: give a number >= 1\n",
                        argv[i]);
                return 1;
            }
        } else if (argv[i][0] == '-' || dir) {
            fprintf(stderr, "mcadmin: stat: unexpected '%s'\n", argv[i]);
            fputs(usage, stderr);
            return 1;
        } else {
            dir = argv[i];
        }
    }
    if (count && !every)
        every = 2;
    char *real = NULL;
    if (dir) {
        if (check_dir(dir) != 0)
            return 1;
        /* the master names its socket under the real path */
        if (!(real = realpath(dir, NULL))) {
            fprintf(stderr, "mcadmin: %s: %s\n", dir, strerror(errno));
            return 1;
        }
    }
    int tty = isatty(STDOUT_FILENO), rc = 0;
    for (long round = 0;; round++) {
        if (every && !o.json) {
            if (tty)
                printf("\033[H\033[J"); /* clear the screen */
            time_t now = time(NULL);
            char when[64] = "";
            struct tm tm;
            if (localtime_r(&now, &tm))
                strftime(when, sizeof when, "%H:%M:%S", &tm);
            printf("%s every %gs: %s\n", when, every, real ? real : "all "
                   "live sessions");
        }
        rc = stat_round(real, &o);
        fflush(stdout);
        if (rc || !every || (count && round + 1 >= count))
            break;
        struct timespec ts = {.tv_sec = (time_t)every,
                              .tv_nsec = (long)((every - (double)(time_t)every)
                                                * 1e9)};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
    free(real);
    return rc ? 1 : 0;
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
    if (argc >= 2 && strcmp(argv[1], "stat") == 0)
        return cmd_stat(argc - 2, argv + 2);
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
