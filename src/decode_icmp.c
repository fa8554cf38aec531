/*
 * ICMP (RFC 792, RFC 1191) and ICMPv6 (RFC 4443) errors that quote a TCP
 * segment: destination unreachable, time exceeded, parameter problem,
 * packet too big. An error quotes the IP header of the datagram it is
 * about and at least its first 8 bytes: for TCP the ports and the
 * sequence number, which is all that finds the connection and the segment
 * (Linux's tcp_v4_err() and tcp_v6_err() read no more). The quoted
 * lengths describe the original datagram, not the quote, so only what
 * was captured is trusted.
 */
#include "tcplens/decode.h"

#include <string.h>

#include "decode_int.h"

/* The ICMP header before the quote: type, code, checksum, 4 more bytes. */
#define ICMP_HDR 8
/* The quoted TCP header up to the sequence number, and up to the flags. */
#define QUOTE_MIN 8
#define QUOTE_FLAGS 14

/* Whether an ICMP (v6: ICMPv6) type is an error that quotes a datagram
 * TCP acts on. Redirects and source quench quote one too; Linux's TCP
 * ignores them, and so does this decoder. */
static bool is_error(uint8_t type, bool v6)
{
    if (v6)
        return type == TL_ICMP6_UNREACH || type == TL_ICMP6_TOO_BIG ||
               type == TL_ICMP6_TIME_EXCEEDED || type == TL_ICMP6_PARAM_PROBLEM;
    return type == TL_ICMP4_UNREACH || type == TL_ICMP4_TIME_EXCEEDED ||
           type == TL_ICMP4_PARAM_PROBLEM;
}

/* The quoted IPv4 header: addresses into out, cursor past it; *l4 the
 * original datagram's bytes after it (-1: its lengths do not add up). */
static enum tl_dec quoted_ipv4(struct tl_cur *c, struct tl_pkt *out, long *l4)
{
    if (!tl_cur_has(c, 20))
        return TL_DEC_TRUNC_ICMP;
    const uint8_t *h = c->p;
    size_t ihl = (size_t)(h[0] & 0x0f) * 4;
    if ((h[0] >> 4) != 4 || ihl < 20)
        return TL_DEC_BAD_IPV4_IHL;
    if (!tl_cur_has(c, ihl))
        return TL_DEC_TRUNC_ICMP;
    if (h[9] != TL_PROTO_TCP)
        return TL_DEC_NOT_TCP;
    /* A later fragment carries no TCP header. */
    if (tl_rd_be16(h + 6) & 0x1fff)
        return TL_DEC_FRAGMENT;
    out->src.family = out->dst.family = TL_AF_INET;
    memcpy(out->src.b, h + 12, 4);
    memcpy(out->dst.b, h + 16, 4);
    size_t tot = tl_rd_be16(h + 2);
    *l4 = tot >= ihl ? (long)(tot - ihl) : -1;
    tl_cur_skip(c, ihl);
    return TL_DEC_OK;
}

/* The quoted IPv6 header and its extension headers; *l4 as above. */
static enum tl_dec quoted_ipv6(struct tl_cur *c, struct tl_pkt *out, long *l4)
{
    if (!tl_cur_has(c, 40))
        return TL_DEC_TRUNC_ICMP;
    const uint8_t *h = c->p;
    if ((h[0] >> 4) != 6)
        return TL_DEC_BAD_IP_VERSION;
    uint8_t nh = h[6];
    out->src.family = out->dst.family = TL_AF_INET6;
    memcpy(out->src.b, h + 8, 16);
    memcpy(out->dst.b, h + 24, 16);
    size_t plen = tl_rd_be16(h + 4);
    tl_cur_skip(c, 40);
    size_t before = c->left;
    enum tl_dec r = tl_decode_v6_ext(c, &nh, false);
    size_t ext = before - c->left;
    *l4 = plen >= ext ? (long)(plen - ext) : -1;
    /* A quote cut inside its extension headers is a short quote. */
    return r == TL_DEC_TRUNC_IPV6_EXT ? TL_DEC_TRUNC_ICMP : r;
}

/* The quoted TCP header, as far as it was quoted; l4 the segment's length
 * by its IP header (-1: unknown), which with the data offset gives its
 * payload length. */
static enum tl_dec quoted_tcp(struct tl_cur *c, long l4, struct tl_pkt *out)
{
    if (!tl_cur_has(c, QUOTE_MIN))
        return TL_DEC_TRUNC_ICMP;
    const uint8_t *t = c->p;
    out->sport = tl_rd_be16(t);
    out->dport = tl_rd_be16(t + 2);
    out->seq = tl_rd_be32(t + 4);
    if (tl_cur_has(c, QUOTE_FLAGS)) {
        out->ack = tl_rd_be32(t + 8);
        out->flags = t[13];
        out->icmp.has_flags = true;
        long doff = (long)(t[12] >> 4) * 4;
        if (doff >= 20 && l4 >= doff) {
            out->payload_len = (uint32_t)(l4 - doff);
            out->icmp.has_len = true;
        }
    }
    return TL_DEC_OK;
}

enum tl_dec tl_decode_icmp(struct tl_cur *c, uint8_t proto, struct tl_pkt *out)
{
    bool v6 = proto == TL_PROTO_ICMP6;
    if (!tl_cur_has(c, ICMP_HDR))
        return tl_cur_has(c, 1) && !is_error(c->p[0], v6) ? TL_DEC_NOT_TCP : TL_DEC_TRUNC_ICMP;
    const uint8_t *h = c->p;
    if (!is_error(h[0], v6))
        return TL_DEC_NOT_TCP;
    struct tl_icmp *ic = &out->icmp;
    ic->from = out->src;
    ic->type = h[0];
    ic->code = h[1];
    ic->v6 = v6;
    if (v6 && h[0] == TL_ICMP6_TOO_BIG)
        ic->mtu = tl_rd_be32(h + 4);
    else if (!v6 && h[0] == TL_ICMP4_UNREACH && h[1] == TL_ICMP4_FRAG_NEEDED)
        ic->mtu = tl_rd_be16(h + 6);
    tl_cur_skip(c, ICMP_HDR);
    /* From here on the packet is the quoted segment's, not the error's. */
    out->ip4_hdr = NULL;
    out->ip4_hlen = 0;
    long l4 = -1;
    enum tl_dec r = v6 ? quoted_ipv6(c, out, &l4) : quoted_ipv4(c, out, &l4);
    if (r == TL_DEC_OK)
        r = quoted_tcp(c, l4, out);
    return r == TL_DEC_OK ? TL_DEC_ICMP : r;
}
