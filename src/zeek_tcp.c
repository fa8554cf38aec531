/*
 * Zeek's TCPSessionAdapter::Process for one segment, written anew in C:
 * sequence-space bookkeeping, the history letters it adds, the endpoint
 * state machine (UpdateInactiveState … UpdateClosedState) and
 * ConnectionClosed. Weird reports and events, which change nothing that
 * conn.log shows, are left out.
 *
 *   INACTIVE --SYN(orig)--> SYN_SENT (SYN_ACK_SENT if it carried ACK)
 *   INACTIVE --SYN-ACK(resp)--> ESTABLISHED (and a SYN_SENT peer too)
 *   INACTIVE --ACK, peer ESTABLISHED--> ESTABLISHED, else --> PARTIAL
 *   any      --FIN--> CLOSED            any --RST--> RESET
 */
#include <string.h>

#include "zeek_int.h"

/* What UpdateStateMachine hands back to Process. */
struct zk_step {
    bool do_close, gen_event;
};

static bool is_handshake(uint8_t st)
{
    return st == TL_ZEEK_INACTIVE || st == TL_ZEEK_SYN_SENT || st == TL_ZEEK_SYN_ACK_SENT;
}

void zk_set_state(struct tl_zeek *z, struct tl_zeek_ep *ep, uint8_t state)
{
    if (state == ep->state)
        return;
    /* Leaving the handshake while the peer is still in it switches the
     * connection from the short handshake timeout to the TCP one. */
    if (!is_handshake(state) && is_handshake(ep->state) && is_handshake(zk_peer(z, ep)->state))
        z->inactivity_us = ZK_INACTIVITY;
    ep->prev_state = ep->state;
    ep->state = state;
}

static uint64_t full_seq(uint32_t seq, uint32_t wraps) { return ((uint64_t)wraps << 32) + seq; }

/* True when none of ep's data was acknowledged (one octet allowed for the
 * SYN). */
static bool no_data_acked(const struct tl_zeek_ep *ep)
{
    uint64_t ack = full_seq(ep->ack_seq, ep->ack_wraps);
    uint64_t start = (uint64_t)ep->start_seq;
    return ack == start || ack == start + 1;
}

uint64_t zk_size(const struct tl_zeek *z, const struct tl_zeek_ep *ep)
{
    const struct tl_zeek_ep *peer = &z->ep[1 - zk_side(z, ep)];
    /* A half-open connection discovered and aborted: its numbers mislead. */
    if (ep->prev_state == TL_ZEEK_SYN_SENT && ep->state == TL_ZEEK_RESET &&
        peer->state == TL_ZEEK_INACTIVE && !no_data_acked(ep))
        return 0;
    uint64_t last = full_seq(ep->last_seq, ep->seq_wraps);
    uint64_t ack = full_seq(ep->ack_seq, ep->ack_wraps);
    uint64_t size = (last > ack ? last : ack) - (uint64_t)ep->start_seq;
    /* Neither the SYN nor the FIN octet is data. */
    if (size != 0)
        size--;
    if (ep->fin_cnt > 0 && size != 0)
        size--;
    return size;
}

/* Sequence space a segment takes: an RST's payload is not in the stream. */
static uint32_t seg_len(const struct zk_seg *s)
{
    uint32_t n = s->len + (zk_syn(s) ? 1u : 0u) + (zk_fin(s) ? 1u : 0u);
    return zk_rst(s) ? n - s->len : n;
}

static void init_seq(struct tl_zeek_ep *ep, uint32_t start, uint32_t last)
{
    ep->start_seq = start;
    ep->ack_seq = start;
    ep->last_seq = last;
}

