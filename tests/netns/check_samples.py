#!/usr/bin/env python3
"""Check that samples/*.pcap show what their scenario should (uses tshark).

    usage: check_samples.py [SAMPLES_DIR] [-v]

Prints one summary line per sample (connections, flag ladder, final ss
states) and exits 1 if any expectation fails.  stdlib + tshark only.
"""

import os
import re
import struct
import subprocess
import sys

FIELDS = ["frame.number", "frame.time_epoch", "ip.src", "ipv6.src", "tcp.srcport",
          "ip.dst", "ipv6.dst", "tcp.dstport", "tcp.flags", "tcp.seq_raw",
          "tcp.ack_raw", "tcp.len"]

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


class Pkt:
    def __init__(self, row):
        (n, ts, s4, s6, sp, d4, d6, dp, fl, seq, ack, ln) = row
        self.n = int(n)
        self.ts = float(ts)
        self.src = (s4 or s6, int(sp))
        self.dst = (d4 or d6, int(dp))
        self.flags = int(fl, 16)
        self.seq = int(seq)
        self.ack = int(ack)
        self.len = int(ln)

    def fl(self):
        s = ""
        for bit, ch in ((SYN, "S"), (FIN, "F"), (RST, "R"), (PSH, "P")):
            if self.flags & bit:
                s += ch
        if self.flags & ACK:
            s += "."
        return s

    def key(self):
        return tuple(sorted([self.src, self.dst]))


