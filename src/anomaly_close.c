/* Detectors: close (placeholders until written). */
#include "tcplens/detect.h"

#include "detect_int.h"

void tl_det_rst_instead_of_fin(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}

void tl_det_rst_after_close(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}

void tl_det_missing_final_ack(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}

void tl_det_close_wait_stuck(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}

void tl_det_fin_wait2_timeout(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}

void tl_det_time_wait(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}

void tl_det_simultaneous_close(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}

void tl_det_half_close(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    (void)c;
    (void)out;
}
