#!/bin/bash
# Golden tests: for each tests/cases/NAME/, run tcplens with the words in
# NAME/args (paths relative to the source tree) and compare with
#   expected.txt    the text report (stdout)
#   expected.json   the JSON report (--json -)
#   expected.ndjson NDJSON (--ndjson)
# Optional: NAME/exit holds the expected exit status (default 0).
# Prints TAP. Regenerate after reviewing a change in behaviour:
#   tests/run-cases.sh --update NAME...   (or --update-all)
set -u
export TZ=UTC LC_ALL=C
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-$srcdir/tcplens}
cases=$srcdir/tests/cases
update=()
case "${1:-}" in
--update) shift; update=("$@") ;;
--update-all) mapfile -t update < <(ls "$cases") ;;
esac

if [ ! -x "$tcplens" ]; then
    echo "1..0 # SKIP tcplens not built ($tcplens)"
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-cases.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# Runs one variant; prints nothing, leaves output in $tmp/out.
run_variant() { # dir extra-args...
    local dir=$1; shift
    local args
    read -r -a args < "$dir/args"
    (cd "$srcdir" && "$tcplens" "${args[@]}" "$@") > "$tmp/out" 2> "$tmp/err"
    echo $? > "$tmp/rc"
}

n=0 fail=0
check() { # name dir file extra-args...
    local name=$1 dir=$2 file=$3; shift 3
    run_variant "$dir" "$@"
    local want_rc=0
    [ -f "$dir/exit" ] && want_rc=$(cat "$dir/exit")
    n=$((n + 1))
    if [ "$(cat "$tmp/rc")" != "$want_rc" ]; then
        echo "not ok $n - $name/$file: exit $(cat "$tmp/rc"), expected $want_rc"
        sed 's/^/# /' "$tmp/err"
        fail=$((fail + 1))
    elif diff -u "$dir/$file" "$tmp/out" > "$tmp/diff"; then
        echo "ok $n - $name/$file"
    else
        echo "not ok $n - $name/$file"
        sed 's/^/# /' "$tmp/diff" | head -60
        fail=$((fail + 1))
    fi
}

regen() { # dir file extra-args...
    local dir=$1 file=$2; shift 2
    run_variant "$dir" "$@"
    cp "$tmp/out" "$dir/$file"
    echo "# updated $dir/$file (exit $(cat "$tmp/rc"))"
}

variants() { # dir → lines "file extra-args"
    echo "expected.txt"
    echo "expected.json --json -"
    [ -f "$1/expected.ndjson" ] && echo "expected.ndjson --ndjson"
    return 0
}

if [ ${#update[@]} -gt 0 ]; then
    for name in "${update[@]}"; do
        dir=$cases/$name
        [ -f "$dir/args" ] || { echo "no such case: $name" >&2; exit 1; }
        while read -r file extra; do
            # shellcheck disable=SC2086
            regen "$dir" "$file" $extra
        done < <(variants "$dir")
    done
    exit 0
fi

for dir in "$cases"/*/; do
    dir=${dir%/}
    name=$(basename "$dir")
    [ -f "$dir/args" ] || continue
    while read -r file extra; do
        # shellcheck disable=SC2086
        check "$name" "$dir" "$file" $extra
    done < <(variants "$dir")
done
echo "1..$n"
[ "$fail" -eq 0 ]
