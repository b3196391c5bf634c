/* heap_descr.h: naming a heap with plain bytes (for descriptors), and
 * finding it again safely: every field is checked before it is trusted, so
 * a garbage or stale reference is MC_EINVAL, never a crash. */
#ifndef MC_HEAP_DESCR_H
#define MC_HEAP_DESCR_H

#include <stdint.h>
#include "mcore/heap.h"

typedef struct mc__heap_ref {
    int64_t pool;     /* pool resource id */
    uint64_t offset;  /* of the heap header in the pool */
    uint64_t gen;     /* the heap's generation */
} mc__heap_ref;

int mc__heap_ref_of(mc_heap *heap, mc__heap_ref *ref);

/* Look the pool up (mapping it if needed and holding it), check that a
 * live heap with that generation and root type is at that offset.
 * *held_before: whether the caller held the pool before (for
 * mc__heap_ref_refuse).  MC_EINVAL otherwise (MC_ETYPE if the root type
 * differs), with the hold the lookup took given back; details start with
 * fn. */
int mc__heap_of_ref(const mc__heap_ref *ref, const mc_type *root_type,
                    mc_heap **heap, int *held_before, const char *fn);

/* Refuse with rc what mc__heap_of_ref found (pool id): give back the hold
 * it took, unless held_before.  Returns rc, its detail kept. */
int mc__heap_ref_refuse(int64_t pool, int held_before, int rc);

#endif
