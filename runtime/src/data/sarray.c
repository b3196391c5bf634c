/* sarray.c: shared arrays (mcore/sarray.h), and the element store that
 * smatrix.c shares (arr.h).
 *
 * Layout.  The heap's root is an mc__arr: the element and header types,
 * the length, and up to 48 blocks.  Block 0 holds the first n0 elements
 * (the length at creation), block k >= 1 the next G << (k - 1), with G a
 * power of two >= max(n0, 16): the index of a block is one count of
 * leading zeros, and a grow adds blocks without moving an element.  A
 * block is a heap value of the element type (inline arrays: the elements'
 * bytes) or of slot_type (one pointer per element, to a heap value).
 *
 * Why blocks that never move, and not one block copied on grow: a copy
 * would race with lock-free inline sets (a set landing in the old block
 * after the copy read it is lost), which would need the setter to fence
 * and re-check, and readers of the old block would need the heap's epochs
 * to keep it alive.  With fixed blocks, an inline set is one store into
 * memory that lives as long as the array, a grow writes only elements at
 * or past the length (which nobody may set or read yet), and a reader
 * needs no protection for inline elements at all.  Blocks hold at most
 * twice the elements in use (G doubles), as a vector's capacity would.
 *
 * Crash consistency: the heap's one-store discipline, no intent record.
 * Every mutation prepares what it needs where no reader looks and then
 * publishes it with one store:
 *   - grow: new blocks are allocated (each stored in blk[k] at once, so
 *     the collector keeps it; blk[k] of an index past the length is never
 *     read), the new elements are written (all past the length), then the
 *     length is stored (release).  Killed before that store, the array is
 *     as it was; blocks it added stay reachable and the next grow reuses
 *     them (and rewrites their elements before publishing them).
 *   - set (slots), header_set: the copy is made by mc_heap_add (not
 *     reachable until stored), then one pointer store; killed before, the
 *     copy is garbage for the next collection.
 *   - set (inline): one store (1, 2, 4, 8 bytes) or a memcpy of one
 *     element, which a kill may leave half-written: that element only, as
 *     any write of a wide element interrupted (documented in sarray.h).
 * So the next locker after a death has nothing to repair: it is told with
 * MC_EOWNERDEAD (mc__heap_modify_dead) and its operation is done.
 *
 * Readers: inline elements are read in place with no protection (their
 * blocks live as long as the array); an element that is a heap value is
 * read in one of the heap's reader slots, as srefs are, so the collection
 * that follows a set does not free it under the reader.
 *
 * Cost: a set or read of a heap-value element costs no more than the
 * same on an sref (issue 12: within 1.2x, met with 0.95 by instruction
 * count).  Since slots never move, the slot's address is computed before
 * the heap's lock or reader slot is taken, and heap.c's mc__heap_set_slot
 * and mc__heap_read_slot do the rest with no callback in between (an
 * mc_heap_modify / mc_heap_root_p callback that indexed the array again
 * cost 14% more than an sref's assign, 33% more than its deref_p).
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "data/arr.h"
#include "mcore/sarray.h"
#include "mem/copy.h"
#include "mem/heap_descr.h"
#include "mem/heap_internal.h"

/* ----------------------------------------------------------- root type */

static int root_copy(mc_copier *c, void *dst, const void *src)
{
    const mc__arr *s = src;
    mc__arr *d = dst;
    *d = *s;
    d->header = NULL;
    d->len = 0;
    memset(d->blk, 0, sizeof d->blk);
    return s->ht ? mc_copy_ptr(c, s->ht, 1, &s->header, &d->header) : 0;
}

static void root_trace(mc_tracer *tr, const void *obj)
{
    const mc__arr *a = obj;
    mc_trace_ptr(tr, a->header);
    for (unsigned k = 0; k < MC__ARR_NB; k++)
        mc_trace_ptr(tr, a->blk[k]);
}

/* not user-visible: these ids only tell an sarray's heap from a
 * matrix's and from other heaps when a descriptor is looked up */
