/*
 * Endpoint state inference. One segment is handled in four steps:
 *
 *   1. classify: what the segment is (new data, retransmission, keepalive,
 *      probe, FIN, …) from its flags and sequence numbers;
 *   2. acknowledgements: what its ACK field proves the sender took in (the
 *      peer's SYN or FIN) and what the peer learns (its SYN or FIN acked);
 *   3. the sender's own event (SYN, SYN-ACK, data/ACK, FIN, RST);
 *   4. an RST's effect on the receiver, if the RST is acceptable.
 *
 * Steps 2 to 4 fire events through the table in tcpstate_table.c; every
 * change goes through set_state(), the one choke point.
 */
#include "tcplens/tcpstate.h"

#include <string.h>

#include "tcplens/icmp.h"
#include "tcplens/seq.h"
#include "tcpstate_int.h"

static const char *const state_names[] = {
    "UNKNOWN",    "LISTEN",     "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT_1",
    "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING",  "LAST_ACK", "TIME_WAIT",   "CLOSED",
};
_Static_assert(sizeof state_names / sizeof state_names[0] == TL_EP_NSTATES,
               "every state has a name");

static const char *const kind_names[] = {
    "syn",
    "syn_retransmit",
    "synack",
    "synack_retransmit",
    "handshake_ack",
    "data",
    "ack",
    "retransmission",
    "gap",
    "keepalive",
    "keepalive_ack",
    "zero_window",
    "zero_window_probe",
    "window_open",
    "fin",
    "fin_retransmit",
    "fin_ack",
    "rst",
    "rst_ignored",
    "ack_dropped",
    "unexpected",
    "time_wait_end",
    "syn_timeout",
    "reused",
    "duplicate",
    "handshake_ack_dropped",
    "challenge_ack",
    "challenge_rst",
    "in_flight",
    "synack_timeout",
    "final_ack_lost",
    "fin_ack_lost",
    "icmp_error",
    "icmp_ignored",
    "retransmission_timeout",
    "fin_wait2_reaped",
};
_Static_assert(sizeof kind_names / sizeof kind_names[0] == TL_K_NKINDS,
               "every event kind has a name");

const char *tl_ep_state_name(enum tl_ep_state s)
{
    return (unsigned)s < TL_EP_NSTATES ? state_names[s] : "UNKNOWN";
}

const char *tl_evkind_name(enum tl_evkind k)
{
    return (unsigned)k < TL_K_NKINDS ? kind_names[k] : "unexpected";
}

/* Everything one step needs. */
struct ctx {
    struct tl_tcpstate *st;
    const struct tl_pkt *p;
    int64_t ts;
    struct tl_step *out;
    int sender; /* role that sent p; -1 for timers */
};

/* The choke point: every state change of every endpoint passes here. */
static void set_state(struct ctx *x, enum tl_role r, enum tl_ep_state to)
{
    struct tl_ep *e = &x->st->ep[r];
    if (e->state == to)
        return;
    if (x->out->nchanges < TL_MAX_CHANGES)
        x->out->changes[x->out->nchanges++] = (struct tl_change){(uint8_t)r, e->state, (uint8_t)to};
    e->state = (uint8_t)to;
    if (to == TL_EP_TIME_WAIT)
        e->tw_since = x->ts;
    if (to == TL_EP_FIN_WAIT_2)
        e->fw2_since = x->ts;
    /* Closed by what it received (an RST, the final ACK): it may have sent
     * more before that reached it. */
    if (to == TL_EP_CLOSED && x->sender >= 0 && x->sender != (int)r)
        e->closed_rx_ts = x->ts;
}

/* A revision: later evidence shows endpoint r never made its last change;
 * it is back in state to, and the engine rewrites its timeline. */
static void revise(struct ctx *x, enum tl_role r, enum tl_ep_state to)
{
    struct tl_ep *e = &x->st->ep[r];
    x->out->revise = true;
    x->out->revise_role = (uint8_t)r;
    x->out->revise_from = e->state;
    x->out->revise_to = (uint8_t)to;
    e->state = (uint8_t)to;
}

/* A SYN-ACK seen again after its ACK (same ISN, nothing sent since): the
 * server never took the ACK in. Linux drops it when the accept queue is
 * full (tcp_abort_on_overflow = 0) and keeps the request in SYN_RECV. */
static bool synack_again(struct ctx *x, enum tl_role r)
{
    struct tl_ep *e = &x->st->ep[r];
    if (x->p->seq != e->isn || e->snd_nxt != e->isn + 1u || !e->syn_acked)
        return false;
    e->syn_acked = false;
    x->st->ack_dropped = true;
    x->out->kind = TL_K_ACK_DROPPED;
    return true;
}

static int64_t round_trip(const struct tl_tcpstate *st);

/*
 * Its FIN again (the same one), more than a round trip after the peer's
 * ACK of it: that ACK never reached it, lost past the capture point, and
 * Linux retransmits the FIN from FIN_WAIT_1 or LAST_ACK until an ACK gets
 * in. Within a round trip the two crossed: a retransmission sent before
 * the ACK arrived proves nothing. A CLOSED endpoint counts only if that
 * ACK closed it (from LAST_ACK), not an RST or a timer.
 */
