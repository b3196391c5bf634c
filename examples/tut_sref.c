/* tut_sref: the tutorial's shared reference example.
 *
 * X creates a shared reference c holding 1 in a pool, and starts Y with c's
 * descriptor and k = 1.  Y looks c up and returns k + 1 + c; as c lives in
 * shared memory, Y sees the 1 and the result is 3 (compare tut_process,
 * where a plain global gives 2).  The sref and the processes are typed
 * (tut_sref.mcidl); Y's argument holds c's typed descriptor (its field
 * has the sref's type), which Y looks up. */
#include <stdint.h>
#include <stdio.h>

#include "mcore/mcore.h"
#include "tut_sref.h" /* generated from examples/tut_sref.mcidl */

static int body_y(const tut_sref_YArg *a, int64_t *result, void *user)
{
    (void)user;
    tut_sref_Counter *c;
    int rc = tut_sref_Counter_of_descr(&a->c, &c); /* MC_ETYPE: not an i64 */
    if (rc)
        return rc;
    *result = a->k + 1 + *tut_sref_Counter_get_ro(c);
    return 0;
}

static int body_x(const void *arg, void *result, void *user)
{
    (void)arg; (void)result; (void)user;
    mc_pool *pool;
    tut_sref_Counter *c;
    tut_sref_YArg a = {.k = 1};
    int64_t *j = NULL;
    mc_pid pid;
    /* any process may create a pool; Y, started later, inherits it */
    int rc = mc_pool_create(1 << 20, &pool);
    if (!rc)
        rc = tut_sref_Counter_create(pool, 1, &c);
    if (!rc)
        rc = tut_sref_Counter_descr_of(c, &a.c);
    if (!rc)
        rc = tut_sref_y_start(&a, &pid);
    if (!rc)
        rc = tut_sref_y_join(pid, &j, NULL);
    if (rc) {
        fprintf(stderr, "Error in process Y: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return rc;
    }
    printf("Result: %lld\n", (long long)*j);
    mc_local_free(j);
    return tut_sref_Counter_destroy(c);
}

int main(void)
{
    if (tut_sref_x_def(body_x, NULL) || tut_sref_y_def(body_y, NULL))
        return 1;
    /* a whole session whose first process is X (no argument) */
    int rc = tut_sref_x_run(NULL, NULL, NULL);
    if (rc) {
        fprintf(stderr, "tut_sref: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
