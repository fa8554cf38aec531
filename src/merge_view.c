/*
 * A connection record read back into the whole view tcplens wrote it
 * from (merge_view.h): tl_report_json_format_conn() on what this reads
 * gives the record's line again, byte for byte (tests/merge-view.sh, on
 * every capture in the tree); or all but its timeline, which only the
 * reports that print connections read (tl_merge_view_read_head()). The
 * timeline and the anomalies are read in merge_view_events.c.
 *
 * Each part is read as the writer (report_json_conn.c) wrote it, and what
 * the writer leaves out when it says nothing (vlan, duplicates, a
 * tunnel's id, host_facts' members) is what makes it say nothing. The
 * text is untrusted: every number is range-checked before it is stored,
 * every name must be one tcplens uses, every array fits its room.
 */
#include "merge_view.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "merge_view_int.h"
#include "report_int.h"

/* Distinct evidence keys and strings kept at once: tcplens writes a few
 * dozen; a stream of ever new ones is refused, not kept. */
#define MV_STRS_MAX 1024
#define MV_STR_LEN 256

/* Evidence keys and strings, kept for mv's life: a reporter may keep a
 * copy of an anomaly (the groups' example) past the next record, and
 * tl_evfield says its strings outlive it. */
struct mv_strs {
    char *s[MV_STRS_MAX];
    size_t n;
};

const char *mv_intern(struct tl_merge_view *mv, const char *s)
{
    if (mv->strs == NULL && (mv->strs = calloc(1, sizeof *mv->strs)) == NULL)
        return NULL;
    struct mv_strs *t = mv->strs;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->s[i], s) == 0)
            return t->s[i];
    size_t n = strlen(s);
    /* Too many, or too long for a key or a word of evidence. */
    if (t->n >= MV_STRS_MAX || n >= MV_STR_LEN)
        return NULL;
    char *d = malloc(n + 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, n + 1);
    t->s[t->n++] = d;
    return d;
}

/* ---- Values ---- */

const char *mv_str_of(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* An integer member in [lo, hi]; absent or anything else is false. */
bool mv_int_of(json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        return false;
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return false;
    *out = (int64_t)x;
    return true;
}

bool mv_u64_of(json_t *o, const char *key, uint64_t *out)
{
    int64_t x;
    if (!mv_int_of(o, key, 0, INT64_MAX, &x))
        return false;
    *out = (uint64_t)x;
    return true;
}

bool mv_u32_of(json_t *o, const char *key, uint32_t *out)
{
    int64_t x;
    if (!mv_int_of(o, key, 0, UINT32_MAX, &x))
        return false;
    *out = (uint32_t)x;
    return true;
}

/* Seconds as tl_jw_usec() writes them, to the µs they were: the one
 * whose quotient by 1e6 is the double read, as the writer's digits read
 * back as the nearest double to us / 1e6. */
bool mv_usec_val(json_t *v, int64_t *us)
{
    if (!json_is_number(v))
        return false;
    double d = json_number_value(v), x = d * 1e6;
    /* Past 2^53 µs (the year 2255) the writer's seconds are a double's,
     * not the µs: nothing reads back as it was. */
    if (!(x >= -9007199254740992.0 && x <= 9007199254740992.0))
        return false;
    int64_t c = (int64_t)(x + (x < 0 ? -0.5 : 0.5));
    for (int64_t k = c - 1; k <= c + 1; k++)
        if ((double)k / 1e6 == d) {
            *us = k;
            return true;
        }
    *us = c;
    return true;
}

bool mv_usec_of(json_t *o, const char *key, int64_t *us)
{
    return mv_usec_val(json_object_get(o, key), us);
}

uint64_t mv_count_of(json_t *o, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(o, key));
    return v > 0 ? (uint64_t)v : 0;
}

int64_t mv_time_of(json_t *o, const char *key)
{
    int64_t us = 0;
    return mv_usec_of(o, key, &us) ? us : 0;
}

