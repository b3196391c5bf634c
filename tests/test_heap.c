/* tests/test_heap.c: shared heaps and their collector.
 *
 * Each test runs a session whose first worker is a driver (testutil.h); the
 * driver creates a pool and a heap and checks with W_CHECK / W_RC.  Tests
 * that need the collector's self-check set MC_DEBUG=1 before creating the
 * heap (the heap remembers it): freed memory is poisoned and every
 * collection verifies every header and traced pointer, aborting on
 * corruption, which fails the test through the driver's signal.
 *
 * The property test keeps a process-local model (a malloc()ed graph of the
 * same types) and applies every random mutation to both; after each
 * collection the heap's graph must equal the model, sharing included, and
 * after an explicit collection live_bytes must be exactly the size of the
 * model's allocations.
 */
#include "testutil.h"
#include "types_fixture.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mcore/heap.h"
#include "mcore/pool.h"
#include "mcore/sref.h"
#include "mem/heap_internal.h" /* mc__heap_block_bytes: the size model */

#define MiB ((size_t)1 << 20)

static size_t block_bytes(const mc_type *t, size_t count)
{
    return mc__heap_block_bytes(t, count);
}

/* Bytes the heap should count as live for the graph rooted at root. */
static size_t graph_bytes(const fx_Root *root)
{
    size_t total = 0;
    fx_count_allocs(&fx_Root_type, root, block_bytes, &total);
    return total;
}

static uint64_t rng_state;
static uint32_t rnd(void)
{
    /* xorshift64*: reproducible from the seed printed on failure */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

/* A pool and an empty fx_Root heap in it (driver side). */
static int make_heap(size_t pool_size, mc_pool **pool, mc_heap **heap)
{
    if (W_RC(mc_pool_create(pool_size, pool), 0))
        return -1;
    fx_Root init = {.counter = 0};
    if (W_RC(mc_heap_create(*pool, &fx_Root_type, &init, heap), 0)) {
        mc_pool_release(*pool);
        return -1;
    }
    return 0;
}

static void drop_heap(mc_pool *pool, mc_heap *heap)
{
    W_RC(mc_heap_destroy(heap), 0);
    W_RC(mc_pool_release(pool), 0);
}

/* ------------------------------------------------------------- basics */

static int read_counter(const void *root, void *ctx)
{
    *(int64_t *)ctx = ((const fx_Root *)root)->counter;
    return 0;
}

static int bump_fn(mc_mut *mut, void *root, void *ctx)
{
    (void)mut;
    ((fx_Root *)root)->counter += *(int64_t *)ctx;
    return 7;
}

static void drv_basics(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *pool;
    mc_heap *heap;
    if (make_heap(64 * MiB, &pool, &heap))
        return;
    W_CHECK(mc_heap_pool(heap) == pool, "mc_heap_pool");
    W_CHECK(mc_heap_root_type(heap) == &fx_Root_type, "mc_heap_root_type");

    mc_mut *mut;
    W_RC(mc_heap_begin(heap, &mut), 0);
    fx_Root *root = mc_heap_mut_root(mut);
    W_CHECK(root == mc_heap_root_ro(heap), "mut root is the root");
    fx_Rec *lr = fx_new_rec(42, 0.5, "sixteen bytes!!");
    void *sh = NULL;
    W_RC(mc_heap_add(mut, &fx_Rec_type, lr, &sh), 0);
    root->recs[0] = sh;
    W_RC(mc_heap_add(mut, &mc_type_bytes, "a string root", &sh), 0);
    root->scratch = sh;
    /* zeroed elements, and a zero-element allocation of its own */
    fx_Strs s = {{3, NULL}, 1};
    W_RC(mc_heap_add(mut, &fx_Strs_type, &s, &sh), 0);
    root->arrs[0] = sh;
    W_RC(mc_heap_alloc(mut, &mc_type_str, 3, &sh), 0);
    root->arrs[0]->items.data = sh;
    W_CHECK(root->arrs[0]->items.data[2] == NULL, "alloc is zeroed");
    W_RC(mc_heap_add(mut, &mc_type_bytes, "item", &sh), 0);
    root->arrs[0]->items.data[1] = sh;
    W_RC(mc_heap_alloc(mut, &fx_Node_type, 0, &sh), 0);
    /* one begin per thread and heap */
    mc_mut *again;
    W_RC(mc_heap_begin(heap, &again), MC_ESTATE);
    W_RC(mc_heap_add(mut, NULL, lr, &sh), MC_EINVAL);
    W_RC(mc_heap_add(mut, &fx_Rec_type, NULL, &sh), MC_EINVAL);
    W_RC(mc_heap_pin(mut, NULL), MC_EINVAL);
    W_RC(mc_heap_commit(mut), 0);

    /* readers: a copy, and a callback */
    void *copy = NULL;
    W_RC(mc_heap_root_c(heap, &copy), 0);
    char why[200] = "";
    W_CHECK(copy && fx_equal(&fx_Root_type, copy, mc_heap_root_ro(heap),
                             why, sizeof why),
            "root_c: %s", why);
    fx_Root *cr = copy;
    W_CHECK(cr && cr->recs[0] && cr->recs[0]->i == 42 &&
                strcmp(cr->recs[0]->s, "sixteen bytes!!") == 0 &&
                strcmp(cr->arrs[0]->items.data[1], "item") == 0,
            "root_c contents");
    mc_local_free(copy);
    int64_t add = 5, c = -1;
    W_CHECK(mc_heap_modify(heap, bump_fn, &add) == 7, "modify's result");
    W_RC(mc_heap_root_p(heap, read_counter, &c), 0);
    W_CHECK(c == 5, "counter %lld", (long long)c);

    /* a collection keeps everything reachable */
    W_RC(mc_heap_gc(heap), 0);
    mc_heap_stats st;
    W_RC(mc_heap_stats_get(heap, &st), 0);
    W_CHECK(st.collections == 1, "collections %llu",
            (unsigned long long)st.collections);
    size_t want = graph_bytes(mc_heap_root_ro(heap));
    W_CHECK(st.live_bytes == want, "live %zu, graph %zu", st.live_bytes, want);
    W_CHECK(st.heap_bytes >= MC__MIN_CHUNK && st.chunks >= 1,
            "heap_bytes %zu chunks %zu", st.heap_bytes, st.chunks);
    W_CHECK(strcmp(((fx_Root *)mc_heap_root_ro(heap))->recs[0]->s,
                   "sixteen bytes!!") == 0, "rec after gc");

    W_RC(mc_heap_create(NULL, &fx_Root_type, lr, &heap), MC_EINVAL);
    W_RC(mc_heap_begin(NULL, &mut), MC_EINVAL);
    fx_free_graph(&fx_Rec_type, lr);
    drop_heap(pool, heap);
    W_RC(mc_heap_begin(heap, &mut), MC_EINVAL); /* destroyed */
}

static void test_basics(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_basics, NULL, 0);
    tu_end();
}

/* ------------------------------------------------------ property test */

/* Apply the same mutation to the heap's root (through mut) and to the
 * model's; `op` and the slots come from the caller's random stream. */
typedef struct pctx {
    mc_mut *mut;
    fx_Root *h;     /* heap root */
    fx_Root *m;     /* model root */
    int failed;
} pctx;

/* Copy a local value into the heap; the model keeps the local value. */
static void *hadd(pctx *p, const mc_type *t, const void *v)
{
    void *sh = NULL;
    if (W_RC(mc_heap_add(p->mut, t, v, &sh), 0))
        p->failed = 1;
    return sh;
}

