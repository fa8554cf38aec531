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

/* Fills in the length fields that depend on what followed them. */
static inline void pkt_finish(struct pkt *p)
{
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

#endif
