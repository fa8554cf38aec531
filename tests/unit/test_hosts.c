/*
 * Host-level anomalies (src/hosts.c). Each connection is built as the
 * engine builds it: its segments go through tl_tcpstate_update() and
 * tl_track_step() (and the packet clock through tl_tcpstate_advance()),
 * then the finished connection is handed to tl_hosts_conn().
 */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tcplens/hosts.h"

enum { C2S = TL_ROLE_CLIENT, S2C = TL_ROLE_SERVER };
enum { F = TL_TH_FIN, S = TL_TH_SYN, R = TL_TH_RST, P = TL_TH_PSH, A = TL_TH_ACK };

#define MS INT64_C(1000)
#define SEC TL_USEC_PER_SEC
#define T0 (INT64_C(1700000000) * SEC)
#define CISN 1000u
#define SISN 5000u

/* The test's own packet counter and connection ids (no globals). */
struct world {
    uint64_t pkt_no, next_id;
};

/* One connection under construction, as the engine keeps it. */
struct mconn {
    struct world *w;
    struct tl_conn *c;
    struct tl_tcpstate st;
    struct tl_track tr;
    struct tl_addr cip, sip;
    uint16_t cport, sport;
    int64_t now;
};

static struct tl_addr v4(uint32_t a)
{
    struct tl_addr x;
    memset(&x, 0, sizeof x);
    x.family = TL_AF_INET;
    x.b[0] = (uint8_t)(a >> 24);
    x.b[1] = (uint8_t)(a >> 16);
    x.b[2] = (uint8_t)(a >> 8);
    x.b[3] = (uint8_t)a;
    return x;
}

#define V4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

static void mc_start(struct mconn *m, struct world *w, uint32_t cip, uint16_t cport, uint32_t sip,
                     uint16_t sport, int64_t t0)
{
    memset(m, 0, sizeof *m);
    m->w = w;
    m->c = calloc(1, sizeof *m->c);
    if (m->c == NULL)
        abort();
    m->c->id = ++w->next_id;
    m->cip = v4(cip);
    m->sip = v4(sip);
    m->cport = cport;
    m->sport = sport;
    m->now = t0;
    tl_tcpstate_init(&m->st);
    tl_track_init(&m->tr);
}

/* Lets the packet clock reach now (SYN give-up, TIME_WAIT end). */
static void mc_advance(struct mconn *m, int64_t now)
{
    struct tl_step s;
    int64_t when;
    while (tl_tcpstate_advance(&m->st, now, true, &s, &when))
        if (tl_track_step(&m->tr, &m->st, &s, NULL, TL_ROLE_CLIENT, 0, when) != TL_OK)
            abort(); /* out of memory: nothing here is worth testing then */
}

/* One segment, dt µs after the previous one. */
static void seg(struct mconn *m, int dir, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len,
                int64_t dt)
{
    struct tl_pkt p;
    memset(&p, 0, sizeof p);
    p.src = dir == C2S ? m->cip : m->sip;
    p.dst = dir == C2S ? m->sip : m->cip;
    p.sport = dir == C2S ? m->cport : m->sport;
    p.dport = dir == C2S ? m->sport : m->cport;
    p.flags = flags;
    p.seq = seq;
    p.ack = ack;
    p.payload_len = len;
    p.win = 65535;
    m->now += dt;
    uint64_t no = ++m->w->pkt_no;
    struct tl_conn *c = m->c;
    if (c->first_pkt == 0) { /* the engine's assign_roles() for a SYN */
        struct tl_flow_key k;
        bool from_a;
        tl_flow_key_make(&p, &k, &from_a);
        c->key = k;
        c->client_is_a = from_a == (dir == C2S);
        c->roles_from = (flags & (S | A)) == S ? TL_ROLES_SYN : TL_ROLES_PORT;
        c->first_ts = m->now;
        c->first_pkt = no;
    }
    c->last_ts = m->now;
    c->last_pkt = no;
    c->packets[dir]++;
    c->bytes[dir] += len;
    mc_advance(m, m->now);
    struct tl_step step;
    tl_tcpstate_update(&m->st, &p, (enum tl_role)dir, m->now, &step);
    if (tl_track_step(&m->tr, &m->st, &step, &p, (enum tl_role)dir, no, m->now) != TL_OK)
        abort();
}

