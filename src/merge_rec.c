/*
 * tcplens merge reads each merged connection record back into the little
 * of a connection the summaries count: addresses, ports, roles, times,
 * end, states at end, its anomalies' types and severities, the
 * handshake's legs, segments by sender, and what host-level detection
 * reads (host_facts). The record's timeline is not read: it is the
 * longest part, and nothing counted needs it.
 */
#include "merge_rec.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static bool addr_of(json_t *end, struct tl_addr *a, uint16_t *port)
{
    const char *ip = json_string_value(json_object_get(end, "ip"));
    json_int_t p = json_integer_value(json_object_get(end, "port"));
    if (ip == NULL || p < 0 || p > 65535)
        return false;
    *port = (uint16_t)p;
    return tl_addr_parse(ip, a);
}

/* The index of name among names(0..n), or -1. */
static int named(const char *name, const char *(*names)(int), int n)
{
    for (int i = 0; name != NULL && i < n; i++)
        if (strcmp(names(i), name) == 0)
            return i;
    return -1;
}

static const char *roles_name(int i) { return tl_roles_from_name((enum tl_roles_from)i); }
static const char *end_name(int i) { return tl_end_name((enum tl_end)i); }
static const char *state_name(int i) { return tl_ep_state_name((enum tl_ep_state)i); }
static const char *anomaly_name(int i) { return tl_anomaly_id((enum tl_anomaly_type)i); }
static const char *sev_name(int i) { return tl_sev_name((enum tl_sev)i); }
static const char *outcome_name(int i) { return tl_host_outcome_name((enum tl_host_outcome)i); }

bool tl_merge_usec(const void *json, int64_t *us)
{
    const json_t *v = json;
    if (!json_is_number(v))
        return false;
    /* To the nearest: 0.000011 is 10.999… µs as a double. Exact for
     * times within ±4.5e9 s of the epoch. */
    double x = json_number_value(v) * 1e6;
    if (!(x > -9.2e18 && x < 9.2e18))
        return false;
    *us = (int64_t)(x + (x < 0 ? -0.5 : 0.5));
    return true;
}

/* A leg of the handshake in µs; -1 for null. */
static int64_t leg_us(json_t *v)
{
    int64_t us;
    return tl_merge_usec(v, &us) ? us : -1;
}

static uint64_t side(json_t *pair, enum tl_role r)
{
    json_int_t v = json_integer_value(
        json_object_get(pair, r == TL_ROLE_CLIENT ? "client" : "server"));
    return v < 0 ? 0 : (uint64_t)v;
}

static uint64_t count_of(json_t *o, const char *key, uint64_t max)
{
    json_int_t v = json_integer_value(json_object_get(o, key));
    return v < 0 ? 0 : (uint64_t)v > max ? max : (uint64_t)v;
}

/* host_facts (docs/report.md): what is not there is the default. */
static bool read_host(json_t *o, struct tl_merge_rec *rec)
{
    struct tl_host_conn *h = &rec->host;
    const struct tl_conn *c = rec->c;
    memset(h, 0, sizeof *h);
    h->id = c->id;
    h->client = c->key.a;
    h->server = c->key.b;
    h->server_port = c->key.pb;
    h->first_ts = c->first_ts;
    h->accepted_ts = INT64_MAX;
    h->syn_seen = c->roles_from == TL_ROLES_SYN;
    json_t *f = json_object_get(o, "host_facts");
    if (f == NULL)
        return !h->syn_seen; /* an attempt always says what it came to */
    int outcome = named(json_string_value(json_object_get(f, "outcome")), outcome_name,
                        TL_HOST_NOUTCOMES);
    if (h->syn_seen && outcome < 0)
        return false;
    h->outcome = (uint8_t)(outcome < 0 ? 0 : outcome);
    json_t *v;
    if ((v = json_object_get(f, "handshake_ack_ts")) != NULL) {
        h->hs_ack = true;
        if (!tl_merge_usec(v, &h->hs_ack_ts))
            return false;
    }
    if ((v = json_object_get(f, "accepted_ts")) != NULL && !tl_merge_usec(v, &h->accepted_ts))
        return false;
    h->synack_after_ack = (uint32_t)count_of(f, "synack_after_ack", UINT32_MAX);
    h->syns_lost = (uint8_t)count_of(f, "syns_lost", 3);
    if (h->syns_lost != 0 && !tl_merge_usec(json_object_get(f, "first_syn_ts"), &h->syn_ts))
        return false;
    if ((v = json_object_get(f, "client_time_wait_ts")) != NULL &&
        !tl_merge_usec(v, &h->client_time_wait_ts))
        return false;
    return true;
}

