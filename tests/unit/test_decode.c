/*
 * Decoder unit tests: every link type, IPv4/IPv6/TCP edge cases, TCP
 * options, tunnels (each encapsulation, nesting, lying lengths, what is
 * skipped), and truncation of real frames at every byte. Every frame is
 * decoded from a malloc'd copy of exactly caplen bytes, so ASan reports any
 * read past what was captured.
 */
#include "tcplens/decode.h"
#include "tcplens/flow.h"

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "tap.h"

/*
 * A real frame: the SYN of `python3 socket.create_connection(("127.0.0.1",
 * 54321))` captured with `tcpdump -i lo -w syn.pcap` on Linux 6.x (EN10MB,
 * zero MACs). 127.0.0.1.40726 > 127.0.0.1.54321: Flags [S], seq 1785445957,
 * win 65495, options [mss 65495,sackOK,TS val 3686338915 ecr 0,nop,wscale 10].
 */
static const uint8_t real_syn[74] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x45,
    0x00, 0x00, 0x3c, 0x56, 0xe9, 0x40, 0x00, 0x40, 0x06, 0xe5, 0xd0, 0x7f, 0x00, 0x00, 0x01,
    0x7f, 0x00, 0x00, 0x01, 0x9f, 0x16, 0xd4, 0x31, 0x6a, 0x6b, 0xbe, 0x45, 0x00, 0x00, 0x00,
    0x00, 0xa0, 0x02, 0xff, 0xd7, 0xfe, 0x30, 0x00, 0x00, 0x02, 0x04, 0xff, 0xd7, 0x04, 0x02,
    0x08, 0x0a, 0xdb, 0xb9, 0x11, 0x63, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
};

/*
 * Decodes a malloc'd copy of exactly caplen bytes. *poff receives the
 * payload's offset from the start of the frame (-1 unless TL_DEC_OK); the
 * payload pointer itself is cleared since the copy is freed.
 */
static enum tl_dec dec_n(const uint8_t *buf, size_t caplen, size_t wirelen, int dlt,
                         struct tl_pkt *out, long *poff)
{
    uint8_t *copy = malloc(caplen);
    if (copy == NULL && caplen > 0) {
        fprintf(stderr, "out of memory\n");
        exit(99);
    }
    if (caplen > 0)
        memcpy(copy, buf, caplen);
    enum tl_dec r = tl_decode(copy, caplen, wirelen, dlt, out);
    *poff = r == TL_DEC_OK && out->payload != NULL ? (long)(out->payload - copy) : -1;
    if (r == TL_DEC_OK)
        out->payload = NULL;
    free(copy);
    return r;
}

/* The whole frame, captured in full. */
static enum tl_dec dec(const struct pkt *p, int dlt, struct tl_pkt *out, long *poff)
{
    return dec_n(p->b, p->len, p->len, dlt, out, poff);
}

static bool is_trunc(enum tl_dec r)
{
    return r == TL_DEC_TRUNC_L2 || r == TL_DEC_TRUNC_IP || r == TL_DEC_TRUNC_IPV6_EXT ||
           r == TL_DEC_TRUNC_TCP || r == TL_DEC_TRUNC_ICMP || r == TL_DEC_TRUNC_UDP ||
           r == TL_DEC_TRUNC_TUNNEL;
}

/* ---- the standard segment every link-layer test carries ---- */

enum { STD_SPORT = 40000, STD_DPORT = 80, STD_PAYLEN = 10 };

static void std_tcp(struct pkt *p)
{
    struct pkt_tcp tcp = {.sport = STD_SPORT,
                          .dport = STD_DPORT,
                          .seq = 1000,
                          .ack = 2000,
                          .flags = TL_TH_PSH | TL_TH_ACK,
                          .win = 512,
                          .paylen = STD_PAYLEN};
    pkt_tcp(p, &tcp);
}

/* IPv4 10.0.0.1 -> 10.0.0.2 or IPv6 fd00::1 -> fd00::2, then the segment. */
static void std_ip_tcp(struct pkt *p, int ver)
{
    if (ver == 4) {
        pkt_ipv4(p, PKT_V4(10, 0, 0, 1), PKT_V4(10, 0, 0, 2), PKT_PROTO_TCP, 0);
    } else {
        uint8_t s[16], d[16];
        pkt_v6addr(s, 1);
        pkt_v6addr(d, 2);
        pkt_ipv6(p, s, d, PKT_PROTO_TCP);
    }
    std_tcp(p);
    pkt_finish(p);
}

static bool addr_is(const struct tl_addr *a, int ver, uint8_t last)
{
    uint8_t want[16] = {0};
    if (ver == 4) {
        want[0] = 10;
        want[3] = last;
    } else {
        want[0] = 0xfd;
        want[15] = last;
    }
    return a->family == (ver == 4 ? TL_AF_INET : TL_AF_INET6) &&
           memcmp(a->b, want, sizeof want) == 0;
}

/* Checks every field of a decoded standard segment; says which differ. */
static bool std_ok(const struct tl_pkt *o, int ver, uint32_t vlan, long poff, long want_poff)
{
    struct {
        const char *what;
        bool good;
    } f[] = {
        {"src", addr_is(&o->src, ver, 1)},
        {"dst", addr_is(&o->dst, ver, 2)},
        {"ports", o->sport == STD_SPORT && o->dport == STD_DPORT},
        {"seq/ack", o->seq == 1000 && o->ack == 2000},
        {"flags", o->flags == (TL_TH_PSH | TL_TH_ACK)},
        {"win", o->win == 512},
        {"ttl", o->ttl == 64},
        {"vlan", o->vlan == vlan},
        {"quirks", o->quirks == 0},
        {"payload_len", o->payload_len == STD_PAYLEN && o->payload_caplen == STD_PAYLEN},
        {"payload offset", poff == want_poff},
    };
    bool all = true;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (!f[i].good)
            printf("#   wrong %s\n", f[i].what);
        all = all && f[i].good;
    }
    return all;
}

/*
 * Cuts a frame at every length 0..len. Below hdr_end (where the payload
 * starts) the result must be a truncation; from there on it must decode,
 * with payload_caplen counting what was kept. Returns the failures.
 */
static int sweep(const uint8_t *buf, size_t len, size_t hdr_end, int dlt)
{
    int bad = 0;
    for (size_t cut = 0; cut <= len; cut++) {
        struct tl_pkt o;
        long poff;
        enum tl_dec r = dec_n(buf, cut, len, dlt, &o, &poff);
        bool good = cut < hdr_end
                        ? is_trunc(r)
                        : r == TL_DEC_OK && poff == (long)hdr_end &&
                              o.payload_caplen == cut - hdr_end && o.payload_len == len - hdr_end;
        if (!good) {
            printf("#   cut at %zu: %s\n", cut, tl_dec_name(r));
            bad++;
        }
    }
    return bad;
}

/* ---- link layers ---- */

static uint16_t ethertype(int ver) { return ver == 4 ? PKT_ETH_IPV4 : PKT_ETH_IPV6; }

static void l2_none(struct pkt *p, int ver) { (void)p, (void)ver; }
static void l2_eth(struct pkt *p, int ver) { pkt_eth(p, ethertype(ver)); }
static void l2_dot1q(struct pkt *p, int ver)
{
    pkt_eth(p, PKT_ETH_VLAN);
    pkt_vlan(p, 100, ethertype(ver));
}
static void l2_qinq(struct pkt *p, int ver)
{
    pkt_eth(p, PKT_ETH_QINQ);
    pkt_vlan(p, 100, PKT_ETH_VLAN);
    pkt_vlan(p, 200, ethertype(ver));
}
static void l2_qinq_old(struct pkt *p, int ver)
{
    pkt_eth(p, PKT_ETH_QINQ_OLD);
    pkt_vlan(p, 0xfff, PKT_ETH_VLAN);
    pkt_vlan(p, 1, ethertype(ver));
}
/* Eight tags, the most the decoder walks; the id keeps the last two. */
static void l2_vlan8(struct pkt *p, int ver)
{
    pkt_eth(p, PKT_ETH_VLAN);
    for (uint16_t i = 1; i <= 8; i++)
        pkt_vlan(p, i, i < 8 ? PKT_ETH_VLAN : ethertype(ver));
}
static void l2_mpls(struct pkt *p, int ver)
{
    (void)ver;
    pkt_eth(p, PKT_ETH_MPLS);
    pkt_mpls(p, 16, 1);
}
static void l2_mpls_mc2(struct pkt *p, int ver)
{
    (void)ver;
    pkt_eth(p, PKT_ETH_MPLS_MC);
    pkt_mpls(p, 16, 0);
    pkt_mpls(p, 17, 1);
}
static void l2_vlan_mpls(struct pkt *p, int ver)
{
    (void)ver;
    pkt_eth(p, PKT_ETH_VLAN);
    pkt_vlan(p, 7, PKT_ETH_MPLS);
    pkt_mpls(p, 16, 1);
}
static void l2_pppoe(struct pkt *p, int ver)
{
    pkt_eth(p, PKT_ETH_PPPOE);
    pkt_pppoe(p, ver == 4 ? PKT_PPP_IPV4 : PKT_PPP_IPV6);
}
static void l2_sll(struct pkt *p, int ver) { pkt_sll(p, ethertype(ver)); }
static void l2_sll_vlan(struct pkt *p, int ver)
{
    pkt_sll(p, PKT_ETH_VLAN);
    pkt_vlan(p, 42, ethertype(ver));
}
static void l2_sll2(struct pkt *p, int ver) { pkt_sll2(p, ethertype(ver)); }
/* DLT_NULL in the capturing host's order: little-endian, macOS's AF_INET6. */
static void l2_null_le(struct pkt *p, int ver) { pkt_null(p, ver == 4 ? 2 : 30, 0); }
/* ... and big-endian, with Linux's AF_INET6. */
static void l2_null_be(struct pkt *p, int ver) { pkt_null(p, ver == 4 ? 2 : 10, 1); }
static void l2_null_le24(struct pkt *p, int ver) { pkt_null(p, ver == 4 ? 2 : 24, 0); }
static void l2_null_be28(struct pkt *p, int ver) { pkt_null(p, ver == 4 ? 2 : 28, 1); }
/* DLT_LOOP is always network order. */
static void l2_loop(struct pkt *p, int ver) { pkt_null(p, ver == 4 ? 2 : 24, 1); }
static uint16_t ppp_proto(int ver) { return ver == 4 ? PKT_PPP_IPV4 : PKT_PPP_IPV6; }
static void l2_pppoe_pfc(struct pkt *p, int ver)
{
    pkt_eth(p, PKT_ETH_PPPOE);
    p->pppoe_off = p->len;
    uint8_t *w = pkt_put(p, 6);
    w[0] = 0x11;
    pkt_be16(w + 2, 0x002d);
    pkt_ppp(p, ppp_proto(ver), 1, 1);
}
static void l2_8023_snap(struct pkt *p, int ver) { pkt_eth_snap(p, ethertype(ver)); }
static void l2_vlan_snap(struct pkt *p, int ver)
{
    pkt_eth(p, PKT_ETH_VLAN);
    pkt_vlan(p, 5, 0);
    pkt_fix(p, p->len - 2, PKT_FIX_8023);
    pkt_snap(p, ethertype(ver));
}
static void l2_sll_llc(struct pkt *p, int ver)
{
    pkt_sll(p, 4);
    pkt_snap(p, ethertype(ver));
}
static void l2_pbb(struct pkt *p, int ver)
{
    pkt_eth(p, PKT_ETH_QINQ);
    pkt_vlan(p, 100, PKT_ETH_PBB);
    pkt_pbb(p, 0x1ebb30, PKT_ETH_VLAN);
    pkt_vlan(p, 200, ethertype(ver));
}
static void l2_vntag(struct pkt *p, int ver)
{
    pkt_eth(p, PKT_ETH_VLAN);
    pkt_vlan(p, 250, PKT_ETH_VNTAG);
    pkt_vntag(p, PKT_ETH_VLAN);
    pkt_vlan(p, 251, ethertype(ver));
}
static void l2_fabricpath(struct pkt *p, int ver)
{
    pkt_eth(p, PKT_ETH_FABRICPATH);
    pkt_fabricpath(p, ethertype(ver));
}
static void l2_chdlc(struct pkt *p, int ver) { pkt_chdlc(p, ethertype(ver)); }
static void l2_fddi(struct pkt *p, int ver)
{
    pkt_fddi(p);
    pkt_snap(p, ethertype(ver));
}
static void l2_ppp(struct pkt *p, int ver) { pkt_ppp(p, ppp_proto(ver), 0, 0); }
static void l2_ppp_compressed(struct pkt *p, int ver) { pkt_ppp(p, ppp_proto(ver), 1, 1); }
static void l2_ppp_mpls(struct pkt *p, int ver)
{
    (void)ver;
    pkt_ppp(p, 0x0281, 0, 0);
    pkt_mpls(p, 16, 1);
}
static void l2_nflog_le(struct pkt *p, int ver) { pkt_nflog(p, ver == 4 ? 2 : 10, 0); }
static void l2_nflog_be(struct pkt *p, int ver) { pkt_nflog(p, ver == 4 ? 2 : 10, 1); }
static void l2_nflog_unspec(struct pkt *p, int ver)
{
    (void)ver;
    pkt_nflog(p, 0, 0);
}
static void l2_wlan(struct pkt *p, int ver)
{
    pkt_radiotap(p, 0, 0, 0);
    pkt_80211(p, 0, 0x02, 0); /* from the distribution system */
    pkt_snap(p, ethertype(ver));
}
static void l2_wlan_qos_htc(struct pkt *p, int ver)
{
    pkt_radiotap(p, 0, 1, 0);
    pkt_80211(p, 8, 0x81, 0); /* QoS, to the DS, HT control */
    pkt_snap(p, ethertype(ver));
}
static void l2_radiotap(struct pkt *p, int ver)
{
    pkt_radiotap(p, 0, 1, 1);
    pkt_80211(p, 8, 0x01, 0);
    pkt_snap(p, ethertype(ver));
}
/* Four addresses, no QoS: a 30-byte header, padded to 32 (flag 0x20). */
static void l2_radiotap_pad(struct pkt *p, int ver)
{
    pkt_radiotap(p, 0x20, 0, 0);
    pkt_80211(p, 0, 0x03, 0);
    (void)pkt_put(p, 2);
    pkt_snap(p, ethertype(ver));
}

struct link_case {
    const char *name;
    int dlt;
    void (*l2)(struct pkt *p, int ver);
    uint32_t vlan;
    int only_ver; /* 0: both */
};

static const struct link_case link_cases[] = {
    {"EN10MB", TL_DLT_EN10MB, l2_eth, 0, 0},
    {"802.1Q", TL_DLT_EN10MB, l2_dot1q, 100, 0},
    {"QinQ 0x88a8", TL_DLT_EN10MB, l2_qinq, (100u << 12) | 200u, 0},
    {"QinQ 0x9100", TL_DLT_EN10MB, l2_qinq_old, (0xfffu << 12) | 1u, 0},
    {"8 VLAN tags", TL_DLT_EN10MB, l2_vlan8, (7u << 12) | 8u, 0},
    {"MPLS", TL_DLT_EN10MB, l2_mpls, 0, 0},
    {"MPLS multicast, 2 labels", TL_DLT_EN10MB, l2_mpls_mc2, 0, 0},
    {"802.1Q + MPLS", TL_DLT_EN10MB, l2_vlan_mpls, 7, 0},
    {"PPPoE", TL_DLT_EN10MB, l2_pppoe, 0, 0},
    {"LINUX_SLL", TL_DLT_LINUX_SLL, l2_sll, 0, 0},
    {"LINUX_SLL + 802.1Q", TL_DLT_LINUX_SLL, l2_sll_vlan, 42, 0},
    {"LINUX_SLL2", TL_DLT_LINUX_SLL2, l2_sll2, 0, 0},
    {"NULL little-endian", TL_DLT_NULL, l2_null_le, 0, 0},
    {"NULL big-endian", TL_DLT_NULL, l2_null_be, 0, 0},
    {"NULL little-endian AF 24", TL_DLT_NULL, l2_null_le24, 0, 6},
    {"NULL big-endian AF 28", TL_DLT_NULL, l2_null_be28, 0, 6},
    {"LOOP", TL_DLT_LOOP, l2_loop, 0, 0},
    {"RAW", TL_DLT_RAW, l2_none, 0, 0},
    {"RAW (OpenBSD 14)", TL_DLT_RAW_BSD, l2_none, 0, 0},
    {"LINKTYPE_RAW 101", 101, l2_none, 0, 0},
    {"IPV4", TL_DLT_IPV4, l2_none, 0, 4},
    {"IPV6", TL_DLT_IPV6, l2_none, 0, 6},
    {"PPPoE, protocol compressed", TL_DLT_EN10MB, l2_pppoe_pfc, 0, 0},
    {"802.3 + LLC/SNAP", TL_DLT_EN10MB, l2_8023_snap, 0, 0},
    {"802.1Q + 802.3 length + LLC/SNAP", TL_DLT_EN10MB, l2_vlan_snap, 5, 0},
    {"LINUX_SLL protocol 4 (LLC/SNAP)", TL_DLT_LINUX_SLL, l2_sll_llc, 0, 0},
    {"802.1ad + 802.1ah PBB + 802.1Q", TL_DLT_EN10MB, l2_pbb, (100u << 12) | 200u, 0},
    {"802.1Q + VN-Tag + 802.1Q", TL_DLT_EN10MB, l2_vntag, (250u << 12) | 251u, 0},
    {"FabricPath", TL_DLT_EN10MB, l2_fabricpath, 0, 0},
    {"C_HDLC", TL_DLT_C_HDLC, l2_chdlc, 0, 0},
    {"FDDI + LLC/SNAP", TL_DLT_FDDI, l2_fddi, 0, 0},
    {"PPP with FF 03", TL_DLT_PPP, l2_ppp, 0, 0},
    {"PPP without FF 03, protocol compressed", TL_DLT_PPP, l2_ppp_compressed, 0, 0},
    {"PPP + MPLS", TL_DLT_PPP, l2_ppp_mpls, 0, 0},
    {"PPP_SERIAL (PPP)", TL_DLT_PPP_SERIAL, l2_ppp, 0, 0},
    {"PPP_SERIAL (Cisco HDLC)", TL_DLT_PPP_SERIAL, l2_chdlc, 0, 0},
    {"NFLOG little-endian TLVs", TL_DLT_NFLOG, l2_nflog_le, 0, 0},
    {"NFLOG big-endian TLVs", TL_DLT_NFLOG, l2_nflog_be, 0, 0},
    {"NFLOG family 0 (IP version decides)", TL_DLT_NFLOG, l2_nflog_unspec, 0, 0},
    {"radiotap + 802.11 data", TL_DLT_IEEE802_11_RADIO, l2_wlan, 0, 0},
    {"radiotap (TSFT) + 802.11 QoS data with HT control", TL_DLT_IEEE802_11_RADIO, l2_wlan_qos_htc,
     0, 0},
    {"radiotap (TSFT, 2 bitmaps) + 802.11 QoS data", TL_DLT_IEEE802_11_RADIO, l2_radiotap, 0, 0},
    {"radiotap data pad + 802.11 with 4 addresses", TL_DLT_IEEE802_11_RADIO, l2_radiotap_pad, 0, 0},
};

