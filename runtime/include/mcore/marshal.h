/* mcore/marshal.h: portable byte encoding of typed values.
 *
 * Used for process arguments and results, and anywhere a value must leave
 * shared memory as bytes.  The encoding is little-endian and fixed-width,
 * framed by an envelope that names the type: a reader refuses bytes of
 * another type (MC_ETYPE) and truncated, trailing or malformed input
 * (MC_EINVAL), never crashing and never allocating more than the input can
 * justify.
 *
 *   envelope  "mcM3" | u64 type id | root element | object bodies
 *   pointer   u8 tag: 0 NULL, 1 new object (u64 count; its body comes
 *             later: bodies are taken from a stack, the object met last
 *             first), 2 earlier object (u64 index; references only)
 *   string    a pointer to a bytes object holding the NUL
 *   at once   the body of a bytes object, or of an array of scalars,
 *             strings or byte strings, follows its pointer at once
 *             (scalars: count * size bytes, as little-endian memory)
 *
 * Bodies are written depth first from an explicit stack, so deep
 * structures use no C stack and little memory; references (&T) keep sharing and cycles, owned pointers do not.
 * Generated code (mcidl) writes each element's fields with the mc_put_* /
 * mc_get_* calls below, in declaration order.
 */
#ifndef MCORE_MARSHAL_H
#define MCORE_MARSHAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "mcore/type.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A writer.  Fields are internal; use the functions. */
typedef struct mc_writer {
    unsigned char *p, *end, *base;
    int err;
    void *priv;  /* queue and map of objects (marshal.c) */
} mc_writer;

/** A reader.  Fields are internal; use the functions. */
typedef struct mc_reader {
    const unsigned char *p, *end;
    int err;
    void *priv;  /* arena, object table, queue (marshal.c) */
} mc_reader;

/** Marshal value (one element of t) into a new malloc()ed buffer: *bytes
 *  (free it) and *len.
 *  @return 0, or (*bytes NULL)
 *   - MC_EINVAL NULL argument, or a type reached without marshal code
 *               (records holding sync fields never travel)
 *   - MC_ENOMEM
 *   - an error of a hand-written marshal function (generated ones have
 *     none) */
int mc_marshal(const mc_type *t, const void *value, void **bytes,
               size_t *len);

/** Like mc_marshal, into a buffer the caller keeps and reuses: *buf (NULL
 *  or malloc()ed, *cap bytes) is grown with realloc as needed and stays
 *  the caller's (free it), also on error.  Reusing it saves the page
 *  faults of fresh memory, which dominate large marshals.
 *  @return 0 (*len: the bytes written), or the codes of mc_marshal (*len
 *          unchanged; *buf and *cap hold the buffer, maybe grown) */
int mc_marshal_buf(const mc_type *t, const void *value, void **buf,
                   size_t *cap, size_t *len);

/** Rebuild a value of type t from bytes.  *value is a local value freed
 *  with mc_local_free.
 *
 *  Hostile input costs memory in proportion to its length: every element
 *  of every object must take input bytes of its own (at least one; a raw
 *  scalar its size; a string its bytes), and the counts of all the
 *  objects together are charged against the input's length before
 *  anything is allocated.  So at most len elements are made in all, each
 *  of its type's C size, whatever the counts claim.  A consequence: an
 *  array whose elements encode to no bytes (records of sync fields only,
 *  which never travel) decodes only if its count, with the other counts,
 *  fits in the input.
 *  @return 0, or (*value unchanged, nothing left allocated)
 *   - MC_EINVAL NULL argument; not mcore bytes, or another version of the
 *               encoding; truncated input or trailing bytes; a bad tag,
 *               bool, string, variant case or back-reference; a reference
 *               to one element (&T, ?&T) of another count; a count that
 *               does not fit in the input, alone or with the others
 *   - MC_ETYPE  bytes of another type (their type id is not t's)
 *   - MC_ENOMEM */
int mc_unmarshal(const mc_type *t, const void *bytes, size_t len,
                 void **value);

/* --- for generated code: one call per field ------------------------- */

void mc__put_slow(mc_writer *w, const void *src, size_t n);

static inline void mc_put_raw(mc_writer *w, const void *src, size_t n)
{
    if ((size_t)(w->end - w->p) >= n) {
        memcpy(w->p, src, n);
        w->p += n;
    } else {
        mc__put_slow(w, src, n);
    }
}

