/* examples/guide/guide_array.c: four workers fill a shared array of 16
 * i64 with squares, a quarter each.  Prints "Sum of squares 0..15: 1240". */
#include <stdio.h>

#include "mcore/mcore.h"
#include "guide_array.h" /* generated from guide_array.mcidl */

static int fill(const guide_array_Part *p, void *result, void *user)
{
    (void)result; (void)user;
    guide_array_Squares *a;
    /* the element type is checked: MC_ETYPE if it is not an i64 */
    int rc = guide_array_Squares_of_descr(&p->a, &a);
    for (uint64_t i = p->from; i < p->from + 4 && !rc; i++)
        rc = guide_array_Squares_set(a, i, i * i); /* one store */
    return rc;
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    guide_array_Squares *a;
    guide_array_Part p;
    mc_pid pid[4];
    int64_t sum = 0;
    int rc = mc_pool_create(64 << 20, &pool);
    if (!rc) /* 16 elements, each 0 */
        rc = guide_array_Squares_make(pool, 16, 0, &a);
    if (!rc)
        rc = guide_array_Squares_descr_of(a, &p.a);
    for (int w = 0; w < 4 && !rc; w++) {
        p.from = 4 * (uint64_t)w;
        rc = guide_array_fill_start(&p, &pid[w]);
    }
    for (int w = 0; w < 4 && !rc; w++) /* MC_EPROCESS if a worker failed */
        rc = guide_array_fill_join(pid[w], NULL, NULL);
    for (size_t i = 0; i < guide_array_Squares_length(a) && !rc; i++) {
        int64_t v = 0;
        rc = guide_array_Squares_get(a, i, &v); /* the joins ordered it */
        sum += v;
    }
    if (!rc)
        printf("Sum of squares 0..15: %lld\n", (long long)sum);
    return rc ? rc : guide_array_Squares_destroy(a);
}

int main(void)
{
    int rc = guide_array_fill_def(fill, NULL);
    if (!rc)
        rc = mc_startup(NULL, first, NULL);
    if (rc) {
        fprintf(stderr, "guide_array: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
