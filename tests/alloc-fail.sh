#!/bin/bash
# Out of memory at every allocation: tests/tcplens-failalloc (tcplens with
# tests/failalloc.c linked in) counts the allocations of a few sample runs,
# then each run is repeated once for every N from 1 to that count with the
# N-th allocation failing, and for a sample of N with every allocation
# from the N-th on failing. Each time:
#   - no crash, and no AddressSanitizer, UndefinedBehaviorSanitizer or
#     LeakSanitizer report (the sanitized build checks for leaks at exit);
#   - exit 2 with exactly one line on stderr, "tcplens: ... out of memory";
#   - or exit 0, and then stderr, stdout and the report file are exactly
#     those of the run without failures: a failure tcplens works around
#     (a smaller buffer, a connection left unpacked) must change nothing,
#     and one it cannot work around must not pass for success.
# In a build without sanitizers, valgrind checks a sample of N for leaks and
# memory errors (skipped without valgrind). Prints TAP.
set -u
export TZ=UTC LC_ALL=C
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${BUILDDIR:-.}
prog=$builddir/tests/tcplens-failalloc
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
[ -x "$prog" ] || skip "tests/tcplens-failalloc not built"
[ -f "$srcdir/samples/demo.pcap" ] || skip "samples missing"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-oom.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
# LeakSanitizer checks at exit; a status of its own (86) keeps a sanitizer
# report apart from tcplens's 1 and 2 even before stderr is read.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:exitcode=86"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1"
sanitized=false
grep -q __asan_init "$prog" && sanitized=true

n=0 failed=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
flunk() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }

# Sample runs: the text report with the JSON document; the NDJSON stream
# with full timelines and host-level anomalies; nine inputs (more than
# jansson's first array holds) merged under a filter, with eviction at
# --max-flows; SYN retries, stalled data and port reuse.
s=$srcdir/samples k=$srcdir/tests/netns/kernel
runs=(
    "-r $s/demo.pcap --json @OUT@"
    "-r $k/backlog_full.pcap --ndjson=@OUT@ --timeline full"
    "$s/refused.pcap $s/normal.pcap $s/close_wait.pcap $s/linger0.pcap $s/rst_unread.pcap
     $s/ipv6.pcap $s/port_reuse.pcap $s/normal-sll2.pcap $s/normal.pcapng
     --max-flows 1 --json @OUT@ tcp and not port 9"
    "-r $k/syn_dropped.pcap -r $k/blackhole.pcap -r $k/port_reuse.pcap --anomalies-only --json @OUT@"
)

# run NAME SPEC: runs the current sample with TL_FAIL_ALLOC=SPEC; leaves
# rc and $tmp/NAME.{out,json,err,count}.
run() {
    local name=$1
    local argv=("${args[@]//@OUT@/$tmp/$name.json}")
    rm -f "$tmp/$name.json"
    TL_FAIL_ALLOC=$2 TL_FAIL_ALLOC_COUNT=$tmp/$name.count \
        "${wrapper[@]}" "$prog" "${argv[@]}" > "$tmp/$name.out" 2> "$tmp/$name.err"
    rc=$?
}

# check NAME: why the run just made as NAME is wrong, or nothing.
# $tmp/ref.* hold the run without failures.
check() {
    local err=$tmp/$1.err
    if grep -qE 'Sanitizer|runtime error:|^==[0-9]+==' "$err"; then
        echo "memory checker report: $(grep -m1 -E 'ERROR|runtime error|SUMMARY|lost|Invalid' "$err")"
    elif [ "$rc" -eq 0 ]; then
        cmp -s "$err" "$tmp/ref.err" || { echo "exit 0 but stderr: $(head -c 200 "$err")"; return; }
        cmp -s "$tmp/$1.out" "$tmp/ref.out" || { echo "exit 0 but stdout differs"; return; }
        cmp -s "$tmp/$1.json" "$tmp/ref.json" || echo "exit 0 but the report file differs"
    elif [ "$rc" -ne 2 ]; then
        echo "exit $rc: $(head -c 300 "$err" | tr '\n' '|')"
    elif [ "$(wc -l < "$err")" -ne 1 ] || ! grep -qE '^tcplens: .*out of memory' "$err"; then
        echo "exit 2 but stderr is not one 'tcplens: ... out of memory' line: $(head -c 300 "$err" | tr '\n' '|')"
    fi
}

