/* test_camlbox.c: camlboxes (mcore/camlbox.h).
 *
 * Send, wait, get in place (pointers relocated into the receiver's
 * mapping), get_copy and delete; many senders with nothing lost or
 * duplicated; a full box blocks its sender until a delete wakes it;
 * try_send on a full box; oversize messages take no slot; the type check;
 * a named box fed by an unrelated program (this binary, exec'd again);
 * senders killed with SIGKILL at random points, with every slot back
 * afterwards.
 */
#include "testutil.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/spin.h" /* the adaptive poll's rules (test_spin_rules) */

/* -------------------------------------------------------- message type */

/* A message names its sender and sequence number three times over (the
 * fields, an array, a string), so that a torn, mixed or misplaced message
 * shows. */
typedef struct tmsg {
    int64_t sender;
    int64_t seq;
    int64_t pid;      /* the sender's OS pid */
    size_t n;         /* elements of v */
    int64_t *v;       /* v[i] = seq * 31 + i */
    char *s;          /* "m<sender>-<seq>" */
} tmsg;

static int tmsg_copy(mc_copier *c, void *dst, const void *src)
{
    const tmsg *s = src;
    tmsg *d = dst;
    d->sender = s->sender;
    d->seq = s->seq;
    d->pid = s->pid;
    d->n = s->n;
    int rc = mc_copy_own(c, &mc_type_i64, s->n, (void *const *)&s->v,
                         (void **)&d->v);
    return rc ? rc : mc_copy_str(c, &s->s, &d->s);
}

static void tmsg_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, ((const tmsg *)obj)->v);
    mc_trace_ptr(tr, ((const tmsg *)obj)->s);
}

static const mc_type tmsg_type = {
    .name = "tmsg", .id = 0x4e2d9a61c07b3f15ull, .size = sizeof(tmsg),
    .align = _Alignof(tmsg), .copy = tmsg_copy, .trace = tmsg_trace,
};

/* The same layout under another type id. */
static const mc_type other_type = {
    .name = "other", .id = 0x4e2d9a61c07b3f16ull, .size = sizeof(tmsg),
    .align = _Alignof(tmsg), .copy = tmsg_copy, .trace = tmsg_trace,
};

/* The same layout copied string first: then the array's place depends on
 * the string's length (the slot's layout rule, mc__slot_place). */
static int rev_copy(mc_copier *c, void *dst, const void *src)
{
    const tmsg *s = src;
    tmsg *d = dst;
    *d = *s;
    int rc = mc_copy_str(c, &s->s, &d->s);
    return rc ? rc : mc_copy_own(c, &mc_type_i64, s->n, (void *const *)&s->v,
                                 (void **)&d->v);
}

static const mc_type rev_type = {
    .name = "rev", .id = 0x4e2d9a61c07b3f17ull, .size = sizeof(tmsg),
    .align = _Alignof(tmsg), .copy = rev_copy, .trace = tmsg_trace,
};

/* The same layout described by a pointer table, as mcidl describes its
 * types: a flat type, which a sender copies without the generic copier
 * (camlbox.c, copy_flat); the table lists v before s, as tmsg_copy copies
 * them, so both give the same layout. */
static const mc_ptr_field tflat_ptrs[] = {
    {.off = offsetof(tmsg, v), .kind = MC_PF_ARRAY,
     .len_off = offsetof(tmsg, n), .t = &mc_type_i64},
    {.off = offsetof(tmsg, s), .kind = MC_PF_STR},
};
static const mc_type tflat_type = {
    .name = "tflat", .id = 0x4e2d9a61c07b3f18ull, .size = sizeof(tmsg),
    .align = _Alignof(tmsg), .ptrs = tflat_ptrs, .nptrs = 2,
};

/* A flat record with an optional array (MC_PW_HAS) after a string. */
typedef struct topt {
    char *name;
    _Bool has;
    size_t n;
    int32_t *v;
} topt;
static const mc_ptr_field topt_ptrs[] = {
    {.off = offsetof(topt, name), .kind = MC_PF_STR},
    {.off = offsetof(topt, v), .kind = MC_PF_ARRAY, .when = MC_PW_HAS,
     .when_off = offsetof(topt, has), .len_off = offsetof(topt, n),
     .t = &mc_type_i32},
};
static const mc_type topt_type = {
    .name = "topt", .id = 0x4e2d9a61c07b3f19ull, .size = sizeof(topt),
    .align = _Alignof(topt), .ptrs = topt_ptrs, .nptrs = 2,
};

/* A message being built: storage for its array and string. */
typedef struct tbuf {
    tmsg m;
    int64_t v[256];
    char s[64];
} tbuf;

static void tmsg_fill(tbuf *b, int64_t sender, int64_t seq, size_t n)
{
    b->m.sender = sender;
    b->m.seq = seq;
    b->m.pid = getpid();
    b->m.n = n;
    for (size_t i = 0; i < n; i++)
        b->v[i] = seq * 31 + (int64_t)i;
    b->m.v = n ? b->v : NULL;
    snprintf(b->s, sizeof b->s, "m%" PRId64 "-%" PRId64, sender, seq);
    b->m.s = b->s;
}

/* Bytes a message of n elements takes in a slot (see tx_alloc). */
static size_t tmsg_bytes(size_t n, const char *s)
{
    size_t b = sizeof(tmsg);
    if (n)
        b += (n * 8 + 7) / 8 * 8;
    return b + strlen(s) + 1;
}

/* NULL if m is whole, else what is wrong.  lo/hi: where its pointers must
 * point (the slot), or NULL for a local copy. */
static const char *tmsg_bad(const tmsg *m, const void *lo, const void *hi)
{
    static char why[128];
    char want[64];
    snprintf(want, sizeof want, "m%" PRId64 "-%" PRId64, m->sender, m->seq);
    if (!m->s || strcmp(m->s, want) != 0)
        return "string";
    if ((m->n == 0) != (m->v == NULL))
        return "array pointer";
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i] != m->seq * 31 + (int64_t)i) {
            snprintf(why, sizeof why, "v[%zu] = %" PRId64, i, m->v[i]);
            return why;
        }
    if (lo && ((m->v && ((const char *)m->v < (const char *)lo ||
                         (const char *)(m->v + m->n) > (const char *)hi)) ||
               (const char *)m->s < (const char *)lo ||
               (const char *)m->s >= (const char *)hi))
        return "a pointer leaves the slot";
    return NULL;
}

/* ------------------------------------------------------------ senders */

struct sender_arg {
    mc_res_id box;
    int64_t sender;
    int64_t count;    /* messages; < 0: until killed */
    int64_t n;        /* elements per message; < 0: random 0..-n */
    int try_first;    /* 1: try_send, and count MC_EAGAINs in the report */
    int flat;         /* 1: the box holds tflat (send copies into the slot,
                         camlbox.c copy_direct), else tmsg */
};

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void drv_sender(const void *arg, size_t len)
{
    struct sender_arg a;
    W_CHECK(len == sizeof a, "arg");
    memcpy(&a, arg, sizeof a);
    mc_camlbox_sender *s;
    if (W_RC(mc_camlbox_sender_lookup(a.box, a.flat ? &tflat_type
                                                     : &tmsg_type, &s), 0))
        return;
    static tbuf b;
    uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
    for (int64_t i = 0; a.count < 0 || i < a.count; i++) {
        size_t n = a.n >= 0 ? (size_t)a.n : rnd(&x) % (size_t)(1 - a.n);
        tmsg_fill(&b, a.sender, i, n);
        if (a.try_first) {
            int rc = mc_camlbox_try_send(s, &b.m);
            if (rc == MC_EAGAIN) {
                /* the box is full: now block */
                if (W_RC(mc_camlbox_send(s, &b.m), 0))
                    break;
                continue;
            }
            if (W_RC(rc, 0))
                break;
        } else if (W_RC(mc_camlbox_send(s, &b.m), 0)) {
            break;
        }
    }
    W_RC(mc_camlbox_sender_release(s), 0);
}