static void one_op(pctx *p)
{
    unsigned i = rnd() % FX_SLOTS, j = rnd() % FX_SLOTS;
    fx_Root *h = p->h, *m = p->m;
    switch (rnd() % 14) {
    case 0: { /* new list */
        fx_Node *l = fx_new_list(rnd() % 200, rnd() % 1000);
        h->lists[i] = l ? hadd(p, &fx_Node_type, l) : NULL;
        m->lists[i] = l;
        break;
    }
    case 1: { /* prepend one node: the new node points into the heap */
        fx_Node *n = fx_new_list(1, rnd() % 1000);
        fx_Node *hn = hadd(p, &fx_Node_type, n);
        if (!hn)
            break;
        hn->next = h->lists[i];
        h->lists[i] = hn;
        n->next = m->lists[i];
        m->lists[i] = n;
        break;
    }
    case 2: { /* truncate after k nodes */
        fx_Node *a = h->lists[i], *b = m->lists[i];
        for (unsigned k = rnd() % 5; a && k; k--) {
            a = a->next;
            b = b->next;
        }
        if (a) {
            a->next = NULL;
            b->next = NULL;
        }
        break;
    }
    case 3: /* share */
        h->lists[i] = h->lists[j];
        m->lists[i] = m->lists[j];
        break;
    case 4: /* drop */
        switch (rnd() % 4) {
        case 0: h->lists[i] = NULL; m->lists[i] = NULL; break;
        case 1: h->trees[i] = NULL; m->trees[i] = NULL; break;
        case 2: h->recs[i] = NULL; m->recs[i] = NULL; break;
        default: h->arrs[i] = NULL; m->arrs[i] = NULL; break;
        }
        break;
    case 5: { /* new tree */
        fx_Tree *t = fx_new_tree(1 + rnd() % 6, rnd() % 100);
        h->trees[i] = hadd(p, &fx_Tree_type, t);
        m->trees[i] = t;
        break;
    }
    case 6: /* graft: sharing, and cycles when j's tree holds i's */
        if (h->trees[i] && h->trees[j]) {
            h->trees[i]->left = h->trees[j];
            m->trees[i]->left = m->trees[j];
        }
        break;
    case 7: { /* new record */
        char buf[40];
        snprintf(buf, sizeof buf, "rec-%u", rnd());
        fx_Rec *r = fx_new_rec(rnd(), rnd() / 7.0, rnd() % 8 ? buf : NULL);
        h->recs[i] = hadd(p, &fx_Rec_type, r);
        m->recs[i] = r;
        break;
    }
    case 8: /* replace a record's string */
        if (h->recs[i]) {
            char buf[80];
            snprintf(buf, sizeof buf, "str-%u-%0*d", rnd(), (int)(rnd() % 40),
                     7);
            h->recs[i]->s = hadd(p, &mc_type_bytes, buf);
            m->recs[i]->s = fx_strdup(buf);
        }
        break;
    case 9: { /* new array of strings */
        fx_Strs *s = fx_new_strs(rnd() % 20, rnd() % 100);
        h->arrs[i] = hadd(p, &fx_Strs_type, s);
        m->arrs[i] = s;
        break;
    }
    case 10: /* an array item shares a record's string */
        if (h->arrs[i] && h->arrs[i]->items.len && h->recs[j] &&
            h->recs[j]->s) {
            size_t k = rnd() % h->arrs[i]->items.len;
            h->arrs[i]->items.data[k] = h->recs[j]->s;
            m->arrs[i]->items.data[k] = m->recs[j]->s;
        }
        break;
    case 11: { /* close a list into a cycle (if it is not one yet) */
        fx_Node *a = h->lists[i], *b = m->lists[i];
        unsigned k = 0;
        while (a && a->next && k < 200) {
            a = a->next;
            b = b->next;
            k++;
        }
        if (a && !a->next) {
            a->next = h->lists[i];
            b->next = m->lists[i];
        }
        break;
    }
    case 12: { /* garbage: added, never attached */
        fx_Tree *t = fx_new_tree(1 + rnd() % 9, 3);
        hadd(p, &fx_Tree_type, t);
        fx_free_graph(&fx_Tree_type, t);
        break;
    }
    default: { /* scratch string */
        char buf[300];
        size_t n = rnd() % (sizeof buf - 1);
        memset(buf, 'a' + (int)(rnd() % 26), n);
        buf[n] = 0;
        h->scratch = hadd(p, &mc_type_bytes, buf);
        m->scratch = fx_strdup(buf);
        break;
    }
    }
}

#define PROP_BATCHES 4000
#define PROP_EXPLICIT 200 /* an explicit collection every this many */

static void drv_property(const void *arg, size_t len)
{
    (void)len;
    uint64_t seed;
    memcpy(&seed, arg, sizeof seed);
    rng_state = seed;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *pool;
    mc_heap *heap;
    if (make_heap(256 * MiB, &pool, &heap))
        return;
    fx_Root *model = calloc(1, sizeof *model);
    uint64_t seen_gcs = 0;
    size_t checks = 0, exact = 0;
    for (int b = 0; b < PROP_BATCHES && !tu_w_failed(); b++) {
        pctx p = {0};
        if (W_RC(mc_heap_begin(heap, &p.mut), 0))
            break;
        p.h = mc_heap_mut_root(p.mut);
        p.m = model;
        for (unsigned k = 1 + rnd() % 4; k && !p.failed; k--)
            one_op(&p);
        W_RC(mc_heap_commit(p.mut), 0);
        if (p.failed)
            break;
        int explicit_gc = b % PROP_EXPLICIT == PROP_EXPLICIT - 1;
        if (explicit_gc)
            W_RC(mc_heap_gc(heap), 0);
        mc_heap_stats st;
        W_RC(mc_heap_stats_get(heap, &st), 0);
        if (st.collections == seen_gcs)
            continue;
        seen_gcs = st.collections;
        checks++;
        char why[256] = "";
        if (!fx_equal(&fx_Root_type, mc_heap_root_ro(heap), model, why,
                      sizeof why)) {
            W_CHECK(0, "seed %llu, batch %d: heap differs from the model: "
                       "%s", (unsigned long long)seed, b, why);
            break;
        }
        if (explicit_gc) {
            exact++;
            size_t want = graph_bytes(model);
            W_CHECK(st.live_bytes == want,
                    "seed %llu, batch %d: live_bytes %zu, model %zu",
                    (unsigned long long)seed, b, st.live_bytes, want);
        }
    }
    W_CHECK(checks > PROP_BATCHES / PROP_EXPLICIT + 5,
            "only %zu checks (automatic collections did not run?)", checks);
    W_CHECK(exact == PROP_BATCHES / PROP_EXPLICIT, "%zu exact checks",
            exact);
    /* nothing stays but the root */
    W_RC(mc_heap_modify(heap, NULL, NULL), MC_EINVAL);
    mc_mut *mut;
    if (!W_RC(mc_heap_begin(heap, &mut), 0)) {
        fx_Root *r = mc_heap_mut_root(mut);
        memset(r, 0, sizeof *r);
        W_RC(mc_heap_gc(heap), 0);
        mc_heap_stats st;
        W_RC(mc_heap_stats_get(heap, &st), 0);
        W_CHECK(st.live_bytes == block_bytes(&fx_Root_type, 1),
                "emptied heap: live %zu", st.live_bytes);
        W_CHECK(st.chunks == 1, "emptied heap keeps %zu chunks", st.chunks);
        W_RC(mc_heap_commit(mut), 0);
    }
    drop_heap(pool, heap);
    /* the model leaks what became unreachable: the worker ends here */
}

static void test_gc_property(void **state)
{
    (void)state;
    const char *s = getenv("MC_TEST_SEED");
    uint64_t seed = s ? strtoull(s, NULL, 0) : 0x5eed0001ull;
    tu_begin();
    tu_drive(NULL, drv_property, &seed, sizeof seed);
    tu_end();
}

/* ------------------------------------------------------------ pins */

static void drv_pins(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *pool;
    mc_heap *heap;
    if (make_heap(64 * MiB, &pool, &heap))
        return;
    mc_mut *mut;
    if (W_RC(mc_heap_begin(heap, &mut), 0))
        return;
    /* the tutorial's pin scenario: add, pin, add more until a collection
     * runs, the first value is intact */
    fx_Rec *lr = fx_new_rec(1234, 0.25, "pinned value");
    fx_Rec *pinned = NULL, *loose = NULL;
    W_RC(mc_heap_add(mut, &fx_Rec_type, lr, (void **)&pinned), 0);
    W_RC(mc_heap_pin(mut, pinned), 0);
    W_RC(mc_heap_add(mut, &fx_Rec_type, lr, (void **)&loose), 0);
    mc_heap_stats st0, st;
    W_RC(mc_heap_stats_get(heap, &st0), 0);
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    int n = 0;
    do {
        void *sh;
        if (W_RC(mc_heap_add(mut, &mc_type_bytes, big, &sh), 0))
            break;
        W_RC(mc_heap_stats_get(heap, &st), 0);
    } while (st.collections == st0.collections && ++n < 100000);
    W_CHECK(st.collections > st0.collections, "no collection ran");
    W_CHECK(pinned->i == 1234 && pinned->d == 0.25 &&
                strcmp(pinned->s, "pinned value") == 0,
            "the pinned value changed");
    /* the unpinned, unattached one was reclaimed (MC_DEBUG poisoned it) */
    W_CHECK(mc__bw_state(mc__ld(mc__hdr(loose))) != MC__B_ALLOC ||
                loose->i != 1234,
            "the unpinned value survived a collection");
    /* live: the root and the pinned record (and its string) */
    W_RC(mc_heap_gc(heap), 0); /* inside the mutation: uses its pins */
    W_RC(mc_heap_stats_get(heap, &st), 0);
    size_t want = block_bytes(&fx_Root_type, 1) +
                  block_bytes(&fx_Rec_type, 1) +
                  block_bytes(&mc_type_bytes, strlen("pinned value") + 1);
    W_CHECK(st.live_bytes == want, "live %zu, want %zu", st.live_bytes,
            want);
    W_CHECK(strcmp(pinned->s, "pinned value") == 0, "pinned after gc");
    W_RC(mc_heap_commit(mut), 0);
    /* after the commit the pin is gone */
    W_RC(mc_heap_gc(heap), 0);
    W_RC(mc_heap_stats_get(heap, &st), 0);
    W_CHECK(st.live_bytes == block_bytes(&fx_Root_type, 1),
            "unpinned after commit: live %zu", st.live_bytes);
    fx_free_graph(&fx_Rec_type, lr);
    drop_heap(pool, heap);
}

