#!/bin/bash
# Every state path in every report the suite produces is legal: the goldens
# (tests/cases/*/expected.json and expected.ndjson) and tcplens --timeline
# full on every capture in samples/ and tests/netns/kernel/. The legal steps
# are the table of "Legal transitions" in docs/state-machine.md;
# tests/legal_paths.py reads it, walks each endpoint's path and prints TAP,
# one point per report, naming every illegal step (connection, endpoint,
# FROM->TO, packet).
# Env: TCPLENS (the binary), SRCDIR (the source tree).
set -u
export TZ=UTC LC_ALL=C
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-$srcdir/tcplens}
skip() { echo "1..0 # SKIP $1"; exit "${TL_SKIP_STATUS:-77}"; }

command -v python3 > /dev/null 2>&1 || skip "python3 not found"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-legal.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
manifest=$tmp/manifest
: > "$manifest"
to=()
command -v timeout > /dev/null 2>&1 && to=(timeout 60)

shopt -s nullglob
for f in "$srcdir"/tests/cases/*/expected.json "$srcdir"/tests/cases/*/expected.ndjson; do
    printf '%s\t%s\n' "${f#"$srcdir"/}" "$f" >> "$manifest"
done

n=0
for f in "$srcdir"/samples/*.pcap "$srcdir"/samples/*.pcapng "$srcdir"/tests/netns/kernel/*.pcap; do
    cap=${f#"$srcdir"/}
    label="$cap --timeline full"
    if [ ! -x "$tcplens" ]; then
        printf '%s\t-\tSKIP tcplens not built (%s)\n' "$label" "$tcplens" >> "$manifest"
        continue
    fi
    n=$((n + 1))
    out=$tmp/$n.json
    "${to[@]}" "$tcplens" -r "$f" --timeline full --json "$out" > /dev/null 2> "$tmp/$n.err"
    rc=$?
    if [ $rc -ne 0 ]; then
        printf '%s\t-\ttcplens exit %s: %s\n' "$label" "$rc" "$(head -c 200 "$tmp/$n.err" | tr '\t\n' '  ')" >> "$manifest"
    else
        printf '%s\t%s\n' "$label" "$out" >> "$manifest"
    fi
done

python3 "$srcdir/tests/legal_paths.py" --doc "$srcdir/docs/state-machine.md" --tap --self-test --manifest "$manifest"