/* Receive one message (waiting up to ms), check it, and delete it. */
static int w_recv(mc_camlbox *box, int ms, tmsg *out)
{
    unsigned slot;
    size_t n = 0;
    int rc = mc_camlbox_wait(box, ms, &slot, 1, &n);
    if (rc)
        return rc;
    if (n != 1)
        return MC_EAGAIN;
    const tmsg *m;
    if (W_RC(mc_camlbox_get(box, slot, (const void **)&m), 0))
        return MC_EINVAL;
    const char *bad = tmsg_bad(m, m, (const char *)m + 4096);
    W_CHECK(!bad, "message in slot %u: %s", slot, bad);
    if (out)
        *out = *m;
    W_RC(mc_camlbox_delete(box, slot), 0);
    return 0;
}

/* ------------------------------------------------------------- basics */

static void drv_basics(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_camlbox *box;
    if (W_RC(mc_camlbox_create(&tmsg_type, 8, 512, NULL, &box), 0))
        return;
    W_CHECK(mc_camlbox_capacity(box) == 8, "capacity");
    W_CHECK(mc_camlbox_messages(box) == 0, "empty");
    W_CHECK(strcmp(mc_camlbox_name(box), "") == 0, "anonymous");
    mc_res_info info;
    W_RC(mc_res_get(mc_camlbox_id(box), &info), 0);
    W_CHECK(info.kind == MC_RES_CAMLBOX, "kind %d", (int)info.kind);

    unsigned slots[8];
    size_t n = 99;
    W_RC(mc_camlbox_wait(box, 0, slots, 8, &n), MC_EAGAIN);
    W_CHECK(n == 0, "n");
    int64_t t0 = tu_now_ms();
    W_RC(mc_camlbox_wait(box, 30, slots, 8, &n), MC_ETIMEDOUT);
    W_CHECK(tu_now_ms() - t0 >= 29, "the timed wait returned early");
    W_RC(mc_camlbox_wait(box, 0, slots, 0, &n), MC_EINVAL);
    const void *p;
    W_RC(mc_camlbox_get(box, 0, &p), MC_ENOENT);
    W_RC(mc_camlbox_get(box, 8, &p), MC_EINVAL);
    W_RC(mc_camlbox_delete(box, 0), MC_ENOENT);

    /* a sender in another worker: 5 messages with arrays and strings */
    struct sender_arg a = {mc_camlbox_id(box), 7, 5, 10, 0, 0};
    mc_pid pid;
    W_RC(tu_start_fn(drv_sender, &a, sizeof a, &pid), 0);
    W_JOIN_OK(tu_driver_jp, pid, "sender");
    mc_camlbox_stats st;
    W_RC(mc_camlbox_stats_get(box, &st), 0);
    W_CHECK(st.capacity == 8 && st.slot_size == 512 && st.ready == 5 &&
            st.free == 3 && st.writing == 0 && st.reading == 0,
            "stats: %zu ready, %zu free", st.ready, st.free);
    W_RC(mc_camlbox_wait(box, 5000, slots, 8, &n), 0);
    W_CHECK(n == 5, "wait reported %zu messages", n);
    W_CHECK(mc_camlbox_messages(box) == 5, "5 messages");
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        const tmsg *m;
        if (W_RC(mc_camlbox_get(box, slots[i], (const void **)&m), 0))
            continue;
        const char *bad = tmsg_bad(m, m, (const char *)m + 512);
        W_CHECK(!bad, "slot %u: %s", slots[i], bad);
        W_CHECK(m->sender == 7 && m->n == 10 && m->seq >= 0 && m->seq < 5,
                "fields");
        seen |= 1 << m->seq;
        tmsg *c;
        if (!W_RC(mc_camlbox_get_copy(box, slots[i], (void **)&c), 0)) {
            W_RC(mc_camlbox_delete(box, slots[i]), 0);
            bad = tmsg_bad(c, NULL, NULL);
            W_CHECK(!bad && c->seq == m->seq, "the copy: %s", bad);
            mc_local_free(c);
        }
        W_RC(mc_camlbox_delete(box, slots[i]), MC_ENOENT);
    }
    W_CHECK(seen == 0x1f, "messages seen: %x", seen);
    /* reported once: nothing more to wait for */
    W_RC(mc_camlbox_wait(box, 0, slots, 8, &n), MC_EAGAIN);

    /* a sender in this process; wake */
    mc_camlbox_sender *s;
    if (!W_RC(mc_camlbox_sender_lookup(mc_camlbox_id(box), &tmsg_type, &s),
              0)) {
        W_RC(mc_camlbox_wake(s), 0);
        n = 99;
        W_RC(mc_camlbox_wait(box, 1000, slots, 8, &n), 0);
        W_CHECK(n == 0, "a wake reports no message (%zu)", n);
        static tbuf b;
        tmsg_fill(&b, 1, 42, 0);
        W_RC(mc_camlbox_send(s, &b.m), 0);
        tmsg got;
        W_RC(w_recv(box, 1000, &got), 0);
        W_CHECK(got.seq == 42 && got.n == 0, "empty array");
        W_RC(mc_camlbox_send(s, NULL), MC_EINVAL);
        W_RC(mc_camlbox_sender_stats(s, &st), 0);
        W_CHECK(st.free == 8, "all free");
        W_RC(mc_camlbox_sender_release(s), 0);
    }
    /* bad arguments */
    W_RC(mc_camlbox_create(NULL, 1, 64, NULL, &box), MC_EINVAL);
    mc_camlbox *b2;
    W_RC(mc_camlbox_create(&tmsg_type, 0, 64, NULL, &b2), MC_EINVAL);
    W_RC(mc_camlbox_create(&tmsg_type, 4, 8, NULL, &b2), MC_EINVAL);
    W_RC(mc_camlbox_create(&tmsg_type, 4, 64, "no-slash", &b2), MC_EINVAL);
    W_RC(mc_camlbox_sender_lookup(999999, &tmsg_type, &s), MC_ENOENT);
    W_RC(mc_camlbox_destroy(box), 0);
}

static void test_basics(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_basics, NULL, 0);
    tu_end();
}

/* ------------------------------------------------------- many senders */

enum { N_SENDERS = 4, N_EACH = 100000 };

static void drv_many(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_camlbox *box;
    if (W_RC(mc_camlbox_create(&tmsg_type, 64, 256, NULL, &box), 0))
        return;
    mc_pid pid[N_SENDERS];
    for (int i = 0; i < N_SENDERS; i++) {
        struct sender_arg a = {mc_camlbox_id(box), i, N_EACH, -4, i & 1, 0};
        W_RC(tu_start_fn(drv_sender, &a, sizeof a, &pid[i]), 0);
    }
    unsigned char *seen = calloc(N_SENDERS, N_EACH);
    int64_t got = 0, dups = 0, bad = 0;
    unsigned slots[64];
    while (seen && got < (int64_t)N_SENDERS * N_EACH) {
        size_t n;
        int rc = mc_camlbox_wait(box, 20000, slots, 64, &n);
        if (W_RC(rc, 0))
            break;
        for (size_t i = 0; i < n; i++) {
            const tmsg *m;
            if (W_RC(mc_camlbox_get(box, slots[i], (const void **)&m), 0))
                continue;
            if (tmsg_bad(m, m, (const char *)m + 256) || m->sender < 0 ||
                m->sender >= N_SENDERS || m->seq < 0 || m->seq >= N_EACH) {
                bad++;
            } else {
                unsigned char *e = &seen[m->sender * N_EACH + m->seq];
                dups += *e;
                *e = 1;
            }
            W_RC(mc_camlbox_delete(box, slots[i]), 0);
            got++;
        }
    }
    W_CHECK(seen, "calloc");
    W_CHECK(bad == 0 && dups == 0, "%" PRId64 " bad, %" PRId64
            " duplicated messages", bad, dups);
    int64_t missing = 0;
    for (size_t i = 0; seen && i < (size_t)N_SENDERS * N_EACH; i++)
        missing += !seen[i];
    W_CHECK(missing == 0, "%" PRId64 " messages lost", missing);
    free(seen);
    for (int i = 0; i < N_SENDERS; i++)
        W_JOIN_OK(tu_driver_jp, pid[i], "sender");
    mc_camlbox_stats st;
    W_RC(mc_camlbox_stats_get(box, &st), 0);
    W_CHECK(st.free == 64, "%zu slots free after the run", st.free);
    W_RC(mc_camlbox_destroy(box), 0);
}

static void test_many(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_many, NULL, 0);
    tu_end();
}

