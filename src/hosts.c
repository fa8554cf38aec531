/*
 * Host-level aggregation (include/tcplens/hosts.h). Three kinds of
 * aggregate, all in one capped table:
 *
 *   SCAN    key: client address.   Attempts by outcome, and sets of the
 *           targets, ports and hosts it tried (1024-bit hash bitmaps, counted
 *           by linear counting: fixed size, good to a few thousand).
 *   LISTEN  key: server address:port. Completed handshakes with the time
 *           they completed and the time the server proved it had accepted
 *           (its first data or FIN), the most recent ones in a small fixed
 *           array; the connections whose ACK or SYNs were dropped.
 *   PAIR    key: client address, server address:port. Client TIME_WAITs in
 *           tumbling 60 s windows: the busiest window gives the rate.
 *
 * The table is a chained hash (power-of-two buckets) with an intrusive LRU
 * list: a full table evicts its least recently updated aggregate, which is
 * evaluated first, so an anomaly it already proves survives the eviction.
 */
#include "tcplens/hosts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly_int.h"
#include "hosts_int.h"

/* ------------------------------------------------------------ helpers */

uint64_t tl_hosts_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    return x ^ (x >> 33);
}

uint64_t tl_hosts_addr_hash(const struct tl_addr *a, uint64_t h)
{
    uint64_t w[2];
    memcpy(w, a->b, sizeof w);
    return tl_hosts_mix(h ^ tl_hosts_mix(w[0] ^ a->family) ^
                        tl_hosts_mix(w[1] + 0x9e3779b97f4a7c15u));
}

static uint32_t key_hash(const struct key *k)
{
    uint64_t h = tl_hosts_addr_hash(&k->a, k->kind);
    h = tl_hosts_addr_hash(&k->b, h);
    return (uint32_t)tl_hosts_mix(h ^ k->port);
}

static bool key_eq(const struct key *x, const struct key *y)
{
    return x->kind == y->kind && x->port == y->port && tl_addr_cmp(&x->a, &y->a) == 0 &&
           tl_addr_cmp(&x->b, &y->b) == 0;
}

/* Natural logarithm for 0 < x <= 1 (no libm): halve the range to [0.5, 1],
 * then ln x = 2 atanh((x - 1) / (x + 1)). */
static double ln01(double x)
{
    int k = 0;
    while (x < 0.5) {
        x *= 2.0;
        k++;
    }
    double y = (x - 1.0) / (x + 1.0), y2 = y * y, term = y, sum = 0.0;
    for (int i = 1; i < 40; i += 2) {
        sum += term / i;
        term *= y2;
    }
    return 2.0 * sum - k * 0.69314718055994531;
}

void tl_hosts_bit_set(uint64_t *set, uint64_t h)
{
    set[(h % BITS) / 64] |= UINT64_C(1) << (h % 64);
}

/* Linear counting: n ~ -m ln(zero bits / m). Saturates near m ln m. */
int64_t tl_hosts_bit_count(const uint64_t *set)
{
    uint32_t ones = 0;
    for (uint32_t i = 0; i < BITS / 64; i++)
        ones += (uint32_t)__builtin_popcountll(set[i]);
    uint32_t zeros = BITS - ones > 0 ? BITS - ones : 1;
    return (int64_t)(-(double)BITS * ln01((double)zeros / BITS) + 0.5);
}

/* Keeps the TL_HOST_MAX_CONNS lowest ids, ascending. */
void tl_hosts_ids_add(struct ids *s, uint64_t id)
{
    s->total++;
    uint32_t i = s->n;
    if (i == TL_HOST_MAX_CONNS) {
        if (id >= s->id[i - 1])
            return;
        i--;
    } else {
        s->n++;
    }
    while (i > 0 && s->id[i - 1] > id) {
        s->id[i] = s->id[i - 1];
        i--;
    }
    s->id[i] = id;
}

void tl_hosts_ids_merge(struct tl_host_anomaly *ha, const struct ids *s)
{
    struct ids all = {0};
    for (uint32_t i = 0; i < ha->nconns; i++)
        tl_hosts_ids_add(&all, ha->conns[i]);
    for (uint32_t i = 0; i < s->n; i++)
        tl_hosts_ids_add(&all, s->id[i]);
    ha->nconns = all.n;
    memcpy(ha->conns, all.id, sizeof all.id);
    ha->total_conns += s->total;
}

