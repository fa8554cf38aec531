/*
 * The per-packet path: decode, one flow lookup, connection tracking, and
 * expiry on the packet clock. A connection is reported exactly once, when
 * it leaves the table: ended and lingered, idle, evicted, or at the end.
 */
#include "tcplens/engine.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tcplens/decode.h"
#include "tcplens/dedup.h"
#include "tcplens/detect.h"
#include "tcplens/flow.h"
#include "tcplens/hosts.h"
#include "tcplens/order.h"
#include "tcplens/tcpstate.h"
#include "tcplens/timeline.h"
#include "tcplens/zeek.h"

#include "engine_int.h"

static enum tl_status report_finished(void *ctx, const struct tl_finished *f);

struct tl_engine *tl_engine_new(const struct tl_engine_cfg *cfg)
{
    struct tl_engine *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->cfg = *cfg;
    e->cap.worst_severity = -1;
    if (cfg->shard_count > 1) {
        e->cap.shard_index = cfg->shard_index;
        e->cap.shard_count = cfg->shard_count;
    }
    if (e->cfg.detect.close_wait_us <= 0)
        e->cfg.detect.close_wait_us = TL_DEFAULT_CLOSE_WAIT_US;
    if (e->cfg.detect.fin_timeout_us <= 0)
        e->cfg.detect.fin_timeout_us = TL_DEFAULT_FIN_TIMEOUT_US;
    struct tl_flow_cfg fc = {.ext_size = sizeof(struct conn_slot),
                             .max_flows = cfg->max_flows,
                             .seed = UINT64_C(0x5eed7c91e75)};
    e->flows = tl_flow_table_new(&fc);
    e->hosts = tl_hosts_new(&cfg->hosts);
    e->order = tl_order_new(cfg->reports, cfg->nreports);
    e->tombs = tl_tombs_new(cfg->max_flows != 0 ? cfg->max_flows : TL_DEFAULT_MAX_FLOWS);
    e->reported_worst = -1;
    if (e->flows == NULL || e->hosts == NULL || e->order == NULL || e->tombs == NULL) {
        tl_tombs_free(e->tombs);
        tl_flow_table_free(e->flows);
        tl_hosts_free(e->hosts);
        tl_order_free(e->order);
        free(e);
        return NULL;
    }
    /* Without the thread (out of memory, or refused), the same output
     * comes from the engine's own. */
    if (cfg->threads > 1)
        e->handoff = tl_handoff_new(report_finished, e);
    return e;
}

void tl_engine_free(struct tl_engine *e)
{
    if (e == NULL)
        return;
    for (struct tl_conn *c = tl_flow_first(e->flows); c != NULL; c = tl_flow_next(c))
        tl_engine_drop_state(e, c);
    free(e->spare);
    free(e->scratch);
    tl_anomaly_list_free(&e->an);
    tl_handoff_free(e->handoff); /* before the ordering stage it feeds */
    tl_flow_table_free(e->flows);
    tl_hosts_free(e->hosts);
    tl_host_anomaly_list_free(&e->host_an);
    tl_order_free(e->order);
    tl_tombs_free(e->tombs);
    free(e);
}

const struct tl_capture_info *tl_engine_capture(const struct tl_engine *e) { return &e->cap; }

uint64_t tl_engine_detector_runs(const struct tl_engine *e) { return e->detector_runs; }

size_t tl_engine_open_count(const struct tl_engine *e)
{
    return tl_flow_list_count(e->flows, TL_FLOW_LIVE) + tl_flow_list_count(e->flows, TL_FLOW_IDLE) +
           tl_flow_list_count(e->flows, TL_FLOW_DORMANT);
}

void tl_engine_set_live_stats(struct tl_engine *e, uint64_t received, uint64_t dropped,
                              uint64_t if_dropped)
{
    e->cap.live = true;
    e->cap.live_received = received;
    e->cap.live_dropped = dropped;
    e->cap.live_if_dropped = if_dropped;
}

void tl_engine_set_file_stats(struct tl_engine *e, uint64_t received, uint64_t if_dropped,
                              uint64_t os_dropped)
{
    e->cap.file_stats = true;
    e->cap.file_received = received;
    e->cap.file_if_dropped = if_dropped;
    e->cap.file_os_dropped = os_dropped;
}

const char *tl_capture_end_name(enum tl_capture_end s)
{
    static const char *const names[TL_CEND_N] = {"last_packet", "pcapng_isb", "live_clock",
                                                 "option"};
    return (unsigned)s < TL_CEND_N ? names[s] : "last_packet";
}

/* Later evidence refuted an endpoint's last change (tl_step.revise): the
 * timeline says what really happened, and what the entry of that change
 * was where the step knows it (a handshake ACK the server dropped). */
static void revise_history(struct tl_conn *c, const struct tl_step *s)
{
    struct tl_event *change = tl_timeline_revise(&ext(c)->tl, (enum tl_role)s->revise_role,
                                                 s->revise_from, s->revise_to);
    if (change != NULL && s->revise_kind != 0 && change->dir != TL_TL_NONE &&
        change->kind != TL_TL_SUMMARY)
        change->kind = s->revise_kind;
}

/* The timeline entry of packet f (segment p, sent by role r) after step s. */
static struct tl_event packet_event(struct tl_conn *c, const struct tl_step *s,
                                    const struct tl_pkt *p, const struct tl_frame *f,
                                    enum tl_role r)
{
    struct tl_event ev = {.ts = f->ts_us,
                          .pkt = f->pkt_no,
                          .seq = s->rel_seq,
                          .ack = s->rel_ack,
                          .len = p->payload_len,
                          .win = p->win,
                          .dir = (uint8_t)r,
                          .flags = p->flags,
                          .kind = s->kind};
    tl_timeline_states(&ev, conn_state(c), s);
    return ev;
}

/* Records one step in the timeline. */
static enum tl_status log_step(struct tl_engine *e, struct tl_conn *c, const struct tl_step *s,
                               const struct tl_pkt *p, const struct tl_frame *f, enum tl_role r)
{
    if (s->revise)
        revise_history(c, s);
    struct tl_event ev = packet_event(c, s, p, f, r);
    enum tl_status tr = tl_track_step(&ext(c)->track, conn_state(c), s, p, r, f->pkt_no, f->ts_us);
    enum tl_status st = tl_timeline_add(&ext(c)->tl, &e->cfg.timeline, &ev, s->lifecycle);
    return tr != TL_OK ? tr : st;
}

