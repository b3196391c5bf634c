/* bench/camlbox: camlboxes beside a pipe, a POSIX message queue and a bare
 * futex, in one run.
 *
 *   camlbox.tput_1to1   messages per second, one sender, one receiver:
 *                       a small record holding an array of three ints
 *                       (28 bytes as copied), its type described by a
 *                       pointer table as mcidl describes it (a flat type,
 *                       which a sender copies in one pass); the peers carry
 *                       the same 28
 *                       bytes per message (one write/read, one
 *                       mq_send/mq_receive each).  Lines vs pipe and vs
 *                       mqueue; and, run between the same two processes
 *                       in the same rounds, vs a plain lock-free
 *                       multi-producer ring (mpmc_ring) and vs a ring
 *                       whose producer claims each cell by a CAS on it
 *                       (cas_ring), as a camlbox sender claims a slot
 *                       (both below).
 *   camlbox.tput_1to1_copyfn  the same message through a type with a
 *                       hand-written copy function (the generic copier),
 *                       vs mpmc_ring in the same rounds.
 *   camlbox.tput_2to1   the same as tput_1to1 with two senders.
 *   camlbox.rtt_active  round trip (us) of a message to an echo process and
 *                       back, both sides waiting with the default bounded
 *                       poll (50 us) before sleeping, vs a futex ping-pong
 *                       that polls the same way.
 *   camlbox.rtt_asleep  the same with no polling (both sides asleep in
 *                       futex_wait each time), vs a bare futex ping-pong.
 *   camlbox.tput_40on2  40 senders on a box of 2 slots (messages/s, a
 *                       tenth of the messages), vs 4 senders on the same
 *                       box: a freed slot wakes one sender, so a crowd
 *                       costs little more than a few.
 *   camlbox.ring_oversubscribed  a token passed round a ring of 12
 *                       processes (more than this machine's CPUs), hops
 *                       per second, with the default poll (50 us) vs with
 *                       polling off: the poll adapts, so it must not lose.
 *
 * For the round trips, the two sides are pinned to two different CPUs (for
 * the camlbox and for the futex alike): left to the scheduler, a sleeping
 * pair is sometimes put on one CPU, where a round trip costs 2 us instead
 * of the cross-core 50-60 us, and the figures would compare placements.
 *
 * Throughput is timed from the first message received to the last; each
 * figure is the median of several rounds.  The camlbox senders are mcore
 * workers; the peers are plain forks of the measuring process.
 *
 * Usage: build/bench/camlbox [messages [rounds [figure]]]  (default
 * 1000000, 5; figure: measure only figures whose name contains it).
 * CAMLBOX_BENCH_RING_ONLY=1 in the environment leaves the pipe and the
 * queue out (their lines then say 1 msgs/s): for profiling the box. */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <mqueue.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "mcore/mcore.h"

/* ------------------------------------------------------------- types */

typedef struct msg {
    size_t n;
    int32_t *v;
} msg;

static int msg_copy(mc_copier *c, void *dst, const void *src)
{
    const msg *s = src;
    msg *d = dst;
    d->n = s->n;
    return mc_copy_own(c, &mc_type_i32, s->n, (void *const *)&s->v,
                       (void **)&d->v);
}

static void msg_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, ((const msg *)obj)->v);
}

static const mc_type msg_type_fn = {
    .name = "Msg", .id = 0x7a1c55e0b3d24f19ull, .size = sizeof(msg),
    .align = _Alignof(msg), .copy = msg_copy, .trace = msg_trace,
};

/* The same type as mcidl describes it: a pointer table, no functions (the
 * box copies such a flat record without the generic copier). */
static const mc_ptr_field msg_ptrs[] = {
    {.off = offsetof(msg, v), .kind = MC_PF_ARRAY,
     .len_off = offsetof(msg, n), .t = &mc_type_i32},
};
static const mc_type msg_type = {
    .name = "Msg", .id = 0x7a1c55e0b3d24f19ull, .size = sizeof(msg),
    .align = _Alignof(msg), .ptrs = msg_ptrs, .nptrs = 1,
};

/* the bytes a message takes in a slot: the record, then 3 ints */
#define MSG_BYTES (sizeof(msg) + 3 * sizeof(int32_t))
#define SLOTS 256
#define SLOT_SIZE 64
#define MAX_SENDERS 40
#define CROWD_SLOTS 2

