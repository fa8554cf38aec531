/*
 * Link layers: Ethernet (802.1Q/QinQ, 802.1ah PBB, VN-Tag, FabricPath,
 * 802.3 with LLC/SNAP, MPLS, PPPoE), Linux SLL/SLL2, NULL/LOOP, raw IP,
 * and the table of every link type (the rest in decode_link.c).
 */
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
    ETH_PBB = 0x88e7,        /* 802.1ah I-TAG: service id, customer MACs */
    ETH_VNTAG = 0x8926,      /* Cisco VN-Tag (802.1Qbh) */
    ETH_FABRICPATH = 0x8903, /* Cisco FabricPath: the frame's own MACs follow */
    ETH_MAX_LENGTH = 1500,   /* up to here an 802.3 length: LLC follows */
};

enum {
    PPP_IPV4 = 0x0021,
    PPP_IPV6 = 0x0057,
    PPP_MPLS = 0x0281,
    PPP_MPLS_MC = 0x0283,
};

/* Header lengths after the type that announced them, the next type last. */
enum {
    VLAN_LEN = 4,        /* TCI, type */
    PBB_LEN = 18,        /* I-TAG (4), customer destination and source MACs, type */
    VNTAG_LEN = 6,       /* tag (4), type */
    FABRICPATH_LEN = 16, /* FTag and TTL (2), the frame's MACs, type */
    SNAP_LEN = 8,        /* AA AA 03, OUI (3), type */
};

/* Bound on stacked tags/labels: real stacks hold two or three; anything
 * deeper is hostile and would only cost time. */
#define MAX_STACK 8

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

/* What a PPP protocol number announces. */
static enum tl_dec ppp_proto(struct tl_cur *c, uint16_t proto, enum tl_l3 *l3)
{
    switch (proto) {
    case PPP_IPV4: *l3 = TL_L3_IPV4; return TL_DEC_OK;
    case PPP_IPV6: *l3 = TL_L3_IPV6; return TL_DEC_OK;
    case PPP_MPLS:
    case PPP_MPLS_MC: return decode_mpls(c, l3);
    default: return TL_DEC_NOT_IP;
    }
}

/* A PPP protocol field: two bytes, or one when compressed (RFC 1661
 * section 6.5: an odd first byte is a whole protocol number). */
static enum tl_dec ppp_proto_field(struct tl_cur *c, enum tl_l3 *l3)
{
    if (!tl_cur_has(c, 1))
        return TL_DEC_TRUNC_L2;
    uint16_t proto = c->p[0];
    if ((proto & 1) != 0) {
        tl_cur_skip(c, 1);
    } else {
        if (!tl_cur_has(c, 2))
            return TL_DEC_TRUNC_L2;
        proto = tl_rd_be16(c->p);
        tl_cur_skip(c, 2);
    }
    return ppp_proto(c, proto, l3);
}

enum tl_dec tl_decode_ppp(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    (void)out;
    /* RFC 1662's address and control fields, unless compressed away. */
    if (tl_cur_has(c, 1) && c->p[0] == 0xff) {
        if (!tl_cur_has(c, 2))
            return TL_DEC_TRUNC_L2;
        if (c->p[1] != 0x03)
            return TL_DEC_NOT_IP;
        tl_cur_skip(c, 2);
    }
    return ppp_proto_field(c, l3);
}

/* PPPoE session: a 6-byte header, then PPP's protocol (no FF 03). */
static enum tl_dec decode_pppoe(struct tl_cur *c, enum tl_l3 *l3)
{
    if (!tl_cur_has(c, 6))
        return TL_DEC_TRUNC_L2;
    tl_cur_skip(c, 6);
    return ppp_proto_field(c, l3);
}

/* 802.2 LLC after an 802.3 length: SNAP (AA AA 03) with the RFC 1042 or
 * 802.1H OUI carries an ethertype, written to *type; other LLC is not IP. */
static enum tl_dec decode_llc(struct tl_cur *c, uint16_t *type)
{
    if (!tl_cur_has(c, 3))
        return TL_DEC_TRUNC_L2;
    const uint8_t *h = c->p;
    if (h[0] != 0xaa || h[1] != 0xaa || h[2] != 0x03)
        return TL_DEC_NOT_IP;
    if (!tl_cur_has(c, SNAP_LEN))
        return TL_DEC_TRUNC_L2;
    uint32_t oui = tl_rd_be24(h + 3);
    if (oui != 0x000000 && oui != 0x0000f8)
        return TL_DEC_NOT_IP;
    *type = tl_rd_be16(h + 6);
    tl_cur_skip(c, SNAP_LEN);
    return TL_DEC_OK;
}

