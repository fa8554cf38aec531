/* Zeek's conn_state and history, one scripted connection per case: each
 * line is a segment, and the expected values are what Zeek logs for the
 * same packets (see docs/zeek-conformance.md for the rules). */
#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "tap.h"
#include "tcplens/decode.h"
#include "tcplens/flow.h"
#include "tcplens/zeek.h"

enum { C2S, S2C };

enum { S = TL_TH_SYN, A = TL_TH_ACK, F = TL_TH_FIN, R = TL_TH_RST, P = TL_TH_PSH };

struct rig {
    struct tl_zeek z;
    uint16_t cport, sport; /* client and server ports */
    int64_t ms;            /* clock of the next segment */
    bool good_csum;        /* fill in correct checksums */
    bool bad_ip_csum;      /* then spoil the IPv4 header checksum */
    bool bad_tcp_csum;     /* or the TCP checksum */
    uint16_t win;
};

/* Frees what the rig's Zeek state allocated (g zeroed or opened before). */
static void rig_close(struct rig *g) { tl_zeek_free(&g->z); }

static void rig_open(struct rig *g, uint16_t cport, uint16_t sport, bool ignore_checksums)
{
    rig_close(g);
    memset(g, 0, sizeof *g);
    struct tl_zeek_cfg cfg = {.ignore_checksums = ignore_checksums};
    tl_zeek_init_cfg(&g->z, &cfg);
    g->cport = cport;
    g->sport = sport;
    g->win = 512;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static uint32_t csum_add(const uint8_t *b, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)((b[i] << 8) | b[i + 1]);
    if (n & 1)
        sum += (uint32_t)b[n - 1] << 8;
    return sum;
}

/* Writes correct IPv4 header and TCP checksums into an IPv4 frame. */
static void fix_checksums(struct pkt *p)
{
    uint8_t *ip = p->b + p->ip_off;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    pkt_be16(ip + 10, 0);
    pkt_be16(ip + 10, csum_fold(csum_add(ip, ihl, 0)));
    uint8_t *tcp = p->b + p->tcp_off;
    size_t tlen = p->len - p->tcp_off;
    pkt_be16(tcp + 16, 0);
    uint32_t sum = csum_add(ip + 12, 8, 0) + 6u + (uint32_t)tlen;
    pkt_be16(tcp + 16, csum_fold(csum_add(tcp, tlen, sum)));
}

/* One segment 10 ms after the previous one, 10.0.0.1:cport <-> 10.0.0.2:sport. */
static void seg(struct rig *g, int dir, uint8_t flags, uint32_t seq, uint32_t ack, size_t len)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    pkt_init(&p, buf, sizeof buf);
    pkt_eth(&p, PKT_ETH_IPV4);
    uint32_t c = PKT_V4(10, 0, 0, 1), s = PKT_V4(10, 0, 0, 2);
    pkt_ipv4(&p, dir == C2S ? c : s, dir == C2S ? s : c, PKT_PROTO_TCP, 0);
    struct pkt_tcp t = {.sport = dir == C2S ? g->cport : g->sport,
                        .dport = dir == C2S ? g->sport : g->cport,
                        .seq = seq,
                        .ack = ack,
                        .flags = flags,
                        .win = g->win,
                        .paylen = len};
    pkt_tcp(&p, &t);
    pkt_finish(&p);
    if (g->good_csum)
        fix_checksums(&p);
    if (g->bad_ip_csum)
        p.b[p.ip_off + 10] ^= 0xff;
    if (g->bad_tcp_csum)
        p.b[p.tcp_off + 16] ^= 0xff;
    struct tl_pkt d;
    if (tl_decode(buf, p.len, p.len, TL_DLT_EN10MB, &d) != TL_DEC_OK)
        abort();
    struct tl_flow_key k;
    bool from_a;
    tl_flow_key_make(&d, &k, &from_a);
    g->ms += 10;
    tl_zeek_update(&g->z, &d, from_a, 1700000000 * TL_USEC_PER_SEC + g->ms * 1000);
}

/* Leaves a gap of sec seconds before the next segment. */
static void wait_s(struct rig *g, int64_t sec) { g->ms += sec * 1000; }

