/*
 * The endpoint state machine, one scenario per function, written as the
 * capture would show it: after every segment both endpoints' states and
 * the event kind are checked. Sequence numbers start just below 2^32 in
 * several scenarios, so every comparison crosses the wrap.
 */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tcplens/detect.h"
#include "tcplens/tcpstate.h"
#include "tcplens/timeline.h"

enum { C2S = TL_ROLE_CLIENT, S2C = TL_ROLE_SERVER };

struct script {
    struct tap *t;
    struct tl_tcpstate st;
    struct tl_step step;
    int64_t now;
    const char *name;
};

static void start(struct script *s, struct tap *t, const char *name)
{
    memset(s, 0, sizeof *s);
    s->t = t;
    s->name = name;
    tl_tcpstate_init(&s->st);
}

/* A segment as the decoder gives it. */
static struct tl_pkt segment(uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len, uint16_t win)
{
    struct tl_pkt p;
    memset(&p, 0, sizeof p);
    p.flags = flags;
    p.seq = seq;
    p.ack = ack;
    p.payload_len = len;
    p.win = win;
    return p;
}

/* Feeds one segment 1 ms after the previous one. */
static void seg(struct script *s, int dir, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len,
                uint16_t win)
{
    struct tl_pkt p = segment(flags, seq, ack, len, win);
    s->now += 1000;
    tl_tcpstate_update(&s->st, &p, (enum tl_role)dir, s->now, &s->step);
}

/* Checks both states and the event kind after the last segment. */
static void expect(struct script *s, enum tl_ep_state c, enum tl_ep_state sv, enum tl_evkind kind)
{
    char name[160];
    snprintf(name, sizeof name, "%s: client %s, server %s, %s", s->name, tl_ep_state_name(c),
             tl_ep_state_name(sv), tl_evkind_name(kind));
    bool good = s->st.ep[C2S].state == c && s->st.ep[S2C].state == sv && s->step.kind == kind;
    ok(s->t, good, name);
    if (!good)
        printf("#   got client %s, server %s, %s\n",
               tl_ep_state_name((enum tl_ep_state)s->st.ep[C2S].state),
               tl_ep_state_name((enum tl_ep_state)s->st.ep[S2C].state),
               tl_evkind_name((enum tl_evkind)s->step.kind));
}

#define S TL_TH_SYN
#define A TL_TH_ACK
#define F TL_TH_FIN
#define R TL_TH_RST
#define P TL_TH_PSH

/* Handshake with client ISN c and server ISN v; data 10 bytes each way. */
static void handshake(struct script *s, uint32_t c, uint32_t v)
{
    seg(s, C2S, S, c, 0, 0, 65535);
    expect(s, TL_EP_SYN_SENT, TL_EP_LISTEN, TL_K_SYN);
    seg(s, S2C, S | A, v, c + 1, 0, 65535);
    expect(s, TL_EP_SYN_SENT, TL_EP_SYN_RECV, TL_K_SYNACK);
    seg(s, C2S, A, c + 1, v + 1, 0, 512);
    expect(s, TL_EP_ESTABLISHED, TL_EP_ESTABLISHED, TL_K_HANDSHAKE_ACK);
    seg(s, C2S, A | P, c + 1, v + 1, 10, 512);
    expect(s, TL_EP_ESTABLISHED, TL_EP_ESTABLISHED, TL_K_DATA);
    seg(s, S2C, A | P, v + 1, c + 11, 10, 512);
    expect(s, TL_EP_ESTABLISHED, TL_EP_ESTABLISHED, TL_K_DATA);
}

static void client_closes_first(struct tap *t)
{
    struct script s;
    start(&s, t, "client closes");
    uint32_t c = 0xfffffff0u, v = 0xfffffffeu; /* both wrap during the exchange */
    handshake(&s, c, v);
    seg(&s, C2S, F | A, c + 11, v + 11, 0, 512);
    expect(&s, TL_EP_FIN_WAIT_1, TL_EP_ESTABLISHED, TL_K_FIN);
    seg(&s, S2C, A, v + 11, c + 12, 0, 512);
    expect(&s, TL_EP_FIN_WAIT_2, TL_EP_CLOSE_WAIT, TL_K_FIN_ACK);
    seg(&s, S2C, F | A, v + 11, c + 12, 0, 512);
    expect(&s, TL_EP_FIN_WAIT_2, TL_EP_LAST_ACK, TL_K_FIN);
    seg(&s, C2S, A, c + 12, v + 12, 0, 512);
    expect(&s, TL_EP_TIME_WAIT, TL_EP_CLOSED, TL_K_FIN_ACK);
    ok(t, s.step.ended && tl_tcpstate_end(&s.st) == TL_END_FIN, "client closes: ended by FIN");
    struct tl_step st;
    int64_t when;
    ok(t, !tl_tcpstate_advance(&s.st, s.now + 59 * TL_USEC_PER_SEC, false, &st, &when),
       "TIME_WAIT still there after 59 s");
    ok(t,
       tl_tcpstate_advance(&s.st, s.now + 61 * TL_USEC_PER_SEC, false, &st, &when) &&
           s.st.ep[C2S].state == TL_EP_CLOSED && when == s.now + 60 * TL_USEC_PER_SEC &&
           st.kind == TL_K_TIME_WAIT_END,
       "TIME_WAIT ends 60 s after it began");
}

