/*
 * The text report's summary section, what an on-call engineer reads first:
 * both endpoints' states at the end of the capture (the tally people make
 * with `netstat -na | awk`), anomalies by severity and type, the hosts
 * holding the most TIME_WAIT and CLOSE_WAIT sockets and sending the most
 * resets, and how long connections live.
 */
#include "tcplens/report.h"

#include <inttypes.h>
#include <string.h>

#include "report_int.h"

#define LABEL_W 30

static bool write_states(const struct report_summary *sum, FILE *out)
{
    bool any = false;
    for (int s = 0; s < TL_EP_NSTATES; s++)
        any = any || sum->states[0][s] != 0 || sum->states[1][s] != 0;
    if (!any)
        return true;
    bool ok = fprintf(out, "\n%-15s %8s %8s\n", "states at end", "client", "server") >= 0;
    for (int s = 0; ok && s < TL_EP_NSTATES; s++) {
        const uint64_t c = sum->states[TL_ROLE_CLIENT][s], v = sum->states[TL_ROLE_SERVER][s];
        if (c != 0 || v != 0)
            ok = fprintf(out, "  %-13s %8" PRIu64 " %8" PRIu64 "\n",
                         tl_ep_state_name((enum tl_ep_state)s), c, v) >= 0;
    }
    return ok;
}

static int type_sev(const struct report_summary *sum, int t)
{
    return sum->type_worst[t] >= 0 ? sum->type_worst[t]
                                   : (int)tl_anomaly_default_sev((enum tl_anomaly_type)t);
}

/* "anomalies  7: 1 error, 2 warning, 4 info", then one line per type,
 * worst severity first, in registry order within a severity. */
static bool write_anomalies(const struct report_summary *sum, FILE *out)
{
    uint64_t total = 0;
    for (int s = 0; s < TL_SEV_NLEVELS; s++)
        total += sum->by_sev[s];
    if (total == 0)
        return fputs("\nanomalies  none\n", out) >= 0;
    bool ok = fprintf(out, "\nanomalies  %" PRIu64, total) >= 0;
    const char *sep = ": ";
    for (int s = TL_SEV_NLEVELS - 1; ok && s >= 0; s--) {
        if (sum->by_sev[s] == 0)
            continue;
        ok = fprintf(out, "%s%" PRIu64 " %s", sep, sum->by_sev[s], tl_sev_name((enum tl_sev)s)) >=
             0;
        sep = ", ";
    }
    ok = ok && fputc('\n', out) != EOF;
    for (int s = TL_SEV_NLEVELS - 1; ok && s >= 0; s--)
        for (int t = 0; ok && t < TL_AN_NTYPES; t++)
            if (sum->anomalies[t] != 0 && type_sev(sum, t) == s)
                ok = fprintf(out, "  %-8s %-26s %8" PRIu64 "\n", tl_sev_name((enum tl_sev)s),
                             tl_anomaly_id((enum tl_anomaly_type)t), sum->anomalies[t]) >= 0;
    return ok;
}

static const char *const host_labels[TL_HOSTS_NTALLIES] = {
    [TL_HOSTS_TIME_WAIT] = "most TIME_WAIT at end",
    [TL_HOSTS_CLOSE_WAIT] = "most CLOSE_WAIT at end",
    [TL_HOSTS_RESETS] = "most resets sent",
};

/* One tally: up to TL_REPORT_TOP_SHOWN hosts, the label on the first. */
static bool write_top(const struct report_top *t, const char *label, int addr_w, FILE *out)
{
    const struct report_host *top[TL_REPORT_TOP_SHOWN];
    size_t n = tl_report_top_hosts(t, top, TL_REPORT_TOP_SHOWN);
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        char ip[TL_ADDR_STRLEN];
        ok = fprintf(out, "%-*s %-*s %8" PRIu64 "\n", LABEL_W, i == 0 ? label : "", addr_w,
                     tl_addr_str(&top[i]->addr, ip, sizeof ip), top[i]->n) >= 0;
    }
    if (ok && t->untallied > 0)
        ok = fprintf(out,
                     "%-*s (more hosts than the %u ranked: %" PRIu64 " more were not ranked;\n"
                     "%-*s  a host first seen after that may rank higher than shown)\n",
                     LABEL_W, "", TL_REPORT_TOP_HOSTS, t->untallied, LABEL_W, "") >= 0;
    return ok;
}

