/* test_squeue.c: shared queues (mcore/squeue.h): a local model, several
 * processes at once, blocking with timeouts, close, kill -9 inside push
 * and pop, descriptors, pool exhaustion. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcore/squeue.h"
#include "testutil.h"

#define MiB ((size_t)1 << 20)

/* ------------------------------------------------------------- types */

/* An element: a number and a string that spells it, so that a torn or
 * freed element shows. */
typedef struct rec {
    int64_t n;
    char *s;
} rec;

static int rec_copy(mc_copier *c, void *dst, const void *src)
{
    const rec *s = src;
    rec *d = dst;
    d->n = s->n;
    return mc_copy_str(c, &s->s, &d->s);
}

static void rec_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, ((const rec *)obj)->s);
}

static const mc_type rec_type = {
    .name = "rec", .id = 0x51a7e0c3d9b2f104ull, .size = sizeof(rec),
    .align = _Alignof(rec), .copy = rec_copy, .trace = rec_trace,
};

static const mc_type other_type = {
    .name = "other", .id = 0x51a7e0c3d9b2f105ull, .size = sizeof(rec),
    .align = _Alignof(rec), .copy = rec_copy, .trace = rec_trace,
};

/* The header: plain words the tests use in place. */
typedef struct hdr {
    int64_t pid;   /* kill test: the victim's OS pid */
    int64_t stage;
} hdr;

static const mc_type hdr_type = {
    .name = "hdr", .id = 0x51a7e0c3d9b2f106ull, .size = sizeof(hdr),
    .align = _Alignof(hdr),
};

/* Every fifth element carries a long string: too big for a cell of the
 * queue's segment (squeue.c), it is a block of its own, so that every
 * test runs both kinds of element. */
#define SPELL_MAX 160
static void spell(char *buf, size_t n, int64_t v)
{
    snprintf(buf, n, "value-%lld%s", (long long)v,
             v % 5 == 3 ? "-a-long-tail-that-does-not-fit-in-a-cell-of-64-"
                          "bytes-with-the-record-of-16-bytes-before-it"
                        : "");
}

static int rec_bad(const rec *r)
{
    char buf[SPELL_MAX];
    spell(buf, sizeof buf, r->n);
    return r->s == NULL || strcmp(r->s, buf) != 0;
}

static int push_n(mc_squeue *q, int64_t n, int64_t timeout)
{
    char buf[SPELL_MAX];
    spell(buf, sizeof buf, n);
    rec r = {n, buf};
    return mc_squeue_push(q, &r, timeout);
}

/* pop_c of one element: its number in *n (checked), or the code */
static int pop_n(mc_squeue *q, int64_t *n, int64_t timeout)
{
    rec *c;
    int rc = mc_squeue_pop_c(q, (void **)&c, timeout);
    if (rc)
        return rc;
    *n = rec_bad(c) ? -1 : c->n;
    mc_local_free(c);
    return 0;
}