/* x86-64 and aarch64 Linux are little-endian: the bytes go as they are;
 * a big-endian port swaps here. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mcore's marshaller assumes a little-endian host"
#endif

static inline void mc_put_u8(mc_writer *w, uint8_t v) { mc_put_raw(w, &v, 1); }
static inline void mc_put_u16(mc_writer *w, uint16_t v) { mc_put_raw(w, &v, 2); }
static inline void mc_put_u32(mc_writer *w, uint32_t v) { mc_put_raw(w, &v, 4); }
static inline void mc_put_u64(mc_writer *w, uint64_t v) { mc_put_raw(w, &v, 8); }
static inline void mc_put_i8(mc_writer *w, int8_t v) { mc_put_raw(w, &v, 1); }
static inline void mc_put_i16(mc_writer *w, int16_t v) { mc_put_raw(w, &v, 2); }
static inline void mc_put_i32(mc_writer *w, int32_t v) { mc_put_raw(w, &v, 4); }
static inline void mc_put_i64(mc_writer *w, int64_t v) { mc_put_raw(w, &v, 8); }
static inline void mc_put_f32(mc_writer *w, float v) { mc_put_raw(w, &v, 4); }
static inline void mc_put_f64(mc_writer *w, double v) { mc_put_raw(w, &v, 8); }
static inline void mc_put_bool(mc_writer *w, bool v) { mc_put_u8(w, v ? 1 : 0); }

/** An owned pointer to count elements of t (NULL allowed). */
void mc_put_own(mc_writer *w, const mc_type *t, size_t count, const void *p);
/** A reference (shared and cyclic graphs keep their shape). */
void mc_put_ref(mc_writer *w, const mc_type *t, size_t count, const void *p);
/** A NUL-terminated string (owned; NULL allowed). */
void mc_put_str(mc_writer *w, const char *s);

int mc__get_fail(mc_reader *r, size_t n);

static inline int mc_get_raw(mc_reader *r, void *dst, size_t n)
{
    if (r->err || (size_t)(r->end - r->p) < n)
        return mc__get_fail(r, n);
    memcpy(dst, r->p, n);
    r->p += n;
    return 0;
}

static inline int mc_get_u8(mc_reader *r, uint8_t *v) { return mc_get_raw(r, v, 1); }
static inline int mc_get_u16(mc_reader *r, uint16_t *v) { return mc_get_raw(r, v, 2); }
static inline int mc_get_u32(mc_reader *r, uint32_t *v) { return mc_get_raw(r, v, 4); }
static inline int mc_get_u64(mc_reader *r, uint64_t *v) { return mc_get_raw(r, v, 8); }
static inline int mc_get_i8(mc_reader *r, int8_t *v) { return mc_get_raw(r, v, 1); }
static inline int mc_get_i16(mc_reader *r, int16_t *v) { return mc_get_raw(r, v, 2); }
static inline int mc_get_i32(mc_reader *r, int32_t *v) { return mc_get_raw(r, v, 4); }
static inline int mc_get_i64(mc_reader *r, int64_t *v) { return mc_get_raw(r, v, 8); }
static inline int mc_get_f32(mc_reader *r, float *v) { return mc_get_raw(r, v, 4); }
static inline int mc_get_f64(mc_reader *r, double *v) { return mc_get_raw(r, v, 8); }
/* The mc_get_* functions return 0, or the reader's error: set by the
 * first failure (MC_EINVAL truncated or malformed input, MC_ENOMEM) and
 * returned by every later call, so generated code may check once at the
 * end.  After an error the destination is unspecified. */

/** A bool: refuses bytes other than 0 and 1 (MC_EINVAL). */
int mc_get_bool(mc_reader *r, bool *v);

/** Read an owned pointer / a reference written by mc_put_own / mc_put_ref:
 *  *p receives the local object (in the reader's arena), *count its element
 *  count.  count NULL: the field points to exactly one element (mcidl's
 *  `&T`, `?&T`), and a new object of another count, or a reference to an
 *  earlier object of another count, is refused.  The object's body is
 *  filled in later, before mc_unmarshal returns.
 *  @return 0 (*p NULL for a NULL pointer), or the reader's error, set on
 *          the first failure and returned by every later call:
 *   - MC_EINVAL truncated input; a tag other than 0, 1, 2; a reference
 *               to no earlier object of type t (or from mc_get_own); with
 *               count NULL, an object of other than one element; a count
 *               larger than what is left of the input, or than the
 *               input's budget (see mc_unmarshal)
 *   - MC_ENOMEM */
int mc_get_own(mc_reader *r, const mc_type *t, size_t *count, void **p);
int mc_get_ref(mc_reader *r, const mc_type *t, size_t *count, void **p);
/** A string written by mc_put_str (checked to end with its NUL and hold no
 *  other: MC_EINVAL otherwise).  *s NULL for a NULL string. */
int mc_get_str(mc_reader *r, char **s);

/** Refuse the input (for checks in generated code): sets the reader's
 *  error to MC_EINVAL with `what` as the detail, and returns it. */
int mc_reader_fail(mc_reader *r, const char *what);

#ifdef __cplusplus
}
#endif
#endif
