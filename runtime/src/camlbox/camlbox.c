/* camlbox.c: camlboxes (mcore/camlbox.h).
 *
 * Layout of a box (one memfd, or one named shm object):
 *
 *   header   line 0: read-only after creation (geometry, type id, the
 *                    receiver's address of the box), plus `closed`
 *            line 1: tw, written by every send: the ticket counter and the
 *                    receiver's sleep flag in one word (ticket << 1 |
 *                    TW_SLEEP); the receiver sleeps on its low half
 *            line 2: notices the receiver's polls read (wake request,
 *                    senders lost), written rarely
 *            line 3: the futex of senders blocked on a full box (tx_seq)
 *                    and how many are in its sleep path (tx_sleepers)
 *   slots    nslots x stride bytes, 64-aligned; each starts with its state
 *            word, the message length and its ticket (order, see scan), and
 *            the message follows at +16.
 *            A small message shares the cache line of its state word, so
 *            passing it moves one line between the cores.
 *
 * Slot states (one 64-bit word: state | pid << 8 | generation << 40):
 *
 *   FREE --sender CAS--> WRITING(pid) --sender--> READY --wait--> READING
 *     ^                     |                                       |
 *     +-- reclaim (pid dead)+                     delete -----------+
 *
 * Only senders leave FREE (a CAS, so two senders never share a slot), only
 * the owning sender leaves WRITING (or a reclaimer, by CAS, once that
 * sender is dead), and only the receiver touches READY and READING.  The
 * generation makes a reclaimer's CAS fail if the slot was freed and taken
 * again meanwhile.
 *
 * Waking the receiver: it sets TW_SLEEP in tw (a read-modify-write), then
 * looks at the slots; a sender takes its ticket with a fetch_add on tw,
 * which also tells it whether the flag was set before.  Read-modify-
 * writes of one word are totally ordered, so either the sender's comes
 * first (the receiver's look then counts its ticket: found READY, or
 * still being published -- short naps, mc_camlbox_wait), or it sees the
 * flag and wakes the receiver after publishing.  The first sender (or
 * waker) to see the flag clears it (fetch_and) and makes the futex_wake,
 * so a receiver slow to wake up costs one system call, not one per
 * message sent meanwhile; any change of tw also makes a futex_wait that
 * has not begun return at once.  Waking senders: a delete stores FREE
 * then reads tx_sleepers; a sender counts itself in tx_sleepers, then
 * rescans.  The full barrier each side needs between the two is, on the
 * receiver's side, made by the sleeper (a membarrier call) while senders
 * rarely sleep, and by the deletes while they keep sleeping (see
 * mb_register).  A freed slot wakes one sleeping sender (a
 * delete frees one slot, and the slot is taken by one sender, whoever it
 * is); only destroy wakes them all.  Each sleep has a timeout (100 ms) as
 * well, so a process killed between its store and its wake-up delays the
 * other side, never blocks it.  A sender killed asleep leaves tx_sleepers
 * one too high: deletes then make a futex_wake call that wakes nobody
 * (about a microsecond), no worse.
 *
 * What a message costs.  Atomic read-modify-writes, each needed: the
 * sender's CAS that claims a slot (any free slot, several senders) and its
 * fetch_add on tw (the ticket orders one sender's messages across slots,
 * see scan; its old value says whether the receiver sleeps, so READY is a
 * release store).  The receiver's stores are plain (its FREE store had
 * been seq_cst, for tx_sleepers: an xchg that waited for each slot's line
 * in turn, see mb_register).  Cache lines that move between sender and
 * receiver: the slot's line (prefetched for writing two sends earlier,
 * see publish: the receiver freed it; the receiver reads it
 * when it polls the slot at scan_pos and takes the message),
 * and tw's line only when the receiver looks past scan_pos (every few
 * polls, or before it sleeps: a receiver that keeps up with one sender
 * reads no ticket, scan).  A sender that finds the box full looks at the
 * few slots from its hint, where the receiver frees next, not at all of
 * them (take_blocking).
 *
 * A message is first deep-copied into the sender's private scratch buffer
 * of slot_size bytes, with pointers relocated to where the receiver will
 * see them, and then moved into the slot with one memcpy.  A type without
 * pointers is copied straight into the slot; a flat type (strings and
 * arrays of plain elements, what mcidl makes of most messages) in one
 * pass (copy_flat_to, its pointer table read once at attach), both inline
 * when the slot at the sender's hint is free (send); other types go
 * through the copier, which carves the buffer inline and relocates by
 * adding a constant (MC__BUMP_SLOT, mem/copy.h).  So a message too big
 * for a slot fails before a slot is taken or a byte of the box is written
 * (Netcamlbox wrote past its slot), and a failed copy takes no slot
 * (Netcamlbox leaked one).  The copy is made for the slot the sender
 * expects to take; if another sender takes that slot first, the copy is
 * made again.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <signal.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "mcore/camlbox.h"
#include "mcore/resource.h"
#include "mem/bytes.h"
#include "mem/copy.h"
#include "mem/ptr_table.h"
#include "mem/sysmem.h"
#include "os/futex.h"
#include "os/shm.h"
#include "os/spin.h"
#include "proc/alive.h"
#include "proc/stat.h"
#include "proc/state.h"

#define CB_MAGIC 0x31786f626c6d6163ull /* "camlbox1", little-endian */
#define CB_VERSION 4u
#define CB_LINE 64
#define CB_SLOT_HDR 16             /* state word + length */
#define CB_MAX_SLOTS (1u << 20)
#define CB_MAX_SLOT_SIZE ((size_t)1 << 30)
#define CB_SPIN_US_DEFAULT 50
#define CB_SLEEP_NS (100u * 1000 * 1000) /* longest sleep between checks */
#define CB_TIGHT_NS (20u * 1000)   /* polling with `pause` before yielding */
#define CB_SHORT_NS (2u * 1000)    /* the same when the other side seems
                                      to share our CPU (tight_next) */
#define CB_POLL_LOOK 4             /* polls per look at the ticket word (or,
                                      for a sender, at the whole box) */
#define CB_SPAN 8                  /* slots from its hint a sender tries
                                      before it treats the box as full */
#define CB_QUIET 256               /* fenced deletes with no sender asleep
                                      before plain ones (delete_slow) */
#define CB_NAP_NS (20u * 1000)     /* first nap while a ticket is taken and
                                      its message not yet published */

enum { ST_FREE = 0, ST_WRITING = 1, ST_READY = 2, ST_READING = 3 };

static inline uint64_t st_make(unsigned st, uint32_t pid, uint64_t gen)
{
    return (uint64_t)st | (uint64_t)pid << 8 | (gen & 0xffffffu) << 40;
}
static inline unsigned st_state(uint64_t w) { return (unsigned)(w & 0xff); }
static inline uint32_t st_pid(uint64_t w) { return (uint32_t)(w >> 8); }
static inline uint64_t st_gen(uint64_t w) { return w >> 40; }

typedef struct cb_hdr {
    /* line 0: set at creation (magic last), read-only afterwards */
    uint64_t magic;
    uint32_t version;
    uint32_t nslots;
    uint64_t type_id;
    uint64_t slot_size;   /* maximum message bytes */
    uint64_t stride;      /* bytes from one slot to the next */
    uint64_t slots_off;   /* offset of slot 0 */
    uint64_t total;       /* bytes of the object */
    uint32_t recv_pid;
    uint32_t closed;      /* set once by mc_camlbox_destroy */
    /* line 1: written by every send: the next ticket and the receiver's
     * sleep flag in one word, ticket << 1 | TW_SLEEP (see scan and
     * mc_camlbox_wait); the receiver sleeps on its low 32 bits */
    alignas(CB_LINE) uint64_t tw;
    /* line 2: notices, read by the receiver's polls, written rarely */
    alignas(CB_LINE) uint32_t wake_req; /* mc_camlbox_wake */
    uint32_t lost;        /* senders that died holding the box (bumped by
                             the session server, mc__camlbox_lost) */
    /* line 3: senders blocked on a full box */
    alignas(CB_LINE) uint32_t tx_seq; /* futex word */
    uint32_t tx_sleepers; /* senders in the sleep path */
    uint32_t recv_mb;     /* the receiver may free slots by plain
                             stores: a sender about to sleep makes sure
                             they are fenced first (see mb_register); set
                             at creation */
    uint32_t fenced;      /* FENCE_*: the receiver's deletes are fenced
                             (senders have been sleeping) */
    /* line 4: for messages */
    alignas(CB_LINE) char type_name[CB_LINE];
    uint64_t recv_base;   /* the receiver's address of the box */
    uint64_t reclaimed;   /* slots of dead writers given back, ever */
} cb_hdr;

#define TW_SLEEP 1u /* tw: the receiver may sleep (set by it, cleared by the
                       first sender or waker that sees it) */

/* The 32-bit futex word inside tw: its low half, which every ticket taken
 * and every change of the flag changes. */
static inline uint32_t *tw_futex(cb_hdr *h)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (uint32_t *)(void *)&h->tw + 1;
#else
    return (uint32_t *)(void *)&h->tw;
#endif
}

/* The receiver may be asleep (the flag was seen set): the first to clear
 * the flag wakes it; the flag's change alone makes a futex_wait that has
 * not begun return at once. */
