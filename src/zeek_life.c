/*
 * When Zeek starts a connection, turns it around, and removes it:
 * the likely-server-port flip (TCPAnalyzer::WantConnection), the flip on
 * a SYN-ACK followed by an ACK or data, connection reuse (IsReuse), the
 * timers that remove a connection, and the checksums Zeek verifies when
 * it runs without -C.
 */
#include <stdlib.h>
#include <string.h>

#include "zeek_int.h"

/*
 * TCP ports in Zeek's likely_server_ports once the default scripts are
 * loaded (each scripts/base/protocols/<p>/main.zeek adds its analyzer's
 * ports). Sorted for bsearch. A `zeek -b` run loads fewer scripts and so
 * flips fewer connections; docs/zeek-conformance.md lists where that shows.
 */
static const uint16_t likely_server_ports[] = {
    21,   22,   25,   53,   79,   80,   81,   88,   135,  139,  143,  389,  443,  445,  465,  502,
    563,  585,  587,  614,  631,  636,  989,  990,  992,  993,  995,  1080, 1434, 1883, 2811, 3128,
    3268, 3306, 3389, 5222, 5223, 5269, 5432, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000,
};

static int cmp_port(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static bool likely_server_port(uint16_t port)
{
    return bsearch(&port, likely_server_ports,
                   sizeof likely_server_ports / sizeof likely_server_ports[0],
                   sizeof likely_server_ports[0], cmp_port) != NULL;
}

/* TCPAnalyzer::WantConnection: a connection that starts without a SYN, or
 * with a SYN-ACK, is turned around when its source port looks like a
 * server's; when both do, only a non-SYN from the lower port flips (a
 * SYN-ACK might be a stealth scan's answer). */
static bool want_flip(uint16_t sport, uint16_t dport, uint8_t flags)
{
    bool syn = (flags & TL_TH_SYN) != 0;
    if (syn && !(flags & TL_TH_ACK))
        return false;
    if (!likely_server_port(sport))
        return false;
    if (likely_server_port(dport))
        return !syn && sport < dport;
    return true;
}

void zk_flip_roles(struct tl_zeek *z)
{
    z->orig_is_a = !z->orig_is_a;
    z->first_seen = (uint8_t)(((z->first_seen & 1) << 1) | ((z->first_seen & 2) >> 1));
    z->is_partial = false;
    zk_add_history(z, '^');
}

void zk_start(struct tl_zeek *z, const struct zk_seg *s, uint16_t sport, uint16_t dport)
{
    z->started = true;
    z->orig_is_a = s->side == 0;
    z->start_us = z->last_us = s->t;
    z->is_active = true;
    /* A new TCP session starts with the UDP inactivity timeout; leaving
     * the handshake switches it to tcp_inactivity_timeout. */
    z->inactivity_us = ZK_HANDSHAKE_IDLE;
    z->expire_at[0] = s->t + ZK_SYN_TIMEOUT;
    if (want_flip(sport, dport, s->flags))
        zk_flip_roles(z);
}

/*
 * A connection that began with a SYN-ACK (and was not turned around for
 * its ports) is flipped when an ACK or data follows, from either side: a
 * stealth scan's SYN-ACK draws a RST or nothing. Zeek then shows the
 * history as if the flip had happened at the first packet ("^h"); the
 * SYN-ACK's sender becomes the responder, established as a responder's
 * SYN-ACK makes it.
 */
void zk_late_flip(struct tl_zeek *z, const struct zk_seg *s)
{
    if (z->hlen != 1 || z->history[0] != 'H' || zk_syn(s) || zk_fin(s) || zk_rst(s) ||
        (!zk_ack(s) && s->len == 0))
        return;
    struct tl_zeek_ep *synack = zk_orig(z);
    z->orig_is_a = !z->orig_is_a;
    z->first_seen = (uint8_t)(((z->first_seen & 1) << 1) | ((z->first_seen & 2) >> 1));
    z->is_partial = false;
    z->hist_seen = (z->hist_seen << 16) | (z->hist_seen >> 16);
    memcpy(z->history, "^h", 3);
    z->hlen = 2;
    if (synack->state == TL_ZEEK_SYN_ACK_SENT)
        zk_set_state(z, synack, TL_ZEEK_ESTABLISHED);
}

/* TCPSessionAdapter::IsReuse: does this SYN (or a SYN-ACK to an
 * originator that never spoke) start a new connection on the 4-tuple? */
bool zk_is_reuse(struct tl_zeek *z, const struct zk_seg *s)
{
    if (!zk_syn(s))
        return false;
    struct tl_zeek_ep *orig = zk_orig(z), *resp = zk_resp(z);
    struct tl_zeek_ep *conn_orig = orig;
    if (zk_ack(s)) {
        /* Only a half connection can be reused by a SYN-ACK. */
        if (orig->state != TL_ZEEK_INACTIVE)
            return false;
        conn_orig = resp;
    }
    /* Once either side closed, any SYN is a new connection. */
    if (orig->did_close || resp->did_close)
        return true;
    if (s->seq == (uint32_t)conn_orig->start_seq)
        return false; /* a retransmission */
    /* SYN and SYN-ACK seen in reverse order: Process flips it instead. */
    if (!zk_ack(s) && conn_orig->state == TL_ZEEK_SYN_ACK_SENT && resp->state == TL_ZEEK_INACTIVE &&
        s->seq == (uint32_t)resp->start_seq)
        return false;
    return true;
}

void zk_cancel_timers(struct tl_zeek *z)
{
    z->attempt_at = 0;
    z->delete_at = 0;
    memset(z->expire_at, 0, sizeof z->expire_at);
}

void zk_add_expire(struct tl_zeek *z, int64_t at)
{
    for (size_t i = 0; i < TL_ZEEK_MAX_EXPIRE; i++) {
        if (z->expire_at[i] == 0 || z->expire_at[i] == at) {
            z->expire_at[i] = at;
            return;
        }
    }
    /* All chains busy: keep the earliest ones, they fire first. */
}

/* First firing of a timer chain (at, at + period, …) not before bound. */
static int64_t first_firing(int64_t at, int64_t bound)
{
    if (at >= bound)
        return at;
    return at + (bound - at + ZK_SESSION_TIMER - 1) / ZK_SESSION_TIMER * ZK_SESSION_TIMER;
}

/* ExpireTimer's test once the connection has lingered: closed in some
 * sense, or nothing ever happened on it. */
static bool expire_removes(struct tl_zeek *z)
{
    struct tl_zeek_ep *o = zk_orig(z), *r = zk_resp(z);
    bool any_reset = o->state == TL_ZEEK_RESET || r->state == TL_ZEEK_RESET;
    bool any_inactive = o->state == TL_ZEEK_INACTIVE || r->state == TL_ZEEK_INACTIVE;
    if ((o->did_close || r->did_close) &&
        ((o->did_close && r->did_close) || any_reset || any_inactive))
        return true;
    return o->state == TL_ZEEK_INACTIVE && r->state == TL_ZEEK_INACTIVE;
}

/* Runs the expire-timer chains up to t; true when one removed the
 * connection. A chain ends when it fires on an inactive analyzer. */
static bool expire_fires(struct tl_zeek *z, int64_t t)
{
    for (size_t i = 0; i < TL_ZEEK_MAX_EXPIRE; i++) {
        int64_t at = z->expire_at[i];
        if (at == 0 || at > t)
            continue;
        if (!z->is_active) {
            z->expire_at[i] = 0;
            continue;
        }
        if (expire_removes(z) && first_firing(at, z->last_us + ZK_LINGER + 1) <= t)
            return true;
        z->expire_at[i] = first_firing(at, t + 1);
    }
    return false;
}

/* AttemptTimer: an originator's SYN still unanswered tcp_attempt_delay
 * later ends the attempt (S0). */
static bool attempt_fires(struct tl_zeek *z, int64_t t)
{
    if (z->attempt_at == 0 || z->attempt_at > t)
        return false;
    z->attempt_at = 0;
    uint8_t os = zk_orig(z)->state;
    return z->is_active && (os == TL_ZEEK_SYN_SENT || os == TL_ZEEK_SYN_ACK_SENT) &&
           zk_resp(z)->state == TL_ZEEK_INACTIVE;
}

bool zk_removed_before(struct tl_zeek *z, int64_t t)
{
    if (z->delete_at != 0 && z->delete_at <= t)
        return true;
    if (t >= z->last_us + z->inactivity_us)
        return true;
    if (attempt_fires(z, t))
        return true;
    return expire_fires(z, t);
}

/* One's-complement sum of big-endian 16-bit words (RFC 1071), taken 32
 * bits at a time: folding the wide sum gives the same 16-bit result. */
static uint64_t sum16(const uint8_t *b, size_t n, uint64_t sum)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        sum += ((uint64_t)b[i] << 24) | ((uint64_t)b[i + 1] << 16) | ((uint64_t)b[i + 2] << 8) |
               b[i + 3];
    for (; i + 1 < n; i += 2)
        sum += (uint64_t)((b[i] << 8) | b[i + 1]);
    if (i < n)
        sum += (uint64_t)b[i] << 8;
    return sum;
}

static uint16_t fold(uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

bool zk_ip_checksum_ok(const struct tl_pkt *p)
{
    /* Only IPv4 has a header checksum. */
    if (p->ip4_hdr == NULL)
        return true;
    return fold(sum16(p->ip4_hdr, p->ip4_hlen, 0)) == 0xffff;
}

bool zk_tcp_checksum_ok(const struct tl_pkt *p)
{
    /* Zeek checks only what it holds whole; with segmentation offload the
     * IP length is 0 and there is nothing to check against. */
    if (p->tcp_hdr == NULL || p->payload_caplen < p->payload_len ||
        (p->quirks & TL_QUIRK_IP_LEN_ZERO))
        return true;
    size_t alen = p->src.family == TL_AF_INET ? 4 : 16;
    uint32_t tcp_len = (uint32_t)p->tcp_hlen + p->payload_len;
    uint64_t sum = sum16(p->src.b, alen, 0);
    sum = sum16(p->dst.b, alen, sum);
    sum += 6u /* IPPROTO_TCP */ + (tcp_len & 0xffff) + (tcp_len >> 16);
    sum = sum16(p->tcp_hdr, tcp_len, sum);
    return fold(sum) == 0xffff;
}
