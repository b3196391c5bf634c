/* idl/ast.c: AST constructors and destructors. */
#include "ast.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Out of memory is the one condition mcidl does not recover from: it
 * says so and exits with status 1, having written nothing. */
static void *xcalloc(size_t n)
{
    void *p = calloc(1, n);
    if (!p) {
        fputs("mcidl: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

char *ast_strndup(const char *s, size_t n)
{
    char *p = xcalloc(n + 1);
    memcpy(p, s, n);
    return p;
}

char *ast_concat(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *p = xcalloc(la + lb + lc + 1);
    memcpy(p, a, la);
    memcpy(p + la, b, lb);
    memcpy(p + la + lb, c, lc);
    return p;
}

char *ast_strdup(const char *s)
{
    return s ? ast_strndup(s, strlen(s)) : NULL;
}

ast_type *ast_type_new(ast_type_kind kind, ast_loc loc)
{
    ast_type *t = xcalloc(sizeof *t);
    t->kind = kind;
    t->loc = loc;
    return t;
}

ast_value *ast_value_new(ast_loc loc)
{
    ast_value *v = xcalloc(sizeof *v);
    v->loc = loc;
    return v;
}

ast_field *ast_field_new(ast_loc loc, char *name, ast_type *type)
{
    ast_field *f = xcalloc(sizeof *f);
    f->loc = loc;
    f->name = name;
    f->type = type;
    return f;
}

ast_member *ast_member_new(ast_loc loc, char *name, ast_value *value)
{
    ast_member *m = xcalloc(sizeof *m);
    m->loc = loc;
    m->name = name;
    m->value = value;
    return m;
}

ast_attr *ast_attr_new(ast_loc loc, char *name)
{
    ast_attr *a = xcalloc(sizeof *a);
    a->loc = loc;
    a->name = name;
    return a;
}

ast_decl *ast_decl_new(ast_decl_kind kind, ast_loc loc)
{
    ast_decl *d = xcalloc(sizeof *d);
    d->kind = kind;
    d->loc = loc;
    return d;
}

ast_import *ast_import_new(ast_loc loc, char *path)
{
    ast_import *i = xcalloc(sizeof *i);
    i->loc = loc;
    i->path = path;
    return i;
}

ast_module *ast_module_new(const char *file)
{
    ast_module *m = xcalloc(sizeof *m);
    m->file = ast_strdup(file);
    return m;
}

void ast_value_free(ast_value *v)
{
    if (!v)
        return;
    free(v->name);
    free(v);
}

/* Types nest (a [[[T]]] is one node per bracket); free iteratively along
 * elem so that a deeply nested type cannot exhaust the C stack. */
void ast_type_free(ast_type *t)
{
    while (t) {
        ast_type *elem = t->elem;
        free(t->name);
        ast_value_free(t->count);
        free(t);
        t = elem;
    }
}

void ast_fields_free(ast_field *f)
{
    while (f) {
        ast_field *next = f->next;
        free(f->name);
        free(f->doc);
        ast_type_free(f->type);
        free(f);
        f = next;
    }
}

void ast_members_free(ast_member *m)
{
    while (m) {
        ast_member *next = m->next;
        free(m->name);
        free(m->doc);
        ast_value_free(m->value);
        free(m);
        m = next;
    }
}

void ast_attrs_free(ast_attr *a)
{
    while (a) {
        ast_attr *next = a->next;
        free(a->name);
        ast_type_free(a->type);
        ast_value_free(a->value);
        free(a);
        a = next;
    }
}

void ast_decls_free(ast_decl *d)
{
    while (d) {
        ast_decl *next = d->next;
        free(d->name);
        free(d->doc);
        ast_value_free(d->value);
        ast_type_free(d->base);
        ast_members_free(d->members);
        ast_fields_free(d->fields);
        ast_type_free(d->type);
        ast_type_free(d->type2);
        ast_attrs_free(d->attrs);
        free(d);
        d = next;
    }
}

void ast_imports_free(ast_import *i)
{
    while (i) {
        ast_import *next = i->next;
        free(i->path);
        free(i->alias);
        free(i);
        i = next;
    }
}

void ast_module_free(ast_module *m)
{
    if (!m)
        return;
    free(m->file);
    free(m->name);
    free(m->doc);
    free(m->res_prefix);
    ast_imports_free(m->imports);
    ast_decls_free(m->decls);
    free(m);
}

void ast_doc_append(char **doc, const char *line, size_t len)
{
    size_t old = *doc ? strlen(*doc) : 0;
    char *p = xcalloc(old + len + 2);
    if (old) {
        memcpy(p, *doc, old);
        p[old++] = '\n';
    }
    memcpy(p + old, line, len);
    free(*doc);
    *doc = p;
}

const char *ast_scalar_name(ast_scalar s)
{
    static const char *const names[] = {
        "bool", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64",
        "f32", "f64",
    };
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

const char *ast_container_name(ast_container_kind k)
{
    static const char *const names[] = {
        "sref", "sarray", "smatrix", "sbuffer", "squeue", "shashtbl",
        "camlbox",
    };
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

const char *ast_decl_kind_name(ast_decl_kind k)
{
    static const char *const names[] = {
        "constant", "enum", "record", "variant", "container", "process",
    };
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}
