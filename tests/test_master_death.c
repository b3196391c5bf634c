/* tests/test_master_death.c: what happens when the master dies.
 *
 * The test process makes itself a subreaper and forks a child C that
 * becomes the master of a session with a fixed socket directory.  Workers
 * of C create named objects (shm, semaphore, temp file) and block; they
 * report their OS pids and the names through a pipe.  The test kills C with
 * SIGKILL and checks that
 *   - every worker is gone within 5 s (they are reparented to the test,
 *     which reaps them),
 *   - the named objects are still there and listed in the manifest, and
 *     `mcadmin list DIR` shows them,
 *   - (a) a new session with the same directory removes them, or
 *     (b) `mcadmin unlink DIR` does.
 * (c) checks that a directory whose lock is held by a live master is
 * refused with MC_EBUSY.  A directory of another user or
 * writable by others is refused, links planted at the lock, the manifest
 * or its temporary leave their targets untouched, and a forged manifest
 * makes neither a start nor mcadmin remove what mcore did not make.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static mc_res_id echo_fp, echo_jp;

static int body_echo(void *user, const void *arg, size_t len, void **result,
                     size_t *result_len)
{
    (void)user;
    if (len) {
        *result = malloc(len);
        memcpy(*result, arg, len);
        *result_len = len;
    }
    return 0;
}

/* ------------------------------------------------- the crashing master */

struct rec {
    char tag;   /* 'N' name, 'W' blocker pid, 'D' driver pid, 'R' ready */
    char kind;  /* 's' shm, 'e' sem, 'f' file (for 'N') */
    int pid;
    char name[600];
};

static int g_report_fd = -1;   /* write end, in C and its workers */
static int g_go_fd = -1;       /* read end of the "go" pipe (test c) */

static void report(char tag, char kind, const char *name)
{
    struct rec r;
    memset(&r, 0, sizeof r);
    r.tag = tag;
    r.kind = kind;
    r.pid = (int)getpid();
    if (name)
        snprintf(r.name, sizeof r.name, "%s", name);
    ssize_t n;
    do
        n = write(g_report_fd, &r, sizeof r);
    while (n < 0 && errno == EINTR);
}

static void block_forever(void)
{
    /* bounded, so that a runtime that fails to kill its workers does not
     * leave them behind for long (the test kills them anyway) */
    for (int i = 0; i < 600; i++)
        tu_sleep_ms(50);
}

static void w_blocker(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    report('W', 0, NULL);
    block_forever();
}

static void drv_crash(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_res_id ids[3];
    mc_res_info info;
    if (W_RC(mc_shm_create_named(NULL, 4096, &ids[0]), 0) == 0 &&
        W_RC(mc_res_get(ids[0], &info), 0) == 0)
        report('N', 's', info.name);
    if (W_RC(mc_named_sem_create(1, &ids[1]), 0) == 0 &&
        W_RC(mc_res_get(ids[1], &info), 0) == 0)
        report('N', 'e', info.name);
    if (W_RC(mc_file_create(&ids[2]), 0) == 0 &&
        W_RC(mc_res_get(ids[2], &info), 0) == 0)
        report('N', 'f', info.name);
    mc_res_id memfd;
    W_RC(mc_shm_create(1 << 16, &memfd), 0);
    for (int i = 0; i < 3; i++) {
        mc_pid pid;
        W_RC(tu_start_fn(w_blocker, NULL, 0, &pid), 0);
    }
    if (tu_w_failed())
        report('F', 0, tu_w_report());
    report('D', 0, NULL);
    block_forever();
}

static int first_crash(void *ctx)
{
    (void)ctx;
    mc_pid pid;
    int rc = tu_start_fn(drv_crash, NULL, 0, &pid);
    if (rc != 0)
        report('F', 0, tu_err(rc));
    return 0;
}

struct crash;
static void kill_and_reap(pid_t *pids, int n);
struct crash {
    pid_t c;               /* the master */
    int nw;                /* worker OS pids (3 blockers + driver) */
    pid_t w[4];
    int nn;
    char kind[3];
    char name[3][600];
};

/* What a failed test leaves, removed by the teardown. */
static struct crash g_cr;
static char *g_dir;

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < g_cr.nn; i++) {
        if (g_cr.kind[i] == 's')
            shm_unlink(g_cr.name[i]);
        else if (g_cr.kind[i] == 'e')
            sem_unlink(g_cr.name[i]);
        else
            unlink(g_cr.name[i]);
    }
    memset(&g_cr, 0, sizeof g_cr);
    if (g_dir) {
        tu_rmtree(g_dir);
        free(g_dir);
        g_dir = NULL;
    }
    return 0;
}