static void server_closes_with_fin_ack(struct tap *t)
{
    struct script s;
    start(&s, t, "server closes, client FIN+ACK");
    handshake(&s, 100, 900);
    seg(&s, S2C, F | A, 911, 111, 0, 512);
    expect(&s, TL_EP_ESTABLISHED, TL_EP_FIN_WAIT_1, TL_K_FIN);
    /* The client took the FIN in and closes at once: FIN+ACK. */
    seg(&s, C2S, F | A, 111, 912, 0, 512);
    expect(&s, TL_EP_LAST_ACK, TL_EP_FIN_WAIT_2, TL_K_FIN);
    seg(&s, S2C, A, 912, 112, 0, 512);
    expect(&s, TL_EP_CLOSED, TL_EP_TIME_WAIT, TL_K_FIN_ACK);
}

static void crossing_fins(struct tap *t, bool server_acks_first)
{
    struct script s;
    start(&s, t,
          server_acks_first ? "crossing FINs (server ACKs first)"
                            : "crossing FINs (client ACKs first)");
    handshake(&s, 0xffffff00u, 5000);
    uint32_t c = 0xffffff00u + 11, v = 5011;
    seg(&s, C2S, F | A, c, v, 0, 512);
    expect(&s, TL_EP_FIN_WAIT_1, TL_EP_ESTABLISHED, TL_K_FIN);
    seg(&s, S2C, F | A, v, c, 0, 512); /* does not ack the client's FIN */
    expect(&s, TL_EP_FIN_WAIT_1, TL_EP_FIN_WAIT_1, TL_K_FIN);
    if (server_acks_first) {
        seg(&s, S2C, A, v + 1, c + 1, 0, 512);
        expect(&s, TL_EP_TIME_WAIT, TL_EP_CLOSING, TL_K_FIN_ACK);
        ok(t, s.step.nchanges == 3, "crossing: the client went through CLOSING");
        seg(&s, C2S, A, c + 1, v + 1, 0, 512);
    } else {
        seg(&s, C2S, A, c + 1, v + 1, 0, 512);
        expect(&s, TL_EP_CLOSING, TL_EP_TIME_WAIT, TL_K_FIN_ACK);
        seg(&s, S2C, A, v + 1, c + 1, 0, 512);
    }
    expect(&s, TL_EP_TIME_WAIT, TL_EP_TIME_WAIT, TL_K_FIN_ACK);
}

/* The server's FIN comes again, never acknowledged: the client had not
 * taken it in, whatever in-order delivery suggested. */
static void crossing_fin_lost(struct tap *t)
{
    struct script s;
    start(&s, t, "crossing FINs, the server's FIN unacknowledged");
    handshake(&s, 100, 5000);
    uint32_t c = 111, v = 5011;
    seg(&s, C2S, F | A, c, v, 0, 512);
    seg(&s, S2C, F | A, v, c, 0, 512); /* does not ack the client's FIN */
    seg(&s, S2C, A, v + 1, c + 1, 0, 512);
    expect(&s, TL_EP_TIME_WAIT, TL_EP_CLOSING, TL_K_FIN_ACK);
    s.now += 200000;
    seg(&s, S2C, F | A, v, c + 1, 0, 512); /* again: no ACK reached it */
    expect(&s, TL_EP_FIN_WAIT_2, TL_EP_CLOSING, TL_K_FIN_RETX);
    ok(t,
       s.step.revise && s.step.revise_from == TL_EP_TIME_WAIT &&
           s.step.revise_to == TL_EP_FIN_WAIT_2 && s.step.nchanges == 0,
       "lost FIN: TIME_WAIT revised to FIN_WAIT_2, no step back");
    seg(&s, S2C, F | A, v, c + 1, 0, 512);
    expect(&s, TL_EP_FIN_WAIT_2, TL_EP_CLOSING, TL_K_FIN_RETX);
    seg(&s, C2S, A, c + 1, v + 1, 0, 512); /* at last */
    expect(&s, TL_EP_TIME_WAIT, TL_EP_TIME_WAIT, TL_K_FIN_ACK);
    struct tl_step st;
    ok(t, !tl_tcpstate_settle(&s.st, s.now, &st), "lost FIN: proven at last, nothing to settle");

    /* The capture ends before the client's ACK of the server's FIN: its
     * TIME_WAIT rested on in-order delivery alone. */
    start(&s, t, "crossing FINs, the capture ends first");
    handshake(&s, 100, 5000);
    seg(&s, C2S, F | A, c, v, 0, 512);
    seg(&s, S2C, F | A, v, c, 0, 512);
    seg(&s, S2C, A, v + 1, c + 1, 0, 512);
    expect(&s, TL_EP_TIME_WAIT, TL_EP_CLOSING, TL_K_FIN_ACK);
    ok(t,
       tl_tcpstate_settle(&s.st, s.now, &st) && st.revise && st.revise_from == TL_EP_TIME_WAIT &&
           st.revise_to == TL_EP_FIN_WAIT_2 && s.st.ep[C2S].state == TL_EP_FIN_WAIT_2 &&
           !tl_tcpstate_settle(&s.st, s.now, &st),
       "capture ends: the client's TIME_WAIT, never proven, settles to FIN_WAIT_2");
}

