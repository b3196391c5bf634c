/* tests/test_master.c: the master takes part in its session (process.h,
 * "The master").  Its blocking calls work (camlbox waits, joins), and its
 * own long computations do not stall the workers' requests: the session
 * server answers them. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"

static mc_res_id send_fp, send_jp;   /* sends N values, then -1, to a box */
static mc_res_id busy_fp, busy_jp;   /* many requests, then sets a flag */
static mc_res_id hang_fp, hang_jp;   /* sleeps until killed */

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

static int group_setup(void **state)
{
    (void)state;
    tu_def_driver();
    assert_int_equal(mc_def_process(body_send, NULL, &send_fp, &send_jp), 0);
    assert_int_equal(mc_def_process(body_busy, NULL, &busy_fp, &busy_jp), 0);
    assert_int_equal(mc_def_process(body_hang, NULL, &hang_fp, &hang_jp), 0);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_master_waits_on_box),
        cmocka_unit_test(test_master_busy),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
