/* mcore/sarray.h: shared arrays (Netmcore_array): a growable array of
 * values of one mc_type, with an optional header of another type, in a
 * heap of its own.
 *
 * Storage.  Elements of a type without pointers (no trace function, no
 * pointer table, no sync fields: scalars, records of scalars) are stored
 * inline, as the bytes of the element: mc_sarray_set of an i64 or an f64
 * is one atomic store, with no lock and no allocation.  Elements of other
 * types are heap values (deep copies), and the array holds a pointer to
 * each: mc_sarray_set copies the value in under the heap's lock and
 * swings the pointer; the old value becomes garbage for the collector.
 *
 * Elements never move.  The array is a list of blocks of doubling size;
 * mc_sarray_grow adds blocks and never copies an element, so an element's
 * address (inline types) stays valid until the array is destroyed, a set
 * never races with a grow, and readers during a grow see the old length or
 * the new one, never a half-made element.
 *
 * Reads come in three forms (heap.h's access discipline), plus one:
 *   _ro  the element as it is, in shared memory.  Inline types: valid
 *        until mc_sarray_destroy (the value may change under you).  Other
 *        types: valid only while nobody sets that element (the old value
 *        may be freed by the collection that follows a set);
 *   _c   a process-local deep copy (free with mc_local_free);
 *   _p   the shared value, kept alive while a callback runs;
 *   mc_sarray_get: the bytes of an inline element into caller memory (no
 *        allocation: the fast form of _c for scalars).
 * None takes the heap's lock (elements with pointers are read in one of
 * the heap's reader slots: heap.h's caveats).
 *
 * Caveats.  An inline element wider than 8 bytes (a record of scalars) is
 * written and read byte by byte: a read concurrent with a set of the same
 * element may see parts of both values, and two concurrent sets of it may
 * leave a mix (serialize them yourself if it matters; elements of 1, 2, 4
 * or 8 bytes are atomic).  Inline sets and reads are relaxed atomics, as
 * plain stores and loads of a C array: a set orders nothing else, so a
 * value that another process should see *after* an element (a flag set
 * last) needs your own synchronization (a mutex, a camlbox message, a
 * join); a grow, though, publishes its new elements with the length.  The element and header types are fixed at
 * creation: values passed in are taken to be of them, unchecked.  An sarray
 * is a heap (heap.h's caveats apply: one mutation per heap per thread, so
 * mc_sarray_set, _grow and _header_set must not be called inside
 * mc_heap_modify of the array's own heap: they return MC_ESTATE).  A
 * destroyed array is refused (MC_EINVAL, NULL) while its header page is
 * not reused; no process may use it after mc_sarray_destroy.
 */
#ifndef MCORE_SARRAY_H
#define MCORE_SARRAY_H

#include <stddef.h>
#include <stdint.h>
#include "mcore/error.h"
#include "mcore/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mc_sarray mc_sarray; /**< same address in every process */

/** The largest length of an sarray (also bounded by 2^40 bytes a block). */
#define MC_SARRAY_MAX_LEN ((size_t)1 << 40)

/** Create an sarray in pool holding deep copies of the n elements of t at
 *  elems (a local array; NULL allowed when n is 0), and, if ht is not
 *  NULL, a header: a deep copy of *header (a local value of ht).
 *  @return 0, or
 *   - MC_EINVAL a NULL pool, t or a, elems NULL with n > 0, ht without
 *               header (or header without ht), a type of size 0 or with an
 *               alignment above 16, or n above MC_SARRAY_MAX_LEN
 *   - MC_ENOMEM the pool is full, or no process memory
 *   - MC_ESYS   the heap's lock could not be made
 *   - an error of a copy routine or init_sync of t or ht
 *  Nothing is left in the pool after an error. */
int mc_sarray_create(mc_pool *pool, const mc_type *t, size_t n,
                     const void *elems, const mc_type *ht,
                     const void *header, mc_sarray **a);

