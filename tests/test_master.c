/* tests/test_master.c: the master takes part in its session (process.h,
 * "The master").  Its blocking calls work (camlbox waits, joins), and its
 * own long computations do not stall the workers' requests: the session
 * server answers them. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"

static mc_res_id send_fp, send_jp;   /* sends N values, then -1, to a box */
static mc_res_id busy_fp, busy_jp;   /* many requests, then sets a flag */
static mc_res_id hang_fp, hang_jp;   /* sleeps until killed */
static mc_res_id nap_fp, nap_jp;     /* sleeps arg ms, returns arg */
static mc_res_id fail_fp, fail_jp;   /* arg 'e': MC_EINVAL; 's': SIGABRT */
static mc_res_id die_fp, die_jp;     /* sends 5 values to a box, then dies */
static mc_res_id sem_hang_fp, sem_hang_jp; /* a named semaphore, then hangs */

#define N_SENDERS 4
#define N_MSGS 2000

static int body_send(void *user, const void *arg, size_t len, void **result,
                     size_t *rlen)
{
    (void)user; (void)result; (void)rlen;
    mc_res_id box;
    if (len != sizeof box)
        return MC_EINVAL;
    memcpy(&box, arg, sizeof box);
    mc_camlbox_sender *s;
    int rc = mc_camlbox_sender_lookup(box, &mc_type_i64, &s);
    if (rc)
        return rc;
    for (int64_t i = 1; i <= N_MSGS && !rc; i++)
        rc = mc_camlbox_send(s, &i);
    int64_t end = -1;
    if (!rc)
        rc = mc_camlbox_send(s, &end);
    int rc2 = mc_camlbox_sender_release(s);
    return rc ? rc : rc2;
}

/* The program, written the obvious way: the master creates a box,
 * starts workers that look it up and send, waits on the box with an
 * infinite timeout until every end marker came, and joins them. */
static int first_box(void *ctx)
{
    int64_t *sum = ctx;
    mc_camlbox *box;
    if (W_RC(mc_camlbox_create(&mc_type_i64, 16, 64, NULL, &box), 0))
        return 0;
    mc_res_id id = mc_camlbox_id(box);
    mc_pid pid[N_SENDERS];
    int n = 0;
    for (int i = 0; i < N_SENDERS; i++)
        if (W_RC(mc_start(send_fp, &id, sizeof id, &pid[n]), 0) == 0)
            n++;
    int ends = 0;
    int64_t count = 0;
    while (ends < n) {
        unsigned slots[16];
        size_t got;
        if (W_RC(mc_camlbox_wait(box, -1, slots, 16, &got), 0))
            break;
        for (size_t i = 0; i < got; i++) {
            const int64_t *v;
            if (W_RC(mc_camlbox_get(box, slots[i], (const void **)&v), 0))
                continue;
            if (*v < 0)
                ends++;
            else {
                *sum += *v;
                count++;
            }
            mc_camlbox_delete(box, slots[i]);
        }
    }
    W_CHECK(count == (int64_t)n * N_MSGS, "%lld messages, expected %lld",
            (long long)count, (long long)n * N_MSGS);
    for (int i = 0; i < n; i++) {
        mc_join_result r = {0};
        if (W_RC(mc_join(send_jp, pid[i], &r), 0) == 0)
            W_CHECK(r.kind == MC_EXIT_RESULT, "sender %d: %s", i,
                    tu_kind_str(&r));
        mc_join_result_free(&r);
    }
    W_RC(mc_camlbox_destroy(box), 0);
    return 0;
}

static void test_master_waits_on_box(void **state)
{
    (void)state;
    tu_begin();
    int64_t sum = 0;
    tu_assert_rc(mc_startup(NULL, first_box, &sum), 0);
    tu_assert_master_report();
    assert_int_equal(sum, (int64_t)N_SENDERS * N_MSGS * (N_MSGS + 1) / 2);
    tu_end();
}

/* ------------------------------------------------ a master busy in its code */

#define BUSY_REQUESTS 300

