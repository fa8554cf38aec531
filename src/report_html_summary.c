/*
 * The HTML report's header and summary, written at the end when the
 * counts are known: what was read, cards with the headline numbers, both
 * endpoints' states at end per role, anomalies by severity and type, the
 * hosts with the most TIME_WAIT, CLOSE_WAIT and resets, lifetimes, the
 * frame of the chart of connections over time (drawn by the script from
 * the records) and the host anomalies with their explanations.
 */
#include "tcplens/report.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report_html_int.h"
#include "report_int.h"

/* The page being written; errors are sticky, checked once at the end. */
struct page {
    FILE *out;
    bool ok;
    bool nomem; /* the groups could not be sorted */
};

/* Markup (never data: that goes through esc()). */
static TL_PRINTF(2, 3) void put(struct page *p, const char *fmt, ...)
{
    if (!p->ok)
        return;
    va_list ap;
    va_start(ap, fmt);
    p->ok = vfprintf(p->out, fmt, ap) >= 0;
    va_end(ap);
}

static void esc(struct page *p, const char *s)
{
    if (p->ok)
        p->ok = tl_html_escape(p->out, s != NULL ? s : "");
}

/* Seconds as people write them: "0.000011", "2.5", "1e+12". */
static void seconds(char *buf, size_t size, double r)
{
    double m = r < 0 ? -r : r;
    if (m != 0 && (m < 1e-6 || m >= 1e12 || m != m)) {
        snprintf(buf, size, "%.6g", r);
        return;
    }
    snprintf(buf, size, "%.6f", r);
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '0')
        n--;
    if (n > 1 && buf[n - 1] == '.')
        n--;
    buf[n] = '\0';
}

static void write_inputs(struct page *p, const struct tl_run *run)
{
    put(p, "<ul class=\"inputs\">\n");
    for (size_t i = 0; i < run->ninputs; i++) {
        const struct tl_input_info *in = &run->inputs[i];
        put(p, "<li%s><b>", in->status == TL_OK ? "" : " class=\"err\"");
        esc(p, in->name);
        put(p, "</b> ");
        esc(p, in->linktype_name != NULL ? in->linktype_name : "?");
        put(p, " · %" PRIu64 " packets", in->packets);
        if (in->status != TL_OK) {
            put(p, " · <span class=\"err-text\">error: ");
            esc(p, in->error);
            put(p, "</span>");
        }
        put(p, "</li>\n");
    }
    put(p, "</ul>\n");
}

static void write_header(struct page *p, const struct tl_run *run)
{
    put(p, "<header>\n<h1>tcplens <span>TCP connection report</span></h1>\n");
    write_inputs(p, run);
    if (run->filter != NULL && run->filter[0] != '\0') {
        put(p, "<p class=\"filter\">filter <code>");
        esc(p, run->filter);
        put(p, "</code></p>\n");
    }
    put(p, "</header>\n<main>\n<section id=\"summary\">\n");
}

static void card(struct page *p, const char *cls, const char *value, const char *label)
{
    put(p, "<div class=\"card%s%s\"><b>", cls[0] ? " " : "", cls);
    esc(p, value);
    put(p, "</b><span>");
    esc(p, label);
    put(p, "</span></div>\n");
}

static void write_cards(struct page *p, const struct report_summary *sum,
                        const struct tl_capture_info *cap)
{
    char v[64];
    put(p, "<div class=\"cards\">\n");
    snprintf(v, sizeof v, "%" PRIu64, sum->connections);
    card(p, "", v, "connections");
    /* fin, rst, timeout, evicted, then open: how they ended, then not. */
    for (int k = 1; k <= TL_END_NENDS; k++) {
        int e = k % TL_END_NENDS;
        snprintf(v, sizeof v, "%" PRIu64, sum->ends[e]);
        char label[32];
        snprintf(label, sizeof label, "end %s", tl_end_name((enum tl_end)e));
        if (sum->ends[e] != 0 || e == TL_END_FIN || e == TL_END_RST)
            card(p, e == TL_END_RST ? "end-rst" : "", v, label);
    }
    static const char *const sev_label[TL_SEV_NLEVELS] = {"info", "warnings", "errors"};
    for (int s = TL_SEV_NLEVELS - 1; s >= 0; s--) {
        char cls[32];
        snprintf(v, sizeof v, "%" PRIu64, sum->by_sev[s]);
        snprintf(cls, sizeof cls, "sev-%s%s", tl_sev_name((enum tl_sev)s),
                 sum->by_sev[s] == 0 ? " zero" : "");
        card(p, cls, v, sev_label[s]);
    }
    snprintf(v, sizeof v, "%" PRIu64, cap->packets);
    card(p, "", v, "packets");
    seconds(v, sizeof v - 2, (double)(cap->last_ts - cap->first_ts) / 1e6);
    strcat(v, " s");
    card(p, "", v, "captured");
    put(p, "</div>\n");
}

