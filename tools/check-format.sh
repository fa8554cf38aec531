#!/bin/sh
# Checks the C sources against .clang-format (clang-format 14, Debian 12's).
#
#   tools/check-format.sh          lists the files clang-format would change;
#                                  exits 1 if there are any, 0 if none
#   tools/check-format.sh --fix    formats them in place
#
# Exits 77 (skipped) where clang-format is missing, except in CI (CI set),
# where that is a failure. CLANG_FORMAT names another binary.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2

fix=no
case ${1-} in
"") ;;
--fix) fix=yes ;;
*) echo "usage: $0 [--fix]" >&2; exit 2 ;;
esac

cf=${CLANG_FORMAT-}
if [ -z "$cf" ]; then
    for c in clang-format-14 clang-format; do
        if command -v "$c" >/dev/null 2>&1; then cf=$c; break; fi
    done
fi
if [ -z "$cf" ]; then
    if [ -n "${CI-}" ]; then
        echo "check-format: clang-format not found (tools/install-deps.sh installs it)" >&2
        exit 1
    fi
    echo "check-format: clang-format not found, format not checked" >&2
    exit 77
fi

# The hand-written C of the tree (not the build's generated files).
files=$(ls src/*.c src/*.h include/tcplens/*.h tests/unit/*.c tests/unit/*.h tests/*.c \
    tests/fuzz/*.c bench/*.c bench/*.h 2>/dev/null)

if [ "$fix" = yes ]; then
    # shellcheck disable=SC2086
    exec "$cf" -i --style=file $files
fi
bad=0
tmp=$(mktemp) || exit 2
trap 'rm -f "$tmp"' EXIT
for f in $files; do
    if ! "$cf" --style=file "$f" > "$tmp"; then
        echo "check-format: clang-format failed on $f" >&2
        exit 2
    fi
    if ! cmp -s "$f" "$tmp"; then
        echo "$f"
        bad=1
    fi
done
if [ "$bad" -ne 0 ]; then
    echo "check-format: the files above are not formatted; tools/check-format.sh --fix formats them" >&2
    exit 1
fi
exit 0
