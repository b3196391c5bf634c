/* tests/test_process.c: worker processes, fork points and join points.
 *
 * The test process is the master.  Most tests run a session whose first
 * worker is a driver (see testutil.h) that starts and joins other workers
 * and reports what went wrong; the master asserts that the report is
 * empty, then that nothing (process, descriptor, shm object) leaked.
 */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------ bodies */

static mc_res_id echo_fp, echo_jp;       /* result = argument */
static mc_res_id pat_fp, pat_jp;         /* result = pattern(size, seed) */
static mc_res_id nest_fp, nest_jp;       /* starts itself, depth-1 */
static mc_res_id gy_fp, gy_jp;           /* returns g_global */
static mc_res_id self_fp, self_jp;       /* returns mc_self_pid() */
static mc_res_id slow_fp, slow_jp;       /* sleeps 150 ms, returns "slow" */
static mc_res_id post_fp, post_jp;       /* sleeps, posts a semaphore */
static mc_res_id rfp_fp, rfp_jp;         /* echo; its fork point is released */
static mc_res_id err_fp, err_jp;         /* returns -5 */

static int g_global = 1;

/* typed processes (tprocess.h) without types: one defined twice (the
 * second is refused: the first body stays), one never defined */
static mc_tproc twice_tp = {.name = "t_twice"};
static mc_tproc undefined_tp = {.name = "t_undefined"};

static int tbody_first(const void *arg, void *result, void *user)
{
    (void)arg;
    (void)result;
    (void)user;
    return 0;
}

static int tbody_second(const void *arg, void *result, void *user)
{
    (void)arg;
    (void)result;
    (void)user;
    return MC_EINVAL;
}

static int set_result(const void *p, size_t len, void **result,
                      size_t *result_len)
{
    if (len == 0)
        return 0;
    void *r = malloc(len);
    if (!r)
        return -1;
    memcpy(r, p, len);
    *result = r;
    *result_len = len;
    return 0;
}

static int body_echo(void *user, const void *arg, size_t len, void **result,
                     size_t *result_len)
{
    (void)user;
    return set_result(arg, len, result, result_len);
}

struct pat_arg {
    uint64_t size;
    uint32_t seed;
};

static int body_pattern(void *user, const void *arg, size_t len,
                        void **result, size_t *result_len)
{
    (void)user;
    struct pat_arg a;
    if (len != sizeof a)
        return -22;
    memcpy(&a, arg, sizeof a);
    if (a.size == 0)
        return 0;
    void *r = malloc(a.size);
    if (!r)
        return -12;
    tu_pattern_fill(r, a.size, a.seed);
    *result = r;
    *result_len = a.size;
    return 0;
}

/* depth d: "L<d>" when d == 0, else "L<d>(" child ")" */
static int body_nest(void *user, const void *arg, size_t len, void **result,
                     size_t *result_len)
{
    (void)user;
    int d;
    if (len != sizeof d)
        return -22;
    memcpy(&d, arg, sizeof d);
    char buf[256];
    if (d == 0) {
        snprintf(buf, sizeof buf, "L0");
    } else {
        int cd = d - 1;
        mc_pid pid;
        int rc = mc_start(nest_fp, &cd, sizeof cd, &pid);
        if (rc != 0)
            return rc;
        mc_join_result r = {0};
        rc = mc_join(nest_jp, pid, &r);
        if (rc != 0)
            return rc;
        if (r.kind != MC_EXIT_RESULT)
            return -100 - (int)r.kind;
        snprintf(buf, sizeof buf, "L%d(%.*s)", d, (int)r.len,
                 (const char *)r.data);
        mc_join_result_free(&r);
    }
    return set_result(buf, strlen(buf), result, result_len);
}

static int body_gy(void *user, const void *arg, size_t len, void **result,
                   size_t *result_len)
{
    (void)user;
    (void)arg;
    (void)len;
    return set_result(&g_global, sizeof g_global, result, result_len);
}

static int body_self(void *user, const void *arg, size_t len, void **result,
                     size_t *result_len)
{
    (void)user;
    (void)arg;
    (void)len;
    mc_pid me = mc_self_pid();
    return set_result(&me, sizeof me, result, result_len);
}

/* Starts another of its kind while depth > 0, then waits for ever (for
 * what a failed first would have sent it). */
static mc_res_id stuck_fp, stuck_jp;
static int body_stuck(void *user, const void *arg, size_t len,
                      void **result, size_t *result_len)
{
    (void)user; (void)result; (void)result_len;
    int d = 0;
    if (len == sizeof d)
        memcpy(&d, arg, sizeof d);
    if (d > 0) {
        int cd = d - 1;
        mc_pid pid;
        int rc = mc_start(stuck_fp, &cd, sizeof cd, &pid);
        if (rc)
            return rc;
    }
    for (;;)
        pause();
}

static int body_slow(void *user, const void *arg, size_t len, void **result,
                     size_t *result_len)
{
    (void)user;
    (void)arg;
    (void)len;
    tu_sleep_ms(150);
    return set_result("slow", 4, result, result_len);
}