static int read_n(const void *e, void *ctx)
{
    const rec *r = e;
    *(int64_t *)ctx = rec_bad(r) ? -1 : r->n;
    return 0;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

/* -------------------------------------------------------- local model */

struct collect {
    int64_t v[4096];
    int n;
};

static int collect_fn(const void *e, void *ctx)
{
    struct collect *c = ctx;
    const rec *r = e;
    if (c->n < 4096)
        c->v[c->n++] = rec_bad(r) ? -1 : r->n;
    return 0;
}

static int sum_fn(void *acc, const void *e)
{
    *(int64_t *)acc += ((const rec *)e)->n;
    return 0;
}

static int stop_at_3(const void *e, void *ctx)
{
    (*(int *)ctx)++;
    return ((const rec *)e)->n == 3 ? 42 : 0;
}

static int ret_1(const void *e, void *ctx)
{
    (void)e;
    (*(int *)ctx)++;
    return 1;
}

/* Random operations against an array model, on a queue of capacity cap
 * (0: unbounded). */
static void model_run(mc_squeue *q, size_t cap, int steps)
{
    static int64_t m[4096];
    size_t head = 0, len = 0;
    int64_t next = 1;
    for (int i = 0; i < steps && !tu_w_failed(); i++) {
        uint32_t op = rnd() % 100;
        int64_t v = -2;
        if (op < 40) { /* push */
            int full = cap && len == cap;
            int rc = push_n(q, next, 0);
            if (full) {
                W_CHECK(rc == MC_EAGAIN, "step %d: push on full: %s", i,
                        tu_code_name(rc));
            } else if (len < 4000 && !W_RC(rc, 0)) {
                m[(head + len++) % 4096] = next;
            } else if (len >= 4000) {
                W_RC(pop_n(q, &v, 0), 0); /* keep it small: undo */
                len--; /* the model's head went too */
                W_CHECK(v == m[head % 4096], "undo pop");
                head++;
                m[(head + len++) % 4096] = next;
            }
            next++;
        } else if (op < 65) { /* pop_c */
            int rc = pop_n(q, &v, 0);
            if (!len) {
                W_CHECK(rc == MC_EAGAIN, "step %d: pop on empty: %s", i,
                        tu_code_name(rc));
            } else if (!W_RC(rc, 0)) {
                W_CHECK(v == m[head % 4096], "step %d: popped %lld, model "
                        "%lld", i, (long long)v, (long long)m[head % 4096]);
                head++, len--;
            }
        } else if (op < 80) { /* pop_p */
            int rc = mc_squeue_pop_p(q, read_n, &v, 0);
            if (!len) {
                W_CHECK(rc == MC_EAGAIN, "pop_p on empty: %s",
                        tu_code_name(rc));
            } else if (!W_RC(rc, 0)) {
                W_CHECK(v == m[head % 4096], "step %d: pop_p %lld, model "
                        "%lld", i, (long long)v, (long long)m[head % 4096]);
                head++, len--;
            }
        } else if (op < 88) { /* top */
            rec *c = NULL;
            int rc = (op & 1) ? mc_squeue_top_p(q, read_n, &v)
                              : mc_squeue_top_c(q, (void **)&c);
            if (!len) {
                W_CHECK(rc == MC_EAGAIN, "top on empty: %s",
                        tu_code_name(rc));
            } else if (!W_RC(rc, 0)) {
                if (c)
                    v = rec_bad(c) ? -1 : c->n;
                W_CHECK(v == m[head % 4096], "top %lld, model %lld",
                        (long long)v, (long long)m[head % 4096]);
            }
            mc_local_free(c);
        } else if (op < 95) { /* iter, fold */
            static struct collect c;
            c.n = 0;
            W_RC(mc_squeue_iter(q, collect_fn, &c), 0);
            W_CHECK((size_t)c.n == len, "iter saw %d, model %zu", c.n, len);
            int64_t sum = 0, msum = 0;
            for (size_t k = 0; k < len && k < (size_t)c.n; k++) {
                W_CHECK(c.v[k] == m[(head + k) % 4096], "iter element %zu",
                        k);
                msum += m[(head + k) % 4096];
            }
            W_RC(mc_squeue_fold(q, sum_fn, &sum), 0);
            W_CHECK(sum == msum, "fold %lld, model %lld", (long long)sum,
                    (long long)msum);
        } else if (op < 97) { /* clear */
            W_RC(mc_squeue_clear(q), 0);
            head += len;
            len = 0;
        }
        W_CHECK(mc_squeue_length(q) == (int64_t)len, "step %d: length %lld, "
                "model %zu", i, (long long)mc_squeue_length(q), len);
        W_CHECK(mc_squeue_is_empty(q) == (len == 0), "is_empty");
    }
}

static void drv_model(const void *arg, size_t len)
{
    (void)arg; (void)len;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *p;
    mc_squeue *q, *b;
    hdr h0 = {7, 8};
    if (W_RC(mc_pool_create(256 * MiB, &p), 0) ||
        W_RC(mc_squeue_create(p, &rec_type, &hdr_type, &h0, 0, &q), 0) ||
        W_RC(mc_squeue_create(p, &rec_type, NULL, NULL, 5, &b), 0))
        return;
    hdr *h = mc_squeue_header(q);
    W_CHECK(h && h != &h0 && h->pid == 7 && h->stage == 8, "header copy");
    W_CHECK(mc_squeue_header(b) == NULL, "no header");
    W_CHECK(mc_squeue_type(q) == &rec_type &&
                mc_squeue_header_type(q) == &hdr_type &&
                mc_squeue_header_type(b) == NULL,
            "types");
    W_CHECK(mc_squeue_capacity(q) == 0 && mc_squeue_capacity(b) == 5,
            "capacity");
    /* iter stops at a nonzero return and passes it on */
    for (int i = 1; i <= 5; i++)
        W_RC(push_n(q, i, 0), 0);
    int seen = 0;
    W_RC(mc_squeue_iter(q, stop_at_3, &seen), 42);
    W_CHECK(seen == 3, "iter went on after a stop: %d", seen);
    /* pop_p passes fn's result on, and has popped */
    W_RC(mc_squeue_pop_p(q, stop_at_3, &seen, 0), 0);
    W_CHECK(mc_squeue_length(q) == 4, "pop_p popped");
    /* any return value of a callback is passed on, 1 included */
    seen = 0;
    W_RC(mc_squeue_pop_p(q, ret_1, &seen, 0), 1);
    W_RC(mc_squeue_top_p(q, ret_1, &seen), 1);
    W_RC(mc_squeue_iter(q, ret_1, &seen), 1);
    W_CHECK(seen == 3 && mc_squeue_length(q) == 3, "callbacks returning 1: "
            "%d calls, length %lld", seen, (long long)mc_squeue_length(q));
    W_RC(mc_squeue_clear(q), 0);
    model_run(q, 0, 20000);
    model_run(b, 5, 5000);
    /* 20000 steps of garbage were collected */
    mc_heap_stats st;
    W_RC(mc_heap_stats_get(mc_squeue_heap(q), &st), 0);
    W_CHECK(st.collections > 0, "no collection ran");
    /* a thread inside a mutation of the queue's heap is refused: its push
     * would wait for the push lock while a pusher holding it waits for
     * the heap */
    mc_mut *mu;
    if (!W_RC(mc_heap_begin(mc_squeue_heap(q), &mu), 0)) {
        W_RC(push_n(q, 1, 0), MC_ESTATE);
        W_RC(mc_squeue_clear(q), MC_ESTATE);
        W_RC(mc_squeue_close(q), MC_ESTATE);
        W_RC(mc_heap_commit(mu), 0);
    }
    W_CHECK(!mc_squeue_is_closed(q), "closed inside a mutation");
    /* bad arguments */
    rec *c;
    W_RC(mc_squeue_push(q, NULL, 0), MC_EINVAL);
    W_RC(push_n(q, 1, -2), MC_EINVAL);
    W_RC(mc_squeue_pop_c(q, NULL, 0), MC_EINVAL);
    W_RC(mc_squeue_pop_p(q, NULL, NULL, 0), MC_EINVAL);
    W_RC(mc_squeue_top_c(q, NULL), MC_EINVAL);
    W_RC(mc_squeue_iter(q, NULL, NULL), MC_EINVAL);
    W_RC(mc_squeue_push(NULL, &c, 0), MC_EINVAL);
    W_RC(mc_squeue_create(p, NULL, NULL, NULL, 0, &q), MC_EINVAL);
    W_RC(mc_squeue_create(p, &rec_type, &hdr_type, NULL, 0, &q), MC_EINVAL);
    /* destroyed: errors, not a crash */
    W_RC(mc_squeue_destroy(b), 0);
    W_RC(mc_squeue_destroy(b), MC_EINVAL);
    W_RC(push_n(b, 1, 0), MC_EINVAL);
    W_RC(mc_squeue_pop_c(b, (void **)&c, 0), MC_EINVAL);
    W_CHECK(mc_squeue_length(b) == MC_EINVAL, "length after destroy");
    W_CHECK(mc_squeue_header(b) == NULL && mc_squeue_type(b) == NULL,
            "access after destroy");
    W_RC(mc_squeue_destroy(q), 0);
}

static void test_model(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_model, NULL, 0);
    tu_end();
}

/* ------------------------------------------- several processes at once */

#define NPROC 4
#define PER_PROC 20000

/* In the pool (same address everywhere): one bit per element pushed, set
 * by whoever pops it; per-process counts. */
typedef struct shared {
    uint64_t bits[NPROC * PER_PROC / 64 + 1];
    int64_t pushed[NPROC], popped[NPROC];
    int64_t done; /* workers finished */
} shared;

typedef struct conc_arg {
    mc_squeue_descr d;
    shared *sh;
    int id;
} conc_arg;

static void mark(shared *sh, int64_t n)
{
    if (n < 0 || n >= NPROC * PER_PROC) {
        tu_w_fail(__FILE__, __LINE__, "popped a bad element %lld",
                  (long long)n);
        return;
    }
    uint64_t bit = 1ull << (n % 64);
    uint64_t old = __atomic_fetch_or(&sh->bits[n / 64], bit,
                                     __ATOMIC_RELAXED);
    W_CHECK(!(old & bit), "element %lld popped twice", (long long)n);
}

