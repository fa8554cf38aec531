/*
 * Fuzz harness over the whole pipeline: the input is a capture file's
 * bytes, read as tcplens reads any file (the block reader of
 * src/source_read.c, libpcap where it hands over), then the flow table,
 * the engine, the detectors and every reporter (text with every detail,
 * JSON, NDJSON), once on one thread frame by frame and once with the
 * reports on a second (handoff.h) and the frames through the lookahead
 * (lookahead.h), as tcplens reads a file by default: the two outputs
 * must be the same bytes (abort() where they are not). The file is also read through libpcap
 * alone, and the frames must be the same (abort() where they are not). A small --max-flows and
 * timeline cap make the eviction and truncation paths run too, and inputs of odd length a
 * linger of 1 ms: ended connections are reported at once and leave tombstones. Built with
 * libFuzzer (configure --enable-fuzzers) or linked with replay.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tcplens/engine.h"
#include "tcplens/lookahead.h"
#include "tcplens/report.h"
#include "tcplens/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libpcap reads files: the bytes go to a temporary one. */
static bool write_capture(char *path, const uint8_t *data, size_t size)
{
    int fd = mkstemp(path);
    if (fd < 0)
        return false;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    close(fd);
    return done == size;
}

static void analyse(const char *path, FILE *sink, int64_t linger_us, uint32_t threads)
{
    static const enum tl_report_format formats[] = {TL_REPORT_TEXT, TL_REPORT_JSON, TL_REPORT_HTML,
                                                    TL_REPORT_NDJSON};
    enum { NREPORTS = sizeof formats / sizeof formats[0] };
    struct tl_report *reports[NREPORTS] = {NULL};
    for (size_t i = 0; i < NREPORTS; i++) {
        struct tl_report_cfg rc = {.format = formats[i],
                                   .out = sink,
                                   .reorder = true,
                                   .wait_budget = 4096, /* the overflow file, too */
                                   .all_details = i == 0};
        reports[i] = tl_report_new(&rc);
    }
    struct tl_engine_cfg ec = {.idle_timeout_us = 30 * TL_USEC_PER_SEC,
                               .linger_us = linger_us,
                               .max_flows = 16,
                               .timeline = {true, 24},
                               .threads = threads,
                               .reports = reports,
                               .nreports = NREPORTS};
    struct tl_engine *e = reports[NREPORTS - 1] != NULL ? tl_engine_new(&ec) : NULL;
    struct tl_source_cfg sc = {.accept_linktype = tl_decode_linktype_supported};
    struct tl_diag d = {{0}, 0};
    struct tl_source *src = NULL;
    const char *paths[] = {path};
    if (e != NULL && tl_source_open_files(&src, paths, 1, &sc, &d) == TL_OK) {
        struct tl_frame f;
        enum tl_status st = TL_OK;
        struct tl_lookahead *a = threads > 1 ? tl_lookahead_new(e) : NULL;
        bool fed;
        while (st == TL_OK && tl_source_next(src, &f) == TL_OK)
            st = a != NULL ? tl_lookahead_feed(a, &f, &fed) : tl_engine_feed(e, &f);
        if (a != NULL && st == TL_OK)
            st = tl_lookahead_drain(a);
        tl_lookahead_free(a);
        /* Failures (out of memory, say) are the run's to report; here only
         * crashes and sanitizer reports count. */
        if (tl_engine_finish(e) != TL_OK)
            st = TL_ENOMEM;
        struct tl_run run = {.inputs = tl_source_input(src, 0),
                             .summary = tl_engine_summary(e),
                             .ninputs = 1,
                             .capture = tl_engine_capture(e),
                             .host_anomalies = tl_engine_host_anomalies(e)};
        for (size_t i = 0; i < NREPORTS; i++)
            if (tl_report_finish(reports[i], &run) != TL_OK)
                st = TL_EIO;
        (void)st;
    }
    tl_source_free(src);
    tl_engine_free(e);
    for (size_t i = 0; i < NREPORTS; i++)
        tl_report_free(reports[i]);
}

static struct tl_source *open_source(const char *path, bool libpcap)
{
    struct tl_source_cfg sc = {.accept_linktype = tl_decode_linktype_supported,
                               .libpcap_reads = libpcap};
    struct tl_diag d = {{0}, 0};
    struct tl_source *src = NULL;
    const char *paths[] = {path};
    return tl_source_open_files(&src, paths, 1, &sc, &d) == TL_OK ? src : NULL;
}

/* The block reader and libpcap give the same frames and the same end. */
static void compare_readers(const char *path)
{
    struct tl_source *a = open_source(path, true), *b = open_source(path, false);
    if ((a == NULL) != (b == NULL))
        abort();
    struct tl_frame fa, fb;
    enum tl_status sa = TL_OK, sb = TL_OK;
    while (a != NULL && sa == TL_OK) {
        sa = tl_source_next(a, &fa);
        sb = tl_source_next(b, &fb);
        if (sa != sb ||
            (sa == TL_OK && (fa.ts_us != fb.ts_us || fa.caplen != fb.caplen ||
                             fa.wirelen != fb.wirelen || memcmp(fa.data, fb.data, fa.caplen) != 0)))
            abort();
    }
    if (a != NULL && strcmp(tl_source_input(a, 0)->error, tl_source_input(b, 0)->error) != 0)
        abort();
    tl_source_free(a);
    tl_source_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tcplens-fuzz-XXXXXX", dir != NULL ? dir : "/tmp");
    char *out[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    FILE *sink[2] = {open_memstream(&out[0], &len[0]), open_memstream(&out[1], &len[1])};
    if (sink[0] != NULL && sink[1] != NULL && write_capture(path, data, size)) {
        int64_t linger = size % 2 ? TL_USEC_PER_SEC / 1000 : TL_DEFAULT_LINGER_US;
        analyse(path, sink[0], linger, 1);
        analyse(path, sink[1], linger, 2);
        fflush(sink[0]);
        fflush(sink[1]);
        if (len[0] != len[1] || memcmp(out[0], out[1], len[0]) != 0)
            abort();
        compare_readers(path);
    }
    unlink(path);
    for (int i = 0; i < 2; i++) {
        if (sink[i] != NULL)
            fclose(sink[i]);
        free(out[i]);
    }
    return 0;
}
