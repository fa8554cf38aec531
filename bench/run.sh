#!/usr/bin/env bash
# bench/run.sh - how fast is tcplens, next to the limit and to other tools?
#
# Builds the generator, the bare loop and the floor (flow_loop.c, linked
# with the library beside tcplens), makes (once) a large synthetic
# capture, warms it into the page cache, then runs the bare loop, the
# floor, tcplens and (with --with-tools) tshark, tcptrace and argus+ra in
# ONE paired run:
# round after round, every command once per round, in the same order.
# Alternating spreads slow drifts (thermal, noisy neighbours, page-cache
# churn) over all commands alike, which separate runs would not.  Prints
# markdown tables for docs/performance.md: one per input with --preset all,
# one across input sizes with --scaling.
#
# See bench/README.md for what each number means.
set -euo pipefail
export LC_ALL=C     # a decimal point, not a comma, in EPOCHREALTIME and awk

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
    cat <<'EOF'
usage: bench/run.sh [options]
inputs (generated once into the build directory, reused afterwards):
  --preset NAME        triage10m   10M header-only packets, ~1M connections
                                   (the default input)
                       full1500mb  ~1.5 GB of full frames, ~56 % of them
                                   1514 bytes (long connections)
                       short5m     5M packets of one-request connections,
                                   200k of them open at once
                       all         the three, one after the other, one
                                   table each
  --quick              a tenth of the packets and connections (short5m:
                       also a tenth of the concurrency; full1500mb: 100 at once)
  --packets N          packets to generate        [preset's]
  --connections N      connections to generate    [preset's]
  --concurrency N      connections in flight      [preset's]
  --full               frames with their payload (gen -s full)
  --seed N             generator seed             [1]
  --input FILE         measure this capture (generated first if missing)
                       [env BENCH_INPUT]
commands:
  --args 'ARGS'        measure "$TCPLENS ARGS"; {} stands for the input.
                       Repeatable; replaces the two default commands, on
                       one core as docs/design.md section 6 measures it:
                         -r {} --threads 1 --anomalies-only --json -  (triage)
                         -r {} --threads 1 --ndjson  (every connection)
  --cmd 'COMMAND'      also measure any shell command; {} is the input
  --with-tools         also measure, each if installed:
                         tshark -n -q -z conv,tcp -r {}
                         tcptrace -n {}
                         argus -X -r {} -w - | ra -n -r -
  --tool-rounds N      rounds the --with-tools commands take part in [1]
  --tool-timeout S     stop a --with-tools command after S seconds and
                       report it as timed out                      [900]
  --no-tcplens         measure only the bare loop and the other commands
modes:
  --rounds R           rounds of the paired run [env ROUNDS; 5]
  --scaling            the bare loop and the tcplens commands at three input
                       sizes (1M, 3M, 10M packets; --quick 100k, 300k, 1M;
                       10 packets per connection, same concurrency): how
                       time and memory grow with the capture's length
  --sizes 'N N N'      the sizes --scaling uses
  --gen-only           make the input(s) the other options name, then stop
output:
  --build-dir DIR      where binaries, inputs and results go
                       [env BENCH_BUILD; default bench/build]
  --out FILE           also write the markdown report to FILE
env: TCPLENS      the tcplens binary [default: build/tcplens, else ./tcplens]
     CC           C compiler [cc]
     BENCH_TIMER  "bash" forces the fallback timer (no /usr/bin/time)
EOF
}

die() { printf 'run.sh: %s\n' "$*" >&2; exit 2; }
note() { printf 'run.sh: %s\n' "$*" >&2; }

# ---- options ---------------------------------------------------------------

tcplens=${TCPLENS:-}
if [[ -z $tcplens ]]; then   # the README's build directory, else an in-place build
    tcplens=$bench_dir/../build/tcplens
    [[ -x $tcplens ]] || tcplens=$bench_dir/../tcplens
fi
build=${BENCH_BUILD:-$bench_dir/build}
input_opt=${BENCH_INPUT:-}
rounds=${ROUNDS:-5}
preset='' quick=0 seed=1 opt_full=0
opt_packets='' opt_conns='' opt_conc=''
with_tools=0 tool_rounds=1 tool_timeout=900 use_tcplens=1 out_file=''
scaling=0 sizes='' gen_only=0
tl_args=() extra_cmds=()

need_arg() { [[ $# -ge 2 ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
    case $1 in
    --preset) need_arg "$@"; preset=$2; shift ;;
    --quick) quick=1 ;;
    --packets) need_arg "$@"; opt_packets=$2; shift ;;
    --connections) need_arg "$@"; opt_conns=$2; shift ;;
    --concurrency) need_arg "$@"; opt_conc=$2; shift ;;
    --full) opt_full=1 ;;
    --seed) need_arg "$@"; seed=$2; shift ;;
    --input) need_arg "$@"; input_opt=$2; shift ;;
    --args) need_arg "$@"; tl_args+=("$2"); shift ;;
    --cmd) need_arg "$@"; extra_cmds+=("$2"); shift ;;
    --with-tools) with_tools=1 ;;
    --tool-rounds) need_arg "$@"; tool_rounds=$2; shift ;;
    --tool-timeout) need_arg "$@"; tool_timeout=$2; shift ;;
    --no-tcplens) use_tcplens=0 ;;
    --rounds) need_arg "$@"; rounds=$2; shift ;;
    --scaling) scaling=1 ;;
    --sizes) need_arg "$@"; sizes=$2; shift ;;
    --gen-only) gen_only=1 ;;
    --build-dir) need_arg "$@"; build=$2; shift ;;
    --out) need_arg "$@"; out_file=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
    esac
    shift
