/* Runs the connection-level detectors, one per registry type. */
#include "tcplens/detect.h"

#include <stdio.h>

#include "detect_int.h"

struct detector {
    enum tl_anomaly_type type;
    tl_detector_fn fn;
};

/* In the order a reader meets them in a connection's life. */
static const struct detector detectors[] = {
    {TL_AN_MIDSTREAM, tl_det_midstream},
    {TL_AN_PORT_REUSE, tl_det_port_reuse},
    {TL_AN_REFUSED, tl_det_refused},
    {TL_AN_SYN_BACKOFF, tl_det_syn_backoff},
    {TL_AN_HANDSHAKE_TIMEOUT, tl_det_handshake_timeout},
    {TL_AN_SYNACK_RETRANSMIT, tl_det_synack_retransmit},
    {TL_AN_ZERO_WINDOW, tl_det_zero_window},
    {TL_AN_KEEPALIVE, tl_det_keepalive},
    {TL_AN_KEEPALIVE_TIMEOUT, tl_det_keepalive_timeout},
    {TL_AN_RETRANSMISSION, tl_det_retransmission},
    {TL_AN_STALLED_RETRANSMISSION, tl_det_stalled_retransmission},
    {TL_AN_UNEXPECTED_SEGMENT, tl_det_unexpected_segment},
    {TL_AN_HALF_CLOSE, tl_det_half_close},
    {TL_AN_SIMULTANEOUS_CLOSE, tl_det_simultaneous_close},
    {TL_AN_CLOSE_WAIT_STUCK, tl_det_close_wait_stuck},
    {TL_AN_FIN_WAIT2_TIMEOUT, tl_det_fin_wait2_timeout},
    {TL_AN_MISSING_FINAL_ACK, tl_det_missing_final_ack},
    {TL_AN_RST_INSTEAD_OF_FIN, tl_det_rst_instead_of_fin},
    {TL_AN_RST_AFTER_CLOSE, tl_det_rst_after_close},
    {TL_AN_TIME_WAIT, tl_det_time_wait},
};

/* Every connection-level type has exactly one detector. */
#define TL_COUNT_CONN(name, id, sev, host) +((host) ? 0 : 1)
enum { N_CONN_TYPES = 0 TL_ANOMALIES(TL_COUNT_CONN) };
#undef TL_COUNT_CONN
_Static_assert(sizeof detectors / sizeof detectors[0] == N_CONN_TYPES,
               "one detector per connection-level anomaly type");

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

enum tl_status tl_detect(const struct tl_detect_ctx *ctx, struct tl_anomaly_list *out)
{
    for (size_t i = 0; i < sizeof detectors / sizeof detectors[0]; i++)
        detectors[i].fn(ctx, out);
    return out->failed ? TL_ENOMEM : TL_OK;
}
