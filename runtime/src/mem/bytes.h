/* bytes.h: short byte moves for the copier and the marshaller (internal).
 *
 * Most allocations of a typical graph are strings and small arrays of a
 * few dozen bytes.  For those a call to memcpy or strlen costs more than
 * the move itself, so these are inline: overlapping word moves, and one
 * 16-byte load that both finds a short string's NUL and holds its bytes.
 */
#ifndef MC_MEM_BYTES_H
#define MC_MEM_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* memcpy(d, s, n), without a call when n <= 32. */
static inline void mc__copy_bytes(char *d, const char *s, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else if (n > 16 && n <= 32) {
        uint64_t a[2], b[2];
        memcpy(a, s, 16);
        memcpy(b, s + n - 16, 16);
        memcpy(d, a, 16);
        memcpy(d + n - 16, b, 16);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else if (n < 4) {
        for (size_t i = 0; i < n; i++)
            d[i] = s[i];
    } else {
        memcpy(d, s, n);
    }
}

/* AddressSanitizer: GCC defines __SANITIZE_ADDRESS__, clang answers
 * __has_feature(address_sanitizer) instead. */
#if defined(__SANITIZE_ADDRESS__)
#define MC__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MC__ASAN 1
#endif
#endif

/* Short strings in one SSE2 load (x86-64's baseline).  Not under ASan:
 * the load reads past the NUL (never past the page holding it, as libc's
 * strlen does), which ASan rightly reports, not knowing it is harmless. */
#if defined(__SSE2__) && !defined(MC__ASAN)
#define MC__SHORT_STR 1
#include <emmintrin.h>

/* strlen(s) + 1 if the string ends within 16 bytes of s; then *v holds
 * them, zeroed after the NUL, so that no byte of the caller's memory past
 * the string reaches a copy.  Else 0. */
static inline size_t mc__short_str(const char *s, __m128i *v)
{
    if (((uintptr_t)s & 4095) > 4096 - 16)
        return 0; /* the 16 bytes would cross into the next page */
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
    unsigned m = (unsigned)_mm_movemask_epi8(
        _mm_cmpeq_epi8(x, _mm_setzero_si128()));
    if (!m)
        return 0;
    size_t n = (size_t)__builtin_ctz(m) + 1;
    const __m128i idx = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                      12, 13, 14, 15);
    *v = _mm_and_si128(x, _mm_cmplt_epi8(idx, _mm_set1_epi8((char)n)));
    return n;
}
#else
#define MC__SHORT_STR 0
#endif

#endif
