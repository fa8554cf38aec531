/* Zero-word packing (pack.h). Eight words to a bitmap byte, unrolled,
 * with no branch on the data: every word is stored, and the cursor moves
 * on only past a non-zero one. Bytes are copied with memcpy, so nothing
 * depends on alignment or byte order (a packed copy is never stored
 * beyond one run). */
#include "pack.h"

#include <string.h>

static uint64_t word_at(const uint8_t *p, size_t i)
{
    uint64_t w;
    memcpy(&w, p + 8 * i, sizeof w);
    return w;
}

/* Stores word i of s at *out, moves *out past it when non-zero, and
 * returns its bit. */
static inline unsigned put(uint8_t **out, const uint8_t *s, size_t i, unsigned bit)
{
    uint64_t w = word_at(s, i);
    unsigned nz = w != 0;
    memcpy(*out, &w, sizeof w);
    *out += 8 * nz;
    return nz << bit;
}

size_t tl_pack(uint8_t *dst, const void *src, size_t n)
{
    size_t words = n / 8, nmap = (words + 7) / 8;
    const uint8_t *s = src;
    uint8_t *out = dst + nmap;
    size_t m = 0;
    for (; 8 * m + 8 <= words; m++) {
        size_t i = 8 * m;
        unsigned bits = put(&out, s, i, 0) | put(&out, s, i + 1, 1) | put(&out, s, i + 2, 2) |
                        put(&out, s, i + 3, 3);
        bits |= put(&out, s, i + 4, 4) | put(&out, s, i + 5, 5) | put(&out, s, i + 6, 6) |
                put(&out, s, i + 7, 7);
        dst[m] = (uint8_t)bits;
    }
    if (m < nmap) { /* the last few words */
        unsigned bits = 0;
        for (size_t i = 8 * m; i < words; i++)
            bits |= put(&out, s, i, (unsigned)(i - 8 * m));
        dst[m] = (uint8_t)bits;
    }
    return (size_t)(out - dst);
}

/* Word i of d from *in when bit is set in bits (moving *in past it), else
 * zero. */
static inline void get(uint8_t *d, size_t i, const uint8_t **in, unsigned bits, unsigned bit)
{
    uint64_t w = 0;
    if (bits & (1u << bit)) {
        memcpy(&w, *in, sizeof w);
        *in += 8;
    }
    memcpy(d + 8 * i, &w, sizeof w);
}

size_t tl_unpack(void *dst, size_t n, const uint8_t *src)
{
    size_t words = n / 8, nmap = (words + 7) / 8;
    const uint8_t *in = src + nmap;
    uint8_t *d = dst;
    for (size_t m = 0; m < nmap; m++) {
        size_t first = 8 * m, count = words - first < 8 ? words - first : 8;
        unsigned bits = src[m];
        if (bits == 0) { /* most of a state is zero: eight words at once */
            memset(d + 8 * first, 0, 8 * count);
        } else if (count == 8) {
            get(d, first, &in, bits, 0);
            get(d, first + 1, &in, bits, 1);
            get(d, first + 2, &in, bits, 2);
            get(d, first + 3, &in, bits, 3);
            get(d, first + 4, &in, bits, 4);
            get(d, first + 5, &in, bits, 5);
            get(d, first + 6, &in, bits, 6);
            get(d, first + 7, &in, bits, 7);
        } else {
            for (size_t i = 0; i < count; i++)
                get(d, first + i, &in, bits, (unsigned)i);
        }
    }
    return (size_t)(in - src);
}
