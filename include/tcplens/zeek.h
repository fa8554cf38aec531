/*
 * Zeek's view of a connection: its conn_state (SF, S0, REJ, RSTO, …) and
 * history string (ShADadFf), computed the way Zeek's TCP analyzer does, so
 * that tcplens output joins with Zeek's conn.log (docs/zeek-conformance.md).
 *
 * Zeek's originator is the sender of the connection's first packet, flipped
 * as Zeek flips it (likely server ports, SYN/SYN-ACK reversal, a SYN-ACK
 * followed by an ACK or data); it need not be tcplens's client.
 *
 * Zeek and tcplens split a 4-tuple into connections differently: Zeek
 * removes a connection on its own timers (5 s after a close or an
 * unanswered SYN, inactivity) and treats some SYNs as reuse. This module
 * follows the Zeek connection that starts with the tcplens connection's
 * first packet; once Zeek would have removed it, later packets belong to
 * another Zeek connection and no longer change the result (the state is
 * "frozen", as Zeek logged it).
 *
 * Everything here runs on the pcap clock (µs); nothing is allocated.
 */
#ifndef TCPLENS_ZEEK_H
#define TCPLENS_ZEEK_H

#include "tcplens/decode.h"
#include "tcplens/types.h"

/* Longest history kept, NUL included. Zeek's string is unbounded; only a
 * storm of SYNs/FINs/RSTs with ever new sequence numbers could fill this,
 * and letters past it are dropped. */
#define TL_ZEEK_HISTORY_MAX 48

/* Out-of-order data blocks remembered per direction for gap detection. */
#define TL_ZEEK_MAX_BLOCKS 8

/* Expire-timer chains pending at once (Zeek: one from the SYN timeout and
 * one per endpoint's half close). */
#define TL_ZEEK_MAX_EXPIRE 4

/* Zeek's TCP endpoint states (analyzer::tcp::EndpointState). */
enum tl_zeek_ep_state {
    TL_ZEEK_INACTIVE = 0,
    TL_ZEEK_SYN_SENT,
    TL_ZEEK_SYN_ACK_SENT,
    TL_ZEEK_PARTIAL,
    TL_ZEEK_ESTABLISHED,
    TL_ZEEK_CLOSED,
    TL_ZEEK_RESET,
};

/* A logarithmic history counter: the letter is added at 1, 10, 100, … */
struct tl_zeek_scaled {
    uint32_t count, threshold;
};

/* Zeek's reassembler, reduced to what content-gap letters need: relative
 * sequence numbers delivered, trimmed, and blocks waiting above a hole. */
struct tl_zeek_blocks {
    uint64_t lo[TL_ZEEK_MAX_BLOCKS], hi[TL_ZEEK_MAX_BLOCKS];
};

struct tl_zeek_reasm {
    uint64_t last_reassem, trim;
    /* Allocated with the first block above a hole: most connections never
     * have one. tl_zeek_free() releases it. */
    struct tl_zeek_blocks *b;
    uint8_t nblocks;
    bool skip;   /* deliveries given up, as Zeek does when it must */
    bool failed; /* a block could not be kept: out of memory */
};

/* One side of the connection (Zeek's TCP_Endpoint). Private to src/zeek*.c. */
struct tl_zeek_ep {
    /* First, what every segment reads or writes. */
    int64_t start_seq; /* signed: Zeek allows an initial wrap below 0 */
    uint32_t last_seq, ack_seq, seq_wraps, ack_wraps;
    uint8_t state, prev_state; /* enum tl_zeek_ep_state */
    bool did_close;
    struct tl_zeek_reasm reasm;
    uint64_t hist_last_syn, hist_last_fin, hist_last_rst, fin_seq;
    uint32_t fin_cnt, rst_cnt;
    struct tl_zeek_scaled chk, rxmt, win0, gap;
};

/* Options, as Zeek's command line sets them. */
struct tl_zeek_cfg {
    bool ignore_checksums; /* zeek -C: do not verify IPv4 and TCP checksums */
};

struct tl_zeek {
    /* First, what every packet reads or writes: the timers and the flags,
     * then each endpoint's sequence state (tl_zeek_ep's first fields). The
     * history's letters come once each. */
    int64_t start_us, last_us;     /* Zeek's start_time and last_time */
    int64_t inactivity_us;         /* current inactivity timeout */
    int64_t attempt_at, delete_at; /* pending timers, 0 = none */
    int64_t expire_at[TL_ZEEK_MAX_EXPIRE];
    uint32_t hist_seen; /* once-only letters: originator low 16 bits, responder high */
    struct tl_zeek_cfg cfg;
    bool started;
    bool frozen;        /* Zeek removed this connection; later packets are another's */
    bool orig_is_a;     /* Zeek's originator is key.a */
    bool is_active;     /* Zeek's TCP analyzer is_active */
    bool is_partial;    /* Zeek's is_partial (first packets were not a clean SYN) */
    uint8_t first_seen; /* bit 0: originator's first packet seen, bit 1: responder's */
    uint8_t hlen;
    struct tl_zeek_ep ep[2]; /* by side: 0 = key.a, 1 = key.b */
    char history[TL_ZEEK_HISTORY_MAX];
};

/* Starts an empty connection with Zeek's defaults (checksums verified). */
void tl_zeek_init(struct tl_zeek *z);

/* Same with options; cfg is copied. */
void tl_zeek_init_cfg(struct tl_zeek *z, const struct tl_zeek_cfg *cfg);

/* Releases what the reassembler allocated (z stays usable, its waiting
 * blocks forgotten). */
void tl_zeek_free(struct tl_zeek *z);

/* A copy of src for the reporters, which read it only: without the
 * reassembler's waiting blocks, which stay src's. */
void tl_zeek_copy_for_report(struct tl_zeek *dst, const struct tl_zeek *src);

/* True once memory ran out for a waiting block: the columns may be wrong. */
static inline bool tl_zeek_failed(const struct tl_zeek *z)
{
    return z->ep[0].reasm.failed || z->ep[1].reasm.failed;
}

/* Takes in one segment; from_a tells the sender (see tl_flow_key_make),
 * ts_us its pcap time. p is only borrowed until return. */
void tl_zeek_update(struct tl_zeek *z, const struct tl_pkt *p, bool from_a, int64_t ts_us);

/* Zeek's conn_state for the connection as seen so far, e.g. "SF". */
const char *tl_zeek_conn_state(const struct tl_zeek *z);

/* Zeek's history string, NUL-terminated. */
const char *tl_zeek_history(const struct tl_zeek *z);

/* True when Zeek's originator is key.a (meaningful once a packet was seen). */
bool tl_zeek_orig_is_a(const struct tl_zeek *z);

/* True when Zeek had already removed this connection before the last packet
 * the module was given (later packets formed another Zeek connection). */
bool tl_zeek_split(const struct tl_zeek *z);

#endif
