# shellcheck shell=bash
# tests/netns/lib.sh -- helpers for tests that drive REAL Linux kernel TCP
# traffic inside throw-away network namespaces and capture it with tcpdump.
#
# Source it from bash (>= 4.2):   . "$(dirname "$0")/lib.sh"
#
#   tl_netns_available            0 if we are root and `ip netns add` works;
#                                 non-zero otherwise (caller should exit 77)
#   tl_netns_up NAME              create netns NAME (deleting a stale one of the
#                                 same name), lo up, lo MTU 1500, TSO/GSO/GRO
#                                 off on lo (ethtool failure ignored);
#                                 registers NAME for cleanup and installs traps
#   tl_netns_down NAME            kill what runs in NAME, delete it
#   tl_ns NAME CMD...             run CMD inside netns NAME
#   tl_capture_start NS FILE [tcpdump args...]
#                                 tcpdump -i lo -U --immediate-mode -Z root -w FILE
#                                 inside NS; extra args are appended (a later
#                                 `-i any` overrides `-i lo`; a trailing BPF
#                                 filter works).  Returns once tcpdump printed
#                                 "listening on" (5 s timeout -> failure).
#   tl_capture_stop [FILE]        SIGINT the capture of FILE (all captures if no
#                                 FILE), wait (5 s, then SIGKILL + failure);
#                                 fails loudly if tcpdump reports packets
#                                 "dropped by kernel"/"by interface" > 0 or
#                                 exits non-zero.  Prints "<file>: N packets".
#   tl_ss_poll_start NS FILE INTERVAL_MS
#                                 poll `ss -tan` in NS every INTERVAL_MS; a
#                                 snapshot is appended to FILE, headed by
#                                 "# <epoch.usec> [label]", only when the output
#                                 changed since the previous one (so the file is
#                                 a log of state changes).
#   tl_ss_poll_stop [FILE]        stop the poller(s); each writes a last
#                                 snapshot labelled "final" before exiting.
#   tl_scenario_start HANDLE NS SCENARIO [scenario.py args...]
#                                 run `scenario.py SCENARIO --hold F ...` in NS
#                                 in the background; HANDLE is any word you
#                                 choose to refer to it later.
#   tl_scenario_wait_ready HANDLE [TIMEOUT_S]
#                                 wait until it printed READY-TO-STOP (default
#                                 20 s); fails (and shows its log) if it exited
#                                 or timed out.
#   tl_scenario_finish HANDLE     release it (it then exits), wait (10 s), and
#                                 return its exit status; log shown on failure.
#   tl_scenario_log HANDLE        path of its stdout+stderr log
#   tl_cleanup                    stop everything started here, delete all
#                                 registered namespaces and TL_WORKDIR.  Run
#                                 automatically from the EXIT/INT/TERM traps
#                                 that tl_netns_up installs; if you install
#                                 your own EXIT trap, call tl_cleanup from it.
#
# All functions are safe to call under `set -euo pipefail`.
#
# Variables: TL_WORKDIR (private temp dir, created on first use),
# TL_PYTHON (python3 used for scenario.py), TL_SCENARIO (path of scenario.py),
# TL_KEEP_WORKDIR=1 keeps TL_WORKDIR for debugging.
#
# Typical use:
#   . tests/netns/lib.sh
#   tl_netns_available || exit 77
#   tl_netns_up tl-t1
#   tl_ss_poll_start tl-t1 "$TL_WORKDIR/t1.ss" 10
#   tl_capture_start tl-t1 "$TL_WORKDIR/t1.pcap"
#   tl_scenario_start s tl-t1 normal --port 8080
#   tl_scenario_wait_ready s
#   tl_ss_poll_stop; tl_capture_stop       # capture ends before the process exits
#   tl_scenario_finish s
#   tl_netns_down tl-t1

TL_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${TL_SCENARIO:=$TL_LIB_DIR/scenario.py}"
: "${TL_PYTHON:=$(command -v python3 2>/dev/null)}"
# resolve pyenv-style shims to the real interpreter (cheaper, same pid on exec)
if [[ -n $TL_PYTHON ]]; then
    TL_PYTHON=$("$TL_PYTHON" -c 'import sys; print(sys.executable)' 2>/dev/null || echo "$TL_PYTHON")
fi

declare -ga TL_NETNS_LIST=()
declare -gA TL_CAP_PID=() TL_CAP_ERR=()
declare -gA TL_SS_PID=() TL_SS_STOP=()
declare -gA TL_SCN_PID=() TL_SCN_LOG=() TL_SCN_HOLD=()
TL_TRAPS_SET=${TL_TRAPS_SET:-0}

