/* heap_internal.h: the layout of a shared heap (internal; see mcore/heap.h).
 *
 * A heap is a header (its own pool chunk) and a list of chunks.  A chunk is
 * a 64-byte chunk header, then blocks that tile [data, top), then bump
 * space [top, end).  A block is a 16-byte block header and a payload that
 * is a multiple of 16 bytes (so payloads are 16-aligned):
 *
 *   word 0: state (8 bits) | mark (8) | type index (16) | size in 16-byte
 *           granules, header included (32)
 *   word 1: element count (allocated) or next free block (free)
 *
 * Crash consistency.  The tiling of every chunk is the ground truth and is
 * valid at every instruction: a block changes state, or a run of blocks
 * becomes one free block, by one store of word 0, always after everything
 * it covers is in place; top moves by one store after the block below it
 * is written.  Free lists and counters are derived: a free list is only
 * ever changed by single stores of a head or a `next` that keep it a list
 * of free blocks, and the collector rebuilds the lists and the counters
 * anyway.  A process killed at any point leaves at worst blocks that are
 * allocated but unreachable (the next collection frees them) or free but
 * unlisted (the next sweep lists them), or a chunk lost to the pool.
 * A copy carves its blocks above top (bump space), or inside the payload
 * of a free block taken off its list (a region, heap.c), where the tiling
 * does not see them until one store commits them.
 *
 * Marks.  Collection n marks with the value (n % 255) + 1, never 0 (the
 * mark of a new block).  After a complete collection every allocated block
 * has the current mark, so marks left by an interrupted collection (no
 * memory for the mark stack, or a reader waiting for a lock: gc.c) can never
 * look like the next one's: no clearing pass is needed, but after 254
 * interrupted collections in a row (`unswept`) the marks of all 255 values
 * may be about, and the next collection clears them first.
 */
#ifndef MC_MEM_HEAP_INTERNAL_H
#define MC_MEM_HEAP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mcore/heap.h"

#define MC__HEAP_MAGIC 0x6d63686561703031ull  /* "mcheap01" */
#define MC__CHUNK_MAGIC 0x6d636368756e6b31ull /* "mcchunk1" */

#define MC__GRAN 16u                 /* block granule and payload alignment */
#define MC__HDR 16u                  /* block header */
#define MC__MIN_BLOCK 32u            /* header + 16 bytes of payload */
#define MC__CHUNK_HDR 64u
#define MC__MIN_CHUNK (64u * 1024u)  /* smallest chunk asked of the pool */
/* Blocks larger than this get a chunk of their own (given back as soon as
 * they die), so that big values do not fragment the shared chunks. */
#define MC__LARGE_BLOCK (16u * 1024u)
/* A collection runs when the bytes allocated since the last one pass
 * max(live bytes after it, this). */
#define MC__GC_MIN_TRIGGER ((size_t)256 * 1024)
/* Heaps whose container tells its garbage (data/arr.h: mc__heap_garbage)
 * also collect after allocating 32 times max(live bytes, this). */
#define MC__GC_ADAPT_MIN ((size_t)1024 * 1024)

#define MC__NTYPES 512   /* types per heap (index 0 unused) */
#define MC__NREADERS 256 /* reader slots (threads reading at once) */

/* Free-list classes: one per size up to MC__SMALL_MAX bytes (exact fit),
 * then one per power of two. */
#define MC__SMALL_MAX 1024u
#define MC__NSMALL (MC__SMALL_MAX / MC__GRAN - 1) /* 32, 48, ... 1024 */
#define MC__NCLASS (MC__NSMALL + 24)

/* block states: unlikely bytes, so garbage is recognised */
#define MC__B_ALLOC 0xA1u
#define MC__B_FREE 0xF4u

#define MC__POISON 0xDB

typedef struct mc__block {
    _Atomic uint64_t w0; /* state, mark, type, granules (one store) */
    uint64_t w1;         /* count, or next free block (as an address) */
} mc__block;

static inline uint64_t mc__bw(unsigned state, unsigned mark, unsigned tidx,
                              size_t bytes)
{
    return (uint64_t)state | (uint64_t)mark << 8 | (uint64_t)tidx << 16 |
           (uint64_t)(bytes / MC__GRAN) << 32;
}
static inline unsigned mc__bw_state(uint64_t w) { return w & 0xff; }
static inline unsigned mc__bw_mark(uint64_t w) { return (w >> 8) & 0xff; }
static inline unsigned mc__bw_type(uint64_t w) { return (w >> 16) & 0xffff; }
static inline size_t mc__bw_bytes(uint64_t w)
{
    return (size_t)(w >> 32) * MC__GRAN;
}

