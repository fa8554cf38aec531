/*
 * The services and client hosts (services.h) in each report: the JSON
 * document's `services` and `hosts` arrays and a connection's `rtt`
 * object, the text report's "top services" lines, and the HTML page's
 * sortable services table with its latency chart. Each format calls one
 * function of this file.
 */
#include "tcplens/report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json_writer.h"
#include "report_html_int.h"
#include "report_int.h"
#include "tcplens/services.h"

/* Services the text report lists, and the HTML chart draws. */
#define TEXT_TOP 5
#define TEXT_TROUBLE 5 /* and those with the most trouble beyond them */
#define CHART_TOP 20

/* The quantiles every sketch is reported with. */
static const double quantiles[] = {0.5, 0.9, 0.99};
static const char *const qnames[] = {"p50", "p90", "p99"};
#define NQ (sizeof quantiles / sizeof quantiles[0])

void tl_report_summary_services(struct report_summary *sum, const struct tl_conn_view *v)
{
    if (sum->svc == NULL && !sum->svc_failed) {
        sum->svc = malloc(sizeof *sum->svc);
        sum->svc_failed = sum->svc == NULL;
        if (sum->svc != NULL)
            tl_services_init(sum->svc, 0);
    }
    if (sum->svc != NULL)
        tl_services_add(sum->svc, v);
}

bool tl_report_summary_services_failed(const struct report_summary *sum)
{
    return sum->svc_failed || (sum->svc != NULL && tl_services_failed(sum->svc));
}

void tl_report_summary_services_free(struct report_summary *sum)
{
    if (sum->svc != NULL)
        tl_services_free(sum->svc);
    free(sum->svc);
    sum->svc = NULL;
}

/* ---- JSON ---- */

static void w_stats(struct tl_jw *w, const char *key, const struct tl_rtt_stats *s)
{
    tl_jw_key(w, key);
    tl_jw_obj_begin(w);
    TL_JW_KEY(w, "samples");
    tl_jw_uint(w, s->n);
    const char *names[3] = {"min", "srtt", "max"};
    const int64_t vals[3] = {s->min, s->srtt, s->max};
    for (int i = 0; i < 3; i++) {
        tl_jw_key(w, names[i]);
        if (s->n != 0)
            tl_jw_usec(w, vals[i]);
        else
            tl_jw_null(w);
    }
    tl_jw_obj_end(w);
}

static void w_leg(struct tl_jw *w, const char *key, int64_t us)
{
    tl_jw_key(w, key);
    if (us >= 0)
        tl_jw_usec(w, us);
    else
        tl_jw_null(w);
}

void tl_report_json_rtt(struct tl_jw *w, const struct tl_conn_perf *p)
{
    if (p == NULL)
        return;
    TL_JW_KEY(w, "rtt");
    tl_jw_obj_begin(w);
    w_leg(w, "syn_synack", p->rtt.syn_synack);
    w_leg(w, "synack_ack", p->rtt.synack_ack);
    w_stats(w, "client_to_server", &p->rtt.data[TL_ROLE_CLIENT]);
    w_stats(w, "server_to_client", &p->rtt.data[TL_ROLE_SERVER]);
    tl_jw_obj_end(w);
}

static void w_count(struct tl_jw *w, const char *key, uint64_t v)
{
    tl_jw_key(w, key);
    tl_jw_uint(w, v);
}

static void w_sides(struct tl_jw *w, const char *key, const uint32_t *v)
{
    tl_jw_key(w, key);
    tl_jw_obj_begin(w);
    w_count(w, "client", v[TL_ROLE_CLIENT]);
    w_count(w, "server", v[TL_ROLE_SERVER]);
    tl_jw_obj_end(w);
}

void tl_report_json_segments(struct tl_jw *w, const struct tl_conn_perf *p)
{
    if (p == NULL)
        return;
    TL_JW_KEY(w, "segments");
    tl_jw_obj_begin(w);
    w_sides(w, "data", p->data_segs);
    w_sides(w, "retransmitted", p->retx_segs);
    w_sides(w, "rst", p->rsts);
    tl_jw_obj_end(w);
}

