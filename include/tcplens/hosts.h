/*
 * Host-level anomalies: patterns that only show across connections. The
 * engine hands every connection it reports to tl_hosts_take(), which
 * feeds them to the detectors in id (first-seen) order, whatever order
 * they end in: tcplens merge feeds a shards' records in the same order
 * and finds the same. tl_hosts_finish() then lists what the aggregates
 * prove:
 *
 *   syn_scan               one source sends SYNs to many ports or hosts,
 *                          most of them refused or unanswered
 *   accept_queue_overflow  one listener (address:port) drops handshake ACKs
 *                          (SYN-ACK retransmitted after the client's ACK) or
 *                          SYNs while N completed connections wait for
 *                          accept(): N estimates the accept queue (backlog + 1)
 *   time_wait_pressure     one client address to one server address:port,
 *                          closing first so fast that TIME_WAIT (60 s) would
 *                          use up the ephemeral port range
 *
 * Thresholds and their reasons: docs/anomalies.md. Memory is bounded:
 * at most cfg.max_hosts aggregates live at once; beyond that the least
 * recently updated one is evicted (counted, and evaluated first, so what it
 * already proves is still reported). Work per connection is O(1) (bounded by
 * small constants). Output order never depends on hashing.
 */
#ifndef TCPLENS_HOSTS_H
#define TCPLENS_HOSTS_H

#include "tcplens/anomaly.h"
#include "tcplens/detect.h"
#include "tcplens/flow.h"
#include "tcplens/status.h"
#include "tcplens/tcpstate.h"
#include "tcplens/types.h"

#define TL_HOSTS_DEFAULT_MAX 8192u
#define TL_HOSTS_DEFAULT_MAX_ANOMALIES 1000u
/* Zeek's scan policy (policy/misc/scan.zeek): a source that tries this
 * many ports of one host, or one port on this many hosts, within the
 * window, most attempts failing, is scanning. */
#define TL_HOSTS_SCAN_PORTS 15u
#define TL_HOSTS_SCAN_HOSTS 25u
#define TL_HOSTS_SCAN_WINDOW_US (300 * TL_USEC_PER_SEC)
#define TL_HOSTS_TW_MIN_CONNS 100u /* client TIME_WAITs in the busiest 60 s */
#define TL_HOSTS_TW_MIN_FILL 0.5   /* projected TIME_WAITs / port range */
#define TL_HOSTS_PORT_RANGE 28232u /* net.ipv4.ip_local_port_range 32768-60999 */

/* Zero (or 0.0) in any field means its default above. */
struct tl_hosts_cfg {
    uint32_t max_hosts;     /* aggregates kept at once */
    uint32_t max_anomalies; /* host anomalies kept; more are counted, dropped */
    uint32_t scan_ports;    /* --scan-ports */
    uint32_t scan_hosts;    /* --scan-hosts */
    int64_t scan_window_us;
    uint32_t tw_min_conns;
    double tw_min_fill;
    uint32_t tw_port_range;
};

#define TL_HOST_MAX_CONNS 32

/* One host anomaly: the anomaly itself (type, severity, ts, packets unused,
 * evidence; endpoint is the role the host plays) and which host and
 * connections it is about, which its texts name. */
struct tl_host_anomaly {
    struct tl_anomaly a;
    char host[TL_ADDR_STRLEN]; /* the source, the listener or the client address */
    uint16_t port;             /* the listener's port (accept_queue_overflow); 0 = none */
    char peer[TL_ADDR_STRLEN]; /* time_wait_pressure: the server's address; "" = none */
    uint16_t peer_port;        /* and its port */
    uint32_t nconns;           /* ids listed in conns[], ascending (the lowest ones) */
    uint64_t conns[TL_HOST_MAX_CONNS];
    uint64_t total_conns; /* connections involved, listed or not */
};

struct tl_host_anomaly_list {
    struct tl_host_anomaly *a;
    size_t n, cap;
};

void tl_host_anomaly_list_free(struct tl_host_anomaly_list *l);

/* Writes ha's texts into out (tl_anomaly_render): reporters call it when
 * they print ha. */
void tl_host_anomaly_render(const struct tl_host_anomaly *ha, struct tl_anomaly_text *out);