/* Records a step that no packet carried (a timer, a takeover). */
static enum tl_status log_timed(struct tl_engine *e, struct tl_conn *c, const struct tl_step *s,
                                int64_t when)
{
    struct tl_event ev = {.ts = when, .dir = TL_TL_NONE, .kind = s->kind};
    tl_timeline_states(&ev, conn_state(c), s);
    enum tl_status tr = tl_track_step(&ext(c)->track, conn_state(c), s, NULL, TL_ROLE_CLIENT, 0,
                                      when);
    enum tl_status st = tl_timeline_add(&ext(c)->tl, &e->cfg.timeline, &ev, true);
    return tr != TL_OK ? tr : st;
}

/* Lets the packet clock act on c: TIME_WAIT ends 60 s after it began; with
 * final (c will see no more packets), a client or server that stopped
 * retrying its SYN or SYN-ACK has given up. */
static enum tl_status advance(struct tl_engine *e, struct tl_conn *c, int64_t now, bool final)
{
    struct tl_step s;
    int64_t when;
    enum tl_status st = TL_OK;
    while (st == TL_OK && tl_tcpstate_advance(conn_state(c), now, final, &s, &when)) {
        st = log_timed(e, c, &s, when);
        if (s.ended)
            tl_flow_move(e->flows, c, TL_FLOW_ENDED);
    }
    return st;
}

/* Segment p from r at now: an RST from r after its retransmissions' last
 * deadline says r had given up then (tl_tcpstate_gave_up_before()). */
static enum tl_status gave_up_before(struct tl_engine *e, struct tl_conn *c, const struct tl_pkt *p,
                                     enum tl_role r, int64_t now)
{
    struct tl_step s;
    int64_t when;
    if (!tl_tcpstate_gave_up_before(conn_state(c), p, r, now, &s, &when))
        return TL_OK;
    if (s.ended)
        tl_flow_move(e->flows, c, TL_FLOW_ENDED);
    return log_timed(e, c, &s, when);
}

static enum tl_end final_end(struct tl_conn *c) { return tl_tcpstate_end(conn_state(c)); }

/* The engine's clock in c's own time: its last packet plus the time the
 * capture has run since. That is the clock itself unless the capture's
 * clock stepped back at or after c's start; then c's timers (SYN retries,
 * TIME_WAIT) and its detectors still measure the time c really had. */
static int64_t conn_now(const struct tl_engine *e, const struct tl_conn *c)
{
    return c->last_ts + (e->clock_us - c->seen_us);
}

/*
 * What follows a connection's end, on the engine's thread or the
 * handoff's (handoff.h): the detectors, once (they fill evidence only; the
 * reports that print texts render them from it), host-level detection,
 * and the ordering stage. It touches e->an, e->hosts, e->order,
 * e->reported_worst and e->detector_runs only, which are the handoff
 * thread's while it runs.
 */
static enum tl_status report_finished(void *ctx, const struct tl_finished *f)
{
    struct tl_engine *e = ctx;
    struct tl_anomaly_list *an = &e->an;
    an->n = 0;
    an->failed = false;
    enum tl_status st = TL_OK;
    if (f->detect) {
        struct tl_detect_ctx dc = {.conn = f->v.conn,
                                   .tcp = f->v.tcp,
                                   .timeline = f->v.timeline,
                                   .track = f->track,
                                   .cfg = &e->cfg.detect,
                                   .now_us = f->now_us,
                                   .runs = &e->detector_runs};
        st = tl_detect(&dc, an);
    }
    int worst = tl_anomaly_worst(an);
    if (worst > e->reported_worst)
        e->reported_worst = worst;
    /* Host-level detection takes connections in id order, as tcplens
     * merge can give them too. */
    struct tl_host_conn hc;
    tl_hosts_facts(f->v.conn, f->v.tcp, f->track, &hc);
    tl_hosts_take(e->hosts, &hc, f->oldest);
    struct tl_conn_view v = f->v;
    v.anomalies = an;
    v.host = &hc;
    struct tl_conn_perf perf;
    if (f->track != NULL) {
        tl_track_perf(f->track, &perf);
        v.perf = &perf;
    }
    tl_order_oldest_held(e->order, f->oldest);
    enum tl_status os = tl_order_conn(e->order, &v);
    return st != TL_OK ? st : os;
}

/* Takes c out of the flow table (its state is freed already). */
static void remove_conn(struct tl_engine *e, struct tl_conn *c)
{
    if (c->key.vlan & TL_FLOW_VLAN_APART)
        e->vlan_apart--;
    tl_flow_remove(e->flows, c);
}

/* Hands c to every reporter and frees it. Its end is forced (idle timeout,
 * eviction) or, with TL_END_OPEN, what its state machines say. */
static enum tl_status retire(struct tl_engine *e, struct tl_conn *c, enum tl_end forced)
{
    if (tl_engine_unpack(e, c) != TL_OK) {
        tl_engine_drop_state(e, c);
        remove_conn(e, c);
        return TL_ENOMEM;
    }
    struct tl_step rev;
    while (tl_tcpstate_settle(conn_state(c), conn_now(e, c), &rev)) {
        revise_history(c, &rev);
        tl_track_revise(&ext(c)->track, &rev);
    }
    enum tl_status st = advance(e, c, conn_now(e, c), true);
    /* After the clock has had its say (a SYN given up ends it as a timeout). */
    c->end = (uint8_t)(forced != TL_END_OPEN ? forced : final_end(c));
    enum tl_status fs = tl_timeline_flush(&ext(c)->tl, &e->cfg.timeline);
    if (st == TL_OK)
        st = fs;
    /* Every id below the oldest still held has been reported: the order
     * needs no place for those nobody lists. With none held, c's
     * successor is the lowest that may still come. */
    struct tl_conn *oldest = tl_flow_first(e->flows);
    if (oldest == c)
        oldest = tl_flow_next(c);
    struct tl_finished f = {.v = {c, &ext(c)->tcp, &ext(c)->zeek, &ext(c)->tl, NULL, NULL, NULL, 0},
                            .track = &ext(c)->track,
                            .now_us = conn_now(e, c),
                            .oldest = oldest != NULL ? oldest->id : c->id + 1,
                            .detect = st == TL_OK};
    f.v.released_pkt = e->finishing ? 0 : e->between ? e->read_pkt + 1 : e->read_pkt;
    enum tl_status rs = e->handoff != NULL ? tl_handoff_conn(e->handoff, &f)
                                           : report_finished(e, &f);
    if (st == TL_OK)
        st = rs;
    e->cap.connections++;
    tl_engine_drop_state(e, c);
    remove_conn(e, c);
    return st;
}