tl_log() { printf '[tl] %s\n' "$*" >&2; }
tl_err() { printf '[tl] ERROR: %s\n' "$*" >&2; }

tl_now() { printf '%s' "$EPOCHREALTIME"; }

# tl_workdir: create TL_WORKDIR on first use
tl_workdir() {
    local -; set +e   # callers may run under set -e; we check statuses ourselves
    if [[ -z ${TL_WORKDIR:-} || ! -d $TL_WORKDIR ]]; then
        TL_WORKDIR=$(mktemp -d /tmp/tl-netns.XXXXXX) || return 1
        TL_WORKDIR_OWNED=1
    fi
}

# tl_wait_pid PID TIMEOUT_S : wait until PID exits or timeout; 0 if it exited
tl_wait_pid() {
    local -; set +e
    local pid=$1 deadline
    deadline=$(( ${EPOCHREALTIME/./} + ${2%.*} * 1000000 ))
    while kill -0 "$pid" 2>/dev/null; do
        (( ${EPOCHREALTIME/./} > deadline )) && return 1
        sleep 0.01
    done
    return 0
}

tl_install_traps() {
    local -; set +e
    [[ $TL_TRAPS_SET == 1 ]] && return 0
    trap 'tl_cleanup' EXIT
    trap 'tl_cleanup; trap - EXIT; exit 130' INT
    trap 'tl_cleanup; trap - EXIT; exit 143' TERM
    TL_TRAPS_SET=1
}

tl_netns_available() {
    local -; set +e
    [[ $(id -u) -eq 0 ]] || { tl_log "not root"; return 1; }
    command -v ip >/dev/null 2>&1 || { tl_log "no ip(8)"; return 1; }
    local probe="tl-probe-$$"
    ip netns add "$probe" 2>/dev/null || { tl_log "ip netns add failed"; return 1; }
    ip netns exec "$probe" true 2>/dev/null || { ip netns del "$probe" 2>/dev/null; tl_log "ip netns exec failed"; return 1; }
    ip netns del "$probe" 2>/dev/null
    return 0
}

tl_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

tl_netns_up() {
    local -; set +e
    local ns=$1
    [[ -n $ns ]] || { tl_err "tl_netns_up: NAME missing"; return 1; }
    tl_install_traps
    tl_workdir || return 1
    if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$ns"; then
        tl_netns_down "$ns"
    fi
    ip netns add "$ns" || { tl_err "ip netns add $ns failed"; return 1; }
    TL_NETNS_LIST+=("$ns")
    ip -n "$ns" link set lo mtu 1500 || { tl_err "lo mtu in $ns"; return 1; }
    ip -n "$ns" link set lo up || { tl_err "lo up in $ns"; return 1; }
    ip netns exec "$ns" ethtool -K lo tso off gso off gro off >/dev/null 2>&1 ||
        tl_log "ethtool -K lo failed in $ns (ignored)"
    return 0
}

tl_netns_down() {
    local -; set +e
    local ns=$1 pid i
    [[ -n $ns ]] || return 0
    # end processes still running in the namespace (all were started by us)
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null; done
    for pid in $(ip netns pids "$ns" 2>/dev/null); do tl_wait_pid "$pid" 2 || kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
    for i in "${!TL_NETNS_LIST[@]}"; do
        [[ ${TL_NETNS_LIST[$i]} == "$ns" ]] && unset 'TL_NETNS_LIST[i]'
    done
    return 0
}

# ---------------------------------------------------------------- capture
tl_capture_start() {
    local -; set +e
    local ns=$1 file=$2; shift 2
    [[ -n $ns && -n $file ]] || { tl_err "usage: tl_capture_start NS FILE [tcpdump args]"; return 1; }
    [[ -n ${TL_CAP_PID[$file]:-} ]] && { tl_err "capture to $file already running"; return 1; }
    tl_workdir || return 1
    local err
    err="$TL_WORKDIR/tcpdump.${file##*/}.$RANDOM.err"
    rm -f -- "$file"
    : >"$err"
    ip netns exec "$ns" tcpdump -i lo -U --immediate-mode -Z root -w "$file" "$@" 2>"$err" &
    local pid=$!
    TL_CAP_PID[$file]=$pid
    TL_CAP_ERR[$file]=$err
    local deadline=$(( ${EPOCHREALTIME/./} + 5000000 ))
    until grep -q 'listening on' "$err"; do
        if ! kill -0 "$pid" 2>/dev/null || (( ${EPOCHREALTIME/./} > deadline )); then
            tl_err "tcpdump for $file did not start:"; sed 's/^/    /' "$err" >&2
            kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
            unset 'TL_CAP_PID[$file]' 'TL_CAP_ERR[$file]'
            return 1
        fi
        sleep 0.01
    done
    return 0
}

