/* pool.c: pools (see mcore/pool.h).
 *
 * The master creates the memfd, carves the address range from the window
 * and maps it (proc/restable.c); this file gives the range its structure.
 * The first page holds the header; chunks are page multiples handed out
 * first-fit from an address-ordered list of free runs (each run's first
 * words hold its size and the next run), or from the never-used top.  Pages
 * are reserved (fallocate) before they are handed out, in bounded steps
 * checked against the memory the machine and its cgroup have left, so
 * touching a chunk never raises SIGBUS.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"
#include "mcore/pool.h"
#include "mem/sysmem.h"
#include "proc/state.h"
#include "proc/stat.h"

#define POOL_MAGIC 0x6d63706f6f6c3031ull /* "mcpool01" */
#define MIN_STEP ((size_t)1 << 20)

struct mc_pool {
    uint64_t magic;
    mc_res_id id;
    size_t max;          /* bytes of the range */
    size_t committed;    /* [0, committed) is reserved memory */
    size_t top;          /* [top, max) was never handed out */
    size_t used;         /* header + chunks handed out */
    size_t chunks;
    size_t free_head;    /* offset of the first free run below top; 0: none */
    size_t page;
    pthread_mutex_t lock; /* robust, process-shared */
    /* the heaps made in this pool, for `mcadmin stat` (proc/stat.h):
     * offsets of their headers, 0 free; a heap that finds no free slot
     * is only counted.  CAS, no lock: a heap's creation stays cheap. */
    size_t heaps[32];
    size_t heaps_unlisted;
};

struct run {             /* at the start of each free run */
    size_t size;
    size_t next;         /* offset of the next run (higher address); 0: end */
};

#define AT(p, off) ((struct run *)((char *)(p) + (off)))

static int lock(mc_pool *p)
{
    int e = pthread_mutex_lock(&p->lock);
    if (e == EOWNERDEAD) {
        /* Each update below leaves the list valid at every store that
         * publishes it, so a dead owner leaves at worst a leaked run. */
        pthread_mutex_consistent(&p->lock);
        e = 0;
    }
    return e ? mc__err(MC_ESYS, "pool lock: %s", strerror(e)) : 0;
}

static void unlock(mc_pool *p)
{
    pthread_mutex_unlock(&p->lock);
}

/* This process's descriptor of the pool's memfd, or -1. */
static int pool_fd(const mc_pool *p)
{
    return mc__res_cached_fd(p->id);
}

/* Reserve memory for [committed, end), growing by at least a step. */
static int grow(mc_pool *p, size_t end)
{
    size_t step = p->committed / 8;
    if (step < MIN_STEP)
        step = MIN_STEP;
    size_t want = end - p->committed;
    if (want < step)
        want = step;
    if (want > p->max - p->committed)
        want = p->max - p->committed;
    want = (want + p->page - 1) / p->page * p->page;
    /* ask only for what the machine can give: past that the kernel would
     * rather wake the OOM killer than fail */
    size_t avail = mc__sysmem_available();
    if (want > avail)
        want = end - p->committed;
    if (want > avail)
        return mc__err(MC_ENOMEM, "pool %lld: %zu more bytes needed, the "
                       "system has %zu available", (long long)p->id,
                       end - p->committed, avail);
    int fd = pool_fd(p), e = 0;
    if (fd >= 0) {
        if (fallocate(fd, 0, (off_t)p->committed, (off_t)want) < 0)
            e = errno;
    } else if (madvise((char *)p + p->committed, want,
                       MADV_POPULATE_WRITE) < 0) {
        e = errno;
    }
    if (e) {
        errno = e;
        return (e == ENOMEM || e == ENOSPC || e == EFAULT)
                   ? mc__err(MC_ENOMEM, "pool %lld: cannot reserve %zu bytes:"
                             " %s", (long long)p->id, want, strerror(e))
                   : mc__errno("fallocate(pool)");
    }
    p->committed += want;
    return 0;
}