static void write_seed(const char *name, int ver, int dlt, const struct pkt *p);

static void test_link_case(struct tap *t, const struct link_case *lc, int ver)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    pkt_init(&p, buf, sizeof buf);
    lc->l2(&p, ver);
    std_ip_tcp(&p, ver);
    write_seed(lc->name, ver, lc->dlt, &p);
    struct tl_pkt o;
    long poff;
    char name[128];
    enum tl_dec r = dec(&p, lc->dlt, &o, &poff);
    snprintf(name, sizeof name, "%s IPv%d: decodes", lc->name, ver);
    is_str(t, tl_dec_name(r), "ok", name);
    snprintf(name, sizeof name, "%s IPv%d: every field (vlan %u)", lc->name, ver,
             (unsigned)lc->vlan);
    ok(t, r == TL_DEC_OK && std_ok(&o, ver, lc->vlan, poff, (long)p.pay_off), name);
    snprintf(name, sizeof name, "%s IPv%d: every cut is truncated, then ok", lc->name, ver);
    is_int(t, sweep(p.b, p.len, p.pay_off, lc->dlt), 0, name);
}

static void test_link_types(struct tap *t)
{
    for (size_t i = 0; i < sizeof link_cases / sizeof link_cases[0]; i++)
        for (int ver = 4; ver <= 6; ver += 2)
            if (link_cases[i].only_ver == 0 || link_cases[i].only_ver == ver)
                test_link_case(t, &link_cases[i], ver);
}

/* Decodes a frame whose link header was written by fn, then IPv4/TCP. */
static enum tl_dec dec_l2(void (*fn)(struct pkt *p), int dlt)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    pkt_init(&p, buf, sizeof buf);
    fn(&p);
    std_ip_tcp(&p, 4);
    struct tl_pkt o;
    long poff;
    return dec(&p, dlt, &o, &poff);
}

static void bad_8023(struct pkt *p) { pkt_eth(p, 1500); }
static void bad_arp(struct pkt *p) { pkt_eth(p, PKT_ETH_ARP); }
static void bad_vlan9(struct pkt *p)
{
    pkt_eth(p, PKT_ETH_VLAN);
    for (uint16_t i = 1; i <= 9; i++)
        pkt_vlan(p, i, i < 9 ? PKT_ETH_VLAN : PKT_ETH_IPV4);
}
static void bad_mpls9(struct pkt *p)
{
    pkt_eth(p, PKT_ETH_MPLS);
    for (int i = 0; i < 9; i++)
        pkt_mpls(p, 16, i == 8);
}
static void bad_pppoe_lcp(struct pkt *p)
{
    pkt_eth(p, PKT_ETH_PPPOE);
    pkt_pppoe(p, PKT_PPP_LCP);
}
static void bad_null_family(struct pkt *p) { pkt_null(p, 7, 0); }
static void bad_loop_le(struct pkt *p) { pkt_null(p, 2, 0); }
static void bad_sll_arp(struct pkt *p) { pkt_sll(p, PKT_ETH_ARP); }
static void bad_none(struct pkt *p) { (void)p; }

static void test_link_refusals(struct tap *t)
{
    is_int(t, dec_l2(bad_8023, TL_DLT_EN10MB), TL_DEC_NOT_IP, "802.3 length (1500) is not IP");
    is_int(t, dec_l2(bad_arp, TL_DLT_EN10MB), TL_DEC_NOT_IP, "ARP is not IP");
    is_int(t, dec_l2(bad_vlan9, TL_DLT_EN10MB), TL_DEC_NOT_IP, "9 VLAN tags are refused");
    is_int(t, dec_l2(bad_mpls9, TL_DLT_EN10MB), TL_DEC_NOT_IP, "9 MPLS labels are refused");
    is_int(t, dec_l2(bad_pppoe_lcp, TL_DLT_EN10MB), TL_DEC_NOT_IP, "PPPoE LCP is not IP");
    is_int(t, dec_l2(bad_null_family, TL_DLT_NULL), TL_DEC_NOT_IP, "NULL family 7 is not IP");
    is_int(t, dec_l2(bad_loop_le, TL_DLT_LOOP), TL_DEC_NOT_IP,
           "LOOP is network order only: little-endian AF_INET is not IP");
    is_int(t, dec_l2(bad_sll_arp, TL_DLT_LINUX_SLL), TL_DEC_NOT_IP, "SLL ARP is not IP");
    is_int(t, dec_l2(bad_none, 105), TL_DEC_UNSUPPORTED_LINKTYPE,
           "802.11 without radiotap (105) is unsupported");
    is_int(t, dec_l2(bad_none, -1), TL_DEC_UNSUPPORTED_LINKTYPE, "-1 is unsupported");
    /* After MPLS the version nibble decides; 5 is neither IPv4 nor IPv6. */
    uint8_t buf[PKT_MAX];
    struct pkt p;
    pkt_init(&p, buf, sizeof buf);
    l2_mpls(&p, 4);
    std_ip_tcp(&p, 4);
    buf[p.ip_off] = 0x55;
    struct tl_pkt o;
    long poff;
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_BAD_IP_VERSION,
           "MPLS then IP version 5: bad version");
    is_int(t, dec_n(buf + p.ip_off, p.len - p.ip_off, p.len - p.ip_off, TL_DLT_RAW, &o, &poff),
           TL_DEC_BAD_IP_VERSION, "RAW: version 5 is a bad version");
    pkt_init(&p, buf, sizeof buf);
    l2_eth(&p, 4);
    std_ip_tcp(&p, 6);
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_BAD_IP_VERSION,
           "ethertype IPv4 carrying an IPv6 header: bad version");
    pkt_init(&p, buf, sizeof buf);
    std_ip_tcp(&p, 6);
    is_int(t, dec(&p, TL_DLT_IPV4, &o, &poff), TL_DEC_BAD_IP_VERSION,
           "DLT_IPV4 carrying IPv6: bad version");
    is_int(t, dec_n(buf, 0, 0, TL_DLT_RAW, &o, &poff), TL_DEC_TRUNC_IP,
           "RAW, empty frame: truncated IP header");
}

/* FDDI: only asynchronous LLC frames (frame control 0101 0PPP, any
 * priority) carry IP; the ring's own frames and synchronous ones do not. */
static void test_fddi(struct tap *t)
{
    static const struct {
        uint8_t fc;
        enum tl_dec want;
        const char *name;
    } cases[] = {
        {0x50, TL_DEC_OK, "FDDI async LLC, priority 0: decodes"},
        {0x57, TL_DEC_OK, "FDDI async LLC, priority 7: decodes"},
        {0x58, TL_DEC_NOT_IP, "FDDI frame control 0x58 (reserved LLC): not IP"},
        {0xd0, TL_DEC_NOT_IP, "FDDI synchronous LLC (0xd0): not IP"},
        {0x41, TL_DEC_NOT_IP, "FDDI station management (0x41): not IP"},
        {0xc2, TL_DEC_NOT_IP, "FDDI MAC frame (0xc2): not IP"},
        {0x80, TL_DEC_NOT_IP, "FDDI token (0x80): not IP"},
        {0x00, TL_DEC_NOT_IP, "FDDI void frame (0x00): not IP"},
    };
    uint8_t buf[PKT_MAX];
    struct pkt p;
    struct tl_pkt o;
    long poff;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pkt_init(&p, buf, sizeof buf);
        l2_fddi(&p, 4);
        std_ip_tcp(&p, 4);
        buf[0] = cases[i].fc;
        enum tl_dec r = dec(&p, TL_DLT_FDDI, &o, &poff);
        is_str(t, tl_dec_name(r), tl_dec_name(cases[i].want), cases[i].name);
        if (cases[i].want == TL_DEC_OK)
            ok(t, r == TL_DEC_OK && std_ok(&o, 4, 0, poff, (long)p.pay_off),
               "FDDI: the segment after 13 bytes of FDDI and 8 of LLC/SNAP, every field");
    }
    /* 802.2 LLC that is not SNAP (spanning tree's DSAP 0x42). */
    pkt_init(&p, buf, sizeof buf);
    l2_fddi(&p, 4);
    std_ip_tcp(&p, 4);
    buf[13] = buf[14] = 0x42;
    is_str(t, tl_dec_name(dec(&p, TL_DLT_FDDI, &o, &poff)), "not_ip",
           "FDDI async LLC of DSAP 0x42: not IP");
    /* An FDDI frame read as Ethernet, or Ethernet as FDDI, is not taken. */
    pkt_init(&p, buf, sizeof buf);
    l2_eth(&p, 4);
    std_ip_tcp(&p, 4);
    is_int(t, dec(&p, TL_DLT_FDDI, &o, &poff), TL_DEC_NOT_IP,
           "an Ethernet frame read as FDDI (frame control 0x02): not IP");
    is_int(t, dec_n(buf, 12, 12, TL_DLT_FDDI, &o, &poff), TL_DEC_TRUNC_L2,
           "FDDI frame of 12 bytes: truncated link header");
}

/* ---- IPv4 ---- */

/* Ethernet + IPv4 with optlen option bytes + the standard segment. */
static void eth_v4(struct pkt *p, uint8_t *buf, size_t optlen, uint8_t proto)
{
    pkt_init(p, buf, PKT_MAX);
    pkt_eth(p, PKT_ETH_IPV4);
    pkt_ipv4(p, PKT_V4(10, 0, 0, 1), PKT_V4(10, 0, 0, 2), proto, optlen);
    std_tcp(p);
    pkt_finish(p);
}

static void test_ipv4_ihl(struct tap *t)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    struct tl_pkt o;
    long poff;
    char name[96];
    for (int ihl = 6; ihl <= 15; ihl++) {
        eth_v4(&p, buf, (size_t)(ihl - 5) * 4, PKT_PROTO_TCP);
        enum tl_dec r = dec(&p, TL_DLT_EN10MB, &o, &poff);
        snprintf(name, sizeof name, "IPv4 IHL %d: options skipped, every field right", ihl);
        ok(t, r == TL_DEC_OK && std_ok(&o, 4, 0, poff, (long)p.pay_off), name);
    }
    is_int(t, sweep(p.b, p.len, p.pay_off, TL_DLT_EN10MB), 0,
           "IPv4 IHL 15: every cut is truncated, then ok");
    for (int ihl = 0; ihl <= 4; ihl++) {
        eth_v4(&p, buf, 0, PKT_PROTO_TCP);
        buf[p.ip_off] = (uint8_t)(0x40 | ihl);
        snprintf(name, sizeof name, "IPv4 IHL %d: bad header length", ihl);
        is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_ipv4_header_length", name);
    }
    /* 60 bytes of header claimed in a datagram of 50, captured whole: a lie,
     * not a cut (the sweep above shows cuts of a real 60-byte header). */
    eth_v4(&p, buf, 0, PKT_PROTO_TCP);
    buf[p.ip_off] = 0x4f;
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_ipv4_header_length",
           "IPv4 IHL 15 beyond the frame: bad header length");
}

/* Sets the IPv4 total length of p to v. */
static void set_tot(struct pkt *p, uint16_t v) { pkt_be16(p->b + p->ip_off + 2, v); }

static void test_ipv4_len(struct tap *t)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    struct tl_pkt o;
    long poff;
    eth_v4(&p, buf, 0, PKT_PROTO_TCP);
    uint16_t tot = (uint16_t)(p.len - p.ip_off);
    set_tot(&p, (uint16_t)(tot + 1));
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_BAD_IP_LEN,
           "IPv4 total length one beyond the wire: bad length");
    set_tot(&p, 0xffff);
    is_int(t, dec_n(p.b, p.len - 10, p.len, TL_DLT_EN10MB, &o, &poff), TL_DEC_BAD_IP_LEN,
           "IPv4 total length 65535 on a short, snaplen-cut frame: bad length");
    set_tot(&p, 19);
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_BAD_IP_LEN,
           "IPv4 total length 19 (< IHL): bad length");
    set_tot(&p, 20 + 19);
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_BAD_IP_LEN,
           "IPv4 total length leaving 19 bytes for TCP: bad length");
    set_tot(&p, 0);
    enum tl_dec r = dec(&p, TL_DLT_EN10MB, &o, &poff);
    ok(t,
       r == TL_DEC_OK && o.quirks == TL_QUIRK_IP_LEN_ZERO && o.payload_len == STD_PAYLEN &&
           o.payload_caplen == STD_PAYLEN && poff == (long)p.pay_off,
       "IPv4 total length 0: decoded from the frame length, quirk ip_len_zero");
    set_tot(&p, (uint16_t)(tot - 4));
    r = dec(&p, TL_DLT_EN10MB, &o, &poff);
    ok(t,
       r == TL_DEC_OK && o.quirks == TL_QUIRK_L2_PADDING && o.payload_len == 6 &&
           o.payload_caplen == 6,
       "IPv4 total length 4 short of the frame: payload 6, quirk l2_padding");
    set_tot(&p, tot);
    pkt_pad(&p, 6);
    r = dec(&p, TL_DLT_EN10MB, &o, &poff);
    ok(t, r == TL_DEC_OK && o.quirks == TL_QUIRK_L2_PADDING,
       "Ethernet padding after the datagram: quirk l2_padding");
    o.quirks = 0;
    ok(t, r == TL_DEC_OK && std_ok(&o, 4, 0, poff, (long)p.pay_off),
       "Ethernet padding after the datagram: not counted as payload");
}

static void test_snaplen(struct tap *t)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    pkt_init(&p, buf, sizeof buf);
    pkt_eth(&p, PKT_ETH_IPV4);
    pkt_ipv4(&p, PKT_V4(10, 0, 0, 1), PKT_V4(10, 0, 0, 2), PKT_PROTO_TCP, 0);
    pkt_tcp(&p, &(struct pkt_tcp){.sport = 1, .dport = 2, .flags = TL_TH_ACK, .paylen = 1000});
    pkt_finish(&p);
    struct tl_pkt o;
    long poff;
    enum tl_dec r = dec_n(p.b, p.pay_off + 50, p.len, TL_DLT_EN10MB, &o, &poff);
    is_int(t, r, TL_DEC_OK, "snaplen cut inside the payload: decodes");
    is_int(t, o.payload_len, 1000, "snaplen cut: payload_len is the wire length");
    is_int(t, o.payload_caplen, 50, "snaplen cut: payload_caplen is what was kept");
    is_int(t, poff, (long)p.pay_off, "snaplen cut: payload points after the header");
    r = dec_n(p.b, p.pay_off, p.len, TL_DLT_EN10MB, &o, &poff);
    ok(t, r == TL_DEC_OK && o.payload_len == 1000 && o.payload_caplen == 0,
       "snaplen cut right after the TCP header: payload_caplen 0");
    is_int(t, dec_n(p.b, p.len, p.len - 1, TL_DLT_EN10MB, &o, &poff), TL_DEC_BAD_CAPLEN,
           "caplen > wirelen: bad caplen");
    is_int(t, dec_n(p.b, 1, 0, TL_DLT_EN10MB, &o, &poff), TL_DEC_BAD_CAPLEN,
           "caplen 1, wirelen 0: bad caplen");
}

static void test_ipv4_frag_proto(struct tap *t)
{
    static const struct {
        uint16_t frag;
        enum tl_dec want;
        const char *name;
    } cases[] = {
        {0x2000, TL_DEC_FRAGMENT, "IPv4 more-fragments: fragment"},
        {0x0001, TL_DEC_FRAGMENT, "IPv4 offset 8: fragment"},
        {0x1fff, TL_DEC_FRAGMENT, "IPv4 last fragment, largest offset: fragment"},
        {0x6000, TL_DEC_FRAGMENT, "IPv4 DF + MF: fragment"},
        {0x4000, TL_DEC_OK, "IPv4 don't-fragment only: whole"},
    };
    uint8_t buf[PKT_MAX];
    struct pkt p;
    struct tl_pkt o;
    long poff;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        eth_v4(&p, buf, 0, PKT_PROTO_TCP);
        pkt_be16(buf + p.ip_off + 6, cases[i].frag);
        is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), tl_dec_name(cases[i].want),
               cases[i].name);
    }
    eth_v4(&p, buf, 0, PKT_PROTO_UDP);
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_NOT_TCP, "IPv4 UDP: not TCP");
    eth_v4(&p, buf, 8, PKT_PROTO_ICMP);
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_NOT_TCP, "IPv4 ICMP with options: not TCP");
}

