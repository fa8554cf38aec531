/* The ladder (src/report_ladder.c) on hand-made timelines: what captures
 * rarely hold (wide sequence numbers, flagless segments, timer rows,
 * anomalies before the first packet or after the kept entries, byte
 * units), columns that line up, and colour only when asked. */
#include <stdlib.h>
#include <string.h>

#include "report_ladder.h"
#include "tap.h"
#include "tcplens/report.h"

#define T0 (INT64_C(1700000000) * TL_USEC_PER_SEC)
#define MAX_LINES 64

/* What the sink received. */
struct got {
    char *line[MAX_LINES];
    size_t n;
    uint8_t notes[MAX_LINES]; /* anomaly types given to notes(), in order */
    size_t nnotes;
};

static void got_line(void *ctx, const char *s)
{
    struct got *g = ctx;
    if (g->n < MAX_LINES && (g->line[g->n] = strdup(s)) != NULL)
        g->n++;
}

static void got_notes(void *ctx, const struct tl_anomaly *a, const struct tl_conn *c)
{
    (void)c;
    struct got *g = ctx;
    if (g->nnotes < MAX_LINES)
        g->notes[g->nnotes++] = a->type;
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->line[i]);
    memset(g, 0, sizeof *g);
}

/* The first line holding what, or NULL. */
static const char *find(const struct got *g, const char *what)
{
    for (size_t i = 0; i < g->n; i++)
        if (strstr(g->line[i], what) != NULL)
            return g->line[i];
    return NULL;
}

static size_t index_of(const struct got *g, const char *what)
{
    for (size_t i = 0; i < g->n; i++)
        if (strstr(g->line[i], what) != NULL)
            return i;
    return (size_t)-1;
}

/* c last: struct tl_conn ends in a flexible array (room for the engine). */
struct fake {
    struct tl_timeline tl;
    struct tl_anomaly_list an;
    struct tl_conn c;
};

static void fake_init(struct fake *f)
{
    memset(f, 0, sizeof *f);
    f->c.id = 7;
    f->c.key.a.family = f->c.key.b.family = TL_AF_INET;
    f->c.key.a.b[0] = 10;
    f->c.key.a.b[3] = 1;
    f->c.key.b.b[0] = 10;
    f->c.key.b.b[3] = 9;
    f->c.key.pa = 40001;
    f->c.key.pb = 80;
    f->c.client_is_a = true;
    f->c.first_ts = T0;
    tl_timeline_init(&f->tl);
}

static void add(struct fake *f, struct tl_event e)
{
    static const struct tl_timeline_cfg full = {true, 100};
    if (tl_timeline_add(&f->tl, &full, &e, true) != TL_OK)
        abort();
}

/* A summary entry e that folded in what sum says. */
static void add_sum(struct fake *f, struct tl_event e, struct tl_sum sum)
{
    struct tl_sum *s = realloc(f->tl.sum, (f->tl.nsum + 1) * sizeof *s);
    if (s == NULL)
        abort();
    f->tl.sum = s;
    f->tl.sumcap = f->tl.nsum + 1;
    e.kind = TL_TL_SUMMARY;
    e.len = f->tl.nsum;
    s[f->tl.nsum++] = sum;
    add(f, e);
}

static void anomaly(struct fake *f, enum tl_anomaly_type type, int64_t ts, uint64_t pkt)
{
    struct tl_anomaly *a = tl_anomaly_add(&f->an, type, TL_AEP_SERVER, ts);
    if (a == NULL)
        abort();
    if (pkt != 0)
        tl_anomaly_pkt(a, pkt);
}

static void draw(struct fake *f, struct tl_ladder_cfg cfg, struct got *g)
{
    struct tl_conn_view v = {&f->c, NULL, NULL, &f->tl, &f->an, NULL, NULL, 0};
    struct tl_ladder_sink out = {g, got_line, got_notes};
    memset(g, 0, sizeof *g);
    cfg.on = true;
    if (tl_report_ladder(&v, &cfg, &out) != TL_OK)
        abort();
}

