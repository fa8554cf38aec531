/*
 * Summary tallies beyond plain counters: which hosts hold the most
 * TIME_WAIT and CLOSE_WAIT sockets at the end and send the most resets
 * (the tally an engineer makes with `netstat -na | awk`), and how long
 * connections live. Memory is fixed: a host table of TL_REPORT_TOP_HOSTS
 * entries per tally, whatever the number of hosts (report_int.h).
 */
#include "tcplens/report.h"

#include <stdlib.h>
#include <string.h>

#include "report_int.h"

#define SHORT_LIVED_US TL_USEC_PER_SEC

void tl_report_summary_init(struct report_summary *sum)
{
    for (int t = 0; t < TL_AN_NTYPES; t++)
        sum->type_worst[t] = -1;
    tl_report_groups_init(&sum->groups);
}

/* FNV-1a over the family and the address bytes. */
static uint32_t addr_hash(const struct tl_addr *a)
{
    uint32_t h = 2166136261u;
    h = (h ^ a->family) * 16777619u;
    for (size_t i = 0; i < sizeof a->b; i++)
        h = (h ^ a->b[i]) * 16777619u;
    return h;
}

static bool same_addr(const struct report_host *e, const struct tl_addr *a, uint32_t h)
{
    return e->hash == h && e->addr.family == a->family && memcmp(e->addr.b, a->b, sizeof a->b) == 0;
}

/* Makes room for one more host: the table doubles (at half full) up to
 * TL_REPORT_TOP_HOSTS hosts. False when it cannot. */
static bool top_grow(struct report_top *t)
{
    if ((t->used + 1) * 2 <= t->cap)
        return true;
    if (t->used >= TL_REPORT_TOP_HOSTS || t->failed)
        return false;
    uint32_t cap = t->cap ? t->cap * 2 : 64;
    struct report_host *e = calloc(cap, sizeof *e);
    if (e == NULL) {
        t->failed = true;
        return false;
    }
    for (uint32_t i = 0; i < t->cap; i++) {
        if (t->e[i].n == 0)
            continue;
        uint32_t k = t->e[i].hash & (cap - 1);
        while (e[k].n != 0)
            k = (k + 1) & (cap - 1);
        e[k] = t->e[i];
    }
    free(t->e);
    t->e = e;
    t->cap = cap;
    return true;
}

/* Counts a: exact for every host the table holds; a host that finds the
 * table full is left out and counted as such. */
static void top_add(struct report_top *t, const struct tl_addr *a)
{
    uint32_t h = addr_hash(a);
    for (uint32_t k = t->cap ? h & (t->cap - 1) : 0; t->cap != 0 && t->e[k].n != 0;
         k = (k + 1) & (t->cap - 1)) {
        if (same_addr(&t->e[k], a, h)) {
            t->e[k].n++;
            return;
        }
    }
    if (!top_grow(t)) {
        t->untallied++;
        return;
    }
    uint32_t k = h & (t->cap - 1);
    while (t->e[k].n != 0)
        k = (k + 1) & (t->cap - 1);
    t->e[k] = (struct report_host){*a, h, t->used++, 1};
}

void tl_report_summary_free(struct report_summary *sum)
{
    for (int k = 0; k < TL_HOSTS_NTALLIES; k++) {
        free(sum->hosts[k].e);
        memset(&sum->hosts[k], 0, sizeof sum->hosts[k]);
    }
    tl_report_groups_free(&sum->groups);
    tl_report_summary_services_free(sum);
}

static void role_addr(const struct tl_conn *c, enum tl_role r, const struct tl_addr **a)
{
    uint16_t port;
    tl_conn_endpoint(c, r, a, &port);
}

/* The RST that ended the connection: the first one the timeline shows that
 * the receiver took (an ignored one changes nothing). */
static bool rst_sender(const struct tl_timeline *t, enum tl_role *r)
{
    for (uint32_t i = 0; t != NULL && i < t->n; i++) {
        const struct tl_event *e = &t->ev[i];
        if (e->kind == TL_K_RST && e->dir != TL_TL_NONE) {
            *r = e->dir == TL_TL_C2S ? TL_ROLE_CLIENT : TL_ROLE_SERVER;
            return true;
        }
    }
    return false;
}

