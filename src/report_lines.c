/*
 * Live reports for people: one line per connection as it ends (with
 * --anomalies-only, only those that went wrong), and snapshots of the
 * connections still open with both endpoints' states, like `ss -tan`.
 */
#include "tcplens/report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"

#define LINE_MAX_LEN 512

/* The time of day of a UTC timestamp (the date when it is odd). */
static const char *time_of_day(int64_t ts, char *buf, size_t size)
{
    tl_report_utc(ts, buf, size);
    return strlen(buf) > 11 ? buf + 11 : buf;
}


/* "12:00:01.250000 #7 10.0.0.1:5000 -> 10.0.0.2:80 rst 0.2s CLOSED/CLOSED
 *  warning rst_instead_of_fin" */
static char *format_conn(const struct tl_conn_view *v, const struct tl_report_cfg *cfg, size_t *len)
{
    (void)cfg;
    const struct tl_conn *c = v->conn;
    char cl[TL_ADDR_STRLEN + 8], sv[TL_ADDR_STRLEN + 8], when[40];
    tl_report_endpoints(c, cl, sv, sizeof cl);
    char *s = malloc(LINE_MAX_LEN);
    if (s == NULL)
        return NULL;
    int64_t d = c->last_ts - c->first_ts;
    int n = snprintf(s, LINE_MAX_LEN, "%s #%" PRIu64 " %s -> %s %s %" PRId64 ".%03" PRId64 "s",
                     time_of_day(c->last_ts, when, sizeof when), c->id, cl, sv, tl_end_name(c->end),
                     d / TL_USEC_PER_SEC, d % TL_USEC_PER_SEC / 1000);
    if (v->tcp != NULL && n > 0 && n < LINE_MAX_LEN)
        n += snprintf(s + n, LINE_MAX_LEN - (size_t)n, " %s/%s",
                      tl_ep_state_name(v->tcp->ep[TL_ROLE_CLIENT].state),
                      tl_ep_state_name(v->tcp->ep[TL_ROLE_SERVER].state));
    for (size_t i = 0; v->anomalies != NULL && i < v->anomalies->n && n > 0 && n < LINE_MAX_LEN;
         i++) {
        const struct tl_anomaly *a = &v->anomalies->a[i];
        n += snprintf(s + n, LINE_MAX_LEN - (size_t)n, " %s:%s",
                      tl_sev_name((enum tl_sev)a->severity),
                      tl_anomaly_id((enum tl_anomaly_type)a->type));
    }
    *len = n < 0 ? 0 : (size_t)n >= LINE_MAX_LEN ? LINE_MAX_LEN - 1 : (size_t)n;
    return s;
}

/* Lines were written as they came; nothing is left for the end. */
static enum tl_status write_doc(const struct tl_report *r, const struct tl_run *run, FILE *spool)
{
    (void)r;
    (void)run;
    (void)spool;
    return TL_OK;
}

const struct report_ops tl_report_lines_ops = {format_conn, write_doc, NULL};

bool tl_report_snapshot_head(FILE *out, int64_t now_us, size_t nconns)
{
    char when[40];
    return fprintf(out,
                   "snapshot %s UTC: %zu open connection%s\n%6s  %-11s %-11s %-24s %-24s %9s %9s\n",
                   tl_report_utc(now_us, when, sizeof when), nconns, nconns == 1 ? "" : "s", "id",
                   "client", "server", "client address", "server address", "age s", "idle s") >= 0;
}

bool tl_report_snapshot_line(FILE *out, int64_t now_us, const struct tl_conn_view *v)
{
    const struct tl_conn *c = v->conn;
    char cl[TL_ADDR_STRLEN + 8], sv[TL_ADDR_STRLEN + 8];
    tl_report_endpoints(c, cl, sv, sizeof cl);
    int cs = v->tcp ? v->tcp->ep[TL_ROLE_CLIENT].state : TL_EP_UNKNOWN;
    int ss = v->tcp ? v->tcp->ep[TL_ROLE_SERVER].state : TL_EP_UNKNOWN;
    return fprintf(out, "%6" PRIu64 "  %-11s %-11s %-24s %-24s %9.3f %9.3f\n", c->id,
                   tl_ep_state_name((enum tl_ep_state)cs), tl_ep_state_name((enum tl_ep_state)ss),
                   cl, sv, (double)(now_us - c->first_ts) / 1e6,
                   (double)(now_us - c->last_ts) / 1e6) >= 0;
}