/* ---- IPv6 ---- */

static void v6_begin(struct pkt *p, uint8_t *buf, uint8_t nh)
{
    uint8_t s[16], d[16];
    pkt_v6addr(s, 1);
    pkt_v6addr(d, 2);
    pkt_init(p, buf, PKT_MAX);
    pkt_eth(p, PKT_ETH_IPV6);
    pkt_ipv6(p, s, d, nh);
}

static void v6_end(struct pkt *p)
{
    std_tcp(p);
    pkt_finish(p);
}

static void test_ipv6_chain(struct tap *t)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    struct tl_pkt o;
    long poff;
    v6_begin(&p, buf, PKT_PROTO_HOPOPTS);
    pkt_ipv6_ext(&p, PKT_PROTO_ROUTING, 0);
    size_t rt_off = p.len;
    pkt_ipv6_ext(&p, PKT_PROTO_DSTOPTS, 1);
    pkt_ipv6_ext(&p, PKT_PROTO_TCP, 0);
    v6_end(&p);
    enum tl_dec r = dec(&p, TL_DLT_EN10MB, &o, &poff);
    ok(t, r == TL_DEC_OK && std_ok(&o, 6, 0, poff, (long)p.pay_off),
       "IPv6 hop-by-hop + routing (16 bytes) + destination options: every field right");
    is_int(t, sweep(p.b, p.len, p.pay_off, TL_DLT_EN10MB), 0,
           "IPv6 extension chain: every cut is truncated, then ok");
    is_int(t, dec_n(p.b, rt_off + 12, p.len, TL_DLT_EN10MB, &o, &poff), TL_DEC_TRUNC_IPV6_EXT,
           "IPv6 cut inside the routing header: truncated ext header");
    v6_begin(&p, buf, PKT_PROTO_AH);
    pkt_ipv6_ah(&p, PKT_PROTO_DSTOPTS, 4);
    pkt_ipv6_ext(&p, PKT_PROTO_TCP, 2);
    v6_end(&p);
    r = dec(&p, TL_DLT_EN10MB, &o, &poff);
    ok(t, r == TL_DEC_OK && std_ok(&o, 6, 0, poff, (long)p.pay_off),
       "IPv6 AH (24 bytes, 4-octet units) + destination options: every field right");
}

static void test_ipv6_frag(struct tap *t)
{
    static const struct {
        uint16_t offset;
        int more;
        enum tl_dec want;
        const char *name;
    } cases[] = {
        {0, 0, TL_DEC_OK, "IPv6 atomic fragment (offset 0, M 0): accepted"},
        {0, 1, TL_DEC_FRAGMENT, "IPv6 first fragment (M 1): fragment"},
        {100, 0, TL_DEC_FRAGMENT, "IPv6 last fragment (offset 100): fragment"},
        {1, 1, TL_DEC_FRAGMENT, "IPv6 middle fragment: fragment"},
    };
    uint8_t buf[PKT_MAX];
    struct pkt p;
    struct tl_pkt o;
    long poff;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        v6_begin(&p, buf, PKT_PROTO_HOPOPTS);
        pkt_ipv6_ext(&p, PKT_PROTO_FRAGMENT, 0);
        pkt_ipv6_frag(&p, PKT_PROTO_TCP, cases[i].offset, cases[i].more);
        v6_end(&p);
        enum tl_dec r = dec(&p, TL_DLT_EN10MB, &o, &poff);
        is_str(t, tl_dec_name(r), tl_dec_name(cases[i].want), cases[i].name);
        if (cases[i].want == TL_DEC_OK)
            ok(t, std_ok(&o, 6, 0, poff, (long)p.pay_off),
               "IPv6 atomic fragment: every field right");
    }
    v6_begin(&p, buf, PKT_PROTO_FRAGMENT);
    pkt_ipv6_frag(&p, PKT_PROTO_TCP, 0, 0);
    v6_end(&p);
    buf[p.ip_off + 40 + 3] |= 0x06; /* the two reserved bits */
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_OK,
           "IPv6 atomic fragment with reserved bits set: accepted");
}

/* IPv6 with n destination-options headers before TCP. */
static enum tl_dec v6_nexts(size_t n, uint8_t ext_type)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    v6_begin(&p, buf, n > 0 ? ext_type : PKT_PROTO_TCP);
    for (size_t i = 0; i < n; i++)
        pkt_ipv6_ext(&p, i + 1 < n ? ext_type : PKT_PROTO_TCP, 0);
    v6_end(&p);
    struct tl_pkt o;
    long poff;
    enum tl_dec r = dec(&p, TL_DLT_EN10MB, &o, &poff);
    if (r == TL_DEC_OK && poff != (long)p.pay_off)
        return TL_DEC_NRESULTS; /* decoded, but the payload is misplaced */
    return r;
}

static void test_ipv6_long_chain(struct tap *t)
{
    is_int(t, v6_nexts(15, PKT_PROTO_DSTOPTS), TL_DEC_OK, "IPv6 15 extension headers: ok");
    is_int(t, v6_nexts(16, PKT_PROTO_DSTOPTS), TL_DEC_OK,
           "IPv6 16 extension headers (the limit): ok");
    is_int(t, v6_nexts(17, PKT_PROTO_DSTOPTS), TL_DEC_BAD_IPV6_EXT,
           "IPv6 17 extension headers: bad ext header");
    is_int(t, v6_nexts(200, PKT_PROTO_HOPOPTS), TL_DEC_BAD_IPV6_EXT,
           "IPv6 hop-by-hop repeated 200 times: bad ext header");
    uint8_t buf[PKT_MAX];
    struct pkt p;
    struct tl_pkt o;
    long poff;
    v6_begin(&p, buf, PKT_PROTO_DSTOPTS);
    pkt_ipv6_ext(&p, PKT_PROTO_TCP, 0);
    v6_end(&p);
    buf[p.ip_off + 40 + 1] = 10; /* 88 bytes, beyond the 38-byte payload */
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_BAD_IPV6_EXT,
           "IPv6 ext header longer than the payload length: bad ext header");
    buf[p.ip_off + 40 + 1] = 3; /* 32 bytes: fits on the wire */
    is_int(t, dec_n(p.b, p.ip_off + 40 + 20, p.len, TL_DLT_EN10MB, &o, &poff),
           TL_DEC_TRUNC_IPV6_EXT, "IPv6 ext header cut by the snaplen: truncated ext header");
}

static void test_ipv6_misc(struct tap *t)
{
    static const struct {
        uint8_t first, second;
        const char *name;
    } not_tcp[] = {
        {PKT_PROTO_UDP, 0, "IPv6 UDP: not TCP"},
        {PKT_PROTO_NONEXT, 0, "IPv6 no next header: not TCP"},
        {PKT_PROTO_HOPOPTS, 132, "IPv6 hop-by-hop then SCTP: not TCP"},
        {PKT_PROTO_DSTOPTS, PKT_PROTO_UDP, "IPv6 destination options then UDP: not TCP"},
    };
    uint8_t buf[PKT_MAX];
    struct pkt p;
    struct tl_pkt o;
    long poff;
    for (size_t i = 0; i < sizeof not_tcp / sizeof not_tcp[0]; i++) {
        v6_begin(&p, buf, not_tcp[i].first);
        if (not_tcp[i].first == PKT_PROTO_HOPOPTS || not_tcp[i].first == PKT_PROTO_DSTOPTS)
            pkt_ipv6_ext(&p, not_tcp[i].second, 0);
        v6_end(&p);
        is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_NOT_TCP, not_tcp[i].name);
    }
    v6_begin(&p, buf, PKT_PROTO_TCP);
    v6_end(&p);
    uint8_t *plen = buf + p.ip_off + 4;
    pkt_be16(plen, 31);
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_BAD_IP_LEN,
           "IPv6 payload length one beyond the wire: bad length");
    pkt_be16(plen, 19);
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_BAD_IP_LEN,
           "IPv6 payload length 19 (< TCP header): bad length");
    pkt_be16(plen, 0);
    enum tl_dec r = dec(&p, TL_DLT_EN10MB, &o, &poff);
    ok(t, r == TL_DEC_OK && o.quirks == TL_QUIRK_IP_LEN_ZERO && o.payload_len == STD_PAYLEN,
       "IPv6 payload length 0: decoded from the frame length, quirk ip_len_zero");
    pkt_be16(plen, 26);
    r = dec(&p, TL_DLT_EN10MB, &o, &poff);
    ok(t,
       r == TL_DEC_OK && o.quirks == TL_QUIRK_L2_PADDING && o.payload_len == 6 &&
           o.payload_caplen == 6,
       "IPv6 payload length 4 short of the frame: payload 6, quirk l2_padding");
}

/* ---- TCP header and options ---- */

static void test_tcp_doff(struct tap *t)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    struct tl_pkt o;
    long poff;
    char name[96];
    eth_v4(&p, buf, 0, PKT_PROTO_TCP); /* 20-byte header + 10 payload bytes */
    uint8_t *doff = buf + p.tcp_off + 12;
    for (int d = 0; d <= 4; d++) {
        *doff = (uint8_t)(d << 4);
        snprintf(name, sizeof name, "TCP data offset %d: bad data offset", d);
        is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_BAD_TCP_DOFF, name);
    }
    *doff = 15 << 4;
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_BAD_TCP_DOFF,
           "TCP data offset 15 (60 bytes) in a 30-byte segment: bad data offset");
    *doff = 8 << 4;
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_BAD_TCP_DOFF,
           "TCP data offset 8 (32 bytes) in a 30-byte segment: bad data offset");
    *doff = 7 << 4;
    enum tl_dec r = dec(&p, TL_DLT_EN10MB, &o, &poff);
    ok(t, r == TL_DEC_OK && o.payload_len == 2 && poff == (long)p.tcp_off + 28,
       "TCP data offset 7 in a 30-byte segment: 2 payload bytes");
    is_int(t, dec_n(p.b, p.tcp_off + 24, p.len, TL_DLT_EN10MB, &o, &poff), TL_DEC_TRUNC_TCP,
           "TCP data offset 7, cut after 24 header bytes: truncated TCP header");
    *doff = 5 << 4;
    is_int(t, dec_n(p.b, p.tcp_off + 19, p.len, TL_DLT_EN10MB, &o, &poff), TL_DEC_TRUNC_TCP,
           "TCP cut after 19 header bytes: truncated TCP header");
}

/*
 * Ethernet/IPv4/TCP with these option bytes (padded with EOL) and paylen
 * payload bytes, decoded from an exact-size copy: with paylen 0 the options
 * end the buffer, so ASan catches any read past them.
 */
static enum tl_dec dec_opts(const uint8_t *opt, size_t optlen, size_t paylen, struct tl_pkt *o)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    pkt_init(&p, buf, sizeof buf);
    pkt_eth(&p, PKT_ETH_IPV4);
    pkt_ipv4(&p, PKT_V4(10, 0, 0, 1), PKT_V4(10, 0, 0, 2), PKT_PROTO_TCP, 0);
    pkt_tcp(&p, &(struct pkt_tcp){.sport = 1,
                                  .dport = 2,
                                  .flags = TL_TH_SYN,
                                  .opt = opt,
                                  .optlen = optlen,
                                  .paylen = paylen});
    pkt_finish(&p);
    long poff;
    return dec(&p, TL_DLT_EN10MB, o, &poff);
}

static void test_tcpopt_syn(struct tap *t)
{
    static const uint8_t opt[] = {2,    4,    0x05, 0xb4,                         /* MSS 1460 */
                                  4,    2,                                        /* SACK ok */
                                  8,    10,   0x11, 0x22, 0x33, 0x44, 0x55, 0x66, /* TS */
                                  0x77, 0x88, 1,                                  /* NOP */
                                  3,    3,    7};                                 /* wscale 7 */
    struct tl_pkt o;
    enum tl_dec r = dec_opts(opt, sizeof opt, 0, &o);
    is_int(t, r, TL_DEC_OK, "SYN options: decodes");
    ok(t, o.opt.has_mss && o.opt.mss == 1460, "SYN options: MSS 1460");
    ok(t, o.opt.sack_permitted, "SYN options: SACK permitted");
    ok(t, o.opt.has_ts && o.opt.tsval == 0x11223344u && o.opt.tsecr == 0x55667788u,
       "SYN options: timestamps 0x11223344 / 0x55667788");
    ok(t, o.opt.has_wscale && o.opt.wscale == 7, "SYN options: window scale 7");
    ok(t, o.opt.nsack == 0 && o.quirks == 0, "SYN options: no SACK blocks, no quirk");
    struct tl_pkt none;
    r = dec_opts(NULL, 0, 0, &none);
    ok(t,
       r == TL_DEC_OK && !none.opt.has_mss && !none.opt.has_ts && !none.opt.has_wscale &&
           !none.opt.sack_permitted && none.opt.nsack == 0,
       "no options: nothing set");
}

static void test_tcpopt_sack(struct tap *t)
{
    char name[96];
    for (int n = 1; n <= 4; n++) {
        uint8_t opt[40] = {1, 1, 5, (uint8_t)(2 + 8 * n)};
        for (int i = 0; i < n && i < 4; i++) { /* (said for gcc -O3: four fit) */
            pkt_be32(opt + 4 + 8 * i, 0xfffff000u + (uint32_t)i * 0x1000u);
            pkt_be32(opt + 8 + 8 * i, 0xfffff000u + (uint32_t)i * 0x1000u + 500u);
        }
        struct tl_pkt o;
        enum tl_dec r = dec_opts(opt, 4 + 8 * (size_t)n, 0, &o);
        bool edges = r == TL_DEC_OK && o.opt.nsack == n && o.quirks == 0;
        for (int i = 0; edges && i < n; i++)
            edges = o.opt.sack[i][0] == 0xfffff000u + (uint32_t)i * 0x1000u &&
                    o.opt.sack[i][1] == 0xfffff000u + (uint32_t)i * 0x1000u + 500u;
        snprintf(name, sizeof name, "SACK with %d block%s: every edge", n, n > 1 ? "s" : "");
        ok(t, edges, name);
    }
    /* A length that is not 2 + 8n: the whole blocks are read. */
    uint8_t odd[20] = {1, 1, 5, 14, 0, 0, 0, 1, 0, 0, 0, 2, 9, 9, 9, 9};
    struct tl_pkt o;
    enum tl_dec r = dec_opts(odd, sizeof odd, 0, &o);
    ok(t, r == TL_DEC_OK && o.opt.nsack == 1 && o.opt.sack[0][0] == 1 && o.opt.sack[0][1] == 2,
       "SACK of length 14: one block");
}

struct badopt {
    const char *name;
    uint8_t opt[40];
    size_t len;
    bool quirk, mss, ts, wscale;
};

static const struct badopt badopts[] = {
    {"option length 0", {2, 4, 0x05, 0xb4, 30, 0, 3, 3, 1}, 9, true, true, false, false},
    {"option length 1", {2, 4, 0x05, 0xb4, 30, 1, 3, 3, 1}, 9, true, true, false, false},
    {"MSS length 0 first", {2, 0, 0x05, 0xb4}, 4, true, false, false, false},
    {"timestamps running past the header",
     {2, 4, 0x05, 0xb4, 8, 10, 0, 0},
     8,
     true,
     true,
     false,
     false},
    {"kind in the last byte, no length", {1, 1, 1, 2}, 4, true, false, false, false},
    {"timestamps kind in the last byte", {2, 4, 0x05, 0xb4, 1, 1, 1, 8}, 8, true, true, false, false},
    {"length 255", {1, 1, 3, 255}, 4, true, false, false, false},
    {"EOL ends the list", {0, 0, 0, 0, 2, 4, 0x05, 0xb4}, 8, false, false, false, false},
    {"unknown kind skipped", {30, 4, 0, 0, 2, 4, 0x05, 0xb4}, 8, false, true, false, false},
    {"MSS of length 6 ignored", {2, 6, 0x05, 0xb4, 0, 0, 3, 3, 9}, 9, false, false, false, true},
    {"timestamps ending exactly at the header end",
     {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1, 1, 1, 1, 1, 1, 1, 1,
      1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2},
     40,
     false,
     false,
     true,
     false},
};

static void test_tcpopt_bad(struct tap *t)
{
    char name[128];
    for (size_t i = 0; i < sizeof badopts / sizeof badopts[0]; i++) {
        const struct badopt *b = &badopts[i];
        for (size_t paylen = 0; paylen <= 10; paylen += 10) {
            struct tl_pkt o;
            enum tl_dec r = dec_opts(b->opt, b->len, paylen, &o);
            bool quirk = (o.quirks & TL_QUIRK_TCPOPT_BAD) != 0;
            bool good = r == TL_DEC_OK && quirk == b->quirk && o.opt.has_mss == b->mss &&
                        (!b->mss || o.opt.mss == 1460) && o.opt.has_ts == b->ts &&
                        o.opt.has_wscale == b->wscale;
            snprintf(name, sizeof name, "%s%s: %s", b->name, paylen ? " (payload follows)" : "",
                     b->quirk ? "quirk tcpopt_bad, earlier options kept" : "no quirk");
            ok(t, good, name);
        }
    }
}

/* ---- a real frame, truncated at every byte ---- */

