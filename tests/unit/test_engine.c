/* The engine as a whole: how segments group into connections (port reuse,
 * retries, idle timeout, --max-flows, linger) and which roles they get.
 * Each case reads like a capture: one line per segment. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "rig.h"
#include "tap.h"
#include "tcplens/engine.h"

enum { C2S, S2C };


/* An engine with one report, of configuration rc (its out is the rig's). */
static void rig_open_report(struct rig *g, const struct tl_report_cfg *rc, uint32_t max_flows,
                            int64_t idle_us, bool full_timeline, uint8_t vlan_key)
{
    struct tl_engine_cfg ec = {.idle_timeout_us = idle_us,
                               .vlan_key = vlan_key,
                               .linger_us = TL_DEFAULT_LINGER_US,
                               .max_flows = max_flows,
                               .timeline = {.full = full_timeline,
                                            .max_events = TL_DEFAULT_TIMELINE_MAX}};
    rig_start(g, rc, &ec);
}

static void rig_open_with(struct rig *g, uint32_t max_flows, int64_t idle_us, bool full_timeline,
                          uint8_t vlan_key)
{
    struct tl_report_cfg rc = {.format = TL_REPORT_NDJSON, .reorder = true};
    rig_open_report(g, &rc, max_flows, idle_us, full_timeline, vlan_key);
}

static void rig_open(struct rig *g, uint32_t max_flows, int64_t idle_us)
{
    rig_open_with(g, max_flows, idle_us, false, TL_VLAN_KEY_AUTO);
}

/* One segment at ts_us, on 10.0.0.1:cport <-> 10.0.0.2:80. */
static void seg_at(struct rig *g, int64_t ts_us, int dir, uint8_t flags, uint32_t seq, uint32_t ack,
                   size_t len)
{
    rig_feed(g, ts_us, dir, flags, seq, ack, len, 512);
}

/* The same at ms milliseconds into a capture of November 2023. */
static void seg(struct rig *g, int64_t ms, int dir, uint8_t flags, uint32_t seq, uint32_t ack,
                size_t len)
{
    seg_at(g, 1700000000 * TL_USEC_PER_SEC + ms * 1000, dir, flags, seq, ack, len);
}

/* Ends the run; returns the connections as a JSON array (caller frees). */
static json_t *rig_close(struct rig *g, struct tl_capture_info *cap)
{
    rig_finish(g, cap, NULL);
    return rig_read(g);
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
    is_int(t, json_array_size(c), 1, "refused: the tries of one connect() are one connection");
    is_str(t, str(c, 0, "end"), "rst", "refused: ended by RST");
    is_int(t, num(c, 0, "packets", "client"), 3, "refused: three SYNs on it");
    json_t *an = json_array_get(json_object_get(json_array_get(c, 0), "anomalies"), 0);
    is_str(t, json_string_value(json_object_get(an, "type")), "refused", "refused: anomaly");
    is_int(t, json_integer_value(json_object_get(json_object_get(an, "evidence"), "tries")), 3,
           "refused: evidence counts the tries");
    json_decref(c);
}

/*
 * The detectors run once per connection, whatever the report prints: the
 * text report words the anomalies of the refused connection (an error,
 * so a detail block) and only counts those of the clean one; NDJSON words
 * them all; --anomalies-only lists one of the two.
 */
static void test_detector_runs(struct tap *t)
{
    static const struct {
        struct tl_report_cfg rc;
        const char *what;
    } runs[] = {
        {{.format = TL_REPORT_TEXT, .reorder = true}, "detectors: once per connection (text)"},
        {{.format = TL_REPORT_TEXT, .reorder = true, .anomalies_only = true},
         "detectors: once per connection (text, anomalies only)"},
        {{.format = TL_REPORT_TEXT, .reorder = true, .all_details = true},
         "detectors: once per connection (text, every detail)"},
        {{.format = TL_REPORT_NDJSON, .reorder = true}, "detectors: once per connection (NDJSON)"},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        struct rig g;
        struct tl_capture_info cap;
        uint64_t n;
        rig_open_report(&g, &runs[i].rc, 0, TL_DEFAULT_IDLE_TIMEOUT_US, false, TL_VLAN_KEY_AUTO);
        full_exchange(&g, 0, 1000, 5000);
        g.cport = 40001;
        seg(&g, 100, C2S, TL_TH_SYN, 777, 0, 0);
        seg(&g, 101, S2C, TL_TH_RST | TL_TH_ACK, 0, 778, 0);
        rig_finish(&g, &cap, &n);
        fclose(g.out);
        ok(t, cap.connections == 2 && n == cap.connections, runs[i].what);
    }
}

/* All of a rig's report, after rig_finish() (caller frees). */
static char *rig_output(struct rig *g, size_t *len)
{
    char *b = NULL;
    *len = 0;
    if (fseek(g->out, 0, SEEK_END) == 0) {
        long n = ftell(g->out);
        b = n >= 0 ? malloc((size_t)n + 1) : NULL;
        rewind(g->out);
        if (b != NULL)
            *len = fread(b, 1, (size_t)n, g->out);
    }
    fclose(g->out);
    return b;
}

/* With the reports on a second thread (--threads 2), the detectors still
 * run once per connection, the worst severity reaches the capture's
 * counters (--fail-on reads it), and the report is the same bytes. Enough
 * connections that the thread works while the engine does. */