const mc_type mc__sarray_root_type = {
    .name = "mc_sarray_root", .id = 0x6d635f7361727231ull,
    .size = sizeof(mc__arr), .align = _Alignof(mc__arr),
    .copy = root_copy, .trace = root_trace,
};
const mc_type mc__smatrix_root_type = {
    .name = "mc_smatrix_root", .id = 0x6d635f736d617431ull,
    .size = sizeof(mc__arr), .align = _Alignof(mc__arr),
    .copy = root_copy, .trace = root_trace,
};

/* A block of slots: one pointer to a heap value per element. */
static void slot_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, *(void *const *)obj);
}

static const mc_type slot_type = {
    .name = "mc_sarray_slot", .id = 0x6d635f736c6f7431ull,
    .size = sizeof(void *), .align = _Alignof(void *),
    .trace = slot_trace,
};

/* Elements without pointers (nothing to trace, no sync fields to set up)
 * are stored as their bytes. */
static int is_inline(const mc_type *t)
{
    return !t->trace && !t->ptrs && !t->init_sync;
}

/* The block of element i (> 0 blocks only when i >= n0). */
static unsigned block_of(const mc__arr *a, size_t i)
{
    if (i < a->n0)
        return 0;
    size_t q = ((i - a->n0) >> a->gshift) + 1;
    return 64 - (unsigned)__builtin_clzll(q);
}

static size_t block_len(const mc__arr *a, unsigned k)
{
    return k == 0 ? a->n0 : (size_t)1 << (a->gshift + k - 1);
}

/* One element's bytes, atomically where the width allows (elements of
 * 1, 2, 4 and 8 bytes lie at multiples of their size: blocks are
 * 16-aligned).  Relaxed, as sarray.h says: a store of an element orders
 * nothing else (an acquire or release would also keep the compiler from
 * hoisting the checks of the inline accessors out of a loop). */
static inline void store_elem(char *p, const void *v, size_t size)
{
    switch (size) {
    case 8: {
        uint64_t x;
        memcpy(&x, v, 8);
        __atomic_store_n((uint64_t *)(void *)p, x, __ATOMIC_RELAXED);
        break;
    }
    case 4: {
        uint32_t x;
        memcpy(&x, v, 4);
        __atomic_store_n((uint32_t *)(void *)p, x, __ATOMIC_RELAXED);
        break;
    }
    case 2: {
        uint16_t x;
        memcpy(&x, v, 2);
        __atomic_store_n((uint16_t *)(void *)p, x, __ATOMIC_RELAXED);
        break;
    }
    case 1:
        __atomic_store_n((uint8_t *)p, *(const uint8_t *)v, __ATOMIC_RELAXED);
        break;
    default:
        memcpy(p, v, size);
    }
}

static inline void load_elem(void *dst, const char *p, size_t size)
{
    switch (size) {
    case 8: {
        uint64_t x = __atomic_load_n((const uint64_t *)(const void *)p,
                                     __ATOMIC_RELAXED);
        memcpy(dst, &x, 8);
        break;
    }
    case 4: {
        uint32_t x = __atomic_load_n((const uint32_t *)(const void *)p,
                                     __ATOMIC_RELAXED);
        memcpy(dst, &x, 4);
        break;
    }
    case 2: {
        uint16_t x = __atomic_load_n((const uint16_t *)(const void *)p,
                                     __ATOMIC_RELAXED);
        memcpy(dst, &x, 2);
        break;
    }
    case 1:
        *(uint8_t *)dst = __atomic_load_n((const uint8_t *)p,
                                          __ATOMIC_RELAXED);
        break;
    default:
        memcpy(dst, p, size);
    }
}

static int dead_done(int rc, int dead, const char *fn)
{
    if (rc || !dead)
        return rc;
    return mc__err(MC_EOWNERDEAD, "%s: done; the previous holder of the "
                                  "heap's lock died inside a mutation (the "
                                  "container is valid)", fn);
}

