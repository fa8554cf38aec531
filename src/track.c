/*
 * The detectors' tracker: O(1) work per segment, a few counters and the
 * first packet numbers of what repeats, so that memory per connection is
 * fixed however long it lives.
 */
#include "tcplens/detect.h"

#include <stdlib.h>
#include <string.h>

#include "tcplens/seq.h"
#include "detect_int.h"

const struct tl_track_trouble tl_track_no_trouble = {0};

void tl_track_init(struct tl_track *t) { memset(t, 0, sizeof *t); }

static void times_clear(struct tl_times *tm)
{
    free(tm->more);
    memset(tm, 0, sizeof *tm);
}

/* Empties a list for reuse, keeping what it allocated. */
static void times_reset(struct tl_times *tm)
{
    tm->n = 0;
    tm->k = 0;
}

void tl_track_free(struct tl_track *t)
{
    for (int r = 0; r < 2; r++) {
        struct tl_track_side *d = &t->side[r];
        times_clear(&d->syn);
        times_clear(&d->fin);
        if (d->trouble != NULL) {
            times_clear(&d->trouble->ka);
            times_clear(&d->trouble->zwp);
            times_clear(&d->trouble->stall);
            free(d->trouble);
            d->trouble = NULL;
        }
    }
    tl_rtt_release(&t->rtt);
}

void tl_track_compact(struct tl_track *t) { tl_rtt_release(&t->rtt); }

/* Bytes of tm's recorded entries past the first. */
static size_t times_extra(const struct tl_times *tm)
{
    return tm->k > 1 ? (size_t)(tm->k - 1) * sizeof *tm->more : 0;
}

size_t tl_track_copy_size(const struct tl_track *t)
{
    size_t n = 0;
    for (int r = 0; r < 2; r++) {
        const struct tl_track_side *s = &t->side[r];
        n += times_extra(&s->syn) + times_extra(&s->fin);
        if (s->trouble != NULL)
            n += sizeof *s->trouble + times_extra(&s->trouble->ka) + times_extra(&s->trouble->zwp) +
                 times_extra(&s->trouble->stall);
    }
    return n;
}

/* Moves the entries past the first of tm (a copy) to *at, and *at on. */
static void times_move(struct tl_times *tm, unsigned char **at)
{
    size_t n = times_extra(tm);
    if (n == 0) {
        tm->more = NULL;
        return;
    }
    memcpy(*at, tm->more, n);
    tm->more = (struct tl_time *)(void *)*at;
    *at += n;
}

void tl_track_copy(struct tl_track *dst, const struct tl_track *src, unsigned char *buf)
{
    *dst = *src;
    dst->rtt.ring = NULL; /* the reports read the samples only */
    for (int r = 0; r < 2; r++) {
        struct tl_track_side *s = &dst->side[r];
        if (s->trouble != NULL) {
            struct tl_track_trouble *tr = (struct tl_track_trouble *)(void *)buf;
            *tr = *s->trouble;
            buf += sizeof *tr;
            s->trouble = tr;
            times_move(&tr->ka, &buf);
            times_move(&tr->zwp, &buf);
            times_move(&tr->stall, &buf);
        }
        times_move(&s->syn, &buf);
        times_move(&s->fin, &buf);
    }
}

/* A side's trouble record for writing, allocated on first need; NULL when
 * memory ran out (the step is then taken without it: tl_track_step says
 * TL_ENOMEM). */
static struct tl_track_trouble *trouble(struct tl_track_side *s)
{
    if (s->trouble == NULL)
        s->trouble = calloc(1, sizeof *s->trouble);
    return s->trouble;
}

/* Counts a send and records it while there is room. Out of memory, the
 * count still goes up (the detectors read k for what is listed), and false
 * says that the evidence is short of a time. */