static void expect(struct tap *t, const struct rig *g, const char *state, const char *history,
                   const char *name)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s: conn_state %s", name, state);
    is_str(t, tl_zeek_conn_state(&g->z), state, buf);
    snprintf(buf, sizeof buf, "%s: history %s", name, history);
    is_str(t, tl_zeek_history(&g->z), history, buf);
}

/* The three-way handshake, client ISN 100, server ISN 500. */
static void handshake(struct rig *g)
{
    seg(g, C2S, S, 100, 0, 0);
    seg(g, S2C, S | A, 500, 101, 0);
    seg(g, C2S, A, 101, 501, 0);
}

static void test_states_open(struct tap *t)
{
    struct rig g = {0};
    rig_open(&g, 40000, 80, true);
    seg(&g, C2S, S, 100, 0, 0);
    expect(t, &g, "S0", "S", "SYN alone");

    rig_open(&g, 40000, 80, true);
    handshake(&g);
    seg(&g, C2S, A | P, 101, 501, 20);
    seg(&g, S2C, A, 501, 121, 0);
    seg(&g, S2C, A | P, 501, 121, 30);
    expect(t, &g, "S1", "ShADad", "established, not closed");

    rig_open(&g, 40000, 80, true);
    handshake(&g);
    seg(&g, C2S, A | P, 101, 501, 20);
    seg(&g, S2C, A, 501, 121, 0);
    seg(&g, S2C, A | P, 501, 121, 30);
    seg(&g, C2S, F | A, 121, 531, 0);
    seg(&g, S2C, F | A, 531, 122, 0);
    seg(&g, C2S, A, 122, 532, 0);
    expect(t, &g, "SF", "ShADadFf", "normal close");

    rig_open(&g, 40000, 80, true);
    seg(&g, C2S, S, 100, 0, 0);
    seg(&g, S2C, R | A, 0, 101, 0);
    expect(t, &g, "REJ", "Sr", "refused");
    rig_close(&g);
}

static void test_states_close(struct tap *t)
{
    struct rig g = {0};
    rig_open(&g, 40000, 80, true);
    handshake(&g);
    seg(&g, C2S, F | A, 101, 501, 0);
    expect(t, &g, "S2", "ShAF", "originator's FIN unanswered");

    rig_open(&g, 40000, 80, true);
    handshake(&g);
    seg(&g, S2C, F | A, 501, 101, 0);
    expect(t, &g, "S3", "ShAf", "responder's FIN unanswered");

    rig_open(&g, 40000, 80, true);
    seg(&g, C2S, S, 100, 0, 0);
    seg(&g, C2S, F, 101, 0, 0);
    expect(t, &g, "SH", "SF", "SYN then FIN, no SYN-ACK");

    /* From port 80 the SYN-ACK's sender is the server: flipped at once. */
    rig_open(&g, 40000, 80, true);
    seg(&g, S2C, S | A, 500, 101, 0);
    seg(&g, S2C, F | A, 501, 101, 0);
    expect(t, &g, "SHR", "^hf", "SYN-ACK then FIN, no SYN");
    rig_close(&g);
}

static void test_states_reset(struct tap *t)
{
    struct rig g = {0};
    rig_open(&g, 40000, 80, true);
    handshake(&g);
    seg(&g, C2S, R | A, 101, 501, 0);
    expect(t, &g, "RSTO", "ShAR", "originator aborts");

    rig_open(&g, 40000, 80, true);
    handshake(&g);
    seg(&g, S2C, R | A, 501, 101, 0);
    expect(t, &g, "RSTR", "ShAr", "responder aborts");

    rig_open(&g, 40000, 80, true);
    seg(&g, C2S, S, 100, 0, 0);
    seg(&g, C2S, R, 101, 0, 0);
    expect(t, &g, "RSTOS0", "SR", "SYN then RST, no SYN-ACK");

    rig_open(&g, 40000, 80, true);
    seg(&g, S2C, S | A, 500, 101, 0);
    seg(&g, S2C, R, 501, 0, 0);
    expect(t, &g, "RSTRH", "^hr", "SYN-ACK then RST, no SYN");

    rig_open(&g, 40000, 50000, true);
    seg(&g, C2S, A | P, 100, 500, 10);
    seg(&g, S2C, A, 500, 110, 0);
    expect(t, &g, "OTH", "Da", "midstream");
    rig_close(&g);
}