# try LABEL SPECS...: runs the current sample with each spec, shared out
# among $jobs workers; one TAP line.
try() {
    local label=$1 j
    shift
    local specs=("$@")
    for ((j = 0; j < jobs; j++)); do
        (
            for ((i = j; i < ${#specs[@]}; i += jobs)); do
                run "w$j" "${specs[$i]}"
                why=$(check "w$j")
                [ -z "$why" ] || echo "$i TL_FAIL_ALLOC=${specs[$i]}: $why" >> "$tmp/w$j.bad"
                echo "$i"
            done > "$tmp/w$j.done"
        ) &
    done
    wait
    local bad made
    bad=$(sort -n "$tmp"/w*.bad 2> /dev/null | cut -d' ' -f2-)
    made=$(cat "$tmp"/w*.done | wc -l)
    rm -f "$tmp"/w*.bad "$tmp"/w*.done
    if [ "$made" -ne $# ]; then
        flunk "$label: only $made of $# runs made"
    elif [ -z "$bad" ]; then
        pass "$label: $# runs"
    else
        flunk "$label: $(printf '%s\n' "$bad" | wc -l) of $# runs wrong"
        printf '%s\n' "$bad" | head -10 | sed 's/^/# /'
    fi
}

# Two workers: the runs are independent, and most of their time is the
# sanitizer's start-up.
jobs=2
wrapper=()
total_allocs=0
for i in "${!runs[@]}"; do
    read -r -d "" -a args <<< "${runs[$i]}"
    what="run $((i + 1)) ($(echo ${runs[$i]//$srcdir\//}))"
    run ref 0
    total=$(cat "$tmp/ref.count" 2> /dev/null || echo 0)
    if [ "$rc" -ne 0 ] || [ -s "$tmp/ref.err" ] || [ ! -s "$tmp/ref.json" ] || [ "$total" -lt 10 ]; then
        flunk "$what: the run without failures: exit $rc, $total allocations"
        sed 's/^/# /' "$tmp/ref.err"
        continue
    fi
    total_allocs=$((total_allocs + total))
    # The count is right if failing allocation total + 1 changes nothing,
    # and injection works if failing the first one does.
    try "$what: $total allocations counted, one more fails none" "$((total + 1))"
    run first 1
    if [ "$rc" -eq 2 ]; then
        pass "$what: the first allocation failing ends in exit 2"
    else
        flunk "$what: the first allocation failing gave exit $rc"
    fi
    try "$what: allocation N fails, every N in 1..$total" $(seq 1 "$total")
    # From N on: the error paths themselves get no memory. Every N up to
    # 20, then every 10th, and the last.
    try "$what: every allocation from N on fails" \
        $(for m in $(seq 1 "$total"); do
              if [ "$m" -le 20 ] || [ $((m % 10)) -eq 0 ] || [ "$m" -eq "$total" ]; then
                  echo "$m-"
              fi
          done)
    if ! $sanitized; then
        if ! command -v valgrind > /dev/null 2>&1; then
            echo "ok $((n += 1)) - $what: valgrind # SKIP valgrind not installed"
            continue
        fi
        wrapper=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect
                 --show-leak-kinds=definite,indirect --error-exitcode=86)
        step=$((total / 5 + 1))
        try "$what: under valgrind, N = 1, every ${step}th and from $((total / 2)) on" \
            1 $(seq "$step" "$step" "$total") "$((total / 2))-"
        wrapper=()
    fi
done
echo "# $total_allocs allocations in all sample runs"
echo "1..$n"
[ "$failed" -eq 0 ]
