/* compiler/emit_ptrs.c: the pointer tables of generated types.
 *
 * A table lists where the pointers of one value are (mcore/type.h,
 * mc_ptr_field): strings, owned arrays, references, and values embedded
 * by value that hold pointers.  The runtime copies a value as its bytes and
 * then walks the table, and the collector traces it the same way, so a
 * record costs one loop instead of a call per field.
 *
 * Offsets are offsetof() expressions over member paths ("value.u.text",
 * "pos[2]"), so the C compiler, not mcidl, does the layout.  An entry may
 * depend on one condition: an optional's flag or a variant's tag.  What
 * needs two (an optional inside a variant case, say), or a named type whose
 * fields no table can say, is embedded as an MC_PF_ELEM of its named type;
 * where there is no named type to embed, the type gets no table and is
 * copied by its generated functions, which handle every shape.
 */
#include "emit.h"

#include <stdlib.h>
#include <string.h>

#include "emit_parts.h"

/* Fixed arrays of unnamed pointer types are listed element by element up
 * to this many elements; longer ones make the type use its functions. */
#define MAX_UNROLL 16
/* A table's most entries.  A named value is inlined into its parent's
 * table only if its own entries fit, else embedded whole (MC_PF_ELEM), so
 * records that each hold two of the one before do not double the table
 * at every level; a type with more pointers of its own than this is
 * copied by its functions. */
#define MAX_ENTRIES 64
/* How many named values deep a table inlines: deeper ones are embedded
 * whole (MC_PF_ELEM, their own table).  Without it a chain of records,
 * each holding the one before, gave every record a table walking the
 * whole chain, with member paths as long: cubic time, quadratic C. */
#define MAX_INLINE_DEPTH 8

typedef struct cond {
    const char *what; /* NULL, "MC_PW_HAS" or "MC_PW_TAG" */
    char *at;         /* member path of the flag or tag */
    char *tag;        /* the tag's C constant */
} cond;

typedef struct ptab {
    emitter *e;
    const char *ct;   /* the C type whose members the paths name */
    int depth;        /* named values inlined around the current walk */
    char **ent;       /* C initializers, one per entry */
    size_t n, cap;
} ptab;

/* offsetof(ct, path), or 0 for the value itself (a helper's pointer). */
static char *off(const ptab *tb, const char *path)
{
    return path[0] ? fmt("offsetof(%s, %s)", tb->ct, path) : xstrdup("0");
}

static char *join(const char *path, const char *member)
{
    return path[0] ? fmt("%s.%s", path, member) : xstrdup(member);
}

static void add(ptab *tb, const char *kind, const char *path, cond cd,
                const char *len_path, unsigned long long n, const char *t)
{
    char *o = off(tb, path);
    char *s = fmt("    {.off = %s, .kind = %s", o, kind);
    free(o);
    char *x;
    if (n) {
        x = fmt("%s, .n = %llu", s, n);
        free(s), s = x;
    }
    if (len_path) {
        char *lo = off(tb, len_path);
        x = fmt("%s,\n     .len_off = %s", s, lo);
        free(s), free(lo), s = x;
    }
    if (cd.what) {
        char *wo = off(tb, cd.at);
        x = fmt("%s,\n     .when = %s, .when_off = %s", s, cd.what, wo);
        free(s), free(wo), s = x;
        if (cd.tag) {
            x = fmt("%s,\n     .when_tag = %s", s, cd.tag);
            free(s), s = x;
        }
    }
    x = t ? fmt("%s%s.t = %s},\n", s, len_path && !cd.what ? ", " : ",\n     ", t)
          : fmt("%s},\n", s);
    free(s);
    if (tb->n == tb->cap) {
        tb->cap = tb->cap ? 2 * tb->cap : 8;
        char **v = realloc(tb->ent, tb->cap * sizeof *v);
        if (!v) {
            fputs("mcidl: out of memory\n", stderr);
            exit(1);
        }
        tb->ent = v;
    }
    tb->ent[tb->n++] = x;
}

static int walk(ptab *tb, const ast_type *t, const char *path,
                const char *has, int nest, cond cd);
static int walk_decl(ptab *tb, const ast_decl *d, const char *path,
                     cond cd);

/* The entries of d's own table, or -1 if it has none: worked out once per
 * declaration, so that inlining d somewhere is decided without trying. */
static int decl_entries(emitter *e, ast_decl *d)
{
    if (!d->res_ptr_entries) {
        ptab tmp = {.e = e, .ct = "T"};
        cond none = {NULL, NULL, NULL};
        int rc = walk_decl(&tmp, d, "", none);
        d->res_ptr_entries = rc ? 1 : (int)tmp.n + 2;
        for (size_t i = 0; i < tmp.n; i++)
            free(tmp.ent[i]);
        free(tmp.ent);
    }
    return d->res_ptr_entries - 2;
}

