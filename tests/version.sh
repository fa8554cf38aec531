#!/bin/bash
# tcplens --version (and -V): three lines, tcplens's version (configure.ac's)
# then the versions of the libpcap and jansson it runs with. Prints TAP.
set -u
export LC_ALL=C
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}

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

out=$("$tcplens" --version 2>"${TMPDIR:-/tmp}/tl-version.$$")
rc=$?
err=$(cat "${TMPDIR:-/tmp}/tl-version.$$")
rm -f "${TMPDIR:-/tmp}/tl-version.$$"
check "--version exits 0, nothing on stderr" "$([ "$rc" -eq 0 ] && [ -z "$err" ]; echo $?)" "$err"
check "three lines" "$([ "$(printf '%s\n' "$out" | wc -l)" -eq 3 ]; echo $?)" "$out"

version=$(sed -n 's/^AC_INIT(\[tcplens\], \[\([^]]*\)\].*/\1/p' "$srcdir/configure.ac")
line1=$(printf '%s\n' "$out" | sed -n 1p)
line2=$(printf '%s\n' "$out" | sed -n 2p)
line3=$(printf '%s\n' "$out" | sed -n 3p)
check "line 1: tcplens $version" "$([ -n "$version" ] && [ "$line1" = "tcplens $version" ]; echo $?)" \
    "$line1"
check "line 2: libpcap's own version string" \
    "$(printf '%s\n' "$line2" | grep -Eq '^libpcap version [0-9]+\.[0-9]+'; echo $?)" "$line2"
check "line 3: jansson and its version" \
    "$(printf '%s\n' "$line3" | grep -Eq '^jansson [0-9]+\.[0-9]+'; echo $?)" "$line3"
# The libraries' versions as pkg-config knows them (a build and its
# runtime libraries normally agree).
if command -v pkg-config >/dev/null 2>&1 &&
    pv=$(pkg-config --modversion libpcap 2>/dev/null) &&
    jv=$(pkg-config --modversion jansson 2>/dev/null); then
    check "the versions are those of the libraries installed (libpcap $pv, jansson $jv)" \
        "$(case $line2 in "libpcap version $pv"*) ;; *) false ;; esac &&
            [ "$line3" = "jansson $jv" ]; echo $?)" "$line2 / $line3"
else
    n=$((n + 1))
    echo "ok $n # SKIP pkg-config does not know libpcap and jansson"
fi
check "-V prints the same" "$([ "$("$tcplens" -V 2>&1)" = "$out" ]; echo $?)"
echo "1..$n"
