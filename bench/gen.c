/*
 * gen.c - synthetic pcap generator for the tcplens benchmark.
 *
 * Writes a classic pcap file (microsecond timestamps, LINKTYPE_ETHERNET)
 * holding many interleaved, realistic TCP connections.  It uses plain stdio
 * and no libpcap on purpose: the benchmark must not depend on the library
 * whose read loop it measures, and building packets straight into one big
 * output buffer is what lets it write ten million packets in a few seconds.
 *
 * Model: a fixed number of connection "slots" (-C) are in flight at once.
 * When a slot's connection starts, its whole packet script is built up front
 * (seq/ack/timestamp arithmetic is easiest to get right in one pass); a
 * min-heap keyed on each slot's next packet time then interleaves all
 * slots, so the output is in time order without sorting.  When a script
 * runs out, the slot starts the next connection.
 *
 * Every random choice comes from one seeded xoshiro256** stream, so a seed
 * and a command line always give the same bytes.  The scripts themselves,
 * one per kind of connection, are in gen_tcp.c.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"

#define EPOCH_BASE 1704067200u /* 2024-01-01T00:00:00Z */
#define LINKTYPE_EN10MB 1u
/* Like tcpdump -s 128: the headers of every segment, and ICMP errors
 * whole (up to 122 bytes: an IPv6 one quoting its segment's headers),
 * which libpcap refuses past the file's snaplen. */
#define SNAP_HEADERS 128u
#define SNAP_FULL 262144u
#define OUT_BUF_SIZE (8u << 20)
#define REUSE_RING_SIZE 4096u
#define N_CLIENT_ADDRS 65534u
#define N_EPHEMERAL 28232u /* Linux 32768-60999 */

struct hent {
    uint64_t t;
    uint32_t slot;
};
struct heap {
    struct hent *a;
    uint32_t n;
};

struct reuse_ring {
    struct tuple a[REUSE_RING_SIZE];
    uint32_t n;
};

struct payload {
    uint8_t bytes[MAX_PAYLOAD];
    uint32_t sum[MAX_PAYLOAD + 1]; /* checksum of bytes[0..L) for each L */
};

struct out {
    FILE *f;
    uint8_t *buf;
    size_t len;
    uint64_t bytes;
    bool err;
};

struct stats {
    uint64_t pkts, conns, v6, wraps, truncated, reuse_fallback;
    uint64_t full_size; /* frames of 1514 bytes on the wire */
    uint64_t by_kind[K_NKINDS];
    uint64_t last_t;
};

struct gen {
    const struct cfg *cfg;
    struct rng rng;
    struct payload pay;
    struct out out;
    struct conn *slots;
    struct heap heap;
    struct reuse_ring ring;
    struct stats st;
    uint64_t tuple_seq;
    uint64_t scheduled; /* packets promised by started scripts */
    bool oom;
};

/* ---- random numbers ---------------------------------------------------- */

/* splitmix64 spreads any seed, even 0, over the whole xoshiro state. */
static void rng_seed(struct rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        r->s[i] = z ^ (z >> 31);
    }
}

/* ---- byte writers ------------------------------------------------------ */

static void be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    be16(p, v >> 16);
    be16(p + 2, v);
}

/* pcap headers are written little-endian explicitly so the file is the same
 * whatever the host byte order. */
static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void le16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    return acc;
}

static uint16_t csum_fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

/* ---- output ------------------------------------------------------------ */

static void out_flush(struct out *o)
{
    if (o->len && fwrite(o->buf, 1, o->len, o->f) != o->len)
        o->err = true;
    o->bytes += o->len;
    o->len = 0;
}

/* Packets are built in place; the caller commits with o->len += n. */
static uint8_t *out_reserve(struct out *o, size_t n)
{
    if (o->len + n > OUT_BUF_SIZE)
        out_flush(o);
    return o->buf + o->len;
}

static void put_file_header(struct out *o, bool full)
{
    uint8_t *p = out_reserve(o, 24);

    le32(p, 0xa1b2c3d4u); /* microsecond magic */
    le16(p + 4, 2);
    le16(p + 6, 4);
    le32(p + 8, 0);  /* thiszone */
    le32(p + 12, 0); /* sigfigs */
    le32(p + 16, full ? SNAP_FULL : SNAP_HEADERS);
    le32(p + 20, LINKTYPE_EN10MB);
    o->len += 24;
}

