#!/bin/bash
# Each connection record read back into a whole view (src/merge_view.c)
# and written again is the same line, byte for byte (tests/merge-view.c):
# every sample, kernel, tunnel and fuzz-corpus capture, and the golden
# cases' own arguments, as run by default, with --timeline full (every
# segment) and with --timeline-max 3 (entries dropped); every record of
# the samples and kernel captures also cut short and changed, refused or
# read, never a crash. Then, where ../shared is, its real captures and
# conformance traces (skipped, exit 77, when it is not). Fails when a line
# differs or is not read, and when no line at all was compared. Prints TAP.
. "$(dirname "$0")/lib.sh"
tcplens=${TCPLENS:-$builddir/tcplens}
prog=$builddir/tests/merge-view
[ -x "$tcplens" ] || skip "tcplens not built ($tcplens)"
[ -x "$prog" ] || skip "tests/merge-view not built"
tcplens=$(cd "$(dirname "$tcplens")" && pwd)/${tcplens##*/}
tl_tmp mview

# check SET [--garbage] -- FILE...: each file in each mode; one TAP line
# for the set, with its figures.
check() {
    local set=$1 garbage=
    shift
    [ "$1" = --garbage ] && { garbage=--garbage; shift; }
    shift
    : > "$tmp/$set.log"
    local f mode
    for f in "$@"; do
        for mode in "" "--timeline full" "--timeline-max 3"; do
            # shellcheck disable=SC2086
            "$tcplens" -r "$f" --ndjson $mode 2> /dev/null > "$tmp/run.ndjson"
            grep -q '^{"record":"connection"' "$tmp/run.ndjson" || continue
            "$prog" $garbage --name "${f##*/} ${mode:-default}" < "$tmp/run.ndjson" \
                >> "$tmp/$set.log" 2>&1
            echo "status $?" >> "$tmp/$set.log"
        done
    done
    summarize "$set"
}

# summarize SET: the set's figures from its log; ok when every line came
# back and there was one.
summarize() {
    local log=$tmp/$1.log
    local figures
    figures=$(awk '/ compared, / { c += $(NF-5); s += $(NF-3); u += $(NF-1) }
        END { printf "%d %d %d", c, s, u }' "$log")
    read -r compared same unread <<< "$figures"
    grep '^#' "$log" | head -20
    local st=0
    [ "$compared" -gt 0 ] && [ "$same" -eq "$compared" ] && [ "$unread" -eq 0 ] || st=1
    grep -q '^status [^0]' "$log" && st=1
    ok "$st" "$1: $compared connection records compared, $same identical, $unread unread"
}

mapfile -t samples < <(find "$srcdir/samples" -type f -name '*.pcap*' | sort)
mapfile -t kernel < <(find "$srcdir/tests/netns/kernel" -type f -name '*.pcap*' | sort)
mapfile -t others < <(find "$srcdir/tests/tunnels" "$srcdir/tests/fuzz/corpus/pipeline" \
    -type f | sort)
check samples --garbage -- "${samples[@]}"
check kernel --garbage -- "${kernel[@]}"
check tunnels-fuzz -- "${others[@]}"

# The golden cases' own arguments (VLAN keys, filters, options), NDJSON.
: > "$tmp/cases.log"
for args in "$srcdir"/tests/cases/*/args; do
    name=${args%/args}
    name=${name##*/}
    (cd "$srcdir" && eval "\"$tcplens\" $(cat "$args") --ndjson") 2> /dev/null \
        > "$tmp/run.ndjson"
    grep -q '^{"record":"connection"' "$tmp/run.ndjson" || continue
    "$prog" --name "case $name" < "$tmp/run.ndjson" >> "$tmp/cases.log" 2>&1
    echo "status $?" >> "$tmp/cases.log"
done
summarize cases

# The real captures and conformance traces (221 files, three modes) are
# the slow part: run once, in the plain build (TL_SLOW_TESTS=skip skips
# them where the same code runs under the sanitizers).
shared=${TL_SHARED:-$srcdir/../shared}
if [ "${TL_SLOW_TESTS:-run}" != run ]; then
    n=$((n + 1))
    echo "ok $n - real captures # SKIP slow test, run once in another build (TL_SLOW_TESTS=skip)"
elif [ -d "$shared/real-captures" ]; then
    for set in real-captures conformance; do
        mapfile -t real < <(find "$shared/$set" -type f \( -name '*.pcap' -o -name '*.pcapng' \
            -o -name '*.cap' -o -name '*.trace' \) 2> /dev/null | sort)
        check "$set" -- "${real[@]}"
    done
else
    n=$((n + 1))
    echo "ok $n - real captures # SKIP no $shared/real-captures"
fi

echo "1..$n"
echo "# $((n - failed)) passed, $failed failed"
[ "$n" -gt 0 ] || skip "nothing compared"
[ "$failed" -eq 0 ]
