/*
 * Detectors of the close: rst_instead_of_fin, rst_after_close,
 * missing_final_ack, close_wait_stuck, fin_wait2_timeout, time_wait,
 * simultaneous_close, half_close. Each reads the tracker (detect.h) and
 * records the evidence; its renderer (tl_text_*) tells from that evidence,
 * with the connection's own numbers, what the kernels did and why
 * (docs/anomalies.md).
 *
 * One RST ends a connection; which detector claims it depends on where its
 * sender was:
 *
 *   sender had sent its FIN, the peer data after  rst_after_close
 *   sender in FIN_WAIT_2 >= 0.7 s, RST answers
 *     the peer's later data or FIN                fin_wait2_timeout (too)
 *   sender could still have closed with a FIN, or
 *     had not finished the close it began         rst_instead_of_fin
 *   sender's keepalives went unanswered           keepalive_timeout (anomaly_data.c)
 *   the peer was in SYN_SENT                      refused (anomaly_handshake.c)
 */
#include "tcplens/detect.h"

#include <stdio.h>

#include "detect_int.h"

/* Linux reaps an orphaned FIN_WAIT_2 socket after max(tcp_fin_timeout or
 * TCP_LINGER2, 3.5 RTO) (tcp_fin_time()); with the 200 ms minimum RTO, no
 * sooner than 0.7 s. An RST from FIN_WAIT_2 earlier than that is the
 * orphan resetting data that arrived after close(), not a reaped socket. */
#define REAP_MIN_US (700 * 1000)

/* A FIN unacknowledged this long (Linux's initial RTO) at capture end
 * should have been acknowledged or retransmitted. */
#define FINAL_ACK_WAIT_US TL_USEC_PER_SEC


static const char *role(int r) { return r == TL_ROLE_CLIENT ? "client" : "server"; }
static const char *state(uint8_t s) { return tl_ep_state_name((enum tl_ep_state)s); }
static unsigned long long ull(uint64_t v) { return (unsigned long long)v; }

/* The RST that ended the connection: the earliest one its receiver took
 * in, before any completed FIN handshake. Its sender's role, or -1. */
static int ending_rst(const struct tl_detect_ctx *c)
{
    const struct tl_track *t = c->track;
    if (c->tcp->ep[0].fin_acked && c->tcp->ep[1].fin_acked)
        return -1;
    int best = -1;
    for (int r = 0; r < 2; r++) {
        const struct tl_track_side *s = &t->side[r];
        const struct tl_track_trouble *s_tr = tl_track_trouble(s);
        if (s_tr->rst_pkt == 0 || s_tr->rst_ignored)
            continue;
        if (best < 0 || s_tr->rst_pkt < tl_track_trouble(&t->side[best])->rst_pkt)
            best = r;
    }
    return best;
}

static bool closed_state(uint8_t s)
{
    return s == TL_EP_FIN_WAIT_1 || s == TL_EP_FIN_WAIT_2 || s == TL_EP_CLOSING ||
           s == TL_EP_LAST_ACK || s == TL_EP_TIME_WAIT || s == TL_EP_CLOSED;
}

/* Endpoint r had closed (sent its FIN) and its RST answered data the peer
 * sent after that: right after it, or after taking r's FIN in. */
static bool after_close(const struct tl_track *t, int r)
{
    const struct tl_track_side *s = &t->side[r];
    const struct tl_track_trouble *s_tr = tl_track_trouble(s);
    bool fin_before = s->fin.n > 0 && tl_times_ts(&s->fin, 0) <= s_tr->rst_ts;
    bool data = s_tr->rst_answers_data || tl_track_trouble(&t->side[!r])->data_in_close_wait > 0;
    return s_tr->rst_pkt != 0 && data && (fin_before || closed_state(s_tr->rst_from));
}

/* The first data the peer sent to r after r had closed. */
static uint64_t data_after_close(const struct tl_track *t, int r)
{
    const struct tl_track_side *p = &t->side[!r];
    const struct tl_track_trouble *p_tr = tl_track_trouble(p);
    return p_tr->data_in_close_wait_pkt != 0 ? p_tr->data_in_close_wait_pkt
                                             : tl_track_trouble(&t->side[r])->rst_answers_pkt;
}

/* A FIN_WAIT_2 endpoint gone: its RST answered the peer's later data or
 * FIN, late enough that the orphan may have been reaped. */
static bool fin_wait2_gone(const struct tl_track_side *s)
{
    const struct tl_track_trouble *s_tr = tl_track_trouble(s);
    return s_tr->rst_pkt != 0 && !s_tr->rst_ignored && s_tr->rst_from == TL_EP_FIN_WAIT_2 &&
           (s_tr->rst_answers_data || s_tr->rst_answers_fin) && s->fin_wait2_since != 0 &&
           s_tr->rst_ts - s->fin_wait2_since >= REAP_MIN_US;
}

/* An RST sent where a FIN could have closed the connection, or before the
 * FIN handshake it began was over: an abort. */