static bool note(struct tl_times *tm, int64_t ts, uint64_t pkt)
{
    struct tl_time v = {.ts = ts, .pkt = pkt};
    tm->n++;
    if (tm->k == 0) {
        tm->first = v;
        tm->k = 1;
        return true;
    }
    if (tm->k >= TL_TRACK_TIMES)
        return true;
    if (tm->more == NULL) {
        tm->more = malloc((TL_TRACK_TIMES - 1) * sizeof *tm->more);
        if (tm->more == NULL)
            return false;
    }
    tm->more[tm->k - 1] = v;
    tm->k++;
    return true;
}

/* State entries the detectors date: CLOSE_WAIT, FIN_WAIT_2, TIME_WAIT,
 * CLOSING, and the state an RST's sender was in. */
static void on_changes(struct tl_track *t, const struct tl_step *s, uint64_t pkt, int64_t ts)
{
    for (uint8_t i = 0; i < s->nchanges; i++) {
        const struct tl_change *c = &s->changes[i];
        struct tl_track_side *d = &t->side[c->role & 1];
        if (c->from == TL_EP_CLOSE_WAIT && d->close_wait_until == 0)
            d->close_wait_until = ts;
        if (c->from == TL_EP_FIN_WAIT_2 && d->fin_wait2_until == 0)
            d->fin_wait2_until = ts;
        /* The final ACK, not an RST, ends LAST_ACK (or CLOSING) here. */
        bool last = (c->from == TL_EP_LAST_ACK && c->to == TL_EP_CLOSED) ||
                    (c->from == TL_EP_CLOSING && c->to == TL_EP_TIME_WAIT);
        if (last && s->kind != TL_K_RST && pkt != 0 && d->final_ack_pkt == 0) {
            d->final_ack_pkt = pkt;
            d->final_ack_ts = ts;
        }
        switch ((enum tl_ep_state)c->to) {
        case TL_EP_CLOSE_WAIT:
            d->close_wait_since = ts;
            d->close_wait_pkt = pkt;
            break;
        case TL_EP_FIN_WAIT_2:
            d->fin_wait2_since = ts;
            d->fin_wait2_pkt = pkt;
            break;
        case TL_EP_TIME_WAIT:
            d->time_wait_since = ts;
            d->time_wait_pkt = pkt;
            break;
        case TL_EP_CLOSING:
            if (trouble(d) != NULL) {
                d->trouble->closing_pkt = pkt;
                d->trouble->closing_ts = ts;
            }
            break;
        default: break;
        }
    }
}

void tl_track_revise(struct tl_track *t, const struct tl_step *s)
{
    if (!s->revise)
        return;
    struct tl_track_side *d = &t->side[s->revise_role & 1];
    if (s->revise_from == TL_EP_TIME_WAIT && s->revise_to == TL_EP_FIN_WAIT_2) {
        d->fin_wait2_since = d->time_wait_since;
        d->fin_wait2_pkt = d->time_wait_pkt;
    }
    if (s->revise_from == TL_EP_TIME_WAIT) {
        d->time_wait_since = 0;
        d->time_wait_pkt = 0;
    }
    if ((s->revise_from == TL_EP_TIME_WAIT || s->revise_from == TL_EP_CLOSING) &&
        d->trouble != NULL) {
        d->trouble->closing_pkt = 0;
        d->trouble->closing_ts = 0;
    }
    if (s->revise_from == TL_EP_CLOSE_WAIT) {
        d->close_wait_since = 0;
        d->close_wait_pkt = 0;
    }
    if (s->revise_from == TL_EP_FIN_WAIT_2 && s->revise_to == TL_EP_FIN_WAIT_1) {
        d->fin_wait2_since = 0;
        d->fin_wait2_pkt = 0;
    }
    /* Its FIN again: the ACK taken for the final one never reached it. */
    if (s->revise_from == TL_EP_CLOSED && s->revise_to == TL_EP_LAST_ACK) {
        d->final_ack_pkt = 0;
        d->final_ack_ts = 0;
    }
}

