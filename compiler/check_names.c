/* compiler/check_names.c: the names of a program (internal, part of the
 * checker; check.c has the rest): string maps, the naming rules of
 * idl/mcidl.md section 5, the lookup of a (qualified) name, and each
 * module's header (its name, prefix and imports).
 */
#include "check.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"

/* ---------------------------------------------------------------- maps */


static size_t sm_hash(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (size_t)h;
}

void *sm_get(const strmap *m, const char *key)
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
void *sm_put(strmap *m, const char *key, void *val)
{
    if (2 * (m->n + 1) > m->cap) {
        strmap g = { 0 };
        g.cap = m->cap ? 2 * m->cap : 16;
        g.keys = check_xrealloc(NULL, g.cap * sizeof *g.keys);
        g.vals = check_xrealloc(NULL, g.cap * sizeof *g.vals);
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

void sm_free(strmap *m)
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
void check_lower(const char *what, const char *name, ast_loc loc)
{
    if (!is_lower(name))
        diag_error(loc, "%s name '%s' must be lower_snake_case (a-z, 0-9, "
                   "single '_' between words)", what, name);
    else if (is_c_keyword(name))
        diag_error(loc, "%s name '%s' is a C or C++ keyword", what, name);
}

/* A container: as a type, it stands for its typed descriptor (plain
 * bytes: no pointer, no sync field, nothing of its value). */
bool is_descr_decl(const ast_decl *d)
{
    return d->kind == AST_D_CONTAINER;
}

/* Named types that hold nothing to walk: enums and descriptors. */
bool is_leaf_decl(const ast_decl *d)
{
    return d->kind == AST_D_ENUM || d->kind == AST_D_CONTAINER;
}

const char *decl_what(const ast_decl *d)
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
ast_decl *lookup(const ast_module *m, const char *qname, ast_loc loc,
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

/* ---------------------------------------------------------------- modules */

void check_module_header(program *p, ast_module *m)
{
    /* name and C prefix */
    size_t n = strlen(m->name);
    m->res_prefix = check_xrealloc(NULL, n + 2);
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
    strmap *quals = check_xrealloc(NULL, sizeof *quals), mods = { 0 };
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
    strmap *names = check_xrealloc(NULL, sizeof *names);
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