static void wake_receiver(cb_hdr *h)
{
    if (__atomic_fetch_and(&h->tw, ~(uint64_t)TW_SLEEP, __ATOMIC_SEQ_CST) &
        TW_SLEEP)
        mc__futex_wake(tw_futex(h), 1);
}

typedef struct cb_slot {
    uint64_t state;
    uint32_t len;         /* bytes of the message (for the record) */
    uint32_t ticket;      /* taken just before the slot became READY */
} cb_slot;

_Static_assert(sizeof(cb_slot) == CB_SLOT_HDR, "message at +16");

/* A box's geometry, checked once and kept in private memory: the header
 * in shared memory may be rewritten by any sender, so no end reads it
 * again after creation or attach. */
typedef struct cb_geom {
    uint32_t n;           /* slots */
    size_t stride, slots_off, slot_size;
    uint32_t recv_pid;
} cb_geom;

struct mc_camlbox {
    cb_hdr *h;
    char *base;
    size_t size;
    mc_res_id id;
    const mc_type *t;
    cb_geom g;
    uint32_t scan_pos;    /* where the next scan starts */
    uint32_t alt_pos;     /* where the last scan's messages began (scan) */
    mc__spin_ctl sc;      /* does polling pay (os/spin.h) */
    uint32_t next_t;      /* every ticket below it was reported (or lost) */
    struct tk { uint32_t ticket, slot; } *found; /* n entries, for scan */
    uint64_t spin_ns;
    int notify_lost;      /* report senders' deaths (MC_EDEAD) */
    uint32_t lost_seen;   /* h->lost when last reported */
    uint32_t ff_pid;      /* delete stores FREE without a barrier when
                             run by this process, registered by
                             mb_register (UINT32_MAX: never, as
                             cached_pid, 0 in a fork's child, is no
                             pid) */
    uint32_t quiet;       /* fenced deletes in a row that found no
                             sender asleep (delete_slow) */
    uint64_t tight_ns;    /* a poll's tight phase (tight_next) */
    char name[MC_RES_NAME_MAX];
};

/* A pointer of a flat type, as copy_flat_to reads it: taken once from the
 * type's table at attach, so a send chases no pointer to find it. */
typedef struct flat_f {
    size_t esize;         /* an array's element size */
    uint32_t off;         /* the pointer, in the record */
    uint32_t len_off;     /* an array's count */
    uint16_t amask;       /* where it is placed: alignment - 1 (7 or 15) */
    uint8_t str;          /* a string (else an array) */
    const mc_ptr_field *when; /* NULL: always holds a value (else test
                                 with mc__pf_live) */
} flat_f;

struct mc_camlbox_sender {
    cb_hdr *h;
    char *base;           /* this process's mapping */
    size_t size;
    mc_res_id id;         /* 0 when opened by name */
    const mc_type *t;
    cb_geom g;
    uint64_t recv_base;
    uint32_t hint;        /* where the search for a free slot starts */
    uint64_t spin_ns;
    mc__spin_ctl sc;      /* does polling pay (os/spin.h) */
    int flat;             /* the type is flat (copy_flat_to) */
    int recv_mb;          /* the receiver frees without a barrier: the
                             sleep path makes the membarrier call */
    flat_f *plan;         /* a flat type's pointers (copy_flat_to) */
    size_t nplan;
    int strs;             /* the plan holds strings */
    int direct;           /* flat or pointer-free: send's inline path */
    uint64_t tight_ns;    /* a poll's tight phase (tight_next) */
    uintptr_t delta0;     /* slot 0's message as the receiver sees it,
                             minus scratch (copy_flat) */
    char *scratch;        /* slot_size bytes: the message before the slot */
};

/* ---------------------------------------------------------- utilities */

static inline cb_slot *slot_at(char *base, size_t off, size_t stride,
                               uint32_t k)
{
    return (cb_slot *)(base + off + (size_t)k * stride);
}

/* One poll's pause: `pause` for the first `tight` ns (CB_TIGHT_NS: a
 * reply within a microsecond or two is the case worth catching; less in a
 * probe, mc__spin_tight), then sched_yield (the process we wait for may
 * need this CPU). */
static inline int poll_pause(uint64_t start, uint64_t now, uint64_t tight)
{
    if (now - start < tight) {
        for (int i = 0; i < 16; i++)
            mc__cpu_relax();
        return 0;
    }
    sched_yield();
    return 1; /* it yielded */
}

/* The next poll's tight phase, after one that got what it waited for:
 * right after giving its CPU away (it yielded, and the CPU went to
 * another task meanwhile), the other side probably shares this CPU, and
 * could not run while we spun: spin CB_SHORT_NS only (a receiver and its
 * sender on one CPU spun 20 us for nothing at each turn, 4 times the
 * ring's time per message).  Got while spinning: the other side runs
 * elsewhere, spin CB_TIGHT_NS again.  Otherwise unchanged. */
static inline uint64_t tight_next(uint64_t cur, int yielded, int lost)
{
    if (!yielded)
        return CB_TIGHT_NS;
    return lost ? CB_SHORT_NS : cur;
}

/* getpid() is a system call: cached, and forgotten in a fork's child. */
static uint32_t cached_pid;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void forget_pid(void)
{
    __atomic_store_n(&cached_pid, 0, __ATOMIC_RELAXED);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, forget_pid);
}

static uint32_t my_pid(void)
{
    uint32_t p = __atomic_load_n(&cached_pid, __ATOMIC_RELAXED);
    if (MC_UNLIKELY(!p)) {
        pthread_once(&atfork_once, register_atfork);
        p = (uint32_t)getpid();
        __atomic_store_n(&cached_pid, p, __ATOMIC_RELAXED);
    }
    return p;
}

/* Holds are per process: the master counts one hold per process and
 * resource, however many times the process looked it up.  So the handles of
 * one process on one box (its receiver end and its senders) share a count
 * here, and the last one to go ends the hold.  Entries carry the pid that
 * made them: a fork's child starts with none. */
typedef struct hold_ref {
    mc_res_id id;
    uint32_t pid;
    unsigned count;
} hold_ref;

static pthread_mutex_t holds_lock = PTHREAD_MUTEX_INITIALIZER;
static hold_ref *holds;
static size_t n_holds, cap_holds;

/* One more handle on id in this process.  0 or MC_ENOMEM. */
static int hold_add(mc_res_id id)
{
    uint32_t me = my_pid();
    int rc = 0;
    pthread_mutex_lock(&holds_lock);
    hold_ref *free_e = NULL;
    size_t i;
    for (i = 0; i < n_holds; i++) {
        if (holds[i].pid == me && holds[i].id == id)
            break;
        if (!free_e && (holds[i].pid != me || holds[i].count == 0))
            free_e = &holds[i];
    }
    if (i < n_holds) {
        holds[i].count++;
    } else if (free_e) {
        *free_e = (hold_ref){id, me, 1};
    } else {
        if (n_holds == cap_holds) {
            size_t cap = cap_holds ? cap_holds * 2 : 8;
            hold_ref *h = realloc(holds, cap * sizeof *h);
            if (!h) {
                rc = mc__err(MC_ENOMEM, "camlbox: out of memory");
                goto out;
            }
            holds = h;
            cap_holds = cap;
        }
        holds[n_holds++] = (hold_ref){id, me, 1};
    }
out:
    pthread_mutex_unlock(&holds_lock);
    return rc;
}

/* One handle on id less; releases the process's hold with the last. */
static int hold_drop(mc_res_id id)
{
    uint32_t me = my_pid();
    int last = 1;
    pthread_mutex_lock(&holds_lock);
    for (size_t i = 0; i < n_holds; i++)
        if (holds[i].pid == me && holds[i].id == id && holds[i].count) {
            last = --holds[i].count == 0;
            break;
        }
    pthread_mutex_unlock(&holds_lock);
    return last ? mc_release(id) : 0;
}

/* Has process pid ended?  A killed child that its parent has not reaped
 * yet is a zombie: kill() still finds it, /proc says 'Z'. */
