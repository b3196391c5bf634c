/* tests/idl/use_enums.c: the C types of generated constants,
 * compiled by run.sh against gen/enums.h with -Wsign-compare.
 * A constant is an int when its value fits one, else int64_t, else
 * uint64_t; an enum member has its enum's type. */
#include <stdint.h>

#include "enums.h"

#define IS(x, T) _Generic((x), T: 1, default: 0)

_Static_assert(-1 < ENUMS_BASE, "-1 < a positive constant");
_Static_assert(IS(ENUMS_BASE, int) && IS(ENUMS_NEG, int), "int");
_Static_assert(IS(ENUMS_MAX32, int) && ENUMS_MAX32 == INT32_MAX, "int max");
_Static_assert(IS(ENUMS_MIN32, int) && ENUMS_MIN32 == INT32_MIN, "int min");
_Static_assert(IS(ENUMS_BIG, int64_t) && ENUMS_BIG == 5000000000, "int64");
_Static_assert(IS(ENUMS_MIN64, int64_t) && ENUMS_MIN64 == INT64_MIN, "min");
_Static_assert(IS(ENUMS_MAX64, int64_t) && ENUMS_MAX64 == INT64_MAX, "max");
_Static_assert(IS(ENUMS_HUGE, uint64_t) && ENUMS_HUGE == UINT64_MAX, "u64");
_Static_assert(ENUMS_NEG == -128 && ENUMS_ALIAS < 0, "negative");
_Static_assert(IS(ENUMS_AFTER_P, enums_After) && ENUMS_AFTER_P < 0, "enum");
_Static_assert(ENUMS_SIGNED_LEAST == INT64_MIN, "i64 enum");

int use_enums(const int *v);
int use_enums(const int *v)
{
    int s = 0;
    for (int i = 0; i < ENUMS_BASE; i++)     /* -Wsign-compare: no warning */
        s += v[i];
    for (int i = ENUMS_AFTER_P; i < ENUMS_AFTER_S; i++)
        s += i;
    for (long i = ENUMS_NEG; i < ENUMS_BIG; i += ENUMS_GB)
        s++;
    return s;
}
