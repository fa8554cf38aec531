/*
 * The records of a classic pcap file in this host's byte order, read in
 * large blocks with pread(2) and handed out where they lie in the block:
 * libpcap's reader makes two fread() calls and a copy per frame, which
 * cost as much as a fifth of the analysis of a header-only capture.
 *
 * Only a record libpcap would hand out exactly as it is in the file is
 * read here: the whole 16-byte header and caplen bytes present, caplen
 * within the snapshot length, a fraction of a second that is one. At the
 * first record that is not, libpcap takes over from that record's offset
 * (tl_fast_handover), so every truncation, lying length or odd
 * timestamp meets libpcap's own handling and message. Swapped files,
 * other versions and pcapng are libpcap's from the start, as is all that
 * is read through a decompress.h stream (compressed files, stdin, pipes:
 * source_file.c's open_capture()), which has no file to pread(2).
 * tests/reader-diff.sh holds both readers to the same frames on every
 * capture in the tree and in ../shared.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source_int.h"

#define FAST_BLOCK (1024 * 1024) /* > 16 + the largest snapshot (262144) */
#define MAGIC_USEC UINT32_C(0xa1b2c3d4)
#define MAGIC_NSEC UINT32_C(0xa1b23c4d)

struct fast {
    int fd;
    uint8_t *buf;
    size_t have, pos;  /* bytes in buf, and the next record's place in it */
    uint64_t buf_off;  /* the file offset of buf[0] */
    uint32_t snapshot; /* libpcap's, which caps caplen */
    bool nsec;         /* nanosecond fractions, scaled to µs as libpcap does */
    bool eof;          /* pread returned 0: nothing more in the file */
    struct pcap_pkthdr hdr;
};

static uint32_t u32_at(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint16_t u16_at(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The file's header, read apart from libpcap's stream: this reader's only
 * when it is a classic pcap 2.4 header in this host's byte order. */
static bool header_fits(int fd, bool *nsec)
{
    uint8_t h[24];
    if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h)
        return false;
    uint32_t magic = u32_at(h);
    if ((magic != MAGIC_USEC && magic != MAGIC_NSEC) || u16_at(h + 4) != 2 || u16_at(h + 6) != 4)
        return false;
    *nsec = magic == MAGIC_NSEC;
    return true;
}

bool tl_fast_open(struct input *in)
{
    FILE *fp = pcap_file(in->pcap);
    struct stat sb;
    bool nsec;
    if (fp == NULL || fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode) ||
        !header_fits(fileno(fp), &nsec))
        return false;
    struct fast *f = calloc(1, sizeof *f);
    if (f != NULL)
        f->buf = malloc(FAST_BLOCK);
    if (f == NULL || f->buf == NULL) {
        free(f);
        return false; /* libpcap reads it, a little slower */
    }
    f->fd = fileno(fp);
    f->nsec = nsec;
    f->snapshot = (uint32_t)pcap_snapshot(in->pcap);
    f->buf_off = 24;
    in->fast = f;
    return true;
}

/* Makes at least need bytes available from pos, moving what is left to
 * the front and reading after it; false when the file has fewer. */
static bool available(struct fast *f, size_t need)
{
    if (f->have - f->pos >= need)
        return true;
    if (f->eof)
        return false;
    size_t left = f->have - f->pos;
    memmove(f->buf, f->buf + f->pos, left);
    f->buf_off += f->pos;
    f->pos = 0;
    f->have = left;
    while (f->have < need) {
        ssize_t n = pread(f->fd, f->buf + f->have, FAST_BLOCK - f->have,
                          (off_t)(f->buf_off + f->have));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) { /* end of file, or an error libpcap will meet too */
            f->eof = true;
            return false;
        }
        f->have += (size_t)n;
    }
    return true;
}

int tl_fast_next(struct input *in, struct pcap_pkthdr **hdr, const uint8_t **data)
{
    struct fast *f = in->fast;
    if (!available(f, 16))
        return f->have == f->pos ? 0 : -1; /* a clean end, or a cut header */
    const uint8_t *r = f->buf + f->pos;
    uint32_t sec = u32_at(r), frac = u32_at(r + 4), caplen = u32_at(r + 8);
    if (caplen > f->snapshot || frac >= (f->nsec ? 1000000000u : 1000000u) ||
        !available(f, 16 + (size_t)caplen))
        return -1;
    r = f->buf + f->pos;
    f->hdr.ts.tv_sec = (int32_t)sec; /* libpcap's seconds are signed 32 bits */
    f->hdr.ts.tv_usec = (suseconds_t)(f->nsec ? frac / 1000 : frac);
    f->hdr.caplen = caplen;
    f->hdr.len = u32_at(r + 12);
    *hdr = &f->hdr;
    *data = r + 16;
    f->pos += 16 + (size_t)caplen;
    return 1;
}

uint64_t tl_fast_offset(const struct input *in)
{
    const struct fast *f = in->fast;
    return f->buf_off + f->pos;
}

bool tl_fast_handover(struct input *in)
{
    uint64_t off = tl_fast_offset(in);
    tl_fast_close(in);
    FILE *fp = pcap_file(in->pcap);
    return fp != NULL && fseeko(fp, (off_t)off, SEEK_SET) == 0;
}

void tl_fast_close(struct input *in)
{
    if (in->fast == NULL)
        return;
    free(in->fast->buf);
    free(in->fast);
    in->fast = NULL;
}