static int pid_dead(uint32_t pid)
{
    if (pid == 0)
        return 1;
    if (pid == my_pid())
        return 0;
    if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
        return 1;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%u/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT;
    ssize_t r = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (r <= 0)
        return 0;
    buf[r] = '\0';
    const char *p = strrchr(buf, ')'); /* the name may hold spaces */
    return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

/* Deletes without a barrier.  A delete stores FREE, then
 * reads tx_sleepers; a sender about to sleep counts itself in
 * tx_sleepers, then looks for a free slot.  Each side's store must be
 * seen by the other's load (else the sender sleeps on a free slot with
 * nobody to wake it), which takes a full barrier between them on both
 * sides: on x86, an xchg per delete, which waits for the store buffer to
 * drain, so a receiver taking many messages stalled on each slot's line
 * in turn (the box full, the sender polling them).  So the barrier is
 * the sleeper's alone: after counting itself it makes the
 * membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) call, which runs a full
 * barrier on every CPU running a thread of a registered process (the
 * receivers, mb_register) before it returns.  A delete whose load of
 * tx_sleepers came before that barrier had its FREE store ordered before
 * it, so the sender's look after the call sees the slot free; one whose
 * load came after sees the sender counted (a context switch is a barrier
 * too).  Linux 4.16; without it (or a seccomp filter refusing it), or
 * when mc__camlbox_no_membarrier is set (tests), deletes keep their
 * seq_cst store.
 *
 * While senders keep going to sleep (a crowd on a full box), a call per
 * sleep would interrupt the receiver's CPU each time, so the deletes are
 * fenced instead, as without membarrier, for as long as senders sleep:
 * h->fenced, which a delete reads with tx_sleepers (one line), is
 *   FENCE_OFF  plain deletes;
 *   FENCE_ON   a sender switched it on and is making the call: a sender
 *              that sees it makes the call too (a delete that read OFF
 *              may not be covered by a call that has not returned);
 *   FENCE_SET  a call made since it left OFF has returned: every delete
 *              that read OFF stored FREE before that call's barrier, and
 *              every later one fences (mc_camlbox_delete), so a sender
 *              that sees SET needs no call (Dekker's two fences).
 * The receiver switches SET back to OFF (a seq_cst read-modify-write)
 * after CB_QUIET fenced deletes in a row found nobody asleep: a sender
 * that saw SET counted itself before, so every delete after the switch
 * sees it counted, and every delete before it fenced. */
enum { FENCE_OFF, FENCE_ON, FENCE_SET };
int mc__camlbox_no_membarrier;
static uint32_t mb_pid; /* this process is registered (0: not yet) */

static int mb_call(int cmd)
{
#ifdef __NR_membarrier
    return (int)syscall(__NR_membarrier, cmd, 0, 0);
#else
    (void)cmd;
    errno = ENOSYS;
    return -1;
#endif
}

/* Register this process as a receiver that frees without a barrier: 1 if
 * the senders' membarrier calls will reach it. */
static int mb_register(void)
{
    uint32_t me = my_pid();
    if (mc__camlbox_no_membarrier)
        return 0;
    if (__atomic_load_n(&mb_pid, __ATOMIC_ACQUIRE) == me)
        return 1;
    int q = mb_call(MEMBARRIER_CMD_QUERY);
    if (q < 0 || !(q & MEMBARRIER_CMD_GLOBAL_EXPEDITED) ||
        mb_call(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) != 0)
        return 0;
    __atomic_store_n(&mb_pid, me, __ATOMIC_RELEASE);
    return 1;
}

/* Wake n senders asleep on a full box, if any sleeps: called after n
 * slots became free (seq_cst stores), so one load when none sleeps. */
static void wake_senders(cb_hdr *h, int n)
{
    if (__atomic_load_n(&h->tx_sleepers, __ATOMIC_SEQ_CST)) {
        __atomic_fetch_add(&h->tx_seq, 1, __ATOMIC_SEQ_CST);
        mc__futex_wake(&h->tx_seq, n);
    }
}

/* Give back WRITING slots whose writer is dead.  Returns the number of
 * slots given back. */
static size_t reclaim(cb_hdr *h, char *base, const cb_geom *g)
{
    size_t got = 0;
    for (uint32_t k = 0; k < g->n; k++) {
        cb_slot *s = slot_at(base, g->slots_off, g->stride, k);
        uint64_t w = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
        if (st_state(w) != ST_WRITING || !pid_dead(st_pid(w)))
            continue;
        /* exact old value: fails if the slot moved on meanwhile */
        if (__atomic_compare_exchange_n(&s->state, &w,
                                        st_make(ST_FREE, 0, st_gen(w)), 0,
                                        __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
            got++;
    }
    if (got) {
        __atomic_fetch_add(&h->reclaimed, got, __ATOMIC_RELAXED);
        wake_senders(h, got > INT_MAX ? INT_MAX : (int)got);
    }
    return got;
}

static void count_states(const cb_hdr *h, char *base, const cb_geom *g,
                         mc_camlbox_stats *st)
{
    memset(st, 0, sizeof *st);
    st->capacity = g->n;
    st->slot_size = g->slot_size;
    st->reclaimed = __atomic_load_n(&h->reclaimed, __ATOMIC_RELAXED);
    for (uint32_t k = 0; k < g->n; k++) {
        const cb_slot *s = slot_at(base, g->slots_off, g->stride, k);
        switch (st_state(__atomic_load_n(&s->state, __ATOMIC_RELAXED))) {
        case ST_FREE: st->free++; break;
        case ST_WRITING: st->writing++; break;
        case ST_READY: st->ready++; break;
        default: st->reading++; break;
        }
    }
}

/* Geometry for nslots x slot_size. */
static int geometry(size_t nslots, size_t slot_size, size_t *stride,
                    size_t *slots_off, size_t *total)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    *stride = (CB_SLOT_HDR + slot_size + CB_LINE - 1) / CB_LINE * CB_LINE;
    *slots_off = (sizeof(cb_hdr) + CB_LINE - 1) / CB_LINE * CB_LINE;
    if (nslots > (SIZE_MAX / 4 - *slots_off) / *stride)
        return mc__err(MC_EINVAL, "camlbox: %zu slots of %zu bytes are too "
                       "many", nslots, slot_size);
    *total = (*slots_off + nslots * *stride + pg - 1) / pg * pg;
    return 0;
}

/* ------------------------------------------------------------ receiver */

int mc_camlbox_create(const mc_type *t, size_t nslots, size_t slot_size,
                      const char *name, mc_camlbox **box)
{
    if (!t || !box)
        return mc__err(MC_EINVAL, "mc_camlbox_create: NULL argument");
    if (nslots == 0 || nslots > CB_MAX_SLOTS)
        return mc__err(MC_EINVAL, "mc_camlbox_create: %zu slots (1 to %u)",
                       nslots, CB_MAX_SLOTS);
    if (slot_size == 0 || slot_size > CB_MAX_SLOT_SIZE ||
        slot_size < t->size)
        return mc__err(MC_EINVAL, "mc_camlbox_create: slot size %zu (at "
                       "least %zu for a %s, at most 1 GiB)", slot_size,
                       t->size, t->name ? t->name : "value");
    if (t->align > 16 || (t->align & (t->align - 1)))
        return mc__err(MC_EINVAL, "mc_camlbox_create: type %s: alignment "
                       "%zu not supported (at most 16)", t->name, t->align);
    if (name && !mc__shm_name_ok(name))
        return mc__err(MC_EINVAL, "mc_camlbox_create: bad name \"%s\" "
                       "(\"/x\", no other slash, < 200 chars)", name);
    size_t stride, slots_off, total;
    int rc = geometry(nslots, slot_size, &stride, &slots_off, &total);
    if (rc)
        return rc;
    if (total > mc__sysmem_available())
        return mc__err(MC_ENOMEM, "mc_camlbox_create: %zu bytes are more "
                       "than the machine can give now", total);
    mc_camlbox *b = calloc(1, sizeof *b);
    if (b && !(b->found = malloc(nslots * sizeof *b->found))) {
        free(b);
        b = NULL;
    }
    if (!b)
        return mc__err(MC_ENOMEM, "mc_camlbox_create: out of memory");
    mc_res_id id;
    int fd;
    void *addr;
    rc = mc__res_create(name ? MC_RES_SHM_NAMED : MC_RES_CAMLBOX, name,
                        total, &id, &fd, &addr, "mc_camlbox_create");
    if (rc) {
        free(b->found);
        free(b);
        return rc;
    }
    if ((rc = hold_add(id))) {
        mc_release(id);
        free(b->found);
        free(b);
        return rc;
    }
    /* Reserve the memory now: a box never raises SIGBUS later. */
    if (fd < 0) {
        rc = mc__err(MC_ESYS, "camlbox: no descriptor");
        goto fail;
    }
    if (fallocate(fd, 0, 0, (off_t)total) < 0) {
        rc = mc__err(MC_ENOMEM, "camlbox: reserving %zu bytes: %s", total,
                     strerror(errno));
        goto fail;
    }
    void *m = mmap(NULL, total, PROT_READ | PROT_WRITE,
                   MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        rc = mc__errno("mmap(camlbox)");
        goto fail;
    }
    cb_hdr *h = m;
    h->version = CB_VERSION;
    h->nslots = (uint32_t)nslots;
    h->type_id = t->id;
    h->slot_size = slot_size;
    h->stride = stride;
    h->slots_off = slots_off;
    h->total = total;
    h->recv_pid = my_pid();
    h->recv_base = (uint64_t)(uintptr_t)m;
    snprintf(h->type_name, sizeof h->type_name, "%s",
             t->name ? t->name : "?");
    b->ff_pid = mb_register() ? my_pid() : UINT32_MAX;
    h->recv_mb = b->ff_pid != UINT32_MAX;
    /* the slots are zero: FREE, generation 0 */
    __atomic_store_n(&h->magic, CB_MAGIC, __ATOMIC_RELEASE);
    b->h = h;
    b->base = m;
    b->size = total;
    b->id = id;
    b->t = t;
    b->g = (cb_geom){(uint32_t)nslots, stride, slots_off, slot_size,
                     my_pid()};
    b->spin_ns = CB_SPIN_US_DEFAULT * 1000u;
    b->tight_ns = CB_TIGHT_NS;
    snprintf(b->name, sizeof b->name, "%s", name ? name : "");
    *box = b;
    return 0;
fail:
    hold_drop(id);
    free(b->found);
    free(b);
    return rc;
}

mc_res_id mc_camlbox_id(const mc_camlbox *box)
{
    return box ? box->id : 0;
}

const char *mc_camlbox_name(const mc_camlbox *box)
{
    return box ? box->name : "";
}

void mc_camlbox_set_spin(mc_camlbox *box, unsigned us)
{
    if (box) {
        box->spin_ns = (uint64_t)us * 1000u;
        box->sc = (mc__spin_ctl){0, 0}; /* a new bound starts afresh */
    }
}

/* Order.  A sender takes a ticket (tw >> 1, one fetch_add on tw) after its
 * copy, just before it publishes the slot, so one sender's messages carry
 * increasing tickets.  A scan loads the ticket counter T first and reports
 * the READY slots with tickets below T, lowest first.  If a message of a
 * sender is reported, every earlier message of that sender is found in the
 * same scan: it was published before the later one took its ticket, so
 * before T was read.  Tickets are 32-bit and compared by difference.
 *
 * next_t (private) is the lowest ticket that may still be unreported: when
 * T == next_t nothing is ready and a poll reads one word.  A scan that has
 * found T - next_t READY slots stops; otherwise it goes once round the box
 * (a ticket taken but not yet published, or lost with a killed sender).
 * After a full pass that saw no WRITING slot, every ticket below T not
 * found READY was reported or lost, so next_t may skip it.
 *
 * Before all that, a scan looks at the slot at scan_pos (after the last
 * slot reported): READY with ticket next_t, it is the oldest message that
 * may be unreported, so it is reported without reading T (and so on with
 * the next slot, next_t + 1...).  A receiver that keeps up with one sender
 * then never reads the ticket counter, whose cache line stays with the
 * sender that bumps it. */
static int tk_cmp(const void *a, const void *b)
{
    int32_t d = (int32_t)(((const struct tk *)a)->ticket -
                          ((const struct tk *)b)->ticket);
    return (d > 0) - (d < 0);
}

/* Report up to max READY slots as READING, oldest ticket first.
 * *writing: WRITING slots seen (candidates for reclaim). */
static size_t scan_all(mc_camlbox *b, unsigned *slots, size_t max,
                       size_t *writing, int order);

static inline __attribute__((always_inline)) size_t
scan(mc_camlbox *b, unsigned *slots, size_t max, size_t *writing, int order,
     int look)
{
    uint32_t n = b->g.n, k = b->scan_pos;
    *writing = 0;
    /* Fast path: the slot at scan_pos holds ticket next_t, the oldest
     * message that may be unreported (every ticket below it was reported
     * or lost), so it is reported now without reading the ticket counter,
     * whose line then stays with the senders that bump it; and so on with
     * the next slot and ticket, as one sender fills slots upwards. */
    size_t got = 0;
    for (int pass = 0;; pass++) {
        while (got < max) {
            cb_slot *s = slot_at(b->base, b->g.slots_off, b->g.stride, k);
            uint64_t w = __atomic_load_n(&s->state, order);
            if (st_state(w) != ST_READY ||
                __atomic_load_n(&s->ticket, __ATOMIC_RELAXED) != b->next_t)
                break;
            __atomic_store_n(&s->state, st_make(ST_READING, st_pid(w),
                                                st_gen(w)), __ATOMIC_RELAXED);
            slots[got++] = k;
            b->next_t++;
            k = k + 1 == n ? 0 : k + 1;
        }
        /* Nothing at scan_pos: try where the last scan's messages began.
         * When they filled the box, a sender blocked on it refills the
         * slots as they are freed, from there (the bench's receiver then
         * polled on at scan_pos, and took the box only once full again:
         * it and the sender took turns instead of working together). */
        if (got || pass || b->alt_pos == b->scan_pos)
            break;
        k = b->alt_pos;
    }
    if (got || !look) {
        if (got) {
            b->alt_pos = slots[0];
            b->scan_pos = k;
        }
        return got;
    }
    return scan_all(b, slots, max, writing, order);
}

/* scan's slow path: every READY slot with a ticket below the ticket
 * word's, oldest first. */
static size_t scan_all(mc_camlbox *b, unsigned *slots, size_t max,
                       size_t *writing, int order)
{
    uint32_t n = b->g.n, k = b->scan_pos;
    size_t got;
    uint32_t t_end = (uint32_t)(__atomic_load_n(&b->h->tw, order) >> 1);
    uint32_t need = t_end - b->next_t;
    if (need == 0)
        return 0;
    struct tk *f = b->found;
    size_t nf = 0, nw = 0;
    int sorted = 1;
    for (uint32_t i = 0; i < n && nf < need;
         i++, k = k + 1 == n ? 0 : k + 1) {
        cb_slot *s = slot_at(b->base, b->g.slots_off, b->g.stride, k);
        uint64_t w = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
        unsigned st = st_state(w);
        if (st == ST_WRITING) {
            nw++;
        } else if (st == ST_READY) {
            /* the ticket was stored before READY (release), so it is
             * visible; one at or past t_end is for the next scan */
            uint32_t tk = __atomic_load_n(&s->ticket, __ATOMIC_RELAXED);
            if (tk - b->next_t >= need)
                continue;
            if (nf && (int32_t)(tk - f[nf - 1].ticket) < 0)
                sorted = 0;
            f[nf++] = (struct tk){tk, k};
        }
    }
    *writing = nw;
    if (!sorted)
        qsort(f, nf, sizeof *f, tk_cmp);
    got = nf < max ? nf : max;
    for (size_t i = 0; i < got; i++) {
        cb_slot *s = slot_at(b->base, b->g.slots_off, b->g.stride,
                             f[i].slot);
        uint64_t w = __atomic_load_n(&s->state, __ATOMIC_RELAXED);
        /* only the receiver leaves READY: a plain store will do */
        __atomic_store_n(&s->state, st_make(ST_READING, st_pid(w),
                                            st_gen(w)), __ATOMIC_RELAXED);
        slots[i] = f[i].slot;
    }
    if (nf == need || nw == 0) {
        /* every ticket in [next_t, t_end) is accounted for */
        b->next_t = got < nf ? f[got].ticket : t_end;
    } else {
        for (size_t i = 0; i < got && f[i].ticket == b->next_t; i++)
            b->next_t++;
    }
    if (got) {
        /* one sender fills slots upwards: its next message is likely in
         * the slot after its last */
        uint32_t last = f[got - 1].slot;
        b->scan_pos = last + 1 == n ? 0 : last + 1;
        b->alt_pos = f[0].slot;
    }
    return got;
}

static int take_wake(cb_hdr *h)
{
    return __atomic_load_n(&h->wake_req, __ATOMIC_RELAXED) &&
           __atomic_exchange_n(&h->wake_req, 0, __ATOMIC_ACQUIRE);
}

/* A sender died since the last report (notify_lost): MC_EDEAD, once. */
static int take_lost(mc_camlbox *b)
{
    if (!b->notify_lost)
        return 0;
    uint32_t l = __atomic_load_n(&b->h->lost, __ATOMIC_ACQUIRE);
    if (l == b->lost_seen)
        return 0;
    b->lost_seen = l;
    return mc__err(MC_EDEAD, "mc_camlbox_wait: a sender of the box died "
                   "(%u so far)", l);
}

void mc_camlbox_notify_lost(mc_camlbox *box, int on)
{
    if (!box)
        return;
    box->notify_lost = on != 0;
    box->lost_seen = __atomic_load_n(&box->h->lost, __ATOMIC_ACQUIRE);
}

size_t mc_camlbox_senders_lost(const mc_camlbox *box)
{
    return box ? __atomic_load_n(&box->h->lost, __ATOMIC_RELAXED) : 0;
}

int mc__camlbox_lost(int fd)
{
    size_t len = (sizeof(cb_hdr) + 4095) & ~(size_t)4095;
    cb_hdr *h = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (h == MAP_FAILED)
        return MC_ESYS;
    if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) == CB_MAGIC) {
        __atomic_fetch_add(&h->lost, 1, __ATOMIC_SEQ_CST);
        /* wake the receiver whether it sleeps or not (a spare wake-up
         * costs it one scan) */
        __atomic_fetch_and(&h->tw, ~(uint64_t)TW_SLEEP, __ATOMIC_SEQ_CST);
        mc__futex_wake(tw_futex(h), 1);
    }
    munmap(h, len);
    return 0;
}

