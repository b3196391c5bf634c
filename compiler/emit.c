/* compiler/emit.c: C code generation (STUB).
 *
 * Not written yet; the next slice of issue 4 fills it in.  What it must do,
 * from idl/mcidl.md ("Generated C") and DESIGN.md sections 5, 7, 11:
 *
 *   - write DIR/NAME.h and DIR/NAME.c, each first to a temporary file in
 *     DIR, renamed into place only when both are complete, and removed on
 *     any error, so that nothing is left written on error;
 *   - emit types in an order where every inline part comes first (the
 *     "contains inline" graph that check.c's check_inline_cycles() sorts
 *     is acyclic once the checks pass), with a forward typedef for every
 *     struct so that references (&T) can point anywhere;
 *   - per type: PREFIX_Name, PREFIX_Name_type (mc_type, with the id a hash
 *     of the canonical definition: the --dump text of the type with names
 *     resolved is a good canonical form), copy, trace, init_sync (for
 *     records with res_has_sync), marshal/unmarshal, hash/equal for keys;
 *   - doc comments become C comments: "*" "/" inside a doc must be broken
 *     up (e.g. emit them as // lines), since doc text is arbitrary;
 *   - templates come from templates/, embedded into the binary.
 */
#include "mcidl.h"

#include "diag.h"

int emit_program(const program *p, const char *dir, const char *name)
{
    (void)p;
    (void)dir;
    (void)name;
    diag_fatal("C code generation is not implemented yet; use --dump or "
               "--check");
    return -1;
}
