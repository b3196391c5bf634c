/* test_pool.c: growable same-address pools (mcore/pool.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* What a worker reads to find a pool made after it started. */
struct mailbox {
    volatile int ready;
    mc_res_id pool;
    char *chunk;
    size_t len;
    volatile int grown;       /* set by the late worker */
    char *grown_chunk;
    size_t grown_len;
};

static int fd_maps_pool(void)
{
    FILE *f = fopen("/proc/self/maps", "re");
    char line[512];
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "memfd:mcore-pool"))
            n++;
    if (f)
        fclose(f);
    return n;
}

/* ---------------------------------------------------- alloc, free, stats */

static void drv_alloc_free(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    mc_pool_stats st;
    long pg = sysconf(_SC_PAGESIZE);
    if (W_RC(mc_pool_create(64 * MiB, &p), 0))
        return;
    W_RC(mc_pool_stats_get(p, &st), 0);
    W_CHECK(st.max == 64 * MiB, "max %zu", st.max);
    W_CHECK(st.used == (size_t)pg, "a new pool uses its header page only: %zu",
            st.used);
    W_CHECK(st.size < 2 * MiB, "a new pool reserves little: %zu", st.size);
    char *a, *b, *c;
    W_RC(mc_pool_alloc(p, 100, (void **)&a), 0);
    W_RC(mc_pool_alloc(p, 3 * MiB, (void **)&b), 0);
    W_RC(mc_pool_alloc(p, 5000, (void **)&c), 0);
    W_CHECK((uintptr_t)a % pg == 0 && (uintptr_t)b % pg == 0, "page aligned");
    W_CHECK(a + pg <= b || b + 3 * MiB <= a, "chunks overlap");
    memset(a, 1, pg);
    memset(b, 2, 3 * MiB); /* touching all of it must not SIGBUS */
    memset(c, 3, 2 * pg);
    W_RC(mc_pool_stats_get(p, &st), 0);
    W_CHECK(st.used == (size_t)(pg + pg + 3 * MiB + 2 * pg), "used %zu",
            st.used);
    W_CHECK(st.size >= st.used, "reserved %zu < used %zu", st.size, st.used);
    W_CHECK(st.chunks == 3, "chunks %zu", st.chunks);
    /* free the middle, then the first: they merge */
    mc_pool_free(p, b, 3 * MiB);
    mc_pool_free(p, a, 100);
    W_RC(mc_pool_stats_get(p, &st), 0);
    W_CHECK(st.chunks == 1, "chunks %zu", st.chunks);
    char *d;
    W_RC(mc_pool_alloc(p, 3 * MiB + pg, (void **)&d), 0);
    W_CHECK(d == a, "the merged run is reused first-fit (%p, %p)", (void *)d,
            (void *)a);
    W_CHECK(c[0] == 3 && c[2 * pg - 1] == 3, "c untouched");
    mc_pool_free(p, d, 3 * MiB + pg);
    mc_pool_free(p, c, 5000);
    W_RC(mc_pool_stats_get(p, &st), 0);
    W_CHECK(st.used == (size_t)pg && st.chunks == 0, "all back: used %zu",
            st.used);
    W_CHECK(st.largest_free == 64 * MiB - pg, "largest free %zu",
            st.largest_free);
    W_RC(mc_pool_release(p), 0);
}

static void test_alloc_free(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_alloc_free, NULL, 0);
    assert_int_equal(fd_maps_pool(), 0);
    tu_end();
}

/* ------------------------------------------- the master uses pools too */

static void drv_sees_sevens(const void *arg, size_t len)
{
    (void)len;
    const unsigned char *a;
    memcpy(&a, arg, sizeof a);
    for (size_t i = 0; i < 1 * MiB; i++)
        if (a[i] != 7) {
            W_CHECK(0, "byte %zu of the master's chunk is %d", i, a[i]);
            return;
        }
}

