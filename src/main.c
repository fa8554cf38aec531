/* tcplens: the program. Builds the pipeline from the command line, runs it,
 * and turns what happened into messages and the exit status. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "merge.h"
#include "cli.h"
#include "interrupt.h"
#include "live.h"
#include "output.h"
#include "progress.h"
#include "tcplens/decode.h"
#include "tcplens/engine.h"
#include "tcplens/lookahead.h"
#include "tcplens/report.h"
#include "tcplens/source.h"

enum { EXIT_OK = 0, EXIT_FAIL_ON = 1, EXIT_INPUT = 2 };

#define MAX_REPORTS 5
/* The JSON document, the NDJSON stream, the HTML page, standard output. */
#define MAX_OUTPUTS 4
/* Frames between two looks at the signals and the outputs. */
#define WATCH_EVERY 4096u

struct outputs {
    struct tl_report *reports[MAX_REPORTS];
    struct tl_output *report_out[MAX_REPORTS]; /* where each writes */
    size_t n;
    struct tl_output outs[MAX_OUTPUTS]; /* each fails on its own (output.h) */
    size_t nouts;
    struct tl_output *std; /* standard output, once one report took it */
    bool open_failed;      /* an output could not be opened (said) */
    const char *filter;    /* the BPF filter, for the reports that show it */
};

/* --color auto: escape codes only for a terminal that takes them, and
 * never against the user's NO_COLOR (https://no-color.org); as with GNU
 * grep, an unset TERM counts as "dumb". */
static bool use_color(int mode, int fd)
{
    if (mode != TL_COLOR_AUTO)
        return mode == TL_COLOR_ALWAYS;
    const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
    if (no != NULL && no[0] != '\0')
        return false;
    return term != NULL && strcmp(term, "dumb") != 0 && isatty(fd);
}

static bool add_report(struct outputs *o, enum tl_report_format fmt, struct tl_output *out,
                       const struct tl_cli *cli, bool anomalies_only)
{
    /* Streams go out as connections end; documents keep first-seen order. */
    bool stream = cli->iface != NULL && (fmt == TL_REPORT_NDJSON || fmt == TL_REPORT_LINES);
    struct tl_report_cfg rc = {.format = fmt,
                               .out = out->f,
                               .out_fd = out->fd,
                               .reorder = !stream,
                               .anomalies_only = anomalies_only,
                               .only = cli->connections,
                               .nonly = cli->nconnections,
                               .all_details = cli->timeline_full || cli->nconnections != 0 ||
                                              cli->ladder,
                               .top = cli->top,
                               .all = cli->all,
                               .ladder = {cli->ladder,
                                          cli->ladder && use_color(cli->color, out->fd),
                                          cli->ladder_unicode}};
    struct tl_report *r = tl_report_new(&rc);
    if (r == NULL)
        return false;
    o->report_out[o->n] = out;
    o->reports[o->n++] = r;
    return true;
}

/* Standard output for "-" (one output, whichever reports share it), else
 * a file we open, with a large buffer when big. NULL when it cannot be
 * opened: said, and the others go on without it. */
static struct tl_output *open_out(struct outputs *o, const char *path, bool big)
{
    bool std = strcmp(path, "-") == 0;
    if (std && o->std != NULL)
        return o->std;
    struct tl_output *out = &o->outs[o->nouts];
    if (!tl_output_open(out, path, big)) {
        fprintf(stderr, "tcplens: %s: %s\n", path, strerror(tl_output_error(out)));
        o->open_failed = true;
        return NULL;
    }
    o->nouts++;
    if (std)
        o->std = out;
    return out;
}

/* Whether some output is still worth the work: the read stops when a
 * reader gone from every pipe (`| head`) or full disks leave none. */
static bool outputs_alive(const struct outputs *o)
{
    for (size_t i = 0; i < o->nouts; i++)
        if (tl_output_error(&o->outs[i]) == 0)
            return true;
    return false;
}

static bool is_std(const char *path) { return path != NULL && strcmp(path, "-") == 0; }

/*
 * Where each report goes. --json FILE is the document (or, with a bare
 * --ndjson, the stream); --ndjson=FILE is the stream; --html FILE is the
 * HTML page; stdout gets what
 * nothing else claimed: the text report, or live on a terminal a line per
 * connection that went wrong and the text report at the end, or live into
 * a pipe the NDJSON stream.
 */
