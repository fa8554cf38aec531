/*
 * A quantile sketch of durations (µs): a histogram with log-spaced
 * buckets, as HdrHistogram lays them out with 4 significant bits. Values
 * below 16 µs have a bucket each; from 16 µs up, each power of two is cut
 * into 16 equal buckets, up to 2^32 µs (71 minutes: larger values count in
 * the last bucket, and max keeps them exactly). A quantile is the middle
 * of the bucket that holds the nearest-rank value, clamped to [min, max],
 * so it is within 1/32 (3.125 %) of that value, whatever the data. The
 * counters held are those of the octaves between the smallest and the
 * largest value (16 a power of two: round trips of one service span a few
 * octaves), at most TL_SKETCH_BUCKETS (1,856 bytes); two sketches merge by
 * adding their counters: the merge of two is exactly the sketch of both
 * inputs.
 */
#ifndef TCPLENS_SKETCH_H
#define TCPLENS_SKETCH_H

#include "tcplens/types.h"

#define TL_SKETCH_SUB_BITS 4
#define TL_SKETCH_SUB (1u << TL_SKETCH_SUB_BITS)
/* Buckets 0..15 hold 0..15 µs; octave k (2^k .. 2^(k+1) - 1 µs, k from 4
 * to 31) holds buckets (k - 3) * 16 .. (k - 3) * 16 + 15. */
#define TL_SKETCH_BUCKETS ((32u - TL_SKETCH_SUB_BITS + 1u) * TL_SKETCH_SUB)

struct tl_sketch {
    uint32_t *b;  /* counters of buckets blo .. blo + bn - 1; NULL until the first value */
    uint16_t blo; /* a multiple of TL_SKETCH_SUB */
    uint16_t bn;  /* a multiple of TL_SKETCH_SUB */
    uint64_t n;   /* values added (also those that found no memory) */
    int64_t min, max;
    bool failed; /* the counters could not be allocated: n, min, max only */
};

/* The bucket of v (µs, negative taken as 0). */
uint32_t tl_sketch_bucket(int64_t v);

/* The middle of bucket i (µs). */
int64_t tl_sketch_mid(uint32_t i);

/* The count in bucket i (0 outside what is held). */
static inline uint32_t tl_sketch_count(const struct tl_sketch *s, uint32_t i)
{
    return s->b != NULL && i >= s->blo && i - s->blo < s->bn ? s->b[i - s->blo] : 0;
}

/* Adds one value. Out of memory, counts it in n, min and max only. */
void tl_sketch_add(struct tl_sketch *s, int64_t v);

/* Adds everything in src to dst. */
void tl_sketch_merge(struct tl_sketch *dst, const struct tl_sketch *src);

/* The q-quantile (0 < q <= 1) by nearest rank; 0 when empty. */
int64_t tl_sketch_quantile(const struct tl_sketch *s, double q);

void tl_sketch_free(struct tl_sketch *s);

#endif
