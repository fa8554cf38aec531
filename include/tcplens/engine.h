/*
 * The engine runs the pipeline for one analysis: frames in, decoded,
 * looked up in the flow table, tracked, and handed to the reporters when
 * their connection ends. It owns no globals: two engines can run side by
 * side.
 */
#ifndef TCPLENS_ENGINE_H
#define TCPLENS_ENGINE_H

#include "tcplens/detect.h"
#include "tcplens/hosts.h"
#include "tcplens/model.h"
#include "tcplens/report.h"
#include "tcplens/source.h"
#include "tcplens/status.h"
#include "tcplens/timeline.h"
#include "tcplens/types.h"
#include "tcplens/zeek.h"

#define TL_DEFAULT_IDLE_TIMEOUT_US (300 * TL_USEC_PER_SEC) /* as Zeek's */
#define TL_DEFAULT_LINGER_US TL_TIME_WAIT_US               /* Linux TIME_WAIT */
#define TL_DEFAULT_MAX_FLOWS 1000000u

/* Whether the VLAN id is part of a connection's key (--vlan-key). */
enum tl_vlan_key {
    TL_VLAN_KEY_AUTO = 0, /* joins the halves of a flow a tap tags apart */
    TL_VLAN_KEY_ON,       /* every VLAN its own connections */
    TL_VLAN_KEY_OFF,      /* VLAN ids ignored */
};

struct tl_engine_cfg {
    int64_t idle_timeout_us;   /* a live connection idle this long ends as "timeout" */
    uint8_t vlan_key;          /* enum tl_vlan_key */
    struct tl_hosts_cfg hosts; /* host-level detection; zeros: defaults */
    int64_t linger_us;         /* an ended connection is kept this long for late packets */
    uint32_t max_flows;        /* cap on connections held at once, 0 = none */
    struct tl_timeline_cfg timeline;
    struct tl_zeek_cfg zeek;
    struct tl_detect_cfg detect;
    /* --shard: keep only the connections of shard shard_index of
     * shard_count (tl_flow_shard); shard_count 0 or 1 keeps all. */
    uint32_t shard_index, shard_count;
    /* 2: the ordering stage and the formatters run on a thread of their
     * own (handoff.h); 0 or 1: on the engine's. The output is the same. */
    uint32_t threads;
    /* What the decoder looks into (tunnel ports; --tunnel-port), borrowed;
     * NULL: tl_decode()'s defaults. */
    const struct tl_decode_cfg *decode;
    struct tl_report *const *reports; /* borrowed; every one gets every connection */
    size_t nreports;
};

struct tl_engine;

TL_MUST_CHECK struct tl_engine *tl_engine_new(const struct tl_engine_cfg *cfg);

/* Decodes frame f as the engine does (its tunnel ports), into *p. */
enum tl_dec tl_engine_decode(const struct tl_engine *e, const struct tl_frame *f, struct tl_pkt *p);

/* Takes one frame. Fails only when a reporter fails (TL_ENOMEM, TL_EIO). */
TL_MUST_CHECK enum tl_status tl_engine_feed(struct tl_engine *e, const struct tl_frame *f);

/* Where the engine looks a segment's connection up first: the key (its
 * VLAN left out unless --vlan-key on), the sender's side, the key's hash. */
struct tl_lookup {
    struct tl_flow_key key;
    uint32_t hash;
    bool from_a;
};

/* The same, for a frame tl_decode() already decoded into *p (result r);
 * l, unless NULL, is what tl_engine_prefetch_key() made for it. */
TL_MUST_CHECK enum tl_status tl_engine_feed_decoded(struct tl_engine *e, const struct tl_frame *f,
                                                    const struct tl_pkt *p, enum tl_dec r,
                                                    const struct tl_lookup *l);

/* Hints for a frame the engine will take a few frames later
 * (src/lookahead.c): they change nothing. tl_engine_prefetch_key() makes
 * p's lookup and starts fetching its bucket; tl_engine_prefetch_conn()
 * then fetches the first connection there; tl_engine_prefetch_state()
 * that connection's state. */
void tl_engine_prefetch_key(const struct tl_engine *e, const struct tl_pkt *p, struct tl_lookup *l);
void tl_engine_prefetch_conn(const struct tl_engine *e, uint32_t hash);
void tl_engine_prefetch_state(const struct tl_engine *e, uint32_t hash);

/* --follow: the frames fed from now on are the follow inputs'
 * (tl_source_follow()). Each moves the clock and the timers as any frame
 * does, and reaches the connections held (late segments, the tombstones
 * too). A segment that would start a connection starts none, the run
 * that reads its file as its own reports it, but for one that reuses the
 * 4-tuple of a connection held or a tombstone's (port_reuse, which that
 * run cannot tell). The capture's own counters (packets, skipped, first
 * and last times, unmatched ICMP errors, other shards' packets) leave
 * these frames out: tl_capture_info.follow_*. */
void tl_engine_follow(struct tl_engine *e);

/* The time of the last frame read: of the follow inputs' when they went
 * further than the capture's own. */
int64_t tl_engine_last_read_ts(const struct tl_engine *e);

/* Following: true when no connection of its own is held and no tombstone
 * is left, so that the follow inputs can change nothing any more. */
bool tl_engine_follow_done(struct tl_engine *e);

/* Lets time pass without a packet (live capture on a quiet link): the
 * clock moves to now_us if that is later, and what has expired is reported. */
TL_MUST_CHECK enum tl_status tl_engine_tick(struct tl_engine *e, int64_t now_us);

/* Calls fn for every connection held, in first-seen order (a snapshot).
 * The view has no anomalies: those are decided when a connection ends. */
void tl_engine_each(const struct tl_engine *e, void (*fn)(void *ctx, const struct tl_conn_view *v),
                    void *ctx);

/* Ends the run: every connection still held is reported (as "open" unless it
 * had ended). */
TL_MUST_CHECK enum tl_status tl_engine_finish(struct tl_engine *e);

const struct tl_capture_info *tl_engine_capture(const struct tl_engine *e);

/* Connections held that have not ended (the ended ones linger for late
 * packets and are not counted). */
size_t tl_engine_open_count(const struct tl_engine *e);

/* How many times the connection-level detectors have run: once per
 * connection reported, whatever the reports print. */
uint64_t tl_engine_detector_runs(const struct tl_engine *e);

/* Records a live source's kernel counters for the report. */
void tl_engine_set_live_stats(struct tl_engine *e, uint64_t received, uint64_t dropped,
                              uint64_t if_dropped);

/* The capture ended at end_us (source src), at or after its last packet:
 * the clock runs on to it, so that the timers of the connections still
 * open act as the capture's own time lets them (give-ups, TIME_WAIT,
 * idle timeouts). Before tl_engine_finish(); an end before the last packet
 * counts as the last packet's. Without it the end is the last packet. */
TL_MUST_CHECK enum tl_status tl_engine_set_capture_end(struct tl_engine *e, int64_t end_us,
                                                       enum tl_capture_end src);

/* Records a file's interface statistics (pcapng) for the report. */
void tl_engine_set_file_stats(struct tl_engine *e, uint64_t received, uint64_t if_dropped,
                              uint64_t os_dropped);

/* What the host-level detectors found (after tl_engine_finish). */
/* The tallies of every connection reported and, after tl_engine_finish(),
 * of the host anomalies: the reporters' summary (tl_run.summary). */
const struct report_summary *tl_engine_summary(const struct tl_engine *e);

const struct tl_host_anomaly_list *tl_engine_host_anomalies(const struct tl_engine *e);

void tl_engine_free(struct tl_engine *e);

#endif