static void w_sketch(struct tl_jw *w, const char *key, const struct tl_sketch *s)
{
    tl_jw_key(w, key);
    tl_jw_obj_begin(w);
    w_count(w, "samples", s->n);
    for (size_t q = 0; q < NQ; q++) {
        tl_jw_key(w, qnames[q]);
        if (s->n != 0)
            tl_jw_usec(w, tl_sketch_quantile(s, quantiles[q]));
        else
            tl_jw_null(w);
    }
    TL_JW_KEY(w, "max");
    if (s->n != 0)
        tl_jw_usec(w, s->max);
    else
        tl_jw_null(w);
    tl_jw_obj_end(w);
}

static void w_states(struct tl_jw *w, const struct tl_svc *e)
{
    TL_JW_KEY(w, "states_at_end");
    tl_jw_obj_begin(w);
    for (int r = 0; r < 2; r++) {
        tl_jw_key(w, r == TL_ROLE_CLIENT ? "client" : "server");
        tl_jw_obj_begin(w);
        for (int s = 0; s < TL_EP_NSTATES; s++)
            if (e->states[r][s] != 0)
                w_count(w, tl_ep_state_name((enum tl_ep_state)s), e->states[r][s]);
        tl_jw_obj_end(w);
    }
    tl_jw_obj_end(w);
}

/* The members of a services or hosts entry (its object's inside). */
static void w_entry_fields(struct tl_jw *w, const struct tl_svc *e, bool service)
{
    char ip[TL_ADDR_STRLEN];
    tl_addr_str(&e->addr, ip, sizeof ip);
    if (service) {
        TL_JW_KEY(w, "server");
        tl_jw_obj_begin(w);
        TL_JW_KEY(w, "ip");
        tl_jw_str(w, ip);
        w_count(w, "port", e->port);
        tl_jw_obj_end(w);
    } else {
        TL_JW_KEY(w, "client");
        tl_jw_str(w, ip);
    }
    w_count(w, "first_connection", e->first_id);
    w_count(w, "connections", e->connections);
    w_count(w, "refused", e->refused);
    w_count(w, "unanswered", e->unanswered);
    w_count(w, "timeouts", e->timeouts);
    TL_JW_KEY(w, "resets");
    tl_jw_obj_begin(w);
    w_count(w, "client", e->resets[TL_ROLE_CLIENT]);
    w_count(w, "server", e->resets[TL_ROLE_SERVER]);
    tl_jw_obj_end(w);
    w_states(w, e);
    TL_JW_KEY(w, "handshake_rtt");
    tl_jw_obj_begin(w);
    w_sketch(w, "syn_synack", &e->syn_synack);
    w_sketch(w, "synack_ack", &e->synack_ack);
    tl_jw_obj_end(w);
    w_count(w, "data_segments", e->data_segs);
    w_count(w, "retransmitted_segments", e->retx_segs);
    TL_JW_KEY(w, "retransmission_rate");
    tl_jw_real(w, tl_svc_retx_rate(e));
}

static void w_entry(struct tl_jw *w, const struct tl_svc *e, bool service)
{
    tl_jw_obj_begin(w);
    w_entry_fields(w, e, service);
    tl_jw_obj_end(w);
}

static void w_table(struct tl_jw *w, const char *key, const struct tl_svc_table *t, bool service)
{
    tl_jw_key(w, key);
    tl_jw_arr_begin(w);
    const struct tl_svc **sorted = t != NULL ? tl_svc_sorted(t) : NULL;
    for (uint32_t i = 0; sorted != NULL && i < t->n; i++)
        w_entry(w, sorted[i], service);
    tl_jw_arr_end(w);
}

static const struct tl_svc_table *table_of(const struct report_summary *sum, bool service)
{
    const struct tl_services *s = sum->svc;
    return s == NULL ? NULL : service ? &s->svc : &s->hosts;
}

size_t tl_report_svc_lines(const struct report_summary *sum, bool service)
{
    const struct tl_svc_table *t = table_of(sum, service);
    return t != NULL && tl_svc_sorted(t) != NULL ? t->n : 0;
}

void tl_report_json_svc_fields(struct tl_jw *w, const struct report_summary *sum, bool service,
                               size_t i)
{
    const struct tl_svc_table *t = table_of(sum, service);
    if (t != NULL && i < t->n)
        w_entry_fields(w, t->order[i], service);
}