/* Reports the connection to h at now (the engine's retire()). */
static void mc_report(struct mconn *m, struct tl_hosts *h, int64_t now)
{
    mc_advance(m, now);
    tl_hosts_conn(h, m->c, &m->st, &m->tr);
    tl_track_free(&m->tr);
    free(m->c);
    m->c = NULL;
}

static void handshake(struct mconn *m)
{
    seg(m, C2S, S, CISN, 0, 0, 0);
    seg(m, S2C, S | A, SISN, CISN + 1, 0, 100);
    seg(m, C2S, A, CISN + 1, SISN + 1, 0, 100);
}

/* Client-first close in three segments: the client ends in TIME_WAIT. */
static void client_close(struct mconn *m)
{
    seg(m, C2S, F | A, CISN + 1, SISN + 1, 0, 200);
    seg(m, S2C, F | A, SISN + 1, CISN + 2, 0, 100);
    seg(m, C2S, A, CISN + 2, SISN + 2, 0, 100);
}

/* ------------------------------------------------------------ lookups */

static const struct tl_evfield *ev(const struct tl_host_anomaly *ha, const char *key)
{
    for (uint8_t i = 0; i < ha->a.nfields; i++)
        if (strcmp(ha->a.fields[i].key, key) == 0)
            return &ha->a.fields[i];
    return NULL;
}

static int64_t ev_int(const struct tl_host_anomaly *ha, const char *key)
{
    const struct tl_evfield *f = ev(ha, key);
    return f != NULL && f->kind == TL_EVK_INT ? f->v.i : -1;
}

static double ev_real(const struct tl_host_anomaly *ha, const char *key)
{
    const struct tl_evfield *f = ev(ha, key);
    return f != NULL && f->kind == TL_EVK_REAL ? f->v.r : -1.0;
}

static size_t count_type(const struct tl_host_anomaly_list *l, enum tl_anomaly_type t)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += l->a[i].a.type == t;
    return n;
}

static const struct tl_host_anomaly *find(const struct tl_host_anomaly_list *l,
                                          enum tl_anomaly_type t)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->a[i].a.type == t)
            return &l->a[i];
    return NULL;
}

/* Its rendered texts fit their buffers (not cut by vsnprintf), are not
 * empty, and name the host. */
static bool text_ok(const struct tl_host_anomaly *ha)
{
    struct tl_anomaly_text t;
    tl_host_anomaly_render(ha, &t);
    size_t e = strlen(t.explanation), s = strlen(t.suggestion);
    return e > 0 && e + 1 < sizeof t.explanation && s > 0 && s + 1 < sizeof t.suggestion &&
           ha->host[0] != '\0' && strstr(t.explanation, ha->host) != NULL;
}

/* ------------------------------------------------------------ scenarios */

/*
 * One connection attempt from src:cport to dst:dport at t, reported 10 ms
 * after its last segment. Outcome: 'r' refused (RST), 'u' unanswered (SYN
 * retried after 1 s), 'o' half-open (SYN-ACK answered by the client's RST,
 * as nmap -sS does), 'a' answered (handshake completed, then reset).
 */
static uint64_t attempt(struct tl_hosts *h, struct world *w, uint32_t src, uint16_t cport,
                        uint32_t dst, uint16_t dport, int64_t t, char outcome)
{
    struct mconn m;
    mc_start(&m, w, src, cport, dst, dport, t);
    uint64_t id = m.c->id;
    seg(&m, C2S, S, CISN, 0, 0, 0);
    switch (outcome) {
    case 'r': seg(&m, S2C, R | A, 0, CISN + 1, 0, 50); break;
    case 'u': seg(&m, C2S, S, CISN, 0, 0, SEC); break;
    case 'o':
        seg(&m, S2C, S | A, SISN, CISN + 1, 0, 50);
        seg(&m, C2S, R, CISN + 1, 0, 0, 10);
        break;
    default:
        seg(&m, S2C, S | A, SISN, CISN + 1, 0, 50);
        seg(&m, C2S, A, CISN + 1, SISN + 1, 0, 10);
        seg(&m, C2S, R | A, CISN + 1, SISN + 1, 0, 10);
        break;
    }
    mc_report(&m, h, m.now + 10 * MS);
    return id;
}

