/* sync.c: sync fields of records (mcore/sync.h): the body of generated
 * init_sync functions. */
#include "common.h"
#include "mcore/sync.h"

int mc_sync_init_fields(void *obj, const mc_sync_field *fields, size_t n)
{
    if (n && (!obj || !fields))
        return mc__err(MC_EINVAL, "mc_sync_init_fields: NULL argument");
    for (size_t i = 0; i < n; i++) {
        void *p = (char *)obj + fields[i].offset;
        int rc;
        switch (fields[i].what) {
        case MC_SYNC_MUTEX:
            if (fields[i].arg < 0 || fields[i].arg > MC_MUTEX_RECURSIVE)
                return mc__err(MC_EINVAL, "mc_sync_init_fields: field %zu: "
                               "unknown mutex kind %lld", i,
                               (long long)fields[i].arg);
            rc = mc_mutex_init(p, (mc_mutex_kind)fields[i].arg);
            break;
        case MC_SYNC_SEM:
            rc = mc_sem_init(p, fields[i].arg);
            break;
        case MC_SYNC_COND:
            rc = mc_cond_init(p);
            break;
        default:
            return mc__err(MC_EINVAL, "mc_sync_init_fields: field %zu: "
                           "unknown kind %u", i, (unsigned)fields[i].what);
        }
        if (rc)
            return rc;
    }
    return 0;
}
