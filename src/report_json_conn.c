/*
 * One connection as one line of JSON (docs/design.md section 4): NDJSON writes
 * the lines as they are, the JSON document lists them under "connections".
 * Written straight into text by the streaming writer (json_writer.h), since
 * this runs once per connection.
 */
#include <string.h>

#include "json_writer.h"
#include "report_int.h"

const char *tl_report_dir_name(uint8_t dir)
{
    return dir == TL_TL_C2S ? "client>server" : "server>client";
}

void tl_report_conn_ends(const struct tl_conn *c, struct tl_conn_ends *e)
{
    for (int r = 0; r < 2; r++) {
        const struct tl_addr *a;
        tl_conn_endpoint(c, (enum tl_role)r, &a, &e->port[r]);
        tl_addr_str(a, e->ip[r], sizeof e->ip[r]);
    }
}

/* Appends s at d; returns the end. */
static char *cat(char *d, const char *s)
{
    size_t n = strlen(s);
    memcpy(d, s, n);
    return d + n;
}

static char *cat_uint(char *d, uint64_t v)
{
    char t[24], *e = t + sizeof t, *p = e;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    memcpy(d, p, (size_t)(e - p));
    return d + (e - p);
}

/* Seconds with six decimals, "-0.000001" before the epoch. */
static char *cat_time(char *d, int64_t us)
{
    uint64_t mag = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
    if (us < 0)
        *d++ = '-';
    d = cat_uint(d, mag / TL_USEC_PER_SEC);
    *d++ = '.';
    uint32_t frac = (uint32_t)(mag % TL_USEC_PER_SEC);
    for (int i = 5; i >= 0; i--, frac /= 10)
        d[i] = (char)('0' + frac % 10);
    return d + 6;
}

/* One direction: "(ip.src==A && tcp.srcport==P && ip.dst==B && tcp.dstport==Q)". */
static char *cat_dir(char *d, bool v6, const char *a, unsigned ap, const char *b, unsigned bp)
{
    d = cat(d, v6 ? "(ipv6.src==" : "(ip.src==");
    d = cat(d, a);
    d = cat_uint(cat(d, " && tcp.srcport=="), ap);
    d = cat(cat(d, v6 ? " && ipv6.dst==" : " && ip.dst=="), b);
    d = cat_uint(cat(d, " && tcp.dstport=="), bp);
    *d++ = ')';
    return d;
}

/* "(A && tcp.seq_raw in [lo, hi])", across 2^32 too. */
static char *cat_range(char *d, const char *field, uint32_t lo, uint32_t hi)
{
    d = cat_uint(cat(cat(cat(d, " && ("), field), " >= "), lo);
    d = cat(cat(cat(d, lo <= hi ? " && " : " || "), field), " <= ");
    d = cat_uint(d, hi);
    *d++ = ')';
    return d;
}

/* Two connections of one 4-tuple at once (one superseded the other): each
 * is the client's segments in its sequence space and the server's that
 * acknowledge into it. */
static char *cat_seq_space(char *d, const struct tl_ep *client, bool v6, const char *a, unsigned cp,
                           const char *b, unsigned sp)
{
    d = cat(cat(d, v6 ? " && ((ipv6.src==" : " && ((ip.src=="), a);
    d = cat_uint(cat(d, " && tcp.srcport=="), cp);
    d = cat_range(d, "tcp.seq_raw", client->isn, client->snd_nxt);
    d = cat(cat(d, v6 ? ") || (ipv6.src==" : ") || (ip.src=="), b);
    d = cat_uint(cat(d, " && tcp.srcport=="), sp);
    d = cat_range(d, "tcp.ack_raw", client->isn, client->snd_nxt);
    return cat(d, "))");
}

/*
 * A Wireshark display filter that selects exactly this connection: both
 * directions of its 4-tuple (written per direction, so a connection with
 * the ports swapped never matches), its VLAN, and its time span, which
 * tells apart connections that reused the 4-tuple.
 */
