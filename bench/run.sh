#!/usr/bin/env bash
# bench/run.sh - how close does tcplens run to a bare libpcap read loop?
#
# Builds the generator and the bare loop, makes (once) a large synthetic
# capture, warms it into the page cache, then runs the bare loop and each
# command in ONE paired run: round after round, every command once per
# round, in the same order.  Alternating spreads slow drifts (thermal,
# noisy neighbours, page-cache churn) over all commands alike, which two
# separate runs would not.  Prints a markdown table for docs/performance.md.
#
# See bench/README.md for what each number means.
set -euo pipefail
export LC_ALL=C     # a decimal point, not a comma, in EPOCHREALTIME and awk

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
    cat <<'EOF'
usage: bench/run.sh [options]
  --quick              1M packets in ~100k connections instead of 10M in ~1M
  --input FILE         capture to measure (generated first if missing)
                       [env BENCH_INPUT; default BUILD/synth-<params>.pcap]
  --packets N          packets to generate       [10000000; --quick 1000000]
  --connections N      connections to generate   [packets / 10]
  --concurrency N      connections in flight     [1000]
  --seed N             generator seed            [1]
  --rounds R           rounds of the paired run  [env ROUNDS; 5]
  --args 'ARGS'        measure "$TCPLENS ARGS"; {} stands for the input.
                       Repeatable; replaces the two default commands:
                         -r {} --json /dev/null
                         -r {} --ndjson --json /dev/null
  --cmd 'COMMAND'      also measure any shell command; {} is the input
  --with-tools         also measure tshark -q -z conv,tcp and tcptrace -n,
                       each only if installed
  --tool-rounds N      rounds the --with-tools commands take part in [1]
  --no-tcplens         measure only the bare loop and the other commands
  --build-dir DIR      where binaries, inputs and results go
                       [env BENCH_BUILD; default bench/build]
  --out FILE           also write the markdown report to FILE
env: TCPLENS      the tcplens binary [default: bench/../tcplens]
     CC           C compiler [cc]
     BENCH_TIMER  "bash" forces the fallback timer (no /usr/bin/time)
EOF
}

die() { printf 'run.sh: %s\n' "$*" >&2; exit 2; }
note() { printf 'run.sh: %s\n' "$*" >&2; }

# ---- options ---------------------------------------------------------------

tcplens=${TCPLENS:-$bench_dir/../tcplens}
build=${BENCH_BUILD:-$bench_dir/build}
input=${BENCH_INPUT:-}
rounds=${ROUNDS:-5}
packets='' conns='' concurrency=1000 seed=1 quick=0
with_tools=0 tool_rounds=1 use_tcplens=1 out_file=''
tl_args=() extra_cmds=()

need_arg() { [[ $# -ge 2 ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
    case $1 in
    --quick) quick=1 ;;
    --input) need_arg "$@"; input=$2; shift ;;
    --packets) need_arg "$@"; packets=$2; shift ;;
    --connections) need_arg "$@"; conns=$2; shift ;;
    --concurrency) need_arg "$@"; concurrency=$2; shift ;;
    --seed) need_arg "$@"; seed=$2; shift ;;
    --rounds) need_arg "$@"; rounds=$2; shift ;;
    --args) need_arg "$@"; tl_args+=("$2"); shift ;;
    --cmd) need_arg "$@"; extra_cmds+=("$2"); shift ;;
    --with-tools) with_tools=1 ;;
    --tool-rounds) need_arg "$@"; tool_rounds=$2; shift ;;
    --no-tcplens) use_tcplens=0 ;;
    --build-dir) need_arg "$@"; build=$2; shift ;;
    --out) need_arg "$@"; out_file=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
    esac
    shift
done

is_count() { [[ $1 =~ ^[0-9]+$ && $1 -gt 0 ]]; }
[[ -z $packets ]] && { ((quick)) && packets=1000000 || packets=10000000; }
[[ -z $conns ]] && conns=$((packets / 10))
for v in "$packets" "$conns" "$concurrency" "$rounds" "$tool_rounds"; do
    is_count "$v" || die "'$v' is not a positive integer"
