/*
 * A small frame builder for the unit tests: link layers (Ethernet with
 * 802.1Q/QinQ tags, MPLS, PPPoE, Linux SLL/SLL2, NULL/LOOP), IPv4 (with
 * options), IPv6 (with extension headers) and TCP (with options and a
 * payload), written into a caller's buffer. pkt_finish() fills in the IPv4
 * total length, the IPv6 payload length and the PPPoE length; checksums are
 * left zero (only the Zeek module, with --zeek-checksums, reads them).
 *
 * Usage:
 *     uint8_t buf[PKT_MAX];
 *     struct pkt p;
 *     pkt_init(&p, buf, sizeof buf);
 *     pkt_eth(&p, PKT_ETH_IPV4);
 *     pkt_ipv4(&p, PKT_V4(10, 0, 0, 1), PKT_V4(10, 0, 0, 2), PKT_PROTO_TCP, 0);
 *     pkt_tcp(&p, &(struct pkt_tcp){.sport = 1234, .dport = 80, .flags = 0x02});
 *     pkt_finish(&p);      // p.len bytes of buf now hold the frame
 *
 * Everything is static inline and works on the caller's struct: no globals.
 */
#ifndef TCPLENS_TEST_PKT_H
#define TCPLENS_TEST_PKT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PKT_MAX 4096

enum {
    PKT_ETH_IPV4 = 0x0800,
    PKT_ETH_ARP = 0x0806,
    PKT_ETH_IPV6 = 0x86dd,
    PKT_ETH_VLAN = 0x8100,
    PKT_ETH_QINQ = 0x88a8,
    PKT_ETH_QINQ_OLD = 0x9100,
    PKT_ETH_MPLS = 0x8847,
    PKT_ETH_MPLS_MC = 0x8848,
    PKT_ETH_PPPOE = 0x8864,
};

enum { PKT_PPP_IPV4 = 0x0021, PKT_PPP_IPV6 = 0x0057, PKT_PPP_LCP = 0xc021 };

enum {
    PKT_PROTO_HOPOPTS = 0,
    PKT_PROTO_ICMP = 1,
    PKT_PROTO_TCP = 6,
    PKT_PROTO_UDP = 17,
    PKT_PROTO_ROUTING = 43,
    PKT_PROTO_FRAGMENT = 44,
    PKT_PROTO_ESP = 50,
    PKT_PROTO_AH = 51,
    PKT_PROTO_NONEXT = 59,
    PKT_PROTO_DSTOPTS = 60,
};

