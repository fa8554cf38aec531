/* Private to the decoder: the bounds-checked cursor and the layer entry points. */
#ifndef TCPLENS_DECODE_INT_H
#define TCPLENS_DECODE_INT_H

#include "tcplens/decode.h"

/*
 * A read position. left counts the captured bytes that remain and wire the
 * bytes that were on the wire; counting down (instead of comparing pointers
 * to an end) can never form an out-of-range pointer.
 */
struct tl_cur {
    const uint8_t *p;
    size_t left;
    size_t wire;
};

static inline bool tl_cur_has(const struct tl_cur *c, size_t n) { return c->left >= n; }

/* Moves past n bytes; the caller has checked tl_cur_has(c, n). */
static inline void tl_cur_skip(struct tl_cur *c, size_t n)
{
    c->p += n;
    c->left -= n;
    c->wire = c->wire >= n ? c->wire - n : 0;
}

/* Limits the cursor to a datagram of n bytes (IP total length), dropping
 * link-layer padding after it. */
static inline void tl_cur_clamp(struct tl_cur *c, size_t n)
{
    if (c->left > n)
        c->left = n;
    if (c->wire > n)
        c->wire = n;
}

static inline uint16_t tl_rd_be16(const uint8_t *b) { return (uint16_t)((b[0] << 8) | b[1]); }

static inline uint32_t tl_rd_be32(const uint8_t *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static inline uint32_t tl_rd_be24(const uint8_t *b)
{
    return ((uint32_t)b[0] << 16) | ((uint32_t)b[1] << 8) | b[2];
}

static inline uint16_t tl_rd_le16(const uint8_t *b) { return (uint16_t)((b[1] << 8) | b[0]); }

static inline uint32_t tl_rd_le32(const uint8_t *b)
{
    return ((uint32_t)b[3] << 24) | ((uint32_t)b[2] << 16) | ((uint32_t)b[1] << 8) | b[0];
}

/* The UDP ports tl_decode() looks into (decode_tunnel.c). */
extern const struct tl_decode_cfg tl_decode_cfg_defaults;

/* Network layer to go on with after the link layer. */
enum tl_l3 { TL_L3_IPV4, TL_L3_IPV6, TL_L3_BY_VERSION };

/* IP protocol numbers the decoder goes on with. */
enum {
    TL_PROTO_ICMP = 1,
    TL_PROTO_IPIP = 4, /* IPv4 in IP */
    TL_PROTO_TCP = 6,
    TL_PROTO_UDP = 17,
    TL_PROTO_IPV6 = 41, /* IPv6 in IP */
    TL_PROTO_GRE = 47,
    TL_PROTO_ESP = 50,
    TL_PROTO_ICMP6 = 58,
};

/* Whether the decoder goes on after an IP header (v6: IPv6's) whose
 * protocol is p, TCP aside: ICMP errors and tunnels (ESP, to say it is
 * encrypted). Not for TCP itself, which the caller compares first. */
static inline bool tl_proto_goes_on(uint8_t p, bool v6)
{
    switch (p) {
    case TL_PROTO_IPIP:
    case TL_PROTO_UDP:
    case TL_PROTO_IPV6:
    case TL_PROTO_GRE:
    case TL_PROTO_ESP: return true;
    case TL_PROTO_ICMP: return !v6;
    case TL_PROTO_ICMP6: return v6;
    default: return false;
    }
}

/* Each layer consumes its header and says what comes next or why it stops.
 * The IP layers stop with TL_DEC_OK at TCP, or at a protocol
 * tl_proto_goes_on() (*proto). */
enum tl_dec tl_decode_l2(struct tl_cur *c, int linktype, struct tl_pkt *out, enum tl_l3 *l3);
enum tl_dec tl_decode_ethertype(struct tl_cur *c, uint16_t type, struct tl_pkt *out,
                                enum tl_l3 *l3);
/* An Ethernet header and what its type announces (a tunnel's inner frame). */
enum tl_dec tl_decode_ether(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3);
/* Whether tl_decode_ethertype() decodes this type (else it says not_ip). */
bool tl_ethertype_known(uint16_t type);
/* A PPP header (the HDLC-like FF 03 optional, a protocol of 1 or 2
 * bytes) and what its protocol announces. */
enum tl_dec tl_decode_ppp(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3);
/* 802.2 LLC with SNAP and the ethertype it carries; other LLC is not IP. */
enum tl_dec tl_decode_llc(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3);
/* Link types of decode_link.c, rows of decode_l2.c's table. */
enum tl_dec tl_decode_ppp_serial(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3);
enum tl_dec tl_decode_chdlc(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3);
enum tl_dec tl_decode_fddi(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3);
enum tl_dec tl_decode_nflog(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3);
enum tl_dec tl_decode_radiotap(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3);
enum tl_dec tl_decode_ipv4(struct tl_cur *c, struct tl_pkt *out, uint8_t *proto);
enum tl_dec tl_decode_ipv6(struct tl_cur *c, struct tl_pkt *out, uint8_t *proto);
/* Walks IPv6 extension headers from next header *nh until TCP (or, with
 * outer, a protocol tl_proto_goes_on()); *nh is then that protocol. */
enum tl_dec tl_decode_v6_ext(struct tl_cur *c, uint8_t *nh, bool outer);
/* The tunnel after an IP header of protocol proto (UDP on a tunnel port,
 * GRE, IP in IP): enters it (out->tunnel), consumes its header and says
 * which network layer is inside; or why the frame is skipped. */
enum tl_dec tl_decode_tunnel(struct tl_cur *c, uint8_t proto, const struct tl_decode_cfg *cfg,
                             struct tl_pkt *out, enum tl_l3 *l3);
/* Counts a tunnel entered from the IP header just decoded (its addresses
 * become the tunnel's outer ones); TL_DEC_TUNNEL_TOO_DEEP past the bound. */
enum tl_dec tl_tunnel_enter(struct tl_pkt *out, enum tl_tunnel_type type);
/* The tunnels in GRE (RFC 2784, 2890; PPTP's, RFC 2637; ERSPAN) and in UDP. */
enum tl_dec tl_decode_gre(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3);
enum tl_dec tl_decode_vxlan(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3);
enum tl_dec tl_decode_geneve(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3);
enum tl_dec tl_decode_gtpu(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3);
enum tl_dec tl_decode_teredo(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3);
enum tl_dec tl_decode_l2tp(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3);
/* A payload that names no type: IPv4 or IPv6 by its version nibble, else
 * TL_DEC_ENCAP_NOT_DECODED (GTP-U, Teredo). */
enum tl_dec tl_decode_ip_by_version(struct tl_cur *c, enum tl_l3 *l3);
/* A payload with an ethertype (GRE, Geneve): Ethernet for 0x6558, what
 * tl_decode_ethertype() knows, else TL_DEC_ENCAP_NOT_DECODED. */
enum tl_dec tl_decode_inner_type(struct tl_cur *c, uint16_t type, struct tl_pkt *out,
                                 enum tl_l3 *l3);
/* The error after an ICMP (proto 1) or ICMPv6 (58) header: TL_DEC_ICMP with
 * out->icmp and the quoted segment filled in, or why the frame is skipped. */
enum tl_dec tl_decode_icmp(struct tl_cur *c, uint8_t proto, struct tl_pkt *out);
enum tl_dec tl_decode_tcp(struct tl_cur *c, struct tl_pkt *out);
void tl_decode_tcpopt(const uint8_t *opt, size_t len, struct tl_pkt *out);

#endif