/* {"client": x, "server": y} as two counts, each at most max. */
bool mv_pair_of(json_t *o, const char *key, uint64_t max, uint64_t out[2])
{
    json_t *p = json_object_get(o, key);
    int64_t c, s;
    if (!mv_int_of(p, "client", 0, (int64_t)max, &c) ||
        !mv_int_of(p, "server", 0, (int64_t)max, &s))
        return false;
    out[0] = (uint64_t)c;
    out[1] = (uint64_t)s;
    return true;
}

bool mv_pair32_of(json_t *o, const char *key, uint32_t out[2])
{
    uint64_t v[2];
    if (!mv_pair_of(o, key, UINT32_MAX, v))
        return false;
    out[0] = (uint32_t)v[0];
    out[1] = (uint32_t)v[1];
    return true;
}

/* The index of name among names(0..n), or -1. */
int mv_named(const char *name, const char *(*names)(int), int n)
{
    for (int i = 0; name != NULL && i < n; i++)
        if (strcmp(names(i), name) == 0)
            return i;
    return -1;
}

static const char *roles_name(int i) { return tl_roles_from_name((enum tl_roles_from)i); }
static const char *end_name(int i) { return tl_end_name((enum tl_end)i); }
const char *mv_state_name(int i) { return tl_ep_state_name((enum tl_ep_state)i); }
static const char *outcome_name(int i) { return tl_host_outcome_name((enum tl_host_outcome)i); }
static const char *tunnel_name(int i) { return tl_report_tunnel_name((uint8_t)i); }

int mv_state_of(json_t *o, const char *key)
{
    return mv_named(mv_str_of(o, key), mv_state_name, TL_EP_NSTATES);
}

/* ---- The connection ---- */

/* Orders endpoints as the flow table's key does (flow.c). */
static int ep_cmp(const struct tl_addr *a, uint16_t pa, const struct tl_addr *b, uint16_t pb)
{
    int c = tl_addr_cmp(a, b);
    return c != 0 ? c : (pa > pb) - (pa < pb);
}

static bool endpoint_of(json_t *o, const char *key, struct tl_addr *a, uint16_t *port)
{
    json_t *e = json_object_get(o, key);
    const char *ip = mv_str_of(e, "ip");
    int64_t p;
    if (ip == NULL || !mv_int_of(e, "port", 0, 65535, &p) || !tl_addr_parse(ip, a))
        return false;
    *port = (uint16_t)p;
    return true;
}

/* The client and server into the canonical key, as the flow table keys
 * their segments. */
static bool read_ends(struct tl_conn *c, json_t *o)
{
    struct tl_addr ca, sa;
    uint16_t cp, sp;
    if (!endpoint_of(o, "client", &ca, &cp) || !endpoint_of(o, "server", &sa, &sp) ||
        ca.family != sa.family)
        return false;
    c->client_is_a = ep_cmp(&ca, cp, &sa, sp) <= 0;
    c->key.a = c->client_is_a ? ca : sa;
    c->key.b = c->client_is_a ? sa : ca;
    c->key.pa = c->client_is_a ? cp : sp;
    c->key.pb = c->client_is_a ? sp : cp;
    return true;
}

/* "vlan" (the client's, else the server's) and "vlan_server" when the
 * server's differs: the ids and which roles carried them. */
static bool read_vlan(struct tl_conn *c, json_t *o)
{
    int64_t v = 0, s;
    bool has_v = json_object_get(o, "vlan") != NULL;
    if (has_v && !mv_int_of(o, "vlan", 0, UINT32_MAX, &v))
        return false;
    if (json_object_get(o, "vlan_server") != NULL) {
        if (!has_v || !mv_int_of(o, "vlan_server", 0, UINT32_MAX, &s) || s == v)
            return false;
        c->vlan[TL_ROLE_CLIENT] = (uint32_t)v;
        c->vlan[TL_ROLE_SERVER] = (uint32_t)s;
        c->vlan_seen = 3;
        return true;
    }
    /* Written only when not 0. */
    if (has_v && v == 0)
        return false;
    c->vlan[TL_ROLE_CLIENT] = c->vlan[TL_ROLE_SERVER] = (uint32_t)v;
    c->vlan_seen = has_v ? 1 : 0;
    return true;
}

