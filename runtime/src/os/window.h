/* window.h: the address window.  The master reserves one large range of
 * address space (PROT_NONE, MAP_NORESERVE: no memory) before it forks
 * anything; every worker inherits the reservation, so any range of it is
 * free in every process of the session, and a pool mapped there with
 * MAP_FIXED has the same address everywhere. */
#ifndef MC_WINDOW_H
#define MC_WINDOW_H

#include <stddef.h>

typedef struct mc__window {
    char *base;
    size_t size;
    size_t next;  /* bump offset: ranges are never reused in a session */
} mc__window;

/* Bounds of mc_config.window_size.  The least holds one pool (2 MiB
 * aligned, and its guard gap); the most is half of x86-64's 47-bit user
 * address space, so that sizes near SIZE_MAX never wrap. */
#define MC__WINDOW_MIN ((size_t)4 << 20)
#define MC__WINDOW_MAX ((size_t)1 << 46)
#define MC__WINDOW_DEFAULT ((size_t)1 << 40)

/* Reserve about `size` bytes, MC__WINDOW_MIN..MC__WINDOW_MAX (less if the
 * system refuses, halving down to 1 GiB, or to size when that is
 * smaller).  The kernel places it, so its base differs from run to run.
 * MC_EINVAL for a size out of bounds; MC_ENOMEM (detail: the sizes tried
 * and why) when no reservation succeeds.  who starts the detail. */
int mc__window_reserve(mc__window *w, size_t size, const char *who);
void mc__window_release(mc__window *w);

/* Carve a range of `size` bytes (page multiple) aligned to 2 MiB, with a
 * guard gap after it.  MC_ENOMEM when the window is used up. */
int mc__window_take(mc__window *w, size_t size, void **addr);

/* Map fd over [addr, addr+size) shared, replacing the reservation. */
int mc__window_map(void *addr, size_t size, int fd);

/* Put the reservation back over a range that was mapped. */
void mc__window_unmap(void *addr, size_t size);

/* The pools mapped in this process (inherited by fork, like the mappings
 * themselves).  id 0: not known yet. */
int mc__maps_add(long long id, void *addr, size_t size);
void mc__maps_set_id(void *addr, long long id);
void mc__maps_del(void *addr);
/* Forget every mapping (the window they were in is gone: a session's end
 * in the master). */
void mc__maps_clear(void);
/* The mapping with this id, or containing addr: its base, or NULL. */
void *mc__maps_by_id(long long id);
void *mc__maps_by_addr(const void *addr, long long *id);

#endif