static bool fin_ack_refuted(struct ctx *x, enum tl_role r)
{
    struct tl_ep *e = &x->st->ep[r];
    if (e->state == TL_EP_CLOSED && (e->closed_rx_ts == 0 || x->st->rst_seen))
        return false;
    if (!e->fin_sent || !e->fin_acked || x->p->seq + x->p->payload_len != e->fin_seq ||
        x->ts - e->fin_acked_ts <= round_trip(x->st))
        return false;
    e->fin_acked = false;
    e->closed_rx_ts = 0;
    return true;
}

static void fire(struct ctx *x, enum tl_role r, enum tl_ev ev);

/*
 * Endpoint r, still in SYN_SENT or LISTEN as far as the capture shows,
 * sends a segment with ACK (not a SYN): the SYN-ACK it sent or received was
 * not captured (asymmetric routing, a one-sided capture, a capture started
 * late). Only a synchronized endpoint sends that, so both have passed the
 * handshake: the server through SYN_RECV (its unseen SYN-ACK), the client's
 * ACK reached it (or the server could not speak), and the client took the
 * SYN-ACK in. RFC 9293 3.10.7.3: SYN_SENT goes to ESTABLISHED on an
 * acceptable SYN-ACK; 3.10.7.4: SYN_RECEIVED on an acceptable ACK.
 */
static bool unseen_synack(struct ctx *x, enum tl_role r)
{
    const struct tl_ep *peer = &x->st->ep[!r];
    if (!(x->p->flags & TL_TH_ACK))
        return false;
    /* A listener's ACK must cover the SYN it answers. */
    if (x->st->ep[r].state == TL_EP_LISTEN && peer->syn_sent && !tl_seq_gt(x->p->ack, peer->isn))
        return false;
    for (int i = 0; i < 2; i++) {
        enum tl_role q = (enum tl_role)i;
        struct tl_ep *e = &x->st->ep[q];
        if (e->state == TL_EP_LISTEN) {
            e->unseen_syn = true;
            set_state(x, q, TL_EP_SYN_RECV);
            set_state(x, q, TL_EP_ESTABLISHED);
        } else if (e->state == TL_EP_SYN_SENT) {
            e->took_syn = true;
            set_state(x, q, TL_EP_ESTABLISHED);
        }
    }
    return x->st->ep[r].state == TL_EP_ESTABLISHED;
}

/* Looks event ev up for endpoint r and acts. */
static void fire(struct ctx *x, enum tl_role r, enum tl_ev ev)
{
    struct tl_trans t = tl_fsm[x->st->ep[r].state][ev];
    switch ((enum tl_act)t.act) {
    case TL_ACT_NONE: return;
    case TL_ACT_MIDSTREAM:
        /* Only ACK traffic proves a synchronized state (docs/design.md section 2). */
        if (!(x->p->flags & TL_TH_ACK))
            break;
        set_state(x, r, t.next);
        return;
    case TL_ACT_GO:
    case TL_ACT_TIME_WAIT: set_state(x, r, t.next); return;
    case TL_ACT_REVERT_SYNRECV:
        /* Not a step back: the server never left SYN_RECV (RFC 9293 has no
         * ESTABLISHED -> SYN_RECV arc). */
        if (synack_again(x, r)) {
            revise(x, r, t.next);
            x->out->revise_kind = TL_K_HS_ACK_DROPPED; /* that ACK never got in */
            return;
        }
        /* The same SYN-ACK after the server sent data: a retransmission
         * the capture saw late (reordered); it changes nothing. */
        if (x->out->kind == TL_K_SYNACK_RETX)
            return;
        break;
    case TL_ACT_UNSEEN_SYNACK:
        if (!unseen_synack(x, r))
            break;
        fire(x, r, ev); /* the segment itself, from the state it proves */
        return;
    case TL_ACT_FIN_AGAIN:
        /* Not a step back: it never left the state before that ACK. */
        if (fin_ack_refuted(x, r)) {
            revise(x, r, t.next);
            x->out->revise_kind = t.next == TL_EP_LAST_ACK ? TL_K_FINAL_ACK_LOST
                                                           : TL_K_FIN_ACK_LOST;
            return;
        }
        if (x->st->ep[r].state != TL_EP_CLOSED)
            return; /* it crossed the ACK: still a plain retransmission */
        break;
    case TL_ACT_UNEXPECTED:
        /* A late copy of the endpoint's own SYN (its ISN) reaching a
         * synchronized connection: an old duplicate, which the receiver
         * answers with an ACK and ignores (RFC 9293 3.10.7.4, RFC 5961). */
        if (x->out->kind == TL_K_SYN_RETX && x->st->ep[r].state >= TL_EP_ESTABLISHED &&
            x->st->ep[r].state <= TL_EP_LAST_ACK)
            return;
        break;
    }
    if (x->out->kind != TL_K_RST_IGNORED)
        x->out->kind = TL_K_UNEXPECTED;
}

/* Endpoint q is about to take in a segment from its peer: by in-order
 * delivery it has taken in the peer's earlier SYN and FIN too, even if its
 * own ACK of them comes later (crossing FINs). */
static void deliver_earlier(struct ctx *x, enum tl_role q)
{
    struct tl_ep *e = &x->st->ep[q], *s = &x->st->ep[!q];
    if (s->syn_sent && !e->took_syn && e->state == TL_EP_SYN_SENT) {
        e->took_syn = true;
        fire(x, q, TL_EV_TOOK_SYN);
    }
    if (s->fin_sent && !e->took_fin) {
        e->took_fin = true;
        e->took_fin_inferred = true;
        fire(x, q, TL_EV_TOOK_FIN);
    }
}

