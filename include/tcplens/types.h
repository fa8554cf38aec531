/* Shared scalar types, attributes and the caller-owned diagnostics buffer. */
#ifndef TCPLENS_TYPES_H
#define TCPLENS_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Mark functions whose result must be looked at (status codes, allocations). */
#define TL_MUST_CHECK __attribute__((warn_unused_result))
#define TL_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* Microseconds on the pcap clock (since the Unix epoch). Never wall-clock time. */
#define TL_USEC_PER_SEC INT64_C(1000000)

/*
 * Human detail about a failure, owned by the caller (like libpcap's errbuf or
 * jansson's json_error_t). msg is always NUL-terminated; pkt_no is the 1-based
 * packet number the message is about, 0 when none.
 */
struct tl_diag {
    char msg[256];
    uint64_t pkt_no;
};

/* An IPv4 or IPv6 address. IPv4 uses the first 4 bytes; the rest are zero. */
struct tl_addr {
    uint8_t family; /* TL_AF_INET or TL_AF_INET6 */
    uint8_t b[16];
};

enum { TL_AF_INET = 4, TL_AF_INET6 = 6 };

/* Longest text form of an address, including the NUL. */
#define TL_ADDR_STRLEN 46

/* Writes the numeric text form of a into buf (size >= TL_ADDR_STRLEN). */
const char *tl_addr_str(const struct tl_addr *a, char *buf, size_t size);

/* The reverse: s, an IPv4 or IPv6 address in text, into *a; false (and *a
 * zeroed) when it is neither. */
bool tl_addr_parse(const char *s, struct tl_addr *a);

/* The address bytes as two 64-bit words, most significant byte first, so
 * that comparing the words orders the addresses as memcmp() would. */
static inline uint64_t tl_addr_word(const struct tl_addr *a, int i)
{
    uint64_t w;
    memcpy(&w, a->b + 8 * i, sizeof w);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/* Byte-wise order of two addresses (family first); <0, 0, >0 like memcmp.
 * Inline: the flow table compares two addresses a packet. */
static inline int tl_addr_cmp(const struct tl_addr *a, const struct tl_addr *b)
{
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    for (int i = 0; i < 2; i++) {
        uint64_t x = tl_addr_word(a, i), y = tl_addr_word(b, i);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

#endif
