/* tests/types_fixture.c: the types of types_fixture.h and graph helpers.
 *
 * The graph helpers (free, equality, counting) walk with an explicit work
 * list and a pointer map, never recursion: tests build lists a million
 * nodes long. */
#include "types_fixture.h"

#include "mcore/marshal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- types */

static int rec_copy(mc_copier *c, void *dst, const void *src)
{
    const fx_rec *s = src;
    fx_rec *d = dst;
    d->i = s->i;
    d->d = s->d;
    return mc_copy_str(c, &s->s, &d->s);
}

static void rec_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, ((const fx_rec *)obj)->s);
}

static void rec_marshal(mc_writer *w, const void *obj)
{
    const fx_rec *v = obj;
    mc_put_i64(w, v->i);
    mc_put_f64(w, v->d);
    mc_put_str(w, v->s);
}
static int rec_unmarshal(mc_reader *r, void *obj)
{
    fx_rec *v = obj;
    mc_get_i64(r, &v->i);
    mc_get_f64(r, &v->d);
    return mc_get_str(r, &v->s);
}
const mc_type fx_type_rec = {
    .name = "fx_rec", .id = 0x1111000000000001ull, .size = sizeof(fx_rec),
    .align = _Alignof(fx_rec), .copy = rec_copy, .trace = rec_trace,
    .marshal = rec_marshal, .unmarshal = rec_unmarshal,
};

static int node_copy(mc_copier *c, void *dst, const void *src)
{
    const fx_node *s = src;
    fx_node *d = dst;
    d->v = s->v;
    return mc_copy_ptr(c, &fx_type_node, 1, (void *const *)&s->next,
                       (void **)&d->next);
}

static void node_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, ((const fx_node *)obj)->next);
}

static void node_marshal(mc_writer *w, const void *obj)
{
    const fx_node *v = obj;
    mc_put_i64(w, v->v);
    mc_put_ref(w, &fx_type_node, 1, v->next);
}
static int node_unmarshal(mc_reader *r, void *obj)
{
    fx_node *v = obj;
    mc_get_i64(r, &v->v);
    return mc_get_ref(r, &fx_type_node, NULL, (void **)&v->next);
}
const mc_type fx_type_node = {
    .name = "fx_node", .id = 0x1111000000000002ull, .size = sizeof(fx_node),
    .align = _Alignof(fx_node), .copy = node_copy, .trace = node_trace,
    .marshal = node_marshal, .unmarshal = node_unmarshal,
};

static int tree_copy(mc_copier *c, void *dst, const void *src)
{
    const fx_tree *s = src;
    fx_tree *d = dst;
    d->key = s->key;
    int rc = mc_copy_ptr(c, &fx_type_tree, 1, (void *const *)&s->left,
                         (void **)&d->left);
    if (!rc)
        rc = mc_copy_ptr(c, &fx_type_tree, 1, (void *const *)&s->right,
                         (void **)&d->right);
    if (!rc)
        rc = mc_copy_str(c, &s->label, &d->label);
    return rc;
}

static void tree_trace(mc_tracer *tr, const void *obj)
{
    const fx_tree *t = obj;
    mc_trace_ptr(tr, t->left);
    mc_trace_ptr(tr, t->right);
    mc_trace_ptr(tr, t->label);
}

static void tree_marshal(mc_writer *w, const void *obj)
{
    const fx_tree *v = obj;
    mc_put_i64(w, v->key);
    mc_put_ref(w, &fx_type_tree, 1, v->left);
    mc_put_ref(w, &fx_type_tree, 1, v->right);
    mc_put_str(w, v->label);
}
static int tree_unmarshal(mc_reader *r, void *obj)
{
    fx_tree *v = obj;
    mc_get_i64(r, &v->key);
    mc_get_ref(r, &fx_type_tree, NULL, (void **)&v->left);
    mc_get_ref(r, &fx_type_tree, NULL, (void **)&v->right);
    return mc_get_str(r, &v->label);
}
const mc_type fx_type_tree = {
    .name = "fx_tree", .id = 0x1111000000000003ull, .size = sizeof(fx_tree),
    .align = _Alignof(fx_tree), .copy = tree_copy, .trace = tree_trace,
    .marshal = tree_marshal, .unmarshal = tree_unmarshal,
};

