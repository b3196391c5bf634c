/* tests/test_failure.c: how workers end, and that the master goes on.
 *
 * Each way a worker can end (body error, exit, abort, segfault, SIGKILL by
 * itself or from outside) must be reported by the join as such (MC_EXIT_*
 * with the right code), must not disturb the session, and must drop the
 * resources the dead worker held.
 */
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ------------------------------------------------------------ bodies */

enum how {
    H_ERR,      /* return -42 */
    H_ERR_MC,   /* return MC_ENOENT */
    H_EXIT3,    /* exit(3) */
    H_EXIT0,    /* exit(0) without a result */
    H_ABORT,    /* abort() */
    H_SEGV,     /* raise(SIGSEGV) */
    H_KILL9,    /* kill(getpid(), SIGKILL) */
    H_OK,       /* return "fine" */
    H_COUNT
};

static const struct {
    const char *name;
    mc_exit_kind kind;
    int code;
} expect[H_COUNT] = {
    [H_ERR] = { "return -42", MC_EXIT_ERROR, -42 },
    [H_ERR_MC] = { "return MC_ENOENT", MC_EXIT_ERROR, MC_ENOENT },
    [H_EXIT3] = { "exit(3)", MC_EXIT_STATUS, 3 },
    [H_EXIT0] = { "exit(0)", MC_EXIT_STATUS, 0 },
    [H_ABORT] = { "abort()", MC_EXIT_SIGNAL, SIGABRT },
    [H_SEGV] = { "raise(SIGSEGV)", MC_EXIT_SIGNAL, SIGSEGV },
    [H_KILL9] = { "kill(getpid(), SIGKILL)", MC_EXIT_SIGNAL, SIGKILL },
    [H_OK] = { "return a result", MC_EXIT_RESULT, 0 },
};

static mc_res_id fail_fp, fail_jp;
static mc_res_id detail_fp, detail_jp;
static mc_tproc detail_tp;

#define BOGUS_ID ((mc_res_id)1 << 40)

/* Fails an mcore call and passes its code on: the join must see the
 * call's detail. */
static int body_detail(void *user, const void *arg, size_t len,
                       void **result, size_t *result_len)
{
    (void)user;
    (void)arg;
    (void)len;
    (void)result;
    (void)result_len;
    mc_res_info info;
    return mc_res_get(BOGUS_ID + 7, &info);
}

static int tbody_detail(const void *arg, void *result, void *user)
{
    (void)arg;
    (void)result;
    (void)user;
    mc_res_info info;
    return mc_res_get(BOGUS_ID + 8, &info);
}
static mc_res_id victim_fp, victim_jp;
static mc_res_id echo_fp, echo_jp;

static int body_fail(void *user, const void *arg, size_t len, void **result,
                     size_t *result_len)
{
    (void)user;
    int how;
    if (len != sizeof how)
        return -22;
    memcpy(&how, arg, sizeof how);
    switch (how) {
    case H_ERR:
        return -42;
    case H_ERR_MC:
        return MC_ENOENT;
    case H_EXIT3:
        exit(3);
    case H_EXIT0:
        exit(0);
    case H_ABORT:
        abort();
    case H_SEGV:
        /* SIG_DFL: neither cmocka's handler nor a sanitizer's may turn the
         * signal into an exit */
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
        break;
    case H_KILL9:
        kill(getpid(), SIGKILL);
        break;
    case H_OK: {
        char *r = malloc(4);
        memcpy(r, "fine", 4);
        *result = r;
        *result_len = 4;
        return 0;
    }
    }
    for (;;)
        pause();
}

/* arg: id of a shm resource the worker holds.  Stores getpid() in its first
 * int, then sleeps (at most 30 s) until killed. */
static int body_victim(void *user, const void *arg, size_t len,
                       void **result, size_t *result_len)
{
    (void)user;
    (void)result;
    (void)result_len;
    mc_res_id id;
    if (len != sizeof id)
        return -22;
    memcpy(&id, arg, sizeof id);
    int fd;
    int rc = mc_shm_fd(id, &fd);
    if (rc != 0)
        return rc;
    int *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -1000;
    __atomic_store_n(p, (int)getpid(), __ATOMIC_SEQ_CST);
    for (int i = 0; i < 3000; i++)
        tu_sleep_ms(10);
    return -1001;  /* not killed */
}

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

