/*
 * What a pcapng file says about its capture beyond its packets, read from
 * the bytes as they stream by on their way to libpcap (which does not
 * expose them): the Interface Statistics Blocks (when the capture ended,
 * packets received and dropped) and the interfaces' link types. The
 * scanner never seeks and never trusts a length: a block that lies is
 * ignored, and where the block boundaries are lost it stops.
 */
#ifndef TCPLENS_PCAPNG_SCAN_H
#define TCPLENS_PCAPNG_SCAN_H

#include "tcplens/types.h"

struct tl_pcapng_scan;

/* NULL when out of memory. */
TL_MUST_CHECK struct tl_pcapng_scan *tl_pcapng_scan_new(void);

/* The next n bytes of the file, from its first byte on, in any slices.
 * A stream that does not start with a Section Header Block is ignored. */
void tl_pcapng_scan_feed(struct tl_pcapng_scan *s, const uint8_t *p, size_t n);

/* The Interface Statistics, final once the whole file has been fed. Each
 * interface counts by its last ISB; interfaces are those of every section. */
struct tl_pcapng_stats {
    /* The latest isb_endtime over the interfaces, as libpcap gives a
     * packet's time (microseconds, with the interface's if_tsresol and
     * if_tsoffset): seconds (not clamped) and microseconds. */
    bool has_endtime;
    int64_t end_sec;
    int32_t end_usec;
    /* isb_ifrecv, isb_ifdrop, isb_osdrop summed over the interfaces whose
     * last ISB has any of them (an absent one counts 0); saturating. */
    bool has_ifstats;
    uint64_t if_recv, if_drop, os_drop;
};

void tl_pcapng_scan_stats(const struct tl_pcapng_scan *s, struct tl_pcapng_stats *out);

/* True when an interface could not be kept for lack of memory: the
 * statistics then miss it. (Only interfaces beyond the first few
 * allocate; everything else is made by tl_pcapng_scan_new().) */
bool tl_pcapng_scan_nomem(const struct tl_pcapng_scan *s);

/* The first interface, numbered across sections in file order as
 * Wireshark numbers them (frame.interface_id), whose link type is not
 * that of the file's first interface, and its link type (LINKTYPE_*, as in
 * the file); false when every interface has the first one's type. */
bool tl_pcapng_scan_other_linktype(const struct tl_pcapng_scan *s, uint32_t *iface,
                                   uint32_t *linktype);

void tl_pcapng_scan_free(struct tl_pcapng_scan *s);

#endif
