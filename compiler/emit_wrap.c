/* compiler/emit_wrap.c: the typed wrappers of containers (srefs,
 * camlboxes) and processes, expanded from the templates of templates/
 * (embedded at build time, see templates.h).
 */
#include "emit.h"

#include <stdlib.h>

#include "emit_parts.h"
#include "templates.h"

/* Expand a template pair: th into the header, tc into the source (either
 * may be NULL). */
static void put2(emitter *e, const char *th, const char *tc,
                 const char *const *keys, const char *const *vals, int n)
{
    if (th)
        expand(e->h, th, keys, vals, n);
    if (tc)
        expand(e->c, tc, keys, vals, n);
}

typedef struct in_parts {
    char *in;
    const char *addr;
} in_parts;
static in_parts in_of(emitter *e, const ast_type *t);

/* What the templates say of a container's header (ht NULL: none): its C
 * type, const pointer form, mc_type, the creation parameter and value,
 * and the doc phrases. */
typedef struct hdr_parts {
    char *c, *cc, *te, *arg, *doc;
    const char *val, *doc2;
    in_parts in; /* how _header_set takes it */
} hdr_parts;

static hdr_parts hdr_of(emitter *e, const ast_type *ht)
{
    hdr_parts h;
    h.c = ht ? ctype(e, ht) : xstrdup("void");
    h.cc = const_ctype(h.c);
    h.te = ht ? typeexpr(e, ht) : xstrdup("NULL");
    h.in = ht ? in_of(e, ht) : (in_parts){xstrdup(""), ""};
    h.arg = ht ? fmt(", %sheader", h.in.in) : xstrdup("");
    h.doc = ht ? fmt(", with a header of type %s", h.c) : xstrdup("");
    h.val = !ht ? "NULL" : *h.in.addr ? "&header" : "header";
    h.doc2 = ht ? ", and its header a deep copy of header" : "";
    return h;
}

static void hdr_free(hdr_parts *h)
{
    free(h->c), free(h->cc), free(h->te), free(h->arg), free(h->doc);
    free(h->in.in);
}

/* Whether a value of type t goes into the generated functions by value:
 * scalars, enums and strings (as const char *), the 2.8 rule of
 * idl/mcidl.md; the others by const pointer. */
static int by_value(const ast_type *t)
{
    return t->kind == AST_T_STRING || t->kind == AST_T_SCALAR ||
           (t->kind == AST_T_NAMED && t->res_decl->kind == AST_D_ENUM);
}

/* How a value of type t is passed in (sref _create/_set, an array's
 * _make/_grow/_set, _push, _add, _send): in, the parameter's type ready
 * for its name ("int64_t ", "const char *", "const R *"); addr, put before
 * the parameter to give the runtime its pointer ("&" or ""). */
static in_parts in_of(emitter *e, const ast_type *t)
{
    in_parts r;
    char *ct = ctype(e, t);
    if (t->kind == AST_T_STRING)
        r.in = xstrdup("const char *");
    else if (by_value(t))
        r.in = fmt("%s ", ct);
    else {
        char *cct = const_ctype(ct);
        r.in = fmt("%s*", cct);
        free(cct);
    }
    r.addr = by_value(t) ? "&" : "";
    free(ct);
    return r;
}

/* The accessor suffix of sarray.h's inline functions for elements of
 * scalar type t (i32, u32, i64, u64, f32, f64, or an enum of one of them),
 * or NULL (other scalars are set through the called form). */
static const char *scalar_suffix(const ast_type *t)
{
    ast_scalar s;
    if (t->kind == AST_T_SCALAR)
        s = t->scalar;
    else if (t->kind == AST_T_NAMED && t->res_decl->kind == AST_D_ENUM)
        s = enum_base(t->res_decl);
    else
        return NULL;
    switch (s) {
    case AST_I32: case AST_U32: case AST_I64: case AST_U64: case AST_F32:
    case AST_F64:
        return scalar_name(s);
    default:
        return NULL;
    }
}