/* 40 ports of one host: 2 half-open, 3 unanswered, 35 refused. */
static uint64_t port_scan(struct tl_hosts *h, struct world *w, uint32_t src, int64_t t0)
{
    uint64_t first = 0;
    for (int i = 0; i < 40; i++) {
        char o = i % 20 == 0 ? 'o' : i % 13 == 5 ? 'u' : 'r';
        uint64_t id = attempt(h, w, src, (uint16_t)(50000 + i), V4(10, 0, 0, 2), (uint16_t)(1 + i),
                              t0 + i * 2 * MS, o);
        if (i == 0)
            first = id;
    }
    return first;
}

static void test_syn_scan(struct tap *t)
{
    struct world w = {0, 0};
    struct tl_hosts *h = tl_hosts_new(NULL);
    struct tl_host_anomaly_list out = {0};
    uint64_t first = port_scan(h, &w, V4(10, 0, 0, 9), T0);
    /* not scans: many answered connections; many refused ones to one port */
    for (int i = 0; i < 30; i++)
        attempt(h, &w, V4(10, 0, 0, 1), (uint16_t)(40000 + i), V4(10, 0, 0, 2),
                (uint16_t)(1000 + i), T0 + i * MS, 'a');
    for (int i = 0; i < 30; i++)
        attempt(h, &w, V4(10, 0, 0, 3), (uint16_t)(40000 + i), V4(10, 0, 0, 2), 81, T0 + i * MS,
                'r');
    is_int(t, tl_hosts_finish(h, &out), TL_OK, "scan: finish");
    is_int(t, count_type(&out, TL_AN_SYN_SCAN), 1,
           "scan: one syn_scan (not the busy client, "
           "not the retrying one)");
    const struct tl_host_anomaly *ha = find(&out, TL_AN_SYN_SCAN);
    if (ha == NULL) {
        tl_host_anomaly_list_free(&out);
        tl_hosts_free(h);
        return;
    }
    is_str(t, ha->host, "10.0.0.9", "scan: the source");
    is_int(t, ha->a.severity, TL_SEV_WARNING, "scan: warning");
    is_int(t, ha->a.ts, T0, "scan: at its first SYN");
    is_int(t, ev_int(ha, "attempts"), 40, "scan: 40 attempts");
    is_int(t, ev_int(ha, "refused"), 35, "scan: 35 refused");
    is_int(t, ev_int(ha, "unanswered"), 3, "scan: 3 unanswered");
    is_int(t, ev_int(ha, "answered"), 2, "scan: 2 answered");
    is_int(t, ev_int(ha, "half_open"), 2, "scan: both half-open");
    int64_t tg = ev_int(ha, "distinct_targets");
    ok(t, tg >= 36 && tg <= 40, "scan: ~40 distinct targets (linear counting)");
    is_int(t, ev_int(ha, "distinct_hosts"), 1, "scan: one host");
    is_int(t, ha->nconns, TL_HOST_MAX_CONNS, "scan: capped id list");
    is_int(t, ha->conns[0], first, "scan: lowest id first");
    is_int(t, ha->total_conns, 40, "scan: total connections");
    ok(t, text_ok(ha), "scan: explanation and suggestion fit");
    tl_host_anomaly_list_free(&out);
    tl_hosts_free(h);
}

/* A worm: one port on 50 hosts, nothing answers. */
static void test_syn_sweep(struct tap *t)
{
    struct world w = {0, 0};
    struct tl_hosts *h = tl_hosts_new(NULL);
    struct tl_host_anomaly_list out = {0};
    for (int i = 0; i < 50; i++)
        attempt(h, &w, V4(10, 0, 0, 66), (uint16_t)(50000 + i), V4(10, 1, 0, 1 + i), 445,
                T0 + i * 10 * MS, 'u');
    is_int(t, tl_hosts_finish(h, &out), TL_OK, "sweep: finish");
    const struct tl_host_anomaly *ha = find(&out, TL_AN_SYN_SCAN);
    ok(t, ha != NULL, "sweep: syn_scan");
    if (ha != NULL) {
        int64_t hosts = ev_int(ha, "distinct_hosts");
        ok(t, hosts >= 45 && hosts <= 50, "sweep: ~50 hosts");
        is_int(t, ev_int(ha, "distinct_ports"), 1, "sweep: one port");
        is_int(t, ev_int(ha, "unanswered"), 50, "sweep: all unanswered");
    }
    tl_host_anomaly_list_free(&out);
    tl_hosts_free(h);
}

