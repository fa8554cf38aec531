/* IPv4 (options, fragments) and IPv6 (extension-header chain). */
#include "tcplens/decode.h"

#include <string.h>

#include "decode_int.h"

enum {
    V6_HOPOPTS = 0,
    V6_ROUTING = 43,
    V6_FRAGMENT = 44,
    V6_ESP = 50,
    V6_AH = 51,
    V6_NONEXT = 59,
    V6_DSTOPTS = 60,
    V6_MOBILITY = 135,
    V6_HIP = 139,
    V6_SHIM6 = 140,
};

/* Real packets carry a handful of extension headers; a longer chain is a
 * crafted loop and is refused. */
#define MAX_V6_EXT 16

/* The largest IP datagram, once its fragments are put together. */
enum { IP_MAX_DATAGRAM = 65535 };

/*
 * Whether a fragment (its offset, its more-fragments bit, the protocol it
 * carries) is the first of a tunnel's datagram. GTP-U, VXLAN or GRE
 * packets of full size grow past the path's MTU and are fragmented on the
 * way; the first fragment holds every header down to the inner TCP one,
 * and the inner IP header says how long the inner packet is. That is all
 * the state machines need, so the segment is followed without putting
 * the fragments together. A fragment of plain TCP is not: its segment's
 * length is only known from the last fragment.
 */
static bool first_fragment_of_tunnel(uint16_t offset, bool more, uint8_t proto)
{
    return offset == 0 && more && proto != TL_PROTO_TCP && tl_proto_goes_on(proto, false);
}

/* Bounds the cursor to a datagram of tot bytes from here; a first
 * fragment's datagram goes on past what this frame holds, up to the
 * length the tunnel's own headers give. */
static void clamp_datagram(struct tl_cur *c, size_t tot, bool first_piece)
{
    if (!first_piece) {
        tl_cur_clamp(c, tot);
        return;
    }
    if (c->left > tot)
        c->left = tot;
    c->wire = IP_MAX_DATAGRAM;
}

enum tl_dec tl_decode_ipv4(struct tl_cur *c, struct tl_pkt *out, uint8_t *proto)
{
    if (!tl_cur_has(c, 20))
        return TL_DEC_TRUNC_IP;
    const uint8_t *h = c->p;
    if ((h[0] >> 4) != 4)
        return TL_DEC_BAD_IP_VERSION;
    size_t ihl = (size_t)(h[0] & 0x0f) * 4;
    /* Check the header length against its minimum before using it. */
    if (ihl < 20)
        return TL_DEC_BAD_IPV4_IHL;
    /* A header longer than the frame was on the wire lies (malformed); one
     * the snap length cut short is truncated. */
    if (ihl > c->wire)
        return TL_DEC_BAD_IPV4_IHL;
    if (!tl_cur_has(c, ihl))
        return TL_DEC_TRUNC_IP;
    size_t tot = tl_rd_be16(h + 2);
    if (tot == 0) {
        /* Segmentation offload on the capturing host leaves 0 here; the
         * frame's own length is all there is to go by. */
        out->quirks |= TL_QUIRK_IP_LEN_ZERO;
        tot = c->wire;
    }
    if (tot < ihl)
        return TL_DEC_BAD_IP_LEN;
    /* A total length beyond what was on the wire is a lie. */
    if (tot > c->wire)
        return TL_DEC_BAD_IP_LEN;
    if (tot < c->wire && !(out->quirks & TL_QUIRK_OUTER_FRAGMENT))
        out->quirks |= TL_QUIRK_L2_PADDING;
    uint16_t frag = tl_rd_be16(h + 6);
    bool first_piece = false;
    if ((frag & 0x2000) || (frag & 0x1fff)) {
        if (!first_fragment_of_tunnel(frag & 0x1fff, (frag & 0x2000) != 0, h[9]))
            return TL_DEC_FRAGMENT;
        first_piece = true;
        out->quirks |= TL_QUIRK_OUTER_FRAGMENT;
    }
    if (h[9] != TL_PROTO_TCP && !tl_proto_goes_on(h[9], false))
        return TL_DEC_NOT_TCP;
    *proto = h[9];
    out->ttl = h[8];
    out->src.family = TL_AF_INET;
    out->dst.family = TL_AF_INET;
    memcpy(out->src.b, h + 12, 4);
    memcpy(out->dst.b, h + 16, 4);
    out->ip4_hdr = h;
    out->ip4_hlen = (uint16_t)ihl;
    clamp_datagram(c, tot, first_piece);
    tl_cur_skip(c, ihl);
    return TL_DEC_OK;
}

