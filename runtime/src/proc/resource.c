/* resource.c: the public resource API.  In every process of the session
 * (the master and the workers: clients of the session server) each call
 * is one request to the server, and the descriptors it hands back are
 * cached so that repeated lookups cost nothing. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "os/shm.h"
#include "proc/state.h"

#define MC__ADOPT 0x100

/* Cache a descriptor the master handed over (a worker's side; the caller
 * holds mc__W->lock, see state.h).  Returns the cached entry (its fd may be
 * -1: a kind without one), or NULL with MC_ENOMEM recorded. */
static mc__cached *cache_fd(mc_res_id id, int fd, const char *fn)
{
    mc__worker *W = mc__W;
    pthread_mutex_lock(&W->cache_lock);
    mc__cached *c = mc__idmap_get(&W->cache, id);
    if (!c) {
        if (!(c = calloc(1, sizeof *c)) || mc__idmap_put(&W->cache, id, c)) {
            pthread_mutex_unlock(&W->cache_lock);
            free(c);
            if (fd >= 0)
                close(fd);
            mc__err(MC_ENOMEM, "%s: resource cache: out of memory", fn);
            return NULL;
        }
        c->fd = -1;
    }
    if (c->fd < 0)
        c->fd = fd;
    else if (fd >= 0)
        close(fd); /* held already: keep the first */
    pthread_mutex_unlock(&W->cache_lock);
    return c;
}

int mc__res_cached_fd(mc_res_id id)
{
    if (mc__role_now != MC__ROLE_WORKER)
        return -1;
    pthread_mutex_lock(&mc__W->cache_lock);
    mc__cached *c = mc__idmap_get(&mc__W->cache, id);
    int fd = c ? c->fd : -1;
    pthread_mutex_unlock(&mc__W->cache_lock);
    return fd;
}

static int res_create(mc_res_kind kind, const char *name, size_t size,
                      mc_res_id *id, int *fd, void **addr, const char *fn)
{
    int rc = mc__need_session(fn);
    if (rc)
        return rc;
    if (!id)
        return mc__err(MC_EINVAL, "%s: NULL id", fn);
    if (name && (!*name || strlen(name) >= MC_RES_NAME_MAX))
        return mc__err(MC_EINVAL, "%s: name \"%s\" is empty or too long",
                       fn, name);
    mc__msg req = {.op = MC__OP_RES_CREATE, .a = kind, .b = (int64_t)size};
    mc__msg rep;
    int xfd = -1, uncached = 0;
    pthread_mutex_lock(&mc__W->lock);
    rc = mc__rpc_held(&req, name ? name : "", name ? strlen(name) + 1 : 1,
                      NULL, 0, -1, &rep, NULL, &xfd);
    if (!rc && rep.rc) {
        if (xfd >= 0)
            close(xfd);
        rc = rep.rc;
    }
    if (!rc) {
        *id = rep.a;
        *addr = (void *)(uintptr_t)rep.c;
        *fd = -1;
        mc__cached *c = xfd >= 0 ? cache_fd(*id, xfd, fn) : NULL;
        if (c)
            *fd = c->fd;
        else if (xfd >= 0)
            rc = MC_ENOMEM, uncached = 1;
    }
    pthread_mutex_unlock(&mc__W->lock);
    if (uncached) { /* created, but not cached: give it up */
        mc_release(*id);
        mc__err(rc, "%s: resource cache: out of memory", fn);
    }
    return rc;
}

/* Details of the master's handlers name the public function. */
int mc__res_create(mc_res_kind kind, const char *name, size_t size,
                   mc_res_id *id, int *fd, void **addr, const char *fn)
{
    int rc = res_create(kind, name, size, id, fd, addr, fn);
    return rc ? mc__err_in(rc, fn) : 0;
}

static int create(mc_res_kind kind, const char *name, size_t size,
                  mc_res_id *id, const char *fn)
{
    int fd;
    void *addr;
    return mc__res_create(kind, name, size, id, &fd, &addr, fn);
}

