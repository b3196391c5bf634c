/* compiler/mcidl.h: the compiler's stages and the program they share.
 *
 *   load.c   read the root file and, recursively, its imports (search
 *            path, cycle detection); parse each file once
 *   check.c  name resolution and every semantic check of idl/mcidl.md
 *            (with check_names.c: names, maps, module headers; and
 *            check_graph.c: the checks over the whole graph)
 *   dump.c   the resolved AST as stable text (--dump; used by the tests)
 *   emit.c   C code generation, the driver (its parts: emit.h)
 *   main.c   options, stages, the depfile, the exit status
 */
#ifndef MCIDL_MCIDL_H
#define MCIDL_MCIDL_H

#include <stdbool.h>
#include <stdio.h>

#include "ast.h"

#define MCIDL_VERSION "0.1.0"
/* The generated-code contract the emitter writes for: MC_ABI_VERSION of
 * mcore/version.h, which emit.c checks it against at build time, and which
 * every generated header checks at its users' build time. */
#define MCIDL_ABI_VERSION 1

typedef struct loaded {
    struct loaded *next;
    char *path;                 /* as opened (used in messages) */
    char *real;                 /* realpath: the file's identity */
    char *text;
    size_t len;
    ast_module *module;
    int state;                  /* 1: loading (its imports), 2: done */
} loaded;

typedef struct program {
    const char **incdirs;
    int nincdirs;
    loaded *files;              /* every file read, newest first */
    ast_module *root;
    ast_module *first;          /* load order, dependencies first */
    ast_module **last;
} program;

/** Load `path` and everything it imports; errors go to diag.
 *  @return 0, or -1 when any file could not be read or parsed */
int load_program(program *p, const char *path);
void free_program(program *p);

/** Resolve names and make every check; errors go to diag.
 *  @return the number of errors found */
int check_program(program *p);

/** The strongly connected components of a graph of n nodes whose edges
 *  from node v go to to[off[v]] .. to[off[v + 1] - 1] (Tarjan's algorithm,
 *  with its own stack: no recursion, time linear in the graph).  done()
 *  receives each component's k nodes, every component after those it has
 *  edges to (check.c). */
void scc_walk(size_t n, const size_t *off, const size_t *to,
              void (*done)(const size_t *comp, size_t k, void *ctx),
              void *ctx);

/** A type as text: as written (resolved false), or with every name
 *  resolved to "module.Name" (resolved true).  The caller frees it. */
char *type_to_str(const ast_type *t, bool resolved);

/** Print the resolved program (all modules, dependencies first). */
void dump_program(FILE *out, const program *p);

/** Write NAME.h and NAME.c into dir (see emit.c).
 *  @return 0, or -1 after reporting an error (nothing is left written) */
int emit_program(const program *p, const char *dir, const char *name);

#endif