static int master_first(void *ctx)
{
    (void)ctx;
    mc_pool *p;
    char *a;
    tu_w_reset();
    if (W_RC(mc_pool_create(8 * MiB, &p), 0))
        return 0;
    W_RC(mc_pool_alloc(p, 1 * MiB, (void **)&a), 0);
    if (a)
        memset(a, 7, 1 * MiB);
    W_CHECK(fd_maps_pool() == 1, "the master maps the pool");
    /* a worker forked now inherits the mapping and sees the bytes */
    mc_pid pid;
    if (a)
        W_RC(tu_start_fn(drv_sees_sevens, &a, sizeof a, &pid), 0);
    return 0;
}

/* The master's mapping goes with the pool's last holder: a second release
 * must not read the pool's header (unmapped by then). */
static int master_release_twice(void *ctx)
{
    (void)ctx;
    mc_pool *p;
    tu_w_reset();
    if (W_RC(mc_pool_create(8 * MiB, &p), 0))
        return 0;
    W_RC(mc_pool_release(p), 0);
    W_RC(mc_pool_release(p), MC_ENOENT);
    W_RC(mc_pool_release(NULL), MC_EINVAL);
    return 0;
}

static void test_master_release_twice(void **state)
{
    (void)state;
    tu_begin();
    assert_int_equal(mc_startup(NULL, master_release_twice, NULL), 0);
    tu_assert_master_report();
    tu_end();
}

static void test_master_pool(void **state)
{
    (void)state;
    tu_begin();
    assert_int_equal(mc_startup(NULL, master_first, NULL), 0);
    tu_assert_master_report();
    /* the worker's report is not joined here; a failure shows as a nonzero
     * exit in its own output, so join it from a second check instead */
    assert_int_equal(fd_maps_pool(), 0);
    tu_end();
}

/* ----------------------- a worker started before its pool existed uses it */

static void drv_late_reader(const void *arg, size_t len)
{
    (void)len;
    mc_res_id box_id;
    memcpy(&box_id, arg, sizeof box_id);
    int fd;
    if (W_RC(mc_shm_fd(box_id, &fd), 0))
        return;
    struct mailbox *mb = mmap(NULL, sizeof *mb, PROT_READ | PROT_WRITE,
                              MAP_SHARED, fd, 0);
    W_CHECK(mb != MAP_FAILED, "mmap: %s", strerror(errno));
    if (mb == MAP_FAILED)
        return;
    int64_t end = tu_now_ms() + 5000;
    while (!mb->ready && tu_now_ms() < end)
        tu_sleep_ms(1);
    W_CHECK(mb->ready, "no pool announced");
    /* found from an address alone: the master knows which pool it is */
    mc_pool *p, *q = NULL;
    int local = 0;
    W_RC(mc_pool_of(&local, &q), MC_ENOENT);
    if (W_RC(mc_pool_of(mb->chunk + 10, &p), 0))
        return;
    W_CHECK(mc_pool_id(p) == mb->pool, "id");
    W_RC(mc_pool_lookup(mb->pool, &q), 0);
    W_CHECK(q == p, "lookup by id gives the same pool");
    W_CHECK(tu_pattern_check(mb->chunk, mb->len, 11) == (size_t)-1,
            "the creator's bytes, at the same address");
    /* grow it from here: the creator must see the new memory */
    char *g;
    size_t glen = 16 * MiB;
    if (W_RC(mc_pool_alloc(p, glen, (void **)&g), 0))
        return;
    tu_pattern_fill(g, glen, 12);
    mb->grown_chunk = g;
    mb->grown_len = glen;
    __atomic_store_n(&mb->grown, 1, __ATOMIC_RELEASE);
    munmap(mb, sizeof *mb);
}

