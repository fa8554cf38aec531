/*
 * The endpoint state machine as data: tl_fsm[state][event] = {next, action}.
 * Read a row as "an endpoint in this state, when this happens, goes there".
 * It follows the diagram of RFC 9293 section 3.3.2 with the Linux details
 * of tcp_rcv_state_process() (docs/state-machine.md):
 *
 *                        SYN                      SYN+ACK
 *   UNKNOWN/CLOSED ------------> SYN_SENT   LISTEN -------> SYN_RECV
 *        SYN_SENT --took SYN---> ESTABLISHED <--SYN acked-- SYN_RECV
 *     ESTABLISHED --FIN--------> FIN_WAIT_1 --FIN acked---> FIN_WAIT_2  (FIN again: not acked)
 *     ESTABLISHED --took FIN---> CLOSE_WAIT --FIN---------> LAST_ACK
 *      FIN_WAIT_1 --took FIN---> CLOSING    --FIN acked---> TIME_WAIT
 *      FIN_WAIT_2 --took FIN---> TIME_WAIT  --60 s--------> CLOSED
 *        LAST_ACK --FIN acked--> CLOSED  (its FIN again: the ACK never got in)
 *        SYN_SENT --retries given up--> CLOSED;  TIME_WAIT --reused--> CLOSED
 *        SYN_RECV --SYN-ACK retries given up--> CLOSED
 *        SYN_SENT --ICMP unreachable--> CLOSED;  SYN_RECV --ICMP--> LISTEN
 *  ESTABLISHED..LAST_ACK --retransmissions given up--> CLOSED
 *      FIN_WAIT_2 --an orphan reaped after tcp_fin_timeout--> CLOSED
 *  SYN_SENT/LISTEN --sends an ACK: a SYN-ACK the capture missed--> ESTABLISHED
 *         any     --its port opens a new connection (same port, new ISN)--> CLOSED
 *         any     --RST sent or acceptable RST received--> CLOSED
 */
#include "tcpstate_int.h"

/* The table keeps its layout by hand. */
/* clang-format off */
#define T(next, act) {TL_EP_##next, TL_ACT_##act}
#define STAY {0, TL_ACT_NONE}

