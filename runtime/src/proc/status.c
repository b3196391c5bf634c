/* proc/status.c: the master writes the session's status file (status.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "os/title.h"
#include "proc/state.h"
#include "proc/status.h"

static const char *kind_token(mc_res_kind k)
{
    switch (k) {
    case MC_RES_SHM: return "shm";
    case MC_RES_SHM_NAMED: return "shm_named";
    case MC_RES_FILE: return "file";
    case MC_RES_SEM: return "sem";
    case MC_RES_FORK_POINT: return "fork_point";
    case MC_RES_JOIN_POINT: return "join_point";
    case MC_RES_POOL: return "pool";
    case MC_RES_CAMLBOX: return "camlbox";
    }
    return "unknown";
}

static const char *state_of(const mc__proc *p)
{
    if (!p->alive)
        return "ended";
    if (p->done)
        return "exiting";
    return p->waiting_on ? "joining" : "running";
}

static int by_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The keys of m, sorted (malloc()ed; NULL if none or no memory). */
static int64_t *sorted_keys(const mc__idmap *m, size_t *n)
{
    *n = 0;
    int64_t *k = m->count ? malloc(m->count * sizeof *k) : NULL;
    if (!k)
        return NULL;
    size_t pos = 0;
    int64_t key;
    while (*n < m->count && mc__idmap_next(m, &pos, &key))
        k[(*n)++] = key;
    qsort(k, *n, sizeof *k, by_id);
    return k;
}

static void put_text(mc__master *M, FILE *f)
{
    fprintf(f, "%s %d\n", MC__STATUS_MAGIC, MC__STATUS_VERSION);
    const char *prog = mc__title_prog();
    fprintf(f, "session %d %lld %s\n", (int)M->ospid, (long long)time(NULL),
            *prog ? prog : "-");
    fprintf(f, "proc 0 %d -1 running master\n", (int)M->ospid);
    size_t n;
    int64_t *k = sorted_keys(&M->procs, &n);
    for (size_t i = 0; i < n; i++) {
        const mc__proc *p = mc__idmap_get(&M->procs, k[i]);
        fprintf(f, "proc %lld %d %lld %s %s\n", (long long)p->pid,
                (int)p->ospid, (long long)p->parent, state_of(p),
                p->def && p->def->name ? p->def->name : "-");
    }
    free(k);
    k = sorted_keys(&M->res, &n);
    for (size_t i = 0; i < n; i++) {
        const mc__res *r = mc__idmap_get(&M->res, k[i]);
        const char *name = r->name;
        if (!name && r->def)
            name = r->def->name;
        fprintf(f, "res %lld %s %zu %zu %s\n", (long long)r->id,
                kind_token(r->kind), r->size, r->n_holders,
                name && *name && !strpbrk(name, "\n") ? name : "-");
    }
    free(k);
}

void mc__status_write(void)
{
    mc__master *M = mc__M;
    if (!M || !M->dir)
        return;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return;
    put_text(M, f);
    if (fclose(f) != 0) {
        free(text);
        return;
    }
    char tmp[4096], path[4096];
    if (snprintf(tmp, sizeof tmp, "%s/%s.tmp", M->dir, MC__STATUS_FILE) >=
            (int)sizeof tmp ||
        snprintf(path, sizeof path, "%s/%s", M->dir, MC__STATUS_FILE) >=
            (int)sizeof path) {
        free(text);
        return;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                  0600);
    if (fd >= 0) {
        ssize_t w = write(fd, text, len);
        close(fd);
        if (w == (ssize_t)len)
            rename(tmp, path);
        else
            unlink(tmp);
    }
    free(text);
}