static void test_threads(struct tap *t)
{
    struct tl_report_cfg rc = {.format = TL_REPORT_NDJSON, .reorder = true};
    char *out[2];
    size_t len[2];
    struct tl_capture_info cap[2];
    uint64_t runs[2];
    for (int k = 0; k < 2; k++) {
        struct tl_engine_cfg ec = {.idle_timeout_us = TL_DEFAULT_IDLE_TIMEOUT_US,
                                   .linger_us = TL_DEFAULT_LINGER_US,
                                   .timeline = {.max_events = TL_DEFAULT_TIMELINE_MAX},
                                   .threads = k == 0 ? 1 : 2};
        struct rig g;
        rig_start(&g, &rc, &ec);
        for (int i = 0; i < 600; i++) {
            g.cport = (uint16_t)(20000 + i);
            if (i % 3 == 0) { /* refused: an error */
                seg(&g, 10 * i, C2S, TL_TH_SYN, 777, 0, 0);
                seg(&g, 10 * i + 1, S2C, TL_TH_RST | TL_TH_ACK, 0, 778, 0);
            } else {
                full_exchange(&g, 10 * i, 1000, 5000);
            }
        }
        rig_finish(&g, &cap[k], &runs[k]);
        out[k] = rig_output(&g, &len[k]);
    }
    ok(t, cap[1].connections == 600 && runs[1] == 600, "threads: detectors once per connection");
    is_int(t, cap[1].worst_severity, cap[0].worst_severity, "threads: the worst severity counts");
    is_int(t, cap[1].worst_severity, TL_SEV_ERROR, "... which is the refusals' error");
    ok(t,
       out[0] != NULL && out[1] != NULL && len[0] > 0 && len[0] == len[1] &&
           memcmp(out[0], out[1], len[0]) == 0,
       "threads: the same report");
    free(out[0]);
    free(out[1]);
}

/* Frames through the lookahead (src/lookahead.c) give the same report as
 * frames fed one by one: the engine gets them all, in order, with the
 * same bytes. Three connections at a time, so that the frames held in
 * its ring belong to several, and more of them than the ring holds; a
 * run shorter than the ring is drained whole. */
static void test_lookahead(struct tap *t)
{
    struct tl_report_cfg rc = {.format = TL_REPORT_NDJSON, .reorder = true};
    struct tl_engine_cfg ec = {.idle_timeout_us = TL_DEFAULT_IDLE_TIMEOUT_US,
                               .linger_us = TL_DEFAULT_LINGER_US,
                               .timeline = {.max_events = TL_DEFAULT_TIMELINE_MAX},
                               .threads = 1};
    for (int conns = 1; conns <= 90; conns += 89) {
        char *out[2];
        size_t len[2];
        struct tl_capture_info cap[2];
        for (int k = 0; k < 2; k++) {
            struct rig g;
            rig_start(&g, &rc, &ec);
            if (k == 1 && (g.la = tl_lookahead_new(g.e)) == NULL)
                abort();
            for (int i = 0; i < conns; i += 3) {
                for (int j = 0; j < 3 && i + j < conns; j++) {
                    g.cport = (uint16_t)(30000 + i + j);
                    seg(&g, 100 * i + j, C2S, TL_TH_SYN, 777u + (uint32_t)j, 0, 0);
                }
                for (int j = 0; j < 3 && i + j < conns; j++) {
                    g.cport = (uint16_t)(30000 + i + j);
                    if ((i + j) % 4 == 0)
                        seg(&g, 100 * i + 10 * (j + 1), S2C, TL_TH_RST | TL_TH_ACK, 0,
                            778u + (uint32_t)j, 0);
                    else
                        full_exchange(&g, 100 * i + 10 * (j + 1), 777u + (uint32_t)j, 5000);
                }
            }
            rig_finish(&g, &cap[k], NULL);
            out[k] = rig_output(&g, &len[k]);
        }
        ok(t,
           out[0] != NULL && out[1] != NULL && len[0] > 0 && len[0] == len[1] &&
               memcmp(out[0], out[1], len[0]) == 0 && cap[0].packets == cap[1].packets &&
               cap[1].connections == (uint64_t)conns,
           conns == 1 ? "lookahead: a run shorter than its ring, drained whole"
                      : "lookahead: the same report as frame by frame");
        free(out[0]);
        free(out[1]);
    }
}

/* tl_detect() runs every connection-level type's detector, once; host-level
 * types have none (hosts.c finds them). */
static void test_detect_order(struct tap *t)
{
    enum tl_anomaly_type order[TL_AN_NTYPES + 1];
    size_t n = tl_detect_order(order, TL_AN_NTYPES + 1);
    unsigned seen[TL_AN_NTYPES] = {0};
    bool good = n <= TL_AN_NTYPES;
    for (size_t i = 0; good && i < n; i++)
        if ((unsigned)order[i] < TL_AN_NTYPES)
            seen[order[i]]++;
    for (int ty = 0; ty < TL_AN_NTYPES; ty++) {
        bool host = tl_anomaly_is_host((enum tl_anomaly_type)ty);
        bool has = tl_anomaly_detector((enum tl_anomaly_type)ty) != NULL;
        good = good && seen[ty] == (host ? 0u : 1u) && has == !host;
    }
    ok(t, good, "detectors: each connection-level type once, in the run order");
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
    seg(&g, 1, S2C, TL_TH_ACK, 1, 11, 0);
    /* A keepalive an hour later continues the sequence spaces: the same
     * connection, with a gap (Linux keeps an idle one for ever). */
    seg(&g, 3600000, C2S, TL_TH_ACK, 10, 1, 0);
    seg(&g, 3600001, S2C, TL_TH_ACK, 1, 11, 0);
    /* Then silence past the timeout, and a segment far from both spaces:
     * another connection on the 4-tuple. */
    seg(&g, 3600000 + 301000, C2S, TL_TH_ACK, 900000000, 700000000, 10);
    json_t *c = rig_close(&g, &cap);
    is_int(t, json_array_size(c), 2, "idle: a keepalive after an hour continues it");
    is_int(t, num(c, 0, "packets", "client"), 2, "idle: the keepalive is on the first");
    is_str(t, str(c, 0, "end"), "timeout", "idle: first ended by timeout");
    is_str(t, str(c, 1, "end"), "open", "idle: the stranger is another, open at the end");
    is_str(t, str(c, 1, "roles_from"), "port", "idle: ... found mid-stream");
    is_int(t, cap.evicted_idle, 1, "idle: counted");
    json_decref(c);

    /* A half-open connection is not kept: it ends at the timeout. */
    rig_open(&g, 0, 300 * TL_USEC_PER_SEC);
    seg(&g, 0, C2S, TL_TH_SYN, 42, 0, 0);
    seg(&g, 301000, C2S, TL_TH_ACK, 43, 1, 0);
    c = rig_close(&g, &cap);
    is_int(t, json_array_size(c), 2, "idle: a half-open connection ends at the timeout");
    json_decref(c);
}

/* The capture's own copies (a SPAN port, -i any) are counted, not events;
 * a segment sent again after the peer spoke, or 300 ms later, is a real
 * retransmission. */