static void test_real_syn(struct tap *t)
{
    struct tl_pkt o;
    long poff;
    enum tl_dec r = dec_n(real_syn, sizeof real_syn, sizeof real_syn, TL_DLT_EN10MB, &o, &poff);
    is_int(t, r, TL_DEC_OK, "real SYN: decodes");
    static const uint8_t lo[16] = {127, 0, 0, 1};
    ok(t,
       o.src.family == TL_AF_INET && memcmp(o.src.b, lo, 16) == 0 && memcmp(o.dst.b, lo, 16) == 0,
       "real SYN: 127.0.0.1 -> 127.0.0.1");
    ok(t,
       o.sport == 40726 && o.dport == 54321 && o.seq == 1785445957u && o.ack == 0 &&
           o.flags == TL_TH_SYN && o.win == 65495 && o.ttl == 64,
       "real SYN: ports, seq, flags, window, ttl");
    ok(t,
       o.opt.has_mss && o.opt.mss == 65495 && o.opt.sack_permitted && o.opt.has_ts &&
           o.opt.tsval == 3686338915u && o.opt.tsecr == 0 && o.opt.has_wscale &&
           o.opt.wscale == 10 && o.quirks == 0,
       "real SYN: mss 65495, sackOK, TS 3686338915/0, wscale 10");
    ok(t, o.payload_len == 0 && o.payload_caplen == 0 && poff == 74, "real SYN: no payload");
    char name[96];
    for (size_t cut = 0; cut < sizeof real_syn; cut++) {
        enum tl_dec want = cut < 14   ? TL_DEC_TRUNC_L2
                           : cut < 34 ? TL_DEC_TRUNC_IP
                                      : TL_DEC_TRUNC_TCP;
        r = dec_n(real_syn, cut, sizeof real_syn, TL_DLT_EN10MB, &o, &poff);
        snprintf(name, sizeof name, "real SYN cut to %zu bytes: %s", cut, tl_dec_name(want));
        is_str(t, tl_dec_name(r), tl_dec_name(want), name);
    }
}

/* Every prefix of a frame from a capture must be a truncation or decode as
 * the whole frame does. Returns the failures; counts TCP frames. */
static int sweep_any(const uint8_t *data, size_t caplen, size_t wirelen, int dlt, int *tcp)
{
    struct tl_pkt full, o;
    long hdr_end, poff;
    enum tl_dec whole = dec_n(data, caplen, wirelen, dlt, &full, &hdr_end);
    *tcp += whole == TL_DEC_OK;
    int bad = 0;
    for (size_t cut = 0; cut < caplen; cut++) {
        enum tl_dec r = dec_n(data, cut, wirelen, dlt, &o, &poff);
        bool good;
        if (whole == TL_DEC_OK && (long)cut >= hdr_end) {
            size_t kept = cut - (size_t)hdr_end;
            good = r == TL_DEC_OK && poff == hdr_end && o.payload_len == full.payload_len &&
                   o.payload_caplen == (kept < full.payload_len ? kept : full.payload_len);
        } else {
            good = is_trunc(r) || (r == whole && whole != TL_DEC_OK);
        }
        bad += !good;
    }
    return bad;
}

static void test_sample_pcap(struct tap *t)
{
    const char *dir = getenv("SRCDIR");
    char path[4096], err[PCAP_ERRBUF_SIZE];
    snprintf(path, sizeof path, "%s/samples/normal.pcap", dir ? dir : ".");
    pcap_t *pc = pcap_open_offline(path, err);
    if (pc == NULL) {
        printf("# %s not swept: %s\n", path, err);
        return;
    }
    int dlt = pcap_datalink(pc), frames = 0, tcp = 0, bad = 0;
    struct pcap_pkthdr *h;
    const u_char *data;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        frames++;
        bad += sweep_any(data, h->caplen, h->len, dlt, &tcp);
    }
    pcap_close(pc);
    ok(t, frames > 0 && tcp > 0, "samples/normal.pcap: has TCP frames");
    is_int(t, bad, 0, "samples/normal.pcap: every prefix of every frame truncated or same");
}

/* ---- names ---- */

static void test_names(struct tap *t)
{
    bool named = true, distinct = true;
    for (int r = 0; r < TL_DEC_NRESULTS; r++) {
        const char *n = tl_dec_name((enum tl_dec)r);
        if (n == NULL || n[0] == '\0' || strcmp(n, "unknown") == 0) {
            named = false;
            continue;
        }
        for (int s = 0; s < r; s++)
            if (strcmp(n, tl_dec_name((enum tl_dec)s)) == 0)
                distinct = false;
    }
    ok(t, named, "tl_dec_name: every result has a name");
    ok(t, distinct, "tl_dec_name: names are distinct");
    is_str(t, tl_dec_name(TL_DEC_OK), "ok", "tl_dec_name(OK)");
    is_str(t, tl_dec_name(TL_DEC_BAD_TCP_DOFF), "bad_tcp_data_offset", "tl_dec_name(BAD_DOFF)");
    ok(t, tl_dec_name(TL_DEC_NRESULTS) != NULL, "tl_dec_name out of range: not NULL");
    bool classes = tl_dec_class(TL_DEC_OK) == TL_DEC_CLASS_NONE &&
                   tl_dec_class(TL_DEC_NOT_TCP) == TL_DEC_CLASS_NON_TCP &&
                   tl_dec_class(TL_DEC_FRAGMENT) == TL_DEC_CLASS_NON_TCP &&
                   tl_dec_class(TL_DEC_BAD_CAPLEN) == TL_DEC_CLASS_MALFORMED &&
                   tl_dec_class(TL_DEC_BAD_TCP_DOFF) == TL_DEC_CLASS_MALFORMED;
    for (int r = 0; r < TL_DEC_NRESULTS; r++)
        if ((tl_dec_class((enum tl_dec)r) == TL_DEC_CLASS_TRUNCATED) != is_trunc((enum tl_dec)r))
            classes = false;
    ok(t, classes, "tl_dec_class: truncations and only they are TRUNCATED");
}

/* ---- ICMP and ICMPv6 errors quoting a TCP segment ---- */

/* 192.0.2.1 (a router, or the destination 10.0.0.2 with from_dest) tells
 * 10.0.0.1 its segment 10.0.0.1:40000 > 10.0.0.2:80 seq 1000 (quote_len
 * bytes of its TCP header) met an error. */
static void icmp4(struct pkt *p, uint8_t *buf, uint8_t type, uint8_t code, uint32_t rest,
                  size_t quote_len, bool from_dest)
{
    pkt_init(p, buf, PKT_MAX);
    pkt_eth(p, PKT_ETH_IPV4);
    pkt_ipv4(p, from_dest ? PKT_V4(10, 0, 0, 2) : PKT_V4(192, 0, 2, 1), PKT_V4(10, 0, 0, 1),
             PKT_PROTO_ICMP, 0);
    pkt_icmp(p, type, code, rest);
    pkt_quote_ipv4(p, PKT_V4(10, 0, 0, 1), PKT_V4(10, 0, 0, 2), 60);
    pkt_quote_tcp(p, STD_SPORT, STD_DPORT, 1000, 2000, TL_TH_SYN, quote_len);
    pkt_finish(p);
}

static void test_icmp4(struct tap *t)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    struct tl_pkt o;
    long poff;
    icmp4(&p, buf, 3, 3, 0, 20, true);
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_ICMP, "ICMP port unreachable: an error");
    ok(t,
       addr_is(&o.src, 4, 1) && addr_is(&o.dst, 4, 2) && o.sport == STD_SPORT &&
           o.dport == STD_DPORT && o.seq == 1000 && o.ack == 2000 && o.flags == TL_TH_SYN,
       "ICMP: the quoted segment's addresses, ports, numbers and flags");
    ok(t,
       o.icmp.type == 3 && o.icmp.code == 3 && !o.icmp.v6 && o.icmp.has_flags &&
           addr_is(&o.icmp.from, 4, 2) && o.icmp.has_len && o.payload_len == 20 &&
           o.ip4_hdr == NULL,
       "ICMP: type, code, sender; the quoted segment's length (60 - 20 - 20); no header to "
       "checksum");
    icmp4(&p, buf, 3, 4, 1400, 8, false);
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_ICMP, "ICMP quoting 8 bytes: an error");
    ok(t, !o.icmp.has_flags && o.flags == 0 && o.seq == 1000 && o.icmp.mtu == 1400,
       "ICMP fragmentation needed: MTU; an 8-byte quote has no flags");
    ok(t, o.icmp.from.b[0] == 192 && o.icmp.from.b[3] == 1, "ICMP: a router's address");
    icmp4(&p, buf, 11, 0, 0, 7, false);
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_TRUNC_ICMP,
           "ICMP quoting 7 bytes of TCP: truncated quote");
    icmp4(&p, buf, 0, 0, 0, 20, false);
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_NOT_TCP, "ICMP echo reply: not TCP");
    icmp4(&p, buf, 5, 1, 0, 20, false);
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_NOT_TCP, "ICMP redirect: not TCP");
    icmp4(&p, buf, 3, 1, 0, 20, false);
    buf[p.ip_off + 20 + 8 + 9] = PKT_PROTO_UDP;
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_NOT_TCP, "ICMP quoting UDP: not TCP");
    icmp4(&p, buf, 3, 1, 0, 20, false);
    pkt_be16(buf + p.ip_off + 20 + 8 + 6, 0x0010);
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_FRAGMENT,
           "ICMP quoting a later fragment: no TCP header");
    icmp4(&p, buf, 3, 1, 0, 20, false);
    buf[p.ip_off + 20 + 8] = 0x44;
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_BAD_IPV4_IHL,
           "ICMP quoting an IPv4 header of 16 bytes: malformed");
    /* Cut anywhere, the error is a short quote or a short header. */
    icmp4(&p, buf, 3, 13, 0, 20, true);
    bool cut_ok = true;
    for (size_t n = p.ip_off + 20; n < p.len; n++) {
        enum tl_dec r = dec_n(buf, n, p.len, TL_DLT_EN10MB, &o, &poff);
        size_t quote_end = p.ip_off + 20 + 8 + 20 + 8;
        cut_ok = cut_ok && r == (n < quote_end ? TL_DEC_TRUNC_ICMP : TL_DEC_ICMP);
    }
    ok(t, cut_ok, "ICMP cut by the snap length: truncated quote until the ports and sequence");
}

static void test_icmp6(struct tap *t)
{
    uint8_t buf[PKT_MAX], s[16], d[16], r6[16];
    struct pkt p;
    struct tl_pkt o;
    long poff;
    pkt_v6addr(s, 1);
    pkt_v6addr(d, 2);
    pkt_v6addr(r6, 9);
    for (int ext = 0; ext < 2; ext++) {
        pkt_init(&p, buf, PKT_MAX);
        pkt_eth(&p, PKT_ETH_IPV6);
        pkt_ipv6(&p, r6, s, 58);
        pkt_icmp(&p, 2, 0, 1280);
        pkt_quote_ipv6(&p, s, d, ext ? PKT_PROTO_DSTOPTS : PKT_PROTO_TCP);
        if (ext)
            pkt_ipv6_ext(&p, PKT_PROTO_TCP, 0);
        pkt_quote_tcp(&p, STD_SPORT, STD_DPORT, 77, 0, TL_TH_ACK, 20);
        pkt_finish(&p);
        is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_ICMP,
               ext ? "ICMPv6 packet too big, quote with an extension header: an error"
                   : "ICMPv6 packet too big: an error");
        ok(t,
           o.icmp.v6 && o.icmp.type == 2 && o.icmp.mtu == 1280 && addr_is(&o.src, 6, 1) &&
               addr_is(&o.dst, 6, 2) && addr_is(&o.icmp.from, 6, 9) && o.seq == 77,
           "ICMPv6: MTU, quoted addresses, sender");
    }
    pkt_init(&p, buf, PKT_MAX);
    pkt_eth(&p, PKT_ETH_IPV6);
    pkt_ipv6(&p, d, s, 58);
    pkt_icmp(&p, 128, 0, 0);
    pkt_finish(&p);
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_NOT_TCP, "ICMPv6 echo request: not TCP");
    pkt_init(&p, buf, PKT_MAX);
    pkt_eth(&p, PKT_ETH_IPV6);
    pkt_ipv6(&p, d, s, 58);
    pkt_icmp(&p, 1, 4, 0);
    pkt_quote_ipv6(&p, s, d, PKT_PROTO_DSTOPTS);
    pkt_finish(&p);
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_TRUNC_ICMP,
           "ICMPv6 quote cut in its extension headers: truncated quote");
}

/* ---- tunnels ---- */

/* The outer header of tunnel level k (0 the outermost): IPv4
 * 192.0.2.(2k+1) -> .(2k+2), or IPv6 2001:db8::(2k+1) -> ::(2k+2). */
static void outer_addr(uint8_t a[16], int k, int end)
{
    memset(a, 0, 16);
    a[0] = 0x20;
    a[1] = 0x01;
    a[2] = 0x0d;
    a[3] = 0xb8;
    a[15] = (uint8_t)(2 * k + 1 + end);
}

static void outer_ip(struct pkt *p, int k, int v, uint8_t proto)
{
    if (v == 4) {
        pkt_ipv4_outer(p, PKT_V4(192, 0, 2, 2 * k + 1), PKT_V4(192, 0, 2, 2 * k + 2), proto);
    } else {
        uint8_t s[16], d[16];
        outer_addr(s, k, 0);
        outer_addr(d, k, 1);
        pkt_ipv6_outer(p, s, d, proto);
    }
}

static bool outer_is(const struct tl_addr *a, int k, int v, int end)
{
    uint8_t want[16] = {0};
    if (v == 4) {
        want[0] = 192;
        want[2] = 2;
        want[3] = (uint8_t)(2 * k + 1 + end);
    } else {
        outer_addr(want, k, end);
    }
    return a->family == (v == 4 ? TL_AF_INET : TL_AF_INET6) && memcmp(a->b, want, 16) == 0;
}

/* Ethernet, then the outer IP header of level 0. */
static void eth_outer(struct pkt *p, int v, uint8_t proto)
{
    pkt_eth(p, v == 4 ? PKT_ETH_IPV4 : PKT_ETH_IPV6);
    outer_ip(p, 0, v, proto);
}

static void udp_to(struct pkt *p, int v, uint16_t dport)
{
    eth_outer(p, v, PKT_PROTO_UDP);
    pkt_udp(p, 40001, dport);
}

