/* The anomaly registry's table, the small builders detectors use and the
 * readers renderers use. */
#include "tcplens/anomaly.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly_int.h"

struct reg {
    const char *id;
    enum tl_sev sev;
    bool host;
    tl_detector_fn detect;
    tl_render_fn render;
    const char *shows, *check;
};

#define TL_ANOM_REG(name, id, sev, host, detect, render, shows, check) \
    [TL_AN_##name] = {id, sev, host, detect, render, shows, check},
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

const char *tl_anomaly_shows(enum tl_anomaly_type t)
{
    return (unsigned)t < TL_AN_NTYPES ? registry[t].shows : "";
}

const char *tl_anomaly_check(enum tl_anomaly_type t)
{
    return (unsigned)t < TL_AN_NTYPES ? registry[t].check : "";
}

tl_detector_fn tl_anomaly_detector(enum tl_anomaly_type t)
{
    return (unsigned)t < TL_AN_NTYPES ? registry[t].detect : NULL;
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

void tl_anomaly_addr(struct tl_anomaly *a, const char *key, const struct tl_addr *v)
{
    if (field(a, key, TL_EVK_ADDR) != NULL)
        a->addr = *v;
}

const char *tl_anomaly_addr_text(const struct tl_anomaly *a, const struct tl_evfield *f, char *buf,
                                 size_t size)
{
    return f->kind == TL_EVK_ADDR ? tl_addr_str(&a->addr, buf, size) : NULL;
}

void tl_anomaly_keep_series(struct tl_anomaly *a, const double *v, size_t n)
{
    a->nseries = (uint8_t)(n < TL_ANOM_MAX_SERIES ? n : TL_ANOM_MAX_SERIES);
    memcpy(a->series, v, a->nseries * sizeof *v);
}

void tl_anomaly_series(struct tl_anomaly *a, const char *key, const double *v, size_t n)
{
    if (field(a, key, TL_EVK_SERIES) != NULL)
        tl_anomaly_keep_series(a, v, n);
}

/* a's field key of that kind, or NULL. */
static const struct tl_evfield *find(const struct tl_anomaly *a, const char *key, enum tl_evk kind)
{
    for (uint8_t i = 0; i < a->nfields && i < TL_ANOM_MAX_FIELDS; i++)
        if (a->fields[i].kind == kind && strcmp(a->fields[i].key, key) == 0)
            return &a->fields[i];
    return NULL;
}

bool tl_anomaly_has(const struct tl_anomaly *a, const char *key)
{
    for (uint8_t i = 0; i < a->nfields && i < TL_ANOM_MAX_FIELDS; i++)
        if (strcmp(a->fields[i].key, key) == 0)
            return true;
    return false;
}

int64_t tl_anomaly_get_int(const struct tl_anomaly *a, const char *key)
{
    const struct tl_evfield *f = find(a, key, TL_EVK_INT);
    return f != NULL ? f->v.i : 0;
}

double tl_anomaly_get_real(const struct tl_anomaly *a, const char *key)
{
    const struct tl_evfield *f = find(a, key, TL_EVK_REAL);
    return f != NULL ? f->v.r : 0.0;
}

bool tl_anomaly_get_bool(const struct tl_anomaly *a, const char *key)
{
    const struct tl_evfield *f = find(a, key, TL_EVK_BOOL);
    return f != NULL && f->v.b;
}

const char *tl_anomaly_get_str(const struct tl_anomaly *a, const char *key)
{
    const struct tl_evfield *f = find(a, key, TL_EVK_STR);
    return f != NULL && f->v.s != NULL ? f->v.s : "";
}

int64_t tl_anomaly_get_us(const struct tl_anomaly *a, const char *key)
{
    /* us / 1e6 rounded, times 1e6, is within a fraction of a µs of us for
     * any duration below 2^50 µs (35 years): rounding gives us back. */
    double us = tl_anomaly_get_real(a, key) * (double)TL_USEC_PER_SEC;
    return (int64_t)(us >= 0 ? us + 0.5 : us - 0.5);
}

void tl_anomaly_render(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                       struct tl_anomaly_text *out)
{
    static const struct tl_anomaly_about none = {NULL, NULL};
    memset(out, 0, sizeof *out);
    if (a->texts != NULL)
        *out = *a->texts;
    else if (a->type < TL_AN_NTYPES)
        registry[a->type].render(a, about != NULL ? about : &none, out);
}

void tl_anomaly_render_conn(const struct tl_anomaly *a, const struct tl_conn *c,
                            struct tl_anomaly_text *out)
{
    struct tl_anomaly_about about = {c, NULL};
    tl_anomaly_render(a, &about, out);
}

void tl_text_explain(struct tl_anomaly_text *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->explanation, sizeof out->explanation, fmt, ap);
    va_end(ap);
}

void tl_text_suggest(struct tl_anomaly_text *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->suggestion, sizeof out->suggestion, fmt, ap);
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