static int64_t n_msgs = 1000000;
static int rounds = 5;
static mc_res_id fork_send, join_send, fork_echo, join_echo, fork_main,
    join_main, fork_ring, join_ring;

/* ----------------------------------------------------- camlbox senders */

struct send_arg {
    mc_res_id box;
    int fn;              /* the hand-written copy function's type */
    int64_t n;
    char ring[64];       /* then as many through this ring ("": none) */
};

/* --------------------------------------------- a plain lock-free ring */

/* The peer of camlbox.tput_1to1: a plain lock-free multi-producer ring of
 * SLOTS cells in shared memory (D. Vyukov's bounded MPMC queue, the design
 * of ck_ring's MPMC mode and of most such rings): a producer reserves a
 * cell with a CAS on the enqueue index, writes the message (MSG_BYTES)
 * and publishes it with the cell's sequence word; the one consumer takes
 * cells in order.  Like a camlbox it takes any number of senders, and its
 * cells are one cache line each, as the box's slots, but it copies bytes
 * (no deep copy, no relocation), reclaims nothing and never sleeps.  It
 * runs between the same two processes as the camlbox figure, right after
 * it in each round, so both see the same placement of the two processes
 * on the host's CPUs: the ratio is our cost, not the host's.  Waiting:
 * `pause` polls, then sched_yield. */
typedef struct ring_cell {
    uint64_t seq;
    unsigned char data[64 - 8];
} ring_cell;
_Static_assert(MSG_BYTES <= sizeof(((ring_cell *)0)->data), "fits a cell");

typedef struct mpmc {
    _Alignas(64) uint64_t enq;    /* next cell to reserve (producers) */
    _Alignas(64) ring_cell cell[SLOTS];
    /* the second peer (cas_produce): cell states, 0 free, 1 written, 2
     * ready */
    _Alignas(64) ring_cell ccell[SLOTS];
} mpmc;

static void ring_pause(unsigned *spins)
{
    if (++*spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else {
        sched_yield();
    }
}

static mpmc *mpmc_map(const char *name, int create)
{
    int fd = shm_open(name, O_RDWR | (create ? O_CREAT | O_EXCL : 0), 0600);
    if (fd < 0)
        return NULL;
    void *m = MAP_FAILED;
    if (!create || ftruncate(fd, sizeof(mpmc)) == 0)
        m = mmap(NULL, sizeof(mpmc), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                 0);
    close(fd);
    if (m != MAP_FAILED && create) {
        mpmc *r = m;
        for (uint64_t i = 0; i < SLOTS; i++)
            r->cell[i].seq = i;
    }
    return m == MAP_FAILED ? NULL : m;
}

/* The bytes of a message as the peers carry them: the record, then the
 * three ints. */
static void msg_bytes(unsigned char buf[MSG_BYTES])
{
    msg m = {3, NULL};
    int32_t v[3] = {1, 2, 3};
    memcpy(buf, &m, sizeof m);
    memcpy(buf + sizeof m, v, sizeof v);
}

static int mpmc_produce(mpmc *r, int64_t n)
{
    unsigned char buf[MSG_BYTES];
    msg_bytes(buf);
    for (int64_t i = 0; i < n; i++) {
        uint64_t pos = __atomic_load_n(&r->enq, __ATOMIC_RELAXED);
        ring_cell *c;
        unsigned spins = 0;
        for (;;) {
            c = &r->cell[pos % SLOTS];
            uint64_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
            int64_t dif = (int64_t)(seq - pos);
            if (dif == 0) {
                if (__atomic_compare_exchange_n(&r->enq, &pos, pos + 1, 1,
                                                __ATOMIC_RELAXED,
                                                __ATOMIC_RELAXED))
                    break;
            } else if (dif < 0) {
                ring_pause(&spins); /* full */
                pos = __atomic_load_n(&r->enq, __ATOMIC_RELAXED);
            } else {
                pos = __atomic_load_n(&r->enq, __ATOMIC_RELAXED);
            }
        }
        memcpy(c->data, buf, sizeof buf);
        __atomic_store_n(&c->seq, pos + 1, __ATOMIC_RELEASE);
    }
    return 0;
}

/* The second peer, the floor that a camlbox's semantics impose: any free
 * cell may be taken by any producer, so a producer claims its cell with a
 * CAS on the cell's own state word (FREE -> WRITING), whose cache line the
 * consumer wrote last when it freed the cell; then it writes the message
 * and publishes it (a release store: READY).  The consumer takes the cells
 * in order and frees each (a release store).  No ticket, no deep copy, no
 * sleeping: a camlbox does all that and more per message. */
static int cas_produce(mpmc *r, int64_t n)
{
    unsigned char buf[MSG_BYTES];
    msg_bytes(buf);
    for (int64_t i = 0; i < n; i++) {
        /* the cells in turn, as a camlbox sender's hint goes (the
         * consumer takes them in order, so no cell may be skipped) */
        ring_cell *c = &r->ccell[i % SLOTS];
        unsigned spins = 0;
        for (;;) {
            uint64_t st = __atomic_load_n(&c->seq, __ATOMIC_RELAXED);
            if (st == 0 && __atomic_compare_exchange_n(&c->seq, &st, 1, 0,
                                                       __ATOMIC_SEQ_CST,
                                                       __ATOMIC_RELAXED))
                break;
            ring_pause(&spins); /* full */
        }
        memcpy(c->data, buf, sizeof buf);
        __atomic_store_n(&c->seq, 2, __ATOMIC_RELEASE);
    }
    return 0;
}

static double cas_consume(mpmc *r, int64_t total)
{
    int64_t sum = 0;
    double t0 = 0;
    for (int64_t i = 0; i < total; i++) {
        ring_cell *c = &r->ccell[i % SLOTS];
        unsigned spins = 0;
        while (__atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) != 2)
            ring_pause(&spins);
        if (!t0)
            t0 = bench_now_us();
        int32_t v[3];
        memcpy(v, c->data + sizeof(msg), sizeof v);
        sum += v[0] + v[1] + v[2];
        __atomic_store_n(&c->seq, 0, __ATOMIC_RELEASE);
    }
    double t1 = bench_now_us();
    return sum == 6 * total ? (double)(total - 1) / ((t1 - t0) / 1e6) : -1;
}