static bool is_abort(const struct tl_track *t, int r)
{
    const struct tl_track_side *s = &t->side[r];
    const struct tl_track_trouble *s_tr = tl_track_trouble(s);
    if (after_close(t, r) || fin_wait2_gone(s))
        return false;
    if (s_tr->ka.n > 0 && s_tr->ka_pending) /* keepalive_timeout's */
        return false;
    bool peer_sync = s_tr->rst_peer_state == TL_EP_ESTABLISHED ||
                     s_tr->rst_peer_state == TL_EP_CLOSE_WAIT ||
                     s_tr->rst_peer_state == TL_EP_FIN_WAIT_1 ||
                     s_tr->rst_peer_state == TL_EP_FIN_WAIT_2;
    switch ((enum tl_ep_state)s_tr->rst_from) {
    case TL_EP_ESTABLISHED:
    case TL_EP_CLOSE_WAIT:
    case TL_EP_FIN_WAIT_1:
    case TL_EP_FIN_WAIT_2:
    case TL_EP_CLOSING: return true;
    case TL_EP_SYN_RECV:
    case TL_EP_UNKNOWN: return peer_sync; /* the peer was connected: not a refusal */
    default: return false;
    }
}

/* rst_instead_of_fin: the packets its text names, and whether a FIN came. */
enum { RIOF_RST_PKT, RIOF_ANSWERS_PKT, RIOF_HAD_FIN };

void tl_det_rst_instead_of_fin(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    int r = ending_rst(c);
    if (r < 0 || !is_abort(c->track, r))
        return;
    const struct tl_track_side *s = &c->track->side[r];
    const struct tl_track_trouble *s_tr = tl_track_trouble(s);
    struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_RST_INSTEAD_OF_FIN, (enum tl_anom_ep)r,
                                          s_tr->rst_ts);
    if (a == NULL)
        return;
    tl_anomaly_pkt(a, s_tr->rst_answers_pkt);
    tl_anomaly_pkt(a, s_tr->rst_pkt);
    tl_anomaly_str(a, "sent_by", role(r));
    tl_anomaly_str(a, "state_before", state(s_tr->rst_from));
    tl_anomaly_str(a, "peer_state_before", state(s_tr->rst_peer_state));
    tl_anomaly_bool(a, "unread_data_likely", s_tr->rst_answers_data);
    a->aux[RIOF_RST_PKT] = (int64_t)s_tr->rst_pkt;
    a->aux[RIOF_ANSWERS_PKT] = (int64_t)s_tr->rst_answers_pkt;
    a->aux[RIOF_HAD_FIN] = s->fin.n > 0;
}

void tl_text_rst_instead_of_fin(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                                struct tl_anomaly_text *out)
{
    (void)about;
    int r = a->endpoint == TL_AEP_SERVER;
    const char *from = tl_anomaly_get_str(a, "state_before");
    char why[200];
    if (tl_anomaly_get_bool(a, "unread_data_likely"))
        snprintf(why, sizeof why,
                 "It followed the %s's data (packet %llu): Linux sends RST instead of FIN "
                 "when close() finds unread data in the receive buffer (SO_LINGER {1, 0} "
                 "does it too).",
                 role(!r), ull((uint64_t)a->aux[RIOF_ANSWERS_PKT]));
    else
        snprintf(why, sizeof why,
                 "No unread data was in sight: SO_LINGER {1, 0} before close(), an "
                 "application abort, or a middlebox resetting the flow are the usual causes.");
    tl_text_explain(out,
                    "The %s ended the connection with an RST (packet %llu) while %s, "
                    "without %s: its kernel aborted the connection. %s The %s's next "
                    "recv() or send() fails with ECONNRESET; data in flight is lost.",
                    role(r), ull((uint64_t)a->aux[RIOF_RST_PKT]), from,
                    a->aux[RIOF_HAD_FIN] ? "completing the FIN handshake" : "a FIN", why, role(!r));
    tl_text_suggest(out,
                    "In the %s's application: read the peer's data to EOF (or "
                    "shutdown(SHUT_WR) and drain) before close(); look for SO_LINGER with "
                    "l_linger 0 and for crashes. If neither application did it, capture on "
                    "both hosts to find a middlebox's RST (its TTL and IP ID differ).",
                    role(r));
}

/* rst_after_close: the packets its text names. */
enum { RAC_FIN_PKT, RAC_RST_PKT };

