#!/bin/bash
# tcplens merge of units in time (docs/scale-out.md "Units in time"): a
# capture cut into rotated files, one run per file that follows its
# connections into the files after its own (--follow), merges into one
# run's NDJSON, text report and HTML page over all the files, byte for
# byte. Every kernel capture and sample is cut into two files at three
# points (at its middle alone where TL_SLOW_TESTS=skip: the sanitizer
# builds) and into three files (editcap -r), and where ../shared is,
# every real capture in two at its middle. Also: units run without --follow
# (the cut connections written in two parts, and counted), units that
# overlap in time (each kept as it is), a unit run twice. Prints TAP.
. "$(dirname "$0")/lib.sh"
[ -x "$tcplens" ] || skip "tcplens not built ($tcplens)"
command -v editcap >/dev/null && command -v capinfos >/dev/null ||
    skip "editcap or capinfos (Wireshark's tools) not installed"
tl_tmp mtime

frames() { capinfos -M -c -T -r "$1" 2>/dev/null | awk -F'\t' '{print $2}'; }

# cut FILE FRAMES AT...: FILE's frames in files $tmp/p1.pcap… cut before
# each frame number AT (rising); prints how many files.
cut_file() {
    local f=$1 total=$2 from=1 i=1 at
    shift 2
    rm -f "$tmp"/p*.pcap
    for at in "$@" $((total + 1)); do
        editcap -r -F pcap "$f" "$tmp/p$i.pcap" "$from-$((at - 1))" 2>/dev/null || return 1
        from=$at i=$((i + 1))
    done
    echo $((i - 1))
}

# units K [FOLLOW]: the K files' run (want: NDJSON, text, HTML) and each
# file's unit (following the files after its own unless FOLLOW is
# "nofollow"), merged last to first into got.
units() {
    local k=$1 follow=${2:-follow} i j ins=() shards=()
    for ((i = 1; i <= k; i++)); do ins+=(-r "$tmp/p$i.pcap"); done
    "$tcplens" "${ins[@]}" --ndjson="$tmp/want" --html "$tmp/want.html" >"$tmp/want.txt" 2>/dev/null
    for ((i = k; i >= 1; i--)); do
        local more=()
        if [ "$follow" = follow ]; then
            for ((j = i + 1; j <= k; j++)); do more+=(--follow "$tmp/p$j.pcap"); done
        fi
        "$tcplens" -r "$tmp/p$i.pcap" "${more[@]}" --ndjson >"$tmp/u$i" 2>/dev/null
        shards+=("$tmp/u$i")
    done
    "$tcplens" merge --ndjson "$tmp/got" --text "$tmp/got.txt" --html "$tmp/got.html" \
        "${shards[@]}" 2>"$tmp/err"
}

# apart K: 0 when the K files come one after another in time (the
# earliest frame of each no earlier than the latest of the one before), as
# rotated files do; a capture whose clock steps back makes files that
# overlap, which are not units in time.
apart() {
    local i last=
    for ((i = 1; i <= $1; i++)); do
        read -r first end < <(capinfos -M -a -e -S -T -r "$tmp/p$i.pcap" | awk -F'\t' '{print $2, $3}')
        [ -z "$last" ] || awk -v a="$last" -v b="$first" 'BEGIN{exit !(a <= b)}' || return 1
        last=$end
    done
}

same() {
    cmp -s "$tmp/want" "$tmp/got" && cmp -s "$tmp/want.txt" "$tmp/got.txt" &&
        cmp -s "$tmp/want.html" "$tmp/got.html"
}