/* Items per second out of the ring: total items, timed from the first. */
static double mpmc_consume(mpmc *r, int64_t total)
{
    int64_t sum = 0;
    double t0 = 0;
    for (uint64_t pos = 0; (int64_t)pos < total; pos++) {
        ring_cell *c = &r->cell[pos % SLOTS];
        unsigned spins = 0;
        while (__atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) != pos + 1)
            ring_pause(&spins);
        if (!t0)
            t0 = bench_now_us();
        int32_t v[3];
        memcpy(v, c->data + sizeof(msg), sizeof v);
        sum += v[0] + v[1] + v[2];
        __atomic_store_n(&c->seq, pos + SLOTS, __ATOMIC_RELEASE);
    }
    double t1 = bench_now_us();
    return sum == 6 * total ? (double)(total - 1) / ((t1 - t0) / 1e6) : -1;
}

static int body_send(void *user, const void *arg, size_t len, void **res,
                     size_t *res_len)
{
    (void)user; (void)res; (void)res_len;
    struct send_arg a;
    mc_camlbox_sender *s;
    if (len != sizeof a)
        return MC_EINVAL;
    memcpy(&a, arg, sizeof a);
    int rc = mc_camlbox_sender_lookup(a.box, a.fn ? &msg_type_fn : &msg_type,
                                      &s);
    if (rc)
        return rc;
    int32_t v[3] = {1, 2, 3};
    msg m = {3, v};
    for (int64_t i = 0; i < a.n && !rc; i++)
        rc = mc_camlbox_send(s, &m);
    int rc2 = mc_camlbox_sender_release(s);
    if (!rc && a.ring[0]) {
        mpmc *r = mpmc_map(a.ring, 0);
        if (!r)
            return MC_ESYS;
        rc = mpmc_produce(r, a.n);
        if (!rc)
            rc = cas_produce(r, a.n);
        munmap(r, sizeof *r);
    }
    return rc ? rc : rc2;
}

/* Messages per second through a camlbox of nslots slots from nsend
 * senders, about `msgs` messages in all.  ring: then the same number of
 * items from the one sender through a plain ring (*ring: items/s), and
 * then through the CAS-claimed ring (ring[1]). */
