#!/bin/bash
# Nothing lost to one accident. Each output (text, JSON, NDJSON, HTML)
# fails on its own: a full disk or a missing directory is one line naming
# the file and the system's reason, the other outputs are complete, exit 2.
# A reader leaving the pipe (`| head -1`) ends the run quietly, exit 0.
# During the read of a large file (bench/gen, built here) SIGINT and SIGTERM
# stop the read and every output is written for what was read, marked
# partial; SIGUSR1 prints the progress and the open connections' states and
# the run goes on to the same report. Prints TAP.
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
demo=$srcdir/samples/demo.pcap
tmp=$(mktemp -d)
pid=
# Only the test's own shell cleans up, not the subshells of its pipelines.
cleanup() {
    [ "$BASHPID" = "$$" ] || return
    [ -z "$pid" ] || kill "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

n=0
check() { # check NAME STATUS [DIAGNOSTIC]
    n=$((n + 1))
    if [ "$2" -eq 0 ]; then
        echo "ok $n - $1"
    else
        echo "not ok $n - $1"
        [ -z "${3:-}" ] || printf '%s\n' "$3" | sed 's/^/# /'
    fi
}

# json_ok FILE [PARTIAL]: a whole report document; with PARTIAL its
# capture.partial is true, without, absent.
json_ok() {
    python3 - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
want = len(sys.argv) > 2
sys.exit(0 if "connections" in d and d["capture"].get("partial", False) == want else 1)
PY
}
html_ok() { grep -q '</html>' "$1"; }

# The reference outputs of the sample, each on its own.
if ! "$tcplens" -r "$demo" > "$tmp/ref.txt" || ! "$tcplens" -r "$demo" --json "$tmp/ref.json" \
    --ndjson="$tmp/ref.ndjson" --html "$tmp/ref.html" > /dev/null; then
    echo "Bail out! $tcplens does not run on $demo"
    exit 1
fi

# --- one output fails, the others are complete ---------------------------
if [ -w /dev/full ]; then
    "$tcplens" -r "$demo" --json /dev/full --html "$tmp/a.html" > "$tmp/a.txt" 2> "$tmp/err"
    rc=$?
    [ "$rc" -eq 2 ] && [ "$(cat "$tmp/err")" = "tcplens: /dev/full: No space left on device" ] &&
        cmp -s "$tmp/a.txt" "$tmp/ref.txt" && html_ok "$tmp/a.html"
    check "--json /dev/full: exit 2, one line naming it; text and HTML complete (exit $rc)" $? \
        "$(cat "$tmp/err")"

    "$tcplens" -r "$demo" --ndjson=/dev/full --json "$tmp/b.json" > "$tmp/b.txt" 2> "$tmp/err"
    rc=$?
    [ "$rc" -eq 2 ] && [ "$(cat "$tmp/err")" = "tcplens: /dev/full: No space left on device" ] &&
        cmp -s "$tmp/b.json" "$tmp/ref.json" && cmp -s "$tmp/b.txt" "$tmp/ref.txt"
    check "--ndjson=/dev/full: exit 2; JSON and text complete (exit $rc)" $? "$(cat "$tmp/err")"

    "$tcplens" -r "$demo" --json "$tmp/c.json" --html "$tmp/c.html" > /dev/full 2> "$tmp/err"
    rc=$?
    [ "$rc" -eq 2 ] &&
        [ "$(cat "$tmp/err")" = "tcplens: standard output: No space left on device" ] &&
        cmp -s "$tmp/c.json" "$tmp/ref.json" && html_ok "$tmp/c.html"
    check "text to a full stdout: exit 2, 'standard output'; JSON and HTML complete (exit $rc)" \
        $? "$(cat "$tmp/err")"
fi

"$tcplens" -r "$demo" --json "$tmp/no/such/dir.json" --ndjson="$tmp/d.ndjson" \
    --html "$tmp/d.html" > "$tmp/d.txt" 2> "$tmp/err"
rc=$?
[ "$rc" -eq 2 ] &&
    [ "$(cat "$tmp/err")" = "tcplens: $tmp/no/such/dir.json: No such file or directory" ] &&
    cmp -s "$tmp/d.ndjson" "$tmp/ref.ndjson" && cmp -s "$tmp/d.txt" "$tmp/ref.txt" &&
    html_ok "$tmp/d.html"
check "--json into a missing directory: exit 2, one line; NDJSON, HTML, text complete (exit $rc)" \
    $? "$(cat "$tmp/err")"

mkdir "$tmp/ro" && chmod 555 "$tmp/ro"
if ! (: > "$tmp/ro/probe") 2>/dev/null; then
    "$tcplens" -r "$demo" --html "$tmp/ro/e.html" --json "$tmp/e.json" > /dev/null 2> "$tmp/err"
    rc=$?
    [ "$rc" -eq 2 ] &&
        [ "$(cat "$tmp/err")" = "tcplens: $tmp/ro/e.html: Permission denied" ] &&
        cmp -s "$tmp/e.json" "$tmp/ref.json"
    check "--html in a read-only directory: exit 2, Permission denied; JSON complete (exit $rc)" \
        $? "$(cat "$tmp/err")"
else
    echo "# running as root: a read-only directory is writable, not checked"
fi

# --- a large capture: made by bench/gen -----------------------------------
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null 2>&1 ||
    ! "$cc" -O2 -o "$tmp/gen" "$srcdir/bench/gen.c" "$srcdir/bench/gen_tcp.c" 2>/dev/null; then
    echo "# no C compiler for bench/gen: the signal and pipe checks are skipped"
    echo "1..$n"
    exit 0
fi
big=$tmp/big.pcap
total=500000
"$tmp/gen" -o "$big" -n $total -c 50000 -C 1000 -s header-only -q || exit 1

# EPIPE: the reader takes one line and leaves.
out=$( ("$tcplens" -r "$big" --ndjson 2> "$tmp/err"; echo "exit $?" > "$tmp/rc") | head -1)
[ "$(cat "$tmp/rc")" = "exit 0" ] && [ ! -s "$tmp/err" ] && [ "${out:0:7}" = '{"id":1' ]
check "--ndjson | head -1: exit 0, nothing on stderr ($(cat "$tmp/rc"))" $? "$(cat "$tmp/err")"
out=$( ("$tcplens" -r "$big" --timeline full 2> "$tmp/err"; echo "exit $?" > "$tmp/rc") | head -1)
[ "$(cat "$tmp/rc")" = "exit 0" ] && [ ! -s "$tmp/err" ] && [ "${out:0:5}" = "input" ]
check "the text report | head -1: exit 0, nothing on stderr ($(cat "$tmp/rc"))" $? \
    "$(cat "$tmp/err")"

# blocked PID: whether PID's main thread blocks SIGUSR1 (bit 10 of SigBlk),
# which tcplens does before it opens anything: a signal sent sooner kills.
blocked() {
    local mask
    mask=$(sed -n 's/^SigBlk:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
    [ -n "$mask" ] && [ $((0x$mask & 0x200)) -ne 0 ]
}

# start OUT ARGS...: tcplens on the large file in the background ($pid),
# stderr in OUT.err, text report in OUT.txt; returns once it reads, which
# a snapshot (SIGUSR1) on stderr proves.
start() {
    local out=$1
    shift
    "$tcplens" -r "$big" "$@" > "$out.txt" 2> "$out.err" &
    pid=$!
    for _ in $(seq 200); do
        blocked "$pid" && break
        sleep 0.01
    done
    for _ in $(seq 200); do
        kill -USR1 "$pid" 2>/dev/null || return 1
        sleep 0.05
        grep -q "connections\? open" "$out.err" && return 0
    done
    return 1
}
# finish: waits for $pid; its exit status in rc.
finish() {
    wait "$pid"
    rc=$?
    pid=
}
packets() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["capture"]["packets"])' "$1"; }

for sig in INT TERM; do
    for t in 1 2; do
        if start "$tmp/s" --threads $t --json "$tmp/s.json" --html "$tmp/s.html"; then
            kill -s $sig "$pid"
            finish
            want=$((128 + $(kill -l $sig)))
            got=$(packets "$tmp/s.json" 2>/dev/null)
            [ "$rc" -eq "$want" ] && json_ok "$tmp/s.json" partial && [ "${got:-$total}" -lt $total ] &&
                head -2 "$tmp/s.txt" | grep -q '^PARTIAL ' && html_ok "$tmp/s.html" &&
                grep -q 'the read was interrupted' "$tmp/s.html"
            check "SIG$sig mid-read (--threads $t): exit $rc, JSON partial at $got of $total packets, text and HTML marked" \
                $? "$(tail -3 "$tmp/s.err")"
        else
            finish
            check "SIG$sig mid-read (--threads $t): the read was not caught reading" 1
        fi
    done
done

# SIGUSR1: snapshots, then the same report as without them.
"$tcplens" -r "$big" --json "$tmp/u0.json" > "$tmp/u0.txt" 2> /dev/null
if start "$tmp/u" --json "$tmp/u.json"; then
    while kill -USR1 "$pid" 2>/dev/null; do sleep 0.2; done
    finish
    grep -q "^tcplens: .* packets/s" "$tmp/u.err" && grep -q "^tcplens:   client .*ESTABLISHED" "$tmp/u.err" &&
        [ "$rc" -eq 0 ] && cmp -s "$tmp/u.json" "$tmp/u0.json" && cmp -s "$tmp/u.txt" "$tmp/u0.txt"
    check "SIGUSR1 mid-read: $(grep -c 'open$' "$tmp/u.err") snapshots, exit $rc, the same JSON and text" $? \
        "$(head -4 "$tmp/u.err")"
else
    finish
    check "SIGUSR1 mid-read: no snapshot came" 1 "$(head -4 "$tmp/u.err")"
fi

echo "1..$n"
