# shellcheck shell=bash
# tests/netns/kernel-lib.sh -- run the kernel-state scenarios: for each one a
# fresh network namespace, a pcap (tcpdump -i lo), `ss -tan` polled every few
# ms, and the sock:inet_sock_set_state tracepoint, all kept in an output dir
# for tests/netns/kernel_states.py to turn into the kernel's state sequences.
#
# Source lib.sh first, then this file.
#
#   tk_scenarios                  print the scenario names, in run order
#   tk_run_all OUTDIR [NAME...]   run the scenarios (all by default) into
#                                 OUTDIR; returns non-zero if any failed (the
#                                 failure is also recorded in NAME.meta)
#
# Per scenario NAME, OUTDIR gets:
#   NAME.pcap          tcpdump -i lo inside the namespace (capture=dumpcap:
#                      NAME.pcapng, dumpcap -i lo, ending with an Interface
#                      Statistics Block whose isb_endtime is the capture stop)
#   NAME.ss.txt        ss -tan snapshots, headers "# <epoch> [final]
#                      t0=<epoch before ss ran>"; an unchanged snapshot is
#                      just its header with the word "same"
#   NAME.trace.txt     tracepoint lines (fields format, clock mono) for this
#                      run's port block; absent when tracing is unavailable
#   NAME.scenario.log  scenario.py's EVENT lines
#   NAME.meta          key=value: ports, sysctls, capture window, status
#
# Variables: TL_KERNEL_PORTBLOCK (0..29; random by default) picks the ports:
# server ports 10000+100*block+index, client (ephemeral) ports from a 40-port
# range per scenario at 30000+1000*block+40*index.  TK_SS_MS (default 5) is
# the ss poll interval.  TL_KERNEL_NOTRACE=1 forces the ss-only fallback.

TK_SS_MS=${TK_SS_MS:-5}

