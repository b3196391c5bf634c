/* tut_camlbox: the tutorial's camlbox example.
 *
 * Process X creates a box (one slot of 100 bytes, for strings), starts
 * process Y with the box, and waits.  Y gets a sender from the box's
 * descriptor and sends "Hello world"; X takes a copy of the message,
 * deletes it from the box and prints `Message: Hello world`.
 *
 * The box and the processes are typed (tut_camlbox.mcidl): Y's argument
 * has the box's type, so it carries the box's typed descriptor, and
 * tut_camlbox_Box_sender_of_descr looks the box up.  Unlike Netcamlbox,
 * the box carries its type: a sender of another message type would get
 * MC_ETYPE. */
#include <stdio.h>

#include "mcore/mcore.h"
#include "tut_camlbox.h" /* generated from examples/tut_camlbox.mcidl */

static int body_y(const tut_camlbox_Box_descr *box, void *result,
                  void *user)
{
    (void)result; (void)user;
    tut_camlbox_Box_sender *sender;
    int rc = tut_camlbox_Box_sender_of_descr(box, &sender);
    if (rc)
        return rc;
    rc = tut_camlbox_Box_send(sender, "Hello world");
    int rc2 = tut_camlbox_Box_sender_release(sender);
    return rc ? rc : rc2;
}

static int body_x(const void *arg, void *result, void *user)
{
    (void)arg; (void)result; (void)user;
    tut_camlbox_Box *box;
    tut_camlbox_Box_descr d;
    int rc = tut_camlbox_Box_create(NULL, &box);
    if (rc)
        return rc;
    mc_pid pid_y;
    unsigned slot;
    size_t n = 0;
    char **m = NULL; /* a copy of the message: a string */
    if (!(rc = tut_camlbox_Box_descr_of(box, &d)) &&
        !(rc = tut_camlbox_y_start(&d, &pid_y)))
        rc = tut_camlbox_Box_wait(box, -1, &slot, 1, &n);
    if (!rc && n == 1 && !(rc = tut_camlbox_Box_get_copy(box, slot, &m)))
        rc = tut_camlbox_Box_delete(box, slot);
    if (!rc && m)
        printf("Message: %s\n", *m);
    mc_local_free(m);
    if (rc)
        fprintf(stderr, "tut_camlbox: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
    /* Y's outcome: it may have failed to send (MC_EPROCESS says how) */
    int jrc = tut_camlbox_y_join(pid_y, NULL, NULL);
    if (jrc)
        fprintf(stderr, "tut_camlbox: Y: %s (%s)\n", mc_strerror(jrc),
                mc_last_error_detail());
    int drc = tut_camlbox_Box_destroy(box);
    return rc ? rc : jrc ? jrc : drc;
}

int main(void)
{
    if (tut_camlbox_x_def(body_x, NULL) || tut_camlbox_y_def(body_y, NULL))
        return 1;
    /* a whole session whose first process is X (no argument) */
    int rc = tut_camlbox_x_run(NULL, NULL, NULL);
    if (rc) {
        fprintf(stderr, "tut_camlbox: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