/* Retransmissions of the same data again and again, never acknowledged:
 * the start of a stall (a peer gone silent). */
static bool note_retx(struct tl_track_trouble *me, const struct tl_step *s, uint64_t pkt,
                      int64_t ts)
{
    if (me->retx == 0) {
        me->retx_first_pkt = pkt;
        me->retx_first_ts = ts;
    }
    me->retx++;
    if (me->stall.n == 0 || s->rel_seq != me->stall_seq) {
        times_reset(&me->stall);
        me->stall_seq = s->rel_seq;
    }
    return note(&me->stall, ts, pkt);
}

/* False when a time could not be recorded (note()). */
static bool on_kind(struct tl_track *t, const struct tl_step *s, enum tl_role r, uint64_t pkt,
                    int64_t ts)
{
    struct tl_track_side *me = &t->side[r];
    bool ok = true;
    switch ((enum tl_evkind)s->kind) {
    case TL_K_SYN:
    case TL_K_SYN_RETX:
    case TL_K_SYNACK:
    case TL_K_SYNACK_RETX:
    case TL_K_ACK_DROPPED:
        ok = note(&me->syn, ts, pkt);
        if (r == TL_ROLE_SERVER && t->hs_ack_pkt != 0 && s->kind != TL_K_SYNACK) {
            if (t->synack_after_ack++ == 0)
                t->synack_after_ack_pkt = pkt;
        }
        break;
    case TL_K_HANDSHAKE_ACK:
        if (t->hs_ack_pkt == 0) {
            t->hs_ack_pkt = pkt;
            t->hs_ack_ts = ts;
        }
        break;
    case TL_K_FIN:
    case TL_K_FIN_RETX: ok = note(&me->fin, ts, pkt); break;
    case TL_K_KEEPALIVE:
        ok = trouble(me) != NULL && note(&me->trouble->ka, ts, pkt);
        if (me->trouble != NULL)
            me->trouble->ka_pending = true;
        break;
    case TL_K_ZW_PROBE: ok = trouble(me) != NULL && note(&me->trouble->zwp, ts, pkt); break;
    case TL_K_RETX: ok = trouble(me) != NULL && note_retx(me->trouble, s, pkt, ts); break;
    case TL_K_UNEXPECTED:
        ok = trouble(me) != NULL;
        if (ok && me->trouble->unexpected++ == 0)
            me->trouble->unexpected_pkt = pkt;
        break;
    case TL_K_SYN_TIMEOUT: t->syn_timeout_ts = ts; break;
    case TL_K_RETX_TIMEOUT: {
        /* A timed step: the endpoint is the one it closed. */
        struct tl_track_side *gone = &t->side[s->nchanges > 0 ? s->changes[0].role & 1 : r];
        ok = trouble(gone) != NULL;
        if (ok)
            gone->trouble->retx_timeout_ts = ts;
        break;
    }
    default: break;
    }
    return ok;
}

/* False when the trouble record could not be allocated. */
static bool on_window(struct tl_track_side *side, const struct tl_ep *ep, const struct tl_ep *peer,
                      const struct tl_pkt *p, uint64_t pkt, int64_t ts)
{
    /* Windows' ACK from TIME_WAIT, an RST: a window of 0 there says the
     * socket is done, not that a reader fell behind. */
    if ((p->flags & (TL_TH_SYN | TL_TH_RST)) || (ep->fin_sent && peer->fin_sent))
        return true;
    if (p->win != 0 && side->trouble == NULL)
        return true; /* an open window, as ever */
    struct tl_track_trouble *me = trouble(side);
    if (me == NULL)
        return false;
    if (p->win == 0 && me->zw_since == 0) {
        if (me->zero_windows++ == 0) {
            me->zw_first_pkt = pkt;
            me->zw_first_ts = ts;
        }
        me->zw_since = ts;
    } else if (p->win != 0 && me->zw_since != 0) {
        if (ts - me->zw_since > me->zw_longest_us)
            me->zw_longest_us = ts - me->zw_since;
        me->zw_since = 0;
    }
    return true;
}

