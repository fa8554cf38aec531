/*
 * icmp_unreachable: an ICMP or ICMPv6 error about one of the connection's
 * segments (tl_track_icmp). Its renderer tells what Linux did with it
 * (icmp.h): in SYN_SENT a destination unreachable ends connect() at once
 * with the errno the message maps to; later, most errors are soft, noted
 * and given to the application only if the retransmissions time out; a
 * fragmentation-needed or packet-too-big lowers the segment size.
 */
#include "tcplens/detect.h"

#include <stdio.h>
#include <string.h>

#include "detect_int.h"
#include "tcplens/icmp.h"

/* The packets its texts name; its series: none. */
enum { ICMP_PKT, ICMP_QUOTED_PKT, ICMP_STALLED };

/* The side the detector tells of: the one whose error ended its attempt,
 * else the first to get one. */
static int side_of(const struct tl_track *t)
{
    const struct tl_track_trouble *c = tl_track_trouble(&t->side[TL_ROLE_CLIENT]);
    const struct tl_track_trouble *s = tl_track_trouble(&t->side[TL_ROLE_SERVER]);
    if (c->icmps == 0 && s->icmps == 0)
        return -1;
    if (c->icmps == 0 || (s->icmp_abort && !c->icmp_abort))
        return TL_ROLE_SERVER;
    if (s->icmps == 0 || c->icmp_abort)
        return TL_ROLE_CLIENT;
    return s->icmp_ts < c->icmp_ts ? TL_ROLE_SERVER : TL_ROLE_CLIENT;
}

static bool handshake_state(uint8_t s) { return s == TL_EP_SYN_SENT || s == TL_EP_SYN_RECV; }

void tl_det_icmp_unreachable(const struct tl_detect_ctx *c, struct tl_anomaly_list *out)
{
    int r = side_of(c->track);
    if (r < 0)
        return;
    const struct tl_track_trouble *me = tl_track_trouble(&c->track->side[r]);
    const struct tl_icmp *ic = &me->icmp;
    bool pmtu = tl_icmp_pmtu(ic);
    struct tl_anomaly *a = tl_anomaly_add(out, TL_AN_ICMP_UNREACHABLE, (enum tl_anom_ep)r,
                                          me->icmp_ts);
    if (a == NULL)
        return;
    /* An error that ended the attempt, or came during it, is the reason it
     * failed; a later one is a symptom the connection may survive. */
    a->severity = (uint8_t)(me->icmp_abort || (handshake_state(me->icmp_state) && !pmtu)
                                ? TL_SEV_ERROR
                                : TL_SEV_WARNING);
    if (me->icmp_quoted_pkt != 0)
        tl_anomaly_pkt(a, me->icmp_quoted_pkt);
    tl_anomaly_pkt(a, me->icmp_pkt);
    tl_anomaly_str(a, "protocol", ic->v6 ? "icmpv6" : "icmp");
    tl_anomaly_int(a, "icmp_type", ic->type);
    tl_anomaly_int(a, "icmp_code", ic->code);
    tl_anomaly_str(a, "message", tl_icmp_name(ic));
    tl_anomaly_str(a, "sender", me->icmp_from_dest ? "destination" : "router");
    tl_anomaly_addr(a, "sender_address", &ic->from);
    tl_anomaly_str(a, "state", tl_ep_state_name((enum tl_ep_state)me->icmp_state));
    tl_anomaly_bool(a, "ended_attempt", me->icmp_abort);
    if (pmtu)
        tl_anomaly_int(a, "mtu", ic->mtu);
    else
        tl_anomaly_str(a, "errno", tl_icmp_errno(ic));
    if (me->icmp_quoted_pkt != 0)
        tl_anomaly_int(a, "quoted_packet", (int64_t)me->icmp_quoted_pkt);
    tl_anomaly_int(a, "count", me->icmps);
    a->aux[ICMP_PKT] = (int64_t)me->icmp_pkt;
    a->aux[ICMP_QUOTED_PKT] = (int64_t)me->icmp_quoted_pkt;
    /* Path MTU: its retransmissions went on stalling after the error. */
    a->aux[ICMP_STALLED] = pmtu && me->stall.n > 1 && me->stall_last_ts > me->icmp_ts;
}

/* "the destination (10.0.0.2)" or "a router on the path (192.0.2.1)". */
static const char *sender_text(const struct tl_anomaly *a, char *buf, size_t n)
{
    char addr[TL_ADDR_STRLEN];
    tl_addr_str(&a->addr, addr, sizeof addr);
    bool dest = strcmp(tl_anomaly_get_str(a, "sender"), "destination") == 0;
    snprintf(buf, n, "%s (%s)", dest ? "the destination itself" : "a router on the path", addr);
    return buf;
}

