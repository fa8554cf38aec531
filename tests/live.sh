#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Live capture (`tcplens -i lo`) against real kernel TCP traffic in private
# network namespaces (tests/netns/lib.sh, scenario.py).
#
# Part 1, one namespace, ~5 s.  While three tcplens capture lo --
#   A: -i lo -Z nobody --ndjson=FILE --json FILE -w FILE
#   B: -i lo -c 3 --json FILE tcp port P_NORMAL      (stdout: a file)
#   C: -i lo --duration 3s tcp port P_REFUSED        (stdout: a file)
# -- four scenarios run at once: normal (client closes first), refused,
# rst_unread (the server closes with unread data: RST) and close_wait (the
# server never closes; its sockets stay open until after A stopped).
# A separate watcher tails A's NDJSON stream and timestamps every line.
# Once the three ended connections have been streamed, A gets SIGUSR1,
# `ss -tan` is recorded and A gets SIGINT.  Checks:
#   - -Z: A's real/effective/saved/fs uid and gid are nobody's, no capabilities
#   - streaming: the three ended connections were streamed (whole, flushed
#     lines) before SIGINT, each 2 s (the live --linger) after its last
#     packet (1.95 .. 3.5 s); the open one only after SIGINT
#   - SIGUSR1: a snapshot on stderr ("snapshot ... UTC: 1 open connection")
#     listing the open connection as FIN_WAIT_2 / CLOSE_WAIT; A keeps running
#   - SIGINT: exit 0; the final snapshot lists the open connection; the
#     kernel counters line on stderr equals capture.live in the JSON, with
#     0 dropped by kernel and interface
#   - each scenario's connection: states_at_end, end and its defining anomaly
#   - ss at SIGINT: every endpoint socket's state equals states_at_end
#     (TIME-WAIT -> TIME_WAIT, absent -> CLOSED), and every non-LISTEN socket
#     in ss belongs to a reported connection
#   - the NDJSON stream after exit holds every connection once, identical to
#     the --json document's objects
#   - `tcplens -r` on the -w file, told when the live capture stopped
#     (--capture-end): same connections, states_at_end, ends, anomaly types
#     and zeek; and the whole document equal after dropping what
#     legitimately differs (capture.live, capture.peak_connections and
#     connections[].released_packet -- they depend on --linger and the
#     live clock's ticks --, capture.end.source and inputs[].source)
#   - B stops by itself after 3 packets (exit 0): its stdout (not a terminal)
#     is NDJSON, one connection, ESTABLISHED/ESTABLISHED, end "open"
#   - C stops by itself after 3 s (3.0 .. 4.5 s wall clock, exit 0) with the
#     counters line; its stdout is NDJSON holding the refused connection
# Both --close-wait-threshold 60s (live and replay): close_wait_stuck
# depends on the stop time, which a pcap does not record.
#
# Part 2, a second namespace, ~34 s: `tcplens -i lo --ndjson=FILE` while a
# python loop makes 200 short connections per second for 32 s (request,
# response; 3 of 4 close with FIN, client first -> TIME_WAIT; 1 of 4 with
# SO_LINGER {1,0} -> RST; ip_local_port_range 1024-65000, tcp_tw_reuse 1).
# VmRSS and the NDJSON line count are sampled every second (printed as TAP
# comments).  Checks: RSS max after 10 s - RSS at 10 s < 4 MiB while the
# line count keeps rising; SIGTERM -> exit 0, 0 dropped; every connection
# the loop made is in the stream exactly once, with the right end.
#
# Needs root, iproute2 (ip netns), ss, python3.  Skips ("1..0 # SKIP", exit
# $TL_SKIP_STATUS, default 77) otherwise.  Environment: TCPLENS (binary,
# default ./tcplens), SRCDIR (source tree), TL_LIVE_MEM_SECONDS (load time of
# part 2, default 32, at least 15), TL_KEEP_WORKDIR=1 (keep the work dir;
# it is kept anyway when a check failed).
set -u
# In a sanitizer build, AddressSanitizer keeps freed memory in a quarantine
# (256 MB by default): RSS would measure ASan, not tcplens. A small one keeps
# the memory check meaningful there too.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1:thread_local_quarantine_size_kb=64"
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}

skip() {
    echo "1..0 # SKIP $*"
    exit "${TL_SKIP_STATUS:-77}"
}

[ -x "$tcplens" ] || skip "tcplens not built ($tcplens)"
command -v python3 >/dev/null 2>&1 || skip "python3 missing"
[ "$(id -u)" -eq 0 ] || skip "not root"
for t in ip ss; do
    command -v "$t" >/dev/null 2>&1 || skip "$t missing"
