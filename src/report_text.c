/* Human text report: what was read, then one table row per connection. */
#include "tcplens/report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"

#define ROW_MAX 512

static char *format_conn(const struct tl_conn_view *v, size_t *len)
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
             tl_report_copy_spool(spool, out, "", "\n");
    return ok ? TL_OK : TL_EIO;
}

const struct report_ops tl_report_text_ops = {format_conn, write_doc};