static void test_once_letters(struct tap *t)
{
    struct rig g = {0};
    rig_open(&g, 40000, 80, true);
    handshake(&g);
    for (uint32_t i = 0; i < 3; i++) {
        seg(&g, C2S, A | P, 101 + 10 * i, 501, 10);
        seg(&g, S2C, A, 501, 111 + 10 * i, 0);
    }
    expect(t, &g, "S1", "ShADa", "a and d once per direction");

    rig_open(&g, 40000, 80, true);
    handshake(&g);
    seg(&g, C2S, F | R | A, 101, 501, 0);
    seg(&g, C2S, F | R | A, 101, 501, 0);
    expect(t, &g, "RSTO", "ShAI", "FIN+RST is i, once");

    rig_open(&g, 40000, 80, true);
    seg(&g, C2S, S, 100, 0, 0);
    seg(&g, S2C, S | F | A, 500, 101, 0);
    seg(&g, S2C, S | F | A, 500, 101, 0);
    expect(t, &g, "S3", "Sq", "SYN+FIN is q, once");
    rig_close(&g);
}

static void test_repeat_on_new_seq(struct tap *t)
{
    struct rig g = {0};
    rig_open(&g, 40000, 80, true);
    seg(&g, C2S, S, 100, 0, 0);
    seg(&g, C2S, S, 100, 0, 0);
    seg(&g, S2C, S | A, 500, 101, 0);
    seg(&g, S2C, S | A, 500, 101, 0);
    expect(t, &g, "S1", "Sh", "retransmitted SYN and SYN-ACK: once");

    /* A new ISN restarts an open endpoint's numbering (relative 0 again,
     * no letter); after its FIN it does not, and the SYN-ACK is new. */
    rig_open(&g, 40000, 80, true);
    seg(&g, C2S, S, 100, 0, 0);
    seg(&g, S2C, S | A, 500, 101, 0);
    seg(&g, S2C, S | A, 900, 101, 0);
    expect(t, &g, "S1", "Sh", "SYN-ACK with a new ISN while open");
    handshake(&g);
    seg(&g, S2C, F | A, 501, 101, 0);
    seg(&g, S2C, S | A, 900, 101, 0);
    expect(t, &g, "S3", "ShAfh", "SYN-ACK again on a new sequence number");

    rig_open(&g, 40000, 80, true);
    handshake(&g);
    seg(&g, C2S, F | A, 101, 501, 0);
    seg(&g, C2S, F | A, 101, 501, 0);
    seg(&g, C2S, F | A | P, 101, 501, 5);
    expect(t, &g, "S2", "ShAFF", "FIN again only at a new end of data");

    rig_open(&g, 40000, 80, true);
    handshake(&g);
    seg(&g, S2C, R, 501, 0, 0);
    seg(&g, S2C, R, 501, 0, 0);
    seg(&g, S2C, R, 800, 0, 0);
    expect(t, &g, "RSTR", "ShArr", "RST again on a new sequence number");
    rig_close(&g);
}

static void test_logarithmic(struct tap *t)
{
    struct rig g = {0};
    rig_open(&g, 40000, 80, true);
    handshake(&g);
    seg(&g, C2S, A | P, 101, 501, 10);
    for (int i = 0; i < 9; i++)
        seg(&g, C2S, A | P, 101, 501, 10);
    expect(t, &g, "S1", "ShADT", "9 retransmissions: one T");
    seg(&g, C2S, A | P, 101, 501, 10);
    expect(t, &g, "S1", "ShADTT", "the 10th retransmission: a second T");

    rig_open(&g, 40000, 80, true);
    handshake(&g);
    g.win = 0;
    for (int i = 0; i < 10; i++)
        seg(&g, S2C, A, 501, 101, 0);
    expect(t, &g, "S1", "ShAaww", "zero windows at 1 and 10");

    /* Checksums verified (Zeek without -C): a bad TCP checksum is
     * counted and the packet otherwise ignored. */
    rig_open(&g, 40000, 80, false);
    g.good_csum = g.bad_tcp_csum = true;
    for (int i = 0; i < 10; i++)
        seg(&g, C2S, A | P, 100, 500, 10);
    expect(t, &g, "OTH", "CC", "bad checksums at 1 and 10");

    rig_open(&g, 40000, 80, true);
    handshake(&g);
    seg(&g, C2S, A | P, 111, 501, 10); /* bytes 101..110 never seen */
    seg(&g, S2C, A, 501, 121, 0);
    expect(t, &g, "S1", "ShADaG", "ACK above a hole: content gap");
    rig_close(&g);
}