static void payload_init(struct payload *pay)
{
    static const char text[] = "tcplens synthetic payload 0123456789 ";

    pay->sum[0] = 0;
    for (size_t i = 0; i < MAX_PAYLOAD; i++) {
        pay->bytes[i] = (uint8_t)text[i % (sizeof text - 1)];
        pay->sum[i + 1] = sum16(pay->bytes, i + 1, 0);
    }
}

/* ---- packet encoding --------------------------------------------------- */

static size_t tcp_hdr_len(uint8_t opt)
{
    static const uint8_t len[] = {
        [OPT_NONE] = 20, [OPT_TS] = 32, [OPT_SYN_TS] = 40, [OPT_SYN_NOTS] = 32, [OPT_ICMP] = 20,
    };
    return len[opt];
}

static void put_ts(uint8_t *p, const struct seg *s)
{
    p[0] = 8;
    p[1] = 10;
    be32(p + 2, s->tsval);
    be32(p + 6, s->tsecr);
}

/* Option layouts are Linux's, so decoders meet what they meet in real
 * captures: MSS, SACK_PERM, TS, NOP, WS on a SYN. */
static void put_tcp_opts(uint8_t *p, const struct conn *c, const struct seg *s)
{
    static const uint8_t nop_nop[2] = {1, 1};

    switch (s->opt) {
    case OPT_SYN_TS:
        p[0] = 2;
        p[1] = 4;
        be16(p + 2, c->mss[s->dir]);
        p[4] = 4;
        p[5] = 2;
        put_ts(p + 6, s);
        p[16] = 1;
        p[17] = 3;
        p[18] = 3;
        p[19] = c->ws[s->dir];
        break;
    case OPT_SYN_NOTS:
        p[0] = 2;
        p[1] = 4;
        be16(p + 2, c->mss[s->dir]);
        p[4] = 1;
        p[5] = 1;
        p[6] = 4;
        p[7] = 2;
        p[8] = 1;
        p[9] = 3;
        p[10] = 3;
        p[11] = c->ws[s->dir];
        break;
    case OPT_TS:
        memcpy(p, nop_nop, 2);
        put_ts(p + 2, s);
        break;
    default: break;
    }
}

static void put_tcp(uint8_t *p, const struct conn *c, const struct seg *s, size_t thl)
{
    be16(p, c->tup.port[s->dir]);
    be16(p + 2, c->tup.port[!s->dir]);
    be32(p + 4, s->seq);
    be32(p + 8, s->ack);
    p[12] = (uint8_t)((thl / 4) << 4);
    p[13] = s->flags;
    be16(p + 14, s->win);
    be16(p + 16, 0);
    be16(p + 18, 0);
    put_tcp_opts(p + 20, c, s);
}

static uint32_t pseudo_sum(const struct conn *c, const struct seg *s, size_t tcp_len)
{
    size_t alen = c->tup.v6 ? 16 : 4;
    uint32_t acc = sum16(c->tup.addr[s->dir], alen, 0);

    acc = sum16(c->tup.addr[!s->dir], alen, acc);
    return acc + 6 + (uint32_t)tcp_len;
}

static void put_ipv4(uint8_t *p, struct conn *c, const struct seg *s, size_t tot)
{
    p[0] = 0x45;
    p[1] = 0;
    be16(p + 2, (uint32_t)tot);
    be16(p + 4, c->ip_id[s->dir]++);
    be16(p + 6, 0x4000); /* DF, as Linux sets with PMTU discovery */
    p[8] = s->dir == CLI ? 64 : 57;
    p[9] = 6;
    be16(p + 10, 0);
    memcpy(p + 12, c->tup.addr[s->dir], 4);
    memcpy(p + 16, c->tup.addr[!s->dir], 4);
    be16(p + 10, csum_fold(sum16(p, 20, 0)));
}