const char *tl_report_wireshark_filter(const struct tl_conn_view *v, const struct tl_conn_ends *e,
                                       char *buf, size_t size)
{
    const struct tl_conn *c = v->conn;
    /* The span is widened by 1 µs each way: Wireshark compares the epoch
     * time as a float. */
    int64_t t0 = c->first_ts - 1, t1 = c->last_ts + 1;
    if (size < TL_REPORT_FILTER_MAX) {
        buf[0] = '\0';
        return buf;
    }
    bool v6 = c->key.a.family == TL_AF_INET6;
    const char *a = e->ip[TL_ROLE_CLIENT], *b = e->ip[TL_ROLE_SERVER];
    unsigned cp = e->port[TL_ROLE_CLIENT], sp = e->port[TL_ROLE_SERVER];
    char *d = buf;
    *d++ = '(';
    d = cat_dir(d, v6, a, cp, b, sp);
    d = cat_dir(cat(d, " || "), v6, b, sp, a, cp);
    *d++ = ')';
    if (tl_conn_vlan_split(c)) {
        d = cat_uint(cat(d, " && (vlan.id=="), c->vlan[TL_ROLE_CLIENT] & 0xfffu);
        d = cat_uint(cat(d, " || vlan.id=="), c->vlan[TL_ROLE_SERVER] & 0xfffu);
        *d++ = ')';
    } else if (tl_conn_vlan(c) != 0) {
        d = cat_uint(cat(d, " && vlan.id=="), tl_conn_vlan(c) & 0xfffu);
    }
    d = cat_time(cat(d, " && frame.time_epoch >= "), t0);
    d = cat_time(cat(d, " && frame.time_epoch <= "), t1);
    if (c->overlaps && v->tcp != NULL)
        d = cat_seq_space(d, &v->tcp->ep[TL_ROLE_CLIENT], v6, a, cp, b, sp);
    *d = '\0';
    return buf;
}

/*
 * Written straight into text by the streaming writer: this runs once per
 * connection, and building then dumping a jansson tree cost many times the
 * reading of the capture. Times are fixed-point decimals (tl_jw_usec),
 * which read back as the same doubles as (double)us / 1e6.
 * tests/unit/test_json_writer.c holds every line to the jansson object
 * tests/unit/json_ref.c builds for the same connection, key for key and in
 * the same order, on every connection of every capture in the tree.
 */
static void w_pair(struct tl_jw *w, const char *key, uint64_t client, uint64_t server)
{
    tl_jw_key(w, key);
    tl_jw_obj_begin(w);
    TL_JW_KEY(w, "client");
    tl_jw_int(w, (int64_t)client);
    TL_JW_KEY(w, "server");
    tl_jw_int(w, (int64_t)server);
    tl_jw_obj_end(w);
}

/* {"<k1>": v1, "<k2>": v2}: states_json() and zeek_json(). */
static void w_strs(struct tl_jw *w, const char *key, const char *k1, const char *v1, const char *k2,
                   const char *v2)
{
    tl_jw_key(w, key);
    tl_jw_obj_begin(w);
    tl_jw_key(w, k1);
    tl_jw_str(w, v1);
    tl_jw_key(w, k2);
    tl_jw_str(w, v2);
    tl_jw_obj_end(w);
}

static void w_endpoint(struct tl_jw *w, const char *key, const struct tl_conn_ends *e,
                       enum tl_role r)
{
    tl_jw_key(w, key);
    tl_jw_obj_begin(w);
    TL_JW_KEY(w, "ip");
    tl_jw_str(w, e->ip[r]);
    TL_JW_KEY(w, "port");
    tl_jw_int(w, e->port[r]);
    tl_jw_obj_end(w);
}

/* tunnel_json(): the tunnel, its outer endpoints by role. */
static void w_tunnel(struct tl_jw *w, const struct tl_conn *c)
{
    const struct tl_tunnel *t = &c->tunnel;
    char a[TL_ADDR_STRLEN], b[TL_ADDR_STRLEN];
    tl_addr_str(c->client_is_a ? &t->outer_src : &t->outer_dst, a, sizeof a);
    tl_addr_str(c->client_is_a ? &t->outer_dst : &t->outer_src, b, sizeof b);
    TL_JW_KEY(w, "tunnel");
    tl_jw_obj_begin(w);
    TL_JW_KEY(w, "type");
    tl_jw_str(w, tl_report_tunnel_name(t->type));
    if (t->has_id) {
        TL_JW_KEY(w, "id");
        tl_jw_int(w, t->id);
    }
    TL_JW_KEY(w, "outer");
    tl_jw_obj_begin(w);
    TL_JW_KEY(w, "client");
    tl_jw_str(w, a);
    TL_JW_KEY(w, "server");
    tl_jw_str(w, b);
    tl_jw_obj_end(w);
    TL_JW_KEY(w, "depth");
    tl_jw_int(w, t->depth);
    tl_jw_obj_end(w);
}

