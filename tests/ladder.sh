#!/bin/bash
# --ladder and --color. Colour: escape codes only on a terminal (a pty
# here) whose TERM is set and not "dumb", never with NO_COLOR set and not
# empty, always with --color always, and nothing but escape codes differs.
# Drawing: every capture's ladders (--timeline full) are read back and
# checked against tcpdump's own decode: each TCP packet on exactly one row,
# arrow direction, flags, relative seq/ack, length and time since the
# connection's first packet; anomaly marks numbered top-down, each with
# its key line; the bundled samples' ladders within 100 columns. Prints TAP.
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
exec python3 - "$tcplens" "$srcdir" <<'PY'
import glob, os, re, shutil, subprocess, sys

tcplens, srcdir = sys.argv[1], sys.argv[2]
demo = os.path.join(srcdir, "samples", "demo.pcap")
n = failed = 0
ESC = "\x1b"

def ok(cond, what):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, what))
    if not cond:
        failed += 1

def env_with(**kw):
    e = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    e.update({k: v for k, v in kw.items() if v is not None})
    return e

def piped(args, **kw):
    p = subprocess.run([tcplens] + args, capture_output=True, text=True, env=env_with(**kw))
    return p.returncode, p.stdout, p.stderr

def on_tty(args, **kw):
    """Runs tcplens with stdout on a pseudo-terminal; returns what it wrote."""
    master, slave = os.openpty()
    p = subprocess.Popen([tcplens] + args, stdout=slave, stderr=subprocess.DEVNULL,
                         env=env_with(**kw))
    os.close(slave)
    chunks = []
    while True:
        try:
            b = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not b:
            break
        chunks.append(b)
    os.close(master)
    p.wait()
    return b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")

def strip_sgr(s):
    return re.sub("\x1b\\[[0-9;]*m", "", s)

# ---- colour ----
args = ["-r", demo, "--ladder", "--connection", "3"]
rc, plain, _ = piped(args, TERM="xterm")
ok(rc == 0 and "|<-- RA seq=1 ack=44 len=0" in plain, "ladder drawn (connection 3's RST)")
ok(ESC not in plain, "piped: no escape codes by default, even with TERM=xterm")
rc, always, _ = piped(args + ["--color", "always"], TERM="xterm")
ok(ESC in always, "piped with --color always: escape codes")
ok(strip_sgr(always) == plain, "--color always adds escape codes and nothing else")
rc, out, _ = piped(args + ["--color", "always"], TERM="dumb", NO_COLOR="1")
ok(ESC in out, "--color always wins over NO_COLOR and TERM=dumb")
tty = on_tty(args, TERM="xterm")
ok(ESC in tty, "terminal, TERM=xterm: colour")
ok(strip_sgr(tty) == plain, "terminal: same text as piped, escape codes aside")
ok(ESC not in on_tty(args, TERM="xterm", NO_COLOR="1"), "terminal with NO_COLOR=1: no colour")
ok(ESC in on_tty(args, TERM="xterm", NO_COLOR=""), "terminal with NO_COLOR empty: colour")
ok(ESC not in on_tty(args, TERM="dumb"), "terminal with TERM=dumb: no colour")
ok(ESC not in on_tty(args), "terminal without TERM: no colour")
ok(ESC not in on_tty(args + ["--color", "never"], TERM="xterm"), "terminal, --color never")
_, a, _ = piped(["-r", demo])
_, b, _ = piped(["-r", demo, "--color", "always"])
ok(a == b and ESC not in b, "without --ladder, --color always changes nothing")
_, a, _ = piped(["-r", demo, "--json", "-"])
_, b, _ = piped(["-r", demo, "--json", "-", "--ladder=unicode", "--color", "always"])
ok(a == b, "--ladder and --color leave the JSON report alone")
rc, _, err = piped(["-r", demo, "--color", "sometimes"])
ok(rc == 2 and "--color" in err, "bad --color: exit 2 with a message")
rc, _, err = piped(["-r", demo, "--ladder=fancy"])
ok(rc == 2 and "--ladder" in err, "bad --ladder style: exit 2 with a message")
_, uni, _ = piped(args[:2] + ["--ladder=unicode", "--connection", "3"])
ok("\u2502\u25c0\u2500\u2500 RA seq=1 ack=44 len=0" in uni and "\u2506" in uni,
   "--ladder=unicode: box-drawing lifelines, arrowheads, dotted folded rows")

# ---- drawing against tcpdump ----
TD = re.compile(r"IP6? (\S+)\.(\d+) > (\S+)\.(\d+): Flags \[([^\]]*)\](.*)")

def tcpdump_packets(path):
    """{packet number: (ts_us, src "ip:port", flags set, seq, ack, len)} for TCP."""
    p = subprocess.run(["tcpdump", "-tt", "-nS", "-r", path], capture_output=True, text=True)
    pkts = {}
    for i, line in enumerate(p.stdout.splitlines(), 1):
        m = TD.search(line)
        if not m:
            continue
        sec, usec = line.split()[0].split(".")
        ip, port = m.group(1), m.group(2)
        src = ("[%s]:%s" if ":" in ip else "%s:%s") % (ip, port)
        flags = set(m.group(5).replace(".", "A").replace("W", "C"))
        rest = m.group(6)
        seq = re.search(r" seq (\d+)", rest)
        ack = re.search(r" ack (\d+)", rest)
        ln = re.findall(r"length (\d+)", rest)
        pkts[i] = (int(sec) * 1000000 + int(usec[:6].ljust(6, "0")), src, flags,
                   int(seq.group(1)) if seq else None, int(ack.group(1)) if ack else None,
                   int(ln[-1]) if ln else 0)
    return pkts