static size_t round_up(const mc_pool *p, size_t n)
{
    return (n + p->page - 1) / p->page * p->page;
}

int mc_pool_alloc(mc_pool *p, size_t size, void **chunk)
{
    if (!p || !chunk || size == 0)
        return mc__err(MC_EINVAL, "mc_pool_alloc: bad argument");
    size = round_up(p, size);
    if (size < p->page || size > p->max)
        return mc__err(MC_ENOMEM, "mc_pool_alloc: %zu bytes exceed pool "
                       "%lld", size, (long long)p->id);
    int rc = lock(p);
    if (rc)
        return rc;
    /* first fit; take the run's tail so its header stays where it is */
    size_t *link = &p->free_head;
    while (*link) {
        struct run *r = AT(p, *link);
        if (r->size >= size) {
            size_t off;
            if (r->size == size) {
                off = *link;
                *link = r->next;
            } else {
                r->size -= size;
                off = *link + r->size;
            }
            p->used += size;
            p->chunks++;
            unlock(p);
            *chunk = (char *)p + off;
            return 0;
        }
        link = &r->next;
    }
    if (p->max - p->top < size) {
        unlock(p);
        return mc__err(MC_ENOMEM, "pool %lld is full (%zu of %zu bytes used,"
                       " %zu asked)", (long long)p->id, p->used, p->max,
                       size);
    }
    if (p->top + size > p->committed && (rc = grow(p, p->top + size))) {
        unlock(p);
        return rc;
    }
    size_t off = p->top;
    p->top += size;
    p->used += size;
    p->chunks++;
    unlock(p);
    *chunk = (char *)p + off;
    return 0;
}

int mc_pool_free(mc_pool *p, void *chunk, size_t size)
{
    if (!p || !chunk || size == 0)
        return mc__err(MC_EINVAL, "mc_pool_free: bad argument");
    size = round_up(p, size);
    size_t off = (size_t)((char *)chunk - (char *)p);
    if ((char *)chunk < (char *)p || off % p->page || off < p->page ||
        off > p->top || p->top - off < size)
        return mc__err(MC_EINVAL, "mc_pool_free: %p (%zu bytes) is not a "
                       "chunk of pool %lld", chunk, size, (long long)p->id);
    int rc = lock(p);
    if (rc)
        return rc;
    /* find the neighbours in the address-ordered list */
    size_t prev = 0, next = p->free_head;
    while (next && next < off) {
        prev = next;
        next = AT(p, next)->next;
    }
    /* a chunk overlapping a free run was given back already: the list
     * would be corrupted (found on the walk the merge needs anyway) */
    if ((prev && prev + AT(p, prev)->size > off) ||
        (next && off + size > next)) {
        unlock(p);
        return mc__err(MC_EINVAL, "mc_pool_free: chunk %p of pool %lld is "
                       "free already (given back twice?)", chunk,
                       (long long)p->id);
    }
    p->used -= size;
    p->chunks--;
    if (off + size == p->top) { /* at the frontier: lower it */
        p->top = off;
        if (prev && prev + AT(p, prev)->size == off) { /* and absorb prev */
            p->top = prev;
            size_t *link = &p->free_head;
            while (*link != prev)
                link = &AT(p, *link)->next;
            *link = 0;
        }
        unlock(p);
        return 0;
    }
    struct run *r = AT(p, off);
    r->size = size;
    r->next = next;
    if (next && off + size == next) { /* merge with the following run */
        r->size += AT(p, next)->size;
        r->next = AT(p, next)->next;
    }
    if (prev && prev + AT(p, prev)->size == off) { /* merge into prev */
        AT(p, prev)->size += r->size;
        AT(p, prev)->next = r->next;
    } else if (prev) {
        AT(p, prev)->next = off;
    } else {
        p->free_head = off;
    }
    unlock(p);
    return 0;
}