void tl_det_rst_after_close(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    int r = ending_rst(c);
    if (r < 0 || !after_close(c->track, r))
        return;
    const struct tl_track_side *s = &c->track->side[r];
    const struct tl_track_trouble *s_tr = tl_track_trouble(s);
    struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_RST_AFTER_CLOSE, (enum tl_anom_ep)r,
                                          s_tr->rst_ts);
    if (a == NULL)
        return;
    bool fin = s->fin.n > 0;
    if (fin)
        tl_anomaly_pkt(a, tl_times_pkt(&s->fin, 0));
    uint64_t data = data_after_close(c->track, r);
    tl_anomaly_pkt(a, data);
    if (s_tr->rst_answers_pkt != data)
        tl_anomaly_pkt(a, s_tr->rst_answers_pkt);
    tl_anomaly_pkt(a, s_tr->rst_pkt);
    tl_anomaly_str(a, "sent_by", role(r));
    tl_anomaly_str(a, "state_before", state(s_tr->rst_from));
    tl_anomaly_str(a, "writer", role(!r));
    tl_anomaly_int(a, "data_packet", (int64_t)data);
    if (fin)
        tl_anomaly_real(a, "seconds_since_fin",
                        tl_det_secs(s_tr->rst_ts - tl_times_ts(&s->fin, 0)));
    /* Not closed by its application: its kernel gave its retransmissions up. */
    if (s_tr->retx_timeout_ts != 0 && s_tr->retx_timeout_ts <= s_tr->rst_ts)
        tl_anomaly_bool(a, "gave_up", true);
    a->aux[RAC_FIN_PKT] = fin ? (int64_t)tl_times_pkt(&s->fin, 0) : 0;
    a->aux[RAC_RST_PKT] = (int64_t)s_tr->rst_pkt;
}

void tl_text_rst_after_close(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                             struct tl_anomaly_text *out)
{
    (void)about;
    int r = a->endpoint == TL_AEP_SERVER;
    char d[32], how[80] = "no FIN seen";
    if (tl_anomaly_get_bool(a, "gave_up")) {
        tl_text_explain(out,
                        "The %s's kernel had closed its socket, without a segment, when its "
                        "retransmissions timed out (stalled_retransmission: ETIMEDOUT); when the "
                        "%s sent more data (packet %llu) the %s host answered with an RST "
                        "(packet %llu), as for any segment no socket holds. The %s's socket is "
                        "reset: its next call fails with ECONNRESET or EPIPE.",
                        role(r), role(!r), ull((uint64_t)tl_anomaly_get_int(a, "data_packet")),
                        role(r), ull((uint64_t)a->aux[RAC_RST_PKT]), role(!r));
        tl_text_suggest(out,
                        "The %s could not know that the %s had given up: the path failed first. "
                        "Find out why the %s's data went unacknowledged (stalled_retransmission), "
                        "and give sockets TCP_USER_TIMEOUT and keepalive so both ends notice a "
                        "dead path.",
                        role(!r), role(r), role(r));
        return;
    }
    if (tl_anomaly_has(a, "seconds_since_fin"))
        snprintf(how, sizeof how, "its FIN, packet %llu, %s earlier",
                 ull((uint64_t)a->aux[RAC_FIN_PKT]),
                 tl_det_dur(d, sizeof d, tl_anomaly_get_us(a, "seconds_since_fin")));
    tl_text_explain(out,
                    "The %s had already closed (%s; it was %s) when the %s sent more data "
                    "(packet %llu); the %s's kernel answered with an RST (packet %llu): "
                    "Linux resets data arriving after the application called close(), as "
                    "nothing can read it. The %s's socket is reset: its next send() fails "
                    "with EPIPE (SIGPIPE unless ignored).",
                    role(r), how, tl_anomaly_get_str(a, "state_before"), role(!r),
                    ull((uint64_t)tl_anomaly_get_int(a, "data_packet")), role(r),
                    ull((uint64_t)a->aux[RAC_RST_PKT]), role(!r));
    tl_text_suggest(out,
                    "Make the protocol say who closes when: the %s should stop writing once "
                    "recv() returns 0 (EOF) and handle EPIPE (ignore SIGPIPE or use "
                    "MSG_NOSIGNAL); if the %s still expects data it must shutdown(SHUT_WR) "
                    "and read to EOF instead of close().",
                    role(!r), role(r));
}


/* Did endpoint r send its FIN from CLOSE_WAIT (the passive close)? */
static bool fin_from_close_wait(const struct tl_track_side *s)
{
    return s->close_wait_since != 0 && s->fin.n > 0 &&
           s->close_wait_until == tl_times_ts(&s->fin, 0);
}

/* missing_final_ack: its first FIN and the final ACK (0: none). */
enum { MFA_FIN_PKT, MFA_ACK_PKT };

