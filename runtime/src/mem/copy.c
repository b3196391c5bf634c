/* copy.c: deep copies of typed values (type.h), and process-local copies.
 *
 * The driver (mc__copy_root, mc_copy_ptr, mc_copy_str, mc_copy_alloc) is
 * generic over the target; see copy.h.  Local copies (mc_local_copy) use an
 * arena of malloc()ed blocks: the first block starts with a two-word arena
 * header and then the root, so mc_local_free(root) finds every block from
 * the root alone, and a copy is freed with one walk of a short list.
 */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "mem/arena.h"
#include "mem/bytes.h"
#include "mem/copy.h"
#include "mem/heap_internal.h"
#include "mem/ptr_table.h"

/* The leaf type of strings: elements of one byte, nothing to trace. */
const mc_type mc_type_bytes = {
    .name = "bytes",
    .id = 0x6279746573000001ull, /* fixed: not derived from an IDL text */
    .size = 1,
    .align = 1,
    .copy = NULL,
    .trace = NULL,
    .init_sync = NULL,
};

/* ------------------------------------------------------------ visited */

static inline size_t hash_ptr(const void *p)
{
    /* Allocations are at least 8-aligned: drop the low bits, then mix
     * (Fibonacci hashing) so that neighbours spread over the table. */
    uint64_t x = (uint64_t)(uintptr_t)p >> 3;
    return (size_t)((x * 0x9e3779b97f4a7c15ull) >> 20);
}

static void table_put(mc__copy_pair *t, size_t mask, const void *src,
                      void *dst)
{
    size_t i = hash_ptr(src) & mask;
    while (t[i].src)
        i = (i + 1) & mask;
    t[i].src = src;
    t[i].dst = dst;
}

/* Grow (or create) the table to hold at least 2 * n pairs (load <= 1/2). */
static __attribute__((noinline)) int table_grow(mc_copier *c, size_t n)
{
    size_t cap = 64;
    while (cap < 2 * n)
        cap *= 2;
    mc__copy_pair *t = calloc(cap, sizeof *t);
    if (!t)
        return mc__err(MC_ENOMEM, "copy: no memory for the visited table");
    if (c->table) {
        for (size_t i = 0; i <= c->tmask; i++)
            if (c->table[i].src)
                table_put(t, cap - 1, c->table[i].src, c->table[i].dst);
        free(c->table);
    } else {
        for (size_t i = 0; i < c->nvisit; i++)
            table_put(t, cap - 1, c->small[i].src, c->small[i].dst);
    }
    c->table = t;
    c->tmask = cap - 1;
    return 0;
}

static inline void *visited_get(const mc_copier *c, const void *src)
{
    if (!c->table) {
        for (size_t i = 0; i < c->nvisit; i++)
            if (c->small[i].src == src)
                return c->small[i].dst;
        return NULL;
    }
    size_t i = hash_ptr(src) & c->tmask;
    while (c->table[i].src) {
        if (c->table[i].src == src)
            return c->table[i].dst;
        i = (i + 1) & c->tmask;
    }
    return NULL;
}

static inline int visited_put(mc_copier *c, const void *src, void *dst)
{
    if (!c->table && c->nvisit < MC__COPY_SMALL) {
        c->small[c->nvisit].src = src;
        c->small[c->nvisit].dst = dst;
        c->nvisit++;
        return 0;
    }
    if (!c->table || 2 * (c->nvisit + 1) > c->tmask + 1) {
        int rc = table_grow(c, c->nvisit + 1);
        if (rc)
            return rc;
    }
    table_put(c->table, c->tmask, src, dst);
    c->nvisit++;
    return 0;
}

/* ------------------------------------------------------------- driver */

static int fail(mc_copier *c, int code)
{
    if (!c->err)
        c->err = code;
    return c->err;
}