static void kv(struct page *p, const char *key) { put(p, "<tr><th>%s</th><td>", key); }

static void write_skipped(struct page *p, const struct tl_capture_info *cap)
{
    uint64_t icmp = cap->icmp_matched + cap->icmp_unmatched;
    put(p, "%" PRIu64 " read, %" PRIu64 " TCP, ", cap->packets, cap->tcp_packets);
    if (icmp != 0)
        put(p, "%" PRIu64 " ICMP errors about TCP (%" PRIu64 " of no connection seen), ", icmp,
            cap->icmp_unmatched);
    put(p, "%" PRIu64 " skipped", cap->packets - cap->tcp_packets - icmp);
    const char *sep = " (";
    for (int i = 1; i < TL_DEC_NRESULTS; i++) {
        if (cap->skipped[i] == 0)
            continue;
        put(p, "%s%s %" PRIu64, sep, tl_dec_name((enum tl_dec)i), cap->skipped[i]);
        sep = ", ";
    }
    if (sep[0] == ',')
        put(p, ")");
}

static void write_capture(struct page *p, const struct tl_report *r,
                          const struct tl_capture_info *cap)
{
    const struct report_summary *sum = r->sum;
    char a[40], b[40];
    put(p, "<div class=\"panel\">\n<h2>Capture</h2>\n<table class=\"kv\">\n");
    if (cap->partial) {
        kv(p, "partial");
        put(p, "the read was interrupted: this report covers only the packets read before "
               "it</td></tr>\n");
    }
    if (cap->packets > 0) {
        kv(p, "first packet");
        put(p, "%s UTC</td></tr>\n", tl_report_utc(cap->first_ts, a, sizeof a));
        kv(p, "last packet");
        put(p, "%s UTC</td></tr>\n", tl_report_utc(cap->last_ts, b, sizeof b));
    }
    if (cap->packets > 0 && cap->end_source != TL_CEND_LAST_PACKET) {
        kv(p, "capture end");
        put(p, "%s UTC (%s)</td></tr>\n", tl_report_utc(cap->end_ts, a, sizeof a),
            tl_report_end_source(cap->end_source));
    }
    if (cap->nfollow > 0) {
        char fw[160];
        kv(p, "followed");
        put(p, "%s</td></tr>\n", tl_report_follow_words(cap, fw, sizeof fw));
    }
    kv(p, "packets");
    write_skipped(p, cap);
    put(p, "</td></tr>\n");
    kv(p, "connections");
    put(p, "%" PRIu64 " (at most %zu held at once, open or lingering after their end)",
        sum->connections, cap->peak_flows);
    if (r->cfg.anomalies_only)
        put(p, "; %" PRIu64 " listed: with a warning or an error", r->listed);
    put(p, "</td></tr>\n");
    if (cap->evicted_idle || cap->evicted_cap || cap->evicted_hosts || cap->evicted_tombstones) {
        kv(p, "evicted");
        put(p, "%" PRIu64 " idle, %" PRIu64 " by --max-flows, %" PRIu64 " host aggregates",
            cap->evicted_idle, cap->evicted_cap, cap->evicted_hosts);
        if (cap->evicted_tombstones)
            put(p, ", %" PRIu64 " tombstones", cap->evicted_tombstones);
        put(p, "</td></tr>\n");
    }
    if (cap->late_segments) {
        kv(p, "late");
        put(p,
            "%" PRIu64 " TCP segments reached connections already reported (--linger): "
            "counted, not connections of their own</td></tr>\n",
            cap->late_segments);
    }
    if (cap->live) {
        kv(p, "live");
        put(p,
            "%" PRIu64 " received, %" PRIu64 " dropped by the kernel, %" PRIu64
            " by the interface%s</td></tr>\n",
            cap->live_received, cap->live_dropped, cap->live_if_dropped,
            cap->live_dropped + cap->live_if_dropped > 0
                ? " <span class=\"warn-text\">states and anomalies of connections active "
                  "then may be wrong</span>"
                : "");
    }
    if (cap->file_stats) {
        kv(p, "file statistics");
        put(p,
            "%" PRIu64 " received, %" PRIu64 " dropped by the interface, %" PRIu64
            " by the OS (pcapng)%s</td></tr>\n",
            cap->file_received, cap->file_if_dropped, cap->file_os_dropped,
            cap->file_if_dropped + cap->file_os_dropped > 0
                ? " <span class=\"warn-text\">states and anomalies of connections active "
                  "then may be wrong</span>"
                : "");
    }
    if (cap->shard_count > 1) {
        kv(p, "shard");
        put(p,
            "%" PRIu32 " of %" PRIu32 ": %" PRIu64 " TCP packets belong to the other "
            "shards' connections</td></tr>\n",
            cap->shard_index + 1, cap->shard_count, cap->shard_other_packets);
    }
    if (r->out_of_order > 0) {
        kv(p, "order");
        put(p,
            "%" PRIu64 " written after newer ones (too many waited for an older one)"
            "</td></tr>\n",
            r->out_of_order);
    }
    put(p, "</table>\n</div>\n");
}

