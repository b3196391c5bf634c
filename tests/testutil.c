/* tests/testutil.c: see testutil.h. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ errors */

const char *tu_code_name(int code)
{
    static _Thread_local char unknown[32];
    switch (code) {
    case 0: return "0";
    case MC_EINVAL: return "MC_EINVAL";
    case MC_ESTATE: return "MC_ESTATE";
    case MC_ENOENT: return "MC_ENOENT";
    case MC_ENOMEM: return "MC_ENOMEM";
    case MC_ESYS: return "MC_ESYS";
    case MC_ETYPE: return "MC_ETYPE";
    case MC_EAGAIN: return "MC_EAGAIN";
    case MC_E2BIG: return "MC_E2BIG";
    case MC_EBUSY: return "MC_EBUSY";
    case MC_ELOST: return "MC_ELOST";
    case MC_EOWNERDEAD: return "MC_EOWNERDEAD";
    case MC_EPOISONED: return "MC_EPOISONED";
    case MC_EEXIST: return "MC_EEXIST";
    case MC_ETIMEDOUT: return "MC_ETIMEDOUT";
    case MC_EPROCESS: return "MC_EPROCESS";
    case MC_EDEAD: return "MC_EDEAD";
    case MC_ECLOSED: return "MC_ECLOSED";
    default:
        snprintf(unknown, sizeof unknown, "?(%d)", code);
        return unknown;
    }
}

const char *tu_err(int code)
{
    static _Thread_local char buf[1024];
    if (code == 0) {
        snprintf(buf, sizeof buf, "0 (success)");
    } else {
        snprintf(buf, sizeof buf, "%s (%s): detail \"%s\"",
                 tu_code_name(code), mc_strerror(code),
                 mc_last_error_detail());
    }
    return buf;
}

const char *tu_kind_str(const mc_join_result *r)
{
    static _Thread_local char buf[768];
    switch (r->kind) {
    case MC_EXIT_RESULT:
        snprintf(buf, sizeof buf, "RESULT len=%zu", r->len);
        break;
    case MC_EXIT_ERROR:
        snprintf(buf, sizeof buf, "ERROR code=%d (%s)%s%.*s", r->code,
                 tu_code_name(r->code), r->len ? ": " : "", (int)r->len,
                 r->data ? (const char *)r->data : "");
        break;
    case MC_EXIT_STATUS:
        snprintf(buf, sizeof buf, "STATUS exit=%d", r->code);
        break;
    case MC_EXIT_SIGNAL:
        snprintf(buf, sizeof buf, "SIGNAL %d (%s)", r->code,
                 strsignal(r->code));
        break;
    default:
        snprintf(buf, sizeof buf, "kind=%d? code=%d", (int)r->kind, r->code);
    }
    return buf;
}

void tu_assert_rc_(int rc, int expect, const char *what, const char *file,
                   int line)
{
    if (rc != expect) {
        char got[1024];
        snprintf(got, sizeof got, "%s", tu_err(rc));
        fail_msg("%s:%d: %s returned %s; expected %s", file, line, what, got,
                 tu_code_name(expect));
    }
}

/* ------------------------------------------------- leak checks (master) */

#define TU_MAX_FDS 1024
#define TU_MAX_SHM 4096

static struct {
    int nfd;
    int fd[TU_MAX_FDS];
    char target[TU_MAX_FDS][128];
    int nshm;
    char *shm[TU_MAX_SHM];
    int ntmp;
    char *tmp[TU_MAX_SHM];
} snap;

static void fd_target(int dirfd, const char *name, char *buf, size_t cap)
{
    ssize_t n = readlinkat(dirfd, name, buf, cap - 1);
    if (n < 0)
        n = 0;
    buf[n] = '\0';
}

static int scan_fds(int *fds, char (*targets)[128], int max)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int self = dirfd(d), n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd == self || n >= max)
            continue;
        fds[n] = fd;
        fd_target(self, e->d_name, targets[n], 128);
        n++;
    }
    closedir(d);
    return n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* This test process gets its own $TMPDIR, so that the private socket
 * directories of other test processes running at the same time are not
 * taken for ours.  Removed at exit (by the process that made it). */
static char own_tmp[64];
static pid_t own_tmp_pid;

static void remove_own_tmp(void)
{
    if (own_tmp[0] && getpid() == own_tmp_pid)
        tu_rmtree(own_tmp);
}