double tl_hosts_secs(int64_t us) { return (double)us / (double)TL_USEC_PER_SEC; }

/* ------------------------------------------------------------- table */

struct tl_hosts *tl_hosts_new(const struct tl_hosts_cfg *cfg)
{
    struct tl_hosts *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    if (cfg != NULL)
        h->cfg = *cfg;
    struct tl_hosts_cfg *c = &h->cfg;
    c->max_hosts = c->max_hosts ? c->max_hosts : TL_HOSTS_DEFAULT_MAX;
    c->max_anomalies = c->max_anomalies ? c->max_anomalies : TL_HOSTS_DEFAULT_MAX_ANOMALIES;
    c->scan_ports = c->scan_ports ? c->scan_ports : TL_HOSTS_SCAN_PORTS;
    c->scan_hosts = c->scan_hosts ? c->scan_hosts : TL_HOSTS_SCAN_HOSTS;
    c->scan_window_us = c->scan_window_us > 0 ? c->scan_window_us : TL_HOSTS_SCAN_WINDOW_US;
    c->tw_min_conns = c->tw_min_conns ? c->tw_min_conns : TL_HOSTS_TW_MIN_CONNS;
    c->tw_min_fill = c->tw_min_fill > 0 ? c->tw_min_fill : TL_HOSTS_TW_MIN_FILL;
    c->tw_port_range = c->tw_port_range ? c->tw_port_range : TL_HOSTS_PORT_RANGE;
    uint32_t nb = 16;
    while (nb < c->max_hosts && nb < (1u << 30))
        nb <<= 1;
    h->buckets = calloc(nb, sizeof *h->buckets);
    if (h->buckets == NULL) {
        free(h);
        return NULL;
    }
    h->mask = nb - 1;
    h->next_id = 1;
    return h;
}

static void lru_unlink(struct tl_hosts *h, struct agg *g)
{
    if (g->older != NULL)
        g->older->newer = g->newer;
    else
        h->oldest = g->newer;
    if (g->newer != NULL)
        g->newer->older = g->older;
    else
        h->newest = g->older;
    g->older = g->newer = NULL;
}

static void lru_push(struct tl_hosts *h, struct agg *g)
{
    g->older = h->newest;
    g->newer = NULL;
    if (h->newest != NULL)
        h->newest->newer = g;
    else
        h->oldest = g;
    h->newest = g;
}

/* Unlinks g from its chain and the LRU list, and frees it. */
static void drop_agg(struct tl_hosts *h, struct agg *g)
{
    struct agg **pp = &h->buckets[g->hash & h->mask];
    while (*pp != g)
        pp = &(*pp)->hnext;
    *pp = g->hnext;
    lru_unlink(h, g);
    h->count--;
    if (g->k.kind == K_SCAN)
        tl_hosts_scan_release(&g->u.s);
    g->hnext = h->spare[g->k.kind];
    h->spare[g->k.kind] = g;
}

static void evaluate(struct tl_hosts *h, const struct agg *g, struct tl_host_anomaly_list *out);

/*
 * The bytes of each kind of aggregate, indexed by enum kind: all of them
 * (only as big as its kind needs: a LISTEN aggregate is ten times a PAIR),
 * and those a new one must start with at zero: all but the lists read only
 * up to their counts (the ids of a struct ids past n, a listener's pending
 * connections past npend), which each kind keeps last. A connection makes
 * two or three aggregates when its hosts are new, and a kilobyte of zeros
 * each would be most of their cost.
 */
#define AGG_SIZES(type)                                                              \
    {                                                                                \
        offsetof(struct agg, u) + sizeof(type),                                      \
            offsetof(struct agg, u) + offsetof(type, ids) + offsetof(struct ids, id) \
    }
static const struct {
    size_t size, cleared;
} agg_sizes[] = {[K_SCAN] = AGG_SIZES(struct scan),
                 [K_LISTEN] = AGG_SIZES(struct listen),
                 [K_PAIR] = AGG_SIZES(struct pair)};