static void drv_creator(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_res_id box_id;
    int fd;
    if (W_RC(mc_shm_create(sizeof(struct mailbox), &box_id), 0) ||
        W_RC(mc_shm_fd(box_id, &fd), 0))
        return;
    struct mailbox *mb = mmap(NULL, sizeof *mb, PROT_READ | PROT_WRITE,
                              MAP_SHARED, fd, 0);
    W_CHECK(mb != MAP_FAILED, "mmap");
    mc_pid reader;
    if (W_RC(tu_start_fn(drv_late_reader, &box_id, sizeof box_id, &reader),
             0))
        return;
    tu_sleep_ms(20); /* the reader runs, without the pool */
    mc_pool *p;
    if (W_RC(mc_pool_create(256 * MiB, &p), 0))
        return;
    char *c;
    W_RC(mc_pool_alloc(p, 1 * MiB, (void **)&c), 0);
    tu_pattern_fill(c, 1 * MiB, 11);
    mb->pool = mc_pool_id(p);
    mb->chunk = c;
    mb->len = 1 * MiB;
    __atomic_store_n(&mb->ready, 1, __ATOMIC_RELEASE);
    W_JOIN_OK(tu_driver_jp, reader, "late reader");
    W_CHECK(mb->grown, "reader did not grow the pool");
    if (mb->grown)
        W_CHECK(tu_pattern_check(mb->grown_chunk, mb->grown_len, 12) ==
                    (size_t)-1,
                "the reader's growth is visible to the creator");
    mc_pool_stats st;
    W_RC(mc_pool_stats_get(p, &st), 0);
    W_CHECK(st.size >= 17 * MiB, "reserved %zu", st.size);
    munmap(mb, sizeof *mb);
}

static void test_worker_before_pool(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_creator, NULL, 0);
    tu_end();
}

/* ------------------------------------------ growth while another reads */

struct grow_arg {
    char *first;
    size_t len;
    volatile int *stop;
};

static void drv_reader_loop(const void *arg, size_t len)
{
    (void)len;
    struct grow_arg g;
    memcpy(&g, arg, sizeof g);
    long rounds = 0;
    while (!__atomic_load_n(g.stop, __ATOMIC_ACQUIRE)) {
        size_t bad = tu_pattern_check(g.first, g.len, 21);
        if (bad != (size_t)-1) {
            W_CHECK(0, "byte %zu changed while the pool grew", bad);
            return;
        }
        rounds++;
    }
    W_CHECK(rounds > 0, "the reader never ran");
}

static void drv_grow(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    if (W_RC(mc_pool_create(512 * MiB, &p), 0))
        return;
    struct grow_arg g = {.len = 256 * KiB};
    int *stop;
    W_RC(mc_pool_alloc(p, g.len, (void **)&g.first), 0);
    W_RC(mc_pool_alloc(p, 4096, (void **)&stop), 0);
    *stop = 0;
    g.stop = stop;
    tu_pattern_fill(g.first, g.len, 21);
    mc_pid r;
    if (W_RC(tu_start_fn(drv_reader_loop, &g, sizeof g, &r), 0))
        return;
    char *chunks[48];
    for (int i = 0; i < 48; i++) {
        if (W_RC(mc_pool_alloc(p, 2 * MiB, (void **)&chunks[i]), 0))
            break;
        tu_pattern_fill(chunks[i], 2 * MiB, 100 + i);
    }
    __atomic_store_n(stop, 1, __ATOMIC_RELEASE);
    W_JOIN_OK(tu_driver_jp, r, "reader");
    for (int i = 0; i < 48; i++)
        W_CHECK(tu_pattern_check(chunks[i], 2 * MiB, 100 + i) == (size_t)-1,
                "chunk %d", i);
}

static void test_growth_while_reading(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_grow, NULL, 0);
    tu_end();
}

/* --------------------------------------------------------- exhaustion */

static void drv_capped(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    long pg = sysconf(_SC_PAGESIZE);
    if (W_RC(mc_pool_create(1 * MiB, &p), 0))
        return;
    void *c[64];
    int n = 0, rc = 0;
    while (n < 64 && (rc = mc_pool_alloc(p, 64 * KiB, &c[n])) == 0)
        n++;
    W_CHECK(rc == MC_ENOMEM, "full pool: %s", tu_err(rc));
    W_CHECK(n == (int)((1 * MiB - pg) / (64 * KiB)), "%d chunks fit", n);
    void *big;
    W_RC(mc_pool_alloc(p, 2 * MiB, &big), MC_ENOMEM);
    mc_pool_free(p, c[3], 64 * KiB);
    void *again;
    W_RC(mc_pool_alloc(p, 64 * KiB, &again), 0);
    W_CHECK(again == c[3], "the freed chunk is reused");
    W_RC(mc_pool_alloc(p, 64 * KiB, &again), MC_ENOMEM);
}