/* False when the trouble record could not be allocated. */
static bool on_rst(struct tl_track *t, const struct tl_tcpstate *st, const struct tl_step *s,
                   enum tl_role r, uint64_t pkt, int64_t ts)
{
    struct tl_track_trouble *me = trouble(&t->side[r]);
    if (me == NULL)
        return false;
    if (me->rsts++ > 0)
        return true;
    me->rst_pkt = pkt;
    me->rst_ts = ts;
    me->rst_from = st->ep[r].state;
    me->rst_peer_state = st->ep[!r].state;
    for (uint8_t i = 0; i < s->nchanges; i++) { /* the states before the RST */
        if (s->changes[i].role == r && me->rst_from == st->ep[r].state)
            me->rst_from = s->changes[i].from;
        if (s->changes[i].role != r && me->rst_peer_state == st->ep[!r].state)
            me->rst_peer_state = s->changes[i].from;
    }
    me->rst_answers_data = t->side[!r].last_had_data;
    me->rst_answers_pkt = t->side[!r].last_pkt;
    me->rst_answers_fin = t->side[!r].last_had_fin;
    me->rst_ignored = s->kind == TL_K_RST_IGNORED;
    return true;
}

/* A D-SACK (RFC 2883): the first SACK block reports data that arrived
 * twice, below the cumulative ACK or inside the second block. */
static bool is_dsack(const struct tl_pkt *p)
{
    if (p->opt.nsack == 0 || !(p->flags & TL_TH_ACK))
        return false;
    const uint32_t *b0 = p->opt.sack[0], *b1 = p->opt.sack[1];
    if (tl_seq_le(b0[1], p->ack))
        return true;
    return p->opt.nsack >= 2 && tl_seq_ge(b0[0], b1[0]) && tl_seq_le(b0[1], b1[1]);
}

/* What the data-phase detectors and the host aggregation read: keepalive
 * timing and answers, spurious retransmissions, who spoke during a stall,
 * window reopenings, the first payload. Runs before last_ts moves on. */
static bool on_data(struct tl_track *t, const struct tl_tcpstate *st, const struct tl_step *s,
                    const struct tl_pkt *p, enum tl_role r, uint64_t pkt, int64_t ts)
{
    struct tl_track_side *side = &t->side[r], *pside = &t->side[!r];
    if (p->payload_len > 0 && side->first_data_ts == 0)
        side->first_data_ts = ts;
    /* Anything from us answers the peer's probes. */
    if (pside->trouble != NULL)
        pside->trouble->ka_unanswered = 0;
    bool dsack = is_dsack(p);
    if (dsack && trouble(pside) == NULL)
        return false;
    if (dsack && pside->trouble->dsacks++ == 0)
        pside->trouble->dsack_first_pkt = pkt;
    if (pside->trouble != NULL && pside->trouble->stall.n > 0 && pside->trouble->stall_peer_ts == 0)
        pside->trouble->stall_peer_ts = ts;
    /* The rest concerns this side's own trouble; none so far, none now. */
    bool retx = s->kind == TL_K_RETX;
    if (side->trouble == NULL && s->kind != TL_K_KEEPALIVE && !retx && s->kind != TL_K_UNEXPECTED) {
        side->last_seq = p->seq;
        side->last_len = p->payload_len;
        return true;
    }
    struct tl_track_trouble *me = trouble(side);
    if (me == NULL)
        return false;
    if (me->zero_windows > 0 && me->zw_since == 0 && me->zw_open_pkt == 0)
        me->zw_open_pkt = pkt;
    if (s->kind == TL_K_KEEPALIVE) {
        if (me->ka.n == 1)
            me->ka_idle_us = ts - (side->last_ts > pside->last_ts ? side->last_ts : pside->last_ts);
        me->ka_last_ts = ts;
        me->ka_unanswered++;
    }
    /* The same segment again within 1 ms, nothing in between: a copy made by
     * the capture (several interfaces, a SPAN port) that dedup.c did not
     * catch (a NAT between two capture points rewrote its IP ID), not a
     * retransmission: no stack resends that fast unasked. */
    if (retx && side->last_ts >= pside->last_ts && p->seq == side->last_seq &&
        p->payload_len == side->last_len && ts - side->last_ts < TL_DUP_US) {
        me->dup_copies++;
        me->retx_bytes -= p->payload_len; /* counts what was really sent again */
    }
    side->last_seq = p->seq;
    side->last_len = p->payload_len;
    if (retx) {
        if (me->stall.n == 1)
            me->stall_peer_ts = 0;
        me->stall_last_ts = ts;
        me->stall_last_pkt = pkt;
    }
    if (s->kind == TL_K_UNEXPECTED && me->unexpected_pkt == pkt) {
        me->unexpected_flags = p->flags;
        me->unexpected_state = st->ep[r].state;
        me->unexpected_peer_state = st->ep[!r].state;
    }
    return true;
}

