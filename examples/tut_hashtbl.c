/* tut_hashtbl: a shared hash table used by several processes (the
 * tutorial's Netmcore_hashtbl, in C).
 *
 * The master creates a table from strings to i64 in a pool and starts
 * four workers with the table's descriptor.  Worker k (1..4):
 *   - adds a binding "worker" -> k: a key may have several bindings, the
 *     newest shadowing the older ones (as OCaml's Hashtbl.add);
 *   - adds "square k" -> k * k;
 *   - adds k to the counter "total" with mc_shashtbl_update, a
 *     read-modify-write under the key's lock: no update is lost however
 *     the workers interleave.
 * Then the master reads: "total" is 1 + 2 + 3 + 4, "worker" has four
 * bindings (newest first), removing the newest uncovers the next one.
 *
 * Reads take no lock (find_c copies the value out, find_p runs a callback
 * while the value is kept alive); writers of keys in different shards run
 * in parallel.  The table is generic here (mc_type_str, mc_type_i64); the
 * IDL's `shashtbl Index : string -> i64;` generates typed wrappers of the
 * same calls. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mcore/mcore.h"

enum { WORKERS = 4 };

static mc_res_id fork_pt, join_pt;

static int add_to(const void *old, const void **new_value, void *ctx)
{
    int64_t *sum = ctx; /* in: what to add; out: the new total */
    *sum += old ? *(const int64_t *)old : 0;
    *new_value = sum;
    return MC_SHASHTBL_SET;
}

static int worker(void *user, const void *arg, size_t len, void **result,
                  size_t *result_len)
{
    (void)user, (void)result, (void)result_len;
    mc_shashtbl_descr d;
    int64_t k;
    if (len != sizeof d + sizeof k)
        return MC_EINVAL;
    memcpy(&d, arg, sizeof d);
    memcpy(&k, (const char *)arg + sizeof d, sizeof k);
    mc_shashtbl *t;
    /* MC_ETYPE if the table does not map strings to i64 */
    int rc = mc_shashtbl_of_descr(&d, &mc_type_str, &mc_type_i64, NULL, &t);
    if (rc)
        return rc;
    char name[32];
    snprintf(name, sizeof name, "square %lld", (long long)k);
    char *key = "worker", *sq = name, *total = "total";
    int64_t square = k * k, sum = k;
    if ((rc = mc_shashtbl_add(t, &key, &k)) ||
        (rc = mc_shashtbl_add(t, &sq, &square)))
        return rc;
    return mc_shashtbl_update(t, &total, add_to, &sum);
}

static int print_square(const void *value, void *ctx)
{
    printf("%s = %lld\n", (const char *)ctx, (long long)*(const int64_t *)value);
    return 0;
}

static int master(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    mc_shashtbl *t;
    mc_shashtbl_descr d;
    int rc = mc_pool_create(64 << 20, &pool);
    if (!rc)
        rc = mc_shashtbl_create(pool, &mc_type_str, &mc_type_i64, NULL, NULL,
                                &t);
    if (!rc)
        rc = mc_shashtbl_descr_of(t, &d);
    mc_pid pids[WORKERS];
    int started = 0;
    for (int64_t k = 1; k <= WORKERS && !rc; k++) {
        char arg[sizeof d + sizeof k];
        memcpy(arg, &d, sizeof d);
        memcpy(arg + sizeof d, &k, sizeof k);
        if (!(rc = mc_start(fork_pt, arg, sizeof arg, &pids[started])))
            started++;
    }
    for (int i = 0; i < started; i++) {
        mc_join_result r = {0};
        int jrc = mc_join(join_pt, pids[i], &r);
        if (!jrc && r.kind != MC_EXIT_RESULT) {
            fprintf(stderr, "worker %d failed: %s\n", i,
                    r.kind == MC_EXIT_ERROR ? mc_strerror(r.code) : "died");
            jrc = MC_EPROCESS;
        }
        mc_join_result_free(&r);
        rc = rc ? rc : jrc;
    }
    if (rc) {
        fprintf(stderr, "tut_hashtbl: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return rc;
    }
    char *total = "total", *key = "worker", *sq = "square 3";
    int64_t *sum;
    if ((rc = mc_shashtbl_find_c(t, &total, (void **)&sum)))
        return rc;
    printf("Total: %lld\n", (long long)*sum);
    mc_local_free(sum);
    const void *all[WORKERS];
    int n = mc_shashtbl_find_all_ro(t, &key, all, WORKERS);
    printf("\"worker\" has %d bindings, the newest from worker %lld\n", n,
           n > 0 ? (long long)*(const int64_t *)all[0] : -1LL);
    int64_t newest = n > 0 ? *(const int64_t *)all[0] : -1;
    mc_shashtbl_remove(t, &key);
    int64_t *now;
    if (!mc_shashtbl_find_c(t, &key, (void **)&now)) {
        printf("after remove, \"worker\" is %lld (was %lld)\n",
               (long long)*now, (long long)newest);
        mc_local_free(now);
    }
    mc_shashtbl_find_p(t, &sq, print_square, sq);
    printf("%zu bindings\n", mc_shashtbl_length(t));
    return mc_shashtbl_destroy(t);
}

int main(void)
{
    if (mc_def_process(worker, NULL, &fork_pt, &join_pt))
        return 1;
    int rc = mc_startup(NULL, master, NULL);
    if (rc) {
        fprintf(stderr, "tut_hashtbl: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
