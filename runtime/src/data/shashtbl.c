/* shashtbl.c: shared hash tables (see mcore/shashtbl.h).
 *
 * Layout.  The table is a heap (the "main" heap: its descriptor names the
 * table) whose root `tbl` holds the header value, the types, the seed and
 * the 16 shards.  Each shard is a heap of its own, so that its lock is the
 * shard lock and its collector and reader slots serve it alone.  A shard's
 * root holds `st`, a pointer to an immutable-shape `tabs` record: the
 * current bucket array and, during a resize, the old one with the count of
 * old buckets already moved (`migrated`).  A bucket is a chain of `ent`s,
 * newest binding first; an entry points to its key's and value's copies.
 *
 * Routing.  A key's old bucket ob = h & (old_n - 1) is still in use while
 * ob >= migrated; otherwise the key lives in cur[h & (cur_n - 1)].  Readers
 * and writers route the same way, from one load of st and of migrated.
 *
 * Readers take no lock.  They run inside the shard heap's reader slot
 * (mc_heap_root_p): the collector frees nothing a reader that started
 * before it may still see.  Writers change what readers follow only by
 * single release stores of pointers, after what they publish is complete:
 *   - add: a new entry (key and value copied) is linked at its bucket's
 *     head;
 *   - remove: the link to the entry becomes the entry's next (a reader
 *     standing on it goes on along its next);
 *   - replace/update: the entry's value pointer is swung to a new copy
 *     (an inline value, at most 8 bytes, is stored in one store);
 *   - resize start: a new tabs (old = the current array, cur = a zeroed
 *     array GROW times as large) replaces st;
 *   - resize step: old bucket ob's entries are *copied*, in order, into
 *     GROW fresh chains (by the next hash bits), which are stored into
 *     cur[ob + j * old_n]; then migrated = ob + 1.  The chain's last run
 *     of entries bound for one new bucket is not copied but shared: the
 *     new chain ends in it (move_bucket).  The old chain is never changed
 *     but by removes (of a shared entry's successor), so a reader that
 *     routed to it before still walks it whole, and a binding is never
 *     out of every chain a reader may take;
 *   - resize end: a new tabs without old replaces st.
 *
 * Crash consistency (the one-store discipline; no intent record is
 * needed).  Every step above commits with one store, and what it builds
 * before that store is reachable from the shard root's pend fields (so a
 * collection in the middle keeps it) and garbage after a crash.  A resize
 * step killed between its bucket stores leaves migrated unchanged:
 * nobody routes to the half-written new buckets, and the next step writes
 * them all again.  Only the count is derived: the next locker after a death
 * (mc_heap_begin says MC_EOWNERDEAD) recounts the shard, clears the pend
 * fields and reports MC_EOWNERDEAD once its own operation is done.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "mcore/shashtbl.h"
#include "data/arr.h"
#include "mem/copy.h"
#include "mem/heap_descr.h"
#include "mem/heap_internal.h"
#include "proc/stat.h"

#define NSH MC_SHASHTBL_SHARDS
#define SH_SHIFT 60 /* the top 4 bits of the hash pick the shard */
_Static_assert(NSH == 16, "SH_SHIFT assumes 16 shards");

#define INIT_BUCKETS 8
/* A resize multiplies the buckets by GROW: each binding is copied about
 * 1 / (GROW - 1) times while a table grows (a third of doubling's copies),
 * and the load stays between 1/GROW and 1. */
#define GROW 4
#define MIGRATE_STEP 2  /* non-empty old buckets moved per write */
#define MIGRATE_SCAN 32 /* old buckets looked at per write, at most */
#define NSENT 7          /* string entry types (sent_type) */

#define TBL_MAGIC 0x6d63687461626c31ull   /* "mchtabl1" */
#define SHARD_MAGIC 0x6d63687368726431ull /* "mchshrd1" */

#define LOADP(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STOREP(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* A binding.  Its key and value live in the entry itself when their
 * type is small (key up to 16 bytes, value up to 8, so that a replace is
 * one store), with their pointees (a string's bytes) in blocks of their
 * own; otherwise key and val point to copies.  The types are kept in the
 * entry for its copy and trace routines (mc_types have one address in
 * every process of a session). */
typedef struct ent {
    struct ent *next;
    uint64_t hash;
    void *key;       /* a copy of the key; NULL: inline, in kin */
    void *val;       /* a copy of the value; NULL: inline, in vin */
    uint64_t kin[2];
    uint64_t vin;
    /* The fields above are every entry's (readers use no others).  A
     * string entry (sent_type) has no kt and vt: its count word and the
     * string's bytes, if inline, take their place (ent_str). */
    const mc_type *kt, *vt;
} ent;

/* String entries.  In a table of plain inline keys and string values
 * (tbl.sv) every entry is one block of a sent_type[k]: the fixed fields,
 * then, when the string fits the block's room, `n` (the bytes with the
 * NUL) and the bytes themselves, at SOFF, with vin pointing to them; a
 * binding is one allocation.  The count word at SOFF - 8 lets a local
 * copy read the string as it reads a string block (copy.c: the count
 * before the payload).  The copier never shares an inline string as a
 * block of its own (mc__heap_link): the word at SOFF - 16 is vin, a
 * 16-aligned address or NULL, never a live block's header.  A string too
 * long for the largest room, or one a replace stored, is a block of its
 * own, as in other entries (vin != ent_str(e)). */
#define SOFF 64
_Static_assert(offsetof(ent, vin) + 8 == SOFF - 8 &&
                   offsetof(ent, kt) == SOFF - 8 && SOFF % 16 == 0,
               "string entry layout");

static inline char *ent_str(const ent *e)
{
    return (char *)e + SOFF;
}

static inline uint64_t *ent_strn(ent *e)
{
    return (uint64_t *)(void *)((char *)e + SOFF - 8);
}

static inline const void *ekey(const ent *e)
{
    return e->key ? e->key : (const void *)e->kin;
}

static inline const void *eval(ent *e)
{
    void *v = LOADP(&e->val);
    return v ? v : (const void *)&e->vin;
}

typedef struct tabs {
    ent **old;       /* NULL when no resize runs */
    size_t old_n;
    ent **cur;
    size_t cur_n;    /* a power of two */
    size_t migrated; /* old buckets [0, migrated) live in cur */
} tabs;

typedef struct shard {
    uint64_t magic;
    tabs *st;
    ent *pend[GROW]; /* chains being built: roots until published */
    void *pend_arr;  /* a bucket array being set up */
    void *pend_blk;  /* an add's value block, until its entry is linked */
    size_t count;    /* bindings (derived: recounted after a crash) */
    uint64_t resizes;
    /* the shard heap's type indices of sent_type[k] (k < NSENT) and of
     * ent_type (k == NSENT), 0 until learnt (ent_alloc): one store each,
     * so a crash leaves an index or 0 */
    uint16_t tix[NSENT + 1];
} shard;

typedef struct tbl {
    void *header; /* first: the header is *(void **)root, as for srefs */
    uint64_t magic;
    const mc_type *kt, *vt, *ht;
    uint64_t seed;
    int ik, iv; /* keys, values inline in the entries */
    int sv;     /* plain inline keys, string values: string entries */
    mc_heap *shards[NSH]; /* other heaps: not traced */
} tbl;

/* ------------------------------------------------------ internal types */

static void ent_trace(mc_tracer *tr, const void *obj)
{
    const ent *e = obj;
    mc_trace_ptr(tr, e->next);
    if (e->key)
        mc_trace_ptr(tr, e->key);
    else if (e->kt && e->kt->trace)
        e->kt->trace(tr, e->kin);
    void *v = LOADP(&((ent *)e)->val);
    if (v)
        mc_trace_ptr(tr, v);
    else if (e->vt && e->vt->trace)
        e->vt->trace(tr, &e->vin);
}

static void sent_trace(mc_tracer *tr, const void *obj)
{
    const ent *e = obj;
    mc_trace_ptr(tr, e->next);
    const char *v =
        (const char *)(uintptr_t)LOADP(&((ent *)e)->vin); /* a char * */
    if (v != ent_str(e))
        mc_trace_ptr(tr, v); /* a block of its own (NULL: nothing) */
}

/* One element of t at src into the entry's inline room dst (zeroed): its
 * copy routine (which copies its pointees into the target), or its bytes. */
static int copy_inline(mc_copier *c, const mc_type *t, void *dst,
                       const void *src)
{
    if (t->copy)
        return t->copy(c, dst, src);
    memcpy(dst, src, t->size);
    return 0;
}

/* A new binding is one copy of a prototype entry made by w_add, whose key
 * and val point to the caller's local key and value: the entry, the key
 * and the value are copied in one pass of the heap's copier. */
static int ent_copy(mc_copier *c, void *dst, const void *src)
{
    const ent *s = src;
    ent *d = dst;
    d->hash = s->hash;
    d->kt = s->kt;
    d->vt = s->vt;
    int rc = s->kin[0] ? copy_inline(c, s->kt, d->kin, s->key)
                       : mc_copy_own(c, s->kt, 1, &s->key, &d->key);
    if (!rc)
        rc = s->vin ? copy_inline(c, s->vt, &d->vin, s->val)
                    : mc_copy_own(c, s->vt, 1, &s->val, &d->val);
    return rc;
}

static void bucket_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, *(ent *const *)obj);
}

