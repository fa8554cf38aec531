/*
 * JSON report (docs/design.md section 4, schema_version 1) and NDJSON. A
 * connection is one compact object on one line in both: NDJSON writes the
 * lines as they are, the document lists them under "connections".
 *
 * Connections are written by the streaming writer (report_json_conn.c),
 * the document's head through jansson. tl_report_conn_json() builds the
 * same connection as a jansson object: the reference the unit test holds
 * the writer to.
 */
#include "tcplens/report.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"

#define SCHEMA_VERSION 1
/* 16 significant digits print epoch seconds with all six decimals. */
#define DUMP_REAL JSON_REAL_PRECISION(16)

/* Adds key → value to obj, taking the value's reference; false on failure
 * (including a NULL value from a failed constructor). */
static bool put(json_t *obj, const char *key, json_t *value)
{
    return value != NULL && json_object_set_new(obj, key, value) == 0;
}

static json_t *ts_json(int64_t us) { return json_real((double)us / 1e6); }

static json_t *endpoint_json(const struct tl_conn *c, enum tl_role r)
{
    const struct tl_addr *a;
    uint16_t port;
    char ip[TL_ADDR_STRLEN];
    tl_conn_endpoint(c, r, &a, &port);
    json_t *o = json_object();
    if (o == NULL || !put(o, "ip", json_string(tl_addr_str(a, ip, sizeof ip))) ||
        !put(o, "port", json_integer(port))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *pair_json(uint64_t client, uint64_t server)
{
    json_t *o = json_object();
    if (o == NULL || !put(o, "client", json_integer((json_int_t)client)) ||
        !put(o, "server", json_integer((json_int_t)server))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *wireshark_filter(const struct tl_conn_view *v)
{
    struct tl_conn_ends e;
    char buf[TL_REPORT_FILTER_MAX];
    tl_report_conn_ends(v->conn, &e);
    return json_string(tl_report_wireshark_filter(v, &e, buf, sizeof buf));
}

static json_t *zeek_json(const struct tl_zeek *z)
{
    json_t *o = json_object();
    if (o == NULL || !put(o, "conn_state", json_string(tl_zeek_conn_state(z))) ||
        !put(o, "history", json_string(tl_zeek_history(z)))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *states_json(uint8_t client, uint8_t server)
{
    json_t *o = json_object();
    if (o == NULL || !put(o, "client", json_string(tl_ep_state_name(client))) ||
        !put(o, "server", json_string(tl_ep_state_name(server)))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* "via": {"server": ["CLOSE_WAIT"]}, only when an endpoint passed through
 * a state within the event. */
static bool put_via(json_t *o, const struct tl_event *e)
{
    if (e->via[0][0] == 0 && e->via[1][0] == 0)
        return true;
    static const char *const role[2] = {"client", "server"};
    json_t *via = json_object();
    bool ok = via != NULL;
    for (int r = 0; ok && r < 2; r++) {
        if (e->via[r][0] == 0)
            continue;
        json_t *a = json_array();
        for (int i = 0; a != NULL && i < 2 && e->via[r][i] != 0; i++)
            if (json_array_append_new(a, json_string(tl_ep_state_name(e->via[r][i]))) != 0) {
                json_decref(a);
                a = NULL;
            }
        ok = put(via, role[r], a);
    }
    if (!ok) {
        json_decref(via);
        return false;
    }
    return put(o, "via", via);
}

/* Adds the states after the event, as docs/design.md puts them: flat. */
static bool put_states(json_t *o, const struct tl_event *e)
{
    return put(o, "client", json_string(tl_ep_state_name(e->client))) &&
           put(o, "server", json_string(tl_ep_state_name(e->server))) && put_via(o, e);
}

static bool packet_fields(json_t *o, const struct tl_event *e)
{
    char flags[9];
    return put(o, "packet", json_integer((json_int_t)e->pkt)) &&
           put(o, "dir", json_string(tl_report_dir_name(e->dir))) &&
           put(o, "flags", json_string(tl_tcp_flags_str(e->flags, flags, sizeof flags))) &&
           put(o, "seq", json_integer(e->seq)) && put(o, "ack", json_integer(e->ack)) &&
           put(o, "len", json_integer(e->len)) && put(o, "win", json_integer(e->win));
}

static bool summary_fields(json_t *o, const struct tl_event *e)
{
    return put(o, "packet", json_integer((json_int_t)e->pkt)) &&
           put(o, "last_ts", ts_json(e->sum_last_ts)) &&
           put(o, "last_packet", json_integer((json_int_t)e->sum_last_pkt)) &&
           put(o, "packets", pair_json(e->sum_packets[0], e->sum_packets[1])) &&
           put(o, "bytes", pair_json(e->sum_bytes[0], e->sum_bytes[1]));
}

static json_t *event_json(const struct tl_event *e)
{
    json_t *o = json_object();
    bool ok = o != NULL && put(o, "ts", ts_json(e->ts));
    if (ok && e->kind == TL_TL_SUMMARY)
        ok = summary_fields(o, e);
    else if (ok && e->dir != TL_TL_NONE)
        ok = packet_fields(o, e);
    ok = ok && put_states(o, e) &&
         put(o, "event", json_string(e->kind == TL_TL_SUMMARY
                                         ? "segments"
                                         : tl_evkind_name((enum tl_evkind)e->kind)));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* [item(base, 0), …, item(base, n - 1)]; NULL when any item fails. */
static json_t *array_of(const void *base, size_t n, json_t *(*item)(const void *base, size_t i))
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++)
        if (json_array_append_new(arr, item(base, i)) != 0) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

static json_t *id_at(const void *base, size_t i)
{
    return json_integer((json_int_t)((const uint64_t *)base)[i]);
}

static json_t *event_at(const void *base, size_t i)
{
    return event_json(&((const struct tl_event *)base)[i]);
}

static json_t *evidence_json(const struct tl_anomaly *a)
{
    json_t *o = json_object();
    for (uint8_t i = 0; o != NULL && i < a->nfields; i++) {
        const struct tl_evfield *f = &a->fields[i];
        json_t *v = NULL;
        switch ((enum tl_evk)f->kind) {
        case TL_EVK_INT: v = json_integer((json_int_t)f->v.i); break;
        case TL_EVK_REAL: v = json_real(f->v.r); break;
        case TL_EVK_BOOL: v = json_boolean(f->v.b); break;
        case TL_EVK_STR: v = json_string(f->v.s); break;
        case TL_EVK_SERIES:
            v = json_array();
            for (uint8_t k = 0; v != NULL && k < a->nseries; k++)
                if (json_array_append_new(v, json_real(a->series[k])) != 0) {
                    json_decref(v);
                    v = NULL;
                }
            break;
        }
        if (!put(o, f->key, v)) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static json_t *anomaly_json(const struct tl_anomaly *a, const struct tl_anomaly_text *t)
{
    json_t *o = json_object();
    bool ok = o != NULL &&
              put(o, "type", json_string(tl_anomaly_id((enum tl_anomaly_type)a->type))) &&
              put(o, "severity", json_string(tl_sev_name((enum tl_sev)a->severity))) &&
              put(o, "endpoint", json_string(tl_anom_ep_name((enum tl_anom_ep)a->endpoint))) &&
              put(o, "ts", ts_json(a->ts)) && put(o, "packets", array_of(a->pkts, a->npkts, id_at)) &&
              put(o, "evidence", evidence_json(a)) &&
              put(o, "explanation", json_string(t->explanation)) &&
              put(o, "suggestion", json_string(t->suggestion));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A connection's anomalies, each with its texts. */
static json_t *anomalies_json(const struct tl_conn_view *v)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < v->anomalies->n; i++) {
        struct tl_anomaly_text t;
        tl_anomaly_render_conn(&v->anomalies->a[i], v->conn, &t);
        if (json_array_append_new(arr, anomaly_json(&v->anomalies->a[i], &t)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* docs/design.md section 4's host_anomalies entry; port and peer only where the
 * type has them, connections_total when the id list was capped. */
static json_t *host_anomaly_json(const struct tl_host_anomaly *h)
{
    const struct tl_anomaly *a = &h->a;
    struct tl_anomaly_text t;
    tl_host_anomaly_render(h, &t);
    json_t *o = json_object();
    bool ok = o != NULL &&
              put(o, "type", json_string(tl_anomaly_id((enum tl_anomaly_type)a->type))) &&
              put(o, "severity", json_string(tl_sev_name((enum tl_sev)a->severity))) &&
              put(o, "host", json_string(h->host)) &&
              (h->port == 0 || put(o, "port", json_integer(h->port))) &&
              (h->peer[0] == '\0' || put(o, "peer", json_string(h->peer))) &&
              (h->peer[0] == '\0' || put(o, "peer_port", json_integer(h->peer_port))) &&
              put(o, "ts", ts_json(a->ts)) &&
              put(o, "connections", array_of(h->conns, h->nconns, id_at)) &&
              (h->total_conns <= h->nconns ||
               put(o, "connections_total", json_integer((json_int_t)h->total_conns))) &&
              put(o, "evidence", evidence_json(a)) &&
              put(o, "explanation", json_string(t.explanation)) &&
              put(o, "suggestion", json_string(t.suggestion));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *host_anomaly_at(const void *base, size_t i)
{
    return host_anomaly_json(&((const struct tl_host_anomaly *)base)[i]);
}

/* The reference form of a connection (see the top of the file). */
json_t *tl_report_conn_json(const struct tl_conn_view *v)
{
    const struct tl_conn *c = v->conn;
    json_t *o = json_object();
    bool ok = o != NULL && put(o, "id", json_integer((json_int_t)c->id)) &&
              put(o, "client", endpoint_json(c, TL_ROLE_CLIENT)) &&
              put(o, "server", endpoint_json(c, TL_ROLE_SERVER)) &&
              put(o, "roles_from", json_string(tl_roles_from_name(c->roles_from))) &&
              ((tl_conn_vlan(c) == 0 && !tl_conn_vlan_split(c)) ||
               put(o, "vlan", json_integer(tl_conn_vlan(c)))) &&
              (!tl_conn_vlan_split(c) ||
               put(o, "vlan_server", json_integer(c->vlan[TL_ROLE_SERVER]))) &&
              put(o, "first_ts", ts_json(c->first_ts)) &&
              put(o, "last_ts", ts_json(c->last_ts)) &&
              put(o, "duration", ts_json(c->last_ts - c->first_ts)) &&
              put(o, "packets", pair_json(c->packets[0], c->packets[1])) &&
              put(o, "bytes", pair_json(c->bytes[0], c->bytes[1])) &&
              (c->duplicates[0] + c->duplicates[1] == 0 ||
               put(o, "duplicates", pair_json(c->duplicates[0], c->duplicates[1]))) &&
              (v->tcp == NULL ||
               put(o, "states_at_end", states_json(v->tcp->ep[TL_ROLE_CLIENT].state,
                                                   v->tcp->ep[TL_ROLE_SERVER].state))) &&
              put(o, "end", json_string(tl_end_name(c->end))) &&
              (v->zeek == NULL || put(o, "zeek", zeek_json(v->zeek))) &&
              put(o, "wireshark_filter", wireshark_filter(v)) &&
              (v->anomalies == NULL || put(o, "anomalies", anomalies_json(v))) &&
              (v->timeline == NULL || put(o, "timeline", array_of(v->timeline->ev, v->timeline->n, event_at))) &&
              (v->timeline == NULL || v->timeline->dropped == 0 ||
               put(o, "timeline_dropped", json_integer((json_int_t)v->timeline->dropped)));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *inputs_json(const struct tl_run *run)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < run->ninputs; i++) {
        const struct tl_input_info *in = &run->inputs[i];
        json_t *o = json_object();
        bool ok = o != NULL && put(o, "source", json_string(in->name)) &&
                  (in->linktype_name == NULL ||
                   put(o, "linktype", json_string(in->linktype_name))) &&
                  put(o, "packets", json_integer((json_int_t)in->packets)) &&
                  (in->status == TL_OK || put(o, "error", json_string(in->error)));
        if (!ok) {
            json_decref(o);
            json_decref(a);
            return NULL;
        }
        /* json_array_append_new() takes o's reference even when it fails. */
        if (json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* skipped: the three classes of docs/design.md, then every non-zero reason. */
static json_t *skipped_json(const struct tl_capture_info *cap, json_t **reasons)
{
    uint64_t cls[4] = {0};
    json_t *o = json_object(), *r = json_object();
    bool ok = o != NULL && r != NULL;
    for (int i = 1; ok && i < TL_DEC_NRESULTS; i++) {
        cls[tl_dec_class((enum tl_dec)i)] += cap->skipped[i];
        if (cap->skipped[i] != 0)
            ok = put(r, tl_dec_name((enum tl_dec)i), json_integer((json_int_t)cap->skipped[i]));
    }
    ok = ok && put(o, "non_tcp", json_integer((json_int_t)cls[TL_DEC_CLASS_NON_TCP])) &&
         put(o, "malformed", json_integer((json_int_t)cls[TL_DEC_CLASS_MALFORMED])) &&
         put(o, "truncated", json_integer((json_int_t)cls[TL_DEC_CLASS_TRUNCATED]));
    if (!ok) {
        json_decref(o);
        json_decref(r);
        return NULL;
    }
    *reasons = r;
    return o;
}

static json_t *capture_json(const struct tl_capture_info *cap)
{
    json_t *o = json_object(), *reasons = NULL, *ev = json_object();
    bool ok = o != NULL && ev != NULL && put(o, "first_ts", ts_json(cap->first_ts)) &&
              put(o, "last_ts", ts_json(cap->last_ts)) &&
              put(o, "packets", json_integer((json_int_t)cap->packets)) &&
              put(o, "tcp_packets", json_integer((json_int_t)cap->tcp_packets)) &&
              put(o, "duplicates", json_integer((json_int_t)cap->duplicates)) &&
              put(o, "skipped", skipped_json(cap, &reasons));
    /* reasons is ours until put() takes it, even when "skipped" failed. */
    if (ok) {
        ok = put(o, "skipped_reasons", reasons);
        reasons = NULL;
    }
    ok = ok && put(ev, "idle", json_integer((json_int_t)cap->evicted_idle)) &&
              put(ev, "max_flows", json_integer((json_int_t)cap->evicted_cap)) &&
              (cap->evicted_hosts == 0 ||
               put(ev, "hosts", json_integer((json_int_t)cap->evicted_hosts)));
    if (ok) {
        ok = put(o, "evicted", ev);
        ev = NULL;
    }
    ok = ok && put(o, "peak_connections", json_integer((json_int_t)cap->peak_flows));
    if (ok && cap->live) {
        json_t *lv = json_object();
        bool inner = lv != NULL &&
                     put(lv, "received", json_integer((json_int_t)cap->live_received)) &&
                     put(lv, "dropped", json_integer((json_int_t)cap->live_dropped)) &&
                     put(lv, "if_dropped", json_integer((json_int_t)cap->live_if_dropped));
        if (!inner)
            json_decref(lv);
        ok = inner && put(o, "live", lv);
    }
    if (ok && cap->shard_count > 1) {
        json_t *sh = json_object();
        bool inner = sh != NULL &&
                     put(sh, "index", json_integer((json_int_t)cap->shard_index + 1)) &&
                     put(sh, "count", json_integer((json_int_t)cap->shard_count)) &&
                     put(sh, "other_packets", json_integer((json_int_t)cap->shard_other_packets));
        if (!inner)
            json_decref(sh);
        ok = inner && put(o, "shard", sh);
    }
    json_decref(ev);
    json_decref(reasons);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* {"TIME_WAIT": 3, …}: only states that occur, in the order of the enum. */
static json_t *state_counts(const uint64_t *n)
{
    json_t *o = json_object();
    for (int s = 0; o != NULL && s < TL_EP_NSTATES; s++)
        if (n[s] != 0 && !put(o, tl_ep_state_name((enum tl_ep_state)s),
                              json_integer((json_int_t)n[s]))) {
            json_decref(o);
            return NULL;
        }
    return o;
}

static json_t *summary_states(const struct report_summary *sum)
{
    json_t *o = json_object();
    if (o == NULL || !put(o, "client", state_counts(sum->states[TL_ROLE_CLIENT])) ||
        !put(o, "server", state_counts(sum->states[TL_ROLE_SERVER]))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *summary_anomalies(const struct report_summary *sum)
{
    json_t *o = json_object();
    for (int t = 0; o != NULL && t < TL_AN_NTYPES; t++)
        if (sum->anomalies[t] != 0 &&
            !put(o, tl_anomaly_id((enum tl_anomaly_type)t),
                 json_integer((json_int_t)sum->anomalies[t]))) {
            json_decref(o);
            return NULL;
        }
    return o;
}

static json_t *summary_json(const struct report_summary *sum)
{
    json_t *o = json_object(), *ends = json_object();
    bool ok = o != NULL && ends != NULL &&
              put(o, "connections", json_integer((json_int_t)sum->connections)) &&
              put(o, "connections_listed", json_integer((json_int_t)sum->listed)) &&
              (sum->out_of_order == 0 ||
               put(o, "connections_out_of_order", json_integer((json_int_t)sum->out_of_order))) &&
              put(o, "states_at_end", summary_states(sum)) &&
              put(o, "anomalies", summary_anomalies(sum));
    for (int e = 0; ok && e <= TL_END_EVICTED; e++)
        if (sum->ends[e] != 0)
            ok = put(ends, tl_end_name((enum tl_end)e), json_integer((json_int_t)sum->ends[e]));
    if (ok) {
        ok = put(o, "ends", ends);
        ends = NULL;
    }
    json_decref(ends);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *doc_head(const struct tl_report *r, const struct tl_run *run)
{
    json_t *o = json_object();
    bool ok = o != NULL && put(o, "tool", json_string("tcplens")) &&
              put(o, "version", json_string(PACKAGE_VERSION)) &&
              put(o, "schema_version", json_integer(SCHEMA_VERSION)) &&
              put(o, "inputs", inputs_json(run)) &&
              put(o, "capture", capture_json(run->capture)) &&
              put(o, "summary", summary_json(&r->sum)) &&
              put(o, "host_anomalies",
                  array_of(run->host_anomalies ? run->host_anomalies->a : NULL,
                           run->host_anomalies ? run->host_anomalies->n : 0, host_anomaly_at));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/*
 * The document's head as text. Not json_dumps(): jansson (2.14) ignores a
 * failed append while it writes an object's key and returns the text
 * without the key (jansson issue #655), so running out of memory there
 * would pass for a report. Here a failure sticks.
 */
struct head_text {
    char *s; /* not NUL-terminated */
    size_t len, cap;
    bool failed;
};

static int head_append(const char *p, size_t n, void *data)
{
    struct head_text *h = data;
    if (!h->failed && h->cap - h->len < n) {
        size_t cap = h->cap ? h->cap : 4096;
        while (cap - h->len < n)
            cap *= 2;
        char *s = realloc(h->s, cap);
        if (s != NULL) {
            h->s = s;
            h->cap = cap;
        }
        h->failed = s == NULL;
    }
    if (h->failed)
        return -1;
    memcpy(h->s + h->len, p, n);
    h->len += n;
    return 0;
}

static enum tl_status write_doc(const struct tl_report *r, const struct tl_run *run,
                                FILE *spool)
{
    if (spool == NULL) /* NDJSON: every line is out already */
        return TL_OK;
    json_t *head = doc_head(r, run);
    if (head == NULL)
        return TL_ENOMEM;
    struct head_text h = {NULL, 0, 0, false};
    /* The head holds only what doc_head() built: a failure is memory. */
    int dumped = json_dump_callback(head, head_append, &h, JSON_INDENT(2) | DUMP_REAL);
    json_decref(head);
    if (dumped != 0 || h.failed) {
        free(h.s);
        return TL_ENOMEM;
    }
    const char *s = h.s;
    /* The head ends with "\n}": reopen it to append the connections. */
    size_t n = h.len;
    while (n > 0 && s[n - 1] != '}')
        n--;
    if (n > 0)
        n--;
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
        n--;
    bool ok = n > 0 && fwrite(s, 1, n, r->cfg.out) == n;
    free(h.s);
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

static char *format_conn(const struct tl_conn_view *v, const struct tl_report_cfg *cfg,
                         size_t *len)
{
    return tl_report_json_format_conn(v, cfg->all_details, len);
}

const struct report_ops tl_report_json_ops = {format_conn, write_doc};
