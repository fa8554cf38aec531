/*
 * Packet decoder: link layer, IPv4/IPv6, TCP and its options.
 * It knows nothing of libpcap: it takes bytes, their captured and wire
 * lengths and a DLT_* link type, so fuzzers and tests need no files.
 * Every read is bounds-checked; nothing is allocated.
 */
#ifndef TCPLENS_DECODE_H
#define TCPLENS_DECODE_H

#include "tcplens/types.h"

/* Link types (DLT_* values as libpcap reports them on Linux). */
enum {
    TL_DLT_NULL = 0,
    TL_DLT_EN10MB = 1,
    TL_DLT_PPP = 9,         /* PPP, with or without the HDLC-like FF 03 */
    TL_DLT_FDDI = 10,       /* FDDI, LLC/SNAP after its 13-byte header */
    TL_DLT_RAW = 12,        /* LINKTYPE_RAW (101) maps here on Linux */
    TL_DLT_RAW_BSD = 14,    /* OpenBSD's DLT_RAW */
    TL_DLT_PPP_SERIAL = 50, /* PPP in HDLC-like framing, or Cisco HDLC */
    TL_LINKTYPE_RAW = 101,  /* the file format's number, should a reader hand it over */
    TL_DLT_C_HDLC = 104,    /* Cisco HDLC */
    TL_DLT_LOOP = 108,
    TL_DLT_LINUX_SLL = 113,
    TL_DLT_IEEE802_11_RADIO = 127, /* 802.11 after a radiotap header */
    TL_DLT_IPV4 = 228,
    TL_DLT_IPV6 = 229,
    TL_DLT_NFLOG = 239, /* Linux NFLOG: TLVs, the packet in type 9 */
    TL_DLT_LINUX_SLL2 = 276,
};

/* TCP flag bits, as in the header. */
enum {
    TL_TH_FIN = 0x01,
    TL_TH_SYN = 0x02,
    TL_TH_RST = 0x04,
    TL_TH_PSH = 0x08,
    TL_TH_ACK = 0x10,
    TL_TH_URG = 0x20,
    TL_TH_ECE = 0x40,
    TL_TH_CWR = 0x80,
};

/*
 * Decode results. Each one but OK is a reason a frame is skipped; the
 * report counts them by reason (tl_dec_name) and by class (tl_dec_class).
 */
enum tl_dec {
    TL_DEC_OK = 0,
    TL_DEC_UNSUPPORTED_LINKTYPE,
    TL_DEC_NOT_IP,
    TL_DEC_NOT_TCP,
    TL_DEC_FRAGMENT,
    TL_DEC_TRUNC_L2,
    TL_DEC_TRUNC_IP,
    TL_DEC_TRUNC_IPV6_EXT,
    TL_DEC_TRUNC_TCP,
    TL_DEC_BAD_CAPLEN,
    TL_DEC_BAD_IP_VERSION,
    TL_DEC_BAD_IPV4_IHL,
    TL_DEC_BAD_IP_LEN,
    TL_DEC_BAD_IPV6_EXT,
    TL_DEC_BAD_TCP_DOFF,
    TL_DEC_TRUNC_ICMP, /* an ICMP error too short to name its TCP segment */
    /* Not a skip: an ICMP or ICMPv6 error quoting a TCP segment, which
     * *out then describes (tl_pkt.icmp). */
    TL_DEC_ICMP,
    /* Tunnels and encapsulations (tl_pkt.tunnel). */
    TL_DEC_ENCAP_NOT_DECODED, /* a tunnel whose payload tcplens does not decode */
    TL_DEC_TUNNEL_TOO_DEEP,   /* more than TL_TUNNEL_MAX_DEPTH tunnels nested */
    TL_DEC_ENCRYPTED,         /* IPsec ESP, a protected 802.11 frame */
    TL_DEC_TRUNC_UDP,         /* a UDP header cut short */
    TL_DEC_TRUNC_TUNNEL,      /* a tunnel header cut short */
    TL_DEC_BAD_TUNNEL,        /* a tunnel header whose lengths lie */
    TL_DEC_BAD_L2,            /* a link header whose lengths lie */
    TL_DEC_NRESULTS
};