/* ------------------------------------------------------------- order */

/* Senders each send N numbered messages, then an end
 * marker (seq N); the receiver stops at the markers.  Messages of one
 * sender must come in the order sent, so at its marker every one of them
 * has been seen.  The receiver takes 1 to 4 messages per wait and keeps a
 * few slots before deleting them, in a random order, so that free slots
 * lie scattered and senders wrap round the box. */
enum { ORD_ROUNDS = 60, ORD_N = 1500, ORD_MAXS = 3 };

static void drv_order(const void *arg, size_t len)
{
    (void)arg; (void)len;
    uint64_t x = 0x51ed270b2f3c4a97ull ^ (uint64_t)getpid();
    int64_t lost = 0, disorder = 0, rounds_bad = 0;
    for (int r = 0; r < ORD_ROUNDS && !tu_w_failed(); r++) {
        int ns = 1 + r % ORD_MAXS;
        size_t nslots = 2 + rnd(&x) % 9;
        size_t max = 1 + r / ORD_MAXS % 4;
        size_t keep = rnd(&x) % nslots;  /* slots held before deleting */
        int flat = r % 2; /* the same layout, copied into the slot */
        mc_camlbox *box;
        if (W_RC(mc_camlbox_create(flat ? &tflat_type : &tmsg_type, nslots,
                                   256, NULL, &box), 0))
            return;
        mc_pid pid[ORD_MAXS];
        for (int i = 0; i < ns; i++) {
            struct sender_arg a = {mc_camlbox_id(box), i, ORD_N + 1, 0,
                                   (int)(rnd(&x) & 1), flat};
            W_RC(tu_start_fn(drv_sender, &a, sizeof a, &pid[i]), 0);
        }
        int64_t next[ORD_MAXS] = {0};
        int done = 0, round_bad = 0;
        unsigned held[16], slots[4];
        size_t nheld = 0;
        while (done < ns) {
            size_t n;
            if (W_RC(mc_camlbox_wait(box, 20000, slots, max, &n), 0))
                break;
            for (size_t i = 0; i < n; i++) {
                const tmsg *m;
                if (W_RC(mc_camlbox_get(box, slots[i], (const void **)&m),
                         0))
                    continue;
                W_CHECK(m->sender >= 0 && m->sender < ns, "sender");
                if (m->sender < 0 || m->sender >= ns)
                    continue;
                int64_t *nx = &next[m->sender];
                if (m->seq == ORD_N) {
                    lost += ORD_N - *nx;
                    round_bad |= *nx != ORD_N;
                    done++;
                } else if (m->seq != *nx) {
                    disorder++;
                    round_bad = 1;
                }
                if (m->seq >= *nx)
                    *nx = m->seq + 1;
                held[nheld++] = slots[i];
            }
            /* delete all but `keep` held slots, picked at random */
            while (nheld > keep || (nheld && done == ns)) {
                size_t j = rnd(&x) % nheld;
                W_RC(mc_camlbox_delete(box, held[j]), 0);
                held[j] = held[--nheld];
            }
        }
        rounds_bad += round_bad;
        for (int i = 0; i < ns; i++)
            W_JOIN_OK(tu_driver_jp, pid[i], "sender");
        size_t n;
        W_RC(mc_camlbox_wait(box, 0, slots, 4, &n), MC_EAGAIN);
        W_RC(mc_camlbox_destroy(box), 0);
    }
    W_CHECK(rounds_bad == 0 && lost == 0 && disorder == 0,
            "%" PRId64 " of %d rounds wrong: %" PRId64 " messages after "
            "their end marker, %" PRId64 " out of order", rounds_bad,
            ORD_ROUNDS, lost, disorder);
}

static void test_order(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_order, NULL, 0);
    tu_end();
}

/* ----------------------------------------------------------- full box */

static void drv_full(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_camlbox *box;
    if (W_RC(mc_camlbox_create(&tmsg_type, 2, 256, NULL, &box), 0))
        return;
    /* try_send: two go in, the third is MC_EAGAIN */
    mc_camlbox_sender *s;
    if (W_RC(mc_camlbox_sender_lookup(mc_camlbox_id(box), &tmsg_type, &s),
             0))
        return;
    static tbuf b;
    for (int i = 0; i < 3; i++) {
        tmsg_fill(&b, 0, i, 3);
        W_RC(mc_camlbox_try_send(s, &b.m), i < 2 ? 0 : MC_EAGAIN);
    }
    mc_camlbox_stats st;
    W_RC(mc_camlbox_sender_stats(s, &st), 0);
    W_CHECK(st.ready == 2 && st.free == 0, "full: %zu ready", st.ready);
    /* a sender in another worker blocks on the full box */
    struct sender_arg a = {mc_camlbox_id(box), 1, 1, 3, 0, 0};
    mc_pid pid;
    W_RC(tu_start_fn(drv_sender, &a, sizeof a, &pid), 0);
    tu_sleep_ms(200);
    mc_join_result r;
    W_RC(mc_join_nowait(tu_driver_jp, pid, &r), MC_EAGAIN);
    W_CHECK(mc_camlbox_messages(box) == 2, "still 2 messages");
    /* a delete wakes it at once (not after its 100 ms check) */
    unsigned slots[2];
    size_t n;
    W_RC(mc_camlbox_wait(box, 0, slots, 2, &n), 0);
    W_CHECK(n == 2, "2 messages reported");
    int64_t t0 = tu_now_ms();
    W_RC(mc_camlbox_delete(box, slots[0]), 0);
    tmsg got;
    W_RC(w_recv(box, 5000, &got), 0);
    int64_t dt = tu_now_ms() - t0;
    W_CHECK(got.sender == 1, "the blocked sender's message came");
    W_CHECK(dt < 90, "the blocked sender took %" PRId64 " ms to wake", dt);
    W_JOIN_OK(tu_driver_jp, pid, "blocked sender");
    W_RC(mc_camlbox_delete(box, slots[1]), 0);
    W_RC(mc_camlbox_sender_stats(s, &st), 0);
    W_CHECK(st.free == 2, "all free again");
    /* a destroyed box: a blocked sender returns MC_ENOENT */
    W_RC(mc_camlbox_sender_release(s), 0);
    W_RC(mc_camlbox_destroy(box), 0);
}

/* ------------------------------------------------ one wake per free slot */

/* WAKE_N senders block on a full box of one slot; the
 * receiver then takes their messages one by one.  Each delete must wake
 * one sender, not all, and no sender may poll: a sender's sleeps (its
 * voluntary context switches while in mc_camlbox_send) stay within a few,
 * plus one per 100 ms (the sleep's safety timeout).  Each sender then
 * reports its count in a second message (sender WAKE_REPORT + i). */
enum { WAKE_N = 32, WAKE_REPORT = 1000 };

static void drv_wake_sender(const void *arg, size_t len)
{
    struct sender_arg a;
    W_CHECK(len == sizeof a, "arg");
    memcpy(&a, arg, sizeof a);
    mc_camlbox_sender *s;
    if (W_RC(mc_camlbox_sender_lookup(a.box, &tmsg_type, &s), 0))
        return;
    static tbuf b;
    tmsg_fill(&b, a.sender, 0, 1);
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    int64_t t0 = tu_now_ms();
    W_RC(mc_camlbox_send(s, &b.m), 0);
    int64_t ms = tu_now_ms() - t0;
    getrusage(RUSAGE_SELF, &r1);
    /* the report: seq = sleeps, n = ms (as array elements, capped) */
    int64_t sleeps = r1.ru_nvcsw - r0.ru_nvcsw;
    tmsg_fill(&b, WAKE_REPORT + a.sender, sleeps, 0);
    b.m.pid = ms;
    W_RC(mc_camlbox_send(s, &b.m), 0);
    W_RC(mc_camlbox_sender_release(s), 0);
}

