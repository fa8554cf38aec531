/* Link layers: Ethernet (802.1Q/QinQ, MPLS, PPPoE), Linux SLL/SLL2, NULL/LOOP, raw IP. */
#include "tcplens/decode.h"

#include "decode_int.h"

enum {
    ETH_IPV4 = 0x0800,
    ETH_IPV6 = 0x86dd,
    ETH_VLAN = 0x8100,
    ETH_QINQ = 0x88a8,
    ETH_QINQ_OLD = 0x9100,
    ETH_MPLS = 0x8847,
    ETH_MPLS_MC = 0x8848,
    ETH_PPPOE = 0x8864,
};

enum { PPP_IPV4 = 0x0021, PPP_IPV6 = 0x0057 };

/* Bound on stacked tags/labels: real stacks hold two or three; anything
 * deeper is hostile and would only cost time. */
#define MAX_STACK 8

static bool is_vlan(uint16_t type)
{
    return type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD;
}

/* MPLS: labels until bottom-of-stack, then IP told by its version nibble. */
static enum tl_dec decode_mpls(struct tl_cur *c, enum tl_l3 *l3)
{
    for (int i = 0; i < MAX_STACK; i++) {
        if (!tl_cur_has(c, 4))
            return TL_DEC_TRUNC_L2;
        bool bottom = (c->p[2] & 0x01) != 0;
        tl_cur_skip(c, 4);
        if (bottom) {
            *l3 = TL_L3_BY_VERSION;
            return TL_DEC_OK;
        }
    }
    return TL_DEC_NOT_IP;
}

/* PPPoE session: 6-byte header, then a 2-byte PPP protocol. */
static enum tl_dec decode_pppoe(struct tl_cur *c, enum tl_l3 *l3)
{
    if (!tl_cur_has(c, 8))
        return TL_DEC_TRUNC_L2;
    uint16_t proto = tl_rd_be16(c->p + 6);
    tl_cur_skip(c, 8);
    if (proto == PPP_IPV4)
        *l3 = TL_L3_IPV4;
    else if (proto == PPP_IPV6)
        *l3 = TL_L3_IPV6;
    else
        return TL_DEC_NOT_IP;
    return TL_DEC_OK;
}

enum tl_dec tl_decode_ethertype(struct tl_cur *c, uint16_t type, struct tl_pkt *out, enum tl_l3 *l3)
{
    for (int depth = 0; is_vlan(type); depth++) {
        /* A tag is 2 bytes of TCI and the next type. */
        if (depth == MAX_STACK)
            return TL_DEC_NOT_IP;
        if (!tl_cur_has(c, 4))
            return TL_DEC_TRUNC_L2;
        out->vlan = ((out->vlan << 12) | (tl_rd_be16(c->p) & 0x0fffu)) & 0xffffffu;
        type = tl_rd_be16(c->p + 2);
        tl_cur_skip(c, 4);
    }
    switch (type) {
    case ETH_IPV4: *l3 = TL_L3_IPV4; return TL_DEC_OK;
    case ETH_IPV6: *l3 = TL_L3_IPV6; return TL_DEC_OK;
    case ETH_MPLS:
    case ETH_MPLS_MC: return decode_mpls(c, l3);
    case ETH_PPPOE: return decode_pppoe(c, l3);
    default: return TL_DEC_NOT_IP;
    }
}

static enum tl_dec decode_ether(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    if (!tl_cur_has(c, 14))
        return TL_DEC_TRUNC_L2;
    uint16_t type = tl_rd_be16(c->p + 12);
    tl_cur_skip(c, 14);
    /* Values up to 1500 are 802.3 lengths (LLC follows), not ethertypes. */
    if (type <= 1500)
        return TL_DEC_NOT_IP;
    return tl_decode_ethertype(c, type, out, l3);
}

/* Linux "cooked" v1: 16 bytes, protocol last. */
static enum tl_dec decode_sll(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    if (!tl_cur_has(c, 16))
        return TL_DEC_TRUNC_L2;
    uint16_t proto = tl_rd_be16(c->p + 14);
    tl_cur_skip(c, 16);
    return tl_decode_ethertype(c, proto, out, l3);
}