int mc_shm_create(size_t size, mc_res_id *id)
{
    if (size == 0)
        return mc__err(MC_EINVAL, "mc_shm_create: size 0");
    return create(MC_RES_SHM, NULL, size, id, "mc_shm_create");
}

int mc_shm_create_named(const char *name, size_t size, mc_res_id *id)
{
    if (size == 0)
        return mc__err(MC_EINVAL, "mc_shm_create_named: size 0");
    return create(MC_RES_SHM_NAMED, name, size, id, "mc_shm_create_named");
}

int mc_file_create(mc_res_id *id)
{
    return create(MC_RES_FILE, NULL, 0, id, "mc_file_create");
}

int mc_named_sem_create(unsigned value, mc_res_id *id)
{
    if (value > (unsigned)SEM_VALUE_MAX)
        return mc__err(MC_EINVAL, "mc_named_sem_create: value %u too large", value);
    return create(MC_RES_SEM, NULL, value, id, "mc_named_sem_create");
}

int mc_manage(mc_res_kind kind, const char *name, mc_res_id *id)
{
    if (kind != MC_RES_FILE && kind != MC_RES_SHM_NAMED && kind != MC_RES_SEM)
        return mc__err(MC_EINVAL, "mc_manage: kind %d cannot be managed",
                       (int)kind);
    if (!name)
        return mc__err(MC_EINVAL, "mc_manage: NULL name");
    return create(kind | MC__ADOPT, name, 0, id, "mc_manage");
}

/* A worker's lookup; the caller holds mc__W->lock.  *cached (may be NULL)
 * receives the cache entry, valid until that lock is let go. */
static int w_lookup(mc_res_id id, unsigned kinds, mc_res_info *info, int *fd,
                    void **addr, const char *fn, mc__cached **cached)
{
    mc__msg req = {.op = MC__OP_RES_GET, .a = id, .b = kinds}, rep;
    mc__blob pl = MC__BLOB_NONE;
    int xfd = -1;
    int rc = mc__rpc_held(&req, NULL, 0, NULL, 0, -1, &rep, &pl, &xfd);
    if (rc)
        return rc;
    if (!rep.rc) {
        info->kind = (mc_res_kind)rep.a;
        info->size = (size_t)rep.b;
        snprintf(info->name, sizeof info->name, "%.*s", (int)pl.len,
                 pl.data ? (char *)pl.data : "");
        *addr = (void *)(uintptr_t)rep.c;
    }
    mc__blob_free(&pl);
    *fd = -1;
    if (rep.rc) {
        if (xfd >= 0)
            close(xfd);
        return rep.rc;
    }
    mc__cached *c = cache_fd(id, xfd, fn);
    if (!c)
        return MC_ENOMEM;
    *fd = c->fd;
    if (cached)
        *cached = c;
    return 0;
}

static int res_lookup(mc_res_id id, unsigned kinds, mc_res_info *info,
                      int *fd, void **addr, const char *fn)
{
    int rc = mc__need_session(fn);
    if (rc)
        return rc;
    pthread_mutex_lock(&mc__W->lock);
    rc = w_lookup(id, kinds, info, fd, addr, fn, NULL);
    pthread_mutex_unlock(&mc__W->lock);
    return rc;
}

int mc__res_lookup(mc_res_id id, unsigned kinds, mc_res_info *info, int *fd,
                   void **addr, const char *fn)
{
    int rc = res_lookup(id, kinds, info, fd, addr, fn);
    return rc ? mc__err_in(rc, fn) : 0;
}

static int get(mc_res_id id, unsigned kinds, mc_res_info *info, int *fd,
               const char *fn)
{
    void *addr;
    return mc__res_lookup(id, kinds, info, fd, &addr, fn);
}