_Static_assert(offsetof(struct scan, ids) + sizeof(struct ids) == sizeof(struct scan),
               "a scan's ids come last");
_Static_assert(offsetof(struct pair, ids) + sizeof(struct ids) == sizeof(struct pair),
               "a pair's ids come last");
_Static_assert(offsetof(struct listen, ids) + sizeof(struct ids) == offsetof(struct listen, pend) &&
                   offsetof(struct listen, pend) + sizeof(struct pending[PENDING]) ==
                       sizeof(struct listen),
               "a listener's ids, then its pending connections, come last");

/* The aggregate for k, made (and the oldest evicted) if needed; NULL when
 * out of memory. */
struct agg *tl_hosts_get(struct tl_hosts *h, const struct key *k)
{
    uint32_t hash = key_hash(k);
    for (struct agg *g = h->buckets[hash & h->mask]; g != NULL; g = g->hnext) {
        if (g->hash == hash && key_eq(&g->k, k)) {
            if (g != h->newest) {
                lru_unlink(h, g);
                lru_push(h, g);
            }
            return g;
        }
    }
    if (h->count >= h->cfg.max_hosts && h->oldest != NULL) {
        evaluate(h, h->oldest, &h->found);
        drop_agg(h, h->oldest);
        h->evicted++;
    }
    struct agg *g = h->spare[k->kind];
    if (g != NULL)
        h->spare[k->kind] = g->hnext;
    else
        g = malloc(agg_sizes[k->kind].size);
    if (g == NULL) {
        h->failed = true;
        return NULL;
    }
    memset(g, 0, agg_sizes[k->kind].cleared);
    g->k = *k;
    g->hash = hash;
    g->hnext = h->buckets[hash & h->mask];
    h->buckets[hash & h->mask] = g;
    lru_push(h, g);
    h->count++;
    return g;
}

/* ------------------------------------------------------------ feeding */

/* When the server proved its application had accepted the connection: its
 * first data or FIN (the kernel sends neither for a queued connection). */
static int64_t accepted_at(const struct tl_track_side *srv)
{
    int64_t t = srv->first_data_ts != 0 ? srv->first_data_ts : INT64_MAX;
    if (srv->fin.n > 0 && tl_times_ts(&srv->fin, 0) < t)
        t = tl_times_ts(&srv->fin, 0);
    return t;
}

/* How many of the client's first SYNs went unanswered: 2 when its first
 * got no SYN-ACK (nor RST) before it sent another (dropped: a full accept
 * queue drops SYNs outright), 3 when its first three all did (not a lossy
 * path); else 0. */
static uint8_t syns_lost(const struct tl_track *t)
{
    const struct tl_times *cs = &t->side[TL_ROLE_CLIENT].syn, *ss = &t->side[TL_ROLE_SERVER].syn;
    if (cs->n < 2)
        return 0;
    bool lost = ss->n == 0 ? tl_track_trouble(&t->side[TL_ROLE_SERVER])->rst_pkt == 0
                           : tl_times_ts(ss, 0) > tl_times_ts(cs, 1);
    if (!lost)
        return 0;
    return cs->n >= 3 && (ss->n == 0 || tl_times_ts(ss, 0) > tl_times_ts(cs, 2)) ? 3 : 2;
}

static const char *const outcome_names[TL_HOST_NOUTCOMES] = {"answered", "refused", "unanswered",
                                                             "half_open"};

const char *tl_host_outcome_name(enum tl_host_outcome o)
{
    return o < TL_HOST_NOUTCOMES ? outcome_names[o] : "answered";
}

void tl_host_conn_of(const struct tl_conn *c, struct tl_host_conn *out)
{
    memset(out, 0, sizeof *out);
    uint16_t cport;
    const struct tl_addr *a;
    out->id = c->id;
    tl_conn_endpoint(c, TL_ROLE_CLIENT, &a, &cport);
    out->client = *a;
    tl_conn_endpoint(c, TL_ROLE_SERVER, &a, &out->server_port);
    out->server = *a;
    out->first_ts = c->first_ts;
    out->accepted_ts = INT64_MAX;
    out->syn_seen = c->roles_from == TL_ROLES_SYN;
}

