/* heap_descr.c: naming heaps by (pool, offset, generation), and finding
 * them again without trusting a single byte of the name. */
#include <stdio.h>
#include <unistd.h>

#include "common.h"
#include "mem/heap_descr.h"
#include "mem/heap_internal.h"
#include "proc/state.h"

int mc__heap_ref_of(mc_heap *h, mc__heap_ref *ref)
{
    if (!h || h->magic != MC__HEAP_MAGIC)
        return mc__err(MC_EINVAL, "not a live heap");
    ref->pool = mc_pool_id(h->pool);
    ref->offset = (uint64_t)((char *)h - (char *)h->pool);
    ref->gen = h->gen;
    return 0;
}

/* A refusal after the pool was looked up: give back the hold the lookup
 * took, unless the caller held the pool before (holds are not counted: a
 * release would end the caller's own).  The refusal's detail is kept. */
int mc__heap_ref_refuse(int64_t id, int held, int rc)
{
    /* held now: the lookup got as far as holding it (it may have failed
     * after); never a fork or join point, whose holds are not the
     * table's (a forged id may name one) */
    if (held || !mc__res_held(id))
        return rc;
    char detail[256];
    snprintf(detail, sizeof detail, "%s", mc_last_error_detail());
    mc_release(id);
    return mc__err(rc, "%s", detail);
}

int mc__heap_of_ref(const mc__heap_ref *ref, const mc_type *root_type,
                    mc_heap **heap, int *held_before, const char *fn)
{
    mc_pool *pool;
    mc_pool_stats st;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (ref->pool <= 0)
        return mc__err(MC_EINVAL, "%s: no pool %lld", fn,
                       (long long)ref->pool);
    int held = mc__res_held(ref->pool), rc;
    if ((rc = mc_pool_lookup(ref->pool, &pool)) != 0)
        return mc__heap_ref_refuse(ref->pool, held,
                      mc__err(MC_EINVAL, "%s: no pool %lld (%s)", fn,
                              (long long)ref->pool, mc_strerror(rc)));
    if (mc_pool_stats_get(pool, &st) != 0)
        return mc__heap_ref_refuse(ref->pool, held,
                      mc__err(MC_EINVAL, "%s: pool %lld unusable", fn,
                              (long long)ref->pool));
    /* a heap header is a pool chunk of its own: page aligned, above the
     * pool's header page, inside the memory the pool has reserved (reading
     * past that could allocate pages, or fault) */
    if (ref->offset % page || ref->offset < page ||
        ref->offset > st.size || st.size - ref->offset < sizeof(mc_heap))
        return mc__heap_ref_refuse(ref->pool, held,
                      mc__err(MC_EINVAL, "%s: offset %llu is no heap", fn,
                              (unsigned long long)ref->offset));
    mc_heap *h = (mc_heap *)((char *)pool + ref->offset);
    if (h->magic != MC__HEAP_MAGIC || h->gen != ref->gen || h->pool != pool)
        return mc__heap_ref_refuse(ref->pool, held,
                      mc__err(MC_EINVAL, "%s: stale descriptor (no heap of "
                              "that generation at offset %llu)", fn,
                              (unsigned long long)ref->offset));
    void *root = h->root;
    const mc_type *t = root ? mc__heap_type(h, mc__bw_type(mc__ld(
                                                mc__hdr(root))))
                            : NULL;
    if (!t || t->id != root_type->id)
        return mc__heap_ref_refuse(ref->pool, held,
                      mc__err(MC_ETYPE, "%s: heap of root type %s, not %s",
                              fn, t ? t->name : "(none)", root_type->name));
    *heap = h;
    *held_before = held;
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
        return mc__err(MC_EINVAL, "mc_heap_of_descr: not a heap descriptor");
    if (d->type_id != root_type->id)
        return mc__err(MC_ETYPE, "mc_heap_of_descr: descriptor of a heap of "
                       "another root type (id %016llx, not %s %016llx)",
                       (unsigned long long)d->type_id, root_type->name,
                       (unsigned long long)root_type->id);
    mc__heap_ref ref = {d->pool, d->offset, d->gen};
    int held;
    return mc__heap_of_ref(&ref, root_type, heap, &held, "mc_heap_of_descr");
}
