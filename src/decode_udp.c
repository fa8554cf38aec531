/*
 * Tunnels carried in UDP, after the UDP header (decode_tunnel.c found
 * the port): VXLAN (RFC 7348), Geneve (RFC 8926), GTP-U (3GPP TS 29.281),
 * Teredo (RFC 4380) and L2TPv2 data (RFC 2661).
 */
#include "tcplens/decode.h"

#include "decode_int.h"

enum { VXLAN_HDR = 8, VXLAN_I = 0x08 };

/* VXLAN: flags (I: the VNI is valid), 24 reserved bits, the VNI, 8 more;
 * an Ethernet frame follows. */
enum tl_dec tl_decode_vxlan(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    if (c->wire < VXLAN_HDR)
        return TL_DEC_BAD_TUNNEL;
    if (!tl_cur_has(c, VXLAN_HDR))
        return TL_DEC_TRUNC_TUNNEL;
    if (c->p[0] & VXLAN_I) {
        out->tunnel.has_id = true;
        out->tunnel.id_shared = true;
        out->tunnel.id = tl_rd_be24(c->p + 4);
    }
    tl_cur_skip(c, VXLAN_HDR);
    return tl_decode_ether(c, out, l3);
}

enum { GENEVE_HDR = 8, GENEVE_OPT = 4 };

/* Geneve: version (0) and the options' length in 4-byte words, flags,
 * the payload's ethertype, the VNI; then the options, each a class, a
 * type and its own length in words. */
enum tl_dec tl_decode_geneve(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    if (c->wire < GENEVE_HDR)
        return TL_DEC_BAD_TUNNEL;
    if (!tl_cur_has(c, GENEVE_HDR))
        return TL_DEC_TRUNC_TUNNEL;
    const uint8_t *h = c->p;
    if ((h[0] >> 6) != 0)
        return TL_DEC_ENCAP_NOT_DECODED;
    size_t optlen = (size_t)(h[0] & 0x3f) * 4;
    uint16_t type = tl_rd_be16(h + 2);
    if (GENEVE_HDR + optlen > c->wire)
        return TL_DEC_BAD_TUNNEL;
    if (!tl_cur_has(c, GENEVE_HDR + optlen))
        return TL_DEC_TRUNC_TUNNEL;
    /* The options must fill their space exactly (both are whole words,
     * so at least one word is left whenever i < optlen). */
    for (size_t i = 0; i < optlen;) {
        size_t n = GENEVE_OPT + (size_t)(h[GENEVE_HDR + i + 3] & 0x1f) * 4;
        if (n > optlen - i)
            return TL_DEC_BAD_TUNNEL;
        i += n;
    }
    out->tunnel.has_id = true;
    out->tunnel.id = tl_rd_be24(h + 4);
    tl_cur_skip(c, GENEVE_HDR + optlen);
    return tl_decode_inner_type(c, type, out, l3);
}

/* GTP-U: version 1, protocol type 1 (not GTP'), flags E, S and PN (any
 * of them adds a sequence number, an N-PDU number and the next extension
 * header's type), the message type, the length of what follows the first
 * 8 bytes, the TEID. Extension headers give their length in 4-byte words,
 * their next type last. A G-PDU carries an IP packet. */
enum {
    GTP_HDR = 8,
    GTP_OPT = 4,
    GTP_PT = 0x10,
    GTP_E = 0x04,
    GTP_OPT_FLAGS = 0x07,
    GTP_GPDU = 0xff,
    GTP_MAX_EXT = 16,
};

static enum tl_dec gtp_ext(struct tl_cur *c, size_t *hlen, uint8_t next)
{
    for (int i = 0; next != 0; i++) {
        if (i == GTP_MAX_EXT)
            return TL_DEC_BAD_TUNNEL;
        if (*hlen + 1 > c->wire)
            return TL_DEC_BAD_TUNNEL;
        if (!tl_cur_has(c, *hlen + 1))
            return TL_DEC_TRUNC_TUNNEL;
        size_t n = (size_t)c->p[*hlen] * 4;
        if (n == 0 || *hlen + n > c->wire)
            return TL_DEC_BAD_TUNNEL;
        if (!tl_cur_has(c, *hlen + n))
            return TL_DEC_TRUNC_TUNNEL;
        next = c->p[*hlen + n - 1];
        *hlen += n;
    }
    return TL_DEC_OK;
}