/* An sarray's or smatrix's wrappers (descr: only its descriptor type).
 * The parts common to both are one set of templates, told apart by @K@
 * and the index parameters (@IDXP@, @IDXA@); elements of scalar types get
 * inline set/get/get_ro by value, through sarray.h's inline accessors
 * where there is one for the width. */
static void put_array(emitter *e, const ast_decl *d, int descr)
{
    const ast_type *t = d->type, *ht = d->res_header;
    int mat = d->ckind == AST_C_SMATRIX;
    const char *k = mat ? "smatrix" : "sarray";
    const char *idxp = mat ? "size_t i, size_t j" : "size_t i";
    const char *idxa = mat ? "i, j" : "i";
    char *ct = ctype(e, t), *te = typeexpr(e, t);
    /* strings come in as const char * (mcidl.md 2.8), so an array of
     * them as const char *const *: literals need no cast */
    char *cct = t->kind == AST_T_STRING ? xstrdup("const char *const ")
                                        : const_ctype(ct);
    hdr_parts hp = hdr_of(e, ht);
    char *id = fmt("0x%016llxull", (unsigned long long)d->res_id);
    int scalar = by_value(t) && t->kind != AST_T_STRING;
    in_parts ip = in_of(e, t);
    const char *suf = scalar_suffix(t);
    char *setx, *getx, *rox;
    if (suf) {
        setx = fmt("mc_%s_set_%s((mc_%s *)a, %s, value)", k, suf, k, idxa);
        getx = fmt("mc_%s_get_%s((mc_%s *)a, %s, value)", k, suf, k, idxa);
        rox = fmt("mc_%s_ro_%s((mc_%s *)a, %s)", k, suf, k, idxa);
    } else {
        setx = fmt("mc_%s_set((mc_%s *)a, %s, &value)", k, k, idxa);
        getx = fmt("mc_%s_get((mc_%s *)a, %s, value)", k, k, idxa);
        rox = fmt("(%s*)mc_%s_get_ro((mc_%s *)a, %s)", cct, k, k, idxa);
    }
    const char *keys[] = {"P", "UP", "N", "T", "TT", "M", "ID", "K",
                          "IDXP", "IDXA", "H", "HT", "HV", "HARG", "HDOC",
                          "HDOC2", "SETX", "GETX", "ROX", "CT", "CH", "TP",
                          "TA", "HP", "HA"};
    const char *vals[] = {e->pre, e->upre, d->name, ct, te,
                          d->module->name, id, k, idxp, idxa, hp.c, hp.te,
                          hp.val, hp.arg, hp.doc, hp.doc2, setx, getx, rox,
                          cct, hp.cc, ip.in, ip.addr, hp.in.in,
                          hp.in.addr};
    enum { NK = sizeof keys / sizeof *keys };
    if (descr) {
        expand(e->h, tmpl_arr_descr_h, keys, vals, NK);
    } else {
        put_doc(e->h, 0, d->doc);
        put2(e, tmpl_arr_h, tmpl_arr_c, keys, vals, NK);
        put2(e, mat ? tmpl_smatrix_h : tmpl_sarray_h,
             mat ? tmpl_smatrix_c : tmpl_sarray_c, keys, vals, NK);
        if (scalar)
            put2(e, tmpl_arr_scalar_h, NULL, keys, vals, NK);
        else
            put2(e, tmpl_arr_set_h, tmpl_arr_set_c, keys, vals, NK);
        if (!scalar && !has_ptr(t) && !has_sync(t)) /* stored inline */
            put2(e, tmpl_arr_get_h, tmpl_arr_get_c, keys, vals, NK);
        if (has_sync(t)) /* its locks are used in place */
            put2(e, tmpl_arr_mut_h, tmpl_arr_mut_c, keys, vals, NK);
        if (ht)
            put2(e, tmpl_arr_header_h, tmpl_arr_header_c, keys, vals, NK);
        fputc('\n', e->h);
    }
    free(ct), free(te), free(id), free(setx), free(getx), free(rox);
    free(cct), free(ip.in);
    hdr_free(&hp);
}