# name | scenario.py scenario | sysctls | scenario.py args | options
# options: midstream (capture starts at GATE capture), fixedport (a fixed
# client port is passed as --client-port), timeout=N (scenario budget, s)
# ports=N (N client ports instead of 40: more short connections than 40
# TIME_WAITs; the range then overlaps later scenarios', each has its netns)
# raw (the fixed client port is a raw-socket sender with no TCP socket:
# meta raw_ports), iface=any (tcpdump -i any instead of -i lo),
# retag=vlan (after the capture, retag-vlan.py rewrites NAME.pcap: 802.1Q
# VLAN 10 client->server, 20 server->client; the original is NAME.orig.pcap),
# topo=router (three namespaces, see tk_topo_router: the scenario runs in the
# client's, which the capture and the sysctls are for; ss polls the client's
# and the server's; the capture is on the client's veth unless iface= says),
# topo=router6 (the same over IPv6 only, see TK_TOPO6_CLIENT),
# capture=dumpcap (dumpcap -q -w NAME.pcapng instead of tcpdump, stopped with
# SIGINT so that it writes the Interface Statistics Block: isb_endtime is the
# only mark of the capture's end, so no end-of-capture datagram is sent; the
# capture stops as soon as the scenario is ready, and the ss poller's final
# snapshot comes after that stop; see tk_dumpcap_start), lane=N (N >= 1: run
# in background lane N alongside the others, see tk_run_all; given to the
# scenarios that mostly wait for the kernel's timers)
TK_TABLE=(
    "client_first|normal|||"
    "server_first|server_first|||"
    "close_wait|close_wait||--hold-open 1.0|"
    "fin_ack_close|fin_ack_close|||"
    "fin_wait2_reaped|fin_wait2_reaped|net.ipv4.tcp_fin_timeout=1|--wait 2.0|timeout=15"
    "rst_unread|rst_unread|||"
    "linger0|linger0|||"
    "write_after_close|write_after_close|||"
    "refused|refused|||"
    "syn_dropped|syn_dropped|net.ipv4.tcp_syn_retries=2||timeout=20 lane=2"
    "backlog_full|backlog_full|net.ipv4.tcp_syncookies=0 net.ipv4.tcp_synack_retries=2 net.ipv4.tcp_abort_on_overflow=0|--wait 3.0|timeout=15 lane=2"
    "close_before_accept|close_before_accept||--wait 0.5|"
    "final_ack_dropped|final_ack_dropped||--wait 1.0|"
    "simultaneous_close|simultaneous_close|||"
    "half_close|half_close|||"
    "zero_window|zero_window||--wait 1.5|timeout=15"
    "keepalive|keepalive||--wait 2.5|timeout=15"
    "keepalive_timeout|keepalive_timeout|||timeout=15 lane=1"
    "port_reuse|port_reuse||--gap 0.3|fixedport"
    "port_reuse_tw|port_reuse_tw|net.ipv4.tcp_tw_reuse=2||fixedport"
    "midstream|midstream|||midstream"
    "ipv6|ipv6|||"
    "synack_lost|synack_lost||--wait 1.5|"
    "blackhole|blackhole|net.ipv4.tcp_retries2=3||timeout=20 lane=2"
    "lossy|lossy|||"
    "scan|scan|||"
    "tw_pressure|tw_pressure|net.ipv4.tcp_tw_reuse=0||ports=400"
    "syn_blackhole_default|syn_blackhole_default||--wait 33|timeout=45 lane=1"
    "syn_dropped_then_answered|syn_dropped_then_answered|||"
    "accept_overflow_default|accept_overflow_default||--wait 8.5|timeout=15 lane=2"
    "half_open_scan|half_open_scan|||fixedport raw"
    "challenge_ack|challenge_ack|||fixedport"
    "captured_twice|captured_twice|||iface=any"
    "vlan_split|normal|||retag=vlan"
    "final_ack_lost_late|final_ack_lost_late||--wait 4.0|timeout=15 lane=2"
    "fin_ack_lost_late|fin_ack_lost_late||--wait 1.5|timeout=15"
    "icmp_port_unreach|icmp_port_unreach|||"
    "icmp_admin_prohibited|icmp_admin_prohibited|||"
    "icmp6_admin_prohibited|icmp6_admin_prohibited|||"
    "icmp_router_ttl|icmp_router_ttl|||"
    "icmp_established_soft|icmp_established_soft|net.ipv4.tcp_retries2=3||timeout=15 lane=1"
    "icmp_host_unreach|icmp_host_unreach|||"
    "icmp6_port_unreach|icmp6_port_unreach|||"
    "pmtu_icmp|pmtu_icmp|||topo=router"
    "pmtu_blackhole|pmtu_blackhole|net.ipv4.tcp_retries2=3|--wait 1.25|topo=router timeout=20 lane=2"
    "isb_syn_giveup|isb_syn_giveup|net.ipv4.tcp_syn_retries=2 net.ipv4.tcp_syn_linear_timeouts=0|--wait 2.5|capture=dumpcap timeout=15 lane=2"
    "isb_stall_giveup|isb_stall_giveup|net.ipv4.tcp_retries2=3|--wait 2.0|capture=dumpcap timeout=15 lane=2"
    "isb_close_wait|isb_close_wait||--wait 7.0|capture=dumpcap timeout=15 lane=2"
    "icmp6_addr_unreach|icmp6_addr_unreach|||"
    "pmtu6_icmp|pmtu6_icmp|||topo=router6"
    "isb_syn_pending|isb_syn_pending||--wait 40|capture=dumpcap timeout=50 lane=1"
)

# topo=router: client 10.77.1.1 (veth tlc, MTU 1500) in the scenario's
# namespace NS, a router in NS-r (tlr1 10.77.1.254, MTU 1500; tlr2
# 10.77.2.254, MTU 1280), the server 10.77.2.1 in NS-s (tls, MTU 1500).  The
# router's side of the server link is narrower than the hosts' (as a tunnel
# would be): the server still advertises MSS 1460, and the router cannot
# forward a full-sized segment toward it (nor receive a server packet over
# 1280 bytes; the scenarios send none).  No IPv6 (no MLD or neighbour
# discovery in the capture), static neighbours (no ARP), no offloads.
TK_TOPO_CLIENT=10.77.1.1 TK_TOPO_ROUTER=10.77.1.254 TK_TOPO_SERVER=10.77.2.1
TK_TOPO_MTU=1280
# topo=router6: the same three namespaces, links and MTUs over IPv6 alone
# (IPv4 unused): client fd77:1::1, router fd77:1::fe and fd77:2::fe, server
# fd77:2::1.  1280 is IPv6's minimum link MTU, so the router still forwards
# over it and answers a bigger packet with ICMPv6 packet too big.  Addresses
# without duplicate address detection, no link-local addresses
# (addr_gen_mode 1), no router solicitations, static neighbours: the
# capture holds the TCP, the ICMPv6 error and the end-of-capture datagram.
TK_TOPO6_CLIENT=fd77:1::1 TK_TOPO6_ROUTER=fd77:1::fe TK_TOPO6_SERVER=fd77:2::1