static void drv_wake_one(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_camlbox *box;
    if (W_RC(mc_camlbox_create(&tmsg_type, 1, 256, NULL, &box), 0))
        return;
    mc_camlbox_sender *s;
    if (W_RC(mc_camlbox_sender_lookup(mc_camlbox_id(box), &tmsg_type, &s),
             0))
        return;
    static tbuf b;
    tmsg_fill(&b, 999, 0, 1);
    W_RC(mc_camlbox_send(s, &b.m), 0); /* the box is full */
    mc_pid pid[WAKE_N];
    for (int i = 0; i < WAKE_N; i++) {
        struct sender_arg a = {mc_camlbox_id(box), i, 1, 1, 0, 0};
        W_RC(tu_start_fn(drv_wake_sender, &a, sizeof a, &pid[i]), 0);
    }
    tu_sleep_ms(1000); /* all asleep on the full box */
    int64_t reports = 0, sleeps = 0, ms = 0, worst = 0;
    while (reports < WAKE_N && !tu_w_failed()) {
        tmsg m;
        if (W_RC(w_recv(box, 20000, &m), 0))
            break;
        if (m.sender >= WAKE_REPORT) {
            reports++;
            sleeps += m.seq;
            ms += m.pid;
            if (m.seq - m.pid / 100 > worst)
                worst = m.seq - m.pid / 100;
        }
    }
    for (int i = 0; i < WAKE_N; i++)
        W_JOIN_OK(tu_driver_jp, pid[i], "sender");
    /* allowed: 4 per sender beyond the timeouts (the first sleep, a wake
     * that found the slot taken, ...) */
    W_CHECK(sleeps <= ms / 100 + 4 * WAKE_N,
            "%d blocked senders slept %" PRId64 " times in %" PRId64
            " ms in all (worst: %" PRId64 " beyond its timeouts)", WAKE_N,
            sleeps, ms, worst);
    printf("wake test: %d senders, %" PRId64 " sleeps in %" PRId64
           " ms of sending\n", WAKE_N, sleeps, ms);
    W_RC(mc_camlbox_sender_release(s), 0);
    W_RC(mc_camlbox_destroy(box), 0);
}

static void test_wake_one(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_wake_one, NULL, 0);
    tu_end();
}

/* ------------------------------------------- waiting costs no CPU */

/* CPU time used by this process so far, in ms. */
static int64_t cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static void drv_idle_sender(const void *arg, size_t len)
{
    (void)len;
    mc_res_id id;
    memcpy(&id, arg, sizeof id);
    mc_camlbox_sender *s;
    if (W_RC(mc_camlbox_sender_lookup(id, &tmsg_type, &s), 0))
        return;
    static tbuf b;
    tmsg_fill(&b, 2, 0, 3);
    mc_camlbox_sender_set_spin(s, 0); /* sleep at once on the full box */
    int64_t c0 = cpu_ms(), t0 = tu_now_ms();
    W_RC(mc_camlbox_send(s, &b.m), 0); /* blocks: the box is full */
    int64_t cpu = cpu_ms() - c0, wall = tu_now_ms() - t0;
    W_CHECK(wall >= 400, "the sender waited %" PRId64 " ms only", wall);
    W_CHECK(cpu < wall / 10, "a sender blocked %" PRId64 " ms used %" PRId64
            " ms of CPU", wall, cpu);
    W_RC(mc_camlbox_sender_release(s), 0);
}

/* The poll before sleeping is bounded: a receiver waiting on an empty box,
 * and a sender blocked on a full one, use (almost) no CPU. */
static void drv_idle(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_camlbox *box;
    if (W_RC(mc_camlbox_create(&tmsg_type, 1, 256, NULL, &box), 0))
        return;
    unsigned slots[1];
    size_t n = 0;
    int64_t c0 = cpu_ms(), t0 = tu_now_ms();
    W_RC(mc_camlbox_wait(box, 600, slots, 1, &n), MC_ETIMEDOUT);
    int64_t cpu = cpu_ms() - c0, wall = tu_now_ms() - t0;
    W_CHECK(wall >= 550, "the wait returned after %" PRId64 " ms", wall);
    W_CHECK(cpu < 60, "a receiver idle %" PRId64 " ms used %" PRId64
            " ms of CPU", wall, cpu);
    /* spin 0: never polls.  (A long setting polls only while polling
     * pays and the CPUs are not oversubscribed: test_spin_pays.) */
    mc_camlbox_set_spin(box, 0);
    c0 = cpu_ms();
    W_RC(mc_camlbox_wait(box, 150, slots, 1, &n), MC_ETIMEDOUT);
    cpu = cpu_ms() - c0;
    W_CHECK(cpu < 30, "a wait with no poll used %" PRId64 " ms of CPU",
            cpu);
    mc_camlbox_set_spin(box, 50);
    /* fill the box, then a second sender blocks on it for 600 ms */
    mc_camlbox_sender *s;
    static tbuf b;
    if (W_RC(mc_camlbox_sender_lookup(mc_camlbox_id(box), &tmsg_type, &s),
             0))
        return;
    tmsg_fill(&b, 1, 0, 3);
    W_RC(mc_camlbox_send(s, &b.m), 0);
    mc_res_id id = mc_camlbox_id(box);
    mc_pid pid;
    if (W_RC(tu_start_fn(drv_idle_sender, &id, sizeof id, &pid), 0))
        return;
    tu_sleep_ms(600);
    W_RC(mc_camlbox_wait(box, 0, slots, 1, &n), 0);
    W_RC(mc_camlbox_delete(box, slots[0]), 0);
    W_JOIN_OK(tu_driver_jp, pid, "blocked sender");
    W_RC(mc_camlbox_sender_release(s), 0);
    W_RC(mc_camlbox_destroy(box), 0);
}

static void test_idle_cpu(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_idle, NULL, 0);
    tu_end();
}

/* Deletes that keep their barrier (a kernel without membarrier, or a
 * seccomp filter refusing it; camlbox.c mb_register): blocked senders
 * are woken all the same. */
extern int mc__camlbox_no_membarrier;

static void drv_no_membarrier(const void *arg, size_t len)
{
    mc__camlbox_no_membarrier = 1;
    drv_full(arg, len);
    drv_wake_one(arg, len);
    mc__camlbox_no_membarrier = 0;
}

/* The receiver's deletes go fenced while senders sleep and plain again
 * after a quiet run (camlbox.c mb_register): three rounds of four
 * senders blocked on a full box of one slot, each round followed by 600
 * messages that never fill it.  Every blocked sender's message comes. */
static void drv_fence_cycle(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_camlbox *box;
    if (W_RC(mc_camlbox_create(&tflat_type, 1, 256, NULL, &box), 0))
        return;
    mc_camlbox_sender *s;
    if (W_RC(mc_camlbox_sender_lookup(mc_camlbox_id(box), &tflat_type, &s),
             0))
        return;
    static tbuf b;
    for (int round = 0; round < 3 && !tu_w_failed(); round++) {
        tmsg_fill(&b, 9, round, 2);
        W_RC(mc_camlbox_send(s, &b.m), 0); /* full */
        enum { NB = 4 };
        mc_pid pid[NB];
        for (int i = 0; i < NB; i++) {
            struct sender_arg a = {mc_camlbox_id(box), i, 1, 3, 0, 1};
            W_RC(tu_start_fn(drv_sender, &a, sizeof a, &pid[i]), 0);
        }
        tu_sleep_ms(100); /* asleep on the full box */
        int seen[NB] = {0};
        for (int i = 0; i < NB + 1; i++) {
            tmsg m;
            if (W_RC(w_recv(box, 5000, &m), 0))
                break;
            if (m.sender >= 0 && m.sender < NB)
                seen[m.sender]++;
        }
        for (int i = 0; i < NB; i++) {
            W_CHECK(seen[i] == 1, "round %d: sender %d's message came %d "
                    "times", round, i, seen[i]);
            W_JOIN_OK(tu_driver_jp, pid[i], "sender");
        }
        for (int i = 0; i < 600; i++) {
            tmsg_fill(&b, 9, i, 1);
            W_RC(mc_camlbox_try_send(s, &b.m), 0);
            W_RC(w_recv(box, 1000, NULL), 0);
        }
    }
    W_RC(mc_camlbox_sender_release(s), 0);
    W_RC(mc_camlbox_destroy(box), 0);
}

static void test_fence_cycle(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_fence_cycle, NULL, 0);
    tu_end();
}

static void test_no_membarrier(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_no_membarrier, NULL, 0);
    tu_end();
}

static void test_full(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_full, NULL, 0);
    tu_end();
}

/* ---------------------------------------------- polling that does not pay */