/* What one attempt came to, for syn_scan (a connection whose SYN was seen). */
enum tl_host_outcome {
    TL_HOST_ANSWERED = 0, /* SYN-ACK or data from the server */
    TL_HOST_REFUSED,      /* RST from the server: nothing listening */
    TL_HOST_UNANSWERED,   /* nothing from the server */
    TL_HOST_HALF_OPEN,    /* answered, then reset by the client before its ACK */
    TL_HOST_NOUTCOMES
};

/* "answered", "refused", "unanswered", "half_open". */
const char *tl_host_outcome_name(enum tl_host_outcome o);

/*
 * All the host-level detectors read of one connection (tl_hosts_facts()
 * takes it from the trackers). The JSON records carry it ("host_facts",
 * docs/report.md), so that tcplens merge feeds the same detectors the
 * same connections as one run.
 */
struct tl_host_conn {
    uint64_t id;
    struct tl_addr client, server;
    uint16_t server_port;
    bool syn_seen;             /* roles from the client's SYN: an attempt */
    bool hs_ack;               /* the server took a handshake ACK, at hs_ack_ts */
    uint8_t outcome;           /* enum tl_host_outcome, when syn_seen */
    uint8_t syns_lost;         /* 0; 2: the client's first SYN went unanswered
                        * before its second; 3: its first three did */
    uint32_t synack_after_ack; /* SYN-ACKs the server resent after it */
    int64_t first_ts;
    int64_t hs_ack_ts;
    int64_t accepted_ts;         /* the server's first data or FIN; INT64_MAX: none */
    int64_t syn_ts;              /* the client's first SYN, when syns_lost */
    int64_t client_time_wait_ts; /* the client entered TIME_WAIT (0: never) */
};

/* What c itself gives (id, endpoints, first time, whether its SYN was
 * seen), the facts from the trackers left at "none". */
void tl_host_conn_of(const struct tl_conn *c, struct tl_host_conn *out);

/* One reported connection's part in host-level detection: c with its
 * final states st and its tracker t (borrowed). */
void tl_hosts_facts(const struct tl_conn *c, const struct tl_tcpstate *st, const struct tl_track *t,
                    struct tl_host_conn *out);

struct tl_hosts;

/* Returns NULL when out of memory. cfg may be NULL (all defaults). */
TL_MUST_CHECK struct tl_hosts *tl_hosts_new(const struct tl_hosts_cfg *cfg);

/*
 * Takes in one reported connection at once. Never fails: an aggregate
 * that cannot be allocated is skipped and tl_hosts_finish() says
 * TL_ENOMEM. What the detectors find depends on the order connections
 * come in (windows, the cap): tcplens feeds them in id order.
 */
void tl_hosts_feed(struct tl_hosts *h, const struct tl_host_conn *hc);

/* tl_hosts_facts(), then tl_hosts_feed(). */
void tl_hosts_conn(struct tl_hosts *h, const struct tl_conn *c, const struct tl_tcpstate *st,
                   const struct tl_track *t);

/*
 * Takes a connection that may come out of id order (connections end in
 * any order), and feeds it once every older one has come: all ids below
 * oldest have come or are coming now (order.h's rule), or it is the next
 * id. At most TL_HOSTS_WAIT_MAX wait; past that the oldest waiting is fed
 * at once (counted: tl_hosts_out_of_order()). tl_hosts_finish() feeds
 * those still waiting.
 */
void tl_hosts_take(struct tl_hosts *h, const struct tl_host_conn *hc, uint64_t oldest);
#define TL_HOSTS_WAIT_MAX ((size_t)1 << 16)
uint64_t tl_hosts_out_of_order(const struct tl_hosts *h);

/*
 * Appends every host anomaly, ordered by time (then type, host), to out,
 * and empties h (it may be fed again). Returns TL_ENOMEM when out could not
 * grow or an aggregate had been lost to an allocation failure.
 */
TL_MUST_CHECK enum tl_status tl_hosts_finish(struct tl_hosts *h, struct tl_host_anomaly_list *out);

/* Aggregates evicted by the max_hosts cap, and host anomalies dropped by
 * max_anomalies, so far. */
uint64_t tl_hosts_evicted(const struct tl_hosts *h);
uint64_t tl_hosts_dropped(const struct tl_hosts *h);

void tl_hosts_free(struct tl_hosts *h);

#endif
