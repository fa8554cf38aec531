/*
 * Both endpoints' TCP states, inferred from the segments between them
 * (docs/state-machine.md). Each segment is classified into events, the
 * events are looked up in a table per endpoint state (RFC 9293 section 3.3.2
 * and Linux's tcp_rcv_state_process), and every state change goes through
 * one choke point that records it in the step result, which the timeline
 * and the detectors read.
 *
 * When a state changes: the sender's when its segment is seen; the
 * receiver's when its own reply shows it took the segment in (its ACK
 * covers the SYN or FIN), or, for a pure ACK it cannot answer, at that ACK.
 */
#ifndef TCPLENS_TCPSTATE_H
#define TCPLENS_TCPSTATE_H

#include "tcplens/decode.h"
#include "tcplens/flow.h"
#include "tcplens/types.h"

/* Endpoint states, named as netstat and the kernel docs name them. */
enum tl_ep_state {
    TL_EP_UNKNOWN = 0,
    TL_EP_LISTEN,
    TL_EP_SYN_SENT,
    TL_EP_SYN_RECV,
    TL_EP_ESTABLISHED,
    TL_EP_FIN_WAIT_1,
    TL_EP_FIN_WAIT_2,
    TL_EP_CLOSE_WAIT,
    TL_EP_CLOSING,
    TL_EP_LAST_ACK,
    TL_EP_TIME_WAIT,
    TL_EP_CLOSED,
    TL_EP_NSTATES
};

const char *tl_ep_state_name(enum tl_ep_state s);

/* What a segment (or the passing of time) meant; the timeline's "event". */
enum tl_evkind {
    TL_K_SYN = 0,
    TL_K_SYN_RETX,
    TL_K_SYNACK,
    TL_K_SYNACK_RETX,
    TL_K_HANDSHAKE_ACK, /* the ACK that completes the handshake */
    TL_K_DATA,
    TL_K_ACK,
    TL_K_RETX, /* payload sent before */
    TL_K_GAP,  /* payload beyond what was seen: segments missing */
    TL_K_KEEPALIVE,
    TL_K_KEEPALIVE_ACK,
    TL_K_ZERO_WINDOW, /* advertises a window of 0 */
    TL_K_ZW_PROBE,    /* probe against a zero window */
    TL_K_WINDOW_OPEN, /* window reopened after 0 */
    TL_K_FIN,
    TL_K_FIN_RETX,
    TL_K_FIN_ACK, /* the ACK of a FIN */
    TL_K_RST,
    TL_K_RST_IGNORED,    /* out of window: the receiver ignores it */
    TL_K_ACK_DROPPED,    /* SYN-ACK again after its ACK: the ACK was dropped */
    TL_K_UNEXPECTED,     /* no rule for this segment in this state */
    TL_K_TIME_WAIT_END,  /* 60 s after TIME_WAIT began */
    TL_K_SYN_TIMEOUT,    /* the client stopped retrying its SYN: it gave up */
    TL_K_REUSED,         /* a new connection took the 4-tuple over */
    TL_K_DUPLICATE,      /* the capture's own copy of a segment just seen */
    TL_K_HS_ACK_DROPPED, /* a handshake ACK the server proved it dropped (revised) */
    TL_K_CHALLENGE_ACK,  /* a bare ACK answering a SYN: RFC 5961's challenge */
    TL_K_CHALLENGE_RST,  /* the SYN_SENT client's RST answering it */
    TL_K_IN_FLIGHT,      /* sent before the RST or final ACK that closed its
                         * sender reached it (they crossed) */
    TL_K_SYNACK_TIMEOUT, /* the server stopped retrying its SYN-ACK: it gave up */
    TL_K_FINAL_ACK_LOST, /* a final ACK its FIN's sender proved it never got (revised) */
    TL_K_FIN_ACK_LOST,   /* an ACK of a FIN_WAIT_1 FIN its sender proved it never got (revised) */
    TL_K_ICMP,           /* an ICMP error about a segment the endpoint sent (tl_tcpstate_icmp) */
    TL_K_ICMP_IGNORED,   /* one quoting what the endpoint does not have in flight */
    TL_K_RETX_TIMEOUT,   /* an endpoint stopped retransmitting unacknowledged data: it gave up */
    TL_K_FW2_REAPED,     /* an orphaned FIN_WAIT_2 endpoint reaped after tcp_fin_timeout */
    TL_K_NKINDS
};

