/* Runs the connection-level detectors of the registry, in a fixed order. */
#include "tcplens/detect.h"

#include <stdio.h>

#include "detect_int.h"

/* The order detectors run in, which is the order of a connection's
 * anomalies in every report: the order a reader meets them in a
 * connection's life. (The registry's order is the summary's.) Each
 * detector is the registry's (tl_anomaly_detector). */
static const uint8_t run_order[] = {
    /* who the connection is, its handshake */
    TL_AN_MIDSTREAM,
    TL_AN_PORT_REUSE,
    TL_AN_REFUSED,
    TL_AN_ICMP_UNREACHABLE,
    TL_AN_SYN_BACKOFF,
    TL_AN_HANDSHAKE_TIMEOUT,
    TL_AN_SYNACK_RETRANSMIT,
    /* its data */
    TL_AN_ZERO_WINDOW,
    TL_AN_KEEPALIVE,
    TL_AN_KEEPALIVE_TIMEOUT,
    TL_AN_RETRANSMISSION,
    TL_AN_STALLED_RETRANSMISSION,
    TL_AN_UNEXPECTED_SEGMENT,
    /* its close */
    TL_AN_HALF_CLOSE,
    TL_AN_SIMULTANEOUS_CLOSE,
    TL_AN_CLOSE_WAIT_STUCK,
    TL_AN_FIN_WAIT2_TIMEOUT,
    TL_AN_MISSING_FINAL_ACK,
    TL_AN_RST_INSTEAD_OF_FIN,
    TL_AN_RST_AFTER_CLOSE,
    TL_AN_TIME_WAIT,
};

/* Every connection-level type runs (tests/unit/test_engine.c checks that
 * each runs once). */
#define TL_COUNT_CONN(name, id, sev, host, detect, render, shows, check) +((host) ? 0 : 1)
enum { N_CONN_TYPES = 0 TL_ANOMALIES(TL_COUNT_CONN) };
#undef TL_COUNT_CONN
_Static_assert(sizeof run_order / sizeof run_order[0] == N_CONN_TYPES,
               "every connection-level anomaly type in run_order");

void tl_det_distinct(const struct tl_times *tm, struct sends *o)
{
    uint32_t dups = 0;
    o->k = 0;
    for (uint32_t i = 0; i < tm->k; i++) {
        int64_t ts = tl_times_ts(tm, i);
        if (o->k > 0 && ts - o->ts[o->k - 1] < TL_DUP_US) {
            dups++;
            continue;
        }
        o->ts[o->k] = ts;
        o->pkt[o->k++] = tl_times_pkt(tm, i);
    }
    o->n = tm->n - dups;
}

const char *tl_det_dur(char *buf, size_t n, int64_t us)
{
    if (us < 1000)
        snprintf(buf, n, "%lld µs", (long long)us);
    else if (us < TL_USEC_PER_SEC)
        snprintf(buf, n, "%.0f ms", (double)us / 1000.0);
    else if (us % TL_USEC_PER_SEC == 0 || us >= 100 * TL_USEC_PER_SEC)
        snprintf(buf, n, "%.0f s", tl_det_secs(us));
    else
        snprintf(buf, n, "%.2f s", tl_det_secs(us));
    return buf;
}

size_t tl_detect_order(enum tl_anomaly_type *types, size_t max)
{
    size_t n = sizeof run_order / sizeof run_order[0];
    for (size_t i = 0; i < n && i < max; i++)
        types[i] = (enum tl_anomaly_type)run_order[i];
    return n;
}

enum tl_status tl_detect(const struct tl_detect_ctx *ctx, struct tl_anomaly_list *out)
{
    if (ctx->runs != NULL)
        ++*ctx->runs;
    for (size_t i = 0; i < sizeof run_order / sizeof run_order[0]; i++) {
        tl_detector_fn fn = tl_anomaly_detector((enum tl_anomaly_type)run_order[i]);
        if (fn != NULL)
            fn(ctx, out);
    }
    return out->failed ? TL_ENOMEM : TL_OK;
}
