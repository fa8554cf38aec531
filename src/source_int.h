/* Private to the capture sources: what file and live sources share. */
#ifndef TCPLENS_SOURCE_INT_H
#define TCPLENS_SOURCE_INT_H

#include <pcap/pcap.h>

#include "tcplens/source.h"

struct fast;
struct tl_zstream;
struct tl_pcapng_scan;

struct input {
    pcap_t *pcap;
    struct fast *fast; /* source_read.c reads the records, or NULL */
    /* The stream libpcap reads when it is not the file itself (compressed,
     * pcapng, stdin, a pipe: see open_capture()), or NULL; and the scanner
     * of the pcapng blocks libpcap skips, fed from that stream, or NULL. */
    struct tl_zstream *z;
    struct tl_pcapng_scan *scan;
    struct bpf_program prog; /* the filter, when has_filter */
    bool has_filter;
    bool pending; /* hdr/data hold a frame not yet handed out */
    struct pcap_pkthdr *hdr;
    const uint8_t *data;
    char *iobuf; /* the file's stdio buffer; freed after pcap_close */
    struct tl_input_info info;
    /* For tl_source_progress(): */
    bool opened;           /* it was opened for reading */
    bool sized;            /* a regular file: size is known */
    uint64_t size;         /* its bytes (compressed ones, when it is compressed) */
    uint64_t offset;       /* bytes consumed, once closed */
    uint64_t record_bytes; /* bytes of the records read: where there is no offset (a pipe) */
};

struct tl_source {
    struct input *in;
    bool live;           /* an interface: idle means "not yet", not the end */
    pcap_dumper_t *dump; /* -w: every frame read is written here */
    size_t n;
    size_t nown;   /* in[0..nown): -r; in[nown..n): the follow inputs */
    size_t lo, hi; /* the inputs being read: the own ones, then those */
    uint64_t max_packets;
    uint64_t handed_out;   /* frames that passed the filter */
    uint64_t frames;       /* frames read, filtered or not: the packet numbers */
    uint64_t block_frames; /* of those, read by source_read.c */
    bool (*accept_linktype)(int linktype);
};

/* Records a one-line error in an input's info (without libpcap's leading
 * "name: "). */
void tl_source_set_error(struct input *in, enum tl_status st, const char *msg);

/* source_read.c: classic pcap records read in blocks, not through libpcap.
 * tl_fast_open() takes over an input libpcap has just opened when its file
 * is one this reader handles exactly as libpcap does (false: it is not).
 * tl_fast_next() gives 1 with a frame, 0 at the end of the file, -1 at a
 * record that libpcap must read: tl_fast_handover() then leaves libpcap's
 * stream at that record (false if it cannot). */
bool tl_fast_open(struct input *in);
int tl_fast_next(struct input *in, struct pcap_pkthdr **hdr, const uint8_t **data);
uint64_t tl_fast_offset(const struct input *in);
TL_MUST_CHECK bool tl_fast_handover(struct input *in);
void tl_fast_close(struct input *in);

#endif