/* Messages come every SP_GAP ms; the receiver polls up
 * to SP_SPIN ms before it sleeps, so no poll ever pays.  The poll must
 * adapt: after a few polls in vain it stops polling (and a poll stops as
 * soon as it had to give its CPU to another task).  Polling each time
 * would cost SP_MSGS * SP_SPIN ms of CPU (400 ms; a third of it at least
 * on a loaded machine); adaptive polling, at most 6 polls (60 ms). */
enum { SP_MSGS = 40, SP_GAP = 25, SP_SPIN = 10 };

struct slow_arg {
    mc_res_id box;
    int count, gap_ms;
};

static void drv_slow_sender(const void *arg, size_t len)
{
    struct slow_arg a;
    W_CHECK(len == sizeof a, "arg");
    memcpy(&a, arg, sizeof a);
    mc_camlbox_sender *s;
    if (W_RC(mc_camlbox_sender_lookup(a.box, &tmsg_type, &s), 0))
        return;
    static tbuf b;
    for (int i = 0; i < a.count; i++) {
        tu_sleep_ms(a.gap_ms);
        tmsg_fill(&b, 4, i, 1);
        W_RC(mc_camlbox_send(s, &b.m), 0);
    }
    W_RC(mc_camlbox_sender_release(s), 0);
}

static void drv_spin_pays(const void *arg, size_t len)
{
    (void)arg; (void)len;
    mc_camlbox *box;
    if (W_RC(mc_camlbox_create(&tmsg_type, 4, 256, NULL, &box), 0))
        return;
    mc_camlbox_set_spin(box, SP_SPIN * 1000);
    struct slow_arg a = {mc_camlbox_id(box), SP_MSGS, SP_GAP};
    mc_pid pid;
    W_RC(tu_start_fn(drv_slow_sender, &a, sizeof a, &pid), 0);
    int64_t c0 = cpu_ms(), t0 = tu_now_ms();
    for (int i = 0; i < SP_MSGS; i++) {
        tmsg m;
        if (W_RC(w_recv(box, 20000, &m), 0))
            break;
        W_CHECK(m.seq == i, "message %d came as %" PRId64, i, m.seq);
    }
    int64_t cpu = cpu_ms() - c0, wall = tu_now_ms() - t0;
    W_JOIN_OK(tu_driver_jp, pid, "sender");
    W_CHECK(cpu < 100, "a receiver whose polls never paid used %" PRId64
            " ms of CPU in %" PRId64 " ms (%d waits, %d ms polls)", cpu,
            wall, SP_MSGS, SP_SPIN);
    W_RC(mc_camlbox_destroy(box), 0);
}

static void test_spin_pays(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_spin_pays, NULL, 0);
    tu_end();
}

/* The adaptive poll's rules (os/spin.h), step by step: k polls in vain
 * skip the next 2^k - 1 waits (at most 63) and make the next poll a
 * probe that keeps its CPU only MC__SPIN_PROBE_NS; a poll that pays
 * resets both; a poll whose checks are further apart than
 * MC__SPIN_LOST_NS lost its CPU. */
static void test_spin_rules(void **state)
{
    (void)state;
    mc__spin_ctl c = {0, 0};
    const uint64_t max = 50000, tight = 20000;
    assert_int_equal(mc__spin_budget(&c, 0), 0);
    assert_int_equal(mc__spin_budget(&c, max), max);
    assert_int_equal(mc__spin_tight(&c, tight), tight);
    for (unsigned k = 1; k <= 8; k++) {
        mc__spin_note(&c, 0);
        unsigned skip = (1u << (k < 6 ? k : 6)) - 1;
        for (unsigned i = 0; i < skip; i++)
            assert_int_equal(mc__spin_budget(&c, max), 0);
        assert_int_equal(mc__spin_budget(&c, max), max);
        assert_int_equal(mc__spin_tight(&c, tight), MC__SPIN_PROBE_NS);
        assert_int_equal(mc__spin_tight(&c, 1000), 1000);
    }
    mc__spin_note(&c, 1);
    assert_int_equal(mc__spin_budget(&c, max), max);
    assert_int_equal(mc__spin_tight(&c, tight), tight);
    assert_false(mc__spin_lost(1000, 1000 + MC__SPIN_LOST_NS));
    assert_true(mc__spin_lost(1000, 1001 + MC__SPIN_LOST_NS));
}

/* ---------------------------------------------------- oversize, types */

static void drv_oversize(const void *arg, size_t len)
{
    (void)arg; (void)len;
    enum { SLOTS = 4, SIZE = 128 };
    mc_camlbox *box;
    if (W_RC(mc_camlbox_create(&tmsg_type, SLOTS, SIZE, NULL, &box), 0))
        return;
    mc_camlbox_sender *s;
    if (W_RC(mc_camlbox_sender_lookup(mc_camlbox_id(box), &tmsg_type, &s),
             0))
        return;
    static tbuf b;
    /* the largest message that fits, and one more element */
    size_t fit = 0;
    tmsg_fill(&b, 0, 0, 0);
    while (tmsg_bytes(fit + 1, b.s) <= SIZE)
        fit++;
    for (int i = 0; i < 100; i++) {
        tmsg_fill(&b, 0, i, fit + 1 + (size_t)i % 50);
        W_RC(mc_camlbox_send(s, &b.m), MC_E2BIG);
        W_RC(mc_camlbox_try_send(s, &b.m), MC_E2BIG);
    }
    mc_camlbox_stats st;
    W_RC(mc_camlbox_stats_get(box, &st), 0);
    W_CHECK(st.free == SLOTS, "oversize messages took %zu slots",
            SLOTS - st.free);
    /* the box fills completely */
    for (int i = 0; i < SLOTS; i++) {
        tmsg_fill(&b, 0, i, fit);
        W_RC(mc_camlbox_try_send(s, &b.m), 0);
    }
    tmsg_fill(&b, 0, 9, 0);
    W_RC(mc_camlbox_try_send(s, &b.m), MC_EAGAIN);
    /* and oversize is still found before "full" */
    tmsg_fill(&b, 0, 9, fit + 1);
    W_RC(mc_camlbox_send(s, &b.m), MC_E2BIG);
    for (int i = 0; i < SLOTS; i++) {
        tmsg got;
        W_RC(w_recv(box, 1000, &got), 0);
        W_CHECK(got.n == fit, "a full-size message");
    }
    W_RC(mc_camlbox_sender_release(s), 0);

    /* the type check */
    W_RC(mc_camlbox_sender_lookup(mc_camlbox_id(box), &other_type, &s),
         MC_ETYPE);
    W_CHECK(strstr(mc_last_error_detail(), "tmsg") != NULL,
            "the detail names the box's type: %s", mc_last_error_detail());
    mc_res_id shm;
    if (!W_RC(mc_shm_create(4096, &shm), 0)) {
        W_RC(mc_camlbox_sender_lookup(shm, &tmsg_type, &s), MC_ETYPE);
        W_RC(mc_release(shm), 0);
    }
    mc_pool *pool;
    if (!W_RC(mc_pool_create(1 << 20, &pool), 0)) {
        W_RC(mc_camlbox_sender_lookup(mc_pool_id(pool), &tmsg_type, &s),
             MC_ETYPE);
        W_RC(mc_pool_release(pool), 0);
    }
    W_RC(mc_camlbox_destroy(box), 0);

    /* mc_copy_size says what a send takes: a message fits exactly when
     * its size is at most the slot's, whatever the string's length */
    if (W_RC(mc_camlbox_create(&rev_type, SLOTS, SIZE, NULL, &box), 0))
        return;
    if (W_RC(mc_camlbox_sender_lookup(mc_camlbox_id(box), &rev_type, &s),
             0))
        return;
    for (int64_t i = 0; i < 200; i++) {
        tmsg_fill(&b, 0, i * 7, (size_t)i % 12);
        size_t sz = 0;
        W_RC(mc_copy_size(&rev_type, &b.m, &sz), 0);
        int rc = mc_camlbox_try_send(s, &b.m);
        W_CHECK(rc == (sz <= SIZE ? 0 : MC_E2BIG),
                "a message of %zu bytes in a slot of %d: %s", sz, SIZE,
                mc_strerror(rc));
        if (rc == 0) {
            unsigned slot;
            size_t n;
            const tmsg *m = NULL;
            W_RC(mc_camlbox_wait(box, 1000, &slot, 1, &n), 0);
            W_RC(mc_camlbox_get(box, slot, (const void **)&m), 0);
            const char *bad = m ? tmsg_bad(m, m, (const char *)m + SIZE)
                                : "none";
            W_CHECK(!bad, "message %" PRId64 ": %s", i, bad ? bad : "");
            W_RC(mc_camlbox_delete(box, slot), 0);
        }
    }
    W_RC(mc_camlbox_sender_release(s), 0);
    W_RC(mc_camlbox_destroy(box), 0);

    /* a type without pointers (one memcpy, no copier) in slots of its
     * exact size: each value arrives whole, in its own slot */
    if (W_RC(mc_camlbox_create(&mc_type_i64, SLOTS, 8, NULL, &box), 0))
        return;
    if (W_RC(mc_camlbox_sender_lookup(mc_camlbox_id(box), &mc_type_i64, &s),
             0))
        return;
    for (int64_t i = 0; i < 3 * SLOTS; i++) {
        int64_t v = i * 0x0101010101010101ll;
        W_RC(mc_camlbox_send(s, &v), 0);
        unsigned slot;
        size_t n;
        const int64_t *p = NULL;
        W_RC(mc_camlbox_wait(box, 1000, &slot, 1, &n), 0);
        W_RC(mc_camlbox_get(box, slot, (const void **)&p), 0);
        W_CHECK(n == 1 && p && *p == v, "i64 message %" PRId64, i);
        W_RC(mc_camlbox_delete(box, slot), 0);
    }
    W_RC(mc_camlbox_sender_release(s), 0);
    W_RC(mc_camlbox_destroy(box), 0);
}