/* Step 2: what the ACK field of a segment from r proves. */
static void on_ack(struct ctx *x, enum tl_role r)
{
    struct tl_ep *me = &x->st->ep[r], *peer = &x->st->ep[!r];
    uint32_t ack = x->p->ack;
    bool syn = (x->p->flags & TL_TH_SYN) != 0;
    if (peer->syn_sent && !me->took_syn && tl_seq_gt(ack, peer->isn)) {
        me->took_syn = true;
        uint8_t before = me->state;
        if (!syn) /* a SYN-ACK is its own event */
            fire(x, r, TL_EV_TOOK_SYN);
        if (before == TL_EP_SYN_SENT && me->state == TL_EP_ESTABLISHED && x->out->kind == TL_K_ACK)
            x->out->kind = TL_K_HANDSHAKE_ACK;
        if (before == TL_EP_SYN_SENT && me->nsyn > 0 && x->st->rtt_us == 0)
            x->st->rtt_us = x->ts - me->syn_last;
    }
    if (peer->fin_sent && me->took_fin_inferred && tl_seq_gt(ack, peer->fin_seq))
        me->took_fin_inferred = false; /* proven now */
    if (peer->fin_sent && !me->took_fin && tl_seq_gt(ack, peer->fin_seq)) {
        me->took_fin = true;
        fire(x, r, TL_EV_TOOK_FIN);
    }
    /* After a proven drop, the client's ACK alone no longer shows the server
     * took it: the server must speak first. */
    if (peer->syn_sent && !peer->syn_acked && tl_seq_gt(ack, peer->isn) &&
        !(x->st->ack_dropped && peer->state == TL_EP_SYN_RECV)) {
        deliver_earlier(x, !r);
        peer->syn_acked = true;
        fire(x, !r, TL_EV_SYN_ACKED);
    }
    if (peer->fin_sent && !peer->fin_acked && tl_seq_gt(ack, peer->fin_seq)) {
        deliver_earlier(x, !r);
        peer->fin_acked = true;
        peer->fin_acked_ts = x->ts;
        fire(x, !r, TL_EV_FIN_ACKED);
        if (x->out->kind == TL_K_ACK)
            x->out->kind = TL_K_FIN_ACK;
    }
}

/* Window in bytes: scaled once both SYNs agreed on scaling (RFC 7323). */
static uint32_t window_of(const struct tl_tcpstate *st, const struct tl_ep *e,
                          const struct tl_pkt *p)
{
    if ((p->flags & TL_TH_SYN) || !st->wscale_ok)
        return p->win;
    return (uint32_t)p->win << (e->wscale > 14 ? 14 : e->wscale);
}

/* Sequence bookkeeping for the sender, after its segment is classified. */
static void track(struct tl_tcpstate *st, const struct tl_pkt *p, struct tl_ep *me)
{
    uint32_t syn = (p->flags & TL_TH_SYN) ? 1u : 0u;
    uint32_t end = p->seq + p->payload_len + syn + ((p->flags & TL_TH_FIN) ? 1u : 0u);
    if (!me->seen) {
        me->seen = true;
        me->isn = p->seq;
        me->snd_nxt = end;
    }
    if (!(p->flags & TL_TH_RST))
        me->sent_other = true;
    if (syn && !me->syn_sent) {
        me->syn_sent = true;
        me->isn = p->seq;
        me->has_wscale = p->opt.has_wscale;
        me->wscale = p->opt.wscale;
        st->wscale_ok = st->ep[0].has_wscale && st->ep[1].has_wscale;
    }
    if (tl_seq_gt(end, me->snd_nxt))
        me->snd_nxt = end;
    if ((p->flags & TL_TH_FIN) && !me->fin_sent) {
        me->fin_sent = true;
        me->fin_seq = p->seq + p->payload_len + syn;
    }
    if ((p->flags & TL_TH_ACK) && (!me->acked_any || tl_seq_gt(p->ack, me->last_ack))) {
        me->last_ack = p->ack;
        me->acked_any = true;
    }
    if (!(p->flags & TL_TH_RST))
        me->win = window_of(st, me, p);
}

/* Step 1 for segments without SYN, FIN or RST. */
static enum tl_evkind classify_seg(const struct tl_ep *me, const struct tl_ep *peer,
                                   const struct tl_pkt *p)
{
    uint32_t len = p->payload_len;
    /* A keepalive (and Linux's zero-window probe) resends the last byte
     * already acknowledged, with 0 or 1 byte of payload. */
    if (me->seen && len <= 1 && p->seq == me->snd_nxt - 1u)
        return peer->seen && peer->win == 0 ? TL_K_ZW_PROBE : TL_K_KEEPALIVE;
    if (len > 0) {
        if (me->seen && tl_seq_le(p->seq + len, me->snd_nxt))
            return TL_K_RETX;
        if (me->seen && tl_seq_gt(p->seq, me->snd_nxt))
            return TL_K_GAP;
        return TL_K_DATA;
    }
    /* Both FINs out: a window of 0 (Windows' ACK from TIME_WAIT) is no
     * reader falling behind. */
    if (p->win == 0 && (!me->seen || me->win != 0) && !(me->fin_sent && peer->fin_sent))
        return TL_K_ZERO_WINDOW;
    if (me->seen && me->win == 0 && p->win != 0)
        return TL_K_WINDOW_OPEN;
    return TL_K_ACK;
}

