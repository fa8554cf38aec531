#!/bin/bash
# The inferred states against the kernel, offline: the captures of
# tests/netns/kernel/ were made with real sockets in a network namespace
# (tests/netns/make-kernel-samples.sh), and expected.tsv holds what the
# kernel's ss and sock:inet_sock_set_state tracepoint showed for every
# endpoint. Needs no root, so it guards the engine everywhere; the live
# version is tests/kernel-states.sh. Prints TAP.
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
if ! command -v python3 >/dev/null 2>&1; then
    echo "1..0 # SKIP python3 not found"
    exit "${TL_SKIP_STATUS:-77}"
fi
exec python3 "$srcdir/tests/netns/kernel_states.py" compare \
    --expected "$srcdir/tests/netns/kernel/expected.tsv" \
    --pcap-dir "$srcdir/tests/netns/kernel" --tcplens "$tcplens"