static int body_busy(void *user, const void *arg, size_t len, void **result,
                     size_t *rlen)
{
    (void)user; (void)result; (void)rlen;
    mc_res_id flag_id;
    if (len != sizeof flag_id)
        return MC_EINVAL;
    memcpy(&flag_id, arg, sizeof flag_id);
    int fd, rc = mc_shm_fd(flag_id, &fd);
    if (rc)
        return rc;
    volatile int *flag = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
                              fd, 0);
    if (flag == MAP_FAILED)
        return MC_ESYS;
    /* each of these is a request the session must answer */
    for (int i = 0; i < BUSY_REQUESTS && !rc; i++) {
        mc_res_id id;
        if (!(rc = mc_shm_create(4096, &id)))
            rc = mc_release(id);
    }
    __atomic_store_n(flag, rc ? 2 : 1, __ATOMIC_RELEASE);
    munmap((void *)flag, 4096);
    return rc;
}

/* The master computes without calling mcore (a spin on a flag in shared
 * memory) while a worker makes hundreds of requests: they are answered. */
static int first_busy(void *ctx)
{
    int *flag_seen = ctx;
    mc_res_id flag_id;
    int fd;
    if (W_RC(mc_shm_create(4096, &flag_id), 0) ||
        W_RC(mc_shm_fd(flag_id, &fd), 0))
        return 0;
    volatile int *flag = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
                              fd, 0);
    if (flag == MAP_FAILED)
        return -1;
    mc_pid pid;
    if (W_RC(mc_start(busy_fp, &flag_id, sizeof flag_id, &pid), 0) == 0) {
        int64_t end = tu_now_ms() + 10000;
        while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE) &&
               tu_now_ms() < end)
            ; /* user code: no mcore call */
        *flag_seen = *flag;
        mc_join_result r = {0};
        W_RC(mc_join(busy_jp, pid, &r), 0);
        W_CHECK(r.kind == MC_EXIT_RESULT, "busy worker: %s", tu_kind_str(&r));
        mc_join_result_free(&r);
    }
    munmap((void *)flag, 4096);
    W_RC(mc_release(flag_id), 0);
    return 0;
}

static void test_master_busy(void **state)
{
    (void)state;
    tu_begin();
    int seen = 0;
    tu_assert_rc(mc_startup(NULL, first_busy, &seen), 0);
    tu_assert_master_report();
    if (seen != 1)
        fail_msg("a worker's %d requests were not answered within 10 s "
                 "while the master ran its own code (flag %d)",
                 BUSY_REQUESTS, seen);
    tu_end();
}

/* ------------------------------------------- a death while the master waits */

static int body_hang(void *user, const void *arg, size_t len, void **result,
                     size_t *rlen)
{
    (void)user; (void)arg; (void)len; (void)result; (void)rlen;
    for (;;)
        pause();
    return 0;
}

static int body_nap(void *user, const void *arg, size_t len, void **result,
                    size_t *rlen)
{
    (void)user;
    int ms;
    if (len != sizeof ms)
        return MC_EINVAL;
    memcpy(&ms, arg, sizeof ms);
    tu_sleep_ms(ms);
    if (!(*result = malloc(sizeof ms)))
        return MC_ENOMEM;
    memcpy(*result, &ms, sizeof ms);
    *rlen = sizeof ms;
    return 0;
}

static int body_fail(void *user, const void *arg, size_t len, void **result,
                     size_t *rlen)
{
    (void)user; (void)len; (void)result; (void)rlen;
    if (*(const char *)arg == 's')
        raise(SIGABRT);
    mc_res_id id;
    return mc_shm_create(0, &id); /* MC_EINVAL, with a detail */
}

/* ------------------------------------------- timed joins, kill, os pid */

