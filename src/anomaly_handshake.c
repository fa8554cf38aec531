/*
 * Detectors of the handshake and of a connection's identity: refused,
 * handshake_timeout, syn_backoff, synack_retransmit, midstream, port_reuse.
 * Each reads the tracker (detect.h) and records the evidence; its renderer
 * (tl_text_*, after it) tells from that evidence, with the connection's own
 * numbers, what the kernels did and why (docs/anomalies.md).
 *
 * Linux facts they lean on: the first SYN is retransmitted after 1 s
 * (TCP_TIMEOUT_INIT); recent kernels keep that 1 s for the first
 * net.ipv4.tcp_syn_linear_timeouts retries (4), then double it; the server
 * retransmits its SYN-ACK after 1 s, doubling, net.ipv4.tcp_synack_retries
 * times; a listener whose accept queue is full drops new SYNs and the ACKs
 * that would complete pending handshakes (tcp_abort_on_overflow = 0).
 */
#include "tcplens/detect.h"

#include <stdio.h>
#include <string.h>

#include "detect_int.h"


/* "127.0.0.1:80" or "[::1]:80", the server of c ("the server" without c). */
static const char *server_of(const struct tl_conn *c, char *buf, size_t n)
{
    const struct tl_addr *ip;
    uint16_t port;
    char a[TL_ADDR_STRLEN];
    if (c == NULL) {
        snprintf(buf, n, "the server");
        return buf;
    }
    tl_conn_endpoint(c, TL_ROLE_SERVER, &ip, &port);
    tl_addr_str(ip, a, sizeof a);
    snprintf(buf, n, ip->family == TL_AF_INET6 ? "[%s]:%u" : "%s:%u", a, (unsigned)port);
    return buf;
}


/* Gaps between the listed sends, in seconds; returns how many. */
static size_t gaps_of(const struct sends *o, double *g)
{
    for (uint32_t i = 1; i < o->k; i++)
        g[i - 1] = tl_det_secs(o->ts[i] - o->ts[i - 1]);
    return o->k > 0 ? o->k - 1 : 0;
}

/* How one gap compares with the one before: about the same, about double. */
static char ratio_class(double prev, double cur)
{
    double r = prev > 0 ? cur / prev : 0;
    if (r >= 0.75 && r <= 1.33)
        return 'L';
    return r >= 1.6 && r <= 2.5 ? 'E' : 'X';
}

/*
 * How the gaps grow: "linear" (each about the one before, 0.75-1.33x),
 * "exponential" (each about double, 1.6-2.5x), "mixed" (anything else,
 * e.g. Linux's linear retries then doubling), "single" (one gap: no trend).
 * *lin_then_exp tells whether "mixed" is exactly linear then doubling.
 */
static const char *gap_pattern(const double *g, size_t n, bool *lin_then_exp)
{
    *lin_then_exp = false;
    if (n < 2)
        return "single";
    size_t lin = 0, dbl = 0, switches = 0;
    char prev = 0;
    for (size_t i = 1; i < n; i++) {
        char k = ratio_class(g[i - 1], g[i]);
        lin += k == 'L';
        dbl += k == 'E';
        switches += prev == 'L' && k == 'E';
        prev = k;
    }
    if (lin == n - 1)
        return "linear";
    if (dbl == n - 1)
        return "exponential";
    *lin_then_exp = lin + dbl == n - 1 && ratio_class(g[0], g[1]) == 'L' && switches == 1;
    return "mixed";
}

/* "1.01, 1.02, 2.05 s" (the first 6 gaps, then "…"). */
static const char *gaps_text(char *buf, size_t n, const double *g, size_t ng)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ng && i < 6 && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%.2f", i ? ", " : "", g[i]);
    if (used < n)
        snprintf(buf + used, n - used, "%s s", ng > 6 ? ", …" : "");
    return buf;
}

/* The rhythm of retransmitted SYNs, for a sentence: "1.02 s apart (linear:
 * ...)" or "gaps 1.00, 2.00 s (exponential: ...)". */
