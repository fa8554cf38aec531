/*
 * Compressed captures, decoded as libpcap reads them (decompress.h).
 *
 * The stdio stream handed to libpcap is a fopencookie(3) stream whose read
 * function decodes the next bytes: nothing is written to disk, and stdin
 * and pipes work as files do. Each format is a codec: a step() that decodes
 * what it can of the compressed bytes at hand into the reader's buffer and
 * says whether the compressed stream may end there. The loop around it
 * (decode()) refills the input and tells a clean end (the input ends
 * between frames or members) from a cut one (the input ends inside one)
 * and from corrupt data, so that the source can say which in one line.
 * A codec whose library configure did not find is left out; its format is
 * still recognised, so the error can name it.
 */
#include "tcplens/decompress.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif
#ifdef HAVE_LZ4
#include <lz4frame.h>
#endif
#ifdef HAVE_LZMA
#include <lzma.h>
#endif

#define IN_BUFFER (256 * 1024)  /* compressed bytes read at a time */
#define OUT_BUFFER (256 * 1024) /* the stdio buffer libpcap reads from */
#define MAGIC_MAX 6             /* bytes that tell every format apart */
#define XZ_MEMLIMIT (UINT64_C(512) << 20)
#define MAX_STALLS 4

/* What a codec's step did with the bytes it was given. */
enum step {
    STEP_OK,    /* went on (or needs more input) */
    STEP_END,   /* the compressed data ended cleanly: nothing more comes */
    STEP_TRUNC, /* the input ended inside a frame or member */
    STEP_ERR    /* corrupt data, or no memory: z->err says which */
};

struct tl_zstream;

struct codec {
    enum tl_zfmt fmt;
    const char *library; /* named when this build lacks it */
    bool (*init)(struct tl_zstream *z);
    /* Decodes from in[0..n) into out[0..cap); *used and *made say how much
     * was taken and given. last: the input has ended, in holds all that
     * is left of it. */
    enum step (*step)(struct tl_zstream *z, const uint8_t *in, size_t n, bool last, uint8_t *out,
                      size_t cap, size_t *used, size_t *made);
    void (*end)(struct tl_zstream *z);
};

struct tl_zstream {
    int fd;
    bool own_fd;
    enum tl_zfmt fmt;
    const struct codec *codec;
    uint8_t *in; /* compressed bytes read and not yet decoded */
    size_t in_len, in_pos;
    bool in_eof;       /* read(2) gave 0: the input has ended */
    uint64_t consumed; /* bytes read from fd */
    bool done;         /* nothing more will be decoded */
    bool hard;         /* ... because of an error: reads fail, not just end */
    unsigned stalls;   /* steps in a row that neither took nor gave a byte */
    bool frame_done;   /* at a frame (member) boundary: the input may end */
    char err[200];
    void (*watch)(void *arg, const uint8_t *p, size_t n);
    void *watch_arg;
    char *iobuf; /* the stdio buffer of tl_zstream_fopen()'s stream */
    union {
        int none;
#ifdef HAVE_ZLIB
        z_stream gz;
#endif
#ifdef HAVE_ZSTD
        ZSTD_DStream *zs;
#endif
#ifdef HAVE_LZ4
        LZ4F_dctx *lz;
#endif
#ifdef HAVE_LZMA
        lzma_stream xz;
#endif
    } dec;
};

static void set_error(struct tl_zstream *z, const char *fmt, ...) TL_PRINTF(2, 3);

static void set_error(struct tl_zstream *z, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(z->err, sizeof z->err, fmt, ap);
    va_end(ap);
}

#if defined(HAVE_ZSTD) || defined(HAVE_LZ4)
/* zstd's and lz4's decoders return 0 at a frame's end and start the next
 * frame by themselves: the input may end only there. */
static enum step frame_step(struct tl_zstream *z, bool frame_end, size_t used, size_t made,
                            bool last)
{
    if (frame_end)
        z->frame_done = true;
    else if (used > 0)
        z->frame_done = false;
    if (!last || made > 0)
        return STEP_OK;
    return z->frame_done ? STEP_END : STEP_TRUNC;
}
#endif

/* ---- gzip (zlib) --------------------------------------------------- */

