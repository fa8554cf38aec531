/* TCP header and options (RFC 9293 section 3.1, RFC 7323, RFC 2018). */
#include "tcplens/decode.h"

#include "decode_int.h"

enum {
    OPT_EOL = 0,
    OPT_NOP = 1,
    OPT_MSS = 2,
    OPT_WSCALE = 3,
    OPT_SACK_PERMITTED = 4,
    OPT_SACK = 5,
    OPT_TIMESTAMP = 8,
};

/* Reads one option whose length has been checked to fit. */
static void read_option(uint8_t kind, const uint8_t *v, size_t len, struct tl_tcpopt *o)
{
    switch (kind) {
    case OPT_MSS:
        if (len == 4) {
            o->has_mss = true;
            o->mss = tl_rd_be16(v + 2);
        }
        break;
    case OPT_WSCALE:
        if (len == 3) {
            o->has_wscale = true;
            o->wscale = v[2];
        }
        break;
    case OPT_SACK_PERMITTED: o->sack_permitted = len == 2; break;
    case OPT_SACK:
        for (size_t off = 2; off + 8 <= len && o->nsack < TL_MAX_SACK_BLOCKS; off += 8) {
            o->sack[o->nsack][0] = tl_rd_be32(v + off);
            o->sack[o->nsack][1] = tl_rd_be32(v + off + 4);
            o->nsack++;
        }
        break;
    case OPT_TIMESTAMP:
        if (len == 10) {
            o->has_ts = true;
            o->tsval = tl_rd_be32(v + 2);
            o->tsecr = tl_rd_be32(v + 6);
        }
        break;
    default: break;
    }
}

void tl_decode_tcpopt(const uint8_t *opt, size_t len, struct tl_pkt *out)
{
    size_t i = 0;
    while (i < len) {
        uint8_t kind = opt[i];
        if (kind == OPT_EOL)
            return;
        if (kind == OPT_NOP) {
            i++;
            continue;
        }
        /* Every other option has a length byte, which counts itself and the
         * kind: below 2 it would loop forever, beyond the header it lies. */
        if (i + 1 >= len || opt[i + 1] < 2 || opt[i + 1] > len - i) {
            out->quirks |= TL_QUIRK_TCPOPT_BAD;
            return;
        }
        size_t olen = opt[i + 1];
        read_option(kind, opt + i, olen, &out->opt);
        i += olen;
    }
}

enum tl_dec tl_decode_tcp(struct tl_cur *c, struct tl_pkt *out)
{
    /* The IP layer has clamped c->wire to the segment's length on the wire. */
    if (c->wire < 20)
        return TL_DEC_BAD_IP_LEN;
    if (!tl_cur_has(c, 20))
        return TL_DEC_TRUNC_TCP;
    const uint8_t *h = c->p;
    size_t doff = (size_t)(h[12] >> 4) * 4;
    /* Check the data offset against its minimum before using it. */
    if (doff < 20 || doff > c->wire)
        return TL_DEC_BAD_TCP_DOFF;
    if (!tl_cur_has(c, doff))
        return TL_DEC_TRUNC_TCP;
    out->sport = tl_rd_be16(h);
    out->dport = tl_rd_be16(h + 2);
    out->seq = tl_rd_be32(h + 4);
    out->ack = tl_rd_be32(h + 8);
    out->flags = h[13];
    out->win = tl_rd_be16(h + 14);
    out->tcp_hdr = h;
    out->tcp_hlen = (uint16_t)doff;
    tl_decode_tcpopt(h + 20, doff - 20, out);
    tl_cur_skip(c, doff);
    out->payload_len = (uint32_t)c->wire;
    out->payload_caplen = (uint32_t)(c->left < c->wire ? c->left : c->wire);
    out->payload = c->p;
    return TL_DEC_OK;
}