static void test_capped_pool(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_capped, NULL, 0);
    tu_end();
}

/* ----------------------------------------------------- size and errors */

static void drv_errors(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    W_RC(mc_pool_create(0, &p), MC_EINVAL);
    W_RC(mc_pool_create(1024, NULL), MC_EINVAL);
    W_RC(mc_pool_create((size_t)1 << 62, &p), MC_EINVAL);
    W_RC(mc_pool_lookup(987654, &p), MC_ENOENT);
    mc_res_id shm;
    W_RC(mc_shm_create(100, &shm), 0);
    W_RC(mc_pool_lookup(shm, &p), MC_ETYPE);
    W_RC(mc_pool_lookup(tu_driver_fp, &p), MC_ETYPE);
    /* a big maximum costs address space, not memory */
    if (W_RC(mc_pool_create((size_t)64 << 30, &p), 0))
        return;
    mc_pool_stats st;
    W_RC(mc_pool_stats_get(p, &st), 0);
    W_CHECK(st.size < 4 * MiB, "64 GiB pool reserved %zu bytes", st.size);
    void *c;
    W_RC(mc_pool_alloc(p, 0, &c), MC_EINVAL);
    W_RC(mc_pool_alloc(p, 4096, &c), 0);
    W_RC(mc_pool_release(p), 0);
    W_RC(mc_pool_release(p), MC_ENOENT); /* gone: nobody held it */
}

static void test_errors(void **state)
{
    (void)state;
    mc_pool *p;
    tu_assert_rc(mc_pool_create(4096, &p), MC_ESTATE);
    tu_begin();
    tu_drive(NULL, drv_errors, NULL, 0);
    tu_end();
}

static void drv_window_small(const void *arg, size_t len)
{
    (void)arg;
    (void)len;
    mc_pool *p;
    W_RC(mc_pool_create(5 * MiB, &p), MC_EINVAL);  /* above the window */
    W_RC(mc_pool_create(3 * MiB, &p), MC_ENOMEM);  /* no room for it */
    W_RC(mc_pool_create(SIZE_MAX, &p), MC_EINVAL);
    W_RC(mc_pool_create(SIZE_MAX - 4095, &p), MC_EINVAL);
    if (W_RC(mc_pool_create(2 * MiB, &p), 0) == 0)
        W_RC(mc_pool_release(p), 0);
}

/* ------------------------------------ absurd and tiny window sizes */

static int first_window(void *ctx)
{
    (void)ctx;
    /* in the master: a pool must land inside the reserved window */
    mc_pool *p;
    int rc = mc_pool_create(1 * MiB, &p);
    if (rc)
        return rc;
    void *c;
    if ((rc = mc_pool_alloc(p, 4096, &c)) == 0)
        memset(c, 0xa5, 4096);
    mc_pool_release(p);
    return rc;
}

static void test_window_size(void **state)
{
    (void)state;
    tu_begin();
    static const size_t absurd[] = { SIZE_MAX, SIZE_MAX - 4096,
                                     SIZE_MAX - (2u << 20) + 1,
                                     (size_t)1 << 47, ((size_t)1 << 46) + 1 };
    for (size_t i = 0; i < sizeof absurd / sizeof absurd[0]; i++) {
        mc_config cfg = { .window_size = absurd[i] };
        int rc = mc_startup(&cfg, first_window, NULL);
        if (rc != MC_EINVAL || !strstr(mc_last_error_detail(), "window_size"))
            fail_msg("window_size %zu: %s, expected MC_EINVAL naming "
                     "window_size", absurd[i], tu_err(rc));
    }
    /* too small to hold any pool: says so, not a stale errno */
    static const size_t tiny[] = { 1, 4096, (4u << 20) - 1 };
    for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++) {
        mc_config cfg = { .window_size = tiny[i] };
        int rc = mc_startup(&cfg, first_window, NULL);
        if (rc != MC_EINVAL || !strstr(mc_last_error_detail(), "below"))
            fail_msg("window_size %zu: %s, expected MC_EINVAL saying it is "
                     "below the least", tiny[i], tu_err(rc));
    }
    /* the least works, and a pool larger than the window is refused */
    mc_config cfg = { .window_size = 4u << 20 };
    tu_assert_rc(mc_startup(&cfg, first_window, NULL), 0);
    tu_drive(&cfg, drv_window_small, NULL, 0);
    /* the largest is accepted (reserved, or halved down to 1 GiB) */
    cfg.window_size = (size_t)1 << 46;
    tu_assert_rc(mc_startup(&cfg, first_window, NULL), 0);
    tu_end();
}