static void test_pins(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_pins, NULL, 0);
    tu_end();
}

/* -------------------------------------------------- deep, large, chunks */

static void drv_deep_and_large(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_pool *pool;
    mc_heap *heap;
    if (make_heap(512 * MiB, &pool, &heap))
        return;
    mc_mut *mut;
    if (W_RC(mc_heap_begin(heap, &mut), 0))
        return;
    fx_Root *root = mc_heap_mut_root(mut);
    /* a list of 10^6 nodes: copied and marked without recursion */
    const size_t n = 1000000;
    fx_Node *l = fx_new_list(n, 0);
    void *sh;
    if (!W_RC(mc_heap_add(mut, &fx_Node_type, l, &sh), 0))
        root->lists[0] = sh;
    fx_free_graph(&fx_Node_type, l);
    W_RC(mc_heap_gc(heap), 0);
    size_t k = 0;
    for (fx_Node *x = root->lists[0]; x; x = x->next, k++)
        if (x->v != (int64_t)k)
            break;
    W_CHECK(k == n, "deep list: %zu of %zu nodes intact", k, n);
    mc_heap_stats st, st1;
    W_RC(mc_heap_stats_get(heap, &st), 0);
    W_CHECK(st.live_bytes == graph_bytes(root), "live %zu", st.live_bytes);

    /* large arrays get chunks of their own, given back when they die */
    root->lists[0] = NULL;
    W_RC(mc_heap_gc(heap), 0);
    W_RC(mc_heap_stats_get(heap, &st), 0);
    W_CHECK(st.chunks == 1, "%zu chunks after dropping the list",
            st.chunks);
    for (int i = 0; i < 4; i++) {
        fx_Strs *s = fx_new_strs(5000, i);
        if (!W_RC(mc_heap_add(mut, &fx_Strs_type, s, &sh), 0))
            root->arrs[i] = sh;
        fx_free_graph(&fx_Strs_type, s);
    }
    W_RC(mc_heap_gc(heap), 0);
    W_RC(mc_heap_stats_get(heap, &st1), 0);
    W_CHECK(st1.chunks >= st.chunks + 4, "chunks %zu -> %zu", st.chunks,
            st1.chunks);
    W_CHECK(strcmp(root->arrs[3]->items.data[4999], "s3.4999") == 0, "item");
    memset(root->arrs, 0, sizeof root->arrs);
    W_RC(mc_heap_gc(heap), 0);
    W_RC(mc_heap_stats_get(heap, &st1), 0);
    W_CHECK(st1.chunks == 1 && st1.heap_bytes == st.heap_bytes,
            "after dropping the arrays: %zu chunks, %zu bytes", st1.chunks,
            st1.heap_bytes);
    mc_pool_stats ps;
    W_RC(mc_pool_stats_get(pool, &ps), 0);
    W_CHECK(ps.chunks == 2, "pool: %zu chunks handed out (header + 1)",
            ps.chunks);
    W_RC(mc_heap_commit(mut), 0);
    drop_heap(pool, heap);
}

static void test_deep_and_large(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_deep_and_large, NULL, 0);
    tu_end();
}

/* --------------------------------------------------------- exhaustion */

static void drv_enomem(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *pool;
    mc_heap *heap;
    if (make_heap(1 * MiB, &pool, &heap))
        return;
    mc_mut *mut;
    if (W_RC(mc_heap_begin(heap, &mut), 0))
        return;
    fx_Root *root = mc_heap_mut_root(mut);
    fx_Node one = {0, NULL};
    int rc = 0;
    int64_t added = 0;
    while (added < 10000000) {
        fx_Node *sh;
        one.v = added;
        rc = mc_heap_add(mut, &fx_Node_type, &one, (void **)&sh);
        if (rc)
            break;
        sh->next = root->lists[0];
        root->lists[0] = sh;
        added++;
    }
    W_CHECK(rc == MC_ENOMEM, "filling the pool ended with %s",
            tu_code_name(rc));
    W_CHECK(added > 10000, "only %lld nodes fit", (long long)added);
    /* everything added is intact */
    int64_t k = added;
    for (fx_Node *x = root->lists[0]; x; x = x->next)
        if (x->v != --k)
            break;
    W_CHECK(k == 0, "list broken at %lld", (long long)k);
    /* a value too big for what is left fails alone */
    fx_Strs *s = fx_new_strs(20000, 1);
    void *sh;
    W_RC(mc_heap_add(mut, &fx_Strs_type, s, &sh), MC_ENOMEM);
    fx_free_graph(&fx_Strs_type, s);
    /* drop most of the list: adds work again */
    fx_Node *x = root->lists[0];
    for (int i = 0; i < 100 && x; i++)
        x = x->next;
    if (x)
        x->next = NULL;
    W_RC(mc_heap_gc(heap), 0);
    for (int i = 0; i < 5000 && !tu_w_failed(); i++) {
        fx_Rec r = {i, 1.0, "after the pool was full"};
        if (!W_RC(mc_heap_add(mut, &fx_Rec_type, &r, &sh), 0))
            root->recs[i % FX_SLOTS] = sh;
    }
    W_CHECK(strcmp(root->recs[0]->s, "after the pool was full") == 0,
            "record");
    mc_heap_stats st;
    W_RC(mc_heap_gc(heap), 0);
    W_RC(mc_heap_stats_get(heap, &st), 0);
    W_CHECK(st.live_bytes == graph_bytes(root), "live %zu vs %zu",
            st.live_bytes, graph_bytes(root));
    W_RC(mc_heap_commit(mut), 0);
    drop_heap(pool, heap);
}

static void test_enomem(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_enomem, NULL, 0);
    tu_end();
}

/* --------------------------------------------------------- concurrency */

typedef struct share_arg {
    mc_res_id pool;
    mc_heap *heap;
    int iters;
    int id;
} share_arg;

/* Worker side: the argument, with its pool looked up (held). */
static int share_open(const void *arg, size_t len, share_arg *a,
                      mc_pool **pool)
{
    if (len != sizeof *a)
        return -1;
    memcpy(a, arg, sizeof *a);
    return W_RC(mc_pool_lookup(a->pool, pool), 0) ? -1 : 0;
}

/* The calling process's pid, into the root (a worker says it got there). */
static void store_pid(const void *rootp)
{
    __atomic_store_n(&((fx_Root *)rootp)->pid, (int64_t)getpid(),
                     __ATOMIC_RELEASE);
}

/* Prepends before it counts, so a reader sees length >= counter. */
static int conc_step(mc_mut *mut, void *rootp, void *ctx)
{
    fx_Root *root = rootp;
    const share_arg *a = ctx;
    int64_t c = __atomic_load_n(&root->counter, __ATOMIC_RELAXED) + 1;
    fx_Node one = {c, NULL};
    fx_Node *n;
    int rc = mc_heap_add(mut, &fx_Node_type, &one, (void **)&n);
    if (rc)
        return rc;
    n->next = root->lists[0];
    __atomic_store_n(&root->lists[0], n, __ATOMIC_RELEASE);
    __atomic_store_n(&root->counter, c, __ATOMIC_RELEASE);
    /* the old scratch string becomes garbage while readers may read it */
    char buf[200];
    snprintf(buf, sizeof buf, "scratch %d %lld %0100d", a->id, (long long)c,
             0);
    char *s;
    rc = mc_heap_add(mut, &mc_type_bytes, buf, (void **)&s);
    if (rc)
        return rc;
    __atomic_store_n(&root->scratch, s, __ATOMIC_RELEASE);
    fx_Tree *t = fx_new_tree(3, c);
    void *g;
    rc = mc_heap_add(mut, &fx_Tree_type, t, &g); /* garbage */
    fx_free_graph(&fx_Tree_type, t);
    return rc;
}

static int conc_read(const void *rootp, void *ctx)
{
    const fx_Root *root = rootp;
    (void)ctx;
    int64_t c = __atomic_load_n(&root->counter, __ATOMIC_ACQUIRE);
    const fx_Node *x = __atomic_load_n(&root->lists[0], __ATOMIC_ACQUIRE);
    int64_t len = 0, prev = INT64_MAX;
    for (; x; x = x->next, len++) {
        if (x->v >= prev)
            return -1;
        prev = x->v;
    }
    if (len < c)
        return -2;
    const char *s = __atomic_load_n(&root->scratch, __ATOMIC_ACQUIRE);
    if (s && strncmp(s, "scratch ", 8) != 0)
        return -3; /* poisoned: it was freed under the reader */
    return 0;
}