static void put_ipv6(uint8_t *p, const struct conn *c, const struct seg *s, size_t plen)
{
    be32(p, 0x60000000u | c->flow_label[s->dir]);
    be16(p + 4, (uint32_t)plen);
    p[6] = 6;
    p[7] = s->dir == CLI ? 64 : 57;
    memcpy(p + 8, c->tup.addr[s->dir], 16);
    memcpy(p + 24, c->tup.addr[!s->dir], 16);
}

static void put_eth(uint8_t *p, const struct seg *s, bool v6)
{
    static const uint8_t mac[2][6] = {
        {0x02, 0x00, 0x00, 0x00, 0x00, 0x01}, /* the client host */
        {0x02, 0x00, 0x00, 0x00, 0x00, 0xfe}, /* its gateway */
    };
    memcpy(p, mac[!s->dir], 6);
    memcpy(p + 6, mac[s->dir], 6);
    be16(p + 12, v6 ? 0x86dd : 0x0800);
}

static void put_rec_header(uint8_t *p, uint64_t t, size_t caplen, size_t wire)
{
    le32(p, EPOCH_BASE + (uint32_t)(t / 1000000));
    le32(p + 4, (uint32_t)(t % 1000000));
    le32(p + 8, (uint32_t)caplen);
    le32(p + 12, (uint32_t)wire);
}

/* An ICMP (v6: ICMPv6) administratively-prohibited error from s's sender
 * (the server host) to the client, quoting the client's SYN as Linux
 * does: its IP header and the start of its TCP header (sequence number
 * s->seq), checksums right. */
static void write_icmp(struct gen *g, struct conn *c, const struct seg *s)
{
    bool v6 = c->tup.v6;
    size_t iphl = v6 ? 40 : 20, alen = v6 ? 16 : 4;
    size_t icmp_len = 8 + iphl + 20;
    size_t wire = 14 + iphl + icmp_len;
    uint8_t *p = out_reserve(&g->out, 16 + wire);
    uint8_t *ip = p + 16 + 14, *icmp = ip + iphl, *q = icmp + 8, *qt = q + iphl;
    const uint8_t *srv = c->tup.addr[SRV], *cli = c->tup.addr[CLI];

    memset(p, 0, 16 + wire);
    put_rec_header(p, s->t, wire, wire);
    put_eth(p + 16, s, v6);
    if (v6) {
        be32(ip, 0x60000000u);
        be16(ip + 4, (uint32_t)icmp_len);
        ip[6] = 58;
        ip[7] = 57;
        be32(q, 0x60000000u | c->flow_label[CLI]);
        be16(q + 4, 40);
        q[6] = 6;
        q[7] = 64;
    } else {
        ip[0] = q[0] = 0x45;
        be16(ip + 2, (uint32_t)(iphl + icmp_len));
        ip[8] = 57;
        ip[9] = 1;
        be16(q + 2, 60);
        be16(q + 6, 0x4000);
        q[8] = 64;
        q[9] = 6;
    }
    memcpy(ip + (v6 ? 8 : 12), srv, alen);
    memcpy(ip + (v6 ? 24 : 16), cli, alen);
    memcpy(q + (v6 ? 8 : 12), cli, alen);
    memcpy(q + (v6 ? 24 : 16), srv, alen);
    if (!v6) {
        be16(q + 10, csum_fold(sum16(q, 20, 0)));
        be16(ip + 10, csum_fold(sum16(ip, 20, 0)));
    }
    be16(qt, c->tup.port[CLI]);
    be16(qt + 2, c->tup.port[SRV]);
    be32(qt + 4, s->seq);
    qt[12] = 0xa0; /* the SYN's 40-byte header */
    qt[13] = TH_SYN;
    be16(qt + 14, v6 ? 64800 : 64240);
    icmp[0] = v6 ? 1 : 3;
    icmp[1] = v6 ? 1 : 13;
    uint32_t acc = 0;
    if (v6) /* ICMPv6 sums a pseudo-header (RFC 4443 2.3) */
        acc = sum16(srv, 16, sum16(cli, 16, 0)) + (uint32_t)icmp_len + 58;
    be16(icmp + 2, csum_fold(sum16(icmp, icmp_len, acc)));
    g->out.len += 16 + wire;
}

/* The TCP checksum covers the payload even when only headers are captured,
 * so a full and a header-only file differ only in what was captured. */