/* Segments the peer sent before an RST reached it, and Windows' final
 * ACK with a window of 0. */
static void in_flight_and_final_zero_window(struct tap *t)
{
    struct script s;
    start(&s, t, "data crossing an RST");
    handshake(&s, 100, 5000);
    seg(&s, C2S, R | A, 111, 5011, 0, 0);
    expect(&s, TL_EP_CLOSED, TL_EP_CLOSED, TL_K_RST);
    seg(&s, S2C, A | P, 5011, 111, 100, 512);
    expect(&s, TL_EP_CLOSED, TL_EP_CLOSED, TL_K_IN_FLIGHT);
    s.now += 2000000;
    seg(&s, S2C, A | P, 5111, 111, 100, 512);
    expect(&s, TL_EP_CLOSED, TL_EP_CLOSED, TL_K_UNEXPECTED);

    start(&s, t, "final ACK with window 0");
    handshake(&s, 100, 5000);
    seg(&s, C2S, F | A, 111, 5011, 0, 512);
    seg(&s, S2C, F | A, 5011, 112, 0, 512);
    seg(&s, C2S, A, 112, 5012, 0, 0);
    expect(&s, TL_EP_TIME_WAIT, TL_EP_CLOSED, TL_K_FIN_ACK);
    seg(&s, C2S, A, 112, 5012, 0, 0); /* once more: still no zero window */
    ok(t, s.step.kind != TL_K_ZERO_WINDOW, "a window of 0 after both FINs is no zero window");
}

static void refused_and_rst(struct tap *t)
{
    struct script s;
    start(&s, t, "refused");
    seg(&s, C2S, S, 7, 0, 0, 65535);
    seg(&s, S2C, R | A, 0, 9, 0, 0); /* acks the wrong ISN: not acceptable */
    expect(&s, TL_EP_SYN_SENT, TL_EP_CLOSED, TL_K_RST_IGNORED);
    start(&s, t, "refused");
    seg(&s, C2S, S, 7, 0, 0, 65535);
    seg(&s, S2C, R | A, 0, 8, 0, 0);
    expect(&s, TL_EP_CLOSED, TL_EP_CLOSED, TL_K_RST);
    ok(t, tl_tcpstate_end(&s.st) == TL_END_RST, "refused: ended by RST");

    start(&s, t, "RST in the window");
    handshake(&s, 1000, 2000);
    seg(&s, S2C, R, 2011 + 70000, 0, 0, 0); /* beyond the 512-byte window */
    expect(&s, TL_EP_ESTABLISHED, TL_EP_CLOSED, TL_K_RST_IGNORED);
    start(&s, t, "RST in the window");
    handshake(&s, 1000, 2000);
    seg(&s, S2C, R | A, 2011, 1011, 0, 0);
    expect(&s, TL_EP_CLOSED, TL_EP_CLOSED, TL_K_RST);
}

static void accept_queue_drop(struct tap *t)
{
    struct script s;
    start(&s, t, "accept queue full");
    seg(&s, C2S, S, 50, 0, 0, 65535);
    seg(&s, S2C, S | A, 80, 51, 0, 65535);
    seg(&s, C2S, A, 51, 81, 0, 512);
    expect(&s, TL_EP_ESTABLISHED, TL_EP_ESTABLISHED, TL_K_HANDSHAKE_ACK);
    seg(&s, S2C, S | A, 80, 51, 0, 65535); /* again: the ACK never got in */
    expect(&s, TL_EP_ESTABLISHED, TL_EP_SYN_RECV, TL_K_ACK_DROPPED);
    ok(t,
       s.step.nchanges == 0 && s.step.revise && s.step.revise_role == TL_ROLE_SERVER &&
           s.step.revise_from == TL_EP_ESTABLISHED && s.step.revise_to == TL_EP_SYN_RECV,
       "accept queue: a revision, not a step back to SYN_RECV");
    seg(&s, C2S, A, 51, 81, 0, 512); /* the client answers; proves nothing */
    expect(&s, TL_EP_ESTABLISHED, TL_EP_SYN_RECV, TL_K_ACK);
    seg(&s, C2S, A | P, 51, 81, 20, 512);
    expect(&s, TL_EP_ESTABLISHED, TL_EP_SYN_RECV, TL_K_DATA);
    seg(&s, S2C, A, 81, 71, 0, 512); /* accepted at last: it speaks */
    expect(&s, TL_EP_ESTABLISHED, TL_EP_ESTABLISHED, TL_K_ACK);
}

