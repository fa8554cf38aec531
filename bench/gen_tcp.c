/*
 * gen_tcp.c - the packet script of one connection, for every kind.
 *
 * A script is what a tap next to the client sees of one connection
 * between two Linux hosts: the client's packets as it sends them, the
 * server's one round trip after the client packet they answer.  Each
 * special kind plays one way a real connection goes wrong, or is merely
 * unusual, with the kernel timers that shape it: the retransmission
 * timeout (200 ms + RTT, doubling), SYN and SYN-ACK retries (1 s,
 * doubling), keepalive and zero-window probes.  README.md lists which
 * tcplens anomalies each kind shows; check-gen.sh proves that it does.
 *
 * Scripts are built in time order: the emitter in gen.c writes a
 * connection's segments in the order they were pushed.
 */
#include "gen.h"

#include <stdlib.h>

/* ---- building blocks --------------------------------------------------- */

static struct seg *push(struct build *b, int dir, uint8_t flags, uint32_t seq, uint16_t len)
{
    struct conn *c = b->c;
    struct ep *e = &b->ep[dir], *peer = &b->ep[!dir];
    struct seg *s;

    if (c->nsegs == c->cap) {
        uint32_t cap = c->cap ? c->cap * 2 : 32;
        struct seg *n = realloc(c->segs, cap * sizeof *n);
        if (!n) {
            b->oom = true;
            return NULL;
        }
        c->segs = n;
        c->cap = cap;
    }
    s = &c->segs[c->nsegs++];
    *s = (struct seg){.t = b->t, .seq = seq, .len = len, .flags = flags, .dir = (uint8_t)dir};
    s->ack = (flags & TH_ACK) ? peer->nxt : 0;
    /* RFC 7323: a TSval clock ticking in milliseconds, as Linux's does. */
    s->tsval = e->ts_last = e->ts_base + (uint32_t)(b->t / 1000);
    s->tsecr = peer->ts_last;
    if (flags & TH_SYN) {
        s->opt = (dir == CLI || b->ts_on) ? OPT_SYN_TS : OPT_SYN_NOTS;
        s->win = c->tup.v6 ? 64800 : 64240;
    } else if (flags & TH_RST) {
        s->opt = OPT_NONE;
        s->win = 0;
    } else {
        s->opt = b->ts_on ? OPT_TS : OPT_NONE;
        s->win = e->win;
    }
    return s;
}

/* Sends new data (or SYN/FIN) and advances the sender's sequence space.
 * The segment may be adjusted until the next push; NULL when out of memory. */
static struct seg *send_seg(struct build *b, int dir, uint8_t flags, uint16_t len)
{
    struct ep *e = &b->ep[dir];
    struct seg *s = push(b, dir, flags, e->nxt, len);

    e->nxt += len + ((flags & TH_SYN) ? 1u : 0u) + ((flags & TH_FIN) ? 1u : 0u);
    return s;
}

static void tick(struct build *b, uint32_t lo, uint32_t hi) { b->t += rng_range(b->rng, lo, hi); }

/* The tap sits next to the client: what the server sends in answer shows up
 * one round trip after the client's packet, the client's own answers after
 * only kernel turnaround. */
static void answer_delay(struct build *b, int dir)
{
    if (dir == SRV)
        b->t += b->rtt;
    tick(b, 5, 60);
}

/* A host answers a segment it has no socket for (or that its closed socket
 * will not take) with an RST that acknowledges nothing and takes its
 * sequence number from the segment's ACK field (RFC 9293 3.10.7.1). */
static void reset_reply(struct build *b, int dir)
{
    answer_delay(b, dir);
    push(b, dir, TH_RST, b->ep[dir].nxt, 0);
}

/* Total response segments for one connection, drawn so that the mean
 * packets per connection comes out near cfg->ppc_x256. */
static uint32_t draw_segments(const struct cfg *cfg, struct rng *r)
{
    /* Measured over the default mix: a connection costs about 7.9 packets
     * plus 1.5 per response segment (the segment and half a delayed ACK). */
    int64_t m_x256 = ((int64_t)cfg->ppc_x256 - 2020) * 2 / 3;

    if (m_x256 < 256)
        m_x256 = 256;
    return 1 + rng_below(r, (uint32_t)(2 * m_x256 - 256)) / 256;
}

