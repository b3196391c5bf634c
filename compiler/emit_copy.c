/* compiler/emit_copy.c: the copy, trace and init_sync functions of a
 * generated type.
 *
 * A type whose pointers a table can say (emit_ptrs.c) is copied and
 * traced by the runtime from that table; these functions are what the
 * runtime calls for the others, and what a table embeds for a value it
 * cannot say entry by entry (MC_PF_ELEM).  Sync fields are not values: a
 * copy starts them zeroed and a heap initializes them in place
 * (init_sync).
 */
#include "emit.h"

#include <stdlib.h>

#include "emit_parts.h"

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

/* copy (when t holds pointers or sync fields) and trace (pointers) of a
 * record or variant */
void put_copy_fns(emitter *e, const ast_decl *d)
{
    FILE *c = e->c;
    char *n = decl_cname(d), *un = upper(d->name);
    ast_type self = {.kind = AST_T_NAMED, .res_decl = (ast_decl *)d};
    int ptr = has_ptr(&self), sync = d->kind == AST_D_RECORD &&
                                     d->res_has_sync;
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
    free(n);
    free(un);
}

/* init_sync of a record holding sync fields: each lock set up in place */
void put_init_sync(emitter *e, const ast_decl *d)
{
    FILE *c = e->c;
    char *n = decl_cname(d);
    if (d->kind != AST_D_RECORD || !d->res_has_sync) {
        free(n);
        return;
    }
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
    free(n);
}

/* copy and trace of a helper holding pointers */
void put_helper_copy_fns(emitter *e, const helper *hp)
{
    FILE *c = e->c;
    const ast_type *t = hp->t;
    const char *n = hp->name;
    if (!has_ptr(t))
        return;
    char *ct = ctype(e, t), *cct = const_ctype(ct);
    val dv = helper_val(t, "d"), sv = helper_val(t, "s"),
        ov = helper_val(t, "o");
    fprintf(c, "static int %s_copy(mc_copier *c, void *dst, const void "
               "*src)\n{\n    %s *d = dst;\n    %s*s = src;\n"
               "    int rc = 0;\n    (void)c;\n    *d = *s;\n", n, ct, cct);
    gen_copy(e, t, dv, sv, 1);
    fprintf(c, "    return rc;\n}\n\n");
    fprintf(c, "static void %s_trace(mc_tracer *tr, const void *obj)\n{\n"
               "    %s*o = obj;\n", n, cct);
    gen_trace(e, t, ov, 1);
    fprintf(c, "}\n\n");
    free_val(dv), free_val(sv), free_val(ov);
    free(ct), free(cct);
}
