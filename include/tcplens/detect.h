/*
 * Detection: while a connection lives, the engine feeds every step to a
 * small tracker (a few counters and packet numbers per side, updated in
 * O(1) per segment); when the connection ends, the detectors of the
 * registry (anomaly.h) read the tracker, the state machines and the
 * timeline, and list the anomalies with their evidence, once per
 * connection. They word nothing: the registry's renderers do, for the
 * reporters that print the texts.
 */
#ifndef TCPLENS_DETECT_H
#define TCPLENS_DETECT_H

#include "tcplens/anomaly.h"
#include "tcplens/decode.h"
#include "tcplens/flow.h"
#include "tcplens/rtt.h"
#include "tcplens/tcpstate.h"
#include "tcplens/timeline.h"
#include "tcplens/types.h"

#define TL_DEFAULT_CLOSE_WAIT_US (5 * TL_USEC_PER_SEC)
#define TL_DEFAULT_FIN_TIMEOUT_US (60 * TL_USEC_PER_SEC) /* tcp_fin_timeout */
#define TL_TRACK_TIMES 16

struct tl_detect_cfg {
    int64_t close_wait_us;  /* --close-wait-threshold */
    int64_t fin_timeout_us; /* FIN_WAIT_2 idle this long: the orphan was reaped */
};

/* One send: when, and which packet. */
struct tl_time {
    int64_t ts;
    uint64_t pkt;
};

/* A short record of repeated sends: how many, and when and which packets
 * the first TL_TRACK_TIMES were. Most lists hold one entry (one SYN, one
 * FIN), so the first lives inline and the rest are allocated on the
 * second; a connection costs 32 bytes per list instead of 264. */
struct tl_times {
    uint32_t n; /* all of them, recorded or not */
    uint8_t k;  /* recorded: first, then more[0 .. k-2] */
    struct tl_time first;
    struct tl_time *more; /* TL_TRACK_TIMES - 1 entries, or NULL */
};

/* Entry i of the list; zeros past what was recorded (k), which happens
 * only when memory ran out. */
static inline struct tl_time tl_times_at(const struct tl_times *tm, uint32_t i)
{
    static const struct tl_time none = {0, 0};
    if (i >= tm->k)
        return none;
    return i == 0 ? tm->first : tm->more[i - 1];
}

static inline int64_t tl_times_ts(const struct tl_times *tm, uint32_t i)
{
    return tl_times_at(tm, i).ts;
}

static inline uint64_t tl_times_pkt(const struct tl_times *tm, uint32_t i)
{
    return tl_times_at(tm, i).pkt;
}

/* When a connection took over a 4-tuple from an earlier one. */
struct tl_reuse {
    bool reused;
    bool prev_time_wait; /* an endpoint of the earlier one was still in TIME_WAIT */
    uint64_t prev_id;
    int64_t gap_us; /* from the earlier one's last segment */
};

/* What one side did that only trouble sets: an RST, a retransmission, a
 * zero window, keepalives, CLOSING, data after the peer's FIN. Allocated
 * on the first of them (tl_track_step); most connections never need it. */