/* ---- opening ----------------------------------------------------------- */

static void syn(struct build *b) { send_seg(b, CLI, TH_SYN, 0); }

/* The client's SYN again, 1 s after the first and doubling (Linux's
 * TCP_TIMEOUT_INIT and backoff). */
static void syn_again(struct build *b, uint32_t retries)
{
    uint32_t isn = b->ep[CLI].nxt - 1;
    uint64_t gap = 1000000;

    for (uint32_t i = 0; i < retries; i++, gap *= 2) {
        b->t += gap;
        push(b, CLI, TH_SYN, isn, 0);
    }
}

static void synack_ack(struct build *b)
{
    answer_delay(b, SRV);
    send_seg(b, SRV, TH_SYN | TH_ACK, 0);
    answer_delay(b, CLI);
    send_seg(b, CLI, TH_ACK, 0);
}

static void handshake(struct build *b)
{
    syn(b);
    synack_ack(b);
}

/* ---- data -------------------------------------------------------------- */

static void request(struct build *b, bool lose)
{
    uint16_t len = (uint16_t)rng_range(b->rng, 40, 1200);
    uint32_t seq = b->ep[CLI].nxt;

    tick(b, 20, 2000); /* the client application writes */
    send_seg(b, CLI, TH_PSH | TH_ACK, len);
    if (lose) {
        /* lost beyond the tap: the same bytes again after one RTO */
        b->t += RTO_MIN_US + b->rtt;
        push(b, CLI, TH_PSH | TH_ACK, seq, len);
    }
}

/* The tail segment was lost: the client cannot ack it, so the server
 * resends it after one RTO and only then is it acknowledged. */
static void resend_tail(struct build *b, uint32_t seq, uint16_t len)
{
    b->t += RTO_MIN_US + b->rtt;
    push(b, SRV, TH_PSH | TH_ACK, seq, len);
    answer_delay(b, CLI);
    send_seg(b, CLI, TH_ACK, 0);
}

/*
 * The client's application stops reading: the ACK zw, just sent,
 * advertises a zero window.  The server's persist timer probes it (an ACK
 * one byte below its next sequence number, no payload) one RTO after the
 * window reached it, then doubling; the client answers each with the zero
 * window again, until its application reads and a window update reopens
 * it 0.1-2.5 s after it closed.  The server resumes when that arrives.
 */
static void window_closed(struct build *b, struct seg *zw)
{
    uint64_t reopen = b->t + rng_range(b->rng, 100000, 2500000);
    uint64_t rto = RTO_MIN_US + b->rtt;

    zw->win = 0;
    for (uint64_t at = b->t + b->rtt + rto; at + 100 < reopen; rto *= 2, at += rto) {
        struct seg *s;
        b->t = at;
        push(b, SRV, TH_ACK, b->ep[SRV].nxt - 1, 0);
        answer_delay(b, CLI);
        s = send_seg(b, CLI, TH_ACK, 0);
        if (s)
            s->win = 0;
    }
    b->t = reopen;
    send_seg(b, CLI, TH_ACK, 0);
    b->t += b->rtt;
}

/* The server's nseg segments; the client acks every second one and the
 * last, the way delayed ACK does on Linux.  lose_tail: the last one is
 * lost past the tap and resent.  close_at (even, or 0): the client's ACK of
 * that segment closes its window. */
static void segments(struct build *b, uint32_t nseg, bool lose_tail, uint32_t close_at)
{
    uint16_t mss = b->ep[SRV].pay_mss;
    /* a resent 1-byte segment is what Wireshark takes for a keep-alive */
    uint16_t min_tail = lose_tail ? 2 : 1;

    for (uint32_t i = 1; i <= nseg; i++) {
        bool last = i == nseg;
        uint16_t len = last ? (uint16_t)rng_range(b->rng, min_tail, mss) : mss;
        uint32_t seq = b->ep[SRV].nxt;

        if (i > 1)
            tick(b, 10, 40); /* back to back at line rate */
        send_seg(b, SRV, last ? TH_PSH | TH_ACK : TH_ACK, len);
        if (last && lose_tail) {
            resend_tail(b, seq, len);
            return;
        }
        if (i % 2 == 0 || last) {
            struct seg *ack;
            answer_delay(b, CLI);
            ack = send_seg(b, CLI, TH_ACK, 0);
            if (i == close_at && ack)
                window_closed(b, ack);
        }
    }
}

