#!/bin/bash
# tcplens's data RTT samples against tshark's tcp.analysis.ack_rtt on the
# kernel captures (tests/rtt_tshark.py says what must agree and why the
# two may differ). Skips without tshark. Prints TAP.
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
command -v tshark >/dev/null 2>&1 || skip "tshark not installed"
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
exec python3 "$srcdir/tests/rtt_tshark.py" "$tcplens" "$srcdir"/tests/netns/kernel/*.pcap "$srcdir"/tests/netns/kernel/*.pcapng
