/*
 * Capture sources: one or more capture files (pcap or pcapng, "-" is stdin)
 * merged in timestamp order. Every source hands out frames the same way, so
 * everything downstream is independent of where packets come from.
 */
#ifndef TCPLENS_SOURCE_H
#define TCPLENS_SOURCE_H

#include "tcplens/status.h"
#include "tcplens/types.h"

/* Frame times lie within +-TL_TS_MAX_SEC seconds (about 73,000 years):
 * pcapng timestamps are 64-bit counts of the interface's units, so a broken
 * or hostile file can carry seconds whose microseconds overflow int64_t.
 * The bound keeps the sum or difference of two frame times in range too. */
#define TL_TS_MAX_SEC (INT64_MAX / TL_USEC_PER_SEC / 4)

/* One captured frame. data is borrowed: valid until the next tl_source_next(). */
struct tl_frame {
    int64_t ts_us;    /* pcap clock, microseconds; see TL_TS_MAX_SEC */
    uint32_t caplen;  /* bytes present in data */
    uint32_t wirelen; /* bytes on the wire */
    const uint8_t *data;
    int linktype;    /* DLT_* value of the input it came from */
    unsigned input;  /* index of the input */
    uint64_t pkt_no; /* 1-based position in the merged stream, counting the
                          * frames a filter rejected: for one input, the frame
                          * number Wireshark shows for it */
};

/* What is known about one input, for the report. */
struct tl_input_info {
    const char *name;          /* as given; "-" for stdin */
    int linktype;              /* DLT_* value, -1 when the file could not be opened */
    const char *linktype_name; /* e.g. "EN10MB", NULL when unknown */
    uint64_t packets;          /* frames read from it */
    enum tl_status status;     /* TL_OK, or why reading stopped */
    char error[256];           /* one line, empty when status is TL_OK */
    /* What the file's pcapng Interface Statistics Blocks said (the last
     * block of each interface; known once the input has been read to its
     * end): when the capture stopped (the latest isb_endtime) and, summed
     * over its interfaces, the packets received and dropped. */
    bool has_endtime;
    int64_t endtime_us; /* µs, on the frames' clock */
    bool has_ifstats;
    uint64_t if_recv, if_drop, os_drop; /* isb_ifrecv, isb_ifdrop, isb_osdrop */
};

struct tl_source;

struct tl_source_cfg {
    const char *filter;   /* BPF expression applied to every input, or NULL */
    uint64_t max_packets; /* stop after this many frames (-c), 0 = no limit */
    /* Says whether frames of a link type can be used; an input whose type is
     * refused is not read (its info says so). NULL accepts every type. The
     * source does not decode, so the caller decides. */
    bool (*accept_linktype)(int linktype);
    /* Every record through libpcap's pcap_next_ex(), also where the block
     * reader (src/source_read.c) would read it: tests compare the two. */
    bool libpcap_reads;
    /* --follow: inputs read after all the others, once tl_source_follow()
     * is called, merged among themselves in the same order (borrowed). */
    const char *const *follow;
    size_t nfollow;
};

/*
 * Opens every path. An input that cannot be opened (missing, not a capture,
 * unsupported link type, bad filter) is recorded in its tl_input_info and
 * skipped; the call still succeeds so that the other inputs are read.
 * Returns TL_ENOMEM, or TL_EINVAL when the filter does not compile for any
 * input (d says why).
 */
TL_MUST_CHECK enum tl_status tl_source_open_files(struct tl_source **out, const char *const *paths,
                                                  size_t npaths, const struct tl_source_cfg *cfg,
                                                  struct tl_diag *d);

/*
 * Gives the next frame in timestamp order (ties: input order, then file
 * order). Returns TL_OK or TL_EOF. A read error ends that input only: it is
 * recorded in its tl_input_info and the others go on. The follow inputs
 * (tl_source_cfg.follow) are not read until tl_source_follow().
 */
TL_MUST_CHECK enum tl_status tl_source_next(struct tl_source *src, struct tl_frame *f);

/* Once tl_source_next() gave TL_EOF: it now reads the follow inputs, with
 * packet numbers going on from the last frame's. */
void tl_source_follow(struct tl_source *src);

/* Whether every follow input was read to its end (or its error). */
bool tl_source_follow_done(const struct tl_source *src);

/* How far the reading of capture files has got, for a progress display. */
struct tl_read_progress {
    uint64_t bytes;  /* bytes of the inputs consumed so far */
    uint64_t total;  /* the inputs' total size; 0 when unknown (one is a pipe) */
    uint64_t frames; /* frames read, filtered or not */
};

/* Fills p. A few calls a second cost nothing (one lseek(2) per open
 * input); not meant for every frame. */
void tl_source_progress(const struct tl_source *src, struct tl_read_progress *p);

/* Frames the block reader (src/source_read.c) read, of tl_read_progress's
 * frames: the others came through libpcap. */
uint64_t tl_source_block_frames(const struct tl_source *src);

/* The inputs: first the -r ones (tl_source_nown() of them), then the
 * follow inputs, in the order given. */
size_t tl_source_ninputs(const struct tl_source *src);
size_t tl_source_nown(const struct tl_source *src);
const struct tl_input_info *tl_source_input(const struct tl_source *src, size_t i);

/* A live capture on one interface ("any" works: Linux SLL2). */
struct tl_live_cfg {
    const char *iface;
    const char *filter;    /* BPF, compiled into the kernel, or NULL */
    int snaplen;           /* bytes kept per packet; 0 = 262144 */
    uint64_t max_packets;  /* -c, 0 = no limit */
    const char *dump_path; /* -w: write every packet read here (pcap), or NULL */
    bool (*accept_linktype)(int linktype);
};

/*
 * Opens the interface in immediate, non-blocking mode. tl_source_next()
 * then returns TL_EAGAIN when nothing has arrived: wait on tl_source_fd().
 * Returns TL_EPCAP (d says why: no such device, permission) or TL_EINVAL
 * (bad filter), TL_ELINKTYPE, TL_EIO (dump file).
 */
TL_MUST_CHECK enum tl_status tl_source_open_live(struct tl_source **out,
                                                 const struct tl_live_cfg *cfg, struct tl_diag *d);

/* The descriptor to poll for a live source, -1 for files. */
int tl_source_fd(const struct tl_source *src);

/* Writes what -w has buffered to its file. */
void tl_source_flush(struct tl_source *src);

/* Kernel counters of a live source (pcap_stats). */
struct tl_capture_stats {
    uint64_t received;   /* packets the filter passed */
    uint64_t dropped;    /* dropped for lack of buffer space: tcplens was too slow */
    uint64_t if_dropped; /* dropped by the interface or its driver */
};

/* False when the source is not live or the counters are unavailable. */
bool tl_source_stats(const struct tl_source *src, struct tl_capture_stats *out);

void tl_source_free(struct tl_source *src);

#endif