static void response(struct build *b, uint32_t nseg, bool lose_tail)
{
    answer_delay(b, SRV);
    tick(b, 50, 5000); /* server think time */
    segments(b, nseg, lose_tail, 0);
}

/* One or more request/response rounds (keep-alive).  lost: CLI loses its
 * first request, SRV the tail of its last response, -1 nothing. */
static void rounds(struct build *b, const struct cfg *cfg, int lost)
{
    uint32_t total = draw_segments(cfg, b->rng);
    uint32_t n = 1 + (total - 1) / MAX_SEGS_ROUND;

    if (total >= 2 && n < total && rng_below(b->rng, 5) == 0)
        n++;
    for (uint32_t r = 0; r < n; r++) {
        uint32_t segs = total / n + (r < total % n ? 1 : 0);
        bool final = r + 1 == n;
        request(b, r == 0 && lost == CLI);
        response(b, segs, final && lost == SRV);
    }
}

/* An ACK one byte below the sender's next sequence number, no payload:
 * Linux's keepalive probe, which the peer must answer. */
static void keepalive_probe(struct build *b, int dir)
{
    push(b, dir, TH_ACK, b->ep[dir].nxt - 1, 0);
}

/* ---- closing ----------------------------------------------------------- */

static void close_fin(struct build *b, int closer, bool four_way)
{
    int peer = !closer;

    tick(b, 100, 20000); /* the closer's application calls close() */
    send_seg(b, closer, TH_FIN | TH_ACK, 0);
    answer_delay(b, peer);
    if (four_way) {
        send_seg(b, peer, TH_ACK, 0);
        tick(b, 100, 5000); /* the peer reads EOF, then closes */
    }
    send_seg(b, peer, TH_FIN | TH_ACK, 0);
    answer_delay(b, closer);
    send_seg(b, closer, TH_ACK, 0);
}

static void close_any(struct build *b)
{
    int closer = (int)rng_below(b->rng, 2);

    close_fin(b, closer, rng_below(b->rng, 5) < 2);
}

/* ---- the kinds --------------------------------------------------------- */

static void conn_normal(struct build *b, const struct cfg *cfg)
{
    handshake(b);
    rounds(b, cfg, -1);
    close_any(b);
}

/* Data exchanged, then an RST/ACK from either side instead of a FIN. */
static void conn_rst(struct build *b, const struct cfg *cfg)
{
    int closer;

    handshake(b);
    rounds(b, cfg, -1);
    closer = (int)rng_below(b->rng, 2);
    tick(b, 100, 20000);
    push(b, closer, TH_RST | TH_ACK, b->ep[closer].nxt, 0);
}

static void conn_refused(struct build *b, const struct cfg *cfg)
{
    (void)cfg;
    send_seg(b, CLI, TH_SYN, 0);
    answer_delay(b, SRV);
    push(b, SRV, TH_RST | TH_ACK, 0, 0); /* RFC 9293 3.10.7.1: SEQ=0 */
}

/* SYN retransmitted after 1, 2 and 4 s, never answered; the client gives up. */
static void conn_syn_timeout(struct build *b, const struct cfg *cfg)
{
    (void)cfg;
    syn(b);
    syn_again(b, 3);
}

/* The client's first request or the server's last segment is lost. */
static void conn_retrans(struct build *b, const struct cfg *cfg)
{
    handshake(b);
    rounds(b, cfg, (int)rng_below(b->rng, 2));
    close_any(b);
}

