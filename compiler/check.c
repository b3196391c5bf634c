/* compiler/check.c: name resolution and the semantic checks.
 *
 * Every check is listed, with its message, in idl/mcidl.md ("What the
 * compiler checks"); each has a test in tests/idl/bad/.  The checker keeps
 * going after an error so that one run reports as many as it can, but it
 * never reports a consequence of an earlier error (an unresolved name
 * leaves res_decl NULL and later checks skip it).
 *
 * Walks over the type graph (sync fields reachable from a message, keys
 * holding references, records containing themselves inline) use explicit
 * work lists, not recursion over declarations, so that no input can
 * exhaust the C stack; recursion is only over one type's syntax, whose
 * depth the parser bounds.
 */
#include "mcidl.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"

#define MAX_FIXED 65536u            /* fixed array sizes: 1 .. MAX_FIXED */
#define MAX_SLOTS (1u << 20)        /* camlbox slots: 1 .. MAX_SLOTS */
#define MIN_SLOT_SIZE 16u           /* camlbox slot_size: 16 B .. 1 GiB */
#define MAX_SLOT_SIZE (1u << 30)
#define MAX_SEM 2147483647u         /* semaphore initial value: 0 .. */

typedef struct checker {
    program *p;
    unsigned mark;
    ast_decl **stack;               /* work list of graph walks */
    size_t nstack, capstack;
} checker;

static void *xrealloc(void *q, size_t n)
{
    q = realloc(q, n ? n : 1);
    if (!q) {
        fputs("mcidl: out of memory\n", stderr);
        exit(1);
    }
    return q;
}

/* ---------------------------------------------------------------- maps */

/* A string -> pointer hash map (open addressing), so that no check is
 * quadratic in the number of declarations, fields or members. */
typedef struct strmap {
    const char **keys;
    void **vals;
    size_t cap, n;
} strmap;

static size_t sm_hash(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (size_t)h;
}

static void *sm_get(const strmap *m, const char *key)
{
    if (!m || !m->cap)
        return NULL;
    for (size_t i = sm_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i])
            return NULL;
        if (strcmp(m->keys[i], key) == 0)
            return m->vals[i];
    }
}

/* Insert key unless present; return the value already there, or NULL. */
static void *sm_put(strmap *m, const char *key, void *val)
{
    if (2 * (m->n + 1) > m->cap) {
        strmap g = { 0 };
        g.cap = m->cap ? 2 * m->cap : 16;
        g.keys = xrealloc(NULL, g.cap * sizeof *g.keys);
        g.vals = xrealloc(NULL, g.cap * sizeof *g.vals);
        memset(g.keys, 0, g.cap * sizeof *g.keys);
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i])
                sm_put(&g, m->keys[i], m->vals[i]);
        free(m->keys);
        free(m->vals);
        *m = g;
    }
    size_t i = sm_hash(key) & (m->cap - 1);
    for (; m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (strcmp(m->keys[i], key) == 0)
            return m->vals[i];
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return NULL;
}

static void sm_free(strmap *m)
{
    if (!m)
        return;
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---------------------------------------------------------------- names */

static const char *const c_keywords[] = {
    /* C11 */
    "auto", "break", "case", "char", "const", "continue", "default", "do",
    "double", "else", "enum", "extern", "float", "for", "goto", "if",
    "inline", "int", "long", "register", "restrict", "return", "short",
    "signed", "sizeof", "static", "struct", "switch", "typedef", "union",
    "unsigned", "void", "volatile", "while",
    /* <stdbool.h>, <errno.h>, <assert.h> macros */
    "bool", "true", "false", "errno", "assert",
    /* C++ keywords, so that the header works from C++ */
    "asm", "catch", "class", "delete", "explicit", "friend", "mutable",
    "namespace", "new", "operator", "private", "protected", "public",
    "template", "this", "throw", "try", "typename", "using", "virtual",
};

static bool is_c_keyword(const char *s)
{
    for (size_t i = 0; i < sizeof c_keywords / sizeof c_keywords[0]; i++)
        if (strcmp(s, c_keywords[i]) == 0)
            return true;
    return false;
}

/* lower_snake_case: [a-z][a-z0-9_]*, no "__", no trailing '_' */
static bool is_lower(const char *s)
{
    if (!(*s >= 'a' && *s <= 'z'))
        return false;
    for (const char *q = s; *q; q++) {
        if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_'))
            return false;
        if (q[0] == '_' && (q[1] == '_' || q[1] == 0))
            return false;
    }
    return true;
}

/* UpperCamelCase: [A-Z][A-Za-z0-9]* */
static bool is_upper_camel(const char *s)
{
    if (!(*s >= 'A' && *s <= 'Z'))
        return false;
    for (const char *q = s; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
              (*q >= '0' && *q <= '9')))
            return false;
    return true;
}

