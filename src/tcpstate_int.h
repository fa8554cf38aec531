/* Private to the state engine: events, actions and the transition table. */
#ifndef TCPLENS_TCPSTATE_INT_H
#define TCPLENS_TCPSTATE_INT_H

#include "tcplens/tcpstate.h"

/*
 * Events one endpoint can undergo. The first five come from the flags of a
 * segment it sent; the rest from an ACK: its own ACK covering the peer's SYN
 * or FIN (it took them in), or the peer's ACK covering its SYN or FIN.
 */
enum tl_ev {
    TL_EV_SYN = 0,   /* sent SYN without ACK */
    TL_EV_SYNACK,    /* sent SYN+ACK */
    TL_EV_SEG,       /* sent data or a pure ACK */
    TL_EV_FIN,       /* sent FIN */
    TL_EV_RST,       /* sent RST */
    TL_EV_TOOK_SYN,  /* its ACK covers the peer's SYN */
    TL_EV_TOOK_FIN,  /* its ACK covers the peer's FIN */
    TL_EV_SYN_ACKED, /* the peer acknowledged its SYN */
    TL_EV_FIN_ACKED, /* the peer acknowledged its FIN */
    TL_EV_GOT_RST,   /* received an acceptable RST */
    TL_EV_TIMEOUT,   /* its timer ran out: TIME_WAIT over, or SYN retries given up */
    TL_EV_REUSED,    /* a new connection took its 4-tuple over */
    TL_EV_ICMP,      /* an ICMP error that ends a handshake (tl_tcpstate_icmp) */
    TL_EV_NEVENTS
};

/* Actions: what to do besides moving to the next state. An unlisted cell is
 * zero, TL_ACT_UNEXPECTED: the state stays and the step says so. */
enum tl_act {
    TL_ACT_UNEXPECTED = 0,
    TL_ACT_NONE,           /* stay; nothing to note */
    TL_ACT_GO,             /* move to next */
    TL_ACT_MIDSTREAM,      /* first sight of an endpoint whose handshake was missed */
    TL_ACT_REVERT_SYNRECV, /* SYN-ACK again after its ACK: the ACK was dropped */
    TL_ACT_TIME_WAIT,      /* move to TIME_WAIT and start its clock */
    TL_ACT_UNSEEN_SYNACK,  /* an ACK from SYN_SENT or LISTEN: the handshake
                           * passed through a SYN-ACK the capture missed */
    TL_ACT_FIN_AGAIN,      /* its FIN again, a round trip after the ACK of it:
                           * that ACK was lost past the capture point */
};

struct tl_trans {
    uint8_t next;
    uint8_t act;
};

extern const struct tl_trans tl_fsm[TL_EP_NSTATES][TL_EV_NEVENTS];
extern const char *const tl_ev_name[TL_EV_NEVENTS];

#endif
