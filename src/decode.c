/* Decoder entry point: runs the layers in order and names the results. */
#include "tcplens/decode.h"

#include <string.h>

#include "decode_int.h"

struct dec_info {
    const char *name;
    enum tl_dec_class cls;
};

static const struct dec_info dec_info[] = {
    [TL_DEC_OK] = {"ok", TL_DEC_CLASS_NONE},
    [TL_DEC_UNSUPPORTED_LINKTYPE] = {"unsupported_linktype", TL_DEC_CLASS_NON_TCP},
    [TL_DEC_NOT_IP] = {"not_ip", TL_DEC_CLASS_NON_TCP},
    [TL_DEC_NOT_TCP] = {"not_tcp", TL_DEC_CLASS_NON_TCP},
    [TL_DEC_FRAGMENT] = {"ip_fragment", TL_DEC_CLASS_NON_TCP},
    [TL_DEC_TRUNC_L2] = {"truncated_link_header", TL_DEC_CLASS_TRUNCATED},
    [TL_DEC_TRUNC_IP] = {"truncated_ip_header", TL_DEC_CLASS_TRUNCATED},
    [TL_DEC_TRUNC_IPV6_EXT] = {"truncated_ipv6_ext_header", TL_DEC_CLASS_TRUNCATED},
    [TL_DEC_TRUNC_TCP] = {"truncated_tcp_header", TL_DEC_CLASS_TRUNCATED},
    [TL_DEC_BAD_CAPLEN] = {"caplen_exceeds_wirelen", TL_DEC_CLASS_MALFORMED},
    [TL_DEC_BAD_IP_VERSION] = {"bad_ip_version", TL_DEC_CLASS_MALFORMED},
    [TL_DEC_BAD_IPV4_IHL] = {"bad_ipv4_header_length", TL_DEC_CLASS_MALFORMED},
    [TL_DEC_BAD_IP_LEN] = {"bad_ip_total_length", TL_DEC_CLASS_MALFORMED},
    [TL_DEC_BAD_IPV6_EXT] = {"bad_ipv6_ext_header", TL_DEC_CLASS_MALFORMED},
    [TL_DEC_BAD_TCP_DOFF] = {"bad_tcp_data_offset", TL_DEC_CLASS_MALFORMED},
    [TL_DEC_TRUNC_ICMP] = {"truncated_icmp_quote", TL_DEC_CLASS_TRUNCATED},
    [TL_DEC_ICMP] = {"icmp_error", TL_DEC_CLASS_NONE},
    [TL_DEC_ENCAP_NOT_DECODED] = {"encapsulation_not_decoded", TL_DEC_CLASS_NON_TCP},
    [TL_DEC_TUNNEL_TOO_DEEP] = {"tunnel_too_deep", TL_DEC_CLASS_NON_TCP},
    [TL_DEC_ENCRYPTED] = {"encrypted", TL_DEC_CLASS_NON_TCP},
    [TL_DEC_TRUNC_UDP] = {"truncated_udp_header", TL_DEC_CLASS_TRUNCATED},
    [TL_DEC_TRUNC_TUNNEL] = {"truncated_tunnel_header", TL_DEC_CLASS_TRUNCATED},
    [TL_DEC_BAD_TUNNEL] = {"bad_tunnel_header", TL_DEC_CLASS_MALFORMED},
    [TL_DEC_BAD_L2] = {"bad_link_header", TL_DEC_CLASS_MALFORMED},
};
_Static_assert(sizeof dec_info / sizeof dec_info[0] == TL_DEC_NRESULTS,
               "every decode result has a name");

const char *tl_dec_name(enum tl_dec r)
{
    return (unsigned)r < TL_DEC_NRESULTS ? dec_info[r].name : "unknown";
}

enum tl_dec_class tl_dec_class(enum tl_dec r)
{
    return (unsigned)r < TL_DEC_NRESULTS ? dec_info[r].cls : TL_DEC_CLASS_MALFORMED;
}

static enum tl_dec decode_l3(struct tl_cur *c, enum tl_l3 l3, struct tl_pkt *out, uint8_t *proto)
{
    if (l3 == TL_L3_BY_VERSION) {
        if (!tl_cur_has(c, 1))
            return TL_DEC_TRUNC_IP;
        switch (c->p[0] >> 4) {
        case 4: l3 = TL_L3_IPV4; break;
        case 6: l3 = TL_L3_IPV6; break;
        default: return TL_DEC_BAD_IP_VERSION;
        }
    }
    return l3 == TL_L3_IPV4 ? tl_decode_ipv4(c, out, proto) : tl_decode_ipv6(c, out, proto);
}

/* What follows an IP header that is not TCP's: an ICMP error, or a tunnel
 * and the IP header inside it, as many times as tunnels nest (each one is
 * counted; tl_tunnel_enter() stops the loop past TL_TUNNEL_MAX_DEPTH). */
static enum tl_dec decode_beyond_ip(struct tl_cur *c, uint8_t proto,
                                    const struct tl_decode_cfg *cfg, struct tl_pkt *out)
{
    for (;;) {
        if (proto == TL_PROTO_ICMP || proto == TL_PROTO_ICMP6)
            return tl_decode_icmp(c, proto, out);
        enum tl_l3 l3;
        enum tl_dec r = tl_decode_tunnel(c, proto, cfg, out, &l3);
        if (r != TL_DEC_OK)
            return r;
        r = decode_l3(c, l3, out, &proto);
        if (r != TL_DEC_OK)
            return r;
        if (proto == TL_PROTO_TCP)
            return tl_decode_tcp(c, out);
    }
}

static inline enum tl_dec decode(const uint8_t *buf, size_t caplen, size_t wirelen, int linktype,
                                 const struct tl_decode_cfg *cfg, struct tl_pkt *out)
{
    /* A record claiming more captured bytes than were on the wire lies about
     * one of the two; trust neither. */
    if (caplen > wirelen)
        return TL_DEC_BAD_CAPLEN;
    memset(out, 0, sizeof *out);
    struct tl_cur c = {buf, caplen, wirelen};
    enum tl_l3 l3;
    enum tl_dec r = tl_decode_l2(&c, linktype, out, &l3);
    if (r != TL_DEC_OK)
        return r;
    uint8_t proto;
    r = decode_l3(&c, l3, out, &proto);
    if (r != TL_DEC_OK)
        return r;
    return proto == TL_PROTO_TCP ? tl_decode_tcp(&c, out) : decode_beyond_ip(&c, proto, cfg, out);
}

enum tl_dec tl_decode(const uint8_t *buf, size_t caplen, size_t wirelen, int linktype,
                      struct tl_pkt *out)
{
    return decode(buf, caplen, wirelen, linktype, &tl_decode_cfg_defaults, out);
}

enum tl_dec tl_decode_cfg(const uint8_t *buf, size_t caplen, size_t wirelen, int linktype,
                          const struct tl_decode_cfg *cfg, struct tl_pkt *out)
{
    return decode(buf, caplen, wirelen, linktype, cfg, out);
}

const char *tl_tcp_flags_str(uint8_t flags, char *buf, size_t size)
{
    static const char letters[] = "SFRPAUEC";
    static const uint8_t bits[] = {TL_TH_SYN, TL_TH_FIN, TL_TH_RST, TL_TH_PSH,
                                   TL_TH_ACK, TL_TH_URG, TL_TH_ECE, TL_TH_CWR};
    size_t n = 0;
    if (size == 0)
        return buf;
    for (size_t i = 0; i < sizeof bits && n + 1 < size; i++)
        if (flags & bits[i])
            buf[n++] = letters[i];
    buf[n] = '\0';
    return buf;
}
