/*
 * The pcapng scanner on files built by hand (ngbuild.h): Interface
 * Statistics over two interfaces of different if_tsresol (one binary, with
 * an if_tsoffset) and two sections, in both byte orders, fed whole and a
 * byte at a time; the last ISB of an interface counting; blocks whose
 * lengths lie (options past the block, a trailer that differs, a length
 * not a multiple of 4, a huge one) ignored or stopping the scan without
 * harm; dumpcap's microsecond isb_endtime; the first interface of another
 * link type. That the times are on the frames' clock (libpcap's own
 * conversion) is test_source's.
 */
#include "tcplens/pcapng_scan.h"

#include <stdio.h>
#include <stdlib.h>

#include "ngbuild.h"
#include "tap.h"


/* What the scanner says, fed whole (step 0) or in slices of step bytes. */
static struct tl_pcapng_stats scan(const struct ng *g, size_t step)
{
    struct tl_pcapng_stats st;
    memset(&st, 0xee, sizeof st);
    struct tl_pcapng_scan *s = tl_pcapng_scan_new();
    if (s == NULL)
        return st;
    for (size_t off = 0; off < g->n;) {
        size_t k = step == 0 || step > g->n - off ? g->n - off : step;
        tl_pcapng_scan_feed(s, g->b + off, k);
        off += k;
    }
    tl_pcapng_scan_stats(s, &st);
    tl_pcapng_scan_free(s);
    return st;
}

static bool same_stats(struct tl_pcapng_stats a, struct tl_pcapng_stats b)
{
    return a.has_endtime == b.has_endtime && a.end_sec == b.end_sec && a.end_usec == b.end_usec &&
           a.has_ifstats == b.has_ifstats && a.if_recv == b.if_recv && a.if_drop == b.if_drop &&
           a.os_drop == b.os_drop;
}

static void show(const char *what, struct tl_pcapng_stats st)
{
    printf("#   %s: end %d %lld.%06d, stats %d recv %llu drop %llu osdrop %llu\n", what,
           st.has_endtime, (long long)st.end_sec, (int)st.end_usec, st.has_ifstats,
           (unsigned long long)st.if_recv, (unsigned long long)st.if_drop,
           (unsigned long long)st.os_drop);
}

static void test_two_sections(struct tap *t)
{
    static struct ng g;
    for (int be = 0; be < 2; be++) {
        ng_two_sections(&g, be);
        struct tl_pcapng_stats st = scan(&g, 0);
        char name[128];
        snprintf(name, sizeof name, "%s: the latest end, interface 1's (2^-20 s, +100 s)",
                 be ? "big-endian" : "little-endian");
        ok(t, st.has_endtime && st.end_sec == 1700000010 && st.end_usec == 750000, name);
        snprintf(name, sizeof name,
                 "%s: counters of each interface's last ISB, summed over both sections",
                 be ? "big-endian" : "little-endian");
        ok(t, st.has_ifstats && st.if_recv == 6 + 7 + 1 && st.if_drop == 2 && st.os_drop == 3,
           name);
        show(be ? "big-endian" : "little-endian", st);
        bool same = true;
        for (size_t step = 1; step < 40; step += 3)
            same = same && same_stats(scan(&g, step), st);
        snprintf(name, sizeof name, "%s: the same fed in slices of 1 to 37 bytes",
                 be ? "big-endian" : "little-endian");
        ok(t, same, name);
    }
}

/* An ISB whose trailer says another length is ignored; so is everything
 * after a length that is not a multiple of 4 (libpcap stops there). */
static void test_lying_lengths(struct tap *t)
{
    static struct ng g;
    memset(&g, 0, sizeof g);
    ng_shb(&g);
    ng_idb(&g, 1, -1, false, 0);
    ng_isb(&g, 0, true, 1000000, 4, 0, false, 0);
    ng_isb(&g, 0, true, 9000000, 40, 0, false, 0);
    ng_put32_at(&g, g.n - 4, 99 * 4); /* the trailer lies */
    struct tl_pcapng_stats st = scan(&g, 0);
    ok(t, st.has_endtime && st.end_sec == 1 && st.if_recv == 4,
       "an ISB whose trailer gives another length is ignored");
    show("trailer", st);

    memset(&g, 0, sizeof g);
    ng_shb(&g);
    ng_idb(&g, 1, -1, false, 0);
    ng_isb(&g, 0, true, 2000000, 5, 0, false, 0);
    ng_begin(&g, 0x0BAD);
    ng_u32(&g, 0);
    ng_end(&g);
    ng_put32_at(&g, g.block + 4, 18); /* not a multiple of 4 */
    ng_isb(&g, 0, true, 3000000, 6, 0, false, 0);
    st = scan(&g, 0);
    ok(t, st.has_endtime && st.end_sec == 2 && st.if_recv == 5,
       "a block length not a multiple of 4: the scan stops, what came before stays");

    /* A packet block claiming almost 4 GiB: passed by, nothing allocated,
     * the ISB inside its claimed length is not read as one. */
    memset(&g, 0, sizeof g);
    ng_shb(&g);
    ng_idb(&g, 1, -1, false, 0);
    ng_isb(&g, 0, true, 4000000, 7, 0, false, 0);
    ng_epb(&g, 0, 5000000, 60);
    ng_put32_at(&g, g.block + 4, 0xFFFFFFF0u);
    ng_isb(&g, 0, true, 6000000, 8, 0, false, 0);
    st = scan(&g, 0);
    ok(t, st.has_endtime && st.end_sec == 4 && st.if_recv == 7,
       "a block length of 0xFFFFFFF0: skipped over, the rest of the file inside it");

    /* An IDB whose option runs past the block: its times are unknown, so
     * its ISB gives no end; the counters still count. */
    memset(&g, 0, sizeof g);
    ng_shb(&g);
    ng_begin(&g, 1);
    ng_u16(&g, 1);
    ng_u16(&g, 0);
    ng_u32(&g, 65535);
    ng_u16(&g, 9);
    ng_u16(&g, 64); /* if_tsresol of 64 bytes, in a 28-byte block */
    ng_u32(&g, 6);
    ng_end(&g);
    ng_isb(&g, 0, true, 7000000, 9, 1, false, 0);
    st = scan(&g, 0);
    ok(t, !st.has_endtime && st.has_ifstats && st.if_recv == 9 && st.if_drop == 1,
       "an IDB whose option runs past it: no end time from its ISB, counters kept");

    /* An ISB naming an interface its section does not have. */
    memset(&g, 0, sizeof g);
    ng_shb(&g);
    ng_idb(&g, 1, -1, false, 0);
    ng_isb(&g, 1, true, 8000000, 10, 0, false, 0);
    ng_isb(&g, 0x7fffffff, true, 8000000, 10, 0, false, 0);
    st = scan(&g, 0);
    ok(t, !st.has_endtime && !st.has_ifstats, "ISBs of interfaces that do not exist: ignored");

    /* A cut file: the last ISB is not whole. */
    memset(&g, 0, sizeof g);
    ng_shb(&g);
    ng_idb(&g, 1, -1, false, 0);
    ng_isb(&g, 0, true, 1000000, 3, 0, false, 0);
    ng_isb(&g, 0, true, 2000000, 4, 0, false, 0);
    g.n -= 6;
    st = scan(&g, 0);
    ok(t, st.has_endtime && st.end_sec == 1 && st.if_recv == 3,
       "a file cut inside its last ISB: the one before counts");
}

