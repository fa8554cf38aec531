/*
 * Private to the Zeek module (src/zeek*.c): one segment as Zeek's TCP
 * analyzer sees it, role helpers, and the entry points between the files.
 *
 *   zeek.c        public API, history letters, the per-packet order
 *   zeek_tcp.c    TCPSessionAdapter::Process: sequence space, history
 *                 rules, endpoint state machine, ConnectionClosed
 *   zeek_life.c   when Zeek starts, flips and removes a connection:
 *                 likely server ports, reuse, timers, checksums
 *   zeek_reasm.c  content gaps (g/G) from a reduced reassembler
 */
#ifndef TCPLENS_ZEEK_INT_H
#define TCPLENS_ZEEK_INT_H

#include "tcplens/seq.h"
#include "tcplens/zeek.h"

#define ZK_SEC INT64_C(1000000)

/* Zeek's defaults (scripts/base/init-bare.zeek), in µs. */
#define ZK_ATTEMPT_DELAY (5 * ZK_SEC)   /* tcp_attempt_delay */
#define ZK_SYN_TIMEOUT (5 * ZK_SEC)     /* tcp_SYN_timeout */
#define ZK_CLOSE_DELAY (5 * ZK_SEC)     /* tcp_close_delay */
#define ZK_LINGER (5 * ZK_SEC)          /* tcp_connection_linger */
#define ZK_SESSION_TIMER (6 * ZK_SEC)   /* tcp_session_timer */
#define ZK_HANDSHAKE_IDLE (60 * ZK_SEC) /* udp_inactivity_timeout, set first */
#define ZK_INACTIVITY (300 * ZK_SEC)    /* tcp_inactivity_timeout */

/* Zeek's TOO_LARGE_SEQ_DELTA: SYN/RST sequence jumps it does not trust. */
#define ZK_TOO_LARGE_SEQ_DELTA 1048576

/* Once-only history bits (TCP_Endpoint.h); the responder's are << 16. */
enum {
    ZK_HIST_SYN = 0x1,
    ZK_HIST_FIN = 0x2,
    ZK_HIST_RST = 0x4,
    ZK_HIST_FIN_RST = 0x8,
    ZK_HIST_DATA = 0x10,
    ZK_HIST_ACK = 0x20,
    ZK_HIST_MULTI_FLAG = 0x40,
};

/* One segment, with the fields Zeek reads. */
struct zk_seg {
    int64_t t;
    uint32_t seq, ack;
    uint32_t len;    /* payload on the wire */
    uint32_t caplen; /* payload captured */
    uint16_t win;
    uint8_t flags;
    uint8_t side; /* sender: 0 = key.a, 1 = key.b */
};

static inline bool zk_syn(const struct zk_seg *s) { return (s->flags & TL_TH_SYN) != 0; }
static inline bool zk_fin(const struct zk_seg *s) { return (s->flags & TL_TH_FIN) != 0; }
static inline bool zk_rst(const struct zk_seg *s) { return (s->flags & TL_TH_RST) != 0; }
static inline bool zk_ack(const struct zk_seg *s) { return (s->flags & TL_TH_ACK) != 0; }

static inline int zk_side(const struct tl_zeek *z, const struct tl_zeek_ep *ep)
{
    return ep == &z->ep[0] ? 0 : 1;
}

static inline struct tl_zeek_ep *zk_peer(struct tl_zeek *z, const struct tl_zeek_ep *ep)
{
    return &z->ep[1 - zk_side(z, ep)];
}

static inline bool zk_is_orig(const struct tl_zeek *z, const struct tl_zeek_ep *ep)
{
    return (zk_side(z, ep) == 0) == z->orig_is_a;
}

static inline struct tl_zeek_ep *zk_orig(struct tl_zeek *z) { return &z->ep[z->orig_is_a ? 0 : 1]; }
static inline struct tl_zeek_ep *zk_resp(struct tl_zeek *z) { return &z->ep[z->orig_is_a ? 1 : 0]; }

/* Zeek's seq_delta: signed distance, modulo 2^32. */
static inline int32_t zk_delta(uint32_t a, uint32_t b) { return tl_seq_diff(a, b); }

/* zeek.c: history. */
void zk_add_history(struct tl_zeek *z, char code);
/* Adds code (lower case for the responder) unless its bit was seen;
 * returns true when it had been seen (Zeek's CheckHistory). */
bool zk_check_history(struct tl_zeek *z, const struct tl_zeek_ep *ep, uint32_t mask, char code);
/* Logarithmic letters (C, T, W, G): at 1, 10, 100, … occurrences. */
void zk_scaled_history(struct tl_zeek *z, const struct tl_zeek_ep *ep, struct tl_zeek_scaled *sc,
                       char code);

/* zeek_tcp.c */
void zk_process(struct tl_zeek *z, const struct zk_seg *s);
void zk_set_state(struct tl_zeek *z, struct tl_zeek_ep *ep, uint8_t state);
uint64_t zk_size(const struct tl_zeek *z, const struct tl_zeek_ep *ep);

/* zeek_life.c */
void zk_start(struct tl_zeek *z, const struct zk_seg *s, uint16_t sport, uint16_t dport);
bool zk_removed_before(struct tl_zeek *z, int64_t t);
bool zk_is_reuse(struct tl_zeek *z, const struct zk_seg *s);
void zk_flip_roles(struct tl_zeek *z);
void zk_late_flip(struct tl_zeek *z, const struct zk_seg *s);
void zk_cancel_timers(struct tl_zeek *z);
void zk_add_expire(struct tl_zeek *z, int64_t at);
bool zk_ip_checksum_ok(const struct tl_pkt *p);
bool zk_tcp_checksum_ok(const struct tl_pkt *p);

/* zeek_reasm.c */
void zk_reasm_init(struct tl_zeek_reasm *r);
void zk_data_sent(struct tl_zeek *z, struct tl_zeek_ep *ep, uint64_t seq, uint32_t len);
void zk_ack_received(struct tl_zeek *z, struct tl_zeek_ep *ep, uint64_t seq);

#endif
