/*
 * The quantile sketch (sketch.h), the data RTT sampler (rtt.h) and the
 * service and host tables (services.h).
 */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tcplens/rtt.h"
#include "tcplens/services.h"
#include "tcplens/sketch.h"

/* ---- the sketch ---- */

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The exact nearest-rank q-quantile of sorted v[n]. */
static int64_t exact_q(const int64_t *v, size_t n, double q)
{
    size_t rank = (size_t)(q * (double)n);
    if ((double)rank < q * (double)n || rank == 0)
        rank++;
    return v[rank - 1];
}

/* A deterministic generator (64-bit LCG, high bits). */
static uint32_t lcg(uint64_t *s)
{
    *s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (uint32_t)(*s >> 33);
}

/* Every quantile within 1/32 of the exact one, the maximum exact. */
static void within_bound(struct tap *t, int64_t *v, size_t n, const char *what)
{
    struct tl_sketch s = {0};
    for (size_t i = 0; i < n; i++)
        tl_sketch_add(&s, v[i]);
    qsort(v, n, sizeof *v, cmp64);
    const double qs[] = {0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999};
    bool ok = true;
    double worst = 0;
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        int64_t want = exact_q(v, n, qs[i]), got = tl_sketch_quantile(&s, qs[i]);
        int64_t err = got > want ? got - want : want - got;
        if (want > 0 && (double)err / (double)want > worst)
            worst = (double)err / (double)want;
        ok = ok && (double)err <= (double)want / 32.0;
    }
    char name[160];
    snprintf(name, sizeof name, "%s: quantiles within 3.125 %% (worst %.4f)", what, worst);
    ok(t, ok, name);
    snprintf(name, sizeof name, "%s: max and count exact", what);
    ok(t, tl_sketch_quantile(&s, 1.0) == v[n - 1] && s.max == v[n - 1] && s.min == v[0] && s.n == n,
       name);
    tl_sketch_free(&s);
}

static void test_sketch(struct tap *t)
{
    bool ok = true;
    for (int64_t v = 0; v < 5000000; v += 1 + v / 64) {
        int64_t mid = tl_sketch_mid(tl_sketch_bucket(v));
        int64_t err = mid > v ? mid - v : v - mid;
        ok = ok && (v < 16 ? err == 0 : (double)err <= (double)v / 32.0);
    }
    ok(t, ok, "every value's bucket middle within 1/32 of it (exact below 16 us)");
    is_int(t, tl_sketch_bucket(INT64_C(1) << 40), TL_SKETCH_BUCKETS - 1,
           "values past 2^32 us count in the last bucket");
    is_int(t, tl_sketch_bucket(-5), 0, "a negative value counts as 0");

    enum { N = 100000 };
    int64_t *v = malloc(N * sizeof *v);
    if (v == NULL)
        abort();
    for (size_t i = 0; i < N; i++)
        v[i] = (int64_t)i + 1;
    within_bound(t, v, N, "uniform 1..100000 us");
    uint64_t seed = 42;
    for (size_t i = 0; i < N; i++) { /* log-uniform over 10 us .. 10 s */
        double u = (double)lcg(&seed) / 2147483648.0;
        double x = 10.0;
        for (double e = u * 6.0; e > 0; e -= 1.0)
            x *= e >= 1.0 ? 10.0 : 1.0 + 9.0 * e;
        v[i] = (int64_t)x;
    }
    within_bound(t, v, N, "log-uniform 10 us .. 10 s");
    for (size_t i = 0; i < N; i++) /* two modes: a LAN and a WAN path */
        v[i] = (lcg(&seed) & 1) != 0 ? 200 + lcg(&seed) % 50 : 80000 + lcg(&seed) % 20000;
    within_bound(t, v, N, "bimodal 200 us / 80 ms");
    for (size_t i = 0; i < 1000; i++)
        v[i] = 12345;
    within_bound(t, v, 1000, "constant");

    /* Merge: two halves merged are the sketch of the whole. */
    struct tl_sketch a = {0}, b = {0}, all = {0};
    for (size_t i = 0; i < N; i++) {
        int64_t x = (int64_t)(lcg(&seed) % 1000000);
        tl_sketch_add(i % 3 == 0 ? &a : &b, x);
        tl_sketch_add(&all, x);
    }
    tl_sketch_merge(&a, &b);
    bool same = a.n == all.n && a.min == all.min && a.max == all.max;
    for (uint32_t i = 0; i < TL_SKETCH_BUCKETS; i++)
        same = same && tl_sketch_count(&a, i) == tl_sketch_count(&all, i);
    ok(t, same, "merge: the counters, count, min and max of the whole");
    /* Ranges that do not meet: 20 us and 5 s, merged both ways. */
    struct tl_sketch lo = {0}, hi = {0};
    tl_sketch_add(&lo, 20);
    tl_sketch_add(&hi, 5000000);
    tl_sketch_merge(&hi, &lo);
    ok(t,
       hi.n == 2 && tl_sketch_quantile(&hi, 0.5) == tl_sketch_mid(tl_sketch_bucket(20)) &&
           tl_sketch_quantile(&hi, 0.99) == 5000000,
       "merge of ranges apart: both values kept");
    ok(t, lo.bn == TL_SKETCH_SUB, "one value holds one octave's counters");
    tl_sketch_free(&lo);
    tl_sketch_free(&hi);
    is_int(t, tl_sketch_quantile(&a, 0.99), tl_sketch_quantile(&all, 0.99), "merge: the same p99");
    struct tl_sketch empty = {0};
    tl_sketch_merge(&a, &empty);
    is_int(t, a.n, all.n, "merging an empty sketch changes nothing");
    is_int(t, tl_sketch_quantile(&empty, 0.5), 0, "an empty sketch's quantile is 0");
    tl_sketch_free(&a);
    tl_sketch_free(&b);
    tl_sketch_free(&all);
    free(v);
}

