/*
 * Zeek's conn_state and history: the public entry points, the history
 * letters, and the order in which Zeek looks at a packet.
 *
 * Zeek (src/packet_analysis/protocol/tcp and src/analyzer/protocol/tcp at
 * the snapshot docs/zeek-conformance.md names) handles a TCP packet so:
 *
 *   timers up to the packet's time fire      -> zk_removed_before()
 *   bad IPv4 header checksum: dropped        -> zk_ip_checksum_ok()
 *   new connection (maybe flipped) or reuse  -> zk_start(), zk_is_reuse()
 *   bad TCP checksum: C/c, nothing else      -> zk_tcp_checksum_ok()
 *   SYN-ACK then ACK/data: late flip         -> zk_late_flip()
 *   TCPSessionAdapter::Process               -> zk_process()
 *
 * The state at removal is what conn.log shows, so once Zeek would have
 * removed the connection the module stops listening (frozen).
 */
#include "tcplens/zeek.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "zeek_int.h"

void tl_zeek_init(struct tl_zeek *z)
{
    /* Zeek verifies checksums unless run with -C. */
    struct tl_zeek_cfg cfg = {.ignore_checksums = false};
    tl_zeek_init_cfg(z, &cfg);
}

static void ep_init(struct tl_zeek_ep *ep)
{
    memset(ep, 0, sizeof *ep);
    ep->chk.threshold = ep->rxmt.threshold = ep->win0.threshold = ep->gap.threshold = 1;
    zk_reasm_init(&ep->reasm);
}

void tl_zeek_free(struct tl_zeek *z)
{
    for (int i = 0; i < 2; i++) {
        free(z->ep[i].reasm.b);
        z->ep[i].reasm.b = NULL;
        z->ep[i].reasm.nblocks = 0;
    }
}

void tl_zeek_init_cfg(struct tl_zeek *z, const struct tl_zeek_cfg *cfg)
{
    memset(z, 0, sizeof *z);
    z->cfg = *cfg;
    ep_init(&z->ep[0]);
    ep_init(&z->ep[1]);
}

void zk_add_history(struct tl_zeek *z, char code)
{
    /* Zeek's string grows without bound; ours keeps the first letters. */
    if (z->hlen + 1 >= TL_ZEEK_HISTORY_MAX)
        return;
    z->history[z->hlen++] = code;
    z->history[z->hlen] = '\0';
}

bool zk_check_history(struct tl_zeek *z, const struct tl_zeek_ep *ep, uint32_t mask, char code)
{
    if (!zk_is_orig(z, ep)) {
        mask <<= 16;
        code = (char)tolower((unsigned char)code);
    }
    if ((z->hist_seen & mask) != 0)
        return true;
    z->hist_seen |= mask;
    zk_add_history(z, code);
    return false;
}

void zk_scaled_history(struct tl_zeek *z, const struct tl_zeek_ep *ep, struct tl_zeek_scaled *sc,
                       char code)
{
    if (++sc->count != sc->threshold)
        return;
    zk_add_history(z, zk_is_orig(z, ep) ? code : (char)tolower((unsigned char)code));
    uint32_t next = sc->threshold * 10u;
    /* On wrap-around Zeek restarts the count and keeps the threshold. */
    if (next <= sc->threshold)
        sc->count = 0;
    else
        sc->threshold = next;
}

static void to_seg(const struct tl_pkt *p, bool from_a, int64_t ts_us, struct zk_seg *s)
{
    s->t = ts_us;
    s->seq = p->seq;
    s->ack = p->ack;
    s->len = p->payload_len;
    /* Zeek puts a tunnel's fragmented datagram together: it holds the
     * whole segment that this first fragment begins. */
    s->caplen = (p->quirks & TL_QUIRK_OUTER_FRAGMENT) ? p->payload_len : p->payload_caplen;
    s->win = p->win;
    s->flags = p->flags;
    s->side = from_a ? 0 : 1;
}

