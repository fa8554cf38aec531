/* Zero-word packing (pack.h). Word by word, so that a 2 KB state packs
 * in a few hundred instructions; bytes are copied with memcpy, so
 * nothing depends on alignment or byte order (a packed copy is never
 * stored beyond one run). */
#include "pack.h"

#include <string.h>

static uint64_t word_at(const uint8_t *p, size_t i)
{
    uint64_t w;
    memcpy(&w, p + 8 * i, sizeof w);
    return w;
}

size_t tl_pack(uint8_t *dst, const void *src, size_t n)
{
    size_t words = n / 8, nmap = (words + 7) / 8;
    const uint8_t *s = src;
    uint8_t *out = dst + nmap;
    for (size_t m = 0; m < nmap; m++) {
        uint8_t bits = 0;
        for (size_t i = 8 * m; i < words && i < 8 * m + 8; i++) {
            uint64_t w = word_at(s, i);
            if (w == 0)
                continue;
            bits |= (uint8_t)(1u << (i % 8));
            memcpy(out, &w, sizeof w);
            out += 8;
        }
        dst[m] = bits;
    }
    return (size_t)(out - dst);
}

size_t tl_unpack(void *dst, size_t n, const uint8_t *src)
{
    size_t words = n / 8, nmap = (words + 7) / 8;
    const uint8_t *in = src + nmap;
    uint8_t *d = dst;
    for (size_t m = 0; m < nmap; m++) {
        size_t first = 8 * m, count = words - first < 8 ? words - first : 8;
        uint8_t bits = src[m];
        if (bits == 0) { /* most of a state is zero: eight words at once */
            memset(d + 8 * first, 0, 8 * count);
            continue;
        }
        for (size_t i = 0; i < count; i++) {
            if (bits & (1u << i)) {
                memcpy(d + 8 * (first + i), in, 8);
                in += 8;
            } else {
                memset(d + 8 * (first + i), 0, 8);
            }
        }
    }
    return (size_t)(in - src);
}