/* Make room for one more work item (the list is full). */
static __attribute__((noinline)) int work_room(mc_copier *c)
{
    if (c->whead > c->capwork / 2) {
        /* mostly consumed: slide the rest down instead of growing */
        memmove(c->work, c->work + c->whead,
                (c->nwork - c->whead) * sizeof *c->work);
        c->nwork -= c->whead;
        c->whead = 0;
        return 0;
    }
    {
        size_t cap = c->capwork * 2;
        mc__copy_work *w;
        if (c->work == c->work_inline) {
            w = malloc(cap * sizeof *w);
            if (w)
                memcpy(w, c->work, c->nwork * sizeof *w);
        } else {
            w = realloc(c->work, cap * sizeof *w);
        }
        if (!w)
            return fail(c, mc__err(MC_ENOMEM, "copy: no memory for the "
                                              "work list"));
        c->work = w;
        c->capwork = cap;
    }
    return 0;
}

static inline int push_work(mc_copier *c, const mc_type *t, size_t count,
                            const void *src, void *dst)
{
    int rc;
    if (MC_UNLIKELY(c->nwork == c->capwork) && (rc = work_room(c)))
        return rc;
    c->work[c->nwork++] = (mc__copy_work){t, count, src, dst};
    return 0;
}

static int init_sync_all(mc_copier *c, const mc_type *t, char *dst,
                         size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int rc = t->init_sync(dst + i * t->size);
        if (rc)
            return fail(c, rc);
    }
    return 0;
}

/* most types have no sync fields: test that before making a call */
#define RUN_INIT_SYNC(c, t, dst, count)                                     \
    ((c)->init_sync && (t)->init_sync                                      \
         ? init_sync_all((c), (t), (char *)(dst), (count))                 \
         : 0)

/* The target's hook: the slow path of the allocations below, out of
 * line so that the inlined fast paths stay small. */
static __attribute__((noinline)) void *alloc_hook(mc_copier *c,
                                                  const mc_type *t,
                                                  size_t count, int raw)
{
    c->raw = raw;
    void *p = c->alloc(c, t, count);
    c->raw = 0;
    if (!p)
        fail(c, MC_ENOMEM);
    return p;
}

/* What the inlined paths below know of a copy: its target's bump kind
 * (MC__BUMP_*), whether the source is a heap's value (string lengths in
 * block headers), and whether stored pointers are relocated.  drain()
 * runs the pointer tables with each usual mode as a constant, so that
 * these tests fold away from the per-field work. */
typedef struct mode {
    int kind, src_heap, reloc;
} mode;
#define MODE_OF(c) ((mode){(c)->bump_kind, (c)->src_heap, (c)->reloc != NULL})

/* What a pointer field stores for the target address d. */
static inline __attribute__((always_inline)) void *reloc_of(mc_copier *c,
                                                            void *d, mode m)
{
    if (m.kind == MC__BUMP_SLOT)
        return (void *)((uintptr_t)d + c->slot_delta);
    return m.reloc ? c->reloc(c, d) : d;
}

/* count elements of t in the target, zeroed unless raw (the caller fills
 * them at once).  Carved inline from the bump region when they fit; else
 * the target's hook, which also opens a new region.  NULL: c->err set. */
static inline __attribute__((always_inline)) void *
target_alloc(mc_copier *c, const mc_type *t, size_t count, int raw, mode m)
{
    size_t n;
    void *p = NULL;
    if (MC_LIKELY(!__builtin_mul_overflow(count, t->size, &n))) {
        if (m.kind == MC__BUMP_HEAP) {
            int s = mc__copy_hfind(c, t);
            if (MC_UNLIKELY(s < 0))
                s = mc__heap_copy_hc(c, t);
            if (MC_LIKELY(s >= 0))
                p = mc__heap_carve(&c->bump, c->bump_end, c->hc_w[s], n,
                                   count);
        } else if ((m.kind == MC__BUMP_ARENA && t->align <= 16) ||
                   (m.kind == MC__BUMP_SLOT && t->align <= 16 &&
                    !(t->align & (t->align - 1)))) {
            p = mc__arena_carve(&c->bump, c->bump_end,
                                t->align < 8 ? 8 : t->align, n);
        }
        if (p) {
            if (!raw) {
                if (n == 16) /* a small record: inline, not a call */
                    memset(p, 0, 16);
                else
                    memset(p, 0, n);
            }
            return p;
        }
    }
    return alloc_hook(c, t, count, raw);
}

