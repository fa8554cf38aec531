/* Status names, diagnostics and address helpers shared by every module. */
#include "tcplens/status.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[] = {
    [TL_OK] = "success",
    [TL_ENOMEM] = "out of memory",
    [TL_EIO] = "input/output error",
    [TL_EPCAP] = "capture library error",
    [TL_EFORMAT] = "not a valid capture",
    [TL_ELINKTYPE] = "unsupported link type",
    [TL_EINVAL] = "invalid argument",
    [TL_EOF] = "end of input",
    [TL_EAGAIN] = "no packet yet",
};
_Static_assert(sizeof status_names / sizeof status_names[0] == TL_NSTATUS,
               "every status has a name");

const char *tl_status_str(enum tl_status st)
{
    return (unsigned)st < TL_NSTATUS ? status_names[st] : "unknown status";
}

void tl_diag_set(struct tl_diag *d, const char *fmt, ...)
{
    if (d == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
}

/* "a.b.c.d" without inet_ntop, which costs ~2k instructions an address
 * and runs for every connection a report writes. */
static const char *ipv4_str(const uint8_t *b, char *buf)
{
    char *p = buf;
    for (int i = 0; i < 4; i++) {
        unsigned v = b[i];
        if (v >= 100)
            *p++ = (char)('0' + v / 100);
        if (v >= 10)
            *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
        *p++ = i < 3 ? '.' : '\0';
    }
    return buf;
}

/* The text inet_ntop gives an IPv6 address (RFC 5952: lowercase hex
 * without leading zeros, the first longest run of two or more zero words
 * as "::", an IPv4 tail for ::a.b.c.d, ::ffff:a.b.c.d), without its cost.
 * buf holds 46 bytes. */
static const char *ipv6_str(const uint8_t *b, char *buf)
{
    unsigned w[8];
    int base = -1, len = 0, cur = -1, curlen = 0;
    for (int i = 0; i < 8; i++) {
        w[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
        if (w[i] == 0) {
            if (cur < 0)
                cur = i, curlen = 0;
            if (++curlen > len && curlen >= 2)
                base = cur, len = curlen;
        } else {
            cur = -1;
        }
    }
    char *p = buf;
    for (int i = 0; i < 8; i++) {
        if (base >= 0 && i >= base && i < base + len) {
            if (i == base)
                *p++ = ':';
            continue;
        }
        if (i != 0)
            *p++ = ':';
        if (i == 6 && base == 0 &&
            (len == 6 || (len == 7 && w[7] != 1) || (len == 5 && w[5] == 0xffff))) {
            ipv4_str(b + 12, p);
            return buf;
        }
        static const char hex[] = "0123456789abcdef";
        bool lead = true;
        for (int s = 12; s >= 0; s -= 4) {
            unsigned d = (w[i] >> s) & 0xf;
            if (d == 0 && lead && s > 0)
                continue;
            lead = false;
            *p++ = hex[d];
        }
    }
    if (base >= 0 && base + len == 8)
        *p++ = ':';
    *p = '\0';
    return buf;
}

bool tl_addr_parse(const char *s, struct tl_addr *a)
{
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, s, a->b) == 1)
        a->family = TL_AF_INET;
    else if (inet_pton(AF_INET6, s, a->b) == 1)
        a->family = TL_AF_INET6;
    else
        memset(a->b, 0, sizeof a->b);
    return a->family != 0;
}

const char *tl_addr_str(const struct tl_addr *a, char *buf, size_t size)
{
    if (a->family != TL_AF_INET6 && size >= 16)
        return ipv4_str(a->b, buf);
    if (a->family == TL_AF_INET6 && size >= 46)
        return ipv6_str(a->b, buf);
    int af = a->family == TL_AF_INET6 ? AF_INET6 : AF_INET;
    if (inet_ntop(af, a->b, buf, (socklen_t)size) == NULL && size > 0)
        buf[0] = '\0';
    return buf;
}