static void write_seg(struct gen *g, struct conn *c, const struct seg *s)
{
    if (s->opt == OPT_ICMP) {
        write_icmp(g, c, s);
        return;
    }
    size_t iphl = c->tup.v6 ? 40 : 20;
    size_t thl = tcp_hdr_len(s->opt);
    size_t hdr = 14 + iphl + thl;
    size_t wire = hdr + s->len;
    size_t caplen = g->cfg->full ? wire : hdr;
    uint8_t *p = out_reserve(&g->out, 16 + caplen);
    uint8_t *ip = p + 16 + 14;
    uint8_t *tcp = ip + iphl;
    uint32_t acc;

    g->st.full_size += wire == 14 + 20 + 20 + MAX_PAYLOAD;
    put_rec_header(p, s->t, caplen, wire);
    put_eth(p + 16, s, c->tup.v6);
    put_tcp(tcp, c, s, thl);
    if (g->cfg->full)
        memcpy(tcp + thl, g->pay.bytes, s->len);
    acc = pseudo_sum(c, s, thl + s->len) + g->pay.sum[s->len];
    be16(tcp + 16, csum_fold(sum16(tcp, thl, acc)));
    if (c->tup.v6)
        put_ipv6(ip, c, s, thl + s->len);
    else
        put_ipv4(ip, c, s, iphl + thl + s->len);
    g->out.len += 16 + caplen;
}

/* ---- connection setup -------------------------------------------------- */

/* Sequential client address/port pairs cannot repeat before 1.8e9
 * connections, so every unintended 4-tuple collision is ruled out and
 * port reuse happens only where the reuse kind asks for it. */
static void fresh_tuple(struct gen *g, struct tuple *t, bool v6)
{
    static const uint16_t srv_ports[] = {
        443, 443, 443, 443, 443, 443, 443,  443,  443,  443,
        443, 443, 80,  80,  80,  80,  8080, 5432, 6379, 22,
    };
    uint64_t k = g->tuple_seq++;
    uint32_t cli = 1 + (uint32_t)(k % N_CLIENT_ADDRS);
    uint32_t srv = 1 + rng_below(&g->rng, 32);

    memset(t, 0, sizeof *t);
    t->v6 = v6;
    t->port[CLI] = (uint16_t)(32768 + (k / N_CLIENT_ADDRS) % N_EPHEMERAL);
    t->port[SRV] = srv_ports[rng_below(&g->rng, sizeof srv_ports / sizeof srv_ports[0])];
    if (v6) {
        static const uint8_t pfx[2][6] = {{0x20, 0x01, 0x0d, 0xb8, 0, 0x0c},
                                          {0x20, 0x01, 0x0d, 0xb8, 0, 0x05}};
        memcpy(t->addr[CLI], pfx[CLI], 6);
        memcpy(t->addr[SRV], pfx[SRV], 6);
        be32(t->addr[CLI] + 12, cli);
        be32(t->addr[SRV] + 12, srv);
    } else {
        be32(t->addr[CLI], 0x0a000000u | cli); /* 10.0.0.0/16 */
        be32(t->addr[SRV], 0xc0000200u | srv); /* 192.0.2.0/24 */
    }
}

static bool ring_take(struct gen *g, struct tuple *t)
{
    struct reuse_ring *ring = &g->ring;
    uint32_t i;

    if (ring->n == 0)
        return false;
    i = rng_below(&g->rng, ring->n);
    *t = ring->a[i];
    ring->a[i] = ring->a[--ring->n];
    return true;
}

static void ring_put(struct gen *g, const struct tuple *t)
{
    struct reuse_ring *ring = &g->ring;

    if (ring->n < REUSE_RING_SIZE)
        ring->a[ring->n++] = *t;
    else
        ring->a[rng_below(&g->rng, REUSE_RING_SIZE)] = *t;
}

static enum kind draw_kind(const struct cfg *cfg, struct rng *r)
{
    uint32_t x = rng_below(r, PCM_ONE);

    for (int k = 1; k < K_NKINDS; k++) {
        if (x < cfg->kind_pcm[k])
            return (enum kind)k;
        x -= cfg->kind_pcm[k];
    }
    return K_NORMAL;
}

