/* arr.h: the element store shared by sarray.c and smatrix.c (internal).
 *
 * An array is a heap whose root is an mc__arr.  Its elements live in
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

#define MC__ARR_NB 48 /* blocks: enough for 2^40 elements from G = 16 */

typedef struct mc__arr {
    const mc_type *t;     /* element type */
    const mc_type *ht;    /* header type (NULL: none) */
    void *header;         /* heap value of ht */
    size_t len;           /* elements [0, len) are valid (atomic) */
    size_t n0;            /* elements of block 0 */
    uint32_t gshift;      /* log2 of block 1's size */
    uint32_t inl;         /* 1: inline elements, 0: slots */
    size_t rows, cols;    /* a matrix's dimensions (0, 0 for an array) */
    void *blk[MC__ARR_NB];
} mc__arr;

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
                   const mc_type *ht, const void *header, mc_heap **out,
                   const char *fn);

/* The root of a live array heap, or NULL (destroyed; NULL heap). */
const mc__arr *mc__arr_root(mc_heap *h);

/* Address of element i (< len) of a. */
static inline char *mc__arr_at(const mc__arr *a, size_t i)
{
    size_t es = a->inl ? a->t->size : sizeof(void *);
    if (__builtin_expect(i < a->n0, 1))
        return (char *)a->blk[0] + i * es;
    size_t j = i - a->n0;
    size_t q = (j >> a->gshift) + 1;
    unsigned k = 64 - (unsigned)__builtin_clzll(q);
    size_t off = j - ((((size_t)1 << (k - 1)) - 1) << a->gshift);
    return (char *)a->blk[k] + off * es;
}

static inline size_t mc__arr_len(const mc__arr *a)
{
    return __atomic_load_n(&a->len, __ATOMIC_ACQUIRE);
}

int mc__arr_set(mc_heap *h, size_t i, const void *v, const char *fn);
int mc__arr_get(mc_heap *h, size_t i, void *dst, const char *fn);
const void *mc__arr_get_ro(mc_heap *h, size_t i);
int mc__arr_get_c(mc_heap *h, size_t i, void **copy, const char *fn);
int mc__arr_get_p(mc_heap *h, size_t i, int (*f)(const void *, void *),
                  void *ctx, const char *fn);
int mc__arr_grow(mc_heap *h, size_t n, const void *v, const char *fn);

void *mc__arr_header_ro(mc_heap *h);
int mc__arr_header_c(mc_heap *h, void **copy, const char *fn);
int mc__arr_header_p(mc_heap *h, int (*f)(const void *, void *), void *ctx,
                     const char *fn);
int mc__arr_header_set(mc_heap *h, const void *v, const char *fn);

/* Descriptor fields shared by both kinds. */
int mc__arr_descr(mc_heap *h, uint64_t *type_id, uint64_t *htype_id,
                  int64_t *pool, uint64_t *offset, uint64_t *gen,
                  const char *fn);
int mc__arr_of_descr(int64_t pool, uint64_t offset, uint64_t gen,
                     uint64_t type_id, uint64_t htype_id, const mc_type *rt,
                     const mc_type *t, const mc_type *ht, mc_heap **out,
                     const char *fn);

/* heap.c (end): mc_heap_modify whose *dead tells whether the previous
 * holder of the lock died inside a mutation (begin's MC_EOWNERDEAD), which
 * mc_heap_modify keeps from fn. */
int mc__heap_modify_dead(mc_heap *heap,
                         int (*fn)(mc_mut *mut, void *root, void *ctx),
                         void *ctx, int *dead);

#endif