/* An IPv4 address as a 32-bit host-order value. */
#define PKT_V4(a, b, c, d) \
    (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

struct pkt {
    uint8_t *b;
    size_t cap, len;
    size_t ip_off;    /* where the IP header starts (valid when ip_ver != 0) */
    int ip_ver;       /* 4, 6, or 0 before pkt_ipv4/pkt_ipv6 */
    size_t tcp_off;   /* where the TCP header starts (0 before pkt_tcp) */
    size_t pay_off;   /* where the TCP payload starts (0 before pkt_tcp) */
    size_t pppoe_off; /* where the PPPoE header starts, 0 when none */
    /* Other length fields pkt_finish() fills in: outer IP headers,
     * tunnels' and link headers' lengths (pkt_fix()). */
    int nfix;
    struct pkt_fixup {
        size_t off;
        int kind;
    } fix[32];
};

/* Kinds of length field pkt_fix() records. */
enum {
    PKT_FIX_IPV4 = 1, /* an IPv4 header at off: its total length */
    PKT_FIX_IPV6,     /* an IPv6 header at off: its payload length */
    PKT_FIX_UDP,      /* a UDP header at off: its length */
    PKT_FIX_GTP,      /* a GTP-U header at off: what follows its first 8 bytes */
    PKT_FIX_L2TP,     /* an L2TP header at off with the L flag: its length */
    PKT_FIX_8023,     /* an 802.3 length field at off: what follows it */
    PKT_FIX_NFLOG_LE, /* an NFLOG TLV at off, little-endian: its length */
    PKT_FIX_NFLOG_BE, /* the same, big-endian */
    PKT_FIX_PPTP,     /* enhanced GRE at off: its payload length (header of 8 + 4n) */
};

/* A TCP segment to write. opt/optlen are the raw option bytes; they are
 * padded with zeros (EOL) to a multiple of 4. paylen payload bytes follow,
 * filled with a counting pattern (byte i is (uint8_t)i). */
struct pkt_tcp {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t win;
    const uint8_t *opt;
    size_t optlen;
    size_t paylen;
};

static inline void pkt_init(struct pkt *p, uint8_t *buf, size_t cap)
{
    memset(p, 0, sizeof *p);
    p->b = buf;
    p->cap = cap;
}

/* Room for n more bytes, zeroed; a test that asks for more than its buffer
 * holds is itself broken, so this stops the program. */
static inline uint8_t *pkt_put(struct pkt *p, size_t n)
{
    if (n > p->cap - p->len) {
        fprintf(stderr, "pkt.h: frame does not fit in %zu bytes\n", p->cap);
        abort();
    }
    uint8_t *w = p->b + p->len;
    memset(w, 0, n);
    p->len += n;
    return w;
}

static inline void pkt_be16(uint8_t *w, uint16_t v)
{
    w[0] = (uint8_t)(v >> 8);
    w[1] = (uint8_t)v;
}

static inline void pkt_be32(uint8_t *w, uint32_t v)
{
    pkt_be16(w, (uint16_t)(v >> 16));
    pkt_be16(w + 2, (uint16_t)v);
}

static inline void pkt_bytes(struct pkt *p, const void *data, size_t n)
{
    memcpy(pkt_put(p, n), data, n);
}

/* Ethernet II: made-up MACs, then the ethertype (or 802.3 length). */
static inline void pkt_eth(struct pkt *p, uint16_t type)
{
    static const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
    uint8_t *w = pkt_put(p, 14);
    memcpy(w, macs, 12);
    pkt_be16(w + 12, type);
}

/* One 802.1Q/802.1ad tag after the ethertype that announced it: the TCI
 * (priority bits set to 5 so only the low 12 bits are the VLAN id) and the
 * next type. */
static inline void pkt_vlan(struct pkt *p, uint16_t vid, uint16_t next_type)
{
    uint8_t *w = pkt_put(p, 4);
    pkt_be16(w, (uint16_t)(0xa000u | (vid & 0x0fffu)));
    pkt_be16(w + 2, next_type);
}

/* One MPLS label stack entry (TTL 64). */
static inline void pkt_mpls(struct pkt *p, uint32_t label, int bottom)
{
    pkt_be32(pkt_put(p, 4), (label << 12) | (bottom ? 0x100u : 0u) | 64u);
}

/* PPPoE session header and PPP protocol; its length is set by pkt_finish. */
static inline void pkt_pppoe(struct pkt *p, uint16_t ppp_proto)
{
    p->pppoe_off = p->len;
    uint8_t *w = pkt_put(p, 8);
    w[0] = 0x11;             /* version 1, type 1 */
    pkt_be16(w + 2, 0x1234); /* session id */
    pkt_be16(w + 6, ppp_proto);
}

/* Linux cooked v1 (DLT_LINUX_SLL): 16 bytes, protocol last. */
static inline void pkt_sll(struct pkt *p, uint16_t proto)
{
    uint8_t *w = pkt_put(p, 16);
    pkt_be16(w, 0);     /* to us */
    pkt_be16(w + 2, 1); /* ARPHRD_ETHER */
    pkt_be16(w + 4, 6); /* address length */
    w[6] = 0x02;
    w[11] = 0x01;
    pkt_be16(w + 14, proto);
}

/* Linux cooked v2 (DLT_LINUX_SLL2): 20 bytes, protocol first. */
static inline void pkt_sll2(struct pkt *p, uint16_t proto)
{
    uint8_t *w = pkt_put(p, 20);
    pkt_be16(w, proto);
    pkt_be32(w + 4, 2); /* interface index */
    pkt_be16(w + 8, 1); /* ARPHRD_ETHER */
    w[10] = 0;          /* to us */
    w[11] = 6;          /* address length */
    w[12] = 0x02;
    w[17] = 0x01;
}

/* BSD loopback header (DLT_NULL, DLT_LOOP): a 4-byte address family in
 * either byte order. */
static inline void pkt_null(struct pkt *p, uint32_t family, int big_endian)
{
    uint8_t *w = pkt_put(p, 4);
    if (big_endian) {
        pkt_be32(w, family);
    } else {
        for (int i = 0; i < 4; i++)
            w[i] = (uint8_t)(family >> (8 * i));
    }
}

/* IPv4 header with optlen bytes of options (a multiple of 4, at most 40,
 * filled with NOPs), TTL 64, no fragmentation bits. */
static inline void pkt_ipv4(struct pkt *p, uint32_t src, uint32_t dst, uint8_t proto, size_t optlen)
{
    p->ip_off = p->len;
    p->ip_ver = 4;
    uint8_t *w = pkt_put(p, 20 + optlen);
    w[0] = (uint8_t)(0x40 | ((20 + optlen) / 4));
    pkt_be16(w + 4, 0x4242); /* id */
    w[8] = 64;
    w[9] = proto;
    pkt_be32(w + 12, src);
    pkt_be32(w + 16, dst);
    memset(w + 20, 1, optlen);
}

/* An IPv6 address fd00::<n>. */
static inline void pkt_v6addr(uint8_t a[16], uint16_t n)
{
    memset(a, 0, 16);
    a[0] = 0xfd;
    pkt_be16(a + 14, n);
}

/* IPv6 header, hop limit 64; nh is the first next-header value. */
static inline void pkt_ipv6(struct pkt *p, const uint8_t src[16], const uint8_t dst[16], uint8_t nh)
{
    p->ip_off = p->len;
    p->ip_ver = 6;
    uint8_t *w = pkt_put(p, 40);
    w[0] = 0x60;
    w[6] = nh;
    w[7] = 64;
    memcpy(w + 8, src, 16);
    memcpy(w + 24, dst, 16);
}

/* An extension header with an 8-octet-unit length byte (hop-by-hop,
 * routing, destination options): (len8 + 1) * 8 bytes, padded with PadN. */
static inline void pkt_ipv6_ext(struct pkt *p, uint8_t next, uint8_t len8)
{
    size_t n = ((size_t)len8 + 1) * 8;
    uint8_t *w = pkt_put(p, n);
    w[0] = next;
    w[1] = len8;
    w[2] = 1; /* PadN covering the rest */
    w[3] = (uint8_t)(n - 4);
}

/* Authentication header: (len4 + 2) * 4 bytes. */
static inline void pkt_ipv6_ah(struct pkt *p, uint8_t next, uint8_t len4)
{
    uint8_t *w = pkt_put(p, ((size_t)len4 + 2) * 4);
    w[0] = next;
    w[1] = len4;
}

/* Fragment header: offset in 8-octet units, more-fragments flag. */
static inline void pkt_ipv6_frag(struct pkt *p, uint8_t next, uint16_t offset, int more)
{
    uint8_t *w = pkt_put(p, 8);
    w[0] = next;
    pkt_be16(w + 2, (uint16_t)((offset << 3) | (more ? 1 : 0)));
    pkt_be32(w + 4, 0xdeadbeef); /* identification */
}

/* TCP header (with options padded to 4) and payload. */
static inline void pkt_tcp(struct pkt *p, const struct pkt_tcp *t)
{
    size_t optpad = (t->optlen + 3) & ~(size_t)3;
    p->tcp_off = p->len;
    uint8_t *w = pkt_put(p, 20 + optpad);
    pkt_be16(w, t->sport);
    pkt_be16(w + 2, t->dport);
    pkt_be32(w + 4, t->seq);
    pkt_be32(w + 8, t->ack);
    w[12] = (uint8_t)(((20 + optpad) / 4) << 4);
    w[13] = t->flags;
    pkt_be16(w + 14, t->win);
    if (t->optlen > 0)
        memcpy(w + 20, t->opt, t->optlen);
    p->pay_off = p->len;
    uint8_t *pay = pkt_put(p, t->paylen);
    for (size_t i = 0; i < t->paylen; i++)
        pay[i] = (uint8_t)i;
}

/* An ICMP or ICMPv6 error header: type, code, a zero checksum, then rest
 * (fragmentation needed: the next-hop MTU in its low 16 bits; packet too
 * big: the MTU). The quoted datagram follows: pkt_quote_ipv4/6, then
 * pkt_quote_tcp. */
static inline void pkt_icmp(struct pkt *p, uint8_t type, uint8_t code, uint32_t rest)
{
    uint8_t *w = pkt_put(p, 8);
    w[0] = type;
    w[1] = code;
    pkt_be32(w + 4, rest);
}

/* The quoted datagram's IPv4 header (protocol TCP, the original's total
 * length tot); leaves ip_off, which pkt_finish fills in, alone. */
static inline void pkt_quote_ipv4(struct pkt *p, uint32_t src, uint32_t dst, uint16_t tot)
{
    uint8_t *w = pkt_put(p, 20);
    w[0] = 0x45;
    pkt_be16(w + 2, tot);
    w[8] = 64;
    w[9] = PKT_PROTO_TCP;
    pkt_be32(w + 12, src);
    pkt_be32(w + 16, dst);
}

/* The quoted datagram's IPv6 header (next header nh, payload length 40). */
static inline void pkt_quote_ipv6(struct pkt *p, const uint8_t src[16], const uint8_t dst[16],
                                  uint8_t nh)
{
    uint8_t *w = pkt_put(p, 40);
    w[0] = 0x60;
    pkt_be16(w + 4, 40);
    w[6] = nh;
    w[7] = 64;
    memcpy(w + 8, src, 16);
    memcpy(w + 24, dst, 16);
}

/* The first n bytes (at most 20) of the quoted TCP header. */
static inline void pkt_quote_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint32_t seq,
                                 uint32_t ack, uint8_t flags, size_t n)
{
    uint8_t w[20] = {0};
    pkt_be16(w, sport);
    pkt_be16(w + 2, dport);
    pkt_be32(w + 4, seq);
    pkt_be32(w + 8, ack);
    w[12] = 0x50;
    w[13] = flags;
    pkt_be16(w + 14, 64240);
    pkt_bytes(p, w, n < sizeof w ? n : sizeof w);
}

