/* The engine as a whole: how segments group into connections (port reuse,
 * retries, idle timeout, --max-flows, linger) and which roles they get.
 * Each case reads like a capture: one line per segment. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "tap.h"
#include "tcplens/engine.h"

enum { C2S, S2C };

struct rig {
    struct tl_engine *e;
    struct tl_report *r;
    FILE *out;
    uint64_t pkt_no;
    uint16_t cport; /* client port of the 4-tuple in use */
};

static void rig_open(struct rig *g, uint32_t max_flows, int64_t idle_us)
{
    memset(g, 0, sizeof *g);
    g->out = tmpfile();
    struct tl_report_cfg rc = {.format = TL_REPORT_NDJSON, .out = g->out, .reorder = true};
    g->r = tl_report_new(&rc);
    struct tl_engine_cfg ec = {.idle_timeout_us = idle_us,
                               .linger_us = TL_DEFAULT_LINGER_US,
                               .max_flows = max_flows,
                               .reports = &g->r,
                               .nreports = 1};
    g->e = tl_engine_new(&ec);
    if (g->out == NULL || g->r == NULL || g->e == NULL)
        abort();
    g->cport = 40000;
}

/* One segment at ms milliseconds, on 10.0.0.1:cport <-> 10.0.0.2:80. */
static void seg(struct rig *g, int64_t ms, int dir, uint8_t flags, uint32_t seq, uint32_t ack,
                size_t len)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    pkt_init(&p, buf, sizeof buf);
    pkt_eth(&p, PKT_ETH_IPV4);
    uint32_t a = PKT_V4(10, 0, 0, 1), b = PKT_V4(10, 0, 0, 2);
    pkt_ipv4(&p, dir == C2S ? a : b, dir == C2S ? b : a, PKT_PROTO_TCP, 0);
    struct pkt_tcp t = {.sport = dir == C2S ? g->cport : 80,
                        .dport = dir == C2S ? 80 : g->cport,
                        .seq = seq,
                        .ack = ack,
                        .flags = flags,
                        .win = 512,
                        .paylen = len};
    pkt_tcp(&p, &t);
    pkt_finish(&p);
    struct tl_frame f = {1700000000 * TL_USEC_PER_SEC + ms * 1000, (uint32_t)p.len,
                         (uint32_t)p.len, buf, TL_DLT_EN10MB, 0, ++g->pkt_no};
    if (tl_engine_feed(g->e, &f) != TL_OK)
        abort();
}

/* Ends the run; returns the connections as a JSON array (caller frees). */
static json_t *rig_close(struct rig *g, struct tl_capture_info *cap)
{
    if (tl_engine_finish(g->e) != TL_OK)
        abort();
    *cap = *tl_engine_capture(g->e);
    struct tl_run run = {.capture = cap};
    if (tl_report_finish(g->r, &run) != TL_OK)
        abort();
    tl_engine_free(g->e);
    tl_report_free(g->r);
    rewind(g->out);
    json_t *all = json_array();
    char line[4096];
    while (fgets(line, sizeof line, g->out) != NULL)
        json_array_append_new(all, json_loads(line, 0, NULL));
    fclose(g->out);
    return all;
}

static const char *str(json_t *conns, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(conns, i), key));
}

static long long num(json_t *conns, size_t i, const char *key, const char *sub)
{
    json_t *v = json_object_get(json_array_get(conns, i), key);
    return json_integer_value(sub ? json_object_get(v, sub) : v);
}

/* SYN, SYN-ACK, ACK, data each way, FIN from the client first. */
static void full_exchange(struct rig *g, int64_t t0, uint32_t cisn, uint32_t sisn)
{
    seg(g, t0, C2S, TL_TH_SYN, cisn, 0, 0);
    seg(g, t0 + 1, S2C, TL_TH_SYN | TL_TH_ACK, sisn, cisn + 1, 0);
    seg(g, t0 + 2, C2S, TL_TH_ACK, cisn + 1, sisn + 1, 0);
    seg(g, t0 + 3, C2S, TL_TH_ACK | TL_TH_PSH, cisn + 1, sisn + 1, 100);
    seg(g, t0 + 4, S2C, TL_TH_ACK | TL_TH_PSH, sisn + 1, cisn + 101, 300);
    seg(g, t0 + 5, C2S, TL_TH_FIN | TL_TH_ACK, cisn + 101, sisn + 301, 0);
    seg(g, t0 + 6, S2C, TL_TH_FIN | TL_TH_ACK, sisn + 301, cisn + 102, 0);
    seg(g, t0 + 7, C2S, TL_TH_ACK, cisn + 102, sisn + 302, 0);
}

