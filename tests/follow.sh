#!/bin/bash
# --follow: a unit of a rotated capture set, `tcplens -r p1 --follow p2
# --follow p3 ...`, reports every connection that starts in p1 exactly as
# one run over `-r p1 -r p2 -r p3 ...` reports it (its NDJSON line byte
# for byte, id included), and none that starts later. Inputs: every kernel
# capture and sample of at least 10 frames, split with editcap -c at a
# quarter, a third and half of it and where a connection is in mid-
# handshake, mid-data and mid-close; with --threads 1 and 2 (1 alone
# where TL_SLOW_TESTS=skip: the sanitizer builds). Also: the
# capture's counters are p1's, reading stops (complete: false) once
# nothing is held, a connection open at p1's end meets its TIME_WAIT and
# idle timers in p2 as in one run, capture.end, compressed follow files,
# and the errors (--follow with -i, a follow file missing). Prints TAP.
. "$(dirname "$0")/lib.sh"
[ -x "$tcplens" ] || skip "tcplens not built ($tcplens)"
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
command -v editcap >/dev/null 2>&1 || skip "editcap not found"
command -v capinfos >/dev/null 2>&1 || skip "capinfos not found"
command -v gzip >/dev/null 2>&1 || skip "gzip not found"
tl_tmp follow
python3 - "$tcplens" "$tmp" "$srcdir"/tests/netns/kernel/*.pcap \
    "$srcdir"/tests/netns/kernel/*.pcapng "$srcdir"/samples/*.pcap "$srcdir"/samples/*.pcapng <<'PY'
import glob, json, os, struct, subprocess, sys

tcplens, tmp, captures = sys.argv[1], sys.argv[2], sys.argv[3:]
n = failed = 0

def ok(cond, what):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, what))
    if not cond:
        failed += 1

def run(args):
    p = subprocess.run([tcplens] + args, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr

def ndjson(args):
    rc, out, _ = run(args + ["--ndjson"])
    lines = out.splitlines()
    conns = {json.loads(l)["first_packet"]: l for l in lines if l.startswith('{"record":"connection"')}
    summary = json.loads(lines[-1]) if lines else {}
    return rc, conns, summary, [l for l in lines if l.startswith('{"record":"connection"')]

def frames(path):
    out = subprocess.run(["capinfos", "-cM", path], capture_output=True, text=True).stdout
    return int(out.split()[-1])

def split(cap, k, d):
    os.makedirs(d)
    ext = os.path.splitext(cap)[1]
    subprocess.run(["editcap", "-c", str(k), cap, os.path.join(d, "p" + ext)], check=True,
                   capture_output=True)
    return sorted(glob.glob(os.path.join(d, "p_*")))

def cut_points(cap, total):
    """A quarter, a third, half; and the first frame after which a
    connection is in mid-handshake (its SYN), mid-data, mid-close (its
    first FIN), as the one run's timelines show them."""
    ks = {total // 4, total // 3, total // 2}
    _, conns, _, _ = ndjson(["-r", cap, "--timeline", "full"])
    hs = data = close = None
    for line in conns.values():
        c = json.loads(line)
        tl = [e for e in c.get("timeline", []) if "packet" in e and "flags" in e]
        for i, e in enumerate(tl[:-1]):
            if hs is None and e.get("event") == "syn" and "S" in e["flags"]:
                hs = e["packet"]
            if data is None and e.get("len", 0) > 0 and any(x.get("len", 0) > 0 for x in tl[i + 1:]):
                data = e["packet"]
            if close is None and "F" in e["flags"]:
                close = e["packet"]
    for k in (hs, data, close):
        if k is not None:
            ks.add(k)
    return sorted(k for k in ks if 1 <= k < total)

def check_unit(name, parts, extra, k):
    """Returns a list of what went wrong."""
    bad = []
    own = ["-r", parts[0]]
    fol = sum([["--follow", p] for p in parts[1:]], [])
    rc1, full, fsum, _ = ndjson(sum([["-r", p] for p in parts], []) + extra)
    rc2, unit, usum, _ = ndjson(own + fol + extra)
    if rc1 != 0 or rc2 != 0:
        return ["%s: exit %d/%d" % (name, rc1, rc2)]
    # p1's connections, and those that reuse the 4-tuple of one of them
    # (port_reuse): the unit follows the 4-tuple, and only it knows.
    ids = {}
    for fp in sorted(full):
        c = json.loads(full[fp])
        prev = [a["evidence"].get("previous_id") for a in c.get("anomalies", [])
                if a["type"] == "port_reuse"]
        if fp <= k or any(p in ids.values() for p in prev):
            ids[fp] = c["id"]
    for fp, line in unit.items():
        if fp not in ids:
            bad.append("%s: connection starting at frame %d (not p1's)" % (name, fp))
        elif full.get(fp) != line:
            bad.append("%s: connection at frame %d differs" % (name, fp))
    want = list(ids)
    if sorted(want) != sorted(unit):
        bad.append("%s: %d connections, one run %d" % (name, len(unit), len(want)))
    cap = usum.get("capture", {})
    fo = cap.get("follow", {})
    if cap.get("packets") != k or usum["inputs"][0]["packets"] != k:
        bad.append("%s: capture.packets %s, p1 has %d" % (name, cap.get("packets"), k))
    held = sum(frames(p) for p in parts[1:])
    read = sum(i["packets"] for i in fo.get("inputs", []))
    if [i["source"] for i in fo.get("inputs", [])] != parts[1:] or read != fo.get("packets"):
        bad.append("%s: follow.inputs %s" % (name, fo.get("inputs")))
    if fo.get("complete") != (read == held):
        bad.append("%s: follow.complete %s, %d of %d read" % (name, fo.get("complete"), read, held))
    if fo.get("complete") and cap.get("end") != fsum["capture"]["end"]:
        bad.append("%s: capture.end %s, one run %s" % (name, cap.get("end"), fsum["capture"]["end"]))
    return bad

# 1. Every capture, split at several points. With --threads 2 too where
# the slow tests run (the plain build): the sanitizer builds take one.
THREADS = ("1", "2") if os.environ.get("TL_SLOW_TESTS", "run") == "run" else ("1",)
total_units = 0
for ci, cap in enumerate(captures):
    total = frames(cap)
    if total < 10:
        continue
    base = os.path.basename(cap)
    problems = []
    for k in cut_points(cap, total):
        parts = split(cap, k, os.path.join(tmp, "%d.%s.%d" % (ci, base, k)))
        for threads in THREADS:
            total_units += 1
            problems += check_unit("%s -c %d --threads %s" % (base, k, threads), parts,
                                   ["--threads", threads], k)
    for p in problems[:5]:
        print("# " + p)
    ok(not problems, "%s (%d frames): every unit's connections are one run's, byte for byte"
       % (base, total))

# 2. Synthetic: a connection open at p1's end that ends in p2 (TIME_WAIT,
# idle timeout), and one that ends early so that reading stops.
def tcp_frame(src, sport, dst, dport, flags, seq, ack, payload=b""):
    f = 0
    for ch, bit in (("F", 1), ("S", 2), ("R", 4), ("P", 8), ("A", 16)):
        if ch in flags:
            f |= bit
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, f, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0,
                     bytes(src), bytes(dst))
    return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip + tcp

def write_pcap(path, pkts):
    with open(path, "wb") as fp:
        fp.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, frame in pkts:
            fp.write(struct.pack("<IIII", int(ts), int(round((ts % 1) * 1e6)), len(frame),
                                 len(frame)) + frame)

C, S = [10, 0, 0, 1], [10, 0, 0, 2]
t0 = 1700000000.0

def conn(sport, t, isn=1000, sisn=5000):
    """A handshake and one data exchange at t."""
    return [(t, tcp_frame(C, sport, S, 80, "S", isn, 0)),
            (t + 0.001, tcp_frame(S, 80, C, sport, "SA", sisn, isn + 1)),
            (t + 0.002, tcp_frame(C, sport, S, 80, "A", isn + 1, sisn + 1)),
            (t + 0.003, tcp_frame(C, sport, S, 80, "PA", isn + 1, sisn + 1, b"GET /\r\n")),
            (t + 0.004, tcp_frame(S, 80, C, sport, "A", sisn + 1, isn + 8))]

def close(sport, t, isn=1000, sisn=5000):
    return [(t, tcp_frame(C, sport, S, 80, "FA", isn + 8, sisn + 1)),
            (t + 0.001, tcp_frame(S, 80, C, sport, "FA", sisn + 1, isn + 9)),
            (t + 0.002, tcp_frame(C, sport, S, 80, "A", isn + 9, sisn + 2))]

def noise(t, count, gap):
    """Other connections' segments, midstream: not p1's to report."""
    return [(t + i * gap, tcp_frame([10, 0, 1, 1], 40000, [10, 0, 1, 2], 443, "A", 7 + i, 9))
            for i in range(count)]

d = os.path.join(tmp, "synth")
os.makedirs(d)
# p1: A opens (closes in p2: client TIME_WAIT for 60 s), B opens (half
# open: its SYN is never answered, idle past --idle-timeout in p2); p2:
# A's close, then 40 s of other traffic; p3: 50 s more.
p1 = conn(51000, t0) + [(t0 + 0.5, tcp_frame(C, 51001, S, 80, "S", 77, 0))]
p2 = close(51000, t0 + 2) + noise(t0 + 3, 40, 1.0)
p3 = noise(t0 + 44, 50, 1.0)
for name, pk in (("p1", p1), ("p2", p2), ("p3", p3)):
    write_pcap(os.path.join(d, name + ".pcap"), pk)
parts = [os.path.join(d, x + ".pcap") for x in ("p1", "p2", "p3")]
for extra in ([], ["--idle-timeout", "5s"], ["--linger", "1s"]):
    bad = check_unit("synthetic %s" % " ".join(extra), parts, extra, len(p1))
    for p in bad:
        print("# " + p)
    ok(not bad, "a connection open at p1's end meets its TIME_WAIT and idle timers in p2 as in "
       "one run (%s)" % (" ".join(extra) or "defaults"))
rc, unit, usum, _ = ndjson(["-r", parts[0], "--follow", parts[1], "--follow", parts[2],
                            "--idle-timeout", "5s"])
ends = sorted(json.loads(l)["end"] for l in unit.values())
ok(ends == ["fin", "timeout"] and usum["capture"]["follow"]["complete"] is False,
   "--idle-timeout 5s: A ended by FIN in p2, B timed out in p2, then reading stopped (%s)" % ends)
rc, unit, usum, _ = ndjson(["-r", parts[0], "--follow", parts[1], "--follow", parts[2]])
a = json.loads(unit[1])
tw_end = [e for e in a["timeline"] if "dir" not in e and e.get("client") == "CLOSED"]
ok(a["states_at_end"]["client"] == "CLOSED" and len(tw_end) == 1 and
   abs(tw_end[0]["ts"] - (t0 + 62.002)) < 1e-6 and usum["capture"]["follow"]["complete"],
   "defaults: A's client left TIME_WAIT 60 s after its FIN exchange in p2, and the follow files "
   "were read to their end (%s)" % tw_end)

# 3. Reading stops once nothing is held: everything of p1 ends early.
q1 = conn(52000, t0) + close(52000, t0 + 0.01)
q2 = noise(t0 + 1, 200, 1.0)
write_pcap(os.path.join(d, "q1.pcap"), q1)
write_pcap(os.path.join(d, "q2.pcap"), q2)
qs = [os.path.join(d, "q1.pcap"), os.path.join(d, "q2.pcap")]
rc, unit, usum, _ = ndjson(["-r", qs[0], "--follow", qs[1]])
fo = usum["capture"]["follow"]
ok(rc == 0 and fo["complete"] is False and 0 < fo["packets"] < len(q2) and
   fo["inputs"][0]["packets"] == fo["packets"] and usum["capture"]["packets"] == len(q1),
   "reading stops once nothing is held: %d of %d follow frames read, complete false, "
   "capture.packets %d" % (fo["packets"], len(q2), usum["capture"]["packets"]))
ok(abs(usum["capture"]["end"]["ts"] - fo["last_ts"]) < 1e-6 and
   usum["capture"]["end"]["source"] == "last_packet",
   "stopped early, capture.end is the last frame read (%s)" % usum["capture"]["end"])
bad = check_unit("early stop", qs, [], len(q1))
for p in bad:
    print("# " + p)
ok(not bad, "stopped early, the unit's connections are still one run's")
rc, out, _ = run(["-r", qs[0], "--follow", qs[1]])
ok(rc == 0 and "\nfollow   1 file, %d packets to " % fo["packets"] in out and
   "stopped: no connection held" in out, "the text report says it on its follow line")

# 4. Compressed follow files read as -r reads them.
gz = []
for p in parts[1:]:
    subprocess.run(["gzip", "-k", "-f", p], check=True)
    gz.append(p + ".gz")
_, plain, _, _ = ndjson(["-r", parts[0], "--follow", parts[1], "--follow", parts[2]])
_, comp, csum, _ = ndjson(["-r", parts[0], "--follow", gz[0], "--follow", gz[1]])
ok(plain == comp and csum["capture"]["follow"]["inputs"][0]["source"] == gz[0],
   "gzip-compressed follow files give the same connections")

# 5. Errors.
rc, out, err = run(["-i", "lo", "--follow", parts[1]])
ok(rc == 2 and len(err.splitlines()) == 1 and "--follow" in err,
   "--follow with -i: one line, exit 2 (%r)" % err)
missing = os.path.join(d, "missing.pcap")
rc, out, err = run(["-r", parts[0], "--follow", missing, "--ndjson"])
s = json.loads(out.splitlines()[-1])
ok(rc == 2 and err == "tcplens: %s: No such file or directory\n" % missing and
   s["capture"]["follow"]["inputs"][0].get("error") == "No such file or directory",
   "a missing follow file: one line, exit 2, its error in capture.follow.inputs (%r)" % err)
rc, out, _ = run(["-r", parts[0], "--ndjson"])
ok(rc == 0 and '"follow"' not in out.splitlines()[-1], "without --follow, no capture.follow")

print("# %d units compared" % total_units)
print("1..%d" % n)
sys.exit(1 if failed else 0)
PY