/* ---- the RTT sampler ---- */

enum { C = 0, S = 1 };

static void data(struct tl_rtt *r, int from, uint32_t seq, uint32_t len, int64_t ts)
{
    if (!tl_rtt_segment(r, from, seq, len, false, true, 9000, ts))
        abort();
}

static void ack(struct tl_rtt *r, int from, uint32_t ack_no, int64_t ts)
{
    if (!tl_rtt_segment(r, from, 9000, 0, false, true, ack_no, ts))
        abort();
}

/* Starts a new case. */
static void reset(struct tl_rtt *r)
{
    tl_rtt_release(r);
    memset(r, 0, sizeof *r);
}

static void test_rtt(struct tap *t)
{
    struct tl_rtt r;
    memset(&r, 0, sizeof r);
    reset(&r);
    data(&r, C, 1000, 100, 0);
    ack(&r, S, 1100, 500);
    is_int(t, r.d[C].st.n, 1, "one segment, its ACK: one sample");
    is_int(t, r.d[C].st.min, 500, "from the segment to the ACK");
    is_int(t, r.d[S].st.n, 0, "the other direction has none");

    reset(&r);
    data(&r, C, 1000, 100, 0);
    data(&r, C, 1100, 100, 100);
    data(&r, C, 1200, 100, 200);
    ack(&r, S, 1300, 1000);
    is_int(t, r.d[C].st.n, 1, "one ACK of three segments: one sample");
    is_int(t, r.d[C].st.min, 1000, "from the earliest of them");
    is_int(t, r.ring->n[C], 0, "all three are done");

    reset(&r);
    data(&r, C, 1000, 100, 0);
    data(&r, C, 1000, 100, 300); /* sent again */
    ack(&r, S, 1100, 400);
    is_int(t, r.d[C].st.n, 0, "Karn: the ACK of a retransmitted segment gives no sample");
    data(&r, C, 1100, 100, 500);
    ack(&r, S, 1200, 650);
    is_int(t, r.d[C].st.n, 1, "new data after it is timed again");
    is_int(t, r.d[C].st.max, 150, "from its own send");

    reset(&r);
    data(&r, C, 1000, 100, 0);
    data(&r, C, 1100, 100, 10);
    data(&r, C, 1100, 50, 300); /* part of the second again */
    ack(&r, S, 1200, 400);
    is_int(t, r.d[C].st.n, 0, "an ACK covering a partly resent segment gives none");

    reset(&r);
    data(&r, C, 1000, 100, 0);
    ack(&r, S, 1050, 100);
    is_int(t, r.d[C].st.n, 0, "an ACK inside a segment gives none");
    ack(&r, S, 1100, 200);
    is_int(t, r.d[C].st.n, 1, "the ACK of its end does");
    is_int(t, r.d[C].st.min, 200, "from its send");
    ack(&r, S, 1100, 300);
    is_int(t, r.d[C].st.n, 1, "a duplicate ACK gives none");

    reset(&r);
    for (uint32_t i = 0; i < 20; i++)
        data(&r, C, 1000 + 100 * i, 100, i);
    is_int(t, r.ring->n[C], TL_RTT_WINDOW, "at most TL_RTT_WINDOW segments timed");
    for (uint32_t i = 0; i < 20; i++)
        ack(&r, S, 1100 + 100 * i, 1000 + i);
    is_int(t, r.d[C].st.n, TL_RTT_WINDOW, "the untimed ones give no sample");
    is_int(t, r.ring->n[C], 0, "and the window empties");

    reset(&r);
    data(&r, S, 5000, 10, 0);
    ack(&r, C, 5010, 800);
    data(&r, S, 5010, 10, 1000);
    ack(&r, C, 5020, 1000);
    is_int(t, r.d[S].st.srtt, 700, "SRTT: 7/8 of 800 and 1/8 of 0");
    is_int(t, r.d[S].st.min, 0, "min");
    is_int(t, r.d[S].st.max, 800, "max");

    reset(&r);
    data(&r, C, UINT32_MAX - 49, 100, 0); /* wraps past 2^32 */
    ack(&r, S, 50, 70);
    is_int(t, r.d[C].st.n, 1, "sequence numbers wrap");
    is_int(t, r.d[C].st.min, 70, "and the sample is right");

    reset(&r);
    data(&r, C, 1000, 100, 0);
    tl_rtt_release(&r); /* packed: what was timed gives no sample */
    ack(&r, S, 1100, 60);
    is_int(t, r.d[C].st.n, 0, "segments timed before the state was packed give none");
    data(&r, C, 1000, 100, 70); /* sent again after it */
    ack(&r, S, 1100, 80);
    is_int(t, r.d[C].st.n, 0, "a retransmission after packing is still known as one");

    reset(&r);
    data(&r, C, 1000, 100, 0);
    if (!tl_rtt_segment(&r, C, 1100, 0, true, true, 9000, 50)) /* its FIN */
        abort();
    ack(&r, S, 1101, 90);
    is_int(t, r.d[C].st.n, 1, "the ACK of data and FIN gives the data's sample");
    ack(&r, S, 900000, 100);
    is_int(t, r.d[C].st.n, 1, "an ACK of what was never sent changes nothing");
    reset(&r);
}