# sysctls recorded in every NAME.meta (their values inside the namespace)
TK_SYSCTLS=(net.ipv4.tcp_syn_retries net.ipv4.tcp_syn_linear_timeouts
    net.ipv4.tcp_synack_retries net.ipv4.tcp_syncookies net.ipv4.tcp_fin_timeout
    net.ipv4.tcp_tw_reuse net.ipv4.tcp_abort_on_overflow net.core.somaxconn
    net.ipv4.tcp_keepalive_time net.ipv4.ip_local_port_range net.ipv4.tcp_retries2)

tk_scenarios() {
    local row
    for row in "${TK_TABLE[@]}"; do printf '%s\n' "${row%%|*}"; done
}

tk_row() { # NAME -> prints the table row
    local row
    for row in "${TK_TABLE[@]}"; do
        [[ ${row%%|*} == "$1" ]] && { printf '%s\n' "$row"; return 0; }
    done
    return 1
}

# tk_topo_router NS: make NS-r and NS-s (registered for cleanup, like NS) and
# wire NS - NS-r - NS-s as described at TK_TOPO_CLIENT
tk_topo_router() {
    local -; set +e
    local c=$1 r=$1-r s=$1-s rs=${TK_TOPO_ROUTER%.*.*}.2.254 n ns dev addr mac pns pdev
    tl_netns_up "$r" && tl_netns_up "$s" || return 1
    for n in "$c" "$r" "$s"; do
        tl_sysctl "$n" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 || return 1
    done
    tl_sysctl "$r" net.ipv4.ip_forward=1 || return 1
    ip -n "$c" link add tlc type veth peer name tlr1 netns "$r" &&
        ip -n "$r" link add tlr2 type veth peer name tls netns "$s" &&
        ip -n "$r" link set tlr2 mtu "$TK_TOPO_MTU" || return 1
    for n in "$c tlc $TK_TOPO_CLIENT" "$r tlr1 $TK_TOPO_ROUTER" "$r tlr2 $rs" \
        "$s tls $TK_TOPO_SERVER"; do
        read -r ns dev addr <<<"$n"
        ip -n "$ns" addr add "$addr/24" dev "$dev" && ip -n "$ns" link set "$dev" up || return 1
        ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off >/dev/null 2>&1 ||
            tl_log "ethtool -K $dev failed in $ns (ignored)"
    done
    for n in "$c tlc $TK_TOPO_ROUTER $r tlr1" "$r tlr1 $TK_TOPO_CLIENT $c tlc" \
        "$r tlr2 $TK_TOPO_SERVER $s tls" "$s tls $rs $r tlr2"; do
        read -r ns dev addr pns pdev <<<"$n"
        mac=$(ip -n "$pns" -o link show dev "$pdev" | sed -n 's|.*link/ether \([0-9a-f:]*\).*|\1|p')
        [[ -n $mac ]] && ip -n "$ns" neigh replace "$addr" lladdr "$mac" dev "$dev" nud permanent || return 1
    done
    ip -n "$c" route add default via "$TK_TOPO_ROUTER" dev tlc &&
        ip -n "$s" route add default via "$rs" dev tls
}

# tk_topo_router6 NS: NS-r and NS-s wired as tk_topo_router does, over IPv6
tk_topo_router6() {
    local -; set +e
    local c=$1 r=$1-r s=$1-s rs=fd77:2::fe n ns dev addr mac pns pdev k
    tl_netns_up "$r" && tl_netns_up "$s" || return 1
    for n in "$c" "$r" "$s"; do
        for k in all default; do
            tl_sysctl "$n" "net.ipv6.conf.$k.accept_dad=0" "net.ipv6.conf.$k.dad_transmits=0" \
                "net.ipv6.conf.$k.router_solicitations=0" "net.ipv6.conf.$k.addr_gen_mode=1" \
                "net.ipv6.conf.$k.accept_ra=0" || return 1
        done
    done
    tl_sysctl "$r" net.ipv6.conf.all.forwarding=1 || return 1
    ip -n "$c" link add tlc type veth peer name tlr1 netns "$r" &&
        ip -n "$r" link add tlr2 type veth peer name tls netns "$s" &&
        ip -n "$r" link set tlr2 mtu "$TK_TOPO_MTU" || return 1
    for n in "$c tlc $TK_TOPO6_CLIENT" "$r tlr1 $TK_TOPO6_ROUTER" "$r tlr2 $rs" \
        "$s tls $TK_TOPO6_SERVER"; do
        read -r ns dev addr <<<"$n"
        ip -n "$ns" -6 addr add "$addr/64" dev "$dev" nodad && ip -n "$ns" link set "$dev" up || return 1
        ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off >/dev/null 2>&1 ||
            tl_log "ethtool -K $dev failed in $ns (ignored)"
    done
    for n in "$c tlc $TK_TOPO6_ROUTER $r tlr1" "$r tlr1 $TK_TOPO6_CLIENT $c tlc" \
        "$r tlr2 $TK_TOPO6_SERVER $s tls" "$s tls $rs $r tlr2"; do
        read -r ns dev addr pns pdev <<<"$n"
        mac=$(ip -n "$pns" -o link show dev "$pdev" | sed -n 's|.*link/ether \([0-9a-f:]*\).*|\1|p')
        [[ -n $mac ]] && ip -n "$ns" -6 neigh replace "$addr" lladdr "$mac" dev "$dev" nud permanent || return 1
    done
    ip -n "$c" -6 route add default via "$TK_TOPO6_ROUTER" dev tlc &&
        ip -n "$s" -6 route add default via "$rs" dev tls
}