/* Flat types: what the one-pass copy makes is what the generic copier
 * makes (the same places, relative to the message, as the copy function's
 * type; the size mc_copy_size says, at a slot's edge too), for arrays of
 * every length (none: NULL), strings of every length, an optional field
 * off and on. */
static void drv_flat(const void *arg, size_t len)
{
    (void)arg; (void)len;
    enum { SLOTS = 4, SIZE = 160 };
    mc_camlbox *fb, *gb;
    mc_camlbox_sender *fs, *gs;
    if (W_RC(mc_camlbox_create(&tflat_type, SLOTS, SIZE, NULL, &fb), 0) ||
        W_RC(mc_camlbox_create(&tmsg_type, SLOTS, SIZE, NULL, &gb), 0) ||
        W_RC(mc_camlbox_sender_lookup(mc_camlbox_id(fb), &tflat_type, &fs),
             0) ||
        W_RC(mc_camlbox_sender_lookup(mc_camlbox_id(gb), &tmsg_type, &gs),
             0))
        return;
    static tbuf b;
    int fits = 0, big = 0;
    for (int64_t i = 0; i < 400; i++) {
        /* the string's length varies with seq's digits */
        tmsg_fill(&b, i % 7, i * 13 % 100003, (size_t)i % 17);
        size_t sz = 0, gsz = 0;
        W_RC(mc_copy_size(&tflat_type, &b.m, &sz), 0);
        W_RC(mc_copy_size(&tmsg_type, &b.m, &gsz), 0);
        W_CHECK(sz == gsz, "copy sizes %zu and %zu", sz, gsz);
        int rc = mc_camlbox_try_send(fs, &b.m);
        W_CHECK(rc == (sz <= SIZE ? 0 : MC_E2BIG),
                "a flat message of %zu bytes in a slot of %d: %s", sz, SIZE,
                mc_strerror(rc));
        if (rc != 0) {
            big++;
            continue;
        }
        fits++;
        W_RC(mc_camlbox_try_send(gs, &b.m), 0);
        unsigned fk, gk;
        size_t n;
        const tmsg *f = NULL, *g = NULL;
        W_RC(mc_camlbox_wait(fb, 1000, &fk, 1, &n), 0);
        W_RC(mc_camlbox_wait(gb, 1000, &gk, 1, &n), 0);
        W_RC(mc_camlbox_get(fb, fk, (const void **)&f), 0);
        W_RC(mc_camlbox_get(gb, gk, (const void **)&g), 0);
        if (!f || !g)
            return;
        const char *bad = tmsg_bad(f, f, (const char *)f + SIZE);
        W_CHECK(!bad, "flat message %" PRId64 ": %s", i, bad ? bad : "");
        W_CHECK(f->sender == b.m.sender && f->seq == b.m.seq &&
                f->pid == b.m.pid && f->n == b.m.n, "flat scalars");
        W_CHECK((f->v ? (const char *)f->v - (const char *)f : -1) ==
                        (g->v ? (const char *)g->v - (const char *)g : -1) &&
                    f->s - (const char *)f == g->s - (const char *)g,
                "message %" PRId64 ": the flat copy's layout differs", i);
        mc_camlbox_stats st;
        W_RC(mc_camlbox_delete(fb, fk), 0);
        W_RC(mc_camlbox_delete(gb, gk), 0);
        W_RC(mc_camlbox_stats_get(fb, &st), 0);
        W_CHECK(st.free == SLOTS, "every slot free again");
    }
    W_CHECK(fits > 50 && big > 50, "%d fit, %d too big", fits, big);
    W_RC(mc_camlbox_sender_release(fs), 0);
    W_RC(mc_camlbox_sender_release(gs), 0);
    W_RC(mc_camlbox_destroy(fb), 0);
    W_RC(mc_camlbox_destroy(gb), 0);

    /* an optional array, off (its pointer field keeps the source's bytes,
     * as the generic copier leaves it) and on */
    if (W_RC(mc_camlbox_create(&topt_type, SLOTS, 64, NULL, &fb), 0) ||
        W_RC(mc_camlbox_sender_lookup(mc_camlbox_id(fb), &topt_type, &fs),
             0))
        return;
    int32_t v[4] = {7, -8, 9, 10};
    for (int i = 0; i < 12; i++) {
        char name[24];
        snprintf(name, sizeof name, "opt%.*s", i, "xxxxxxxxxxxx");
        topt m = {name, i % 2, (size_t)i % 5, v};
        size_t sz = 0;
        W_RC(mc_copy_size(&topt_type, &m, &sz), 0);
        int rc = mc_camlbox_send(fs, &m);
        W_CHECK(rc == (sz <= 64 ? 0 : MC_E2BIG), "optional %d: %zu bytes: %s",
                i, sz, mc_strerror(rc));
        if (rc)
            continue;
        unsigned k;
        size_t n;
        const topt *o = NULL;
        W_RC(mc_camlbox_wait(fb, 1000, &k, 1, &n), 0);
        W_RC(mc_camlbox_get(fb, k, (const void **)&o), 0);
        if (!o)
            return;
        const char *lo = (const char *)o, *hi = lo + 64;
        W_CHECK(strcmp(o->name, name) == 0 && o->name > lo && o->name < hi,
                "optional %d: the name", i);
        W_CHECK(o->has == m.has && o->n == m.n, "optional %d: scalars", i);
        if (m.has) {
            W_CHECK((const char *)o->v > lo &&
                        (const char *)(o->v + o->n) <= hi &&
                        memcmp(o->v, v, o->n * sizeof *v) == 0,
                    "optional %d: the array", i);
        } else {
            W_CHECK(o->v == v, "optional %d: the absent field's bytes", i);
        }
        W_RC(mc_camlbox_delete(fb, k), 0);
    }
    W_RC(mc_camlbox_sender_release(fs), 0);
    W_RC(mc_camlbox_destroy(fb), 0);
}

static void test_flat(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_flat, NULL, 0);
    tu_end();
}

static void test_oversize_and_types(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_oversize, NULL, 0);
    tu_end();
}

/* --------------------------------------------------------- named boxes */

/* The unrelated program: this binary run again with
 * `--camlbox-sender NAME COUNT`.  It has no session. */
