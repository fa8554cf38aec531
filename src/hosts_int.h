/* Private to host-level aggregation (hosts.c, hosts_scan.c): the table's
 * aggregates and the helpers the detectors share. */
#ifndef TCPLENS_HOSTS_INT_H
#define TCPLENS_HOSTS_INT_H

#include "tcplens/hosts.h"

enum kind { K_SCAN = 0, K_LISTEN, K_PAIR };

struct key {
    uint8_t kind;
    struct tl_addr a; /* SCAN: source; LISTEN: listener; PAIR: client */
    struct tl_addr b; /* PAIR: server; zero otherwise */
    uint16_t port;    /* LISTEN, PAIR: the server's port */
};

/* The lowest connection ids (ascending) and how many there were. */
struct ids {
    uint32_t n;
    uint64_t total;
    uint64_t id[TL_HOST_MAX_CONNS];
};

/* Bits of the sets a scan's distinct targets, ports and hosts are
 * estimated with (linear counting). */
#define BITS 1024u

struct scan_sets; /* hosts_scan.c: exact counts per victim and per port */

/* A source's attempts (hosts_scan.c). */
struct scan {
    uint32_t attempts, refused, unanswered, open, half_open;
    int64_t first, last;
    uint64_t targets[BITS / 64], ports[BITS / 64], hosts[BITS / 64];
    /* Its first failed attempt, until a second one makes the sets worth
     * allocating (a spoofed SYN flood has one attempt per source). */
    bool failed_once;
    struct tl_addr first_fail_host;
    uint16_t first_fail_port;
    uint8_t first_fail_outcome;
    int64_t first_fail_ts;
    struct scan_sets *sets; /* owned; NULL until then */
    struct ids ids;         /* last: see agg_sizes in hosts.c */
};

/* Completed connections kept per listener, to count those still waiting
 * for accept() when the first drop happened. */
#define PENDING 64u

struct pending {
    int64_t done;     /* the handshake ACK the server took */
    int64_t accepted; /* the server's first data or FIN; INT64_MAX: never seen */
    uint64_t id;
};

struct listen {
    uint32_t completed, ack_drops, syn_drops;
    uint32_t ack_drops_again; /* connections whose ACK was dropped twice or more */
    uint32_t syn_drops_again; /* connections whose SYN went unanswered 3 times or more */
    int64_t first_drop;       /* INT64_MAX until a drop is seen */
    uint32_t npend;
    bool pend_evicted;
    /* Last, the lists read only up to their counts: see agg_sizes in
     * hosts.c. */
    struct ids ids; /* connections that saw a drop */
    struct pending pend[PENDING];
};

/* Linux keeps TIME_WAIT for 60 s: TIME_WAITs begun within 60 s coexist. */
#define TW_WINDOW_US TL_TIME_WAIT_US

struct pair {
    uint32_t win_n, best_n;
    int64_t win_first, win_last, best_first, best_last;
    struct ids ids; /* last: see agg_sizes in hosts.c */
};

struct agg {
    struct agg *hnext, *older, *newer;
    uint32_t hash;
    struct key k;
    union {
        struct scan s;
        struct listen l;
        struct pair p;
    } u;
};

struct tl_hosts_wait {
    uint64_t id;
    uint32_t slot;
};

struct tl_hosts {
    struct tl_hosts_cfg cfg;
    /* Dropped aggregates by kind, for the next one of the kind: the
     * table turns over one or two aggregates per connection once full. */
    struct agg *spare[K_PAIR + 1];
    struct agg **buckets;
    uint32_t mask, count;
    struct agg *oldest, *newest;
    struct tl_host_anomaly_list found; /* from evicted aggregates */
    uint64_t evicted, dropped;
    bool failed;
    /* Connections that came before an older one (tl_hosts_take()): a
     * min-heap by id of their slots, capwait of each. */
    struct tl_hosts_wait *wait;
    struct tl_host_conn *slot;
    uint32_t *free_slot; /* the slots not in use, nfree of them */
    size_t nwait, capwait, nfree;
    uint64_t next_id;     /* the lowest id not fed yet, when all below were */
    uint64_t oldest_held; /* every lower id has come */
    uint64_t out_of_order;
};

uint64_t tl_hosts_mix(uint64_t x);
uint64_t tl_hosts_addr_hash(const struct tl_addr *a, uint64_t h);
void tl_hosts_bit_set(uint64_t *set, uint64_t h);
int64_t tl_hosts_bit_count(const uint64_t *set);
void tl_hosts_ids_add(struct ids *s, uint64_t id);
void tl_hosts_ids_merge(struct tl_host_anomaly *ha, const struct ids *s);
double tl_hosts_secs(int64_t us);

/* The host anomaly a renderer words (an empty one when about has none). */
const struct tl_host_anomaly *tl_hosts_about(const struct tl_anomaly_about *about);

/* The aggregate for k, made (and the oldest evicted) if needed; NULL when
 * out of memory. */
struct agg *tl_hosts_get(struct tl_hosts *h, const struct key *k);

/* A new host anomaly in l, or NULL (the cap, or out of memory). */
struct tl_host_anomaly *tl_hosts_push(struct tl_hosts *h, struct tl_host_anomaly_list *l,
                                      enum tl_anomaly_type type, enum tl_anom_ep ep, int64_t ts);

/* hosts_scan.c: syn_scan. */
void tl_hosts_feed_scan(struct tl_hosts *h, const struct tl_host_conn *hc);
/* What one attempt came to (tl_host_conn.outcome). */
enum tl_host_outcome tl_hosts_outcome(const struct tl_tcpstate *st, const struct tl_track *t);
void tl_hosts_eval_scan(struct tl_hosts *h, const struct agg *g, struct tl_host_anomaly_list *out);
/* Frees what a scan aggregate owns (before the aggregate is reused). */
void tl_hosts_scan_release(struct scan *s);

#endif
