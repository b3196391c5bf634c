/* marshal.c: the portable encoding (see mcore/marshal.h).
 *
 * Writer and reader walk the same order: the root element, then the bodies
 * of the objects met, the last met first (a stack: depth first, so what is
 * pending stays small, about the fan-out along one path, and a body is
 * written while its parent is still in cache; a FIFO held every array's
 * elements at once, megabytes for a large graph).  Bytes objects
 * (strings) and arrays of built-in types (at_once) have their body follow
 * their pointer at once.  Every
 * new object gets the next index on both sides, so a reference can name an
 * object already written by its index.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "mcore/marshal.h"
#include "mem/arena.h"
#include "mem/bytes.h"
#include "util/idmap.h"

/* 3: bodies of arrays of built-in types follow their pointer at once;
 * 2: bodies depth first; 1: breadth first */
#define MAGIC "mcM3"

enum { TAG_NULL = 0, TAG_NEW = 1, TAG_OLD = 2 };

typedef struct item {
    const mc_type *t;
    size_t count;
    const void *src;  /* writer: the object; reader: its local copy */
} item;

typedef struct queue { /* a stack of objects whose bodies are pending */
    item *v;
    size_t n, cap;
} queue;

static int q_push(queue *q, item it)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 32;
        item *v = realloc(q->v, cap * sizeof *v);
        if (!v)
            return mc__err(MC_ENOMEM, "marshal: queue of %zu objects", cap);
        q->v = v;
        q->cap = cap;
    }
    q->v[q->n++] = it;
    return 0;
}

static int is_leaf(const mc_type *t)
{
    return t == &mc_type_bytes;
}

/* Is an object of t written (and read) right after its pointer, rather
 * than from the stack: bytes, and arrays of scalars, strings and byte
 * strings, whose bodies reference nothing that could be shared.  They are
 * most objects of a typical graph; this saves each a trip through the
 * stack and a call per element. */
static int at_once(const mc_type *t)
{
    return t == &mc_type_bytes || t == &mc_type_str ||
           t == &mc_type_bytesval || (t->flags & MC_TYPE_RAW_LE);
}

/* ---------------------------------------------------------------- write */

typedef struct wstate {
    queue q;
    mc__idmap refs;    /* address -> index + 1, for references */
    uint64_t nobjs;
} wstate;

void mc__put_slow(mc_writer *w, const void *src, size_t n)
{
    if (w->err)
        return;
    size_t used = (size_t)(w->p - w->base), cap = (size_t)(w->end - w->base);
    size_t ncap = cap ? cap * 2 : 256;
    while (ncap - used < n)
        ncap *= 2;
    unsigned char *b = realloc(w->base, ncap);
    if (!b) {
        w->err = mc__err(MC_ENOMEM, "marshal: %zu bytes", ncap);
        return;
    }
    w->base = b;
    w->p = b + used;
    w->end = b + ncap;
    memcpy(w->p, src, n);
    w->p += n;
}

static void put_body(mc_writer *w, const mc_type *t, size_t count,
                     const void *p)
{
    if (is_leaf(t)) {
        mc_put_raw(w, p, count);
        return;
    }
    /* memory is the encoding (marshal.h: little-endian hosts only);
     * count * size fits: the elements are in memory */
    if (t->flags & MC_TYPE_RAW_LE) {
        mc_put_raw(w, p, count * t->size);
        return;
    }
    if (t == &mc_type_str) {
        for (size_t i = 0; i < count; i++)
            mc_put_str(w, ((char *const *)p)[i]);
        return;
    }
    if (!t->marshal) {
        if (!w->err)
            w->err = mc__err(MC_EINVAL, "type %s cannot be marshalled",
                             t->name ? t->name : "?");
        return;
    }
    for (size_t i = 0; i < count && !w->err; i++)
        t->marshal(w, (const char *)p + i * t->size);
}

/* A new object's pointer: its tag and u64 count (the caller checked
 * that the buffer has room). */
#define NEW_HEAD 9
static inline void put_new_head(mc_writer *w, size_t n)
{
    uint64_t n64 = n;
    w->p[0] = TAG_NEW;
    memcpy(w->p + 1, &n64, 8);
    w->p += NEW_HEAD;
}