static int strptr_copy(mc_copier *c, void *dst, const void *src)
{
    return mc_copy_str(c, (char *const *)src, (char **)dst);
}

static void strptr_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, *(char *const *)obj);
}

static void strptr_marshal(mc_writer *w, const void *obj)
{
    mc_put_str(w, *(char *const *)obj);
}
static int strptr_unmarshal(mc_reader *r, void *obj)
{
    return mc_get_str(r, (char **)obj);
}
const mc_type fx_type_strptr = {
    .name = "fx_strptr", .id = 0x1111000000000004ull, .size = sizeof(char *),
    .align = _Alignof(char *), .copy = strptr_copy, .trace = strptr_trace,
    .marshal = strptr_marshal, .unmarshal = strptr_unmarshal,
};

static int strs_copy(mc_copier *c, void *dst, const void *src)
{
    const fx_strs *s = src;
    fx_strs *d = dst;
    d->n = s->n;
    d->tag = s->tag;
    return mc_copy_ptr(c, &fx_type_strptr, s->n, (void *const *)&s->items,
                       (void **)&d->items);
}

static void strs_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, ((const fx_strs *)obj)->items);
}

static void strs_marshal(mc_writer *w, const void *obj)
{
    const fx_strs *v = obj;
    mc_put_i64(w, v->tag);
    mc_put_own(w, &fx_type_strptr, v->n, v->items);
}
static int strs_unmarshal(mc_reader *r, void *obj)
{
    fx_strs *v = obj;
    mc_get_i64(r, &v->tag);
    return mc_get_own(r, &fx_type_strptr, &v->n, (void **)&v->items);
}
const mc_type fx_type_strs = {
    .name = "fx_strs", .id = 0x1111000000000005ull, .size = sizeof(fx_strs),
    .align = _Alignof(fx_strs), .copy = strs_copy, .trace = strs_trace,
    .marshal = strs_marshal, .unmarshal = strs_unmarshal,
};

static int root_copy(mc_copier *c, void *dst, const void *src)
{
    const fx_root *s = src;
    fx_root *d = dst;
    d->counter = s->counter;
    d->pid = s->pid;
    int rc = mc_copy_str(c, &s->scratch, &d->scratch);
    for (int i = 0; i < FX_SLOTS && !rc; i++) {
        rc = mc_copy_ptr(c, &fx_type_node, 1, (void *const *)&s->lists[i],
                         (void **)&d->lists[i]);
        if (!rc)
            rc = mc_copy_ptr(c, &fx_type_tree, 1,
                             (void *const *)&s->trees[i],
                             (void **)&d->trees[i]);
        if (!rc)
            rc = mc_copy_ptr(c, &fx_type_rec, 1, (void *const *)&s->recs[i],
                             (void **)&d->recs[i]);
        if (!rc)
            rc = mc_copy_ptr(c, &fx_type_strs, 1, (void *const *)&s->arrs[i],
                             (void **)&d->arrs[i]);
    }
    return rc;
}

static void root_trace(mc_tracer *tr, const void *obj)
{
    const fx_root *r = obj;
    mc_trace_ptr(tr, r->scratch);
    for (int i = 0; i < FX_SLOTS; i++) {
        mc_trace_ptr(tr, r->lists[i]);
        mc_trace_ptr(tr, r->trees[i]);
        mc_trace_ptr(tr, r->recs[i]);
        mc_trace_ptr(tr, r->arrs[i]);
    }
}