static bool read_tunnel(struct tl_conn *c, json_t *o)
{
    json_t *t = json_object_get(o, "tunnel");
    if (t == NULL)
        return true;
    struct tl_tunnel *tu = &c->tunnel;
    int type = mv_named(mv_str_of(t, "type"), tunnel_name, TL_TUN_NTYPES);
    json_t *outer = json_object_get(t, "outer");
    const char *oc = mv_str_of(outer, "client"), *os = mv_str_of(outer, "server");
    int64_t depth, id;
    struct tl_addr ac, as;
    if (type <= TL_TUN_NONE || oc == NULL || os == NULL || !tl_addr_parse(oc, &ac) ||
        !tl_addr_parse(os, &as) || !mv_int_of(t, "depth", 0, UINT8_MAX, &depth))
        return false;
    tu->type = (uint8_t)type;
    tu->depth = (uint8_t)depth;
    if (json_object_get(t, "id") != NULL) {
        if (!mv_int_of(t, "id", 0, UINT32_MAX, &id))
            return false;
        tu->has_id = true;
        tu->id = (uint32_t)id;
    }
    tu->outer_src = c->client_is_a ? ac : as;
    tu->outer_dst = c->client_is_a ? as : ac;
    return true;
}

/* "duplicates" and "icmp_errors", written only when not 0. */
static bool read_counts(struct tl_conn *c, json_t *o)
{
    if (json_object_get(o, "duplicates") != NULL &&
        (!mv_pair_of(o, "duplicates", INT64_MAX, c->duplicates) ||
         c->duplicates[0] + c->duplicates[1] == 0))
        return false;
    if (json_object_get(o, "icmp_errors") != NULL &&
        (!mv_u32_of(o, "icmp_errors", &c->icmp_errors) || c->icmp_errors == 0))
        return false;
    return mv_pair_of(o, "packets", INT64_MAX, c->packets) &&
           mv_pair_of(o, "bytes", INT64_MAX, c->bytes);
}

static bool read_conn(struct tl_conn *c, json_t *o)
{
    int roles = mv_named(mv_str_of(o, "roles_from"), roles_name, 3);
    int end = mv_named(mv_str_of(o, "end"), end_name, TL_END_NENDS);
    if (roles < 0 || end < 0 || !mv_u64_of(o, "id", &c->id) || !read_ends(c, o) ||
        !read_vlan(c, o) || !read_tunnel(c, o) || !mv_usec_of(o, "first_ts", &c->first_ts) ||
        !mv_usec_of(o, "last_ts", &c->last_ts) || !mv_u64_of(o, "first_packet", &c->first_pkt))
        return false;
    c->roles_from = (uint8_t)roles;
    c->end = (uint8_t)end;
    json_t *idle = json_object_get(o, "idle_timeout");
    if (idle != NULL && (!json_is_true(idle) || end != TL_END_TIMEOUT))
        return false;
    c->idle_ended = idle != NULL;
    return read_counts(c, o);
}

/* ---- States, Zeek, the Wireshark filter ---- */

/* Zeek endpoint states (originator, responder) that give each conn_state
 * (zeek.c's tl_zeek_conn_state()): RSTOS0 needs its history too. */