const char *tl_evkind_name(enum tl_evkind k);

/* Linux's longest retransmission timeout (TCP_RTO_MAX). */
#define TL_RTO_MAX_US (120 * TL_USEC_PER_SEC)

/* Linux keeps TIME_WAIT for 60 s (TCP_TIMEWAIT_LEN). */
#define TL_TIME_WAIT_US (60 * TL_USEC_PER_SEC)

/* One endpoint as the wire shows it. Sequence numbers are absolute. */
struct tl_ep {
    /* What every segment reads first: the flags, then the sequence space;
     * the times, set a few times in a connection's life, last. Ordered
     * by size, so that nothing pads. */
    uint8_t state; /* enum tl_ep_state */
    bool seen;     /* sent at least one segment */
    bool syn_sent, fin_sent;
    bool syn_acked;         /* the peer's ACK covered our SYN */
    bool fin_acked;         /* the peer's ACK covered our FIN */
    bool took_syn;          /* our ACK covered the peer's SYN */
    bool took_fin;          /* our ACK covered the peer's FIN */
    bool took_fin_inferred; /* ... assumed by in-order delivery, not yet seen */
    bool has_wscale;
    uint8_t wscale;
    bool acked_any;
    bool unseen_syn;            /* its SYN or SYN-ACK is inferred, not captured */
    bool sent_other;            /* sent a segment that was not an RST */
    uint32_t isn;               /* SYN's sequence number, else the first seen */
    uint32_t snd_nxt;           /* highest sequence number sent, plus one */
    uint32_t fin_seq;           /* sequence number of our FIN */
    uint32_t last_ack;          /* highest ACK we sent (valid when acked_any) */
    uint32_t win;               /* last window we advertised, scaled */
    uint32_t nsyn;              /* SYNs (SYN-ACKs for a server) sent */
    int64_t tw_since;           /* when TIME_WAIT began, µs */
    int64_t syn_last, syn_prev; /* when the last two were sent, µs */
    int64_t closed_rx_ts;       /* when what it received closed it (0: not so) */
    int64_t fin_acked_ts;       /* when the peer's ACK covered our FIN */
    /* Its retransmissions of the same data, the peer silent since: the
     * retransmission timer the give-up is concluded from. */
    uint32_t rtx_seq;
    uint32_t nrtx;
    int64_t rtx_last, rtx_prev; /* when the last two were sent, µs */
    int64_t fw2_since;          /* when it entered FIN_WAIT_2 */
    bool fw2_alive;             /* took the peer's data there: not an orphan */
};

struct tl_tcpstate {
    struct tl_ep ep[2];      /* by enum tl_role */
    bool wscale_ok;          /* both SYNs carried window scale: windows are scaled */
    bool rst_seen;           /* someone sent an RST */
    bool syn_gave_up;        /* the client stopped retrying its SYN */
    bool ack_dropped;        /* the server dropped a handshake ACK (accept queue) */
    bool synack_gave_up;     /* the server stopped retrying its SYN-ACK */
    bool challenged;         /* a SYN was answered by a challenge ACK (RFC 5961) */
    bool icmp_abort;         /* an ICMP error ended the client's connect() */
    bool rtx_gave_up;        /* an endpoint stopped retransmitting: it gave up */
    bool fw2_reaped;         /* an orphaned FIN_WAIT_2 endpoint was reaped */
    uint32_t fin_timeout_ms; /* the hosts' tcp_fin_timeout (0: never reap) */
    uint32_t challenge_ack;  /* its acknowledgement number */
    int64_t rtt_us;          /* SYN to the client's handshake ACK (0: not seen) */
};

/* One state change, as recorded by the choke point. */
struct tl_change {
    uint8_t role;     /* enum tl_role */
    uint8_t from, to; /* enum tl_ep_state */
};

#define TL_MAX_CHANGES 6

