/*
 * The ladder view (--ladder): a connection drawn as the sequence diagram
 * of a TCP textbook. Time runs down. Each segment is an arrow from the
 * sender's lifeline to the receiver's, labelled with its flags and the
 * timeline's relative seq, ack and length. Each endpoint's state is written
 * beside its lifeline on the rows where it changes, so a blank reads as
 * "still in that state":
 *
 *         +s    pkt  client 127.0.0.1:38978                            server 127.0.0.1:8082
 *   0.000000     14  SYN_SENT    |--- S seq=0 len=0 ---------------->| LISTEN
 *   0.000018     15              |<-- SA seq=0 ack=1 len=0 ----------| SYN_RECV
 *   0.000033     16  ESTABLISHED |--- A seq=1 ack=1 len=0 ---------->| ESTABLISHED
 *   0.051046  17-18              :   2 segments: 43 B c>s, 0 B s>c   :
 *   0.151419     19  CLOSED      |<-- RA seq=1 ack=44 len=0 ---------| CLOSED      [1]
 *
 * Data folded by the lifecycle timeline takes one row between dotted
 * lifelines; a timer event (TIME_WAIT over, SYN given up) one row without
 * an arrow. An anomaly is marked [n] on the row of the packet that proves
 * it (at its time, one of its packets); one proven by time passing gets a
 * row of its own at that time. The key under the ladder lists them in the
 * order they are marked.
 *
 * Column widths are worked out per connection from what its rows hold, so
 * that arrows line up; a typical ladder fits in 100 columns.
 */
#include "report_ladder.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"

#define LINE_CAP 2048  /* longest line; a piece that does not fit is left out */
#define STATE_W 11     /* "ESTABLISHED" */
#define ROW_TARGET 80  /* arrows widen until a row is this wide; notes follow */
#define ROW_MAX 100    /* ... and narrow for notes, down to what labels need */
#define LABEL_AT 4     /* where a label starts between the lifelines */
#define TYPE_W 22      /* "stalled_retransmission" */
#define KEY_NOTE_AT 13 /* the labels of an anomaly's notes (report_text.c) */

/* SGR sequences (ECMA-48): written only when colour is on. */
#define SGR_RESET "\033[0m"
#define SGR_BOLD "\033[1m"
#define SGR_DIM "\033[2m"
#define SGR_RED "\033[31m"
#define SGR_GREEN "\033[32m"
#define SGR_YELLOW "\033[33m"
#define SGR_BLUE "\033[34m"
#define SGR_MAGENTA "\033[35m"
#define SGR_CYAN "\033[36m"

struct glyphs {
    const char *life, *gap, *shaft, *head_r, *head_l, *dots, *c2s, *s2c;
};

static const struct glyphs ascii_glyphs = {"|", ":", "-", ">", "<", "...", "c>s", "s>c"};
static const struct glyphs unicode_glyphs = {"\u2502", "\u2506", "\u2500",   "\u25b6",
                                             "\u25c0", "\u2026", "c\u2192s", "s\u2192c"};

/* An anomaly's place: on timeline entry row, or (between) on a row of its
 * own before that entry, row == n meaning after the last. */
struct mark {
    size_t row;
    bool between;
    int64_t ts;
    size_t anom; /* index in the anomaly list */
};

struct ladder {
    const struct tl_conn_view *v;
    const struct tl_ladder_cfg *cfg;
    const struct tl_ladder_sink *out;
    const struct glyphs *g;
    const struct tl_timeline *tl; /* NULL: none */
    const struct tl_event *ev;    /* its entries (NULL: none) */
    size_t n;
    int64_t t0;
    int tw, pw, w; /* widths: time, packet, between the lifelines */
    struct mark *marks;
    size_t nmarks;
    int mark_w;  /* "[12]" */
    int prev[2]; /* states on the row before, -1 before the first */
};

/* A line being built, with its width in columns: escape sequences and
 * UTF-8 continuation bytes take none (every glyph used is one column). */
