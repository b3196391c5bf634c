/* compiler/emit_keys.c: the hash and equal functions of a generated type,
 * for the types whose values can be keys of a hash table (no references,
 * no sync fields: identity is not value, and locks are not values).
 * Hashes follow values, not memory: padding and unused union bytes never
 * reach them.
 */
#include "emit.h"

#include <limits.h>
#include <stdlib.h>

#include "emit_parts.h"

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

/* hash and equal of a record or variant; 1 if it has them */
int put_key_fns(emitter *e, const ast_decl *d)
{
    FILE *c = e->c;
    char *n = decl_cname(d), *un = upper(d->name);
    ast_type self = {.kind = AST_T_NAMED, .res_decl = (ast_decl *)d};
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
    free(n);
    free(un);
    return keyok;
}

/* hash and equal of a helper; 1 if it has them */
int put_helper_key_fns(emitter *e, const helper *hp)
{
    FILE *c = e->c;
    const ast_type *t = hp->t;
    const char *n = hp->name;
    int keyok = hashable(t);
    if (!keyok)
        return 0;
    char *ct = ctype(e, t), *cct = const_ctype(ct);
    val ov = helper_val(t, "o"), xa = helper_val(t, "a"),
        xb = helper_val(t, "b");
    fprintf(c, "static uint64_t %s_hash(const void *obj)\n{\n"
               "    %s*o = obj;\n    uint64_t h = MC_HASH_SEED;\n", n, cct);
    gen_hash(e, t, ov, 1);
    fprintf(c, "    return h;\n}\n\n");
    fprintf(c, "static int %s_equal(const void *pa, const void *pb)\n{\n"
               "    %s*a = pa;\n    %s*b = pb;\n", n, cct, cct);
    gen_equal(e, t, xa, xb, 1);
    fprintf(c, "    return 1;\n}\n\n");
    free_val(ov), free_val(xa), free_val(xb);
    free(ct), free(cct);
    return 1;
}
