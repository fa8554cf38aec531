#!/bin/bash
# Zeek conformance: runs tcplens on the real traces of
# shared/conformance/zeek and compares each connection's "zeek" object
# (conn_state, history) with Zeek's own conn.log rows for the same trace.
#
# Rows are matched on the unordered 4-tuple and the start time (±1 µs),
# each tcplens connection at most once. Zeek rows without a tcplens
# connection (Zeek and tcplens split a 4-tuple differently) are counted
# apart; agreement is over matched rows. docs/zeek-conformance.md explains
# every difference.
#
# TAP. Skips ("1..0 # SKIP", exit $TL_SKIP_STATUS, default 77; automake's
# TAP driver wants 0) when the corpus or python3 is missing. Fails when
# conn_state agreement over matched rows is below 95%.
#
# Environment: TCPLENS (default ./tcplens), SRCDIR (default: this file's
# ../), TL_CONFORMANCE (default $SRCDIR/../shared/conformance),
# TL_CONFORMANCE_DIFFS (where the table of differences goes; default
# $BUILDDIR/zeek-conformance-diffs.tsv, BUILDDIR defaulting to .),
# TL_CONFORMANCE_VERBOSE=1 to list every difference as a TAP comment.
#
# tcplens computes the zeek object as "zeek -C" does unless asked for
# --zeek-checksums; traces Zeek read without -C are run with it.
set -u

here=$(cd "$(dirname "$0")" && pwd)
SRCDIR=${SRCDIR:-$(dirname "$here")}
TCPLENS=${TCPLENS:-./tcplens}
CORPUS=${TL_CONFORMANCE:-$SRCDIR/../shared/conformance}
DIFFS=${TL_CONFORMANCE_DIFFS:-${BUILDDIR:-.}/zeek-conformance-diffs.tsv}

if [ ! -f "$CORPUS/zeek/MANIFEST.tsv" ]; then
    echo "1..0 # SKIP no conformance corpus at $CORPUS"
    exit "${TL_SKIP_STATUS:-77}"
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "1..0 # SKIP python3 not found"
    exit "${TL_SKIP_STATUS:-77}"
fi
if [ ! -x "$TCPLENS" ]; then
    echo "1..0 # SKIP tcplens not built ($TCPLENS)"
    exit "${TL_SKIP_STATUS:-77}"
fi

export TZ=UTC
exec python3 - "$CORPUS" "$TCPLENS" "$DIFFS" <<'PY'
import csv, json, os, subprocess, sys

corpus, tcplens, diffs_path = sys.argv[1], sys.argv[2], sys.argv[3]
zdir = os.path.join(corpus, "zeek")
verbose = os.environ.get("TL_CONFORMANCE_VERBOSE") == "1"
# Over all of Zeek's rows: a row tcplens has no connection for counts as a
# disagreement in both columns.
THRESHOLD_CONN_STATE = 98.0
THRESHOLD_HISTORY = 95.0

def usec(text):
    return int(round(float(text) * 1e6))


def endpoint_pair(a, ap, b, bp):
    return frozenset([(a, int(ap)), (b, int(bp))])


def run_tcplens(trace, ignore_checksums):
    cmd = [tcplens, "-r", trace, "--ndjson"]
    if not ignore_checksums:
        cmd.insert(1, "--zeek-checksums")
    out = subprocess.run(cmd, capture_output=True, text=True)
    conns = []
    for line in out.stdout.splitlines():
        line = line.strip()
        if not line:
            continue
        c = json.loads(line)
        if c.get("record") != "connection":
            continue
        conns.append({
            "key": endpoint_pair(c["client"]["ip"], c["client"]["port"],
                                 c["server"]["ip"], c["server"]["port"]),
            "ts": usec(c["first_ts"]),
            "conn_state": c["zeek"]["conn_state"],
            "history": c["zeek"]["history"] or "-",
            "used": False,
        })
    return out.returncode, conns


def cases():
    """(label, trace file, expected file, ignore checksums)."""
    with open(os.path.join(zdir, "MANIFEST.tsv"), newline="") as f:
        for m in csv.DictReader(f, delimiter="\t"):
            trace = os.path.basename(m["trace_file"])
            expected = os.path.basename(m["expected_file"])
            ignore = " -C" in " " + m["zeek_command"]
            yield trace, trace, expected, ignore
            variant = expected.replace(".tsv", ".ignore-checksums.tsv")
            if os.path.exists(os.path.join(zdir, "expected", variant)):
                yield trace + " (ignore checksums)", trace, variant, True