/* The last time in tm at or before ts; 0 when none. */
static int64_t last_before(const struct tl_times *tm, int64_t ts)
{
    int64_t best = 0;
    for (uint32_t i = 0; i < tm->k; i++) {
        int64_t v = tl_times_ts(tm, i);
        if (v <= ts)
            best = v;
    }
    return best;
}

static void track_rtt(const struct tl_track *t, struct tl_conn_rtt *out)
{
    memset(out, 0, sizeof *out);
    out->syn_synack = out->synack_ack = -1;
    const struct tl_times *syn = &t->side[TL_ROLE_CLIENT].syn;
    const struct tl_times *synack = &t->side[TL_ROLE_SERVER].syn;
    if (synack->k > 0 && syn->k > 0) {
        int64_t sa = synack->first.ts, s = last_before(syn, sa);
        if (s != 0)
            out->syn_synack = sa - s;
    }
    if (t->hs_ack_pkt != 0 && synack->k > 0) {
        int64_t sa = last_before(synack, t->hs_ack_ts);
        if (sa != 0)
            out->synack_ack = t->hs_ack_ts - sa;
    }
    for (int r = 0; r < 2; r++)
        out->data[r] = t->rtt.d[r].st;
}

void tl_track_perf(const struct tl_track *t, struct tl_conn_perf *out)
{
    memset(out, 0, sizeof *out);
    track_rtt(t, &out->rtt);
    for (int r = 0; r < 2; r++) {
        const struct tl_track_side *d = &t->side[r];
        out->data_segs[r] = d->data_segs;
        out->retx_segs[r] = tl_track_trouble(d)->retx;
        out->rsts[r] = tl_track_trouble(d)->rsts;
    }
}