/* n attempts from src, port i on host dst(i), dt apart; outcome o. */
static bool scans(uint32_t n, bool sweep, int64_t dt, char o, const struct tl_hosts_cfg *cfg)
{
    struct world w = {0, 0};
    struct tl_hosts *h = tl_hosts_new(cfg);
    struct tl_host_anomaly_list out = {0};
    for (uint32_t i = 0; i < n; i++)
        attempt(h, &w, V4(10, 0, 0, 77), (uint16_t)(50000 + i),
                sweep ? V4(10, 2, 0, 1 + i) : V4(10, 0, 0, 2), (uint16_t)(sweep ? 445 : 1 + i),
                T0 + (int64_t)i * dt, o);
    bool found = tl_hosts_finish(h, &out) == TL_OK && find(&out, TL_AN_SYN_SCAN) != NULL;
    tl_host_anomaly_list_free(&out);
    tl_hosts_free(h);
    return found;
}

/* Zeek's thresholds, exact: 15 ports of one host or one port on 25 hosts,
 * within 5 minutes, most attempts failing (refused, unanswered, half-open). */
static void test_scan_thresholds(struct tap *t)
{
    ok(t, !scans(14, false, MS, 'r', NULL), "thresholds: 14 ports refused: no scan");
    ok(t, scans(15, false, MS, 'r', NULL), "thresholds: 15 ports refused: a scan");
    ok(t, scans(15, false, MS, 'o', NULL), "thresholds: 15 ports half-open: a scan");
    ok(t, !scans(15, false, MS, 'a', NULL), "thresholds: 15 ports answered: no scan");
    ok(t, !scans(24, true, MS, 'u', NULL), "thresholds: 24 hosts unanswered: no scan");
    ok(t, scans(25, true, MS, 'u', NULL), "thresholds: 25 hosts unanswered: a scan");
    ok(t, !scans(15, false, 30 * SEC, 'r', NULL),
       "thresholds: 15 ports over 7 minutes: no window holds 15");
    ok(t, scans(15, false, 20 * SEC, 'r', NULL), "thresholds: 15 ports in 280 s: a scan");
    struct tl_hosts_cfg cfg = {.scan_ports = 5, .scan_hosts = 3};
    ok(t, scans(5, false, MS, 'r', &cfg) && !scans(4, false, MS, 'r', &cfg),
       "thresholds: --scan-ports 5");
    ok(t, scans(3, true, MS, 'u', &cfg) && !scans(2, true, MS, 'u', &cfg),
       "thresholds: --scan-hosts 3");
}

/* backlog_full as the kernel shows it (docs/kernel-scenarios.md), on
 * listener 10.0.0.2:8080 with listen(1): B1 and B2 fill the queue (never
 * accepted); A's handshake ACK, 200 ms late, is dropped and the server
 * resends its SYN-ACK; C's SYNs are dropped. D, long before, was accepted
 * (the server answered) and does not count. */
static void backlog_full(struct tl_hosts *h, struct world *w, uint64_t ids[5])
{
    struct mconn a, b1, b2, c, d;
    uint32_t cl = V4(10, 0, 0, 1), sv = V4(10, 0, 0, 2);
    mc_start(&d, w, cl, 30400, sv, 8080, T0 - 10 * SEC);
    handshake(&d);
    seg(&d, S2C, P | A, SISN + 1, CISN + 1, 100, MS);
    client_close(&d);
    mc_start(&a, w, cl, 30468, sv, 8080, T0);
    seg(&a, C2S, S, CISN, 0, 0, 0);
    seg(&a, S2C, S | A, SISN, CISN + 1, 0, 11);
    seg(&a, C2S, A, CISN + 1, SISN + 1, 0, 200 * MS);
    mc_start(&b1, w, cl, 30442, sv, 8080, T0 + MS);
    handshake(&b1);
    mc_start(&b2, w, cl, 30454, sv, 8080, T0 + 2 * MS);
    handshake(&b2);
    mc_start(&c, w, cl, 30470, sv, 8080, T0 + 500 * MS);
    for (int i = 0; i < 4; i++)
        seg(&c, C2S, S, CISN, 0, 0, i == 0 ? 0 : SEC);
    seg(&a, S2C, S | A, SISN, CISN + 1, 0, 800 * MS);
    seg(&a, C2S, A, CISN + 1, SISN + 1, 0, 10);
    seg(&a, S2C, S | A, SISN, CISN + 1, 0, 2 * SEC);
    seg(&a, C2S, A, CISN + 1, SISN + 1, 0, 10);
    ids[0] = a.c->id, ids[1] = b1.c->id, ids[2] = b2.c->id, ids[3] = c.c->id, ids[4] = d.c->id;
    int64_t end = T0 + 4 * SEC;
    /* reported in an order of its own: the result must not depend on it */
    mc_report(&c, h, end);
    mc_report(&a, h, end);
    mc_report(&d, h, end);
    mc_report(&b2, h, end);
    mc_report(&b1, h, end);
}

