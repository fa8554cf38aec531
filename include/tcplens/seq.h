/*
 * TCP sequence-number arithmetic modulo 2^32 (RFC 9293 section 3.4), the
 * kernel's before()/after() written as functions. Unsigned subtraction then a
 * conversion to int32_t: no signed overflow, correct across wrap-around.
 */
#ifndef TCPLENS_SEQ_H
#define TCPLENS_SEQ_H

#include "tcplens/types.h"

/* Signed distance a - b, for |distance| < 2^31. */
static inline int32_t tl_seq_diff(uint32_t a, uint32_t b)
{
    uint32_t d = a - b;
    /* Converting a value above INT32_MAX is implementation-defined in C11;
     * spell out the two's-complement result instead. */
    return d <= (uint32_t)INT32_MAX ? (int32_t)d : -(int32_t)(UINT32_MAX - d) - 1;
}

static inline bool tl_seq_lt(uint32_t a, uint32_t b) { return tl_seq_diff(a, b) < 0; }
static inline bool tl_seq_le(uint32_t a, uint32_t b) { return tl_seq_diff(a, b) <= 0; }
static inline bool tl_seq_gt(uint32_t a, uint32_t b) { return tl_seq_diff(a, b) > 0; }
static inline bool tl_seq_ge(uint32_t a, uint32_t b) { return tl_seq_diff(a, b) >= 0; }

/* Sequence number relative to an initial one (what tcpdump and Zeek print). */
static inline uint32_t tl_seq_rel(uint32_t seq, uint32_t isn) { return seq - isn; }

#endif