static void drv_conc_worker(const void *arg, size_t len)
{
    share_arg a;
    mc_pool *pool;
    if (share_open(arg, len, &a, &pool))
        return;
    for (int i = 0; i < a.iters && !tu_w_failed(); i++) {
        W_RC(mc_heap_modify(a.heap, conc_step, &a), 0);
        if (i % 4 == 0)
            W_RC(mc_heap_root_p(a.heap, conc_read, NULL), 0);
        if (i % 16 == 0) {
            void *copy = NULL;
            if (!W_RC(mc_heap_root_c(a.heap, &copy), 0)) {
                W_RC(conc_read(copy, NULL), 0);
                mc_local_free(copy);
            }
        }
    }
    W_RC(mc_pool_release(pool), 0);
}

#define CONC_ITERS 3000

static void drv_concurrent(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *pool;
    mc_heap *heap;
    if (make_heap(256 * MiB, &pool, &heap))
        return;
    mc_pid pids[2];
    for (int i = 0; i < 2; i++) {
        share_arg a = {mc_pool_id(pool), heap, CONC_ITERS, i};
        W_RC(tu_start_fn(drv_conc_worker, &a, sizeof a, &pids[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        W_JOIN_OK(tu_driver_jp, pids[i], "concurrent worker");
    fx_Root *root = mc_heap_root_ro(heap);
    W_CHECK(root->counter == 2 * CONC_ITERS, "counter %lld",
            (long long)root->counter);
    int64_t k = 2 * CONC_ITERS;
    for (fx_Node *x = root->lists[0]; x; x = x->next)
        if (x->v != k--)
            break;
    W_CHECK(k == 0, "list stops at %lld", (long long)k);
    mc_heap_stats st;
    W_RC(mc_heap_stats_get(heap, &st), 0);
    W_CHECK(st.collections > 2, "collections %llu",
            (unsigned long long)st.collections);
    drop_heap(pool, heap);
}

static void test_concurrent(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_concurrent, NULL, 0);
    tu_end();
}

/* ------------------------------------------------------------ kill -9 */

static int kill_step(mc_mut *mut, void *rootp, void *ctx)
{
    fx_Root *root = rootp;
    (void)ctx;
    int64_t c = root->counter + 1;
    fx_Node one = {c, NULL};
    fx_Node *n;
    int rc = mc_heap_add(mut, &fx_Node_type, &one, (void **)&n);
    if (rc)
        return rc;
    n->next = c % 128 ? root->lists[0] : NULL; /* drop the old list */
    root->lists[0] = n;
    root->counter = c;
    char buf[2100];
    snprintf(buf, sizeof buf, "s%lld %02000d", (long long)c, 0);
    rc = mc_heap_add(mut, &mc_type_bytes, buf, (void **)&root->scratch);
    if (rc)
        return rc;
    fx_Tree *t = fx_new_tree(1 + c % 4, c);
    rc = mc_heap_add(mut, &fx_Tree_type, t, (void **)&root->trees[c % 8]);
    fx_free_graph(&fx_Tree_type, t);
    return rc;
}

static int set_pid(mc_mut *mut, void *rootp, void *ctx)
{
    (void)mut;
    (void)ctx;
    store_pid(rootp);
    return 0;
}

static void drv_kill_victim(const void *arg, size_t len)
{
    share_arg a;
    mc_pool *pool;
    if (share_open(arg, len, &a, &pool))
        return;
    W_RC(mc_heap_modify(a.heap, set_pid, NULL), 0);
    for (;;) /* until killed */
        if (W_RC(mc_heap_modify(a.heap, kill_step, NULL), 0))
            return;
}

#define KILLS 200

static void drv_kill_loop(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    setenv("MC_DEBUG", "1", 1);
    alarm(240); /* a deadlock ends the driver (and fails the test) */
    mc_pool *pool;
    mc_heap *heap;
    if (make_heap(256 * MiB, &pool, &heap))
        return;
    fx_Root *root = mc_heap_root_ro(heap);
    int owner_dead = 0;
    uint64_t gcs = 0;
    for (int it = 0; it < KILLS && !tu_w_failed(); it++) {
        share_arg a = {mc_pool_id(pool), heap, 0, it};
        mc_pid pid;
        if (W_RC(tu_start_fn(drv_kill_victim, &a, sizeof a, &pid), 0))
            break;
        int64_t ospid;
        while ((ospid = __atomic_load_n(&root->pid, __ATOMIC_ACQUIRE)) == 0)
            usleep(50);
        usleep(rnd() % 4000);
        kill((pid_t)ospid, SIGKILL);
        mc_join_result r = {0};
        W_RC(mc_join(tu_driver_jp, pid, &r), 0);
        W_CHECK(r.kind == MC_EXIT_SIGNAL && r.code == SIGKILL,
                "victim %d: %s", it, tu_kind_str(&r));
        mc_join_result_free(&r);

        mc_mut *mut;
        int rc = mc_heap_begin(heap, &mut);
        W_CHECK(rc == 0 || rc == MC_EOWNERDEAD, "begin after kill %d: %s",
                it, tu_code_name(rc));
        if (rc && rc != MC_EOWNERDEAD)
            break;
        owner_dead += rc == MC_EOWNERDEAD;
        /* the list is well formed (values decrease), then a verified
         * collection (MC_DEBUG) with the dead worker's garbage */
        int64_t prev = INT64_MAX, n = 0;
        for (fx_Node *x = root->lists[0]; x && n < 1000; x = x->next, n++) {
            W_CHECK(x->v < prev, "kill %d: list out of order", it);
            prev = x->v;
        }
        W_CHECK(n < 1000, "kill %d: list too long", it);
        /* not every time: the victims' allocations add up to automatic
         * collections, so that some kills land inside one */
        if (it % 8 == 0)
            W_RC(mc_heap_gc(heap), 0);
        __atomic_store_n(&root->pid, 0, __ATOMIC_RELEASE);
        W_RC(mc_heap_commit(mut), 0);
    }
    mc_heap_stats st;
    W_RC(mc_heap_stats_get(heap, &st), 0);
    gcs = st.collections;
    if (getenv("MC_TEST_VERBOSE"))
        fprintf(stderr, "kill loop: %d kills, %d found the lock held by the "
                        "dead worker, %llu collections, %llu interrupted\n",
                KILLS, owner_dead, (unsigned long long)gcs,
                (unsigned long long)(heap->gcno - gcs));
    W_CHECK(owner_dead > KILLS / 4, "only %d of %d kills hit the lock",
            owner_dead, KILLS);
    /* 25 explicit ones, the rest automatic (victims make progress at the
     * machine's pace: about 600 here, 170 under ASan, 81 seen under ASan
     * on a loaded machine) */
    W_CHECK(gcs > (uint64_t)KILLS / 4, "collections %llu",
            (unsigned long long)gcs);
    alarm(0);
    drop_heap(pool, heap);
}

static void test_kill_loop(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_kill_loop, NULL, 0);
    tu_end();
}

/* A holder that dies between a chunk's unlinking and its counters (the
 * store or two of mc__heap_drop_chunk, new_chunk): here the counters are
 * put one chunk off by hand, then the holder dies.  The next locker sets
 * them right from the chunk list, so the verified collection (MC_DEBUG)
 * finds the heap whole. */
static int off_by_one(mc_mut *mut, void *rootp, void *ctx)
{
    (void)mut;
    store_pid(rootp);
    mc_heap *h = ctx;
    h->nchunks++;
    h->heap_bytes += 4096;
    raise(SIGKILL);
    return 0;
}

static void drv_counter_victim(const void *arg, size_t len)
{
    share_arg a;
    mc_pool *pool;
    if (share_open(arg, len, &a, &pool))
        return;
    W_RC(mc_heap_modify(a.heap, off_by_one, a.heap), 0);
}

static void drv_dead_counters(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *pool;
    mc_heap *heap;
    if (make_heap(16 * MiB, &pool, &heap))
        return;
    share_arg a = {mc_pool_id(pool), heap, 0, 0};
    mc_pid pid;
    mc_join_result r = {0};
    if (W_RC(tu_start_fn(drv_counter_victim, &a, sizeof a, &pid), 0) == 0 &&
        W_RC(mc_join(tu_driver_jp, pid, &r), 0) == 0)
        W_CHECK(r.kind == MC_EXIT_SIGNAL && r.code == SIGKILL, "victim: %s",
                tu_kind_str(&r));
    mc_join_result_free(&r);
    mc_heap_stats before;
    W_RC(mc_heap_stats_get(heap, &before), 0);
    mc_mut *mut;
    W_RC(mc_heap_begin(heap, &mut), MC_EOWNERDEAD);
    W_RC(mc_heap_commit(mut), 0);
    W_RC(mc_heap_gc(heap), 0); /* verified: aborts on a corrupt heap */
    mc_heap_stats after;
    W_RC(mc_heap_stats_get(heap, &after), 0);
    W_CHECK(after.chunks + 1 == before.chunks,
            "chunks %zu before the repair, %zu after", before.chunks,
            after.chunks);
    drop_heap(pool, heap);
}

static void test_dead_counters(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_dead_counters, NULL, 0);
    tu_end();
}

/* ------------------------------------------------------- dead reader */

/* Publishes its pid and reads forever: killed inside mc_heap_root_p, it
 * leaves its reader slot showing an old epoch. */
static int stuck_read(const void *rootp, void *ctx)
{
    (void)ctx;
    store_pid(rootp);
    for (;;)
        pause();
    return 0;
}

static void drv_stuck_reader(const void *arg, size_t len)
{
    share_arg a;
    mc_pool *pool;
    if (share_open(arg, len, &a, &pool))
        return;
    W_RC(mc_heap_root_p(a.heap, stuck_read, NULL), 0);
}

static void drv_dead_reader(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    alarm(60); /* a collector waiting for the dead reader fails the test */
    mc_pool *pool;
    mc_heap *heap;
    if (make_heap(64 * MiB, &pool, &heap))
        return;
    fx_Root *root = mc_heap_root_ro(heap);
    share_arg a = {mc_pool_id(pool), heap, 0, 0};
    mc_pid pid;
    if (W_RC(tu_start_fn(drv_stuck_reader, &a, sizeof a, &pid), 0))
        return;
    int64_t ospid;
    while ((ospid = __atomic_load_n(&root->pid, __ATOMIC_ACQUIRE)) == 0)
        usleep(100);
    /* the reader is inside: a collection now would wait for it */
    kill((pid_t)ospid, SIGKILL);
    mc_join_result r = {0};
    W_RC(mc_join(tu_driver_jp, pid, &r), 0);
    mc_join_result_free(&r);
    W_RC(mc_heap_gc(heap), 0); /* clears the dead slot, does not hang */
    W_RC(mc_heap_gc(heap), 0);
    int64_t c = -1;
    W_RC(mc_heap_root_p(heap, read_counter, &c), 0);
    W_CHECK(c == 0, "counter %lld", (long long)c);
    alarm(0);
    drop_heap(pool, heap);
}

static void test_dead_reader(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_dead_reader, NULL, 0);
    tu_end();
}