static enum tl_evkind classify(const struct tl_ep *me, const struct tl_ep *peer,
                               const struct tl_pkt *p)
{
    uint8_t f = p->flags;
    if (f & TL_TH_RST)
        return TL_K_RST;
    if (f & TL_TH_SYN) {
        bool again = me->syn_sent && p->seq == me->isn;
        if (f & TL_TH_ACK)
            return again ? TL_K_SYNACK_RETX : TL_K_SYNACK;
        return again ? TL_K_SYN_RETX : TL_K_SYN;
    }
    if (f & TL_TH_FIN)
        return me->fin_sent && p->seq + p->payload_len == me->fin_seq ? TL_K_FIN_RETX : TL_K_FIN;
    return classify_seg(me, peer, p);
}

/*
 * Is an RST from r acceptable to its receiver? In SYN_SENT it must
 * acknowledge the SYN (RFC 9293 3.10.7.3); otherwise its sequence number
 * must fall in the receiver's window (RFC 5961 3.2; Linux answers one that
 * is in the window but not exact with a challenge ACK, which then shows).
 */
static bool rst_acceptable(const struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r)
{
    const struct tl_ep *s = &st->ep[r], *q = &st->ep[!r];
    if (q->state == TL_EP_SYN_SENT)
        return (p->flags & TL_TH_ACK) && p->ack == q->isn + 1u;
    if (!s->seen || !q->seen)
        return true;
    uint32_t win = q->win > 0 ? q->win : 1;
    /* The receiver's RCV.NXT is what it last acknowledged: when the
     * sender's latest data was lost, the RST starts there, not after it. */
    uint32_t rcv_nxt = q->acked_any ? q->last_ack : s->snd_nxt;
    if (tl_seq_ge(p->seq, rcv_nxt) && tl_seq_lt(p->seq, rcv_nxt + win))
        return true;
    return tl_seq_ge(p->seq, s->snd_nxt) && tl_seq_lt(p->seq, s->snd_nxt + win);
}

static enum tl_ev sender_event(uint8_t f)
{
    if (f & TL_TH_RST)
        return TL_EV_RST;
    if (f & TL_TH_SYN)
        return (f & TL_TH_ACK) ? TL_EV_SYNACK : TL_EV_SYN;
    return (f & TL_TH_FIN) ? TL_EV_FIN : TL_EV_SEG;
}

/*
 * The same SYN again after the RST that answered it: the client never
 * closed. Windows retries a refused connect() with the very SYN it sent
 * (twice, by default), so the RST did not end the attempt; the SYN's
 * sequence number says so. The client is SYN_SENT again, as it always was.
 */
static void retry_after_reset(struct ctx *x, enum tl_role r)
{
    struct tl_tcpstate *st = x->st;
    if (!(st->rst_seen || st->icmp_abort) || st->ep[r].took_syn || st->ep[r].fin_sent)
        return;
    revise(x, r, TL_EP_SYN_SENT);
    st->rst_seen = false;
    /* The same for an ICMP error: the kernel had not taken it (the socket
     * was busy, it only noted a soft error) or the stack ignores them. */
    st->icmp_abort = false;
}

/*
 * The peer's FIN again: its earlier copy, which in-order delivery said q
 * had taken in (deliver_earlier: the peer's later ACK reached q), was lost
 * or never acknowledged. That q took the FIN is no longer known; q is in
 * the state it was in without it (RFC 9293: TIME_WAIT and CLOSING need the
 * peer's FIN; CLOSE_WAIT too).
 */
static void fin_not_taken(struct ctx *x, enum tl_role q)
{
    struct tl_ep *e = &x->st->ep[q];
    e->took_fin_inferred = false;
    enum tl_ep_state to;
    switch ((enum tl_ep_state)e->state) {
    case TL_EP_TIME_WAIT: to = TL_EP_FIN_WAIT_2; break;
    case TL_EP_CLOSING: to = TL_EP_FIN_WAIT_1; break;
    case TL_EP_CLOSE_WAIT: to = TL_EP_ESTABLISHED; break;
    default: return; /* it went on (LAST_ACK): it did take the FIN */
    }
    e->took_fin = false;
    revise(x, q, to);
}

/* Time for a segment to cross the path and its answer to come back, as
 * the handshake showed it (SYN to the client's ACK), at least 10 ms;
 * 200 ms when the handshake was not seen. */
static int64_t round_trip(const struct tl_tcpstate *st)
{
    if (st->rtt_us <= 0)
        return 200000;
    return st->rtt_us > 5000 ? 2 * st->rtt_us : 10000;
}

/*
 * A segment from an endpoint closed by what it received (the peer's RST,
 * or the final ACK), within a round trip of that: it sent the segment
 * before the RST or ACK reached it; the capture point, nearer the peer,
 * saw them cross. Not a segment of a closed endpoint (unexpected).
 */
static bool in_flight(const struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r,
                      int64_t ts)
{
    const struct tl_ep *me = &st->ep[r];
    return me->state == TL_EP_CLOSED && me->closed_rx_ts != 0 &&
           !(p->flags & (TL_TH_RST | TL_TH_SYN)) && ts - me->closed_rx_ts <= round_trip(st);
}

static bool lifecycle_kind(enum tl_evkind k)
{
    return k != TL_K_DATA && k != TL_K_ACK && k != TL_K_KEEPALIVE_ACK;
}

