#!/bin/bash
# Validates real tcplens output against docs/report.schema.json: the JSON
# document and every NDJSON line, for every capture in samples/ and
# tests/netns/kernel/, with the default and the full timeline, with and
# without --anomalies-only, plus a few runs that reach the rarer fields
# (several inputs, an input error, skipped frames, a cut timeline).
# tests/schema_check.py does the validating (jsonschema when importable,
# always its own validator too) and prints TAP.
# Env: TCPLENS (the binary), SRCDIR (the source tree).
set -u
export TZ=UTC LC_ALL=C
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-$srcdir/tcplens}
skip() { echo "1..0 # SKIP $1"; exit "${TL_SKIP_STATUS:-77}"; }

command -v python3 > /dev/null 2>&1 || skip "python3 not found"
[ -x "$tcplens" ] || skip "tcplens not built ($tcplens)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-schema.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
manifest=$tmp/manifest
: > "$manifest"
n=0

# Runs tcplens twice (document, then NDJSON) with the given arguments and
# adds both outputs to the manifest under label.
run() { # label args...
    local label=$1; shift
    n=$((n + 1))
    (cd "$srcdir" && "$tcplens" "$@" --json "$tmp/$n.json") > /dev/null 2> "$tmp/$n.err"
    echo "json $tmp/$n.json $label" >> "$manifest"
    (cd "$srcdir" && "$tcplens" "$@" --ndjson) > "$tmp/$n.ndjson" 2>> "$tmp/$n.err"
    echo "ndjson $tmp/$n.ndjson $label" >> "$manifest"
}

shopt -s nullglob
captures=()
for f in "$srcdir"/samples/*.pcap "$srcdir"/samples/*.pcapng "$srcdir"/tests/netns/kernel/*.pcap; do
    captures+=("${f#"$srcdir"/}")
done
if [ ${#captures[@]} -eq 0 ]; then
    echo "1..1"
    echo "not ok 1 - no captures found under $srcdir/samples or tests/netns/kernel"
    exit 1
fi

for cap in "${captures[@]}"; do
    run "$cap" -r "$cap"
    run "$cap --timeline full" -r "$cap" --timeline full
    run "$cap --anomalies-only" -r "$cap" --anomalies-only
    run "$cap --timeline full --anomalies-only" -r "$cap" --timeline full --anomalies-only
done

# Rarer fields: two inputs; an input that cannot be read ("error"); frames
# that are skipped (skipped_reasons); a timeline cut short
# (timeline_dropped); connections still open (-c).
run "two inputs" -r samples/demo.pcap -r samples/normal.pcap
run "missing input" -r samples/demo.pcap -r "$tmp/no-such-file.pcap"
{
    # Little-endian pcap header (Ethernet), then one ARP request.
    printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00'
    printf '\x01\x00\x00\x00'
    printf '\x00\x00\x00\x60\x00\x00\x00\x00\x2a\x00\x00\x00\x2a\x00\x00\x00'
    printf '\xff\xff\xff\xff\xff\xff\x02\x00\x00\x00\x00\x01\x08\x06'
    printf '\x00\x01\x08\x00\x06\x04\x00\x01\x02\x00\x00\x00\x00\x01\x0a\x00\x00\x01'
    printf '\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x02'
} > "$tmp/arp.pcap"
run "skipped frames" -r samples/demo.pcap -r "$tmp/arp.pcap"
run "--timeline-max 2" -r samples/demo.pcap --timeline full --timeline-max 2
run "-c 25" -r samples/demo.pcap -c 25
run "--shard 2/3" -r samples/demo.pcap --shard 2/3

python3 "$srcdir/tests/schema_check.py" --schema "$srcdir/docs/report.schema.json" \
    --srcdir "$srcdir" --manifest "$manifest"
