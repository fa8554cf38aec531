/*
 * syn_scan: a source that tries many ports of one host (a port scan) or
 * one port on many hosts (a sweep, a worm), most attempts failing. The
 * thresholds are Zeek's scan policy (policy/misc/scan.zeek): 15 ports of
 * one host, or one port on 25 hosts, within 5 minutes; options override
 * them (hosts.h).
 *
 * Per source, the aggregate counts every attempt by outcome and estimates
 * its distinct targets (1024-bit sets). The decision needs exact counts:
 * after a second failed attempt (a spoofed SYN flood has one per source,
 * and costs nothing more) the source gets sets, up to SCAN_SLOTS victims
 * with their distinct ports and SCAN_SLOTS ports with their distinct hosts,
 * each counted exactly up to its threshold, within a window that starts
 * over once its attempts span more than the window. A victim or port
 * that crossed its threshold with most attempts failing is remembered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly_int.h"
#include "hosts_int.h"

#define SCAN_SLOTS 8u

/* What one attempt came to (hosts.h). */
enum outcome {
    O_ANSWERED = TL_HOST_ANSWERED,
    O_REFUSED = TL_HOST_REFUSED,
    O_UNANSWERED = TL_HOST_UNANSWERED,
    O_HALF_OPEN = TL_HOST_HALF_OPEN
};

/* One victim (its ports) or one port (its hosts) within a window. */
struct set {
    struct tl_addr host; /* a victim: its address */
    uint16_t port;       /* a port set: the port */
    bool used;
    int64_t lo, hi; /* the window's first and last attempt */
    uint32_t attempts, failed;
    uint32_t n; /* distinct members, exact up to the threshold */
};

struct scan_sets {
    struct set victim[SCAN_SLOTS], port[SCAN_SLOTS];
    struct set hit;   /* the first set that crossed its threshold */
    bool hit_is_port; /* hit counts hosts on one port (a sweep) */
    uint16_t *ports;  /* victim[i]'s ports: ports[i * scan_ports ...] */
    uint64_t *hosts;  /* port[i]'s host hashes: hosts[i * scan_hosts ...] */
};

void tl_hosts_scan_release(struct scan *s)
{
    if (s->sets != NULL) {
        free(s->sets->ports);
        free(s->sets->hosts);
        free(s->sets);
        s->sets = NULL;
    }
}

static bool failed(enum outcome o) { return o != O_ANSWERED; }

/* Answered, then reset by the client before its ACK: nmap -sS, whose own
 * kernel resets the SYN-ACK of a SYN it never sent. */
enum tl_host_outcome tl_hosts_outcome(const struct tl_tcpstate *st, const struct tl_track *t)
{
    const struct tl_track_side *srv = &t->side[TL_ROLE_SERVER];
    if (srv->syn.n > 0)
        return t->hs_ack_pkt == 0 && tl_track_trouble(&t->side[TL_ROLE_CLIENT])->rst_pkt != 0
                   ? TL_HOST_HALF_OPEN
                   : TL_HOST_ANSWERED;
    if (tl_track_trouble(srv)->rst_pkt != 0)
        return TL_HOST_REFUSED;
    return st->ep[TL_ROLE_SERVER].seen ? TL_HOST_ANSWERED : TL_HOST_UNANSWERED;
}

static struct scan_sets *sets_new(const struct tl_hosts_cfg *cfg)
{
    struct scan_sets *x = calloc(1, sizeof *x);
    if (x == NULL)
        return NULL;
    x->ports = calloc((size_t)SCAN_SLOTS * cfg->scan_ports, sizeof *x->ports);
    x->hosts = calloc((size_t)SCAN_SLOTS * cfg->scan_hosts, sizeof *x->hosts);
    if (x->ports == NULL || x->hosts == NULL) {
        free(x->ports);
        free(x->hosts);
        free(x);
        return NULL;
    }
    return x;
}

/* The slot of key (a victim's address, or a port) among n sets: its own,
 * a free one, or the one with the fewest members (the earliest on a tie),
 * which starts over. */
static uint32_t slot_of(struct set *sets, bool by_port, const struct tl_addr *host, uint16_t port)
{
    uint32_t best = 0;
    for (uint32_t i = 0; i < SCAN_SLOTS; i++) {
        struct set *x = &sets[i];
        if (!x->used)
            return i;
        if (by_port ? x->port == port : tl_addr_cmp(&x->host, host) == 0)
            return i;
        if (x->n < sets[best].n)
            best = i;
    }
    return best;
}

/* Puts an attempt at ts into set x, whose members are m64[] (host hashes)
 * or m16[] (ports), cap of them. The window starts over when the attempts
 * would span more than window_us. */