static int first_timed(void *ctx)
{
    (void)ctx;
    mc_pid pid;
    if (W_RC(mc_start(hang_fp, NULL, 0, &pid), 0))
        return 0;
    mc_join_result r = {0};
    int64_t t0 = tu_now_ms();
    W_RC(mc_join_timed(hang_jp, pid, 100, &r), MC_ETIMEDOUT);
    int64_t dt = tu_now_ms() - t0;
    W_CHECK(dt >= 90 && dt < 3000, "a 100 ms timed join took %lld ms",
            (long long)dt);
    W_RC(mc_join_timed(hang_jp, pid, 0, &r), MC_ETIMEDOUT);
    W_RC(mc_join_nowait(hang_jp, pid, &r), MC_EAGAIN);
    /* its OS pid names a live process of ours */
    pid_t os = 0, me = 0;
    W_RC(mc_os_pid(pid, &os), 0);
    W_CHECK(os > 0 && kill(os, 0) == 0, "mc_os_pid gave %d", (int)os);
    W_RC(mc_os_pid(0, &me), 0);
    W_CHECK(me == getpid(), "mc_os_pid(0) gave %d, the master is %d",
            (int)me, (int)getpid());
    W_RC(mc_os_pid(pid + 100, &os), MC_ENOENT);
    W_RC(mc_os_pid(pid, NULL), MC_EINVAL);
    /* kill: bad signal, the master, then the worker; a join sees it */
    W_RC(mc_kill(pid, -1), MC_EINVAL);
    W_RC(mc_kill(pid, 100000), MC_EINVAL);
    W_RC(mc_kill(0, SIGTERM), MC_EINVAL);
    W_RC(mc_kill(pid, 0), 0);
    W_RC(mc_kill(pid, SIGTERM), 0);
    if (W_RC(mc_join_timed(hang_jp, pid, 5000, &r), 0) == 0)
        W_CHECK(r.kind == MC_EXIT_SIGNAL && r.code == SIGTERM,
                "killed worker: %s", tu_kind_str(&r));
    mc_join_result_free(&r);
    W_RC(mc_kill(pid, SIGTERM), MC_ENOENT);
    W_RC(mc_os_pid(pid, &os), MC_ENOENT);
    return 0;
}

/* A session whose checks all run in the master's first. */
static void master_case(mc_first_fn *first)
{
    tu_begin();
    tu_assert_rc(mc_startup(NULL, first, NULL), 0);
    tu_assert_master_report();
    tu_end();
}

static void test_timed_kill(void **state)
{
    (void)state;
    master_case(first_timed);
}

/* ------------------------------------------------ join any, cancel */

static int first_any(void *ctx)
{
    (void)ctx;
    /* started longest first: they end in the other order */
    int ms[3] = {600, 300, 50};
    mc_pid pid[3];
    for (int i = 0; i < 3; i++)
        if (W_RC(mc_start(nap_fp, &ms[i], sizeof ms[i], &pid[i]), 0))
            return 0;
    for (int k = 2; k >= 0; k--) {
        mc_pid got = 0;
        mc_join_result r = {0};
        if (W_RC(mc_join_any(nap_jp, 5000, &got, &r), 0))
            continue;
        W_CHECK(got == pid[k], "join %d: got pid %lld, expected %lld",
                2 - k, (long long)got, (long long)pid[k]);
        W_CHECK(r.kind == MC_EXIT_RESULT && r.len == sizeof(int) &&
                    memcmp(r.data, &ms[k], sizeof(int)) == 0,
                "join %d: %s", 2 - k, tu_kind_str(&r));
        mc_join_result_free(&r);
    }
    mc_pid got;
    mc_join_result r = {0};
    W_RC(mc_join_any(nap_jp, -1, &got, &r), MC_ENOENT); /* none left */
    W_RC(mc_join_any(nap_jp, 0, NULL, &r), MC_EINVAL);
    /* one ended before the call: taken at once, even with no wait */
    int z = 0;
    mc_pid p0;
    if (!W_RC(mc_start(nap_fp, &z, sizeof z, &p0), 0)) {
        W_RC(mc_join(nap_jp, p0, &r), 0);
        mc_join_result_free(&r);
    }
    /* a hanging one: the wait times out; cancel ends it */
    mc_pid h[2];
    W_RC(mc_start(hang_fp, NULL, 0, &h[0]), 0);
    W_RC(mc_start(hang_fp, NULL, 0, &h[1]), 0);
    W_RC(mc_join_any(hang_jp, 0, &got, &r), MC_ETIMEDOUT);
    int64_t t0 = tu_now_ms();
    W_RC(mc_join_any(hang_jp, 80, &got, &r), MC_ETIMEDOUT);
    W_CHECK(tu_now_ms() - t0 >= 70, "join_any returned early");
    pid_t os[2];
    W_RC(mc_os_pid(h[0], &os[0]), 0);
    W_RC(mc_os_pid(h[1], &os[1]), 0);
    W_RC(mc_cancel(hang_jp), 0);
    W_RC(mc_join(hang_jp, h[0], &r), MC_ENOENT); /* released */
    W_RC(mc_cancel(hang_jp), MC_ENOENT);
    /* both are gone within 5 s */
    int64_t end = tu_now_ms() + 5000;
    while ((kill(os[0], 0) == 0 || kill(os[1], 0) == 0) &&
           tu_now_ms() < end)
        tu_sleep_ms(10);
    W_CHECK(kill(os[0], 0) < 0 && kill(os[1], 0) < 0,
            "mc_cancel left a worker running");
    return 0;
}

