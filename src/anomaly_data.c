/*
 * Detectors of the data phase: zero windows, keepalives (answered or not),
 * retransmissions, stalls (the same data retransmitted until the end), and
 * segments the state machine had no rule for. Each looks at one side at a
 * time, (me, peer) as Zeek does, and reads only the tracker (src/track.c),
 * the state machines and the connection; it records evidence, which its
 * renderer (tl_text_*) words. Thresholds, and why they are what they are,
 * are in docs/anomalies.md.
 */
#include "tcplens/detect.h"

#include <stdio.h>
#include <string.h>

#include "detect_int.h"
#include "tcplens/icmp.h"

/* A zero-window stretch shorter than Linux's minimum retransmission timeout
 * (TCP_RTO_MIN, 200 ms) needed no probe: flow control at work (info). */
#define ZW_BRIEF_US (200 * 1000)
/* Still closed at the end after this long: the reader has stopped (error). */
#define ZW_STUCK_US (5 * TL_USEC_PER_SEC)

/* Keepalives unanswered in a row before the peer looks gone (warning). */
#define KA_UNANSWERED_WARN 2

/* A retransmission warning needs at least this many retransmissions that
 * the receiver did not report as duplicates (D-SACK), making at least this
 * share of the side's data segments: one tail loss probe is not a problem. */
#define RETX_WARN_MIN 3u
#define RETX_WARN_RATE 0.01

/* A stall: the same data retransmitted this many times, never acknowledged
 * (two are enough when an RST or the sender giving up follows). */
#define STALL_MIN 3u
/* Linux caps the retransmission timeout at TCP_RTO_MAX (120 s). */

/* Packets listed per anomaly for repeated events (probes, retransmissions). */
#define LIST_PKTS 8u

static const char *role_name(enum tl_role r) { return r == TL_ROLE_CLIENT ? "client" : "server"; }

/* The side an anomaly concerns. */
static enum tl_role side_of(const struct tl_anomaly *a)
{
    return a->endpoint == TL_AEP_SERVER ? TL_ROLE_SERVER : TL_ROLE_CLIENT;
}

static uint32_t recorded(const struct tl_times *tm) { return tm->k; }

static void list_pkts(struct tl_anomaly *a, const struct tl_times *tm, uint32_t max)
{
    for (uint32_t i = 0; i < recorded(tm) && i < max; i++)
        tl_anomaly_pkt(a, tl_times_pkt(tm, i));
}

/* Mean gap between the recorded events, s; 0 with fewer than two. */
static double mean_gap(const struct tl_times *tm)
{
    uint32_t n = recorded(tm);
    return n < 2 ? 0.0 : tl_det_secs(tl_times_ts(tm, n - 1) - tl_times_ts(tm, 0)) / (double)(n - 1);
}

/* ---------------------------------------------------------- zero_window */

void tl_text_zero_window(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                         struct tl_anomaly_text *out)
{
    (void)about;
    enum tl_role r = side_of(a);
    const char *who = role_name(r), *peer = role_name(!r);
    bool open = tl_anomaly_get_bool(a, "reopened");
    tl_text_explain(out,
                    "The %s advertised a zero receive window %u time(s), the longest for "
                    "%.3f s: its receive buffer was full because its application did not "
                    "read. The %s's kernel had to stop sending and probed the window %u "
                    "time(s) while its application's writes queued up. %s",
                    who, (unsigned)tl_anomaly_get_int(a, "times"),
                    tl_anomaly_get_real(a, "longest_s"), peer,
                    (unsigned)tl_anomaly_get_int(a, "probes"),
                    open ? "The window reopened once the application read again."
                         : "The window was still closed at the end.");
    tl_text_suggest(out,
                    "Find why the %s application stops reading: a blocked thread or event "
                    "loop, a slow disk or downstream service (ss -tm shows its Recv-Q). "
                    "A bigger buffer (tcp_rmem; SO_RCVBUF disables autotuning) only delays "
                    "a reader slower than its sender.",
                    who);
}

