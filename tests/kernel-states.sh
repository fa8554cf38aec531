#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Kernel ground truth for tcplens's inferred TCP states.
#
# Runs ~35 socket scenarios (tests/netns/kernel-lib.sh, scenario.py) each in
# its own network namespace on lo, recording a pcap, `ss -tan` every few ms
# and the sock:inet_sock_set_state tracepoint; derives every endpoint
# socket's kernel state sequence (tests/netns/kernel_states.py) and checks
# `tcplens -r NAME.pcap --json -` against it:
#   (a) state at capture end == the kernel's;
#   (b) kernel sequence (duplicates collapsed) is a subsequence of tcplens's
#       per-event states for that endpoint.
# Prints TAP (a test point per scenario, two per endpoint), the summary table
# and the accuracy as TAP comments.  docs/kernel-scenarios.md explains each
# scenario and what the kernel does.
#
# Needs root (network namespaces), iproute2, tcpdump, ss, python3; nft and tc
# for some scenarios (skipped without them); tracefs for the tracepoint
# (falls back to ss only, and says so).  Skips ("1..0 # SKIP", exit
# $TL_SKIP_STATUS, default 77) where namespaces cannot be made.
#
# Environment:
#   TCPLENS             tcplens binary (default ./tcplens, the build dir)
#   TL_KERNEL_OUT=DIR   keep pcaps, ss/trace logs, NAME.kernel.txt and
#                       summary.tsv/.txt in DIR (default: a temp dir, removed
#                       unless something failed)
#   TL_KERNEL_SCENARIOS space-separated subset of scenarios to run
#   TL_KERNEL_PORTBLOCK 0..29: port block (random by default, so concurrent
#                       runs do not mix in the machine-wide trace buffer)
#   TL_KERNEL_NOTRACE=1 force the ss-only fallback
#   TL_SKIP_STATUS      exit status when skipping (0 under automake's TAP
#                       driver, which treats 77 as an error)
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
netns=$srcdir/tests/netns

skip() {
    echo "1..0 # SKIP $*"
    exit "${TL_SKIP_STATUS:-77}"
}

[ -x "$tcplens" ] || skip "tcplens not built ($tcplens)"
# Slow (two and a half minutes of real sockets): tools/test-all.sh runs it
# in its first build only; tests/kernel-saved.sh covers the rest offline.
[ "${TL_SLOW_TESTS:-run}" = run ] || skip "slow test, run once in another build (TL_SLOW_TESTS=skip)"
command -v python3 >/dev/null 2>&1 || skip "python3 missing"
# shellcheck source=netns/lib.sh
. "$netns/lib.sh"
# shellcheck source=netns/kernel-lib.sh
. "$netns/kernel-lib.sh"
tl_netns_available 2>/dev/null || skip "network namespaces unavailable (need root and ip netns)"
for t in tcpdump ss; do
    command -v "$t" >/dev/null 2>&1 || skip "$t missing"
done
case $tcplens in /*) ;; *) tcplens=$PWD/$tcplens ;; esac

if [ -n "${TL_KERNEL_OUT:-}" ]; then
    out=$TL_KERNEL_OUT keep=1
    mkdir -p "$out" || { echo "Bail out! cannot create $out"; exit 1; }
else
    out=$(mktemp -d "${TMPDIR:-/tmp}/tl-kernel.XXXXXX") || { echo "Bail out! mktemp"; exit 1; }
    keep=0
fi
out=$(cd "$out" && pwd)
# shellcheck disable=SC2317  # invoked from the traps
finish() {
    tl_cleanup
    if [ "$keep" = 0 ]; then rm -rf -- "$out"; fi
}
trap 'finish' EXIT
trap 'finish; trap - EXIT; exit 130' INT
trap 'finish; trap - EXIT; exit 143' TERM
TL_TRAPS_SET=1

# scenarios and what they need
read -r -a want <<<"${TL_KERNEL_SCENARIOS:-$(tk_scenarios | tr '\n' ' ')}"
needs() { # the tools a scenario needs beyond ip and ss
    case $1 in
    syn_dropped | final_ack_dropped | final_ack_lost_late | fin_ack_lost_late | keepalive_timeout | synack_lost) echo nft ;;
    syn_blackhole_default | syn_dropped_then_answered | challenge_ack) echo nft ;;
    blackhole | lossy | scan | icmp_router_ttl | icmp_established_soft) echo nft ;;
    icmp_port_unreach | icmp_admin_prohibited | icmp6_admin_prohibited) echo nft tc ;;
    icmp_host_unreach | icmp6_port_unreach | icmp6_addr_unreach) echo nft tc ;;
    simultaneous_close | half_open_scan) echo tc ;;
    isb_syn_giveup | isb_stall_giveup | isb_syn_pending) echo nft dumpcap ;;
    isb_close_wait) echo dumpcap ;;
    esac
}
run=() skipped=()
for s in "${want[@]}"; do
    missing=
    for tool in $(needs "$s"); do
        command -v "$tool" >/dev/null 2>&1 || missing=$tool
    done
    if [ -n "$missing" ]; then
        skipped+=("$s:$missing")
    else
        run+=("$s")
    fi
done

start=$EPOCHREALTIME
echo "# kernel $(uname -r); output in $out"
rs=0
if [ "${#run[@]}" -gt 0 ]; then
    tk_run_all "$out" "${run[@]}" >"$out/run.log" 2>&1
    rs=$?
fi
secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
echo "# scenarios ran in $secs s (status $rs; log $out/run.log)"
if grep -q '^trace=0' "$out"/*.meta 2>/dev/null; then
    echo "# NOTE: tracepoint unavailable ($(sed -n 's/^trace_why=//p' "$out"/*.meta | head -1)); kernel states from ss only"
fi

: >"$out/tap.txt"
: >"$out/compare.err"
rc=0
if [ "${#run[@]}" -gt 0 ]; then
    python3 "$netns/kernel_states.py" compare "$out" "${run[@]}" --tcplens "$tcplens" \
        >"$out/tap.txt" 2>"$out/compare.err"
    rc=$?
fi
# TAP: renumber after the skipped scenarios, one plan at the end
n=0
while IFS= read -r line; do
    case $line in
    "ok "* | "not ok "*)
        n=$((n + 1))
        printf '%s\n' "$line" | sed -E "s/^(ok|not ok) [0-9]+/\\1 $n/"
        ;;
    1..*) ;;
    *) printf '%s\n' "$line" ;;
    esac
done <"$out/tap.txt"
for s in "${skipped[@]}"; do
    n=$((n + 1))
    echo "ok $n - ${s%%:*}: not run # SKIP ${s#*:} missing"
done
if [ -s "$out/compare.err" ]; then
    sed 's/^/# compare: /' "$out/compare.err"
    rc=1
fi
if [ "$n" -eq 0 ]; then
    n=1
    echo "not ok 1 - no test point produced (see $out)"
    rc=1
fi
echo "1..$n"
if [ "$rc" -ne 0 ] && [ "$keep" = 0 ]; then
    keep=1
    echo "# kept $out for debugging"
fi
exit 0