void tl_report_json_services(struct tl_jw *w, const struct report_summary *sum)
{
    w_table(w, "services", table_of(sum, true), true);
    w_table(w, "hosts", table_of(sum, false), false);
    tl_report_json_services_untracked(w, sum);
}

void tl_report_json_services_untracked(struct tl_jw *w, const struct report_summary *sum)
{
    const struct tl_services *s = sum->svc;
    TL_JW_KEY(w, "services_untracked");
    tl_jw_obj_begin(w);
    w_count(w, "limit", TL_SVC_MAX);
    w_count(w, "services_connections", s != NULL ? s->svc.untracked : 0);
    w_count(w, "hosts_connections", s != NULL ? s->hosts.untracked : 0);
    tl_jw_obj_end(w);
}

/* ---- text ---- */

/* Offers e to out[*k], the at most max with the largest key so far, kept
 * largest first; among equals the one offered first stays first. */
static void keep_top(const struct tl_svc **out, size_t *k, size_t max, const struct tl_svc *e,
                     uint64_t (*key)(const struct tl_svc *))
{
    size_t j = *k < max ? (*k)++ : max;
    while (j > 0 && key(e) > key(out[j - 1])) {
        if (j < max)
            out[j] = out[j - 1];
        j--;
    }
    if (j < max)
        out[j] = e;
}

static uint64_t connections_of(const struct tl_svc *e) { return e->connections; }

/* Most connections first, then first seen; sorted is in first-seen order. */
static size_t top_by_connections(const struct tl_svc **sorted, uint32_t n,
                                 const struct tl_svc **out, size_t max)
{
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        keep_top(out, &k, max, sorted[i], connections_of);
    return k;
}

/* Connections that went wrong: refused, unanswered, reset, timed out. */
static uint64_t trouble(const struct tl_svc *e)
{
    return e->refused + e->unanswered + e->timeouts + e->resets[0] + e->resets[1];
}

/* Up to max services with trouble that top[ntop] does not list, most
 * first (first seen among equals). */
static size_t most_trouble(const struct tl_svc **sorted, uint32_t n, const struct tl_svc **top,
                           size_t ntop, const struct tl_svc **out, size_t max)
{
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        bool listed = trouble(sorted[i]) == 0;
        for (size_t t = 0; !listed && t < ntop; t++)
            listed = top[t] == sorted[i];
        if (!listed)
            keep_top(out, &k, max, sorted[i], trouble);
    }
    return k;
}

/* "0.123/4.567" ms, or "-" without samples. */
static const char *p50_p99(const struct tl_sketch *s, char *buf, size_t size)
{
    if (s->n == 0)
        return "-";
    snprintf(buf, size, "%.3f/%.3f", (double)tl_sketch_quantile(s, 0.5) / 1e3,
             (double)tl_sketch_quantile(s, 0.99) / 1e3);
    return buf;
}

static bool text_line(const struct tl_svc *e, FILE *out)
{
    char ep[TL_ADDR_STRLEN + 8], rst[48], a[48], b[48];
    tl_report_endpoint(&e->addr, e->port, ep, sizeof ep);
    snprintf(rst, sizeof rst, "%" PRIu64 "/%" PRIu64, e->resets[0], e->resets[1]);
    return fprintf(out,
                   "  %-27s %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %9s %7" PRIu64
                   " %6.2f%% %17s %17s\n",
                   ep, e->connections, e->refused, e->unanswered, rst, e->timeouts,
                   100.0 * tl_svc_retx_rate(e), p50_p99(&e->syn_synack, a, sizeof a),
                   p50_p99(&e->synack_ack, b, sizeof b)) >= 0;
}

