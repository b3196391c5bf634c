/* mcore/smatrix.h: shared matrices (Netmcore_matrix): rows x cols values
 * of one mc_type, with an optional header of another type, in a heap of
 * its own.  No grow.
 *
 * Storage is sarray.h's: elements of a type without pointers are stored
 * inline, and a matrix of them is one contiguous row-major block, whose
 * address mc_smatrix_data gives, so numeric code can work on it directly
 * (loops over rows, memcpy of a row, BLAS-style kernels): element (i, j)
 * is at data + (i * cols + j) * t->size, and the block lives, unmoved, as
 * long as the matrix.  mc_smatrix_set of an f64 is one atomic store, no
 * lock.  Elements of other types are heap values, one pointer each, set
 * under the heap's lock, read in a reader slot.
 *
 * Reads: _ro, _c, _p and mc_smatrix_get as for sarray.h, with two indices.
 *
 * Caveats.  As sarray.h's: inline elements wider than 8 bytes are not
 * atomic; types are fixed at creation and values are taken to be of them;
 * no set or header_set inside mc_heap_modify of the matrix's heap; no use
 * after mc_smatrix_destroy.  Writes through mc_smatrix_data are the
 * caller's to order (several workers writing disjoint rows, then a join or
 * a barrier, as in examples/matmul.c).
 */
#ifndef MCORE_SMATRIX_H
#define MCORE_SMATRIX_H

#include <stddef.h>
#include <stdint.h>
#include "mcore/heap.h"
#include "mcore/sarray.h" /* mc__arr_hot */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mc_smatrix mc_smatrix; /**< same address in every process */

/** Create a rows x cols matrix in pool holding deep copies of the elements
 *  of t at data (a local row-major array of rows * cols elements: row i
 *  starts at element i * cols; NULL allowed when rows * cols is 0), and,
 *  if ht is not NULL, a header: a deep copy of *header (of ht).
 *  @return 0, or
 *   - MC_EINVAL a NULL pool, t or m, data NULL with elements, ht without
 *               header (or the reverse), a type of size 0 or with an
 *               alignment above 16, or rows * cols overflowing or above
 *               2^40
 *   - MC_ENOMEM the pool is full (a block of rows * cols elements), or no
 *               process memory
 *   - MC_ESYS   the heap's lock could not be made
 *   - an error of a copy routine or init_sync of t or ht
 *  Nothing is left in the pool after an error. */
int mc_smatrix_create(mc_pool *pool, const mc_type *t, size_t rows,
                      size_t cols, const void *data, const mc_type *ht,
                      const void *header, mc_smatrix **m);

/** Create a rows x cols matrix, every element equal to *value (elements
 *  with pointers share one heap copy of it).
 *  @return as mc_smatrix_create (MC_EINVAL also for a NULL value) */
int mc_smatrix_make(mc_pool *pool, const mc_type *t, size_t rows,
                    size_t cols, const void *value, const mc_type *ht,
                    const void *header, mc_smatrix **m);

/** fn of mc_smatrix_init: write element (i, j) into elem (t->size zeroed
 *  bytes; inline types: the element's place in the matrix itself).
 *  Pointers in elem stay the caller's (the element is deep-copied).
 *  Return 0, or a code that stops the creation. */
typedef int mc_smatrix_init_fn(void *ctx, size_t i, size_t j, void *elem);

/** Create a rows x cols matrix, element (i, j) made by fn (called in
 *  row-major order).
 *  @return as mc_smatrix_create (MC_EINVAL also for a NULL fn), or fn's
 *          first nonzero return (nothing left in the pool) */
int mc_smatrix_init(mc_pool *pool, const mc_type *t, size_t rows,
                    size_t cols, mc_smatrix_init_fn *fn, void *ctx,
                    const mc_type *ht, const void *header, mc_smatrix **m);

/** Free the matrix, its elements and header.
 *  @return 0, or
 *   - MC_EINVAL m is NULL or already destroyed
 *   - MC_ESTATE the calling thread mutates its heap (mc_heap_modify) */
int mc_smatrix_destroy(mc_smatrix *m);