/* An sbuffer's, squeue's or shashtbl's wrappers (descr: only its
 * descriptor type).  The placeholders of all three are set; each template
 * uses its own: @T@ the queue's element, @KC@/@V@ the table's key and
 * value (each with its const pointer form @CT@, @CK@, @CV@ and mc_type
 * @TT@, @KT@, @VT@), @H@ the header, @CAP@ the declared capacity. */
static void put_other(emitter *e, const ast_decl *d, int descr)
{
    const ast_type *t = d->type, *t2 = d->type2, *ht = d->res_header;
    const char *k = ast_container_name(d->ckind);
    char *ct = t ? ctype(e, t) : xstrdup("void");
    char *te = t ? typeexpr(e, t) : xstrdup("NULL");
    char *vc = t2 ? ctype(e, t2) : xstrdup("void");
    char *vte = t2 ? typeexpr(e, t2) : xstrdup("NULL");
    char *cct = const_ctype(ct), *cvc = const_ctype(vc);
    hdr_parts hp = hdr_of(e, ht);
    char *id = fmt("0x%016llxull", (unsigned long long)d->res_id);
    char *cap = fmt("%llu", (unsigned long long)d->res_capacity);
    char *un = upper(d->name);
    /* an element's or key's (TP/TA), a value's (VP/VA) way in, as in_of;
     * a table's key: KP the parameter, KA what the runtime gets, KD what
     * a callback gets from the runtime's pointer */
    in_parts tp = t ? in_of(e, t) : (in_parts){xstrdup(""), ""};
    in_parts vp = t2 ? in_of(e, t2) : (in_parts){xstrdup(""), ""};
    char *kp = fmt("%skey", tp.in), *ka = fmt("%skey", tp.addr), *kd;
    if (t && t->kind == AST_T_STRING)
        kd = xstrdup("*(const char *const *)key");
    else if (t && by_value(t))
        kd = fmt("*(const %s *)key", ct);
    else
        kd = xstrdup("key");
    char *what;
    const char *dwords, *heapfn = "heap";
    const char *th, *tc, *thh, *thc;
    switch (d->ckind) {
    case AST_C_SBUFFER:
        what = xstrdup("an sbuffer");
        dwords = "5";
        th = tmpl_sbuffer_h, tc = tmpl_sbuffer_c;
        thh = tmpl_sbuffer_header_h, thc = tmpl_sbuffer_header_c;
        break;
    case AST_C_SQUEUE:
        what = fmt("an squeue of %s", ct);
        dwords = "6";
        th = tmpl_squeue_h, tc = tmpl_squeue_c;
        thh = tmpl_squeue_header_h, thc = tmpl_squeue_header_c;
        break;
    default: /* AST_C_SHASHTBL */
        what = fmt("an shashtbl from %s to %s", ct, vc);
        dwords = "7";
        heapfn = "header_heap";
        th = tmpl_shashtbl_h, tc = tmpl_shashtbl_c;
        thh = tmpl_shashtbl_header_h, thc = tmpl_shashtbl_header_c;
        break;
    }
    const char *keys[] = {"P", "UP", "N", "UN", "K", "M", "ID", "T", "CT",
                          "TT", "KC", "CK", "KT", "V", "CV", "VT", "H",
                          "CH", "HT", "HV", "HARG", "HDOC", "HDOC2", "CAP",
                          "WHAT", "DWORDS", "HEAPFN", "KP", "KA", "KD", "TP",
                          "TA", "VP", "VA", "HP", "HA"};
    const char *vals[] = {e->pre, e->upre, d->name, un, k, d->module->name,
                          id, ct, cct, te, ct, cct, te, vc, cvc, vte, hp.c,
                          hp.cc, hp.te, hp.val, hp.arg, hp.doc, hp.doc2, cap,
                          what, dwords, heapfn, kp, ka, kd, tp.in, tp.addr,
                          vp.in, vp.addr, hp.in.in, hp.in.addr};
    enum { NK = sizeof keys / sizeof *keys };
    if (descr) {
        expand(e->h, tmpl_cont_descr_h, keys, vals, NK);
    } else {
        put_doc(e->h, 0, d->doc);
        put2(e, th, tc, keys, vals, NK);
        /* elements (values) without pointers are copied out plainly, as
         * an sarray's _get: no allocation, no mc_local_free */
        if (d->ckind == AST_C_SQUEUE && !has_ptr(t) && !has_sync(t))
            put2(e, tmpl_squeue_copy_h, tmpl_squeue_copy_c, keys, vals, NK);
        if (d->ckind == AST_C_SHASHTBL && !has_ptr(t2) && !has_sync(t2))
            put2(e, tmpl_shashtbl_copy_h, tmpl_shashtbl_copy_c, keys, vals,
                 NK);
        put2(e, tmpl_cont_common_h, tmpl_cont_descr_c, keys, vals, NK);
        if (ht)
            put2(e, thh, thc, keys, vals, NK);
        fputc('\n', e->h);
    }
    free(ct), free(te), free(vc), free(vte), free(cct), free(cvc), free(id);
    free(cap), free(un), free(what), free(kp), free(ka), free(kd);
    free(tp.in), free(vp.in);
    hdr_free(&hp);
}