/* The fields of a record, or the cases of a variant, at path. */
static int walk_decl(ptab *tb, const ast_decl *d, const char *path, cond cd)
{
    int rc = 0;
    if (d->kind == AST_D_RECORD) {
        for (ast_field *f = d->fields; f && !rc; f = f->next) {
            char *p = join(path, f->name);
            char *hn = fmt("has_%s", f->name);
            char *h = join(path, hn);
            rc = walk(tb, f->type, p, f->type->kind == AST_T_OPTIONAL ? h
                                                                     : NULL,
                      0, cd);
            free(p), free(hn), free(h);
        }
        return rc;
    }
    char *up = upper(d->module->res_prefix), *un = upper(d->name);
    for (ast_field *f = d->fields; f && !rc; f = f->next) {
        if (!f->type || !has_ptr(f->type))
            continue;
        char *u = fmt("u.%s", f->name), *p = join(path, u);
        char *uc = upper(f->name);
        cond c = {"MC_PW_TAG", join(path, "tag"),
                  fmt("%s%s_%s", up, un, uc)};
        rc = walk(tb, f->type, p, NULL, 1, c);
        free(u), free(p), free(uc), free(c.at), free(c.tag);
    }
    free(up), free(un);
    return rc;
}

/* Add the entries of a value of t at path (has: its optional flag's path
 * when it is a record field; nest: it is a nested helper, as in emit.c's
 * val).  0, or -1 when the table cannot say it. */
static int walk(ptab *tb, const ast_type *t, const char *path,
                const char *has, int nest, cond cd)
{
    char *a, *b, *x;
    int rc = 0;
    if (has_sync(t) || tb->n >= MAX_ENTRIES)
        return -1; /* locks are not copied as bytes; a table too long */
    if (!has_ptr(t))
        return 0;
    switch (t->kind) {
    case AST_T_STRING:
        add(tb, "MC_PF_STR", path, cd, NULL, 0, NULL);
        return 0;
    case AST_T_BYTES:
    case AST_T_ARRAY:
        a = join(path, "data"), b = join(path, "len");
        x = t->kind == AST_T_BYTES ? xstrdup("&mc_type_bytes")
                                   : typeexpr(tb->e, t->elem);
        add(tb, "MC_PF_ARRAY", a, cd, b, 0, x);
        free(a), free(b), free(x);
        return 0;
    case AST_T_REF:
    case AST_T_NREF:
        a = decl_cname(t->res_decl);
        x = fmt("&%s_type", a);
        add(tb, "MC_PF_REF", path, cd, NULL, 0, x);
        free(a), free(x);
        return 0;
    case AST_T_NAMED:
        if (!cd.what) { /* its fields, inline in this table, if they fit */
            int k = decl_entries(tb->e, t->res_decl);
            size_t mark = tb->n;
            /* k counts d's table inlined from depth 0: at any depth its
             * inlined entries are no more (deeper values become one) */
            if (k >= 0 && tb->n + (size_t)k <= MAX_ENTRIES &&
                tb->depth < MAX_INLINE_DEPTH) {
                tb->depth++;
                rc = walk_decl(tb, t->res_decl, path, cd);
                tb->depth--;
                if (rc == 0)
                    return 0;
            }
            while (tb->n > mark)
                free(tb->ent[--tb->n]);
        }
        /* under a condition (its own entries may have one too), or not
         * sayable by a table: the value whole, copied as its type says */
        x = typeexpr(tb->e, t);
        add(tb, "MC_PF_ELEM", path, cd, NULL, 1, x);
        free(x);
        return 0;
    case AST_T_OPTIONAL: {
        if (cd.what)
            return -1;
        char *vp = has ? xstrdup(path) : join(path, "value");
        char *hp = has ? xstrdup(has) : join(path, "has");
        cond c = {"MC_PW_HAS", hp, NULL};
        rc = walk(tb, t->elem, vp, NULL, 1, c);
        free(vp), free(hp);
        return rc;
    }
    case AST_T_FIXED: {
        unsigned long long n = t->count->res.mag;
        char *base = nest ? join(path, "v") : xstrdup(path);
        if (t->elem->kind == AST_T_NAMED && n <= 0xffff) {
            x = typeexpr(tb->e, t->elem);
            a = fmt("%s[0]", base);
            add(tb, "MC_PF_ELEM", a, cd, NULL, n, x);
            free(x), free(a), free(base);
            return 0;
        }
        if (n > MAX_UNROLL) {
            free(base);
            return -1;
        }
        for (unsigned long long i = 0; i < n && !rc; i++) {
            a = fmt("%s[%llu]", base, i);
            rc = walk(tb, t->elem, a, NULL, 1, cd);
            free(a);
        }
        free(base);
        return rc;
    }
    default:
        return -1;
    }
}

size_t emit_ptr_table(emitter *e, const ast_type *t, const char *ct,
                      const char *name, int helper)
{
    ptab tb = {.e = e, .ct = ct};
    cond none = {NULL, NULL, NULL};
    int rc;
    if (!has_ptr(t) || has_sync(t))
        rc = -1;
    else if (!helper)
        rc = walk_decl(&tb, t->res_decl, "", none);
    else if (t->kind == AST_T_FIXED) /* struct { T v[N]; } */
        rc = walk(&tb, t, "v", NULL, 0, none);
    else if (t->kind == AST_T_OPTIONAL) /* struct { bool has; T value; } */
        rc = walk(&tb, t, "value", "has", 0, none);
    else /* an array's struct, or the pointer of a reference */
        rc = walk(&tb, t, "", NULL, 0, none);
    size_t n = rc ? 0 : tb.n;
    if (n) {
        fprintf(e->c, "static const mc_ptr_field %s_ptrs[] = {\n", name);
        for (size_t i = 0; i < tb.n; i++)
            fputs(tb.ent[i], e->c);
        fputs("};\n\n", e->c);
    }
    for (size_t i = 0; i < tb.n; i++)
        free(tb.ent[i]);
    free(tb.ent);
    return n;
}