int mc__camlbox_peek(int fd, mc__camlbox_view *v)
{
    memset(v, 0, sizeof *v);
    struct stat sb;
    size_t hlen = (sizeof(cb_hdr) + 4095) & ~(size_t)4095;
    if (fstat(fd, &sb) < 0 || sb.st_size < (off_t)sizeof(cb_hdr))
        return -1;
    size_t len = (size_t)sb.st_size;
    cb_hdr *h = mmap(NULL, hlen, PROT_READ, MAP_SHARED, fd, 0);
    if (h == MAP_FAILED)
        return -1;
    /* any sender may have rewritten the header: its geometry is checked
     * against the object's size before a slot is read */
    cb_geom g = {.n = __atomic_load_n(&h->nslots, __ATOMIC_RELAXED),
                 .stride = __atomic_load_n(&h->stride, __ATOMIC_RELAXED),
                 .slots_off = __atomic_load_n(&h->slots_off,
                                              __ATOMIC_RELAXED),
                 .slot_size = __atomic_load_n(&h->slot_size,
                                              __ATOMIC_RELAXED)};
    int ok = __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) == CB_MAGIC &&
             g.n <= CB_MAX_SLOTS && g.stride >= CB_SLOT_HDR &&
             g.stride % 8 == 0 && g.slots_off >= sizeof(cb_hdr) &&
             g.slots_off % 8 == 0 && g.slots_off <= len &&
             g.stride <= (len - g.slots_off) / (g.n ? g.n : 1);
    if (ok) {
        v->st.capacity = g.n;
        v->st.slot_size = g.slot_size;
        v->st.reclaimed = __atomic_load_n(&h->reclaimed, __ATOMIC_RELAXED);
        v->delivered = (uint32_t)(__atomic_load_n(&h->tw,
                                                  __ATOMIC_RELAXED) >> 1);
        v->lost = __atomic_load_n(&h->lost, __ATOMIC_RELAXED);
    }
    munmap(h, hlen);
    if (!ok)
        return -1;
    /* the slots' states, unless that means touching too many pages (the
     * server would make its clients wait): populated in one call */
    size_t span = g.slots_off + (size_t)g.n * g.stride;
    if (span > MC__STAT_SCAN_MAX)
        return 0;
    char *m = mmap(NULL, span, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (m == MAP_FAILED)
        return 0;
    count_states((const cb_hdr *)m, m, &g, &v->st);
    v->scanned = 1;
    munmap(m, span);
    return 0;
}

