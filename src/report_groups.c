/*
 * Anomaly groups: the warnings and errors of a capture by type and
 * service (the server's address and port; the host, and its port if any,
 * for a host-level type), so that a report says once what a thousand
 * connections share. Each group counts its connections, their time span,
 * the lowest ids (examples) and, while they stay few, the id ranges a
 * --connection list can name. Each type keeps a copy of the anomaly and
 * the connection of its lowest id: a report that prints the type words
 * that one (tl_report_group_text()), and nothing else is worded.
 *
 * Memory is fixed: at most TL_REPORT_GROUPS_MAX groups; a connection
 * whose group finds the table full is counted with its type only.
 */
#include "tcplens/report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"

void tl_report_groups_init(struct report_groups *g)
{
    for (int t = 0; t < TL_AN_NTYPES; t++)
        g->t[t].sev = -1;
}

void tl_report_groups_free(struct report_groups *g)
{
    free(g->e);
    for (int t = 0; t < TL_AN_NTYPES; t++) {
        free(g->t[t].ex_c);
        free(g->t[t].ex_texts);
        free(g->t[t].ex_h);
    }
    memset(g, 0, sizeof *g);
    tl_report_groups_init(g);
}

/* FNV-1a over the type, the address and the port. */
static uint32_t key_hash(uint8_t type, const struct tl_addr *a, uint16_t port)
{
    uint32_t h = 2166136261u;
    h = (h ^ type) * 16777619u;
    h = (h ^ a->family) * 16777619u;
    for (size_t i = 0; i < sizeof a->b; i++)
        h = (h ^ a->b[i]) * 16777619u;
    h = (h ^ (port & 0xffu)) * 16777619u;
    return (h ^ (port >> 8)) * 16777619u;
}

static bool same_key(const struct report_group *e, uint8_t type, const struct tl_addr *a,
                     uint16_t port, uint32_t h)
{
    return e->hash == h && e->type == type && e->port == port && e->addr.family == a->family &&
           memcmp(e->addr.b, a->b, sizeof a->b) == 0;
}

/* Room for one more group: the table doubles at half full, up to
 * TL_REPORT_GROUPS_MAX groups. */
static bool grow(struct report_groups *g)
{
    if ((g->used + 1) * 2 <= g->cap)
        return true;
    if (g->used >= TL_REPORT_GROUPS_MAX || g->failed)
        return false;
    uint32_t cap = g->cap ? g->cap * 2 : 64;
    struct report_group *e = calloc(cap, sizeof *e);
    if (e == NULL) {
        g->failed = true;
        return false;
    }
    for (uint32_t i = 0; i < g->cap; i++) {
        if (g->e[i].n == 0)
            continue;
        uint32_t k = g->e[i].hash & (cap - 1);
        while (e[k].n != 0)
            k = (k + 1) & (cap - 1);
        e[k] = g->e[i];
    }
    free(g->e);
    g->e = e;
    g->cap = cap;
    return true;
}

/* The group of (type, a, port), made if new; NULL when the table is full. */
static struct report_group *find(struct report_groups *g, uint8_t type, const struct tl_addr *a,
                                 uint16_t port, bool host_level)
{
    uint32_t h = key_hash(type, a, port);
    for (uint32_t k = g->cap ? h & (g->cap - 1) : 0; g->cap != 0 && g->e[k].n != 0;
         k = (k + 1) & (g->cap - 1))
        if (same_key(&g->e[k], type, a, port, h))
            return &g->e[k];
    if (!grow(g))
        return NULL;
    uint32_t k = h & (g->cap - 1);
    while (g->e[k].n != 0)
        k = (k + 1) & (g->cap - 1);
    struct report_group *e = &g->e[k];
    memset(e, 0, sizeof *e);
    e->addr = *a;
    e->port = port;
    e->type = type;
    e->host_level = host_level;
    e->hash = h;
    e->seq = g->used++;
    g->t[type].groups++;
    return e;
}

/* Keeps the lowest ids, ascending. */
static void add_example(uint64_t *ex, uint8_t *n, uint64_t id)
{
    uint8_t k = *n;
    if (k == TL_GROUP_EXAMPLES && id >= ex[k - 1])
        return;
    if (k < TL_GROUP_EXAMPLES)
        (*n)++;
    else
        k--;
    while (k > 0 && ex[k - 1] > id) {
        ex[k] = ex[k - 1];
        k--;
    }
    ex[k] = id;
}

/* Adds id to the ranges, merging neighbours; past TL_GROUP_RANGES ranges
 * the group gives the list up (ranges_full). */