/* Records a length field for pkt_finish() (struct pkt_fixup). */
static inline void pkt_fix(struct pkt *p, size_t off, int kind)
{
    if (p->nfix == (int)(sizeof p->fix / sizeof p->fix[0])) {
        fprintf(stderr, "pkt.h: too many length fields\n");
        abort();
    }
    p->fix[p->nfix].off = off;
    p->fix[p->nfix].kind = kind;
    p->nfix++;
}

static inline void pkt_fix_one(struct pkt *p, const struct pkt_fixup *f)
{
    uint8_t *w = p->b + f->off;
    size_t n = p->len - f->off;
    switch (f->kind) {
    case PKT_FIX_IPV4: pkt_be16(w + 2, (uint16_t)n); break;
    case PKT_FIX_IPV6: pkt_be16(w + 4, (uint16_t)(n - 40)); break;
    case PKT_FIX_UDP:
    case PKT_FIX_L2TP: pkt_be16(w + (f->kind == PKT_FIX_UDP ? 4 : 2), (uint16_t)n); break;
    case PKT_FIX_GTP: pkt_be16(w + 2, (uint16_t)(n - 8)); break;
    case PKT_FIX_8023: pkt_be16(w, (uint16_t)(n - 2)); break;
    case PKT_FIX_NFLOG_LE:
        w[0] = (uint8_t)n;
        w[1] = (uint8_t)(n >> 8);
        break;
    case PKT_FIX_NFLOG_BE: pkt_be16(w, (uint16_t)n); break;
    case PKT_FIX_PPTP:
        pkt_be16(w + 4, (uint16_t)(n - 8 - ((w[0] & 0x10) ? 4 : 0) - ((w[1] & 0x80) ? 4 : 0)));
        break;
    default: break;
    }
}