static void drv_conc_worker(const void *arg, size_t len)
{
    conc_arg a;
    W_CHECK(len == sizeof a, "arg");
    memcpy(&a, arg, sizeof a);
    mc_squeue *q;
    if (W_RC(mc_squeue_of_descr(&a.d, &rec_type, NULL, &q), 0))
        return;
    rng = 0x1234567ull * (uint64_t)(a.id + 1);
    /* per producer, a consumer sees increasing numbers (one FIFO) */
    int64_t last[NPROC];
    for (int k = 0; k < NPROC; k++)
        last[k] = -1;
    int64_t i = 0, popped = 0;
    while (i < PER_PROC && !tu_w_failed()) {
        int64_t v = 0;
        if (rnd() % 100 < 55) {
            /* not waiting, or a little: every worker may be pushing */
            int64_t t = rnd() % 2 ? 0 : 2;
            int rc = push_n(q, a.id * PER_PROC + i, t);
            if (rc == 0)
                i++;
            else
                W_CHECK(rc == (t ? MC_ETIMEDOUT : MC_EAGAIN), "push: %s",
                        tu_err(rc));
        } else {
            int rc = (rnd() & 1) ? pop_n(q, &v, 0)
                                 : mc_squeue_pop_p(q, read_n, &v, 0);
            if (rc == MC_EAGAIN)
                continue;
            if (W_RC(rc, 0))
                break;
            mark(a.sh, v);
            int from = (int)(v / PER_PROC);
            if (v >= 0 && from < NPROC) {
                W_CHECK(v > last[from], "out of order from %d: %lld after "
                        "%lld", from, (long long)v, (long long)last[from]);
                last[from] = v;
            }
            popped++;
        }
        if (i % 1000 == 0)
            W_CHECK(mc_squeue_length(q) >= 0 &&
                        mc_squeue_length(q) <= 64,
                    "length %lld above the capacity",
                    (long long)mc_squeue_length(q));
    }
    a.sh->pushed[a.id] = i;
    a.sh->popped[a.id] = popped;
    __atomic_add_fetch(&a.sh->done, 1, __ATOMIC_SEQ_CST);
}

static void drv_conc(const void *arg, size_t len)
{
    (void)arg; (void)len;
    setenv("MC_DEBUG", "1", 1);
    alarm(300);
    mc_pool *p;
    mc_squeue *q;
    shared *sh;
    if (W_RC(mc_pool_create(256 * MiB, &p), 0) ||
        W_RC(mc_pool_alloc(p, sizeof(shared), (void **)&sh), 0) ||
        W_RC(mc_squeue_create(p, &rec_type, NULL, NULL, 64, &q), 0))
        return;
    memset(sh, 0, sizeof *sh);
    conc_arg a = {.sh = sh};
    W_RC(mc_squeue_descr_of(q, &a.d), 0);
    mc_pid w[NPROC];
    int n = 0;
    for (; n < NPROC; n++) {
        a.id = n;
        if (W_RC(tu_start_fn(drv_conc_worker, &a, sizeof a, &w[n]), 0))
            break;
    }
    /* collections beside the workers, from a process that does not push:
     * a push into a cell takes no heap lock, so these run while pushes
     * write cells and slots (MC_DEBUG: each collection is verified, freed
     * memory poisoned, and a popped element must be whole) */
    int64_t gcs = 0;
    while (__atomic_load_n(&sh->done, __ATOMIC_SEQ_CST) < n &&
           !tu_w_failed()) {
        W_RC(mc_heap_gc(mc_squeue_heap(q)), 0);
        gcs++;
    }
    W_CHECK(gcs > 0, "no collection beside the workers");
    for (int k = 0; k < n; k++)
        W_JOIN_OK(tu_driver_jp, w[k], "queue worker");
    int64_t rest = 0, v;
    while (pop_n(q, &v, 0) == 0) {
        mark(sh, v);
        rest++;
    }
    int64_t pushed = 0, popped = rest;
    for (int k = 0; k < NPROC; k++)
        pushed += sh->pushed[k], popped += sh->popped[k];
    W_CHECK(pushed == NPROC * PER_PROC && popped == pushed,
            "pushed %lld, popped %lld", (long long)pushed, (long long)popped);
    for (int64_t k = 0; k < NPROC * PER_PROC; k++)
        if (!(sh->bits[k / 64] & (1ull << (k % 64)))) {
            tu_w_fail(__FILE__, __LINE__, "element %lld lost", (long long)k);
            break;
        }
    W_RC(mc_squeue_destroy(q), 0);
    alarm(0);
}

static void test_concurrent(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_conc, NULL, 0);
    tu_end();
}

/* Threads of one process: each has its own reader slot, callback holds
 * and poll state. */
#define NTHREADS 4
#define PER_THREAD 5000

static struct {
    mc_squeue *q;
    uint64_t bits[NTHREADS * PER_THREAD / 64 + 1];
    int64_t popped;
    int bad;
} th;