enum tl_status tl_track_step(struct tl_track *t, const struct tl_tcpstate *st,
                             const struct tl_step *s, const struct tl_pkt *p, enum tl_role r,
                             uint64_t pkt_no, int64_t ts)
{
    tl_track_revise(t, s);
    on_changes(t, s, pkt_no, ts);
    /* Short of memory the step is still taken in whole: counts stay right. */
    bool ok = on_kind(t, s, r, pkt_no, ts);
    if (p == NULL)
        return ok ? TL_OK : TL_ENOMEM;
    struct tl_track_side *me = &t->side[r], *peer = &t->side[!r];
    if (me->last_ts == 0 && peer->last_ts == 0)
        t->midstream = !(p->flags & TL_TH_SYN);
    if (p->flags & TL_TH_RST)
        ok = on_rst(t, st, s, r, pkt_no, ts) && ok;
    ok = on_window(me, &st->ep[r], &st->ep[!r], p, pkt_no, ts) && ok;
    bool in_close_wait = st->ep[r].state == TL_EP_CLOSE_WAIT || st->ep[r].state == TL_EP_LAST_ACK;
    if (p->payload_len > 0) {
        me->data_segs++;
        struct tl_track_trouble *x = NULL;
        if (s->kind == TL_K_RETX || in_close_wait)
            x = trouble(me);
        ok = ok && (x != NULL || !(s->kind == TL_K_RETX || in_close_wait));
        if (x != NULL && s->kind == TL_K_RETX)
            x->retx_bytes += p->payload_len;
        if (x != NULL && in_close_wait) {
            if (x->data_in_close_wait++ == 0) {
                x->data_in_close_wait_pkt = pkt_no;
                x->data_in_close_wait_ts = ts;
            }
            x->data_in_close_wait_bytes += p->payload_len;
        }
    }
    struct tl_track_trouble *pt = peer->trouble;
    if (pt != NULL && pt->ka_pending && s->kind != TL_K_KEEPALIVE) {
        pt->ka_pending = false;
        pt->ka_answered++;
    }
    /* New data acknowledged past what was being retransmitted ends a stall. */
    if (pt != NULL && (p->flags & TL_TH_ACK) && pt->stall.n > 0 &&
        tl_seq_gt(s->rel_ack, pt->stall_seq))
        times_reset(&pt->stall);
    ok = on_data(t, st, s, p, r, pkt_no, ts) && ok;
    if (tl_rtt_wants(&t->rtt, p->payload_len) && !(p->flags & TL_TH_SYN))
        ok = tl_rtt_segment(&t->rtt, (int)r, p->seq, p->payload_len, (p->flags & TL_TH_FIN) != 0,
                            (p->flags & TL_TH_ACK) != 0, p->ack, ts) &&
             ok;
    me->last_ts = ts;
    me->last_had_data = p->payload_len > 0;
    me->last_had_fin = (p->flags & TL_TH_FIN) != 0;
    me->last_pkt = pkt_no;
    return ok ? TL_OK : TL_ENOMEM;
}

bool tl_track_icmp_copy(const struct tl_track *t, const struct tl_pkt *p, enum tl_role r,
                        int64_t ts)
{
    const struct tl_track_trouble *me = t->side[r].trouble;
    return me != NULL && me->icmps + me->icmps_ignored > 0 && ts - me->icmp_last_ts < TL_DUP_US &&
           me->icmp_last_seq == p->seq &&
           me->icmp_last_tc == (uint16_t)(p->icmp.type << 8 | p->icmp.code);
}

enum tl_status tl_track_icmp(struct tl_track *t, const struct tl_tcpstate *st,
                             const struct tl_step *s, const struct tl_pkt *p, enum tl_role r,
                             uint64_t pkt_no, int64_t ts, uint64_t quoted_pkt)
{
    enum tl_status ok = tl_track_step(t, st, s, NULL, r, pkt_no, ts);
    struct tl_track_trouble *me = trouble(&t->side[r]);
    if (me == NULL)
        return TL_ENOMEM;
    me->icmp_last_ts = ts;
    me->icmp_last_seq = p->seq;
    me->icmp_last_tc = (uint16_t)(p->icmp.type << 8 | p->icmp.code);
    if (s->kind == TL_K_ICMP_IGNORED) {
        me->icmps_ignored++;
        return ok;
    }
    bool abort = s->nchanges > 0;
    /* The first one tells, unless a later one ended the attempt. */
    if (me->icmps++ > 0 && !(abort && !me->icmp_abort))
        return ok;
    me->icmp = p->icmp;
    me->icmp_pkt = pkt_no;
    me->icmp_ts = ts;
    me->icmp_quoted_pkt = quoted_pkt;
    me->icmp_seq = s->rel_seq;
    me->icmp_state = abort ? s->changes[0].from : st->ep[r].state;
    me->icmp_abort = abort;
    me->icmp_from_dest = tl_addr_cmp(&p->icmp.from, &p->dst) == 0;
    return ok;
}