static void test_join_any_cancel(void **state)
{
    (void)state;
    master_case(first_any);
}

/* ------------------------------------------------------------- deadline */

static int first_deadline(void *ctx)
{
    int *ok = ctx;
    mc_pid pid;
    if (W_RC(mc_start(hang_fp, NULL, 0, &pid), 0))
        return 0;
    mc_join_result r = {0};
    if (W_RC(mc_join(hang_jp, pid, &r), 0) == 0)
        W_CHECK(r.kind == MC_EXIT_SIGNAL && r.code == SIGKILL,
                "hanging worker after the deadline: %s", tu_kind_str(&r));
    W_RC(mc_start(hang_fp, NULL, 0, &pid), MC_ETIMEDOUT);
    *ok = 1;
    return 0;
}

static void test_deadline(void **state)
{
    (void)state;
    tu_begin();
    int ok = 0;
    mc_config cfg = {.deadline_ms = 300};
    int64_t t0 = tu_now_ms();
    tu_assert_rc(mc_startup(&cfg, first_deadline, &ok), MC_ETIMEDOUT);
    int64_t dt = tu_now_ms() - t0;
    tu_assert_master_report();
    assert_int_equal(ok, 1);
    if (dt < 250 || dt > 5000)
        fail_msg("a 300 ms session took %lld ms", (long long)dt);
    cfg.deadline_ms = -1;
    tu_assert_rc(mc_startup(&cfg, first_deadline, &ok), MC_EINVAL);
    tu_end();
}

/* ------------------------------------------- failures reported on stderr */

static int first_fail(void *ctx)
{
    (void)ctx;
    mc_pid p[3];
    W_RC(mc_start(fail_fp, "e", 1, &p[0]), 0);
    W_RC(mc_start(fail_fp, "s", 1, &p[1]), 0);
    W_RC(mc_start(hang_fp, NULL, 0, &p[2]), 0);
    mc_join_result r = {0};
    for (int i = 0; i < 2; i++) {
        W_RC(mc_join(fail_jp, p[i], &r), 0);
        mc_join_result_free(&r);
    }
    W_RC(mc_kill(p[2], SIGKILL), 0); /* asked for: not reported */
    W_RC(mc_join(hang_jp, p[2], &r), 0);
    mc_join_result_free(&r);
    return 0;
}