/* Zeek's init_endpoint: (re)starts an endpoint's sequence space. */
static void init_endpoint(struct tl_zeek_ep *ep, const struct zk_seg *s, uint32_t last)
{
    switch (ep->state) {
    case TL_ZEEK_INACTIVE:
        /* Without a SYN, number as if there had been one, and keep the
         * first segment from looking like a retransmission. */
        if (zk_syn(s))
            init_seq(ep, s->seq, last);
        else
            init_seq(ep, s->seq - 1, s->seq);
        break;
    case TL_ZEEK_SYN_SENT:
    case TL_ZEEK_SYN_ACK_SENT:
        if (zk_syn(s) && s->seq != (uint32_t)ep->start_seq)
            init_seq(ep, s->seq, last);
        break;
    case TL_ZEEK_ESTABLISHED:
    case TL_ZEEK_PARTIAL:
        /* Guess the connection never got established and this SYN sets it up. */
        if (zk_syn(s))
            init_seq(ep, s->seq, last);
        break;
    case TL_ZEEK_RESET:
        /* The earlier RST may have been spoofed: trust the SYN. */
        if (zk_syn(s) && ep->prev_state == TL_ZEEK_INACTIVE)
            init_seq(ep, s->seq, last);
        break;
    default: break;
    }
}

/* Zeek's get_relative_seq: 64-bit offset from the start, tracking wraps;
 * *underflow when the number lies before the start. */
static uint64_t relative_seq(const struct tl_zeek_ep *ep, uint32_t cur, uint32_t last,
                             uint32_t wraps, bool *underflow)
{
    int32_t d = zk_delta(cur, last);
    if (d < 0 && wraps != 0 && cur > last)
        wraps--; /* from the previous 32-bit space */
    else if (d > 0 && cur < last)
        wraps++; /* the sequence space wrapped */
    if (wraps == 0) {
        d = zk_delta(cur, (uint32_t)ep->start_seq);
        if (d < 0)
            *underflow = true;
        return (uint64_t)(int64_t)d;
    }
    return full_seq(cur, wraps) - (uint64_t)ep->start_seq;
}

static void add_ep_history(struct tl_zeek *z, const struct tl_zeek_ep *ep, char code)
{
    zk_add_history(z, zk_is_orig(z, ep) ? code : (char)(code - 'A' + 'a'));
}

/* A control letter (S/H, F, R): once per side, then again only when the
 * packet's sequence number differs from the last one with that flag. */
static void control_letter(struct tl_zeek *z, const struct tl_zeek_ep *ep, uint32_t mask, char code,
                           uint64_t seq, uint64_t *last)
{
    if (zk_check_history(z, ep, mask, code) && seq != *last)
        add_ep_history(z, ep, code);
    *last = seq;
}

/* Zeek's update_history. */
static void update_history(struct tl_zeek *z, struct tl_zeek_ep *ep, const struct zk_seg *s,
                           uint64_t rel)
{
    int bits = (zk_syn(s) ? 1 : 0) + (zk_fin(s) ? 1 : 0) + (zk_rst(s) ? 1 : 0);
    if (bits > 1) {
        if (zk_fin(s) && zk_rst(s))
            (void)zk_check_history(z, ep, ZK_HIST_FIN_RST, 'I');
        else
            (void)zk_check_history(z, ep, ZK_HIST_MULTI_FLAG, 'Q');
    } else if (bits == 1) {
        if (zk_syn(s))
            control_letter(z, ep, ZK_HIST_SYN, zk_ack(s) ? 'H' : 'S', rel, &ep->hist_last_syn);
        /* A FIN's number is the one after its data, not its first byte. */
        if (zk_fin(s))
            control_letter(z, ep, ZK_HIST_FIN, 'F', rel + s->len, &ep->hist_last_fin);
        if (zk_rst(s))
            control_letter(z, ep, ZK_HIST_RST, 'R', rel, &ep->hist_last_rst);
    } else if (s->len > 0) {
        (void)zk_check_history(z, ep, ZK_HIST_DATA, 'D');
    } else if (zk_ack(s)) {
        (void)zk_check_history(z, ep, ZK_HIST_ACK, 'A');
    }
}

/* Zeek's update_window, as far as history goes: a zero window is worth a
 * W unless it comes with or after a RST, or after the peer's FIN. */