/* Length of an extension header other than the fragment header, or 0 when
 * nh is not one we can walk. */
static size_t v6_ext_len(uint8_t nh, const uint8_t *h)
{
    switch (nh) {
    case V6_HOPOPTS:
    case V6_ROUTING:
    case V6_DSTOPTS:
    case V6_MOBILITY:
    case V6_HIP:
    case V6_SHIM6: return ((size_t)h[1] + 1) * 8;
    case V6_AH: return ((size_t)h[1] + 2) * 4;
    default: return 0;
    }
}

/* tl_decode_v6_ext(); *first_piece is set when a fragment header makes
 * this the first fragment of a tunnel's datagram. */
static enum tl_dec walk_v6_ext(struct tl_cur *c, uint8_t *nh, bool outer, bool *first_piece)
{
    for (int i = 0; i < MAX_V6_EXT; i++) {
        if (*nh == TL_PROTO_TCP || (outer && tl_proto_goes_on(*nh, true)))
            return TL_DEC_OK;
        if (*nh == V6_NONEXT || *nh == V6_ESP)
            return TL_DEC_NOT_TCP;
        if (!tl_cur_has(c, 8))
            return TL_DEC_TRUNC_IPV6_EXT;
        if (*nh == V6_FRAGMENT) {
            /* Offset and more-fragments both zero: an atomic fragment,
             * whole in itself (RFC 6946). Anything else is a piece; the
             * first of a tunnel's datagram is followed as in IPv4. */
            uint16_t frag = tl_rd_be16(c->p + 2);
            if (frag & 0xfff9) {
                if (!outer || !first_fragment_of_tunnel(frag >> 3, frag & 1u, c->p[0]))
                    return TL_DEC_FRAGMENT;
                *first_piece = true;
            }
            *nh = c->p[0];
            tl_cur_skip(c, 8);
            continue;
        }
        size_t len = v6_ext_len(*nh, c->p);
        if (len == 0)
            return TL_DEC_NOT_TCP;
        if (len > c->wire)
            return TL_DEC_BAD_IPV6_EXT;
        if (!tl_cur_has(c, len))
            return TL_DEC_TRUNC_IPV6_EXT;
        *nh = c->p[0];
        tl_cur_skip(c, len);
    }
    /* MAX_V6_EXT headers are allowed: TCP may still follow the last one. */
    return *nh == TL_PROTO_TCP || (outer && tl_proto_goes_on(*nh, true)) ? TL_DEC_OK
                                                                         : TL_DEC_BAD_IPV6_EXT;
}

enum tl_dec tl_decode_v6_ext(struct tl_cur *c, uint8_t *nh, bool outer)
{
    bool first_piece = false;
    return walk_v6_ext(c, nh, outer, &first_piece);
}

enum tl_dec tl_decode_ipv6(struct tl_cur *c, struct tl_pkt *out, uint8_t *proto)
{
    if (!tl_cur_has(c, 40))
        return TL_DEC_TRUNC_IP;
    const uint8_t *h = c->p;
    if ((h[0] >> 4) != 6)
        return TL_DEC_BAD_IP_VERSION;
    size_t plen = tl_rd_be16(h + 4);
    size_t wire_payload = c->wire >= 40 ? c->wire - 40 : 0;
    if (plen == 0) {
        /* Jumbogram or offload: go by the frame length. */
        out->quirks |= TL_QUIRK_IP_LEN_ZERO;
        plen = wire_payload;
    }
    if (plen > wire_payload)
        return TL_DEC_BAD_IP_LEN;
    if (plen < wire_payload && !(out->quirks & TL_QUIRK_OUTER_FRAGMENT))
        out->quirks |= TL_QUIRK_L2_PADDING;
    uint8_t nh = h[6];
    out->ttl = h[7];
    out->src.family = TL_AF_INET6;
    out->dst.family = TL_AF_INET6;
    memcpy(out->src.b, h + 8, 16);
    memcpy(out->dst.b, h + 24, 16);
    tl_cur_clamp(c, 40 + plen);
    tl_cur_skip(c, 40);
    bool first_piece = false;
    enum tl_dec r = walk_v6_ext(c, &nh, true, &first_piece);
    if (r == TL_DEC_OK && first_piece) {
        out->quirks |= TL_QUIRK_OUTER_FRAGMENT;
        c->wire = IP_MAX_DATAGRAM;
    }
    *proto = nh;
    return r;
}
