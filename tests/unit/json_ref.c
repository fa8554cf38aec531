/*
 * The JSON report's connection object built with jansson, key by key in
 * the order docs/design.md gives: the independent reference the streaming
 * writer (src/report_json_conn.c) is held to by test_json_writer.c. It
 * lives with the tests because the program itself never builds a tree.
 */
#include "json_ref.h"

#include <jansson.h>

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

/* A duration in seconds, or null when not seen (negative). */
static json_t *leg_json(int64_t us) { return us >= 0 ? ts_json(us) : json_null(); }

static json_t *rtt_stats_json(const struct tl_rtt_stats *s)
{
    json_t *o = json_object();
    if (o == NULL || !put(o, "samples", json_integer(s->n)) ||
        !put(o, "min", s->n != 0 ? ts_json(s->min) : json_null()) ||
        !put(o, "srtt", s->n != 0 ? ts_json(s->srtt) : json_null()) ||
        !put(o, "max", s->n != 0 ? ts_json(s->max) : json_null())) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *rtt_json(const struct tl_conn_perf *p)
{
    json_t *o = json_object();
    if (o == NULL || !put(o, "syn_synack", leg_json(p->rtt.syn_synack)) ||
        !put(o, "synack_ack", leg_json(p->rtt.synack_ack)) ||
        !put(o, "client_to_server", rtt_stats_json(&p->rtt.data[TL_ROLE_CLIENT])) ||
        !put(o, "server_to_client", rtt_stats_json(&p->rtt.data[TL_ROLE_SERVER]))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *segments_json(const struct tl_conn_perf *p)
{
    json_t *o = json_object();
    if (o == NULL || !put(o, "data", pair_json(p->data_segs[0], p->data_segs[1])) ||
        !put(o, "retransmitted", pair_json(p->retx_segs[0], p->retx_segs[1])) ||
        !put(o, "rst", pair_json(p->rsts[0], p->rsts[1]))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *host_facts_json(const struct tl_host_conn *h)
{
    json_t *o = json_object();
    bool ok = o != NULL &&
              (!h->syn_seen ||
               put(o, "outcome",
                   json_string(tl_host_outcome_name((enum tl_host_outcome)h->outcome)))) &&
              (!h->hs_ack || put(o, "handshake_ack_ts", ts_json(h->hs_ack_ts))) &&
              (!h->hs_ack || h->accepted_ts == INT64_MAX ||
               put(o, "accepted_ts", ts_json(h->accepted_ts))) &&
              (h->synack_after_ack == 0 ||
               put(o, "synack_after_ack", json_integer(h->synack_after_ack))) &&
              (h->syns_lost == 0 || (put(o, "syns_lost", json_integer(h->syns_lost)) &&
                                     put(o, "first_syn_ts", ts_json(h->syn_ts)))) &&
              (h->client_time_wait_ts == 0 ||
               put(o, "client_time_wait_ts", ts_json(h->client_time_wait_ts)));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *side_seq_json(const struct tl_ep *ep)
{
    json_t *o = json_object();
    if (o == NULL || !put(o, "isn", json_integer(ep->isn)) ||
        !put(o, "next", json_integer(ep->snd_nxt)) ||
        (ep->syn_acked && !put(o, "syn_acked", json_true()))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *seq_json(const struct tl_tcpstate *tcp)
{
    json_t *o = json_object();
    bool ok = o != NULL && (!tcp->ep[0].seen || put(o, "client", side_seq_json(&tcp->ep[0]))) &&
              (!tcp->ep[1].seen || put(o, "server", side_seq_json(&tcp->ep[1])));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static bool has_host_facts(const struct tl_host_conn *h)
{
    return h != NULL && (h->syn_seen || h->hs_ack || h->synack_after_ack || h->syns_lost ||
                         h->client_time_wait_ts);
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

static bool icmp_fields(json_t *o, const struct tl_event *e)
{
    return put(o, "packet", json_integer((json_int_t)e->pkt)) &&
           put(o, "dir", json_string(tl_report_dir_name(e->dir))) &&
           put(o, "icmp_type", json_integer(tl_event_icmp_type(e))) &&
           put(o, "icmp_code", json_integer(tl_event_icmp_code(e))) &&
           put(o, "seq", json_integer(e->seq));
}

static json_t *tunnel_json(const struct tl_conn *c)
{
    const struct tl_tunnel *t = &c->tunnel;
    char a[TL_ADDR_STRLEN], b[TL_ADDR_STRLEN];
    tl_addr_str(c->client_is_a ? &t->outer_src : &t->outer_dst, a, sizeof a);
    tl_addr_str(c->client_is_a ? &t->outer_dst : &t->outer_src, b, sizeof b);
    json_t *o = json_object(), *outer = json_object();
    bool ok = o != NULL && outer != NULL &&
              put(o, "type", json_string(tl_report_tunnel_name(t->type))) &&
              (!t->has_id || put(o, "id", json_integer(t->id))) &&
              put(outer, "client", json_string(a)) && put(outer, "server", json_string(b)) &&
              put(o, "outer", outer) && put(o, "depth", json_integer(t->depth));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static bool summary_fields(json_t *o, const struct tl_event *e, const struct tl_sum *sum)
{
    return put(o, "packet", json_integer((json_int_t)e->pkt)) &&
           put(o, "last_ts", ts_json(sum->last_ts)) &&
           put(o, "last_packet", json_integer((json_int_t)sum->last_pkt)) &&
           put(o, "packets", pair_json(sum->packets[0], sum->packets[1])) &&
           put(o, "bytes", pair_json(sum->bytes[0], sum->bytes[1]));
}

static json_t *event_json(const struct tl_timeline *t, const struct tl_event *e)
{
    json_t *o = json_object();
    bool ok = o != NULL && put(o, "ts", ts_json(e->ts));
    if (ok && e->kind == TL_TL_SUMMARY)
        ok = summary_fields(o, e, tl_timeline_sum(t, e));
    else if (ok && tl_event_is_icmp(e))
        ok = icmp_fields(o, e);
    else if (ok && e->dir != TL_TL_NONE)
        ok = packet_fields(o, e);
    ok = ok && put_states(o, e) &&
         put(o, "event",
             json_string(e->kind == TL_TL_SUMMARY ? "segments"
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

/* base: the timeline. */
static json_t *event_at(const void *base, size_t i)
{
    const struct tl_timeline *t = base;
    return event_json(t, &t->ev[i]);
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
        case TL_EVK_ADDR: {
            char s[TL_ADDR_STRLEN];
            v = json_string(tl_anomaly_addr_text(a, f, s, sizeof s));
            break;
        }
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
              put(o, "ts", ts_json(a->ts)) &&
              put(o, "packets", array_of(a->pkts, a->npkts, id_at)) &&
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
              (c->tunnel.type == TL_TUN_NONE || put(o, "tunnel", tunnel_json(c))) &&
              put(o, "first_ts", ts_json(c->first_ts)) &&
              put(o, "first_packet", json_integer((json_int_t)c->first_pkt)) &&
              put(o, "last_ts", ts_json(c->last_ts)) &&
              put(o, "duration", ts_json(c->last_ts - c->first_ts)) &&
              put(o, "packets", pair_json(c->packets[0], c->packets[1])) &&
              put(o, "bytes", pair_json(c->bytes[0], c->bytes[1])) &&
              (c->duplicates[0] + c->duplicates[1] == 0 ||
               put(o, "duplicates", pair_json(c->duplicates[0], c->duplicates[1]))) &&
              (c->icmp_errors == 0 || put(o, "icmp_errors", json_integer(c->icmp_errors))) &&
              (v->tcp == NULL || put(o, "states_at_end",
                                     states_json(v->tcp->ep[TL_ROLE_CLIENT].state,
                                                 v->tcp->ep[TL_ROLE_SERVER].state))) &&
              put(o, "end", json_string(tl_end_name(c->end))) &&
              (!c->idle_ended || put(o, "idle_timeout", json_true())) &&
              (v->zeek == NULL || put(o, "zeek", zeek_json(v->zeek))) &&
              (v->perf == NULL || put(o, "rtt", rtt_json(v->perf))) &&
              (v->perf == NULL || put(o, "segments", segments_json(v->perf))) &&
              (v->tcp == NULL || !(v->tcp->ep[0].seen || v->tcp->ep[1].seen) ||
               put(o, "seq", seq_json(v->tcp))) &&
              (!has_host_facts(v->host) || put(o, "host_facts", host_facts_json(v->host))) &&
              (v->released_pkt == 0 ||
               put(o, "released_packet", json_integer((json_int_t)v->released_pkt))) &&
              put(o, "wireshark_filter", wireshark_filter(v)) &&
              (v->anomalies == NULL || put(o, "anomalies", anomalies_json(v))) &&
              (v->timeline == NULL ||
               put(o, "timeline", array_of(v->timeline, v->timeline->n, event_at))) &&
              (v->timeline == NULL || v->timeline->dropped == 0 ||
               put(o, "timeline_dropped", json_integer((json_int_t)v->timeline->dropped)));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}
