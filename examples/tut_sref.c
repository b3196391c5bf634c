/* tut_sref: the tutorial's shared reference example.
 *
 * X creates a shared reference c holding 1 in a pool, and starts Y with c's
 * descriptor and k = 1.  Y looks c up and returns k + 1 + c; as c lives in
 * shared memory, Y sees the 1 and the result is 3 (compare tut_process,
 * where a plain global gives 2). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcore/mcore.h"
#include "mcore/sref.h"

/* An int64 value: a leaf type, copied as bytes.  (mcidl generates such
 * descriptors; this example writes it by hand.) */
static const mc_type int_type = {
    .name = "i64", .id = 0x1d5e8f3a9b2c4e71ull,
    .size = sizeof(int64_t), .align = _Alignof(int64_t),
};

struct y_arg {
    mc_sref_descr c;
    int64_t k;
};

static mc_res_id fork_x, join_x, fork_y, join_y;

static int give_int(int64_t v, void **res, size_t *len)
{
    int64_t *p = malloc(sizeof *p);
    if (!p)
        return MC_ENOMEM;
    *p = v;
    *res = p;
    *len = sizeof *p;
    return 0;
}

static int body_y(void *user, const void *arg, size_t len, void **res,
                  size_t *res_len)
{
    (void)user;
    struct y_arg a;
    mc_sref *c;
    if (len != sizeof a)
        return MC_EINVAL;
    memcpy(&a, arg, sizeof a);
    int rc = mc_sref_of_descr(&a.c, &int_type, &c);
    if (rc)
        return rc;
    int64_t c_value = *(const int64_t *)mc_sref_deref_ro(c);
    return give_int(a.k + 1 + c_value, res, res_len);
}

static int body_x(void *user, const void *arg, size_t len, void **res,
                  size_t *res_len)
{
    (void)user; (void)arg; (void)len; (void)res; (void)res_len;
    mc_pool *pool;
    mc_sref *c;
    struct y_arg a = {.k = 1};
    int64_t one = 1;
    mc_pid pid;
    mc_join_result r;
    /* any process may create a pool; Y, started later, inherits it */
    int rc = mc_pool_create(1 << 20, &pool);
    if (!rc)
        rc = mc_sref_create(pool, &int_type, &one, &c);
    if (!rc)
        rc = mc_sref_descr_of(c, &a.c);
    if (!rc)
        rc = mc_start(fork_y, &a, sizeof a, &pid);
    if (!rc)
        rc = mc_join(join_y, pid, &r);
    if (rc || r.kind != MC_EXIT_RESULT || r.len != sizeof(int64_t)) {
        fprintf(stderr, "Error in process Y: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return rc ? rc : MC_EINVAL;
    }
    int64_t j;
    memcpy(&j, r.data, sizeof j);
    mc_join_result_free(&r);
    printf("Result: %lld\n", (long long)j);
    return mc_sref_destroy(c);
}

int main(void)
{
    if (mc_def_process(body_x, NULL, &fork_x, &join_x) ||
        mc_def_process(body_y, NULL, &fork_y, &join_y))
        return 1;
    mc_join_result r;
    int rc = mc_run(NULL, fork_x, join_x, NULL, 0, &r);
    if (rc || r.kind != MC_EXIT_RESULT) {
        fprintf(stderr, "tut_sref: %s (%s), kind %d code %d\n",
                mc_strerror(rc), mc_last_error_detail(), (int)r.kind, r.code);
        return 1;
    }
    return 0;
}
