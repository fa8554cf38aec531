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

/* Most bytes tl_pack() writes for n bytes (n a multiple of 8): the
 * bitmap, and every word when none is zero. */
static inline size_t tl_pack_bound(size_t n) { return (n / 8 + 7) / 8 + n; }

/* Packs n bytes at src into dst (room for tl_pack_bound(n)); returns the
 * bytes written: a bit per word, then the non-zero words. src need not be
 * aligned. */
size_t tl_pack(uint8_t *dst, const void *src, size_t n);

/* Restores n bytes into dst from what tl_pack() wrote at src; returns
 * the bytes read. */
size_t tl_unpack(void *dst, size_t n, const uint8_t *src);

#endif