/* ------------------------------------------------------------ creation */

struct fill_ctx {
    const mc__fill *f;
    const char *fn;
};

/* Allocate block k of a and publish it in blk[k] (reachable at once). */
static int add_block(mc_mut *mut, mc__arr *a, unsigned k, const char *fn)
{
    if (k >= MC__ARR_NB)
        return mc__err(MC_EINVAL, "%s: too many elements", fn);
    void *b;
    int rc = mc_heap_alloc(mut, a->esize ? a->t : &slot_type, block_len(a, k),
                           &b);
    if (rc)
        return rc;
    __atomic_store_n(&a->blk[k], b, __ATOMIC_RELEASE);
    return 0;
}

static int fill_first(mc_mut *mut, void *root, void *ctx)
{
    mc__arr *a = root;
    const mc__fill *f = ((struct fill_ctx *)ctx)->f;
    const char *fn = ((struct fill_ctx *)ctx)->fn;
    size_t n = a->n0, es = a->t->size;
    int rc = add_block(mut, a, 0, fn);
    if (rc)
        return rc;
    char *b = a->blk[0];
    if (a->esize) {
        if (f->kind == MC__FILL_ARRAY) {
            memcpy(b, f->src, n * es);
        } else if (f->kind == MC__FILL_ONE) {
            for (size_t i = 0; i < n; i++)
                memcpy(b + i * es, f->src, es);
        } else {
            /* the block is zeroed: fn writes the element in place */
            for (size_t i = 0; i < n; i++)
                if ((rc = f->fn(f->ctx, i, b + i * es)))
                    return rc;
        }
    } else {
        void **slot = (void **)(void *)b;
        void *v;
        if (f->kind == MC__FILL_ARRAY) {
            for (size_t i = 0; i < n; i++) {
                /* each copy is attached before the next add collects */
                if ((rc = mc_heap_add(mut, a->t, (const char *)f->src + i * es,
                                      &v)))
                    return rc;
                slot[i] = v;
            }
        } else if (f->kind == MC__FILL_ONE) {
            if ((rc = mc_heap_add(mut, a->t, f->src, &v)))
                return rc;
            for (size_t i = 0; i < n; i++)
                slot[i] = v;
        } else {
            char *tmp = malloc(es);
            if (!tmp)
                return mc__err(MC_ENOMEM, "%s: no memory", fn);
            for (size_t i = 0; i < n && !rc; i++) {
                memset(tmp, 0, es);
                if (!(rc = f->fn(f->ctx, i, tmp)) &&
                    !(rc = mc_heap_add(mut, a->t, tmp, &v)))
                    slot[i] = v;
            }
            free(tmp);
            if (rc)
                return rc;
        }
    }
    __atomic_store_n(&a->len, n, __ATOMIC_RELEASE);
    return 0;
}

int mc__arr_create(mc_pool *pool, const mc_type *rt, const mc_type *t,
                   size_t n, size_t rows, size_t cols, const mc__fill *f,
                   const mc_type *ht, const void *header, void **out,
                   const char *fn)
{
    if (!pool || !t || !out)
        return mc__err(MC_EINVAL, "%s: NULL argument", fn);
    if (!ht != !header)
        return mc__err(MC_EINVAL, "%s: a header type needs a header value "
                                  "and the reverse", fn);
    if (t->size == 0 || t->align > 16 || (t->align & (t->align - 1)))
        return mc__err(MC_EINVAL, "%s: element type %s has size %zu and "
                                  "alignment %zu", fn, t->name, t->size,
                       t->align);
    if (n > MC_SARRAY_MAX_LEN)
        return mc__err(MC_EINVAL, "%s: %zu elements (at most 2^40)", fn, n);
    if (n && f->kind != MC__FILL_FN && !f->src)
        return mc__err(MC_EINVAL, "%s: NULL elements", fn);
    unsigned gshift = 4;
    while (((size_t)1 << gshift) < n)
        gshift++;
    mc__arr init = {.magic = MC__ARR_LIVE,
                    .key = is_inline(t) ? MC__ARR_KEY(t->size) : 0,
                    .n0 = n, .gshift = gshift,
                    .esize = is_inline(t) ? (uint32_t)t->size : 0, .t = t,
                    .ht = ht, .header = (void *)header, .rows = rows,
                    .cols = cols};
    if (t->size > UINT32_MAX)
        return mc__err(MC_EINVAL, "%s: element type %s is too large", fn,
                       t->name);
    mc_heap *h;
    int rc = mc_heap_create(pool, rt, &init, &h);
    if (rc)
        return rc;
    mc__arr *a = mc_heap_root_ro(h);
    a->heap = h; /* before anyone has the handle */
    if (n) {
        struct fill_ctx c = {f, fn};
        rc = mc_heap_modify(h, fill_first, &c);
        if (rc) {
            mc_heap_destroy(h);
            return rc;
        }
    }
    *out = a;
    return 0;
}