/* Why such a message is sent, in a few words. */
static const char *cause_of(const char *msg, bool dest)
{
    if (strcmp(msg, "port-unreachable") == 0)
        return dest ? "a firewall rule on the destination rejects the port with ICMP (a host "
                      "with nothing listening answers with an RST instead)"
                    : "a firewall on the path rejects the port with ICMP";
    if (strstr(msg, "prohibited") != NULL || strcmp(msg, "policy-fail") == 0 ||
        strcmp(msg, "reject-route") == 0)
        return "a firewall rule rejects the connection on purpose";
    if (strcmp(msg, "host-unreachable") == 0 || strcmp(msg, "addr-unreachable") == 0)
        return dest ? "a firewall rule on the destination rejects it as host-unreachable"
                    : "the last router could not reach the host: it is down, or does not "
                      "answer ARP or neighbour discovery on its subnet";
    if (strcmp(msg, "net-unreachable") == 0 || strcmp(msg, "no-route") == 0)
        return "a router has no route to the destination's network";
    if (strcmp(msg, "ttl-exceeded") == 0)
        return "the packet's TTL ran out on the way: a routing loop, or a path longer than "
               "the TTL";
    return "the path could not deliver it";
}

static void text_pmtu(const struct tl_anomaly *a, const char *who, const char *sender,
                      struct tl_anomaly_text *out)
{
    unsigned mtu = (unsigned)tl_anomaly_get_int(a, "mtu");
    tl_text_explain(out,
                    "The %s's segment (packet %lld) was too big for the path: %s answered with "
                    "ICMP %s (packet %lld), next-hop MTU %u. Linux lowers the segment size and "
                    "sends again; the application sees no error.%s",
                    who, (long long)a->aux[ICMP_QUOTED_PKT], sender,
                    tl_anomaly_get_str(a, "message"), (long long)a->aux[ICMP_PKT], mtu,
                    a->aux[ICMP_STALLED] ? " Its retransmissions of full-sized segments still "
                                           "went unanswered after it: a path MTU problem, "
                                           "smaller packets get through and large ones do not."
                                         : "");
    tl_text_suggest(out,
                    "Test the path MTU (tracepath, ping -M do -s 1472). Let ICMP "
                    "fragmentation-needed and packet-too-big through every firewall, clamp the "
                    "MSS on tunnels (nft: tcp option maxseg size set rt mtu) or set "
                    "net.ipv4.tcp_mtu_probing=1.");
}

void tl_text_icmp_unreachable(const struct tl_anomaly *a, const struct tl_anomaly_about *about,
                              struct tl_anomaly_text *out)
{
    (void)about;
    const char *who = a->endpoint == TL_AEP_SERVER ? "server" : "client";
    const char *msg = tl_anomaly_get_str(a, "message");
    const char *err = tl_anomaly_get_str(a, "errno");
    const char *state = tl_anomaly_get_str(a, "state");
    bool dest = strcmp(tl_anomaly_get_str(a, "sender"), "destination") == 0;
    char sender[96];
    sender_text(a, sender, sizeof sender);
    if (tl_anomaly_has(a, "mtu")) {
        text_pmtu(a, who, sender, out);
        return;
    }
    char quoted[48] = "";
    if (a->aux[ICMP_QUOTED_PKT] != 0)
        snprintf(quoted, sizeof quoted, " (packet %lld)", (long long)a->aux[ICMP_QUOTED_PKT]);
    if (tl_anomaly_get_bool(a, "ended_attempt") && strcmp(state, "SYN_SENT") == 0)
        tl_text_explain(out,
                        "The client's SYN%s was answered by ICMP %s (packet %lld) from %s: "
                        "%s. Linux ends a connect() still in SYN_SENT on such an error, so "
                        "connect() failed at once with %s and the client sent no more SYNs.",
                        quoted, msg, (long long)a->aux[ICMP_PKT], sender, cause_of(msg, dest), err);
    else if (tl_anomaly_get_bool(a, "ended_attempt"))
        tl_text_explain(out,
                        "The server's SYN-ACK%s was answered by ICMP %s (packet %lld) from %s: "
                        "%s. Linux drops the pending connection (the listener stays); the "
                        "client's next SYN starts it again.",
                        quoted, msg, (long long)a->aux[ICMP_PKT], sender, cause_of(msg, dest));
    else
        tl_text_explain(out,
                        "A segment of the %s%s in %s was answered by ICMP %s (packet %lld) from "
                        "%s: %s. Linux takes it as a soft error: the connection stays and "
                        "retransmits, and only if the retransmissions time out does the "
                        "application see %s instead of ETIMEDOUT.",
                        who, quoted, state, msg, (long long)a->aux[ICMP_PKT], sender,
                        cause_of(msg, dest), err);
    /* A host says it cannot be reached, or its port, only because a rule
     * tells it to. */
    if (dest || strstr(msg, "prohibited") != NULL || strcmp(msg, "policy-fail") == 0 ||
        strcmp(msg, "reject-route") == 0)
        tl_text_suggest(out,
                        "Find the reject rule on %s: nft list ruleset | grep reject, iptables -S "
                        "| grep REJECT, or the cloud security group; allow the port if the "
                        "connection is wanted.",
                        dest ? "the destination" : "the router that sent the error");
    else if (strcmp(msg, "ttl-exceeded") == 0)
        tl_text_suggest(out, "Find the loop with traceroute -T to the server's port and check "
                             "the routes of the routers it shows.");
    else
        tl_text_suggest(out, "Check the route to the server (ip route get, traceroute -T to its "
                             "port) and that the host is up and answers ARP or neighbour "
                             "discovery on its subnet (ip neigh on the last router).");
}