static void zero_window_side(const struct tl_detect_ctx *c, enum tl_role r,
                             struct tl_anomaly_list *out)
{
    const struct tl_track_side *me = &c->track->side[r], *peer = &c->track->side[!r];
    const struct tl_track_trouble *peer_tr = tl_track_trouble(peer);
    const struct tl_track_trouble *me_tr = tl_track_trouble(me);
    if (me_tr->zero_windows == 0)
        return;
    bool open = me_tr->zw_since == 0;
    int64_t still = open ? 0 : c->conn->last_ts - me_tr->zw_since;
    int64_t longest = still > me_tr->zw_longest_us ? still : me_tr->zw_longest_us;
    struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_ZERO_WINDOW, (enum tl_anom_ep)r,
                                          me_tr->zw_first_ts);
    if (a == NULL)
        return;
    if (!open && still >= ZW_STUCK_US)
        a->severity = TL_SEV_ERROR;
    else if (longest < ZW_BRIEF_US && peer_tr->zwp.n == 0)
        a->severity = TL_SEV_INFO;
    tl_anomaly_pkt(a, me_tr->zw_first_pkt);
    list_pkts(a, &peer_tr->zwp, LIST_PKTS);
    tl_anomaly_pkt(a, me_tr->zw_open_pkt);
    tl_anomaly_int(a, "times", me_tr->zero_windows);
    tl_anomaly_real(a, "longest_s", tl_det_secs(longest));
    tl_anomaly_int(a, "probes", peer_tr->zwp.n);
    tl_anomaly_bool(a, "reopened", open);
    if (!open)
        tl_anomaly_real(a, "closed_at_end_s", tl_det_secs(still));
}

void tl_det_zero_window(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    zero_window_side(c, TL_ROLE_CLIENT, out);
    zero_window_side(c, TL_ROLE_SERVER, out);
}

/* ------------------------------------------------- keepalive, _timeout */

/* The prober's own RST after its last keepalives went unanswered: Linux
 * gives up after tcp_keepalive_probes (TCP_KEEPCNT), resets, ETIMEDOUT. */
static bool ka_timed_out(const struct tl_track_side *me)
{
    const struct tl_track_trouble *me_tr = tl_track_trouble(me);
    return me_tr->ka.n > 0 && me_tr->ka_unanswered > 0 && me_tr->rst_pkt != 0 &&
           me_tr->rst_ts >= me_tr->ka_last_ts;
}

static void ka_fields(struct tl_anomaly *a, const struct tl_track_side *me)
{
    const struct tl_track_trouble *me_tr = tl_track_trouble(me);
    tl_anomaly_int(a, "probes", me_tr->ka.n);
    tl_anomaly_int(a, "answered", me_tr->ka_answered);
    tl_anomaly_int(a, "unanswered", me_tr->ka_unanswered);
    tl_anomaly_real(a, "idle_s", tl_det_secs(me_tr->ka_idle_us));
    if (recorded(&me_tr->ka) >= 2)
        tl_anomaly_real(a, "interval_s", mean_gap(&me_tr->ka));
}

static void keepalive_side(const struct tl_detect_ctx *c, enum tl_role r,
                           struct tl_anomaly_list *out)
{
    const struct tl_track_side *me = &c->track->side[r];
    const struct tl_track_trouble *me_tr = tl_track_trouble(me);
    if (me_tr->ka.n == 0 || ka_timed_out(me))
        return;
    struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_KEEPALIVE, (enum tl_anom_ep)r,
                                          tl_times_ts(&me_tr->ka, 0));
    if (a == NULL)
        return;
    list_pkts(a, &me_tr->ka, LIST_PKTS);
    ka_fields(a, me);
    if (me_tr->ka_unanswered >= KA_UNANSWERED_WARN)
        a->severity = TL_SEV_WARNING;
}

void tl_text_keepalive(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                       struct tl_anomaly_text *out)
{
    (void)about;
    enum tl_role r = side_of(a);
    const char *who = role_name(r), *peer = role_name(!r);
    unsigned probes = (unsigned)tl_anomaly_get_int(a, "probes");
    unsigned unanswered = (unsigned)tl_anomaly_get_int(a, "unanswered");
    if (unanswered >= KA_UNANSWERED_WARN) {
        tl_text_explain(out,
                        "The %s's kernel sent %u keepalive probe(s) on an idle connection; "
                        "the last %u went unanswered until the end. The %s may be gone "
                        "(host down, path lost, state dropped by a firewall or NAT): after "
                        "tcp_keepalive_probes unanswered probes the kernel resets the "
                        "connection and the application gets ETIMEDOUT.",
                        who, probes, unanswered, peer);
        tl_text_suggest(out,
                        "Check that the %s host is up and reachable, and whether a "
                        "firewall or NAT on the path expires idle flows.",
                        peer);
        return;
    }
    tl_text_explain(out,
                    "The connection was idle for %.1f s, so the %s's kernel (SO_KEEPALIVE) "
                    "sent %u keepalive probe(s): an empty ACK one byte behind its next "
                    "sequence number, which the %s must answer. It answered %u. Linux waits "
                    "tcp_keepalive_time (7200 s by default) or TCP_KEEPIDLE before probing.",
                    tl_anomaly_get_real(a, "idle_s"), who, probes, peer,
                    (unsigned)tl_anomaly_get_int(a, "answered"));
    tl_text_suggest(out, "Nothing to fix. To notice dead peers sooner, or to keep NAT and "
                         "firewall state alive, set TCP_KEEPIDLE, TCP_KEEPINTVL and "
                         "TCP_KEEPCNT below the middlebox's idle timeout.");
}