/* Each writes everything before the inner IP header (of version ver). */
static void t_vxlan(struct pkt *p, int ver)
{
    udp_to(p, 4, PKT_PORT_VXLAN);
    pkt_vxlan(p, 0x123456);
    pkt_eth(p, ethertype(ver));
}
static void t_vxlan8472_v6(struct pkt *p, int ver)
{
    udp_to(p, 6, 8472);
    pkt_vxlan(p, 1);
    pkt_eth(p, ethertype(ver));
}
static void t_vxlan_sport_vlan(struct pkt *p, int ver)
{
    eth_outer(p, 4, PKT_PROTO_UDP);
    pkt_udp(p, PKT_PORT_VXLAN, 53); /* the tunnel's port as the source */
    pkt_vxlan(p, 0xffffff);
    pkt_eth(p, PKT_ETH_VLAN);
    pkt_vlan(p, 33, ethertype(ver));
}
static void t_geneve(struct pkt *p, int ver)
{
    udp_to(p, 4, PKT_PORT_GENEVE);
    pkt_geneve(p, 0xabcdef, PKT_ETH_TEB, 0);
    pkt_eth(p, ethertype(ver));
}
static void t_geneve_opts(struct pkt *p, int ver)
{
    udp_to(p, 6, PKT_PORT_GENEVE);
    pkt_geneve(p, 7, PKT_ETH_TEB, 252); /* the most there can be: 128 + 124 */
    pkt_eth(p, ethertype(ver));
}
static void t_geneve_ip(struct pkt *p, int ver)
{
    udp_to(p, 4, PKT_PORT_GENEVE);
    pkt_geneve(p, 8, ethertype(ver), 8);
}
static void t_gre(struct pkt *p, int ver)
{
    eth_outer(p, 4, PKT_PROTO_GRE);
    pkt_gre(p, 0, ethertype(ver), 0, 0);
}
static void t_gre_cks(struct pkt *p, int ver)
{
    eth_outer(p, 4, PKT_PROTO_GRE);
    pkt_gre(p, PKT_GRE_C | PKT_GRE_K | PKT_GRE_S, ethertype(ver), 0xdeadbeef, 99);
}
static void t_gretap(struct pkt *p, int ver)
{
    eth_outer(p, 4, PKT_PROTO_GRE);
    pkt_gre(p, PKT_GRE_K, PKT_ETH_TEB, 77, 0);
    pkt_eth(p, ethertype(ver));
}
static void t_gre_v6(struct pkt *p, int ver)
{
    eth_outer(p, 6, PKT_PROTO_GRE);
    pkt_gre(p, PKT_GRE_K | PKT_GRE_S, ethertype(ver), 5, 1);
}
static void t_gre_mpls(struct pkt *p, int ver)
{
    (void)ver;
    eth_outer(p, 4, PKT_PROTO_GRE);
    pkt_gre(p, 0, PKT_ETH_MPLS, 0, 0);
    pkt_mpls(p, 100, 1);
}
static void t_erspan1(struct pkt *p, int ver)
{
    eth_outer(p, 4, PKT_PROTO_GRE);
    pkt_gre(p, 0, PKT_ETH_ERSPAN, 0, 0);
    pkt_eth(p, ethertype(ver));
}
static void t_erspan2(struct pkt *p, int ver)
{
    eth_outer(p, 4, PKT_PROTO_GRE);
    pkt_gre(p, PKT_GRE_S, PKT_ETH_ERSPAN, 0, 1);
    pkt_erspan2(p, 300);
    pkt_eth(p, ethertype(ver));
}
static void t_erspan3(struct pkt *p, int ver)
{
    eth_outer(p, 6, PKT_PROTO_GRE);
    pkt_gre(p, PKT_GRE_K | PKT_GRE_S, PKT_ETH_ERSPAN3, 1, 2);
    pkt_erspan3(p, 1023, 0);
    pkt_eth(p, ethertype(ver));
}
static void t_erspan3_sub(struct pkt *p, int ver)
{
    eth_outer(p, 4, PKT_PROTO_GRE);
    pkt_gre(p, PKT_GRE_S, PKT_ETH_ERSPAN3, 0, 2);
    pkt_erspan3(p, 5, 1);
    pkt_eth(p, ethertype(ver));
}
static void t_pptp(struct pkt *p, int ver)
{
    eth_outer(p, 4, PKT_PROTO_GRE);
    pkt_gre_pptp(p, 55, 1, 1);
    pkt_ppp(p, ppp_proto(ver), 0, 0);
}
static void t_pptp_compressed(struct pkt *p, int ver)
{
    eth_outer(p, 4, PKT_PROTO_GRE);
    pkt_gre_pptp(p, 56, 1, 0);
    pkt_ppp(p, ppp_proto(ver), 1, 1);
}
static uint8_t ipip_proto(int ver) { return ver == 4 ? PKT_PROTO_IPIP : PKT_PROTO_IPV6; }
static void t_ipip4(struct pkt *p, int ver) { eth_outer(p, 4, ipip_proto(ver)); }
static void t_ipip6(struct pkt *p, int ver) { eth_outer(p, 6, ipip_proto(ver)); }
static void t_ipip6_ext(struct pkt *p, int ver)
{
    eth_outer(p, 6, PKT_PROTO_DSTOPTS);
    pkt_ipv6_ext(p, ipip_proto(ver), 0); /* RFC 2473's tunnel encapsulation limit lives here */
}
static void t_ipip_raw(struct pkt *p, int ver) { outer_ip(p, 0, 4, ipip_proto(ver)); }
static void t_gtpu(struct pkt *p, int ver)
{
    (void)ver;
    udp_to(p, 4, PKT_PORT_GTPU);
    pkt_gtpu(p, 0x11223344, 0, 0);
}
static void t_gtpu_ext(struct pkt *p, int ver)
{
    (void)ver;
    udp_to(p, 6, PKT_PORT_GTPU);
    pkt_gtpu(p, 0x01, 0x04 | 0x02, 0x85);
    pkt_gtp_ext(p, 1, 0x85); /* PDU session container */
    pkt_gtp_ext(p, 2, 0);
}
static void t_gtpu_seq(struct pkt *p, int ver)
{
    (void)ver;
    udp_to(p, 4, PKT_PORT_GTPU);
    pkt_gtpu(p, 0x02, 0x02, 0x85); /* the next type is not read without E */
}
static void t_teredo(struct pkt *p, int ver)
{
    (void)ver;
    eth_outer(p, 4, PKT_PROTO_UDP);
    pkt_udp(p, PKT_PORT_TEREDO, 40003);
}
static void t_teredo_auth_origin(struct pkt *p, int ver)
{
    (void)ver;
    udp_to(p, 4, PKT_PORT_TEREDO);
    pkt_teredo_auth(p, 3, 5);
    pkt_teredo_origin(p);
}
static void t_teredo_origin(struct pkt *p, int ver)
{
    (void)ver;
    udp_to(p, 4, PKT_PORT_TEREDO);
    pkt_teredo_origin(p);
}
static void t_l2tp(struct pkt *p, int ver)
{
    udp_to(p, 4, PKT_PORT_L2TP);
    pkt_l2tp(p, 0, 3, 4, 0);
    pkt_ppp(p, ppp_proto(ver), 0, 0);
}
static void t_l2tp_all(struct pkt *p, int ver)
{
    udp_to(p, 6, PKT_PORT_L2TP);
    pkt_l2tp(p, 0x4000 | 0x0800 | 0x0200, 0xffff, 0xfffe, 3);
    pkt_ppp(p, ppp_proto(ver), 1, 1);
}
/* GRE over IPv4 carrying Ethernet, IPv6 in it carrying VXLAN: the
 * innermost tunnel is the VXLAN one, at level 1. */
static void t_vxlan_in_gretap(struct pkt *p, int ver)
{
    eth_outer(p, 4, PKT_PROTO_GRE);
    pkt_gre(p, PKT_GRE_K, PKT_ETH_TEB, 9, 0);
    pkt_eth(p, PKT_ETH_IPV6);
    outer_ip(p, 1, 6, PKT_PROTO_UDP);
    pkt_udp(p, 40004, PKT_PORT_VXLAN);
    pkt_vxlan(p, 42);
    pkt_eth(p, ethertype(ver));
}
/* IP in IP on a PPP link, in a VLAN: the link layers stay the frame's. */
static void t_ipip_vlan(struct pkt *p, int ver)
{
    pkt_eth(p, PKT_ETH_VLAN);
    pkt_vlan(p, 7, PKT_ETH_IPV4);
    outer_ip(p, 0, 4, ipip_proto(ver));
}

struct tun_case {
    const char *name;
    int dlt;
    void (*outer)(struct pkt *p, int ver);
    int type, depth;
    bool has_id;
    uint32_t id;
    int outer_ver, level; /* the innermost tunnel's outer header */
    uint32_t vlan;
    int only_ver;
};

/* clang-format off */
static const struct tun_case tun_cases[] = {
    {"VXLAN", TL_DLT_EN10MB, t_vxlan, TL_TUN_VXLAN, 1, true, 0x123456, 4, 0, 0, 0},
    {"VXLAN on 8472 over IPv6", TL_DLT_EN10MB, t_vxlan8472_v6, TL_TUN_VXLAN, 1, true, 1, 6, 0, 0, 0},
    {"VXLAN from its port, inner 802.1Q", TL_DLT_EN10MB, t_vxlan_sport_vlan, TL_TUN_VXLAN, 1, true, 0xffffff, 4, 0, 33, 0},
    {"Geneve", TL_DLT_EN10MB, t_geneve, TL_TUN_GENEVE, 1, true, 0xabcdef, 4, 0, 0, 0},
    {"Geneve, 252 bytes of options, over IPv6", TL_DLT_EN10MB, t_geneve_opts, TL_TUN_GENEVE, 1, true, 7, 6, 0, 0, 0},
    {"Geneve carrying IP", TL_DLT_EN10MB, t_geneve_ip, TL_TUN_GENEVE, 1, true, 8, 4, 0, 0, 0},
    {"GRE", TL_DLT_EN10MB, t_gre, TL_TUN_GRE, 1, false, 0, 4, 0, 0, 0},
    {"GRE with checksum, key, sequence", TL_DLT_EN10MB, t_gre_cks, TL_TUN_GRE, 1, true, 0xdeadbeef, 4, 0, 0, 0},
    {"GRE Ethernet (gretap)", TL_DLT_EN10MB, t_gretap, TL_TUN_GRE, 1, true, 77, 4, 0, 0, 0},
    {"GRE over IPv6 (ip6gre)", TL_DLT_EN10MB, t_gre_v6, TL_TUN_GRE, 1, true, 5, 6, 0, 0, 0},
    {"GRE + MPLS", TL_DLT_EN10MB, t_gre_mpls, TL_TUN_GRE, 1, false, 0, 4, 0, 0, 0},
    {"ERSPAN type I", TL_DLT_EN10MB, t_erspan1, TL_TUN_ERSPAN, 1, false, 0, 4, 0, 0, 0},
    {"ERSPAN type II", TL_DLT_EN10MB, t_erspan2, TL_TUN_ERSPAN, 1, true, 300, 4, 0, 0, 0},
    {"ERSPAN type III over IPv6", TL_DLT_EN10MB, t_erspan3, TL_TUN_ERSPAN, 1, true, 1023, 6, 0, 0, 0},
    {"ERSPAN type III with sub-header", TL_DLT_EN10MB, t_erspan3_sub, TL_TUN_ERSPAN, 1, true, 5, 4, 0, 0, 0},
    {"PPTP GRE", TL_DLT_EN10MB, t_pptp, TL_TUN_GRE, 1, true, 55, 4, 0, 0, 0},
    {"PPTP GRE, PPP compressed", TL_DLT_EN10MB, t_pptp_compressed, TL_TUN_GRE, 1, true, 56, 4, 0, 0, 0},
    {"IP in IPv4 (4in4, 6in4)", TL_DLT_EN10MB, t_ipip4, TL_TUN_IPIP, 1, false, 0, 4, 0, 0, 0},
    {"IP in IPv6 (4in6, 6in6)", TL_DLT_EN10MB, t_ipip6, TL_TUN_IPIP, 1, false, 0, 6, 0, 0, 0},
    {"IP in IPv6 after a destination option", TL_DLT_EN10MB, t_ipip6_ext, TL_TUN_IPIP, 1, false, 0, 6, 0, 0, 0},
    {"IP in IPv4 on a raw link", TL_DLT_RAW, t_ipip_raw, TL_TUN_IPIP, 1, false, 0, 4, 0, 0, 0},
    {"IP in IPv4 in a VLAN", TL_DLT_EN10MB, t_ipip_vlan, TL_TUN_IPIP, 1, false, 0, 4, 0, 7, 0},
    {"GTP-U", TL_DLT_EN10MB, t_gtpu, TL_TUN_GTPU, 1, true, 0x11223344, 4, 0, 0, 0},
    {"GTP-U with extension headers over IPv6", TL_DLT_EN10MB, t_gtpu_ext, TL_TUN_GTPU, 1, true, 1, 6, 0, 0, 0},
    {"GTP-U with a sequence number", TL_DLT_EN10MB, t_gtpu_seq, TL_TUN_GTPU, 1, true, 2, 4, 0, 0, 0},
    {"Teredo", TL_DLT_EN10MB, t_teredo, TL_TUN_TEREDO, 1, false, 0, 4, 0, 0, 6},
    {"Teredo, authentication and origin", TL_DLT_EN10MB, t_teredo_auth_origin, TL_TUN_TEREDO, 1, false, 0, 4, 0, 0, 6},
    {"Teredo, origin", TL_DLT_EN10MB, t_teredo_origin, TL_TUN_TEREDO, 1, false, 0, 4, 0, 0, 6},
    {"L2TPv2", TL_DLT_EN10MB, t_l2tp, TL_TUN_L2TP, 1, true, 0x00030004, 4, 0, 0, 0},
    {"L2TPv2 length, Ns/Nr, offset; PPP compressed", TL_DLT_EN10MB, t_l2tp_all, TL_TUN_L2TP, 1, true, 0xfffffffe, 6, 0, 0, 0},
    {"VXLAN over IPv6 in gretap", TL_DLT_EN10MB, t_vxlan_in_gretap, TL_TUN_VXLAN, 2, true, 42, 6, 1, 0, 0},
};
/* clang-format on */

/* Says which tunnel fields differ. */
static bool tunnel_ok(const struct tl_pkt *o, const struct tun_case *tc)
{
    const struct tl_tunnel *t = &o->tunnel;
    struct {
        const char *what;
        bool good;
    } f[] = {
        {"type", t->type == tc->type},
        {"depth", t->depth == tc->depth},
        {"id", t->has_id == tc->has_id && t->id == tc->id},
        {"outer src", outer_is(&t->outer_src, tc->level, tc->outer_ver, 0)},
        {"outer dst", outer_is(&t->outer_dst, tc->level, tc->outer_ver, 1)},
    };
    bool all = true;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (!f[i].good)
            printf("#   wrong tunnel %s\n", f[i].what);
        all = all && f[i].good;
    }
    return all;
}

/*
 * With TL_WRITE_SEEDS=DIR, each tunnel and link case's frame is written
 * there as a seed for tests/fuzz/fuzz_decode.c (its first byte the index
 * of the link type in the harness's table, the second 0).
 */
static void write_seed(const char *name, int ver, int dlt, const struct pkt *p)
{
    /* tests/fuzz/fuzz_decode.c's linktypes[], in its order */
    static const int harness_dlts[] = {0,   1,   12, 14, 108, 113, 228, 229,
                                       276, 147, 9,  10, 50,  104, 127, 239};
    const char *dir = getenv("TL_WRITE_SEEDS");
    if (dir == NULL)
        return;
    int idx = -1;
    for (size_t i = 0; i < sizeof harness_dlts / sizeof harness_dlts[0]; i++)
        if (harness_dlts[i] == dlt)
            idx = (int)i;
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/unit-", dir);
    for (const char *c = name; *c != '\0' && n < 4000; c++)
        path[n++] = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')
                        ? *c
                        : '-';
    snprintf(path + n, sizeof path - (size_t)n, "-v%d", ver);
    FILE *f = idx < 0 ? NULL : fopen(path, "wb");
    if (f == NULL)
        return;
    uint8_t head[2] = {(uint8_t)idx, 0};
    fwrite(head, 1, 2, f);
    fwrite(p->b, 1, p->len, f);
    fclose(f);
}

static void test_tunnel_case(struct tap *t, const struct tun_case *tc, int ver)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    pkt_init(&p, buf, sizeof buf);
    tc->outer(&p, ver);
    std_ip_tcp(&p, ver);
    write_seed(tc->name, ver, tc->dlt, &p);
    struct tl_pkt o;
    long poff;
    char name[160];
    enum tl_dec r = dec(&p, tc->dlt, &o, &poff);
    snprintf(name, sizeof name, "%s, inner IPv%d: decodes", tc->name, ver);
    is_str(t, tl_dec_name(r), "ok", name);
    snprintf(name, sizeof name, "%s, inner IPv%d: the inner segment, every field", tc->name, ver);
    ok(t, r == TL_DEC_OK && std_ok(&o, ver, tc->vlan, poff, (long)p.pay_off), name);
    snprintf(name, sizeof name, "%s, inner IPv%d: tunnel type, depth, id, outer addresses",
             tc->name, ver);
    ok(t, r == TL_DEC_OK && tunnel_ok(&o, tc), name);
    snprintf(name, sizeof name, "%s, inner IPv%d: the inner IPv4 header to checksum", tc->name,
             ver);
    ok(t, r == TL_DEC_OK && (o.ip4_hdr != NULL) == (ver == 4) && o.ip4_hlen == (ver == 4 ? 20 : 0),
       name);
    snprintf(name, sizeof name, "%s, inner IPv%d: every cut is truncated, then ok", tc->name, ver);
    is_int(t, sweep(p.b, p.len, p.pay_off, tc->dlt), 0, name);
}

static void test_tunnels(struct tap *t)
{
    for (size_t i = 0; i < sizeof tun_cases / sizeof tun_cases[0]; i++)
        for (int ver = 4; ver <= 6; ver += 2)
            if (tun_cases[i].only_ver == 0 || tun_cases[i].only_ver == ver)
                test_tunnel_case(t, &tun_cases[i], ver);
}

/* n tunnels, each kind[i % nkind] (0 VXLAN, 1 GRE, 2 IP in IP, 3
 * Geneve), around the standard IPv4 segment. Returns the result; *o and
 * *p as decoded and built. */
static enum tl_dec nested(int n, const int *kind, int nkind, struct pkt *p, uint8_t *buf,
                          struct tl_pkt *o)
{
    pkt_init(p, buf, PKT_MAX);
    pkt_eth(p, PKT_ETH_IPV4);
    for (int i = 0; i < n; i++) {
        switch (kind[i % nkind]) {
        case 0:
            outer_ip(p, i, 4, PKT_PROTO_UDP);
            pkt_udp(p, 40000, PKT_PORT_VXLAN);
            pkt_vxlan(p, (uint32_t)i);
            pkt_eth(p, PKT_ETH_IPV4);
            break;
        case 1:
            outer_ip(p, i, 4, PKT_PROTO_GRE);
            pkt_gre(p, PKT_GRE_K, PKT_ETH_IPV4, (uint32_t)i, 0);
            break;
        case 2: outer_ip(p, i, 4, PKT_PROTO_IPIP); break;
        default:
            outer_ip(p, i, 4, PKT_PROTO_UDP);
            pkt_udp(p, 40000, PKT_PORT_GENEVE);
            pkt_geneve(p, (uint32_t)i, PKT_ETH_IPV4, 4);
            break;
        }
    }
    std_ip_tcp(p, 4);
    long poff;
    enum tl_dec r = dec(p, TL_DLT_EN10MB, o, &poff);
    if (r == TL_DEC_OK && poff != (long)p->pay_off)
        return TL_DEC_NRESULTS;
    return r;
}

static void test_tunnel_nesting(struct tap *t)
{
    static const int vxlan[] = {0}, mixed[] = {2, 1, 3, 0};
    uint8_t buf[PKT_MAX];
    struct pkt p;
    struct tl_pkt o;
    char name[96];
    for (int n = 1; n <= TL_TUNNEL_MAX_DEPTH; n++) {
        enum tl_dec r = nested(n, vxlan, 1, &p, buf, &o);
        snprintf(name, sizeof name,
                 "%d VXLAN tunnels nested: decoded, depth %d, the innermost's id", n, n);
        ok(t,
           r == TL_DEC_OK && o.tunnel.depth == n && o.tunnel.id == (uint32_t)(n - 1) &&
               outer_is(&o.tunnel.outer_src, n - 1, 4, 0) && std_ok(&o, 4, 0, 0, 0),
           name);
    }
    is_str(t, tl_dec_name(nested(TL_TUNNEL_MAX_DEPTH + 1, vxlan, 1, &p, buf, &o)),
           "tunnel_too_deep", "5 VXLAN tunnels nested: tunnel_too_deep");
    enum tl_dec r = nested(4, mixed, 4, &p, buf, &o);
    ok(t, r == TL_DEC_OK && o.tunnel.type == TL_TUN_VXLAN && o.tunnel.depth == 4,
       "IP in IP, GRE, Geneve, VXLAN nested: decoded, VXLAN innermost, depth 4");
    is_int(t, sweep(p.b, p.len, p.pay_off, TL_DLT_EN10MB), 0,
           "IP in IP, GRE, Geneve, VXLAN nested: every cut is truncated, then ok");
    is_str(t, tl_dec_name(nested(5, mixed, 4, &p, buf, &o)), "tunnel_too_deep",
           "IP in IP, GRE, Geneve, VXLAN, IP in IP: tunnel_too_deep");
    static const int ipip[] = {2};
    is_str(t, tl_dec_name(nested(30, ipip, 1, &p, buf, &o)), "tunnel_too_deep",
           "30 IP-in-IP headers: tunnel_too_deep");
}

