/*
 * The JSON report document (docs/design.md section 4, schema_version 1):
 * its head (tool, inputs, capture, summary, host anomalies) indented as
 * jansson's JSON_INDENT(2) writes it, then the connections, one compact
 * line each, from the spool. One streaming writer writes it all; the
 * unit test holds it to jansson's output. NDJSON's summary and
 * host_anomaly records (report_json_ndjson.c) write the same members.
 */
#include "tcplens/report.h"

#include <stdlib.h>
#include <string.h>

#include "json_writer.h"
#include "report_int.h"

#define SCHEMA_VERSION 1

/* Times in the head are reals, as jansson prints (double)us / 1e6. */
static void w_ts(struct tl_jw *w, const char *key, int64_t us)
{
    tl_jw_key(w, key);
    tl_jw_real(w, (double)us / 1e6);
}

static void w_uint(struct tl_jw *w, const char *key, uint64_t v)
{
    tl_jw_key(w, key);
    tl_jw_uint(w, v);
}

static void w_str(struct tl_jw *w, const char *key, const char *s)
{
    tl_jw_key(w, key);
    tl_jw_str(w, s);
}

static void w_inputs(struct tl_jw *w, const struct tl_input_info *inputs, size_t n)
{
    TL_JW_KEY(w, "inputs");
    tl_jw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        const struct tl_input_info *in = &inputs[i];
        tl_jw_obj_begin(w);
        w_str(w, "source", in->name);
        if (in->linktype_name != NULL)
            w_str(w, "linktype", in->linktype_name);
        w_uint(w, "packets", in->packets);
        if (in->status != TL_OK)
            w_str(w, "error", in->error);
        tl_jw_obj_end(w);
    }
    tl_jw_arr_end(w);
}

void tl_report_json_inputs(struct tl_jw *w, const struct tl_run *run)
{
    w_inputs(w, run->inputs, run->ninputs);
}

/* --follow: the follow inputs as inputs[] has the own ones, the frames
 * read from them, the last one's time, and whether they were read to
 * their end. */
static void w_follow(struct tl_jw *w, const struct tl_capture_info *cap)
{
    TL_JW_KEY(w, "follow");
    tl_jw_obj_begin(w);
    w_inputs(w, cap->follow_inputs, cap->follow_inputs != NULL ? cap->nfollow : 0);
    w_uint(w, "packets", cap->follow_packets);
    w_ts(w, "last_ts", cap->follow_last_ts);
    if (cap->follow_icmp_matched != 0)
        w_uint(w, "icmp_errors_matched", cap->follow_icmp_matched);
    TL_JW_KEY(w, "complete");
    tl_jw_bool(w, cap->follow_complete);
    tl_jw_obj_end(w);
}

/* skipped: the three classes of docs/design.md; skipped_reasons: every
 * non-zero reason. */
static void w_skipped(struct tl_jw *w, const struct tl_capture_info *cap)
{
    uint64_t cls[4] = {0};
    for (int i = 1; i < TL_DEC_NRESULTS; i++)
        cls[tl_dec_class((enum tl_dec)i)] += cap->skipped[i];
    TL_JW_KEY(w, "skipped");
    tl_jw_obj_begin(w);
    w_uint(w, "non_tcp", cls[TL_DEC_CLASS_NON_TCP]);
    w_uint(w, "malformed", cls[TL_DEC_CLASS_MALFORMED]);
    w_uint(w, "truncated", cls[TL_DEC_CLASS_TRUNCATED]);
    tl_jw_obj_end(w);
    TL_JW_KEY(w, "skipped_reasons");
    tl_jw_obj_begin(w);
    for (int i = 1; i < TL_DEC_NRESULTS; i++)
        if (cap->skipped[i] != 0)
            w_uint(w, tl_dec_name((enum tl_dec)i), cap->skipped[i]);
    tl_jw_obj_end(w);
}

