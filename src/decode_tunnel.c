/*
 * Tunnels: what follows an IP header whose protocol is UDP (on a tunnel's
 * port), GRE, IPv4 or IPv6 (IP in IP: 4in4, 6in4 "sit", 4in6, 6in6) or
 * ESP. Each tunnel entered is counted in out->tunnel, which keeps the
 * innermost one: its type, its outer addresses and its id. The headers
 * themselves are read in decode_gre.c and decode_udp.c.
 */
#include "tcplens/decode.h"

#include <string.h>

#include "decode_int.h"

/* The UDP ports of the tunnels carried in UDP, in one place: the IANA
 * ports, and Linux's old VXLAN default. */
const struct tl_decode_cfg tl_decode_cfg_defaults = {
    .udp_ports =
        {
            [TL_TUN_VXLAN] = {4789, 8472},
            [TL_TUN_GENEVE] = {6081},
            [TL_TUN_GTPU] = {2152},
            [TL_TUN_TEREDO] = {3544},
            [TL_TUN_L2TP] = {1701},
        },
};

void tl_decode_cfg_default(struct tl_decode_cfg *cfg) { *cfg = tl_decode_cfg_defaults; }

enum { UDP_HDR = 8 };

enum tl_dec tl_tunnel_enter(struct tl_pkt *out, enum tl_tunnel_type type)
{
    struct tl_tunnel *t = &out->tunnel;
    if (t->depth >= TL_TUNNEL_MAX_DEPTH)
        return TL_DEC_TUNNEL_TOO_DEEP;
    t->type = (uint8_t)type;
    t->depth++;
    t->has_id = false;
    t->id_shared = false;
    t->id = 0;
    t->outer_src = out->src;
    t->outer_dst = out->dst;
    /* An inner IPv4 address fills 4 bytes of 16: none of the outer IPv6
     * one may stay behind it. */
    memset(&out->src, 0, sizeof out->src);
    memset(&out->dst, 0, sizeof out->dst);
    /* The IP header to checksum is the inner one, if IPv4. */
    out->ip4_hdr = NULL;
    out->ip4_hlen = 0;
    return TL_DEC_OK;
}

/* The tunnel type whose port a UDP datagram is sent to, else from; NONE. */
static enum tl_tunnel_type udp_tunnel(const struct tl_decode_cfg *cfg, uint16_t sport,
                                      uint16_t dport)
{
    for (int side = 0; side < 2; side++) {
        uint16_t port = side == 0 ? dport : sport;
        for (int t = 0; t < TL_TUN_NTYPES; t++)
            for (int i = 0; i < TL_DECODE_MAX_PORTS; i++)
                if (cfg->udp_ports[t][i] == port && port != 0)
                    return (enum tl_tunnel_type)t;
    }
    return TL_TUN_NONE;
}

enum { IP6_HDR = 40 };

/* Teredo between a client and a relay or a peer goes to any port (the
 * relay's, the client's NAT-mapped one); only its server listens on 3544.
 * A datagram is taken for Teredo, as Wireshark's and Zeek's heuristics
 * take it, when it holds exactly one IPv6 packet to or from a Teredo
 * address (2001:0::/32, RFC 4380): version 6, the payload length that
 * fills the datagram. Not when Teredo is turned off (--tunnel-port). */
static bool teredo_shaped(const struct tl_cur *c, const struct tl_decode_cfg *cfg)
{
    if (cfg->udp_ports[TL_TUN_TEREDO][0] == 0 || !tl_cur_has(c, UDP_HDR + IP6_HDR))
        return false;
    const uint8_t *u = c->p, *ip = c->p + UDP_HDR;
    if ((ip[0] >> 4) != 6 || tl_rd_be16(u + 4) != (size_t)UDP_HDR + IP6_HDR + tl_rd_be16(ip + 4))
        return false;
    static const uint8_t prefix[4] = {0x20, 0x01, 0x00, 0x00};
    return memcmp(ip + 8, prefix, 4) == 0 || memcmp(ip + 24, prefix, 4) == 0;
}

