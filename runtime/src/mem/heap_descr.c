/* heap_descr.c: naming heaps by (pool, offset, generation), and finding
 * them again without trusting a single byte of the name. */
#include <unistd.h>

#include "common.h"
#include "mem/heap_descr.h"
#include "mem/heap_internal.h"

int mc__heap_ref_of(mc_heap *h, mc__heap_ref *ref)
{
    if (!h || h->magic != MC__HEAP_MAGIC)
        return mc__err(MC_EINVAL, "not a live heap");
    ref->pool = mc_pool_id(h->pool);
    ref->offset = (uint64_t)((char *)h - (char *)h->pool);
    ref->gen = h->gen;
    return 0;
}

int mc__heap_of_ref(const mc__heap_ref *ref, const mc_type *root_type,
                    mc_heap **heap)
{
    mc_pool *pool;
    mc_pool_stats st;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (ref->pool <= 0 || mc_pool_lookup(ref->pool, &pool) != 0)
        return mc__err(MC_EINVAL, "descriptor: no pool %lld",
                       (long long)ref->pool);
    if (mc_pool_stats_get(pool, &st) != 0)
        return mc__err(MC_EINVAL, "descriptor: pool %lld unusable",
                       (long long)ref->pool);
    /* a heap header is a pool chunk of its own: page aligned, above the
     * pool's header page, inside the memory the pool has reserved (reading
     * past that could allocate pages, or fault) */
    if (ref->offset % page || ref->offset < page ||
        ref->offset > st.size || st.size - ref->offset < sizeof(mc_heap))
        return mc__err(MC_EINVAL, "descriptor: offset %llu is no heap",
                       (unsigned long long)ref->offset);
    mc_heap *h = (mc_heap *)((char *)pool + ref->offset);
    if (h->magic != MC__HEAP_MAGIC || h->gen != ref->gen || h->pool != pool)
        return mc__err(MC_EINVAL, "descriptor: stale (no heap of that "
                       "generation at offset %llu)",
                       (unsigned long long)ref->offset);
    void *root = h->root;
    const mc_type *t = root ? mc__heap_type(h, mc__bw_type(mc__ld(
                                                mc__hdr(root))))
                            : NULL;
    if (!t || t->id != root_type->id)
        return mc__err(MC_ETYPE, "descriptor: heap of root type %s, not %s",
                       t ? t->name : "(none)", root_type->name);
    *heap = h;
    return 0;
}

/* ------------------------------------------------------ public descriptors */

#define HEAP_DESCR_MAGIC 0x6d63686472303031ull /* "mchdr001" */

int mc_heap_descr_of(mc_heap *heap, mc_heap_descr *d)
{
    mc__heap_ref ref;
    if (!d)
        return mc__err(MC_EINVAL, "mc_heap_descr_of: NULL descriptor");
    int rc = mc__heap_ref_of(heap, &ref);
    if (rc)
        return rc;
    *d = (mc_heap_descr){HEAP_DESCR_MAGIC, mc_heap_root_type(heap)->id,
                         ref.pool, ref.offset, ref.gen};
    return 0;
}

int mc_heap_of_descr(const mc_heap_descr *d, const mc_type *root_type,
                     mc_heap **heap)
{
    if (!d || !root_type || !heap)
        return mc__err(MC_EINVAL, "mc_heap_of_descr: NULL argument");
    if (d->magic != HEAP_DESCR_MAGIC)
        return mc__err(MC_EINVAL, "not a heap descriptor");
    if (d->type_id != root_type->id)
        return mc__err(MC_ETYPE, "descriptor of a heap of another root type "
                       "(id %016llx, not %s %016llx)",
                       (unsigned long long)d->type_id, root_type->name,
                       (unsigned long long)root_type->id);
    mc__heap_ref ref = {d->pool, d->offset, d->gen};
    return mc__heap_of_ref(&ref, root_type, heap);
}
