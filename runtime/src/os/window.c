/* window.c: reserving and carving the address window. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common.h"
#include "os/window.h"

#define ALIGN (2u << 20) /* pools start on 2 MiB: huge-page friendly */
#define GUARD (2u << 20) /* an unmapped gap catches overruns between pools */
#define MIN_WINDOW (1ull << 30)

static const int reserve_flags =
    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;

int mc__window_reserve(mc__window *w, size_t size, const char *who)
{
    if (size < MC__WINDOW_MIN || size > MC__WINDOW_MAX)
        return mc__err(MC_EINVAL, "%s: window_size %zu is %s %zu bytes (%s)",
                       who, size, size < MC__WINDOW_MIN ? "below the least,"
                                                        : "above the most,",
                       size < MC__WINDOW_MIN ? MC__WINDOW_MIN : MC__WINDOW_MAX,
                       size < MC__WINDOW_MIN
                           ? "one 2 MiB-aligned pool and its guard gap"
                           : "64 TiB of address space");
    size = size / ALIGN * ALIGN; /* every pool, and the end, stay aligned */
    size_t floor = size < MIN_WINDOW ? size : MIN_WINDOW;
    int err = 0;
    for (size_t s = size; s >= floor; s = s / 2 / ALIGN * ALIGN) {
        /* s + ALIGN cannot wrap: s <= MC__WINDOW_MAX */
        void *p = mmap(NULL, s + ALIGN, PROT_NONE, reserve_flags, -1, 0);
        if (p == MAP_FAILED) {
            err = errno;
            continue;
        }
        /* trim to an aligned start, so every pool is aligned */
        uintptr_t a = ((uintptr_t)p + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1);
        if (a > (uintptr_t)p)
            munmap(p, a - (uintptr_t)p);
        munmap((char *)a + s, (uintptr_t)p + ALIGN - a);
        w->base = (char *)a;
        w->size = s;
        w->next = 0;
        return 0;
    }
    return mc__err(MC_ENOMEM, "%s: cannot reserve an address window of %zu "
                   "bytes, nor of any half down to %zu: mmap: %s", who, size,
                   floor, strerror(err));
}

void mc__window_release(mc__window *w)
{
    if (w->base)
        munmap(w->base, w->size);
    *w = (mc__window){0};
}

int mc__window_take(mc__window *w, size_t size, void **addr)
{
    /* Overflow-safe: size may be anything; w->next <= w->size always. */
    size_t left = w->size - w->next;
    size_t span = size / ALIGN * ALIGN + (size % ALIGN ? ALIGN : 0);
    if (size == 0 || span < size || left < GUARD || span > left - GUARD)
        return mc__err(MC_ENOMEM, "address window: %zu bytes asked, %zu left",
                       size, w->size - w->next);
    *addr = w->base + w->next;
    w->next += span + GUARD;
    return 0;
}

int mc__window_map(void *addr, size_t size, int fd)
{
    void *p = mmap(addr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
                   fd, 0);
    return p == MAP_FAILED ? mc__errno("mmap(pool)") : 0;
}

void mc__window_unmap(void *addr, size_t size)
{
    /* back to a reservation, so nothing else is ever placed there */
    mmap(addr, size, PROT_NONE, reserve_flags | MAP_FIXED, -1, 0);
}

/* ------------------------------------------------------------ mappings */

struct map {
    long long id;
    char *addr;
    size_t size;
};
/* The worker's threads map pools at the same time (process.h, Threads). */
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static struct map *maps;
static size_t n_maps, cap_maps;

int mc__maps_add(long long id, void *addr, size_t size)
{
    int rc = 0;
    pthread_mutex_lock(&maps_lock);
    if (n_maps == cap_maps) {
        size_t nc = cap_maps ? cap_maps * 2 : 8;
        struct map *m = realloc(maps, nc * sizeof *m);
        if (!m)
            rc = mc__err(MC_ENOMEM, "pool mappings: out of memory");
        else {
            maps = m;
            cap_maps = nc;
        }
    }
    if (!rc)
        maps[n_maps++] = (struct map){id, addr, size};
    pthread_mutex_unlock(&maps_lock);
    return rc;
}

void mc__maps_set_id(void *addr, long long id)
{
    pthread_mutex_lock(&maps_lock);
    for (size_t i = 0; i < n_maps; i++)
        if (maps[i].addr == addr)
            maps[i].id = id;
    pthread_mutex_unlock(&maps_lock);
}

void mc__maps_del(void *addr)
{
    pthread_mutex_lock(&maps_lock);
    for (size_t i = 0; i < n_maps; i++)
        if (maps[i].addr == addr) {
            maps[i] = maps[--n_maps];
            break;
        }
    pthread_mutex_unlock(&maps_lock);
}

void mc__maps_clear(void)
{
    pthread_mutex_lock(&maps_lock);
    n_maps = 0;
    pthread_mutex_unlock(&maps_lock);
}

void *mc__maps_by_id(long long id)
{
    void *a = NULL;
    pthread_mutex_lock(&maps_lock);
    for (size_t i = 0; i < n_maps && !a; i++)
        if (maps[i].id == id)
            a = maps[i].addr;
    pthread_mutex_unlock(&maps_lock);
    return a;
}

void *mc__maps_by_addr(const void *addr, long long *id)
{
    const char *a = addr;
    void *base = NULL;
    pthread_mutex_lock(&maps_lock);
    for (size_t i = 0; i < n_maps && !base; i++)
        if (a >= maps[i].addr && a < maps[i].addr + maps[i].size) {
            if (id)
                *id = maps[i].id;
            base = maps[i].addr;
        }
    pthread_mutex_unlock(&maps_lock);
    return base;
}
