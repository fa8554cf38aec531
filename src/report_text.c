/*
 * Human text report: what was read, the summary (report_text_summary.c),
 * one table row per connection, then the connections with a warning or an
 * error, worst first, each with its anomalies and its timeline.
 *
 * Connections arrive once, when they end, and go to the spool in id order
 * (report.c). A connection's spool entry is its table row, then, only when
 * it has a warning or an error, a header line "\t#SEVERITY COUNT ID KIND",
 * a tab and the connection's line in a brief report's list of the worst,
 * then its detail lines, each starting with a tab. At the end the rows are
 * copied out while the detail blocks are indexed (rank, kind, spool
 * offsets: 48 bytes each), the index is sorted, and the blocks are read
 * back in that order: memory holds the index, never the text.
 */
#include "tcplens/report.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"
#include "report_ladder.h"

#define WRAP_COLS 100 /* explanation and suggestion lines, indentation included */
#define NOTE_INDENT 25

struct buf {
    char *s;
    size_t len, cap;
    bool failed;
};

static TL_PRINTF(2, 3) void bprintf(struct buf *b, const char *fmt, ...)
{
    for (int tries = 0; tries < 2 && !b->failed; tries++) {
        va_list ap;
        va_start(ap, fmt);
        /* An empty buffer has no storage yet: NULL + 0 is undefined. */
        int n = vsnprintf(b->s != NULL ? b->s + b->len : NULL, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n) * 2;
        char *s = realloc(b->s, cap);
        if (s == NULL) {
            b->failed = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

/* Room for n more bytes (and a NUL); false once out of memory. */
static bool breserve(struct buf *b, size_t n)
{
    if (b->failed)
        return false;
    if (b->len + n < b->cap)
        return true;
    size_t cap = (b->cap + n + 1) * 2; /* the NUL too, also when n is 0 */
    char *s = realloc(b->s, cap);
    if (s == NULL) {
        b->failed = true;
        return false;
    }
    b->s = s;
    b->cap = cap;
    return true;
}

/* s, padded with spaces to width (left-aligned, or right-aligned with
 * right): printf's %-Ns and %Ns without its machinery, which costs more
 * than the rest of a table row. */
static void bpad(struct buf *b, const char *s, size_t width, bool right)
{
    /* Not bspaces() and bput(): their three reservations and NULs cost 1 %
     * of the text report's instructions, as this runs for every cell. */
    size_t n = strlen(s), pad = n < width ? width - n : 0;
    if (!breserve(b, n + pad))
        return;
    if (right) {
        memset(b->s + b->len, ' ', pad);
        b->len += pad;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    if (!right) {
        memset(b->s + b->len, ' ', pad);
        b->len += pad;
    }
    b->s[b->len] = '\0';
}

/* The n bytes at s. */
static void bput(struct buf *b, const char *s, size_t n)
{
    if (!breserve(b, n))
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void bstr(struct buf *b, const char *s) { bput(b, s, strlen(s)); }

/* n spaces. */
static void bspaces(struct buf *b, size_t n)
{
    if (!breserve(b, n))
        return;
    memset(b->s + b->len, ' ', n);
    b->len += n;
    b->s[b->len] = '\0';
}

/* v in decimal at out (21 bytes at least); returns the end. */
static char *u64_at(char *out, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *out++ = tmp[--n];
    *out = '\0';
    return out;
}

/* v in decimal, padded to width as bpad() pads. */
static void bu64(struct buf *b, uint64_t v, size_t width, bool right)
{
    char s[24];
    u64_at(s, v);
    bpad(b, s, width, right);
}

/* "a/b" for a pair of counters. */
static const char *pair_str(uint64_t a, uint64_t b, char *out)
{
    char *p = u64_at(out, a);
    *p++ = '/';
    u64_at(p, b);
    return out;
}

/* "12:15:59.231769" (UTC, no date: the table has it). */
static const char *clock_str(int64_t ts, char *out, size_t size)
{
    char full[40];
    tl_report_utc(ts, full, sizeof full);
    /* Skip "YYYY-MM-DD "; a date that formats oddly is shown whole. */
    size_t n = strlen(full);
    const char *clk = n > 11 ? full + 11 : full;
    if (strlen(clk) >= size)
        clk = full + n - (size - 1);
    memcpy(out, clk, strlen(clk) + 1);
    return out;
}

/* "12.000345" for a span in µs (sign kept for clocks that step back);
 * out holds 29 bytes at least. */
static void span_str(int64_t d, char *out)
{
    uint64_t u = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
    char *p = out;
    if (d < 0)
        *p++ = '-';
    p = u64_at(p, u / 1000000u);
    *p++ = '.';
    uint64_t f = u % 1000000u;
    for (int i = 5; i >= 0; i--, f /= 10)
        p[i] = (char)('0' + f % 10);
    p[6] = '\0';
}


/* One timeline entry, in the columns of TIMELINE_HEAD. Appended piece by
 * piece: vsnprintf took a tenth of the text report's time. */
static void event_line(struct buf *b, const struct tl_timeline *t, const struct tl_event *e,
                       int64_t t0)
{
    char clk[24], flags[9], d[32];
    span_str(e->ts - t0, d);
    bstr(b, "\n\t  ");
    bstr(b, clock_str(e->ts, clk, sizeof clk));
    bput(b, " ", 1);
    bpad(b, d, 11, true);
    bput(b, "  ", 2);
    if (e->kind == TL_TL_SUMMARY) {
        bspaces(b, 47);
    } else if (e->dir == TL_TL_NONE) {
        bpad(b, "(no packet)", 47, false);
    } else {
        bu64(b, e->pkt, 6, false);
        bstr(b, e->dir == TL_TL_C2S ? " c>s " : " s>c ");
        bpad(b, tl_event_is_icmp(e) ? "ICMP" : tl_tcp_flags_str(e->flags, flags, sizeof flags), 5,
             false);
        bput(b, " ", 1);
        bu64(b, e->seq, 10, true);
        bput(b, " ", 1);
        bu64(b, e->ack, 10, true);
        bput(b, " ", 1);
        bu64(b, e->len, 6, true);
        bput(b, "  ", 2);
    }
    bpad(b, tl_ep_state_name(e->client), 11, false);
    bput(b, " ", 1);
    bpad(b, tl_ep_state_name(e->server), 11, false);
    bput(b, " ", 1);
    if (e->kind != TL_TL_SUMMARY) {
        bstr(b, tl_evkind_name((enum tl_evkind)e->kind));
        if (tl_event_is_icmp(e)) {
            bstr(b, " type ");
            bu64(b, tl_event_icmp_type(e), 0, false);
            bstr(b, " code ");
            bu64(b, tl_event_icmp_code(e), 0, false);
        }
        const char *sep = " (";
        for (int r = 0; r < 2; r++)
            for (int i = 0; i < 2 && e->via[r][i] != 0; i++) {
                bstr(b, sep);
                bstr(b, r == 0 ? "client via " : "server via ");
                bstr(b, tl_ep_state_name(e->via[r][i]));
                sep = ", ";
            }
        if (sep[0] == ',')
            bput(b, ")", 1);
        return;
    }
    const struct tl_sum *sum = tl_timeline_sum(t, e);
    bu64(b, sum->packets[0], 0, false);
    bput(b, "+", 1);
    bu64(b, sum->packets[1], 0, false);
    bstr(b, " segments, ");
    bu64(b, sum->bytes[0], 0, false);
    bput(b, "+", 1);
    bu64(b, sum->bytes[1], 0, false);
    bstr(b, " bytes (c+s) until ");
    bstr(b, clock_str(sum->last_ts, clk, sizeof clk));
}

/* The timeline's column heads: "%-15s %11s  %-6s %-3s %-5s %10s %10s %6s
 * %-11s %-11s %s", as event_line() lays out an entry. */
#define TIMELINE_HEAD                                                                              \
    "\n\t  time (UTC)               +s  pkt    dir flags        seq        ack    len  client    " \
    "  "                                                                                           \
    "server      event"

static void timeline_lines(struct buf *b, const struct tl_conn_view *v)
{
    bstr(b, TIMELINE_HEAD);
    for (uint32_t i = 0; i < v->timeline->n; i++)
        event_line(b, v->timeline, &v->timeline->ev[i], v->conn->first_ts);
    if (v->timeline->dropped > 0)
        bprintf(b, "\n\t  … %" PRIu64 " more entries not kept (--timeline-max)",
                v->timeline->dropped);
}

/*
 * Writes label and text as a paragraph of at most WRAP_COLS columns, the
 * continuation lines indented under the text. Control characters become
 * spaces: a newline in a detector's text must not break the spool format.
 */
static void wrap_label(struct buf *b, size_t indent, size_t label_w, const char *label,
                       const char *text)
{
    bput(b, "\n\t", 2);
    bspaces(b, indent - label_w);
    bpad(b, label, label_w, false);
    bput(b, " ", 1);
    size_t col = indent + 1, start = col;
    const unsigned char *p = (const unsigned char *)text;
    for (;;) {
        while (*p != '\0' && (*p <= ' ' || *p == 0x7f))
            p++;
        if (*p == '\0')
            return;
        size_t n = 0;
        while (p[n] > ' ' && p[n] != 0x7f)
            n++;
        if (col > start && col + 1 + n > WRAP_COLS) {
            bput(b, "\n\t", 2);
            bspaces(b, start);
            col = start;
        } else if (col > start) {
            bput(b, " ", 1);
            col++;
        }
        bput(b, (const char *)p, n);
        col += n;
        p += n;
    }
}

static void wrap_at(struct buf *b, size_t indent, const char *label, const char *text)
{
    wrap_label(b, indent, 12, label, text);
}

static void wrap(struct buf *b, const char *label, const char *text)
{
    wrap_at(b, NOTE_INDENT, label, text);
}

/* Seconds and rates as people write them: "0.000011", "2.5", "1e+12". */
static void real_value(struct buf *b, double r)
{
    char s[64];
    double m = r < 0 ? -r : r;
    if (m != 0 && (m < 1e-6 || m >= 1e12 || m != m)) {
        bprintf(b, "%.6g", r);
        return;
    }
    snprintf(s, sizeof s, "%.6f", r);
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '0')
        n--;
    if (n > 1 && s[n - 1] == '.')
        n--;
    bput(b, s, n);
}

/* v in decimal, sign first. */
static void bi64(struct buf *b, int64_t v)
{
    if (v < 0)
        bput(b, "-", 1);
    bu64(b, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, 0, false);
}

static void evidence_value(struct buf *b, const struct tl_anomaly *a, const struct tl_evfield *f)
{
    switch ((enum tl_evk)f->kind) {
    case TL_EVK_INT: bi64(b, f->v.i); break;
    case TL_EVK_REAL: real_value(b, f->v.r); break;
    case TL_EVK_BOOL: bstr(b, f->v.b ? "true" : "false"); break;
    case TL_EVK_STR: bstr(b, f->v.s != NULL ? f->v.s : ""); break;
    case TL_EVK_ADDR: {
        char s[TL_ADDR_STRLEN];
        bstr(b, tl_anomaly_addr_text(a, f, s, sizeof s));
        break;
    }
    case TL_EVK_SERIES:
        bput(b, "[", 1);
        for (uint8_t k = 0; k < a->nseries && k < TL_ANOM_MAX_SERIES; k++) {
            if (k > 0)
                bput(b, " ", 1);
            real_value(b, a->series[k]);
        }
        bput(b, "]", 1);
        break;
    }
}

/* "key value, key value", wrapped like the explanation. */
static void evidence_at(struct buf *b, size_t indent, const struct tl_anomaly *a)
{
    if (a->nfields == 0)
        return;
    struct buf e = {NULL, 0, 0, false};
    for (uint8_t i = 0; i < a->nfields && i < TL_ANOM_MAX_FIELDS; i++) {
        if (i > 0)
            bput(&e, ", ", 2);
        bstr(&e, a->fields[i].key);
        bput(&e, " ", 1);
        evidence_value(&e, a, &a->fields[i]);
    }
    if (e.failed)
        b->failed = true;
    else
        wrap_at(b, indent, "evidence", e.s);
    free(e.s);
}

static void evidence(struct buf *b, const struct tl_anomaly *a) { evidence_at(b, NOTE_INDENT, a); }

/* A detail block being written: explain says whether its warnings and
 * errors get their own explanation and suggestion (--all, --connection),
 * or only their evidence, their group having said the rest. Groups hold no
 * info-level anomaly: those are always explained where printed. */
struct pen {
    struct buf *b;
    bool explain;
};

/* An anomaly's paragraphs: explanation, suggestion, evidence. */
static void anomaly_notes(const struct pen *p, const struct tl_anomaly *a, const struct tl_conn *c)
{
    if (p->explain || a->severity < TL_SEV_WARNING) {
        struct tl_anomaly_text t;
        tl_anomaly_render_conn(a, c, &t);
        if (t.explanation[0] != '\0')
            wrap(p->b, "explanation", t.explanation);
        if (t.suggestion[0] != '\0')
            wrap(p->b, "suggestion", t.suggestion);
    }
    evidence(p->b, a);
}

/* "  error    close_wait_stuck  server  12:16:06.256319 (+5.198137 s)  packets 28 31" */
static void anomaly_lines(const struct pen *p, const struct tl_anomaly *a, const struct tl_conn *c)
{
    struct buf *b = p->b;
    int64_t t0 = c->first_ts;
    char clk[24], d[32];
    span_str(a->ts - t0, d);
    bput(b, "\n\t  ", 4);
    bpad(b, tl_sev_name((enum tl_sev)a->severity), 8, false);
    bput(b, " ", 1);
    bpad(b, tl_anomaly_id((enum tl_anomaly_type)a->type), 26, false);
    bput(b, " ", 1);
    bpad(b, tl_anom_ep_name((enum tl_anom_ep)a->endpoint), 10, false);
    bput(b, " ", 1);
    bstr(b, clock_str(a->ts, clk, sizeof clk));
    bstr(b, a->ts >= t0 ? " (+" : " (");
    bstr(b, d);
    bstr(b, " s)");
    for (uint8_t i = 0; i < a->npkts && i < TL_ANOM_MAX_PKTS; i++) {
        bstr(b, i == 0 ? "  packets " : " ");
        bu64(b, a->pkts[i], 0, false);
    }
    anomaly_notes(p, a, c);
}

static void ladder_line(void *ctx, const char *s)
{
    const struct pen *p = ctx;
    bput(p->b, "\n\t", 2);
    bstr(p->b, s);
}

static void ladder_notes(void *ctx, const struct tl_anomaly *a, const struct tl_conn *c)
{
    anomaly_notes(ctx, a, c);
}

/* "  in vxlan 42 between 192.0.2.1 and 192.0.2.2": the tunnel, its outer
 * addresses client side first. */
static void tunnel_words(struct buf *b, const struct tl_conn *c)
{
    const struct tl_tunnel *t = &c->tunnel;
    char oc[TL_ADDR_STRLEN], os[TL_ADDR_STRLEN];
    tl_addr_str(c->client_is_a ? &t->outer_src : &t->outer_dst, oc, sizeof oc);
    tl_addr_str(c->client_is_a ? &t->outer_dst : &t->outer_src, os, sizeof os);
    bstr(b, "  in ");
    bstr(b, tl_report_tunnel_name(t->type));
    if (t->has_id) {
        bput(b, " ", 1);
        bu64(b, t->id, 0, false);
    }
    bstr(b, " between ");
    bstr(b, oc);
    bstr(b, " and ");
    bstr(b, os);
}

/* Two names joined by sep, in out (size bytes; cut short to fit). */
static const char *joined(const char *a, char sep, const char *z, char *out, size_t size)
{
    size_t n = 0;
    for (const char *s = a; *s != '\0' && n + 1 < size; s++)
        out[n++] = *s;
    if (n + 1 < size)
        out[n++] = sep;
    for (const char *s = z; *s != '\0' && n + 1 < size; s++)
        out[n++] = *s;
    out[n] = '\0';
    return out;
}

/* The kind of a connection's trouble: a bit per type of its warnings and
 * errors. Among the worst connections listed a line each, one of each kind
 * is detailed: the others would repeat it. */
static uint64_t kind_of(const struct tl_conn_view *v)
{
    _Static_assert(TL_AN_NTYPES <= 64, "a bit per anomaly type");
    uint64_t kind = 0;
    for (size_t i = 0; v->anomalies != NULL && i < v->anomalies->n; i++)
        if (v->anomalies->a[i].severity >= TL_SEV_WARNING)
            kind |= UINT64_C(1) << (v->anomalies->a[i].type % 64);
    return kind;
}

static void anomaly_ids(struct buf *b, const struct tl_anomaly_list *l, uint8_t min_sev);

/* "      13  10.0.2.122:32768 -> 192.0.2.6:443   rst   CLOSED/CLOSED   refused": a
 * worst connection in one line (its warnings and errors by type). */
static void brief_line(struct buf *b, const struct tl_conn_view *v, const char *cl, const char *sv)
{
    const struct tl_conn *c = v->conn;
    char id[24], ends[2 * (TL_ADDR_STRLEN + 8) + 8];
    snprintf(ends, sizeof ends, "%s -> %s", cl, sv);
    u64_at(id, c->id);
    bpad(b, id, 8, true);
    bput(b, "  ", 2);
    bpad(b, ends, 46, false);
    bput(b, " ", 1);
    bpad(b, tl_end_name(c->end), 7, false);
    bput(b, " ", 1);
    char states[32] = "-";
    if (v->tcp != NULL)
        joined(tl_ep_state_name(v->tcp->ep[TL_ROLE_CLIENT].state), '/',
               tl_ep_state_name(v->tcp->ep[TL_ROLE_SERVER].state), states, sizeof states);
    bpad(b, states, 23, false);
    bput(b, " ", 1);
    anomaly_ids(b, v->anomalies, TL_SEV_WARNING);
}

/* The detail block: heading, anomalies worst first, timeline; or, with
 * --ladder, heading and ladder (report_ladder.c), anomalies keyed under it. */
static void detail_block(const struct pen *p, const struct tl_conn_view *v,
                         const struct report_rank *k, const struct tl_ladder_cfg *ladder)
{
    struct buf *b = p->b;
    const struct tl_conn *c = v->conn;
    char cl[TL_ADDR_STRLEN + 8], sv[TL_ADDR_STRLEN + 8];
    tl_report_endpoints(c, cl, sv, sizeof cl);
    bput(b, "\n\t#", 3);
    bu64(b, k->sev, 0, false);
    bput(b, " ", 1);
    bu64(b, k->n, 0, false);
    bput(b, " ", 1);
    bu64(b, c->id, 0, false);
    bprintf(b, " %" PRIx64 "\t", kind_of(v));
    brief_line(b, v, cl, sv);
    bstr(b, "\n\tconnection ");
    bu64(b, c->id, 0, false);
    bput(b, "  ", 2);
    bstr(b, cl);
    bstr(b, " -> ");
    bstr(b, sv);
    if (c->tunnel.type != TL_TUN_NONE)
        tunnel_words(b, c);
    bstr(b, "  end ");
    bstr(b, tl_end_name(c->end));
    if (v->tcp != NULL) {
        bstr(b, ", at end client ");
        bstr(b, tl_ep_state_name(v->tcp->ep[TL_ROLE_CLIENT].state));
        bstr(b, ", server ");
        bstr(b, tl_ep_state_name(v->tcp->ep[TL_ROLE_SERVER].state));
    }
    if (v->zeek != NULL) {
        bstr(b, ", zeek ");
        bstr(b, tl_zeek_conn_state(v->zeek));
        bput(b, " ", 1);
        bstr(b, tl_zeek_history(v->zeek));
    }
    if (ladder->on) {
        struct pen q = *p; /* the sink's context is not const */
        struct tl_ladder_sink out = {&q, ladder_line, ladder_notes};
        if (tl_report_ladder(v, ladder, &out) != TL_OK)
            b->failed = true;
        return;
    }
    for (int s = TL_SEV_NLEVELS - 1; s >= 0; s--)
        for (size_t i = 0; i < v->anomalies->n; i++)
            if (v->anomalies->a[i].severity == s)
                anomaly_lines(p, &v->anomalies->a[i], c);
    if (v->timeline != NULL)
        timeline_lines(b, v);
}

/* "port_reuse,time_wait" (each type of at least min_sev once, in list
 * order), or "-". */
static void anomaly_ids(struct buf *b, const struct tl_anomaly_list *l, uint8_t min_sev)
{
    bool any = false;
    for (size_t i = 0; l != NULL && i < l->n; i++) {
        bool dup = l->a[i].severity < min_sev;
        for (size_t j = 0; j < i && !dup; j++)
            dup = l->a[j].type == l->a[i].type && l->a[j].severity >= min_sev;
        if (!dup) {
            if (any)
                bpad(b, ",", 0, false);
            bpad(b, tl_anomaly_id((enum tl_anomaly_type)l->a[i].type), 0, false);
            any = true;
        }
    }
    if (!any)
        bpad(b, "-", 0, false);
}

/* A column: s padded to width, then sep. */
static void bcol(struct buf *b, const char *s, size_t width, bool right, const char *sep)
{
    bpad(b, s, width, right);
    bpad(b, sep, 0, false);
}

/* "    1  127.0.0.1:49468  127.0.0.1:8080  syn  2026-… 0.251547  6/5 …":
 * the row of the table, with the widths of its header. */
static void table_row(struct buf *b, const struct tl_conn_view *v)
{
    const struct tl_conn *c = v->conn;
    char cl[TL_ADDR_STRLEN + 8], sv[TL_ADDR_STRLEN + 8], start[40], pk[48], by[48], d[32];
    char id[24], states[32] = "-", zeek[TL_ZEEK_HISTORY_MAX + 16] = "-";
    tl_report_endpoints(c, cl, sv, sizeof cl);
    span_str(c->last_ts - c->first_ts, d);
    if (v->tcp != NULL)
        joined(tl_ep_state_name(v->tcp->ep[TL_ROLE_CLIENT].state), '/',
               tl_ep_state_name(v->tcp->ep[TL_ROLE_SERVER].state), states, sizeof states);
    if (v->zeek != NULL)
        joined(tl_zeek_conn_state(v->zeek), ' ', tl_zeek_history(v->zeek), zeek, sizeof zeek);
    u64_at(id, c->id);
    bcol(b, id, 5, true, "  ");
    bcol(b, cl, 22, false, " ");
    bcol(b, sv, 22, false, " ");
    bcol(b, tl_roles_from_name(c->roles_from), 6, false, " ");
    bcol(b, tl_report_utc(c->first_ts, start, sizeof start), 0, false, " ");
    bcol(b, d, 11, true, "  ");
    bcol(b, pair_str(c->packets[0], c->packets[1], pk), 11, false, " ");
    bcol(b, pair_str(c->bytes[0], c->bytes[1], by), 15, false, " ");
    bcol(b, tl_end_name(c->end), 7, false, " ");
    bcol(b, states, 23, false, " ");
    bcol(b, zeek, 16, false, " ");
    anomaly_ids(b, v->anomalies, TL_SEV_INFO);
}

/* Only a detail block prints explanations: the table names anomalies by
 * their id. A ladder is the connection's detail, so --ladder details every
 * one. */
static bool detailed(const struct tl_conn_view *v, const struct tl_report_cfg *cfg)
{
    if (cfg->all_details || cfg->ladder.on)
        return true;
    return v->anomalies != NULL && tl_anomaly_worst(v->anomalies) >= TL_SEV_WARNING;
}

static uint32_t top_n(const struct tl_report_cfg *cfg)
{
    return cfg->top != 0 ? cfg->top : TL_REPORT_TOP_DEFAULT;
}

/* Every listed connection's row and detail (--all, --connection). */
static bool everything(const struct tl_report_cfg *cfg) { return cfg->all || cfg->nonly != 0; }

static struct report_rank rank_of(const struct tl_conn_view *v)
{
    struct report_rank k = {v->conn->id, 0, 0};
    for (size_t i = 0; v->anomalies != NULL && i < v->anomalies->n; i++) {
        uint8_t sev = v->anomalies->a[i].severity;
        k.sev = sev > k.sev ? sev : k.sev;
        k.n += sev >= TL_SEV_WARNING;
    }
    return k;
}

/* Whether a ranks before (is worse than) b. */
static bool worse(const struct report_rank *a, const struct report_rank *b)
{
    if (a->sev != b->sev)
        return a->sev > b->sev;
    if (a->n != b->n)
        return a->n > b->n;
    return a->id < b->id;
}

static void rank_swap(struct report_rank *a, struct report_rank *b)
{
    struct report_rank t = *a;
    *a = *b;
    *b = t;
}

/* Whether k is among the top worst seen so far (the heap keeps them, the
 * least bad at its root): only those get their detail formatted. */
static enum tl_status rank_admit(struct tl_report *r, const struct report_rank *k, bool *in)
{
    struct report_rank *h = r->top;
    size_t n = r->ntop, max = top_n(&r->cfg);
    *in = false;
    if (n == max && !worse(k, &h[0]))
        return TL_OK;
    if (n < max) {
        if (n == r->captop) {
            size_t cap = r->captop ? r->captop * 2 : 32;
            if ((h = realloc(h, cap * sizeof *h)) == NULL)
                return TL_ENOMEM;
            r->top = h;
            r->captop = cap;
        }
        size_t i = r->ntop++;
        h[i] = *k;
        for (; i > 0 && worse(&h[(i - 1) / 2], &h[i]); i = (i - 1) / 2)
            rank_swap(&h[(i - 1) / 2], &h[i]);
    } else {
        h[0] = *k;
        for (size_t i = 0;;) {
            size_t l = 2 * i + 1, m = i;
            if (l < n && worse(&h[m], &h[l]))
                m = l;
            if (l + 1 < n && worse(&h[m], &h[l + 1]))
                m = l + 1;
            if (m == i)
                break;
            rank_swap(&h[i], &h[m]);
            i = m;
        }
    }
    *in = true;
    return TL_OK;
}

/*
 * A listed connection's spool entry: its table row while the table may
 * still be printed (every one with --all; else the first top N listed,
 * kept in case no more come), and its detail block when it is among the
 * worst seen so far. Nothing else is formatted, so no explanation is
 * worded for a connection nobody prints.
 */
static enum tl_status take(struct tl_report *r, const struct tl_conn_view *v, char **text,
                           size_t *len)
{
    const struct tl_report_cfg *cfg = &r->cfg;
    bool row = everything(cfg) || r->listed <= top_n(cfg), detail = false;
    struct report_rank k = rank_of(v);
    enum tl_status st = TL_OK;
    if (detailed(v, cfg)) {
        r->ranked++;
        if (everything(cfg))
            detail = true;
        else
            st = rank_admit(r, &k, &detail);
    }
    if (st != TL_OK || (!row && !detail))
        return st;
    struct buf b = {NULL, 0, 0, false};
    if (row)
        table_row(&b, v);
    if (detail) {
        struct pen p = {&b, everything(cfg)};
        detail_block(&p, v, &k, &cfg->ladder);
    }
    if (b.failed || b.s == NULL) {
        free(b.s);
        return TL_ENOMEM;
    }
    /* Without its row, the block starts the entry: no empty line before. */
    size_t skip = row ? 0 : 1;
    memmove(b.s, b.s + skip, b.len - skip + 1);
    *text = b.s;
    *len = b.len - skip;
    return TL_OK;
}

static bool write_inputs(const struct tl_run *run, FILE *out)
{
    bool ok = true;
    for (size_t i = 0; ok && i < run->ninputs; i++) {
        const struct tl_input_info *in = &run->inputs[i];
        if (in->status == TL_OK)
            ok = fprintf(out, "input    %s  %s  %" PRIu64 " packets\n", in->name,
                         in->linktype_name ? in->linktype_name : "?", in->packets) >= 0;
        else
            ok = fprintf(out, "input    %s  ERROR %s (%" PRIu64 " packets read)\n", in->name,
                         in->error, in->packets) >= 0;
    }
    return ok;
}

static bool write_capture(const struct tl_capture_info *cap, FILE *out)
{
    char a[40], b[40], d[32];
    span_str(cap->last_ts - cap->first_ts, d);
    bool ok = !cap->partial || fputs("PARTIAL  the read was interrupted: this report covers only"
                                     " the packets read before it\n",
                                     out) != EOF;
    if (ok && cap->packets > 0)
        ok = fprintf(out, "capture  %s → %s UTC (%s s)\n",
                     tl_report_utc(cap->first_ts, a, sizeof a),
                     tl_report_utc(cap->last_ts, b, sizeof b), d) >= 0;
    if (ok && cap->live)
        ok = fprintf(out,
                     "live     %" PRIu64 " received, %" PRIu64 " dropped by the kernel, %" PRIu64
                     " by the interface%s\n",
                     cap->live_received, cap->live_dropped, cap->live_if_dropped,
                     cap->live_dropped + cap->live_if_dropped > 0
                         ? "\n         WARNING: packets were lost before tcplens saw them: states"
                           " and anomalies\n         of connections active then may be wrong"
                         : "") >= 0;
    if (ok && cap->packets > 0 && cap->end_source != TL_CEND_LAST_PACKET) {
        span_str(cap->end_ts - cap->last_ts, d);
        ok = fprintf(out, "end      %s UTC, %s s after the last packet (%s)\n",
                     tl_report_utc(cap->end_ts, a, sizeof a), d,
                     tl_report_end_source(cap->end_source)) >= 0;
    }
    char fw[160];
    if (ok && cap->nfollow > 0)
        ok = fprintf(out, "follow   %s\n", tl_report_follow_words(cap, fw, sizeof fw)) >= 0;
    if (ok && cap->file_stats)
        ok = fprintf(out,
                     "file     %" PRIu64 " received, %" PRIu64 " dropped by the interface, %" PRIu64
                     " by the OS (pcapng statistics)%s\n",
                     cap->file_received, cap->file_if_dropped, cap->file_os_dropped,
                     cap->file_if_dropped + cap->file_os_dropped > 0
                         ? "\n         WARNING: packets were lost before they were written: "
                           "states and\n         anomalies of connections active then may be wrong"
                         : "") >= 0;
    uint64_t icmp = cap->icmp_matched + cap->icmp_unmatched;
    uint64_t skipped = cap->packets - cap->tcp_packets - icmp;
    ok = ok && fprintf(out, "packets  %" PRIu64 " read, %" PRIu64 " TCP, ", cap->packets,
                       cap->tcp_packets) >= 0;
    if (ok && icmp != 0)
        ok = fprintf(out, "%" PRIu64 " ICMP errors about TCP (%" PRIu64 " of no connection seen), ",
                     icmp, cap->icmp_unmatched) >= 0;
    ok = ok && fprintf(out, "%" PRIu64 " skipped", skipped) >= 0;
    const char *sep = " (";
    for (int i = 1; ok && i < TL_DEC_NRESULTS; i++) {
        if (cap->skipped[i] == 0)
            continue;
        ok = fprintf(out, "%s%s %" PRIu64, sep, tl_dec_name((enum tl_dec)i), cap->skipped[i]) >= 0;
        sep = ", ";
    }
    if (ok && sep[0] == ',')
        ok = fputc(')', out) != EOF;
    if (ok && cap->duplicates > 0)
        ok = fprintf(out,
                     "\nduplicates  %" PRIu64 " TCP frames were the capture's own copies of"
                     " a segment just seen (not events)",
                     cap->duplicates) >= 0;
    if (ok && cap->shard_count > 1)
        ok = fprintf(out,
                     "\nshard    %" PRIu32 " of %" PRIu32 ": %" PRIu64
                     " TCP packets belong to the other shards' connections",
                     cap->shard_index + 1, cap->shard_count, cap->shard_other_packets) >= 0;
    if (ok &&
        (cap->evicted_idle || cap->evicted_cap || cap->evicted_hosts || cap->evicted_tombstones))
        ok = fprintf(out, "\nevicted  %" PRIu64 " idle, %" PRIu64 " by --max-flows",
                     cap->evicted_idle, cap->evicted_cap) >= 0;
    /* Host-level detection then saw each of these hosts' connections in parts. */
    if (ok && cap->evicted_hosts)
        ok = fprintf(out, ", %" PRIu64 " host aggregates", cap->evicted_hosts) >= 0;
    if (ok && cap->evicted_tombstones)
        ok = fprintf(out, ", %" PRIu64 " tombstones", cap->evicted_tombstones) >= 0;
    if (ok && cap->late_segments)
        ok = fprintf(out,
                     "\nlate     %" PRIu64 " TCP segments reached connections already reported"
                     " (--linger): counted, not connections of their own",
                     cap->late_segments) >= 0;
    return ok && fputc('\n', out) != EOF;
}

static bool write_counts(const struct tl_report *r, FILE *out)
{
    const struct report_summary *sum = r->sum;
    bool ok = fprintf(out, "connections %" PRIu64, sum->connections) >= 0;
    const char *sep = ": ";
    for (int e = 0; ok && e < TL_END_NENDS; e++) {
        if (sum->ends[e] == 0)
            continue;
        ok = fprintf(out, "%s%" PRIu64 " %s", sep, sum->ends[e], tl_end_name((enum tl_end)e)) >= 0;
        sep = ", ";
    }
    if (ok && r->cfg.anomalies_only)
        ok = fprintf(out, "\nlisted   %" PRIu64 " with a warning or an error (--anomalies-only)",
                     r->listed) >= 0;
    if (ok && r->out_of_order > 0)
        ok = fprintf(out,
                     "\norder    %" PRIu64 " written after newer ones (too many waited for "
                     "an older one)",
                     r->out_of_order) >= 0;
    return ok && fputc('\n', out) != EOF;
}

/* Where a detail block is in the spool, and how it sorts. */
struct block_ref {
    struct report_rank k;
    uint64_t kind; /* kind_of() */
    uint64_t hoff; /* its header */
    uint64_t off;  /* its first line, after the header */
};

struct blocks {
    struct block_ref *v;
    size_t n, cap;
};

static bool blocks_add(struct blocks *bl, const char *header, uint64_t hoff, uint64_t off)
{
    unsigned sev, n;
    uint64_t id, kind;
    /* Only this file writes headers; one that does not parse is skipped. */
    if (sscanf(header, "\t#%u %u %" SCNu64 " %" SCNx64, &sev, &n, &id, &kind) != 4)
        return true;
    if (bl->n == bl->cap) {
        size_t cap = bl->cap ? bl->cap * 2 : 64;
        struct block_ref *v = realloc(bl->v, cap * sizeof *v);
        if (v == NULL)
            return false;
        bl->v = v;
        bl->cap = cap;
    }
    bl->v[bl->n++] = (struct block_ref){{id, n, (uint8_t)sev}, kind, hoff, off};
    return true;
}

/* Worst first; among equals, first seen first. */
static int block_order(const void *pa, const void *pb)
{
    const struct block_ref *a = pa, *b = pb;
    return worse(&a->k, &b->k) ? -1 : worse(&b->k, &a->k);
}

/* Copies the table rows out of the spool and indexes the detail blocks. */
static enum tl_status copy_rows(FILE *spool, FILE *out, bool rows, struct blocks *bl)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t pos = 0;
    enum tl_status st = TL_OK;
    while (st == TL_OK && (n = getline(&line, &cap, spool)) > 0) {
        pos += (uint64_t)n;
        if (line[0] != '\t' && rows && fputs(line, out) < 0)
            st = TL_EIO;
        else if (line[0] == '\t' && line[1] == '#' && !blocks_add(bl, line, pos - (uint64_t)n, pos))
            st = TL_ENOMEM;
    }
    free(line);
    if (st == TL_OK && ferror(spool))
        return TL_EIO;
    /* getline() also stops short of memory, with neither EOF nor an error
     * on the stream: the rest of the spool is still to come. */
    return st == TL_OK && !feof(spool) ? TL_ENOMEM : st;
}

/* Writes one detail block: its lines up to the next row or header. */
static enum tl_status copy_block(FILE *spool, FILE *out, uint64_t off)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = 0;
    bool ok = fseeko(spool, (off_t)off, SEEK_SET) == 0 && fputc('\n', out) != EOF;
    while (ok && (n = getline(&line, &cap, spool)) > 0 && line[0] == '\t' && line[1] != '#')
        ok = fputs(line + 1, out) >= 0;
    free(line);
    if (!ok || ferror(spool))
        return TL_EIO;
    /* As in copy_rows(): -1 before the end of the spool is memory. */
    return n < 0 && !feof(spool) ? TL_ENOMEM : TL_OK;
}

/* Whether the report is brief, the default when more connections have a
 * warning or an error than are detailed: the worst are listed a line each
 * with one of each kind detailed, and the groups explain each type in a
 * line of its own (the registry's) instead of its first connection's
 * worded paragraph. --top N, --all, --connection, --ladder and --timeline-full
 * detail every connection they show. */
static bool brief(const struct tl_report *r)
{
    const struct tl_report_cfg *cfg = &r->cfg;
    return cfg->top == 0 && !everything(cfg) && !cfg->ladder.on && !cfg->all_details &&
           r->ranked > top_n(cfg);
}

/* A block's line in the list of the worst: its header after the tab. */
static enum tl_status copy_brief(FILE *spool, FILE *out, uint64_t hoff)
{
    char *line = NULL;
    size_t cap = 0;
    if (fseeko(spool, (off_t)hoff, SEEK_SET) != 0)
        return TL_EIO;
    ssize_t n = getline(&line, &cap, spool);
    const char *t = n > 0 ? strchr(line, '\t') : NULL;
    t = t != NULL ? strchr(t + 1, '\t') : NULL;
    bool ok = t == NULL || fputs(t + 1, out) >= 0;
    free(line);
    if (!ok || ferror(spool))
        return TL_EIO;
    return n < 0 && !feof(spool) ? TL_ENOMEM : TL_OK;
}

/* Whether block i is the first of its kind among those before it. */
static bool first_of_kind(const struct blocks *bl, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (bl->v[j].kind == bl->v[i].kind)
            return false;
    return true;
}

/* The worst, a line each, then the first of each kind in detail. */
static enum tl_status write_brief(const struct blocks *bl, size_t shown, uint64_t n, FILE *spool,
                                  FILE *out)
{
    if (fprintf(out,
                "\nthe %zu worst of %" PRIu64
                " connections with a warning or an error, worst first,"
                " then the\nfirst of each kind in detail (--top N details N)\n%8s  %-46s"
                " %-7s %-23s %s\n",
                shown, n, "id", "client -> server", "end", "at end client/server",
                "warnings and errors") < 0)
        return TL_EIO;
    enum tl_status st = TL_OK;
    for (size_t i = 0; st == TL_OK && i < shown; i++)
        st = copy_brief(spool, out, bl->v[i].hoff);
    for (size_t i = 0; st == TL_OK && i < shown; i++)
        if (first_of_kind(bl, i))
            st = copy_block(spool, out, bl->v[i].off);
    return st;
}

/* The heading of the details: how many, of how many, in what order. */
static bool details_head(const struct tl_report *r, size_t shown, uint64_t n, FILE *out)
{
    const struct tl_report_cfg *cfg = &r->cfg;
    const char *what = cfg->all_details || cfg->ladder.on ? "listed" : "with a warning or an error";
    if (n == 0)
        return r->sum->connections == 0 ||
               fputs("\nno connection has a warning or an error\n", out) >= 0;
    if (shown == n)
        return fprintf(out, "\n%" PRIu64 " connection%s %s, worst first%s\n", n, n == 1 ? "" : "s",
                       cfg->all_details ? "in detail" : "with a warning or an error",
                       everything(cfg) || r->sum->groups.used == 0
                           ? ""
                           : " (the groups above explain their warnings and errors)") >= 0;
    return fprintf(out,
                   "\nthe %zu worst of %" PRIu64 " connections %s, worst first (--top N shows more;"
                   "\nthe groups above explain their warnings and errors)\n",
                   shown, n, what) >= 0;
}

/* The table (every listed connection's row, with --all or when there are
 * at most top N), then the detail blocks worst first: every one with
 * --all, else the top N. */
static enum tl_status write_connections(const struct tl_report *r, FILE *spool, FILE *out)
{
    struct blocks bl = {NULL, 0, 0};
    enum tl_status st = TL_OK;
    bool rows = everything(&r->cfg) || r->listed <= top_n(&r->cfg);
    if (r->listed > 0 && rows &&
        fprintf(out, "\n%5s  %-22s %-22s %-6s %-26s %11s  %-11s %-15s %-7s %-23s %-16s %s\n", "id",
                "client", "server", "roles", "start (UTC)", "duration", "pkts c/s", "bytes c/s",
                "end", "at end client/server", "zeek", "anomalies") < 0)
        st = TL_EIO;
    else if (r->listed > 0 && !rows &&
             fprintf(out,
                     "\nconnections  %" PRIu64 " listed: their table is left out (--all prints it,"
                     " --top N details more)\n",
                     r->listed) < 0)
        st = TL_EIO;
    if (st == TL_OK)
        st = copy_rows(spool, out, rows, &bl);
    if (bl.n > 1)
        qsort(bl.v, bl.n, sizeof *bl.v, block_order);
    /* Blocks were kept for every connection that was among the worst when
     * it came; the worst top N of them are the capture's. */
    size_t shown = everything(&r->cfg) || bl.n < top_n(&r->cfg) ? bl.n : top_n(&r->cfg);
    uint64_t candidates = bl.n;
    if (!everything(&r->cfg))
        candidates = r->ranked;
    if (st == TL_OK && brief(r)) {
        st = write_brief(&bl, shown, candidates, spool, out);
    } else {
        if (st == TL_OK && !details_head(r, shown, candidates, out))
            st = TL_EIO;
        for (size_t i = 0; st == TL_OK && i < shown; i++)
            st = copy_block(spool, out, bl.v[i].off);
    }
    free(bl.v);
    return st;
}

/* Services listed under each type by default; --anomalies-only and
 * --all list every group. */
#define GROUPS_SHOWN 2
#define GROUPS_BRIEF 1 /* in a brief report */
#define GROUP_INDENT 14

/* "192.0.2.6:80", "[2001:db8::1]:80", or a host-level group's "192.0.2.6". */
static const char *group_service(const struct report_group *e, char *buf, size_t size)
{
    if (e->addr.family == 0)
        snprintf(buf, size, "?");
    else if (e->port != 0)
        tl_report_endpoint(&e->addr, e->port, buf, size);
    else
        tl_addr_str(&e->addr, buf, size);
    return buf;
}

/* "00:00:01.203000 to 00:02:50.117000" (one time when they are equal). */
static void group_span(struct buf *b, int64_t first, int64_t last)
{
    char clk[24];
    bstr(b, clock_str(first, clk, sizeof clk));
    if (last != first) {
        bstr(b, " to ");
        bstr(b, clock_str(last, clk, sizeof clk));
    }
}

/* A type's heading and its one explanation and suggestion: when terse, the
 * type's own lines (the registry's); else its first connection's (or first
 * host's) worded texts, said to be so when it has others. */
static void group_type(struct buf *b, const struct report_groups *g, uint8_t type, bool terse)
{
    const struct report_group_type *t = &g->t[type];
    bstr(b, terse ? "\n" : "\n\n");
    bprintf(b, "%-8s %s  %" PRIu64 " connection%s", tl_sev_name((enum tl_sev)t->sev),
            tl_anomaly_id((enum tl_anomaly_type)type), t->conns, t->conns == 1 ? "" : "s");
    if (t->groups > 1)
        bprintf(b, " to %" PRIu64 " %s", t->groups, t->ex_h != NULL ? "hosts" : "services");
    bstr(b, ", ");
    group_span(b, t->first_ts, t->last_ts);
    if (terse) {
        wrap_label(b, 6, 4, "why", tl_anomaly_shows((enum tl_anomaly_type)type));
        wrap_label(b, 6, 4, "fix", tl_anomaly_check((enum tl_anomaly_type)type));
        if (t->ex_h != NULL) /* the figures of a host-level one: no detail has them */
            evidence_at(b, GROUP_INDENT, &t->ex_h->a);
        return;
    }
    struct tl_anomaly_text x;
    tl_report_group_text(t, &x);
    char label[64] = "";
    if (t->ex_h == NULL && t->conns > 1 && t->ex_id != 0)
        snprintf(label, sizeof label, "(Connection %" PRIu64 "'s, the first.) ", t->ex_id);
    else if (t->ex_h != NULL && t->groups > 1)
        snprintf(label, sizeof label, "(The first host's.) ");
    struct buf e = {NULL, 0, 0, false};
    bprintf(&e, "%s%s", label, x.explanation);
    if (e.failed)
        b->failed = true;
    else if (x.explanation[0] != '\0')
        wrap_at(b, GROUP_INDENT, "explanation", e.s);
    free(e.s);
    if (x.suggestion[0] != '\0')
        wrap_at(b, GROUP_INDENT, "suggestion", x.suggestion);
    /* A host-level anomaly has no connection detail to carry its figures. */
    if (t->ex_h != NULL)
        evidence_at(b, GROUP_INDENT, &t->ex_h->a);
}

/* A group's two lines: service, count, span, examples; the command. */
static void group_lines(struct buf *b, const struct report_group *e, const struct tl_run *run)
{
    char svc[TL_ADDR_STRLEN + 8], cmd[TL_REPORT_COMMAND_MAX];
    bstr(b, "\n  ");
    bpad(b, group_service(e, svc, sizeof svc), 24, false);
    bu64(b, e->n, 8, true);
    bstr(b, "  ");
    group_span(b, e->first_ts, e->last_ts);
    for (uint8_t i = 0; i < e->nex; i++) {
        bstr(b, i == 0 ? "  e.g. " : " ");
        bu64(b, e->ex[i], 0, false);
    }
    const char *c = tl_report_group_command(e, run, cmd, sizeof cmd);
    if (c[0] != '\0' && !run->capture->live) {
        bstr(b, "\n      ");
        bstr(b, c);
    }
}

/* "  … 184 more services, 14600 connections (...)" */
static void groups_left(struct buf *b, const struct report_groups *g, uint8_t type, uint64_t n,
                        uint64_t conns, bool terse)
{
    const struct report_group_type *t = &g->t[type];
    const char *what = t->ex_h != NULL ? (n == 1 ? "host" : "hosts")
                                       : (n == 1 ? "service" : "services");
    if (n > 0 && !terse) /* when terse, the type's heading counts them */
        bprintf(b,
                "\n  … %" PRIu64 " more %s, %" PRIu64 " connection%s (--anomalies-only lists %s)",
                n, what, conns, conns == 1 ? "" : "s", n == 1 ? "it" : "them");
    if (t->left_out > 0)
        bprintf(b, "\n  … %" PRIu64 " connections whose service was not kept (more than %u groups)",
                t->left_out, TL_REPORT_GROUPS_MAX);
}

/* The anomaly groups, worst type first: each type's explanation once, then
 * its services, the biggest first. */
static void write_group_text(struct buf *b, const struct tl_report *r, const struct tl_run *run,
                             const struct report_group **v, size_t n)
{
    const struct report_groups *g = &r->sum->groups;
    /* --connection asks for its connections, not for every group. */
    bool terse = !r->cfg.anomalies_only && brief(r);
    size_t shown_max = r->cfg.anomalies_only || r->cfg.all ? SIZE_MAX
                       : terse                             ? GROUPS_BRIEF
                                                           : GROUPS_SHOWN;
    bprintf(b,
            "\nanomaly groups  %zu: warnings and errors by type and service (the server's"
            "\naddress:port, the host for host-level types), worst first%s",
            n,
            terse ? "; the biggest of each type\n(--anomalies-only lists every group, "
                    "its type explained by its first connection)\n"
                  : "");
    for (size_t i = 0; i < n;) {
        uint8_t type = v[i]->type;
        group_type(b, g, type, terse);
        uint64_t more = 0, conns = 0;
        size_t shown = 0;
        for (; i < n && v[i]->type == type; i++) {
            if (shown++ < shown_max) {
                group_lines(b, v[i], run);
            } else {
                more++;
                conns += v[i]->n;
            }
        }
        groups_left(b, g, type, more, conns, terse);
    }
}

static enum tl_status write_groups(const struct tl_report *r, const struct tl_run *run, FILE *out)
{
    size_t n;
    const struct report_group **v = tl_report_groups_sorted(&r->sum->groups, &n);
    if (v == NULL)
        return TL_ENOMEM;
    if (n == 0) {
        free(v);
        return TL_OK;
    }
    struct buf b = {NULL, 0, 0, false};
    write_group_text(&b, r, run, v, n);
    free(v);
    if (b.failed) { /* the text could not grow: nothing written yet */
        free(b.s);
        return TL_ENOMEM;
    }
    bool ok = true;
    /* The paragraphs carry the spool's tab marks; plain lines here. */
    for (size_t i = 0; ok && i < b.len; i++)
        if (b.s[i] != '\t')
            ok = fputc(b.s[i], out) != EOF;
    free(b.s);
    return ok && fputc('\n', out) != EOF ? TL_OK : TL_EIO;
}

static enum tl_status write_doc(const struct tl_report *r, const struct tl_run *run, FILE *spool)
{
    FILE *out = r->cfg.out;
    bool ok = write_inputs(run, out) && write_capture(run->capture, out) && write_counts(r, out) &&
              tl_report_text_summary(r->sum, run->capture, out);
    enum tl_status st = ok ? write_groups(r, run, out) : TL_EIO;
    /* The top services, between the groups and the connections. */
    if (st == TL_OK && !tl_report_text_services(r->sum, out))
        st = TL_EIO;
    return st == TL_OK ? write_connections(r, spool, out) : st;
}

const struct report_ops tl_report_text_ops = {NULL, write_doc, take};
