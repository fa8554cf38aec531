#!/bin/bash
# A command line that catches mistakes: --connection takes lists and
# ranges, repeats add up, and an id the capture lacks is an error (exit 2,
# one line naming it); a mistyped capture name that lands in the filter is
# said to be missing; getopt's mistakes are one line under tcplens's name;
# --help and the man page say what --fail-on info means. Prints TAP.
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
demo=$srcdir/samples/demo.pcap # 6 connections
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

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

# listed ARGS...: the ids the JSON report lists in got ("1 2 3"), the
# exit status in rc, stderr in $tmp/err.
listed() {
    "$tcplens" -r "$demo" --json - "$@" > "$tmp/out.json" 2> "$tmp/err"
    rc=$?
    got=$(python3 -c 'import json,sys; print(*[c["id"] for c in json.load(open(sys.argv[1]))["connections"]])' \
        "$tmp/out.json" 2>/dev/null)
}

# --- --connection ----------------------------------------------------------
listed --connection 2 --connection 3
[ "$rc" -eq 0 ] && [ "$got" = "2 3" ] && [ ! -s "$tmp/err" ]
check "--connection 2 --connection 3 lists both (got '$got', exit $rc)" $? "$(cat "$tmp/err")"
listed --connection 5,1-2 --connection 2-3
[ "$rc" -eq 0 ] && [ "$got" = "1 2 3 5" ]
check "--connection 5,1-2 --connection 2-3 lists 1 2 3 5 (got '$got')" $? "$(cat "$tmp/err")"
"$tcplens" -r "$demo" --connection 4,6 > "$tmp/out.txt" 2> "$tmp/err"
rc=$?
[ "$rc" -eq 0 ] && [ "$(grep -o '^connection [0-9]*' "$tmp/out.txt" | tr '\n' ' ')" = "connection 4 connection 6 " ]
check "the text report details --connection 4,6 alone" $? "$(grep '^connection' "$tmp/out.txt")"

listed --connection 99
[ "$rc" -eq 2 ] && [ "$got" = "" ] &&
    [ "$(cat "$tmp/err")" = "tcplens: --connection 99: no such connection (the capture has 6)" ]
check "--connection 99 of 6: exit 2, one line naming 99, the report still written (exit $rc)" $? \
    "$(cat "$tmp/err")"
listed --connection 5-9 --connection 2
[ "$rc" -eq 2 ] && [ "$got" = "2 5 6" ] &&
    [ "$(cat "$tmp/err")" = "tcplens: --connection 7-9: no such connection (the capture has 6)" ]
check "--connection 5-9: exit 2 naming 7-9; 2, 5, 6 listed (got '$got', exit $rc)" $? \
    "$(cat "$tmp/err")"
listed --connection 6
[ "$rc" -eq 0 ] && [ "$got" = "6" ]
check "--connection 6, the last one, is no error (exit $rc)" $? "$(cat "$tmp/err")"

for bad in 0 3-2 "1," ,1 x 1-2-3 -- "1 2"; do
    "$tcplens" -r "$demo" --connection "$bad" > /dev/null 2> "$tmp/err"
    rc=$?
    [ "$rc" -eq 2 ] && head -1 "$tmp/err" | grep -qF "tcplens: bad --connection '$bad'"
    check "--connection '$bad': usage error (exit $rc)" $? "$(cat "$tmp/err")"
done

# --- a mistyped file name ---------------------------------------------------
for typo in "$tmp/demo.pcapp" "typo.pcap" "dir/trace"; do
    "$tcplens" "$demo" "$typo" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    [ "$rc" -eq 2 ] && [ ! -s "$tmp/out" ] &&
        [ "$(cat "$tmp/err")" = "tcplens: $typo: No such file or directory (nor a filter expression)" ]
    check "a missing '$typo' after a capture: no such file, one line (exit $rc)" $? \
        "$(cat "$tmp/err")"
done
"$tcplens" -r "$demo" "$tmp/demo.pcapp" > /dev/null 2> "$tmp/err"
rc=$?
[ "$rc" -eq 2 ] && grep -qx "tcplens: $tmp/demo.pcapp: No such file or directory (nor a filter expression)" "$tmp/err"
check "... also after -r (exit $rc)" $? "$(cat "$tmp/err")"
# Real filter mistakes stay filter mistakes: no '/' or '.', or an address.
for f in "tcp and" "10.0.0.1 and" "10.0.0.0/8 or" "::1 and"; do
    # shellcheck disable=SC2086  # the filter's words
    "$tcplens" "$demo" $f > /dev/null 2> "$tmp/err"
    rc=$?
    [ "$rc" -eq 2 ] && grep -q "^tcplens: bad filter expression '$f'" "$tmp/err" &&
        [ "$(wc -l < "$tmp/err")" -eq 1 ]
    check "filter '$f': a bad filter expression, one line (exit $rc)" $? "$(cat "$tmp/err")"
done
"$tcplens" "$demo" "host" "127.0.0.1" > /dev/null 2> "$tmp/err"
check "a good filter with an address still runs" $? "$(cat "$tmp/err")"

# --- getopt's mistakes: one line under tcplens's name -------------------------
while IFS='|' read -r args want; do
    # shellcheck disable=SC2086  # the options' words
    "$tcplens" $args > /dev/null 2> "$tmp/err"
    rc=$?
    [ "$rc" -eq 2 ] && [ "$(head -1 "$tmp/err")" = "tcplens: $want" ] &&
        [ "$(grep -vc "^Try 'tcplens --help'" "$tmp/err")" -eq 1 ]
    check "tcplens $args: '$want' alone (exit $rc)" $? "$(cat "$tmp/err")"
done <<EOF
$demo --json|option '--json' requires an argument
$demo --connection|option '--connection' requires an argument
$demo -r|option '-r' requires an argument
$demo --bogus|unknown option '--bogus'
$demo --bogus=3|unknown option '--bogus'
$demo -x|unknown option '-x'
$demo --progress=1|option '--progress' takes no argument
$demo --help=1|option '--help' takes no argument
$demo --time x|ambiguous option '--time' (--timeline, --timeline-max)
EOF

# --- --fail-on info is documented for what it is --------------------------------
"$tcplens" --help | grep -A4 -- '--fail-on' | grep -q 'time_wait'
check "--help: --fail-on info fails on every normal close (time_wait)" $?
sed -n '/fail\\-on " SEVERITY"/,/^\.TP/p' "$srcdir/docs/tcplens.1" | grep -q 'time_wait'
check "the man page says the same" $?
"$tcplens" -r "$demo" --fail-on info > /dev/null 2>&1
rc1=$?
"$tcplens" -r "$demo" --fail-on error > /dev/null 2>&1
rc2=$?
[ "$rc1" -eq 1 ] && [ "$rc2" -eq 1 ]
check "--fail-on info and error both match on the sample (exit $rc1, $rc2)" $?

echo "1..$n"