int mc_pool_stats_get(mc_pool *p, mc_pool_stats *st)
{
    if (!p || !st)
        return mc__err(MC_EINVAL, "mc_pool_stats_get: NULL argument");
    int rc = lock(p);
    if (rc)
        return rc;
    size_t largest = p->max - p->top;
    for (size_t o = p->free_head; o; o = AT(p, o)->next)
        if (AT(p, o)->size > largest)
            largest = AT(p, o)->size;
    *st = (mc_pool_stats){.max = p->max, .size = p->committed,
                          .used = p->used, .free = p->max - p->used,
                          .largest_free = largest, .chunks = p->chunks};
    unlock(p);
    return 0;
}

/* ------------------------------------------------------- create, lookup */

static int init_header(mc_pool *p, mc_res_id id, size_t max)
{
    pthread_mutexattr_t a;
    memset(p, 0, sizeof *p);
    p->id = id;
    p->max = max;
    p->page = (size_t)sysconf(_SC_PAGESIZE);
    p->top = p->used = p->page; /* the header's page */
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    int e = pthread_mutex_init(&p->lock, &a);
    pthread_mutexattr_destroy(&a);
    if (e)
        return mc__err(MC_ESYS, "pool lock: %s", strerror(e));
    __atomic_store_n(&p->magic, POOL_MAGIC, __ATOMIC_RELEASE);
    return 0;
}

int mc_pool_create(size_t max_size, mc_pool **pool)
{
    if (!pool || max_size == 0)
        return mc__err(MC_EINVAL, "mc_pool_create: %s",
                       pool ? "size 0" : "NULL pool");
    /* No window is larger: refused before any rounding could wrap. */
    if (max_size > MC__WINDOW_MAX)
        return mc__err(MC_EINVAL, "mc_pool_create: max_size %zu is larger "
                       "than any address window (%zu)", max_size,
                       MC__WINDOW_MAX);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (max_size < 2 * page)
        max_size = 2 * page; /* a header and one chunk at least */
    mc_res_id id;
    int fd;
    void *addr;
    int rc = mc__res_create(MC_RES_POOL, NULL, max_size, &id, &fd, &addr,
                            "mc_pool_create");
    if (rc)
        return rc;
    mc_pool *p = addr;
    if (mc__role_now == MC__ROLE_WORKER && !mc__maps_by_id(id)) {
        if ((rc = mc__window_map(addr, (max_size + page - 1) / page * page,
                                 fd)) ||
            (rc = mc__maps_add(id, addr, (max_size + page - 1) / page * page)))
            goto fail;
    }
    /* the header's page: reserved before it is written */
    if (fd < 0 || fallocate(fd, 0, 0, (off_t)page) < 0) {
        rc = mc__errno("fallocate(pool header)");
        goto fail;
    }
    if ((rc = init_header(p, id, (max_size + page - 1) / page * page)))
        goto fail;
    p->committed = page;
    *pool = p;
    return 0;
fail:
    mc_release(id);
    return rc;
}

int mc_pool_lookup(mc_res_id id, mc_pool **pool)
{
    mc_res_info info;
    int fd;
    void *addr;
    if (!pool)
        return mc__err(MC_EINVAL, "mc_pool_lookup: NULL pool");
    int rc = mc__res_lookup(id, MC__KIND_BIT(MC_RES_POOL), &info, &fd, &addr,
                            "mc_pool_lookup");
    if (rc)
        return rc;
    if (!mc__maps_by_id(id)) {
        if (fd < 0)
            return mc__err(MC_ESYS, "pool %lld: no descriptor", (long long)id);
        if ((rc = mc__window_map(addr, info.size, fd)) ||
            (rc = mc__maps_add(id, addr, info.size)))
            return rc;
    }
    mc_pool *p = addr;
    if (__atomic_load_n(&p->magic, __ATOMIC_ACQUIRE) != POOL_MAGIC ||
        p->id != id)
        return mc__err(MC_EINVAL, "pool %lld is not initialized",
                       (long long)id);
    *pool = p;
    return 0;
}