static void put_ptr(mc_writer *w, const mc_type *t, size_t count,
                    const void *p, int ref)
{
    wstate *s = w->priv;
    if (w->err)
        return;
    if (!p) {
        mc_put_u8(w, TAG_NULL);
        return;
    }
    if (ref) {
        uintptr_t k = (uintptr_t)mc__idmap_get(&s->refs, (int64_t)(intptr_t)p);
        if (k) {
            mc_put_u8(w, TAG_OLD);
            mc_put_u64(w, (uint64_t)(k - 1));
            return;
        }
        int rc = mc__idmap_put(&s->refs, (int64_t)(intptr_t)p,
                               (void *)(uintptr_t)(s->nobjs + 1));
        if (rc) {
            w->err = rc;
            return;
        }
        s->nobjs++; /* only references are numbered: only they are named */
    }
    if ((size_t)(w->end - w->p) >= NEW_HEAD) {
        put_new_head(w, count);
    } else {
        mc_put_u8(w, TAG_NEW);
        mc_put_u64(w, count);
    }
    if (at_once(t))
        put_body(w, t, count, p);
    else if (!w->err)
        w->err = q_push(&s->q, (item){t, count, p});
}

void mc_put_own(mc_writer *w, const mc_type *t, size_t count, const void *p)
{
    put_ptr(w, t, count, p, 0);
}

void mc_put_ref(mc_writer *w, const mc_type *t, size_t count, const void *p)
{
    put_ptr(w, t, count, p, 1);
}

/* Strings are most objects of a typical graph: tag, count and bytes are
 * stored at once when the buffer has room, else put_ptr does it all. */
void mc_put_str(mc_writer *w, const char *s)
{
    size_t n;
    if (!s) {
        mc_put_u8(w, TAG_NULL);
        return;
    }
#if MC__SHORT_STR
    __m128i v;
    if ((size_t)(w->end - w->p) >= NEW_HEAD + 16 &&
        (n = mc__short_str(s, &v))) {
        put_new_head(w, n);
        /* the bytes past the NUL are zeros inside the buffer's room: the
         * next put overwrites them */
        _mm_storeu_si128((__m128i *)(void *)w->p, v);
        w->p += n;
        return;
    }
#endif
    n = strlen(s) + 1;
    if ((size_t)(w->end - w->p) >= NEW_HEAD + n) {
        put_new_head(w, n);
        mc__copy_bytes((char *)w->p, s, n);
        w->p += n;
        return;
    }
    put_ptr(w, &mc_type_bytes, n, s, 0);
}

int mc_marshal(const mc_type *t, const void *value, void **bytes, size_t *len)
{
    size_t cap = 0;
    if (!bytes)
        return mc__err(MC_EINVAL, "mc_marshal: NULL argument");
    *bytes = NULL;
    int rc = mc_marshal_buf(t, value, bytes, &cap, len);
    if (rc) {
        free(*bytes);
        *bytes = NULL;
    }
    return rc;
}

int mc_marshal_buf(const mc_type *t, const void *value, void **buf,
                   size_t *cap, size_t *len)
{
    if (!t || !value || !buf || !cap || !len)
        return mc__err(MC_EINVAL, "mc_marshal: NULL argument");
    wstate s = {0};
    mc_writer w = {.priv = &s};
    if (*buf) { /* write over the caller's buffer: its pages are warm */
        w.base = w.p = *buf;
        w.end = w.base + *cap;
    }
    mc_put_raw(&w, MAGIC, 4);
    mc_put_u64(&w, t->id);
    if (is_leaf(t)) {
        size_t n = strlen(value) + 1;
        mc_put_u64(&w, n);
        put_body(&w, t, n, value);
    } else {
        put_body(&w, t, 1, value);
    }
    while (!w.err && s.q.n) {
        item it = s.q.v[--s.q.n];
        put_body(&w, it.t, it.count, it.src);
    }
    free(s.q.v);
    mc__idmap_free(&s.refs);
    /* the buffer (maybe grown) stays the caller's, even on error */
    *buf = w.base;
    *cap = (size_t)(w.end - w.base);
    if (w.err)
        return w.err;
    *len = (size_t)(w.p - w.base);
    return 0;
}

/* ----------------------------------------------------------------- read */

typedef struct robj {
    const mc_type *t;
    size_t count;
    void *p;
} robj;

typedef struct rstate {
    mc__arena arena;
    queue q;
    robj *objs;        /* by index */
    size_t nobjs, capobjs;
    /* What is left of the input's allowance for elements.  Every element
     * of every object read takes input bytes of its own (its fields, at
     * least one byte; a raw scalar its size; a bytes object's byte
     * itself), which no other element shares: so the elements of all the
     * objects of a valid input take at most len bytes together.  Each new
     * object is charged its share when its pointer is read, before
     * anything is allocated: counts that each fit in the input but not
     * all together (many pointers, each claiming the rest) are refused,
     * and what is allocated stays within len elements overall. */
    uint64_t budget;
} rstate;

int mc__get_fail(mc_reader *r, size_t n)
{
    if (!r->err)
        r->err = mc__err(MC_EINVAL, "unmarshal: truncated input (%zu bytes "
                         "wanted, %zu left)", n, (size_t)(r->end - r->p));
    return r->err;
}

