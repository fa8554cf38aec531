/* Duplicate frames: a few recent segment signatures per direction. */
#include "tcplens/dedup.h"

#include <string.h>

void tl_dedup_init(struct tl_dedup *d) { memset(d, 0, sizeof *d); }

/* One round of a 64-bit mix (splitmix64's finaliser). */
static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2);
    h ^= h >> 30;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    h ^= h >> 27;
    h *= UINT64_C(0x94d049bb133111eb);
    return h ^ (h >> 31);
}

uint64_t tl_dedup_sig(const struct tl_pkt *p)
{
    /* Two rounds over four words, every field in its own bits: this runs
     * on every segment. Not the checksum: a router that clamps the MSS of
     * a SYN changes it between two capture points. The decoder guarantees
     * an IPv4 header of 20 bytes at least when there is one. */
    uint64_t nums = ((uint64_t)p->seq << 32) | p->ack;
    uint64_t form = ((uint64_t)p->payload_len << 32) | ((uint64_t)p->win << 16) | p->flags;
    uint64_t ts = p->opt.has_ts ? ((uint64_t)p->opt.tsval << 32) | p->opt.tsecr : 0;
    uint64_t id = p->opt.nsack > 0 ? (uint64_t)p->opt.sack[0][0] << 32 : 0;
    if (p->ip4_hdr != NULL && p->ip4_hlen >= 20)
        id |= (uint64_t)1 << 16 | (uint64_t)p->ip4_hdr[4] << 8 | p->ip4_hdr[5];
    uint64_t h = mix(nums, form * UINT64_C(0x9e3779b97f4a7c15));
    return mix(h, ts ^ (id * UINT64_C(0xc2b2ae3d27d4eb4f))) | 1;
}

bool tl_dedup_seen(struct tl_dedup *d, int dir, const struct tl_pkt *p, int64_t ts_us)
{
    uint64_t sig = tl_dedup_sig(p);
    for (int i = 0; i < TL_DUP_SLOTS; i++) {
        int64_t age = ts_us - d->ts[dir][i];
        if (d->sig[dir][i] == sig && age >= 0 && age <= TL_DUP_WINDOW_US)
            return true;
    }
    /* A segment from the peer in between: what comes again after it answers
     * it (a retransmission the peer's duplicate ACK asked for), not a copy. */
    memset(d->sig[!dir], 0, sizeof d->sig[!dir]);
    uint8_t k = d->next[dir];
    d->sig[dir][k] = sig;
    d->ts[dir][k] = ts_us;
    d->next[dir] = (uint8_t)((k + 1) % TL_DUP_SLOTS);
    return false;
}
