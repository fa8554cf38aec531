#!/bin/bash
# Runs the saved fuzz corpus (tests/fuzz/corpus/) through the harnesses,
# built with a replay main() by whatever compiler built the tree; under
# --enable-sanitizers any report fails the run. Prints TAP.
set -u
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${BUILDDIR:-.}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
for h in decode pipeline pcapng merge merge_view; do
    [ -x "$builddir/tests/fuzz/replay_$h" ] || skip "tests/fuzz/replay_$h not built"
done
n=0 failed=0
for h in decode pipeline pcapng merge merge_view; do
    out=$("$builddir/tests/fuzz/replay_$h" "$srcdir/tests/fuzz/corpus/$h" 2>&1)
    rc=$?
    count=$(printf '%s\n' "$out" | grep -c '^ok ')
    n=$((n + 1))
    if [ "$rc" -eq 0 ] && [ "$count" -gt 0 ]; then
        echo "ok $n - $h harness: $count corpus inputs, no crash, no sanitizer report"
    else
        echo "not ok $n - $h harness (exit $rc, $count inputs)"
        printf '%s\n' "$out" | tail -20 | sed 's/^/# /'
        failed=$((failed + 1))
    fi
done
echo "1..$n"
[ "$failed" -eq 0 ]
