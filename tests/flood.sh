#!/bin/bash
# Resource bounds under attack. tests/flood writes the captures:
#
#  - a SYN flood from spoofed addresses (every SYN its own source and
#    port, so every one a half-open connection), with an SSH session to the
#    same server active throughout: tcplens --max-flows 5000 must hold 5000
#    connections at most, evict and count exactly the rest, keep the active
#    session, bound its host aggregates and count their evictions; as
#    NDJSON, write every connection once, in first-seen order but for the
#    session, which the report's cap on connections waiting for an older
#    one lets the flood pass;
#  - one connection whose data is retransmitted again and again: with
#    --timeline full --timeline-max 100 its timeline must stop at 100
#    entries and count exactly the rest, and the retransmission anomaly must
#    come once with the full count.
#
# Each flood runs at two lengths, and the peak RSS of tcplens (wait4) must
# not grow with the length: memory follows the caps, not the capture.
# Prints TAP.
set -u
export LC_ALL=C TZ=UTC
builddir=${BUILDDIR:-.}
tcplens=${TCPLENS:-./tcplens}
flood=$builddir/tests/flood
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
[ -x "$tcplens" ] || skip "tcplens not built"
[ -x "$flood" ] || skip "tests/flood not built (make check builds it)"
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
# Under AddressSanitizer freed blocks wait in a quarantine (256 MB by
# default) that would hide whether memory is reused: keep it small. Leak
# detection stays on, so a leak fails the run (exit status).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-flood.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
python3 - "$tcplens" "$flood" "$tmp" <<'PY'
import json, os, subprocess, sys

tcplens, flood, tmp = sys.argv[1:]
n = failed = 0

# Lengths: long enough that memory kept per connection or per packet shows
# beyond the 16 MB margin (14 bytes for each of the 1.2 million more SYNs
# of the long flood), short enough that the whole test takes well under a
# minute under AddressSanitizer.
SYN_SHORT, SYN_LONG = 300000, 1500000
NDJSON_SHORT, NDJSON_LONG = 100000, 700000
RETX_SHORT, RETX_LONG = 200000, 1000000
MAX_FLOWS = 5000
MAX_HOSTS = 8192        # TL_HOSTS_DEFAULT_MAX
TIMELINE_MAX = 100
SESSION_EVERY = 1000    # tests/flood.c: the session's exchanges
LIMIT = 300             # seconds per run

def ok(cond, what):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, what))
    if not cond:
        failed += 1
    return cond

# Runs flood ARGS... | tcplens ARGS... and writes "status maxrss" to a file.
# A process of its own, with nothing but os (python3 -S): a child's peak
# RSS (wait4) starts from its parent's at the fork.
MEASURE = r"""
import os, signal, sys
out, limit, cut = sys.argv[1], int(sys.argv[2]), sys.argv.index("--")
r, w = os.pipe()
def start(argv, fd, to):
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(fd, to)
            os.close(r)
            os.close(w)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    return pid
g = start(sys.argv[3:cut], w, 1)
t = start(sys.argv[cut + 1:], r, 0)
os.close(r)
os.close(w)
signal.signal(signal.SIGALRM, lambda *_: os.kill(t, signal.SIGKILL))
signal.alarm(limit)
_, status, ru = os.wait4(t, 0)
signal.alarm(0)
os.waitpid(g, 0)
with open(out, "w") as f:
    f.write("%d %d" % (os.waitstatus_to_exitcode(status), ru.ru_maxrss))
"""

def run(gen, args, name, on_line=None):
    """Runs flood GEN | tcplens -r - ARGS; returns (exit status, peak RSS
    in kB of tcplens). With on_line, stdout is read line by line."""
    res, errs = os.path.join(tmp, name + ".res"), os.path.join(tmp, name + ".err")
    with open(errs, "wb") as err:
        m = subprocess.Popen([sys.executable, "-S", "-c", MEASURE, res, str(LIMIT), flood] + gen +
                             ["--", tcplens, "-r", "-"] + args, stderr=err,
                             stdout=subprocess.PIPE if on_line else subprocess.DEVNULL)
        if on_line:
            for line in m.stdout:
                on_line(line)
            m.stdout.close()
        m.wait()
    try:
        with open(res) as f:
            rc, rss = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        rc, rss = -1, 0
    if rc != 0:
        with open(errs, errors="replace") as f:
            for line in f.read().splitlines()[:20]:
                print("# " + line)
    return rc, rss