static void test_duplicates(struct tap *t)
{
    struct rig g;
    struct tl_capture_info cap;
    rig_open(&g, 0, TL_DEFAULT_IDLE_TIMEOUT_US);
    int64_t t0 = 1700000000 * TL_USEC_PER_SEC;
    seg_at(&g, t0, C2S, TL_TH_SYN, 1000, 0, 0);
    seg_at(&g, t0 + 20, C2S, TL_TH_SYN, 1000, 0, 0); /* copy */
    seg_at(&g, t0 + 100, S2C, TL_TH_SYN | TL_TH_ACK, 5000, 1001, 0);
    seg_at(&g, t0 + 200, C2S, TL_TH_ACK, 1001, 5001, 0);
    seg_at(&g, t0 + 300, C2S, TL_TH_ACK | TL_TH_PSH, 1001, 5001, 100);
    seg_at(&g, t0 + 310, C2S, TL_TH_ACK | TL_TH_PSH, 1001, 5001, 100); /* copy */
    seg_at(&g, t0 + 400, S2C, TL_TH_ACK, 5001, 1001, 0);               /* a duplicate ACK */
    seg_at(&g, t0 + 450, C2S, TL_TH_ACK | TL_TH_PSH, 1001, 5001, 100); /* sent again */
    json_t *c = rig_close(&g, &cap);
    is_int(t, json_array_size(c), 1, "duplicates: one connection");
    is_int(t, cap.duplicates, 2, "duplicates: two copies in the capture");
    is_int(t, num(c, 0, "duplicates", "client"), 2, "duplicates: both the client's");
    is_int(t, num(c, 0, "packets", "client"), 6, "duplicates: frames still counted");
    is_int(t, num(c, 0, "bytes", "client"), 200, "duplicates: a copy's bytes are not");
    json_t *an = json_object_get(json_array_get(c, 0), "anomalies");
    int64_t retx = -1, synretx = 0;
    for (size_t i = 0; i < json_array_size(an); i++) {
        json_t *a = json_array_get(an, i);
        const char *ty = json_string_value(json_object_get(a, "type"));
        if (strcmp(ty, "retransmission") == 0)
            retx = json_integer_value(
                json_object_get(json_object_get(a, "evidence"), "retransmissions"));
        synretx += strcmp(ty, "syn_backoff") == 0;
    }
    is_int(t, retx, 1, "duplicates: only the one after the peer's ACK is a retransmission");
    is_int(t, synretx, 0, "duplicates: the SYN's copy is no SYN retry");
    json_decref(c);
}

/* A handshake and a little data on the rig's 4-tuple from ms on. */
static void exchange(struct rig *g, int64_t ms, uint32_t isn)
{
    seg(g, ms, C2S, TL_TH_SYN, isn, 0, 0);
    seg(g, ms + 1, S2C, TL_TH_SYN | TL_TH_ACK, 9000, isn + 1, 0);
    seg(g, ms + 2, C2S, TL_TH_ACK, isn + 1, 9001, 0);
    seg(g, ms + 3, C2S, TL_TH_ACK | TL_TH_PSH, isn + 1, 9001, 10);
    seg(g, ms + 4, S2C, TL_TH_ACK, 9001, isn + 11, 0);
}

/* Connections of a run whose directions carry vlan c2s and s2c. */
static size_t vlan_run(uint8_t key, uint16_t c2s, uint16_t s2c, bool tenants, json_t **out)
{
    struct rig g;
    struct tl_capture_info cap;
    rig_open_with(&g, 0, TL_DEFAULT_IDLE_TIMEOUT_US, false, key);
    g.vlan[C2S] = c2s;
    g.vlan[S2C] = s2c;
    exchange(&g, 0, 1000);
    if (tenants) { /* a second tenant: the same addresses on VLAN 30 */
        g.vlan[C2S] = g.vlan[S2C] = 30;
        exchange(&g, 10, 555000);
    }
    *out = rig_close(&g, &cap);
    return json_array_size(*out);
}

/* Tenant v (VLAN id): a connection with ISNs c and s, open at ms, closed
 * (FINs both ways) at end. */
static void tenant(struct rig *g, uint16_t v, int64_t ms, int64_t end, uint32_t c, uint32_t s)
{
    g->vlan[C2S] = g->vlan[S2C] = v;
    seg(g, ms, C2S, TL_TH_SYN, c, 0, 0);
    seg(g, ms + 1, S2C, TL_TH_SYN | TL_TH_ACK, s, c + 1, 0);
    seg(g, ms + 2, C2S, TL_TH_ACK, c + 1, s + 1, 0);
    if (end == 0)
        return;
    seg(g, end, C2S, TL_TH_FIN | TL_TH_ACK, c + 1, s + 1, 0);
    seg(g, end + 1, S2C, TL_TH_FIN | TL_TH_ACK, s + 1, c + 2, 0);
    seg(g, end + 2, C2S, TL_TH_ACK, c + 2, s + 2, 0);
}

/* Two tenants on one 4-tuple, reported 1 ms after they end (--linger):
 * the second one, kept apart by its VLAN, leaves its tombstone under that
 * key, and its late FIN finds it there even after both are gone. */
static void test_tombstone_vlan_apart(struct tap *t)
{
    struct rig g;
    struct tl_capture_info cap;
    struct tl_report_cfg rc = {.format = TL_REPORT_NDJSON, .reorder = true};
    struct tl_engine_cfg ec = {.idle_timeout_us = TL_DEFAULT_IDLE_TIMEOUT_US,
                               .vlan_key = TL_VLAN_KEY_AUTO,
                               .linger_us = 1000,
                               .timeline = {.max_events = TL_DEFAULT_TIMELINE_MAX}};
    rig_start(&g, &rc, &ec);
    tenant(&g, 10, 0, 0, 1000, 9000);
    tenant(&g, 30, 10, 30, 50000000, 70000000); /* the same addresses: kept apart */
    g.vlan[C2S] = g.vlan[S2C] = 10;
    seg(&g, 40, C2S, TL_TH_FIN | TL_TH_ACK, 1001, 9001, 0);
    seg(&g, 41, S2C, TL_TH_FIN | TL_TH_ACK, 9001, 1002, 0);
    seg(&g, 42, C2S, TL_TH_ACK, 1002, 9002, 0);
    g.cport = 40001; /* another connection moves the clock on */
    g.vlan[C2S] = g.vlan[S2C] = 10;
    seg(&g, 100, C2S, TL_TH_SYN, 7, 0, 0);
    g.cport = 40000;
    g.vlan[C2S] = g.vlan[S2C] = 30;
    seg(&g, 300, S2C, TL_TH_FIN | TL_TH_ACK, 70000001, 50000002, 0); /* late, again */
    json_t *c = rig_close(&g, &cap);
    is_int(t, json_array_size(c), 3, "tombstone apart: no connection for the late FIN");
    is_int(t, cap.late_segments, 1, "tombstone apart: the FIN counted as late");
    json_decref(c);
}