struct tl_track_trouble {
    struct tl_times ka;    /* keepalive probes it sent */
    struct tl_times zwp;   /* zero-window probes it sent */
    struct tl_times stall; /* retransmissions of the same unacknowledged data */
    uint32_t stall_seq;    /* relative sequence number being retransmitted */
    uint32_t retx;         /* retransmitted payload segments */
    uint64_t retx_bytes;
    uint64_t retx_first_pkt;
    int64_t retx_first_ts;
    uint32_t ka_answered;  /* keepalives the peer answered */
    bool ka_pending;       /* a keepalive awaits its answer */
    uint32_t zero_windows; /* times it advertised a zero window */
    uint64_t zw_first_pkt;
    int64_t zw_first_ts;
    int64_t zw_longest_us;       /* longest stretch at zero */
    int64_t zw_since;            /* 0 when the window is open */
    uint32_t data_in_close_wait; /* payload segments sent after taking the peer's FIN */
    uint64_t data_in_close_wait_pkt;
    uint64_t data_in_close_wait_bytes;
    int64_t data_in_close_wait_ts; /* its first payload after taking the peer's FIN */
    uint64_t closing_pkt;          /* it went through CLOSING */
    int64_t closing_ts;            /* when it entered CLOSING */
    uint32_t rsts;                 /* RSTs it sent */
    uint64_t rst_pkt;              /* its first RST */
    int64_t rst_ts;
    uint8_t rst_from;         /* its state when it sent the RST */
    uint8_t rst_peer_state;   /* the peer's state then */
    bool rst_answers_data;    /* the peer's last segment before it carried payload */
    bool rst_ignored;         /* its first RST fell outside the receiver's window */
    bool rst_answers_fin;     /* the peer's segment before it carried a FIN */
    uint64_t rst_answers_pkt; /* the peer's last segment before its first RST */
    uint32_t unexpected;
    uint64_t unexpected_pkt;
    uint8_t unexpected_flags; /* its first unexpected segment's flags (TL_TH_*) */
    uint8_t unexpected_state; /* its state, and the peer's, at that segment */
    uint8_t unexpected_peer_state;
    uint64_t zw_open_pkt;   /* its first window update after a zero window */
    int64_t ka_idle_us;     /* silence (both ways) before its first keepalive */
    int64_t ka_last_ts;     /* its last keepalive */
    uint32_t ka_unanswered; /* keepalives since the peer last sent anything */
    uint32_t dsacks;        /* D-SACKs from the peer: its data arrived twice */
    uint64_t dsack_first_pkt;
    int64_t stall_last_ts; /* the stall's last retransmission (stall.ts keeps 16) */
    uint64_t stall_last_pkt;
    int64_t stall_peer_ts; /* the peer's first segment after the stall began (0: none) */
    uint32_t dup_copies;   /* retransmissions that were the capture's own copies
                                 (not in retx_bytes) */
    /* ICMP errors about its segments (tl_track_icmp): how many it took,
     * how many quoted what it did not have in flight, and the one the
     * detector tells of: the one that ended its attempt, else the first. */
    uint32_t icmps;
    uint32_t icmps_ignored;
    struct tl_icmp icmp;
    uint64_t icmp_pkt;
    int64_t icmp_ts;
    uint64_t icmp_quoted_pkt; /* the segment it quotes (0: not captured) */
    uint32_t icmp_seq;        /* that segment's relative sequence number */
    uint8_t icmp_state;       /* its state when the error came */
    bool icmp_abort;          /* the error ended its attempt */
    bool icmp_from_dest;      /* sent by the segment's destination, not a router */
    int64_t retx_timeout_ts;  /* its retransmissions timed out: it gave up (0: no) */
    /* The last error, to tell the capture's own copy of it. */
    int64_t icmp_last_ts;
    uint32_t icmp_last_seq;
    uint16_t icmp_last_tc; /* type << 8 | code */
};

/* What one side did, as far as the detectors care: what every connection
 * sets, and its trouble record when it has one. */
struct tl_track_side {
    /* First, what every segment reads or writes: one cache line a side. */
    struct tl_track_trouble *trouble; /* NULL until needed: see tl_track_trouble() */
    int64_t last_ts;                  /* its last segment */
    uint64_t last_pkt;                /* its last segment's packet number */
    uint32_t last_seq, last_len;      /* its last segment's sequence number and payload */
    uint32_t data_segs;               /* segments with payload (new or not) */
    bool last_had_data;
    bool last_had_fin;        /* its last segment carried a FIN */
    struct tl_times syn;      /* its SYNs (client) or SYN-ACKs (server) */
    struct tl_times fin;      /* its FIN and FIN retransmissions */
    int64_t first_data_ts;    /* its first payload segment (0: none) */
    int64_t close_wait_since; /* when it entered CLOSE_WAIT (0: never) */
    uint64_t close_wait_pkt;
    int64_t close_wait_until; /* when it left CLOSE_WAIT (0: still there) */
    int64_t fin_wait2_since;
    uint64_t fin_wait2_pkt;
    int64_t fin_wait2_until; /* when it left FIN_WAIT_2 (0: still there) */
    int64_t time_wait_since;
    uint64_t time_wait_pkt;
    uint64_t final_ack_pkt; /* the peer's ACK that took it from LAST_ACK to CLOSED
                               (or CLOSING to TIME_WAIT) */
    int64_t final_ack_ts;
};

/* All zeros: what a side without trouble reads. */
extern const struct tl_track_trouble tl_track_no_trouble;

