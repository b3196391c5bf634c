/* pipeline: a producer streams bytes to a consumer through an sbuffer with
 * a capacity (OCamlnet's Netmcore_buffer pipeline example, without the
 * hand-made flow control: the buffer blocks the producer when full and
 * wakes the consumer when bytes come).
 *
 *   pipeline [BYTES]     (default 1G; suffixes K, M, G; rounded down to a
 *                         multiple of 8)
 *
 * The master creates a buffer of 4 MiB capacity in a pool and starts a
 * producer worker, which appends BYTES bytes in 64 KiB pieces, keeping a
 * checksum of every byte it sends; at the end it writes the checksum into
 * the buffer's header and closes the buffer.  The master is the consumer:
 * it waits for bytes, reads them in place (mc_sbuffer_access, no copy),
 * adds every byte to its own checksum, deletes them, and at the end of the
 * stream compares its checksum with the producer's.  It prints
 *   Checked: BYTES bytes, checksum ok
 * and the throughput in GB/s (BYTES over the time from the producer's
 * start to the end of the stream).  ./mcore.sh test runs it with 64M, to
 * stay short; the 1 GiB default is the bench figure sbuffer.pipeline's
 * example (bench/README.md). */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcore/mcore.h"

#define CAPACITY ((uint64_t)4 << 20)
#define PIECE ((size_t)64 << 10)

/* The header: what the producer sent (a plain record, no pointers). */
typedef struct pipe_hdr {
    uint64_t bytes;
    uint64_t s1, s2; /* Fletcher-style sums over 64-bit words */
} pipe_hdr;

static const mc_type hdr_type = {
    .name = "PipeHdr", .id = 0x3f1e7d2c9b8a6051ull, .size = sizeof(pipe_hdr),
    .align = _Alignof(pipe_hdr),
};

/* Add n bytes (a multiple of 8) to the sums: s2 makes the order count. */
static void sum(pipe_hdr *h, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t s1 = h->s1, s2 = h->s2;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        s1 += w;
        s2 += s1;
    }
    h->s1 = s1;
    h->s2 = s2;
    h->bytes += n;
}

struct prod_arg {
    mc_sbuffer_descr d;
    uint64_t bytes;
};

static mc_res_id fork_p, join_p;

/* The producer: BYTES bytes of a xorshift stream, in 64 KiB appends. */
static int producer(void *user, const void *arg, size_t len, void **res,
                    size_t *res_len)
{
    (void)user; (void)res; (void)res_len;
    struct prod_arg a;
    mc_sbuffer *b;
    if (len != sizeof a)
        return MC_EINVAL;
    memcpy(&a, arg, sizeof a);
    int rc = mc_sbuffer_of_descr(&a.d, &hdr_type, &b);
    if (rc)
        return rc;
    uint64_t *piece = malloc(PIECE);
    if (!piece)
        return MC_ENOMEM;
    pipe_hdr h = {0, 0, 0};
    uint64_t x = 0x9e3779b97f4a7c15ull;
    while (h.bytes < a.bytes && !rc) {
        size_t n = a.bytes - h.bytes < PIECE ? a.bytes - h.bytes : PIECE;
        for (size_t i = 0; i < n / 8; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            piece[i] = x;
        }
        sum(&h, piece, n);
        rc = mc_sbuffer_append(b, piece, n);
    }
    free(piece);
    if (!rc)
        rc = mc_sbuffer_header_set(b, &h);
    int rc2 = mc_sbuffer_close(b);
    return rc ? rc : rc2;
}

static int consume(const void *data, size_t n, uint64_t at, void *ctx)
{
    (void)at;
    sum(ctx, data, n);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct run {
    uint64_t bytes;
    int ok;
};

static int master(void *user)
{
    struct run *r = user;
    mc_pool *pool;
    mc_sbuffer *b = NULL;
    struct prod_arg a = {.bytes = r->bytes};
    pipe_hdr zero = {0, 0, 0}, mine = {0, 0, 0};
    mc_sbuffer_attr attr = {.capacity = CAPACITY};
    int rc = mc_pool_create((size_t)64 << 20, &pool);
    if (rc)
        return rc;
    if ((rc = mc_sbuffer_create(pool, &hdr_type, &zero, &attr, &b)) ||
        (rc = mc_sbuffer_descr_of(b, &a.d)))
        goto out;
    double t0 = now_s();
    mc_pid pid;
    if ((rc = mc_start(fork_p, &a, sizeof a, &pid)))
        goto out;
    uint64_t pos = 0, end;
    int closed;
    for (;;) {
        if ((rc = mc_sbuffer_wait(b, pos + 1, -1, &end, &closed)))
            break;
        if (end == pos) /* closed, and nothing more */
            break;
        if ((rc = mc_sbuffer_access(b, pos, end - pos, consume, &mine)) ||
            (rc = mc_sbuffer_delete_hd(b, end - pos)))
            break;
        pos = end;
    }
    double t = now_s() - t0;
    mc_join_result jr;
    int jrc = mc_join(join_p, pid, &jr);
    if (!jrc && jr.kind != MC_EXIT_RESULT) {
        fprintf(stderr, "pipeline: the producer failed (kind %d, %s)\n",
                (int)jr.kind, mc_strerror(jr.code));
        jrc = MC_EINVAL;
    }
    if (!jrc)
        mc_join_result_free(&jr);
    if (rc || (rc = jrc))
        goto out;
    const pipe_hdr *theirs = mc_sbuffer_header_ro(b);
    r->ok = theirs->bytes == r->bytes && mine.bytes == r->bytes &&
            theirs->s1 == mine.s1 && theirs->s2 == mine.s2;
    printf("Checked: %" PRIu64 " bytes, checksum %s\n", mine.bytes,
           r->ok ? "ok" : "WRONG");
    printf("Throughput: %.2f GB/s (%.3f s, capacity %" PRIu64 " bytes)\n",
           t > 0 ? (double)mine.bytes / t / 1e9 : 0.0, t, CAPACITY);
out:
    if (rc)
        fprintf(stderr, "pipeline: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
    mc_sbuffer_destroy(b);
    mc_pool_release(pool);
    return rc;
}

/* "64M" -> 67108864; 0 on a bad number. */
static uint64_t parse_size(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    int shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10, end++;
    else if (*end == 'M' || *end == 'm')
        shift = 20, end++;
    else if (*end == 'G' || *end == 'g')
        shift = 30, end++;
    if (*end || v == 0 || v > (UINT64_MAX >> shift))
        return 0;
    return (uint64_t)v << shift;
}

int main(int argc, char **argv)
{
    struct run r = {.bytes = (uint64_t)1 << 30};
    if (argc > 2 || (argc == 2 && (r.bytes = parse_size(argv[1])) < 8)) {
        fprintf(stderr, "usage: pipeline [BYTES[K|M|G]]  (default 1G)\n");
        return 2;
    }
    r.bytes &= ~(uint64_t)7;
    if (mc_def_process(producer, NULL, &fork_p, &join_p))
        return 1;
    int rc = mc_startup(NULL, master, &r);
    if (rc) {
        fprintf(stderr, "pipeline: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return r.ok ? 0 : 1;
}