static const char *tmp_dir(void)
{
    if (!own_tmp[0]) {
        snprintf(own_tmp, sizeof own_tmp, "/tmp/mcore-tu.XXXXXX");
        /* default session directories then live in own_tmp/mcore-UID */
        unsetenv("XDG_RUNTIME_DIR");
        if (mkdtemp(own_tmp) && setenv("TMPDIR", own_tmp, 1) == 0) {
            own_tmp_pid = getpid();
            atexit(remove_own_tmp);
        } else {
            own_tmp[0] = '\0';
            const char *t = getenv("TMPDIR");
            return t && *t ? t : "/tmp";
        }
    }
    return own_tmp;
}

/* Entries of dir whose name starts with prefix (NULL: all), sorted. */
static int scan_dir(const char *dir, const char *prefix, char **names,
                    int max)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        if (e->d_name[0] == '.')
            continue;
        if (prefix && strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    return n;
}

/* Private socket directories: $TMPDIR/mcore.* (the old default) and
 * $TMPDIR/mcore-EUID/session.* (one per default session), sorted. */
static int scan_private(char **names, int max)
{
    char sub[128];
    int n = scan_dir(tmp_dir(), "mcore.", names, max);
    snprintf(sub, sizeof sub, "%s/mcore-%u", tmp_dir(), (unsigned)geteuid());
    int m = scan_dir(sub, "session.", names + n, max - n);
    for (int i = n; i < n + m; i++) {
        char *full = malloc(strlen(names[i]) + 16);
        if (full) {
            sprintf(full, "mcore-%u/%s", (unsigned)geteuid(), names[i]);
            free(names[i]);
            names[i] = full;
        }
    }
    qsort(names, (size_t)(n + m), sizeof *names, cmp_str);
    return n + m;
}

static int scan_shm(char **names, int max)
{
    DIR *d = opendir("/dev/shm");
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        if (e->d_name[0] == '.')
            continue;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    return n;
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
}

void tu_begin(void)
{
    static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGSYS };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_DFL);
    fflush(NULL);
    tu_w_reset();
    free_names(snap.shm, snap.nshm);
    snap.nshm = scan_shm(snap.shm, TU_MAX_SHM);
    free_names(snap.tmp, snap.ntmp);
    snap.ntmp = scan_private(snap.tmp, TU_MAX_SHM);
    snap.nfd = scan_fds(snap.fd, snap.target, TU_MAX_FDS);
}

static size_t appendf(char *buf, size_t cap, size_t used, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
static size_t appendf(char *buf, size_t cap, size_t used, const char *fmt,
                      ...)
{
    if (used >= cap)
        return used;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + used, cap - used, fmt, ap);
    va_end(ap);
    if (n < 0)
        return used;
    used += (size_t)n;
    return used < cap ? used : cap - 1;
}

/* Children of this process, from /proc/self/task/<tid>/children. */
static size_t list_children(char *buf, size_t cap, size_t used)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return used;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], line[4096];
        snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(line, 1, sizeof line - 1, f);
        fclose(f);
        line[n] = '\0';
        char *save = NULL;
        for (char *tok = strtok_r(line, " \n", &save); tok;
             tok = strtok_r(NULL, " \n", &save)) {
            char comm[256] = "?", statp[300];
            snprintf(statp, sizeof statp, "/proc/%s/stat", tok);
            FILE *s = fopen(statp, "r");
            if (s) {
                if (!fgets(comm, sizeof comm, s))
                    strcpy(comm, "?");
                fclose(s);
                /* "pid (comm) S ...": keep up to the state letter */
                char *rp = strrchr(comm, ')');
                if (rp && rp[1] && rp[2])
                    rp[3] = '\0';
                comm[strcspn(comm, "\n")] = '\0';
            }
            used = appendf(buf, cap, used, " [child %s: %s]", tok, comm);
        }
    }
    closedir(d);
    return used;
}