ARROW = re.compile(r"^(<)?-+ (\S+) seq=(\d+)(?: ack=(\d+))? len=(\d+)(?: win=0)? -*(>)?$")

def ladders(text):
    """Each ladder: client endpoint, rows (time, pkt, inner, notes), key numbers."""
    out, cur, cols = [], None, None
    for line in text.splitlines():
        m = re.match(r"connection \d+  (\S+) -> (\S+)  end", line)
        if m:
            cur = {"client": m.group(1), "rows": [], "keys": [], "lines": []}
            out.append(cur)
            continue
        if cur is None:
            continue
        if re.match(r"^ +\+s +pkt  client ", line):
            cols = (line.index("client "), line.index("server ") - 2)
            cur["lines"].append(line)
            continue
        k = re.match(r"^  \[(\d+)\] ", line)
        if k:
            cur["keys"].append(int(k.group(1)))
            cur["lines"].append(line)
            continue
        if cols and len(line) > cols[1] and line[cols[0] + 12] in "|:" \
                and re.match(r"^ +-?\d+\.\d{6} ", line):
            head = line[:cols[0]].split()
            cur["rows"].append({"t": head[0], "pkt": head[1] if len(head) > 1 else "",
                                "inner": line[cols[0] + 13:cols[1]].strip(),
                                "notes": line[cols[1] + 2:]})
            cur["lines"].append(line)
    return out

def us(t):
    s, f = t.split(".")
    return int(s) * 1000000 + int(f)

def check_capture(path):
    name = os.path.relpath(path, srcdir)
    pkts = tcpdump_packets(path)
    p = subprocess.run([tcplens, "-r", path, "--all", "--ladder", "--timeline", "full", "--color",
                        "never"], capture_output=True, text=True)
    lads = ladders(p.stdout)
    seen, bad = {}, []
    for lad in lads:
        isn, first_ts = {}, None
        for row in lad["rows"]:
            m = ARROW.match(row["inner"])
            if not m or not row["pkt"].isdigit():
                continue
            no = int(row["pkt"])
            seen[no] = seen.get(no, 0) + 1
            if no not in pkts:
                bad.append("row for packet %d, not TCP to tcpdump" % no)
                continue
            ts, src, flags, seq, ack, ln = pkts[no]
            first_ts = ts if first_ts is None else first_ts
            c2s = src == lad["client"]
            if (m.group(6) == ">") != c2s or (m.group(1) == "<") == c2s:
                bad.append("packet %d drawn the wrong way" % no)
            if set(m.group(2)) != flags:
                bad.append("packet %d flags %s, tcpdump %s" % (no, m.group(2), "".join(sorted(flags))))
            if int(m.group(5)) != ln:
                bad.append("packet %d len %s, tcpdump %d" % (no, m.group(5), ln))
            if us(row["t"]) != ts - first_ts:
                bad.append("packet %d at %s, tcpdump +%d us" % (no, row["t"], ts - first_ts))
            side, peer = ("c", "s") if c2s else ("s", "c")
            if "S" in flags and side not in isn and seq is not None:
                isn[side] = seq
            if seq is not None and side in isn and int(m.group(3)) != (seq - isn[side]) % 2**32:
                bad.append("packet %d seq=%s, tcpdump %d - ISN %d" % (no, m.group(3), seq, isn[side]))
            if m.group(4) is not None and ack is not None and peer in isn and \
                    int(m.group(4)) != (ack - isn[peer]) % 2**32:
                bad.append("packet %d ack=%s, tcpdump %d - ISN %d" % (no, m.group(4), ack, isn[peer]))
        marks = []
        for row in lad["rows"]:
            marks += [int(x) for x in re.findall(r"\[(\d+)\]", row["notes"])]
        if marks != sorted(marks) or set(marks) != set(lad["keys"]) or \
                lad["keys"] != list(range(1, len(lad["keys"]) + 1)):
            bad.append("%s: marks %s, keys %s" % (lad["client"], marks, lad["keys"]))
    missing = sorted(set(pkts) - set(seen))
    twice = sorted(k for k, v in seen.items() if v > 1)
    ok(p.returncode in (0, 1) and lads and not bad and not missing and not twice,
       "%s: %d ladders agree with tcpdump%s" % (name, len(lads), "" if not (bad or missing or twice)
       else ": " + "; ".join(bad[:3] + ["missing %s" % missing[:5]] * bool(missing) +
                             ["twice %s" % twice[:5]] * bool(twice))))

if shutil.which("tcpdump") is None:
    print("# tcpdump not found: drawing not checked against it")
else:
    captures = sorted(glob.glob(os.path.join(srcdir, "samples", "*.pcap")) +
                      glob.glob(os.path.join(srcdir, "tests", "netns", "kernel", "*.pcap")))
    for path in captures:
        check_capture(path)

for path in sorted(glob.glob(os.path.join(srcdir, "samples", "*.pcap"))):
    wide = []
    for mode in ("lifecycle", "full"):
        for style in ("ascii", "unicode"):
            p = subprocess.run([tcplens, "-r", path, "--all", "--timeline", mode, "--ladder=" + style],
                               capture_output=True, text=True)
            lines = [l for lad in ladders(p.stdout.replace("\u2502", "|").replace("\u2506", ":"))
                     for l in lad["lines"]]
            wide += [l for l in lines if len(l) > 100]
    ok(not wide, "%s: ladders within 100 columns%s" % (os.path.basename(path),
                                                      ": " + wide[0] if wide else ""))

print("1..%d" % n)
print("# %d passed, %d failed" % (n - failed, failed))
sys.exit(1 if failed else 0)
PY
