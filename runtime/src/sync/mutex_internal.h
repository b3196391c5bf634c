/* sync/mutex_internal.h: the layout behind mc_mutex (mutex.h), shared by
 * mutex.c and cond.c (a condition wait unlocks and relocks the mutex). */
#ifndef MC_SYNC_MUTEX_INTERNAL_H
#define MC_SYNC_MUTEX_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "common.h"
#include "mcore/mutex.h"

/* A mutex records its own address (`self`), written last by mc_mutex_init
 * and cleared first by destroy; every call compares it with the address it
 * is given: one load and compare.  Zeroed memory (a local copy of a record,
 * a forgotten init) and a byte copy of a live mutex (memcpy, struct
 * assignment: self names the original) never match. */
typedef struct mc__mutex {
    pthread_mutex_t pm; /* robust, process-shared */
    const void *self;   /* the mutex's own address while initialized */
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

/* 1 if m can be used: initialized, not destroyed, not a copy (NULL never
 * is: its self would be read at address 0, so test it first). */
static inline int mc__mutex_ok(const mc__mutex *m)
{
    return MC_LIKELY(m != NULL) &&
           MC_LIKELY(__atomic_load_n(&m->self, __ATOMIC_RELAXED) == m);
}

/* The error of a pthread lock call (not 0) as an mc code with a detail. */
int mc__mutex_lock_error(mc__mutex *m, int e, const char *what);

/* Refusal of an unusable mutex (NULL, zeroed, destroyed, a copy). */
int mc__mutex_bad(const void *m, const char *what);

#endif
