/* bench.h: timing and median helpers shared by the benchmarks, and the
 * one output format for every figure (a median), one line each:
 *   BENCH <figure> <value> <unit> [vs <peer> <value> <unit> ratio <r>] */
#ifndef MC_BENCH_H
#define MC_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v). */
static inline double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Push the data of earlier steps out of the caches (a 64 MiB write), so
 * that each timed copy, ours and the peer's, starts from memory: otherwise
 * whichever runs after the other finds part of its data in the last-level
 * cache, and the comparison measures the order of the steps. */
static inline void bench_evict(void)
{
    static unsigned char *junk;
    enum { EVICT = 64 << 20 };
    if (!junk && !(junk = malloc(EVICT)))
        return;
    for (size_t i = 0; i < EVICT; i += 64)
        junk[i]++;
}

static inline void bench_print(const char *figure, double v, const char *unit,
                               const char *peer, double pv)
{
    if (peer)
        printf("BENCH %s %.3f %s vs %s %.3f %s ratio %.2f\n", figure, v, unit,
               peer, pv, unit, v / pv);
    else
        printf("BENCH %s %.3f %s\n", figure, v, unit);
    fflush(stdout);
}

/* In a function returning an mcore code: on an error, print the call and
 * what mcore said, set the program's `failed` flag (a bench using this
 * defines `static int failed;`) and return the code. */
#define BENCH_TRY(call)                                                     \
    do {                                                                    \
        int rc_ = (call);                                                   \
        if (rc_) {                                                          \
            fprintf(stderr, "%s: %s (%s)\n", #call, mc_strerror(rc_),       \
                    mc_last_error_detail());                                \
            failed = 1;                                                     \
            return rc_;                                                     \
        }                                                                   \
    } while (0)

#endif