static void *thread_body(void *arg)
{
    int id = (int)(intptr_t)arg;
    int64_t i = 0, v;
    uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
    while (i < PER_THREAD || __atomic_load_n(&th.popped, __ATOMIC_RELAXED) <
                                 NTHREADS * PER_THREAD) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int rc;
        if (i < PER_THREAD && x % 2) {
            rc = push_n(th.q, id * PER_THREAD + i, 5);
            if (rc == 0)
                i++;
            else if (rc != MC_ETIMEDOUT)
                th.bad |= 1;
            continue;
        }
        rc = (x & 4) ? pop_n(th.q, &v, 1) : mc_squeue_pop_p(th.q, read_n, &v,
                                                            1);
        if (rc == MC_ETIMEDOUT)
            continue;
        if (rc || v < 0 || v >= NTHREADS * PER_THREAD) {
            th.bad |= 2;
            break;
        }
        uint64_t bit = 1ull << (v % 64);
        if (__atomic_fetch_or(&th.bits[v / 64], bit, __ATOMIC_RELAXED) & bit)
            th.bad |= 4;
        __atomic_add_fetch(&th.popped, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void drv_threads(const void *arg, size_t len)
{
    (void)arg; (void)len;
    alarm(120);
    mc_pool *p;
    if (W_RC(mc_pool_create(64 * MiB, &p), 0) ||
        W_RC(mc_squeue_create(p, &rec_type, NULL, NULL, 16, &th.q), 0))
        return;
    pthread_t t[NTHREADS];
    int n = 0;
    for (; n < NTHREADS; n++)
        if (pthread_create(&t[n], NULL, thread_body, (void *)(intptr_t)n))
            break;
    W_CHECK(n == NTHREADS, "started %d threads", n);
    for (int k = 0; k < n; k++)
        pthread_join(t[k], NULL);
    W_CHECK(th.bad == 0, "thread failures: %d", th.bad);
    W_CHECK(th.popped == NTHREADS * PER_THREAD && mc_squeue_length(th.q) == 0,
            "popped %lld", (long long)th.popped);
    W_RC(mc_squeue_destroy(th.q), 0);
    alarm(0);
}

static void test_threads(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_threads, NULL, 0);
    tu_end();
}

/* ------------------------------------------------- blocking and close */

typedef struct blk_arg {
    mc_squeue_descr d;
    int what;
    int64_t *out;  /* in the pool */
} blk_arg;

enum { B_POP_LATE, B_PUSH_LATE, B_POP_TILL_CLOSED, B_PUSH_TILL_CLOSED };

static void drv_blk_worker(const void *arg, size_t len)
{
    blk_arg a;
    W_CHECK(len == sizeof a, "arg");
    memcpy(&a, arg, sizeof a);
    mc_squeue *q;
    if (W_RC(mc_squeue_of_descr(&a.d, &rec_type, NULL, &q), 0))
        return;
    int64_t v = 0;
    switch (a.what) {
    case B_POP_LATE: /* says when it pops: the push must end after */
        tu_sleep_ms(300);
        __atomic_store_n(a.out, tu_now_ms(), __ATOMIC_SEQ_CST);
        W_RC(pop_n(q, &v, 0), 0);
        break;
    case B_PUSH_LATE:
        tu_sleep_ms(300);
        __atomic_store_n(a.out, tu_now_ms(), __ATOMIC_SEQ_CST);
        W_RC(push_n(q, 77, 0), 0);
        break;
    case B_POP_TILL_CLOSED: {
        int64_t got = 0;
        int rc;
        while ((rc = pop_n(q, &v, MC_SQUEUE_FOREVER)) == 0)
            got++;
        W_CHECK(rc == MC_ECLOSED, "blocked pop ended with %s",
                tu_code_name(rc));
        __atomic_add_fetch(a.out, got, __ATOMIC_SEQ_CST);
        break;
    }
    case B_PUSH_TILL_CLOSED:
        __atomic_add_fetch(a.out, 1000, __ATOMIC_SEQ_CST);
        W_RC(push_n(q, 5, MC_SQUEUE_FOREVER), MC_ECLOSED);
        break;
    }
}

static int start_blk(blk_arg *a, int what, mc_pid *pid)
{
    a->what = what;
    return W_RC(tu_start_fn(drv_blk_worker, a, sizeof *a, pid), 0);
}

static void drv_blocking(const void *arg, size_t len)
{
    (void)arg; (void)len;
    alarm(120);
    mc_pool *p;
    mc_squeue *q;
    int64_t *out;
    if (W_RC(mc_pool_create(64 * MiB, &p), 0) ||
        W_RC(mc_pool_alloc(p, 64, (void **)&out), 0) ||
        W_RC(mc_squeue_create(p, &rec_type, NULL, NULL, 2, &q), 0))
        return;
    *out = 0;
    blk_arg a = {.out = out};
    W_RC(mc_squeue_descr_of(q, &a.d), 0);
    int64_t v, t0;
    /* empty: at once, or after the timeout */
    W_RC(pop_n(q, &v, 0), MC_EAGAIN);
    t0 = tu_now_ms();
    W_RC(pop_n(q, &v, 150), MC_ETIMEDOUT);
    W_CHECK(tu_now_ms() - t0 >= 140, "pop waited %lld ms",
            (long long)(tu_now_ms() - t0));
    W_RC(mc_squeue_pop_p(q, read_n, &v, 50), MC_ETIMEDOUT);
    W_RC(mc_squeue_top_c(q, (void **)&v), MC_EAGAIN);
    /* full: at once, or after the timeout */
    W_RC(push_n(q, 1, 0), 0);
    W_RC(push_n(q, 2, 0), 0);
    W_RC(push_n(q, 3, 0), MC_EAGAIN);
    t0 = tu_now_ms();
    W_RC(push_n(q, 3, 150), MC_ETIMEDOUT);
    W_CHECK(tu_now_ms() - t0 >= 140, "push waited %lld ms",
            (long long)(tu_now_ms() - t0));
    W_CHECK(mc_squeue_length(q) == 2, "length");
    /* a blocked push proceeds when a worker pops.  The worker stamps the
     * time of its pop (CLOCK_MONOTONIC is one clock for all processes):
     * the push ended after it, however late the host starts the worker */
    mc_pid w, ws[4];
    int64_t t1;
    *out = 0;
    if (start_blk(&a, B_POP_LATE, &w))
        return;
    W_RC(push_n(q, 3, 5000), 0);
    t1 = tu_now_ms();
    W_CHECK(*out > 0 && t1 >= *out, "push ended at %lld ms, the pop at %lld",
            (long long)t1, (long long)*out);
    W_JOIN_OK(tu_driver_jp, w, "late popper");
    W_RC(pop_n(q, &v, 0), 0);
    W_CHECK(v == 2, "FIFO after a blocked push: %lld", (long long)v);
    W_RC(pop_n(q, &v, 0), 0);
    W_CHECK(v == 3, "the blocked push's element: %lld", (long long)v);
    /* a blocked pop gets a worker's push */
    *out = 0;
    if (start_blk(&a, B_PUSH_LATE, &w))
        return;
    W_RC(pop_n(q, &v, MC_SQUEUE_FOREVER), 0);
    t1 = tu_now_ms();
    W_CHECK(v == 77 && *out > 0 && t1 >= *out, "blocked pop got %lld at "
            "%lld ms, the push at %lld", (long long)v, (long long)t1,
            (long long)*out);
    W_JOIN_OK(tu_driver_jp, w, "late pusher");

    /* close: three consumers wait; 7 elements go through a queue of 2,
     * then close: they drain it and all see the end */
    *out = 0;
    for (int k = 0; k < 3; k++)
        if (start_blk(&a, B_POP_TILL_CLOSED, &ws[k]))
            return;
    tu_sleep_ms(100);
    for (int k = 0; k < 7; k++)
        W_RC(push_n(q, 100 + k, 5000), 0);
    W_RC(mc_squeue_close(q), 0);
    W_RC(mc_squeue_close(q), 0);
    W_CHECK(mc_squeue_is_closed(q) == 1, "closed");
    W_RC(push_n(q, 1, 0), MC_ECLOSED);
    for (int k = 0; k < 3; k++)
        W_JOIN_OK(tu_driver_jp, ws[k], "consumer till closed");
    W_CHECK(*out == 7, "consumers got %lld of 7", (long long)*out);
    W_RC(pop_n(q, &v, 0), MC_ECLOSED);
    W_RC(pop_n(q, &v, MC_SQUEUE_FOREVER), MC_ECLOSED);
    W_RC(mc_squeue_top_p(q, read_n, &v), MC_ECLOSED);
    W_RC(mc_squeue_destroy(q), 0);

    /* close wakes a producer waiting for room; what was queued drains */
    if (W_RC(mc_squeue_create(p, &rec_type, NULL, NULL, 1, &q), 0) ||
        W_RC(mc_squeue_descr_of(q, &a.d), 0))
        return;
    W_RC(push_n(q, 9, 0), 0);
    *out = 0;
    if (start_blk(&a, B_PUSH_TILL_CLOSED, &w))
        return;
    while (__atomic_load_n(out, __ATOMIC_SEQ_CST) == 0)
        tu_sleep_ms(5);
    tu_sleep_ms(100);
    W_RC(mc_squeue_close(q), 0);
    W_JOIN_OK(tu_driver_jp, w, "producer till closed");
    W_RC(pop_n(q, &v, 0), 0);
    W_CHECK(v == 9, "drained after close: %lld", (long long)v);
    W_RC(pop_n(q, &v, 100), MC_ECLOSED);
    W_RC(mc_squeue_destroy(q), 0);
    alarm(0);
}

static void test_blocking(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_blocking, NULL, 0);
    tu_end();
}