static void test_accept_queue(struct tap *t)
{
    struct world w = {0, 0};
    struct tl_hosts *h = tl_hosts_new(NULL);
    struct tl_host_anomaly_list out = {0};
    uint64_t ids[5];
    backlog_full(h, &w, ids);
    is_int(t, tl_hosts_finish(h, &out), TL_OK, "backlog: finish");
    is_int(t, out.n, 1, "backlog: one host anomaly");
    const struct tl_host_anomaly *ha = find(&out, TL_AN_ACCEPT_QUEUE_OVERFLOW);
    ok(t, ha != NULL, "backlog: accept_queue_overflow");
    if (ha == NULL) {
        tl_host_anomaly_list_free(&out);
        tl_hosts_free(h);
        return;
    }
    is_str(t, ha->host, "10.0.0.2", "backlog: the listener's address");
    is_int(t, ha->port, 8080, "backlog: and port");
    is_int(t, ha->a.severity, TL_SEV_ERROR, "backlog: error");
    is_int(t, ha->a.ts, T0 + 11 + 200 * MS, "backlog: at the dropped ACK");
    is_int(t, ev_int(ha, "queue_estimate"), 2, "backlog: 2 queued = backlog + 1");
    is_int(t, ev_int(ha, "backlog_estimate"), 1, "backlog: listen(1)");
    is_int(t, ev_int(ha, "acks_dropped"), 1, "backlog: A's ACK dropped");
    is_int(t, ev_int(ha, "syns_dropped"), 1, "backlog: C's SYNs dropped");
    is_int(t, ev_int(ha, "completed"), 3, "backlog: B1, B2 and D completed");
    is_int(t, ha->total_conns, 4, "backlog: A, B1, B2, C");
    uint64_t want[4] = {ids[0], ids[1], ids[2], ids[3]};
    bool same = ha->nconns == 4;
    for (int i = 0; same && i < 4; i++)
        same = ha->conns[i] == want[i];
    ok(t, same, "backlog: their ids, ascending");
    ok(t, text_ok(ha), "backlog: explanation and suggestion fit");
    tl_host_anomaly_list_free(&out);
    tl_hosts_free(h);
}

/* One lost handshake ACK on a listener whose connections are all accepted
 * at once, and one connection whose first SYN was lost: no overflow. */
static void test_accept_queue_not(struct tap *t)
{
    struct world w = {0, 0};
    struct tl_hosts *h = tl_hosts_new(NULL);
    struct tl_host_anomaly_list out = {0};
    uint32_t cl = V4(10, 0, 0, 1), sv = V4(10, 0, 0, 5);
    for (int i = 0; i < 5; i++) {
        struct mconn m;
        mc_start(&m, &w, cl, (uint16_t)(30000 + i), sv, 443, T0 + i * 100 * MS);
        handshake(&m);
        seg(&m, S2C, P | A, SISN + 1, CISN + 1, 100, MS); /* accepted: it speaks */
        mc_report(&m, h, T0 + 5 * SEC);
    }
    struct mconn m;
    mc_start(&m, &w, cl, 30100, sv, 443, T0 + SEC);
    handshake(&m);
    seg(&m, S2C, S | A, SISN, CISN + 1, 0, SEC);
    seg(&m, C2S, A, CISN + 1, SISN + 1, 0, 10);
    seg(&m, S2C, P | A, SISN + 1, CISN + 1, 100, MS);
    mc_report(&m, h, T0 + 5 * SEC);
    mc_start(&m, &w, cl, 30101, sv, 443, T0 + 2 * SEC);
    seg(&m, C2S, S, CISN, 0, 0, 0);
    seg(&m, C2S, S, CISN, 0, 0, SEC);
    seg(&m, S2C, S | A, SISN, CISN + 1, 0, 100);
    seg(&m, C2S, A, CISN + 1, SISN + 1, 0, 100);
    mc_report(&m, h, T0 + 5 * SEC);
    is_int(t, tl_hosts_finish(h, &out), TL_OK, "lost ACK: finish");
    is_int(t, out.n, 0, "lost ACK, lost SYN: no accept_queue_overflow");
    tl_host_anomaly_list_free(&out);
    tl_hosts_free(h);
}

