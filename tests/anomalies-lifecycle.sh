#!/bin/bash
# The handshake and close anomalies (src/anomaly_handshake.c,
# src/anomaly_close.c; docs/anomalies.md) on real kernel captures:
# tests/netns/kernel/*.pcap (what each scenario's sockets did is in
# docs/kernel-scenarios.md and expected.tsv) and samples/*.pcap.
#
# For each type, a capture where it must fire -- type, severity, endpoint,
# evidence keys and values, and the packets that prove it, all taken from the
# pcap itself (parsed here, independently of tcplens) -- and captures where it
# must not: a clean exchange, a TIME_WAIT-only close (only the info-level
# time_wait), keepalives of a healthy connection (no warning or error).
#
# Env: TCPLENS (the binary), SRCDIR (source tree). Prints TAP. Without
# python3: "1..0 # SKIP" and exit $TL_SKIP_STATUS (default 77).
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
if ! command -v python3 >/dev/null 2>&1; then
    echo "1..0 # SKIP python3 not found"
    exit "${TL_SKIP_STATUS:-77}"
fi
if [ ! -x "$tcplens" ]; then
    echo "1..0 # SKIP tcplens not built ($tcplens)"
    exit "${TL_SKIP_STATUS:-77}"
fi
exec python3 - "$tcplens" "$srcdir" <<'PY'
import json
import os
import struct
import subprocess
import sys

TCPLENS, SRC = sys.argv[1], sys.argv[2]
KDIR = os.path.join(SRC, "tests", "netns", "kernel")
SDIR = os.path.join(SRC, "samples")
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
MINE = {"refused", "handshake_timeout", "syn_backoff", "synack_retransmit", "midstream",
        "port_reuse", "rst_instead_of_fin", "rst_after_close", "missing_final_ack",
        "close_wait_stuck", "fin_wait2_timeout", "time_wait", "simultaneous_close",
        "half_close"}

# ---------------------------------------------------------------- the pcap


class Pkt:
    """One TCP segment; n is the frame number (1 = first frame read)."""

    def __init__(self, n, ts, src, dst, sport, dport, flags, seq, ack, plen):
        self.n, self.ts = n, ts
        self.a, self.b = (src, sport), (dst, dport)
        self.flags, self.seq, self.ack, self.len = flags, seq, ack, plen
        self.dir = None  # "c" or "s", set by conns()

    def has(self, f):
        return self.flags & f == f


def decode(lt, b):
    """(src, dst, tcp bytes, ip payload length) or None."""
    if lt == 1:  # Ethernet, optional 802.1Q
        et, off = struct.unpack(">H", b[12:14])[0], 14
        while et == 0x8100 and len(b) >= off + 4:
            et, off = struct.unpack(">H", b[off + 2:off + 4])[0], off + 4
    elif lt == 276:  # Linux SLL2
        et, off = struct.unpack(">H", b[0:2])[0], 20
    else:
        return None
    ip = b[off:]
    if et == 0x0800 and len(ip) >= 20 and ip[9] == 6:
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack(">H", ip[2:4])[0]
        return ip[12:16], ip[16:20], ip[ihl:tot], tot - ihl
    if et == 0x86DD and len(ip) >= 40 and ip[6] == 6:
        plen = struct.unpack(">H", ip[4:6])[0]
        return ip[8:24], ip[24:40], ip[40:40 + plen], plen
    return None


class Capture(list):
    """The TCP segments of a capture; last_ts is its last frame's time (any
    protocol): the capture's clock stops there."""
    last_ts = 0.0


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise ValueError("%s: not a classic pcap" % path)
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    lt = struct.unpack(e + "I", data[20:24])[0]
    off, n, out = 24, 0, Capture()
    while off + 16 <= len(data):
        sec, frac, cap, _ = struct.unpack(e + "IIII", data[off:off + 16])
        b = data[off + 16:off + 16 + cap]
        off += 16 + cap
        n += 1
        out.last_ts = sec + frac / (1e9 if nano else 1e6)
        d = decode(lt, b)
        if d is None:
            continue
        src, dst, tcp, iplen = d
        sport, dport, seq, ack, offf, flags = struct.unpack(">HHIIBB", tcp[:14])
        out.append(Pkt(n, sec + frac / (1e9 if nano else 1e6), src, dst, sport, dport,
                       flags, seq, ack, iplen - (offf >> 4) * 4))
    return out


