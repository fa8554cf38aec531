/*
 * HTML report (--html FILE): one self-contained page with the summary,
 * a sortable, filterable list of the connections and, for each, a ladder
 * diagram of its timeline with both endpoints' states and its anomalies.
 *
 * Connections go through the reporter core like the other documents: each
 * becomes one line, its record (report_html_int.h), spooled in id order.
 * At the end the page is written top down: head, the summary (known only
 * then; report_html_summary.c), the list's frame, the tables the records
 * index into, the records copied from the spool into one JSON block, and
 * the script that draws the list and the ladders from them. Memory holds
 * one record at a time, whatever the capture's length.
 *
 * Every string that comes from the capture or the run is escaped where it
 * is written: tl_html_escape() in markup, tl_html_script_json() in the
 * JSON blocks; the script puts data into the page as text nodes only.
 */
#include "tcplens/report.h"

#include <stdlib.h>
#include <string.h>

#include "json_writer.h"
#include "report_html_int.h"
#include "report_int.h"

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* bounds of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80; /* overlong forms */
        hi = c == 0xed ? 0x9f : 0xbf; /* UTF-16 surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf; /* beyond U+10FFFF */
    } else
        return 0;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* The character reference for byte c, or NULL when it is written as is. */
static const char *html_ref(unsigned char c)
{
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&#39;";
    case '\t':
    case '\n':
    case '\r': return NULL;
    default: return c < 0x20 || c == 0x7f ? "&#xFFFD;" : NULL;
    }
}

bool tl_html_escape(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), run = 0; /* bytes at p written as they are */
    bool ok = true;
    while (ok && run < n) {
        size_t len = utf8_len(p + run, n - run);
        const char *ref = len == 1 ? html_ref(p[run]) : len == 0 ? "&#xFFFD;" : NULL;
        if (ref == NULL) {
            run += len;
            continue;
        }
        ok = fwrite(p, 1, run, out) == run && fputs(ref, out) >= 0;
        p += run + 1;
        n -= run + 1;
        run = 0;
    }
    return ok && fwrite(p, 1, run, out) == run;
}