static void tabs_trace(mc_tracer *tr, const void *obj)
{
    const tabs *t = obj;
    mc_trace_ptr(tr, t->old);
    mc_trace_ptr(tr, t->cur);
}

static int shard_copy(mc_copier *c, void *dst, const void *src)
{
    (void)c;
    const shard *s = src;
    shard *d = dst;
    d->magic = s->magic; /* an empty shard: st is installed afterwards */
    return 0;
}

static void shard_trace(mc_tracer *tr, const void *obj)
{
    const shard *s = obj;
    mc_trace_ptr(tr, s->st);
    for (int j = 0; j < GROW; j++)
        mc_trace_ptr(tr, s->pend[j]);
    mc_trace_ptr(tr, s->pend_arr);
    mc_trace_ptr(tr, s->pend_blk);
}

static int tbl_copy(mc_copier *c, void *dst, const void *src)
{
    const tbl *s = src;
    tbl *d = dst;
    d->magic = s->magic;
    d->kt = s->kt;
    d->vt = s->vt;
    d->ht = s->ht;
    d->seed = s->seed;
    d->ik = s->ik;
    d->iv = s->iv;
    d->sv = s->sv;
    return s->ht ? mc_copy_ptr(c, s->ht, 1, &s->header, &d->header) : 0;
}

static void tbl_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, ((const tbl *)obj)->header);
}

/* Not user-visible: their ids are never in a descriptor but the table's,
 * which mc__heap_of_ref checks as the root type. */
static const mc_type ent_type = {
    .name = "mc_shashtbl_entry", .id = 0x6d6368745f656e74ull,
    .size = sizeof(ent), .align = _Alignof(ent), .copy = ent_copy,
    .trace = ent_trace,
};
/* String entries by room for the bytes (SOFF + room: a multiple of the
 * heap's 16-byte granule, so that no room is wasted). */
#define SENT(room, idc)                                                    \
    {                                                                      \
        .name = "mc_shashtbl_sentry" #room,                                \
        .id = 0x6d63687473000000ull + (idc), .size = SOFF + (room),        \
        .align = _Alignof(ent), .trace = sent_trace,                       \
    }
static const mc_type sent_type[NSENT] = {
    SENT(16, 1), SENT(32, 2), SENT(48, 3), SENT(64, 4),
    SENT(96, 5), SENT(128, 6), SENT(192, 7),
};

/* The smallest string entry type with room for n bytes (n == 0: the
 * smallest), or NULL when none has. */
static inline const mc_type *sent_for(size_t n)
{
    for (int k = 0; k < NSENT; k++)
        if (SOFF + n <= sent_type[k].size)
            return &sent_type[k];
    return NULL;
}

static const mc_type bucket_type = {
    .name = "mc_shashtbl_bucket", .id = 0x6d6368745f626b74ull,
    .size = sizeof(ent *), .align = _Alignof(ent *), .trace = bucket_trace,
};
static const mc_type tabs_type = {
    .name = "mc_shashtbl_tabs", .id = 0x6d6368745f746273ull,
    .size = sizeof(tabs), .align = _Alignof(tabs), .trace = tabs_trace,
};
static const mc_type shard_type = {
    .name = "mc_shashtbl_shard", .id = 0x6d6368745f736864ull,
    .size = sizeof(shard), .align = _Alignof(shard), .copy = shard_copy,
    .trace = shard_trace,
};
static const mc_type tbl_type = {
    .name = "mc_shashtbl", .id = 0x6d6368745f74626cull,
    .size = sizeof(tbl), .align = _Alignof(tbl), .copy = tbl_copy,
    .trace = tbl_trace,
};

#define MAINHEAP(t) ((mc_heap *)(t))

/* Tests only (tests/test_shashtbl.c): called, when set, inside the
 * windows of a write that the one-store discipline must survive a death
 * in (1: an add linked, its count not yet; 2: a resize step between its
 * bucket stores; 3: a remove unlinked, its count not yet).  Never set
 * by the library. */
void (*mc__shashtbl_crash_hook)(int where);

#define CRASH_POINT(w)                                                     \
    do {                                                                   \
        if (MC_UNLIKELY(mc__shashtbl_crash_hook != NULL))                  \
            mc__shashtbl_crash_hook(w);                                    \
    } while (0)

/* This thread is inside a read callback / an update callback: writes
 * would free what the read holds, or deadlock on the shard lock. */
static _Thread_local int in_read, in_update;

/* ------------------------------------------------------------ helpers */

static tbl *live(mc_shashtbl *t)
{
    tbl *T = mc_heap_root_ro(MAINHEAP(t)); /* NULL: NULL or destroyed */
    if (!T || mc_heap_root_type(MAINHEAP(t)) != &tbl_type ||
        T->magic != TBL_MAGIC)
        return NULL;
    return T;
}

static int dead(const char *fn, mc_shashtbl *t)
{
    return mc__err(MC_EINVAL, "%s: %p is not a live hash table", fn,
                   (void *)t);
}

/* mc_hash_mix's round (builtin_types.c), inlined for khash's fast path. */
static inline uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x * 0x9fb21c651e98df25ull;
    h = (h << 31) | (h >> 33);
    return h * 0xc2b2ae3d27d4eb4full;
}

static inline uint64_t khash(const tbl *T, const void *key)
{
    const mc_type *kt = T->kt;
    if (kt->hash == mc_type_i64.hash || kt->hash == mc_type_u64.hash) {
        /* the same value as the type's hash (mc_hash_bytes of 8 bytes)
         * without its calls and loop: a fifth of an add's instructions
         * went to hashing an i64 key */
        uint64_t w;
        memcpy(&w, key, 8);
        return mix(T->seed, mix(mix(MC_HASH_SEED, w), 0));
    }
    return mc_hash_mix(T->seed, kt->hash(key));
}