int tu_check_clean(char *buf, size_t cap)
{
    size_t used = 0;
    int bad = 0;
    buf[0] = '\0';

    /* children */
    int st;
    errno = 0;
    pid_t w = waitpid(-1, &st, WNOHANG);
    if (w == 0) {
        bad = 1;
        used = appendf(buf, cap, used, "a child process is still running:");
        used = list_children(buf, cap, used);
        used = appendf(buf, cap, used, "; ");
    } else if (w > 0) {
        bad = 1;
        used = appendf(buf, cap, used,
                       "an unreaped child (zombie) remained: pid %d, %s %d",
                       (int)w, WIFSIGNALED(st) ? "signal" : "exit status",
                       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        used = list_children(buf, cap, used);
        used = appendf(buf, cap, used, "; ");
    } else if (errno != ECHILD) {
        bad = 1;
        used = appendf(buf, cap, used, "waitpid: %s; ", strerror(errno));
    }

    /* descriptors */
    static int fds[TU_MAX_FDS];
    static char targets[TU_MAX_FDS][128];
    int n = scan_fds(fds, targets, TU_MAX_FDS);
    for (int i = 0; i < n; i++) {
        int j;
        for (j = 0; j < snap.nfd; j++)
            if (snap.fd[j] == fds[i] && strcmp(snap.target[j], targets[i]) == 0)
                break;
        if (j == snap.nfd) {
            bad = 1;
            used = appendf(buf, cap, used, "new open fd %d -> %s%s; ", fds[i],
                           targets[i],
                           strncmp(targets[i], "/memfd:", 7) == 0
                               ? " (a memfd leaked)" : "");
        }
    }

    /* /dev/shm: a new mcore entry is ours unless another process running
     * at the same time made it; those go away within their (short)
     * sessions, so a candidate must survive a grace period of 3 s. */
    static char *now[TU_MAX_SHM];
    int m, cand = 0;
    int64_t grace_end = tu_now_ms() + 3000;
    for (;;) {
        cand = 0;
        m = scan_shm(now, TU_MAX_SHM);
        for (int i = 0; i < m; i++)
            if (strstr(now[i], "mcore") &&
                !bsearch(&now[i], snap.shm, (size_t)snap.nshm,
                         sizeof(char *), cmp_str))
                cand++;
        if (cand == 0 || tu_now_ms() >= grace_end)
            break;
        free_names(now, m);
        tu_sleep_ms(50);
    }
    for (int i = 0; i < m && cand; i++) {
        if (!strstr(now[i], "mcore"))
            continue;
        if (bsearch(&now[i], snap.shm, (size_t)snap.nshm, sizeof(char *),
                    cmp_str))
            continue;
        bad = 1;
        used = appendf(buf, cap, used, "new /dev/shm entry %s; ", now[i]);
    }
    free_names(now, m);

    /* private socket directories (under $TMPDIR) */
    m = scan_private(now, TU_MAX_SHM);
    for (int i = 0; i < m; i++) {
        if (bsearch(&now[i], snap.tmp, (size_t)snap.ntmp, sizeof(char *),
                    cmp_str))
            continue;
        bad = 1;
        used = appendf(buf, cap, used,
                       "new private socket directory %s/%s left behind; ",
                       tmp_dir(), now[i]);
    }
    free_names(now, m);
    return bad ? -1 : 0;
}

void tu_end_(const char *file, int line)
{
    char buf[8192];
    if (tu_check_clean(buf, sizeof buf) != 0)
        fail_msg("%s:%d: leak check after the session: %s", file, line, buf);
}

/* --------------------------------------------- checks inside workers */

static char w_buf[16384];
static size_t w_used;
static int w_failed;
/* a worker's threads may check at the same time (W_CHECK's two parts may
 * then interleave with another thread's, but the report stays sound) */
static pthread_mutex_t w_lock = PTHREAD_MUTEX_INITIALIZER;

void tu_w_reset(void)
{
    w_buf[0] = '\0';
    w_used = 0;
    w_failed = 0;
}

void tu_w_fail(const char *file, int line, const char *fmt, ...)
{
    pthread_mutex_lock(&w_lock);
    if (file) {
        w_failed++;
        w_used = appendf(w_buf, sizeof w_buf, w_used, "%s[pid %lld] %s:%d: ",
                         w_used ? "\n" : "", (long long)mc_self_pid(), file,
                         line);
    }
    if (w_used < sizeof w_buf - 1) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(w_buf + w_used, sizeof w_buf - w_used, fmt, ap);
        va_end(ap);
        if (n > 0) {
            w_used += (size_t)n;
            if (w_used >= sizeof w_buf)
                w_used = sizeof w_buf - 1;
        }
    }
    pthread_mutex_unlock(&w_lock);
}

int tu_w_failed(void) { return w_failed; }
const char *tu_w_report(void) { return w_buf; }