/* Leaves a tombstone for c, reported before Linux would have let its
 * 4-tuple go (tomb.h). TL_ENOMEM when there is no room for it: without it
 * the report could differ (a late segment taken for a new connection). */
static enum tl_status bury(struct tl_engine *e, struct tl_conn *c)
{
    const struct tl_tcpstate *tcp = conn_state(c);
    struct tl_tomb t = {.key = c->key,
                        .hash = c->links.hash,
                        .id = c->id,
                        .last_ts = c->last_ts,
                        .lapse_us = c->seen_us + TL_TIME_WAIT_US,
                        .time_wait_due = tl_tcpstate_time_wait_due(tcp),
                        .client_is_a = c->client_is_a};
    tl_tcpstate_seqspace(tcp, &t.seq);
    /* Those whose time is up go here, not on every packet: a lookup
     * ignores them anyway, and only a new one needs their room. */
    tl_tombs_lapse(e->tombs, e->clock_us);
    return tl_tombs_add(e->tombs, &t) ? TL_OK : TL_ENOMEM;
}

/* Reports c, which has ended. Within the minute Linux keeps its 4-tuple
 * in TIME_WAIT (a --linger shorter than that, live capture, room needed
 * under --max-flows), it leaves a tombstone for the rest of that minute. */
static enum tl_status retire_ended(struct tl_engine *e, struct tl_conn *c)
{
    enum tl_status bs = TL_OK;
    if (e->clock_us - c->seen_us <= TL_TIME_WAIT_US) {
        bs = tl_engine_unpack(e, c);
        if (bs == TL_OK)
            bs = bury(e, c);
    }
    enum tl_status st = retire(e, c, TL_END_OPEN);
    return bs != TL_OK ? bs : st;
}

/* The least recently seen live connection: the idle ones are older than
 * the rest. */
static struct tl_conn *stalest_live(const struct tl_engine *e)
{
    struct tl_conn *c = tl_flow_stalest(e->flows, TL_FLOW_IDLE);
    return c != NULL ? c : tl_flow_stalest(e->flows, TL_FLOW_LIVE);
}

/* Linux sends the first keepalive probe after tcp_keepalive_time, 2 h by
 * default; a quarter of an hour more for probes and slack. */
#define TL_KEEPALIVE_HORIZON_US ((7200 + 900) * TL_USEC_PER_SEC)

/* How long an idle synchronized connection is kept for its continuation. */
static int64_t dormancy(const struct tl_engine *e)
{
    return e->cfg.idle_timeout_us > TL_KEEPALIVE_HORIZON_US ? e->cfg.idle_timeout_us
                                                            : TL_KEEPALIVE_HORIZON_US;
}

/* c was idle past --idle-timeout and nothing continued it: it ends as a
 * timeout. */
static enum tl_status retire_idle(struct tl_engine *e, struct tl_conn *c)
{
    e->cap.evicted_idle++;
    c->idle_ended = true;
    return retire(e, c, TL_END_TIMEOUT);
}

/* Retires what the engine's clock (the latest packet time) says is over:
 * ended connections after their linger, live ones after the idle timeout.
 * Packs live connections that have been quiet for TL_PACK_IDLE_US: most of
 * those held at once in a busy capture wait (a SYN retry, a keepalive, a
 * peer that never closes). */
static enum tl_status expire(struct tl_engine *e)
{
    enum tl_status st = TL_OK;
    struct tl_conn *c;
    while (st == TL_OK && (c = tl_flow_stalest(e->flows, TL_FLOW_ENDED)) != NULL &&
           e->clock_us - c->seen_us > e->cfg.linger_us)
        st = retire_ended(e, c);
    while ((c = tl_flow_stalest(e->flows, TL_FLOW_LIVE)) != NULL &&
           e->clock_us - c->seen_us > TL_PACK_IDLE_US) {
        tl_engine_pack(e, c);
        tl_flow_move(e->flows, c, TL_FLOW_IDLE);
    }
    /* Idle is not the end of a synchronized connection: Linux keeps it, and
     * its keepalive (2 h later by default) continues it. It waits, packed,
     * until then; a half-open one ends here. */
    while (st == TL_OK && e->cfg.idle_timeout_us > 0 && (c = stalest_live(e)) != NULL &&
           e->clock_us - c->seen_us > e->cfg.idle_timeout_us) {
        if (c->synced && e->clock_us - c->seen_us <= dormancy(e)) {
            tl_flow_move(e->flows, c, TL_FLOW_DORMANT);
            continue;
        }
        st = retire_idle(e, c);
    }
    while (st == TL_OK && (c = tl_flow_stalest(e->flows, TL_FLOW_DORMANT)) != NULL &&
           e->clock_us - c->seen_us > dormancy(e))
        st = retire_idle(e, c);
    return st;
}

/* Makes room under --max-flows: an ended connection goes first (it has
 * said all it will), else the least recently seen live one. */
static enum tl_status make_room(struct tl_engine *e)
{
    struct tl_conn *c = tl_flow_stalest(e->flows, TL_FLOW_ENDED);
    if (c != NULL)
        return retire_ended(e, c);
    c = tl_flow_stalest(e->flows, TL_FLOW_DORMANT);
    if (c != NULL)
        return retire_idle(e, c);
    c = stalest_live(e);
    if (c == NULL)
        return TL_ENOMEM;
    e->cap.evicted_cap++;
    return retire(e, c, TL_END_EVICTED);
}