/* ----------------------------------------------- pins inside callbacks */

struct cb_ctx {
    mc_squeue *q;
    int bad;
};

/* Holding the popped element: pop more (the head moves past it), then
 * push enough to collect; the element must survive. */
static int churn(const void *e, void *ctx)
{
    struct cb_ctx *c = ctx;
    const rec *r = e;
    int64_t v = 0;
    for (int i = 0; i < 20; i++)
        if (pop_n(c->q, &v, 0))
            c->bad |= 1;
    mc_heap_stats st0, st1;
    mc_heap_stats_get(mc_squeue_heap(c->q), &st0);
    for (int i = 0; i < 8000; i++) {
        if (push_n(c->q, 1000 + i, 0))
            c->bad |= 2;
        if (pop_n(c->q, &v, 0))
            c->bad |= 4;
    }
    mc_heap_stats_get(mc_squeue_heap(c->q), &st1);
    if (st1.collections == st0.collections)
        c->bad |= 16; /* the test needs a collection here */
    if (rec_bad(r))
        c->bad |= 8;
    return 0;
}

static void drv_callback_push(const void *arg, size_t len)
{
    (void)arg; (void)len;
    setenv("MC_DEBUG", "1", 1); /* freed memory is poisoned */
    mc_pool *p;
    mc_squeue *q;
    if (W_RC(mc_pool_create(256 * MiB, &p), 0) ||
        W_RC(mc_squeue_create(p, &rec_type, NULL, NULL, 0, &q), 0))
        return;
    for (int i = 0; i < 200; i++)
        W_RC(push_n(q, i, 0), 0);
    struct cb_ctx c = {q, 0};
    W_RC(mc_squeue_pop_p(q, churn, &c, 0), 0);
    W_CHECK(c.bad == 0, "pop_p callback: %d", c.bad);
    c.bad = 0;
    W_RC(mc_squeue_top_p(q, churn, &c), 0);
    W_CHECK(c.bad == 0, "top_p callback: %d", c.bad);
    mc_heap_stats st;
    W_RC(mc_heap_stats_get(mc_squeue_heap(q), &st), 0);
    W_CHECK(st.collections >= 2, "collections inside: %llu",
            (unsigned long long)st.collections);
    W_RC(mc_squeue_destroy(q), 0);
}

static void test_callback_push(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_callback_push, NULL, 0);
    tu_end();
}

/* ------------------------------- a callback that waits for the push lock */

/* Big elements: a block (and a chunk) of their own, so that a few pushes
 * collect. */
#define BIG_LEN (64 * 1024)

static int push_big(mc_squeue *q, int64_t n)
{
    static char buf[BIG_LEN];
    memset(buf, 'b', BIG_LEN - 1);
    rec r = {n, buf};
    return mc_squeue_push(q, &r, 0);
}

struct wait_cb {
    mc_squeue *q;
    hdr *h;
    int bad;
};

/* Inside an iteration (its reader slot shows an old epoch): says so, then
 * pushes until the driver says stop.  A push waits for the push lock,
 * which the driver holds while its push collects. */
static int push_in_iter(const void *e, void *ctx)
{
    struct wait_cb *c = ctx;
    __atomic_store_n(&c->h->stage, 1, __ATOMIC_RELEASE);
    for (int64_t i = 0;
         __atomic_load_n(&c->h->stage, __ATOMIC_ACQUIRE) != 2; i++) {
        if (push_n(c->q, 100 + i % 50, 0))
            c->bad |= 1;
        usleep(200);
    }
    if (rec_bad(e))
        c->bad |= 2;
    return 1; /* the first element only */
}

static void drv_iter_pusher(const void *arg, size_t len)
{
    alarm(60); /* it pushes until the driver says stop: bounded */
    mc_squeue_descr d;
    W_CHECK(len == sizeof d, "arg");
    memcpy(&d, arg, sizeof d);
    mc_squeue *q;
    if (W_RC(mc_squeue_of_descr(&d, &rec_type, &hdr_type, &q), 0))
        return;
    struct wait_cb c = {q, mc_squeue_header(q), 0};
    W_RC(mc_squeue_iter(q, push_in_iter, &c), 1);
    W_CHECK(c.bad == 0, "iter callback: %d", c.bad);
}

/* The collector of a push (under the push lock and the heap's) waits for
 * the readers that started before it, here a callback that waits for the
 * push lock: it must skip its sweep instead of waiting for ever. */
static void drv_callback_waits(const void *arg, size_t len)
{
    (void)arg; (void)len;
    alarm(60); /* a collector waiting for the callback fails the test */
    setenv("MC_DEBUG", "1", 1);
    mc_pool *p;
    mc_squeue *q;
    mc_squeue_descr d;
    hdr h0 = {0, 0};
    if (W_RC(mc_pool_create(256 * MiB, &p), 0) ||
        W_RC(mc_squeue_create(p, &rec_type, &hdr_type, &h0, 0, &q), 0) ||
        W_RC(mc_squeue_descr_of(q, &d), 0))
        return;
    hdr *h = mc_squeue_header(q);
    W_RC(push_n(q, 1, 0), 0);
    mc_pid w;
    if (W_RC(tu_start_fn(drv_iter_pusher, &d, sizeof d, &w), 0))
        return;
    while (__atomic_load_n(&h->stage, __ATOMIC_ACQUIRE) != 1)
        usleep(100);
    /* the worker is inside its callback: push big garbage until a push
     * collects (it skips, as the worker waits for the push lock) */
    mc_heap *hp = mc_squeue_heap(q);
    mc_heap_stats st;
    int64_t v = 0;
    int i;
    for (i = 0; i < 1000; i++) {
        W_RC(push_big(q, -1), 0);
        W_RC(mc_heap_stats_get(hp, &st), 0);
        if (st.skipped)
            break;
    }
    W_CHECK(st.skipped == 1, "skipped %llu", (unsigned long long)st.skipped);
    __atomic_store_n(&h->stage, 2, __ATOMIC_RELEASE);
    W_JOIN_OK(tu_driver_jp, w, "iter pusher");
    /* everything pushed is intact; then the garbage goes */
    W_RC(mc_heap_gc(hp), 0);
    int64_t n = 0, big = 0, bad = 0;
    rec *c;
    while (mc_squeue_pop_c(q, (void **)&c, 0) == 0) {
        if (c->n == -1)
            big++, bad += strlen(c->s) != BIG_LEN - 1;
        else
            bad += rec_bad(c);
        n++;
        mc_local_free(c);
    }
    W_CHECK(bad == 0 && big >= 1 && n > big, "popped %lld (%lld big), %lld "
            "bad", (long long)n, (long long)big, (long long)bad);
    /* popped elements stay in their segment until the head leaves it:
     * move it on, then nothing big may be left */
    for (int k = 0; k < 3 * 64; k++) {
        W_RC(push_n(q, k, 0), 0);
        W_RC(pop_n(q, &v, 0), 0);
        if (v != k)
            bad++;
    }
    W_RC(mc_heap_gc(hp), 0);
    W_RC(mc_heap_stats_get(hp, &st), 0);
    W_CHECK(bad == 0 && st.live_bytes < BIG_LEN, "live %zu after the drain",
            st.live_bytes);
    alarm(0);
    W_RC(mc_squeue_destroy(q), 0);
}