/* A container's wrappers (descr: only its descriptor type, which goes
 * before the records, as fields may hold it). */
void put_container(emitter *e, const ast_decl *d, int descr)
{
    if (d->ckind == AST_C_SARRAY || d->ckind == AST_C_SMATRIX) {
        put_array(e, d, descr);
        return;
    }
    if (d->ckind == AST_C_SBUFFER || d->ckind == AST_C_SQUEUE ||
        d->ckind == AST_C_SHASHTBL) {
        put_other(e, d, descr);
        return;
    }
    char *ct = ctype(e, d->type), *te = typeexpr(e, d->type);
    char *un = upper(d->name);
    char *slots = fmt("%llu", (unsigned long long)d->res_slots);
    char *slot_size = fmt("%llu", (unsigned long long)d->res_slot_size);
    char *id = fmt("0x%016llxull", (unsigned long long)d->res_id);
    in_parts ip = in_of(e, d->type);
    char *cct = const_ctype(ct);
    const char *keys[] = {"P", "UP", "N", "UN", "T", "TT", "SLOTS",
                          "SLOTSIZE", "M", "ID", "TP", "TA", "CT"};
    const char *vals[] = {e->pre, e->upre, d->name, un, ct, te, slots,
                          slot_size, d->module->name, id, ip.in, ip.addr,
                          cct};
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
    free(ip.in), free(cct);
}

void put_process(emitter *e, const ast_decl *d)
{
    const ast_type *at = d->fields ? d->fields->type : NULL;
    const ast_type *rt = d->type;
    char *act = at ? ctype(e, at) : xstrdup("void"),
         *rct = rt ? ctype(e, rt) : xstrdup("void");
    char *ate = at ? typeexpr(e, at) : xstrdup("NULL"),
         *rte = rt ? typeexpr(e, rt) : xstrdup("NULL");
    const char *aname = d->fields ? d->fields->name : "arg";
    /* _start's and _run's argument goes in as any value (none: NULL) */
    in_parts ap = at ? in_of(e, at) : (in_parts){xstrdup("const void *"), ""};
    const char *keys[] = {"P", "N", "A", "R", "AT", "RT", "AN", "AP", "AA"};
    const char *vals[] = {e->pre, d->name, act, rct, ate, rte, aname,
                          ap.in, ap.addr};
    enum { NK = sizeof keys / sizeof *keys };
    put_doc(e->h, 0, d->doc);
    expand(e->h, tmpl_process_h, keys, vals, NK);
    expand(e->c, tmpl_process_c, keys, vals, NK);
    free(act), free(rct), free(ate), free(rte), free(ap.in);
}

/* ------------------------------------------------------------- driver */
