/* Human text report: what was read, then one table row per connection. */
#include "tcplens/report.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"

#define ROW_MAX 512

static char *format_row(const struct tl_conn_view *v, size_t *len);

/*
 * A connection's text is its table row, then its timeline lines, each of
 * those starting with a tab: write_doc prints the rows first (the table),
 * then the timelines, from one spool.
 */
struct buf {
    char *s;
    size_t len, cap;
    bool failed;
};

static TL_PRINTF(2, 3) void bprintf(struct buf *b, const char *fmt, ...)
{
    for (int tries = 0; tries < 2 && !b->failed; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n) * 2;
        char *s = realloc(b->s, cap);
        if (s == NULL) {
            b->failed = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

/* "12:15:59.231769" (UTC, no date: the table has it). */
static const char *clock_str(int64_t ts, char *out, size_t size)
{
    char full[40];
    tl_report_utc(ts, full, sizeof full);
    /* Skip "YYYY-MM-DD "; a date that formats oddly is shown whole. */
    size_t n = strlen(full);
    const char *clk = n > 11 ? full + 11 : full;
    if (strlen(clk) >= size)
        clk = full + n - (size - 1);
    memcpy(out, clk, strlen(clk) + 1);
    return out;
}

static void event_line(struct buf *b, const struct tl_event *e, int64_t t0)
{
    char clk[24], flags[9];
    int64_t d = e->ts - t0;
    bprintf(b, "\n\t  %s %4" PRId64 ".%06" PRId64 "  ", clock_str(e->ts, clk, sizeof clk),
            d / TL_USEC_PER_SEC, d % TL_USEC_PER_SEC);
    if (e->kind == TL_TL_SUMMARY)
        bprintf(b, "%-47s", "");
    else if (e->dir == TL_TL_NONE)
        bprintf(b, "%-47s", "(no packet)");
    else
        bprintf(b, "%-6" PRIu64 " %s %-5s %10" PRIu32 " %10" PRIu32 " %6" PRIu32 "  ", e->pkt,
                e->dir == TL_TL_C2S ? "c>s" : "s>c", tl_tcp_flags_str(e->flags, flags, sizeof flags),
                e->seq, e->ack, e->len);
    bprintf(b, "%-11s %-11s ", tl_ep_state_name(e->client), tl_ep_state_name(e->server));
    if (e->kind != TL_TL_SUMMARY) {
        bprintf(b, "%s", tl_evkind_name((enum tl_evkind)e->kind));
        for (int r = 0; r < 2; r++)
            for (int i = 0; i < 2 && e->via[r][i] != 0; i++)
                bprintf(b, "%s%s via %s", i == 0 ? " (" : ", ", r == 0 ? "client" : "server",
                        tl_ep_state_name(e->via[r][i]));
        if (e->via[0][0] != 0 || e->via[1][0] != 0)
            bprintf(b, ")");
        return;
    }
    bprintf(b, "%" PRIu32 "+%" PRIu32 " segments, %" PRIu64 "+%" PRIu64 " bytes (c+s) until %s",
            e->sum_packets[0], e->sum_packets[1], e->sum_bytes[0], e->sum_bytes[1],
            clock_str(e->sum_last_ts, clk, sizeof clk));
}

static void timeline_block(struct buf *b, const struct tl_conn_view *v)
{
    const struct tl_conn *c = v->conn;
    const struct tl_addr *a;
    uint16_t port;
    char cl[TL_ADDR_STRLEN + 8], sv[TL_ADDR_STRLEN + 8];
    tl_conn_endpoint(c, TL_ROLE_CLIENT, &a, &port);
    tl_report_endpoint(a, port, cl, sizeof cl);
    tl_conn_endpoint(c, TL_ROLE_SERVER, &a, &port);
    tl_report_endpoint(a, port, sv, sizeof sv);
    bprintf(b, "\n\t\n\tconnection %" PRIu64 "  %s -> %s  end %s", c->id, cl, sv,
            tl_end_name(c->end));
    if (v->tcp != NULL)
        bprintf(b, ", at end client %s, server %s",
                tl_ep_state_name(v->tcp->ep[TL_ROLE_CLIENT].state),
                tl_ep_state_name(v->tcp->ep[TL_ROLE_SERVER].state));
    bprintf(b, "\n\t  %-15s %11s  %-6s %-3s %-5s %10s %10s %6s  %-11s %-11s %s", "time (UTC)",
            "+s", "pkt", "dir", "flags", "seq", "ack", "len", "client", "server", "event");
    for (uint32_t i = 0; i < v->timeline->n; i++)
        event_line(b, &v->timeline->ev[i], c->first_ts);
    if (v->timeline->dropped > 0)
        bprintf(b, "\n\t  … %" PRIu64 " more entries not kept (--timeline-max)",
                v->timeline->dropped);
}

static char *format_conn(const struct tl_conn_view *v, size_t *len)
{
    struct buf b = {NULL, 0, 0, false};
    char *row = format_row(v, len);
    if (row == NULL)
        return NULL;
    bprintf(&b, "%s", row);
    free(row);
    if (v->timeline != NULL)
        timeline_block(&b, v);
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    *len = b.len;
    return b.s;
}

static char *format_row(const struct tl_conn_view *v, size_t *len)
{
    const struct tl_conn *c = v->conn;
    const struct tl_addr *a;
    uint16_t port;
    char cl[TL_ADDR_STRLEN + 8], sv[TL_ADDR_STRLEN + 8], start[40], pk[48], by[48];
    tl_conn_endpoint(c, TL_ROLE_CLIENT, &a, &port);
    tl_report_endpoint(a, port, cl, sizeof cl);
    tl_conn_endpoint(c, TL_ROLE_SERVER, &a, &port);
    tl_report_endpoint(a, port, sv, sizeof sv);
    snprintf(pk, sizeof pk, "%" PRIu64 "/%" PRIu64, c->packets[0], c->packets[1]);
    snprintf(by, sizeof by, "%" PRIu64 "/%" PRIu64, c->bytes[0], c->bytes[1]);
    int64_t d = c->last_ts - c->first_ts;
    char *row = malloc(ROW_MAX);
    if (row == NULL)
        return NULL;
    int n = snprintf(row, ROW_MAX, "%5" PRIu64 "  %-22s %-22s %-6s %s %4" PRId64 ".%06" PRId64
                     "  %-11s %-15s %s",
                     c->id, cl, sv, tl_roles_from_name(c->roles_from),
                     tl_report_utc(c->first_ts, start, sizeof start), d / TL_USEC_PER_SEC,
                     d % TL_USEC_PER_SEC, pk, by, tl_end_name(c->end));
    *len = n < 0 ? 0 : (size_t)n >= ROW_MAX ? ROW_MAX - 1 : (size_t)n;
    return row;
}

static bool write_inputs(const struct tl_run *run, FILE *out)
{
    bool ok = true;
    for (size_t i = 0; ok && i < run->ninputs; i++) {
        const struct tl_input_info *in = &run->inputs[i];
        if (in->status == TL_OK)
            ok = fprintf(out, "input    %s  %s  %" PRIu64 " packets\n", in->name,
                         in->linktype_name ? in->linktype_name : "?", in->packets) >= 0;
        else
            ok = fprintf(out, "input    %s  ERROR %s (%" PRIu64 " packets read)\n", in->name,
                         in->error, in->packets) >= 0;
    }
    return ok;
}

static bool write_capture(const struct tl_capture_info *cap, FILE *out)
{
    char a[40], b[40];
    int64_t d = cap->last_ts - cap->first_ts;
    bool ok = true;
    if (cap->packets > 0)
        ok = fprintf(out, "capture  %s → %s UTC (%" PRId64 ".%06" PRId64 " s)\n",
                     tl_report_utc(cap->first_ts, a, sizeof a),
                     tl_report_utc(cap->last_ts, b, sizeof b), d / TL_USEC_PER_SEC,
                     d % TL_USEC_PER_SEC) >= 0;
    uint64_t skipped = cap->packets - cap->tcp_packets;
    ok = ok && fprintf(out, "packets  %" PRIu64 " read, %" PRIu64 " TCP, %" PRIu64 " skipped",
                       cap->packets, cap->tcp_packets, skipped) >= 0;
    const char *sep = " (";
    for (int i = 1; ok && i < TL_DEC_NRESULTS; i++) {
        if (cap->skipped[i] == 0)
            continue;
        ok = fprintf(out, "%s%s %" PRIu64, sep, tl_dec_name((enum tl_dec)i), cap->skipped[i]) >= 0;
        sep = ", ";
    }
    if (ok && sep[0] == ',')
        ok = fputc(')', out) != EOF;
    if (ok && (cap->evicted_idle || cap->evicted_cap))
        ok = fprintf(out, "\nevicted  %" PRIu64 " idle, %" PRIu64 " by --max-flows",
                     cap->evicted_idle, cap->evicted_cap) >= 0;
    return ok && fputc('\n', out) != EOF;
}

static bool write_summary(const struct report_summary *sum, FILE *out)
{
    bool ok = fprintf(out, "connections %" PRIu64, sum->connections) >= 0;
    const char *sep = ": ";
    for (int e = 0; ok && e <= TL_END_EVICTED; e++) {
        if (sum->ends[e] == 0)
            continue;
        ok = fprintf(out, "%s%" PRIu64 " %s", sep, sum->ends[e], tl_end_name((enum tl_end)e)) >= 0;
        sep = ", ";
    }
    return ok && fputc('\n', out) != EOF;
}

/* Copies the table rows (details false) or the timeline lines (true,
 * without their leading tab) from the spool. */
static bool copy_lines(FILE *spool, FILE *out, bool details)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    bool ok = true;
    while (ok && (n = getline(&line, &cap, spool)) > 0) {
        bool is_detail = line[0] == '\t';
        if (is_detail == details)
            ok = fputs(line + (is_detail ? 1 : 0), out) >= 0;
    }
    free(line);
    return ok && !ferror(spool);
}

static enum tl_status write_doc(const struct tl_report *r, const struct tl_run *run,
                                FILE *spool)
{
    FILE *out = r->cfg.out;
    bool ok = write_inputs(run, out) && write_capture(run->capture, out) &&
              write_summary(&r->sum, out);
    if (ok && r->sum.connections > 0)
        ok = fprintf(out, "\n%5s  %-22s %-22s %-6s %-26s %11s  %-11s %-15s %s\n", "id",
                     "client", "server", "roles", "start (UTC)", "duration", "pkts c/s",
                     "bytes c/s", "end") >= 0 &&
             copy_lines(spool, out, false) && fseek(spool, 0, SEEK_SET) == 0 &&
             copy_lines(spool, out, true);
    return ok ? TL_OK : TL_EIO;
}

const struct report_ops tl_report_text_ops = {format_conn, write_doc};
