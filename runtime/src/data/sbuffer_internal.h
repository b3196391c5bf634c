/* sbuffer_internal.h: the layout of a shared byte buffer, shared by
 * sbuffer.c (creation, mutations, header, descriptors; the design, its
 * crash-consistency argument and the readers' protocol open that file) and
 * sbuffer_read.c (lock-free reads and waits). */
#ifndef MC_DATA_SBUFFER_INTERNAL_H
#define MC_DATA_SBUFFER_INTERNAL_H

#include <stdint.h>
#include <time.h>

#include "mcore/sbuffer.h"
#include "mem/heap_internal.h"

#define SB_DEFAULT_BSIZE ((size_t)64 * 1024)
#define SB_MIN_BSIZE ((size_t)4 * 1024)
#define SB_MAX_BSIZE ((size_t)64 * 1024 * 1024)
#define SB_MIN_SLOTS 8u
#define SB_SLICE_NS 50000000u /* longest single futex sleep */
#define SB_POLL_NS 20000u     /* longest poll before a sleep (os/spin.h) */
/* A block: a cache line of its own (the count of running accesses that
 * pinned it), then bsize bytes of data. */
#define SB_BHDR 64u
#define SB_PINS(b) ((uint32_t *)(b))
#define SB_DATA(b) ((b) + SB_BHDR)

typedef struct sb_ctl {
    void *hdr;               /* the header value (NULL: none) */
    const mc_type *hdr_type; /* same in every worker */
    char **tab;              /* the slot table (heap block of n slots) */
    uint64_t start, end;     /* atomic: positions */
    uint64_t cap;            /* 0: no capacity */
    uint64_t bsize;          /* a power of two */
    uint32_t bshift;         /* log2(bsize) */
    uint32_t closed;         /* atomic */
    uint32_t data_seq, space_seq;         /* futex words */
    uint32_t data_waiters, space_waiters; /* sleepers (hints) */
    uint64_t data_want;      /* atomic: the lowest end a sleeper of
                                mc_sbuffer_wait waits for (a hint: an
                                append below it wakes nobody) */
    uint64_t nblocks;        /* non-NULL slots of tab (a hint: a crash may
                                leave it off by one; recounted after one) */
} sb_ctl;

#define SB_HEAP(b) ((mc_heap *)(b))
#define SB_BUF(h) ((mc_sbuffer *)(h))

static inline uint64_t sb_ld(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline const sb_ctl *sb_ctl_of(mc_sbuffer *buf)
{
    return buf ? mc_heap_root_ro(SB_HEAP(buf)) : NULL;
}

static inline size_t sb_nslots(char **tab)
{
    return mc__heap_count(tab);
}

/* Poll briefly (os/spin.h's adaptive poll) until *word differs from val:
 * 1 if it did. */
int mc__sb_poll(const uint32_t *word, uint32_t val);

/* Sleep on the futex *word while it holds val, for at most one slice
 * (SB_SLICE_NS) and not past the CLOCK_MONOTONIC deadline dl (NULL:
 * none); MC_ETIMEDOUT once dl has passed, else 0. */
int mc__sb_sleep(uint32_t *word, uint32_t val, const struct timespec *dl);

#endif
