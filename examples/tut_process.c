/* tut_process: the tutorial's "X starts Y" example.
 *
 * X sets a global to 1 and starts Y with k.  Y computes k + 1 + c.  As every
 * worker is a fresh fork of the master, where c is still 0, Y sees c == 0
 * and the result is 2, not 3.  The processes are typed (tut_process.mcidl):
 * mcidl generates tut_process_y_start / _join, which marshal k and the
 * result. */
#include <stdio.h>
#include <stdlib.h>

#include "mcore/mcore.h"
#include "tut_process.h" /* generated from examples/tut_process.mcidl */

static int c = 0;

static int body_y(const int32_t *k, int32_t *result, void *user)
{
    (void)user;
    *result = *k + 1 + c;
    return 0;
}

static int body_x(const int32_t *k, void *result, void *user)
{
    (void)result; (void)user;
    mc_pid pid;
    int32_t *j = NULL;
    c = 1; /* not seen by Y: Y is forked from the master */
    int rc = tut_process_y_start(*k, &pid);
    if (!rc)
        rc = tut_process_y_join(pid, &j, NULL);
    if (rc) {
        fprintf(stderr, "Error in process Y: %s %s\n", mc_strerror(rc),
                mc_last_error_detail());
        return rc;
    }
    printf("Result: %d\n", (int)*j);
    mc_local_free(j);
    return 0;
}

int main(void)
{
    if (tut_process_y_def(body_y, NULL) || tut_process_x_def(body_x, NULL))
        return 1;
    /* a whole session whose first process is X, with k = 1 */
    int rc = tut_process_x_run(1, NULL, NULL);
    if (rc) {
        fprintf(stderr, "tut_process: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
