/* examples/guide/guide_mutate.c: replacing a string inside a shared
 * record, in the master alone.  Prints "was: first draft" and
 * "now: second draft (1 edit)". */
#include <stdio.h>

#include "mcore/mcore.h"
#include "guide_mutate.h" /* generated from guide_mutate.mcidl */

static int edit(mc_mut *mut, guide_mutate_Note *v, void *ctx)
{
    (void)ctx;
    char *old = v->text, *fresh;
    /* once replaced, old is garbage that a later mc_heap_add may collect:
     * pinned, it stays valid until the mutation ends */
    int rc = mc_heap_pin(mut, old);
    /* WRONG: v->text = "second draft";  a pointer to this process's
     * memory, meaningless in the others.  Copy the string in: */
    if (!rc)
        rc = mc_heap_add(mut, &mc_type_bytes, "second draft",
                         (void **)&fresh);
    if (rc)
        return rc;
    v->text = fresh;
    v->edits++;
    printf("was: %s\n", old); /* safe: pinned */
    return rc;
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    guide_mutate_Board *b;
    guide_mutate_Note init = {.text = "first draft"}; /* local memory */
    guide_mutate_Note *copy = NULL;
    int rc = mc_pool_create(64 << 20, &pool);
    if (!rc) /* copies init, string included, into a new heap */
        rc = guide_mutate_Board_create(pool, &init, &b);
    if (!rc)
        rc = guide_mutate_Board_modify(b, edit, NULL);
    if (!rc) /* a local copy: stays valid whatever others do */
        rc = guide_mutate_Board_get_c(b, &copy);
    if (!rc)
        printf("now: %s (%lld edit)\n", copy->text, (long long)copy->edits);
    mc_local_free(copy);
    return rc ? rc : guide_mutate_Board_destroy(b);
}

int main(void)
{
    int rc = mc_startup(NULL, first, NULL);
    if (rc) {
        fprintf(stderr, "guide_mutate: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
