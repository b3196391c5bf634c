/* compiler/emit_descr.c: the type descriptors (mc_type) of the generated
 * source, one per record, variant and helper: its functions (emit_copy.c,
 * emit_marshal.c, emit_keys.c), its pointer table (emit_ptrs.c) and its
 * id, which stands for the type's definition and all it reaches.
 */
#include "emit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "emit_parts.h"

/* ---------------------------------------------------------- type ids
 *
 * The id of a type stands for its definition and every definition it
 * reaches (by any edge: inline, array, reference), so that two binaries
 * agree on it exactly when they agree on all of them.  It is a hash built
 * bottom up over the strongly connected components of the "mentions"
 * graph (a component: declarations that reach each other through
 * references): a component's hash covers its members' canonical texts,
 * sorted by full name, and the hashes of the components they mention,
 * sorted; a declaration's id is its full name with its component's hash.
 * Each declaration is hashed once, so a chain of n records costs O(n),
 * where hashing everything each one reaches cost O(n^2) texts. */

typedef struct declvec {
    ast_decl **v;
    size_t n, cap;
} declvec;

static void vec_push(declvec *s, ast_decl *d)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v) {
            fputs("mcidl: out of memory\n", stderr);
            exit(1);
        }
    }
    s->v[s->n++] = d;
}

static int cmp_decl(const void *a, const void *b)
{
    const ast_decl *x = *(const ast_decl *const *)a;
    const ast_decl *y = *(const ast_decl *const *)b;
    int r = strcmp(x->module->name, y->module->name);
    return r ? r : strcmp(x->name, y->name);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* the declarations a type mentions, one per constructor level */
#define FOR_MENTIONED(t, x)                                                \
    for (const ast_type *x = (t); x; x = x->elem)                          \
        if (x->res_decl)

/* The k-th type (0 .. 2) a container declaration holds: its element (or
 * key), a hash table's value, its header; NULL if none.  Its descriptor's
 * id covers them: the descriptor of an sref of another value type is
 * another type. */
static const ast_type *descr_elem(const ast_decl *d, int k)
{
    if (d->kind != AST_D_CONTAINER)
        return NULL;
    return k == 0 ? d->type : k == 1 ? d->type2 : d->res_header;
}

/* The canonical text of one declaration: its kind, full name, and each
 * field with its resolved type, in order (a container: its kind, name and
 * element type). */
static void canon_decl(FILE *f, const ast_decl *d)
{
    if (d->kind == AST_D_CONTAINER) {
        char *ts = d->type ? type_to_str(d->type, true) : xstrdup("");
        fprintf(f, "%s %s.%s:%s", ast_container_name(d->ckind),
                d->module->name, d->name, ts);
        free(ts);
        if (d->type2) {
            ts = type_to_str(d->type2, true);
            fprintf(f, "->%s", ts);
            free(ts);
        }
        if (d->res_header) {
            ts = type_to_str(d->res_header, true);
            fprintf(f, " header=%s", ts);
            free(ts);
        }
        fputc('\n', f);
        return;
    }
    fprintf(f, "%s %s.%s{", d->kind == AST_D_RECORD    ? "record"
                            : d->kind == AST_D_VARIANT ? "variant"
                                                       : "enum",
            d->module->name, d->name);
    if (d->kind == AST_D_ENUM) {
        fprintf(f, ":%s;", scalar_name(enum_base(d)));
        for (ast_member *m = d->members; m; m = m->next)
            fprintf(f, "%s=%s%llu;", m->name, m->res.neg ? "-" : "",
                    (unsigned long long)m->res.mag);
    }
    for (ast_field *fl = d->fields; fl; fl = fl->next) {
        char *ts = fl->type ? type_to_str(fl->type, true) : NULL;
        fprintf(f, "%s:%s;", fl->name, ts ? ts : "");
        free(ts);
    }
    fputs("}\n", f);
}

typedef struct idwalk {
    ast_decl **node, **mem;
    size_t *comp;      /* node -> its component, once that is done */
    uint64_t *chash;   /* component -> its hash */
    size_t ncomp;
} idwalk;

static uint64_t name_hash(const ast_decl *d, uint64_t h)
{
    char *s = fmt("%s.%s %016llx", d->module->name, d->name,
                  (unsigned long long)h);
    uint64_t id = XXH64(s, strlen(s), 0x6d63696431ull);
    free(s);
    return id;
}

typedef struct succs {
    uint64_t *v;
    size_t n, cap;
} succs;

/* Add the hashes of the other components that t mentions to sv. */
static void note_succ(const idwalk *w, const ast_type *t, size_t self,
                      succs *sv)
{
    FOR_MENTIONED(t, x) {
        size_t c = w->comp[x->res_decl->res_index];
        if (c == self)
            continue;
        if (sv->n == sv->cap) {
            sv->cap = sv->cap ? 2 * sv->cap : 8;
            sv->v = realloc(sv->v, sv->cap * sizeof *sv->v);
            if (!sv->v) {
                fputs("mcidl: out of memory\n", stderr);
                exit(1);
            }
        }
        sv->v[sv->n++] = w->chash[c];
    }
}

/* A finished component: hash its members' texts (sorted by name), then
 * the sorted hashes of the other components they mention (all done:
 * scc_walk gives those first); each member's id is its name with it. */
static void hash_component(const size_t *cv, size_t n, void *ctx)
{
    idwalk *w = ctx;
    size_t self = w->ncomp++, len = 0;
    succs sv = {0};
    char *buf = NULL;
    for (size_t i = 0; i < n; i++) {
        w->comp[cv[i]] = self;
        w->mem[i] = w->node[cv[i]];
    }
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        fputs("mcidl: out of memory\n", stderr);
        exit(1);
    }
    qsort(w->mem, n, sizeof *w->mem, cmp_decl);
    for (size_t i = 0; i < n; i++) {
        canon_decl(f, w->mem[i]);
        for (const ast_field *fl = w->mem[i]->fields; fl; fl = fl->next)
            note_succ(w, fl->type, self, &sv);
        for (int k = 0; k < 3; k++)
            note_succ(w, descr_elem(w->mem[i], k), self, &sv);
    }
    if (sv.n)
        qsort(sv.v, sv.n, sizeof *sv.v, cmp_u64);
    for (size_t i = 0; i < sv.n; i++)
        if (i == 0 || sv.v[i] != sv.v[i - 1])
            fprintf(f, "-> %016llx\n", (unsigned long long)sv.v[i]);
    fclose(f);
    w->chash[self] = XXH64(buf, len, 0x6d63696431ull);
    free(buf);
    free(sv.v);
    for (size_t i = 0; i < n; i++)
        w->mem[i]->res_id = name_hash(w->mem[i], w->chash[self]);
}