/* Builds a tunnel case's frame (inner IPv4) into p. */
static void tun_frame(struct pkt *p, uint8_t *buf, void (*outer)(struct pkt *p, int ver))
{
    pkt_init(p, buf, PKT_MAX);
    outer(p, 4);
    std_ip_tcp(p, 4);
}

/* Offset of the first byte after the outer IPv4 header of level 0
 * (Ethernet + 20), where UDP or GRE starts. */
enum { L4_OFF = 14 + 20, TUN_OFF = 14 + 20 + 8 };

static void test_tunnel_lies(struct tap *t)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    struct tl_pkt o;
    long poff;
    tun_frame(&p, buf, t_vxlan);
    pkt_be16(buf + L4_OFF + 4, (uint16_t)(p.len - L4_OFF + 1));
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_tunnel_header",
           "UDP length one beyond the datagram: bad tunnel header");
    pkt_be16(buf + L4_OFF + 4, 7);
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_tunnel_header",
           "UDP length 7: bad tunnel header");
    pkt_be16(buf + L4_OFF + 4, (uint16_t)(p.len - L4_OFF - 1));
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_ip_total_length",
           "UDP length one short of the inner datagram: its IP length lies");
    pkt_be16(buf + L4_OFF + 4, 0);
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "ok",
           "UDP length 0 (jumbogram, offload): the IP length goes");
    tun_frame(&p, buf, t_vxlan);
    pkt_be16(buf + 14 + 2, TUN_OFF - 14 + 4);
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_tunnel_header",
           "outer IPv4 leaving 4 bytes for VXLAN: bad tunnel header");
    pkt_be16(buf + 14 + 2, L4_OFF - 14 + 7);
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_ip_total_length",
           "outer IPv4 leaving 7 bytes for UDP: bad length");

    tun_frame(&p, buf, t_geneve);
    buf[TUN_OFF] = 0x3f; /* 252 bytes of options in a shorter datagram */
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_tunnel_header",
           "Geneve options beyond the datagram: bad tunnel header");
    tun_frame(&p, buf, t_geneve_ip);
    buf[TUN_OFF + 8 + 3] = 2; /* the 8-byte option space holds one of 12 */
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_tunnel_header",
           "Geneve option longer than the options: bad tunnel header");

    tun_frame(&p, buf, t_gtpu);
    pkt_be16(buf + TUN_OFF + 2, (uint16_t)(p.len - TUN_OFF - 8 + 1));
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_tunnel_header",
           "GTP-U length one beyond the datagram: bad tunnel header");
    pkt_be16(buf + TUN_OFF + 2, (uint16_t)(p.len - TUN_OFF - 8 - 1));
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_ip_total_length",
           "GTP-U length one short: the inner IP length lies");
    pkt_init(&p, buf, PKT_MAX);
    udp_to(&p, 4, PKT_PORT_GTPU);
    pkt_gtpu(&p, 1, 0x04, 0x85);
    size_t ext = p.len;
    pkt_gtp_ext(&p, 1, 0);
    std_ip_tcp(&p, 4);
    buf[ext] = 0;
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_tunnel_header",
           "GTP-U extension header of length 0: bad tunnel header");
    buf[ext] = 200;
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_tunnel_header",
           "GTP-U extension header beyond the message: bad tunnel header");
    buf[ext] = 1;
    buf[ext + 3] = 0x85; /* loops until the message ends */
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_tunnel_header",
           "GTP-U extension headers running into the packet: bad tunnel header");

    tun_frame(&p, buf, t_l2tp_all);
    /* (over IPv6: UDP at 14 + 40) */
    pkt_be16(buf + 14 + 40 + 8 + 2, (uint16_t)(p.len - 14 - 40 - 8 + 1));
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_tunnel_header",
           "L2TP length one beyond the datagram: bad tunnel header");
    pkt_be16(buf + 14 + 40 + 8 + 2, 11);
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_tunnel_header",
           "L2TP length shorter than its header: bad tunnel header");
    tun_frame(&p, buf, t_l2tp_all);
    pkt_be16(buf + 14 + 40 + 8 + 12, 2000);
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_tunnel_header",
           "L2TP offset beyond the datagram: bad tunnel header");

    tun_frame(&p, buf, t_teredo_auth_origin);
    buf[TUN_OFF + 3] = 255;
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_tunnel_header",
           "Teredo authentication value beyond the datagram: bad tunnel header");

    tun_frame(&p, buf, t_gre_cks);
    pkt_be16(buf + 14 + 2, L4_OFF - 14 + 8);
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_tunnel_header",
           "GRE of 16 bytes in 8: bad tunnel header");
    tun_frame(&p, buf, t_pptp);
    pkt_be16(buf + L4_OFF + 4, 2000);
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_tunnel_header",
           "PPTP payload length beyond the datagram: bad tunnel header");
    tun_frame(&p, buf, t_ipip4);
    pkt_be16(buf + L4_OFF + 2, (uint16_t)(p.len - L4_OFF + 1));
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_ip_total_length",
           "4in4, inner total length beyond the outer datagram: bad length");
    tun_frame(&p, buf, t_ipip4);
    buf[L4_OFF] = 0x65;
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "bad_ip_version",
           "protocol 4 carrying version 6: bad version");
}

/* A tunnel case's frame, byte at off set to v (off < 0: left alone). */
static enum tl_dec tun_poke(void (*outer)(struct pkt *p, int ver), int ver, long off, int v)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    pkt_init(&p, buf, sizeof buf);
    outer(&p, ver);
    std_ip_tcp(&p, ver);
    if (off >= 0)
        buf[off] = (uint8_t)v;
    struct tl_pkt o;
    long poff;
    return dec(&p, TL_DLT_EN10MB, &o, &poff);
}

static void t_gre_arp(struct pkt *p, int ver)
{
    (void)ver;
    eth_outer(p, 4, PKT_PROTO_GRE);
    pkt_gre(p, 0, 0x0806, 0, 0);
}
static void t_udp53(struct pkt *p, int ver)
{
    eth_outer(p, ver, PKT_PROTO_UDP);
    pkt_udp(p, 40000, 53);
}
static void t_esp(struct pkt *p, int ver)
{
    eth_outer(p, ver, PKT_PROTO_ESP);
    pkt_be32(pkt_put(p, 8), 0x1000);
}
static void t_esp_after_ext(struct pkt *p, int ver)
{
    (void)ver;
    eth_outer(p, 6, PKT_PROTO_HOPOPTS);
    pkt_ipv6_ext(p, PKT_PROTO_ESP, 0);
}
static void t_vxlan_arp(struct pkt *p, int ver)
{
    (void)ver;
    udp_to(p, 4, PKT_PORT_VXLAN);
    pkt_vxlan(p, 3);
    pkt_eth(p, PKT_ETH_ARP);
}
static void t_gtp_echo(struct pkt *p, int ver)
{
    (void)ver;
    udp_to(p, 4, PKT_PORT_GTPU);
    pkt_gtpu(p, 0, 0x02, 0);
    p->b[p->len - 12 + 1] = 1; /* echo request */
}
/* A G-PDU of length 0 (the bytes after it are the datagram's padding). */
static void t_gtp_empty(struct pkt *p, int ver)
{
    (void)ver;
    udp_to(p, 4, PKT_PORT_GTPU);
    pkt_gtpu(p, 0, 0, 0);
    p->nfix--;
}
static void t_l2tp_lcp(struct pkt *p, int ver)
{
    (void)ver;
    udp_to(p, 4, PKT_PORT_L2TP);
    pkt_l2tp(p, 0, 1, 2, 0);
    pkt_ppp(p, PKT_PPP_LCP, 0, 0);
}
static void t_ipip_udp(struct pkt *p, int ver)
{
    eth_outer(p, 6, PKT_PROTO_IPIP);
    outer_ip(p, 1, 4, PKT_PROTO_UDP);
    pkt_udp(p, 1, 2);
    (void)ver;
}

static void test_tunnel_skips(struct tap *t)
{
    static const struct {
        void (*outer)(struct pkt *p, int ver);
        int ver;
        long off;
        int v;
        const char *want, *name;
    } cases[] = {
        {t_udp53, 4, -1, 0, "not_tcp", "UDP to 53: not TCP"},
        {t_udp53, 6, -1, 0, "not_tcp", "UDP over IPv6 to 53: not TCP"},
        {t_ipip_udp, 4, -1, 0, "not_tcp", "UDP in IPv4 in IPv6: not TCP"},
        {t_vxlan_arp, 4, -1, 0, "not_ip", "VXLAN carrying ARP: not IP"},
        {t_gre_arp, 4, -1, 0, "encapsulation_not_decoded", "GRE of protocol 0x0806"},
        {t_gre, 4, L4_OFF + 2, 0x99, "encapsulation_not_decoded", "GRE of protocol 0x9900"},
        {t_gre, 4, L4_OFF + 1, 0x02, "encapsulation_not_decoded", "GRE version 2"},
        {t_gre, 4, L4_OFF, 0x40, "encapsulation_not_decoded", "GRE with source routes"},
        {t_pptp, 4, L4_OFF + 2, 0x08, "encapsulation_not_decoded", "GRE version 1 not PPP"},
        {t_erspan2, 4, L4_OFF + 8, 0x30, "encapsulation_not_decoded", "ERSPAN II of version 3"},
        {t_erspan3_sub, 4, L4_OFF + 8 + 10, 0x09, "encapsulation_not_decoded",
         "ERSPAN III of frame type 2"},
        {t_geneve, 4, TUN_OFF, 0x40, "encapsulation_not_decoded", "Geneve version 1"},
        {t_geneve, 4, TUN_OFF + 2, 0x12, "encapsulation_not_decoded", "Geneve protocol 0x1258"},
        {t_gtpu, 4, TUN_OFF, 0x50, "encapsulation_not_decoded", "GTP version 2"},
        {t_gtpu, 4, TUN_OFF, 0x20, "encapsulation_not_decoded", "GTP' (protocol type 0)"},
        {t_gtpu, 4, TUN_OFF + 8, 0x55, "encapsulation_not_decoded", "GTP-U carrying no IP"},
        {t_gtp_echo, 4, -1, 0, "not_tcp", "GTP-U echo request: not TCP"},
        {t_gtp_empty, 4, -1, 0, "not_tcp", "GTP-U G-PDU of no bytes: not TCP"},
        {t_teredo, 6, TUN_OFF, 0x45, "encapsulation_not_decoded", "Teredo carrying IPv4"},
        {t_teredo_origin, 6, TUN_OFF + 1, 0x02, "encapsulation_not_decoded",
         "Teredo indicator 0x0002"},
        {t_l2tp, 4, TUN_OFF + 1, 0x03, "encapsulation_not_decoded", "L2TPv3 over UDP"},
        {t_l2tp, 4, TUN_OFF, 0xc8, "not_tcp", "L2TP control message: not TCP"},
        {t_l2tp_lcp, 4, -1, 0, "not_ip", "L2TP carrying LCP: not IP"},
        {t_esp, 4, -1, 0, "encrypted", "ESP over IPv4: encrypted"},
        {t_esp, 6, -1, 0, "encrypted", "ESP over IPv6: encrypted"},
        {t_esp_after_ext, 6, -1, 0, "encrypted", "ESP after hop-by-hop options: encrypted"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        is_str(t, tl_dec_name(tun_poke(cases[i].outer, cases[i].ver, cases[i].off, cases[i].v)),
               cases[i].want, cases[i].name);
    bool classes = true;
    for (int r = TL_DEC_ENCAP_NOT_DECODED; r <= TL_DEC_ENCRYPTED; r++)
        classes = classes && tl_dec_class((enum tl_dec)r) == TL_DEC_CLASS_NON_TCP;
    ok(t,
       classes && tl_dec_class(TL_DEC_BAD_TUNNEL) == TL_DEC_CLASS_MALFORMED &&
           tl_dec_class(TL_DEC_BAD_L2) == TL_DEC_CLASS_MALFORMED,
       "tunnel results: skips are non-TCP, lies malformed");
    is_str(t, tl_dec_name(TL_DEC_ENCAP_NOT_DECODED), "encapsulation_not_decoded",
           "tl_dec_name(ENCAP_NOT_DECODED)");
}

static void test_tunnel_cfg(struct tap *t)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    struct tl_pkt o;
    struct tl_decode_cfg cfg;
    tl_decode_cfg_default(&cfg);
    ok(t,
       cfg.udp_ports[TL_TUN_VXLAN][0] == 4789 && cfg.udp_ports[TL_TUN_VXLAN][1] == 8472 &&
           cfg.udp_ports[TL_TUN_GENEVE][0] == 6081 && cfg.udp_ports[TL_TUN_GTPU][0] == 2152 &&
           cfg.udp_ports[TL_TUN_TEREDO][0] == 3544 && cfg.udp_ports[TL_TUN_L2TP][0] == 1701 &&
           cfg.udp_ports[TL_TUN_GRE][0] == 0,
       "default ports: VXLAN 4789 8472, Geneve 6081, GTP-U 2152, Teredo 3544, L2TP 1701");
    tun_frame(&p, buf, t_vxlan);
    pkt_be16(buf + L4_OFF + 2, 9999);
    is_int(t, tl_decode(buf, p.len, p.len, TL_DLT_EN10MB, &o), TL_DEC_NOT_TCP,
           "VXLAN on 9999, default ports: not TCP");
    cfg.udp_ports[TL_TUN_VXLAN][3] = 9999;
    enum tl_dec r = tl_decode_cfg(buf, p.len, p.len, TL_DLT_EN10MB, &cfg, &o);
    ok(t, r == TL_DEC_OK && o.tunnel.type == TL_TUN_VXLAN && o.sport == STD_SPORT,
       "VXLAN on 9999 with 9999 configured: decoded");
    tun_frame(&p, buf, t_vxlan);
    cfg.udp_ports[TL_TUN_VXLAN][0] = 0;
    is_int(t, tl_decode_cfg(buf, p.len, p.len, TL_DLT_EN10MB, &cfg, &o), TL_DEC_NOT_TCP,
           "VXLAN on 4789 with 4789 taken out: not TCP");
    /* GTP-U on Geneve's port: the port decides. */
    tun_frame(&p, buf, t_gtpu);
    tl_decode_cfg_default(&cfg);
    cfg.udp_ports[TL_TUN_GTPU][1] = 6081;
    cfg.udp_ports[TL_TUN_GENEVE][0] = 0;
    pkt_be16(buf + L4_OFF + 2, 6081);
    r = tl_decode_cfg(buf, p.len, p.len, TL_DLT_EN10MB, &cfg, &o);
    ok(t, r == TL_DEC_OK && o.tunnel.type == TL_TUN_GTPU, "GTP-U on a configured second port");
    cfg.udp_ports[TL_TUN_IPIP][0] = 2152;
    cfg.udp_ports[TL_TUN_GTPU][0] = 0;
    pkt_be16(buf + L4_OFF + 2, 2152);
    is_str(t, tl_dec_name(tl_decode_cfg(buf, p.len, p.len, TL_DLT_EN10MB, &cfg, &o)),
           "encapsulation_not_decoded", "a port given to a type not carried in UDP: not decoded");
}

/* An ICMP port unreachable inside VXLAN, quoting the standard segment. */
static void test_tunnel_icmp(struct tap *t)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    pkt_init(&p, buf, sizeof buf);
    udp_to(&p, 4, PKT_PORT_VXLAN);
    pkt_vxlan(&p, 77);
    pkt_eth(&p, PKT_ETH_IPV4);
    pkt_ipv4(&p, PKT_V4(10, 0, 0, 2), PKT_V4(10, 0, 0, 1), PKT_PROTO_ICMP, 0);
    pkt_icmp(&p, 3, 3, 0);
    pkt_quote_ipv4(&p, PKT_V4(10, 0, 0, 1), PKT_V4(10, 0, 0, 2), 60);
    pkt_quote_tcp(&p, STD_SPORT, STD_DPORT, 1000, 2000, TL_TH_SYN, 20);
    pkt_finish(&p);
    struct tl_pkt o;
    long poff;
    is_int(t, dec(&p, TL_DLT_EN10MB, &o, &poff), TL_DEC_ICMP,
           "ICMP port unreachable in VXLAN: an error");
    ok(t,
       addr_is(&o.src, 4, 1) && addr_is(&o.dst, 4, 2) && o.sport == STD_SPORT && o.seq == 1000 &&
           addr_is(&o.icmp.from, 4, 2) && o.icmp.type == 3,
       "ICMP in VXLAN: the quoted segment, the inner sender");
    ok(t,
       o.tunnel.type == TL_TUN_VXLAN && o.tunnel.id == 77 && o.tunnel.depth == 1 &&
           outer_is(&o.tunnel.outer_src, 0, 4, 0) && outer_is(&o.tunnel.outer_dst, 0, 4, 1),
       "ICMP in VXLAN: the segment's tunnel is the error's");
    pkt_init(&p, buf, sizeof buf);
    eth_outer(&p, 6, PKT_PROTO_IPV6);
    uint8_t s[16], d[16], r6[16];
    pkt_v6addr(s, 1);
    pkt_v6addr(d, 2);
    pkt_v6addr(r6, 9);
    pkt_ipv6(&p, r6, s, 58);
    pkt_icmp(&p, 2, 0, 1280);
    pkt_quote_ipv6(&p, s, d, PKT_PROTO_TCP);
    pkt_quote_tcp(&p, STD_SPORT, STD_DPORT, 77, 0, TL_TH_ACK, 20);
    pkt_finish(&p);
    enum tl_dec r = dec(&p, TL_DLT_EN10MB, &o, &poff);
    ok(t,
       r == TL_DEC_ICMP && o.icmp.v6 && o.icmp.mtu == 1280 && addr_is(&o.icmp.from, 6, 9) &&
           o.tunnel.type == TL_TUN_IPIP && outer_is(&o.tunnel.outer_src, 0, 6, 0),
       "ICMPv6 packet too big in 6in6: the error, its tunnel");
}