/** Create an sarray of n elements, all equal to *value (a local value of
 *  t).  Elements with pointers share one heap copy of it (as
 *  Netmcore_array.make); inline elements are n copies of its bytes.
 *  @return as mc_sarray_create (MC_EINVAL also for a NULL value) */
int mc_sarray_make(mc_pool *pool, const mc_type *t, size_t n,
                   const void *value, const mc_type *ht, const void *header,
                   mc_sarray **a);

/** fn of mc_sarray_init: write element i into elem (t->size zeroed local
 *  bytes).  Pointers in elem stay the caller's: the element is deep-copied
 *  after fn returns, and elem is reused for the next element.  Return 0, or
 *  a code that stops the creation. */
typedef int mc_sarray_init_fn(void *ctx, size_t i, void *elem);

/** Create an sarray of n elements, element i a deep copy of what fn(ctx,
 *  i, elem) wrote, for i = 0 .. n-1 in order.
 *  @return as mc_sarray_create (MC_EINVAL also for a NULL fn), or fn's
 *          first nonzero return (nothing left in the pool) */
int mc_sarray_init(mc_pool *pool, const mc_type *t, size_t n,
                   mc_sarray_init_fn *fn, void *ctx, const mc_type *ht,
                   const void *header, mc_sarray **a);

/** Free the array, its elements and its header (its heap).  Nobody may use
 *  it afterwards.
 *  @return 0, or
 *   - MC_EINVAL a is NULL or already destroyed
 *   - MC_ESTATE the calling thread mutates its heap (mc_heap_modify) */
int mc_sarray_destroy(mc_sarray *a);

/** Grow the array to n elements; each new one equal to *value (a local
 *  value of the element type): elements with pointers share one heap copy
 *  of it, inline ones get its bytes.  Existing elements are neither moved
 *  nor copied.  Nothing happens if n is not above the length (value may
 *  then be NULL).  Under the heap's lock; readers and inline sets go on
 *  meanwhile and see the new elements only once all are in place.
 *  @return 0, or
 *   - MC_EOWNERDEAD the array grew, and a previous holder of the heap's
 *                   lock died inside a mutation (its operation was lost
 *                   or finished; the array is valid: every operation
 *                   changes it by one final store)
 *   - MC_EINVAL     a is NULL or destroyed, value NULL (with n above the
 *                   length), or n above MC_SARRAY_MAX_LEN
 *   - MC_ESTATE     the calling thread already mutates the array's heap
 *   - MC_ENOMEM     the pool is full even after a collection, or no
 *                   process memory: the array is as it was (its length
 *                   and elements; blocks it took stay for the next grow)
 *   - MC_ESYS       the lock failed
 *   - an error of a copy routine of the type (the array as it was) */
int mc_sarray_grow(mc_sarray *a, size_t n, const void *value);

/** Replace element i with a copy of *value (a local value of the element
 *  type).  Inline types: a store of its bytes (atomic for 1, 2, 4 or 8
 *  bytes), no lock, no allocation.  Other types: a deep copy into the
 *  heap under its lock, then one pointer store.
 *  @return 0, or
 *   - MC_EINVAL     a or value is NULL, a is destroyed, or i is not below
 *                   the length (nothing written)
 *   - MC_EOWNERDEAD (types with pointers) done, and a previous holder of
 *                   the heap's lock died (as mc_sarray_grow)
 *   - MC_ESTATE     (types with pointers) the calling thread already
 *                   mutates the array's heap
 *   - MC_ENOMEM     (types with pointers) the pool is full even after a
 *                   collection, or no process memory (the old value stays)
 *   - MC_ESYS       the lock failed
 *   - an error of a copy routine of the type (the old value stays) */
int mc_sarray_set(mc_sarray *a, size_t i, const void *value);

/** Element i as it is in shared memory (see above for how long it stays
 *  valid); NULL if a is NULL or destroyed, or i is not below the length. */
const void *mc_sarray_get_ro(mc_sarray *a, size_t i);

