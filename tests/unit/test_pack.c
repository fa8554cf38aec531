/* Zero-word packing (src/pack.h): what goes in comes out, byte for byte,
 * and only the non-zero words take room. */
#include <stdlib.h>
#include <string.h>

#include "pack.h"
#include "tap.h"

/* A deterministic byte pattern with zero words here and there. */
static void fill(uint8_t *b, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)(x >> 24);
    }
    for (size_t w = 0; w < n / 8; w++)
        if ((w * 7 + seed) % 3 != 0)
            memset(b + 8 * w, 0, 8);
}

static void test_round_trip(struct tap *t)
{
    static const size_t sizes[] = {0, 8, 64, 72, 520, 2216, 4096};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        uint8_t *src = malloc(n + 1), *back = malloc(n + 1);
        uint8_t *packed = malloc(tl_pack_bound(n) + 1);
        fill(src, n, (unsigned)s);
        memset(back, 0xa5, n + 1);
        packed[tl_pack_bound(n)] = 0x5a;
        size_t got = tl_pack(packed, src, n);
        ok(t, got <= tl_pack_bound(n) && packed[tl_pack_bound(n)] == 0x5a,
           "pack stays within its bound");
        size_t nonzero = 0;
        for (size_t w = 0; w < n / 8; w++) {
            uint64_t v;
            memcpy(&v, src + 8 * w, 8);
            nonzero += v != 0;
        }
        is_int(t, (long long)got, (long long)((n / 8 + 7) / 8 + 8 * nonzero),
               "a bit per word, then the non-zero words");
        is_int(t, (long long)tl_unpack(back, n, packed), (long long)got,
               "unpack reads what pack wrote");
        ok(t, memcmp(src, back, n) == 0, "the bytes come back as they were");
        ok(t, back[n] == 0xa5, "nothing is written past the end");
        free(src);
        free(back);
        free(packed);
    }
}

static void test_edges(struct tap *t)
{
    uint64_t all_zero[32] = {0}, all_set[32];
    memset(all_set, 0xff, sizeof all_set);
    uint8_t buf[4 + 8 * 32 + 8];
    is_int(t, (long long)tl_pack(buf, all_zero, sizeof all_zero), 4, "zeros take only the bitmap");
    is_int(t, (long long)tl_pack(buf, all_set, sizeof all_set), 4 + 8 * 32,
           "no zero word: bitmap and every word, the bound");
    uint64_t back[32] = {0};
    tl_unpack(back, sizeof back, buf);
    ok(t, memcmp(back, all_set, sizeof back) == 0, "full words come back");
    /* A stale value in the destination must not survive a zero word. */
    tl_pack(buf, all_zero, sizeof all_zero);
    tl_unpack(back, sizeof back, buf);
    ok(t, memcmp(back, all_zero, sizeof back) == 0, "zero words overwrite what was there");
    /* Unaligned source and destination. */
    uint8_t raw[8 * 5 + 1], out[8 * 5 + 1];
    fill(raw + 1, 40, 9);
    tl_pack(buf, raw + 1, 40);
    tl_unpack(out + 1, 40, buf);
    ok(t, memcmp(raw + 1, out + 1, 40) == 0, "unaligned buffers round-trip");
}

int main(void)
{
    struct tap t = {0, 0};
    test_round_trip(&t);
    test_edges(&t);
    return tap_done(&t);
}