/* arg: a semaphore id; sleeps 100 ms, then posts it. */
static int body_post(void *user, const void *arg, size_t len, void **result,
                     size_t *result_len)
{
    (void)user;
    mc_res_id sem_id;
    if (len != sizeof sem_id)
        return -22;
    memcpy(&sem_id, arg, sizeof sem_id);
    tu_sleep_ms(100);
    sem_t *s;
    int rc = mc_named_sem_get(sem_id, &s);
    if (rc != 0)
        return rc;
    sem_post(s);
    return set_result("posted", 6, result, result_len);
}

static int body_err(void *user, const void *arg, size_t len, void **result,
                    size_t *result_len)
{
    (void)user;
    (void)arg;
    (void)len;
    (void)result;
    (void)result_len;
    return -5;
}

static int group_setup(void **state)
{
    (void)state;
    tu_def_driver();
    assert_int_equal(mc_def_process(body_echo, NULL, &echo_fp, &echo_jp), 0);
    assert_int_equal(mc_def_process(body_pattern, NULL, &pat_fp, &pat_jp), 0);
    assert_int_equal(mc_def_process(body_nest, NULL, &nest_fp, &nest_jp), 0);
    assert_int_equal(mc_def_process(body_gy, NULL, &gy_fp, &gy_jp), 0);
    assert_int_equal(mc_def_process(body_self, NULL, &self_fp, &self_jp), 0);
    assert_int_equal(mc_def_process(body_slow, NULL, &slow_fp, &slow_jp), 0);
    assert_int_equal(mc_def_process(body_stuck, NULL, &stuck_fp, &stuck_jp),
                     0);
    assert_int_equal(mc_def_process(body_post, NULL, &post_fp, &post_jp), 0);
    assert_int_equal(mc_def_process(body_echo, NULL, &rfp_fp, &rfp_jp), 0);
    assert_int_equal(mc_def_process(body_err, NULL, &err_fp, &err_jp), 0);
    assert_int_equal(mc_tproc_def(&twice_tp, tbody_first, NULL), 0);
    mc_res_id fork = twice_tp.fork;
    assert_int_equal(mc_tproc_def(&twice_tp, tbody_second, NULL), MC_EEXIST);
    assert_non_null(strstr(mc_last_error_detail(), "t_twice"));
    assert_int_equal(twice_tp.fork, fork);
    return 0;
}

/* Start echo with arg and join it; check the result is the argument. */
static int echo_once(const void *arg, size_t len, mc_pid *pid_out)
{
    mc_pid pid = 0;
    if (W_RC(mc_start(echo_fp, arg, len, &pid), 0) != 0)
        return -1;
    if (pid_out)
        *pid_out = pid;
    mc_join_result r = {0};
    if (W_RC(mc_join(echo_jp, pid, &r), 0) != 0)
        return -1;
    int bad = 0;
    if (r.kind != MC_EXIT_RESULT || r.len != len ||
        (len && memcmp(r.data, arg, len) != 0)) {
        W_CHECK(0, "echo of %zu bytes gave %s (%zu bytes)", len,
                tu_kind_str(&r), r.len);
        bad = 1;
    }
    mc_join_result_free(&r);
    return bad ? -1 : 0;
}

static int cmp_pid(const void *a, const void *b)
{
    mc_pid x = *(const mc_pid *)a, y = *(const mc_pid *)b;
    return x < y ? -1 : x > y;
}

/* Positive and pairwise distinct. */
static void check_pids(mc_pid *pids, size_t n, const char *what)
{
    mc_pid *s = malloc(n * sizeof *s);
    memcpy(s, pids, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_pid);
    for (size_t i = 0; i < n; i++) {
        W_CHECK(s[i] > 0, "%s: pid %lld is not positive", what,
                (long long)s[i]);
        if (i > 0)
            W_CHECK(s[i] != s[i - 1], "%s: pid %lld given twice", what,
                    (long long)s[i]);
    }
    free(s);
}

/* ------------------------------------------------------------ tests */

#define N_SEQ 1000

static void drv_sequential(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    static mc_pid pids[N_SEQ];
    for (int i = 0; i < N_SEQ; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "echo #%d", i);
        if (echo_once(buf, (size_t)n, &pids[i]) != 0) {
            W_CHECK(0, "sequential start+join failed at #%d", i);
            return;
        }
    }
    check_pids(pids, N_SEQ, "1000 sequential starts");
    W_CHECK(mc_self_pid() > 0, "driver's own pid %lld",
            (long long)mc_self_pid());
    for (int i = 0; i < N_SEQ; i++)
        W_CHECK(pids[i] != mc_self_pid(), "worker #%d got the driver's pid",
                i);
}

static void test_sequential_1000(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_sequential, NULL, 0);
    tu_end();
}

#define N_CONC 50