void tl_text_missing_final_ack(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                               struct tl_anomaly_text *out)
{
    (void)about;
    int r = a->endpoint == TL_AEP_SERVER;
    const char *st = tl_anomaly_get_str(a, "state");
    unsigned fins = (unsigned)tl_anomaly_get_int(a, "fins");
    uint64_t fin0 = (uint64_t)a->aux[MFA_FIN_PKT], ack = (uint64_t)a->aux[MFA_ACK_PKT];
    char d[32];
    tl_det_dur(d, sizeof d, tl_anomaly_get_us(a, "seconds_in_last_ack"));
    if (ack != 0)
        tl_text_explain(out,
                        "The %s, in %s after its FIN (packet %llu), got no ACK for "
                        "it and sent the FIN %u times in all; the %s's ACK (packet %llu) "
                        "closed it %s after the first FIN. The first final ACK was lost "
                        "(or the FIN was, past the capture point), so the %s's socket "
                        "lingered in %s one retransmission timeout or more.",
                        role(r), st, ull(fin0), fins, role(!r), ull(ack), d, role(r), st);
    else
        tl_text_explain(out,
                        "The %s, in %s after its FIN (packet %llu), sent the FIN %u "
                        "time%s and no ACK ever came: the capture ends with it in %s "
                        "%s after the first FIN. The %s is gone (host down, socket reset) "
                        "or its ACKs are dropped; Linux retries the FIN with backoff "
                        "(tcp_orphan_retries) and then drops the socket.",
                        role(r), st, ull(fin0), fins, fins == 1 ? "" : "s", st, d, role(!r));
    tl_text_suggest(out,
                    "One lost final ACK is harmless: it costs the %s one retransmission "
                    "timeout. If it repeats, look for loss towards the %s, or a stateful "
                    "firewall or NAT that forgets the flow once it saw both FINs (conntrack "
                    "close timeouts), and check the %s host stayed up.",
                    role(r), role(r), role(!r));
}

/* Adds one anomaly for LAST_ACK side r, whose FINs are fin. */
static void final_ack_add(const struct tl_detect_ctx *c, int r, const struct sends *fin, bool retx,
                          const char *st, struct tl_anomaly_list *out)
{
    const struct tl_track_side *s = &c->track->side[r];
    struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_MISSING_FINAL_ACK, (enum tl_anom_ep)r,
                                          retx ? fin->ts[1] : c->now_us);
    if (a == NULL)
        return;
    for (uint32_t i = 0; i < fin->k; i++)
        tl_anomaly_pkt(a, fin->pkt[i]);
    tl_anomaly_pkt(a, s->final_ack_pkt);
    int64_t end = s->final_ack_pkt != 0 ? s->final_ack_ts : c->now_us;
    tl_anomaly_int(a, "fins", fin->n);
    tl_anomaly_int(a, "fin_retransmits", fin->n - 1);
    tl_anomaly_bool(a, "final_ack_seen", s->final_ack_pkt != 0);
    tl_anomaly_real(a, "seconds_in_last_ack", tl_det_secs(end - fin->ts[0]));
    tl_anomaly_str(a, "ack_expected_from", role(!r));
    tl_anomaly_str(a, "state", st);
    a->aux[MFA_FIN_PKT] = (int64_t)fin->pkt[0];
    a->aux[MFA_ACK_PKT] = (int64_t)s->final_ack_pkt;
}

void tl_det_missing_final_ack(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    for (int r = 0; r < 2; r++) {
        const struct tl_track_side *s = &c->track->side[r];
        /* The FIN of the passive close (LAST_ACK), or of crossing FINs
         * (CLOSING): both wait for the last ACK of the connection. */
        bool closing = !fin_from_close_wait(s) && tl_track_trouble(s)->closing_pkt != 0 &&
                       s->fin.n > 0;
        if (!fin_from_close_wait(s) && !closing)
            continue;
        struct sends fin;
        tl_det_distinct(&s->fin, &fin);
        bool retx = fin.n >= 2 && fin.k >= 2;
        uint8_t waits = closing ? TL_EP_CLOSING : TL_EP_LAST_ACK;
        bool silent = c->tcp->ep[r].state == waits &&
                      c->now_us - fin.ts[fin.k - 1] >= FINAL_ACK_WAIT_US;
        if (retx || silent)
            final_ack_add(c, r, &fin, retx, tl_ep_state_name((enum tl_ep_state)waits), out);
    }
}

/* close_wait_stuck: where CLOSE_WAIT began, whether the endpoint's own FIN
 * ended it and which packet that was, and the bytes sent meanwhile. */
enum { CWS_PKT, CWS_VIA_FIN, CWS_FIN_PKT, CWS_BYTES };

/* How CLOSE_WAIT ended, for the explanation. */
static const char *cw_end(const struct tl_anomaly *a, char *buf, size_t n)
{
    if (tl_anomaly_get_bool(a, "still_open"))
        snprintf(buf, n, "until the capture ended");
    else if (a->aux[CWS_VIA_FIN])
        snprintf(buf, n, "until its FIN (packet %llu)", ull((uint64_t)a->aux[CWS_FIN_PKT]));
    else
        snprintf(buf, n, "until an RST ended the connection");
    return buf;
}

void tl_text_close_wait_stuck(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                              struct tl_anomaly_text *out)
{
    (void)about;
    int r = a->endpoint == TL_AEP_SERVER;
    char d[32], e[64], data[160] = "";
    if (tl_anomaly_get_bool(a, "sent_data"))
        snprintf(data, sizeof data,
                 " It kept sending data meanwhile (%u segments, %llu bytes): the process "
                 "is alive and uses the socket but does not close it.",
                 (unsigned)tl_anomaly_get_int(a, "data_segments"),
                 ull((uint64_t)a->aux[CWS_BYTES]));
    tl_text_explain(out,
                    "The %s took the %s's FIN in (packet %llu: CLOSE_WAIT, its read() "
                    "returns 0) and sent no FIN of its own for %s, %s: the application "
                    "did not call close().%s The kernel never times CLOSE_WAIT out.",
                    role(r), role(!r), ull((uint64_t)a->aux[CWS_PKT]),
                    tl_det_dur(d, sizeof d, tl_anomaly_get_us(a, "seconds")),
                    cw_end(a, e, sizeof e), data);
    tl_text_suggest(out, "Find the owner: ss -tanp state close-wait, then ls -l "
                         "/proc/PID/fd; fix the code path that drops a connection after "
                         "read() returns 0 without close() (error paths, pools that never "
                         "check idle connections). No sysctl clears CLOSE_WAIT.");
}

