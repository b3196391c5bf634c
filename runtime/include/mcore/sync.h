/* mcore/sync.h: synchronization fields in records, and the init_sync
 * contract of mc_type (type.h).
 *
 * A record may hold mc_mutex, mc_sem and mc_cond fields by value.  They are
 * in-place objects: a field is initialized where the record lives, never
 * copied from another record.  The copier guarantees this together with
 * the type's functions:
 *
 *   copy       copies the other fields and leaves the sync fields alone:
 *              the destination is zeroed, so they stay all-zero, which is
 *              "not initialized" for every call (MC_EINVAL).  A type with
 *              sync fields must therefore have a copy routine (copy == NULL
 *              means memcpy, which would clone the bytes of a live lock).
 *   init_sync  initializes every sync field of one element in place with
 *              mc_mutex_init / mc_sem_init / mc_cond_init (or with
 *              mc_sync_init_fields below), and returns 0 or the first error.
 *              It must not read the other fields, and must not allocate.
 *
 * The heap's copier (mc_heap_add, mc_heap_create, mc_sref_create and
 * mc_sref_assign) and mc_heap_alloc call init_sync on every element they
 * create in a heap, after its copy: a value in a heap has working locks,
 * fresh ones (unlocked, semaphores at their initial count), with no dummy
 * placeholders to replace (Netmcore's limit 18).  Local copies (the _c
 * readers, mc_local_copy) do not call it: their sync fields stay zero, so
 * that locking a copy fails instead of silently locking a private lock
 * (Netmcore's limit 14).
 *
 * Caveats.  The collector frees a record without destroying its fields: do
 * not let a record whose mutex somebody holds or whose condition somebody
 * waits on become garbage.  Sync fields record their own address
 * (mutex.h): a record copied by anything but the copier (memcpy, struct
 * assignment) has refused (MC_EINVAL) sync fields until init_sync runs on
 * it.
 *
 * Generated code (mcidl) describes the fields with a table and calls
 * mc_sync_init_fields from its init_sync:
 *
 *     static const mc_sync_field geo_Counter_sync[] = {
 *         {offsetof(geo_Counter, lock), MC_SYNC_MUTEX, MC_MUTEX_NORMAL},
 *         {offsetof(geo_Counter, ready), MC_SYNC_COND, 0},
 *         {offsetof(geo_Counter, slots), MC_SYNC_SEM, 8},
 *     };
 *     static int geo_Counter_init_sync(void *obj) {
 *         return mc_sync_init_fields(obj, geo_Counter_sync, 3);
 *     }
 */
#ifndef MCORE_SYNC_H
#define MCORE_SYNC_H

#include <stddef.h>
#include <stdint.h>
#include "mcore/cond.h"
#include "mcore/mutex.h"
#include "mcore/sem.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mc_sync_what {
    MC_SYNC_MUTEX = 1, /**< an mc_mutex; arg is its mc_mutex_kind */
    MC_SYNC_SEM = 2,   /**< an mc_sem; arg is its initial count */
    MC_SYNC_COND = 3   /**< an mc_cond; arg is 0 */
} mc_sync_what;

/** One sync field of a record. */
typedef struct mc_sync_field {
    uint32_t offset; /**< offsetof the field in the record */
    uint32_t what;   /**< mc_sync_what */
    int64_t arg;     /**< mutex kind, or semaphore's initial count */
} mc_sync_field;

/** @brief Initialize n sync fields of the record at obj in place (the body
 *  of a generated init_sync).
 * @param[in] obj    one element of the record type
 * @param[in] fields the fields, in any order
 * @param[in] n      their number
 * @return 0, or
 *   - MC_EINVAL obj or fields is NULL (with n > 0), an unknown `what`, or
 *               an arg its init function refuses
 *   - MC_ESYS   as mc_mutex_init / mc_sem_init */
int mc_sync_init_fields(void *obj, const mc_sync_field *fields, size_t n);

#ifdef __cplusplus
}
#endif
#endif
