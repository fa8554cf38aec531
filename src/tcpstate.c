/*
 * Connection tracking needed to split and end connections: which side sent
 * SYN, FIN and RST, and whether each FIN was acknowledged (RFC 9293 section
 * 3.6: a FIN occupies one sequence number, so its ACK is fin_seq + 1).
 */
#include "tcplens/tcpstate.h"

#include <string.h>

#include "tcplens/seq.h"

void tl_tcpstate_init(struct tl_tcpstate *st) { memset(st, 0, sizeof *st); }

bool tl_tcpstate_ended(const struct tl_tcpstate *st)
{
    const struct tl_tcp_side *c = &st->side[TL_ROLE_CLIENT], *s = &st->side[TL_ROLE_SERVER];
    return c->rst || s->rst || (c->fin_acked && s->fin_acked);
}

enum tl_end tl_tcpstate_end(const struct tl_tcpstate *st)
{
    const struct tl_tcp_side *c = &st->side[TL_ROLE_CLIENT], *s = &st->side[TL_ROLE_SERVER];
    /* A FIN handshake that completed before a stray RST still ended it. */
    if (c->fin_acked && s->fin_acked)
        return TL_END_FIN;
    if (c->rst || s->rst)
        return TL_END_RST;
    return TL_END_OPEN;
}

bool tl_tcpstate_update(struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r)
{
    bool was_ended = tl_tcpstate_ended(st);
    struct tl_tcp_side *me = &st->side[r], *peer = &st->side[!r];
    if ((p->flags & TL_TH_SYN) && !me->syn) {
        me->syn = true;
        me->isn = p->seq;
    }
    if ((p->flags & TL_TH_FIN) && !me->fin) {
        me->fin = true;
        /* The FIN follows the segment's data. */
        me->fin_seq = p->seq + p->payload_len + ((p->flags & TL_TH_SYN) ? 1u : 0u);
    }
    if ((p->flags & TL_TH_ACK) && peer->fin && !peer->fin_acked &&
        tl_seq_gt(p->ack, peer->fin_seq))
        peer->fin_acked = true;
    if (p->flags & TL_TH_RST)
        me->rst = true;
    return !was_ended && tl_tcpstate_ended(st);
}

bool tl_tcpstate_starts_new(const struct tl_tcpstate *st, const struct tl_pkt *p,
                            enum tl_role r)
{
    if (!(p->flags & TL_TH_SYN) || (p->flags & TL_TH_RST))
        return false;
    const struct tl_tcp_side *me = &st->side[r];
    bool same_isn = me->syn && p->seq == me->isn;
    /* After the end, a SYN is a new attempt even with the old ISN: Windows
     * retries a refused connect() with the very same SYN, and each try is
     * refused on its own. A repeated SYN-ACK still belongs to the old one. */
    if (tl_tcpstate_ended(st))
        return !same_isn || !(p->flags & TL_TH_ACK);
    /* A retransmitted SYN carries the ISN we already have. */
    if (same_isn)
        return false;
    /* A fresh SYN (no ACK) with a new ISN after a handshake that never
     * completed: the client gave up on the first attempt and tries again
     * from the same port. */
    const struct tl_tcp_side *peer = &st->side[!r];
    bool handshake_done = me->syn && peer->syn;
    return !(p->flags & TL_TH_ACK) && me->syn && !handshake_done && !me->fin;
}