void tl_tcpstate_init(struct tl_tcpstate *st) { memset(st, 0, sizeof *st); }

/* The same data sent again and again, never acknowledged: a running
 * retransmission timer. An ACK past that data, or new data or a FIN from
 * its sender, ends it. */
static void note_retx(struct tl_ep *me, struct tl_ep *peer, const struct tl_pkt *p,
                      enum tl_evkind k, int64_t ts)
{
    if (peer->nrtx > 0 && (p->flags & TL_TH_ACK) && tl_seq_gt(p->ack, peer->rtx_seq))
        peer->nrtx = 0;
    if (k != TL_K_RETX || p->payload_len == 0) {
        if (p->payload_len > 0 || (p->flags & (TL_TH_FIN | TL_TH_SYN | TL_TH_RST)))
            me->nrtx = 0;
        return;
    }
    if (me->nrtx == 0 || p->seq != me->rtx_seq) {
        me->rtx_seq = p->seq;
        me->nrtx = 0;
        me->rtx_last = ts;
    }
    me->nrtx++;
    me->rtx_prev = me->rtx_last;
    me->rtx_last = ts;
}

/* p's sequence and acknowledgement numbers relative to the ISNs. */
static void rel_numbers(const struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r,
                        struct tl_step *out)
{
    const struct tl_ep *me = &st->ep[r], *peer = &st->ep[!r];
    out->rel_seq = p->seq - (me->seen ? me->isn : p->seq);
    out->rel_ack = (p->flags & TL_TH_ACK) && peer->seen ? p->ack - peer->isn : 0;
}

void tl_tcpstate_duplicate(const struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r,
                           struct tl_step *out)
{
    memset(out, 0, sizeof *out);
    out->kind = TL_K_DUPLICATE;
    rel_numbers(st, p, r, out);
}

/*
 * RFC 5961 4: a SYN that reaches a connection the server still holds (the
 * client lost it: rebooted, or its RST never arrived) is answered by a bare
 * ACK of the old connection, a challenge ACK, which does not acknowledge
 * the new SYN. The client in SYN_SENT answers that unacceptable ACK with an
 * RST whose sequence number is the ACK's (RFC 9293 3.10.7.3) and stays in
 * SYN_SENT; the RST ends the server's old connection, then the client's
 * retried SYN finds the listener. Neither segment belongs to this attempt's
 * sequence spaces, nor changes its states.
 */
static bool challenge_ack(const struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r)
{
    const struct tl_ep *me = &st->ep[r], *peer = &st->ep[!r];
    return (p->flags & (TL_TH_SYN | TL_TH_RST | TL_TH_FIN | TL_TH_ACK)) == TL_TH_ACK &&
           p->payload_len == 0 && peer->state == TL_EP_SYN_SENT && peer->syn_sent &&
           !me->syn_sent && p->ack != peer->isn + 1u;
}

static bool challenge_rst(const struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r)
{
    const struct tl_ep *me = &st->ep[r], *peer = &st->ep[!r];
    return (p->flags & TL_TH_RST) && st->challenged && me->state == TL_EP_SYN_SENT &&
           !peer->syn_sent && p->seq == st->challenge_ack;
}

bool tl_tcpstate_challenge(struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r)
{
    if (challenge_ack(st, p, r)) {
        st->challenged = true;
        st->challenge_ack = p->ack;
        return true;
    }
    return challenge_rst(st, p, r);
}

bool tl_tcpstate_may_challenge(const struct tl_tcpstate *st, enum tl_role by)
{
    uint8_t s = st->ep[!by].state;
    return !tl_tcpstate_ended(st) && s >= TL_EP_ESTABLISHED && s <= TL_EP_LAST_ACK;
}

/* Fills *out for a challenge ACK or the RST that answers it; false for any
 * other segment. */
static bool challenge(struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r,
                      struct tl_step *out)
{
    if (!tl_tcpstate_challenge(st, p, r))
        return false;
    out->kind = (p->flags & TL_TH_RST) ? TL_K_CHALLENGE_RST : TL_K_CHALLENGE_ACK;
    out->lifecycle = true;
    out->rel_seq = 0;
    out->rel_ack = 0;
    return true;
}

