/*
 * Flow table: canonical 4-tuple (+ VLAN) → the connection currently using it.
 *
 * One lookup per packet: the key puts the lower (address, port) endpoint
 * first, and the packet's direction is one bit. Connections live on three
 * intrusive lists: a hash chain, a recency list (idle expiry on the packet
 * clock, least recently seen first), and the first-seen list that gives
 * output its order. A connection is allocated when it starts and recycled
 * through a free list when it ends: nothing is allocated per packet.
 */
#ifndef TCPLENS_FLOW_H
#define TCPLENS_FLOW_H

#include "tcplens/decode.h"
#include "tcplens/status.h"
#include "tcplens/types.h"

/* Canonical key: (a, pa) sorts before or equal to (b, pb). */
struct tl_flow_key {
    struct tl_addr a, b;
    uint16_t pa, pb;
    uint32_t vlan;   /* the VLAN id(s), 0 where the engine leaves them out, with
                    * TL_FLOW_VLAN_APART set for a flow kept apart by its VLAN
                    * under --vlan-key auto */
    uint32_t tunnel; /* the tunnel it came through (type, id, outer addresses)
                      * as a digest, never 0; 0: no tunnel */
};

#define TL_FLOW_VLAN_APART (UINT32_C(1) << 31)
/* Marks the key of a connection a new one on its 4-tuple superseded while
 * its server may still answer (a challenge ACK): the engine keeps it there
 * until it ends. */
#define TL_FLOW_SUPERSEDED (UINT32_C(1) << 30)

enum tl_role { TL_ROLE_CLIENT = 0, TL_ROLE_SERVER = 1 };

/* How the client and server were told apart. */
enum tl_roles_from {
    TL_ROLES_SYN = 0, /* the client sent the first SYN */
    TL_ROLES_SYNACK,  /* no SYN seen; the SYN-ACK sender is the server */
    TL_ROLES_PORT,    /* neither seen: port heuristic (docs/flow-table.md) */
};

/* How a connection ended (the report's "end"). */
enum tl_end {
    TL_END_OPEN = 0, /* still open when the capture (or run) ended */
    TL_END_FIN,      /* FIN handshake */
    TL_END_RST,      /* reset */
    TL_END_TIMEOUT,  /* idle past the timeout, evicted */
    TL_END_EVICTED,  /* pushed out by --max-flows */
    TL_END_ICMP,     /* an ICMP error ended the client's connect() */
    TL_END_NENDS
};

/* Recency lists: connections still live, and those that have ended but
 * linger a little so late packets (retransmitted FIN, last ACK) still land
 * on them. Each list has its own timeout. */
/* Lists in least-recently-seen order. IDLE holds live connections the
 * engine set aside (packed) after a quiet while; together IDLE then LIVE
 * are the live connections from least to most recently seen. */
enum tl_flow_list {
    TL_FLOW_LIVE = 0,
    TL_FLOW_ENDED = 1,
    TL_FLOW_IDLE = 2,
    TL_FLOW_DORMANT = 3, /* synchronized, idle past --idle-timeout: kept
                          * packed for a keepalive that continues it */
    TL_FLOW_NLISTS
};

struct tl_conn_links { /* owned by the flow table; do not touch */
    struct tl_conn *hnext;
    struct tl_conn *rprev, *rnext;
    struct tl_conn *oprev, *onext;
    uint32_t hash;
    uint8_t list;
};

/* One TCP connection. Readers (engine, reports) see it; the table owns it. */
struct tl_conn {
    uint64_t id; /* 1, 2, … in first-seen order */
    struct tl_flow_key key;
    bool client_is_a;          /* the client is key.a */
    uint8_t roles_from;        /* enum tl_roles_from */
    uint8_t end;               /* enum tl_end */
    int64_t first_ts, last_ts; /* pcap clock, µs */
    int64_t seen_us;           /* the engine's clock at its last packet: it never
                               * goes back, so the times that expire and evict
                               * connections keep their least-recently-seen
                               * order even where the capture's clock steps back */
    uint64_t first_pkt, last_pkt;
    uint64_t packets[2];  /* by role */
    uint64_t bytes[2];    /* TCP payload bytes on the wire, by role,
                               * the capture's duplicate copies left out */
    uint32_t vlan[2];     /* the VLAN id each role's segments carried */
    uint8_t vlan_seen;    /* bit r: role r's VLAN id is known */
    bool supersedes;      /* an older connection on its 4-tuple is held
                               * under the TL_FLOW_SUPERSEDED key */
    bool synced;          /* both endpoints synchronized, not ended: an
                               * idle one may come back (a keepalive) */
    uint32_t icmp_errors; /* ICMP errors about its segments, copies included */
    /* The tunnel its first segment came through (type TL_TUN_NONE: none),
     * outer addresses as key.a's and key.b's sides: outer_src is key.a's. */
    struct tl_tunnel tunnel;
    bool idle_ended;        /* it ended idle past --idle-timeout (counted
                               * in capture.evicted.idle) */
    bool overlaps;          /* another connection on its 4-tuple lived at
                               * the same time (a superseded one): tell
                               * them apart by the client's sequence space */
    uint64_t duplicates[2]; /* frames that were copies of one just seen
                               * (counted in packets, not events) */
    struct tl_conn_links links;
    /* Room for the layers above (cfg.ext_size bytes), e.g. the state engine. */
    _Alignas(16) unsigned char ext[];
};

struct tl_flow_cfg {
    size_t ext_size;    /* bytes reserved in each tl_conn.ext */
    uint32_t max_flows; /* hard cap on connections in the table, 0 = none */
    uint64_t seed;      /* hash seed; output never depends on it */
};