static int use_fn; /* camlbox_tput_ex: the copy function's type */
static double camlbox_tput_ex(int nsend, size_t nslots, int64_t msgs,
                              double *ring)
{
    mc_camlbox *box;
    if (mc_camlbox_create(use_fn ? &msg_type_fn : &msg_type, nslots,
                          SLOT_SIZE, NULL, &box))
        return -1;
    struct send_arg a = {mc_camlbox_id(box), use_fn, msgs / nsend, ""};
    mpmc *r = NULL;
    if (ring) {
        snprintf(a.ring, sizeof a.ring, "/mcore-bench-ring.%d",
                 (int)getpid());
        if (!(r = mpmc_map(a.ring, 1)))
            return -1;
    }
    int64_t total = a.n * nsend;
    mc_pid pid[MAX_SENDERS];
    for (int i = 0; i < nsend; i++)
        if (mc_start(fork_send, &a, sizeof a, &pid[i]))
            return -1;
    unsigned slots[SLOTS];
    int64_t got = 0, sum = 0;
    double t0 = 0, t1 = 0;
    while (got < total) {
        size_t n;
        if (mc_camlbox_wait(box, 10000, slots, SLOTS, &n))
            return -1;
        if (!t0 && n)
            t0 = bench_now_us();
        for (size_t i = 0; i < n; i++) {
            const msg *m;
            mc_camlbox_get(box, slots[i], (const void **)&m);
            sum += m->v[0] + m->v[1] + m->v[2];
            mc_camlbox_delete(box, slots[i]);
        }
        got += (int64_t)n;
    }
    t1 = bench_now_us();
    if (r) {
        ring[0] = mpmc_consume(r, total);
        ring[1] = cas_consume(r, total);
        shm_unlink(a.ring);
        munmap(r, sizeof *r);
    }
    for (int i = 0; i < nsend; i++) {
        mc_join_result r;
        if (mc_join(join_send, pid[i], &r) || r.kind != MC_EXIT_RESULT)
            return -1;
        mc_join_result_free(&r);
    }
    mc_camlbox_destroy(box);
    if (sum != 6 * total) {
        fprintf(stderr, "camlbox: sum %lld, expected %lld\n",
                (long long)sum, (long long)(6 * total));
        return -1;
    }
    return (double)(total - 1) / ((t1 - t0) / 1e6);
}

static double camlbox_tput(int nsend)
{
    return camlbox_tput_ex(nsend, SLOTS, n_msgs, NULL);
}

/* Many senders on a small box: every delete frees one slot for one of
 * them (before, it woke them all, and past 16 sleepers the rest polled
 * every millisecond). */
static double crowd_tput(int nsend)
{
    return camlbox_tput_ex(nsend, CROWD_SLOTS, n_msgs / 10, NULL);
}

/* ------------------------------------------------------------- peers */

/* Messages per second through a pipe (kind 'p') or a POSIX message queue
 * ('q') from nsend forked writers, MSG_BYTES per message. */
static double peer_tput(char kind, int nsend)
{
    int fds[2] = {-1, -1};
    mqd_t q = (mqd_t)-1;
    char qname[64];
    if (kind == 'p') {
        if (pipe(fds) < 0)
            return -1;
    } else {
        /* the deepest queue this user may have, up to the box's slots */
        long depth = 10;
        FILE *f = fopen("/proc/sys/fs/mqueue/msg_max", "r");
        if (f) {
            if (fscanf(f, "%ld", &depth) != 1)
                depth = 10;
            fclose(f);
        }
        if (depth > SLOTS)
            depth = SLOTS;
        struct mq_attr at = {.mq_maxmsg = depth, .mq_msgsize = MSG_BYTES};
        snprintf(qname, sizeof qname, "/mcore-bench-mq.%d", (int)getpid());
        q = mq_open(qname, O_RDWR | O_CREAT | O_EXCL, 0600, &at);
        if (q == (mqd_t)-1) {
            perror("mq_open");
            return -1;
        }
        mq_unlink(qname); /* nothing outlives the run */
    }
    int64_t each = n_msgs / nsend, total = each * nsend;
    pid_t kids[2];
    fflush(NULL);
    for (int i = 0; i < nsend; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            unsigned char buf[MSG_BYTES];
            msg_bytes(buf);
            for (int64_t j = 0; j < each; j++) {
                if (kind == 'p' ? write(fds[1], buf, sizeof buf) !=
                                      (ssize_t)sizeof buf
                                : mq_send(q, (const char *)buf, sizeof buf,
                                          0) != 0)
                    _exit(1);
            }
            _exit(0);
        }
    }
    if (kind == 'p')
        close(fds[1]);
    char buf[MSG_BYTES];
    int64_t got = 0, sum = 0;
    double t0 = 0;
    while (got < total) {
        ssize_t r = kind == 'p' ? read(fds[0], buf, sizeof buf)
                                : mq_receive(q, buf, sizeof buf, NULL);
        if (r != (ssize_t)sizeof buf)
            break; /* pipe writes of <= PIPE_BUF bytes are never split */
        if (!t0)
            t0 = bench_now_us();
        int32_t v[3];
        memcpy(v, buf + sizeof(msg), sizeof v);
        sum += v[0] + v[1] + v[2];
        got++;
    }
    double t1 = bench_now_us();
    for (int i = 0; i < nsend; i++)
        waitpid(kids[i], NULL, 0);
    if (kind == 'p')
        close(fds[0]);
    else
        mq_close(q);
    if (got != total || sum != 6 * total)
        return -1;
    return (double)(total - 1) / ((t1 - t0) / 1e6);
}

