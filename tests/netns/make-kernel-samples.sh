#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/netns/make-kernel-samples.sh -- (re)build tests/netns/kernel/: for each
# kernel-states scenario a pcap, a trimmed kernel log (ss + tracepoint +
# derived state sequences, a few KB) and its lines in expected.tsv, so the
# engine can be checked offline without root:
#
#   python3 tests/netns/kernel_states.py compare \
#       --expected tests/netns/kernel/expected.tsv --tcplens ./tcplens
#
#   usage: tests/netns/make-kernel-samples.sh [-o DESTDIR] [SCENARIO...]
#
# Needs what tests/kernel-states.sh needs (root, iproute2, tcpdump, ss,
# python3, nft, tc, tracefs).  Exit status 77 = cannot create namespaces.
# Ports are fixed (TL_KERNEL_PORTBLOCK=0: servers 10001.., clients 30040..)
# so regenerated files differ only where the kernel did.  Given scenario
# names, only their files and expected.tsv lines are replaced.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEST=$HERE/kernel
if [[ ${1:-} == -o ]]; then DEST=$2; shift 2; fi

# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=kernel-lib.sh
. "$HERE/kernel-lib.sh"

if ! tl_netns_available; then
    echo "make-kernel-samples: network namespaces unavailable (need root) -- skipping" >&2
    exit 77
fi
for t in tcpdump ss nft tc; do
    command -v "$t" >/dev/null || { echo "make-kernel-samples: $t missing" >&2; exit 1; }
done
tl_workdir || exit 1
tl_install_traps
export TL_KERNEL_PORTBLOCK=${TL_KERNEL_PORTBLOCK:-0}
start=$EPOCHREALTIME
status=0
tk_run_all "$TL_WORKDIR/run" "$@" || status=1
"$TL_PYTHON" "$HERE/kernel_states.py" export "$TL_WORKDIR/run" "$DEST" "$@" || status=1
"$TL_PYTHON" "$HERE/kernel_states.py" analyze "$TL_WORKDIR/run" "$@"
printf 'make-kernel-samples: done in %.1f s -> %s (status %d)\n' \
    "$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')" "$DEST" "$status"
exit $status