static const char *rhythm(char *buf, size_t n, const double *g, size_t ng)
{
    bool lte;
    const char *pat = gap_pattern(g, ng, &lte);
    char gt[96];
    gaps_text(gt, sizeof gt, g, ng);
    double sum = 0;
    for (size_t i = 0; i < ng; i++)
        sum += g[i];
    if (pat[0] == 'l')
        snprintf(buf, n,
                 "%.2f s apart: linear, as recent kernels do for the first "
                 "net.ipv4.tcp_syn_linear_timeouts retries",
                 ng > 0 ? sum / (double)ng : 0.0);
    else if (pat[0] == 'e')
        snprintf(buf, n, "gaps %s: exponential, each timeout doubling", gt);
    else if (pat[0] == 's')
        snprintf(buf, n, "%s apart: one retransmission timeout", gt);
    else
        snprintf(buf, n, "gaps %s: %s", gt,
                 lte ? "linear retries first (net.ipv4.tcp_syn_linear_timeouts), then doubling"
                     : "irregular");
    return buf;
}

/* Adds the packets of the listed sends. */
static void add_sends(struct tl_anomaly *a, const struct sends *o)
{
    for (uint32_t i = 0; i < o->k; i++)
        tl_anomaly_pkt(a, o->pkt[i]);
}

/* refused: the packets its text names (its packet list skips a 0). */
enum { REFUSED_SYN_PKT, REFUSED_RST_PKT };

void tl_det_refused(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    const struct tl_track_side *cl = &c->track->side[TL_ROLE_CLIENT];
    const struct tl_track_side *sv = &c->track->side[TL_ROLE_SERVER];
    const struct tl_track_trouble *sv_tr = tl_track_trouble(sv);
    /* The RST must answer the SYN itself: no SYN-ACK came before it, and
     * the client took it (an RST that does not acknowledge the SYN is
     * ignored in SYN_SENT). */
    if (sv_tr->rst_pkt == 0 || sv_tr->rst_ignored || sv_tr->rst_peer_state != TL_EP_SYN_SENT ||
        sv->syn.n > 0 || cl->syn.n == 0)
        return;
    struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_REFUSED, TL_AEP_SERVER, sv_tr->rst_ts);
    if (a == NULL)
        return;
    uint32_t last = cl->syn.k - 1u;
    int64_t delay = sv_tr->rst_ts - tl_times_ts(&cl->syn, last);
    tl_anomaly_pkt(a, tl_times_pkt(&cl->syn, last));
    tl_anomaly_pkt(a, sv_tr->rst_pkt);
    tl_anomaly_int(a, "syns", cl->syn.n);
    tl_anomaly_int(a, "tries", sv_tr->rsts);
    tl_anomaly_real(a, "rst_delay", tl_det_secs(delay));
    a->aux[REFUSED_SYN_PKT] = (int64_t)tl_times_pkt(&cl->syn, last);
    a->aux[REFUSED_RST_PKT] = (int64_t)sv_tr->rst_pkt;
}

void tl_text_refused(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                     struct tl_anomaly_text *out)
{
    unsigned rsts = (unsigned)tl_anomaly_get_int(a, "tries");
    char srv[80], d[32], tries[160] = "";
    server_of(about->conn, srv, sizeof srv);
    /* Windows retries a refused connect() with the very same SYN (twice by
     * default) before it reports WSAECONNREFUSED. */
    if (rsts > 1)
        snprintf(tries, sizeof tries,
                 " The client sent the same SYN %u times, each refused: one connect() "
                 "retried, as Windows does before it reports the refusal.",
                 rsts);
    tl_text_explain(out,
                    "The client's SYN (packet %llu) to %s was answered by an RST %s later "
                    "(packet %llu): no socket listens on that address and port, so the "
                    "server's kernel refused the connection (or a firewall rejected it with "
                    "tcp-reset). connect() failed at once with ECONNREFUSED.%s",
                    (unsigned long long)a->aux[REFUSED_SYN_PKT], srv,
                    tl_det_dur(d, sizeof d, tl_anomaly_get_us(a, "rst_delay")),
                    (unsigned long long)a->aux[REFUSED_RST_PKT], tries);
    tl_text_suggest(out,
                    "Check that the service runs and listens on %s (ss -ltnp: a listener "
                    "bound to another address, e.g. 127.0.0.1 or ::1 only, refuses this "
                    "one), that the client uses the right port, and look for firewall "
                    "REJECT --reject-with tcp-reset rules.",
                    srv);
}

/* The client gave up its SYNs (tcpstate's syn_timeout) and sent nothing
 * after: a SYN retried later (an old 3 s initial RTO) proves it had not. */
static bool gave_up(const struct tl_track *t)
{
    return t->syn_timeout_ts != 0 && t->side[TL_ROLE_CLIENT].last_ts <= t->syn_timeout_ts;
}

