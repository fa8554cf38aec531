#!/usr/bin/env bash
# tests/netns/make-isb-sample.sh -- (re)make samples/dumpcap-isb.pcapng: a
# pcapng written by dumpcap, which ends it with an Interface Statistics
# Block (isb_starttime, isb_endtime, isb_ifrecv, isb_ifdrop).
#
#   usage: tests/netns/make-isb-sample.sh [OUT]  (default: <repo>/samples/dumpcap-isb.pcapng)
#
# Needs root, iproute2, dumpcap (wireshark-common) and python3. dumpcap
# captures lo in a private network namespace for 3 s while python3 makes
# a connect() to a closed port (SYN, RST) and one short exchange on :8080
# with an orderly close. The ISB values are then in the test that reads
# the file (tests/unit/test_source.c): update them with the file.
# Exit status 77 = cannot create namespaces here (skip).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:-$HERE/../../samples/dumpcap-isb.pcapng}
NS=tlisb$$

if [ "$(id -u)" -ne 0 ] || ! ip netns add "$NS" 2> /dev/null; then
    echo "make-isb-sample: network namespaces unavailable (need root) -- skipping" >&2
    exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-isb.XXXXXX")
cleanup() {
    ip netns del "$NS" 2> /dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
ip -n "$NS" link set lo up

ip netns exec "$NS" dumpcap -q -i lo -a duration:3 -w "$tmp/isb.pcapng" 2> "$tmp/dumpcap.log" &
dumpcap_pid=$!
sleep 1
ip netns exec "$NS" timeout 5 python3 - << 'PY'
import socket, time
s = socket.socket()
try:
    s.connect(("127.0.0.1", 9))  # closed: SYN, RST
except OSError:
    pass
s.close()
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 8080))
srv.listen(1)
c = socket.create_connection(("127.0.0.1", 8080))
a, _ = srv.accept()
c.sendall(b"GET / HTTP/1.0\r\n\r\n")
a.recv(100)
a.sendall(b"HTTP/1.0 200 OK\r\n\r\nhello\n")
a.close()
c.recv(100)
c.close()
srv.close()
time.sleep(0.2)
PY
wait "$dumpcap_pid"
cat "$tmp/dumpcap.log" >&2
install -m 644 "$tmp/isb.pcapng" "$OUT"
echo "make-isb-sample: wrote $OUT ($(stat -c %s "$OUT") bytes)" >&2
