/* tut_sref: the tutorial's shared reference example.
 *
 * X creates a shared reference c holding 1 in a pool, and starts Y with c's
 * descriptor and k = 1.  Y looks c up and returns k + 1 + c; as c lives in
 * shared memory, Y sees the 1 and the result is 3 (compare tut_process,
 * where a plain global gives 2).  The sref and the processes are typed
 * (tut_sref.mcidl); Y's argument carries the descriptor as bytes (see the
 * comment on YArg there). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mcore/mcore.h"
#include "tut_sref.h" /* generated from examples/tut_sref.mcidl */

static int body_y(const tut_sref_YArg *a, int64_t *result, void *user)
{
    (void)user;
    mc_sref_descr d;
    tut_sref_Counter *c;
    if (a->c.len != sizeof d)
        return MC_EINVAL;
    memcpy(&d, a->c.data, sizeof d);
    int rc = tut_sref_Counter_of_descr(&d, &c); /* MC_ETYPE: not an i64 */
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
    mc_sref_descr d;
    tut_sref_YArg a = {.c = {sizeof d, (uint8_t *)&d}, .k = 1};
    int64_t one = 1, *j = NULL;
    mc_pid pid;
    /* any process may create a pool; Y, started later, inherits it */
    int rc = mc_pool_create(1 << 20, &pool);
    if (!rc)
        rc = tut_sref_Counter_create(pool, &one, &c);
    if (!rc)
        rc = tut_sref_Counter_descr(c, &d);
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
    /* X takes no argument: mc_run starts it at its fork point with none */
    mc_join_result r = {0};
    int rc = mc_run(NULL, tut_sref_x_fork_point(), tut_sref_x_join_point(),
                    NULL, 0, &r);
    if (rc || r.kind != MC_EXIT_RESULT) {
        fprintf(stderr, "tut_sref: %s (%s), kind %d code %d\n",
                mc_strerror(rc), mc_last_error_detail(), (int)r.kind, r.code);
        return 1;
    }
    mc_join_result_free(&r);
    return 0;
}
