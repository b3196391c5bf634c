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
#include "check.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

#define MAX_FIXED 65536u            /* fixed array sizes: 1 .. MAX_FIXED */
#define MAX_SLOTS (1u << 20)        /* camlbox slots: 1 .. MAX_SLOTS */
#define MIN_SLOT_SIZE 16u           /* camlbox slot_size: 16 B .. 1 GiB */
#define MAX_SLOT_SIZE (1u << 30)
#define MAX_SEM 2147483647u         /* semaphore initial value: 0 .. */
/* capacities (0: no limit): a buffer's bytes, a queue's elements */
#define MAX_BUF_CAPACITY ((uint64_t)1 << 62)
#define MAX_QUEUE_CAPACITY ((uint64_t)1 << 40)

void *check_xrealloc(void *q, size_t n)
{
    q = realloc(q, n ? n : 1);
    if (!q) {
        fputs("mcidl: out of memory\n", stderr);
        exit(1);
    }
    return q;
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
            chain = check_xrealloc(chain, cap * sizeof *chain);
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

bool is_sync(const ast_type *t)
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
        c->stack = check_xrealloc(c->stack, c->capstack * sizeof *c->stack);
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
    uint64_t lo, hi;            /* integers: the range */
    size_t off;                 /* integers: where in ast_decl it goes */
} attr_spec;

#define HEADER(k) { k, "header", true, false, 0, 0, 0 }
static const attr_spec attr_specs[] = {
    HEADER(AST_C_SARRAY),
    HEADER(AST_C_SMATRIX),
    HEADER(AST_C_SBUFFER),
    HEADER(AST_C_SQUEUE),
    HEADER(AST_C_SHASHTBL),
    { AST_C_CAMLBOX, "slots", false, true, 1, MAX_SLOTS,
      offsetof(ast_decl, res_slots) },
    { AST_C_CAMLBOX, "slot_size", false, true, MIN_SLOT_SIZE, MAX_SLOT_SIZE,
      offsetof(ast_decl, res_slot_size) },
    { AST_C_SBUFFER, "capacity", false, false, 0, MAX_BUF_CAPACITY,
      offsetof(ast_decl, res_capacity) },
    { AST_C_SQUEUE, "capacity", false, false, 0, MAX_QUEUE_CAPACITY,
      offsetof(ast_decl, res_capacity) },
};
#undef HEADER
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
        uint64_t lo = attr_specs[k].lo, hi = attr_specs[k].hi;
        if (v.neg || v.mag < lo || v.mag > hi) {
            char buf[32];
            fmt_int(v, buf, sizeof buf);
            diag_error(at, "%s %s %s is out of range (%llu to %llu)",
                       ast_container_name(d->ckind), a->name, buf,
                       (unsigned long long)lo, (unsigned long long)hi);
            continue;
        }
        *(uint64_t *)((char *)d + attr_specs[k].off) = v.mag;
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
    check_graph(&c, before);
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