/* ------------------------------------------- holders that die quietly */

/* The heap's lock is a word naming its holder (heap.c: the lock): the
 * next locker must find a holder dead that left no trace but that word.
 * A thread that ends inside a mutation (its process lives on), and a
 * forked process that ends inside one and is not yet waited for (a
 * zombie: kill(pid, 0) still succeeds), both leave the lock to the next
 * locker with MC_EOWNERDEAD; and a holder that lives is waited for. */
static int end_thread(mc_mut *mut, void *rootp, void *ctx)
{
    (void)mut;
    (void)ctx;
    ((fx_Root *)rootp)->counter++;
    pthread_exit(NULL);
}

static void *lock_and_end(void *heap)
{
    mc_heap_modify(heap, end_thread, NULL);
    return NULL; /* not reached */
}

static int end_process(mc_mut *mut, void *rootp, void *ctx)
{
    (void)mut;
    (void)ctx;
    ((fx_Root *)rootp)->counter++;
    _exit(0);
}

static int bump(mc_mut *mut, void *rootp, void *ctx)
{
    (void)mut;
    (void)ctx;
    ((fx_Root *)rootp)->counter++;
    return 0;
}

/* begin (its code: what the test checks), bump, commit */
static int take_over(mc_heap *heap)
{
    mc_mut *mut;
    int rc = mc_heap_begin(heap, &mut);
    if (rc && rc != MC_EOWNERDEAD)
        return rc;
    ((fx_Root *)mc_heap_mut_root(mut))->counter++;
    mc_heap_commit(mut);
    return rc;
}

static void *hold_a_while(void *heap)
{
    mc_mut *mut;
    if (mc_heap_begin(heap, &mut) == 0) {
        usleep(30000);
        mc_heap_commit(mut);
    }
    return NULL;
}

static void drv_quiet_deaths(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    alarm(60); /* a holder never found dead ends the driver */
    mc_pool *pool;
    mc_heap *heap;
    if (make_heap(16 * MiB, &pool, &heap))
        return;
    fx_Root *root = mc_heap_root_ro(heap);
    pthread_t th;
    W_RC(pthread_create(&th, NULL, lock_and_end, heap), 0);
    W_RC(pthread_join(th, NULL), 0);
    W_RC(take_over(heap), MC_EOWNERDEAD);
    W_CHECK(root->counter == 2, "counter %lld after a thread's death",
            (long long)root->counter);

    pid_t pid = fork();
    if (pid == 0)
        mc_heap_modify(heap, end_process, NULL);
    W_CHECK(pid > 0, "fork");
    while (__atomic_load_n(&root->counter, __ATOMIC_ACQUIRE) < 3)
        usleep(100); /* the child holds the lock, then ends */
    W_RC(take_over(heap), MC_EOWNERDEAD); /* from a zombie */
    if (pid > 0)
        waitpid(pid, NULL, 0);
    W_CHECK(root->counter == 4, "counter %lld after a process's death",
            (long long)root->counter);

    /* a live holder is waited for, and nobody is told of a death */
    W_RC(pthread_create(&th, NULL, hold_a_while, heap), 0);
    usleep(5000);
    W_RC(mc_heap_modify(heap, bump, NULL), 0);
    W_RC(pthread_join(th, NULL), 0);
    W_RC(mc_heap_modify(heap, bump, NULL), 0);
    W_CHECK(root->counter == 6, "counter %lld", (long long)root->counter);
    alarm(0);
    drop_heap(pool, heap);
}

static void test_quiet_deaths(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_quiet_deaths, NULL, 0);
    tu_end();
}

/* ------------------------------------- a reader that waits for the lock */

/* Inside its read (an old epoch in its slot), waits for the driver's go
 * (counter 1, stored inside the driver's mutation), then mutates the heap:
 * it waits for the lock, which the driver holds while it collects. */
static int lock_in_read(const void *rootp, void *ctx)
{
    const fx_Root *root = rootp;
    store_pid(rootp);
    while (__atomic_load_n(&root->counter, __ATOMIC_ACQUIRE) != 1)
        usleep(100);
    int64_t add = 10;
    return mc_heap_modify(((share_arg *)ctx)->heap, bump_fn, &add) == 7
               ? 0
               : -1;
}

static void drv_lock_in_read(const void *arg, size_t len)
{
    share_arg a;
    mc_pool *pool;
    if (share_open(arg, len, &a, &pool))
        return;
    W_RC(mc_heap_root_p(a.heap, lock_in_read, &a), 0);
}

/* The collector waits for the readers that started before it; one that
 * waits for the collector's lock inside its read would wait for ever with
 * it.  The collection skips its sweep instead (MC_EAGAIN, nothing freed),
 * and a later one frees the garbage: 255 skips in a row wrap the mark
 * values, and a value marked by the first and detached since must not look
 * marked to the collection after them. */
static void drv_waiting_reader(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    alarm(60); /* a collector waiting for the reader fails the test */
    setenv("MC_DEBUG", "1", 1);
    mc_pool *pool;
    mc_heap *heap;
    if (make_heap(64 * MiB, &pool, &heap))
        return;
    fx_Root *root = mc_heap_root_ro(heap);
    share_arg a = {mc_pool_id(pool), heap, 0, 0};
    mc_pid pid;
    if (W_RC(tu_start_fn(drv_lock_in_read, &a, sizeof a, &pid), 0))
        return;
    while (__atomic_load_n(&root->pid, __ATOMIC_ACQUIRE) == 0)
        usleep(100);
    /* the reader is inside its read */
    mc_mut *mut;
    W_RC(mc_heap_begin(heap, &mut), 0);
    void *sh = NULL;
    fx_Rec *lr = fx_new_rec(42, 0.5, "kept across skipped collections");
    W_RC(mc_heap_add(mut, &fx_Rec_type, lr, &sh), 0);
    root->recs[0] = sh;
    W_RC(mc_heap_add(mut, &fx_Rec_type, lr, &sh), 0);
    root->recs[1] = sh; /* marked by the first collection, then detached */
    W_RC(mc_heap_add(mut, &mc_type_bytes, "garbage", &sh), 0);
    __atomic_store_n(&root->counter, 1, __ATOMIC_RELEASE); /* go */
    W_RC(mc_heap_gc(heap), MC_EAGAIN);
    root->recs[1] = NULL;
    for (int i = 1; i < 255; i++)
        if (W_RC(mc_heap_gc(heap), MC_EAGAIN) != MC_EAGAIN)
            break;
    mc_heap_stats st;
    W_RC(mc_heap_stats_get(heap, &st), 0);
    W_CHECK(st.collections == 0 && st.skipped == 255,
            "collections %llu skipped %llu",
            (unsigned long long)st.collections,
            (unsigned long long)st.skipped);
    W_CHECK(root->recs[0]->i == 42 &&
                strcmp(root->recs[0]->s, "kept across skipped collections") ==
                    0,
            "rec after skipped collections");
    W_RC(mc_heap_commit(mut), 0);
    W_JOIN_OK(tu_driver_jp, pid, "waiting reader");

    /* the first complete collection: the garbage goes, the rest stays */
    W_RC(mc_heap_gc(heap), 0);
    W_RC(mc_heap_stats_get(heap, &st), 0);
    size_t want = graph_bytes(root);
    W_CHECK(st.collections == 1 && st.live_bytes == want,
            "collections %llu live %zu, graph %zu",
            (unsigned long long)st.collections, st.live_bytes, want);
    W_CHECK(root->counter == 11, "counter %lld", (long long)root->counter);
    W_CHECK(root->recs[0]->i == 42 &&
                strcmp(root->recs[0]->s, "kept across skipped collections") ==
                    0,
            "rec after the collection");
    fx_free_graph(&fx_Rec_type, lr);
    alarm(0);
    drop_heap(pool, heap);
}