/* n bytes of mc_type_bytes for a string (raw): target_alloc without the
 * type cache, and packed (strings need no alignment) in an arena.  room:
 * the payload a heap block gets, n or more (a constant 16 for short
 * strings folds the block's size computation away). */
static inline __attribute__((always_inline)) char *
bytes_alloc(mc_copier *c, size_t n, size_t room, mode m)
{
    void *p = NULL;
    if (m.kind == MC__BUMP_HEAP) {
        if (MC_UNLIKELY(c->hw_bytes == 0))
            mc__heap_copy_hc(c, &mc_type_bytes);
        if (MC_LIKELY(c->hw_bytes != 0))
            p = mc__heap_carve(&c->bump, c->bump_end, c->hw_bytes, room, n);
    } else if (m.kind == MC__BUMP_ARENA) {
        p = mc__arena_carve(&c->bump, c->bump_end, 1, n);
    } else if (m.kind == MC__BUMP_SLOT) {
        p = mc__arena_carve(&c->bump, c->bump_end, 8, n);
    }
    return MC_LIKELY(p != NULL) ? p : alloc_hook(c, &mc_type_bytes, n, 1);
}

void *mc_copy_alloc(mc_copier *c, const mc_type *t, size_t count)
{
    if (!c || !t || c->err)
        return NULL;
    void *p = target_alloc(c, t, count, 0, MODE_OF(c));
    if (!p)
        return NULL;
    if (RUN_INIT_SYNC(c, t, p, count))
        return NULL;
    return p;
}

/* Into a heap: a pointer of the source to count elements of t that is a
 * value of the target heap is linked (1: store p itself), not copied (0);
 * < 0: an error, recorded.  A pointer outside the heap's chunk range (every
 * pointer of a local value) costs one compare. */
static inline __attribute__((always_inline)) int
try_link(mc_copier *c, const void *p, const mc_type *t, size_t count, mode m)
{
    if (m.kind != MC__BUMP_HEAP || MC_LIKELY(!mc__copy_in_span(c, p)))
        return 0;
    int k = mc__heap_link(c, p, t, count);
    return k < 0 ? fail(c, k) : k;
}

/* One string (NULL allowed) into *dst_field: mc_copy_str without its
 * argument checks, inlined where strings are copied in bulk.  Strings are
 * most allocations of a typical graph, so this path has no calls but
 * strlen. */
static inline __attribute__((always_inline)) int
copy_str(mc_copier *c, const char *s, char **dst_field, mode m)
{
    if (!s) {
        *dst_field = NULL;
        return 0;
    }
    size_t n;
    char *d;
    int k = try_link(c, s, &mc_type_bytes, 1, m);
    if (MC_UNLIKELY(k)) {
        if (k < 0)
            return k;
        *dst_field = (char *)s;
        return 0;
    }
    if (m.src_heap) {
        /* the block's count, at least the NUL; terminated below whatever
         * was written into the block */
        n = mc__heap_count(s);
        if (n == 0)
            n = 1;
    } else {
#if MC__SHORT_STR
        /* most strings are short: find the NUL in one 16-byte load and
         * store the string from the register */
        __m128i v;
        if ((n = mc__short_str(s, &v)) != 0) {
            if (MC_UNLIKELY(!(d = bytes_alloc(c, n, 16, m))))
                return c->err;
            if (m.kind == MC__BUMP_HEAP) /* payloads are >= 16 */
                _mm_storeu_si128((__m128i *)(void *)d, v);
            else
                mc__copy_bytes(d, s, n);
            goto done;
        }
#endif
        n = strlen(s) + 1;
    }
    d = bytes_alloc(c, n, n, m);
    if (MC_UNLIKELY(!d))
        return c->err;
    mc__copy_bytes(d, s, n);
    d[n - 1] = '\0';
#if MC__SHORT_STR
done:
#endif
    *dst_field = reloc_of(c, d, m);
    return 0;
}

