/*
 * Link types other than Ethernet's family: Cisco HDLC, PPP on serial
 * lines, FDDI, Linux NFLOG, 802.11 after radiotap. Rows of the
 * linktypes[] table in decode_l2.c.
 */
#include "tcplens/decode.h"

#include "decode_int.h"

/* Cisco HDLC: address (0x0f unicast, 0x8f broadcast), control, then an
 * ethertype. */
enum { CHDLC_LEN = 4, CHDLC_UNICAST = 0x0f, CHDLC_BROADCAST = 0x8f };

enum tl_dec tl_decode_chdlc(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    if (!tl_cur_has(c, CHDLC_LEN))
        return TL_DEC_TRUNC_L2;
    uint16_t type = tl_rd_be16(c->p + 2);
    tl_cur_skip(c, CHDLC_LEN);
    return tl_decode_ethertype(c, type, out, l3);
}

/* DLT_PPP_SERIAL: PPP in HDLC-like framing (FF 03), or Cisco HDLC
 * framing, told by the first byte. */
enum tl_dec tl_decode_ppp_serial(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    if (!tl_cur_has(c, 1))
        return TL_DEC_TRUNC_L2;
    if (c->p[0] == CHDLC_UNICAST || c->p[0] == CHDLC_BROADCAST)
        return tl_decode_chdlc(c, out, l3);
    return tl_decode_ppp(c, out, l3);
}

/* FDDI: frame control, destination and source addresses, then 802.2 LLC.
 * Only asynchronous LLC frames (frame control 0101 0PPP) carry IP; the
 * others are the ring's own (tokens, station management, MAC frames). */
enum { FDDI_LEN = 13, FDDI_FC_KIND = 0xf8, FDDI_FC_LLC = 0x50 };

enum tl_dec tl_decode_fddi(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    if (!tl_cur_has(c, FDDI_LEN))
        return TL_DEC_TRUNC_L2;
    if ((c->p[0] & FDDI_FC_KIND) != FDDI_FC_LLC)
        return TL_DEC_NOT_IP;
    tl_cur_skip(c, FDDI_LEN);
    return tl_decode_llc(c, out, l3);
}

/*
 * NFLOG (Linux's nfnetlink_log, tcpdump -i nflog:N): a 4-byte header
 * (address family, version, resource id), then TLVs, each a length
 * (counting its own 4 bytes) and a type, padded to 4 bytes; type 9 holds
 * the packet from its network header on. Length and type are in the
 * capturing host's byte order: the type, always below 256, tells which.
 */
enum {
    NFLOG_HDR = 4,
    NFLOG_TLV = 4,
    NFULA_PAYLOAD = 9,
    NFLOG_MAX_TLVS = 64,
    NLA_TYPE_MASK = 0x3fff
};
enum { NF_INET = 2, NF_ARP = 3, NF_INET6 = 10 };

enum tl_dec tl_decode_nflog(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    (void)out;
    if (!tl_cur_has(c, NFLOG_HDR))
        return TL_DEC_TRUNC_L2;
    uint8_t family = c->p[0];
    tl_cur_skip(c, NFLOG_HDR);
    for (int i = 0; i < NFLOG_MAX_TLVS; i++) {
        if (c->wire == 0)
            return TL_DEC_NOT_IP; /* no payload logged */
        if (!tl_cur_has(c, NFLOG_TLV))
            return c->wire < NFLOG_TLV ? TL_DEC_BAD_L2 : TL_DEC_TRUNC_L2;
        /* (The top two bits of a type are netlink's flags.) */
        bool le = (tl_rd_le16(c->p + 2) & NLA_TYPE_MASK) < 256;
        size_t len = le ? tl_rd_le16(c->p) : tl_rd_be16(c->p);
        uint16_t type = (le ? tl_rd_le16(c->p + 2) : tl_rd_be16(c->p + 2)) & NLA_TYPE_MASK;
        if (len < NFLOG_TLV || len > c->wire)
            return TL_DEC_BAD_L2;
        if (type == NFULA_PAYLOAD) {
            tl_cur_skip(c, NFLOG_TLV);
            tl_cur_clamp(c, len - NFLOG_TLV);
            switch (family) {
            case NF_INET: *l3 = TL_L3_IPV4; return TL_DEC_OK;
            case NF_INET6: *l3 = TL_L3_IPV6; return TL_DEC_OK;
            case NF_ARP: return TL_DEC_NOT_IP;
            default: *l3 = TL_L3_BY_VERSION; return TL_DEC_OK;
            }
        }
        /* The last TLV may go unpadded. */
        size_t padded = (len + 3) & ~(size_t)3;
        if (padded > c->wire)
            padded = len;
        if (!tl_cur_has(c, padded))
            return TL_DEC_TRUNC_L2;
        tl_cur_skip(c, padded);
    }
    return TL_DEC_BAD_L2;
}