static void test_waiting_reader(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_waiting_reader, NULL, 0);
    tu_end();
}

/* --------------------------------------------- reader slots, many heaps */

#define NSLOT_HEAPS 20

/* Reads the heap once and stores its pid in the root: a reader that found
 * no slot would wait for the lock, held by the driver's mutation. */
static int mark_read(const void *rootp, void *ctx)
{
    (void)ctx;
    store_pid(rootp);
    return 0;
}

static void drv_slot_reader(const void *arg, size_t len)
{
    share_arg a;
    mc_pool *pool;
    if (share_open(arg, len, &a, &pool))
        return;
    W_RC(mc_heap_root_p(a.heap, mark_read, NULL), 0);
    W_RC(mc_pool_release(pool), 0);
}

/* One thread reading more heaps than its slot cache holds
 * (8), in turn, claimed a new slot of a heap at every cache miss until it
 * held all of them; then other processes' readers waited for mutations and
 * a read inside a mutation of the same heap returned MC_ESTATE. */
static void drv_reader_slots(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    alarm(120);
    mc_pool *pool;
    if (W_RC(mc_pool_create(64 * MiB, &pool), 0))
        return;
    mc_heap *h[NSLOT_HEAPS];
    fx_Root init = {.counter = 0};
    for (int i = 0; i < NSLOT_HEAPS; i++)
        if (W_RC(mc_heap_create(pool, &fx_Root_type, &init, &h[i]), 0))
            return;
    /* more rounds than a heap has slots */
    for (int r = 0; r < MC__NREADERS + 20 && !tu_w_failed(); r++)
        for (int i = 0; i < NSLOT_HEAPS; i++) {
            void *copy;
            if (W_RC(mc_heap_root_c(h[i], &copy), 0))
                break;
            mc_local_free(copy);
        }
    /* this thread holds one slot of each heap, no more */
    for (int i = 0; i < NSLOT_HEAPS; i++) {
        int held = 0;
        for (int s = 0; s < MC__NREADERS; s++)
            held += __atomic_load_n(&h[i]->readers[s].tid, __ATOMIC_RELAXED)
                    != 0;
        W_CHECK(held == 1, "heap %d: %d reader slots held", i, held);
    }
    mc_mut *mut;
    if (W_RC(mc_heap_begin(h[0], &mut), 0))
        return;
    /* a read inside our own mutation never takes the lock */
    void *copy = NULL;
    if (W_RC(mc_heap_root_c(h[0], &copy), 0) == 0)
        mc_local_free(copy);
    /* another process reads while the mutation is open */
    fx_Root *root = mc_heap_mut_root(mut);
    share_arg a = {mc_pool_id(pool), h[0], 0, 0};
    mc_pid pid;
    int started = W_RC(tu_start_fn(drv_slot_reader, &a, sizeof a, &pid),
                       0) == 0;
    if (started) {
        int64_t t0 = tu_now_ms();
        while (__atomic_load_n(&root->pid, __ATOMIC_ACQUIRE) == 0 &&
               tu_now_ms() - t0 < 20000)
            usleep(1000);
        W_CHECK(__atomic_load_n(&root->pid, __ATOMIC_ACQUIRE) != 0,
                "the other process's read waited for the mutation");
    }
    W_RC(mc_heap_commit(mut), 0);
    if (started)
        W_JOIN_OK(tu_driver_jp, pid, "slot reader");
    for (int i = 0; i < NSLOT_HEAPS; i++)
        W_RC(mc_heap_destroy(h[i]), 0);
    W_RC(mc_pool_release(pool), 0);
    alarm(0);
}

static void test_reader_slots(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_reader_slots, NULL, 0);
    tu_end();
}

/* ---------------------------------------------------------- double use */

static int nop_modify(mc_mut *mut, void *root, void *ctx)
{
    (void)root;
    *(mc_mut **)ctx = mut;
    return 0;
}

/* A handle used again after the call that ends it is an
 * error, not a crash (commit twice was a SEGV). */
static void drv_double_use(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_pool *pool;
    mc_heap *heap;
    if (make_heap(16 * MiB, &pool, &heap))
        return;
    mc_mut *mut;
    if (W_RC(mc_heap_begin(heap, &mut), 0))
        return;
    W_RC(mc_heap_destroy(heap), MC_ESTATE); /* our own mutation is open */
    W_RC(mc_heap_commit(mut), 0);
    /* mut is freed: only its address is compared */
    W_RC(mc_heap_commit(mut), MC_ESTATE);
    fx_Node one = {1, NULL};
    void *p;
    W_RC(mc_heap_add(mut, &fx_Node_type, &one, &p), MC_ESTATE);
    W_RC(mc_heap_alloc(mut, &fx_Node_type, 1, &p), MC_ESTATE);
    W_RC(mc_heap_pin(mut, mc_heap_root_ro(heap)), MC_ESTATE);
    W_CHECK(mc_heap_mut_root(mut) == NULL, "root of a committed mutation");
    /* a callback's mutation ends with the callback */
    mc_mut *gone = NULL;
    W_RC(mc_heap_modify(heap, nop_modify, &gone), 0);
    W_RC(mc_heap_alloc(gone, &fx_Node_type, 1, &p), MC_ESTATE);
    /* the heap is still usable */
    if (W_RC(mc_heap_begin(heap, &mut), 0) == 0)
        W_RC(mc_heap_commit(mut), 0);

    W_RC(mc_heap_destroy(heap), 0);
    W_RC(mc_heap_destroy(heap), MC_EINVAL);
    W_CHECK(mc_heap_root_ro(heap) == NULL, "root of a destroyed heap");
    void *copy;
    W_RC(mc_heap_root_c(heap, &copy), MC_EINVAL);
    W_RC(mc_heap_begin(heap, &mut), MC_EINVAL);
    W_RC(mc_heap_gc(heap), MC_EINVAL);
    mc_heap_stats st;
    W_RC(mc_heap_stats_get(heap, &st), MC_EINVAL);

    mc_sref *sr;
    fx_Node init = {7, NULL};
    if (W_RC(mc_sref_create(pool, &fx_Node_type, &init, &sr), 0) == 0) {
        W_RC(mc_sref_destroy(sr), 0);
        W_RC(mc_sref_destroy(sr), MC_EINVAL);
        W_CHECK(mc_sref_deref_ro(sr) == NULL, "value of a destroyed sref");
        W_CHECK(mc_sref_type(sr) == NULL, "type of a destroyed sref");
        W_RC(mc_sref_deref_c(sr, &copy), MC_EINVAL);
        W_RC(mc_sref_assign(sr, &init), MC_EINVAL);
    }
    W_RC(mc_pool_release(pool), 0);
}

static void test_double_use(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_double_use, NULL, 0);
    tu_end();
}

/* ----------------------------------------------- strings out of a heap */

/* Copies out of a heap take a string's length from its block (no strlen):
 * a block longer than its string, one with no NUL at all (written by hand
 * through mc_heap_alloc), an empty string and a string of a block of its
 * own (past the large-block size) must all come out as C strings. */
static int put_strings(mc_mut *mut, void *rootp, void *ctx)
{
    fx_Root *root = rootp;
    char *big = ctx;
    void *sh;
    int rc = mc_heap_alloc(mut, &mc_type_bytes, 64, &sh);
    if (rc)
        return rc;
    strcpy(sh, "short"); /* 6 of 64 bytes */
    root->scratch = sh;
    fx_Rec *r = fx_new_rec(1, 1.0, big);
    rc = mc_heap_add(mut, &fx_Rec_type, r, &sh);
    fx_free_graph(&fx_Rec_type, r);
    if (rc)
        return rc;
    root->recs[0] = sh;
    r = fx_new_rec(2, 2.0, "");
    rc = mc_heap_add(mut, &fx_Rec_type, r, &sh);
    fx_free_graph(&fx_Rec_type, r);
    root->recs[1] = sh;
    return rc;
}

