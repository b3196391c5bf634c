/* examples/guide/guide_processes.c: the master starts four workers and
 * joins them.  Prints "Sum of squares: 30". */
#include <stdio.h>

#include "mcore/mcore.h"
#include "guide_processes.h" /* generated from guide_processes.mcidl */

static int offset; /* a plain global: each process has its own */

static int square(const int32_t *n, int32_t *result, void *user)
{
    (void)user;
    *result = *n * *n + offset; /* offset is 0 here, whatever first did */
    return 0;
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pid pid[4];
    int32_t sum = 0;
    int rc = 0;
    offset = 1000; /* too late: workers are copies of the program as it
                      was when mc_startup was called */
    for (int32_t i = 0; i < 4 && !rc; i++)
        rc = guide_processes_square_start(i + 1, &pid[i]);
    for (int i = 0; i < 4 && !rc; i++) {
        int32_t *r = NULL; /* a malloc()ed copy of the result */
        rc = guide_processes_square_join(pid[i], &r, NULL);
        if (!rc)
            sum += *r;
        mc_local_free(r);
    }
    if (!rc)
        printf("Sum of squares: %d\n", (int)sum);
    return rc;
}

int main(void)
{
    /* process types are defined before the session starts */
    int rc = guide_processes_square_def(square, NULL);
    if (!rc)
        rc = mc_startup(NULL, first, NULL); /* first runs in the master */
    if (rc) {
        fprintf(stderr, "guide_processes: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
