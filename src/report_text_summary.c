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
#define WRAP_COLS 100
#define TEXT_HOSTS 4 /* per tally: one line of IPv4 addresses */

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

/* "anomalies  7: 1 error, 2 warning, 4 info", then the types, worst
 * severity first, in registry order within a severity, two to a line. */
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
    int col = 0;
    for (int s = TL_SEV_NLEVELS - 1; ok && s >= 0; s--)
        for (int t = 0; ok && t < TL_AN_NTYPES; t++)
            if (sum->anomalies[t] != 0 && type_sev(sum, t) == s)
                ok = fprintf(out, "%s  %-8s %-22s %8" PRIu64, col++ % 2 == 0 ? "\n" : "   ",
                             tl_sev_name((enum tl_sev)s), tl_anomaly_id((enum tl_anomaly_type)t),
                             sum->anomalies[t]) >= 0;
    return ok && fputc('\n', out) != EOF;
}

static const char *const host_labels[TL_HOSTS_NTALLIES] = {
    [TL_HOSTS_TIME_WAIT] = "most TIME_WAIT at end",
    [TL_HOSTS_CLOSE_WAIT] = "most CLOSE_WAIT at end",
    [TL_HOSTS_RESETS] = "most resets sent",
};

/* One tally on one line: "most TIME_WAIT at end   10.0.0.7 51, 10.0.0.9 3",
 * up to TEXT_HOSTS hosts, continued under the first past WRAP_COLS
 * columns (long IPv6 addresses). */
static bool write_top(const struct report_top *t, const char *label, FILE *out)
{
    const struct report_host *top[TEXT_HOSTS];
    size_t n = tl_report_top_hosts(t, top, TEXT_HOSTS);
    int col = fprintf(out, "%-*s", LABEL_W, label);
    bool ok = col >= 0;
    for (size_t i = 0; ok && i < n; i++) {
        char ip[TL_ADDR_STRLEN], item[TL_ADDR_STRLEN + 32];
        int len = snprintf(item, sizeof item, "%s %" PRIu64 "%s",
                           tl_addr_str(&top[i]->addr, ip, sizeof ip), top[i]->n,
                           i + 1 < n ? "," : "");
        if (i > 0 && col + 1 + len > WRAP_COLS) {
            ok = fprintf(out, "\n%-*s", LABEL_W, "") >= 0;
            col = LABEL_W;
        }
        ok = ok && fprintf(out, " %s", item) >= 0;
        col += 1 + len;
    }
    ok = ok && fputc('\n', out) != EOF;
    if (ok && t->untallied > 0)
        ok = fprintf(out,
                     "%-*s (%" PRIu64
                     " not ranked: one first seen past %u hosts may rank higher)\n",
                     LABEL_W, "", t->untallied, TL_REPORT_TOP_HOSTS) >= 0;
    return ok;
}

static bool write_hosts(const struct report_summary *sum, FILE *out)
{
    bool any = sum->resets_unknown != 0;
    for (int k = 0; k < TL_HOSTS_NTALLIES; k++)
        any = any || sum->hosts[k].used != 0;
    if (!any)
        return true;
    bool ok = fputc('\n', out) != EOF;
    for (int k = 0; ok && k < TL_HOSTS_NTALLIES; k++)
        if (sum->hosts[k].used != 0 || sum->hosts[k].untallied != 0)
            ok = write_top(&sum->hosts[k], host_labels[k], out);
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
        ok = fputs("  each costs a handshake and a TIME_WAIT socket for 60 s where it closed first;"
                   " a pool avoids them\n",
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
    bool ok = fprintf(out, "\nlifetimes  %" PRIu64 " closed (fin or rst)", closed) >= 0;
    if (ok && sum->connections > closed)
        ok = fprintf(out, ", %" PRIu64 " not closed (open at the end, idle timeout or evicted)",
                     sum->connections - closed) >= 0;
    for (int b = 0; ok && closed > 0 && b < TL_LIFE_N; b++)
        ok = fprintf(out, "%s%s %" PRIu64, b == 0 ? "\n  first to last segment: " : ", ", names[b],
                     sum->life[b]) >= 0;
    return ok && fputc('\n', out) != EOF && write_short_lived(sum, cap, out);
}

bool tl_report_text_summary(const struct report_summary *sum, const struct tl_capture_info *cap,
                            FILE *out)
{
    if (sum->connections == 0)
        return true;
    return write_states(sum, out) && write_anomalies(sum, out) && write_hosts(sum, out) &&
           write_lifetimes(sum, cap, out);
}