/* The escape of json[i] (and of what follows it) in a script, or NULL. */
static const char *script_esc(const char *json, size_t n, size_t i, size_t *used)
{
    *used = 1;
    switch (json[i]) {
    case '<': return "\\u003c";
    case '>': return "\\u003e";
    case '&': return "\\u0026";
    case '\xe2': /* U+2028 and U+2029 end a line in older JavaScript */
        if (i + 2 < n && json[i + 1] == '\x80' &&
            (json[i + 2] == '\xa8' || json[i + 2] == '\xa9')) {
            *used = 3;
            return json[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
        }
        return NULL;
    default: return NULL;
    }
}

char *tl_html_script_json(const char *json, size_t n, size_t *len)
{
    size_t out = 0, used;
    for (size_t i = 0; i < n; i += used)
        out += script_esc(json, n, i, &used) != NULL ? 6 : used;
    char *s = malloc(out + 1);
    if (s == NULL)
        return NULL;
    char *d = s;
    for (size_t i = 0; i < n; i += used) {
        const char *e = script_esc(json, n, i, &used);
        memcpy(d, e != NULL ? e : json + i, e != NULL ? 6 : used);
        d += e != NULL ? 6 : used;
    }
    *d = '\0';
    *len = out;
    return s;
}

/* evidence as an object, as the JSON report writes it. */
static void w_evidence(struct tl_jw *w, const struct tl_anomaly *a)
{
    tl_jw_obj_begin(w);
    for (uint8_t i = 0; i < a->nfields && i < TL_ANOM_MAX_FIELDS; i++) {
        const struct tl_evfield *f = &a->fields[i];
        tl_jw_key(w, f->key);
        switch ((enum tl_evk)f->kind) {
        case TL_EVK_INT: tl_jw_int(w, f->v.i); break;
        case TL_EVK_REAL: tl_jw_real(w, f->v.r); break;
        case TL_EVK_BOOL: tl_jw_bool(w, f->v.b); break;
        case TL_EVK_STR: tl_jw_str(w, f->v.s); break;
        case TL_EVK_ADDR: {
            char s[TL_ADDR_STRLEN];
            tl_jw_str(w, tl_anomaly_addr_text(a, f, s, sizeof s));
            break;
        }
        case TL_EVK_SERIES:
            tl_jw_arr_begin(w);
            for (uint8_t k = 0; k < a->nseries && k < TL_ANOM_MAX_SERIES; k++)
                tl_jw_real(w, a->series[k]);
            tl_jw_arr_end(w);
            break;
        default: tl_jw_null(w); break;
        }
    }
    tl_jw_obj_end(w);
}

static void w_anomaly(struct tl_jw *w, const struct tl_anomaly *a, const struct tl_conn *c)
{
    int64_t t0 = c->first_ts;
    struct tl_anomaly_text t;
    tl_anomaly_render_conn(a, c, &t);
    tl_jw_arr_begin(w);
    tl_jw_int(w, a->type);
    tl_jw_int(w, a->severity);
    tl_jw_int(w, a->endpoint);
    tl_jw_int(w, a->ts - t0);
    tl_jw_arr_begin(w);
    for (uint8_t i = 0; i < a->npkts && i < TL_ANOM_MAX_PKTS; i++)
        tl_jw_uint(w, a->pkts[i]);
    tl_jw_arr_end(w);
    w_evidence(w, a);
    tl_jw_str(w, t.explanation);
    tl_jw_str(w, t.suggestion);
    tl_jw_arr_end(w);
}

/* [[client via...], [server via...]] */
static void w_via(struct tl_jw *w, const struct tl_event *e)
{
    tl_jw_arr_begin(w);
    for (int r = 0; r < 2; r++) {
        tl_jw_arr_begin(w);
        for (int i = 0; i < 2 && e->via[r][i] != 0; i++)
            tl_jw_int(w, e->via[r][i]);
        tl_jw_arr_end(w);
    }
    tl_jw_arr_end(w);
}

static void w_event(struct tl_jw *w, const struct tl_timeline *t, const struct tl_event *e,
                    int64_t t0)
{
    tl_jw_arr_begin(w);
    tl_jw_int(w, e->kind);
    tl_jw_int(w, e->ts - t0);
    tl_jw_uint(w, e->pkt);
    if (e->kind == TL_TL_SUMMARY) {
        const struct tl_sum *sum = tl_timeline_sum(t, e);
        tl_jw_int(w, sum->last_ts - t0);
        tl_jw_uint(w, sum->last_pkt);
        tl_jw_uint(w, sum->packets[0]);
        tl_jw_uint(w, sum->packets[1]);
        tl_jw_uint(w, sum->bytes[0]);
        tl_jw_uint(w, sum->bytes[1]);
    } else {
        char flags[9];
        tl_jw_int(w, e->dir <= TL_TL_NONE ? e->dir : TL_TL_NONE);
        tl_jw_str(w, e->dir < TL_TL_NONE ? tl_tcp_flags_str(e->flags, flags, sizeof flags) : "");
        tl_jw_uint(w, e->seq);
        tl_jw_uint(w, e->ack);
        tl_jw_uint(w, e->len);
        tl_jw_uint(w, tl_event_is_icmp(e) ? 0 : e->win);
    }
    tl_jw_int(w, e->client);
    tl_jw_int(w, e->server);
    if (e->kind != TL_TL_SUMMARY && (e->via[0][0] != 0 || e->via[1][0] != 0))
        w_via(w, e);
    tl_jw_arr_end(w);
}

/* Everything after the endpoints: times, counts, end, states, Zeek. */
static void w_conn_head(struct tl_jw *w, const struct tl_conn_view *v)
{
    const struct tl_conn *c = v->conn;
    tl_jw_int(w, c->roles_from);
    tl_jw_uint(w, tl_conn_vlan(c));
    tl_jw_int(w, c->first_ts);
    tl_jw_int(w, c->last_ts);
    for (int r = 0; r < 2; r++)
        tl_jw_uint(w, c->packets[r]);
    for (int r = 0; r < 2; r++)
        tl_jw_uint(w, c->bytes[r]);
    tl_jw_int(w, c->end);
    for (int r = 0; r < 2; r++)
        tl_jw_int(w, v->tcp != NULL ? v->tcp->ep[r].state : -1);
    tl_jw_str(w, v->zeek != NULL ? tl_zeek_conn_state(v->zeek) : "");
    tl_jw_str(w, v->zeek != NULL ? tl_zeek_history(v->zeek) : "");
    tl_jw_int(w, v->anomalies != NULL ? tl_anomaly_worst(v->anomalies) : -1);
    tl_jw_uint(w, v->timeline != NULL ? v->timeline->dropped : 0);
}

static void w_conn(struct tl_jw *w, const struct tl_conn_view *v)
{
    const struct tl_conn *c = v->conn;
    struct tl_conn_ends ends;
    tl_report_conn_ends(c, &ends);
    tl_jw_arr_begin(w);
    tl_jw_uint(w, c->id);
    for (int r = 0; r < 2; r++) {
        tl_jw_str(w, ends.ip[r]);
        tl_jw_int(w, ends.port[r]);
    }
    w_conn_head(w, v);
    tl_jw_arr_begin(w);
    for (size_t i = 0; v->anomalies != NULL && i < v->anomalies->n; i++)
        w_anomaly(w, &v->anomalies->a[i], c);
    tl_jw_arr_end(w);
    tl_jw_arr_begin(w);
    for (uint32_t i = 0; v->timeline != NULL && i < v->timeline->n; i++)
        w_event(w, v->timeline, &v->timeline->ev[i], c->first_ts);
    tl_jw_arr_end(w);
    tl_jw_arr_end(w);
}

#define CONN_STACK_BYTES 8192

static char *format_conn(const struct tl_conn_view *v, const struct tl_report_cfg *cfg, size_t *len)
{
    (void)cfg; /* the page holds every listed connection's details */
    char stack[CONN_STACK_BYTES];
    struct tl_jw w;
    tl_jw_init(&w, stack, sizeof stack);
    w_conn(&w, v);
    char *s = tl_jw_failed(&w) ? NULL : tl_html_script_json(w.buf, w.len, len);
    tl_jw_free(&w);
    return s;
}

/* ["name", …] for n values of a name function. */
static void w_names(struct tl_jw *w, const char *key, int n, const char *(*name)(int))
{
    tl_jw_key(w, key);
    tl_jw_arr_begin(w);
    for (int i = 0; i < n; i++)
        tl_jw_str(w, name(i));
    tl_jw_arr_end(w);
}

static const char *state_name(int i) { return tl_ep_state_name((enum tl_ep_state)i); }
static const char *anomaly_name(int i) { return tl_anomaly_id((enum tl_anomaly_type)i); }
static const char *sev_name(int i) { return tl_sev_name((enum tl_sev)i); }
static const char *ep_name(int i) { return tl_anom_ep_name((enum tl_anom_ep)i); }
static const char *end_name(int i) { return tl_end_name((enum tl_end)i); }
static const char *roles_name(int i) { return tl_roles_from_name((enum tl_roles_from)i); }

static const char *event_name(int i)
{
    return i == TL_TL_SUMMARY ? "segments" : tl_evkind_name((enum tl_evkind)i);
}

/* The tables the records index into, and what the chart needs. */
static enum tl_status write_meta(const struct tl_report *r, const struct tl_run *run, FILE *out)
{
    struct tl_jw w;
    tl_jw_init(&w, NULL, 0);
    tl_jw_obj_begin(&w);
    w_names(&w, "states", TL_EP_NSTATES, state_name);
    w_names(&w, "events", TL_TL_SUMMARY + 1, event_name);
    w_names(&w, "anomalies", TL_AN_NTYPES, anomaly_name);
    w_names(&w, "severities", TL_SEV_NLEVELS, sev_name);
    w_names(&w, "endpoints", TL_AEP_CONNECTION + 1, ep_name);
    w_names(&w, "ends", TL_END_NENDS, end_name);
    w_names(&w, "roles_from", TL_ROLES_PORT + 1, roles_name);
    tl_jw_key(&w, "first_ts");
    tl_jw_int(&w, run->capture->first_ts);
    tl_jw_key(&w, "last_ts");
    tl_jw_int(&w, run->capture->last_ts);
    tl_jw_key(&w, "connections");
    tl_jw_uint(&w, r->sum->connections);
    tl_jw_key(&w, "listed");
    tl_jw_uint(&w, r->listed);
    tl_jw_key(&w, "anomalies_only");
    tl_jw_bool(&w, r->cfg.anomalies_only);
    tl_jw_obj_end(&w);
    size_t len = 0;
    char *s = tl_jw_failed(&w) ? NULL : tl_html_script_json(w.buf, w.len, &len);
    tl_jw_free(&w);
    if (s == NULL)
        return TL_ENOMEM;
    bool ok = fputs("<script type=\"application/json\" id=\"tl-meta\">", out) >= 0 &&
              fwrite(s, 1, len, out) == len && fputs("</script>\n", out) >= 0;
    free(s);
    return ok ? TL_OK : TL_EIO;
}

#define CSP                                                                       \
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; " \
    "img-src data:; base-uri 'none'; form-action 'none'"

/* "tcplens: a.pcap, b.pcap" (the first three inputs). */
static bool write_title(const struct tl_run *run, FILE *out)
{
    bool ok = fputs("<title>tcplens: ", out) >= 0;
    for (size_t i = 0; ok && i < run->ninputs && i < 3; i++)
        ok = (i == 0 || fputs(", ", out) >= 0) && tl_html_escape(out, run->inputs[i].name);
    if (ok && run->ninputs > 3)
        ok = fprintf(out, " and %zu more", run->ninputs - 3) >= 0;
    return ok && fputs("</title>\n", out) >= 0;
}

static bool write_head(const struct tl_run *run, FILE *out)
{
    return fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<meta http-equiv=\"Content-Security-Policy\" content=\"" CSP "\">\n"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                 "<meta name=\"generator\" content=\"tcplens " PACKAGE_VERSION "\">\n",
                 out) >= 0 &&
           write_title(run, out) && fputs("<style>\n", out) >= 0 && fputs(tl_html_css, out) >= 0 &&
           fputs("</style>\n</head>\n<body>\n", out) >= 0;
}

