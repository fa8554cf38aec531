#!/bin/bash
# NDJSON records (docs/report.md "NDJSON"): every line names its record;
# captures with host-level anomalies give host_anomaly lines (the kernel's
# TIME_WAIT pressure and full accept queue); the summary is the last line
# and holds the counts of the lines before it and of the --json document;
# --json FILE beside --ndjson=FILE still writes the whole document; the
# README's jq recipes select what they say. Then streaming: on a generated
# capture of a few seconds, the first line reaches a reader through a pipe
# while tcplens is still reading, with one thread and with two.
# Env: TCPLENS (the binary), SRCDIR (the source tree). Prints TAP.
set -u
export TZ=UTC LC_ALL=C
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-$srcdir/tcplens}
skip() { echo "1..0 # SKIP $1"; exit "${TL_SKIP_STATUS:-77}"; }

command -v python3 > /dev/null 2>&1 || skip "python3 not found"
[ -x "$tcplens" ] || skip "tcplens not built ($tcplens)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-ndjson.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# The generator of bench/ makes the large capture (no libpcap needed).
gen=
if command -v "${CC:-cc}" > /dev/null 2>&1 &&
    "${CC:-cc}" -O2 -std=c11 -o "$tmp/gen" "$srcdir/bench/gen.c" "$srcdir/bench/gen_tcp.c" \
        2> "$tmp/gen.err"; then
    gen=$tmp/gen
fi

TCPLENS=$tcplens SRC=$srcdir TMP=$tmp GEN=$gen python3 - << 'EOF'
import json, os, shutil, subprocess, time

tcplens, src, tmp, gen = (os.environ[k] for k in ("TCPLENS", "SRC", "TMP", "GEN"))
kernel = os.path.join(src, "tests/netns/kernel")
n = 0
failed = 0


def ok(cond, what, detail=()):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, what), flush=True)
    if not cond:
        failed += 1
        for line in list(detail)[:8]:
            print("#   %s" % str(line)[:300])
    return cond


def run(*args):
    out = subprocess.run([tcplens] + list(args), capture_output=True, text=True, cwd=src,
                         timeout=300)
    return out.returncode, out.stdout, out.stderr


def records(text):
    return [json.loads(line) for line in text.splitlines()]


# Host anomalies, each as a line of its own, before the summary.
for cap, want in (("tw_pressure.pcap", "time_wait_pressure"),
                  ("backlog_full.pcap", "accept_queue_overflow")):
    path = os.path.join(kernel, cap)
    rc, out, err = run("-r", path, "--ndjson")
    recs = records(out)
    hosts = [r for r in recs if r["record"] == "host_anomaly"]
    ok(rc == 0 and any(h["type"] == want for h in hosts),
       "%s: a host_anomaly line of type %s" % (cap, want),
       [err, [h.get("type") for h in hosts]])
    kinds = [r["record"] for r in recs]
    first_host = kinds.index("host_anomaly") if hosts else len(kinds)
    order = ["connection", "host_anomaly", "service", "host", "summary"]
    ranks = [order.index(k) if k in order else -1 for k in kinds]
    ok(all(k == "connection" for k in kinds[:first_host]) and -1 not in ranks and
       ranks == sorted(ranks) and kinds[-1:] == ["summary"] and kinds.count("summary") == 1,
       "%s: connections, then host anomalies, services and hosts, then the summary" % cap,
       [kinds])
    ok(all(h["connections"] and all(isinstance(i, int) for i in h["connections"]) for h in hosts),
       "%s: each host anomaly names its connections by id" % cap)


