/* tests/test_status.c: seeing what runs.
 *
 *   - a worker's process title, where ps and top read it: /proc/PID/cmdline
 *     ("PROG: mcore worker TYPE #PID") and /proc/PID/comm (PROG:TYPE#PID in
 *     15 bytes), for a named and an unnamed process type; the program's own
 *     argv[0] and $PATH, which lie where the title is written, stay
 *     readable in the worker;
 *   - `mcadmin list DIR` and `mcadmin ps DIR` show a live session's workers
 *     (pid, OS pid, parent, state, type) and resources, from the status
 *     file the master rewrites; a session whose master was killed is "not
 *     live", with its last status; a clean end leaves no status file;
 *   - mc_def_process_named refuses names that are not names.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mcore/mcore.h"

static mc_res_id named_fp, named_jp, anon_fp, anon_jp;
static mc_res_id sleeper_fp, sleeper_jp, quiet_fp, quiet_jp;
static int ready_pipe[2], stop_pipe[2]; /* made before forking: inherited */
static char *saved_arg0;                /* argv[0] as main saw it */
static char *saved_path;                /* $PATH, copied in main */

/* ------------------------------------------------------------- titles */

static int read_file(const char *path, char *buf, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    *len = (size_t)n;
    return 0;
}

/* Result: "CMDLINE\nCOMM\nARG0", cmdline's NULs shown as spaces. */
static int title_body(void *user, const void *arg, size_t len, void **result,
                      size_t *result_len)
{
    (void)user;
    (void)arg;
    (void)len;
    char cmd[4096], comm[64], *out = malloc(8192);
    size_t nc, nm;
    if (!out || read_file("/proc/self/cmdline", cmd, sizeof cmd, &nc) ||
        read_file("/proc/self/comm", comm, sizeof comm, &nm)) {
        free(out);
        return MC_ESYS;
    }
    for (size_t i = 0; i < nc; i++)
        if (cmd[i] == '\0')
            cmd[i] = ' ';
    while (nc && cmd[nc - 1] == ' ')
        cmd[--nc] = '\0';
    if (nm && comm[nm - 1] == '\n')
        comm[--nm] = '\0';
    const char *path = getenv("PATH");
    int n = snprintf(out, 8192, "%s\n%s\n%s|%s", cmd, comm, saved_arg0,
                     path ? path : "");
    *result = out;
    *result_len = (size_t)n + 1;
    return 0;
}

/* The comm a worker should have: PROG:TYPE#PID cut as title.c says. */
static void want_comm(const char *prog, const char *type, long long pid,
                      char *out)
{
    char num[24];
    snprintf(num, sizeof num, "#%lld", pid);
    size_t room = 15, nn = strlen(num), nt = type ? strlen(type) : 0;
    size_t np = strlen(prog);
    if (nt > room - nn)
        nt = room - nn;
    size_t left = room - nn - nt;
    if (np + 1 > left)
        np = left > 1 ? left - 1 : 0;
    sprintf(out, "%.*s%s%.*s%s", (int)np, prog, np ? ":" : "", (int)nt,
            type ? type : "", num);
}

static void check_title(mc_res_id fp, mc_res_id jp, const char *type)
{
    mc_config cfg = {0};
    mc_join_result r = {0};
    tu_assert_rc(mc_run(&cfg, fp, jp, NULL, 0, &r), 0);
    assert_int_equal(r.kind, MC_EXIT_RESULT);
    assert_non_null(r.data);
    char *text = r.data, *nl1 = strchr(text, '\n');
    assert_non_null(nl1);
    *nl1 = '\0';
    char *comm = nl1 + 1, *nl2 = strchr(comm, '\n');
    assert_non_null(nl2);
    *nl2 = '\0';
    const char *rest = nl2 + 1;
    const char *prog = strrchr(saved_arg0, '/');
    prog = prog ? prog + 1 : saved_arg0;
    char want[512], wc[32];
    /* mc_run's first process has pid 1 */
    snprintf(want, sizeof want, "%s: mcore worker %s%s#1", prog,
             type ? type : "", type ? " " : "");
    if (strcmp(text, want) != 0)
        fail_msg("cmdline \"%s\", want \"%s\"", text, want);
    want_comm(prog, type, 1, wc);
    if (strcmp(comm, wc) != 0)
        fail_msg("comm \"%s\", want \"%s\"", comm, wc);
    /* the strings the program had are still its own in the worker */
    char wr[8300];
    snprintf(wr, sizeof wr, "%s|%s", saved_arg0, saved_path);
    if (strcmp(rest, wr) != 0)
        fail_msg("argv[0]|PATH in the worker: \"%s\", want \"%s\"", rest,
                 wr);
    mc_join_result_free(&r);
}

