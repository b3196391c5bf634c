/* proc/stat.c: the session server answers `mcadmin stat` (stat.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "data/arr.h"
#include "os/fdpass.h"
#include "os/shm.h"
#include "os/title.h"
#include "proc/stat.h"
#include "proc/state.h"
#include "proc/status.h"

static int lsock = -1;      /* the listening socket; -1 none */
static char *lpath;         /* its path, to unlink at the end */
static int spare = -1;      /* /dev/null, given up to accept at EMFILE */

void mc__stat_listen(int epfd, uint64_t ev_data)
{
    mc__master *M = mc__M;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (lsock >= 0 || !M || !M->dir ||
        snprintf(a.sun_path, sizeof a.sun_path, "%s/%s", M->dir,
                 MC__STAT_SOCK) >= (int)sizeof a.sun_path)
        return; /* a path too long for a socket: no statistics */
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return;
    /* we hold the directory's lock: a socket there is a dead server's */
    unlink(a.sun_path);
    /* 0600 from its creation on (a socket_dir given may be readable) */
    mode_t old = umask(0177);
    int b = bind(s, (struct sockaddr *)&a, sizeof a);
    umask(old);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ev_data};
    if (b < 0 || listen(s, 16) < 0 || !(lpath = strdup(a.sun_path)) ||
        epoll_ctl(epfd, EPOLL_CTL_ADD, s, &ev) < 0) {
        if (b == 0)
            unlink(a.sun_path);
        free(lpath);
        lpath = NULL;
        close(s);
        return;
    }
    lsock = s;
    spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void mc__stat_close(int unlink_path)
{
    if (lsock >= 0)
        close(lsock);
    if (spare >= 0)
        close(spare);
    lsock = spare = -1;
    if (unlink_path && lpath)
        unlink(lpath);
    free(lpath);
    lpath = NULL;
}

/* ------------------------------------------------------------- values */

/* A value: %XX for what would break a line's fields (stat.h). */
static void put_val(FILE *f, const char *s)
{
    if (!s || !*s) {
        fputc('-', f);
        return;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == '=' || *p == '%' || *p >= 0x7f)
            fprintf(f, "%%%02X", *p);
        else
            fputc(*p, f);
}

