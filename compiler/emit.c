/* compiler/emit.c: C code generation.
 *
 * For the root module of a checked program, write NAME.h and NAME.c: the C
 * types, one mc_type per type (copy, trace, marshal, init_sync), and typed
 * wrappers for containers and processes.  The wrappers' shape lives in
 * templates/ (embedded at build time, see templates.h); types are emitted
 * by code, field by field, from the resolved AST.
 *
 * Both files are written to temporaries in DIR first and renamed into place
 * only when both are complete, so an error leaves nothing written.
 *
 * Types that have no name in the IDL but need an mc_type or a C struct
 * (a dynamic array, an optional or a fixed array nested in another type,
 * a reference stored in an array) become "helpers", named after their
 * shape: [string] -> PREFIX_arr_string, ?f32 -> PREFIX_opt_f32,
 * u8[16] -> PREFIX_fix16_u8, &Tile -> PREFIX_ref_Tile.  Type names have
 * no '_' (idl/mcidl.md section 5), so helpers never collide with them.
 */
#include "mcidl.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "diag.h"
#include "emit.h"
#include "mcore/version.h"
#include "templates.h"

/* bump both together: what mcidl writes is the runtime's contract */
_Static_assert(MCIDL_ABI_VERSION == MC_ABI_VERSION,
               "mcidl writes code for another mcore ABI than this runtime's");

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

static const char *scalar_ctype(ast_scalar s)
{
    static const char *const n[] = {"bool", "int8_t", "int16_t", "int32_t",
                                    "int64_t", "uint8_t", "uint16_t",
                                    "uint32_t", "uint64_t", "float",
                                    "double"};
    return n[s];
}

static const char *scalar_name(ast_scalar s)
{
    static const char *const n[] = {"bool", "i8", "i16", "i32", "i64", "u8",
                                    "u16", "u32", "u64", "f32", "f64"};
    return n[s];
}

/* An enum's underlying scalar (u32 when not given). */
static ast_scalar enum_base(const ast_decl *d)
{
    return d->base && d->base->kind == AST_T_SCALAR ? d->base->scalar
                                                    : AST_U32;
}

static char *mangle(const ast_type *t);

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
static char *named_cname(const ast_decl *d)
{
    if (d->kind == AST_D_CONTAINER)
        return fmt("%s%s_descr", d->module->res_prefix, d->name);
    return decl_cname(d);
}

static const ast_module *g_m; /* the module being emitted (for mangle) */

static char *mangle(const ast_type *t)
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
        return mangle_named(t->res_decl, g_m);
    case AST_T_REF:
    case AST_T_NREF:
        in = mangle_named(t->res_decl, g_m);
        s = fmt("%s_%s", t->kind == AST_T_REF ? "ref" : "nref", in);
        free(in);
        return s;
    case AST_T_ARRAY:
        in = mangle(t->elem);
        s = fmt("arr_%s", in);
        free(in);
        return s;
    case AST_T_OPTIONAL:
        in = mangle(t->elem);
        s = fmt("opt_%s", in);
        free(in);
        return s;
    case AST_T_FIXED:
        in = mangle(t->elem);
        s = fmt("fix%llu_%s", (unsigned long long)t->count->res.mag, in);
        free(in);
        return s;
    default:
        return xstrdup("sync");
    }
}

/* The helper standing for t (array, optional, fixed, reference), made on
 * first use.  Helpers are emitted in the order they were made; a helper's
 * own parts are made (and so emitted) before it. */
static helper *need_helper(emitter *e, const ast_type *t);

static int is_helper_kind(const ast_type *t)
{
    return t->kind == AST_T_ARRAY || t->kind == AST_T_OPTIONAL ||
           t->kind == AST_T_FIXED || t->kind == AST_T_REF ||
           t->kind == AST_T_NREF;
}

/* C type of a value of type t in a position where it has no field name
 * (array elements, payloads, helper members). */
static char *ctype(emitter *e, const ast_type *t)
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