static void root_marshal(mc_writer *w, const void *obj)
{
    const fx_root *v = obj;
    mc_put_i64(w, v->counter);
    mc_put_i64(w, v->pid);
    mc_put_str(w, v->scratch);
    for (int i = 0; i < FX_SLOTS; i++) {
        mc_put_ref(w, &fx_type_node, 1, v->lists[i]);
        mc_put_ref(w, &fx_type_tree, 1, v->trees[i]);
        mc_put_ref(w, &fx_type_rec, 1, v->recs[i]);
        mc_put_ref(w, &fx_type_strs, 1, v->arrs[i]);
    }
}
static int root_unmarshal(mc_reader *r, void *obj)
{
    fx_root *v = obj;
    mc_get_i64(r, &v->counter);
    mc_get_i64(r, &v->pid);
    mc_get_str(r, &v->scratch);
    for (int i = 0; i < FX_SLOTS; i++) {
        mc_get_ref(r, &fx_type_node, NULL, (void **)&v->lists[i]);
        mc_get_ref(r, &fx_type_tree, NULL, (void **)&v->trees[i]);
        mc_get_ref(r, &fx_type_rec, NULL, (void **)&v->recs[i]);
        mc_get_ref(r, &fx_type_strs, NULL, (void **)&v->arrs[i]);
    }
    return r->err;
}
const mc_type fx_type_root = {
    .name = "fx_root", .id = 0x1111000000000006ull, .size = sizeof(fx_root),
    .align = _Alignof(fx_root), .copy = root_copy, .trace = root_trace,
    .marshal = root_marshal, .unmarshal = root_unmarshal,
};

/* ------------------------------------------------------ local values */

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "types_fixture: out of memory\n");
        abort();
    }
    return p;
}

char *fx_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = xcalloc(n, 1);
    memcpy(d, s, n);
    return d;
}

fx_rec *fx_new_rec(int64_t i, double d, const char *s)
{
    fx_rec *r = xcalloc(1, sizeof *r);
    r->i = i;
    r->d = d;
    r->s = s ? fx_strdup(s) : NULL;
    return r;
}

fx_node *fx_new_list(size_t n, int64_t first)
{
    fx_node *head = NULL;
    for (size_t k = n; k-- > 0;) {
        fx_node *x = xcalloc(1, sizeof *x);
        x->v = first + (int64_t)k;
        x->next = head;
        head = x;
    }
    return head;
}

fx_tree *fx_new_tree(unsigned depth, int64_t key)
{
    if (depth == 0)
        return NULL;
    fx_tree *t = xcalloc(1, sizeof *t);
    char buf[32];
    snprintf(buf, sizeof buf, "t%lld", (long long)key);
    t->key = key;
    t->label = fx_strdup(buf);
    t->left = fx_new_tree(depth - 1, 2 * key);
    t->right = fx_new_tree(depth - 1, 2 * key + 1);
    return t;
}

fx_strs *fx_new_strs(size_t n, int64_t tag)
{
    fx_strs *s = xcalloc(1, sizeof *s);
    s->n = n;
    s->tag = tag;
    s->items = xcalloc(n, sizeof *s->items);
    for (size_t i = 0; i < n; i++) {
        char buf[48];
        snprintf(buf, sizeof buf, "s%lld.%zu", (long long)tag, i);
        s->items[i] = fx_strdup(buf);
    }
    return s;
}

/* ------------------------------------------------------ graph walking */

/* One allocation: count elements of t at p. */
typedef struct item {
    const mc_type *t;
    size_t count;
    const void *a, *b; /* b: the partner in fx_equal */
} item;

typedef struct vec {
    item *v;
    size_t n, cap;
} vec;

static void vpush(vec *s, item it)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v)
            abort();
    }
    s->v[s->n++] = it;
}

/* An open-addressing map from pointers to pointers. */
typedef struct pmap {
    const void **k;
    const void **v;
    size_t mask, n;
} pmap;