static void test_callback_waits(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_callback_waits, NULL, 0);
    tu_end();
}

/* ------------------------------------------------------------ kill -9 */

typedef struct kill_arg {
    mc_squeue_descr d;
    int it;
} kill_arg;

static void drv_kill_victim(const void *arg, size_t len)
{
    kill_arg a;
    memcpy(&a, arg, len < sizeof a ? len : sizeof a);
    mc_squeue *q;
    if (W_RC(mc_squeue_of_descr(&a.d, &rec_type, &hdr_type, &q), 0))
        return;
    hdr *h = mc_squeue_header(q);
    __atomic_store_n(&h->pid, (int64_t)getpid(), __ATOMIC_RELEASE);
    int64_t n = (int64_t)a.it * 1000000;
    for (;;) { /* until killed */
        int64_t v = 0;
        int rc = push_n(q, n++, 0);
        if (rc && rc != MC_EOWNERDEAD) {
            W_RC(rc, 0);
            return;
        }
        rc = (n & 1) ? pop_n(q, &v, 0) : mc_squeue_pop_p(q, read_n, &v, 0);
        if (rc && rc != MC_EOWNERDEAD && rc != MC_EAGAIN) {
            W_RC(rc, 0);
            return;
        }
    }
}

#define KILLS 200

static int count_fn(const void *e, void *ctx)
{
    int64_t *c = ctx;
    if (rec_bad(e))
        c[1]++;
    c[0]++;
    return 0;
}

static void drv_kill_loop(const void *arg, size_t len)
{
    (void)arg; (void)len;
    setenv("MC_DEBUG", "1", 1);
    alarm(400);
    mc_pool *p;
    mc_squeue *q;
    hdr h0 = {0, 0};
    if (W_RC(mc_pool_create(256 * MiB, &p), 0) ||
        W_RC(mc_squeue_create(p, &rec_type, &hdr_type, &h0, 0, &q), 0))
        return;
    hdr *h = mc_squeue_header(q);
    for (int i = 0; i < 50; i++)
        W_RC(push_n(q, -1000 - i, 0), 0);
    int told = 0;
    kill_arg a;
    W_RC(mc_squeue_descr_of(q, &a.d), 0);
    for (int it = 0; it < KILLS && !tu_w_failed(); it++) {
        a.it = it + 1;
        mc_pid pid;
        __atomic_store_n(&h->pid, 0, __ATOMIC_RELEASE);
        if (W_RC(tu_start_fn(drv_kill_victim, &a, sizeof a, &pid), 0))
            break;
        int64_t ospid;
        while ((ospid = __atomic_load_n(&h->pid, __ATOMIC_ACQUIRE)) == 0)
            usleep(50);
        usleep(rnd() % 3000);
        kill((pid_t)ospid, SIGKILL);
        mc_join_result r = {0};
        W_RC(mc_join(tu_driver_jp, pid, &r), 0);
        W_CHECK(r.kind == MC_EXIT_SIGNAL && r.code == SIGKILL,
                "victim %d: %s", it, tu_kind_str(&r));
        mc_join_result_free(&r);
        /* valid before any repair: the walk and the length agree, and
         * every element is whole */
        int64_t c[2] = {0, 0};
        W_RC(mc_squeue_iter(q, count_fn, c), 0);
        int64_t l = mc_squeue_length(q);
        W_CHECK(c[1] == 0, "kill %d: %lld torn elements", it,
                (long long)c[1]);
        /* killed between a commit and its counter: one off either way */
        W_CHECK(c[0] >= l - 1 && c[0] <= l + 1, "kill %d: walk %lld, "
                "length %lld", it, (long long)c[0], (long long)l);
        W_CHECK(l >= 48 && l <= 52, "kill %d: length %lld", it, (long long)l);
        /* usable: a push and a pop, each after at most one repair */
        int rc = push_n(q, 5, 0);
        if (rc == MC_EOWNERDEAD)
            told++, rc = push_n(q, 5, 0);
        W_RC(rc, 0);
        int64_t v = 0;
        rc = pop_n(q, &v, 0);
        if (rc == MC_EOWNERDEAD)
            told++, rc = pop_n(q, &v, 0);
        W_RC(rc, 0);
        W_CHECK(v != -1, "kill %d: popped a torn element", it);
        c[0] = c[1] = 0;
        W_RC(mc_squeue_iter(q, count_fn, c), 0);
        W_CHECK(c[0] == mc_squeue_length(q), "kill %d: after repair walk "
                "%lld, length %lld", it, (long long)c[0],
                (long long)mc_squeue_length(q));
        /* keep the length near 50 */
        while (mc_squeue_length(q) > 50)
            W_RC(pop_n(q, &v, 0), 0);
        while (mc_squeue_length(q) < 50)
            W_RC(push_n(q, 6, 0), 0);
        if (it % 8 == 0)
            W_RC(mc_heap_gc(mc_squeue_heap(q)), 0);
    }
    if (getenv("MC_TEST_VERBOSE"))
        fprintf(stderr, "squeue kill loop: %d kills, %d repairs reported\n",
                KILLS, told);
    W_CHECK(told > KILLS / 20, "only %d of %d kills were reported", told,
            KILLS);
    W_RC(mc_squeue_destroy(q), 0);
    alarm(0);
}

static void test_kill_loop(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_kill_loop, NULL, 0);
    tu_end();
}

/* Waiters killed while they wait (a consumer on an empty queue, a
 * producer on a full one) leave waiter counts too high: the queue still
 * works, and a new waiter is still woken. */
enum { W_POP, W_PUSH };

typedef struct waiter_arg {
    mc_squeue_descr d;
    int what;
} waiter_arg;

static void drv_waiter(const void *arg, size_t len)
{
    waiter_arg a;
    memcpy(&a, arg, len < sizeof a ? len : sizeof a);
    mc_squeue *q;
    if (W_RC(mc_squeue_of_descr(&a.d, &rec_type, &hdr_type, &q), 0))
        return;
    hdr *h = mc_squeue_header(q);
    __atomic_store_n(&h->pid, (int64_t)getpid(), __ATOMIC_RELEASE);
    int64_t v = 0;
    if (a.what == W_POP) {
        W_RC(pop_n(q, &v, MC_SQUEUE_FOREVER), 0);
        W_CHECK(v == 31, "woken with %lld", (long long)v);
    } else {
        W_RC(push_n(q, 32, MC_SQUEUE_FOREVER), 0);
    }
}

