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

size_t tl_pack_size(const void *src, size_t n)
{
    size_t words = n / 8, size = (words + 7) / 8;
    for (size_t i = 0; i < words; i++)
        size += word_at(src, i) != 0 ? 8 : 0;
    return size;
}

size_t tl_pack(uint8_t *dst, const void *src, size_t n)
{
    size_t words = n / 8, nmap = (words + 7) / 8;
    uint8_t *out = dst + nmap;
    memset(dst, 0, nmap);
    for (size_t i = 0; i < words; i++) {
        uint64_t w = word_at(src, i);
        if (w == 0)
            continue;
        dst[i / 8] |= (uint8_t)(1u << (i % 8));
        memcpy(out, &w, sizeof w);
        out += 8;
    }
    return (size_t)(out - dst);
}

size_t tl_unpack(void *dst, size_t n, const uint8_t *src)
{
    size_t words = n / 8, nmap = (words + 7) / 8;
    const uint8_t *in = src + nmap;
    uint8_t *d = dst;
    for (size_t i = 0; i < words; i++) {
        if (src[i / 8] & (1u << (i % 8))) {
            memcpy(d + 8 * i, in, 8);
            in += 8;
        } else {
            memset(d + 8 * i, 0, 8);
        }
    }
    return (size_t)(in - src);
}