static enum tl_dec decode_udp(struct tl_cur *c, const struct tl_decode_cfg *cfg, struct tl_pkt *out,
                              enum tl_l3 *l3)
{
    /* The IP layer has clamped c->wire to the datagram on the wire. */
    if (c->wire < UDP_HDR)
        return TL_DEC_BAD_IP_LEN;
    if (!tl_cur_has(c, UDP_HDR))
        return TL_DEC_TRUNC_UDP;
    enum tl_tunnel_type type = udp_tunnel(cfg, tl_rd_be16(c->p), tl_rd_be16(c->p + 2));
    if (type == TL_TUN_NONE && teredo_shaped(c, cfg))
        type = TL_TUN_TEREDO;
    if (type == TL_TUN_NONE)
        return TL_DEC_NOT_TCP;
    size_t len = tl_rd_be16(c->p + 4);
    if (len == 0) /* a jumbogram's (RFC 2675), or offload's */
        len = c->wire;
    if (len < UDP_HDR || len > c->wire)
        return TL_DEC_BAD_TUNNEL;
    enum tl_dec r = tl_tunnel_enter(out, type);
    if (r != TL_DEC_OK)
        return r;
    tl_cur_clamp(c, len);
    tl_cur_skip(c, UDP_HDR);
    switch (type) {
    case TL_TUN_VXLAN: return tl_decode_vxlan(c, out, l3);
    case TL_TUN_GENEVE: return tl_decode_geneve(c, out, l3);
    case TL_TUN_GTPU: return tl_decode_gtpu(c, out, l3);
    case TL_TUN_TEREDO: return tl_decode_teredo(c, out, l3);
    case TL_TUN_L2TP: return tl_decode_l2tp(c, out, l3);
    default: return TL_DEC_ENCAP_NOT_DECODED; /* a port given to a type not in UDP */
    }
}

enum tl_dec tl_decode_tunnel(struct tl_cur *c, uint8_t proto, const struct tl_decode_cfg *cfg,
                             struct tl_pkt *out, enum tl_l3 *l3)
{
    enum tl_dec r;
    switch (proto) {
    case TL_PROTO_UDP: return decode_udp(c, cfg, out, l3);
    case TL_PROTO_GRE: return tl_decode_gre(c, out, l3);
    case TL_PROTO_IPIP:
    case TL_PROTO_IPV6:
        r = tl_tunnel_enter(out, TL_TUN_IPIP);
        *l3 = proto == TL_PROTO_IPIP ? TL_L3_IPV4 : TL_L3_IPV6;
        return r;
    case TL_PROTO_ESP: return TL_DEC_ENCRYPTED;
    default: return TL_DEC_NOT_TCP;
    }
}

enum tl_dec tl_decode_ip_by_version(struct tl_cur *c, enum tl_l3 *l3)
{
    if (!tl_cur_has(c, 1))
        return c->wire == 0 ? TL_DEC_NOT_TCP : TL_DEC_TRUNC_IP;
    switch (c->p[0] >> 4) {
    case 4: *l3 = TL_L3_IPV4; return TL_DEC_OK;
    case 6: *l3 = TL_L3_IPV6; return TL_DEC_OK;
    default: return TL_DEC_ENCAP_NOT_DECODED;
    }
}

enum { TYPE_TEB = 0x6558 }; /* transparent Ethernet bridging: an Ethernet frame */

enum tl_dec tl_decode_inner_type(struct tl_cur *c, uint16_t type, struct tl_pkt *out,
                                 enum tl_l3 *l3)
{
    if (type == TYPE_TEB)
        return tl_decode_ether(c, out, l3);
    if (!tl_ethertype_known(type))
        return TL_DEC_ENCAP_NOT_DECODED;
    return tl_decode_ethertype(c, type, out, l3);
}