static int bad(mc_reader *r, const char *what)
{
    if (!r->err)
        r->err = mc__err(MC_EINVAL, "unmarshal: %s", what);
    return r->err;
}

int mc_reader_fail(mc_reader *r, const char *what)
{
    return bad(r, what);
}

int mc_get_bool(mc_reader *r, _Bool *v)
{
    uint8_t b = 0;
    if (mc_get_u8(r, &b))
        return r->err;
    if (b > 1)
        return bad(r, "a bool that is neither 0 nor 1");
    *v = b;
    return 0;
}

static int get_body(mc_reader *r, const mc_type *t, size_t count, void *dst)
{
    if (is_leaf(t))
        return mc_get_raw(r, dst, count);
    if (t->flags & MC_TYPE_RAW_LE) /* get_ptr checked count * size */
        return mc_get_raw(r, dst, count * t->size);
    if (t == &mc_type_str) {
        for (size_t i = 0; i < count && !r->err; i++)
            mc_get_str(r, (char **)dst + i);
        return r->err;
    }
    if (!t->unmarshal)
        return bad(r, "a type without unmarshal code");
    for (size_t i = 0; i < count && !r->err; i++) {
        int rc = t->unmarshal(r, (char *)dst + i * t->size);
        if (rc && !r->err)
            r->err = rc;
    }
    return r->err;
}

/* Charge n bytes' worth of elements to the input (rstate.budget); n must
 * also fit in what is left of the input.  MC_EINVAL when it does not. */
static inline int charge(mc_reader *r, rstate *s, uint64_t n)
{
    if (n > (uint64_t)(r->end - r->p))
        return bad(r, "an element count larger than the input");
    if (n > s->budget)
        return bad(r, "element counts that together pass the input's "
                      "length");
    s->budget -= n;
    return 0;
}

/* count elements of t in the arena: carved inline when they fit, zeroed
 * unless raw (an at-once body, which the read fills at once). */
static inline void *new_obj(mc__arena *a, const mc_type *t, size_t count,
                            int raw, int *err)
{
    size_t n;
    void *p = NULL;
    if (t->align <= 16 && !__builtin_mul_overflow(count, t->size, &n) &&
        (p = mc__arena_carve(&a->bump, a->end, t->align < 8 ? 8 : t->align,
                             n))) {
        if (!raw)
            memset(p, 0, n);
        return p;
    }
    return raw ? mc__arena_alloc_raw(a, t, count, err)
               : mc__arena_alloc(a, t, count, err);
}

/* Is src (v bytes of input, v >= 1) one NUL-terminated string? */
static inline int one_string(const char *src, uint64_t v)
{
    if (src[v - 1] != '\0')
        return 0;
#if MC__SHORT_STR
    __m128i x;
    size_t n = mc__short_str(src, &x); /* no call for short strings */
    if (n)
        return n == v;
#endif
    return strlen(src) == v - 1;
}

static int get_ptr(mc_reader *r, const mc_type *t, size_t *count, void **p,
                   int ref)
{
    rstate *s = r->priv;
    uint8_t tag = 0;
    uint64_t v = 0;
    *p = NULL;
    if (count)
        *count = 0;
    if (mc_get_u8(r, &tag))
        return r->err;
    if (tag == TAG_NULL)
        return 0;
    if (mc_get_u64(r, &v))
        return r->err;
    /* no count wanted: the field holds exactly one element (a &T or
     * ?&T), which its code will read and follow; an object of 0 or of
     * several elements would be used as one T (marshal.h) */
    if (tag == TAG_OLD) {
        if (!ref || v >= s->nobjs || s->objs[v].t != t)
            return bad(r, "a reference to no earlier object of its type");
        if (!count && s->objs[v].count != 1)
            return bad(r, "a reference to one element naming an object of "
                          "another count");
        *p = s->objs[v].p;
        if (count)
            *count = s->objs[v].count;
        return 0;
    }
    if (tag != TAG_NEW)
        return bad(r, "a pointer tag that is not 0, 1 or 2");
    if (!count && v != 1)
        return bad(r, "a reference to one element with another count");
    /* each element takes at least a byte of input, a raw scalar its
     * size: bounds what a forged count can make us allocate */
    uint64_t need = v;
    if ((t->flags & MC_TYPE_RAW_LE) && t->size &&
        __builtin_mul_overflow(v, (uint64_t)t->size, &need))
        return bad(r, "an element count larger than the input");
    if (charge(r, s, need))
        return r->err;
    if (ref && s->nobjs == s->capobjs) {
        size_t cap = s->capobjs ? s->capobjs * 2 : 32;
        robj *o = realloc(s->objs, cap * sizeof *o);
        if (!o)
            return r->err = mc__err(MC_ENOMEM, "unmarshal: object table");
        s->objs = o;
        s->capobjs = cap;
    }
    int err = 0;
    void *obj = new_obj(&s->arena, t, (size_t)v, at_once(t), &err);
    if (!obj)
        return r->err = err;
    if (ref) /* numbered as the writer numbered them: references only */
        s->objs[s->nobjs++] = (robj){t, (size_t)v, obj};
    if (at_once(t)) {
        if (get_body(r, t, (size_t)v, obj))
            return r->err;
    } else if ((err = q_push(&s->q, (item){t, (size_t)v, obj}))) {
        return r->err = err;
    }
    *p = obj;
    if (count)
        *count = (size_t)v;
    return 0;
}

