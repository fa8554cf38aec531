#!/bin/bash
# Compressed captures (src/decompress.c): every sample and a few kernel
# captures, compressed at test time with gzip, zstd, lz4 and xz, give the
# JSON report of the uncompressed file byte for byte (its name aside),
# named and on stdin; so do captures split in two and compressed as two
# concatenated members, frames or streams. A .gz cut short ends with the
# exit status of a pcap cut at the same decoded byte, one line on stderr
# saying it was cut, and the report of the frames before the cut; a
# compressed magic followed by garbage, or a .gz corrupted in the middle,
# gives one line on stderr, no crash and no hang. Prints TAP; skips when a
# compression tool (gzip, zstd, lz4, xz) or python3 is missing.
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
[ -x "$tcplens" ] || skip "tcplens not built"
for tool in gzip zstd lz4 xz python3 timeout; do
    command -v "$tool" > /dev/null || skip "$tool not installed"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-compressed.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
result() { # result STATUS NAME [DIAGNOSTIC FILE]
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        failed=$((failed + 1))
        [ -n "${3:-}" ] && [ -f "$3" ] && head -20 "$3" | sed 's/^/# /'
    fi
}

compress() { # compress FORMAT < plain > compressed
    case $1 in
    gz) gzip -c ;;
    zst) zstd -q -c ;;
    lz4) lz4 -q -c ;;
    xz) xz -c ;;
    esac
}

# report NAME-IN-REPORT OUT ARGS...: the JSON report on stdout, with the
# input's name replaced, and the exit status appended.
report() {
    local name=$1 out=$2
    shift 2
    "$tcplens" --json - "$@" 2> "$out.err" | sed "s|\"source\": \"$name\"|\"source\": \"IN\"|" > "$out"
    echo "exit ${PIPESTATUS[0]}" >> "$out"
}

# A format this tcplens was built without: its cases are skipped.
built() { # built FORMAT
    printf 'x' | compress "$1" > "$tmp/probe.$1"
    ! "$tcplens" "$tmp/probe.$1" 2>&1 | grep -q "built without"
}

formats=""
for z in gz zst lz4 xz; do
    if built "$z"; then
        formats="$formats $z"
    else
        n=$((n + 1))
        echo "ok $n # SKIP this tcplens was built without $z"
    fi
done

captures=("$srcdir"/samples/*.pcap "$srcdir"/samples/*.pcapng)
for k in lossy tw_pressure vlan_split icmp6_port_unreach; do
    [ -f "$srcdir/tests/netns/kernel/$k.pcap" ] && captures+=("$srcdir/tests/netns/kernel/$k.pcap")
done

# 1. Every capture, in every format, named and on stdin.
for f in "${captures[@]}"; do
    base=$(basename "$f")
    report "$f" "$tmp/want" "$f"
    for z in $formats; do
        c=$tmp/$base.$z
        compress "$z" < "$f" > "$c"
        report "$c" "$tmp/got" "$c"
        cmp -s "$tmp/want" "$tmp/got"
        result $? "$base.$z: the report of $base" "$tmp/got.err"
        report "-" "$tmp/got" - < "$c"
        cmp -s "$tmp/want" "$tmp/got"
        result $? "$base.$z on stdin: the report of $base" "$tmp/got.err"
    done
done

# 2. Two members (frames, streams) one after the other, the capture cut
# between them at an odd byte.
for f in "$srcdir/samples/demo.pcap" "$srcdir/samples/normal.pcapng"; do
    base=$(basename "$f")
    size=$(stat -c %s "$f")
    report "$f" "$tmp/want" "$f"
    for z in $formats; do
        c=$tmp/two-$base.$z
        { head -c $((size / 2 + 1)) "$f" | compress "$z"; tail -c +$((size / 2 + 2)) "$f" | compress "$z"; } > "$c"
        report "$c" "$tmp/got" "$c"
        cmp -s "$tmp/want" "$tmp/got"
        result $? "$base in two concatenated $z members: the report of $base" "$tmp/got.err"
    done
done

# 3. A .gz cut in the middle against the pcap cut at the same decoded
# byte (python's zlib decodes what can be decoded, as tcplens's does).
f=$srcdir/tests/netns/kernel/lossy.pcap
[ -f "$f" ] || f=$srcdir/samples/demo.pcap
gzip -c < "$f" > "$tmp/full.gz"
head -c $(($(stat -c %s "$tmp/full.gz") / 2)) "$tmp/full.gz" > "$tmp/cut.gz"
python3 -c 'import sys, zlib
d = zlib.decompressobj(31)
sys.stdout.buffer.write(d.decompress(open(sys.argv[1], "rb").read()))' "$tmp/cut.gz" > "$tmp/cut.pcap"
report "$tmp/cut.pcap" "$tmp/want" "$tmp/cut.pcap"
report "$tmp/cut.gz" "$tmp/got" "$tmp/cut.gz"
wc=$(wc -l < "$tmp/got.err")
[ "$wc" -eq 1 ] && grep -q "cut.gz: read error after packet [1-9][0-9]*: gzip data truncated" "$tmp/got.err"
result $? "cut .gz: one line on stderr, the packets before the cut, 'gzip data truncated'" "$tmp/got.err"
[ "$(tail -1 "$tmp/want")" = "$(tail -1 "$tmp/got")" ] && grep -q truncated "$tmp/want.err"
result $? "cut .gz: the exit status of the pcap cut at the same byte ($(tail -1 "$tmp/got"))" "$tmp/want.err"
# The reports differ only in the error's wording.
grep -v '"error":' "$tmp/want" > "$tmp/want.noerr"
grep -v '"error":' "$tmp/got" > "$tmp/got.noerr"
cmp -s "$tmp/want.noerr" "$tmp/got.noerr" && grep -q '"error": ".*truncated' "$tmp/got"
result $? "cut .gz: the report of the pcap cut at the same byte, and its error" "$tmp/got"

# 4. A compressed magic and garbage (bytes of a capture), a .gz corrupted
# in its middle: one line, no crash, no hang.
garbage=$srcdir/samples/demo.pcap
for magic in '\x1f\x8b\x08' '\x28\xb5\x2f\xfd' '\x04\x22\x4d\x18' '\xfd\x37\x7a\x58\x5a\x00'; do
    { printf '%b' "$magic"; cat "$garbage"; } > "$tmp/garbage"
    timeout 20 "$tcplens" "$tmp/garbage" > /dev/null 2> "$tmp/err"
    rc=$?
    [ "$rc" -eq 2 ] && [ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -q "garbage: .*\(corrupt\|truncated\|built without\)" "$tmp/err"
    result $? "magic $magic and garbage: exit 2 (got $rc), one line" "$tmp/err"
done
gzip -c < "$srcdir/tests/netns/kernel/lossy.pcap" > "$tmp/bad.gz" 2> /dev/null ||
    gzip -c < "$srcdir/samples/demo.pcap" > "$tmp/bad.gz"
size=$(stat -c %s "$tmp/bad.gz")
printf '\xff\xff\xff\xff\xff\xff\xff\xff' | dd of="$tmp/bad.gz" bs=1 seek=$((size / 2)) conv=notrunc 2> /dev/null
timeout 20 "$tcplens" "$tmp/bad.gz" > /dev/null 2> "$tmp/err"
rc=$?
[ "$rc" -lt 3 ] && [ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -q "bad.gz: .*gzip data corrupt" "$tmp/err"
result $? "a .gz corrupted in its middle: one line (exit $rc)" "$tmp/err"

echo "1..$n"
[ "$failed" -eq 0 ]