static int unterminate(mc_mut *mut, void *rootp, void *ctx)
{
    (void)mut;
    (void)ctx;
    memset(((fx_Root *)rootp)->scratch, 'x', 64);
    return 0;
}

static void drv_heap_strings(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *pool;
    mc_heap *heap;
    if (make_heap(64 * MiB, &pool, &heap))
        return;
    size_t n = 3 * MC__LARGE_BLOCK + 5;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n] = '\0';
    W_RC(mc_heap_modify(heap, put_strings, big), 0);
    W_RC(mc_heap_gc(heap), 0); /* MC_DEBUG: verified */
    void *c = NULL;
    W_RC(mc_heap_root_c(heap, &c), 0);
    fx_Root *cr = c;
    W_CHECK(cr && cr->scratch && strcmp(cr->scratch, "short") == 0,
            "a string shorter than its block");
    W_CHECK(cr && cr->recs[0] && strcmp(cr->recs[0]->s, big) == 0,
            "a large string");
    W_CHECK(cr && cr->recs[1] && strcmp(cr->recs[1]->s, "") == 0,
            "an empty string");
    mc_local_free(c);
    W_RC(mc_heap_modify(heap, unterminate, NULL), 0);
    W_RC(mc_heap_root_c(heap, &c), 0);
    cr = c;
    W_CHECK(cr && cr->scratch && strlen(cr->scratch) == 63 &&
                cr->scratch[0] == 'x' && cr->scratch[62] == 'x',
            "a block without a NUL comes out terminated");
    mc_local_free(c);
    free(big);
    drop_heap(pool, heap);
}

static void test_heap_strings(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_heap_strings, NULL, 0);
    tu_end();
}

/* ------------------------------------------- a type with a table alone */

/* Add an unreachable fx_TabRec: garbage for the collection. */
static int add_garbage(mc_mut *mut, void *root, void *ctx)
{
    (void)root;
    void *p;
    return mc_heap_add(mut, &fx_TabRec_type, ctx, &p);
}

/* A heap whose root type has a pointer table and no copy or trace
 * function: copies in and out and the collector follow the table (a
 * collector that did not would free what the root points to; MC_DEBUG
 * poisons freed blocks and verifies the heap after each collection). */
static void drv_table_only(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    setenv("MC_DEBUG", "1", 1);
    int32_t nums[3] = {7, 8, 9};
    fx_TabRec a = {"a", 1, 3, nums, NULL}, b = {"b", 0, 0, NULL, &a};
    a.next = &b;
    mc_pool *pool;
    mc_heap *heap;
    if (W_RC(mc_pool_create(64 * MiB, &pool), 0))
        return;
    if (W_RC(mc_heap_create(pool, &fx_TabRec_type, &a, &heap), 0)) {
        mc_pool_release(pool);
        return;
    }
    for (int i = 0; i < 200; i++)
        W_RC(mc_heap_modify(heap, add_garbage, &b), 0);
    W_RC(mc_heap_gc(heap), 0);
    W_RC(mc_heap_gc(heap), 0); /* MC_DEBUG: verified */
    mc_heap_stats st;
    W_RC(mc_heap_stats_get(heap, &st), 0);
    W_CHECK(st.collections >= 2, "collections");
    /* more of the same: blocks the collector wrongly freed would be
     * handed out again, and the root's fields overwritten */
    for (int i = 0; i < 200; i++)
        W_RC(mc_heap_modify(heap, add_garbage, &b), 0);
    const fx_TabRec *r = mc_heap_root_ro(heap);
    W_CHECK(strcmp(r->name, "a") == 0 && r->nlen == 3 && r->nums[2] == 9 &&
                strcmp(r->next->name, "b") == 0 && r->next->next == r,
            "the root graph outlived the collections");
    void *c = NULL;
    W_RC(mc_heap_root_c(heap, &c), 0);
    const fx_TabRec *cr = c;
    W_CHECK(cr && cr != r && cr->next->next == cr && cr->nums != r->nums &&
                cr->nums[0] == 7 && strcmp(cr->next->name, "b") == 0,
            "a local copy of the root");
    mc_local_free(c);
    drop_heap(pool, heap);
}

static void test_table_only(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_table_only, NULL, 0);
    tu_end();
}

/* ------------------------------------------------- links into the heap */

/* A record copied by its copy function (no pointer table): the generated
 * copy code's helpers (mc_copy_ptr, mc_copy_str, mc_copy_own) link too. */
typedef struct lk_Pair {
    fx_Rec *rec;
    char *name;
    fx_Strs *arr;
} lk_Pair;

static int lk_pair_copy(mc_copier *c, void *dst, const void *src)
{
    const lk_Pair *s = src;
    lk_Pair *d = dst;
    int rc = mc_copy_ptr(c, &fx_Rec_type, 1, (void *const *)&s->rec,
                         (void **)&d->rec);
    if (!rc)
        rc = mc_copy_str(c, &s->name, &d->name);
    if (!rc)
        rc = mc_copy_own(c, &fx_Strs_type, 1, (void *const *)&s->arr,
                         (void **)&d->arr);
    return rc;
}

static void lk_pair_trace(mc_tracer *tr, const void *obj)
{
    const lk_Pair *p = obj;
    mc_trace_ptr(tr, p->rec);
    mc_trace_ptr(tr, p->name);
    mc_trace_ptr(tr, p->arr);
}

static const mc_type lk_Pair_type = {
    .name = "lk_Pair",
    .id = 0x6c6b506169720001ull,
    .size = sizeof(lk_Pair),
    .align = _Alignof(lk_Pair),
    .copy = lk_pair_copy,
    .trace = lk_pair_trace,
};

static size_t live_now(mc_heap *heap)
{
    mc_heap_stats st = {0};
    W_RC(mc_heap_stats_get(heap, &st), 0);
    return st.live_bytes;
}

/* mc_heap_add of a local value whose pointers lead into the same heap links
 * them (same address, no new block); into another heap, or local memory,
 * copies them.  The collector keeps what is linked (MC_DEBUG verifies every
 * pointer and poisons what it frees) and the live size is exactly the
 * graph's. */