static void kill_and_reap(pid_t *pids, int n)
{
    for (int i = 0; i < n; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGKILL);
    for (int i = 0; i < n; i++)
        if (pids[i] > 0)
            waitpid(pids[i], NULL, 0);
}

/* Fork C, run the session there until all reports came, end it with sig
 * (to C, the master, or with `group`, to C's process group: the master,
 * the session server and the workers, as a crash of the machine or an OOM
 * kill of all would), then reap them all.  *status (may be NULL) gets C's
 * status.  dir NULL: the default socket directory.  Fails the test on any
 * problem. */
static void crash_session_sig(const char *dir, struct crash *cr, int sig,
                              int group, int *status);

/* A crash: everything of the session killed at once. */
static void crash_session(const char *dir, struct crash *cr)
{
    crash_session_sig(dir, cr, SIGKILL, 1, NULL);
}

/* Reap what is left of C's session (we are the subreaper): its server and
 * workers, once reparented to us; up to 5 s. */
static int reap_orphans(void)
{
    int64_t end = tu_now_ms() + 5000;
    for (;;) {
        pid_t w = waitpid(-1, NULL, WNOHANG);
        if (w < 0 && errno == ECHILD)
            return 1;
        if (w == 0 && tu_now_ms() >= end)
            return 0;
        if (w == 0)
            tu_sleep_ms(10);
    }
}

/* Where C's stderr goes when not -1 (check_stop reads what it said). */
static int g_child_stderr = -1;

static void crash_session_sig(const char *dir, struct crash *cr, int sig,
                              int group, int *status)
{
    memset(cr, 0, sizeof *cr);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    fflush(NULL);
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        setpgid(0, 0);
        close(pfd[0]);
        if (g_child_stderr >= 0)
            dup2(g_child_stderr, 2);
        g_report_fd = pfd[1];
        mc_config cfg = { .socket_dir = dir };
        int rc = mc_startup(&cfg, first_crash, NULL);
        if (rc != 0)
            report('F', 0, tu_err(rc));
        _exit(rc == 0 ? 0 : 2);
    }
    close(pfd[1]);
    cr->c = c;

    /* collect: 3 names, 3 blockers, the driver */
    char failure[2048] = "";
    int got_d = 0;
    int64_t end = tu_now_ms() + 10000;
    while ((cr->nw < 4 || cr->nn < 3 || !got_d) && !failure[0]) {
        int left = (int)(end - tu_now_ms());
        if (left <= 0) {
            snprintf(failure, sizeof failure,
                     "timeout: after 10 s got %d worker pids, %d names, "
                     "driver %s", cr->nw, cr->nn, got_d ? "yes" : "no");
            break;
        }
        struct pollfd p = { pfd[0], POLLIN, 0 };
        if (poll(&p, 1, left) <= 0)
            continue;
        struct rec r;
        ssize_t n = read(pfd[0], &r, sizeof r);
        if (n == 0) {
            int st = 0;
            waitpid(c, &st, WNOHANG);
            snprintf(failure, sizeof failure,
                     "the session in C ended early (status 0x%x)", st);
            break;
        }
        if (n != (ssize_t)sizeof r)
            continue;
        switch (r.tag) {
        case 'F':
            snprintf(failure, sizeof failure, "in C's session: %s", r.name);
            break;
        case 'N':
            if (cr->nn < 3) {
                cr->kind[cr->nn] = r.kind;
                snprintf(cr->name[cr->nn], sizeof cr->name[0], "%s", r.name);
                cr->nn++;
            }
            break;
        case 'D':
            got_d = 1;
            /* fallthrough */
        case 'W':
            if (cr->nw < 4)
                cr->w[cr->nw++] = r.pid;
            break;
        }
    }
    close(pfd[0]);

    if (failure[0])
        kill(-c, SIGKILL);
    else
        kill(group ? -c : c, sig);
    int st;
    int64_t cend = tu_now_ms() + 5000;
    pid_t cw;
    while ((cw = waitpid(c, &st, WNOHANG)) == 0 && tu_now_ms() < cend)
        tu_sleep_ms(10);
    if (cw == 0) {
        kill(c, SIGKILL);
        assert_int_equal(waitpid(c, &st, 0), c);
        if (!failure[0])
            snprintf(failure, sizeof failure, "the master did not end within "
                     "5 s of signal %d", sig);
    }
    if (status)
        *status = st;
    if (failure[0]) {
        kill_and_reap(cr->w, cr->nw);
        /* any other worker of C: reap what remains (we are the subreaper) */
        int64_t e2 = tu_now_ms() + 2000;
        while (waitpid(-1, NULL, WNOHANG) >= 0 && tu_now_ms() < e2)
            tu_sleep_ms(10);
        fail_msg("%s", failure);
    }

    /* every worker must end within 5 s of the master's death */
    int64_t t0 = tu_now_ms();
    int alive = cr->nw;
    pid_t left[4];
    memcpy(left, cr->w, sizeof left);
    while (alive > 0 && tu_now_ms() - t0 < 5000) {
        for (int i = 0; i < cr->nw; i++) {
            if (left[i] <= 0)
                continue;
            pid_t w = waitpid(left[i], &st, WNOHANG);
            if (w == left[i] || (w < 0 && errno == ECHILD)) {
                left[i] = 0;
                alive--;
            }
        }
        if (alive)
            tu_sleep_ms(10);
    }
    if (alive) {
        char pids[128] = "";
        size_t u = 0;
        for (int i = 0; i < cr->nw; i++)
            if (left[i] > 0)
                u += (size_t)snprintf(pids + u, sizeof pids - u, " %d",
                                      (int)left[i]);
        kill_and_reap(left, cr->nw);
        fail_msg("%d worker(s) still alive 5 s after the master was "
                 "killed:%s", alive, pids);
    }
    if (!reap_orphans())
        fail_msg("a process of the session (its server?) was still alive "
                 "5 s after the master was killed");
}