static int group_setup(void **state)
{
    (void)state;
    tu_def_driver();
    assert_int_equal(mc_def_process(body_fail, NULL, &fail_fp, &fail_jp), 0);
    assert_int_equal(
        mc_def_process(body_victim, NULL, &victim_fp, &victim_jp), 0);
    assert_int_equal(mc_def_process(body_echo, NULL, &echo_fp, &echo_jp), 0);
    assert_int_equal(
        mc_def_process(body_detail, NULL, &detail_fp, &detail_jp), 0);
    assert_int_equal(mc_tproc_def(&detail_tp, tbody_detail, NULL), 0);
    return 0;
}

/* Worker: check an outcome against the table. */
static void w_check_outcome(int how, const mc_join_result *r)
{
    W_CHECK(r->kind == expect[how].kind && r->code == expect[how].code,
            "worker doing %s ended with %s; expected kind %d code %d",
            expect[how].name, tu_kind_str(r), (int)expect[how].kind,
            expect[how].code);
    if (how == H_OK)
        W_CHECK(r->len == 4 && memcmp(r->data, "fine", 4) == 0,
                "H_OK result wrong (%zu bytes)", r->len);
    else
        W_CHECK(r->len == 0 && r->data == NULL,
                "%s: a failed worker has %zu result bytes",
                expect[how].name, r->len);
}

static void w_echo_works(const char *when)
{
    mc_pid pid;
    if (W_RC(mc_start(echo_fp, "alive", 5, &pid), 0) != 0) {
        W_CHECK(0, "mc_start failed %s", when);
        return;
    }
    mc_join_result r = {0};
    if (W_RC(mc_join(echo_jp, pid, &r), 0) == 0) {
        W_CHECK(r.kind == MC_EXIT_RESULT && r.len == 5 &&
                    memcmp(r.data, "alive", 5) == 0,
                "echo %s: %s", when, tu_kind_str(&r));
        mc_join_result_free(&r);
    }
}

/* ------------------------------------------------------------ tests */

/* Each reason as the first process of its own session (mc_run). */
static void test_each_reason_as_first(void **state)
{
    (void)state;
    for (int how = 0; how < H_COUNT; how++) {
        tu_begin();
        mc_join_result r = {0};
        int rc = mc_run(NULL, fail_fp, fail_jp, &how, sizeof how, &r);
        if (rc != 0)
            fail_msg("mc_run of a worker doing %s: %s", expect[how].name,
                     tu_err(rc));
        if (r.kind != expect[how].kind || r.code != expect[how].code)
            fail_msg("mc_run of a worker doing %s: got %s; expected kind %d "
                     "code %d", expect[how].name, tu_kind_str(&r),
                     (int)expect[how].kind, expect[how].code);
        if (how != H_OK && (r.len != 0 || r.data != NULL))
            fail_msg("%s: %zu result bytes", expect[how].name, r.len);
        mc_join_result_free(&r);
        tu_end();
    }
}

/* Every reason, one after the other in one session; the session goes on. */
static void drv_sequential_reasons(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    for (int how = 0; how < H_COUNT; how++) {
        mc_pid pid;
        if (W_RC(mc_start(fail_fp, &how, sizeof how, &pid), 0) != 0)
            continue;
        mc_join_result r = {0};
        if (W_RC(mc_join(fail_jp, pid, &r), 0) != 0)
            continue;
        w_check_outcome(how, &r);
        mc_join_result_free(&r);
        char when[128];
        snprintf(when, sizeof when, "after a worker did %s",
                 expect[how].name);
        w_echo_works(when);
    }
}

static void test_sequential_reasons(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_sequential_reasons, NULL, 0);
    tu_end();
}