/* Make the target of allocation src (count elements of t); *dst gets the
 * writer's address.  shared: look for (and record) an earlier copy of src.
 * Leaf allocations are copied at once (one memcpy); others are queued. */
static inline __attribute__((always_inline)) int
copy_alloc2(mc_copier *c, const mc_type *t, size_t count, const void *src,
            void **dst, int shared, mode m, int direct)
{
    void *d = NULL;
    int rc;
    if (shared && (d = visited_get(c, src))) {
        *dst = d;
        return 0;
    }
    /* a leaf is filled by the copy below, and some types' copy routines
     * write every byte: then the target need not zero the block */
    d = target_alloc(c, t, count,
                     !t->copy || (t->flags & MC_TYPE_COPY_FILLS), m);
    /* (a type with a table is filled too: run_fields copies its bytes) */
    if (!d)
        return c->err;
    if (shared && (rc = visited_put(c, src, d)))
        return fail(c, rc);
    if (!mc__type_copies(t)) {
        mc__copy_bytes(d, src, count * t->size);
        rc = RUN_INIT_SYNC(c, t, d, count);
    } else if (t == &mc_type_str) {
        /* strings are leaves: copied now, while the array is in cache,
         * without the queue and a call per element */
        char *const *ss = src;
        char **ds = d;
        rc = 0;
        for (size_t i = 0; i < count && !rc; i++)
            rc = copy_str(c, ss[i], &ds[i], m);
    } else if (direct && !t->ptrs) {
        /* the root of a copy, which the queue would give back at once:
         * its copy routine called now */
        rc = 0;
        for (size_t i = 0; i < count && !rc; i++) {
            rc = t->copy(c, (char *)d + i * t->size,
                         (const char *)src + i * t->size);
            if (rc || c->err)
                rc = fail(c, rc ? rc : c->err);
        }
        if (!rc)
            rc = RUN_INIT_SYNC(c, t, d, count);
    } else {
        rc = push_work(c, t, count, src, d);
    }
    if (rc)
        return rc;
    *dst = d;
    return 0;
}

static inline __attribute__((always_inline)) int
copy_alloc(mc_copier *c, const mc_type *t, size_t count, const void *src,
           void **dst, int shared, mode m)
{
    return copy_alloc2(c, t, count, src, dst, shared, m, 0);
}

static inline int copy_field(mc_copier *c, const mc_type *t, size_t count,
                             void *const *src_field, void **dst_field,
                             int shared)
{
    if (MC_UNLIKELY(!c || !t || !src_field || !dst_field))
        return mc__err(MC_EINVAL, "copy: NULL argument");
    if (MC_UNLIKELY(c->err))
        return c->err;
    const void *src = *src_field;
    if (!src) {
        *dst_field = NULL;
        return 0;
    }
    void *d = NULL;
    int rc = try_link(c, src, t, count, MODE_OF(c));
    if (MC_UNLIKELY(rc)) {
        if (rc < 0)
            return rc;
        *dst_field = (void *)src; /* a heap target: no reloc */
        return 0;
    }
    rc = copy_alloc(c, t, count, src, &d, shared, MODE_OF(c));
    if (rc)
        return rc;
    *dst_field = reloc_of(c, d, MODE_OF(c));
    return 0;
}

int mc_copy_ptr(mc_copier *c, const mc_type *t, size_t count,
                void *const *src_field, void **dst_field)
{
    return copy_field(c, t, count, src_field, dst_field, 1);
}

int mc_copy_own(mc_copier *c, const mc_type *t, size_t count,
                void *const *src_field, void **dst_field)
{
    return copy_field(c, t, count, src_field, dst_field, 0);
}