static void check_leftovers(const char *dir, const struct crash *cr,
                            const char *when)
{
    for (int i = 0; i < cr->nn; i++) {
        if (!tu_exists(cr->kind[i], cr->name[i]))
            fail_msg("%s (kind %c) is gone %s; it should stay until a "
                     "restart or mcadmin unlink removes it",
                     cr->name[i], cr->kind[i], when);
        char line[700];
        snprintf(line, sizeof line, "%s %s",
                 cr->kind[i] == 's' ? "shm"
                 : cr->kind[i] == 'e' ? "sem" : "file",
                 cr->name[i]);
        if (!tu_manifest_has(dir, line)) {
            char mp[700], content[4096] = "";
            snprintf(mp, sizeof mp, "%s/mcore.manifest", dir);
            FILE *f = fopen(mp, "r");
            if (f) {
                content[fread(content, 1, sizeof content - 1, f)] = '\0';
                fclose(f);
            } else {
                snprintf(content, sizeof content, "(cannot open: %s)",
                         strerror(errno));
            }
            fail_msg("%s, %s lacks \"%s\"; it holds:\n%s", when, mp,
                     line, content);
        }
    }
}

static void check_removed(const char *dir, const struct crash *cr,
                          const char *by)
{
    for (int i = 0; i < cr->nn; i++)
        if (tu_exists(cr->kind[i], cr->name[i]))
            fail_msg("%s (kind %c) still exists after %s", cr->name[i],
                     cr->kind[i], by);
    if (tu_manifest_exists(dir))
        fail_msg("%s/mcore.manifest still exists after %s", dir, by);
}