/* An engine lingering linger_us after a connection ends: TL_DEFAULT_LINGER_US
 * keeps it in the table, 1 ms leaves a tombstone in its place. */
static void rig_open_linger(struct rig *g, int64_t linger_us)
{
    struct tl_report_cfg rc = {.format = TL_REPORT_NDJSON, .reorder = true};
    struct tl_engine_cfg ec = {.idle_timeout_us = TL_DEFAULT_IDLE_TIMEOUT_US,
                               .vlan_key = TL_VLAN_KEY_AUTO,
                               .linger_us = linger_us,
                               .timeline = {.max_events = TL_DEFAULT_TIMELINE_MAX}};
    rig_start(g, &rc, &ec);
}

/* Bare RSTs from the client at each of at_ms[] (the same sequence number,
 * as a host answering stray segments sends), then a SYN on another port
 * 100 s on to move the clock past every linger. */
static json_t *lone_resets(int64_t linger_us, const int64_t *at_ms, size_t n,
                           struct tl_capture_info *cap)
{
    struct rig g;
    rig_open_linger(&g, linger_us);
    for (size_t i = 0; i < n; i++)
        seg(&g, at_ms[i], C2S, TL_TH_RST, 5000, 0, 0);
    g.cport = 40001;
    seg(&g, at_ms[n - 1] + 100000, C2S, TL_TH_SYN, 1, 0, 0);
    return rig_close(&g, cap);
}

/* Connections of the lone RSTs' 4-tuple (port 40000), and the packets of
 * the first. */
static size_t on_port(json_t *c, long long *first_packets)
{
    size_t n = 0;
    *first_packets = -1;
    for (size_t i = 0; i < json_array_size(c); i++) {
        if (num(c, i, "client", "port") != 40000 && num(c, i, "server", "port") != 40000)
            continue;
        if (n++ == 0)
            *first_packets = num(c, i, "packets", "client") + num(c, i, "packets", "server");
    }
    return n;
}

/* A connection of resets alone is over when its reset is: a reset more
 * than 5 s after its last segment is another connection, lingering or
 * reported (a tombstone) alike; within 5 s it is the same one. */
static void test_reset_alone(struct tap *t)
{
    static const struct {
        int64_t linger_us;
        const char *mode;
    } modes[] = {{TL_DEFAULT_LINGER_US, "lingering"}, {1000, "tombstone (1 ms linger)"}};
    /* A reset late for a tombstone becomes its last segment, as it would
     * be the lingering connection's: the 5 s run from it in both modes. */
    static const struct {
        int64_t at[3];
        size_t n, conns;
        const char *what;
    } runs[] = {
        {{0, 6000}, 2, 2, "two lone RSTs 6 s apart: two connections"},
        {{0, 1000}, 2, 1, "two lone RSTs 1 s apart: one connection"},
        {{0, 5000}, 2, 1, "two lone RSTs exactly 5 s apart: one connection"},
        {{0, 5001}, 2, 2, "two lone RSTs 5.001 s apart: two connections"},
        {{0, 1000, 7000}, 3, 2, "lone RSTs at 0, 1 and 7 s: two connections"},
        {{0, 4000, 8000}, 3, 1, "lone RSTs at 0, 4 and 8 s (each within 5 s of the last): one"},
    };
    char name[200];
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
            struct tl_capture_info cap;
            json_t *c = lone_resets(modes[m].linger_us, runs[i].at, runs[i].n, &cap);
            long long first;
            snprintf(name, sizeof name, "reset alone, %s: %s", modes[m].mode, runs[i].what);
            is_int(t, on_port(c, &first), runs[i].conns, name);
            json_decref(c);
        }
    }
    /* Which path took the second reset: the lingering connection, or the
     * tombstone (counted late, not reported again). */
    struct tl_capture_info cap;
    long long first;
    json_t *c = lone_resets(TL_DEFAULT_LINGER_US, runs[1].at, 2, &cap);
    ok(t, on_port(c, &first) == 1 && first == 2 && cap.late_segments == 0,
       "reset alone, lingering: the second RST 1 s on is the connection's second packet");
    json_decref(c);
    c = lone_resets(1000, runs[1].at, 2, &cap);
    ok(t, on_port(c, &first) == 1 && first == 1 && cap.late_segments == 1,
       "reset alone, tombstone: the second RST 1 s on is late for the reported connection");
    json_decref(c);
    c = lone_resets(1000, runs[0].at, 2, &cap);
    ok(t, on_port(c, &first) == 2 && cap.late_segments == 0,
       "reset alone, tombstone: the second RST 6 s on is not late, it is another connection");
    json_decref(c);
}

/* A connection that sent anything but RSTs is not one of resets alone: a
 * reset 10 s after its own RST is still its own. */