void tl_zeek_update(struct tl_zeek *z, const struct tl_pkt *p, bool from_a, int64_t ts_us)
{
    if (z->frozen)
        return;
    bool verify = !z->cfg.ignore_checksums;
    struct zk_seg s;
    to_seg(p, from_a, ts_us, &s);
    /* Timers run before the packet is looked at: a connection Zeek has
     * removed by now is finished, whatever this packet is. */
    if (z->started && zk_removed_before(z, ts_us)) {
        z->frozen = true;
        return;
    }
    /* A bad IPv4 header checksum drops the packet before any lookup. */
    if (verify && !zk_ip_checksum_ok(p))
        return;
    if (!z->started) {
        zk_start(z, &s, p->sport, p->dport);
    } else if (zk_is_reuse(z, &s)) {
        z->frozen = true;
        return;
    }
    struct tl_zeek_ep *ep = &z->ep[s.side];
    /* A bad TCP checksum is only counted: the connection exists (it was
     * looked up from the corrupt header) but learns nothing else. */
    if (verify && !zk_tcp_checksum_ok(p)) {
        zk_scaled_history(z, ep, &ep->chk, 'C');
        return;
    }
    zk_late_flip(z, &s);
    zk_process(z, &s);
}

/* conn.log's RSTOS0 test: the whole history matches \^?S[^HAFGIQ]*R.* */
static bool rstos0_history(const char *h)
{
    if (*h == '^')
        h++;
    if (*h != 'S')
        return false;
    for (h++; *h != '\0'; h++) {
        if (*h == 'R')
            return true;
        if (strchr("HAFGIQ", *h) != NULL)
            return false;
    }
    return false;
}

static bool inactive_or_partial(uint8_t st)
{
    return st == TL_ZEEK_INACTIVE || st == TL_ZEEK_PARTIAL;
}

/* scripts/base/protocols/conn/main.zeek, function conn_state, when the
 * responder or the originator has been reset. */
static const char *reset_state(const struct tl_zeek *z, uint8_t os, uint8_t rs)
{
    const struct tl_zeek_ep *o = &z->ep[z->orig_is_a ? 0 : 1];
    const struct tl_zeek_ep *r = &z->ep[z->orig_is_a ? 1 : 0];
    if (rs == TL_ZEEK_RESET) {
        if (os == TL_ZEEK_SYN_SENT || os == TL_ZEEK_SYN_ACK_SENT ||
            (os == TL_ZEEK_RESET && zk_size(z, o) == 0 && zk_size(z, r) == 0))
            return "REJ";
        return inactive_or_partial(os) ? "RSTRH" : "RSTR";
    }
    if (inactive_or_partial(rs))
        return rstos0_history(z->history) ? "RSTOS0" : "OTH";
    return "RSTO";
}

void tl_zeek_copy_for_report(struct tl_zeek *dst, const struct tl_zeek *src)
{
    *dst = *src;
    for (int i = 0; i < 2; i++) {
        dst->ep[i].reasm.b = NULL;
        dst->ep[i].reasm.nblocks = 0;
    }
}

const char *tl_zeek_conn_state(const struct tl_zeek *z)
{
    uint8_t os = z->ep[z->orig_is_a ? 0 : 1].state;
    uint8_t rs = z->ep[z->orig_is_a ? 1 : 0].state;
    if (rs == TL_ZEEK_RESET || os == TL_ZEEK_RESET)
        return reset_state(z, os, rs);
    if (rs == TL_ZEEK_CLOSED && os == TL_ZEEK_CLOSED)
        return "SF";
    if (os == TL_ZEEK_CLOSED)
        return inactive_or_partial(rs) ? "SH" : "S2";
    if (rs == TL_ZEEK_CLOSED)
        return inactive_or_partial(os) ? "SHR" : "S3";
    if (os == TL_ZEEK_SYN_SENT && rs == TL_ZEEK_INACTIVE)
        return "S0";
    if (os == TL_ZEEK_ESTABLISHED && rs == TL_ZEEK_ESTABLISHED)
        return "S1";
    return "OTH";
}

const char *tl_zeek_history(const struct tl_zeek *z) { return z->history; }

bool tl_zeek_orig_is_a(const struct tl_zeek *z) { return z->orig_is_a; }

bool tl_zeek_split(const struct tl_zeek *z) { return z->frozen; }