void tl_det_keepalive(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    keepalive_side(c, TL_ROLE_CLIENT, out);
    keepalive_side(c, TL_ROLE_SERVER, out);
}

static void keepalive_timeout_side(const struct tl_detect_ctx *c, enum tl_role r,
                                   struct tl_anomaly_list *out)
{
    const struct tl_track_side *me = &c->track->side[r], *peer = &c->track->side[!r];
    const struct tl_track_trouble *me_tr = tl_track_trouble(me);
    if (!ka_timed_out(me))
        return;
    struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_KEEPALIVE_TIMEOUT, (enum tl_anom_ep)r,
                                          me_tr->rst_ts);
    if (a == NULL)
        return;
    list_pkts(a, &me_tr->ka, LIST_PKTS);
    tl_anomaly_pkt(a, me_tr->rst_pkt);
    ka_fields(a, me);
    int64_t silent = 0;
    if (peer->last_ts != 0 && peer->last_ts < me_tr->rst_ts)
        silent = me_tr->rst_ts - peer->last_ts;
    tl_anomaly_real(a, "peer_silent_s", tl_det_secs(silent));
}

void tl_text_keepalive_timeout(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                               struct tl_anomaly_text *out)
{
    (void)about;
    enum tl_role r = side_of(a);
    const char *who = role_name(r), *other = role_name(!r);
    tl_text_explain(out,
                    "The connection was idle; the %s's kernel sent %u keepalive probe(s) "
                    "and the last %u got no answer, so it gave up: it sent an RST and the "
                    "application's next call failed with ETIMEDOUT. The %s had said nothing "
                    "for %.1f s: it is gone (host down or rebooted, cable or path lost) or "
                    "a firewall or NAT dropped the idle flow.",
                    who, (unsigned)tl_anomaly_get_int(a, "probes"),
                    (unsigned)tl_anomaly_get_int(a, "unanswered"), other,
                    tl_anomaly_get_real(a, "peer_silent_s"));
    tl_text_suggest(out,
                    "Check the %s host and the path (firewall and NAT idle timeouts, "
                    "conntrack). If a middlebox expires idle flows, set TCP_KEEPIDLE below "
                    "its timeout. Make the application reconnect on ETIMEDOUT.",
                    other);
}

void tl_det_keepalive_timeout(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    keepalive_timeout_side(c, TL_ROLE_CLIENT, out);
    keepalive_timeout_side(c, TL_ROLE_SERVER, out);
}

/* ------------------------------------------------ stalled_retransmission */

struct stall {
    int64_t first, last, end; /* first and last retransmission; RST or clock */
    double gaps[TL_TRACK_TIMES];
    uint32_t ngaps;
    const struct tl_track_side *rst_by; /* the RST that ended it, or NULL */
    bool gave_up;                       /* no retransmission came when the next one was due */
    bool peer_silent;                   /* the peer sent nothing between first and last */
};

/* The RST (from either side) that came after the stall began, if any. */
static const struct tl_track_side *stall_rst(const struct tl_track *t, enum tl_role r,
                                             int64_t first)
{
    const struct tl_track_side *a = &t->side[r], *b = &t->side[!r];
    const struct tl_track_trouble *b_tr = tl_track_trouble(b);
    const struct tl_track_trouble *a_tr = tl_track_trouble(a);
    bool ra = a_tr->rst_pkt != 0 && a_tr->rst_ts >= first,
         rb = b_tr->rst_pkt != 0 && b_tr->rst_ts >= first;
    if (ra && rb)
        return a_tr->rst_ts <= b_tr->rst_ts ? a : b;
    return ra ? a : rb ? b : NULL;
}

