#!/bin/bash
# --tunnel-port: the UDP ports tunnels are looked for on. A VXLAN capture
# (tests/tunnels/vxlan.pcap, made by the kernel's vxlan device) decodes on
# the default port and not with vxlan=0; moved to another port it decodes
# only when told that port, to the same connections; malformed values are
# one usage error each. Prints TAP.
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
cap=$srcdir/tests/tunnels/vxlan.pcap
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

# summary FILE: "TCP packets, connections, tunnel types"
summary() {
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["capture"]["tcp_packets"], len(d["connections"]),
      ",".join(c.get("tunnel", {}).get("type", "-") for c in d["connections"]))' "$1"
}

# The same capture with every UDP datagram to port 4789 sent to 14789.
python3 - "$cap" "$tmp/moved.pcap" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
off = 24
while off + 16 <= len(b):
    caplen = struct.unpack_from("<I", b, off + 8)[0]
    f = off + 16
    if b[f + 12:f + 14] == b"\x08\x00" and b[f + 23] == 17:
        udp = f + 14 + (b[f + 14] & 0x0f) * 4
        if struct.unpack_from(">H", b, udp + 2)[0] == 4789:
            struct.pack_into(">H", b, udp + 2, 14789)
            struct.pack_into(">H", b, udp + 6, 0)  # no UDP checksum to mend
    off = f + caplen
open(sys.argv[2], "wb").write(b)
PY

"$tcplens" -r "$cap" --json "$tmp/default.json" >/dev/null 2>&1
"$tcplens" -r "$cap" --tunnel-port vxlan=0 --json "$tmp/off.json" >/dev/null 2>&1
"$tcplens" -r "$tmp/moved.pcap" --json "$tmp/moved.json" >/dev/null 2>&1
"$tcplens" -r "$tmp/moved.pcap" --tunnel-port vxlan=4789,14789 --json "$tmp/told.json" \
    >/dev/null 2>&1
base=$(summary "$tmp/default.json")
check "VXLAN on 4789 by default: one connection in the tunnel ($base)" \
    "$(case $base in "12 1 vxlan") echo 0 ;; *) echo 1 ;; esac)"
check "--tunnel-port vxlan=0: nothing looked into" \
    "$([ "$(summary "$tmp/off.json")" = "0 0 " ]; echo $?)" "$(summary "$tmp/off.json")"
check "moved to 14789: not looked into by default" \
    "$([ "$(summary "$tmp/moved.json")" = "0 0 " ]; echo $?)" "$(summary "$tmp/moved.json")"
check "moved to 14789, --tunnel-port vxlan=4789,14789: the same connection" \
    "$([ "$(summary "$tmp/told.json")" = "$base" ]; echo $?)" "$(summary "$tmp/told.json")"
conns() { python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["connections"]))' "$1"; }
check "moved and told: the connections' report is byte for byte the default one" \
    "$([ "$(conns "$tmp/told.json")" = "$(conns "$tmp/default.json")" ]; echo $?)"

for bad in vxlan 4789 foo=1 vxlan=70000 vxlan=1,2,3,4,5 vxlan=-1 vxlan=a 'vxlan=1,' gre=4789; do
    err=$("$tcplens" -r "$cap" --tunnel-port "$bad" 2>&1 >/dev/null)
    rc=$?
    check "--tunnel-port '$bad': usage error, status 2, named" \
        "$([ "$rc" -eq 2 ] && printf '%s\n' "$err" | head -1 | grep -q "bad --tunnel-port '$bad'"; echo $?)" "$err"
done
echo "1..$n"
