/*
 * Packing of mostly-zero memory: a bitmap of the non-zero 64-bit words,
 * then those words. An ended connection's state is kept this way while
 * it lingers for late packets (src/engine.c), much as Linux keeps a
 * TIME_WAIT socket as a small "minisock": most of a connection's state
 * is counters and times that never left zero.
 */
#ifndef TCPLENS_PACK_H
#define TCPLENS_PACK_H

#include <stddef.h>
#include <stdint.h>

/* Bytes tl_pack() writes for n bytes at src (n a multiple of 8). */
size_t tl_pack_size(const void *src, size_t n);

/* Packs n bytes at src into dst (tl_pack_size(src, n) bytes); returns
 * the bytes written. src need not be aligned. */
size_t tl_pack(uint8_t *dst, const void *src, size_t n);

/* Restores n bytes into dst from what tl_pack() wrote at src; returns
 * the bytes read. */
size_t tl_unpack(void *dst, size_t n, const uint8_t *src);

#endif
