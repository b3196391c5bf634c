/* examples/guide/guide_sync.c: four workers and the master each add 1 to
 * a shared counter 1000 times, under its mutex.  Prints "Total: 5000". */
#include <stdio.h>

#include "mcore/mcore.h"
#include "guide_sync.h" /* generated from guide_sync.mcidl */

static int bump_1000(guide_sync_Shared *s)
{
    /* _get_mut: the record in place (a mutex must never be copied) */
    guide_sync_Tally *t = guide_sync_Shared_get_mut(s);
    for (int i = 0; i < 1000; i++) {
        int rc = mc_mutex_lock(&t->m);
        if (rc)
            return rc;
        t->n++; /* a read-modify-write: the mutex makes it whole */
        mc_mutex_unlock(&t->m);
    }
    return 0;
}

static int bump(const guide_sync_WArg *a, void *result, void *user)
{
    (void)result; (void)user;
    guide_sync_Shared *s;
    int rc = guide_sync_Shared_of_descr(&a->s, &s);
    return rc ? rc : bump_1000(s);
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    guide_sync_Shared *s;
    guide_sync_WArg a;
    mc_pid pid[4];
    guide_sync_Tally init = {0}; /* m: zero here, a real mutex in the heap */
    int rc = mc_pool_create(64 << 20, &pool);
    if (!rc)
        rc = guide_sync_Shared_create(pool, &init, &s);
    if (!rc)
        rc = guide_sync_Shared_descr_of(s, &a.s);
    for (int i = 0; i < 4 && !rc; i++)
        rc = guide_sync_bump_start(&a, &pid[i]);
    if (!rc)
        rc = bump_1000(s); /* the master takes part */
    for (int i = 0; i < 4 && !rc; i++)
        rc = guide_sync_bump_join(pid[i], NULL, NULL);
    if (!rc)
        printf("Total: %lld\n", (long long)guide_sync_Shared_get_mut(s)->n);
    return rc ? rc : guide_sync_Shared_destroy(s);
}

int main(void)
{
    int rc = guide_sync_bump_def(bump, NULL);
    if (!rc)
        rc = mc_startup(NULL, first, NULL);
    if (rc) {
        fprintf(stderr, "guide_sync: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