/* Give every record, variant and enum of the program, and every sref
 * and camlbox (their descriptors' types), its id (res_id); return how
 * many there are (their res_index bound). */
size_t compute_ids(const program *p)
{
    declvec node = {0};
    for (ast_module *m = p->first; m; m = m->res_next)
        for (ast_decl *d = m->decls; d; d = d->next)
            if (d->kind == AST_D_RECORD || d->kind == AST_D_VARIANT ||
                d->kind == AST_D_ENUM || d->kind == AST_D_CONTAINER) {
                d->res_index = (int)node.n;
                vec_push(&node, d);
            }
    size_t nn = node.n, ne = 0;
    size_t *off = xmalloc((nn + 1) * sizeof *off);
    for (size_t i = 0; i < nn; i++) {
        for (const ast_field *fl = node.v[i]->fields; fl; fl = fl->next)
            FOR_MENTIONED(fl->type, x)
                ne++;
        for (int k = 0; k < 3; k++)
            FOR_MENTIONED(descr_elem(node.v[i], k), x)
                ne++;
    }
    size_t *to = xmalloc((ne + 1) * sizeof *to);
    ne = 0;
    for (size_t i = 0; i < nn; i++) { /* edges, grouped by source */
        off[i] = ne;
        for (const ast_field *fl = node.v[i]->fields; fl; fl = fl->next)
            FOR_MENTIONED(fl->type, x)
                to[ne++] = (size_t)x->res_decl->res_index;
        for (int k = 0; k < 3; k++)
            FOR_MENTIONED(descr_elem(node.v[i], k), x)
                to[ne++] = (size_t)x->res_decl->res_index;
    }
    off[nn] = ne;
    idwalk w = {node.v, xmalloc((nn + 1) * sizeof *w.mem),
                xmalloc((nn + 1) * sizeof *w.comp),
                xmalloc((nn + 1) * sizeof *w.chash), 0};
    scc_walk(nn, off, to, hash_component, &w);
    free(node.v), free(off), free(to), free(w.mem), free(w.comp);
    free(w.chash);
    return nn;
}