static void write_states(struct page *p, const struct report_summary *sum)
{
    put(p, "<div class=\"panel\">\n<h2>States at end</h2>\n");
    put(p, "<table class=\"num\" id=\"states-at-end\">\n<thead><tr><th>state</th>"
           "<th>client</th><th>server</th></tr></thead>\n<tbody>\n");
    for (int s = 0; s < TL_EP_NSTATES; s++) {
        uint64_t c = sum->states[TL_ROLE_CLIENT][s], v = sum->states[TL_ROLE_SERVER][s];
        if (c == 0 && v == 0)
            continue;
        const char *name = tl_ep_state_name((enum tl_ep_state)s);
        put(p,
            "<tr><th><button type=\"button\" class=\"link\" data-filter=\"%s\">%s</button>"
            "</th><td>%" PRIu64 "</td><td>%" PRIu64 "</td></tr>\n",
            name, name, c, v);
    }
    put(p, "</tbody>\n</table>\n</div>\n");
}

static int type_sev(const struct report_summary *sum, int t)
{
    return sum->type_worst[t] >= 0 ? sum->type_worst[t]
                                   : (int)tl_anomaly_default_sev((enum tl_anomaly_type)t);
}

/* Worst severity first, registry order within one. */
static void write_anomalies(struct page *p, const struct report_summary *sum)
{
    put(p, "<div class=\"panel\">\n<h2>Anomalies</h2>\n");
    uint64_t total = 0;
    for (int s = 0; s < TL_SEV_NLEVELS; s++)
        total += sum->by_sev[s];
    if (total == 0) {
        put(p, "<p class=\"note\">none</p>\n</div>\n");
        return;
    }
    put(p, "<table class=\"num\" id=\"anomaly-counts\">\n<thead><tr><th>severity</th>"
           "<th>type</th><th>count</th></tr></thead>\n<tbody>\n");
    for (int s = TL_SEV_NLEVELS - 1; s >= 0; s--)
        for (int t = 0; t < TL_AN_NTYPES; t++) {
            if (sum->anomalies[t] == 0 || type_sev(sum, t) != s)
                continue;
            const char *sev = tl_sev_name((enum tl_sev)s);
            const char *id = tl_anomaly_id((enum tl_anomaly_type)t);
            put(p, "<tr><td><span class=\"badge sev-%s\">%s</span></td><td>", sev, sev);
            if (tl_anomaly_is_host((enum tl_anomaly_type)t))
                put(p, "<a href=\"#host-anomalies\">%s</a>", id);
            else
                put(p, "<button type=\"button\" class=\"link\" data-filter=\"%s\">%s</button>", id,
                    id);
            put(p, "</td><td>%" PRIu64 "</td></tr>\n", sum->anomalies[t]);
        }
    put(p, "</tbody>\n</table>\n</div>\n");
}

static const char *const host_labels[TL_HOSTS_NTALLIES] = {
    [TL_HOSTS_TIME_WAIT] = "most TIME_WAIT at end",
    [TL_HOSTS_CLOSE_WAIT] = "most CLOSE_WAIT at end",
    [TL_HOSTS_RESETS] = "most resets sent",
};

