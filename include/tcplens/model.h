/*
 * The engine's output model: what it hands on about the run and about each
 * finished connection. The engine fills it; the ordering stage and the
 * reporters (report.h) only read it.
 */
#ifndef TCPLENS_MODEL_H
#define TCPLENS_MODEL_H

#include "tcplens/anomaly.h"
#include "tcplens/decode.h"
#include "tcplens/flow.h"
#include "tcplens/hosts.h"
#include "tcplens/rtt.h"
#include "tcplens/tcpstate.h"
#include "tcplens/timeline.h"
#include "tcplens/types.h"
#include "tcplens/zeek.h"

/* Where the capture's end time came from (tl_capture_info.end_ts). */
enum tl_capture_end {
    TL_CEND_LAST_PACKET = 0, /* nothing said more: its last packet */
    TL_CEND_PCAPNG,          /* the file's isb_endtime (pcapng statistics) */
    TL_CEND_LIVE,            /* live capture: the clock when it stopped */
    TL_CEND_OPTION,          /* --capture-end */
    TL_CEND_N
};

/* "last_packet", "pcapng_isb", "live_clock", "option". */
const char *tl_capture_end_name(enum tl_capture_end s);

struct tl_input_info; /* source.h */

/* Counters about the whole run, filled in by the engine. */
struct tl_capture_info {
    int64_t first_ts, last_ts; /* µs; both 0 when no packet was read */
    uint64_t packets;          /* frames read */
    uint64_t tcp_packets;      /* frames decoded as TCP */
    uint64_t duplicates;       /* TCP frames (and ICMP errors) that were the capture's own copies */
    uint64_t icmp_matched;     /* ICMP errors about a connection held */
    uint64_t icmp_unmatched;   /* ICMP errors about a TCP segment of no connection held */
    uint64_t skipped[TL_DEC_NRESULTS]; /* by reason; [TL_DEC_OK] unused */
    uint64_t connections;              /* connections reported */
    uint64_t evicted_idle;             /* ended by --idle-timeout */
    uint64_t evicted_cap;              /* pushed out by --max-flows */
    uint64_t evicted_hosts;            /* host aggregates pushed out by their cap (hosts.h) */
    uint64_t evicted_tombstones;       /* tombstones pushed out by their cap (tomb.h) */
    uint64_t late_segments;            /* reached a connection reported early (tomb.h) */
    size_t peak_flows;                 /* most connections held at once */
    int worst_severity;                /* highest enum tl_sev seen, -1 for none */
    /* When the capture ended (µs): its last packet, or later where a pcapng
     * statistics block, the live clock or --capture-end says so; the
     * timers of the connections still open ran until then. */
    int64_t end_ts;
    uint8_t end_source; /* enum tl_capture_end */
    /* Live capture: the kernel's counters at the end (pcap_stats). */
    bool live;
    uint64_t live_received, live_dropped, live_if_dropped;
    /* A pcapng file's interface statistics (isb_ifrecv, isb_ifdrop,
     * isb_osdrop, summed over its interfaces and the inputs that had them). */
    bool file_stats;
    uint64_t file_received, file_if_dropped, file_os_dropped;
    /* --shard: this run's shard (index from 0) of shard_count (0 = not
     * sharded), and the TCP frames left to the other shards. */
    uint32_t shard_index, shard_count;
    uint64_t shard_other_packets;
    /* The read was stopped (SIGINT, SIGTERM) before the inputs' end: the
     * report covers only what was read. Set by the program, not the engine. */
    bool partial;
    /* --follow (tl_engine_follow()): the frames read from the follow
     * inputs, which the capture's own counters above leave out (those the
     * filter passed), and the latest one's time (µs). Set by the program:
     * the follow inputs (nfollow > 0: --follow was given), and whether
     * they were read to their end (else reading stopped when no
     * connection was held any more). */
    uint64_t follow_packets;
    int64_t follow_last_ts;
    /* Of icmp_matched, the ICMP errors among the follow frames: a later
     * unit of the set counted those it had no connection for as
     * unmatched (tcplens merge takes them back). */
    uint64_t follow_icmp_matched;
    bool follow_complete;
    const struct tl_input_info *follow_inputs;
    size_t nfollow;
};

/* What reporters read about one finished connection. */
struct tl_conn_view {
    const struct tl_conn *conn;
    const struct tl_tcpstate *tcp;           /* may be NULL */
    const struct tl_zeek *zeek;              /* may be NULL */
    const struct tl_timeline *timeline;      /* may be NULL */
    const struct tl_anomaly_list *anomalies; /* may be NULL */
    const struct tl_conn_perf *perf;         /* round trips, retransmissions; may be NULL */
    /* What host-level detection read of it (hosts.h); may be NULL. */
    const struct tl_host_conn *host;
    /* The frame at which tcplens let it go (reported it and stopped
     * holding it): while reading that frame, or before it; 0 when it was
     * held to the end of the capture. */
    uint64_t released_pkt;
};

#endif