/* What one segment did. */
struct tl_step {
    uint8_t kind;   /* enum tl_evkind of the segment itself */
    bool lifecycle; /* worth a timeline line in the default view */
    bool ended;     /* this segment ended the connection */
    uint8_t nchanges;
    struct tl_change changes[TL_MAX_CHANGES];
    uint32_t rel_seq, rel_ack; /* relative to the sender's and receiver's ISN */
    /* A revision: later evidence shows endpoint revise_role never made its
     * last change, from revise_to into revise_from. Its state is revise_to
     * again, and the timeline rewrites that change (tl_timeline_revise). */
    bool revise;
    uint8_t revise_role, revise_from, revise_to;
    uint8_t revise_kind; /* what the entry of the refuted change was, if
                          * that is known now (enum tl_evkind); 0: as it was */
};

void tl_tcpstate_init(struct tl_tcpstate *st);

/* Takes in one segment sent by role r at ts_us; fills *out. */
void tl_tcpstate_update(struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r,
                        int64_t ts_us, struct tl_step *out);

/* What p, sent by role r, is when it is the capture's own copy of a
 * segment just seen (dedup.h): no event, no change; fills *out. */
void tl_tcpstate_duplicate(const struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r,
                           struct tl_step *out);

/* Lets time pass to now_us (the packet clock): TIME_WAIT ends after 60 s.
 * With final (nothing more of this connection will be seen: the capture
 * ended there, or a new connection took its 4-tuple), give-ups too: a
 * client whose SYN retries, or a server whose SYN-ACK retries, stopped
 * although the capture went on past the next retry's latest due time
 * (docs/state-machine.md), and an endpoint that retransmitted the same data
 * at least twice, unanswered, and then stopped although the capture went on
 * past its next retransmission's latest due time (retransmissions given up,
 * tcp_retries2), and an endpoint in FIN_WAIT_2 for st->fin_timeout_ms that
 * took no data there (an orphan, reaped). A give-up is never concluded before: any later packet of
 * the attempt would refute it. Returns true and fills *out (and
 * *when_us) when a state changed; call it until it returns false. */
bool tl_tcpstate_advance(struct tl_tcpstate *st, int64_t now_us, bool final, struct tl_step *out,
                         int64_t *when_us);

/*
 * An ICMP or ICMPv6 error (p->icmp; p is the segment it quotes, sent by
 * endpoint r) reached r at ts_us, taken as Linux takes it: one quoting a
 * sequence number r does not have in flight is ignored (TL_K_ICMP_IGNORED);
 * in SYN_SENT a destination unreachable, time exceeded or parameter
 * problem ends the connect() (CLOSED); a server's pending request whose
 * SYN-ACK it quotes is dropped for the errors tcp_req_err() aborts on (the
 * listener is back in LISTEN); anything else is a soft error that changes
 * no state (TL_K_ICMP). Fills *out.
 */
void tl_tcpstate_icmp(struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r, int64_t ts_us,
                      struct tl_step *out);

/* Segment p from endpoint r at now_us: an RST from an endpoint whose next
 * retransmission was due before it and never came is its host answering
 * for a socket that is gone: it gave up (tcp_retries2) at that deadline.
 * Returns true and fills *out and *when_us when so. (Any other segment
 * proves nothing: the retransmissions may be missing from the capture.) */
bool tl_tcpstate_gave_up_before(struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r,
                                int64_t now_us, struct tl_step *out, int64_t *when_us);

/* A new connection took the 4-tuple over at ts_us: an endpoint still in
 * TIME_WAIT was consumed by it (Linux reuses a TIME_WAIT socket for a new
 * SYN with a higher sequence number), and endpoint by, which sent the new
 * SYN from the same port, had closed its old socket (a client in SYN_SENT
 * abandoned its attempt, or one that lost its connection starts anew).
 * Returns true and fills *out if a state changed. */
bool tl_tcpstate_reused(struct tl_tcpstate *st, enum tl_role by, int64_t ts_us,
                        struct tl_step *out);

/* True when p, sent by role r, is a challenge ACK (RFC 5961 4) answering
 * this attempt's SYN from an older connection the server still holds, or
 * the client's RST answering that ACK; notes the former. Neither belongs to
 * the attempt (tl_tcpstate_update records them without a state change). */
bool tl_tcpstate_challenge(struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r);

