/* tut_swap: the tutorial's swap example.  Two strings in a shared record
 * are swapped inside a mutation: no copy is needed, as both already live
 * in the heap; the heap's lock makes the swap atomic for other processes.
 * It runs in the master: in mcore the master may use heaps too. */
#include <stdio.h>

#include "mcore/mcore.h"
#include "mcore/sref.h"
#include "tut_strings.h"

static int swap(mc_mut *mut, void *root, void *ctx)
{
    (void)ctx;
    u *v = *(u **)root; /* the sref's value, as seen in the mutation */
    (void)mut;
    char *p = v->data1;
    v->data1 = v->data2;
    v->data2 = p;
    return 0;
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    mc_sref *s;
    u init = {"initial string 1", "initial string 2"};
    int rc = mc_pool_create(1 << 20, &pool);
    if (!rc)
        rc = mc_sref_create(pool, &u_type, &init, &s);
    if (!rc)
        rc = mc_heap_modify(mc_sref_heap(s), swap, NULL);
    if (rc)
        return rc;
    const u *v = mc_sref_deref_ro(s); /* nobody else assigns: safe here */
    printf("data1 = %s\ndata2 = %s\n", v->data1, v->data2);
    return mc_sref_destroy(s);
}

int main(void)
{
    int rc = mc_startup(NULL, first, NULL);
    if (rc) {
        fprintf(stderr, "tut_swap: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
