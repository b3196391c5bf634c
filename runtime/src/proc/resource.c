/* resource.c: the public resource API.  In the master it works on the table
 * directly; in a worker each call is one request to the master, and the
 * descriptors it hands back are cached so that repeated lookups cost
 * nothing. */
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

/* Cache a descriptor the master handed over (a worker's side). */
static int cache_fd(mc_res_id id, int fd)
{
    mc__cached *c = mc__idmap_get(&mc__W->cache, id);
    if (!c) {
        if (!(c = calloc(1, sizeof *c)) ||
            mc__idmap_put(&mc__W->cache, id, c)) {
            free(c);
            if (fd >= 0)
                close(fd);
            return mc__err(MC_ENOMEM, "resource cache: out of memory");
        }
        c->fd = -1;
    }
    if (c->fd < 0)
        c->fd = fd;
    else if (fd >= 0)
        close(fd); /* held already: keep the first */
    return c->fd;
}

int mc__res_create(mc_res_kind kind, const char *name, size_t size,
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
    if (mc__role_now == MC__ROLE_MASTER) {
        mc__res *r;
        if ((rc = mc__m_res_create(0, kind, name, size, &r)))
            return rc;
        *id = r->id;
        *fd = r->fd;
        *addr = r->addr;
        return 0;
    }
    mc__msg req = {.op = MC__OP_RES_CREATE, .a = kind, .b = (int64_t)size};
    mc__msg rep;
    int xfd = -1;
    rc = mc__rpc(&req, name ? name : "", name ? strlen(name) + 1 : 1, NULL,
                 0, -1, &rep, NULL, &xfd);
    if (rc)
        return rc;
    if (rep.rc) {
        if (xfd >= 0)
            close(xfd);
        return rep.rc;
    }
    *id = rep.a;
    *addr = (void *)(uintptr_t)rep.c;
    *fd = -1;
    if (xfd >= 0) {
        int f = cache_fd(*id, xfd);
        if (f < 0) {
            mc_release(*id);
            return f;
        }
        *fd = f;
    }
    return 0;
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

int mc__res_lookup(mc_res_id id, unsigned kinds, mc_res_info *info, int *fd,
                   void **addr, const char *fn)
{
    int rc = mc__need_session(fn);
    if (rc)
        return rc;
    if (mc__role_now == MC__ROLE_MASTER) {
        mc__res *r;
        if ((rc = mc__m_res_get(0, id, kinds, &r)))
            return rc;
        info->kind = r->kind;
        info->size = r->size;
        snprintf(info->name, sizeof info->name, "%s", r->name ? r->name : "");
        *fd = r->fd;
        *addr = r->addr;
        return 0;
    }
    mc__msg req = {.op = MC__OP_RES_GET, .a = id, .b = kinds}, rep;
    mc__blob pl = MC__BLOB_NONE;
    int xfd = -1;
    if ((rc = mc__rpc(&req, NULL, 0, NULL, 0, -1, &rep, &pl, &xfd)))
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
    int f = cache_fd(id, xfd);
    if (f < -1)
        return f;
    *fd = f;
    return 0;
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
    if (mc__role_now == MC__ROLE_WORKER) { /* fast path: held already */
        mc__cached *c = mc__idmap_get(&mc__W->cache, id);
        if (c && c->fd >= 0) {
            *fd = c->fd;
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

int mc_named_sem_get(mc_res_id id, sem_t **sem)
{
    mc_res_info info;
    int fd;
    if (!sem)
        return mc__err(MC_EINVAL, "mc_named_sem_get: NULL sem");
    int rc = get(id, MC__KIND_BIT(MC_RES_SEM), &info, &fd, "mc_named_sem_get");
    if (rc)
        return rc;
    sem_t **slot;
    if (mc__role_now == MC__ROLE_MASTER)
        slot = &((mc__res *)mc__idmap_get(&mc__M->res, id))->sem;
    else
        slot = &((mc__cached *)mc__idmap_get(&mc__W->cache, id))->sem;
    if (!*slot) {
        sem_t *s = sem_open(info.name, 0);
        if (s == SEM_FAILED)
            return mc__errno("sem_open");
        *slot = s;
    }
    *sem = *slot;
    return 0;
}

int mc_release(mc_res_id id)
{
    int rc = mc__need_session("mc_release");
    if (rc)
        return rc;
    if (mc__role_now == MC__ROLE_MASTER)
        return mc__m_res_release(0, id);
    mc__msg req = {.op = MC__OP_RES_RELEASE, .a = id}, rep;
    if ((rc = mc__rpc(&req, NULL, 0, NULL, 0, -1, &rep, NULL, NULL)))
        return rc;
    mc__cached *c = mc__idmap_get(&mc__W->cache, id);
    if (c && !rep.rc) {
        mc__idmap_del(&mc__W->cache, id);
        if (c->fd >= 0)
            close(c->fd);
        if (c->sem)
            sem_close(c->sem);
        free(c);
    }
    return rep.rc;
}

int mc__res_held(mc_res_id id)
{
    if (mc__role_now == MC__ROLE_MASTER) {
        mc__res *r = mc__idmap_get(&mc__M->res, id);
        return r && mc__m_res_holds(r, 0);
    }
    if (mc__role_now != MC__ROLE_WORKER)
        return 0;
    /* a worker's cache has an entry for each resource it holds */
    pthread_mutex_lock(&mc__W->lock);
    int held = mc__idmap_get(&mc__W->cache, id) != NULL;
    pthread_mutex_unlock(&mc__W->lock);
    return held;
}
