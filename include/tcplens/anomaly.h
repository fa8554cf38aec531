/*
 * Anomalies: what went wrong (or is worth knowing) about a connection, with
 * the evidence that proves it. Every type is defined once, in TL_ANOMALIES
 * below: its enum value, its stable id (used in JSON, never the number), its
 * default severity, its scope, its detector and its renderer.
 *
 * Detection and wording are apart: a detector (src/anomaly_*.c) reads what
 * the engine tracked about a connection and appends anomalies with their
 * evidence, once per connection; the renderer of the type turns one
 * anomaly's evidence into its explanation and suggestion, called by the
 * reporter that prints them (tl_anomaly_render). Texts cost more than
 * detection, and most anomalies are only counted: nothing is worded that
 * no report prints.
 */
#ifndef TCPLENS_ANOMALY_H
#define TCPLENS_ANOMALY_H

#include "tcplens/flow.h"
#include "tcplens/status.h"
#include "tcplens/tcpstate.h"
#include "tcplens/timeline.h"
#include "tcplens/types.h"

enum tl_sev { TL_SEV_INFO = 0, TL_SEV_WARNING, TL_SEV_ERROR, TL_SEV_NLEVELS };

/*
 * The one registry: X(ENUM, "id", default severity, host-level, detector,
 * renderer, shows, check). The detector (connection-level types; NULL for
 * host-level ones, which hosts*.c find across connections) fills evidence
 * only; the renderer writes the explanation and suggestion from that
 * evidence when a report prints them. Both are declared in
 * src/anomaly_int.h. shows and check are the type's one-line explanation
 * and suggestion, for reports that speak of many anomalies of a type at
 * once (the default text report's groups); "shows" is also the last column
 * of docs/anomalies.md's table of contents (tests/anomaly-docs.sh).
 */
