#!/bin/bash
# The text report does not grow with the capture: on synthetic captures of
# 2,000 and 20,000 connections with many anomalies (bench/gen, built and
# run here, the same traffic mix), the default report stays bounded and
# the bigger capture adds no more than a few lines: each type's biggest
# group with a line of explanation and one of suggestion, the worst 20 a
# line each and one of each kind in detail; --top N details N connections;
# --all prints every connection's row; --anomalies-only lists each group
# once and explains each type once. On a million connections (slow: run
# once) the default report stays under 200 lines. Prints TAP.
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
[ -x "$tcplens" ] || skip "tcplens not built ($tcplens)"
command -v "${CC:-cc}" >/dev/null 2>&1 || skip "no C compiler to build the generator"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-scale.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
"${CC:-cc}" -O1 -o "$tmp/gen" "$srcdir/bench/gen.c" "$srcdir/bench/gen_tcp.c" 2>"$tmp/cc.err" ||
    skip "the generator did not build: $(head -1 "$tmp/cc.err")"
mix=refused=20,close_wait=10,rst=10,syn_timeout=5
for c in 2000 20000; do
    "$tmp/gen" -q -o "$tmp/c$c.pcap" -c "$c" -n "$((c * 10))" -C 1000 --special 0 --mix "$mix" \
        -s header-only || skip "the generator failed"
done