/* Run a session with first_fail, stderr into a file; its text in buf. */
static void run_failing(int quiet, char *buf, size_t cap)
{
    fflush(stderr);
    char path[] = "/tmp/mcore-test-stderr.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    int saved = dup(2);
    dup2(fd, 2);
    mc_config cfg = {.quiet = quiet};
    int rc = mc_startup(&cfg, first_fail, NULL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, buf, cap - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    tu_assert_rc(rc, 0);
    tu_assert_master_report();
}

static void test_failures_reported(void **state)
{
    (void)state;
    tu_begin();
    char out[4096];
    run_failing(0, out, sizeof out);
    if (!strstr(out, "failed with code -30500") ||
        !strstr(out, "mc_shm_create"))
        fail_msg("a worker's error was not reported with its detail; "
                 "stderr:\n%s", out);
    if (!strstr(out, "killed by signal 6"))
        fail_msg("a worker killed by SIGABRT was not reported; stderr:\n%s",
                 out);
    if (strstr(out, "signal 9"))
        fail_msg("a worker ended by mc_kill was reported; stderr:\n%s", out);
    run_failing(1, out, sizeof out);
    if (strstr(out, "mcore: worker"))
        fail_msg("quiet = 1, yet stderr got:\n%s", out);
    tu_end();
}

/* ------------------------------------- a sender's death wakes the receiver */

static int body_die(void *user, const void *arg, size_t len, void **result,
                    size_t *rlen)
{
    (void)user; (void)result; (void)rlen;
    mc_res_id box;
    if (len != sizeof box)
        return MC_EINVAL;
    memcpy(&box, arg, sizeof box);
    mc_camlbox_sender *s;
    int rc = mc_camlbox_sender_lookup(box, &mc_type_i64, &s);
    for (int64_t i = 1; i <= 5 && !rc; i++)
        rc = mc_camlbox_send(s, &i);
    if (!rc)
        raise(SIGKILL); /* before its end marker */
    return rc;
}

/* Two senders end with a marker, one dies after 5 messages: the master,
 * waiting for ever, learns of the death (MC_EDEAD) instead of waiting for
 * a third marker, and no message is lost. */
static int first_lost(void *ctx)
{
    int *ok = ctx;
    mc_camlbox *box;
    if (W_RC(mc_camlbox_create(&mc_type_i64, 8, 64, NULL, &box), 0))
        return 0;
    mc_camlbox_notify_lost(box, 1);
    mc_res_id id = mc_camlbox_id(box);
    mc_pid pid[3];
    W_RC(mc_start(send_fp, &id, sizeof id, &pid[0]), 0);
    W_RC(mc_start(die_fp, &id, sizeof id, &pid[1]), 0);
    W_RC(mc_start(send_fp, &id, sizeof id, &pid[2]), 0);
    int ends = 0, deaths = 0;
    int64_t count = 0;
    while (ends + deaths < 3) {
        unsigned slots[8];
        size_t got = 0;
        int rc = mc_camlbox_wait(box, -1, slots, 8, &got);
        if (rc == MC_EDEAD) {
            deaths++;
            continue;
        }
        if (W_RC(rc, 0))
            break;
        for (size_t i = 0; i < got; i++) {
            const int64_t *v;
            mc_camlbox_get(box, slots[i], (const void **)&v);
            if (*v < 0)
                ends++;
            else
                count++;
            mc_camlbox_delete(box, slots[i]);
        }
    }
    /* what the dead one sent before it died is in the box */
    unsigned slots[8];
    size_t got = 0;
    while (mc_camlbox_wait(box, 0, slots, 8, &got) == 0 && got) {
        count += (int64_t)got;
        for (size_t i = 0; i < got; i++)
            mc_camlbox_delete(box, slots[i]);
    }
    W_CHECK(deaths == 1 && ends == 2, "%d deaths, %d end markers", deaths,
            ends);
    W_CHECK(count == 2 * N_MSGS + 5, "%lld messages, expected %d",
            (long long)count, 2 * N_MSGS + 5);
    W_CHECK(mc_camlbox_senders_lost(box) == 1, "senders_lost = %zu",
            mc_camlbox_senders_lost(box));
    mc_join_result r = {0};
    W_RC(mc_join(die_jp, pid[1], &r), 0);
    W_CHECK(r.kind == MC_EXIT_SIGNAL && r.code == SIGKILL, "dead sender: %s",
            tu_kind_str(&r));
    for (int i = 0; i < 3; i += 2) {
        W_RC(mc_join(send_jp, pid[i], &r), 0);
        mc_join_result_free(&r);
    }
    W_RC(mc_camlbox_destroy(box), 0);
    *ok = 1;
    return 0;
}

static void test_sender_lost(void **state)
{
    (void)state;
    tu_begin();
    int ok = 0;
    mc_config cfg = {.quiet = 1};
    tu_assert_rc(mc_startup(&cfg, first_lost, &ok), 0);
    tu_assert_master_report();
    assert_int_equal(ok, 1);
    tu_end();
}

/* --------------------------------------------- the server killed */

static int body_sem_hang(void *user, const void *arg, size_t len,
                         void **result, size_t *rlen)
{
    (void)user; (void)arg; (void)len; (void)result; (void)rlen;
    mc_res_id id;
    int rc = mc_named_sem_create(0, &id); /* listed in the manifest */
    for (;;)
        pause();
    return rc;
}

/* The parent of OS process pid (from /proc/pid/stat), or -1. */
static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    int ppid;
    return p && sscanf(p + 1, " %*c %d", &ppid) == 1 ? (pid_t)ppid : -1;
}

static int first_server_killed(void *ctx)
{
    int *killed = ctx;
    char name[64];
    snprintf(name, sizeof name, "/mcore-test.%d.srv", (int)getpid());
    mc_res_id id;
    mc_pid pid;
    pid_t os;
    if (W_RC(mc_shm_create_named(name, 4096, &id), 0) ||
        W_RC(mc_start(sem_hang_fp, NULL, 0, &pid), 0) ||
        W_RC(mc_os_pid(pid, &os), 0))
        return 0;
    /* the worker's parent is the session server; give the worker time
     * to make its semaphore first */
    tu_sleep_ms(200);
    pid_t server = parent_of(os);
    W_CHECK(server > 0 && server != getpid(), "server pid %d", (int)server);
    if (server > 0 && server != getpid() && kill(server, SIGKILL) == 0)
        *killed = 1;
    mc_join_result r = {0};
    W_RC(mc_join(sem_hang_jp, pid, &r), MC_ELOST);
    return 0;
}