static void test_normal(struct tap *t)
{
    struct rig g;
    struct tl_capture_info cap;
    rig_open(&g, 0, TL_DEFAULT_IDLE_TIMEOUT_US);
    full_exchange(&g, 0, 1000, 5000);
    json_t *c = rig_close(&g, &cap);
    is_int(t, json_array_size(c), 1, "normal: one connection");
    is_str(t, str(c, 0, "end"), "fin", "normal: ended by FIN");
    is_str(t, str(c, 0, "roles_from"), "syn", "normal: roles from the SYN");
    is_int(t, num(c, 0, "packets", "client"), 5, "normal: client packets");
    is_int(t, num(c, 0, "packets", "server"), 3, "normal: server packets");
    is_int(t, num(c, 0, "bytes", "client"), 100, "normal: client payload bytes");
    is_int(t, num(c, 0, "bytes", "server"), 300, "normal: server payload bytes");
    is_int(t, num(c, 0, "client", "port"), 40000, "normal: client port");
    is_int(t, cap.tcp_packets, 8, "normal: 8 TCP packets");
    json_decref(c);
}

static void test_reuse(struct tap *t)
{
    struct rig g;
    struct tl_capture_info cap;
    rig_open(&g, 0, TL_DEFAULT_IDLE_TIMEOUT_US);
    full_exchange(&g, 0, 1000, 5000);
    /* A late retransmitted last ACK still belongs to the first. */
    seg(&g, 2000, C2S, TL_TH_ACK, 1102, 5302, 0);
    full_exchange(&g, 3000, 900000, 7000);
    json_t *c = rig_close(&g, &cap);
    is_int(t, json_array_size(c), 2, "reuse: a new ISN after the close is a new connection");
    is_int(t, num(c, 0, "packets", "client"), 6, "reuse: the late ACK stayed on the first");
    is_int(t, num(c, 1, "id", NULL), 2, "reuse: second id");
    is_str(t, str(c, 1, "end"), "fin", "reuse: second ended by FIN");
    json_decref(c);
}

static void test_refused_retry(struct tap *t)
{
    struct rig g;
    struct tl_capture_info cap;
    rig_open(&g, 0, TL_DEFAULT_IDLE_TIMEOUT_US);
    for (int i = 0; i < 3; i++) { /* Windows retries with the same SYN */
        seg(&g, i * 500, C2S, TL_TH_SYN, 777, 0, 0);
        seg(&g, i * 500 + 1, S2C, TL_TH_RST | TL_TH_ACK, 0, 778, 0);
    }
    json_t *c = rig_close(&g, &cap);
    is_int(t, json_array_size(c), 3, "refused: each refused try is its own connection");
    is_str(t, str(c, 2, "end"), "rst", "refused: ended by RST");
    json_decref(c);
}

static void test_syn_retransmit(struct tap *t)
{
    struct rig g;
    struct tl_capture_info cap;
    rig_open(&g, 0, TL_DEFAULT_IDLE_TIMEOUT_US);
    seg(&g, 0, C2S, TL_TH_SYN, 42, 0, 0);
    seg(&g, 1000, C2S, TL_TH_SYN, 42, 0, 0);
    seg(&g, 3000, C2S, TL_TH_SYN, 42, 0, 0);
    /* The client gives up and tries again from the same port, new ISN. */
    seg(&g, 7000, C2S, TL_TH_SYN, 99999, 0, 0);
    json_t *c = rig_close(&g, &cap);
    is_int(t, json_array_size(c), 2, "syn retries: same ISN stays, new ISN splits");
    is_int(t, num(c, 0, "packets", "client"), 3, "syn retries: three SYNs on the first");
    is_str(t, str(c, 0, "end"), "open", "syn retries: first never ended");
    json_decref(c);
}

static void test_idle_timeout(struct tap *t)
{
    struct rig g;
    struct tl_capture_info cap;
    rig_open(&g, 0, 300 * TL_USEC_PER_SEC);
    seg(&g, 0, C2S, TL_TH_ACK, 1, 1, 10);
    seg(&g, 301000, C2S, TL_TH_ACK, 11, 1, 10);
    json_t *c = rig_close(&g, &cap);
    is_int(t, json_array_size(c), 2, "idle: a segment after the timeout starts anew");
    is_str(t, str(c, 0, "end"), "timeout", "idle: first ended by timeout");
    is_str(t, str(c, 1, "end"), "open", "idle: second open at the end");
    is_int(t, cap.evicted_idle, 1, "idle: counted");
    json_decref(c);
}

static void test_max_flows(struct tap *t)
{
    struct rig g;
    struct tl_capture_info cap;
    rig_open(&g, 2, TL_DEFAULT_IDLE_TIMEOUT_US);
    for (uint16_t i = 0; i < 3; i++) {
        g.cport = (uint16_t)(40000 + i);
        seg(&g, i, C2S, TL_TH_SYN, 1000, 0, 0);
    }
    json_t *c = rig_close(&g, &cap);
    is_int(t, json_array_size(c), 3, "max-flows: every connection reported");
    is_str(t, str(c, 0, "end"), "evicted", "max-flows: the stalest was evicted");
    is_str(t, str(c, 2, "end"), "open", "max-flows: the newest stayed");
    is_int(t, cap.evicted_cap, 1, "max-flows: eviction counted");
    is_int(t, cap.peak_flows, 2, "max-flows: never more than the cap");
    json_decref(c);
}

