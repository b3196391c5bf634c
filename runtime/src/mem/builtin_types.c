/* builtin_types.c: element types of arrays of scalars, strings and byte
 * strings, for generated code (type.h).  Their ids are fixed: they are part
 * of the encoding, not of any user's definition. */
#include <stdbool.h>
#include <string.h>

#include "common.h"
#include "mcore/marshal.h"
#include "mcore/type.h"

/* ------------------------------------------------------------- hashing */

uint64_t mc_hash_mix(uint64_t h, uint64_t x)
{
    /* a multiply-rotate round (as in xxhash's and wyhash's mixers) */
    h ^= x * 0x9fb21c651e98df25ull;
    h = (h << 31) | (h >> 33);
    return h * 0xc2b2ae3d27d4eb4full;
}

uint64_t mc_hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (; n >= 8; n -= 8, b += 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        h = mc_hash_mix(h, w);
    }
    uint64_t w = 0;
    if (n) /* p may be NULL when n is 0 */
        memcpy(&w, b, n);
    return mc_hash_mix(h, w ^ ((uint64_t)n << 56));
}

uint64_t mc_hash_str(uint64_t h, const char *s)
{
    return s ? mc_hash_bytes(h, s, strlen(s)) : mc_hash_mix(h, 0x51ull);
}

int mc_str_equal(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

#define SCALAR(NAME, CT, PUT, GET, ID, FLAGS)                               \
    static void NAME##_marshal(mc_writer *w, const void *obj)              \
    {                                                                      \
        PUT(w, *(const CT *)obj);                                          \
    }                                                                      \
    static int NAME##_unmarshal(mc_reader *r, void *obj)                   \
    {                                                                      \
        return GET(r, (CT *)obj);                                          \
    }                                                                      \
    static uint64_t NAME##_hash(const void *obj)                           \
    {                                                                      \
        return mc_hash_bytes(MC_HASH_SEED, obj, sizeof(CT));               \
    }                                                                      \
    static int NAME##_equal(const void *a, const void *b)                  \
    {                                                                      \
        return memcmp(a, b, sizeof(CT)) == 0;                              \
    }                                                                      \
    const mc_type mc_type_##NAME = {                                       \
        .name = #NAME, .id = ID, .size = sizeof(CT),                       \
        .align = _Alignof(CT), .marshal = NAME##_marshal,                  \
        .unmarshal = NAME##_unmarshal, .hash = NAME##_hash,                \
        .equal = NAME##_equal, .flags = FLAGS,                             \
    };

/* bool is not raw: its reader refuses bytes other than 0 and 1 */
SCALAR(bool, bool, mc_put_bool, mc_get_bool, 0x6d63620000000001ull, 0)
SCALAR(i8, int8_t, mc_put_i8, mc_get_i8, 0x6d63620000000002ull, MC_TYPE_RAW_LE)
SCALAR(i16, int16_t, mc_put_i16, mc_get_i16, 0x6d63620000000003ull, MC_TYPE_RAW_LE)
SCALAR(i32, int32_t, mc_put_i32, mc_get_i32, 0x6d63620000000004ull, MC_TYPE_RAW_LE)
SCALAR(i64, int64_t, mc_put_i64, mc_get_i64, 0x6d63620000000005ull, MC_TYPE_RAW_LE)
SCALAR(u8, uint8_t, mc_put_u8, mc_get_u8, 0x6d63620000000006ull, MC_TYPE_RAW_LE)
SCALAR(u16, uint16_t, mc_put_u16, mc_get_u16, 0x6d63620000000007ull, MC_TYPE_RAW_LE)
SCALAR(u32, uint32_t, mc_put_u32, mc_get_u32, 0x6d63620000000008ull, MC_TYPE_RAW_LE)
SCALAR(u64, uint64_t, mc_put_u64, mc_get_u64, 0x6d63620000000009ull, MC_TYPE_RAW_LE)
SCALAR(f32, float, mc_put_f32, mc_get_f32, 0x6d6362000000000aull, MC_TYPE_RAW_LE)
SCALAR(f64, double, mc_put_f64, mc_get_f64, 0x6d6362000000000bull, MC_TYPE_RAW_LE)

/* one string */
static int str_copy(mc_copier *c, void *dst, const void *src)
{
    return mc_copy_str(c, (char *const *)src, (char **)dst);
}
static void str_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, *(char *const *)obj);
}
static void str_marshal(mc_writer *w, const void *obj)
{
    mc_put_str(w, *(char *const *)obj);
}
static int str_unmarshal(mc_reader *r, void *obj)
{
    return mc_get_str(r, (char **)obj);
}
static uint64_t str_hash(const void *obj)
{
    return mc_hash_str(MC_HASH_SEED, *(char *const *)obj);
}
static int str_equal(const void *a, const void *b)
{
    return mc_str_equal(*(char *const *)a, *(char *const *)b);
}
const mc_type mc_type_str = {
    .name = "string", .id = 0x6d6362000000000cull, .size = sizeof(char *),
    .align = _Alignof(char *), .copy = str_copy, .trace = str_trace,
    .marshal = str_marshal, .unmarshal = str_unmarshal, .hash = str_hash,
    .equal = str_equal, .flags = MC_TYPE_COPY_FILLS,
};

/* one byte string */
static int bytesval_copy(mc_copier *c, void *dst, const void *src)
{
    const mc_bytes *s = src;
    mc_bytes *d = dst;
    d->len = s->len;
    return mc_copy_own(c, &mc_type_bytes, s->len, (void *const *)&s->data,
                       (void **)&d->data);
}
static void bytesval_trace(mc_tracer *tr, const void *obj)
{
    mc_trace_ptr(tr, ((const mc_bytes *)obj)->data);
}
static void bytesval_marshal(mc_writer *w, const void *obj)
{
    const mc_bytes *b = obj;
    mc_put_own(w, &mc_type_bytes, b->len, b->data);
}
static int bytesval_unmarshal(mc_reader *r, void *obj)
{
    mc_bytes *b = obj;
    return mc_get_own(r, &mc_type_bytes, &b->len, (void **)&b->data);
}
static uint64_t bytesval_hash(const void *obj)
{
    const mc_bytes *b = obj;
    return mc_hash_bytes(mc_hash_mix(MC_HASH_SEED, b->len), b->data, b->len);
}
static int bytesval_equal(const void *x, const void *y)
{
    const mc_bytes *a = x, *b = y;
    return a->len == b->len && (a->len == 0 ||
                                memcmp(a->data, b->data, a->len) == 0);
}
const mc_type mc_type_bytesval = {
    .name = "bytes", .id = 0x6d6362000000000dull, .size = sizeof(mc_bytes),
    .align = _Alignof(mc_bytes), .copy = bytesval_copy,
    .trace = bytesval_trace, .marshal = bytesval_marshal,
    .unmarshal = bytesval_unmarshal, .hash = bytesval_hash,
    .equal = bytesval_equal, .flags = MC_TYPE_COPY_FILLS,
};