done
nobody_uid=$(id -u nobody 2>/dev/null) || skip "no user nobody"
nobody_gid=$(id -g nobody 2>/dev/null) || skip "no user nobody"
# shellcheck source=netns/lib.sh
. "$srcdir/tests/netns/lib.sh"
tl_netns_available 2>/dev/null || skip "network namespaces unavailable (need root and ip netns)"
case $tcplens in /*) ;; *) tcplens=$PWD/$tcplens ;; esac
py=${TL_PYTHON:-python3}
mem_secs=${TL_LIVE_MEM_SECONDS:-32}
((mem_secs >= 15)) || mem_secs=15

# ------------------------------------------------------------------ TAP
n=0 fails=0
ok() {
    n=$((n + 1))
    echo "ok $n - $*"
}
nok() {
    n=$((n + 1)) fails=$((fails + 1))
    echo "not ok $n - $*"
}
# exited RC DESC [FILE]: a test point for an exit status (0 = pass); FILE is
# shown on failure
exited() {
    if [ "$1" = 0 ]; then
        ok "$2"
    else
        nok "$2 (got exit $1)"
        [ -n "${3:-}" ] && show "$3"
    fi
    return 0
}
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
show() { [ -s "$1" ] && sed "s|^|#   ${1##*/}: |" "$1"; }
bail() {
    echo "Bail out! $*"
    fails=$((fails + 1))
    exit 1
}
# runs the checker; its PASS/FAIL lines become test points, "#" lines pass
# through, anything else (a traceback) is shown; no "END" = a failure
checks() {
    local line ended=0
    while IFS= read -r line; do
        case $line in
        "PASS "*) ok "${line#PASS }" ;;
        "FAIL "*) nok "${line#FAIL }" ;;
        END) ended=1 ;;
        "#"*) printf '%s\n' "$line" ;;
        *) printf '# %s\n' "$line" ;;
        esac
    done < <("$py" "$W/live_check.py" "$@" 2>&1)
    [ "$ended" = 1 ] || nok "checker '$1' did not finish"
}

# ------------------------------------------------------------------ cleanup
declare -a my_pids=()
forget() {
    local i
    for i in "${!my_pids[@]}"; do
        [ "${my_pids[$i]}" = "$1" ] && unset 'my_pids[i]'
    done
}
# shellcheck disable=SC2317  # invoked from the traps
finish() {
    local p
    for p in "${my_pids[@]}"; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
        tl_wait_pid "$p" 2 # not our child (tcplens under a subshell): reaped by init
    done
    my_pids=()
    if [ "$fails" -gt 0 ] && [ -n "${TL_WORKDIR:-}" ] && [ -d "$TL_WORKDIR" ]; then
        TL_KEEP_WORKDIR=1
        echo "# work dir kept: $TL_WORKDIR"
    fi
    tl_cleanup
}
trap 'finish' EXIT
trap 'finish; trap - EXIT; exit 130' INT
trap 'finish; trap - EXIT; exit 143' TERM
TL_TRAPS_SET=1

# wait_exit PID TIMEOUT_S: 0 once PID is gone (reaped by this shell)
wait_exit() { tl_wait_pid "$1" "$2"; }