static const struct {
    const char *name;
    uint8_t orig, resp;
} zeek_states[] = {
    {"SF", TL_ZEEK_CLOSED, TL_ZEEK_CLOSED},           {"S0", TL_ZEEK_SYN_SENT, TL_ZEEK_INACTIVE},
    {"S1", TL_ZEEK_ESTABLISHED, TL_ZEEK_ESTABLISHED}, {"SH", TL_ZEEK_CLOSED, TL_ZEEK_INACTIVE},
    {"S2", TL_ZEEK_CLOSED, TL_ZEEK_ESTABLISHED},      {"SHR", TL_ZEEK_INACTIVE, TL_ZEEK_CLOSED},
    {"S3", TL_ZEEK_ESTABLISHED, TL_ZEEK_CLOSED},      {"OTH", TL_ZEEK_INACTIVE, TL_ZEEK_INACTIVE},
    {"REJ", TL_ZEEK_SYN_SENT, TL_ZEEK_RESET},         {"RSTR", TL_ZEEK_ESTABLISHED, TL_ZEEK_RESET},
    {"RSTRH", TL_ZEEK_INACTIVE, TL_ZEEK_RESET},       {"RSTO", TL_ZEEK_RESET, TL_ZEEK_ESTABLISHED},
    {"RSTOS0", TL_ZEEK_RESET, TL_ZEEK_INACTIVE},
};

static bool read_zeek(struct tl_zeek *z, json_t *zo)
{
    const char *cs = mv_str_of(zo, "conn_state"), *h = mv_str_of(zo, "history");
    if (cs == NULL || h == NULL || strlen(h) >= TL_ZEEK_HISTORY_MAX)
        return false;
    tl_zeek_init(z);
    z->orig_is_a = true;
    memcpy(z->history, h, strlen(h) + 1);
    z->hlen = (uint8_t)strlen(h);
    for (size_t i = 0; i < sizeof zeek_states / sizeof zeek_states[0]; i++)
        if (strcmp(zeek_states[i].name, cs) == 0) {
            z->ep[0].state = zeek_states[i].orig;
            z->ep[1].state = zeek_states[i].resp;
            /* RSTOS0 is OTH unless the history shows it. */
            return strcmp(tl_zeek_conn_state(z), cs) == 0;
        }
    return false;
}

/* seq (report_json_conn.c's w_seq()): the sides that sent anything. */
static bool read_seq(struct tl_tcpstate *tcp, json_t *o)
{
    static const char *const role[2] = {"client", "server"};
    json_t *sq = json_object_get(o, "seq");
    if (sq == NULL)
        return true;
    if (!json_is_object(sq))
        return false;
    for (int r = 0; r < 2; r++) {
        json_t *side = json_object_get(sq, role[r]), *acked;
        if (side == NULL)
            continue;
        struct tl_ep *ep = &tcp->ep[r];
        if (!mv_u32_of(side, "isn", &ep->isn) || !mv_u32_of(side, "next", &ep->snd_nxt))
            return false;
        ep->seen = true;
        if ((acked = json_object_get(side, "syn_acked")) != NULL) {
            if (!json_is_true(acked))
                return false;
            ep->syn_acked = true;
        }
    }
    return true;
}

/* states_at_end, seq, zeek and whether the filter names a sequence space. */
static bool read_states(struct tl_merge_view *mv, json_t *o)
{
    json_t *st = json_object_get(o, "states_at_end"), *zo = json_object_get(o, "zeek");
    const char *filter = mv_str_of(o, "wireshark_filter");
    if (filter == NULL)
        return false;
    if (st != NULL) {
        int cs = mv_state_of(st, "client"), ss = mv_state_of(st, "server");
        if (cs < 0 || ss < 0)
            return false;
        mv->tcp.ep[TL_ROLE_CLIENT].state = (uint8_t)cs;
        mv->tcp.ep[TL_ROLE_SERVER].state = (uint8_t)ss;
        mv->v.tcp = &mv->tcp;
        if (!read_seq(&mv->tcp, o))
            return false;
        /* Another connection lived on the 4-tuple at the same time: the
         * filter names the client's sequence space (seq holds it). */
        mv->c->overlaps = strstr(filter, "tcp.seq_raw >= ") != NULL;
    }
    if (zo != NULL) {
        if (!read_zeek(&mv->zeek, zo))
            return false;
        mv->v.zeek = &mv->zeek;
    }
    return true;
}