/* clang-format off */
#define TL_ANOMALIES(X) \
    X(REFUSED, "refused", TL_SEV_ERROR, false, \
     tl_det_refused, tl_text_refused, \
      "the SYN was answered by an RST: nothing listens on the port (or a firewall rejects)", \
      "check that the service listens on that address and port (ss -ltnp), and for REJECT rules") \
    X(HANDSHAKE_TIMEOUT, "handshake_timeout", TL_SEV_ERROR, false, \
     tl_det_handshake_timeout, tl_text_handshake_timeout, \
      "the SYNs went unanswered until the client gave up: host down, or SYNs dropped on the way", \
      "check that the server is up and reachable, and look for DROP rules on the path") \
    X(SYN_BACKOFF, "syn_backoff", TL_SEV_WARNING, false, \
     tl_det_syn_backoff, tl_text_syn_backoff, \
      "the SYN was sent again, gaps doubling (1, 2, 4 s): dropped by a filter or a full queue", \
      "look for DROP rules and full SYN or accept queues (nstat TcpExtListenDrops, ss -ltn)") \
    X(SYNACK_RETRANSMIT, "synack_retransmit", TL_SEV_WARNING, false, \
     tl_det_synack_retransmit, tl_text_synack_retransmit, \
      "the server sent its SYN-ACK more than once; after the client's ACK: accept queue full", \
      "check the server's accept loop and backlog (ss -ltn Recv-Q, nstat TcpExtListenOverflows)") \
    X(RST_INSTEAD_OF_FIN, "rst_instead_of_fin", TL_SEV_WARNING, false, \
     tl_det_rst_instead_of_fin, tl_text_rst_instead_of_fin, \
      "an RST ended it instead of FINs: close() with unread data, SO_LINGER 0, a crash", \
      "read to EOF before close(); look for SO_LINGER {1, 0}, crashes, or a middlebox's RST") \
    X(RST_AFTER_CLOSE, "rst_after_close", TL_SEV_WARNING, false, \
     tl_det_rst_after_close, tl_text_rst_after_close, \
      "an RST answered data sent to an endpoint that had closed: the writer got EPIPE or a reset", \
      "make the writer stop when the peer closes (read() returns 0) instead of sending more") \
    X(MISSING_FINAL_ACK, "missing_final_ack", TL_SEV_WARNING, false, \
     tl_det_missing_final_ack, tl_text_missing_final_ack, \
      "the side in LAST_ACK sent its FIN again, or the last ACK of the close never appeared", \
      "look for loss of the last ACK between the hosts, or a capture that missed it") \
    X(CLOSE_WAIT_STUCK, "close_wait_stuck", TL_SEV_ERROR, false, \
     tl_det_close_wait_stuck, tl_text_close_wait_stuck, \
      "an endpoint took the peer's FIN and sent none: its application never called close()", \
      "find the owner (ss -tanp state close-wait) and the code path that skips close() after EOF") \
    X(FIN_WAIT2_TIMEOUT, "fin_wait2_timeout", TL_SEV_WARNING, false, \
     tl_det_fin_wait2_timeout, tl_text_fin_wait2_timeout, \
      "an endpoint in FIN_WAIT_2 vanished or idled past tcp_fin_timeout: its peer in CLOSE_WAIT", \
      "make the peer's application close() once read() returns 0") \
    X(TIME_WAIT, "time_wait", TL_SEV_INFO, false, \
     tl_det_time_wait, tl_text_time_wait, \
      "the side that closed first entered TIME_WAIT (60 s on Linux)", \
      "nothing for one connection; under pressure, reuse connections (keep-alive, pools)") \
    X(SIMULTANEOUS_CLOSE, "simultaneous_close", TL_SEV_INFO, false, \
     tl_det_simultaneous_close, tl_text_simultaneous_close, \
      "both sides sent FIN at once (FIN_WAIT_1, CLOSING, TIME_WAIT on both)", \
      "nothing to fix: both applications closed at the same time") \
    X(HALF_CLOSE, "half_close", TL_SEV_INFO, false, \
     tl_det_half_close, tl_text_half_close, \
      "one direction was finished (FIN) while data kept flowing the other way: shutdown(SHUT_WR)", \
      "nothing to fix unless the other side never finishes") \
    X(ZERO_WINDOW, "zero_window", TL_SEV_WARNING, false, \
     tl_det_zero_window, tl_text_zero_window, \
      "a receiver advertised a zero window, the sender probed: its application did not read", \
      "find why the receiver reads slowly: its CPU, its locks, its read loop") \
    X(KEEPALIVE, "keepalive", TL_SEV_INFO, false, \
     tl_det_keepalive, tl_text_keepalive, \
      "keepalive probes on an idle connection, answered", \
      "nothing to fix: the peer answered") \
    X(KEEPALIVE_TIMEOUT, "keepalive_timeout", TL_SEV_ERROR, false, \
     tl_det_keepalive_timeout, tl_text_keepalive_timeout, \
      "keepalive probes went unanswered and the prober reset: the peer is dead or cut off", \
      "check the peer and the path: NAT and firewall state timeouts drop idle flows") \
    X(RETRANSMISSION, "retransmission", TL_SEV_WARNING, false, \
     tl_det_retransmission, tl_text_retransmission, \
      "data segments were sent again: loss or congestion on the path", \
      "look for loss on the path: interface errors and drops, nstat TcpRetransSegs") \
    X(STALLED_RETRANSMISSION, "stalled_retransmission", TL_SEV_ERROR, false, \
     tl_det_stalled_retransmission, tl_text_stalled_retransmission, \
      "the same data was sent again, gaps growing, never acknowledged: the peer was unreachable", \
      "check that the peer is up, its route, and the path MTU (ICMP filtered on the way)") \
    X(PORT_REUSE, "port_reuse", TL_SEV_INFO, false, \
     tl_det_port_reuse, tl_text_port_reuse, \
      "a new connection used the 4-tuple of an earlier one (new ISN)", \
      "nothing unless the earlier one was still in TIME_WAIT (see time_wait_pressure)") \
    X(MIDSTREAM, "midstream", TL_SEV_INFO, false, \
     tl_det_midstream, tl_text_midstream, \
      "the capture began after the handshake: roles and states are inferred", \
      "start the capture before the connections open to see their handshakes") \
    X(UNEXPECTED_SEGMENT, "unexpected_segment", TL_SEV_WARNING, false, \
     tl_det_unexpected_segment, tl_text_unexpected_segment, \
      "a segment the receiving endpoint's state has no rule for (e.g. data to a CLOSED endpoint)", \
      "look for a middlebox, or for packets the capture missed") \
    X(ICMP_UNREACHABLE, "icmp_unreachable", TL_SEV_ERROR, false, \
     tl_det_icmp_unreachable, tl_text_icmp_unreachable, \
      "an ICMP error quoted one of its segments: a reject, no route, a host down, a small MTU", \
      "read the ICMP's sender and code: a firewall reject, a missing route, or a path MTU") \
    X(SYN_SCAN, "syn_scan", TL_SEV_WARNING, true, \
     NULL, tl_text_syn_scan, \
      "one source sent SYNs to many ports or hosts, most of them failing: a scanner or a worm", \
      "find who runs the source host; block or rate-limit it unless it is an authorised scanner") \
    X(ACCEPT_QUEUE_OVERFLOW, "accept_queue_overflow", TL_SEV_ERROR, true, \
     NULL, tl_text_accept_queue_overflow, \
      "a listener dropped handshakes after some completed: accept queue (backlog + 1) full", \
      "speed up accept(); raise the listen() backlog and net.core.somaxconn") \
    X(TIME_WAIT_PRESSURE, "time_wait_pressure", TL_SEV_WARNING, true, \
     NULL, tl_text_time_wait_pressure, \
      "one client opened connections to one server so fast TIME_WAIT would exhaust its ports", \
      "reuse connections (keep-alive, pools); net.ipv4.tcp_tw_reuse for outgoing ones")