int mc_camlbox_wait(mc_camlbox *box, int timeout_ms, unsigned *slots,
                    size_t max, size_t *n)
{
    if (MC_UNLIKELY(!box || !slots || !n || max == 0))
        return mc__err(MC_EINVAL, "mc_camlbox_wait: %s",
                       max ? "NULL argument" : "max is 0");
    cb_hdr *h = box->h;
    size_t nw;
    int rc = 0;
    *n = 0;
    if ((rc = take_lost(box)))
        return rc;
    /* A blocking wait that polls looks at the ticket word (tw) only at
     * every POLL_LOOK-th poll: the slot at scan_pos is where a sender that
     * keeps up puts its next message, and reading tw at every poll would
     * pull its line away from the sender, whose next ticket then misses. */
    int poll_first = timeout_ms != 0 && box->spin_ns && !box->sc.skip;
    if ((*n = scan(box, slots, max, &nw, __ATOMIC_ACQUIRE, !poll_first)) ||
        take_wake(h))
        return 0;
    if (timeout_ms == 0)
        return mc__err(MC_EAGAIN, "camlbox: no message");
    uint64_t start = mc__now_ns(), now = start;
    uint64_t deadline = timeout_ms < 0
                            ? UINT64_MAX
                            : start + (uint64_t)timeout_ms * 1000000u;
    uint64_t spin = mc__spin_budget(&box->sc, box->spin_ns);
    uint64_t spin_end = spin < deadline - start ? start + spin : deadline;
    uint64_t tight = mc__spin_tight(&box->sc, box->tight_ns);
    for (unsigned i = 1; now < spin_end; i++) {
        int yielded = poll_pause(start, now, tight);
        int look = i % CB_POLL_LOOK == 0 || yielded;
        int got = (*n = scan(box, slots, max, &nw, __ATOMIC_ACQUIRE,
                             look)) ||
                  take_wake(h);
        uint64_t prev = now;
        now = mc__now_ns();
        /* a poll that lost its CPU (it yielded, or was preempted, and
         * others ran) stops.  If its message came meanwhile, it counts
         * neither way (os/spin.h), unless it gave its CPU away and got one
         * message, which a sleep would have got as well: that poll did
         * not pay (a token passed round a ring of 12 processes on 2 CPUs:
         * such polls, counted neither way, kept a third of the waits
         * polling and yielding, runnable beside the token's holder).
         * Preempted while it paused (other jobs on the machine), or
         * finding several messages (a sender running ahead), it says
         * nothing of this box. */
        int lost = mc__spin_lost(prev, now);
        if (got) {
            if (!lost)
                mc__spin_note(&box->sc, 1);
            else if (yielded && *n == 1)
                mc__spin_note(&box->sc, 0);
            box->tight_ns = tight_next(box->tight_ns, yielded, lost);
            return 0;
        }
        if ((rc = take_lost(box)))
            return rc;
        if (lost)
            break; /* the CPU is wanted elsewhere: sleep */
    }
    if (spin)
        mc__spin_note(&box->sc, 0); /* it polled in vain */
    /* Sleep: set the flag in tw, then look (the flag's read-modify-write
     * orders the look after it).  A sender that takes its ticket after
     * the flag sees it and wakes us; one that took it before did not, and
     * its message is found by the look, unless it is still publishing it
     * (a ticket below the flag's not seen READY): then short naps. */
    uint64_t nap = CB_NAP_NS;
    for (;;) {
        uint64_t v = __atomic_fetch_or(&h->tw, TW_SLEEP, __ATOMIC_SEQ_CST) |
                     TW_SLEEP;
        if ((rc = take_lost(box)))
            break;
        if ((*n = scan(box, slots, max, &nw, __ATOMIC_ACQUIRE, 1)) ||
            take_wake(h))
            break;
        if (nw)
            reclaim(h, box->base, &box->g);
        now = mc__now_ns();
        if (now >= deadline) {
            rc = mc__err(MC_ETIMEDOUT, "camlbox: no message within %d ms",
                         timeout_ms);
            break;
        }
        uint64_t left = deadline - now;
        uint64_t ns = left < CB_SLEEP_NS ? left : CB_SLEEP_NS;
        if ((int32_t)((uint32_t)(v >> 1) - box->next_t) > 0) {
            if (ns > nap)
                ns = nap;
            if (nap < CB_SLEEP_NS / 2)
                nap *= 2;
        }
        if (mc__futex_wait_ns(tw_futex(h), (uint32_t)v, ns) == ETIMEDOUT &&
            (rc = mc__alive_check("mc_camlbox_wait")))
            break;
    }
    /* the next sender need not wake us */
    if (__atomic_load_n(&h->tw, __ATOMIC_RELAXED) & TW_SLEEP)
        __atomic_fetch_and(&h->tw, ~(uint64_t)TW_SLEEP, __ATOMIC_RELAXED);
    return rc;
}

/* The slot k if it holds a message (READY or READING). */
static __attribute__((noinline, cold)) int
msg_slot_err(const mc_camlbox *box, unsigned k, const char *fn)
{
    if (!box)
        return mc__err(MC_EINVAL, "%s: NULL box", fn);
    if (k >= box->g.n)
        return mc__err(MC_EINVAL, "%s: slot %u out of range (%u slots)", fn,
                       k, box->g.n);
    return mc__err(MC_ENOENT, "%s: slot %u holds no message", fn, k);
}

static inline __attribute__((always_inline)) int
msg_slot(mc_camlbox *box, unsigned k, cb_slot **out, uint64_t *w,
         const char *fn)
{
    if (MC_LIKELY(box && k < box->g.n)) {
        cb_slot *s = slot_at(box->base, box->g.slots_off, box->g.stride, k);
        uint64_t v = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
        if (MC_LIKELY(st_state(v) == ST_READY || st_state(v) == ST_READING)) {
            *out = s;
            *w = v;
            return 0;
        }
    }
    return msg_slot_err(box, k, fn);
}

int mc_camlbox_get(mc_camlbox *box, unsigned slot, const void **msg)
{
    cb_slot *s = NULL;
    uint64_t w = 0;
    if (MC_UNLIKELY(!msg))
        return mc__err(MC_EINVAL, "mc_camlbox_get: NULL msg");
    int rc = msg_slot(box, slot, &s, &w, "mc_camlbox_get");
    if (rc)
        return rc;
    *msg = (const char *)s + CB_SLOT_HDR;
    return 0;
}

int mc_camlbox_get_copy(mc_camlbox *box, unsigned slot, void **copy)
{
    cb_slot *s = NULL;
    uint64_t w = 0;
    if (!copy)
        return mc__err(MC_EINVAL, "mc_camlbox_get_copy: NULL copy");
    int rc = msg_slot(box, slot, &s, &w, "mc_camlbox_get_copy");
    if (rc)
        return rc;
    return mc_local_copy(box->t, (const char *)s + CB_SLOT_HDR, copy);
}

/* delete's slow path, after a plain store of FREE: senders sleep, or the
 * deletes are fenced (mb_register). */
static __attribute__((noinline)) void delete_slow(mc_camlbox *box)
{
    cb_hdr *h = box->h;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&h->tx_sleepers, __ATOMIC_SEQ_CST)) {
        box->quiet = 0;
        __atomic_fetch_add(&h->tx_seq, 1, __ATOMIC_SEQ_CST);
        mc__futex_wake(&h->tx_seq, 1);
    } else if (++box->quiet >= CB_QUIET) {
        box->quiet = 0;
        uint32_t f = FENCE_SET;
        __atomic_compare_exchange_n(&h->fenced, &f, FENCE_OFF, 0,
                                    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
    }
}

int mc_camlbox_delete(mc_camlbox *box, unsigned slot)
{
    cb_slot *s = NULL;
    uint64_t w = 0;
    int rc = msg_slot(box, slot, &s, &w, "mc_camlbox_delete");
    if (rc)
        return rc;
    uint64_t fw = st_make(ST_FREE, 0, st_gen(w));
    if (MC_LIKELY(box->ff_pid ==
                  __atomic_load_n(&cached_pid, __ATOMIC_RELAXED))) {
        /* no barrier unless senders sleep (see mb_register); the
         * compiler keeps the loads after the store */
        cb_hdr *h = box->h;
        __atomic_store_n(&s->state, fw, __ATOMIC_RELEASE);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        if (MC_UNLIKELY(__atomic_load_n(&h->tx_sleepers, __ATOMIC_RELAXED) |
                        __atomic_load_n(&h->fenced, __ATOMIC_RELAXED)))
            delete_slow(box);
        return 0;
    }
    /* seq_cst: a sender that counted itself in tx_sleepers before this
     * store and missed the free slot is seen by wake_senders' load */
    __atomic_store_n(&s->state, fw, __ATOMIC_SEQ_CST);
    wake_senders(box->h, 1);
    return 0;
}

