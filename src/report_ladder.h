/*
 * Private to the text report: one connection drawn as a ladder (sequence
 * diagram), client and server lifelines with each segment as an arrow
 * between them, and its anomalies keyed under it.
 */
#ifndef TCPLENS_REPORT_LADDER_H
#define TCPLENS_REPORT_LADDER_H

#include "tcplens/report.h"

/* Where the ladder goes: the text report's detail block. */
struct tl_ladder_sink {
    void *ctx;
    /* Appends one line (no newline; escape codes only when colour is on). */
    void (*line)(void *ctx, const char *s);
    /* Appends the paragraphs under anomaly a's key line (explanation,
     * suggestion, evidence), as the detail block writes them; c is the
     * connection drawn. */
    void (*notes)(void *ctx, const struct tl_anomaly *a, const struct tl_conn *c);
};

/*
 * Draws v: a column heading, one row per timeline entry (plus one for each
 * anomaly proven between packets), then a key line per anomaly, numbered
 * as the ladder marks it, each followed by its notes. Borrows v until
 * return. TL_ENOMEM when the anomalies' places could not be worked out;
 * nothing has been written then.
 */
TL_MUST_CHECK enum tl_status tl_report_ladder(const struct tl_conn_view *v,
                                              const struct tl_ladder_cfg *cfg,
                                              const struct tl_ladder_sink *out);

#endif