/* ---- the service and host tables ---- */

struct fake {
    struct tl_conn *c;
    struct tl_tcpstate tcp;
    struct tl_conn_perf perf;
    struct tl_anomaly_list an;
    struct tl_anomaly one;
};

static struct tl_addr v4(uint8_t d)
{
    struct tl_addr x;
    memset(&x, 0, sizeof x);
    x.family = TL_AF_INET;
    x.b[0] = 10;
    x.b[3] = d;
    return x;
}

/* A connection from 10.0.0.cl to 10.0.0.sv:port with the given id. */
static void fake(struct fake *f, uint64_t id, uint8_t cl, uint8_t sv, uint16_t port)
{
    memset(f, 0, sizeof *f);
    f->c = calloc(1, sizeof *f->c);
    if (f->c == NULL)
        abort();
    f->c->id = id;
    f->c->client_is_a = true;
    f->c->key.a = v4(cl);
    f->c->key.b = v4(sv);
    f->c->key.pa = 40000;
    f->c->key.pb = port;
    f->c->roles_from = TL_ROLES_SYN;
    f->c->packets[0] = f->c->packets[1] = 3;
    f->c->end = TL_END_FIN;
    f->tcp.ep[0].state = TL_EP_TIME_WAIT;
    f->tcp.ep[1].state = TL_EP_CLOSED;
    f->perf.rtt.syn_synack = 1000 * (int64_t)id;
    f->perf.rtt.synack_ack = -1;
    f->perf.data_segs[0] = 10;
    f->perf.retx_segs[0] = 1;
}