/* ------------------------------------------- holds: freed when released */

static void drv_holder(const void *arg, size_t len)
{
    (void)len;
    mc_res_id id;
    memcpy(&id, arg, sizeof id);
    mc_pool *p;
    W_RC(mc_pool_lookup(id, &p), 0);
}

static void drv_release(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_pool *p;
    if (W_RC(mc_pool_create(4 * MiB, &p), 0))
        return;
    mc_res_id id = mc_pool_id(p);
    mc_pid w;
    /* a worker that looks it up and ends: its hold ends with it */
    W_RC(tu_start_fn_ex(drv_holder, &id, sizeof id, NULL, 0, &w), 0);
    W_JOIN_OK(tu_driver_jp, w, "holder");
    mc_res_info info;
    W_RC(mc_res_get(id, &info), 0);
    W_CHECK(info.kind == MC_RES_POOL && info.size == 4 * MiB, "info");
    W_RC(mc_release(id), 0);
    W_RC(mc_pool_lookup(id, &p), MC_ENOENT);
}

static void test_release(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_release, NULL, 0);
    tu_end();
}

/* A chunk given back twice, and a pool released twice
 * (its last hold gone), are errors, not corruption or a crash. */
static void drv_release_twice(const void *arg, size_t len)
{
    (void)arg; (void)len;
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    mc_pool *p;
    if (W_RC(mc_pool_create(4 * MiB, &p), 0))
        return;
    /* a chunk given back twice, or not a chunk, leaves the pool intact */
    void *a, *b;
    if (W_RC(mc_pool_alloc(p, 3 * pg, &a), 0) ||
        W_RC(mc_pool_alloc(p, pg, &b), 0))
        return;
    W_RC(mc_pool_free(p, a, 3 * pg), 0);
    W_RC(mc_pool_free(p, a, 3 * pg), MC_EINVAL);
    W_RC(mc_pool_free(p, (char *)a + pg, pg), MC_EINVAL);
    W_RC(mc_pool_free(p, (char *)b + 1, pg), MC_EINVAL);
    W_RC(mc_pool_free(p, (char *)b + pg, pg), MC_EINVAL); /* above top */
    W_RC(mc_pool_free(p, b, pg), 0);
    W_RC(mc_pool_free(p, b, pg), MC_EINVAL);
    mc_pool_stats st;
    if (W_RC(mc_pool_stats_get(p, &st), 0) == 0)
        W_CHECK(st.chunks == 0 && st.used == pg, "chunks %zu used %zu",
                st.chunks, st.used);
    W_RC(mc_pool_release(p), 0);
    W_RC(mc_pool_release(p), MC_ENOENT);
}

static void test_release_twice(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_release_twice, NULL, 0);
    tu_end();
}

static int group_setup(void **state)
{
    (void)state;
    tu_def_driver();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_free),
        cmocka_unit_test(test_master_pool),
        cmocka_unit_test(test_master_release_twice),
        cmocka_unit_test(test_worker_before_pool),
        cmocka_unit_test(test_growth_while_reading),
        cmocka_unit_test(test_capped_pool),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_release),
        cmocka_unit_test(test_window_size),
        cmocka_unit_test(test_release_twice),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