/* Every reason at once (3 of each), joined in reverse order. */
static void drv_concurrent_reasons(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_pid pids[3 * H_COUNT];
    int hows[3 * H_COUNT];
    int n = 0;
    for (int k = 0; k < 3; k++)
        for (int how = 0; how < H_COUNT; how++)
            if (W_RC(mc_start(fail_fp, &how, sizeof how, &pids[n]), 0) == 0)
                hows[n++] = how;
    for (int i = n - 1; i >= 0; i--) {
        mc_join_result r = {0};
        if (W_RC(mc_join(fail_jp, pids[i], &r), 0) != 0)
            continue;
        w_check_outcome(hows[i], &r);
        mc_join_result_free(&r);
    }
    w_echo_works("after 24 concurrent workers, 21 of them failing");
}

static void test_concurrent_reasons(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_concurrent_reasons, NULL, 0);
    tu_end();
}

/* Killed from outside: the victim publishes its OS pid in a shm resource,
 * the driver kills it with SIGKILL while it sleeps. */
static void drv_killed_from_outside(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    for (int round = 0; round < 2; round++) {
        mc_res_id id;
        if (W_RC(mc_shm_create(4096, &id), 0) != 0)
            return;
        int fd;
        if (W_RC(mc_shm_fd(id, &fd), 0) != 0)
            return;
        int *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            W_CHECK(0, "mmap of the shm fd: %s", strerror(errno));
            return;
        }
        mc_pid pid;
        if (W_RC(mc_start(victim_fp, &id, sizeof id, &pid), 0) != 0)
            return;
        int64_t end = tu_now_ms() + 5000;
        int ospid;
        while ((ospid = __atomic_load_n(p, __ATOMIC_SEQ_CST)) == 0 &&
               tu_now_ms() < end)
            tu_sleep_ms(2);
        W_CHECK(ospid > 0, "the victim did not publish its pid in 5 s");
        mc_join_result r = {0};
        if (ospid > 0) {
            /* still running: nowait says so */
            W_RC(mc_join_nowait(victim_jp, pid, &r), MC_EAGAIN);
            W_CHECK(kill(ospid, SIGKILL) == 0, "kill(%d): %s", ospid,
                    strerror(errno));
        }
        if (W_RC(mc_join(victim_jp, pid, &r), 0) == 0) {
            W_CHECK(r.kind == MC_EXIT_SIGNAL && r.code == SIGKILL,
                    "victim killed by SIGKILL from outside: %s",
                    tu_kind_str(&r));
            mc_join_result_free(&r);
        }
        munmap(p, 4096);
        W_RC(mc_release(id), 0);
        w_echo_works("after a worker was killed from outside");
    }
}

static void test_killed_from_outside(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_killed_from_outside, NULL, 0);
    tu_end();
}

/* A worker that holds resources dies by SIGKILL: its holds are dropped,
 * and what nobody else holds is deleted. */
static void drv_holder_dies(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_res_id ids[3];
    mc_res_info info[3];
    if (W_RC(mc_shm_create_named(NULL, 8192, &ids[0]), 0) != 0 ||
        W_RC(mc_named_sem_create(0, &ids[1]), 0) != 0 ||
        W_RC(mc_shm_create(8192, &ids[2]), 0) != 0)
        return;
    for (int i = 0; i < 3; i++)
        W_RC(mc_res_get(ids[i], &info[i]), 0);
    W_CHECK(tu_shm_exists(info[0].name), "named shm %s not in /dev/shm",
            info[0].name);
    W_CHECK(tu_sem_exists(info[1].name), "sem %s not in /dev/shm",
            info[1].name);

    int how = H_KILL9;
    mc_pid pid;
    if (W_RC(mc_start_ex(fail_fp, &how, sizeof how, ids, 3, &pid), 0) != 0)
        return;
    /* A hold is a flag, not a count (creating and looking up both just
     * mark the driver as a holder): one release ends the driver's hold;
     * the worker, which inherited them, is now the only holder. */
    for (int i = 0; i < 3; i++)
        W_RC(mc_release(ids[i]), 0);
    mc_join_result r = {0};
    if (W_RC(mc_join(fail_jp, pid, &r), 0) == 0) {
        W_CHECK(r.kind == MC_EXIT_SIGNAL && r.code == SIGKILL,
                "holder: %s", tu_kind_str(&r));
        mc_join_result_free(&r);
    }
    W_CHECK(tu_wait_exists('s', info[0].name, 0, 2000),
            "named shm %s still in /dev/shm 2 s after its last holder died "
            "by SIGKILL", info[0].name);
    W_CHECK(tu_wait_exists('e', info[1].name, 0, 2000),
            "sem %s still in /dev/shm 2 s after its last holder died "
            "by SIGKILL", info[1].name);
    mc_res_info again;
    for (int i = 0; i < 3; i++)
        W_RC(mc_res_get(ids[i], &again), MC_ENOENT);
    w_echo_works("after a holder was killed");
}