static void set_add(struct set *x, uint64_t *m64, uint16_t *m16, uint32_t cap, uint64_t v,
                    int64_t ts, int64_t window_us, bool fail)
{
    int64_t lo = x->used && ts < x->lo ? ts : x->lo, hi = x->used && ts > x->hi ? ts : x->hi;
    if (!x->used || hi - lo > window_us) {
        x->used = true;
        x->n = x->attempts = x->failed = 0;
        lo = hi = ts;
    }
    x->lo = lo;
    x->hi = hi;
    x->attempts++;
    x->failed += fail;
    for (uint32_t i = 0; i < x->n && i < cap; i++)
        if (m64 != NULL ? m64[i] == v : m16[i] == (uint16_t)v)
            return;
    if (x->n < cap) {
        if (m64 != NULL)
            m64[x->n] = v;
        else
            m16[x->n] = (uint16_t)v;
        x->n++;
    }
}

/* Most attempts failed, and the threshold is reached. */
static bool crossed(const struct set *x, uint32_t threshold)
{
    return x->n >= threshold && 2 * x->failed > x->attempts;
}

static void sets_add(struct scan_sets *x, const struct tl_hosts_cfg *cfg,
                     const struct tl_addr *host, uint16_t port, int64_t ts, enum outcome o)
{
    uint32_t v = slot_of(x->victim, false, host, port);
    struct set *sv = &x->victim[v];
    if (sv->used && tl_addr_cmp(&sv->host, host) != 0)
        sv->used = false; /* a new victim takes the slot over */
    sv->host = *host;
    set_add(sv, NULL, x->ports + (size_t)v * cfg->scan_ports, cfg->scan_ports, port, ts,
            cfg->scan_window_us, failed(o));
    uint32_t p = slot_of(x->port, true, host, port);
    struct set *sp = &x->port[p];
    if (sp->used && sp->port != port)
        sp->used = false;
    sp->port = port;
    set_add(sp, x->hosts + (size_t)p * cfg->scan_hosts, NULL, cfg->scan_hosts,
            tl_hosts_addr_hash(host, 0), ts, cfg->scan_window_us, failed(o));
    if (x->hit.used)
        return;
    if (crossed(sv, cfg->scan_ports)) {
        x->hit = *sv;
    } else if (crossed(sp, cfg->scan_hosts)) {
        x->hit = *sp;
        x->hit_is_port = true;
    }
}

/* A failed attempt: the first is noted; the second brings the sets. */
static void note_failure(struct tl_hosts *h, struct scan *s, const struct tl_addr *host,
                         uint16_t port, int64_t ts, enum outcome o)
{
    if (!s->failed_once) {
        s->failed_once = true;
        s->first_fail_host = *host;
        s->first_fail_port = port;
        s->first_fail_ts = ts;
        s->first_fail_outcome = (uint8_t)o;
        return;
    }
    if (s->sets != NULL)
        return;
    s->sets = sets_new(&h->cfg);
    if (s->sets == NULL)
        return; /* short of memory: the source is not followed */
    sets_add(s->sets, &h->cfg, &s->first_fail_host, s->first_fail_port, s->first_fail_ts,
             (enum outcome)s->first_fail_outcome);
}

void tl_hosts_feed_scan(struct tl_hosts *h, const struct tl_host_conn *hc)
{
    const struct tl_addr *sip = &hc->server;
    uint16_t sport = hc->server_port;
    struct key k = {.kind = K_SCAN, .a = hc->client};
    struct agg *g = tl_hosts_get(h, &k);
    if (g == NULL)
        return;
    struct scan *s = &g->u.s;
    if (s->attempts++ == 0 || hc->first_ts < s->first)
        s->first = hc->first_ts;
    if (hc->first_ts > s->last)
        s->last = hc->first_ts;
    enum outcome o = (enum outcome)hc->outcome;
    s->open += o == O_ANSWERED || o == O_HALF_OPEN;
    s->half_open += o == O_HALF_OPEN;
    s->refused += o == O_REFUSED;
    s->unanswered += o == O_UNANSWERED;
    bool had_sets = s->sets != NULL;
    if (failed(o))
        note_failure(h, s, sip, sport, hc->first_ts, o);
    if (had_sets || (s->sets != NULL && failed(o)))
        sets_add(s->sets, &h->cfg, sip, sport, hc->first_ts, o);
    tl_hosts_bit_set(s->targets, tl_hosts_addr_hash(sip, sport));
    tl_hosts_bit_set(s->ports, tl_hosts_mix(sport + UINT64_C(1)));
    tl_hosts_bit_set(s->hosts, tl_hosts_addr_hash(sip, 0));
    tl_hosts_ids_add(&s->ids, hc->id);
}

