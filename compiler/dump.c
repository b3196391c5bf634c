/* compiler/dump.c: the resolved program as stable text (mcidl --dump).
 *
 * One line per item, indented by nesting; names in types are printed
 * resolved, as module.Name; values are printed resolved (a constant's
 * value, an enum member's value).  The tests in tests/idl/good/ compare
 * this output, so change it only together with their .dump files.
 */
#include "mcidl.h"

#include <stdlib.h>

static void put_type(FILE *f, const ast_type *t, bool resolved)
{
    switch (t->kind) {
    case AST_T_SCALAR:
        fputs(ast_scalar_name(t->scalar), f);
        break;
    case AST_T_STRING:
        fputs("string", f);
        break;
    case AST_T_BYTES:
        fputs("bytes", f);
        break;
    case AST_T_NAMED:
    case AST_T_REF:
    case AST_T_NREF:
        fputs(t->kind == AST_T_REF ? "&" : t->kind == AST_T_NREF ? "?&" : "", f);
        if (resolved && t->res_decl)
            fprintf(f, "%s.%s", t->res_decl->module->name, t->res_decl->name);
        else
            fputs(t->name, f);
        break;
    case AST_T_OPTIONAL:
        fputc('?', f);
        put_type(f, t->elem, resolved);
        break;
    case AST_T_ARRAY:
        fputc('[', f);
        put_type(f, t->elem, resolved);
        fputc(']', f);
        break;
    case AST_T_FIXED:
        put_type(f, t->elem, resolved);
        if (resolved && t->count->res_ok)
            fprintf(f, "[%llu]", (unsigned long long)t->count->res.mag);
        else if (t->count->name)
            fprintf(f, "[%s]", t->count->name);
        else
            fprintf(f, "[%s%llu]", t->count->lit.neg ? "-" : "",
                    (unsigned long long)t->count->lit.mag);
        break;
    case AST_T_MUTEX:
        if (resolved)
            fprintf(f, "mutex(%s)", t->res_mutex == AST_MUTEX_RECURSIVE ? "recursive"
                    : t->res_mutex == AST_MUTEX_ERRORCHECK ? "errorcheck" : "normal");
        else if (t->name)
            fprintf(f, "mutex(%s)", t->name);
        else
            fputs("mutex", f);
        break;
    case AST_T_SEMAPHORE:
        if (resolved)
            fprintf(f, "semaphore(%llu)", t->count && t->count->res_ok
                    ? (unsigned long long)t->count->res.mag : 0ull);
        else
            fputs("semaphore", f);
        break;
    case AST_T_CONDITION:
        fprintf(f, "condition(%s)", t->name);
        break;
    }
}

char *type_to_str(const ast_type *t, bool resolved)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        fputs("mcidl: out of memory\n", stderr);
        exit(1);
    }
    put_type(f, t, resolved);
    if (fclose(f) != 0 || !buf) {
        fputs("mcidl: out of memory\n", stderr);
        exit(1);
    }
    return buf;
}

/* doc "text": quotes, backslashes and control bytes escaped */
static void put_doc(FILE *f, int indent, const char *doc)
{
    if (!doc)
        return;
    fprintf(f, "%*sdoc \"", indent, "");
    for (const unsigned char *s = (const unsigned char *)doc; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", f);
        else if (*s < 0x20 || *s == 0x7f)
            fprintf(f, "\\x%02x", *s);
        else
            fputc(*s, f);
    }
    fputs("\"\n", f);
}

static void put_int(FILE *f, ast_int v)
{
    fprintf(f, "%s%llu", v.neg ? "-" : "", (unsigned long long)v.mag);
}

static void put_decl(FILE *f, const ast_decl *d)
{
    switch (d->kind) {
    case AST_D_CONST:
        fprintf(f, "  const %s = ", d->name);
        put_int(f, d->value->res);
        fputc('\n', f);
        put_doc(f, 4, d->doc);
        break;
    case AST_D_ENUM:
        fprintf(f, "  enum %s : %s\n", d->name,
                d->base ? ast_scalar_name(d->base->scalar) : "u32");
        put_doc(f, 4, d->doc);
        for (const ast_member *m = d->members; m; m = m->next) {
            fprintf(f, "    member %s = ", m->name);
            put_int(f, m->res);
            fputc('\n', f);
            put_doc(f, 6, m->doc);
        }
        break;
    case AST_D_RECORD:
    case AST_D_VARIANT:
        fprintf(f, "  %s %s%s\n", d->kind == AST_D_RECORD ? "record" : "variant",
                d->name, d->res_has_sync ? " [sync]" : "");
        put_doc(f, 4, d->doc);
        for (const ast_field *x = d->fields; x; x = x->next) {
            fprintf(f, "    %s %s", d->kind == AST_D_RECORD ? "field" : "case",
                    x->name);
            if (x->type) {
                fputs(": ", f);
                put_type(f, x->type, true);
            }
            fputc('\n', f);
            put_doc(f, 6, x->doc);
        }
        break;
    case AST_D_CONTAINER:
        fprintf(f, "  %s %s", ast_container_name(d->ckind), d->name);
        if (d->type) {
            fputs(": ", f);
            put_type(f, d->type, true);
        }
        if (d->type2) {
            fputs(" -> ", f);
            put_type(f, d->type2, true);
        }
        if (d->res_header) {
            fputs(" (header = ", f);
            put_type(f, d->res_header, true);
            fputc(')', f);
        }
        if (d->res_capacity)
            fprintf(f, " (capacity = %llu)",
                    (unsigned long long)d->res_capacity);
        if (d->ckind == AST_C_CAMLBOX)
            fprintf(f, " (slots = %llu, slot_size = %llu)",
                    (unsigned long long)d->res_slots,
                    (unsigned long long)d->res_slot_size);
        fputc('\n', f);
        put_doc(f, 4, d->doc);
        break;
    case AST_D_PROCESS:
        fprintf(f, "  process %s(", d->name);
        for (const ast_field *a = d->fields; a; a = a->next) {
            fprintf(f, "%s: ", a->name);
            put_type(f, a->type, true);
        }
        fputc(')', f);
        if (d->type) {
            fputs(" -> ", f);
            put_type(f, d->type, true);
        }
        fputc('\n', f);
        put_doc(f, 4, d->doc);
        break;
    }
}

void dump_program(FILE *f, const program *p)
{
    for (const ast_module *m = p->first; m; m = m->res_next) {
        fprintf(f, "module %s (file %s, prefix %s)%s\n", m->name, m->file,
                m->res_prefix, m == p->root ? " [root]" : "");
        put_doc(f, 2, m->doc);
        for (const ast_import *i = m->imports; i; i = i->next) {
            fprintf(f, "  import \"%s\"", i->path);
            if (i->alias)
                fprintf(f, " as %s", i->alias);
            fprintf(f, " -> %s (file %s)\n", i->res_module->name,
                    i->res_module->file);
        }
        for (const ast_decl *d = m->decls; d; d = d->next)
            put_decl(f, d);
    }
}