/* ------------------------------------------------------- round trips */

struct echo_arg {
    mc_res_id box;       /* the measurer's box */
    unsigned spin_us;
};

static cpu_set_t all_cpus;

/* Run on the i-th CPU this process may use (no-op with fewer CPUs). */
static void pin(int i)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int c = 0, seen = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &all_cpus) && seen++ == i) {
            CPU_SET(c, &one);
            sched_setaffinity(0, sizeof one, &one);
            return;
        }
}

static void unpin(void)
{
    sched_setaffinity(0, sizeof all_cpus, &all_cpus);
}

/* Echo: make a box, send its id to the measurer, then send back every
 * value it gets, until a negative one. */
static int body_echo(void *user, const void *arg, size_t len, void **res,
                     size_t *res_len)
{
    (void)user; (void)res; (void)res_len;
    struct echo_arg a;
    if (len != sizeof a)
        return MC_EINVAL;
    memcpy(&a, arg, sizeof a);
    pin(1);
    mc_camlbox_sender *back;
    mc_camlbox *box;
    int rc = mc_camlbox_sender_lookup(a.box, &mc_type_i64, &back);
    if (rc)
        return rc;
    if ((rc = mc_camlbox_create(&mc_type_i64, 4, 64, NULL, &box)))
        return rc;
    mc_camlbox_set_spin(box, a.spin_us);
    mc_camlbox_sender_set_spin(back, a.spin_us);
    int64_t id = mc_camlbox_id(box);
    rc = mc_camlbox_send(back, &id);
    for (;;) {
        unsigned slot;
        size_t n;
        if (rc || (rc = mc_camlbox_wait(box, -1, &slot, 1, &n)))
            break;
        if (n == 0)
            continue;
        const int64_t *v;
        mc_camlbox_get(box, slot, (const void **)&v);
        int64_t x = *v;
        mc_camlbox_delete(box, slot);
        if (x < 0)
            break;
        rc = mc_camlbox_send(back, &x);
    }
    mc_camlbox_destroy(box);
    mc_camlbox_sender_release(back);
    return rc;
}

static int recv_i64(mc_camlbox *box, int64_t *x)
{
    unsigned slot;
    size_t n = 0;
    int rc;
    while (!(rc = mc_camlbox_wait(box, 10000, &slot, 1, &n)) && n == 0)
        ;
    if (rc)
        return rc;
    const int64_t *v;
    mc_camlbox_get(box, slot, (const void **)&v);
    *x = *v;
    return mc_camlbox_delete(box, slot);
}