void tl_tcpstate_update(struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r,
                        int64_t ts_us, struct tl_step *out)
{
    memset(out, 0, sizeof *out);
    if (challenge(st, p, r, out))
        return;
    struct ctx x = {st, p, ts_us, out, (int)r};
    struct tl_ep *me = &st->ep[r], *peer = &st->ep[!r];
    bool was_ended = tl_tcpstate_ended(st);
    bool rst_ok = (p->flags & TL_TH_RST) && rst_acceptable(st, p, r);
    /* Linux re-arms a TIME_WAIT socket's 60 s for every segment with ACK
     * that reaches it, a retransmitted FIN above all (tcp_minisocks.c,
     * inet_twsk_reschedule); an RST ends it, a SYN may take it over. */
    if (peer->state == TL_EP_TIME_WAIT &&
        (p->flags & (TL_TH_ACK | TL_TH_RST | TL_TH_SYN)) == TL_TH_ACK)
        peer->tw_since = ts_us;
    out->kind = (uint8_t)classify(me, peer, p);
    rel_numbers(st, p, r, out);
    if ((p->flags & TL_TH_ACK) && !(p->flags & TL_TH_RST))
        on_ack(&x, r);
    track(st, p, me);
    if ((p->flags & (TL_TH_SYN | TL_TH_RST)) == TL_TH_SYN) {
        me->nsyn++;
        me->syn_prev = me->syn_last;
        me->syn_last = ts_us;
    }
    note_retx(me, peer, p, (enum tl_evkind)out->kind, ts_us);
    /* An orphan answers data with an RST; a socket only shut down for
     * writing takes it: it is alive, and Linux does not reap it. */
    if (p->payload_len > 0 && peer->state == TL_EP_FIN_WAIT_2 && !(p->flags & TL_TH_RST))
        peer->fw2_alive = true;
    if (out->kind == TL_K_SYN_RETX && me->state == TL_EP_CLOSED)
        retry_after_reset(&x, r);
    if (in_flight(st, p, r, ts_us)) {
        out->kind = TL_K_IN_FLIGHT;
        out->lifecycle = true;
        return;
    }
    if (out->kind == TL_K_FIN_RETX && peer->took_fin_inferred)
        fin_not_taken(&x, !r);
    /* A SYN to an endpoint never seen: something must listen there. */
    if ((p->flags & (TL_TH_SYN | TL_TH_ACK | TL_TH_RST)) == TL_TH_SYN && !peer->seen &&
        peer->state == TL_EP_UNKNOWN)
        set_state(&x, !r, TL_EP_LISTEN);
    fire(&x, r, sender_event(p->flags));
    if (p->flags & TL_TH_RST) {
        st->rst_seen = true;
        if (rst_ok)
            fire(&x, !r, TL_EV_GOT_RST);
        else
            out->kind = TL_K_RST_IGNORED;
    }
    out->lifecycle = out->nchanges > 0 || lifecycle_kind((enum tl_evkind)out->kind);
    out->ended = !was_ended && tl_tcpstate_ended(st);
}

/* A lone SYN tells no gap: the longest initial retransmission timeout in
 * use, 3 s (RFC 1122's, still Windows' for SYNs; Linux and RFC 6298 use
 * 1 s), is when its first retry was due at the latest. */
#define LONE_SYN_RTO_US (3 * TL_USEC_PER_SEC)

/*
 * The latest moment endpoint e's next SYN (or SYN-ACK) retry was due. Every
 * stack waits one retransmission timeout, then doubles it or (Linux's first
 * tcp_syn_linear_timeouts retries) keeps it: the next gap is at most twice
 * the last one. A quarter of the gap and 50 ms more absorb timer slack and
 * coarse clocks (Windows' 3 s timer fires after 2.9 s, then 6.0 s). A retry
 * still absent then proves the endpoint stopped trying: it gave up (retries
 * exhausted, or the application closed the socket).
 */
static int64_t retry_deadline(const struct tl_ep *e)
{
    if (e->nsyn < 2 || e->syn_last - e->syn_prev <= 0)
        return e->syn_last + LONE_SYN_RTO_US + LONE_SYN_RTO_US / 4 + 50000;
    int64_t gap = e->syn_last - e->syn_prev;
    return e->syn_last + 2 * gap + gap / 4 + 50000;
}

/* The timer of endpoint r and its kind, if one runs; final: give-ups too. */
/* When e's TIME_WAIT ends (its timer, re-armed by the peer's segments). */
static int64_t tw_due(const struct tl_ep *e) { return e->tw_since + TL_TIME_WAIT_US; }

int64_t tl_tcpstate_rtx_deadline(const struct tl_ep *e)
{
    int64_t next = 2 * (e->rtx_last - e->rtx_prev);
    if (next > TL_RTO_MAX_US)
        next = TL_RTO_MAX_US;
    return e->rtx_last + next + next / 50 + 10000;
}

int64_t tl_tcpstate_time_wait_due(const struct tl_tcpstate *st)
{
    int64_t due = 0;
    for (int r = 0; r < 2; r++) /* both, after a simultaneous close: the later */
        if (st->ep[r].state == TL_EP_TIME_WAIT && tw_due(&st->ep[r]) > due)
            due = tw_due(&st->ep[r]);
    return due;
}

static bool timer_of(const struct tl_tcpstate *st, int r, bool final, int64_t *t, enum tl_evkind *k)
{
    const struct tl_ep *e = &st->ep[r], *peer = &st->ep[!r];
    if (e->state == TL_EP_TIME_WAIT) {
        *t = tw_due(e);
        *k = TL_K_TIME_WAIT_END;
        return true;
    }
    if (!final)
        return false;
    /* Data retransmitted twice or more, then nothing although the capture
     * went on: tcp_retries2 ran out (or the application gave up). */
    if (e->nrtx >= 2 && e->state >= TL_EP_ESTABLISHED && e->state <= TL_EP_LAST_ACK) {
        *t = tl_tcpstate_rtx_deadline(e);
        *k = TL_K_RETX_TIMEOUT;
        return true;
    }
    /* Linux reaps an orphaned FIN_WAIT_2 socket after tcp_fin_timeout. */
    if (e->state == TL_EP_FIN_WAIT_2 && !e->fw2_alive && st->fin_timeout_ms != 0 &&
        e->fw2_since != 0) {
        *t = e->fw2_since + (int64_t)st->fin_timeout_ms * 1000;
        *k = TL_K_FW2_REAPED;
        return true;
    }
    if (e->nsyn == 0)
        return false;
    /* A client nobody answered, a server whose SYN-ACK nobody completed. */
    if (e->state == TL_EP_SYN_SENT && !peer->seen) {
        *k = TL_K_SYN_TIMEOUT;
    } else if (e->state == TL_EP_SYN_RECV && r == TL_ROLE_SERVER && !e->unseen_syn &&
               (!peer->took_syn || st->ack_dropped)) {
        *k = TL_K_SYNACK_TIMEOUT;
    } else {
        return false;
    }
    *t = retry_deadline(e);
    return true;
}