static void test_reset_after_data(struct tap *t)
{
    static const int64_t lingers[] = {TL_DEFAULT_LINGER_US, 1000};
    for (size_t m = 0; m < 2; m++) {
        struct rig g;
        struct tl_capture_info cap;
        rig_open_linger(&g, lingers[m]);
        seg(&g, 0, C2S, TL_TH_SYN, 1000, 0, 0);
        seg(&g, 1, S2C, TL_TH_SYN | TL_TH_ACK, 9000, 1001, 0);
        seg(&g, 2, C2S, TL_TH_ACK, 1001, 9001, 0);
        seg(&g, 3, C2S, TL_TH_ACK | TL_TH_PSH, 1001, 9001, 10);
        seg(&g, 4, S2C, TL_TH_ACK, 9001, 1011, 0);
        seg(&g, 5, C2S, TL_TH_RST, 1011, 0, 0);
        seg(&g, 10005, C2S, TL_TH_RST, 1011, 0, 0);
        g.cport = 40001;
        seg(&g, 200000, C2S, TL_TH_SYN, 1, 0, 0);
        json_t *c = rig_close(&g, &cap);
        long long first;
        size_t n = on_port(c, &first);
        ok(t,
           n == 1 && (m == 0 ? first == 7 && cap.late_segments == 0
                             : first == 6 && cap.late_segments == 1),
           m == 0 ? "data, RST, RST 10 s later, lingering: one connection, the RST on it"
                  : "data, RST, RST 10 s later, tombstone: one connection, the RST late");
        is_str(t, str(c, 0, "end"), "rst", "data, RST, RST 10 s later: ended by RST");
        json_decref(c);
    }
}

/* --vlan-key: a tap that tags each direction with its own VLAN gives one
 * connection (auto, off); tenants that reuse addresses stay apart (auto,
 * on). */
static void test_vlan_key(struct tap *t)
{
    json_t *c;
    is_int(t, vlan_run(TL_VLAN_KEY_AUTO, 10, 20, false, &c), 1, "vlan auto: halves joined");
    is_int(t, num(c, 0, "vlan", NULL), 10, "vlan auto: the client's VLAN");
    is_int(t, num(c, 0, "vlan_server", NULL), 20, "vlan auto: and the server's");
    is_str(t,
           json_string_value(
               json_object_get(json_object_get(json_array_get(c, 0), "states_at_end"), "server")),
           "ESTABLISHED", "vlan auto: the handshake completes across the two VLANs");
    ok(t, strstr(str(c, 0, "wireshark_filter"), "(vlan.id==10 || vlan.id==20)") != NULL,
       "vlan auto: the filter takes both VLANs");
    json_decref(c);
    is_int(t, vlan_run(TL_VLAN_KEY_ON, 10, 20, false, &c), 2, "vlan on: halves apart");
    json_decref(c);
    is_int(t, vlan_run(TL_VLAN_KEY_AUTO, 10, 10, true, &c), 2, "vlan auto: tenants apart");
    is_int(t, num(c, 1, "vlan", NULL), 30, "vlan auto: the second tenant's VLAN");
    ok(t, json_object_get(json_array_get(c, 1), "vlan_server") == NULL,
       "vlan auto: one VLAN each way, no vlan_server");
    json_decref(c);
    is_int(t, vlan_run(TL_VLAN_KEY_OFF, 10, 20, false, &c), 1, "vlan off: halves joined");
    json_decref(c);
    /* Off, the tenants share one key: the second's SYN (another ISN)
     * takes the 4-tuple over, as port reuse. */
    is_int(t, vlan_run(TL_VLAN_KEY_OFF, 10, 10, true, &c), 2, "vlan off: tenants in a row");
    json_t *an = json_object_get(json_array_get(c, 1), "anomalies");
    bool reuse = false;
    for (size_t i = 0; i < json_array_size(an); i++)
        reuse = reuse || strcmp(json_string_value(json_object_get(json_array_get(an, i), "type")),
                                "port_reuse") == 0;
    ok(t, reuse, "vlan off: the second is port_reuse");
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
    /* The FIN again (the server never left LAST_ACK: the final ACK's entry
     * is revised), then the ACK that closes it: two more entries. */
    is_int(t, (long long)after.events, (long long)before.events + 2,
           "packed: the late segments join the timeline");
    json_t *c = rig_close(&g, &cap);
    is_int(t, json_array_size(c), 1, "packed: still one connection at the end");
    is_int(t, num(c, 0, "packets", "server"), 4, "packed: the late FIN is counted");
    json_t *an = json_object_get(json_array_get(c, 0), "anomalies");
    bool lost = false, unexpected = false;
    for (size_t i = 0; i < json_array_size(an); i++) {
        const char *type = json_string_value(json_object_get(json_array_get(an, i), "type"));
        lost = lost || strcmp(type, "missing_final_ack") == 0;
        unexpected = unexpected || strcmp(type, "unexpected_segment") == 0;
    }
    ok(t, lost && !unexpected, "packed: the detectors see the late FIN (missing_final_ack)");
    json_decref(c);
}

/* One exchange whose sequence numbers are offsets from two ISNs: data each
 * way, a segment lost and retransmitted, FINs. */
static void lossy_exchange(struct rig *g, uint32_t cisn, uint32_t sisn)
{
    seg(g, 0, C2S, TL_TH_SYN, cisn, 0, 0);
    seg(g, 1, S2C, TL_TH_SYN | TL_TH_ACK, sisn, cisn + 1, 0);
    seg(g, 2, C2S, TL_TH_ACK, cisn + 1, sisn + 1, 0);
    seg(g, 10, C2S, TL_TH_ACK, cisn + 1, sisn + 1, 100);
    seg(g, 11, C2S, TL_TH_ACK, cisn + 101, sisn + 1, 100);
    seg(g, 12, C2S, TL_TH_ACK | TL_TH_PSH, cisn + 201, sisn + 1, 100);
    seg(g, 13, S2C, TL_TH_ACK, sisn + 1, cisn + 201, 0);
    seg(g, 220, C2S, TL_TH_ACK | TL_TH_PSH, cisn + 201, sisn + 1, 100);
    seg(g, 221, S2C, TL_TH_ACK | TL_TH_PSH, sisn + 1, cisn + 301, 200);
    seg(g, 222, C2S, TL_TH_ACK, cisn + 301, sisn + 201, 0);
    seg(g, 230, C2S, TL_TH_FIN | TL_TH_ACK, cisn + 301, sisn + 201, 0);
    seg(g, 231, S2C, TL_TH_FIN | TL_TH_ACK, sisn + 201, cisn + 302, 0);
    seg(g, 232, C2S, TL_TH_ACK, cisn + 302, sisn + 202, 0);
}