/** Replace element (i, j) with a copy of *value, as mc_sarray_set
 *  (inline: one store, no lock, no allocation).
 *  @return 0, or
 *   - MC_EINVAL     m or value is NULL, m destroyed, or i >= rows or
 *                   j >= cols (nothing written)
 *   - MC_EOWNERDEAD (types with pointers) done, and a previous holder of
 *                   the heap's lock died inside a mutation (the matrix is
 *                   valid)
 *   - MC_ESTATE, MC_ENOMEM, MC_ESYS, a copy routine's error: (types with
 *                   pointers) as mc_sarray_set (the old value stays) */
int mc_smatrix_set(mc_smatrix *m, size_t i, size_t j, const void *value);

/** Element (i, j) in shared memory (inline: valid until destroy; others:
 *  until that element is set); NULL if m is NULL or destroyed, or (i, j)
 *  out of range. */
const void *mc_smatrix_get_ro(mc_smatrix *m, size_t i, size_t j);

/** Copy the bytes of inline element (i, j) into dst; no lock, no
 *  allocation.
 *  @return 0, or
 *   - MC_EINVAL m or dst is NULL, m destroyed, or (i, j) out of range
 *   - MC_ETYPE  the element type has pointers (use mc_smatrix_get_c) */
int mc_smatrix_get(mc_smatrix *m, size_t i, size_t j, void *dst);

/** A local deep copy of element (i, j) (free with mc_local_free).
 *  @return 0, or
 *   - MC_EINVAL m or copy is NULL, m destroyed, or (i, j) out of range
 *   - MC_ENOMEM no process memory (*copy unchanged)
 *   - MC_ESYS   the lock failed, when no reader slot was free (heap.h)
 *   - an error of a copy routine of the type */
int mc_smatrix_get_c(mc_smatrix *m, size_t i, size_t j, void **copy);

/** fn(elem, ctx) with element (i, j) kept alive while fn runs.
 *  @return fn's result, or
 *   - MC_EINVAL m or fn is NULL, m destroyed, or (i, j) out of range
 *   - MC_ESYS   the lock failed, when no reader slot was free (heap.h) */
int mc_smatrix_get_p(mc_smatrix *m, size_t i, size_t j,
                     int (*fn)(const void *elem, void *ctx), void *ctx);

/** The dimensions.
 *  @return 0, or
 *   - MC_EINVAL m, rows or cols is NULL, or m destroyed */
int mc_smatrix_dims(mc_smatrix *m, size_t *rows, size_t *cols);

/** The row-major block of an inline matrix (see above); NULL for a matrix
 *  of a type with pointers, a NULL or destroyed matrix, or one of no
 *  elements. */
void *mc_smatrix_data(mc_smatrix *m);

/** The header: as mc_sarray_header_ro, _c, _p and _set (same codes). */
void *mc_smatrix_header_ro(mc_smatrix *m);
int mc_smatrix_header_c(mc_smatrix *m, void **copy);
int mc_smatrix_header_p(mc_smatrix *m,
                        int (*fn)(const void *header, void *ctx), void *ctx);
int mc_smatrix_header_set(mc_smatrix *m, const void *header);

/** The matrix's heap; its element and header types (NULL: none, or m
 *  NULL or destroyed). */
mc_heap *mc_smatrix_heap(mc_smatrix *m);
const mc_type *mc_smatrix_type(mc_smatrix *m);
const mc_type *mc_smatrix_header_type(mc_smatrix *m);

/** A descriptor: plain bytes, valid in every process of the session. */
typedef struct mc_smatrix_descr {
    uint64_t magic;
    uint64_t type_id;    /**< the element type's id */
    uint64_t htype_id;   /**< the header type's id (0: no header) */
    int64_t pool;        /**< pool resource id */
    uint64_t offset;     /**< of the heap in its pool */
    uint64_t gen;        /**< the heap's generation: stale ones fail */
} mc_smatrix_descr;

/** The descriptor of a matrix.
 *  @return 0, or
 *   - MC_EINVAL m or d is NULL, or m is destroyed */
