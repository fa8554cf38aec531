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
#                                 a log of state changes).  TL_SS_ARGS (default
#                                 "-tan") are the ss options; TL_SS_T0=1 appends
#                                 " t0=<epoch.usec>" (the time just BEFORE ss ran)
#                                 to every header, so a snapshot is known to
#                                 lie within [t0, header time].  TL_SS_SAME=1 also
#                                 logs unchanged snapshots, as a bare header
#                                 "# <epoch.usec>[ t0=...] same" (content as the
#                                 previous snapshot), so every poll is timed.
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
#   tl_scenario_wait_gate HANDLE NAME [TIMEOUT_S]
#                                 wait until it printed "GATE NAME" (it then
#                                 waits for tl_scenario_open_gate); like
#                                 tl_scenario_wait_ready otherwise
#   tl_scenario_open_gate HANDLE NAME
#                                 let it continue past gate NAME
#   tl_sysctl NS KEY=VALUE...     sysctl -w inside NS (fails if a key is missing)
#   tl_trace_start FILTER         private tracefs instance with the
#                                 sock:inet_sock_set_state event (fields
#                                 format, clock mono) and FILTER (tracefs filter
#                                 syntax); mounts tracefs if needed.  Trace
#                                 time is CLOCK_MONOTONIC (fields format has no
#                                 marker text: measure the offset to wall-clock
#                                 time yourself).  Fails if
#                                 tracing is unavailable (callers fall back to
#                                 ss only).  Removed by tl_trace_stop/tl_cleanup.
#   tl_trace_take FILE            append the instance's buffer to FILE, clear it;
#                                 fails if events were lost (overrun)
#   tl_trace_stop                 remove the instance (and unmount tracefs if
#                                 we mounted it and nothing else uses it)
#   tl_cleanup                    stop everything started here, delete all
#                                 registered namespaces and TL_WORKDIR.  Run
#                                 automatically from the EXIT/INT/TERM traps
#                                 that tl_netns_up installs; if you install
#                                 your own EXIT trap, call tl_cleanup from it.
#                                 Also removes the tracing instance.
#                                 Calls the functions named in the array
#                                 TL_CLEANUP_HOOKS first.
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
declare -ga TL_CLEANUP_HOOKS=()   # functions tl_cleanup calls first
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
        stop=$1 iv=$2 parent=$3 args=$4 t0flag=$5 same=$6 prev= cur= t0= t0s=
        trap "" INT
        read -r -a ssargs <<<"$args"
        while kill -0 "$parent" 2>/dev/null; do
            t0=$EPOCHREALTIME
            cur=$(ss "${ssargs[@]}" 2>&1)
            [[ $t0flag == 1 ]] && t0s=" t0=$t0"
            if [[ -e $stop ]]; then
                printf "# %s final%s\n%s\n" "$EPOCHREALTIME" "$t0s" "$cur"
                exit 0
            fi
            if [[ $cur != "$prev" ]]; then
                printf "# %s%s\n%s\n" "$EPOCHREALTIME" "$t0s" "$cur"
                prev=$cur
            elif [[ $same == 1 ]]; then
                printf "# %s%s same\n" "$EPOCHREALTIME" "$t0s"
            fi
            sleep "$iv"
        done' tl-ss-poll "$stop" "$iv" "$$" "${TL_SS_ARGS:--tan}" "${TL_SS_T0:-0}" "${TL_SS_SAME:-0}" >>"$file" 2>&1 &
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

# tl_scenario_wait_gate HANDLE NAME [TIMEOUT_S]: scenario printed "GATE NAME"
tl_scenario_wait_gate() {
    local -; set +e
    local h=$1 g=$2 t=${3:-20} pid=${TL_SCN_PID[$1]:-}
    [[ -n $pid && -n $g ]] || { tl_err "usage: tl_scenario_wait_gate HANDLE NAME [TIMEOUT]"; return 1; }
    local deadline=$(( ${EPOCHREALTIME/./} + t * 1000000 ))
    until grep -qx -- "GATE $g" "${TL_SCN_LOG[$h]}"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            grep -qx -- "GATE $g" "${TL_SCN_LOG[$h]}" && return 0
            tl_err "scenario $h exited before GATE $g:"; sed 's/^/    /' "${TL_SCN_LOG[$h]}" >&2
            return 1
        fi
        if (( ${EPOCHREALTIME/./} > deadline )); then
            tl_err "scenario $h did not reach GATE $g after ${t}s:"; sed 's/^/    /' "${TL_SCN_LOG[$h]}" >&2
            return 1
        fi
        sleep 0.005
    done
    return 0
}

# tl_scenario_open_gate HANDLE NAME: let the scenario continue past GATE NAME
tl_scenario_open_gate() {
    local -; set +e
    [[ -n ${TL_SCN_HOLD[$1]:-} && -n ${2:-} ]] || { tl_err "no scenario $1 / gate"; return 1; }
    : >"${TL_SCN_HOLD[$1]}.$2"
}