void tl_det_handshake_timeout(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    const struct tl_track *t = c->track;
    struct sends sd;
    tl_det_distinct(&t->side[TL_ROLE_CLIENT].syn, &sd);
    const struct sends *syn = &sd;
    /* The client gave up (tcpstate's syn_timeout) and nothing ever came
     * back. Still retrying at capture end is syn_backoff with
     * "answered": false, not a timeout. A client that sent anything but
     * SYNs got an answer the capture missed (one direction captured). */
    if (!gave_up(t) || syn->n == 0 || t->side[TL_ROLE_SERVER].last_ts != 0 ||
        c->conn->packets[TL_ROLE_CLIENT] - c->conn->duplicates[TL_ROLE_CLIENT] !=
            t->side[TL_ROLE_CLIENT].syn.n)
        return;
    struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_HANDSHAKE_TIMEOUT, TL_AEP_CLIENT,
                                          t->syn_timeout_ts);
    if (a == NULL)
        return;
    add_sends(a, syn);
    int64_t total = t->syn_timeout_ts - syn->ts[0];
    tl_anomaly_int(a, "syns", syn->n);
    tl_anomaly_real(a, "duration", tl_det_secs(total));
    /* Its text tells the rhythm of the SYNs; the evidence has no gaps. */
    double g[TL_TRACK_TIMES];
    tl_anomaly_keep_series(a, g, gaps_of(syn, g));
}

void tl_text_handshake_timeout(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                               struct tl_anomaly_text *out)
{
    unsigned syns = (unsigned)tl_anomaly_get_int(a, "syns");
    size_t ng = a->nseries;
    char srv[80], d[32], rh[200] = "";
    server_of(about->conn, srv, sizeof srv);
    if (ng > 0)
        rhythm(rh, sizeof rh, a->series, ng);
    tl_text_explain(out,
                    "The client sent %u SYN%s%s%s%s, got no answer at all and gave up %s "
                    "after the first: connect() failed with ETIMEDOUT. Not even an RST came "
                    "back: the SYNs were dropped silently (host down or unreachable, "
                    "firewall DROP, full listen queue).",
                    syns, syns == 1 ? "" : "s", ng > 0 ? " (" : "", rh, ng > 0 ? ")" : "",
                    tl_det_dur(d, sizeof d, tl_anomaly_get_us(a, "duration")));
    tl_text_suggest(out,
                    "Check that %s is up and routed, and that no firewall (nft/iptables "
                    "DROP, security groups) eats SYNs to it; on the server: ss -ltn and "
                    "nstat -az TcpExtListenDrops. How long the client waits is "
                    "net.ipv4.tcp_syn_retries, or the application's connect timeout.",
                    srv);
}

/* The server's answer to the SYNs: SYN-ACK, RST, or nothing. */
static const char *syn_answer(const struct tl_track *t)
{
    const struct tl_track_side *sv = &t->side[TL_ROLE_SERVER];
    if (sv->syn.n > 0)
        return "SYN-ACK";
    return tl_track_trouble(sv)->rst_pkt != 0 ? "RST" : NULL;
}

/* syn_backoff: whether the answer was an RST (else a SYN-ACK). */
enum { BACKOFF_ANSWER_RST };

void tl_det_syn_backoff(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    const struct tl_track *t = c->track;
    struct sends sd;
    tl_det_distinct(&t->side[TL_ROLE_CLIENT].syn, &sd);
    const struct sends *syn = &sd;
    if (syn->n < 2 || syn->k < 2)
        return;
    struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_SYN_BACKOFF, TL_AEP_CLIENT, syn->ts[1]);
    if (a == NULL)
        return;
    add_sends(a, syn);
    double g[TL_TRACK_TIMES];
    size_t ng = gaps_of(syn, g);
    bool lte;
    const char *ans = syn_answer(t);
    tl_anomaly_int(a, "syns", syn->n);
    tl_anomaly_series(a, "gaps", g, ng);
    tl_anomaly_str(a, "pattern", gap_pattern(g, ng, &lte));
    tl_anomaly_bool(a, "answered", ans != NULL);
    tl_anomaly_bool(a, "gave_up", gave_up(t));
    if (ans != NULL) {
        const struct tl_track_side *sv = &t->side[TL_ROLE_SERVER];
        const struct tl_track_trouble *sv_tr = tl_track_trouble(sv);
        int64_t wait = (ans[0] == 'S' ? tl_times_ts(&sv->syn, 0) : sv_tr->rst_ts) - syn->ts[0];
        tl_anomaly_pkt(a, ans[0] == 'S' ? tl_times_pkt(&sv->syn, 0) : sv_tr->rst_pkt);
        tl_anomaly_real(a, "wait", tl_det_secs(wait));
        a->aux[BACKOFF_ANSWER_RST] = ans[0] == 'R';
    }
}

