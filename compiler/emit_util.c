/* compiler/emit_util.c: what every part of the C generator uses: memory,
 * the C names of types and scalars, helpers (the named shapes of unnamed
 * types), what a type holds, and the small writers of indented code.
 *
 * Types that have no name in the IDL but need an mc_type or a C struct
 * (a dynamic array, an optional or a fixed array nested in another type,
 * a reference stored in an array) become "helpers", named after their
 * shape: [string] -> PREFIX_arr_string, ?f32 -> PREFIX_opt_f32,
 * u8[16] -> PREFIX_fix16_u8, &Tile -> PREFIX_ref_Tile.  Type names have
 * no '_' (idl/mcidl.md section 5), so helpers never collide with them.
 */
#include "emit.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* ------------------------------------------------------------ utilities */

void *xmalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        fputs("mcidl: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p) {
        fputs("mcidl: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

char *fmt(const char *f, ...)
{
    va_list ap;
    char *s;
    va_start(ap, f);
    if (vasprintf(&s, f, ap) < 0) {
        fputs("mcidl: out of memory\n", stderr);
        exit(1);
    }
    va_end(ap);
    return s;
}

char *upper(const char *s)
{
    char *u = xstrdup(s);
    for (char *p = u; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return u;
}

const char *scalar_ctype(ast_scalar s)
{
    static const char *const n[] = {"bool", "int8_t", "int16_t", "int32_t",
                                    "int64_t", "uint8_t", "uint16_t",
                                    "uint32_t", "uint64_t", "float",
                                    "double"};
    return n[s];
}

const char *scalar_name(ast_scalar s)
{
    static const char *const n[] = {"bool", "i8", "i16", "i32", "i64", "u8",
                                    "u16", "u32", "u64", "f32", "f64"};
    return n[s];
}

/* An enum's underlying scalar (u32 when not given). */
ast_scalar enum_base(const ast_decl *d)
{
    return d->base && d->base->kind == AST_T_SCALAR ? d->base->scalar
                                                    : AST_U32;
}

char *decl_cname(const ast_decl *d)
{
    return fmt("%s%s", d->module->res_prefix, d->name);
}

static char *mangle_named(const ast_decl *d, const ast_module *m)
{
    if (d->module == m)
        return xstrdup(d->name);
    /* another module's type: its prefix without the trailing '_' */
    const char *p = d->module->res_prefix;
    return fmt("%.*s_%s", (int)strlen(p) - 1, p, d->name);
}

/* The C type a named type stands for: a record's, variant's or enum's
 * own, or for an sref or camlbox its typed descriptor, PREFIX_Name_descr. */
char *named_cname(const ast_decl *d)
{
    if (d->kind == AST_D_CONTAINER)
        return fmt("%s%s_descr", d->module->res_prefix, d->name);
    return decl_cname(d);
}

/* A type's shape as part of a C name, seen from module m. */
static char *mangle(const ast_type *t, const ast_module *m)
{
    char *in, *s;
    switch (t->kind) {
    case AST_T_SCALAR:
        return xstrdup(scalar_name(t->scalar));
    case AST_T_STRING:
        return xstrdup("string");
    case AST_T_BYTES:
        return xstrdup("bytes");
    case AST_T_NAMED:
        return mangle_named(t->res_decl, m);
    case AST_T_REF:
    case AST_T_NREF:
        in = mangle_named(t->res_decl, m);
        s = fmt("%s_%s", t->kind == AST_T_REF ? "ref" : "nref", in);
        free(in);
        return s;
    case AST_T_ARRAY:
        in = mangle(t->elem, m);
        s = fmt("arr_%s", in);
        free(in);
        return s;
    case AST_T_OPTIONAL:
        in = mangle(t->elem, m);
        s = fmt("opt_%s", in);
        free(in);
        return s;
    case AST_T_FIXED:
        in = mangle(t->elem, m);
        s = fmt("fix%llu_%s", (unsigned long long)t->count->res.mag, in);
        free(in);
        return s;
    default:
        return xstrdup("sync");
    }
}

int is_helper_kind(const ast_type *t)
{
    return t->kind == AST_T_ARRAY || t->kind == AST_T_OPTIONAL ||
           t->kind == AST_T_FIXED || t->kind == AST_T_REF ||
           t->kind == AST_T_NREF;
}

/* C type of a value of type t in a position where it has no field name
 * (array elements, payloads, helper members). */
char *ctype(emitter *e, const ast_type *t)
{
    switch (t->kind) {
    case AST_T_SCALAR:
        return xstrdup(scalar_ctype(t->scalar));
    case AST_T_STRING:
        return xstrdup("char *");
    case AST_T_BYTES:
        return xstrdup("mc_bytes");
    case AST_T_NAMED:
        return named_cname(t->res_decl);
    case AST_T_REF:
    case AST_T_NREF: {
        char *n = decl_cname(t->res_decl), *s = fmt("%s *", n);
        free(n);
        return s;
    }
    case AST_T_MUTEX:
        return xstrdup("mc_mutex");
    case AST_T_SEMAPHORE:
        return xstrdup("mc_sem");
    case AST_T_CONDITION:
        return xstrdup("mc_cond");
    default:
        return xstrdup(need_helper(e, t)->name);
    }
}

/* The mc_type of one element of type t, as a C expression. */
char *typeexpr(emitter *e, const ast_type *t)
{
    switch (t->kind) {
    case AST_T_SCALAR:
        return fmt("&mc_type_%s", scalar_name(t->scalar));
    case AST_T_STRING:
        return xstrdup("&mc_type_str");
    case AST_T_BYTES:
        return xstrdup("&mc_type_bytesval");
    case AST_T_NAMED:
        if (t->res_decl->kind == AST_D_ENUM)
            return fmt("&mc_type_%s", scalar_name(enum_base(t->res_decl)));
        {
            char *n = named_cname(t->res_decl), *s = fmt("&%s_type", n);
            free(n);
            return s;
        }
    default:
        return fmt("&%s_type", need_helper(e, t)->name);
    }
}

static size_t hslot(const emitter *e, const char *mg)
{
    size_t i = XXH64(mg, strlen(mg), 0) & (e->hcap - 1);
    while (e->htab[i] && strcmp(e->htab[i]->mangle, mg) != 0)
        i = (i + 1) & (e->hcap - 1);
    return i;
}

helper *need_helper(emitter *e, const ast_type *t)
{
    char *mg = mangle(t, e->m);
    if (2 * (e->hn + 1) > e->hcap) { /* grow: a list was quadratic */
        helper **old = e->htab;
        size_t ocap = e->hcap;
        e->hcap = ocap ? 2 * ocap : 64;
        e->htab = xmalloc(e->hcap * sizeof *e->htab);
        for (size_t i = 0; i < ocap; i++)
            if (old[i])
                e->htab[hslot(e, old[i]->mangle)] = old[i];
        free(old);
    }
    helper *found = e->htab[hslot(e, mg)];
    if (found) {
        free(mg);
        return found;
    }
    /* parts first: their C types must be complete before this one */
    if (t->elem && is_helper_kind(t->elem))
        need_helper(e, t->elem);
    helper *h = xmalloc(sizeof *h);
    h->mangle = mg;
    h->t = t;
    h->name = fmt("%s%s", e->pre, mg);
    *e->htail = h;
    e->htail = &h->next;
    e->htab[hslot(e, mg)] = h;   /* again: the parts may have grown it */
    e->hn++;
    return h;
}

/* ------------------------------------------------ what a type contains */

/* Does a value of t hold a pointer (so copy and trace have work)? */
int has_ptr(const ast_type *t)
{
    switch (t->kind) {
    case AST_T_STRING:
    case AST_T_BYTES:
    case AST_T_REF:
    case AST_T_NREF:
    case AST_T_ARRAY:
        return 1;
    case AST_T_OPTIONAL:
    case AST_T_FIXED:
        return has_ptr(t->elem);
    case AST_T_NAMED: {
        /* kept per declaration: a record holding two of another would
         * otherwise be looked at twice, and so on down */
        ast_decl *d = t->res_decl;
        if (d->kind == AST_D_ENUM || d->kind == AST_D_CONTAINER)
            return 0; /* a descriptor is plain bytes */
        if (!d->res_has_ptr) {
            d->res_has_ptr = 2;
            for (ast_field *f = d->fields; f; f = f->next)
                if (f->type && has_ptr(f->type)) {
                    d->res_has_ptr = 1;
                    break;
                }
        }
        return d->res_has_ptr == 1;
    }
    default:
        return 0;
    }
}

static int is_sync(const ast_type *t)
{
    return t->kind == AST_T_MUTEX || t->kind == AST_T_SEMAPHORE ||
           t->kind == AST_T_CONDITION;
}

/* Does a value of t hold a sync field inline? */
int has_sync(const ast_type *t)
{
    if (is_sync(t))
        return 1;
    if (t->kind == AST_T_FIXED)
        return has_sync(t->elem);
    if (t->kind == AST_T_NAMED && t->res_decl->kind == AST_D_RECORD)
        return t->res_decl->res_has_sync;
    return 0;
}

/* ----------------------------------------------------- field-level code */

val nested(const ast_type *t, const char *base, char **tmp1, char **tmp2)
{
    /* the parts of a nested optional helper: base.has, base.value */
    (void)t;
    *tmp1 = fmt("%s.value", base);
    *tmp2 = fmt("%s.has", base);
    return (val){*tmp1, *tmp2, 1};
}

void ind(FILE *f, int n)
{
    fprintf(f, "%*s", 4 * n, "");
}

/* Open a loop over the elements of fixed array t, whose value is v (and,
 * for two-sided walkers, w).  *ev (and *ew) receive the element
 * expressions; `extra` is added to the loop's
 * condition.  Close it with close_block. */
void open_fixed(emitter *e, const ast_type *t, val v, val w, char **ev,
                char **ew, int lv, const char *extra)
{
    int k = e->tmp++;
    ind(e->c, lv);
    fprintf(e->c, "for (size_t i%d = 0; i%d < %llu%s; i%d++) {\n", k, k,
            (unsigned long long)t->count->res.mag, extra, k);
    *ev = fmt("%s%s[i%d]", v.e, v.nest ? ".v" : "", k);
    if (ew)
        *ew = fmt("%s%s[i%d]", w.e, w.nest ? ".v" : "", k);
}

void close_block(emitter *e, int lv)
{
    ind(e->c, lv);
    fputs("}\n", e->c);
}



/* Doc comments as // lines: their text may hold anything, "*" "/" too. */
void put_doc(FILE *f, int lv, const char *doc)
{
    if (!doc)
        return;
    const char *p = doc;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        ind(f, lv);
        fprintf(f, "/// %.*s\n", (int)n, p);
        p += n;
        if (*p)
            p++;
    }
}


/* ------------------------------------------------------------ wrappers */

/* Expand a template: @P@ prefix, @UP@ upper-case prefix, @N@ the name,
 * @T@ the value's C type, @TT@ its mc_type expression, @A@/@R@ a process's
 * argument and result C types, @AT@/@RT@ their mc_types. */
void expand(FILE *out, const char *tmpl, const char *const *keys,
                   const char *const *vals, int n)
{
    for (const char *p = tmpl; *p;) {
        if (*p == '@') {
            const char *q = strchr(p + 1, '@');
            int hit = 0;
            for (int i = 0; q && i < n; i++)
                if ((size_t)(q - p - 1) == strlen(keys[i]) &&
                    strncmp(p + 1, keys[i], (size_t)(q - p - 1)) == 0) {
                    size_t vl = strlen(vals[i]);
                    fputs(vals[i], out);
                    p = q + 1;
                    /* a pointer type before " *": "char ***copy", not
                     * "char * **copy" */
                    if (vl && vals[i][vl - 1] == '*' && p[0] == ' ' &&
                        p[1] == '*')
                        p++;
                    hit = 1;
                    break;
                }
            if (hit)
                continue;
        }
        fputc(*p++, out);
    }
}

/* One element of a helper seen as a value of its type, through the
 * pointer named p: p->v for a fixed array's struct, p->value and p->has
 * for an optional's, (*p) for the others.  free_val frees it. */
val helper_val(const ast_type *t, const char *p)
{
    if (t->kind == AST_T_FIXED)
        return (val){fmt("%s->v", p), NULL, 0};
    if (t->kind == AST_T_OPTIONAL)
        return (val){fmt("%s->value", p), fmt("%s->has", p), 0};
    return (val){fmt("(*%s)", p), NULL, 0};
}

void free_val(val v)
{
    free((char *)v.e);
    free((char *)v.has);
}

/* "const T *" for a struct type ct; "T *const *" for a pointer type. */
char *const_ctype(const char *ct)
{
    return ct[strlen(ct) - 1] == '*' ? fmt("%sconst ", ct)
                                     : fmt("const %s ", ct);
}