/* One FIN, acknowledged, then nothing: the receiver stays in CLOSE_WAIT. */
static void conn_close_wait(struct build *b, const struct cfg *cfg)
{
    int closer;

    handshake(b);
    rounds(b, cfg, -1);
    closer = (int)rng_below(b->rng, 2);
    tick(b, 100, 20000);
    send_seg(b, closer, TH_FIN | TH_ACK, 0);
    answer_delay(b, !closer);
    send_seg(b, !closer, TH_ACK, 0);
}

/* The first SYN (in half of them the second too) is lost past the tap;
 * the server answers the retransmission. */
static void conn_syn_retry(struct build *b, const struct cfg *cfg)
{
    syn(b);
    syn_again(b, rng_range(b->rng, 1, 2));
    synack_ack(b);
    rounds(b, cfg, -1);
    close_any(b);
}

/*
 * The server's accept queue is full: its kernel drops the client's
 * handshake ACK and resends the SYN-ACK 1 s (in half of them 1 s and 3 s)
 * after the first; the client, ESTABLISHED, answers each with its ACK
 * again, and the last one finds room.  The server accept()s and speaks
 * first (an SMTP greeting, port 25), so nothing the client sent was lost.
 */
static void conn_synack_retrans(struct build *b, const struct cfg *cfg)
{
    uint32_t isn = b->ep[SRV].nxt;
    uint32_t n = rng_range(b->rng, 1, 2);
    uint64_t sent, gap = 1000000;

    b->c->tup.port[SRV] = 25;
    syn(b);
    answer_delay(b, SRV);
    sent = b->t;
    send_seg(b, SRV, TH_SYN | TH_ACK, 0);
    answer_delay(b, CLI);
    send_seg(b, CLI, TH_ACK, 0);
    for (uint32_t i = 0; i < n; i++, gap *= 2) {
        sent += gap;
        b->t = sent;
        push(b, SRV, TH_SYN | TH_ACK, isn, 0);
        answer_delay(b, CLI);
        send_seg(b, CLI, TH_ACK, 0);
    }
    response(b, 1, false); /* the banner */
    rounds(b, cfg, -1);
    close_any(b);
}

/*
 * The server closes an idle keep-alive connection just as the client
 * reuses it: the client's kernel acknowledges the FIN, its application (a
 * pool that has not noticed) writes the next request anyway, and the
 * server, whose socket is closed, answers the data with an RST.
 */
static void conn_rst_after_close(struct build *b, const struct cfg *cfg)
{
    handshake(b);
    rounds(b, cfg, -1);
    tick(b, 1000, 500000);
    send_seg(b, SRV, TH_FIN | TH_ACK, 0);
    answer_delay(b, CLI);
    send_seg(b, CLI, TH_ACK, 0);
    request(b, false);
    reset_reply(b, SRV);
}

/*
 * The last FIN is not acknowledged in time: the server closes first, the
 * client follows from CLOSE_WAIT, and the server's ACK of the client's FIN
 * is lost.  The client resends its FIN after one RTO and the ACK comes; in
 * a quarter of them no ACK ever comes (a firewall dropped the flow after
 * both FINs): the client resends it twice or three times, doubling, and
 * the capture shows nothing more of it.
 */
static void conn_fin_retrans(struct build *b, const struct cfg *cfg)
{
    bool answered = rng_below(b->rng, 4) != 0;
    uint32_t n = answered ? 1 : rng_range(b->rng, 2, 3);
    uint64_t rto = RTO_MIN_US + b->rtt;

    handshake(b);
    rounds(b, cfg, -1);
    tick(b, 100, 20000);
    send_seg(b, SRV, TH_FIN | TH_ACK, 0);
    answer_delay(b, CLI);
    send_seg(b, CLI, TH_ACK, 0);
    tick(b, 100, 5000); /* the client reads EOF, then closes */
    send_seg(b, CLI, TH_FIN | TH_ACK, 0);
    for (uint32_t i = 0; i < n; i++, rto *= 2) {
        b->t += rto;
        push(b, CLI, TH_FIN | TH_ACK, b->ep[CLI].nxt - 1, 0);
    }
    if (answered) {
        answer_delay(b, SRV);
        send_seg(b, SRV, TH_ACK, 0);
    }
}

