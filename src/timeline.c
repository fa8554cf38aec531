/* Timelines: a capped, growing array per connection, plus one summary in
 * progress for the segments between lifecycle events. */
#include "tcplens/timeline.h"

#include <stdlib.h>
#include <string.h>

/* Most connections have eight or nine entries; the array grows by half
 * past them. */
#define INITIAL_EVENTS 8u
#define INITIAL_SUMS 2u

void tl_timeline_init(struct tl_timeline *t) { memset(t, 0, sizeof *t); }

void tl_timeline_free(struct tl_timeline *t)
{
    free(t->ev);
    free(t->sum);
    tl_timeline_init(t);
}

void tl_timeline_states(struct tl_event *e, const struct tl_tcpstate *st, const struct tl_step *s)
{
    e->client = st->ep[TL_ROLE_CLIENT].state;
    e->server = st->ep[TL_ROLE_SERVER].state;
    memset(e->via, 0, sizeof e->via);
    uint8_t n[2] = {0, 0};
    /* Every change's target but each endpoint's last is a state passed
     * through; the changes are in the order they happened. */
    for (uint8_t i = 0; i < s->nchanges; i++) {
        const struct tl_change *c = &s->changes[i];
        bool last = true;
        for (uint8_t j = (uint8_t)(i + 1); j < s->nchanges; j++)
            last = last && s->changes[j].role != c->role;
        if (!last && c->role < 2 && n[c->role] < 2)
            e->via[c->role][n[c->role]++] = c->to;
    }
}

/* The array arr (n used of *cap items of size bytes) with room for one
 * more, grown by half up to max; NULL when memory ran out (arr stays). */
static void *grow(void *arr, uint32_t n, uint32_t *cap, uint32_t first, uint32_t max, size_t size)
{
    if (n < *cap)
        return arr;
    uint64_t c = *cap ? *cap + (*cap + 1u) / 2u : first;
    if (c > max)
        c = max;
    void *p = realloc(arr, (size_t)c * size);
    if (p != NULL)
        *cap = (uint32_t)c;
    return p;
}

static uint32_t max_events(const struct tl_timeline_cfg *cfg)
{
    return cfg->max_events ? cfg->max_events : TL_DEFAULT_TIMELINE_MAX;
}

static enum tl_status append(struct tl_timeline *t, const struct tl_timeline_cfg *cfg,
                             const struct tl_event *e)
{
    uint32_t max = max_events(cfg);
    if (t->n >= max) {
        t->dropped++;
        return TL_OK;
    }
    struct tl_event *ev = grow(t->ev, t->n, &t->cap, INITIAL_EVENTS, max, sizeof *ev);
    if (ev == NULL) {
        t->dropped++;
        return TL_ENOMEM;
    }
    t->ev = ev;
    t->ev[t->n++] = *e;
    return TL_OK;
}

/* Folds e into the summary in progress; the summary keeps the first
 * segment's time and packet, and the states after the last. */
static void fold(struct tl_timeline *t, const struct tl_event *e)
{
    struct tl_event *s = &t->pending;
    struct tl_sum *sum = &t->pending_sum;
    if (!t->has_pending) { /* both are zeros (tl_timeline_flush) */
        s->ts = e->ts;
        s->pkt = e->pkt;
        s->kind = TL_TL_SUMMARY;
        s->dir = TL_TL_NONE;
        t->has_pending = true;
    }
    if (e->dir < 2) {
        sum->packets[e->dir]++;
        sum->bytes[e->dir] += e->len;
    }
    sum->last_ts = e->ts;
    sum->last_pkt = e->pkt;
    s->client = e->client;
    s->server = e->server;
}

/* Appends the summary in progress, its sums beside the entries. */
static enum tl_status append_summary(struct tl_timeline *t, const struct tl_timeline_cfg *cfg)
{
    if (t->n >= max_events(cfg)) {
        t->dropped++;
        return TL_OK;
    }
    struct tl_sum *sums = grow(t->sum, t->nsum, &t->sumcap, INITIAL_SUMS, max_events(cfg),
                               sizeof *sums);
    if (sums == NULL) {
        t->dropped++;
        return TL_ENOMEM;
    }
    t->sum = sums;
    t->pending.len = t->nsum;
    enum tl_status st = append(t, cfg, &t->pending);
    if (st == TL_OK)
        t->sum[t->nsum++] = t->pending_sum;
    return st;
}

enum tl_status tl_timeline_flush(struct tl_timeline *t, const struct tl_timeline_cfg *cfg)
{
    if (!t->has_pending)
        return TL_OK;
    enum tl_status st = append_summary(t, cfg);
    /* Zeros until the next summary starts: fold() relies on it, and a
     * packed connection does not store them (pack.h). */
    memset(&t->pending, 0, sizeof t->pending);
    memset(&t->pending_sum, 0, sizeof t->pending_sum);
    t->has_pending = false;
    return st;
}

enum tl_status tl_timeline_add(struct tl_timeline *t, const struct tl_timeline_cfg *cfg,
                               const struct tl_event *e, bool lifecycle)
{
    if (!lifecycle && !cfg->full) {
        fold(t, e);
        return TL_OK;
    }
    enum tl_status st = tl_timeline_flush(t, cfg);
    enum tl_status st2 = append(t, cfg, e);
    return st != TL_OK ? st : st2;
}

/* The state of role r after e, and a setter. */
static uint8_t *state_of(struct tl_event *e, enum tl_role r)
{
    return r == TL_ROLE_CLIENT ? &e->client : &e->server;
}

/* The change at e now ends in s: the states passed through on the way
 * stop before s (LISTEN via SYN_RECV to ESTABLISHED, revised to SYN_RECV),
 * or are dropped when s was not among them (FIN_WAIT_1 via CLOSING to
 * TIME_WAIT, revised to FIN_WAIT_2). */
static void drop_via(struct tl_event *e, enum tl_role r, uint8_t s)
{
    uint8_t *v = e->via[r];
    if (v[0] == s || v[1] != s)
        v[0] = 0;
    v[1] = 0;
}

struct tl_event *tl_timeline_revise(struct tl_timeline *t, enum tl_role r, uint8_t from, uint8_t to)
{
    struct tl_event *change = NULL;
    if (t->has_pending && *state_of(&t->pending, r) == from)
        *state_of(&t->pending, r) = to;
    for (uint32_t i = t->n; i-- > 0;) {
        struct tl_event *e = &t->ev[i];
        if (*state_of(e, r) != from)
            break;
        *state_of(e, r) = to;
        change = e;
        /* Passed through on the way: it went from `to` straight on. */
        if (e->via[r][0] != 0) {
            drop_via(e, r, to);
            break;
        }
    }
    return change;
}