static void drv_concurrent(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_pid pids[N_CONC];
    int started = 0;
    for (int i = 0; i < N_CONC; i++) {
        uint32_t v[64];
        for (int k = 0; k < 64; k++)
            v[k] = (uint32_t)(i * 1000 + k);
        if (W_RC(mc_start(echo_fp, v, sizeof v, &pids[i]), 0) != 0)
            break;
        started++;
    }
    W_CHECK(started == N_CONC, "only %d of %d started", started, N_CONC);
    check_pids(pids, (size_t)started, "50 concurrent starts");
    /* join in reverse order */
    for (int i = started - 1; i >= 0; i--) {
        mc_join_result r = {0};
        if (W_RC(mc_join(echo_jp, pids[i], &r), 0) != 0)
            continue;
        uint32_t v[64];
        for (int k = 0; k < 64; k++)
            v[k] = (uint32_t)(i * 1000 + k);
        W_CHECK(r.kind == MC_EXIT_RESULT && r.len == sizeof v &&
                    memcmp(r.data, v, sizeof v) == 0,
                "worker #%d (pid %lld): %s, wrong bytes", i,
                (long long)pids[i], tu_kind_str(&r));
        mc_join_result_free(&r);
    }
}

static void test_concurrent_50(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_concurrent, NULL, 0);
    tu_end();
}

static void test_nested(void **state)
{
    (void)state;
    tu_begin();
    int depth = 3;
    mc_join_result r = {0};
    int rc = mc_run(NULL, nest_fp, nest_jp, &depth, sizeof depth, &r);
    tu_assert_rc(rc, 0);
    const char *want = "L3(L2(L1(L0)))";
    if (r.kind != MC_EXIT_RESULT || r.len != strlen(want) ||
        memcmp(r.data, want, r.len) != 0) {
        char got[256];
        snprintf(got, sizeof got, "%s \"%.*s\"", tu_kind_str(&r),
                 r.kind == MC_EXIT_RESULT ? (int)r.len : 0,
                 r.kind == MC_EXIT_RESULT ? (const char *)r.data : "");
        mc_join_result_free(&r);
        fail_msg("nested starts: got %s, expected \"%s\" (ERROR code is the "
                 "mcore code of a failing mc_start/mc_join in a level)",
                 got, want);
    }
    mc_join_result_free(&r);
    tu_end();
}

static void drv_sizes(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    static const size_t sizes[] = { 0, 1, 4096, 65536, 1u << 20, 16u << 20 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct pat_arg a;
        memset(&a, 0, sizeof a); /* its padding is sent too (valgrind) */
        a.size = sizes[i];
        a.seed = (uint32_t)(i * 77 + 3);
        mc_pid pid;
        if (W_RC(mc_start(pat_fp, &a, sizeof a, &pid), 0) != 0)
            continue;
        mc_join_result r = {0};
        if (W_RC(mc_join(pat_jp, pid, &r), 0) != 0)
            continue;
        if (r.kind != MC_EXIT_RESULT || r.len != sizes[i]) {
            W_CHECK(0, "result of %zu bytes: got %s", sizes[i],
                    tu_kind_str(&r));
        } else if (sizes[i] == 0) {
            W_CHECK(r.data == NULL, "empty result has non-NULL data");
        } else {
            size_t bad = tu_pattern_check(r.data, r.len, a.seed);
            W_CHECK(bad == (size_t)-1,
                    "result of %zu bytes: first wrong byte at %zu", sizes[i],
                    bad);
        }
        mc_join_result_free(&r);
    }
    /* a 16 MiB argument, echoed back */
    size_t big = 16u << 20;
    char *buf = malloc(big);
    tu_pattern_fill(buf, big, 99);
    mc_pid pid;
    if (W_RC(mc_start(echo_fp, buf, big, &pid), 0) == 0) {
        mc_join_result r = {0};
        if (W_RC(mc_join(echo_jp, pid, &r), 0) == 0) {
            W_CHECK(r.kind == MC_EXIT_RESULT && r.len == big,
                    "16 MiB echo: %s", tu_kind_str(&r));
            if (r.len == big) {
                size_t bad = tu_pattern_check(r.data, big, 99);
                W_CHECK(bad == (size_t)-1,
                        "16 MiB echo: first wrong byte at %zu", bad);
            }
            mc_join_result_free(&r);
        }
    }
    free(buf);
}

static void test_sizes(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_sizes, NULL, 0);
    tu_end();
}

/* The master's mc_run with a 16 MiB argument and result. */
static void test_big_arg_from_master(void **state)
{
    (void)state;
    tu_begin();
    size_t big = 16u << 20;
    char *buf = malloc(big);
    assert_non_null(buf);
    tu_pattern_fill(buf, big, 5);
    mc_join_result r = {0};
    int rc = mc_run(NULL, echo_fp, echo_jp, buf, big, &r);
    free(buf);
    tu_assert_rc(rc, 0);
    if (r.kind != MC_EXIT_RESULT || r.len != big) {
        char k[256];
        snprintf(k, sizeof k, "%s", tu_kind_str(&r));
        mc_join_result_free(&r);
        fail_msg("16 MiB mc_run echo: got %s", k);
    }
    size_t bad = tu_pattern_check(r.data, big, 5);
    mc_join_result_free(&r);
    if (bad != (size_t)-1)
        fail_msg("16 MiB mc_run echo: first wrong byte at %zu", bad);
    tu_end();
}

/* Tutorial: "X starts Y": Y is a copy of the master as it was when Y was
 * forked, not of X.  The master's value is 7; X changes its copy to 42. */