static void half_close_and_reaped_fin_wait2(struct tap *t)
{
    struct script s;
    start(&s, t, "half close");
    handshake(&s, 10, 20);
    seg(&s, C2S, F | A, 21, 31, 0, 512);
    seg(&s, S2C, A, 31, 22, 0, 512);
    expect(&s, TL_EP_FIN_WAIT_2, TL_EP_CLOSE_WAIT, TL_K_FIN_ACK);
    seg(&s, S2C, A | P, 31, 22, 100, 512); /* the server still sends */
    expect(&s, TL_EP_FIN_WAIT_2, TL_EP_CLOSE_WAIT, TL_K_DATA);
    /* Later data reaches a host that reaped the orphan: RST. */
    seg(&s, C2S, R, 22, 0, 0, 0);
    expect(&s, TL_EP_CLOSED, TL_EP_CLOSED, TL_K_RST);
}

static void last_ack_retransmits(struct tap *t)
{
    struct script s;
    start(&s, t, "final ACK lost");
    handshake(&s, 10, 20);
    seg(&s, C2S, F | A, 21, 31, 0, 512);
    seg(&s, S2C, F | A, 31, 22, 0, 512);
    expect(&s, TL_EP_FIN_WAIT_2, TL_EP_LAST_ACK, TL_K_FIN);
    seg(&s, S2C, F | A, 31, 22, 0, 512);
    expect(&s, TL_EP_FIN_WAIT_2, TL_EP_LAST_ACK, TL_K_FIN_RETX);
    seg(&s, C2S, A, 22, 32, 0, 512);
    expect(&s, TL_EP_TIME_WAIT, TL_EP_CLOSED, TL_K_FIN_ACK);
    ok(t, tl_tcpstate_ended(&s.st), "final ACK lost: ended at the ACK");
    /* The FIN again: the ACK just captured was lost after the capture
     * point. The server never left LAST_ACK, and the connection goes on. */
    s.now += 200000;
    seg(&s, S2C, F | A, 31, 22, 0, 512);
    int64_t again = s.now;
    expect(&s, TL_EP_TIME_WAIT, TL_EP_LAST_ACK, TL_K_FIN_RETX);
    ok(t,
       s.step.revise && s.step.revise_role == TL_ROLE_SERVER &&
           s.step.revise_from == TL_EP_CLOSED && s.step.revise_to == TL_EP_LAST_ACK &&
           s.step.revise_kind == TL_K_FINAL_ACK_LOST && s.step.nchanges == 0,
       "final ACK lost past the capture: CLOSED revised to LAST_ACK, no step back");
    ok(t, !tl_tcpstate_ended(&s.st), "final ACK lost past the capture: not ended");
    seg(&s, C2S, A, 22, 32, 0, 512);
    expect(&s, TL_EP_TIME_WAIT, TL_EP_CLOSED, TL_K_FIN_ACK);
    /* The FIN that reached the client's TIME_WAIT re-armed its 60 s. */
    struct tl_step step;
    int64_t when;
    ok(t, !tl_tcpstate_advance(&s.st, again + TL_TIME_WAIT_US - 1, true, &step, &when),
       "TIME_WAIT re-armed by the FIN again: not over 60 s after it");
    ok(t,
       tl_tcpstate_advance(&s.st, again + TL_TIME_WAIT_US, true, &step, &when) &&
           when == again + TL_TIME_WAIT_US && s.st.ep[C2S].state == TL_EP_CLOSED,
       "TIME_WAIT re-armed by the FIN again: over 60 s after it");
}

/* The peer's ACK of the FIN is captured, then lost: the FIN again, a round
 * trip later, shows its sender never left FIN_WAIT_1. Sooner, the two
 * crossed, and it proves nothing. */
static void fin_ack_lost(struct tap *t)
{
    struct script s;
    start(&s, t, "ACK of the FIN lost");
    handshake(&s, 10, 20);
    seg(&s, C2S, F | A, 11, 21, 0, 512);
    seg(&s, S2C, A, 21, 12, 0, 512);
    expect(&s, TL_EP_FIN_WAIT_2, TL_EP_CLOSE_WAIT, TL_K_FIN_ACK);
    seg(&s, C2S, F | A, 11, 21, 0, 512); /* 1 ms on: crossed the ACK */
    expect(&s, TL_EP_FIN_WAIT_2, TL_EP_CLOSE_WAIT, TL_K_FIN_RETX);
    ok(t, !s.step.revise,
       "ACK of the FIN lost: a retransmission within a round trip proves nothing");
    s.now += 400000;
    seg(&s, C2S, F | A, 11, 21, 0, 512);
    expect(&s, TL_EP_FIN_WAIT_1, TL_EP_CLOSE_WAIT, TL_K_FIN_RETX);
    ok(t,
       s.step.revise && s.step.revise_role == TL_ROLE_CLIENT &&
           s.step.revise_from == TL_EP_FIN_WAIT_2 && s.step.revise_to == TL_EP_FIN_WAIT_1 &&
           s.step.revise_kind == TL_K_FIN_ACK_LOST && s.step.nchanges == 0,
       "ACK of the FIN lost: FIN_WAIT_2 revised to FIN_WAIT_1, no step back");
    seg(&s, S2C, A, 21, 12, 0, 512);
    expect(&s, TL_EP_FIN_WAIT_2, TL_EP_CLOSE_WAIT, TL_K_FIN_ACK);
}