static json_t *lossy_run(uint32_t cisn, uint32_t sisn)
{
    struct rig g;
    struct tl_capture_info cap;
    rig_open_with(&g, 0, TL_DEFAULT_IDLE_TIMEOUT_US, true, TL_VLAN_KEY_AUTO);
    lossy_exchange(&g, cisn, sisn);
    return rig_close(&g, &cap);
}

/* Sequence numbers wrap modulo 2^32 (RFC 9293 3.4): with both ISNs just
 * below 2^32, the client's third segment, its retransmission and the
 * server's data each straddle the wrap. The report, which gives sequence
 * numbers relative to the ISNs, must be the same as far from the wrap, and
 * (in the sanitizer build) no arithmetic on the way may overflow. */
static void test_seq_wrap(struct tap *t)
{
    json_t *far = lossy_run(1000, 5000);
    json_t *wrap = lossy_run(0xffffff00u, 0xffffffc0u);
    json_t *c = json_array_get(wrap, 0);
    is_int(t, json_array_size(wrap), 1, "seq wrap: one connection");
    is_str(t, str(wrap, 0, "end"), "fin", "seq wrap: ended by FIN");
    is_int(t, num(wrap, 0, "bytes", "client"), 400,
           "seq wrap: client payload, retransmission included");
    is_int(t, num(wrap, 0, "bytes", "server"), 200, "seq wrap: server payload");
    json_t *ends = json_object_get(c, "states_at_end");
    is_str(t, json_string_value(json_object_get(ends, "client")), "TIME_WAIT",
           "seq wrap: client in TIME_WAIT");
    is_str(t, json_string_value(json_object_get(ends, "server")), "CLOSED",
           "seq wrap: server CLOSED");
    json_t *tl = json_object_get(c, "timeline");
    json_t *re = json_array_get(tl, 7), *fin = json_array_get(tl, 10);
    ok(t,
       json_integer_value(json_object_get(re, "seq")) == 201 &&
           json_integer_value(json_object_get(re, "len")) == 100,
       "seq wrap: the retransmission is at relative seq 201");
    ok(t,
       json_integer_value(json_object_get(fin, "seq")) == 301 &&
           json_integer_value(json_object_get(fin, "ack")) == 201,
       "seq wrap: the client's FIN at relative seq 301, ack 201");
    json_t *an = json_object_get(c, "anomalies");
    bool retrans = false;
    for (size_t i = 0; i < json_array_size(an); i++)
        retrans = retrans ||
                  strcmp(json_string_value(json_object_get(json_array_get(an, i), "type")),
                         "retransmission") == 0;
    ok(t, retrans, "seq wrap: the retransmission across 2^32 is found");
    /* The sequence spaces themselves are absolute: the wrap is in them. */
    json_t *cs = json_object_get(json_object_get(c, "seq"), "client");
    json_int_t isn = json_integer_value(json_object_get(cs, "isn"));
    json_int_t next = json_integer_value(json_object_get(cs, "next"));
    ok(t, next < isn && (uint32_t)(isn + 302) == (uint32_t)next,
       "seq wrap: the client's sequence space wraps (isn + 302 = next, mod 2^32)");
    json_object_del(c, "seq");
    json_object_del(json_array_get(far, 0), "seq");
    ok(t, json_equal(far, wrap), "seq wrap: the report is the one far from the wrap (but seq)");
    if (!json_equal(far, wrap)) {
        char *a = json_dumps(far, JSON_COMPACT), *b = json_dumps(wrap, JSON_COMPACT);
        printf("# far:  %s\n# wrap: %s\n", a, b);
        free(a);
        free(b);
    }
    json_decref(far);
    json_decref(wrap);
}

/* Frame times at both ends of what a source gives (TL_TS_MAX_SEC), before
 * 1970 as libpcap reads some files: the clock leaps 146,000 years forward,
 * which times the first connection out, then a packet goes back as far.
 * Gaps, durations and timeouts computed on the way must not overflow (the
 * sanitizer build aborts on that), and the step back must not make the
 * new connection look idle for 146,000 years. */
static void test_time_extremes(struct tap *t)
{
    const int64_t lo = -TL_TS_MAX_SEC * TL_USEC_PER_SEC, hi = TL_TS_MAX_SEC * TL_USEC_PER_SEC;
    struct rig g;
    struct tl_capture_info cap;
    rig_open(&g, 0, TL_DEFAULT_IDLE_TIMEOUT_US);
    seg_at(&g, lo, C2S, TL_TH_SYN, 1000, 0, 0);
    seg_at(&g, lo + 1000, S2C, TL_TH_SYN | TL_TH_ACK, 5000, 1001, 0);
    seg_at(&g, lo + 2000, C2S, TL_TH_ACK, 1001, 5001, 0);
    g.cport = 40001;
    seg_at(&g, hi, C2S, TL_TH_SYN, 7000, 0, 0);
    g.cport = 40002;
    seg_at(&g, lo, C2S, TL_TH_SYN, 9000, 0, 0);
    json_t *c = rig_close(&g, &cap);
    is_int(t, json_array_size(c), 3, "time extremes: three connections");
    is_str(t, str(c, 0, "end"), "timeout", "time extremes: the leap forward times the first out");
    json_t *c0 = json_array_get(c, 0), *c1 = json_array_get(c, 1);
    ok(t,
       json_real_value(json_object_get(c0, "duration")) > 0.0019 &&
           json_real_value(json_object_get(c0, "duration")) < 0.0021,
       "time extremes: first connection lasted 2 ms");
    ok(t, json_real_value(json_object_get(c1, "first_ts")) > 2.3e12,
       "time extremes: second connection 73,000 years on");
    is_str(t, str(c, 2, "end"), "open",
           "time extremes: the step back opens a third, not timed out");
    ok(t, cap.first_ts == lo && cap.last_ts == hi, "time extremes: capture span from both ends");
    json_decref(c);
}

/* The capture's clock steps back an hour in the middle of a connection (a
 * host's clock corrected by NTP): the connection goes on, it is not cut in
 * two by an idle timeout that only the step made look due. */