/*
 * Roles for a connection's first segment: the SYN's sender is the client,
 * the SYN-ACK's sender the server; otherwise the port heuristic of
 * docs/flow-table.md (the lower port is the server's, as services listen
 * on low, well-known ports and clients use ephemeral ones).
 */
static void assign_roles(struct tl_conn *c, const struct tl_pkt *p, bool from_a)
{
    uint8_t syn_ack = p->flags & (TL_TH_SYN | TL_TH_ACK);
    bool sender_is_client;
    if (syn_ack == TL_TH_SYN) {
        c->roles_from = TL_ROLES_SYN;
        sender_is_client = true;
    } else if (syn_ack == (TL_TH_SYN | TL_TH_ACK)) {
        c->roles_from = TL_ROLES_SYNACK;
        sender_is_client = false;
    } else {
        c->roles_from = TL_ROLES_PORT;
        sender_is_client = p->sport > p->dport || (p->sport == p->dport && from_a);
    }
    c->client_is_a = sender_is_client == from_a;
}

static enum tl_status start_conn(struct tl_engine *e, const struct tl_flow_key *k, uint32_t h,
                                 const struct tl_pkt *p, bool from_a, const struct tl_frame *f,
                                 struct tl_conn **out)
{
    enum tl_status st = TL_OK;
    if (tl_flow_full(e->flows))
        st = make_room(e);
    if (st != TL_OK)
        return st;
    struct tl_conn *c = tl_flow_insert(e->flows, k, h);
    if (c == NULL)
        return TL_ENOMEM;
    if (k->vlan & TL_FLOW_VLAN_APART)
        e->vlan_apart++;
    slot(c)->x = tl_engine_ext_alloc(e);
    if (slot(c)->x != NULL)
        memset(slot(c)->x, 0, sizeof(struct conn_ext));
    if (slot(c)->x == NULL) {
        remove_conn(e, c);
        return TL_ENOMEM;
    }
    assign_roles(c, p, from_a);
    if (p->tunnel.type != TL_TUN_NONE) {
        c->tunnel = p->tunnel;
        if (!from_a) { /* outer_src on key.a's side */
            c->tunnel.outer_src = p->tunnel.outer_dst;
            c->tunnel.outer_dst = p->tunnel.outer_src;
        }
    }
    c->first_ts = f->ts_us;
    c->first_pkt = f->pkt_no;
    tl_tcpstate_init(conn_state(c));
    int64_t fin_ms = e->cfg.detect.fin_timeout_us / 1000;
    conn_state(c)->fin_timeout_ms = fin_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)fin_ms;
    tl_dedup_init(&ext(c)->dedup);
    tl_zeek_init_cfg(&ext(c)->zeek, &e->cfg.zeek);
    tl_timeline_init(&ext(c)->tl);
    tl_track_init(&ext(c)->track);
    size_t n = tl_flow_count(e->flows);
    if (n > e->cap.peak_flows && !e->following)
        e->cap.peak_flows = n;
    *out = c;
    return TL_OK;
}

/* A new connection takes c's 4-tuple over: c ends here. What the new one
 * should know about it is left in *prev. */
/* The key of the connection superseded on k's 4-tuple. */
static struct tl_flow_key superseded_key(const struct tl_flow_key *k)
{
    struct tl_flow_key s = *k;
    s.vlan |= TL_FLOW_SUPERSEDED;
    return s;
}

/* The connection a newer one on key k superseded, unpacked, or NULL. */
static struct tl_conn *superseded(struct tl_engine *e, const struct tl_flow_key *k)
{
    struct tl_flow_key s = superseded_key(k);
    struct tl_conn *old = tl_flow_lookup(e->flows, &s, tl_flow_hash(e->flows, &s));
    return old != NULL && tl_engine_unpack(e, old) == TL_OK ? old : NULL;
}

/*
 * Keeps c, which a new connection supersedes while c's server still holds
 * it, under the superseded key of its 4-tuple: the server answers the new
 * SYN with a challenge ACK of c's and ends c on the client's RST (RFC 5961
 * 4), segments that belong to c (on_segment routes them). An older one
 * held there is retired first.
 */
static enum tl_status hold_superseded(struct tl_engine *e, struct tl_conn *c)
{
    struct tl_flow_key s = superseded_key(&c->key);
    struct tl_conn *older = tl_flow_lookup(e->flows, &s, tl_flow_hash(e->flows, &s));
    enum tl_status st = older != NULL ? retire(e, older, TL_END_OPEN) : TL_OK;
    tl_flow_rekey(e->flows, c, &s);
    c->overlaps = true;
    return st;
}

/* What a new connection starting at ts learns of the one it took the
 * 4-tuple from: its id, last segment at last_ts, TIME_WAIT ending at due
 * (0: none). */
static struct tl_reuse reuse_of(uint64_t id, int64_t last_ts, int64_t due, int64_t ts)
{
    return (struct tl_reuse){.reused = true,
                             .prev_time_wait = due != 0 && ts < due,
                             .prev_id = id,
                             .gap_us = ts - last_ts};
}

/* A new connection takes c's 4-tuple over: c ends here, or is held while
 * its server may still answer (*held). What the new one should know about
 * it is left in *prev. */
static enum tl_status take_over(struct tl_engine *e, struct tl_conn *c, enum tl_role by,
                                const struct tl_frame *f, struct tl_reuse *prev, bool *held)
{
    struct tl_step s;
    enum tl_status st = advance(e, c, f->ts_us, true);
    const struct tl_tcpstate *tcp = conn_state(c);
    *prev = reuse_of(c->id, c->last_ts, tl_tcpstate_time_wait_due(tcp), f->ts_us);
    *held = tl_tcpstate_may_challenge(tcp, by);
    if (st == TL_OK && tl_tcpstate_reused(conn_state(c), by, f->ts_us, &s))
        st = log_timed(e, c, &s, f->ts_us);
    enum tl_status rs = *held ? hold_superseded(e, c) : retire(e, c, TL_END_OPEN);
    return st != TL_OK ? st : rs;
}

