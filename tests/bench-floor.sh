#!/bin/bash
# bench/flow_loop.c, the floor bench/run.sh measures beside tcplens, must
# read what tcplens reads: built with this build's library, it must count
# the same frames and the same TCP segments as tcplens's report on every
# sample capture, and account for every connection it opened (ended +
# still open); its two tables (tcplens's, and --open's) must agree on
# every count and on the checksum of the states they wrote. Prints TAP.
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${BUILDDIR:-.}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
floor_bin=$builddir/bench/flow_loop
[ -x "$floor_bin" ] || skip "bench/flow_loop not built (make check builds it)"
tcplens=${TCPLENS:-$builddir/tcplens}
[ -x "$tcplens" ] || skip "tcplens not built"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-floor.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

caps=()
for f in "$srcdir"/samples/*.pcap "$srcdir"/samples/*.pcapng; do
    [ -f "$f" ] && caps+=("$f")
done
[ ${#caps[@]} -gt 0 ] || skip "no sample captures"
echo "1..${#caps[@]}"
n=0 bad=0
for f in "${caps[@]}"; do
    n=$((n + 1))
    name=${f#"$srcdir"/}
    floor=$("$floor_bin" "$f" 2>"$tmp/err") || {
        echo "not ok $n - $name: flow_loop failed"
        sed 's/^/# /' "$tmp/err"
        bad=$((bad + 1))
        continue
    }
    open=$("$floor_bin" --open "$f" 2>"$tmp/err.open") || open="(failed)"
    why=$("$tcplens" -r "$f" --json - 2>"$tmp/err" | python3 -c '
import json, sys
floor = dict(zip(*[iter(sys.argv[1].split())] * 2))
opened = sys.argv[2]
cap = json.load(sys.stdin)["capture"]
why = []
if int(floor["packets"]) != cap["packets"]:
    why.append("packets %s, tcplens %d" % (floor["packets"], cap["packets"]))
if int(floor["segments"]) != cap["tcp_packets"]:
    why.append("segments %s, tcplens %d" % (floor["segments"], cap["tcp_packets"]))
if int(floor["ended"]) + int(floor["open"]) != int(floor["connections"]):
    why.append("ended %s + open %s != connections %s"
               % (floor["ended"], floor["open"], floor["connections"]))
if int(floor["segments"]) > 0 and int(floor["connections"]) == 0:
    why.append("segments but no connection")
if opened != sys.argv[1]:
    why.append("--open gave: " + opened)
print("; ".join(why) or "same")
' "$floor" "$open")
    if [ "$why" = same ]; then
        echo "ok $n - $name: $floor"
    else
        echo "not ok $n - $name: ${why:-tcplens or python failed}"
        cat "$tmp/err" "$tmp/err.open" | sed 's/^/# /'
        bad=$((bad + 1))
    fi
done
[ "$bad" -eq 0 ]