static size_t phash(const void *p)
{
    return (size_t)(((uint64_t)(uintptr_t)p >> 3) * 0x9e3779b97f4a7c15ull >>
                    17);
}

static const void *pget(const pmap *m, const void *k)
{
    if (!m->k)
        return NULL;
    for (size_t i = phash(k) & m->mask; m->k[i]; i = (i + 1) & m->mask)
        if (m->k[i] == k)
            return m->v[i];
    return NULL;
}

static void pput(pmap *m, const void *k, const void *v)
{
    if (!m->k || 2 * (m->n + 1) > m->mask + 1) {
        size_t cap = m->k ? 2 * (m->mask + 1) : 1024;
        pmap nm = {xcalloc(cap, sizeof(void *)), xcalloc(cap, sizeof(void *)),
                   cap - 1, 0};
        for (size_t i = 0; m->k && i <= m->mask; i++)
            if (m->k[i])
                pput(&nm, m->k[i], m->v[i]);
        free(m->k);
        free(m->v);
        *m = nm;
    }
    size_t i = phash(k) & m->mask;
    while (m->k[i] && m->k[i] != k)
        i = (i + 1) & m->mask;
    if (!m->k[i])
        m->n++;
    m->k[i] = k;
    m->v[i] = v;
}

static void pfree(pmap *m)
{
    free(m->k);
    free(m->v);
}

typedef void field_fn(void *ctx, const mc_type *t, size_t count,
                      const void *pa, const void *pb);

