#!/bin/bash
# The block reader against libpcap (tests/reader-diff.c) on every capture in
# the tree (samples, golden and kernel captures, the fuzz corpora), on the
# malformed corpus tests/malformed-gen.py writes (cut records, lying
# lengths, odd timestamps: where the block reader must hand over to
# libpcap), and on ../shared's real captures and conformance traces where
# they are there. Prints TAP.
set -u
export LC_ALL=C
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${BUILDDIR:-.}
diffprog=$builddir/tests/reader-diff
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
[ -x "$diffprog" ] || skip "tests/reader-diff not built"
command -v python3 > /dev/null || skip "python3 not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-reader.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
python3 "$srcdir/tests/malformed-gen.py" "$tmp/malformed" > /dev/null 2>&1 ||
    { echo "1..1"; echo "not ok 1 - malformed-gen.py writes its corpus"; exit 1; }

shared=${TL_SHARED:-$srcdir/../shared}
{
    find "$srcdir/samples" "$srcdir/tests" -type f \
        \( -name '*.pcap' -o -name '*.pcapng' -o -path '*/fuzz/corpus/*' \)
    find "$tmp/malformed" -type f ! -name MANIFEST
    [ -d "$shared" ] && find "$shared/real-captures" "$shared/conformance" -type f \
        \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' -o -name '*.trace' \) 2> /dev/null
} | sort > "$tmp/list"
mapfile -t files < "$tmp/list"
echo "# ${#files[@]} files"
exec "$diffprog" "${files[@]}"