static inline mc__block *mc__hdr(const void *payload)
{
    return (mc__block *)((char *)payload - MC__HDR);
}

/* Relaxed loads and stores of word 0: one instruction each, no fence.
 * Ordering between processes comes from the heap lock. */
static inline uint64_t mc__ld(const mc__block *b)
{
    return atomic_load_explicit(&b->w0, memory_order_relaxed);
}
static inline void mc__st(mc__block *b, uint64_t w)
{
    atomic_store_explicit(&b->w0, w, memory_order_release);
}

typedef struct mc__chunk {
    uint64_t magic;
    struct mc__chunk *next;
    size_t size;       /* bytes, as asked of the pool */
    char *top;         /* blocks tile [data, top) */
    char *end;         /* chunk + size */
    uint64_t pad[3];
} mc__chunk;

_Static_assert(sizeof(mc__chunk) == MC__CHUNK_HDR, "chunk header size");

static inline char *mc__chunk_data(mc__chunk *c)
{
    return (char *)c + MC__CHUNK_HDR;
}

typedef struct mc__htype {
    uint64_t id;
    const mc_type *t;
} mc__htype;

/* A reader slot, one cache line: a thread (tid) claims it once and then
 * publishes the heap's epoch in it while it reads.  `waiting` is set while
 * the reading thread blocks on the heap's lock (or a queue's push lock, whose
 * holder may take the heap's): a collector never waits for such a reader
 * (it would wait for itself), it skips its sweep instead. */
typedef struct mc__reader {
    _Atomic uint64_t epoch;  /* 0: not reading */
    _Atomic int32_t tid;     /* 0: free */
    _Atomic int32_t waiting; /* 1: blocked on a lock (see above) */
    char pad[48];
} mc__reader;

struct mc_heap {
    uint64_t magic;
    uint64_t gen;              /* differs between heaps made at one address */
    mc_pool *pool;
    size_t self_size;          /* bytes of this header's pool chunk */
    /* The lock (heap.c: heap_lock): 0 when free, else its holder's id (a
     * thread id and a tag of that thread's start time, so that a reused
     * id never passes for a live holder).  Taken by one CAS, released by
     * one exchange; a holder that died is found dead by the next locker,
     * which takes the lock over (MC_EOWNERDEAD). */
    _Atomic uint64_t lk;
    _Atomic uint32_t lk_seq;     /* futex word, bumped by a release that
                                    saw sleepers */
    _Atomic uint32_t lk_waiters; /* threads asleep (or going to) on it */
    int debug;                 /* MC_DEBUG was set when the heap was made */
    int gc_requested;          /* collect at the next add (after a crash) */
    _Atomic int32_t holder;    /* OS pid holding the lock (diagnostics) */

    void *_Atomic root;
    mc__chunk *chunks;         /* every chunk, newest first */
    mc__chunk *cur;            /* the chunk bump allocation uses */
    /* every chunk the heap has had lies in [span_lo, span_hi) (a superset:
     * dropping a chunk does not shrink it): the copier's cheap first test
     * for a pointer into this heap (copy.h: link_lo) */
    uintptr_t span_lo, span_hi;
    uint64_t chunk_gen;        /* bumped when a chunk joins or leaves */
    mc__block *flist[MC__NCLASS]; /* free lists, by class */
    /* A free block on no list, whose payload copies carve small blocks
     * from when the current chunk's bump space is spent (heap.c: regions);
     * NULL when none.  Derived as the lists are: collections clear it. */
    mc__block *rgn;
    uint64_t fmask[2];         /* hint: bit c set if flist[c] may be non-empty */

    /* accounting (derived; the collector recomputes it) */
    size_t live_after_gc;
    size_t alloc_since_gc;
    size_t heap_bytes;
    size_t nchunks;
    uint64_t collections;
    double last_pause_ms;
    uint32_t gcno;             /* number of the current/last collection */
    /* opt-in (mc__heap_gc_adaptive, data/arr.h): collections run on the
     * garbage the container told since the last one (gc_garbage), not on
     * the allocation (a growing table: re-marking it at every doubling was
     * most of its collections' cost) */
    uint8_t gc_adapt;
    size_t gc_garbage;
    uint32_t unswept;          /* collections since the last sweep */
    uint64_t skipped;          /* collections that skipped their sweep */