# live_ready PID ERRFILE: tcplens has opened the capture (and dropped
# privileges) and blocked SIGINT, SIGTERM and SIGUSR1 for its signalfd: from
# then on packets are captured and the signals are handled, not fatal.
live_ready() {
    local pid=$1 err=$2 blk comm deadline=$((${EPOCHREALTIME/./} + 5000000))
    while :; do
        if ! kill -0 "$pid" 2>/dev/null; then
            diag "tcplens ($pid) exited during start-up:"
            show "$err"
            return 1
        fi
        comm=$(cat "/proc/$pid/comm" 2>/dev/null)
        blk=$(awk '/^SigBlk:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
        if [ "$comm" = tcplens ] && [ -n "$blk" ] && (((16#$blk & 16#4202) == 16#4202)); then
            return 0
        fi
        if ((${EPOCHREALTIME/./} > deadline)); then
            diag "tcplens ($pid) not capturing after 5 s"
            show "$err"
            return 1
        fi
        sleep 0.01
    done
}

tl_workdir || bail "cannot create a work dir"
W=$TL_WORKDIR
start_all=$EPOCHREALTIME
echo "# kernel $(uname -r); work dir $W"

# ------------------------------------------------------------------ checker
cat >"$W/live_check.py" <<'PYEOF'
"""Checks for tests/live.sh: prints PASS/FAIL/# lines and END."""
import json
import os
import re
import socket
import struct
import sys
import threading
import time


def out(ok, msg):
    print(("PASS " if ok else "FAIL ") + msg, flush=True)


def diag(msg):
    for line in str(msg).splitlines():
        print("# " + line, flush=True)


def load_ndjson(path):
    conns, bad = [], []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.endswith("\n"):
                bad.append("line %d not terminated" % i)
            try:
                rec = json.loads(line)
            except ValueError as e:
                bad.append("line %d: %s" % (i, e))
                continue
            if rec.get("record") == "connection":
                del rec["record"]  # as in the document's connections
                conns.append(rec)
            elif rec.get("record") not in ("host_anomaly", "service", "host", "summary"):
                bad.append("line %d: record %r" % (i, rec.get("record")))
    return conns, bad


def tup(c):
    return "%s:%d -> %s:%d" % (c["client"]["ip"], c["client"]["port"],
                               c["server"]["ip"], c["server"]["port"])


SNAP_HEAD = re.compile(r"^snapshot \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? UTC: "
                       r"(\d+) open connections?$")


def snapshots(text):
    """[(count, [rows], complete)] for every snapshot block in text."""
    blocks, cur = [], None
    for line in text.splitlines():
        m = SNAP_HEAD.match(line)
        if m:
            cur = [int(m.group(2)), [], False]
            blocks.append(cur)
            continue
        if cur is None:
            continue
        f = line.split()
        if len(f) >= 7 and f[0].isdigit():
            cur[1].append(f)
        elif f and f[0] == "id":
            continue
        else:
            cur = None
    for b in blocks:
        b[2] = len(b[1]) >= b[0]
    return blocks


def check_snapshot(rows, count, port, what):
    want = [r for r in rows if r[4].endswith(":%d" % port)]
    ok = (count == 1 and len(rows) == 1 and len(want) == 1
          and want[0][1] == "FIN_WAIT_2" and want[0][2] == "CLOSE_WAIT")
    out(ok, "%s: 1 open connection, the one (server port %d) as "
            "FIN_WAIT_2 / CLOSE_WAIT" % (what, port))
    if not ok:
        diag("snapshot: %d held, rows %r" % (count, rows))


# ------------------------------------------------------------ subcommands

def cmd_watch(stream, log, stop):
    """Timestamp every complete line appearing in stream (a live tail)."""
    deadline = time.time() + 60
    pos, buf = 0, b""
    with open(log, "w", encoding="utf-8") as lf:
        while time.time() < deadline:
            try:
                with open(stream, "rb") as f:
                    f.seek(pos)
                    data = f.read()
            except OSError:
                data = b""
            now = time.time()
            pos += len(data)
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                try:
                    c = json.loads(line)
                    if c.get("record") in ("host_anomaly", "service", "host", "summary"):
                        continue  # written at the end
                    lf.write(json.dumps({"t": now, "id": c["id"],
                                         "port": c["server"]["port"],
                                         "last_ts": c["last_ts"]}) + "\n")
                except (ValueError, KeyError, TypeError):
                    lf.write(json.dumps({"t": now, "bad": line.decode("utf-8", "replace")}) + "\n")
                lf.flush()
            if os.path.exists(stop) and not data:
                break
            time.sleep(0.01)


def cmd_snapshot(errfile, offset, port):
    """The SIGUSR1 snapshot: the first block written after offset."""
    port, deadline = int(port), time.time() + 3
    blocks = []
    while time.time() < deadline:
        with open(errfile, encoding="utf-8", errors="replace") as f:
            f.seek(int(offset))
            blocks = snapshots(f.read())
        if blocks and blocks[0][2]:
            break
        time.sleep(0.02)
    out(bool(blocks), "SIGUSR1: a snapshot heading on stderr within 3 s")
    if blocks:
        check_snapshot(blocks[0][1], blocks[0][0], port, "SIGUSR1 snapshot")
    else:
        check_snapshot([], 0, port, "SIGUSR1 snapshot")
    print("END")


def cmd_stream(w, ports, t_sigint):
    """What the watcher saw before and after SIGINT."""
    normal, refused, rst, cw = [int(p) for p in ports.split(",")]
    t_sigint = float(t_sigint)
    arr = [json.loads(l) for l in open(os.path.join(w, "a.arrivals"), encoding="utf-8")]
    bad = [a for a in arr if "bad" in a]
    out(not bad, "stream: every line the watcher read while tcplens ran is whole JSON")
    for b in bad:
        diag("bad line: %r" % b["bad"][:200])
    pre, bad2 = load_ndjson(os.path.join(w, "a.ndjson.presig"))
    names = {normal: "normal", refused: "refused", rst: "rst_unread", cw: "close_wait"}
    pre_ports = sorted(c["server"]["port"] for c in pre)
    ok = not bad2 and pre_ports == sorted([normal, refused, rst])
    out(ok, "stream before SIGINT: exactly the 3 ended connections (normal, refused, "
            "rst_unread), not the open one")
    if not ok:
        diag("server ports in the stream before SIGINT: %r %r" % (pre_ports, bad2))
    for p in (normal, refused, rst):
        a = [x for x in arr if x.get("port") == p]
        if len(a) != 1:
            out(False, "%s: streamed once while tcplens ran (seen %d times)" % (names[p], len(a)))
            continue
        a = a[0]
        lag = a["t"] - a["last_ts"]
        ok = 1.95 <= lag <= 3.5 and a["t"] < t_sigint
        out(ok, "%s: streamed %.3f s after its last packet (live linger 2 s; want "
                "1.95..3.5) and %.3f s before SIGINT" % (names[p], lag, t_sigint - a["t"]))
    a = [x for x in arr if x.get("port") == cw]
    ok = len(a) == 1 and a[0]["t"] >= t_sigint
    out(ok, "close_wait: streamed once, only after SIGINT")
    if not ok:
        diag("close_wait arrivals: %r (SIGINT at %.6f)" % (a, t_sigint))
    print("END")


def ss_sockets(path):
    socks = {}
    for line in open(path, encoding="utf-8"):
        f = line.split()
        if len(f) < 5 or f[0] in ("State", "LISTEN"):
            continue
        st = "ESTABLISHED" if f[0] == "ESTAB" else f[0].replace("-", "_")
        socks[(f[3], f[4])] = st
    return socks


def addr(ep):
    return ("[%s]:%d" if ":" in ep["ip"] else "%s:%d") % (ep["ip"], ep["port"])


STRICT_DROP = (("capture", "live"), ("capture", "peak_connections"))


def strip(doc):
    d = json.loads(json.dumps(doc))
    for a, b in STRICT_DROP:
        d.get(a, {}).pop(b, None)
    d.get("capture", {}).get("end", {}).pop("source", None)
    for c in d.get("connections", []):
        c.pop("released_packet", None)
    for i in d.get("inputs", []):
        i.pop("source", None)
    return d


def first_diff(a, b, path=""):
    if type(a) is not type(b):
        return "%s: %r != %r" % (path, a, b)
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return "%s/%s: only in %s" % (path, k, "live" if k in a else "replay")
            d = first_diff(a[k], b[k], path + "/" + k)
            if d:
                return d
    elif isinstance(a, list):
        if len(a) != len(b):
            return "%s: %d items != %d" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y, "%s[%d]" % (path, i))
            if d:
                return d
    elif a != b:
        return "%s: %r != %r" % (path, a, b)
    return None


def key(c):
    return {"client": c["client"], "server": c["server"],
            "first_ts": c["first_ts"], "last_ts": c["last_ts"],
            "packets": c["packets"], "bytes": c["bytes"],
            "states_at_end": c["states_at_end"], "end": c["end"],
            "anomalies": sorted(a["type"] for a in c.get("anomalies", [])),
            "zeek": c.get("zeek")}


def cmd_final(w, ports):
    normal, refused, rst, cw = [int(p) for p in ports.split(",")]
    doc = json.load(open(os.path.join(w, "a.json"), encoding="utf-8"))
    err = open(os.path.join(w, "a.err"), encoding="utf-8", errors="replace").read()
    conns = doc["connections"]

    # the snapshot printed at the stop
    blocks = snapshots(err)
    if blocks:
        check_snapshot(blocks[-1][1], blocks[-1][0], cw, "stop snapshot (last on stderr)")
    else:
        out(False, "stop snapshot: none on stderr")

    # kernel counters
    m = re.search(r"^tcplens: (\d+) packets received by filter, (\d+) dropped by kernel, "
                  r"(\d+) dropped by interface", err, re.M)
    live = doc["capture"].get("live")
    out(m is not None, "stderr: the kernel counters line")
    if m:
        got = {"received": int(m.group(1)), "dropped": int(m.group(2)),
               "if_dropped": int(m.group(3))}
        out(live == got, "capture.live %r equals the stderr counters" % (live,))
        ok = (live is not None and live.get("dropped") == 0 and live.get("if_dropped") == 0
              and live.get("received", 0) >= doc["capture"]["packets"] > 0)
        out(ok, "capture.live: 0 dropped by kernel and interface, received >= %d packets read"
            % doc["capture"]["packets"])

    # each scenario
    expect = {normal: ("normal", "TIME_WAIT", "CLOSED", "fin", "time_wait"),
              refused: ("refused", "CLOSED", "CLOSED", "rst", "refused"),
              rst: ("rst_unread", "CLOSED", "CLOSED", "rst", "rst_instead_of_fin"),
              cw: ("close_wait", "FIN_WAIT_2", "CLOSE_WAIT", "open", None)}
    out(len(conns) == 4 and sorted(c["server"]["port"] for c in conns) == sorted(expect),
        "report: 4 connections, one per scenario")
    for p, (name, cs, ss_, end, an) in sorted(expect.items()):
        cc = [c for c in conns if c["server"]["port"] == p]
        if len(cc) != 1:
            out(False, "%s: one connection (found %d)" % (name, len(cc)))
            continue
        c = cc[0]
        types = [a["type"] for a in c.get("anomalies", [])]
        ok = (c["states_at_end"] == {"client": cs, "server": ss_} and c["end"] == end
              and (an is None or an in types))
        out(ok, "%s: states_at_end %s/%s, end %s%s" % (name, cs, ss_, end,
                                                        ", anomaly " + an if an else ""))
        if not ok:
            diag("%s: states_at_end %r end %r anomalies %r" % (tup(c), c["states_at_end"],
                                                               c["end"], types))

    # ss at SIGINT
    socks = ss_sockets(os.path.join(w, "a.ss"))
    seen = set()
    for c in conns:
        for role, peer in (("client", "server"), ("server", "client")):
            k = (addr(c[role]), addr(c[peer]))
            seen.add(k)
            kern = socks.get(k, "CLOSED")
            mine = c["states_at_end"][role]
            out(kern == mine, "ss at SIGINT: %s socket %s (peer %s): ss %s, tcplens %s"
                % (role, k[0], k[1], "absent -> CLOSED" if k not in socks else kern, mine))
    extra = sorted(set(socks) - seen)
    out(not extra, "ss at SIGINT: every non-LISTEN socket belongs to a reported connection")
    for k in extra:
        diag("not reported: %s -> %s %s" % (k[0], k[1], socks[k]))

    # the stream after exit
    stream, bad = load_ndjson(os.path.join(w, "a.ndjson"))
    ids = [c["id"] for c in stream]
    byid = {c["id"]: c for c in conns}
    diffs = [first_diff(c, byid.get(c["id"])) for c in stream]
    ok = not bad and sorted(ids) == sorted(byid) and not any(diffs)
    out(ok, "stream after exit: every connection once, each identical to the --json document's")
    if not ok:
        diag("stream ids %r, document ids %r, bad %r, diffs %r"
             % (ids, sorted(byid), bad, [d for d in diffs if d]))

    # replay of the -w file
    rep = json.load(open(os.path.join(w, "a.replay.json"), encoding="utf-8"))
    lk = [key(c) for c in conns]
    rk = [key(c) for c in rep["connections"]]
    d = first_diff(lk, rk)
    out(d is None, "replay of -w: same connections (tuples, times, packets, bytes), "
                   "states_at_end, ends, anomaly types, zeek")
    if d:
        diag("first difference (live vs replay): " + d)
    d = first_diff(strip(doc), strip(rep))
    out(d is None, "replay of -w: whole document equal but for capture.live, "
                   "capture.peak_connections, released_packet, capture.end.source, "
                   "inputs[].source")
    if d:
        diag("first difference (live vs replay): " + d)
    print("END")


def cmd_count(w, port):
    port = int(port)
    s, bad = load_ndjson(os.path.join(w, "b.out"))
    doc = json.load(open(os.path.join(w, "b.json"), encoding="utf-8"))
    ok = not bad and len(s) == 1 and s[0]["server"]["port"] == port
    out(ok, "-c 3: stdout (not a terminal) is an NDJSON stream of 1 connection")
    if not ok:
        diag("stdout: %d lines, %r" % (len(s), bad))
    ok = doc["capture"]["packets"] == 3 and len(doc["connections"]) == 1
    c = doc["connections"][0] if doc["connections"] else {}
    ok = ok and sum(c["packets"].values()) == 3 and c["end"] == "open" and \
        c["states_at_end"] == {"client": "ESTABLISHED", "server": "ESTABLISHED"}
    out(ok, "-c 3: 3 packets (the handshake), ESTABLISHED/ESTABLISHED, end open")
    if not ok:
        diag("capture %r, connections %r" % (doc["capture"], [key(x) for x in doc["connections"]]))
    ok = bool(s) and first_diff(s[0], c) is None
    out(ok, "-c 3: the streamed line equals the --json document's connection")
    print("END")


def cmd_duration(w, port):
    port = int(port)
    s, bad = load_ndjson(os.path.join(w, "c.out"))
    ok = not bad and len(s) == 1 and s[0]["server"]["port"] == port and s[0]["end"] == "rst"
    out(ok, "--duration: stdout (not a terminal) is an NDJSON stream holding the "
            "refused connection")
    if not ok:
        diag("stdout: %r %r" % ([key(c) for c in s], bad))
    print("END")


REQ = b"GET /x HTTP/1.0\r\n\r\n"
RESP = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"


def cmd_load(port, rate, secs):
    """Short connections to a local listener at rate per second for secs."""
    import signal
    port, rate, secs = int(port), float(rate), float(secs)
    signal.alarm(int(secs) + 30)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(1024)
    ls.settimeout(0.5)
    stop = threading.Event()
    served, errors = [0], []

    def serve():
        while not stop.is_set():
            try:
                c, _ = ls.accept()
            except socket.timeout:
                continue
            try:
                c.settimeout(5)
                buf = b""
                while not buf.endswith(b"\r\n\r\n"):
                    d = c.recv(4096)
                    if not d:
                        raise RuntimeError("EOF before the request")
                    buf += d
                c.sendall(RESP)
                try:
                    while c.recv(4096):
                        pass
                except ConnectionResetError:
                    pass
            except Exception as e:  # noqa: BLE001
                errors.append("server: %r" % (e,))
            finally:
                c.close()
                served[0] += 1

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    n = fin = rst = 0
    t0 = time.time()
    try:
        while time.time() - t0 < secs:
            delay = t0 + n / rate - time.time()
            if delay > 0:
                time.sleep(delay)
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(("127.0.0.1", port))
            s.sendall(REQ)
            got = b""
            while len(got) < len(RESP):
                d = s.recv(4096)
                if not d:
                    raise RuntimeError("EOF before the response")
                got += d
            if n % 4 == 3:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                rst += 1
            else:
                fin += 1
            s.close()
            n += 1
    except Exception as e:  # noqa: BLE001
        errors.append("client after %d: %r" % (n, e))
    deadline = time.time() + 5
    while served[0] < n and time.time() < deadline:
        time.sleep(0.01)
    stop.set()
    t.join(2)
    print("DONE connections=%d fin=%d rst=%d served=%d seconds=%.3f"
          % (n, fin, rst, served[0], time.time() - t0), flush=True)
    for e in errors[:5]:
        print("ERROR " + e, flush=True)
    sys.exit(0 if not errors and served[0] == n else 1)


def rss_kb(pid):
    with open("/proc/%s/status" % pid, encoding="utf-8") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def cmd_sample(pid, outf, secs, stream):
    """VmRSS and the stream's line count every second, t = 0 .. secs."""
    t0, pos, lines = time.time(), 0, 0
    with open(outf, "w", encoding="utf-8") as o:
        for i in range(int(secs) + 1):
            d = t0 + i - time.time()
            if d > 0:
                time.sleep(d)
            try:
                r = rss_kb(pid)
            except OSError:
                r = -1
            with open(stream, "rb") as f:
                f.seek(pos)
                data = f.read()
            pos += len(data)
            lines += data.count(b"\n")
            o.write("%d %d %d\n" % (i, r, lines))
            o.flush()


def cmd_mem(w, grow_kb):
    grow_kb = int(grow_kb)
    rows = [tuple(int(x) for x in l.split()) for l in open(os.path.join(w, "m.rss"))]
    for t, r, l in rows:
        diag("t=%3ds  VmRSS %7d kB  streamed %6d" % (t, r, l))
    by_t = {t: (r, l) for t, r, l in rows}
    last = max(by_t)
    ok = 10 in by_t and last >= 14 and all(r > 0 for _, r, _ in rows)
    out(ok, "memory: tcplens alive and sampled every second for %d s" % last)
    if not ok:
        print("END")
        return
    r10, l10 = by_t[10]
    rmax = max(r for t, r, _ in rows if t >= 10)
    out(rmax - r10 < grow_kb, "memory: VmRSS max after 10 s - VmRSS at 10 s = %d kB "
        "(< %d kB; %d kB at 10 s, %d kB max)" % (rmax - r10, grow_kb, r10, rmax))
    steps = [by_t[t][1] for t in range(10, last + 1, 5)] + [by_t[last][1]]
    rising = all(b > a for a, b in zip(steps, steps[1:-1] + [steps[-1] + 1])) \
        and by_t[last][1] - l10 >= 100 * (last - 10)
    out(rising, "memory: the streamed connection count kept rising after 10 s "
        "(%s at t=10,15,...,%d)" % (steps, last))

    load = open(os.path.join(w, "load.log"), encoding="utf-8").read()
    m = re.search(r"DONE connections=(\d+) fin=(\d+) rst=(\d+)", load)
    s, bad = load_ndjson(os.path.join(w, "m.ndjson"))
    ends = {}
    for c in s:
        ends[c["end"]] = ends.get(c["end"], 0) + 1
    diag("load: %s" % (m.group(0) if m else load.strip()[-300:]))
    diag("stream: %d lines, ends %r" % (len(s), ends))
    if m:
        nconn, fin, rst = int(m.group(1)), int(m.group(2)), int(m.group(3))
        ok = not bad and len(s) == nconn and ends == {"fin": fin, "rst": rst}
        out(ok, "memory run: all %d connections streamed once, %d ended fin, %d rst"
            % (nconn, fin, rst))
        tuples = {(c["client"]["port"], c["first_ts"]) for c in s}
        out(len(tuples) == len(s), "memory run: no connection streamed twice")
    else:
        out(False, "memory run: the load generator reported its connections")
    err = open(os.path.join(w, "m.err"), encoding="utf-8", errors="replace").read()
    mm = re.search(r"^tcplens: (\d+) packets received by filter, (\d+) dropped by kernel, "
                   r"(\d+) dropped by interface", err, re.M)
    out(mm is not None and mm.group(2) == "0" and mm.group(3) == "0",
        "memory run: counters line after SIGTERM, 0 dropped (%s)"
        % (mm.group(0) if mm else "missing"))
    print("END")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    globals()["cmd_" + cmd.replace("-", "_")](*args)
PYEOF

# ================================================================ part 1
NS=tl-live-$$
P_NORMAL=8080 P_REFUSED=8081 P_RST=8082 P_CW=8083
PORTS=$P_NORMAL,$P_REFUSED,$P_RST,$P_CW
tl_netns_up "$NS" || bail "cannot create network namespace $NS"

ip netns exec "$NS" "$tcplens" -i lo -Z nobody --close-wait-threshold 60s \
    --ndjson="$W/a.ndjson" --json "$W/a.json" -w "$W/a.pcap" >"$W/a.out" 2>"$W/a.err" &
A=$!
my_pids+=("$A")
ip netns exec "$NS" "$tcplens" -i lo -c 3 --json "$W/b.json" tcp port "$P_NORMAL" \
    >"$W/b.out" 2>"$W/b.err" &
B=$!
my_pids+=("$B")
# C runs under a subshell that notes its exit status and wall-clock run time
(
    t0=$EPOCHREALTIME
    ip netns exec "$NS" "$tcplens" -i lo --duration 3s tcp port "$P_REFUSED" \
        >"$W/c.out" 2>"$W/c.err" &
    echo $! >"$W/c.pid"
    wait $!
    rc=$?
    awk -v rc="$rc" -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d %.3f\n", rc, b - a }' >"$W/c.rc"
) &
CW=$!
my_pids+=("$CW")
for _ in $(seq 200); do [ -s "$W/c.pid" ] && break; sleep 0.01; done
C=$(cat "$W/c.pid" 2>/dev/null) || bail "tcplens --duration 3s did not start"
my_pids+=("$C")
live_ready "$A" "$W/a.err" || bail "tcplens -i lo -Z nobody did not start"
live_ready "$B" "$W/b.err" || bail "tcplens -i lo -c 3 did not start"
live_ready "$C" "$W/c.err" || bail "tcplens -i lo --duration 3s did not start"

# -Z nobody, checked once the capture runs. Signals are blocked (what
# live_ready waits for) before the interface and the outputs are open, and
# privileges go only after those: give the drop up to 5 s to happen.
for _ in $(seq 500); do
    st=$(grep -E '^(Uid|Gid|CapEff):' "/proc/$A/status" 2>/dev/null | tr -s ' \t' ' ')
    printf '%s\n' "$st" | grep -q "^Uid: $nobody_uid " && break
    sleep 0.01
done
if printf '%s\n' "$st" | grep -qx "Uid: $nobody_uid $nobody_uid $nobody_uid $nobody_uid" &&
    printf '%s\n' "$st" | grep -qx "Gid: $nobody_gid $nobody_gid $nobody_gid $nobody_gid" &&
    printf '%s\n' "$st" | grep -qx 'CapEff: 0000000000000000'; then
    ok "-Z nobody: uid/gid $nobody_uid/$nobody_gid (real, effective, saved, fs), no capabilities"
else
    nok "-Z nobody: uid/gid $nobody_uid/$nobody_gid (real, effective, saved, fs), no capabilities"
    diag "$st"
fi

"$py" "$W/live_check.py" watch "$W/a.ndjson" "$W/a.arrivals" "$W/watch.stop" &
WATCH=$!
my_pids+=("$WATCH")

if ! { tl_scenario_start normal "$NS" normal --port "$P_NORMAL" &&
    tl_scenario_start refused "$NS" refused --port "$P_REFUSED" &&
    tl_scenario_start rst "$NS" rst_unread --port "$P_RST" &&
    tl_scenario_start cw "$NS" close_wait --port "$P_CW" --hold-open 0.1; }; then
    bail "cannot start the scenarios"
fi
declare -A scn_name=([normal]=normal [refused]=refused [rst]=rst_unread [cw]=close_wait)
for h in normal refused rst cw; do
    if tl_scenario_wait_ready "$h" 15 2>"$W/scn.$h.err"; then
        ok "scenario ${scn_name[$h]}: the kernel behaved as expected"
    else
        nok "scenario ${scn_name[$h]}: the kernel behaved as expected"
        show "$W/scn.$h.err"
    fi
done
for h in normal refused rst; do
    tl_scenario_finish "$h" 2>>"$W/scn.$h.err" || { nok "scenario ${scn_name[$h]} exited 0"; show "$W/scn.$h.err"; }
done

# B: -c 3 must have stopped by itself after the handshake on P_NORMAL
if wait_exit "$B" 5; then
    wait "$B"
    rc=$?
    forget "$B"
    exited "$rc" "-c 3: stopped by itself, exit 0" "$W/b.err"
    checks count "$W" "$P_NORMAL"
else
    nok "-c 3: stopped by itself within 5 s of the scenario's end"
    show "$W/b.err"
fi

# the three ended connections must be streamed while A runs (2 s grace)
deadline=$((${EPOCHREALTIME/./} + 8000000))
until [ "$(wc -l <"$W/a.arrivals" 2>/dev/null || echo 0)" -ge 3 ] || ((${EPOCHREALTIME/./} > deadline)); do
    sleep 0.02
done
if [ "$(wc -l <"$W/a.arrivals")" -ge 3 ]; then
    ok "stream: 3 lines arrived while tcplens ran"
else
    nok "stream: 3 lines arrived while tcplens ran (within 8 s)"
    show "$W/a.arrivals"
fi

# C: --duration 3s stops by itself
if wait_exit "$CW" 6 && [ -s "$W/c.rc" ]; then
    wait "$CW"
    forget "$CW"
    forget "$C"
    read -r rc el <"$W/c.rc"
    if [ "$rc" = 0 ] && awk -v e="$el" 'BEGIN { exit !(e >= 3.0 && e <= 4.5) }'; then
        ok "--duration 3s: stopped by itself after $el s (3.0..4.5), exit 0"
    else
        nok "--duration 3s: stopped by itself after $el s (3.0..4.5), exit $rc"
        show "$W/c.err"
    fi
    if grep -Eq '^tcplens: [0-9]+ packets received by filter, 0 dropped by kernel, 0 dropped by interface' "$W/c.err"; then
        ok "--duration: kernel counters line on stderr, 0 dropped"
    else
        nok "--duration: kernel counters line on stderr, 0 dropped"
        show "$W/c.err"
    fi
    checks duration "$W" "$P_REFUSED"
else
    nok "--duration 3s: stopped by itself within 6 s"
    show "$W/c.err"
fi

sleep 0.3 # the open connection must not be streamed before the stop
# SIGUSR1: a snapshot, and tcplens keeps running
off=$(stat -c %s "$W/a.err")
kill -USR1 "$A"
checks snapshot "$W/a.err" "$off" "$P_CW"
sleep 0.2
if kill -0 "$A" 2>/dev/null; then ok "SIGUSR1: tcplens keeps running"; else nok "SIGUSR1: tcplens keeps running"; fi

# ss, then SIGINT at once (nothing changes in between: all is quiet)
cp "$W/a.ndjson" "$W/a.ndjson.presig"
ip netns exec "$NS" ss -tan >"$W/a.ss"
t_sigint=$EPOCHREALTIME
kill -INT "$A"
diag "ss -tan at SIGINT:" && sed 's/^/#   /' "$W/a.ss"
if wait_exit "$A" 10; then
    wait "$A"
    rc=$?
    forget "$A"
    exited "$rc" "SIGINT: tcplens stopped, exit 0" "$W/a.err"
else
    nok "SIGINT: tcplens stopped within 10 s"
    show "$W/a.err"
fi
sleep 0.1
: >"$W/watch.stop"
wait_exit "$WATCH" 5 || kill -KILL "$WATCH" 2>/dev/null
wait "$WATCH" 2>/dev/null
forget "$WATCH"
tl_scenario_finish cw 2>>"$W/scn.cw.err" || { nok "scenario close_wait exited 0"; show "$W/scn.cw.err"; }

if [ -s "$W/a.json" ]; then
    checks stream "$W" "$PORTS" "$t_sigint"
    # The live run's end: when it stopped, which the -w file does not record.
    end=$(python3 -c 'import json,sys; print("%.6f" % json.load(open(sys.argv[1]))["capture"]["end"]["ts"])' \
        "$W/a.json" 2>/dev/null || echo +0s)
    if "$tcplens" -r "$W/a.pcap" --close-wait-threshold 60s --capture-end "$end" \
        --json "$W/a.replay.json" >/dev/null 2>"$W/a.replay.err"; then
        ok "replay: tcplens -r on the -w file, exit 0"
        checks final "$W" "$PORTS"
    else
        nok "replay: tcplens -r on the -w file, exit 0"
        show "$W/a.replay.err"
    fi
else
    nok "SIGINT: the --json report was written"
fi
tl_netns_down "$NS"
diag "part 1 took $(awk -v a="$start_all" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"

# ================================================================ part 2
NS2=tl-livem-$$
P_LOAD=9000
tl_netns_up "$NS2" || bail "cannot create network namespace $NS2"
tl_sysctl "$NS2" "net.ipv4.ip_local_port_range=1024 65000" net.ipv4.tcp_tw_reuse=1 ||
    bail "sysctl in $NS2"
ip netns exec "$NS2" "$tcplens" -i lo --ndjson="$W/m.ndjson" >/dev/null 2>"$W/m.err" &
M=$!
my_pids+=("$M")
live_ready "$M" "$W/m.err" || bail "tcplens -i lo --ndjson=FILE did not start"
ip netns exec "$NS2" "$py" "$W/live_check.py" load "$P_LOAD" 200 "$mem_secs" >"$W/load.log" 2>&1 &
L=$!
my_pids+=("$L")
# in the background: a trap interrupts `wait`, not a foreground command
"$py" "$W/live_check.py" sample "$M" "$W/m.rss" "$mem_secs" "$W/m.ndjson" &
S=$!
my_pids+=("$S")
wait "$S"
forget "$S"
if wait_exit "$L" 15; then
    wait "$L"
    rc=$?
    forget "$L"
    exited "$rc" "load: $(grep -o 'connections=[0-9]*' "$W/load.log") short connections made and served" "$W/load.log"
else
    nok "load: finished"
    show "$W/load.log"
fi
sleep 0.5 # the last packets reach tcplens
kill -TERM "$M"
if wait_exit "$M" 10; then
    wait "$M"
    rc=$?
    forget "$M"
    exited "$rc" "SIGTERM: tcplens stopped, exit 0" "$W/m.err"
else
    nok "SIGTERM: tcplens stopped within 10 s"
    show "$W/m.err"
fi
checks mem "$W" 4096
tl_netns_down "$NS2"

diag "took $(awk -v a="$start_all" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
echo "1..$n"
[ "$fails" -eq 0 ]
