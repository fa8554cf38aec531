/* Linux's reading of ICMP and ICMPv6 errors for TCP (icmp.h). */
#include "tcplens/icmp.h"

/* One destination-unreachable code: its name, the errno icmp_err_convert[]
 * (v4) or icmpv6_err_convert() (v6) gives, and its "fatal" flag, which
 * decides whether a pending request is dropped (v6; v4 drops one only for
 * net and host unreachable). */
struct unreach {
    const char *name;
    const char *err;
    bool fatal;
};

static const struct unreach v4_unreach[] = {
    {"net-unreachable", "ENETUNREACH", false},
    {"host-unreachable", "EHOSTUNREACH", false},
    {"prot-unreachable", "ENOPROTOOPT", true},
    {"port-unreachable", "ECONNREFUSED", true},
    {"frag-needed", "EMSGSIZE", false},
    {"source-route-failed", "EOPNOTSUPP", false},
    {"net-unknown", "ENETUNREACH", true},
    {"host-unknown", "EHOSTDOWN", true},
    {"host-isolated", "ENONET", true},
    {"net-prohibited", "ENETUNREACH", true},
    {"host-prohibited", "EHOSTUNREACH", true},
    {"net-unreachable-tos", "ENETUNREACH", false},
    {"host-unreachable-tos", "EHOSTUNREACH", false},
    {"admin-prohibited", "EHOSTUNREACH", true},
    {"host-precedence-violation", "EHOSTUNREACH", true},
    {"precedence-cutoff", "EHOSTUNREACH", true},
};

static const struct unreach v6_unreach[] = {
    {"no-route", "ENETUNREACH", false},         {"admin-prohibited", "EACCES", true},
    {"beyond-scope", "EHOSTUNREACH", false},    {"addr-unreachable", "EHOSTUNREACH", false},
    {"port-unreachable", "ECONNREFUSED", true}, {"policy-fail", "EACCES", true},
    {"reject-route", "EACCES", true},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The row of a destination unreachable, or NULL (another type, or a code
 * past the table: Linux ignores v4 ones, v6 ones are EPROTO and fatal). */
static const struct unreach *unreach_of(const struct tl_icmp *ic)
{
    if (ic->v6)
        return ic->type == TL_ICMP6_UNREACH && ic->code < N(v6_unreach) ? &v6_unreach[ic->code]
                                                                        : NULL;
    return ic->type == TL_ICMP4_UNREACH && ic->code < N(v4_unreach) ? &v4_unreach[ic->code] : NULL;
}

bool tl_icmp_pmtu(const struct tl_icmp *ic)
{
    return ic->v6 ? ic->type == TL_ICMP6_TOO_BIG
                  : ic->type == TL_ICMP4_UNREACH && ic->code == TL_ICMP4_FRAG_NEEDED;
}

const char *tl_icmp_errno(const struct tl_icmp *ic)
{
    const struct unreach *u = unreach_of(ic);
    if (u != NULL)
        return u->err;
    if (tl_icmp_pmtu(ic))
        return "EMSGSIZE";
    bool exceeded = ic->type == (ic->v6 ? TL_ICMP6_TIME_EXCEEDED : TL_ICMP4_TIME_EXCEEDED);
    return exceeded ? "EHOSTUNREACH" : "EPROTO";
}

bool tl_icmp_aborts_connect(const struct tl_icmp *ic)
{
    if (tl_icmp_pmtu(ic))
        return false;
    /* tcp_v4_err() ignores unreachable codes past NR_ICMP_UNREACH (15). */
    return ic->v6 || ic->type != TL_ICMP4_UNREACH || unreach_of(ic) != NULL;
}

bool tl_icmp_aborts_request(const struct tl_icmp *ic)
{
    if (ic->v6) {
        if (ic->type == TL_ICMP6_UNREACH) {
            const struct unreach *u = unreach_of(ic);
            return u == NULL || u->fatal;
        }
        return ic->type == TL_ICMP6_PARAM_PROBLEM;
    }
    if (ic->type == TL_ICMP4_UNREACH)
        return ic->code <= 1; /* net or host unreachable */
    return ic->type == TL_ICMP4_TIME_EXCEEDED || ic->type == TL_ICMP4_PARAM_PROBLEM;
}

const char *tl_icmp_name(const struct tl_icmp *ic)
{
    const struct unreach *u = unreach_of(ic);
    if (u != NULL)
        return u->name;
    if (tl_icmp_pmtu(ic))
        return ic->v6 ? "packet-too-big" : "frag-needed";
    if (ic->type == (ic->v6 ? TL_ICMP6_TIME_EXCEEDED : TL_ICMP4_TIME_EXCEEDED))
        return ic->code == 0 ? "ttl-exceeded" : "reassembly-time-exceeded";
    if (ic->type == (ic->v6 ? TL_ICMP6_PARAM_PROBLEM : TL_ICMP4_PARAM_PROBLEM))
        return "parameter-problem";
    return "unreachable"; /* a code past the table */
}
