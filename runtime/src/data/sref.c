/* sref.c: a shared reference is a heap whose root is a cell pointing to
 * the current value.  Assignment copies the new value in and swings the
 * pointer under the heap's lock; the old value becomes garbage for the
 * heap's collector.  Reads go through the heap's reader protection, never
 * its lock. */
#include <string.h>

#include "common.h"
#include "mcore/sref.h"
#include "mem/copy.h"
#include "mem/heap_descr.h"
#include "mem/heap_internal.h"

typedef struct cell {
    void *value;          /* in the same heap */
    const mc_type *type;  /* the value's type (same in every worker) */
} cell;

static int cell_copy(mc_copier *c, void *dst, const void *src)
{
    const cell *s = src;
    cell *d = dst;
    d->type = s->type;
    return mc_copy_ptr(c, s->type, 1, &s->value, &d->value);
}

static void cell_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, ((const cell *)obj)->value);
}

static const mc_type cell_type = {
    .name = "mc_sref_cell",
    .id = 0x6d635f737265665full, /* not user-visible: never in a descriptor */
    .size = sizeof(cell),
    .align = _Alignof(cell),
    .copy = cell_copy,
    .trace = cell_trace,
};

#define HEAP(s) ((mc_heap *)(s))
#define SREF(h) ((mc_sref *)(h))

int mc_sref_create(mc_pool *pool, const mc_type *t, const void *init,
                   mc_sref **sref)
{
    if (!pool || !t || !init || !sref)
        return mc__err(MC_EINVAL, "mc_sref_create: NULL argument");
    cell c = {(void *)init, t};
    mc_heap *h;
    int rc = mc_heap_create(pool, &cell_type, &c, &h);
    if (rc)
        return rc;
    *sref = SREF(h);
    return 0;
}

int mc_sref_destroy(mc_sref *sref)
{
    return mc_heap_destroy(HEAP(sref));
}

struct assign_ctx {
    const void *value;
};

static int do_assign(mc_mut *mut, void *root, void *ctx)
{
    cell *c = root;
    void *copy;
    /* mut is mc_heap_modify's, value checked by mc_sref_assign */
    int rc = mc__heap_add_in(mut, c->type,
                             ((struct assign_ctx *)ctx)->value, &copy);
    if (!rc)
        c->value = copy;
    return rc;
}

int mc_sref_assign(mc_sref *sref, const void *value)
{
    if (!sref || !value)
        return mc__err(MC_EINVAL, "mc_sref_assign: NULL argument");
    struct assign_ctx ctx = {value};
    return mc_heap_modify(HEAP(sref), do_assign, &ctx);
}

const void *mc_sref_deref_ro(mc_sref *sref)
{
    const cell *c = mc_heap_root_ro(HEAP(sref));
    return c ? __atomic_load_n(&c->value, __ATOMIC_ACQUIRE) : NULL;
}

struct read_ctx {
    int (*fn)(const void *value, void *ctx);
    void *ctx;
    void **copy;
};

static int read_copy(const void *root, void *ctx)
{
    const cell *c = root;
    struct read_ctx *r = ctx;
    return mc__local_copy_heap(
        c->type, __atomic_load_n(&c->value, __ATOMIC_ACQUIRE), r->copy);
}

static int read_pinned(const void *root, void *ctx)
{
    const cell *c = root;
    struct read_ctx *r = ctx;
    return r->fn(__atomic_load_n(&c->value, __ATOMIC_ACQUIRE), r->ctx);
}

int mc_sref_deref_c(mc_sref *sref, void **copy)
{
    if (!sref || !copy)
        return mc__err(MC_EINVAL, "mc_sref_deref_c: NULL argument");
    struct read_ctx r = {NULL, NULL, copy};
    return mc_heap_root_p(HEAP(sref), read_copy, &r);
}

int mc_sref_deref_p(mc_sref *sref, int (*fn)(const void *value, void *ctx),
                    void *ctx)
{
    if (!sref || !fn)
        return mc__err(MC_EINVAL, "mc_sref_deref_p: NULL argument");
    struct read_ctx r = {fn, ctx, NULL};
    return mc_heap_root_p(HEAP(sref), read_pinned, &r);
}

mc_heap *mc_sref_heap(mc_sref *sref)
{
    return HEAP(sref);
}

const mc_type *mc_sref_type(const mc_sref *sref)
{
    const cell *c = mc_heap_root_ro((mc_heap *)HEAP(sref));
    return c ? c->type : NULL; /* NULL: destroyed */
}

/* ------------------------------------------------------------ descriptors */

#define SREF_DESCR_MAGIC 0x6d63737265663031ull /* "mcsref01" */

int mc_sref_descr_of(const mc_sref *sref, mc_sref_descr *d)
{
    if (!sref || !d)
        return mc__err(MC_EINVAL, "mc_sref_descr_of: NULL argument");
    mc__heap_ref ref;
    int rc = mc__heap_ref_of(HEAP(sref), &ref);
    if (rc)
        return rc;
    *d = (mc_sref_descr){.magic = SREF_DESCR_MAGIC,
                         .type_id = mc_sref_type(sref)->id,
                         .pool = ref.pool, .offset = ref.offset,
                         .gen = ref.gen};
    return 0;
}

int mc_sref_of_descr(const mc_sref_descr *d, const mc_type *t,
                     mc_sref **sref)
{
    if (!d || !t || !sref)
        return mc__err(MC_EINVAL, "mc_sref_of_descr: NULL argument");
    if (d->magic != SREF_DESCR_MAGIC)
        return mc__err(MC_EINVAL, "mc_sref_of_descr: not an sref descriptor");
    mc_heap *h;
    mc__heap_ref ref = {d->pool, d->offset, d->gen};
    int held;
    int rc = mc__heap_of_ref(&ref, &cell_type, &h, &held, "mc_sref_of_descr");
    if (rc)
        return rc;
    const cell *c = mc_heap_root_ro(h);
    if (d->type_id != t->id || c->type->id != t->id)
        return mc__heap_ref_refuse(
            d->pool, held,
            mc__err(MC_ETYPE, "mc_sref_of_descr: sref holds %s (id %016llx), "
                    "not %s (id %016llx)", c->type->name,
                    (unsigned long long)c->type->id, t->name,
                    (unsigned long long)t->id));
    *sref = SREF(h);
    return 0;
}