/* Fills in the length fields that depend on what followed them. */
static inline void pkt_finish(struct pkt *p)
{
    for (int i = 0; i < p->nfix; i++)
        pkt_fix_one(p, &p->fix[i]);
    if (p->ip_ver == 4)
        pkt_be16(p->b + p->ip_off + 2, (uint16_t)(p->len - p->ip_off));
    else if (p->ip_ver == 6)
        pkt_be16(p->b + p->ip_off + 4, (uint16_t)(p->len - p->ip_off - 40));
    if (p->pppoe_off != 0)
        pkt_be16(p->b + p->pppoe_off + 4, (uint16_t)(p->len - p->pppoe_off - 6));
}

/* Appends n bytes of link-layer padding (after pkt_finish, so the IP
 * lengths do not count it). */
static inline void pkt_pad(struct pkt *p, size_t n) { (void)pkt_put(p, n); }

/* ---- tunnels and more link layers ---- */

enum {
    PKT_PROTO_IPIP = 4,
    PKT_PROTO_IPV6 = 41,
    PKT_PROTO_GRE = 47,
    PKT_ETH_TEB = 0x6558,     /* transparent Ethernet bridging */
    PKT_ETH_ERSPAN = 0x88be,  /* ERSPAN type I and II */
    PKT_ETH_ERSPAN3 = 0x22eb, /* ERSPAN type III */
    PKT_ETH_PBB = 0x88e7,     /* 802.1ah I-TAG */
    PKT_ETH_VNTAG = 0x8926,
    PKT_ETH_FABRICPATH = 0x8903,
    PKT_ETH_PPP = 0x880b, /* PPTP's GRE protocol */
    PKT_GRE_C = 0x8000,
    PKT_GRE_R = 0x4000,
    PKT_GRE_K = 0x2000,
    PKT_GRE_S = 0x1000,
    PKT_PORT_VXLAN = 4789,
    PKT_PORT_GENEVE = 6081,
    PKT_PORT_GTPU = 2152,
    PKT_PORT_TEREDO = 3544,
    PKT_PORT_L2TP = 1701,
};