/*
 * Is side r stalled: the same data retransmitted (tracker: stall), never
 * acknowledged until the end? The next retransmission timeout is at most
 * twice the last gap (Linux doubles it, up to TCP_RTO_MAX); if the end came
 * later than that (2 % and 10 ms more for timer slack), the sender gave up
 * (tcp_retries2 or TCP_USER_TIMEOUT: ETIMEDOUT, with no segment sent).
 */
static bool stalled(const struct tl_detect_ctx *c, enum tl_role r, struct stall *sl)
{
    const struct tl_track_side *me = &c->track->side[r];
    const struct tl_track_trouble *me_tr = tl_track_trouble(me);
    if (me_tr->stall.n < 2)
        return false;
    sl->first = tl_times_ts(&me_tr->stall, 0);
    sl->last = me_tr->stall_last_ts;
    sl->ngaps = recorded(&me_tr->stall) - 1;
    for (uint32_t i = 0; i < sl->ngaps; i++)
        sl->gaps[i] = tl_det_secs(tl_times_ts(&me_tr->stall, i + 1) -
                                  tl_times_ts(&me_tr->stall, i));
    int64_t gap = me_tr->stall.n == me_tr->stall.k
                      ? tl_times_ts(&me_tr->stall, me_tr->stall.n - 1) -
                            tl_times_ts(&me_tr->stall, me_tr->stall.n - 2)
                      : TL_RTO_MAX_US;
    int64_t next = 2 * gap < TL_RTO_MAX_US ? 2 * gap : TL_RTO_MAX_US;
    int64_t due = sl->last + next + next / 50 + 10000;
    /* The state machine knows the last two retransmissions however many
     * there were, and closed the endpoint at that moment (retransmission_
     * timeout): the same deadline, from its times. */
    const struct tl_ep *ep = &c->tcp->ep[r];
    if (ep->nrtx >= 2 && ep->rtx_seq == ep->isn + me_tr->stall_seq)
        due = tl_tcpstate_rtx_deadline(ep);
    sl->rst_by = stall_rst(c->track, r, sl->first);
    sl->end = sl->rst_by != NULL ? tl_track_trouble(sl->rst_by)->rst_ts : c->now_us;
    sl->gave_up = sl->end > due;
    sl->peer_silent = me_tr->stall_peer_ts == 0 || me_tr->stall_peer_ts > sl->last;
    return me_tr->stall.n >= STALL_MIN || sl->rst_by != NULL || sl->gave_up;
}

void tl_text_stalled_retransmission(const struct tl_anomaly *a,
                                    const struct tl_anomaly_about *about,
                                    struct tl_anomaly_text *out)
{
    (void)about;
    enum tl_role r = side_of(a);
    const char *who = role_name(r), *peer = role_name(!r);
    bool peer_silent = tl_anomaly_get_bool(a, "peer_silent");
    char gave_up[200];
    const char *err = tl_anomaly_get_str(a, "errno");
    /* The socket's error: ETIMEDOUT, or the soft error an ICMP message left. */
    snprintf(gave_up, sizeof gave_up,
             "The kernel then gave up (tcp_retries2 or TCP_USER_TIMEOUT): %s%s.",
             err[0] != '\0' ? err : "ETIMEDOUT",
             err[0] != '\0' && strcmp(err, "ETIMEDOUT") != 0 ? " (an ICMP error's)" : "");
    tl_text_explain(
        out,
        "The %s's kernel sent the same data %u more times, the gaps growing (timeout backoff), "
        "and no ACK for it ever came: %s %s Its application's send() calls kept succeeding: "
        "they only fill the send buffer.",
        who, (unsigned)tl_anomaly_get_int(a, "retransmissions"),
        peer_silent ? "the peer sent nothing at all meanwhile, so it is unreachable "
                      "(host down, cable pulled, path blackholed)."
                    : "the peer kept sending, so it is alive but this data never "
                      "reaches it (one-way loss, e.g. an MTU blackhole).",
        tl_anomaly_get_bool(a, "gave_up") ? gave_up : "");
    if (peer_silent)
        tl_text_suggest(out,
                        "Check that the %s host is up and reachable (firewall drops, "
                        "routing). To fail in seconds instead of ~15 min (tcp_retries2 = "
                        "15), set TCP_USER_TIMEOUT on the socket, and use application "
                        "timeouts.",
                        peer);
    else
        tl_text_suggest(out, "Test the path MTU (tracepath, ping -M do -s 1472); let ICMP "
                             "'fragmentation needed' / 'packet too big' through, clamp the "
                             "MSS on tunnels, or set net.ipv4.tcp_mtu_probing = 1.");
}

