/*
 * Fuzz harness for the pcapng scanner (src/pcapng_scan.c) and the
 * decoders in front of it (src/decompress.c). The input is a file's bytes:
 * they are fed to the scanner whole, then in slices whose sizes come from
 * the input's length, and the two must give the same statistics and the
 * same first interface of another link type (abort() where they do not:
 * the scanner is a stream parser, and a slice boundary must never
 * matter). Then the same bytes go through a decompress.h stream from a
 * memory file, as tcplens reads any file that is not a classic pcap, with
 * the scanner watching the decoded bytes: compressed seeds reach the
 * decoders, and any input checks that a stream reads to an end. Built
 * with libFuzzer (configure --enable-fuzzers) or linked with replay.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tcplens/decompress.h"
#include "tcplens/pcapng_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct result {
    struct tl_pcapng_stats st;
    bool other;
    uint32_t iface, linktype;
};

static bool scan_in_slices(const uint8_t *data, size_t size, size_t seed, struct result *r)
{
    struct tl_pcapng_scan *s = tl_pcapng_scan_new();
    if (s == NULL)
        return false;
    uint32_t x = (uint32_t)seed * 2654435761u + 1;
    for (size_t off = 0; off < size;) {
        size_t k = size - off;
        if (seed != 0) {
            x = x * 1103515245u + 12345u;
            size_t step = 1 + (x >> 16) % 61;
            k = step < k ? step : k;
        }
        tl_pcapng_scan_feed(s, data + off, k);
        off += k;
    }
    memset(r, 0, sizeof *r);
    tl_pcapng_scan_stats(s, &r->st);
    r->other = tl_pcapng_scan_other_linktype(s, &r->iface, &r->linktype);
    tl_pcapng_scan_free(s);
    return true;
}

static bool same(const struct result *a, const struct result *b)
{
    return a->st.has_endtime == b->st.has_endtime && a->st.end_sec == b->st.end_sec &&
           a->st.end_usec == b->st.end_usec && a->st.has_ifstats == b->st.has_ifstats &&
           a->st.if_recv == b->st.if_recv && a->st.if_drop == b->st.if_drop &&
           a->st.os_drop == b->st.os_drop && a->other == b->other && a->iface == b->iface &&
           a->linktype == b->linktype;
}

static void scan_bytes(void *scan, const uint8_t *p, size_t n) { tl_pcapng_scan_feed(scan, p, n); }

/* The bytes as a file, read to its end through a decompress.h stream. */
static void read_stream(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz", 0);
    if (fd < 0)
        return;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    struct tl_zstream *z = NULL;
    struct tl_diag d = {{0}, 0};
    if (done != size || lseek(fd, 0, SEEK_SET) != 0 || tl_zstream_open(&z, fd, true, &d) != TL_OK) {
        close(fd);
        return;
    }
    struct tl_pcapng_scan *s = tl_pcapng_scan_new();
    if (s != NULL)
        tl_zstream_watch(z, scan_bytes, s);
    FILE *fp = tl_zstream_fopen(z);
    char buf[4096];
    while (fp != NULL && fread(buf, 1, sizeof buf, fp) > 0)
        ;
    if (fp != NULL)
        fclose(fp);
    struct tl_pcapng_stats st;
    if (s != NULL)
        tl_pcapng_scan_stats(s, &st);
    (void)tl_zstream_error(z);
    tl_pcapng_scan_free(s);
    tl_zstream_free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct result whole, sliced;
    if (scan_in_slices(data, size, 0, &whole) && scan_in_slices(data, size, size, &sliced) &&
        !same(&whole, &sliced))
        abort();
    read_stream(data, size);
    return 0;
}
