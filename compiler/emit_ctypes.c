/* compiler/emit_ctypes.c: the C types of the generated header: constants,
 * enums, records (structs), variants (a tag and a union) and the structs
 * of helpers (arrays, optionals, fixed arrays nested in other types).
 */
#include "emit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emit_parts.h"

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

/* The module's constants and enums, in order. */
void put_consts_enums(emitter *e)
{
    FILE *h = e->h;
    const ast_module *m = e->m;
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
}

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
void put_helper_def(emitter *e, const helper *hp)
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

void put_record_def(emitter *e, const ast_decl *d)
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

void put_variant_def(emitter *e, const ast_decl *d)
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