/*
 * The client gives up on a slow request and closes; the server
 * acknowledges the FIN, so the client's socket, now an orphan, waits in
 * FIN_WAIT_2.  1-3 s later the server application answers anyway and the
 * client's kernel resets the data it can no longer deliver; in half of
 * them the server only closes (FIN) and the client's host, as one whose
 * orphan was reaped, answers the FIN with an RST.
 */
static void conn_fin_wait2(struct build *b, const struct cfg *cfg)
{
    bool data = rng_below(b->rng, 2) == 0;

    handshake(b);
    rounds(b, cfg, -1);
    request(b, false);
    answer_delay(b, SRV);
    tick(b, 20000, 40000); /* the server's delayed ACK of the request */
    send_seg(b, SRV, TH_ACK, 0);
    b->t += rng_range(b->rng, 500000, 2000000); /* the client's timeout */
    send_seg(b, CLI, TH_FIN | TH_ACK, 0);
    answer_delay(b, SRV);
    send_seg(b, SRV, TH_ACK, 0);
    b->t += rng_range(b->rng, 1000000, 3000000);
    if (data)
        send_seg(b, SRV, TH_PSH | TH_ACK, (uint16_t)rng_range(b->rng, 40, b->ep[SRV].pay_mss));
    else
        send_seg(b, SRV, TH_FIN | TH_ACK, 0);
    reset_reply(b, CLI);
}

/*
 * Both applications close at once and the FINs cross: the server's FIN,
 * sent before the client's reached it, does not acknowledge it.  Each side
 * acknowledges the other's FIN from CLOSING and both end in TIME_WAIT.
 */
static void conn_simul_close(struct build *b, const struct cfg *cfg)
{
    uint32_t before_fin, fin_ts;
    uint64_t t_fin, t_ack;
    struct seg *s;

    handshake(b);
    rounds(b, cfg, -1);
    tick(b, 100, 20000);
    t_fin = b->t;
    before_fin = b->ep[CLI].ts_last;
    send_seg(b, CLI, TH_FIN | TH_ACK, 0);
    fin_ts = b->ep[CLI].ts_last;
    b->t += b->rtt / 4 + rng_below(b->rng, b->rtt / 2);
    s = send_seg(b, SRV, TH_FIN | TH_ACK, 0);
    if (s) {
        s->ack = b->ep[CLI].nxt - 1;
        s->tsecr = before_fin;
    }
    answer_delay(b, CLI);
    send_seg(b, CLI, TH_ACK, 0);
    t_ack = t_fin + b->rtt + rng_range(b->rng, 5, 60);
    b->t = t_ack > b->t ? t_ack : b->t + 1;
    s = send_seg(b, SRV, TH_ACK, 0);
    if (s)
        s->tsecr = fin_ts;
}

/* The client half-closes (shutdown(SHUT_WR), as netcat -N does) right after
 * its request and reads the whole response, which the server sends from
 * CLOSE_WAIT before closing in turn. */
static void conn_half_close(struct build *b, const struct cfg *cfg)
{
    (void)cfg;
    handshake(b);
    request(b, false);
    tick(b, 20, 500);
    send_seg(b, CLI, TH_FIN | TH_ACK, 0);
    answer_delay(b, SRV);
    send_seg(b, SRV, TH_ACK, 0);
    tick(b, 50, 5000);
    segments(b, rng_range(b->rng, 1, MAX_SEGS_ROUND), false, 0);
    tick(b, 100, 5000);
    send_seg(b, SRV, TH_FIN | TH_ACK, 0);
    answer_delay(b, CLI);
    send_seg(b, CLI, TH_ACK, 0);
}

/* A download the client's application stops reading halfway (window_closed). */
static void conn_zero_window(struct build *b, const struct cfg *cfg)
{
    uint32_t nseg = rng_range(b->rng, 4, MAX_SEGS_ROUND);
    uint32_t close_at = 2 * rng_range(b->rng, 1, (nseg - 1) / 2);

    (void)cfg;
    handshake(b);
    request(b, false);
    answer_delay(b, SRV);
    tick(b, 50, 5000);
    segments(b, nseg, false, close_at);
    close_any(b);
}

