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
The handshake legs (rtt.syn_synack, rtt.synack_ack) are computed again
here from tshark's frame times, per tcp.stream with a SYN, by the rule of
docs/report.md and src/track.c, and must be equal to the microsecond
(frame times cut to microseconds, as tcplens reads them):
- syn_synack: from the client's last SYN at or before the server's first
  SYN-ACK to that SYN-ACK (a SYN retried: the try that was answered);
- synack_ack: from the server's last SYN-ACK at or before the handshake
  ACK to that ACK, the handshake ACK being the client's first segment
  without SYN acknowledging the SYN-ACK, when it is a bare ACK (no
  payload, FIN or RST, window not zero); with data on it there is none;
- only the first 16 SYNs (SYN-ACKs) of a side count, as the tracker keeps
  no more; copies made by the capture are merged first (a SYN or SYN-ACK
  of the same side within 1 ms of the last one kept, or within 10 ms with
  nothing from the peer in between, docs/anomalies.md): no kernel retries
  a SYN that fast.
A connection is matched by client, server and the time of its first SYN
(tcplens's first_ts); each leg one side has and the other has not is a
failure too.
Prints TAP, and the agreement figures as a TAP comment."""
import json, subprocess, sys

tcplens, caps = sys.argv[1], sys.argv[2:]
n = failed = 0
tot = {"dirs": 0, "both": 0, "min_eq": 0, "max_eq": 0, "count_eq": 0, "tl": 0, "ts": 0}
LEGS = ("syn_synack", "synack_ack")
legs = {k: [0, 0] for k in LEGS}  # compared, equal
SYN, RST, ACK, FIN = 0x02, 0x04, 0x10, 0x01


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


HS_FIELDS = ["frame.time_epoch", "tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst",
             "ipv6.dst", "tcp.dstport", "tcp.flags", "tcp.len", "tcp.seq_raw", "tcp.ack_raw",
             "tcp.window_size_value"]


def last(v):
    return v.split(",")[-1]


def usec(epoch):
    """frame.time_epoch in microseconds, cut as libpcap cuts nanoseconds."""
    s, _, f = epoch.partition(".")
    return int(s) * 1000000 + int((f + "000000")[:6])


def kept_times(segs, stream):
    """Capture times of one side's SYNs (or SYN-ACKs) segs, capture copies
    merged, the first 16 kept."""
    out, prev = [], None
    for s in segs:
        if prev is not None:
            gap = s["ts"] - prev["ts"]
            peer = any(o["src"] == s["dst"] for o in stream[prev["i"]:s["i"]])
            if gap <= 1000 or (gap <= 10000 and not peer):
                continue
        out.append(s["ts"])
        prev = s
    return out[:16]


def stream_legs(segs):
    """(client, server, first SYN time) and [syn_synack, synack_ack] in
    microseconds (None when not seen) of one tcp.stream; None without SYN."""
    syn = [s for s in segs if s["flags"] & (SYN | ACK | RST) == SYN]
    if not syn:
        return None
    cl, sv = syn[0]["src"], syn[0]["dst"]
    syns = kept_times([s for s in syn if s["src"] == cl], segs)
    synack = [s for s in segs if s["flags"] & (SYN | ACK | RST) == SYN | ACK and s["src"] == sv]
    sas = kept_times(synack, segs)
    out = [None, None]
    if sas:
        before = [t for t in syns if t <= sas[0]]
        if before:
            out[0] = sas[0] - before[-1]
        isn = synack[0]["seq"]
        for s in segs:
            if s["src"] != cl or s["flags"] & SYN or not s["flags"] & ACK or s["ts"] < sas[0]:
                continue
            if not 0 < (s["ack"] - isn) % 2**32 < 2**31:
                continue  # does not acknowledge the SYN-ACK
            if s["len"] == 0 and not s["flags"] & (FIN | RST) and s["win"] != 0:
                out[1] = s["ts"] - [t for t in sas if t <= s["ts"]][-1]
            break
    return (cl, sv, syns[0]), out


def tshark_legs(cap):
    cmd = ["tshark", "-n", "-r", cap, "-Y", "tcp && !icmp && !icmpv6", "-T", "fields",
           "-E", "separator=/t"]
    for f in HS_FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    streams = {}
    for line in out.splitlines():
        c = line.split("\t")
        if len(c) < len(HS_FIELDS):
            continue
        segs = streams.setdefault(last(c[1]), [])
        segs.append({"i": len(segs), "ts": usec(c[0]),
                     "src": (last(c[2] or c[3]), last(c[4])),
                     "dst": (last(c[5] or c[6]), last(c[7])), "flags": int(last(c[8]), 16),
                     "len": int(last(c[9]) or 0), "seq": int(last(c[10]) or 0),
                     "ack": int(last(c[11]) or 0), "win": int(last(c[12]) or 0)})
    return dict(filter(None, (stream_legs(segs) for segs in streams.values())))


def tcplens_legs(cap):
    out = subprocess.run([tcplens, "-r", cap, "--ndjson"], capture_output=True, text=True).stdout
    per = {}
    for line in out.splitlines():
        c = json.loads(line)
        rtt = c.get("rtt")
        if rtt is None:
            continue
        key = ((c["client"]["ip"], str(c["client"]["port"])),
               (c["server"]["ip"], str(c["server"]["port"])), round(c["first_ts"] * 1e6))
        per[key] = [None if rtt[k] is None else round(rtt[k] * 1e6) for k in LEGS]
    return per


def compare_legs(cap):
    ts, tl = tshark_legs(cap), tcplens_legs(cap)
    name = cap.rsplit("/", 1)[-1]
    bad = []
    for key in sorted(set(ts) | set(tl)):
        a, b = ts.get(key, [None, None]), tl.get(key, [None, None])
        for i, leg in enumerate(LEGS):
            if a[i] is None and b[i] is None:
                continue
            legs[leg][0] += 1
            legs[leg][1] += a[i] == b[i]
            if a[i] != b[i]:
                bad.append("%s:%s %s %s us, tshark %s" % (key[0][0], key[0][1], leg, b[i], a[i]))
    if ts or tl:
        check(not bad, name + ": handshake legs" + (": " + "; ".join(bad) if bad else ""))


for cap in caps:
    compare_legs(cap)
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
for leg in LEGS:
    check(legs[leg][0] > 0, "%s compared: %d" % (leg, legs[leg][0]))
print("# handshake legs: syn_synack %d compared, %d equal; synack_ack %d compared, %d equal"
      % (legs["syn_synack"][0], legs["syn_synack"][1], legs["synack_ack"][0], legs["synack_ack"][1]))
print("1..%d" % n)
sys.exit(1 if failed else 0)