#ifdef HAVE_ZLIB
static bool gz_init(struct tl_zstream *z)
{
    memset(&z->dec.gz, 0, sizeof z->dec.gz);
    /* 16 + 15: gzip headers only, the largest window. */
    return inflateInit2(&z->dec.gz, 16 + MAX_WBITS) == Z_OK;
}

/* gzip(1) writes one member a file, but `cat a.gz b.gz` is a valid .gz
 * with two: after the end of a member, more input starts another. */
static enum step gz_step(struct tl_zstream *z, const uint8_t *in, size_t n, bool last, uint8_t *out,
                         size_t cap, size_t *used, size_t *made)
{
    z_stream *s = &z->dec.gz;
    if (z->frame_done) {
        if (n == 0)
            return last ? STEP_END : STEP_OK;
        if (inflateReset(s) != Z_OK)
            return STEP_ERR;
        z->frame_done = false;
    }
    s->next_in = (Bytef *)(uintptr_t)in; /* zlib does not write the input */
    s->avail_in = (uInt)(n < UINT_MAX ? n : UINT_MAX);
    s->next_out = out;
    s->avail_out = (uInt)(cap < UINT_MAX ? cap : UINT_MAX);
    int rc = inflate(s, Z_NO_FLUSH);
    *used = (size_t)(s->next_in - in);
    *made = (size_t)(s->next_out - out);
    if (rc == Z_STREAM_END)
        z->frame_done = true;
    if (rc == Z_OK || rc == Z_STREAM_END)
        return STEP_OK;
    /* No progress possible: more input is needed, and at the end there
     * is none. */
    if (rc == Z_BUF_ERROR)
        return last && *made == 0 ? STEP_TRUNC : STEP_OK;
    set_error(z, "gzip data corrupt: %s",
              rc == Z_MEM_ERROR ? "out of memory"
              : s->msg          ? s->msg
                                : "bad data");
    return STEP_ERR;
}

static void gz_end(struct tl_zstream *z) { inflateEnd(&z->dec.gz); }
#endif

/* ---- zstd ------------------------------------------------------------ */

#ifdef HAVE_ZSTD
/* libzstd's default window limit (128 MiB) stays: zstd(1) refuses larger
 * windows too unless told, and garbage after the magic cannot make us
 * allocate more. */
static bool zs_init(struct tl_zstream *z)
{
    z->dec.zs = ZSTD_createDStream();
    return z->dec.zs != NULL && !ZSTD_isError(ZSTD_initDStream(z->dec.zs));
}

/* Frames one after another (zstd's concatenation) decode as one stream:
 * a return of 0 says a frame has ended and been flushed. */
static enum step zs_step(struct tl_zstream *z, const uint8_t *in, size_t n, bool last, uint8_t *out,
                         size_t cap, size_t *used, size_t *made)
{
    ZSTD_inBuffer ib = {in, n, 0};
    ZSTD_outBuffer ob = {out, cap, 0};
    size_t rc = ZSTD_decompressStream(z->dec.zs, &ob, &ib);
    *used = ib.pos;
    *made = ob.pos;
    if (ZSTD_isError(rc)) {
        set_error(z, "zstd data corrupt: %s", ZSTD_getErrorName(rc));
        return STEP_ERR;
    }
    return frame_step(z, rc == 0, *used, *made, last);
}

static void zs_end(struct tl_zstream *z) { ZSTD_freeDStream(z->dec.zs); }
#endif

/* ---- lz4 frame format -------------------------------------------------- */

#ifdef HAVE_LZ4
static bool lz_init(struct tl_zstream *z)
{
    return !LZ4F_isError(LZ4F_createDecompressionContext(&z->dec.lz, LZ4F_VERSION));
}

/* As for zstd: 0 returned at the end of a frame, and the context then
 * starts the next one by itself. */
static enum step lz_step(struct tl_zstream *z, const uint8_t *in, size_t n, bool last, uint8_t *out,
                         size_t cap, size_t *used, size_t *made)
{
    size_t src = n, dst = cap;
    size_t rc = LZ4F_decompress(z->dec.lz, out, &dst, in, &src, NULL);
    *used = src;
    *made = dst;
    if (LZ4F_isError(rc)) {
        set_error(z, "lz4 data corrupt: %s", LZ4F_getErrorName(rc));
        return STEP_ERR;
    }
    return frame_step(z, rc == 0, *used, *made, last);
}