static int cmp_pid(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* How many resources each process of pids[0..n) (sorted) holds, in one
 * pass over the resources (calloc()ed; NULL: no memory). */
static size_t *holds_of(mc__master *M, const int64_t *pids, size_t n)
{
    size_t *c = calloc(n ? n : 1, sizeof *c), pos = 0;
    mc__res *r;
    while (c && (r = mc__idmap_next(&M->res, &pos, NULL)))
        for (size_t i = 0; i < r->n_holders; i++) {
            int64_t h = r->holders[i];
            const int64_t *at = bsearch(&h, pids, n, sizeof *pids, cmp_pid);
            if (at)
                c[at - pids]++;
        }
    return c;
}

/* ---------------------------------------------------------- containers */

/* Containers are heaps whose root has a known type.  A probe reads the
 * root (root_type's, lying in [root, hi)) with relaxed loads and writes
 * its fields (" key=value"...); 0, or -1 if it is not a live one.
 * New containers: add a probe and a line to `containers`. */
typedef int stat_probe(FILE *f, const void *root, const char *lo,
                       const char *hi);

static int probe_arr(FILE *f, const void *root, const char *hi, int matrix)
{
    const mc__arr *a = root;
    if ((uintptr_t)hi - (uintptr_t)root < sizeof *a ||
        __atomic_load_n(&a->magic, __ATOMIC_ACQUIRE) != MC__ARR_LIVE)
        return -1;
    size_t len = __atomic_load_n(&a->len, __ATOMIC_ACQUIRE);
    if (matrix)
        fprintf(f, " rows=%zu cols=%zu",
                __atomic_load_n(&a->rows, __ATOMIC_RELAXED),
                __atomic_load_n(&a->cols, __ATOMIC_RELAXED));
    fprintf(f, " length=%zu", len);
    return 0;
}

static int probe_sarray(FILE *f, const void *root, const char *lo,
                        const char *hi)
{
    (void)lo;
    return probe_arr(f, root, hi, 0);
}

static int probe_smatrix(FILE *f, const void *root, const char *lo,
                         const char *hi)
{
    (void)lo;
    return probe_arr(f, root, hi, 1);
}

/* Queues of elements or bytes: length, capacity, closed. */
typedef int flow_peek(const void *root, const char *hi, uint64_t *length,
                      uint64_t *capacity, int *closed);

static int probe_flow(FILE *f, const void *root, const char *hi,
                      flow_peek *peek)
{
    uint64_t len, cap;
    int closed;
    if (peek(root, hi, &len, &cap, &closed) != 0)
        return -1;
    fprintf(f, " length=%llu capacity=%llu closed=%d",
            (unsigned long long)len, (unsigned long long)cap, closed);
    return 0;
}

static int probe_squeue(FILE *f, const void *root, const char *lo,
                        const char *hi)
{
    (void)lo;
    return probe_flow(f, root, hi, mc__squeue_peek);
}

static int probe_sbuffer(FILE *f, const void *root, const char *lo,
                         const char *hi)
{
    (void)lo;
    return probe_flow(f, root, hi, mc__sbuffer_peek);
}

static int probe_shashtbl(FILE *f, const void *root, const char *lo,
                          const char *hi)
{
    uint64_t len;
    if (mc__shashtbl_peek(root, lo, hi, &len) != 0)
        return -1;
    fprintf(f, " length=%llu", (unsigned long long)len);
    return 0;
}

static const mc_type *const sarray_type = &mc__sarray_root_type;
static const mc_type *const smatrix_type = &mc__smatrix_root_type;

static const struct {
    const char *kind;
    const mc_type *const *root_type; /* its heap's root type */
    stat_probe *probe;
} containers[] = {
    {"sarray", &sarray_type, probe_sarray},
    {"smatrix", &smatrix_type, probe_smatrix},
    {"squeue", &mc__squeue_stat_type, probe_squeue},
    {"sbuffer", &mc__sbuffer_stat_type, probe_sbuffer},
    {"shashtbl", &mc__shashtbl_stat_type, probe_shashtbl},
};

/* ------------------------------------------------------------ the text */

static void put_workers(mc__master *M, FILE *f)
{
    int master = M->master ? (int)M->master->ospid : (int)getppid();
    const char *prog = mc__title_prog();
    fprintf(f, "session ospid=%d time=%lld prog=", master,
            (long long)time(NULL));
    put_val(f, prog);
    size_t n;
    int64_t *k = mc__status_keys(&M->procs, &n), m = MC__MASTER_PID;
    size_t *holds = k ? holds_of(M, k, n) : NULL;
    const int64_t *mk = k ? bsearch(&m, k, n, sizeof *k, cmp_pid) : NULL;
    fprintf(f, "\nworker pid=0 ospid=%d parent=- state=%s type=master "
               "holds=%zu\n", master, M->master ? "running" : "ended",
            holds && mk ? holds[mk - k] : 0);
    for (size_t i = 0; i < n; i++) {
        const mc__proc *p = mc__idmap_get(&M->procs, k[i]);
        if (p->pid == MC__MASTER_PID)
            continue;
        fprintf(f, "worker pid=%lld ospid=%d parent=%lld state=%s type=",
                (long long)p->pid, (int)p->ospid,
                (long long)(p->parent == MC__MASTER_PID ? 0 : p->parent),
                mc__status_state(p));
        put_val(f, p->def ? p->def->name : NULL);
        fprintf(f, " holds=%zu\n", holds ? holds[i] : 0);
    }
    free(holds);
    free(k);
}

/* A pool, its heaps, and the containers among them. */
static void put_pool(FILE *f, const mc__res *r)
{
    mc__pool_view v;
    if (!r->addr || mc__pool_peek(r->addr, r->size, &v) != 0)
        return; /* not formatted yet */
    fprintf(f, "pool id=%lld max=%zu size=%zu used=%zu chunks=%zu "
               "heaps=%zu holders=%zu", (long long)r->id, v.max, v.size,
            v.used, v.chunks, v.n_heaps + v.unlisted, r->n_holders);
    if (v.unlisted)
        fprintf(f, " heaps_unlisted=%zu", v.unlisted);
    fputc('\n', f);
    const char *lo = r->addr, *hi = lo + r->size;
    for (size_t i = 0; i < v.n_heaps; i++) {
        mc__heap_view h;
        if (mc__heap_peek(lo, hi, lo + v.heaps[i], &h) != 0)
            continue;
        size_t live = h.st.live_bytes;
        fprintf(f, "heap pool=%lld addr=%p live=%zu free=%zu heap_bytes=%zu"
                   " chunks=%zu collections=%llu last_pause_ms=%.3f\n",
                (long long)r->id, (const void *)(lo + v.heaps[i]), live,
                h.st.heap_bytes > live ? h.st.heap_bytes - live : 0,
                h.st.heap_bytes, h.st.chunks,
                (unsigned long long)h.st.collections, h.st.last_pause_ms);
    }
    /* the containers after the heaps: a second pass, one line each */
    for (size_t i = 0; i < v.n_heaps; i++) {
        mc__heap_view h;
        if (mc__heap_peek(lo, hi, lo + v.heaps[i], &h) != 0 || !h.root)
            continue;
        for (size_t c = 0; c < sizeof containers / sizeof *containers; c++) {
            if (h.root_type != *containers[c].root_type)
                continue;
            char *line = NULL;
            size_t len = 0;
            FILE *g = open_memstream(&line, &len);
            if (!g)
                break;
            fprintf(g, "%s pool=%lld heap=%p", containers[c].kind,
                    (long long)r->id, (const void *)(lo + v.heaps[i]));
            int ok = containers[c].probe(g, h.root, lo, hi) == 0;
            if (fclose(g) == 0 && ok)
                fprintf(f, "%s\n", line);
            free(line);
            break;
        }
    }
}

static void put_box(FILE *f, const mc__res *r)
{
    mc__camlbox_view v;
    if (r->fd < 0 || mc__camlbox_peek(r->fd, &v) != 0)
        return; /* the receiver has not formatted it yet */
    /* the receiver holds it too (camlbox.h: a sender holds the box) */
    size_t senders = r->n_holders ? r->n_holders - 1 : 0;
    fprintf(f, "camlbox id=%lld slots=%zu slot_size=%zu ", (long long)r->id,
            v.st.capacity, v.st.slot_size);
    if (v.scanned)
        fprintf(f, "used=%zu free=%zu writing=%zu ready=%zu reading=%zu ",
                v.st.capacity - v.st.free, v.st.free, v.st.writing,
                v.st.ready, v.st.reading);
    else
        fprintf(f, "used=- free=- writing=- ready=- reading=- ");
    fprintf(f, "senders=%zu delivered=%llu lost=%llu reclaimed=%zu\n",
            senders, (unsigned long long)v.delivered,
            (unsigned long long)v.lost, v.st.reclaimed);
}

static void put_text(mc__master *M, FILE *f)
{
    fprintf(f, "%s %d\n", MC__STAT_MAGIC, MC__STAT_VERSION);
    put_workers(M, f);
    size_t n;
    int64_t *k = mc__status_keys(&M->res, &n);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            const mc__res *r = mc__idmap_get(&M->res, k[i]);
            if (pass == 0 && r->kind == MC_RES_POOL)
                put_pool(f, r);
            else if (pass == 1 && r->kind == MC_RES_CAMLBOX)
                put_box(f, r);
        }
    free(k);
}