void tl_report_json_capture(struct tl_jw *w, const struct tl_run *run)
{
    const struct tl_capture_info *cap = run->capture;
    TL_JW_KEY(w, "capture");
    tl_jw_obj_begin(w);
    w_ts(w, "first_ts", cap->first_ts);
    w_ts(w, "last_ts", cap->last_ts);
    if (cap->partial) {
        TL_JW_KEY(w, "partial");
        tl_jw_bool(w, true);
    }
    TL_JW_KEY(w, "end");
    tl_jw_obj_begin(w);
    w_ts(w, "ts", cap->end_ts);
    TL_JW_KEY(w, "source");
    tl_jw_str(w, tl_capture_end_name((enum tl_capture_end)cap->end_source));
    tl_jw_obj_end(w);
    w_uint(w, "packets", cap->packets);
    w_uint(w, "tcp_packets", cap->tcp_packets);
    if (run->filter != NULL && run->filter[0] != '\0')
        w_str(w, "filter", run->filter);
    w_uint(w, "duplicates", cap->duplicates);
    w_skipped(w, cap);
    TL_JW_KEY(w, "evicted");
    tl_jw_obj_begin(w);
    w_uint(w, "idle", cap->evicted_idle);
    w_uint(w, "max_flows", cap->evicted_cap);
    if (cap->evicted_hosts != 0)
        w_uint(w, "hosts", cap->evicted_hosts);
    if (cap->evicted_tombstones != 0)
        w_uint(w, "tombstones", cap->evicted_tombstones);
    tl_jw_obj_end(w);
    w_uint(w, "peak_connections", cap->peak_flows);
    if (cap->late_segments != 0)
        w_uint(w, "late_segments", cap->late_segments);
    if (cap->icmp_matched + cap->icmp_unmatched != 0) {
        TL_JW_KEY(w, "icmp_errors");
        tl_jw_obj_begin(w);
        w_uint(w, "matched", cap->icmp_matched);
        w_uint(w, "unmatched", cap->icmp_unmatched);
        tl_jw_obj_end(w);
    }
    if (cap->live) {
        TL_JW_KEY(w, "live");
        tl_jw_obj_begin(w);
        w_uint(w, "received", cap->live_received);
        w_uint(w, "dropped", cap->live_dropped);
        w_uint(w, "if_dropped", cap->live_if_dropped);
        tl_jw_obj_end(w);
    }
    if (cap->file_stats) {
        TL_JW_KEY(w, "file_stats");
        tl_jw_obj_begin(w);
        w_uint(w, "received", cap->file_received);
        w_uint(w, "if_dropped", cap->file_if_dropped);
        w_uint(w, "os_dropped", cap->file_os_dropped);
        tl_jw_obj_end(w);
    }
    if (cap->shard_count > 1) {
        TL_JW_KEY(w, "shard");
        tl_jw_obj_begin(w);
        w_uint(w, "index", (uint64_t)cap->shard_index + 1);
        w_uint(w, "count", cap->shard_count);
        w_uint(w, "other_packets", cap->shard_other_packets);
        tl_jw_obj_end(w);
    }
    if (cap->nfollow > 0)
        w_follow(w, cap);
    tl_jw_obj_end(w);
}

/* {"TIME_WAIT": 3, …}: only states that occur, in the order of the enum. */
static void w_state_counts(struct tl_jw *w, const char *key, const uint64_t *n)
{
    tl_jw_key(w, key);
    tl_jw_obj_begin(w);
    for (int s = 0; s < TL_EP_NSTATES; s++)
        if (n[s] != 0)
            w_uint(w, tl_ep_state_name((enum tl_ep_state)s), n[s]);
    tl_jw_obj_end(w);
}

void tl_report_json_summary(struct tl_jw *w, const struct tl_report *r)
{
    const struct report_summary *sum = r->sum;
    TL_JW_KEY(w, "summary");
    tl_jw_obj_begin(w);
    w_uint(w, "connections", sum->connections);
    w_uint(w, "connections_listed", r->listed);
    if (r->out_of_order != 0)
        w_uint(w, "connections_out_of_order", r->out_of_order);
    TL_JW_KEY(w, "states_at_end");
    tl_jw_obj_begin(w);
    w_state_counts(w, "client", sum->states[TL_ROLE_CLIENT]);
    w_state_counts(w, "server", sum->states[TL_ROLE_SERVER]);
    tl_jw_obj_end(w);
    TL_JW_KEY(w, "anomalies");
    tl_jw_obj_begin(w);
    for (int t = 0; t < TL_AN_NTYPES; t++)
        if (sum->anomalies[t] != 0)
            w_uint(w, tl_anomaly_id((enum tl_anomaly_type)t), sum->anomalies[t]);
    tl_jw_obj_end(w);
    TL_JW_KEY(w, "ends");
    tl_jw_obj_begin(w);
    for (int e = 0; e < TL_END_NENDS; e++)
        if (sum->ends[e] != 0)
            w_uint(w, tl_end_name((enum tl_end)e), sum->ends[e]);
    tl_jw_obj_end(w);
    tl_jw_obj_end(w);
}

