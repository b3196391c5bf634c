/* tut_queue: the tutorial's shared queue, across processes.
 *
 * The tutorial (Shared data structures) names the usual need of a queue
 * shared by processes: its length is limited, producers are suspended
 * while it is full and restarted when there is room, and every structure
 * has a header for data that exists once per queue.  In OCamlnet that
 * took synchronization variables in the header; an mc_squeue has a
 * capacity, blocking pops and pushes with timeouts, and close.
 *
 * The master makes a queue of Orders (capacity 4) whose header is a Shop,
 * looks at it (push, length, top, iter over a snapshot, pop), then starts
 * two producers that push 10 orders each and a consumer that pops with
 * pop_p until the queue is closed and drained.  The producers block while
 * the queue is full.  The master joins the producers, closes the queue,
 * joins the consumer and prints what it counted:
 *
 *   Shop: corner shop, 1 order(s) queued holding 1 item(s), first: apple
 *   Total: 20 orders, 110 items
 *
 * The workers find the queue through its descriptor (plain bytes, checked
 * against the element and header types on lookup). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcore/mcore.h"
#include "tut_queue.h" /* generated from examples/tut_queue.mcidl */

#define PER_PRODUCER 10

static mc_res_id fork_prod, join_prod, fork_cons, join_cons;

static int open_queue(const void *arg, size_t len, mc_squeue **q)
{
    mc_squeue_descr d;
    if (len != sizeof d)
        return MC_EINVAL;
    memcpy(&d, arg, sizeof d);
    return mc_squeue_of_descr(&d, &tut_queue_Order_type, &tut_queue_Shop_type,
                              q);
}

/* Push PER_PRODUCER orders of 1, 2, ... items (waiting while full). */
static int body_producer(void *user, const void *arg, size_t len,
                         void **result, size_t *result_len)
{
    (void)user; (void)result; (void)result_len;
    mc_squeue *q;
    int rc = open_queue(arg, len, &q);
    for (int i = 0; i < PER_PRODUCER && !rc; i++) {
        tut_queue_Order o = {i, "pear", i + 1};
        rc = mc_squeue_push(q, &o, MC_SQUEUE_FOREVER);
    }
    return rc;
}

struct tally {
    int64_t orders, items;
};

static int count_order(const void *elem, void *ctx)
{
    const tut_queue_Order *o = elem; /* in the queue's heap, kept alive */
    struct tally *t = ctx;
    t->orders++;
    t->items += o->qty;
    return 0;
}

/* Pop until the queue is closed and empty; the tally is the result. */
static int body_consumer(void *user, const void *arg, size_t len,
                         void **result, size_t *result_len)
{
    (void)user;
    mc_squeue *q;
    int rc = open_queue(arg, len, &q);
    struct tally t = {0, 0};
    while (!rc)
        rc = mc_squeue_pop_p(q, count_order, &t, MC_SQUEUE_FOREVER);
    if (rc != MC_ECLOSED) /* the end of the queue is not an error */
        return rc;
    struct tally *r = malloc(sizeof t);
    if (!r)
        return MC_ENOMEM;
    *r = t;
    *result = r;
    *result_len = sizeof t;
    return 0;
}

static int sum_items(void *acc, const void *elem)
{
    *(int64_t *)acc += ((const tut_queue_Order *)elem)->qty;
    return 0;
}

static int look(mc_squeue *q)
{
    tut_queue_Order o = {1, "apple", 1};
    int rc = mc_squeue_push(q, &o, 0);
    tut_queue_Order *top = NULL;
    int64_t items = 0;
    if (!rc)
        rc = mc_squeue_top_c(q, (void **)&top);
    if (!rc)
        rc = mc_squeue_fold(q, sum_items, &items);
    if (!rc) {
        const tut_queue_Shop *shop = mc_squeue_header(q);
        printf("Shop: %s, %lld order(s) queued holding %lld item(s), "
               "first: %s\n", shop->name, (long long)mc_squeue_length(q),
               (long long)items, top->item);
    }
    mc_local_free(top);
    if (!rc) { /* empty it again */
        tut_queue_Order *c;
        rc = mc_squeue_pop_c(q, (void **)&c, 0);
        if (!rc)
            mc_local_free(c);
    }
    return rc;
}

static int join_body(mc_res_id jp, mc_pid pid, struct tally *t)
{
    mc_join_result r;
    int rc = mc_join(jp, pid, &r);
    if (rc)
        return rc;
    if (r.kind != MC_EXIT_RESULT)
        rc = MC_EPROCESS;
    else if (t && r.len == sizeof *t)
        memcpy(t, r.data, sizeof *t);
    mc_join_result_free(&r);
    return rc;
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    mc_squeue *q;
    mc_squeue_descr d;
    tut_queue_Shop shop = {"corner shop"};
    int rc = mc_pool_create(64 << 20, &pool);
    if (!rc)
        rc = mc_squeue_create(pool, &tut_queue_Order_type,
                              &tut_queue_Shop_type, &shop, 4, &q);
    if (!rc)
        rc = mc_squeue_descr_of(q, &d);
    if (!rc)
        rc = look(q);
    mc_pid prod[2], cons;
    int started = 0;
    if (!rc)
        rc = mc_start(fork_cons, &d, sizeof d, &cons);
    for (; !rc && started < 2; started++)
        rc = mc_start(fork_prod, &d, sizeof d, &prod[started]);
    for (int i = 0; i < started; i++) {
        int jrc = join_body(join_prod, prod[i], NULL);
        rc = rc ? rc : jrc;
    }
    /* every order is queued: close, and the consumer drains and ends */
    struct tally t = {0, 0};
    if (started) {
        mc_squeue_close(q);
        int jrc = join_body(join_cons, cons, &t);
        rc = rc ? rc : jrc;
    }
    if (!rc)
        printf("Total: %lld orders, %lld items\n", (long long)t.orders,
               (long long)t.items);
    else
        fprintf(stderr, "tut_queue: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
    return rc ? -1 : 0;
}

int main(void)
{
    if (mc_def_process(body_producer, NULL, &fork_prod, &join_prod) ||
        mc_def_process(body_consumer, NULL, &fork_cons, &join_cons))
        return 1;
    return mc_startup(NULL, first, NULL) ? 1 : 0;
}
