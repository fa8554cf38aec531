/*
 * Content gaps (history g/G) the way Zeek's TCP_Reassembler finds them.
 *
 * Zeek reassembles every TCP connection from its first packet
 * (dpd_reassemble_first_packets is on by default). When one side ACKs
 * data the reassembler never got — not captured, or captured only in part
 * — the missing range is "undelivered" and, if both endpoints are cleanly
 * established or closing, counted as a gap (logarithmically, like T/W).
 *
 * Sequence numbers here are relative to the endpoint's start (the SYN is
 * 0, the first data byte 1), as in Zeek. Delivered bytes are not kept: only
 * the delivery point, the trim point (highest ACK), and up to
 * TL_ZEEK_MAX_BLOCKS ranges waiting above a hole.
 */
#include <stdlib.h>
#include <string.h>

#include "zeek_int.h"

/* Zeek's defaults (init-bare.zeek). */
#define MAX_INITIAL_WINDOW 16384             /* tcp_max_initial_window */
#define MAX_ABOVE_HOLE_NO_ACKS 16384         /* tcp_max_above_hole_without_any_acks */
#define EXCESSIVE_NO_ACKS (10 * 1024 * 1024) /* tcp_excessive_data_without_further_acks */

void zk_reasm_init(struct tl_zeek_reasm *r)
{
    memset(r, 0, sizeof *r);
    r->last_reassem = 1;
    r->trim = 1;
}

static bool is_clean(const struct tl_zeek_ep *ep)
{
    return ep->state == TL_ZEEK_ESTABLISHED ||
           (ep->state == TL_ZEEK_CLOSED && ep->prev_state == TL_ZEEK_ESTABLISHED);
}

/* TCP_Reassembler::Gap: only gaps in a cleanly established or closing
 * connection count; elsewhere they come from RSTs or unseen starts. */
static void gap(struct tl_zeek *z, struct tl_zeek_ep *ep, uint64_t len)
{
    if (len > 0 && is_clean(ep) && is_clean(zk_peer(z, ep)))
        zk_scaled_history(z, ep, &ep->gap, 'G');
}

static void drop_block(struct tl_zeek_reasm *r, size_t i)
{
    memmove(&r->b->lo[i], &r->b->lo[i + 1], (r->nblocks - i - 1) * sizeof r->b->lo[0]);
    memmove(&r->b->hi[i], &r->b->hi[i + 1], (r->nblocks - i - 1) * sizeof r->b->hi[0]);
    r->nblocks--;
}

/* Delivers every waiting block the delivery point has reached. */
static void absorb(struct tl_zeek_reasm *r)
{
    while (r->nblocks > 0 && r->b->lo[0] <= r->last_reassem) {
        if (r->b->hi[0] > r->last_reassem)
            r->last_reassem = r->b->hi[0];
        drop_block(r, 0);
    }
}

/* Keeps [lo, hi) above a hole, merged with what overlaps or touches it. */
static void store(struct tl_zeek_reasm *r, uint64_t lo, uint64_t hi)
{
    if (r->b == NULL && (r->b = calloc(1, sizeof *r->b)) == NULL) {
        r->failed = true; /* tl_zeek_failed() tells the engine */
        return;
    }
    size_t i = 0;
    while (i < r->nblocks && r->b->hi[i] < lo)
        i++;
    while (i < r->nblocks && r->b->lo[i] <= hi) {
        lo = r->b->lo[i] < lo ? r->b->lo[i] : lo;
        hi = r->b->hi[i] > hi ? r->b->hi[i] : hi;
        drop_block(r, i);
    }
    if (r->nblocks == TL_ZEEK_MAX_BLOCKS) {
        /* Out of room: fold the new range into its lower neighbour; a hole
         * between them is then forgotten (a bounded approximation). */
        size_t j = i > 0 ? i - 1 : 0;
        r->b->lo[j] = r->b->lo[j] < lo ? r->b->lo[j] : lo;
        r->b->hi[j] = r->b->hi[j] > hi ? r->b->hi[j] : hi;
        return;
    }
    memmove(&r->b->lo[i + 1], &r->b->lo[i], (r->nblocks - i) * sizeof r->b->lo[0]);
    memmove(&r->b->hi[i + 1], &r->b->hi[i], (r->nblocks - i) * sizeof r->b->hi[0]);
    r->b->lo[i] = lo;
    r->b->hi[i] = hi;
    r->nblocks++;
}