/* Its anomalies' types and severities. */
static bool read_anomalies(json_t *o, struct tl_anomaly_list *an)
{
    json_t *list = json_object_get(o, "anomalies"), *a;
    size_t i;
    json_array_foreach(list, i, a)
    {
        int t = named(json_string_value(json_object_get(a, "type")), anomaly_name, TL_AN_NTYPES);
        int sev = named(json_string_value(json_object_get(a, "severity")), sev_name,
                        TL_SEV_NLEVELS);
        if (t < 0 || sev < 0)
            return false;
        struct tl_anomaly *x = tl_anomaly_add(an, (enum tl_anomaly_type)t, TL_AEP_CONNECTION, 0);
        if (x == NULL)
            return false;
        x->severity = (uint8_t)sev;
    }
    return true;
}

static bool read_perf(json_t *o, struct tl_conn_perf *p)
{
    json_t *rtt = json_object_get(o, "rtt"), *seg = json_object_get(o, "segments");
    if (rtt == NULL || seg == NULL)
        return false;
    p->rtt.syn_synack = leg_us(json_object_get(rtt, "syn_synack"));
    p->rtt.synack_ack = leg_us(json_object_get(rtt, "synack_ack"));
    for (int r = 0; r < 2; r++) {
        p->data_segs[r] = (uint32_t)side(json_object_get(seg, "data"), (enum tl_role)r);
        p->retx_segs[r] = (uint32_t)side(json_object_get(seg, "retransmitted"), (enum tl_role)r);
        p->rsts[r] = (uint32_t)side(json_object_get(seg, "rst"), (enum tl_role)r);
    }
    return true;
}

/* The view's parts from one record; false when it lacks one. */
static bool read_record(struct tl_merge_rec *rec, json_t *o, uint64_t id)
{
    struct tl_conn *c = rec->c;
    c->id = id;
    c->client_is_a = true;
    int roles = named(json_string_value(json_object_get(o, "roles_from")), roles_name, 3);
    int end = named(json_string_value(json_object_get(o, "end")), end_name, TL_END_NENDS);
    json_t *st = json_object_get(o, "states_at_end");
    int cs = named(json_string_value(json_object_get(st, "client")), state_name, TL_EP_NSTATES);
    int ss = named(json_string_value(json_object_get(st, "server")), state_name, TL_EP_NSTATES);
    if (!addr_of(json_object_get(o, "client"), &c->key.a, &c->key.pa) ||
        !addr_of(json_object_get(o, "server"), &c->key.b, &c->key.pb) || roles < 0 || end < 0 ||
        cs < 0 || ss < 0 || !tl_merge_usec(json_object_get(o, "first_ts"), &c->first_ts) ||
        !tl_merge_usec(json_object_get(o, "last_ts"), &c->last_ts))
        return false;
    c->roles_from = (uint8_t)roles;
    c->end = (uint8_t)end;
    c->first_pkt = count_of(o, "first_packet", UINT64_MAX);
    json_t *pk = json_object_get(o, "packets"), *by = json_object_get(o, "bytes");
    for (int r = 0; r < 2; r++) {
        c->packets[r] = side(pk, (enum tl_role)r);
        c->bytes[r] = side(by, (enum tl_role)r);
    }
    rec->tcp.ep[TL_ROLE_CLIENT].state = (uint8_t)cs;
    rec->tcp.ep[TL_ROLE_SERVER].state = (uint8_t)ss;
    rec->v.released_pkt = count_of(o, "released_packet", UINT64_MAX);
    return read_anomalies(o, &rec->an) && read_perf(o, &rec->perf) && read_host(o, rec);
}

/* The record without its timeline, the longest part and one nothing
 * counted reads: a third of the time to read. */
static json_t *load_head(const char *line, size_t len)
{
    const char *t = strstr(line, ",\"timeline\":");
    if (t == NULL)
        return json_loadb(line, len, 0, NULL);
    size_t n = (size_t)(t - line);
    char *head = malloc(n + 1);
    if (head == NULL)
        return NULL;
    memcpy(head, line, n);
    head[n] = '}';
    json_t *o = json_loadb(head, n + 1, 0, NULL);
    free(head);
    return o;
}

bool tl_merge_rec_read(struct tl_merge_rec *rec, const char *line, size_t len, uint64_t id)
{
    struct tl_anomaly_list an = rec->an;
    struct tl_conn *c = rec->c != NULL ? rec->c : malloc(sizeof *c);
    an.n = 0;
    an.failed = false;
    memset(rec, 0, sizeof *rec);
    rec->an = an;
    rec->c = c;
    if (c == NULL)
        return false;
    memset(c, 0, sizeof *c);
    json_t *o = load_head(line, len);
    bool ok = o != NULL && read_record(rec, o, id);
    json_decref(o);
    uint64_t released = rec->v.released_pkt;
    rec->v = (struct tl_conn_view){rec->c,   &rec->tcp,  NULL,       NULL,
                                   &rec->an, &rec->perf, &rec->host, released};
    return ok;
}

void tl_merge_rec_free(struct tl_merge_rec *rec)
{
    tl_anomaly_list_free(&rec->an);
    free(rec->c);
}