# tk_ss_poll2 NS FILE MS NS2: tl_ss_poll_start with TL_SS_T0=1 TL_SS_SAME=1,
# each snapshot listing NS's sockets, then NS2's; stop it with tl_ss_poll_stop
tk_ss_poll2() {
    local -; set +e
    local ns=$1 file=$2 ms=$3 ns2=$4 stop iv deadline
    tl_workdir || return 1
    stop="$TL_WORKDIR/ss.${file##*/}.$RANDOM.stop"
    iv=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
    rm -f -- "$stop"
    : >"$file"
    # shellcheck disable=SC2016
    ip netns exec "$ns" bash -c '
        stop=$1 iv=$2 parent=$3 ns2=$4 prev= cur= t0=
        trap "" INT
        while kill -0 "$parent" 2>/dev/null; do
            t0=$EPOCHREALTIME
            cur=$(ss -tan 2>&1; ss -N "$ns2" -Htan 2>&1)
            if [[ -e $stop ]]; then
                printf "# %s final t0=%s\n%s\n" "$EPOCHREALTIME" "$t0" "$cur"
                exit 0
            elif [[ $cur != "$prev" ]]; then
                printf "# %s t0=%s\n%s\n" "$EPOCHREALTIME" "$t0" "$cur"
                prev=$cur
            else
                printf "# %s t0=%s same\n" "$EPOCHREALTIME" "$t0"
            fi
            sleep "$iv"
        done' tk-ss-poll2 "$stop" "$iv" "$$" "$ns2" >>"$file" 2>&1 &
    # shellcheck disable=SC2004,SC2034  # lib.sh's associative arrays
    TL_SS_PID[$file]=$! TL_SS_STOP[$file]=$stop
    deadline=$(( ${EPOCHREALTIME/./} + 3000000 ))
    until [[ -s $file ]]; do
        (( ${EPOCHREALTIME/./} > deadline )) && { tl_err "ss poller for $file wrote nothing"; return 1; }
        kill -0 "${TL_SS_PID[$file]}" 2>/dev/null || { tl_err "ss poller for $file died"; return 1; }
        sleep 0.005
    done
}

# wall-clock minus CLOCK_MONOTONIC (the tracing clock), in seconds
tk_mono_offset() {
    "$TL_PYTHON" -c 'import time
best = None
for _ in range(5):
    a = time.time(); m = time.monotonic(); b = time.time()
    if best is None or b - a < best[0]:
        best = (b - a, (a + b) / 2 - m)
print("%.7f" % best[1])'
}

tk_meta() { printf '%s=%s\n' "$1" "$2" >>"$TK_META"; }

# tk_dumpcap_start NS FILE IFACE: `dumpcap -q -i IFACE -w FILE` (pcapng)
# inside NS, registered in lib.sh's TL_CAP_PID/TL_CAP_ERR so that
# tl_cleanup stops it (SIGINT, then SIGKILL) whatever happens; returns once
# dumpcap printed "File:" (its input open, the file created; 5 s timeout)
tk_dumpcap_start() {
    local -; set +e
    local ns=$1 file=$2 iface=$3 err pid deadline
    [[ -n ${TL_CAP_PID[$file]:-} ]] && { tl_err "capture to $file already running"; return 1; }
    command -v dumpcap >/dev/null 2>&1 || { tl_err "dumpcap not found (wireshark-common)"; return 1; }
    tl_workdir || return 1
    err="$TL_WORKDIR/dumpcap.${file##*/}.$RANDOM.err"
    rm -f -- "$file"
    : >"$err"
    ip netns exec "$ns" dumpcap -q -i "$iface" -w "$file" 2>"$err" &
    pid=$!
    # shellcheck disable=SC2004  # lib.sh's associative arrays
    TL_CAP_PID[$file]=$pid TL_CAP_ERR[$file]=$err
    deadline=$(( ${EPOCHREALTIME/./} + 5000000 ))
    until grep -q '^File: ' "$err"; do
        if ! kill -0 "$pid" 2>/dev/null || (( ${EPOCHREALTIME/./} > deadline )); then
            tl_err "dumpcap for $file did not start:"; sed 's/^/    /' "$err" >&2
            kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
            unset 'TL_CAP_PID[$file]' 'TL_CAP_ERR[$file]'
            return 1
        fi
        sleep 0.01
    done
    return 0
}