/* The queue was already full when the capture began: nothing completes,
 * two clients' ACKs are dropped again and again. */
static void test_accept_queue_before(struct tap *t)
{
    struct world w = {0, 0};
    struct tl_hosts *h = tl_hosts_new(NULL);
    struct tl_host_anomaly_list out = {0};
    for (int i = 0; i < 2; i++) {
        struct mconn m;
        mc_start(&m, &w, V4(10, 0, 0, 1), (uint16_t)(31000 + i), V4(10, 0, 0, 2), 8080,
                 T0 + i * 10 * MS);
        handshake(&m);
        for (int k = 0; k < 2; k++) {
            seg(&m, S2C, S | A, SISN, CISN + 1, 0, (k + 1) * SEC);
            seg(&m, C2S, A, CISN + 1, SISN + 1, 0, 10);
        }
        mc_report(&m, h, T0 + 10 * SEC);
    }
    is_int(t, tl_hosts_finish(h, &out), TL_OK, "full before: finish");
    const struct tl_host_anomaly *ha = find(&out, TL_AN_ACCEPT_QUEUE_OVERFLOW);
    ok(t, ha != NULL, "full before: repeated ACK drops are enough");
    ok(t, ha != NULL && ev_int(ha, "queue_estimate") == 0 && ev(ha, "backlog_estimate") == NULL,
       "full before: the queue size is unknown");
    ok(t, ha != NULL && text_ok(ha), "full before: explained");
    tl_host_anomaly_list_free(&out);
    tl_hosts_free(h);
}

/* n client-first (or server-first) connections from src to 10.0.0.2:80,
 * one every gap µs from t0. */
static void burst(struct tl_hosts *h, struct world *w, uint32_t src, int n, int64_t t0, int64_t gap,
                  bool client_first)
{
    for (int i = 0; i < n; i++) {
        struct mconn m;
        mc_start(&m, w, src, (uint16_t)(32768 + i), V4(10, 0, 0, 2), 80, t0 + i * gap);
        handshake(&m);
        if (client_first) {
            client_close(&m);
        } else {
            seg(&m, S2C, F | A, SISN + 1, CISN + 1, 0, 200);
            seg(&m, C2S, F | A, CISN + 1, SISN + 2, 0, 100);
            seg(&m, S2C, A, SISN + 2, CISN + 2, 0, 100);
        }
        mc_report(&m, h, m.now + 5 * MS);
    }
}

static const struct tl_host_anomaly *find_host(const struct tl_host_anomaly_list *l,
                                               enum tl_anomaly_type type, const char *host)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->a[i].a.type == type && strcmp(l->a[i].host, host) == 0)
            return &l->a[i];
    return NULL;
}

