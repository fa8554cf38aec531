/*
 * Reporters: the human text report, the JSON report document (docs/design.md
 * section 4), NDJSON (one connection object per line) and the HTML page
 * with ladder diagrams. They only read the engine's output model (model.h).
 * Connections arrive when
 * they end, in any order; the ordering stage (order.h) hands them to the
 * reporters in first-seen (id) order.
 */
#ifndef TCPLENS_REPORT_H
#define TCPLENS_REPORT_H

#include <stdio.h>

#include "tcplens/anomaly.h"
#include "tcplens/decode.h"
#include "tcplens/flow.h"
#include "tcplens/hosts.h"
#include "tcplens/model.h"
#include "tcplens/source.h"
#include "tcplens/status.h"
#include "tcplens/tcpstate.h"
#include "tcplens/timeline.h"
#include "tcplens/types.h"
#include "tcplens/zeek.h"

struct report_summary;

/* Everything a report document needs besides the connections. */
struct tl_run {
    const struct tl_input_info *inputs;
    size_t ninputs;
    const struct tl_capture_info *capture;
    const struct tl_host_anomaly_list *host_anomalies; /* may be NULL */
    const char *filter; /* the BPF filter the inputs were read with, or NULL */
    /* The tallies of every connection, host anomalies included, from the
     * ordering stage that fed the reporters (tl_engine_summary()); NULL
     * for a reporter used on its own, which has its own stage's. */
    const struct report_summary *summary;
};

enum tl_report_format {
    TL_REPORT_TEXT = 0, /* the text report, written at the end */
    TL_REPORT_JSON,     /* the JSON document, written at the end */
    TL_REPORT_NDJSON,   /* one JSON object per connection, as each is reported */
    TL_REPORT_LINES,    /* one text line per connection, as each is reported (live) */
    TL_REPORT_HTML,     /* the self-contained HTML page, written at the end */
};

/* The text report's ladder diagrams (--ladder, --color). The caller
 * decides colour: escape codes are written whenever color is set. */
struct tl_ladder_cfg {
    bool on;      /* each listed connection's detail is drawn as a ladder */
    bool color;   /* ANSI colours */
    bool unicode; /* box-drawing lines and arrowheads instead of ASCII */
};

/* Connection ids first to last, both included (--connection 40-45). */
struct tl_id_range {
    uint64_t first, last;
};

struct tl_report_cfg {
    enum tl_report_format format;
    FILE *out; /* borrowed; written at the end (JSON, text) or per line */
    /* The descriptor out writes to, when out has none of its own (a
     * stream over a cookie): whether a reader takes lines as they come
     * (a pipe, a socket, a terminal) is asked of it. 0: out's own. */
    int out_fd;
    bool reorder; /* write connections in id order (off: as they end) */
    /* Bytes of formatted connections kept in memory while they wait for an
     * older one to end; beyond it they wait in a temporary file. 0 means
     * the default (32 MiB). */
    size_t wait_budget;
    /* List only connections with a warning or an error (the summary still
     * counts every connection). */
    bool anomalies_only;
    /* List only the connections of these ranges (--connection), sorted and
     * apart; borrowed. None (nonly 0): all. */
    const struct tl_id_range *only;
    size_t nonly;
    bool all_details;            /* text: details (anomalies, timeline) for every listed
                         * connection (--timeline full, --connection) */
    struct tl_ladder_cfg ladder; /* text only */
    /* Text: the connections detailed, worst first (0: TL_REPORT_TOP_DEFAULT);
     * all: every listed connection's table row and detail instead. */
    uint32_t top;
    bool all;
};

#define TL_REPORT_TOP_DEFAULT 20u

struct tl_report;

/* Returns NULL when out of memory (errno ENOMEM) or when no temporary file
 * can be made (errno from tmpfile()). */
TL_MUST_CHECK struct tl_report *tl_report_new(const struct tl_report_cfg *cfg);

/* Records one finished connection, for a reporter used on its own: it
 * gets an ordering stage of its own (order.h; the engine puts one stage in
 * front of all its reporters instead). */
TL_MUST_CHECK enum tl_status tl_report_conn(struct tl_report *r, const struct tl_conn_view *v);

/* For a reporter used on its own: every connection with an id below
 * oldest has been handed to it, or is being handed now (tl_order_oldest_held). */
void tl_report_oldest_held(struct tl_report *r, uint64_t oldest);

/* tcplens merge: v's connection formatted already, in first-seen order
 * (a shard's record given its id in the whole run), for a JSON or NDJSON
 * reporter: listed (if it lists v) and written as its own would be. The
 * tallies are the caller's (tl_run.summary). */
TL_MUST_CHECK enum tl_status tl_report_put_formatted(struct tl_report *r,
                                                     const struct tl_conn_view *v, const char *text,
                                                     size_t len);

/* The ordering stage's side (order.h). tl_report_take() tallies v and, when
 * r lists it, formats it: *text is then a malloc'd string (no newline) the
 * caller frees, else NULL. tl_report_put() writes the text of connection
 * id when its turn has come (or it waited past the cap). */
TL_MUST_CHECK enum tl_status tl_report_take(struct tl_report *r, const struct tl_conn_view *v,
                                            char **text, size_t *len);
TL_MUST_CHECK enum tl_status tl_report_put(struct tl_report *r, uint64_t id, const char *text,
                                           size_t len);
/* The ordering stage has handed r what one connection's end released: a
 * stream read as it is written (a pipe) sends it on (tl_report_put() only
 * buffers it), the first time at once, then at most every 10 ms. */
TL_MUST_CHECK enum tl_status tl_report_released(struct tl_report *r);
/* Whether r writes in first-seen order (else as connections end). */
bool tl_report_reorders(const struct tl_report *r);
/* Bytes of formatted text r lets wait in memory for older connections. */
size_t tl_report_wait_budget(const struct tl_report *r);

/* Whether r lists v (--anomalies-only and --connection decide). */
bool tl_report_lists(const struct tl_report *r, const struct tl_conn_view *v);

/* Writes the document (or the rest of the stream) and flushes out. */
TL_MUST_CHECK enum tl_status tl_report_finish(struct tl_report *r, const struct tl_run *run);

void tl_report_free(struct tl_report *r);

/* Gives f a 1 MiB stdio buffer, for a stream written or read in one pass
 * (glibc ignores setvbuf's size unless it is given the buffer). Returns
 * the buffer, to be freed once f is closed; NULL short of memory, when f
 * keeps stdio's 4 KB. */
char *tl_report_big_buffer(FILE *f);

/* A snapshot of the connections held, the wire's own `ss`: a heading, then
 * one line per connection with both endpoints' current states. */
bool tl_report_snapshot_head(FILE *out, int64_t now_us, size_t nconns);
bool tl_report_snapshot_line(FILE *out, int64_t now_us, const struct tl_conn_view *v);

#endif
