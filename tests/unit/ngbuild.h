/*
 * pcapng files built by hand for the tests, in either byte order: blocks
 * are begun, filled and ended (the length is patched in at both ends);
 * helpers write the blocks and options the tests need. Deliberately
 * broken blocks are made by writing bytes directly (ng_u32 and friends).
 */
#ifndef TCPLENS_TEST_NGBUILD_H
#define TCPLENS_TEST_NGBUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define NG_MAX 16384
#define NG_NS 9       /* if_tsresol 10^-9 */
#define NG_BIN20 0x94 /* if_tsresol 2^-20 */
#define NG_ISB_ENDTIME 3
#define NG_ISB_IFRECV 4
#define NG_ISB_IFDROP 5
#define NG_ISB_OSDROP 7

struct ng {
    uint8_t b[NG_MAX];
    size_t n;
    bool be;      /* big-endian section */
    size_t block; /* offset of the block being written */
};

static inline void ng_u8(struct ng *g, uint8_t v)
{
    if (g->n < NG_MAX)
        g->b[g->n++] = v;
}

static inline void ng_u16(struct ng *g, uint16_t v)
{
    ng_u8(g, (uint8_t)(g->be ? v >> 8 : v));
    ng_u8(g, (uint8_t)(g->be ? v : v >> 8));
}

static inline void ng_u32(struct ng *g, uint32_t v)
{
    ng_u16(g, (uint16_t)(g->be ? v >> 16 : v));
    ng_u16(g, (uint16_t)(g->be ? v : v >> 16));
}

static inline void ng_u64(struct ng *g, uint64_t v)
{
    ng_u32(g, (uint32_t)(g->be ? v >> 32 : v));
    ng_u32(g, (uint32_t)(g->be ? v : v >> 32));
}

static inline void ng_put32_at(struct ng *g, size_t at, uint32_t v)
{
    size_t n = g->n;
    g->n = at;
    ng_u32(g, v);
    g->n = n;
}

static inline void ng_pad(struct ng *g)
{
    while (g->n % 4 != 0)
        ng_u8(g, 0);
}

static inline void ng_begin(struct ng *g, uint32_t type)
{
    g->block = g->n;
    ng_u32(g, type);
    ng_u32(g, 0); /* the length, patched by ng_end() */
}

/* Ends the block: the trailer and the header's length. */
static inline void ng_end(struct ng *g)
{
    ng_pad(g);
    uint32_t len = (uint32_t)(g->n - g->block + 4);
    ng_u32(g, len);
    ng_put32_at(g, g->block + 4, len);
}

static inline void ng_opt(struct ng *g, uint16_t code, const void *val, uint16_t len)
{
    ng_u16(g, code);
    ng_u16(g, len);
    for (uint16_t i = 0; i < len; i++)
        ng_u8(g, ((const uint8_t *)val)[i]);
    ng_pad(g);
}

static inline void ng_opt64(struct ng *g, uint16_t code, uint64_t v)
{
    ng_u16(g, code);
    ng_u16(g, 8);
    ng_u64(g, v);
}

/* A pcapng time option: the high word first, each in the section's order. */
static inline void ng_opt_time(struct ng *g, uint16_t code, uint64_t t)
{
    ng_u16(g, code);
    ng_u16(g, 8);
    ng_u32(g, (uint32_t)(t >> 32));
    ng_u32(g, (uint32_t)t);
}

static inline void ng_opt_end(struct ng *g)
{
    ng_u16(g, 0);
    ng_u16(g, 0);
}

static inline void ng_shb(struct ng *g)
{
    ng_begin(g, 0x0A0D0D0A);
    ng_u32(g, 0x1A2B3C4D);
    ng_u16(g, 1);
    ng_u16(g, 0);
    ng_u64(g, UINT64_MAX); /* section length unknown */
    ng_end(g);
}

