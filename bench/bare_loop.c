/*
 * bare_loop.c - the physical limit for tcplens on one capture file.
 *
 * Reads every packet with pcap_next_ex() and does next to nothing with it.
 * No tool built on libpcap's offline reader can be faster on the same file,
 * so run.sh reports each command's time as a multiple of this loop's.
 *
 * The loop still touches the first and last captured byte of every packet:
 * a real tool must bring each packet's bytes into cache, and folding them
 * into a printed checksum keeps the compiler from dropping the reads.
 */
/* pcap.h uses the BSD u_char/u_int types, which glibc hides under -std=c11. */
#define _DEFAULT_SOURCE

#include <inttypes.h>
#include <stdio.h>

#include <pcap/pcap.h>

struct tally {
    uint64_t packets;
    uint64_t caplen_sum;
    uint32_t mix;
};

static void touch(struct tally *t, const struct pcap_pkthdr *h, const u_char *data)
{
    t->packets++;
    t->caplen_sum += h->caplen;
    if (h->caplen) {
        uint32_t edge = (uint32_t)data[0] << 8 | data[h->caplen - 1];
        /* rotate first, so equal edges in two packets do not cancel out */
        t->mix = ((t->mix << 5) | (t->mix >> 27)) ^ edge;
    }
}

/* Returns 0 at the end of the file, 1 on a read error (message in pcap). */
static int read_all(pcap_t *p, struct tally *t)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;

    while ((rc = pcap_next_ex(p, &h, &data)) == 1)
        touch(t, h, data);
    return rc == PCAP_ERROR_BREAK ? 0 : 1;
}

int main(int argc, char **argv)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    struct tally t = {0, 0, 0};
    pcap_t *p;
    int rc;

    if (argc != 2) {
        fputs("usage: bare_loop FILE|-\n", stderr);
        return 2;
    }
    p = pcap_open_offline(argv[1], errbuf);
    if (!p) {
        fprintf(stderr, "bare_loop: %s\n", errbuf);
        return 2;
    }
    rc = read_all(p, &t);
    if (rc)
        fprintf(stderr, "bare_loop: %s: %s\n", argv[1], pcap_geterr(p));
    pcap_close(p);
    printf("packets %" PRIu64 " caplen_bytes %" PRIu64 " checksum %08" PRIx32 "\n", t.packets,
           t.caplen_sum, t.mix);
    return rc;
}