int mc_copy_str(mc_copier *c, char *const *src_field, char **dst_field)
{
    if (MC_UNLIKELY(!c || !src_field || !dst_field))
        return mc__err(MC_EINVAL, "mc_copy_str: NULL argument");
    if (MC_UNLIKELY(c->err))
        return c->err;
    /* the usual modes as constants (as drain's): a copy routine's string
     * then costs no tests of the mode */
    if (!c->reloc && c->bump_kind == MC__BUMP_HEAP && !c->src_heap)
        return copy_str(c, *src_field, dst_field,
                        (mode){MC__BUMP_HEAP, 0, 0});
    if (!c->reloc && c->bump_kind == MC__BUMP_ARENA && c->src_heap)
        return copy_str(c, *src_field, dst_field,
                        (mode){MC__BUMP_ARENA, 1, 0});
    return copy_str(c, *src_field, dst_field, MODE_OF(c));
}

/* ---------------------------------------------- table-driven elements */

static inline int copy_fields(mc_copier *c, const mc_type *t, char *d,
                              const char *s, mode m);

/* n embedded values of t at d and s, whose bytes are already copied. */
static int copy_embedded(mc_copier *c, const mc_type *t, size_t n, char *d,
                         const char *s)
{
    for (size_t i = 0; i < n; i++) {
        size_t o = i * t->size;
        int rc = t->ptrs   ? copy_fields(c, t, d + o, s + o, MODE_OF(c))
                 : t->copy ? t->copy(c, d + o, s + o)
                           : 0; /* no pointers: its bytes are copied */
        if (rc || c->err)
            return fail(c, rc ? rc : c->err);
    }
    return 0;
}

/* The pointers of one element of t (t->ptrs) from s into d, whose bytes
 * are a copy of s's: the loop that replaces generated code's call per
 * field, with the string and allocation paths inline. */
static inline __attribute__((always_inline)) int
copy_fields(mc_copier *c, const mc_type *t, char *d, const char *s, mode m)
{
    const mc_ptr_field *f = t->ptrs, *end = f + t->nptrs;
    for (; f < end; f++) {
        if (!mc__pf_live(f, s))
            continue;
        void *const *sp = (void *const *)(const void *)(s + f->off);
        void **dp = (void **)(void *)(d + f->off);
        int rc = 0;
        void *x = NULL;
        switch (f->kind) {
        case MC_PF_STR:
            rc = copy_str(c, *sp, (char **)dp, m);
            break;
        case MC_PF_ARRAY:
        case MC_PF_REF:
        {
            if (!*sp) {
                *dp = NULL;
                break;
            }
            size_t n = f->kind == MC_PF_ARRAY
                           ? *(const size_t *)(const void *)(s + f->len_off)
                           : 1;
            int k = try_link(c, *sp, f->t, n, m);
            if (MC_UNLIKELY(k)) {
                rc = k < 0 ? k : 0;
                *dp = *sp; /* kept: dp already holds it (bytes copied) */
                break;
            }
            rc = copy_alloc(c, f->t, n, *sp, &x, f->kind == MC_PF_REF, m);
            if (!rc)
                *dp = reloc_of(c, x, m);
            break;
        }
        case MC_PF_ELEM:
            rc = copy_embedded(c, f->t, f->n, (char *)dp, (const char *)sp);
            break;
        default:
            rc = mc__err(MC_EINVAL, "copy: type %s has a pointer table "
                         "entry of unknown kind %u",
                         t->name ? t->name : "?", f->kind);
        }
        if (MC_UNLIKELY(rc))
            return fail(c, rc);
    }
    return 0;
}

/* The elements of one queued allocation (count elements of t, src to
 * dst) of a type with a pointer table, in mode m: all their bytes at once,
 * then their pointers. */
static inline __attribute__((always_inline)) int
run_fields(mc_copier *c, const mc_type *t, size_t count, const char *src,
           char *dst, mode m)
{
    size_t sz = t->size;
    mc__copy_bytes(dst, src, count * sz); /* no call if small */
    for (size_t i = 0; i < count; i++) {
        int rc = copy_fields(c, t, dst + i * sz, src + i * sz, m);
        if (rc)
            return rc;
    }
    return 0;
}

/* run_fields for the usual modes (the mode a constant) and the rest */
#define RUN_FN(name, mode_expr)                                             \
    static int name(mc_copier *c, const mc_type *t, size_t count,           \
                    const char *src, char *dst)                             \
    {                                                                       \
        return run_fields(c, t, count, src, dst, mode_expr);                \
    }