int mc_res_get(mc_res_id id, mc_res_info *info)
{
    int fd;
    if (!info)
        return mc__err(MC_EINVAL, "mc_res_get: NULL info");
    return get(id, 0, info, &fd, "mc_res_get");
}

int mc_shm_fd(mc_res_id id, int *fd)
{
    mc_res_info info;
    if (!fd)
        return mc__err(MC_EINVAL, "mc_shm_fd: NULL fd");
    if (mc__role_now == MC__ROLE_WORKER && !mc__w_forked("mc_shm_fd")) {
        int f = mc__res_cached_fd(id); /* fast path: held already */
        if (f >= 0) {
            *fd = f;
            return 0;
        }
    }
    int f, rc = get(id, MC__KIND_BIT(MC_RES_SHM) |
                            MC__KIND_BIT(MC_RES_SHM_NAMED),
                    &info, &f, "mc_shm_fd");
    if (rc)
        return rc;
    *fd = f;
    return 0;
}

/* Open the semaphore of *slot once (sem_open of name). */
static int sem_slot(sem_t **slot, const char *name, sem_t **sem)
{
    if (!*slot) {
        sem_t *s = sem_open(name, 0);
        if (s == SEM_FAILED)
            return mc__errno("mc_named_sem_get: sem_open");
        *slot = s;
    }
    *sem = *slot;
    return 0;
}

static int named_sem_get(mc_res_id id, sem_t **sem)
{
    const char *fn = "mc_named_sem_get";
    const unsigned kinds = MC__KIND_BIT(MC_RES_SEM);
    mc_res_info info;
    int fd;
    void *addr;
    if (!sem)
        return mc__err(MC_EINVAL, "mc_named_sem_get: NULL sem");
    int rc = mc__need_session(fn);
    if (rc)
        return rc;
    /* the entry stays while W->lock is held: a release by another thread
     * waits for it */
    mc__cached *c;
    pthread_mutex_lock(&mc__W->lock);
    rc = w_lookup(id, kinds, &info, &fd, &addr, fn, &c);
    if (!rc) {
        pthread_mutex_lock(&mc__W->cache_lock);
        rc = sem_slot(&c->sem, info.name, sem);
        pthread_mutex_unlock(&mc__W->cache_lock);
    }
    pthread_mutex_unlock(&mc__W->lock);
    return rc;
}

int mc_named_sem_get(mc_res_id id, sem_t **sem)
{
    int rc = named_sem_get(id, sem);
    return rc ? mc__err_in(rc, "mc_named_sem_get") : 0;
}

static int release(mc_res_id id)
{
    int rc = mc__need_session("mc_release");
    if (rc)
        return rc;
    mc__msg req = {.op = MC__OP_RES_RELEASE, .a = id}, rep;
    mc__worker *W = mc__W;
    mc__cached *c = NULL;
    pthread_mutex_lock(&W->lock);
    rc = mc__rpc_held(&req, NULL, 0, NULL, 0, -1, &rep, NULL, NULL);
    if (!rc && !(rc = rep.rc)) {
        pthread_mutex_lock(&W->cache_lock);
        if ((c = mc__idmap_get(&W->cache, id)))
            mc__idmap_del(&W->cache, id);
        pthread_mutex_unlock(&W->cache_lock);
    }
    pthread_mutex_unlock(&W->lock);
    if (c) {
        if (c->fd >= 0)
            close(c->fd);
        if (c->sem)
            sem_close(c->sem);
        free(c);
    }
    return rc;
}

int mc_release(mc_res_id id)
{
    int rc = release(id);
    return rc ? mc__err_in(rc, "mc_release") : 0;
}

int mc__res_held(mc_res_id id)
{
    if (mc__role_now != MC__ROLE_WORKER)
        return 0;
    /* a worker's cache has an entry for each resource it holds */
    pthread_mutex_lock(&mc__W->cache_lock);
    int held = mc__idmap_get(&mc__W->cache, id) != NULL;
    pthread_mutex_unlock(&mc__W->cache_lock);
    return held;
}