static void fake_free(struct fake *f)
{
    tl_timeline_free(&f->tl);
    tl_anomaly_list_free(&f->an);
}

/* SYN, SYN-ACK, folded data, a flagless segment, a FIN with wide numbers,
 * an RST; anomalies before the first packet, between packets, on the RST. */
static void build(struct fake *f)
{
    fake_init(f);
    add(f, (struct tl_event){.ts = T0,
                             .pkt = 1,
                             .dir = TL_TL_C2S,
                             .flags = TL_TH_SYN,
                             .win = 64240,
                             .kind = TL_K_SYN,
                             .client = TL_EP_SYN_SENT,
                             .server = TL_EP_LISTEN});
    add(f, (struct tl_event){.ts = T0 + 11,
                             .pkt = 2,
                             .dir = TL_TL_S2C,
                             .flags = TL_TH_SYN | TL_TH_ACK,
                             .ack = 1,
                             .win = 0,
                             .kind = TL_K_SYNACK,
                             .client = TL_EP_SYN_SENT,
                             .server = TL_EP_SYN_RECV});
    add_sum(f,
            (struct tl_event){.ts = T0 + 100,
                              .pkt = 3,
                              .dir = TL_TL_NONE,
                              .client = TL_EP_ESTABLISHED,
                              .server = TL_EP_ESTABLISHED},
            (struct tl_sum){
                .packets = {1000, 2}, .bytes = {61440, 0}, .last_pkt = 1004, .last_ts = T0 + 900});
    add(f, (struct tl_event){.ts = T0 + 1000,
                             .pkt = 1005,
                             .dir = TL_TL_C2S,
                             .flags = 0,
                             .seq = 7,
                             .win = 10,
                             .kind = TL_K_UNEXPECTED,
                             .client = TL_EP_ESTABLISHED,
                             .server = TL_EP_ESTABLISHED});
    add(f, (struct tl_event){.ts = T0 + 2000,
                             .pkt = 1006,
                             .dir = TL_TL_C2S,
                             .flags = TL_TH_FIN | TL_TH_ACK,
                             .seq = 4000000000u,
                             .ack = 4000000001u,
                             .len = 0,
                             .win = 5,
                             .kind = TL_K_FIN,
                             .client = TL_EP_FIN_WAIT_1,
                             .server = TL_EP_ESTABLISHED,
                             .via = {{TL_EP_CLOSING, 0}, {0, 0}}});
    add(f, (struct tl_event){.ts = T0 + 3000,
                             .pkt = 1007,
                             .dir = TL_TL_S2C,
                             .flags = TL_TH_RST,
                             .seq = 1,
                             .win = 0,
                             .kind = TL_K_RST,
                             .client = TL_EP_CLOSED,
                             .server = TL_EP_CLOSED});
    anomaly(f, TL_AN_REFUSED, T0 + 3000, 1007);
    anomaly(f, TL_AN_MIDSTREAM, T0 - 500, 0);
    anomaly(f, TL_AN_CLOSE_WAIT_STUCK, T0 + 1500, 0);
}

/* The column of the lifeline after the label on an arrow row. */
static size_t server_lifeline(const char *row)
{
    const char *p = strrchr(row, '|');
    return p != NULL ? (size_t)(p - row) : 0;
}