static int start_waiter(mc_squeue_descr *d, int what, mc_pid *pid,
                        int64_t *ospid)
{
    hdr *h = NULL;
    waiter_arg a = {*d, what};
    mc_squeue *q;
    if (W_RC(mc_squeue_of_descr(d, &rec_type, &hdr_type, &q), 0))
        return -1;
    h = mc_squeue_header(q);
    __atomic_store_n(&h->pid, 0, __ATOMIC_RELEASE);
    if (W_RC(tu_start_fn(drv_waiter, &a, sizeof a, pid), 0))
        return -1;
    while ((*ospid = __atomic_load_n(&h->pid, __ATOMIC_ACQUIRE)) == 0)
        usleep(50);
    tu_sleep_ms(100); /* past its poll: asleep in the wait */
    return 0;
}

static void drv_kill_waiters(const void *arg, size_t len)
{
    (void)arg; (void)len;
    alarm(120);
    mc_pool *p;
    mc_squeue *q;
    mc_squeue_descr d;
    hdr h0 = {0, 0};
    if (W_RC(mc_pool_create(64 * MiB, &p), 0) ||
        W_RC(mc_squeue_create(p, &rec_type, &hdr_type, &h0, 1, &q), 0) ||
        W_RC(mc_squeue_descr_of(q, &d), 0))
        return;
    for (int round = 0; round < 5 && !tu_w_failed(); round++) {
        mc_pid pid;
        int64_t ospid;
        mc_join_result r = {0};
        /* a consumer killed in its wait */
        if (start_waiter(&d, W_POP, &pid, &ospid))
            return;
        kill((pid_t)ospid, SIGKILL);
        W_RC(mc_join(tu_driver_jp, pid, &r), 0);
        W_CHECK(r.kind == MC_EXIT_SIGNAL, "consumer: %s", tu_kind_str(&r));
        mc_join_result_free(&r);
        /* a producer killed in its wait (the queue holds 1 of 1) */
        W_RC(push_n(q, 30, 0), 0);
        if (start_waiter(&d, W_PUSH, &pid, &ospid))
            return;
        kill((pid_t)ospid, SIGKILL);
        W_RC(mc_join(tu_driver_jp, pid, &r), 0);
        W_CHECK(r.kind == MC_EXIT_SIGNAL, "producer: %s", tu_kind_str(&r));
        mc_join_result_free(&r);
        int64_t v = 0;
        W_RC(pop_n(q, &v, 0), 0);
        W_CHECK(v == 30 && mc_squeue_length(q) == 0, "after the kills");
        /* live waiters are still woken */
        if (start_waiter(&d, W_POP, &pid, &ospid))
            return;
        W_RC(push_n(q, 31, 1000), 0);
        W_JOIN_OK(tu_driver_jp, pid, "woken consumer");
        W_RC(push_n(q, 30, 0), 0);
        if (start_waiter(&d, W_PUSH, &pid, &ospid))
            return;
        W_RC(pop_n(q, &v, 1000), 0);
        W_JOIN_OK(tu_driver_jp, pid, "woken producer");
        W_RC(pop_n(q, &v, 1000), 0);
        W_CHECK(v == 32, "the woken producer's element: %lld", (long long)v);
    }
    W_RC(mc_squeue_destroy(q), 0);
    alarm(0);
}

static void test_kill_waiters(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_kill_waiters, NULL, 0);
    tu_end();
}

/* Crash points (squeue.c's fault injection): the victim kills itself at
 * each window of the crash-consistency argument in turn; the queue must
 * then report the death, lose no element pushed or popped by a live
 * process, and go on. */
extern int mc__squeue_crash_at; /* runtime/src/data/squeue.c */
#define N_CRASH_POINTS 10

static void drv_point_victim(const void *arg, size_t len)
{
    kill_arg a;
    memcpy(&a, arg, len < sizeof a ? len : sizeof a);
    mc_squeue *q;
    if (W_RC(mc_squeue_of_descr(&a.d, &rec_type, &hdr_type, &q), 0))
        return;
    mc__squeue_crash_at = a.it;
    int64_t v = 0;
    /* pushes and pops cross a segment boundary every 64; a clear now and
     * then: every point comes within a few hundred steps */
    for (int64_t n = 1; n < 100000; n++) {
        int rc = push_n(q, 1000000 * a.it + n, 0);
        if (rc && rc != MC_EOWNERDEAD)
            W_RC(rc, 0);
        rc = pop_n(q, &v, 0);
        if (rc && rc != MC_EOWNERDEAD && rc != MC_EAGAIN)
            W_RC(rc, 0);
        if (n % 150 == 0)
            W_RC(mc_squeue_clear(q), 0);
        if (n % 150 == 0)
            for (int k = 0; k < 40; k++)
                push_n(q, -(1000000 * a.it + n * 100 + k), 0);
    }
    W_CHECK(0, "crash point %d never reached", a.it);
}

/* f(q) until it says something else than MC_EOWNERDEAD; counts those */
#define RETRY(call, told)                                                   \
    ({                                                                      \
        int rc_;                                                            \
        while ((rc_ = (call)) == MC_EOWNERDEAD)                             \
            (told)++;                                                       \
        rc_;                                                                \
    })

static void drv_crash_points(const void *arg, size_t len)
{
    (void)arg; (void)len;
    setenv("MC_DEBUG", "1", 1);
    alarm(300);
    mc_pool *p;
    mc_squeue *q;
    hdr h0 = {0, 0};
    if (W_RC(mc_pool_create(256 * MiB, &p), 0) ||
        W_RC(mc_squeue_create(p, &rec_type, &hdr_type, &h0, 0, &q), 0))
        return;
    kill_arg a;
    W_RC(mc_squeue_descr_of(q, &a.d), 0);
    for (int rep = 0; rep < 3; rep++)
        for (int pt = 1; pt <= N_CRASH_POINTS && !tu_w_failed(); pt++) {
            int earlier = 0; /* deaths told now were reported already */
            for (int i = 0; i < 20 + rep * 7; i++)
                W_RC(RETRY(push_n(q, -1000 - i, 0), earlier), 0);
            a.it = pt;
            mc_pid pid;
            if (W_RC(tu_start_fn(drv_point_victim, &a, sizeof a, &pid), 0))
                return;
            mc_join_result r = {0};
            W_RC(mc_join(tu_driver_jp, pid, &r), 0);
            W_CHECK(r.kind == MC_EXIT_SIGNAL && r.code == SIGKILL,
                    "point %d: the victim %s", pt, tu_kind_str(&r));
            mc_join_result_free(&r);
            /* drain (the pop side is told), then a sentinel through (the
             * push side is told): nothing a live process pushes is lost */
            int told = 0, rc;
            int64_t v = 0, n = 0;
            while ((rc = RETRY(pop_n(q, &v, 0), told)) == 0) {
                W_CHECK(v != -1, "point %d: a torn element", pt);
                n++;
            }
            W_RC(rc, MC_EAGAIN);
            W_CHECK(mc_squeue_length(q) == 0, "point %d: length %lld after "
                    "draining", pt, (long long)mc_squeue_length(q));
            W_RC(RETRY(push_n(q, 777, 0), told), 0);
            W_RC(RETRY(pop_n(q, &v, 0), told), 0);
            W_CHECK(v == 777, "point %d: popped %lld, not the sentinel", pt,
                    (long long)v);
            W_RC(pop_n(q, &v, 0), MC_EAGAIN);
            W_CHECK(told >= 1, "point %d: the death was not reported", pt);
            W_RC(mc_heap_gc(mc_squeue_heap(q)), 0); /* verified (MC_DEBUG) */
        }
    W_RC(mc_squeue_destroy(q), 0);
    alarm(0);
}

