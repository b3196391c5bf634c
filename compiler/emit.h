/* compiler/emit.h: what every part of the C generator shares (internal).
 *
 * The generator is layered, and names go one way, downwards:
 *
 *   emit.c          the driver: order of declarations, the two files
 *   emit_descr.c    a type's mc_type: its functions, table and id
 *   emit_ctypes.c   the C types (structs, enums, constants) of the header
 *   emit_copy.c     copy, trace and init_sync functions
 *   emit_marshal.c  marshal and unmarshal functions (one table-driven walk)
 *   emit_keys.c     hash and equal functions, and which types have them
 *   emit_ptrs.c     the pointer tables that drive the runtime's copy/trace
 *   emit_wrap.c     typed wrappers of containers and processes (templates/)
 *   emit_util.c     names, helpers, what a type holds, indented writing
 *
 * Every part includes this header only (emit_util.c implements it); the
 * parts' own entry points are in emit_parts.h, which only emit_descr.c
 * and emit.c include.
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

/* ------------------------------------------------------------ memory */

/* Allocation that exits on failure, as the rest of mcidl. */
void *xmalloc(size_t n);
char *xstrdup(const char *s);
char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
char *upper(const char *s);

/* ------------------------------------------------------------- names */

/* A scalar's C type ("int32_t") and IDL name ("i32"). */
const char *scalar_ctype(ast_scalar s);
const char *scalar_name(ast_scalar s);
/* An enum's underlying scalar (u32 when not given). */
ast_scalar enum_base(const ast_decl *d);
/* PREFIX_Name of a declaration. */
char *decl_cname(const ast_decl *d);
/* The C type a named type stands for: a record's, variant's or enum's
 * own, or for a container its typed descriptor, PREFIX_Name_descr. */
char *named_cname(const ast_decl *d);
/* C type of a value of type t where it has no field name (array elements,
 * payloads, helper members). */
char *ctype(emitter *e, const ast_type *t);
/* The mc_type of one element of type t, as a C expression. */
char *typeexpr(emitter *e, const ast_type *t);
/* The C type of a pointer to const ct, without the '*': "const T " for a
 * struct, "T *const " for a pointer (the caller frees it). */
char *const_ctype(const char *ct);
/* Array, optional, fixed array, reference: types that need a helper. */
int is_helper_kind(const ast_type *t);
/* The helper standing for t, made on first use.  Helpers are emitted in
 * the order they were made; a helper's own parts are made before it. */
helper *need_helper(emitter *e, const ast_type *t);

/* Does a value of t hold a pointer / a sync field inline? */
int has_ptr(const ast_type *t);
int has_sync(const ast_type *t);

/* ------------------------------------------------- writing field code
 *
 * Each generator writes statements for one value of type t, given C
 * lvalue expressions for it.  Optional values have a presence flag: `has`
 * is its expression (field-level: obj->has_x; nested: x.has). */

typedef struct val {
    const char *e;    /* the value */
    const char *has;  /* its presence flag, for optional values */
    int nest;         /* a nested fixed array: a helper struct (member v) */
} val;

/* The parts of a nested optional helper base: base.value, base.has (the
 * caller frees *tmp1 and *tmp2). */
val nested(const ast_type *t, const char *base, char **tmp1, char **tmp2);
/* One element of a helper of type t through pointer p (see emit_util.c). */
val helper_val(const ast_type *t, const char *p);
void free_val(val v);
/* n levels of indentation (4 spaces each). */
void ind(FILE *f, int n);
/* Open a loop over the elements of fixed array t, whose value is v (and,
 * for two-sided walkers, w).  *ev (and *ew) receive the element
 * expressions; `extra` is added to the loop's condition.  Close it with
 * close_block. */
void open_fixed(emitter *e, const ast_type *t, val v, val w, char **ev,
                char **ew, int lv, const char *extra);
void close_block(emitter *e, int lv);
/* Doc comments as /// lines. */
void put_doc(FILE *f, int lv, const char *doc);
/* Write tmpl to out with each @KEY@ of keys[0..n) replaced by its val. */
void expand(FILE *out, const char *tmpl, const char *const *keys,
            const char *const *vals, int n);

#endif
