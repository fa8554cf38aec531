/* Private to detection: the detector functions of the registry. */
#ifndef TCPLENS_DETECT_INT_H
#define TCPLENS_DETECT_INT_H

#include "tcplens/detect.h"

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