/* Median round trip (us) through two camlboxes. */
static double camlbox_rtt(unsigned spin_us, int iters)
{
    mc_camlbox *box;
    mc_camlbox_sender *to;
    if (mc_camlbox_create(&mc_type_i64, 4, 64, NULL, &box))
        return -1;
    mc_camlbox_set_spin(box, spin_us);
    struct echo_arg a = {mc_camlbox_id(box), spin_us};
    mc_pid pid;
    int64_t id, x;
    if (mc_start(fork_echo, &a, sizeof a, &pid) || recv_i64(box, &id) ||
        mc_camlbox_sender_lookup(id, &mc_type_i64, &to))
        return -1;
    mc_camlbox_sender_set_spin(to, spin_us);
    pin(0);
    double *v = malloc(rounds * sizeof *v);
    for (int r = 0; r < rounds; r++) {
        double t0 = bench_now_us();
        for (int i = 0; i < iters; i++)
            if (mc_camlbox_send(to, &(int64_t){i}) || recv_i64(box, &x) ||
                x != i)
                return -1;
        v[r] = (bench_now_us() - t0) / iters;
    }
    mc_camlbox_send(to, &(int64_t){-1});
    mc_join_result jr;
    mc_join(join_echo, pid, &jr);
    mc_join_result_free(&jr);
    unpin();
    mc_camlbox_sender_release(to);
    mc_camlbox_destroy(box);
    double med = bench_median(v, rounds);
    free(v);
    return med;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void fwait(uint32_t *w, uint32_t val)
{
    syscall(SYS_futex, w, FUTEX_WAIT, val, NULL, NULL, 0);
}

static void fwake(uint32_t *w)
{
    syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Wait until *w != val: poll for spin_us (pause, then yield, like the
 * box), then sleep. */
static void await_change(uint32_t *w, uint32_t val, unsigned spin_us)
{
    double end = bench_now_us() + spin_us;
    while (spin_us && __atomic_load_n(w, __ATOMIC_ACQUIRE) == val &&
           bench_now_us() < end)
        cpu_relax();
    while (__atomic_load_n(w, __ATOMIC_ACQUIRE) == val)
        fwait(w, val);
}

/* Median futex ping-pong round trip (us) between two forked processes:
 * each side bumps the other's word and wakes it. */
static double futex_rtt(unsigned spin_us, int iters)
{
    uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (w == MAP_FAILED)
        return -1;
    uint32_t *ping = &w[0], *pong = &w[16];
    int total = iters * rounds;
    fflush(NULL);
    pid_t kid = fork();
    if (kid == 0) {
        pin(1);
        for (int i = 0; i < total; i++) {
            await_change(ping, (uint32_t)i, spin_us);
            __atomic_store_n(pong, (uint32_t)i + 1, __ATOMIC_SEQ_CST);
            fwake(pong);
        }
        _exit(0);
    }
    pin(0);
    double *v = malloc(rounds * sizeof *v);
    for (int r = 0, i = 0; r < rounds; r++) {
        double t0 = bench_now_us();
        for (int j = 0; j < iters; j++, i++) {
            __atomic_store_n(ping, (uint32_t)i + 1, __ATOMIC_SEQ_CST);
            fwake(ping);
            await_change(pong, (uint32_t)i, spin_us);
        }
        v[r] = (bench_now_us() - t0) / iters;
    }
    waitpid(kid, NULL, 0);
    unpin();
    munmap(w, 4096);
    double med = bench_median(v, rounds);
    free(v);
    return med;
}

/* ---------------------------------------------------------------- ring */

/* A token passed round a ring of RING processes (this one and RING - 1
 * workers), each with its own box: more processes than this machine's
 * CPUs, so polling takes the CPU from the process that holds the token
 * unless it adapts (os/spin.h). */
#define RING 12

struct ring_arg {
    mc_res_id reg;       /* the measurer's box */
    unsigned spin_us;
};

static int body_ring(void *user, const void *arg, size_t len, void **res,
                     size_t *res_len)
{
    (void)user; (void)res; (void)res_len;
    struct ring_arg a;
    if (len != sizeof a)
        return MC_EINVAL;
    memcpy(&a, arg, sizeof a);
    mc_camlbox_sender *reg, *next = NULL;
    mc_camlbox *box;
    int rc = mc_camlbox_sender_lookup(a.reg, &mc_type_i64, &reg);
    if (rc)
        return rc;
    if ((rc = mc_camlbox_create(&mc_type_i64, 4, 64, NULL, &box)))
        return rc;
    mc_camlbox_set_spin(box, a.spin_us);
    int64_t x = mc_camlbox_id(box);
    rc = mc_camlbox_send(reg, &x);
    mc_camlbox_sender_release(reg);
    /* the first message names the next box; then tokens, -1 ends */
    while (!rc && !(rc = recv_i64(box, &x))) {
        if (!next) {
            if ((rc = mc_camlbox_sender_lookup(x, &mc_type_i64, &next)))
                break;
            mc_camlbox_sender_set_spin(next, a.spin_us);
            continue;
        }
        rc = mc_camlbox_send(next, &(int64_t){x < 0 ? x : x + 1});
        if (x < 0)
            break;
    }
    if (next)
        mc_camlbox_sender_release(next);
    mc_camlbox_destroy(box);
    return rc;
}

/* Hops per second of a token round the ring, polling up to spin_us. */
static double ring_tput(int spin_us)
{
    int64_t hops = n_msgs / 50 < RING ? RING : n_msgs / 50;
    mc_camlbox *box;
    if (mc_camlbox_create(&mc_type_i64, RING, 64, NULL, &box))
        return -1;
    mc_camlbox_set_spin(box, (unsigned)spin_us);
    struct ring_arg a = {mc_camlbox_id(box), (unsigned)spin_us};
    mc_pid pid[RING - 1];
    int64_t ids[RING];
    mc_camlbox_sender *to[RING - 1] = {NULL};
    double t = -1;
    int started = 0;
    for (; started < RING - 1; started++)
        if (mc_start(fork_ring, &a, sizeof a, &pid[started]))
            goto out;
    /* the ring's order: the workers' boxes as they come, then ours */
    for (int i = 0; i < RING - 1; i++)
        if (recv_i64(box, &ids[i]) ||
            mc_camlbox_sender_lookup(ids[i], &mc_type_i64, &to[i]))
            goto out;
    ids[RING - 1] = mc_camlbox_id(box);
    for (int i = 0; i < RING - 1; i++)
        if (mc_camlbox_send(to[i], &ids[i + 1]))
            goto out;
    mc_camlbox_sender_set_spin(to[0], (unsigned)spin_us);
    double t0 = bench_now_us();
    int64_t x = 0;
    for (;;) {
        if (mc_camlbox_send(to[0], &(int64_t){x + 1}) || recv_i64(box, &x))
            goto out;
        if (x >= hops)
            break;
    }
    t = (double)x / ((bench_now_us() - t0) / 1e6);
    if (mc_camlbox_send(to[0], &(int64_t){-1}) || recv_i64(box, &x) ||
        x != -1)
        t = -1;
out:
    for (int i = 0; i < started; i++) {
        mc_join_result r;
        if (mc_join(join_ring, pid[i], &r) || r.kind != MC_EXIT_RESULT)
            t = -1;
        mc_join_result_free(&r);
    }
    for (int i = 0; i < RING - 1; i++)
        if (to[i])
            mc_camlbox_sender_release(to[i]);
    mc_camlbox_destroy(box);
    return t;
}

/* ---------------------------------------------------------------- main */

static double median_of(double (*fn)(int), int arg)
{
    double *v = malloc(rounds * sizeof *v);
    for (int r = 0; r < rounds; r++)
        if ((v[r] = fn(arg)) < 0) {
            free(v);
            return -1;
        }
    double med = bench_median(v, rounds);
    free(v);
    return med;
}

/* Medians of fn(a) and fn(b) over rounds taken in turn (a b, b a, a b...),
 * so that a change of the host's load during the run, or going first,
 * weighs on both alike. */
static int median_pair(double (*fn)(int), int a, int b, double *ma,
                       double *mb)
{
    double *v = malloc(2 * rounds * sizeof *v);
    int rc = 0;
    for (int r = 0; r < rounds && !rc; r++) {
        int first = r % 2 ? rounds + r : r, second = r % 2 ? r : rounds + r;
        if ((v[first] = fn(r % 2 ? b : a)) < 0 ||
            (v[second] = fn(r % 2 ? a : b)) < 0)
            rc = -1;
    }
    if (!rc) {
        *ma = bench_median(v, rounds);
        *mb = bench_median(v + rounds, rounds);
    }
    free(v);
    return rc;
}

/* Figures to measure: those whose name contains `only` (all if NULL). */
static const char *only;
static int want(const char *figure)
{
    return !only || strstr(figure, only);
}

static char peer_kind;
static double peer_fn(int nsend) { return peer_tput(peer_kind, nsend); }

/* camlbox.tput_1to1 (fn: with the type's copy function) and the two
 * rings in the same rounds, between the same processes: medians. */
static int tput_vs_rings(int fn, double *cb, double *rg, double *cr)
{
    double *v = malloc(3 * rounds * sizeof *v), two[2];
    use_fn = fn;
    for (int r = 0; r < rounds; r++) {
        if ((v[r] = camlbox_tput_ex(1, SLOTS, n_msgs, two)) < 0 ||
            two[0] < 0 || two[1] < 0) {
            fprintf(stderr, "camlbox bench: camlbox.tput_1to1%s failed: "
                    "%s\n", fn ? "_copyfn" : "", mc_last_error_detail());
            free(v);
            use_fn = 0;
            return -1;
        }
        v[rounds + r] = two[0];
        v[2 * rounds + r] = two[1];
    }
    use_fn = 0;
    *cb = bench_median(v, rounds);
    *rg = bench_median(v + rounds, rounds);
    *cr = bench_median(v + 2 * rounds, rounds);
    free(v);
    return 0;
}

static int body_main(void *user, const void *arg, size_t len, void **res,
                     size_t *res_len)
{
    (void)user; (void)arg; (void)len; (void)res; (void)res_len;
    static const char *names[2] = {"camlbox.tput_1to1", "camlbox.tput_2to1"};
    for (int ns = 1; ns <= 2; ns++) {
        if (!want(names[ns - 1]))
            continue;
        double cb, rg = 0, cr = 0;
        if (ns == 1) {
            if (tput_vs_rings(0, &cb, &rg, &cr))
                return MC_EINVAL;
        } else {
            cb = median_of(camlbox_tput, ns);
        }
        /* CAMLBOX_BENCH_RING_ONLY: the ring alone (profiling the box) */
        int slow = !getenv("CAMLBOX_BENCH_RING_ONLY");
        peer_kind = 'p';
        double pp = slow ? median_of(peer_fn, ns) : 1;
        peer_kind = 'q';
        double mq = slow ? median_of(peer_fn, ns) : 1;
        if (cb < 0 || pp < 0 || mq < 0) {
            fprintf(stderr, "camlbox bench: %s failed: %s\n", names[ns - 1],
                    mc_last_error_detail());
            return MC_EINVAL;
        }
        if (ns == 1) {
            bench_print(names[0], cb, "msgs/s", "mpmc_ring", rg);
            bench_print(names[0], cb, "msgs/s", "cas_ring", cr);
            double fcb, frg, fcr;
            if (tput_vs_rings(1, &fcb, &frg, &fcr))
                return MC_EINVAL;
            bench_print("camlbox.tput_1to1_copyfn", fcb, "msgs/s",
                        "mpmc_ring", frg);
        }
        bench_print(names[ns - 1], cb, "msgs/s", "pipe", pp);
        bench_print(names[ns - 1], cb, "msgs/s", "mqueue", mq);
    }
    if (want("camlbox.rtt")) {
    double ra = camlbox_rtt(50, 20000), fa = futex_rtt(50, 20000);
    double rs = camlbox_rtt(0, 1000), fs = futex_rtt(0, 1000);
    if (ra < 0 || fa < 0 || rs < 0 || fs < 0) {
        fprintf(stderr, "camlbox bench: round trips failed: %s\n",
                mc_last_error_detail());
        return MC_EINVAL;
    }
    bench_print("camlbox.rtt_active", ra, "us", "futex", fa);
    bench_print("camlbox.rtt_asleep", rs, "us", "futex", fs);
    }
    if (want("camlbox.tput_40on2")) {
    double c40, c4;
    if (median_pair(crowd_tput, MAX_SENDERS, 4, &c40, &c4)) {
        fprintf(stderr, "camlbox bench: crowd failed: %s\n",
                mc_last_error_detail());
        return MC_EINVAL;
    }
    bench_print("camlbox.tput_40on2", c40, "msgs/s", "4on2", c4);
    }
    if (want("camlbox.ring_oversubscribed")) {
    double rg, rg0;
    if (median_pair(ring_tput, 0, 50, &rg0, &rg)) {
        fprintf(stderr, "camlbox bench: ring failed: %s\n",
                mc_last_error_detail());
        return MC_EINVAL;
    }
    bench_print("camlbox.ring_oversubscribed", rg, "msgs/s", "spin_off",
                rg0);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        n_msgs = strtoll(argv[1], NULL, 10);
    if (argc > 2)
        rounds = atoi(argv[2]);
    if (argc > 3)
        only = argv[3];
    if (n_msgs < 2 || rounds < 1) {
        fprintf(stderr, "usage: camlbox [messages [rounds [figure]]]\n");
        return 2;
    }
    sched_getaffinity(0, sizeof all_cpus, &all_cpus);
    if (mc_def_process(body_send, NULL, &fork_send, &join_send) ||
        mc_def_process(body_echo, NULL, &fork_echo, &join_echo) ||
        mc_def_process(body_ring, NULL, &fork_ring, &join_ring) ||
        mc_def_process(body_main, NULL, &fork_main, &join_main))
        return 1;
    mc_join_result r;
    int rc = mc_run(NULL, fork_main, join_main, NULL, 0, &r);
    if (rc || r.kind != MC_EXIT_RESULT) {
        fprintf(stderr, "camlbox bench: %s (%s), kind %d code %d\n",
                mc_strerror(rc), mc_last_error_detail(), (int)r.kind,
                r.code);
        return 1;
    }
    mc_join_result_free(&r);
    return 0;
}