/* Run mcadmin with args; capture stdout+stderr; return the exit status. */
static int run_mcadmin(const char *cmd, const char *dir, char *out,
                       size_t cap)
{
    const char *bin = tu_mcadmin_path();
    if (access(bin, X_OK) != 0)
        fail_msg("mcadmin not found at %s (dirname(dirname(exe))/mcadmin)",
                 bin);
    char line[2048];
    if (dir)
        snprintf(line, sizeof line, "'%s' %s '%s' 2>&1", bin, cmd, dir);
    else /* the default sessions directory */
        snprintf(line, sizeof line, "'%s' %s 2>&1", bin, cmd);
    fflush(NULL);
    FILE *p = popen(line, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ------------------------------------------------------------ tests */

static void test_crash_then_restart(void **state)
{
    (void)state;
    tu_begin();
    char *dir = g_dir = tu_mkdtemp();
    struct crash cr;
    crash_session(dir, &cr);
    g_cr = cr;
    check_leftovers(dir, &cr, "after the crash");

    char out[8192];
    int st = run_mcadmin("list", dir, out, sizeof out);
    if (st != 0)
        fail_msg("mcadmin list %s exited %d:\n%s", dir, st, out);
    for (int i = 0; i < cr.nn; i++)
        if (!strstr(out, cr.name[i]))
            fail_msg("mcadmin list does not show %s; it printed:\n%s",
                     cr.name[i], out);
    check_leftovers(dir, &cr, "after mcadmin list");

    /* no_unlink: leftovers are refused, not removed */
    mc_config cfg = { .socket_dir = dir, .no_unlink = 1 };
    mc_join_result r = {0};
    tu_assert_rc(mc_run(&cfg, echo_fp, echo_jp, "x", 1, &r), MC_EBUSY);
    check_leftovers(dir, &cr,
                    "after mc_run with no_unlink was refused (MC_EBUSY)");

    /* a new session with the same directory removes them */
    cfg.no_unlink = 0;
    tu_assert_rc(mc_run(&cfg, echo_fp, echo_jp, "x", 1, &r), 0);
    assert_int_equal(r.kind, MC_EXIT_RESULT);
    mc_join_result_free(&r);
    check_removed(dir, &cr, "a new session with the same directory");
    tu_rmtree(dir);
    free(dir);
    g_dir = NULL;
    memset(&g_cr, 0, sizeof g_cr);
    tu_end();
}

static void test_crash_then_mcadmin_unlink(void **state)
{
    (void)state;
    tu_begin();
    char *dir = g_dir = tu_mkdtemp();
    struct crash cr;
    crash_session(dir, &cr);
    g_cr = cr;
    check_leftovers(dir, &cr, "after the crash");
    char out[8192];
    int st = run_mcadmin("unlink", dir, out, sizeof out);
    if (st != 0)
        fail_msg("mcadmin unlink %s exited %d:\n%s", dir, st, out);
    check_removed(dir, &cr, "mcadmin unlink");
    /* the directory is usable again */
    mc_config cfg = { .socket_dir = dir };
    mc_join_result r = {0};
    tu_assert_rc(mc_run(&cfg, echo_fp, echo_jp, "y", 1, &r), 0);
    mc_join_result_free(&r);
    tu_rmtree(dir);
    free(dir);
    g_dir = NULL;
    memset(&g_cr, 0, sizeof g_cr);
    tu_end();
}

/* (c) a live master holds the directory */
static void w_wait_go(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_res_id id;
    mc_res_info info;
    int rc = mc_shm_create_named(NULL, 4096, &id);
    if (!rc)
        rc = mc_res_get(id, &info);
    if (rc) {
        report('F', 0, tu_err(rc));
        return;
    }
    report('R', 's', info.name);
    char b;
    ssize_t n;
    do
        n = read(g_go_fd, &b, 1);
    while (n < 0 && errno == EINTR);
}

static int first_wait_go(void *ctx)
{
    (void)ctx;
    mc_pid pid;
    int rc = tu_start_fn(w_wait_go, NULL, 0, &pid);
    if (rc != 0)
        report('F', 0, tu_err(rc));
    return 0;
}

static int first_never(void *ctx)
{
    (*(int *)ctx)++;
    return 0;
}

/* Fork C, the master of a session in dir (NULL: the default one) whose
 * worker creates a named shm object and waits for a byte on the "go"
 * pipe.  Returns 1 once C reported ready (*r has the name), 0 otherwise;
 * *go_w is the write end to close to let C end. */
static int start_live(const char *dir, pid_t *c, int *go_w, struct rec *r)
{
    int rep[2], go[2];
    assert_int_equal(pipe(rep), 0);
    assert_int_equal(pipe(go), 0);
    fflush(NULL);
    *c = fork();
    assert_true(*c >= 0);
    if (*c == 0) {
        close(rep[0]);
        close(go[1]);
        g_report_fd = rep[1];
        g_go_fd = go[0];
        mc_config cfg = { .socket_dir = dir };
        int rc = mc_startup(&cfg, first_wait_go, NULL);
        if (rc != 0)
            report('F', 0, tu_err(rc));
        _exit(rc == 0 ? 0 : 2);
    }
    close(rep[1]);
    close(go[0]);
    *go_w = go[1];
    struct pollfd p = { rep[0], POLLIN, 0 };
    memset(r, 0, sizeof *r);
    int ok = poll(&p, 1, 10000) == 1 &&
             read(rep[0], r, sizeof *r) == (ssize_t)sizeof *r &&
             r->tag == 'R';
    close(rep[0]);
    return ok;
}

static void test_busy_dir(void **state)
{
    (void)state;
    tu_begin();
    char *dir = g_dir = tu_mkdtemp();
    pid_t c;
    int go_w;
    struct rec r;
    int ok = start_live(dir, &c, &go_w, &r);
    if (ok) {
        g_cr.nn = 1;
        g_cr.kind[0] = 's';
        snprintf(g_cr.name[0], sizeof g_cr.name[0], "%s", r.name);
    }
    if (!ok) {
        close(go_w);
        kill(c, SIGKILL);
        waitpid(c, NULL, 0);
        fail_msg("the session in C did not get ready: %s",
                 r.tag == 'F' ? r.name : "timeout or EOF");
    }

    int called = 0;
    mc_config cfg = { .socket_dir = dir };
    int rc = mc_startup(&cfg, first_never, &called);
    int rc2;
    mc_join_result jr = {0};
    rc2 = mc_run(&cfg, echo_fp, echo_jp, "x", 1, &jr);
    /* the refused sessions must not touch the live master's directory */
    char line[700];
    snprintf(line, sizeof line, "shm %s", r.name);
    int listed = tu_manifest_has(dir, line);
    int exists = tu_shm_exists(r.name);
    char lockp[600];
    snprintf(lockp, sizeof lockp, "%s/mcore.lock", dir);
    int locked = tu_path_exists(lockp);

    close(go_w);  /* lets C's worker, then C, end */
    int st = 0;
    int64_t end = tu_now_ms() + 5000;
    pid_t w;
    while ((w = waitpid(c, &st, WNOHANG)) == 0 && tu_now_ms() < end)
        tu_sleep_ms(10);
    if (w == 0) {
        kill(c, SIGKILL);
        waitpid(c, NULL, 0);
    }
    tu_assert_rc(rc, MC_EBUSY);
    assert_int_equal(called, 0);
    tu_assert_rc(rc2, MC_EBUSY);
    if (!exists)
        fail_msg("the live master's %s vanished after a refused mc_startup",
                 r.name);
    if (!listed)
        fail_msg("a refused mc_startup (MC_EBUSY) removed the live master's "
                 "manifest entry \"%s\" (%s/mcore.manifest %s)", line, dir,
                 tu_manifest_exists(dir) ? "exists" : "is gone");
    if (!locked)
        fail_msg("a refused mc_startup removed the live master's lock file "
                 "%s", lockp);
    if (w != c)
        fail_msg("C's session did not end within 5 s of the go");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("C's session ended with status 0x%x", st);

    if (tu_shm_exists(r.name))
        fail_msg("%s survived the end of C's session", r.name);
    /* once C is gone, the directory is free */
    tu_assert_rc(mc_run(&cfg, echo_fp, echo_jp, "x", 1, &jr), 0);
    mc_join_result_free(&jr);
    tu_rmtree(dir);
    free(dir);
    g_dir = NULL;
    memset(&g_cr, 0, sizeof g_cr);
    tu_end();
}

/* ------------------------------------------------ a planted directory
 *
 * The socket directory is trusted only when it belongs to this user and
 * nobody else may write in it; files in it are never followed through a
 * link; a manifest names only objects whose names mcore makes. */

static int first_nothing(void *ctx)
{
    (void)ctx;
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        fail_msg("fopen(%s): %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

/* 1 if path holds exactly text. */
static int file_is(const char *path, const char *text)
{
    char buf[4096];
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strcmp(buf, text) == 0;
}

static void expect_refused(const char *dir, const char *why)
{
    mc_config cfg = { .socket_dir = dir };
    int called = 0;
    int rc = mc_startup(&cfg, first_never, &called);
    if (rc != MC_EINVAL)
        fail_msg("mc_startup on %s (%s) returned %s, expected MC_EINVAL",
                 dir, why, tu_err(rc));
    if (!strstr(mc_last_error_detail(), dir))
        fail_msg("the detail \"%s\" does not name %s (%s)",
                 mc_last_error_detail(), dir, why);
    assert_int_equal(called, 0);
    char out[4096];
    int st = run_mcadmin("unlink", dir, out, sizeof out);
    if (st != 1 || !strstr(out, "refused"))
        fail_msg("mcadmin unlink %s (%s) exited %d:\n%s", dir, why, st, out);
}

static void test_untrusted_dir(void **state)
{
    (void)state;
    tu_begin();
    char *dir = g_dir = tu_mkdtemp();
    /* writable by others, by the group, sticky like /tmp */
    static const mode_t modes[] = { 0777, 0770, 01777, 0702 };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        assert_int_equal(chmod(dir, modes[i]), 0);
        char why[64];
        snprintf(why, sizeof why, "mode %04o", (unsigned)modes[i]);
        expect_refused(dir, why);
    }
    assert_int_equal(chmod(dir, 0700), 0);
    /* another user's directory (needs root to make one) */
    if (geteuid() == 0) {
        assert_int_equal(chown(dir, 65534, 65534), 0);
        expect_refused(dir, "owned by uid 65534");
        assert_int_equal(chown(dir, 0, 0), 0);
    }
    /* nothing was created in the refused directory */
    char p[600];
    snprintf(p, sizeof p, "%s/mcore.lock", dir);
    if (tu_path_exists(p))
        fail_msg("a refused start created %s", p);
    /* a good directory works */
    mc_config cfg = { .socket_dir = dir };
    tu_assert_rc(mc_startup(&cfg, first_nothing, NULL), 0);
    tu_rmtree(dir);
    free(dir);
    g_dir = NULL;
    tu_end();
}

/* Plant leaf in dir as a symlink (or hard link) to a victim file; a start
 * and mcadmin must leave the victim as it was. */
static void check_planted(const char *leaf, int hard)
{
    static const char precious[] = "root:x:0:0:precious\n";
    char *dir = g_dir = tu_mkdtemp();
    char *vdir = tu_mkdtemp();
    char victim[600], link_[600];
    snprintf(victim, sizeof victim, "%s/passwd", vdir);
    snprintf(link_, sizeof link_, "%s/%s", dir, leaf);
    write_file(victim, precious);
    if (hard)
        assert_int_equal(link(victim, link_), 0);
    else
        assert_int_equal(symlink(victim, link_), 0);

    /* a session that creates and removes a named object: lock, manifest
     * append, temporary manifest, rename, unlink */
    mc_config cfg = { .socket_dir = dir };
    mc_join_result r = {0};
    int rc = mc_run(&cfg, echo_fp, echo_jp, "x", 1, &r);
    mc_join_result_free(&r);
    int rc2 = mc_startup(&cfg, first_nothing, NULL);
    char out[4096];
    run_mcadmin("unlink", dir, out, sizeof out);
    run_mcadmin("list", dir, out, sizeof out);
    int intact = file_is(victim, precious);
    tu_rmtree(vdir);
    free(vdir);
    if (!intact)
        fail_msg("%s %s/%s -> victim: the victim was changed", hard ? "hard"
                 : "symbolic", dir, leaf);
    /* the lock and the manifest are refused while a link is there; the
     * temporary manifest is replaced, never written through */
    if (strcmp(leaf, "mcore.manifest.tmp") != 0 && (rc == 0 || rc2 == 0))
        fail_msg("a start with a %s link at %s/%s succeeded (%s, %s)",
                 hard ? "hard" : "symbolic", dir, leaf, tu_code_name(rc),
                 tu_code_name(rc2));
    tu_rmtree(dir);
    free(dir);
    g_dir = NULL;
}

static void drv_named_churn(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_res_id a, b;
    if (W_RC(mc_shm_create_named(NULL, 4096, &a), 0) == 0 &&
        W_RC(mc_shm_create_named(NULL, 4096, &b), 0) == 0) {
        W_RC(mc_release(a), 0); /* rewrites the manifest via .tmp */
        W_RC(mc_release(b), 0);
    }
}

static void test_planted_links(void **state)
{
    (void)state;
    tu_begin();
    static const char *const leaves[] = { "mcore.lock", "mcore.manifest",
                                          "mcore.manifest.tmp" };
    for (int hard = 0; hard < 2; hard++)
        for (size_t i = 0; i < 3; i++)
            check_planted(leaves[i], hard);
    /* the temporary manifest with a session that does rewrite it */
    char *dir = g_dir = tu_mkdtemp();
    char *vdir = tu_mkdtemp();
    char victim[600], link_[600];
    snprintf(victim, sizeof victim, "%s/passwd", vdir);
    snprintf(link_, sizeof link_, "%s/mcore.manifest.tmp", dir);
    write_file(victim, "precious\n");
    assert_int_equal(symlink(victim, link_), 0);
    mc_config cfg = { .socket_dir = dir };
    tu_drive(&cfg, drv_named_churn, NULL, 0);
    int intact = file_is(victim, "precious\n");
    tu_rmtree(vdir);
    free(vdir);
    if (!intact)
        fail_msg("a manifest rewrite wrote through %s", link_);
    tu_rmtree(dir);
    free(dir);
    g_dir = NULL;
    tu_end();
}

/* A forged manifest naming a file outside the directory, paths that climb
 * out of it, and another user's shm object: none may be unlinked; an
 * object of ours with a good entry is. */
static void check_forged(int by_mcadmin)
{
    char *dir = g_dir = tu_mkdtemp();
    char *vdir = tu_mkdtemp();
    char victim[600], inner[600], own[64], foreign[64], man[700];
    snprintf(victim, sizeof victim, "%s/passwd", vdir);
    write_file(victim, "precious\n");
    snprintf(inner, sizeof inner, "%s/keep", dir);
    snprintf(own, sizeof own, "/mcore-test.%d.own", (int)getpid());
    snprintf(foreign, sizeof foreign, "/mcore-test.%d.foreign",
             (int)getpid());
    int fd = shm_open(own, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    int have_foreign = 0;
    if (geteuid() == 0) {
        fd = shm_open(foreign, O_RDWR | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        assert_int_equal(fchown(fd, 65534, 65534), 0);
        close(fd);
        have_foreign = 1;
    }
    write_file(inner, "inner\n");
    char text[4096];
    snprintf(text, sizeof text,
             "file %s\n"                /* outside the directory */
             "file %s/../%s/passwd\n"   /* climbs out */
             "file %s/sub/x\n"          /* not directly in it */
             "file %s/mcore.lock\n"     /* its own lock */
             "shm /../../etc/shadow\n"
             "sem /..\n"
             "shm %s\n"                 /* another user's object */
             "shm %s\n",                /* ours: removed */
             victim, dir, strrchr(vdir, '/') + 1, dir, dir, foreign, own);
    snprintf(man, sizeof man, "%s/mcore.manifest", dir);
    write_file(man, text);

    if (by_mcadmin) {
        char out[4096];
        int st = run_mcadmin("unlink", dir, out, sizeof out);
        if (st != 0)
            fail_msg("mcadmin unlink %s exited %d:\n%s", dir, st, out);
    } else {
        mc_config cfg = { .socket_dir = dir };
        tu_assert_rc(mc_startup(&cfg, first_nothing, NULL), 0);
    }
    const char *by = by_mcadmin ? "mcadmin unlink" : "a restart";
    int victim_ok = file_is(victim, "precious\n");
    int inner_ok = file_is(inner, "inner\n");
    int foreign_ok = !have_foreign || tu_shm_exists(foreign);
    int own_gone = !tu_shm_exists(own);
    shm_unlink(own);
    shm_unlink(foreign);
    tu_rmtree(vdir);
    free(vdir);
    if (!victim_ok)
        fail_msg("%s removed or changed %s, named by a forged manifest", by,
                 victim);
    if (!inner_ok)
        fail_msg("%s removed %s, not named in the manifest", by, inner);
    if (!foreign_ok)
        fail_msg("%s unlinked another user's shm object %s", by, foreign);
    if (!own_gone)
        fail_msg("%s did not remove %s, a good entry of ours", by, own);
    tu_rmtree(dir);
    free(dir);
    g_dir = NULL;
}

static void test_forged_manifest(void **state)
{
    (void)state;
    tu_begin();
    check_forged(0);
    check_forged(1);
    tu_end();
}

/* ------------------------------- crashes with the default directory
 *
 * With socket_dir NULL each session has a directory under the user's
 * sessions directory; a master killed by SIGKILL leaves it with its
 * objects, and the next default session, or mcadmin with no DIR, removes
 * them.  SIGINT and SIGTERM end the session cleanly: nothing is left. */

/* The session directory of a crash: where its temporary file was. */
static void crash_dir(const struct crash *cr, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (int i = 0; i < cr->nn; i++)
        if (cr->kind[i] == 'f') {
            snprintf(buf, cap, "%s", cr->name[i]);
            char *slash = strrchr(buf, '/');
            if (slash)
                *slash = '\0';
        }
    if (!buf[0])
        fail_msg("the crashed session reported no temporary file");
}

static void default_crash(struct crash *cr, char *dir, size_t cap)
{
    crash_session(NULL, cr);
    g_cr = *cr;
    crash_dir(cr, dir, cap);
    check_leftovers(dir, cr, "after the crash (default socket directory)");
}

static void check_all_gone(const struct crash *cr, const char *dir,
                           const char *by)
{
    check_removed(dir, cr, by);
    if (tu_path_exists(dir))
        fail_msg("the session directory %s still exists after %s", dir, by);
}

static void test_default_crash_then_restart(void **state)
{
    (void)state;
    tu_begin();
    struct crash cr;
    char dir[600];
    default_crash(&cr, dir, sizeof dir);
    /* any new default session finds the stale one */
    mc_join_result r = {0};
    tu_assert_rc(mc_run(NULL, echo_fp, echo_jp, "x", 1, &r), 0);
    mc_join_result_free(&r);
    check_all_gone(&cr, dir, "a new default session");
    memset(&g_cr, 0, sizeof g_cr);
    tu_end();
}

static void test_default_crash_then_mcadmin(void **state)
{
    (void)state;
    tu_begin();
    struct crash cr;
    char dir[600];
    default_crash(&cr, dir, sizeof dir);
    char out[8192];
    int st = run_mcadmin("list", NULL, out, sizeof out);
    if (st != 0 || !strstr(out, dir) || !strstr(out, cr.name[0]))
        fail_msg("mcadmin list (no DIR) exited %d without showing %s and "
                 "%s:\n%s", st, dir, cr.name[0], out);
    check_leftovers(dir, &cr, "after mcadmin list");
    st = run_mcadmin("unlink", NULL, out, sizeof out);
    if (st != 0 || !strstr(out, "removed 1 stale session"))
        fail_msg("mcadmin unlink (no DIR) exited %d:\n%s", st, out);
    check_all_gone(&cr, dir, "mcadmin unlink with no DIR");
    memset(&g_cr, 0, sizeof g_cr);
    tu_end();
}

/* A live default session is not swept: it keeps its objects while
 * another default session starts and ends. */
static void test_default_live_kept(void **state)
{
    (void)state;
    tu_begin();
    pid_t c;
    int go_w;
    struct rec r;
    int ok = start_live(NULL, &c, &go_w, &r);
    int rc = -1, st_admin = -1, exists = 0;
    char out[8192] = "";
    if (ok) {
        mc_join_result jr = {0};
        rc = mc_run(NULL, echo_fp, echo_jp, "x", 1, &jr);
        mc_join_result_free(&jr);
        st_admin = run_mcadmin("unlink", NULL, out, sizeof out);
        exists = tu_shm_exists(r.name);
    }
    close(go_w);
    int st = 0;
    waitpid(c, &st, 0);
    if (!ok) {
        shm_unlink(r.name);
        fail_msg("the session in C did not get ready: %s",
                 r.tag == 'F' ? r.name : "timeout or EOF");
    }
    tu_assert_rc(rc, 0);
    if (st_admin != 0)
        fail_msg("mcadmin unlink (no DIR) exited %d:\n%s", st_admin, out);
    if (!exists)
        fail_msg("a live default session lost %s to a sweep", r.name);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("C's session ended with status 0x%x", st);
    tu_end();
}

static void check_stop(int sig)
{
    tu_begin();
    struct crash cr;
    char dir[600];
    int st = 0;
    FILE *err = tmpfile();
    assert_non_null(err);
    g_child_stderr = fileno(err);
    crash_session_sig(NULL, &cr, sig, 0, &st);
    g_child_stderr = -1;
    g_cr = cr;
    /* the workers the server ended for the signal did not fail: the user
     * asked for the end, so the server reports none of them */
    char said[4096] = "";
    rewind(err);
    size_t n = fread(said, 1, sizeof said - 1, err);
    said[n] = '\0';
    fclose(err);
    if (strstr(said, "mcore: worker"))
        fail_msg("after signal %d to the master, stderr said:\n%s", sig,
                 said);
    crash_dir(&cr, dir, sizeof dir);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != sig)
        fail_msg("the master ended with status 0x%x after signal %d; "
                 "expected to die of it once the session was cleaned up",
                 st, sig);
    char by[64];
    snprintf(by, sizeof by, "signal %d to the master", sig);
    check_all_gone(&cr, dir, by);
    memset(&g_cr, 0, sizeof g_cr);
    tu_end();
}

/* The master alone killed outright (SIGKILL): the session server sees its
 * socket close, ends the workers and removes everything, directory
 * included, as after a clean end. */
static void test_master_killed_cleans(void **state)
{
    (void)state;
    tu_begin();
    struct crash cr;
    char dir[600];
    crash_session_sig(NULL, &cr, SIGKILL, 0, NULL);
    g_cr = cr;
    crash_dir(&cr, dir, sizeof dir);
    check_all_gone(&cr, dir, "SIGKILL to the master alone");
    memset(&g_cr, 0, sizeof g_cr);
    tu_end();
}

static void test_sigterm_cleans(void **state)
{
    (void)state;
    check_stop(SIGTERM);
}

static void test_sigint_cleans(void **state)
{
    (void)state;
    check_stop(SIGINT);
}

static int group_setup(void **state)
{
    (void)state;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        fail_msg("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
    tu_def_driver();
    assert_int_equal(mc_def_process(body_echo, NULL, &echo_fp, &echo_jp), 0);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_crash_then_restart, teardown),
        cmocka_unit_test_teardown(test_crash_then_mcadmin_unlink, teardown),
        cmocka_unit_test_teardown(test_busy_dir, teardown),
        cmocka_unit_test_teardown(test_untrusted_dir, teardown),
        cmocka_unit_test_teardown(test_planted_links, teardown),
        cmocka_unit_test_teardown(test_forged_manifest, teardown),
        cmocka_unit_test_teardown(test_default_crash_then_restart, teardown),
        cmocka_unit_test_teardown(test_default_crash_then_mcadmin, teardown),
        cmocka_unit_test_teardown(test_default_live_kept, teardown),
        cmocka_unit_test_teardown(test_master_killed_cleans, teardown),
        cmocka_unit_test_teardown(test_sigterm_cleans, teardown),
        cmocka_unit_test_teardown(test_sigint_cleans, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