static int open_outputs(const struct tl_cli *cli, struct outputs *o)
{
    bool bare_ndjson = cli->ndjson && cli->ndjson_path == NULL;
    const char *doc = cli->json_path, *stream = cli->ndjson_path;
    if (bare_ndjson) {
        stream = doc != NULL ? doc : "-";
        doc = NULL;
    }
    bool live = cli->iface != NULL, tty = isatty(STDOUT_FILENO);
    bool html_stdout = cli->html_path != NULL && strcmp(cli->html_path, "-") == 0;
    if (live && stream == NULL && !tty && (doc == NULL || strcmp(doc, "-") != 0) && !html_stdout)
        stream = "-";
    /* Offline, gigabytes of NDJSON may go out: in megabyte writes, not
     * stdio's 4 KB. Live, lines are flushed as they come anyway. An output
     * that cannot be opened is said; the others are written. */
    struct tl_output *df = doc != NULL ? open_out(o, doc, !live) : NULL;
    struct tl_output *sf = stream != NULL ? open_out(o, stream, !live) : NULL;
    struct tl_output *hf = cli->html_path != NULL ? open_out(o, cli->html_path, !live) : NULL;
    o->filter = cli->filter;
    bool stdout_free = !is_std(doc) && !is_std(stream) && !is_std(cli->html_path);
    struct tl_output *so = stdout_free ? open_out(o, "-", !live) : NULL;
    bool ok = (df == NULL || add_report(o, TL_REPORT_JSON, df, cli, cli->anomalies_only)) &&
              (sf == NULL || add_report(o, TL_REPORT_NDJSON, sf, cli, cli->anomalies_only)) &&
              (hf == NULL || add_report(o, TL_REPORT_HTML, hf, cli, cli->anomalies_only));
    if (ok && so != NULL && live && tty)
        ok = add_report(o, TL_REPORT_LINES, so, cli, true);
    if (ok && so != NULL)
        ok = add_report(o, TL_REPORT_TEXT, so, cli, cli->anomalies_only);
    if (!ok) {
        /* tl_report_new() leaves errno: ENOMEM, or why tmpfile() failed. */
        if (errno == ENOMEM)
            fputs("tcplens: cannot set up the report: out of memory\n", stderr);
        else
            fprintf(stderr, "tcplens: cannot create the report's temporary file: %m\n");
        return EXIT_INPUT;
    }
    /* None could be opened: nothing to do. */
    return o->nouts > 0 ? EXIT_OK : EXIT_INPUT;
}

/* Closes every output and says, one line each, which failed and why. A
 * reader gone from a pipe (EPIPE: `| head`) is no failure: it had what
 * it wanted. EXIT_INPUT when an output was lost. */
