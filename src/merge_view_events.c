/*
 * The timeline and the anomalies of a connection record, read back
 * (merge_view.h): the two parts that are lists, and the longest.
 */
#include "merge_view_int.h"

#include <stdlib.h>
#include <string.h>

#include "report_int.h"

static const char *kind_name(int i) { return tl_evkind_name((enum tl_evkind)i); }
static const char *anomaly_name(int i) { return tl_anomaly_id((enum tl_anomaly_type)i); }
static const char *sev_name(int i) { return tl_sev_name((enum tl_sev)i); }
static const char *aep_name(int i) { return tl_anom_ep_name((enum tl_anom_ep)i); }
/* ---- The timeline ---- */

static bool flags_of(const char *s, uint8_t *flags)
{
    static const char letters[] = "SFRPAUEC";
    static const uint8_t bits[] = {TL_TH_SYN, TL_TH_FIN, TL_TH_RST, TL_TH_PSH,
                                   TL_TH_ACK, TL_TH_URG, TL_TH_ECE, TL_TH_CWR};
    *flags = 0;
    for (size_t i = 0; s != NULL && s[i] != '\0'; i++) {
        const char *l = memchr(letters, s[i], sizeof letters - 1);
        if (l == NULL)
            return false;
        *flags |= bits[l - letters];
    }
    return s != NULL;
}

static bool dir_of(json_t *ev, uint8_t *dir)
{
    const char *d = mv_str_of(ev, "dir");
    if (d == NULL)
        return false;
    for (uint8_t i = TL_TL_C2S; i <= TL_TL_S2C; i++)
        if (strcmp(d, tl_report_dir_name(i)) == 0) {
            *dir = i;
            return true;
        }
    return false;
}

/* States after the event, and those passed through on the way ("via"). */
static bool ev_states(json_t *ev, struct tl_event *e)
{
    int cs = mv_state_of(ev, "client"), ss = mv_state_of(ev, "server");
    if (cs < 0 || ss < 0)
        return false;
    e->client = (uint8_t)cs;
    e->server = (uint8_t)ss;
    json_t *via = json_object_get(ev, "via");
    if (via == NULL)
        return true;
    static const char *const role[2] = {"client", "server"};
    for (int r = 0; r < 2; r++) {
        json_t *a = json_object_get(via, role[r]);
        if (a == NULL)
            continue;
        size_t n = json_array_size(a);
        if (n == 0 || n > 2)
            return false;
        for (size_t i = 0; i < n; i++) {
            int s = mv_named(json_string_value(json_array_get(a, i)), mv_state_name, TL_EP_NSTATES);
            /* 0 (UNKNOWN) ends the list: never a state passed through. */
            if (s <= 0)
                return false;
            e->via[r][i] = (uint8_t)s;
        }
    }
    return e->via[0][0] != 0 || e->via[1][0] != 0;
}

/* A "segments" entry: its tl_sum appended beside the entries. */
static bool ev_summary(struct tl_timeline *t, json_t *ev, struct tl_event *e)
{
    if (t->nsum == t->sumcap) {
        if (t->sumcap > UINT32_MAX / 4)
            return false;
        uint32_t cap = t->sumcap != 0 ? t->sumcap * 2 : 8;
        struct tl_sum *s = realloc(t->sum, cap * sizeof *s);
        if (s == NULL)
            return false;
        t->sum = s;
        t->sumcap = cap;
    }
    struct tl_sum *sum = &t->sum[t->nsum];
    memset(sum, 0, sizeof *sum);
    e->dir = TL_TL_NONE;
    e->len = t->nsum;
    if (!mv_u64_of(ev, "packet", &e->pkt) || !mv_usec_of(ev, "last_ts", &sum->last_ts) ||
        !mv_u64_of(ev, "last_packet", &sum->last_pkt) ||
        !mv_pair32_of(ev, "packets", sum->packets) ||
        !mv_pair_of(ev, "bytes", INT64_MAX, sum->bytes))
        return false;
    t->nsum++;
    return true;
}

/* An ICMP error about a segment: a packet, unless it has none (then its
 * direction was none). */
