/* idl/idl.h: the front end's interface: parse one .mcidl file. */
#ifndef MCIDL_IDL_H
#define MCIDL_IDL_H

#include <stddef.h>

#include "ast.h"

/** Parse `text` (`len` bytes, NUL bytes allowed and reported as invalid
 *  characters) as the file `file`, whose name must stay valid as long as
 *  the AST (locations point at it).  Errors are reported through diag.h.
 *  Always returns a module (possibly partial); *syntax_errors receives the
 *  number of lexical and syntax errors found. */
ast_module *idl_parse(const char *file, const char *text, size_t len,
                      int *syntax_errors);

/* ---- shared by lexer.l and parser.y only ---------------------------- */

/** Per-parse state, the scanner's "extra" data. */
typedef struct idl_ctx {
    const char *file;
    ast_module *module;
    int errors;
    int line, col;          /* position of the next byte to scan */
    int cline, ccol;        /* start of an open block comment */
    char last[40];          /* text of the last identifier/number token */
    ast_decl **decl_tail;
    ast_import **import_tail;
} idl_ctx;

#endif
