/* create_join: a compute process starts 10 workers that square 1..10, joins
 * them, and returns the sum; the master prints "Final result: 385".  The
 * processes are typed (create_join.mcidl): the arguments and results travel
 * marshalled by the generated create_join_square_start / _join. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mcore/mcore.h"
#include "create_join.h" /* generated from examples/create_join.mcidl */

static int square(const int64_t *k, int64_t *result, void *user)
{
    (void)user;
    *result = *k * *k;
    return 0;
}

static int compute(const void *arg, int64_t *result, void *user)
{
    (void)arg; (void)user;
    mc_pid pids[CREATE_JOIN_WORKERS];
    int64_t sum = 0;
    for (size_t i = 0; i < CREATE_JOIN_WORKERS; i++) {
        int rc = create_join_square_start((int64_t)i + 1, &pids[i]);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < CREATE_JOIN_WORKERS; i++) {
        mc_join_result how = {0};
        int64_t *v;
        int rc = create_join_square_join(pids[i], &v, &how);
        if (rc) {
            fprintf(stderr, "worker %zu failed: %s (kind %d, code %d)\n", i,
                    mc_strerror(rc), (int)how.kind, how.code);
            return rc;
        }
        sum += *v;
        mc_local_free(v);
    }
    *result = sum;
    return 0;
}

int main(void)
{
    if (create_join_square_def(square, NULL) ||
        create_join_compute_def(compute, NULL)) {
        fprintf(stderr, "create_join: %s\n", mc_last_error_detail());
        return 1;
    }
    /* a whole session whose first process is compute (no argument); its
     * result comes back typed, a local copy of an i64 */
    int64_t *sum = NULL;
    mc_join_result how = {0};
    int rc = create_join_compute_run(NULL, &sum, &how);
    if (rc) {
        fprintf(stderr, "create_join: %s (%s), kind %d code %d\n",
                mc_strerror(rc), mc_last_error_detail(), (int)how.kind,
                how.code);
        return 1;
    }
    printf("Final result: %lld\n", (long long)*sum);
    mc_local_free(sum);
    return 0;
}
