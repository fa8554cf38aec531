# Sourced by shell tests (. "$(dirname "$0")/lib.sh"): what they share.
# Strict about unset names, the C locale and UTC; srcdir, builddir and
# tcplens from the environment make check gives (else the tree and the
# build in the current directory); skip (exit 77, or TL_SKIP_STATUS),
# ok STATUS DESCRIPTION and tl_done for TAP; tl_tmp NAME for $tmp, a
# directory removed at exit.
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${BUILDDIR:-.}
tcplens=${TCPLENS:-./tcplens}
n=0 failed=0

skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }

ok() { # ok STATUS DESCRIPTION
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}

tl_tmp() { # tl_tmp NAME
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-$1.XXXXXX") || exit 1
    trap 'rm -rf "$tmp"' EXIT
}

# The plan, and the status: failed when a test was.
tl_done() {
    echo "1..$n"
    [ "$failed" -eq 0 ]
}
