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

static inline uint32_t tl_rd_le32(const uint8_t *b)
{
    return ((uint32_t)b[3] << 24) | ((uint32_t)b[2] << 16) | ((uint32_t)b[1] << 8) | b[0];
}

/* Network layer to go on with after the link layer. */
enum tl_l3 { TL_L3_IPV4, TL_L3_IPV6, TL_L3_BY_VERSION };

/* IP protocol numbers the decoder goes on with. */
enum { TL_PROTO_ICMP = 1, TL_PROTO_TCP = 6, TL_PROTO_ICMP6 = 58 };

/* Each layer consumes its header and says what comes next or why it stops.
 * The IP layers stop with TL_DEC_OK at TCP, ICMP or ICMPv6 (*proto). */
enum tl_dec tl_decode_l2(struct tl_cur *c, int linktype, struct tl_pkt *out, enum tl_l3 *l3);
enum tl_dec tl_decode_ethertype(struct tl_cur *c, uint16_t type, struct tl_pkt *out,
                                enum tl_l3 *l3);
enum tl_dec tl_decode_ipv4(struct tl_cur *c, struct tl_pkt *out, uint8_t *proto);
enum tl_dec tl_decode_ipv6(struct tl_cur *c, struct tl_pkt *out, uint8_t *proto);
/* Walks IPv6 extension headers from next header *nh until TCP (or, with
 * icmp, ICMPv6); *nh is then that protocol. */
enum tl_dec tl_decode_v6_ext(struct tl_cur *c, uint8_t *nh, bool icmp);
/* The error after an ICMP (proto 1) or ICMPv6 (58) header: TL_DEC_ICMP with
 * out->icmp and the quoted segment filled in, or why the frame is skipped. */
enum tl_dec tl_decode_icmp(struct tl_cur *c, uint8_t proto, struct tl_pkt *out);
enum tl_dec tl_decode_tcp(struct tl_cur *c, struct tl_pkt *out);
void tl_decode_tcpopt(const uint8_t *opt, size_t len, struct tl_pkt *out);

#endif