void tl_det_close_wait_stuck(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    for (int r = 0; r < 2; r++) {
        const struct tl_track_side *s = &c->track->side[r];
        const struct tl_track_trouble *s_tr = tl_track_trouble(s);
        if (s->close_wait_since == 0)
            continue;
        int64_t until = s->close_wait_until != 0 ? s->close_wait_until : c->now_us;
        int64_t held = until - s->close_wait_since;
        if (held <= c->cfg->close_wait_us)
            continue;
        struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_CLOSE_WAIT_STUCK, (enum tl_anom_ep)r,
                                              s->close_wait_since + c->cfg->close_wait_us);
        if (a == NULL)
            return;
        const struct tl_times *pf = &c->track->side[!r].fin;
        tl_anomaly_pkt(a, pf->n > 0 ? tl_times_pkt(pf, 0) : 0);
        tl_anomaly_pkt(a, s->close_wait_pkt);
        tl_anomaly_pkt(a, s_tr->data_in_close_wait_pkt);
        tl_anomaly_pkt(a, fin_from_close_wait(s) ? tl_times_pkt(&s->fin, 0) : 0);
        tl_anomaly_real(a, "seconds", tl_det_secs(held));
        tl_anomaly_real(a, "threshold", tl_det_secs(c->cfg->close_wait_us));
        tl_anomaly_bool(a, "still_open", s->close_wait_until == 0);
        tl_anomaly_bool(a, "sent_data", s_tr->data_in_close_wait > 0);
        tl_anomaly_int(a, "data_segments", s_tr->data_in_close_wait);
        a->aux[CWS_PKT] = (int64_t)s->close_wait_pkt;
        a->aux[CWS_VIA_FIN] = fin_from_close_wait(s);
        a->aux[CWS_FIN_PKT] = (int64_t)tl_times_pkt(&s->fin, 0);
        a->aux[CWS_BYTES] = (int64_t)s_tr->data_in_close_wait_bytes;
    }
}

/* fin_wait2_timeout: tcp_fin_timeout, the packet FIN_WAIT_2 began at and,
 * in form A, the peer's segment the RST answered, whether it carried
 * data, and the RST. */
enum { FW2_TIMEOUT_US, FW2_PKT, FW2_ANSWERS_PKT, FW2_ANSWERS_DATA, FW2_RST_PKT };

/* Form A of fin_wait2_timeout: the FIN_WAIT_2 endpoint answered the peer's
 * later data or FIN with an RST. */
static void fin_wait2_rst(const struct tl_detect_ctx *c, int r, struct tl_anomaly_list *out)
{
    const struct tl_track_side *s = &c->track->side[r];
    const struct tl_track_trouble *s_tr = tl_track_trouble(s);
    int64_t held = s_tr->rst_ts - s->fin_wait2_since;
    struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_FIN_WAIT2_TIMEOUT, (enum tl_anom_ep)r,
                                          s_tr->rst_ts);
    if (a == NULL)
        return;
    tl_anomaly_pkt(a, s->fin_wait2_pkt);
    tl_anomaly_pkt(a, s_tr->rst_answers_pkt);
    tl_anomaly_pkt(a, s_tr->rst_pkt);
    tl_anomaly_real(a, "seconds_in_fin_wait_2", tl_det_secs(held));
    tl_anomaly_bool(a, "answered_with_rst", true);
    tl_anomaly_bool(a, "past_fin_timeout", held >= c->cfg->fin_timeout_us);
    tl_anomaly_str(a, "peer_state", state(s_tr->rst_peer_state));
    a->aux[FW2_TIMEOUT_US] = c->cfg->fin_timeout_us;
    a->aux[FW2_PKT] = (int64_t)s->fin_wait2_pkt;
    a->aux[FW2_ANSWERS_PKT] = (int64_t)s_tr->rst_answers_pkt;
    a->aux[FW2_ANSWERS_DATA] = s_tr->rst_answers_data;
    a->aux[FW2_RST_PKT] = (int64_t)s_tr->rst_pkt;
}