/* The capture's own copy of a segment just seen (a SPAN port mirroring both
 * directions of a link, -i any seeing both ends of a veth, a merge of two
 * capture points): counted, listed in a full timeline, not an event for
 * the state machines or the detectors. */
static enum tl_status log_duplicate(struct tl_engine *e, struct tl_conn *c, const struct tl_pkt *p,
                                    const struct tl_frame *f, enum tl_role r)
{
    e->cap.duplicates++;
    c->duplicates[r]++;
    struct tl_step s;
    tl_tcpstate_duplicate(conn_state(c), p, r, &s);
    struct tl_event ev = packet_event(c, &s, p, f, r);
    return tl_timeline_add(&ext(c)->tl, &e->cfg.timeline, &ev, false);
}

/* Can a segment sent by from_a with VLAN id vlan belong to c? Under
 * --vlan-key auto, a direction not seen yet may come on any VLAN (a tap
 * that tags each direction apart); a direction already seen keeps its own. */
static bool vlan_fits(const struct tl_conn *c, bool from_a, uint32_t vlan)
{
    enum tl_role r = tl_conn_role(c, from_a);
    return !(c->vlan_seen & (1u << r)) || c->vlan[r] == vlan;
}

/*
 * The connection a segment belongs to, or NULL; *k and *h are then the key
 * (and its hash) a new one would take. With --vlan-key on the VLAN id is
 * part of the key; off, it is not; auto, it is not unless a flow with the
 * same 4-tuple already uses the direction on another VLAN (two tenants'
 * identical addresses): that one is kept apart under the key of its VLAN.
 */
static struct tl_conn *find_conn(struct tl_engine *e, const struct tl_pkt *p, bool from_a,
                                 struct tl_flow_key *k, uint32_t *h)
{
    struct tl_conn *c = tl_flow_lookup(e->flows, k, *h);
    if (e->cfg.vlan_key != TL_VLAN_KEY_AUTO || (c != NULL && vlan_fits(c, from_a, p->vlan)) ||
        (c == NULL && e->vlan_apart == 0))
        return c;
    struct tl_flow_key apart = *k;
    apart.vlan = p->vlan | TL_FLOW_VLAN_APART;
    uint32_t ha = tl_flow_hash(e->flows, &apart);
    struct tl_conn *own = tl_flow_lookup(e->flows, &apart, ha);
    if (own != NULL || c != NULL) {
        *k = apart;
        *h = ha;
    }
    return own;
}

static enum tl_status feed(struct tl_engine *e, struct tl_conn *c, const struct tl_pkt *p,
                           const struct tl_frame *f, bool from_a, bool challenge);

/*
 * A segment no connection held claims, on the 4-tuple of one reported
 * early: true when it belongs to that one (its sequence spaces, or its SYN
 * again), counted as late and not taken further. Otherwise the tombstone
 * goes: a new connection there learns from it in *prev that it reuses the
 * 4-tuple, or the segment is another connection's, picked up midstream.
 */
static bool late_for_tomb(struct tl_engine *e, const struct tl_flow_key *k, uint32_t h,
                          const struct tl_pkt *p, bool from_a, const struct tl_frame *f,
                          struct tl_reuse *prev)
{
    if (tl_tombs_count(e->tombs) == 0)
        return false;
    /* Under --vlan-key auto, a connection that was kept apart by its VLAN
     * left its tombstone under that key; it is the more particular one. */
    struct tl_tomb *t = NULL;
    if (e->cfg.vlan_key == TL_VLAN_KEY_AUTO && !(k->vlan & TL_FLOW_VLAN_APART)) {
        struct tl_flow_key apart = *k;
        apart.vlan = p->vlan | TL_FLOW_VLAN_APART;
        t = tl_tombs_find(e->tombs, &apart, tl_flow_hash(e->flows, &apart));
    }
    if (t == NULL)
        t = tl_tombs_find(e->tombs, k, h);
    if (t == NULL)
        return false;
    enum tl_role r = tl_role_of(t->client_is_a, from_a);
    if (t->lapse_us >= e->clock_us && !tl_seqspace_reset_again(&t->seq, p, f->ts_us - t->last_ts)) {
        if (tl_seqspace_starts_new(&t->seq, p, r, true)) {
            *prev = reuse_of(t->id, t->last_ts, t->time_wait_due, f->ts_us);
        } else if ((p->flags & TL_TH_SYN) || tl_seqspace_continues(&t->seq, p, r)) {
            /* Its last segment now, as it would be for the connection
             * itself had it lingered: later gaps count from here. */
            t->last_ts = f->ts_us;
            e->cap.late_segments++;
            return true;
        }
    }
    tl_tombs_remove(e->tombs, t);
    return false;
}

/* A lone reset again on the 4-tuple of a connection of resets alone
 * (tl_seqspace_reset_again()): that one is over, and this starts another. */
static bool reset_again(struct tl_conn *c, const struct tl_pkt *p, int64_t ts_us)
{
    if (!(p->flags & TL_TH_RST))
        return false;
    struct tl_seqspace s;
    tl_tcpstate_seqspace(conn_state(c), &s);
    return tl_seqspace_reset_again(&s, p, ts_us - c->last_ts);
}

/* Where p's connection is looked up first (engine.h). The shard is the
 * same with or without the VLAN: tl_flow_shard() leaves it out. */
static void lookup_of(const struct tl_engine *e, const struct tl_pkt *p, struct tl_lookup *l)
{
    tl_flow_key_make(p, &l->key, &l->from_a);
    if (e->cfg.vlan_key != TL_VLAN_KEY_ON)
        l->key.vlan = 0;
    l->hash = tl_flow_hash(e->flows, &l->key);
}

