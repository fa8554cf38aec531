/*
 * The service and host tables (services.h): entries in an array in the
 * order they came, found through an open-addressing index of twice the
 * entries' room; both grow by doubling up to their cap.
 */
#include "tcplens/services.h"

#include <stdlib.h>
#include <string.h>

void tl_services_init(struct tl_services *s, uint32_t max)
{
    memset(s, 0, sizeof *s);
    s->svc.max = s->hosts.max = max != 0 && max < TL_SVC_MAX ? max : TL_SVC_MAX;
}

/* FNV-1a over the family, the address bytes and the port. */
static uint32_t key_hash(const struct tl_addr *a, uint16_t port)
{
    uint32_t h = 2166136261u;
    h = (h ^ a->family) * 16777619u;
    for (size_t i = 0; i < sizeof a->b; i++)
        h = (h ^ a->b[i]) * 16777619u;
    h = (h ^ (port & 0xff)) * 16777619u;
    return (h ^ (port >> 8)) * 16777619u;
}

static bool same(const struct tl_svc *e, const struct tl_addr *a, uint16_t port, uint32_t h)
{
    return e->hash == h && e->port == port && e->addr.family == a->family &&
           memcmp(e->addr.b, a->b, sizeof a->b) == 0;
}

/* Room for one more entry; false at the cap or out of memory. */
static bool grow(struct tl_svc_table *t)
{
    if (t->n < t->cap)
        return true;
    if (t->n >= t->max || t->failed)
        return false;
    uint32_t cap = t->cap != 0 ? t->cap * 2 : 16;
    if (cap > t->max)
        cap = t->max;
    struct tl_svc *e = realloc(t->e, (size_t)cap * sizeof *e);
    if (e != NULL)
        t->e = e;
    const struct tl_svc **order = e != NULL ? realloc(t->order, (size_t)cap * sizeof *order) : NULL;
    if (order != NULL)
        t->order = order;
    uint32_t isize = 1;
    while (isize < cap * 2)
        isize <<= 1;
    uint32_t *index = calloc(isize, sizeof *index);
    if (e == NULL || order == NULL || index == NULL) {
        free(index);
        t->failed = true;
        return false;
    }
    for (uint32_t i = 0; i < t->n; i++) {
        uint32_t k = t->e[i].hash & (isize - 1);
        while (index[k] != 0)
            k = (k + 1) & (isize - 1);
        index[k] = i + 1;
    }
    free(t->index);
    t->index = index;
    t->cap = cap;
    t->isize = isize;
    return true;
}

/* a:port's entry, made on its first connection; NULL when the table is
 * full (or memory short). */
static struct tl_svc *lookup(struct tl_svc_table *t, const struct tl_addr *a, uint16_t port)
{
    uint32_t h = key_hash(a, port);
    uint32_t mask = t->isize - 1;
    for (uint32_t k = h & mask; t->isize != 0 && t->index[k] != 0; k = (k + 1) & mask)
        if (same(&t->e[t->index[k] - 1], a, port, h))
            return &t->e[t->index[k] - 1];
    if (!grow(t))
        return NULL;
    mask = t->isize - 1;
    uint32_t k = h & mask;
    while (t->index[k] != 0)
        k = (k + 1) & mask;
    struct tl_svc *e = &t->e[t->n];
    memset(e, 0, sizeof *e);
    e->addr = *a;
    e->port = port;
    e->hash = h;
    t->index[k] = ++t->n;
    return e;
}

static bool has_anomaly(const struct tl_anomaly_list *l, enum tl_anomaly_type type)
{
    for (size_t i = 0; l != NULL && i < l->n; i++)
        if (l->a[i].type == type)
            return true;
    return false;
}

static void count(struct tl_svc *e, const struct tl_conn_view *v)
{
    const struct tl_conn *c = v->conn;
    if (e->connections++ == 0 || c->id < e->first_id)
        e->first_id = c->id;
    e->refused += has_anomaly(v->anomalies, TL_AN_REFUSED);
    e->unanswered += c->roles_from == TL_ROLES_SYN && c->packets[TL_ROLE_SERVER] == 0;
    e->timeouts += c->end == TL_END_TIMEOUT;
    for (int r = 0; v->tcp != NULL && r < 2; r++)
        e->states[r][v->tcp->ep[r].state % TL_EP_NSTATES]++;
    const struct tl_conn_perf *p = v->perf;
    if (p == NULL)
        return;
    for (int r = 0; r < 2; r++) {
        e->resets[r] += p->rsts[r] > 0;
        e->data_segs += p->data_segs[r];
        e->retx_segs += p->retx_segs[r];
    }
    if (p->rtt.syn_synack >= 0)
        tl_sketch_add(&e->syn_synack, p->rtt.syn_synack);
    if (p->rtt.synack_ack >= 0)
        tl_sketch_add(&e->synack_ack, p->rtt.synack_ack);
}

/* Counts v in e, or as untracked. */
static void count_in(struct tl_svc_table *t, struct tl_svc *e, const struct tl_conn_view *v)
{
    if (e == NULL) {
        t->untracked++;
        return;
    }
    count(e, v);
    if (e->syn_synack.failed || e->synack_ack.failed)
        t->failed = true;
}

void tl_services_add(struct tl_services *s, const struct tl_conn_view *v)
{
    const struct tl_addr *a;
    uint16_t port;
    tl_conn_endpoint(v->conn, TL_ROLE_SERVER, &a, &port);
    count_in(&s->svc, lookup(&s->svc, a, port), v);
    tl_conn_endpoint(v->conn, TL_ROLE_CLIENT, &a, &port);
    count_in(&s->hosts, lookup(&s->hosts, a, 0), v);
}

bool tl_services_failed(const struct tl_services *s) { return s->svc.failed || s->hosts.failed; }

static int by_first(const void *pa, const void *pb)
{
    const struct tl_svc *a = *(const struct tl_svc *const *)pa;
    const struct tl_svc *b = *(const struct tl_svc *const *)pb;
    return a->first_id < b->first_id ? -1 : a->first_id > b->first_id;
}

const struct tl_svc **tl_svc_sorted(const struct tl_svc_table *t)
{
    if (t->n == 0)
        return NULL;
    const struct tl_svc **out = t->order;
    for (uint32_t i = 0; i < t->n; i++)
        out[i] = &t->e[i];
    qsort(out, t->n, sizeof *out, by_first);
    return out;
}

double tl_svc_retx_rate(const struct tl_svc *e)
{
    return e->data_segs != 0 ? (double)e->retx_segs / (double)e->data_segs : 0.0;
}

static void table_free(struct tl_svc_table *t)
{
    for (uint32_t i = 0; i < t->n; i++) {
        tl_sketch_free(&t->e[i].syn_synack);
        tl_sketch_free(&t->e[i].synack_ack);
    }
    free(t->e);
    free(t->order);
    free(t->index);
}

void tl_services_free(struct tl_services *s)
{
    table_free(&s->svc);
    table_free(&s->hosts);
    uint32_t max = s->svc.max;
    tl_services_init(s, max);
}
