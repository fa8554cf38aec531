#!/bin/bash
# tcplens merge: the NDJSON of N --shard K/N runs, given in any order,
# merges into exactly the NDJSON of one unsharded run, byte for byte:
# connections (ids in first-seen order, port_reuse's previous_id renamed),
# host-level anomalies, services, client hosts and the summary, each
# counted again from the records; with --json, into its JSON document. A
# missing, repeated or foreign shard is an error (exit 2) that names it.
# Inputs: every kernel capture and sample (N = 1, 2, 7), bench/gen's
# synthetic traffic (20,000 connections; N = 2, 7; a million, N = 7, run
# once), where ../shared is every real capture (N = 3), and
# docs/scale-out.md's GNU parallel recipe as written; shards' JSON
# documents, alone and mixed with NDJSON. Prints TAP.
. "$(dirname "$0")/lib.sh"
[ -x "$tcplens" ] || skip "tcplens not built ($tcplens)"
tl_tmp merge

# norm: a run's or a merge's NDJSON as compared. Past the 1,024 services
# or client hosts a table keeps, a run keeps the first whose connections
# ended, the merge the first seen: then those records, and the summary's
# count of what the tables left out, are not compared (records says which
# kinds are).
norm() {
    if [ "$capped" = 0 ]; then
        cat
    else
        grep -v -E '^\{"record":"(service|host)"' |
            sed 's/,"services_untracked":{[^}]*}//'
    fi
}

# merged NAME SHARDS FILE...: 0 when the shards' merge equals the run's
# NDJSON (records: what was compared) and, below the tables' caps, its
# text report and HTML page (merge --text, --html); the shards are merged
# last to first.
merged() {
    local name=$1 count=$2 k
    shift 2
    local ins=()
    for f in "$@"; do ins+=(-r "$f"); done
    "$tcplens" "${ins[@]}" --ndjson="$tmp/run" --html "$tmp/run.html" 2>/dev/null >"$tmp/run.txt" || true
    capped=0 records='every record, the text report and the HTML page'
    grep -q '"services_connections":0,"hosts_connections":0' "$tmp/run" ||
        { capped=1 records='all but service and host records'; }
    norm <"$tmp/run" >"$tmp/want"
    local shards=() reports=()
    for ((k = count; k >= 1; k--)); do
        # An input that cannot be read still gives its NDJSON (exit 2).
        "$tcplens" "${ins[@]}" --ndjson --shard "$k/$count" >"$tmp/s$k" 2>/dev/null
        shards+=("$tmp/s$k")
    done
    rm -f "$tmp/got.txt" "$tmp/got.html"
    [ "$capped" = 0 ] && reports=(--text "$tmp/got.txt" --html "$tmp/got.html")
    "$tcplens" merge --ndjson - "${reports[@]}" "${shards[@]}" 2>"$tmp/err" | norm >"$tmp/got"
    [ "${PIPESTATUS[0]}" -eq 0 ] && cmp -s "$tmp/want" "$tmp/got" &&
        { [ "$capped" = 1 ] || { cmp -s "$tmp/run.txt" "$tmp/got.txt" && cmp -s "$tmp/run.html" "$tmp/got.html"; }; }
}