RUN_FN(run_heap, ((mode){MC__BUMP_HEAP, 0, 0}))
RUN_FN(run_local, ((mode){MC__BUMP_ARENA, 0, 0}))
RUN_FN(run_local_of_heap, ((mode){MC__BUMP_ARENA, 1, 0}))
RUN_FN(run_slot, ((mode){MC__BUMP_SLOT, 0, 0}))
RUN_FN(run_any, MODE_OF(c))

/* Copy the elements of every queued allocation; each may queue more. */
static int drain(mc_copier *c)
{
    int (*run)(mc_copier *, const mc_type *, size_t, const char *,
               char *) = run_any;
    if (!c->reloc && c->bump_kind == MC__BUMP_HEAP && !c->src_heap)
        run = run_heap;
    else if (!c->reloc && c->bump_kind == MC__BUMP_ARENA)
        run = c->src_heap ? run_local_of_heap : run_local;
    else if (c->bump_kind == MC__BUMP_SLOT && !c->src_heap)
        run = run_slot;
    while (c->whead < c->nwork) {
        /* field by field, into registers: the item was just written by
         * push_work's 8-byte stores, and a struct copy read it back with
         * 16-byte loads, which the store buffer cannot forward (a stall
         * of about a tenth of a small mc_sref_assign) */
        const mc__copy_work *wp = &c->work[c->whead++];
        const mc_type *t = wp->t;
        size_t count = wp->count;
        const char *src = wp->src;
        char *dst = wp->dst;
        size_t sz = t->size;
        if (t->ptrs) { /* types with tables have no sync fields */
            int rc = run(c, t, count, src, dst);
            if (rc)
                return rc;
            continue;
        }
        for (size_t i = 0; i < count; i++) {
            int rc = t->copy(c, dst + i * sz, src + i * sz);
            if (rc || c->err)
                return fail(c, rc ? rc : c->err);
        }
        int rc = RUN_INIT_SYNC(c, t, dst, count);
        if (rc)
            return rc;
    }
    return 0;
}

int mc__copy_root(mc_copier *c, const mc_type *t, size_t count,
                  const void *src, void **dst)
{
    if (!t || !src || !dst)
        return mc__err(MC_EINVAL, "copy: NULL argument");
    if (t == &mc_type_bytes)
        count = strlen(src) + 1;
    void *d = NULL;
    int rc;
    /* the usual modes as constants, as in mc_copy_str */
    if (!c->reloc && c->bump_kind == MC__BUMP_HEAP && !c->src_heap)
        rc = copy_alloc2(c, t, count, src, &d, 1,
                         (mode){MC__BUMP_HEAP, 0, 0}, 1);
    else if (!c->reloc && c->bump_kind == MC__BUMP_ARENA && c->src_heap)
        rc = copy_alloc2(c, t, count, src, &d, 1,
                         (mode){MC__BUMP_ARENA, 1, 0}, 1);
    else
        rc = copy_alloc2(c, t, count, src, &d, 1, MODE_OF(c), 1);
    if (!rc)
        rc = drain(c);
    if (rc)
        return rc;
    *dst = d;
    return 0;
}

/* --------------------------------------------------------- local copies */

/* The slow path: the arena takes back its bump pointer, allocates (in a
 * new block if need be) and lends the region again. */
static void *arena_alloc(mc_copier *c, const mc_type *t, size_t count)
{
    mc__arena *a = c->target;
    a->bump = c->bump;
    void *p = c->raw ? mc__arena_alloc_raw(a, t, count, &c->err)
                     : mc__arena_alloc(a, t, count, &c->err);
    c->bump = a->bump;
    c->bump_end = a->end;
    return p;
}

