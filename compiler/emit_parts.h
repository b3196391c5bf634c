/* compiler/emit_parts.h: the entry points of the generator's parts
 * (internal; see emit.h for the layering).  Each writes into e->h or e->c
 * at the point where the caller is.
 */
#ifndef MCIDL_EMIT_PARTS_H
#define MCIDL_EMIT_PARTS_H

#include "emit.h"

/* emit_ctypes.c: the header's C types */
void put_consts_enums(emitter *e);
void put_helper_def(emitter *e, const helper *hp);
void put_record_def(emitter *e, const ast_decl *d);
void put_variant_def(emitter *e, const ast_decl *d);

/* emit_copy.c: copy and trace (d or hp holding pointers or locks), and
 * init_sync (a record holding locks); nothing for other types */
void put_copy_fns(emitter *e, const ast_decl *d);
void put_init_sync(emitter *e, const ast_decl *d);
void put_helper_copy_fns(emitter *e, const helper *hp);

/* emit_marshal.c: marshal and unmarshal (none for types holding locks) */
void put_marshal_fns(emitter *e, const ast_decl *d);
void put_helper_marshal_fns(emitter *e, const helper *hp);

/* emit_keys.c: hash and equal, for types that can be keys.
 * @return 1 if written, 0 if the type cannot be a key */
int put_key_fns(emitter *e, const ast_decl *d);
int put_helper_key_fns(emitter *e, const helper *hp);

/* emit_ptrs.c: write `static const mc_ptr_field NAME_ptrs[]` for values
 * of t, whose C type is ct (a record's or variant's t is its named type; a
 * helper's, the helper's shape, laid out as put_helper_def does).
 * @return the number of entries, or 0 when t has no table (no pointers,
 * sync fields, or a shape the table cannot say: then the type is copied
 * by its functions) */
size_t emit_ptr_table(emitter *e, const ast_type *t, const char *ct,
                      const char *name, int helper);

/* emit_descr.c: ids, and each type's functions and mc_type */
/* Give every record, variant, enum and container of the program its id
 * (res_id) and res_index.  @return how many there are */
size_t compute_ids(const program *p);
void put_decl_type(emitter *e, const ast_decl *d);
void put_helper_type(emitter *e, const helper *hp);

/* emit_wrap.c: wrappers (descr: only a container's descriptor type, which
 * goes before the records, as fields may hold it) */
void put_container(emitter *e, const ast_decl *d, int descr);
void put_process(emitter *e, const ast_decl *d);

#endif