/* clang-format on */

#define TL_ANOM_ENUM(name, id, sev, host, detect, render, shows, check) TL_AN_##name,
enum tl_anomaly_type { TL_ANOMALIES(TL_ANOM_ENUM) TL_AN_NTYPES };
#undef TL_ANOM_ENUM

const char *tl_anomaly_id(enum tl_anomaly_type t);
enum tl_sev tl_anomaly_default_sev(enum tl_anomaly_type t);
bool tl_anomaly_is_host(enum tl_anomaly_type t);
const char *tl_sev_name(enum tl_sev s);
/* Parses "info", "warning", "error"; false when unknown. */
bool tl_sev_parse(const char *s, enum tl_sev *out);

/* Which side an anomaly concerns. */
enum tl_anom_ep { TL_AEP_CLIENT = 0, TL_AEP_SERVER = 1, TL_AEP_CONNECTION = 2 };
const char *tl_anom_ep_name(enum tl_anom_ep e);

/* One piece of type-specific evidence. Keys are string literals. */
enum tl_evk { TL_EVK_INT, TL_EVK_REAL, TL_EVK_BOOL, TL_EVK_STR, TL_EVK_SERIES, TL_EVK_ADDR };
struct tl_evfield {
    const char *key;
    uint8_t kind; /* enum tl_evk; SERIES = the anomaly's series[] */
    union {
        int64_t i;
        double r;
        bool b;
        const char *s; /* a string literal */
    } v;               /* ADDR: the anomaly's addr */
};

#define TL_ANOM_MAX_PKTS 16
#define TL_ANOM_MAX_FIELDS 16
#define TL_ANOM_MAX_SERIES 16
#define TL_ANOM_MAX_AUX 6

struct tl_anomaly {
    uint8_t type;     /* enum tl_anomaly_type */
    uint8_t severity; /* enum tl_sev */
    uint8_t endpoint; /* enum tl_anom_ep */
    uint8_t npkts, nfields, nseries;
    int64_t ts; /* when it was proven, µs */
    uint64_t pkts[TL_ANOM_MAX_PKTS];
    struct tl_evfield fields[TL_ANOM_MAX_FIELDS];
    /* e.g. the gaps between SYNs, s: printed as the type's SERIES field;
     * a type with none may keep a series here for its renderer alone. */
    double series[TL_ANOM_MAX_SERIES];
    /* What the texts tell that the evidence does not carry (a packet
     * number, a byte count), for the type's renderer alone: no report
     * prints it. Each type names its slots next to its detector. */
    int64_t aux[TL_ANOM_MAX_AUX];
    struct tl_addr addr; /* the value of its TL_EVK_ADDR field (one at most) */
    /* NULL, but for an anomaly read back from a record (src/merge_view.c):
     * the texts the record carries, which tl_anomaly_render() then gives
     * as they are, since the record lacks aux[] and a kept series. Borrowed
     * from the reader, valid until its next record. */
    const struct tl_anomaly_text *texts;
};

struct tl_anomaly_list {
    struct tl_anomaly *a;
    size_t n, cap;
    bool failed; /* an add ran out of memory */
};

void tl_anomaly_list_free(struct tl_anomaly_list *l);

/* Appends a zeroed anomaly of type t with its default severity; NULL when
 * out of memory. */