static void test_rows(struct tap *t)
{
    struct fake f;
    struct got g;
    build(&f);
    draw(&f, (struct tl_ladder_cfg){0}, &g);
    ok(t,
       g.n > 0 && strstr(g.line[0], "client 10.0.0.1:40001") != NULL &&
           strstr(g.line[0], "server 10.0.0.9:80") != NULL,
       "heading names both endpoints");
    const char *syn = find(&g, "--- S seq=0 len=0 ");
    ok(t, syn != NULL && strstr(syn, "SYN_SENT") && strstr(syn, "->| LISTEN"),
       "SYN: right arrow, no ack= without ACK, both first states");
    const char *sa = find(&g, "|<-- SA seq=0 ack=1 len=0 win=0 -");
    ok(t, sa != NULL && strstr(sa, "SYN_SENT") == NULL && strstr(sa, "SYN_RECV"),
       "SYN-ACK: left arrow, win=0, client state blank (unchanged)");
    const char *sum = find(&g, "1002 segments: 61 kB c>s, 0 B s>c");
    ok(t, sum != NULL && strstr(sum, " 3-1004 ") && strstr(sum, ":") && !strstr(sum, "|"),
       "folded data: packet range, bytes by direction, dotted lifelines");
    ok(t,
       find(&g, "--- none seq=7 ack=") == NULL && find(&g, "--- none seq=7 len=0 ") &&
           strstr(find(&g, "--- none seq=7"), "unexpected") != NULL,
       "flagless segment: 'none', and its kind noted");
    const char *fin = find(&g, "FA seq=4000000000 ack=4000000001 len=0 ");
    ok(t, fin != NULL && strstr(fin, "FIN_WAIT_1") && strstr(fin, "client via CLOSING"),
       "wide numbers drawn whole; a state passed through is noted");
    const char *rst = find(&g, "|<-- R seq=1 len=0 ");
    ok(t, rst != NULL && strstr(rst, "win=0") == NULL, "RST: no win=0");
    ok(t,
       syn && sa && fin && rst && server_lifeline(syn) == server_lifeline(sa) &&
           server_lifeline(sa) == server_lifeline(fin) &&
           server_lifeline(fin) == server_lifeline(rst),
       "the server's lifeline is one column on every arrow row");
    size_t first = index_of(&g, "-0.000500"), gap = index_of(&g, "0.001500");
    ok(t, first == 1 && strstr(g.line[first], "(no packet)") && strstr(g.line[first], "[1]"),
       "anomaly before the first packet: a row of its own on top, marked [1]");
    ok(t,
       gap == index_of(&g, "none seq=7") + 1 && strstr(g.line[gap], "(no packet)") &&
           strstr(g.line[gap], "[2]") && gap + 1 == index_of(&g, "FA seq=4000000000"),
       "anomaly between packets: a row at its time, between them, marked [2]");
    ok(t, rst && strstr(rst, "CLOSED      [3]"), "anomaly proven by the RST marked on it");
    ok(t,
       index_of(&g, "[1] info     midstream") < index_of(&g, "[2] error    close_wait_stuck") &&
           index_of(&g, "[2] error") < index_of(&g, "[3] error    refused") &&
           find(&g, "[3] error    refused") && strstr(find(&g, "[3] error"), "packets 1007"),
       "key lines in mark order, with packets");
    ok(t,
       g.nnotes == 3 && g.notes[0] == TL_AN_MIDSTREAM && g.notes[1] == TL_AN_CLOSE_WAIT_STUCK &&
           g.notes[2] == TL_AN_REFUSED,
       "notes() called once per anomaly, in mark order");
    bool esc = false;
    for (size_t i = 0; i < g.n; i++)
        esc = esc || strchr(g.line[i], '\033') != NULL;
    ok(t, !esc, "no escape codes without colour");
    got_free(&g);
    fake_free(&f);
}

static void test_style(struct tap *t)
{
    struct fake f;
    struct got g;
    build(&f);
    draw(&f, (struct tl_ladder_cfg){.color = true}, &g);
    const char *rst = find(&g, "RA seq=1") ? find(&g, "RA seq=1") : find(&g, "R\033[0m seq=1");
    ok(t, rst != NULL && strstr(rst, "\033[31m<--") != NULL, "colour: RST arrow red");
    ok(t, find(&g, "\033[32m---") != NULL, "colour: SYN arrow green");
    ok(t, find(&g, "\033[34m---") != NULL, "colour: FIN arrow blue");
    ok(t, find(&g, "\033[1m\033[31m[3]\033[0m") != NULL, "colour: error mark bold red");
    got_free(&g);
    draw(&f, (struct tl_ladder_cfg){.unicode = true}, &g);
    ok(t,
       find(&g, "\u2502\u2500\u2500\u2500 S seq=0 len=0 \u2500") != NULL &&
           find(&g, "\u2500\u25b6\u2502 LISTEN") != NULL &&
           find(&g, "1002 segments: 61 kB c\u2192s, 0 B s\u2192c") != NULL &&
           strstr(find(&g, "1002 segments"), "\u2506") != NULL,
       "unicode: box-drawing lifelines, arrowheads, dotted folded row");
    got_free(&g);
    fake_free(&f);
}