/* --------------------------------------------------------------- grow */

struct grow_ctx {
    size_t n;
    const void *v;
    const char *fn;
};

static int do_grow(mc_mut *mut, void *root, void *ctx)
{
    mc__arr *a = root;
    struct grow_ctx *g = ctx;
    size_t len = a->len, es = a->t->size;
    if (g->n <= len)
        return 0;
    if (!g->v)
        return mc__err(MC_EINVAL, "%s: NULL value", g->fn);
    unsigned kmax = block_of(a, g->n - 1);
    if (kmax >= MC__ARR_NB)
        return mc__err(MC_EINVAL, "%s: too many elements", g->fn);
    int rc;
    for (unsigned k = a->n0 ? 0 : 1; k <= kmax; k++)
        if (!a->blk[k] && (rc = add_block(mut, a, k, g->fn)))
            return rc;
    if (a->esize) {
        for (size_t i = len; i < g->n; i++)
            memcpy(mc__arr_at(a, i), g->v, es);
    } else {
        void *v; /* added last: a block allocation may collect */
        if ((rc = mc_heap_add(mut, a->t, g->v, &v)))
            return rc;
        for (size_t i = len; i < g->n; i++)
            *(void **)(void *)mc__arr_at(a, i) = v;
    }
    /* the one store that publishes the grow */
    __atomic_store_n(&a->len, g->n, __ATOMIC_RELEASE);
    return 0;
}

int mc__arr_grow(void *h, size_t n, const void *v, const char *fn)
{
    const mc__arr *a = mc__arr_root(h);
    if (!a)
        return mc__err(MC_EINVAL, "%s: NULL or destroyed array", fn);
    if (n > MC_SARRAY_MAX_LEN)
        return mc__err(MC_EINVAL, "%s: %zu elements (at most 2^40)", fn, n);
    if (n <= mc__arr_len(a))
        return 0;
    if (!v)
        return mc__err(MC_EINVAL, "%s: NULL value", fn);
    struct grow_ctx g = {n, v, fn};
    int dead;
    int rc = mc__heap_modify_dead(a->heap, do_grow, &g, &dead);
    return dead_done(rc, dead, fn);
}

/* ---------------------------------------------------------------- set */

static int bad_index(const char *fn, size_t i, size_t len)
{
    return mc__err(MC_EINVAL, "%s: index %zu out of range (length %zu)", fn,
                   i, len);
}

int mc__arr_set(void *h, size_t i, const void *v, const char *fn)
{
    const mc__arr *a = mc__arr_root(h);
    if (MC_UNLIKELY(!a || !v))
        return mc__err(MC_EINVAL, "%s: NULL or destroyed array, or NULL "
                                  "value", fn);
    size_t len = mc__arr_len(a);
    if (MC_UNLIKELY(i >= len))
        return bad_index(fn, i, len);
    const mc__arr_hot *hot = (const mc__arr_hot *)(const void *)a;
    if (MC_LIKELY(a->esize)) {
        store_elem(mc__arr_elem(hot, i, a->esize), v, a->t->size);
        return 0;
    }
    /* the slot's address is taken before the lock: blocks never move, and
     * i < len says that its block is published */
    return mc__heap_set_slot(
        a->heap, (void **)(void *)mc__arr_elem(hot, i, sizeof(void *)), a->t,
        v, fn);
}

