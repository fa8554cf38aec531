/* The text report: summary tallies (states, anomalies, top hosts in bounded
 * memory, lifetimes), rows in first-seen order, detail blocks worst first,
 * and a spool format that survives hostile detector text. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tcplens/report.h"

#define T0 (INT64_C(1700000000) * TL_USEC_PER_SEC)

/* One connection and everything its view points to. */
struct fake {
    struct tl_conn *c;
    struct tl_tcpstate tcp;
    struct tl_timeline tl;
    struct tl_anomaly_list an;
};

static void fake_init(struct fake *f, uint64_t id, uint8_t client_ip, int64_t dur_us)
{
    memset(f, 0, sizeof *f);
    f->c = calloc(1, sizeof *f->c);
    if (f->c == NULL)
        abort();
    f->c->id = id;
    f->c->key.a.family = f->c->key.b.family = TL_AF_INET;
    f->c->key.a.b[0] = 10;
    f->c->key.a.b[3] = client_ip;
    f->c->key.b.b[0] = 10;
    f->c->key.b.b[1] = 9;
    f->c->key.b.b[3] = 9;
    f->c->key.pa = (uint16_t)(40000 + id);
    f->c->key.pb = 80;
    f->c->client_is_a = true;
    f->c->first_ts = T0 + (int64_t)id * 1000;
    f->c->last_ts = f->c->first_ts + dur_us;
    f->c->end = TL_END_FIN;
    tl_tcpstate_init(&f->tcp);
    f->tcp.ep[0].state = TL_EP_TIME_WAIT;
    f->tcp.ep[1].state = TL_EP_CLOSED;
    f->tcp.ep[0].syn_acked = f->tcp.ep[1].syn_acked = true;
    tl_timeline_init(&f->tl);
}

/* An anomaly; state (when not NULL) is the state_before its explanation
 * names (rst_instead_of_fin). */
static void fake_anomaly(struct fake *f, enum tl_anomaly_type type, enum tl_sev sev,
                         const char *state)
{
    struct tl_anomaly *a = tl_anomaly_add(&f->an, type, TL_AEP_SERVER, f->c->first_ts + 5);
    if (a == NULL)
        abort();
    a->severity = (uint8_t)sev;
    tl_anomaly_pkt(a, 7);
    tl_anomaly_real(a, "gap", 0.25);
    if (state != NULL)
        tl_anomaly_str(a, "state_before", state);
}

/* s with every run of blanks and newlines made one space (malloc'd), to
 * read a wrapped paragraph. */
static char *squash(const char *s)
{
    char *o = malloc(strlen(s) + 1), *p = o;
    if (o == NULL)
        abort();
    for (; *s != '\0'; s++)
        if (!isspace((unsigned char)*s))
            *p++ = *s;
        else if (p == o || p[-1] != ' ')
            *p++ = ' ';
    *p = '\0';
    return o;
}

/* A reset by the server: its timeline holds the RST. */
static void fake_rst(struct fake *f)
{
    static const struct tl_timeline_cfg full = {true, 100};
    struct tl_event e = {.ts = f->c->last_ts,
                         .pkt = 3,
                         .dir = TL_TL_S2C,
                         .kind = TL_K_RST,
                         .client = TL_EP_CLOSED,
                         .server = TL_EP_CLOSED};
    f->c->end = TL_END_RST;
    f->tcp.ep[0].state = f->tcp.ep[1].state = TL_EP_CLOSED;
    if (tl_timeline_add(&f->tl, &full, &e, true) != TL_OK)
        abort();
}

static void fake_feed(struct tl_report *r, struct fake *f)
{
    struct tl_conn_view v = {f->c, &f->tcp, NULL, &f->tl, &f->an, NULL, NULL, 0};
    if (tl_report_conn(r, &v) != TL_OK)
        abort();
    free(f->c);
    tl_timeline_free(&f->tl);
    tl_anomaly_list_free(&f->an);
}

static struct tl_report *text_report_top(FILE *out, size_t budget, bool only, uint32_t top,
                                         bool all)
{
    struct tl_report_cfg cfg = {.format = TL_REPORT_TEXT,
                                .out = out,
                                .reorder = true,
                                .wait_budget = budget,
                                .anomalies_only = only,
                                .top = top,
                                .all = all};
    struct tl_report *r = tl_report_new(&cfg);
    if (r == NULL)
        abort();
    return r;
}

static struct tl_report *text_report(FILE *out, size_t budget, bool only)
{
    return text_report_top(out, budget, only, 0, false);
}

/* Finishes r and returns everything it wrote (malloc'd). */
static char *finish(struct tl_report *r, FILE *out)
{
    struct tl_capture_info cap = {.first_ts = T0,
                                  .last_ts = T0 + 4 * TL_USEC_PER_SEC,
                                  .packets = 10,
                                  .tcp_packets = 10};
    struct tl_run run = {.capture = &cap};
    if (tl_report_finish(r, &run) != TL_OK)
        abort();
    tl_report_free(r);
    long n = ftell(out);
    char *s = malloc((size_t)n + 1);
    rewind(out);
    if (s == NULL || fread(s, 1, (size_t)n, out) != (size_t)n)
        abort();
    s[n] = '\0';
    fclose(out);
    return s;
}