/* Some ISNs sit just below 2^32 so that sequence numbers wrap mid-flow.
 * Not 2^32-1 itself: the handshake ACK would then carry ack 0, the same as
 * the SYN's unused ack field, and Wireshark calls that a window update. */
static uint32_t draw_isn(struct gen *g)
{
    if (rng_below(&g->rng, 16) == 0) {
        g->st.wraps++;
        return 0u - rng_range(&g->rng, 2, 1000);
    }
    return (uint32_t)rng_next(&g->rng);
}

static void init_endpoints(struct gen *g, struct build *b)
{
    struct conn *c = b->c;

    for (int d = CLI; d <= SRV; d++) {
        struct ep *e = &b->ep[d];
        c->mss[d] = c->tup.v6 ? 1440 : 1460;
        c->ws[d] = (uint8_t)(d == CLI ? 7 : rng_range(&g->rng, 7, 10));
        c->ip_id[d] = (uint16_t)rng_next(&g->rng);
        c->flow_label[d] = rng_below(&g->rng, 1u << 20);
        e->nxt = draw_isn(g);
        e->ts_base = (uint32_t)rng_next(&g->rng);
        e->ts_last = 0;
        e->win = (uint16_t)(64256u >> c->ws[d]);
        e->pay_mss = (uint16_t)(c->mss[d] - (b->ts_on ? 12 : 0));
    }
}

static void choose_tuple(struct gen *g, struct conn *c)
{
    bool v6 = rng_pcm(&g->rng, g->cfg->ipv6_pcm);

    if (c->kind == K_REUSE && !ring_take(g, &c->tup)) {
        g->st.reuse_fallback++; /* nothing closed yet: a plain one */
        c->kind = K_NORMAL;
    }
    if (c->kind != K_REUSE)
        fresh_tuple(g, &c->tup, v6);
}

/* Builds the whole script of the slot's next connection; false once the
 * connection or packet budget is spent. */
static bool start_conn(struct gen *g, struct conn *c, uint64_t t0)
{
    const struct cfg *cfg = g->cfg;
    struct build b = {.c = c, .rng = &g->rng, .t = t0};

    if (cfg->pkts ? g->scheduled >= cfg->pkts : g->st.conns >= cfg->conns)
        return false;
    c->nsegs = c->next = 0;
    c->truncated = false;
    c->kind = draw_kind(cfg, &g->rng);
    choose_tuple(g, c);
    /* RTT log-uniform-ish from 0.2 to ~100 ms: LAN to intercontinental. */
    b.rtt = (200u << rng_below(&g->rng, 9));
    b.rtt += rng_below(&g->rng, b.rtt);
    b.ts_on = rng_pcm(&g->rng, cfg->ts_pcm);
    init_endpoints(g, &b);
    script_conn(&b, cfg, c->kind);
    if (b.oom) {
        g->oom = true;
        return false;
    }
    if (cfg->pkts && g->scheduled + c->nsegs > cfg->pkts) {
        c->nsegs = (uint32_t)(cfg->pkts - g->scheduled); /* capture ends */
        c->truncated = true;
        g->st.truncated++;
    }
    g->scheduled += c->nsegs;
    g->st.conns++;
    g->st.v6 += c->tup.v6;
    g->st.by_kind[c->kind]++;
    return true;
}

static void finish_conn(struct gen *g, const struct conn *c)
{
    if (kind_info[c->kind].reusable && !c->truncated)
        ring_put(g, &c->tup);
}

/* ---- heap of slots by next packet time --------------------------------- */

static bool hent_lt(const struct hent *x, const struct hent *y)
{
    return x->t < y->t || (x->t == y->t && x->slot < y->slot);
}

static void heap_sift_down(struct heap *h, uint32_t i)
{
    struct hent e = h->a[i];

    for (;;) {
        uint32_t l = 2 * i + 1, m;
        if (l >= h->n)
            break;
        m = (l + 1 < h->n && hent_lt(&h->a[l + 1], &h->a[l])) ? l + 1 : l;
        if (!hent_lt(&h->a[m], &e))
            break;
        h->a[i] = h->a[m];
        i = m;
    }
    h->a[i] = e;
}

