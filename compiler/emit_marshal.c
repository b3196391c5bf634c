/* compiler/emit_marshal.c: the marshal and unmarshal functions of a
 * generated type (the wire format of mcore/marshal.h).
 *
 * Both directions are one walk over the type, driven by a table: each
 * shape of value (scalar, string, reference, array, named type, optional,
 * fixed array) has one row giving the statements that write it and those
 * that read it, as text with placeholders.  The two directions cannot
 * drift apart (what one writes the other reads, shape by shape), and a
 * new shape is one row.
 *
 * Why the table is the compiler's, not the runtime's: copy and trace walk
 * a type's mc_ptr_field table at run time because they only care where its
 * pointers are.  Marshalling cares about every field (each scalar has its
 * own encoding), so a run-time table would need an entry per field and an
 * interpreter in the runtime's hot path, and would change every module's
 * generated code; the generated functions stay straight-line calls.
 */
#include "emit.h"

#include <stdlib.h>
#include <string.h>

#include "emit_parts.h"

enum { PUT, GET };

/* The shapes of values, as the wire sees them. */
typedef enum shape {
    W_NONE,    /* sync fields: never travel (checked) */
    W_SCALAR,  /* also an enum, as its base scalar */
    W_STRING,
    W_BYTES,
    W_REF,     /* &T: a null one is refused when read */
    W_NREF,    /* ?&T */
    W_ARRAY,
    W_NAMED,   /* a record, variant or container descriptor: its functions */
    W_OPTIONAL,
    W_RAW,     /* a fixed array of integers or floats: its memory */
    W_FIXED,   /* other fixed arrays: element by element */
} shape;

/* Statements for one value, one per line (a leading 4 spaces: one level
 * deeper).  Placeholders: @V@ the value, @H@ its presence flag, @S@ the
 * scalar's name, @D@ the named type's or referenced record's C name, @T@
 * the element's mc_type.  An optional's and a fixed array's elements
 * follow their text, one level deeper (loop: the loop's extra condition);
 * close: the text after them. */
typedef struct wire_op {
    const char *text[2];
    const char *close;
    const char *loop[2];
} wire_op;

static const wire_op wire_ops[] = {
    [W_NONE] = {{"", ""}, NULL, {NULL, NULL}},
    [W_SCALAR] = {{"mc_put_@S@(w, @V@);", "mc_get_@S@(r, &@V@);"}, NULL,
                  {NULL, NULL}},
    [W_STRING] = {{"mc_put_str(w, @V@);", "mc_get_str(r, &@V@);"}, NULL,
                  {NULL, NULL}},
    [W_BYTES] = {{"mc_put_own(w, &mc_type_bytes, @V@.len, @V@.data);",
                  "mc_get_own(r, &mc_type_bytes, &@V@.len, (void **)&@V@."
                  "data);"},
                 NULL, {NULL, NULL}},
    [W_REF] = {{"mc_put_ref(w, &@D@_type, 1, @V@);",
                "mc_get_ref(r, &@D@_type, NULL, (void **)&@V@);\n"
                "if (!@V@ && !r->err)\n"
                "    return mc_reader_fail(r, \"a null non-null reference\");"},
               NULL, {NULL, NULL}},
    [W_NREF] = {{"mc_put_ref(w, &@D@_type, 1, @V@);",
                 "mc_get_ref(r, &@D@_type, NULL, (void **)&@V@);"},
                NULL, {NULL, NULL}},
    [W_ARRAY] = {{"mc_put_own(w, @T@, @V@.len, @V@.data);",
                  "mc_get_own(r, @T@, &@V@.len, (void **)&@V@.data);"},
                 NULL, {NULL, NULL}},
    [W_NAMED] = {{"@D@_type.marshal(w, &@V@);",
                  "if (@D@_type.unmarshal(r, &@V@))\n    return r->err;"},
                 NULL, {NULL, NULL}},
    [W_OPTIONAL] = {{"mc_put_bool(w, @H@);\nif (@H@) {",
                     "mc_get_bool(r, &@H@);\nif (@H@) {"},
                    "}", {NULL, NULL}},
    [W_RAW] = {{"mc_put_raw(w, @V@, sizeof @V@);",
                "mc_get_raw(r, @V@, sizeof @V@);"},
               NULL, {NULL, NULL}},
    [W_FIXED] = {{"", ""}, NULL, {"", " && !r->err"}},
};

static shape shape_of(const ast_type *t)
{
    switch (t->kind) {
    case AST_T_SCALAR:
        return W_SCALAR;
    case AST_T_STRING:
        return W_STRING;
    case AST_T_BYTES:
        return W_BYTES;
    case AST_T_REF:
        return W_REF;
    case AST_T_NREF:
        return W_NREF;
    case AST_T_ARRAY:
        return W_ARRAY;
    case AST_T_NAMED:
        return t->res_decl->kind == AST_D_ENUM ? W_SCALAR : W_NAMED;
    case AST_T_OPTIONAL:
        return W_OPTIONAL;
    case AST_T_FIXED:
        /* integers and floats: the memory is the encoding (little-endian,
         * marshal.h), one call for the whole array */
        return t->elem->kind == AST_T_SCALAR && t->elem->scalar != AST_BOOL
                   ? W_RAW
                   : W_FIXED;
    default:
        return W_NONE;
    }
}