tl_capture_stop() {
    local -; set +e
    local files=("$@") f rc=0
    (( ${#files[@]} )) || files=("${!TL_CAP_PID[@]}")
    for f in "${files[@]}"; do
        local pid=${TL_CAP_PID[$f]:-} err=${TL_CAP_ERR[$f]:-} st=0
        [[ -n $pid ]] || { tl_err "no capture running for $f"; rc=1; continue; }
        sleep 0.1   # let the last packets reach the ring (immediate mode anyway)
        kill -INT "$pid" 2>/dev/null
        if ! tl_wait_pid "$pid" 5; then
            tl_err "tcpdump for $f ignored SIGINT; killing"
            kill -KILL "$pid" 2>/dev/null; rc=1
        fi
        wait "$pid" 2>/dev/null; st=$?
        unset 'TL_CAP_PID[$f]' 'TL_CAP_ERR[$f]'
        local dk di got
        dk=$(awk '/dropped by kernel/ {print $1}' "$err")
        di=$(awk '/dropped by interface/ {print $1}' "$err")
        got=$(awk '/packets captured/ {print $1}' "$err")
        if (( st != 0 && st != 130 )); then
            tl_err "tcpdump for $f exited with status $st:"; sed 's/^/    /' "$err" >&2; rc=1
        fi
        if [[ -z $got ]]; then
            tl_err "tcpdump for $f printed no statistics:"; sed 's/^/    /' "$err" >&2; rc=1
        fi
        if (( ${dk:-0} > 0 || ${di:-0} > 0 )); then
            tl_err "CAPTURE INCOMPLETE: $f: ${dk:-0} packets dropped by kernel, ${di:-0} by interface"; rc=1
        fi
        tl_log "$f: ${got:-?} packets"
    done
    return $rc
}

# ---------------------------------------------------------------- ss poll
tl_ss_poll_start() {
    local -; set +e
    local ns=$1 file=$2 ms=${3:-20}
    [[ -n $ns && -n $file ]] || { tl_err "usage: tl_ss_poll_start NS FILE INTERVAL_MS"; return 1; }
    [[ -n ${TL_SS_PID[$file]:-} ]] && { tl_err "ss poll to $file already running"; return 1; }
    tl_workdir || return 1
    local stop iv
    stop="$TL_WORKDIR/ss.${file##*/}.$RANDOM.stop"
    rm -f -- "$stop"
    iv=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
    : >"$file"
    # shellcheck disable=SC2016
    ip netns exec "$ns" bash -c '
        stop=$1 iv=$2 parent=$3 prev= cur=
        trap "" INT
        while kill -0 "$parent" 2>/dev/null; do
            cur=$(ss -tan 2>&1)
            if [[ -e $stop ]]; then
                printf "# %s final\n%s\n" "$EPOCHREALTIME" "$cur"
                exit 0
            fi
            if [[ $cur != "$prev" ]]; then
                printf "# %s\n%s\n" "$EPOCHREALTIME" "$cur"
                prev=$cur
            fi
            sleep "$iv"
        done' tl-ss-poll "$stop" "$iv" "$$" >>"$file" 2>&1 &
    TL_SS_PID[$file]=$!
    TL_SS_STOP[$file]=$stop
    # make sure the first snapshot is on disk before traffic starts
    local deadline=$(( ${EPOCHREALTIME/./} + 3000000 ))
    until [[ -s $file ]]; do
        (( ${EPOCHREALTIME/./} > deadline )) && { tl_err "ss poller for $file wrote nothing"; return 1; }
        kill -0 "${TL_SS_PID[$file]}" 2>/dev/null || { tl_err "ss poller for $file died"; return 1; }
        sleep 0.005
    done
    return 0
}

tl_ss_poll_stop() {
    local -; set +e
    local files=("$@") f rc=0
    (( ${#files[@]} )) || files=("${!TL_SS_PID[@]}")
    for f in "${files[@]}"; do
        local pid=${TL_SS_PID[$f]:-}
        [[ -n $pid ]] || { tl_err "no ss poller for $f"; rc=1; continue; }
        : >"${TL_SS_STOP[$f]}"
        if ! tl_wait_pid "$pid" 5; then
            tl_err "ss poller for $f did not stop; killing"; kill -KILL "$pid" 2>/dev/null; rc=1
        fi
        wait "$pid" 2>/dev/null
        rm -f -- "${TL_SS_STOP[$f]}"
        unset 'TL_SS_PID[$f]' 'TL_SS_STOP[$f]'
    done
    return $rc
}

# ---------------------------------------------------------------- scenarios
tl_scenario_start() {
    local -; set +e
    local h=$1 ns=$2 scn=$3; shift 3
    [[ -n $h && -n $ns && -n $scn ]] || { tl_err "usage: tl_scenario_start HANDLE NS SCENARIO [args]"; return 1; }
    [[ -n ${TL_SCN_PID[$h]:-} ]] && { tl_err "scenario handle $h in use"; return 1; }
    [[ -n $TL_PYTHON ]] || { tl_err "python3 not found"; return 1; }
    tl_workdir || return 1
    local log="$TL_WORKDIR/scenario.$h.log" hold="$TL_WORKDIR/scenario.$h.hold"
    rm -f -- "$hold"; : >"$log"
    ip netns exec "$ns" "$TL_PYTHON" -u "$TL_SCENARIO" "$scn" --hold "$hold" "$@" >"$log" 2>&1 &
    TL_SCN_PID[$h]=$!
    TL_SCN_LOG[$h]=$log
    TL_SCN_HOLD[$h]=$hold
}

tl_scenario_log() { printf '%s\n' "${TL_SCN_LOG[$1]:-}"; }

tl_scenario_wait_ready() {
    local -; set +e
    local h=$1 t=${2:-20} pid=${TL_SCN_PID[$1]:-}
    [[ -n $pid ]] || { tl_err "no scenario $h"; return 1; }
    local deadline=$(( ${EPOCHREALTIME/./} + t * 1000000 ))
    until grep -q '^READY-TO-STOP' "${TL_SCN_LOG[$h]}"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            grep -q '^READY-TO-STOP' "${TL_SCN_LOG[$h]}" && return 0
            tl_err "scenario $h exited before READY-TO-STOP:"; sed 's/^/    /' "${TL_SCN_LOG[$h]}" >&2
            return 1
        fi
        if (( ${EPOCHREALTIME/./} > deadline )); then
            tl_err "scenario $h not ready after ${t}s:"; sed 's/^/    /' "${TL_SCN_LOG[$h]}" >&2
            return 1
        fi
        sleep 0.01
    done
    return 0
}

tl_scenario_finish() {
    local -; set +e
    local h=$1 pid=${TL_SCN_PID[$1]:-} st
    [[ -n $pid ]] || { tl_err "no scenario $h"; return 1; }
    : >"${TL_SCN_HOLD[$h]}"
    if ! tl_wait_pid "$pid" 10; then
        tl_err "scenario $h did not exit; killing"; kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null; st=$?
    unset 'TL_SCN_PID[$h]'
    if (( st != 0 )); then
        tl_err "scenario $h failed (status $st):"; sed 's/^/    /' "${TL_SCN_LOG[$h]}" >&2
    fi
    return $st
}

# ---------------------------------------------------------------- cleanup
tl_cleanup() {
    local -; set +e
    local k ns
    for k in "${!TL_SCN_PID[@]}"; do
        kill -KILL "${TL_SCN_PID[$k]}" 2>/dev/null; wait "${TL_SCN_PID[$k]}" 2>/dev/null
    done
    TL_SCN_PID=()
    for k in "${!TL_CAP_PID[@]}"; do
        kill -INT "${TL_CAP_PID[$k]}" 2>/dev/null
        tl_wait_pid "${TL_CAP_PID[$k]}" 2 || kill -KILL "${TL_CAP_PID[$k]}" 2>/dev/null
        wait "${TL_CAP_PID[$k]}" 2>/dev/null
    done
    TL_CAP_PID=()
    for k in "${!TL_SS_PID[@]}"; do
        kill -KILL "${TL_SS_PID[$k]}" 2>/dev/null; wait "${TL_SS_PID[$k]}" 2>/dev/null
    done
    TL_SS_PID=()
    for ns in "${TL_NETNS_LIST[@]}"; do tl_netns_down "$ns"; done
    TL_NETNS_LIST=()
    if [[ ${TL_WORKDIR_OWNED:-0} == 1 && -d ${TL_WORKDIR:-} && ${TL_KEEP_WORKDIR:-0} != 1 ]]; then
        rm -rf -- "$TL_WORKDIR"
    fi
    return 0
}
