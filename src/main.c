/* tcplens: the program. Builds the pipeline from the command line, runs it,
 * and turns what happened into messages and the exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tcplens/decode.h"
#include "tcplens/engine.h"
#include "tcplens/report.h"
#include "tcplens/source.h"

enum { EXIT_OK = 0, EXIT_FAIL_ON = 1, EXIT_INPUT = 2 };

#define MAX_REPORTS 2

struct outputs {
    struct tl_report *reports[MAX_REPORTS];
    size_t n;
    FILE *json_file; /* opened by us, closed by us */
};

static bool add_report(struct outputs *o, enum tl_report_format fmt, FILE *out,
                       const struct tl_cli *cli)
{
    struct tl_report_cfg rc = {.format = fmt,
                               .out = out,
                               .reorder = true,
                               .anomalies_only = cli->anomalies_only,
                               .only_id = cli->connection,
                               .all_details = cli->timeline_full || cli->connection != 0};
    struct tl_report *r = tl_report_new(&rc);
    if (r == NULL)
        return false;
    o->reports[o->n++] = r;
    return true;
}

/* Text goes to stdout unless stdout carries the JSON. */
static int open_outputs(const struct tl_cli *cli, struct outputs *o)
{
    const char *jpath = cli->json_path;
    if (jpath == NULL && cli->ndjson)
        jpath = "-";
    if (jpath != NULL && strcmp(jpath, "-") != 0) {
        o->json_file = fopen(jpath, "w");
        if (o->json_file == NULL) {
            fprintf(stderr, "tcplens: %s: cannot write: %m\n", jpath);
            return EXIT_INPUT;
        }
    }
    bool ok = true;
    if (jpath != NULL)
        ok = add_report(o, cli->ndjson ? TL_REPORT_NDJSON : TL_REPORT_JSON,
                        o->json_file ? o->json_file : stdout, cli);
    if (ok && (jpath == NULL || o->json_file != NULL))
        ok = add_report(o, TL_REPORT_TEXT, stdout, cli);
    if (!ok) {
        fprintf(stderr, "tcplens: cannot set up the report (out of memory or no temporary "
                        "file)\n");
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

static void close_outputs(struct outputs *o)
{
    for (size_t i = 0; i < o->n; i++)
        tl_report_free(o->reports[i]);
    if (o->json_file != NULL && fclose(o->json_file) != 0)
        fprintf(stderr, "tcplens: error closing the JSON output: %m\n");
}

/* One line per input that failed; exit 2 when an input gave nothing. */
static int input_verdict(const struct tl_source *src, const struct tl_capture_info *cap)
{
    int rc = EXIT_OK;
    for (size_t i = 0; i < tl_source_ninputs(src); i++) {
        const struct tl_input_info *in = tl_source_input(src, i);
        if (in->status == TL_OK)
            continue;
        fprintf(stderr, "tcplens: %s: %s\n", in->name, in->error);
        if (in->packets == 0)
            rc = EXIT_INPUT;
    }
    if (rc == EXIT_OK && cap->packets > 0 && cap->tcp_packets == 0)
        fprintf(stderr, "tcplens: no TCP packets among the %llu read\n",
                (unsigned long long)cap->packets);
    return rc;
}

static enum tl_status run(struct tl_source *src, struct tl_engine *e)
{
    struct tl_frame f;
    enum tl_status st;
    while ((st = tl_source_next(src, &f)) == TL_OK) {
        st = tl_engine_feed(e, &f);
        if (st != TL_OK)
            return st;
    }
    return st == TL_EOF ? tl_engine_finish(e) : st;
}

static enum tl_status finish_reports(struct outputs *o, const struct tl_source *src,
                                     const struct tl_engine *e, struct tl_input_info *infos)
{
    size_t n = tl_source_ninputs(src);
    for (size_t i = 0; i < n; i++)
        infos[i] = *tl_source_input(src, i);
    struct tl_run r = {infos, n, tl_engine_capture(e), tl_engine_host_anomalies(e)};
    enum tl_status st = TL_OK;
    for (size_t i = 0; i < o->n && st == TL_OK; i++)
        st = tl_report_finish(o->reports[i], &r);
    return st;
}

static int analyse(const struct tl_cli *cli, struct tl_source *src, struct outputs *o)
{
    struct tl_engine_cfg ec = {.idle_timeout_us = cli->idle_timeout_us,
                               .linger_us = cli->linger_us,
                               .max_flows = cli->max_flows,
                               .timeline = {cli->timeline_full, cli->timeline_max},
                               .zeek = {.ignore_checksums = !cli->zeek_checksums},
                               .detect = {.close_wait_us = cli->close_wait_us,
                                          .fin_timeout_us = cli->fin_timeout_us},
                               .reports = o->reports,
                               .nreports = o->n};
    struct tl_engine *e = tl_engine_new(&ec);
    struct tl_input_info *infos = calloc(tl_source_ninputs(src) + 1, sizeof *infos);
    if (e == NULL || infos == NULL) {
        fprintf(stderr, "tcplens: out of memory\n");
        tl_engine_free(e);
        free(infos);
        return EXIT_INPUT;
    }
    enum tl_status st = run(src, e);
    /* Whatever stopped the run, report everything read so far. */
    if (st != TL_OK)
        fprintf(stderr, "tcplens: analysis stopped: %s\n", tl_status_str(st));
    if (st != TL_OK && tl_engine_finish(e) != TL_OK)
        st = TL_ENOMEM;
    enum tl_status rs = finish_reports(o, src, e, infos);
    if (rs != TL_OK)
        fprintf(stderr, "tcplens: writing the report failed: %s\n", tl_status_str(rs));
    int rc = input_verdict(src, tl_engine_capture(e));
    if (rc == EXIT_OK && cli->fail_on >= 0 && tl_engine_capture(e)->worst_severity >= cli->fail_on)
        rc = EXIT_FAIL_ON;
    tl_engine_free(e);
    free(infos);
    return st != TL_OK || rs != TL_OK ? EXIT_INPUT : rc;
}

int main(int argc, char **argv)
{
    struct tl_cli cli;
    tl_cli_parse(argc, argv, &cli);
    struct tl_source_cfg sc = {.filter = cli.filter,
                               .max_packets = cli.count,
                               .accept_linktype = tl_decode_linktype_supported};
    struct tl_diag d = {{0}, 0};
    struct tl_source *src = NULL;
    enum tl_status st = tl_source_open_files(&src, cli.inputs, cli.ninputs, &sc, &d);
    if (st != TL_OK) {
        fprintf(stderr, "tcplens: %s\n", d.msg[0] ? d.msg : tl_status_str(st));
        tl_cli_free(&cli);
        return EXIT_INPUT;
    }
    struct outputs o = {{NULL}, 0, NULL};
    int rc = open_outputs(&cli, &o);
    if (rc == EXIT_OK)
        rc = analyse(&cli, src, &o);
    close_outputs(&o);
    tl_source_free(src);
    tl_cli_free(&cli);
    return rc;
}