struct line {
    char s[LINE_CAP];
    size_t len, cols;
};

static size_t text_cols(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static void put(struct line *l, const char *s)
{
    size_t n = strlen(s);
    if (l->len + n >= LINE_CAP)
        return;
    memcpy(l->s + l->len, s, n + 1);
    l->len += n;
    l->cols += text_cols(s);
}

static TL_PRINTF(2, 3) void putf(struct line *l, const char *fmt, ...)
{
    char tmp[LINE_CAP];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n >= 0)
        put(l, tmp);
}

static void repeat(struct line *l, const char *glyph, int n)
{
    for (int i = 0; i < n; i++)
        put(l, glyph);
}

static void pad_to(struct line *l, size_t col)
{
    while (l->cols < col && l->len + 1 < LINE_CAP)
        put(l, " ");
}

/* An escape sequence: no columns, and nothing at all without colour. */
static void sgr(struct line *l, const struct ladder *x, const char *code)
{
    if (!x->cfg->color || code[0] == '\0' || l->len + strlen(code) >= LINE_CAP)
        return;
    memcpy(l->s + l->len, code, strlen(code) + 1);
    l->len += strlen(code);
}

/* text in colour code (none when ""), then back to plain. */
static void paint(struct line *l, const struct ladder *x, const char *code, const char *text)
{
    sgr(l, x, code);
    put(l, text);
    if (code[0] != '\0')
        sgr(l, x, SGR_RESET);
}

/* Hands the line out without its trailing blanks. */
static void emit(const struct ladder *x, struct line *l)
{
    while (l->len > 0 && l->s[l->len - 1] == ' ')
        l->len--;
    l->s[l->len] = '\0';
    x->out->line(x->out->ctx, l->s);
    l->len = l->cols = 0;
    l->s[0] = '\0';
}

/* "0.000011" since the first packet (sign kept for clocks that step back). */
static int rel_time(int64_t d, char *out, size_t size)
{
    const char *sign = d < 0 ? "-" : "";
    uint64_t u = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
    return snprintf(out, size, "%s%" PRIu64 ".%06" PRIu64, sign, u / 1000000u, u % 1000000u);
}

/* States as colour groups: opening, open, closing, the one an
 * application must end (CLOSE_WAIT), gone. Always bold: a state is only
 * written where it changes. */
static const char *state_sgr(unsigned s)
{
    switch (s) {
    case TL_EP_LISTEN:
    case TL_EP_SYN_SENT:
    case TL_EP_SYN_RECV: return SGR_BOLD SGR_YELLOW;
    case TL_EP_ESTABLISHED: return SGR_BOLD SGR_GREEN;
    case TL_EP_CLOSE_WAIT: return SGR_BOLD SGR_MAGENTA;
    case TL_EP_FIN_WAIT_1:
    case TL_EP_FIN_WAIT_2:
    case TL_EP_CLOSING:
    case TL_EP_LAST_ACK:
    case TL_EP_TIME_WAIT: return SGR_BOLD SGR_BLUE;
    case TL_EP_CLOSED: return SGR_BOLD;
    default: return SGR_DIM;
    }
}

/* The flag that matters most on a segment: RST, then FIN, then SYN. */
static const char *flags_sgr(uint8_t f)
{
    if (f & TL_TH_RST)
        return SGR_RED;
    if (f & TL_TH_FIN)
        return SGR_BLUE;
    if (f & TL_TH_SYN)
        return SGR_GREEN;
    return "";
}

static const char *sev_sgr(unsigned sev)
{
    return sev == TL_SEV_ERROR ? SGR_BOLD SGR_RED : sev == TL_SEV_WARNING ? SGR_YELLOW : SGR_CYAN;
}

/* ---- what the rows say ---- */

/* "SA", and " seq=0 ack=1 len=0" (no ack= without ACK, as tcpdump), with
 * " win=0" when the sender's window is closed (an RST's window means
 * nothing). */