static void test_title(void **state)
{
    (void)state;
    tu_begin();
    check_title(named_fp, named_jp, "titled");
    check_title(anon_fp, anon_jp, NULL);
    /* the master's own command line is untouched */
    char cmd[4096];
    size_t n;
    assert_int_equal(read_file("/proc/self/cmdline", cmd, sizeof cmd, &n), 0);
    assert_string_equal(cmd, saved_arg0);
    tu_end();
}

/* A typed process (what mcidl's X_def defines): its name is the type's. */
static mc_tproc typed_tp = {.name = "typed_worker"};

static int typed_body(const void *arg, void *result, void *user)
{
    (void)arg;
    (void)result;
    (void)user;
    char cmd[4096], comm[64];
    size_t n;
    if (read_file("/proc/self/cmdline", cmd, sizeof cmd, &n) ||
        read_file("/proc/self/comm", comm, sizeof comm, &n))
        return MC_ESYS;
    /* 15 bytes: "typed_worker#1" leaves no room for the program */
    if (!strstr(cmd, ": mcore worker typed_worker #1") ||
        strcmp(comm, "typed_worker#1\n") != 0)
    {
        fprintf(stderr, "typed worker: cmdline \"%s\", comm \"%s\"\n", cmd,
                comm);
        return MC_EINVAL;
    }
    return 0;
}

static void test_title_typed(void **state)
{
    (void)state;
    tu_begin();
    mc_config cfg = {0};
    mc_join_result r = {0};
    tu_assert_rc(mc_run(&cfg, typed_tp.fork, typed_tp.join, NULL, 0, &r), 0);
    if (r.kind != MC_EXIT_RESULT)
        fail_msg("typed worker: kind %d code %d: %s", r.kind, r.code,
                 r.data ? (char *)r.data : "");
    mc_join_result_free(&r);
    tu_end();
}