static int named_sender_main(const char *name, int64_t count)
{
    mc_camlbox_sender *s;
    int rc;
    /* the wrong type is refused, by name too */
    if ((rc = mc_camlbox_sender_open(name, &other_type, &s)) != MC_ETYPE) {
        fprintf(stderr, "named sender: wrong type gave %s\n", tu_err(rc));
        return 3;
    }
    if ((rc = mc_camlbox_sender_open(name, &tmsg_type, &s))) {
        fprintf(stderr, "named sender: open: %s\n", tu_err(rc));
        return 4;
    }
    static tbuf b;
    for (int64_t i = 0; i < count; i++) {
        tmsg_fill(&b, 5, i, (size_t)i % 8);
        if ((rc = mc_camlbox_send(s, &b.m))) {
            fprintf(stderr, "named sender: send: %s\n", tu_err(rc));
            return 5;
        }
    }
    return mc_camlbox_sender_release(s) ? 6 : 0;
}

static void drv_named(const void *arg, size_t len)
{
    (void)arg; (void)len;
    char name[64];
    snprintf(name, sizeof name, "/mcore-test-cb.%d", (int)getpid());
    mc_camlbox *box;
    if (W_RC(mc_camlbox_create(&tmsg_type, 4, 256, name, &box), 0))
        return;
    W_CHECK(strcmp(mc_camlbox_name(box), name) == 0, "name");
    W_CHECK(tu_shm_exists(name), "%s exists", name);
    mc_camlbox *b2;
    W_RC(mc_camlbox_create(&tmsg_type, 4, 256, name, &b2), MC_EEXIST);
    /* an unrelated program: fork + exec, no session, no inherited map */
    enum { COUNT = 1000 };
    char count[32];
    snprintf(count, sizeof count, "%d", COUNT);
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        execl("/proc/self/exe", "test_camlbox", "--camlbox-sender", name,
              count, (char *)NULL);
        _exit(127);
    }
    W_CHECK(child > 0, "fork");
    int64_t got = 0, next = 0;
    while (child > 0 && got < COUNT) {
        tmsg m;
        if (W_RC(w_recv(box, 10000, &m), 0))
            break;
        W_CHECK(m.sender == 5 && m.pid == child, "from the child");
        next += m.seq == next;
        got++;
    }
    W_CHECK(got == COUNT, "%" PRId64 " of %d messages", got, COUNT);
    int status = 0;
    if (child > 0)
        waitpid(child, &status, 0);
    W_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "the named sender ended with status %#x", status);
    /* the box's id finds the named box too */
    mc_camlbox_sender *s;
    if (!W_RC(mc_camlbox_sender_lookup(mc_camlbox_id(box), &tmsg_type, &s),
              0)) {
        static tbuf b;
        tmsg_fill(&b, 2, 0, 1);
        W_RC(mc_camlbox_send(s, &b.m), 0);
        W_RC(w_recv(box, 1000, NULL), 0);
        W_RC(mc_camlbox_sender_release(s), 0);
    }
    W_RC(mc_camlbox_sender_open("/mcore-test-cb.none", &tmsg_type, &s),
         MC_ENOENT);
    W_RC(mc_camlbox_destroy(box), 0);
    W_CHECK(!tu_shm_exists(name), "%s is gone after destroy", name);
}

static void test_named(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_named, NULL, 0);
    tu_end();
}

/* -------------------------------------------- planted, forged headers */

/* The first fields of a box's header, as camlbox.c lays
 * them out (the rest is copied from a genuine box). */
typedef struct fake_hdr {
    uint64_t magic;
    uint32_t version, nslots;
    uint64_t type_id, slot_size, stride, slots_off, total;
    uint32_t recv_pid, closed;
} fake_hdr;

/* Make shm object `name` of `size` bytes holding img, with f's fields
 * over the header, mode `mode`, owner uid (or -1: ours); then open it as
 * a sender and return the code. */
static int plant_and_open(const char *name, const void *img, size_t size,
                          const fake_hdr *f, mode_t mode, int uid)
{
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    W_CHECK(fd >= 0, "shm_open %s: %s", name, strerror(errno));
    if (fd < 0)
        return 1;
    char *m = NULL;
    if (ftruncate(fd, (off_t)size) == 0)
        m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    W_CHECK(m && m != MAP_FAILED, "map the planted object");
    if (m && m != MAP_FAILED) {
        memcpy(m, img, size);
        memcpy(m, f, sizeof *f);
        munmap(m, size);
    }
    W_CHECK(fchmod(fd, mode) == 0, "fchmod");
    if (uid >= 0)
        W_CHECK(fchown(fd, (uid_t)uid, (gid_t)-1) == 0, "fchown");
    close(fd);
    mc_camlbox_sender *s;
    int rc = mc_camlbox_sender_open(name, &tmsg_type, &s);
    if (rc == 0) {
        /* a sender of a forged box: what used to crash */
        static tbuf b;
        tmsg_fill(&b, 0, 0, 2);
        mc_camlbox_try_send(s, &b.m);
        mc_camlbox_stats st;
        mc_camlbox_sender_stats(s, &st);
        mc_camlbox_sender_release(s);
    }
    shm_unlink(name);
    return rc;
}

static void drv_forged(const void *arg, size_t len)
{
    (void)arg; (void)len;
    enum { SLOTS = 4, SIZE = 256 };
    char name[64], fake[64];
    snprintf(name, sizeof name, "/mcore-test-cbg.%d", (int)getpid());
    snprintf(fake, sizeof fake, "/mcore-test-cbf.%d", (int)getpid());
    mc_camlbox *box;
    if (W_RC(mc_camlbox_create(&tmsg_type, SLOTS, SIZE, name, &box), 0))
        return;
    int fd = shm_open(name, O_RDWR, 0);
    struct stat st;
    char *gen = MAP_FAILED;
    if (fd >= 0 && fstat(fd, &st) == 0)
        gen = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
                   MAP_SHARED, fd, 0);
    if (fd >= 0)
        close(fd);
    W_CHECK(gen != MAP_FAILED, "map the genuine box");
    if (gen == MAP_FAILED)
        return;
    size_t size = (size_t)st.st_size;
    char *img = malloc(size);
    memcpy(img, gen, size);
    fake_hdr h0, f;
    memcpy(&h0, gen, sizeof h0);

    /* the genuine image opens */
    W_RC(plant_and_open(fake, img, size, &h0, 0600, -1), 0);
    /* nslots * stride wraps to 0 */
    f = h0;
    f.nslots = 16;
    f.stride = (uint64_t)1 << 60;
    W_RC(plant_and_open(fake, img, size, &f, 0600, -1), MC_ETYPE);
    /* 16 + slot_size wraps */
    f = h0;
    f.slot_size = UINT64_MAX - 7;
    W_RC(plant_and_open(fake, img, size, &f, 0600, -1), MC_ETYPE);
    /* slots past the object; slots over the header */
    f = h0;
    f.nslots = UINT32_MAX;
    W_RC(plant_and_open(fake, img, size, &f, 0600, -1), MC_ETYPE);
    f = h0;
    f.slots_off = 0;
    W_RC(plant_and_open(fake, img, size, &f, 0600, -1), MC_ETYPE);
    f = h0;
    f.total = (uint64_t)size * 2;
    W_RC(plant_and_open(fake, img, size, &f, 0600, -1), MC_ETYPE);
    /* others may write the object: refused */
    W_RC(plant_and_open(fake, img, size, &h0, 0666, -1), MC_EINVAL);
    W_RC(plant_and_open(fake, img, size, &h0, 0620, -1), MC_EINVAL);
    /* another user's object (root can make one): refused */
    if (geteuid() == 0)
        W_RC(plant_and_open(fake, img, size, &h0, 0600, 65534), MC_EINVAL);

    /* a sender rewrites the header of a box in use: neither end reads the
     * geometry again */
    mc_camlbox_sender *s;
    if (!W_RC(mc_camlbox_sender_open(name, &tmsg_type, &s), 0)) {
        f = h0;
        f.nslots = 1u << 20;
        f.stride = (uint64_t)1 << 40;
        f.slots_off = (uint64_t)1 << 41;
        f.slot_size = (uint64_t)1 << 39;
        f.total = UINT64_MAX;
        memcpy(gen, &f, sizeof f);
        mc_camlbox_stats cs;
        W_RC(mc_camlbox_stats_get(box, &cs), 0);
        W_CHECK(cs.capacity == SLOTS && cs.slot_size == SIZE &&
                cs.free == SLOTS, "receiver's stats: %zu slots of %zu",
                cs.capacity, cs.slot_size);
        W_RC(mc_camlbox_sender_stats(s, &cs), 0);
        W_CHECK(cs.capacity == SLOTS && cs.free == SLOTS,
                "sender's stats: %zu slots", cs.capacity);
        static tbuf b;
        for (int i = 0; i < SLOTS; i++) {
            tmsg_fill(&b, 3, i, 2);
            W_RC(mc_camlbox_try_send(s, &b.m), 0);
        }
        W_RC(mc_camlbox_try_send(s, &b.m), MC_EAGAIN);
        size_t got = 99;
        W_RC(mc_camlbox_reclaim(box, &got), 0);
        W_CHECK(got == 0, "reclaimed %zu", got);
        for (int i = 0; i < SLOTS; i++) {
            tmsg m;
            W_RC(w_recv(box, 1000, &m), 0);
            W_CHECK(m.seq == i, "message %d came as %" PRId64, i, m.seq);
        }
        W_RC(mc_camlbox_sender_release(s), 0);
        memcpy(gen, &h0, sizeof h0);
    }
    munmap(gen, size);
    free(img);
    W_RC(mc_camlbox_destroy(box), 0);
}