/* known: p's lookup, when tl_engine_prefetch_key() made it already. */
static enum tl_status on_segment(struct tl_engine *e, const struct tl_pkt *p,
                                 const struct tl_frame *f, const struct tl_lookup *known)
{
    struct tl_lookup l;
    if (known != NULL)
        l = *known;
    else
        lookup_of(e, p, &l);
    struct tl_flow_key k = l.key;
    bool from_a = l.from_a;
    if (e->cfg.shard_count > 1 && tl_flow_shard(&k, e->cfg.shard_count) != e->cfg.shard_index) {
        e->cap.shard_other_packets += !e->following;
        return TL_OK;
    }
    uint32_t h = l.hash;
    struct tl_conn *c = find_conn(e, p, from_a, &k, &h);
    enum tl_status st = c != NULL ? tl_engine_unpack(e, c) : TL_OK;
    if (st != TL_OK)
        return st;
    /* The server's challenge ACK and the RST answering it belong to the
     * connection the server still held. */
    if (c != NULL && c->supersedes &&
        tl_tcpstate_challenge(conn_state(c), p, tl_conn_role(c, from_a))) {
        struct tl_conn *old = superseded(e, &c->key);
        if (old != NULL)
            return feed(e, old, p, f, from_a, true);
        c->supersedes = false;
    }
    /* A dormant connection comes back only with a segment in its sequence
     * space; anything else is another connection on the 4-tuple. */
    if (c != NULL && c->links.list == TL_FLOW_DORMANT &&
        !tl_tcpstate_continues(conn_state(c), p, tl_conn_role(c, from_a))) {
        st = retire_idle(e, c);
        c = NULL;
        if (st != TL_OK)
            return st;
    }
    if (c != NULL && reset_again(c, p, f->ts_us)) {
        st = retire(e, c, TL_END_OPEN);
        c = NULL;
        if (st != TL_OK)
            return st;
    }
    struct tl_reuse prev = {false, false, 0, 0};
    bool held = false;
    if (c != NULL && tl_tcpstate_starts_new(conn_state(c), p, tl_conn_role(c, from_a))) {
        st = take_over(e, c, tl_conn_role(c, from_a), f, &prev, &held);
        c = NULL;
    } else if (c == NULL && st == TL_OK && late_for_tomb(e, &k, h, p, from_a, f, &prev))
        return TL_OK;
    /* Following, a new connection is left to the run that reads its file
     * as its own, but for one that reuses the 4-tuple of a connection held
     * or a tombstone's: one run tells it from that one (port_reuse, the
     * challenge ACK and RST the old one's server still sends), the run of
     * its file cannot. It is this run's (tcplens merge leaves the other
     * run's record of it out). */
    if (c == NULL && st == TL_OK && e->following && !prev.reused)
        return TL_OK;
    if (c == NULL && st == TL_OK)
        st = start_conn(e, &k, h, p, from_a, f, &c);
    if (st != TL_OK)
        return st;
    if (prev.reused)
        ext(c)->track.reuse = prev;
    c->supersedes = held;
    c->overlaps = c->overlaps || held;
    return feed(e, c, p, f, from_a, false);
}

/* One segment of c. challenge: the server's challenge ACK of c, a
 * connection a newer one superseded, or the RST answering it. */
static enum tl_status feed(struct tl_engine *e, struct tl_conn *c, const struct tl_pkt *p,
                           const struct tl_frame *f, bool from_a, bool challenge)
{
    enum tl_status st;
    enum tl_role r = tl_conn_role(c, from_a);
    if (!(c->vlan_seen & (1u << r))) {
        c->vlan[r] = p->vlan;
        c->vlan_seen |= (uint8_t)(1u << r);
    }
    c->last_ts = f->ts_us;
    c->seen_us = e->clock_us;
    c->last_pkt = f->pkt_no;
    c->packets[r]++;
    tl_zeek_update(&ext(c)->zeek, p, from_a, f->ts_us);
    /* Short of memory for a waiting block, the Zeek columns may be wrong. */
    enum tl_status zs = tl_zeek_failed(&ext(c)->zeek) ? TL_ENOMEM : TL_OK;
    if (tl_dedup_seen(&ext(c)->dedup, r, p, f->ts_us)) {
        tl_flow_touch(e->flows, c);
        enum tl_status ds = log_duplicate(e, c, p, f, r);
        return zs != TL_OK ? zs : ds;
    }
    c->bytes[r] += p->payload_len;
    st = advance(e, c, f->ts_us, false);
    if (st == TL_OK)
        st = gave_up_before(e, c, p, r, f->ts_us);
    struct tl_step step;
    tl_tcpstate_update(conn_state(c), p, r, f->ts_us, &step);
    if (challenge && !(p->flags & TL_TH_RST)) {
        step.kind = TL_K_CHALLENGE_ACK;
        step.lifecycle = true;
    }
    enum tl_status ls = log_step(e, c, &step, p, f, r);
    c->synced = tl_tcpstate_synced(conn_state(c));
    if (step.ended)
        tl_flow_move(e->flows, c, TL_FLOW_ENDED);
    else if (tl_flow_ended(c) && !tl_tcpstate_ended(conn_state(c)))
        tl_flow_move(e->flows, c, TL_FLOW_LIVE); /* a refuted end: it goes on */
    else
        tl_flow_touch(e->flows, c);
    if (tl_flow_ended(c))
        tl_engine_pack(e, c);
    return st != TL_OK ? st : ls != TL_OK ? ls : zs;
}

/* The packet of the segment an ICMP error quotes, p, sent by r: r's last
 * segment if it matches, else its latest timeline entry with that sequence
 * number and length (every SYN, retransmission and state change has one);
 * 0 when the capture does not show it. */
static uint64_t quoted_packet(struct tl_conn *c, const struct tl_pkt *p, enum tl_role r)
{
    const struct tl_ep *me = &conn_state(c)->ep[r];
    if (!me->seen)
        return 0;
    /* Most often the error answers r's last segment; an ACK and data may
     * share a sequence number, so its length must match too. */
    const struct tl_track_side *side = &ext(c)->track.side[r];
    if (side->last_seq == p->seq && (!p->icmp.has_len || side->last_len == p->payload_len))
        return side->last_pkt;
    uint32_t rel = p->seq - me->isn;
    const struct tl_timeline *t = &ext(c)->tl;
    for (uint32_t i = t->n; i-- > 0;) {
        const struct tl_event *ev = &t->ev[i];
        if (ev->dir == (uint8_t)r && ev->kind < TL_K_NKINDS && ev->seq == rel &&
            (!p->icmp.has_len || ev->len == p->payload_len) && !tl_event_is_icmp(ev))
            return ev->pkt;
    }
    return 0;
}

