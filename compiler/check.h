/* compiler/check.h: what check.c (one declaration at a time) and
 * check_graph.c (the whole program's graph) share (internal).  check.c
 * calls check_graph() last; check_graph.c uses only what is below.
 */
#ifndef MCIDL_CHECK_H
#define MCIDL_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "mcidl.h"

typedef struct checker {
    program *p;
    unsigned mark;
    ast_decl **stack;               /* work list of graph walks */
    size_t nstack, capstack;
} checker;

/* A string -> pointer hash map (open addressing), so that no check is
 * quadratic in the number of declarations, fields or members
 * (check_names.c). */
typedef struct strmap {
    const char **keys;
    void **vals;
    size_t cap, n;
} strmap;

/* realloc that exits on failure (n 0: one byte), as the rest of mcidl. */
void *check_xrealloc(void *q, size_t n);
/* Named types that hold nothing to walk: enums and descriptors. */
bool is_leaf_decl(const ast_decl *d);
/* "record", "variant", ... : a declaration's kind in messages. */
const char *decl_what(const ast_decl *d);
/* A mutex, semaphore or condition. */
bool is_sync(const ast_type *t);

/* check_names.c: the map's lookup (NULL: absent), insertion (returns the
 * value already there, else NULL) and release. */
void *sm_get(const strmap *m, const char *key);
void *sm_put(strmap *m, const char *key, void *val);
void sm_free(strmap *m);
/* Report name unless it is lower_snake (idl/mcidl.md section 5). */
void check_lower(const char *what, const char *name, ast_loc loc);
/* A container: its descriptor is an IDL type. */
bool is_descr_decl(const ast_decl *d);
/* The declaration qname ("Name" or "qual.Name") names from module m, or
 * NULL after reporting why not (what: what was looked for). */
ast_decl *lookup(const ast_module *m, const char *qname, ast_loc loc,
                 const char *what);
/* A module's name, prefix and imports, checked; its name maps filled. */
void check_module_header(program *p, ast_module *m);

/* C names that collide, records holding themselves inline, sizes, and
 * res_has_sync of every record (check_graph.c); the steps after the
 * first error that would make them meaningless are skipped (before: the
 * error count when checking began). */
void check_graph(checker *c, int before);

#endif