static void test_flips(struct tap *t)
{
    struct rig g = {0};
    /* Between two high ports nothing looks like a server: the SYN-ACK's
     * sender stays originator until an ACK follows. */
    rig_open(&g, 40000, 50000, true);
    seg(&g, S2C, S | A, 500, 101, 0);
    expect(t, &g, "OTH", "H", "lone SYN-ACK, not flipped");
    seg(&g, C2S, A, 101, 501, 0);
    seg(&g, C2S, A | P, 101, 501, 10);
    expect(t, &g, "S1", "^hAD", "SYN-ACK then ACK: flipped late");
    ok(t, tl_zeek_orig_is_a(&g.z), "client (lower address) is the originator");

    rig_open(&g, 40000, 50000, true);
    seg(&g, S2C, S | A, 500, 101, 0);
    seg(&g, C2S, S, 100, 0, 0);
    seg(&g, C2S, A, 101, 501, 0);
    expect(t, &g, "S1", "Hs^A", "SYN-ACK before its SYN: reversal flip");

    rig_open(&g, 40000, 80, true);
    seg(&g, S2C, A | P, 500, 101, 10);
    expect(t, &g, "OTH", "^d", "midstream data from port 80: flipped");
    ok(t, tl_zeek_orig_is_a(&g.z), "flipped originator is the client");
    rig_close(&g);
}

static void test_checksums(struct tap *t)
{
    struct rig g = {0};
    rig_open(&g, 40000, 80, false);
    g.good_csum = true;
    handshake(&g);
    expect(t, &g, "S1", "ShA", "good checksums verified");

    rig_open(&g, 40000, 80, false);
    g.good_csum = true;
    seg(&g, C2S, S, 100, 0, 0);
    g.bad_ip_csum = true;
    seg(&g, S2C, S | A, 500, 101, 0);
    expect(t, &g, "S0", "S", "bad IPv4 header checksum: packet dropped");

    rig_open(&g, 40000, 80, true);
    g.bad_ip_csum = true;
    handshake(&g);
    expect(t, &g, "S1", "ShA", "with -C nothing is dropped");
    rig_close(&g);
}

static void test_lifetime(struct tap *t)
{
    struct rig g = {0};
    /* Zeek gives up an unanswered SYN after 5 s (S0); what follows is
     * another Zeek connection. */
    rig_open(&g, 40000, 80, true);
    seg(&g, C2S, S, 100, 0, 0);
    seg(&g, C2S, A | P, 101, 0, 10);
    wait_s(&g, 6);
    seg(&g, C2S, F | A, 111, 0, 0);
    expect(t, &g, "S0", "SD", "attempt timer");
    ok(t, tl_zeek_split(&g.z), "later packets belong to another Zeek connection");

    rig_open(&g, 40000, 80, true);
    handshake(&g);
    seg(&g, S2C, R, 501, 0, 0);
    wait_s(&g, 6);
    seg(&g, C2S, A | P, 101, 501, 10);
    expect(t, &g, "RSTR", "ShAr", "removed 5 s after the reset");

    /* Within the close delay a late ACK still belongs to it. */
    rig_open(&g, 40000, 80, true);
    handshake(&g);
    seg(&g, C2S, F | A, 101, 501, 0);
    seg(&g, S2C, F | A, 501, 102, 0);
    seg(&g, C2S, A, 102, 502, 0);
    expect(t, &g, "SF", "ShAFf", "closed, final ACK kept");
    ok(t, !tl_zeek_split(&g.z), "no split");

    /* After a close any SYN starts a new Zeek connection (reuse). */
    seg(&g, C2S, S, 7000, 0, 0);
    ok(t, tl_zeek_split(&g.z), "SYN after the close: reuse");
    expect(t, &g, "SF", "ShAFf", "reuse leaves the old connection as it was");
    rig_close(&g);
}

int main(void)
{
    struct tap t = {0, 0};
    test_states_open(&t);
    test_states_close(&t);
    test_states_reset(&t);
    test_once_letters(&t);
    test_repeat_on_new_seq(&t);
    test_logarithmic(&t);
    test_flips(&t);
    test_checksums(&t);
    test_lifetime(&t);
    return tap_done(&t);
}
