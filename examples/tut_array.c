/* tut_array: the tutorial's shared arrays (Netmcore_array), in C, across
 * two processes.
 *
 * X creates a shared array of three strings in a pool, with a header (an
 * i64: how many updates the array has seen), and starts Y with the
 * array's descriptor.  Y looks it up (the element and header types are
 * checked: MC_ETYPE otherwise), replaces element 1, grows the array to 5
 * elements (the two new ones share one copy of "new") and sets the
 * header.  X, after joining Y, reads the elements in the three forms
 * (get_ro: the shared value as is; get_c: a local copy; get_p: the shared
 * value kept alive while a callback runs) and the header, and prints
 *   Result: zero uno two new new, header 2
 *
 * The array and the processes are typed (tut_array.mcidl: `sarray Names :
 * string (header = i64);`): elements are char *, the header an int64_t,
 * and Y's argument is the array's typed descriptor. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mcore/mcore.h"
#include "tut_array.h" /* generated from examples/tut_array.mcidl */

static int body_y(const tut_array_Names_descr *d, void *result, void *user)
{
    (void)result; (void)user;
    tut_array_Names *a;
    int rc = tut_array_Names_of_descr(d, &a); /* MC_ETYPE: other types */
    if (rc)
        return rc;
    int64_t updates = *tut_array_Names_header_ro(a) + 2;
    if (!(rc = tut_array_Names_set(a, 1, "uno")))       /* a copy of "uno" */
        if (!(rc = tut_array_Names_grow(a, 5, "new")))  /* one copy, shared */
            rc = tut_array_Names_header_set(a, updates);
    return rc;
}

static int print_pinned(const char *const *elem, void *ctx)
{
    /* elem stays valid while this runs, even if someone sets it */
    snprintf(ctx, 16, "%s", *elem);
    return 0;
}

static int body_x(const void *arg, void *result, void *user)
{
    (void)arg; (void)result; (void)user;
    mc_pool *pool;
    tut_array_Names *a = NULL;
    tut_array_Names_descr d;
    const char *init[3] = {"zero", "one", "two"};
    mc_pid pid;
    int rc = mc_pool_create(1 << 20, &pool);
    if (!rc)
        rc = tut_array_Names_create(pool, 3, init, 0, &a);
    if (!rc)
        rc = tut_array_Names_descr_of(a, &d);
    if (!rc)
        rc = tut_array_y_start(&d, &pid);
    if (!rc) /* MC_EPROCESS if Y failed: the detail says how */
        rc = tut_array_y_join(pid, NULL, NULL);
    char line[256] = "", p4[16] = "";
    char **c1 = NULL;
    if (!rc)
        rc = tut_array_Names_get_c(a, 1, &c1);
    if (!rc)
        rc = tut_array_Names_get_p(a, 4, print_pinned, p4);
    if (!rc) {
        size_t n = tut_array_Names_length(a);
        for (size_t i = 0; i < n; i++) {
            const char *s = i == 1 ? *c1 : i == 4 ? p4
                          : *tut_array_Names_get_ro(a, i);
            snprintf(line + strlen(line), sizeof line - strlen(line), "%s%s",
                     i ? " " : "", s);
        }
        printf("Result: %s, header %lld\n", line,
               (long long)*tut_array_Names_header_ro(a));
    }
    mc_local_free(c1);
    if (rc)
        fprintf(stderr, "tut_array: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
    int drc = a ? tut_array_Names_destroy(a) : 0;
    return rc ? rc : drc;
}

int main(void)
{
    if (tut_array_x_def(body_x, NULL) || tut_array_y_def(body_y, NULL))
        return 1;
    /* a whole session whose first process is X (no argument) */
    int rc = tut_array_x_run(NULL, NULL, NULL);
    if (rc) {
        fprintf(stderr, "tut_array: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
