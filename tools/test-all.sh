#!/bin/bash
# The whole test suite, as CI runs it: dependencies, the format of the C
# sources (tools/check-format.sh), a build with warnings
# as errors (make check, make distcheck), a build with AddressSanitizer
# and UndefinedBehaviorSanitizer (make check), then a clang build with
# libFuzzer (corpus replay and a bounded fuzz session). Ends with one line
# "N passed, N failed[, N skipped]" counting every TAP test point.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
jobs=$(nproc 2>/dev/null || echo 2)
logdir=${TL_TEST_LOGDIR:-$top/test-logs}
rm -rf "$logdir"; mkdir -p "$logdir"
status=0

step() { # name command...
    local name=$1; shift
    echo "== $name"
    if ! "$@" > "$logdir/$name.log" 2>&1; then
        echo "!! $name failed; last lines of $logdir/$name.log:"
        tail -n 40 "$logdir/$name.log"
        status=1
        return 1
    fi
}

tools/install-deps.sh || exit 1
# The C sources as .clang-format lays them out, before anything is built.
# Without clang-format the check is skipped, except in CI (.ci/run sets CI).
echo "== format"
tools/check-format.sh > "$logdir/format.log" 2>&1
case $? in
0) ;;
77) echo "   skipped: clang-format is not installed (tools/install-deps.sh installs it)" ;;
*) echo "!! format failed (tools/check-format.sh --fix formats the files):"
   tail -n 40 "$logdir/format.log"
   status=1 ;;
esac
# The builds below are out of tree, which configure refuses while the source
# tree itself is configured (an in-place ./configure && make): clean it first.
if [ -f "$top/config.status" ]; then
    echo "== the source tree was configured in place: make distclean there first"
    make -C "$top" distclean > "$logdir/distclean-top.log" 2>&1 ||
        rm -f "$top/config.status"
fi
step autogen ./autogen.sh || { echo "0 passed, 1 failed"; exit 1; }

build() { # dir configure-args...
    local dir=$1; shift
    rm -rf "$dir"; mkdir -p "$dir"
    (cd "$dir" && "$top/configure" "$@" && make -j"$jobs")
}

if step build-werror build "$top/_build/werror" --enable-werror; then
    step check-werror make -C "$top/_build/werror" -j"$jobs" check
    TL_SLOW_TESTS=skip step distcheck make -C "$top/_build/werror" -j"$jobs" distcheck \
        DISTCHECK_CONFIGURE_FLAGS=--enable-werror
fi
if step build-sanitizers build "$top/_build/san" --enable-werror --enable-sanitizers; then
    # The live kernel scenarios and the browser run once, in the build above.
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        TL_SLOW_TESTS=skip step check-sanitizers make -C "$top/_build/san" -j"$jobs" check
fi
# clang with libFuzzer: the corpus replay and a bounded fuzz session only;
# the rest of the suite has run in the two builds above.
if step build-fuzz build "$top/_build/fuzz" CC=clang --enable-werror --enable-fuzzers \
        --enable-sanitizers; then
    step check-fuzz make -C "$top/_build/fuzz" check \
        TESTS="tests/fuzz-replay.sh tests/fuzz-session.sh"
fi

# Count test points from the automake result files of every check run.
pass=0 fail=0 skip=0
for trs in "$top"/_build/{werror,san,fuzz}/tests/*.trs "$top"/_build/{werror,san,fuzz}/tests/*/*.trs; do
    [ -f "$trs" ] || continue
    p=$(grep -c '^:test-result: PASS' "$trs")
    f=$(grep -cE '^:test-result: (FAIL|XPASS|ERROR)' "$trs")
    s=$(grep -c '^:test-result: SKIP' "$trs")
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
    if [ "$f" -gt 0 ]; then
        log=${trs%.trs}.log
        echo "!! failures in $log:"; grep -E '^(not ok|#)' "$log" | head -40
    fi
done
for d in werror san fuzz; do
    for log in "$top/_build/$d/test-suite.log"; do
        [ -f "$log" ] && cp "$log" "$logdir/test-suite-$d.log"
    done
done
# A step that failed outside the test points (build, distcheck) is a failure too.
[ "$status" -ne 0 ] && fail=$((fail + 1))
if [ "$skip" -gt 0 ]; then
    echo "$pass passed, $fail failed, $skip skipped"
else
    echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
