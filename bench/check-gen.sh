#!/usr/bin/env bash
# bench/check-gen.sh - does the generator's traffic show every connection
# anomaly that tcplens knows?
#
# Generates a small capture (5000 connections, 50 at once, special kinds
# raised to 60 % so that each one occurs dozens of times, ~1 min of capture
# so that the 5 s and 15 s thresholds pass), runs tcplens on it and counts
# the anomaly ids in its JSON report.  The ids come from tcplens's own
# registry (include/tcplens/anomaly.h, the connection-level entries), so a
# new anomaly type fails this check until gen_tcp.c makes it happen.
#
# usage: TCPLENS=/path/to/tcplens bench/check-gen.sh [GEN OPTIONS...]
#   GEN OPTIONS replace the default "-c 5000 -C 50 --special 60 --seed 1",
#   e.g. "-c 20000 -C 100" checks the default mix.
# Exit status: 0 every id seen, 1 some missing, 2 cannot run.
set -euo pipefail
export LC_ALL=C

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${BENCH_BUILD:-$bench_dir/build}
registry=$bench_dir/../include/tcplens/anomaly.h

die() { printf 'check-gen.sh: %s\n' "$*" >&2; exit 2; }

[[ -n ${TCPLENS:-} ]] || die "set TCPLENS to the tcplens binary to check with"
[[ -x $TCPLENS ]] || die "TCPLENS=$TCPLENS is not an executable"
[[ -r $registry ]] || die "cannot read $registry"
command -v python3 >/dev/null || die "python3 is needed to read the JSON report"

# X(NAME, "id", severity, host-level, detector, renderer): the ids whose
# host-level field is false.
mapfile -t ids < <(sed -n 's/^ *X([A-Z0-9_]*, *"\([a-z0-9_]*\)", *[A-Z_]*, *false[,)].*/\1/p' \
    "$registry")
((${#ids[@]} > 0)) || die "no connection-level anomaly found in $registry"

mkdir -p "$build"
gen=$build/gen
stale=0
[[ -x $gen ]] || stale=1
for f in "$bench_dir"/gen.c "$bench_dir"/gen_tcp.c "$bench_dir"/gen.h; do
    [[ $f -nt $gen ]] && stale=1
done
if ((stale)); then
    "${CC:-cc}" -O2 -std=c11 -Wall -Wextra -o "$gen" "$bench_dir/gen.c" \
        "$bench_dir/gen_tcp.c" || die "cannot build $gen"
fi

gen_args=(-c 5000 -C 50 --special 60 --seed 1)
(($# == 0)) || gen_args=("$@")
pcap=$build/check-gen.pcap
"$gen" "${gen_args[@]}" -o "$pcap"

"$TCPLENS" -r "$pcap" --json - | python3 -c '
import collections, json, sys

want = sys.argv[1:]
report = json.load(sys.stdin)
seen = collections.Counter()
for conn in report["connections"]:
    for anomaly in conn["anomalies"]:
        seen[anomaly["type"]] += 1
hosts = collections.Counter(h["type"] for h in report.get("host_anomalies", []))
missing = [i for i in want if seen[i] == 0]
print("%d connections" % len(report["connections"]))
for i in want:
    print("  %-24s %7d%s" % (i, seen[i], "   MISSING" if seen[i] == 0 else ""))
for i, n in sorted(hosts.items()):
    print("  %-24s %7d   (host level, not required)" % (i, n))
if missing:
    print("check-gen.sh: not in the capture: " + ", ".join(missing))
    sys.exit(1)
print("check-gen.sh: all %d connection anomalies present" % len(want))
' "${ids[@]}"