/* Linux "cooked" v2: 20 bytes, protocol first. */
static enum tl_dec decode_sll2(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    if (!tl_cur_has(c, 20))
        return TL_DEC_TRUNC_L2;
    uint16_t proto = tl_rd_be16(c->p);
    tl_cur_skip(c, 20);
    return tl_decode_ethertype(c, proto, out, l3);
}

/* BSD loopback: a 4-byte address family. DLT_NULL stores it in the byte
 * order of the capturing host, so accept both; IPv6's value differs
 * between systems (Linux 10, BSDs 24, FreeBSD 28, macOS 30). */
static enum tl_dec decode_null(struct tl_cur *c, bool network_order, enum tl_l3 *l3)
{
    if (!tl_cur_has(c, 4))
        return TL_DEC_TRUNC_L2;
    uint32_t be = tl_rd_be32(c->p);
    uint32_t fam = network_order ? be : tl_rd_le32(c->p);
    if (!network_order && fam > 0xffff)
        fam = be;
    tl_cur_skip(c, 4);
    switch (fam) {
    case 2: *l3 = TL_L3_IPV4; return TL_DEC_OK;
    case 10:
    case 24:
    case 28:
    case 30: *l3 = TL_L3_IPV6; return TL_DEC_OK;
    default: return TL_DEC_NOT_IP;
    }
}

static enum tl_dec decode_null_host(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    (void)out;
    return decode_null(c, false, l3);
}

static enum tl_dec decode_loop(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    (void)out;
    return decode_null(c, true, l3);
}

/* No link header: the IP version tells (raw IP), or the link type does. */
static enum tl_dec decode_raw(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    (void)c;
    (void)out;
    *l3 = TL_L3_BY_VERSION;
    return TL_DEC_OK;
}

static enum tl_dec decode_ipv4(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    (void)c;
    (void)out;
    *l3 = TL_L3_IPV4;
    return TL_DEC_OK;
}

static enum tl_dec decode_ipv6(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    (void)c;
    (void)out;
    *l3 = TL_L3_IPV6;
    return TL_DEC_OK;
}

/* Every link type tcplens reads, in one table (as tcpdump's printers):
 * its DLT number, its name (pcap_datalink_val_to_name()'s), its decoder.
 * The commonest first: it is looked up for every frame. */
static const struct linktype {
    int dlt;
    const char *name;
    enum tl_dec (*decode)(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3);
} linktypes[] = {
    {TL_DLT_EN10MB, "EN10MB", decode_ether},     {TL_DLT_LINUX_SLL2, "LINUX_SLL2", decode_sll2},
    {TL_DLT_LINUX_SLL, "LINUX_SLL", decode_sll}, {TL_DLT_RAW, "RAW", decode_raw},
    {TL_DLT_NULL, "NULL", decode_null_host},     {TL_DLT_LOOP, "LOOP", decode_loop},
    {TL_DLT_IPV4, "IPV4", decode_ipv4},          {TL_DLT_IPV6, "IPV6", decode_ipv6},
    {TL_DLT_RAW_BSD, "RAW", decode_raw},         {TL_LINKTYPE_RAW, "RAW", decode_raw},
};

static const struct linktype *linktype_of(int dlt)
{
    for (size_t i = 0; i < sizeof linktypes / sizeof linktypes[0]; i++)
        if (linktypes[i].dlt == dlt)
            return &linktypes[i];
    return NULL;
}

enum tl_dec tl_decode_l2(struct tl_cur *c, int linktype, struct tl_pkt *out, enum tl_l3 *l3)
{
    const struct linktype *t = linktype_of(linktype);
    return t != NULL ? t->decode(c, out, l3) : TL_DEC_UNSUPPORTED_LINKTYPE;
}

const char *tl_decode_linktype_name(int linktype)
{
    const struct linktype *t = linktype_of(linktype);
    return t != NULL ? t->name : NULL;
}

bool tl_decode_linktype_supported(int linktype)
{
    return tl_decode_linktype_name(linktype) != NULL;
}