void tl_hosts_facts(const struct tl_conn *c, const struct tl_tcpstate *st, const struct tl_track *t,
                    struct tl_host_conn *out)
{
    tl_host_conn_of(c, out);
    if (t == NULL || st == NULL)
        return;
    if (out->syn_seen)
        out->outcome = (uint8_t)tl_hosts_outcome(st, t);
    out->hs_ack = t->hs_ack_pkt != 0;
    out->hs_ack_ts = out->hs_ack ? t->hs_ack_ts : 0;
    out->synack_after_ack = t->synack_after_ack;
    out->syns_lost = syns_lost(t);
    out->syn_ts = out->syns_lost ? tl_times_ts(&t->side[TL_ROLE_CLIENT].syn, 0) : 0;
    if (out->hs_ack)
        out->accepted_ts = accepted_at(&t->side[TL_ROLE_SERVER]);
    out->client_time_wait_ts = t->side[TL_ROLE_CLIENT].time_wait_since;
}

static int64_t waited(const struct pending *p)
{
    return p->accepted == INT64_MAX ? INT64_MAX : p->accepted - p->done;
}

/* Keeps the PENDING completed connections that waited longest for accept(). */
static void pend_add(struct listen *l, int64_t done, int64_t accepted, uint64_t id)
{
    struct pending p = {done, accepted, id};
    if (l->npend < PENDING) {
        l->pend[l->npend++] = p;
        return;
    }
    uint32_t m = 0;
    for (uint32_t i = 1; i < PENDING; i++)
        if (waited(&l->pend[i]) < waited(&l->pend[m]))
            m = i;
    if (waited(&p) > waited(&l->pend[m]))
        l->pend[m] = p;
    l->pend_evicted = true;
}

static void note_drop(struct listen *l, int64_t ts, uint64_t id)
{
    if (l->ack_drops + l->syn_drops == 1 || ts < l->first_drop)
        l->first_drop = ts;
    tl_hosts_ids_add(&l->ids, id);
}

static void feed_listen(struct tl_hosts *h, const struct tl_host_conn *hc)
{
    bool ack_drop = hc->synack_after_ack > 0, syn_drop = !ack_drop && hc->syns_lost >= 2;
    if (!ack_drop && !syn_drop && !hc->hs_ack)
        return;
    struct key k = {.kind = K_LISTEN, .a = hc->server, .port = hc->server_port};
    struct agg *g = tl_hosts_get(h, &k);
    if (g == NULL)
        return;
    struct listen *l = &g->u.l;
    if (ack_drop) {
        l->ack_drops++;
        l->ack_drops_again += hc->synack_after_ack >= 2;
        note_drop(l, hc->hs_ack_ts, hc->id);
    } else if (syn_drop) {
        l->syn_drops++;
        l->syn_drops_again += hc->syns_lost >= 3;
        note_drop(l, hc->syn_ts, hc->id);
    } else {
        l->completed++;
        pend_add(l, hc->hs_ack_ts, hc->accepted_ts, hc->id);
    }
}

static void feed_pair(struct tl_hosts *h, const struct tl_host_conn *hc)
{
    int64_t tw = hc->client_time_wait_ts;
    if (tw == 0)
        return;
    struct key k = {.kind = K_PAIR, .a = hc->client, .b = hc->server, .port = hc->server_port};
    struct agg *g = tl_hosts_get(h, &k);
    if (g == NULL)
        return;
    struct pair *p = &g->u.p;
    /* A window closes 60 s after its first TIME_WAIT; the busiest is kept. */
    if (p->win_n > 0 && tw >= p->win_first + TW_WINDOW_US) {
        if (p->win_n > p->best_n) {
            p->best_n = p->win_n;
            p->best_first = p->win_first;
            p->best_last = p->win_last;
        }
        p->win_n = 0;
    }
    if (p->win_n++ == 0)
        p->win_first = p->win_last = tw;
    if (tw < p->win_first)
        p->win_first = tw;
    if (tw > p->win_last)
        p->win_last = tw;
    tl_hosts_ids_add(&p->ids, hc->id);
}