int mc_get_own(mc_reader *r, const mc_type *t, size_t *count, void **p)
{
    return get_ptr(r, t, count, p, 0);
}

int mc_get_ref(mc_reader *r, const mc_type *t, size_t *count, void **p)
{
    return get_ptr(r, t, count, p, 1);
}

int mc_get_str(mc_reader *r, char **s)
{
    /* the usual case without get_ptr's generality: a new string whose
     * bytes are all in the input, copied into the arena unzeroed and
     * packed (strings need no alignment) */
    rstate *st = r->priv;
    if (!r->err && (size_t)(r->end - r->p) >= NEW_HEAD &&
        r->p[0] == TAG_NEW) {
        uint64_t v;
        memcpy(&v, r->p + 1, 8);
        const char *src = (const char *)r->p + NEW_HEAD;
        if (v >= 1 && v <= (uint64_t)(r->end - r->p) - NEW_HEAD &&
            v <= st->budget && one_string(src, v)) {
            size_t n = (size_t)v;
            mc__arena *a = &st->arena;
            char *d = mc__arena_carve(&a->bump, a->end, 1, n);
            int err = 0;
            if (!d && !(d = mc__arena_alloc_raw(a, &mc_type_bytes, n, &err)))
                return r->err = err;
            mc__copy_bytes(d, src, n);
            r->p += NEW_HEAD + n;
            st->budget -= n;
            *s = d;
            return 0;
        }
    }
    size_t n;
    if (get_ptr(r, &mc_type_bytes, &n, (void **)s, 0))
        return r->err;
    if (*s && (n == 0 || (*s)[n - 1] != '\0' || strlen(*s) != n - 1))
        return bad(r, "a string that is not one NUL-terminated run");
    return 0;
}

int mc_unmarshal(const mc_type *t, const void *bytes, size_t len,
                 void **value)
{
    if (!t || !bytes || !value)
        return mc__err(MC_EINVAL, "mc_unmarshal: NULL argument");
    rstate s = {.budget = len};
    mc__arena_init(&s.arena);
    mc_reader r = {bytes, (const unsigned char *)bytes + len, 0, &s};
    char magic[4] = {0};
    uint64_t id = 0;
    void *root = NULL;
    int err = 0;
    if (mc_get_raw(&r, magic, 4) || memcmp(magic, MAGIC, 3) != 0)
        bad(&r, "not mcore bytes (bad magic)");
    else if (magic[3] != MAGIC[3])
        r.err = mc__err(MC_EINVAL, "unmarshal: mcore bytes of another "
                        "version of the encoding (%c; this is %c)",
                        magic[3], MAGIC[3]);
    else if (!mc_get_u64(&r, &id) && id != t->id)
        r.err = mc__err(MC_ETYPE, "unmarshal: bytes of type %016llx, not %s "
                        "(%016llx)", (unsigned long long)id, t->name,
                        (unsigned long long)t->id);
    if (!r.err) {
        uint64_t n = 1;
        /* a root string is charged its bytes; a root element is one
         * (its size is the type's, whatever the input) */
        if (is_leaf(t) && !mc_get_u64(&r, &n) &&
            (n == 0 || n > (uint64_t)(r.end - r.p)))
            bad(&r, "a string length larger than the input");
        else if (is_leaf(t) && !r.err)
            charge(&r, &s, n);
        /* the root is the first allocation: mc_local_free finds the arena */
        if (!r.err && !(root = mc__arena_alloc(&s.arena, t, (size_t)n, &err)))
            r.err = err;
        if (!r.err && !get_body(&r, t, (size_t)n, root) && is_leaf(t) &&
            (((char *)root)[n - 1] != '\0' || strlen(root) != n - 1))
            bad(&r, "a string that is not one NUL-terminated run");
    }
    while (!r.err && s.q.n) {
        item it = s.q.v[--s.q.n];
        get_body(&r, it.t, it.count, (void *)it.src);
    }
    if (!r.err && r.p != r.end)
        bad(&r, "trailing bytes after the value");
    free(s.q.v);
    free(s.objs);
    if (r.err) {
        mc__arena_free(&s.arena);
        return r.err;
    }
    *value = root;
    return 0;
}