static void test_time_wait_pressure(struct tap *t)
{
    struct world w = {0, 0};
    struct tl_hosts *h = tl_hosts_new(NULL);
    struct tl_host_anomaly_list out = {0};
    burst(h, &w, V4(10, 0, 0, 1), 150, T0, 2 * MS, true);  /* 500/s: exhausted */
    burst(h, &w, V4(10, 0, 0, 7), 150, T0, 4 * MS, true);  /* 250/s: half full */
    burst(h, &w, V4(10, 0, 0, 8), 150, T0, 10 * MS, true); /* 100/s: fine */
    burst(h, &w, V4(10, 0, 0, 9), 50, T0, MS, true);       /* too few to say */
    burst(h, &w, V4(10, 0, 0, 10), 150, T0, MS, false);    /* server holds TIME_WAIT */
    is_int(t, tl_hosts_finish(h, &out), TL_OK, "tw: finish");
    is_int(t, count_type(&out, TL_AN_TIME_WAIT_PRESSURE), 2, "tw: two clients under pressure");
    const struct tl_host_anomaly *ha = find_host(&out, TL_AN_TIME_WAIT_PRESSURE, "10.0.0.1");
    ok(t, ha != NULL, "tw: 10.0.0.1 at 500/s");
    if (ha != NULL) {
        is_int(t, ha->a.severity, TL_SEV_ERROR, "tw: 500/s exhausts 28232 ports within 60 s");
        is_str(t, ha->peer, "10.0.0.2", "tw: the server");
        is_int(t, ha->peer_port, 80, "tw: its port");
        is_int(t, ev_int(ha, "time_wait"), 150, "tw: 150 TIME_WAITs");
        double rate = ev_real(ha, "rate");
        ok(t, rate > 499.0 && rate < 501.0, "tw: rate 500/s");
        double ex = ev_real(ha, "exhaustion_s");
        ok(t, ex > 56.0 && ex < 57.0, "tw: exhausted after 56.5 s");
        is_int(t, ev_int(ha, "port_range"), 28232, "tw: default port range");
        is_int(t, ha->total_conns, 150, "tw: total");
        ok(t, text_ok(ha), "tw: explanation and suggestion fit");
    }
    ha = find_host(&out, TL_AN_TIME_WAIT_PRESSURE, "10.0.0.7");
    ok(t, ha != NULL && ha->a.severity == TL_SEV_WARNING, "tw: 250/s is a warning");
    ok(t, ha != NULL && ev(ha, "exhaustion_s") == NULL, "tw: no exhaustion at 250/s");
    tl_host_anomaly_list_free(&out);
    tl_hosts_free(h);
}

/* Two bursts of 120 five minutes apart: judged by the busiest 60 s. */
static void test_time_wait_windows(struct tap *t)
{
    struct world w = {0, 0};
    struct tl_hosts *h = tl_hosts_new(NULL);
    struct tl_host_anomaly_list out = {0};
    burst(h, &w, V4(10, 0, 0, 11), 120, T0, MS, true);
    burst(h, &w, V4(10, 0, 0, 11), 130, T0 + 300 * SEC, MS, true);
    is_int(t, tl_hosts_finish(h, &out), TL_OK, "tw windows: finish");
    const struct tl_host_anomaly *ha = find(&out, TL_AN_TIME_WAIT_PRESSURE);
    ok(t, ha != NULL && ev_int(ha, "time_wait") == 130, "tw windows: the busier window");
    ok(t, ha != NULL && ha->total_conns == 250, "tw windows: every connection counted");
    tl_host_anomaly_list_free(&out);
    tl_hosts_free(h);
}

/* A cap of 4 aggregates: the scanner's is evicted by later traffic, but
 * what it proved is still reported; max_anomalies caps the output. */
static void test_caps(struct tap *t)
{
    struct world w = {0, 0};
    struct tl_hosts_cfg cfg = {.max_hosts = 4};
    struct tl_hosts *h = tl_hosts_new(&cfg);
    struct tl_host_anomaly_list out = {0};
    port_scan(h, &w, V4(10, 0, 0, 9), T0);
    for (int i = 0; i < 10; i++)
        attempt(h, &w, V4(10, 0, 1, 1 + i), 40000, V4(10, 0, 0, 3), 80, T0 + SEC + i * MS, 'a');
    ok(t, tl_hosts_evicted(h) > 0, "caps: aggregates evicted");
    is_int(t, tl_hosts_finish(h, &out), TL_OK, "caps: finish");
    ok(t, find(&out, TL_AN_SYN_SCAN) != NULL, "caps: the evicted scanner is still reported");
    tl_host_anomaly_list_free(&out);
    tl_hosts_free(h);

    struct tl_hosts_cfg one = {.max_anomalies = 1};
    h = tl_hosts_new(&one);
    port_scan(h, &w, V4(10, 0, 0, 9), T0 + SEC);
    port_scan(h, &w, V4(10, 0, 0, 8), T0);
    is_int(t, tl_hosts_finish(h, &out), TL_OK, "caps: finish with max_anomalies 1");
    is_int(t, out.n, 1, "caps: one anomaly kept");
    is_int(t, tl_hosts_dropped(h), 1, "caps: one counted as dropped");
    tl_host_anomaly_list_free(&out);
    tl_hosts_free(h);
}