/* Write text, each line at level lv, its placeholders replaced. */
static void put_text(emitter *e, int lv, const char *text,
                     const char *const *vals)
{
    static const char *const keys[] = {"V", "H", "S", "D", "T"};
    while (*text) {
        const char *nl = strchr(text, '\n');
        size_t n = nl ? (size_t)(nl - text) : strlen(text);
        char *line = fmt("%.*s\n", (int)n, text);
        ind(e->c, lv);
        expand(e->c, line, keys, vals, 5);
        free(line);
        text += n + (nl != NULL);
    }
}

/* The statements that write (dir PUT) or read (GET) value v of type t. */
static void gen_wire(emitter *e, const ast_type *t, val v, int lv, int dir)
{
    shape sh = shape_of(t);
    const wire_op *op = &wire_ops[sh];
    char *t1 = NULL, *t2 = NULL, *ve = NULL, *d = NULL, *te = NULL;
    val x = v;
    const char *sc = "";
    if (sh == W_SCALAR)
        sc = scalar_name(t->kind == AST_T_SCALAR ? t->scalar
                                                 : enum_base(t->res_decl));
    else if (sh == W_REF || sh == W_NREF)
        d = decl_cname(t->res_decl);
    else if (sh == W_NAMED)
        d = named_cname(t->res_decl);
    else if (sh == W_ARRAY)
        te = typeexpr(e, t->elem);
    else if (sh == W_OPTIONAL && !v.has)
        x = nested(t, v.e, &t1, &t2);
    ve = fmt("%s%s", x.e, sh == W_RAW && v.nest ? ".v" : "");
    const char *vals[] = {ve, x.has ? x.has : "", sc, d ? d : "",
                          te ? te : ""};
    put_text(e, lv, op->text[dir], vals);
    if (sh == W_OPTIONAL) {
        gen_wire(e, t->elem, (val){x.e, NULL, 1}, lv + 1, dir);
    } else if (sh == W_FIXED) {
        char *a;
        open_fixed(e, t, v, v, &a, NULL, lv, op->loop[dir]);
        gen_wire(e, t->elem, (val){a, NULL, 1}, lv + 1, dir);
        close_block(e, lv);
        free(a);
    }
    if (op->close)
        put_text(e, lv, op->close, vals);
    free(t1), free(t2), free(ve), free(d), free(te);
}

/* The body of a record's or variant's function in one direction: fields
 * in order, or the tag and the case's payload. */
static void gen_decl_wire(emitter *e, const ast_decl *d, const char *n,
                          int dir)
{
    FILE *c = e->c;
    char *un = upper(d->name);
    if (d->kind == AST_D_RECORD) {
        for (ast_field *f = d->fields; f; f = f->next) {
            char *ve = fmt("o->%s", f->name), *vh = fmt("o->has_%s", f->name);
            int opt = f->type->kind == AST_T_OPTIONAL;
            gen_wire(e, f->type, (val){ve, opt ? vh : NULL, 0}, 1, dir);
            free(ve), free(vh);
        }
        free(un);
        return;
    }
    if (dir == PUT) {
        fprintf(c, "    mc_put_u32(w, o->tag);\n    switch (o->tag) {\n");
    } else {
        int ncases = 0;
        for (ast_field *f = d->fields; f; f = f->next)
            ncases++;
        fprintf(c, "    if (mc_get_u32(r, &o->tag))\n        return "
                   "r->err;\n    if (o->tag >= %d)\n        return "
                   "mc_reader_fail(r, \"%s: no such case\");\n"
                   "    switch (o->tag) {\n", ncases, n);
    }
    for (ast_field *f = d->fields; f; f = f->next) {
        if (!f->type)
            continue;
        char *uc = upper(f->name), *ve = fmt("o->u.%s", f->name);
        fprintf(c, "    case %s%s_%s:\n", e->upre, un, uc);
        gen_wire(e, f->type, (val){ve, NULL, 1}, 2, dir);
        fprintf(c, "        break;\n");
        free(uc), free(ve);
    }
    fprintf(c, "    default:\n        break;\n    }\n");
    free(un);
}

void put_marshal_fns(emitter *e, const ast_decl *d)
{
    FILE *c = e->c;
    /* not for types holding sync fields: they never travel */
    if (d->res_has_sync)
        return;
    char *n = decl_cname(d);
    fprintf(c, "static void %s_marshal(mc_writer *w, const void *obj)\n{"
               "\n    const %s *o = obj;\n", n, n);
    gen_decl_wire(e, d, n, PUT);
    fprintf(c, "}\n\n");
    fprintf(c, "static int %s_unmarshal(mc_reader *r, void *obj)\n{\n"
               "    %s *o = obj;\n", n, n);
    gen_decl_wire(e, d, n, GET);
    fprintf(c, "    return r->err;\n}\n\n");
    free(n);
}

void put_helper_marshal_fns(emitter *e, const helper *hp)
{
    FILE *c = e->c;
    const ast_type *t = hp->t;
    const char *n = hp->name;
    char *ct = ctype(e, t), *cct = const_ctype(ct);
    val ov = helper_val(t, "o");
    fprintf(c, "static void %s_marshal(mc_writer *w, const void *obj)\n{\n"
               "    %s*o = obj;\n", n, cct);
    gen_wire(e, t, ov, 1, PUT);
    fprintf(c, "}\n\nstatic int %s_unmarshal(mc_reader *r, void *obj)\n{\n"
               "    %s *o = obj;\n", n, ct);
    gen_wire(e, t, ov, 1, GET);
    fprintf(c, "    return r->err;\n}\n\n");
    free_val(ov);
    free(ct), free(cct);
}
