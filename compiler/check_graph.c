/* compiler/check_graph.c: the checks over the whole program's graph of
 * declarations, made once each declaration has been checked alone (the
 * rest is check.c): C names that collide, records containing themselves
 * inline (strongly connected components), the sizes of values, and which
 * records hold sync fields.  Work lists, not recursion over declarations,
 * as in check.c.
 */
#include "check.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"

/* ---------------------------------------------------------------- C names */

typedef struct cname {
    char *name;
    ast_loc loc;
    char *what;
    size_t order;
} cname;

typedef struct cnames {
    cname *v;
    size_t n, cap;
} cnames;

static void upcat(char *dst, const char *s)
{
    dst += strlen(dst);
    for (; *s; s++)
        *dst++ = *s == '.' ? '_' : (*s >= 'a' && *s <= 'z') ? (char)(*s - 32) : *s;
    *dst = 0;
}

/* Add PREFIX_A[_B]: the upper-case C name of a declaration or member. */
static void add_cname(cnames *t, const ast_module *m, const char *a,
                      const char *b, ast_loc loc, const char *fmt,
                      const char *x, const char *y)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->v = check_xrealloc(t->v, t->cap * sizeof *t->v);
    }
    size_t len = strlen(m->res_prefix) + strlen(a) + (b ? strlen(b) + 1 : 0) + 1;
    char *s = check_xrealloc(NULL, len);
    s[0] = 0;
    upcat(s, m->res_prefix);
    upcat(s, a);
    if (b) {
        strcat(s, "_");
        upcat(s, b);
    }
    size_t wl = strlen(fmt) + strlen(x) + (y ? strlen(y) : 0) + 1;
    char *w = check_xrealloc(NULL, wl);
    snprintf(w, wl, fmt, x, y ? y : "");
    t->v[t->n] = (cname){ s, loc, w, t->n };
    t->n++;
}

static int cname_cmp(const void *a, const void *b)
{
    const cname *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    return r ? r : (x->order > y->order) - (x->order < y->order);
}

/* Constants, enum members, variant tags and types all have upper-case C
 * names (GEO_MAX, GEO_COLOR_RED, GEO_SHAPE_CIRCLE, GEO_POINT_TYPE_ID):
 * two of them must not be the same. */
static void check_cnames(program *p)
{
    cnames t = { 0 };
    for (ast_module *m = p->first; m; m = m->res_next)
        for (ast_decl *d = m->decls; d; d = d->next) {
            if (d->kind == AST_D_PROCESS)
                continue;
            add_cname(&t, m, d->name, NULL, d->name_loc,
                      d->kind == AST_D_CONST ? "constant '%s'%s" : "type '%s'%s",
                      d->name, NULL);
            for (ast_member *mb = d->kind == AST_D_ENUM ? d->members : NULL;
                 mb; mb = mb->next)
                add_cname(&t, m, d->name, mb->name, mb->loc,
                          "member '%s' of enum '%s'", mb->name, d->name);
            if (d->kind == AST_D_CONTAINER && d->ckind == AST_C_CAMLBOX) {
                /* its geometry's macros (GEO_INBOX_SLOTS, ..._SLOT_SIZE) */
                add_cname(&t, m, d->name, "slots", d->name_loc,
                          "the slot count of camlbox '%s'%s", d->name, NULL);
                add_cname(&t, m, d->name, "slot_size", d->name_loc,
                          "the slot size of camlbox '%s'%s", d->name, NULL);
            }
            if (d->kind == AST_D_CONTAINER && (d->ckind == AST_C_SBUFFER ||
                                               d->ckind == AST_C_SQUEUE))
                /* GEO_LOG_CAPACITY */
                add_cname(&t, m, d->name, "capacity", d->name_loc,
                          "the capacity of '%s'%s", d->name, NULL);
            for (ast_field *f = d->kind == AST_D_VARIANT ? d->fields : NULL;
                 f; f = f->next)
                add_cname(&t, m, d->name, f->name, f->loc,
                          "case '%s' of variant '%s'", f->name, d->name);
        }
    if (t.n > 1)
        qsort(t.v, t.n, sizeof *t.v, cname_cmp);
    for (size_t i = 1; i < t.n; i++)
        if (strcmp(t.v[i].name, t.v[i - 1].name) == 0) {
            size_t first = i - 1;
            while (first > 0 && strcmp(t.v[first - 1].name, t.v[i].name) == 0)
                first--;
            /* the same description: a duplicate, reported already */
            if (strcmp(t.v[i].what, t.v[first].what) == 0)
                continue;
            diag_error(t.v[i].loc, "the C name %s of %s is also the C name "
                       "of %s", t.v[i].name, t.v[i].what, t.v[first].what);
            diag_note(t.v[first].loc, "%s is here", t.v[first].what);
        }
    for (size_t i = 0; i < t.n; i++) {
        free(t.v[i].name);
        free(t.v[i].what);
    }
    free(t.v);
}