/* An outer IP header (a tunnel's), no options: as pkt_ipv4/pkt_ipv6, but
 * pkt_finish() fills in its length as well as the innermost one's. */
static inline void pkt_ipv4_outer(struct pkt *p, uint32_t src, uint32_t dst, uint8_t proto)
{
    pkt_ipv4(p, src, dst, proto, 0);
    pkt_fix(p, p->ip_off, PKT_FIX_IPV4);
    p->ip_ver = 0;
}

static inline void pkt_ipv6_outer(struct pkt *p, const uint8_t src[16], const uint8_t dst[16],
                                  uint8_t nh)
{
    pkt_ipv6(p, src, dst, nh);
    pkt_fix(p, p->ip_off, PKT_FIX_IPV6);
    p->ip_ver = 0;
}

/* A UDP header (zero checksum); its length is set by pkt_finish. */
static inline void pkt_udp(struct pkt *p, uint16_t sport, uint16_t dport)
{
    pkt_fix(p, p->len, PKT_FIX_UDP);
    uint8_t *w = pkt_put(p, 8);
    pkt_be16(w, sport);
    pkt_be16(w + 2, dport);
}

/* VXLAN: the I flag and a VNI; an Ethernet frame follows. */
static inline void pkt_vxlan(struct pkt *p, uint32_t vni)
{
    uint8_t *w = pkt_put(p, 8);
    w[0] = 0x08;
    pkt_be32(w + 4, vni << 8);
}

/* Geneve, version 0, with optlen bytes of options (a multiple of 4):
 * options of up to 128 bytes each, class 0x0102, type 0x80. */
static inline void pkt_geneve(struct pkt *p, uint32_t vni, uint16_t type, size_t optlen)
{
    uint8_t *w = pkt_put(p, 8);
    w[0] = (uint8_t)(optlen / 4);
    pkt_be16(w + 2, type);
    pkt_be32(w + 4, vni << 8);
    while (optlen > 0) {
        size_t n = optlen < 128 ? optlen : 128;
        uint8_t *o = pkt_put(p, n);
        pkt_be16(o, 0x0102);
        o[2] = 0x80;
        o[3] = (uint8_t)((n - 4) / 4);
        memset(o + 4, 0xee, n - 4);
        optlen -= n;
    }
}

