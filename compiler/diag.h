/* compiler/diag.h: diagnostics.
 *
 * Every message has the form `file:line:col: error: message` (or `note:`),
 * followed by the source line and a caret under the column, as gcc does.
 * Errors are counted; after DIAG_MAX_ERRORS further errors are dropped and
 * diag_too_many() turns true, which makes the lexer stop.  The source text
 * of every file is registered here, so that any stage can quote a line.
 */
#ifndef MCIDL_DIAG_H
#define MCIDL_DIAG_H

#include <stdbool.h>
#include <stddef.h>

#include "ast.h"

#define DIAG_MAX_ERRORS 50

/** Register a file's text (not copied: it must outlive diagnostics) and
 *  return the interned copy of its name, valid until diag_fini(). */
const char *diag_source(const char *file, const char *text, size_t len);

void diag_error(ast_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void diag_note(ast_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** An error that belongs to no place in a file: `mcidl: error: ...`. */
void diag_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int diag_errors(void);
bool diag_too_many(void);
/** Release the source table and reset the error count, so that another
 *  program can be compiled in the same process (tests/idl/fuzz/). */
void diag_fini(void);

#endif
