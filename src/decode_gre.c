/*
 * GRE (RFC 2784, with RFC 2890's key and sequence number), PPTP's
 * enhanced GRE (RFC 2637) and the ERSPAN mirror sessions carried in GRE
 * (types I, II and III, as Cisco and Linux's ip_gre write them).
 */
#include "tcplens/decode.h"

#include "decode_int.h"

/* The first 16 bits: flags, then the version. */
enum {
    GRE_C = 0x8000, /* checksum (and reserved1) present */
    GRE_R = 0x4000, /* RFC 1701 source routing */
    GRE_K = 0x2000, /* key present */
    GRE_S = 0x1000, /* sequence number present */
    GRE_A = 0x0080, /* version 1: acknowledgment number present */
    GRE_VERSION = 0x0007,
};

enum {
    GRE_BASE = 4,
    GRE_FIELD = 4, /* checksum + reserved, key, sequence or acknowledgment number */
    ERSPAN2_HDR = 8,
    ERSPAN3_HDR = 12,
    ERSPAN3_SUBHDR = 8, /* platform-specific, after the O bit */
};

enum {
    TYPE_ERSPAN_I_II = 0x88be,
    TYPE_ERSPAN_III = 0x22eb,
    TYPE_PPP = 0x880b, /* PPTP */
};

/* ERSPAN II (version 1) and III (version 2): version, VLAN, then class,
 * flags and a 10-bit session id; III adds a timestamp, a security group
 * tag and more flags, the frame type among them, and an optional
 * sub-header. An Ethernet frame follows. */
static enum tl_dec decode_erspan(struct tl_cur *c, bool type3, struct tl_pkt *out, enum tl_l3 *l3)
{
    size_t hlen = type3 ? ERSPAN3_HDR : ERSPAN2_HDR;
    if (hlen > c->wire)
        return TL_DEC_BAD_TUNNEL;
    if (!tl_cur_has(c, hlen))
        return TL_DEC_TRUNC_TUNNEL;
    const uint8_t *h = c->p;
    if ((h[0] >> 4) != (type3 ? 2 : 1))
        return TL_DEC_ENCAP_NOT_DECODED;
    out->tunnel.has_id = true;
    out->tunnel.id = tl_rd_be16(h + 2) & 0x3ffu;
    if (type3) {
        /* Frame type 0 is Ethernet; anything else is not decoded. */
        if (((h[10] >> 2) & 0x1f) != 0)
            return TL_DEC_ENCAP_NOT_DECODED;
        if (h[11] & 0x01) {
            hlen += ERSPAN3_SUBHDR;
            if (hlen > c->wire)
                return TL_DEC_BAD_TUNNEL;
            if (!tl_cur_has(c, hlen))
                return TL_DEC_TRUNC_TUNNEL;
        }
    }
    tl_cur_skip(c, hlen);
    return tl_decode_ether(c, out, l3);
}

/* Version 1 (PPTP): the key holds a payload length and a call id; the
 * sequence and acknowledgment numbers are optional; PPP follows. */
static enum tl_dec decode_pptp(struct tl_cur *c, uint16_t flags, uint16_t type, struct tl_pkt *out,
                               enum tl_l3 *l3)
{
    if (type != TYPE_PPP || !(flags & GRE_K) || (flags & (GRE_C | GRE_R)))
        return TL_DEC_ENCAP_NOT_DECODED;
    size_t hlen = GRE_BASE + GRE_FIELD + (flags & GRE_S ? GRE_FIELD : 0) +
                  (flags & GRE_A ? GRE_FIELD : 0);
    if (hlen > c->wire)
        return TL_DEC_BAD_TUNNEL;
    if (!tl_cur_has(c, hlen))
        return TL_DEC_TRUNC_TUNNEL;
    size_t paylen = tl_rd_be16(c->p + 4);
    out->tunnel.has_id = true;
    out->tunnel.id = tl_rd_be16(c->p + 6);
    tl_cur_skip(c, hlen);
    if (paylen > c->wire)
        return TL_DEC_BAD_TUNNEL;
    if (paylen == 0)
        return TL_DEC_NOT_TCP; /* an acknowledgment alone */
    tl_cur_clamp(c, paylen);
    return tl_decode_ppp(c, out, l3);
}

enum tl_dec tl_decode_gre(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    enum tl_dec r = tl_tunnel_enter(out, TL_TUN_GRE);
    if (r != TL_DEC_OK)
        return r;
    if (c->wire < GRE_BASE)
        return TL_DEC_BAD_TUNNEL;
    if (!tl_cur_has(c, GRE_BASE))
        return TL_DEC_TRUNC_TUNNEL;
    uint16_t flags = tl_rd_be16(c->p);
    uint16_t type = tl_rd_be16(c->p + 2);
    switch (flags & GRE_VERSION) {
    case 0: break;
    case 1: return decode_pptp(c, flags, type, out, l3);
    default: return TL_DEC_ENCAP_NOT_DECODED;
    }
    /* Source routes (RFC 1701, gone from RFC 2784): not decoded. */
    if (flags & GRE_R)
        return TL_DEC_ENCAP_NOT_DECODED;
    size_t hlen = GRE_BASE + (flags & GRE_C ? GRE_FIELD : 0) + (flags & GRE_K ? GRE_FIELD : 0) +
                  (flags & GRE_S ? GRE_FIELD : 0);
    if (hlen > c->wire)
        return TL_DEC_BAD_TUNNEL;
    if (!tl_cur_has(c, hlen))
        return TL_DEC_TRUNC_TUNNEL;
    if (flags & GRE_K) {
        out->tunnel.has_id = true;
        out->tunnel.id_shared = true;
        out->tunnel.id = tl_rd_be32(c->p + GRE_BASE + (flags & GRE_C ? GRE_FIELD : 0));
    }
    tl_cur_skip(c, hlen);
    switch (type) {
    case TYPE_ERSPAN_I_II:
        /* Type I has no ERSPAN header, and no sequence number. */
        out->tunnel.type = TL_TUN_ERSPAN;
        out->tunnel.has_id = false;
        out->tunnel.id_shared = false;
        out->tunnel.id = 0;
        if (!(flags & GRE_S))
            return tl_decode_ether(c, out, l3);
        return decode_erspan(c, false, out, l3);
    case TYPE_ERSPAN_III:
        out->tunnel.type = TL_TUN_ERSPAN;
        out->tunnel.has_id = false;
        out->tunnel.id_shared = false;
        out->tunnel.id = 0;
        return decode_erspan(c, true, out, l3);
    default: return tl_decode_inner_type(c, type, out, l3);
    }
}