/* True when the peer of endpoint by, whose port opens a new connection,
 * still holds this one synchronized and so may answer the new SYN with a
 * challenge ACK (and end on the RST that answers it). */
bool tl_tcpstate_may_challenge(const struct tl_tcpstate *st, enum tl_role by);

/* True when the endpoints are synchronized (ESTABLISHED to LAST_ACK; one
 * of them may be UNKNOWN, never seen in a one-sided capture) and the
 * connection has not ended: Linux keeps such a connection however long it
 * idles. */
bool tl_tcpstate_synced(const struct tl_tcpstate *st);

/* The latest moment endpoint e's next retransmission of the data it
 * retransmitted twice or more (e->nrtx >= 2) was due: each timeout at most
 * doubles the one before, up to TCP_RTO_MAX, plus 2 % and 10 ms of timer
 * slack. Past it with nothing sent, e gave up (tcp_retries2). */
int64_t tl_tcpstate_rtx_deadline(const struct tl_ep *e);

/* When the later of its endpoints' TIME_WAIT ends, on the capture's
 * clock; 0 when neither is in TIME_WAIT. */
int64_t tl_tcpstate_time_wait_due(const struct tl_tcpstate *st);

/*
 * A connection's sequence spaces, by role: what tells its segments from
 * those of another connection on the same 4-tuple. A tombstone keeps them
 * after the connection is reported (tomb.h).
 */
struct tl_seqspace {
    uint32_t isn[2];     /* SYN's sequence number, else the first seen */
    uint32_t snd_nxt[2]; /* highest sequence number sent, plus one */
    uint8_t seen;        /* bit per role: sent at least one segment */
    uint8_t syn_sent;    /* bit per role */
    bool resets_only;    /* nothing but RSTs was sent */
};

void tl_tcpstate_seqspace(const struct tl_tcpstate *st, struct tl_seqspace *out);

/* tl_tcpstate_continues() on what a tombstone kept. */
bool tl_seqspace_continues(const struct tl_seqspace *s, const struct tl_pkt *p, enum tl_role r);

/* How long after a connection of resets alone another reset still belongs
 * to it: as long as Zeek keeps a reset connection (tcp_reset_delay). */
#define TL_RESET_ALONE_US (5 * TL_USEC_PER_SEC)

/* True when p is a reset coming gap_us after the last segment of a
 * connection that was nothing but resets. No host holds anything for such
 * a connection (a reset leaves no TCB behind and answers none), so the
 * reset is another, lone event on the 4-tuple: a connection of its own. */
bool tl_seqspace_reset_again(const struct tl_seqspace *s, const struct tl_pkt *p, int64_t gap_us);

/* tl_tcpstate_starts_new() on what a tombstone kept; ended says whether
 * the connection had ended. */
bool tl_seqspace_starts_new(const struct tl_seqspace *s, const struct tl_pkt *p, enum tl_role r,
                            bool ended);

/* True when p, sent by role r, continues the connection's sequence spaces
 * (within a megabyte of what its sender sent, or acknowledging near what
 * its peer sent): a keepalive or data after a long silence, not a new
 * connection on the same 4-tuple. */
bool tl_tcpstate_continues(const struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r);

/* At the end of what the capture shows of the connection: an endpoint
 * that only in-order delivery said took the peer's FIN in (crossing FINs,
 * its own ACK of that FIN never seen) is not shown in TIME_WAIT or CLOSING
 * on that alone. Returns true and fills *out with the revision when one is
 * needed; call it until it returns false. */
bool tl_tcpstate_settle(struct tl_tcpstate *st, int64_t ts_us, struct tl_step *out);

/* True once the connection has ended (RST, or both FINs acknowledged). */
bool tl_tcpstate_ended(const struct tl_tcpstate *st);

/*
 * True when segment p, sent by role r, opens a new connection on the same
 * 4-tuple: a SYN after this one ended, or a SYN with a new ISN while this
 * one never got past its handshake.
 */
bool tl_tcpstate_starts_new(const struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r);

/* How the connection ended so far: TL_END_FIN, TL_END_RST, TL_END_TIMEOUT
 * (the client gave up its SYNs), TL_END_ICMP or TL_END_OPEN. */
enum tl_end tl_tcpstate_end(const struct tl_tcpstate *st);

#endif
