/* Private to detection: what the detectors and renderers of anomaly_*.c
 * share (their declarations: anomaly_int.h). */
#ifndef TCPLENS_DETECT_INT_H
#define TCPLENS_DETECT_INT_H

#include "tcplens/detect.h"

#include "anomaly_int.h"

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

#endif