static void test_holder_dies(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_holder_dies, NULL, 0);
    tu_end();
}

/* A worker that dies holding a resource somebody else holds too: the
 * resource survives. */
static void drv_holder_dies_shared(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_res_id id;
    mc_res_info info;
    if (W_RC(mc_shm_create_named(NULL, 4096, &id), 0) != 0 ||
        W_RC(mc_res_get(id, &info), 0) != 0)
        return;
    int how = H_ABORT;
    mc_pid pid;
    if (W_RC(mc_start(fail_fp, &how, sizeof how, &pid), 0) != 0)
        return;
    mc_join_result r = {0};
    if (W_RC(mc_join(fail_jp, pid, &r), 0) == 0) {
        W_CHECK(r.kind == MC_EXIT_SIGNAL && r.code == SIGABRT, "holder: %s",
                tu_kind_str(&r));
        mc_join_result_free(&r);
    }
    tu_sleep_ms(50);
    W_CHECK(tu_shm_exists(info.name),
            "named shm %s was deleted when one of two holders died",
            info.name);
    W_RC(mc_res_get(id, &info), 0);
    W_RC(mc_release(id), 0);
    W_CHECK(tu_wait_exists('s', info.name, 0, 2000),
            "named shm %s still there after the last release", info.name);
}

static void test_holder_dies_shared(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_holder_dies_shared, NULL, 0);
    tu_end();
}

/* Sessions go on after sessions whose first worker failed. */
static void test_sessions_after_failures(void **state)
{
    (void)state;
    tu_begin();
    for (int how = 0; how < H_COUNT; how++) {
        mc_join_result r = {0};
        tu_assert_rc(mc_run(NULL, fail_fp, fail_jp, &how, sizeof how, &r), 0);
        mc_join_result_free(&r);
        tu_assert_rc(mc_run(NULL, echo_fp, echo_jp, "ok", 2, &r), 0);
        if (r.kind != MC_EXIT_RESULT || r.len != 2)
            fail_msg("session after one whose worker did %s: %s",
                     expect[how].name, tu_kind_str(&r));
        mc_join_result_free(&r);
    }
    tu_end();
}

/* A master that ignores SIGCHLD (the kernel would then reap workers itself)
 * still learns how each ended, and gets its disposition back afterwards. */
/* ---- mc_last_error_detail (error.h) */

/* 1 if the detail is a string naming id (its digits). */
static int names_id(const char *d, size_t len, mc_res_id id)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)id);
    return len > 0 && d && d[len - 1] == '\0' && strlen(d) + 1 == len &&
           strstr(d, num) != NULL;
}