int tu_w_finish(void **result, size_t *result_len)
{
    if (w_used == 0) {
        *result = NULL;
        *result_len = 0;
        return 0;
    }
    char *p = malloc(w_used);
    if (!p)
        return -1;
    memcpy(p, w_buf, w_used);
    *result = p;
    *result_len = w_used;
    return 0;
}

int tu_w_rc_(int rc, int expect, const char *what, const char *file, int line)
{
    if (rc != expect) {
        char got[1024];
        snprintf(got, sizeof got, "%s", tu_err(rc));
        tu_w_fail(file, line, "%s returned %s; expected %s", what, got,
                  tu_code_name(expect));
    }
    return rc;
}

int tu_w_join_ok_(mc_res_id jp, mc_pid pid, const char *what,
                  const char *file, int line)
{
    mc_join_result r = {0};
    int rc = mc_join(jp, pid, &r);
    if (rc != 0) {
        char got[1024];
        snprintf(got, sizeof got, "%s", tu_err(rc));
        tu_w_fail(file, line, "mc_join(%s, pid %lld) returned %s", what,
                  (long long)pid, got);
        return -1;
    }
    int bad = 0;
    if (r.kind != MC_EXIT_RESULT) {
        tu_w_fail(file, line, "%s (pid %lld) ended with %s, not a result",
                  what, (long long)pid, tu_kind_str(&r));
        bad = 1;
    } else if (r.len != 0) {
        tu_w_fail(file, line, "%s (pid %lld) reported:\n  %.*s", what,
                  (long long)pid, (int)r.len, (const char *)r.data);
        bad = 1;
    }
    mc_join_result_free(&r);
    return bad ? -1 : 0;
}

void tu_assert_report_(int rc, mc_join_result *res, const char *file,
                       int line)
{
    if (rc != 0) {
        char got[1024];
        snprintf(got, sizeof got, "%s", tu_err(rc));
        fail_msg("%s:%d: the session failed: %s", file, line, got);
    }
    if (res->kind != MC_EXIT_RESULT) {
        char k[256];
        snprintf(k, sizeof k, "%s", tu_kind_str(res));
        mc_join_result_free(res);
        fail_msg("%s:%d: the driver ended with %s (expected a result)", file,
                 line, k);
    }
    if (res->len != 0) {
        char *msg = malloc(res->len + 1);
        memcpy(msg, res->data, res->len);
        msg[res->len] = '\0';
        mc_join_result_free(res);
        print_error("%s\n", msg);
        free(msg);
        fail_msg("%s:%d: the driver reported failures (above)", file, line);
    }
    mc_join_result_free(res);
}

void tu_assert_master_report_(const char *file, int line)
{
    if (w_failed) {
        print_error("%s\n", w_buf);
        fail_msg("%s:%d: checks in the master failed (above)", file, line);
    }
}

/* ----------------------------------------------------------- drivers */

mc_res_id tu_driver_fp, tu_driver_jp;
static int driver_defined;

static int driver_body(void *user, const void *arg, size_t len,
                       void **result, size_t *result_len)
{
    (void)user;
    tu_driver_fn *fn;
    tu_w_reset();
    if (len < sizeof fn) {
        tu_w_fail(__FILE__, __LINE__, "driver: argument of %zu bytes", len);
        return tu_w_finish(result, result_len);
    }
    memcpy(&fn, arg, sizeof fn);
    fn(len > sizeof fn ? (const char *)arg + sizeof fn : NULL,
       len - sizeof fn);
    return tu_w_finish(result, result_len);
}

void tu_def_driver(void)
{
    if (driver_defined)
        return;
    int rc = mc_def_process(driver_body, NULL, &tu_driver_fp, &tu_driver_jp);
    tu_assert_rc(rc, 0);
    driver_defined = 1;
}

int tu_group_setup_driver(void **state)
{
    (void)state;
    tu_def_driver();
    return 0;
}

static void *pack(tu_driver_fn *fn, const void *arg, size_t len)
{
    char *p = malloc(sizeof fn + len);
    if (!p)
        return NULL;
    memcpy(p, &fn, sizeof fn);
    if (len)
        memcpy(p + sizeof fn, arg, len);
    return p;
}