bool tl_report_text_services(const struct report_summary *sum, FILE *out)
{
    const struct tl_services *s = sum->svc;
    if (s == NULL || s->svc.n == 0)
        return true;
    const struct tl_svc **sorted = tl_svc_sorted(&s->svc);
    const struct tl_svc *top[TEXT_TOP];
    size_t n = top_by_connections(sorted, s->svc.n, top, TEXT_TOP);
    bool ok = fprintf(out, "\ntop services  %zu of %" PRIu32 " by connections%s\n", n, s->svc.n,
                      s->svc.untracked != 0 ? " (more not tracked)" : "") >= 0 &&
              fprintf(out, "  %-27s %7s %7s %7s %9s %7s %7s %17s %17s\n", "server", "conns",
                      "refused", "unansw", "rst c/s", "timeout", "retx", "syn>sa p50/p99 ms",
                      "sa>ack p50/p99 ms") >= 0;
    for (size_t i = 0; ok && i < n; i++)
        ok = text_line(top[i], out);
    const struct tl_svc *bad[TEXT_TROUBLE];
    size_t nbad = most_trouble(sorted, s->svc.n, top, n, bad, TEXT_TROUBLE);
    if (ok && nbad != 0)
        ok = fprintf(out,
                     "  and the %zu with the most refused, unanswered, reset or timed out "
                     "connections:\n",
                     nbad) >= 0;
    for (size_t i = 0; ok && i < nbad; i++)
        ok = text_line(bad[i], out);
    if (ok && s->svc.untracked != 0)
        ok = fprintf(out, "  %" PRIu64 " connections of services past the first %u not counted\n",
                     s->svc.untracked, TL_SVC_MAX) >= 0;
    return ok;
}

/* ---- HTML ---- */

/* A cell with its sort key (µs or a count); "-" for none. */
static bool td_us(FILE *out, const struct tl_sketch *s, double q)
{
    if (s->n == 0)
        return fputs("<td class=\"num\" data-v=\"-1\">-</td>", out) >= 0;
    int64_t v = q >= 1.0 ? s->max : tl_sketch_quantile(s, q);
    return fprintf(out, "<td class=\"num\" data-v=\"%" PRId64 "\">%.3f</td>", v, (double)v / 1e3) >=
           0;
}

static bool td_n(FILE *out, uint64_t v)
{
    return fprintf(out, "<td class=\"num\" data-v=\"%" PRIu64 "\">%" PRIu64 "</td>", v, v) >= 0;
}

static bool html_row(FILE *out, const struct tl_svc *e)
{
    char ep[TL_ADDR_STRLEN + 8];
    tl_report_endpoint(&e->addr, e->port, ep, sizeof ep);
    bool ok = fprintf(out, "<tr><td data-v=\"%" PRIu64 "\">", e->first_id) >= 0 &&
              tl_html_escape(out, ep) && fputs("</td>", out) >= 0 && td_n(out, e->connections) &&
              td_n(out, e->refused) && td_n(out, e->unanswered) &&
              td_n(out, e->resets[TL_ROLE_CLIENT]) && td_n(out, e->resets[TL_ROLE_SERVER]) &&
              td_n(out, e->timeouts) &&
              fprintf(out, "<td class=\"num\" data-v=\"%.6f\">%.2f %%</td>", tl_svc_retx_rate(e),
                      100.0 * tl_svc_retx_rate(e)) >= 0;
    for (int leg = 0; leg < 2; leg++) {
        const struct tl_sketch *s = leg == 0 ? &e->syn_synack : &e->synack_ack;
        ok = ok && td_us(out, s, 0.5) && td_us(out, s, 0.9) && td_us(out, s, 0.99) &&
             td_us(out, s, 1.0);
    }
    return ok && fputs("</tr>\n", out) >= 0;
}

/* Log scale from 10 µs to 10 s over the chart's width. */
#define CH_W 600
#define CH_LABEL 190
#define CH_ROW 18
static double chart_x(int64_t us)
{
    double v = us < 10 ? 10.0 : (double)us, l = 0.0;
    while (v >= 10.0) {
        v /= 10.0;
        l += 1.0;
    }
    l += (v - 1.0) / 9.0; /* linear within a decade: a chart, not a measure */
    if (l > 7.0)
        l = 7.0;
    return CH_LABEL + (l - 1.0) / 6.0 * (CH_W - CH_LABEL - 10);
}