static void midstream_and_probes(struct tap *t)
{
    struct script s;
    start(&s, t, "mid-stream");
    seg(&s, S2C, A | P, 5000, 9000, 100, 512);
    expect(&s, TL_EP_UNKNOWN, TL_EP_ESTABLISHED, TL_K_DATA);
    seg(&s, C2S, A, 9000, 5100, 0, 0);
    expect(&s, TL_EP_ESTABLISHED, TL_EP_ESTABLISHED, TL_K_ZERO_WINDOW);
    seg(&s, S2C, A, 5099, 9000, 0, 512);
    expect(&s, TL_EP_ESTABLISHED, TL_EP_ESTABLISHED, TL_K_ZW_PROBE);
    seg(&s, C2S, A, 9000, 5100, 0, 512);
    expect(&s, TL_EP_ESTABLISHED, TL_EP_ESTABLISHED, TL_K_WINDOW_OPEN);
    seg(&s, S2C, A, 5099, 9000, 0, 512);
    expect(&s, TL_EP_ESTABLISHED, TL_EP_ESTABLISHED, TL_K_KEEPALIVE);
    seg(&s, S2C, A | P, 5050, 9000, 50, 512);
    expect(&s, TL_EP_ESTABLISHED, TL_EP_ESTABLISHED, TL_K_RETX);
    seg(&s, S2C, A | P, 6000, 9000, 50, 512);
    expect(&s, TL_EP_ESTABLISHED, TL_EP_ESTABLISHED, TL_K_GAP);
    ok(t, tl_tcpstate_end(&s.st) == TL_END_OPEN && !tl_tcpstate_ended(&s.st),
       "mid-stream: still open");
}

static void syn_given_up(struct tap *t)
{
    struct script s;
    start(&s, t, "SYNs unanswered");
    int64_t sec = TL_USEC_PER_SEC;
    for (int i = 0; i < 3; i++) { /* at 0, 1 and 3 s: the gap doubles */
        s.now = (i == 0 ? 0 : i == 1 ? 1 : 3) * sec - 1000;
        seg(&s, C2S, S, 77, 0, 0, 65535);
    }
    expect(&s, TL_EP_SYN_SENT, TL_EP_LISTEN, TL_K_SYN_RETX);
    struct tl_step st;
    int64_t when = 0;
    /* Last gap 2 s: the next retry was due by 3 + 2 x 2 + 0.5 + 0.05 s. */
    int64_t due = 3 * sec + 4 * sec + sec / 2 + 50000;
    ok(t, !tl_tcpstate_advance(&s.st, 20 * sec, false, &st, &when),
       "SYNs: no give-up is concluded while packets may still come");
    ok(t, !tl_tcpstate_advance(&s.st, due - 1, true, &st, &when),
       "SYNs: not given up while the next retry may still come");
    ok(t,
       tl_tcpstate_advance(&s.st, due, true, &st, &when) && s.st.ep[C2S].state == TL_EP_CLOSED &&
           st.kind == TL_K_SYN_TIMEOUT && when == due,
       "SYNs: given up once no retry came in twice the last gap (and slack)");
    ok(t, tl_tcpstate_end(&s.st) == TL_END_TIMEOUT && st.ended, "SYNs: ended by timeout");

    /* Windows' 3 s timer: SYNs 2.9 s then 6.0 s apart. */
    start(&s, t, "SYNs 2.9 s and 6 s apart");
    s.now = 0;
    seg(&s, C2S, S, 77, 0, 0, 65535);
    s.now = 2900000;
    seg(&s, C2S, S, 77, 0, 0, 65535);
    ok(t, !tl_tcpstate_advance(&s.st, 8900000, true, &st, &when),
       "SYNs: a retry 6.0 s after a 2.9 s gap was still due");
    s.now = 8900000;
    seg(&s, C2S, S, 77, 0, 0, 65535);
    s.now = 12500000;
    seg(&s, S2C, S | A, 500, 78, 0, 65535);
    expect(&s, TL_EP_SYN_SENT, TL_EP_SYN_RECV, TL_K_SYNACK);

    /* A lone SYN: its first retry was due 3 s later at the latest. */
    start(&s, t, "lone SYN");
    s.now = sec;
    seg(&s, C2S, S, 77, 0, 0, 65535);
    ok(t, !tl_tcpstate_advance(&s.st, sec + 3 * sec, true, &st, &when),
       "lone SYN: not given up 3 s later");
    ok(t,
       tl_tcpstate_advance(&s.st, sec + 4 * sec, true, &st, &when) && st.kind == TL_K_SYN_TIMEOUT,
       "lone SYN: given up when the capture went on 4 s");

    /* The server's SYN-ACK retries stop, nobody completes: it gave up. */
    start(&s, t, "SYN-ACKs unanswered");
    s.now = 0;
    seg(&s, C2S, S, 77, 0, 0, 65535);
    s.now = 1000;
    seg(&s, S2C, S | A, 500, 78, 0, 65535);
    s.now = 1001000;
    seg(&s, S2C, S | A, 500, 78, 0, 65535);
    expect(&s, TL_EP_SYN_SENT, TL_EP_SYN_RECV, TL_K_SYNACK_RETX);
    ok(t,
       tl_tcpstate_advance(&s.st, 10 * sec, true, &st, &when) && st.kind == TL_K_SYNACK_TIMEOUT &&
           s.st.ep[S2C].state == TL_EP_CLOSED,
       "SYN-ACKs: the server gave up its half-open connection");
}

