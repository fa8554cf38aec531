/*
 * Capture files through libpcap (pcap and pcapng; "-" is stdin), several
 * merged in timestamp order as rotated tcpdump captures need. libpcap is
 * asked for microsecond timestamps, so nanosecond files are scaled for us.
 * libpcap opens every file and checks its header; the records of a classic
 * pcap file are then read in blocks (source_read.c) until one needs
 * libpcap's own handling.
 *
 * Two ways in (open_capture()): a classic pcap in a regular file is handed
 * to libpcap as it is, so that the block reader can take it over (pread(2)
 * of the file; tests/reader-diff.sh holds it to libpcap's frames).
 * Everything else, compressed files (gzip, zstd, lz4, xz), pcapng, stdin
 * and pipes, is read through a decompress.h stream: libpcap reads the
 * decoded bytes through pcap_next_ex(), never the block reader, and the
 * pcapng scanner (pcapng_scan.h) sees the same bytes for the Interface
 * Statistics libpcap does not give.
 */
#include "tcplens/source.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source_int.h"
#include "tcplens/decompress.h"
#include "tcplens/pcapng_scan.h"

#define READ_BUFFER (256 * 1024)

/* libpcap often starts its message with the file name; we print the name
 * ourselves, once. */
void tl_source_set_error(struct input *in, enum tl_status st, const char *msg)
{
    size_t nl = strlen(in->info.name);
    if (strncmp(msg, in->info.name, nl) == 0 && strncmp(msg + nl, ": ", 2) == 0)
        msg += nl + 2;
    in->info.status = st;
    size_t n = strlen(msg);
    if (n > sizeof in->info.error - 1) /* cut to fit, as ever */
        n = sizeof in->info.error - 1;
    memcpy(in->info.error, msg, n);
    in->info.error[n] = '\0';
}

/* Bytes of an open input consumed so far: its stream's offset, or where
 * the stream has none (a pipe), the bytes of the records read (exact for
 * pcap; pcapng blocks carry a little more). */
static uint64_t input_offset(const struct input *in)
{
    if (in->fast != NULL)
        return tl_fast_offset(in);
    if (in->z != NULL) /* compressed: the compressed bytes */
        return tl_zstream_consumed(in->z);
    FILE *fp = pcap_file(in->pcap);
    long off = fp != NULL ? ftell(fp) : -1;
    return off >= 0 ? (uint64_t)off : in->record_bytes;
}

/* Closes an input's capture (and with it its file), then its buffer. */
static void close_input(struct input *in)
{
    in->offset = input_offset(in);
    tl_fast_close(in);
    pcap_close(in->pcap);
    in->pcap = NULL;
    tl_zstream_free(in->z); /* after the stream libpcap closed */
    in->z = NULL;
    tl_pcapng_scan_free(in->scan);
    in->scan = NULL;
    free(in->iobuf);
    in->iobuf = NULL;
}

/*
 * Compiles the filter. It is applied here, frame by frame, rather than
 * installed in libpcap: frames it rejects must still be counted, so that
 * packet numbers stay those Wireshark shows for the same file. On failure
 * the input is closed and its info says why: a filter can fit one link
 * type and not another.
 */
static void set_filter(struct input *in, const char *filter)
{
    if (pcap_compile(in->pcap, &in->prog, filter, 1, PCAP_NETMASK_UNKNOWN) == 0) {
        in->has_filter = true;
        return;
    }
    char msg[sizeof in->info.error];
    snprintf(msg, sizeof msg, "bad filter expression '%s': %s", filter, pcap_geterr(in->pcap));
    tl_source_set_error(in, TL_EINVAL, msg);
    close_input(in);
}

/* Whether a regular file is a classic pcap (or no capture at all, which
 * libpcap then says): not compressed, not pcapng. Read with pread(2), so
 * the file stays at its start for libpcap. */
static bool plain_file(int fd)
{
    static const uint8_t pcapng[4] = {0x0a, 0x0d, 0x0d, 0x0a};
    uint8_t head[8];
    ssize_t n = pread(fd, head, sizeof head, 0);
    if (n < 0)
        return true; /* libpcap's read will fail and say why */
    if (tl_zfmt_detect(head, (size_t)n) != TL_Z_NONE)
        return false;
    return n < 4 || memcmp(head, pcapng, 4) != 0;
}