n=0 failed=0
ok() { # ok COND-STATUS DESCRIPTION
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
lines() { wc -l <"$1" | tr -d ' '; }

"$tcplens" "$tmp/c2000.pcap" >"$tmp/small.txt"
"$tcplens" "$tmp/c20000.pcap" >"$tmp/big.txt"
small=$(lines "$tmp/small.txt") big=$(lines "$tmp/big.txt")
conns=$(sed -n 's/^connections \([0-9]*\):.*/\1/p' "$tmp/big.txt")
ok "$([ "${conns:-0}" -gt 19000 ] && echo 0 || echo 1)" "20k capture: $conns connections"
ok "$([ "$big" -lt 160 ] && echo 0 || echo 1)" "default report of $conns connections: $big lines (< 160)"
ok "$([ $((big - small)) -le 10 ] && echo 0 || echo 1)" \
    "ten times the connections, at most 10 more lines ($small -> $big)"
grep -q "their table is left out (--all prints it" "$tmp/big.txt"
ok $? "default: no per-connection table"
# The worst 20 a line each (id, ends, end, states, their warnings and
# errors), then one detail per kind (set of types) among them.
brief='^ +[0-9]+  [^ ]+ -> [^ ]+ +[a-z]+ +[A-Z_0-9]+/[A-Z_0-9]+ +[a-z_,]+$'
listed=$(sed -n '/^the 20 worst of /,/^$/p' "$tmp/big.txt" | grep -cE "$brief")
ok "$([ "$listed" -eq 20 ] && echo 0 || echo 1)" "default: the 20 worst listed a line each ($listed)"
kinds=$(sed -n '/^the 20 worst of /,/^$/p' "$tmp/big.txt" | grep -E "$brief" | awk '{print $NF}' |
    sort -u | wc -l)
details=$(grep -c '^connection [0-9]' "$tmp/big.txt")
ok "$([ "$details" -eq "$kinds" ] && [ "$kinds" -ge 2 ] && echo 0 || echo 1)" \
    "default: one detail per kind among them ($details for $kinds kinds)"
first=$(sed -n '/^the 20 worst of /,/^$/p' "$tmp/big.txt" | grep -E "$brief" | head -1 | awk '{print $1}')
grep -q "^connection $first " "$tmp/big.txt"
ok $? "default: the worst ($first) is detailed"
types=$(grep -cE '^(error|warning) +[a-z_]+  [0-9]+ connection' "$tmp/big.txt")
why=$(grep -c '^  why  ' "$tmp/big.txt") fix=$(grep -c '^  fix  ' "$tmp/big.txt")
ok "$([ "$types" -ge 4 ] && [ "$why" -eq "$types" ] && [ "$fix" -eq "$types" ] && echo 0 || echo 1)" \
    "default: each of the $types types explained once in a line, with its fix ($why, $fix)"
cmds=$(grep -c "^      tcplens .* --all --anomalies-only " "$tmp/big.txt")
ok "$([ "$cmds" -eq "$types" ] && echo 0 || echo 1)" "default: one command per type's biggest group ($cmds)"

"$tcplens" "$tmp/c20000.pcap" --top 20 >"$tmp/top20.txt"
details=$(grep -c '^connection [0-9]' "$tmp/top20.txt")
ok "$([ "$details" -eq 20 ] && echo 0 || echo 1)" "--top 20: twenty detailed ($details)"

"$tcplens" "$tmp/c20000.pcap" --top 5 >"$tmp/top.txt"
details=$(grep -c '^connection [0-9]' "$tmp/top.txt")
ok "$([ "$details" -eq 5 ] && grep -q '^the 5 worst of ' "$tmp/top.txt" && echo 0 || echo 1)" \
    "--top 5: five detailed ($details)"
ok "$([ "$(lines "$tmp/top.txt")" -lt 250 ] && echo 0 || echo 1)" \
    "--top 5: $(lines "$tmp/top.txt") lines (< 250)"

"$tcplens" "$tmp/c20000.pcap" --all >"$tmp/all.txt"
rows=$(grep -cE '^ *[0-9]+  (\[[0-9a-f:]+\]|[0-9.]+):[0-9]+ ' "$tmp/all.txt")
ok "$([ "$rows" -eq "$conns" ] && echo 0 || echo 1)" "--all: a row for every connection ($rows of $conns)"
warned=$(sed -n 's/^\([0-9]*\) connections with a warning or an error, worst first$/\1/p' "$tmp/all.txt")
details=$(grep -c '^connection [0-9]' "$tmp/all.txt")
ok "$([ -n "$warned" ] && [ "$details" -eq "$warned" ] && echo 0 || echo 1)" \
    "--all: a detail for every one with a warning or an error ($details of ${warned:-?})"

"$tcplens" "$tmp/c20000.pcap" --anomalies-only >"$tmp/ao.txt"
groups=$(sed -n 's/^anomaly groups  \([0-9]*\):.*/\1/p' "$tmp/ao.txt")
# Each group: its service line (service, count, span, e.g.), under its type.
svc='^  (\[[0-9a-f:]+\]|[0-9.]+)(:[0-9]+)? +[0-9]+  [0-9]'
listed=$(grep -cE "$svc" "$tmp/ao.txt")
ok "$([ -n "$groups" ] && [ "$listed" -eq "$groups" ] && echo 0 || echo 1)" \
    "--anomalies-only: every group listed ($listed of ${groups:-?})"
dups=$(awk -v svc="$svc" '/^(error|warning) / { t = $2 } $0 ~ svc { print t, $1 }' "$tmp/ao.txt" |
    sort | uniq -d | wc -l)
ok "$([ "$dups" -eq 0 ] && echo 0 || echo 1)" "--anomalies-only: each group once ($dups repeated)"
expl=$(grep -c '^  explanation  ' "$tmp/ao.txt")
ok "$([ "$expl" -eq "$types" ] && echo 0 || echo 1)" \
    "--anomalies-only: each type explained once ($expl for $types types)"
ok "$([ "$(lines "$tmp/ao.txt")" -lt $((3 * groups + 300)) ] && echo 0 || echo 1)" \
    "--anomalies-only: $(lines "$tmp/ao.txt") lines for $groups groups"

# A million connections (bench/gen's own traffic mix, every anomaly type):
# the default report stays about two screens. Slow under the sanitizers:
# run once, in the plain build.
if [ "${TL_SLOW_TESTS:-run}" = run ]; then
    if "$tmp/gen" -q -o "$tmp/m.pcap" -c 1000000 -n 10000000 -C 1000 -s header-only; then
        "$tcplens" "$tmp/m.pcap" >"$tmp/m.txt"
        ml=$(lines "$tmp/m.txt")
        mconns=$(sed -n 's/^connections \([0-9]*\):.*/\1/p' "$tmp/m.txt")
        ok "$([ "${mconns:-0}" -gt 990000 ] && [ "$ml" -lt 200 ] && echo 0 || echo 1)" \
            "default report of ${mconns:-?} connections: $ml lines (< 200)"
        mt=$(grep -cE '^(error|warning) +[a-z_]+  [0-9]+ connection' "$tmp/m.txt")
        ok "$([ "$mt" -ge 10 ] && echo 0 || echo 1)" "1M: $mt types grouped"
        rm -f "$tmp/m.pcap"
    else
        ok 1 "the generator made the 1M-connection capture"
    fi
else
    echo "# the 1M-connection report: slow test, run once in another build (TL_SLOW_TESTS=skip)"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