static const char *after(const char *s, const char *what)
{
    const char *p = s != NULL ? strstr(s, what) : NULL;
    return p != NULL ? p + strlen(what) : NULL;
}

/* Five connections ending in reverse order: 1 info-only, 2 warning,
 * 3 error, 4 clean, 5 error. Blocks: 3, 5 (errors by id), then 2. */
static char *worst_report(size_t budget, bool only, uint32_t top, bool all)
{
    FILE *out = tmpfile();
    struct tl_report *r = text_report_top(out, budget, only, top, all);
    struct fake f[5];
    for (int i = 4; i >= 0; i--) {
        fake_init(&f[i], (uint64_t)i + 1, (uint8_t)(i + 1), 200000);
        if (i == 0)
            fake_anomaly(&f[i], TL_AN_TIME_WAIT, TL_SEV_INFO, NULL);
        if (i == 1)
            fake_anomaly(&f[i], TL_AN_RETRANSMISSION, TL_SEV_WARNING, NULL);
        if (i == 2 || i == 4) {
            fake_anomaly(&f[i], TL_AN_TIME_WAIT, TL_SEV_INFO, NULL);
            fake_anomaly(&f[i], TL_AN_RST_INSTEAD_OF_FIN, TL_SEV_ERROR,
                         "line one\nnot a row\tstill the state");
        }
        fake_feed(r, &f[i]);
    }
    return finish(r, out);
}

static char *worst_first_report(size_t budget, bool only)
{
    return worst_report(budget, only, 0, false);
}

static size_t count_of(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(s, what); p != NULL; p = strstr(p + 1, what))
        n++;
    return n;
}

/* The same five with --top 1: the worst one's block alone, no table (5
 * listed), and each anomaly type explained once, in its group. */
static void test_top(struct tap *t)
{
    char *s = worst_report(0, false, 1, false);
    ok(t, strstr(s, "the 1 worst of 3 connections with a warning or an error") != NULL,
       "--top 1: heading says 1 of 3");
    const char *b3 = after(s, "\nconnection 3 ");
    ok(t, b3 != NULL && after(s, "\nconnection 5 ") == NULL && after(s, "\nconnection 2 ") == NULL,
       "--top 1: only the worst block (errors tie: the lowest id)");
    ok(t, after(s, "\n   id  ") == NULL && strstr(s, "their table is left out") != NULL,
       "--top 1: 5 listed, no table");
    /* Groups hold warnings and errors; block 3's info anomaly keeps its own. */
    ok(t, count_of(s, "explanation") == 3 && count_of(s, "\n  why  ") == 0,
       "explanations: one per group type (2), the block's info anomaly (1)");
    ok(t, strstr(s, "(Connection 3's, the first.)") != NULL, "group: whose explanation it is");
    ok(t, strstr(s, "\nerror    rst_instead_of_fin  2 connections,") != NULL,
       "group: type, severity and count");
    ok(t, strstr(s, "e.g. 3 5\n      tcplens --connection 3,5\n") != NULL,
       "group: examples and the command that lists them");
    free(s);
    s = worst_report(0, false, 1, true);
    ok(t, after(s, "\n   id  ") != NULL && after(s, "\n    4  ") != NULL,
       "--all: the table of every connection");
    const char *head = after(s, "3 connections with a warning or an error, worst first");
    ok(t,
       head != NULL && after(head, "\nconnection 2 ") != NULL &&
           after(head, "\nconnection 5 ") != NULL,
       "--all: every block, --top aside");
    free(s);
}

static void test_worst_first(struct tap *t, size_t budget, const char *what)
{
    char *s = worst_first_report(budget, false);
    const char *rows = after(s, "\n   id  ");
    const char *r1 = after(rows, "\n    1  "), *r5 = after(rows, "\n    5  ");
    ok(t, r1 != NULL && r5 != NULL && r1 < r5, what);
    const char *head = after(s, "3 connections with a warning or an error, worst first");
    const char *b3 = after(head, "\nconnection 3 "), *b5 = after(head, "\nconnection 5 ");
    const char *b2 = after(head, "\nconnection 2 ");
    ok(t, head != NULL && b3 != NULL && b5 != NULL && b2 != NULL && b3 < b5 && b5 < b2,
       "blocks: errors by id, then warnings");
    ok(t, after(head, "\nconnection 1 ") == NULL && after(head, "\nconnection 4 ") == NULL,
       "no block for info-only and clean connections");
    ok(t, strstr(s, "time_wait\n") != NULL, "the info-only row names its anomaly");
    const char *err = after(b3, "  error    rst_instead_of_fin");
    const char *inf = after(b3, "  info     time_wait");
    ok(t, err != NULL && inf != NULL && err < inf, "within a block, worst anomaly first");
    char *flat = squash(s);
    ok(t, strstr(flat, "while line one not a row still the state, without") != NULL,
       "control characters in an explanation become spaces");
    free(flat);
    ok(t, strstr(s, "\nnot a row") == NULL, "an explanation cannot forge a table row");
    ok(t, strstr(s, "evidence     gap 0.25") != NULL, "evidence printed");
    ok(t, strstr(s, "anomalies  6: 2 error, 1 warning, 3 info\n") != NULL,
       "anomaly counts by severity");
    const char *by_type = after(s, "\n  error    rst_instead_of_fin ");
    unsigned long long nt = 0;
    ok(t, by_type != NULL && sscanf(by_type, "%llu", &nt) == 1 && nt == 2,
       "anomaly counts by type");
    free(s);
}