static inline mc_heap *shard_heap(const tbl *T, uint64_t h)
{
    return T->shards[h >> SH_SHIFT];
}

/* The bucket a key of hash h lives in, under the tabs tb. */
static inline ent **route(const tabs *tb, uint64_t h)
{
    if (tb->old) {
        size_t ob = h & (tb->old_n - 1);
        if (ob >= LOADP(&tb->migrated))
            return &tb->old[ob];
    }
    return &tb->cur[h & (tb->cur_n - 1)];
}

static inline ent *find_ent(const tbl *T, const tabs *tb, uint64_t h,
                            const void *key)
{
    int (*eq)(const void *, const void *) = T->kt->equal;
    for (ent *e = LOADP(route(tb, h)); e; e = LOADP(&e->next))
        if (e->hash == h && eq(ekey(e), key))
            return e;
    return NULL;
}

static size_t chain_len(const ent *e)
{
    size_t n = 0;
    for (; e; e = LOADP(&e->next))
        n++;
    return n;
}

/* Visit every chain of tb once (both halves of a moved old bucket). */
static int each_chain(const tabs *tb, int (*fn)(ent *head, void *ctx),
                      void *ctx)
{
    int rc = 0;
    if (tb->old) {
        for (size_t ob = 0; ob < tb->old_n && !rc; ob++) {
            if (ob >= LOADP(&tb->migrated))
                rc = fn(LOADP(&tb->old[ob]), ctx);
            else /* its GROW new buckets */
                for (size_t b = ob; b < tb->cur_n && !rc; b += tb->old_n)
                    rc = fn(LOADP(&tb->cur[b]), ctx);
        }
        return rc;
    }
    for (size_t b = 0; b < tb->cur_n && !rc; b++)
        rc = fn(LOADP(&tb->cur[b]), ctx);
    return rc;
}

/* ------------------------------------------------------------- writes */

/* Garbage is told to the shard heap (mc__heap_garbage): its collections
 * run when a good part of the heap is garbage, so a table that grows pays
 * for none (data/arr.h).  The block bytes of p (NULL: 0). */
static inline size_t blk_bytes(const void *p)
{
    return p ? mc__bw_bytes(mc__ld(mc__hdr(p))) : 0;
}

/* 1 if an entry's inline value is a string pointer (vin). */
static inline int vin_str(const tbl *T)
{
    return T->sv || (T->iv && T->vt == &mc_type_str);
}

/* What an unlinked entry leaves: its block, its key's and value's blocks
 * (their own pointees are not counted: collections find them anyway). */
static size_t ent_garbage(const tbl *T, ent *e)
{
    size_t n = blk_bytes(e) + blk_bytes(e->key);
    void *v = LOADP(&e->val);
    if (v) {
        n += blk_bytes(v);
    } else if (vin_str(T)) {
        const char *x = (const char *)(uintptr_t)LOADP(&e->vin);
        if (x != ent_str(e))
            n += blk_bytes(x);
    }
    return n;
}

/* One element of t for a write (see w_cb: the operation checked the
 * collection trigger once): the heap's quick path, its payload not zeroed
 * (the caller sets every field); mc_heap_alloc (zeroed, may collect: what
 * the write built so far is in the pend fields) when the pool is full. */
static inline int ent_alloc(mc_mut *mut, shard *s, const mc_type *t,
                            ent **out)
{
    int k = t == &ent_type ? NSENT : (int)(t - sent_type);
    unsigned ti = s->tix[k];
    void *p = NULL;
    if (MC_LIKELY(ti))
        p = mc__heap_alloc_quick(mut->h, ti, mc__heap_block_bytes(t, 1), 1);
    if (MC_UNLIKELY(!p)) {
        p = mc__heap_alloc_raw(mut, t, 1);
        if (!p)
            return mc_heap_alloc(mut, t, 1, (void **)out);
        if (!ti) /* the index the heap gave t, from the block's header */
            s->tix[k] = (uint16_t)mc__bw_type(mc__ld(mc__hdr(p)));
    }
    *out = p;
    return 0;
}

typedef struct wr {
    tbl *T;
    mc_mut *mut;
    shard *s;
    uint64_t h;
    int dead; /* the previous writer died: reported at the end */
    int ran;  /* the lock was taken and w_cb ran */
    int op;   /* OP_* */
    const char *fn;
    const void *key, *value;
    mc_shashtbl_update_fn *ufn;
    void *uctx;
} wr;

static int count_fn(ent *head, void *ctx)
{
    *(size_t *)ctx += chain_len(head);
    return 0;
}

/* The previous holder died: what it half-built is garbage (the pend
 * fields let it go), the count is recounted. */
static void recover(shard *s)
{
    memset(s->pend, 0, sizeof s->pend);
    s->pend_arr = NULL;
    s->pend_blk = NULL;
    size_t n = 0;
    if (s->st)
        each_chain(s->st, count_fn, &n);
    __atomic_store_n(&s->count, n, __ATOMIC_RELAXED);
}

/* A fresh tabs with n empty buckets (n == 0: the array `keep` of
 * keep_n), old = NULL; NULL when the pool is full. */
static tabs *new_tabs(mc_mut *mut, shard *s, ent **old, size_t old_n,
                      size_t n, ent **keep, size_t keep_n)
{
    ent **arr = keep;
    if (n) {
        if (mc_heap_alloc(mut, &bucket_type, n, (void **)&arr))
            return NULL;
        s->pend_arr = arr; /* the next allocation may collect */
    } else {
        n = keep_n;
    }
    tabs *tb;
    int rc = mc_heap_alloc(mut, &tabs_type, 1, (void **)&tb);
    s->pend_arr = NULL; /* arr stays reachable through tb, or is garbage */
    if (rc)
        return NULL;
    tb->old = old;
    tb->old_n = old_n;
    tb->cur = arr;
    tb->cur_n = n;
    tb->migrated = 0;
    return tb;
}