/* ---- Teredo to any port ---- */

/* A Teredo address (2001:0::/32, RFC 4380) ending in n, or with prefix
 * 2001:db8::/32 when !teredo. */
static void teredo_addr(uint8_t a[16], bool teredo, uint8_t n)
{
    memset(a, 0, 16);
    a[0] = 0x20;
    a[1] = 0x01;
    if (!teredo) {
        a[2] = 0x0d;
        a[3] = 0xb8;
    }
    a[15] = n;
}

/* IPv4 UDP 40001 -> dport holding an IPv6 packet (src, dst) with the
 * standard segment; extra bytes after it inside the datagram. */
static void teredo_frame(struct pkt *p, uint8_t *buf, uint16_t dport, const uint8_t src[16],
                         const uint8_t dst[16], size_t extra)
{
    pkt_init(p, buf, PKT_MAX);
    udp_to(p, 4, dport);
    pkt_ipv6(p, src, dst, PKT_PROTO_TCP);
    std_tcp(p);
    size_t ip6 = p->ip_off;
    (void)pkt_put(p, extra);
    pkt_finish(p);
    pkt_be16(p->b + ip6 + 4, (uint16_t)(p->len - ip6 - 40 - extra));
}

static void test_teredo_any_port(struct tap *t)
{
    uint8_t buf[PKT_MAX], tsrc[16], tdst[16], src[16], dst[16];
    struct pkt p;
    struct tl_pkt o;
    long poff;
    teredo_addr(tsrc, true, 1);
    teredo_addr(tdst, true, 2);
    pkt_v6addr(src, 1);
    pkt_v6addr(dst, 2);
    teredo_frame(&p, buf, 50000, tsrc, dst, 0);
    enum tl_dec r = dec(&p, TL_DLT_EN10MB, &o, &poff);
    ok(t,
       r == TL_DEC_OK && o.tunnel.type == TL_TUN_TEREDO && o.tunnel.depth == 1 &&
           memcmp(o.src.b, tsrc, 16) == 0 && addr_is(&o.dst, 6, 2) && o.sport == STD_SPORT &&
           o.payload_len == STD_PAYLEN && poff == (long)p.pay_off &&
           outer_is(&o.tunnel.outer_src, 0, 4, 0),
       "Teredo to port 50000, from a Teredo address: the inner segment");
    teredo_frame(&p, buf, 50000, src, tdst, 0);
    r = dec(&p, TL_DLT_EN10MB, &o, &poff);
    ok(t, r == TL_DEC_OK && o.tunnel.type == TL_TUN_TEREDO && memcmp(o.dst.b, tdst, 16) == 0,
       "Teredo to port 50000, to a Teredo address: the inner segment");
    pkt_be16(buf + L4_OFF, 50001); /* neither port Teredo's */
    r = dec(&p, TL_DLT_EN10MB, &o, &poff);
    ok(t, r == TL_DEC_OK && o.tunnel.type == TL_TUN_TEREDO,
       "Teredo between ports 50001 and 50000: the inner segment");

    teredo_frame(&p, buf, 50000, src, dst, 0);
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "not_tcp",
           "IPv6 in UDP to port 50000, no Teredo address: not TCP");
    teredo_addr(src, false, 1);
    teredo_addr(dst, false, 2);
    teredo_frame(&p, buf, 50000, src, dst, 0);
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "not_tcp",
           "IPv6 in UDP to port 50000, 2001:db8:: addresses (not 2001:0::/32): not TCP");

    teredo_frame(&p, buf, 50000, tsrc, tdst, 1);
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "not_tcp",
           "Teredo addresses, a byte after the IPv6 packet in the datagram: not TCP");
    pkt_be16(buf + L4_OFF + 2, PKT_PORT_TEREDO);
    r = dec(&p, TL_DLT_EN10MB, &o, &poff);
    ok(t, r == TL_DEC_OK && o.tunnel.type == TL_TUN_TEREDO,
       "the same datagram to Teredo's port 3544: decoded (the port is enough)");
    teredo_frame(&p, buf, 50000, tsrc, tdst, 0);
    pkt_be16(buf + L4_OFF + 8 + 4, (uint16_t)(p.len - L4_OFF - 8 - 40 + 1));
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "not_tcp",
           "Teredo addresses, IPv6 payload length one beyond the datagram: not TCP");
    teredo_frame(&p, buf, 50000, tsrc, tdst, 0);
    buf[L4_OFF + 8] = 0x40;
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "not_tcp",
           "Teredo addresses, IP version 4 in the first nibble: not TCP");

    struct tl_decode_cfg cfg;
    tl_decode_cfg_default(&cfg);
    teredo_frame(&p, buf, 50000, tsrc, tdst, 0);
    cfg.udp_ports[TL_TUN_TEREDO][0] = 3545;
    r = tl_decode_cfg(buf, p.len, p.len, TL_DLT_EN10MB, &cfg, &o);
    ok(t, r == TL_DEC_OK && o.tunnel.type == TL_TUN_TEREDO,
       "Teredo moved to 3545 (--tunnel-port teredo=3545): any port still taken");
    cfg.udp_ports[TL_TUN_TEREDO][0] = 0;
    is_str(t, tl_dec_name(tl_decode_cfg(buf, p.len, p.len, TL_DLT_EN10MB, &cfg, &o)), "not_tcp",
           "Teredo turned off (--tunnel-port teredo=0): not taken on any port");
    /* Cut before the IPv6 header is whole, the datagram cannot be told
     * from any other UDP; never a read past the cut (ASan). */
    teredo_frame(&p, buf, 50000, tsrc, tdst, 0);
    int bad = 0;
    for (size_t cut = 0; cut <= p.len; cut++) {
        enum tl_dec rc = dec_n(buf, cut, p.len, TL_DLT_EN10MB, &o, &poff);
        bool good = cut < L4_OFF + 8 + 40 ? rc != TL_DEC_OK
                    : cut < p.pay_off     ? is_trunc(rc)
                                          : rc == TL_DEC_OK && o.tunnel.type == TL_TUN_TEREDO &&
                                            o.payload_caplen == cut - p.pay_off;
        if (!good) {
            printf("#   cut at %zu: %s\n", cut, tl_dec_name(rc));
            bad++;
        }
    }
    is_int(t, bad, 0, "Teredo to any port, cut at every byte: not taken, truncated, then ok");
}

/* ---- the first fragment of a tunnel's datagram ---- */

enum { FRAG_PAYLEN = 1400, FRAG_KEEP = 100 };

/* The inner IPv4 segment of a fragmented tunnel: FRAG_PAYLEN bytes. */
static void frag_inner(struct pkt *p)
{
    pkt_ipv4(p, PKT_V4(10, 0, 0, 1), PKT_V4(10, 0, 0, 2), PKT_PROTO_TCP, 0);
    struct pkt_tcp tcp = {.sport = STD_SPORT,
                          .dport = STD_DPORT,
                          .seq = 1000,
                          .ack = 2000,
                          .flags = TL_TH_ACK,
                          .win = 512,
                          .paylen = FRAG_PAYLEN};
    pkt_tcp(p, &tcp);
    pkt_finish(p);
}

/* Outer headers over IPv6 with a fragment header (offset 0, M 1). */
static void f6_vxlan(struct pkt *p, int ver)
{
    eth_outer(p, 6, PKT_PROTO_FRAGMENT);
    pkt_ipv6_frag(p, PKT_PROTO_UDP, 0, 1);
    pkt_udp(p, 40001, PKT_PORT_VXLAN);
    pkt_vxlan(p, 9);
    pkt_eth(p, ethertype(ver));
}
static void f6_gtpu(struct pkt *p, int ver)
{
    (void)ver;
    eth_outer(p, 6, PKT_PROTO_FRAGMENT);
    pkt_ipv6_frag(p, PKT_PROTO_UDP, 0, 1);
    pkt_udp(p, 40001, PKT_PORT_GTPU);
    pkt_gtpu(p, 0x44, 0, 0);
}
static void f6_gre(struct pkt *p, int ver)
{
    eth_outer(p, 6, PKT_PROTO_FRAGMENT);
    pkt_ipv6_frag(p, PKT_PROTO_GRE, 0, 1);
    pkt_gre(p, PKT_GRE_K, ethertype(ver), 5, 0);
}

struct frag_case {
    const char *name;
    void (*outer)(struct pkt *p, int ver);
    int outer_ver, type;
};

static const struct frag_case frag_cases[] = {
    {"GTP-U over IPv4", t_gtpu, 4, TL_TUN_GTPU},    {"VXLAN over IPv4", t_vxlan, 4, TL_TUN_VXLAN},
    {"GRE over IPv4", t_gre, 4, TL_TUN_GRE},        {"IP in IPv4", t_ipip4, 4, TL_TUN_IPIP},
    {"VXLAN over IPv6", f6_vxlan, 6, TL_TUN_VXLAN}, {"GTP-U over IPv6", f6_gtpu, 6, TL_TUN_GTPU},
    {"GRE over IPv6", f6_gre, 6, TL_TUN_GRE},
};

/* Where the outer IP datagram's fragmentable part starts: after the
 * IPv4 header, or the IPv6 header and its fragment header. */
static size_t frag_start(int outer_ver) { return outer_ver == 4 ? 14 + 20 : 14 + 40 + 8; }

/* Builds the whole datagram of fc, then keeps its first fragment:
 * headers and FRAG_KEEP bytes of payload or so (8-byte units). */
static size_t frag_first(const struct frag_case *fc, struct pkt *p, uint8_t *buf)
{
    pkt_init(p, buf, PKT_MAX);
    fc->outer(p, 4);
    frag_inner(p);
    size_t start = frag_start(fc->outer_ver);
    size_t keep = start + ((p->pay_off + FRAG_KEEP - start) & ~(size_t)7);
    if (fc->outer_ver == 4) {
        pkt_be16(buf + 14 + 2, (uint16_t)(keep - 14));
        pkt_be16(buf + 14 + 6, 0x2000); /* MF, offset 0 */
    } else {
        pkt_be16(buf + 14 + 4, (uint16_t)(keep - 14 - 40));
    }
    return keep;
}

/* The fragment that follows (offset after the first, M/MF more) into
 * tail, from the whole datagram in buf cut at keep; its length. */
static size_t frag_next(const struct frag_case *fc, const uint8_t *buf, size_t len, size_t keep,
                        bool more, uint8_t *tail)
{
    size_t start = frag_start(fc->outer_ver);
    memcpy(tail, buf, start);
    memcpy(tail + start, buf + keep, len - keep);
    size_t n = start + len - keep;
    uint16_t off8 = (uint16_t)((keep - start) / 8);
    if (fc->outer_ver == 4) {
        pkt_be16(tail + 14 + 2, (uint16_t)(n - 14));
        pkt_be16(tail + 14 + 6, (uint16_t)(off8 | (more ? 0x2000 : 0)));
    } else {
        pkt_be16(tail + 14 + 4, (uint16_t)(n - 14 - 40));
        pkt_be16(tail + 14 + 40 + 2, (uint16_t)((off8 << 3) | (more ? 1 : 0)));
    }
    return n;
}

static void test_outer_fragment_case(struct tap *t, const struct frag_case *fc)
{
    uint8_t buf[PKT_MAX], tail[PKT_MAX];
    struct pkt p;
    struct tl_pkt o;
    long poff;
    char name[160];
    size_t keep = frag_first(fc, &p, buf);
    enum tl_dec r = dec_n(buf, keep, keep, TL_DLT_EN10MB, &o, &poff);
    snprintf(name, sizeof name, "first fragment of %s: the inner segment, %d bytes long, %zu held",
             fc->name, FRAG_PAYLEN, keep - p.pay_off);
    ok(t,
       r == TL_DEC_OK && o.tunnel.type == fc->type && o.tunnel.depth == 1 &&
           addr_is(&o.src, 4, 1) && addr_is(&o.dst, 4, 2) && o.sport == STD_SPORT &&
           o.seq == 1000 && o.payload_len == FRAG_PAYLEN && o.payload_caplen == keep - p.pay_off &&
           poff == (long)p.pay_off && outer_is(&o.tunnel.outer_src, 0, fc->outer_ver, 0),
       name);
    if (r != TL_DEC_OK)
        printf("#   %s\n", tl_dec_name(r));
    snprintf(name, sizeof name, "first fragment of %s: quirk outer_fragment, not padding",
             fc->name);
    ok(t, r == TL_DEC_OK && o.quirks == TL_QUIRK_OUTER_FRAGMENT, name);
    int bad = 0;
    for (size_t cut = 0; cut < keep; cut++) {
        enum tl_dec rc = dec_n(buf, cut, keep, TL_DLT_EN10MB, &o, &poff);
        if (cut < p.pay_off ? !is_trunc(rc)
                            : rc != TL_DEC_OK || o.payload_caplen != cut - p.pay_off ||
                                  o.payload_len != FRAG_PAYLEN) {
            printf("#   cut at %zu: %s\n", cut, tl_dec_name(rc));
            bad++;
        }
    }
    snprintf(name, sizeof name, "first fragment of %s, cut at every byte: truncated, then ok",
             fc->name);
    is_int(t, bad, 0, name);
    size_t n = frag_next(fc, buf, p.len, keep, false, tail);
    snprintf(name, sizeof name, "last fragment of %s: fragment", fc->name);
    is_str(t, tl_dec_name(dec_n(tail, n, n, TL_DLT_EN10MB, &o, &poff)), "ip_fragment", name);
    n = frag_next(fc, buf, p.len, keep, true, tail);
    snprintf(name, sizeof name, "middle fragment of %s: fragment", fc->name);
    is_str(t, tl_dec_name(dec_n(tail, n, n, TL_DLT_EN10MB, &o, &poff)), "ip_fragment", name);
}

/* A plain TCP segment's first fragment: its length is only known from
 * the last one, so it is still skipped. */
static void test_outer_fragment_plain(struct tap *t)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    struct tl_pkt o;
    long poff;
    pkt_init(&p, buf, sizeof buf);
    pkt_eth(&p, PKT_ETH_IPV4);
    frag_inner(&p);
    size_t keep = 14 + 20 + 80;
    pkt_be16(buf + 14 + 2, (uint16_t)(keep - 14));
    pkt_be16(buf + 14 + 6, 0x2000);
    is_str(t, tl_dec_name(dec_n(buf, keep, keep, TL_DLT_EN10MB, &o, &poff)), "ip_fragment",
           "first fragment of plain TCP over IPv4: fragment");
    uint8_t s[16], d[16];
    pkt_v6addr(s, 1);
    pkt_v6addr(d, 2);
    pkt_init(&p, buf, sizeof buf);
    pkt_eth(&p, PKT_ETH_IPV6);
    pkt_ipv6(&p, s, d, PKT_PROTO_FRAGMENT);
    pkt_ipv6_frag(&p, PKT_PROTO_TCP, 0, 1);
    std_tcp(&p);
    pkt_finish(&p);
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "ip_fragment",
           "first fragment of plain TCP over IPv6: fragment");
    /* Inside a tunnel, the inner datagram's own first fragment is not
     * followed either: TCP in it. */
    pkt_init(&p, buf, sizeof buf);
    t_vxlan(&p, 4);
    frag_inner(&p);
    pkt_be16(buf + p.ip_off + 6, 0x2000);
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "ip_fragment",
           "VXLAN whole, the inner TCP datagram a first fragment: fragment");
}

/* Lengths in a first fragment come from headers the rest of the datagram
 * is not there to check: bounded by the largest datagram (65535). */
