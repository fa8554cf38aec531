/* Private to detection: the detector functions of the registry. */
#ifndef TCPLENS_DETECT_INT_H
#define TCPLENS_DETECT_INT_H

#include "tcplens/detect.h"

/* Copies of one packet less than this apart are duplicates in the capture
 * (a SPAN port or a merge seeing it twice), not retransmissions: no stack
 * retransmits a SYN, SYN-ACK or FIN within 1 ms (Linux waits at least 1 s
 * for a SYN, 200 ms otherwise). */
#define TL_DUP_US 1000

/* Distinct sends of one kind, duplicate copies left out: how many, and
 * the times and packets of the first ones. */
struct sends {
    uint32_t n; /* all of them */
    uint32_t k; /* listed below (at most TL_TRACK_TIMES) */
    int64_t ts[TL_TRACK_TIMES];
    uint64_t pkt[TL_TRACK_TIMES];
};

void tl_det_distinct(const struct tl_times *tm, struct sends *o);

/* Microseconds as seconds, for evidence. */
static inline double tl_det_secs(int64_t us) { return (double)us / (double)TL_USEC_PER_SEC; }

/* A duration for a sentence: "10 µs", "300 ms", "1.02 s", "60 s", "127 s". */
const char *tl_det_dur(char *buf, size_t n, int64_t us);

/* A detector appends zero or more anomalies of its type to out. */
typedef void (*tl_detector_fn)(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);

/* src/anomaly_handshake.c */
void tl_det_refused(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_det_handshake_timeout(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_det_syn_backoff(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_det_synack_retransmit(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_det_midstream(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_det_port_reuse(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);

/* src/anomaly_close.c */
void tl_det_rst_instead_of_fin(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_det_rst_after_close(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_det_missing_final_ack(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_det_close_wait_stuck(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_det_fin_wait2_timeout(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_det_time_wait(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_det_simultaneous_close(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_det_half_close(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);

/* src/anomaly_data.c */
void tl_det_zero_window(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_det_keepalive(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_det_keepalive_timeout(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_det_retransmission(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_det_stalled_retransmission(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_det_unexpected_segment(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);

#endif
