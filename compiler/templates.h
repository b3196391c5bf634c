/* compiler/templates.h: the templates of templates/, embedded in mcidl by
 * compiler/embed.sh at build time.  Placeholders: @P@ module prefix, @N@
 * name, @T@ value C type, @TT@ its mc_type, @A@/@R@ process argument and
 * result C types, @AT@/@RT@ their mc_types, @AN@ the argument's name,
 * @CT@ the const pointer form ("const T " or "T *const ").  A value in
 * (idl/mcidl.md 2.8: scalars, enums and strings by value, others by const
 * pointer) is written "@TP@name" and handed to the runtime as
 * "@TA@name" ("&" or ""); @VP@/@VA@ the same for a table's value, @HP@/@HA@
 * for a header. */
#ifndef MCIDL_TEMPLATES_H
#define MCIDL_TEMPLATES_H

extern const char tmpl_sref_h[], tmpl_sref_c[];
extern const char tmpl_process_h[], tmpl_process_c[];
extern const char tmpl_camlbox_h[], tmpl_camlbox_c[];
/* an sref of a value holding sync fields inline: _get_mut */
extern const char tmpl_sref_mut_h[], tmpl_sref_mut_c[];
/* the typed descriptors, early in the header: fields may hold them */
extern const char tmpl_sref_descr_h[], tmpl_camlbox_descr_h[];

/* sarray and smatrix: common parts (arr*: @K@ the kind, @IDXP@/@IDXA@ the
 * index parameters/arguments, @H@/@HT@ the header's C type/mc_type), and
 * each one's own (creation, length or dims) */
extern const char tmpl_arr_descr_h[], tmpl_arr_h[], tmpl_arr_c[];
extern const char tmpl_arr_set_h[], tmpl_arr_set_c[];
extern const char tmpl_arr_get_h[], tmpl_arr_get_c[], tmpl_arr_scalar_h[];
extern const char tmpl_arr_header_h[], tmpl_arr_header_c[];
extern const char tmpl_arr_mut_h[], tmpl_arr_mut_c[];
extern const char tmpl_sarray_h[], tmpl_sarray_c[];
extern const char tmpl_smatrix_h[], tmpl_smatrix_c[];

/* sbuffer, squeue, shashtbl: each one's own, and the descriptor and
 * accessors common to the three (cont_*) */
extern const char tmpl_cont_descr_h[], tmpl_cont_descr_c[];
extern const char tmpl_cont_common_h[];
extern const char tmpl_sbuffer_h[], tmpl_sbuffer_c[];
extern const char tmpl_sbuffer_header_h[], tmpl_sbuffer_header_c[];
extern const char tmpl_squeue_h[], tmpl_squeue_c[];
extern const char tmpl_squeue_header_h[], tmpl_squeue_header_c[];
/* an squeue's _pop/_top, an shashtbl's _find: plain copies of elements
 * (values) without pointers */
extern const char tmpl_squeue_copy_h[], tmpl_squeue_copy_c[];
extern const char tmpl_shashtbl_copy_h[], tmpl_shashtbl_copy_c[];
extern const char tmpl_shashtbl_h[], tmpl_shashtbl_c[];
extern const char tmpl_shashtbl_header_h[], tmpl_shashtbl_header_c[];

#endif