/* The session server killed while the master waits: the master's calls
 * get MC_ELOST, and mc_startup removes what the session made (a named
 * shm of the master, a named semaphore of the worker, the session's
 * directory), as the server would have; tu_end checks nothing is left. */
static void test_server_killed(void **state)
{
    (void)state;
    tu_begin();
    int killed = 0;
    mc_config cfg = {.quiet = 1};
    tu_assert_rc(mc_startup(&cfg, first_server_killed, &killed), MC_ELOST);
    assert_non_null(strstr(mc_last_error_detail(), "server ended"));
    tu_assert_master_report();
    assert_int_equal(killed, 1);
    tu_end();
}

/* The session server killed while the master sleeps in a wait on shared
 * memory (no timeout): every worker dies with the server, so nothing
 * would ever wake the master.  Its waits sleep in slices and look whether
 * the server is there (proc/alive.h): each ends with MC_ELOST. */
static mc_res_id killsrv_fp, killsrv_jp;

static int body_kill_server(void *user, const void *arg, size_t len,
                            void **result, size_t *result_len)
{
    (void)user; (void)arg; (void)len; (void)result; (void)result_len;
    tu_sleep_ms(300); /* the master is asleep by then */
    kill(getppid(), SIGKILL); /* the server: our parent */
    pause();              /* PR_SET_PDEATHSIG ends us */
    return 0;
}

enum { W_SEM, W_QUEUE, W_BOX, W_BUFFER, W_KINDS };

static int first_wait_lost(void *ctx)
{
    int kind = *(int *)ctx, rc = 0;
    char said[256] = "";
    mc_pool *pool;
    mc_pid pid;
    if (W_RC(mc_pool_create(16 << 20, &pool), 0) ||
        W_RC(mc_start(killsrv_fp, NULL, 0, &pid), 0))
        return 0;
    alarm(20); /* a wait that never ends fails the test, not the suite */
    if (kind == W_SEM) {
        void *mem;
        if (!W_RC(mc_pool_alloc(pool, 4096, &mem), 0) &&
            !W_RC(mc_sem_init(mem, 0), 0))
            rc = mc_sem_wait(mem);
    } else if (kind == W_QUEUE) {
        mc_squeue *q;
        void *v = NULL;
        if (!W_RC(mc_squeue_create(pool, &mc_type_i64, NULL, NULL, 0, &q), 0))
            rc = mc_squeue_pop_c(q, &v, MC_SQUEUE_FOREVER);
    } else if (kind == W_BOX) {
        mc_camlbox *box;
        unsigned slots[4];
        size_t n;
        if (!W_RC(mc_camlbox_create(&mc_type_i64, 4, 64, NULL, &box), 0)) {
            rc = mc_camlbox_wait(box, -1, slots, 4, &n);
            snprintf(said, sizeof said, "%s", mc_last_error_detail());
            mc_camlbox_destroy(box); /* the handle; the box went with the
                                        session */
        }
    } else {
        mc_sbuffer *b;
        uint64_t end;
        int closed;
        if (!W_RC(mc_sbuffer_create(pool, NULL, NULL, NULL, &b), 0))
            rc = mc_sbuffer_wait(b, 1, -1, &end, &closed);
    }
    alarm(0);
    if (kind != W_BOX)
        snprintf(said, sizeof said, "%s", mc_last_error_detail());
    W_RC(rc, MC_ELOST);
    W_CHECK(strstr(said, "session is gone") != NULL, "wait %d: detail '%s'",
            kind, said);
    return 0;
}

static void test_server_killed_waits(void **state)
{
    (void)state;
    for (int kind = 0; kind < W_KINDS; kind++) {
        tu_begin();
        mc_config cfg = {.quiet = 1};
        tu_assert_rc(mc_startup(&cfg, first_wait_lost, &kind), MC_ELOST);
        tu_assert_master_report();
        tu_end();
    }
}

/* end_on_failure: the first worker that fails ends the session, as a
 * broken process pool.  The master, asleep on a queue that the failed
 * worker would have fed (and joining a worker that would never end),
 * gets MC_ELOST instead of waiting for ever; mc_startup says
 * MC_EPROCESS; nothing is left. */
