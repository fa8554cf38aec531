#!/usr/bin/env python3
"""Checks tcplens's JSON report (stdin) of a capture of one TCP exchange
through a tunnel, for tests/tunnels.sh.

usage: check.py TUNNEL_TYPE CLIENT SERVER PORT TSHARK_TCP_COUNT|-

Prints what is wrong, nothing when all is well: one connection between
the inner addresses, ended by FIN, the client in TIME_WAIT, the tunnel
named; no skip that could hide a segment (other than not_tcp: ARP,
neighbour discovery inside); as many TCP packets as tshark counts (when
given), which finds a TCP segment hidden behind not_tcp."""
import json
import sys

tun, client, server, port, tshark_tcp = sys.argv[1:6]
r = json.load(sys.stdin)
cap = r["capture"]
conns = r["connections"]
bad = []
if len(conns) != 1:
    bad.append("%d connections" % len(conns))
for c in conns[:1]:
    got = (c["client"]["ip"], c["server"]["ip"], c["server"]["port"])
    if got != (client, server, int(port)):
        bad.append("endpoints %s" % (got,))
    if c.get("end") != "fin":
        bad.append("end %s" % c.get("end"))
    if c.get("states_at_end", {}).get("client") != "TIME_WAIT":
        bad.append("states at end %s" % c.get("states_at_end"))
    if c.get("tunnel", {}).get("type") != tun:
        bad.append("tunnel %s" % c.get("tunnel"))
hiding = [k for k in cap.get("skipped_reasons", {})
          if k.startswith(("truncated", "bad_")) or
          k in ("encapsulation_not_decoded", "tunnel_too_deep", "encrypted")]
if hiding:
    bad.append("skipped %s" % cap["skipped_reasons"])
if cap.get("tcp_packets", 0) < 8:
    bad.append("%s TCP packets" % cap.get("tcp_packets"))
if tshark_tcp != "-" and int(tshark_tcp) != cap.get("tcp_packets"):
    bad.append("tshark counts %s TCP packets, tcplens %s" % (tshark_tcp, cap.get("tcp_packets")))
print("; ".join(bad))