# tl_sysctl NS KEY=VALUE...
tl_sysctl() {
    local -; set +e
    local ns=$1 kv rc=0; shift
    for kv in "$@"; do
        ip netns exec "$ns" sysctl -q -w "$kv" >/dev/null 2>&1 ||
            { tl_err "sysctl $kv in $ns failed"; rc=1; }
    done
    return $rc
}

# ---------------------------------------------------------------- tracing
TL_TRACE_INST=${TL_TRACE_INST:-}
TL_TRACE_MOUNTED=${TL_TRACE_MOUNTED:-}
TL_TRACE_WHY=

# shellcheck disable=SC2034  # TL_TRACE_WHY is read by callers
tl_trace_start() {
    local -; set +e
    local filter=$1 fs='' d ev
    TL_TRACE_WHY=
    [[ -z $TL_TRACE_INST ]] || { tl_err "tracing instance already active"; return 1; }
    for d in /sys/kernel/tracing /sys/kernel/debug/tracing; do
        [[ -d $d/instances ]] && { fs=$d; break; }
    done
    if [[ -z $fs && -d /sys/kernel/tracing ]]; then
        if mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; then
            fs=/sys/kernel/tracing; TL_TRACE_MOUNTED=$fs
            tl_install_traps
        fi
    fi
    [[ -n $fs ]] || { TL_TRACE_WHY="tracefs not available (mount -t tracefs failed)"; return 1; }
    [[ -d $fs/events/sock/inet_sock_set_state ]] ||
        { TL_TRACE_WHY="no sock:inet_sock_set_state tracepoint in $fs"; tl_trace_stop; return 1; }
    TL_TRACE_INST="$fs/instances/tl-$$-$BASHPID-$RANDOM"   # BASHPID: a subshell's own
    tl_install_traps
    mkdir "$TL_TRACE_INST" 2>/dev/null ||
        { TL_TRACE_WHY="cannot create tracing instance $TL_TRACE_INST"; TL_TRACE_INST=; tl_trace_stop; return 1; }
    ev=$TL_TRACE_INST/events/sock/inet_sock_set_state
    echo mono >"$TL_TRACE_INST/trace_clock" 2>/dev/null || tl_log "trace_clock mono unavailable, using default"
    echo 1 >"$TL_TRACE_INST/options/fields" 2>/dev/null || tl_log "trace option fields unavailable"
    echo 1024 >"$TL_TRACE_INST/buffer_size_kb" 2>/dev/null
    if ! printf '%s\n' "$filter" >"$ev/filter" 2>/dev/null; then
        TL_TRACE_WHY="bad trace filter: $filter"; tl_trace_stop; return 1
    fi
    echo 1 >"$ev/enable" 2>/dev/null || { TL_TRACE_WHY="cannot enable $ev"; tl_trace_stop; return 1; }
    echo 1 >"$TL_TRACE_INST/tracing_on" 2>/dev/null
    return 0
}

tl_trace_take() {
    local -; set +e
    local file=$1 f over=0 n
    [[ -n $TL_TRACE_INST ]] || return 1
    grep -v '^#' "$TL_TRACE_INST/trace" >>"$file" 2>/dev/null
    for f in "$TL_TRACE_INST"/per_cpu/cpu*/stats; do
        [[ -r $f ]] || continue
        n=$(awk '$1 == "overrun:" {print $2}' "$f"); over=$((over + ${n:-0}))
    done
    : >"$TL_TRACE_INST/trace" 2>/dev/null
    if (( over > 0 )); then tl_err "tracing buffer overrun: $over events lost"; return 1; fi
    return 0
}

tl_trace_stop() {
    local -; set +e
    if [[ -n $TL_TRACE_INST && -d $TL_TRACE_INST ]]; then
        echo 0 >"$TL_TRACE_INST/events/sock/inet_sock_set_state/enable" 2>/dev/null
        echo 0 >"$TL_TRACE_INST/tracing_on" 2>/dev/null
        rmdir "$TL_TRACE_INST" 2>/dev/null || tl_err "could not remove tracing instance $TL_TRACE_INST"
    fi
    TL_TRACE_INST=
    if [[ -n $TL_TRACE_MOUNTED ]]; then
        # only if nobody else created instances meanwhile; umount fails if busy
        if [[ -z $(ls -A "$TL_TRACE_MOUNTED/instances" 2>/dev/null) ]]; then
            umount "$TL_TRACE_MOUNTED" 2>/dev/null || tl_log "tracefs left mounted (busy)"
        fi
        TL_TRACE_MOUNTED=
    fi
    return 0
}

# ---------------------------------------------------------------- cleanup
tl_cleanup() {
    local -; set +e
    local k ns
    for k in "${TL_CLEANUP_HOOKS[@]}"; do "$k"; done
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
    tl_trace_stop
    if [[ ${TL_WORKDIR_OWNED:-0} == 1 && -d ${TL_WORKDIR:-} && ${TL_KEEP_WORKDIR:-0} != 1 ]]; then
        rm -rf -- "$TL_WORKDIR"
    fi
    return 0
}
