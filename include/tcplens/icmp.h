/*
 * What Linux makes of an ICMP or ICMPv6 error about one of a TCP socket's
 * segments (tcp_v4_err(), tcp_v6_err(), icmp_err_convert[],
 * icmpv6_err_convert()): the errno the socket gets, whether it ends a
 * connect() or a pending request, and the message's name.
 */
#ifndef TCPLENS_ICMP_H
#define TCPLENS_ICMP_H

#include "tcplens/decode.h"

/* The errno the socket is given, by name ("ECONNREFUSED"). */
const char *tl_icmp_errno(const struct tl_icmp *ic);

/* Fragmentation needed or packet too big: TCP lowers its segment size
 * (path MTU discovery); the socket sees no error. */
bool tl_icmp_pmtu(const struct tl_icmp *ic);

/* True when the error ends a connect() still in SYN_SENT: every
 * destination unreachable (but fragmentation needed), time exceeded and
 * parameter problem. */
bool tl_icmp_aborts_connect(const struct tl_icmp *ic);

/* True when it drops a pending request, a server's SYN_RECV half-open
 * connection whose SYN-ACK it quotes (tcp_req_err()'s abort). */
bool tl_icmp_aborts_request(const struct tl_icmp *ic);

/* The message's name, as nftables' reject types and iptables' --reject-with
 * name them where they can ("port-unreachable", "admin-prohibited",
 * "ttl-exceeded", "packet-too-big"). */
const char *tl_icmp_name(const struct tl_icmp *ic);

#endif