static void zero_window(struct tl_zeek *z, struct tl_zeek_ep *ep, const struct zk_seg *s)
{
    if (s->win == 0 && !zk_rst(s) && zk_peer(z, ep)->state != TL_ZEEK_CLOSED &&
        ep->state != TL_ZEEK_RESET)
        zk_scaled_history(z, ep, &ep->win0, 'W');
}

/* The ACK field: starts an unseen peer's numbering, else advances the
 * peer's acknowledged sequence. Returns the relative ACK. */
static uint64_t ack_field(struct tl_zeek_ep *peer, const struct zk_seg *s)
{
    if (!zk_ack(s))
        return 0;
    if (peer->state == TL_ZEEK_INACTIVE) {
        init_seq(peer, s->ack - 1, s->ack - 1);
        return 1;
    }
    bool underflow = false;
    uint64_t rel = relative_seq(peer, s->ack, peer->ack_seq, peer->ack_wraps, &underflow);
    if (underflow)
        return 0;
    if (zk_rst(s))
        return rel; /* ACKs in RSTs are not trusted */
    int32_t d = zk_delta(s->ack, peer->ack_seq);
    /* An ACK of 0 far ahead is more likely broken than a wrap onto 0. */
    if (!(s->ack == 0 && d > ZK_TOO_LARGE_SEQ_DELTA) && d > 0) {
        if (s->ack < peer->ack_seq)
            peer->ack_wraps++;
        peer->ack_seq = s->ack;
    }
    return rel;
}

static void update_last(struct tl_zeek_ep *ep, uint32_t seq)
{
    if (seq < ep->last_seq)
        ep->seq_wraps++;
    ep->last_seq = seq;
}

/* Zeek's update_last_seq; a segment that does not advance the sender's
 * sequence space but carries data is a retransmission (T). */
static void update_last_seq(struct tl_zeek *z, struct tl_zeek_ep *ep, uint32_t last,
                            const struct zk_seg *s)
{
    int32_t d = zk_delta(last, ep->last_seq);
    if ((zk_syn(s) || zk_rst(s)) && (d > ZK_TOO_LARGE_SEQ_DELTA || d < -ZK_TOO_LARGE_SEQ_DELTA))
        return;
    /* > 2 GB connections of which only SYN and FIN were seen. */
    if (zk_fin(s) && ep->last_seq == (uint32_t)ep->start_seq + 1u)
        update_last(ep, last);
    else if (ep->state == TL_ZEEK_RESET)
        return; /* numbers after a RST are not trusted */
    else if (d > 0)
        update_last(ep, last);
    else if (s->len > 0)
        zk_scaled_history(z, ep, &ep->rxmt, 'T');
}

/* Zeek's SetPartialStatus and CheckPIA_FirstPacket bookkeeping. */
static void set_partial_status(struct tl_zeek *z, const struct zk_seg *s, bool is_orig)
{
    if (is_orig) {
        if (!(z->first_seen & 1))
            z->is_partial = !zk_syn(s) || zk_ack(s);
    } else if (!(z->first_seen & 2) && !z->is_partial) {
        z->is_partial = !zk_syn(s);
    }
}

/* A SYN from an endpoint that had sent nothing. */
static void inactive_syn(struct tl_zeek *z, struct tl_zeek_ep *ep, struct tl_zeek_ep *peer,
                         const struct zk_seg *s, bool is_orig)
{
    if (is_orig) {
        zk_set_state(z, ep, zk_ack(s) ? TL_ZEEK_SYN_ACK_SENT : TL_ZEEK_SYN_SENT);
        if (z->attempt_at == 0)
            z->attempt_at = s->t + ZK_ATTEMPT_DELAY;
        return;
    }
    if (!zk_ack(s) && peer->state == TL_ZEEK_SYN_ACK_SENT && s->seq == (uint32_t)ep->start_seq) {
        /* SYN-ACK seen before its SYN (IsReuse's reversal): flip and
         * establish. */
        z->is_partial = false;
        zk_flip_roles(z);
        zk_set_state(z, peer, TL_ZEEK_ESTABLISHED);
        z->first_seen |= 1;
    }
    if (peer->state == TL_ZEEK_SYN_SENT)
        zk_set_state(z, peer, TL_ZEEK_ESTABLISHED);
    zk_set_state(z, ep, TL_ZEEK_ESTABLISHED);
}