/* ---- Round trips, segments ---- */

/* A leg in µs; -1 for null. */
static bool leg_of(json_t *o, const char *key, int64_t *us)
{
    json_t *v = json_object_get(o, key);
    if (json_is_null(v)) {
        *us = -1;
        return true;
    }
    return mv_usec_val(v, us) && *us >= 0;
}

static bool stats_of(json_t *o, const char *key, struct tl_rtt_stats *s)
{
    json_t *so = json_object_get(o, key);
    if (!mv_u32_of(so, "samples", &s->n))
        return false;
    if (s->n == 0)
        return json_is_null(json_object_get(so, "min")) &&
               json_is_null(json_object_get(so, "srtt")) &&
               json_is_null(json_object_get(so, "max"));
    return mv_usec_of(so, "min", &s->min) && mv_usec_of(so, "srtt", &s->srtt) &&
           mv_usec_of(so, "max", &s->max);
}

static bool read_perf(struct tl_merge_view *mv, json_t *o)
{
    json_t *rtt = json_object_get(o, "rtt"), *seg = json_object_get(o, "segments");
    struct tl_conn_perf *p = &mv->perf;
    if (rtt == NULL && seg == NULL)
        return true;
    if (rtt == NULL || seg == NULL)
        return false;
    if (!leg_of(rtt, "syn_synack", &p->rtt.syn_synack) ||
        !leg_of(rtt, "synack_ack", &p->rtt.synack_ack) ||
        !stats_of(rtt, "client_to_server", &p->rtt.data[TL_ROLE_CLIENT]) ||
        !stats_of(rtt, "server_to_client", &p->rtt.data[TL_ROLE_SERVER]) ||
        !mv_pair32_of(seg, "data", p->data_segs) ||
        !mv_pair32_of(seg, "retransmitted", p->retx_segs) || !mv_pair32_of(seg, "rst", p->rsts))
        return false;
    mv->v.perf = p;
    return true;
}

/* ---- Host facts ---- */

/* host_facts (report_json_conn.c's w_host_facts()): each member written
 * only where it says something. */
static bool read_host_facts(struct tl_host_conn *h, json_t *f)
{
    json_t *v;
    const char *out = mv_str_of(f, "outcome");
    if (out != NULL) {
        int k = mv_named(out, outcome_name, TL_HOST_NOUTCOMES);
        if (k < 0)
            return false;
        h->syn_seen = true;
        h->outcome = (uint8_t)k;
    }
    if ((v = json_object_get(f, "handshake_ack_ts")) != NULL) {
        h->hs_ack = true;
        if (!mv_usec_val(v, &h->hs_ack_ts))
            return false;
    }
    if ((v = json_object_get(f, "accepted_ts")) != NULL &&
        (!h->hs_ack || !mv_usec_val(v, &h->accepted_ts) || h->accepted_ts == INT64_MAX))
        return false;
    if (json_object_get(f, "synack_after_ack") != NULL &&
        (!mv_u32_of(f, "synack_after_ack", &h->synack_after_ack) || h->synack_after_ack == 0))
        return false;
    if (json_object_get(f, "syns_lost") != NULL) {
        int64_t n;
        if (!mv_int_of(f, "syns_lost", 1, UINT8_MAX, &n) ||
            !mv_usec_of(f, "first_syn_ts", &h->syn_ts))
            return false;
        h->syns_lost = (uint8_t)n;
    }
    if ((v = json_object_get(f, "client_time_wait_ts")) != NULL &&
        (!mv_usec_val(v, &h->client_time_wait_ts) || h->client_time_wait_ts == 0))
        return false;
    return h->syn_seen || h->hs_ack || h->synack_after_ack || h->syns_lost ||
           h->client_time_wait_ts;
}