/* -------------------------------------------------------------- reads */

int mc__arr_get(void *h, size_t i, void *dst, const char *fn)
{
    const mc__arr *a = mc__arr_root(h);
    if (MC_UNLIKELY(!a || !dst))
        return mc__err(MC_EINVAL, "%s: NULL or destroyed array, or NULL "
                                  "dst", fn);
    size_t len = mc__arr_len(a);
    if (MC_UNLIKELY(i >= len))
        return bad_index(fn, i, len);
    if (MC_UNLIKELY(!a->esize))
        return mc__err(MC_ETYPE, "%s: elements of %s have pointers (use "
                                 "the _c form)", fn, a->t->name);
    load_elem(dst, mc__arr_at(a, i), a->t->size);
    return 0;
}

const void *mc__arr_get_ro(void *h, size_t i)
{
    const mc__arr *a = mc__arr_root(h);
    if (!a || i >= mc__arr_len(a))
        return NULL;
    const char *p = mc__arr_at(a, i);
    return a->esize ? p
                  : __atomic_load_n((void *const *)(const void *)p,
                                    __ATOMIC_ACQUIRE);
}

/* Reads of an element that is a heap value: the slot's address is taken
 * before the read (as for set); the value it points to is loaded inside
 * the heap's reader slot (mc__heap_read_slot). */
struct copy_ctx {
    const mc_type *t;
    void **copy;
};

static int read_copy(const void *v, void *ctx)
{
    const struct copy_ctx *c = ctx;
    return mc__local_copy_heap(c->t, v, c->copy);
}

int mc__arr_get_c(void *h, size_t i, void **copy, const char *fn)
{
    const mc__arr *a = mc__arr_root(h);
    if (MC_UNLIKELY(!a || !copy))
        return mc__err(MC_EINVAL, "%s: NULL or destroyed array, or NULL "
                                  "copy", fn);
    size_t len = mc__arr_len(a);
    if (MC_UNLIKELY(i >= len))
        return bad_index(fn, i, len);
    const char *p = mc__arr_at(a, i);
    if (a->esize) {
        /* a snapshot first: the local copy then reads no shared bytes */
        size_t es = a->t->size;
        if (es <= 8) {
            uint64_t tmp[1];
            load_elem(tmp, p, es);
            return mc_local_copy(a->t, tmp, copy);
        }
        return mc_local_copy(a->t, p, copy);
    }
    struct copy_ctx c = {a->t, copy};
    return mc__heap_read_slot(a->heap, (void *const *)(const void *)p,
                              read_copy, &c);
}

int mc__arr_get_p(void *h, size_t i, int (*f)(const void *, void *),
                  void *ctx, const char *fn)
{
    const mc__arr *a = mc__arr_root(h);
    if (MC_UNLIKELY(!a || !f))
        return mc__err(MC_EINVAL, "%s: NULL or destroyed array, or NULL "
                                  "fn", fn);
    size_t len = mc__arr_len(a);
    if (MC_UNLIKELY(i >= len))
        return bad_index(fn, i, len);
    const char *p = mc__arr_at(a, i);
    if (a->esize) /* the block lives as long as the array */
        return f(p, ctx);
    return mc__heap_read_slot(a->heap, (void *const *)(const void *)p, f,
                              ctx);
}

/* ------------------------------------------------------------- header */

void *mc__arr_header_ro(void *h)
{
    const mc__arr *a = mc__arr_root(h);
    return a ? __atomic_load_n(&((mc__arr *)a)->header, __ATOMIC_ACQUIRE)
             : NULL;
}

