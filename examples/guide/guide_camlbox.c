/* examples/guide/guide_camlbox.c: three workers send a message each into
 * the master's box.  Prints "Received 3 reports from workers 1+2+3 = 6". */
#include <stdio.h>

#include "mcore/mcore.h"
#include "guide_camlbox.h" /* generated from guide_camlbox.mcidl */

static int report(const guide_camlbox_WArg *a, void *result, void *user)
{
    (void)result; (void)user;
    guide_camlbox_Inbox_sender *s;
    int rc = guide_camlbox_Inbox_sender_of_descr(&a->box, &s);
    if (rc)
        return rc;
    guide_camlbox_Report r = {.worker = a->k, .text = "done"};
    rc = guide_camlbox_Inbox_send(s, &r); /* copies r into a free slot */
    int rc2 = guide_camlbox_Inbox_sender_release(s);
    return rc ? rc : rc2;
}

static int first(void *ctx)
{
    (void)ctx;
    guide_camlbox_Inbox *box;
    guide_camlbox_WArg a;
    mc_pid pid[3];
    int rc = guide_camlbox_Inbox_create(NULL, &box); /* the receiver's */
    if (!rc)
        rc = guide_camlbox_Inbox_descr_of(box, &a.box);
    for (int i = 0; i < 3 && !rc; i++) {
        a.k = i + 1;
        rc = guide_camlbox_report_start(&a, &pid[i]);
    }
    int64_t got = 0, sum = 0;
    while (!rc && got < 3) {
        unsigned slots[4];
        size_t n;
        rc = guide_camlbox_Inbox_wait(box, -1, slots, 4, &n); /* blocks */
        for (size_t i = 0; i < n && !rc; i++) {
            const guide_camlbox_Report *r; /* in the slot: no copy */
            rc = guide_camlbox_Inbox_get(box, slots[i], &r);
            if (!rc) {
                sum += r->worker;
                got++;
                rc = guide_camlbox_Inbox_delete(box, slots[i]); /* r dies */
            }
        }
    }
    for (int i = 0; i < 3 && !rc; i++)
        rc = guide_camlbox_report_join(pid[i], NULL, NULL);
    if (!rc)
        printf("Received %lld reports from workers 1+2+3 = %lld\n",
               (long long)got, (long long)sum);
    int drc = guide_camlbox_Inbox_destroy(box);
    return rc ? rc : drc;
}

int main(void)
{
    int rc = guide_camlbox_report_def(report, NULL);
    if (!rc)
        rc = mc_startup(NULL, first, NULL);
    if (rc) {
        fprintf(stderr, "guide_camlbox: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