/* Width of the widest address shown, so that the counts line up. */
static int addr_width(const struct report_summary *sum)
{
    int w = 15;
    for (int k = 0; k < TL_HOSTS_NTALLIES; k++) {
        const struct report_host *top[TL_REPORT_TOP_SHOWN];
        size_t n = tl_report_top_hosts(&sum->hosts[k], top, TL_REPORT_TOP_SHOWN);
        for (size_t i = 0; i < n; i++) {
            char ip[TL_ADDR_STRLEN];
            int len = (int)strlen(tl_addr_str(&top[i]->addr, ip, sizeof ip));
            w = len > w ? len : w;
        }
    }
    return w;
}

static bool write_hosts(const struct report_summary *sum, FILE *out)
{
    bool any = sum->resets_unknown != 0;
    for (int k = 0; k < TL_HOSTS_NTALLIES; k++)
        any = any || sum->hosts[k].used != 0;
    if (!any)
        return true;
    int w = addr_width(sum);
    bool ok = fputc('\n', out) != EOF;
    for (int k = 0; ok && k < TL_HOSTS_NTALLIES; k++)
        ok = write_top(&sum->hosts[k], host_labels[k], w, out);
    if (ok && sum->resets_unknown != 0)
        ok = fprintf(out,
                     "%-*s %" PRIu64 " more ended by a reset whose sender the timeline "
                     "does not show\n",
                     LABEL_W, sum->hosts[TL_HOSTS_RESETS].used ? "" : "resets sent",
                     sum->resets_unknown) >= 0;
    return ok;
}

/* "short-lived  3 opened and closed within 1 s, 0.86 per second" */
static bool write_short_lived(const struct report_summary *sum, const struct tl_capture_info *cap,
                              FILE *out)
{
    int64_t span = cap->last_ts - cap->first_ts;
    bool ok = fprintf(out, "short-lived  %" PRIu64 " opened and closed within 1 s",
                      sum->short_lived) >= 0;
    if (ok && span > 0 && sum->short_lived > 0)
        ok = fprintf(out, ", %.2f per second of capture",
                     (double)sum->short_lived * (double)TL_USEC_PER_SEC / (double)span) >= 0;
    ok = ok && fputc('\n', out) != EOF;
    if (ok && sum->short_lived > 0)
        ok = fputs("  each costs a handshake and leaves a TIME_WAIT socket for 60 s on the side "
                   "that closed first;\n  if they go to the same server, keep-alive or a "
                   "connection pool would avoid them\n",
                   out) >= 0;
    return ok;
}

static bool write_lifetimes(const struct report_summary *sum, const struct tl_capture_info *cap,
                            FILE *out)
{
    static const char *const names[TL_LIFE_N] = {"under 1 s", "1 to 10 s", "10 to 60 s",
                                                 "60 s or more"};
    uint64_t closed = 0;
    for (int b = 0; b < TL_LIFE_N; b++)
        closed += sum->life[b];
    bool ok = fprintf(out,
                      "\nlifetimes  %" PRIu64 " closed (fin or rst), first to last "
                      "segment\n",
                      closed) >= 0;
    for (int b = 0; ok && closed > 0 && b < TL_LIFE_N; b++)
        ok = fprintf(out, "  %-13s %8" PRIu64 "\n", names[b], sum->life[b]) >= 0;
    if (ok && sum->connections > closed)
        ok = fprintf(out, "  %-13s %8" PRIu64 "  (open at the end, idle timeout or evicted)\n",
                     "not closed", sum->connections - closed) >= 0;
    return ok && write_short_lived(sum, cap, out);
}

bool tl_report_text_summary(const struct report_summary *sum, const struct tl_capture_info *cap,
                            FILE *out)
{
    if (sum->connections == 0)
        return true;
    return write_states(sum, out) && write_anomalies(sum, out) && write_hosts(sum, out) &&
           write_lifetimes(sum, cap, out);
}
