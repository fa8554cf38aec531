#!/bin/bash
# --shard K/N: N runs over the same captures must give disjoint sets of
# connections whose union is exactly the unsharded run's, each connection
# unchanged but for its id (ids count within a shard). Input: every kernel
# capture and sample merged into one run, plus each file on its own.
# Prints TAP.
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
exec python3 - "$tcplens" "$srcdir"/tests/netns/kernel/*.pcap "$srcdir"/samples/*.pcap <<'PY'
import collections, json, subprocess, sys

tcplens, captures = sys.argv[1], sys.argv[2:]
n = failed = 0

def ok(cond, what):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, what))
    if not cond:
        failed += 1

def run(files, *extra):
    args = [tcplens]
    for f in files:
        args += ["-r", f]
    out = subprocess.run(args + ["--ndjson"] + list(extra), capture_output=True, text=True)
    if out.returncode != 0:
        return None
    recs = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    return [r for r in recs if r.get("record") == "connection"]

def ident(c):
    return (c["client"]["ip"], c["client"]["port"], c["server"]["ip"], c["server"]["port"],
            c["first_ts"])

def norm(c, by_id):
    """The connection without what depends on the shard: its id, and the
    id of the connection it took its 4-tuple over from (named by that
    connection's 4-tuple and start instead)."""
    c = json.loads(json.dumps(c))
    del c["id"]
    for a in c.get("anomalies", []):
        prev = a.get("evidence", {}).get("previous_id")
        if prev is not None:
            who = repr(ident(by_id[prev]))
            a["evidence"]["previous_id"] = who
            a["explanation"] = a["explanation"].replace("connection %d" % prev, who)
    return json.dumps(c, sort_keys=True)

def normed(conns):
    by_id = {c["id"]: c for c in conns}
    return [norm(c, by_id) for c in conns]

def check(name, files, counts):
    full = run(files)
    ok(full is not None and len(full) > 0, "%s: unsharded run" % name)
    if not full:
        return
    want = collections.Counter(normed(full))
    for nshards in counts:
        got, owner, ran = collections.Counter(), {}, True
        for k in range(1, nshards + 1):
            part = run(files, "--shard", "%d/%d" % (k, nshards))
            if part is None:
                ran = False
                break
            ids = [c["id"] for c in part]
            ok(ids == list(range(1, len(part) + 1)),
               "%s: shard %d/%d numbers its %d connections 1.." % (name, k, nshards, len(part)))
            got.update(normed(part))
            for c in part:
                owner.setdefault(ident(c), set()).add(k)
        ok(ran, "%s: every shard of %d ran" % (name, nshards))
        ok(all(len(s) == 1 for s in owner.values()),
           "%s: the %d shards are disjoint" % (name, nshards))
        ok(got == want, "%s: the %d shards' union is the unsharded run (%d connections)"
           % (name, nshards, sum(want.values())))

check("all captures merged", captures, (2, 3, 8))
for cap in captures:
    if cap.endswith(("tw_pressure.pcap", "scan.pcap", "port_reuse.pcap", "demo.pcap")):
        check(cap.split("/")[-1], [cap], (2, 5))

# The JSON report says which shard it is, and the shards' packets add up.
tcp_total, own = None, 0
for k in (1, 2, 3):
    out = subprocess.run([tcplens, "-r", captures[0], "--shard", "%d/3" % k, "--json", "-"],
                         capture_output=True, text=True)
    cap = json.loads(out.stdout)["capture"]
    sh = cap.get("shard", {})
    ok(sh.get("index") == k and sh.get("count") == 3, "JSON: capture.shard is %d of 3" % k)
    tcp_total = cap["tcp_packets"]
    own += cap["tcp_packets"] - sh.get("other_packets", 0)
ok(own == tcp_total, "JSON: the shards' own packets add up to every TCP packet (%d)" % tcp_total)
out = subprocess.run([tcplens, "-r", captures[0], "--json", "-"], capture_output=True, text=True)
ok("shard" not in json.loads(out.stdout)["capture"], "JSON: no capture.shard unsharded")

# Bad values are usage errors (exit 2) with a one-line message.
for bad in ("0/3", "4/3", "1/0", "1/3x", "-1/3", "3", "1/65537"):
    out = subprocess.run([tcplens, "-r", captures[0], "--shard", bad], capture_output=True,
                         text=True)
    ok(out.returncode == 2 and "--shard" in out.stderr.splitlines()[0],
       "--shard %s is refused" % bad)
print("1..%d" % n)
sys.exit(1 if failed else 0)
PY
