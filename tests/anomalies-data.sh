#!/bin/bash
# The data-phase anomalies (docs/anomalies.md) on real kernel captures
# (tests/netns/kernel/, made by tests/netns/make-kernel-samples.sh): each
# type must fire where the kernel did the thing (type, severity, endpoint,
# evidence keys, the packets that prove it) and stay quiet where it did not.
# Prints TAP. Env: TCPLENS (the binary), SRCDIR (the source tree).
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
if ! command -v python3 >/dev/null 2>&1; then
    echo "1..0 # SKIP python3 not found"
    exit "${TL_SKIP_STATUS:-77}"
fi
export TCPLENS=$tcplens KDIR=$srcdir/tests/netns/kernel
exec python3 - <<'EOF'
import json, os, subprocess, sys

TCPLENS, KDIR = os.environ["TCPLENS"], os.environ["KDIR"]
MINE = {"zero_window", "keepalive", "keepalive_timeout", "retransmission",
        "stalled_retransmission", "unexpected_segment"}
n = failed = 0


def ok(cond, name, diag=None):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print("%sok %d - %s" % ("" if cond else "not ", n, name))
    if not cond and diag is not None:
        for line in json.dumps(diag, indent=1, default=str).splitlines()[:40]:
            print("#   " + line)
    return cond


def report(pcap, *args):
    """tcplens's JSON report of one kernel capture (full timelines)."""
    cmd = [TCPLENS, "-r", os.path.join(KDIR, pcap), "--json", "-", "--timeline", "full"]
    cmd += list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        ok(False, "%s %s: tcplens ran" % (pcap, " ".join(args)), r.stderr)
        return {"connections": [], "host_anomalies": []}
    return json.loads(r.stdout)


def run(pcap, *args):
    return report(pcap, *args)["connections"]


def anomalies(conns, typ):
    return [(c, a) for c in conns for a in c["anomalies"] if a["type"] == typ]


def events(conn, pkts):
    """The timeline events of the given packet numbers."""
    by = {e.get("packet"): e for e in conn["timeline"]}
    return [by.get(p, {}) for p in pkts]


def fires(conns, typ, sev, endpoint, keys, what):
    """Exactly one anomaly of typ on this endpoint, with this severity, the
    evidence keys, packets; returns (conn, anomaly) or (None, None)."""
    found = [(c, a) for c, a in anomalies(conns, typ) if a["endpoint"] == endpoint]
    if not ok(len(found) == 1, "%s: one %s on the %s" % (what, typ, endpoint),
              [a for _, a in anomalies(conns, typ)]):
        return None, None
    c, a = found[0]
    ok(a["severity"] == sev, "%s: %s %s" % (what, typ, sev), a)
    ok(set(keys) <= set(a["evidence"]), "%s: %s evidence %s" % (what, typ, ",".join(keys)),
       a["evidence"])
    ok(len(a["packets"]) > 0 and all(events(c, a["packets"])),
       "%s: %s names packets of the connection" % (what, typ), a["packets"])
    ok(0 < len(a["explanation"]) < 399 and 0 < len(a["suggestion"]) < 299,
       "%s: %s explained, not truncated" % (what, typ))
    return c, a


def quiet(conns, typ, what, worst=None):
    """No anomaly of typ (or none at or above severity worst)."""
    found = [a for _, a in anomalies(conns, typ)]
    if worst is not None:
        order = ["info", "warning", "error"]
        found = [a for a in found if order.index(a["severity"]) >= order.index(worst)]
        ok(not found, "%s: no %s at %s or above" % (what, typ, worst), found)
    else:
        ok(not found, "%s: no %s" % (what, typ), found)


clean = run("client_first.pcap")
zw = run("zero_window.pcap")
ka = run("keepalive.pcap")
kat = run("keepalive_timeout.pcap")
lossy = run("lossy.pcap")
bh = run("blackhole.pcap")

# -- clean exchange: none of them
for typ in sorted(MINE):
    quiet(clean, typ, "client_first (clean)")

# -- zero_window: the server stops reading for 1.5 s
c, a = fires(zw, "zero_window", "warning", "server",
             ["times", "longest_s", "probes", "reopened"], "zero_window.pcap")
if a:
    ev = [e.get("event") for e in events(c, a["packets"])]
    ok(ev[0] == "zero_window" and ev[-1] == "window_open" and
       "zero_window_probe" in ev and a["evidence"]["reopened"] is True,
       "zero_window.pcap: packets are the zero window, the probes, the reopening", ev)
    ok(a["evidence"]["probes"] >= 1 and a["evidence"]["longest_s"] > 1.0,
       "zero_window.pcap: probed, closed for more than 1 s", a["evidence"])
