/* tut_hashtbl: a shared hash table used by several processes (the
 * tutorial's Netmcore_hashtbl, in C).
 *
 * The master creates a table from strings to i64 in a pool and starts
 * four workers with the table's descriptor.  Worker k (1..4):
 *   - adds a binding "worker" -> k: a key may have several bindings, the
 *     newest shadowing the older ones (as OCaml's Hashtbl.add);
 *   - adds "square k" -> k * k;
 *   - adds k to the counter "total" with _update, a read-modify-write
 *     under the key's lock: no update is lost however the workers
 *     interleave.
 * Then the master reads: "total" is 1 + 2 + 3 + 4, "worker" has four
 * bindings (newest first), removing the newest uncovers the next one.
 *
 * Reads take no lock (_find copies an i64 out, _find_p runs a callback
 * while the value is kept alive); writers of keys in different shards run
 * in parallel.  The table and the worker are typed (tut_hashtbl.mcidl):
 * string keys and i64 values are passed as they are. */
#include <stdint.h>
#include <stdio.h>

#include "mcore/mcore.h"
#include "tut_hashtbl.h" /* generated from examples/tut_hashtbl.mcidl */

enum { WORKERS = 4 };

static int add_to(const int64_t *old, int64_t *new_value, void *ctx)
{
    const int64_t *k = ctx; /* what to add */
    *new_value = *k + (old ? *old : 0);
    return MC_SHASHTBL_SET;
}

static int worker(const tut_hashtbl_Job *job, void *result, void *user)
{
    (void)result; (void)user;
    tut_hashtbl_Index *t;
    /* MC_ETYPE if the table does not map strings to i64 */
    int rc = tut_hashtbl_Index_of_descr(&job->index, &t);
    if (rc)
        return rc;
    char name[32];
    snprintf(name, sizeof name, "square %lld", (long long)job->k);
    int64_t k = job->k;
    if ((rc = tut_hashtbl_Index_add(t, "worker", k)) ||
        (rc = tut_hashtbl_Index_add(t, name, k * k)))
        return rc;
    return tut_hashtbl_Index_update(t, "total", add_to, &k);
}

static int print_square(const int64_t *value, void *ctx)
{
    printf("%s = %lld\n", (const char *)ctx, (long long)*value);
    return 0;
}

static int master(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    tut_hashtbl_Index *t;
    tut_hashtbl_Job job;
    int rc = mc_pool_create(64 << 20, &pool);
    if (!rc)
        rc = tut_hashtbl_Index_create(pool, &t);
    if (!rc)
        rc = tut_hashtbl_Index_descr_of(t, &job.index);
    mc_pid pids[WORKERS];
    int started = 0;
    for (int64_t k = 1; k <= WORKERS && !rc; k++) {
        job.k = k;
        if (!(rc = tut_hashtbl_worker_start(&job, &pids[started])))
            started++;
    }
    for (int i = 0; i < started; i++) {
        mc_join_result how = {0};
        int jrc = tut_hashtbl_worker_join(pids[i], NULL, &how);
        if (jrc)
            fprintf(stderr, "worker %d failed: %s\n", i,
                    how.kind == MC_EXIT_ERROR ? mc_strerror(how.code)
                                              : "died");
        rc = rc ? rc : jrc;
    }
    if (rc) {
        fprintf(stderr, "tut_hashtbl: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return rc;
    }
    int64_t sum, now;
    if ((rc = tut_hashtbl_Index_find(t, "total", &sum)))
        return rc;
    printf("Total: %lld\n", (long long)sum);
    const int64_t *all[WORKERS]; /* in the table: nobody writes it now */
    int n = tut_hashtbl_Index_find_all_ro(t, "worker", all, WORKERS);
    int64_t newest = n > 0 ? *all[0] : -1;
    printf("\"worker\" has %d bindings, the newest from worker %lld\n", n,
           (long long)newest);
    tut_hashtbl_Index_remove(t, "worker");
    if (!tut_hashtbl_Index_find(t, "worker", &now))
        printf("after remove, \"worker\" is %lld (was %lld)\n",
               (long long)now, (long long)newest);
    tut_hashtbl_Index_find_p(t, "square 3", print_square, "square 3");
    printf("%zu bindings\n", tut_hashtbl_Index_length(t));
    return tut_hashtbl_Index_destroy(t);
}

int main(void)
{
    if (tut_hashtbl_worker_def(worker, NULL))
        return 1;
    int rc = mc_startup(NULL, master, NULL);
    if (rc) {
        fprintf(stderr, "tut_hashtbl: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
