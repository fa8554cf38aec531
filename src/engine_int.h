/* Private to the engine (engine.c, engine_state.c): the engine object and
 * where each connection's state machines live. */
#ifndef TCPLENS_ENGINE_INT_H
#define TCPLENS_ENGINE_INT_H

#include "tcplens/dedup.h"
#include "tcplens/detect.h"
#include "tcplens/engine.h"
#include "tcplens/flow.h"
#include "tcplens/handoff.h"
#include "tcplens/hosts.h"
#include "tcplens/order.h"
#include "tcplens/tcpstate.h"
#include "tcplens/timeline.h"
#include "tcplens/tomb.h"
#include "tcplens/zeek.h"

/* A live connection quiet this long is packed until its next packet. */
#define TL_PACK_IDLE_US TL_USEC_PER_SEC

/* A connection's state machines. */
struct conn_ext {
    struct tl_tcpstate tcp;
    struct tl_dedup dedup;
    struct tl_zeek zeek;
    struct tl_timeline tl;
    struct tl_track track;
};

/*
 * What the flow table keeps in each connection's ext area: the state
 * machines while the connection is active. Once it has ended, while it
 * lingers for late packets (a minute, by default), or after a second
 * without a packet, they are kept packed (pack.h: the non-zero words only,
 * timeline included), which is a third of the size; the next packet
 * unpacks them, and so does the report.
 */
struct conn_slot {
    struct conn_ext *x; /* NULL while packed */
    uint8_t *packed;
};

struct tl_engine {
    struct tl_engine_cfg cfg;
    struct tl_flow_table *flows;
    struct tl_capture_info cap;
    struct tl_hosts *hosts;              /* host-level detection */
    struct tl_order *order;              /* in front of cfg.reports */
    struct tl_handoff *handoff;          /* the reports' thread (cfg.threads 2), or NULL */
    struct tl_tombs *tombs;              /* of connections reported early */
    struct tl_host_anomaly_list host_an; /* its findings, after finish */
    int64_t clock_us;                    /* latest packet time seen: expiry never runs backwards */
    /* Reused from one connection to the next instead of malloc and free
     * each time: one state (a connection's or a packed one's while it is
     * reported) and the anomaly list. */
    struct conn_ext *spare;
    struct tl_anomaly_list an;
    uint8_t *scratch; /* pack_conn()'s, scratch_size bytes */
    size_t scratch_size;
    size_t vlan_apart;      /* connections held under a TL_FLOW_VLAN_APART key */
    uint64_t detector_runs; /* tl_detect() calls: one per connection reported */
    int reported_worst;     /* the worst severity of a connection's anomalies, -1
                             * for none: cap.worst_severity's at the end */
    /* Where a connection let go now is let go (tl_conn_view.released_pkt):
     * the frame being read (read_pkt), or after it (between: a clock tick),
     * or at the end (finishing). */
    uint64_t read_pkt;
    bool between, finishing;
    /* The frames are the follow inputs' (tl_engine_follow()): they reach
     * only the connections held and the tombstones. */
    bool following;
};

static inline struct conn_slot *slot(struct tl_conn *c) { return (struct conn_slot *)c->ext; }

static inline const struct conn_slot *slot_of(const struct tl_conn *c)
{
    return (const struct conn_slot *)(const void *)c->ext;
}

/* The state machines; only while unpacked. */
static inline struct conn_ext *ext(struct tl_conn *c) { return slot(c)->x; }

static inline struct tl_tcpstate *conn_state(struct tl_conn *c) { return &ext(c)->tcp; }

/* A state for a new connection (the spare one, else malloc'd); NULL when
 * out of memory. */
struct conn_ext *tl_engine_ext_alloc(struct tl_engine *e);

/* Packs c's state machines (short of memory, they stay as they are). */
void tl_engine_pack(struct tl_engine *e, struct tl_conn *c);

/* Restores into x, with a timeline array of its own, the state packed at p. */
TL_MUST_CHECK enum tl_status tl_engine_unpack_into(struct conn_ext *x, const uint8_t *p);

/* Makes c's state machines usable again (a late packet, the report). */
TL_MUST_CHECK enum tl_status tl_engine_unpack(struct tl_engine *e, struct tl_conn *c);

/* Frees c's state, packed or not (the flow table frees c itself). */
void tl_engine_drop_state(struct tl_engine *e, struct tl_conn *c);

#endif