static void fin_wait2_rst_text(const struct tl_anomaly *a, struct tl_anomaly_text *out)
{
    int r = a->endpoint == TL_AEP_SERVER;
    const char *peer = tl_anomaly_get_str(a, "peer_state");
    char d[32], ft[32], why[256];
    tl_det_dur(ft, sizeof ft, a->aux[FW2_TIMEOUT_US]);
    if (tl_anomaly_get_bool(a, "past_fin_timeout"))
        snprintf(why, sizeof why,
                 "Linux reaps an orphaned FIN_WAIT_2 socket (one its application closed) "
                 "after tcp_fin_timeout (%s by default), and this one had waited longer.",
                 ft);
    else
        snprintf(why, sizeof why,
                 "An orphaned FIN_WAIT_2 socket (one its application closed) resets data "
                 "arriving after close(), and is reaped after tcp_fin_timeout (%s by "
                 "default, unless lowered or set by TCP_LINGER2).",
                 ft);
    tl_text_explain(out,
                    "The %s sat in FIN_WAIT_2 for %s (from packet %llu) waiting for the "
                    "%s's FIN; when the %s sent %s (packet %llu), the %s's host answered "
                    "RST (packet %llu): the socket was gone. %s",
                    role(r), tl_det_dur(d, sizeof d, tl_anomaly_get_us(a, "seconds_in_fin_wait_2")),
                    ull((uint64_t)a->aux[FW2_PKT]), role(!r), role(!r),
                    a->aux[FW2_ANSWERS_DATA] ? "data" : "its FIN",
                    ull((uint64_t)a->aux[FW2_ANSWERS_PKT]), role(r),
                    ull((uint64_t)a->aux[FW2_RST_PKT]), why);
    tl_text_suggest(out,
                    "The %s closed late or never (it sat in %s): find why it does not "
                    "close() after read() returns 0. Lowering net.ipv4.tcp_fin_timeout "
                    "only frees orphans sooner. A %s that still expects data must "
                    "shutdown(SHUT_WR), not close().",
                    role(!r), peer, role(r));
}

/* Form B: still in FIN_WAIT_2, idle past tcp_fin_timeout. */
/* Did the state machine reap endpoint r, an orphan in FIN_WAIT_2 for
 * tcp_fin_timeout (tl_tcpstate_advance)? */
static bool fin_wait2_reaped(const struct tl_detect_ctx *c, int r)
{
    const struct tl_track_side *s = &c->track->side[r];
    return c->tcp->fw2_reaped && c->tcp->ep[r].state == TL_EP_CLOSED && s->fin_wait2_since != 0 &&
           s->fin_wait2_until - s->fin_wait2_since >= c->cfg->fin_timeout_us;
}

static void fin_wait2_idle(const struct tl_detect_ctx *c, int r, struct tl_anomaly_list *out)
{
    const struct tl_track_side *s = &c->track->side[r];
    bool reaped = fin_wait2_reaped(c, r);
    int64_t held = (reaped ? s->fin_wait2_until : c->now_us) - s->fin_wait2_since;
    struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_FIN_WAIT2_TIMEOUT, (enum tl_anom_ep)r,
                                          s->fin_wait2_since + c->cfg->fin_timeout_us);
    if (a == NULL)
        return;
    uint8_t peer = c->tcp->ep[!r].state;
    tl_anomaly_pkt(a, s->fin_wait2_pkt);
    tl_anomaly_real(a, "seconds_in_fin_wait_2", tl_det_secs(held));
    tl_anomaly_bool(a, "answered_with_rst", false);
    tl_anomaly_bool(a, "past_fin_timeout", true);
    tl_anomaly_str(a, "peer_state", state(peer));
    if (reaped)
        tl_anomaly_bool(a, "reaped", true);
    a->aux[FW2_TIMEOUT_US] = c->cfg->fin_timeout_us;
    a->aux[FW2_PKT] = (int64_t)s->fin_wait2_pkt;
}

static void fin_wait2_idle_text(const struct tl_anomaly *a, struct tl_anomaly_text *out)
{
    int r = a->endpoint == TL_AEP_SERVER;
    const char *peer = tl_anomaly_get_str(a, "peer_state");
    char d[32], ft[32];
    if (tl_anomaly_get_bool(a, "reaped")) {
        tl_text_explain(out,
                        "The %s was in FIN_WAIT_2 from packet %llu for tcp_fin_timeout (%s) "
                        "and took no data there, while the %s (%s) never sent its FIN: Linux "
                        "reaps such an orphan (its application closed the socket) and answers "
                        "anything later from the %s with RST. Shown CLOSED from then; a socket "
                        "only shut down for writing would wait on.",
                        role(r), ull((uint64_t)a->aux[FW2_PKT]),
                        tl_det_dur(ft, sizeof ft, a->aux[FW2_TIMEOUT_US]), role(!r), peer,
                        role(!r));
        tl_text_suggest(out,
                        "The %s does not close its end: find why (ss -tanp state close-wait "
                        "on that host). Lowering net.ipv4.tcp_fin_timeout only frees orphans "
                        "sooner; it does not fix the peer.",
                        role(!r));
        return;
    }
    tl_text_explain(out,
                    "The %s has been in FIN_WAIT_2 for %s (since packet %llu), past "
                    "tcp_fin_timeout (%s): the %s (%s) never sent its FIN. If the %s's "
                    "application closed the socket, Linux has reaped the orphan and will "
                    "answer anything from the %s with RST; a socket only shut down for "
                    "writing waits on.",
                    role(r), tl_det_dur(d, sizeof d, tl_anomaly_get_us(a, "seconds_in_fin_wait_2")),
                    ull((uint64_t)a->aux[FW2_PKT]),
                    tl_det_dur(ft, sizeof ft, a->aux[FW2_TIMEOUT_US]), role(!r), peer, role(r),
                    role(!r));
    tl_text_suggest(out,
                    "The %s does not close its end: find why (ss -tanp state close-wait "
                    "on that host). Lowering net.ipv4.tcp_fin_timeout only frees orphans "
                    "sooner; it does not fix the peer.",
                    role(!r));
}