/* The list's frame: the script fills the table body and the pager. */
static const char list_frame[] =
    "<section id=\"connections\" class=\"panel wide\">\n"
    "<h2>Connections</h2>\n"
    "<div class=\"controls\">\n"
    "<input type=\"search\" id=\"filter\" placeholder=\"Filter: address, port, state, "
    "anomaly, end… (all words must match)\" aria-label=\"Filter connections\" "
    "autocomplete=\"off\">\n"
    "<label><input type=\"checkbox\" id=\"only-bad\"> with warnings or errors only</label>\n"
    "<button type=\"button\" id=\"expand-all\">Expand shown</button>\n"
    "<button type=\"button\" id=\"collapse-all\">Collapse all</button>\n"
    "<span id=\"count\" role=\"status\"></span>\n"
    "</div>\n"
    "<div class=\"table-wrap\"><table id=\"conns\">\n<thead><tr></tr></thead>\n"
    "<tbody></tbody>\n</table></div>\n"
    "<div class=\"pager\"><button type=\"button\" id=\"prev\">‹ Previous</button> "
    "<span id=\"page\"></span> <button type=\"button\" id=\"next\">Next ›</button></div>\n"
    "<noscript><p class=\"note\">The connection list and the ladder diagrams are drawn "
    "by the page's script: allow JavaScript to see them, or read the same data with "
    "<code>tcplens --json</code>.</p></noscript>\n"
    "</section>\n</main>\n";

static enum tl_status write_doc(const struct tl_report *r, const struct tl_run *run, FILE *spool)
{
    FILE *out = r->cfg.out;
    if (!write_head(run, out))
        return TL_EIO;
    enum tl_status st = tl_report_html_summary(r, run, out);
    if (st != TL_OK)
        return st;
    if (fputs(list_frame, out) < 0)
        return TL_EIO;
    st = write_meta(r, run, out);
    if (st != TL_OK)
        return st;
    if (fputs("<script type=\"application/json\" id=\"tl-data\">[\n", out) < 0)
        return TL_EIO;
    st = tl_report_copy_spool(spool, out, "", ",\n");
    if (st != TL_OK)
        return st;
    if (fputs("]</script>\n<script>\n", out) < 0 || fputs(tl_html_js, out) < 0 ||
        fputs("</script>\n</body>\n</html>\n", out) < 0)
        return TL_EIO;
    return TL_OK;
}

const struct report_ops tl_report_html_ops = {format_conn, write_doc, NULL};