static void test_names(void **state)
{
    (void)state;
    mc_res_id f, j;
    char big[MC_PROCESS_NAME_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tu_assert_rc(mc_def_process_named("", title_body, NULL, &f, &j),
                 MC_EINVAL);
    tu_assert_rc(mc_def_process_named("two words", title_body, NULL, &f, &j),
                 MC_EINVAL);
    tu_assert_rc(mc_def_process_named("a\nb", title_body, NULL, &f, &j),
                 MC_EINVAL);
    tu_assert_rc(mc_def_process_named(big, title_body, NULL, &f, &j),
                 MC_EINVAL);
    big[sizeof big - 2] = '\0'; /* exactly MC_PROCESS_NAME_MAX */
    tu_assert_rc(mc_def_process_named(big, title_body, NULL, &f, &j), 0);
    tu_assert_rc(mc_def_process_named("ok_name-1.2", NULL, NULL, &f, &j),
                 MC_EINVAL);
}

/* ------------------------------------------------------------ mcadmin */

/* Say "MCPID OSPID" on the ready pipe, then wait for a byte on the stop
 * pipe. */
static int sleeper_body(void *user, const void *arg, size_t len,
                        void **result, size_t *result_len)
{
    (void)user;
    (void)arg;
    (void)len;
    (void)result;
    (void)result_len;
    char line[64];
    int n = snprintf(line, sizeof line, "%lld %d\n", (long long)mc_self_pid(),
                     (int)getpid());
    if (write(ready_pipe[1], line, (size_t)n) != n)
        return MC_ESYS;
    char c;
    while (read(stop_pipe[0], &c, 1) < 0 && errno == EINTR)
        ;
    return 0;
}

/* Run mcadmin CMD DIR (dir NULL: none); its output into out.  Returns its
 * exit status. */
static int run_mcadmin(const char *cmd, const char *dir, char *out,
                       size_t cap)
{
    char line[2048];
    snprintf(line, sizeof line, "'%s' %s %s%s%s 2>&1", tu_mcadmin_path(), cmd,
             dir ? "'" : "", dir ? dir : "", dir ? "'" : "");
    fflush(NULL);
    FILE *p = popen(line, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Does out have a process line with these fields? */
static int has_proc(const char *out, long long pid, int ospid,
                    const char *parent, const char *state, const char *type)
{
    char want[256];
    snprintf(want, sizeof want, "  %6lld %8d %6s %-8s %s\n", pid, ospid,
             parent, state, type);
    return strstr(out, want) != NULL;
}

static char status_dir[512];

/* The driver (pid 1): starts two "sleeper"s and an unnamed one, reads
 * their pids, and finds them in mcadmin's listing with the pool it made. */
static void drv_status(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_res_id f, j;
    W_RC(mc_def_process_named("late", sleeper_body, NULL, &f, &j), MC_ESTATE);
    mc_pool *pool;
    if (W_RC(mc_pool_create(1 << 20, &pool), 0))
        return;
    mc_pid pids[3];
    W_RC(mc_start(sleeper_fp, NULL, 0, &pids[0]), 0);
    W_RC(mc_start(sleeper_fp, NULL, 0, &pids[1]), 0);
    W_RC(mc_start(quiet_fp, NULL, 0, &pids[2]), 0);
    long long mp[3];
    int os[3];
    FILE *rd = fdopen(dup(ready_pipe[0]), "r");
    for (int i = 0; i < 3; i++)
        if (!rd || fscanf(rd, "%lld %d", &mp[i], &os[i]) != 2)
            W_CHECK(0, "no word from worker %d", i);
    if (rd)
        fclose(rd);
    static char out[16384];
    int st = run_mcadmin("list", status_dir, out, sizeof out);
    W_CHECK(st == 0, "mcadmin list exited %d:\n%s", st, out);
    W_CHECK(strstr(out, "session: live\n") != NULL, "live:\n%s", out);
    pid_t master_os = 0;
    W_RC(mc_os_pid(0, &master_os), 0);
    W_CHECK(has_proc(out, 0, master_os, "-", "running", "master"),
            "the master:\n%s", out);
    W_CHECK(has_proc(out, 1, getpid(), "0", "running", "-"),
            "the driver (unnamed, started by the master):\n%s", out);
    for (int i = 0; i < 3; i++)
        W_CHECK(has_proc(out, mp[i], os[i], "1", "running",
                         mp[i] == pids[2] ? "-" : "sleeper"),
                "worker %lld (OS pid %d) started by pid 1:\n%s", mp[i],
                os[i], out);
    char want[128];
    /* held by the driver and the three workers it started */
    snprintf(want, sizeof want, " %-10s %12zu %7d -\n", "pool",
             (size_t)1 << 20, 4);
    W_CHECK(strstr(out, want) != NULL, "the pool (%s):\n%s", want,
            strstr(out, "resources:") ? strstr(out, "resources:") : out);
    W_CHECK(strstr(out, " fork_point ") && strstr(out, " sleeper\n"),
            "fork points named by their type:\n%s", out);
    st = run_mcadmin("ps", status_dir, out, sizeof out);
    W_CHECK(st == 0 && has_proc(out, mp[0], os[0], "1", "running",
                                "sleeper") && !strstr(out, "lock:"),
            "mcadmin ps exited %d:\n%s", st, out);

    /* ended and joined: gone from the listing */
    W_CHECK(write(stop_pipe[1], "xxx", 3) == 3, "stop");
    for (int i = 0; i < 3; i++) {
        mc_join_result r = {0};
        W_RC(mc_join(i == 2 ? quiet_jp : sleeper_jp, pids[i], &r), 0);
        mc_join_result_free(&r);
    }
    W_RC(mc_pool_release(pool), 0);
    /* a joined worker is listed ("exiting") until the master reaps it */
    snprintf(want, sizeof want, "  %6lld %8d ", mp[0], os[0]);
    for (int i = 0; i < 200; i++) {
        st = run_mcadmin("list", status_dir, out, sizeof out);
        if (st != 0 || (!strstr(out, want) && !strstr(out, " pool ")))
            break;
        usleep(10000);
    }
    W_CHECK(st == 0 && !strstr(out, want) && !strstr(out, " pool "),
            "joined workers and the released pool are gone:\n%s", out);
}

static void test_mcadmin_live(void **state)
{
    (void)state;
    tu_begin();
    char *dir = tu_mkdtemp();
    snprintf(status_dir, sizeof status_dir, "%s", dir);
    mc_config cfg = {.socket_dir = dir};
    tu_drive(&cfg, drv_status, NULL, 0);
    /* a clean end takes the status file away with the lock */
    char path[1024];
    snprintf(path, sizeof path, "%s/mcore.status", dir);
    if (access(path, F_OK) == 0)
        fail_msg("%s is left after a clean session", path);
    tu_rmtree(dir);
    free(dir);
    tu_end();
}

/* A session in the default directory: mcadmin finds it without DIR. */
static void drv_default_dir(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    static char out[16384];
    int st = run_mcadmin("ps", NULL, out, sizeof out);
    W_CHECK(st == 0 && has_proc(out, 1, getpid(), "0", "running", "-"),
            "mcadmin ps exited %d:\n%s", st, out);
    st = run_mcadmin("list", NULL, out, sizeof out);
    W_CHECK(st == 0 && strstr(out, "session: live\n") &&
                has_proc(out, 1, getpid(), "0", "running", "-"),
            "mcadmin list exited %d:\n%s", st, out);
}

static void test_mcadmin_default_dir(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_default_dir, NULL, 0);
    tu_end();
}

/* The master of a session that is killed while a worker runs. */
static int die_first(void *ctx)
{
    (void)ctx;
    mc_pid pid;
    if (mc_start(sleeper_fp, NULL, 0, &pid))
        _exit(3);
    char line[64];
    if (read(ready_pipe[0], line, sizeof line) <= 0)
        _exit(4);
    /* all of the session at once (its process group): the master alone
     * would be cleaned up after by the session server */
    kill(0, SIGKILL);
    return 0;
}

static void test_mcadmin_dead(void **state)
{
    (void)state;
    tu_begin();
    char *dir = tu_mkdtemp();
    fflush(NULL);
    pid_t m = fork();
    assert_true(m >= 0);
    if (m == 0) {
        setpgid(0, 0);
        mc_config cfg = {.socket_dir = dir};
        mc_startup(&cfg, die_first, NULL);
        _exit(5);
    }
    int st;
    assert_int_equal(waitpid(m, &st, 0), m);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    char out[16384], want[128];
    /* the server and the worker die with the master (one kill of the
     * group) but are reaped by others: wait for the lock to go */
    int rc;
    for (int i = 0; i < 100; i++) {
        rc = run_mcadmin("list", dir, out, sizeof out);
        if (strstr(out, "session: not live\n"))
            break;
        tu_sleep_ms(50);
    }
    if (rc != 0 || !strstr(out, "session: not live\n") ||
        !strstr(out, "last status of the dead master:\n"))
        fail_msg("mcadmin list of a dead session exited %d:\n%s", rc, out);
    snprintf(want, sizeof want, "master: pid %d, program ", (int)m);
    if (!strstr(out, want) || !strstr(out, " running  sleeper\n"))
        fail_msg("the dead master's last status is shown:\n%s", out);
    rc = run_mcadmin("ps", dir, out, sizeof out);
    if (rc != 0 || strcmp(out, "session: not live\n") != 0)
        fail_msg("mcadmin ps of a dead session exited %d:\n%s", rc, out);
    /* the worker died with its master (PDEATHSIG); unlink cleans up */
    rc = run_mcadmin("unlink", dir, out, sizeof out);
    if (rc != 0)
        fail_msg("mcadmin unlink exited %d:\n%s", rc, out);
    char path[1024];
    snprintf(path, sizeof path, "%s/mcore.status", dir);
    if (access(path, F_OK) == 0)
        fail_msg("%s is left after mcadmin unlink", path);

    /* a newer version: the lines this mcadmin knows, and a warning; a
     * file that is no status file is named as such */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "mcore-status 2 %020d\nproc 7 700 0 running later\n"
               "novel field\n", 4);
    fclose(f);
    rc = run_mcadmin("list", dir, out, sizeof out);
    if (rc != 0 || !strstr(out, "(status version 2, newer") ||
        !has_proc(out, 7, 700, "0", "running", "later"))
        fail_msg("a newer status version, exit %d:\n%s", rc, out);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("not a status\n", f);
    fclose(f);
    rc = run_mcadmin("list", dir, out, sizeof out);
    if (rc != 0 || !strstr(out, "is not a status file"))
        fail_msg("a file that is no status, exit %d:\n%s", rc, out);
    tu_rmtree(dir);
    free(dir);
    tu_end();
}

static int group_setup(void **state)
{
    (void)state;
    tu_def_driver();
    if (pipe(ready_pipe) || pipe(stop_pipe))
        return -1;
    if (mc_tproc_def(&typed_tp, typed_body, NULL))
        return -1;
    if (mc_def_process_named("titled", title_body, NULL, &named_fp,
                             &named_jp) ||
        mc_def_process(title_body, NULL, &anon_fp, &anon_jp) ||
        mc_def_process_named("sleeper", sleeper_body, NULL, &sleeper_fp,
                             &sleeper_jp) ||
        mc_def_process(sleeper_body, NULL, &quiet_fp, &quiet_jp))
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    (void)argc;
    /* both lie in the area a worker's title overwrites, unless mcore
     * moved them before main (os/title.c) */
    saved_arg0 = argv[0];
    const char *path = getenv("PATH");
    saved_path = strdup(path ? path : "");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_title),
        cmocka_unit_test(test_title_typed),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_mcadmin_live),
        cmocka_unit_test(test_mcadmin_default_dir),
        cmocka_unit_test(test_mcadmin_dead),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