static int hdr_check(const mc__arr *a, const void *p, const char *fn)
{
    if (!a || !p)
        return mc__err(MC_EINVAL, "%s: NULL or destroyed array, or NULL "
                                  "argument", fn);
    if (!a->ht)
        return mc__err(MC_EINVAL, "%s: the container has no header", fn);
    return 0;
}

static int hdr_copy(const void *root, void *ctx)
{
    const mc__arr *a = root;
    return mc__local_copy_heap(
        a->ht, __atomic_load_n(&((mc__arr *)a)->header, __ATOMIC_ACQUIRE),
        ctx);
}

int mc__arr_header_c(void *h, void **copy, const char *fn)
{
    const mc__arr *a = mc__arr_root(h);
    int rc = hdr_check(a, copy, fn);
    return rc ? rc : mc_heap_root_p(a->heap, hdr_copy, copy);
}

struct hdr_ctx {
    int (*f)(const void *, void *);
    void *ctx;
};

static int hdr_pinned(const void *root, void *ctx)
{
    const mc__arr *a = root;
    const struct hdr_ctx *r = ctx;
    return r->f(__atomic_load_n(&((mc__arr *)a)->header, __ATOMIC_ACQUIRE),
                r->ctx);
}

int mc__arr_header_p(void *h, int (*f)(const void *, void *), void *ctx,
                     const char *fn)
{
    const mc__arr *a = mc__arr_root(h);
    int rc = hdr_check(a, (const void *)f, fn);
    struct hdr_ctx r = {f, ctx};
    return rc ? rc : mc_heap_root_p(a->heap, hdr_pinned, &r);
}

static int do_header_set(mc_mut *mut, void *root, void *ctx)
{
    mc__arr *a = root;
    void *v;
    int rc = mc_heap_add(mut, a->ht, ctx, &v);
    if (!rc)
        __atomic_store_n(&a->header, v, __ATOMIC_RELEASE);
    return rc;
}

int mc__arr_header_set(void *h, const void *v, const char *fn)
{
    const mc__arr *a = mc__arr_root(h);
    int rc = hdr_check(a, v, fn);
    if (rc)
        return rc;
    int dead;
    rc = mc__heap_modify_dead(a->heap, do_header_set, (void *)v, &dead);
    return dead_done(rc, dead, fn);
}

int mc__arr_destroy(void *h, const char *fn)
{
    mc__arr *a = mc__arr_root(h);
    if (!a)
        return mc__err(MC_EINVAL, "%s: NULL or destroyed container", fn);
    /* refused from now on (while the memory is not reused), even by the
     * inline functions of the public headers, which look at key only */
    uint64_t key = a->key;
    a->magic = 0;
    a->key = 0;
    int rc = mc_heap_destroy(a->heap);
    if (rc) {
        a->magic = MC__ARR_LIVE;
        a->key = key;
    }
    return rc ? mc__err_in(rc, fn) : 0;
}

/* -------------------------------------------------------- descriptors */

int mc__arr_descr(void *h, uint64_t *type_id, uint64_t *htype_id,
                  int64_t *pool, uint64_t *offset, uint64_t *gen,
                  const char *fn)
{
    const mc__arr *a = mc__arr_root(h);
    if (!a)
        return mc__err(MC_EINVAL, "%s: NULL or destroyed container", fn);
    mc__heap_ref ref;
    int rc = mc__heap_ref_of(a->heap, &ref);
    if (rc)
        return mc__err_in(rc, fn);
    *type_id = a->t->id;
    *htype_id = a->ht ? a->ht->id : 0;
    *pool = ref.pool;
    *offset = ref.offset;
    *gen = ref.gen;
    return 0;
}