static void test_clock_step_back(struct tap *t)
{
    struct rig g;
    struct tl_capture_info cap;
    rig_open(&g, 0, TL_DEFAULT_IDLE_TIMEOUT_US);
    seg(&g, 0, C2S, TL_TH_SYN, 1000, 0, 0);
    seg(&g, 1, S2C, TL_TH_SYN | TL_TH_ACK, 5000, 1001, 0);
    seg(&g, 2, C2S, TL_TH_ACK, 1001, 5001, 0);
    const int64_t back = -3600 * 1000;
    seg(&g, back + 3, C2S, TL_TH_ACK | TL_TH_PSH, 1001, 5001, 100);
    seg(&g, back + 4, S2C, TL_TH_ACK, 5001, 1101, 0);
    seg(&g, back + 5, C2S, TL_TH_FIN | TL_TH_ACK, 1101, 5001, 0);
    seg(&g, back + 6, S2C, TL_TH_FIN | TL_TH_ACK, 5001, 1102, 0);
    seg(&g, back + 7, C2S, TL_TH_ACK, 1102, 5002, 0);
    json_t *c = rig_close(&g, &cap);
    is_int(t, json_array_size(c), 1, "clock steps back: still one connection");
    is_str(t, str(c, 0, "end"), "fin", "clock steps back: ended by FIN");
    is_int(t, num(c, 0, "packets", "client"), 5, "clock steps back: every client packet in it");
    json_t *ends = json_object_get(json_array_get(c, 0), "states_at_end");
    is_str(t, json_string_value(json_object_get(ends, "client")), "TIME_WAIT",
           "clock steps back: client in TIME_WAIT at the end");
    json_decref(c);
}

/* The only anomaly of connection i, whose type must be type. */
static json_t *only_anomaly(json_t *c, size_t i, const char *type)
{
    json_t *an = json_object_get(json_array_get(c, i), "anomalies");
    json_t *a = json_array_get(an, 0);
    bool one = json_array_size(an) == 1 &&
               strcmp(json_string_value(json_object_get(a, "type")), type) == 0;
    return one ? a : NULL;
}

static const char *ev_str(json_t *a, const char *key)
{
    return json_string_value(json_object_get(json_object_get(a, "evidence"), key));
}

static long long ev_int(json_t *a, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(a, "evidence"), key));
}

/*
 * ICMP errors reach the sender of the segment they quote: a port
 * unreachable from the destination ends the client's connect(), its copy
 * a moment later is a duplicate, an error about no connection is counted
 * only, a router's time exceeded ends another attempt, and a fragmentation
 * needed later in a connection is a soft warning.
 */
static void test_icmp(struct tap *t)
{
    const int64_t t0 = 1700000000 * TL_USEC_PER_SEC;
    const uint32_t dest = PKT_V4(10, 0, 0, 2), router = PKT_V4(192, 0, 2, 1);
    struct rig g;
    struct tl_capture_info cap;
    rig_open(&g, 0, TL_DEFAULT_IDLE_TIMEOUT_US);
    seg(&g, 0, C2S, TL_TH_SYN, 1000, 0, 0);
    rig_icmp(&g, t0 + 1000, dest, C2S, 3, 3, 0, 40000, 1000);
    rig_icmp(&g, t0 + 1100, dest, C2S, 3, 3, 0, 40000, 1000); /* the capture's copy */
    rig_icmp(&g, t0 + 2000, dest, C2S, 3, 3, 0, 40999, 5);    /* no such connection */
    g.cport = 40001;
    seg(&g, 10, C2S, TL_TH_SYN, 2000, 0, 0);
    rig_icmp(&g, t0 + 11000, router, C2S, 11, 0, 0, 40001, 2000);
    g.cport = 40002;
    seg(&g, 20, C2S, TL_TH_SYN, 3000, 0, 0);
    seg(&g, 21, S2C, TL_TH_SYN | TL_TH_ACK, 9000, 3001, 0);
    seg(&g, 22, C2S, TL_TH_ACK, 3001, 9001, 0);
    seg(&g, 23, S2C, TL_TH_ACK | TL_TH_PSH, 9001, 3001, 1500);
    rig_icmp(&g, t0 + 23500, router, S2C, 3, 4, 1400, 40002, 9001);
    seg(&g, 24, S2C, TL_TH_ACK | TL_TH_PSH, 9001, 3001, 1300);
    seg(&g, 25, C2S, TL_TH_FIN | TL_TH_ACK, 3001, 10301, 0);
    seg(&g, 26, S2C, TL_TH_FIN | TL_TH_ACK, 10301, 3002, 0);
    seg(&g, 27, C2S, TL_TH_ACK, 3002, 10302, 0);
    json_t *c = rig_close(&g, &cap);
    is_int(t, json_array_size(c), 3, "icmp: three connections, none for the unknown 4-tuple");
    is_int(t, (long long)cap.icmp_matched, 4, "icmp: four errors matched (the copy too)");
    is_int(t, (long long)cap.icmp_unmatched, 1, "icmp: one about no connection");
    is_int(t, (long long)cap.duplicates, 1, "icmp: the copy is a duplicate");
    is_int(t, (long long)cap.tcp_packets, 10, "icmp: errors are not TCP packets");
    is_str(t, str(c, 0, "end"), "icmp", "icmp: port unreachable ends the attempt");
    json_t *st = json_object_get(json_array_get(c, 0), "states_at_end");
    is_str(t, json_string_value(json_object_get(st, "client")), "CLOSED",
           "icmp: the client is CLOSED");
    json_t *a = only_anomaly(c, 0, "icmp_unreachable");
    ok(t, a != NULL, "icmp: icmp_unreachable, alone");
    is_str(t, json_string_value(json_object_get(a, "severity")), "error",
           "icmp: an error in the handshake");
    is_str(t, json_string_value(json_object_get(a, "endpoint")), "client", "icmp: the client's");
    is_str(t, ev_str(a, "errno"), "ECONNREFUSED", "icmp: connect() saw ECONNREFUSED");
    is_str(t, ev_str(a, "sender"), "destination", "icmp: sent by the destination");
    is_str(t, ev_str(a, "sender_address"), "10.0.0.2", "icmp: the sender's address");
    is_str(t, ev_str(a, "message"), "port-unreachable", "icmp: message name");
    is_int(t, ev_int(a, "quoted_packet"), 1, "icmp: it quotes the SYN, packet 1");
    is_int(t, ev_int(a, "count"), 1, "icmp: the copy is not counted again");
    json_t *tl = json_object_get(json_array_get(c, 0), "timeline");
    json_t *e1 = json_array_get(tl, 1);
    ok(t,
       json_array_size(tl) == 2 &&
           strcmp(json_string_value(json_object_get(e1, "event")), "icmp_error") == 0 &&
           json_integer_value(json_object_get(e1, "icmp_type")) == 3 &&
           json_integer_value(json_object_get(e1, "packet")) == 2 &&
           strcmp(json_string_value(json_object_get(e1, "dir")), "server>client") == 0,
       "icmp: the timeline shows the error, towards the client");
    a = only_anomaly(c, 1, "icmp_unreachable");
    ok(t,
       a != NULL && strcmp(ev_str(a, "sender"), "router") == 0 &&
           strcmp(ev_str(a, "errno"), "EHOSTUNREACH") == 0 && strcmp(str(c, 1, "end"), "icmp") == 0,
       "icmp: a router's time exceeded ends an attempt with EHOSTUNREACH");
    json_t *an = json_object_get(json_array_get(c, 2), "anomalies");
    a = NULL;
    for (size_t i = 0; i < json_array_size(an); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(an, i), "type")),
                   "icmp_unreachable") == 0)
            a = json_array_get(an, i);
    ok(t,
       a != NULL && strcmp(json_string_value(json_object_get(a, "severity")), "warning") == 0 &&
           ev_int(a, "mtu") == 1400 && strcmp(str(c, 2, "end"), "fin") == 0 &&
           strcmp(json_string_value(json_object_get(a, "endpoint")), "server") == 0,
       "icmp: fragmentation needed later is a warning with the MTU; the connection goes on");
    json_decref(c);
}