static void heap_push(struct heap *h, struct hent e)
{
    uint32_t i = h->n++;

    while (i > 0 && hent_lt(&e, &h->a[(i - 1) / 2])) {
        h->a[i] = h->a[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->a[i] = e;
}

static void heap_pop(struct heap *h)
{
    h->a[0] = h->a[--h->n];
    if (h->n)
        heap_sift_down(h, 0);
}

/* ---- main loop --------------------------------------------------------- */

static void start_slots(struct gen *g)
{
    for (uint32_t i = 0; i < g->cfg->concurrency; i++) {
        /* stagger the first wave over 100 ms instead of one burst */
        uint64_t t0 = rng_below(&g->rng, 100000);
        if (!start_conn(g, &g->slots[i], t0))
            break;
        if (g->slots[i].nsegs == 0)
            continue;
        heap_push(&g->heap, (struct hent){g->slots[i].segs[0].t, i});
    }
}

/* Emits the earliest pending packet of all slots, refilling finished ones. */
static void step(struct gen *g)
{
    struct hent *top = &g->heap.a[0];
    struct conn *c = &g->slots[top->slot];
    const struct seg *s = &c->segs[c->next++];

    write_seg(g, c, s);
    g->st.pkts++;
    g->st.last_t = s->t;
    if (c->next < c->nsegs) {
        top->t = c->segs[c->next].t;
        heap_sift_down(&g->heap, 0);
        return;
    }
    finish_conn(g, c);
    if (start_conn(g, c, s->t + rng_below(&g->rng, 2000)) && c->nsegs) {
        top->t = c->segs[0].t;
        heap_sift_down(&g->heap, 0);
    } else {
        heap_pop(&g->heap);
    }
}

static int run(struct gen *g)
{
    payload_init(&g->pay);
    put_file_header(&g->out, g->cfg->full);
    start_slots(g);
    while (g->heap.n && !g->out.err)
        step(g);
    out_flush(&g->out);
    if (g->oom) {
        fputs("gen: out of memory\n", stderr);
        return 1;
    }
    if (g->out.err) {
        perror("gen: write");
        return 1;
    }
    return 0;
}

/* ---- command line ------------------------------------------------------ */

/* The special kinds' default shares, added up. */
static uint32_t default_special(void)
{
    uint32_t sum = 0;

    for (int k = 1; k < K_NKINDS; k++)
        sum += kind_info[k].pcm;
    return sum;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gen [-o FILE|-] [-c CONNECTIONS] [-n PACKETS] [-C CONCURRENCY]\n"
            "           [-s header-only|full] [--seed N] [--ipv6-share PCT]\n"
            "           [--ts-share PCT] [--special PCT] [--mix KIND=PCT,...] [-q]\n"
            "  -c N        connections (default 1000); with -n it only sets the mean\n"
            "              packets per connection to PACKETS/N\n"
            "  -n N        exactly N packets (the last connections are cut off,\n"
            "              as a capture that ends would cut them)\n"
            "  -C N        connections in flight at once (default 1000)\n"
            "  -s MODE     header-only: headers captured, payload only counted in\n"
            "              the IP length (snaplen 128); full: 1514-byte frames\n"
            "  --seed N    random seed (default 1); same seed, same bytes\n"
            "  --ipv6-share PCT   share of IPv6 connections (default 10)\n"
            "  --ts-share PCT     share of servers accepting TCP timestamps (default 50)\n"
            "  --special PCT      total share of the special kinds (default %g)\n"
            "  --mix K=PCT,...    share of one kind (applied after --special); kinds\n"
            "                     and their default shares in %%:",
            default_special() / 1000.0);
    for (int k = 1; k < K_NKINDS; k++)
        fprintf(f, "%s%s %g", k % 4 == 1 ? "\n                       " : ", ", kind_info[k].name,
                kind_info[k].pcm / 1000.0);
    fputs("\n  N accepts k, M, G suffixes (powers of 1000).\n", f);
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    uint64_t mul = 1;

    if (!s || !*s || *s == '-')
        return false;
    v = strtoull(s, &end, 10);
    if (*end == 'k' || *end == 'K')
        mul = 1000;
    else if (*end == 'M' || *end == 'm')
        mul = 1000000;
    else if (*end == 'G' || *end == 'g')
        mul = 1000000000;
    if (mul != 1)
        end++;
    if (end == s || *end)
        return false;
    *out = (uint64_t)v * mul;
    return true;
}

static bool parse_pct(const char *s, uint32_t *pcm)
{
    char *end;
    double v;

    if (!s || !*s)
        return false;
    v = strtod(s, &end);
    if (end == s || *end || v < 0 || v > 100)
        return false;
    *pcm = (uint32_t)(v * 1000 + 0.5);
    return true;
}

/* Scales every default share so that they add up to total_pcm. */
static void set_special(struct cfg *cfg, uint32_t total_pcm)
{
    uint32_t def = default_special();

    for (int k = 1; k < K_NKINDS; k++)
        cfg->kind_pcm[k] = (uint32_t)((uint64_t)kind_info[k].pcm * total_pcm / def);
}

static bool parse_mix_item(struct cfg *cfg, const char *item, size_t len)
{
    const char *eq = memchr(item, '=', len);
    char pct[32];
    int k;

    if (!eq || (size_t)(item + len - eq) > sizeof pct)
        return false;
    for (k = 1; k < K_NKINDS; k++)
        if (strlen(kind_info[k].name) == (size_t)(eq - item) &&
            !strncmp(item, kind_info[k].name, (size_t)(eq - item)))
            break;
    memcpy(pct, eq + 1, (size_t)(item + len - eq - 1));
    pct[item + len - eq - 1] = '\0';
    return k < K_NKINDS && parse_pct(pct, &cfg->kind_pcm[k]);
}

/* "rst=5,close_wait=0.5": sets single kinds, leaving the others alone. */
static bool parse_mix(struct cfg *cfg, const char *list)
{
    for (;;) {
        const char *comma = strchr(list, ',');
        size_t len = comma ? (size_t)(comma - list) : strlen(list);
        if (!parse_mix_item(cfg, list, len))
            return false;
        if (!comma)
            return true;
        list = comma + 1;
    }
}

/* Accepts "--opt VALUE" and "--opt=VALUE"; returns the value or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n))
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static bool parse_one(struct cfg *cfg, int argc, char **argv, int *i)
{
    const char *v;
    uint64_t u;

    if ((v = opt_value(argc, argv, i, "-o")))
        cfg->out_path = v;
    else if ((v = opt_value(argc, argv, i, "-c")))
        return parse_u64(v, &cfg->conns) && cfg->conns;
    else if ((v = opt_value(argc, argv, i, "-n")))
        return parse_u64(v, &cfg->pkts) && cfg->pkts;
    else if ((v = opt_value(argc, argv, i, "-C"))) {
        if (!parse_u64(v, &u) || u == 0 || u > 10000000)
            return false;
        cfg->concurrency = (uint32_t)u;
    } else if ((v = opt_value(argc, argv, i, "-s"))) {
        cfg->full = !strcmp(v, "full");
        return cfg->full || !strcmp(v, "header-only") || !strcmp(v, "headers");
    } else if ((v = opt_value(argc, argv, i, "--seed")))
        return parse_u64(v, &cfg->seed);
    else if ((v = opt_value(argc, argv, i, "--ipv6-share")))
        return parse_pct(v, &cfg->ipv6_pcm);
    else if ((v = opt_value(argc, argv, i, "--ts-share")))
        return parse_pct(v, &cfg->ts_pcm);
    else
        return false;
    return true;
}

static int parse_args(struct cfg *cfg, int argc, char **argv)
{
    uint32_t special = default_special(), sum = 0;
    const char *mix = NULL;

    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return 1;
        if (!strcmp(argv[i], "-q"))
            cfg->quiet = true;
        else if ((v = opt_value(argc, argv, &i, "--special"))) {
            if (!parse_pct(v, &special))
                return -1;
        } else if ((v = opt_value(argc, argv, &i, "--mix")))
            mix = v;
        else if (!parse_one(cfg, argc, argv, &i)) {
            fprintf(stderr, "gen: bad or unknown option '%s'\n", argv[i]);
            return -1;
        }
    }
    set_special(cfg, special);
    if (mix && !parse_mix(cfg, mix)) {
        fputs("gen: --mix wants KIND=PCT,... with known kinds\n", stderr);
        return -1;
    }
    for (int k = 1; k < K_NKINDS; k++)
        sum += cfg->kind_pcm[k];
    if (sum > PCM_ONE) {
        fputs("gen: special shares add up to more than 100%\n", stderr);
        return -1;
    }
    return 0;
}

static void finish_cfg(struct cfg *cfg)
{
    if (!cfg->conns && !cfg->pkts)
        cfg->conns = 1000;
    /* ~10 packets per connection unless -n and -c together say otherwise */
    cfg->ppc_x256 = 10 * 256;
    if (cfg->conns && cfg->pkts)
        cfg->ppc_x256 = (uint32_t)(cfg->pkts * 256 / cfg->conns);
    if (cfg->pkts && cfg->conns)
        cfg->conns = 0; /* -n is the stop condition */
}