/* Move old bucket ob into cur (see the top of the file).  0 or ENOMEM. */
static int move_bucket(const tbl *T, mc_mut *mut, shard *s, tabs *tb,
                       size_t ob)
{
    ent *tail[GROW] = {NULL};
    size_t mask = tb->cur_n - 1, on = tb->old_n;
    /* both powers of two: shifts, not divisions (a 64-bit division is
     * tens of cycles, and this ran three of them per bucket) */
    unsigned osh = (unsigned)__builtin_ctzll(on);
    size_t f = tb->cur_n >> osh; /* GROW */
    /* The chain's last run of entries bound for one new bucket (most
     * chains are one entry long: the whole chain) goes into that bucket
     * as it is, shared by the old chain and the new: only the entries
     * before it are copied (as Java's ConcurrentHashMap does).  A shared
     * entry's next changes afterwards only when its successor is removed,
     * which a reader of the old chain may see as any reader sees a
     * remove; adds link at the heads, never behind a shared entry. */
    ent *run = tb->old[ob];
    if (!run)
        return 0;
    size_t runj = (run->hash & mask) >> osh;
    for (ent *e = run->next; e; e = e->next) {
        size_t j = (e->hash & mask) >> osh;
        if (j != runj) {
            run = e;
            runj = j;
        }
    }
    memset(s->pend, 0, sizeof s->pend);
    size_t g = 0; /* the copied entries: garbage at the resize's end */
    for (ent *e = tb->old[ob]; e != run; e = e->next) {
        ent *c;
        uint64_t vin = LOADP(&e->vin);
        /* a string entry's inline bytes are copied with it (the old entry
         * is garbage once the resize ends); other values are shared */
        size_t n = T->sv && vin == (uintptr_t)ent_str(e) ? *ent_strn(e) : 0;
        int rc = ent_alloc(mut, s, T->sv ? sent_for(n) : &ent_type, &c);
        if (rc) {
            memset(s->pend, 0, sizeof s->pend);
            return rc;
        }
        c->next = NULL; /* (not zeroed: every field is set here) */
        c->hash = e->hash;
        if (n) {
            *ent_strn(c) = n;
            memcpy(ent_str(c), ent_str(e), n);
            vin = (uintptr_t)ent_str(c);
        } else if (!T->sv) {
            c->kt = e->kt;
            c->vt = e->vt;
        } else {
            *ent_strn(c) = 0;
        }
        g += mc__heap_block_bytes(T->sv ? sent_for(n) : &ent_type, 1);
        c->key = e->key; /* the key's and value's blocks are shared */
        c->val = LOADP(&e->val);
        memcpy(c->kin, e->kin, sizeof c->kin);
        c->vin = vin;
        size_t j = (e->hash & mask) >> osh;
        if (tail[j])
            tail[j]->next = c;
        else
            s->pend[j] = c;
        tail[j] = c;
    }
    if (tail[runj])
        tail[runj]->next = run;
    else
        s->pend[runj] = run;
    for (size_t j = 0; j < f; j++) {
        STOREP(&tb->cur[ob + j * on], s->pend[j]);
        if (j == 0)
            CRASH_POINT(2);
    }
    memset(s->pend, 0, sizeof s->pend);
    mc__heap_garbage(mut, g);
    return 0;
}

/* The incremental part of every write: start a resize when the shard
 * holds more bindings than buckets, else move a few old buckets, and end
 * the resize after the last.  Failures (a full pool) only postpone. */
static void resize_step(const tbl *T, mc_mut *mut, shard *s)
{
    tabs *tb = s->st;
    if (!tb->old) {
        if (s->count <= tb->cur_n || tb->cur_n > ((size_t)1 << 36))
            return;
        tabs *nt = new_tabs(mut, s, tb->cur, tb->cur_n, tb->cur_n * GROW,
                            NULL, 0);
        if (nt) {
            STOREP(&s->st, nt);
            s->resizes++;
            mc__heap_garbage(mut, blk_bytes(tb));
        }
        return;
    }
    size_t m = tb->migrated;
    for (int moved = 0, looked = 0; m < tb->old_n && moved < MIGRATE_STEP &&
                                    looked < MIGRATE_SCAN;
         looked++) {
        if (tb->old[m]) {
            if (move_bucket(T, mut, s, tb, m))
                return;
            moved++;
        }
        STOREP(&tb->migrated, ++m);
    }
    /* the chains the next steps move are scattered over the heap: ask for
     * their first entries now, while this write and the next go on */
    for (size_t i = m; i < m + 2 * MIGRATE_STEP && i < tb->old_n; i++) {
        ent *e = tb->old[i];
        if (e)
            __builtin_prefetch(e, 0, 3);
    }
    if (m == tb->old_n) {
        tabs *nt = new_tabs(mut, s, NULL, 0, 0, tb->cur, tb->cur_n);
        if (nt) {
            STOREP(&s->st, nt);
            /* the old array, and the old tabs (the copied entries were
             * told by move_bucket) */
            mc__heap_garbage(mut, blk_bytes(tb) + blk_bytes(tb->old));
        }
    }
}

/* A write's operation, run under the shard lock (w_cb). */
enum { OP_ADD, OP_REPLACE, OP_REMOVE, OP_UPDATE };

/* A type whose elements are plain bytes: copied with memcpy. */
static inline int plain(const mc_type *ty)
{
    return !ty->copy && !ty->trace && !(ty->ptrs && ty->nptrs) &&
           !ty->init_sync;
}

/* A new entry for key -> value (not yet linked).  The common shapes (a
 * plain key in the entry; a plain value in it, or a string whose bytes
 * get a block of their own) are built with direct allocations; the others
 * by one pass of the heap's copier over a prototype entry (ent_copy). */
static int ent_new(wr *w, const void *key, const void *value, ent **out)
{
    shard *s = w->s;
    const tbl *T = w->T;
    const mc_type *kt = T->kt, *vt = T->vt;
    int rc;
    if (T->sv) {
        /* one block: the entry and the string's bytes (see ent_str) */
        const char *src = *(char *const *)value;
        size_t n = src ? strlen(src) + 1 : 0;
        const mc_type *et = sent_for(n);
        if (et) {
            ent *e;
            rc = ent_alloc(w->mut, s, et, &e);
            if (rc)
                return rc;
            /* not zeroed: every field is set (next by w_add) */
            e->hash = w->h;
            e->key = NULL;
            e->val = NULL;
            e->kin[1] = 0;
            if (kt->size == 8) { /* the usual key: one move, not a call */
                memcpy(e->kin, key, 8);
            } else {
                e->kin[0] = 0;
                memcpy(e->kin, key, kt->size);
            }
            if (src) {
                *ent_strn(e) = n;
                memcpy(ent_str(e), src, n);
                e->vin = (uint64_t)(uintptr_t)ent_str(e);
            } else {
                *ent_strn(e) = 0;
                e->vin = 0;
            }
            *out = e;
            return 0;
        }
        /* too long for the largest room: a block of its own, below */
    }
    if (T->ik && T->iv && plain(kt) && (vt == &mc_type_str || plain(vt))) {
        char *blk = NULL;
        if (vt == &mc_type_str && *(char *const *)value) {
            const char *src = *(char *const *)value;
            size_t n = strlen(src) + 1;
            rc = mc_heap_alloc(w->mut, &mc_type_bytes, n, (void **)&blk);
            if (rc)
                return rc;
            memcpy(blk, src, n);
            s->pend_blk = blk; /* the entry's allocation may collect */
        }
        ent *e;
        rc = mc_heap_alloc(w->mut, T->sv ? &sent_type[0] : &ent_type, 1,
                           (void **)&e);
        if (rc) {
            s->pend_blk = NULL;
            return rc;
        }
        e->hash = w->h;
        if (!T->sv) { /* a string entry has no types (ent_str) */
            e->kt = kt;
            e->vt = vt;
        }
        memcpy(e->kin, key, kt->size);
        if (vt == &mc_type_str)
            memcpy(&e->vin, &blk, sizeof blk);
        else
            memcpy(&e->vin, value, vt->size);
        *out = e; /* pend_blk is cleared once e is linked */
        return 0;
    }
    /* the prototype: kin[0] and vin only say "inline" to ent_copy */
    ent proto = {.hash = w->h, .kt = kt, .vt = vt,
                 .key = (void *)key, .val = (void *)value,
                 .kin = {T->ik, 0}, .vin = (uint64_t)T->iv};
    return mc_heap_add(w->mut, &ent_type, &proto, (void **)out);
}