/** Copy the bytes of inline element i into dst (t->size bytes).  No lock,
 *  no allocation.
 *  @return 0, or
 *   - MC_EINVAL a or dst is NULL, a is destroyed, or i is not below the
 *               length (dst unchanged)
 *   - MC_ETYPE  the element type has pointers (use mc_sarray_get_c) */
int mc_sarray_get(mc_sarray *a, size_t i, void *dst);

/** A local deep copy of element i; free with mc_local_free(*copy).
 *  @return 0, or
 *   - MC_EINVAL a or copy is NULL, a is destroyed, or i is not below the
 *               length (*copy unchanged)
 *   - MC_ENOMEM no process memory (*copy unchanged)
 *   - MC_ESYS   the lock failed, when no reader slot was free (heap.h)
 *   - an error of a copy routine of the type */
int mc_sarray_get_c(mc_sarray *a, size_t i, void **copy);

/** fn(elem, ctx) with element i kept alive while fn runs (fn must not keep
 *  the pointer, nor mutate the array's heap).
 *  @return fn's result, or
 *   - MC_EINVAL a or fn is NULL, a is destroyed, or i is not below the
 *               length (fn not called)
 *   - MC_ESYS   the lock failed, when no reader slot was free (heap.h) */
int mc_sarray_get_p(mc_sarray *a, size_t i,
                    int (*fn)(const void *elem, void *ctx), void *ctx);

/** The number of elements (0 for a NULL or destroyed array).  Grows only
 *  (mc_sarray_grow); an index below it stays valid. */
size_t mc_sarray_length(mc_sarray *a);

/** The header as it is in shared memory: valid while nobody replaces it
 *  with mc_sarray_header_set.  Its scalar fields may be updated in place
 *  (by atomic stores, or under your own lock); pointer fields only inside
 *  mc_heap_modify of mc_sarray_heap (values made with mc_heap_add).  NULL
 *  if a is NULL or destroyed, or has no header. */
void *mc_sarray_header_ro(mc_sarray *a);

/** A local deep copy of the header (free with mc_local_free).
 *  @return 0, or
 *   - MC_EINVAL a or copy is NULL, a is destroyed, or has no header
 *   - MC_ENOMEM no process memory (*copy unchanged)
 *   - MC_ESYS   the lock failed, when no reader slot was free (heap.h)
 *   - an error of a copy routine of the header type */
int mc_sarray_header_c(mc_sarray *a, void **copy);

/** fn(header, ctx) with the header kept alive while fn runs.
 *  @return fn's result, or
 *   - MC_EINVAL a or fn is NULL, a is destroyed, or has no header
 *   - MC_ESYS   the lock failed, when no reader slot was free (heap.h) */
int mc_sarray_header_p(mc_sarray *a, int (*fn)(const void *header,
                                               void *ctx), void *ctx);

/** Replace the header with a deep copy of *header (a local value of the
 *  header type), under the heap's lock.
 *  @return 0, or
 *   - MC_EINVAL     a or header is NULL, a is destroyed, or has no header
 *   - MC_EOWNERDEAD done, and a previous holder of the heap's lock died
 *                   (as mc_sarray_grow)
 *   - MC_ESTATE, MC_ENOMEM, MC_ESYS, a copy routine's error: as
 *                   mc_sarray_set (the old header stays) */
int mc_sarray_header_set(mc_sarray *a, const void *header);

/** The array's heap (for mc_heap_modify of the header in place); NULL for
 *  a NULL array. */
mc_heap *mc_sarray_heap(mc_sarray *a);

/** The element type and the header type (NULL: none); NULL if a is NULL
 *  or destroyed. */
const mc_type *mc_sarray_type(mc_sarray *a);
const mc_type *mc_sarray_header_type(mc_sarray *a);

/** 1 if elements are stored inline (a type without pointers), else 0. */
int mc_sarray_is_inline(mc_sarray *a);

