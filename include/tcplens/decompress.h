/*
 * Reading a capture through a decompressor: gzip (several members one
 * after another too), zstd, lz4 (frame format) and xz, told apart by their
 * magic bytes, never by the file's name, and decoded as they are read,
 * without a temporary file. The decoded bytes come out of a stdio stream
 * (fopencookie(3)) that libpcap reads as it would the file itself; an
 * uncompressed file can take the same way, so that a watcher sees every
 * byte libpcap reads (the pcapng statistics, pcapng_scan.h).
 */
#ifndef TCPLENS_DECOMPRESS_H
#define TCPLENS_DECOMPRESS_H

#include <stdio.h>

#include "tcplens/status.h"
#include "tcplens/types.h"

enum tl_zfmt { TL_Z_NONE = 0, TL_Z_GZIP, TL_Z_ZSTD, TL_Z_LZ4, TL_Z_XZ };

/* The compressed format whose magic bytes start b (n bytes of the start of
 * a file), TL_Z_NONE for any other. Six bytes are enough to tell. */
enum tl_zfmt tl_zfmt_detect(const uint8_t *b, size_t n);

/* "gzip", "zstd", "lz4", "xz"; "" for TL_Z_NONE. */
const char *tl_zfmt_name(enum tl_zfmt fmt);

/* Whether this build can decode fmt (configure found its library). */
bool tl_zfmt_built(enum tl_zfmt fmt);

struct tl_zstream;

/*
 * Starts reading fd (a file, a pipe, stdin) from where it is: reads its
 * first bytes, tells the format from them and prepares the decoder.
 * Returns TL_ENOMEM, TL_EIO (the first read failed) or TL_EFORMAT (a format
 * this build cannot decode: d says which, in one line). On success the
 * stream closes fd when it is freed if own_fd; on failure fd is left open.
 */
TL_MUST_CHECK enum tl_status tl_zstream_open(struct tl_zstream **out, int fd, bool own_fd,
                                             struct tl_diag *d);

/* The format found, TL_Z_NONE when the bytes pass through as they are. */
enum tl_zfmt tl_zstream_format(const struct tl_zstream *z);

/* fn sees every decoded byte, in order, before the reader gets it. */
void tl_zstream_watch(struct tl_zstream *z, void (*fn)(void *arg, const uint8_t *p, size_t n),
                      void *arg);

/*
 * A read-only stdio stream of the decoded bytes. It cannot seek. Closing it
 * leaves z alone: free z after the stream is closed. A stream that cannot
 * be decoded to its end reads as ending early (cut short) or with an error
 * (corrupt data, a read error); tl_zstream_error() then says which.
 */
TL_MUST_CHECK FILE *tl_zstream_fopen(struct tl_zstream *z);

/* The bytes read from fd so far (compressed bytes, for a progress line). */
uint64_t tl_zstream_consumed(const struct tl_zstream *z);

/* Why decoding stopped before the end of the compressed data, in one line
 * ("gzip data truncated: ..."), or NULL when it has not. */
const char *tl_zstream_error(const struct tl_zstream *z);

void tl_zstream_free(struct tl_zstream *z);

#endif