/* put_states() and put_via(). */
static void w_states(struct tl_jw *w, const struct tl_event *e)
{
    static const char *const role[2] = {"client", "server"};
    TL_JW_KEY(w, "client");
    tl_jw_str(w, tl_ep_state_name(e->client));
    TL_JW_KEY(w, "server");
    tl_jw_str(w, tl_ep_state_name(e->server));
    if (e->via[0][0] == 0 && e->via[1][0] == 0)
        return;
    TL_JW_KEY(w, "via");
    tl_jw_obj_begin(w);
    for (int r = 0; r < 2; r++) {
        if (e->via[r][0] == 0)
            continue;
        tl_jw_key(w, role[r]);
        tl_jw_arr_begin(w);
        for (int i = 0; i < 2 && e->via[r][i] != 0; i++)
            tl_jw_str(w, tl_ep_state_name(e->via[r][i]));
        tl_jw_arr_end(w);
    }
    tl_jw_obj_end(w);
}

/* event_json(), packet_fields() and summary_fields(). */
static void w_event(struct tl_jw *w, const struct tl_timeline *t, const struct tl_event *e)
{
    tl_jw_obj_begin(w);
    TL_JW_KEY(w, "ts");
    tl_jw_usec(w, e->ts);
    if (e->kind == TL_TL_SUMMARY || e->dir != TL_TL_NONE) {
        TL_JW_KEY(w, "packet");
        tl_jw_int(w, (int64_t)e->pkt);
    }
    if (e->kind == TL_TL_SUMMARY) {
        const struct tl_sum *sum = tl_timeline_sum(t, e);
        TL_JW_KEY(w, "last_ts");
        tl_jw_usec(w, sum->last_ts);
        TL_JW_KEY(w, "last_packet");
        tl_jw_int(w, (int64_t)sum->last_pkt);
        w_pair(w, "packets", sum->packets[0], sum->packets[1]);
        w_pair(w, "bytes", sum->bytes[0], sum->bytes[1]);
    } else if (tl_event_is_icmp(e)) {
        TL_JW_KEY(w, "dir");
        tl_jw_str(w, tl_report_dir_name(e->dir));
        TL_JW_KEY(w, "icmp_type");
        tl_jw_int(w, tl_event_icmp_type(e));
        TL_JW_KEY(w, "icmp_code");
        tl_jw_int(w, tl_event_icmp_code(e));
        TL_JW_KEY(w, "seq");
        tl_jw_int(w, e->seq);
    } else if (e->dir != TL_TL_NONE) {
        char flags[9];
        TL_JW_KEY(w, "dir");
        tl_jw_str(w, tl_report_dir_name(e->dir));
        TL_JW_KEY(w, "flags");
        tl_jw_str(w, tl_tcp_flags_str(e->flags, flags, sizeof flags));
        TL_JW_KEY(w, "seq");
        tl_jw_int(w, e->seq);
        TL_JW_KEY(w, "ack");
        tl_jw_int(w, e->ack);
        TL_JW_KEY(w, "len");
        tl_jw_int(w, e->len);
        TL_JW_KEY(w, "win");
        tl_jw_int(w, e->win);
    }
    w_states(w, e);
    TL_JW_KEY(w, "event");
    tl_jw_str(w, e->kind == TL_TL_SUMMARY ? "segments" : tl_evkind_name((enum tl_evkind)e->kind));
    tl_jw_obj_end(w);
}

/* evidence_json(): each type as its jansson value; what jansson cannot
 * hold (an unknown kind, a NULL string) is null. */
void tl_report_json_evidence(struct tl_jw *w, const struct tl_anomaly *a)
{
    TL_JW_KEY(w, "evidence");
    tl_jw_obj_begin(w);
    for (uint8_t i = 0; i < a->nfields; i++) {
        const struct tl_evfield *f = &a->fields[i];
        tl_jw_key(w, f->key);
        switch (f->kind) {
        case TL_EVK_INT: tl_jw_int(w, (int64_t)f->v.i); break;
        case TL_EVK_REAL: tl_jw_real(w, f->v.r); break;
        case TL_EVK_BOOL: tl_jw_bool(w, f->v.b); break;
        case TL_EVK_STR: tl_jw_str(w, f->v.s); break;
        case TL_EVK_ADDR: {
            char s[TL_ADDR_STRLEN];
            tl_jw_str(w, tl_anomaly_addr_text(a, f, s, sizeof s));
            break;
        }
        case TL_EVK_SERIES:
            tl_jw_arr_begin(w);
            for (uint8_t k = 0; k < a->nseries; k++)
                tl_jw_real(w, a->series[k]);
            tl_jw_arr_end(w);
            break;
        default: tl_jw_null(w); break;
        }
    }
    tl_jw_obj_end(w);
}