/* Link a new binding of key to a copy of value. */
static int w_add(wr *w, const void *key, const void *value)
{
    shard *s = w->s;
    ent *e;
    int rc = ent_new(w, key, value, &e);
    if (rc)
        return mc__err_in(rc, w->fn);
    /* no collection until e is linked: nothing allocates in between */
    ent **head = route(s->st, w->h);
    e->next = *head;
    STOREP(head, e);
    s->pend_blk = NULL;
    CRASH_POINT(1);
    __atomic_store_n(&s->count, s->count + 1, __ATOMIC_RELAXED);
    return 0;
}

static int w_set(wr *w, ent *e, const void *value)
{
    void *p;
    int rc = mc_heap_add(w->mut, w->T->vt, value, &p);
    if (rc)
        return mc__err_in(rc, w->fn);
    if (w->T->iv) {
        /* the copy's element goes into the entry in one store (readers see
         * the old value or the new); its block is garbage, its pointees
         * are the entry's from now on.  Nothing collects in between. */
        uint64_t v = 0;
        memcpy(&v, p, w->T->vt->size);
        size_t g = blk_bytes(p);
        if (vin_str(w->T)) {
            const char *x = (const char *)(uintptr_t)e->vin;
            if (x != ent_str(e))
                g += blk_bytes(x);
        }
        STOREP(&e->vin, v);
        mc__heap_garbage(w->mut, g);
        return 0;
    }
    size_t g = blk_bytes(e->val);
    STOREP(&e->val, p); /* the old value is garbage from now on */
    mc__heap_garbage(w->mut, g);
    return 0;
}

/* Unlink the newest binding of the key; 0 or MC_ENOENT. */
static int w_remove(wr *w, const void *key)
{
    shard *s = w->s;
    int (*eq)(const void *, const void *) = w->T->kt->equal;
    ent **link = route(s->st, w->h);
    for (ent *e; (e = *link) != NULL; link = &e->next)
        if (e->hash == w->h && eq(ekey(e), key)) {
            STOREP(link, e->next);
            CRASH_POINT(3);
            __atomic_store_n(&s->count, s->count - 1, __ATOMIC_RELAXED);
            mc__heap_garbage(w->mut, ent_garbage(w->T, e));
            return 0;
        }
    return MC_ENOENT;
}

static int w_update(wr *w)
{
    ent *e = find_ent(w->T, w->s->st, w->h, w->key);
    const void *nv = NULL;
    in_update++;
    int d = w->ufn(e ? eval(e) : NULL, &nv, w->uctx);
    in_update--;
    switch (d) {
    case MC_SHASHTBL_KEEP:
        return 0;
    case MC_SHASHTBL_SET:
        if (!nv)
            return mc__err(MC_EINVAL, "mc_shashtbl_update: the callback "
                                      "said SET without a value");
        return e ? w_set(w, e, nv) : w_add(w, w->key, nv);
    case MC_SHASHTBL_REMOVE:
        return e ? w_remove(w, w->key) : 0;
    default:
        return d < 0 ? d
                     : mc__err(MC_EINVAL, "mc_shashtbl_update: the callback "
                                          "returned %d, not a decision", d);
    }
}

/* The shard's side of every write, in a mutation on the stack (no
 * mc_heap_begin/commit: nothing to allocate for one operation). */
static int w_cb(mc_mut *mut, void *root, void *ctx)
{
    wr *w = ctx;
    w->mut = mut;
    w->s = root;
    w->ran = 1;
    if (w->dead)
        recover(w->s);
    /* the operation's one collection check: its allocations skip it
     * (ent_alloc), and nothing is half-built yet */
    mc__heap_maybe_collect(mut);
    /* the key's bucket slot is most likely a cache miss: ask for it now,
     * so that it arrives while the resize step and the allocations run */
    __builtin_prefetch(route(w->s->st, w->h), 1, 3);
    resize_step(w->T, mut, w->s);
    switch (w->op) {
    case OP_ADD:
        return w_add(w, w->key, w->value);
    case OP_REPLACE: {
        ent *e = find_ent(w->T, w->s->st, w->h, w->key);
        return e ? w_set(w, e, w->value) : w_add(w, w->key, w->value);
    }
    case OP_REMOVE: {
        int rc = w_remove(w, w->key);
        if (rc == MC_ENOENT && !w->dead)
            rc = mc__err(MC_ENOENT, "mc_shashtbl_remove: the key is not "
                                    "bound");
        else if (rc == MC_ENOENT)
            rc = 0; /* the death is the news */
        return rc;
    }
    default:
        return w_update(w);
    }
}

/* Run the write w (op, key, value set) under the key's shard lock. */
static int w_run(mc_shashtbl *t, wr *w)
{
    if (in_read || in_update)
        return mc__err(MC_ESTATE, "%s: called from inside a callback of a "
                                  "hash table read or update", w->fn);
    tbl *T = live(t);
    if (!T)
        return dead(w->fn, t);
    w->T = T;
    w->h = khash(T, w->key);
    w->ran = 0;
    int rc = mc__heap_modify_dead(shard_heap(T, w->h), w_cb, w, &w->dead);
    if (!w->ran) /* the lock failed */
        return mc__err_in(rc, w->fn);
    if (rc < 0)
        return rc;
    if (w->dead)
        return mc__err(MC_EOWNERDEAD, "%s: done; a previous writer of this "
                                      "shard died inside a write (shard "
                                      "recounted)", w->fn);
    return rc;
}

int mc_shashtbl_add(mc_shashtbl *t, const void *key, const void *value)
{
    if (!key || !value)
        return mc__err(MC_EINVAL, "mc_shashtbl_add: NULL argument");
    wr w = {.fn = "mc_shashtbl_add", .op = OP_ADD, .key = key,
            .value = value};
    return w_run(t, &w);
}

int mc_shashtbl_replace(mc_shashtbl *t, const void *key, const void *value)
{
    if (!key || !value)
        return mc__err(MC_EINVAL, "mc_shashtbl_replace: NULL argument");
    wr w = {.fn = "mc_shashtbl_replace", .op = OP_REPLACE, .key = key,
            .value = value};
    return w_run(t, &w);
}

int mc_shashtbl_remove(mc_shashtbl *t, const void *key)
{
    if (!key)
        return mc__err(MC_EINVAL, "mc_shashtbl_remove: NULL argument");
    wr w = {.fn = "mc_shashtbl_remove", .op = OP_REMOVE, .key = key};
    return w_run(t, &w);
}

int mc_shashtbl_update(mc_shashtbl *t, const void *key,
                       mc_shashtbl_update_fn *fn, void *ctx)
{
    if (!key || !fn)
        return mc__err(MC_EINVAL, "mc_shashtbl_update: NULL argument");
    wr w = {.fn = "mc_shashtbl_update", .op = OP_UPDATE, .key = key,
            .ufn = fn, .uctx = ctx};
    return w_run(t, &w);
}

int mc_shashtbl_clear(mc_shashtbl *t)
{
    if (in_read || in_update)
        return mc__err(MC_ESTATE, "mc_shashtbl_clear: called from inside a "
                                  "callback of a hash table read or update");
    tbl *T = live(t);
    if (!T)
        return dead("mc_shashtbl_clear", t);
    int told = 0;
    for (int i = 0; i < NSH; i++) {
        mc_mut *mut;
        int rc = mc_heap_begin(T->shards[i], &mut);
        if (rc && rc != MC_EOWNERDEAD)
            return mc__err_in(rc, "mc_shashtbl_clear");
        shard *s = mc_heap_mut_root(mut);
        if (rc) {
            recover(s);
            told = 1;
        }
        tabs *nt = new_tabs(mut, s, NULL, 0, INIT_BUCKETS, NULL, 0);
        if (nt) {
            STOREP(&s->st, nt);
            __atomic_store_n(&s->count, 0, __ATOMIC_RELAXED);
            mc__heap_garbage(mut, SIZE_MAX); /* all but nt */
        }
        mc_heap_commit(mut);
        if (!nt)
            return mc__err(MC_ENOMEM, "mc_shashtbl_clear: the pool is full "
                                      "(shard %d not cleared)", i);
    }
    return told ? mc__err(MC_EOWNERDEAD, "mc_shashtbl_clear: done; a "
                                         "previous writer died inside a "
                                         "write")
                : 0;
}