static void drv_x_starts_y(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    W_CHECK(g_global == 7, "X sees g_global=%d, the master had 7", g_global);
    g_global = 42;
    mc_pid pid;
    if (W_RC(mc_start(gy_fp, NULL, 0, &pid), 0) != 0)
        return;
    mc_join_result r = {0};
    if (W_RC(mc_join(gy_jp, pid, &r), 0) != 0)
        return;
    int y = -1;
    if (r.kind == MC_EXIT_RESULT && r.len == sizeof y)
        memcpy(&y, r.data, sizeof y);
    W_CHECK(y == 7,
            "Y saw g_global=%d (%s); expected the master's 7, not X's 42", y,
            tu_kind_str(&r));
    W_CHECK(g_global == 42, "X's own copy changed to %d", g_global);
    mc_join_result_free(&r);
}

static void test_x_starts_y(void **state)
{
    (void)state;
    tu_begin();
    g_global = 7;
    tu_drive(NULL, drv_x_starts_y, NULL, 0);
    assert_int_equal(g_global, 7);  /* the master's copy is untouched */
    g_global = 1;
    tu_end();
}

static void test_run_result(void **state)
{
    (void)state;
    tu_begin();
    mc_join_result r = {0};
    tu_assert_rc(mc_run(NULL, echo_fp, echo_jp, "hello", 5, &r), 0);
    assert_int_equal(r.kind, MC_EXIT_RESULT);
    assert_int_equal(r.len, 5);
    assert_memory_equal(r.data, "hello", 5);
    mc_join_result_free(&r);
    assert_null(r.data);

    /* an empty argument gives an empty result */
    tu_assert_rc(mc_run(NULL, echo_fp, echo_jp, NULL, 0, &r), 0);
    assert_int_equal(r.kind, MC_EXIT_RESULT);
    assert_int_equal(r.len, 0);
    assert_null(r.data);
    mc_join_result_free(&r);

    /* a body error is an outcome, not a failure of mc_run */
    tu_assert_rc(mc_run(NULL, err_fp, err_jp, NULL, 0, &r), 0);
    if (r.kind != MC_EXIT_ERROR || r.code != -5)
        fail_msg("body returning -5: got %s", tu_kind_str(&r));
    mc_join_result_free(&r);

    /* mc_run with NULL result is refused or works, but never crashes */
    tu_end();
}

/* ---- definitions and sessions */

static int dummy_body(void *user, const void *arg, size_t len, void **result,
                      size_t *result_len)
{
    (void)user;
    (void)arg;
    (void)len;
    (void)result;
    (void)result_len;
    return 0;
}

static void drv_def_in_worker(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_res_id fp, jp;
    W_RC(mc_def_process(dummy_body, NULL, &fp, &jp), MC_ESTATE);
    mc_config cfg = {0};
    W_RC(mc_startup(&cfg, NULL, NULL), MC_ESTATE);
}

static int first_def(void *ctx)
{
    int *called = ctx;
    (*called)++;
    mc_res_id fp, jp;
    W_CHECK(mc_self_pid() == 0, "mc_self_pid() in first is %lld",
            (long long)mc_self_pid());
    W_RC(mc_def_process(dummy_body, NULL, &fp, &jp), MC_ESTATE);
    W_RC(mc_startup(NULL, first_def, ctx), MC_ESTATE);  /* not reentrant */
    mc_pid pid;
    W_RC(tu_start_fn(drv_def_in_worker, NULL, 0, &pid), 0);
    return 0;
}

static void test_def_during_session(void **state)
{
    (void)state;
    tu_begin();
    int called = 0;
    tu_assert_rc(mc_startup(NULL, first_def, &called), 0);
    assert_int_equal(called, 1);
    tu_assert_master_report();
    tu_end();

    /* between sessions, definitions are allowed again and work */
    tu_begin();
    mc_res_id fp, jp;
    tu_assert_rc(mc_def_process(body_echo, NULL, &fp, &jp), 0);
    assert_true(fp > 0 && jp > 0 && fp != jp);
    mc_join_result r = {0};
    tu_assert_rc(mc_run(NULL, fp, jp, "late", 4, &r), 0);
    assert_int_equal(r.kind, MC_EXIT_RESULT);
    assert_int_equal(r.len, 4);
    assert_memory_equal(r.data, "late", 4);
    mc_join_result_free(&r);
    tu_end();
}

/* first's negative return ends the session and is mc_startup's result;
 * the workers still running are ended (nobody would join them or send
 * them what they wait for), also one started by another meanwhile */
static int first_fails(void *ctx)
{
    (void)ctx;
    mc_pid pid;
    int d = 1;
    W_RC(mc_start(slow_fp, NULL, 0, &pid), 0);
    W_RC(mc_start(stuck_fp, &d, sizeof d, &pid), 0);
    tu_sleep_ms(50);
    return -77;
}

/* a 0 return: the session waits for the workers to end */
static int first_returns(void *ctx)
{
    (void)ctx;
    mc_pid pid;
    W_RC(mc_start(slow_fp, NULL, 0, &pid), 0);
    return 0;
}

