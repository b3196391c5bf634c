/* arena.h: process-local arenas for copies (local copies, unmarshalled
 * values).  Allocations are bumped from malloc()ed blocks; the first
 * allocation (the root of the value) starts the first block, right after
 * a 16-byte block header, so the whole arena can be freed from the root
 * alone (mc_local_free). */
#ifndef MC_MEM_ARENA_H
#define MC_MEM_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "mcore/type.h"

typedef struct mc__arena_block mc__arena_block;

typedef struct mc__arena {
    mc__arena_block *first, *last;
    char *bump, *end;
    size_t next_size;
} mc__arena;

void mc__arena_init(mc__arena *a);

/* Carve n bytes aligned to align (a power of two, at most 16) from the bump space [*bump,
 * end) of the current block; NULL if they do not fit (then the caller goes
 * through mc__arena_alloc, which opens a new block).  Never 0 bytes: two
 * allocations must not share an address (copies of this copy would merge
 * them). */
static inline void *mc__arena_carve(char **bump, const char *end,
                                    size_t align, size_t n)
{
    if (!*bump)
        return NULL;
    char *p =
        (char *)(((uintptr_t)*bump + align - 1) & ~(uintptr_t)(align - 1));
    if (n == 0)
        n = 1;
    if (p > end || n > (size_t)(end - p))
        return NULL;
    *bump = p + n;
    return p;
}

/* count zeroed elements of t, aligned for t (at least 8).  NULL on failure,
 * with *err set and the detail recorded: MC_EINVAL (alignment above 16),
 * MC_ENOMEM. */
void *mc__arena_alloc(mc__arena *a, const mc_type *t, size_t count, int *err);

/* The same, not zeroed (the caller writes every byte at once). */
void *mc__arena_alloc_raw(mc__arena *a, const mc_type *t, size_t count,
                          int *err);

/* Open the first block now (from the thread's cache when it can), for a
 * copy that carves inline from a->bump: 0 if it is open and a root of
 * root_bytes (at most 16-aligned) fits at its start, -1 if not (nothing
 * changed: the first allocation opens it as usual). */
int mc__arena_open(mc__arena *a, size_t root_bytes);

/* Free every block. */
void mc__arena_free(mc__arena *a);

/* An arena of one block whose root is n bytes (not zeroed), for a copy
 * whose size is known before it starts; NULL when malloc fails. */
void *mc__arena_one(size_t n);

/* Free the arena whose first allocation is root (NULL is allowed). */
void mc__arena_free_root(void *root);

#endif