static helper *need_helper(emitter *e, const ast_type *t)
{
    char *mg = mangle(t);
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

/* ----------------------------------------------------- field-level code
 *
 * Each generator writes statements for one value of type t, given C
 * lvalue expressions for it.  Optional values have a presence flag: `has`
 * is its expression (field-level: obj->has_x; nested: x.has). */

typedef struct val {
    const char *e;    /* the value */
    const char *has;  /* its presence flag, for optional values */
    int nest;         /* a nested fixed array: a helper struct (member v) */
} val;

static val nested(const ast_type *t, const char *base, char **tmp1,
                  char **tmp2)
{
    /* the parts of a nested optional helper: base.has, base.value */
    (void)t;
    *tmp1 = fmt("%s.value", base);
    *tmp2 = fmt("%s.has", base);
    return (val){*tmp1, *tmp2, 1};
}

static void ind(FILE *f, int n)
{
    fprintf(f, "%*s", 4 * n, "");
}

/* Open a loop over the elements of fixed array t, whose value is v (and,
 * for two-sided walkers, w).  *ev (and *ew) receive the element
 * expressions; `extra` is added to the loop's
 * condition.  Close it with close_block. */
static void open_fixed(emitter *e, const ast_type *t, val v, val w, char **ev,
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

static void close_block(emitter *e, int lv)
{
    ind(e->c, lv);
    fputs("}\n", e->c);
}

static void gen_copy(emitter *e, const ast_type *t, val d, val s, int lv);
static void gen_trace(emitter *e, const ast_type *t, val v, int lv);
static void gen_marshal(emitter *e, const ast_type *t, val v, int lv);
static void gen_unmarshal(emitter *e, const ast_type *t, val v, int lv);

/* An integer or float: a fixed array of them is written as its memory
 * (little-endian: marshal.h), with one call. */
static int raw_scalar(const ast_type *t)
{
    return t->kind == AST_T_SCALAR && t->scalar != AST_BOOL;
}

static void gen_copy(emitter *e, const ast_type *t, val d, val s, int lv)
{
    FILE *c = e->c;
    char *te, *a, *b;
    switch (t->kind) {
    case AST_T_STRING:
        ind(c, lv);
        fprintf(c, "if ((rc = mc_copy_str(c, &%s, &%s)))\n", s.e, d.e);
        ind(c, lv + 1);
        fputs("return rc;\n", c);
        break;
    case AST_T_BYTES:
        ind(c, lv);
        fprintf(c, "if ((rc = mc_copy_own(c, &mc_type_bytes, %s.len, "
                   "(void *const *)&%s.data, (void **)&%s.data)))\n",
                s.e, s.e, d.e);
        ind(c, lv + 1);
        fputs("return rc;\n", c);
        break;
    case AST_T_REF:
    case AST_T_NREF:
        a = decl_cname(t->res_decl);
        ind(c, lv);
        fprintf(c, "if ((rc = mc_copy_ptr(c, &%s_type, 1, (void *const *)&%s, "
                   "(void **)&%s)))\n", a, s.e, d.e);
        ind(c, lv + 1);
        fputs("return rc;\n", c);
        free(a);
        break;
    case AST_T_ARRAY:
        te = typeexpr(e, t->elem);
        ind(c, lv);
        fprintf(c, "if ((rc = mc_copy_own(c, %s, %s.len, (void *const *)&%s."
                   "data, (void **)&%s.data)))\n", te, s.e, s.e, d.e);
        ind(c, lv + 1);
        fputs("return rc;\n", c);
        free(te);
        break;
    case AST_T_NAMED:
        if (t->res_decl->kind == AST_D_ENUM ||
            (!has_ptr(t) && !has_sync(t)))
            break;
        a = decl_cname(t->res_decl);
        ind(c, lv);
        fprintf(c, "if ((rc = %s_type.copy(c, &%s, &%s)))\n", a, d.e, s.e);
        ind(c, lv + 1);
        fputs("return rc;\n", c);
        free(a);
        break;
    case AST_T_OPTIONAL: {
        if (!has_ptr(t->elem))
            break;
        char *t1, *t2, *t3, *t4;
        val dv = d, sv = s;
        if (!s.has) { /* nested: a helper struct */
            dv = nested(t, d.e, &t1, &t2);
            sv = nested(t, s.e, &t3, &t4);
        } else {
            t1 = t2 = t3 = t4 = NULL;
        }
        ind(c, lv);
        fprintf(c, "if (%s) {\n", sv.has);
        gen_copy(e, t->elem, (val){dv.e, NULL, 1}, (val){sv.e, NULL, 1},
                 lv + 1);
        ind(c, lv);
        fputs("}\n", c);
        free(t1), free(t2), free(t3), free(t4);
        break;
    }
    case AST_T_FIXED: {
        if (!has_ptr(t->elem) && !has_sync(t->elem))
            break;
        open_fixed(e, t, d, s, &a, &b, lv, "");
        gen_copy(e, t->elem, (val){a, NULL, 1}, (val){b, NULL, 1}, lv + 1);
        close_block(e, lv);
        free(a), free(b);
        break;
    }
    case AST_T_MUTEX:
    case AST_T_SEMAPHORE:
    case AST_T_CONDITION:
        /* a lock's state is not a value: copies start unlocked, and a heap
         * initializes it in place (init_sync) */
        ind(c, lv);
        fprintf(c, "memset(&%s, 0, sizeof %s);\n", d.e, d.e);
        break;
    default:
        break;
    }
}

static void gen_trace(emitter *e, const ast_type *t, val v, int lv)
{
    FILE *c = e->c;
    char *a;
    switch (t->kind) {
    case AST_T_STRING:
    case AST_T_REF:
    case AST_T_NREF:
        ind(c, lv);
        fprintf(c, "mc_trace_ptr(tr, %s);\n", v.e);
        break;
    case AST_T_BYTES:
    case AST_T_ARRAY:
        ind(c, lv);
        fprintf(c, "mc_trace_ptr(tr, %s.data);\n", v.e);
        break;
    case AST_T_NAMED:
        if (!has_ptr(t))
            break;
        a = decl_cname(t->res_decl);
        ind(c, lv);
        fprintf(c, "%s_type.trace(tr, &%s);\n", a, v.e);
        free(a);
        break;
    case AST_T_OPTIONAL: {
        if (!has_ptr(t->elem))
            break;
        char *t1 = NULL, *t2 = NULL;
        val x = v.has ? v : nested(t, v.e, &t1, &t2);
        ind(c, lv);
        fprintf(c, "if (%s)\n", x.has);
        gen_trace(e, t->elem, (val){x.e, NULL, 1}, lv + 1);
        free(t1), free(t2);
        break;
    }
    case AST_T_FIXED: {
        if (!has_ptr(t->elem))
            break;
        open_fixed(e, t, v, v, &a, NULL, lv, "");
        gen_trace(e, t->elem, (val){a, NULL, 1}, lv + 1);
        close_block(e, lv);
        free(a);
        break;
    }
    default:
        break;
    }
}

static void gen_marshal(emitter *e, const ast_type *t, val v, int lv)
{
    FILE *c = e->c;
    char *a, *te;
    switch (t->kind) {
    case AST_T_SCALAR:
        ind(c, lv);
        fprintf(c, "mc_put_%s(w, %s);\n", scalar_name(t->scalar), v.e);
        break;
    case AST_T_STRING:
        ind(c, lv);
        fprintf(c, "mc_put_str(w, %s);\n", v.e);
        break;
    case AST_T_BYTES:
        ind(c, lv);
        fprintf(c, "mc_put_own(w, &mc_type_bytes, %s.len, %s.data);\n", v.e,
                v.e);
        break;
    case AST_T_REF:
    case AST_T_NREF:
        a = decl_cname(t->res_decl);
        ind(c, lv);
        fprintf(c, "mc_put_ref(w, &%s_type, 1, %s);\n", a, v.e);
        free(a);
        break;
    case AST_T_ARRAY:
        te = typeexpr(e, t->elem);
        ind(c, lv);
        fprintf(c, "mc_put_own(w, %s, %s.len, %s.data);\n", te, v.e, v.e);
        free(te);
        break;
    case AST_T_NAMED:
        if (t->res_decl->kind == AST_D_ENUM) {
            ind(c, lv);
            fprintf(c, "mc_put_%s(w, %s);\n",
                    scalar_name(enum_base(t->res_decl)), v.e);
            break;
        }
        a = named_cname(t->res_decl);
        ind(c, lv);
        fprintf(c, "%s_type.marshal(w, &%s);\n", a, v.e);
        free(a);
        break;
    case AST_T_OPTIONAL: {
        char *t1 = NULL, *t2 = NULL;
        val x = v.has ? v : nested(t, v.e, &t1, &t2);
        ind(c, lv);
        fprintf(c, "mc_put_bool(w, %s);\n", x.has);
        ind(c, lv);
        fprintf(c, "if (%s) {\n", x.has);
        gen_marshal(e, t->elem, (val){x.e, NULL, 1}, lv + 1);
        ind(c, lv);
        fputs("}\n", c);
        free(t1), free(t2);
        break;
    }
    case AST_T_FIXED: {
        if (raw_scalar(t->elem)) { /* its memory is its encoding */
            ind(c, lv);
            fprintf(c, "mc_put_raw(w, %s%s, sizeof %s%s);\n", v.e,
                    v.nest ? ".v" : "", v.e, v.nest ? ".v" : "");
            break;
        }
        open_fixed(e, t, v, v, &a, NULL, lv, "");
        gen_marshal(e, t->elem, (val){a, NULL, 1}, lv + 1);
        close_block(e, lv);
        free(a);
        break;
    }
    default:
        break; /* sync fields never travel (checked) */
    }
}

static void gen_unmarshal(emitter *e, const ast_type *t, val v, int lv)
{
    FILE *c = e->c;
    char *a, *te;
    switch (t->kind) {
    case AST_T_SCALAR:
        ind(c, lv);
        fprintf(c, "mc_get_%s(r, &%s);\n", scalar_name(t->scalar), v.e);
        break;
    case AST_T_STRING:
        ind(c, lv);
        fprintf(c, "mc_get_str(r, &%s);\n", v.e);
        break;
    case AST_T_BYTES:
        ind(c, lv);
        fprintf(c, "mc_get_own(r, &mc_type_bytes, &%s.len, (void **)&%s."
                   "data);\n", v.e, v.e);
        break;
    case AST_T_REF:
    case AST_T_NREF:
        a = decl_cname(t->res_decl);
        ind(c, lv);
        fprintf(c, "mc_get_ref(r, &%s_type, NULL, (void **)&%s);\n", a, v.e);
        if (t->kind == AST_T_REF) {
            ind(c, lv);
            fprintf(c, "if (!%s && !r->err)\n", v.e);
            ind(c, lv + 1);
            fputs("return mc_reader_fail(r, \"a null non-null reference\");\n",
                  c);
        }
        free(a);
        break;
    case AST_T_ARRAY:
        te = typeexpr(e, t->elem);
        ind(c, lv);
        fprintf(c, "mc_get_own(r, %s, &%s.len, (void **)&%s.data);\n", te,
                v.e, v.e);
        free(te);
        break;
    case AST_T_NAMED:
        if (t->res_decl->kind == AST_D_ENUM) {
            ind(c, lv);
            fprintf(c, "mc_get_%s(r, &%s);\n",
                    scalar_name(enum_base(t->res_decl)), v.e);
            break;
        }
        a = named_cname(t->res_decl);
        ind(c, lv);
        fprintf(c, "if (%s_type.unmarshal(r, &%s))\n", a, v.e);
        ind(c, lv + 1);
        fputs("return r->err;\n", c);
        free(a);
        break;
    case AST_T_OPTIONAL: {
        char *t1 = NULL, *t2 = NULL;
        val x = v.has ? v : nested(t, v.e, &t1, &t2);
        ind(c, lv);
        fprintf(c, "mc_get_bool(r, &%s);\n", x.has);
        ind(c, lv);
        fprintf(c, "if (%s) {\n", x.has);
        gen_unmarshal(e, t->elem, (val){x.e, NULL, 1}, lv + 1);
        ind(c, lv);
        fputs("}\n", c);
        free(t1), free(t2);
        break;
    }
    case AST_T_FIXED: {
        if (raw_scalar(t->elem)) {
            ind(c, lv);
            fprintf(c, "mc_get_raw(r, %s%s, sizeof %s%s);\n", v.e,
                    v.nest ? ".v" : "", v.e, v.nest ? ".v" : "");
            break;
        }
        open_fixed(e, t, v, v, &a, NULL, lv, " && !r->err");
        gen_unmarshal(e, t->elem, (val){a, NULL, 1}, lv + 1);
        close_block(e, lv);
        free(a);
        break;
    }
    default:
        break;
    }
}

/* --------------------------------------------------------- keys: hash */

static const ast_decl *hstack[64];
static int hdepth;
static int hgaveup; /* the stack ran out: the answer is a guess (no) */

/* hashable below, with *low: the lowest stack index of a declaration the
 * answer assumed hashable (a cycle back to it).  A declaration's answer
 * is kept (res_hashable) when it assumed nothing of those above it, so
 * each is worked out once: records that each hold two of the one before
 * took time doubling with every level. */
static int hashable_at(const ast_type *t, int *low)
{
    switch (t->kind) {
    case AST_T_REF:
    case AST_T_NREF:
    case AST_T_MUTEX:
    case AST_T_SEMAPHORE:
    case AST_T_CONDITION:
        return 0;
    case AST_T_ARRAY:
    case AST_T_OPTIONAL:
    case AST_T_FIXED:
        return hashable_at(t->elem, low);
    case AST_T_NAMED: {
        ast_decl *d = t->res_decl;
        if (d->kind == AST_D_ENUM)
            return 1;
        if (d->res_hashable)
            return d->res_hashable == 1;
        for (int i = 0; i < hdepth; i++)
            if (hstack[i] == d) {
                if (i < *low)
                    *low = i;
                return 1;
            }
        if (hdepth == 64) {
            hgaveup = 1;
            return 0;
        }
        int me = hdepth, sublow = INT_MAX, ok = 1;
        hstack[hdepth++] = d;
        for (ast_field *f = d->fields; f && ok; f = f->next)
            if (f->type && !hashable_at(f->type, &sublow))
                ok = 0;
        hdepth--;
        if (!hgaveup && (!ok || sublow >= me))
            d->res_hashable = ok ? 1 : 2;
        if (sublow < me && sublow < *low)
            *low = sublow;
        return ok;
    }
    default:
        return 1;
    }
}

/* Can values of t be hash-table keys: no references (identity is not
 * value) and no sync fields?  Recursion through arrays ends: a decl being
 * looked at counts as hashable. */
static int hashable(const ast_type *t)
{
    int low = INT_MAX;
    hgaveup = 0;
    return hashable_at(t, &low);
}

/* h = hash of value v mixed into h */
static void gen_hash(emitter *e, const ast_type *t, val v, int lv)
{
    FILE *c = e->c;
    char *a, *te;
    switch (t->kind) {
    case AST_T_SCALAR:
        ind(c, lv);
        fprintf(c, "h = mc_hash_bytes(h, &%s, sizeof %s);\n", v.e, v.e);
        break;
    case AST_T_STRING:
        ind(c, lv);
        fprintf(c, "h = mc_hash_str(h, %s);\n", v.e);
        break;
    case AST_T_BYTES:
        ind(c, lv);
        fprintf(c, "h = mc_hash_bytes(mc_hash_mix(h, %s.len), %s.data, "
                   "%s.len);\n", v.e, v.e, v.e);
        break;
    case AST_T_NAMED:
        ind(c, lv);
        if (t->res_decl->kind == AST_D_ENUM) {
            fprintf(c, "h = mc_hash_bytes(h, &%s, sizeof %s);\n", v.e, v.e);
            break;
        }
        a = named_cname(t->res_decl);
        fprintf(c, "h = mc_hash_mix(h, %s_type.hash(&%s));\n", a, v.e);
        free(a);
        break;
    case AST_T_ARRAY: {
        int k = e->tmp++;
        te = typeexpr(e, t->elem);
        ind(c, lv);
        fprintf(c, "h = mc_hash_mix(h, %s.len);\n", v.e);
        ind(c, lv);
        fprintf(c, "for (size_t i%d = 0; i%d < %s.len; i%d++)\n", k, k, v.e,
                k);
        ind(c, lv + 1);
        fprintf(c, "h = mc_hash_mix(h, (%s)->hash(&%s.data[i%d]));\n", te,
                v.e, k);
        free(te);
        break;
    }
    case AST_T_OPTIONAL: {
        char *t1 = NULL, *t2 = NULL;
        val x = v.has ? v : nested(t, v.e, &t1, &t2);
        ind(c, lv);
        fprintf(c, "h = mc_hash_mix(h, %s);\n", x.has);
        ind(c, lv);
        fprintf(c, "if (%s) {\n", x.has);
        gen_hash(e, t->elem, (val){x.e, NULL, 1}, lv + 1);
        ind(c, lv);
        fputs("}\n", c);
        free(t1), free(t2);
        break;
    }
    case AST_T_FIXED: {
        open_fixed(e, t, v, v, &a, NULL, lv, "");
        gen_hash(e, t->elem, (val){a, NULL, 1}, lv + 1);
        close_block(e, lv);
        free(a);
        break;
    }
    default:
        break;
    }
}

/* return 0 unless values a and b are equal */
static void gen_equal(emitter *e, const ast_type *t, val x, val y, int lv)
{
    FILE *c = e->c;
    char *a, *b, *te;
    switch (t->kind) {
    case AST_T_SCALAR:
        ind(c, lv);
        fprintf(c, "if (memcmp(&%s, &%s, sizeof %s))\n", x.e, y.e, x.e);
        ind(c, lv + 1);
        fputs("return 0;\n", c);
        break;
    case AST_T_STRING:
        ind(c, lv);
        fprintf(c, "if (!mc_str_equal(%s, %s))\n", x.e, y.e);
        ind(c, lv + 1);
        fputs("return 0;\n", c);
        break;
    case AST_T_BYTES:
        ind(c, lv);
        fprintf(c, "if (!mc_type_bytesval.equal(&%s, &%s))\n", x.e, y.e);
        ind(c, lv + 1);
        fputs("return 0;\n", c);
        break;
    case AST_T_NAMED:
        ind(c, lv);
        if (t->res_decl->kind == AST_D_ENUM) {
            fprintf(c, "if (%s != %s)\n", x.e, y.e);
        } else {
            a = named_cname(t->res_decl);
            fprintf(c, "if (!%s_type.equal(&%s, &%s))\n", a, x.e, y.e);
            free(a);
        }
        ind(c, lv + 1);
        fputs("return 0;\n", c);
        break;
    case AST_T_ARRAY: {
        int k = e->tmp++;
        te = typeexpr(e, t->elem);
        ind(c, lv);
        fprintf(c, "if (%s.len != %s.len)\n", x.e, y.e);
        ind(c, lv + 1);
        fputs("return 0;\n", c);
        ind(c, lv);
        fprintf(c, "for (size_t i%d = 0; i%d < %s.len; i%d++)\n", k, k, x.e,
                k);
        ind(c, lv + 1);
        fprintf(c, "if (!(%s)->equal(&%s.data[i%d], &%s.data[i%d]))\n", te,
                x.e, k, y.e, k);
        ind(c, lv + 2);
        fputs("return 0;\n", c);
        free(te);
        break;
    }
    case AST_T_OPTIONAL: {
        char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL;
        val p = x.has ? x : nested(t, x.e, &t1, &t2);
        val q = y.has ? y : nested(t, y.e, &t3, &t4);
        ind(c, lv);
        fprintf(c, "if (%s != %s)\n", p.has, q.has);
        ind(c, lv + 1);
        fputs("return 0;\n", c);
        ind(c, lv);
        fprintf(c, "if (%s) {\n", p.has);
        gen_equal(e, t->elem, (val){p.e, NULL, 1}, (val){q.e, NULL, 1},
                  lv + 1);
        ind(c, lv);
        fputs("}\n", c);
        free(t1), free(t2), free(t3), free(t4);
        break;
    }
    case AST_T_FIXED: {
        open_fixed(e, t, x, y, &a, &b, lv, "");
        gen_equal(e, t->elem, (val){a, NULL, 1}, (val){b, NULL, 1}, lv + 1);
        close_block(e, lv);
        free(a), free(b);
        break;
    }
    default:
        break;
    }
}

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

/* The type a container declaration holds (its descriptor's id covers it:
 * the descriptor of an sref of another value type is another type). */
static const ast_type *descr_elem(const ast_decl *d)
{
    return d->kind == AST_D_CONTAINER ? d->type : NULL;
}

/* The canonical text of one declaration: its kind, full name, and each
 * field with its resolved type, in order (a container: its kind, name and
 * element type). */
static void canon_decl(FILE *f, const ast_decl *d)
{
    if (d->kind == AST_D_CONTAINER) {
        char *ts = type_to_str(d->type, true);
        fprintf(f, "%s %s.%s:%s\n", ast_container_name(d->ckind),
                d->module->name, d->name, ts);
        free(ts);
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

/* A finished component: hash its members' texts (sorted by name), then
 * the sorted hashes of the other components they mention (all done:
 * scc_walk gives those first); each member's id is its name with it. */
static void hash_component(const size_t *cv, size_t n, void *ctx)
{
    idwalk *w = ctx;
    size_t self = w->ncomp++, nsucc = 0, cap = 0, len = 0;
    uint64_t *succ = NULL;
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
        const ast_field *fl = w->mem[i]->fields;
        const ast_type *ct = descr_elem(w->mem[i]);
        for (; fl || ct; fl = fl ? fl->next : NULL, ct = NULL)
            FOR_MENTIONED(fl ? fl->type : ct, x) {
                size_t c = w->comp[x->res_decl->res_index];
                if (c == self)
                    continue;
                if (nsucc == cap) {
                    cap = cap ? 2 * cap : 8;
                    succ = realloc(succ, cap * sizeof *succ);
                    if (!succ) {
                        fputs("mcidl: out of memory\n", stderr);
                        exit(1);
                    }
                }
                succ[nsucc++] = w->chash[c];
            }
    }
    if (nsucc)
        qsort(succ, nsucc, sizeof *succ, cmp_u64);
    for (size_t i = 0; i < nsucc; i++)
        if (i == 0 || succ[i] != succ[i - 1])
            fprintf(f, "-> %016llx\n", (unsigned long long)succ[i]);
    fclose(f);
    w->chash[self] = XXH64(buf, len, 0x6d63696431ull);
    free(buf);
    free(succ);
    for (size_t i = 0; i < n; i++)
        w->mem[i]->res_id = name_hash(w->mem[i], w->chash[self]);
}

/* Give every record, variant and enum of the program, and every sref
 * and camlbox (their descriptors' types), its id (res_id); return how
 * many there are (their res_index bound). */
static size_t compute_ids(const program *p)
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
        const ast_type *ct = descr_elem(node.v[i]);
        for (const ast_field *fl = node.v[i]->fields; fl; fl = fl->next)
            FOR_MENTIONED(fl->type, x)
                ne++;
        FOR_MENTIONED(ct, x)
            ne++;
    }
    size_t *to = xmalloc((ne + 1) * sizeof *to);
    ne = 0;
    for (size_t i = 0; i < nn; i++) { /* edges, grouped by source */
        const ast_type *ct = descr_elem(node.v[i]);
        off[i] = ne;
        for (const ast_field *fl = node.v[i]->fields; fl; fl = fl->next)
            FOR_MENTIONED(fl->type, x)
                to[ne++] = (size_t)x->res_decl->res_index;
        FOR_MENTIONED(ct, x)
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

/* ------------------------------------------------------------ doc text */

/* Doc comments as // lines: their text may hold anything, "*" "/" too. */
static void put_doc(FILE *f, int lv, const char *doc)
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

/* --------------------------------------------------------- definitions */

/* A field's declaration inside a struct. */
static void put_field_decl(emitter *e, const ast_field *fl, int lv)
{
    FILE *h = e->h;
    const ast_type *t = fl->type;
    put_doc(h, lv, fl->doc);
    if (t->kind == AST_T_OPTIONAL) {
        char *ct = ctype(e, t->elem);
        ind(h, lv);
        fprintf(h, "bool has_%s;\n", fl->name);
        ind(h, lv);
        fprintf(h, "%s%s%s;\n", ct, ct[strlen(ct) - 1] == '*' ? "" : " ",
                fl->name);
        free(ct);
    } else if (t->kind == AST_T_FIXED) {
        char *ct = ctype(e, t->elem);
        ind(h, lv);
        fprintf(h, "%s%s%s[%llu];\n", ct, ct[strlen(ct) - 1] == '*' ? "" : " ",
                fl->name, (unsigned long long)t->count->res.mag);
        free(ct);
    } else {
        char *ct = ctype(e, t);
        ind(h, lv);
        fprintf(h, "%s%s%s;\n", ct, ct[strlen(ct) - 1] == '*' ? "" : " ",
                fl->name);
        free(ct);
    }
}

/* the C definition of a helper (references need none: they are pointers) */
static void put_helper_def(emitter *e, const helper *hp)
{
    FILE *h = e->h;
    const ast_type *t = hp->t;
    char *ct;
    switch (t->kind) {
    case AST_T_ARRAY:
        ct = ctype(e, t->elem);
        fprintf(h, "typedef struct %s {\n    size_t len;\n    %s%s*data;\n} "
                   "%s;\n\n", hp->name, ct, ct[strlen(ct) - 1] == '*' ? ""
                                                                      : " ",
                hp->name);
        free(ct);
        break;
    case AST_T_OPTIONAL:
        ct = ctype(e, t->elem);
        fprintf(h, "typedef struct %s {\n    bool has;\n    %s%svalue;\n} "
                   "%s;\n\n", hp->name, ct, ct[strlen(ct) - 1] == '*' ? ""
                                                                      : " ",
                hp->name);
        free(ct);
        break;
    case AST_T_FIXED:
        ct = ctype(e, t->elem);
        fprintf(h, "typedef struct %s {\n    %s%sv[%llu];\n} %s;\n\n",
                hp->name, ct, ct[strlen(ct) - 1] == '*' ? "" : " ",
                (unsigned long long)t->count->res.mag, hp->name);
        free(ct);
        break;
    default:
        break;
    }
}

static void put_record_def(emitter *e, const ast_decl *d)
{
    FILE *h = e->h;
    char *n = decl_cname(d);
    put_doc(h, 0, d->doc);
    fprintf(h, "struct %s {\n", n);
    for (ast_field *f = d->fields; f; f = f->next)
        put_field_decl(e, f, 1);
    fprintf(h, "};\n\n");
    free(n);
}

static void put_variant_def(emitter *e, const ast_decl *d)
{
    FILE *h = e->h;
    char *n = decl_cname(d), *un = upper(d->name);
    int any = 0;
    put_doc(h, 0, d->doc);
    int k = 0;
    for (ast_field *f = d->fields; f; f = f->next, k++) {
        char *uc = upper(f->name);
        put_doc(h, 0, f->doc);
        fprintf(h, "#define %s%s_%s %d\n", e->upre, un, uc, k);
        free(uc);
        any |= f->type != NULL;
    }
    fprintf(h, "\nstruct %s {\n    uint32_t tag;\n", n);
    if (any) {
        fprintf(h, "    union {\n");
        for (ast_field *f = d->fields; f; f = f->next) {
            if (!f->type)
                continue;
            char *ct = ctype(e, f->type);
            fprintf(h, "        %s%s%s;\n", ct,
                    ct[strlen(ct) - 1] == '*' ? "" : " ", f->name);
            free(ct);
        }
        fprintf(h, "    } u;\n");
    }
    fprintf(h, "};\n\n");
    free(n);
    free(un);
}

/* ------------------------------------------------ type descriptors (.c) */

/* Emit the mc_type of a record or variant. */
static void put_decl_type(emitter *e, const ast_decl *d)
{
    FILE *c = e->c;
    char *n = decl_cname(d), *un = upper(d->name);
    ast_type self = {.kind = AST_T_NAMED, .res_decl = (ast_decl *)d};
    int ptr = has_ptr(&self), sync = d->kind == AST_D_RECORD &&
                                     d->res_has_sync;
    e->tmp = 0;
    fprintf(c, "/* ---- %s */\n\n", n);
    if (ptr || sync) {
        fprintf(c, "static int %s_copy(mc_copier *c, void *dst, const void "
                   "*src)\n{\n    %s *d = dst;\n    const %s *s = src;\n"
                   "    int rc = 0;\n    (void)c;\n    *d = *s;\n", n, n, n);
        if (d->kind == AST_D_RECORD) {
            for (ast_field *f = d->fields; f; f = f->next) {
                char *de = fmt("d->%s", f->name), *se = fmt("s->%s", f->name);
                char *dh = fmt("d->has_%s", f->name),
                     *sh = fmt("s->has_%s", f->name);
                int opt = f->type->kind == AST_T_OPTIONAL;
                gen_copy(e, f->type, (val){de, opt ? dh : NULL, 0},
                         (val){se, opt ? sh : NULL, 0}, 1);
                free(de), free(se), free(dh), free(sh);
            }
        } else {
            fprintf(c, "    switch (s->tag) {\n");
            for (ast_field *f = d->fields; f; f = f->next) {
                if (!f->type || !has_ptr(f->type))
                    continue;
                char *uc = upper(f->name);
                char *de = fmt("d->u.%s", f->name), *se = fmt("s->u.%s",
                                                              f->name);
                fprintf(c, "    case %s%s_%s:\n", e->upre, un, uc);
                gen_copy(e, f->type, (val){de, NULL, 1}, (val){se, NULL, 1}, 2);
                fprintf(c, "        break;\n");
                free(uc), free(de), free(se);
            }
            fprintf(c, "    default:\n        break;\n    }\n");
        }
        fprintf(c, "    return rc;\n}\n\n");
    }
    if (ptr) {
        fprintf(c, "static void %s_trace(mc_tracer *tr, const void *obj)\n{\n"
                   "    const %s *o = obj;\n", n, n);
        if (d->kind == AST_D_RECORD) {
            for (ast_field *f = d->fields; f; f = f->next) {
                char *ve = fmt("o->%s", f->name), *vh = fmt("o->has_%s",
                                                            f->name);
                gen_trace(e, f->type, (val){ve, f->type->kind ==
                                                 AST_T_OPTIONAL ? vh : NULL, 0},
                          1);
                free(ve), free(vh);
            }
        } else {
            fprintf(c, "    switch (o->tag) {\n");
            for (ast_field *f = d->fields; f; f = f->next) {
                if (!f->type || !has_ptr(f->type))
                    continue;
                char *uc = upper(f->name), *ve = fmt("o->u.%s", f->name);
                fprintf(c, "    case %s%s_%s:\n", e->upre, un, uc);
                gen_trace(e, f->type, (val){ve, NULL, 1}, 2);
                fprintf(c, "        break;\n");
                free(uc), free(ve);
            }
            fprintf(c, "    default:\n        break;\n    }\n");
        }
        fprintf(c, "}\n\n");
    }
    /* marshal: not for types holding sync fields (they never travel),
     * records or variants (whose cases have no marshal code either) */
    if (!d->res_has_sync) {
        fprintf(c, "static void %s_marshal(mc_writer *w, const void *obj)\n{"
                   "\n    const %s *o = obj;\n", n, n);
        if (d->kind == AST_D_RECORD) {
            for (ast_field *f = d->fields; f; f = f->next) {
                char *ve = fmt("o->%s", f->name), *vh = fmt("o->has_%s",
                                                            f->name);
                gen_marshal(e, f->type, (val){ve, f->type->kind ==
                                                   AST_T_OPTIONAL ? vh : NULL,
                                              0},
                            1);
                free(ve), free(vh);
            }
        } else {
            fprintf(c, "    mc_put_u32(w, o->tag);\n    switch (o->tag) {\n");
            for (ast_field *f = d->fields; f; f = f->next) {
                if (!f->type)
                    continue;
                char *uc = upper(f->name), *ve = fmt("o->u.%s", f->name);
                fprintf(c, "    case %s%s_%s:\n", e->upre, un, uc);
                gen_marshal(e, f->type, (val){ve, NULL, 1}, 2);
                fprintf(c, "        break;\n");
                free(uc), free(ve);
            }
            fprintf(c, "    default:\n        break;\n    }\n");
        }
        fprintf(c, "}\n\n");
        fprintf(c, "static int %s_unmarshal(mc_reader *r, void *obj)\n{\n"
                   "    %s *o = obj;\n", n, n);
        if (d->kind == AST_D_RECORD) {
            for (ast_field *f = d->fields; f; f = f->next) {
                char *ve = fmt("o->%s", f->name), *vh = fmt("o->has_%s",
                                                            f->name);
                gen_unmarshal(e, f->type, (val){ve, f->type->kind ==
                                                     AST_T_OPTIONAL ? vh
                                                                    : NULL,
                                                0},
                              1);
                free(ve), free(vh);
            }
        } else {
            int ncases = 0;
            for (ast_field *f = d->fields; f; f = f->next)
                ncases++;
            fprintf(c, "    if (mc_get_u32(r, &o->tag))\n        return "
                       "r->err;\n    if (o->tag >= %d)\n        return "
                       "mc_reader_fail(r, \"%s: no such case\");\n"
                       "    switch (o->tag) {\n", ncases, n);
            for (ast_field *f = d->fields; f; f = f->next) {
                if (!f->type)
                    continue;
                char *uc = upper(f->name), *ve = fmt("o->u.%s", f->name);
                fprintf(c, "    case %s%s_%s:\n", e->upre, un, uc);
                gen_unmarshal(e, f->type, (val){ve, NULL, 1}, 2);
                fprintf(c, "        break;\n");
                free(uc), free(ve);
            }
            fprintf(c, "    default:\n        break;\n    }\n");
        }
        fprintf(c, "    return r->err;\n}\n\n");
    }
    if (sync) {
        fprintf(c, "static int %s_init_sync(void *obj)\n{\n    %s *o = obj;\n"
                   "    int rc = 0;\n", n, n);
        for (ast_field *f = d->fields; f; f = f->next) {
            const ast_type *t = f->type;
            if (t->kind == AST_T_MUTEX) {
                static const char *const k[] = {"NORMAL", "ERRORCHECK",
                                                "RECURSIVE"};
                fprintf(c, "    if ((rc = mc_mutex_init(&o->%s, MC_MUTEX_%s)"
                           "))\n        return rc;\n", f->name,
                        k[t->res_mutex]);
            } else if (t->kind == AST_T_SEMAPHORE) {
                fprintf(c, "    if ((rc = mc_sem_init(&o->%s, %llu)))\n"
                           "        return rc;\n", f->name,
                        t->count && t->count->res_ok
                            ? (unsigned long long)t->count->res.mag
                            : 0ull);
            } else if (t->kind == AST_T_CONDITION) {
                fprintf(c, "    if ((rc = mc_cond_init(&o->%s)))\n"
                           "        return rc;\n", f->name);
            } else if (has_sync(t)) {
                /* an inline record (or a fixed array of them) with locks */
                const ast_type *x = t;
                int k = 0;
                char *expr = fmt("o->%s", f->name);
                while (x->kind == AST_T_FIXED) {
                    char *ne = fmt("%s[i%d]", expr, k);
                    fprintf(c, "%*sfor (size_t i%d = 0; i%d < %llu; i%d++)\n",
                            4 * (k + 1), "", k, k,
                            (unsigned long long)x->count->res.mag, k);
                    free(expr);
                    expr = ne;
                    x = x->elem;
                    k++;
                }
                char *xn = decl_cname(x->res_decl);
                fprintf(c, "%*sif ((rc = %s_type.init_sync(&%s)))\n%*s"
                           "return rc;\n", 4 * (k + 1), "", xn, expr,
                        4 * (k + 2), "");
                free(xn);
                free(expr);
            }
        }
        fprintf(c, "    return rc;\n}\n\n");
    }
    int keyok = hashable(&self);
    if (keyok) {
        fprintf(c, "static uint64_t %s_hash(const void *obj)\n{\n"
                   "    const %s *o = obj;\n    uint64_t h = MC_HASH_SEED;\n",
                n, n);
        if (d->kind == AST_D_RECORD) {
            for (ast_field *f = d->fields; f; f = f->next) {
                char *ve = fmt("o->%s", f->name), *vh = fmt("o->has_%s",
                                                            f->name);
                gen_hash(e, f->type, (val){ve, f->type->kind ==
                                                AST_T_OPTIONAL ? vh : NULL, 0},
                         1);
                free(ve), free(vh);
            }
        } else {
            fprintf(c, "    h = mc_hash_mix(h, o->tag);\n    switch (o->tag) "
                       "{\n");
            for (ast_field *f = d->fields; f; f = f->next) {
                if (!f->type)
                    continue;
                char *uc = upper(f->name), *ve = fmt("o->u.%s", f->name);
                fprintf(c, "    case %s%s_%s:\n", e->upre, un, uc);
                gen_hash(e, f->type, (val){ve, NULL, 1}, 2);
                fprintf(c, "        break;\n");
                free(uc), free(ve);
            }
            fprintf(c, "    default:\n        break;\n    }\n");
        }
        fprintf(c, "    return h;\n}\n\n");
        fprintf(c, "static int %s_equal(const void *pa, const void *pb)\n{\n"
                   "    const %s *a = pa, *b = pb;\n", n, n);
        if (d->kind == AST_D_RECORD) {
            for (ast_field *f = d->fields; f; f = f->next) {
                char *xa = fmt("a->%s", f->name), *xb = fmt("b->%s", f->name);
                char *ha = fmt("a->has_%s", f->name),
                     *hb = fmt("b->has_%s", f->name);
                int opt = f->type->kind == AST_T_OPTIONAL;
                gen_equal(e, f->type, (val){xa, opt ? ha : NULL, 0},
                          (val){xb, opt ? hb : NULL, 0}, 1);
                free(xa), free(xb), free(ha), free(hb);
            }
        } else {
            fprintf(c, "    if (a->tag != b->tag)\n        return 0;\n"
                       "    switch (a->tag) {\n");
            for (ast_field *f = d->fields; f; f = f->next) {
                if (!f->type)
                    continue;
                char *uc = upper(f->name), *xa = fmt("a->u.%s", f->name),
                     *xb = fmt("b->u.%s", f->name);
                fprintf(c, "    case %s%s_%s:\n", e->upre, un, uc);
                gen_equal(e, f->type, (val){xa, NULL, 1}, (val){xb, NULL, 1},
                          2);
                fprintf(c, "        break;\n");
                free(uc), free(xa), free(xb);
            }
            fprintf(c, "    default:\n        break;\n    }\n");
        }
        fprintf(c, "    return 1;\n}\n\n");
    }
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
static void put_helper_type(emitter *e, const helper *hp)
{
    FILE *c = e->c;
    const ast_type *t = hp->t;
    const char *n = hp->name;
    char *ct = ctype(e, t);
    /* "const T *" for a struct; "T *const *" for a pointer */
    char *cct = ct[strlen(ct) - 1] == '*' ? fmt("%sconst ", ct)
                                          : fmt("const %s ", ct);
    int ptr = has_ptr(t);
    /* one element of the helper, seen as a value of type t */
    val dv = {"(*d)", NULL, 0}, sv = {"(*s)", NULL, 0},
        ov = {"(*o)", NULL, 0};
    ast_type inner = *t;
    const ast_type *vt = t;
    if (t->kind == AST_T_FIXED) { /* a struct wrapping the C array */
        dv.e = "d->v", sv.e = "s->v", ov.e = "o->v";
    } else if (t->kind == AST_T_OPTIONAL) {
        dv = (val){"d->value", "d->has", 0};
        sv = (val){"s->value", "s->has", 0};
        ov = (val){"o->value", "o->has", 0};
    }
    (void)inner;
    e->tmp = 0;
    fprintf(c, "/* ---- %s */\n\n", n);
    if (ptr) {
        fprintf(c, "static int %s_copy(mc_copier *c, void *dst, const void "
                   "*src)\n{\n    %s *d = dst;\n    %s*s = src;\n"
                   "    int rc = 0;\n    (void)c;\n    *d = *s;\n", n,
                ct, cct);
        gen_copy(e, vt, dv, sv, 1);
        fprintf(c, "    return rc;\n}\n\n");
        fprintf(c, "static void %s_trace(mc_tracer *tr, const void *obj)\n{\n"
                   "    %s*o = obj;\n", n, cct);
        gen_trace(e, vt, ov, 1);
        fprintf(c, "}\n\n");
    }
    fprintf(c, "static void %s_marshal(mc_writer *w, const void *obj)\n{\n"
               "    %s*o = obj;\n", n, cct);
    gen_marshal(e, vt, ov, 1);
    fprintf(c, "}\n\nstatic int %s_unmarshal(mc_reader *r, void *obj)\n{\n"
               "    %s *o = obj;\n", n, ct);
    gen_unmarshal(e, vt, ov, 1);
    fprintf(c, "    return r->err;\n}\n\n");
    int keyok = hashable(t);
    if (keyok) {
        fprintf(c, "static uint64_t %s_hash(const void *obj)\n{\n"
                   "    %s*o = obj;\n    uint64_t h = MC_HASH_SEED;\n", n,
                cct);
        gen_hash(e, vt, ov, 1);
        fprintf(c, "    return h;\n}\n\n");
        val xa = ov, xb = ov;
        if (t->kind == AST_T_FIXED)
            xa.e = "a->v", xb.e = "b->v";
        else if (t->kind == AST_T_OPTIONAL)
            xa = (val){"a->value", "a->has", 0},
            xb = (val){"b->value", "b->has", 0};
        else
            xa.e = "(*a)", xb.e = "(*b)";
        fprintf(c, "static int %s_equal(const void *pa, const void *pb)\n{\n"
                   "    %s*a = pa;\n    %s*b = pb;\n", n, cct, cct);
        gen_equal(e, vt, xa, xb, 1);
        fprintf(c, "    return 1;\n}\n\n");
    }
    size_t nptrs = emit_ptr_table(e, t, ct, n, 1);
    fprintf(c, "static const mc_type %s_type MC_GEN_UNUSED = {\n"
               "    .name = \"%s%s\",\n"
               "    .id = 0x%016llxull,\n    .size = sizeof(%s),\n"
               "    .align = _Alignof(%s),\n", n, e->m->name ? "" : "",
            hp->mangle, (unsigned long long)type_id(t), ct, ct);
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
    free(cct);
}

/* ------------------------------------------------------------ wrappers */

/* Expand a template: @P@ prefix, @UP@ upper-case prefix, @N@ the name,
 * @T@ the value's C type, @TT@ its mc_type expression, @A@/@R@ a process's
 * argument and result C types, @AT@/@RT@ their mc_types. */
static void expand(FILE *out, const char *tmpl, const char *const *keys,
                   const char *const *vals, int n)
{
    for (const char *p = tmpl; *p;) {
        if (*p == '@') {
            const char *q = strchr(p + 1, '@');
            int hit = 0;
            for (int i = 0; q && i < n; i++)
                if ((size_t)(q - p - 1) == strlen(keys[i]) &&
                    strncmp(p + 1, keys[i], (size_t)(q - p - 1)) == 0) {
                    fputs(vals[i], out);
                    p = q + 1;
                    hit = 1;
                    break;
                }
            if (hit)
                continue;
        }
        fputc(*p++, out);
    }
}

/* A container's wrappers (descr: only its descriptor type, which goes
 * before the records, as fields may hold it). */
static void put_container(emitter *e, const ast_decl *d, int descr)
{
    char *ct = ctype(e, d->type), *te = typeexpr(e, d->type);
    char *un = upper(d->name);
    char *slots = fmt("%llu", (unsigned long long)d->res_slots);
    char *slot_size = fmt("%llu", (unsigned long long)d->res_slot_size);
    char *id = fmt("0x%016llxull", (unsigned long long)d->res_id);
    const char *keys[] = {"P", "UP", "N", "UN", "T", "TT", "SLOTS",
                          "SLOTSIZE", "M", "ID"};
    const char *vals[] = {e->pre, e->upre, d->name, un, ct, te, slots,
                          slot_size, d->module->name, id};
    enum { NK = sizeof keys / sizeof *keys };
    const char *th = NULL, *tc = NULL, *td = NULL;
    switch (d->ckind) {
    case AST_C_SREF:
        th = tmpl_sref_h, tc = tmpl_sref_c, td = tmpl_sref_descr_h;
        break;
    case AST_C_CAMLBOX:
        th = tmpl_camlbox_h, tc = tmpl_camlbox_c, td = tmpl_camlbox_descr_h;
        break;
    default:
        break; /* the others are refused (check.c) until they have wrappers */
    }
    if (descr) {
        if (td)
            expand(e->h, td, keys, vals, NK);
    } else {
        put_doc(e->h, 0, d->doc);
        if (th)
            expand(e->h, th, keys, vals, NK);
        if (tc)
            expand(e->c, tc, keys, vals, NK);
        if (d->ckind == AST_C_SREF && has_sync(d->type)) {
            /* its locks are used in place: writable, without casts */
            expand(e->h, tmpl_sref_mut_h, keys, vals, NK);
            expand(e->c, tmpl_sref_mut_c, keys, vals, NK);
        }
    }
    free(ct), free(te), free(un), free(slots), free(slot_size), free(id);
}

static void put_process(emitter *e, const ast_decl *d)
{
    const ast_type *at = d->fields ? d->fields->type : NULL;
    const ast_type *rt = d->type;
    char *act = at ? ctype(e, at) : xstrdup("void"),
         *rct = rt ? ctype(e, rt) : xstrdup("void");
    char *ate = at ? typeexpr(e, at) : xstrdup("NULL"),
         *rte = rt ? typeexpr(e, rt) : xstrdup("NULL");
    const char *aname = d->fields ? d->fields->name : "arg";
    const char *keys[] = {"P", "N", "A", "R", "AT", "RT", "AN"};
    const char *vals[] = {e->pre, d->name, act, rct, ate, rte, aname};
    put_doc(e->h, 0, d->doc);
    expand(e->h, tmpl_process_h, keys, vals, 7);
    expand(e->c, tmpl_process_c, keys, vals, 7);
    free(act), free(rct), free(ate), free(rte);
}

/* ------------------------------------------------------------- driver */

/* The record or variant this module's t holds inline (through ?T and
 * T[N]), or NULL: what its C definition needs complete before its own. */
static ast_decl *inline_local(const ast_type *t, const ast_module *m)
{
    for (; t; t = t->elem) {
        if (t->kind == AST_T_ARRAY || t->kind == AST_T_REF ||
            t->kind == AST_T_NREF)
            return NULL; /* behind a pointer: no order needed */
        if (t->kind == AST_T_NAMED && t->res_decl->module == m &&
            t->res_decl->kind != AST_D_ENUM &&
            t->res_decl->kind != AST_D_CONTAINER) /* descriptors: early */
            return t->res_decl;
    }
    return NULL;
}

enum { EMIT_ORDERED = 1 };

/* Append d, after every record and variant it holds inline not yet in
 * out, to out (the checks made the inline graph acyclic).  A depth-first
 * walk with its own stack: a chain of records is as deep as it is long. */
static void order_decl(ast_decl *d, const ast_decl **out, size_t *n,
                       const ast_module *m)
{
    if (d->res_emit & EMIT_ORDERED)
        return;
    size_t cap = 16, top = 0;
    struct { ast_decl *d; const ast_field *f; } *st = xmalloc(cap * sizeof *st);
    d->res_emit |= EMIT_ORDERED;
    st[0].d = d;
    st[0].f = d->fields;
    for (;;) {
        const ast_field *f = st[top].f;
        if (f) {
            st[top].f = f->next;
            ast_decl *x = f->type ? inline_local(f->type, m) : NULL;
            if (!x || (x->res_emit & EMIT_ORDERED))
                continue;
            x->res_emit |= EMIT_ORDERED;
            if (++top == cap) {
                cap *= 2;
                st = realloc(st, cap * sizeof *st);
                if (!st) {
                    fputs("mcidl: out of memory\n", stderr);
                    exit(1);
                }
            }
            st[top].d = x;
            st[top].f = x->fields;
            continue;
        }
        out[(*n)++] = st[top].d;
        if (top-- == 0)
            break;
    }
    free(st);
}

/* Make every helper the module's types and declarations use, so that the
 * header can define them before the records. */
static void collect_helpers(emitter *e, const ast_type *t, int field_level)
{
    if (!t)
        return;
    if (is_helper_kind(t) && !(field_level && (t->kind == AST_T_OPTIONAL ||
                                               t->kind == AST_T_FIXED ||
                                               t->kind == AST_T_REF ||
                                               t->kind == AST_T_NREF)))
        need_helper(e, t);
    collect_helpers(e, t->elem, 0);
}

/* An integer as a C constant expression of the first type that holds
 * it: int, then int64_t, then uint64_t (C's own rule for unsuffixed
 * decimals, without the unsigned int step): a constant 4 is an int, so
 * `for (int i = 0; i < K; i++)` is clean under -Wsign-compare and
 * `-1 < K` holds.  The most negative values are written as a difference,
 * their magnitude being no constant of the type. */
static void c_int(ast_int v, char *buf, size_t n)
{
    unsigned long long m = v.mag;
    if (!v.neg && m <= INT32_MAX)
        snprintf(buf, n, "%llu", m);
    else if (!v.neg && m <= INT64_MAX)
        snprintf(buf, n, "INT64_C(%llu)", m);
    else if (!v.neg)
        snprintf(buf, n, "UINT64_C(%llu)", m);
    else if (m < (1ull << 31))
        snprintf(buf, n, "(-%llu)", m);
    else if (m == (1ull << 31))
        snprintf(buf, n, "(-%llu - 1)", m - 1);
    else if (m < (1ull << 63))
        snprintf(buf, n, "(-INT64_C(%llu))", m);
    else
        snprintf(buf, n, "(-INT64_C(%llu) - 1)", m - 1);
}

static int write_files(emitter *e)
{
    const ast_module *m = e->m;
    FILE *h = e->h, *c = e->c;
    char *base = NULL;
    size_t ndecl = 0;
    for (const ast_decl *d = m->decls; d; d = d->next)
        ndecl++;
    const ast_decl **ord = xmalloc((ndecl + 1) * sizeof *ord);
    size_t nord = 0;

    /* helpers first, in dependency order */
    for (const ast_decl *d = m->decls; d; d = d->next) {
        for (ast_field *f = d->fields; f; f = f->next)
            collect_helpers(e, f->type, d->kind == AST_D_RECORD);
        if (d->kind == AST_D_CONTAINER) {
            collect_helpers(e, d->type, 0);
            collect_helpers(e, d->type2, 0);
        }
        if (d->kind == AST_D_PROCESS)
            collect_helpers(e, d->type, 0);
    }
    for (const ast_decl *d = m->decls; d; d = d->next)
        if (d->kind == AST_D_RECORD || d->kind == AST_D_VARIANT)
            order_decl((ast_decl *)d, ord, &nord, m);

    char *guard = fmt("%sH_", e->upre);
    fprintf(h, "/* Generated by mcidl %s from %s.  Do not edit. */\n",
            MCIDL_VERSION, m->file);
    put_doc(h, 0, m->doc);
    /* first: code for another contract must not compile (a stale header
     * would otherwise build and misbehave); #error cannot print the
     * runtime's value, so each case has its message */
    fprintf(h, "#ifndef %s\n#define %s\n\n#include \"mcore/version.h\"\n"
               "#if !defined(MC_ABI_VERSION)\n#error \"module %s was generated by "
               "mcidl %s for the mcore ABI %d, and mcore/version.h defines "
               "no MC_ABI_VERSION\"\n#elif MC_ABI_VERSION != %d\n#error "
               "\"module %s was generated by mcidl %s for the mcore ABI %d, and "
               "this runtime's MC_ABI_VERSION (mcore/version.h) is another: "
               "generate it again with this runtime's mcidl\"\n#endif\n\n",
            guard, guard, m->name, MCIDL_VERSION, MCIDL_ABI_VERSION,
            MCIDL_ABI_VERSION, m->name, MCIDL_VERSION, MCIDL_ABI_VERSION);
    fprintf(h, "#include <stdbool.h>\n"
               "#include <stddef.h>\n#include <stdint.h>\n\n"
               "#include \"mcore/camlbox.h\"\n"
               "#include \"mcore/cond.h\"\n#include \"mcore/marshal.h\"\n"
               "#include \"mcore/mutex.h\"\n#include \"mcore/sem.h\"\n"
               "#include \"mcore/sref.h\"\n#include \"mcore/tprocess.h\"\n"
               "#include \"mcore/type.h\"\n");
    for (const ast_import *im = m->imports; im; im = im->next) {
        const char *slash = strrchr(im->path, '/');
        const char *b = slash ? slash + 1 : im->path;
        size_t bl = strlen(b);
        if (bl > 6 && strcmp(b + bl - 6, ".mcidl") == 0)
            bl -= 6;
        fprintf(h, "#include \"%.*s.h\"\n", (int)bl, b);
    }
    fputs("\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n", h);

    /* constants and enums */
    for (const ast_decl *d = m->decls; d; d = d->next) {
        if (d->kind == AST_D_CONST) {
            char *un = upper(d->name), lit[64];
            put_doc(h, 0, d->doc);
            c_int(d->value->res, lit, sizeof lit);
            fprintf(h, "#define %s%s %s\n", e->upre, un, lit);
            free(un);
        } else if (d->kind == AST_D_ENUM) {
            char *n = decl_cname(d), *un = upper(d->name);
            put_doc(h, 0, d->doc);
            fprintf(h, "typedef %s %s;\n", scalar_ctype(enum_base(d)), n);
            for (ast_member *mb = d->members; mb; mb = mb->next) {
                char *um = upper(mb->name), lit[64];
                put_doc(h, 0, mb->doc);
                c_int(mb->res, lit, sizeof lit);
                fprintf(h, "#define %s%s_%s ((%s)%s)\n", e->upre, un, um, n,
                        lit);
                free(um);
            }
            fputc('\n', h);
            free(n), free(un);
        }
    }
    /* forward declarations: references may point anywhere */
    for (const ast_decl *d = m->decls; d; d = d->next)
        if (d->kind == AST_D_RECORD || d->kind == AST_D_VARIANT) {
            char *n = decl_cname(d);
            fprintf(h, "typedef struct %s %s;\n", n, n);
            free(n);
        }
    fputc('\n', h);
    /* the containers' descriptors: records may hold them inline */
    for (const ast_decl *d = m->decls; d; d = d->next)
        if (d->kind == AST_D_CONTAINER)
            put_container(e, d, 1);
    /* helpers whose parts are pointers or scalars can go first; others
     * (optionals and fixed arrays of records) after those records: emit
     * all in one pass over the records, placing each helper before the
     * first record that needs it, and the rest at the end */
    helper *hp, **wraps = xmalloc(e->ndecl * sizeof *wraps);
    helper **wlast = xmalloc(e->ndecl * sizeof *wlast);
    for (hp = e->helpers; hp; hp = hp->next) {
        const ast_type *x = hp->t;
        while (x->kind == AST_T_OPTIONAL || x->kind == AST_T_FIXED)
            x = x->elem;
        if (x->kind == AST_T_NAMED && x->res_decl->kind != AST_D_ENUM &&
            x->res_decl->kind != AST_D_CONTAINER && x->res_decl->module == m) {
            /* needs a record of this module complete: listed with it, in
             * the order made (a helper's parts first) */
            int k = x->res_decl->res_index;
            if (wraps[k])
                wlast[k]->same = hp;
            else
                wraps[k] = hp;
            wlast[k] = hp;
            continue;
        }
        put_helper_def(e, hp);
    }
    for (size_t i = 0; i < nord; i++) {
        const ast_decl *d = ord[i];
        if (d->kind == AST_D_RECORD)
            put_record_def(e, d);
        else
            put_variant_def(e, d);
        /* the helpers that wrap this record inline are complete now */
        for (hp = wraps[d->res_index]; hp; hp = hp->same)
            put_helper_def(e, hp);
    }
    free(wraps);
    free(wlast);
    /* ids and descriptors */
    for (size_t i = 0; i < nord; i++) {
        const ast_decl *d = ord[i];
        char *n = decl_cname(d), *un = upper(d->name);
        fprintf(h, "#define %s%s_TYPE_ID 0x%016llxull\n", e->upre, un,
                (unsigned long long)d->res_id);
        fprintf(h, "extern const mc_type %s_type;\n", n);
        free(n), free(un);
    }
    fputc('\n', h);

    fprintf(c, "/* Generated by mcidl %s from %s.  Do not edit. */\n"
               "#include <stddef.h>\n#include <string.h>\n\n#include \"mcore/marshal.h\"\n",
            MCIDL_VERSION, m->file);
    base = e->m->file ? xstrdup(e->m->file) : xstrdup("x");
    fprintf(c, "#include \"%s\"\n\n", e->p->root == m ? "@HEADER@" : "");
    free(base);
    /* helper types are static: forward-declare them for mutual use */
    /* a helper's descriptor is used only where its values are elements of
     * an allocation; the others are there for completeness */
    fputs("#define MC_GEN_UNUSED __attribute__((unused))\n\n", c);
    for (hp = e->helpers; hp; hp = hp->next)
        fprintf(c, "static const mc_type %s_type MC_GEN_UNUSED;\n", hp->name);
    if (e->helpers)
        fputc('\n', c);
    for (hp = e->helpers; hp; hp = hp->next)
        put_helper_type(e, hp);
    for (size_t i = 0; i < nord; i++)
        put_decl_type(e, ord[i]);
    for (const ast_decl *d = m->decls; d; d = d->next) {
        if (d->kind == AST_D_CONTAINER)
            put_container(e, d, 0);
        else if (d->kind == AST_D_PROCESS)
            put_process(e, d);
    }
    fprintf(h, "#ifdef __cplusplus\n}\n#endif\n#endif\n");
    free(guard);
    free(ord);
    return 0;
}

static int finish(FILE *f, const char *tmp, const char *path)
{
    if (fflush(f) != 0 || ferror(f)) {
        diag_fatal("cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    (void)path;
    return 0;
}

/* mkdir -p dir: each missing component made in turn (mode 0777 less the
 * umask, as mkdir(1)).  @return 0, or -1 after reporting why not */
static int make_dirs(const char *dir)
{
    char *path = xstrdup(dir);
    int rc = 0;
    for (char *s = path;; s++) {
        if (*s != '/' && *s != 0)
            continue;
        char c = *s;
        *s = 0;
        if (s != path && mkdir(path, 0777) != 0 && errno != EEXIST) {
            diag_fatal("cannot create directory '%s': %s", path,
                       strerror(errno));
            rc = -1;
            break;
        }
        *s = c;
        if (!c)
            break;
    }
    struct stat st;
    if (rc == 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        diag_fatal("cannot write into '%s': not a directory", dir);
        rc = -1;
    }
    free(path);
    return rc;
}

int emit_program(const program *p, const char *dir, const char *name)
{
    if (make_dirs(dir) != 0)
        return -1;
    emitter e = {0};
    e.p = p;
    e.m = p->root;
    g_m = e.m;
    e.pre = e.m->res_prefix;
    e.upre = upper(e.pre);
    e.htail = &e.helpers;
    e.ndecl = compute_ids(p) + 1;
    char *hpath = fmt("%s/%s.h", dir, name), *cpath = fmt("%s/%s.c", dir,
                                                           name);
    char *htmp = fmt("%s.tmp%d", hpath, (int)getpid()),
         *ctmp = fmt("%s.tmp%d", cpath, (int)getpid());
    char *cbuf = NULL;
    size_t clen = 0;
    int rc = -1;
    e.h = fopen(htmp, "w");
    e.c = open_memstream(&cbuf, &clen);
    if (!e.h || !e.c) {
        diag_fatal("cannot write %s: %s", htmp, strerror(errno));
        goto out;
    }
    write_files(&e);
    fclose(e.c);
    e.c = NULL;
    /* the source includes its header by its plain name */
    FILE *cf = fopen(ctmp, "w");
    if (!cf) {
        diag_fatal("cannot write %s: %s", ctmp, strerror(errno));
        goto out;
    }
    char *hname = fmt("%s.h", name);
    const char *keys[] = {"HEADER"};
    const char *vals[] = {hname};
    expand(cf, cbuf, keys, vals, 1);
    free(hname);
    rc = finish(e.h, htmp, hpath) | finish(cf, ctmp, cpath);
    if (fclose(cf) != 0)
        rc = -1;
    if (fclose(e.h) != 0)
        rc = -1;
    e.h = NULL;
    if (rc == 0 && (rename(htmp, hpath) != 0 || rename(ctmp, cpath) != 0)) {
        diag_fatal("cannot write %s: %s", hpath, strerror(errno));
        unlink(hpath);
        rc = -1;
    }
out:
    if (e.h)
        fclose(e.h);
    if (e.c)
        fclose(e.c);
    if (rc) {
        unlink(htmp);
        unlink(ctmp);
    }
    free(cbuf);
    free(hpath), free(cpath), free(htmp), free(ctmp), free(e.upre);
    for (helper *h = e.helpers, *n; h; h = n) {
        n = h->next;
        free(h->mangle), free(h->name), free(h);
    }
    free(e.htab);
    return rc;
}
