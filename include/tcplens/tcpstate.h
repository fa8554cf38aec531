/*
 * Per-connection TCP tracking. This first version follows only what the
 * flow table needs to split and end connections: ISNs, SYN/FIN/RST per
 * side and whether each FIN was acknowledged. The two endpoint state
 * machines of docs/state-machine.md build on it.
 */
#ifndef TCPLENS_TCPSTATE_H
#define TCPLENS_TCPSTATE_H

#include "tcplens/decode.h"
#include "tcplens/flow.h"
#include "tcplens/types.h"

struct tl_tcp_side {
    uint32_t isn;       /* sequence number of its SYN (valid when syn) */
    uint32_t fin_seq;   /* sequence number of its FIN (valid when fin) */
    bool syn, fin, fin_acked, rst;
};

struct tl_tcpstate {
    struct tl_tcp_side side[2]; /* by enum tl_role */
};

void tl_tcpstate_init(struct tl_tcpstate *st);

/* Takes in one segment sent by role r. Returns true when this segment ended
 * the connection (an RST, or the ACK of the second FIN). */
bool tl_tcpstate_update(struct tl_tcpstate *st, const struct tl_pkt *p, enum tl_role r);

/* True once the connection has ended (RST, or both FINs acknowledged). */
bool tl_tcpstate_ended(const struct tl_tcpstate *st);

/*
 * True when segment p, sent by role r, opens a new connection on the same
 * 4-tuple: a SYN after this one ended, or a SYN with a new ISN while this
 * one never got past its handshake.
 */
bool tl_tcpstate_starts_new(const struct tl_tcpstate *st, const struct tl_pkt *p,
                            enum tl_role r);

/* How the connection ended so far: TL_END_FIN, TL_END_RST or TL_END_OPEN. */
enum tl_end tl_tcpstate_end(const struct tl_tcpstate *st);

#endif
