#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# tcplens on TCP inside tunnels, captured on the underlay.
#
# 1. Always: the saved captures in tests/tunnels/ (made by part 2) decode
#    to their one connection: its inner addresses and port, end fin, the
#    client in TIME_WAIT, the tunnel named, nothing skipped that hides a
#    segment.
# 2. As root with network namespaces, tcpdump and python3 (else skipped;
#    TL_SLOW_TESTS=skip skips it too): two namespaces over a veth underlay
#    (10.88.0.1, 10.88.0.2, fd88::1, fd88::2), and for each kind of tunnel
#    a device between them, a short TCP exchange over it (connect, send,
#    the client closes first, the server answers and closes) while tcpdump
#    captures the underlay veth; the same checks on that capture. A kind
#    the kernel has no device for (no module) is carried by
#    tests/tunnels/tunnel.py, a user-space tunnel over TUN/TAP: the test
#    point says which. Where tshark is installed, it must count as many TCP
#    packets in each capture as tcplens analyses (an independent decoder
#    of the encapsulation).
#
# Prints TAP. Environment: TCPLENS (the binary), SRCDIR, TL_SKIP_STATUS
# (exit status of a whole skip; automake's TAP driver wants 0),
# TL_TUNNELS_SAVE=DIR keeps the live captures there (how tests/tunnels/*.pcap
# were made: vxlan, gre, sit).
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
case $tcplens in /*) ;; *) tcplens=$PWD/$tcplens ;; esac
saved=$srcdir/tests/tunnels

n=0 failed=0
ok() {
    n=$((n + 1))
    if [ "$1" = 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        failed=$((failed + 1))
    fi
}
skip_all() {
    echo "1..0 # SKIP $*"
    exit "${TL_SKIP_STATUS:-77}"
}

[ -x "$tcplens" ] || skip_all "tcplens not built ($tcplens)"
command -v python3 >/dev/null 2>&1 || skip_all "python3 missing"

# check CAPTURE TUNNEL_TYPE CLIENT SERVER PORT: the report's one
# connection; problems on stdout, nothing when all is well.
check() {
    local cap=$1 json tshark_tcp=-
    json=$("$tcplens" -r "$cap" --json - 2>&1) || {
        echo "tcplens failed: ${json##*$'\n'}"
        return
    }
    if command -v tshark >/dev/null 2>&1; then
        tshark_tcp=$(tshark -n -r "$cap" -Y tcp -T fields -e frame.number 2>/dev/null | wc -l)
    fi
    printf '%s' "$json" | python3 "$saved/check.py" "$2" "$3" "$4" "$5" "$tshark_tcp" 2>&1 ||
        echo "check.py failed"
}

# ---- 1. the saved captures ----
# file, tunnel type, client, server, server port
while read -r file tun client server port; do
    problems=$(check "$saved/$file" "$tun" "$client" "$server" "$port")
    [ -z "$problems" ] || echo "# $problems"
    ok "$([ -z "$problems" ] && echo 0 || echo 1)" "saved $file: one connection in $tun, fin, client TIME_WAIT"
done <<'EOF'
vxlan.pcap vxlan 10.88.1.1 10.88.1.2 5001
gre.pcap gre 10.88.4.1 10.88.4.2 5004
sit.pcap ipip fd88:6::1 fd88:6::2 5006
EOF

# ---- 2. live tunnels ----
live_skip() {
    echo "# live tunnels skipped: $*"
    echo "1..$n"
    [ "$failed" = 0 ]
    exit
}
[ "${TL_SLOW_TESTS:-run}" = run ] || live_skip "slow test, run once in another build (TL_SLOW_TESTS=skip)"
command -v tcpdump >/dev/null 2>&1 || live_skip "tcpdump missing"
[ -c /dev/net/tun ] || live_skip "no /dev/net/tun"
# shellcheck source=netns/lib.sh
. "$srcdir/tests/netns/lib.sh"
tl_netns_available 2>/dev/null || live_skip "network namespaces unavailable (need root and ip netns)"

a=tltun-a-$$ b=tltun-b-$$
if ! tl_netns_up "$a" || ! tl_netns_up "$b"; then
    live_skip "could not make the namespaces"
fi
tl_workdir
work=$TL_WORKDIR
ip link add va netns "$a" type veth peer name vb netns "$b"
tl_ns "$a" ip addr add 10.88.0.1/24 dev va
tl_ns "$b" ip addr add 10.88.0.2/24 dev vb
tl_ns "$a" ip addr add fd88::1/64 dev va nodad
tl_ns "$b" ip addr add fd88::2/64 dev vb nodad
for ns in "$a" "$b"; do
    # No tail loss probe: a user-space tunnel that stalls a few ms would
    # have the kernel probe with a second FIN, whose second ACK meets a
    # closed socket, whose RST ends the client's TIME_WAIT.
    tl_ns "$ns" sysctl -qw net.ipv4.tcp_early_retrans=0
    v=va
    [ "$ns" = "$b" ] && v=vb
    tl_ns "$ns" ip link set "$v" up
    tl_ns "$ns" ethtool -K "$v" tso off gso off gro off >/dev/null 2>&1 || true
done

# The exchange: the server listens, reads to the end, answers, closes;
# the client connects, sends, closes its side first, reads the answer.
server_py='
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
open(sys.argv[3], "w").close()
s.settimeout(10)
c, _ = s.accept()
c.settimeout(10)
got = 0
while True:
    d = c.recv(65536)
    if not d:
        break
    got += len(d)
c.sendall(b"got %d\n" % got)
c.close()
'
client_py='
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
c = socket.socket(fam, socket.SOCK_STREAM)
c.settimeout(10)
c.connect((sys.argv[1], int(sys.argv[2])))
c.sendall(b"x" * 3000)
c.shutdown(socket.SHUT_WR)
answer = b""
while True:
    d = c.recv(65536)
    if not d:
        break
    answer += d
c.close()
sys.exit(0 if answer == b"got 3000\n" else 1)
'

helpers=()
stop_helpers() {
    local p
    for p in "${helpers[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    helpers=()
}

# kernel_dev NS KIND DEV ADDR LOCAL REMOTE KEY: the kernel's own device,
# if it has one of KIND.
kernel_dev() {
    local ns=$1 kind=$2 dev=$3 addr=$4 local=$5 remote=$6 key=$7 args
    case $kind in
    vxlan) args="vxlan id $key local $local remote $remote dstport 4789 dev va" ;;
    geneve) args="geneve id $key remote $remote" ;;
    gretap) args="gretap local $local remote $remote key $key" ;;
    gre) args="gre local $local remote $remote key $key" ;;
    ip6gre) args="ip6gre local $local remote $remote key $key" ;;
    ipip) args="ipip local $local remote $remote" ;;
    sit) args="sit local $local remote $remote" ;;
    ip6tnl) args="ip6tnl local $local remote $remote mode ip6ip6" ;;
    *) return 1 ;;
    esac
    [ "$ns" = "$b" ] && args=${args/dev va/dev vb}
    # shellcheck disable=SC2086
    tl_ns "$ns" ip link add "$dev" type $args 2>/dev/null || return 1
    tl_ns "$ns" ip link set "$dev" mtu 1400 up || return 1
    case $addr in
    *:*) tl_ns "$ns" ip addr add "$addr" dev "$dev" nodad ;;
    *) tl_ns "$ns" ip addr add "$addr" dev "$dev" ;;
    esac
}

# user_dev NS KIND DEV ADDR LOCAL REMOTE KEY: tunnel.py in NS.
user_dev() {
    local ns=$1 log=$work/helper.$1.$2.log i
    # (ip netns exec, not tl_ns: $! must be python's own pid)
    ip netns exec "$ns" python3 "$saved/tunnel.py" "$2" "$3" "$4" "$5" "$6" "$7" >"$log" 2>&1 &
    helpers+=($!)
    for i in $(seq 200); do
        grep -q READY "$log" && return 0
        kill -0 "${helpers[-1]}" 2>/dev/null || break
        sleep 0.02
    done
    sed 's/^/#   /' "$log"
    return 1
}

# one KIND INDEX INNER_FAMILY OUTER_FAMILY TUNNEL_TYPE
one() {
    local kind=$1 i=$2 fam=$3 ofam=$4 tun=$5 how=kernel
    local ia ib la lb port=$((5000 + $2)) key=$((40 + $2)) cap
    if [ "$fam" = 6 ]; then
        ia=fd88:$i::1 ib=fd88:$i::2
    else
        ia=10.88.$i.1 ib=10.88.$i.2
    fi
    if [ "$ofam" = 6 ]; then la=fd88::1 lb=fd88::2; else la=10.88.0.1 lb=10.88.0.2; fi
    local pa=$ia/24 pb=$ib/24
    [ "$fam" = 6 ] && pa=$ia/64 pb=$ib/64
    if kernel_dev "$a" "$kind" tl0 "$pa" "$la" "$lb" "$key" &&
        kernel_dev "$b" "$kind" tl0 "$pb" "$lb" "$la" "$key"; then
        :
    else
        how=user
        tl_ns "$a" ip link del tl0 2>/dev/null
        tl_ns "$b" ip link del tl0 2>/dev/null
        if ! user_dev "$a" "$kind" tl0 "$pa" "$la" "$lb" "$key" ||
            ! user_dev "$b" "$kind" tl0 "$pb" "$lb" "$la" "$key"; then
            stop_helpers
            ok 1 "$kind: tunnel set up"
            return
        fi
    fi
    cap=$work/$kind.pcap
    local ready=$work/ready.$kind
    tl_capture_start "$a" "$cap" -i va >/dev/null 2>&1
    ip netns exec "$b" python3 -c "$server_py" "$ib" "$port" "$ready" &
    local spid=$! _
    for _ in $(seq 250); do
        [ -e "$ready" ] && break
        sleep 0.02
    done
    tl_ns "$a" python3 -c "$client_py" "$ib" "$port"
    local crc=$?
    wait "$spid"
    local src=$?
    sleep 0.2
    tl_capture_stop "$cap" 2>/dev/null
    stop_helpers
    tl_ns "$a" ip link del tl0 2>/dev/null
    tl_ns "$b" ip link del tl0 2>/dev/null
    ok "$([ "$crc" = 0 ] && [ "$src" = 0 ] && echo 0 || echo 1)" \
        "$kind ($how device): TCP exchange over the tunnel"
    local problems
    problems=$(check "$cap" "$tun" "$ia" "$ib" "$port")
    [ -z "$problems" ] || echo "# $problems"
    ok "$([ -z "$problems" ] && echo 0 || echo 1)" \
        "$kind ($how device): tcplens on the underlay: one connection in $tun, fin, client TIME_WAIT"
    if [ -n "${TL_TUNNELS_SAVE:-}" ]; then
        mkdir -p "$TL_TUNNELS_SAVE" && cp "$cap" "$TL_TUNNELS_SAVE/"
    fi
}

# kind, index (inner addresses, port), inner and outer IP version, type
while read -r kind i fam ofam tun; do
    one "$kind" "$i" "$fam" "$ofam" "$tun"
done <<'EOF'
vxlan 1 4 4 vxlan
geneve 2 4 4 geneve
gretap 3 4 4 gre
gre 4 4 4 gre
ipip 5 4 4 ipip
sit 6 6 4 ipip
ip6tnl 7 6 6 ipip
ip6gre 8 4 6 gre
gtpu 9 4 4 gtpu
teredo 10 6 4 teredo
l2tp 11 4 4 l2tp
EOF

echo "1..$n"
[ "$failed" = 0 ]
