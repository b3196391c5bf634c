/* compiler/emit_wrap.c: the typed wrappers of containers (srefs,
 * camlboxes) and processes, expanded from the templates of templates/
 * (embedded at build time, see templates.h).
 */
#include "emit.h"

#include <stdlib.h>

#include "emit_parts.h"
#include "templates.h"

/* A container's wrappers (descr: only its descriptor type, which goes
 * before the records, as fields may hold it). */
void put_container(emitter *e, const ast_decl *d, int descr)
{
    char *ct = ctype(e, d->type), *te = typeexpr(e, d->type);
    char *un = upper(d->name);
    char *slots = fmt("%llu", (unsigned long long)d->res_slots);
    char *slot_size = fmt("%llu", (unsigned long long)d->res_slot_size);
    char *id = fmt("0x%016llxull", (unsigned long long)d->res_id);
    const char *keys[] = {"P", "UP", "N", "UN", "T", "TT", "SLOTS",
                          "SLOTSIZE", "M", "ID"};
    const char *vals[] = {e->pre, e->upre, d->name, un, ct, te, slots,
                          slot_size, d->module->name, id};
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
    const char *keys[] = {"P", "N", "A", "R", "AT", "RT", "AN"};
    const char *vals[] = {e->pre, d->name, act, rct, ate, rte, aname};
    put_doc(e->h, 0, d->doc);
    expand(e->h, tmpl_process_h, keys, vals, 7);
    expand(e->c, tmpl_process_c, keys, vals, 7);
    free(act), free(rct), free(ate), free(rte);
}

/* ------------------------------------------------------------- driver */
