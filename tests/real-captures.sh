#!/bin/bash
# Properties of tcplens on the real third-party captures of the shared
# corpus (shared/real-captures, 161 files, no answer files): no crash or
# hang; one connect() is one connection (no same-ISN split); no endpoint
# left in SYN_SENT/SYN_RECV/LISTEN that sent payload or ACKed its peer's SYN;
# no overlapping connections on one IP/port pair; no unexpected_segment;
# every state path legal (the table of docs/state-machine.md). TCP coverage
# against tshark is reported as comments. tests/real_captures.py does the
# work, two files at a time (TL_JOBS), and prints TAP: one point per file
# and property. tests/real-captures.allow marks explained exceptions (TODO).
# Env: TCPLENS (the binary), SRCDIR (the source tree), TL_SHARED (the
# shared folder, default $SRCDIR/../shared), TL_REAL_CACHE (keep tshark's
# output there across runs; default: a temporary directory).
set -u
export TZ=UTC LC_ALL=C
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-$srcdir/tcplens}
corpus=${TL_SHARED:-$srcdir/../shared}/real-captures
skip() { echo "1..0 # SKIP $1"; exit "${TL_SKIP_STATUS:-77}"; }

[ -d "$corpus" ] || skip "no real-capture corpus at $corpus (set TL_SHARED)"
command -v python3 > /dev/null 2>&1 || skip "python3 not found"
command -v tshark > /dev/null 2>&1 || skip "tshark not found"
[ -x "$tcplens" ] || skip "tcplens not built ($tcplens)"

cache=()
[ -n "${TL_REAL_CACHE:-}" ] && cache=(--cache "$TL_REAL_CACHE")
exec python3 "$srcdir/tests/real_captures.py" \
    --tcplens "$tcplens" --dir "$corpus" --allow "$srcdir/tests/real-captures.allow" \
    --doc "$srcdir/docs/state-machine.md" --jobs "${TL_JOBS:-2}" --expect-files 161 "${cache[@]}"
