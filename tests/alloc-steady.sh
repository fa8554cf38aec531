#!/bin/bash
# The per-packet path allocates nothing in a connection's steady state:
# tests/tcplens-failalloc counts every allocation of a run, and one
# connection with 100 request/response rounds must take exactly as many as
# the same connection with 10,000 (tests/steady_gen.py writes both), for
# the text report, the JSON document, NDJSON and the HTML page. One
# allocation per segment, or per data round, would show as thousands more.
# Prints TAP.
set -u
export LC_ALL=C
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${BUILDDIR:-.}
prog=$builddir/tests/tcplens-failalloc
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
[ -x "$prog" ] || skip "tests/tcplens-failalloc not built"
command -v python3 > /dev/null || skip "python3 not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-steady.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
python3 "$srcdir/tests/steady_gen.py" "$tmp/short.pcap" 100 &&
    python3 "$srcdir/tests/steady_gen.py" "$tmp/long.pcap" 10000 ||
    { echo "1..1"; echo "not ok 1 - steady_gen.py writes the captures"; exit 1; }

# count FILE ARGS...: allocations of one run, or "failed"
count() {
    local f=$1
    shift
    rm -f "$tmp/count"
    TL_FAIL_ALLOC=0 TL_FAIL_ALLOC_COUNT=$tmp/count "$prog" -r "$f" "$@" > /dev/null 2>&1 ||
        { echo failed; return; }
    cat "$tmp/count" 2> /dev/null || echo failed
}

n=0 failed=0
for args in "" "--json @DIR@/out.json" "--ndjson" "--html @DIR@/out.html" "--anomalies-only --json -"; do
    label=${args//@DIR@\//}
    args=${args//@DIR@/$tmp}
    # shellcheck disable=SC2086  # the options split into words
    short=$(count "$tmp/short.pcap" $args)
    # shellcheck disable=SC2086
    long=$(count "$tmp/long.pcap" $args)
    n=$((n + 1))
    if [[ $short =~ ^[0-9]+$ && $short -gt 0 && $short == "$long" ]]; then
        echo "ok $n - ${label:-text report}: $short allocations for 100 rounds and for 10,000"
    else
        failed=$((failed + 1))
        echo "not ok $n - ${label:-text report}: $short allocations for 100 rounds, $long for 10,000"
    fi
done
echo "1..$n"
[ "$failed" -eq 0 ]