static void test_first_error(void **state)
{
    (void)state;
    tu_begin();
    int64_t t0 = tu_now_ms();
    int rc = mc_startup(NULL, first_fails, NULL);
    if (rc != -77)
        fail_msg("mc_startup returned %s, expected first's -77", tu_err(rc));
    /* waited for no worker blocked for ever (tu_end: none left) */
    assert_true(tu_now_ms() - t0 < 10000);
    tu_assert_master_report();
    tu_end();

    tu_begin();
    t0 = tu_now_ms();
    tu_assert_rc(mc_startup(NULL, first_returns, NULL), 0);
    /* the worker (150 ms) ended before mc_startup returned */
    assert_true(tu_now_ms() - t0 >= 140);
    tu_assert_master_report();
    tu_end();
}

/* ---- join errors */

static void drv_join_errors(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_join_result r = {0};
    /* unknown pid */
    W_RC(mc_join(echo_jp, 999999, &r), MC_ENOENT);
    W_RC(mc_join_nowait(echo_jp, 999999, &r), MC_ENOENT);
    /* unknown join point */
    W_RC(mc_join((mc_res_id)1 << 40, 1, &r), MC_ENOENT);

    /* second join */
    mc_pid pid;
    if (W_RC(mc_start(echo_fp, "a", 1, &pid), 0) == 0) {
        if (W_RC(mc_join(echo_jp, pid, &r), 0) == 0)
            mc_join_result_free(&r);
        W_RC(mc_join(echo_jp, pid, &r), MC_ESTATE);
        W_RC(mc_join_nowait(echo_jp, pid, &r), MC_ESTATE);
    }

    /* pid of another join point */
    if (W_RC(mc_start(echo_fp, "b", 1, &pid), 0) == 0) {
        W_RC(mc_join(gy_jp, pid, &r), MC_EINVAL);
        W_RC(mc_join_nowait(gy_jp, pid, &r), MC_EINVAL);
        /* NULL out */
        W_RC(mc_join(echo_jp, pid, NULL), MC_EINVAL);
        W_RC(mc_join_nowait(echo_jp, pid, NULL), MC_EINVAL);
        /* the right join point still has the result */
        if (W_RC(mc_join(echo_jp, pid, &r), 0) == 0) {
            W_CHECK(r.kind == MC_EXIT_RESULT && r.len == 1 &&
                        ((char *)r.data)[0] == 'b',
                    "after wrong joins: %s", tu_kind_str(&r));
            mc_join_result_free(&r);
        }
    }

    /* nowait in a worker: EAGAIN while running, then the result */
    if (W_RC(mc_start(slow_fp, NULL, 0, &pid), 0) == 0) {
        W_RC(mc_join_nowait(slow_jp, pid, &r), MC_EAGAIN);
        if (W_RC(mc_join(slow_jp, pid, &r), 0) == 0) {
            W_CHECK(r.kind == MC_EXIT_RESULT && r.len == 4,
                    "slow: %s", tu_kind_str(&r));
            mc_join_result_free(&r);
        }
    }
}

static void test_join_errors(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_join_errors, NULL, 0);
    tu_end();
}

/* The master takes part: mc_join_nowait says MC_EAGAIN while the worker
 * runs, mc_join blocks until it ends (the session server keeps serving
 * meanwhile), a second join is refused. */
static int first_master_join(void *ctx)
{
    int *got = ctx;
    mc_pid pid;
    if (W_RC(mc_start(slow_fp, NULL, 0, &pid), 0) != 0)
        return 0;
    mc_join_result r = {0};
    W_RC(mc_join_nowait(slow_jp, pid, &r), MC_EAGAIN);
    if (W_RC(mc_join(slow_jp, pid, &r), 0) == 0) {
        W_CHECK(r.kind == MC_EXIT_RESULT && r.len == 4 &&
                    memcmp(r.data, "slow", 4) == 0,
                "join result: %s", tu_kind_str(&r));
        mc_join_result_free(&r);
        *got = 1;
        W_RC(mc_join_nowait(slow_jp, pid, &r), MC_ESTATE);
        W_RC(mc_join(slow_jp, pid, &r), MC_ESTATE);
    }
    return 0;
}

static void test_master_join(void **state)
{
    (void)state;
    tu_begin();
    int got = 0;
    tu_assert_rc(mc_startup(NULL, first_master_join, &got), 0);
    tu_assert_master_report();
    assert_int_equal(got, 1);
    tu_end();
}

/* ---- releasing fork and join points */

static void drv_release_join_point(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_res_id sem_id;
    if (W_RC(mc_named_sem_create(0, &sem_id), 0) != 0)
        return;
    sem_t *s;
    if (W_RC(mc_named_sem_get(sem_id, &s), 0) != 0)
        return;
    mc_pid pids[3];
    int n = 0;
    for (int i = 0; i < 3; i++)
        if (W_RC(mc_start(post_fp, &sem_id, sizeof sem_id, &pids[n]), 0) == 0)
            n++;
    W_RC(mc_release_join_point(post_jp), 0);
    mc_join_result r = {0};
    for (int i = 0; i < n; i++) {
        W_RC(mc_join(post_jp, pids[i], &r), MC_ENOENT);
        W_RC(mc_join_nowait(post_jp, pids[i], &r), MC_ENOENT);
    }
    W_RC(mc_release_join_point(post_jp), MC_ENOENT);
    /* the processes keep running: each posts the semaphore */
    for (int i = 0; i < n; i++)
        W_CHECK(tu_sem_wait_ms(s, 5000) == 0,
                "released join point: only %d of %d workers ran to the end "
                "(sem_timedwait: %s)", i, n, strerror(errno));
    W_RC(mc_release(sem_id), 0);
}

