/* Private to the reporters: the shared core and each format's hooks. */
#ifndef TCPLENS_REPORT_INT_H
#define TCPLENS_REPORT_INT_H

#include <stdio.h>

#include "tcplens/report.h"
#include "tcplens/services.h"

/* Default for tl_report_cfg.wait_budget: past it, waiting text goes to the
 * ordering stage's overflow file (order.h), so memory stays flat even when
 * one connection stays open for the whole capture. */
#define TL_REPORT_WAIT_BUDGET ((size_t)32 << 20)

/*
 * The hosts that hold the most of something (TIME_WAIT at end, …): an
 * exact count per host in an open-addressing hash table that grows up to
 * TL_REPORT_TOP_HOSTS hosts. Past that, a host not yet in it is not
 * counted (untallied says how many connections that left out, and the
 * reports say so in words); the counts shown are never estimates. Ties
 * rank in first-seen order.
 */
#define TL_REPORT_TOP_HOSTS 65536u
#define TL_REPORT_TOP_SHOWN 5

struct report_host {
    struct tl_addr addr;
    uint32_t hash; /* of addr: compared first */
    uint32_t seq;  /* first-seen rank, for ties */
    uint64_t n;    /* 0: a free slot */
};

struct report_top {
    struct report_host *e; /* cap slots, NULL until the first host */
    uint32_t cap, used;
    uint64_t untallied; /* counts left out: the table was full */
    bool failed;        /* it could not grow (out of memory): untallied too */
};


enum report_host_tally {
    TL_HOSTS_TIME_WAIT = 0, /* endpoints in TIME_WAIT at the end */
    TL_HOSTS_CLOSE_WAIT,    /* endpoints in CLOSE_WAIT at the end */
    TL_HOSTS_RESETS,        /* senders of the RST that ended a connection */
    TL_HOSTS_NTALLIES
};

/* Lifetimes (first to last segment) of connections that closed (fin, rst). */
enum report_life { TL_LIFE_1S = 0, TL_LIFE_10S, TL_LIFE_60S, TL_LIFE_LONGER, TL_LIFE_N };

/*
 * Anomaly groups (report_groups.c): warnings and errors by type and
 * service, at most TL_REPORT_GROUPS_MAX groups (a connection whose group
 * finds the table full counts in its type's left_out).
 */
#define TL_REPORT_GROUPS_MAX 16384u
#define TL_GROUP_EXAMPLES 5 /* lowest ids kept per group */
#define TL_GROUP_RANGES 8   /* id ranges kept for a --connection list */

struct report_group {
    struct tl_addr addr; /* the server, or the host (host level) */
    uint16_t port;       /* 0: none (a host-level type without one) */
    uint8_t type, sev;   /* sev: the worst */
    bool host_level;
    bool ranges_full; /* too many ranges (or ids unknown): no list */
    uint8_t nex, nranges;
    uint32_t hash, seq; /* seq: first-seen rank */
    uint64_t n;         /* connections; 0: a free slot */
    int64_t first_ts, last_ts;
    uint64_t ex[TL_GROUP_EXAMPLES]; /* the lowest ids, ascending */
    uint64_t lo[TL_GROUP_RANGES], hi[TL_GROUP_RANGES];
};

struct report_group_type {
    uint64_t conns, groups, left_out;
    int64_t first_ts, last_ts;
    int8_t sev; /* the worst, -1: none */
    /* Its lowest id's anomaly and connection (a copy of the struct alone),
     * worded only when printed; or, host level, a copy of its first host
     * anomaly (ex_set once copied). */
    uint64_t ex_id;
    struct tl_anomaly ex_a;
    struct tl_conn *ex_c;
    /* A copy of ex_a's texts when it carries them (read back from a
     * record): they are the record reader's only until its next one. */
    struct tl_anomaly_text *ex_texts;
    struct tl_host_anomaly *ex_h;
    bool ex_set;
};

struct report_groups {
    struct report_group *e; /* cap slots */
    uint32_t cap, used;
    bool failed; /* out of memory: the reports would be wrong, and say so */
    struct report_group_type t[TL_AN_NTYPES];
};

void tl_report_groups_init(struct report_groups *g);
void tl_report_groups_free(struct report_groups *g);
void tl_report_groups_add(struct report_groups *g, const struct tl_conn_view *v);
void tl_report_groups_hosts(struct report_groups *g, const struct tl_host_anomaly_list *h);

/* The groups in report order (types worst first, then by connections; in
 * a type the biggest group first), malloc'd; NULL short of memory. */
const struct report_group **tl_report_groups_sorted(const struct report_groups *g, size_t *n);

/* The texts of a type's example (its lowest id, or first host anomaly). */
void tl_report_group_text(const struct report_group_type *t, struct tl_anomaly_text *out);

/* Room for a group's command: the inputs' names and a filter. */
#define TL_REPORT_COMMAND_MAX 4096

