/* tut_sync: the tutorial's mutex + condition example.
 *
 * The tutorial puts a record { x; m : mutex; c : condition } into a shared
 * reference, first with dummy placeholders, then replaces them inside a
 * modify, and allocates a wait entry per process before it may wait.  Here
 * the record's type says it has a mutex and a condition (its init_sync),
 * so the sref is created from a plain local value and the copy in the heap
 * has working ones at once; any process may wait, with nothing allocated.
 *
 * X creates the sref with turn = 1 and starts four workers in reverse
 * order (4, 3, 2, 1).  Worker k waits on the condition until turn == k,
 * appends k to the record's log, sets turn = k + 1 and broadcasts.  So the
 * log records the order of the turns whatever order the workers started
 * in.  X waits for turn == 5 the same way and prints the log.
 *
 * The record is described in tut_sync.mcidl, with `m: mutex;` and
 * `c: condition(m);` fields: the generated copy leaves them zero and its
 * init_sync makes them in place in the heap. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mcore/mcore.h"
#include "mcore/sync.h"
#include "tut_sync.h" /* generated from examples/tut_sync.mcidl */

enum { WORKERS = TUT_SYNC_WORKERS };

typedef tut_sync_Turns turns;

/* Lock r->m and wait until r->turn == k. */
static int wait_turn(turns *r, int64_t k)
{
    int rc = mc_mutex_lock(&r->m);
    while (!rc && r->turn != k)
        rc = mc_cond_wait(&r->c, &r->m);
    return rc;
}

static int body_w(const tut_sync_WArg *a, void *result, void *user)
{
    (void)result; (void)user;
    tut_sync_Board *s;
    int rc = tut_sync_Board_of_descr(&a->s, &s);
    if (rc)
        return rc;
    /* the record in place (nobody assigns the sref while the example runs,
     * so it stays where it is): _get_mut, as its mutex changes in place */
    turns *r = tut_sync_Board_get_mut(s);
    rc = wait_turn(r, a->k);
    if (rc)
        return rc;
    r->log[r->nlog++] = a->k;
    r->turn = a->k + 1;
    mc_cond_broadcast(&r->c);
    return mc_mutex_unlock(&r->m);
}

static int body_x(const void *arg, void *result, void *user)
{
    (void)arg; (void)result; (void)user;
    mc_pool *pool;
    tut_sync_Board *s;
    tut_sync_WArg a = {0};
    mc_pid pids[WORKERS];
    /* a plain local value: its m and c are zero, not dummies to replace */
    turns init = {.turn = 1};
    int rc = mc_pool_create(1 << 20, &pool);
    if (!rc)
        rc = tut_sync_Board_create(pool, &init, &s);
    if (!rc)
        rc = tut_sync_Board_descr_of(s, &a.s);
    for (int i = 0; !rc && i < WORKERS; i++) {
        a.k = WORKERS - i; /* the last to take its turn starts first */
        rc = tut_sync_w_start(&a, &pids[i]);
    }
    turns *r = rc ? NULL : tut_sync_Board_get_mut(s);
    if (!rc)
        rc = wait_turn(r, WORKERS + 1);
    if (rc) {
        fprintf(stderr, "tut_sync: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return rc;
    }
    char order[64] = "";
    for (int64_t i = 0; i < r->nlog; i++)
        snprintf(order + strlen(order), sizeof order - strlen(order),
                 " %lld", (long long)r->log[i]);
    int64_t n = r->nlog;
    mc_mutex_unlock(&r->m);
    for (int i = 0; i < WORKERS; i++)
        if (tut_sync_w_join(pids[i], NULL, NULL))
            rc = MC_ESTATE;
    if (rc)
        return rc;
    printf("Done: %lld workers took their turns in order%s\n", (long long)n,
           order);
    return tut_sync_Board_destroy(s);
}

int main(void)
{
    if (tut_sync_x_def(body_x, NULL) || tut_sync_w_def(body_w, NULL))
        return 1;
    /* a whole session whose first process is X (no argument) */
    int rc = tut_sync_x_run(NULL, NULL, NULL);
    if (rc) {
        fprintf(stderr, "tut_sync: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