caps=("$srcdir"/tests/netns/kernel/*.pcap "$srcdir"/samples/*.pcap)
for c in 1 2 7; do
    bad=0 total=0
    for f in "${caps[@]}"; do
        total=$((total + 1))
        merged "$(basename "$f")" "$c" "$f" || { bad=$((bad + 1)); echo "# differs: $f ($c shards)"; }
    done
    ok "$bad" "kernel captures and samples, $c shards: merge = one run's NDJSON, text report and HTML page ($((total - bad)) of $total)"
done
# The report options a merge takes (--anomalies-only, --top, --all) as a
# run takes them: NDJSON, text report and HTML page, 2 shards.
for opts in "--anomalies-only --top 3" "--all"; do
    bad=0 total=0
    for f in "${caps[@]}"; do
        total=$((total + 1))
        # shellcheck disable=SC2086
        "$tcplens" -r "$f" $opts --ndjson="$tmp/o.nd" --html "$tmp/o.html" >"$tmp/o.txt" 2>/dev/null
        for k in 1 2; do "$tcplens" -r "$f" --shard "$k/2" --ndjson >"$tmp/o$k" 2>/dev/null; done
        # shellcheck disable=SC2086
        "$tcplens" merge $opts --ndjson "$tmp/m.nd" --text "$tmp/m.txt" --html "$tmp/m.html" \
            "$tmp/o2" "$tmp/o1" 2>/dev/null &&
            cmp -s "$tmp/o.nd" "$tmp/m.nd" && cmp -s "$tmp/o.txt" "$tmp/m.txt" &&
            cmp -s "$tmp/o.html" "$tmp/m.html" ||
            { bad=$((bad + 1)); echo "# differs: $f ($opts)"; }
    done
    ok "$bad" "kernel captures and samples, merge $opts = one run's NDJSON, text and HTML ($((total - bad)) of $total)"
done

# The shards' JSON documents (--json) merge alike, alone or mixed with
# NDJSON, into the NDJSON or (merge --json) the document of one run.
bad=0 total=0
for f in "${caps[@]}"; do
    total=$((total + 1))
    "$tcplens" -r "$f" --ndjson >"$tmp/want" 2>/dev/null
    "$tcplens" -r "$f" --json "$tmp/wantdoc" >/dev/null 2>&1
    "$tcplens" -r "$f" --shard 1/2 --json "$tmp/j1" >/dev/null 2>&1
    "$tcplens" -r "$f" --shard 2/2 --json "$tmp/j2" >/dev/null 2>&1
    "$tcplens" -r "$f" --shard 2/2 --ndjson >"$tmp/n2" 2>/dev/null
    { "$tcplens" merge "$tmp/j2" "$tmp/j1" 2>/dev/null | cmp -s "$tmp/want" - &&
        "$tcplens" merge "$tmp/j1" "$tmp/n2" 2>/dev/null | cmp -s "$tmp/want" - &&
        "$tcplens" merge --json - "$tmp/n2" "$tmp/j1" 2>/dev/null | cmp -s "$tmp/wantdoc" -; } ||
        { bad=$((bad + 1)); echo "# differs: $f (JSON documents)"; }
done
ok "$bad" "kernel captures and samples, 2 shards as JSON documents, and mixed with NDJSON: merge = one run's NDJSON, merge --json = its document ($((total - bad)) of $total)"
"$tcplens" -r "$srcdir/samples/demo.pcap" --shard 1/2 --json "$tmp/j1" >/dev/null 2>&1
"$tcplens" -r "$srcdir/samples/demo.pcap" --shard 2/2 --json "$tmp/j2" >/dev/null 2>&1
head -n 20 "$tmp/j1" >"$tmp/jcut"
"$tcplens" merge "$tmp/jcut" "$tmp/j2" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "jcut:20: not a tcplens JSON document" "$tmp/err"
ok $? "a JSON document cut in its head: exit 2, named ($(head -1 "$tmp/err"))"
sed '$d' "$tmp/j1" | sed '$d' >"$tmp/jcut"
"$tcplens" merge "$tmp/jcut" "$tmp/j2" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "jcut:.*ends inside its connections" "$tmp/err"
ok $? "a JSON document cut in its connections: exit 2, named ($(head -1 "$tmp/err"))"

merged all 7 "${caps[@]}"
ok $? "every kernel capture and sample in one run, 7 shards: merge = one run ($records)"
grep -q 'port_reuse' "$tmp/got" && grep -q '"previous_id"' "$tmp/got"
ok $? "the merged run holds port_reuse, its previous_id renamed"
for t in syn_scan accept_queue_overflow time_wait_pressure; do
    grep -q "^{\"record\":\"host_anomaly\",\"type\":\"$t\"" "$tmp/got"
    ok $? "the merged run holds the host-level $t, found again across 7 shards"
done
grep -q '"peak_connections":[1-9]' "$tmp/got" && grep -q '"released_packet":' "$tmp/got"
ok $? "the merged summary's peak_connections, counted from released_packet, is the run's"

if command -v "${CC:-cc}" >/dev/null 2>&1 &&
    "${CC:-cc}" -O1 -o "$tmp/gen" "$srcdir/bench/gen.c" "$srcdir/bench/gen_tcp.c" 2>/dev/null &&
    "$tmp/gen" -q -o "$tmp/g.pcap" -c 20000 -n 200000 -C 1000 -s header-only; then
    for c in 2 7; do
        merged gen "$c" "$tmp/g.pcap"
        ok $? "bench/gen, 20,000 connections, $c shards: merge = one run ($(wc -l <"$tmp/want") lines: $records; more client hosts than a table keeps)"
    done
else
    echo "# bench/gen did not build or run: synthetic traffic left out"
fi

# A million connections, 7 shards (slow: run once, in the plain build).
# bench/gen keeps connections open for the whole capture, so more than
# 65,536 that ended wait for an older one: a run then writes them out of
# first-seen order (order.h), and so does each shard, its own way, and
# host-level detection takes those connections out of order too. The
# connection and service records are compared as sets of lines, the
# summary but for what that order changes (connections_out_of_order, the
# host-level counts and evicted host aggregates) and for what the client
# hosts table, past its cap, left out (services_untracked).
if [ "${TL_SLOW_TESTS:-run}" = run ] && [ -x "$tmp/gen" ] &&
    "$tmp/gen" -q -o "$tmp/m.pcap" -c 1000000 -n 10000000 -C 1000 -s header-only; then
    # Each side's lines as a multiset of digests (no 3 GB sorted on disk),
    # then its summary, as compared.
    digests() {
        python3 -c '
import collections, hashlib, json, sys
host = ("syn_scan", "accept_queue_overflow", "time_wait_pressure")
c = collections.Counter()
summary = None
for l in sys.stdin.buffer:
    if l.startswith((b"{\"record\":\"connection\"", b"{\"record\":\"service\"")):
        c[hashlib.blake2b(l, digest_size=16).digest()] += 1
    elif l.startswith(b"{\"record\":\"summary\""):
        summary = json.loads(l)
        summary["capture"]["evicted"].pop("hosts", None)
        summary["summary"].pop("connections_out_of_order", None)
        summary.pop("services_untracked", None)  # more client hosts than a table keeps
        for t in host:
            summary["summary"]["anomalies"].pop(t, None)
print(len(c), sum(c.values()), hashlib.sha256(b"".join(sorted(k + str(v).encode() for k, v in c.items()))).hexdigest())
print(json.dumps(summary, sort_keys=True))'
    }
    "$tcplens" "$tmp/m.pcap" --threads 1 --ndjson | digests >"$tmp/want"
    ms=()
    # Two shards at a time (CI's two cores), as a scheduler would run them.
    for k in 1 2 3 4 5 6 7; do
        "$tcplens" "$tmp/m.pcap" --threads 1 --ndjson --shard "$k/7" >"$tmp/m$k" &
        ms+=("$tmp/m$k")
        ((k % 2 == 0)) && wait
    done
    wait
    "$tcplens" merge "${ms[@]}" 2>/dev/null | digests >"$tmp/got"
    rm -f "${ms[@]}"
    [ "$(head -1 "$tmp/want" | cut -d' ' -f2)" -gt 990000 ] && grep -q '"peak_connections": [1-9]' "$tmp/want" &&
        cmp -s "$tmp/want" "$tmp/got"
    ok $? "bench/gen, $(head -1 "$tmp/want" | cut -d' ' -f2) connection and service records, 7 shards: merge = one run (as sets of lines; the summary, peak_connections included)"
    rm -f "$tmp/m.pcap"
else
    echo "# the 1M-connection merge: slow test, run once in another build (TL_SLOW_TESTS=skip)"
fi

# Every real capture, 3 shards, NDJSON, text and HTML: the slow part, run
# once, in the plain build.
real=$srcdir/../shared/real-captures
if [ "${TL_SLOW_TESTS:-run}" != run ]; then
    echo "# the real captures' merge: slow test, run once in another build (TL_SLOW_TESTS=skip)"
elif [ -d "$real" ]; then
    bad=0 total=0
    for f in "$real"/*.pcap "$real"/*.pcapng "$real"/*.cap; do
        [ -f "$f" ] || continue
        total=$((total + 1))
        merged "$(basename "$f")" 3 "$f" || { bad=$((bad + 1)); echo "# differs: $f"; }
    done
    ok "$bad" "real captures, 3 shards: merge = one run's NDJSON, text report and HTML page ($((total - bad)) of $total)"
else
    echo "# ../shared/real-captures not found: real captures left out"
fi

# docs/scale-out.md's GNU parallel recipe, as written there, on bench/gen's
# capture (or the demo sample) standing for big.pcap.
if command -v parallel >/dev/null 2>&1; then
    mkdir -p "$tmp/recipe/bin" && ln -s "$tcplens" "$tmp/recipe/bin/tcplens"
    big=$tmp/g.pcap
    [ -f "$big" ] || big=$srcdir/samples/demo.pcap
    ln -s "$big" "$tmp/recipe/big.pcap"
    awk '/^## Recipe: GNU parallel/ { on = 1 } on && /^```sh$/ { inb = 1; next }
         inb && /^```$/ { exit } inb { print }' "$srcdir/docs/scale-out.md" >"$tmp/recipe/run.sh"
    (cd "$tmp/recipe" && PATH=$tmp/recipe/bin:$PATH bash -e run.sh 2>"$tmp/recipe/err")
    st=$?
    (cd "$tmp/recipe" && "$tcplens" big.pcap --ndjson) |
        grep -E '^\{"record":"(connection|service|host_anomaly|summary)"' |
        sed 's/,"services_untracked":{[^}]*}//' >"$tmp/want"
    [ "$st" -eq 0 ] && [ -s "$tmp/recipe/run.sh" ] && [ "$(ls "$tmp/recipe"/shard-*.ndjson | wc -l)" -eq 8 ] &&
        grep -E '^\{"record":"(connection|service|host_anomaly|summary)"' "$tmp/recipe/connections.ndjson" |
        sed 's/,"services_untracked":{[^}]*}//' | cmp -s "$tmp/want" -
    ok $? "docs/scale-out.md's GNU parallel recipe: 8 shards merged = one run ($(wc -l <"$tmp/want") records but the client hosts')"
else
    echo "ok $((n = n + 1)) # SKIP GNU parallel not installed: docs/scale-out.md's recipe not run"
fi

# The shard set: all of 1..N, once, over the same inputs.
f=$srcdir/samples/demo.pcap
for k in 1 2 3; do "$tcplens" -r "$f" --ndjson --shard "$k/3" >"$tmp/d$k"; done
"$tcplens" merge "$tmp/d1" "$tmp/d3" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "2 of 3 shards given; missing: 2/3" "$tmp/err"
ok $? "a missing shard: exit 2, named ($(head -1 "$tmp/err"))"
"$tcplens" merge "$tmp/d1" "$tmp/d2" "$tmp/d2" "$tmp/d3" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "both hold a connection first seen in packet\|are both shard 2/3" "$tmp/err"
ok $? "a shard twice: exit 2 ($(head -1 "$tmp/err"))"
"$tcplens" -r "$srcdir/samples/refused.pcap" --ndjson --shard 2/3 >"$tmp/other"
"$tcplens" merge "$tmp/d1" "$tmp/other" "$tmp/d3" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "read different inputs\|shards given of the unit of" "$tmp/err"
ok $? "a shard of other inputs: exit 2 ($(head -1 "$tmp/err"))"
"$tcplens" -r "$f" --ndjson >"$tmp/plain"
"$tcplens" merge "$tmp/plain" "$tmp/d2" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "is shard 2/3, .* is of 1\|both hold a connection" "$tmp/err"
ok $? "an unsharded run (1/1) with a shard of 3: exit 2 ($(head -1 "$tmp/err"))"
"$tcplens" -r "$f" --ndjson --shard 2/3 'port 8080' >"$tmp/d2f"
"$tcplens" merge "$tmp/d1" "$tmp/d2f" "$tmp/d3" >"$tmp/got" 2>"$tmp/err"
[ $? -eq 2 ] && [ ! -s "$tmp/got" ] && grep -q "read their inputs differently" "$tmp/err"
ok $? "a shard run with another filter: exit 2 before writing ($(head -1 "$tmp/err"))"
"$tcplens" -r "$f" --ndjson --anomalies-only --shard 2/3 >"$tmp/d2a"
"$tcplens" merge "$tmp/d1" "$tmp/d2a" "$tmp/d3" >"$tmp/got" 2>"$tmp/err"
[ $? -eq 2 ] && [ ! -s "$tmp/got" ] && grep -q "d2a:.*lists only some of its connections" "$tmp/err"
ok $? "a shard run with --anomalies-only: exit 2 before writing ($(head -1 "$tmp/err"))"
head -c 300 "$tmp/d1" >"$tmp/cut"
"$tcplens" merge "$tmp/cut" "$tmp/d2" "$tmp/d3" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "$tmp/cut:1:" "$tmp/err"
ok $? "a cut shard: exit 2, file and line named ($(head -1 "$tmp/err"))"
cat "$tmp/d2" | "$tcplens" merge "$tmp/d3" - "$tmp/d1" >"$tmp/got" 2>/dev/null &&
    "$tcplens" -r "$f" --ndjson | cmp -s - "$tmp/got"
ok $? "a shard on standard input ('-'), any order"
"$tcplens" merge "$tmp/nope" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "nope: No such file or directory" "$tmp/err"
ok $? "a missing file: exit 2, named"

tl_done
