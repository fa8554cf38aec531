#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/netns/make-samples.sh -- (re)build samples/*.pcap from REAL Linux
# kernel TCP traffic on loopback inside private network namespaces.
#
#   usage: tests/netns/make-samples.sh [OUTDIR]      (default: <repo>/samples)
#
# Needs root, iproute2, tcpdump, python3; editcap (wireshark/tshark) for the
# pcapng sample and tshark for the final checks (skipped if missing).
# Exit status 77 = cannot create namespaces here (skip).
#
# Every sample gets a fresh namespace, so its <name>.ss.txt (ss -tan state
# changes, polled every 10 ms, plus a "final" snapshot taken just before the
# capture stops) shows only its own sockets.  All traffic is on lo in the
# namespace; every step is bounded by timeouts.  Re-runnable: output files are
# replaced atomically at the end of each sample.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${1:-$REPO/samples}
SS_MS=${SS_MS:-10}

# shellcheck source=lib.sh
. "$HERE/lib.sh"

if ! tl_netns_available; then
    echo "make-samples: network namespaces unavailable (need root) -- skipping" >&2
    exit 77
fi
for t in tcpdump ss; do
    command -v "$t" >/dev/null || { echo "make-samples: $t missing" >&2; exit 1; }
done
[[ -n $TL_PYTHON ]] || { echo "make-samples: python3 missing" >&2; exit 1; }
mkdir -p "$OUT"
tl_workdir
tl_install_traps
STAGE=$TL_WORKDIR/stage
mkdir -p "$STAGE"
NS_PREFIX="tls$$"

must() { "$@" || { echo "make-samples: FAILED: $*" >&2; exit 1; }; }

# publish NAME: move staged NAME.pcap/NAME.ss.txt into OUT (atomic rename)
publish() {
    local f
    for f in "$@"; do
        cp -- "$STAGE/$f" "$OUT/.$f.tmp"
        mv -f -- "$OUT/.$f.tmp" "$OUT/$f"
    done
}

# run_sample NAME SCENARIO "SCENARIO ARGS" [tcpdump args...]
run_sample() {
    local name=$1 scn=$2 sargs=$3; shift 3
    local ns="$NS_PREFIX-$name"
    must tl_netns_up "$ns"
    must tl_ss_poll_start "$ns" "$STAGE/$name.ss.txt" "$SS_MS"
    must tl_capture_start "$ns" "$STAGE/$name.pcap" "$@"
    # shellcheck disable=SC2086  # sargs is a word list on purpose
    must tl_scenario_start "$name" "$ns" "$scn" $sargs
    must tl_scenario_wait_ready "$name" 20
    must tl_ss_poll_stop "$STAGE/$name.ss.txt"
    must tl_capture_stop "$STAGE/$name.pcap"
    must tl_scenario_finish "$name"
    must tl_netns_down "$ns"
    publish "$name.pcap" "$name.ss.txt"
}

# demo: normal, refused, rst_unread, close_wait, port_reuse in ONE capture.
# close_wait is kept alive (CLOSE_WAIT / FIN_WAIT_2) until the capture ends.
run_demo() {
    local name=demo ns="$NS_PREFIX-demo"
    must tl_netns_up "$ns"
    must tl_ss_poll_start "$ns" "$STAGE/$name.ss.txt" "$SS_MS"
    must tl_capture_start "$ns" "$STAGE/$name.pcap"
    must tl_scenario_start d1 "$ns" normal --port 8080
    must tl_scenario_wait_ready d1
    must tl_scenario_finish d1
    sleep 0.2
    must tl_scenario_start d2 "$ns" refused --port 8081
    must tl_scenario_wait_ready d2
    must tl_scenario_finish d2
    sleep 0.2
    must tl_scenario_start d3 "$ns" rst_unread --port 8082
    must tl_scenario_wait_ready d3
    must tl_scenario_finish d3
    sleep 0.2
    must tl_scenario_start d4 "$ns" close_wait --port 8083 --hold-open 0.5
    must tl_scenario_wait_ready d4   # keep it alive: no finish yet
    sleep 0.2
    must tl_scenario_start d5 "$ns" port_reuse --port 8084 --client-port 40000
    must tl_scenario_wait_ready d5
    must tl_ss_poll_stop "$STAGE/$name.ss.txt"
    must tl_capture_stop "$STAGE/$name.pcap"
    must tl_scenario_finish d5
    must tl_scenario_finish d4
    must tl_netns_down "$ns"
    publish "$name.pcap" "$name.ss.txt"
}

start=$EPOCHREALTIME
run_sample normal        normal        ""
run_sample ipv6          ipv6          ""
run_sample refused       refused       ""
run_sample rst_unread    rst_unread    ""
run_sample linger0       linger0       ""
run_sample port_reuse    port_reuse    ""
run_sample port_reuse_tw port_reuse_tw ""
run_sample close_wait    close_wait    ""
run_sample normal-ns     normal        "" --time-stamp-precision nano
run_sample normal-sll2   normal        "" -i any
run_demo

if command -v editcap >/dev/null; then
    editcap -F pcapng "$OUT/normal.pcap" "$STAGE/normal.pcapng"
    publish normal.pcapng
else
    echo "make-samples: editcap missing, normal.pcapng not regenerated" >&2
fi

if command -v tshark >/dev/null; then
    "$TL_PYTHON" "$HERE/check_samples.py" "$OUT"
else
    echo "make-samples: tshark missing, checks skipped" >&2
fi
printf 'make-samples: done in %.1f s -> %s\n' \
    "$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')" "$OUT"