const struct tl_trans tl_fsm[TL_EP_NSTATES][TL_EV_NEVENTS] = {
    [TL_EP_UNKNOWN] = {
        [TL_EV_SYN] = T(SYN_SENT, GO),
        [TL_EV_SYNACK] = T(SYN_RECV, GO),
        [TL_EV_SEG] = T(ESTABLISHED, MIDSTREAM),
        [TL_EV_FIN] = T(FIN_WAIT_1, MIDSTREAM),
        [TL_EV_RST] = T(CLOSED, GO),
        [TL_EV_TOOK_SYN] = STAY,
        [TL_EV_TOOK_FIN] = T(CLOSE_WAIT, MIDSTREAM),
        [TL_EV_SYN_ACKED] = STAY,
        [TL_EV_FIN_ACKED] = STAY,
        [TL_EV_GOT_RST] = T(CLOSED, GO),
        [TL_EV_REUSED] = STAY,
    },
    [TL_EP_LISTEN] = {
        [TL_EV_SYN] = T(SYN_SENT, GO), /* simultaneous open */
        [TL_EV_SYNACK] = T(SYN_RECV, GO),
        [TL_EV_SEG] = T(ESTABLISHED, UNSEEN_SYNACK), /* its SYN-ACK was missed */
        [TL_EV_FIN] = T(ESTABLISHED, UNSEEN_SYNACK),
        [TL_EV_RST] = T(CLOSED, GO),   /* nothing listens: refused */
        [TL_EV_TOOK_SYN] = STAY,
        [TL_EV_GOT_RST] = STAY,        /* a listener ignores RSTs */
        [TL_EV_SYN_ACKED] = STAY,
        [TL_EV_REUSED] = STAY,
    },
    [TL_EP_SYN_SENT] = {
        [TL_EV_SYN] = STAY,             /* retransmission */
        [TL_EV_SYNACK] = T(SYN_RECV, GO), /* simultaneous open */
        [TL_EV_SEG] = T(ESTABLISHED, UNSEEN_SYNACK), /* the SYN-ACK was missed */
        [TL_EV_FIN] = T(ESTABLISHED, UNSEEN_SYNACK),
        [TL_EV_RST] = T(CLOSED, GO),
        [TL_EV_TOOK_SYN] = T(ESTABLISHED, GO),
        [TL_EV_SYN_ACKED] = STAY,       /* proven by its own ACK, not here */
        [TL_EV_GOT_RST] = T(CLOSED, GO),
        [TL_EV_TIMEOUT] = T(CLOSED, GO), /* tcp_syn_retries exhausted */
        [TL_EV_REUSED] = T(CLOSED, GO), /* its port opened a new connection */
        [TL_EV_ICMP] = T(CLOSED, GO), /* connect() fails: unreachable */
    },
    [TL_EP_SYN_RECV] = {
        [TL_EV_SYNACK] = STAY,          /* retransmission */
        [TL_EV_SEG] = T(ESTABLISHED, GO), /* it speaks: the ACK reached it */
        [TL_EV_FIN] = T(FIN_WAIT_1, GO),
        [TL_EV_RST] = T(CLOSED, GO),
        [TL_EV_TOOK_SYN] = STAY,
        [TL_EV_TOOK_FIN] = T(CLOSE_WAIT, GO),
        [TL_EV_SYN_ACKED] = T(ESTABLISHED, GO),
        [TL_EV_GOT_RST] = T(CLOSED, GO),
        [TL_EV_REUSED] = T(CLOSED, GO), /* its port opened a new connection */
        [TL_EV_TIMEOUT] = T(CLOSED, GO), /* tcp_synack_retries exhausted */
        [TL_EV_ICMP] = T(LISTEN, GO), /* the request is dropped, the listener stays */
    },
    [TL_EP_ESTABLISHED] = {
        [TL_EV_SYNACK] = T(SYN_RECV, REVERT_SYNRECV),
        [TL_EV_SEG] = STAY,
        [TL_EV_FIN] = T(FIN_WAIT_1, GO),
        [TL_EV_RST] = T(CLOSED, GO),
        [TL_EV_TOOK_SYN] = STAY,
        [TL_EV_TOOK_FIN] = T(CLOSE_WAIT, GO),
        [TL_EV_SYN_ACKED] = STAY,
        [TL_EV_GOT_RST] = T(CLOSED, GO),
        [TL_EV_REUSED] = T(CLOSED, GO), /* its port opened a new connection */
        [TL_EV_TIMEOUT] = T(CLOSED, GO), /* tcp_retries2 exhausted */
    },
    [TL_EP_FIN_WAIT_1] = {
        [TL_EV_SEG] = STAY,
        [TL_EV_FIN] = STAY, /* retransmission */
        [TL_EV_RST] = T(CLOSED, GO),
        [TL_EV_TOOK_SYN] = STAY,
        [TL_EV_TOOK_FIN] = T(CLOSING, GO),
        [TL_EV_SYN_ACKED] = STAY,
        [TL_EV_FIN_ACKED] = T(FIN_WAIT_2, GO),
        [TL_EV_GOT_RST] = T(CLOSED, GO),
        [TL_EV_REUSED] = T(CLOSED, GO), /* its port opened a new connection */
        [TL_EV_TIMEOUT] = T(CLOSED, GO), /* tcp_retries2 exhausted */
    },
    [TL_EP_FIN_WAIT_2] = {
        [TL_EV_SEG] = STAY,
        [TL_EV_FIN] = T(FIN_WAIT_1, FIN_AGAIN), /* the peer's ACK never got in */
        [TL_EV_RST] = T(CLOSED, GO), /* reaped orphan answers with RST */
        [TL_EV_TOOK_SYN] = STAY,
        [TL_EV_TOOK_FIN] = T(TIME_WAIT, TIME_WAIT),
        [TL_EV_SYN_ACKED] = STAY,
        [TL_EV_GOT_RST] = T(CLOSED, GO),
        [TL_EV_REUSED] = T(CLOSED, GO), /* its port opened a new connection */
        [TL_EV_TIMEOUT] = T(CLOSED, GO), /* an orphan reaped (tcp_fin_timeout) */
    },
    [TL_EP_CLOSE_WAIT] = {
        [TL_EV_SEG] = STAY, /* half-close: it may still send */
        [TL_EV_FIN] = T(LAST_ACK, GO),
        [TL_EV_RST] = T(CLOSED, GO),
        [TL_EV_TOOK_SYN] = STAY,
        [TL_EV_TOOK_FIN] = STAY,
        [TL_EV_SYN_ACKED] = STAY,
        [TL_EV_GOT_RST] = T(CLOSED, GO),
        [TL_EV_REUSED] = T(CLOSED, GO), /* its port opened a new connection */
        [TL_EV_TIMEOUT] = T(CLOSED, GO), /* tcp_retries2 exhausted */
    },
    [TL_EP_CLOSING] = {
        [TL_EV_SEG] = STAY,
        [TL_EV_FIN] = STAY, /* retransmission */
        [TL_EV_RST] = T(CLOSED, GO),
        [TL_EV_TOOK_FIN] = STAY,
        [TL_EV_FIN_ACKED] = T(TIME_WAIT, TIME_WAIT),
        [TL_EV_GOT_RST] = T(CLOSED, GO),
        [TL_EV_REUSED] = T(CLOSED, GO), /* its port opened a new connection */
        [TL_EV_TIMEOUT] = T(CLOSED, GO), /* tcp_retries2 exhausted */
    },
    [TL_EP_LAST_ACK] = {
        [TL_EV_SEG] = STAY,
        [TL_EV_FIN] = STAY, /* retransmission: the last ACK did not come */
        [TL_EV_RST] = T(CLOSED, GO),
        [TL_EV_TOOK_FIN] = STAY,
        [TL_EV_FIN_ACKED] = T(CLOSED, GO),
        [TL_EV_GOT_RST] = T(CLOSED, GO),
        [TL_EV_REUSED] = T(CLOSED, GO), /* its port opened a new connection */
        [TL_EV_TIMEOUT] = T(CLOSED, GO), /* tcp_retries2 exhausted */
    },
    [TL_EP_TIME_WAIT] = {
        [TL_EV_SEG] = STAY,     /* re-ACKs a retransmitted FIN */
        [TL_EV_FIN] = STAY,     /* its own FIN again, as in FIN_WAIT_2 */
        [TL_EV_RST] = T(CLOSED, GO),
        [TL_EV_TOOK_FIN] = STAY,
        [TL_EV_FIN_ACKED] = STAY,
        [TL_EV_GOT_RST] = T(CLOSED, GO), /* RFC 1337 hazard: Linux kills it */
        [TL_EV_TIMEOUT] = T(CLOSED, GO),
        [TL_EV_REUSED] = T(CLOSED, GO), /* the new SYN took the socket over */
    },
    [TL_EP_CLOSED] = {
        [TL_EV_SYN] = T(SYN_SENT, GO),
        [TL_EV_FIN] = T(LAST_ACK, FIN_AGAIN), /* the final ACK never got in */
        [TL_EV_RST] = STAY,  /* an endpoint without a socket answers with RST */
        [TL_EV_GOT_RST] = STAY,
        [TL_EV_TOOK_FIN] = STAY,
        [TL_EV_FIN_ACKED] = STAY,
        [TL_EV_SYN_ACKED] = STAY,
        [TL_EV_TOOK_SYN] = STAY,
        [TL_EV_REUSED] = STAY,
    },
};
/* clang-format on */

const char *const tl_ev_name[TL_EV_NEVENTS] = {
    "syn",       "synack",    "seg",     "fin",     "rst",    "took_syn", "took_fin",
    "syn_acked", "fin_acked", "got_rst", "timeout", "reused", "icmp",
};