/* Evidence beats the missing packet: the SYN-ACK was not captured. */
static void unseen_synack(struct tap *t)
{
    struct script s;
    start(&s, t, "no SYN-ACK captured");
    seg(&s, C2S, S, 100, 0, 0, 65535);
    seg(&s, C2S, A, 101, 5001, 0, 512);
    expect(&s, TL_EP_ESTABLISHED, TL_EP_ESTABLISHED, TL_K_ACK);
    struct tl_event e;
    memset(&e, 0, sizeof e);
    tl_timeline_states(&e, &s.st, &s.step);
    ok(t, e.via[TL_ROLE_SERVER][0] == TL_EP_SYN_RECV && e.via[TL_ROLE_CLIENT][0] == 0,
       "no SYN-ACK: the server passed through SYN_RECV unseen");
    seg(&s, C2S, A | P, 101, 5001, 100, 512);
    expect(&s, TL_EP_ESTABLISHED, TL_EP_ESTABLISHED, TL_K_DATA);

    start(&s, t, "server speaks first, SYN-ACK missed");
    seg(&s, C2S, S, 100, 0, 0, 65535);
    seg(&s, S2C, A | P, 5001, 101, 100, 512);
    expect(&s, TL_EP_ESTABLISHED, TL_EP_ESTABLISHED, TL_K_DATA);
}

/* A refused connect() retried with the same SYN (Windows): one attempt. */
static void refused_retry(struct tap *t)
{
    struct script s;
    start(&s, t, "refused, retried");
    seg(&s, C2S, S, 100, 0, 0, 65535);
    seg(&s, S2C, R | A, 0, 101, 0, 0);
    expect(&s, TL_EP_CLOSED, TL_EP_CLOSED, TL_K_RST);
    struct tl_pkt p;
    memset(&p, 0, sizeof p);
    p.flags = S;
    p.seq = 100;
    ok(t, !tl_tcpstate_starts_new(&s.st, &p, TL_ROLE_CLIENT),
       "refused: the same SYN again is the same attempt");
    s.now += 500000;
    seg(&s, C2S, S, 100, 0, 0, 65535);
    expect(&s, TL_EP_SYN_SENT, TL_EP_CLOSED, TL_K_SYN_RETX);
    ok(t,
       s.step.revise && s.step.revise_role == TL_ROLE_CLIENT &&
           s.step.revise_from == TL_EP_CLOSED && s.step.revise_to == TL_EP_SYN_SENT &&
           s.step.nchanges == 0 && !tl_tcpstate_ended(&s.st),
       "refused: the RST did not close the client; history is revised, no step back");
    seg(&s, S2C, R | A, 0, 101, 0, 0);
    expect(&s, TL_EP_CLOSED, TL_EP_CLOSED, TL_K_RST);
    ok(t, tl_tcpstate_end(&s.st) == TL_END_RST, "refused: ended by the last RST");
}

static void reuse_and_via(struct tap *t)
{
    struct script s;
    start(&s, t, "FIN+ACK");
    handshake(&s, 10, 20);
    seg(&s, C2S, F | A, 21, 31, 0, 512);
    seg(&s, S2C, F | A, 31, 22, 0, 512);
    struct tl_event e;
    memset(&e, 0, sizeof e);
    tl_timeline_states(&e, &s.st, &s.step);
    ok(t,
       e.server == TL_EP_LAST_ACK && e.via[TL_ROLE_SERVER][0] == TL_EP_CLOSE_WAIT &&
           e.via[TL_ROLE_SERVER][1] == 0 && e.via[TL_ROLE_CLIENT][0] == 0,
       "FIN+ACK: the server passed through CLOSE_WAIT to LAST_ACK");
    seg(&s, C2S, A, 22, 32, 0, 512);
    expect(&s, TL_EP_TIME_WAIT, TL_EP_CLOSED, TL_K_FIN_ACK);
    ok(t,
       tl_tcpstate_reused(&s.st, TL_ROLE_SERVER, s.now + 1000, &s.step) &&
           s.st.ep[C2S].state == TL_EP_CLOSED && s.step.kind == TL_K_REUSED,
       "reuse: a new SYN on the 4-tuple takes TIME_WAIT over");
}

static void new_connection_rules(struct tap *t)
{
    struct script s;
    start(&s, t, "reuse");
    handshake(&s, 10, 20);
    struct tl_pkt p;
    memset(&p, 0, sizeof p);
    p.flags = S;
    p.seq = 10;
    ok(t, !tl_tcpstate_starts_new(&s.st, &p, TL_ROLE_CLIENT), "SYN on a live connection stays");
    seg(&s, C2S, R, 21, 0, 0, 0);
    p.seq = 99999;
    ok(t, tl_tcpstate_starts_new(&s.st, &p, TL_ROLE_CLIENT), "SYN after RST starts anew");
    p.flags = S | A;
    p.seq = 20;
    ok(t, !tl_tcpstate_starts_new(&s.st, &p, TL_ROLE_SERVER), "old SYN-ACK after RST stays");
}

