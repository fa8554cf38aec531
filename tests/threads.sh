#!/bin/bash
# --threads 2 runs the detectors, host-level detection and the reports on
# a second thread (src/handoff.c); the output and the exit status must be
# those of --threads 1, byte for byte: the text report, the
# JSON document, NDJSON with every segment and the HTML page, written by
# one run each, for every capture of the tree and ../shared, and for a SYN
# flood of 20,000 connections held behind one long session (the queue
# fills, the thread works while the engine does, the ordering stage
# spills); and a failed write stops both the same way. Prints TAP.
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${BUILDDIR:-.}
tcplens=${TCPLENS:-./tcplens}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
[ -x "$tcplens" ] || skip "tcplens not built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-threads.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        failed=$((failed + 1))
    fi
}

# run T DIR FILE ARGS...: every output of one run with --threads T in DIR
run() {
    local t=$1 d=$2 f=$3
    shift 3
    mkdir -p "$d"
    "$tcplens" --threads "$t" -r "$f" "$@" --json "$d/json" --ndjson="$d/ndjson" \
        --html "$d/html" > "$d/text" 2> "$d/err"
    echo $? > "$d/rc"
}

# same FILE ARGS...: 0 when both thread counts give the same outputs
same() {
    rm -rf "$tmp/1" "$tmp/2"
    run 1 "$tmp/1" "$@"
    run 2 "$tmp/2" "$@"
    diff -r "$tmp/1" "$tmp/2" > "$tmp/diff" 2>&1
}

files=()
for d in "$srcdir/samples" "$srcdir/tests/netns/kernel" "$srcdir/../shared/real-captures" \
    "$srcdir/../shared/conformance"; do
    [ -d "$d" ] || continue
    while IFS= read -r f; do files+=("$f"); done < <(find "$d" -type f \
        \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' -o -name '*.pcap.gz' \) | sort)
done
# --fail-on: the exit status carries the worst severity the thread saw.
for mode in "--fail-on warning" "--timeline full" "--anomalies-only"; do
    bad=0
    for f in "${files[@]}"; do
        # shellcheck disable=SC2086  # the options split into words
        if ! same "$f" $mode; then
            bad=$((bad + 1))
            [ "$bad" -le 3 ] && echo "# differs: $f $mode" && sed 's/^/#   /' "$tmp/diff" | head -5
        fi
    done
    ok "$bad" "${#files[@]} captures: --threads 2 writes what --threads 1 writes ($mode)"
done

flood=$builddir/tests/flood
if [ -x "$flood" ]; then
    "$flood" -o "$tmp/flood.pcap" syn 20000 7
    same "$tmp/flood.pcap"
    ok $? "a 20,000-connection SYN flood behind one session: the same outputs"
    lines=$(grep -c '^{"record":"connection",' "$tmp/2/ndjson")
    [ "$lines" -eq 20001 ]
    ok $? "... and every connection is in the threaded NDJSON ($lines connection lines)"
    # A write that fails on the thread fails that output as on one: exit
    # 2, the same message, naming the file and the system's reason.
    if [ -w /dev/full ]; then
        for t in 1 2; do
            "$tcplens" --threads $t -r "$tmp/flood.pcap" --ndjson=/dev/full > /dev/null \
                2> "$tmp/full.$t"
            echo "exit $?" >> "$tmp/full.$t"
        done
        grep -qx "tcplens: /dev/full: No space left on device" "$tmp/full.2" &&
            grep -q "^exit 2$" "$tmp/full.2" && [ "$(wc -l < "$tmp/full.2")" -eq 2 ] &&
            cmp -s "$tmp/full.1" "$tmp/full.2"
        ok $? "NDJSON to /dev/full: exit 2 and one message, the same with either count"
    fi
else
    echo "# tests/flood not built: the flood is not compared"
fi

"$tcplens" --threads 3 -r "$srcdir/samples/demo.pcap" > /dev/null 2> "$tmp/err"
rc=$?
[ "$rc" -eq 2 ] && grep -q "bad --threads '3'" "$tmp/err"
ok $? "--threads 3 is a usage error (exit $rc)"

echo "1..$n"
[ "$failed" -eq 0 ]