size_t mc_camlbox_capacity(const mc_camlbox *box)
{
    return box ? box->g.n : 0;
}

size_t mc_camlbox_messages(const mc_camlbox *box)
{
    mc_camlbox_stats st;
    if (!box)
        return 0;
    count_states(box->h, box->base, &box->g, &st);
    return st.ready + st.reading;
}

int mc_camlbox_stats_get(const mc_camlbox *box, mc_camlbox_stats *st)
{
    if (!box || !st)
        return mc__err(MC_EINVAL, "mc_camlbox_stats_get: NULL argument");
    count_states(box->h, box->base, &box->g, st);
    return 0;
}

int mc_camlbox_reclaim(mc_camlbox *box, size_t *n)
{
    if (!box)
        return mc__err(MC_EINVAL, "mc_camlbox_reclaim: NULL box");
    size_t got = reclaim(box->h, box->base, &box->g);
    if (n)
        *n = got;
    return 0;
}

int mc_camlbox_destroy(mc_camlbox *box)
{
    if (!box)
        return mc__err(MC_EINVAL, "mc_camlbox_destroy: NULL box");
    cb_hdr *h = box->h;
    __atomic_store_n(&h->closed, 1, __ATOMIC_SEQ_CST);
    /* senders asleep on the full box see `closed` and return */
    __atomic_fetch_add(&h->tx_seq, 1, __ATOMIC_SEQ_CST);
    mc__futex_wake(&h->tx_seq, INT_MAX);
    munmap(box->base, box->size);
    int rc = box->id ? hold_drop(box->id) : 0;
    free(box->found);
    free(box);
    return rc;
}

/* -------------------------------------------------------------- senders */

/* Is t flat: a record whose pointer table holds only strings and arrays
 * of elements without pointers (what mcidl makes of most messages)?  Such
 * a message is copied by copy_flat, without the generic copier (its setup,
 * work list and visited set were most of a small message's cost). */
static int type_flat(const mc_type *t)
{
    if (!t->ptrs || !t->size || t->align > 16 ||
        (t->align & (t->align - 1)))
        return 0;
    for (size_t i = 0; i < t->nptrs; i++) {
        const mc_ptr_field *f = &t->ptrs[i];
        if (f->kind == MC_PF_STR)
            continue;
        if (f->kind != MC_PF_ARRAY || !f->t || mc__type_copies(f->t) ||
            f->t->init_sync || f->t->align > 16 ||
            (f->t->align & (f->t->align - 1)))
            return 0;
    }
    return 1;
}

/* copy_for for a flat type: the generic copier's layout and bytes (the
 * record at 0, then each live field's string or array in table order, each
 * where mc__slot_place puts it, as mc_copy_size counts), in one pass.  -1:
 * it does not fit (the generic copier then makes the error). */
static inline __attribute__((always_inline)) int
copy_flat_to(const mc_camlbox_sender *s, const void *msg, char *buf,
             uintptr_t delta, size_t *used, int strs)
{
    const char *src = msg;
    size_t cap = s->g.slot_size, at = s->t->size;
    mc__copy_bytes(buf, src, at); /* t->size <= slot_size (create) */
    for (const flat_f *f = s->plan, *end = f + s->nplan; f < end; f++) {
        if (MC_UNLIKELY(f->when != NULL) && !mc__pf_live(f->when, src))
            continue;
        const char *p = mc__pf_ptr(src, f->off);
        void **dp = (void **)(void *)(buf + f->off);
        if (!p) {
            *dp = NULL;
            continue;
        }
        /* at <= cap <= 1 GiB: no overflow */
        size_t n, o = (at + f->amask) & ~(size_t)f->amask;
        if (strs && f->str)
            n = strlen(p) + 1;
        else if (__builtin_mul_overflow(
                     *(const size_t *)(const void *)(src + f->len_off),
                     f->esize, &n))
            return -1;
        size_t nn = n ? n : 1; /* an empty array takes a byte */
        if (o > cap || nn > cap - o)
            return -1;
        mc__copy_bytes(buf + o, p, n);
        if (strs && f->str)
            buf[o + n - 1] = '\0';
        at = o + nn;
        *dp = (void *)((uintptr_t)(buf + o) + delta);
    }
    *used = at;
    return 0;
}

/* copy_flat_to into the scratch buffer, relocated for slot k. */
static int copy_flat(mc_camlbox_sender *s, const void *msg, uint32_t k,
                     size_t *used)
{
    return copy_flat_to(s, msg, s->scratch,
                        s->delta0 + (uintptr_t)k * s->g.stride, used, 1);
}

/* Check a mapped object and make a sender of it (takes the mapping).  The
 * header is read once, into private memory, and each field is checked
 * against what mc_camlbox_create would have made of nslots and slot_size
 * (geometry() computes it without overflow), so a forged header can point
 * nothing outside the mapping. */
static int attach(void *m, size_t size, const mc_type *t, mc_res_id id,
                  mc_camlbox_sender **out)
{
    cb_hdr *h = m;
    uint64_t magic = size >= sizeof *h
                         ? __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) : 0;
    if (magic == 0 && size >= sizeof *h)
        return mc__err(MC_EAGAIN, "camlbox: the box is not initialized yet");
    cb_hdr c;
    if (size >= sizeof c)
        memcpy(&c, h, sizeof c); /* one read: the checks and the use agree */
    size_t stride = 0, slots_off = 0, total = 0;
    if (magic != CB_MAGIC || c.magic != CB_MAGIC ||
        c.version != CB_VERSION || c.nslots == 0 ||
        c.nslots > CB_MAX_SLOTS || c.slot_size == 0 ||
        c.slot_size > CB_MAX_SLOT_SIZE ||
        geometry(c.nslots, (size_t)c.slot_size, &stride, &slots_off,
                 &total) != 0 ||
        c.stride != stride || c.slots_off != slots_off ||
        c.total != total || total > size)
        return mc__err(MC_ETYPE, "camlbox: the object is not a camlbox (or "
                       "its header is damaged)");
    if (c.type_id != t->id)
        return mc__err(MC_ETYPE, "camlbox: the box holds %.63s (type id "
                       "%016llx), not %s (%016llx)", c.type_name,
                       (unsigned long long)c.type_id,
                       t->name ? t->name : "?", (unsigned long long)t->id);
    mc_camlbox_sender *s = calloc(1, sizeof *s);
    /* stride: a multiple of CB_LINE above slot_size */
    char *scratch = s ? aligned_alloc(CB_LINE, stride) : NULL;
    int flat = type_flat(t);
    flat_f *plan = flat ? malloc(t->nptrs * sizeof *plan) : NULL;
    if (!scratch || (flat && !plan)) {
        free(plan);
        free(scratch);
        free(s);
        return mc__err(MC_ENOMEM, "camlbox sender: out of memory");
    }
    for (size_t i = 0; flat && i < t->nptrs; i++) {
        const mc_ptr_field *f = &t->ptrs[i];
        size_t al = f->kind == MC_PF_STR || f->t->align < 8 ? 8
                                                            : f->t->align;
        plan[i] = (flat_f){f->kind == MC_PF_STR ? 0 : f->t->size, f->off,
                           f->len_off, (uint16_t)(al - 1),
                           f->kind == MC_PF_STR,
                           f->when == MC_PW_ALWAYS ? NULL : f};
    }
    s->h = h;
    s->base = m;
    s->size = size;
    s->id = id;
    s->t = t;
    s->g = (cb_geom){c.nslots, stride, slots_off, (size_t)c.slot_size,
                     c.recv_pid};
    s->recv_base = c.recv_base;
    /* senders start apart, so that two of them rarely race for a slot */
    s->hint = (uint32_t)((my_pid() * 2654435761u) % c.nslots);
    s->spin_ns = CB_SPIN_US_DEFAULT * 1000u;
    s->tight_ns = CB_TIGHT_NS;
    s->scratch = scratch;
    s->flat = flat;
    s->plan = plan;
    s->nplan = flat ? t->nptrs : 0;
    for (size_t i = 0; i < s->nplan; i++)
        s->strs |= plan[i].str;
    s->recv_mb = c.recv_mb != 0;
    s->direct = s->flat || (!t->ptrs && !t->copy && t->size);
    s->delta0 = (uintptr_t)(s->recv_base + s->g.slots_off + CB_SLOT_HDR) -
                (uintptr_t)scratch;
    *out = s;
    return 0;
}

int mc_camlbox_sender_lookup(mc_res_id id, const mc_type *t,
                             mc_camlbox_sender **s)
{
    if (!t || !s)
        return mc__err(MC_EINVAL, "mc_camlbox_sender_lookup: NULL "
                                  "argument");
    mc_res_info info;
    int fd;
    void *addr;
    int rc = mc__res_lookup(id, MC__KIND_BIT(MC_RES_CAMLBOX) |
                                    MC__KIND_BIT(MC_RES_SHM_NAMED),
                            &info, &fd, &addr,
                            "mc_camlbox_sender_lookup");
    if (rc)
        return rc;
    if ((rc = hold_add(id))) {
        mc_release(id);
        return rc;
    }
    void *m = fd < 0 ? MAP_FAILED
                     : mmap(NULL, info.size, PROT_READ | PROT_WRITE,
                            MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        rc = fd < 0 ? mc__err(MC_ESYS, "camlbox %lld: no descriptor",
                              (long long)id)
                    : mc__errno("mmap(camlbox)");
        hold_drop(id);
        return rc;
    }
    if ((rc = attach(m, info.size, t, id, s))) {
        munmap(m, info.size);
        hold_drop(id);
    }
    return rc;
}