for pc, conns in (("keepalive", ka), ("lossy", lossy), ("blackhole", bh)):
    quiet(conns, "zero_window", pc + ".pcap")

# -- keepalive: answered probes on an idle, healthy connection
c, a = fires(ka, "keepalive", "info", "client",
             ["probes", "answered", "unanswered", "idle_s", "interval_s"], "keepalive.pcap")
if a:
    ok(a["evidence"]["probes"] >= 1 and a["evidence"]["answered"] == a["evidence"]["probes"]
       and a["evidence"]["unanswered"] == 0, "keepalive.pcap: every probe answered",
       a["evidence"])
    ok(all(e.get("event") == "keepalive" for e in events(c, a["packets"])),
       "keepalive.pcap: packets are the probes")
    bad = [x for x in c["anomalies"] if x["severity"] != "info"]
    ok(not bad, "keepalive.pcap: a healthy connection with keepalives has no warning/error",
       bad)
quiet(ka, "keepalive_timeout", "keepalive.pcap")
quiet(zw, "keepalive", "zero_window.pcap")

# -- keepalive_timeout: unanswered probes, then the prober's RST
c, a = fires(kat, "keepalive_timeout", "error", "client",
             ["probes", "unanswered", "idle_s", "peer_silent_s"], "keepalive_timeout.pcap")
if a:
    ev = events(c, a["packets"])
    ok([e.get("event") for e in ev[:-1]] == ["keepalive"] * (len(ev) - 1) and
       "R" in ev[-1].get("flags", "") and ev[-1].get("dir") == "client>server",
       "keepalive_timeout.pcap: packets are the probes, then the client's RST",
       [(e.get("event"), e.get("flags")) for e in ev])
    ok(a["evidence"]["unanswered"] == a["evidence"]["probes"] >= 1,
       "keepalive_timeout.pcap: no probe answered", a["evidence"])
quiet(kat, "keepalive", "keepalive_timeout.pcap (reported as the timeout)")

# -- retransmission: real loss is a warning, one tail loss probe is not
c, a = fires(lossy, "retransmission", "warning", "server",
             ["retransmissions", "bytes", "data_segments", "rate", "spurious"], "lossy.pcap")
if a:
    ok(a["evidence"]["retransmissions"] >= 3 and a["evidence"]["rate"] >= 0.01,
       "lossy.pcap: at least 3 retransmissions, at least 1 %", a["evidence"])
    ok(events(c, a["packets"][:1])[0].get("event") == "retransmission",
       "lossy.pcap: the first packet is a retransmission")
c, a = fires(zw, "retransmission", "info", "client",
             ["retransmissions", "spurious"], "zero_window.pcap (one tail loss probe)")
if a:
    ok(a["evidence"]["retransmissions"] == 1 and a["evidence"]["spurious"] == 1,
       "zero_window.pcap: the probe was a duplicate (D-SACK), not loss", a["evidence"])
quiet(ka, "retransmission", "keepalive.pcap")
quiet(zw, "retransmission", "zero_window.pcap", worst="warning")

# -- stalled_retransmission: blackholed path until the kernel gives up
keys = ["retransmissions", "gaps", "duration_s", "peer_silent", "gave_up", "ended_by"]
c, a = fires(bh, "stalled_retransmission", "error", "client", keys, "blackhole.pcap")
last = None
if a:
    e = a["evidence"]
    g = e["gaps"]
    ok(len(g) >= 2 and all(g[i + 1] > 1.5 * g[i] for i in range(len(g) - 1)),
       "blackhole.pcap: gaps grow (backoff)", g)
    ok(e["peer_silent"] is True and e["gave_up"] is True and e["ended_by"] == "rst",
       "blackhole.pcap: silent peer, sender gave up, RST at the end", e)
    ev = events(c, a["packets"])
    ok(all(x.get("event") == "retransmission" for x in ev[:-1]),
       "blackhole.pcap: packets are the retransmissions (and the RST)")
    last = max(p for p, x in zip(a["packets"], ev) if x.get("event") == "retransmission")
quiet(bh, "retransmission", "blackhole.pcap (all in the stall)", worst="warning")
if last is not None:    # the same capture cut at the last retransmission
    cut = run("blackhole.pcap", "-c", str(last))
    c, a = fires(cut, "stalled_retransmission", "error", "client", keys,
                 "blackhole.pcap -c %d" % last)
    if a:
        ok(a["evidence"]["ended_by"] == "capture_end" and a["evidence"]["gave_up"] is False,
           "blackhole.pcap -c: still retrying when the capture ends", a["evidence"])
