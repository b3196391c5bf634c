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
 * it waits for bytes, reads them in place (pipeline_Stream_access, no copy),
 * adds every byte to its own checksum, deletes them, and at the end of the
 * stream compares its checksum with the producer's.  It prints
 *   Checked: BYTES bytes, checksum ok
 * and the throughput in GB/s (BYTES over the time from the producer's
 * start to the end of the stream).  ./mcore.sh test runs it with 64M, to
 * stay short; the 1 GiB default is the bench figure sbuffer.pipeline's
 * example (bench/README.md).  The stream, its header and the producer are
 * typed (pipeline.mcidl: `sbuffer Stream (header = Sums, capacity =
 * 4MiB);`); the producer's argument holds the stream's typed descriptor. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcore/mcore.h"
#include "pipeline.h" /* generated from examples/pipeline.mcidl */

#define PIECE ((size_t)64 << 10)

/* Add n bytes (a multiple of 8) to the sums: s2 makes the order count. */
static void sum(pipeline_Sums *h, const void *data, size_t n)
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
    h->n += n;
}

/* The producer: o->total bytes of a xorshift stream, in 64 KiB appends. */
static int producer(const pipeline_Order *o, void *result, void *user)
{
    (void)result; (void)user;
    pipeline_Stream *b;
    /* MC_ETYPE if the descriptor names a buffer of another header type */
    int rc = pipeline_Stream_of_descr(&o->stream, &b);
    if (rc)
        return rc;
    uint64_t *piece = malloc(PIECE);
    if (!piece)
        return MC_ENOMEM;
    pipeline_Sums h = {0, 0, 0};
    uint64_t x = 0x9e3779b97f4a7c15ull;
    while (h.n < o->total && !rc) {
        size_t n = o->total - h.n < PIECE ? o->total - h.n : PIECE;
        for (size_t i = 0; i < n / 8; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            piece[i] = x;
        }
        sum(&h, piece, n);
        rc = pipeline_Stream_append(b, piece, n); /* waits while full */
    }
    free(piece);
    if (!rc)
        rc = pipeline_Stream_header_set(b, &h);
    int rc2 = pipeline_Stream_close(b); /* the consumer's end of stream */
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
    pipeline_Stream *b = NULL;
    pipeline_Order o = {.total = r->bytes};
    pipeline_Sums zero = {0, 0, 0}, mine = {0, 0, 0};
    int rc = mc_pool_create((size_t)64 << 20, &pool);
    if (rc)
        return rc;
    /* of the declared capacity, PIPELINE_STREAM_CAPACITY */
    if ((rc = pipeline_Stream_create(pool, &zero, &b)) ||
        (rc = pipeline_Stream_descr_of(b, &o.stream)))
        goto out;
    double t0 = now_s();
    mc_pid pid;
    if ((rc = pipeline_producer_start(&o, &pid)))
        goto out;
    uint64_t pos = 0, end;
    int closed;
    /* wait for a chunk, not for the next byte: one wake-up then moves a
     * MiB, not one append's 64 KiB (on one CPU each wake-up is two
     * context switches).  At most half the capacity, or a full buffer
     * would block the producer before the chunk is there. */
    uint64_t chunk = pipeline_Stream_capacity(b) / 2;
    if (chunk > ((uint64_t)1 << 20) || chunk == 0)
        chunk = (uint64_t)1 << 20;
    for (;;) {
        if ((rc = pipeline_Stream_wait(b, pos + chunk, -1, &end, &closed)))
            break;
        if (end == pos) /* closed, and nothing more */
            break;
        if ((rc = pipeline_Stream_access(b, pos, end - pos, consume,
                                         &mine)) ||
            (rc = pipeline_Stream_delete_hd(b, end - pos)))
            break;
        pos = end;
    }
    double t = now_s() - t0;
    if (rc) /* a producer waiting for room returns (MC_ECLOSED) */
        pipeline_Stream_close(b);
    /* MC_EPROCESS if the producer failed: the detail says how */
    int jrc = pipeline_producer_join(pid, NULL, NULL);
    if (rc || (rc = jrc))
        goto out;
    const pipeline_Sums *theirs = pipeline_Stream_header_ro(b);
    r->ok = theirs->n == r->bytes && mine.n == r->bytes &&
            theirs->s1 == mine.s1 && theirs->s2 == mine.s2;
    printf("Checked: %" PRIu64 " bytes, checksum %s\n", mine.n,
           r->ok ? "ok" : "WRONG");
    printf("Throughput: %.2f GB/s (%.3f s, capacity %" PRIu64 " bytes)\n",
           t > 0 ? (double)mine.n / t / 1e9 : 0.0, t,
           pipeline_Stream_capacity(b));
out:
    if (rc)
        fprintf(stderr, "pipeline: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
    pipeline_Stream_destroy(b);
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
    if (pipeline_producer_def(producer, NULL))
        return 1;
    int rc = mc_startup(NULL, master, &r);
    if (rc) {
        fprintf(stderr, "pipeline: %s (%s)\n", mc_strerror(rc),
                mc_last_error_detail());
        return 1;
    }
    return r.ok ? 0 : 1;
}