/* Output is ordered by time, whatever the feeding order; finish empties. */
static void test_order(struct tap *t)
{
    struct world w = {0, 0};
    struct tl_hosts *h = tl_hosts_new(NULL);
    struct tl_host_anomaly_list out = {0};
    port_scan(h, &w, V4(10, 0, 0, 9), T0 + SEC);
    port_scan(h, &w, V4(10, 0, 0, 8), T0);
    is_int(t, tl_hosts_finish(h, &out), TL_OK, "order: finish");
    ok(t,
       out.n == 2 && strcmp(out.a[0].host, "10.0.0.8") == 0 &&
           strcmp(out.a[1].host, "10.0.0.9") == 0,
       "order: earliest first");
    is_int(t, tl_hosts_finish(h, &out), TL_OK, "order: finish again");
    is_int(t, out.n, 2, "order: nothing new the second time");
    tl_host_anomaly_list_free(&out);
    tl_hosts_free(h);
    tl_hosts_free(NULL);
}

/* What host-level detection reads of connection id of a client that
 * closed first, its TIME_WAIT at tw. */
static struct tl_host_conn tw_conn(uint64_t id, int64_t tw)
{
    struct tl_host_conn hc;
    memset(&hc, 0, sizeof hc);
    hc.id = id;
    hc.client = v4(V4(10, 0, 0, 1));
    hc.server = v4(V4(10, 0, 0, 2));
    hc.server_port = 80;
    hc.syn_seen = true;
    hc.hs_ack = true;
    hc.first_ts = hc.hs_ack_ts = tw - 300 * MS;
    hc.accepted_ts = tw - 200 * MS;
    hc.client_time_wait_ts = tw;
    return hc;
}

/* The time_wait count of the one time_wait_pressure h found, or -1; frees h. */
static int64_t tw_found(struct tl_hosts *h)
{
    struct tl_host_anomaly_list out = {0};
    int64_t n = -1;
    if (tl_hosts_finish(h, &out) == TL_OK && out.n == 1)
        n = ev_int(&out.a[0], "time_wait");
    tl_host_anomaly_list_free(&out);
    tl_hosts_free(h);
    return n;
}

/* Connections end in any order; tl_hosts_take() feeds them in id order,
 * so the 60 s windows (which depend on the order) come out as when fed in
 * order, as tcplens merge feeds them. 250 connections: 100 TIME_WAITs
 * within 0.2 s, then 150 within 0.3 s 100 s later. */
static void test_id_order(struct tap *t)
{
    enum { N = 250 };
    struct tl_host_conn hc[N];
    for (int i = 0; i < N; i++)
        hc[i] = tw_conn((uint64_t)i + 1, i < 100 ? T0 + i * 2 * MS : T0 + 100 * SEC + i * 2 * MS);
    /* An order of ends: a fixed shuffle (xorshift). */
    int order[N];
    for (int i = 0; i < N; i++)
        order[i] = i;
    uint64_t x = 88172645463325252u;
    for (int i = N - 1; i > 0; i--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int j = (int)(x % (uint64_t)(i + 1)), k = order[i];
        order[i] = order[j];
        order[j] = k;
    }
    struct tl_hosts *h = tl_hosts_new(NULL);
    for (int i = 0; i < N; i++)
        tl_hosts_feed(h, &hc[i]);
    int64_t in_order = tw_found(h);
    is_int(t, in_order, 150, "id order: fed in order, the busier window (150)");

    /* As the engine hands them: the oldest id not handed over yet. */
    bool done[N] = {false};
    h = tl_hosts_new(NULL);
    for (int i = 0, low = 0; i < N; i++) {
        done[order[i]] = true;
        while (low < N && done[low])
            low++;
        tl_hosts_take(h, &hc[order[i]], (uint64_t)low + 1);
    }
    is_int(t, tl_hosts_out_of_order(h), 0, "id order: none fed out of order");
    is_int(t, tw_found(h), in_order, "id order: taken as they end, found as in order");

    h = tl_hosts_new(NULL);
    for (int i = 0; i < N; i++)
        tl_hosts_feed(h, &hc[order[i]]);
    ok(t, tw_found(h) != in_order, "id order: fed as they end, the windows differ (the control)");
}

int main(void)
{
    struct tap t = {0, 0};
    test_syn_scan(&t);
    test_id_order(&t);
    test_scan_thresholds(&t);
    test_syn_sweep(&t);
    test_accept_queue(&t);
    test_accept_queue_not(&t);
    test_accept_queue_before(&t);
    test_time_wait_pressure(&t);
    test_time_wait_windows(&t);
    test_caps(&t);
    test_order(&t);
    return tap_done(&t);
}