void tl_text_syn_scan(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                      struct tl_anomaly_text *out)
{
    const struct tl_host_anomaly *ha = tl_hosts_about(about);
    char what[96];
    if (strcmp(tl_anomaly_get_str(a, "kind"), "hosts_on_port") == 0)
        snprintf(what, sizeof what, "port %u on %u hosts", (unsigned)tl_anomaly_get_int(a, "port"),
                 (unsigned)tl_anomaly_get_int(a, "hosts_on_port"));
    else
        snprintf(what, sizeof what, "%u ports of %s",
                 (unsigned)tl_anomaly_get_int(a, "ports_on_host"), ha->peer);
    tl_text_explain(out,
                    "%s reached the threshold, %s within %.2f s, %u of those %u attempts "
                    "failing. In all: "
                    "%u attempts in %.1f s, %u refused (RST: nothing listening), %u "
                    "unanswered (filtered, no host), %u answered (%u reset by the source "
                    "before its ACK: a half-open scan). A port scanner or a worm does "
                    "that; so does a client walking a wrong list.",
                    ha->host, what, tl_anomaly_get_real(a, "window_s"),
                    (unsigned)tl_anomaly_get_int(a, "window_failed"),
                    (unsigned)tl_anomaly_get_int(a, "window_attempts"),
                    (unsigned)tl_anomaly_get_int(a, "attempts"),
                    tl_anomaly_get_real(a, "duration_s"),
                    (unsigned)tl_anomaly_get_int(a, "refused"),
                    (unsigned)tl_anomaly_get_int(a, "unanswered"),
                    (unsigned)tl_anomaly_get_int(a, "answered"),
                    (unsigned)tl_anomaly_get_int(a, "half_open"));
    tl_text_suggest(out,
                    "Find the process behind %s (ss -tnp on that host, firewall and "
                    "conntrack logs). If the scan is not authorised, block the source and "
                    "check its host for compromise; rate-limit new connections per source "
                    "(nft meter, limit rate).",
                    ha->host);
}

void tl_hosts_eval_scan(struct tl_hosts *h, const struct agg *g, struct tl_host_anomaly_list *out)
{
    const struct scan *s = &g->u.s;
    const struct scan_sets *x = s->sets;
    if (x == NULL || !x->hit.used)
        return;
    struct tl_host_anomaly *ha = tl_hosts_push(h, out, TL_AN_SYN_SCAN, TL_AEP_CLIENT, s->first);
    if (ha == NULL)
        return;
    struct tl_anomaly *a = &ha->a;
    tl_addr_str(&g->k.a, ha->host, sizeof ha->host);
    tl_hosts_ids_merge(ha, &s->ids);
    double span = tl_hosts_secs(s->last - s->first);
    int64_t targets = tl_hosts_bit_count(s->targets);
    int64_t ports = tl_hosts_bit_count(s->ports), hosts = tl_hosts_bit_count(s->hosts);
    targets = targets < s->attempts ? targets : s->attempts;
    tl_anomaly_int(a, "attempts", s->attempts);
    tl_anomaly_int(a, "distinct_targets", targets);
    tl_anomaly_int(a, "distinct_ports", ports < targets ? ports : targets);
    tl_anomaly_int(a, "distinct_hosts", hosts < targets ? hosts : targets);
    tl_anomaly_int(a, "refused", s->refused);
    tl_anomaly_int(a, "unanswered", s->unanswered);
    tl_anomaly_int(a, "answered", s->open);
    tl_anomaly_int(a, "half_open", s->half_open);
    tl_anomaly_real(a, "duration_s", span);
    tl_anomaly_real(a, "rate", span > 0 ? (double)(s->attempts - 1) / span : 0.0);
    /* A port scan names its victim (peer); a sweep, its port. */
    tl_anomaly_str(a, "kind", x->hit_is_port ? "hosts_on_port" : "ports_on_host");
    if (x->hit_is_port) {
        tl_anomaly_int(a, "port", x->hit.port);
        tl_anomaly_int(a, "hosts_on_port", x->hit.n);
    } else {
        tl_addr_str(&x->hit.host, ha->peer, sizeof ha->peer);
        tl_anomaly_int(a, "ports_on_host", x->hit.n);
    }
    tl_anomaly_int(a, "window_attempts", x->hit.attempts);
    tl_anomaly_int(a, "window_failed", x->hit.failed);
    tl_anomaly_real(a, "window_s", tl_hosts_secs(x->hit.hi - x->hit.lo));
    tl_anomaly_int(a, "threshold", x->hit_is_port ? h->cfg.scan_hosts : h->cfg.scan_ports);
}