/* ---------------------------------------------------------------- cycles */

static void inline_deps(const ast_type *t, ast_decl ***v, size_t *n, size_t *cap)
{
    switch (t->kind) {
    case AST_T_NAMED:
        if (!t->res_decl || is_leaf_decl(t->res_decl))
            return;
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 16;
            *v = check_xrealloc(*v, *cap * sizeof **v);
        }
        (*v)[(*n)++] = t->res_decl;
        return;
    case AST_T_OPTIONAL:
    case AST_T_FIXED:
        inline_deps(t->elem, v, n, cap);
        return;
    default:
        return;
    }
}

void scc_walk(size_t n, const size_t *off, const size_t *to,
              void (*done)(const size_t *comp, size_t k, void *ctx),
              void *ctx)
{
    if (!n)
        return;
    size_t *idx = check_xrealloc(NULL, n * sizeof *idx);   /* 0: unvisited */
    size_t *low = check_xrealloc(NULL, n * sizeof *low);
    bool *on = check_xrealloc(NULL, n * sizeof *on);       /* on the SCC stack */
    size_t *stk = check_xrealloc(NULL, n * sizeof *stk), nstk = 0;
    size_t *frame = check_xrealloc(NULL, n * sizeof *frame);  /* DFS: node */
    size_t *iter = check_xrealloc(NULL, n * sizeof *iter);    /* DFS: next edge */
    size_t counter = 0;
    memset(idx, 0, n * sizeof *idx);
    memset(on, 0, n * sizeof *on);
    for (size_t s0 = 0; s0 < n; s0++) {
        if (idx[s0])
            continue;
        size_t top = 0;
        frame[0] = s0;
        iter[0] = off[s0];
        idx[s0] = low[s0] = ++counter;
        stk[nstk++] = s0;
        on[s0] = true;
        for (;;) {
            size_t v = frame[top];
            if (iter[top] < off[v + 1]) {
                size_t w = to[iter[top]++];
                if (!idx[w]) {
                    top++;
                    frame[top] = w;
                    iter[top] = off[w];
                    idx[w] = low[w] = ++counter;
                    stk[nstk++] = w;
                    on[w] = true;
                } else if (on[w] && idx[w] < low[v]) {
                    low[v] = idx[w];
                }
                continue;
            }
            if (low[v] == idx[v]) {
                size_t first = nstk;
                do
                    first--;
                while (stk[first] != v);
                for (size_t k = first; k < nstk; k++)
                    on[stk[k]] = false;
                done(stk + first, nstk - first, ctx);
                nstk = first;
            }
            if (top == 0)
                break;
            top--;
            if (low[v] < low[frame[top]])
                low[frame[top]] = low[v];
        }
    }
    free(idx);
    free(low);
    free(on);
    free(stk);
    free(frame);
    free(iter);
}