/* The earliest timed event due by now_us: endpoint and kind, or -1. */
static int due_timer(const struct tl_tcpstate *st, int64_t now_us, bool final, int64_t *when,
                     enum tl_evkind *kind)
{
    int best = -1;
    *when = INT64_MAX;
    for (int r = 0; r < 2; r++) {
        int64_t t;
        enum tl_evkind k;
        if (!timer_of(st, r, final, &t, &k))
            continue;
        if (now_us >= t && t < *when) { /* the earlier, the client's on a tie */
            best = r;
            *when = t;
            *kind = k;
        }
    }
    return best;
}

/* Endpoint r's timer of this kind ran out at when: the step it makes. */
static void timer_runs_out(struct tl_tcpstate *st, enum tl_role r, enum tl_evkind kind,
                           int64_t when, struct tl_step *out)
{
    bool was_ended = tl_tcpstate_ended(st);
    memset(out, 0, sizeof *out);
    struct ctx x = {st, NULL, when, out, -1};
    out->kind = (uint8_t)kind;
    out->lifecycle = true;
    if (kind == TL_K_SYN_TIMEOUT)
        st->syn_gave_up = true;
    if (kind == TL_K_SYNACK_TIMEOUT)
        st->synack_gave_up = true;
    if (kind == TL_K_RETX_TIMEOUT)
        st->rtx_gave_up = true;
    if (kind == TL_K_FW2_REAPED)
        st->fw2_reaped = true;
    fire(&x, r, TL_EV_TIMEOUT);
    out->ended = !was_ended && tl_tcpstate_ended(st);
}

bool tl_tcpstate_advance(struct tl_tcpstate *st, int64_t now_us, bool final, struct tl_step *out,
                         int64_t *when_us)
{
    enum tl_evkind kind = TL_K_TIME_WAIT_END;
    int r = due_timer(st, now_us, final, when_us, &kind);
    if (r < 0)
        return false;
    timer_runs_out(st, (enum tl_role)r, kind, *when_us, out);
    return true;
}

/* Does endpoint e have sequence number seq in flight (tcp_v4_err()'s
 * between(seq, snd_una, snd_nxt))? A pending request takes only its ISN.
 * Not knowing (nothing of e captured), the error is taken as it is. */
static bool icmp_in_window(const struct tl_ep *e, const struct tl_ep *peer, uint32_t seq)
{
    if (!e->seen)
        return true;
    if (e->state == TL_EP_SYN_RECV)
        return seq == e->isn;
    uint32_t una = peer->acked_any && !(e->state == TL_EP_SYN_SENT) ? peer->last_ack : e->isn;
    return seq - una <= e->snd_nxt - una;
}

void tl_tcpstate_icmp(struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r, int64_t ts_us,
                      struct tl_step *out)
{
    memset(out, 0, sizeof *out);
    struct ctx x = {st, p, ts_us, out, -1};
    struct tl_ep *me = &st->ep[r];
    bool was_ended = tl_tcpstate_ended(st);
    out->lifecycle = true;
    out->rel_seq = me->seen ? p->seq - me->isn : 0;
    if (!icmp_in_window(me, &st->ep[!r], p->seq)) {
        out->kind = TL_K_ICMP_IGNORED;
        return;
    }
    out->kind = TL_K_ICMP;
    bool abort = me->state == TL_EP_SYN_SENT   ? tl_icmp_aborts_connect(&p->icmp)
                 : me->state == TL_EP_SYN_RECV ? tl_icmp_aborts_request(&p->icmp)
                                               : false;
    if (!abort)
        return;
    if (me->state == TL_EP_SYN_SENT)
        st->icmp_abort = true;
    fire(&x, r, TL_EV_ICMP);
    out->ended = !was_ended && tl_tcpstate_ended(st);
}

bool tl_tcpstate_gave_up_before(struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r,
                                int64_t now_us, struct tl_step *out, int64_t *when_us)
{
    int64_t t;
    enum tl_evkind k;
    if (!(p->flags & TL_TH_RST) || !timer_of(st, r, true, &t, &k) || k != TL_K_RETX_TIMEOUT ||
        now_us < t)
        return false;
    timer_runs_out(st, r, k, t, out);
    *when_us = t;
    return true;
}

bool tl_tcpstate_reused(struct tl_tcpstate *st, enum tl_role by, int64_t ts_us, struct tl_step *out)
{
    memset(out, 0, sizeof *out);
    struct ctx x = {st, NULL, ts_us, out, -1};
    out->kind = TL_K_REUSED;
    out->lifecycle = true;
    for (int r = 0; r < 2; r++)
        if (st->ep[r].state == TL_EP_TIME_WAIT || r == (int)by)
            fire(&x, (enum tl_role)r, TL_EV_REUSED);
    return out->nchanges > 0;
}

bool tl_tcpstate_ended(const struct tl_tcpstate *st)
{
    return st->rst_seen || st->syn_gave_up || st->synack_gave_up || st->icmp_abort ||
           st->rtx_gave_up || st->fw2_reaped || (st->ep[0].fin_acked && st->ep[1].fin_acked);
}