static void test_release_join_point(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_release_join_point, NULL, 0);
    tu_end();
}

static void drv_release_fork_point(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_pid pid;
    if (W_RC(mc_start(rfp_fp, NULL, 0, &pid), 0) == 0)
        W_JOIN_OK(rfp_jp, pid, "echo before the release");
    W_RC(mc_release_fork_point(rfp_jp), MC_ETYPE);  /* a join point */
    W_RC(mc_release_join_point(rfp_fp), MC_ETYPE);  /* a fork point */
    W_RC(mc_release_fork_point((mc_res_id)1 << 40), MC_ENOENT);
    W_RC(mc_release_fork_point(rfp_fp), 0);
    W_RC(mc_start(rfp_fp, "r", 1, &pid), MC_ENOENT);
    W_RC(mc_release_fork_point(rfp_fp), MC_ENOENT);
    /* other fork points are unaffected */
    echo_once("still", 5, NULL);
}

static void test_release_fork_point(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_release_fork_point, NULL, 0);
    tu_end();
    /* definitions stay valid for every later session */
    tu_begin();
    mc_join_result r = {0};
    int rc = mc_run(NULL, rfp_fp, rfp_jp, "again", 5, &r);
    if (rc != 0)
        fail_msg("a session after the one that released the fork point "
                 "cannot start it: %s (definitions should stay valid for "
                 "every later session)", tu_err(rc));
    assert_int_equal(r.kind, MC_EXIT_RESULT);
    assert_int_equal(r.len, 5);
    mc_join_result_free(&r);
    tu_end();
}

/* ---- pids */

#define N_PIDS 20

static void drv_pids(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_pid pids[N_PIDS + 1];
    int n = 0;
    for (int i = 0; i < N_PIDS; i++)
        if (W_RC(mc_start(self_fp, NULL, 0, &pids[n]), 0) == 0)
            n++;
    for (int i = 0; i < n; i++) {
        mc_join_result r = {0};
        if (W_RC(mc_join(self_jp, pids[i], &r), 0) != 0)
            continue;
        mc_pid seen = -1;
        if (r.kind == MC_EXIT_RESULT && r.len == sizeof seen)
            memcpy(&seen, r.data, sizeof seen);
        W_CHECK(seen == pids[i],
                "mc_start gave pid %lld, the worker's mc_self_pid() said "
                "%lld (%s)", (long long)pids[i], (long long)seen,
                tu_kind_str(&r));
        mc_join_result_free(&r);
    }
    pids[n] = mc_self_pid();
    check_pids(pids, (size_t)n + 1, "20 workers and their starter");
}

static void test_pids(void **state)
{
    (void)state;
    tu_begin();
    assert_int_equal(mc_self_pid(), 0);
    tu_drive(NULL, drv_pids, NULL, 0);
    assert_int_equal(mc_self_pid(), 0);
    tu_end();
}

/* ---- bad arguments */

static void drv_bad_args(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_pid pid = 0;
    mc_join_result r = {0};
    W_RC(mc_start(echo_fp, NULL, 5, &pid), MC_EINVAL);
    W_RC(mc_start(echo_fp, "x", 1, NULL), MC_EINVAL);
    W_RC(mc_start_ex(echo_fp, "x", 1, NULL, 0, NULL), MC_EINVAL);
    W_RC(mc_start(echo_jp, "x", 1, &pid), MC_ETYPE);
    W_RC(mc_start((mc_res_id)1 << 40, "x", 1, &pid), MC_ENOENT);
    mc_res_id bogus = (mc_res_id)1 << 41;
    W_RC(mc_start_ex(echo_fp, "x", 1, &bogus, 1, &pid), MC_ENOENT);
    W_RC(mc_release((mc_res_id)1 << 40), MC_ENOENT);
    /* a worker's inherit list travels in one request: too long a list is
     * refused, saying how long it was */
    size_t n_many = 100000;
    mc_res_id *many = calloc(n_many, sizeof *many);
    if (many) {
        W_RC(mc_start_ex(echo_fp, "x", 1, many, n_many, &pid), MC_E2BIG);
        W_CHECK(strstr(mc_last_error_detail(), "mc_start_ex: 100000 "),
                "detail \"%s\"", mc_last_error_detail());
        free(many);
    }
    /* zero-length argument is fine */
    if (W_RC(mc_start(echo_fp, NULL, 0, &pid), 0) == 0) {
        if (W_RC(mc_join(echo_jp, pid, &r), 0) == 0) {
            W_CHECK(r.kind == MC_EXIT_RESULT && r.len == 0 && r.data == NULL,
                    "empty echo: %s", tu_kind_str(&r));
            mc_join_result_free(&r);
        }
    }
    mc_join_result_free(NULL);  /* allowed */
}