static size_t slen(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* Call fn for each pointer field of element a (and the same field of b,
 * which may be NULL) of type t. */
static void fields(const mc_type *t, const void *a, const void *b,
                   field_fn *fn, void *ctx)
{
#define F(type, field, ft, cnt)                                             \
    fn(ctx, ft, cnt, ((const type *)a)->field,                              \
       b ? ((const type *)b)->field : NULL)
    if (t == &fx_type_rec) {
        F(fx_rec, s, &mc_type_bytes, slen(((const fx_rec *)a)->s));
    } else if (t == &fx_type_node) {
        F(fx_node, next, &fx_type_node, 1);
    } else if (t == &fx_type_tree) {
        F(fx_tree, left, &fx_type_tree, 1);
        F(fx_tree, right, &fx_type_tree, 1);
        F(fx_tree, label, &mc_type_bytes, slen(((const fx_tree *)a)->label));
    } else if (t == &fx_type_strs) {
        F(fx_strs, items, &fx_type_strptr, ((const fx_strs *)a)->n);
    } else if (t == &fx_type_strptr) {
        const char *s = *(char *const *)a;
        fn(ctx, &mc_type_bytes, slen(s), s, b ? *(char *const *)b : NULL);
    } else if (t == &fx_type_root) {
        const fx_root *r = a;
        F(fx_root, scratch, &mc_type_bytes, slen(r->scratch));
        for (int i = 0; i < FX_SLOTS; i++) {
            F(fx_root, lists[i], &fx_type_node, 1);
            F(fx_root, trees[i], &fx_type_tree, 1);
            F(fx_root, recs[i], &fx_type_rec, 1);
            F(fx_root, arrs[i], &fx_type_strs, 1);
        }
    }
#undef F
}

static void push_field(void *ctx, const mc_type *t, size_t count,
                       const void *pa, const void *pb)
{
    if (pa || pb)
        vpush(ctx, (item){t, count, pa, pb});
}

/* Every distinct allocation reachable from v, once. */
static void reachable(const mc_type *t, const void *v, vec *out)
{
    vec work = {0};
    pmap seen = {0};
    vpush(&work, (item){t, t == &mc_type_bytes ? slen(v) : 1, v, NULL});
    while (work.n) {
        item it = work.v[--work.n];
        if (!it.a || pget(&seen, it.a))
            continue;
        pput(&seen, it.a, it.a);
        vpush(out, it);
        for (size_t i = 0; i < it.count && it.t != &mc_type_bytes; i++)
            fields(it.t, (const char *)it.a + i * it.t->size, NULL,
                   push_field, &work);
    }
    free(work.v);
    pfree(&seen);
}

void fx_free_graph(const mc_type *t, void *v)
{
    if (!v)
        return;
    vec all = {0};
    reachable(t, v, &all);
    for (size_t i = 0; i < all.n; i++)
        free((void *)all.v[i].a);
    free(all.v);
}

size_t fx_count_allocs(const mc_type *t, const void *v, fx_bytes_fn *bytes_of,
                       size_t *total)
{
    vec all = {0};
    if (v)
        reachable(t, v, &all);
    size_t sum = 0;
    for (size_t i = 0; i < all.n && bytes_of; i++)
        sum += bytes_of(all.v[i].t, all.v[i].count);
    if (total)
        *total = sum;
    size_t n = all.n;
    free(all.v);
    return n;
}

static int scalars_equal(const mc_type *t, const void *a, const void *b)
{
    if (t == &fx_type_rec)
        return ((const fx_rec *)a)->i == ((const fx_rec *)b)->i &&
               ((const fx_rec *)a)->d == ((const fx_rec *)b)->d;
    if (t == &fx_type_node)
        return ((const fx_node *)a)->v == ((const fx_node *)b)->v;
    if (t == &fx_type_tree)
        return ((const fx_tree *)a)->key == ((const fx_tree *)b)->key;
    if (t == &fx_type_strs)
        return ((const fx_strs *)a)->n == ((const fx_strs *)b)->n &&
               ((const fx_strs *)a)->tag == ((const fx_strs *)b)->tag;
    if (t == &fx_type_root)
        return ((const fx_root *)a)->counter == ((const fx_root *)b)->counter;
    return 1;
}

int fx_equal(const mc_type *t, const void *a, const void *b, char *why,
             size_t cap)
{
    vec work = {0};
    pmap ab = {0}, ba = {0};
    int ok = 1;
    char dummy[1];
    if (!why) {
        why = dummy;
        cap = sizeof dummy;
    }
    vpush(&work, (item){t, t == &mc_type_bytes ? slen(a) : 1, a, b});
    while (work.n && ok) {
        item it = work.v[--work.n];
        if (!it.a || !it.b) {
            if (it.a != it.b) {
                snprintf(why, cap, "%s: %p vs %p (one is NULL)", it.t->name,
                         it.a, it.b);
                ok = 0;
            }
            continue;
        }
        const void *pa = pget(&ab, it.a), *pb = pget(&ba, it.b);
        if (pa || pb) {
            if (pa != it.b || pb != it.a) {
                snprintf(why, cap, "%s: sharing differs at %p / %p",
                         it.t->name, it.a, it.b);
                ok = 0;
            }
            continue;
        }
        pput(&ab, it.a, it.b);
        pput(&ba, it.b, it.a);
        if (it.t == &mc_type_bytes) {
            if (strcmp(it.a, it.b) != 0) {
                snprintf(why, cap, "string \"%.40s\" vs \"%.40s\"",
                         (const char *)it.a, (const char *)it.b);
                ok = 0;
            }
            continue;
        }
        for (size_t i = 0; i < it.count && ok; i++) {
            const char *ea = (const char *)it.a + i * it.t->size;
            const char *eb = (const char *)it.b + i * it.t->size;
            if (!scalars_equal(it.t, ea, eb)) {
                snprintf(why, cap, "%s #%zu at %p / %p: scalars differ",
                         it.t->name, i, (const void *)ea, (const void *)eb);
                ok = 0;
                break;
            }
            fields(it.t, ea, eb, push_field, &work);
        }
    }
    free(work.v);
    pfree(&ab);
    pfree(&ba);
    return ok;
}