static void stalled_side(const struct tl_detect_ctx *c, enum tl_role r, struct tl_anomaly_list *out)
{
    const struct tl_track_side *me = &c->track->side[r];
    const struct tl_track_trouble *me_tr = tl_track_trouble(me);
    struct stall sl;
    if (!stalled(c, r, &sl))
        return;
    struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_STALLED_RETRANSMISSION, (enum tl_anom_ep)r,
                                          sl.first);
    if (a == NULL)
        return;
    list_pkts(a, &me_tr->stall, TL_ANOM_MAX_PKTS - 2);
    if (me_tr->stall.n > TL_ANOM_MAX_PKTS - 2)
        tl_anomaly_pkt(a, me_tr->stall_last_pkt);
    if (sl.rst_by != NULL)
        tl_anomaly_pkt(a, tl_track_trouble(sl.rst_by)->rst_pkt);
    const struct tl_ep *ep = &c->tcp->ep[r];
    tl_anomaly_int(a, "retransmissions", me_tr->stall.n);
    tl_anomaly_series(a, "gaps", sl.gaps, sl.ngaps);
    tl_anomaly_real(a, "duration_s", tl_det_secs(sl.end - sl.first));
    tl_anomaly_int(a, "unacked_bytes", (int64_t)(ep->snd_nxt - (ep->isn + me_tr->stall_seq)));
    tl_anomaly_bool(a, "peer_silent", sl.peer_silent);
    tl_anomaly_bool(a, "gave_up", sl.gave_up);
    /* Linux reports the soft error an ICMP message left (sk_err_soft) in
     * place of ETIMEDOUT. */
    const struct tl_track_trouble *tr = tl_track_trouble(me);
    if (sl.gave_up)
        tl_anomaly_str(a, "errno",
                       tr->icmps > 0 && tr->icmp_seq == tr->stall_seq && !tl_icmp_pmtu(&tr->icmp)
                           ? tl_icmp_errno(&tr->icmp)
                           : "ETIMEDOUT");
    tl_anomaly_str(a, "ended_by", sl.rst_by != NULL ? "rst" : "capture_end");
    if (sl.rst_by != NULL)
        tl_anomaly_str(a, "rst_from", sl.rst_by == me ? role_name(r) : role_name(!r));
}

void tl_det_stalled_retransmission(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    stalled_side(c, TL_ROLE_CLIENT, out);
    stalled_side(c, TL_ROLE_SERVER, out);
}

/* -------------------------------------------------------- retransmission */

/* What a side's retransmissions were. */
struct retx {
    uint32_t copies;   /* the capture's own duplicates, not sent twice */
    uint32_t spurious; /* the receiver had them already (D-SACK) */
    uint32_t in_stall; /* reported by stalled_retransmission */
    uint32_t lossy;    /* the rest: lost segments (or lost ACKs) */
    double pct;        /* retransmissions per data segment, % */
};

/* A side's retransmissions, as the evidence tells them: sent is what the
 * kernel really sent again, all adds the capture's copies. */
static struct retx retx_of(const struct tl_anomaly *a, uint32_t *sent, uint32_t *all)
{
    struct retx x = {.copies = (uint32_t)tl_anomaly_get_int(a, "capture_copies"),
                     .spurious = (uint32_t)tl_anomaly_get_int(a, "spurious"),
                     .in_stall = (uint32_t)tl_anomaly_get_int(a, "in_stall")};
    *sent = (uint32_t)tl_anomaly_get_int(a, "retransmissions");
    *all = *sent + x.copies;
    x.lossy = *sent - x.in_stall - x.spurious;
    x.pct = 100.0 * (double)*sent / (double)tl_anomaly_get_int(a, "data_segments");
    return x;
}