static void test_bad_args(void **state)
{
    (void)state;
    tu_begin();
    mc_res_id fp, jp;
    mc_pid pid;
    mc_join_result r = {0};
    /* definitions */
    tu_assert_rc(mc_def_process(NULL, NULL, &fp, &jp), MC_EINVAL);
    tu_assert_rc(mc_def_process(body_echo, NULL, NULL, &jp), MC_EINVAL);
    tu_assert_rc(mc_def_process(body_echo, NULL, &fp, NULL), MC_EINVAL);
    /* no session */
    tu_assert_rc(mc_start(echo_fp, "x", 1, &pid), MC_ESTATE);
    tu_assert_rc(mc_join_nowait(echo_jp, 1, &r), MC_ESTATE);
    tu_assert_rc(mc_release_join_point(echo_jp), MC_ESTATE);
    tu_assert_rc(mc_release_fork_point(echo_fp), MC_ESTATE);
    mc_res_id id;
    tu_assert_rc(mc_shm_create(4096, &id), MC_ESTATE);
    /* bad socket directories */
    char *dir = tu_mkdtemp();
    char file[512];
    snprintf(file, sizeof file, "%s/plainfile", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    mc_config cfg = { .socket_dir = file };
    tu_assert_rc(mc_run(&cfg, echo_fp, echo_jp, "x", 1, &r), MC_EINVAL);
    char *longdir = malloc(5000);
    memset(longdir, 'a', 4999);
    longdir[0] = '/';
    longdir[4999] = '\0';
    cfg.socket_dir = longdir;
    tu_assert_rc(mc_run(&cfg, echo_fp, echo_jp, "x", 1, &r), MC_EINVAL);
    free(longdir);
    /* a directory that cannot be made: the detail names it */
    char sub[600];
    snprintf(sub, sizeof sub, "%s/sub", file);
    cfg.socket_dir = sub;
    tu_assert_rc(mc_run(&cfg, echo_fp, echo_jp, "x", 1, &r), MC_ESYS);
    if (!strstr(mc_last_error_detail(), sub))
        fail_msg("mkdir's detail \"%s\" does not name %s",
                 mc_last_error_detail(), sub);
    tu_rmtree(dir);
    free(dir);
    /* in a session */
    tu_drive(NULL, drv_bad_args, NULL, 0);
    tu_end();
}

/* ---- a worker's own fork() (process.h: fork()) */

struct fork_report {
    int rc_get, rc_start, rc_fd, rc_create;
    mc_pid self;
    char detail[256];
};

/* The child of the worker's fork: every call that needs the session is
 * refused, without a word on the worker's socket. */
static void forked_child(mc_res_id id, int wfd)
{
    struct fork_report f;
    memset(&f, 0, sizeof f);
    mc_res_info info;
    mc_pid pid;
    int fd;
    f.rc_get = mc_res_get(id, &info);
    snprintf(f.detail, sizeof f.detail, "%s", mc_last_error_detail());
    f.rc_start = mc_start(echo_fp, "x", 1, &pid);
    f.rc_fd = mc_shm_fd(id, &fd);
    f.rc_create = mc_shm_create(4096, &id);
    f.self = mc_self_pid();
    ssize_t n = write(wfd, &f, sizeof f);
    _exit(n == (ssize_t)sizeof f ? 0 : 1);
}

static void drv_fork(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_res_id id;
    if (W_RC(mc_shm_create(4096, &id), 0))
        return;
    /* a child that returns from the body: nothing must reach the master
     * for it (before: its "result" ended the worker's record, dropping
     * the worker's holds, the shm with them) */
    fflush(NULL);
    pid_t c = fork();
    if (c == 0) { /* its report must not become the worker's outcome */
        W_CHECK(0, "the fork's return from the body reached the master as "
                "the worker's outcome");
        return;
    }
    int st = -1;
    W_CHECK(c > 0 && waitpid(c, &st, 0) == c && WIFEXITED(st) &&
                WEXITSTATUS(st) == 0,
            "the child returning from the body ended with status %#x", st);

    int pfd[2];
    if (pipe(pfd) != 0) {
        W_CHECK(0, "pipe: %s", strerror(errno));
        return;
    }
    fflush(NULL);
    c = fork();
    if (c == 0) {
        close(pfd[0]);
        forked_child(id, pfd[1]);
    }
    close(pfd[1]);
    struct fork_report f;
    memset(&f, 0, sizeof f);
    ssize_t n = read(pfd[0], &f, sizeof f);
    close(pfd[0]);
    W_CHECK(c > 0 && waitpid(c, &st, 0) == c, "waitpid: %s", strerror(errno));
    W_CHECK(n == (ssize_t)sizeof f, "the child's report: %zd bytes", n);
    W_CHECK(f.rc_get == MC_ESTATE && f.rc_start == MC_ESTATE &&
                f.rc_fd == MC_ESTATE && f.rc_create == MC_ESTATE,
            "in the fork: mc_res_get %s, mc_start %s, mc_shm_fd %s, "
            "mc_shm_create %s; all should be MC_ESTATE",
            tu_code_name(f.rc_get), tu_code_name(f.rc_start),
            tu_code_name(f.rc_fd), tu_code_name(f.rc_create));
    W_CHECK(strstr(f.detail, "mc_res_get: ") == f.detail &&
                strstr(f.detail, "fork() of worker"),
            "the fork's detail says \"%s\"", f.detail);
    W_CHECK(f.self == 0, "mc_self_pid() in the fork: %lld",
            (long long)f.self);

    /* the worker itself keeps working */
    mc_res_info info;
    W_RC(mc_res_get(id, &info), 0);
    mc_pid pid;
    if (W_RC(mc_start(echo_fp, "ok", 2, &pid), 0) == 0) {
        mc_join_result r = {0};
        if (W_RC(mc_join(echo_jp, pid, &r), 0) == 0) {
            W_CHECK(r.kind == MC_EXIT_RESULT && r.len == 2 &&
                        memcmp(r.data, "ok", 2) == 0,
                    "echo after the fork: %s", tu_kind_str(&r));
            mc_join_result_free(&r);
        }
    }
    W_RC(mc_release(id), 0);
}

/* The master's own fork(), in `first`: refused the same way. */
static int first_fork(void *ctx)
{
    int *ok = ctx;
    int pfd[2];
    if (pipe(pfd))
        return -1;
    fflush(NULL);
    pid_t c = fork();
    if (c == 0) {
        mc_res_id id;
        char r = mc_shm_create(4096, &id) == MC_ESTATE &&
                 strstr(mc_last_error_detail(), "fork() of the master");
        _exit(write(pfd[1], &r, 1) == 1 ? 0 : 1);
    }
    close(pfd[1]);
    char r = 0;
    if (read(pfd[0], &r, 1) != 1)
        r = 0;
    close(pfd[0]);
    int st;
    waitpid(c, &st, 0);
    mc_res_id id; /* the master goes on */
    *ok = r && mc_shm_create(4096, &id) == 0 && mc_release(id) == 0;
    return 0;
}

static void test_fork_in_worker(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_fork, NULL, 0);
    int ok = 0;
    tu_assert_rc(mc_startup(NULL, first_fork, &ok), 0);
    assert_true(ok);
    tu_end();
}