void tl_text_syn_backoff(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                         struct tl_anomaly_text *out)
{
    (void)about;
    unsigned syns = (unsigned)tl_anomaly_get_int(a, "syns");
    char rh[200], d[32];
    rhythm(rh, sizeof rh, a->series, a->nseries);
    if (tl_anomaly_get_bool(a, "answered")) {
        const char *ans = a->aux[BACKOFF_ANSWER_RST] ? "RST" : "SYN-ACK";
        tl_text_explain(out,
                        "The client sent its SYN %u times (%s) before the server answered "
                        "with %s, %s after the first SYN: the earlier SYNs or their "
                        "answers were lost, and connect() took that long instead of one "
                        "round trip.",
                        syns, rh, ans, tl_det_dur(d, sizeof d, tl_anomaly_get_us(a, "wait")));
    } else {
        tl_text_explain(out,
                        "The client sent its SYN %u times (%s) and no answer came%s. The "
                        "SYNs were dropped on the way or by the server (host down, "
                        "firewall DROP, SYN or accept queue full); each lost try costs a "
                        "full retransmission timeout.",
                        syns, rh,
                        tl_anomaly_get_bool(a, "gave_up") ? "; it gave up (handshake_timeout)"
                                                          : " before the capture ended");
    }
    tl_text_suggest(out, "Look for what drops SYNs: firewall DROP rules on the path, and on "
                         "the server nstat -az TcpExtListenOverflows TcpExtListenDrops "
                         "TcpExtTCPReqQFullDrop and ss -ltn (Recv-Q at Send-Q = accept queue "
                         "full). Client connect timeouts under 1 s cannot survive one drop.");
}

/* synack_retransmit: the client's handshake ACK. */
enum { SYNACK_ACK_PKT };

/* The texts of synack_retransmit, by what the client did. */
void tl_text_synack_retransmit(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                               struct tl_anomaly_text *out)
{
    (void)about;
    unsigned n = (unsigned)tl_anomaly_get_int(a, "count");
    int64_t csyn = tl_anomaly_get_int(a, "client_syns");
    char gt[96];
    gaps_text(gt, sizeof gt, a->series, a->nseries);
    if (tl_anomaly_get_bool(a, "client_ack_seen")) {
        tl_text_explain(out,
                        "The server sent its SYN-ACK %u times (gaps %s) although the "
                        "client's handshake ACK (packet %llu) came before the repeats: the "
                        "server's kernel dropped that ACK, as Linux does when the "
                        "listener's accept queue is full. The client believes it is "
                        "connected (ESTABLISHED); the server holds only a SYN_RECV request.",
                        n, gt, (unsigned long long)a->aux[SYNACK_ACK_PKT]);
        tl_text_suggest(out, "The application does not accept() fast enough: check the "
                             "listener with ss -ltn (Recv-Q at Send-Q) and nstat -az "
                             "TcpExtListenOverflows; accept faster, or raise the listen() "
                             "backlog together with net.core.somaxconn, which caps it.");
    } else {
        /* A client that got no SYN-ACK retries its SYN too (same 1 s timer);
         * one that did is ESTABLISHED and only its ACK can have been lost. */
        tl_text_explain(out,
                        "The server sent its SYN-ACK %u times (gaps %s) without seeing the "
                        "client's ACK in between: its kernel retransmits after 1 s, "
                        "doubling, up to net.ipv4.tcp_synack_retries times. %s",
                        n, gt,
                        csyn > 1 ? "The client retried its SYN too: the SYN-ACKs were lost "
                                   "on the way to it."
                                 : "The client did not retry its SYN, so it had the SYN-ACK: "
                                   "its ACK was lost on the way to the server, and the "
                                   "connection started that much later.");
        tl_text_suggest(out, "Look for packet loss between the hosts (interface errors, "
                             "nstat -az TcpExtTCPSynRetrans on the server, a firewall that "
                             "drops the client's ACK). Each loss delays the connection by "
                             "at least 1 s.");
    }
}

