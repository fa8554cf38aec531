/* Detectors: handshake (placeholders until written). */
#include "tcplens/detect.h"

#include "detect_int.h"

void tl_det_refused(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}

void tl_det_handshake_timeout(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}

void tl_det_syn_backoff(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}

void tl_det_synack_retransmit(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}

void tl_det_midstream(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}

void tl_det_port_reuse(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}