def read_pkts(path):
    cmd = ["tshark", "-r", path, "-T", "fields", "-E", "separator=/t"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    allrows = [l.split("\t") for l in out.splitlines() if l.strip()]
    rows = [r for r in allrows if r[4]]
    return [Pkt(r) for r in rows], len(allrows) - len(rows)


def file_format(path):
    with open(path, "rb") as f:
        hdr = f.read(24)
    magic = struct.unpack("<I", hdr[:4])[0]
    if magic == 0x0A0D0D0A:
        return "pcapng", None
    fmt = {0xA1B2C3D4: "pcap-usec", 0xA1B23C4D: "pcap-nsec"}.get(magic, "?%08x" % magic)
    linktype = struct.unpack("<I", hdr[20:24])[0]
    return fmt, linktype


def conns(pkts):
    """Split by 4-tuple, then by SYN without ACK (new connection)."""
    out = []
    cur = {}
    for p in pkts:
        k = p.key()
        if p.flags & SYN and not p.flags & ACK or k not in cur:
            cur[k] = {"key": k, "client": p.src, "pkts": []}
            out.append(cur[k])
        cur[k]["pkts"].append(p)
    return out


def ladder(c):
    return " ".join(("c" if p.src == c["client"] else "s") + p.fl() +
                    ("%d" % p.len if p.len else "") for p in c["pkts"])


def final_ss(path):
    """States of the last ('final') snapshot of an ss poll log."""
    try:
        txt = open(path).read()
    except OSError:
        return None
    parts = re.split(r"^# .*$", txt, flags=re.M)
    last = parts[-1].strip().splitlines()
    states = []
    for l in last[1:]:
        f = l.split()
        if len(f) >= 5:
            states.append("%s %s>%s" % (f[0], f[3], f[4]))
    return states


class Checker:
    def __init__(self, name):
        self.name, self.errors = name, []

    def req(self, cond, msg):
        if not cond:
            self.errors.append(msg)


def count(c, who, bit):
    return sum(1 for p in c["pkts"] if p.flags & bit and (p.src == c["client"]) == (who == "c"))


def seq_after(a, b):
    return ((a - b) & 0xFFFFFFFF) != 0 and ((a - b) & 0xFFFFFFFF) < 0x80000000


def check_normal(ck, cs):
    ck.req(len(cs) == 1, "expected 1 connection, got %d" % len(cs))
    if not cs:
        return
    c = cs[0]
    f = [p.fl() for p in c["pkts"]]
    ck.req(f[:3] == ["S", "S.", "."], "handshake %s" % f[:3])
    ck.req(count(c, "c", FIN) == 1 and count(c, "s", FIN) == 1, "want one FIN each side")
    ck.req(count(c, "c", RST) + count(c, "s", RST) == 0, "unexpected RST")
    fins = [p for p in c["pkts"] if p.flags & FIN]
    ck.req(fins and fins[0].src == c["client"], "client must FIN first")
    ck.req(c["pkts"][-1].fl() == "." and c["pkts"][-1].src == c["client"], "last must be client ACK")


def check_refused(ck, cs):
    ck.req(len(cs) == 1, "expected 1 connection")
    if cs:
        f = [p.fl() for p in cs[0]["pkts"]]
        ck.req(f == ["S", "R."], "refused ladder %s" % f)


def check_rst_unread(ck, cs):
    ck.req(len(cs) == 1, "expected 1 connection")
    if cs:
        c = cs[0]
        last = c["pkts"][-1]
        ck.req(last.flags & RST and last.src != c["client"], "must end with server RST")
        ck.req(count(c, "c", FIN) + count(c, "s", FIN) == 0, "no FIN expected")
        ck.req(any(p.len > 0 and p.src == c["client"] for p in c["pkts"]), "client data expected")


def check_linger0(ck, cs):
    ck.req(len(cs) == 1, "expected 1 connection")
    if cs:
        c = cs[0]
        last = c["pkts"][-1]
        ck.req(last.flags & RST and last.src == c["client"], "must end with client RST")
        ck.req(count(c, "c", FIN) + count(c, "s", FIN) == 0, "no FIN expected")


def check_reuse(ck, cs, server_first):
    ck.req(len(cs) == 2, "expected 2 connections, got %d" % len(cs))
    if len(cs) != 2:
        return
    a, b = cs
    ck.req(a["key"] == b["key"], "4-tuples differ")
    s1, s2 = a["pkts"][0], b["pkts"][0]
    ck.req(s1.fl() == "S" and s2.fl() == "S", "each must start with SYN")
    ck.req(s1.seq != s2.seq, "ISNs equal")
    ck.req(seq_after(s2.seq, s1.seq), "second ISN not after first")
    fins = [p for p in a["pkts"] if p.flags & FIN]
    if fins:
        ck.req((fins[0].src != a["client"]) == server_first,
               "conn 1 first FIN from wrong side")
    for c in cs:
        ck.req(count(c, "c", RST) + count(c, "s", RST) == 0, "unexpected RST")
        ck.req(count(c, "c", FIN) == 1 and count(c, "s", FIN) == 1, "want one FIN each side")


def check_close_wait(ck, cs):
    ck.req(len(cs) == 1, "expected 1 connection")
    if cs:
        c = cs[0]
        ck.req(count(c, "c", FIN) == 1 and count(c, "s", FIN) == 0, "want exactly one FIN (client)")
        ck.req(count(c, "c", RST) + count(c, "s", RST) == 0, "unexpected RST")
        fin = [p for p in c["pkts"] if p.flags & FIN][0]
        ck.req(any(p.src != c["client"] and p.ack == (fin.seq + fin.len + 1) & 0xFFFFFFFF
                   for p in c["pkts"] if p.n > fin.n), "server must ACK the FIN")


def by_port(cs, port):
    return [c for c in cs if any(e[1] == port for e in c["key"]) and c["client"][1] != port]


def check_demo(ck, cs):
    check_normal(ck, by_port(cs, 8080))
    check_refused(ck, by_port(cs, 8081))
    check_rst_unread(ck, by_port(cs, 8082))
    check_close_wait(ck, by_port(cs, 8083))
    check_reuse(ck, by_port(cs, 8084), server_first=True)


EXPECT = {
    # name: (file, format, linktype, check, ss states expected in final snapshot)
    "normal": ("normal.pcap", "pcap-usec", 1, check_normal, ["TIME-WAIT"]),
    "ipv6": ("ipv6.pcap", "pcap-usec", 1, check_normal, ["TIME-WAIT"]),
    "refused": ("refused.pcap", "pcap-usec", 1, check_refused, []),
    "rst_unread": ("rst_unread.pcap", "pcap-usec", 1, check_rst_unread, []),
    "linger0": ("linger0.pcap", "pcap-usec", 1, check_linger0, []),
    "port_reuse": ("port_reuse.pcap", "pcap-usec", 1,
                   lambda ck, cs: check_reuse(ck, cs, True), ["TIME-WAIT"]),
    "port_reuse_tw": ("port_reuse_tw.pcap", "pcap-usec", 1,
                      lambda ck, cs: check_reuse(ck, cs, False), ["TIME-WAIT"]),
    "close_wait": ("close_wait.pcap", "pcap-usec", 1, check_close_wait,
                   ["LISTEN", "CLOSE-WAIT", "FIN-WAIT-2"]),
    "normal-ns": ("normal-ns.pcap", "pcap-nsec", 1, check_normal, ["TIME-WAIT"]),
    "normal-sll2": ("normal-sll2.pcap", "pcap-usec", 276, check_normal, ["TIME-WAIT"]),
    "normal.pcapng": ("normal.pcapng", "pcapng", None, check_normal, None),
    "demo": ("demo.pcap", "pcap-usec", 1, check_demo,
             ["LISTEN", "CLOSE-WAIT", "FIN-WAIT-2", "TIME-WAIT"]),
}


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    verbose = "-v" in sys.argv
    d = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "..", "samples")
    bad = 0
    for name, (fname, fmt, lt, check, ss_want) in EXPECT.items():
        path = os.path.join(d, fname)
        ck = Checker(name)
        if not os.path.exists(path):
            print("FAIL %-14s missing %s" % (name, path))
            bad += 1
            continue
        gfmt, glt = file_format(path)
        ck.req(gfmt == fmt, "format %s, want %s" % (gfmt, fmt))
        if lt is not None:
            ck.req(glt == lt, "linktype %s, want %s" % (glt, lt))
        pkts, non_tcp = read_pkts(path)
        ck.req(non_tcp == 0, "%d non-TCP packets" % non_tcp)
        seen = set()
        for p in pkts:
            k = (p.src, p.dst, p.flags, p.seq, p.ack, p.len)
            ck.req(k not in seen, "duplicate packet #%d" % p.n)
            seen.add(k)
        cs = conns(pkts)
        check(ck, cs)
        ss = None
        if ss_want is not None:
            ss = final_ss(os.path.join(d, fname.rsplit(".", 1)[0] + ".ss.txt"))
            ck.req(ss is not None, "ss log missing")
            states = {s.split()[0] for s in ss or []}
            for w in ss_want:
                ck.req(w in states, "ss final lacks %s" % w)
            if not ss_want:
                ck.req(not states, "ss final should be empty, has %s" % sorted(states))
        status = "ok  " if not ck.errors else "FAIL"
        bad += bool(ck.errors)
        print("%s %-14s %s %d pkts, %d conn(s), %d bytes; ss final: %s" % (
            status, name, gfmt + ("/lt%s" % glt if glt is not None else ""), len(pkts),
            len(cs), os.path.getsize(path),
            "; ".join(ss) if ss else ("(none)" if ss is not None else "-")))
        for e in ck.errors:
            print("       - " + e)
        if verbose or ck.errors:
            for c in cs:
                print("       %s:%d > %s:%d  %s" % (c["client"] + tuple(
                    e for e in c["key"] if e != c["client"])[0] + (ladder(c),)))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