static void tally_hosts(struct report_summary *sum, const struct tl_conn_view *v)
{
    const struct tl_addr *a;
    for (int r = 0; v->tcp != NULL && r < 2; r++) {
        uint8_t st = v->tcp->ep[r].state;
        role_addr(v->conn, (enum tl_role)r, &a);
        if (st == TL_EP_TIME_WAIT)
            top_add(&sum->hosts[TL_HOSTS_TIME_WAIT], a);
        else if (st == TL_EP_CLOSE_WAIT)
            top_add(&sum->hosts[TL_HOSTS_CLOSE_WAIT], a);
    }
    if (v->conn->end != TL_END_RST)
        return;
    enum tl_role sender;
    if (!rst_sender(v->timeline, &sender)) {
        sum->resets_unknown++;
        return;
    }
    role_addr(v->conn, sender, &a);
    top_add(&sum->hosts[TL_HOSTS_RESETS], a);
}

/* Lifetimes of closed connections; those that opened (both SYNs taken)
 * and closed within a second are "short-lived": keep-alive or a pool would
 * have saved their handshakes and TIME_WAIT sockets. */
static void tally_life(struct report_summary *sum, const struct tl_conn_view *v)
{
    const struct tl_conn *c = v->conn;
    if (c->end != TL_END_FIN && c->end != TL_END_RST)
        return;
    int64_t d = c->last_ts - c->first_ts;
    enum report_life b = d < TL_USEC_PER_SEC        ? TL_LIFE_1S
                         : d < 10 * TL_USEC_PER_SEC ? TL_LIFE_10S
                         : d < 60 * TL_USEC_PER_SEC ? TL_LIFE_60S
                                                    : TL_LIFE_LONGER;
    sum->life[b]++;
    if (d < SHORT_LIVED_US && v->tcp != NULL && v->tcp->ep[TL_ROLE_CLIENT].syn_acked &&
        v->tcp->ep[TL_ROLE_SERVER].syn_acked)
        sum->short_lived++;
}

/* One anomaly in the counts by type and severity and the worst per type. */
static void tally_anomaly(struct report_summary *sum, const struct tl_anomaly *a)
{
    sum->anomalies[a->type % TL_AN_NTYPES]++;
    sum->by_sev[a->severity % TL_SEV_NLEVELS]++;
    int8_t *w = &sum->type_worst[a->type % TL_AN_NTYPES];
    if ((int)a->severity > *w && a->severity < TL_SEV_NLEVELS)
        *w = (int8_t)a->severity;
}

void tl_report_summary_add(struct report_summary *sum, const struct tl_conn_view *v)
{
    const struct tl_conn *c = v->conn;
    sum->connections++;
    if (c->end < TL_END_NENDS)
        sum->ends[c->end]++;
    if (v->tcp != NULL)
        for (int r = 0; r < 2; r++)
            sum->states[r][v->tcp->ep[r].state % TL_EP_NSTATES]++;
    for (size_t i = 0; v->anomalies != NULL && i < v->anomalies->n; i++)
        tally_anomaly(sum, &v->anomalies->a[i]);
    tally_hosts(sum, v);
    tally_life(sum, v);
    tl_report_groups_add(&sum->groups, v);
    tl_report_summary_services(sum, v);
}

void tl_report_summary_hosts(struct report_summary *sum, const struct tl_host_anomaly_list *h)
{
    for (size_t i = 0; h != NULL && i < h->n; i++)
        tally_anomaly(sum, &h->a[i].a);
    tl_report_groups_hosts(&sum->groups, h);
}

static int host_order(const void *pa, const void *pb)
{
    const struct report_host *a = *(const struct report_host *const *)pa;
    const struct report_host *b = *(const struct report_host *const *)pb;
    if (a->n != b->n)
        return a->n > b->n ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The top hosts: one pass keeps the best max in order (insertion into a
 * short list), whatever the table's size. */
size_t tl_report_top_hosts(const struct report_top *t, const struct report_host **out, size_t max)
{
    size_t n = 0;
    for (uint32_t i = 0; i < t->cap; i++) {
        const struct report_host *e = &t->e[i];
        if (e->n == 0)
            continue;
        size_t k = n < max ? n++ : max;
        while (k > 0 && host_order(&e, &out[k - 1]) < 0) {
            if (k < max)
                out[k] = out[k - 1];
            k--;
        }
        if (k < max)
            out[k] = e;
    }
    return n;
}