enum tl_end tl_tcpstate_end(const struct tl_tcpstate *st)
{
    /* A FIN handshake that completed before a stray RST still ended it. */
    if (st->ep[0].fin_acked && st->ep[1].fin_acked)
        return TL_END_FIN;
    if (st->rst_seen)
        return TL_END_RST;
    if (st->icmp_abort)
        return TL_END_ICMP;
    return st->syn_gave_up || st->synack_gave_up || st->rtx_gave_up || st->fw2_reaped
               ? TL_END_TIMEOUT
               : TL_END_OPEN;
}

/* Role r's bit in a tl_seqspace bit set. */
static bool has(uint8_t bits, int r) { return (bits >> r) & 1u; }

bool tl_seqspace_starts_new(const struct tl_seqspace *s, const struct tl_pkt *p, enum tl_role r,
                            bool ended)
{
    if (!(p->flags & TL_TH_SYN) || (p->flags & TL_TH_RST))
        return false;
    bool same_isn = has(s->syn_sent, (int)r) && p->seq == s->isn[r];
    /* One connect() is one connection: its SYN retried, however late, also
     * after an RST answered it (Windows retries a refused connect() with the
     * very same SYN), and a SYN-ACK that acknowledges its ISN, belong to it. */
    if (same_isn)
        return false;
    if (p->flags & TL_TH_ACK) {
        bool answers = has(s->syn_sent, !r) && p->ack == s->isn[!r] + 1u;
        return !answers && ended;
    }
    /* A SYN with another ISN from the same port: a new socket. The old one
     * has ended, or was abandoned (a new connect() after a failed one; a
     * client that lost its connection while the server still holds it, which
     * answers with a challenge ACK, RFC 5961 4). */
    return has(s->syn_sent, (int)r) || has(s->seen, (int)r) || ended;
}

bool tl_tcpstate_starts_new(const struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r)
{
    if (!(p->flags & TL_TH_SYN) || (p->flags & TL_TH_RST))
        return false;
    struct tl_seqspace s;
    tl_tcpstate_seqspace(st, &s);
    return tl_seqspace_starts_new(&s, p, r, tl_tcpstate_ended(st));
}

/* States of an endpoint that has a synchronized connection. */
static bool synchronized(uint8_t s) { return s >= TL_EP_ESTABLISHED && s <= TL_EP_LAST_ACK; }

/* Not in a handshake, and synchronized as far as the capture shows it (a
 * one-sided capture may never show the other endpoint). */
static bool past_handshake(uint8_t s) { return synchronized(s) || s == TL_EP_UNKNOWN; }

bool tl_tcpstate_synced(const struct tl_tcpstate *st)
{
    return !tl_tcpstate_ended(st) && past_handshake(st->ep[0].state) &&
           past_handshake(st->ep[1].state) &&
           (synchronized(st->ep[0].state) || synchronized(st->ep[1].state));
}

/* A megabyte either side: far more than a window, far less than 2^31. */
#define CONTINUES_SPAN (UINT32_C(1) << 20)

static bool near(uint32_t a, uint32_t b) { return a - b + CONTINUES_SPAN <= 2 * CONTINUES_SPAN; }

void tl_tcpstate_seqspace(const struct tl_tcpstate *st, struct tl_seqspace *out)
{
    memset(out, 0, sizeof *out);
    for (int r = 0; r < 2; r++) {
        const struct tl_ep *e = &st->ep[r];
        out->isn[r] = e->isn;
        out->snd_nxt[r] = e->snd_nxt;
        out->seen |= (uint8_t)(e->seen << r);
        out->syn_sent |= (uint8_t)(e->syn_sent << r);
    }
    out->resets_only = out->seen != 0 && !st->ep[0].sent_other && !st->ep[1].sent_other;
}

bool tl_seqspace_reset_again(const struct tl_seqspace *s, const struct tl_pkt *p, int64_t gap_us)
{
    return s->resets_only && (p->flags & (TL_TH_RST | TL_TH_SYN)) == TL_TH_RST &&
           gap_us > TL_RESET_ALONE_US;
}

bool tl_seqspace_continues(const struct tl_seqspace *s, const struct tl_pkt *p, enum tl_role r)
{
    if (p->flags & TL_TH_SYN)
        return false;
    if (has(s->seen, (int)r) && near(p->seq, s->snd_nxt[r]))
        return true;
    return (p->flags & TL_TH_ACK) && has(s->seen, !r) && near(p->ack, s->snd_nxt[!r]);
}

bool tl_tcpstate_continues(const struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r)
{
    if (p->flags & TL_TH_SYN)
        return false;
    struct tl_seqspace s;
    tl_tcpstate_seqspace(st, &s);
    return tl_seqspace_continues(&s, p, r);
}

bool tl_tcpstate_settle(struct tl_tcpstate *st, int64_t ts_us, struct tl_step *out)
{
    for (int r = 0; r < 2; r++) {
        const struct tl_ep *e = &st->ep[r];
        if (!e->took_fin_inferred || (e->state != TL_EP_TIME_WAIT && e->state != TL_EP_CLOSING))
            continue;
        memset(out, 0, sizeof *out);
        struct ctx x = {st, NULL, ts_us, out, -1};
        fin_not_taken(&x, (enum tl_role)r);
        return out->revise;
    }
    return false;
}