static void test_anomalies_only(struct tap *t)
{
    char *s = worst_first_report(0, true);
    ok(t, strstr(s, "listed   3 with a warning or an error") != NULL, "listed count");
    const char *rows = after(s, "\n   id  ");
    ok(t, rows != NULL && after(rows, "\n    1  ") == NULL && after(rows, "\n    2  ") != NULL,
       "--anomalies-only: info-only connection not in the table");
    ok(t, strstr(s, "connections 5") != NULL, "--anomalies-only: summary counts all");
    free(s);
}

/* 300 hosts with one TIME_WAIT each, then host 7 with 50 more: every
 * count is exact, host 7 comes out on top, and no bound is needed. */
static void test_top_hosts(struct tap *t)
{
    FILE *out = tmpfile();
    struct tl_report *r = text_report(out, 0, false);
    uint64_t id = 1;
    for (int i = 0; i < 300; i++) {
        struct fake f;
        fake_init(&f, id++, (uint8_t)(i % 250), 5000);
        f.c->key.a.b[2] = (uint8_t)(i / 250);
        fake_feed(r, &f);
    }
    for (int i = 0; i < 50; i++) {
        struct fake f;
        fake_init(&f, id++, 7, 5000);
        fake_feed(r, &f);
    }
    struct fake f;
    fake_init(&f, id++, 8, 20 * TL_USEC_PER_SEC);
    fake_rst(&f);
    fake_feed(r, &f);
    char *s = finish(r, out);
    const char *tw = after(s, "most TIME_WAIT at end");
    ok(t, tw != NULL && strncmp(tw + strspn(tw, " "), "10.0.0.7 ", 9) == 0,
       "heaviest TIME_WAIT host first");
    ok(t, strstr(s, "at least") == NULL && strstr(s, "not ranked") == NULL,
       "300 hosts: no bound, nothing left out");
    unsigned long long n = 0;
    const char *h7 = after(tw, "10.0.0.7");
    ok(t, h7 != NULL && sscanf(h7, "%llu\n", &n) == 1 && n == 51,
       "heavy host: its exact count (51)");
    const char *rs = after(s, "most resets sent");
    ok(t, rs != NULL && strncmp(rs + strspn(rs, " "), "10.9.0.9 ", 9) == 0,
       "reset counted for its sender (the server)");
    ok(t, strstr(s, "first to last segment: under 1 s 350, ") != NULL, "lifetimes under 1 s");
    ok(t, strstr(s, ", 10 to 60 s 1, ") != NULL, "lifetimes 10 to 60 s");
    ok(t, strstr(s, "short-lived  350 opened and closed within 1 s, 87.50 per second") != NULL,
       "short-lived rate over the capture");
    ok(t, strstr(s, "  TIME_WAIT          350        0\n") != NULL, "states at end by role");
    free(s);
}

/* Views without state, timeline or anomalies (the library allows it). */
static void test_bare_views(struct tap *t)
{
    FILE *out = tmpfile();
    struct tl_report *r = text_report(out, 0, false);
    for (uint64_t id = 2; id >= 1; id--) {
        struct fake f;
        fake_init(&f, id, 1, 10);
        struct tl_conn_view v = {.conn = f.c};
        ok(t, tl_report_conn(r, &v) == TL_OK, "bare view taken");
        free(f.c);
    }
    char *s = finish(r, out);
    ok(t, strstr(s, "no connection has a warning or an error") != NULL, "bare views: no blocks");
    ok(t, strstr(s, "fin     -                       -                -\n") != NULL,
       "bare views: placeholders in the row");
    free(s);
}

int main(void)
{
    struct tap t = {0, 0};
    test_worst_first(&t, 0, "rows in first-seen order (in memory)");
    test_top(&t);
    test_worst_first(&t, 1, "rows in first-seen order (overflow file)");
    test_anomalies_only(&t);
    test_top_hosts(&t);
    test_bare_views(&t);
    return tap_done(&t);
}
