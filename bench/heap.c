/* bench/heap: shared heaps and shared references.
 *
 *   heap.sref_assign   assign of a small record (an int and a 16-byte
 *                      string) to an sref, per second
 *   heap.sref_deref_c  local copy of that value, per second
 *   heap.sref_deref_p  pinned read of it, per second
 *   heap.alloc32       32-byte allocations per second (unattached, so the
 *                      collector reclaims them) vs malloc+free
 *   heap.copy_in       deep copy of 10 MB of small records into a heap
 *                      (MB/s) vs memcpy of the same bytes
 *   heap.gc_10mb       a full collection with 10 MB of live small records
 *                      (ms), and the live data it traced (GB/s)
 *
 * Each figure is the median of several rounds.  It runs in the master:
 * heaps need no worker.  Usage: build/bench/heap [rounds]
 *
 * The sref figures' peer is the OCaml original (Netmcore_ref.assign,
 * deref_c, deref_p on the same record), run by bench/peers/run.sh right
 * after ours with the same counts, when OCaml and ocamlnet are installed;
 * otherwise the figures print without a peer and a "#" line says why.
 * MC_BENCH_PEERS=DIR names the directory of run.sh (default: bench/peers
 * beside the build directory the binary lies in). */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "mcore/mcore.h"
#include "mcore/sref.h"

typedef struct rec {
    int64_t n;
    char *s;
} rec;

static int rec_copy(mc_copier *c, void *dst, const void *src)
{
    const rec *s = src;
    rec *d = dst;
    d->n = s->n;
    return mc_copy_str(c, &s->s, &d->s);
}

static void rec_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, ((const rec *)obj)->s);
}

static const mc_type rec_type = {
    .name = "rec", .id = 0x51c3a7e9d0b24f68ull, .size = sizeof(rec),
    .align = _Alignof(rec), .copy = rec_copy, .trace = rec_trace,
};

/* many records: one array allocation holding n records */
typedef struct recs {
    size_t n;
    rec *items;
} recs;

static int recs_copy(mc_copier *c, void *dst, const void *src)
{
    const recs *s = src;
    recs *d = dst;
    d->n = s->n;
    return mc_copy_own(c, &rec_type, s->n, (void *const *)&s->items,
                       (void **)&d->items);
}

static void recs_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, ((const recs *)obj)->items);
}

static const mc_type recs_type = {
    .name = "recs", .id = 0x7b2d94e1c6a35f08ull, .size = sizeof(recs),
    .align = _Alignof(recs), .copy = recs_copy, .trace = recs_trace,
};

static int rounds = 7;
static int failed;

#define CHECK(call) BENCH_TRY(call)

static int noop_reader(const void *v, void *ctx)
{
    *(int64_t *)ctx += ((const rec *)v)->n;
    return 0;
}

/* bench/peers/run.sh: $MC_BENCH_PEERS, else <dir above build/>/bench/peers
 * for a binary in build/... (plain or a variant's subdirectory). */
static int peers_dir(char *dir, size_t cap, char *out, size_t ocap)
{
    const char *env = getenv("MC_BENCH_PEERS");
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char *b = strstr(exe, "/build/");
    if (!b)
        return -1;
    b[1] = '\0'; /* the root, with its slash */
    if ((size_t)snprintf(out, ocap, "%sbuild/peers", exe) >= ocap)
        return -1;
    size_t k = env && *env ? (size_t)snprintf(dir, cap, "%s", env)
                           : (size_t)snprintf(dir, cap, "%sbench/peers", exe);
    return k < cap ? 0 : -1;
}

/* The original's figures (0 when they are not to be had: the reason is
 * printed as a "#" line). */