    _Atomic uint64_t epoch;    /* bumped at the start of each collection */
    _Atomic uint32_t ntypes;   /* entries of types[] in use */
    /* type -> index hints, by heap.c's type_index hash: an index only,
     * checked against types[] before use, so a stale or torn hint (a
     * holder that died while writing one) costs a scan, never a wrong
     * type.  A mutation's own cache starts empty; without these, every
     * mutation scanned the table once per type it allocated. */
    _Atomic uint16_t thint[16];
    mc__htype types[MC__NTYPES];
    mc__reader readers[MC__NREADERS];
};

/* A running mutation (process-local). */
struct mc_mut {
    mc_heap *h;
    void **pins;
    size_t npins, cappins;
    struct mc_mut *next_open; /* this thread's open mutations */
    /* (no type cache of its own: the heap's hints serve every mutation,
     * and a mutation is zeroed at each begin: keep it small) */
    /* the heap's chunks sorted by address, as of chunk_gen lk_gen: where a
     * copy looks up a pointer that may be a value of this heap (heap.c:
     * mc__heap_link); made on the first such pointer, NULL until then */
    mc__chunk **lk;
    size_t nlk, caplk;
    uint64_t lk_gen;
    int in_rgn; /* the open copy carves from the heap's rgn, not cur */
};

/* ---------------------------------------------------------- heap.c */

/* Size of the block for count elements of t: header + payload rounded up
 * to granules (at least one).  This is what live_bytes counts. */
static inline size_t mc__heap_block_bytes(const mc_type *t, size_t count)
{
    size_t n = count * t->size;
    if (n < MC__GRAN)
        n = MC__GRAN;
    return MC__HDR + ((n + MC__GRAN - 1) & ~(size_t)(MC__GRAN - 1));
}

/* Carve a block for `count` elements (n payload bytes) from the bump space
 * [*bump, end) of the current chunk, with header word w0 (state and type;
 * the size is added here); NULL if it does not fit or is a large block.
 * The caller moves the chunk's top over what it carved later, in one store
 * (heap.c: copies): blocks above top are bump space, so a crash before that
 * store leaves them free, as the tiling rule wants. */
static inline void *mc__heap_carve(char **bump, const char *end, uint64_t w0,
                                   size_t n, size_t count)
{
    if (__builtin_expect(n > MC__LARGE_BLOCK - MC__HDR, 0))
        return NULL;
    size_t pay = (n + MC__GRAN - 1) & ~(size_t)(MC__GRAN - 1);
    size_t bytes = MC__HDR + (pay ? pay : MC__GRAN);
    if (__builtin_expect(bytes > (size_t)(end - *bump), 0))
        return NULL;
    mc__block *b = (mc__block *)*bump;
    /* bump allocation walks fresh memory: ask for the lines ahead now */
    __builtin_prefetch(*bump + 512, 1, 3);
    b->w1 = count;
    mc__st(b, w0 | (uint64_t)(bytes / MC__GRAN) << 32);
    *bump += bytes;
    return b + 1;
}

/* A container's allocation inside its mutation (data/arr.h:
 * mc__heap_alloc_raw), inline: a block of `bytes` (mc__heap_block_bytes, at
 * most MC__SMALL_MAX) for count elements of the type at index tidx of h's
 * table, its payload not zeroed, taken as alloc_block (heap.c) takes it:
 * the exact-fit free list, else the current chunk's bump space.  NULL when
 * neither has one, or for a free block under MC_DEBUG (its poison is
 * checked): the caller then takes mc__heap_alloc_raw. */