done
[[ $seed =~ ^[0-9]+$ ]] || die "--seed wants a number"
((${#tl_args[@]})) || tl_args=('-r {} --json /dev/null'
                               '-r {} --ndjson --json /dev/null')

# ---- build -----------------------------------------------------------------

# Rebuild only when the source is newer, so repeated runs start at once.
compile() {
    local out=$1 src=$2; shift 2
    [[ -x $out && $out -nt $src ]] && return 0
    note "building $(basename "$out")"
    "${CC:-cc}" -O2 -std=c11 -Wall -Wextra -o "$out" "$src" "$@" ||
        die "cannot build $out"
}

build_tools() {
    mkdir -p "$build"
    command -v "${CC:-cc}" >/dev/null || die "no C compiler (apt-get install -y gcc)"
    command -v pkg-config >/dev/null ||
        die "pkg-config missing (apt-get install -y pkg-config)"
    pkg-config --exists libpcap ||
        die "libpcap development files missing (apt-get install -y libpcap-dev)"
    compile "$build/gen" "$bench_dir/gen.c"
    # shellcheck disable=SC2046  # pkg-config output is meant to split
    compile "$build/bare_loop" "$bench_dir/bare_loop.c" \
        $(pkg-config --cflags libpcap) $(pkg-config --libs libpcap)
}

check_tcplens() {
    ((use_tcplens)) || return 0
    [[ -x $tcplens && ! -d $tcplens ]] ||
        die "tcplens is not built: no executable at $tcplens
  build it first (./autogen.sh && ./configure && make in the top directory),
  point TCPLENS=/path/to/tcplens at one, or pass --no-tcplens"
    tcplens=$(cd "$(dirname "$tcplens")" && pwd)/$(basename "$tcplens")
}

# ---- input -----------------------------------------------------------------

# Written under a temporary name and renamed, so an interrupted run never
# leaves a short file that the next run would take for the real input.
make_input() {
    [[ -n $input ]] ||
        input=$build/synth-${packets}p-${conns}c-C${concurrency}-s${seed}.pcap
    # A file we generated (it has a .gen.txt beside it) is stale once the
    # generator has been rebuilt: the same options may now mean other bytes.
    if [[ -e $input.gen.txt && $build/gen -nt $input.gen.txt ]]; then
        note "generator changed since $input was made: regenerating"
        rm -f "$input"
    fi
    [[ -e $input ]] && return 0
    note "generating $input"
    mkdir -p "$(dirname "$input")"
    if ! "$build/gen" -n "$packets" -c "$conns" -C "$concurrency" \
            -s header-only --seed "$seed" -o "$input.tmp" 2>"$input.gen.txt"; then
        cat "$input.gen.txt" >&2
        rm -f "$input.tmp" "$input.gen.txt"
        die "generator failed"
    fi
    cat "$input.gen.txt" >&2    # kept: the report quotes its connection count
    mv "$input.tmp" "$input"
}

# ---- measuring -------------------------------------------------------------

have_gnu_time=0
pick_timer() {
    if [[ ${BENCH_TIMER:-} != bash && -x /usr/bin/time ]] &&
        /usr/bin/time -f %e true 2>/dev/null; then
        have_gnu_time=1
        return
    fi
    note "NOTE: /usr/bin/time (GNU time) is not installed: apt-get install -y time"
    note "      falling back to bash's time keyword; peak RSS is sampled from"
    note "      /proc every 50 ms and may read low for short or spiky commands"
}

# Peak RSS of a running pid: the kernel's own high-water mark.
hwm_kb() {
    local key val _
    while read -r key val _; do
        [[ $key == VmHWM: ]] && { printf '%s' "$val"; return; }
    done <"/proc/$1/status" 2>/dev/null
}

# Prints the highest VmHWM seen while pid $1 lives.  It runs beside the
# command, not around it, so its own polling never lands in the timings.
sample_rss() {
    local pid=$1 peak=0 cur fifo_fd
    exec {fifo_fd}<>"$tmp/tick"     # read -t on it is a sleep with no fork
    while kill -0 "$pid" 2>/dev/null; do
        cur=$(hwm_kb "$pid")
        [[ -n $cur && $cur -gt $peak ]] && peak=$cur
        read -r -t 0.05 -u "$fifo_fd" _ || true
    done
    echo "$peak"
}

# Fallback timer: bash's time keyword around the wait that reaps the
# command, so user/sys are the command's own (rusage of reaped children).
# Sets the caller's t0/t1 itself so that the wall time stops at the reap,
# not when the sampler next wakes up.
time_with_bash() {
    local cmd=$1 out=$2 err=$3 pid spid rc=0 TIMEFORMAT='%3U %3S'
    t0=$EPOCHREALTIME
    bash -c "$cmd" >"$out" 2>"$err" &
    pid=$!
    sample_rss "$pid" >"$tmp/rss" &
    spid=$!
    { time wait "$pid" ; } 2>"$tmp/time" || rc=$?
    t1=$EPOCHREALTIME
    wait "$spid"
    return "$rc"
}

# measure CMD OUT ERR -> prints "wall user sys rss_kb"; returns CMD's status.
measure() {
    local cmd=$1 out=$2 err=$3 t0 t1 rc=0 cpu
    if ((have_gnu_time)); then
        t0=$EPOCHREALTIME
        /usr/bin/time -f '%U %S %M' -o "$tmp/time" bash -c "$cmd" \
            >"$out" 2>"$err" || rc=$?
        t1=$EPOCHREALTIME
        cpu=$(tail -n 1 "$tmp/time")
    else
        time_with_bash "$cmd" "$out" "$err" || rc=$?
        cpu="$(tail -n 1 "$tmp/time") $(cat "$tmp/rss")"
    fi
    ((rc == 0)) || return "$rc"
    awk -v a="$t0" -v b="$t1" -v c="$cpu" 'BEGIN { printf "%.6f %s\n", b - a, c }'
}

# ---- commands --------------------------------------------------------------

labels=() cmds=() is_tool=()

add_cmd() {     # add_cmd LABEL COMMAND TOOL?
    local q
    printf -v q '%q' "$input"
    labels+=("$1")
    cmds+=("${2//\{\}/$q}")
    is_tool+=("$3")
}

collect_cmds() {
    local a q
    add_cmd 'bare_loop FILE' "$(printf '%q' "$build/bare_loop") {}" 0
    if ((use_tcplens)); then
        printf -v q '%q' "$tcplens"
        for a in "${tl_args[@]}"; do
            add_cmd "tcplens ${a//\{\}/FILE}" "$q $a" 0
        done
    fi
    for a in "${extra_cmds[@]}"; do
        add_cmd "${a//\{\}/FILE}" "$a" 0
    done
    ((with_tools)) || return 0
    if command -v tshark >/dev/null; then
        add_cmd 'tshark -q -z conv,tcp -r FILE' 'tshark -q -z conv,tcp -r {}' 1
    else
        note "--with-tools: tshark not installed, skipped"
    fi
    if command -v tcptrace >/dev/null; then
        add_cmd 'tcptrace -n FILE' 'tcptrace -n {}' 1
    else
        note "--with-tools: tcptrace not installed, skipped"
    fi
}

# ---- the paired run --------------------------------------------------------

run_rounds() {
    local r i res rc
    : >"$runs"
    for ((r = 1; r <= rounds; r++)); do
        for i in "${!cmds[@]}"; do
            ((is_tool[i] && r > tool_rounds)) && continue
            note "round $r/$rounds: ${labels[i]}"
            rc=0
            res=$(measure "${cmds[i]}" "$tmp/out.$i" "$tmp/err.$i") || rc=$?
            if ((rc)); then
                note "command failed (exit $rc): ${cmds[i]}"
                tail -n 5 "$tmp/err.$i" >&2
                exit 1
            fi
            printf '%d %d %s\n' "$i" "$r" "$res" >>"$runs"
        done
    done
}

# median of the numbers on stdin
median() {
    sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

column_of() {   # column_of CMD_INDEX FIELD
    awk -v i="$1" -v f="$2" '$1 == i { print $f }' "$runs"
}

# ---- report ----------------------------------------------------------------

describe_input() {
    local size
    size=$(stat -c %s "$input")
    # shellcheck disable=SC2016  # the backquotes are markdown
    printf -- '- input: `%s`, %s packets, %.1f MB' "$(basename "$input")" \
        "$packets_read" "$(awk -v s="$size" 'BEGIN { print s / 1e6 }')"
    if [[ -f $input.gen.txt ]]; then
        printf ' (synthetic, header-only: %s)' \
            "$(sed -n 's/^gen: [0-9]* packets, \([0-9]* connections\).*/\1/p' \
                "$input.gen.txt")"
    fi
    printf '\n'
}

describe_machine() {
    local cpu
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
    printf -- '- machine: %s, %s cores, Linux %s, libpcap %s\n' \
        "${cpu:-unknown CPU}" "$(nproc)" "$(uname -r)" \
        "$(pkg-config --modversion libpcap)"
    printf -- '- method: %d rounds, commands alternating within each round' "$rounds"
    ((with_tools)) && printf ' (other tools: %d round(s))' "$tool_rounds"
    printf '; page cache warm; medians; timer: %s\n' \
        "$( ((have_gnu_time)) && echo 'GNU time' || echo 'bash time + /proc')"
}

table_row() {   # table_row INDEX BARE_WALL
    local i=$1 bare=$2 walls wall lo hi cpu rss
    walls=$(column_of "$i" 3)
    wall=$(median <<<"$walls")
    lo=$(sort -g <<<"$walls" | head -n 1)
    hi=$(sort -g <<<"$walls" | tail -n 1)
    cpu=$(awk -v i="$i" '$1 == i { print $4 + $5 }' "$runs" | median)
    rss=$(column_of "$i" 6 | sort -g | tail -n 1)
    awk -v l="${labels[i]}" -v w="$wall" -v lo="$lo" -v hi="$hi" -v c="$cpu" \
        -v m="$rss" -v p="$packets_read" -v b="$bare" 'BEGIN {
        printf "| `%s` | %.3f | %.3f–%.3f | %.3f | %.1f | %.2f | %.2f |\n",
            l, w, lo, hi, c, m / 1024, p / w / 1e6, w / b }'
}

report() {
    local bare i
    bare=$(column_of 0 3 | median)
    printf '### tcplens against a bare libpcap read loop\n\n'
    describe_input
    describe_machine
    printf '\n| command | wall s (median) | wall s (min–max) | user+sys s (median) '
    printf '| peak RSS MiB | Mpackets/s | × bare loop |\n'
    printf '|---|---:|---:|---:|---:|---:|---:|\n'
    for i in "${!cmds[@]}"; do
        table_row "$i" "$bare"
    done
    # shellcheck disable=SC2016  # the backquotes are markdown
    printf '\n`bare_loop` only calls pcap_next_ex() on every packet: no tool '
    printf 'reading the file through libpcap can be faster. Mpackets/s = packets '
    printf '/ median wall time; × bare loop = median wall time / bare_loop'"'"'s '
    printf 'median wall time.\n'
}

# ---- main ------------------------------------------------------------------

main() {
    local stamp result
    build_tools
    check_tcplens
    make_input
    [[ -r $input ]] || die "cannot read $input"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    mkfifo "$tmp/tick"
    pick_timer
    collect_cmds
    note "warming the page cache with one read of $input"
    cat "$input" >/dev/null
    stamp=$(date -u +%Y%m%d-%H%M%S)
    runs=$build/runs-$stamp.tsv
    run_rounds
    packets_read=$(awk '{ print $2; exit }' "$tmp/out.0")
    result=$build/results-$stamp.md
    report | tee "$result"
    [[ -z $out_file ]] || cp "$result" "$out_file"
    note "raw runs: $runs (index round wall user sys rss_kb); report: $result"
}

main
