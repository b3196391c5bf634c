/* tut_swap: the tutorial's swap example.  Two strings in a shared record
 * are swapped inside a mutation: no copy is needed, as both already live
 * in the heap; the heap's lock makes the swap atomic for other processes.
 * It runs in the master: in mcore the master may use heaps too.  The
 * record and the sref are typed (tut_strings.mcidl). */
#include <stdio.h>

#include "mcore/mcore.h"
#include "tut_strings.h" /* generated from examples/tut_strings.mcidl */

/* v: the sref's value, as seen in the mutation */
static int swap(mc_mut *mut, tut_strings_U *v, void *ctx)
{
    (void)mut; (void)ctx;
    char *p = v->data1;
    v->data1 = v->data2;
    v->data2 = p;
    return 0;
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    tut_strings_Shared *s;
    tut_strings_U init = {"initial string 1", "initial string 2"};
    int rc = mc_pool_create(1 << 20, &pool);
    if (!rc)
        rc = tut_strings_Shared_create(pool, &init, &s);
    if (!rc)
        rc = tut_strings_Shared_modify(s, swap, NULL);
    if (rc)
        return rc;
    /* nobody else assigns: safe here */
    const tut_strings_U *v = tut_strings_Shared_get_ro(s);
    printf("data1 = %s\ndata2 = %s\n", v->data1, v->data2);
    return tut_strings_Shared_destroy(s);
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
