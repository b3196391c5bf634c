/* examples/guide/guide_sref.c: three workers add 1, 2 and 3 to a shared
 * counter.  Prints "Counter: 6". */
#include <stdio.h>

#include "mcore/mcore.h"
#include "guide_sref.h" /* generated from guide_sref.mcidl */

static int add_k(mc_mut *mut, int64_t *value, void *ctx)
{
    (void)mut; /* nothing to copy in: the value has no pointers */
    *value += *(const int64_t *)ctx; /* under the heap's lock */
    return 0;
}

static int add(const guide_sref_AddArg *a, void *result, void *user)
{
    (void)result; (void)user;
    guide_sref_Counter *c;
    int rc = guide_sref_Counter_of_descr(&a->c, &c); /* descriptor -> sref */
    if (!rc)
        rc = guide_sref_Counter_modify(c, add_k, (void *)&a->k);
    return rc;
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    guide_sref_Counter *c;
    guide_sref_AddArg a;
    mc_pid pid[3];
    int rc = mc_pool_create(64 << 20, &pool); /* grows up to 64 MiB */
    if (!rc)
        rc = guide_sref_Counter_create(pool, 0, &c); /* its own heap */
    if (!rc)
        rc = guide_sref_Counter_descr_of(c, &a.c);
    for (int i = 0; i < 3 && !rc; i++) {
        a.k = i + 1;
        rc = guide_sref_add_start(&a, &pid[i]);
    }
    for (int i = 0; i < 3 && !rc; i++)
        rc = guide_sref_add_join(pid[i], NULL, NULL);
    if (rc)
        return rc;
    /* _get_ro: safe now, nobody else can assign the counter any more */
    printf("Counter: %lld\n", (long long)*guide_sref_Counter_get_ro(c));
    rc = guide_sref_Counter_destroy(c);
    int prc = mc_pool_release(pool);
    return rc ? rc : prc;
}

int main(void)
{
    int rc = guide_sref_add_def(add, NULL);
    if (!rc)
        rc = mc_startup(NULL, first, NULL);
    if (rc) {
        fprintf(stderr, "guide_sref: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