mc_res_id mc_pool_id(const mc_pool *pool)
{
    return pool ? pool->id : 0;
}

int mc_pool_of(const void *addr, mc_pool **pool)
{
    long long id;
    if (!pool)
        return mc__err(MC_EINVAL, "mc_pool_of: NULL pool");
    void *base = mc__maps_by_addr(addr, &id);
    if (base) {
        *pool = base;
        return 0;
    }
    if (mc__role_now != MC__ROLE_WORKER) /* the master maps every pool */
        return mc__err(MC_ENOENT, "address %p is in no pool", addr);
    mc__msg req = {.op = MC__OP_POOL_FIND, .a = (int64_t)(uintptr_t)addr};
    mc__msg rep;
    int rc = mc__rpc(&req, NULL, 0, NULL, 0, -1, &rep, NULL, NULL);
    if (rc || (rc = rep.rc))
        return rc;
    return mc_pool_lookup(rep.a, pool);
}

int mc_pool_release(mc_pool *pool)
{
    if (!pool)
        return mc__err(MC_EINVAL, "mc_pool_release: NULL pool");
    /* The id comes from this process's table of mappings, not the header:
     * the master unmaps a pool when its last holder releases it, so a
     * second release would read unmapped memory. */
    long long id;
    void *base = mc__maps_by_addr(pool, &id);
    if (!base)
        return mc__err(MC_ENOENT, "mc_pool_release: %p is no pool mapped in "
                                  "this process (released already?)",
                       (void *)pool);
    if (base != (void *)pool)
        return mc__err(MC_EINVAL, "mc_pool_release: %p is inside a pool, "
                                  "not a pool", (void *)pool);
    return mc_release((mc_res_id)id);
}

/* ------------------------------------------------- for mcadmin stat */

_Static_assert(sizeof(((mc_pool *)0)->heaps) ==
                   sizeof(((mc__pool_view *)0)->heaps),
               "one heap table size");

void mc__pool_heap_note(mc_pool *p, const void *h, int add)
{
    size_t off = (size_t)((const char *)h - (const char *)p);
    size_t n = sizeof p->heaps / sizeof p->heaps[0];
    for (size_t i = 0; i < n; i++) {
        size_t want = add ? 0 : off;
        if (__atomic_compare_exchange_n(&p->heaps[i], &want, add ? off : 0,
                                        0, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
            return;
    }
    if (add)
        __atomic_fetch_add(&p->heaps_unlisted, 1, __ATOMIC_RELAXED);
    else if (__atomic_load_n(&p->heaps_unlisted, __ATOMIC_RELAXED))
        __atomic_fetch_sub(&p->heaps_unlisted, 1, __ATOMIC_RELAXED);
}

int mc__pool_peek(const void *base, size_t len, mc__pool_view *v)
{
    const mc_pool *p = base;
    memset(v, 0, sizeof *v);
    if (len < sizeof *p ||
        __atomic_load_n(&p->magic, __ATOMIC_ACQUIRE) != POOL_MAGIC)
        return -1;
    /* word loads, no lock: each number is one a moment ago */
    v->max = __atomic_load_n(&p->max, __ATOMIC_RELAXED);
    v->size = __atomic_load_n(&p->committed, __ATOMIC_RELAXED);
    v->used = __atomic_load_n(&p->used, __ATOMIC_RELAXED);
    v->chunks = __atomic_load_n(&p->chunks, __ATOMIC_RELAXED);
    v->unlisted = __atomic_load_n(&p->heaps_unlisted, __ATOMIC_RELAXED);
    for (size_t i = 0; i < sizeof p->heaps / sizeof p->heaps[0]; i++) {
        size_t off = __atomic_load_n(&p->heaps[i], __ATOMIC_ACQUIRE);
        if (off && off < len)
            v->heaps[v->n_heaps++] = off;
    }
    return 0;
}