enum tl_dec_class {
    TL_DEC_CLASS_NONE = 0,
    TL_DEC_CLASS_NON_TCP,
    TL_DEC_CLASS_MALFORMED,
    TL_DEC_CLASS_TRUNCATED,
};

/* Stable snake_case id of a result, e.g. "bad_tcp_data_offset". */
const char *tl_dec_name(enum tl_dec r);
enum tl_dec_class tl_dec_class(enum tl_dec r);

/* Oddities that do not stop decoding (bit set in tl_pkt.quirks). */
enum {
    TL_QUIRK_TCPOPT_BAD = 1u << 0,  /* an option's length ran past the header */
    TL_QUIRK_IP_LEN_ZERO = 1u << 1, /* IPv4 total length 0 (segmentation offload) */
    TL_QUIRK_L2_PADDING = 1u << 2,  /* frame longer than the IP datagram */
    /* The first fragment of a tunnel's datagram: the inner packet goes on
     * in fragments not seen here; its headers are all in this one. */
    TL_QUIRK_OUTER_FRAGMENT = 1u << 3,
};

#define TL_MAX_SACK_BLOCKS 4

/* ICMP and ICMPv6 message types that quote a segment. */
enum {
    TL_ICMP4_UNREACH = 3,
    TL_ICMP4_TIME_EXCEEDED = 11,
    TL_ICMP4_PARAM_PROBLEM = 12,
    TL_ICMP4_FRAG_NEEDED = 4, /* a code of TL_ICMP4_UNREACH */
    TL_ICMP6_UNREACH = 1,
    TL_ICMP6_TOO_BIG = 2,
    TL_ICMP6_TIME_EXCEEDED = 3,
    TL_ICMP6_PARAM_PROBLEM = 4,
};

/* An ICMP or ICMPv6 error about a TCP segment (TL_DEC_ICMP). The tl_pkt
 * around it describes the segment it quotes: addresses, ports and sequence
 * number always; the acknowledgment number and flags only when the quote
 * reaches them (has_flags). */
struct tl_icmp {
    struct tl_addr from; /* who sent the error: the destination or a router */
    uint8_t type, code;  /* as on the wire, ICMP or ICMPv6 (v6) */
    bool v6;
    bool has_flags;
    bool has_len; /* the quote tells the segment's payload length (tl_pkt.payload_len) */
    uint32_t mtu; /* fragmentation needed, packet too big: the next hop's MTU */
};

struct tl_tcpopt {
    bool has_mss, has_wscale, sack_permitted, has_ts;
    uint16_t mss;
    uint8_t wscale;
    uint8_t nsack;
    uint32_t tsval, tsecr;
    uint32_t sack[TL_MAX_SACK_BLOCKS][2]; /* left, right edges */
};

/* Tunnels and encapsulations a segment can arrive in (tl_pkt.tunnel). */
enum tl_tunnel_type {
    TL_TUN_NONE = 0,
    TL_TUN_VXLAN,
    TL_TUN_GENEVE,
    TL_TUN_GRE,
    TL_TUN_ERSPAN,
    TL_TUN_IPIP, /* IPv4 or IPv6 in IPv4 or IPv6 (4in4, 6in4 "sit", 4in6, 6in6) */
    TL_TUN_GTPU,
    TL_TUN_TEREDO,
    TL_TUN_L2TP,
    TL_TUN_NTYPES
};

/* The innermost tunnel the segment came through: its type, its outer
 * addresses and its id (VXLAN or Geneve VNI, GRE key, ERSPAN session,
 * GTP-U TEID, L2TP session), so that two tenants' identical inner
 * addresses stay apart. type TL_TUN_NONE: no tunnel, the rest zero. */
