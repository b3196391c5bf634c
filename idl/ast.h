/* idl/ast.h: the abstract syntax tree of one .mcidl file.
 *
 * The parser (parser.y) builds it; the compiler (compiler/) resolves names
 * in place (the `res_*` fields, zero until then), checks it and emits C.
 * Every node carries the location of its first token.  Strings are owned by
 * the node (malloc'd); ast_module_free() releases a whole module.  Lists
 * are singly linked through `next`, in source order.
 */
#ifndef MCIDL_AST_H
#define MCIDL_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** A source location: file name (owned by the source table, see
 *  compiler/diag.h), 1-based line and byte column. */
typedef struct ast_loc {
    const char *file;
    int line;
    int col;
} ast_loc;

/** An integer in [-2^63, 2^64 - 1]: sign and magnitude. */
typedef struct ast_int {
    bool neg;
    uint64_t mag;
} ast_int;

typedef enum ast_scalar {
    AST_BOOL,
    AST_I8, AST_I16, AST_I32, AST_I64,
    AST_U8, AST_U16, AST_U32, AST_U64,
    AST_F32, AST_F64,
} ast_scalar;

typedef enum ast_type_kind {
    AST_T_SCALAR,    /* bool, i8..u64, f32, f64 */
    AST_T_STRING,
    AST_T_BYTES,
    AST_T_NAMED,     /* a name: record, variant or enum (after resolution) */
    AST_T_OPTIONAL,  /* ?T */
    AST_T_REF,       /* &T, non-null */
    AST_T_NREF,      /* ?&T, nullable (the parser folds ?(&T) into this) */
    AST_T_ARRAY,     /* [T] */
    AST_T_FIXED,     /* T[N] */
    AST_T_MUTEX,     /* mutex, mutex(kind) */
    AST_T_SEMAPHORE, /* semaphore, semaphore(N) */
    AST_T_CONDITION, /* condition(field) */
} ast_type_kind;

typedef enum ast_mutex_kind {
    AST_MUTEX_NORMAL,
    AST_MUTEX_ERRORCHECK,
    AST_MUTEX_RECURSIVE,
} ast_mutex_kind;

struct ast_decl;
struct ast_field;
struct ast_module;

/** A value written in the source: an integer literal or the name of a
 *  constant (possibly qualified: "common.MAX"). */
typedef struct ast_value {
    ast_loc loc;
    char *name;          /* NULL for a literal */
    ast_int lit;         /* the literal, when name is NULL */
    /* resolution */
    bool res_ok;
    ast_int res;         /* the value, literal or constant's */
} ast_value;

/** The deepest a type may nest: the parser refuses `i32[2]` with more
 *  suffixes, or `[[...]]`, `??...` deeper than this (the generated names
 *  and code grow with the square of the depth). */
#define AST_MAX_DEPTH 32

/** The largest C size of a type mcidl accepts: 2^31 - 1 bytes.  The
 *  runtime's pointer tables hold 32-bit offsets (mcore/type.h,
 *  mc_ptr_field), and no shared heap or camlbox slot comes near it. */
#define AST_MAX_SIZE 2147483647u
#define AST_TOO_BIG UINT64_MAX

typedef struct ast_type {
    ast_type_kind kind;
    ast_loc loc;
    ast_scalar scalar;          /* AST_T_SCALAR */
    char *name;                 /* AST_T_NAMED, REF, NREF: "T" or "mod.T";
                                   AST_T_CONDITION: the mutex field;
                                   AST_T_MUTEX: the kind word or NULL */
    ast_loc name_loc;
    struct ast_type *elem;      /* OPTIONAL, ARRAY, FIXED */
    ast_value *count;           /* FIXED: N; SEMAPHORE: initial value or NULL */
    int depth;                  /* constructors ([T], ?T, T[N]) around the
                                   innermost type: at most AST_MAX_DEPTH */
    /* resolution */
    struct ast_decl *res_decl;  /* NAMED, REF, NREF */
    struct ast_field *res_field;/* CONDITION: the mutex field */
    ast_mutex_kind res_mutex;   /* MUTEX */
} ast_type;

/** A record field, a variant case (type NULL: no payload), or a process
 *  argument. */
typedef struct ast_field {
    struct ast_field *next;
    ast_loc loc;
    char *name;
    char *doc;                  /* "///" lines joined by '\n', or NULL */
    ast_type *type;
} ast_field;

typedef struct ast_member {     /* enum member */
    struct ast_member *next;
    ast_loc loc;
    char *name;
    char *doc;
    ast_value *value;           /* NULL: previous + 1 (0 for the first) */
    ast_int res;                /* the value after resolution */
} ast_member;

typedef struct ast_attr {       /* (name = value) on containers */
    struct ast_attr *next;
    ast_loc loc;
    char *name;
    ast_type *type;             /* a type, or a named constant (NAMED) */
    ast_value *value;           /* an integer literal; type is then NULL */
} ast_attr;