static void run_peer(int n, double *assign, double *deref_c, double *deref_p)
{
    char dir[PATH_MAX], out[PATH_MAX], cmd[3 * PATH_MAX];
    if (peers_dir(dir, sizeof dir, out, sizeof out)) {
        printf("# peer netmcore_ref skipped: bench/peers not found\n");
        return;
    }
    snprintf(cmd, sizeof cmd, "%s/run.sh", dir);
    if (access(cmd, R_OK)) {
        printf("# peer netmcore_ref skipped: no %s\n", cmd);
        return;
    }
    snprintf(cmd, sizeof cmd, "sh '%s/run.sh' '%s' %d %d", dir, out, n,
             rounds);
    fflush(stdout);
    FILE *f = popen(cmd, "r");
    if (!f) {
        printf("# peer netmcore_ref skipped: cannot run %s\n", cmd);
        return;
    }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        double v;
        if (sscanf(line, "netmcore_ref_assign %lf", &v) == 1)
            *assign = v;
        else if (sscanf(line, "netmcore_ref_deref_c %lf", &v) == 1)
            *deref_c = v;
        else if (sscanf(line, "netmcore_ref_deref_p %lf", &v) == 1)
            *deref_p = v;
        else if (line[0] == '#')
            fputs(line, stdout);
    }
    pclose(f);
}

static int bench_sref(mc_pool *pool)
{
    char str[17] = "0123456789abcdef";
    rec r = {1, str};
    mc_sref *s;
    CHECK(mc_sref_create(pool, &rec_type, &r, &s));
    enum { N = 200000 };
    double a[16], c[16], p[16];
    int64_t sink = 0;
    for (int k = 0; k < rounds; k++) {
        double t0 = bench_now_us();
        for (int i = 0; i < N; i++) {
            r.n = i;
            CHECK(mc_sref_assign(s, &r));
        }
        double t1 = bench_now_us();
        for (int i = 0; i < N; i++) {
            void *copy;
            CHECK(mc_sref_deref_c(s, &copy));
            sink += ((rec *)copy)->n;
            mc_local_free(copy);
        }
        double t2 = bench_now_us();
        for (int i = 0; i < N; i++)
            CHECK(mc_sref_deref_p(s, noop_reader, &sink));
        double t3 = bench_now_us();
        a[k] = N / (t1 - t0) * 1e6;
        c[k] = N / (t2 - t1) * 1e6;
        p[k] = N / (t3 - t2) * 1e6;
    }
    double pa = 0, pc = 0, pp = 0;
    run_peer(N, &pa, &pc, &pp);
    bench_print("heap.sref_assign", bench_median(a, rounds), "ops/s",
                pa > 0 ? "netmcore_ref_assign" : NULL, pa);
    bench_print("heap.sref_deref_c", bench_median(c, rounds), "ops/s",
                pc > 0 ? "netmcore_ref_deref_c" : NULL, pc);
    bench_print("heap.sref_deref_p", bench_median(p, rounds), "ops/s",
                pp > 0 ? "netmcore_ref_deref_p" : NULL, pp);
    if (sink == 42) /* keeps the reads from being optimized away */
        printf("#\n");
    return mc_sref_destroy(s);
}

struct alloc_ctx {
    size_t n;
};

static int alloc_many(mc_mut *mut, void *root, void *ctx)
{
    (void)root;
    struct alloc_ctx *a = ctx;
    void *v;
    for (size_t i = 0; i < a->n; i++)
        CHECK(mc_heap_alloc(mut, &mc_type_bytes, 32, &v));
    return 0;
}

static int bench_alloc(mc_pool *pool)
{
    int64_t zero = 0;
    mc_heap *h;
    static const mc_type i64 = {.name = "i64", .id = 1, .size = 8,
                                .align = 8};
    CHECK(mc_heap_create(pool, &i64, &zero, &h));
    enum { N = 1000000 };
    static void *ptrs[N];
    double hv[16], mv[16];
    struct alloc_ctx a = {N};
    for (int k = 0; k < rounds; k++) {
        double t0 = bench_now_us();
        CHECK(mc_heap_modify(h, alloc_many, &a));
        double t1 = bench_now_us();
        for (size_t i = 0; i < N; i++)
            ptrs[i] = malloc(32);
        for (size_t i = 0; i < N; i++)
            free(ptrs[i]);
        double t2 = bench_now_us();
        hv[k] = N / (t1 - t0) * 1e6;
        mv[k] = N / (t2 - t1) * 1e6;
    }
    bench_print("heap.alloc32", bench_median(hv, rounds), "ops/s", "malloc",
                bench_median(mv, rounds));
    return mc_heap_destroy(h);
}