void tl_text_fin_wait2_timeout(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                               struct tl_anomaly_text *out)
{
    (void)about;
    if (tl_anomaly_get_bool(a, "answered_with_rst"))
        fin_wait2_rst_text(a, out);
    else
        fin_wait2_idle_text(a, out);
}

void tl_det_fin_wait2_timeout(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    for (int r = 0; r < 2; r++) {
        const struct tl_track_side *s = &c->track->side[r];
        if (fin_wait2_gone(s))
            fin_wait2_rst(c, r, out);
        else if ((c->tcp->ep[r].state == TL_EP_FIN_WAIT_2 && s->fin_wait2_since != 0 &&
                  c->now_us - s->fin_wait2_since >= c->cfg->fin_timeout_us) ||
                 fin_wait2_reaped(c, r))
            fin_wait2_idle(c, r, out);
    }
}

/* How a TIME_WAIT ended: still there, 60 s passed, a new connection took
 * the 4-tuple over, or an RST. */
static const char *tw_end(const struct tl_detect_ctx *c, int r)
{
    if (c->tcp->ep[r].state == TL_EP_TIME_WAIT)
        return "capture_end";
    const struct tl_timeline *tl = c->timeline;
    for (uint32_t i = tl->n; i > 0 && i + 4 > tl->n; i--)
        if (tl->ev[i - 1].kind == TL_K_REUSED)
            return "reused";
    const struct tl_track_side *s = &c->track->side[r];
    if (s->time_wait_since + TL_TIME_WAIT_US <= c->now_us)
        return "expired";
    return "rst";
}

/* time_wait: the packet that put the endpoint in TIME_WAIT. */
enum { TW_PKT };

void tl_det_time_wait(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    for (int r = 0; r < 2; r++) {
        const struct tl_track_side *s = &c->track->side[r];
        if (s->time_wait_since == 0)
            continue;
        struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_TIME_WAIT, (enum tl_anom_ep)r,
                                              s->time_wait_since);
        if (a == NULL)
            return;
        bool crossed = tl_track_trouble(s)->closing_pkt != 0;
        tl_anomaly_pkt(a, s->fin.n > 0 ? tl_times_pkt(&s->fin, 0) : 0);
        tl_anomaly_pkt(a, s->time_wait_pkt);
        tl_anomaly_bool(a, "via_closing", crossed);
        tl_anomaly_str(a, "ended_by", tw_end(c, r));
        tl_anomaly_real(a, "duration", tl_det_secs(TL_TIME_WAIT_US));
        a->aux[TW_PKT] = (int64_t)s->time_wait_pkt;
    }
}

void tl_text_time_wait(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                       struct tl_anomaly_text *out)
{
    (void)about;
    tl_text_explain(out,
                    "The %s %s, so from packet %llu its kernel keeps the 4-tuple in "
                    "TIME_WAIT for 60 s (TCP_TIMEWAIT_LEN, fixed in Linux) to absorb "
                    "late segments and re-acknowledge a retransmitted FIN. Normal; it "
                    "matters only when one host opens thousands of short connections "
                    "to the same destination.",
                    role(a->endpoint == TL_AEP_SERVER),
                    tl_anomaly_get_bool(a, "via_closing")
                        ? "closed at the same time as its peer (the FINs crossed)"
                        : "closed first (the active close)",
                    ull((uint64_t)a->aux[TW_PKT]));
    tl_text_suggest(out, "Nothing to fix for one connection. Under TIME_WAIT pressure: "
                         "reuse connections (keep-alive, pooling), keep "
                         "net.ipv4.tcp_tw_reuse at 2 (default) or 1, widen "
                         "ip_local_port_range. Never tcp_tw_recycle: removed in Linux "
                         "4.12, it broke clients behind NAT.");
}

/* simultaneous_close: the client's FIN and the server's. */
enum { SC_CLIENT_FIN, SC_SERVER_FIN };

