/* examples/guide/guide_array.c: four workers fill a shared array of 16
 * i64 with squares, a quarter each.  Prints "Sum of squares 0..15: 1240".
 * It uses the C API, with the array's element type given as an mc_type
 * and the argument as bytes (mcidl's typed wrappers do both for you). */
#include <stdio.h>
#include <string.h>

#include "mcore/mcore.h"

struct part { mc_sarray_descr d; size_t from; }; /* plain bytes */

static mc_res_id fill_fork, fill_join;

static int fill(void *user, const void *arg, size_t len, void **res,
                size_t *res_len)
{
    (void)user; (void)len; (void)res; (void)res_len;
    struct part p;
    mc_sarray *a;
    memcpy(&p, arg, sizeof p);
    /* the element type is checked: MC_ETYPE if it is not an i64 */
    int rc = mc_sarray_of_descr(&p.d, &mc_type_i64, NULL, &a);
    for (size_t i = p.from; i < p.from + 4 && !rc; i++) {
        int64_t sq = (int64_t)(i * i);
        rc = mc_sarray_set(a, i, &sq); /* inline i64: one atomic store */
    }
    return rc;
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    mc_sarray *a;
    struct part p;
    mc_pid pid[4];
    int64_t zero = 0, sum = 0;
    int rc = mc_pool_create(64 << 20, &pool);
    if (!rc) /* 16 elements, each a copy of zero; no header */
        rc = mc_sarray_make(pool, &mc_type_i64, 16, &zero, NULL, NULL, &a);
    if (!rc)
        rc = mc_sarray_descr_of(a, &p.d);
    for (int w = 0; w < 4 && !rc; w++) {
        p.from = 4 * (size_t)w;
        rc = mc_start(fill_fork, &p, sizeof p, &pid[w]);
    }
    for (int w = 0; w < 4 && !rc; w++) {
        mc_join_result r = {0};
        rc = mc_join(fill_join, pid[w], &r);
        if (!rc && r.kind != MC_EXIT_RESULT)
            rc = MC_EPROCESS;
        mc_join_result_free(&r);
    }
    for (size_t i = 0; i < mc_sarray_length(a) && !rc; i++) {
        int64_t v;
        rc = mc_sarray_get(a, i, &v); /* the joins ordered the stores */
        sum += v;
    }
    if (!rc)
        printf("Sum of squares 0..15: %lld\n", (long long)sum);
    return rc ? rc : mc_sarray_destroy(a);
}

int main(void)
{
    int rc = mc_def_process(fill, NULL, &fill_fork, &fill_join);
    if (!rc)
        rc = mc_startup(NULL, first, NULL);
    if (rc) {
        fprintf(stderr, "guide_array: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
