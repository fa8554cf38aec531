/*
 * Private: the functions the anomaly registry (TL_ANOMALIES, anomaly.h)
 * names, one detector (connection-level types) and one renderer per type.
 * Detectors fill evidence only; renderers word it (anomaly.h).
 */
#ifndef TCPLENS_ANOMALY_INT_H
#define TCPLENS_ANOMALY_INT_H

#include "tcplens/anomaly.h"

/* Detectors are tl_detector_fn, renderers tl_render_fn. */

/* src/anomaly_handshake.c */
void tl_det_refused(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_refused(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                     struct tl_anomaly_text *out);
void tl_det_handshake_timeout(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_handshake_timeout(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                               struct tl_anomaly_text *out);
void tl_det_syn_backoff(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_syn_backoff(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                         struct tl_anomaly_text *out);
void tl_det_synack_retransmit(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_synack_retransmit(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                               struct tl_anomaly_text *out);
void tl_det_midstream(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_midstream(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                       struct tl_anomaly_text *out);
void tl_det_port_reuse(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_port_reuse(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                        struct tl_anomaly_text *out);

/* src/anomaly_close.c */
void tl_det_rst_instead_of_fin(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_rst_instead_of_fin(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                                struct tl_anomaly_text *out);
void tl_det_rst_after_close(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_rst_after_close(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                             struct tl_anomaly_text *out);
void tl_det_missing_final_ack(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_missing_final_ack(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                               struct tl_anomaly_text *out);
void tl_det_close_wait_stuck(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_close_wait_stuck(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                              struct tl_anomaly_text *out);
void tl_det_fin_wait2_timeout(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_fin_wait2_timeout(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                               struct tl_anomaly_text *out);
void tl_det_time_wait(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_time_wait(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                       struct tl_anomaly_text *out);
void tl_det_simultaneous_close(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_simultaneous_close(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                                struct tl_anomaly_text *out);
void tl_det_half_close(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_half_close(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                        struct tl_anomaly_text *out);

/* src/anomaly_data.c */
void tl_det_zero_window(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_zero_window(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                         struct tl_anomaly_text *out);
void tl_det_keepalive(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_keepalive(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                       struct tl_anomaly_text *out);
void tl_det_keepalive_timeout(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_keepalive_timeout(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                               struct tl_anomaly_text *out);
void tl_det_retransmission(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_retransmission(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                            struct tl_anomaly_text *out);
void tl_det_stalled_retransmission(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_stalled_retransmission(const struct tl_anomaly *a,
                                    const struct tl_anomaly_about *about,
                                    struct tl_anomaly_text *out);
void tl_det_unexpected_segment(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_unexpected_segment(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                                struct tl_anomaly_text *out);

/* src/anomaly_icmp.c */
void tl_det_icmp_unreachable(const struct tl_detect_ctx *c, struct tl_anomaly_list *out);
void tl_text_icmp_unreachable(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                              struct tl_anomaly_text *out);

/* src/hosts_scan.c, src/hosts.c: host-level, found across connections */
void tl_text_syn_scan(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                      struct tl_anomaly_text *out);
void tl_text_accept_queue_overflow(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                                   struct tl_anomaly_text *out);
void tl_text_time_wait_pressure(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                                struct tl_anomaly_text *out);

#endif
