#!/bin/bash
# When the capture ended (capture.end): --capture-end as a duration after
# the last packet, as a UTC time and as seconds since 1970 give the same
# end and the same report; the timers run to it (a SYN attempt still open
# at the last packet is given up by then); an end before the last packet
# changes nothing; a malformed value is one usage error. Prints TAP.
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
cap=$srcdir/tests/netns/kernel/syn_blackhole_default.pcap
[ -f "$cap" ] || skip "no $cap"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
check() { # check NAME STATUS [DIAGNOSTIC]
    n=$((n + 1))
    if [ "$2" -eq 0 ]; then
        echo "ok $n - $1"
    else
        echo "not ok $n - $1"
        [ -z "${3:-}" ] || printf '%s\n' "$3" | sed 's/^/# /'
    fi
}

# field FILE EXPR: a Python expression on the report d.
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

"$tcplens" -r "$cap" -c 5 --json "$tmp/last.json" >/dev/null 2>&1
last=$(field "$tmp/last.json" "d['capture']['last_ts']")
check "without --capture-end: the last packet" \
    "$([ "$(field "$tmp/last.json" "d['capture']['end']['source']")" = last_packet ]; echo $?)"
check "without --capture-end: the attempt is still open at the last packet" \
    "$([ "$(field "$tmp/last.json" "d['connections'][0]['states_at_end']['client']")" = SYN_SENT ]; echo $?)"

"$tcplens" -r "$cap" -c 5 --capture-end +120s --json "$tmp/rel.json" >/dev/null 2>&1
check "--capture-end +120s: source option, 120 s after the last packet" \
    "$(field "$tmp/rel.json" "int(d['capture']['end']['source'] == 'option' and abs(d['capture']['end']['ts'] - $last - 120) < 1e-6) - 1" | sed 's/-//')"
check "--capture-end +120s: the SYN retries were given up by then" \
    "$([ "$(field "$tmp/rel.json" "d['connections'][0]['states_at_end']['client'] + ' ' + d['connections'][0]['end']")" = "CLOSED timeout" ]; echo $?)"

epoch=$(python3 -c "print('%.6f' % ($last + 120))")
iso=$(python3 -c "import datetime; t=$last+120; print(datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ'))")
"$tcplens" -r "$cap" -c 5 --capture-end "$epoch" --json "$tmp/epoch.json" >/dev/null 2>&1
"$tcplens" -r "$cap" -c 5 --capture-end "$iso" --json "$tmp/iso.json" >/dev/null 2>&1
check "--capture-end as seconds since 1970 ($epoch) = +120s" \
    "$(cmp -s "$tmp/rel.json" "$tmp/epoch.json"; echo $?)"
check "--capture-end as UTC ($iso) = +120s" "$(cmp -s "$tmp/rel.json" "$tmp/iso.json"; echo $?)"

early=$(python3 -c "print('%.6f' % ($last - 1))")
"$tcplens" -r "$cap" -c 5 --capture-end "$early" --json "$tmp/early.json" >/dev/null 2>&1
check "an end before the last packet changes nothing" "$(cmp -s "$tmp/last.json" "$tmp/early.json"; echo $?)"

for bad in +x 2023-13-01T00:00:00Z 12:00 abc +-5s 2023-11-14T22:13:20.Z; do
    err=$("$tcplens" -r "$cap" --capture-end "$bad" 2>&1 >/dev/null)
    rc=$?
    check "--capture-end '$bad': usage error, status 2, named" \
        "$([ "$rc" -eq 2 ] && printf '%s\n' "$err" | head -1 | grep -q "bad --capture-end '$bad'"; echo $?)" "$err"
done

text=$("$tcplens" -r "$cap" -c 5 --capture-end +120s 2>&1)
check "the text report says when the capture ended and why" \
    "$(printf '%s\n' "$text" | grep -q '^end .*120.000000 s after the last packet (--capture-end)$'; echo $?)" "$text"
echo "1..$n"
