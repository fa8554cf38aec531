/*
 * Round-trip times as the capture point sees them. The handshake's two
 * legs (SYN to SYN-ACK: the server's side of the capture point; SYN-ACK to
 * ACK: the client's side) come from the tracker's SYN times; data RTT
 * samples, per direction, come from a sampler fed each segment:
 *
 * - a payload segment with new data (past the highest sequence number its
 *   sender has sent) is timed, while fewer than TL_RTT_WINDOW of its
 *   sender's segments wait for their ACK; past that it is not timed (a
 *   later ACK then gives no sample for it), so the state is fixed in size;
 * - a segment that sends again what was sent before is a retransmission:
 *   it is never timed, and the timed segments it overlaps lose their
 *   timing (Karn's rule: its ACK cannot tell which copy it answers);
 * - an ACK from the peer that covers timed segments gives one sample,
 *   from the earliest of them to the ACK, and drops them all; none when
 *   one of them was sent again.
 *
 * Samples are smoothed as RFC 6298's SRTT (the first sample, then
 * 7/8 SRTT + 1/8 R), with their count, minimum and maximum: what tcptrace
 * prints and tshark's tcp.analysis.ack_rtt lists per segment.
 */
#ifndef TCPLENS_RTT_H
#define TCPLENS_RTT_H

#include "tcplens/types.h"

/* Timed segments waiting for their ACK, per direction. */
#define TL_RTT_WINDOW 8

/* A direction's samples (all µs). */
struct tl_rtt_stats {
    uint32_t n; /* samples; the rest is 0 when none */
    int64_t min, srtt, max;
};

struct tl_rtt_seg {
    int64_t ts;   /* when it was sent */
    uint32_t end; /* sequence number after it */
    bool retx;    /* sent again since: no sample (Karn) */
};

/* The timed segments of both directions: a ring each (head, then n after
 * it). Allocated on the first payload segment and freed whenever the
 * connection's state is packed (a second without a packet, or its end):
 * what was timed then gives no sample. */
struct tl_rtt_ring {
    struct tl_rtt_seg w[2][TL_RTT_WINDOW];
    uint8_t head[2], n[2];
};

/* One sender's side: what outlives the ring. */
struct tl_rtt_dir {
    uint32_t snd_max; /* the highest sequence number it has sent past */
    bool started;     /* snd_max is known */
    struct tl_rtt_stats st;
};

/* Both directions, by the sender's role (0 client, 1 server): 72 bytes
 * in the connection's tracker, and the ring (272 bytes) while it is
 * active. */
struct tl_rtt {
    struct tl_rtt_dir d[2];
    struct tl_rtt_ring *ring; /* NULL: nothing timed */
};

/* A segment from role r (not a SYN): seq, payload length, whether it
 * carried a FIN, its ACK flag and number, its time. false when the ring
 * could not be allocated (the segment is then not timed). */
TL_MUST_CHECK bool tl_rtt_segment(struct tl_rtt *t, int r, uint32_t seq, uint32_t len, bool fin,
                                  bool has_ack, uint32_t ack, int64_t ts);

/* Whether a segment of len payload bytes needs tl_rtt_segment(): payload,
 * or timed segments waiting. */
static inline bool tl_rtt_wants(const struct tl_rtt *t, uint32_t len)
{
    return len > 0 || t->ring != NULL;
}

/* Frees the ring (the segments timed so far give no sample). */
void tl_rtt_release(struct tl_rtt *t);

/* What the reports show of a connection's round trips (µs; -1: not seen). */
struct tl_conn_rtt {
    int64_t syn_synack;          /* the last SYN before the first SYN-ACK, to that SYN-ACK */
    int64_t synack_ack;          /* the last SYN-ACK before the handshake ACK, to that ACK */
    struct tl_rtt_stats data[2]; /* by the data's sender: 0 client, 1 server */
};

/* What the service and host tables take from a connection's tracker
 * besides its round trips, by role. */
struct tl_conn_perf {
    struct tl_conn_rtt rtt;
    uint32_t data_segs[2]; /* segments with payload */
    uint32_t retx_segs[2]; /* of them, retransmissions */
    uint32_t rsts[2];      /* RSTs sent */
};

#endif