/* GRE version 0: flags of PKT_GRE_C, _K, _S; the fields they announce
 * (a zero checksum, key, seq) in order. */
static inline void pkt_gre(struct pkt *p, uint16_t flags, uint16_t type, uint32_t key, uint32_t seq)
{
    uint8_t *w = pkt_put(p, 4);
    pkt_be16(w, flags);
    pkt_be16(w + 2, type);
    if (flags & PKT_GRE_C)
        (void)pkt_put(p, 4);
    if (flags & PKT_GRE_K)
        pkt_be32(pkt_put(p, 4), key);
    if (flags & PKT_GRE_S)
        pkt_be32(pkt_put(p, 4), seq);
}

/* PPTP's enhanced GRE (version 1, key = payload length and call id,
 * optional sequence and acknowledgment numbers); PPP follows. */
static inline void pkt_gre_pptp(struct pkt *p, uint16_t call, int seq, int ack)
{
    pkt_fix(p, p->len, PKT_FIX_PPTP);
    uint8_t *w = pkt_put(p, 8);
    pkt_be16(w, (uint16_t)(PKT_GRE_K | (seq ? PKT_GRE_S : 0) | (ack ? 0x80 : 0) | 1));
    pkt_be16(w + 2, PKT_ETH_PPP);
    pkt_be16(w + 6, call);
    if (seq)
        pkt_be32(pkt_put(p, 4), 7);
    if (ack)
        pkt_be32(pkt_put(p, 4), 6);
}

/* ERSPAN type II (version 1) header after GRE with the S flag. */
static inline void pkt_erspan2(struct pkt *p, uint16_t session)
{
    uint8_t *w = pkt_put(p, 8);
    pkt_be16(w, 0x1000 | 12); /* version 1, VLAN 12 */
    pkt_be16(w + 2, (uint16_t)(0x2000 | (session & 0x3ff)));
    pkt_be32(w + 4, 0x42); /* index */
}

/* ERSPAN type III (version 2), with the platform sub-header if o. */
static inline void pkt_erspan3(struct pkt *p, uint16_t session, int o)
{
    uint8_t *w = pkt_put(p, 12);
    pkt_be16(w, 0x2000 | 12); /* version 2, VLAN 12 */
    pkt_be16(w + 2, (uint16_t)(0x2000 | (session & 0x3ff)));
    pkt_be32(w + 4, 0x01020304); /* timestamp */
    pkt_be16(w + 8, 77);         /* security group tag */
    w[10] = 0x01;                /* frame type 0 (Ethernet), hardware id */
    w[11] = (uint8_t)(0x08 | (o ? 1 : 0));
    if (o)
        pkt_be32(pkt_put(p, 8), 0xabcdef01);
}

/* GTP-U G-PDU (version 1, PT 1) with TEID teid; flags adds E (0x04), S
 * (0x02) or PN (0x01), next is the first extension header's type (with
 * E); pkt_gtp_ext() writes each extension header. Its length is set by
 * pkt_finish. */
static inline void pkt_gtpu(struct pkt *p, uint32_t teid, uint8_t flags, uint8_t next)
{
    pkt_fix(p, p->len, PKT_FIX_GTP);
    uint8_t *w = pkt_put(p, 8);
    w[0] = (uint8_t)(0x30 | flags);
    w[1] = 0xff;
    pkt_be32(w + 4, teid);
    if (flags & 0x07) {
        uint8_t *o = pkt_put(p, 4);
        pkt_be16(o, 0x0102);
        o[3] = next;
    }
}

/* A GTP-U extension header of words 4-byte words, then next's type. */
static inline void pkt_gtp_ext(struct pkt *p, uint8_t words, uint8_t next)
{
    uint8_t *w = pkt_put(p, (size_t)words * 4);
    w[0] = words;
    memset(w + 1, 0x55, (size_t)words * 4 - 2);
    w[words * 4 - 1] = next;
}