done

is_count() { [[ $1 =~ ^[0-9]+$ && $1 -gt 0 ]]; }
# shellcheck disable=SC2086  # empty options drop out, --sizes splits
for v in "$rounds" "$tool_rounds" "$tool_timeout" $opt_packets $opt_conns $opt_conc \
         $sizes; do
    is_count "$v" || die "'$v' is not a positive integer"
done
[[ $seed =~ ^[0-9]+$ ]] || die "--seed wants a number"
case $preset in
'' | triage10m | full1500mb | short5m | all) ;;
*) die "unknown preset '$preset' (triage10m, full1500mb, short5m or all)" ;;
esac
if ((scaling)); then
    [[ -z $preset ]] || die "--scaling and --preset do not go together"
    [[ -z $opt_packets && -z $opt_conns ]] ||
        die "--scaling sets the sizes itself: use --sizes"
    ((gen_only == 0)) || die "--gen-only makes the inputs of presets, not of --scaling"
fi
[[ -z $input_opt || ($scaling -eq 0 && $preset != all) ]] ||
    die "--input measures one capture: not with --preset all or --scaling"
((${#tl_args[@]})) || tl_args=('-r {} --threads 1 --anomalies-only --json -'
                               '-r {} --threads 1 --ndjson')

# ---- build -----------------------------------------------------------------

# Rebuild only when a source is newer, so repeated runs start at once.
compile() {     # compile OUT 'SOURCES' [FLAGS...]
    local out=$1 src f stale=0
    read -r -a src <<<"$2"
    shift 2
    [[ -x $out ]] || stale=1
    for f in "${src[@]}" "$bench_dir"/*.h; do
        [[ $f -nt $out ]] && stale=1
    done
    ((stale)) || return 0
    note "building $(basename "$out")"
    "${CC:-cc}" -O2 -std=c11 -Wall -Wextra -o "$out" "${src[@]}" "$@" ||
        die "cannot build $out"
}

build_tools() {
    mkdir -p "$build"
    command -v "${CC:-cc}" >/dev/null || die "no C compiler (apt-get install -y gcc)"
    command -v pkg-config >/dev/null ||
        die "pkg-config missing (apt-get install -y pkg-config)"
    pkg-config --exists libpcap ||
        die "libpcap development files missing (apt-get install -y libpcap-dev)"
    compile "$build/gen" "$bench_dir/gen.c $bench_dir/gen_tcp.c"
    # shellcheck disable=SC2046  # pkg-config output is meant to split
    compile "$build/bare_loop" "$bench_dir/bare_loop.c" \
        $(pkg-config --cflags libpcap) $(pkg-config --libs libpcap)
}

check_tcplens() {
    ((use_tcplens)) || return 0
    [[ -x $tcplens && ! -d $tcplens ]] ||
        die "tcplens is not built: no executable at $tcplens
  build it first (the README's first command),
  point TCPLENS=/path/to/tcplens at one, or pass --no-tcplens"
    tcplens=$(cd "$(dirname "$tcplens")" && pwd)/$(basename "$tcplens")
}

# The floor (flow_loop.c) links the library tcplens was built with, found
# beside it; without one (an installed tcplens) it is left out.
floor=''
build_floor() {
    local lib
    ((use_tcplens)) || return 0
    lib=$(dirname "$tcplens")/libtcplens.a
    if [[ ! -f $lib ]]; then
        note "no libtcplens.a beside $tcplens: flow_loop (the floor) left out"
        return 0
    fi
    # shellcheck disable=SC2046  # pkg-config output is meant to split
    compile "$build/flow_loop" "$bench_dir/flow_loop.c $lib" -I"$bench_dir/../include" \
        $(pkg-config --cflags libpcap) $(pkg-config --libs libpcap)
    floor=$build/flow_loop
}

# ---- inputs ----------------------------------------------------------------

# What one input is made of; set by set_input.
packets='' conns='' concurrency='' full=0 input='' input_name=''

# set_input PRESET: the generator's parameters for one input, from the
# preset (none: triage10m) with --packets/--connections/--concurrency/--full
# on top.  The numbers are explained in README.md.
set_input() {
    local p c cc f=0
    case ${1:-triage10m} in
    triage10m) p=10000000 c=1000000 cc=1000 ;;
    full1500mb) p=1580000 c=10000 cc=1000 f=1 ;;
    short5m) p=5000000 c=600000 cc=200000 ;;
    esac
    if ((quick)); then
        p=$((p / 10)) c=$((c / 10))
        case ${1:-} in
        short5m) cc=$((cc / 10)) ;;
        full1500mb) cc=100 ;;
        esac
    fi
    packets=${opt_packets:-$p}
    conns=${opt_conns:-$((opt_packets ? packets / 10 : c))}
    concurrency=${opt_conc:-$cc}
    full=$((f || opt_full))
    if [[ -n $input_opt ]]; then
        input=$input_opt
        input_name=$(basename "$input")
        return
    fi
    input=$build/synth-${packets}p-${conns}c-C${concurrency}-s${seed}
    if ((full)); then
        input+=-full
    fi
    input+=.pcap
    if [[ -n ${1:-} ]]; then
        input_name=$1
    elif [[ -n $opt_packets$opt_conns$opt_conc ]] || ((opt_full)); then
        input_name=${packets}p-${conns}c-C${concurrency}
    else
        input_name=triage10m
    fi
    if ((quick)); then
        input_name+=' (--quick)'
    fi
}

# Written under a temporary name and renamed, so an interrupted run never
# leaves a short file that the next run would take for the real input.
make_input() {
    local gen_args
    # A file we generated (it has a .gen.txt beside it) is stale once the
    # generator has been rebuilt: the same options may now mean other bytes.
    if [[ -e $input.gen.txt && $build/gen -nt $input.gen.txt ]]; then
        note "generator changed since $input was made: regenerating"
        rm -f "$input"
    fi
    [[ -e $input ]] && return 0
    gen_args="-n $packets -c $conns -C $concurrency -s $( ((full)) && echo full ||
        echo header-only) --seed $seed"
    note "generating $input"
    mkdir -p "$(dirname "$input")"
    # shellcheck disable=SC2086  # gen_args is a list of words
    if ! "$build/gen" $gen_args -o "$input.tmp" 2>"$input.gen.txt"; then
        cat "$input.gen.txt" >&2
        rm -f "$input.tmp" "$input.gen.txt"
        die "generator failed"
    fi
    printf 'gen command: gen %s\n' "$gen_args" >>"$input.gen.txt"
    cat "$input.gen.txt" >&2    # kept: the report quotes it
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

# Largest peak RSS (VmHWM) of pid $1 and of its descendants.
tree_hwm_kb() {
    local pid=$1 key val _ kids k max=0 sub
    while read -r key val _; do
        [[ $key == VmHWM: ]] && { max=$val; break; }
    done <"/proc/$pid/status" 2>/dev/null || true
    kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null || true)
    for k in $kids; do
        sub=$(tree_hwm_kb "$k")
        ((sub > max)) && max=$sub
    done
    printf '%s' "$max"
}

# Prints the highest VmHWM seen in pid $1's process tree while it lives.
# It runs beside the command, not around it, so its own polling never
# lands in the timings.
sample_rss() {
    local pid=$1 peak=0 cur fifo_fd
    exec {fifo_fd}<>"$tmp/tick"     # read -t on it is a sleep with no fork
    while kill -0 "$pid" 2>/dev/null; do
        cur=$(tree_hwm_kb "$pid")
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
    local out=$1 err=$2 pid spid rc=0 TIMEFORMAT='%3U %3S'
    shift 2
    t0=$EPOCHREALTIME
    "$@" >"$out" 2>"$err" &
    pid=$!
    sample_rss "$pid" >"$tmp/rss" &
    spid=$!
    { time wait "$pid" ; } 2>"$tmp/time" || rc=$?
    t1=$EPOCHREALTIME
    wait "$spid"
    return "$rc"
}

# outcome RC WALL LIMIT: ok, timeout, oom (killed by SIGKILL, which is
# what the kernel's out-of-memory killer sends), signal:N or exit:N.
outcome() {
    local rc=$1 wall=$2 limit=$3
    if ((rc == 0)); then
        echo ok
    elif ((limit > 0)) && { ((rc == 124)) ||
        awk -v w="$wall" -v l="$limit" 'BEGIN { exit !(w >= l) }'; }; then
        echo timeout
    elif ((rc == 137)); then
        echo oom
    elif ((rc > 128)); then
        echo "signal:$((rc - 128))"
    else
        echo "exit:$rc"
    fi
}

# measure CMD OUT ERR LIMIT -> prints "wall user sys rss_kb outcome".
# LIMIT > 0 stops the command after LIMIT seconds (timeout(1) signals the
# whole process group, so every stage of a pipeline stops).  user, sys and
# rss cover every process of CMD: GNU time reports the children's summed
# CPU and the largest single process's peak RSS.
measure() {
    local cmd=$1 out=$2 err=$3 limit=$4 t0 t1 rc=0 cpu wall
    local run=(bash -c "$cmd")
    if ((limit > 0)); then
        run=(timeout -k 10 "$limit" "${run[@]}")
    fi
    if ((have_gnu_time)); then
        t0=$EPOCHREALTIME
        /usr/bin/time -f '%U %S %M' -o "$tmp/time" "${run[@]}" \
            >"$out" 2>"$err" || rc=$?
        t1=$EPOCHREALTIME
        cpu=$(tail -n 1 "$tmp/time")
    else
        time_with_bash "$out" "$err" "${run[@]}" || rc=$?
        cpu="$(tail -n 1 "$tmp/time") $(cat "$tmp/rss")"
    fi
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
    printf '%s %s %s\n' "$wall" "$cpu" "$(outcome "$rc" "$wall" "$limit")"
}

# ---- commands --------------------------------------------------------------

labels=() cmds=() is_tool=() is_tl=()

add_cmd() {     # add_cmd LABEL COMMAND TOOL? TCPLENS?
    local q
    printf -v q '%q' "$input"
    labels+=("$1")
    cmds+=("${2//\{\}/$q}")
    is_tool+=("$3")
    is_tl+=("$4")
}

collect_cmds() {    # collect_cmds TOOLS?
    local a q
    labels=() cmds=() is_tool=() is_tl=()
    add_cmd 'bare_loop FILE' "$(printf '%q' "$build/bare_loop") {}" 0 0
    if [[ -n $floor ]]; then
        add_cmd 'flow_loop FILE' "$(printf '%q' "$floor") {}" 0 0
        add_cmd 'flow_loop --open FILE' "$(printf '%q' "$floor") --open {}" 0 0
    fi
    if ((use_tcplens)); then
        printf -v q '%q' "$tcplens"
        for a in "${tl_args[@]}"; do
            add_cmd "tcplens ${a//\{\}/FILE}" "$q $a" 0 1
        done
    fi
    for a in "${extra_cmds[@]}"; do
        add_cmd "${a//\{\}/FILE}" "$a" 0 0
    done
    (($1)) || return 0
    command -v timeout >/dev/null || die "--with-tools needs timeout (coreutils)"
    if command -v tshark >/dev/null; then
        add_cmd 'tshark -n -q -z conv,tcp -r FILE' 'tshark -n -q -z conv,tcp -r {}' 1 0
    else
        note "--with-tools: tshark not installed, skipped"
    fi
    if command -v tcptrace >/dev/null; then
        add_cmd 'tcptrace -n FILE' 'tcptrace -n {}' 1 0
    else
        note "--with-tools: tcptrace not installed, skipped"
    fi
    if command -v argus >/dev/null && command -v ra >/dev/null; then
        # -X: argus's built-in defaults, not whatever /etc/argus.conf says
        add_cmd 'argus -X -r FILE -w - | ra -n -r -' \
            'set -o pipefail; argus -X -r {} -w - | ra -n -r -' 1 0
    else
        note "--with-tools: argus or ra not installed (apt-get install -y" \
            "argus-server argus-client), skipped"
    fi
}

# A command as a markdown table cell shows it: with its pipes escaped.
md() {
    local l=$1
    printf '%s' "${l//|/\\|}"
}

# ---- the paired run --------------------------------------------------------

# What a failed outcome means, for a table cell.
outcome_text() {
    case $1 in
    timeout) printf 'timed out after %s s' "$tool_timeout" ;;
    oom) printf 'killed by SIGKILL (out of memory?)' ;;
    signal:*) printf 'killed by signal %s' "${1#signal:}" ;;
    exit:*) printf 'failed (exit status %s)' "${1#exit:}" ;;
    esac
}

# Runs every command once per round; appends "index round wall user sys
# rss_kb outcome" lines to $runs.  A failing bare loop or tcplens command
# stops everything; a --with-tools command that times out, runs out of
# memory or fails is reported as such and left out of later rounds.
run_rounds() {
    local r i res limit out dropped=()
    : >"$runs"
    for ((r = 1; r <= rounds; r++)); do
        for i in "${!cmds[@]}"; do
            ((is_tool[i] && r > tool_rounds)) && continue
            [[ ${dropped[i]:-} ]] && continue
            note "round $r/$rounds: ${labels[i]}"
            limit=0 out=/dev/null
            if ((is_tool[i])); then
                limit=$tool_timeout
            fi
            if ((i == 0)); then
                out=$tmp/out.0      # the packet count is read from it
            fi
            res=$(measure "${cmds[i]}" "$out" "$tmp/err.$i" "$limit")
            printf '%d %d %s\n' "$i" "$r" "$res" >>"$runs"
            [[ ${res##* } == ok ]] && continue
            if ((is_tool[i])); then
                note "$(outcome_text "${res##* }"): ${cmds[i]}"
                dropped[i]=1
                continue
            fi
            note "$(outcome_text "${res##* }"): ${cmds[i]}"
            tail -n 5 "$tmp/err.$i" >&2
            exit 1
        done
    done
}

# median of the numbers on stdin
median() {
    sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# stats RUNS INDEX -> "nok wall lo hi cpu rss outcome": medians over the
# rounds that succeeded, the largest RSS of any; with none succeeded, the
# first failed round's figures (lower bounds of what a full run needs).
stats() {
    local runs=$1 i=$2 ok
    ok=$(awk -v i="$i" '$1 == i && $7 == "ok"' "$runs")
    if [[ -z $ok ]]; then
        awk -v i="$i" '$1 == i { print 0, $3, $3, $3, $4 + $5, $6, $7; exit }' "$runs"
        return
    fi
    printf '%d %s %s %s %s %s ok\n' "$(wc -l <<<"$ok")" \
        "$(awk '{ print $3 }' <<<"$ok" | median)" \
        "$(awk '{ print $3 }' <<<"$ok" | sort -g | head -n 1)" \
        "$(awk '{ print $3 }' <<<"$ok" | sort -g | tail -n 1)" \
        "$(awk '{ print $4 + $5 }' <<<"$ok" | median)" \
        "$(awk '{ print $6 }' <<<"$ok" | sort -g | tail -n 1)"
}

# ---- report ----------------------------------------------------------------

describe_input() {
    local size gtxt=$input.gen.txt
    size=$(stat -c %s "$input")
    # shellcheck disable=SC2016  # the backquotes are markdown
    printf -- '- input: `%s`, %s packets, %.1f MB' "$(basename "$input")" \
        "$packets_read" "$(awk -v s="$size" 'BEGIN { print s / 1e6 }')"
    if [[ -f $gtxt ]]; then
        # shellcheck disable=SC2016  # the backquotes are markdown
        printf ' (synthetic: %s; %s of frames full-size; `%s`)' \
            "$(sed -n 's/^gen: [0-9]* packets, \([0-9]* connections\).*/\1/p' "$gtxt")" \
            "$(sed -n 's/.*MB, \([0-9.]* %\) of frames full-size.*/\1/p' "$gtxt")" \
            "$(sed -n 's/^gen command: //p' "$gtxt")"
    fi
    printf '\n'
}

describe_machine() {
    local cpu
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
    printf -- '- machine: %s, %s cores, %s MiB RAM, Linux %s, libpcap %s\n' \
        "${cpu:-unknown CPU}" "$(nproc)" \
        "$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)" \
        "$(uname -r)" "$(pkg-config --modversion libpcap)"
    printf -- '- method: %d round%s, commands alternating within each round' \
        "$rounds" "$( ((rounds == 1)) || echo s)"
    if ((with_tools)); then
        printf ' (other tools: %d round%s, at most %s s each)' "$tool_rounds" \
            "$( ((tool_rounds == 1)) || echo s)" "$tool_timeout"
    fi
    printf '; page cache warm; medians; timer: %s\n' \
        "$( ((have_gnu_time)) && echo 'GNU time' || echo 'bash time + /proc')"
}

# table_row RUNS INDEX BARE_WALL
table_row() {
    local s idx=$2
    s=$(stats "$1" "$2")
    # shellcheck disable=SC2086  # s is a list of fields
    set -- "$3" "$packets_read" "$(outcome_text "${s##* }")" $s
    # shellcheck disable=SC2016  # the backquotes are markdown
    printf '| `%s` ' "$(md "${labels[idx]}")"
    awk -v b="$1" -v p="$2" -v why="$3" -v n="$4" -v w="$5" -v lo="$6" \
        -v hi="$7" -v c="$8" -v m="$9" 'BEGIN {
        if (n > 0)
            printf "| %.3f | %.3f–%.3f | %.3f | %.1f | %.3f | %.2f |\n",
                w, lo, hi, c, m / 1024, p / w / 1e6, w / b
        else
            printf "| %s | %.0f s | ≥ %.1f | ≥ %.1f | < %.3g | > %.0f |\n",
                why, w, c, m / 1024, p / w / 1e6, w / b }'
}

# ratio_rows RUNS: each tcplens command against each other command.
ratio_rows() {
    local runs=$1 t o st so
    for t in "${!cmds[@]}"; do
        ((is_tl[t])) || continue
        st=$(stats "$runs" "$t")
        [[ ${st##* } == ok ]] || continue
        for o in "${!cmds[@]}"; do
            ((is_tl[o])) && continue
            so=$(stats "$runs" "$o")
            # shellcheck disable=SC2016  # the backquotes are markdown
            printf '| `%s` | `%s` ' "$(md "${labels[t]}")" "$(md "${labels[o]}")"
            awk -v t="$st" -v o="$so" '
            function cell(a, b) {
                if (b <= 0) return "—"
                return sprintf("%s%.3g", bound, a / b)
            }
            BEGIN {
                split(t, T, " "); split(o, O, " ")
                bound = O[7] == "ok" ? "" : "< "
                if (O[7] ~ /^(exit|signal)/)
                    print "| — | — | — |"
                else
                    printf "| %s | %s | %s |\n",
                        cell(T[2], O[2]), cell(T[5], O[5]), cell(T[6], O[6])
            }'
        done
    done
}

report_input() {    # report_input RUNS NAME
    local runs=$1 bare i n_other=0
    bare=$(stats "$runs" 0 | awk '{ print $2 }')
    printf '### %s: tcplens, the bare libpcap loop and other tools\n\n' "$2"
    describe_input
    describe_machine
    printf '\n| command | wall s (median) | wall s (min–max) | user+sys s (median) '
    printf '| peak RSS MiB | Mpackets/s | × bare loop |\n'
    printf '|---|---:|---:|---:|---:|---:|---:|\n'
    for i in "${!cmds[@]}"; do
        table_row "$runs" "$i" "$bare"
        ((is_tl[i])) || n_other=$((n_other + 1))
    done
    # shellcheck disable=SC2016  # the backquotes are markdown
    printf '\n`bare_loop` only calls pcap_next_ex() on every packet: no tool '
    printf 'reading the file through libpcap can be faster. Mpackets/s = packets '
    printf '/ median wall time; × bare loop = median wall time / bare_loop'"'"'s '
    printf 'median wall time. Peak RSS: the largest single process of the '
    printf 'command. A command stopped early shows what it had used by then.\n'
    if [[ -n $floor ]]; then
        # shellcheck disable=SC2016  # the backquotes are markdown
        printf '\n`flow_loop` is the floor under any analysis: the bare loop, '
        printf 'then tcplens'"'"'s decoder on every segment, a table to find its '
        printf 'connection and a state of 96 bytes per connection, removed at its '
        printf 'end (bench/flow_loop.c). Its table is tcplens'"'"'s own; with '
        # shellcheck disable=SC2016  # the backquotes are markdown
        printf '`--open`, one built for the loop (open addressing, no recency '
        printf 'list, lookups prefetched 16 segments ahead). What tcplens takes '
        printf 'beyond the floor is its analysis.\n'
    fi
    ((use_tcplens && n_other > 0)) || return 0
    printf '\n| tcplens command | compared with | wall: tcplens ÷ other '
    printf '| CPU: tcplens ÷ other | peak RSS: tcplens ÷ other |\n'
    printf '|---|---|---:|---:|---:|\n'
    ratio_rows "$runs"
    printf '\nBelow 1: tcplens takes less time, CPU or memory than the other command. '
    printf '"<": the other command was stopped (timeout, out of memory), so its '
    printf 'true figures are larger and the ratio smaller still.\n'
}

# ---- one input, all inputs, scaling ----------------------------------------

# bench_input PRESET TOOLS? -> runs file in $runs
bench_input() {
    set_input "$1"
    make_input
    [[ -r $input ]] || die "cannot read $input"
    collect_cmds "$2"
    note "warming the page cache with one read of $input"
    cat "$input" >/dev/null
    runs=$build/runs-$stamp-${input_name%% *}.tsv
    run_rounds
    packets_read=$(awk '{ print $2; exit }' "$tmp/out.0")
}

run_scaling() {
    local s rows=()
    if [[ -z $sizes && $quick -eq 1 ]]; then
        sizes='100000 300000 1000000'
    elif [[ -z $sizes ]]; then
        sizes='1000000 3000000 10000000'
    fi
    for s in $sizes; do
        opt_packets=$s opt_conns=$((s / 10))
        bench_input '' 0
        for i in "${!cmds[@]}"; do
            rows+=("$s $((s / 10)) $i $(stats "$runs" "$i")")
        done
    done
    printf '### How time and memory grow with the capture'"'"'s length\n\n'
    printf -- '- inputs: synthetic, 10 packets per connection, %s connections in ' \
        "$concurrency"
    printf 'flight, %s\n' "$( ((full)) && echo 'full frames' || echo 'header-only')"
    describe_machine
    printf '\n| packets | connections | command | wall s (median) | user+sys s '
    printf '(median) | CPU µs per packet | peak RSS MiB | Mpackets/s |\n'
    printf '|---:|---:|---|---:|---:|---:|---:|---:|\n'
    for i in "${!cmds[@]}"; do
        for s in "${rows[@]}"; do
            # shellcheck disable=SC2086  # s is a list of fields
            set -- $s
            (($3 == i)) || continue
            # shellcheck disable=SC2016  # the backquotes are markdown
            printf '| %d | %d | `%s` ' "$1" "$2" "$(md "${labels[i]}")"
            awk -v p="$1" -v w="$5" -v cpu="$8" -v m="$9" 'BEGIN {
                printf "| %.3f | %.3f | %.2f | %.1f | %.2f |\n",
                    w, cpu, cpu / p * 1e6, m / 1024, p / w / 1e6 }'
        done
    done
    printf '\nThe packet counts are those generated; peak RSS is the largest '
    printf 'over the rounds. Memory that grows with the packet count, at a '
    printf 'fixed number of connections in flight, is memory kept per '
    printf 'connection after it ended.\n'
}

main() {
    local p result
    build_tools
    if ((gen_only)); then
        local list=("$preset")
        if [[ $preset == all ]]; then
            list=(triage10m full1500mb short5m)
        fi
        for p in "${list[@]}"; do
            set_input "$p"
            make_input
            note "$input: $(stat -c %s "$input") bytes"
        done
        return
    fi
    check_tcplens
    build_floor
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    mkfifo "$tmp/tick"
    pick_timer
    stamp=$(date -u +%Y%m%d-%H%M%S)
    result=$build/results-$stamp.md
    : >"$result"
    if ((scaling)); then
        run_scaling | tee -a "$result"
    elif [[ $preset == all ]]; then
        for p in triage10m full1500mb short5m; do
            bench_input "$p" "$with_tools"
            report_input "$runs" "$input_name" | tee -a "$result"
            printf '\n' | tee -a "$result"
        done
    else
        bench_input "$preset" "$with_tools"
        report_input "$runs" "$input_name" | tee -a "$result"
    fi
    [[ -z $out_file ]] || cp "$result" "$out_file"
    note "raw runs: $build/runs-$stamp-*.tsv (index round wall user sys rss_kb" \
        "outcome); report: $result"
}

main