static void drv_detail(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    /* a worker starts with "" (not the master's detail from before the
     * fork), and successful calls write nothing (before: "no message",
     * left by polling for the master's reply) */
    W_CHECK(!*mc_last_error_detail(), "a new worker's detail: \"%s\"",
            mc_last_error_detail());
    mc_res_id id;
    mc_res_info info;
    W_RC(mc_shm_create(4096, &id), 0);
    W_RC(mc_res_get(id, &info), 0);
    w_echo_works("for the detail test");
    W_CHECK(!*mc_last_error_detail(), "after successful calls the detail "
            "is \"%s\"", mc_last_error_detail());
    /* a failure's detail is its own, never an earlier one */
    /* ... and starts with the public function's name, also when the
     * master found the error */
    W_RC(mc_res_get(BOGUS_ID + 1, &info), MC_ENOENT);
    const char *d = mc_last_error_detail();
    W_CHECK(names_id(d, strlen(d) + 1, BOGUS_ID + 1) &&
                strstr(d, "mc_res_get: ") == d,
            "detail \"%s\"", d);
    W_RC(mc_release(BOGUS_ID + 2), MC_ENOENT);
    d = mc_last_error_detail();
    W_CHECK(names_id(d, strlen(d) + 1, BOGUS_ID + 2) &&
                strstr(d, "mc_release: ") == d,
            "detail \"%s\"", d);
    mc_join_result jr;
    W_RC(mc_join(detail_jp, 999999, &jr), MC_ENOENT);
    d = mc_last_error_detail();
    W_CHECK(strstr(d, "mc_join: ") == d && strstr(d, "999999"),
            "detail \"%s\"", d);
    W_RC(mc_release(id), 0);

    /* the worker's detail travels with its outcome */
    mc_pid pid;
    mc_join_result r = {0};
    if (W_RC(mc_start(detail_fp, NULL, 0, &pid), 0) == 0 &&
        W_RC(mc_join(detail_jp, pid, &r), 0) == 0) {
        W_CHECK(r.kind == MC_EXIT_ERROR && r.code == MC_ENOENT &&
                    names_id(r.data, r.len, BOGUS_ID + 7),
                "join of a body whose mc_res_get failed: %s", tu_kind_str(&r));
        mc_join_result_free(&r);
    }
    /* and, typed, into the joiner's detail */
    if (W_RC(mc_tproc_start(&detail_tp, NULL, &pid), 0) == 0) {
        void *res = NULL;
        W_RC(mc_tproc_join(&detail_tp, pid, &res, &r), MC_EPROCESS);
        d = mc_last_error_detail();
        W_CHECK(strstr(d, "mc_tproc_join: ") == d &&
                    names_id(d, strlen(d) + 1, BOGUS_ID + 8),
                "mc_tproc_join's detail: \"%s\"", d);
        W_CHECK(r.kind == MC_EXIT_ERROR && r.code == MC_ENOENT,
                "mc_tproc_join's outcome: %s", tu_kind_str(&r));
    }
}

static void test_error_detail(void **state)
{
    (void)state;
    tu_begin();
    mc_pid pid; /* the master has a detail of its own when it forks */
    tu_assert_rc(mc_start(echo_fp, NULL, 0, &pid), MC_ESTATE);
    tu_drive(NULL, drv_detail, NULL, 0);
    /* the first process's detail reaches mc_run's caller */
    mc_join_result r = {0};
    tu_assert_rc(mc_run(NULL, detail_fp, detail_jp, NULL, 0, &r), 0);
    if (r.kind != MC_EXIT_ERROR || !names_id(r.data, r.len, BOGUS_ID + 7))
        fail_msg("mc_run of a body whose mc_res_get failed: %s",
                 tu_kind_str(&r));
    mc_join_result_free(&r);
    tu_end();
}

static void test_sigchld_ignored(void **state)
{
    (void)state;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old, now;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGCHLD, &ign, &old);
    tu_begin();
    for (int how = 0; how < H_COUNT; how++) {
        mc_join_result r = {0};
        tu_assert_rc(mc_run(NULL, fail_fp, fail_jp, &how, sizeof how, &r), 0);
        if (r.kind != expect[how].kind || r.code != expect[how].code)
            fail_msg("with SIGCHLD ignored, %s gave %s", expect[how].name,
                     tu_kind_str(&r));
        mc_join_result_free(&r);
    }
    tu_end();
    sigaction(SIGCHLD, &old, &now);
    assert_true(now.sa_handler == SIG_IGN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_reason_as_first),
        cmocka_unit_test(test_sequential_reasons),
        cmocka_unit_test(test_concurrent_reasons),
        cmocka_unit_test(test_killed_from_outside),
        cmocka_unit_test(test_holder_dies),
        cmocka_unit_test(test_holder_dies_shared),
        cmocka_unit_test(test_sessions_after_failures),
        cmocka_unit_test(test_sigchld_ignored),
        cmocka_unit_test(test_error_detail),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