static void test_outer_fragment_lies(struct tap *t)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    struct tl_pkt o;
    long poff;
    /* VXLAN over IPv4, UDP length 0 (taken as the rest of the datagram):
     * 65535 - 20 - 8 - 8 - 14 = 65485 bytes left for the inner packet. */
    size_t keep = frag_first(&frag_cases[1], &p, buf);
    pkt_be16(buf + L4_OFF + 4, 0);
    size_t inner = L4_OFF + 8 + 8 + 14;
    pkt_be16(buf + inner + 2, 65485);
    enum tl_dec r = dec_n(buf, keep, keep, TL_DLT_EN10MB, &o, &poff);
    ok(t, r == TL_DEC_OK && o.payload_len == 65485 - 40,
       "first fragment, inner IPv4 length 65485 (all a datagram holds): taken");
    pkt_be16(buf + inner + 2, 65486);
    is_str(t, tl_dec_name(dec_n(buf, keep, keep, TL_DLT_EN10MB, &o, &poff)), "bad_ip_total_length",
           "first fragment, inner IPv4 length 65486: bad length");
    pkt_be16(buf + inner + 2, 65535);
    is_str(t, tl_dec_name(dec_n(buf, keep, keep, TL_DLT_EN10MB, &o, &poff)), "bad_ip_total_length",
           "first fragment, inner IPv4 length 65535: bad length");
    keep = frag_first(&frag_cases[1], &p, buf);
    pkt_be16(buf + L4_OFF + 4, 65535);
    is_str(t, tl_dec_name(dec_n(buf, keep, keep, TL_DLT_EN10MB, &o, &poff)), "bad_tunnel_header",
           "first fragment, UDP length 65535 after a 20-byte IP header: bad tunnel header");
    keep = frag_first(&frag_cases[0], &p, buf);
    pkt_be16(buf + TUN_OFF + 2, 65535);
    is_str(t, tl_dec_name(dec_n(buf, keep, keep, TL_DLT_EN10MB, &o, &poff)), "bad_tunnel_header",
           "first fragment, GTP-U length 65535: bad tunnel header");
    keep = frag_first(&frag_cases[2], &p, buf);
    pkt_be16(buf + L4_OFF + 4 + 2, 65535);
    is_str(t, tl_dec_name(dec_n(buf, keep, keep, TL_DLT_EN10MB, &o, &poff)), "bad_ip_total_length",
           "first fragment of GRE, inner IPv4 length 65535: bad length");
    keep = frag_first(&frag_cases[4], &p, buf);
    pkt_be16(buf + 14 + 40 + 8 + 4, 0);
    pkt_be16(buf + 14 + 40 + 8 + 8 + 8 + 14 + 2, 65535);
    is_str(t, tl_dec_name(dec_n(buf, keep, keep, TL_DLT_EN10MB, &o, &poff)), "bad_ip_total_length",
           "first fragment of VXLAN over IPv6, inner IPv4 length 65535: bad length");
}

static void test_outer_fragment(struct tap *t)
{
    for (size_t i = 0; i < sizeof frag_cases / sizeof frag_cases[0]; i++)
        test_outer_fragment_case(t, &frag_cases[i]);
    test_outer_fragment_plain(t);
    test_outer_fragment_lies(t);
}

/* ---- tunnel ids in the connection's key ---- */

/* GRE with a key carrying IPv4, carrying IP in IP: the innermost
 * tunnel, IP in IP, has no id. */
static void t_ipip_in_gre_key(struct pkt *p, int ver)
{
    eth_outer(p, 4, PKT_PROTO_GRE);
    pkt_gre(p, PKT_GRE_K, PKT_ETH_IPV4, 7, 0);
    outer_ip(p, 1, 4, ipip_proto(ver));
}

static void test_tunnel_id_shared(struct tap *t)
{
    static const struct {
        void (*outer)(struct pkt *p, int ver);
        bool has_id, shared;
        const char *name;
    } cases[] = {
        {t_vxlan, true, true, "VXLAN's VNI"},
        {t_vxlan8472_v6, true, true, "VXLAN's VNI over IPv6"},
        {t_vxlan_in_gretap, true, true, "VXLAN's VNI inside keyed gretap"},
        {t_gre_cks, true, true, "a GRE key (with checksum, sequence)"},
        {t_gretap, true, true, "a gretap key"},
        {t_gre_v6, true, true, "an ip6gre key"},
        {t_gre, false, false, "GRE without a key"},
        {t_pptp, true, false, "PPTP's call id"},
        {t_gtpu, true, false, "a GTP-U TEID"},
        {t_geneve, true, false, "a Geneve VNI"},
        {t_l2tp, true, false, "L2TP's tunnel and session ids"},
        {t_erspan2, true, false, "an ERSPAN II session"},
        {t_erspan3, true, false, "an ERSPAN III session after a GRE key"},
        {t_ipip_in_gre_key, false, false, "IP in IP inside keyed GRE"},
    };
    uint8_t buf[PKT_MAX];
    struct pkt p;
    struct tl_pkt o;
    long poff;
    char name[160];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tun_frame(&p, buf, cases[i].outer);
        enum tl_dec r = dec(&p, TL_DLT_EN10MB, &o, &poff);
        snprintf(name, sizeof name, "%s: %s the connection's key", cases[i].name,
                 cases[i].shared ? "in" : "not in");
        ok(t,
           r == TL_DEC_OK && o.tunnel.has_id == cases[i].has_id &&
               o.tunnel.id_shared == cases[i].shared,
           name);
    }
    /* Through the flow key: two GRE keys apart, two TEIDs together. */
    struct tl_flow_key k1, k2;
    bool from_a;
    struct tl_pkt o2;
    tun_frame(&p, buf, t_gretap);
    (void)dec(&p, TL_DLT_EN10MB, &o, &poff);
    pkt_be32(buf + L4_OFF + 4, 78);
    (void)dec(&p, TL_DLT_EN10MB, &o2, &poff);
    tl_flow_key_make(&o, &k1, &from_a);
    tl_flow_key_make(&o2, &k2, &from_a);
    ok(t, o.tunnel.id == 77 && o2.tunnel.id == 78 && !tl_flow_key_eq(&k1, &k2),
       "gretap keys 77 and 78, same routers, same 4-tuple: two connection keys");
    tun_frame(&p, buf, t_gtpu);
    (void)dec(&p, TL_DLT_EN10MB, &o, &poff);
    pkt_be32(buf + TUN_OFF + 4, 0x55667788);
    (void)dec(&p, TL_DLT_EN10MB, &o2, &poff);
    tl_flow_key_make(&o, &k1, &from_a);
    tl_flow_key_make(&o2, &k2, &from_a);
    ok(t, o.tunnel.id != o2.tunnel.id && tl_flow_key_eq(&k1, &k2),
       "GTP-U TEIDs differing, same routers, same 4-tuple: one connection key");
}

static void test_link_refusals_new(struct tap *t)
{
    uint8_t buf[PKT_MAX];
    struct pkt p;
    struct tl_pkt o;
    long poff;
    /* radiotap with the FCS flag: 4 bytes after the datagram. */
    pkt_init(&p, buf, sizeof buf);
    pkt_radiotap(&p, 0x10, 0, 0);
    size_t rt = p.len;
    pkt_80211(&p, 0, 0x01, 0);
    pkt_snap(&p, PKT_ETH_IPV4);
    std_ip_tcp(&p, 4);
    pkt_be32(pkt_put(&p, 4), 0xcafebabe);
    enum tl_dec r = dec(&p, TL_DLT_IEEE802_11_RADIO, &o, &poff);
    ok(t, r == TL_DEC_OK && std_ok(&o, 4, 0, poff, (long)p.pay_off),
       "radiotap FCS flag: the FCS is no payload, no padding quirk");
    buf[2] = 7;
    is_str(t, tl_dec_name(dec(&p, TL_DLT_IEEE802_11_RADIO, &o, &poff)), "bad_link_header",
           "radiotap length 7: bad link header");
    buf[2] = 0xff;
    buf[3] = 0xff;
    is_str(t, tl_dec_name(dec(&p, TL_DLT_IEEE802_11_RADIO, &o, &poff)), "bad_link_header",
           "radiotap length beyond the frame: bad link header");
    buf[2] = (uint8_t)rt;
    buf[3] = 0;
    buf[0] = 1;
    is_str(t, tl_dec_name(dec(&p, TL_DLT_IEEE802_11_RADIO, &o, &poff)), "bad_link_header",
           "radiotap version 1: bad link header");
    buf[0] = 0;
    buf[rt] = 0x80; /* beacon */
    is_str(t, tl_dec_name(dec(&p, TL_DLT_IEEE802_11_RADIO, &o, &poff)), "not_ip",
           "802.11 beacon: not IP");
    buf[rt] = 0x48; /* null data */
    is_str(t, tl_dec_name(dec(&p, TL_DLT_IEEE802_11_RADIO, &o, &poff)), "not_ip",
           "802.11 null data: not IP");
    buf[rt] = 0x08;
    buf[rt + 1] = 0x41;
    is_str(t, tl_dec_name(dec(&p, TL_DLT_IEEE802_11_RADIO, &o, &poff)), "encrypted",
           "802.11 protected frame: encrypted");
    buf[rt + 1] = 0x01;
    buf[rt + 24] = 0xaa ^ 0x42;
    is_str(t, tl_dec_name(dec(&p, TL_DLT_IEEE802_11_RADIO, &o, &poff)), "not_ip",
           "802.11 data, LLC not SNAP: not IP");
    pkt_init(&p, buf, sizeof buf);
    pkt_radiotap(&p, 0, 0, 0);
    pkt_80211(&p, 8, 0x01, 0x80);
    pkt_snap(&p, PKT_ETH_IPV4);
    std_ip_tcp(&p, 4);
    is_str(t, tl_dec_name(dec(&p, TL_DLT_IEEE802_11_RADIO, &o, &poff)), "encapsulation_not_decoded",
           "802.11 A-MSDU: not decoded");

    pkt_init(&p, buf, sizeof buf);
    pkt_nflog(&p, 2, 0);
    size_t tlv = p.len - 4;
    std_ip_tcp(&p, 4);
    buf[4] = 3;
    is_str(t, tl_dec_name(dec(&p, TL_DLT_NFLOG, &o, &poff)), "bad_link_header",
           "NFLOG TLV of length 3: bad link header");
    buf[4] = 8;
    buf[tlv] = 0xff;
    buf[tlv + 1] = 0xff;
    is_str(t, tl_dec_name(dec(&p, TL_DLT_NFLOG, &o, &poff)), "bad_link_header",
           "NFLOG payload TLV beyond the frame: bad link header");
    buf[tlv] = 4;
    buf[tlv + 1] = 0;
    is_str(t, tl_dec_name(dec(&p, TL_DLT_NFLOG, &o, &poff)), "truncated_ip_header",
           "NFLOG payload TLV of no bytes: no IP header");
    buf[tlv + 2] = 10; /* the payload's type taken away: TLVs to the end */
    ok(t, dec(&p, TL_DLT_NFLOG, &o, &poff) != TL_DEC_OK,
       "NFLOG without a payload TLV: not decoded");
    pkt_init(&p, buf, sizeof buf);
    pkt_nflog(&p, 3, 0);
    std_ip_tcp(&p, 4);
    is_str(t, tl_dec_name(dec(&p, TL_DLT_NFLOG, &o, &poff)), "not_ip", "NFLOG of ARP: not IP");
    pkt_init(&p, buf, sizeof buf);
    pkt_nflog(&p, 2, 0);
    pkt_finish(&p);
    p.len -= 4;
    is_str(t, tl_dec_name(dec(&p, TL_DLT_NFLOG, &o, &poff)), "not_ip",
           "NFLOG with no payload logged: not IP");

    pkt_init(&p, buf, sizeof buf);
    pkt_eth(&p, 60);
    static const uint8_t stp[3] = {0x42, 0x42, 0x03};
    pkt_bytes(&p, stp, 3);
    std_ip_tcp(&p, 4);
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "not_ip", "802.3 STP: not IP");
    pkt_init(&p, buf, sizeof buf);
    pkt_eth_snap(&p, PKT_ETH_IPV4);
    buf[14 + 5] = 0x0c; /* Cisco's OUI */
    std_ip_tcp(&p, 4);
    is_str(t, tl_dec_name(dec(&p, TL_DLT_EN10MB, &o, &poff)), "not_ip",
           "SNAP with Cisco's OUI: not IP");
    pkt_init(&p, buf, sizeof buf);
    pkt_ppp(&p, PKT_PPP_IPV4, 0, 0);
    buf[1] = 0x05;
    std_ip_tcp(&p, 4);
    is_str(t, tl_dec_name(dec(&p, TL_DLT_PPP, &o, &poff)), "not_ip",
           "PPP with FF but no 03: not IP");
    pkt_init(&p, buf, sizeof buf);
    pkt_chdlc(&p, 0x8035);
    std_ip_tcp(&p, 4);
    is_str(t, tl_dec_name(dec(&p, TL_DLT_C_HDLC, &o, &poff)), "not_ip", "C_HDLC SLARP: not IP");
}

/* The captures of real tunnels (tests/tunnels/, made by tests/tunnels.sh):
 * each frame swept, the TCP segments counted by tunnel type. */
static void test_tunnel_captures(struct tap *t)
{
    static const struct {
        const char *file;
        int type;
    } caps[] = {
        {"vxlan.pcap", TL_TUN_VXLAN},
        {"gre.pcap", TL_TUN_GRE},
        {"sit.pcap", TL_TUN_IPIP},
    };
    const char *dir = getenv("SRCDIR");
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        char path[4096], err[PCAP_ERRBUF_SIZE], name[160];
        snprintf(path, sizeof path, "%s/tests/tunnels/%s", dir ? dir : ".", caps[i].file);
        pcap_t *pc = pcap_open_offline(path, err);
        snprintf(name, sizeof name, "tests/tunnels/%s: opens", caps[i].file);
        ok(t, pc != NULL, name);
        if (pc == NULL) {
            printf("# %s\n", err);
            continue;
        }
        int dlt = pcap_datalink(pc), tcp = 0, in_tunnel = 0, bad = 0;
        struct pcap_pkthdr *h;
        const u_char *data;
        while (pcap_next_ex(pc, &h, &data) == 1) {
            struct tl_pkt o;
            if (tl_decode(data, h->caplen, h->len, dlt, &o) == TL_DEC_OK &&
                o.tunnel.type == caps[i].type && o.tunnel.depth == 1)
                in_tunnel++;
            bad += sweep_any(data, h->caplen, h->len, dlt, &tcp);
        }
        pcap_close(pc);
        snprintf(name, sizeof name, "tests/tunnels/%s: %d TCP segments, all in the tunnel",
                 caps[i].file, tcp);
        ok(t, tcp >= 8 && in_tunnel == tcp, name);
        snprintf(name, sizeof name, "tests/tunnels/%s: every prefix truncated or the same",
                 caps[i].file);
        is_int(t, bad, 0, name);
    }
}

static void test_linktypes(struct tap *t)
{
    /* clang-format off */
    static const int yes[] = {TL_DLT_NULL, TL_DLT_EN10MB, TL_DLT_RAW, TL_DLT_RAW_BSD, 101,
                              TL_DLT_LOOP, TL_DLT_IPV4, TL_DLT_IPV6, TL_DLT_LINUX_SLL,
                              TL_DLT_LINUX_SLL2, TL_DLT_PPP, TL_DLT_PPP_SERIAL,
                              TL_DLT_C_HDLC, TL_DLT_IEEE802_11_RADIO, TL_DLT_NFLOG,
                              TL_DLT_FDDI};
    /* clang-format on */
    static const int no[] = {-1, 2, 51, 105, 147, 192, 9999};
    bool all = true;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        all = all && tl_decode_linktype_supported(yes[i]) &&
              tl_decode_linktype_name(yes[i]) != NULL;
    ok(t, all, "tl_decode_linktype_supported: every decoded link type");
    bool none = true;
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        none = none && !tl_decode_linktype_supported(no[i]) &&
               tl_decode_linktype_name(no[i]) == NULL;
    ok(t, none, "tl_decode_linktype_supported: others refused");
    is_str(t, tl_decode_linktype_name(TL_DLT_EN10MB), "EN10MB", "name of DLT 1");
    is_str(t, tl_decode_linktype_name(TL_DLT_LINUX_SLL2), "LINUX_SLL2", "name of DLT 276");
    is_str(t, tl_decode_linktype_name(127), "IEEE802_11_RADIO", "name of DLT 127");
    is_str(t, tl_decode_linktype_name(239), "NFLOG", "name of DLT 239");
}

static void test_flags_str(struct tap *t)
{
    char buf[9];
    is_str(t, tl_tcp_flags_str(0, buf, sizeof buf), "", "flags: none");
    is_str(t, tl_tcp_flags_str(TL_TH_SYN | TL_TH_ACK, buf, sizeof buf), "SA", "flags: SA");
    is_str(t, tl_tcp_flags_str(TL_TH_FIN | TL_TH_ACK, buf, sizeof buf), "FA", "flags: FA");
    is_str(t, tl_tcp_flags_str(TL_TH_RST, buf, sizeof buf), "R", "flags: R");
    is_str(t, tl_tcp_flags_str(0xff, buf, sizeof buf), "SFRPAUEC", "flags: all, in order");
    is_str(t, tl_tcp_flags_str(TL_TH_ECE | TL_TH_CWR | TL_TH_URG, buf, sizeof buf), "UEC",
           "flags: UEC");
    char small[3];
    is_str(t, tl_tcp_flags_str(0xff, small, sizeof small), "SF", "flags: cut to the buffer");
    char one = 'x';
    ok(t, tl_tcp_flags_str(0xff, &one, 0) == &one && one == 'x', "flags: size 0 writes nothing");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep the TAP lines if a sanitizer aborts */
    struct tap t = {0, 0};
    test_link_types(&t);
    test_link_refusals(&t);
    test_fddi(&t);
    test_ipv4_ihl(&t);
    test_ipv4_len(&t);
    test_snaplen(&t);
    test_ipv4_frag_proto(&t);
    test_ipv6_chain(&t);
    test_ipv6_frag(&t);
    test_ipv6_long_chain(&t);
    test_ipv6_misc(&t);
    test_tcp_doff(&t);
    test_tcpopt_syn(&t);
    test_tcpopt_sack(&t);
    test_tcpopt_bad(&t);
    test_icmp4(&t);
    test_icmp6(&t);
    test_tunnels(&t);
    test_tunnel_nesting(&t);
    test_tunnel_lies(&t);
    test_tunnel_skips(&t);
    test_tunnel_cfg(&t);
    test_tunnel_icmp(&t);
    test_teredo_any_port(&t);
    test_outer_fragment(&t);
    test_tunnel_id_shared(&t);
    test_link_refusals_new(&t);
    test_tunnel_captures(&t);
    test_real_syn(&t);
    test_sample_pcap(&t);
    test_names(&t);
    test_linktypes(&t);
    test_flags_str(&t);
    return tap_done(&t);
}