/* One segment into both the state machine and the detectors' tracker. */
static void tracked(struct script *s, struct tl_track *tr, int dir, uint8_t flags, uint32_t seq,
                    uint32_t ack, uint32_t len)
{
    struct tl_pkt p = segment(flags, seq, ack, len, 512);
    seg(s, dir, flags, seq, ack, len, 512);
    if (tl_track_step(tr, &s->st, &s->step, &p, (enum tl_role)dir, (uint64_t)s->now / 1000,
                      s->now) != TL_OK)
        abort();
}

/* The tracker's trouble record is allocated by trouble only: a clean
 * connection has none on either side, an RST gives its sender one. */
static void trouble_on_need(struct tap *t)
{
    struct script s;
    struct tl_track tr;
    start(&s, t, "trouble record");
    tl_track_init(&tr);
    tracked(&s, &tr, C2S, S, 100, 0, 0);
    tracked(&s, &tr, S2C, S | A, 900, 101, 0);
    tracked(&s, &tr, C2S, A, 101, 901, 0);
    tracked(&s, &tr, C2S, A | P, 101, 901, 10);
    tracked(&s, &tr, S2C, A | P, 901, 111, 10);
    tracked(&s, &tr, C2S, F | A, 111, 911, 0);
    tracked(&s, &tr, S2C, F | A, 911, 112, 0);
    tracked(&s, &tr, C2S, A, 112, 912, 0);
    ok(t, tr.side[C2S].trouble == NULL && tr.side[S2C].trouble == NULL,
       "trouble record: none for a clean connection");
    ok(t, tl_track_trouble(&tr.side[C2S])->rst_pkt == 0,
       "trouble record: a side without one reads zeros");
    tl_track_free(&tr);
    start(&s, t, "trouble record");
    tl_track_init(&tr);
    tracked(&s, &tr, C2S, S, 100, 0, 0);
    tracked(&s, &tr, S2C, S | A, 900, 101, 0);
    tracked(&s, &tr, C2S, A, 101, 901, 0);
    tracked(&s, &tr, S2C, R | A, 901, 101, 0);
    ok(t,
       tr.side[C2S].trouble == NULL && tr.side[S2C].trouble != NULL &&
           tr.side[S2C].trouble->rst_pkt != 0 && tr.side[S2C].trouble->rsts == 1,
       "trouble record: the RST's sender has one, holding the RST");
    tl_track_free(&tr);
    ok(t, tr.side[S2C].trouble == NULL, "trouble record: freed with the tracker");
}

/* An ICMP error (v4 unless v6) reaching endpoint dir about its segment
 * with sequence number seq, 1 ms after the last segment. */
static void icmp(struct script *s, int dir, bool v6, uint8_t type, uint8_t code, uint32_t seq)
{
    struct tl_pkt p = segment(0, seq, 0, 0, 0);
    p.icmp.type = type;
    p.icmp.code = code;
    p.icmp.v6 = v6;
    s->now += 1000;
    tl_tcpstate_icmp(&s->st, &p, (enum tl_role)dir, s->now, &s->step);
}

