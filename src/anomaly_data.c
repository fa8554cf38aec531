/* Detectors: data (placeholders until written). */
#include "tcplens/detect.h"

#include "detect_int.h"

void tl_det_zero_window(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}

void tl_det_keepalive(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}

void tl_det_keepalive_timeout(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}

void tl_det_retransmission(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}

void tl_det_stalled_retransmission(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}

void tl_det_unexpected_segment(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}
