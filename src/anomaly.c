/* The anomaly registry's tables and the small builders detectors use. */
#include "tcplens/anomaly.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reg {
    const char *id;
    enum tl_sev sev;
    bool host;
};

#define TL_ANOM_REG(name, id, sev, host) [TL_AN_##name] = {id, sev, host},
static const struct reg registry[TL_AN_NTYPES] = {TL_ANOMALIES(TL_ANOM_REG)};
#undef TL_ANOM_REG

const char *tl_anomaly_id(enum tl_anomaly_type t)
{
    return (unsigned)t < TL_AN_NTYPES ? registry[t].id : "unknown";
}

enum tl_sev tl_anomaly_default_sev(enum tl_anomaly_type t)
{
    return (unsigned)t < TL_AN_NTYPES ? registry[t].sev : TL_SEV_WARNING;
}

bool tl_anomaly_is_host(enum tl_anomaly_type t)
{
    return (unsigned)t < TL_AN_NTYPES && registry[t].host;
}

static const char *const sev_names[TL_SEV_NLEVELS] = {"info", "warning", "error"};

const char *tl_sev_name(enum tl_sev s)
{
    return (unsigned)s < TL_SEV_NLEVELS ? sev_names[s] : "warning";
}

bool tl_sev_parse(const char *s, enum tl_sev *out)
{
    for (int i = 0; i < TL_SEV_NLEVELS; i++) {
        if (strcmp(s, sev_names[i]) == 0) {
            *out = (enum tl_sev)i;
            return true;
        }
    }
    return false;
}

const char *tl_anom_ep_name(enum tl_anom_ep e)
{
    static const char *const names[] = {"client", "server", "connection"};
    return (unsigned)e < 3 ? names[e] : "connection";
}

void tl_anomaly_list_free(struct tl_anomaly_list *l)
{
    free(l->a);
    memset(l, 0, sizeof *l);
}

struct tl_anomaly *tl_anomaly_add(struct tl_anomaly_list *l, enum tl_anomaly_type t,
                                  enum tl_anom_ep ep, int64_t ts)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        struct tl_anomaly *a = realloc(l->a, cap * sizeof *a);
        if (a == NULL) {
            l->failed = true;
            return NULL;
        }
        l->a = a;
        l->cap = cap;
    }
    struct tl_anomaly *a = &l->a[l->n++];
    memset(a, 0, sizeof *a);
    a->type = (uint8_t)t;
    a->no_text = l->no_text;
    a->severity = (uint8_t)tl_anomaly_default_sev(t);
    a->endpoint = (uint8_t)ep;
    a->ts = ts;
    return a;
}

void tl_anomaly_pkt(struct tl_anomaly *a, uint64_t pkt)
{
    /* Packet 0 means "no packet"; past the cap the first ones are kept. */
    if (pkt != 0 && a->npkts < TL_ANOM_MAX_PKTS)
        a->pkts[a->npkts++] = pkt;
}

static struct tl_evfield *field(struct tl_anomaly *a, const char *key, enum tl_evk kind)
{
    if (a->nfields >= TL_ANOM_MAX_FIELDS)
        return NULL;
    struct tl_evfield *f = &a->fields[a->nfields++];
    f->key = key;
    f->kind = (uint8_t)kind;
    return f;
}

void tl_anomaly_int(struct tl_anomaly *a, const char *key, int64_t v)
{
    struct tl_evfield *f = field(a, key, TL_EVK_INT);
    if (f != NULL)
        f->v.i = v;
}

void tl_anomaly_real(struct tl_anomaly *a, const char *key, double v)
{
    struct tl_evfield *f = field(a, key, TL_EVK_REAL);
    if (f != NULL)
        f->v.r = v;
}

void tl_anomaly_bool(struct tl_anomaly *a, const char *key, bool v)
{
    struct tl_evfield *f = field(a, key, TL_EVK_BOOL);
    if (f != NULL)
        f->v.b = v;
}

void tl_anomaly_str(struct tl_anomaly *a, const char *key, const char *literal)
{
    struct tl_evfield *f = field(a, key, TL_EVK_STR);
    if (f != NULL)
        f->v.s = literal;
}

void tl_anomaly_series(struct tl_anomaly *a, const char *key, const double *v, size_t n)
{
    struct tl_evfield *f = field(a, key, TL_EVK_SERIES);
    if (f == NULL)
        return;
    a->nseries = (uint8_t)(n < TL_ANOM_MAX_SERIES ? n : TL_ANOM_MAX_SERIES);
    memcpy(a->series, v, a->nseries * sizeof *v);
}

/* Writes one of a's texts, unless the list it is in wants none. */
static TL_PRINTF(4, 0) void set_text(const struct tl_anomaly *a, char *dst, size_t size, const char *fmt,
                     va_list ap)
{
    if (!a->no_text)
        vsnprintf(dst, size, fmt, ap);
}

void tl_anomaly_explain(struct tl_anomaly *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_text(a, a->explanation, sizeof a->explanation, fmt, ap);
    va_end(ap);
}

void tl_anomaly_suggest(struct tl_anomaly *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_text(a, a->suggestion, sizeof a->suggestion, fmt, ap);
    va_end(ap);
}

int tl_anomaly_worst(const struct tl_anomaly_list *l)
{
    int worst = -1;
    for (size_t i = 0; i < l->n; i++)
        if ((int)l->a[i].severity > worst)
            worst = l->a[i].severity;
    return worst;
}