struct tl_tunnel {
    uint8_t type;  /* enum tl_tunnel_type */
    uint8_t depth; /* tunnels crossed, the innermost counted */
    bool has_id;
    /* The id is the same both ways and names a tenant (VXLAN's VNI, a GRE
     * key): it is part of the connection's key. The others are chosen by
     * each end or per direction (GTP-U TEIDs, L2TP and PPTP ids, Geneve
     * VNIs as gateways use them) and would split a connection in two. */
    bool id_shared;
    uint32_t id;
    struct tl_addr outer_src, outer_dst;
};

/* Nested tunnels decoded at most; a segment deeper in is skipped
 * (TL_DEC_TUNNEL_TOO_DEEP). Inside a tunnel, src, dst, ttl, ip4_hdr and the
 * TCP fields are the inner packet's; vlan goes on counting tags, the outer
 * frame's first (the last two kept); quirks gather every layer's. */
#define TL_TUNNEL_MAX_DEPTH 4

/* UDP ports of one tunnel type at most. */
#define TL_DECODE_MAX_PORTS 4

/* What the decoder looks into. tl_decode() uses tl_decode_cfg_default()'s. */
struct tl_decode_cfg {
    /* The UDP ports of each tunnel type carried in UDP (VXLAN, Geneve,
     * GTP-U, Teredo, L2TP), 0 for none: a datagram to one of them (or
     * else from one) is decoded as that tunnel; other UDP is not_tcp. */
    uint16_t udp_ports[TL_TUN_NTYPES][TL_DECODE_MAX_PORTS];
};

/* Fills *cfg with the defaults: VXLAN 4789 and 8472 (Linux's old
 * default), Geneve 6081, GTP-U 2152, Teredo 3544, L2TP 1701. */
void tl_decode_cfg_default(struct tl_decode_cfg *cfg);

/* A decoded TCP segment. Pointers borrow the caller's buffer. */
struct tl_pkt {
    struct tl_addr src, dst;
    uint32_t vlan; /* 802.1Q id, (outer << 12 | inner) for QinQ; 0 = none */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint16_t win;            /* raw, unscaled */
    uint8_t flags;           /* TL_TH_* */
    uint8_t quirks;          /* TL_QUIRK_* */
    uint8_t ttl;             /* IPv4 TTL or IPv6 hop limit */
    uint32_t payload_len;    /* TCP payload on the wire (from IP lengths) */
    uint32_t payload_caplen; /* how much of it was captured */
    const uint8_t *payload;
    /* Headers as captured, for checksum checks (Zeek without -C). */
    const uint8_t *ip4_hdr; /* IPv4 header, ip4_hlen bytes; NULL for IPv6 */
    const uint8_t *tcp_hdr; /* TCP header, tcp_hlen bytes, then the payload */
    uint16_t ip4_hlen, tcp_hlen;
    struct tl_tcpopt opt;
    struct tl_icmp icmp; /* TL_DEC_ICMP only */
    struct tl_tunnel tunnel;
};

/*
 * Decodes one frame. On TL_DEC_OK *out describes a TCP segment; on
 * TL_DEC_ICMP an ICMP error and the segment it quotes; otherwise *out is
 * unspecified and the result says why the frame was skipped.
 * buf is borrowed until return (payload points into it).
 */
enum tl_dec tl_decode(const uint8_t *buf, size_t caplen, size_t wirelen, int linktype,
                      struct tl_pkt *out);

/* tl_decode() with the tunnels' UDP ports of *cfg. */
enum tl_dec tl_decode_cfg(const uint8_t *buf, size_t caplen, size_t wirelen, int linktype,
                          const struct tl_decode_cfg *cfg, struct tl_pkt *out);

/* True when tl_decode understands frames of this DLT_* link type. */
bool tl_decode_linktype_supported(int linktype);

/* "EN10MB"-style name of a supported link type, else NULL. */
const char *tl_decode_linktype_name(int linktype);

/* Flag letters in the order S F R P A U E C ("SA", "FA", "R"), written to
 * buf (size >= 9); "" when no flag is set. */
const char *tl_tcp_flags_str(uint8_t flags, char *buf, size_t size);

#endif
