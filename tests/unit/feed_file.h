/* Unit tests: one capture file through the engine with tcplens's defaults
 * into one reporter (its ops swapped by the test to see each connection),
 * then the reporter's end. */
#ifndef TCPLENS_TEST_FEED_FILE_H
#define TCPLENS_TEST_FEED_FILE_H

#include "tcplens/engine.h"
#include "tcplens/report.h"
#include "tcplens/source.h"

/* Feeds path to r with timeline cfg tl; the capture's counters in *cap
 * when cap is given. False when it could not be read or r failed. */
static inline bool tl_test_feed_file(const char *path, struct tl_report *r,
                                     const struct tl_timeline_cfg *tl, struct tl_capture_info *cap)
{
    struct tl_engine_cfg ec = {.idle_timeout_us = TL_DEFAULT_IDLE_TIMEOUT_US,
                               .linger_us = TL_DEFAULT_LINGER_US,
                               .max_flows = TL_DEFAULT_MAX_FLOWS,
                               .timeline = *tl,
                               .zeek = {.ignore_checksums = true},
                               .detect = {.close_wait_us = TL_DEFAULT_CLOSE_WAIT_US,
                                          .fin_timeout_us = TL_DEFAULT_FIN_TIMEOUT_US},
                               .reports = &r,
                               .nreports = 1};
    struct tl_engine *e = tl_engine_new(&ec);
    struct tl_source_cfg sc = {.accept_linktype = tl_decode_linktype_supported};
    struct tl_diag d = {{0}, 0};
    struct tl_source *src = NULL;
    bool good = e != NULL && tl_source_open_files(&src, &path, 1, &sc, &d) == TL_OK;
    struct tl_frame f;
    while (good && tl_source_next(src, &f) == TL_OK)
        good = tl_engine_feed(e, &f) == TL_OK;
    good = good && tl_engine_finish(e) == TL_OK;
    if (good) {
        if (cap != NULL)
            *cap = *tl_engine_capture(e);
        struct tl_run run = {.capture = tl_engine_capture(e),
                             .summary = tl_engine_summary(e),
                             .host_anomalies = tl_engine_host_anomalies(e)};
        good = tl_report_finish(r, &run) == TL_OK;
    }
    tl_source_free(src);
    tl_engine_free(e);
    return good;
}

#endif