int mc__arr_of_descr(int64_t pool, uint64_t offset, uint64_t gen,
                     uint64_t type_id, uint64_t htype_id, const mc_type *rt,
                     const mc_type *t, const mc_type *ht, void **out,
                     const char *fn)
{
    mc__heap_ref ref = {pool, offset, gen};
    mc_heap *h;
    int held;
    int rc = mc__heap_of_ref(&ref, rt, &h, &held, fn);
    if (rc == MC_ETYPE) /* another kind of container: not a type mismatch */
        return mc__err(MC_EINVAL, "%s: the descriptor names a heap that is "
                                  "not of this kind of container", fn);
    if (rc)
        return rc;
    mc__arr *a = mc_heap_root_ro(h);
    uint64_t want_h = ht ? ht->id : 0, have_h = a->ht ? a->ht->id : 0;
    if (type_id != t->id || a->t->id != t->id)
        return mc__heap_ref_refuse(
            pool, held,
            mc__err(MC_ETYPE, "%s: elements are %s (id %016llx), not %s "
                              "(id %016llx)", fn, a->t->name,
                    (unsigned long long)a->t->id, t->name,
                    (unsigned long long)t->id));
    if (htype_id != want_h || have_h != want_h)
        return mc__heap_ref_refuse(
            pool, held,
            mc__err(MC_ETYPE, "%s: the header is %s, not %s", fn,
                    a->ht ? a->ht->name : "absent",
                    ht ? ht->name : "absent"));
    *out = a;
    return 0;
}

/* ---------------------------------------------------------- the API */


int mc_sarray_create(mc_pool *pool, const mc_type *t, size_t n,
                     const void *elems, const mc_type *ht,
                     const void *header, mc_sarray **a)
{
    mc__fill f = {.kind = MC__FILL_ARRAY, .src = elems};
    return mc__arr_create(pool, &mc__sarray_root_type, t, n, 0, 0, &f, ht,
                          header, (void **)a, "mc_sarray_create");
}

int mc_sarray_make(mc_pool *pool, const mc_type *t, size_t n,
                   const void *value, const mc_type *ht, const void *header,
                   mc_sarray **a)
{
    if (!value)
        return mc__err(MC_EINVAL, "mc_sarray_make: NULL value");
    mc__fill f = {.kind = MC__FILL_ONE, .src = value};
    return mc__arr_create(pool, &mc__sarray_root_type, t, n, 0, 0, &f, ht,
                          header, (void **)a, "mc_sarray_make");
}

int mc_sarray_init(mc_pool *pool, const mc_type *t, size_t n,
                   mc_sarray_init_fn *fn, void *ctx, const mc_type *ht,
                   const void *header, mc_sarray **a)
{
    if (!fn)
        return mc__err(MC_EINVAL, "mc_sarray_init: NULL fn");
    mc__fill f = {.kind = MC__FILL_FN, .fn = fn, .ctx = ctx};
    return mc__arr_create(pool, &mc__sarray_root_type, t, n, 0, 0, &f, ht,
                          header, (void **)a, "mc_sarray_init");
}

int mc_sarray_destroy(mc_sarray *a)
{
    return mc__arr_destroy(a, "mc_sarray_destroy");
}

int mc_sarray_grow(mc_sarray *a, size_t n, const void *value)
{
    return mc__arr_grow(a, n, value, "mc_sarray_grow");
}

int mc_sarray_set(mc_sarray *a, size_t i, const void *value)
{
    return mc__arr_set(a, i, value, "mc_sarray_set");
}

const void *mc_sarray_get_ro(mc_sarray *a, size_t i)
{
    return mc__arr_get_ro(a, i);
}

int mc_sarray_get(mc_sarray *a, size_t i, void *dst)
{
    return mc__arr_get(a, i, dst, "mc_sarray_get");
}

int mc_sarray_get_c(mc_sarray *a, size_t i, void **copy)
{
    return mc__arr_get_c(a, i, copy, "mc_sarray_get_c");
}

int mc_sarray_get_p(mc_sarray *a, size_t i,
                    int (*fn)(const void *elem, void *ctx), void *ctx)
{
    return mc__arr_get_p(a, i, fn, ctx, "mc_sarray_get_p");
}