int mc_camlbox_sender_open(const char *name, const mc_type *t,
                           mc_camlbox_sender **s)
{
    if (!t || !s || !name)
        return mc__err(MC_EINVAL, "mc_camlbox_sender_open: NULL argument");
    if (!mc__shm_name_ok(name))
        return mc__err(MC_EINVAL, "mc_camlbox_sender_open: bad name \"%s\"",
                       name);
    int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return errno == ENOENT
                   ? mc__err(MC_ENOENT, "no camlbox named %s", name)
                   : mc__errno("shm_open(camlbox)");
    struct stat st;
    void *m = MAP_FAILED;
    int rc = 0;
    if (fstat(fd, &st) < 0)
        rc = mc__errno("fstat(camlbox)");
    /* whoever may write the object decides what its header says */
    else if (st.st_uid != geteuid())
        rc = mc__err(MC_EINVAL, "mc_camlbox_sender_open: %s belongs to uid "
                     "%u, not to this user (uid %u): refused", name,
                     (unsigned)st.st_uid, (unsigned)geteuid());
    else if (st.st_mode & (S_IWGRP | S_IWOTH))
        rc = mc__err(MC_EINVAL, "mc_camlbox_sender_open: %s is writable by "
                     "%s (mode %04o): refused", name,
                     st.st_mode & S_IWOTH ? "others" : "its group",
                     (unsigned)(st.st_mode & 07777));
    else if ((size_t)st.st_size < sizeof(cb_hdr))
        rc = st.st_size == 0
                 ? mc__err(MC_EAGAIN, "camlbox %s is not sized yet", name)
                 : mc__err(MC_ETYPE, "%s is not a camlbox", name);
    else if ((m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
                       MAP_SHARED, fd, 0)) == MAP_FAILED)
        rc = mc__errno("mmap(camlbox)");
    close(fd);
    if (rc)
        return rc;
    if ((rc = attach(m, (size_t)st.st_size, t, 0, s)))
        munmap(m, (size_t)st.st_size);
    return rc;
}

void mc_camlbox_sender_set_spin(mc_camlbox_sender *s, unsigned us)
{
    if (s) {
        s->spin_ns = (uint64_t)us * 1000u;
        s->sc = (mc__spin_ctl){0, 0};
    }
}

int mc_camlbox_sender_stats(const mc_camlbox_sender *s, mc_camlbox_stats *st)
{
    if (!s || !st)
        return mc__err(MC_EINVAL, "mc_camlbox_sender_stats: NULL argument");
    count_states(s->h, s->base, &s->g, st);
    return 0;
}

int mc_camlbox_sender_release(mc_camlbox_sender *s)
{
    if (!s)
        return mc__err(MC_EINVAL, "mc_camlbox_sender_release: NULL sender");
    munmap(s->base, s->size);
    free(s->scratch);
    free(s->plan);
    int rc = s->id ? hold_drop(s->id) : 0;
    free(s);
    return rc;
}

int mc_camlbox_wake(mc_camlbox_sender *s)
{
    if (!s)
        return mc__err(MC_EINVAL, "mc_camlbox_wake: NULL sender");
    cb_hdr *h = s->h;
    /* the receiver sets the flag in tw, then looks at wake_req: both
     * read-modify-write tw, so either this one sees the flag, or the
     * receiver's comes after it and sees the request */
    __atomic_store_n(&h->wake_req, 1, __ATOMIC_SEQ_CST);
    wake_receiver(h);
    return 0;
}

/* The copier's slow path for the scratch buffer: an allocation that the
 * copier could not carve inline (MC__BUMP_SLOT, the same layout rule,
 * mc__slot_place) does not fit, or its alignment is not supported. */
static void *tx_alloc(mc_copier *c, const mc_type *t, size_t count)
{
    char *buf = c->target;
    size_t used = c->bump ? (size_t)(c->bump - buf) : 0, off, sz;
    size_t cap = (size_t)(c->bump_end - buf);
    switch (mc__slot_place(used, t, count, cap, &off, &sz)) {
    case 0:
        break;
    case 1:
        c->err = mc__err(MC_EINVAL, "camlbox: type %s: alignment %zu not "
                         "supported (at most 16)", t->name, t->align);
        return NULL;
    default:
        c->err = mc__err(MC_E2BIG, "camlbox: the message does not fit in "
                         "a slot of %zu bytes", cap);
        return NULL;
    }
    c->bump = buf + off + sz;
    if (!c->raw)
        memset(buf + off, 0, sz);
    return buf + off;
}

/* Copy msg into the scratch buffer, relocated for slot k.  *used: bytes.
 * The copier carves the buffer inline (no call per allocation) and
 * relocates by adding a constant; a type without pointers is one memcpy. */
static int copy_for(mc_camlbox_sender *s, const void *msg, uint32_t k,
                    size_t *used)
{
    const mc_type *t = s->t;
    if (!t->ptrs && !t->copy && t->size && t->size <= s->g.slot_size) {
        memcpy(s->scratch, msg, t->size);
        *used = t->size;
        return 0;
    }
    if (s->flat && copy_flat(s, msg, k, used) == 0)
        return 0;
    uintptr_t recv = (uintptr_t)(s->recv_base + s->g.slots_off +
                                 (uint64_t)k * s->g.stride + CB_SLOT_HDR);
    mc_copier c;
    void *root;
    mc__copier_init(&c, tx_alloc, NULL, s->scratch);
    c.bump_kind = MC__BUMP_SLOT;
    c.bump = s->scratch;
    c.bump_end = s->scratch + s->g.slot_size;
    c.slot_delta = recv - (uintptr_t)s->scratch;
    int rc = mc__copy_root(&c, t, 1, msg, &root);
    mc__copier_fini(&c);
    *used = (size_t)(c.bump - s->scratch);
    return rc;
}