/* An idle pooled connection: after TCP_KEEPIDLE (1-3 s here; applications
 * set it that short) one side's kernel probes, the peer answers; once or
 * twice, then the connection closes normally. */
static void conn_keepalive(struct build *b, const struct cfg *cfg)
{
    int prober = (int)rng_below(b->rng, 2);
    uint32_t idle = rng_range(b->rng, 1000000, 3000000);
    uint32_t n = rng_range(b->rng, 1, 2);

    handshake(b);
    rounds(b, cfg, -1);
    for (uint32_t i = 0; i < n; i++) {
        b->t += idle;
        keepalive_probe(b, prober);
        answer_delay(b, !prober);
        send_seg(b, !prober, TH_ACK, 0);
    }
    close_any(b);
}

/* The peer is gone (host down, or a NAT forgot the idle flow): after
 * TCP_KEEPIDLE (1-3 s) the prober sends 3-5 probes TCP_KEEPINTVL (1 s)
 * apart, none answered, then resets the connection (ETIMEDOUT). */
static void conn_keepalive_dead(struct build *b, const struct cfg *cfg)
{
    int prober = (int)rng_below(b->rng, 2);
    uint32_t n = rng_range(b->rng, 3, 5);

    handshake(b);
    rounds(b, cfg, -1);
    b->t += rng_range(b->rng, 1000000, 3000000);
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            b->t += 1000000;
        keepalive_probe(b, prober);
    }
    b->t += 1000000;
    push(b, prober, TH_RST | TH_ACK, b->ep[prober].nxt, 0);
}

/* The server vanishes (host down, path blackholed) after some rounds: the
 * client's next request is retransmitted 3-5 times, RTO doubling, never
 * acknowledged, and the capture shows nothing more of it. */
static void conn_stall(struct build *b, const struct cfg *cfg)
{
    uint16_t len = (uint16_t)rng_range(b->rng, 40, 1200);
    uint32_t n = rng_range(b->rng, 3, 5);
    uint64_t rto = RTO_MIN_US + b->rtt;
    uint32_t seq;

    handshake(b);
    rounds(b, cfg, -1);
    tick(b, 20, 2000);
    seq = b->ep[CLI].nxt;
    send_seg(b, CLI, TH_PSH | TH_ACK, len);
    for (uint32_t i = 0; i < n; i++, rto *= 2) {
        b->t += rto;
        push(b, CLI, TH_PSH | TH_ACK, seq, len);
    }
}

/* Opened before the capture started: the first packet is data, sequence
 * numbers are well past the ISNs and timestamps echo earlier segments. */
static void conn_midstream(struct build *b, const struct cfg *cfg)
{
    for (int d = CLI; d <= SRV; d++) {
        struct ep *e = &b->ep[d];
        e->nxt += 1 + rng_below(b->rng, 1u << 24);
        e->ts_last = e->ts_base + (uint32_t)(b->t / 1000) - rng_range(b->rng, 1, 5000);
    }
    rounds(b, cfg, -1);
    close_any(b);
}

/*
 * The server writes a last segment and aborts (RST/ACK): the RST overtakes
 * the data on the path, so the tap sees the data after the RST, and the
 * client's host, whose socket the RST closed, resets that segment too.
 */
static void conn_rst_reorder(struct build *b, const struct cfg *cfg)
{
    uint16_t len;
    uint32_t seq, tsval;
    struct seg *s;

    handshake(b);
    rounds(b, cfg, -1);
    tick(b, 100, 20000);
    len = (uint16_t)rng_range(b->rng, 40, b->ep[SRV].pay_mss);
    seq = b->ep[SRV].nxt;
    s = push(b, SRV, TH_RST | TH_ACK, seq + len, 0);
    tsval = s ? s->tsval : 0;
    tick(b, 20, 500);
    s = send_seg(b, SRV, TH_PSH | TH_ACK, len);
    if (s)
        s->tsval = tsval; /* it was sent before the RST */
    reset_reply(b, CLI);
}

/* A normal connection whose SYN-ACK the capture lost (tcpdump's "packets
 * dropped by kernel"). */