/* The client's state at the end, and the connection's end. */
static bool ends_as(json_t *c, size_t i, const char *client, const char *end)
{
    json_t *st = json_object_get(json_array_get(c, i), "states_at_end");
    return strcmp(json_string_value(json_object_get(st, "client")), client) == 0 &&
           strcmp(str(c, i, "end"), end) == 0;
}

static bool has_anomaly(json_t *c, size_t i, const char *type)
{
    json_t *an = json_object_get(json_array_get(c, i), "anomalies");
    for (size_t k = 0; k < json_array_size(an); k++)
        if (strcmp(json_string_value(json_object_get(json_array_get(an, k), "type")), type) == 0)
            return true;
    return false;
}

/* Three connections whose fate the time after the last packet decides: a
 * SYN retried at 0, 1 and 3 s; a client left in CLOSE_WAIT; a client in
 * TIME_WAIT. end_after_s: how long the capture ran past its last packet
 * (0: not said). */
static json_t *capture_end_run(int64_t end_after_s, struct tl_capture_info *cap)
{
    struct rig g;
    rig_open(&g, 0, TL_DEFAULT_IDLE_TIMEOUT_US);
    seg(&g, 0, C2S, TL_TH_SYN, 100, 0, 0);
    seg(&g, 1000, C2S, TL_TH_SYN, 100, 0, 0);
    seg(&g, 3000, C2S, TL_TH_SYN, 100, 0, 0);
    g.cport = 40001;
    seg(&g, 3001, C2S, TL_TH_SYN, 200, 0, 0);
    seg(&g, 3002, S2C, TL_TH_SYN | TL_TH_ACK, 900, 201, 0);
    seg(&g, 3003, C2S, TL_TH_ACK, 201, 901, 0);
    seg(&g, 3004, S2C, TL_TH_FIN | TL_TH_ACK, 901, 201, 0);
    seg(&g, 3005, C2S, TL_TH_ACK, 201, 902, 0);
    g.cport = 40002;
    full_exchange(&g, 3010, 300, 700);
    if (end_after_s > 0 && tl_engine_set_capture_end(g.e,
                                                     1700000000 * TL_USEC_PER_SEC + 3017000 +
                                                         end_after_s * TL_USEC_PER_SEC,
                                                     TL_CEND_OPTION) != TL_OK)
        abort();
    return rig_close(&g, cap);
}

/*
 * The capture's end time runs the timers of what is still open (issue:
 * the time after the last packet): the SYN's give-up, close_wait_stuck,
 * TIME_WAIT's end. Without it, the last packet is the end.
 */
static void test_capture_end(struct tap *t)
{
    struct tl_capture_info cap;
    json_t *c = capture_end_run(0, &cap);
    ok(t,
       ends_as(c, 0, "SYN_SENT", "open") && !has_anomaly(c, 1, "close_wait_stuck") &&
           ends_as(c, 2, "TIME_WAIT", "fin"),
       "capture end at the last packet: SYN_SENT, no close_wait_stuck, TIME_WAIT");
    ok(t, cap.end_ts == cap.last_ts && cap.end_source == TL_CEND_LAST_PACKET,
       "capture end: the last packet when nothing says more");
    json_decref(c);
    c = capture_end_run(61, &cap);
    ok(t, ends_as(c, 0, "CLOSED", "timeout"), "capture end +61 s: the SYN was given up");
    ok(t, has_anomaly(c, 1, "close_wait_stuck"), "capture end +61 s: CLOSE_WAIT stuck past 5 s");
    ok(t, ends_as(c, 2, "CLOSED", "fin"), "capture end +61 s: TIME_WAIT over");
    ok(t, cap.end_source == TL_CEND_OPTION && cap.end_ts == cap.last_ts + 61 * TL_USEC_PER_SEC,
       "capture end: the time and its source");
    json_decref(c);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct tap t = {0, 0};
    test_normal(&t);
    test_reuse(&t);
    test_refused_retry(&t);
    test_detector_runs(&t);
    test_threads(&t);
    test_lookahead(&t);
    test_detect_order(&t);
    test_syn_retransmit(&t);
    test_idle_timeout(&t);
    test_duplicates(&t);
    test_vlan_key(&t);
    test_tombstone_vlan_apart(&t);
    test_reset_alone(&t);
    test_reset_after_data(&t);
    test_max_flows(&t);
    test_max_flows_prefers_ended(&t);
    test_roles(&t);
    test_lingering_packed(&t);
    test_seq_wrap(&t);
    test_time_extremes(&t);
    test_clock_step_back(&t);
    test_icmp(&t);
    test_capture_end(&t);
    return tap_done(&t);
}