/* dumpcap writes isb_endtime in microseconds under if_tsresol 9. */
static void test_dumpcap_quirk(struct tap *t)
{
    static struct ng g;
    memset(&g, 0, sizeof g);
    ng_shb(&g);
    ng_idb(&g, 1, NG_NS, false, 0);
    ng_epb(&g, 0, UINT64_C(1796602312488807065), 60);
    ng_isb(&g, 0, true, UINT64_C(1796602314474481), 12, 0, false, 0);
    struct tl_pcapng_stats st = scan(&g, 0);
    ok(t, st.end_sec == 1796602314 && st.end_usec == 474481,
       "ns interface, isb_endtime in µs after its last packet (dumpcap): read as µs");
    show("dumpcap", st);

    /* A writer that meant ns and whose end is 1 ms before its last
     * packet: as µs it would be in the year 58,000, so it stays ns. */
    memset(&g, 0, sizeof g);
    ng_shb(&g);
    ng_idb(&g, 1, NG_NS, false, 0);
    ng_epb(&g, 0, UINT64_C(1796602312488807065), 60);
    ng_isb(&g, 0, true, UINT64_C(1796602312487807065), 12, 0, false, 0);
    st = scan(&g, 0);
    ok(t, st.end_sec == 1796602312 && st.end_usec == 487807,
       "ns interface, isb_endtime in ns just before its last packet: read as ns");
}

static void test_linktypes_and_others(struct tap *t)
{
    static struct ng g;
    memset(&g, 0, sizeof g);
    ng_shb(&g);
    ng_idb(&g, 1, -1, false, 0);
    ng_idb(&g, 1, -1, false, 0);
    ng_idb(&g, 276, -1, false, 0);
    ng_shb(&g);
    ng_idb(&g, 113, -1, false, 0);
    struct tl_pcapng_scan *s = tl_pcapng_scan_new();
    uint32_t iface = 0, lt = 0;
    bool found = false;
    if (s != NULL) {
        tl_pcapng_scan_feed(s, g.b, g.n);
        found = tl_pcapng_scan_other_linktype(s, &iface, &lt);
    }
    ok(t, found && iface == 2 && lt == 276,
       "the first interface of another link type: 2, LINUX_SLL2 (276)");
    tl_pcapng_scan_free(s);

    /* Twenty interfaces (more than the scanner makes room for at the
     * start), an ISB on each: every one counts. */
    memset(&g, 0, sizeof g);
    ng_shb(&g);
    for (int i = 0; i < 20; i++)
        ng_idb(&g, 1, -1, false, 0);
    for (uint32_t i = 0; i < 20; i++)
        ng_isb(&g, i, true, 1000000 * (uint64_t)(i + 1), 1, i, false, 0);
    struct tl_pcapng_stats many = scan(&g, 0);
    ok(t, many.end_sec == 20 && many.if_recv == 20 && many.if_drop == 190,
       "20 interfaces: the latest end (interface 19's) and every counter summed");

    /* A classic pcap header: not pcapng, nothing found, nothing kept. */
    static const uint8_t pcap[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0};
    memset(&g, 0, sizeof g);
    memcpy(g.b, pcap, sizeof pcap);
    g.n = sizeof pcap;
    struct tl_pcapng_stats st = scan(&g, 1);
    ok(t, !st.has_endtime && !st.has_ifstats, "a classic pcap: no statistics");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct tap t = {0, 0};
    test_two_sections(&t);
    test_lying_lengths(&t);
    test_dumpcap_quirk(&t);
    test_linktypes_and_others(&t);
    return tap_done(&t);
}