/* ---- processes never defined, or defined twice (item 23) */

static void drv_definitions(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_pid pid;
    const char *d;
    /* an mc_res_id never set by a definition */
    mc_res_id never = 0;
    W_RC(mc_start(never, NULL, 0, &pid), MC_ENOENT);
    d = mc_last_error_detail();
    W_CHECK(strstr(d, "mc_start: ") == d && strstr(d, "fork point 0") &&
                strstr(d, "before mc_startup"),
            "mc_start of fork point 0: \"%s\"", d);
    /* a generated process whose _def was not called */
    W_RC(mc_tproc_start(&undefined_tp, NULL, &pid), MC_ENOENT);
    d = mc_last_error_detail();
    W_CHECK(strstr(d, "t_undefined") && strstr(d, "_def") &&
                strstr(d, "before mc_startup"),
            "mc_tproc_start of an undefined process: \"%s\"", d);
    /* defined twice: the first definition is the one that runs */
    if (W_RC(mc_tproc_start(&twice_tp, NULL, &pid), 0) == 0) {
        mc_join_result how;
        W_RC(mc_tproc_join(&twice_tp, pid, NULL, &how), 0);
    }
}

static void test_definitions(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_definitions, NULL, 0);
    /* the master's own start of an undefined process */
    mc_join_result r = {0};
    tu_assert_rc(mc_run(NULL, 0, 0, NULL, 0, &r), MC_ENOENT);
    assert_non_null(strstr(mc_last_error_detail(), "before mc_startup"));
    tu_end();
}

/* A session with an explicit socket directory: the directory stays, and
 * holds the lock file; a second session with it works. */
static void test_socket_dir(void **state)
{
    (void)state;
    tu_begin();
    char *dir = tu_mkdtemp();
    char sub[512];
    snprintf(sub, sizeof sub, "%s/sock", dir);  /* created if missing */
    mc_config cfg = { .socket_dir = sub };
    for (int i = 0; i < 2; i++) {
        mc_join_result r = {0};
        tu_assert_rc(mc_run(&cfg, echo_fp, echo_jp, "d", 1, &r), 0);
        assert_int_equal(r.kind, MC_EXIT_RESULT);
        mc_join_result_free(&r);
        struct stat st;
        assert_int_equal(stat(sub, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0700);
    }
    tu_rmtree(dir);
    free(dir);
    tu_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_result),
        cmocka_unit_test(test_sequential_1000),
        cmocka_unit_test(test_concurrent_50),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_big_arg_from_master),
        cmocka_unit_test(test_x_starts_y),
        cmocka_unit_test(test_def_during_session),
        cmocka_unit_test(test_first_error),
        cmocka_unit_test(test_join_errors),
        cmocka_unit_test(test_master_join),
        cmocka_unit_test(test_release_join_point),
        cmocka_unit_test(test_release_fork_point),
        cmocka_unit_test(test_pids),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_socket_dir),
        cmocka_unit_test(test_fork_in_worker),
        cmocka_unit_test(test_definitions),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
