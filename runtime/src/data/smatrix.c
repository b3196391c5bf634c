/* smatrix.c: shared matrices (mcore/smatrix.h): an array of rows * cols
 * elements in one block (arr.h; block 0 only: a matrix never grows), so
 * an inline matrix is one contiguous row-major block.  Element (i, j) is
 * element i * cols + j.
 *
 * Crash consistency: as sarray.c (the one-store discipline): a set of a
 * heap value is an mc_heap_add then one pointer store; an inline set is
 * one store (or the bytes of one wide element); the header likewise.  A
 * matrix being created is not visible to anyone until its creator returns
 * it, and a creation that fails destroys its heap.
 */
#include <string.h>

#include "common.h"
#include "data/arr.h"
#include "mcore/smatrix.h"


/* The flat index of (i, j), or SIZE_MAX when out of range. */
static inline size_t flat(const mc__arr *a, size_t i, size_t j)
{
    return i < a->rows && j < a->cols ? i * a->cols + j : SIZE_MAX;
}

static int bad(const char *fn, mc_smatrix *m, size_t i, size_t j)
{
    const mc__arr *a = mc__arr_root(m);
    if (!a)
        return mc__err(MC_EINVAL, "%s: NULL or destroyed matrix", fn);
    return mc__err(MC_EINVAL, "%s: (%zu, %zu) out of range (%zu x %zu)", fn,
                   i, j, a->rows, a->cols);
}

static int create(mc_pool *pool, const mc_type *t, size_t rows, size_t cols,
                  const mc__fill *f, const mc_type *ht, const void *header,
                  mc_smatrix **m, const char *fn)
{
    if (cols && rows > SIZE_MAX / cols)
        return mc__err(MC_EINVAL, "%s: %zu x %zu elements overflow", fn,
                       rows, cols);
    return mc__arr_create(pool, &mc__smatrix_root_type, t, rows * cols,
                          rows, cols, f, ht, header, (void **)m, fn);
}

int mc_smatrix_create(mc_pool *pool, const mc_type *t, size_t rows,
                      size_t cols, const void *data, const mc_type *ht,
                      const void *header, mc_smatrix **m)
{
    mc__fill f = {.kind = MC__FILL_ARRAY, .src = data};
    return create(pool, t, rows, cols, &f, ht, header, m,
                  "mc_smatrix_create");
}

int mc_smatrix_make(mc_pool *pool, const mc_type *t, size_t rows,
                    size_t cols, const void *value, const mc_type *ht,
                    const void *header, mc_smatrix **m)
{
    if (!value)
        return mc__err(MC_EINVAL, "mc_smatrix_make: NULL value");
    mc__fill f = {.kind = MC__FILL_ONE, .src = value};
    return create(pool, t, rows, cols, &f, ht, header, m, "mc_smatrix_make");
}

struct init2 {
    mc_smatrix_init_fn *fn;
    void *ctx;
    size_t cols;
};

static int init_flat(void *ctx, size_t k, void *elem)
{
    struct init2 *c = ctx;
    return c->fn(c->ctx, k / c->cols, k % c->cols, elem);
}

int mc_smatrix_init(mc_pool *pool, const mc_type *t, size_t rows,
                    size_t cols, mc_smatrix_init_fn *fn, void *ctx,
                    const mc_type *ht, const void *header, mc_smatrix **m)
{
    if (!fn)
        return mc__err(MC_EINVAL, "mc_smatrix_init: NULL fn");
    struct init2 c = {fn, ctx, cols};
    mc__fill f = {.kind = MC__FILL_FN, .fn = init_flat, .ctx = &c};
    return create(pool, t, rows, cols, &f, ht, header, m, "mc_smatrix_init");
}

int mc_smatrix_destroy(mc_smatrix *m)
{
    return mc__arr_destroy(m, "mc_smatrix_destroy");
}

int mc_smatrix_set(mc_smatrix *m, size_t i, size_t j, const void *value)
{
    const mc__arr *a = mc__arr_root(m);
    size_t k = a ? flat(a, i, j) : SIZE_MAX;
    if (MC_UNLIKELY(k == SIZE_MAX))
        return bad("mc_smatrix_set", m, i, j);
    return mc__arr_set(m, k, value, "mc_smatrix_set");
}

const void *mc_smatrix_get_ro(mc_smatrix *m, size_t i, size_t j)
{
    const mc__arr *a = mc__arr_root(m);
    size_t k = a ? flat(a, i, j) : SIZE_MAX;
    return k == SIZE_MAX ? NULL : mc__arr_get_ro(m, k);
}

int mc_smatrix_get(mc_smatrix *m, size_t i, size_t j, void *dst)
{
    const mc__arr *a = mc__arr_root(m);
    size_t k = a ? flat(a, i, j) : SIZE_MAX;
    if (MC_UNLIKELY(k == SIZE_MAX))
        return bad("mc_smatrix_get", m, i, j);
    return mc__arr_get(m, k, dst, "mc_smatrix_get");
}