/* A side's trouble record, or all zeros (never NULL): for reading. */
static inline const struct tl_track_trouble *tl_track_trouble(const struct tl_track_side *s)
{
    return s->trouble != NULL ? s->trouble : &tl_track_no_trouble;
}

struct tl_track {
    struct tl_track_side side[2]; /* by enum tl_role */
    uint64_t hs_ack_pkt;          /* the client's ACK completing the handshake */
    int64_t hs_ack_ts;
    uint64_t synack_after_ack_pkt;
    int64_t syn_timeout_ts; /* when the client gave up its SYNs (0: never) */
    /* When this connection took over a 4-tuple from an earlier one. */
    struct tl_reuse reuse;
    uint32_t synack_after_ack; /* SYN-ACKs seen after the handshake ACK */
    bool midstream;            /* the first segment was not a SYN */
    /* The data RTT sampler (rtt.h): only the reports read it. Its ring of
     * timed segments is allocated on the first payload segment and freed
     * when the state is packed (tl_track_compact()). */
    struct tl_rtt rtt;
};

/* Frees what only an active connection needs (the RTT sampler's ring),
 * before its state is packed. */
void tl_track_compact(struct tl_track *t);

/* The connection's round trips (the handshake's legs from the SYN times,
 * the data samples from the sampler) and segment counts. */
void tl_track_perf(const struct tl_track *t, struct tl_conn_perf *out);

void tl_track_init(struct tl_track *t);

/* An endpoint's last change was refuted (tl_step.revise): what was
 * recorded of the state it never entered goes. */
void tl_track_revise(struct tl_track *t, const struct tl_step *s);

/* Releases what the lists allocated; the tracker is empty afterwards. */
void tl_track_free(struct tl_track *t);

/* Bytes tl_track_copy() puts in its buffer: the trouble records and the
 * lists' entries past the first. */
size_t tl_track_copy_size(const struct tl_track *t);

/* A copy of src, for reading only, whose trouble records and lists live in
 * buf (tl_track_copy_size() bytes, 8-byte aligned) instead of the heap:
 * never tl_track_free() it. */
void tl_track_copy(struct tl_track *dst, const struct tl_track *src, unsigned char *buf);

/* Takes in one step of the state machines. st is the state after it, p the
 * segment (NULL for a timed step), r its sender. TL_ENOMEM when a list of
 * send times could not grow: the step is counted, its time not recorded. */
TL_MUST_CHECK enum tl_status tl_track_step(struct tl_track *t, const struct tl_tcpstate *st,
                                           const struct tl_step *s, const struct tl_pkt *p,
                                           enum tl_role r, uint64_t pkt_no, int64_t ts);

/* True when an ICMP error (p: the quoted segment, sent by r) is the
 * capture's own copy of the last one r got: the same message about the
 * same sequence number within TL_DUP_US. */
bool tl_track_icmp_copy(const struct tl_track *t, const struct tl_pkt *p, enum tl_role r,
                        int64_t ts);

/* Takes in an ICMP error (s: tl_tcpstate_icmp()'s step; p the quoted
 * segment, sent by r; st the states after it) that came in packet pkt_no
 * and quotes packet quoted_pkt (0: unknown). TL_ENOMEM when the trouble
 * record could not be allocated. */
TL_MUST_CHECK enum tl_status tl_track_icmp(struct tl_track *t, const struct tl_tcpstate *st,
                                           const struct tl_step *s, const struct tl_pkt *p,
                                           enum tl_role r, uint64_t pkt_no, int64_t ts,
                                           uint64_t quoted_pkt);

/* Everything a detector reads. now_us is the packet clock when the
 * connection is reported (later than its last segment if it lingered). */
struct tl_detect_ctx {
    const struct tl_conn *conn;
    const struct tl_tcpstate *tcp;
    const struct tl_timeline *timeline;
    const struct tl_track *track;
    const struct tl_detect_cfg *cfg;
    int64_t now_us;
    uint64_t *runs; /* counts tl_detect() calls when not NULL */
};

/* Runs every connection-level detector once, appending to out in the
 * order of tl_detect_order(). Returns TL_ENOMEM when the list could not
 * grow. */
TL_MUST_CHECK enum tl_status tl_detect(const struct tl_detect_ctx *ctx,
                                       struct tl_anomaly_list *out);

/* The connection-level types in the order their detectors run: up to max
 * of them into types; returns how many there are. */
size_t tl_detect_order(enum tl_anomaly_type *types, size_t max);

#endif