/* The command line that lists a group's connections: its --connection
 * list while it is short, else a filter on its service; "" if it does not
 * fit in buf. */
const char *tl_report_group_command(const struct report_group *e, const struct tl_run *run,
                                    char *buf, size_t size);

/* Tallies every format can print in its summary. */
struct report_summary {
    uint64_t connections;
    uint64_t ends[TL_END_NENDS];
    uint64_t states[2][TL_EP_NSTATES]; /* states at end, by role */
    uint64_t anomalies[TL_AN_NTYPES];
    uint64_t by_sev[TL_SEV_NLEVELS];
    /* Filled in by tl_report_summary_add(). */
    int8_t type_worst[TL_AN_NTYPES]; /* worst severity seen per type, -1 none */
    struct report_top hosts[TL_HOSTS_NTALLIES];
    uint64_t resets_unknown; /* ended by RST, sender not in the timeline */
    uint64_t life[TL_LIFE_N];
    uint64_t short_lived; /* handshake to close within 1 s */
    struct report_groups groups;
    /* Services and client hosts (services.h), allocated on the first
     * connection (src/report_svc.c). */
    struct tl_services *svc;
    bool svc_failed;
};

/* src/report_svc.c: the service and host tables of the summary, and
 * their part in each format. */
void tl_report_summary_services(struct report_summary *sum, const struct tl_conn_view *v);
void tl_report_summary_services_free(struct report_summary *sum);
/* Whether the tables missed something for want of memory. */
bool tl_report_summary_services_failed(const struct report_summary *sum);
struct tl_jw;
/* "services", "hosts" and "services_untracked" of the JSON document. */
void tl_report_json_services(struct tl_jw *w, const struct report_summary *sum);
/* Its services_untracked member alone (the NDJSON summary's). */
void tl_report_json_services_untracked(struct tl_jw *w, const struct report_summary *sum);
/* NDJSON: how many services (service) or client hosts there are, put in
 * first-seen order; the members of the i-th of them. */
size_t tl_report_svc_lines(const struct report_summary *sum, bool service);
void tl_report_json_svc_fields(struct tl_jw *w, const struct report_summary *sum, bool service,
                               size_t i);
/* A connection's "rtt" object (nothing when p is NULL). */
void tl_report_json_rtt(struct tl_jw *w, const struct tl_conn_perf *p);
/* Its "segments" object: data, retransmitted and RST segments by sender,
 * what its services' and client hosts' rows count (nothing when p is
 * NULL). */
void tl_report_json_segments(struct tl_jw *w, const struct tl_conn_perf *p);
/* The text report's "top services" lines; false on an I/O error. */
bool tl_report_text_services(const struct report_summary *sum, FILE *out);
/* The HTML page's services section; false on an I/O error. */
bool tl_report_html_services(const struct report_summary *sum, FILE *out);

/* Frees a summary's host tables. */
void tl_report_summary_free(struct report_summary *sum);

struct tl_report;

/* A connection's rank among those the text report details: the worst
 * severity, then how many warnings and errors, then the lowest id. */
struct report_rank {
    uint64_t id;
    uint32_t n;
    uint8_t sev;
};

struct report_ops {
    /* Formats one connection as a malloc'd string (no trailing newline),
     * as the report's configuration asks (the text's all_details and
     * ladder, the JSON timeline). */
    char *(*format_conn)(const struct tl_conn_view *v, const struct tl_report_cfg *cfg,
                         size_t *len);
    /* Writes the whole document; spool holds the connections in order,
     * each followed by '\n'. */
    enum tl_status (*write_doc)(const struct tl_report *r, const struct tl_run *run, FILE *spool);
    /* Optional, in place of format_conn: takes a listed connection with
     * the reporter's state at hand; *text NULL when nothing is kept. */
    enum tl_status (*take)(struct tl_report *r, const struct tl_conn_view *v, char **text,
                           size_t *len);
};

struct tl_report {
    struct tl_report_cfg cfg;
    const struct report_ops *ops;
    FILE *spool;           /* connections in order; NULL when streaming */
    char *spool_buf;       /* its stdio buffer when read back in one pass */
    struct tl_order *own;  /* its ordering stage when used on its own
                            * (tl_report_conn), else NULL */
    uint64_t top_written;  /* highest id written */
    uint64_t listed;       /* connections it lists (after its filters) */
    uint64_t out_of_order; /* written after a newer one (TL_ORDER_WAIT_MAX) */
    bool read_live;        /* a stream into a pipe, a socket or a terminal */
    bool unflushed;        /* lines written since the last flush */
    int64_t flushed_ns;    /* when it was flushed last (CLOCK_MONOTONIC), 0: never */
    /* Text: the worst connections seen so far (a heap, the least bad at
     * the root), those whose detail is formatted. */
    struct report_rank *top;
    size_t ntop, captop;
    uint64_t ranked; /* listed connections that are detailed if ranked high */
    /* The tallies of every connection, shared by every reporter of one
     * stage (tl_run.summary): set for the length of tl_report_finish(). */
    const struct report_summary *sum;
};

