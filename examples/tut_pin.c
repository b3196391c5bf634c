/* tut_pin: the tutorial's pin example.
 *
 * Inside one mutation, data1 is replaced by a new string, so the old one, p,
 * is reachable from nowhere; the next mc_heap_add may collect it.  Pinning p
 * keeps it alive until the commit, so printing it afterwards is correct.
 * To show that this matters, the example makes sure a collection does run
 * between the two adds (it adds a large value that nothing keeps, which
 * makes the next add collect), and reports the collection count.  The
 * record and the sref are typed (tut_strings.mcidl). */
#include <stdio.h>
#include <string.h>

#include "mcore/mcore.h"
#include "tut_strings.h" /* generated from examples/tut_strings.mcidl */

#define BIG (4u << 20)

static int prefix(char *buf, size_t n, const char *pre, const char *s)
{
    return snprintf(buf, n, "%s%s", pre, s) < (int)n ? 0 : MC_E2BIG;
}

static int work(mc_mut *mut, tut_strings_U *v, void *ctx)
{
    mc_heap *heap = ctx;
    mc_heap_stats st0, st1;
    char *p = v->data1, buf[128], *s;
    int rc = mc_heap_pin(mut, p); /* before anything can collect */
    if (!rc)
        rc = prefix(buf, sizeof buf, "Previously in data2: ", v->data2);
    if (!rc)
        rc = mc_heap_add(mut, &mc_type_bytes, buf, (void **)&s);
    if (rc)
        return rc;
    v->data1 = s;
    /* garbage enough that the next add must collect first */
    static char big[BIG];
    void *junk;
    mc_heap_stats_get(heap, &st0);
    if ((rc = mc_heap_add(mut, &mc_type_bytes, memset(big, 'x', BIG - 1),
                          &junk)))
        return rc;
    if ((rc = prefix(buf, sizeof buf, "Previously in data1: ", p)) ||
        (rc = mc_heap_add(mut, &mc_type_bytes, buf, (void **)&s)))
        return rc;
    v->data2 = s;
    mc_heap_stats_get(heap, &st1);
    printf("collections during the mutation: %llu\n",
           (unsigned long long)(st1.collections - st0.collections));
    printf("p = %s\n", p); /* correct: p was pinned */
    return 0;
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    tut_strings_Shared *s;
    tut_strings_U init = {"initial string 1", "initial string 2"};
    int rc = mc_pool_create(64 << 20, &pool);
    if (!rc)
        rc = tut_strings_Shared_create(pool, &init, &s);
    if (!rc)
        rc = tut_strings_Shared_modify(s, work, tut_strings_Shared_heap(s));
    if (rc)
        return rc;
    const tut_strings_U *v = tut_strings_Shared_get_ro(s);
    printf("data1 = %s\ndata2 = %s\n", v->data1, v->data2);
    return tut_strings_Shared_destroy(s);
}

int main(void)
{
    int rc = mc_startup(NULL, first, NULL);
    if (rc) {
        fprintf(stderr, "tut_pin: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
