/* camlbox_speed: how fast a camlbox carries small messages.
 *
 *   camlbox_speed [N]     (default N = 1000000)
 *
 * Process X creates a box and starts process Y, which sends N messages,
 * each a small record holding an array of three ints (1, 2, 3).  X sums
 * every int of every message and prints `Sum: 6N` (`Sum: 6000000` for the
 * default), then the time from the start of Y to the last message.
 * (Netcamlbox's own speed example hangs at N = 1e6.)
 *
 * The record's type is written by hand here; mcidl generates such code from
 * `record Msg { v: [i32]; }`. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcore/mcore.h"

typedef struct msg {
    size_t n;      /* elements of v */
    int32_t *v;
} msg;

static int msg_copy(mc_copier *c, void *dst, const void *src)
{
    const msg *s = src;
    msg *d = dst;
    d->n = s->n;
    return mc_copy_own(c, &mc_type_i32, s->n, (void *const *)&s->v,
                       (void **)&d->v);
}

static void msg_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, ((const msg *)obj)->v);
}

static const mc_type msg_type = {
    .name = "Msg", .id = 0x7a1c55e0b3d24f19ull, .size = sizeof(msg),
    .align = _Alignof(msg), .copy = msg_copy, .trace = msg_trace,
};

struct y_arg {
    mc_res_id box;
    int64_t n;
};

static mc_res_id fork_x, join_x, fork_y, join_y;

static int body_y(void *user, const void *arg, size_t len, void **res,
                  size_t *res_len)
{
    (void)user; (void)res; (void)res_len;
    struct y_arg a;
    mc_camlbox_sender *s;
    if (len != sizeof a)
        return MC_EINVAL;
    memcpy(&a, arg, sizeof a);
    int rc = mc_camlbox_sender_lookup(a.box, &msg_type, &s);
    if (rc)
        return rc;
    int32_t v[3] = {1, 2, 3};
    msg m = {3, v};
    for (int64_t i = 0; i < a.n && !rc; i++)
        rc = mc_camlbox_send(s, &m);
    int rc2 = mc_camlbox_sender_release(s);
    return rc ? rc : rc2;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int body_x(void *user, const void *arg, size_t len, void **res,
                  size_t *res_len)
{
    (void)user; (void)res; (void)res_len;
    struct y_arg a;
    memcpy(&a.n, arg, len < sizeof a.n ? len : sizeof a.n);
    mc_camlbox *box;
    /* 256 slots of 64 bytes: a message takes 28 */
    int rc = mc_camlbox_create(&msg_type, 256, 64, NULL, &box);
    if (rc)
        return rc;
    a.box = mc_camlbox_id(box);
    double t0 = now_s();
    mc_pid pid;
    if ((rc = mc_start(fork_y, &a, sizeof a, &pid))) {
        mc_camlbox_destroy(box);
        return rc;
    }
    int64_t sum = 0, got = 0;
    unsigned slots[256];
    while (got < a.n && !rc) {
        size_t n;
        if ((rc = mc_camlbox_wait(box, 10000, slots, 256, &n)))
            break;
        for (size_t i = 0; i < n && !rc; i++) {
            const msg *m;
            if ((rc = mc_camlbox_get(box, slots[i], (const void **)&m)))
                break;
            for (size_t j = 0; j < m->n; j++)
                sum += m->v[j];
            rc = mc_camlbox_delete(box, slots[i]);
            got++;
        }
    }
    double t = now_s() - t0;
    mc_join_result r;
    int jrc = mc_join(join_y, pid, &r);
    if (!jrc && r.kind != MC_EXIT_RESULT) {
        fprintf(stderr, "camlbox_speed: the sender ended with kind %d, code "
                "%d (%s)\n", (int)r.kind, r.code, mc_strerror(r.code));
        jrc = MC_EINVAL;
    }
    if (!jrc)
        mc_join_result_free(&r);
    if (!rc) {
        printf("Sum: %" PRId64 "\n", sum);
        printf("Time: %.3f s for %" PRId64 " messages (%.2f M msgs/s)\n", t,
               a.n, t > 0 ? a.n / t / 1e6 : 0.0);
    } else {
        fprintf(stderr, "camlbox_speed: %s (%s) after %" PRId64
                " messages\n", mc_strerror(rc), mc_last_error_detail(), got);
    }
    int drc = mc_camlbox_destroy(box);
    return rc ? rc : jrc ? jrc : drc;
}

int main(int argc, char **argv)
{
    int64_t n = 1000000;
    if (argc > 1) {
        char *end;
        n = strtoll(argv[1], &end, 10);
        if (*end || n < 0) {
            fprintf(stderr, "usage: camlbox_speed [N]\n");
            return 2;
        }
    }
    if (mc_def_process(body_x, NULL, &fork_x, &join_x) ||
        mc_def_process(body_y, NULL, &fork_y, &join_y))
        return 1;
    mc_join_result r;
    int rc = mc_run(NULL, fork_x, join_x, &n, sizeof n, &r);
    if (rc || r.kind != MC_EXIT_RESULT) {
        fprintf(stderr, "camlbox_speed: %s (%s), kind %d code %d (%s)\n",
                mc_strerror(rc), mc_last_error_detail(), (int)r.kind, r.code,
                mc_strerror(r.code));
        return 1;
    }
    mc_join_result_free(&r);
    return 0;
}