static void write_top(struct page *p, const struct report_top *t, const char *label)
{
    const struct report_host *top[TL_REPORT_TOP_SHOWN];
    size_t n = tl_report_top_hosts(t, top, TL_REPORT_TOP_SHOWN);
    if (n > 0)
        put(p, "<tr><th colspan=\"2\" class=\"tally\">%s</th></tr>\n", label);
    for (size_t i = 0; i < n; i++) {
        char ip[TL_ADDR_STRLEN];
        put(p, "<tr><td><button type=\"button\" class=\"link\" data-filter=\"");
        esc(p, tl_addr_str(&top[i]->addr, ip, sizeof ip));
        put(p, "\">");
        esc(p, ip);
        put(p, "</button></td><td>%" PRIu64 "</td></tr>\n", top[i]->n);
    }
    if (t->untallied > 0)
        put(p,
            "<tr><td colspan=\"2\" class=\"note\">more hosts than the %u ranked: %" PRIu64
            " more were not ranked; a host first seen after that may rank higher than "
            "shown</td></tr>\n",
            TL_REPORT_TOP_HOSTS, t->untallied);
}

static void write_lifetimes(struct page *p, const struct report_summary *sum,
                            const struct tl_capture_info *cap)
{
    static const char *const names[TL_LIFE_N] = {"under 1 s", "1 to 10 s", "10 to 60 s",
                                                 "60 s or more"};
    uint64_t closed = 0;
    for (int b = 0; b < TL_LIFE_N; b++)
        closed += sum->life[b];
    put(p, "<h3>Lifetimes of closed connections</h3>\n<table class=\"num\">\n");
    for (int b = 0; b < TL_LIFE_N; b++)
        put(p, "<tr><th>%s</th><td>%" PRIu64 "</td></tr>\n", names[b], sum->life[b]);
    put(p, "<tr><th>not closed</th><td>%" PRIu64 "</td></tr>\n</table>\n",
        sum->connections - closed);
    int64_t span = cap->last_ts - cap->first_ts;
    put(p, "<p class=\"note\">%" PRIu64 " opened and closed within 1 s", sum->short_lived);
    if (span > 0 && sum->short_lived > 0)
        put(p,
            " (%.2f per second of capture): each costs a handshake and leaves a "
            "TIME_WAIT socket for 60 s on the side that closed first; keep-alive or a "
            "connection pool would avoid them",
            (double)sum->short_lived * (double)TL_USEC_PER_SEC / (double)span);
    put(p, ".</p>\n");
}

static void write_hosts(struct page *p, const struct report_summary *sum,
                        const struct tl_capture_info *cap)
{
    put(p, "<div class=\"panel\">\n<h2>Hosts</h2>\n<table class=\"num hosts\">\n");
    bool any = false;
    for (int k = 0; k < TL_HOSTS_NTALLIES; k++) {
        write_top(p, &sum->hosts[k], host_labels[k]);
        any = any || sum->hosts[k].used != 0;
    }
    if (sum->resets_unknown != 0)
        put(p,
            "<tr><td colspan=\"2\" class=\"note\">%" PRIu64 " more ended by a reset "
            "whose sender the timeline does not show</td></tr>\n",
            sum->resets_unknown);
    else if (!any)
        put(p, "<tr><td class=\"note\">no host holds TIME_WAIT or CLOSE_WAIT at the end or "
               "sent a reset</td></tr>\n");
    put(p, "</table>\n");
    write_lifetimes(p, sum, cap);
    put(p, "</div>\n");
}

static void evidence_value(struct page *p, const struct tl_anomaly *a, const struct tl_evfield *f)
{
    char s[64];
    switch ((enum tl_evk)f->kind) {
    case TL_EVK_INT: put(p, "%" PRId64, f->v.i); break;
    case TL_EVK_REAL:
        seconds(s, sizeof s, f->v.r);
        put(p, "%s", s);
        break;
    case TL_EVK_BOOL: put(p, "%s", f->v.b ? "true" : "false"); break;
    case TL_EVK_STR: esc(p, f->v.s); break;
    case TL_EVK_ADDR: esc(p, tl_anomaly_addr_text(a, f, s, sizeof s)); break;
    case TL_EVK_SERIES:
        for (uint8_t k = 0; k < a->nseries && k < TL_ANOM_MAX_SERIES; k++) {
            seconds(s, sizeof s, a->series[k]);
            put(p, "%s%s", k == 0 ? "[" : " ", s);
        }
        put(p, "]");
        break;
    }
}

