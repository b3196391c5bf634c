/* sync/mutex_internal.h: the layout behind mc_mutex (mutex.h), shared by
 * mutex.c and cond.c (a condition wait unlocks and relocks the mutex). */
#ifndef MC_SYNC_MUTEX_INTERNAL_H
#define MC_SYNC_MUTEX_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "common.h"
#include "mcore/mutex.h"

/* The word that makes bytes a mutex: its own address mixed with "MCMX",
 * written last by mc_mutex_init, cleared first by destroy.  Zeroed memory
 * (a local copy of a record, a forgotten init) never matches, and neither
 * does a copy of a live mutex (memcpy, struct assignment): it sits at
 * another address.  One load, one xor and one compare per call, as the
 * plain magic word it replaces. */
#define MC__MUTEX_MAGIC 0x4d434d58u

/* The self word of an object at address p with magic k: never 0 (p is
 * not k), differs at every other address. */
static inline uint64_t mc__sync_self(const void *p, uint32_t k)
{
    return (uint64_t)(uintptr_t)p ^ ((uint64_t)k << 32 | k);
}

typedef struct mc__mutex {
    pthread_mutex_t pm; /* robust, process-shared */
    uint64_t self;      /* mc__sync_self(this, MC__MUTEX_MAGIC) */
    uint32_t kind;      /* mc_mutex_kind */
} mc__mutex;

_Static_assert(sizeof(mc__mutex) <= sizeof(mc_mutex),
               "mc_mutex is too small for its implementation");
_Static_assert(_Alignof(mc__mutex) <= _Alignof(mc_mutex),
               "mc_mutex is aligned less than its implementation");

static inline mc__mutex *mc__mutex_of(mc_mutex *m)
{
    return (mc__mutex *)(void *)m;
}

/* 1 if m can be used: not NULL, initialized here, not destroyed. */
static inline int mc__mutex_ok(const mc__mutex *m)
{
    return MC_LIKELY(m != NULL) &&
           MC_LIKELY(__atomic_load_n(&m->self, __ATOMIC_RELAXED) ==
                     mc__sync_self(m, MC__MUTEX_MAGIC));
}

/* The error of a pthread lock call (not 0) as an mc code with a detail. */
int mc__mutex_lock_error(mc__mutex *m, int e, const char *what);

/* Refusal of an unusable mutex (NULL, zeroed, destroyed). */
int mc__mutex_bad(const void *m, const char *what);

#endif