/* Take slot k if it is free.  *gen: its new generation. */
static inline int try_take(mc_camlbox_sender *s, uint32_t k, uint32_t pid,
                           uint64_t *gen)
{
    cb_slot *sl = slot_at(s->base, s->g.slots_off, s->g.stride, k);
    uint64_t w = __atomic_load_n(&sl->state, __ATOMIC_RELAXED);
    if (st_state(w) != ST_FREE)
        return 0;
    uint64_t g = st_gen(w) + 1;
    if (!__atomic_compare_exchange_n(&sl->state, &w,
                                     st_make(ST_WRITING, pid, g), 0,
                                     __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
        return 0;
    *gen = g;
    return 1;
}

/* One pass over up to `span` slots from the hint; the slot taken, or -1.
 * take_any: the whole box. */
static int64_t take_span(mc_camlbox_sender *s, uint32_t pid, uint64_t *gen,
                         uint32_t span)
{
    uint32_t n = s->g.n, k = s->hint;
    if (span > n)
        span = n;
    for (uint32_t i = 0; i < span; i++, k = k + 1 == n ? 0 : k + 1)
        if (try_take(s, k, pid, gen)) {
            s->hint = k + 1 == n ? 0 : k + 1;
            return k;
        }
    return -1;
}

static int64_t take_any(mc_camlbox_sender *s, uint32_t pid, uint64_t *gen)
{
    return take_span(s, pid, gen, s->g.n);
}

/* Ask for p's cache line in exclusive state: the receiver freed the slot,
 * so its line sits in the receiver's cache; a plain load would fetch it
 * shared, and the CAS that claims it would miss a second time. */
static inline void prefetch_w(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
    /* a no-op on CPUs without it (a NOP encoding there) */
    __asm__ __volatile__("prefetchw %0" : : "m"(*(const char *)p));
#else
    __builtin_prefetch(p, 1);
#endif
}

/* The first slot that looks free among CB_SPAN from the hint (no claim;
 * prefetched for writing), or the hint.  Not the whole box: a sender that
 * finds the box full would pull every slot's line away from the receiver,
 * which is freeing them; nor a slot not free: the receiver is about to
 * take its message, and would wait for the line to come back. */
static uint32_t predict(mc_camlbox_sender *s)
{
    uint32_t n = s->g.n, k = s->hint;
    for (uint32_t i = 0; i < n && i < CB_SPAN;
         i++, k = k + 1 == n ? 0 : k + 1) {
        cb_slot *sl = slot_at(s->base, s->g.slots_off, s->g.stride, k);
        if (st_state(__atomic_load_n(&sl->state, __ATOMIC_RELAXED)) ==
            ST_FREE) {
            prefetch_w(sl);
            return k;
        }
    }
    return s->hint;
}

/* The box is full: reclaim, poll, then sleep until a slot is free. */
static int64_t take_blocking(mc_camlbox_sender *s, uint32_t pid,
                             uint64_t *gen, int block)
{
    cb_hdr *h = s->h;
    int64_t k;
    if (!block) {
        if ((k = take_any(s, pid, gen)) >= 0 ||
            (reclaim(h, s->base, &s->g) && (k = take_any(s, pid, gen)) >= 0))
            return k;
        return mc__err(MC_EAGAIN, "camlbox: the box is full");
    }
    uint64_t start = mc__now_ns(), now = start;
    uint64_t spin = mc__spin_budget(&s->sc, s->spin_ns);
    uint64_t tight = mc__spin_tight(&s->sc, s->tight_ns);
    /* the slots near the hint at each poll (with one sender, the
     * receiver frees the hint's slot next), the whole box at every
     * CB_POLL_LOOK-th; the sleep path below looks at all and reclaims */
    for (unsigned i = 1; now - start < spin; i++) {
        int yielded = poll_pause(start, now, tight);
        k = i % CB_POLL_LOOK == 0 ? take_any(s, pid, gen)
                                  : take_span(s, pid, gen, CB_SPAN);
        uint64_t prev = now;
        now = mc__now_ns();
        int lost = mc__spin_lost(prev, now); /* as in mc_camlbox_wait */
        if (k >= 0) {
            if (!lost)
                mc__spin_note(&s->sc, 1);
            s->tight_ns = tight_next(s->tight_ns, yielded, lost);
            return k;
        }
        if (lost)
            break;
    }
    if (spin)
        mc__spin_note(&s->sc, 0); /* it polled in vain */
    for (;;) {
        if (__atomic_load_n(&h->closed, __ATOMIC_RELAXED))
            return mc__err(MC_ENOENT, "camlbox: the box was destroyed");
        __atomic_fetch_add(&h->tx_sleepers, 1, __ATOMIC_SEQ_CST);
        /* the receiver's barrier (mb_register); if the call fails, naps
         * of a millisecond stand in for a wake-up it may miss */
        uint64_t nap = CB_SLEEP_NS;
        if (s->recv_mb) {
            uint32_t f = __atomic_load_n(&h->fenced, __ATOMIC_SEQ_CST);
            if (f != FENCE_SET) {
                if (f == FENCE_OFF)
                    __atomic_compare_exchange_n(&h->fenced, &f, FENCE_ON, 0,
                                                __ATOMIC_SEQ_CST,
                                                __ATOMIC_RELAXED);
                if (mb_call(MEMBARRIER_CMD_GLOBAL_EXPEDITED) != 0) {
                    nap = 1000u * 1000;
                } else {
                    f = FENCE_ON;
                    __atomic_compare_exchange_n(&h->fenced, &f, FENCE_SET,
                                                0, __ATOMIC_SEQ_CST,
                                                __ATOMIC_RELAXED);
                }
            }
        }
        uint32_t seq = __atomic_load_n(&h->tx_seq, __ATOMIC_SEQ_CST);
        if ((k = take_any(s, pid, gen)) < 0 && reclaim(h, s->base, &s->g))
            k = take_any(s, pid, gen);
        if (k < 0 && pid_dead(s->g.recv_pid))
            k = mc__err(MC_ELOST, "camlbox: the receiver (pid %u) died",
                        s->g.recv_pid);
        if (k == -1 &&
            mc__futex_wait_ns(&h->tx_seq, seq, nap) == ETIMEDOUT)
            k = mc__alive_check("mc_camlbox_send") ? MC_ELOST : -1;
        __atomic_fetch_sub(&h->tx_sleepers, 1, __ATOMIC_RELAXED);
        if (k != -1)
            return k;
    }
}

/* Give slot k back after a failed copy. */
static void give_back(mc_camlbox_sender *s, uint32_t k, uint64_t gen)
{
    cb_slot *sl = slot_at(s->base, s->g.slots_off, s->g.stride, k);
    __atomic_store_n(&sl->state, st_make(ST_FREE, 0, gen), __ATOMIC_SEQ_CST);
    wake_senders(s->h, 1);
}

/* Publish the message of `used` bytes in slot sl, which this sender holds
 * (WRITING, generation gen). */
static inline __attribute__((always_inline)) int
publish(mc_camlbox_sender *s, cb_slot *sl, size_t used, uint32_t pid,
        uint64_t gen)
{
    cb_hdr *h = s->h;
    sl->len = (uint32_t)used;
    /* the ticket orders this message after every earlier one (scan); the
     * same read-modify-write tells whether the receiver may be asleep */
    uint64_t tw = __atomic_fetch_add(&h->tw, 2, __ATOMIC_SEQ_CST);
    sl->ticket = (uint32_t)(tw >> 1);
    __atomic_store_n(&sl->state, st_make(ST_READY, pid, gen),
                     __ATOMIC_RELEASE);
    /* The slot after the next send's, for writing: at one message ahead
     * the line came too late (a cross-core transfer takes longer than a
     * send), and the next send's CAS waited for it.  No load of its state
     * first: a demand load that misses holds up the next CAS as well (a
     * locked op waits for earlier loads).  Two ahead, it is not the slot
     * the receiver polls (scan_pos, the hint's when it keeps up); in a
     * full box it holds a message this sender wrote (its line here
     * already, unless the receiver is reading it).  In a box of one or
     * two slots it would be the slot just published or the receiver's
     * next: none there. */
    if (MC_LIKELY(s->g.n > 2)) {
        uint32_t ax = s->hint + 1 == s->g.n ? 0 : s->hint + 1;
        prefetch_w(slot_at(s->base, s->g.slots_off, s->g.stride, ax));
    }
    /* the flag was set before this ticket: the receiver may sleep, having
     * missed this message (wake_receiver: only the first sender to see it
     * makes the system call) */
    if (MC_UNLIKELY(tw & TW_SLEEP))
        wake_receiver(h);
    return 0;
}

/* send's general path: copy first, into the scratch buffer, for the slot
 * we expect to take, so that an oversize message fails before a slot is
 * taken (or waited for); then take a slot and move the copy in. */
static __attribute__((noinline)) int send_slow(mc_camlbox_sender *s,
                                               const void *msg, int block)
{
    if (!s || !msg)
        return mc__err(MC_EINVAL, "mc_camlbox_send: NULL argument");
    if (__atomic_load_n(&s->h->closed, __ATOMIC_RELAXED))
        return mc__err(MC_ENOENT, "camlbox: the box was destroyed");
    uint32_t pid = my_pid();
    uint64_t gen;
    size_t used;
    uint32_t k = predict(s);
    int rc = copy_for(s, msg, k, &used);
    if (rc == MC_E2BIG && mc_copy_size(s->t, msg, &used) == 0)
        rc = mc__err(MC_E2BIG, "mc_camlbox_send: the message takes %zu "
                     "bytes, a slot %zu (see mc_copy_size)", used,
                     s->g.slot_size);
    if (rc)
        return rc;
    if (MC_LIKELY(try_take(s, k, pid, &gen))) {
        s->hint = k + 1 == s->g.n ? 0 : k + 1;
    } else {
        int64_t k2 = take_span(s, pid, &gen, CB_SPAN);
        if (k2 < 0 && (k2 = take_blocking(s, pid, &gen, block)) < 0)
            return (int)k2;
        if ((uint32_t)k2 != k) {
            k = (uint32_t)k2;
            if ((rc = copy_for(s, msg, k, &used))) {
                give_back(s, k, gen);
                return rc;
            }
        }
    }
    cb_slot *sl = slot_at(s->base, s->g.slots_off, s->g.stride, k);
    memcpy((char *)sl + CB_SLOT_HDR, s->scratch, used);
    return publish(s, sl, used, pid, gen);
}

/* A flat or pointer-free message, the slot at the hint free (the receiver
 * keeps up): a pointer-free one is copied straight into the slot taken; a
 * flat one into the scratch buffer first, in one pass (copy_flat_to, for
 * the hint's slot), so that one too big fails before a slot is taken,
 * then moved in.  The slot's line was prefetched for writing two sends
 * earlier (publish).  Anything else goes to send_slow. */
static inline __attribute__((always_inline)) int
send(mc_camlbox_sender *s, const void *msg, int block)
{
    if (MC_LIKELY(s && msg && s->direct &&
                  !__atomic_load_n(&s->h->closed, __ATOMIC_RELAXED))) {
        uint32_t pid = my_pid(), k = s->hint;
        uint64_t gen;
        size_t used = s->t->size;
        uintptr_t delta = s->delta0 + (uintptr_t)k * s->g.stride;
        /* without strings, a copy calls nothing (no strlen), so that
         * the loop keeps its values in registers */
        if (s->flat &&
            (s->strs ? copy_flat_to(s, msg, s->scratch, delta, &used, 1)
                     : copy_flat_to(s, msg, s->scratch, delta, &used, 0)) !=
                0)
            return send_slow(s, msg, block); /* MC_E2BIG */
        if (MC_LIKELY(try_take(s, k, pid, &gen))) {
            cb_slot *sl = slot_at(s->base, s->g.slots_off, s->g.stride, k);
            /* t->size <= slot_size (create) */
            mc__copy_bytes((char *)sl + CB_SLOT_HDR,
                           s->flat ? s->scratch : (const char *)msg, used);
            s->hint = k + 1 == s->g.n ? 0 : k + 1;
            return publish(s, sl, used, pid, gen);
        }
    }
    return send_slow(s, msg, block);
}

int mc_camlbox_send(mc_camlbox_sender *s, const void *msg)
{
    return send(s, msg, 1);
}

int mc_camlbox_try_send(mc_camlbox_sender *s, const void *msg)
{
    return send(s, msg, 0);
}