static void write_text(struct page *p, const char *cls, const char *label, const char *s)
{
    if (s[0] == '\0')
        return;
    put(p, "<p class=\"%s\"><b>%s</b> ", cls, label);
    esc(p, s);
    put(p, "</p>\n");
}

/* One host anomaly, its explanation folded away when there are many. */
static void host_anomaly(struct page *p, const struct tl_host_anomaly *h, bool open)
{
    const struct tl_anomaly *a = &h->a;
    const char *sev = tl_sev_name((enum tl_sev)a->severity);
    char t[40];
    put(p,
        "<details class=\"anomaly sev-%s\"%s>\n<summary class=\"ahead\"><span class=\"badge "
        "sev-%s\">%s</span> <b>%s</b> host <code>",
        sev, open ? " open" : "", sev, sev, tl_anomaly_id((enum tl_anomaly_type)a->type));
    esc(p, h->host);
    if (h->port != 0)
        put(p, ":%u", (unsigned)h->port);
    put(p, "</code>");
    if (h->peer[0] != '\0') {
        put(p, " to <code>");
        esc(p, h->peer);
        if (h->peer_port != 0)
            put(p, ":%u", (unsigned)h->peer_port);
        put(p, "</code>");
    }
    put(p, " at %s UTC</summary>\n", tl_report_utc(a->ts, t, sizeof t));
    struct tl_anomaly_text txt;
    tl_host_anomaly_render(h, &txt);
    write_text(p, "x", "What happened", txt.explanation);
    write_text(p, "g", "What to do", txt.suggestion);
    if (a->nfields > 0) {
        put(p, "<p class=\"ev\"><b>Evidence</b> ");
        for (uint8_t i = 0; i < a->nfields && i < TL_ANOM_MAX_FIELDS; i++) {
            put(p, "%s<span>", i == 0 ? "" : ", ");
            esc(p, a->fields[i].key);
            put(p, "</span> ");
            evidence_value(p, a, &a->fields[i]);
        }
        put(p, "</p>\n");
    }
    put(p, "<p class=\"conns\"><b>Connections</b>");
    for (uint32_t i = 0; i < h->nconns && i < TL_HOST_MAX_CONNS; i++)
        put(p, " <a href=\"#c%" PRIu64 "\">%" PRIu64 "</a>", h->conns[i], h->conns[i]);
    if (h->total_conns > h->nconns)
        put(p, " and %" PRIu64 " more", h->total_conns - h->nconns);
    put(p, "</p>\n</details>\n");
}

/* Up to this many host anomalies are shown unfolded. */
#define HOST_ANOMALIES_OPEN 8

static void write_host_anomalies(struct page *p, const struct tl_run *run)
{
    const struct tl_host_anomaly_list *l = run->host_anomalies;
    if (l == NULL || l->n == 0)
        return;
    put(p, "<section class=\"panel wide\" id=\"host-anomalies\">\n<h2>Host anomalies (%zu)</h2>\n",
        l->n);
    for (size_t i = 0; i < l->n; i++)
        host_anomaly(p, &l->a[i], l->n <= HOST_ANOMALIES_OPEN);
    put(p, "</section>\n");
}

/* Rows shown per anomaly type; the rest are counted. */
#define GROUP_ROWS_MAX 50

/* A type's heading, its one explanation and suggestion (its first
 * connection's or host's), then a table of its services. */
static void group_type(struct page *p, const struct report_groups *g, uint8_t type, bool open)
{
    const struct report_group_type *t = &g->t[type];
    const char *sev = tl_sev_name((enum tl_sev)t->sev);
    put(p,
        "<details class=\"anomaly sev-%s\"%s>\n<summary class=\"ahead\"><span class=\"badge "
        "sev-%s\">%s</span> <b>%s</b> %" PRIu64 " connection%s, %" PRIu64 " %s</summary>\n",
        sev, open ? " open" : "", sev, sev, tl_anomaly_id((enum tl_anomaly_type)type), t->conns,
        t->conns == 1 ? "" : "s", t->groups,
        t->ex_h != NULL ? (t->groups == 1 ? "host" : "hosts")
                        : (t->groups == 1 ? "service" : "services"));
    struct tl_anomaly_text x;
    tl_report_group_text(t, &x);
    char who[80] = "What happened";
    if (t->ex_h == NULL && t->conns > 1 && t->ex_id != 0)
        snprintf(who, sizeof who, "What happened (connection %" PRIu64 ", the first)", t->ex_id);
    else if (t->ex_h != NULL && t->groups > 1)
        snprintf(who, sizeof who, "What happened (the first host)");
    write_text(p, "x", who, x.explanation);
    write_text(p, "g", "What to do", x.suggestion);
}