/** A descriptor: plain bytes, valid in every process of the session. */
typedef struct mc_sarray_descr {
    uint64_t magic;
    uint64_t type_id;    /**< the element type's id */
    uint64_t htype_id;   /**< the header type's id (0: no header) */
    int64_t pool;        /**< pool resource id */
    uint64_t offset;     /**< of the heap in its pool */
    uint64_t gen;        /**< the heap's generation: stale ones fail */
} mc_sarray_descr;

/** The descriptor of an sarray.
 *  @return 0, or
 *   - MC_EINVAL a or d is NULL, or a is destroyed */
int mc_sarray_descr_of(mc_sarray *a, mc_sarray_descr *d);

/** Find the sarray a descriptor names (mapping its pool if needed; the
 *  caller then holds the pool; on a refusal, holds as before).  ht NULL:
 *  the array must have no header.
 *  @return 0, or
 *   - MC_ETYPE  the array's element type is not t, or its header type is
 *               not ht
 *   - MC_EINVAL a NULL d, t or a; unknown, stale or garbage descriptor,
 *               or the descriptor of another kind of container (never a
 *               crash) */
int mc_sarray_of_descr(const mc_sarray_descr *d, const mc_type *t,
                       const mc_type *ht, mc_sarray **a);

/** The code an inline accessor below returns when its fast path does not
 *  apply to (a, i) and elements of esize bytes:
 *   - MC_EINVAL a is NULL or destroyed, or i is not below the length
 *   - MC_ETYPE  the elements are not inline, or not of esize bytes
 *   - 0         it applies (a concurrent grow made i valid meanwhile) */
int mc_sarray_scalar_error(mc_sarray *a, size_t i, size_t esize);

/* ------------------------------------------- inline access to scalars
 *
 * For arrays of scalars, the hot path of set, get (_c into a variable) and
 * get_ro is a few instructions; these inline functions do it without a
 * call (generated wrappers of scalar arrays use them):
 *   mc_sarray_set_T(a, i, v)   as mc_sarray_set: 0 or the code (then
 *                              nothing written); an atomic store
 *   mc_sarray_get_T(a, i, &v)  as mc_sarray_get: 0 or the code (then
 *                              v is 0); an atomic load
 *   mc_sarray_ro_T(a, i)       as mc_sarray_get_ro: the element's address
 *                              (valid until destroy), or NULL
 * for T in i32, u32, i64, u64, f32, f64 (the element type must be inline
 * and of that width, else MC_ETYPE / NULL; i64 and u64 are not told apart).
 * They let the compiler keep what they read of the array in registers
 * across a loop: to wait for another process to grow the array, poll
 * mc_sarray_length, not these (a loop that calls nothing else may see the
 * old length for ever).
 */

/* The first fields of every sarray and smatrix, for the inline functions
 * only: not part of the API (they change with the library's major
 * version). */
#define MC__ARR_NBLK 48
#define MC__ARR_LIVE 0x6d63617272617931ull /* "mcarray1" */
#define MC__ARR_KEY(esize) (MC__ARR_LIVE ^ ((uint64_t)(esize) << 1 | 1))
typedef struct mc__arr_hot {
    uint64_t magic;     /* MC__ARR_LIVE while the container lives */
    uint64_t key;       /* MC__ARR_KEY(esize) while it lives: one compare
                           tells a live inline array of that width */
    size_t len;         /* elements [0, len) are valid (atomic) */
    size_t n0;          /* elements in block 0 */
    uint32_t gshift;    /* block k >= 1 holds 1 << (gshift + k - 1) */
    uint32_t esize;     /* inline elements: their size; 0: heap values */
    size_t rows, cols;  /* a matrix's dimensions */
    void *blk[MC__ARR_NBLK];
} mc__arr_hot;

/* Element i (< len) of elements of es bytes (es: the slot size for
 * elements that are heap values). */