/* 10 MB of small records: n records of 16 bytes + a 17-byte string. */
static int make_recs(recs *v, char **strings)
{
    size_t bytes = 10u << 20;
    v->n = bytes / (sizeof(rec) + 17);
    v->items = malloc(v->n * sizeof(rec));
    *strings = malloc(v->n * 17);
    if (!v->items || !*strings)
        return MC_ENOMEM;
    for (size_t i = 0; i < v->n; i++) {
        char *s = *strings + i * 17;
        snprintf(s, 17, "rec-%011u", (unsigned)(i % 100000000000u));
        v->items[i] = (rec){(int64_t)i, s};
    }
    return 0;
}

static int bench_copy_gc(mc_pool *pool)
{
    recs v, empty = {0, NULL};
    char *strings;
    CHECK(make_recs(&v, &strings));
    size_t bytes = v.n * (sizeof(rec) + 17);
    char *flat = malloc(bytes), *flat2 = malloc(bytes);
    if (!flat || !flat2)
        return MC_ENOMEM;
    memset(flat, 1, bytes);
    memset(flat2, 2, bytes);
    double cv[16], mv[16], gv[16];
    for (int k = 0; k < rounds; k++) {
        mc_sref *s;
        CHECK(mc_sref_create(pool, &recs_type, &empty, &s));
        bench_evict();
        double t0 = bench_now_us();
        CHECK(mc_sref_assign(s, &v)); /* the deep copy into the heap */
        double t1 = bench_now_us();
        bench_evict();
        double t1m = bench_now_us();
        memcpy(flat2, flat, bytes);
        double t2 = bench_now_us();
        CHECK(mc_heap_gc(mc_sref_heap(s)));
        double t3 = bench_now_us();
        cv[k] = bytes / (t1 - t0);
        mv[k] = bytes / (t2 - t1m);
        gv[k] = (t3 - t2) / 1000;
        const recs *sv = mc_sref_deref_ro(s);
        if (sv->n != v.n || strcmp(sv->items[v.n - 1].s,
                                   v.items[v.n - 1].s) != 0) {
            fprintf(stderr, "copy_in: wrong copy\n");
            return MC_EINVAL;
        }
        CHECK(mc_sref_destroy(s));
    }
    bench_print("heap.copy_in", bench_median(cv, rounds), "MB/s", "memcpy",
                bench_median(mv, rounds));
    double gc_ms = bench_median(gv, rounds);
    bench_print("heap.gc_10mb", gc_ms, "ms", NULL, 0);
    printf("# heap.gc_10mb traced %.2f GB/s of live data\n",
           bytes / (gc_ms / 1000) / 1e9);
    free(flat);
    free(flat2);
    free(v.items);
    free(strings);
    return 0;
}

static int first(void *ctx)
{
    (void)ctx;
    mc_pool *pool;
    CHECK(mc_pool_create((size_t)4 << 30, &pool));
    int rc = bench_sref(pool);
    if (!rc)
        rc = bench_alloc(pool);
    if (!rc)
        rc = bench_copy_gc(pool);
    mc_pool_release(pool);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        rounds = atoi(argv[1]);
    if (rounds < 1 || rounds > 16) {
        fprintf(stderr, "usage: %s [rounds 1..16]\n", argv[0]);
        return 2;
    }
    int rc = mc_startup(NULL, first, NULL);
    if (rc || failed) {
        fprintf(stderr, "heap bench: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return 0;
}