static int first_pool_broken(void *ctx)
{
    const char *how = ctx; /* "e": an error, "s": SIGABRT */
    mc_pool *pool;
    mc_squeue *q;
    mc_pid hang, fail;
    if (W_RC(mc_pool_create(16 << 20, &pool), 0) ||
        W_RC(mc_squeue_create(pool, &mc_type_i64, NULL, NULL, 0, &q), 0) ||
        W_RC(mc_start(hang_fp, NULL, 0, &hang), 0) ||
        W_RC(mc_start(fail_fp, how, 1, &fail), 0))
        return 0;
    alarm(20); /* a wait that never ends fails the test, not the suite */
    void *v = NULL;
    W_RC(mc_squeue_pop_c(q, &v, MC_SQUEUE_FOREVER), MC_ELOST);
    mc_join_result r = {0};
    W_RC(mc_join(hang_jp, hang, &r), MC_ELOST);
    alarm(0);
    return 0;
}

static void test_end_on_failure(void **state)
{
    (void)state;
    const char *hows[] = {"e", "s"};
    for (int i = 0; i < 2; i++) {
        tu_begin();
        mc_config cfg = {.quiet = 1, .end_on_failure = 1};
        tu_assert_rc(mc_startup(&cfg, first_pool_broken, (void *)hows[i]),
                     MC_EPROCESS);
        assert_non_null(strstr(mc_last_error_detail(), "end_on_failure"));
        tu_assert_master_report();
        tu_end();
    }
}

/* ------------------------------------ ids and pools across sessions */

static int first_ids(void *ctx)
{
    mc_res_id *ids = ctx; /* [0]: the earlier session's, [1]: this one's */
    mc_pool *p;
    if (W_RC(mc_shm_create(4096, &ids[1]), 0) ||
        W_RC(mc_pool_create(8 << 20, &p), 0))
        return 0;
    void *a;
    if (W_RC(mc_pool_alloc(p, 4096, &a), 0) == 0)
        memset(a, 1, 4096); /* the pool is mapped, whatever came before */
    W_RC(mc_pool_release(p), 0);
    W_RC(mc_pool_release(p), MC_ENOENT);
    if (ids[0]) {
        mc_res_info info;
        W_CHECK(ids[1] != ids[0], "session 2 reused id %lld",
                (long long)ids[0]);
        W_RC(mc_res_get(ids[0], &info), MC_ENOENT);
    }
    return 0;
}

/* A resource id is never reused in the program, and the master's pools of
 * one session do not haunt the next. */
static void test_sessions_apart(void **state)
{
    (void)state;
    tu_begin();
    mc_res_id ids[2] = {0, 0};
    tu_assert_rc(mc_startup(NULL, first_ids, ids), 0);
    tu_assert_master_report();
    ids[0] = ids[1];
    tu_assert_rc(mc_startup(NULL, first_ids, ids), 0);
    tu_assert_master_report();
    tu_end();
}

static int group_setup(void **state)
{
    (void)state;
    tu_def_driver();
    assert_int_equal(mc_def_process(body_send, NULL, &send_fp, &send_jp), 0);
    assert_int_equal(mc_def_process(body_busy, NULL, &busy_fp, &busy_jp), 0);
    assert_int_equal(mc_def_process(body_hang, NULL, &hang_fp, &hang_jp), 0);
    assert_int_equal(mc_def_process(body_nap, NULL, &nap_fp, &nap_jp), 0);
    assert_int_equal(mc_def_process(body_fail, NULL, &fail_fp, &fail_jp), 0);
    assert_int_equal(mc_def_process(body_die, NULL, &die_fp, &die_jp), 0);
    assert_int_equal(mc_def_process(body_kill_server, NULL, &killsrv_fp,
                                    &killsrv_jp), 0);
    assert_int_equal(
        mc_def_process(body_sem_hang, NULL, &sem_hang_fp, &sem_hang_jp), 0);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_master_waits_on_box),
        cmocka_unit_test(test_master_busy),
        cmocka_unit_test(test_timed_kill),
        cmocka_unit_test(test_join_any_cancel),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_failures_reported),
        cmocka_unit_test(test_sender_lost),
        cmocka_unit_test(test_sessions_apart),
        cmocka_unit_test(test_server_killed),
        cmocka_unit_test(test_server_killed_waits),
        cmocka_unit_test(test_end_on_failure),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