static void w_anomaly(struct tl_jw *w, const struct tl_anomaly *a, const struct tl_conn *c)
{
    struct tl_anomaly_text t;
    tl_anomaly_render_conn(a, c, &t);
    tl_jw_obj_begin(w);
    TL_JW_KEY(w, "type");
    tl_jw_str(w, tl_anomaly_id((enum tl_anomaly_type)a->type));
    TL_JW_KEY(w, "severity");
    tl_jw_str(w, tl_sev_name((enum tl_sev)a->severity));
    TL_JW_KEY(w, "endpoint");
    tl_jw_str(w, tl_anom_ep_name((enum tl_anom_ep)a->endpoint));
    TL_JW_KEY(w, "ts");
    tl_jw_usec(w, a->ts);
    TL_JW_KEY(w, "packets");
    tl_jw_arr_begin(w);
    for (uint8_t i = 0; i < a->npkts; i++)
        tl_jw_int(w, (int64_t)a->pkts[i]);
    tl_jw_arr_end(w);
    tl_report_json_evidence(w, a);
    TL_JW_KEY(w, "explanation");
    tl_jw_str(w, t.explanation);
    TL_JW_KEY(w, "suggestion");
    tl_jw_str(w, t.suggestion);
    tl_jw_obj_end(w);
}

static void w_usec(struct tl_jw *w, const char *key, int64_t us)
{
    tl_jw_key(w, key);
    tl_jw_usec(w, us);
}

/* "host_facts": what host-level detection read of it (hosts.h), each
 * member only where it says something; none at all when nothing does. */
static void w_host_facts(struct tl_jw *w, const struct tl_host_conn *h)
{
    if (h == NULL || !(h->syn_seen || h->hs_ack || h->synack_after_ack || h->syns_lost ||
                       h->client_time_wait_ts))
        return;
    TL_JW_KEY(w, "host_facts");
    tl_jw_obj_begin(w);
    if (h->syn_seen) {
        TL_JW_KEY(w, "outcome");
        tl_jw_str(w, tl_host_outcome_name((enum tl_host_outcome)h->outcome));
    }
    if (h->hs_ack)
        w_usec(w, "handshake_ack_ts", h->hs_ack_ts);
    if (h->hs_ack && h->accepted_ts != INT64_MAX)
        w_usec(w, "accepted_ts", h->accepted_ts);
    if (h->synack_after_ack != 0) {
        TL_JW_KEY(w, "synack_after_ack");
        tl_jw_int(w, h->synack_after_ack);
    }
    if (h->syns_lost != 0) {
        TL_JW_KEY(w, "syns_lost");
        tl_jw_int(w, h->syns_lost);
        w_usec(w, "first_syn_ts", h->syn_ts);
    }
    if (h->client_time_wait_ts != 0)
        w_usec(w, "client_time_wait_ts", h->client_time_wait_ts);
    tl_jw_obj_end(w);
}

/* "seq": each side's sequence space, absolute, for the sides that sent
 * anything: where its timeline's seq and ack count from (isn), how far it
 * sent (next), and whether the peer acknowledged its SYN (syn_acked, only
 * when it did: the summary's short-lived connections count it). */
static void w_seq(struct tl_jw *w, const struct tl_tcpstate *tcp)
{
    static const char *const role[2] = {"client", "server"};
    if (tcp == NULL || !(tcp->ep[0].seen || tcp->ep[1].seen))
        return;
    TL_JW_KEY(w, "seq");
    tl_jw_obj_begin(w);
    for (int r = 0; r < 2; r++) {
        if (!tcp->ep[r].seen)
            continue;
        tl_jw_key(w, role[r]);
        tl_jw_obj_begin(w);
        TL_JW_KEY(w, "isn");
        tl_jw_int(w, tcp->ep[r].isn);
        TL_JW_KEY(w, "next");
        tl_jw_int(w, tcp->ep[r].snd_nxt);
        if (tcp->ep[r].syn_acked) {
            TL_JW_KEY(w, "syn_acked");
            tl_jw_bool(w, true);
        }
        tl_jw_obj_end(w);
    }
    tl_jw_obj_end(w);
}

