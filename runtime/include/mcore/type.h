/* mcore/type.h: the contract between generated code and the runtime.
 *
 * Every type that lives in shared memory is described by one constant
 * mc_type.  mcidl generates them; until then tests write them by hand.  The
 * runtime knows user types only through these records: containers, heaps,
 * the collector and the copier are generic over mc_type.
 *
 * Layout rules.  A value is a C struct of `size` bytes.  A pointer field
 * points to the *start* of another allocation made through mc_copy_alloc()
 * (into a heap, a local copy, or a camlbox slot), never into its middle.
 * An allocation holds `count` consecutive elements of one type.  Strings and
 * byte arrays are allocations of the built-in leaf type mc_type_bytes.
 *
 * Function pointers in an mc_type are only compared and called inside one
 * program (every worker is a fork of the master); across programs only the
 * 64-bit `id` counts.
 *
 * Caveats.  An mc_type must outlive every heap, box and copy that uses it
 * (generated ones are static constants).  Its routines are trusted: a copy
 * routine that writes outside dst, or a trace routine that reports a
 * pointer that is not the start of an allocation, corrupts the target.
 * Within one copy, the first error sticks: once a helper below has failed,
 * every later call on the same copier returns that error at once.
 */
#ifndef MCORE_TYPE_H
#define MCORE_TYPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mc_type mc_type;
typedef struct mc_copier mc_copier;
typedef struct mc_tracer mc_tracer;
struct mc_writer;
struct mc_reader;

/** Allocate `count` elements of `t` in the copy's target (zeroed), for a
 *  pointer field of the value being copied.  NULL on failure: the copier
 *  records the error (the copy routine should return MC_ENOMEM; the copy
 *  as a whole fails with the recorded error). */
void *mc_copy_alloc(mc_copier *c, const mc_type *t, size_t count);

/** Copy the reference field `*src_field` (pointing to `count` elements of
 *  t, or NULL) into the target, storing the target's pointer in *dst_field.
 *  Shared and cyclic references stay shared and cyclic: an allocation met
 *  twice is copied once (for mcidl's `&T` and `?&T`).  The copy of the
 *  pointee happens later (the copier keeps a work list), so deep structures
 *  do not use the C stack.
 *  @return 0, or
 *   - MC_EINVAL c, t, src_field or dst_field is NULL, or the target
 *               refuses t (alignment above 16)
 *   - MC_ENOMEM the target (heap, local arena) has no room
 *   - MC_E2BIG  the target is a camlbox slot and the value does not fit
 *   - the copier's earlier error (see the caveats) */
int mc_copy_ptr(mc_copier *c, const mc_type *t, size_t count,
                void *const *src_field, void **dst_field);

/** Like mc_copy_ptr for an *owned* pointer (strings, bytes, dynamic arrays,
 *  optional values: the pointee belongs to this field alone).  It is copied
 *  anew without looking for sharing, which makes copies of large trees of
 *  small records several times faster.  Two owned fields pointing to the
 *  same allocation give two copies.
 *  @return as mc_copy_ptr */
int mc_copy_own(mc_copier *c, const mc_type *t, size_t count,
                void *const *src_field, void **dst_field);

/** Report one pointer field to the collector (NULL is allowed). */
void mc_trace_ptr(mc_tracer *tr, const void *ptr);

/** One pointer of an element, for the runtime's table-driven copy and
 *  trace (mc_type.ptrs).  mcidl emits these tables; a copy then moves an
 *  element's bytes and fixes its pointers in one loop, without a call per
 *  field. */
typedef struct mc_ptr_field {
    uint32_t off;      /**< offset of the pointer (MC_PF_ELEM: the value) */
    uint8_t kind;      /**< MC_PF_* */
    uint8_t when;      /**< MC_PW_*: when the field holds a value */
    uint16_t n;        /**< MC_PF_ELEM: number of consecutive values */
    uint32_t len_off;  /**< MC_PF_ARRAY: offset of the size_t count */
    uint32_t when_off; /**< MC_PW_HAS: offset of the _Bool flag;
                            MC_PW_TAG: offset of the uint32_t tag */
    uint32_t when_tag; /**< MC_PW_TAG: the tag for which it holds a value */
    const mc_type *t;  /**< ARRAY, REF: the pointee's element type;
                            ELEM: the type of the embedded values */
} mc_ptr_field;

enum {
    MC_PF_STR = 1, /**< an owned string (char *) */
    MC_PF_ARRAY,   /**< an owned array: pointer at off, count at len_off */
    MC_PF_REF,     /**< a shared reference to one element of t (NULL ok) */
    MC_PF_ELEM,    /**< n values of t embedded at off (t's table, or its
                        copy and trace functions) */
};

enum {
    MC_PW_ALWAYS = 0,
    MC_PW_HAS, /**< an optional value: its flag is true */
    MC_PW_TAG, /**< a variant's case: its tag is when_tag */
};

