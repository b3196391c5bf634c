/* ptr_table.h: reading mc_type pointer tables (internal).
 *
 * Generated types list where their pointers are (mcore/type.h,
 * mc_ptr_field); the copier (copy.c) and the collector (gc.c) walk those
 * tables instead of calling a function per element and per field.
 */
#ifndef MC_MEM_PTR_TABLE_H
#define MC_MEM_PTR_TABLE_H

#include <stdint.h>

#include "mcore/type.h"

/* Do elements of t hold pointers for the copier / the collector to
 * follow (a table, or a copy / trace function)?  Else they are bytes. */
static inline int mc__type_copies(const mc_type *t)
{
    return t->ptrs || t->copy;
}

static inline int mc__type_traced(const mc_type *t)
{
    return t->ptrs || t->trace;
}

/* Does field f of the element at v hold a value (mc_ptr_field.when)? */
static inline int mc__pf_live(const mc_ptr_field *f, const char *v)
{
    if (__builtin_expect(f->when == MC_PW_ALWAYS, 1))
        return 1;
    if (f->when == MC_PW_HAS)
        return *(const _Bool *)(const void *)(v + f->when_off);
    return *(const uint32_t *)(const void *)(v + f->when_off) == f->when_tag;
}

/* The pointer stored at offset off of the element at v. */
static inline void *mc__pf_ptr(const char *v, uint32_t off)
{
    return *(void *const *)(const void *)(v + off);
}

#endif