static void conn_capture_gap(struct build *b, const struct cfg *cfg)
{
    syn(b);
    answer_delay(b, SRV);
    if (send_seg(b, SRV, TH_SYN | TH_ACK, 0))
        b->c->nsegs--;
    answer_delay(b, CLI);
    send_seg(b, CLI, TH_ACK, 0);
    rounds(b, cfg, -1);
    close_any(b);
}

/* A firewall on the server host rejects the SYN with an ICMP
 * administratively prohibited (nft `reject with icmp type
 * admin-prohibited`): the client's connect() fails at once. */
static void conn_icmp_reject(struct build *b, const struct cfg *cfg)
{
    (void)cfg;
    syn(b);
    answer_delay(b, SRV);
    struct seg *s = push(b, SRV, 0, b->ep[CLI].nxt - 1u, 0);
    if (s != NULL)
        s->opt = OPT_ICMP;
}

typedef void script_fn(struct build *b, const struct cfg *cfg);

/* Name, default share (12.1 % in all), and whether `reuse` may take the
 * 4-tuple over afterwards (the connection ended in the capture). */
const struct kind_info kind_info[K_NKINDS] = {
    [K_NORMAL] = {"normal", 0, true},
    [K_RST] = {"rst", 1500, true},
    [K_REFUSED] = {"refused", 1500, false},
    [K_SYN_TIMEOUT] = {"syn_timeout", 500, false},
    [K_RETRANS] = {"retrans", 1500, true},
    [K_REUSE] = {"reuse", 1500, true},
    [K_CLOSE_WAIT] = {"close_wait", 500, false},
    [K_SYN_RETRY] = {"syn_retry", 500, true},
    [K_SYNACK_RETRANS] = {"synack_retrans", 300, true},
    [K_RST_AFTER_CLOSE] = {"rst_after_close", 500, true},
    [K_FIN_RETRANS] = {"fin_retrans", 300, false},
    [K_FIN_WAIT2] = {"fin_wait2", 300, true},
    [K_SIMUL_CLOSE] = {"simul_close", 500, true},
    [K_HALF_CLOSE] = {"half_close", 500, true},
    [K_ZERO_WINDOW] = {"zero_window", 500, true},
    [K_KEEPALIVE] = {"keepalive", 300, true},
    [K_KEEPALIVE_DEAD] = {"keepalive_dead", 200, true},
    [K_STALL] = {"stall", 200, false},
    [K_MIDSTREAM] = {"midstream", 500, true},
    [K_RST_REORDER] = {"rst_reorder", 200, true},
    [K_CAPTURE_GAP] = {"capture_gap", 200, false},
    [K_ICMP_REJECT] = {"icmp_reject", 100, false},
};

static script_fn *const scripts[K_NKINDS] = {
    [K_NORMAL] = conn_normal,
    [K_RST] = conn_rst,
    [K_REFUSED] = conn_refused,
    [K_SYN_TIMEOUT] = conn_syn_timeout,
    [K_RETRANS] = conn_retrans,
    [K_REUSE] = conn_normal,
    [K_CLOSE_WAIT] = conn_close_wait,
    [K_SYN_RETRY] = conn_syn_retry,
    [K_SYNACK_RETRANS] = conn_synack_retrans,
    [K_RST_AFTER_CLOSE] = conn_rst_after_close,
    [K_FIN_RETRANS] = conn_fin_retrans,
    [K_FIN_WAIT2] = conn_fin_wait2,
    [K_SIMUL_CLOSE] = conn_simul_close,
    [K_HALF_CLOSE] = conn_half_close,
    [K_ZERO_WINDOW] = conn_zero_window,
    [K_KEEPALIVE] = conn_keepalive,
    [K_KEEPALIVE_DEAD] = conn_keepalive_dead,
    [K_STALL] = conn_stall,
    [K_MIDSTREAM] = conn_midstream,
    [K_RST_REORDER] = conn_rst_reorder,
    [K_CAPTURE_GAP] = conn_capture_gap,
    [K_ICMP_REJECT] = conn_icmp_reject,
};

void script_conn(struct build *b, const struct cfg *cfg, enum kind k) { scripts[k](b, cfg); }