static inline char *mc__arr_elem(const mc__arr_hot *a, size_t i, size_t es)
{
    if (__builtin_expect(i < a->n0, 1))
        return (char *)a->blk[0] + i * es;
    size_t j = i - a->n0;
    size_t q = (j >> a->gshift) + 1;
    unsigned k = 64 - (unsigned)__builtin_clzll(q);
    size_t off = j - ((((size_t)1 << (k - 1)) - 1) << a->gshift);
    return (char *)a->blk[k] + off * es;
}

/* Element i of a live inline array of es-byte elements past block 0 (an
 * acquire load of the length, then the block), or NULL.  Out of line and
 * declared pure: it writes nothing, so a loop of inline reads keeps the
 * key, n0 and block 0 in registers (an inline acquire load would make the
 * compiler load them again for every element).  The element's own load
 * depends on the returned address, so it stays after the acquire. */
void *mc__arr_at_slow(const void *h, size_t i, size_t es)
    __attribute__((pure));

/* What a NULL handle reads as: no key, no elements. */
extern const mc__arr_hot mc__arr_none;

/* Element i of a live inline array of es-byte elements, or NULL.  Block
 * 0 is complete before the handle exists and never changes, so an index
 * in it needs no look at the length.  The three loads are made on every
 * call (a NULL handle reads mc__arr_none; the key picks the limit, no
 * `&&`) so that the compiler may hoist them out of a loop, leaving one
 * compare per element. */
static inline void *mc__arr_hot_at(const void *h, size_t i, size_t es)
{
    const mc__arr_hot *a = h ? (const mc__arr_hot *)h : &mc__arr_none;
    size_t live = (size_t)0 - (a->key == MC__ARR_KEY(es)); /* all ones */
    size_t lim = a->n0 & live; /* one compare per element */
    char *b0 = (char *)a->blk[0];
    if (__builtin_expect(i < lim, 1))
        return b0 + i * es;
    return mc__arr_at_slow(h, i, es);
}

#define MC__SARRAY_SCALAR(N, T)                                             \
    static inline int mc_sarray_set_##N(mc_sarray *a, size_t i, T v)     \
    {                                                                     \
        T *p = (T *)mc__arr_hot_at(a, i, sizeof(T));                      \
        if (__builtin_expect(!p, 0)) {                                    \
            int rc_ = mc_sarray_scalar_error(a, i, sizeof(T));            \
            if (rc_)                                                      \
                return rc_;                                               \
            p = (T *)mc__arr_hot_at(a, i, sizeof(T));                     \
        }                                                                 \
        __atomic_store(p, &v, __ATOMIC_RELAXED);                          \
        return 0;                                                         \
    }                                                                     \
    static inline int mc_sarray_get_##N(mc_sarray *a, size_t i, T *v)    \
    {                                                                     \
        const T *p = (const T *)mc__arr_hot_at(a, i, sizeof(T));          \
        if (__builtin_expect(!p || !v, 0)) {                              \
            int rc_ = v ? mc_sarray_scalar_error(a, i, sizeof(T))         \
                        : MC_EINVAL;                                      \
            if (rc_) {                                                    \
                if (v) /* defined on every path: -Wmaybe-uninitialized */\
                    *v = 0;                                               \
                return rc_;                                               \
            }                                                             \
            p = (const T *)mc__arr_hot_at(a, i, sizeof(T));               \
        }                                                                 \
        __atomic_load(p, v, __ATOMIC_RELAXED);                            \
        return 0;                                                         \
    }                                                                     \
    static inline const T *mc_sarray_ro_##N(mc_sarray *a, size_t i)       \
    {                                                                     \
        return (const T *)mc__arr_hot_at(a, i, sizeof(T));                \
    }

MC__SARRAY_SCALAR(i32, int32_t)
MC__SARRAY_SCALAR(u32, uint32_t)
MC__SARRAY_SCALAR(i64, int64_t)
MC__SARRAY_SCALAR(u64, uint64_t)
MC__SARRAY_SCALAR(f32, float)
MC__SARRAY_SCALAR(f64, double)

#ifdef __cplusplus
}
#endif
#endif
