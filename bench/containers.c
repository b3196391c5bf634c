/* bench/containers: shared containers, each beside the local code a reader
 * would otherwise write, in the same run.
 *
 *   sbuffer.append_64k  mc_sbuffer_append of 64 KiB pieces, 256 MiB per
 *                       round, the buffer cleared every 4 MiB (its blocks
 *                       reused in place) (MB/s) vs memcpy of the same
 *                       pieces into a local 4 MiB ring (memcpy)
 *   sbuffer.pipeline    1 GiB from a producer worker to the master through
 *                       an sbuffer of 4 MiB capacity: the producer appends
 *                       64 KiB pieces, the master waits for a chunk of 1 MiB
 *                       (or the end of the stream), blits what is there
 *                       piece by piece into a local 64 KiB buffer and
 *                       deletes it (GB/s, from the
 *                       producer's start to the end of the stream) vs
 *                       memcpy of the same bytes in 64 KiB pieces in one
 *                       process (memcpy)
 *
 * Each figure is the median of several rounds (peer rounds alternate with
 * ours).  Usage: build/bench/containers [rounds [figure]] (figure: run
 * only the figures whose name contains it). */
#include <stdint.h>
#include <string.h>

#include "bench.h"
#include "mcore/mcore.h"

static int rounds = 5;
static const char *only;
static int failed;

#define CHECK(rc)                                                           \
    do {                                                                    \
        int rc_ = (rc);                                                     \
        if (rc_) {                                                          \
            fprintf(stderr, "bench/containers: %s: %s (%s), line %d\n",    \
                    #rc, mc_strerror(rc_), mc_last_error_detail(),          \
                    __LINE__);                                              \
            failed = 1;                                                     \
        }                                                                   \
    } while (0)

static int wanted(const char *figure)
{
    return !only || strstr(figure, only);
}

#define MiB ((size_t)1 << 20)
#define PIECE ((size_t)64 << 10)

static mc_pool *pool;
static unsigned char piece[PIECE];

/* ------------------------------------------------------- append_64k */

#define APPEND_TOTAL (256 * MiB)
#define APPEND_WINDOW (4 * MiB)

static double append_mcore(void)
{
    mc_sbuffer *b;
    CHECK(mc_sbuffer_create(pool, NULL, NULL, NULL, &b));
    if (failed)
        return 0;
    /* one window first, so that the blocks exist (steady state) */
    for (size_t i = 0; i < APPEND_WINDOW; i += PIECE)
        CHECK(mc_sbuffer_append(b, piece, PIECE));
    CHECK(mc_sbuffer_clear(b));
    double t0 = bench_now_us();
    for (size_t done = 0; done < APPEND_TOTAL && !failed;) {
        for (size_t i = 0; i < APPEND_WINDOW; i += PIECE)
            CHECK(mc_sbuffer_append(b, piece, PIECE));
        CHECK(mc_sbuffer_clear(b));
        done += APPEND_WINDOW;
    }
    double us = bench_now_us() - t0;
    CHECK(mc_sbuffer_destroy(b));
    return APPEND_TOTAL / us; /* bytes per us = MB/s */
}

static double append_memcpy(void)
{
    static unsigned char *ring;
    if (!ring && !(ring = malloc(APPEND_WINDOW)))
        return 0;
    memset(ring, 1, APPEND_WINDOW);
    double t0 = bench_now_us();
    for (size_t done = 0; done < APPEND_TOTAL; done += PIECE) {
        memcpy(ring + done % APPEND_WINDOW, piece, PIECE);
        __asm__ volatile("" : : "r"(ring) : "memory");
    }
    return APPEND_TOTAL / (bench_now_us() - t0);
}

/* --------------------------------------------------------- pipeline */

#define PIPE_TOTAL ((uint64_t)1 << 30)
#define PIPE_CAP ((uint64_t)4 << 20)
/* The consumer waits for this much: a wake-up (and on a shared CPU, a
 * context switch each way) per chunk, not per piece. */
#define PIPE_CHUNK (PIPE_CAP / 4)

static mc_res_id fork_prod, join_prod;