struct tl_flow_table;

/* Returns NULL when out of memory. */
TL_MUST_CHECK struct tl_flow_table *tl_flow_table_new(const struct tl_flow_cfg *cfg);

/* Frees the table, every connection in it, and the free list. */
void tl_flow_table_free(struct tl_flow_table *t);

/* Builds the canonical key of a packet; *from_a tells whether it was sent
 * by key.a. */
void tl_flow_key_make(const struct tl_pkt *p, struct tl_flow_key *k, bool *from_a);

/* True when x and y name the same flow. */
static inline bool tl_flow_key_eq(const struct tl_flow_key *x, const struct tl_flow_key *y)
{
    return x->pa == y->pa && x->pb == y->pb && x->vlan == y->vlan && x->tunnel == y->tunnel &&
           tl_addr_cmp(&x->a, &y->a) == 0 && tl_addr_cmp(&x->b, &y->b) == 0;
}

/* Hash of a key under the table's seed (compute once per packet). */
uint32_t tl_flow_hash(const struct tl_flow_table *t, const struct tl_flow_key *k);

/* Which of n shards the connection of k belongs to (--shard): FNV-1a over
 * the canonical 4-tuple (addresses in network byte order, ports as
 * big-endian bytes; the VLAN is left out), modulo n. The same on every
 * machine and in every version, since workers started apart must agree. */
uint32_t tl_flow_shard(const struct tl_flow_key *k, uint32_t n);

/* The connection on this key, or NULL. */
struct tl_conn *tl_flow_lookup(const struct tl_flow_table *t, const struct tl_flow_key *k,
                               uint32_t hash);

/* Hints only (src/lookahead.c): nothing changes and nothing is read that
 * is not there. Starts fetching the bucket of hash; returns the first
 * connection in it (whose lines are then fetched too), or NULL. */
void tl_flow_prefetch_bucket(const struct tl_flow_table *t, uint32_t hash);
const struct tl_conn *tl_flow_prefetch_chain(const struct tl_flow_table *t, uint32_t hash);

/*
 * Adds a zeroed connection on key (which must be free) with the next id, at
 * the fresh end of the live list and the tail of the first-seen list.
 * Returns NULL when out of memory or when the table is at max_flows (check
 * tl_flow_full() and evict first).
 */
TL_MUST_CHECK struct tl_conn *tl_flow_insert(struct tl_flow_table *t, const struct tl_flow_key *k,
                                             uint32_t hash);

bool tl_flow_full(const struct tl_flow_table *t);

/* Marks c as just seen: moves it to the fresh end of its recency list
 * (an IDLE connection goes back to LIVE). */
void tl_flow_touch(struct tl_flow_table *t, struct tl_conn *c);

/* Moves c to another recency list (at its fresh end). */
void tl_flow_move(struct tl_flow_table *t, struct tl_conn *c, enum tl_flow_list list);

/* True when c is on the ended list (it lingers for late packets). */
static inline bool tl_flow_ended(const struct tl_conn *c) { return c->links.list == TL_FLOW_ENDED; }

/* Least recently seen connection of a recency list, or NULL. */
struct tl_conn *tl_flow_stalest(const struct tl_flow_table *t, enum tl_flow_list list);

/* Least recently seen connection of any list (for --max-flows eviction). */
struct tl_conn *tl_flow_stalest_any(const struct tl_flow_table *t);

/* Files c under another key (which must be free); its place in the
 * recency and first-seen lists stays. */
void tl_flow_rekey(struct tl_flow_table *t, struct tl_conn *c, const struct tl_flow_key *k);

/* Unlinks c and recycles it; c must not be used afterwards. */
void tl_flow_remove(struct tl_flow_table *t, struct tl_conn *c);

/* First-seen iteration over the connections in the table. */
struct tl_conn *tl_flow_first(const struct tl_flow_table *t);
struct tl_conn *tl_flow_next(const struct tl_conn *c);

size_t tl_flow_count(const struct tl_flow_table *t);

/* Connections on one recency list. */
size_t tl_flow_list_count(const struct tl_flow_table *t, enum tl_flow_list list);

/* Role of the sender of a packet, given tl_flow_key_make's from_a, on a
 * flow whose client is its key's a when client_is_a. */
static inline enum tl_role tl_role_of(bool client_is_a, bool from_a)
{
    return from_a == client_is_a ? TL_ROLE_CLIENT : TL_ROLE_SERVER;
}

/* The same on connection c. */
static inline enum tl_role tl_conn_role(const struct tl_conn *c, bool from_a)
{
    return tl_role_of(c->client_is_a, from_a);
}

/* The connection's VLAN id: its client's segments', else its server's
 * (0: untagged). */
static inline uint32_t tl_conn_vlan(const struct tl_conn *c)
{
    return (c->vlan_seen & 1u) ? c->vlan[TL_ROLE_CLIENT] : c->vlan[TL_ROLE_SERVER];
}

/* True when the server's segments carried another VLAN id than the
 * client's (a tap that tags each direction apart). */
static inline bool tl_conn_vlan_split(const struct tl_conn *c)
{
    return c->vlan_seen == 3u && c->vlan[TL_ROLE_CLIENT] != c->vlan[TL_ROLE_SERVER];
}

/* The client's or server's address and port. */
void tl_conn_endpoint(const struct tl_conn *c, enum tl_role r, const struct tl_addr **ip,
                      uint16_t *port);

const char *tl_end_name(enum tl_end e);
const char *tl_roles_from_name(enum tl_roles_from r);

#endif