class Conn:
    """One connection as the pcap shows it: the client sent the first SYN."""

    def __init__(self, client, server):
        self.client, self.server, self.pkts = client, server, []

    def of(self, d, flags=0, data=None):
        return [p for p in self.pkts if p.dir == d and p.has(flags) and
                (data is None or (p.len > 0) == data)]

    def syns(self):
        return [p for p in self.of("c", SYN) if not p.has(ACK)]

    def synacks(self):
        return self.of("s", SYN | ACK)


def conns(pkts):
    """Connections in first-seen order; a SYN with a new ISN after the
    tuple's connection has ended starts a new one."""
    out, cur = [], {}
    for p in pkts:
        key = frozenset((p.a, p.b))
        c = cur.get(key)
        syn_only = p.has(SYN) and not p.has(ACK)
        if c is not None and syn_only and c.syns() and p.seq != c.syns()[0].seq:
            c = None
        if c is None:
            c = Conn(p.a, p.b) if (syn_only or p.b[1] < p.a[1]) else Conn(p.b, p.a)
            cur[key] = c
            out.append(c)
        p.dir = "c" if p.a == c.client else "s"
        c.pkts.append(p)
    return out


# ---------------------------------------------------------------- tcplens

def report(path, *args):
    r = subprocess.run([TCPLENS, "-r", path, "--json", "-"] + list(args),
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("tcplens exit %d: %s" % (r.returncode, r.stderr.strip()))
    return json.loads(r.stdout)


def jconn(rep, c, nth=1):
    """The report's connection for pcap connection c (nth on its tuple)."""
    found = [j for j in rep["connections"]
             if j["client"]["port"] == c.client[1] and j["server"]["port"] == c.server[1]]
    return found[nth - 1] if len(found) >= nth else None


# ---------------------------------------------------------------- TAP

N = [0]
FAILED = [0]


def point(ok, desc, diag=()):
    N[0] += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", N[0], desc))
    if not ok:
        FAILED[0] += 1
        for line in diag:
            print("#   " + line)


def summary(j):
    return ["%s %s %s pkts %s ev %s" % (a["type"], a["severity"], a["endpoint"], a["packets"],
                                        json.dumps(a["evidence"])) for a in j["anomalies"]]


def fires(name, j, typ, sev, ep, pkts=(), keys=(), ev=None):
    """Exactly one anomaly typ on j, with this severity and endpoint, these
    evidence keys, evidence passing ev (key -> value or predicate), and
    packets including pkts."""
    desc = "%s: %s fires (%s, %s, packets %s)" % (name, typ, sev, ep,
                                                   " ".join(str(p) for p in pkts))
    if j is None:
        point(False, desc, ["connection not in the report"])
        return None
    found = [a for a in j["anomalies"] if a["type"] == typ]
    why = []
    if len(found) != 1:
        why.append("%d anomalies of type %s" % (len(found), typ))
    else:
        a = found[0]
        if a["severity"] != sev or a["endpoint"] != ep:
            why.append("severity %s endpoint %s" % (a["severity"], a["endpoint"]))
        missing = [k for k in keys if k not in a["evidence"]]
        if missing:
            why.append("evidence lacks %s" % missing)
        for k, want in (ev or {}).items():
            got = a["evidence"].get(k)
            ok = want(got) if callable(want) else got == want
            if not ok:
                why.append("evidence %s = %r" % (k, got))
        lost = [p for p in pkts if p not in a["packets"]]
        if lost:
            why.append("packets %s lack %s" % (a["packets"], lost))
        if not a["explanation"] or not a["suggestion"]:
            why.append("no explanation or suggestion")
    point(not why, desc, why + summary(j))
    return found[0] if len(found) == 1 else None


def absent(name, j, types):
    if j is None:
        point(False, "%s: connection in the report" % name)
        return
    got = sorted({a["type"] for a in j["anomalies"]} & set(types))
    point(not got, "%s: no %s" % (name, ", ".join(sorted(types))), ["found %s" % got])


def only_time_wait(name, j, closer):
    """A clean close: the active closer's info-level time_wait and nothing
    else from any detector."""
    got = [(a["type"], a["severity"], a["endpoint"]) for a in (j or {}).get("anomalies", [])]
    point(got == [("time_wait", "info", closer)],
          "%s: only time_wait (info, %s)" % (name, closer), summary(j or {"anomalies": []}))


def no_warnings(name, rep):
    bad = ["conn %d: %s" % (j["id"], s) for j in rep["connections"] for s in summary(j)
           if " info " not in s]
    point(not bad, "%s: no warning or error anywhere" % name, bad)


def near(x, tol):
    return lambda v: v is not None and abs(v - x) <= tol


def between(lo, hi):
    return lambda v: v is not None and lo <= v <= hi


def kernel(name):
    path = os.path.join(KDIR, name + ".pcap")
    return path, conns(read_pcap(path))


def first_after(pkts, t):
    return next(p for p in pkts if p.ts > t)


# ---------------------------------------------------------------- handshake

def t_refused():
    for path in (os.path.join(KDIR, "refused.pcap"), os.path.join(SDIR, "refused.pcap")):
        name = os.path.relpath(path, SRC)
        c = conns(read_pcap(path))[0]
        j = jconn(report(path), c)
        rst = c.of("s", RST)[0]
        fires(name, j, "refused", "error", "server", [c.syns()[-1].n, rst.n],
              ["syns", "rst_delay"],
              {"syns": len(c.syns()), "rst_delay": near(rst.ts - c.syns()[-1].ts, 1e-5)})
        absent(name, j, ["rst_instead_of_fin", "handshake_timeout", "syn_backoff"])


def t_syn_dropped():
    path, (c,) = kernel("syn_dropped")
    name = "kernel/syn_dropped"
    j = jconn(report(path), c)
    syns = c.syns()
    span = syns[-1].ts - syns[0].ts
    # kernel 6.x, tcp_syn_linear_timeouts 4: 6 SYNs 1 s apart, then ETIMEDOUT
    fires(name, j, "syn_backoff", "warning", "client", [p.n for p in syns],
          ["syns", "gaps", "pattern", "answered", "gave_up"],
          {"syns": len(syns), "pattern": "linear", "answered": False, "gave_up": True,
           "gaps": lambda g: g is not None and len(g) == len(syns) - 1 and
           all(0.9 <= x <= 1.2 for x in g)})
    fires(name, j, "handshake_timeout", "error", "client", [p.n for p in syns],
          ["syns", "duration"], {"syns": len(syns), "duration": between(span, span + 2.5)})
    absent(name, j, ["refused", "synack_retransmit", "rst_instead_of_fin"])


def t_backlog_full():
    path, cs = kernel("backlog_full")
    name = "kernel/backlog_full"
    rep = report(path)
    a = next(c for c in cs if len(c.synacks()) > 1)   # its ACK dropped (queue full)
    sa = a.synacks()
    ack = next(p for p in a.of("c", ACK) if sa[0].ts < p.ts < sa[1].ts)
    fires(name + " A", jconn(rep, a), "synack_retransmit", "warning", "server",
          [p.n for p in sa] + [ack.n], ["count", "client_ack_seen", "gaps"],
          {"count": len(sa), "client_ack_seen": True,
           "gaps": lambda g: g is not None and len(g) == len(sa) - 1})
    absent(name + " A", jconn(rep, a), ["syn_backoff", "rst_instead_of_fin"])
    cc = next(c for c in cs if len(c.syns()) > 1 and not c.synacks())   # SYNs dropped
    fires(name + " C", jconn(rep, cc), "syn_backoff", "warning", "client",
          [p.n for p in cc.syns()], ["syns", "gaps", "pattern"],
          {"syns": len(cc.syns()), "answered": False, "gave_up": False, "pattern": "linear"})
    # the kernel shows C still SYN_SENT at capture end: no timeout yet
    absent(name + " C", jconn(rep, cc), ["handshake_timeout", "refused"])
    for b in cs:
        if b not in (a, cc):
            absent(name + " B", jconn(rep, b), MINE)


def t_synack_lost():
    path, (c,) = kernel("synack_lost")
    name = "kernel/synack_lost"
    j = jconn(report(path), c)
    sa = c.synacks()
    fires(name, j, "synack_retransmit", "warning", "server", [p.n for p in sa],
          ["count", "client_ack_seen", "gaps", "client_syns"],
          {"count": len(sa), "client_ack_seen": False, "client_syns": 1,
           "gaps": lambda g: g is not None and len(g) == 1 and 0.9 <= g[0] <= 1.5})
    absent(name, j, ["syn_backoff", "handshake_timeout", "rst_instead_of_fin"])


def t_midstream():
    path, (c,) = kernel("midstream")
    name = "kernel/midstream"
    j = jconn(report(path), c)
    fires(name, j, "midstream", "info", "connection", [c.pkts[0].n], ["roles_from"],
          {"roles_from": "port"})
    only = [a["type"] for a in j["anomalies"] if a["severity"] != "info"]
    point(not only, name + ": nothing but info", summary(j))
    _, (c2,) = kernel("client_first")
    absent("kernel/client_first", jconn(report(os.path.join(KDIR, "client_first.pcap")), c2),
           ["midstream"])


def t_port_reuse():
    for path in (os.path.join(KDIR, "port_reuse.pcap"), os.path.join(KDIR, "port_reuse_tw.pcap"),
                 os.path.join(SDIR, "port_reuse.pcap"), os.path.join(SDIR, "port_reuse_tw.pcap")):
        name = os.path.relpath(path, SRC)
        c1, c2 = conns(read_pcap(path))
        rep = report(path)
        j1, j2 = jconn(rep, c1, 1), jconn(rep, c2, 2)
        gap = c2.pkts[0].ts - c1.pkts[-1].ts
        # the kernel took the earlier TIME_WAIT over (docs/kernel-scenarios.md)
        fires(name + " conn 2", j2, "port_reuse", "info", "connection", [c2.syns()[0].n],
              ["previous_id", "gap", "previous_in_time_wait"],
              {"previous_id": j1["id"] if j1 else -1, "gap": near(gap, 1e-4),
               "previous_in_time_wait": True})
        absent(name + " conn 1", j1, ["port_reuse"])
        tw = [a for a in (j1 or {}).get("anomalies", []) if a["type"] == "time_wait"]
        point(len(tw) == 1 and tw[0]["evidence"].get("ended_by") == "reused",
              name + " conn 1: its TIME_WAIT ended_by reused", summary(j1 or {"anomalies": []}))


# ---------------------------------------------------------------- close

def t_rst_instead_of_fin():
    cases = [("rst_unread", "server"), ("linger0", "client")]
    for scen, who in cases:
        for path in (os.path.join(KDIR, scen + ".pcap"), os.path.join(SDIR, scen + ".pcap")):
            name = os.path.relpath(path, SRC)
            c = conns(read_pcap(path))[0]
            j = jconn(report(path), c)
            me, peer = ("s", "c") if who == "server" else ("c", "s")
            rst = c.of(me, RST)[0]
            data = [p for p in c.of(peer, data=True) if p.ts < rst.ts][-1]
            fires(name, j, "rst_instead_of_fin", "warning", who, [data.n, rst.n],
                  ["sent_by", "state_before", "peer_state_before", "unread_data_likely"],
                  {"sent_by": who, "state_before": "ESTABLISHED", "unread_data_likely": True})
            absent(name, j, ["rst_after_close", "fin_wait2_timeout", "refused", "time_wait"])


def t_write_after_close():
    path, (c,) = kernel("write_after_close")
    name = "kernel/write_after_close"
    j = jconn(report(path), c)
    fin = c.of("c", FIN)[0]
    data = first_after(c.of("s", data=True), fin.ts)
    rst = c.of("c", RST)[0]
    fires(name, j, "rst_after_close", "warning", "client", [fin.n, data.n, rst.n],
          ["sent_by", "state_before", "writer", "data_packet", "seconds_since_fin"],
          {"sent_by": "client", "writer": "server", "state_before": "FIN_WAIT_2",
           "data_packet": data.n, "seconds_since_fin": near(rst.ts - fin.ts, 1e-4)})
    # 0.1 s in FIN_WAIT_2: the orphan reset data after close(), no timeout
    absent(name, j, ["fin_wait2_timeout", "rst_instead_of_fin", "half_close",
                     "close_wait_stuck"])


def t_fin_wait2_reaped():
    path, (c,) = kernel("fin_wait2_reaped")
    name = "kernel/fin_wait2_reaped"
    j = jconn(report(path), c)
    fin = c.of("c", FIN)[0]
    fin_ack = next(p for p in c.of("s", ACK) if p.ack == (fin.seq + 1) & 0xFFFFFFFF)
    data = first_after(c.of("s", data=True), fin_ack.ts)
    rst = c.of("c", RST)[0]
    fires(name, j, "fin_wait2_timeout", "warning", "client", [fin_ack.n, data.n, rst.n],
          ["seconds_in_fin_wait_2", "answered_with_rst", "past_fin_timeout", "peer_state"],
          {"answered_with_rst": True, "peer_state": "CLOSE_WAIT",
           "seconds_in_fin_wait_2": near(rst.ts - fin_ack.ts, 1e-3)})
    fires(name, j, "rst_after_close", "warning", "client", [data.n, rst.n],
          ["writer"], {"writer": "server"})
    absent(name, j, ["rst_instead_of_fin", "half_close"])


def t_final_ack_dropped():
    path, (c,) = kernel("final_ack_dropped")
    name = "kernel/final_ack_dropped"
    j = jconn(report(path), c)
    fins = c.of("s", FIN)
    last = c.pkts[-1]
    fires(name, j, "missing_final_ack", "warning", "server", [p.n for p in fins] + [last.n],
          ["fins", "final_ack_seen", "seconds_in_last_ack", "ack_expected_from"],
          {"fins": len(fins), "final_ack_seen": True, "ack_expected_from": "client",
           "seconds_in_last_ack": near(last.ts - fins[0].ts, 1e-4)})
    absent(name, j, ["close_wait_stuck", "rst_instead_of_fin"])
    for scen, closer in (("client_first", "client"), ("server_first", "server")):
        p = os.path.join(KDIR, scen + ".pcap")
        absent("kernel/" + scen, jconn(report(p), conns(read_pcap(p))[0]),
               ["missing_final_ack"])


def t_final_ack_lost_late():
    """The client's final ACK is captured, then lost (nft input drops it and
    the next three): the server's FIN retransmissions prove it stayed in
    LAST_ACK; the ACK after the last of them closed it, as the kernel says
    (tests/netns/kernel/final_ack_lost_late.kernel.txt)."""
    path, (c,) = kernel("final_ack_lost_late")
    name = "kernel/final_ack_lost_late"
    j = jconn(report(path, "--timeline", "full"), c)
    fins = c.of("s", FIN)
    last = c.pkts[-1]
    fires(name, j, "missing_final_ack", "warning", "server", [p.n for p in fins] + [last.n],
          ["fins", "final_ack_seen", "seconds_in_last_ack"],
          {"fins": len(fins), "final_ack_seen": True,
           "seconds_in_last_ack": near(last.ts - fins[0].ts, 1e-4)})
    absent(name, j, ["unexpected_segment"])
    tl = (j or {}).get("timeline", [])
    lost = [e["packet"] for e in tl if e.get("event") == "final_ack_lost"]
    acks = [p.n for p in c.of("c", ACK) if p.n > fins[0].n and p.n < last.n]
    point(lost == acks and len(acks) == len(fins) - 1,
          "%s: the %d client ACKs the FIN retransmissions answer are final_ack_lost"
          % (name, len(fins) - 1), ["got %s, want %s" % (lost, acks)])
    server = [(e["packet"], e["server"]) for e in tl if e.get("packet", 0) >= fins[0].n]
    point(all(st == "LAST_ACK" for n, st in server if n < last.n) and
          server and server[-1] == (last.n, "CLOSED"),
          "%s: the server stays LAST_ACK from its FIN to the last ACK" % name,
          ["got %s" % server])


def t_fin_ack_lost_late():
    """The server's ACK of the client's FIN is captured, then lost (nft input
    drops it): the client's FIN retransmission proves it stayed in
    FIN_WAIT_1; the next ACK took it to FIN_WAIT_2, as the kernel says
    (tests/netns/kernel/fin_ack_lost_late.kernel.txt)."""
    path, (c,) = kernel("fin_ack_lost_late")
    name = "kernel/fin_ack_lost_late"
    j = jconn(report(path, "--timeline", "full"), c)
    fins = c.of("c", FIN)
    acks = [p for p in c.of("s", ACK) if not p.has(FIN) and p.n > fins[0].n]
    tl = (j or {}).get("timeline", [])
    lost = [e["packet"] for e in tl if e.get("event") == "fin_ack_lost"]
    point(len(fins) == 2 and len(acks) >= 2 and lost == [acks[0].n],
          "%s: the ACK the FIN retransmission answers is fin_ack_lost" % name,
          ["got %s, want %s" % (lost, [a.n for a in acks[:1]])])
    client = [(e["packet"], e["client"]) for e in tl
              if fins[0].n <= e.get("packet", 0) <= (acks[1].n if len(acks) > 1 else 0)]
    want = [(p, "FIN_WAIT_1") for p, _ in client[:-1]] + [(acks[1].n, "FIN_WAIT_2")] \
        if len(acks) > 1 else None
    point(client == want, "%s: the client stays FIN_WAIT_1 until the second ACK" % name,
          ["got %s" % client])
    absent(name, j, ["unexpected_segment", "fin_wait2_timeout"])


def t_close_wait():
    path = os.path.join(KDIR, "close_wait.pcap")
    name = "kernel/close_wait"
    pk = read_pcap(path)
    c = conns(pk)[0]
    fin = c.of("c", FIN)[0]
    took = next(p for p in c.of("s", ACK) if p.ack == (fin.seq + 1) & 0xFFFFFFFF)
    held = pk.last_ts - took.ts   # the capture ends with the server in CLOSE_WAIT
    j = jconn(report(path, "--close-wait-threshold", "500ms"), c)
    fires(name + " (threshold 500ms)", j, "close_wait_stuck", "error", "server",
          [fin.n, took.n], ["seconds", "still_open", "sent_data", "threshold"],
          {"still_open": True, "sent_data": False, "threshold": 0.5,
           "seconds": near(held, 1e-3)})
    absent(name, j, ["fin_wait2_timeout", "missing_final_ack"])
    # the server held CLOSE_WAIT ~1.5 s: under the default 5 s threshold
    absent(name + " (default 5 s)", jconn(report(path), c), ["close_wait_stuck"])
    # samples/close_wait.pcap ends at the ACK that proves CLOSE_WAIT: a
    # capture's clock stops at its last packet, so 0 s were observed
    path = os.path.join(SDIR, "close_wait.pcap")
    c = conns(read_pcap(path))[0]
    absent("samples/close_wait.pcap (threshold 500ms)",
           jconn(report(path, "--close-wait-threshold", "500ms"), c), ["close_wait_stuck"])


def t_simultaneous_close():
    path, (c,) = kernel("simultaneous_close")
    name = "kernel/simultaneous_close"
    rep = report(path)
    j = jconn(rep, c)
    cf, sf = c.of("c", FIN)[0], c.of("s", FIN)[0]
    fires(name, j, "simultaneous_close", "info", "connection", [cf.n, sf.n],
          ["fin_gap", "both_closing"],
          {"both_closing": True, "fin_gap": near(abs(sf.ts - cf.ts), 1e-4)})
    tw = sorted((a["endpoint"], a["evidence"].get("via_closing"))
                for a in j["anomalies"] if a["type"] == "time_wait")
    point(tw == [("client", True), ("server", True)],
          name + ": time_wait on both sides, via CLOSING", summary(j))
    no_warnings(name, rep)


def t_half_close():
    path, (c,) = kernel("half_close")
    name = "kernel/half_close"
    rep = report(path)
    j = jconn(rep, c)
    fin = c.of("c", FIN)[0]
    after = [p for p in c.of("s", data=True) if p.ts > fin.ts]
    fires(name, j, "half_close", "info", "client", [fin.n, after[0].n],
          ["data_from", "segments", "bytes"],
          {"data_from": "server", "segments": len(after), "bytes": sum(p.len for p in after)})
    no_warnings(name, rep)
    for scen in ("client_first", "fin_ack_close", "close_before_accept", "server_first"):
        p = os.path.join(KDIR, scen + ".pcap")
        absent("kernel/" + scen, jconn(report(p), conns(read_pcap(p))[0]), ["half_close"])


def t_clean():
    """Clean exchanges: the active closer's time_wait and nothing else."""
    cases = [(os.path.join(KDIR, s + ".pcap"), w) for s, w in (
        ("client_first", "client"), ("server_first", "server"), ("fin_ack_close", "client"),
        ("close_before_accept", "client"), ("ipv6", "client"))]
    cases += [(os.path.join(SDIR, s), "client") for s in (
        "normal.pcap", "normal-ns.pcap", "normal-sll2.pcap", "ipv6.pcap")]
    for path, closer in cases:
        name = os.path.relpath(path, SRC)
        c = conns(read_pcap(path))[0]
        j = jconn(report(path), c)
        only_time_wait(name, j, closer)
        me = closer[0]
        fin = c.of(me, FIN)[0]
        last = c.pkts[-1]   # the closer's final ACK
        fires(name, j, "time_wait", "info", closer, [fin.n, last.n],
              ["via_closing", "ended_by"], {"via_closing": False, "ended_by": "capture_end"})


def t_keepalive():
    for scen in ("keepalive", "zero_window"):
        path = os.path.join(KDIR, scen + ".pcap")
        rep = report(path)
        if scen == "keepalive":
            no_warnings("kernel/keepalive", rep)
        c = conns(read_pcap(path))[0]
        absent("kernel/" + scen, jconn(rep, c), MINE - {"time_wait"})
    # the RST that gives up unanswered keepalives is keepalive_timeout's
    path, (c,) = kernel("keepalive_timeout")
    absent("kernel/keepalive_timeout", jconn(report(path), c),
           ["rst_instead_of_fin", "rst_after_close", "time_wait"])


def t_every_anomaly():
    """Every anomaly of these types on every capture: sentences complete
    (not cut at the buffer's end), advice right for current Linux."""
    paths = sorted(os.path.join(KDIR, f) for f in os.listdir(KDIR) if f.endswith(".pcap"))
    paths += sorted(os.path.join(SDIR, f) for f in os.listdir(SDIR) if f.endswith(".pcap"))
    bad, n = [], 0
    for path in paths:
        for j in report(path)["connections"]:
            for a in j["anomalies"]:
                if a["type"] not in MINE:
                    continue
                n += 1
                where = "%s conn %d %s" % (os.path.basename(path), j["id"], a["type"])
                if not (0 < len(a["explanation"]) < 399 and a["explanation"].endswith(".")):
                    bad.append(where + ": explanation cut or empty")
                if not (0 < len(a["suggestion"]) < 299 and a["suggestion"].endswith(".")):
                    bad.append(where + ": suggestion cut or empty")
                s = a["suggestion"]
                if "tcp_tw_recycle" in s and "Never tcp_tw_recycle" not in s:
                    bad.append(where + ": mentions tcp_tw_recycle without warning")
                if a["endpoint"] not in ("client", "server", "connection") or not a["packets"]:
                    bad.append(where + ": endpoint %s packets %s" % (a["endpoint"], a["packets"]))
    point(not bad and n > 0, "%d anomalies on %d captures: complete sentences, sound advice"
          % (n, len(paths)), bad)


TESTS = [t_refused, t_syn_dropped, t_backlog_full, t_synack_lost, t_midstream, t_port_reuse,
         t_rst_instead_of_fin, t_write_after_close, t_fin_wait2_reaped, t_final_ack_dropped,
         t_final_ack_lost_late, t_fin_ack_lost_late,
         t_close_wait, t_simultaneous_close, t_half_close, t_clean, t_keepalive,
         t_every_anomaly]

for t in TESTS:
    try:
        t()
    except Exception as e:  # noqa: BLE001 - a broken case is a failure, not a crash
        point(False, "%s raised %r" % (t.__name__, e))
print("1..%d" % N[0])
print("# %d passed, %d failed" % (N[0] - FAILED[0], FAILED[0]))
sys.exit(1 if FAILED[0] else 0)
PY