typedef struct cycles {
    ast_decl **node;
    const size_t *off, *to;
    bool *cyc;
} cycles;

/* a component of more than one node, or one with an edge to itself */
static void mark_cycle(const size_t *comp, size_t k, void *ctx)
{
    cycles *cy = ctx;
    for (size_t i = 0; i < k; i++) {
        size_t v = comp[i];
        cy->cyc[v] = k > 1;
        for (size_t e = cy->off[v]; e < cy->off[v + 1] && k == 1; e++)
            if (cy->to[e] == v)
                cy->cyc[v] = true;
    }
}

/* A record or variant that contains itself inline (not through a
 * reference or a dynamic array) would be infinitely large.  The types on
 * such cycles are those in a strongly connected component of the
 * "contains inline" graph with more than one node, or with a self edge;
 * scc_walk finds them in time linear in the graph. */
static void check_inline_cycles(checker *c)
{
    size_t nn = 0;
    for (ast_module *m = c->p->first; m; m = m->res_next)
        for (ast_decl *d = m->decls; d; d = d->next)
            if (d->kind == AST_D_RECORD || d->kind == AST_D_VARIANT)
                d->res_index = (int)nn++;
    if (!nn)
        return;
    ast_decl **node = check_xrealloc(NULL, nn * sizeof *node);
    size_t *off = check_xrealloc(NULL, (nn + 1) * sizeof *off);
    ast_decl **edges = NULL;        /* the targets, grouped by source */
    size_t ne = 0, cap = 0;
    for (ast_module *m = c->p->first; m; m = m->res_next)
        for (ast_decl *d = m->decls; d; d = d->next) {
            if (d->kind != AST_D_RECORD && d->kind != AST_D_VARIANT)
                continue;
            node[d->res_index] = d;
            off[d->res_index] = ne;
            for (ast_field *f = d->fields; f; f = f->next)
                if (f->type)
                    inline_deps(f->type, &edges, &ne, &cap);
        }
    off[nn] = ne;
    size_t *to = check_xrealloc(NULL, (ne ? ne : 1) * sizeof *to);
    for (size_t i = 0; i < ne; i++)
        to[i] = (size_t)edges[i]->res_index;
    cycles cy = { node, off, to, check_xrealloc(NULL, nn * sizeof(bool)) };
    scc_walk(nn, off, to, mark_cycle, &cy);
    for (size_t i = 0; i < nn && !diag_too_many(); i++)
        if (cy.cyc[i])
            diag_error(node[i]->name_loc, "%s '%s' contains itself inline, "
                       "so its size would be infinite (use a reference "
                       "&%s or ?&%s, or a dynamic array)",
                       decl_what(node[i]), node[i]->name, node[i]->name,
                       node[i]->name);
    free(node);
    free(off);
    free(edges);
    free(to);
    free(cy.cyc);
}

/* The record or variant t holds inline (through ?T and T[N]), or NULL. */
static ast_decl *inline_decl(const ast_type *t)
{
    while (t->kind == AST_T_OPTIONAL || t->kind == AST_T_FIXED)
        t = t->elem;
    return t->kind == AST_T_NAMED && t->res_decl &&
                   !is_leaf_decl(t->res_decl) ? t->res_decl : NULL;
}

/* Call visit(c, d) on every record and variant, each after those it
 * holds inline (the inline graph is acyclic once checked): a depth-first
 * walk with its own stack, so that each declaration is worked out once
 * from its parts' answers (one search per declaration made a chain of n
 * records cost n^2) and a long chain needs no deep C stack. */
