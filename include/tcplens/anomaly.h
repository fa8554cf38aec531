/*
 * Anomalies: what went wrong (or is worth knowing) about a connection, with
 * the evidence that proves it. Every type is defined once, in TL_ANOMALIES
 * below: its enum value, its stable id (used in JSON, never the number) and
 * its default severity. Each type has one detector (src/anomaly_*.c) that
 * reads what the engine tracked about the connection and appends anomalies.
 */
#ifndef TCPLENS_ANOMALY_H
#define TCPLENS_ANOMALY_H

#include "tcplens/flow.h"
#include "tcplens/status.h"
#include "tcplens/tcpstate.h"
#include "tcplens/timeline.h"
#include "tcplens/types.h"

enum tl_sev { TL_SEV_INFO = 0, TL_SEV_WARNING, TL_SEV_ERROR, TL_SEV_NLEVELS };

/* The one registry: X(ENUM, "id", default severity, host-level). */
#define TL_ANOMALIES(X)                                                     \
    X(REFUSED, "refused", TL_SEV_ERROR, false)                              \
    X(HANDSHAKE_TIMEOUT, "handshake_timeout", TL_SEV_ERROR, false)          \
    X(SYN_BACKOFF, "syn_backoff", TL_SEV_WARNING, false)                    \
    X(SYNACK_RETRANSMIT, "synack_retransmit", TL_SEV_WARNING, false)        \
    X(RST_INSTEAD_OF_FIN, "rst_instead_of_fin", TL_SEV_WARNING, false)      \
    X(RST_AFTER_CLOSE, "rst_after_close", TL_SEV_WARNING, false)            \
    X(MISSING_FINAL_ACK, "missing_final_ack", TL_SEV_WARNING, false)        \
    X(CLOSE_WAIT_STUCK, "close_wait_stuck", TL_SEV_ERROR, false)            \
    X(FIN_WAIT2_TIMEOUT, "fin_wait2_timeout", TL_SEV_WARNING, false)        \
    X(TIME_WAIT, "time_wait", TL_SEV_INFO, false)                           \
    X(SIMULTANEOUS_CLOSE, "simultaneous_close", TL_SEV_INFO, false)         \
    X(HALF_CLOSE, "half_close", TL_SEV_INFO, false)                         \
    X(ZERO_WINDOW, "zero_window", TL_SEV_WARNING, false)                    \
    X(KEEPALIVE, "keepalive", TL_SEV_INFO, false)                           \
    X(KEEPALIVE_TIMEOUT, "keepalive_timeout", TL_SEV_ERROR, false)          \
    X(RETRANSMISSION, "retransmission", TL_SEV_WARNING, false)              \
    X(STALLED_RETRANSMISSION, "stalled_retransmission", TL_SEV_ERROR, false) \
    X(PORT_REUSE, "port_reuse", TL_SEV_INFO, false)                         \
    X(MIDSTREAM, "midstream", TL_SEV_INFO, false)                           \
    X(UNEXPECTED_SEGMENT, "unexpected_segment", TL_SEV_WARNING, false)      \
    X(SYN_SCAN, "syn_scan", TL_SEV_WARNING, true)                           \
    X(ACCEPT_QUEUE_OVERFLOW, "accept_queue_overflow", TL_SEV_ERROR, true)   \
    X(TIME_WAIT_PRESSURE, "time_wait_pressure", TL_SEV_WARNING, true)

#define TL_ANOM_ENUM(name, id, sev, host) TL_AN_##name,
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
enum tl_evk { TL_EVK_INT, TL_EVK_REAL, TL_EVK_BOOL, TL_EVK_STR, TL_EVK_SERIES };
struct tl_evfield {
    const char *key;
    uint8_t kind; /* enum tl_evk; SERIES = the anomaly's series[] */
    union {
        int64_t i;
        double r;
        bool b;
        const char *s; /* a string literal */
    } v;
};

#define TL_ANOM_MAX_PKTS 16
#define TL_ANOM_MAX_FIELDS 16
#define TL_ANOM_MAX_SERIES 16

struct tl_anomaly {
    uint8_t type;     /* enum tl_anomaly_type */
    uint8_t severity; /* enum tl_sev */
    uint8_t endpoint; /* enum tl_anom_ep */
    uint8_t npkts, nfields, nseries;
    bool no_text;     /* explanation and suggestion are left empty */
    int64_t ts;       /* when it was proven, µs */
    uint64_t pkts[TL_ANOM_MAX_PKTS];
    struct tl_evfield fields[TL_ANOM_MAX_FIELDS];
    double series[TL_ANOM_MAX_SERIES]; /* e.g. the gaps between SYNs, s */
    char explanation[400];  /* what the kernel did and why, plain words */
    char suggestion[300];   /* what to check or change, right for current Linux */
};

struct tl_anomaly_list {
    struct tl_anomaly *a;
    size_t n, cap;
    bool failed; /* an add ran out of memory */
    /* The texts cost more than the detection itself, and a connection
     * that is only counted (--anomalies-only) needs none: with no_text,
     * tl_anomaly_explain() and tl_anomaly_suggest() write nothing. */
    bool no_text;
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
/* Adds a series (e.g. "gaps") of up to TL_ANOM_MAX_SERIES values. */
void tl_anomaly_series(struct tl_anomaly *a, const char *key, const double *v, size_t n);
void tl_anomaly_explain(struct tl_anomaly *a, const char *fmt, ...) TL_PRINTF(2, 3);
void tl_anomaly_suggest(struct tl_anomaly *a, const char *fmt, ...) TL_PRINTF(2, 3);

/* Highest severity in a list, or -1 when empty. */
int tl_anomaly_worst(const struct tl_anomaly_list *l);

#endif