static struct tl_conn_view view(struct fake *f)
{
    struct tl_conn_view v = {.conn = f->c, .tcp = &f->tcp, .perf = &f->perf};
    if (f->an.n != 0)
        v.anomalies = &f->an;
    return v;
}

static void test_services(struct tap *t)
{
    struct tl_services s;
    tl_services_init(&s, 3);
    struct fake f;
    /* Connections end out of id order: 3 to :80 first, then 1, 2. */
    fake(&f, 3, 1, 9, 80);
    struct tl_conn_view v = view(&f);
    tl_services_add(&s, &v);
    free(f.c);
    fake(&f, 1, 2, 9, 443);
    f.c->packets[1] = 0; /* never answered */
    f.c->end = TL_END_TIMEOUT;
    f.perf.rtt.syn_synack = -1;
    f.perf.rsts[1] = 1;
    v = view(&f);
    tl_services_add(&s, &v);
    free(f.c);
    fake(&f, 2, 1, 9, 80);
    f.one.type = TL_AN_REFUSED;
    f.an.a = &f.one;
    f.an.n = 1;
    v = view(&f);
    tl_services_add(&s, &v);
    free(f.c);

    is_int(t, s.svc.n, 2, "two services");
    is_int(t, s.hosts.n, 2, "two client hosts");
    const struct tl_svc **o = tl_svc_sorted(&s.svc);
    ok(t, o != NULL && o[0]->port == 443 && o[1]->port == 80,
       "services in first-seen order: the lowest connection id first");
    const struct tl_svc *web = o != NULL ? o[1] : NULL, *tls = o != NULL ? o[0] : NULL;
    if (web == NULL || tls == NULL)
        return;
    is_int(t, web->connections, 2, ":80 has two connections");
    is_int(t, web->first_id, 2, "its first is connection 2");
    is_int(t, web->refused, 1, "one refused");
    is_int(t, web->states[0][TL_EP_TIME_WAIT], 2, "both clients ended in TIME_WAIT");
    is_int(t, web->syn_synack.n, 2, "two handshake samples");
    is_int(t, web->syn_synack.max, 3000, "the slower one's");
    is_int(t, web->synack_ack.n, 0, "no SYN-ACK to ACK leg seen");
    is_int(t, web->data_segs, 20, "data segments summed");
    ok(t, tl_svc_retx_rate(web) > 0.0999 && tl_svc_retx_rate(web) < 0.1001,
       "retransmission rate 1 in 10");
    is_int(t, tls->unanswered, 1, ":443's SYN got no answer");
    is_int(t, tls->timeouts, 1, "and timed out");
    is_int(t, tls->resets[1], 1, "an RST by the server counted");
    is_int(t, tls->syn_synack.n, 0, "no handshake sample");

    /* The cap: a third and fourth service, with the table at 3. */
    for (uint16_t p = 1; p <= 2; p++) {
        fake(&f, 10 + p, 3, 9, p);
        v = view(&f);
        tl_services_add(&s, &v);
        free(f.c);
    }
    is_int(t, s.svc.n, 3, "the table stops at its cap");
    is_int(t, s.svc.untracked, 1, "the connection of the service past it is counted untracked");
    is_int(t, s.hosts.n, 3, "the hosts' table has its own cap");
    fake(&f, 20, 1, 9, 80);
    v = view(&f);
    tl_services_add(&s, &v);
    free(f.c);
    is_int(t, s.svc.untracked, 1, "a service in the table is still counted when it is full");
    tl_services_free(&s);
    is_int(t, s.svc.n, 0, "freed tables are empty");
}

int main(void)
{
    struct tap t = {0, 0};
    test_sketch(&t);
    test_rtt(&t);
    test_services(&t);
    return tap_done(&t);
}
