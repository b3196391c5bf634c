/* restable.c: the master's resource table.
 *
 * Each entry records which processes hold it.  An entry nobody holds is
 * deleted at once: memfds closed, named objects unlinked and then removed
 * from the manifest (which lists them from before their creation until
 * after their removal, so a crash at any point leaves nothing unlisted).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"
#include "os/shm.h"
#include "proc/manifest.h"
#include "proc/state.h"
#include "proc/status.h"

static mc_res_id next_res_id = 1; /* ids are never reused in a program */

mc_res_id mc__res_new_id(void)
{
    return next_res_id++;
}

mc_res_id mc__res_next_id(void)
{
    return next_res_id;
}

void mc__res_ids_from(mc_res_id next)
{
    if (next > next_res_id)
        next_res_id = next;
}

static const char *manifest_kind(mc_res_kind k)
{
    switch (k) {
    case MC_RES_SHM_NAMED: return "shm";
    case MC_RES_SEM: return "sem";
    case MC_RES_FILE: return "file";
    default: return NULL;
    }
}

int mc__m_res_holds(const mc__res *r, mc_pid who)
{
    for (size_t i = 0; i < r->n_holders; i++)
        if (r->holders[i] == who)
            return 1;
    return 0;
}

static int hold(mc__res *r, mc_pid who)
{
    if (r->def || mc__m_res_holds(r, who))
        return 0;
    if (r->n_holders == r->cap_holders) {
        size_t ncap = r->cap_holders ? r->cap_holders * 2 : 4;
        mc_pid *h = realloc(r->holders, ncap * sizeof *h);
        if (!h)
            return mc__err(MC_ENOMEM, "resource %lld: out of memory",
                           (long long)r->id);
        r->holders = h;
        r->cap_holders = ncap;
    }
    r->holders[r->n_holders++] = who;
    return 0;
}

static int unhold(mc__res *r, mc_pid who)
{
    for (size_t i = 0; i < r->n_holders; i++)
        if (r->holders[i] == who) {
            r->holders[i] = r->holders[--r->n_holders];
            return 1;
        }
    return 0;
}

/* Unlink the object and free the entry. */
void mc__m_res_remove(mc__res *r)
{
    mc__idmap_del(&mc__M->res, r->id);
    if (r->kind == MC_RES_POOL && r->addr) {
        mc__maps_del(r->addr);
        mc__window_unmap(r->addr, r->size);
    }
    if (r->fd >= 0)
        close(r->fd);
    if (r->sem)
        sem_close(r->sem);
    const char *mk = manifest_kind(r->kind);
    if (mk && r->name) {
        if (r->kind == MC_RES_SHM_NAMED)
            shm_unlink(r->name);
        else if (r->kind == MC_RES_SEM)
            sem_unlink(r->name);
        else
            unlink(r->name);
        mc__manifest_remove(mc__M->dir, mk, r->name);
    }
    free(r->name);
    free(r->holders);
    free(r);
}

static mc__res *res_alloc(mc_res_kind kind, const char *name, size_t size)
{
    mc__res *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->kind = kind;
    r->size = size;
    r->fd = -1;
    if (name && !(r->name = strdup(name))) {
        free(r);
        return NULL;
    }
    return r;
}

static int res_insert(mc__res *r, mc_pid who)
{
    r->id = mc__res_new_id();
    int rc = mc__idmap_put(&mc__M->res, r->id, r);
    if (!rc && !r->def && (rc = hold(r, who)))
        mc__idmap_del(&mc__M->res, r->id);
    return rc;
}

int mc__m_res_add_point(mc_res_id id, mc_res_kind kind, mc__def *def)
{
    mc__res *r = res_alloc(kind, NULL, 0);
    if (!r)
        return mc__err(MC_ENOMEM, "resource table: out of memory");
    r->id = id;
    r->def = def;
    int rc = mc__idmap_put(&mc__M->res, id, r);
    if (rc)
        free(r);
    return rc;
}