typedef enum ast_decl_kind {
    AST_D_CONST,
    AST_D_ENUM,
    AST_D_RECORD,
    AST_D_VARIANT,
    AST_D_CONTAINER,
    AST_D_PROCESS,
} ast_decl_kind;

typedef enum ast_container_kind {
    AST_C_SREF,
    AST_C_SARRAY,
    AST_C_SMATRIX,
    AST_C_SBUFFER,
    AST_C_SQUEUE,
    AST_C_SHASHTBL,
    AST_C_CAMLBOX,
} ast_container_kind;

typedef struct ast_decl {
    struct ast_decl *next;
    ast_decl_kind kind;
    ast_loc loc;                /* the keyword */
    char *name;
    ast_loc name_loc;
    char *doc;
    struct ast_module *module;  /* set by the compiler */

    /* AST_D_CONST */
    ast_value *value;
    /* AST_D_ENUM */
    ast_type *base;             /* the underlying type, NULL: u32 */
    ast_member *members;
    /* AST_D_RECORD (fields), AST_D_VARIANT (cases), AST_D_PROCESS (args) */
    ast_field *fields;
    /* AST_D_CONTAINER */
    ast_container_kind ckind;
    ast_type *type;             /* element, hash key, message, process result */
    ast_type *type2;            /* hash table value */
    ast_attr *attrs;

    /* resolution and checks (compiler/) */
    int res_state;              /* resolution state (constants, cycles) */
    unsigned res_mark;          /* visited mark of graph walks */
    int res_index;              /* records, variants (and enums, in emit):
                                   index in the program */
    uint64_t res_id;            /* emit: the type id (emit.c, compute_ids) */
    unsigned res_emit;          /* emit: EMIT_* marks */
    bool res_has_sync;          /* a sync field is reachable inline */
    int res_hashable;           /* emit: 0 not known yet, 1 yes, 2 no */
    int res_has_ptr;            /* emit: the same for "holds a pointer" */
    int res_ptr_entries;        /* emit: its pointer table's entries + 2,
                                   1 no table, 0 not known yet */
    ast_type *res_header;       /* containers: header type (NULL: none) */
    uint64_t res_capacity;      /* sbuffer, squeue: capacity (0: none) */
    uint64_t res_slots;         /* camlbox */
    uint64_t res_slot_size;     /* camlbox */
    uint64_t res_size;          /* records, variants: C size (check.c,
                                   check_sizes); AST_TOO_BIG: over the limit */
    uint64_t res_align;
} ast_decl;

typedef struct ast_import {
    struct ast_import *next;
    ast_loc loc;
    char *path;                 /* as written, between the quotes */
    char *alias;                /* NULL: the module's own name */
    ast_loc alias_loc;
    struct ast_module *res_module;
} ast_import;

typedef struct ast_module {
    char *file;                 /* path as opened */
    char *name;                 /* "geo" or "geo.tiles"; NULL if missing */
    ast_loc loc;
    char *doc;
    ast_import *imports;
    ast_decl *decls;
    /* compiler */
    char *res_prefix;           /* "geo_tiles_" */
    int res_state;
    struct ast_module *res_next;/* load order (dependencies first) */
    void *res_names;            /* check.c: name -> decl (freed by it) */
    void *res_quals;            /* check.c: qualifier -> import */
} ast_module;

/* constructors: all abort-free; they return NULL only on out-of-memory,
 * which the callers treat as fatal (diag_oom). */
char *ast_strdup(const char *s);
char *ast_strndup(const char *s, size_t n);
/** a, b and c concatenated */
char *ast_concat(const char *a, const char *b, const char *c);
ast_type *ast_type_new(ast_type_kind kind, ast_loc loc);
ast_value *ast_value_new(ast_loc loc);
ast_field *ast_field_new(ast_loc loc, char *name, ast_type *type);
ast_member *ast_member_new(ast_loc loc, char *name, ast_value *value);
ast_attr *ast_attr_new(ast_loc loc, char *name);
ast_decl *ast_decl_new(ast_decl_kind kind, ast_loc loc);
ast_import *ast_import_new(ast_loc loc, char *path);
ast_module *ast_module_new(const char *file);

void ast_type_free(ast_type *t);
void ast_value_free(ast_value *v);
void ast_fields_free(ast_field *f);
void ast_members_free(ast_member *m);
void ast_attrs_free(ast_attr *a);
void ast_decls_free(ast_decl *d);
void ast_imports_free(ast_import *i);
void ast_module_free(ast_module *m);

/** Append doc line `line` (without the slashes) to *doc. */
void ast_doc_append(char **doc, const char *line, size_t len);

/** Names, as written in the language. */
const char *ast_scalar_name(ast_scalar s);
const char *ast_container_name(ast_container_kind k);
const char *ast_decl_kind_name(ast_decl_kind k);

#endif