void tl_hosts_feed(struct tl_hosts *h, const struct tl_host_conn *hc)
{
    /* The SYN tells the client apart and shows the attempt. */
    if (hc->syn_seen) {
        tl_hosts_feed_scan(h, hc);
        feed_listen(h, hc);
    }
    feed_pair(h, hc);
}

void tl_hosts_conn(struct tl_hosts *h, const struct tl_conn *c, const struct tl_tcpstate *st,
                   const struct tl_track *t)
{
    struct tl_host_conn hc;
    tl_hosts_facts(c, st, t, &hc);
    tl_hosts_feed(h, &hc);
}

/* ----------------------------------------------------- id order */

/* The waiting heap holds ids and slots: sifting moves 16 bytes, not a
 * connection's facts. */
static void wait_swap(struct tl_hosts_wait *x, struct tl_hosts_wait *y)
{
    struct tl_hosts_wait t = *x;
    *x = *y;
    *y = t;
}

/* Feeds hc, counting it when a newer one went first (the cap). */
static void feed_in_turn(struct tl_hosts *h, const struct tl_host_conn *hc)
{
    if (hc->id < h->next_id)
        h->out_of_order++;
    else
        h->next_id = hc->id + 1;
    tl_hosts_feed(h, hc);
}

/* Takes the lowest waiting connection off the heap and feeds it. */
static void feed_lowest(struct tl_hosts *h)
{
    struct tl_hosts_wait *w = h->wait, top = w[0];
    w[0] = w[--h->nwait];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < h->nwait && w[l].id < w[m].id)
            m = l;
        if (l + 1 < h->nwait && w[l + 1].id < w[m].id)
            m = l + 1;
        if (m == i)
            break;
        wait_swap(&w[i], &w[m]);
        i = m;
    }
    h->free_slot[h->nfree++] = top.slot;
    feed_in_turn(h, &h->slot[top.slot]);
}

/* Whether id's turn has come: every lower id has been fed or will never
 * come (oldest_held). */
static bool due(const struct tl_hosts *h, uint64_t id)
{
    return id <= h->next_id || id < h->oldest_held;
}

/* Feeds the waiting connections whose turn has come. */
static void feed_due(struct tl_hosts *h)
{
    while (h->nwait > 0 && due(h, h->wait[0].id))
        feed_lowest(h);
}

/* Room for one more waiting connection; false short of memory. */
static bool wait_room(struct tl_hosts *h)
{
    if (h->nwait < h->capwait)
        return true;
    size_t cap = h->capwait ? h->capwait * 2 : 64;
    struct tl_hosts_wait *w = realloc(h->wait, cap * sizeof *w);
    if (w != NULL)
        h->wait = w;
    struct tl_host_conn *sl = w != NULL ? realloc(h->slot, cap * sizeof *sl) : NULL;
    if (sl != NULL)
        h->slot = sl;
    uint32_t *fr = sl != NULL ? realloc(h->free_slot, cap * sizeof *fr) : NULL;
    if (fr == NULL)
        return false;
    h->free_slot = fr;
    for (size_t i = h->capwait; i < cap; i++) /* the new slots are free */
        h->free_slot[h->nfree++] = (uint32_t)i;
    h->capwait = cap;
    return true;
}