static void icmp_errors(struct tap *t)
{
    struct script s;
    start(&s, t, "ICMP port unreachable in SYN_SENT");
    seg(&s, C2S, S, 100, 0, 0, 65535);
    icmp(&s, C2S, false, 3, 3, 100);
    expect(&s, TL_EP_CLOSED, TL_EP_LISTEN, TL_K_ICMP);
    ok(t, s.step.ended && tl_tcpstate_end(&s.st) == TL_END_ICMP && s.step.nchanges == 1,
       "ICMP in SYN_SENT: connect() ended, end icmp");
    struct tl_step st;
    int64_t when;
    ok(t, !tl_tcpstate_advance(&s.st, s.now + 60 * TL_USEC_PER_SEC, true, &st, &when),
       "ICMP in SYN_SENT: no SYN give-up after it");
    seg(&s, C2S, S, 100, 0, 0, 65535);
    expect(&s, TL_EP_SYN_SENT, TL_EP_LISTEN, TL_K_SYN_RETX);
    ok(t, s.step.revise && !tl_tcpstate_ended(&s.st),
       "the same SYN after the ICMP error: it had not ended the attempt (revised)");

    start(&s, t, "ICMP out of window");
    seg(&s, C2S, S, 100, 0, 0, 65535);
    icmp(&s, C2S, false, 3, 1, 5000);
    expect(&s, TL_EP_SYN_SENT, TL_EP_LISTEN, TL_K_ICMP_IGNORED);
    icmp(&s, C2S, false, 3, 4, 100);
    expect(&s, TL_EP_SYN_SENT, TL_EP_LISTEN, TL_K_ICMP);
    ok(t, !s.step.ended, "fragmentation needed in SYN_SENT: no end (path MTU)");
    icmp(&s, C2S, false, 3, 16, 100);
    expect(&s, TL_EP_SYN_SENT, TL_EP_LISTEN, TL_K_ICMP);
    icmp(&s, C2S, false, 11, 0, 100);
    expect(&s, TL_EP_CLOSED, TL_EP_LISTEN, TL_K_ICMP);

    start(&s, t, "ICMPv6 in SYN_SENT");
    seg(&s, C2S, S, 100, 0, 0, 65535);
    icmp(&s, C2S, true, 2, 0, 100);
    expect(&s, TL_EP_SYN_SENT, TL_EP_LISTEN, TL_K_ICMP);
    icmp(&s, C2S, true, 1, 1, 100);
    expect(&s, TL_EP_CLOSED, TL_EP_LISTEN, TL_K_ICMP);

    start(&s, t, "ICMP soft in ESTABLISHED");
    handshake(&s, 100, 900);
    icmp(&s, C2S, false, 3, 13, 111);
    expect(&s, TL_EP_ESTABLISHED, TL_EP_ESTABLISHED, TL_K_ICMP);
    ok(t, s.step.nchanges == 0 && !tl_tcpstate_ended(&s.st), "ICMP in ESTABLISHED: soft");
    icmp(&s, C2S, false, 3, 13, 131);
    expect(&s, TL_EP_ESTABLISHED, TL_EP_ESTABLISHED, TL_K_ICMP_IGNORED);
    icmp(&s, C2S, false, 3, 13, 100);
    expect(&s, TL_EP_ESTABLISHED, TL_EP_ESTABLISHED, TL_K_ICMP_IGNORED);

    start(&s, t, "ICMP about a SYN-ACK");
    seg(&s, C2S, S, 100, 0, 0, 65535);
    seg(&s, S2C, S | A, 900, 101, 0, 65535);
    icmp(&s, S2C, false, 3, 3, 900);
    expect(&s, TL_EP_SYN_SENT, TL_EP_SYN_RECV, TL_K_ICMP);
    icmp(&s, S2C, false, 3, 1, 901);
    expect(&s, TL_EP_SYN_SENT, TL_EP_SYN_RECV, TL_K_ICMP_IGNORED);
    icmp(&s, S2C, false, 3, 1, 900);
    expect(&s, TL_EP_SYN_SENT, TL_EP_LISTEN, TL_K_ICMP);
    ok(t, !tl_tcpstate_ended(&s.st), "a dropped request does not end the client's attempt");
    seg(&s, C2S, S, 100, 0, 0, 65535);
    seg(&s, S2C, S | A, 900, 101, 0, 65535);
    expect(&s, TL_EP_SYN_SENT, TL_EP_SYN_RECV, TL_K_SYNACK_RETX);
}

/* An orphan in FIN_WAIT_2 is reaped after tcp_fin_timeout, at the
 * capture's end only; one that took data there is alive and waits on. */
static void fin_wait2_reaping(struct tap *t)
{
    for (int alive = 0; alive < 2; alive++) {
        struct script s;
        start(&s, t, alive ? "FIN_WAIT_2 taking data" : "FIN_WAIT_2 orphan");
        s.st.fin_timeout_ms = 60000;
        handshake(&s, 100, 900);
        seg(&s, C2S, F | A, 111, 911, 0, 512);
        seg(&s, S2C, A, 911, 112, 0, 512);
        expect(&s, TL_EP_FIN_WAIT_2, TL_EP_CLOSE_WAIT, TL_K_FIN_ACK);
        if (alive) {
            seg(&s, S2C, A | P, 911, 112, 10, 512);
            seg(&s, C2S, A, 112, 921, 0, 512);
        }
        struct tl_step st;
        int64_t when;
        ok(t, !tl_tcpstate_advance(&s.st, s.now + 61 * TL_USEC_PER_SEC, false, &st, &when),
           "FIN_WAIT_2: no reaping while the capture goes on");
        bool reaped = tl_tcpstate_advance(&s.st, s.now + 61 * TL_USEC_PER_SEC, true, &st, &when);
        if (alive)
            ok(t, !reaped && s.st.ep[C2S].state == TL_EP_FIN_WAIT_2,
               "FIN_WAIT_2 that took data: alive, not reaped");
        else
            ok(t,
               reaped && st.kind == TL_K_FW2_REAPED && s.st.ep[C2S].state == TL_EP_CLOSED &&
                   st.ended && tl_tcpstate_end(&s.st) == TL_END_TIMEOUT,
               "FIN_WAIT_2 orphan: reaped at the end, CLOSED");
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct tap t = {0, 0};
    trouble_on_need(&t);
    client_closes_first(&t);
    server_closes_with_fin_ack(&t);
    crossing_fins(&t, true);
    crossing_fins(&t, false);
    crossing_fin_lost(&t);
    in_flight_and_final_zero_window(&t);
    refused_and_rst(&t);
    accept_queue_drop(&t);
    half_close_and_reaped_fin_wait2(&t);
    last_ack_retransmits(&t);
    fin_ack_lost(&t);
    midstream_and_probes(&t);
    new_connection_rules(&t);
    syn_given_up(&t);
    unseen_synack(&t);
    refused_retry(&t);
    reuse_and_via(&t);
    icmp_errors(&t);
    fin_wait2_reaping(&t);
    for (int k = 0; k < TL_K_NKINDS; k++)
        ok(&t, strcmp(tl_evkind_name((enum tl_evkind)k), "") != 0, "every kind has a name");
    return tap_done(&t);
}
