#!/bin/bash
# A bounded libFuzzer session over the harnesses, as CI runs it: fixed
# seed, a fixed number of executions (with a time limit as a backstop on a
# slow machine), starting from a copy of the saved corpus. Any crash, leak,
# sanitizer report or input slower than the per-input timeout fails the
# test; the failing input is kept in $TL_FUZZ_ARTIFACTS (default: the build
# directory's fuzz-artifacts/) to be added to tests/fuzz/corpus as bug-*.
# Only a tree configured with --enable-fuzzers has the harnesses; other
# builds skip. Prints TAP.
set -u
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${BUILDDIR:-.}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
for h in decode pipeline pcapng merge; do
    [ -x "$builddir/tests/fuzz/fuzz_$h" ] || skip "tests/fuzz/fuzz_$h not built (configure --enable-fuzzers)"
done

# Executions per harness: the decoder runs ~125k inputs/s under the sanitizers on one core of
# CI's machine, the pipeline (temp file, engine, four reports) ~150/s, so its time limit ends
# it, the pcapng scanner (two scans and a decompression stream from a memory file) ~2,200/s,
# the merge (up to four memory files, each read twice, every record read back whole for the
# text and HTML reports; units in time among its seeds, larger) ~800/s: 50,000 runs, about a
# minute. Two sessions run side by
# side, one a core: the decoder's and the pipeline's, then the pcapng scanner's and the
# merge's.
runs_decode=${TL_FUZZ_RUNS_DECODE:-20000000}
runs_pipeline=${TL_FUZZ_RUNS_PIPELINE:-60000}
runs_pcapng=${TL_FUZZ_RUNS_PCAPNG:-150000}
runs_merge=${TL_FUZZ_RUNS_MERGE:-50000}
max_time=${TL_FUZZ_MAX_TIME:-150}
artifacts=${TL_FUZZ_ARTIFACTS:-$builddir/fuzz-artifacts}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$artifacts" || exit 1

session() { # harness runs max_len number: its TAP lines into $tmp/NUMBER.tap
    local h=$1 runs=$2 max_len=$3 n=$4 log rc execs
    mkdir -p "$tmp/$h"
    cp "$srcdir/tests/fuzz/corpus/$h"/* "$tmp/$h/"
    log=$tmp/$h.log
    # -timeout: one input taking 10 s is a hang; -rss_limit_mb: one input
    # needing 1 GB is unbounded growth.
    "$builddir/tests/fuzz/fuzz_$h" -seed=1 -runs="$runs" -max_total_time="$max_time" \
        -max_len="$max_len" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
        -artifact_prefix="$artifacts/$h-" "$tmp/$h" > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ "$rc" -eq 0 ] && [ -n "$execs" ] && [ "$execs" -gt 0 ]; then
        {
            echo "ok $n - $h: $execs executions, seed 1, no crash, leak, hang or sanitizer report"
            grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | sed 's/^/# /'
        } > "$tmp/$n.tap"
        return 0
    fi
    {
        echo "not ok $n - $h: fuzzer exit $rc after ${execs:-?} executions"
        grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$log" | tail -40 | sed 's/^/# /'
        find "$artifacts" -mindepth 1 -maxdepth 1 -printf '# artifact: %f\n'
    } > "$tmp/$n.tap"
    return 1
}
failed=0
session decode "$runs_decode" 4096 1 &
decode=$!
session pipeline "$runs_pipeline" 16384 2 || failed=1
wait "$decode" || failed=1
session merge "$runs_merge" 65536 4 &
merge=$!
session pcapng "$runs_pcapng" 16384 3 || failed=1
wait "$merge" || failed=1
cat "$tmp"/1.tap "$tmp"/2.tap "$tmp"/3.tap "$tmp"/4.tap
echo "1..4"
[ "$failed" -eq 0 ]