int tu_start_fn_ex(tu_driver_fn *fn, const void *arg, size_t len,
                   const mc_res_id *inherit, size_t n, mc_pid *pid)
{
    void *p = pack(fn, arg, len);
    if (!p)
        return MC_ENOMEM;
    /* an empty list is passed as a non-NULL array of 0 ids */
    static const mc_res_id none[1];
    int rc = inherit == NULL && n == (size_t)-1
                 ? mc_start(tu_driver_fp, p, sizeof fn + len, pid)
                 : mc_start_ex(tu_driver_fp, p, sizeof fn + len,
                               inherit ? inherit : none, n, pid);
    free(p);
    return rc;
}

int tu_start_fn(tu_driver_fn *fn, const void *arg, size_t len, mc_pid *pid)
{
    return tu_start_fn_ex(fn, arg, len, NULL, (size_t)-1, pid);
}

void tu_drive_(const mc_config *cfg, tu_driver_fn *fn, const void *arg,
               size_t len, const char *file, int line)
{
    void *p = pack(fn, arg, len);
    assert_non_null(p);
    mc_join_result res = {0};
    fflush(NULL);
    int rc = mc_run(cfg, tu_driver_fp, tu_driver_jp, p, sizeof fn + len,
                    &res);
    free(p);
    tu_assert_report_(rc, &res, file, line);
}

/* -------------------------------------------------------- utilities */

char *tu_mkdtemp(void)
{
    char tmpl[] = "/tmp/mcore-test.XXXXXX";
    char *p = mkdtemp(tmpl);
    if (!p)
        fail_msg("mkdtemp: %s", strerror(errno));
    return strdup(p);
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void tu_rmtree(const char *path)
{
    if (path)
        nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_devshm_path(const char *name, int sem, char *buf, size_t cap)
{
    const char *n = name[0] == '/' ? name + 1 : name;
    snprintf(buf, cap, "/dev/shm/%s%s", sem ? "sem." : "", n);
}

int tu_path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int tu_shm_exists(const char *name)
{
    char p[512];
    tu_devshm_path(name, 0, p, sizeof p);
    return tu_path_exists(p);
}

int tu_sem_exists(const char *name)
{
    char p[512];
    tu_devshm_path(name, 1, p, sizeof p);
    return tu_path_exists(p);
}

int tu_exists(char kind, const char *name)
{
    switch (kind) {
    case 's': return tu_shm_exists(name);
    case 'e': return tu_sem_exists(name);
    default: return tu_path_exists(name);
    }
}

int tu_wait_exists(char kind, const char *name, int want, int ms)
{
    int64_t end = tu_now_ms() + ms;
    for (;;) {
        if (!!tu_exists(kind, name) == !!want)
            return 1;
        if (tu_now_ms() >= end)
            return 0;
        tu_sleep_ms(5);
    }
}

int tu_manifest_exists(const char *dir)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/mcore.manifest", dir);
    return tu_path_exists(p);
}

int tu_manifest_has(const char *dir, const char *line)
{
    char p[1024], buf[1024];
    snprintf(p, sizeof p, "%s/mcore.manifest", dir);
    FILE *f = fopen(p, "r");
    if (!f)
        return 0;
    int found = 0;
    while (fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = '\0';
        if (strcmp(buf, line) == 0) {
            found = 1;
            break;
        }
    }
    fclose(f);
    return found;
}

const char *tu_mcadmin_path(void)
{
    static char path[4096];
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0)
        return "mcadmin";
    exe[n] = '\0';
    char *d1 = dirname(exe);   /* .../build/tests */
    char *d2 = dirname(d1);    /* .../build */
    snprintf(path, sizeof path, "%s/mcadmin", d2);
    return path;
}

struct timespec tu_deadline(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

int tu_sem_wait_ms(sem_t *s, int ms)
{
    struct timespec ts = tu_deadline(ms);
    int r;
    while ((r = sem_timedwait(s, &ts)) != 0 && errno == EINTR)
        ;
    return r;
}

int64_t tu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tu_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static inline uint8_t pattern_byte(size_t i, uint32_t seed)
{
    uint32_t x = (uint32_t)i * 2654435761u ^ seed;
    x ^= x >> 13;
    return (uint8_t)(x ^ (x >> 7) ^ (uint32_t)(i >> 12));
}

void tu_pattern_fill(void *buf, size_t len, uint32_t seed)
{
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++)
        p[i] = pattern_byte(i, seed);
}

size_t tu_pattern_check(const void *buf, size_t len, uint32_t seed)
{
    const uint8_t *p = buf;
    for (size_t i = 0; i < len; i++)
        if (p[i] != pattern_byte(i, seed))
            return i;
    return (size_t)-1;
}