static void test_forged(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_forged, NULL, 0);
    tu_end();
}

/* ------------------------------------------------------ kill -9 senders */

enum { KILLS = 200, KSLOTS = 8, KSIZE = 2048 };

/* Receive until every sender of this round (senders base..base+np-1;
 * messages of killed senders of earlier rounds may still be in the box)
 * has shown its pid, then for a random while; return the number of
 * messages received. */
static int64_t drain_for(mc_camlbox *box, int us, int64_t base,
                         int64_t *pids, int np)
{
    int64_t got = 0, t_end = 0;
    unsigned slots[KSLOTS];
    int known = 0;
    for (;;) {
        size_t n;
        int rc = mc_camlbox_wait(box, 30000, slots, KSLOTS, &n);
        if (rc == MC_ETIMEDOUT) {
            mc_camlbox_stats st;
            mc_camlbox_stats_get(box, &st);
            W_CHECK(0, "no message for 30 s (%zu free, %zu writing, %zu "
                    "ready, %zu reading)", st.free, st.writing, st.ready,
                    st.reading);
            return got;
        }
        if (W_RC(rc, 0))
            return got;
        for (size_t i = 0; i < n; i++) {
            const tmsg *m;
            if (W_RC(mc_camlbox_get(box, slots[i], (const void **)&m), 0))
                continue;
            const char *bad = tmsg_bad(m, m, (const char *)m + KSIZE);
            W_CHECK(!bad, "message in slot %u: %s", slots[i], bad);
            int64_t who = m->sender - base;
            if (!bad && who >= 0 && who < np && !pids[who]) {
                pids[who] = m->pid;
                known++;
            }
            W_RC(mc_camlbox_delete(box, slots[i]), 0);
            got++;
        }
        if (known == np && !t_end)
            t_end = tu_now_ms() * 1000 + us;
        if (t_end && tu_now_ms() * 1000 >= t_end)
            return got;
        if (tu_w_failed())
            return got;
    }
}

static void drv_kill(const void *arg, size_t len)
{
    int flat = 0; /* tflat: killed while copying into the slot itself */
    if (len == sizeof flat)
        memcpy(&flat, arg, sizeof flat);
    mc_camlbox *box;
    if (W_RC(mc_camlbox_create(flat ? &tflat_type : &tmsg_type, KSLOTS,
                               KSIZE, NULL, &box), 0))
        return;
    uint64_t x = 0x2545f4914f6cdd1dull ^ (uint64_t)getpid();
    size_t reclaimed = 0;
    int64_t total = 0;
    for (int k = 0; k < KILLS && !tu_w_failed(); k++) {
        enum { NP = 2 };
        mc_pid pid[NP];
        int64_t ospid[NP] = {0};
        for (int i = 0; i < NP; i++) {
            struct sender_arg a = {mc_camlbox_id(box), k * NP + i, -1, -200,
                                   (int)(rnd(&x) & 1), flat};
            W_RC(tu_start_fn(drv_sender, &a, sizeof a, &pid[i]), 0);
        }
        /* some rounds drain the box (the senders copy), others leave it
         * full (the senders sleep) when the kill comes */
        int mode = (int)(rnd(&x) % 3);
        total += drain_for(box, (int)(rnd(&x) % 2000), (int64_t)k * NP,
                           ospid, NP);
        if (mode == 0)
            tu_sleep_ms(1);
        for (int i = 0; i < NP; i++)
            if (ospid[i] > 0)
                kill((pid_t)ospid[i], SIGKILL);
        if (tu_w_failed()) {
            /* a sender whose pid never showed is still running: closing
             * the box makes it return, so that the join below ends */
            W_RC(mc_camlbox_destroy(box), 0);
            box = NULL;
        }
        for (int i = 0; i < NP; i++) {
            mc_join_result r;
            if (W_RC(mc_join(tu_driver_jp, pid[i], &r), 0))
                continue;
            W_CHECK(!box || (r.kind == MC_EXIT_SIGNAL && r.code == SIGKILL),
                    "sender ended: %s", tu_kind_str(&r));
            mc_join_result_free(&r);
        }
        if (!box)
            return;
        size_t n = 0;
        W_RC(mc_camlbox_reclaim(box, &n), 0);
        reclaimed += n;
    }
    /* what is left: complete messages only */
    unsigned slots[KSLOTS];
    size_t n;
    while (mc_camlbox_wait(box, 0, slots, KSLOTS, &n) == 0)
        for (size_t i = 0; i < n; i++) {
            const tmsg *m;
            if (!W_RC(mc_camlbox_get(box, slots[i], (const void **)&m), 0)) {
                const char *bad = tmsg_bad(m, m, (const char *)m + KSIZE);
                W_CHECK(!bad, "left in slot %u: %s", slots[i], bad);
            }
            W_RC(mc_camlbox_delete(box, slots[i]), 0);
        }
    mc_camlbox_stats st;
    W_RC(mc_camlbox_stats_get(box, &st), 0);
    W_CHECK(st.free == KSLOTS, "after %d kills: %zu free, %zu writing, "
            "%zu ready, %zu reading", KILLS, st.free, st.writing, st.ready,
            st.reading);
    /* and it still works, at full capacity */
    mc_camlbox_sender *s;
    if (!W_RC(mc_camlbox_sender_lookup(mc_camlbox_id(box),
                                       flat ? &tflat_type : &tmsg_type, &s),
              0)) {
        static tbuf b;
        for (int i = 0; i < KSLOTS; i++) {
            tmsg_fill(&b, 0, i, 3);
            W_RC(mc_camlbox_try_send(s, &b.m), 0);
        }
        W_RC(mc_camlbox_try_send(s, &b.m), MC_EAGAIN);
        for (int i = 0; i < KSLOTS; i++)
            W_RC(w_recv(box, 1000, NULL), 0);
        W_RC(mc_camlbox_sender_release(s), 0);
    }
    printf("kill test: %d kills, %" PRId64 " messages, %zu slots of killed "
           "writers given back (%zu by an explicit reclaim)\n", KILLS,
           total, st.reclaimed, reclaimed);
    fflush(stdout);
    W_RC(mc_camlbox_destroy(box), 0);
}

static void test_kill(void **state)
{
    (void)state;
    tu_begin();
    tu_drive(NULL, drv_kill, NULL, 0);
    int flat = 1;
    tu_drive(NULL, drv_kill, &flat, sizeof flat);
    tu_end();
}

static int group_setup(void **state)
{
    (void)state;
    tu_def_driver();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--camlbox-sender") == 0)
        return named_sender_main(argv[2], strtoll(argv[3], NULL, 10));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_wake_one),
        cmocka_unit_test(test_no_membarrier),
        cmocka_unit_test(test_fence_cycle),
        cmocka_unit_test(test_idle_cpu),
        cmocka_unit_test(test_spin_pays),
        cmocka_unit_test(test_spin_rules),
        cmocka_unit_test(test_oversize_and_types),
        cmocka_unit_test(test_flat),
        cmocka_unit_test(test_named),
        cmocka_unit_test(test_forged),
        cmocka_unit_test(test_kill),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