/* Teredo's authentication indicator (client id and value of idlen and
 * aulen bytes, nonce, confirmation) and origin indication. */
static inline void pkt_teredo_auth(struct pkt *p, uint8_t idlen, uint8_t aulen)
{
    uint8_t *w = pkt_put(p, 13 + (size_t)idlen + aulen);
    pkt_be16(w, 0x0001);
    w[2] = idlen;
    w[3] = aulen;
    memset(w + 4, 0x77, (size_t)idlen + aulen + 9);
}

static inline void pkt_teredo_origin(struct pkt *p)
{
    uint8_t *w = pkt_put(p, 8);
    pkt_be16(w + 2, 0xffff ^ 40000);           /* obfuscated port */
    pkt_be32(w + 4, ~PKT_V4(198, 51, 100, 7)); /* obfuscated address */
}

/* L2TPv2 data message: flags of 0x4000 (L: length, set by pkt_finish),
 * 0x0800 (S: Ns, Nr), 0x0200 (O: offset of offset bytes); PPP follows. */
static inline void pkt_l2tp(struct pkt *p, uint16_t flags, uint16_t tunnel, uint16_t session,
                            uint16_t offset)
{
    if (flags & 0x4000)
        pkt_fix(p, p->len, PKT_FIX_L2TP);
    pkt_be16(pkt_put(p, 2), (uint16_t)(flags | 2));
    if (flags & 0x4000)
        (void)pkt_put(p, 2);
    uint8_t *w = pkt_put(p, 4);
    pkt_be16(w, tunnel);
    pkt_be16(w + 2, session);
    if (flags & 0x0800)
        pkt_be32(pkt_put(p, 4), 0x00030004);
    if (flags & 0x0200) {
        pkt_be16(pkt_put(p, 2), offset);
        memset(pkt_put(p, offset), 0x99, offset);
    }
}

/* A PPP header: FF 03 when acfc is 0, then the protocol, in one byte
 * when pfc. */
static inline void pkt_ppp(struct pkt *p, uint16_t proto, int acfc, int pfc)
{
    if (!acfc) {
        uint8_t *w = pkt_put(p, 2);
        w[0] = 0xff;
        w[1] = 0x03;
    }
    if (pfc)
        *pkt_put(p, 1) = (uint8_t)proto;
    else
        pkt_be16(pkt_put(p, 2), proto);
}

/* 802.1ah I-TAG after PKT_ETH_PBB: service id, customer MACs, next type. */
static inline void pkt_pbb(struct pkt *p, uint32_t isid, uint16_t next_type)
{
    uint8_t *w = pkt_put(p, 18);
    pkt_be32(w, isid & 0xffffffu);
    w[4] = 0x02;
    w[9] = 0x0a;
    w[10] = 0x02;
    w[15] = 0x0b;
    pkt_be16(w + 16, next_type);
}

/* VN-Tag after PKT_ETH_VNTAG: 4 bytes of tag, next type. */
static inline void pkt_vntag(struct pkt *p, uint16_t next_type)
{
    uint8_t *w = pkt_put(p, 6);
    pkt_be32(w, 0x00000033);
    pkt_be16(w + 4, next_type);
}

/* FabricPath after PKT_ETH_FABRICPATH: FTag/TTL, the frame's MACs, type. */
static inline void pkt_fabricpath(struct pkt *p, uint16_t next_type)
{
    uint8_t *w = pkt_put(p, 16);
    pkt_be16(w, 0x0001);
    w[2] = 0x02;
    w[13] = 0x03;
    pkt_be16(w + 14, next_type);
}

/* An 802.3 header (its length set by pkt_finish) and LLC/SNAP with the
 * RFC 1042 OUI and type. */
static inline void pkt_eth_snap(struct pkt *p, uint16_t type)
{
    pkt_eth(p, 0);
    pkt_fix(p, p->len - 2, PKT_FIX_8023);
    uint8_t *w = pkt_put(p, 8);
    w[0] = 0xaa;
    w[1] = 0xaa;
    w[2] = 0x03;
    pkt_be16(w + 6, type);
}