caps=("$srcdir"/tests/netns/kernel/*.pcap "$srcdir"/samples/*.pcap)
for parts in 2 3; do
    bad=0 total=0
    for f in "${caps[@]}"; do
        t=$(frames "$f")
        [ "${t:-0}" -ge 4 ] || continue
        if [ "$parts" = 2 ] && [ "${TL_SLOW_TESTS:-run}" != run ]; then
            cuts=("$((t / 2 + 1))") # the sanitizer builds: one cut of three
        elif [ "$parts" = 2 ]; then
            cuts=("$((t / 3 + 1))" "$((t / 2 + 1))" "$((2 * t / 3 + 1))")
        else
            cuts=("$((t / 3 + 1)) $((2 * t / 3 + 1))")
        fi
        for c in "${cuts[@]}"; do
            # shellcheck disable=SC2086
            k=$(cut_file "$f" "$t" $c) || { bad=$((bad + 1)); echo "# cannot cut: $f"; continue; }
            apart "$k" || { echo "# not in time order: $f cut before $c"; continue; }
            total=$((total + 1))
            units "$k" && same || { bad=$((bad + 1)); echo "# differs: $f cut before $c"; }
        done
    done
    ok "$bad" "kernel captures and samples in $parts files, units with --follow: merge = one run over the files (NDJSON, text, HTML; $((total - bad)) of $total cuts)"
done

# A connection cut between two units run without --follow: written in two
# parts, and said.
f=$srcdir/samples/demo.pcap
k=$(cut_file "$f" "$(frames "$f")" 26) && units "$k" nofollow
st=$?
[ "$st" -eq 0 ] && grep -q "1 connection(s) open at the end of one unit go on in a later one" "$tmp/err" &&
    [ "$(grep -c '"record":"connection"' "$tmp/got")" -eq $(($(grep -c '"record":"connection"' "$tmp/want") + 1)) ]
ok $? "units without --follow: the connection cut between them in two records, counted on stderr ($(head -1 "$tmp/err"))"
units "$k" follow && same && [ ! -s "$tmp/err" ]
ok $? "the same units with --follow: one record, nothing said"

# Units that are each a shard set: two files, two shards each, merged in
# any order; a shard of one unit missing is named.
"$tcplens" -r "$tmp/p1.pcap" -r "$tmp/p2.pcap" --ndjson >"$tmp/want" 2>/dev/null
for s in 1 2; do
    "$tcplens" -r "$tmp/p1.pcap" --follow "$tmp/p2.pcap" --shard "$s/2" --ndjson >"$tmp/a$s" 2>/dev/null
    "$tcplens" -r "$tmp/p2.pcap" --shard "$s/2" --ndjson >"$tmp/b$s" 2>/dev/null
done
"$tcplens" merge "$tmp/b2" "$tmp/a1" "$tmp/b1" "$tmp/a2" 2>/dev/null | cmp -s "$tmp/want" -
ok $? "two units of two shards each: merge = one run over both files"
"$tcplens" merge "$tmp/b2" "$tmp/a1" "$tmp/b1" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "1 of 2 shards given of the unit of .*a1; missing: 2/2" "$tmp/err"
ok $? "a unit's shard missing: exit 2, named ($(head -1 "$tmp/err"))"

# The packet numbers a later unit's records quote move by the frames of
# the units before: its explanations' too.
grep -q '"packets":\[3[0-9]' "$tmp/got" && grep -q 'packet 3[0-9]' "$tmp/got"
ok $? "a later unit's packet numbers and explanations numbered after the earlier unit's frames"

# Units that overlap in time (two hosts' captures at the same time): each
# kept as it is, one unit after the other.
a=$srcdir/samples/normal.pcap b=$srcdir/samples/refused.pcap
start=$(capinfos -M -a -S -T -r "$a" | awk -F'\t' '{print $2}')
bstart=$(capinfos -M -a -S -T -r "$b" | awk -F'\t' '{print $2}')
editcap -t "$(awk -v a="$start" -v b="$bstart" 'BEGIN{printf "%.6f", a - b + 0.000001}')" \
    "$b" "$tmp/b.pcap" 2>/dev/null
"$tcplens" -r "$a" --ndjson >"$tmp/ua" 2>/dev/null
"$tcplens" -r "$tmp/b.pcap" --ndjson >"$tmp/ub" 2>/dev/null
"$tcplens" merge "$tmp/ub" "$tmp/ua" >"$tmp/got" 2>"$tmp/err"
st=$?
na=$(grep -c '"record":"connection"' "$tmp/ua") nb=$(grep -c '"record":"connection"' "$tmp/ub")
[ "$st" -eq 0 ] && [ "$(grep -c '"record":"connection"' "$tmp/got")" -eq $((na + nb)) ] &&
    grep -q "\"packets\":$(($(frames "$a") + $(frames "$b")))," "$tmp/got"
ok $? "units that overlap in time: every connection of both ($na + $nb), the frames of both counted"

# The same unit twice is an error: its inputs are read by two units.
"$tcplens" merge "$tmp/ua" "$tmp/ua" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "both hold a connection\|both shard 1/1" "$tmp/err"
ok $? "a unit given twice: exit 2 ($(head -1 "$tmp/err"))"
"$tcplens" -r "$a" -r "$tmp/b.pcap" --ndjson >"$tmp/uab" 2>/dev/null
"$tcplens" merge "$tmp/uab" "$tmp/ub" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "both read" "$tmp/err"
ok $? "units that share an input: exit 2 ($(head -1 "$tmp/err"))"

# docs/scale-out.md's recipe for rotated files with GNU parallel, as
# written there, on the demo sample cut into three files.
if command -v parallel >/dev/null 2>&1; then
    r=$tmp/recipe
    mkdir -p "$r/bin" && ln -s "$tcplens" "$r/bin/tcplens"
    f=$srcdir/samples/demo.pcap
    k=$(cut_file "$f" "$(frames "$f")" 17 34)
    for ((i = 1; i <= k; i++)); do cp "$tmp/p$i.pcap" "$r/trace-$i.pcap"; done
    awk '/^### Recipe: rotated files with GNU parallel/ { on = 1 } on && /^```sh$/ { inb = 1; next }
         inb && /^```$/ { exit } inb { print }' "$srcdir/docs/scale-out.md" | sed 's/\.pcap\.gz/.pcap/' >"$r/run.sh"
    (cd "$r" && PATH=$r/bin:$PATH bash -e run.sh >/dev/null 2>"$r/err")
    st=$?
    (cd "$r" && "$tcplens" -r trace-1.pcap -r trace-2.pcap -r trace-3.pcap --ndjson >want.ndjson 2>/dev/null)
    [ "$st" -eq 0 ] && [ -s "$r/run.sh" ] && [ "$(ls "$r"/unit-*.ndjson | wc -l)" -eq 3 ] &&
        grep -q -- '--follow' "$r/run.sh" && cmp -s "$r/want.ndjson" "$r/connections.ndjson"
    ok $? "docs/scale-out.md's recipe for rotated files (GNU parallel, --follow, merge): one run's NDJSON"
else
    echo "ok $((n = n + 1)) - rotated files recipe # SKIP GNU parallel not installed"
fi

# Every real capture cut in two at its middle (slow: once, in the plain
# build).
real=$srcdir/../shared/real-captures
if [ "${TL_SLOW_TESTS:-run}" != run ]; then
    echo "ok $((n = n + 1)) - real captures # SKIP slow test, run once in another build (TL_SLOW_TESTS=skip)"
elif [ ! -d "$real" ]; then
    echo "ok $((n = n + 1)) - real captures # SKIP ../shared/real-captures not here"
else
    bad=0 total=0 skipped=0
    for f in "$real"/*.pcap "$real"/*.pcapng; do
        [ -f "$f" ] || continue
        t=$(frames "$f")
        [ "${t:-0}" -ge 4 ] || continue
        # editcap cannot write some as pcap (several link types).
        k=$(cut_file "$f" "$t" $((t / 2 + 1))) && apart "$k" ||
            { skipped=$((skipped + 1)); continue; }
        total=$((total + 1))
        units "$k" && same || { bad=$((bad + 1)); echo "# differs: $f cut before $((t / 2 + 1))"; }
    done
    ok "$bad" "real captures in two files, units with --follow: merge = one run over the files ($((total - bad)) of $total; $skipped not cut in time order or not as pcap)"
fi

tl_done