/* A classic pcap file, handed to libpcap as it is (fd is then its). */
static pcap_t *open_plain(struct input *in, int fd, char *errbuf)
{
    FILE *fp = fdopen(fd, "rb");
    if (fp == NULL) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", strerror(errno));
        close(fd);
        return NULL;
    }
    /* libpcap makes two fread() calls a frame. One thread reads this
     * stream, so stdio's lock on every call is pure cost, and a larger
     * buffer means fewer read(2) calls. */
    __fsetlocking(fp, FSETLOCKING_BYCALLER);
    in->iobuf = malloc(READ_BUFFER);
    if (in->iobuf != NULL)
        setvbuf(fp, in->iobuf, _IOFBF, READ_BUFFER);
    /* On success the pcap_t owns fp; on failure we still do. */
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (p == NULL) {
        fclose(fp);
        free(in->iobuf);
        in->iobuf = NULL;
    }
    return p;
}

static void scan_bytes(void *scan, const uint8_t *p, size_t n) { tl_pcapng_scan_feed(scan, p, n); }

/* libpcap's reason a decoded stream is no capture, with the decoder's
 * when it stopped first (cut or corrupt data). */
static void stream_open_error(const struct input *in, char *errbuf)
{
    const char *why = tl_zstream_error(in->z);
    enum tl_zfmt fmt = tl_zstream_format(in->z);
    char msg[PCAP_ERRBUF_SIZE];
    if (why != NULL)
        snprintf(msg, sizeof msg, "%s", why);
    else if (fmt != TL_Z_NONE)
        /* Every part bounded (8 + 13 + 224 < 256): the compiler can see no
         * truncation at any -O level. */
        snprintf(msg, sizeof msg, "%.8s-compressed: %.*s", tl_zfmt_name(fmt),
                 (int)(sizeof msg - 32), errbuf);
    else
        return;
    memcpy(errbuf, msg, PCAP_ERRBUF_SIZE);
}

/* Anything else, through a decompress.h stream (fd is then its when own). */
static pcap_t *open_stream(struct input *in, int fd, bool own, char *errbuf)
{
    struct tl_diag d = {{0}, 0};
    enum tl_status st = tl_zstream_open(&in->z, fd, own, &d);
    if (st != TL_OK) {
        if (own)
            close(fd);
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", st == TL_ENOMEM ? "out of memory" : d.msg);
        return NULL;
    }
    in->scan = tl_pcapng_scan_new();
    FILE *fp = in->scan != NULL ? tl_zstream_fopen(in->z) : NULL;
    pcap_t *p = NULL;
    if (in->scan != NULL)
        tl_zstream_watch(in->z, scan_bytes, in->scan);
    if (fp == NULL)
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "out of memory");
    else if ((p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO,
                                                           errbuf)) == NULL)
        stream_open_error(in, errbuf);
    if (p == NULL) {
        if (fp != NULL)
            fclose(fp);
        tl_zstream_free(in->z);
        in->z = NULL;
        tl_pcapng_scan_free(in->scan);
        in->scan = NULL;
    }
    return p;
}

/* A regular file's size, for tl_source_progress(): stdin may start
 * partway into its file, and only what follows is read. */
static void note_size(struct input *in, int fd, bool is_stdin)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return;
    off_t start = is_stdin ? lseek(fd, 0, SEEK_CUR) : 0;
    if (start < 0 || start > sb.st_size)
        start = 0;
    in->sized = true;
    in->size = (uint64_t)(sb.st_size - start);
}

/* Opens a capture ("-" is stdin). A file that cannot be opened at all is an
 * I/O error; one that opens but is no capture is a format error. The way
 * in depends on the first bytes (the top of this file says why). */