/*
 * 802.11 data frames (IEEE 802.11-2020 section 9.3.2): frame control,
 * duration, three addresses, sequence control, a fourth address between
 * two distribution systems, QoS control in QoS data frames (and HT
 * control when the order bit is set), then LLC/SNAP. Management and
 * control frames, and data frames without a body (null), carry no IP.
 */
enum {
    WLAN_HDR = 24,
    WLAN_ADDR4 = 6,
    WLAN_QOS = 2,
    WLAN_HTC = 4,
    WLAN_TYPE_DATA = 2,
    WLAN_SUB_NODATA = 0x04, /* subtype bit: null, CF-ACK/poll without data */
    WLAN_SUB_QOS = 0x08,
    WLAN_TODS_FROMDS = 0x03, /* second byte of frame control */
    WLAN_PROTECTED = 0x40,
    WLAN_ORDER = 0x80,
    WLAN_QOS_AMSDU = 0x80, /* first byte of QoS control */
};

/* Radiotap's flags field: what they say of the 802.11 frame. */
enum { RT_FCS = 0x10, RT_DATAPAD = 0x20 };

static enum tl_dec decode_wlan(struct tl_cur *c, uint8_t rt_flags, struct tl_pkt *out,
                               enum tl_l3 *l3)
{
    if (rt_flags & RT_FCS) {
        /* The frame check sequence ends the frame: not payload. */
        if (c->wire < 4)
            return TL_DEC_BAD_L2;
        tl_cur_clamp(c, c->wire - 4);
    }
    if (!tl_cur_has(c, 2))
        return TL_DEC_TRUNC_L2;
    uint8_t fc0 = c->p[0], fc1 = c->p[1];
    uint8_t subtype = fc0 >> 4;
    if (((fc0 >> 2) & 3) != WLAN_TYPE_DATA || (subtype & WLAN_SUB_NODATA))
        return TL_DEC_NOT_IP;
    size_t hlen = WLAN_HDR;
    if ((fc1 & WLAN_TODS_FROMDS) == WLAN_TODS_FROMDS)
        hlen += WLAN_ADDR4;
    size_t qos = 0;
    if (subtype & WLAN_SUB_QOS) {
        qos = hlen;
        hlen += WLAN_QOS;
        if (fc1 & WLAN_ORDER)
            hlen += WLAN_HTC;
    }
    if (rt_flags & RT_DATAPAD)
        hlen = (hlen + 3) & ~(size_t)3;
    if (hlen > c->wire)
        return TL_DEC_BAD_L2;
    if (!tl_cur_has(c, hlen))
        return TL_DEC_TRUNC_L2;
    if (fc1 & WLAN_PROTECTED)
        return TL_DEC_ENCRYPTED;
    /* Several frames in one (A-MSDU), each with its own header: not
     * decoded. */
    if (qos != 0 && (c->p[qos] & WLAN_QOS_AMSDU))
        return TL_DEC_ENCAP_NOT_DECODED;
    tl_cur_skip(c, hlen);
    return tl_decode_llc(c, out, l3);
}

/*
 * Radiotap (radiotap.org): version 0, a pad byte, the header's length and
 * a bitmap of the fields present (more bitmaps follow while bit 31 is
 * set), then the fields, each aligned to its size. Only the flags field
 * (bit 1) matters here; the only field before it is the 8-byte TSFT.
 */
enum { RT_HDR = 8, RT_TSFT = 0x01, RT_FLAGS = 0x02, RT_EXT = 0x80000000u };

static uint8_t radiotap_flags(const uint8_t *h, size_t len)
{
    uint32_t present = tl_rd_le32(h + 4);
    size_t off = RT_HDR;
    for (uint32_t w = present; w & RT_EXT; off += 4) {
        if (off + 4 > len)
            return 0;
        w = tl_rd_le32(h + off);
    }
    if (!(present & RT_FLAGS))
        return 0;
    if (present & RT_TSFT)
        off = ((off + 7) & ~(size_t)7) + 8;
    return off < len ? h[off] : 0;
}

enum tl_dec tl_decode_radiotap(struct tl_cur *c, struct tl_pkt *out, enum tl_l3 *l3)
{
    if (!tl_cur_has(c, RT_HDR))
        return TL_DEC_TRUNC_L2;
    size_t len = tl_rd_le16(c->p + 2);
    if (c->p[0] != 0 || len < RT_HDR || len > c->wire)
        return TL_DEC_BAD_L2;
    if (!tl_cur_has(c, len))
        return TL_DEC_TRUNC_L2;
    uint8_t flags = radiotap_flags(c->p, len);
    tl_cur_skip(c, len);
    return decode_wlan(c, flags, out, l3);
}