enum tl_dec tl_decode_gtpu(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    if (c->wire < GTP_HDR)
        return TL_DEC_BAD_TUNNEL;
    if (!tl_cur_has(c, GTP_HDR))
        return TL_DEC_TRUNC_TUNNEL;
    const uint8_t *h = c->p;
    if ((h[0] >> 5) != 1 || !(h[0] & GTP_PT))
        return TL_DEC_ENCAP_NOT_DECODED;
    size_t len = GTP_HDR + tl_rd_be16(h + 2);
    if (len > c->wire)
        return TL_DEC_BAD_TUNNEL;
    out->tunnel.has_id = true;
    out->tunnel.id = tl_rd_be32(h + 4);
    /* Echo, error indication, end marker: signalling, no packet. */
    if (h[1] != GTP_GPDU)
        return TL_DEC_NOT_TCP;
    tl_cur_clamp(c, len);
    size_t hlen = GTP_HDR;
    if (h[0] & GTP_OPT_FLAGS) {
        hlen += GTP_OPT;
        if (hlen > c->wire)
            return TL_DEC_BAD_TUNNEL;
        if (!tl_cur_has(c, hlen))
            return TL_DEC_TRUNC_TUNNEL;
        if (h[0] & GTP_E) {
            enum tl_dec r = gtp_ext(c, &hlen, h[GTP_HDR + 3]);
            if (r != TL_DEC_OK)
                return r;
        }
    }
    tl_cur_skip(c, hlen);
    return tl_decode_ip_by_version(c, l3);
}

/* Teredo: an IPv6 packet, after an optional authentication indicator
 * (0x0001, the lengths of a client id and an authentication value, them,
 * an 8-byte nonce, a confirmation byte) and an optional origin indication
 * (0x0000, a port and an address, 8 bytes). */
enum {
    TEREDO_AUTH = 0x0001,
    TEREDO_ORIGIN = 0x0000,
    TEREDO_AUTH_FIXED = 13,
    TEREDO_ORIGIN_LEN = 8
};

enum tl_dec tl_decode_teredo(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    (void)out;
    /* An indicator's first byte is 0, an IPv6 header's 0x6_. */
    for (int i = 0; i < 2 && tl_cur_has(c, 1) && c->p[0] == 0; i++) {
        if (c->wire < 2)
            return TL_DEC_BAD_TUNNEL;
        if (!tl_cur_has(c, 2))
            return TL_DEC_TRUNC_TUNNEL;
        uint16_t ind = tl_rd_be16(c->p);
        size_t n;
        if (ind == TEREDO_AUTH && i == 0) {
            if (c->wire < 4)
                return TL_DEC_BAD_TUNNEL;
            if (!tl_cur_has(c, 4))
                return TL_DEC_TRUNC_TUNNEL;
            n = TEREDO_AUTH_FIXED + (size_t)c->p[2] + c->p[3];
        } else if (ind == TEREDO_ORIGIN) {
            n = TEREDO_ORIGIN_LEN;
            i = 1; /* the last indication */
        } else {
            return TL_DEC_ENCAP_NOT_DECODED;
        }
        if (n > c->wire)
            return TL_DEC_BAD_TUNNEL;
        if (!tl_cur_has(c, n))
            return TL_DEC_TRUNC_TUNNEL;
        tl_cur_skip(c, n);
    }
    enum tl_dec r = tl_decode_ip_by_version(c, l3);
    /* Only IPv6 travels in Teredo. */
    return r == TL_DEC_OK && *l3 != TL_L3_IPV6 ? TL_DEC_ENCAP_NOT_DECODED : r;
}

/* L2TPv2: flags and version (2); the length, Ns and Nr, and an offset
 * when flagged; tunnel and session ids. Data messages carry PPP; control
 * messages (T) carry none. */
enum {
    L2TP_T = 0x8000,
    L2TP_L = 0x4000,
    L2TP_S = 0x0800,
    L2TP_O = 0x0200,
    L2TP_VERSION = 0x000f,
};

enum tl_dec tl_decode_l2tp(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    if (c->wire < 2)
        return TL_DEC_BAD_TUNNEL;
    if (!tl_cur_has(c, 2))
        return TL_DEC_TRUNC_TUNNEL;
    uint16_t flags = tl_rd_be16(c->p);
    if ((flags & L2TP_VERSION) != 2)
        return TL_DEC_ENCAP_NOT_DECODED; /* L2TPv3, or not L2TP */
    if (flags & L2TP_T)
        return TL_DEC_NOT_TCP;
    size_t hlen = 2 + (flags & L2TP_L ? 2 : 0) + 4 + (flags & L2TP_S ? 4 : 0) +
                  (flags & L2TP_O ? 2 : 0);
    if (hlen > c->wire)
        return TL_DEC_BAD_TUNNEL;
    if (!tl_cur_has(c, hlen))
        return TL_DEC_TRUNC_TUNNEL;
    const uint8_t *h = c->p;
    size_t off = 2;
    if (flags & L2TP_L) {
        size_t len = tl_rd_be16(h + 2);
        if (len < hlen || len > c->wire)
            return TL_DEC_BAD_TUNNEL;
        tl_cur_clamp(c, len);
        off += 2;
    }
    out->tunnel.has_id = true;
    out->tunnel.id = tl_rd_be32(h + off); /* tunnel id, session id */
    if (flags & L2TP_O) {
        hlen += tl_rd_be16(h + hlen - 2);
        if (hlen > c->wire)
            return TL_DEC_BAD_TUNNEL;
        if (!tl_cur_has(c, hlen))
            return TL_DEC_TRUNC_TUNNEL;
    }
    tl_cur_skip(c, hlen);
    return tl_decode_ppp(c, out, l3);
}
