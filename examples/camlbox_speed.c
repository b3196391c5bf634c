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
 * The message, the box and the processes are typed (camlbox_speed.mcidl);
 * Y's argument carries the box's typed descriptor. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mcore/mcore.h"
#include "camlbox_speed.h" /* generated from examples/camlbox_speed.mcidl */

typedef camlbox_speed_Msg msg;

static int body_y(const camlbox_speed_YArg *a, void *result, void *user)
{
    (void)result; (void)user;
    camlbox_speed_Box_sender *s;
    int rc = camlbox_speed_Box_sender_of_descr(&a->box, &s);
    if (rc)
        return rc;
    int32_t v[3] = {1, 2, 3};
    msg m = {.v = {3, v}};
    for (int64_t i = 0; i < a->n && !rc; i++)
        rc = camlbox_speed_Box_send(s, &m);
    int rc2 = camlbox_speed_Box_sender_release(s);
    return rc ? rc : rc2;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int body_x(const int64_t *n_msgs, void *result, void *user)
{
    (void)result; (void)user;
    camlbox_speed_YArg a = {.n = *n_msgs};
    camlbox_speed_Box *box;
    int rc = camlbox_speed_Box_create(NULL, &box);
    if (rc)
        return rc;
    camlbox_speed_Box_descr_of(box, &a.box);
    double t0 = now_s();
    mc_pid pid;
    if ((rc = camlbox_speed_y_start(&a, &pid))) {
        camlbox_speed_Box_destroy(box);
        return rc;
    }
    int64_t sum = 0, got = 0;
    unsigned slots[CAMLBOX_SPEED_BOX_SLOTS];
    while (got < a.n && !rc) {
        size_t n;
        if ((rc = camlbox_speed_Box_wait(box, 10000, slots,
                                         CAMLBOX_SPEED_BOX_SLOTS, &n)))
            break;
        for (size_t i = 0; i < n && !rc; i++) {
            const msg *m;
            if ((rc = camlbox_speed_Box_get(box, slots[i], &m)))
                break;
            for (size_t j = 0; j < m->v.len; j++)
                sum += m->v.data[j];
            rc = camlbox_speed_Box_delete(box, slots[i]);
            got++;
        }
    }
    double t = now_s() - t0;
    int jrc = camlbox_speed_y_join(pid, NULL, NULL);
    if (jrc)
        fprintf(stderr, "camlbox_speed: the sender: %s (%s)\n",
                mc_strerror(jrc), mc_last_error_detail());
    if (!rc) {
        printf("Sum: %" PRId64 "\n", sum);
        printf("Time: %.3f s for %" PRId64 " messages (%.2f M msgs/s)\n", t,
               a.n, t > 0 ? a.n / t / 1e6 : 0.0);
    } else {
        fprintf(stderr, "camlbox_speed: %s (%s) after %" PRId64
                " messages\n", mc_strerror(rc), mc_last_error_detail(), got);
    }
    int drc = camlbox_speed_Box_destroy(box);
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
    if (camlbox_speed_x_def(body_x, NULL) ||
        camlbox_speed_y_def(body_y, NULL))
        return 1;
    int rc = camlbox_speed_x_run(n, NULL, NULL);
    if (rc) {
        fprintf(stderr, "camlbox_speed: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