void tl_text_retransmission(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                            struct tl_anomaly_text *out)
{
    (void)about;
    enum tl_role r = side_of(a);
    const char *who = role_name(r), *peer = role_name(!r);
    uint32_t sent, all;
    struct retx x = retx_of(a, &sent, &all);
    if (sent == 0) {
        tl_text_explain(out,
                        "%u segment(s) of the %s appear twice or more within 1 ms with "
                        "nothing in between: copies made by the capture (several "
                        "interfaces, a bridge and its ports, a SPAN session), not "
                        "retransmissions by the kernel.",
                        all, who);
        tl_text_suggest(out, "Capture on one interface only (not 'any' on a bridged host), "
                             "or remove the duplicates first (editcap -d).");
    } else if (x.lossy == 0 && x.in_stall == 0) {
        tl_text_explain(out,
                        "The %s sent %u data segment(s) again (%.1f %% of its data "
                        "segments), but the %s reported each as a duplicate (D-SACK)%s: "
                        "nothing was lost, a timer fired early, typically a tail loss "
                        "probe while the ACK was delayed.",
                        who, all, x.pct, peer, x.copies > 0 ? " or the capture copied it" : "");
        tl_text_suggest(out, "Nothing to fix: premature retransmissions of this kind are "
                             "part of normal Linux loss detection.");
    } else {
        tl_text_explain(out,
                        "The %s's kernel retransmitted %u data segment(s), %llu bytes, %.1f "
                        "%% of its data segments (%u were needless: D-SACK): segments or "
                        "their ACKs were lost, so the kernel resent them after duplicate "
                        "ACKs or SACKs (fast retransmit) or a timeout, and slowed down.",
                        who, sent, (unsigned long long)tl_anomaly_get_int(a, "bytes"), x.pct,
                        x.spurious);
        if (a->severity == TL_SEV_INFO)
            tl_text_suggest(out, "Occasional loss is normal; watch the rate (nstat "
                                 "TcpRetransSegs against TcpOutSegs).");
        else
            tl_text_suggest(out, "Look for loss on the path: interface errors and drops (ip -s "
                                 "link, ethtool -S), full queues (tc -s qdisc), congested or "
                                 "policed links. Above ~1 %% loss, TCP throughput drops sharply.");
    }
}

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

static void retransmission_side(const struct tl_detect_ctx *c, enum tl_role r,
                                struct tl_anomaly_list *out)
{
    const struct tl_track_side *me = &c->track->side[r];
    const struct tl_track_trouble *me_tr = tl_track_trouble(me);
    struct stall sl;
    if (me_tr->retx == 0)
        return;
    struct retx x = {.copies = min_u32(me_tr->dup_copies, me_tr->retx)};
    uint32_t sent = me_tr->retx - x.copies; /* really sent again */
    /* A stall is reported by stalled_retransmission; what is left is ours. */
    x.in_stall = stalled(c, r, &sl) ? min_u32(me_tr->stall.n, sent) : 0;
    if (sent > 0 && x.in_stall >= sent)
        return;
    x.spurious = min_u32(me_tr->dsacks, sent - x.in_stall);
    x.lossy = sent - x.in_stall - x.spurious;
    double segs = me->data_segs > x.copies ? (double)(me->data_segs - x.copies) : 1.0;
    x.pct = 100.0 * (double)sent / segs;
    struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_RETRANSMISSION, (enum tl_anom_ep)r,
                                          me_tr->retx_first_ts);
    if (a == NULL)
        return;
    bool lossy_enough = x.lossy >= RETX_WARN_MIN && (double)x.lossy / segs >= RETX_WARN_RATE;
    a->severity = lossy_enough ? TL_SEV_WARNING : TL_SEV_INFO;
    tl_anomaly_pkt(a, me_tr->retx_first_pkt);
    tl_anomaly_pkt(a, me_tr->dsack_first_pkt);
    tl_anomaly_int(a, "retransmissions", sent);
    tl_anomaly_int(a, "bytes", (int64_t)me_tr->retx_bytes);
    tl_anomaly_int(a, "data_segments", (int64_t)segs);
    tl_anomaly_real(a, "rate", (double)sent / segs);
    tl_anomaly_int(a, "spurious", x.spurious);
    if (x.in_stall > 0)
        tl_anomaly_int(a, "in_stall", x.in_stall);
    if (x.copies > 0)
        tl_anomaly_int(a, "capture_copies", x.copies);
}

void tl_det_retransmission(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    retransmission_side(c, TL_ROLE_CLIENT, out);
    retransmission_side(c, TL_ROLE_SERVER, out);
}

/* ---------------------------------------------------- unexpected_segment */