static void lz_end(struct tl_zstream *z) { LZ4F_freeDecompressionContext(z->dec.lz); }
#endif

/* ---- xz (liblzma) ------------------------------------------------------ */

#ifdef HAVE_LZMA
/* LZMA_CONCATENATED: `cat a.xz b.xz` is read as xz(1) reads it. The memory
 * limit keeps a forged header from asking for gigabytes; xz -9 needs 65 MiB. */
static bool xz_init(struct tl_zstream *z)
{
    lzma_stream init = LZMA_STREAM_INIT;
    z->dec.xz = init;
    return lzma_stream_decoder(&z->dec.xz, XZ_MEMLIMIT, LZMA_CONCATENATED) == LZMA_OK;
}

static const char *xz_why(lzma_ret rc)
{
    switch (rc) {
    case LZMA_MEM_ERROR: return "out of memory";
    case LZMA_MEMLIMIT_ERROR: return "it needs more than 512 MiB of memory";
    case LZMA_FORMAT_ERROR: return "not the .xz format";
    case LZMA_OPTIONS_ERROR: return "options this liblzma does not support";
    default: return "bad data";
    }
}

/* liblzma decides where a stream may end itself: LZMA_FINISH at the end of
 * the input gives LZMA_STREAM_END, or LZMA_BUF_ERROR when it is cut. */
static enum step xz_step(struct tl_zstream *z, const uint8_t *in, size_t n, bool last, uint8_t *out,
                         size_t cap, size_t *used, size_t *made)
{
    lzma_stream *s = &z->dec.xz;
    if (z->frame_done) /* LZMA_STREAM_END came with the last bytes */
        return STEP_END;
    s->next_in = in;
    s->avail_in = n;
    s->next_out = out;
    s->avail_out = cap;
    lzma_ret rc = lzma_code(s, last ? LZMA_FINISH : LZMA_RUN);
    *used = n - s->avail_in;
    *made = cap - s->avail_out;
    if (rc == LZMA_OK)
        return STEP_OK;
    if (rc == LZMA_STREAM_END) {
        z->frame_done = true;
        return *made > 0 ? STEP_OK : STEP_END;
    }
    if (rc == LZMA_BUF_ERROR)
        return last && *made == 0 ? STEP_TRUNC : STEP_OK;
    set_error(z, "xz data corrupt: %s", xz_why(rc));
    return STEP_ERR;
}

static void xz_end(struct tl_zstream *z) { lzma_end(&z->dec.xz); }
#endif

/* Every format tcplens recognises; init is NULL where the build lacks the
 * library. */
static const struct codec codecs[] = {
#ifdef HAVE_ZLIB
    {TL_Z_GZIP, "zlib", gz_init, gz_step, gz_end},
#else
    {TL_Z_GZIP, "zlib", NULL, NULL, NULL},
#endif
#ifdef HAVE_ZSTD
    {TL_Z_ZSTD, "zstd", zs_init, zs_step, zs_end},
#else
    {TL_Z_ZSTD, "zstd", NULL, NULL, NULL},
#endif
#ifdef HAVE_LZ4
    {TL_Z_LZ4, "lz4", lz_init, lz_step, lz_end},
#else
    {TL_Z_LZ4, "lz4", NULL, NULL, NULL},
#endif
#ifdef HAVE_LZMA
    {TL_Z_XZ, "liblzma", xz_init, xz_step, xz_end},
#else
    {TL_Z_XZ, "liblzma", NULL, NULL, NULL},
#endif
};

static const struct codec *codec_of(enum tl_zfmt fmt)
{
    for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++)
        if (codecs[i].fmt == fmt)
            return &codecs[i];
    return NULL;
}