static void label(const struct tl_event *e, char *flags, size_t fsize, char *nums, size_t nsize)
{
    if (tl_event_is_icmp(e)) {
        snprintf(flags, fsize, "ICMP");
        snprintf(nums, nsize, " type=%u code=%u seq=%" PRIu32, tl_event_icmp_type(e),
                 tl_event_icmp_code(e), e->seq);
        return;
    }
    tl_tcp_flags_str(e->flags, flags, fsize);
    if (flags[0] == '\0')
        snprintf(flags, fsize, "none");
    int n;
    if (e->flags & TL_TH_ACK)
        n = snprintf(nums, nsize, " seq=%" PRIu32 " ack=%" PRIu32 " len=%" PRIu32, e->seq, e->ack,
                     e->len);
    else
        n = snprintf(nums, nsize, " seq=%" PRIu32 " len=%" PRIu32, e->seq, e->len);
    if (e->win == 0 && !(e->flags & TL_TH_RST) && n > 0 && (size_t)n < nsize)
        snprintf(nums + n, nsize - (size_t)n, " win=0");
}

/* "43 B", "4.4 kB", "61 kB", "12 MB" (decimal units). */
static void human_bytes(uint64_t n, char *out, size_t size)
{
    static const char *const units[] = {"kB", "MB", "GB", "TB", "PB", "EB"};
    if (n < 1000) {
        snprintf(out, size, "%" PRIu64 " B", n);
        return;
    }
    double v = (double)n / 1000;
    size_t u = 0;
    while (v >= 999.5 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1000;
        u++;
    }
    snprintf(out, size, v < 9.95 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

/* "2 segments: 43 B c>s, 0 B s>c" */
static void summary_text(const struct ladder *x, const struct tl_event *e, char *out, size_t size)
{
    const struct tl_sum *sum = tl_timeline_sum(x->tl, e);
    uint64_t segs = (uint64_t)sum->packets[0] + sum->packets[1];
    int n = snprintf(out, size, "%" PRIu64 " segment%s:", segs, segs == 1 ? "" : "s");
    const char *sep = " ";
    for (int d = 0; d < 2 && n > 0 && (size_t)n < size; d++) {
        if (sum->packets[d] == 0)
            continue;
        char b[32];
        human_bytes(sum->bytes[d], b, sizeof b);
        n += snprintf(out + n, size - (size_t)n, "%s%s %s", sep, b,
                      d == TL_TL_C2S ? x->g->c2s : x->g->s2c);
        sep = ", ";
    }
}

/* Events that happen without a packet: what the timer did. */
static const char *timer_text(uint8_t kind)
{
    switch (kind) {
    case TL_K_TIME_WAIT_END: return "(TIME_WAIT over after 60 s)";
    case TL_K_SYN_TIMEOUT: return "(client stops retrying its SYN)";
    case TL_K_SYNACK_TIMEOUT: return "(server stops retrying its SYN-ACK)";
    case TL_K_REUSED: return "(a new connection takes the 4-tuple)";
    default: return tl_evkind_name((enum tl_evkind)kind);
    }
}

/* The event kinds that flags and states do not already tell. */
static bool kind_noted(uint8_t kind)
{
    switch (kind) {
    case TL_K_SYN:
    case TL_K_SYNACK:
    case TL_K_HANDSHAKE_ACK:
    case TL_K_DATA:
    case TL_K_ACK:
    case TL_K_FIN:
    case TL_K_FIN_ACK:
    case TL_K_RST:
    case TL_TL_SUMMARY: return false;
    default: return true;
    }
}

/* ---- where anomalies go ---- */

static bool proves(const struct tl_anomaly *a, uint64_t lo, uint64_t hi)
{
    for (uint8_t i = 0; i < a->npkts && i < TL_ANOM_MAX_PKTS; i++)
        if (a->pkts[i] >= lo && a->pkts[i] <= hi)
            return true;
    return false;
}

/* The entry of a packet of a's taken at a's time (or a summary that folded
 * one, around that time); else any entry at that time; else a row of its
 * own before the first later entry. */
static void place(const struct ladder *x, const struct tl_anomaly *a, struct mark *m)
{
    const struct tl_event *ev = x->ev;
    size_t n = x->n;
    m->ts = a->ts;
    m->between = false;
    for (size_t i = 0; i < n; i++) {
        const struct tl_event *e = &ev[i];
        bool sum = e->kind == TL_TL_SUMMARY;
        uint64_t hi = sum ? tl_timeline_sum(x->tl, e)->last_pkt : e->pkt;
        int64_t until = sum ? tl_timeline_sum(x->tl, e)->last_ts : e->ts;
        if (e->pkt != 0 && a->ts >= e->ts && a->ts <= until && proves(a, e->pkt, hi)) {
            m->row = i;
            return;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (ev[i].ts == a->ts) {
            m->row = i;
            return;
        }
    m->row = 0;
    while (m->row < n && ev[m->row].ts <= a->ts)
        m->row++;
    m->between = true;
}

/* Top to bottom: by row, a row of its own before the entry's, by time,
 * then in the detectors' order. */
static int mark_order(const void *pa, const void *pb)
{
    const struct mark *a = pa, *b = pb;
    if (a->row != b->row)
        return a->row < b->row ? -1 : 1;
    if (a->between != b->between)
        return a->between ? -1 : 1;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return a->anom < b->anom ? -1 : a->anom > b->anom;
}

static bool place_all(struct ladder *x)
{
    const struct tl_anomaly_list *l = x->v->anomalies;
    if (l == NULL || l->n == 0)
        return true;
    x->marks = malloc(l->n * sizeof *x->marks);
    if (x->marks == NULL)
        return false;
    for (size_t i = 0; i < l->n; i++) {
        place(x, &l->a[i], &x->marks[i]);
        x->marks[i].anom = i;
    }
    qsort(x->marks, l->n, sizeof *x->marks, mark_order);
    x->nmarks = l->n;
    char b[32];
    x->mark_w = snprintf(b, sizeof b, "[%zu]", l->n);
    return true;
}

/* ---- layout ---- */

static int pkt_text(const struct ladder *x, const struct tl_event *e, char *out, size_t size)
{
    if (e->pkt == 0)
        return snprintf(out, size, "%s", "");
    uint64_t last = tl_timeline_sum(x->tl, e)->last_pkt;
    if (e->kind == TL_TL_SUMMARY && last > e->pkt)
        return snprintf(out, size, "%" PRIu64 "-%" PRIu64, e->pkt, last);
    return snprintf(out, size, "%" PRIu64, e->pkt);
}

/* Columns entry e needs between the lifelines. */
static int inner_need(const struct ladder *x, const struct tl_event *e)
{
    char a[LINE_CAP / 4], b[LINE_CAP / 4];
    if (e->kind == TL_TL_SUMMARY) {
        summary_text(x, e, a, sizeof a);
        return (int)text_cols(a) + 2;
    }
    if (e->dir == TL_TL_NONE)
        return (int)text_cols(timer_text(e->kind)) + 2;
    label(e, a, sizeof a, b, sizeof b);
    /* shaft, a blank each side of the label, at least one more shaft, head */
    return (int)(strlen(a) + strlen(b)) + LABEL_AT + 3;
}

/* Where the client's lifeline is. */
static size_t life_col(const struct ladder *x)
{
    return (size_t)(2 + x->tw + 2 + x->pw + 2 + STATE_W + 1);
}

/* ---- rows ---- */

/* The time and packet columns. */
static void row_start(struct line *l, const struct ladder *x, int64_t ts, const char *pkt)
{
    char t[64];
    rel_time(ts - x->t0, t, sizeof t);
    putf(l, "  %*s  %*s  ", x->tw, t, x->pw, pkt);
}

/* An endpoint's state where it changed (or passed through another within
 * the event), blank where it did not. */
static void state_cell(struct line *l, const struct ladder *x, enum tl_role r,
                       const struct tl_event *e)
{
    size_t end = l->cols + STATE_W;
    unsigned s = r == TL_ROLE_CLIENT ? e->client : e->server;
    if ((int)s != x->prev[r] || e->via[r][0] != 0)
        paint(l, x, state_sgr(s), tl_ep_state_name((enum tl_ep_state)s));
    pad_to(l, end);
}

/* |--- SA seq=0 ack=1 len=0 ---->|, or from the right |<-- ... ----|; the
 * label at the same place both ways so that the numbers line up. */
static void arrow(struct line *l, const struct ladder *x, const struct tl_event *e)
{
    char flags[16], nums[96];
    label(e, flags, sizeof flags, nums, sizeof nums);
    const char *c = flags_sgr(e->flags);
    bool right = e->dir == TL_TL_C2S;
    int rest = x->w - LABEL_AT - (int)(strlen(flags) + strlen(nums)) - 1;
    sgr(l, x, c);
    if (!right)
        put(l, x->g->head_l);
    repeat(l, x->g->shaft, right ? LABEL_AT - 1 : LABEL_AT - 2);
    put(l, " ");
    sgr(l, x, SGR_BOLD);
    put(l, flags);
    sgr(l, x, SGR_RESET);
    put(l, nums);
    put(l, " ");
    sgr(l, x, c);
    repeat(l, x->g->shaft, right ? rest - 1 : rest);
    if (right)
        put(l, x->g->head_r);
    if (c[0] != '\0')
        sgr(l, x, SGR_RESET);
}

/* Text centred between the lifelines, for rows without an arrow. */
static void centred(struct line *l, const struct ladder *x, const char *code, const char *text)
{
    size_t start = l->cols, n = text_cols(text), w = (size_t)x->w;
    pad_to(l, start + (w > n ? (w - n) / 2 : 0));
    paint(l, x, code, text);
    pad_to(l, start + w);
}

/* " [1] [2]": the marks of anomalies from..to-1, in their severity's colour. */
static void marks_note(struct line *l, const struct ladder *x, size_t from, size_t to)
{
    for (size_t m = from; m < to; m++) {
        char b[32];
        snprintf(b, sizeof b, "[%zu]", m + 1);
        put(l, " ");
        paint(l, x, sev_sgr(x->v->anomalies->a[x->marks[m].anom].severity), b);
    }
}

/* After the server's state: what flags and states do not tell, then marks. */
static void entry_note(struct line *l, const struct ladder *x, const struct tl_event *e,
                       size_t from, size_t to)
{
    if (e->dir != TL_TL_NONE && kind_noted(e->kind))
        putf(l, " %s", tl_evkind_name((enum tl_evkind)e->kind));
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < 2 && e->via[r][i] != 0; i++)
            putf(l, " %s via %s", r == TL_ROLE_CLIENT ? "client" : "server",
                 tl_ep_state_name((enum tl_ep_state)e->via[r][i]));
    marks_note(l, x, from, to);
}

/* The marks drawn on entry i are [*m, returned): *m moves past those of
 * earlier rows and of the rows of their own before it. */
static size_t marks_on(const struct ladder *x, size_t i, size_t *m)
{
    while (*m < x->nmarks &&
           (x->marks[*m].row < i || (x->marks[*m].row == i && x->marks[*m].between)))
        (*m)++;
    size_t end = *m;
    while (end < x->nmarks && x->marks[end].row == i)
        end++;
    return end;
}

/* Column widths: time and packet as wide as their widest entry; the space
 * between the lifelines as wide as ROW_TARGET allows, narrower when notes
 * would pass ROW_MAX, never narrower than the widest label. */
static void measure(struct ladder *x)
{
    char b[64];
    int need = (int)text_cols("(no packet)") + 2, note = 0;
    size_t m = 0;
    x->tw = 2; /* "+s" */
    x->pw = 3; /* "pkt" */
    for (size_t i = 0; i < x->n; i++) {
        const struct tl_event *e = &x->ev[i];
        int k = rel_time(e->ts - x->t0, b, sizeof b);
        x->tw = k > x->tw ? k : x->tw;
        k = pkt_text(x, e, b, sizeof b);
        x->pw = k > x->pw ? k : x->pw;
        k = inner_need(x, e);
        need = k > need ? k : need;
        struct line l = {.len = 0};
        size_t end = marks_on(x, i, &m);
        entry_note(&l, x, e, m, end);
        note = (int)l.cols > note ? (int)l.cols : note;
        m = end;
    }
    for (size_t i = 0; i < x->nmarks; i++) {
        int k = rel_time(x->marks[i].ts - x->t0, b, sizeof b);
        x->tw = k > x->tw ? k : x->tw;
    }
    int fixed = 2 + x->tw + 2 + x->pw + 2 + STATE_W + 1 + 2 + 1 + STATE_W;
    x->w = ROW_TARGET - fixed;
    if (fixed + x->w + note > ROW_MAX)
        x->w = ROW_MAX - fixed - note;
    if (x->w < need)
        x->w = need;
}

static void entry_row(struct ladder *x, const struct tl_event *e, size_t from, size_t to)
{
    struct line l = {.len = 0};
    char pkt[48], text[LINE_CAP / 4];
    pkt_text(x, e, pkt, sizeof pkt);
    row_start(&l, x, e->ts, pkt);
    state_cell(&l, x, TL_ROLE_CLIENT, e);
    /* Folded segments: dotted lifelines, as a diagram shows time passing. */
    const char *life = e->kind == TL_TL_SUMMARY ? x->g->gap : x->g->life;
    put(&l, " ");
    put(&l, life);
    if (e->kind == TL_TL_SUMMARY) {
        summary_text(x, e, text, sizeof text);
        centred(&l, x, SGR_DIM, text);
    } else if (e->dir == TL_TL_NONE) {
        centred(&l, x, "", timer_text(e->kind));
    } else {
        arrow(&l, x, e);
    }
    put(&l, life);
    put(&l, " ");
    state_cell(&l, x, TL_ROLE_SERVER, e);
    entry_note(&l, x, e, from, to);
    x->prev[TL_ROLE_CLIENT] = e->client;
    x->prev[TL_ROLE_SERVER] = e->server;
    emit(x, &l);
}

/* A row for anomalies proven at a time without a packet (a threshold
 * passed, the capture ended), or after the entries --timeline-max kept. */
static void between_row(struct ladder *x, size_t from, size_t to)
{
    struct line l = {.len = 0};
    bool cut = x->marks[from].row == x->n && x->v->timeline != NULL && x->v->timeline->dropped > 0;
    row_start(&l, x, x->marks[from].ts, "");
    pad_to(&l, life_col(x));
    put(&l, x->g->life);
    centred(&l, x, SGR_DIM, cut ? "(not kept)" : "(no packet)");
    put(&l, x->g->life);
    pad_to(&l, life_col(x) + (size_t)x->w + 3 + STATE_W);
    marks_note(&l, x, from, to);
    emit(x, &l);
}

/* "+s pkt client 10.0.0.1:5000 ... server 10.0.0.2:80", each endpoint over
 * its state column. */
static void heading(const struct ladder *x)
{
    struct line l = {.len = 0};
    char cl[TL_ADDR_STRLEN + 8], sv[TL_ADDR_STRLEN + 8];
    tl_report_endpoints(x->v->conn, cl, sv, sizeof cl);
    putf(&l, "  %*s  %*s  client %s ", x->tw, "+s", x->pw, "pkt", cl);
    pad_to(&l, life_col(x) + (size_t)x->w + 3); /* the server's state column */
    putf(&l, "server %s", sv);
    emit(x, &l);
}

static void rows(struct ladder *x)
{
    struct line l = {.len = 0};
    size_t m = 0;
    for (size_t i = 0; i <= x->n; i++) {
        if (i == x->n && x->n == 0)
            putf(&l, "  (no timeline entries)");
        else if (i == x->n && x->v->timeline->dropped > 0)
            putf(&l, "  %s %" PRIu64 " more entries not kept (--timeline-max)", x->g->dots,
                 x->v->timeline->dropped);
        if (l.len > 0)
            emit(x, &l);
        while (m < x->nmarks && x->marks[m].row == i && x->marks[m].between) {
            size_t end = m + 1;
            while (end < x->nmarks && x->marks[end].row == i && x->marks[end].between &&
                   x->marks[end].ts == x->marks[m].ts)
                end++;
            between_row(x, m, end);
            m = end;
        }
        if (i == x->n)
            break;
        size_t end = m;
        while (end < x->nmarks && x->marks[end].row == i)
            end++;
        entry_row(x, &x->ev[i], m, end);
        m = end;
    }
}

/* "12:15:59.990651": the time of day (UTC) of a µs timestamp. */
static const char *clock_of(int64_t ts, char *buf, size_t size)
{
    tl_report_utc(ts, buf, size);
    return strlen(buf) > 11 ? buf + 11 : buf;
}

/* Under the ladder, each mark's anomaly: "[1] error refused server
 * 12:15:59.990651 (+0.000011 s)  packets 12 13", then its notes. */
static void key(const struct ladder *x)
{
    for (size_t m = 0; m < x->nmarks; m++) {
        const struct tl_anomaly *a = &x->v->anomalies->a[x->marks[m].anom];
        const char *c = sev_sgr(a->severity);
        struct line l = {.len = 0};
        char mk[32], clk[48], d[48];
        snprintf(mk, sizeof mk, "[%zu]", m + 1);
        put(&l, "  ");
        paint(&l, x, c, mk);
        pad_to(&l, 2 + (size_t)x->mark_w + 1);
        paint(&l, x, c, tl_sev_name((enum tl_sev)a->severity));
        pad_to(&l, 2 + (size_t)x->mark_w + 1 + 8 + 1);
        rel_time(a->ts - x->t0, d, sizeof d);
        putf(&l, "%-*s %-10s %s (%s%s s)", TYPE_W, tl_anomaly_id((enum tl_anomaly_type)a->type),
             tl_anom_ep_name((enum tl_anom_ep)a->endpoint), clock_of(a->ts, clk, sizeof clk),
             a->ts >= x->t0 ? "+" : "", d);
        struct line p = {.len = 0};
        for (uint8_t i = 0; i < a->npkts && i < TL_ANOM_MAX_PKTS; i++)
            putf(&p, " %" PRIu64, a->pkts[i]);
        /* A long list goes under the line, as the notes do. */
        if (p.len > 0 && l.cols + 9 + p.cols <= ROW_MAX) {
            putf(&l, "  packets%s", p.s);
        } else if (p.len > 0) {
            emit(x, &l);
            putf(&l, "%*s%-12s%s", KEY_NOTE_AT, "", "packets", p.s);
        }
        emit(x, &l);
        x->out->notes(x->out->ctx, a, x->v->conn);
    }
}

enum tl_status tl_report_ladder(const struct tl_conn_view *v, const struct tl_ladder_cfg *cfg,
                                const struct tl_ladder_sink *out)
{
    struct ladder x = {.v = v,
                       .cfg = cfg,
                       .out = out,
                       .g = cfg->unicode ? &unicode_glyphs : &ascii_glyphs,
                       .t0 = v->conn->first_ts,
                       .prev = {-1, -1}};
    if (v->timeline != NULL) {
        x.tl = v->timeline;
        x.ev = v->timeline->ev;
        x.n = v->timeline->n;
    }
    if (!place_all(&x))
        return TL_ENOMEM;
    measure(&x);
    heading(&x);
    rows(&x);
    key(&x);
    free(x.marks);
    return TL_OK;
}
