/* tests/types_fixture.c: graph helpers for the types of tests/fixture.mcidl
 * (generated into fixture.h / fixture.c by mcidl).
 *
 * The graph helpers (free, equality, counting) walk with an explicit work
 * list and a pointer map, never recursion: tests build lists a million
 * nodes long. */
#include "types_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

fx_Rec *fx_new_rec(int64_t i, double d, const char *s)
{
    fx_Rec *r = xcalloc(1, sizeof *r);
    r->i = i;
    r->d = d;
    r->s = s ? fx_strdup(s) : NULL;
    return r;
}

fx_Node *fx_new_list(size_t n, int64_t first)
{
    fx_Node *head = NULL;
    for (size_t k = n; k-- > 0;) {
        fx_Node *x = xcalloc(1, sizeof *x);
        x->v = first + (int64_t)k;
        x->next = head;
        head = x;
    }
    return head;
}

fx_Tree *fx_new_tree(unsigned depth, int64_t key)
{
    if (depth == 0)
        return NULL;
    fx_Tree *t = xcalloc(1, sizeof *t);
    char buf[32];
    snprintf(buf, sizeof buf, "t%lld", (long long)key);
    t->key = key;
    t->label = fx_strdup(buf);
    t->left = fx_new_tree(depth - 1, 2 * key);
    t->right = fx_new_tree(depth - 1, 2 * key + 1);
    return t;
}

fx_Strs *fx_new_strs(size_t n, int64_t tag)
{
    fx_Strs *s = xcalloc(1, sizeof *s);
    s->items.len = n;
    s->tag = tag;
    s->items.data = xcalloc(n, sizeof *s->items.data);
    for (size_t i = 0; i < n; i++) {
        char buf[48];
        snprintf(buf, sizeof buf, "s%lld.%zu", (long long)tag, i);
        s->items.data[i] = fx_strdup(buf);
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
    if (t == &fx_Rec_type) {
        F(fx_Rec, s, &mc_type_bytes, slen(((const fx_Rec *)a)->s));
    } else if (t == &fx_Node_type) {
        F(fx_Node, next, &fx_Node_type, 1);
    } else if (t == &fx_Tree_type) {
        F(fx_Tree, left, &fx_Tree_type, 1);
        F(fx_Tree, right, &fx_Tree_type, 1);
        F(fx_Tree, label, &mc_type_bytes, slen(((const fx_Tree *)a)->label));
    } else if (t == &fx_Strs_type) {
        F(fx_Strs, items.data, &mc_type_str, ((const fx_Strs *)a)->items.len);
    } else if (t == &mc_type_str) {
        const char *s = *(char *const *)a;
        fn(ctx, &mc_type_bytes, slen(s), s, b ? *(char *const *)b : NULL);
    } else if (t == &fx_Root_type) {
        const fx_Root *r = a;
        F(fx_Root, scratch, &mc_type_bytes, slen(r->scratch));
        for (size_t i = 0; i < FX_SLOTS; i++) {
            F(fx_Root, lists[i], &fx_Node_type, 1);
            F(fx_Root, trees[i], &fx_Tree_type, 1);
            F(fx_Root, recs[i], &fx_Rec_type, 1);
            F(fx_Root, arrs[i], &fx_Strs_type, 1);
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
    if (t == &fx_Rec_type)
        return ((const fx_Rec *)a)->i == ((const fx_Rec *)b)->i &&
               ((const fx_Rec *)a)->d == ((const fx_Rec *)b)->d;
    if (t == &fx_Node_type)
        return ((const fx_Node *)a)->v == ((const fx_Node *)b)->v;
    if (t == &fx_Tree_type)
        return ((const fx_Tree *)a)->key == ((const fx_Tree *)b)->key;
    if (t == &fx_Strs_type)
        return ((const fx_Strs *)a)->items.len ==
                   ((const fx_Strs *)b)->items.len &&
               ((const fx_Strs *)a)->tag == ((const fx_Strs *)b)->tag;
    if (t == &fx_Root_type)
        return ((const fx_Root *)a)->counter == ((const fx_Root *)b)->counter;
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

/* ------------------------------------------------- hand-written type */

static const mc_ptr_field tabrec_ptrs[] = {
    {.off = offsetof(fx_TabRec, name), .kind = MC_PF_STR},
    {.off = offsetof(fx_TabRec, nums), .kind = MC_PF_ARRAY,
     .len_off = offsetof(fx_TabRec, nlen), .when = MC_PW_HAS,
     .when_off = offsetof(fx_TabRec, has_nums), .t = &mc_type_i32},
    {.off = offsetof(fx_TabRec, next), .kind = MC_PF_REF,
     .t = &fx_TabRec_type},
};

const mc_type fx_TabRec_type = {
    .name = "fx_TabRec", .id = 0x7461627265630001ull,
    .size = sizeof(fx_TabRec), .align = _Alignof(fx_TabRec),
    .ptrs = tabrec_ptrs, .nptrs = 3,
};