/* One service of a type: count, span, examples, the command. */
static void group_row(struct page *p, const struct report_group *e, const struct tl_run *run)
{
    char svc[TL_ADDR_STRLEN + 8], a[40], b[40], cmd[TL_REPORT_COMMAND_MAX];
    if (e->addr.family == 0)
        snprintf(svc, sizeof svc, "?");
    else if (e->port != 0)
        tl_report_endpoint(&e->addr, e->port, svc, sizeof svc);
    else
        tl_addr_str(&e->addr, svc, sizeof svc);
    put(p, "<tr><th><code>");
    esc(p, svc);
    put(p, "</code></th><td>%" PRIu64 "</td><td>%s</td><td>%s</td><td>", e->n,
        tl_report_utc(e->first_ts, a, sizeof a), tl_report_utc(e->last_ts, b, sizeof b));
    for (uint8_t i = 0; i < e->nex; i++)
        put(p, "%s<a href=\"#c%" PRIu64 "\">%" PRIu64 "</a>", i ? " " : "", e->ex[i], e->ex[i]);
    put(p, "</td><td><code>");
    esc(p, run->capture->live ? "" : tl_report_group_command(e, run, cmd, sizeof cmd));
    put(p, "</code></td></tr>\n");
}

/* Warnings and errors by type and service, as the text report groups them. */
static void write_groups(struct page *p, const struct tl_report *r, const struct tl_run *run)
{
    size_t n;
    const struct report_groups *g = &r->sum->groups;
    const struct report_group **v = tl_report_groups_sorted(g, &n);
    if (v == NULL) {
        p->nomem = true;
        return;
    }
    if (n > 0)
        put(p, "<section class=\"panel wide\" id=\"groups\">\n<h2>Anomaly groups (%zu)</h2>\n", n);
    size_t types = 0;
    for (size_t i = 0; i < n; i++)
        types += i == 0 || v[i]->type != v[i - 1]->type;
    for (size_t i = 0; i < n;) {
        uint8_t type = v[i]->type;
        group_type(p, g, type, types <= HOST_ANOMALIES_OPEN);
        put(p, "<table class=\"num hosts groups\">\n<thead><tr><th>service</th><th>connections</th>"
               "<th>first (UTC)</th><th>last (UTC)</th><th>e.g.</th><th>list them</th></tr>"
               "</thead>\n<tbody>\n");
        uint64_t more = 0, conns = 0;
        for (size_t k = 0; i < n && v[i]->type == type; i++, k++) {
            if (k < GROUP_ROWS_MAX) {
                group_row(p, v[i], run);
            } else {
                more++;
                conns += v[i]->n;
            }
        }
        put(p, "</tbody>\n</table>\n");
        if (more > 0)
            put(p,
                "<p>%" PRIu64 " more, %" PRIu64 " connections (the text report with "
                "<code>--anomalies-only</code> lists them)</p>\n",
                more, conns);
        put(p, "</details>\n");
    }
    if (n > 0)
        put(p, "</section>\n");
    free(v);
}

enum tl_status tl_report_html_summary(const struct tl_report *r, const struct tl_run *run,
                                      FILE *out)
{
    struct page p = {out, true, false};
    const struct tl_capture_info *cap = run->capture;
    write_header(&p, run);
    write_cards(&p, r->sum, cap);
    put(&p, "<div class=\"grid\">\n");
    write_capture(&p, r, cap);
    write_states(&p, r->sum);
    write_anomalies(&p, r->sum);
    write_hosts(&p, r->sum, cap);
    put(&p, "</div>\n<div class=\"panel wide\">\n<h2>Connections over time</h2>\n"
            "<div id=\"chart\"></div>\n</div>\n");
    p.ok = p.ok && tl_report_html_services(r->sum, out);
    write_host_anomalies(&p, run);
    write_groups(&p, r, run);
    put(&p, "</section>\n");
    return p.nomem ? TL_ENOMEM : p.ok ? TL_OK : TL_EIO;
}
