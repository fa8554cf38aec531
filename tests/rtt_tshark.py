"""Data RTT samples of tcplens (each connection's rtt.client_to_server and
rtt.server_to_client) against tshark's tcp.analysis.ack_rtt, per direction
of each 4-tuple: tshark's samples are kept where the frame acknowledged
carried payload (tcplens times data only; tshark also times SYN and FIN).

The two differ by design, and the checks allow exactly that:
- tshark times the segment that ends at the ACK number; tcplens, when one
  ACK covers several segments, the earliest of them (RFC 6298, Linux): a
  tcplens sample is never shorter than tshark's for the same ACK, so
  tcplens's minimum is at least tshark's;
- tcplens skips segments sent again (Karn's rule) and times at most 8
  segments in flight a direction, so it has no more samples than ACKs
  that cover new data, and at most tshark's count plus ACKs of several
  segments tshark does not time when none ends at the ACK number.
Prints TAP, and the agreement figures as a TAP comment."""
import json, subprocess, sys

tcplens, caps = sys.argv[1], sys.argv[2:]
n = failed = 0
tot = {"dirs": 0, "both": 0, "min_eq": 0, "max_eq": 0, "count_eq": 0, "tl": 0, "ts": 0}


def check(ok, name):
    global n, failed
    n += 1
    if not ok:
        failed += 1
    print(("ok" if ok else "not ok") + " %d - %s" % (n, name))


def tshark_samples(cap):
    fields = ["frame.number", "tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst",
              "ipv6.dst", "tcp.dstport", "tcp.len", "tcp.analysis.ack_rtt",
              "tcp.analysis.acks_frame"]
    cmd = ["tshark", "-n", "-r", cap, "-Y", "tcp", "-T", "fields", "-E", "separator=/t"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    frames, acks = {}, []
    for line in out.splitlines():
        c = line.split("\t")
        if len(c) < len(fields):
            continue
        num = int(c[0])
        src = (c[2] or c[3]).split(",")[-1]   # the innermost header
        dst = (c[5] or c[6]).split(",")[-1]
        sport, dport = c[4].split(",")[-1], c[7].split(",")[-1]
        frames[num] = ((src, sport), (dst, dport), int(c[8].split(",")[-1] or 0))
        if c[9] and c[10]:
            acks.append((float(c[9]), int(c[10])))
    per = {}
    for rtt, acked in acks:
        f = frames.get(acked)
        if f is None or f[2] == 0:
            continue
        per.setdefault((f[0], f[1]), []).append(round(rtt * 1e6))
    return per


def tcplens_samples(cap):
    out = subprocess.run([tcplens, "-r", cap, "--ndjson"], capture_output=True, text=True).stdout
    per = {}
    for line in out.splitlines():
        c = json.loads(line)
        rtt = c.get("rtt")
        if rtt is None:
            continue
        cl = (c["client"]["ip"], str(c["client"]["port"]))
        sv = (c["server"]["ip"], str(c["server"]["port"]))
        for key, d in (((cl, sv), rtt["client_to_server"]), ((sv, cl), rtt["server_to_client"])):
            if d["samples"] == 0:
                continue
            a = per.setdefault(key, [0, None, None])
            a[0] += d["samples"]
            lo, hi = round(d["min"] * 1e6), round(d["max"] * 1e6)
            a[1] = lo if a[1] is None else min(a[1], lo)
            a[2] = hi if a[2] is None else max(a[2], hi)
    return per


for cap in caps:
    ts, tl = tshark_samples(cap), tcplens_samples(cap)
    name = cap.rsplit("/", 1)[-1]
    for key in sorted(set(ts) | set(tl)):
        s = ts.get(key, [])
        t = tl.get(key, [0, None, None])
        tot["dirs"] += 1
        tot["tl"] += t[0]
        tot["ts"] += len(s)
        label = "%s %s:%s>%s:%s" % (name, key[0][0], key[0][1], key[1][0], key[1][1])
        if not s:
            # tshark timed nothing here; tcplens can only have timed what
            # tshark left (a segment ACKed by an ACK past its end).
            check(t[0] <= 2, label + ": samples where tshark has none: %d" % t[0])
            continue
        if t[0] == 0:
            check(len(s) <= 2, label + ": no sample, tshark %d" % len(s))
            continue
        tot["both"] += 1
        tot["min_eq"] += t[1] == min(s)
        tot["max_eq"] += t[2] == max(s)
        tot["count_eq"] += t[0] == len(s)
        check(t[1] >= min(s) - 1, label + ": min %d us >= tshark's %d" % (t[1], min(s)))
        check(len(s) // 2 <= t[0] <= len(s), label + ": %d samples, tshark %d" % (t[0], len(s)))

# Where both timed a direction, the fastest round trip is the same one.
check(tot["both"] > 0 and tot["min_eq"] >= 0.9 * tot["both"],
      "same minimum in %d of %d directions" % (tot["min_eq"], tot["both"]))
print("# directions %d, timed by both %d: same min %d, same max %d, same count %d; "
      "samples tcplens %d, tshark %d" % (tot["dirs"], tot["both"], tot["min_eq"], tot["max_eq"],
                                         tot["count_eq"], tot["tl"], tot["ts"]))
print("1..%d" % n)
sys.exit(1 if failed else 0)