/* -------------------------------------------------------------- reads */

typedef struct rd {
    const tbl *T;
    const void *key;
    uint64_t h;
    int (*fn)(const void *value, void *ctx);
    void *ctx;
    void **copy;
    int ran; /* fn ran (its MC_ENOENT is its own) */
} rd;

/* Run cb(shard root, ctx) in the reader protection of the key's shard. */
static int read_shard(mc_heap *hp, int (*cb)(const void *, void *), void *r,
                      const char *fn)
{
    int rc = mc_heap_root_p(hp, cb, r);
    if (rc == MC_ESYS || rc == MC_EOWNERDEAD)
        return mc__err_in(rc, fn);
    return rc;
}

const void *mc_shashtbl_find_ro(mc_shashtbl *t, const void *key)
{
    tbl *T = key ? live(t) : NULL;
    if (!T)
        return NULL;
    uint64_t h = khash(T, key);
    const shard *s = mc_heap_root_ro(shard_heap(T, h));
    ent *e = find_ent(T, LOADP(&s->st), h, key);
    return e ? eval(e) : NULL;
}

static int cb_find_c(const void *root, void *ctx)
{
    rd *r = ctx;
    const shard *s = root;
    ent *e = find_ent(r->T, LOADP(&s->st), r->h, r->key);
    if (!e)
        return MC_ENOENT;
    return mc__local_copy_heap(r->T->vt, eval(e), r->copy);
}

int mc_shashtbl_find_c(mc_shashtbl *t, const void *key, void **copy)
{
    if (!key || !copy)
        return mc__err(MC_EINVAL, "mc_shashtbl_find_c: NULL argument");
    tbl *T = live(t);
    if (!T)
        return dead("mc_shashtbl_find_c", t);
    rd r = {.T = T, .key = key, .h = khash(T, key), .copy = copy};
    int rc = read_shard(shard_heap(T, r.h), cb_find_c, &r,
                        "mc_shashtbl_find_c");
    if (rc == MC_ENOENT)
        return mc__err(MC_ENOENT, "mc_shashtbl_find_c: the key is not "
                                  "bound");
    return rc;
}

static int cb_find_p(const void *root, void *ctx)
{
    rd *r = ctx;
    const shard *s = root;
    ent *e = find_ent(r->T, LOADP(&s->st), r->h, r->key);
    if (!e)
        return MC_ENOENT;
    r->ran = 1;
    in_read++;
    int rc = r->fn(eval(e), r->ctx);
    in_read--;
    return rc;
}

int mc_shashtbl_find_p(mc_shashtbl *t, const void *key,
                       int (*fn)(const void *value, void *ctx), void *ctx)
{
    if (!key || !fn)
        return mc__err(MC_EINVAL, "mc_shashtbl_find_p: NULL argument");
    tbl *T = live(t);
    if (!T)
        return dead("mc_shashtbl_find_p", t);
    rd r = {.T = T, .key = key, .h = khash(T, key), .fn = fn, .ctx = ctx};
    int rc = read_shard(shard_heap(T, r.h), cb_find_p, &r,
                        "mc_shashtbl_find_p");
    if (rc == MC_ENOENT && !r.ran)
        return mc__err(MC_ENOENT, "mc_shashtbl_find_p: the key is not "
                                  "bound");
    return rc;
}

static int cb_mem(const void *root, void *ctx)
{
    rd *r = ctx;
    const shard *s = root;
    return find_ent(r->T, LOADP(&s->st), r->h, r->key) != NULL;
}

int mc_shashtbl_mem(mc_shashtbl *t, const void *key)
{
    if (!key)
        return mc__err(MC_EINVAL, "mc_shashtbl_mem: NULL key");
    tbl *T = live(t);
    if (!T)
        return dead("mc_shashtbl_mem", t);
    rd r = {.T = T, .key = key, .h = khash(T, key)};
    return read_shard(shard_heap(T, r.h), cb_mem, &r, "mc_shashtbl_mem");
}

/* Every value of a key, newest first, into a growable array. */
typedef struct all {
    rd r;
    const void **v;
    size_t n, cap;
    const void *inl[16];
    int (*fn)(const void *const *vals, size_t n, void *ctx);
    void ***copies;
} all;

static int collect(all *a, const shard *s)
{
    int (*eq)(const void *, const void *) = a->r.T->kt->equal;
    a->v = a->inl;
    a->cap = 16;
    a->n = 0;
    for (ent *e = LOADP(route(LOADP(&s->st), a->r.h)); e;
         e = LOADP(&e->next)) {
        if (e->hash != a->r.h || !eq(ekey(e), a->r.key))
            continue;
        if (a->n == a->cap) {
            const void **nv = malloc(2 * a->cap * sizeof *nv);
            if (!nv)
                return MC_ENOMEM;
            memcpy(nv, a->v, a->n * sizeof *nv);
            if (a->v != a->inl)
                free(a->v);
            a->v = nv;
            a->cap *= 2;
        }
        a->v[a->n++] = eval(e);
    }
    return 0;
}

static void collect_free(all *a)
{
    if (a->v != a->inl)
        free(a->v);
}

int mc_shashtbl_find_all_ro(mc_shashtbl *t, const void *key,
                            const void **vals, size_t cap)
{
    if (!key || (!vals && cap))
        return mc__err(MC_EINVAL, "mc_shashtbl_find_all_ro: NULL argument");
    tbl *T = live(t);
    if (!T)
        return dead("mc_shashtbl_find_all_ro", t);
    uint64_t h = khash(T, key);
    const shard *s = mc_heap_root_ro(shard_heap(T, h));
    int n = 0;
    for (ent *e = LOADP(route(LOADP(&s->st), h)); e; e = LOADP(&e->next))
        if (e->hash == h && T->kt->equal(ekey(e), key)) {
            if ((size_t)n < cap)
                vals[n] = eval(e);
            if (n < INT32_MAX)
                n++;
        }
    return n;
}

static int cb_all_c(const void *root, void *ctx)
{
    all *a = ctx;
    int rc = collect(a, root);
    void **c = NULL;
    size_t i = 0;
    if (!rc && a->n) {
        c = calloc(a->n, sizeof *c);
        if (!c)
            rc = MC_ENOMEM;
        for (; !rc && i < a->n; i++)
            rc = mc__local_copy_heap(a->r.T->vt, a->v[i], &c[i]);
        if (rc) {
            mc_shashtbl_free_all(c, i);
            c = NULL;
        }
    }
    *a->copies = c;
    collect_free(a);
    return rc;
}

