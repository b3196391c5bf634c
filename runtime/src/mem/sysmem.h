/* sysmem.h: how much memory the system can still give. */
#ifndef MC_SYSMEM_H
#define MC_SYSMEM_H

#include <stddef.h>

/* Bytes that can be reserved now without pushing the machine (or this
 * process's cgroup) towards the OOM killer: MemAvailable, or the cgroup's
 * limit minus its usage if lower, less a safety margin.  Re-read each call
 * (it is called only when a pool grows, in steps of a megabyte or more). */
size_t mc__sysmem_available(void);

#endif