static pcap_t *open_capture(struct input *in)
{
    bool is_stdin = strcmp(in->info.name, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(in->info.name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        tl_source_set_error(in, TL_EIO, strerror(errno));
        return NULL;
    }
    note_size(in, fd, is_stdin);
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = !is_stdin && in->sized && plain_file(fd) ? open_plain(in, fd, errbuf)
                                                         : open_stream(in, fd, !is_stdin, errbuf);
    if (p == NULL)
        tl_source_set_error(in, TL_EFORMAT, errbuf);
    return p;
}

/* Opens one input; failures that concern only this file are recorded in
 * its info and are not errors of the call. */
static void open_one(struct tl_source *src, struct input *in, const struct tl_source_cfg *cfg)
{
    in->info.linktype = -1;
    in->pcap = open_capture(in);
    if (in->pcap == NULL)
        return;
    in->info.linktype = pcap_datalink(in->pcap);
    in->info.linktype_name = pcap_datalink_val_to_name(in->info.linktype);
    if (src->accept_linktype != NULL && !src->accept_linktype(in->info.linktype)) {
        char msg[128];
        snprintf(msg, sizeof msg, "unsupported link type %d (%s)", in->info.linktype,
                 in->info.linktype_name ? in->info.linktype_name : "unknown");
        tl_source_set_error(in, TL_ELINKTYPE, msg);
        close_input(in);
        return;
    }
    if (cfg->filter != NULL && cfg->filter[0] != '\0')
        set_filter(in, cfg->filter);
    if (in->pcap == NULL)
        return;
    in->opened = true;
    if (!cfg->libpcap_reads && in->z == NULL)
        tl_fast_open(in);
    /* The pcap file header: 24 bytes. */
    in->record_bytes = 24;
}

/* The filter is an error of the call only when no input could take it (a
 * typo, most likely); otherwise the inputs it did not fit are skipped. */
static enum tl_status check_filter(const struct tl_source *src, struct tl_diag *d)
{
    const struct input *refused = NULL;
    for (size_t i = 0; i < src->n; i++) {
        if (src->in[i].pcap != NULL)
            return TL_OK;
        if (src->in[i].info.status == TL_EINVAL && refused == NULL)
            refused = &src->in[i];
    }
    if (refused == NULL)
        return TL_OK;
    tl_diag_set(d, "%s", refused->info.error);
    return TL_EINVAL;
}

enum tl_status tl_source_open_files(struct tl_source **out, const char *const *paths, size_t npaths,
                                    const struct tl_source_cfg *cfg, struct tl_diag *d)
{
    *out = NULL;
    struct tl_source *src = calloc(1, sizeof *src);
    if (src == NULL)
        return TL_ENOMEM;
    size_t n = npaths + cfg->nfollow;
    src->in = calloc(n ? n : 1, sizeof *src->in);
    if (src->in == NULL) {
        free(src);
        return TL_ENOMEM;
    }
    src->n = n;
    src->nown = npaths;
    src->hi = npaths;
    src->max_packets = cfg->max_packets;
    src->accept_linktype = cfg->accept_linktype;
    for (size_t i = 0; i < n; i++) {
        src->in[i].info.name = i < npaths ? paths[i] : cfg->follow[i - npaths];
        open_one(src, &src->in[i], cfg);
    }
    enum tl_status st = check_filter(src, d);
    if (st != TL_OK) {
        tl_source_free(src);
        return st;
    }
    *out = src;
    return TL_OK;
}

/* Reads in's next record with the block reader; false when libpcap is to
 * read it (or the input is done, and closed). */
static bool fill_fast(struct input *in)
{
    int rc = tl_fast_next(in, &in->hdr, &in->data);
    if (rc == 1) {
        in->pending = true;
        in->record_bytes += 16 + in->hdr->caplen;
        return true;
    }
    if (rc == 0) {
        close_input(in);
        return true;
    }
    if (!tl_fast_handover(in)) {
        char msg[128];
        snprintf(msg, sizeof msg, "read error after packet %llu: cannot seek: %s",
                 (unsigned long long)in->info.packets, strerror(errno));
        tl_source_set_error(in, TL_EIO, msg);
        close_input(in);
        return true;
    }
    return false;
}

/* The name Wireshark's editcap -T gives a link type (LINKTYPE_*, as in a
 * pcapng file), for the split command below. */
static const char *editcap_encap(uint32_t linktype)
{
    static const struct {
        uint32_t linktype;
        const char *name;
    } names[] = {{0, "null"},          {1, "ether"},
                 {9, "ppp"},           {101, "rawip"},
                 {105, "ieee-802-11"}, {108, "loop"},
                 {113, "linux-sll"},   {127, "ieee-802-11-radiotap"},
                 {228, "rawip4"},      {229, "rawip6"},
                 {276, "linux-sll2"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].linktype == linktype)
            return names[i].name;
    return "ENCAP"; /* editcap -T list names them */
}

/*
 * libpcap reads one link type a file, and refuses a pcapng at the first
 * interface whose type differs from the first's ("an interface has a
 * type N different from the type of the first interface"). Says which
 * interface, and how to split the file: tshark writes that interface's
 * packets but keeps every interface's description (so libpcap would
 * refuse the result too), and editcap then writes them as a classic pcap
 * of that one link type. libpcap 1.10 also refuses a second interface of
 * LINKTYPE_RAW (101) after a first of the same type (it compares the
 * file's number with DLT_RAW's); such a file needs no split, editcap
 * writes it whole as one pcap.
 */
static void linktype_error(const struct input *in, const char *pcap_msg, char *msg, size_t size)
{
    uint32_t iface = 0, lt = 0;
    bool known = in->scan != NULL && tl_pcapng_scan_other_linktype(in->scan, &iface, &lt);
    if (!known && sscanf(pcap_msg, "an interface has a type %u", &lt) != 1)
        lt = 0;
    /* LINKTYPE_RAW is DLT_RAW's number in files. */
    const char *lname = pcap_datalink_val_to_name(lt == 101 ? DLT_RAW : (int)lt);
    const char *fname = pcap_datalink_val_to_name(in->info.linktype);
    unsigned long long after = (unsigned long long)in->info.packets;
    if (!known) {
        snprintf(msg, size,
                 "read error after packet %llu: libpcap refuses a second interface of link "
                 "type %u (%s) though it is the first's; write the file as one pcap: "
                 "editcap -F pcap IN OUT.pcap",
                 after, lt, lname != NULL ? lname : "?");
        return;
    }
    snprintf(msg, size,
             "read error after packet %llu: interface %u is %s (%u), not %s like the first, "
             "and libpcap reads one link type a file; split it: tshark -r IN -Y "
             "\"frame.interface_id == %u\" -w T.pcapng && editcap -T %s -F pcap T.pcapng OUT.pcap",
             after, iface, lname != NULL ? lname : "?", lt, fname != NULL ? fname : "?", iface,
             editcap_encap(lt));
}

/* libpcap could not read the next record. A decoder that stopped (cut or
 * corrupt compressed data) is the cause, and says so better. */
static void read_error(struct input *in)
{
    const char *why = in->z != NULL ? tl_zstream_error(in->z) : NULL;
    const char *pcap_msg = pcap_geterr(in->pcap);
    char msg[PCAP_ERRBUF_SIZE + 256];
    if (why != NULL)
        snprintf(msg, sizeof msg, "read error after packet %llu: %s",
                 (unsigned long long)in->info.packets, why);
    else if (strstr(pcap_msg, "different from the type of the first interface") != NULL)
        linktype_error(in, pcap_msg, msg, sizeof msg);
    else
        snprintf(msg, sizeof msg, "read error after packet %llu: %s",
                 (unsigned long long)in->info.packets, pcap_msg);
    tl_source_set_error(in, TL_EFORMAT, msg);
}

/* Clamped to TL_TS_MAX_SEC (source.h says why). */
static int64_t clamp_us(int64_t sec, int64_t usec)
{
    if (sec > TL_TS_MAX_SEC)
        sec = TL_TS_MAX_SEC;
    else if (sec < -TL_TS_MAX_SEC)
        sec = -TL_TS_MAX_SEC;
    return sec * TL_USEC_PER_SEC + usec;
}

/* libpcap found the end. A compressed stream may still have been cut at a
 * record's end; a pcapng's statistics are now final. */
static void end_of_file(struct input *in)
{
    const char *why = in->z != NULL ? tl_zstream_error(in->z) : NULL;
    if (why != NULL) {
        char msg[256];
        snprintf(msg, sizeof msg, "read error after packet %llu: %s",
                 (unsigned long long)in->info.packets, why);
        tl_source_set_error(in, TL_EFORMAT, msg);
        return;
    }
    if (in->scan == NULL)
        return;
    if (tl_pcapng_scan_nomem(in->scan)) {
        tl_source_set_error(in, TL_ENOMEM, "out of memory for its pcapng interface statistics");
        return;
    }
    struct tl_pcapng_stats st;
    tl_pcapng_scan_stats(in->scan, &st);
    in->info.has_endtime = st.has_endtime;
    /* On the frames' clock: as ts_us() takes libpcap's time of a frame. */
    in->info.endtime_us = st.has_endtime ? clamp_us(st.end_sec, st.end_usec) : 0;
    in->info.has_ifstats = st.has_ifstats;
    in->info.if_recv = st.if_recv;
    in->info.if_drop = st.if_drop;
    in->info.os_drop = st.os_drop;
}

/* Makes sure in has a pending frame, if it has any left. */
static void fill(struct input *in)
{
    if (in->pending || in->pcap == NULL)
        return;
    if (in->fast != NULL && fill_fast(in))
        return;
    int rc = pcap_next_ex(in->pcap, &in->hdr, &in->data);
    if (rc == 1) {
        in->pending = true;
        /* A pcap record header and the frame. */
        in->record_bytes += 16 + in->hdr->caplen;
        return;
    }
    /* A live handle in non-blocking mode: nothing has arrived yet. */
    if (rc == 0)
        return;
    if (rc == PCAP_ERROR)
        read_error(in);
    else
        end_of_file(in);
    /* End of file (PCAP_ERROR_BREAK) or error: this input is done. */
    close_input(in);
}

static int64_t ts_us(const struct pcap_pkthdr *h)
{
    return clamp_us((int64_t)h->ts.tv_sec, (int64_t)h->ts.tv_usec);
}

/* The input whose pending frame comes first (ties: input order), of
 * those being read. */
static struct input *earliest(struct tl_source *src)
{
    struct input *best = NULL;
    for (size_t i = src->lo; i < src->hi; i++) {
        struct input *in = &src->in[i];
        fill(in);
        if (in->pending && (best == NULL || ts_us(in->hdr) < ts_us(best->hdr)))
            best = in;
    }
    return best;
}

enum tl_status tl_source_next(struct tl_source *src, struct tl_frame *f)
{
    if (src->max_packets != 0 && src->handed_out >= src->max_packets)
        return TL_EOF;
    struct input *best;
    for (;;) {
        best = earliest(src);
        if (best == NULL)
            return src->live && src->in[0].pcap != NULL ? TL_EAGAIN : TL_EOF;
        best->pending = false;
        best->info.packets++;
        src->frames++;
        src->block_frames += best->fast != NULL;
        if (!best->has_filter || pcap_offline_filter(&best->prog, best->hdr, best->data))
            break;
    }
    src->handed_out++;
    if (src->dump != NULL)
        pcap_dump((u_char *)src->dump, best->hdr, best->data);
    f->ts_us = ts_us(best->hdr);
    f->caplen = best->hdr->caplen;
    f->wirelen = best->hdr->len;
    f->data = best->data;
    f->linktype = best->info.linktype;
    f->input = (unsigned)(best - src->in);
    f->pkt_no = src->frames;
    return TL_OK;
}

void tl_source_follow(struct tl_source *src)
{
    src->lo = src->nown;
    src->hi = src->n;
}

bool tl_source_follow_done(const struct tl_source *src)
{
    for (size_t i = src->nown; i < src->n; i++)
        if (src->in[i].pcap != NULL)
            return false;
    return true;
}

void tl_source_progress(const struct tl_source *src, struct tl_read_progress *p)
{
    memset(p, 0, sizeof *p);
    p->frames = src->frames;
    bool sized = true;
    for (size_t i = 0; i < src->n; i++) {
        const struct input *in = &src->in[i];
        if (!in->opened)
            continue;
        uint64_t off = in->pcap != NULL ? input_offset(in) : in->offset;
        /* stdin may start partway into its file: never count past the end. */
        if (in->sized && off > in->size)
            off = in->size;
        p->bytes += off;
        p->total += in->size;
        sized = sized && in->sized;
    }
    if (!sized)
        p->total = 0;
}

uint64_t tl_source_block_frames(const struct tl_source *src) { return src->block_frames; }

size_t tl_source_ninputs(const struct tl_source *src) { return src->n; }

size_t tl_source_nown(const struct tl_source *src) { return src->nown; }

const struct tl_input_info *tl_source_input(const struct tl_source *src, size_t i)
{
    return i < src->n ? &src->in[i].info : NULL;
}

void tl_source_free(struct tl_source *src)
{
    if (src == NULL)
        return;
    if (src->dump != NULL)
        pcap_dump_close(src->dump);
    for (size_t i = 0; i < src->n; i++) {
        if (src->in[i].pcap != NULL)
            close_input(&src->in[i]);
        if (src->in[i].has_filter)
            pcap_freecode(&src->in[i].prog);
    }
    free(src->in);
    free(src);
}
