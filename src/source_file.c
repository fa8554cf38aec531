/*
 * Capture files through libpcap (pcap and pcapng; "-" is stdin), several
 * merged in timestamp order as rotated tcpdump captures need. libpcap is
 * asked for microsecond timestamps, so nanosecond files are scaled for us.
 * libpcap opens every file and checks its header; the records of a classic
 * pcap file are then read in blocks (source_read.c) until one needs
 * libpcap's own handling.
 */
#include "tcplens/source.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "source_int.h"

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

/* Opens a capture ("-" is stdin). A file that cannot be opened at all is an
 * I/O error; one that opens but is no capture is a format error. */
static pcap_t *open_capture(struct input *in)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    const u_int prec = PCAP_TSTAMP_PRECISION_MICRO;
    pcap_t *p = NULL;
    if (strcmp(in->info.name, "-") == 0) {
        p = pcap_open_offline_with_tstamp_precision(in->info.name, prec, errbuf);
    } else {
        FILE *fp = fopen(in->info.name, "rb");
        if (fp == NULL) {
            tl_source_set_error(in, TL_EIO, strerror(errno));
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
        p = pcap_fopen_offline_with_tstamp_precision(fp, prec, errbuf);
        if (p == NULL) {
            fclose(fp);
            free(in->iobuf);
            in->iobuf = NULL;
        }
    }
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
    if (!cfg->libpcap_reads && strcmp(in->info.name, "-") != 0)
        tl_fast_open(in);
    /* The pcap file header: 24 bytes. */
    in->record_bytes = 24;
    FILE *fp = pcap_file(in->pcap);
    struct stat sb;
    if (fp != NULL && fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode)) {
        in->sized = true;
        in->size = (uint64_t)sb.st_size;
    }
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
    src->in = calloc(npaths ? npaths : 1, sizeof *src->in);
    if (src->in == NULL) {
        free(src);
        return TL_ENOMEM;
    }
    src->n = npaths;
    src->max_packets = cfg->max_packets;
    src->accept_linktype = cfg->accept_linktype;
    for (size_t i = 0; i < npaths; i++) {
        src->in[i].info.name = paths[i];
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
    if (rc == PCAP_ERROR) {
        char msg[PCAP_ERRBUF_SIZE + 64];
        snprintf(msg, sizeof msg, "read error after packet %llu: %s",
                 (unsigned long long)in->info.packets, pcap_geterr(in->pcap));
        tl_source_set_error(in, TL_EFORMAT, msg);
    }
    /* End of file (PCAP_ERROR_BREAK) or error: this input is done. */
    close_input(in);
}

/* Clamped to TL_TS_MAX_SEC (source.h says why). */
static int64_t ts_us(const struct pcap_pkthdr *h)
{
    int64_t sec = (int64_t)h->ts.tv_sec;
    if (sec > TL_TS_MAX_SEC)
        sec = TL_TS_MAX_SEC;
    else if (sec < -TL_TS_MAX_SEC)
        sec = -TL_TS_MAX_SEC;
    return sec * TL_USEC_PER_SEC + (int64_t)h->ts.tv_usec;
}

/* The input whose pending frame comes first (ties: input order). */
static struct input *earliest(struct tl_source *src)
{
    struct input *best = NULL;
    for (size_t i = 0; i < src->n; i++) {
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
