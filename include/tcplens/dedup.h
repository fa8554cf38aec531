/*
 * Duplicate frames: the same segment captured twice (a SPAN port that
 * mirrors both directions of a link, `-i any` seeing a packet on both ends
 * of a veth pair or on a bridge and its ports, two capture points merged).
 * A copy is not an event: the state machines and the detectors must not
 * take it for a retransmission.
 *
 * A copy has everything the sender wrote the same: sequence and
 * acknowledgement numbers, flags, window, payload length, timestamps and
 * first SACK block, and the IPv4 identification; the TTL and the checksum
 * may differ (a copy taken after a router, which may clamp a SYN's MSS).
 * It comes within TL_DUP_WINDOW_US of the original, with nothing from the
 * peer in between. A real retransmission differs in the IP ID (Linux counts
 * it per segment) or the timestamp value, and comes later (the smallest
 * retransmission timeout is 200 ms), or after the peer's duplicate ACKs
 * asked for it (a fast retransmission on a short path can follow within
 * microseconds). So a copy interleaved with the peer's segments counts as
 * a retransmission: a copy may be missed, a retransmission is never taken
 * for a copy.
 */
#ifndef TCPLENS_DEDUP_H
#define TCPLENS_DEDUP_H

#include "tcplens/decode.h"
#include "tcplens/types.h"

#define TL_DUP_WINDOW_US 10000 /* 10 ms */
#define TL_DUP_SLOTS 4         /* recent segments remembered per direction */

struct tl_dedup {
    uint64_t sig[2][TL_DUP_SLOTS]; /* 0: empty */
    int64_t ts[2][TL_DUP_SLOTS];
    uint8_t next[2];
};

void tl_dedup_init(struct tl_dedup *d);

/* What a copy has in common with its original, hashed (never 0). */
uint64_t tl_dedup_sig(const struct tl_pkt *p);

/* True when p, sent in direction dir (0 or 1) at ts_us, is a copy of a
 * segment seen in that direction within TL_DUP_WINDOW_US before; otherwise
 * remembers it and returns false. */
bool tl_dedup_seen(struct tl_dedup *d, int dir, const struct tl_pkt *p, int64_t ts_us);

#endif