/* Zeek's UpdateInactiveState. */
static void update_inactive(struct tl_zeek *z, struct tl_zeek_ep *ep, struct tl_zeek_ep *peer,
                            const struct zk_seg *s, bool is_orig, struct zk_step *st)
{
    if (zk_syn(s))
        inactive_syn(z, ep, peer, s, is_orig);
    if (zk_fin(s)) {
        zk_set_state(z, ep, TL_ZEEK_CLOSED);
        st->do_close = st->gen_event = true;
    }
    if (zk_rst(s)) {
        zk_set_state(z, ep, TL_ZEEK_RESET);
        /* An originator's RST to a SYN-ACK (reverse scan), or a
         * responder's RST to the SYN, is a rejection. */
        bool reject = is_orig ? peer->state == TL_ZEEK_ESTABLISHED
                              : (peer->state == TL_ZEEK_SYN_SENT ||
                                 peer->state == TL_ZEEK_SYN_ACK_SENT);
        st->do_close = true;
        st->gen_event = !reject;
    }
    if (ep->state != TL_ZEEK_INACTIVE)
        return;
    /* Some stacks ACK the SYN before answering it: not a partial
     * connection yet. */
    if (!is_orig && s->len == 0 && zk_orig(z)->state == TL_ZEEK_SYN_SENT)
        return;
    if (zk_ack(s) && peer->state == TL_ZEEK_ESTABLISHED) {
        /* The SYN was missed but the SYN-ACK seen: established. */
        zk_set_state(z, ep, TL_ZEEK_ESTABLISHED);
        z->is_partial = false;
        z->first_seen |= is_orig ? 1 : 2;
    } else {
        zk_set_state(z, ep, TL_ZEEK_PARTIAL);
    }
}

/* Zeek's UpdateSYN_SentState. */
static void update_syn_sent(struct tl_zeek *z, struct tl_zeek_ep *ep, const struct zk_seg *s,
                            struct zk_step *st)
{
    if (zk_fin(s)) {
        zk_set_state(z, ep, TL_ZEEK_CLOSED);
        st->do_close = st->gen_event = true;
    }
    if (zk_rst(s)) {
        zk_set_state(z, ep, TL_ZEEK_RESET);
        z->is_active = false; /* ConnectionReset */
        st->do_close = true;
    }
}

/* Zeek's UpdateEstablishedState (also for PARTIAL). */
static void update_established(struct tl_zeek *z, struct tl_zeek_ep *ep, struct tl_zeek_ep *peer,
                               const struct zk_seg *s, struct zk_step *st)
{
    if (zk_syn(s) && ep->state == TL_ZEEK_PARTIAL && peer->state == TL_ZEEK_INACTIVE && !zk_ack(s))
        zk_set_state(z, ep, TL_ZEEK_SYN_SENT);
    if (zk_fin(s) && !zk_rst(s)) {
        zk_set_state(z, ep, TL_ZEEK_CLOSED);
        /* The peer's FIN then RST was a normal close after all. */
        if (peer->state == TL_ZEEK_RESET && peer->prev_state == TL_ZEEK_CLOSED)
            zk_set_state(z, peer, TL_ZEEK_CLOSED);
        st->do_close = st->gen_event = true;
    }
    if (zk_rst(s)) {
        zk_set_state(z, ep, TL_ZEEK_RESET);
        st->do_close = true;
        if (peer->state != TL_ZEEK_RESET || peer->prev_state != TL_ZEEK_ESTABLISHED)
            z->is_active = false; /* ConnectionReset */
    }
}