/* Prepares the tallies that need more than zeroes. */
void tl_report_summary_init(struct report_summary *sum);

/* Adds one connection: ends, states, anomalies, host tallies, lifetimes. */
void tl_report_summary_add(struct report_summary *sum, const struct tl_conn_view *v);

/* Adds the host-level anomalies (once, at the end). */
void tl_report_summary_hosts(struct report_summary *sum, const struct tl_host_anomaly_list *h);

/* The entries of a host tally in report order (count down, then address);
 * returns how many were written to out (at most max). */
size_t tl_report_top_hosts(const struct report_top *t, const struct report_host **out, size_t max);

/* Writes the text report's summary section (states at end, anomalies,
 * hosts, lifetimes); false on an I/O error. */
bool tl_report_text_summary(const struct report_summary *sum, const struct tl_capture_info *cap,
                            FILE *out);

extern const struct report_ops tl_report_json_ops;
extern const struct report_ops tl_report_ndjson_ops;
extern const struct report_ops tl_report_text_ops;
extern const struct report_ops tl_report_lines_ops;
extern const struct report_ops tl_report_html_ops;

/* src/report_json_conn.c: the connection as one line of JSON (the ops'
 * format_conn of both JSON formats), and what the jansson form shares.
 * record: NULL in the document; NDJSON's "connection", its first member. */
char *tl_report_json_format_conn(const struct tl_conn_view *v, const char *record, size_t *len);

/* "evidence": {…} of an anomaly, in the writer's current mode. */
struct tl_jw;
void tl_report_json_evidence(struct tl_jw *w, const struct tl_anomaly *a);

/* src/report_json_doc.c: the JSON document, head and connections (the
 * spool), with the one streaming writer; and the members of its head that
 * NDJSON's records share, each written into the object open in w. */
void tl_report_json_tool(struct tl_jw *w); /* tool, version, schema_version */
void tl_report_json_inputs(struct tl_jw *w, const struct tl_run *run);
void tl_report_json_capture(struct tl_jw *w, const struct tl_run *run);
void tl_report_json_summary(struct tl_jw *w, const struct tl_report *r);
void tl_report_json_host_anomaly_fields(struct tl_jw *w, const struct tl_host_anomaly *h);
TL_MUST_CHECK enum tl_status tl_report_json_doc(const struct tl_report *r, const struct tl_run *run,
                                                FILE *spool);

/* "client>server" or "server>client". */
const char *tl_report_dir_name(uint8_t dir);

/* The client's and the server's address text and port. */
struct tl_conn_ends {
    char ip[2][TL_ADDR_STRLEN];
    uint16_t port[2];
};

void tl_report_conn_ends(const struct tl_conn *c, struct tl_conn_ends *e);

/* Room tl_report_wireshark_filter() needs: two IPv6 addresses of 45
 * characters, two VLANs, two 21-character times and a sequence range come
 * to about 700. */
#define TL_REPORT_FILTER_MAX 1024

/* A Wireshark display filter for exactly v's connection, in buf (at
 * least TL_REPORT_FILTER_MAX bytes; "" if smaller). */
const char *tl_report_wireshark_filter(const struct tl_conn_view *v, const struct tl_conn_ends *e,
                                       char *buf, size_t size);

/* A tunnel type's name in the reports: "vxlan", "geneve", "gre", "erspan",
 * "ipip", "gtpu", "teredo", "l2tp" ("" for none). */
const char *tl_report_tunnel_name(uint8_t type);

/* Where the capture's end time came from, in words ("pcapng statistics",
 * "live capture's clock", "--capture-end", "last packet"). */
const char *tl_report_end_source(uint8_t end_source);

/* --follow, in words for the text and HTML summaries: "2 files, 30
 * packets to 2026-11-21 12:00:02.726968 UTC, read to their end" (or
 * "stopped: no connection held"). Returns buf. */
const char *tl_report_follow_words(const struct tl_capture_info *cap, char *buf, size_t size);

/* Formats µs on the pcap clock as "2026-11-21 12:00:00.000123" (UTC). */
const char *tl_report_utc(int64_t ts_us, char *buf, size_t size);

/* The client's and the server's "address:port" (buffers of size bytes). */
void tl_report_endpoints(const struct tl_conn *c, char *cl, char *sv, size_t size);

/* Formats an endpoint as "10.0.0.1:80" or "[::1]:80". */
const char *tl_report_endpoint(const struct tl_addr *a, uint16_t port, char *buf, size_t size);

/* Copies the spool's lines to out, each after indent, with sep between
 * lines (sep holds the newline) and a newline after the last; TL_EIO on an
 * I/O error, TL_ENOMEM when a line could not be read for want of memory. */
TL_MUST_CHECK enum tl_status tl_report_copy_spool(FILE *spool, FILE *out, const char *indent,
                                                  const char *sep);

#endif
