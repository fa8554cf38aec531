#!/bin/bash
# Bad input: each case must give a one-line error naming the file, the
# documented exit status, no crash, and (where anything was read) the report
# of everything read before the fault. Prints TAP.
set -u
export TZ=UTC LC_ALL=C
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-$srcdir/tcplens}
good=$srcdir/samples/normal.pcap
[ -x "$tcplens" ] || { echo "1..0 # SKIP tcplens not built"; exit 0; }
[ -f "$good" ] || { echo "1..0 # SKIP $good missing"; exit 0; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-bad.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
flunk() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; [ -f "$tmp/err" ] && sed 's/^/# stderr: /' "$tmp/err"; }
expect() { if eval "$2"; then pass "$1"; else flunk "$1"; fi; }

run() { # args... ; sets rc, leaves $tmp/out $tmp/err $tmp/report.json
    rm -f "$tmp/report.json"
    "$tcplens" "$@" --json "$tmp/report.json" > "$tmp/out" 2> "$tmp/err"
    rc=$?
}

# Little-endian pcap global header with the given link type.
pcap_header() { # linktype
    printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00'
    printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $(($1 >> 8)))\\x00\\x00"
}
# One record holding a 42-byte ARP request.
arp_record() {
    printf '\x00\x00\x00\x60\x00\x00\x00\x00\x2a\x00\x00\x00\x2a\x00\x00\x00'
    printf '\xff\xff\xff\xff\xff\xff\x02\x00\x00\x00\x00\x01\x08\x06'
    printf '\x00\x01\x08\x00\x06\x04\x00\x01\x02\x00\x00\x00\x00\x01\x0a\x00\x00\x01'
    printf '\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x02'
}

one_line() { [ "$(wc -l < "$tmp/err")" -eq 1 ]; }
mentions() { grep -qF -- "$1" "$tmp/err"; }

# 1. Missing file.
run -r "$tmp/nope.pcap"
expect "missing file: exit 2" '[ $rc -eq 2 ]'
expect "missing file: one line naming it" 'one_line && mentions "$tmp/nope.pcap" && mentions "No such file"'
expect "missing file: report still written" 'grep -q "\"error\"" "$tmp/report.json"'

# 2. Not a capture.
echo "this is not a capture file, just text" > "$tmp/text.pcap"
run "$tmp/text.pcap"
expect "not a capture: exit 2" '[ $rc -eq 2 ]'
expect "not a capture: one line naming it" 'one_line && mentions "$tmp/text.pcap"'

# 3. Zero-length file.
: > "$tmp/empty.pcap"
run -r "$tmp/empty.pcap"
expect "zero-length: exit 2" '[ $rc -eq 2 ]'
expect "zero-length: one line naming it" 'one_line && mentions "$tmp/empty.pcap"'

# 4. Truncated capture, cut in the middle of a record: the packets before
#    the cut are reported, the cut is named, the run is not a failure.
size=$(stat -c %s "$good")
head -c $((size - 7)) "$good" > "$tmp/cut.pcap"
run -r "$tmp/cut.pcap"
full=$("$tcplens" -r "$good" --json - 2>/dev/null | grep -c '"id":')
expect "truncated: exit 0" '[ $rc -eq 0 ]'
expect "truncated: one line naming file and cut" 'one_line && mentions "$tmp/cut.pcap" && mentions "truncated"'
expect "truncated: connections before the cut reported" '[ "$(grep -c "\"id\":" "$tmp/report.json")" -eq "$full" ]'
expect "truncated: input error in the JSON report" 'grep -q "\"error\": \".*truncated" "$tmp/report.json"'

# 5. Truncated inside the file header.
head -c 10 "$good" > "$tmp/hdr.pcap"
run -r "$tmp/hdr.pcap"
expect "cut file header: exit 2" '[ $rc -eq 2 ]'
expect "cut file header: one line naming it" 'one_line && mentions "$tmp/hdr.pcap"'

# 6. A capture with no TCP: not an error, but said.
{ pcap_header 1; arp_record; } > "$tmp/arp.pcap"
run -r "$tmp/arp.pcap"
expect "no TCP: exit 0" '[ $rc -eq 0 ]'
expect "no TCP: said on stderr" 'one_line && mentions "no TCP"'
expect "no TCP: counted as non_tcp" 'grep -q "\"non_tcp\": 1" "$tmp/report.json"'

# 7. Unsupported link type (105, IEEE 802.11).
{ pcap_header 105; arp_record; } > "$tmp/wifi.pcap"
run -r "$tmp/wifi.pcap"
expect "unsupported link type: exit 2" '[ $rc -eq 2 ]'
expect "unsupported link type: one line naming it" 'one_line && mentions "$tmp/wifi.pcap" && mentions "unsupported link type 105"'

# 8. One bad input among good ones: the good one is still analysed.
run -r "$good" -r "$tmp/nope.pcap"
expect "mixed inputs: exit 2" '[ $rc -eq 2 ]'
expect "mixed inputs: good file still reported" '[ "$(grep -c "\"id\":" "$tmp/report.json")" -eq "$full" ]'

# 9. Usage errors.
"$tcplens" > "$tmp/out" 2> "$tmp/err"; rc=$?
expect "no input: exit 2 with a message" '[ $rc -eq 2 ] && mentions "no capture file"'
"$tcplens" -r "$good" "tcp and and" > "$tmp/out" 2> "$tmp/err"; rc=$?
expect "bad filter: exit 2 with a message" '[ $rc -eq 2 ] && mentions "bad filter expression"'
"$tcplens" -r "$good" --max-flows nope > "$tmp/out" 2> "$tmp/err"; rc=$?
expect "bad option value: exit 2" '[ $rc -eq 2 ] && mentions "--max-flows"'

# 10. Live capture on an interface that does not exist (or without the
#     right to capture): one line naming it, exit 2.
"$tcplens" -i tl-nodev0 --duration 1s > "$tmp/out" 2> "$tmp/err"; rc=$?
expect "missing interface: exit 2 with a line naming it" '[ $rc -eq 2 ] && one_line && mentions "tl-nodev0"'
"$tcplens" -i lo -r "$good" > "$tmp/out" 2> "$tmp/err"; rc=$?
expect "-i with -r: usage error" '[ $rc -eq 2 ] && mentions "cannot be used together"'

# 11. stdin.
"$tcplens" -r - --json "$tmp/report.json" < "$good" > "$tmp/out" 2> "$tmp/err"; rc=$?
expect "stdin: same connections as the file" '[ $rc -eq 0 ] && [ "$(grep -c "\"id\":" "$tmp/report.json")" -eq "$full" ]'

echo "1..$n"
[ "$fail" -eq 0 ]