/* Zeek's UpdateStateMachine; RESET is final. */
static void state_machine(struct tl_zeek *z, struct tl_zeek_ep *ep, struct tl_zeek_ep *peer,
                          const struct zk_seg *s, bool is_orig, struct zk_step *st)
{
    switch (ep->state) {
    case TL_ZEEK_INACTIVE: update_inactive(z, ep, peer, s, is_orig, st); break;
    case TL_ZEEK_SYN_SENT:
    case TL_ZEEK_SYN_ACK_SENT: update_syn_sent(z, ep, s, st); break;
    case TL_ZEEK_ESTABLISHED:
    case TL_ZEEK_PARTIAL: update_established(z, ep, peer, s, st); break;
    case TL_ZEEK_CLOSED:
        /* After a FIN, a RST counts unless the peer had closed too. */
        if (zk_rst(s) && peer->state != TL_ZEEK_CLOSED) {
            zk_set_state(z, ep, TL_ZEEK_RESET);
            if (!ep->did_close)
                st->do_close = true;
        }
        break;
    default: break;
    }
}

/* Zeek's ConnectionClosed: once both sides are done (or one reset, or the
 * other never spoke) the connection is deleted tcp_close_delay after its
 * last activity; a half close arms the expire timer instead. */
static void connection_closed(struct tl_zeek *z, struct tl_zeek_ep *ep, struct tl_zeek_ep *peer,
                              bool gen_event)
{
    if (ep->did_close)
        return;
    ep->did_close = true;
    bool complete = ep->state == TL_ZEEK_RESET || peer->did_close ||
                    peer->state == TL_ZEEK_INACTIVE;
    if (complete) {
        if (gen_event && (ep->prev_state != TL_ZEEK_INACTIVE || peer->state != TL_ZEEK_INACTIVE))
            z->is_active = false; /* ConnectionFinished */
        zk_cancel_timers(z);
        z->delete_at = z->last_us + ZK_CLOSE_DELAY;
    } else if (ep->prev_state != TL_ZEEK_INACTIVE) {
        zk_add_expire(z, z->last_us + ZK_SESSION_TIMER);
    }
}

/* Counters and numbers that follow the history letters, before the state
 * machine runs. Returns the relative ACK. */
static uint64_t bookkeeping(struct tl_zeek *z, struct tl_zeek_ep *ep, struct tl_zeek_ep *peer,
                            const struct zk_seg *s, uint64_t rel)
{
    zero_window(z, ep, s);
    /* Activity after both FINs does not extend the connection. */
    if (!zk_orig(z)->did_close || !zk_resp(z)->did_close)
        z->last_us = s->t;
    if (zk_fin(s)) {
        ep->fin_cnt++;
        ep->fin_seq = rel + seg_len(s);
    }
    if (zk_rst(s))
        ep->rst_cnt++;
    uint64_t rel_ack = ack_field(peer, s);
    update_last_seq(z, ep, s->seq + seg_len(s), s);
    return rel_ack;
}

void zk_process(struct tl_zeek *z, const struct zk_seg *s)
{
    struct tl_zeek_ep *ep = &z->ep[s->side];
    struct tl_zeek_ep *peer = zk_peer(z, ep);
    bool is_orig = zk_is_orig(z, ep);
    set_partial_status(z, s, is_orig);
    init_endpoint(ep, s, s->seq + seg_len(s));
    bool underflow = false;
    uint64_t rel = relative_seq(ep, s->seq, ep->last_seq, ep->seq_wraps, &underflow);
    update_history(z, ep, s, rel);
    uint64_t rel_ack = bookkeeping(z, ep, peer, s, rel);
    struct zk_step st = {false, false};
    state_machine(z, ep, peer, s, is_orig, &st);
    /* Acks are looked at after the state machine, so that a gap they
     * reveal at the very end (FIN, RST) is not taken for a real one. */
    if (zk_ack(s))
        zk_ack_received(z, peer, rel_ack);
    z->first_seen |= is_orig ? 1 : 2;
    if (s->len > 0 && s->caplen >= s->len && !zk_rst(s) && !underflow)
        zk_data_sent(z, ep, zk_syn(s) ? rel + 1 : rel, s->len);
    if (st.do_close)
        connection_closed(z, ep, peer, st.gen_event);
}
