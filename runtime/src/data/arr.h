/* arr.h: the element store shared by sarray.c and smatrix.c (internal).
 *
 * An array is a heap whose root is an mc__arr (the handle is the root's
 * address).  Its elements live in
 * blocks (heap values) that never move: block 0 holds the first n0
 * elements, block k >= 1 the next G << (k - 1) (G = 1 << gshift), so a
 * grow adds blocks and copies nothing.  A matrix is an array of rows *
 * cols elements in block 0 alone (one contiguous row-major block).
 *
 * Inline arrays (element types without pointers) hold the elements'
 * bytes; the others hold one pointer per element (slot) to a heap value.
 * `len` is the one store that publishes a grow (see sarray.c).
 */
#ifndef MC_DATA_ARR_H
#define MC_DATA_ARR_H

#include <stddef.h>
#include <stdint.h>

#include "mcore/heap.h"

#include "mcore/sarray.h"

#define MC__ARR_NB MC__ARR_NBLK /* blocks: 2^40 elements from G = 16 */

/* The heap's root; the handle (mc_sarray *, mc_smatrix *) is its address.
 * Its first fields are mc__arr_hot (sarray.h), which the public inline
 * accessors read. */
typedef struct mc__arr {
    uint64_t magic;       /* MC__ARR_LIVE; 0 once destroyed */
    uint64_t key;         /* MC__ARR_KEY(esize) (inline); 0 otherwise, and
                             once destroyed */
    size_t len;           /* elements [0, len) are valid (atomic) */
    size_t n0;            /* elements of block 0 */
    uint32_t gshift;      /* log2 of block 1's size */
    uint32_t esize;       /* inline: the element size; 0: slots */
    size_t rows, cols;    /* a matrix's dimensions (0, 0 for an array) */
    void *blk[MC__ARR_NB];
    const mc_type *t;     /* element type */
    const mc_type *ht;    /* header type (NULL: none) */
    void *header;         /* heap value of ht */
    mc_heap *heap;        /* the heap whose root this is */
} mc__arr;

_Static_assert(offsetof(mc__arr, key) == offsetof(mc__arr_hot, key) &&
                   offsetof(mc__arr, len) == offsetof(mc__arr_hot, len) &&
                   offsetof(mc__arr, esize) == offsetof(mc__arr_hot, esize) &&
                   offsetof(mc__arr, cols) == offsetof(mc__arr_hot, cols) &&
                   offsetof(mc__arr, blk) == offsetof(mc__arr_hot, blk),
               "mc__arr starts as mc__arr_hot");

/* How a creation fills its elements. */
typedef struct mc__fill {
    enum { MC__FILL_ARRAY, MC__FILL_ONE, MC__FILL_FN } kind;
    const void *src;                           /* ARRAY, ONE */
    int (*fn)(void *ctx, size_t i, void *elem); /* FN */
    void *ctx;
} mc__fill;

/* The root types of an sarray's heap and of a matrix's (sarray.c). */
extern const mc_type mc__sarray_root_type, mc__smatrix_root_type;

/* Everything below takes fn, the public function's name, for details. */

/* Create the heap: root type rt (sarray's or smatrix's), n elements. */
int mc__arr_create(mc_pool *pool, const mc_type *rt, const mc_type *t,
                   size_t n, size_t rows, size_t cols, const mc__fill *f,
                   const mc_type *ht, const void *header, void **out,
                   const char *fn);

/* The root of a live array (h: the handle), or NULL (NULL, destroyed).
 * Inline: every call of the API makes it. */
static inline mc__arr *mc__arr_root(void *h)
{
    mc__arr *a = h;
    return a && a->magic == MC__ARR_LIVE ? a : NULL;
}
int mc__arr_destroy(void *h, const char *fn);

/* Address of element i (< len) of a. */
static inline char *mc__arr_at(const mc__arr *a, size_t i)
{
    return mc__arr_elem((const mc__arr_hot *)(const void *)a, i,
                        a->esize ? a->esize : sizeof(void *));
}

static inline size_t mc__arr_len(const mc__arr *a)
{
    return __atomic_load_n(&a->len, __ATOMIC_ACQUIRE);
}

int mc__arr_set(void *h, size_t i, const void *v, const char *fn);
int mc__arr_get(void *h, size_t i, void *dst, const char *fn);
const void *mc__arr_get_ro(void *h, size_t i);
int mc__arr_get_c(void *h, size_t i, void **copy, const char *fn);
int mc__arr_get_p(void *h, size_t i, int (*f)(const void *, void *),
                  void *ctx, const char *fn);
int mc__arr_grow(void *h, size_t n, const void *v, const char *fn);

void *mc__arr_header_ro(void *h);
int mc__arr_header_c(void *h, void **copy, const char *fn);
int mc__arr_header_p(void *h, int (*f)(const void *, void *), void *ctx,
                     const char *fn);
int mc__arr_header_set(void *h, const void *v, const char *fn);

/* Descriptor fields shared by both kinds. */
int mc__arr_descr(void *h, uint64_t *type_id, uint64_t *htype_id,
                  int64_t *pool, uint64_t *offset, uint64_t *gen,
                  const char *fn);
int mc__arr_of_descr(int64_t pool, uint64_t offset, uint64_t gen,
                     uint64_t type_id, uint64_t htype_id, const mc_type *rt,
                     const mc_type *t, const mc_type *ht, void **out,
                     const char *fn);

/* heap.c (end): mc_heap_modify whose *dead tells whether the previous
 * holder of the lock died inside a mutation (begin's MC_EOWNERDEAD), which
 * mc_heap_modify keeps from fn. */
int mc__heap_modify_dead(mc_heap *heap,
                         int (*fn)(mc_mut *mut, void *root, void *ctx),
                         void *ctx, int *dead);

/* heap.c (end): fn(*slot, ctx) with the heap value that the slot points
 * to kept alive while fn runs (as mc_heap_root_p, without its checks: h
 * is the live array's heap; the slot never moves). */
int mc__heap_read_slot(mc_heap *h, void *const *slot,
                       int (*fn)(const void *, void *), void *ctx);

/* heap.c (end): *slot = a heap copy of value (of t) under h's lock, by
 * one release store; MC_EOWNERDEAD (with what's name) when done after a
 * holder of the lock died. */
int mc__heap_set_slot(mc_heap *h, void **slot, const mc_type *t,
                      const void *value, const char *what);

/* heap.c: for a container's mutation (mc_heap_modify's callback).
 * maybe_collect: collect if the trigger is passed (1 if it collected); an
 * operation calls it once, before it builds anything, and then allocates
 * with alloc_raw: count elements of t (a type of the container's own: its
 * alignment at most 16, no init_sync, count small), the payload NOT zeroed
 * (the caller writes every field), no collection; NULL (detail set) when
 * the pool is full: the caller then uses mc_heap_alloc, which collects and
 * tries again. */
int mc__heap_maybe_collect(mc_mut *mut);
void *mc__heap_alloc_raw(mc_mut *mut, const mc_type *t, size_t count);

/* heap.c: heap's collections run on the garbage its container tells
 * (mc__heap_garbage: bytes that became unreachable; SIZE_MAX: nearly
 * all), not on its allocation: when the told garbage passes half the
 * live bytes (and MC__GC_MIN_TRIGGER), or, for what it does not tell,
 * after allocating 32 times the live bytes of the last collection (a full
 * pool collects anyway).  So a table that only grows pays for almost no
 * collections. */
void mc__heap_gc_adaptive(mc_heap *heap);
void mc__heap_garbage(mc_mut *mut, size_t bytes);

#endif