/* An IDB; tsresol < 0: no if_tsresol option; has_offset: if_tsoffset. */
static inline void ng_idb(struct ng *g, uint16_t linktype, int tsresol, bool has_offset,
                          int64_t offset)
{
    ng_begin(g, 1);
    ng_u16(g, linktype);
    ng_u16(g, 0);
    ng_u32(g, 262144);
    if (tsresol >= 0) {
        uint8_t r = (uint8_t)tsresol;
        ng_opt(g, 9, &r, 1);
    }
    if (has_offset)
        ng_opt64(g, 14, (uint64_t)offset);
    if (tsresol >= 0 || has_offset)
        ng_opt_end(g);
    ng_end(g);
}

/* An EPB with len bytes of frame (all 0x45: an IPv4 version nibble). */
static inline void ng_epb(struct ng *g, uint32_t iface, uint64_t t, uint32_t len)
{
    ng_begin(g, 6);
    ng_u32(g, iface);
    ng_u32(g, (uint32_t)(t >> 32));
    ng_u32(g, (uint32_t)t);
    ng_u32(g, len);
    ng_u32(g, len);
    for (uint32_t i = 0; i < len; i++)
        ng_u8(g, 0x45);
    ng_end(g);
}

/* The start of an ISB; options follow, then ng_opt_end() and ng_end(). */
static inline void ng_isb_begin(struct ng *g, uint32_t iface, uint64_t t)
{
    ng_begin(g, 5);
    ng_u32(g, iface);
    ng_u32(g, (uint32_t)(t >> 32));
    ng_u32(g, (uint32_t)t);
}

static inline void ng_isb(struct ng *g, uint32_t iface, bool end, uint64_t end_raw, uint64_t recv,
                          uint64_t drop, bool osdrop, uint64_t os)
{
    ng_isb_begin(g, iface, end_raw);
    if (end)
        ng_opt_time(g, NG_ISB_ENDTIME, end_raw);
    ng_opt64(g, NG_ISB_IFRECV, recv);
    ng_opt64(g, NG_ISB_IFDROP, drop);
    if (osdrop)
        ng_opt64(g, NG_ISB_OSDROP, os);
    ng_opt_end(g);
    ng_end(g);
}

/* An ISB whose options claim 200 bytes inside a 36-byte block. */
static inline void ng_lying_isb(struct ng *g, uint32_t iface)
{
    ng_isb_begin(g, iface, 0);
    ng_u16(g, NG_ISB_IFRECV);
    ng_u16(g, 200);
    ng_u64(g, 999);
    ng_end(g);
}

/*
 * Section 1: interface 0 (ns), interface 1 (2^-20 s, offset +100 s); a
 * packet on each; ISBs: 0 then 1 (superseded by later ones), 0 again, 1
 * again, then a lying ISB for 0 (ignored). Section 2: its interface 0 (the
 * file's 2, µs), one packet, one ISB.
 *
 * Expected: interface 0's last ISB ends 1700000005.500000 (recv 6, drop 2,
 * no osdrop), interface 1's 1699999910 s + 0.75 + 100 = 1700000010.750000
 * (recv 7, drop 0, osdrop 3), interface 2's 1700000003.000001 (recv 1).
 */
static inline void ng_two_sections(struct ng *g, bool be)
{
    memset(g, 0, sizeof *g);
    g->be = be;
    ng_shb(g);
    ng_idb(g, 1, NG_NS, false, 0);
    ng_idb(g, 1, NG_BIN20, true, 100);
    ng_epb(g, 0, UINT64_C(1700000000123456789), 60);
    ng_epb(g, 1, (UINT64_C(1699999900) << 20) + (1u << 19), 60);
    ng_isb(g, 0, true, UINT64_C(1700000001000000000), 5, 1, true, 2);
    ng_isb(g, 1, true, UINT64_C(1699999920) << 20, 100, 50, true, 9);
    ng_isb(g, 0, true, UINT64_C(1700000005500000000), 6, 2, false, 0);
    ng_isb(g, 1, true, (UINT64_C(1699999910) << 20) + 3 * (1u << 18), 7, 0, true, 3);
    ng_lying_isb(g, 0);
    ng_shb(g);
    ng_idb(g, 1, -1, false, 0);
    ng_epb(g, 0, UINT64_C(1700000002000000), 60);
    ng_isb(g, 0, true, UINT64_C(1700000003000001), 1, 0, false, 0);
}

#endif