static int close_outputs(struct outputs *o)
{
    int rc = o->open_failed ? EXIT_INPUT : EXIT_OK;
    for (size_t i = 0; i < o->n; i++)
        tl_report_free(o->reports[i]);
    for (size_t i = 0; i < o->nouts; i++) {
        int err = tl_output_close(&o->outs[i]);
        if (err == 0 || err == EPIPE)
            continue;
        fprintf(stderr, "tcplens: %s: %s\n", tl_output_name(&o->outs[i]), strerror(err));
        rc = EXIT_INPUT;
    }
    return rc;
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

/*
 * The progress line: --progress or --no-progress, else when stderr is a
 * terminal, unless NDJSON goes to the same terminal as it is made (its
 * lines would be written over).
 */
static bool want_progress(const struct tl_cli *cli)
{
    if (cli->progress >= 0)
        return cli->progress == 1;
    if (!isatty(STDERR_FILENO))
        return false;
    const char *stream = cli->ndjson_path != NULL ? cli->ndjson_path
                         : cli->json_path != NULL ? cli->json_path
                                                  : "-";
    return !(cli->ndjson && strcmp(stream, "-") == 0 && isatty(STDOUT_FILENO));
}

/* When the capture ended: --capture-end, else the latest isb_endtime of
 * the pcapng inputs (else the last packet's, the engine's default); and
 * the inputs' interface statistics (the own ones'). now_us > 0: live
 * capture stopped then. Follow inputs read to their end count as a run
 * over every file counts them; when reading them stopped early (nothing
 * held), the end is the last frame read. */
static enum tl_status set_capture_end(const struct tl_cli *cli, const struct tl_source *src,
                                      struct tl_engine *e, int64_t now_us, bool partial,
                                      bool follow_complete)
{
    bool stats = false;
    uint64_t recv = 0, ifdrop = 0, osdrop = 0;
    int64_t end = 0;
    enum tl_capture_end from = TL_CEND_LAST_PACKET;
    bool endtimes = !partial && (cli->nfollow == 0 || follow_complete);
    for (size_t i = 0; i < tl_source_ninputs(src); i++) {
        const struct tl_input_info *in = tl_source_input(src, i);
        /* A read stopped early did not get to the capture's end. */
        if (in->has_endtime && endtimes && (from == TL_CEND_LAST_PACKET || in->endtime_us > end)) {
            end = in->endtime_us;
            from = TL_CEND_PCAPNG;
        }
        if (in->has_ifstats && i < tl_source_nown(src)) {
            stats = true;
            recv += in->if_recv;
            ifdrop += in->if_drop;
            osdrop += in->os_drop;
        }
    }
    if (stats)
        tl_engine_set_file_stats(e, recv, ifdrop, osdrop);
    if (now_us > 0) {
        end = now_us;
        from = TL_CEND_LIVE;
    }
    if (cli->capture_end == TL_CLI_END_AT) {
        end = cli->capture_end_us;
        from = TL_CEND_OPTION;
    } else if (cli->capture_end == TL_CLI_END_AFTER) {
        end = tl_engine_last_read_ts(e) + cli->capture_end_us;
        from = TL_CEND_OPTION;
    }
    return from == TL_CEND_LAST_PACKET ? TL_OK : tl_engine_set_capture_end(e, end, from);
}

/* What the file read answers to between frames, now and then. */
struct watch {
    struct tl_interrupt *intr;
    const struct outputs *o;
    bool partial; /* SIGINT or SIGTERM stopped the read */
};

/* SIGUSR1 gets its snapshot; false when the read is to stop: SIGINT,
 * SIGTERM, or no output left to write to. */
static bool keep_reading(struct watch *w, struct tl_progress *pr)
{
    enum tl_intr what = tl_interrupt_poll(w->intr);
    if (what == TL_INTR_SNAPSHOT)
        tl_progress_snapshot(pr, stderr);
    if (what == TL_INTR_STOP)
        w->partial = true;
    return what != TL_INTR_STOP && outputs_alive(w->o);
}

/*
 * --follow: the follow inputs once the own ones are done, each frame
 * straight to the engine (no lookahead), so that reading stops before the
 * next frame as soon as the engine holds nothing. *complete: they were
 * read to their end. TL_EOF when done, as for the own inputs.
 */
static enum tl_status follow(struct tl_source *src, struct tl_engine *e, struct watch *w,
                             struct tl_progress *pr, bool *complete)
{
    tl_source_follow(src);
    tl_engine_follow(e);
    struct tl_frame f;
    enum tl_status st = TL_OK;
    uint32_t left = WATCH_EVERY;
    while (!tl_engine_follow_done(e) && (st = tl_source_next(src, &f)) == TL_OK) {
        st = tl_engine_feed(e, &f);
        if (st != TL_OK)
            return st;
        tl_progress_tick(pr);
        if (--left == 0) {
            left = WATCH_EVERY;
            if (!keep_reading(w, pr))
                return TL_EOF;
        }
    }
    *complete = st == TL_EOF && tl_source_follow_done(src);
    return TL_EOF;
}

static enum tl_status run(const struct tl_cli *cli, struct tl_source *src, struct tl_engine *e,
                          struct watch *w, bool *follow_complete)
{
    struct tl_progress pr;
    tl_progress_start(&pr, want_progress(cli) ? stderr : NULL, src, e, cli->count);
    struct tl_lookahead *a = tl_lookahead_new(e);
    if (a == NULL)
        return TL_ENOMEM;
    struct tl_frame f;
    enum tl_status st;
    bool fed = false, failed = false;
    uint32_t left = WATCH_EVERY;
    while ((st = tl_source_next(src, &f)) == TL_OK) {
        st = tl_lookahead_feed(a, &f, &fed);
        if (st != TL_OK) {
            failed = true;
            break;
        }
        if (fed)
            tl_progress_tick(&pr);
        if (--left == 0) {
            left = WATCH_EVERY;
            if (!keep_reading(w, &pr)) {
                st = TL_EOF; /* what was read is reported as a whole input's */
                break;
            }
        }
    }
    /* The end of the input, or a read error: the engine still gets every
     * frame read before it. */
    if (!failed) {
        enum tl_status ds = tl_lookahead_drain(a);
        if (ds != TL_OK)
            st = ds;
    }
    tl_lookahead_free(a);
    if (st == TL_EOF && !w->partial && cli->nfollow > 0)
        st = follow(src, e, w, &pr, follow_complete);
    tl_interrupt_close(w->intr);
    tl_progress_end(&pr);
    if (st == TL_EOF)
        st = set_capture_end(cli, src, e, 0, w->partial, *follow_complete);
    return st == TL_OK ? tl_engine_finish(e) : st;
}

/* Writes every report, each whatever became of the others. The outputs
 * of those that failed are named in failed ("a.json, standard output");
 * returns the first failure, TL_OK when all were written. */
static enum tl_status finish_reports(struct outputs *o, const struct tl_source *src,
                                     const struct tl_engine *e, struct tl_input_info *infos,
                                     bool partial, bool follow_complete, char *failed, size_t size)
{
    size_t all_inputs = tl_source_ninputs(src), n = tl_source_nown(src);
    for (size_t i = 0; i < all_inputs; i++)
        infos[i] = *tl_source_input(src, i);
    struct tl_capture_info cap = *tl_engine_capture(e);
    cap.partial = partial;
    if (all_inputs > n) {
        cap.follow_complete = follow_complete;
        cap.follow_inputs = infos + n;
        cap.nfollow = all_inputs - n;
    }
    struct tl_run r = {infos,     n,
                       &cap,      tl_engine_host_anomalies(e),
                       o->filter, tl_engine_summary(e)};
    enum tl_status all = TL_OK;
    size_t len = 0;
    failed[0] = '\0';
    for (size_t i = 0; i < o->n; i++) {
        enum tl_status st = tl_report_finish(o->reports[i], &r);
        if (st == TL_OK)
            continue;
        if (len < size)
            len += (size_t)snprintf(failed + len, size - len, "%s%s", all != TL_OK ? ", " : "",
                                    tl_output_name(o->report_out[i]));
        if (all == TL_OK)
            all = st;
    }
    return all;
}

/* One line, however many steps the shortage (most often) hit. */
static void say_failure(enum tl_status st, enum tl_status rs, const char *failed)
{
    if (st != TL_OK && rs != TL_OK)
        fprintf(stderr, "tcplens: analysis stopped: %s; writing the report failed (%s): %s\n",
                tl_status_str(st), failed, tl_status_str(rs));
    else if (st != TL_OK)
        fprintf(stderr, "tcplens: analysis stopped: %s\n", tl_status_str(st));
    else if (rs != TL_OK)
        fprintf(stderr, "tcplens: writing the report failed (%s): %s\n", failed, tl_status_str(rs));
}

/* --connection: an id the capture does not have is a mistake, said on one
 * line (the lowest such ids). */
static bool connections_exist(const struct tl_cli *cli, uint64_t have, bool partial)
{
    for (size_t i = 0; i < cli->nconnections; i++) {
        const struct tl_id_range *r = &cli->connections[i];
        if (r->last <= have)
            continue;
        uint64_t first = r->first > have ? r->first : have + 1;
        char ids[48];
        if (first == r->last)
            snprintf(ids, sizeof ids, "%" PRIu64, first);
        else
            snprintf(ids, sizeof ids, "%" PRIu64 "-%" PRIu64, first, r->last);
        fprintf(stderr, "tcplens: --connection %s: no such connection (%s %" PRIu64 ")\n", ids,
                partial ? "the part read has" : "the capture has", have);
        return false;
    }
    return true;
}

/* Live: run until stopped, show the open connections, end them as "open",
 * and say what the kernel dropped. */
static enum tl_status run_live(const struct tl_cli *cli, struct tl_source *src, struct tl_engine *e)
{
    enum tl_status st = tl_live_run(cli, src, e);
    if (st != TL_OK)
        return st;
    struct tl_capture_stats cs;
    if (tl_source_stats(src, &cs)) {
        tl_engine_set_live_stats(e, cs.received, cs.dropped, cs.if_dropped);
        fprintf(stderr,
                "tcplens: %llu packets received by filter, %llu dropped by kernel, %llu dropped by "
                "interface%s\n",
                (unsigned long long)cs.received, (unsigned long long)cs.dropped,
                (unsigned long long)cs.if_dropped,
                cs.dropped + cs.if_dropped > 0
                    ? ": states and anomalies of connections active then may be wrong"
                    : "");
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    st = set_capture_end(cli, src, e, (int64_t)now.tv_sec * TL_USEC_PER_SEC + now.tv_nsec / 1000,
                         false, false);
    return st == TL_OK ? tl_engine_finish(e) : st;
}

/* The engine's threads: --threads, else 2 where two CPUs are ours. Live
 * mode writes its snapshots from the engine's thread, and its output is
 * paced by the traffic: one thread there. */
static uint32_t threads(const struct tl_cli *cli)
{
    if (cli->iface != NULL)
        return 1;
    if (cli->threads != 0)
        return cli->threads;
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    return sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) >= 2 ? 2 : 1;
}

static int analyse(const struct tl_cli *cli, struct tl_source *src, struct outputs *o,
                   struct tl_interrupt *intr)
{
    struct tl_engine_cfg ec = {.idle_timeout_us = cli->idle_timeout_us,
                               .vlan_key = (uint8_t)cli->vlan_key,
                               .hosts = {.scan_ports = cli->scan_ports,
                                         .scan_hosts = cli->scan_hosts},
                               .linger_us = cli->linger_us,
                               .max_flows = cli->max_flows,
                               .timeline = {cli->timeline_full, cli->timeline_max},
                               .zeek = {.ignore_checksums = !cli->zeek_checksums},
                               .detect = {.close_wait_us = cli->close_wait_us,
                                          .fin_timeout_us = cli->fin_timeout_us},
                               .reports = o->reports,
                               .nreports = o->n,
                               .shard_index = cli->shard_index,
                               .shard_count = cli->shard_count,
                               .threads = threads(cli),
                               .decode = &cli->decode};
    struct tl_engine *e = tl_engine_new(&ec);
    struct tl_input_info *infos = calloc(tl_source_ninputs(src) + 1, sizeof *infos);
    if (e == NULL || infos == NULL) {
        fprintf(stderr, "tcplens: out of memory\n");
        tl_engine_free(e);
        free(infos);
        return EXIT_INPUT;
    }
    struct watch w = {intr, o, false};
    bool follow_complete = false;
    enum tl_status st = cli->iface != NULL ? run_live(cli, src, e)
                                           : run(cli, src, e, &w, &follow_complete);
    /* Whatever stopped the run, report everything read so far. */
    if (st != TL_OK && tl_engine_finish(e) != TL_OK)
        st = TL_ENOMEM;
    char failed[256];
    enum tl_status rs = finish_reports(o, src, e, infos, w.partial, follow_complete, failed,
                                       sizeof failed);
    say_failure(st, rs, failed);
    const struct tl_capture_info *cap = tl_engine_capture(e);
    int rc = input_verdict(src, cap);
    /* With every output gone (`| head`), nobody reads a complaint. */
    if (outputs_alive(o) && !connections_exist(cli, cap->connections, w.partial))
        rc = EXIT_INPUT;
    if (rc == EXIT_OK && cli->fail_on >= 0 && cap->worst_severity >= cli->fail_on)
        rc = EXIT_FAIL_ON;
    tl_engine_free(e);
    free(infos);
    return st != TL_OK || rs != TL_OK ? EXIT_INPUT : rc;
}

/* tcplens -i: open the interface (and -w) as root, then the outputs, then
 * give root up (-Z), as tcpdump does. */
static int main_live(struct tl_cli *cli)
{
    struct tl_live_cfg lc = {.iface = cli->iface,
                             .filter = cli->filter,
                             .snaplen = cli->snaplen,
                             .max_packets = cli->count,
                             .dump_path = cli->write_path,
                             .accept_linktype = tl_decode_linktype_supported};
    struct tl_diag d = {{0}, 0};
    struct tl_source *src = NULL;
    if (!tl_live_block_signals())
        fprintf(stderr, "tcplens: cannot block signals: %m\n");
    enum tl_status st = tl_source_open_live(&src, &lc, &d);
    /* src is set whenever st is TL_OK; testing it too tells the compiler
     * (LTO's -Wnull-dereference at -O1) no path reads through NULL. */
    if (st != TL_OK || src == NULL) {
        fprintf(stderr, "tcplens: %s\n", d.msg[0] ? d.msg : tl_status_str(st));
        tl_cli_free(cli);
        return EXIT_INPUT;
    }
    const struct tl_input_info *in = tl_source_input(src, 0);
    fprintf(stderr, "tcplens: listening on %s, link-type %s\n", cli->iface,
            in != NULL && in->linktype_name != NULL ? in->linktype_name : "?");
    struct outputs o;
    memset(&o, 0, sizeof o);
    int rc = open_outputs(cli, &o);
    if (rc == EXIT_OK && cli->user != NULL && !tl_live_drop_privileges(cli->user))
        rc = EXIT_INPUT;
    else if (rc == EXIT_OK && cli->user == NULL && geteuid() == 0)
        fprintf(stderr, "tcplens: running as root (-Z USER drops privileges once capturing)\n");
    if (rc == EXIT_OK)
        rc = analyse(cli, src, &o, NULL);
    int crc = close_outputs(&o);
    tl_source_free(src);
    tl_cli_free(cli);
    return crc != EXIT_OK ? crc : rc;
}

/* Whether a word of the filter that libpcap refused was more likely a
 * capture file's name mistyped: it has a '/' or a '.' and is no address
 * ("10.0.0.1", "10.0.0.0/8", "::1"), and no such file exists. */
static bool looks_like_path(const char *word)
{
    if (strpbrk(word, "/.") == NULL || access(word, F_OK) == 0)
        return false;
    char addr[64];
    size_t len = strcspn(word, "/");
    if (len >= sizeof addr)
        return true;
    memcpy(addr, word, len);
    addr[len] = '\0';
    unsigned char bin[16];
    return inet_pton(AF_INET, addr, bin) != 1 && inet_pton(AF_INET6, addr, bin) != 1;
}

/* The inputs could not be opened: the reason, or, when the filter was
 * refused and its first word looks like a file, that file's absence. */
static void say_open_error(const struct tl_cli *cli, enum tl_status st, const struct tl_diag *d)
{
    if (st == TL_EINVAL && cli->filter != NULL) {
        char word[256];
        snprintf(word, sizeof word, "%.*s", (int)strcspn(cli->filter, " "), cli->filter);
        if (looks_like_path(word)) {
            fprintf(stderr, "tcplens: %s: %s (nor a filter expression)\n", word, strerror(ENOENT));
            return;
        }
    }
    fprintf(stderr, "tcplens: %s\n", d->msg[0] ? d->msg : tl_status_str(st));
}

int main(int argc, char **argv)
{
    /* "tcplens merge …" is its own command; a capture named merge is
     * ./merge. */
    if (argc > 1 && strcmp(argv[1], "merge") == 0)
        return tl_merge_main(argc - 1, argv + 1);
    struct tl_cli cli;
    tl_cli_parse(argc, argv, &cli);
    if (cli.iface != NULL)
        return main_live(&cli);
    struct tl_source_cfg sc = {.filter = cli.filter,
                               .max_packets = cli.count,
                               .accept_linktype = tl_decode_linktype_supported,
                               .follow = cli.follow,
                               .nfollow = cli.nfollow};
    struct tl_diag d = {{0}, 0};
    struct tl_source *src = NULL;
    /* A reader that leaves a pipe is an EPIPE on its output (output.h),
     * not a death by SIGPIPE. The read's signals (interrupt.h) are blocked
     * before any thread starts. */
    signal(SIGPIPE, SIG_IGN);
    struct tl_interrupt intr;
    if (!tl_interrupt_block())
        fprintf(stderr, "tcplens: cannot block signals: %s\n", strerror(errno));
    tl_interrupt_open(&intr);
    enum tl_status st = tl_source_open_files(&src, cli.inputs, cli.ninputs, &sc, &d);
    if (st != TL_OK || src == NULL) { /* src is set on TL_OK: for the compiler */
        say_open_error(&cli, st, &d);
        tl_cli_free(&cli);
        return EXIT_INPUT;
    }
    struct outputs o;
    memset(&o, 0, sizeof o);
    int rc = open_outputs(&cli, &o);
    if (rc == EXIT_OK)
        rc = analyse(&cli, src, &o, &intr);
    int crc = close_outputs(&o);
    tl_source_free(src);
    tl_cli_free(&cli);
    /* Stopped by SIGINT or SIGTERM: the reports are out; end as the
     * signal would have ended us, so that the caller (a shell loop) knows. */
    tl_interrupt_reraise(&intr);
    return crc != EXIT_OK ? crc : rc;
}