size_t mc_sarray_length(mc_sarray *a)
{
    const mc__arr *r = mc__arr_root(a);
    return r ? mc__arr_len(r) : 0;
}

void *mc_sarray_header_ro(mc_sarray *a)
{
    return mc__arr_header_ro(a);
}

int mc_sarray_header_c(mc_sarray *a, void **copy)
{
    return mc__arr_header_c(a, copy, "mc_sarray_header_c");
}

int mc_sarray_header_p(mc_sarray *a, int (*fn)(const void *header,
                                               void *ctx), void *ctx)
{
    return mc__arr_header_p(a, fn, ctx, "mc_sarray_header_p");
}

int mc_sarray_header_set(mc_sarray *a, const void *header)
{
    return mc__arr_header_set(a, header, "mc_sarray_header_set");
}

mc_heap *mc_sarray_heap(mc_sarray *a)
{
    const mc__arr *r = mc__arr_root(a);
    return r ? r->heap : NULL;
}

const mc_type *mc_sarray_type(mc_sarray *a)
{
    const mc__arr *r = mc__arr_root(a);
    return r ? r->t : NULL;
}

const mc_type *mc_sarray_header_type(mc_sarray *a)
{
    const mc__arr *r = mc__arr_root(a);
    return r ? r->ht : NULL;
}

int mc_sarray_is_inline(mc_sarray *a)
{
    const mc__arr *r = mc__arr_root(a);
    return r ? r->esize != 0 : 0;
}

int mc_sarray_scalar_error(mc_sarray *h, size_t i, size_t esize)
{
    const mc__arr *a = mc__arr_root(h);
    if (!a)
        return mc__err(MC_EINVAL, "mc_sarray_set_/get_<scalar>: NULL or "
                                  "destroyed array");
    if (a->esize != esize)
        return mc__err(MC_ETYPE, "mc_sarray_set_/get_<scalar>: elements of "
                                 "%s are not inline values of %zu bytes",
                       a->t->name, esize);
    size_t len = mc__arr_len(a);
    return i < len ? 0 : bad_index("mc_sarray_set_/get_<scalar>", i, len);
}

const mc__arr_hot mc__arr_none;

void *mc__arr_at_slow(const void *h, size_t i, size_t es)
{
    const mc__arr_hot *a = h;
    if (!a || a->key != MC__ARR_KEY(es))
        return NULL;
    if (i < a->n0)
        return (char *)a->blk[0] + i * es;
    if (i >= __atomic_load_n(&a->len, __ATOMIC_ACQUIRE))
        return NULL;
    return mc__arr_elem(a, i, es);
}

#define SARRAY_DESCR_MAGIC 0x6d63736172723031ull /* "mcsarr01" */

int mc_sarray_descr_of(mc_sarray *a, mc_sarray_descr *d)
{
    if (!d)
        return mc__err(MC_EINVAL, "mc_sarray_descr_of: NULL argument");
    mc_sarray_descr x = {.magic = SARRAY_DESCR_MAGIC};
    int rc = mc__arr_descr(a, &x.type_id, &x.htype_id, &x.pool,
                           &x.offset, &x.gen, "mc_sarray_descr_of");
    if (!rc)
        *d = x;
    return rc;
}

int mc_sarray_of_descr(const mc_sarray_descr *d, const mc_type *t,
                       const mc_type *ht, mc_sarray **a)
{
    if (!d || !t || !a)
        return mc__err(MC_EINVAL, "mc_sarray_of_descr: NULL argument");
    if (d->magic != SARRAY_DESCR_MAGIC)
        return mc__err(MC_EINVAL, "mc_sarray_of_descr: not an sarray "
                                  "descriptor");
    return mc__arr_of_descr(d->pool, d->offset, d->gen, d->type_id,
                            d->htype_id, &mc__sarray_root_type, t, ht,
                            (void **)a, "mc_sarray_of_descr");
}