int mc_shashtbl_find_all_c(mc_shashtbl *t, const void *key, void ***copies,
                           size_t *n)
{
    if (!key || !copies || !n)
        return mc__err(MC_EINVAL, "mc_shashtbl_find_all_c: NULL argument");
    tbl *T = live(t);
    if (!T)
        return dead("mc_shashtbl_find_all_c", t);
    all a = {.r = {.T = T, .key = key, .h = khash(T, key)},
             .copies = copies};
    int rc = read_shard(shard_heap(T, a.r.h), cb_all_c, &a,
                        "mc_shashtbl_find_all_c");
    if (rc == MC_ENOMEM)
        return mc__err(MC_ENOMEM, "mc_shashtbl_find_all_c: no memory for "
                                  "%zu copies", a.n);
    if (!rc)
        *n = a.n;
    return rc;
}

void mc_shashtbl_free_all(void **copies, size_t n)
{
    if (!copies)
        return;
    for (size_t i = 0; i < n; i++)
        mc_local_free(copies[i]);
    free(copies);
}

static int cb_all_p(const void *root, void *ctx)
{
    all *a = ctx;
    int rc = collect(a, root);
    if (!rc) {
        a->r.ran = 1;
        in_read++;
        rc = a->fn(a->v, a->n, a->r.ctx);
        in_read--;
    }
    collect_free(a);
    return rc;
}

int mc_shashtbl_find_all_p(mc_shashtbl *t, const void *key,
                           int (*fn)(const void *const *vals, size_t n,
                                     void *ctx),
                           void *ctx)
{
    if (!key || !fn)
        return mc__err(MC_EINVAL, "mc_shashtbl_find_all_p: NULL argument");
    tbl *T = live(t);
    if (!T)
        return dead("mc_shashtbl_find_all_p", t);
    all a = {.r = {.T = T, .key = key, .h = khash(T, key), .ctx = ctx},
             .fn = fn};
    int rc = read_shard(shard_heap(T, a.r.h), cb_all_p, &a,
                        "mc_shashtbl_find_all_p");
    if (rc == MC_ENOMEM && !a.r.ran)
        return mc__err(MC_ENOMEM, "mc_shashtbl_find_all_p: no memory for "
                                  "the values' array");
    return rc;
}

size_t mc_shashtbl_length(mc_shashtbl *t)
{
    tbl *T = live(t);
    size_t n = 0;
    for (int i = 0; T && i < NSH; i++) {
        const shard *s = mc_heap_root_ro(T->shards[i]);
        n += __atomic_load_n(&s->count, __ATOMIC_RELAXED);
    }
    return n;
}

typedef struct walk {
    int (*fn)(const void *key, const void *value, void *ctx);
    void *ctx;
} walk;

static int walk_chain(ent *e, void *ctx)
{
    walk *w = ctx;
    for (; e; e = LOADP(&e->next)) {
        in_read++;
        int rc = w->fn(ekey(e), eval(e), w->ctx);
        in_read--;
        if (rc)
            return rc;
    }
    return 0;
}

static int cb_walk(const void *root, void *ctx)
{
    const shard *s = root;
    return each_chain(LOADP(&s->st), walk_chain, ctx);
}

static int walk_all(mc_shashtbl *t, walk *w, const char *fn)
{
    if (!w->fn)
        return mc__err(MC_EINVAL, "%s: NULL callback", fn);
    tbl *T = live(t);
    if (!T)
        return dead(fn, t);
    int rc = 0;
    for (int i = 0; i < NSH && !rc; i++)
        rc = read_shard(T->shards[i], cb_walk, w, fn);
    return rc;
}

int mc_shashtbl_iter(mc_shashtbl *t,
                     int (*fn)(const void *key, const void *value, void *ctx),
                     void *ctx)
{
    walk w = {fn, ctx};
    return walk_all(t, &w, "mc_shashtbl_iter");
}

int mc_shashtbl_fold(mc_shashtbl *t,
                     int (*fn)(const void *key, const void *value, void *acc),
                     void *acc)
{
    walk w = {fn, acc};
    return walk_all(t, &w, "mc_shashtbl_fold");
}

static int stat_chain(ent *e, void *ctx)
{
    mc_shashtbl_stats *st = ctx;
    size_t n = chain_len(e);
    if (n > st->longest_chain)
        st->longest_chain = n;
    return 0;
}

static int cb_stats(const void *root, void *ctx)
{
    const shard *s = root;
    mc_shashtbl_stats *st = ctx;
    const tabs *tb = LOADP(&s->st);
    st->bindings += __atomic_load_n(&s->count, __ATOMIC_RELAXED);
    st->buckets += tb->cur_n;
    st->resizes += __atomic_load_n(&s->resizes, __ATOMIC_RELAXED);
    st->resizing += tb->old != NULL;
    return each_chain(tb, stat_chain, st);
}

int mc_shashtbl_stats_get(mc_shashtbl *t, mc_shashtbl_stats *st)
{
    if (!st)
        return mc__err(MC_EINVAL, "mc_shashtbl_stats_get: NULL stats");
    tbl *T = live(t);
    if (!T)
        return dead("mc_shashtbl_stats_get", t);
    memset(st, 0, sizeof *st);
    int rc = 0;
    for (int i = 0; i < NSH && !rc; i++)
        rc = read_shard(T->shards[i], cb_stats, st, "mc_shashtbl_stats_get");
    return rc;
}

/* ------------------------------------------------------------ the rest */

void *mc_shashtbl_header(mc_shashtbl *t)
{
    tbl *T = live(t);
    return T ? LOADP(&T->header) : NULL;
}

mc_heap *mc_shashtbl_header_heap(mc_shashtbl *t)
{
    return live(t) ? MAINHEAP(t) : NULL;
}

const mc_type *mc_shashtbl_key_type(mc_shashtbl *t)
{
    tbl *T = live(t);
    return T ? T->kt : NULL;
}

const mc_type *mc_shashtbl_value_type(mc_shashtbl *t)
{
    tbl *T = live(t);
    return T ? T->vt : NULL;
}

static int set_tabs(mc_mut *mut, void *root, void *ctx)
{
    (void)ctx;
    shard *s = root;
    tabs *tb = new_tabs(mut, s, NULL, 0, INIT_BUCKETS, NULL, 0);
    if (!tb)
        return MC_ENOMEM;
    STOREP(&s->st, tb);
    return 0;
}

static uint64_t new_seed(const void *where)
{
    static _Atomic uint64_t made;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    x = mc_hash_mix(x, (uint64_t)getpid());
    x = mc_hash_mix(x, (uint64_t)(uintptr_t)where);
    return mc_hash_mix(x, atomic_fetch_add(&made, 1));
}

/* A type whose elements of at most cap bytes are stored in the entry:
 * plain bytes, or with pointers that its copy and trace routines handle
 * (a string: one char *).  Not with sync fields (they must not move), not
 * byte strings (NUL-terminated, not t->size bytes), not types known by
 * their pointer table alone. */
static int inline_ok(const mc_type *ty, size_t cap)
{
    int ptrs = ty->trace || (ty->ptrs && ty->nptrs);
    return !ty->init_sync && ty != &mc_type_bytes && ty->size &&
           ty->size <= cap && ty->align <= 8 &&
           (!ptrs || (ty->copy && ty->trace));
}

static int check_type(const mc_type *ty, const char *what)
{
    if (ty->align > 16 || (ty->align & (ty->align - 1)))
        return mc__err(MC_EINVAL, "mc_shashtbl_create: %s type %s: "
                                  "alignment %zu not supported", what,
                       ty->name ? ty->name : "?", ty->align);
    return 0;
}