static int producer(void *user, const void *arg, size_t len, void **res,
                    size_t *res_len)
{
    (void)user; (void)res; (void)res_len;
    mc_sbuffer_descr d;
    mc_sbuffer *b;
    if (len != sizeof d)
        return MC_EINVAL;
    memcpy(&d, arg, sizeof d);
    int rc = mc_sbuffer_of_descr(&d, NULL, &b);
    for (uint64_t done = 0; done < PIPE_TOTAL && !rc; done += PIECE)
        rc = mc_sbuffer_append(b, piece, PIECE);
    int rc2 = mc_sbuffer_close(b);
    return rc ? rc : rc2;
}

static double pipeline_mcore(void)
{
    static unsigned char local[PIECE];
    mc_sbuffer *b;
    mc_sbuffer_descr d;
    mc_sbuffer_attr attr = {.capacity = PIPE_CAP};
    CHECK(mc_sbuffer_create(pool, NULL, NULL, &attr, &b));
    if (failed)
        return 0;
    CHECK(mc_sbuffer_descr_of(b, &d));
    double t0 = bench_now_us();
    mc_pid pid;
    CHECK(mc_start(fork_prod, &d, sizeof d, &pid));
    uint64_t pos = 0, end;
    int closed;
    while (!failed) {
        CHECK(mc_sbuffer_wait(b, pos + PIPE_CHUNK, -1, &end, &closed));
        if (end == pos)
            break;
        for (; pos < end; pos += PIECE)
            CHECK(mc_sbuffer_blit(b, pos, local, PIECE));
        CHECK(mc_sbuffer_delete_hd(b, end - mc_sbuffer_start(b)));
    }
    double us = bench_now_us() - t0;
    mc_join_result r;
    CHECK(mc_join(join_prod, pid, &r));
    if (!failed && (r.kind != MC_EXIT_RESULT || pos != PIPE_TOTAL)) {
        fprintf(stderr, "bench/containers: the producer ended with kind %d "
                "(%s), %llu bytes\n", (int)r.kind, mc_strerror(r.code),
                (unsigned long long)pos);
        failed = 1;
    }
    mc_join_result_free(&r);
    CHECK(mc_sbuffer_destroy(b));
    return (double)PIPE_TOTAL / us / 1e3; /* GB/s */
}

static double pipeline_memcpy(void)
{
    static unsigned char *src;
    if (!src && !(src = malloc(PIPE_CAP)))
        return 0;
    memset(src, 2, PIPE_CAP);
    double t0 = bench_now_us();
    for (uint64_t done = 0; done < PIPE_TOTAL; done += PIECE) {
        memcpy(piece, src + done % PIPE_CAP, PIECE);
        __asm__ volatile("" : : "r"(piece) : "memory");
    }
    return (double)PIPE_TOTAL / (bench_now_us() - t0) / 1e3;
}

/* ------------------------------------------------------------ driver */

static void pair(const char *figure, const char *unit, double (*ours)(void),
                 double (*peer)(void))
{
    if (!wanted(figure) || failed)
        return;
    double v[64], p[64];
    for (int i = 0; i < rounds && !failed; i++) {
        bench_evict();
        v[i] = ours();
        bench_evict();
        p[i] = peer();
    }
    if (!failed)
        bench_print(figure, bench_median(v, (size_t)rounds), unit, "memcpy",
                    bench_median(p, (size_t)rounds));
}

static int first(void *ctx)
{
    (void)ctx;
    memset(piece, 3, sizeof piece);
    CHECK(mc_pool_create(256 * MiB, &pool));
    if (failed)
        return 1;
    pair("sbuffer.append_64k", "MB/s", append_mcore, append_memcpy);
    pair("sbuffer.pipeline", "GB/s", pipeline_mcore, pipeline_memcpy);
    CHECK(mc_pool_release(pool));
    return failed;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        rounds = atoi(argv[1]);
    if (argc > 2)
        only = argv[2];
    if (rounds < 1 || rounds > 64) {
        fprintf(stderr, "usage: containers [rounds (1-64) [figure]]\n");
        return 2;
    }
    if (mc_def_process(producer, NULL, &fork_prod, &join_prod))
        return 1;
    int rc = mc_startup(NULL, first, NULL);
    if (rc) {
        fprintf(stderr, "bench/containers: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return failed;
}