/* docs/design.md section 4's host_anomalies entry; port and peer only where
 * the type has them, connections_total when the id list was capped. */
void tl_report_json_host_anomaly_fields(struct tl_jw *w, const struct tl_host_anomaly *h)
{
    const struct tl_anomaly *a = &h->a;
    struct tl_anomaly_text t;
    tl_host_anomaly_render(h, &t);
    w_str(w, "type", tl_anomaly_id((enum tl_anomaly_type)a->type));
    w_str(w, "severity", tl_sev_name((enum tl_sev)a->severity));
    w_str(w, "host", h->host);
    if (h->port != 0)
        w_uint(w, "port", h->port);
    if (h->peer[0] != '\0') {
        w_str(w, "peer", h->peer);
        w_uint(w, "peer_port", h->peer_port);
    }
    w_ts(w, "ts", a->ts);
    TL_JW_KEY(w, "connections");
    tl_jw_arr_begin(w);
    for (uint32_t i = 0; i < h->nconns; i++)
        tl_jw_uint(w, h->conns[i]);
    tl_jw_arr_end(w);
    if (h->total_conns > h->nconns)
        w_uint(w, "connections_total", h->total_conns);
    tl_report_json_evidence(w, a);
    w_str(w, "explanation", t.explanation);
    w_str(w, "suggestion", t.suggestion);
}

void tl_report_json_tool(struct tl_jw *w)
{
    w_str(w, "tool", "tcplens");
    w_str(w, "version", PACKAGE_VERSION);
    w_uint(w, "schema_version", SCHEMA_VERSION);
}

/* The document up to its connections, left open after host_anomalies. */
static void w_head(struct tl_jw *w, const struct tl_report *r, const struct tl_run *run)
{
    const struct tl_host_anomaly_list *ha = run->host_anomalies;
    tl_jw_obj_begin(w);
    tl_report_json_tool(w);
    tl_report_json_inputs(w, run);
    tl_report_json_capture(w, run);
    tl_report_json_summary(w, r);
    TL_JW_KEY(w, "host_anomalies");
    tl_jw_arr_begin(w);
    for (size_t i = 0; ha != NULL && i < ha->n; i++) {
        tl_jw_obj_begin(w);
        tl_report_json_host_anomaly_fields(w, &ha->a[i]);
        tl_jw_obj_end(w);
    }
    tl_jw_arr_end(w);
    tl_report_json_services(w, r->sum);
}

enum tl_status tl_report_json_doc(const struct tl_report *r, const struct tl_run *run, FILE *spool)
{
    struct tl_jw w;
    tl_jw_init(&w, NULL, 0);
    tl_jw_pretty(&w, 2);
    w_head(&w, r, run);
    if (tl_jw_failed(&w)) {
        tl_jw_free(&w);
        return TL_ENOMEM;
    }
    bool ok = fwrite(w.buf, 1, w.len, r->cfg.out) == w.len;
    tl_jw_free(&w);
    ok = ok && fseek(spool, 0, SEEK_END) == 0;
    bool empty = ok && ftell(spool) == 0;
    ok = ok && fseek(spool, 0, SEEK_SET) == 0;
    if (ok && empty)
        return fputs(",\n  \"connections\": []\n}\n", r->cfg.out) >= 0 ? TL_OK : TL_EIO;
    if (!ok || fputs(",\n  \"connections\": [\n", r->cfg.out) < 0)
        return TL_EIO;
    enum tl_status st = tl_report_copy_spool(spool, r->cfg.out, "    ", ",\n");
    if (st == TL_OK && fputs("  ]\n}\n", r->cfg.out) < 0)
        st = TL_EIO;
    return st;
}
