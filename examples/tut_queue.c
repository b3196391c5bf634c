/* tut_queue: the tutorial's shared queue, across processes.
 *
 * The tutorial (Shared data structures) names the usual need of a queue
 * shared by processes: its length is limited, producers are suspended
 * while it is full and restarted when there is room, and every structure
 * has a header for data that exists once per queue.  In OCamlnet that
 * took synchronization variables in the header; an squeue has a
 * capacity, blocking pops and pushes with timeouts, and close.
 *
 * The master makes a queue of Orders (capacity 4) whose header is a Shop,
 * looks at it (push, length, top, fold over a snapshot, pop), then starts
 * two producers that push 10 orders each and a consumer that pops with
 * pop_p until the queue is closed and drained.  The producers block while
 * the queue is full.  The master joins the producers, closes the queue,
 * joins the consumer and prints what it counted:
 *
 *   Shop: corner shop, 1 order(s) queued holding 1 item(s), first: apple
 *   Total: 20 orders, 110 items
 *
 * The queue and the processes are typed (tut_queue.mcidl): a process's
 * argument is the queue's typed descriptor, checked against the element
 * and header types when the worker looks it up. */
#include <stdio.h>

#include "mcore/mcore.h"
#include "tut_queue.h" /* generated from examples/tut_queue.mcidl */

#define PER_PRODUCER 10

/* Push PER_PRODUCER orders of 1, 2, ... items (waiting while full). */
static int producer(const tut_queue_Orders_descr *d, void *result,
                    void *user)
{
    (void)result; (void)user;
    tut_queue_Orders *q;
    int rc = tut_queue_Orders_of_descr(d, &q); /* MC_ETYPE: not Orders */
    for (int i = 0; i < PER_PRODUCER && !rc; i++) {
        tut_queue_Order o = {i, "pear", i + 1};
        rc = tut_queue_Orders_push(q, &o, MC_SQUEUE_FOREVER);
    }
    return rc;
}

/* An order in the queue's heap, kept alive while this runs. */
static int count_order(const tut_queue_Order *o, void *ctx)
{
    tut_queue_Tally *t = ctx;
    t->orders++;
    t->items += o->qty;
    return 0;
}

/* Pop until the queue is closed and empty; the tally is the result. */
static int consumer(const tut_queue_Orders_descr *d, tut_queue_Tally *t,
                    void *user)
{
    (void)user;
    tut_queue_Orders *q;
    int rc = tut_queue_Orders_of_descr(d, &q);
    while (!rc) /* *t starts zeroed */
        rc = tut_queue_Orders_pop_p(q, count_order, t, MC_SQUEUE_FOREVER);
    return rc == MC_ECLOSED ? 0 : rc; /* the end of the queue: no error */
}

static int sum_items(void *acc, const tut_queue_Order *o)
{
    *(int64_t *)acc += o->qty;
    return 0;
}

static int look(tut_queue_Orders *q)
{
    tut_queue_Order o = {1, "apple", 1}, *top = NULL;
    int64_t items = 0;
    int rc = tut_queue_Orders_push(q, &o, 0);
    if (!rc)
        rc = tut_queue_Orders_top_c(q, &top); /* a local deep copy */
    if (!rc)
        rc = tut_queue_Orders_fold(q, sum_items, &items);
    if (!rc)
        printf("Shop: %s, %lld order(s) queued holding %lld item(s), "
               "first: %s\n", tut_queue_Orders_header(q)->name,
               (long long)tut_queue_Orders_length(q), (long long)items,
               top->item);
    mc_local_free(top);
    if (!rc) { /* empty it again */
        tut_queue_Order *c;
        if (!(rc = tut_queue_Orders_pop_c(q, &c, 0)))
            mc_local_free(c);
    }
    return rc;
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    tut_queue_Orders *q;
    tut_queue_Orders_descr d;
    tut_queue_Shop shop = {"corner shop"};
    int rc = mc_pool_create(64 << 20, &pool);
    if (!rc) /* of the declared capacity (4), the header a copy of shop */
        rc = tut_queue_Orders_create(pool, &shop, &q);
    if (!rc)
        rc = tut_queue_Orders_descr_of(q, &d);
    if (!rc)
        rc = look(q);
    mc_pid prod[2], cons;
    int consuming = 0, started = 0;
    if (!rc && !(rc = tut_queue_consumer_start(&d, &cons)))
        consuming = 1;
    for (int i = 0; i < 2 && !rc; i++)
        if (!(rc = tut_queue_producer_start(&d, &prod[i])))
            started++;
    for (int i = 0; i < started; i++) {
        int jrc = tut_queue_producer_join(prod[i], NULL, NULL);
        rc = rc ? rc : jrc;
    }
    /* every order is queued: close, and the consumer drains and ends */
    tut_queue_Tally *t = NULL;
    if (consuming) {
        tut_queue_Orders_close(q);
        int jrc = tut_queue_consumer_join(cons, &t, NULL);
        rc = rc ? rc : jrc;
    }
    if (!rc)
        printf("Total: %lld orders, %lld items\n", (long long)t->orders,
               (long long)t->items);
    else
        fprintf(stderr, "tut_queue: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
    mc_local_free(t);
    return rc ? -1 : 0;
}

int main(void)
{
    if (tut_queue_producer_def(producer, NULL) ||
        tut_queue_consumer_def(consumer, NULL))
        return 1;
    return mc_startup(NULL, first, NULL) ? 1 : 0;
}