/* What host-level detection read (hosts.h). A record without host_facts
 * whose roles come from a SYN was written without them: no part. */
static bool read_host(struct tl_merge_view *mv, json_t *o)
{
    struct tl_host_conn *h = &mv->host;
    const struct tl_conn *c = mv->c;
    tl_host_conn_of(c, h);
    json_t *f = json_object_get(o, "host_facts");
    if (f == NULL) {
        if (c->roles_from != TL_ROLES_SYN)
            mv->v.host = h;
        return true;
    }
    mv->v.host = h;
    return read_host_facts(h, f);
}

/* ---- The record ---- */

static bool read_record(struct tl_merge_view *mv, json_t *o)
{
    const char *rec = mv_str_of(o, "record");
    if (!json_is_object(o) || rec == NULL || strcmp(rec, "connection") != 0 ||
        !read_conn(mv->c, o) || !read_states(mv, o) || !read_perf(mv, o) || !read_host(mv, o))
        return false;
    if (json_object_get(o, "released_packet") != NULL &&
        (!mv_u64_of(o, "released_packet", &mv->v.released_pkt) || mv->v.released_pkt == 0))
        return false;
    return mv_read_anomalies(mv, o);
}

void tl_merge_view_init(struct tl_merge_view *mv) { memset(mv, 0, sizeof *mv); }

/* Empties the parts, keeping what they allocated; false short of memory. */
static bool reset(struct tl_merge_view *mv)
{
    struct tl_conn *c = mv->c != NULL ? mv->c : malloc(sizeof *c);
    if (c == NULL)
        return false;
    memset(c, 0, sizeof *c);
    struct tl_timeline tl = mv->tl;
    struct tl_anomaly_list an = mv->an;
    struct tl_anomaly_text *texts = mv->texts;
    size_t texts_cap = mv->texts_cap;
    struct mv_strs *strs = mv->strs;
    memset(mv, 0, sizeof *mv);
    mv->tl.ev = tl.ev;
    mv->tl.cap = tl.cap;
    mv->tl.sum = tl.sum;
    mv->tl.sumcap = tl.sumcap;
    mv->an.a = an.a;
    mv->an.cap = an.cap;
    mv->texts = texts;
    mv->texts_cap = texts_cap;
    mv->strs = strs;
    mv->c = c;
    mv->v.conn = c;
    return true;
}

/* The record without its timeline (the longest part: a third of the time
 * to parse), closed where the timeline began. Inside a JSON string a quote
 * is escaped, so ,"timeline": can only be the member. NULL short of
 * memory or when the rest is not JSON. */
static json_t *load_head(const char *line, size_t len)
{
    const char *t = memmem(line, len, ",\"timeline\":", strlen(",\"timeline\":"));
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

static bool read_line(struct tl_merge_view *mv, const char *line, size_t len, bool whole)
{
    if (!reset(mv))
        return false;
    json_t *o = whole ? json_loadb(line, len, 0, NULL) : load_head(line, len);
    bool ok = o != NULL && read_record(mv, o) && (!whole || mv_read_timeline(mv, o));
    json_decref(o);
    return ok;
}

bool tl_merge_view_read(struct tl_merge_view *mv, const char *line, size_t len)
{
    return read_line(mv, line, len, true);
}

bool tl_merge_view_read_head(struct tl_merge_view *mv, const char *line, size_t len)
{
    return read_line(mv, line, len, false);
}

void tl_merge_view_free(struct tl_merge_view *mv)
{
    free(mv->c);
    free(mv->tl.ev);
    free(mv->tl.sum);
    tl_anomaly_list_free(&mv->an);
    free(mv->texts);
    if (mv->strs != NULL)
        for (size_t i = 0; i < mv->strs->n; i++)
            free(mv->strs->s[i]);
    free(mv->strs);
    memset(mv, 0, sizeof *mv);
}