/* Everything after "bytes", in docs/design.md's order. */
static void w_conn_tail(struct tl_jw *w, const struct tl_conn_view *v,
                        const struct tl_conn_ends *ends)
{
    const struct tl_conn *c = v->conn;
    char filter[TL_REPORT_FILTER_MAX];
    if (v->tcp != NULL)
        w_strs(w, "states_at_end", "client", tl_ep_state_name(v->tcp->ep[TL_ROLE_CLIENT].state),
               "server", tl_ep_state_name(v->tcp->ep[TL_ROLE_SERVER].state));
    TL_JW_KEY(w, "end");
    tl_jw_str(w, tl_end_name(c->end));
    if (c->idle_ended) {
        TL_JW_KEY(w, "idle_timeout");
        tl_jw_bool(w, true);
    }
    if (v->zeek != NULL)
        w_strs(w, "zeek", "conn_state", tl_zeek_conn_state(v->zeek), "history",
               tl_zeek_history(v->zeek));
    tl_report_json_rtt(w, v->perf);
    tl_report_json_segments(w, v->perf);
    w_seq(w, v->tcp);
    w_host_facts(w, v->host);
    if (v->released_pkt != 0) {
        TL_JW_KEY(w, "released_packet");
        tl_jw_int(w, (int64_t)v->released_pkt);
    }
    TL_JW_KEY(w, "wireshark_filter");
    tl_jw_str(w, tl_report_wireshark_filter(v, ends, filter, sizeof filter));
    if (v->anomalies != NULL) {
        TL_JW_KEY(w, "anomalies");
        tl_jw_arr_begin(w);
        for (size_t i = 0; i < v->anomalies->n; i++)
            w_anomaly(w, &v->anomalies->a[i], v->conn);
        tl_jw_arr_end(w);
    }
    if (v->timeline != NULL) {
        TL_JW_KEY(w, "timeline");
        tl_jw_arr_begin(w);
        for (uint32_t i = 0; i < v->timeline->n; i++)
            w_event(w, v->timeline, &v->timeline->ev[i]);
        tl_jw_arr_end(w);
        if (v->timeline->dropped != 0) {
            TL_JW_KEY(w, "timeline_dropped");
            tl_jw_int(w, (int64_t)v->timeline->dropped);
        }
    }
}

static void w_conn(struct tl_jw *w, const struct tl_conn_view *v, const char *record)
{
    const struct tl_conn *c = v->conn;
    struct tl_conn_ends ends;
    tl_report_conn_ends(c, &ends);
    tl_jw_obj_begin(w);
    if (record != NULL) {
        TL_JW_KEY(w, "record");
        tl_jw_str(w, record);
    }
    TL_JW_KEY(w, "id");
    tl_jw_int(w, (int64_t)c->id);
    w_endpoint(w, "client", &ends, TL_ROLE_CLIENT);
    w_endpoint(w, "server", &ends, TL_ROLE_SERVER);
    TL_JW_KEY(w, "roles_from");
    tl_jw_str(w, tl_roles_from_name(c->roles_from));
    if (tl_conn_vlan(c) != 0 || tl_conn_vlan_split(c)) {
        TL_JW_KEY(w, "vlan");
        tl_jw_int(w, tl_conn_vlan(c));
    }
    if (tl_conn_vlan_split(c)) {
        TL_JW_KEY(w, "vlan_server");
        tl_jw_int(w, c->vlan[TL_ROLE_SERVER]);
    }
    if (c->tunnel.type != TL_TUN_NONE)
        w_tunnel(w, c);
    TL_JW_KEY(w, "first_ts");
    tl_jw_usec(w, c->first_ts);
    /* The frame that made it: what orders connections first-seen across
     * shards (tcplens merge), as one run numbers them. */
    TL_JW_KEY(w, "first_packet");
    tl_jw_int(w, (int64_t)c->first_pkt);
    TL_JW_KEY(w, "last_ts");
    tl_jw_usec(w, c->last_ts);
    TL_JW_KEY(w, "duration");
    tl_jw_usec(w, c->last_ts - c->first_ts);
    w_pair(w, "packets", c->packets[0], c->packets[1]);
    w_pair(w, "bytes", c->bytes[0], c->bytes[1]);
    if (c->duplicates[0] + c->duplicates[1] > 0)
        w_pair(w, "duplicates", c->duplicates[0], c->duplicates[1]);
    if (c->icmp_errors > 0) {
        TL_JW_KEY(w, "icmp_errors");
        tl_jw_int(w, c->icmp_errors);
    }
    w_conn_tail(w, v, &ends);
    tl_jw_obj_end(w);
}

/* Most connections fit the stack buffer: one malloc each, for the text
 * handed to the reporter core. */
#define CONN_STACK_BYTES 8192

char *tl_report_json_format_conn(const struct tl_conn_view *v, const char *record, size_t *len)
{
    char stack[CONN_STACK_BYTES];
    struct tl_jw w;
    tl_jw_init(&w, stack, sizeof stack);
    w_conn(&w, v, record);
    char *s = tl_jw_dup(&w, len);
    tl_jw_free(&w);
    return s;
}