enum tl_zfmt tl_zfmt_detect(const uint8_t *b, size_t n)
{
    /* gzip: 1f 8b, then method 8 (deflate, the only one defined);
     * zstd: frame magic 0xFD2FB528, lz4: frame magic 0x184D2204 (both
     * little-endian); xz: fd '7zXZ' 00. */
    static const struct {
        enum tl_zfmt fmt;
        uint8_t len;
        uint8_t magic[MAGIC_MAX];
    } magics[] = {{TL_Z_GZIP, 3, {0x1f, 0x8b, 0x08}},
                  {TL_Z_ZSTD, 4, {0x28, 0xb5, 0x2f, 0xfd}},
                  {TL_Z_LZ4, 4, {0x04, 0x22, 0x4d, 0x18}},
                  {TL_Z_XZ, 6, {0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00}}};
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++)
        if (n >= magics[i].len && memcmp(b, magics[i].magic, magics[i].len) == 0)
            return magics[i].fmt;
    return TL_Z_NONE;
}

const char *tl_zfmt_name(enum tl_zfmt fmt)
{
    static const char *const names[] = {"", "gzip", "zstd", "lz4", "xz"};
    return (unsigned)fmt < sizeof names / sizeof names[0] ? names[fmt] : "";
}

bool tl_zfmt_built(enum tl_zfmt fmt)
{
    const struct codec *c = codec_of(fmt);
    return fmt == TL_Z_NONE || (c != NULL && c->init != NULL);
}

/* ---- reading ------------------------------------------------------------ */

/* read(2) of up to size bytes into buf; false on an error (recorded). */
static bool read_fd(struct tl_zstream *z, uint8_t *buf, size_t size, size_t *got)
{
    ssize_t n;
    do
        n = read(z->fd, buf, size);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        set_error(z, "read error: %s", strerror(errno));
        z->done = z->hard = true;
        return false;
    }
    *got = (size_t)n;
    z->in_eof = n == 0;
    z->consumed += (uint64_t)n;
    return true;
}

/* Reads the next compressed bytes into the emptied input buffer. */
static bool refill(struct tl_zstream *z)
{
    z->in_pos = z->in_len = 0;
    return read_fd(z, z->in, IN_BUFFER, &z->in_len);
}

/* What a step's outcome means for the stream. */
static void after_step(struct tl_zstream *z, enum step st, bool progress)
{
    const char *name = tl_zfmt_name(z->fmt);
    if (st == STEP_TRUNC)
        set_error(z, "%s data truncated: the file ends inside the compressed stream", name);
    if (st == STEP_ERR && z->err[0] == '\0')
        set_error(z, "%s data corrupt", name);
    if (st == STEP_OK && !progress && ++z->stalls >= MAX_STALLS) {
        /* A decoder that takes nothing and gives nothing would spin for
         * ever: garbage it cannot even reject. */
        set_error(z, "%s data corrupt: the decoder makes no progress", name);
        st = STEP_ERR;
    }
    if (progress)
        z->stalls = 0;
    z->done = st != STEP_OK;
    z->hard = st == STEP_ERR;
}

/* Decodes into out until at least one byte is there or the stream is done. */
static size_t decode(struct tl_zstream *z, uint8_t *out, size_t cap)
{
    size_t made = 0;
    while (made == 0 && !z->done) {
        if (z->in_pos == z->in_len && !z->in_eof && !refill(z))
            break;
        bool last = z->in_pos == z->in_len && z->in_eof;
        size_t used = 0;
        enum step st = z->codec->step(z, z->in + z->in_pos, z->in_len - z->in_pos, last, out, cap,
                                      &used, &made);
        z->in_pos += used;
        after_step(z, st, used > 0 || made > 0);
    }
    return made;
}

/* An uncompressed input: what the format check read first, then straight
 * from fd into the reader's buffer. */
static size_t pass(struct tl_zstream *z, uint8_t *out, size_t cap)
{
    if (z->in_pos < z->in_len) {
        size_t n = z->in_len - z->in_pos < cap ? z->in_len - z->in_pos : cap;
        memcpy(out, z->in + z->in_pos, n);
        z->in_pos += n;
        return n;
    }
    size_t got = 0;
    if (z->in_eof || !read_fd(z, out, cap, &got))
        return 0;
    return got;
}

/* The stream's read function: stdio calls it to refill its buffer. 0 is
 * the end (a cut stream ends early, as a cut file would), -1 an error. */