for pc, conns in (("lossy", lossy), ("zero_window", zw), ("keepalive_timeout", kat)):
    quiet(conns, "stalled_retransmission", pc + ".pcap")

# -- the capture lost the SYN-ACK, or a whole direction: evidence beats the
# missing packet. The client's ACK proves it took a SYN-ACK in, and that the
# server sent one: both are synchronized, the server through SYN_RECV unseen.
cut = run("client_first.pcap", "not (tcp[tcpflags] == (tcp-syn|tcp-ack))")
quiet(cut, "unexpected_segment", "client_first.pcap without its SYN-ACK")
if ok(len(cut) == 1, "without SYN-ACK: one connection", len(cut)):
    c = cut[0]
    ok(c["states_at_end"] == {"client": "TIME_WAIT", "server": "CLOSED"},
       "without SYN-ACK: the kernel's states at the end", c["states_at_end"])
    first = [e for e in c["timeline"] if e.get("dir") == "client>server" and e["flags"] == "A"][0]
    ok(first["client"] == "ESTABLISHED" and first["server"] == "ESTABLISHED" and
       first.get("via") == {"server": ["SYN_RECV"]},
       "without SYN-ACK: the client's ACK: both ESTABLISHED, the server via SYN_RECV", first)
one = run("client_first.pcap", "dst port 10001")
quiet(one, "unexpected_segment", "client_first.pcap, one direction")
if ok(len(one) == 1, "one direction: one connection", len(one)):
    st = one[0]["states_at_end"]
    ok(st["client"] not in ("SYN_SENT", "LISTEN", "SYN_RECV") and
       st["server"] not in ("SYN_SENT", "LISTEN", "SYN_RECV"),
       "one direction: nobody left in the handshake", st)
for pc, conns in (("zero_window", zw), ("keepalive", ka), ("lossy", lossy)):
    quiet(conns, "unexpected_segment", pc + ".pcap")

# -- idle is not the end: the keepalive capture with an idle timeout shorter
# than its silences is still one connection, ending as the kernel says.
for cap, truth in (("keepalive.pcap", {"client": "TIME_WAIT", "server": "CLOSED"}),
                   ("keepalive_timeout.pcap", {"client": "CLOSED", "server": "CLOSED"})):
    rep = report(cap, "--idle-timeout", "500ms")
    cs = rep["connections"]
    ok(len(cs) == 1 and cs[0]["states_at_end"] == truth and cs[0]["roles_from"] == "syn",
       "%s --idle-timeout 500ms: one connection, the kernel's states" % cap,
       [(c["id"], c["roles_from"], c["end"], c["states_at_end"]) for c in cs])

# -- accept_queue_overflow on the kernel's own overflow: listen(5), seven
# clients, accept() never called, default sysctls. Six connections complete
# (backlog + 1), the seventh's SYNs are dropped again and again.
rep = report("accept_overflow_default.pcap")
aq = [h for h in rep["host_anomalies"] if h["type"] == "accept_queue_overflow"]
if ok(len(aq) == 1, "accept_overflow_default: one accept_queue_overflow", rep["host_anomalies"]):
    ev = aq[0]["evidence"]
    ok(ev.get("queue_estimate") == 6 and ev.get("backlog_estimate") == 5,
       "accept_overflow_default: queue 6 = listen(5) + 1", ev)
    ok(ev.get("completed") == 6 and ev.get("syns_dropped") == 1 and ev.get("acks_dropped") == 0,
       "accept_overflow_default: 6 completed, 1 client's SYNs dropped", ev)
    ok("backlog 5 + 1" in aq[0]["explanation"] and "ACK" not in aq[0]["explanation"].split("stopped")[1].split("Linux")[0],
       "accept_overflow_default: the text says what the evidence says", aq[0]["explanation"])
rep = report("backlog_full.pcap")
aq = [h for h in rep["host_anomalies"] if h["type"] == "accept_queue_overflow"]
if ok(len(aq) == 1, "backlog_full: one accept_queue_overflow", rep["host_anomalies"]):
    ok(aq[0]["evidence"].get("backlog_estimate") == 1, "backlog_full: listen(1)", aq[0]["evidence"])

print("1..%d" % n)
print("# %d passed, %d failed" % (n - failed, failed))
sys.exit(1 if failed else 0)
EOF