/* Bytes the reassembler holds: delivered but not yet acknowledged, plus
 * waiting above holes. */
static uint64_t buffered(const struct tl_zeek_reasm *r)
{
    uint64_t n = r->last_reassem > r->trim ? r->last_reassem - r->trim : 0;
    for (size_t i = 0; i < r->nblocks; i++)
        n += r->b->hi[i] - r->b->lo[i];
    return n;
}

static bool none_acked(const struct tl_zeek_ep *ep)
{
    uint64_t ack = ((uint64_t)ep->ack_wraps << 32) + ep->ack_seq;
    uint64_t start = (uint64_t)ep->start_seq;
    return ack == start || ack == start + 1;
}

/* Reassembler::NewBlock and TCP_Reassembler::BlockInserted. */
static void new_block(struct tl_zeek *z, struct tl_zeek_ep *ep, uint64_t lo, uint64_t hi)
{
    struct tl_zeek_reasm *r = &ep->reasm;
    if (hi <= r->trim)
        return; /* old data */
    if (lo < r->trim)
        lo = r->trim;
    if (lo > r->last_reassem) {
        store(r, lo, hi);
        return;
    }
    if (hi > r->last_reassem) {
        r->last_reassem = hi;
        absorb(r);
    }
    /* Much data and no ACK at all: the peer's ACKs are probably not being
     * seen, so do not hold on to what was delivered. */
    if (none_acked(ep) && zk_size(z, ep) > MAX_INITIAL_WINDOW && r->last_reassem > r->trim)
        r->trim = r->last_reassem;
}

void zk_data_sent(struct tl_zeek *z, struct tl_zeek_ep *ep, uint64_t seq, uint32_t len)
{
    struct tl_zeek_reasm *r = &ep->reasm;
    if (r->skip)
        return;
    uint64_t ack = ((uint64_t)ep->ack_wraps << 32) + ep->ack_seq - (uint64_t)ep->start_seq;
    uint64_t upper = seq + len;
    if (seq < ack) {
        if (upper <= ack)
            return; /* delivered and acknowledged already */
        seq = ack;
    }
    new_block(z, ep, seq, upper);
    /* Zeek gives up reassembling a direction that buffers too much
     * without being acknowledged. */
    uint64_t above_hole = r->nblocks > 0 ? r->b->hi[r->nblocks - 1] - r->last_reassem : 0;
    if ((none_acked(ep) && above_hole > MAX_ABOVE_HOLE_NO_ACKS) ||
        buffered(r) > EXCESSIVE_NO_ACKS) {
        r->nblocks = 0;
        r->skip = true;
    }
}

/* TCP_Reassembler::Undelivered: the range up to `up` was acknowledged but
 * never delivered. Waiting blocks below it are delivered, the holes in
 * between reported as gaps. */
static void undelivered(struct tl_zeek *z, struct tl_zeek_ep *ep, uint64_t up)
{
    struct tl_zeek_reasm *r = &ep->reasm;
    /* A partial connection's faked-up first octet(s) are not a gap. */
    if (up <= 2 && z->is_partial)
        return;
    if (!r->skip) {
        while (r->nblocks > 0 && r->b->lo[0] < up) {
            gap(z, ep, r->b->lo[0] - r->last_reassem);
            r->last_reassem = r->b->lo[0];
            absorb(r);
        }
        if (up > r->last_reassem)
            gap(z, ep, up - r->last_reassem);
    }
    if (up > r->last_reassem)
        r->last_reassem = up;
}

void zk_ack_received(struct tl_zeek *z, struct tl_zeek_ep *ep, uint64_t seq)
{
    struct tl_zeek_reasm *r = &ep->reasm;
    /* The FIN's octet is not data. */
    if (ep->fin_cnt > 0 && seq >= ep->fin_seq)
        seq = ep->fin_seq - 1;
    if (seq <= r->trim)
        return;
    if (seq > r->last_reassem)
        undelivered(z, ep, seq);
    r->trim = seq;
    while (r->nblocks > 0 && r->b->hi[0] <= seq)
        drop_block(r, 0);
}