enum tl_dec tl_decode_llc(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    uint16_t type;
    enum tl_dec r = decode_llc(c, &type);
    return r != TL_DEC_OK ? r : tl_decode_ethertype(c, type, out, l3);
}

/* Length of the tag or header that type announces, which ends with the
 * next type; 0 when type announces none. */
static size_t tag_len(uint16_t type)
{
    switch (type) {
    case ETH_VLAN:
    case ETH_QINQ:
    case ETH_QINQ_OLD: return VLAN_LEN;
    case ETH_PBB: return PBB_LEN;
    case ETH_VNTAG: return VNTAG_LEN;
    case ETH_FABRICPATH: return FABRICPATH_LEN;
    default: return 0;
    }
}

bool tl_ethertype_known(uint16_t type)
{
    return type == ETH_IPV4 || type == ETH_IPV6 || tag_len(type) != 0 || type == ETH_MPLS ||
           type == ETH_MPLS_MC || type == ETH_PPPOE;
}

enum tl_dec tl_decode_ethertype(struct tl_cur *c, uint16_t type, struct tl_pkt *out, enum tl_l3 *l3)
{
    for (int depth = 0;; depth++) {
        /* IP first: an untagged frame pays two compares. */
        if (type == ETH_IPV4) {
            *l3 = TL_L3_IPV4;
            return TL_DEC_OK;
        }
        if (type == ETH_IPV6) {
            *l3 = TL_L3_IPV6;
            return TL_DEC_OK;
        }
        if (depth == MAX_STACK)
            return TL_DEC_NOT_IP;
        size_t n = tag_len(type);
        if (n != 0) {
            if (!tl_cur_has(c, n))
                return TL_DEC_TRUNC_L2;
            if (n == VLAN_LEN)
                out->vlan = ((out->vlan << 12) | (tl_rd_be16(c->p) & 0x0fffu)) & 0xffffffu;
            type = tl_rd_be16(c->p + n - 2);
            tl_cur_skip(c, n);
            continue;
        }
        switch (type) {
        case ETH_MPLS:
        case ETH_MPLS_MC: return decode_mpls(c, l3);
        case ETH_PPPOE: return decode_pppoe(c, l3);
        default: break;
        }
        if (type > ETH_MAX_LENGTH)
            return TL_DEC_NOT_IP;
        enum tl_dec r = decode_llc(c, &type);
        if (r != TL_DEC_OK)
            return r;
    }
}

enum tl_dec tl_decode_ether(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    if (!tl_cur_has(c, 14))
        return TL_DEC_TRUNC_L2;
    uint16_t type = tl_rd_be16(c->p + 12);
    tl_cur_skip(c, 14);
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
    /* clang-format off */
    {TL_DLT_EN10MB, "EN10MB", tl_decode_ether},
    {TL_DLT_LINUX_SLL2, "LINUX_SLL2", decode_sll2},
    {TL_DLT_LINUX_SLL, "LINUX_SLL", decode_sll},
    {TL_DLT_RAW, "RAW", decode_raw},
    {TL_DLT_NULL, "NULL", decode_null_host},
    {TL_DLT_LOOP, "LOOP", decode_loop},
    {TL_DLT_IPV4, "IPV4", decode_ipv4},
    {TL_DLT_IPV6, "IPV6", decode_ipv6},
    {TL_DLT_RAW_BSD, "RAW", decode_raw},
    {TL_LINKTYPE_RAW, "RAW", decode_raw},
    {TL_DLT_NFLOG, "NFLOG", tl_decode_nflog},
    {TL_DLT_IEEE802_11_RADIO, "IEEE802_11_RADIO", tl_decode_radiotap},
    {TL_DLT_PPP, "PPP", tl_decode_ppp},
    {TL_DLT_PPP_SERIAL, "PPP_SERIAL", tl_decode_ppp_serial},
    {TL_DLT_C_HDLC, "C_HDLC", tl_decode_chdlc},
    {TL_DLT_FDDI, "FDDI", tl_decode_fddi},
    /* clang-format on */
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
