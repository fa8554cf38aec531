#!/bin/bash
# The benchmark generator must keep making every connection-level anomaly
# tcplens knows (bench/check-gen.sh reads the registry): a benchmark on
# traffic without them would measure less than users run. Prints TAP.
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${BUILDDIR:-.}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
command -v "${CC:-cc}" >/dev/null 2>&1 || skip "no C compiler to build the generator"
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
tcplens=$(cd "$(dirname "${TCPLENS:-./tcplens}")" && pwd)/$(basename "${TCPLENS:-./tcplens}")
out=$(BENCH_BUILD="$builddir/bench-build" TCPLENS="$tcplens" "$srcdir/bench/check-gen.sh" 2>&1)
rc=$?
echo "1..1"
if [ "$rc" -eq 0 ]; then
    echo "ok 1 - the generator makes every connection-level anomaly"
else
    echo "not ok 1 - the generator makes every connection-level anomaly"
    printf '%s\n' "$out" | sed 's/^/# /'
    exit 1
fi