/* Records an ICMP error's step: in the timeline as travelling towards r
 * (from the peer or a router on the way), and for the detectors. */
static enum tl_status log_icmp(struct tl_engine *e, struct tl_conn *c, const struct tl_step *s,
                               const struct tl_pkt *p, const struct tl_frame *f, enum tl_role r)
{
    uint64_t quoted = quoted_packet(c, p, r);
    struct tl_event ev = {.ts = f->ts_us,
                          .pkt = f->pkt_no,
                          .seq = s->rel_seq,
                          .win = (uint16_t)(p->icmp.type << 8 | p->icmp.code),
                          .dir = (uint8_t)!r,
                          .kind = s->kind};
    tl_timeline_states(&ev, conn_state(c), s);
    enum tl_status tr = tl_track_icmp(&ext(c)->track, conn_state(c), s, p, r, f->pkt_no, f->ts_us,
                                      quoted);
    enum tl_status st = tl_timeline_add(&ext(c)->tl, &e->cfg.timeline, &ev, true);
    return tr != TL_OK ? tr : st;
}

/*
 * An ICMP or ICMPv6 error about a TCP segment, p (the quoted segment): it
 * reaches that segment's sender. One about no connection held (or held by
 * another shard) is counted only. The capture's own copy of one just seen
 * counts as a duplicate.
 */
static enum tl_status on_icmp(struct tl_engine *e, const struct tl_pkt *err,
                              const struct tl_frame *f)
{
    /* Inside a tunnel the error travels back the quoted segment's way. */
    struct tl_pkt q = *err;
    q.tunnel.outer_src = err->tunnel.outer_dst;
    q.tunnel.outer_dst = err->tunnel.outer_src;
    const struct tl_pkt *p = &q;
    struct tl_lookup l;
    lookup_of(e, p, &l);
    if (e->cfg.shard_count > 1 && tl_flow_shard(&l.key, e->cfg.shard_count) != e->cfg.shard_index) {
        e->cap.shard_other_packets += !e->following;
        return TL_OK;
    }
    struct tl_flow_key k = l.key;
    uint32_t h = l.hash;
    struct tl_conn *c = find_conn(e, p, l.from_a, &k, &h);
    if (c == NULL) {
        e->cap.icmp_unmatched += !e->following;
        return TL_OK;
    }
    enum tl_status st = tl_engine_unpack(e, c);
    if (st != TL_OK)
        return st;
    e->cap.icmp_matched++;
    e->cap.follow_icmp_matched += e->following;
    c->icmp_errors++;
    enum tl_role r = tl_conn_role(c, l.from_a);
    if (tl_track_icmp_copy(&ext(c)->track, p, r, f->ts_us)) {
        e->cap.duplicates++;
    } else {
        c->last_ts = f->ts_us;
        c->seen_us = e->clock_us;
        c->last_pkt = f->pkt_no;
        st = advance(e, c, f->ts_us, false);
        struct tl_step step;
        tl_tcpstate_icmp(conn_state(c), p, r, f->ts_us, &step);
        enum tl_status ls = log_icmp(e, c, &step, p, f, r);
        if (st == TL_OK)
            st = ls;
        if (step.ended)
            tl_flow_move(e->flows, c, TL_FLOW_ENDED);
    }
    if (!tl_flow_ended(c))
        tl_flow_touch(e->flows, c);
    if (tl_flow_ended(c))
        tl_engine_pack(e, c);
    return st;
}

/*
 * A frame of the follow inputs (tl_engine_follow()): it moves the clock
 * and the timers as any frame does, so that the connections held end and
 * are reported as one run over every file would report them; it reaches
 * only those and the tombstones. The capture's own counters leave it out.
 */
static enum tl_status feed_follow(struct tl_engine *e, const struct tl_frame *f,
                                  const struct tl_pkt *p, enum tl_dec r, const struct tl_lookup *l)
{
    if ((e->cap.packets == 0 && e->cap.follow_packets == 0) || f->ts_us > e->clock_us)
        e->clock_us = f->ts_us;
    if (e->cap.follow_packets == 0 || f->ts_us > e->cap.follow_last_ts)
        e->cap.follow_last_ts = f->ts_us;
    e->cap.follow_packets++;
    e->read_pkt = f->pkt_no;
    e->between = false;
    if (r != TL_DEC_OK && r != TL_DEC_ICMP)
        return TL_OK;
    enum tl_status st = expire(e);
    if (st != TL_OK)
        return st;
    return r == TL_DEC_ICMP ? on_icmp(e, p, f) : on_segment(e, p, f, l);
}

void tl_engine_follow(struct tl_engine *e) { e->following = true; }

bool tl_engine_follow_done(struct tl_engine *e)
{
    if (tl_flow_count(e->flows) != 0)
        return false;
    /* A tombstone whose minute is over claims nothing any more. */
    tl_tombs_lapse(e->tombs, e->clock_us);
    return tl_tombs_count(e->tombs) == 0;
}

int64_t tl_engine_last_read_ts(const struct tl_engine *e)
{
    if (e->cap.follow_packets != 0 &&
        (e->cap.packets == 0 || e->cap.follow_last_ts > e->cap.last_ts))
        return e->cap.follow_last_ts;
    return e->cap.last_ts;
}

enum tl_status tl_engine_feed_decoded(struct tl_engine *e, const struct tl_frame *f,
                                      const struct tl_pkt *p, enum tl_dec r,
                                      const struct tl_lookup *l)
{
    if (e->following)
        return feed_follow(e, f, p, r, l);
    if (e->cap.packets == 0 || f->ts_us < e->cap.first_ts)
        e->cap.first_ts = f->ts_us;
    if (e->cap.packets == 0 || f->ts_us > e->cap.last_ts)
        e->cap.last_ts = f->ts_us;
    /* The first packet sets the clock, even before 1970 (libpcap reads a
     * classic pcap's seconds as signed 32 bits); later ones only move it on. */
    if (e->cap.packets == 0 || f->ts_us > e->clock_us)
        e->clock_us = f->ts_us;
    e->cap.packets++;
    e->read_pkt = f->pkt_no;
    e->between = false;
    if (r == TL_DEC_ICMP) {
        enum tl_status st = expire(e);
        return st != TL_OK ? st : on_icmp(e, p, f);
    }
    if (r != TL_DEC_OK) {
        e->cap.skipped[r]++;
        return TL_OK;
    }
    e->cap.tcp_packets++;
    enum tl_status st = expire(e);
    return st != TL_OK ? st : on_segment(e, p, f, l);
}