struct tl_anomaly *tl_anomaly_add(struct tl_anomaly_list *l, enum tl_anomaly_type t,
                                  enum tl_anom_ep ep, int64_t ts);
void tl_anomaly_pkt(struct tl_anomaly *a, uint64_t pkt);
void tl_anomaly_int(struct tl_anomaly *a, const char *key, int64_t v);
void tl_anomaly_real(struct tl_anomaly *a, const char *key, double v);
void tl_anomaly_bool(struct tl_anomaly *a, const char *key, bool v);
void tl_anomaly_str(struct tl_anomaly *a, const char *key, const char *literal);
/* An address (one per anomaly), written as its text form. */
void tl_anomaly_addr(struct tl_anomaly *a, const char *key, const struct tl_addr *v);
/* The text form of field f's value when it is an address, else NULL. */
const char *tl_anomaly_addr_text(const struct tl_anomaly *a, const struct tl_evfield *f, char *buf,
                                 size_t size);
/* Adds a series (e.g. "gaps") of up to TL_ANOM_MAX_SERIES values. */
void tl_anomaly_series(struct tl_anomaly *a, const char *key, const double *v, size_t n);
/* Keeps a series for the renderer only (no field: not printed). */
void tl_anomaly_keep_series(struct tl_anomaly *a, const double *v, size_t n);

/* Evidence read back, for renderers: field key's value, or 0, 0.0, false,
 * "" when a has no such field (or one of another kind). */
bool tl_anomaly_has(const struct tl_anomaly *a, const char *key);
int64_t tl_anomaly_get_int(const struct tl_anomaly *a, const char *key);
double tl_anomaly_get_real(const struct tl_anomaly *a, const char *key);
bool tl_anomaly_get_bool(const struct tl_anomaly *a, const char *key);
const char *tl_anomaly_get_str(const struct tl_anomaly *a, const char *key);
/* A real field of seconds made from µs (a duration), as those µs again:
 * exact, as the seconds keep every digit of the µs. */
int64_t tl_anomaly_get_us(const struct tl_anomaly *a, const char *key);

/* An anomaly's texts: what the kernel did and why, in plain words, and
 * what to check or change (right for current Linux). */
struct tl_anomaly_text {
    char explanation[400];
    char suggestion[300];
};

struct tl_host_anomaly; /* hosts.h */

/* What an anomaly is about, for the words of its texts (addresses): the
 * connection of a connection-level anomaly, or the host anomaly a
 * host-level one is the anomaly of. Either may be NULL. */
struct tl_anomaly_about {
    const struct tl_conn *conn;
    const struct tl_host_anomaly *host;
};

/* The registry's functions. A detector appends the anomalies of its type
 * that ctx proves to out (detect.h); a renderer writes one anomaly's
 * texts into out, which it finds zeroed. */
struct tl_detect_ctx;
typedef void (*tl_detector_fn)(const struct tl_detect_ctx *ctx, struct tl_anomaly_list *out);
typedef void (*tl_render_fn)(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                             struct tl_anomaly_text *out);

/* Type t's one-line explanation (what the capture shows) and suggestion
 * (what to check), the same for every anomaly of the type. */
const char *tl_anomaly_shows(enum tl_anomaly_type t);
const char *tl_anomaly_check(enum tl_anomaly_type t);

/* Type t's detector; NULL for a host-level type (or an unknown one). */
tl_detector_fn tl_anomaly_detector(enum tl_anomaly_type t);

/* Writes the texts of a into out with its type's renderer (empty for an
 * unknown type). Reporters call it when they print a; the texts depend
 * only on a and about. */
void tl_anomaly_render(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                       struct tl_anomaly_text *out);

/* The same for an anomaly of connection c (NULL: addresses left out).
 * Host-level anomalies: tl_host_anomaly_render() (hosts.h). */
void tl_anomaly_render_conn(const struct tl_anomaly *a, const struct tl_conn *c,
                            struct tl_anomaly_text *out);

/* Formats into one of out's texts; a renderer's pen. */
void tl_text_explain(struct tl_anomaly_text *out, const char *fmt, ...) TL_PRINTF(2, 3);
void tl_text_suggest(struct tl_anomaly_text *out, const char *fmt, ...) TL_PRINTF(2, 3);

/* Highest severity in a list, or -1 when empty. */
int tl_anomaly_worst(const struct tl_anomaly_list *l);

#endif