/* Create the object behind r (its name, if any, is already listed). */
static int create_object(mc__res *r, size_t value)
{
    switch (r->kind) {
    case MC_RES_SHM:
        return mc__memfd_create("mcore-shm", r->size, &r->fd);
    case MC_RES_CAMLBOX:
        /* the receiver maps and formats it (camlbox/camlbox.c) */
        return mc__memfd_create("mcore-camlbox", r->size, &r->fd);
    case MC_RES_SHM_NAMED:
        return mc__shm_create_named(r->name, r->size, &r->fd);
    case MC_RES_SEM:
        r->sem = sem_open(r->name, O_CREAT | O_EXCL, 0600, (unsigned)value);
        if (r->sem == SEM_FAILED) {
            r->sem = NULL;
            if (errno == EEXIST)
                return mc__err(MC_EEXIST, "semaphore %s exists", r->name);
            return mc__errno("sem_open");
        }
        return 0;
    case MC_RES_POOL: {
        /* the whole range is mapped at once; pages are reserved only as the
         * pool grows (mem/pool.c), so the file is sized to the maximum */
        int rc = mc__window_take(&mc__M->win, r->size, &r->addr);
        if (!rc)
            rc = mc__memfd_create("mcore-pool", r->size, &r->fd);
        if (!rc)
            rc = mc__window_map(r->addr, r->size, r->fd);
        if (!rc)
            rc = mc__maps_add(0, r->addr, r->size);
        return rc;
    }
    case MC_RES_FILE: {
        int fd = open(r->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return errno == EEXIST
                       ? mc__err(MC_EEXIST, "file %s exists", r->name)
                       : mc__errno("creating temporary file");
        close(fd);
        return 0;
    }
    default:
        return mc__err(MC_EINVAL, "cannot create a resource of kind %d",
                       (int)r->kind);
    }
}

/* Take over an existing named object (mc_manage). */
static int adopt_object(mc__res *r)
{
    switch (r->kind) {
    case MC_RES_SHM_NAMED:
        r->fd = shm_open(r->name, O_RDWR | O_CLOEXEC, 0);
        if (r->fd < 0)
            return errno == ENOENT
                       ? mc__err(MC_ENOENT, "no shm object %s", r->name)
                       : mc__errno("shm_open");
        return 0;
    case MC_RES_SEM:
        r->sem = sem_open(r->name, 0);
        if (r->sem == SEM_FAILED) {
            r->sem = NULL;
            return errno == ENOENT
                       ? mc__err(MC_ENOENT, "no semaphore %s", r->name)
                       : mc__errno("sem_open");
        }
        return 0;
    case MC_RES_FILE:
        if (access(r->name, F_OK) < 0)
            return mc__err(MC_ENOENT, "no file %s", r->name);
        return 0;
    default:
        return mc__err(MC_EINVAL, "mc_manage: kind %d cannot be managed",
                       (int)r->kind);
    }
}

/* Create (size_or_value: size for shm, value for sem) or, with the
 * MC__ADOPT bit in kind, take over an existing named object. */
int mc__m_res_create(mc_pid who, mc_res_kind kind, const char *name,
                     size_t size, mc__res **out)
{
    int adopt = (kind & 0x100) != 0;
    kind &= 0xff;
    char gen[MC_RES_NAME_MAX];
    mc__master *M = mc__M;
    int anon = kind == MC_RES_SHM || kind == MC_RES_POOL ||
               kind == MC_RES_CAMLBOX;
    if (!adopt && !name && !anon) {
        /* Names are unique per master, session and id, so O_EXCL only
         * fails on a stranger's object. */
        if (kind == MC_RES_FILE)
            snprintf(gen, sizeof gen, "%s/mcore.tmp.%lld", M->dir,
                     (long long)next_res_id);
        else
            snprintf(gen, sizeof gen, "/mcore.%x.%lx.%llx",
                     (unsigned)getpid(), M->session,
                     (unsigned long long)next_res_id);
        name = gen;
    }
    if (kind == MC_RES_POOL) {
        size_t pg = (size_t)sysconf(_SC_PAGESIZE);
        if (size == 0 || size > mc__M->win.size)
            return mc__err(MC_EINVAL, "pool size %zu is 0 or larger than the "
                           "window (%zu)", size, mc__M->win.size);
        size = (size + pg - 1) / pg * pg;
    } else if (kind == MC_RES_FILE ? (!name || name[0] != '/' ||
                                       strlen(name) >= MC_RES_NAME_MAX)
                                   : (!anon && !mc__shm_name_ok(name)))
        return mc__err(MC_EINVAL, "bad name \"%s\"", name ? name : "(null)");
    mc__res *r = res_alloc(kind, anon ? NULL : name, size);
    if (!r)
        return mc__err(MC_ENOMEM, "resource table: out of memory");
    const char *mk = manifest_kind(kind);
    int rc = 0;
    if (mk && (rc = mc__manifest_add(M->dir, mk, name)))
        goto fail;
    rc = adopt ? adopt_object(r) : create_object(r, size);
    if (rc) {
        if (mk)
            mc__manifest_remove(M->dir, mk, name);
        if (r->fd >= 0)
            close(r->fd);
        if (r->addr) {
            mc__maps_del(r->addr);
            mc__window_unmap(r->addr, r->size);
        }
        goto fail;
    }
    if ((rc = res_insert(r, who))) {
        mc__m_res_remove(r);
        return rc;
    }
    if (r->kind == MC_RES_POOL)
        mc__maps_set_id(r->addr, r->id);
    *out = r;
    mc__status_write(); /* for mcadmin (status.h) */
    return 0;
fail:
    free(r->name);
    free(r);
    return rc;
}

static int lookup(mc_res_id id, mc__res **out)
{
    mc__res *r = mc__idmap_get(&mc__M->res, id);
    if (!r)
        return mc__err(MC_ENOENT, "no resource %lld", (long long)id);
    *out = r;
    return 0;
}

int mc__m_res_get(mc_pid who, mc_res_id id, unsigned kinds, mc__res **out)
{
    int rc = lookup(id, out);
    if (rc)
        return rc;
    if (kinds && !(kinds & MC__KIND_BIT((*out)->kind)))
        return mc__err(MC_ETYPE, "resource %lld is a %s", (long long)id,
                       mc__kind_name((*out)->kind));
    return hold(*out, who);
}

const char *mc__kind_name(mc_res_kind k)
{
    switch (k) {
    case MC_RES_SHM: return "shm (memfd)";
    case MC_RES_SHM_NAMED: return "named shm";
    case MC_RES_FILE: return "file";
    case MC_RES_SEM: return "semaphore";
    case MC_RES_FORK_POINT: return "fork point";
    case MC_RES_JOIN_POINT: return "join point";
    case MC_RES_POOL: return "pool";
    case MC_RES_CAMLBOX: return "camlbox";
    }
    return "resource of unknown kind";
}

int mc__m_res_release(mc_pid who, mc_res_id id)
{
    mc__res *r = NULL;
    int rc = lookup(id, &r);
    if (rc)
        return rc;
    if (r->def)
        return mc__m_point_release(who, id, r->kind);
    if (!unhold(r, who))
        return mc__err(MC_ENOENT, "resource %lld is not held by pid %lld",
                       (long long)id, (long long)who);
    if (r->n_holders == 0) {
        mc__m_res_remove(r);
        mc__status_write(); /* for mcadmin (status.h) */
    }
    return 0;
}

int mc__m_res_inherit(mc_pid from, mc_pid to, const mc_res_id *ids,
                      int64_t n)
{
    mc__res *r;
    for (int64_t i = 0; i < n; i++)
        if (!mc__idmap_get(&mc__M->res, ids[i]))
            return mc__err(MC_ENOENT, "no resource %lld to inherit",
                           (long long)ids[i]);
    int rc = 0;
    if (n >= 0) {
        for (int64_t i = 0; i < n && !rc; i++)
            rc = hold(mc__idmap_get(&mc__M->res, ids[i]), to);
    } else {
        size_t pos = 0;
        while (!rc && (r = mc__idmap_next(&mc__M->res, &pos, NULL)))
            if (mc__m_res_holds(r, from))
                rc = hold(r, to);
    }
    return rc;
}

void mc__m_res_drop_holder(mc_pid who)
{
    size_t pos = 0;
    mc__res *r;
    while ((r = mc__idmap_next(&mc__M->res, &pos, NULL)))
        if (unhold(r, who) && r->n_holders == 0)
            mc__m_res_remove(r);
}

void mc__m_res_died_holding(mc_pid who)
{
    size_t pos = 0;
    mc__res *r;
    while ((r = mc__idmap_next(&mc__M->res, &pos, NULL)))
        if (r->kind == MC_RES_CAMLBOX && r->fd >= 0 &&
            mc__m_res_holds(r, who))
            mc__camlbox_lost(r->fd);
}

void mc__m_res_destroy_all(void)
{
    size_t pos = 0;
    mc__res *r;
    while ((r = mc__idmap_next(&mc__M->res, &pos, NULL)))
        mc__m_res_remove(r);
    mc__idmap_free(&mc__M->res);
}

void mc__m_res_child_fds(mc_pid self, mc__idmap *cache)
{
    size_t pos = 0;
    mc__res *r;
    while ((r = mc__idmap_next(&mc__M->res, &pos, NULL))) {
        if (r->fd < 0)
            continue;
        mc__cached *c;
        if (mc__m_res_holds(r, self) && (c = calloc(1, sizeof *c))) {
            c->fd = r->fd;
            if (mc__idmap_put(cache, r->id, c) == 0)
                continue;
            free(c);
        }
        close(r->fd);
    }
}