static inline void *mc__heap_alloc_quick(mc_heap *h, unsigned tidx,
                                         size_t bytes, size_t count)
{
    mc__block *b = h->flist[bytes / MC__GRAN - 2];
    if (b) {
        if (__builtin_expect(h->debug, 0))
            return NULL;
        h->flist[bytes / MC__GRAN - 2] = (mc__block *)(uintptr_t)b->w1;
    } else {
        mc__chunk *c = h->cur;
        if (__builtin_expect(!c || bytes > (size_t)(c->end - c->top), 0))
            return NULL;
        b = (mc__block *)c->top;
        /* bump allocation walks fresh memory: ask for the lines ahead */
        __builtin_prefetch((char *)b + 512, 1, 3);
        b->w1 = count;
        mc__st(b, (uint64_t)MC__B_ALLOC | (uint64_t)tidx << 16 |
                      (uint64_t)(bytes / MC__GRAN) << 32);
        c->top = (char *)b + bytes; /* the block joins the tiling */
        h->alloc_since_gc += bytes;
        return b + 1;
    }
    b->w1 = count;
    mc__st(b, (uint64_t)MC__B_ALLOC | (uint64_t)tidx << 16 |
                  (uint64_t)(bytes / MC__GRAN) << 32);
    h->alloc_since_gc += bytes;
    return b + 1;
}

/* The element count of the allocated block whose payload is p. */
static inline size_t mc__heap_count(const void *p)
{
    return (size_t)mc__hdr(p)->w1;
}

/* Free-list class of a free block of `bytes` (a multiple of MC__GRAN). */
unsigned mc__heap_class(size_t bytes);

_Static_assert(MC__NCLASS <= 128, "fmask has two words");

/* Make [b, b + bytes) a free block (it lies outside every list) and list
 * it.  A 16-byte block has no room for a payload and is never handed out:
 * it stays unlisted until a sweep merges it with a neighbour.  The one
 * store of word 0 comes first, so the tiling stays valid. */
static inline void mc__heap_list_free(mc_heap *h, mc__block *b, size_t bytes)
{
    mc__st(b, mc__bw(MC__B_FREE, 0, 0, bytes));
    if (bytes < MC__MIN_BLOCK)
        return;
    if (h->debug)
        memset(b + 1, MC__POISON, bytes - MC__HDR);
    unsigned cl = mc__heap_class(bytes);
    b->w1 = (uint64_t)(uintptr_t)h->flist[cl];
    h->flist[cl] = b;
    h->fmask[cl >> 6] |= 1ull << (cl & 63);
}

/* The mc_type of a type index (NULL if not in use). */
const mc_type *mc__heap_type(const mc_heap *h, unsigned tidx);

/* 1 if the calling thread has a mutation of h open (a container whose
 * own lock is taken before the heap's refuses such a caller, who would
 * wait for a thread that waits for the heap). */
int mc__heap_mutating(const mc_heap *h);

/* Give a wholly free chunk back to the pool (after unlinking it). */
void mc__heap_drop_chunk(mc_heap *h, mc__chunk *c);

/* Wait until no reader slot shows an epoch older than `epoch` (slots of
 * dead threads are cleared, the caller's own is skipped).  0, or -1 at once
 * when such a slot's thread waits for a lock (mc__reader): the caller must
 * not free anything then. */
int mc__heap_wait_readers(mc_heap *h, uint64_t epoch);

/* Around a blocking lock that h's lock holder may wait for (h's own, or a
 * queue's push lock): if the calling thread is reading h, its slot says it
 * waits, so that no collector waits for it.  lock_wait returns what
 * lock_waited takes back (-1: not reading h). */
int mc__heap_lock_wait(mc_heap *h);
void mc__heap_lock_waited(mc_heap *h, int s);

/* mc_heap_add for callers that know their arguments (non-NULL) and mut
 * (an open mutation of this thread: mc_heap_modify's callback): sref
 * assignments. */
int mc__heap_add_in(mc_mut *mut, const mc_type *t, const void *value,
                    void **shared);

/* ------------------------------------------------------------ gc.c */

/* Collect, with the lock held.  Roots: the root and pins[0..npins).
 * @return 0, or MC_ENOMEM (no memory for the mark stack: nothing freed),
 * or MC_EAGAIN (a reader waits for a lock: nothing freed) */
int mc__heap_collect(mc_heap *h, void *const *pins, size_t npins);

/* A heap copy meets a type not in its header cache: enter it (the type's
 * index in h's table, as an allocation would) and return its slot, or -1
 * (a type the heap refuses: the copier's slow path reports why).  Cheaper
 * than the slow path, which a small copy took once per type. */
struct mc_copier;
int mc__heap_copy_hc(struct mc_copier *c, const mc_type *t);

/* MC_DEBUG check of every chunk, block, free list and traced pointer;
 * aborts with a message on the first inconsistency. */
void mc__heap_verify(mc_heap *h, const char *when);

#endif