int mc_smatrix_get_c(mc_smatrix *m, size_t i, size_t j, void **copy)
{
    const mc__arr *a = mc__arr_root(m);
    size_t k = a ? flat(a, i, j) : SIZE_MAX;
    if (k == SIZE_MAX)
        return bad("mc_smatrix_get_c", m, i, j);
    return mc__arr_get_c(m, k, copy, "mc_smatrix_get_c");
}

int mc_smatrix_get_p(mc_smatrix *m, size_t i, size_t j,
                     int (*fn)(const void *elem, void *ctx), void *ctx)
{
    const mc__arr *a = mc__arr_root(m);
    size_t k = a ? flat(a, i, j) : SIZE_MAX;
    if (k == SIZE_MAX)
        return bad("mc_smatrix_get_p", m, i, j);
    return mc__arr_get_p(m, k, fn, ctx, "mc_smatrix_get_p");
}

int mc_smatrix_dims(mc_smatrix *m, size_t *rows, size_t *cols)
{
    const mc__arr *a = mc__arr_root(m);
    if (!a || !rows || !cols)
        return mc__err(MC_EINVAL, "mc_smatrix_dims: NULL argument or "
                                  "destroyed matrix");
    *rows = a->rows;
    *cols = a->cols;
    return 0;
}

void *mc_smatrix_data(mc_smatrix *m)
{
    const mc__arr *a = mc__arr_root(m);
    return a && a->esize ? a->blk[0] : NULL;
}

void *mc_smatrix_header_ro(mc_smatrix *m)
{
    return mc__arr_header_ro(m);
}

int mc_smatrix_header_c(mc_smatrix *m, void **copy)
{
    return mc__arr_header_c(m, copy, "mc_smatrix_header_c");
}

int mc_smatrix_header_p(mc_smatrix *m,
                        int (*fn)(const void *header, void *ctx), void *ctx)
{
    return mc__arr_header_p(m, fn, ctx, "mc_smatrix_header_p");
}

int mc_smatrix_header_set(mc_smatrix *m, const void *header)
{
    return mc__arr_header_set(m, header, "mc_smatrix_header_set");
}

mc_heap *mc_smatrix_heap(mc_smatrix *m)
{
    const mc__arr *a = mc__arr_root(m);
    return a ? a->heap : NULL;
}

const mc_type *mc_smatrix_type(mc_smatrix *m)
{
    const mc__arr *a = mc__arr_root(m);
    return a ? a->t : NULL;
}

const mc_type *mc_smatrix_header_type(mc_smatrix *m)
{
    const mc__arr *a = mc__arr_root(m);
    return a ? a->ht : NULL;
}

int mc_smatrix_scalar_error(mc_smatrix *m, size_t i, size_t j, size_t esize)
{
    const mc__arr *a = mc__arr_root(m);
    if (!a)
        return mc__err(MC_EINVAL, "mc_smatrix_set_/get_<scalar>: NULL or "
                                  "destroyed matrix");
    if (a->esize != esize)
        return mc__err(MC_ETYPE, "mc_smatrix_set_/get_<scalar>: elements of "
                                 "%s are not inline values of %zu bytes",
                       a->t->name, esize);
    return flat(a, i, j) == SIZE_MAX
               ? bad("mc_smatrix_set_/get_<scalar>", m, i, j)
               : 0;
}

#define SMATRIX_DESCR_MAGIC 0x6d63736d61743031ull /* "mcsmat01" */

int mc_smatrix_descr_of(mc_smatrix *m, mc_smatrix_descr *d)
{
    if (!d)
        return mc__err(MC_EINVAL, "mc_smatrix_descr_of: NULL argument");
    mc_smatrix_descr x = {.magic = SMATRIX_DESCR_MAGIC};
    int rc = mc__arr_descr(m, &x.type_id, &x.htype_id, &x.pool,
                           &x.offset, &x.gen, "mc_smatrix_descr_of");
    if (!rc)
        *d = x;
    return rc;
}

int mc_smatrix_of_descr(const mc_smatrix_descr *d, const mc_type *t,
                        const mc_type *ht, mc_smatrix **m)
{
    if (!d || !t || !m)
        return mc__err(MC_EINVAL, "mc_smatrix_of_descr: NULL argument");
    if (d->magic != SMATRIX_DESCR_MAGIC)
        return mc__err(MC_EINVAL, "mc_smatrix_of_descr: not an smatrix "
                                  "descriptor");
    return mc__arr_of_descr(d->pool, d->offset, d->gen, d->type_id,
                            d->htype_id, &mc__smatrix_root_type, t, ht,
                            (void **)m, "mc_smatrix_of_descr");
}
