#!/usr/bin/env bash
# bench/units.sh - a capture cut into rotated files, a unit each
# (`tcplens -r fK --follow` the files after it), merged: how long and how
# much memory each step takes next to one run over all the files, and
# whether the merge's connection records are that run's (docs/scale-out.md
# "Units in time"; docs/performance.md records a run).
#
# usage: bench/units.sh [FILES] [CAPTURE]
#   FILES    rotated files to cut the capture into [7]
#   CAPTURE  the input [bench/run.sh's triage10m: made with --gen-only]
# env: TCPLENS (the binary [build/tcplens, else ./tcplens]), BENCH_BUILD
#      (where the files go [bench/build])
# Every step runs on one core (--threads 1), one after the other. Needs
# editcap (Wireshark's tools), python3 and /usr/bin/time.
set -euo pipefail
export LC_ALL=C
bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${BENCH_BUILD:-$bench_dir/build}
tcplens=${TCPLENS:-}
[ -n "$tcplens" ] || for t in "$bench_dir/../build/tcplens" ./tcplens; do
    [ -x "$t" ] && { tcplens=$t; break; }
done
[ -x "${tcplens:-}" ] || { echo "units.sh: no tcplens binary (set TCPLENS)" >&2; exit 2; }
files=${1:-7}
capture=${2:-}
if [ -z "$capture" ]; then
    TCPLENS=$tcplens "$bench_dir/run.sh" --gen-only --build-dir "$build" >/dev/null
    capture=$(ls "$build"/synth-10000000p-*.pcap | head -1)
fi
for tool in editcap capinfos python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "units.sh: $tool not found" >&2; exit 2; }
done
work=$build/units
rm -rf "$work" && mkdir -p "$work"
total=$(capinfos -M -c -T -r "$capture" | awk -F'\t' '{print $2}')
editcap -F pcap -c $(((total + files - 1) / files)) "$capture" "$work/rot.pcap"
rot=("$work"/rot_*.pcap)

# step NAME OUT COMMAND...: the command (its output into OUT), its time
# and peak memory as a table row.
step() {
    local name=$1 out=$2
    shift 2
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$out" 2>/dev/null || true
    read -r secs kb <"$work/time"
    printf '| %s | %s s | %d MiB |\n' "$name" "$secs" $((kb / 1024))
}

ins=()
for f in "${rot[@]}"; do ins+=(-r "$f"); done
echo "| step | time | peak RSS |"
echo "|---|---:|---:|"
step "one run over the ${#rot[@]} files" "$work/one.ndjson" "$tcplens" "${ins[@]}" --threads 1 --ndjson
units=()
for ((k = 0; k < ${#rot[@]}; k++)); do
    follow=()
    for f in "${rot[@]:k+1}"; do follow+=(--follow "$f"); done
    step "unit $((k + 1))" "$work/u$k" "$tcplens" -r "${rot[k]}" "${follow[@]}" --threads 1 --ndjson
    units+=("$work/u$k")
done
step "merge of the ${#rot[@]} units" "$work/merged.ndjson" "$tcplens" merge "${units[@]}"

python3 - "$work/one.ndjson" "$work/merged.ndjson" <<'PY'
import json, sys
def records(path):
    out = {}
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b'{"record":"connection"'):
                out[json.loads(line)["first_packet"]] = line
    return out
one, merged = records(sys.argv[1]), records(sys.argv[2])
same = sum(1 for fp, line in one.items() if merged.get(fp) == line)
print("\n%d of %d connection records of the merge are the run's, byte for byte "
      "(by first_packet); the merge has %d" % (same, len(one), len(merged)))
PY