static bool chart_row(FILE *out, const struct tl_svc *e, int y)
{
    char ep[TL_ADDR_STRLEN + 8];
    tl_report_endpoint(&e->addr, e->port, ep, sizeof ep);
    const struct tl_sketch *s = &e->syn_synack;
    bool ok = fprintf(out, "<text x=\"%d\" y=\"%d\" class=\"svc-label\">", CH_LABEL - 6, y + 12) >=
                  0 &&
              tl_html_escape(out, ep) && fputs("</text>", out) >= 0;
    static const char *const cls[] = {"svc-p99", "svc-p90", "svc-p50"};
    static const double qs[] = {0.99, 0.9, 0.5};
    for (int i = 0; ok && i < 3 && s->n != 0; i++) {
        double x = chart_x(tl_sketch_quantile(s, qs[i]));
        ok = fprintf(out,
                     "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"12\" class=\"%s\">"
                     "<title>%s %.3f ms</title></rect>",
                     CH_LABEL, y + 2, x - CH_LABEL + 1, cls[i], qnames[2 - i],
                     (double)tl_sketch_quantile(s, qs[i]) / 1e3) >= 0;
    }
    return ok && fputc('\n', out) != EOF;
}

static bool html_chart(FILE *out, const struct tl_svc **sorted, uint32_t n)
{
    const struct tl_svc *top[CHART_TOP];
    size_t k = top_by_connections(sorted, n, top, CHART_TOP);
    int h = (int)k * CH_ROW + 24;
    bool ok = fprintf(out,
                      "<h3>Handshake latency, SYN to SYN-ACK (p50, p90, p99; log scale, the %zu "
                      "services with most connections)</h3>\n"
                      "<svg class=\"svc-chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
                      "role=\"img\">\n",
                      k, CH_W, h, CH_W, h) >= 0;
    for (size_t i = 0; ok && i < k; i++)
        ok = chart_row(out, top[i], (int)i * CH_ROW);
    static const int64_t ticks[] = {10, 100, 1000, 10000, 100000, 1000000, 10000000};
    static const char *const tlab[] = {"10µs", "100µs", "1ms", "10ms", "100ms", "1s", "10s"};
    for (size_t i = 0; ok && i < sizeof ticks / sizeof ticks[0]; i++)
        ok = fprintf(out, "<text x=\"%.1f\" y=\"%d\" class=\"svc-tick\">%s</text>\n",
                     chart_x(ticks[i]), h - 6, tlab[i]) >= 0;
    return ok && fputs("</svg>\n", out) >= 0;
}

bool tl_report_html_services(const struct report_summary *sum, FILE *out)
{
    const struct tl_services *s = sum->svc;
    if (s == NULL || s->svc.n == 0)
        return true;
    const struct tl_svc **sorted = tl_svc_sorted(&s->svc);
    bool ok =
        fprintf(out,
                "<section class=\"panel wide\" id=\"services\">\n<h2>Services (%" PRIu32 ")</h2>\n"
                "<p class=\"note\">Per server address:port. Handshake round trips as seen from the "
                "capture point, in ms, within 3.1 %% (a log-bucketed sketch).",
                s->svc.n) >= 0 &&
        (s->svc.untracked == 0 ||
         fprintf(out, " %" PRIu64 " connections of services past the first %u are not counted.",
                 s->svc.untracked, TL_SVC_MAX) >= 0) &&
        fputs("</p>\n", out) >= 0 && html_chart(out, sorted, s->svc.n) &&
        fputs("<div class=\"table-wrap\"><table class=\"sortable\" id=\"svc-table\">\n<thead><tr>"
              "<th>service</th><th class=\"num\">conns</th><th class=\"num\">refused</th>"
              "<th class=\"num\">unanswered</th><th class=\"num\">rst by client</th>"
              "<th class=\"num\">rst by server</th><th class=\"num\">timeouts</th>"
              "<th class=\"num\">retx</th>"
              "<th class=\"num\">syn&gt;synack p50</th><th class=\"num\">p90</th>"
              "<th class=\"num\">p99</th><th class=\"num\">max</th>"
              "<th class=\"num\">synack&gt;ack p50</th><th class=\"num\">p90</th>"
              "<th class=\"num\">p99</th><th class=\"num\">max</th></tr></thead>\n<tbody>\n",
              out) >= 0;
    for (uint32_t i = 0; ok && i < s->svc.n; i++)
        ok = html_row(out, sorted[i]);
    return ok && fputs("</tbody>\n</table></div>\n</section>\n", out) >= 0;
}