void tl_hosts_take(struct tl_hosts *h, const struct tl_host_conn *hc, uint64_t oldest)
{
    if (oldest > h->oldest_held)
        h->oldest_held = oldest;
    /* Most come in their turn, with nothing waiting: fed at once. */
    if (h->nwait == 0 && due(h, hc->id)) {
        feed_in_turn(h, hc);
        return;
    }
    if (!wait_room(h)) { /* fed at once, out of order: the findings may differ */
        h->failed = true;
        tl_hosts_feed(h, hc);
        return;
    }
    uint32_t sl = h->free_slot[--h->nfree];
    h->slot[sl] = *hc;
    size_t i = h->nwait++;
    h->wait[i] = (struct tl_hosts_wait){hc->id, sl};
    while (i > 0 && h->wait[i].id < h->wait[(i - 1) / 2].id) {
        wait_swap(&h->wait[i], &h->wait[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    feed_due(h);
    while (h->nwait > TL_HOSTS_WAIT_MAX)
        feed_lowest(h);
}

uint64_t tl_hosts_out_of_order(const struct tl_hosts *h) { return h->out_of_order; }

/* --------------------------------------------------------- evaluation */

/* A new host anomaly in l, or NULL (out of memory, or over max_anomalies:
 * counted). */
struct tl_host_anomaly *tl_hosts_push(struct tl_hosts *h, struct tl_host_anomaly_list *l,
                                      enum tl_anomaly_type type, enum tl_anom_ep ep, int64_t ts)
{
    if (l->n >= h->cfg.max_anomalies) {
        h->dropped++;
        return NULL;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct tl_host_anomaly *a = realloc(l->a, cap * sizeof *a);
        if (a == NULL) {
            h->failed = true;
            return NULL;
        }
        l->a = a;
        l->cap = cap;
    }
    struct tl_host_anomaly *ha = &l->a[l->n++];
    memset(ha, 0, sizeof *ha);
    ha->a.type = (uint8_t)type;
    ha->a.severity = (uint8_t)tl_anomaly_default_sev(type);
    ha->a.endpoint = (uint8_t)ep;
    ha->a.ts = ts;
    return ha;
}

/* Completed connections still waiting for accept() at ts; their ids join
 * ha's list when ha is given. */
static uint32_t queued_at(const struct listen *l, int64_t ts, struct tl_host_anomaly *ha)
{
    struct ids s = {0};
    for (uint32_t i = 0; i < l->npend; i++)
        if (l->pend[i].done <= ts && l->pend[i].accepted > ts)
            tl_hosts_ids_add(&s, l->pend[i].id);
    if (ha != NULL)
        tl_hosts_ids_merge(ha, &s);
    return (uint32_t)s.total;
}

void tl_text_accept_queue_overflow(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                                   struct tl_anomaly_text *out)
{
    const struct tl_host_anomaly *ha = tl_hosts_about(about);
    uint32_t n = (uint32_t)tl_anomaly_get_int(a, "queue_estimate");
    uint32_t ack_drops = (uint32_t)tl_anomaly_get_int(a, "acks_dropped");
    uint32_t syn_drops = (uint32_t)tl_anomaly_get_int(a, "syns_dropped");
    char queued[160], acks[160] = "", syns[96] = "";
    if (n > 0)
        snprintf(queued, sizeof queued, "%u completed connection(s) waiting: backlog %u + 1", n,
                 n - 1);
    else
        snprintf(queued, sizeof queued, "its queue full before the capture began");
    if (ack_drops > 0)
        snprintf(acks, sizeof acks,
                 " dropped the handshake ACK of %u connection(s) (SYN-ACK resent; the "
                 "client believed it was connected)%s",
                 ack_drops, syn_drops > 0 ? ", and" : "");
    if (syn_drops > 0)
        snprintf(syns, sizeof syns, "%s the SYNs of %u", ack_drops > 0 ? "" : " dropped",
                 syn_drops);
    tl_text_explain(out,
                    "The listener %s:%u stopped taking connections in (%s): the kernel%s%s. "
                    "Linux drops them when the accept queue (backlog + 1) is full: "
                    "accept() is not called fast enough.",
                    ha->host, ha->port, queued, acks, syns);
    tl_text_suggest(out, "Check the accept loop (blocked or busy thread, too few workers); "
                         "raise the listen() backlog and net.core.somaxconn (4096 by default "
                         "since Linux 5.4). ss -ltn shows the queue (Recv-Q) and its size "
                         "(Send-Q); nstat counts TcpExtListenOverflows.");
}

static void eval_listen(struct tl_hosts *h, const struct agg *g, struct tl_host_anomaly_list *out)
{
    const struct listen *l = &g->u.l;
    if (l->ack_drops + l->syn_drops == 0)
        return;
    uint32_t n = queued_at(l, l->first_drop, NULL);
    /* A handshake ACK dropped again and again is the tell (a full queue
     * drops every retry; a lossy path rarely loses two); one lost ACK or a
     * few lost SYNs could be the path, so they need completed connections
     * waiting for accept() at the time (one SYN unanswered three times in a
     * row, with connections waiting, is enough: a full queue's silence). Queued connections from before the
     * capture are invisible: then n is 0 and only the repeated drops count. */
    bool fire = l->ack_drops_again >= 1 || l->ack_drops >= 2 ||
                (n >= 1 && ((l->ack_drops >= 1 && l->syn_drops >= 1) || l->syn_drops >= 3 ||
                            l->syn_drops_again >= 1));
    if (!fire)
        return;
    struct tl_host_anomaly *ha = tl_hosts_push(h, out, TL_AN_ACCEPT_QUEUE_OVERFLOW, TL_AEP_SERVER,
                                               l->first_drop);
    if (ha == NULL)
        return;
    struct tl_anomaly *a = &ha->a;
    tl_addr_str(&g->k.a, ha->host, sizeof ha->host);
    ha->port = g->k.port;
    tl_hosts_ids_merge(ha, &l->ids);
    queued_at(l, l->first_drop, ha);
    tl_anomaly_int(a, "queue_estimate", n);
    if (n >= 1)
        tl_anomaly_int(a, "backlog_estimate", (int64_t)n - 1);
    tl_anomaly_bool(a, "estimate_capped", n >= PENDING);
    tl_anomaly_int(a, "acks_dropped", l->ack_drops);
    tl_anomaly_int(a, "syns_dropped", l->syn_drops);
    tl_anomaly_int(a, "completed", l->completed);
}

void tl_text_time_wait_pressure(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                                struct tl_anomaly_text *out)
{
    const struct tl_host_anomaly *ha = tl_hosts_about(about);
    uint32_t n = (uint32_t)tl_anomaly_get_int(a, "time_wait");
    double span = tl_anomaly_get_real(a, "window_s"), rate = tl_anomaly_get_real(a, "rate");
    double held = tl_anomaly_get_real(a, "projected_time_wait");
    double range = (double)tl_anomaly_get_int(a, "port_range");
    char then[80];
    if (held >= range)
        snprintf(then, sizeof then, "all taken after %.0f s; connect() then fails", range / rate);
    else
        snprintf(then, sizeof then, "when a burst takes the rest, connect() fails");
    tl_text_explain(out,
                    "%s opened connections to %s:%u at %.0f per second (%u within %.1f s) "
                    "and closed them first, so each left its local port in TIME_WAIT for "
                    "60 s. At that rate TIME_WAIT needs %.0f ports for this destination, "
                    "%.0f %% of the %.0f ephemeral ports (32768-60999 by default): %s "
                    "with EADDRNOTAVAIL.",
                    ha->host, ha->peer, ha->peer_port, rate, n, span, held, 100.0 * held / range,
                    range, then);
    tl_text_suggest(out, "Reuse connections (keep-alive, pooling); set net.ipv4.tcp_tw_reuse "
                         "= 1 for outgoing connections; widen net.ipv4.ip_local_port_range; "
                         "or let the server close first. Never tcp_tw_recycle: removed in "
                         "Linux 4.12, it broke clients behind NAT.");
}

static void eval_pair(struct tl_hosts *h, const struct agg *g, struct tl_host_anomaly_list *out)
{
    const struct pair *p = &g->u.p;
    uint32_t n = p->win_n;
    int64_t first = p->win_first, last = p->win_last;
    if (p->best_n > n) {
        n = p->best_n;
        first = p->best_first;
        last = p->best_last;
    }
    double span = tl_hosts_secs(last - first), range = (double)h->cfg.tw_port_range;
    if (n < h->cfg.tw_min_conns || span <= 0)
        return;
    double rate = (double)(n - 1) / span;
    if (rate * 60.0 < h->cfg.tw_min_fill * range)
        return;
    struct tl_host_anomaly *ha = tl_hosts_push(h, out, TL_AN_TIME_WAIT_PRESSURE, TL_AEP_CLIENT,
                                               first);
    if (ha == NULL)
        return;
    struct tl_anomaly *a = &ha->a;
    tl_addr_str(&g->k.a, ha->host, sizeof ha->host);
    tl_addr_str(&g->k.b, ha->peer, sizeof ha->peer);
    ha->peer_port = g->k.port;
    tl_hosts_ids_merge(ha, &p->ids);
    if (rate * 60.0 >= range)
        a->severity = TL_SEV_ERROR;
    tl_anomaly_int(a, "time_wait", n);
    tl_anomaly_real(a, "window_s", span);
    tl_anomaly_real(a, "rate", rate);
    tl_anomaly_real(a, "projected_time_wait", rate * 60.0);
    tl_anomaly_int(a, "port_range", h->cfg.tw_port_range);
    if (rate * 60.0 >= range)
        tl_anomaly_real(a, "exhaustion_s", range / rate);
}

static void evaluate(struct tl_hosts *h, const struct agg *g, struct tl_host_anomaly_list *out)
{
    switch ((enum kind)g->k.kind) {
    case K_SCAN: tl_hosts_eval_scan(h, g, out); break;
    case K_LISTEN: eval_listen(h, g, out); break;
    case K_PAIR: eval_pair(h, g, out); break;
    }
}

/* ------------------------------------------------------------- output */

static int cmp_ha(const void *x, const void *y)
{
    const struct tl_host_anomaly *a = x, *b = y;
    if (a->a.ts != b->a.ts)
        return a->a.ts < b->a.ts ? -1 : 1;
    if (a->a.type != b->a.type)
        return a->a.type < b->a.type ? -1 : 1;
    int c = strcmp(a->host, b->host);
    if (c != 0)
        return c;
    if (a->port != b->port)
        return a->port < b->port ? -1 : 1;
    c = strcmp(a->peer, b->peer);
    if (c != 0)
        return c;
    return a->peer_port < b->peer_port ? -1 : a->peer_port > b->peer_port;
}

enum tl_status tl_hosts_finish(struct tl_hosts *h, struct tl_host_anomaly_list *out)
{
    while (h->nwait > 0)
        feed_lowest(h);
    while (h->oldest != NULL) {
        evaluate(h, h->oldest, &h->found);
        drop_agg(h, h->oldest);
    }
    if (h->found.n > 1)
        qsort(h->found.a, h->found.n, sizeof *h->found.a, cmp_ha);
    enum tl_status st = h->failed ? TL_ENOMEM : TL_OK;
    if (h->found.n > 0 && out->n + h->found.n > out->cap) {
        struct tl_host_anomaly *a = realloc(out->a, (out->n + h->found.n) * sizeof *a);
        if (a == NULL) {
            tl_host_anomaly_list_free(&h->found);
            return TL_ENOMEM;
        }
        out->a = a;
        out->cap = out->n + h->found.n;
    }
    if (h->found.n > 0)
        memcpy(out->a + out->n, h->found.a, h->found.n * sizeof *h->found.a);
    out->n += h->found.n;
    tl_host_anomaly_list_free(&h->found);
    h->failed = false;
    return st;
}

const struct tl_host_anomaly *tl_hosts_about(const struct tl_anomaly_about *about)
{
    /* Rendered without its host (a test's bare anomaly): names stay empty. */
    static const struct tl_host_anomaly nobody;
    return about->host != NULL ? about->host : &nobody;
}

void tl_host_anomaly_render(const struct tl_host_anomaly *ha, struct tl_anomaly_text *out)
{
    struct tl_anomaly_about about = {NULL, ha};
    tl_anomaly_render(&ha->a, &about, out);
}

void tl_host_anomaly_list_free(struct tl_host_anomaly_list *l)
{
    free(l->a);
    memset(l, 0, sizeof *l);
}

uint64_t tl_hosts_evicted(const struct tl_hosts *h) { return h->evicted; }

uint64_t tl_hosts_dropped(const struct tl_hosts *h) { return h->dropped; }

void tl_hosts_free(struct tl_hosts *h)
{
    if (h == NULL)
        return;
    while (h->oldest != NULL)
        drop_agg(h, h->oldest);
    for (size_t k = 0; k < sizeof h->spare / sizeof h->spare[0]; k++) {
        while (h->spare[k] != NULL) {
            struct agg *g = h->spare[k];
            h->spare[k] = g->hnext;
            free(g);
        }
    }
    tl_host_anomaly_list_free(&h->found);
    free(h->wait);
    free(h->slot);
    free(h->free_slot);
    free(h->buckets);
    free(h);
}
