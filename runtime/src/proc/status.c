/* proc/status.c: the master writes the session's status file (status.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

/* status.h */
const char *mc__status_state(const mc__proc *p)
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

/* status.h */
int64_t *mc__status_keys(const mc__idmap *m, size_t *n)
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

/* Everything after the header line: the processes and resources. */
static void put_text(mc__master *M, FILE *f)
{
    const char *prog = mc__title_prog();
    /* the master is the program's process (the server is its child,
     * an mcore detail): its pid names the session */
    int master = M->master ? (int)M->master->ospid : (int)getppid();
    fprintf(f, "session %d %lld %s\n", master, (long long)time(NULL),
            *prog ? prog : "-");
    fprintf(f, "proc 0 %d -1 %s master\n", master,
            M->master ? "running" : "ended");
    size_t n;
    int64_t *k = mc__status_keys(&M->procs, &n);
    for (size_t i = 0; i < n; i++) {
        const mc__proc *p = mc__idmap_get(&M->procs, k[i]);
        if (p->pid == MC__MASTER_PID)
            continue;
        fprintf(f, "proc %lld %d %lld %s %s\n", (long long)p->pid,
                (int)p->ospid,
                (long long)(p->parent == MC__MASTER_PID ? 0 : p->parent),
                mc__status_state(p),
                p->def && p->def->name ? p->def->name : "-");
    }
    free(k);
    k = mc__status_keys(&M->res, &n);
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

/* The status file, mapped: a rewrite is a memcpy.  write() to a file on
 * ext4 costs tens of microseconds (its mtime is journaled at each), and
 * truncating or renaming over it makes the kernel flush it to the disk
 * (auto_da_alloc): 1 ms per process start here.  Stores to a shared
 * mapping reach the page cache, which readers read. */
static struct {
    char *dir;             /* the session it belongs to (M->dir) */
    unsigned long session;
    char *map;
    size_t size;           /* of the mapping and the file */
    size_t used;           /* bytes of the last version */
    unsigned long long seq;
} st;

static void unmap(void)
{
    if (st.map)
        munmap(st.map, st.size);
    free(st.dir);
    memset(&st, 0, sizeof st);
}

/* Map DIR/mcore.status with room for `need` bytes. */
static int map_file(mc__master *M, size_t need)
{
    int same = st.map && st.session == M->session && st.dir &&
               strcmp(st.dir, M->dir) == 0;
    if (same && need <= st.size)
        return 0;
    unsigned long long seq = same ? st.seq : 0;
    unmap();
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", M->dir, MC__STATUS_FILE) >=
        (int)sizeof path)
        return -1;
    size_t size = 16384;
    while (size < need)
        size *= 2;
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    void *m = MAP_FAILED;
    if (ftruncate(fd, (off_t)size) == 0)
        m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd); /* the mapping keeps the file */
    if (m == MAP_FAILED)
        return -1;
    st.map = m;
    st.size = size;
    st.dir = strdup(M->dir);
    st.session = M->session;
    st.seq = seq;
    st.used = size; /* unknown: cleared at the first write */
    return 0;
}

/* The header line, of a fixed width: rewritten in place. */
static void put_header(unsigned long long seq)
{
    char h[MC__STATUS_HDR + 1];
    snprintf(h, sizeof h, "%s %d %020llu\n", MC__STATUS_MAGIC,
             MC__STATUS_VERSION, seq);
    memcpy(st.map, h, MC__STATUS_HDR);
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
    if (fclose(f) != 0 || map_file(M, MC__STATUS_HDR + len + 1) != 0) {
        free(text);
        return;
    }
    /* a seqlock: an odd number while the body changes (status.h) */
    put_header(++st.seq);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    memcpy(st.map + MC__STATUS_HDR, text, len);
    size_t used = MC__STATUS_HDR + len;
    if (st.used > used) /* what the last version had beyond this one */
        memset(st.map + used, 0, st.used - used);
    st.used = used;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    put_header(++st.seq);
    free(text);
}