/* UPPER_SNAKE_CASE: [A-Z][A-Z0-9_]*, no "__", no trailing '_' */
static bool is_upper_snake(const char *s)
{
    if (!(*s >= 'A' && *s <= 'Z'))
        return false;
    for (const char *q = s; *q; q++) {
        if (!((*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_'))
            return false;
        if (q[0] == '_' && (q[1] == '_' || q[1] == 0))
            return false;
    }
    return true;
}

/* A name that becomes a C identifier as is (field, case, argument). */
static void check_lower(const char *what, const char *name, ast_loc loc)
{
    if (!is_lower(name))
        diag_error(loc, "%s name '%s' must be lower_snake_case (a-z, 0-9, "
                   "single '_' between words)", what, name);
    else if (is_c_keyword(name))
        diag_error(loc, "%s name '%s' is a C or C++ keyword", what, name);
}

/* An sref or camlbox: as a type, it stands for its typed descriptor
 * (plain bytes: no pointer, no sync field, nothing of its value). */
static bool is_descr_decl(const ast_decl *d)
{
    return d->kind == AST_D_CONTAINER &&
           (d->ckind == AST_C_SREF || d->ckind == AST_C_CAMLBOX);
}

/* Named types that hold nothing to walk: enums and descriptors. */
static bool is_leaf_decl(const ast_decl *d)
{
    return d->kind == AST_D_ENUM || d->kind == AST_D_CONTAINER;
}

static const char *decl_what(const ast_decl *d)
{
    return d->kind == AST_D_CONTAINER ? ast_container_name(d->ckind)
                                      : ast_decl_kind_name(d->kind);
}

static void check_decl_name(const ast_decl *d)
{
    switch (d->kind) {
    case AST_D_CONST:
        if (!is_upper_snake(d->name))
            diag_error(d->name_loc, "constant name '%s' must be "
                       "UPPER_SNAKE_CASE (A-Z, 0-9, single '_' between "
                       "words)", d->name);
        break;
    case AST_D_PROCESS:
        if (!is_lower(d->name))
            diag_error(d->name_loc, "process name '%s' must be "
                       "lower_snake_case (a-z, 0-9, single '_' between "
                       "words)", d->name);
        break;
    default:
        if (!is_upper_camel(d->name))
            diag_error(d->name_loc, "%s name '%s' must be UpperCamelCase "
                       "(a capital letter, then letters and digits)",
                       decl_what(d), d->name);
        break;
    }
}

/* ---------------------------------------------------------------- lookup */

static ast_decl *find_decl(const ast_module *m, const char *name)
{
    return sm_get(m->res_names, name);
}

static const char *qualifier_of(const ast_import *i)
{
    return i->alias ? i->alias : i->res_module ? i->res_module->name : NULL;
}

/* Resolve "Name" in m, or "qual.Name" in the module imported as qual.
 * `what` says what is looked for ("type", "constant"). */
static ast_decl *lookup(const ast_module *m, const char *qname, ast_loc loc,
                        const char *what)
{
    const char *dot = strrchr(qname, '.');
    if (!dot) {
        ast_decl *d = find_decl(m, qname);
        if (!d)
            diag_error(loc, "unknown %s '%s'", what, qname);
        return d;
    }
    size_t ql = (size_t)(dot - qname);
    char *qual = ast_strndup(qname, ql);
    const ast_import *i = sm_get(m->res_quals, qual);
    free(qual);
    if (i) {
        ast_decl *d = find_decl(i->res_module, dot + 1);
        if (!d)
            diag_error(loc, "module '%s' has no declaration '%s'",
                       i->res_module->name, dot + 1);
        return d;
    }
    diag_error(loc, "unknown module '%.*s' in '%s' (not imported here)",
               (int)ql, qname, qname);
    return NULL;
}

/* ---------------------------------------------------------------- values */

static void fmt_int(ast_int v, char *buf, size_t n)
{
    snprintf(buf, n, "%s%llu", v.neg ? "-" : "", (unsigned long long)v.mag);
}

/* Resolve a constant: follow the chain A = B, B = C, ... iteratively up
 * to a literal, then give every constant on the chain its value. */
static bool resolve_const(checker *c, ast_decl *d)
{
    ast_decl **chain = NULL;
    size_t n = 0, cap = 0;
    bool ok = false;
    ast_int val = { false, 0 };
    for (ast_decl *cur = d;;) {
        if (cur->res_state == 2) {
            ok = cur->value->res_ok;
            val = cur->value->res;
            break;
        }
        if (cur->res_state == 1) {
            diag_error(cur->name_loc, "constant '%s' is defined in terms of "
                       "itself", cur->name);
            break;
        }
        cur->res_state = 1;
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            chain = xrealloc(chain, cap * sizeof *chain);
        }
        chain[n++] = cur;
        ast_value *v = cur->value;
        if (!v->name) {
            ok = true;
            val = v->lit;
            break;
        }
        ast_decl *next = lookup(cur->module, v->name, v->loc, "constant");
        if (!next)
            break;
        if (next->kind != AST_D_CONST) {
            diag_error(v->loc, "'%s' is %s %s, not a constant", v->name,
                       next->kind == AST_D_ENUM ? "an" : "a", decl_what(next));
            break;
        }
        cur = next;
    }
    for (size_t i = 0; i < n; i++) {
        chain[i]->res_state = 2;
        chain[i]->value->res_ok = ok;
        chain[i]->value->res = val;
    }
    free(chain);
    (void)c;
    return ok;
}

/* Resolve a constant named in m to *out. */
static bool value_of_name(checker *c, const ast_module *m, const char *name,
                          ast_loc loc, ast_int *out)
{
    ast_decl *d = lookup(m, name, loc, "constant");
    if (!d)
        return false;
    if (d->kind != AST_D_CONST) {
        diag_error(loc, "'%s' is %s %s, not a constant", name,
                   d->kind == AST_D_ENUM ? "an" : "a", decl_what(d));
        return false;
    }
    if (!resolve_const(c, d))
        return false;
    *out = d->value->res;
    return true;
}

static bool resolve_value(checker *c, const ast_module *m, ast_value *v)
{
    if (v->res_ok)
        return true;
    if (!v->name) {
        v->res = v->lit;
        v->res_ok = true;
    } else {
        v->res_ok = value_of_name(c, m, v->name, v->loc, &v->res);
    }
    return v->res_ok;
}

/* Resolve v and check lo <= v <= hi; `what` names it in the message. */
static bool value_in(checker *c, const ast_module *m, ast_value *v,
                     uint64_t lo, uint64_t hi, const char *what, uint64_t *out)
{
    if (!resolve_value(c, m, v))
        return false;
    if (v->res.neg || v->res.mag < lo || v->res.mag > hi) {
        char buf[32];
        fmt_int(v->res, buf, sizeof buf);
        diag_error(v->loc, "%s %s is out of range (%llu to %llu)", what, buf,
                   (unsigned long long)lo, (unsigned long long)hi);
        return false;
    }
    *out = v->res.mag;
    return true;
}

static bool is_int_scalar(ast_scalar s)
{
    return s >= AST_I8 && s <= AST_U64;
}

static void scalar_range(ast_scalar s, ast_int *lo, ast_int *hi)
{
    unsigned bits = 0;
    switch (s) {
    case AST_I8: case AST_U8: bits = 8; break;
    case AST_I16: case AST_U16: bits = 16; break;
    case AST_I32: case AST_U32: bits = 32; break;
    default: bits = 64; break;
    }
    if (s >= AST_U8) {
        lo->neg = false;
        lo->mag = 0;
        hi->neg = false;
        hi->mag = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
    } else {
        lo->neg = true;
        lo->mag = (uint64_t)1 << (bits - 1);
        hi->neg = false;
        hi->mag = ((uint64_t)1 << (bits - 1)) - 1;
    }
}

static bool fits(ast_int v, ast_scalar s)
{
    ast_int lo, hi;
    scalar_range(s, &lo, &hi);
    return v.neg ? lo.neg && v.mag <= lo.mag : v.mag <= hi.mag;
}

/* ---------------------------------------------------------------- types */

static void check_type(checker *c, const ast_module *m, ast_type *t)
{
    char *s;
    ast_decl *d;

    switch (t->kind) {
    case AST_T_SCALAR:
    case AST_T_STRING:
    case AST_T_BYTES:
        break;
    case AST_T_NAMED:
        d = lookup(m, t->name, t->name_loc, "type");
        if (!d)
            break;
        if (d->kind == AST_D_RECORD || d->kind == AST_D_VARIANT ||
            d->kind == AST_D_ENUM || is_descr_decl(d)) {
            t->res_decl = d;    /* a container: its typed descriptor */
        } else if (d->kind == AST_D_CONTAINER) {
            diag_error(t->name_loc, "'%s' is a %s, and only sref and camlbox "
                       "descriptors can be types yet", t->name,
                       decl_what(d));
            diag_note(d->name_loc, "'%s' is declared here", d->name);
        } else {
            diag_error(t->name_loc, "'%s' is a %s, not a type", t->name,
                       decl_what(d));
            diag_note(d->name_loc, "'%s' is declared here", d->name);
        }
        break;
    case AST_T_REF:
    case AST_T_NREF:
        d = lookup(m, t->name, t->name_loc, "type");
        if (!d)
            break;
        if (d->kind == AST_D_RECORD || d->kind == AST_D_VARIANT) {
            t->res_decl = d;
        } else {
            diag_error(t->name_loc, "a reference must name a record or a "
                       "variant, and '%s' is %s %s%s%s%s", t->name,
                       d->kind == AST_D_ENUM ? "an" : "a", decl_what(d),
                       is_descr_decl(d) ? " (write '" : "",
                       is_descr_decl(d) ? t->name : "",
                       is_descr_decl(d) ? "' for a field holding its "
                                          "descriptor)" : "");
        }
        break;
    case AST_T_OPTIONAL:
        if (t->elem->kind == AST_T_OPTIONAL) {
            diag_error(t->loc, "optional of an optional value");
        } else if (t->elem->kind == AST_T_NREF) {
            s = type_to_str(t->elem, false);
            diag_error(t->loc, "optional of a nullable reference ('%s' is "
                       "nullable already)", s);
            free(s);
        }
        check_type(c, m, t->elem);
        break;
    case AST_T_ARRAY:
        check_type(c, m, t->elem);
        break;
    case AST_T_FIXED: {
        uint64_t n;
        check_type(c, m, t->elem);
        value_in(c, m, t->count, 1, MAX_FIXED, "fixed array size", &n);
        break;
    }
    case AST_T_MUTEX:
        t->res_mutex = AST_MUTEX_NORMAL;
        if (!t->name)
            break;
        if (strcmp(t->name, "normal") == 0)
            t->res_mutex = AST_MUTEX_NORMAL;
        else if (strcmp(t->name, "errorcheck") == 0)
            t->res_mutex = AST_MUTEX_ERRORCHECK;
        else if (strcmp(t->name, "recursive") == 0)
            t->res_mutex = AST_MUTEX_RECURSIVE;
        else
            diag_error(t->name_loc, "unknown mutex kind '%s' (normal, "
                       "errorcheck or recursive)", t->name);
        break;
    case AST_T_SEMAPHORE: {
        uint64_t n;
        if (t->count)
            value_in(c, m, t->count, 0, MAX_SEM, "semaphore initial value", &n);
        break;
    }
    case AST_T_CONDITION:
        break;  /* the record checks the mutex it names */
    }
}

static bool is_sync(const ast_type *t)
{
    return t->kind == AST_T_MUTEX || t->kind == AST_T_SEMAPHORE ||
           t->kind == AST_T_CONDITION;
}

/* ---------------------------------------------------------------- walks */

enum {
    WALK_REFS = 1,      /* follow references (&T, ?&T) */
    WALK_ARRAYS = 2,    /* follow dynamic arrays */
    FIND_SYNC = 4,      /* stop at a sync field */
    FIND_REF = 8,       /* stop at a reference */
};

typedef struct hit {
    const ast_decl *decl;       /* record or variant holding it, or NULL */
    const ast_field *field;     /* its field, or NULL: the type itself */
    const ast_type *type;       /* the sync or reference type found */
} hit;

static void push(checker *c, ast_decl *d)
{
    if (d->res_mark == c->mark)
        return;
    d->res_mark = c->mark;
    if (c->nstack == c->capstack) {
        c->capstack = c->capstack ? 2 * c->capstack : 64;
        c->stack = xrealloc(c->stack, c->capstack * sizeof *c->stack);
    }
    c->stack[c->nstack++] = d;
}

/* Visit one type's syntax: push the records and variants it reaches;
 * return the first reference found when FIND_REF. */
static const ast_type *walk_type(checker *c, const ast_type *t, int mode)
{
    switch (t->kind) {
    case AST_T_NAMED:
        if (t->res_decl && !is_leaf_decl(t->res_decl))
            push(c, t->res_decl);
        return NULL;
    case AST_T_REF:
    case AST_T_NREF:
        if (mode & FIND_REF)
            return t;
        if ((mode & WALK_REFS) && t->res_decl)
            push(c, t->res_decl);
        return NULL;
    case AST_T_ARRAY:
        return mode & WALK_ARRAYS ? walk_type(c, t->elem, mode) : NULL;
    case AST_T_OPTIONAL:
    case AST_T_FIXED:
        return walk_type(c, t->elem, mode);
    default:
        return NULL;
    }
}

/* Search everything reachable from t (mode as above). */
static bool reach(checker *c, const ast_type *t, int mode, hit *h)
{
    c->mark++;
    c->nstack = 0;
    memset(h, 0, sizeof *h);
    if ((mode & FIND_SYNC) && is_sync(t)) {
        h->type = t;
        return true;
    }
    if ((h->type = walk_type(c, t, mode)))
        return true;
    while (c->nstack) {
        const ast_decl *d = c->stack[--c->nstack];
        for (const ast_field *f = d->fields; f; f = f->next) {
            if (!f->type)
                continue;
            if ((mode & FIND_SYNC) && is_sync(f->type)) {
                h->decl = d;
                h->field = f;
                h->type = f->type;
                return true;
            }
            if ((h->type = walk_type(c, f->type, mode))) {
                h->decl = d;
                h->field = f;
                return true;
            }
        }
    }
    return false;
}

/* "message type" holds a sync field: report at t, note the field. */
static void no_sync(checker *c, const ast_type *t, const char *what)
{
    hit h;
    if (!reach(c, t, WALK_REFS | WALK_ARRAYS | FIND_SYNC, &h))
        return;
    diag_error(t->loc, "%s holds a sync field ('%s' of %s '%s'), which "
               "cannot be copied", what, h.field->name,
               decl_what(h.decl), h.decl->name);
    diag_note(h.field->loc, "sync field declared here");
}

/* ---------------------------------------------------------------- decls */

static void check_enum(checker *c, ast_decl *d)
{
    ast_scalar base = AST_U32;
    if (d->base) {
        if (d->base->kind != AST_T_SCALAR || !is_int_scalar(d->base->scalar)) {
            char *s = type_to_str(d->base, false);
            diag_error(d->base->loc, "the underlying type of an enum must "
                       "be an integer type (i8 to u64), not '%s'", s);
            free(s);
            return;
        }
        base = d->base->scalar;
    }
    if (!d->members) {
        diag_error(d->name_loc, "enum '%s' has no members", d->name);
        return;
    }
    bool known = true;          /* the previous value is known */
    ast_int next = { false, 0 };
    strmap names = { 0 }, values = { 0 };
    for (ast_member *mb = d->members; mb; mb = mb->next) {
        check_lower("enum member", mb->name, mb->loc);
        ast_member *o = sm_put(&names, mb->name, mb);
        if (o) {
            diag_error(mb->loc, "duplicate enum member '%s'", mb->name);
            diag_note(o->loc, "previous member '%s' is here", o->name);
        }
        ast_loc at = mb->loc;
        if (mb->value) {
            known = resolve_value(c, d->module, mb->value);
            next = mb->value->res;
            at = mb->value->loc;
        } else if (!known) {
            continue;
        } else if (!next.neg && next.mag == UINT64_MAX && mb != d->members) {
            diag_error(at, "enum member '%s' would be 2^64, which does not "
                       "fit", mb->name);
            known = false;
            continue;
        }
        if (!known)
            continue;
        mb->res = next;
        char buf[32], lo[32], hi[32];
        if (!fits(next, base)) {
            ast_int l, h;
            scalar_range(base, &l, &h);
            fmt_int(next, buf, sizeof buf);
            fmt_int(l, lo, sizeof lo);
            fmt_int(h, hi, sizeof hi);
            diag_error(at, "enum member '%s' = %s does not fit the "
                       "underlying type %s (%s to %s)%s", mb->name, buf,
                       ast_scalar_name(base), lo, hi,
                       next.neg && !d->base ? "; an enum with negative "
                       "members needs a signed type: 'enum E : i32'" : "");
        } else {
            fmt_int(next, buf, sizeof buf);
            ast_member *same = sm_get(&values, buf);
            if (same)
                diag_error(at, "enum member '%s' has the value %s of "
                           "member '%s'", mb->name, buf, same->name);
            else
                sm_put(&values, ast_strdup(buf), mb);
        }
        /* next = next + 1 */
        if (next.neg) {
            next.mag--;
            if (next.mag == 0)
                next.neg = false;
        } else if (next.mag != UINT64_MAX) {
            next.mag++;
        } else {
            next.mag = UINT64_MAX;  /* reported at the next member */
        }
    }
    sm_free(&names);
    for (size_t i = 0; i < values.cap; i++)
        free((char *)values.keys[i]);
    sm_free(&values);
}

/* Check the fields (or cases) of d; names receives name -> field. */
static void check_fields(checker *c, ast_decl *d, const char *what,
                         strmap *names)
{
    for (ast_field *f = d->fields; f; f = f->next) {
        check_lower(what, f->name, f->loc);
        ast_field *o = sm_put(names, f->name, f);
        if (o) {
            diag_error(f->loc, "duplicate %s '%s' in %s '%s'", what,
                       f->name, decl_what(d), d->name);
            diag_note(o->loc, "previous %s '%s' is here", what, o->name);
        }
        if (f->type)
            check_type(c, d->module, f->type);
    }
}

static void check_record(checker *c, ast_decl *d)
{
    if (!d->fields) {
        diag_error(d->name_loc, "record '%s' has no fields", d->name);
        return;
    }
    strmap names = { 0 };
    check_fields(c, d, "field", &names);
    for (ast_field *f = d->fields; f; f = f->next) {
        if (is_sync(f->type))
            d->res_has_sync = true;
        if (f->type->kind == AST_T_OPTIONAL) {
            char *flag = ast_concat("has_", f->name, "");
            ast_field *o = sm_get(&names, flag);
            if (o) {
                diag_error(o->loc, "field '%s' clashes with the presence "
                           "flag of the optional field '%s'", o->name,
                           f->name);
                diag_note(f->loc, "optional field '%s' is here", f->name);
            }
            free(flag);
        }
        if (f->type->kind != AST_T_CONDITION)
            continue;
        ast_field *mx = sm_get(&names, f->type->name);
        if (!mx) {
            diag_error(f->type->name_loc, "condition '%s' names '%s', which "
                       "is not a field of record '%s'", f->name,
                       f->type->name, d->name);
        } else if (mx->type->kind != AST_T_MUTEX) {
            char *s = type_to_str(mx->type, false);
            diag_error(f->type->name_loc, "condition '%s' must name a mutex "
                       "field, and '%s' is a '%s'", f->name, mx->name, s);
            diag_note(mx->loc, "field '%s' is declared here", mx->name);
            free(s);
        } else {
            f->type->res_field = mx;
        }
    }
    sm_free(&names);
}

static void check_variant(checker *c, ast_decl *d)
{
    if (!d->fields) {
        diag_error(d->name_loc, "variant '%s' has no cases", d->name);
        return;
    }
    strmap names = { 0 };
    check_fields(c, d, "case", &names);
    sm_free(&names);
}

typedef struct attr_spec {
    ast_container_kind kind;
    const char *name;
    bool is_type;
    bool required;
} attr_spec;

static const attr_spec attr_specs[] = {
    { AST_C_SARRAY, "header", true, false },
    { AST_C_CAMLBOX, "slots", false, true },
    { AST_C_CAMLBOX, "slot_size", false, true },
};
#define NSPECS (sizeof attr_specs / sizeof attr_specs[0])

static void check_attrs(checker *c, ast_decl *d)
{
    const ast_attr *seen[NSPECS] = { 0 };
    for (ast_attr *a = d->attrs; a; a = a->next) {
        size_t k;
        for (k = 0; k < NSPECS; k++)
            if (attr_specs[k].kind == d->ckind &&
                strcmp(attr_specs[k].name, a->name) == 0)
                break;
        if (k == NSPECS) {
            char known[128] = "";
            for (size_t j = 0; j < NSPECS; j++)
                if (attr_specs[j].kind == d->ckind) {
                    strcat(known, known[0] ? ", " : "");
                    strcat(known, attr_specs[j].name);
                }
            if (known[0])
                diag_error(a->loc, "unknown attribute '%s' for %s (known: "
                           "%s)", a->name, ast_container_name(d->ckind), known);
            else
                diag_error(a->loc, "%s takes no attributes (got '%s')",
                           ast_container_name(d->ckind), a->name);
            continue;
        }
        if (seen[k]) {
            diag_error(a->loc, "attribute '%s' is given twice", a->name);
            diag_note(seen[k]->loc, "first given here");
            continue;
        }
        seen[k] = a;
        if (attr_specs[k].is_type) {
            if (!a->type) {
                diag_error(a->value->loc, "attribute '%s' takes a type, not "
                           "a number", a->name);
                continue;
            }
            check_type(c, d->module, a->type);
            d->res_header = a->type;
            continue;
        }
        ast_int v;
        ast_loc at;
        if (a->value) {
            resolve_value(c, d->module, a->value);
            if (!a->value->res_ok)
                continue;
            v = a->value->res;
            at = a->value->loc;
        } else if (a->type->kind == AST_T_NAMED) {
            if (!value_of_name(c, d->module, a->type->name, a->type->name_loc,
                               &v))
                continue;
            at = a->type->loc;
        } else {
            diag_error(a->type->loc, "attribute '%s' takes an integer",
                       a->name);
            continue;
        }
        uint64_t lo = strcmp(a->name, "slots") == 0 ? 1 : MIN_SLOT_SIZE;
        uint64_t hi = strcmp(a->name, "slots") == 0 ? MAX_SLOTS : MAX_SLOT_SIZE;
        if (v.neg || v.mag < lo || v.mag > hi) {
            char buf[32];
            fmt_int(v, buf, sizeof buf);
            diag_error(at, "camlbox %s %s is out of range (%llu to %llu)",
                       a->name, buf, (unsigned long long)lo,
                       (unsigned long long)hi);
            continue;
        }
        if (lo == 1)
            d->res_slots = v.mag;
        else
            d->res_slot_size = v.mag;
    }
    for (size_t k = 0; k < NSPECS; k++)
        if (attr_specs[k].kind == d->ckind && attr_specs[k].required &&
            !seen[k])
            diag_error(d->name_loc, "%s '%s' needs the attribute '%s'",
                       ast_container_name(d->ckind), d->name,
                       attr_specs[k].name);
}

static void check_container(checker *c, ast_decl *d)
{
    /* the grammar keeps their syntax; the checks below still run, so a
     * file keeps its other messages when they come */
    if (d->ckind != AST_C_SREF && d->ckind != AST_C_CAMLBOX)
        diag_error(d->loc, "%s '%s': mcidl has no %s wrappers yet (only "
                   "sref and camlbox containers can be declared)",
                   ast_container_name(d->ckind), d->name,
                   ast_container_name(d->ckind));
    if (d->type)
        check_type(c, d->module, d->type);
    if (d->type2)
        check_type(c, d->module, d->type2);
    check_attrs(c, d);
    if (d->ckind == AST_C_CAMLBOX && d->type) {
        no_sync(c, d->type, "the camlbox message type");
    } else if (d->ckind == AST_C_SHASHTBL && d->type) {
        hit h;
        if (reach(c, d->type, WALK_ARRAYS | FIND_REF, &h)) {
            if (h.field) {
                diag_error(d->type->loc, "a hash table key must hold no "
                           "references, and field '%s' of %s '%s' does",
                           h.field->name, decl_what(h.decl), h.decl->name);
                diag_note(h.field->loc, "field '%s' is declared here",
                          h.field->name);
            } else {
                diag_error(d->type->loc, "a hash table key must hold no "
                           "references");
            }
        } else {
            no_sync(c, d->type, "the hash table key type");
        }
    }
}

static void check_process(checker *c, ast_decl *d)
{
    for (ast_field *a = d->fields; a; a = a->next) {
        if (a != d->fields) {
            diag_error(a->loc, "process '%s' takes at most one argument "
                       "(put several in a record)", d->name);
            break;
        }
        check_lower("argument", a->name, a->loc);
        check_type(c, d->module, a->type);
        no_sync(c, a->type, "the process argument");
    }
    if (d->type) {
        check_type(c, d->module, d->type);
        no_sync(c, d->type, "the process result");
    }
}

/* ---------------------------------------------------------------- modules */

static void check_module_header(program *p, ast_module *m)
{
    /* name and C prefix */
    size_t n = strlen(m->name);
    m->res_prefix = xrealloc(NULL, n + 2);
    memcpy(m->res_prefix, m->name, n);
    m->res_prefix[n] = '_';
    m->res_prefix[n + 1] = 0;
    bool ok = true;
    for (char *s = m->res_prefix, *seg = s; *s; s++)
        if (*s == '.' || s[1] == 0) {   /* the end of a word */
            *s = 0;
            ok = ok && is_lower(seg);
            *s = '_';
            seg = s + 1;
        }
    if (!ok)
        diag_error(m->loc, "module name '%s' must be lower_snake_case "
                   "words separated by '.'", m->name);
    /* the runtime's names: mc_*, MC_* (mc__, MC__ inside), and its header
     * guards MCORE_*_H; generated names are PREFIX_* and upper-case
     * PREFIX_*, so a prefix starting so would redefine them */
    else if (strncmp(m->res_prefix, "mc_", 3) == 0 ||
             strncmp(m->res_prefix, "mcore_", 6) == 0)
        diag_error(m->loc, "module name '%s' gives the C prefix '%s', which "
                   "the mcore runtime uses (a module's first word may not "
                   "be 'mc' or 'mcore', nor start with 'mc_' or 'mcore_')",
                   m->name, m->res_prefix);
    for (ast_module *o = p->first; o != m; o = o->res_next) {
        if (!o->res_prefix)
            continue;
        if (strcmp(o->name, m->name) == 0) {
            diag_error(m->loc, "module '%s' is also declared by '%s'",
                       m->name, o->file);
            break;
        }
        if (strcmp(o->res_prefix, m->res_prefix) == 0) {
            diag_error(m->loc, "modules '%s' and '%s' have the same C "
                       "prefix '%s'", m->name, o->name, m->res_prefix);
            break;
        }
    }
    /* imports: first, each module once, qualifiers distinct */
    strmap *quals = xrealloc(NULL, sizeof *quals), mods = { 0 };
    memset(quals, 0, sizeof *quals);
    m->res_quals = quals;
    for (ast_import *i = m->imports; i; i = i->next) {
        if (m->decls && (i->loc.line > m->decls->loc.line ||
                         (i->loc.line == m->decls->loc.line &&
                          i->loc.col > m->decls->loc.col)))
            diag_error(i->loc, "import after a declaration (imports come "
                       "right after the module line)");
        if (i->alias)
            check_lower("module alias", i->alias, i->alias_loc);
        const char *q = qualifier_of(i);
        if (q && strcmp(q, m->name) == 0)
            diag_error(i->alias ? i->alias_loc : i->loc, "import qualifier "
                       "'%s' is the name of this module", q);
        if (sm_put(&mods, i->res_module->file, i))
            diag_error(i->loc, "module '%s' is imported twice",
                       i->res_module->name);
        else if (q && sm_put(quals, q, i))
            diag_error(i->alias ? i->alias_loc : i->loc, "two imports "
                       "use the qualifier '%s' (use 'as' to rename one)", q);
    }
    sm_free(&mods);
    /* declaration names */
    strmap *names = xrealloc(NULL, sizeof *names);
    memset(names, 0, sizeof *names);
    m->res_names = names;
    for (ast_decl *d = m->decls; d; d = d->next) {
        d->module = m;
        check_decl_name(d);
        ast_decl *o = sm_put(names, d->name, d);
        if (o) {
            diag_error(d->name_loc, "'%s' is already declared", d->name);
            diag_note(o->name_loc, "previous declaration of '%s' (a %s)",
                      o->name, decl_what(o));
        }
    }
}

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
        t->v = xrealloc(t->v, t->cap * sizeof *t->v);
    }
    size_t len = strlen(m->res_prefix) + strlen(a) + (b ? strlen(b) + 1 : 0) + 1;
    char *s = xrealloc(NULL, len);
    s[0] = 0;
    upcat(s, m->res_prefix);
    upcat(s, a);
    if (b) {
        strcat(s, "_");
        upcat(s, b);
    }
    size_t wl = strlen(fmt) + strlen(x) + (y ? strlen(y) : 0) + 1;
    char *w = xrealloc(NULL, wl);
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
            *v = xrealloc(*v, *cap * sizeof **v);
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
    size_t *idx = xrealloc(NULL, n * sizeof *idx);   /* 0: unvisited */
    size_t *low = xrealloc(NULL, n * sizeof *low);
    bool *on = xrealloc(NULL, n * sizeof *on);       /* on the SCC stack */
    size_t *stk = xrealloc(NULL, n * sizeof *stk), nstk = 0;
    size_t *frame = xrealloc(NULL, n * sizeof *frame);  /* DFS: node */
    size_t *iter = xrealloc(NULL, n * sizeof *iter);    /* DFS: next edge */
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
    ast_decl **node = xrealloc(NULL, nn * sizeof *node);
    size_t *off = xrealloc(NULL, (nn + 1) * sizeof *off);
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
    size_t *to = xrealloc(NULL, (ne ? ne : 1) * sizeof *to);
    for (size_t i = 0; i < ne; i++)
        to[i] = (size_t)edges[i]->res_index;
    cycles cy = { node, off, to, xrealloc(NULL, nn * sizeof(bool)) };
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
    struct { ast_decl *d; const ast_field *f; } *st = xrealloc(NULL,
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
                    st = xrealloc(st, cap * sizeof *st);
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
            return t->res_decl->ckind == AST_C_SREF ? 40 : 8;
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

int check_program(program *p)
{
    checker c = { .p = p };
    int before = diag_errors();

    for (ast_module *m = p->first; m; m = m->res_next)
        check_module_header(p, m);
    for (ast_module *m = p->first; m; m = m->res_next)
        for (ast_decl *d = m->decls; d && !diag_too_many(); d = d->next) {
            switch (d->kind) {
            case AST_D_CONST:
                resolve_const(&c, d);
                break;
            case AST_D_ENUM:
                check_enum(&c, d);
                break;
            case AST_D_RECORD:
                check_record(&c, d);
                break;
            case AST_D_VARIANT:
                check_variant(&c, d);
                break;
            case AST_D_CONTAINER:
                check_container(&c, d);
                break;
            case AST_D_PROCESS:
                check_process(&c, d);
                break;
            }
        }
    if (!diag_too_many())
        check_cnames(p);
    if (!diag_too_many())
        check_inline_cycles(&c);
    if (diag_errors() == before)
        check_sizes(&c);
    if (diag_errors() == before)
        inline_postorder(&c, mark_sync_of);
    free(c.stack);
    for (ast_module *m = p->first; m; m = m->res_next) {
        sm_free(m->res_names);
        sm_free(m->res_quals);
        free(m->res_names);
        free(m->res_quals);
        m->res_names = m->res_quals = NULL;
    }
    return diag_errors() - before;
}