static void inline_postorder(checker *c, void (*visit)(checker *, ast_decl *))
{
    unsigned started = ++c->mark, done = ++c->mark;
    size_t cap = 16, top;
    struct { ast_decl *d; const ast_field *f; } *st = check_xrealloc(NULL,
                                                            cap * sizeof *st);
    for (ast_module *m = c->p->first; m; m = m->res_next)
        for (ast_decl *d = m->decls; d; d = d->next) {
            if ((d->kind != AST_D_RECORD && d->kind != AST_D_VARIANT) ||
                d->res_mark == done)
                continue;
            top = 0;
            st[0].d = d;
            st[0].f = d->fields;
            d->res_mark = started;
            while (top != (size_t)-1) {
                const ast_field *f = st[top].f;
                if (!f) {
                    st[top].d->res_mark = done;
                    visit(c, st[top].d);
                    top--;
                    continue;
                }
                st[top].f = f->next;
                ast_decl *x = f->type ? inline_decl(f->type) : NULL;
                if (!x || x->res_mark == done || x->res_mark == started)
                    continue;   /* started: a cycle, refused already */
                if (++top == cap) {
                    cap *= 2;
                    st = check_xrealloc(st, cap * sizeof *st);
                }
                st[top].d = x;
                st[top].f = x->fields;
                x->res_mark = started;
            }
        }
    free(st);
}

/* Records whose elements need init_sync: a sync field inline, directly or
 * in an inline record (fixed arrays, optional values, variant payloads). */
static void mark_sync_of(checker *c, ast_decl *d)
{
    (void)c;
    for (const ast_field *f = d->fields; f; f = f->next) {
        ast_decl *x = f->type ? inline_decl(f->type) : NULL;
        if ((f->type && is_sync(f->type)) || (x && x->res_has_sync))
            d->res_has_sync = true;
    }
}

/* ---------------------------------------------------------------- sizes */

/* Sizes saturate at AST_TOO_BIG: a type nests 32 levels of up to 65536
 * elements, which no 64-bit product holds. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > AST_TOO_BIG - b ? AST_TOO_BIG : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    return b && a > AST_TOO_BIG / b ? AST_TOO_BIG : a * b;
}

static uint64_t align_up(uint64_t n, uint64_t a)
{
    return n % a ? sat_add(n, a - n % a) : n;
}

/* The C size and alignment of a value of t as emit.c lays it out (LP64;
 * sync objects as mcore's headers size them; a nested ?T is a struct
 * { bool has; T value; }).  Named types must have theirs already. */
static uint64_t type_size(const ast_type *t, uint64_t *align)
{
    static const unsigned char scal[] = {1, 1, 2, 4, 8, 1, 2, 4, 8, 4, 8};
    uint64_t s, a;
    switch (t->kind) {
    case AST_T_SCALAR:
        return *align = scal[t->scalar];
    case AST_T_STRING:
    case AST_T_REF:
    case AST_T_NREF:
        return *align = 8;
    case AST_T_BYTES:
    case AST_T_ARRAY:
        *align = 8;
        return 16;
    case AST_T_NAMED:
        if (t->res_decl->kind == AST_D_ENUM)
            return *align = scal[t->res_decl->base ? t->res_decl->base->scalar
                                                   : AST_U32];
        if (t->res_decl->kind == AST_D_CONTAINER) { /* its descriptor */
            *align = 8;
            switch (t->res_decl->ckind) {
            case AST_C_SREF:
                return 40;
            case AST_C_SBUFFER:
                return 40;
            case AST_C_SARRAY:
            case AST_C_SMATRIX:
            case AST_C_SQUEUE:
                return 48;
            case AST_C_SHASHTBL:
                return 56;
            default:
                return 8;
            }
        }
        *align = t->res_decl->res_align;
        return t->res_decl->res_size;
    case AST_T_OPTIONAL:
        s = type_size(t->elem, &a);
        *align = a;
        return align_up(sat_add(align_up(1, a), s), a);
    case AST_T_FIXED:
        return sat_mul(type_size(t->elem, align), t->count->res.mag);
    case AST_T_MUTEX:
        *align = 8;
        return 64;
    case AST_T_SEMAPHORE:
        *align = 8;
        return 48;
    case AST_T_CONDITION:
        *align = 8;
        return 16;
    }
    return *align = 1;
}

