/* Lookahead (include/tcplens/lookahead.h): a ring of frame copies, each
 * with its decoding and its connection's lookup, three prefetch stages
 * along the way. */
#include "tcplens/lookahead.h"

#include <stdlib.h>
#include <string.h>

#include "tcplens/decode.h"

/* Frames held: the engine takes a frame DEPTH frames after it came in.
 * Each stage needs what the one before fetched (the bucket's pointer,
 * then the connection's), so they follow each other; the engine's work
 * on one frame (about 1.5 µs on churn) covers a fetch from memory (about
 * 0.1 µs) many times, and two frames apart leave room for the frames
 * the engine gets through faster. */
#define RING 8u
#define DEPTH 7u
#define AT_CONN 2u  /* frames after arrival: the bucket's first connection */
#define AT_STATE 4u /* its state */

struct held {
    struct tl_frame f;
    struct tl_pkt p; /* points into data */
    enum tl_dec dec;
    struct tl_lookup lookup; /* when dec is TL_DEC_OK */
    uint8_t *data;           /* the copy, cap bytes */
    uint32_t cap;
};

struct tl_lookahead {
    struct tl_engine *e;
    struct held ring[RING];
    uint64_t in, out; /* frames taken in and given to the engine */
};

struct tl_lookahead *tl_lookahead_new(struct tl_engine *e)
{
    struct tl_lookahead *a = calloc(1, sizeof *a);
    if (a != NULL)
        a->e = e;
    return a;
}

void tl_lookahead_free(struct tl_lookahead *a)
{
    if (a == NULL)
        return;
    for (unsigned i = 0; i < RING; i++)
        free(a->ring[i].data);
    free(a);
}

static struct held *at(struct tl_lookahead *a, uint64_t n) { return &a->ring[n % RING]; }

/* Copies f into h, decodes it and starts fetching its bucket. */
static bool take(struct tl_lookahead *a, struct held *h, const struct tl_frame *f)
{
    if (h->cap < f->caplen) {
        uint8_t *d = malloc(f->caplen);
        if (d == NULL)
            return false;
        free(h->data);
        h->data = d;
        h->cap = f->caplen;
    }
    if (f->caplen > 0)
        memcpy(h->data, f->data, f->caplen);
    h->f = *f;
    h->f.data = h->data;
    h->dec = tl_engine_decode(a->e, &h->f, &h->p);
    if (h->dec == TL_DEC_OK)
        tl_engine_prefetch_key(a->e, &h->p, &h->lookup);
    return true;
}

static void stage(struct tl_lookahead *a, uint64_t n, bool state)
{
    const struct held *h = at(a, n);
    if (h->dec != TL_DEC_OK)
        return;
    if (state)
        tl_engine_prefetch_state(a->e, h->lookup.hash);
    else
        tl_engine_prefetch_conn(a->e, h->lookup.hash);
}

static enum tl_status give(struct tl_lookahead *a)
{
    struct held *h = at(a, a->out++);
    return tl_engine_feed_decoded(a->e, &h->f, &h->p, h->dec,
                                  h->dec == TL_DEC_OK ? &h->lookup : NULL);
}

enum tl_status tl_lookahead_feed(struct tl_lookahead *a, const struct tl_frame *f, bool *fed)
{
    *fed = false;
    /* The slot taken is the one given to the engine DEPTH frames ago, or
     * one never used: with RING > DEPTH, never a frame still held. Without
     * room for the copy, the frames held before it still reach the engine,
     * as they would have without the lookahead. */
    if (!take(a, at(a, a->in), f)) {
        enum tl_status ds = tl_lookahead_drain(a);
        return ds != TL_OK ? ds : TL_ENOMEM;
    }
    uint64_t n = a->in++;
    if (n >= AT_CONN)
        stage(a, n - AT_CONN, false);
    if (n >= AT_STATE)
        stage(a, n - AT_STATE, true);
    if (a->in - a->out <= DEPTH)
        return TL_OK;
    *fed = true;
    return give(a);
}

enum tl_status tl_lookahead_drain(struct tl_lookahead *a)
{
    enum tl_status st = TL_OK;
    while (st == TL_OK && a->out < a->in)
        st = give(a);
    return st;
}
