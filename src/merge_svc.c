/*
 * tcplens merge's services and client hosts: each merged connection
 * record read back into the little of a connection the service tables
 * count (addresses, ports, roles, end, states at end, refused, the
 * handshake's legs, segments by sender), fed to the same tables one run
 * fills (services.h), then written as one run writes its service and host
 * records. Counts and quantiles do not depend on the order connections
 * come in; the first 1,024 services and hosts seen are kept, which in a
 * run is the order connections end and here first-seen order, so past
 * that cap the two may keep different ones.
 */
#include "merge_svc.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "json_writer.h"
#include "report_int.h"
#include "tcplens/services.h"

struct tl_merge_svc {
    struct report_summary sum; /* only its svc is used */
    struct tl_services svc;
    struct tl_tcpstate tcp;
    bool bad; /* a record could not be read: the tables would be wrong */
};

struct tl_merge_svc *tl_merge_svc_new(void)
{
    struct tl_merge_svc *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    tl_services_init(&m->svc, 0);
    m->sum.svc = &m->svc;
    return m;
}

void tl_merge_svc_free(struct tl_merge_svc *m)
{
    if (m == NULL)
        return;
    tl_services_free(&m->svc);
    free(m);
}

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

/* Seconds as written (six decimals at most) to µs; -1 for null. */
static int64_t leg_us(json_t *v)
{
    if (!json_is_number(v))
        return -1;
    double us = json_number_value(v) * 1e6; /* to the nearest: 0.000011 is 10.999… */
    return (int64_t)(us + (us < 0 ? -0.5 : 0.5));
}

static uint32_t side(json_t *pair, enum tl_role r)
{
    json_int_t v = json_integer_value(
        json_object_get(pair, r == TL_ROLE_CLIENT ? "client" : "server"));
    return v < 0 || v > UINT32_MAX ? 0 : (uint32_t)v;
}

/* The view's parts from one record; false when it lacks one. */
static bool read_record(struct tl_merge_svc *m, json_t *o, uint64_t id, struct tl_conn *c,
                        struct tl_anomaly_list *an, struct tl_conn_perf *p)
{
    c->id = id;
    c->client_is_a = true;
    int roles = named(json_string_value(json_object_get(o, "roles_from")), roles_name, 3);
    int end = named(json_string_value(json_object_get(o, "end")), end_name, TL_END_NENDS);
    json_t *st = json_object_get(o, "states_at_end");
    int cs = named(json_string_value(json_object_get(st, "client")), state_name, TL_EP_NSTATES);
    int ss = named(json_string_value(json_object_get(st, "server")), state_name, TL_EP_NSTATES);
    if (!addr_of(json_object_get(o, "client"), &c->key.a, &c->key.pa) ||
        !addr_of(json_object_get(o, "server"), &c->key.b, &c->key.pb) || roles < 0 || end < 0 ||
        cs < 0 || ss < 0)
        return false;
    c->roles_from = (uint8_t)roles;
    c->end = (uint8_t)end;
    json_t *pk = json_object_get(o, "packets");
    c->packets[TL_ROLE_CLIENT] = side(pk, TL_ROLE_CLIENT);
    c->packets[TL_ROLE_SERVER] = side(pk, TL_ROLE_SERVER);
    m->tcp.ep[TL_ROLE_CLIENT].state = (uint8_t)cs;
    m->tcp.ep[TL_ROLE_SERVER].state = (uint8_t)ss;
    /* Of the anomalies, the tables count refused ones. */
    json_t *list = json_object_get(o, "anomalies"), *a;
    size_t i;
    json_array_foreach(list, i, a)
    {
        int t = named(json_string_value(json_object_get(a, "type")), anomaly_name, TL_AN_NTYPES);
        if (t == TL_AN_REFUSED && tl_anomaly_add(an, TL_AN_REFUSED, TL_AEP_SERVER, 0) == NULL)
            return false;
    }
    json_t *rtt = json_object_get(o, "rtt"), *seg = json_object_get(o, "segments");
    if (rtt == NULL || seg == NULL)
        return false;
    p->rtt.syn_synack = leg_us(json_object_get(rtt, "syn_synack"));
    p->rtt.synack_ack = leg_us(json_object_get(rtt, "synack_ack"));
    for (int r = 0; r < 2; r++) {
        p->data_segs[r] = side(json_object_get(seg, "data"), (enum tl_role)r);
        p->retx_segs[r] = side(json_object_get(seg, "retransmitted"), (enum tl_role)r);
        p->rsts[r] = side(json_object_get(seg, "rst"), (enum tl_role)r);
    }
    return true;
}

/* The record without its timeline, the longest part and one the tables
 * do not count: a third of the time to read. */
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

bool tl_merge_svc_add(struct tl_merge_svc *m, const char *line, size_t len, uint64_t id)
{
    json_t *o = load_head(line, len);
    struct tl_conn c; /* its ext[] is not used */
    struct tl_anomaly_list an = {0};
    struct tl_conn_perf p;
    memset(&c, 0, sizeof c);
    memset(&p, 0, sizeof p);
    bool ok = o != NULL && read_record(m, o, id, &c, &an, &p);
    if (ok) {
        struct tl_conn_view v = {&c, &m->tcp, NULL, NULL, &an, &p};
        tl_services_add(&m->svc, &v);
    }
    m->bad |= !ok;
    tl_anomaly_list_free(&an);
    json_decref(o);
    return ok;
}

/* One record line: {"record":"service",…} or {"record":"host",…}. */
static bool write_line(struct tl_jw *w, const struct tl_merge_svc *m, bool service, size_t i,
                       FILE *out)
{
    tl_jw_reset(w);
    tl_jw_obj_begin(w);
    TL_JW_KEY(w, "record");
    tl_jw_str(w, service ? "service" : "host");
    tl_report_json_svc_fields(w, &m->sum, service, i);
    tl_jw_obj_end(w);
    return !tl_jw_failed(w) && fwrite(w->buf, 1, w->len, out) == w->len && fputc('\n', out) != EOF;
}

bool tl_merge_svc_capped(const struct tl_merge_svc *m)
{
    return m->svc.svc.untracked != 0 || m->svc.hosts.untracked != 0;
}

bool tl_merge_svc_write(const struct tl_merge_svc *m, FILE *out)
{
    struct tl_jw w;
    tl_jw_init(&w, NULL, 0);
    bool ok = !m->bad && !tl_services_failed(&m->svc);
    for (int k = 0; ok && k < 2; k++) {
        bool service = k == 0;
        size_t n = tl_report_svc_lines(&m->sum, service);
        for (size_t i = 0; ok && i < n; i++)
            ok = write_line(&w, m, service, i, out);
    }
    tl_jw_free(&w);
    return ok;
}