static void add_range(struct report_group *e, uint64_t id)
{
    if (e->ranges_full)
        return;
    uint8_t i = 0;
    while (i < e->nranges && e->hi[i] + 1 < id)
        i++;
    if (i < e->nranges && e->lo[i] <= id + 1) { /* touches range i */
        if (id < e->lo[i])
            e->lo[i] = id;
        if (id > e->hi[i])
            e->hi[i] = id;
        if (i + 1 < e->nranges && e->lo[i + 1] <= e->hi[i] + 1) {
            e->hi[i] = e->hi[i + 1];
            memmove(&e->lo[i + 1], &e->lo[i + 2], (size_t)(e->nranges - i - 2) * sizeof e->lo[0]);
            memmove(&e->hi[i + 1], &e->hi[i + 2], (size_t)(e->nranges - i - 2) * sizeof e->hi[0]);
            e->nranges--;
        }
        return;
    }
    if (e->nranges == TL_GROUP_RANGES) {
        e->ranges_full = true;
        return;
    }
    memmove(&e->lo[i + 1], &e->lo[i], (size_t)(e->nranges - i) * sizeof e->lo[0]);
    memmove(&e->hi[i + 1], &e->hi[i], (size_t)(e->nranges - i) * sizeof e->hi[0]);
    e->lo[i] = e->hi[i] = id;
    e->nranges++;
}

static void span(int64_t *first, int64_t *last, bool fresh, int64_t ts)
{
    if (fresh || ts < *first)
        *first = ts;
    if (fresh || ts > *last)
        *last = ts;
}

/* Counts one connection (or a host anomaly's) in its type and group. */
static void count(struct report_groups *g, struct report_group *e, const struct tl_anomaly *a,
                  uint64_t n)
{
    struct report_group_type *t = &g->t[a->type];
    span(&t->first_ts, &t->last_ts, t->conns == 0, a->ts);
    t->conns += n;
    if ((int)a->severity > t->sev)
        t->sev = (int8_t)a->severity;
    if (e == NULL) {
        t->left_out += n;
        return;
    }
    span(&e->first_ts, &e->last_ts, e->n == 0, a->ts);
    e->n += n;
    if (a->severity > e->sev)
        e->sev = a->severity;
}

/* The lowest id of a type keeps its anomaly and a copy of its connection
 * (the struct alone: renderers read the endpoints, not the layers). */
static void keep_example(struct report_group_type *t, const struct tl_anomaly *a,
                         const struct tl_conn *c, bool *failed)
{
    if (t->ex_id != 0 && t->ex_id < c->id)
        return;
    if (t->ex_c == NULL && (t->ex_c = malloc(sizeof *t->ex_c)) == NULL) {
        *failed = true; /* the report would word it without its addresses */
        return;
    }
    if (a->texts != NULL && t->ex_texts == NULL &&
        (t->ex_texts = malloc(sizeof *t->ex_texts)) == NULL) {
        *failed = true;
        return;
    }
    memcpy(t->ex_c, c, sizeof *t->ex_c);
    t->ex_a = *a;
    if (a->texts != NULL) {
        *t->ex_texts = *a->texts;
        t->ex_a.texts = t->ex_texts;
    }
    t->ex_id = c->id;
}

static bool earlier_same_type(const struct tl_anomaly_list *l, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (l->a[j].type == l->a[i].type && l->a[j].severity >= TL_SEV_WARNING)
            return true;
    return false;
}

void tl_report_groups_add(struct report_groups *g, const struct tl_conn_view *v)
{
    const struct tl_anomaly_list *l = v->anomalies;
    for (size_t i = 0; l != NULL && i < l->n; i++) {
        const struct tl_anomaly *a = &l->a[i];
        if (a->severity < TL_SEV_WARNING || a->type >= TL_AN_NTYPES || earlier_same_type(l, i))
            continue;
        const struct tl_addr *ip;
        uint16_t port;
        tl_conn_endpoint(v->conn, TL_ROLE_SERVER, &ip, &port);
        struct report_group *e = find(g, a->type, ip, port, false);
        count(g, e, a, 1);
        keep_example(&g->t[a->type], a, v->conn, &g->failed);
        if (e != NULL) {
            add_example(e->ex, &e->nex, v->conn->id);
            add_range(e, v->conn->id);
        }
    }
}

void tl_report_groups_hosts(struct report_groups *g, const struct tl_host_anomaly_list *h)
{
    for (size_t i = 0; h != NULL && i < h->n; i++) {
        const struct tl_host_anomaly *ha = &h->a[i];
        const struct tl_anomaly *a = &ha->a;
        if (a->severity < TL_SEV_WARNING || a->type >= TL_AN_NTYPES)
            continue;
        struct tl_addr addr;
        tl_addr_parse(ha->host, &addr); /* zeroes if it does not */
        struct report_group *e = find(g, a->type, &addr, ha->port, true);
        uint64_t n = ha->total_conns > ha->nconns ? ha->total_conns : ha->nconns;
        count(g, e, a, n > 0 ? n : 1);
        /* A copy: the engine may free and remake its list before the
         * reports are written (a finish that failed, then the last one). */
        struct report_group_type *t = &g->t[a->type];
        if (t->ex_h == NULL && (t->ex_h = malloc(sizeof *t->ex_h)) == NULL)
            g->failed = true;
        else if (!t->ex_set) {
            *t->ex_h = *ha;
            t->ex_set = true;
        }
        for (uint32_t k = 0; e != NULL && k < ha->nconns && k < TL_HOST_MAX_CONNS; k++) {
            add_example(e->ex, &e->nex, ha->conns[k]);
            add_range(e, ha->conns[k]);
        }
        /* Connections not listed cannot be named by id. */
        if (e != NULL && ha->total_conns > ha->nconns)
            e->ranges_full = true;
    }
}