void tl_det_simultaneous_close(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    const struct tl_track_side *cl = &c->track->side[TL_ROLE_CLIENT];
    const struct tl_track_trouble *cl_tr = tl_track_trouble(cl);
    const struct tl_track_side *sv = &c->track->side[TL_ROLE_SERVER];
    const struct tl_track_trouble *sv_tr = tl_track_trouble(sv);
    if ((cl_tr->closing_pkt == 0 && sv_tr->closing_pkt == 0) || cl->fin.n == 0 || sv->fin.n == 0)
        return;
    int64_t ts = cl_tr->closing_pkt == 0 ? sv_tr->closing_ts
                 : sv_tr->closing_pkt == 0 || cl_tr->closing_ts <= sv_tr->closing_ts
                     ? cl_tr->closing_ts
                     : sv_tr->closing_ts;
    struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_SIMULTANEOUS_CLOSE, TL_AEP_CONNECTION, ts);
    if (a == NULL)
        return;
    tl_anomaly_pkt(a, tl_times_pkt(&cl->fin, 0));
    tl_anomaly_pkt(a, tl_times_pkt(&sv->fin, 0));
    tl_anomaly_pkt(a, cl_tr->closing_pkt);
    if (sv_tr->closing_pkt != cl_tr->closing_pkt)
        tl_anomaly_pkt(a, sv_tr->closing_pkt);
    int64_t gap = tl_times_ts(&sv->fin, 0) - tl_times_ts(&cl->fin, 0);
    if (gap < 0)
        gap = -gap;
    tl_anomaly_real(a, "fin_gap", tl_det_secs(gap));
    tl_anomaly_bool(a, "both_closing", cl_tr->closing_pkt != 0 && sv_tr->closing_pkt != 0);
    a->aux[SC_CLIENT_FIN] = (int64_t)tl_times_pkt(&cl->fin, 0);
    a->aux[SC_SERVER_FIN] = (int64_t)tl_times_pkt(&sv->fin, 0);
}

void tl_text_simultaneous_close(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                                struct tl_anomaly_text *out)
{
    (void)about;
    char d[32];
    tl_text_explain(out,
                    "Both endpoints sent their FIN before receiving the other's (client "
                    "packet %llu, server packet %llu, %s apart): each received the peer's "
                    "FIN in FIN_WAIT_1, went to CLOSING, then to TIME_WAIT once its own FIN "
                    "was acknowledged. Both hosts therefore hold TIME_WAIT. Harmless.",
                    ull((uint64_t)a->aux[SC_CLIENT_FIN]), ull((uint64_t)a->aux[SC_SERVER_FIN]),
                    tl_det_dur(d, sizeof d, tl_anomaly_get_us(a, "fin_gap")));
    tl_text_suggest(out, "Nothing to fix. If it happens on every connection, both sides close "
                         "on their own timers; letting one side (usually the client) close "
                         "first keeps TIME_WAIT off the other.");
}

/* half_close: the FIN that half-closed, and the first data after it. */
enum { HC_FIN_PKT, HC_DATA_PKT };

void tl_det_half_close(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    for (int r = 0; r < 2; r++) {
        const struct tl_track_side *s = &c->track->side[r], *h = &c->track->side[!r];
        const struct tl_track_trouble *s_tr = tl_track_trouble(s);
        /* Data the half-closed side answered with RST was refused, not
         * received: rst_after_close tells that story. */
        if (s_tr->data_in_close_wait == 0 || h->fin.n == 0 || after_close(c->track, !r))
            continue;
        struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_HALF_CLOSE, (enum tl_anom_ep) !r,
                                              s_tr->data_in_close_wait_ts);
        if (a == NULL)
            return;
        tl_anomaly_pkt(a, tl_times_pkt(&h->fin, 0));
        tl_anomaly_pkt(a, s_tr->data_in_close_wait_pkt);
        tl_anomaly_str(a, "data_from", role(r));
        tl_anomaly_int(a, "segments", s_tr->data_in_close_wait);
        tl_anomaly_int(a, "bytes", (int64_t)s_tr->data_in_close_wait_bytes);
        a->aux[HC_FIN_PKT] = (int64_t)tl_times_pkt(&h->fin, 0);
        a->aux[HC_DATA_PKT] = (int64_t)s_tr->data_in_close_wait_pkt;
    }
}

void tl_text_half_close(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                        struct tl_anomaly_text *out)
{
    (void)about;
    int r = a->endpoint != TL_AEP_SERVER; /* the side that kept sending */
    unsigned segs = (unsigned)tl_anomaly_get_int(a, "segments");
    tl_text_explain(out,
                    "The %s finished sending (FIN, packet %llu) but kept receiving: the "
                    "%s sent %u more segment%s (%llu bytes, from packet %llu) after "
                    "taking that FIN in. This is a TCP half-close, shutdown(SHUT_WR): "
                    "the %s stays FIN_WAIT_2 and readable, the %s CLOSE_WAIT and "
                    "writable.",
                    role(!r), ull((uint64_t)a->aux[HC_FIN_PKT]), role(r), segs,
                    segs == 1 ? "" : "s", ull((uint64_t)tl_anomaly_get_int(a, "bytes")),
                    ull((uint64_t)a->aux[HC_DATA_PKT]), role(!r), role(r));
    tl_text_suggest(out, "Nothing to fix. Had the FIN's sender closed its socket instead, "
                         "this data would have met an RST; proxies and load balancers "
                         "must pass the half-close on rather than close both directions.");
}
