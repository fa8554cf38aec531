/*
 * The data RTT sampler (rtt.h): a ring of at most TL_RTT_WINDOW timed
 * segments per direction, O(TL_RTT_WINDOW) at worst per segment.
 */
#include "tcplens/rtt.h"

#include <stdlib.h>
#include <string.h>

#include "tcplens/seq.h"

static struct tl_rtt_seg *at(struct tl_rtt_ring *g, int r, unsigned i)
{
    return &g->w[r][(g->head[r] + i) % TL_RTT_WINDOW];
}

static void sample(struct tl_rtt_stats *st, int64_t v)
{
    if (st->n == 0) {
        st->min = st->max = st->srtt = v;
    } else {
        if (v < st->min)
            st->min = v;
        if (v > st->max)
            st->max = v;
        st->srtt += (v - st->srtt) / 8; /* RFC 6298: 7/8 SRTT + 1/8 R */
    }
    st->n++;
}

/* A segment of len bytes at seq (and a FIN after them when fin) from role
 * r; only payload is timed, and only while the ring (g, maybe NULL) has
 * room. */
static void sent(struct tl_rtt *t, int r, uint32_t seq, uint32_t len, bool fin, int64_t ts)
{
    struct tl_rtt_dir *d = &t->d[r];
    struct tl_rtt_ring *g = t->ring;
    uint32_t end = seq + len;
    if (!d->started) {
        d->started = true;
        d->snd_max = seq;
    }
    if (tl_seq_lt(seq, d->snd_max)) {
        /* Sent before (in part at least): the copies it overlaps are
         * ambiguous now. */
        for (unsigned i = 0; g != NULL && i < g->n[r]; i++)
            if (tl_seq_gt(at(g, r, i)->end, seq))
                at(g, r, i)->retx = true;
    } else if (len > 0 && g != NULL && g->n[r] < TL_RTT_WINDOW) {
        *at(g, r, g->n[r]) = (struct tl_rtt_seg){.ts = ts, .end = end, .retx = false};
        g->n[r]++;
    }
    if (tl_seq_gt(end + fin, d->snd_max))
        d->snd_max = end + fin;
}

/* An ACK of role r's data: one sample from the earliest timed segment it
 * covers. */
static void acked(struct tl_rtt *t, int r, uint32_t ack, int64_t ts)
{
    struct tl_rtt_ring *g = t->ring;
    if (g == NULL || g->n[r] == 0 || tl_seq_gt(ack, t->d[r].snd_max))
        return; /* nothing timed, or an ACK of what the capture never saw */
    unsigned k = 0;
    bool ambiguous = false;
    int64_t first = at(g, r, 0)->ts;
    while (k < g->n[r] && tl_seq_le(at(g, r, k)->end, ack)) {
        ambiguous = ambiguous || at(g, r, k)->retx;
        k++;
    }
    if (k == 0)
        return;
    g->head[r] = (uint8_t)((g->head[r] + k) % TL_RTT_WINDOW);
    g->n[r] = (uint8_t)(g->n[r] - k);
    if (!ambiguous && ts >= first)
        sample(&t->d[r].st, ts - first);
}

bool tl_rtt_segment(struct tl_rtt *t, int r, uint32_t seq, uint32_t len, bool fin, bool has_ack,
                    uint32_t ack, int64_t ts)
{
    r &= 1;
    bool ok = true;
    if (len > 0 && t->ring == NULL && (ok = (t->ring = malloc(sizeof *t->ring)) != NULL)) {
        /* Entries are written before they are read: only the rings' ends. */
        memset(t->ring->head, 0, sizeof t->ring->head);
        memset(t->ring->n, 0, sizeof t->ring->n);
    }
    if (has_ack)
        acked(t, !r, ack, ts);
    if (len > 0 || fin)
        sent(t, r, seq, len, fin, ts);
    return ok;
}

void tl_rtt_release(struct tl_rtt *t)
{
    free(t->ring);
    t->ring = NULL;
}