enum tl_dec tl_engine_decode(const struct tl_engine *e, const struct tl_frame *f, struct tl_pkt *p)
{
    if (e->cfg.decode == NULL)
        return tl_decode(f->data, f->caplen, f->wirelen, f->linktype, p);
    return tl_decode_cfg(f->data, f->caplen, f->wirelen, f->linktype, e->cfg.decode, p);
}

enum tl_status tl_engine_feed(struct tl_engine *e, const struct tl_frame *f)
{
    struct tl_pkt p;
    enum tl_dec r = tl_engine_decode(e, f, &p);
    return tl_engine_feed_decoded(e, f, &p, r, NULL);
}

/* (A connection kept apart under --vlan-key auto is not prefetched.) */
void tl_engine_prefetch_key(const struct tl_engine *e, const struct tl_pkt *p, struct tl_lookup *l)
{
    lookup_of(e, p, l);
    tl_flow_prefetch_bucket(e->flows, l->hash);
}

void tl_engine_prefetch_conn(const struct tl_engine *e, uint32_t hash)
{
    (void)tl_flow_prefetch_chain(e->flows, hash);
}

/* The lines of a state an ordinary segment touches (docs/performance.md,
 * "Fifth round"): the state machines up to the timeline, then each
 * tracker side's first line. Most often the bucket's first connection is
 * the segment's own; when it is not, this only costs the fetch. The
 * bucket is read again, not remembered from the stage before: the frames
 * fed since may have removed that connection. */
void tl_engine_prefetch_state(const struct tl_engine *e, uint32_t hash)
{
    const struct tl_conn *c = tl_flow_prefetch_chain(e->flows, hash);
    if (c == NULL)
        return;
    const struct conn_ext *x = slot_of(c)->x;
    if (x == NULL) /* packed: the engine unpacks it anyway */
        return;
    const char *b = (const char *)x;
    for (size_t o = 0; o < offsetof(struct conn_ext, track); o += 64)
        __builtin_prefetch(b + o);
    __builtin_prefetch(&x->track.side[0]);
    __builtin_prefetch(&x->track.side[1]);
}

enum tl_status tl_engine_set_capture_end(struct tl_engine *e, int64_t end_us,
                                         enum tl_capture_end src)
{
    int64_t last = tl_engine_last_read_ts(e);
    if (e->cap.packets + e->cap.follow_packets == 0 || end_us <= last)
        return TL_OK;
    e->cap.end_ts = end_us;
    e->cap.end_source = (uint8_t)src;
    /* The clock is the latest packet's; it moves on by the time the
     * capture ran past its last one. */
    return tl_engine_tick(e, e->clock_us + (end_us - last));
}

enum tl_status tl_engine_tick(struct tl_engine *e, int64_t now_us)
{
    if (now_us > e->clock_us)
        e->clock_us = now_us;
    e->between = true; /* after the frame last read, before the next */
    return expire(e);
}

void tl_engine_each(const struct tl_engine *e, void (*fn)(void *ctx, const struct tl_conn_view *v),
                    void *ctx)
{
    for (struct tl_conn *c = tl_flow_first(e->flows); c != NULL; c = tl_flow_next(c)) {
        struct conn_ext *x = ext(c), *tmp = NULL;
        if (x == NULL) { /* packed: a copy for the look (skipped short of memory) */
            tmp = malloc(sizeof *tmp);
            if (tmp == NULL || tl_engine_unpack_into(tmp, slot(c)->packed) != TL_OK) {
                free(tmp);
                continue;
            }
            x = tmp;
        }
        struct tl_conn_view v = {c, &x->tcp, &x->zeek, &x->tl, NULL, NULL, NULL, 0};
        fn(ctx, &v);
        if (tmp != NULL) {
            tl_timeline_free(&tmp->tl);
            free(tmp);
        }
    }
}

enum tl_status tl_engine_finish(struct tl_engine *e)
{
    enum tl_status st = TL_OK;
    if (e->cap.end_source == TL_CEND_LAST_PACKET)
        e->cap.end_ts = tl_engine_last_read_ts(e);
    struct tl_conn *c;
    e->finishing = true;
    /* First-seen order, so that streamed output needs no reordering here. */
    while ((c = tl_flow_first(e->flows)) != NULL) {
        enum tl_status s = c->links.list == TL_FLOW_DORMANT ? retire_idle(e, c)
                                                            : retire(e, c, TL_END_OPEN);
        if (st == TL_OK)
            st = s;
    }
    if (e->handoff != NULL) {
        enum tl_status ts = tl_handoff_finish(e->handoff);
        tl_handoff_free(e->handoff);
        e->handoff = NULL;
        if (st == TL_OK)
            st = ts;
    }
    enum tl_status os = tl_order_flush(e->order);
    if (st == TL_OK)
        st = os;
    tl_host_anomaly_list_free(&e->host_an);
    if (e->reported_worst > e->cap.worst_severity)
        e->cap.worst_severity = e->reported_worst;
    enum tl_status hs = tl_hosts_finish(e->hosts, &e->host_an);
    tl_order_tally_hosts(e->order, &e->host_an);
    e->cap.evicted_hosts = tl_hosts_evicted(e->hosts);
    e->cap.evicted_tombstones = tl_tombs_evicted(e->tombs);
    for (size_t i = 0; i < e->host_an.n; i++)
        if ((int)e->host_an.a[i].a.severity > e->cap.worst_severity)
            e->cap.worst_severity = e->host_an.a[i].a.severity;
    return st != TL_OK ? st : hs;
}

const struct report_summary *tl_engine_summary(const struct tl_engine *e)
{
    return tl_order_summary(e->order);
}

const struct tl_host_anomaly_list *tl_engine_host_anomalies(const struct tl_engine *e)
{
    return &e->host_an;
}