/* A group with its type's rank, for sorting. */
struct ranked {
    const struct report_group *e;
    int8_t sev;     /* its type's worst */
    uint64_t conns; /* its type's connections */
};

/* Types worst first, then the most connections, then registry order;
 * within a type the biggest group first, then the one whose first
 * connection came first (whatever order they ended in: a merge of
 * shards, which takes them in id order, ranks them alike). */
static int group_order(const void *pa, const void *pb)
{
    const struct ranked *x = pa, *y = pb;
    const struct report_group *a = x->e, *b = y->e;
    if (a->type != b->type) {
        if (x->sev != y->sev)
            return x->sev > y->sev ? -1 : 1;
        if (x->conns != y->conns)
            return x->conns > y->conns ? -1 : 1;
        return a->type < b->type ? -1 : 1;
    }
    if (a->n != b->n)
        return a->n > b->n ? -1 : 1;
    if (a->nex > 0 && b->nex > 0 && a->ex[0] != b->ex[0])
        return a->ex[0] < b->ex[0] ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

const struct report_group **tl_report_groups_sorted(const struct report_groups *g, size_t *n)
{
    *n = 0;
    size_t room = g->used ? g->used : 1;
    struct ranked *r = malloc(room * sizeof *r);
    const struct report_group **v = malloc(room * sizeof *v);
    if (r == NULL || v == NULL) {
        free(r);
        free(v);
        return NULL;
    }
    for (uint32_t i = 0; i < g->cap; i++)
        if (g->e[i].n != 0)
            r[(*n)++] = (struct ranked){&g->e[i], g->t[g->e[i].type].sev, g->t[g->e[i].type].conns};
    qsort(r, *n, sizeof *r, group_order);
    for (size_t i = 0; i < *n; i++)
        v[i] = r[i].e;
    free(r);
    return v;
}

void tl_report_group_text(const struct report_group_type *t, struct tl_anomaly_text *out)
{
    memset(out, 0, sizeof *out);
    if (t->ex_set)
        tl_host_anomaly_render(t->ex_h, out);
    else if (t->ex_id != 0)
        tl_anomaly_render_conn(&t->ex_a, t->ex_c, out);
}

/* s for a POSIX shell: as it is when it holds only safe characters, else
 * in single quotes. */
static void shell_word(char *buf, size_t size, size_t *at, const char *s)
{
    bool plain = s[0] != '\0';
    for (const char *p = s; *p != '\0'; p++)
        plain = plain && (strchr("+,-./:=@_", *p) != NULL || (*p >= '0' && *p <= '9') ||
                          (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'));
    size_t n = *at;
    if (n < size && plain)
        n += (size_t)snprintf(buf + n, size - n, "%s", s);
    else if (n < size) {
        n += (size_t)snprintf(buf + n, size - n, "'");
        for (const char *p = s; *p != '\0' && n < size; p++)
            n += (size_t)snprintf(buf + n, size - n, *p == '\'' ? "'\\''" : "%c", *p);
        if (n < size)
            n += (size_t)snprintf(buf + n, size - n, "'");
    }
    *at = n;
}

/* Appends text to buf (size bytes); *at past size once it did not fit. */
static void append(char *buf, size_t size, size_t *at, const char *text)
{
    if (*at < size)
        *at += (size_t)snprintf(buf + *at, size - *at, "%s", text);
}

const char *tl_report_group_command(const struct report_group *e, const struct tl_run *run,
                                    char *buf, size_t size)
{
    size_t at = 0;
    char num[64];
    buf[0] = '\0';
    append(buf, size, &at, "tcplens");
    for (size_t i = 0; i < run->ninputs; i++) {
        append(buf, size, &at, " ");
        shell_word(buf, size, &at, run->inputs[i].name);
    }
    if (!e->ranges_full && e->nranges > 0) {
        append(buf, size, &at, " --connection ");
        for (uint8_t i = 0; i < e->nranges; i++) {
            char sep = e->hi[i] == e->lo[i] + 1 ? ',' : '-';
            if (e->lo[i] == e->hi[i])
                snprintf(num, sizeof num, "%s%" PRIu64, i ? "," : "", e->lo[i]);
            else
                snprintf(num, sizeof num, "%s%" PRIu64 "%c%" PRIu64, i ? "," : "", e->lo[i], sep,
                         e->hi[i]);
            append(buf, size, &at, num);
        }
        return at < size ? buf : "";
    }
    if (e->addr.family == 0)
        return "";
    char ip[TL_ADDR_STRLEN], f[TL_ADDR_STRLEN + 64];
    tl_addr_str(&e->addr, ip, sizeof ip);
    if (e->port != 0)
        snprintf(f, sizeof f, "tcp and host %s and port %u", ip, (unsigned)e->port);
    else
        snprintf(f, sizeof f, "tcp and host %s", ip);
    append(buf, size, &at, " --all --anomalies-only ");
    shell_word(buf, size, &at, f);
    return at < size ? buf : "";
}
