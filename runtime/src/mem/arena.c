/* arena.c: see arena.h. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "mem/arena.h"

struct mc__arena_block {
    mc__arena_block *next;
    size_t size;
};

_Static_assert(sizeof(mc__arena_block) == 16, "the root must stay 16-aligned");

#define ARENA_FIRST 256             /* a record and a few strings */
#define ARENA_MAX_BLOCK (64 * 1024) /* growth stops doubling here */

/* Freed blocks of the full size are kept per thread for the next copy, up
 * to CACHE_MAX bytes: malloc would give their pages back to the system
 * (trimming the top of the heap) and every copy would fault them in again,
 * which costs more than the copy itself on this kind of machine.  64 MB
 * covers a program that holds a few copies of a 10 MB value at a time
 * (bench/idl: a local copy and an unmarshalled one; with 16 MB the second
 * faulted half its blocks in every round); a thread that makes no large
 * copies keeps nothing. */
#define CACHE_MAX ((size_t)64 << 20)

static _Thread_local struct {
    mc__arena_block *head;
    size_t bytes;
    /* First blocks (ARENA_FIRST bytes) too, up to SMALL_MAX: a local copy
     * of a small value (mc_sref_deref_c of a record) is one such block,
     * and its malloc and free cost as much as the copy. */
    mc__arena_block *small;
    unsigned nsmall;
    int keyed; /* the thread-exit destructor is set */
} cache;

#define SMALL_MAX 16

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

/* At thread exit: give the cached blocks back to malloc (they would leak
 * with the thread's TLS). */
static void cache_drop(void *unused)
{
    (void)unused;
    for (mc__arena_block *b = cache.head, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    for (mc__arena_block *b = cache.small, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    cache.head = cache.small = NULL;
    cache.bytes = 0;
    cache.nsmall = 0;
    cache.keyed = 0; /* a later destructor that frees a copy sets it again */
}

static void cache_key_make(void)
{
    pthread_key_create(&cache_key, cache_drop);
}

/* Before the thread's first cached block: arrange for cache_drop.  0, or
 * -1 when it cannot be arranged (then nothing is cached). */
static int cache_keyed(void)
{
    if (MC_LIKELY(cache.keyed))
        return 0;
    if (pthread_once(&cache_once, cache_key_make) ||
        pthread_setspecific(cache_key, &cache))
        return -1;
    cache.keyed = 1;
    return 0;
}

void mc__arena_init(mc__arena *a)
{
    *a = (mc__arena){NULL, NULL, NULL, NULL, ARENA_FIRST};
}

static mc__arena_block *new_block(mc__arena *a, size_t need)
{
    size_t size = a->next_size;
    if (size < need + sizeof(mc__arena_block))
        size = need + sizeof(mc__arena_block);
    mc__arena_block *b;
    if (size == ARENA_FIRST && cache.small) {
        b = cache.small;
        cache.small = b->next;
        cache.nsmall--;
    } else if (size == ARENA_MAX_BLOCK && cache.head) {
        b = cache.head;
        cache.head = b->next;
        cache.bytes -= ARENA_MAX_BLOCK;
    } else if (!(b = malloc(size))) {
        return NULL;
    }
    b->next = NULL;
    b->size = size;
    if (a->last)
        a->last->next = b;
    else
        a->first = b;
    a->last = b;
    a->bump = (char *)(b + 1);
    a->end = (char *)b + size;
    if (a->next_size < ARENA_MAX_BLOCK)
        a->next_size *= 2;
    return b;
}

int mc__arena_open(mc__arena *a, size_t root_bytes)
{
    if (a->first || root_bytes > ARENA_FIRST - sizeof(mc__arena_block))
        return -1;
    return new_block(a, root_bytes) ? 0 : -1;
}

static void *alloc(mc__arena *a, const mc_type *t, size_t count, int *err,
                   int zero)
{
    size_t align = t->align < 8 ? 8 : t->align;
    if (align > 16 || (align & (align - 1))) {
        *err = mc__err(MC_EINVAL, "type %s: alignment %zu not supported (at "
                       "most 16)", t->name ? t->name : "?", t->align);
        return NULL;
    }
    if (t->size && count > SIZE_MAX / 2 / t->size) {
        *err = mc__err(MC_ENOMEM, "%zu elements of %s are too many", count,
                       t->name ? t->name : "?");
        return NULL;
    }
    /* Never 0 bytes: two allocations must not share an address (copies
     * of this copy would merge them). */
    size_t n = count * t->size;
    if (n == 0)
        n = 1;
    char *p = (char *)(((uintptr_t)a->bump + align - 1) &
                       ~(uintptr_t)(align - 1));
    if (!a->first || p + n > a->end) {
        if (!new_block(a, n)) {
            *err = mc__err(MC_ENOMEM, "malloc of %zu bytes failed", n);
            return NULL;
        }
        p = a->bump; /* a fresh block's data is 16-aligned */
    }
    a->bump = p + n;
    if (zero)
        memset(p, 0, n);
    return p;
}

void *mc__arena_alloc(mc__arena *a, const mc_type *t, size_t count, int *err)
{
    return alloc(a, t, count, err, 1);
}

void *mc__arena_alloc_raw(mc__arena *a, const mc_type *t, size_t count,
                          int *err)
{
    return alloc(a, t, count, err, 0);
}

void mc__arena_free(mc__arena *a)
{
    mc__arena_block *b = a->first;
    while (b) {
        mc__arena_block *next = b->next;
        if (b->size == ARENA_FIRST && cache.nsmall < SMALL_MAX &&
            !cache_keyed()) {
            b->next = cache.small;
            cache.small = b;
            cache.nsmall++;
        } else if (b->size == ARENA_MAX_BLOCK && cache.bytes < CACHE_MAX &&
                   !cache_keyed()) {
            b->next = cache.head;
            cache.head = b;
            cache.bytes += ARENA_MAX_BLOCK;
        } else {
            free(b);
        }
        b = next;
    }
    mc__arena_init(a);
}

void *mc__arena_one(size_t n)
{
    mc__arena_block *b = malloc(sizeof *b + (n ? n : 1));
    if (!b)
        return NULL;
    b->next = NULL;
    b->size = sizeof *b + (n ? n : 1);
    return b + 1;
}

void mc__arena_free_root(void *root)
{
    if (!root)
        return;
    mc__arena_block *b = (mc__arena_block *)root - 1;
    if (!b->next && b->size == ARENA_FIRST && cache.nsmall < SMALL_MAX &&
        cache.keyed) { /* the usual small copy: one block, to the cache */
        b->next = cache.small;
        cache.small = b;
        cache.nsmall++;
        return;
    }
    mc__arena a = {.first = (mc__arena_block *)root - 1};
    mc__arena_free(&a);
}
