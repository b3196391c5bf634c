/* compiler/emit.h: what the parts of the C generator share (internal).
 *
 * emit.c writes the types and wrappers; emit_ptrs.c the pointer tables
 * that drive the runtime's copy and trace (mcore/type.h, mc_ptr_field).
 */
#ifndef MCIDL_EMIT_H
#define MCIDL_EMIT_H

#include <stdio.h>

#include "mcidl.h"

/* ----------------------------------------------------------- the state */

typedef struct helper {
    struct helper *next;
    char *mangle;          /* "arr_string" */
    const ast_type *t;     /* the type it stands for */
    char *name;            /* PREFIX_mangle */
    struct helper *same;   /* the next helper wrapping the same record */
} helper;

typedef struct emitter {
    const program *p;
    const ast_module *m;
    const char *pre;       /* "geo_" */
    char *upre;            /* "GEO_" */
    FILE *h, *c;           /* the header and the source being written */
    helper *helpers, **htail;
    helper **htab;         /* the helpers by mangled name (open addressing) */
    size_t hcap, hn;
    size_t ndecl;          /* records, variants, enums: res_index bound */
    int tmp;               /* counter of loop variables */
} emitter;

/* Allocation that exits on failure, as the rest of mcidl. */
void *xmalloc(size_t n);
char *xstrdup(const char *s);
char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
char *upper(const char *s);

/* PREFIX_Name of a declaration. */
char *decl_cname(const ast_decl *d);
/* The mc_type of one element of type t, as a C expression. */
char *typeexpr(emitter *e, const ast_type *t);
/* Does a value of t hold a pointer / a sync field inline? */
int has_ptr(const ast_type *t);
int has_sync(const ast_type *t);

/* Write `static const mc_ptr_field NAME_ptrs[]` for values of t, whose C
 * type is ct (a record's or variant's t is its named type; a helper's, the
 * helper's shape, laid out as put_helper_type does).  Returns the number of
 * entries, or 0 when t has no table (no pointers, sync fields, or a shape
 * the table cannot say: then the type is copied by its functions). */
size_t emit_ptr_table(emitter *e, const ast_type *t, const char *ct,
                      const char *name, int helper);

#endif