static int local_copy(const mc_type *t, const void *value, void **copy,
                      int src_heap)
{
    if (!t || !value || !copy)
        return mc__err(MC_EINVAL, "mc_local_copy: NULL argument");
    /* A string or plain bytes, the usual values of a lookup: one malloc
     * of the size known at once, without the copier's setup (which costs
     * more than the copy).  The same layout as the copier's. */
    if (t == &mc_type_str ||
        (t != &mc_type_bytes && !t->copy && !t->trace &&
         !(t->ptrs && t->nptrs) && t->size && t->align <= 16)) {
        const char *s = t == &mc_type_str ? *(char *const *)value : NULL;
        size_t n = 0;
        if (s && src_heap) /* as copy_str: the block's count, terminated */
            n = mc__heap_count(s) ? mc__heap_count(s) : 1;
        else if (s)
            n = strlen(s) + 1;
        size_t root = t == &mc_type_str ? sizeof(char *) : t->size;
        char *p = mc__arena_one(root + n);
        if (!p)
            return mc__err(MC_ENOMEM, "malloc of %zu bytes failed",
                           root + n);
        if (t != &mc_type_str) {
            memcpy(p, value, t->size);
        } else if (s) {
            memcpy(p + root, s, n);
            p[root + n - 1] = '\0';
            *(char **)p = p + root;
        } else {
            *(char **)p = NULL;
        }
        *copy = p;
        return 0;
    }
    mc__arena a;
    mc__arena_init(&a);
    mc_copier c;
    mc__copier_init(&c, arena_alloc, NULL, &a);
    c.src_heap = src_heap;
    c.bump_kind = MC__BUMP_ARENA;
    /* A small root: its block opened now, so that the root and what
     * follows are carved inline (the hook's path through the arena cost a
     * quarter of a small mc_sref_deref_c).  Else a.bump is NULL: the
     * first allocation opens the first block.  Either way the root is the
     * first allocation, at the start of the first block. */
    size_t root_bytes = t == &mc_type_bytes ? strlen(value) + 1 : t->size;
    if (t->align <= 16 && mc__arena_open(&a, root_bytes) == 0) {
        c.bump = a.bump;
        c.bump_end = a.end;
    }
    void *root;
    int rc = mc__copy_root(&c, t, 1, value, &root);
    mc__copier_fini(&c);
    if (rc) {
        mc__arena_free(&a);
        return rc;
    }
    /* The root was the first allocation: it starts the first block. */
    *copy = root;
    return 0;
}

int mc_local_copy(const mc_type *t, const void *value, void **copy)
{
    return local_copy(t, value, copy, 0);
}

int mc__local_copy_heap(const mc_type *t, const void *value, void **copy)
{
    return local_copy(t, value, copy, 1);
}

void mc_local_free(void *copy)
{
    mc__arena_free_root(copy);
}

/* ------------------------------------------------------- message sizes */

/* mc_copy_size's target: a local arena holds the copy (the copier reads
 * what it wrote), `used` counts the bytes as a camlbox slot lays them. */
typedef struct size_target {
    mc__arena a;
    size_t used;
} size_target;

static void *size_alloc(mc_copier *c, const mc_type *t, size_t count)
{
    size_target *g = c->target;
    size_t off, sz;
    switch (mc__slot_place(g->used, t, count, SIZE_MAX, &off, &sz)) {
    case 1:
        c->err = mc__err(MC_EINVAL, "mc_copy_size: type %s: alignment %zu "
                         "not supported (at most 16)", t->name, t->align);
        return NULL;
    case 2:
        c->err = mc__err(MC_E2BIG, "mc_copy_size: the copy is larger than "
                         "the address space");
        return NULL;
    }
    g->used = off + sz;
    return c->raw ? mc__arena_alloc_raw(&g->a, t, count, &c->err)
                  : mc__arena_alloc(&g->a, t, count, &c->err);
}

int mc_copy_size(const mc_type *t, const void *value, size_t *size)
{
    if (!t || !value || !size)
        return mc__err(MC_EINVAL, "mc_copy_size: NULL argument");
    size_target g = {.used = 0};
    mc__arena_init(&g.a);
    mc_copier c;
    mc__copier_init(&c, size_alloc, NULL, &g);
    void *root;
    int rc = mc__copy_root(&c, t, 1, value, &root);
    mc__copier_fini(&c);
    mc__arena_free(&g.a);
    if (!rc)
        *size = g.used;
    return rc;
}