static bool holds_too_big(const ast_type *t)
{
    const ast_decl *x = inline_decl(t);
    return x && x->res_size == AST_TOO_BIG;
}

/* Lay d out; report the field or case that takes it past AST_MAX_SIZE
 * (not when a part it holds was reported already). */
static void size_of_decl(checker *c, ast_decl *d)
{
    uint64_t off = 0, maxa = d->kind == AST_D_VARIANT ? 4 : 1, a, s;
    const ast_field *over = NULL;
    bool quiet = false;
    for (const ast_field *f = d->fields; f; f = f->next) {
        if (!f->type)
            continue;
        quiet = quiet || holds_too_big(f->type);
        if (d->kind == AST_D_VARIANT) {   /* the union: its largest case */
            s = type_size(f->type, &a);
            if (s > off)
                off = s;
        } else if (f->type->kind == AST_T_OPTIONAL) { /* has_x, then x */
            s = type_size(f->type->elem, &a);
            off = sat_add(align_up(sat_add(off, 1), a), s);
        } else {
            s = type_size(f->type, &a);
            off = sat_add(align_up(off, a), s);
        }
        if (a > maxa)
            maxa = a;
        if (off > AST_MAX_SIZE && !over)
            over = f;
    }
    if (d->kind == AST_D_VARIANT) /* uint32_t tag; union u */
        off = off ? sat_add(align_up(4, maxa), off) : 4;
    d->res_align = maxa;
    d->res_size = align_up(off, maxa);
    if (d->res_size <= AST_MAX_SIZE)
        return;
    d->res_size = AST_TOO_BIG;
    if (quiet)
        return;
    if (!over) /* the last padding: blame the last field */
        for (over = d->fields; over->next; over = over->next)
            ;
    char *ts = type_to_str(over->type, false);
    uint64_t fs = type_size(over->type, &a);
    char n[48];
    if (fs == AST_TOO_BIG)
        snprintf(n, sizeof n, "more than 2^64 bytes");
    else
        snprintf(n, sizeof n, "%llu byte%s", (unsigned long long)fs,
                 fs == 1 ? "" : "s");
    diag_error(over->loc, "%s '%s' would be larger than %u bytes, the "
               "largest type mcidl accepts: its %s '%s' ('%s', %s) takes "
               "it past", decl_what(d), d->name, AST_MAX_SIZE,
               d->kind == AST_D_VARIANT ? "case" : "field", over->name, ts,
               n);
    free(ts);
    (void)c;
}

/* A type outside records (a container's, a process's): its own size. */
static void size_of_type(const ast_type *t)
{
    uint64_t a, s;
    if (!t || holds_too_big(t) || (s = type_size(t, &a)) <= AST_MAX_SIZE)
        return;
    char *ts = type_to_str(t, false);
    diag_error(t->loc, "type '%s' would be larger than %u bytes, the "
               "largest type mcidl accepts", ts, AST_MAX_SIZE);
    free(ts);
}

static void check_sizes(checker *c)
{
    inline_postorder(c, size_of_decl);
    for (ast_module *m = c->p->first; m; m = m->res_next)
        for (ast_decl *d = m->decls; d; d = d->next)
            if (d->kind == AST_D_CONTAINER) {
                size_of_type(d->type);
                size_of_type(d->type2);
                size_of_type(d->res_header);
            } else if (d->kind == AST_D_PROCESS) {
                size_of_type(d->fields ? d->fields->type : NULL);
                size_of_type(d->type);
            }
}


/* ---------------------------------------------------------------- all */

void check_graph(checker *c, int before)
{
    if (!diag_too_many())
        check_cnames(c->p);
    if (!diag_too_many())
        check_inline_cycles(c);
    if (diag_errors() == before)
        check_sizes(c);
    if (diag_errors() == before)
        inline_postorder(c, mark_sync_of);
}