static bool ev_icmp(json_t *ev, struct tl_event *e)
{
    int64_t type, code;
    if (!dir_of(ev, &e->dir) || !mv_int_of(ev, "icmp_type", 0, 255, &type) ||
        !mv_int_of(ev, "icmp_code", 0, 255, &code) || !mv_u32_of(ev, "seq", &e->seq))
        return false;
    e->win = (uint16_t)(type << 8 | code);
    if (json_object_get(ev, "packet") == NULL) {
        e->dir = TL_TL_NONE;
        return true;
    }
    return mv_u64_of(ev, "packet", &e->pkt);
}

static bool ev_packet(json_t *ev, struct tl_event *e)
{
    uint32_t win;
    if (!dir_of(ev, &e->dir) || !mv_u64_of(ev, "packet", &e->pkt) ||
        !flags_of(mv_str_of(ev, "flags"), &e->flags) || !mv_u32_of(ev, "seq", &e->seq) ||
        !mv_u32_of(ev, "ack", &e->ack) || !mv_u32_of(ev, "len", &e->len) ||
        !mv_u32_of(ev, "win", &win) || win > UINT16_MAX)
        return false;
    e->win = (uint16_t)win;
    return true;
}

static bool read_event(struct tl_timeline *t, json_t *ev, struct tl_event *e)
{
    const char *kind = mv_str_of(ev, "event");
    memset(e, 0, sizeof *e);
    if (kind == NULL || !mv_usec_of(ev, "ts", &e->ts) || !ev_states(ev, e))
        return false;
    if (strcmp(kind, "segments") == 0) {
        e->kind = TL_TL_SUMMARY;
        return ev_summary(t, ev, e);
    }
    int k = mv_named(kind, kind_name, TL_K_NKINDS);
    if (k < 0)
        return false;
    e->kind = (uint8_t)k;
    if (tl_event_is_icmp(e))
        return ev_icmp(ev, e);
    if (json_object_get(ev, "dir") != NULL)
        return ev_packet(ev, e);
    /* A timed event: no packet, no direction. */
    e->dir = TL_TL_NONE;
    return true;
}

bool mv_read_timeline(struct tl_merge_view *mv, json_t *o)
{
    json_t *list = json_object_get(o, "timeline"), *ev;
    struct tl_timeline *t = &mv->tl;
    t->n = t->nsum = 0;
    t->dropped = 0;
    if (list == NULL)
        return json_object_get(o, "timeline_dropped") == NULL;
    size_t n = json_array_size(list);
    if (!json_is_array(list) || n > UINT32_MAX / 2)
        return false;
    if (n > t->cap) {
        struct tl_event *e = realloc(t->ev, n * sizeof *e);
        if (e == NULL)
            return false;
        t->ev = e;
        t->cap = (uint32_t)n;
    }
    size_t i;
    json_array_foreach(list, i, ev)
    {
        if (!read_event(t, ev, &t->ev[i]))
            return false;
        t->n++;
    }
    if (json_object_get(o, "timeline_dropped") != NULL &&
        (!mv_u64_of(o, "timeline_dropped", &t->dropped) || t->dropped == 0))
        return false;
    mv->v.timeline = t;
    return true;
}

/* ---- Anomalies ---- */

/* One evidence value as the kind tl_report_json_evidence() wrote it from:
 * an integer, a real, a bool, a string (an address where it reads as one,
 * the first such), a series of reals, or null (a NULL string). */