struct mc_type {
    const char *name;
    uint64_t id;        /**< hash of the canonical definition */
    size_t size;        /**< sizeof the C struct */
    size_t align;
    /** Deep copy one element: scalar fields by assignment, pointer fields
     *  with mc_copy_ptr.  dst is zeroed and belongs to the target.  NULL
     *  for leaf types (plain bytes are copied with memcpy). */
    int (*copy)(mc_copier *c, void *dst, const void *src);
    /** Report every pointer field of one element with mc_trace_ptr.  NULL
     *  for types without pointers. */
    void (*trace)(mc_tracer *tr, const void *obj);
    /** Initialize synchronization fields of one element in place (NULL if
     *  none).  Called on every element the copier creates in a heap. */
    int (*init_sync)(void *obj);
    /** Write one element's fields (marshal.h).  NULL: the type cannot be
     *  marshalled (mc_type_bytes is handled by the runtime). */
    void (*marshal)(struct mc_writer *w, const void *obj);
    /** Read one element's fields into obj (zeroed).  Returns 0 or the
     *  reader's error. */
    int (*unmarshal)(struct mc_reader *r, void *obj);
    /** Hash and equality of one element, for hash-table keys (NULL if the
     *  type is not a key type). */
    uint64_t (*hash)(const void *obj);
    int (*equal)(const void *a, const void *b);
    /** MC_TYPE_* bits. */
    unsigned flags;
    /** The pointers of one element (NULL: use copy and trace).  With a
     *  table, the runtime copies an element as its bytes and then each
     *  listed pointer, and traces the listed pointers; copy and trace may
     *  then be NULL (mcidl sets them too, for code that calls them).  Not
     *  for types with sync fields.  A table is trusted as a copy routine
     *  is: an entry of unknown kind fails the copy with MC_EINVAL. */
    const mc_ptr_field *ptrs;
    size_t nptrs;
};

/** copy() writes every byte of dst (generated copy code starts with a
 *  struct assignment): the copier then need not zero dst first. */
#define MC_TYPE_COPY_FILLS 1u

/** An element's encoding (marshal.h) is its bytes as they lie in memory on
 *  a little-endian machine: the built-in integer and float types.  Arrays
 *  of them are marshalled with one copy. */
#define MC_TYPE_RAW_LE 2u

/** The leaf type of strings and byte arrays: elements of one byte, no
 *  pointers.  A string is a NUL-terminated allocation of this type. */
extern const mc_type mc_type_bytes;

/** A byte string value (mcidl's `bytes`): len bytes at data (owned). */
typedef struct mc_bytes {
    size_t len;
    uint8_t *data;
} mc_bytes;

/** Built-in element types, for arrays of scalars, strings and byte strings
 *  (mcidl's [i32], [string], [bytes], ...): copy, trace and marshal code
 *  included. */
extern const mc_type mc_type_bool, mc_type_i8, mc_type_i16, mc_type_i32,
    mc_type_i64, mc_type_u8, mc_type_u16, mc_type_u32, mc_type_u64,
    mc_type_f32, mc_type_f64;
extern const mc_type mc_type_str;      /**< one char * (a string) */
extern const mc_type mc_type_bytesval; /**< one mc_bytes */

/** Hashing for generated key code: mix n bytes, a 64-bit value, or a
 *  string (NULL allowed) into h.  Scalars hash and compare by their bytes
 *  (so 0.0 and -0.0 are different keys, and a NaN equals itself). */
uint64_t mc_hash_bytes(uint64_t h, const void *p, size_t n);
uint64_t mc_hash_mix(uint64_t h, uint64_t x);
uint64_t mc_hash_str(uint64_t h, const char *s);
/** Strings equal (1) or not (0); NULL equal only to NULL. */
int mc_str_equal(const char *a, const char *b);
/** The seed generated hash functions start from. */
#define MC_HASH_SEED 0x9e3779b97f4a7c15ull

/** Copy a NUL-terminated string field, owned (helper for generated copy
 *  code).  @return as mc_copy_ptr */
int mc_copy_str(mc_copier *c, char *const *src_field, char **dst_field);

/** Make a process-local deep copy of value (of type t).  *copy receives
 *  the copy's root element; all its allocations live in one arena, freed at
 *  once by mc_local_free(*copy).
 *  @return 0, or
 *   - MC_EINVAL t, value or copy is NULL, or a pointer table entry of an
 *               unknown kind
 *   - MC_ENOMEM no process memory
 *   - an error of a copy routine of t's graph
 *  Nothing is left allocated after an error (*copy unchanged). */
int mc_local_copy(const mc_type *t, const void *value, void **copy);

/** Free a copy made by mc_local_copy (NULL is allowed). */
void mc_local_free(void *copy);

/** The bytes a copy of value (of type t, with all it reaches) takes in a
 *  camlbox slot: mc_camlbox_send takes it into a box whose slot_size is
 *  at least this (else MC_E2BIG).  Each allocation of the copy starts at a
 *  multiple of its type's alignment (at least 8) and takes at least one
 *  byte.  Costs about what a local copy costs (one is made and freed).
 *  @return 0 with *size set, or
 *   - MC_EINVAL NULL argument, a type aligned above 16, or an error of t's
 *               copy routine
 *   - MC_ENOMEM out of memory for the temporary copy
 *   - MC_E2BIG  the size does not fit in a size_t */
int mc_copy_size(const mc_type *t, const void *value, size_t *size);

#ifdef __cplusplus
}
#endif
#endif