# tk_dumpcap_stop FILE: SIGINT the dumpcap of FILE at once (it then drains
# its buffer and writes the Interface Statistics Block), wait (5 s, then
# SIGKILL and failure); fails when dumpcap exits non-zero, prints no
# statistics, or reports packets dropped; then checks the file for an ISB
# with isb_endtime (kernel_states.py isb) and records it in NAME.meta
tk_dumpcap_stop() {
    local -; set +e
    local f=$1 pid=${TL_CAP_PID[$1]:-} err=${TL_CAP_ERR[$1]:-} st=0 rc=0 line got drop
    [[ -n $pid ]] || { tl_err "no capture running for $f"; return 1; }
    kill -INT "$pid" 2>/dev/null
    if ! tl_wait_pid "$pid" 5; then
        tl_err "dumpcap for $f ignored SIGINT; killing"
        kill -KILL "$pid" 2>/dev/null; rc=1
    fi
    wait "$pid" 2>/dev/null; st=$?
    unset 'TL_CAP_PID[$f]' 'TL_CAP_ERR[$f]'
    # "Packets received/dropped on interface 'Loopback: lo': 12/0 (pcap:0/dumpcap:0/flushed:0/ps_ifdrop:0) (100.0%)"
    line=$(grep -m1 '^Packets received/dropped on interface' "$err")
    got=$(sed -n 's|.*: \([0-9]*\)/\([0-9]*\) (.*|\1|p' <<<"$line")
    drop=$(sed -n 's|.*: \([0-9]*\)/\([0-9]*\) (.*|\2|p' <<<"$line")
    if (( st != 0 )); then
        tl_err "dumpcap for $f exited with status $st:"; sed 's/^/    /' "$err" >&2; rc=1
    fi
    if [[ -z $got ]]; then
        tl_err "dumpcap for $f printed no statistics:"; sed 's/^/    /' "$err" >&2; rc=1
    elif (( drop > 0 )) || [[ $line == *ps_ifdrop:[1-9]* ]]; then
        tl_err "CAPTURE INCOMPLETE: $f: $line"; rc=1
    fi
    tl_log "$f: ${got:-?} packets (dumpcap)"
    local isb k v
    if ! isb=$("$TL_PYTHON" "$TL_LIB_DIR/kernel_states.py" isb "$f"); then
        tl_err "$f: no Interface Statistics Block with isb_endtime"; rc=1
    fi
    while IFS='=' read -r k v; do
        [[ -n $k ]] && tk_meta "$k" "$v"
        if [[ $k == isb.*.ifdrop && $v != 0 ]]; then
            tl_err "CAPTURE INCOMPLETE: $f: isb_ifdrop $v"; rc=1
        fi
    done <<<"$isb"
    return $rc
}