/* When packet pkt was seen: its timeline entry (unexpected segments are
 * lifecycle events), else the connection's start. */
static int64_t pkt_ts(const struct tl_detect_ctx *c, uint64_t pkt)
{
    for (uint32_t i = 0; i < c->timeline->n; i++)
        if (c->timeline->ev[i].pkt == pkt)
            return c->timeline->ev[i].ts;
    return c->conn->first_ts;
}

/* unexpected_segment: the first one's flags (TL_TH_*), and why it may fit
 * no rule (enum why). */
enum { UNEXP_FLAGS, UNEXP_WHY };

/* Why a segment may fit no rule, in the likeliest order. */
enum why { WHY_AFTER_RST, WHY_ONE_WAY, WHY_UNKNOWN };

static enum why unexpected_why(const struct tl_detect_ctx *c, enum tl_role r,
                               const struct tl_track_side *me)
{
    const struct tl_track_trouble *me_tr = tl_track_trouble(me);
    /* After an RST, segments already in flight still arrive. */
    if (c->tcp->rst_seen &&
        (me_tr->unexpected_state == TL_EP_CLOSED || me_tr->unexpected_peer_state == TL_EP_CLOSED))
        return WHY_AFTER_RST;
    return !c->tcp->ep[!r].seen ? WHY_ONE_WAY : WHY_UNKNOWN;
}

static const char *why_text(int64_t why)
{
    if (why == WHY_AFTER_RST)
        return "It was most likely in flight when the connection was reset.";
    if (why == WHY_ONE_WAY)
        return "Nothing from its peer is in the capture: it saw one direction only "
               "(asymmetric routing, a one-way filter), so half of each exchange is missing.";
    return "Likely causes: packets missing from or reordered in the capture, a capture "
           "merged from several points, or a middlebox injecting segments.";
}

static void unexpected_side(const struct tl_detect_ctx *c, enum tl_role r,
                            struct tl_anomaly_list *out)
{
    const struct tl_track_side *me = &c->track->side[r];
    const struct tl_track_trouble *me_tr = tl_track_trouble(me);
    if (me_tr->unexpected == 0)
        return;
    struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_UNEXPECTED_SEGMENT, (enum tl_anom_ep)r,
                                          pkt_ts(c, me_tr->unexpected_pkt));
    if (a == NULL)
        return;
    enum why why = unexpected_why(c, r, me);
    if (why != WHY_UNKNOWN)
        a->severity = TL_SEV_INFO;
    tl_anomaly_pkt(a, me_tr->unexpected_pkt);
    tl_anomaly_int(a, "count", me_tr->unexpected);
    tl_anomaly_int(a, "first_packet", (int64_t)me_tr->unexpected_pkt);
    tl_anomaly_str(a, "state", tl_ep_state_name((enum tl_ep_state)me_tr->unexpected_state));
    tl_anomaly_str(a, "peer_state",
                   tl_ep_state_name((enum tl_ep_state)me_tr->unexpected_peer_state));
    a->aux[UNEXP_FLAGS] = me_tr->unexpected_flags;
    a->aux[UNEXP_WHY] = why;
}

void tl_text_unexpected_segment(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                                struct tl_anomaly_text *out)
{
    (void)about;
    enum tl_role r = side_of(a);
    char flags[9];
    tl_tcp_flags_str((uint8_t)a->aux[UNEXP_FLAGS], flags, sizeof flags);
    tl_text_explain(out,
                    "%u segment(s) from the %s fit no rule of the TCP state machine; the "
                    "first (packet %llu, flags %s) came while the %s was %s and the %s %s. "
                    "%s",
                    (unsigned)tl_anomaly_get_int(a, "count"), role_name(r),
                    (unsigned long long)tl_anomaly_get_int(a, "first_packet"),
                    flags[0] != '\0' ? flags : "none", role_name(r), tl_anomaly_get_str(a, "state"),
                    role_name(!r), tl_anomaly_get_str(a, "peer_state"),
                    why_text(a->aux[UNEXP_WHY]));
    tl_text_suggest(out, "Look at the packet in Wireshark (wireshark_filter). If tcpdump "
                         "reported packets dropped by the kernel, capture again with a "
                         "bigger buffer (-B) and capture at one point only.");
}

void tl_det_unexpected_segment(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    unexpected_side(c, TL_ROLE_CLIENT, out);
    unexpected_side(c, TL_ROLE_SERVER, out);
}
