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
 * The element type is the built-in mc_type_str (one char *); with mcidl,
 * `sarray Names : string (header = i64);` would give typed wrappers. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mcore/mcore.h"

static mc_res_id fork_x, join_x, fork_y, join_y;

static int body_y(void *user, const void *arg, size_t len, void **res,
                  size_t *res_len)
{
    (void)user; (void)res; (void)res_len;
    mc_sarray_descr d;
    mc_sarray *a;
    if (len != sizeof d)
        return MC_EINVAL;
    memcpy(&d, arg, sizeof d);
    int rc = mc_sarray_of_descr(&d, &mc_type_str, &mc_type_i64, &a);
    if (rc)
        return rc;
    const char *uno = "uno", *fresh = "new";
    int64_t updates = *(const int64_t *)mc_sarray_header_ro(a) + 2;
    if (!(rc = mc_sarray_set(a, 1, &uno)))           /* a copy of "uno" */
        if (!(rc = mc_sarray_grow(a, 5, &fresh)))    /* one copy, shared */
            rc = mc_sarray_header_set(a, &updates);
    return rc;
}

static int print_pinned(const void *elem, void *ctx)
{
    /* elem stays valid while this runs, even if someone sets it */
    snprintf(ctx, 16, "%s", *(char *const *)elem);
    return 0;
}

static int body_x(void *user, const void *arg, size_t len, void **res,
                  size_t *res_len)
{
    (void)user; (void)arg; (void)len; (void)res; (void)res_len;
    mc_pool *pool;
    mc_sarray *a = NULL;
    mc_sarray_descr d;
    const char *init[3] = {"zero", "one", "two"};
    int64_t updates = 0;
    mc_pid pid;
    mc_join_result r = {0};
    int rc = mc_pool_create(1 << 20, &pool);
    if (!rc)
        rc = mc_sarray_create(pool, &mc_type_str, 3, init, &mc_type_i64,
                              &updates, &a);
    if (!rc)
        rc = mc_sarray_descr_of(a, &d);
    if (!rc)
        rc = mc_start(fork_y, &d, sizeof d, &pid);
    if (!rc)
        rc = mc_join(join_y, pid, &r);
    if (!rc && r.kind != MC_EXIT_RESULT) {
        fprintf(stderr, "tut_array: Y ended with kind %d code %d (%s)\n",
                (int)r.kind, r.code, mc_strerror(r.code));
        rc = MC_EPROCESS;
    }
    mc_join_result_free(&r);
    char line[256] = "", p4[16] = "";
    char **c1 = NULL;
    if (!rc)
        rc = mc_sarray_get_c(a, 1, (void **)&c1);
    if (!rc)
        rc = mc_sarray_get_p(a, 4, print_pinned, p4);
    if (!rc) {
        size_t n = mc_sarray_length(a);
        for (size_t i = 0; i < n; i++) {
            const char *s = i == 1 ? *c1 : i == 4 ? p4
                          : *(char *const *)mc_sarray_get_ro(a, i);
            snprintf(line + strlen(line), sizeof line - strlen(line), "%s%s",
                     i ? " " : "", s);
        }
        printf("Result: %s, header %lld\n", line,
               (long long)*(const int64_t *)mc_sarray_header_ro(a));
    }
    mc_local_free(c1);
    if (rc)
        fprintf(stderr, "tut_array: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
    int drc = a ? mc_sarray_destroy(a) : 0;
    return rc ? rc : drc;
}

int main(void)
{
    if (mc_def_process(body_x, NULL, &fork_x, &join_x) ||
        mc_def_process(body_y, NULL, &fork_y, &join_y))
        return 1;
    mc_join_result r;
    int rc = mc_run(NULL, fork_x, join_x, NULL, 0, &r);
    if (rc || r.kind != MC_EXIT_RESULT) {
        fprintf(stderr, "tut_array: %s (%s), kind %d code %d\n",
                mc_strerror(rc), mc_last_error_detail(), (int)r.kind, r.code);
        return 1;
    }
    mc_join_result_free(&r);
    return 0;
}