# tk_run_one OUTDIR INDEX NAME
tk_run_one() {
    local -; set +e
    local out=$1 idx=$2 name=$3 row scn sysctls sargs opts
    row=$(tk_row "$name") || { tl_err "unknown scenario $name"; return 1; }
    IFS='|' read -r _ scn sysctls sargs opts <<<"$row"
    local ns="tlk$$-$idx" sport=$((10000 + 100 * TK_BLOCK + idx))
    local clo=$((30000 + 1000 * TK_BLOCK + 40 * idx)) chi
    chi=$((clo + 39))
    local timeout=10 o midstream=0 fixed=0 raw=0 iface=lo retag='' topo='' eoc=127.0.0.1
    local capture=tcpdump ext=pcap
    for o in $opts; do
        case $o in
        midstream) midstream=1 ;;
        fixedport) fixed=1 ;;
        raw) raw=1 ;;
        iface=*) iface=${o#iface=} ;;
        retag=*) retag=${o#retag=} ;;
        topo=router) topo=router iface=tlc eoc=$TK_TOPO_ROUTER ;;
        topo=router6) topo=router6 iface=tlc eoc=$TK_TOPO6_ROUTER ;;
        timeout=*) timeout=${o#timeout=} ;;
        ports=*) chi=$((clo + ${o#ports=} - 1)) ;;
        capture=dumpcap) capture=dumpcap ext=pcapng ;;
        esac
    done
    local cap=$out/$name.$ext
    TK_META=$out/$name.meta
    rm -f -- "$out/$name".{pcap,pcapng,orig.pcap,ss.txt,trace.txt,scenario.log,meta}
    tk_meta scenario "$name"
    tk_meta script "$scn"
    tk_meta index "$idx"
    tk_meta server_port "$sport"
    tk_meta client_ports "$clo-$chi"
    tk_meta kernel "$(uname -r)"
    tk_meta ss_interval_ms "$TK_SS_MS"
    tk_meta trace "$TK_TRACE"
    [[ -n $topo ]] && tk_meta topo "$topo: client $ns, router $ns-r, server $ns-s"
    tk_meta capture "$capture"
    tk_meta capture_iface "$iface"
    (( raw )) && tk_meta raw_ports $((clo + 20))
    [[ -n $retag ]] && tk_meta retag "$retag"
    [[ $TK_TRACE == 1 ]] || tk_meta trace_why "$TK_TRACE_WHY"
    local fail=''
    [[ $capture == dumpcap && -n $retag ]] && fail="retag needs a pcap, not capture=dumpcap"
    step() { # description command...
        local d=$1; shift
        [[ -n $fail ]] && return 1
        "$@" || { fail=$d; return 1; }
    }
    step "netns up" tl_netns_up "$ns"
    [[ $topo == router ]] && step "topology" tk_topo_router "$ns"
    [[ $topo == router6 ]] && step "topology" tk_topo_router6 "$ns"
    # shellcheck disable=SC2086  # sysctls is a word list
    step "sysctl" tl_sysctl "$ns" "net.ipv4.ip_local_port_range=$clo $chi" $sysctls
    local k v
    for k in "${TK_SYSCTLS[@]}"; do
        v=$(ip netns exec "$ns" sysctl -n "$k" 2>/dev/null | tr -s '\t ' ' ') || v="(absent)"
        tk_meta "sysctl.$k" "${v:-(absent)}"
    done
    tk_meta mono_offset "$(tk_mono_offset)"
    tk_meta t_begin "$EPOCHREALTIME"
    local args=(--port "$sport" --timeout "$timeout" --hold-timeout $((timeout + 20)))
    (( fixed )) && args+=(--client-port $((clo + 20)))
    [[ -n $topo ]] && args+=(--router-netns "$ns-r" --server-netns "$ns-s")
    # shellcheck disable=SC2206  # sargs is a word list
    args+=($sargs)
    tk_meta args "${args[*]}"
    if [[ -n $topo ]]; then
        step "ss poll" tk_ss_poll2 "$ns" "$out/$name.ss.txt" "$TK_SS_MS" "$ns-s"
    else
        TL_SS_T0=1 TL_SS_SAME=1 step "ss poll" tl_ss_poll_start "$ns" "$out/$name.ss.txt" "$TK_SS_MS"
    fi
    # shellcheck disable=SC2317  # called through step
    capstart() {
        if [[ $capture == dumpcap ]]; then
            tk_dumpcap_start "$ns" "$cap" "$iface"
        else
            tl_capture_start "$ns" "$cap" -i "$iface"
        fi
    }
    if (( ! midstream )); then
        step "capture start" capstart && tk_meta t_capture_start "$EPOCHREALTIME"
    fi
    step "scenario start" tl_scenario_start "$name" "$ns" "$scn" "${args[@]}"
    if (( midstream )); then
        step "scenario gate" tl_scenario_wait_gate "$name" capture $((timeout + 5)) &&
            step "capture start" capstart &&
            tk_meta t_capture_start "$EPOCHREALTIME" &&
            step "open gate" tl_scenario_open_gate "$name" capture
    fi
    step "scenario" tl_scenario_wait_ready "$name" $((timeout + 5))
    if [[ $capture == dumpcap ]]; then
        # No marker: the capture's end is known only from the ISB dumpcap
        # writes when it stops, at once here (the scenario timed its own
        # quiet tail). The ss poller runs on past the stop, so the kernel's
        # view covers the whole window up to isb_endtime.
        tk_meta t_capture_stop_call "$EPOCHREALTIME"
        if [[ -n ${TL_CAP_PID[$cap]:-} ]]; then
            tk_dumpcap_stop "$cap" 2>"$out/$name.capture.err" || fail=${fail:-capture incomplete: $(tr '\n' ' ' <"$out/$name.capture.err")}
            cat "$out/$name.capture.err" >&2; rm -f -- "$out/$name.capture.err"
        fi
        tk_meta t_capture_stop "$EPOCHREALTIME"
        [[ -n ${TL_SS_PID[$out/$name.ss.txt]:-} ]] && { tl_ss_poll_stop "$out/$name.ss.txt" || fail=${fail:-ss poll stop}; }
    else
        # End-of-capture marker: a pcap's clock stops at its last packet, so a
        # state that changes after it (a client giving up its SYNs 2 s after the
        # last one) is invisible to any reader. Real captures have other traffic;
        # one UDP datagram 300 ms after the scenario settled stands in for it
        # (topo=router: to the router, so that it crosses the captured veth).
        sleep 0.3
        ip netns exec "$ns" python3 -c 'import socket, sys; socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM).sendto(b"end-of-capture", (sys.argv[1], 9))' "$eoc" 2>/dev/null || true
        sleep 0.05
        [[ -n ${TL_SS_PID[$out/$name.ss.txt]:-} ]] && { tl_ss_poll_stop "$out/$name.ss.txt" || fail=${fail:-ss poll stop}; }
        tk_meta t_capture_stop_call "$EPOCHREALTIME"
        if [[ -n ${TL_CAP_PID[$cap]:-} ]]; then
            tl_capture_stop "$cap" 2>"$out/$name.capture.err" || fail=${fail:-capture incomplete: $(tr '\n' ' ' <"$out/$name.capture.err")}
            cat "$out/$name.capture.err" >&2; rm -f -- "$out/$name.capture.err"
        fi
        tk_meta t_capture_stop "$EPOCHREALTIME"
    fi
    if [[ -n $retag && -f $out/$name.pcap && -z $fail ]]; then
        mv -- "$out/$name.pcap" "$out/$name.orig.pcap" &&
            "$TL_PYTHON" "$TL_LIB_DIR/retag-$retag.py" "$out/$name.orig.pcap" "$out/$name.pcap" ||
            fail="retag $retag"
    fi
    if [[ -n ${TL_SCN_PID[$name]:-} ]]; then
        tl_scenario_finish "$name" 2>/dev/null || fail=${fail:-scenario exit status (FAIL lines in $name.scenario.log)}
    fi
    [[ -n ${TL_SCN_LOG[$name]:-} && -f ${TL_SCN_LOG[$name]} ]] && cp -- "${TL_SCN_LOG[$name]}" "$out/$name.scenario.log"
    tk_meta t_end "$EPOCHREALTIME"
    # leave the netns (its nft table, qdiscs and sockets go with it) before
    # reading the trace, so the sockets' last transitions are included
    ip netns exec "$ns" nft delete table inet tcplens_test >/dev/null 2>&1
    ip netns exec "$ns" tc qdisc del dev lo root >/dev/null 2>&1
    tl_netns_down "$ns"
    [[ -n $topo ]] && { tl_netns_down "$ns-r"; tl_netns_down "$ns-s"; }
    if [[ $TK_TRACE == 1 ]]; then
        sleep 0.05
        tl_trace_take "$out/$name.trace.txt" || fail=${fail:-trace buffer overrun}
    fi
    tk_meta status "${fail:-ok}"
    if [[ -n $fail ]]; then
        tl_err "scenario $name: $fail"
        return 1
    fi
    return 0
}

# tk_lane NAME: the lane of scenario NAME (its option lane=N; 0 without)
tk_lane() {
    local row o
    row=$(tk_row "$1") || return 1
    for o in ${row##*|}; do
        [[ $o == lane=* ]] && { echo "${o#lane=}"; return 0; }
    done
    echo 0
}

# tk_trace_begin FILTER: the tracepoint for this lane (TK_TRACE, TK_TRACE_WHY)
tk_trace_begin() {
    TK_TRACE=0 TK_TRACE_WHY="disabled by TL_KERNEL_NOTRACE"
    [[ ${TL_KERNEL_NOTRACE:-0} == 1 ]] && return 0
    if tl_trace_start "$1"; then
        TK_TRACE=1 TK_TRACE_WHY=
    else
        # shellcheck disable=SC2153  # set by tl_trace_start (lib.sh)
        TK_TRACE_WHY=$TL_TRACE_WHY
        tl_log "tracepoint unavailable ($TK_TRACE_WHY): ss only"
    fi
}

# tk_lane_run OUTDIR INDEX:NAME...: in a background subshell of tk_run_all,
# the lane's scenarios one after another, with a tracing instance of its
# own filtered on their server ports; the parent's namespaces, captures and
# workdir are not this subshell's to clean up
tk_lane_run() {
    local -; set +e
    local out=$1 x f='' rc=0; shift
    # shellcheck disable=SC2034  # lib.sh's state: this subshell starts its own
    TL_TRACE_INST='' TL_TRACE_MOUNTED='' TL_TRAPS_SET=0 TL_WORKDIR_OWNED=0
    # shellcheck disable=SC2034
    TL_NETNS_LIST=() TL_CAP_PID=() TL_CAP_ERR=() TL_SS_PID=() TL_SS_STOP=()
    TL_SCN_PID=() TK_LANE_PIDS=()
    tl_install_traps
    for x in "$@"; do
        f+="${f:+ || }sport == $((10000 + 100 * TK_BLOCK + ${x%%:*})) || dport == $((10000 + 100 * TK_BLOCK + ${x%%:*}))"
    done
    tk_trace_begin "$f"
    for x in "$@"; do
        tl_log "scenario ${x#*:} (lane; ports $((10000 + 100 * TK_BLOCK + ${x%%:*})), $((30000 + 1000 * TK_BLOCK + 40 * ${x%%:*}))+)"
        tk_run_one "$out" "${x%%:*}" "${x#*:}" || rc=1
    done
    [[ $TK_TRACE == 1 ]] && tl_trace_stop
    return $rc
}

# tk_lanes_stop: end the lanes still running (a TL_CLEANUP_HOOKS entry:
# each lane's own traps then clean up after it)
tk_lanes_stop() {
    local pid
    for pid in "${TK_LANE_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${TK_LANE_PIDS[@]}"; do
        tl_wait_pid "$pid" 10 || kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    TK_LANE_PIDS=()
}
declare -ga TK_LANE_PIDS=()
TL_CLEANUP_HOOKS+=(tk_lanes_stop)

# tk_run_all OUTDIR [NAME...]: the scenarios with option lane=N (N >= 1) run
# in N background lanes, each lane's one after another, alongside the others
# (lane 0) in the foreground: they are the ones that mostly wait for the
# kernel's timers, in namespaces and on ports of their own.
# TL_KERNEL_JOBS=1 runs everything in one lane, in table order.
tk_run_all() {
    local -; set +e
    local out=$1; shift
    local names=("$@") all i rc=0 n t0 lane pid sport main=() excl=''
    local -A lanes=()
    mapfile -t all < <(tk_scenarios)
    (( ${#names[@]} )) || names=("${all[@]}")
    mkdir -p -- "$out" || return 1
    tl_workdir || return 1
    TK_BLOCK=${TL_KERNEL_PORTBLOCK:-$((RANDOM % 30))}
    if (( TK_BLOCK < 0 || TK_BLOCK > 29 )); then
        tl_err "TL_KERNEL_PORTBLOCK must be 0..29"; return 1
    fi
    for n in "${names[@]}"; do
        i=0
        for t0 in "${all[@]}"; do i=$((i + 1)); [[ $t0 == "$n" ]] && break; done
        [[ ${all[i - 1]} == "$n" ]] || { tl_err "unknown scenario $n"; rc=1; continue; }
        lane=$(tk_lane "$n")
        [[ ${TL_KERNEL_JOBS:-0} == 1 ]] && lane=0
        if (( lane > 0 )); then
            lanes[$lane]+="$i:$n "
            sport=$((10000 + 100 * TK_BLOCK + i))
            excl+=" && sport != $sport && dport != $sport"
        else
            main+=("$i:$n")
        fi
    done
    local lo=$((10000 + 100 * TK_BLOCK)) hi=$((10000 + 100 * TK_BLOCK + 99))
    tk_trace_begin "(sport >= $lo && sport <= $hi || dport >= $lo && dport <= $hi)$excl"
    for lane in $(printf '%s\n' "${!lanes[@]}" | sort -n); do
        # shellcheck disable=SC2086  # the lane's INDEX:NAME words
        tk_lane_run "$out" ${lanes[$lane]} >"$out/lane$lane.log" 2>&1 &
        TK_LANE_PIDS+=("$!")
    done
    for n in "${main[@]}"; do
        tl_log "scenario ${n#*:} (ports $((10000 + 100 * TK_BLOCK + ${n%%:*})), $((30000 + 1000 * TK_BLOCK + 40 * ${n%%:*}))+)"
        tk_run_one "$out" "${n%%:*}" "${n#*:}" || rc=1
    done
    for pid in "${TK_LANE_PIDS[@]}"; do wait "$pid" || rc=1; done
    TK_LANE_PIDS=()
    for lane in $(printf '%s\n' "${!lanes[@]}" | sort -n); do
        tl_log "lane $lane:"
        cat -- "$out/lane$lane.log" >&2 && rm -f -- "$out/lane$lane.log"
    done
    [[ $TK_TRACE == 1 ]] && tl_trace_stop
    return $rc
}
