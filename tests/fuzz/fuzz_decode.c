/*
 * Fuzz harness over the decoder: the first byte picks a link type (every
 * one tl_decode() knows, and one it does not), the second how much the
 * record claims was on the wire beyond what was captured; the rest is the
 * frame. Built with libFuzzer (configure --enable-fuzzers) or linked with
 * replay.c to run a saved corpus under any compiler.
 */
#include <stddef.h>
#include <stdint.h>

#include "tcplens/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* New link types go at the end, so that a saved input keeps its own.
 * FDDI holds the place the corpus was written with (tests/unit/
 * test_decode.c's write_seed(), the real-fddi-llc-* seeds): without it
 * every seed from PPP_SERIAL on would be read as the next link type. */
/* clang-format off */
static const int linktypes[] = {
    TL_DLT_NULL, TL_DLT_EN10MB, TL_DLT_RAW, TL_DLT_RAW_BSD, TL_DLT_LOOP,
    TL_DLT_LINUX_SLL, TL_DLT_IPV4, TL_DLT_IPV6, TL_DLT_LINUX_SLL2,
    147, /* USER0: unknown */
    TL_DLT_PPP, TL_DLT_FDDI, TL_DLT_PPP_SERIAL, TL_DLT_C_HDLC,
    TL_DLT_IEEE802_11_RADIO, TL_DLT_NFLOG,
};
/* clang-format on */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int linktype = linktypes[data[0] % (sizeof linktypes / sizeof linktypes[0])];
    /* 0: wire length equal to the capture; otherwise longer (a snaplen cut),
     * and the top value makes it shorter, which a record may also claim. */
    size_t caplen = size - 2;
    size_t wirelen = data[1] == 0xff ? caplen / 2 : caplen + (size_t)data[1] * 16;
    struct tl_pkt p;
    enum tl_dec r = tl_decode(data + 2, caplen, wirelen, linktype, &p);
    /* What a TCP result points at must lie inside the frame. */
    if (r == TL_DEC_OK && p.payload_caplen > 0 &&
        (p.payload < data + 2 || p.payload + p.payload_caplen > data + size))
        __builtin_trap();
    /* Tunnels nest no deeper than the bound. */
    if ((r == TL_DEC_OK || r == TL_DEC_ICMP) &&
        (p.tunnel.depth > TL_TUNNEL_MAX_DEPTH || (p.tunnel.depth == 0) != (p.tunnel.type == 0)))
        __builtin_trap();
    (void)tl_dec_name(r);
    return 0;
}
