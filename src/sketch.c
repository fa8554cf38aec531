/*
 * The quantile sketch (sketch.h): integer bucket arithmetic only, so the
 * same values give the same quantiles on every machine.
 */
#include "tcplens/sketch.h"

#include <stdlib.h>
#include <string.h>

uint32_t tl_sketch_bucket(int64_t v)
{
    if (v < (int64_t)TL_SKETCH_SUB)
        return v < 0 ? 0 : (uint32_t)v;
    if (v > (int64_t)UINT32_MAX)
        return TL_SKETCH_BUCKETS - 1;
    uint32_t u = (uint32_t)v;
    uint32_t k = 31u - (uint32_t)__builtin_clz(u); /* 2^k <= u: k >= 4 */
    uint32_t sub = (u >> (k - TL_SKETCH_SUB_BITS)) & (TL_SKETCH_SUB - 1);
    return (k - TL_SKETCH_SUB_BITS + 1) * TL_SKETCH_SUB + sub;
}

int64_t tl_sketch_mid(uint32_t i)
{
    if (i < TL_SKETCH_SUB)
        return i;
    uint32_t k = i / TL_SKETCH_SUB + TL_SKETCH_SUB_BITS - 1, sub = i % TL_SKETCH_SUB;
    int64_t width = INT64_C(1) << (k - TL_SKETCH_SUB_BITS);
    int64_t lo = (int64_t)(TL_SKETCH_SUB + sub) * width;
    return lo + width / 2;
}

/* Counters for s that reach buckets lo .. hi (inclusive); false when
 * they could not be allocated. */
static bool cover(struct tl_sketch *s, uint32_t lo, uint32_t hi)
{
    if (s->failed)
        return false;
    uint32_t nlo = lo & ~(TL_SKETCH_SUB - 1), nhi = (hi | (TL_SKETCH_SUB - 1)) + 1;
    if (s->b != NULL) {
        if (lo >= s->blo && hi < (uint32_t)s->blo + s->bn)
            return true;
        if (s->blo < nlo)
            nlo = s->blo;
        if ((uint32_t)s->blo + s->bn > nhi)
            nhi = (uint32_t)s->blo + s->bn;
    }
    uint32_t *b = calloc(nhi - nlo, sizeof *b);
    if (b == NULL) {
        s->failed = true;
        return false;
    }
    if (s->b != NULL)
        memcpy(b + (s->blo - nlo), s->b, (size_t)s->bn * sizeof *b);
    free(s->b);
    s->b = b;
    s->blo = (uint16_t)nlo;
    s->bn = (uint16_t)(nhi - nlo);
    return true;
}

static void extremes(struct tl_sketch *s, int64_t min, int64_t max, uint64_t n)
{
    if (s->n == 0 || min < s->min)
        s->min = min;
    if (s->n == 0 || max > s->max)
        s->max = max;
    s->n += n;
}

void tl_sketch_add(struct tl_sketch *s, int64_t v)
{
    if (v < 0)
        v = 0;
    extremes(s, v, v, 1);
    uint32_t i = tl_sketch_bucket(v);
    if (cover(s, i, i))
        s->b[i - s->blo]++;
}

void tl_sketch_merge(struct tl_sketch *dst, const struct tl_sketch *src)
{
    if (src->n == 0)
        return;
    extremes(dst, src->min, src->max, src->n);
    if (src->b == NULL || !cover(dst, src->blo, (uint32_t)src->blo + src->bn - 1)) {
        dst->failed = true;
        return;
    }
    for (uint32_t i = 0; i < src->bn; i++)
        dst->b[src->blo + i - dst->blo] += src->b[i];
}

int64_t tl_sketch_quantile(const struct tl_sketch *s, double q)
{
    if (s->n == 0)
        return 0;
    if (q >= 1.0 || s->b == NULL)
        return s->max; /* without counters, the one exact answer there is */
    double want = q * (double)s->n;
    uint64_t rank = (uint64_t)want; /* rounded up below: ceil() without libm */
    if ((double)rank < want || rank == 0)
        rank++;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < s->bn; i++) {
        seen += s->b[i];
        if (seen >= rank) {
            int64_t v = tl_sketch_mid(s->blo + i);
            return v < s->min ? s->min : v > s->max ? s->max : v;
        }
    }
    return s->max;
}

void tl_sketch_free(struct tl_sketch *s)
{
    free(s->b);
    memset(s, 0, sizeof *s);
}