static ssize_t z_read(void *cookie, char *buf, size_t size)
{
    struct tl_zstream *z = cookie;
    uint8_t *out = (uint8_t *)buf;
    size_t made = z->fmt == TL_Z_NONE ? pass(z, out, size) : decode(z, out, size);
    if (made > 0) {
        if (z->watch != NULL)
            z->watch(z->watch_arg, out, made);
        return (ssize_t)made;
    }
    if (z->hard) {
        errno = EIO;
        return -1;
    }
    return 0;
}

/* The stream does not own z: the source frees it after pcap_close(). */
static int z_close(void *cookie)
{
    (void)cookie;
    return 0;
}

/* Fills the input buffer with the first MAGIC_MAX bytes (fewer if the
 * input is shorter): a pipe may give them a few at a time. */
static bool read_start(struct tl_zstream *z)
{
    while (z->in_len < MAGIC_MAX && !z->in_eof) {
        size_t got = 0;
        if (!read_fd(z, z->in + z->in_len, IN_BUFFER - z->in_len, &got))
            return false;
        z->in_len += got;
    }
    return true;
}

/* Sets up the decoder for z->fmt; TL_OK for an uncompressed input. */
static enum tl_status start_codec(struct tl_zstream *z, struct tl_diag *d)
{
    if (z->fmt == TL_Z_NONE)
        return TL_OK;
    const struct codec *c = codec_of(z->fmt);
    if (c == NULL || c->init == NULL) {
        tl_diag_set(d, "%s-compressed, and this tcplens was built without %s", tl_zfmt_name(z->fmt),
                    c != NULL ? c->library : "its library");
        return TL_EFORMAT;
    }
    if (!c->init(z)) {
        c->end(z);
        tl_diag_set(d, "%s: cannot start the decoder (out of memory)", tl_zfmt_name(z->fmt));
        return TL_ENOMEM;
    }
    z->codec = c;
    return TL_OK;
}

enum tl_status tl_zstream_open(struct tl_zstream **out, int fd, bool own_fd, struct tl_diag *d)
{
    *out = NULL;
    struct tl_zstream *z = calloc(1, sizeof *z);
    if (z == NULL || (z->in = malloc(IN_BUFFER)) == NULL) {
        free(z);
        return TL_ENOMEM;
    }
    z->fd = fd;
    enum tl_status st = TL_OK;
    if (!read_start(z)) {
        tl_diag_set(d, "%s", z->err);
        st = TL_EIO;
    } else {
        z->fmt = tl_zfmt_detect(z->in, z->in_len);
        st = start_codec(z, d);
    }
    if (st != TL_OK) {
        tl_zstream_free(z); /* does not own fd yet */
        return st;
    }
    z->own_fd = own_fd;
    *out = z;
    return TL_OK;
}

enum tl_zfmt tl_zstream_format(const struct tl_zstream *z) { return z->fmt; }

void tl_zstream_watch(struct tl_zstream *z, void (*fn)(void *arg, const uint8_t *p, size_t n),
                      void *arg)
{
    z->watch = fn;
    z->watch_arg = arg;
}

FILE *tl_zstream_fopen(struct tl_zstream *z)
{
    cookie_io_functions_t io = {.read = z_read, .write = NULL, .seek = NULL, .close = z_close};
    FILE *fp = fopencookie(z, "rb", io);
    if (fp == NULL)
        return NULL;
    /* One thread reads it (no stdio locking), and larger refills mean
     * fewer trips through the decoder. */
    __fsetlocking(fp, FSETLOCKING_BYCALLER);
    if (z->iobuf == NULL)
        z->iobuf = malloc(OUT_BUFFER);
    if (z->iobuf != NULL)
        setvbuf(fp, z->iobuf, _IOFBF, OUT_BUFFER);
    return fp;
}

uint64_t tl_zstream_consumed(const struct tl_zstream *z) { return z->consumed; }

const char *tl_zstream_error(const struct tl_zstream *z)
{
    return z->err[0] != '\0' ? z->err : NULL;
}

void tl_zstream_free(struct tl_zstream *z)
{
    if (z == NULL)
        return;
    if (z->codec != NULL)
        z->codec->end(z);
    if (z->own_fd)
        close(z->fd);
    free(z->iobuf);
    free(z->in);
    free(z);
}