static bool evidence_field(struct tl_merge_view *mv, struct tl_anomaly *a, const char *key,
                           json_t *v)
{
    struct tl_evfield *f = &a->fields[a->nfields];
    if ((f->key = mv_intern(mv, key)) == NULL)
        return false;
    if (json_is_integer(v)) {
        f->kind = TL_EVK_INT;
        f->v.i = (int64_t)json_integer_value(v);
    } else if (json_is_real(v)) {
        f->kind = TL_EVK_REAL;
        f->v.r = json_real_value(v);
    } else if (json_is_boolean(v)) {
        f->kind = TL_EVK_BOOL;
        f->v.b = json_is_true(v);
    } else if (json_is_null(v)) {
        f->kind = TL_EVK_STR;
        f->v.s = NULL;
    } else if (json_is_string(v)) {
        struct tl_addr addr;
        bool has_addr = false;
        for (uint8_t i = 0; i < a->nfields; i++)
            has_addr |= a->fields[i].kind == TL_EVK_ADDR;
        if (!has_addr && tl_addr_parse(json_string_value(v), &addr)) {
            f->kind = TL_EVK_ADDR;
            a->addr = addr;
        } else {
            f->kind = TL_EVK_STR;
            if ((f->v.s = mv_intern(mv, json_string_value(v))) == NULL)
                return false;
        }
    } else if (json_is_array(v)) {
        /* One series an anomaly (its series[]), of reals. */
        size_t n = json_array_size(v);
        if (a->nseries != 0 || n == 0 || n > TL_ANOM_MAX_SERIES)
            return false;
        for (size_t i = 0; i < n; i++) {
            if (!json_is_real(json_array_get(v, i)))
                return false;
            a->series[i] = json_real_value(json_array_get(v, i));
        }
        f->kind = TL_EVK_SERIES;
        a->nseries = (uint8_t)n;
    } else {
        return false;
    }
    a->nfields++;
    return true;
}

static bool read_evidence(struct tl_merge_view *mv, struct tl_anomaly *a, json_t *ev)
{
    const char *key;
    json_t *v;
    if (!json_is_object(ev))
        return false;
    json_object_foreach(ev, key, v)
    {
        if (a->nfields >= TL_ANOM_MAX_FIELDS || !evidence_field(mv, a, key, v))
            return false;
    }
    return true;
}

/* The record's texts, which the view gives instead of rendering them. */
static bool read_texts(struct tl_anomaly_text *t, json_t *ao)
{
    const char *e = mv_str_of(ao, "explanation"), *s = mv_str_of(ao, "suggestion");
    if (e == NULL || s == NULL || strlen(e) >= sizeof t->explanation ||
        strlen(s) >= sizeof t->suggestion)
        return false;
    memset(t, 0, sizeof *t);
    memcpy(t->explanation, e, strlen(e));
    memcpy(t->suggestion, s, strlen(s));
    return true;
}

static bool read_anomaly(struct tl_merge_view *mv, json_t *ao, struct tl_anomaly_text *text)
{
    int t = mv_named(mv_str_of(ao, "type"), anomaly_name, TL_AN_NTYPES);
    int sev = mv_named(mv_str_of(ao, "severity"), sev_name, TL_SEV_NLEVELS);
    int ep = mv_named(mv_str_of(ao, "endpoint"), aep_name, TL_AEP_CONNECTION + 1);
    int64_t ts;
    json_t *pkts = json_object_get(ao, "packets"), *p;
    if (t < 0 || sev < 0 || ep < 0 || !mv_usec_of(ao, "ts", &ts) || !json_is_array(pkts) ||
        json_array_size(pkts) > TL_ANOM_MAX_PKTS || !read_texts(text, ao))
        return false;
    struct tl_anomaly *a = tl_anomaly_add(&mv->an, (enum tl_anomaly_type)t, (enum tl_anom_ep)ep,
                                          ts);
    if (a == NULL)
        return false;
    a->severity = (uint8_t)sev;
    size_t i;
    json_array_foreach(pkts, i, p)
    {
        /* Packet 0 is none: never listed. */
        if (!json_is_integer(p) || json_integer_value(p) <= 0)
            return false;
        a->pkts[a->npkts++] = (uint64_t)json_integer_value(p);
    }
    return read_evidence(mv, a, json_object_get(ao, "evidence"));
}

bool mv_read_anomalies(struct tl_merge_view *mv, json_t *o)
{
    json_t *list = json_object_get(o, "anomalies"), *ao;
    if (list == NULL)
        return true;
    size_t n = json_array_size(list), i;
    if (!json_is_array(list))
        return false;
    if (n > mv->texts_cap) {
        struct tl_anomaly_text *t = realloc(mv->texts, n * sizeof *t);
        if (t == NULL)
            return false;
        mv->texts = t;
        mv->texts_cap = n;
    }
    json_array_foreach(list, i, ao)
    {
        if (!read_anomaly(mv, ao, &mv->texts[i]))
            return false;
    }
    /* texts[] no longer moves. */
    for (i = 0; i < mv->an.n; i++)
        mv->an.a[i].texts = &mv->texts[i];
    mv->v.anomalies = &mv->an;
    return true;
}