def flat(short, long, what):
    """The long run's peak RSS within 16 MB or 20 % of the short one's."""
    limit = short + max(16 * 1024, short // 5)
    ok(long <= limit, "%s: peak RSS %d kB, short run %d kB (limit %d kB)"
       % (what, long, short, limit))

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

# --- SYN flood, as a user facing one would look at it: the document with
# only the connections that have a warning or an error. The document is
# built at the end from a temporary file (connections never wait in
# memory for it), but a full one would be a gigabyte of half-open
# connections nobody reads; the summary and the counters say what
# happened.
rss = {}
for syns in (SYN_SHORT, SYN_LONG):
    doc = os.path.join(tmp, "syn-%d.json" % syns)
    rc, rss[syns] = run(["syn", str(syns), "1"],
                        ["--max-flows", str(MAX_FLOWS), "--anomalies-only", "--json", doc],
                        "syn-%d" % syns)
    what = "SYN flood of %d" % syns
    d = load(doc) if ok(rc == 0, "%s: exit 0" % what) else None
    if not ok(d is not None, "%s: the report is JSON" % what):
        continue
    cap, sm = d["capture"], d["summary"]
    conns = syns + 1  # and the session
    ok(cap["tcp_packets"] == syns + 3 + 2 * -(-syns // SESSION_EVERY),
       "%s: every packet read as TCP (%d)" % (what, cap["tcp_packets"]))
    ok(sm["connections"] == conns,
       "%s: every SYN is a connection, reported once (%d)" % (what, sm["connections"]))
    ok(cap["peak_connections"] == MAX_FLOWS,
       "%s: at most --max-flows %d held at once (peak %d)"
       % (what, MAX_FLOWS, cap["peak_connections"]))
    # All but the MAX_FLOWS held when the capture ends were pushed out.
    ok(cap["evicted"] == {"idle": 0, "max_flows": conns - MAX_FLOWS,
                          "hosts": conns + 1 - MAX_HOSTS},
       "%s: capture.evicted counts %d by --max-flows and %d host aggregates: %s"
       % (what, conns - MAX_FLOWS, conns + 1 - MAX_HOSTS, json.dumps(cap["evicted"])))
    ok(sm["ends"] == {"open": MAX_FLOWS, "evicted": conns - MAX_FLOWS},
       "%s: summary.ends: %s" % (what, json.dumps(sm["ends"])))
    # Least recently seen goes first: the session, active, outlives the flood.
    ok(sm["states_at_end"] == {"client": {"SYN_SENT": syns, "ESTABLISHED": 1},
                               "server": {"LISTEN": syns, "ESTABLISHED": 1}},
       "%s: the session is never evicted: %s" % (what, json.dumps(sm["states_at_end"])))
    ok(sm["connections_listed"] == 0 and d["connections"] == []
       and "connections_out_of_order" not in sm,
       "%s: no connection listed, none out of order" % what)
    # One SYN per source is no scan: the evicted aggregates were judged
    # (hosts.c) and found nothing, rather than a million syn_scan entries.
    ok(d["host_anomalies"] == [], "%s: no source reported as a scanner" % what)
flat(rss[SYN_SHORT], rss[SYN_LONG], "SYN flood %d vs %d" % (SYN_SHORT, SYN_LONG))

# --- The same flood as NDJSON, every connection written, to a log
# pipeline. Lines go out in first-seen order, so each one waits for the
# older ones still open: behind the session, every connection of the flood
# would, but at most 65536 wait (TL_REPORT_WAIT_MAX).
rss = {}
for syns in (NDJSON_SHORT, NDJSON_LONG):
    # Streamed: ids 2, 3, … in order, and the session's 1 somewhere after.
    seen = {"next": 2, "session": 0, "at": 0, "stray": 0, "lines": 0}
    def take(line, s=seen):
        if line.startswith((b'{"record":"host_anomaly",', b'{"record":"service",',
                            b'{"record":"host",', b'{"record":"summary",')):
            return  # written at the end
        pre = b'{"record":"connection","id":'
        i = int(line[len(pre):line.index(b",", len(pre))]) if line.startswith(pre) else 0
        if i == 1:
            s["session"] += 1
            s["at"] = s["lines"]
        elif i == s["next"]:
            s["next"] += 1
        else:
            s["stray"] += 1
        s["lines"] += 1
    rc, rss[syns] = run(["syn", str(syns), "7"], ["--max-flows", str(MAX_FLOWS), "--ndjson"],
                        "ndjson-%d" % syns, take)
    what = "SYN flood of %d, NDJSON" % syns
    ok(rc == 0, "%s: exit 0" % what)
    ok(seen["next"] == syns + 2 and seen["session"] == 1 and seen["stray"] == 0,
       "%s: every connection written once (%d lines)" % (what, seen["lines"]))
    # Too many waited for the session: they went out, it comes later.
    ok(seen["at"] > 0, "%s: first-seen order but for the session, written after %d newer ones"
       % (what, seen["at"]))
flat(rss[NDJSON_SHORT], rss[NDJSON_LONG], "NDJSON SYN flood %d vs %d" % (NDJSON_SHORT, NDJSON_LONG))

# --- One segment retransmitted RETX times; every packet a timeline entry.
rss = {}
for retx in (RETX_SHORT, RETX_LONG):
    doc = os.path.join(tmp, "retrans-%d.json" % retx)
    rc, rss[retx] = run(["retrans", str(retx)],
                        ["--timeline", "full", "--timeline-max", str(TIMELINE_MAX),
                         "--json", doc], "retrans-%d" % retx)
    what = "%d retransmissions" % retx
    d = load(doc) if ok(rc == 0, "%s: exit 0" % what) else None
    if not ok(d is not None and len(d["connections"]) == 1, "%s: one connection" % what):
        continue
    c = d["connections"][0]
    pkts = 2 * retx + 8
    ok(c["packets"] == {"client": retx + 5, "server": retx + 3} and c["end"] == "fin",
       "%s: %d packets, closed with FINs" % (what, pkts))
    tl = c["timeline"]
    ok([e["packet"] for e in tl] == list(range(1, TIMELINE_MAX + 1)),
       "%s: the timeline holds the first %d packets (%d entries)" % (what, TIMELINE_MAX, len(tl)))
    ok(c.get("timeline_dropped") == pkts - TIMELINE_MAX,
       "%s: timeline_dropped counts the other %d (%s)"
       % (what, pkts - TIMELINE_MAX, c.get("timeline_dropped")))
    an = [a for a in c["anomalies"] if a["type"] != "time_wait"]
    ev = an[0]["evidence"] if len(an) == 1 else {}
    ok(len(an) == 1 and an[0]["type"] == "retransmission" and an[0]["severity"] == "warning"
       and an[0]["packets"][:1] == [6],
       "%s: one retransmission warning, from the first copy (packet 6): %s"
       % (what, [(a["type"], a["severity"], a["packets"]) for a in an]))
    ok(ev.get("retransmissions") == retx and ev.get("data_segments") == retx + 1
       and ev.get("bytes") == 100 * retx,
       "%s: its evidence counts them all: %s" % (what, json.dumps(ev)))
flat(rss[RETX_SHORT], rss[RETX_LONG], "retransmissions %d vs %d" % (RETX_SHORT, RETX_LONG))

print("1..%d" % n)
sys.exit(1 if failed else 0)
PY