# The summary: the last line, exactly once, with the counts of the stream
# and of the document (every capture of the kernel scenarios, and with
# --anomalies-only, where it lists fewer than it counts).
bad = []
checked = 0
for cap in sorted(os.listdir(kernel)):
    if not cap.endswith(".pcap"):
        continue
    for extra in ([], ["--anomalies-only"]):
        path = os.path.join(kernel, cap)
        rc, out, _ = run("-r", path, "--ndjson", *extra)
        rc2, doc, _ = run("-r", path, "--json", "-", *extra)
        recs, doc = records(out), json.loads(doc)
        conns = [r for r in recs if r["record"] == "connection"]
        sums = [r for r in recs if r["record"] == "summary"]
        s = recs[-1]["summary"] if recs and recs[-1]["record"] == "summary" else {}
        why = None
        if rc != 0 or rc2 != 0:
            why = "exit %d/%d" % (rc, rc2)
        elif len(sums) != 1 or recs[-1]["record"] != "summary":
            why = "%d summary lines, last is %s" % (len(sums), recs[-1]["record"])
        elif s.get("connections_listed") != len(conns):
            why = "connections_listed %s, %d lines" % (s.get("connections_listed"), len(conns))
        elif not extra and s.get("connections") != len(conns):
            why = "connections %s, %d lines" % (s.get("connections"), len(conns))
        elif sum(s["ends"].values()) != s["connections"]:
            why = "ends do not add up to connections"
        elif s != doc["summary"] or recs[-1]["capture"] != doc["capture"] or \
                recs[-1]["inputs"] != doc["inputs"]:
            why = "summary, capture or inputs differ from the document's"
        checked += 1
        if why:
            bad.append("%s %s: %s" % (cap, " ".join(extra), why))
ok(checked > 40 and not bad,
   "summary line last, once, with the counts of the stream and the document (%d runs)" % checked,
   bad)

# --json FILE beside --ndjson=FILE: the whole document in one, the stream
# in the other (and the text report on stdout).
path = os.path.join(kernel, "backlog_full.pcap")
doc_p, nd_p = os.path.join(tmp, "doc.json"), os.path.join(tmp, "s.ndjson")
rc, out, err = run("-r", path, "--json", doc_p, "--ndjson=" + nd_p)
try:
    doc, recs = json.load(open(doc_p)), records(open(nd_p).read())
except (OSError, ValueError) as e:
    doc, recs = {}, []
    err += str(e)
ok(rc == 0 and out.startswith("input") and len(doc.get("connections", [])) == 4 and
   len(doc.get("host_anomalies", [])) == 1 and
   [r["record"] for r in recs] == (["connection"] * 4 + ["host_anomaly"] +
                                   ["service"] * len(doc.get("services", [])) +
                                   ["host"] * len(doc.get("hosts", [])) + ["summary"]),
   "--json FILE --ndjson=FILE: the document and the stream, each whole", [err, out[:200]])

# The README's recipes (jq selects by record).
if shutil.which("jq"):
    demo = os.path.join(src, "samples/demo.pcap")
    sh = lambda cmd: subprocess.run(["sh", "-c", cmd], capture_output=True, text=True,
                                    env=dict(os.environ, T=tcplens, F=demo, K=path)).stdout
    ids = sh('"$T" "$F" --ndjson | jq -c \'select(.record == "connection") | .id\'')
    ok(ids.split() == ["1", "2", "3", "4", "5", "6"], "jq: connection records", [ids])
    last = sh('"$T" "$F" --ndjson | jq -c \'select(.record == "summary") | .summary.ends\'')
    ok(json.loads(last or "{}") == {"open": 1, "fin": 3, "rst": 2}, "jq: the summary's ends",
       [last])
    hosts = sh('"$T" "$K" --ndjson | jq -r \'select(.record == "host_anomaly") | .type\'')
    ok(hosts.split() == ["accept_queue_overflow"], "jq: host_anomaly records", [hosts])
else:
    print("# jq not found: the README's recipes are not run")

# Streaming: the first line comes out while the capture is still being
# read, not at the end.
if not gen:
    print("# no C compiler for bench/gen: streaming not checked")
else:
    big = os.path.join(tmp, "big.pcap")
    subprocess.run([gen, "-q", "-c", "80000", "-C", "100", "--seed", "7", "-o", big], check=True)
    for threads in ("1", "2"):
        t0 = time.monotonic()
        p = subprocess.Popen([tcplens, "-r", big, "--threads", threads, "--ndjson"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        first = p.stdout.readline()
        t_first, running = time.monotonic() - t0, p.poll() is None
        rest = sum(1 for _ in p.stdout)
        rc = p.wait()
        total = time.monotonic() - t0
        rec = json.loads(first or b"{}")
        what = "--threads %s: the first line after %.2f s of %.2f s (%d lines)" % (
            threads, t_first, total, rest + 1)
        ok(rc == 0 and rec.get("record") == "connection" and rec.get("id") == 1 and
           running and t_first < total / 3, what)

print("1..%d" % n)
raise SystemExit(1 if failed else 0)
EOF