/* LLC/SNAP alone (802.11, FDDI, after an SLL protocol of 4). */
static inline void pkt_snap(struct pkt *p, uint16_t type)
{
    uint8_t *w = pkt_put(p, 8);
    w[0] = 0xaa;
    w[1] = 0xaa;
    w[2] = 0x03;
    pkt_be16(w + 6, type);
}

/* Cisco HDLC (DLT_C_HDLC): unicast address, control, type. */
static inline void pkt_chdlc(struct pkt *p, uint16_t type)
{
    uint8_t *w = pkt_put(p, 4);
    w[0] = 0x0f;
    pkt_be16(w + 2, type);
}

/* FDDI (DLT_FDDI): frame control and two MACs; LLC follows. */
static inline void pkt_fddi(struct pkt *p)
{
    uint8_t *w = pkt_put(p, 13);
    w[0] = 0x50;
    w[6] = 0x01;
    w[12] = 0x02;
}

/* NFLOG (DLT_NFLOG): header for family (2, 10), a packet-header TLV, a
 * prefix TLV of 5 bytes (padded to 8), then the payload TLV's header, its
 * length set by pkt_finish; TLVs in little- or big-endian order. */
static inline void pkt_nflog(struct pkt *p, uint8_t family, int big_endian)
{
    uint8_t *w = pkt_put(p, 4);
    w[0] = family;
    pkt_be16(w + 2, 7);                                           /* resource id, network order */
    static const uint8_t le[] = {8, 0, 1,  0, 0x08, 0x00, 0,   0, /* packet header */
                                 9, 0, 10, 0, 't',  'l',  'x', 0, 0, 0, 0, 0}; /* prefix */
    static const uint8_t be[] = {0, 8,  0,   1,   0x08, 0x00, 0, 0, 0, 9,
                                 0, 10, 't', 'l', 'x',  0,    0, 0, 0, 0};
    pkt_bytes(p, big_endian ? be : le, sizeof le);
    pkt_fix(p, p->len, big_endian ? PKT_FIX_NFLOG_BE : PKT_FIX_NFLOG_LE);
    uint8_t *t = pkt_put(p, 4);
    if (big_endian)
        pkt_be16(t + 2, 9);
    else
        t[2] = 9;
}

/* A radiotap header: TSFT (when tsft), flags (f), an antenna field, and
 * an extended present bitmap when ext. */
static inline void pkt_radiotap(struct pkt *p, uint8_t f, int tsft, int ext)
{
    size_t start = p->len;
    uint8_t *w = pkt_put(p, 8);
    uint32_t present = 0x02u | (tsft ? 0x01u : 0) | (ext ? 0x80000000u : 0) | (1u << 11);
    for (int i = 0; i < 4; i++)
        w[4 + i] = (uint8_t)(present >> (8 * i));
    if (ext)
        (void)pkt_put(p, 4); /* a second bitmap, nothing in it */
    if (tsft) {
        while ((p->len - start) % 8)
            (void)pkt_put(p, 1);
        memset(pkt_put(p, 8), 0x11, 8);
    }
    *pkt_put(p, 1) = f;
    *pkt_put(p, 1) = 1; /* antenna */
    size_t len = p->len - start;
    p->b[start + 2] = (uint8_t)len;
    p->b[start + 3] = (uint8_t)(len >> 8);
}

/* An 802.11 data frame header: subtype (0 data, 8 QoS data, 4 null),
 * the ToDS/FromDS bits and more of the second frame-control byte (0x40
 * protected, 0x80 order), QoS control's first byte. */
static inline void pkt_80211(struct pkt *p, uint8_t subtype, uint8_t fc1, uint8_t qos0)
{
    uint8_t *w = pkt_put(p, 24);
    w[0] = (uint8_t)((subtype << 4) | (2 << 2));
    w[1] = fc1;
    w[4] = 0x02;
    w[10] = 0x02;
    w[16] = 0x02;
    if ((fc1 & 3) == 3)
        (void)pkt_put(p, 6);
    if (subtype & 8) {
        *pkt_put(p, 2) = qos0;
        if (fc1 & 0x80)
            (void)pkt_put(p, 4);
    }
}

#endif