static void drv_link(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *pool;
    mc_heap *heap, *other;
    if (make_heap(64 * MiB, &pool, &heap))
        return;
    fx_Root init = {.counter = 0};
    if (W_RC(mc_heap_create(pool, &fx_Root_type, &init, &other), 0))
        return;

    /* another heap's node, in a chunk that heap's chunks surround: the
     * chunk index, not the range test, must tell it apart */
    mc_mut *om;
    void *sh = NULL;
    W_RC(mc_heap_begin(other, &om), 0);
    fx_Root *oroot = mc_heap_mut_root(om);
    fx_Node *lo = fx_new_list(1, 500);
    /* types entered in the order the first heap enters them: a node's
     * header is the same in both (the type index), so only the chunk
     * tells */
    W_RC(mc_heap_alloc(om, &mc_type_bytes, 16, &sh), 0);
    W_RC(mc_heap_add(om, &fx_Node_type, lo, &sh), 0);
    oroot->lists[0] = sh;
    W_RC(mc_heap_commit(om), 0);

    mc_mut *mut;
    W_RC(mc_heap_begin(heap, &mut), 0);
    fx_Root *root = mc_heap_mut_root(mut);
    W_RC(mc_heap_alloc(mut, &mc_type_bytes, 20000, &sh), 0); /* a chunk */
    root->scratch = sh;
    const mc_heap *hh = heap;
    uintptr_t on = (uintptr_t)oroot->lists[0];
    W_CHECK(on >= hh->span_lo && on < hh->span_hi,
            "the other heap's node %#lx lies in this heap's span [%#lx, "
            "%#lx)", (unsigned long)on, (unsigned long)hh->span_lo,
            (unsigned long)hh->span_hi);

    fx_Node *ll = fx_new_list(3, 10);
    W_RC(mc_heap_add(mut, &fx_Node_type, ll, &sh), 0);
    root->lists[0] = sh;
    W_CHECK(mc__bw_type(mc__ld(mc__hdr(oroot->lists[0]))) ==
                mc__bw_type(mc__ld(mc__hdr(root->lists[0]))),
            "both heaps gave fx_Node the same type index");
    fx_Rec *lr = fx_new_rec(7, 1.5, "shared label");
    W_RC(mc_heap_add(mut, &fx_Rec_type, lr, &sh), 0);
    root->recs[0] = sh;
    fx_Strs *ls = fx_new_strs(4, 3);
    W_RC(mc_heap_add(mut, &fx_Strs_type, ls, &sh), 0);
    root->arrs[0] = sh;

    /* a reference: the new node is the only block made */
    W_RC(mc_heap_gc(heap), 0);
    size_t live0 = live_now(heap);
    fx_Node n = {.v = 99, .next = root->lists[0]};
    W_RC(mc_heap_add(mut, &fx_Node_type, &n, &sh), 0);
    root->lists[1] = sh;
    W_CHECK(root->lists[1] != &n && root->lists[1]->v == 99 &&
                root->lists[1]->next == root->lists[0],
            "a reference into the heap is kept: %p, heap's %p",
            (void *)root->lists[1]->next, (void *)root->lists[0]);
    W_RC(mc_heap_gc(heap), 0);
    size_t live1 = live_now(heap);
    W_CHECK(live1 - live0 == block_bytes(&fx_Node_type, 1),
            "linking made one block: live %zu -> %zu", live0, live1);

    /* a string and an array (owned pointers); an array of strings made
     * here whose first string is the heap's */
    fx_Tree t = {.key = 1, .label = root->recs[0]->s};
    W_RC(mc_heap_add(mut, &fx_Tree_type, &t, &sh), 0);
    root->trees[0] = sh;
    W_CHECK(root->trees[0]->label == root->recs[0]->s, "string kept");
    fx_Strs s2 = {.items = root->arrs[0]->items, .tag = 5};
    W_RC(mc_heap_add(mut, &fx_Strs_type, &s2, &sh), 0);
    root->arrs[1] = sh;
    W_CHECK(root->arrs[1]->items.data == root->arrs[0]->items.data &&
                root->arrs[1]->items.len == 4,
            "array kept");
    /* a value in a chunk made after the chunk index was (a large block
     * has a chunk of its own): the index is remade */
    fx_Strs *big = fx_new_strs(3000, 8);
    W_RC(mc_heap_add(mut, &fx_Strs_type, big, &sh), 0);
    root->arrs[3] = sh;
    fx_Strs s4 = {.items = root->arrs[3]->items, .tag = 9};
    W_RC(mc_heap_add(mut, &fx_Strs_type, &s4, &sh), 0);
    root->arrs[4] = sh;
    W_CHECK(root->arrs[4]->items.data == root->arrs[3]->items.data,
            "a value of a new chunk is linked");
    fx_free_graph(&fx_Strs_type, big);
    char *mixed[2] = {root->recs[0]->s, "made here"};
    fx_Strs s3 = {.items = {2, mixed}, .tag = 6};
    W_RC(mc_heap_add(mut, &fx_Strs_type, &s3, &sh), 0);
    root->arrs[2] = sh;
    W_CHECK(root->arrs[2]->items.data != mixed &&
                root->arrs[2]->items.data[0] == root->recs[0]->s &&
                root->arrs[2]->items.data[1] != mixed[1] &&
                strcmp(root->arrs[2]->items.data[1], "made here") == 0,
            "a local array is copied, the heap's string in it kept");

    /* another heap's value and a local one are copied */
    fx_Node n2 = {.v = 5, .next = oroot->lists[0]};
    W_RC(mc_heap_add(mut, &fx_Node_type, &n2, &sh), 0);
    root->lists[2] = sh;
    W_CHECK(root->lists[2]->next != oroot->lists[0] &&
                root->lists[2]->next->v == 500,
            "another heap's value is copied");
    fx_Node n3 = {.v = 6, .next = ll};
    W_RC(mc_heap_add(mut, &fx_Node_type, &n3, &sh), 0);
    root->lists[3] = sh;
    W_CHECK(root->lists[3]->next != ll && root->lists[3]->next->v == 10 &&
                root->lists[3]->next->next->next->v == 12,
            "a local value is copied");
    /* local nodes leading to a heap node: those copied, that one kept */
    fx_Node b = {.v = 2, .next = root->lists[0]}, a = {.v = 1, .next = &b};
    W_RC(mc_heap_add(mut, &fx_Node_type, &a, &sh), 0);
    root->lists[4] = sh;
    W_CHECK(root->lists[4]->next != &b &&
                root->lists[4]->next->next == root->lists[0],
            "copied up to the heap's node");
    /* the value itself is always a new block, even one of the heap */
    W_RC(mc_heap_add(mut, &fx_Node_type, root->lists[0], &sh), 0);
    root->lists[5] = sh;
    W_CHECK(root->lists[5] != root->lists[0] &&
                root->lists[5]->v == 10 &&
                root->lists[5]->next == root->lists[0]->next,
            "a heap value added: a new block, its references kept");

    /* a type copied by its copy function */
    lk_Pair pr = {root->recs[0], root->recs[0]->s, root->arrs[0]};
    W_RC(mc_heap_add(mut, &lk_Pair_type, &pr, &sh), 0);
    W_RC(mc_heap_pin(mut, sh), 0);
    const lk_Pair *hp = sh;
    W_CHECK(hp->rec == pr.rec && hp->name == pr.name && hp->arr == pr.arr,
            "mc_copy_ptr, mc_copy_str, mc_copy_own keep the heap's values");
    lk_Pair pl = {lr, "local name", ls};
    W_RC(mc_heap_add(mut, &lk_Pair_type, &pl, &sh), 0);
    hp = sh;
    W_CHECK(hp->rec != lr && hp->rec->i == 7 && hp->name != pl.name &&
                strcmp(hp->name, "local name") == 0 && hp->arr != ls &&
                hp->arr->items.len == 4,
            "and copy local ones");

    /* the first list now hangs from lists[1] (and lists[4], [5]) alone */
    root->lists[0] = NULL;
    root->scratch = NULL; /* (its block holds 20000 bytes, not a string) */
    W_RC(mc_heap_commit(mut), 0);
    W_RC(mc_heap_gc(heap), 0); /* MC_DEBUG: verified, freed poisoned */
    const fx_Root *r = mc_heap_root_ro(heap);
    W_CHECK(r->lists[1]->next->v == 10 && r->lists[1]->next->next->v == 11 &&
                r->lists[1]->next->next->next->v == 12 &&
                r->lists[4]->next->next == r->lists[1]->next &&
                strcmp(r->trees[0]->label, "shared label") == 0 &&
                strcmp(r->arrs[1]->items.data[3], "s3.3") == 0,
            "linked values outlive their first parent");
    size_t want = graph_bytes(r), live = live_now(heap);
    W_CHECK(live == want, "live %zu, graph %zu (distinct blocks)", live,
            want);

    fx_free_graph(&fx_Node_type, ll);
    fx_free_graph(&fx_Node_type, lo);
    fx_free_graph(&fx_Rec_type, lr);
    fx_free_graph(&fx_Strs_type, ls);
    W_RC(mc_heap_destroy(other), 0);
    drop_heap(pool, heap);
}

static void test_link(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_link, NULL, 0);
    tu_end();
}

/* An sref used as a persistent stack: each assign links the previous value
 * (no copy of the whole list), through collections. */
static void drv_link_sref(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    setenv("MC_DEBUG", "1", 1);
    mc_pool *pool;
    if (W_RC(mc_pool_create(64 * MiB, &pool), 0))
        return;
    fx_Node first = {.v = 0, .next = NULL};
    mc_sref *sref;
    if (W_RC(mc_sref_create(pool, &fx_Node_type, &first, &sref), 0))
        return;
    enum { N = 20000 };
    int ok = 1;
    for (int64_t i = 1; i <= N && ok; i++) {
        const fx_Node *top = mc_sref_deref_ro(sref);
        fx_Node n = {.v = i, .next = (fx_Node *)top};
        ok = W_RC(mc_sref_assign(sref, &n), 0) == 0;
        ok = ok && ((const fx_Node *)mc_sref_deref_ro(sref))->next == top;
    }
    W_CHECK(ok, "each assign keeps the previous value");
    mc_heap_stats st;
    W_RC(mc_heap_stats_get((mc_heap *)sref, &st), 0);
    W_CHECK(st.collections >= 2, "collections ran: %llu",
            (unsigned long long)st.collections);
    int64_t want = N;
    const fx_Node *x = mc_sref_deref_ro(sref);
    for (; x && x->v == want; x = x->next)
        want--;
    W_CHECK(!x && want == -1, "the list is whole (stopped at %lld)",
            (long long)want);
    W_RC(mc_sref_destroy(sref), 0);
    W_RC(mc_pool_release(pool), 0);
}

static void test_link_sref(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_link_sref, NULL, 0);
    tu_end();
}

static int group_setup(void **state)
{
    (void)state;
    tu_def_driver();
    rng_state = 0x9e3779b97f4a7c15ull;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_gc_property),
        cmocka_unit_test(test_pins),
        cmocka_unit_test(test_deep_and_large),
        cmocka_unit_test(test_enomem),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_kill_loop),
        cmocka_unit_test(test_dead_counters),
        cmocka_unit_test(test_dead_reader),
        cmocka_unit_test(test_quiet_deaths),
        cmocka_unit_test(test_waiting_reader),
        cmocka_unit_test(test_reader_slots),
        cmocka_unit_test(test_double_use),
        cmocka_unit_test(test_heap_strings),
        cmocka_unit_test(test_table_only),
        cmocka_unit_test(test_link),
        cmocka_unit_test(test_link_sref),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