def compare(label, rows, conns, diffs, tally):
    for r in rows:
        # "?" is a partial baseline's "not given"; only a uid marks a tunnel.
        if r.get("tunnel_parents", "-") not in ("-", "?"):
            tally["tunnel_rows"] += 1
        tally["rows"] += 1
        key = endpoint_pair(r["orig_h"], r["orig_p"], r["resp_h"], r["resp_p"])
        ts = usec(r["ts"])
        match = next((c for c in conns if not c["used"] and c["key"] == key
                      and abs(c["ts"] - ts) <= 1), None)
        where = "%s:%s>%s:%s" % (r["orig_h"], r["orig_p"], r["resp_h"], r["resp_p"])
        if match is None:
            tally["unmatched"] += 1
            for field in ("conn_state", "history"):
                if r[field] != "?":
                    tally[field + "_total"] += 1
            zeek = r["conn_state"] + " " + r["history"]
            diffs.append((label, r["ts"], where, "unmatched", zeek, "-"))
            continue
        match["used"] = True
        tally["matched"] += 1
        for field in ("conn_state", "history"):
            want = r[field]
            if want == "?":
                continue
            tally[field + "_total"] += 1
            if match[field] == want:
                tally[field + "_agree"] += 1
            else:
                diffs.append((label, r["ts"], where, field, want, match[field]))


def pct(a, n):
    return 100.0 * a / n if n else 100.0


def new_tally():
    return {k: 0 for k in ("rows", "matched", "unmatched", "tunnel_rows", "conn_state_total",
                           "conn_state_agree", "history_total", "history_agree")}


total = new_tally()
diffs = []
ran_ok = True
for label, trace, expected, ignore in cases():
    with open(os.path.join(zdir, "expected", expected), newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    rc, conns = run_tcplens(os.path.join(zdir, "traces", trace), ignore)
    if rc != 0:
        ran_ok = False
        print("# %s: tcplens exited %d" % (label, rc))
    t = new_tally()
    compare(label, rows, conns, diffs, t)
    for k in total:
        total[k] += t[k]
    print("# %-55s rows %4d matched %4d unmatched %3d  conn_state %3d/%-3d history %3d/%-3d"
          % (label, t["rows"], t["matched"], t["unmatched"], t["conn_state_agree"],
             t["conn_state_total"], t["history_agree"], t["history_total"]))

with open(diffs_path, "w", newline="") as f:
    w = csv.writer(f, delimiter="\t", lineterminator="\n")
    w.writerow(("trace", "ts", "zeek_orig>resp", "field", "zeek", "tcplens"))
    w.writerows(diffs)
if verbose:
    for d in diffs:
        print("# diff " + "\t".join(d))

cs = pct(total["conn_state_agree"], total["conn_state_total"])
hs = pct(total["history_agree"], total["history_total"])
print("# SUMMARY zeek rows %d (%d in tunnels), matched %d, unmatched %d; "
      "conn_state %d/%d = %.1f%%, history %d/%d = %.1f%% (over all rows, an unmatched "
      "row a disagreement); differences in %s"
      % (total["rows"], total["tunnel_rows"], total["matched"], total["unmatched"],
         total["conn_state_agree"], total["conn_state_total"], cs,
         total["history_agree"], total["history_total"], hs, diffs_path))
cs_ok = cs >= THRESHOLD_CONN_STATE and total["matched"] > 0
hs_ok = hs >= THRESHOLD_HISTORY and total["matched"] > 0
print("1..3")
print("%s 1 - tcplens read every trace" % ("ok" if ran_ok else "not ok"))
print("%s 2 - conn_state agreement %.1f%% over all rows (needs >= %.0f%%)"
      % ("ok" if cs_ok else "not ok", cs, THRESHOLD_CONN_STATE))
print("%s 3 - history agreement %.1f%% over all rows (needs >= %.0f%%)"
      % ("ok" if hs_ok else "not ok", hs, THRESHOLD_HISTORY))
sys.exit(0 if ran_ok and cs_ok and hs_ok else 1)
PY