static void test_max_flows_prefers_ended(struct tap *t)
{
    struct rig g;
    struct tl_capture_info cap;
    rig_open(&g, 2, TL_DEFAULT_IDLE_TIMEOUT_US);
    g.cport = 40000;
    seg(&g, 0, C2S, TL_TH_SYN, 1000, 0, 0); /* live, oldest */
    g.cport = 40001;
    seg(&g, 1, C2S, TL_TH_SYN, 1000, 0, 0);
    seg(&g, 2, S2C, TL_TH_RST | TL_TH_ACK, 0, 1001, 0); /* ended */
    g.cport = 40002;
    seg(&g, 3, C2S, TL_TH_SYN, 1000, 0, 0);
    json_t *c = rig_close(&g, &cap);
    is_str(t, str(c, 0, "end"), "open", "max-flows: live connection kept over an ended one");
    is_str(t, str(c, 1, "end"), "rst", "max-flows: the ended one made room");
    is_int(t, cap.evicted_cap, 0, "max-flows: no live connection evicted");
    json_decref(c);
}

static void test_roles(struct tap *t)
{
    struct rig g;
    struct tl_capture_info cap;
    rig_open(&g, 0, TL_DEFAULT_IDLE_TIMEOUT_US);
    seg(&g, 0, S2C, TL_TH_ACK | TL_TH_PSH, 1, 1, 50); /* mid-stream, server speaks */
    g.cport = 40001;
    seg(&g, 1, S2C, TL_TH_SYN | TL_TH_ACK, 1, 1, 0); /* SYN missed */
    json_t *c = rig_close(&g, &cap);
    is_str(t, str(c, 0, "roles_from"), "port", "roles: mid-stream uses the port rule");
    is_int(t, num(c, 0, "server", "port"), 80, "roles: the low port is the server");
    is_str(t, str(c, 1, "roles_from"), "synack", "roles: SYN-ACK sender is the server");
    is_int(t, num(c, 1, "server", "port"), 80, "roles: server port from the SYN-ACK");
    json_decref(c);
}

struct seen {
    int n;
    uint8_t client, server;
    uint32_t events;
};

static void note_view(void *ctx, const struct tl_conn_view *v)
{
    struct seen *s = ctx;
    s->n++;
    s->client = v->tcp->ep[TL_ROLE_CLIENT].state;
    s->server = v->tcp->ep[TL_ROLE_SERVER].state;
    s->events = v->timeline->n + (v->timeline->has_pending ? 1u : 0u);
}

/* An ended connection lingers packed (src/pack.h); a snapshot still sees
 * it whole, and a late packet unpacks it and joins its timeline. */
static void test_lingering_packed(struct tap *t)
{
    struct rig g;
    struct tl_capture_info cap;
    rig_open(&g, 0, TL_DEFAULT_IDLE_TIMEOUT_US);
    full_exchange(&g, 0, 1000, 5000);
    struct seen before = {0, 0, 0, 0}, after = {0, 0, 0, 0};
    tl_engine_each(g.e, note_view, &before);
    is_int(t, before.n, 1, "packed: the ended connection is still held");
    is_str(t, tl_ep_state_name(before.client), "TIME_WAIT", "packed: snapshot, client");
    is_str(t, tl_ep_state_name(before.server), "CLOSED", "packed: snapshot, server");
    ok(t, before.events >= 6, "packed: snapshot sees the timeline");
    /* The server's FIN again (its final ACK lost past the tap), 300 ms on. */
    seg(&g, 307, S2C, TL_TH_FIN | TL_TH_ACK, 5000 + 301, 1000 + 102, 0);
    seg(&g, 308, C2S, TL_TH_ACK, 1000 + 102, 5000 + 302, 0);
    tl_engine_each(g.e, note_view, &after);
    is_int(t, after.n, 1, "packed: the late FIN joins the same connection");
    /* The FIN (unexpected from a CLOSED server), then the ACK folded into
     * a summary: two more entries. */
    is_int(t, (long long)after.events, (long long)before.events + 2,
           "packed: the late segments join the timeline");
    json_t *c = rig_close(&g, &cap);
    is_int(t, json_array_size(c), 1, "packed: still one connection at the end");
    is_int(t, num(c, 0, "packets", "server"), 4, "packed: the late FIN is counted");
    json_t *an = json_object_get(json_array_get(c, 0), "anomalies");
    bool unexpected = false;
    for (size_t i = 0; i < json_array_size(an); i++)
        unexpected = unexpected ||
                     strcmp(json_string_value(json_object_get(json_array_get(an, i), "type")),
                            "unexpected_segment") == 0;
    ok(t, unexpected, "packed: the detectors see the late FIN");
    json_decref(c);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct tap t = {0, 0};
    test_normal(&t);
    test_reuse(&t);
    test_refused_retry(&t);
    test_syn_retransmit(&t);
    test_idle_timeout(&t);
    test_max_flows(&t);
    test_max_flows_prefers_ended(&t);
    test_roles(&t);
    test_lingering_packed(&t);
    return tap_done(&t);
}