void tl_det_synack_retransmit(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    const struct tl_track *t = c->track;
    struct sends sd;
    tl_det_distinct(&t->side[TL_ROLE_SERVER].syn, &sd);
    const struct sends *sa = &sd;
    if (sa->n < 2 || sa->k < 2)
        return;
    struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_SYNACK_RETRANSMIT, TL_AEP_SERVER, sa->ts[1]);
    if (a == NULL)
        return;
    add_sends(a, sa);
    tl_anomaly_pkt(a, t->hs_ack_pkt);
    double g[TL_TRACK_TIMES];
    size_t ng = gaps_of(sa, g);
    tl_anomaly_int(a, "count", sa->n);
    tl_anomaly_int(a, "retransmits", sa->n - 1);
    tl_anomaly_bool(a, "client_ack_seen", t->synack_after_ack > 0);
    tl_anomaly_int(a, "client_syns", t->side[TL_ROLE_CLIENT].syn.n);
    tl_anomaly_series(a, "gaps", g, ng);
    a->aux[SYNACK_ACK_PKT] = (int64_t)t->hs_ack_pkt;
}

void tl_det_midstream(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    if (!c->track->midstream)
        return;
    const struct tl_conn *cn = c->conn;
    struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_MIDSTREAM, TL_AEP_CONNECTION, cn->first_ts);
    if (a == NULL)
        return;
    tl_anomaly_pkt(a, cn->first_pkt);
    tl_anomaly_str(a, "roles_from", tl_roles_from_name((enum tl_roles_from)cn->roles_from));
    tl_anomaly_int(a, "first_packet", (int64_t)cn->first_pkt);
}

void tl_text_midstream(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                       struct tl_anomaly_text *out)
{
    bool by_port = strcmp(tl_anomaly_get_str(a, "roles_from"), tl_roles_from_name(TL_ROLES_PORT)) ==
                   0;
    char srv[80];
    server_of(about->conn, srv, sizeof srv);
    tl_text_explain(out,
                    "The capture began after this connection's handshake: its first "
                    "captured packet (%llu) is not a SYN. States start from what the "
                    "traffic proves, the options the handshake negotiated (MSS, window "
                    "scale, SACK) are unknown, so windows are shown unscaled, and %s was "
                    "taken as the server%s.",
                    (unsigned long long)tl_anomaly_get_int(a, "first_packet"), srv,
                    by_port ? " by the port heuristic (lower port)" : "");
    tl_text_suggest(out, "Nothing is wrong with the connection. To see its handshake, start "
                         "the capture before it opens (for pooled or long-lived connections, "
                         "restart the client while capturing).");
}

void tl_det_port_reuse(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    const struct tl_track *t = c->track;
    if (!t->reuse.reused)
        return;
    const struct tl_conn *cn = c->conn;
    struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_PORT_REUSE, TL_AEP_CONNECTION, cn->first_ts);
    if (a == NULL)
        return;
    tl_anomaly_pkt(a, cn->first_pkt);
    tl_anomaly_int(a, "previous_id", (int64_t)t->reuse.prev_id);
    tl_anomaly_real(a, "gap", tl_det_secs(t->reuse.gap_us));
    tl_anomaly_bool(a, "previous_in_time_wait", t->reuse.prev_time_wait);
}

void tl_text_port_reuse(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                        struct tl_anomaly_text *out)
{
    (void)about;
    char d[32];
    tl_text_explain(out,
                    "This connection reuses the 4-tuple of connection %llu, %s after its "
                    "last packet%s",
                    (unsigned long long)tl_anomaly_get_int(a, "previous_id"),
                    tl_det_dur(d, sizeof d, tl_anomaly_get_us(a, "gap")),
                    tl_anomaly_get_bool(a, "previous_in_time_wait")
                        ? ", while an endpoint of it was still in TIME_WAIT (60 s on Linux):"
                          " the kernel let the new SYN take that TIME_WAIT over (a server "
                          "does so for a SYN with newer sequence number and timestamp; a "
                          "client reuses its own with net.ipv4.tcp_tw_reuse)."
                        : "; no endpoint of it was in TIME_WAIT any more (it ended by RST, "
                          "or TIME_WAIT had run out).");
    tl_text_suggest(out, "Normal for clients that bind a fixed source port or cycle a small "
                         "port range. If reused tuples ever meet RSTs or silence, keep TCP "
                         "timestamps on, net.ipv4.tcp_tw_reuse at 2 (default) or 1, and widen "
                         "ip_local_port_range. Never tcp_tw_recycle: removed in Linux 4.12, "
                         "it broke clients behind NAT.");
}
