/*
 * Per-connection timelines. By default a timeline keeps the lifecycle
 * events (handshake, every state change, retransmissions, probes,
 * teardown) and folds the ordinary data and ACKs between them into one
 * summary entry; in full mode it keeps every segment. Its length is capped
 * and what the cap drops is counted, so hostile input cannot exhaust memory.
 */
#ifndef TCPLENS_TIMELINE_H
#define TCPLENS_TIMELINE_H

#include "tcplens/status.h"
#include "tcplens/tcpstate.h"
#include "tcplens/types.h"

/* An entry's kind is an enum tl_evkind, or this for a summary. */
#define TL_TL_SUMMARY TL_K_NKINDS

enum tl_tl_dir { TL_TL_C2S = 0, TL_TL_S2C = 1, TL_TL_NONE = 2 };

/* One entry: 40 bytes, as most connections keep eight or more. */
struct tl_event {
    int64_t ts;             /* µs */
    uint64_t pkt;           /* packet number, 0 for events without a packet */
    uint32_t seq, ack;      /* relative to the ISNs */
    uint32_t len;           /* payload bytes; a summary's: its tl_sum's index */
    uint16_t win;           /* raw advertised window; an ICMP error's type << 8 | code */
    uint8_t dir;            /* enum tl_tl_dir */
    uint8_t flags;          /* TL_TH_* */
    uint8_t kind;           /* enum tl_evkind or TL_TL_SUMMARY */
    uint8_t client, server; /* enum tl_ep_state after the event */
    /* States an endpoint passed through within this one event, before the
     * one above (e.g. CLOSE_WAIT on the way to LAST_ACK when a FIN+ACK
     * both takes the peer's FIN in and closes); 0 ends the list. By role. */
    uint8_t via[2][2];
};

/* An ICMP error about a segment (tl_tcpstate_icmp): dir is the way it
 * travelled, seq the quoted segment's, flags, ack and len 0. */
static inline bool tl_event_is_icmp(const struct tl_event *e)
{
    return e->kind == TL_K_ICMP || e->kind == TL_K_ICMP_IGNORED;
}

static inline unsigned tl_event_icmp_type(const struct tl_event *e) { return e->win >> 8; }
static inline unsigned tl_event_icmp_code(const struct tl_event *e) { return e->win & 0xffu; }

/* What a summary folded in, kept beside the entries (tl_timeline.sum) so
 * that the others do not carry its room. */
struct tl_sum {
    uint32_t packets[2]; /* by direction */
    uint64_t bytes[2];
    int64_t last_ts;
    uint64_t last_pkt;
};

struct tl_timeline_cfg {
    bool full;           /* every segment (--timeline full) */
    uint32_t max_events; /* cap per connection */
};

#define TL_DEFAULT_TIMELINE_MAX 1000u

struct tl_timeline {
    struct tl_event *ev;
    uint32_t n, cap;
    struct tl_sum *sum; /* the summaries' (tl_timeline_sum) */
    uint32_t nsum, sumcap;
    uint64_t dropped;          /* entries the cap refused */
    struct tl_event pending;   /* summary being built; zeros when none */
    struct tl_sum pending_sum; /* what it folded in so far; zeros when none */
    bool has_pending;
};

/* What summary e, an entry of t, folded in. */
static inline const struct tl_sum *tl_timeline_sum(const struct tl_timeline *t,
                                                   const struct tl_event *e)
{
    static const struct tl_sum none;
    return e->kind == TL_TL_SUMMARY && e->len < t->nsum ? &t->sum[e->len] : &none;
}

void tl_timeline_init(struct tl_timeline *t);

/* Fills e->client, e->server and e->via from the states after a step and
 * the changes it made. */
void tl_timeline_states(struct tl_event *e, const struct tl_tcpstate *st, const struct tl_step *s);

/*
 * Adds e. A non-lifecycle event in the default mode is folded into the
 * current summary instead. Returns TL_ENOMEM when the array cannot grow
 * (the event is then counted as dropped).
 */
TL_MUST_CHECK enum tl_status tl_timeline_add(struct tl_timeline *t,
                                             const struct tl_timeline_cfg *cfg,
                                             const struct tl_event *e, bool lifecycle);

/* Closes the summary in progress (at the connection's end). */
TL_MUST_CHECK enum tl_status tl_timeline_flush(struct tl_timeline *t,
                                               const struct tl_timeline_cfg *cfg);

/*
 * Rewrites history: role r never made its last change, from state `to`
 * into state `from` (later evidence refuted it). Every entry since that
 * change, the summary in progress included, shows r in `to` instead.
 * Returns the entry of the change (NULL if the cap had dropped it).
 */
struct tl_event *tl_timeline_revise(struct tl_timeline *t, enum tl_role r, uint8_t from,
                                    uint8_t to);

void tl_timeline_free(struct tl_timeline *t);

#endif
