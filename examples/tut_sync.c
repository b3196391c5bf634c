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
 * in.  X waits for turn == 5 the same way and prints the log. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcore/mcore.h"
#include "mcore/sref.h"
#include "mcore/sync.h"

enum { WORKERS = 4 };

/* The shared record.  (mcidl generates such types; this example writes
 * the mc_type by hand.) */
typedef struct turns {
    int64_t turn;           /* whose turn it is (1..WORKERS, then done) */
    int64_t log[WORKERS];   /* who took turns, in order */
    int64_t nlog;
    mc_mutex m;             /* guards all of the above */
    mc_cond c;              /* broadcast whenever turn changes */
} turns;

/* No pointers: the scalar fields are copied, the mutex and the condition
 * are left zero by the copy and made in place by init_sync. */
static int turns_copy(mc_copier *c, void *dst, const void *src)
{
    (void)c;
    const turns *s = src;
    turns *d = dst;
    d->turn = s->turn;
    memcpy(d->log, s->log, sizeof d->log);
    d->nlog = s->nlog;
    return 0;
}

static int turns_init_sync(void *obj)
{
    turns *t = obj;
    int rc = mc_mutex_init(&t->m, MC_MUTEX_NORMAL);
    return rc ? rc : mc_cond_init(&t->c);
}

static const mc_type turns_type = {
    .name = "turns", .id = 0x3e9a51c7d28b0f64ull, .size = sizeof(turns),
    .align = _Alignof(turns), .copy = turns_copy,
    .init_sync = turns_init_sync,
};

struct w_arg {
    mc_sref_descr s;
    int64_t k;
};

static mc_res_id fork_x, join_x, fork_w, join_w;

/* The record in the sref.  Nobody assigns the sref while the example runs,
 * so the value stays where it is; its mutex is meant to change in place. */
static turns *record(mc_sref *s)
{
    return (turns *)mc_sref_deref_ro(s);
}

/* Lock r->m and wait until r->turn == k. */
static int wait_turn(turns *r, int64_t k)
{
    int rc = mc_mutex_lock(&r->m);
    while (!rc && r->turn != k)
        rc = mc_cond_wait(&r->c, &r->m);
    return rc;
}

static int body_w(void *user, const void *arg, size_t len, void **res,
                  size_t *res_len)
{
    (void)user; (void)res; (void)res_len;
    struct w_arg a;
    mc_sref *s;
    if (len != sizeof a)
        return MC_EINVAL;
    memcpy(&a, arg, sizeof a);
    int rc = mc_sref_of_descr(&a.s, &turns_type, &s);
    if (rc)
        return rc;
    turns *r = record(s);
    rc = wait_turn(r, a.k);
    if (rc)
        return rc;
    r->log[r->nlog++] = a.k;
    r->turn = a.k + 1;
    mc_cond_broadcast(&r->c);
    return mc_mutex_unlock(&r->m);
}

static int body_x(void *user, const void *arg, size_t len, void **res,
                  size_t *res_len)
{
    (void)user; (void)arg; (void)len; (void)res; (void)res_len;
    mc_pool *pool;
    mc_sref *s;
    struct w_arg a;
    mc_pid pids[WORKERS];
    /* a plain local value: its m and c are zero, not dummies to replace */
    turns init = {.turn = 1};
    int rc = mc_pool_create(1 << 20, &pool);
    if (!rc)
        rc = mc_sref_create(pool, &turns_type, &init, &s);
    if (!rc)
        rc = mc_sref_descr_of(s, &a.s);
    for (int i = 0; !rc && i < WORKERS; i++) {
        a.k = WORKERS - i; /* the last to take its turn starts first */
        rc = mc_start(fork_w, &a, sizeof a, &pids[i]);
    }
    turns *r = rc ? NULL : record(s);
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
    for (int i = 0; i < WORKERS; i++) {
        mc_join_result jr;
        if (mc_join(join_w, pids[i], &jr) == 0) {
            if (jr.kind != MC_EXIT_RESULT)
                rc = MC_ESTATE;
            mc_join_result_free(&jr);
        }
    }
    if (rc)
        return rc;
    printf("Done: %lld workers took their turns in order%s\n", (long long)n,
           order);
    return mc_sref_destroy(s);
}

int main(void)
{
    if (mc_def_process(body_x, NULL, &fork_x, &join_x) ||
        mc_def_process(body_w, NULL, &fork_w, &join_w))
        return 1;
    mc_join_result r;
    int rc = mc_run(NULL, fork_x, join_x, NULL, 0, &r);
    if (rc || r.kind != MC_EXIT_RESULT) {
        fprintf(stderr, "tut_sync: %s (%s), kind %d code %d\n",
                mc_strerror(rc), mc_last_error_detail(), (int)r.kind, r.code);
        return 1;
    }
    mc_join_result_free(&r);
    return 0;
}