int mc_smatrix_descr_of(mc_smatrix *m, mc_smatrix_descr *d);

/** Find the matrix a descriptor names (mapping its pool if needed; the
 *  caller then holds the pool; on a refusal, holds as before).  ht NULL:
 *  the matrix must have no header.
 *  @return 0, or
 *   - MC_ETYPE  its element type is not t, or its header type is not ht
 *   - MC_EINVAL a NULL argument; unknown, stale or garbage descriptor, or
 *               that of another kind of container (never a crash) */
int mc_smatrix_of_descr(const mc_smatrix_descr *d, const mc_type *t,
                        const mc_type *ht, mc_smatrix **m);

/** The code an inline accessor below returns when its fast path does not
 *  apply to (m, i, j) and elements of esize bytes:
 *   - MC_EINVAL m is NULL or destroyed, or (i, j) is out of range
 *   - MC_ETYPE  the elements are not inline, or not of esize bytes */
int mc_smatrix_scalar_error(mc_smatrix *m, size_t i, size_t j,
                            size_t esize);

/* ------------------------------------------- inline access to scalars
 *
 * As sarray.h's: mc_smatrix_set_T(m, i, j, v), mc_smatrix_get_T(m, i, j,
 * &v) and mc_smatrix_ro_T(m, i, j) for T in i32, u32, i64, u64, f32, f64:
 * the fast path of mc_smatrix_set, _get and _get_ro without a call. */

/* Element (i, j) of a live inline matrix of es-byte elements, or NULL. */
static inline void *mc__mat_hot_at(const void *h, size_t i, size_t j,
                                   size_t es)
{
    /* every load made on every call, as in mc__arr_hot_at, so that a
     * loop keeps them in registers */
    const mc__arr_hot *a = h ? (const mc__arr_hot *)h : &mc__arr_none;
    size_t live = (size_t)0 - (a->key == MC__ARR_KEY(es)); /* all ones */
    size_t rows = a->rows & live, cols = a->cols;
    char *b0 = (char *)a->blk[0];
    if (__builtin_expect((i >= rows) | (j >= cols), 0))
        return NULL;
    return b0 + (i * cols + j) * es;
}

#define MC__SMATRIX_SCALAR(N, T)                                            \
    static inline int mc_smatrix_set_##N(mc_smatrix *m, size_t i,         \
                                         size_t j, T v)                   \
    {                                                                     \
        T *p = (T *)mc__mat_hot_at(m, i, j, sizeof(T));                   \
        if (__builtin_expect(!p, 0))                                      \
            return mc_smatrix_scalar_error(m, i, j, sizeof(T));           \
        __atomic_store(p, &v, __ATOMIC_RELAXED);                          \
        return 0;                                                         \
    }                                                                     \
    static inline int mc_smatrix_get_##N(mc_smatrix *m, size_t i,         \
                                         size_t j, T *v)                  \
    {                                                                     \
        const T *p = (const T *)mc__mat_hot_at(m, i, j, sizeof(T));       \
        if (__builtin_expect(!p || !v, 0)) {                              \
            if (!v)                                                       \
                return MC_EINVAL;                                         \
            *v = 0; /* defined on every path: -Wmaybe-uninitialized */    \
            return mc_smatrix_scalar_error(m, i, j, sizeof(T));           \
        }                                                                 \
        __atomic_load(p, v, __ATOMIC_RELAXED);                            \
        return 0;                                                         \
    }                                                                     \
    static inline const T *mc_smatrix_ro_##N(mc_smatrix *m, size_t i,     \
                                             size_t j)                    \
    {                                                                     \
        return (const T *)mc__mat_hot_at(m, i, j, sizeof(T));             \
    }

MC__SMATRIX_SCALAR(i32, int32_t)
MC__SMATRIX_SCALAR(u32, uint32_t)
MC__SMATRIX_SCALAR(i64, int64_t)
MC__SMATRIX_SCALAR(u64, uint64_t)
MC__SMATRIX_SCALAR(f32, float)
MC__SMATRIX_SCALAR(f64, double)

#ifdef __cplusplus
}
#endif
#endif