static void test_crash_points(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_crash_points, NULL, 0);
    tu_end();
}

/* --------------------------------------- descriptors, types, staleness */

static void drv_descr_user(const void *arg, size_t len)
{
    mc_squeue_descr d;
    W_CHECK(len == sizeof d, "arg");
    memcpy(&d, arg, sizeof d);
    mc_squeue *q;
    W_RC(mc_squeue_of_descr(&d, &other_type, &hdr_type, &q), MC_ETYPE);
    W_RC(mc_squeue_of_descr(&d, &rec_type, NULL, &q), MC_ETYPE);
    W_RC(mc_squeue_of_descr(&d, &rec_type, &other_type, &q), MC_ETYPE);
    mc_squeue_descr bad = d;
    bad.gen++;
    W_RC(mc_squeue_of_descr(&bad, &rec_type, &hdr_type, &q), MC_EINVAL);
    bad = d;
    bad.magic = 1;
    W_RC(mc_squeue_of_descr(&bad, &rec_type, &hdr_type, &q), MC_EINVAL);
    bad = d;
    bad.offset += 4096;
    W_RC(mc_squeue_of_descr(&bad, &rec_type, &hdr_type, &q), MC_EINVAL);
    if (W_RC(mc_squeue_of_descr(&d, &rec_type, &hdr_type, &q), 0))
        return;
    hdr *h = mc_squeue_header(q);
    W_CHECK(h && h->stage == 3, "the creator's header");
    int64_t v = 0;
    W_RC(pop_n(q, &v, 1000), 0);
    W_CHECK(v == 11, "the creator's element: %lld", (long long)v);
    W_RC(push_n(q, 12, 0), 0);
}

static void drv_descr(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_squeue *q;
    mc_squeue_descr d;
    hdr h0 = {0, 3};
    if (W_RC(mc_pool_create(16 * MiB, &p), 0) ||
        W_RC(mc_squeue_create(p, &rec_type, &hdr_type, &h0, 0, &q), 0) ||
        W_RC(mc_squeue_descr_of(q, &d), 0))
        return;
    W_CHECK(d.type_id == rec_type.id && d.header_id == hdr_type.id, "ids");
    W_RC(push_n(q, 11, 0), 0);
    mc_pid w;
    /* inheriting nothing: the worker maps the pool through the master */
    if (!W_RC(tu_start_fn_ex(drv_descr_user, &d, sizeof d, NULL, 0, &w), 0))
        W_JOIN_OK(tu_driver_jp, w, "descriptor user");
    int64_t v = 0;
    W_RC(pop_n(q, &v, 0), 0);
    W_CHECK(v == 12, "the worker's element: %lld", (long long)v);
    /* an sref's descriptor is not a queue's; a heap's root is not one */
    mc_heap_descr hd;
    W_RC(mc_heap_descr_of(mc_squeue_heap(q), &hd), 0);
    W_RC(mc_squeue_of_descr((mc_squeue_descr *)&hd, &rec_type, &hdr_type,
                            &q),
         MC_EINVAL);
    mc_heap *hh;
    W_RC(mc_heap_create(p, &hdr_type, &h0, &hh), 0);
    mc_squeue *notq = (mc_squeue *)hh;
    W_RC(push_n(notq, 1, 0), MC_EINVAL);
    W_CHECK(mc_squeue_length(notq) == MC_EINVAL, "a heap is not a queue");
    W_RC(mc_heap_destroy(hh), 0);
    /* stale */
    W_RC(mc_squeue_destroy(q), 0);
    W_RC(mc_squeue_of_descr(&d, &rec_type, &hdr_type, &q), MC_EINVAL);
}

static void test_descr(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_descr, NULL, 0);
    tu_end();
}

/* ------------------------------------------------------ pool exhaustion */

static void drv_full(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_squeue *q;
    if (W_RC(mc_pool_create(4 * MiB, &p), 0) ||
        W_RC(mc_squeue_create(p, &rec_type, NULL, NULL, 0, &q), 0))
        return;
    /* elements with strings of 4 KiB: a number, then padding */
    static char big[4096];
    memset(big, 'z', sizeof big - 1);
    int64_t n = 0;
    int rc;
    for (;;) {
        int l = snprintf(big, 32, "value-%lld", (long long)n);
        big[l] = 'z';
        rec r = {n, big};
        if ((rc = mc_squeue_push(q, &r, 0)))
            break;
        n++;
    }
    W_RC(rc, MC_ENOMEM);
    W_CHECK(n > 100, "only %lld pushed before the pool was full",
            (long long)n);
    W_CHECK(mc_squeue_length(q) == n, "length %lld after ENOMEM, pushed "
            "%lld", (long long)mc_squeue_length(q), (long long)n);
    /* every element is there, in order; then the queue is usable again */
    for (int64_t k = 0; k < n; k++) {
        rec *c;
        if (W_RC(mc_squeue_pop_c(q, (void **)&c, 0), 0))
            break;
        W_CHECK(c->n == k && strncmp(c->s, "value-", 6) == 0 &&
                    strlen(c->s) == 4095,
                "element %lld", (long long)k);
        mc_local_free(c);
    }
    for (int k = 0; k < 100; k++)
        W_RC(push_n(q, k, 0), 0);
    W_CHECK(mc_squeue_length(q) == 100, "usable after ENOMEM");
    W_RC(mc_squeue_destroy(q), 0);
}

static void test_full(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_full, NULL, 0);
    tu_end();
}

static int group_setup(void **state)
{
    (void)state;
    tu_def_driver();
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_blocking),
        cmocka_unit_test(test_callback_push),
        cmocka_unit_test(test_callback_waits),
        cmocka_unit_test(test_kill_loop),
        cmocka_unit_test(test_kill_waiters),
        cmocka_unit_test(test_crash_points),
        cmocka_unit_test(test_descr),
        cmocka_unit_test(test_full),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