/* The id of a type without a name (a helper): its text with the ids of
 * the declarations it mentions. */
static uint64_t type_id(const ast_type *t)
{
    char *ts = type_to_str(t, true);
    char *s = fmt("type %s", ts);
    free(ts);
    FOR_MENTIONED(t, x) {
        char *n = fmt("%s %016llx", s, (unsigned long long)x->res_decl->res_id);
        free(s);
        s = n;
    }
    uint64_t id = XXH64(s, strlen(s), 0x6d63696431ull);
    free(s);
    return id;
}

/* ------------------------------------------------------- descriptors */

/* Emit the mc_type of a record or variant, after its functions. */
void put_decl_type(emitter *e, const ast_decl *d)
{
    FILE *c = e->c;
    char *n = decl_cname(d), *un = upper(d->name);
    ast_type self = {.kind = AST_T_NAMED, .res_decl = (ast_decl *)d};
    int ptr = has_ptr(&self), sync = d->kind == AST_D_RECORD &&
                                     d->res_has_sync;
    e->tmp = 0;
    fprintf(c, "/* ---- %s */\n\n", n);
    put_copy_fns(e, d);
    put_marshal_fns(e, d);
    put_init_sync(e, d);
    int keyok = put_key_fns(e, d);
    size_t nptrs = emit_ptr_table(e, &self, n, n, 0);
    fprintf(c, "const mc_type %s_type = {\n    .name = \"%s.%s\",\n"
               "    .id = %s%s_TYPE_ID,\n    .size = sizeof(%s),\n"
               "    .align = _Alignof(%s),\n", n, d->module->name, d->name,
            e->upre, un, n, n);
    if (nptrs)
        fprintf(c, "    .ptrs = %s_ptrs,\n    .nptrs = %zu,\n", n, nptrs);
    if (ptr || sync) /* the copy starts with *d = *s: it fills dst */
        fprintf(c, "    .copy = %s_copy,\n    .flags = MC_TYPE_COPY_FILLS,\n",
                n);
    if (ptr)
        fprintf(c, "    .trace = %s_trace,\n", n);
    if (keyok)
        fprintf(c, "    .hash = %s_hash,\n    .equal = %s_equal,\n", n, n);
    if (sync)
        fprintf(c, "    .init_sync = %s_init_sync,\n", n);
    if (!d->res_has_sync)
        fprintf(c, "    .marshal = %s_marshal,\n    .unmarshal = "
                   "%s_unmarshal,\n", n, n);
    fprintf(c, "};\n\n");
    free(n);
    free(un);
}

/* Emit the mc_type of a helper: one element is the helper's C type (or,
 * for references, one pointer). */
void put_helper_type(emitter *e, const helper *hp)
{
    FILE *c = e->c;
    const ast_type *t = hp->t;
    const char *n = hp->name;
    char *ct = ctype(e, t);
    int ptr = has_ptr(t);
    e->tmp = 0;
    fprintf(c, "/* ---- %s */\n\n", n);
    put_helper_copy_fns(e, hp);
    put_helper_marshal_fns(e, hp);
    int keyok = put_helper_key_fns(e, hp);
    size_t nptrs = emit_ptr_table(e, t, ct, n, 1);
    fprintf(c, "static const mc_type %s_type MC_GEN_UNUSED = {\n"
               "    .name = \"%s\",\n"
               "    .id = 0x%016llxull,\n    .size = sizeof(%s),\n"
               "    .align = _Alignof(%s),\n", n, hp->mangle,
            (unsigned long long)type_id(t), ct, ct);
    if (ptr)
        fprintf(c, "    .copy = %s_copy,\n    .trace = %s_trace,\n"
                   "    .flags = MC_TYPE_COPY_FILLS,\n", n, n);
    if (nptrs)
        fprintf(c, "    .ptrs = %s_ptrs,\n    .nptrs = %zu,\n", n, nptrs);
    if (keyok)
        fprintf(c, "    .hash = %s_hash,\n    .equal = %s_equal,\n", n, n);
    fprintf(c, "    .marshal = %s_marshal,\n    .unmarshal = %s_unmarshal,\n"
               "};\n\n", n, n);
    free(ct);
}