/* ------------------------------------------------------------- serving */

static void answer(int c)
{
    struct ucred cr;
    socklen_t cl = sizeof cr;
    if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 ||
        (cr.uid != geteuid() && cr.uid != 0))
        return; /* another user's: closed without an answer (stat.h) */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return;
    put_text(mc__M, f);
    if (fclose(f) != 0) {
        free(text);
        return;
    }
    int fd = -1;
    if (mc__memfd_from(text, len, &fd) == 0) {
        struct iovec iov = {.iov_base = (void *)"S", .iov_len = 1};
        mc__send_fds(c, &iov, 1, &fd, 1, MSG_DONTWAIT);
        close(fd);
    }
    free(text);
}

void mc__stat_serve(void)
{
    if (lsock < 0)
        return;
    /* a few at a time: a flood of clients cannot hold the loop */
    for (int i = 0; i < 8; i++) {
        int c = accept4(lsock, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0 && (errno == EMFILE || errno == ENFILE) && spare >= 0) {
            /* out of descriptors: the connection would stay pending and
             * wake the loop forever; take it with the spare and drop it */
            close(spare);
            c = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0)
                close(c);
            spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
            return;
        }
        if (c < 0)
            return; /* EAGAIN, or a client gone already */
        answer(c);
        close(c);
    }
}