int mc_shashtbl_create(mc_pool *pool, const mc_type *key_type,
                       const mc_type *val_type, const mc_type *header_type,
                       const void *header_init, mc_shashtbl **t)
{
    if (!pool || !key_type || !val_type || !t)
        return mc__err(MC_EINVAL, "mc_shashtbl_create: NULL argument");
    if (!key_type->hash || !key_type->equal)
        return mc__err(MC_EINVAL, "mc_shashtbl_create: key type %s has no "
                                  "hash and equal",
                       key_type->name ? key_type->name : "?");
    if (!header_type != !header_init)
        return mc__err(MC_EINVAL, "mc_shashtbl_create: a header needs both "
                                  "a type and a value");
    int rc = check_type(key_type, "key");
    if (!rc)
        rc = check_type(val_type, "value");
    if (!rc && header_type)
        rc = check_type(header_type, "header");
    if (rc)
        return rc;
    tbl init = {.header = (void *)header_init, .magic = TBL_MAGIC,
                .kt = key_type, .vt = val_type, .ht = header_type,
                .seed = new_seed(&init), .ik = inline_ok(key_type, 16),
                .iv = inline_ok(val_type, 8)};
    init.sv = init.ik && init.iv && plain(key_type) &&
              val_type == &mc_type_str;
    mc_heap *main;
    rc = mc_heap_create(pool, &tbl_type, &init, &main);
    if (rc)
        return mc__err_in(rc, "mc_shashtbl_create");
    tbl *T = mc_heap_root_ro(main);
    shard sinit = {.magic = SHARD_MAGIC};
    int i;
    for (i = 0; i < NSH && !rc; i++) {
        rc = mc_heap_create(pool, &shard_type, &sinit, &T->shards[i]);
        if (rc)
            break;
        /* a growing shard would be re-marked at each doubling */
        mc__heap_gc_adaptive(T->shards[i]);
        rc = mc_heap_modify(T->shards[i], set_tabs, NULL);
        if (rc) {
            mc_heap_destroy(T->shards[i]);
            break;
        }
    }
    if (rc) {
        while (i-- > 0)
            mc_heap_destroy(T->shards[i]);
        T->magic = 0;
        mc_heap_destroy(main);
        return rc == MC_ENOMEM
                   ? mc__err(MC_ENOMEM, "mc_shashtbl_create: the pool "
                                        "cannot hold the table's shards")
                   : mc__err_in(rc, "mc_shashtbl_create");
    }
    *t = (mc_shashtbl *)main;
    return 0;
}

int mc_shashtbl_destroy(mc_shashtbl *t)
{
    if (in_read || in_update)
        return mc__err(MC_ESTATE, "mc_shashtbl_destroy: called from inside "
                                  "a callback of a hash table read or "
                                  "update");
    tbl *T = live(t);
    if (!T)
        return dead("mc_shashtbl_destroy", t);
    /* refused before anything is freed: a mutation of the header heap */
    mc_mut *probe;
    int rc = mc_heap_begin(MAINHEAP(t), &probe);
    if (rc == MC_ESTATE)
        return mc__err_in(rc, "mc_shashtbl_destroy");
    if (rc == 0 || rc == MC_EOWNERDEAD)
        mc_heap_commit(probe);
    T->magic = 0;
    for (int i = 0; i < NSH; i++)
        mc_heap_destroy(T->shards[i]);
    rc = mc_heap_destroy(MAINHEAP(t));
    return rc ? mc__err_in(rc, "mc_shashtbl_destroy") : 0;
}

/* ------------------------------------------------------------ descriptors */

#define HT_DESCR_MAGIC 0x6d636874626c3031ull /* "mchtbl01" */

int mc_shashtbl_descr_of(mc_shashtbl *t, mc_shashtbl_descr *d)
{
    if (!d)
        return mc__err(MC_EINVAL, "mc_shashtbl_descr_of: NULL argument");
    tbl *T = live(t);
    if (!T)
        return dead("mc_shashtbl_descr_of", t);
    mc__heap_ref ref;
    int rc = mc__heap_ref_of(MAINHEAP(t), &ref);
    if (rc)
        return mc__err_in(rc, "mc_shashtbl_descr_of");
    *d = (mc_shashtbl_descr){.magic = HT_DESCR_MAGIC, .key_id = T->kt->id,
                             .value_id = T->vt->id,
                             .header_id = T->ht ? T->ht->id : 0,
                             .pool = ref.pool, .offset = ref.offset,
                             .gen = ref.gen};
    return 0;
}

static const char *tname(const mc_type *t)
{
    return t ? (t->name ? t->name : "?") : "(none)";
}

int mc_shashtbl_of_descr(const mc_shashtbl_descr *d, const mc_type *key_type,
                         const mc_type *val_type, const mc_type *header_type,
                         mc_shashtbl **t)
{
    if (!d || !key_type || !val_type || !t)
        return mc__err(MC_EINVAL, "mc_shashtbl_of_descr: NULL argument");
    if (d->magic != HT_DESCR_MAGIC)
        return mc__err(MC_EINVAL, "mc_shashtbl_of_descr: not a hash table "
                                  "descriptor");
    mc_heap *h;
    mc__heap_ref ref = {d->pool, d->offset, d->gen};
    int held;
    int rc = mc__heap_of_ref(&ref, &tbl_type, &h, &held,
                             "mc_shashtbl_of_descr");
    if (rc)
        return rc;
    tbl *T = live((mc_shashtbl *)h);
    if (!T)
        return mc__heap_ref_refuse(
            d->pool, held, mc__err(MC_EINVAL, "mc_shashtbl_of_descr: the "
                                              "table was destroyed"));
    uint64_t hid = header_type ? header_type->id : 0;
    if (d->key_id != key_type->id || T->kt->id != key_type->id ||
        d->value_id != val_type->id || T->vt->id != val_type->id ||
        d->header_id != hid || (T->ht ? T->ht->id : 0) != hid)
        return mc__heap_ref_refuse(
            d->pool, held,
            mc__err(MC_ETYPE, "mc_shashtbl_of_descr: the table maps %s to %s "
                    "(header %s), not %s to %s (header %s)", tname(T->kt),
                    tname(T->vt), tname(T->ht), tname(key_type),
                    tname(val_type), tname(header_type)));
    *t = (mc_shashtbl *)h;
    return 0;
}

/* ------------------------------------------- mcadmin stat (proc/stat.h) */

const mc_type *const mc__shashtbl_stat_type = &tbl_type;

int mc__shashtbl_peek(const void *root, const char *lo, const char *hi,
                      uint64_t *length)
{
    const tbl *T = root;
    if ((uintptr_t)hi - (uintptr_t)root < sizeof *T ||
        __atomic_load_n(&T->magic, __ATOMIC_RELAXED) != TBL_MAGIC)
        return -1;
    /* the shards are heaps of the same pool: each checked as a heap, its
     * root against the range, before its count is read */
    uint64_t n = 0;
    for (int i = 0; i < NSH; i++) {
        mc__heap_view v;
        const void *h = __atomic_load_n(&T->shards[i], __ATOMIC_RELAXED);
        if (mc__heap_peek(lo, hi, h, &v) != 0 || !v.root ||
            v.root_type != &shard_type ||
            (uintptr_t)hi - (uintptr_t)v.root < sizeof(shard))
            return -1;
        const shard *sh = v.root;
        n += __atomic_load_n(&sh->count, __ATOMIC_RELAXED);
    }
    *length = n;
    return 0;
}
