/* tut_camlbox: the tutorial's camlbox example.
 *
 * Process X creates a box (one slot of 100 bytes, for strings), starts
 * process Y with the box's resource id, and waits.  Y looks the sender up
 * and sends "Hello world"; X takes a copy of the message, deletes it from
 * the box and prints `Message: Hello world`.
 *
 * Unlike Netcamlbox, the box carries its type: a sender asking for another
 * type than mc_type_bytes would get MC_ETYPE. */
#include <stdio.h>
#include <string.h>

#include "mcore/mcore.h"

static mc_res_id fork_x, join_x, fork_y, join_y;

static int body_y(void *user, const void *arg, size_t len, void **res,
                  size_t *res_len)
{
    (void)user; (void)res; (void)res_len;
    mc_res_id box_res;
    mc_camlbox_sender *sender;
    if (len != sizeof box_res)
        return MC_EINVAL;
    memcpy(&box_res, arg, sizeof box_res);
    int rc = mc_camlbox_sender_lookup(box_res, &mc_type_bytes, &sender);
    if (rc)
        return rc;
    rc = mc_camlbox_send(sender, "Hello world");
    int rc2 = mc_camlbox_sender_release(sender);
    return rc ? rc : rc2;
}

static int body_x(void *user, const void *arg, size_t len, void **res,
                  size_t *res_len)
{
    (void)user; (void)arg; (void)len; (void)res; (void)res_len;
    mc_camlbox *box;
    int rc = mc_camlbox_create(&mc_type_bytes, 1, 100, NULL, &box);
    if (rc)
        return rc;
    mc_res_id box_res = mc_camlbox_id(box);
    mc_pid pid_y;
    mc_join_result r;
    unsigned slot;
    size_t n = 0;
    char *m = NULL;
    if (!(rc = mc_start(fork_y, &box_res, sizeof box_res, &pid_y)))
        rc = mc_camlbox_wait(box, -1, &slot, 1, &n);
    if (!rc && n == 1 && !(rc = mc_camlbox_get_copy(box, slot, (void **)&m)))
        rc = mc_camlbox_delete(box, slot);
    if (!rc && m)
        printf("Message: %s\n", m);
    mc_local_free(m);
    if (rc)
        fprintf(stderr, "tut_camlbox: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
    /* Y's outcome: it may have failed to send */
    int jrc = mc_join(join_y, pid_y, &r);
    if (!jrc && r.kind != MC_EXIT_RESULT) {
        fprintf(stderr, "tut_camlbox: Y ended with kind %d code %d (%s)\n",
                (int)r.kind, r.code, mc_strerror(r.code));
        jrc = MC_EINVAL;
    }
    if (!jrc)
        mc_join_result_free(&r);
    int drc = mc_camlbox_destroy(box);
    return rc ? rc : jrc ? jrc : drc;
}

int main(void)
{
    if (mc_def_process(body_x, NULL, &fork_x, &join_x) ||
        mc_def_process(body_y, NULL, &fork_y, &join_y))
        return 1;
    mc_join_result r;
    int rc = mc_run(NULL, fork_x, join_x, NULL, 0, &r);
    if (rc || r.kind != MC_EXIT_RESULT) {
        fprintf(stderr, "tut_camlbox: %s (%s), kind %d code %d\n",
                mc_strerror(rc), mc_last_error_detail(), (int)r.kind, r.code);
        return 1;
    }
    mc_join_result_free(&r);
    return 0;
}
