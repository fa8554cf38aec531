#!/bin/bash
# Tombstones (docs/flow-table.md): a connection reported before its minute
# is over leaves one, so that its late segments are counted as late and a
# new connection on its 4-tuple is still reported as port_reuse. With
# --linger 1ms nearly every ended connection is reported at once; on every
# capture of the tree and of ../shared, the run must still have exactly the
# connections of the default run (the same ids, endpoints and starts: no
# late segment became a connection of its own) and the same port_reuse
# findings. Then a few captures whose late segments are known must count
# them. Prints TAP.
# Env: TCPLENS, SRCDIR, TL_SHARED (default $SRCDIR/../shared: used when
# present), TL_JOBS (parallel runs, default 2).
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
shared=${TL_SHARED:-$srcdir/../shared}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
[ -x "$tcplens" ] || skip "tcplens not built ($tcplens)"
exec python3 - "$tcplens" "$srcdir" "$shared" "${TL_JOBS:-2}" <<'PY'
import concurrent.futures, glob, json, os, subprocess, sys

tcplens, srcdir, shared, jobs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
n = failed = 0

def ok(cond, what, diag=None):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, what))
    if not cond:
        failed += 1
        if diag:
            print("#   " + diag)

def captures():
    pats = [srcdir + "/samples/*.pcap", srcdir + "/tests/cases/*/*.pcap",
            srcdir + "/tests/netns/kernel/*.pcap"]
    if os.path.isdir(shared):
        pats += [shared + "/conformance/**/*.pcap*", shared + "/real-captures/*"]
    files = []
    for p in pats:
        files += sorted(f for f in glob.glob(p, recursive=True)
                        if os.path.isfile(f) and not f.endswith((".md", ".txt", ".json", ".tsv", ".log")))
    return files

def run(f, *extra):
    out = subprocess.run([tcplens, "--ndjson", "-r", f] + list(extra), capture_output=True,
                         text=True, timeout=300)
    conns, cap = [], None
    for line in out.stdout.splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        if rec.get("record") == "connection":
            conns.append(rec)
    return out.returncode, conns, out.stderr

def ident(c):
    return (c["id"], c["client"]["ip"], c["client"]["port"], c["server"]["ip"],
            c["server"]["port"], c["first_ts"])

def reuse(cs):
    return sorted((c["id"], json.dumps(a.get("evidence", {}), sort_keys=True))
                  for c in cs for a in c.get("anomalies", []) if a.get("type") == "port_reuse")

def compare(f):
    rc0, c0, _ = run(f)
    rc1, c1, err = run(f, "--linger", "1ms")
    return f, rc0, rc1, [ident(c) for c in c0], [ident(c) for c in c1], reuse(c0), reuse(c1), err

files = captures()
ok(len(files) > 20, "%d captures found" % len(files))
with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
    for f, rc0, rc1, i0, i1, r0, r1, err in ex.map(compare, files):
        name = os.path.relpath(f, os.path.dirname(srcdir))
        if rc0 != rc1:
            ok(False, "%s: same exit status" % name, "%d against %d: %s" % (rc0, rc1, err.strip()))
            continue
        extra = [x for x in i1 if x not in i0]
        ok(i0 == i1, "%s: the same %d connections with --linger 1ms" % (name, len(i0)),
           "new ones: %s; missing: %s" % (extra[:3], [x for x in i0 if x not in i1][:3]))
        ok(r0 == r1, "%s: the same %d port_reuse findings" % (name, len(r0)),
           "default %s, --linger 1ms %s" % (r0[:3], r1[:3]))

def capture_block(f, *extra):
    out = subprocess.run([tcplens, "--json", "-", "-r", f] + list(extra), capture_output=True,
                         text=True, timeout=300)
    return json.loads(out.stdout)["capture"]

# Known late segments: the Teredo trace's RSTs answering data 15-18 s after
# the end; the kernel's final ACK captured and then lost (four FIN
# retransmissions and their ACKs after it); the kernel's port reuse (the
# second SYN a second after the first connection's end) has none, and nor
# has any default run.
known = [(srcdir + "/tests/netns/kernel/port_reuse_tw.pcap", "1ms", 0),
         (srcdir + "/tests/netns/kernel/final_ack_lost_late.pcap", "1ms", 8),
         (srcdir + "/tests/netns/kernel/fin_ack_lost_late.pcap", "1ms", 0)]
teredo = shared + "/conformance/zeek/traces/tunnels__Teredo.pcap"
if os.path.isfile(teredo):
    known.append((teredo, "2s", 3))
for f, linger, want in known:
    got = capture_block(f, "--linger", linger).get("late_segments", 0)
    ok(got == want, "%s, --linger %s: %d late segments" % (os.path.basename(f), linger, want),
       "got %d" % got)
    ok("late_segments" not in capture_block(f),
       "%s: no late segments with the default linger" % os.path.basename(f))

print("1..%d" % n)
sys.exit(1 if failed else 0)
PY