/* Timer rows, entries --timeline-max dropped, and an empty timeline. */
static void test_edges(struct tap *t)
{
    struct fake f;
    struct got g;
    fake_init(&f);
    add(&f, (struct tl_event){.ts = T0,
                              .pkt = 1,
                              .dir = TL_TL_S2C,
                              .flags = TL_TH_FIN | TL_TH_ACK,
                              .kind = TL_K_FIN,
                              .client = TL_EP_ESTABLISHED,
                              .server = TL_EP_FIN_WAIT_1});
    add(&f, (struct tl_event){.ts = T0 + 60 * TL_USEC_PER_SEC,
                              .dir = TL_TL_NONE,
                              .kind = TL_K_TIME_WAIT_END,
                              .client = TL_EP_CLOSED,
                              .server = TL_EP_CLOSED});
    f.tl.dropped = 4;
    anomaly(&f, TL_AN_TIME_WAIT, T0 + 61 * TL_USEC_PER_SEC, 9);
    draw(&f, (struct tl_ladder_cfg){0}, &g);
    const char *tw = find(&g, "(TIME_WAIT over after 60 s)");
    ok(t,
       tw != NULL && strstr(tw, "60.000000") && !strstr(tw, "->") && !strstr(tw, "<-") &&
           strstr(tw, "CLOSED"),
       "timer event: centred text, no arrow, the states it changed");
    size_t more = index_of(&g, "... 4 more entries not kept (--timeline-max)");
    ok(t,
       more != (size_t)-1 && more + 1 == index_of(&g, "(not kept)") &&
           strstr(g.line[more + 1], "[1]"),
       "after dropped entries: the count, then the anomaly's row '(not kept)'");
    got_free(&g);
    fake_free(&f);

    fake_init(&f);
    draw(&f, (struct tl_ladder_cfg){0}, &g);
    ok(t, g.n == 2 && strstr(g.line[1], "(no timeline entries)"), "empty timeline");
    got_free(&g);
    struct tl_conn_view v = {&f.c, NULL, NULL, NULL, NULL, NULL, NULL, 0};
    struct tl_ladder_cfg cfg = {.on = true};
    struct tl_ladder_sink out = {&g, got_line, got_notes};
    ok(t, tl_report_ladder(&v, &cfg, &out) == TL_OK && g.n == 2, "no timeline, no anomalies");
    got_free(&g);
    fake_free(&f);
}

/* Decimal units, as the folded row writes them. */
static void test_bytes(struct tap *t)
{
    static const struct {
        uint64_t n;
        const char *text;
    } cases[] = {{999, "999 B"},     {1000, "1.0 kB"},   {9949, "9.9 kB"},      {9950, "10 kB"},
                 {999499, "999 kB"}, {999999, "1.0 MB"}, {1500000000, "1.5 GB"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fake f;
        struct got g;
        char want[64];
        fake_init(&f);
        add_sum(&f, (struct tl_event){.ts = T0, .pkt = 1, .dir = TL_TL_NONE},
                (struct tl_sum){.packets = {1, 0}, .bytes = {cases[i].n, 0}, .last_pkt = 1});
        draw(&f, (struct tl_ladder_cfg){0}, &g);
        snprintf(want, sizeof want, "1 segment: %s c>s ", cases[i].text);
        ok(t, find(&g, want) != NULL, cases[i].text);
        got_free(&g);
        fake_free(&f);
    }
}

int main(void)
{
    struct tap t = {0, 0};
    test_rows(&t);
    test_style(&t);
    test_edges(&t);
    test_bytes(&t);
    return tap_done(&t);
}