/* ---- setup and report -------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;

    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const struct gen *g, double secs)
{
    const struct stats *st = &g->st;

    fprintf(stderr, "gen: %llu packets, %llu connections (", (unsigned long long)st->pkts,
            (unsigned long long)st->conns);
    for (int k = 0; k < K_NKINDS; k++)
        fprintf(stderr, "%s%s %llu", k ? ", " : "", kind_info[k].name,
                (unsigned long long)st->by_kind[k]);
    fprintf(stderr, "), %llu IPv6, %llu wrapping ISNs, %llu cut at the end\n",
            (unsigned long long)st->v6, (unsigned long long)st->wraps,
            (unsigned long long)st->truncated);
    if (st->reuse_fallback)
        fprintf(stderr,
                "gen: %llu reuse draws found no closed 4-tuple yet and "
                "became normal\n",
                (unsigned long long)st->reuse_fallback);
    fprintf(stderr,
            "gen: %.1f MB, %.1f %% of frames full-size (1514 bytes on "
            "the wire), capture spans %.1f s; took %.2f s, %.2f Mpackets/s\n",
            (double)g->out.bytes / 1e6,
            st->pkts ? 100.0 * (double)st->full_size / (double)st->pkts : 0.0,
            (double)st->last_t / 1e6, secs, secs > 0 ? (double)st->pkts / secs / 1e6 : 0.0);
}

static FILE *open_output(const char *path)
{
    FILE *f;

    if (!strcmp(path, "-")) {
        if (isatty(STDOUT_FILENO)) {
            fputs("gen: refusing to write a pcap to a terminal; use -o\n", stderr);
            return NULL;
        }
        return stdout;
    }
    f = fopen(path, "wb");
    if (!f)
        perror(path);
    return f;
}

static bool gen_alloc(struct gen *g)
{
    uint32_t n = g->cfg->concurrency;

    g->out.buf = malloc(OUT_BUF_SIZE);
    g->slots = calloc(n, sizeof *g->slots);
    g->heap.a = calloc(n, sizeof *g->heap.a);
    return g->out.buf && g->slots && g->heap.a;
}

static void gen_free(struct gen *g)
{
    for (uint32_t i = 0; g->slots && i < g->cfg->concurrency; i++)
        free(g->slots[i].segs);
    free(g->slots);
    free(g->heap.a);
    free(g->out.buf);
}

int main(int argc, char **argv)
{
    struct cfg cfg = {
        .out_path = "-", .concurrency = 1000, .seed = 1, .ipv6_pcm = 10000, .ts_pcm = 50000};
    struct gen *g;
    int rc = parse_args(&cfg, argc, argv);
    double t0;

    if (rc) {
        usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : 2;
    }
    finish_cfg(&cfg);
    /* the reuse ring and payload tables are too big for the stack */
    g = calloc(1, sizeof *g);
    if (!g || !(g->cfg = &cfg, gen_alloc(g))) {
        fputs("gen: out of memory\n", stderr);
        return 1;
    }
    rng_seed(&g->rng, cfg.seed);
    g->out.f = open_output(cfg.out_path);
    rc = 2;
    if (g->out.f) {
        t0 = now_s();
        rc = run(g);
        if (fclose(g->out.f) && !rc) {
            perror("gen: close");
            rc = 1;
        }
        if (!rc && !cfg.quiet)
            report(g, now_s() - t0);
    }
    gen_free(g);
    free(g);
    return rc;
}
