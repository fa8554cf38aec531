#!/bin/bash
# The bash completion (completion/tcplens): its function is called as bash
# calls it, with COMP_WORDS and COMP_CWORD set, and its answers checked;
# and it offers exactly the options `tcplens --help` lists (parsed, not
# listed here). Prints TAP.
set -u
export LC_ALL=C
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
[ -n "${BASH_VERSION:-}" ] || skip "not run by bash"

# shellcheck source=../completion/tcplens
. "$srcdir/completion/tcplens" || { echo "Bail out! cannot source completion/tcplens"; exit 1; }

# Completes the words given, the last being the one under the cursor;
# prints the answers sorted, one a line. As bash does by default, '=' is a
# word break: "--fail-on=w" is the words "--fail-on" "=" "w".
comp() {
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _tcplens tcplens "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    ((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}" | sort
}

n=0 failed=0
# is NAME GOT WANT
is() {
    n=$((n + 1))
    if [ "$2" = "$3" ]; then
        echo "ok $n - $1"
    else
        failed=$((failed + 1))
        echo "not ok $n - $1"
        printf '#   got:      %s\n' $2
        printf '#   expected: %s\n' $3
    fi
}
lines() { printf '%s\n' "$@"; }

is "--time completes to the two --timeline options" \
    "$(comp tcplens --time)" "$(lines --timeline --timeline-max)"
is "--timeline's values" "$(comp tcplens --timeline '')" "$(lines full lifecycle)"
is "--timeline f" "$(comp tcplens -r x.pcap --timeline f)" "full"
is "--color's values" "$(comp tcplens --color '')" "$(lines always auto never)"
is "--ladder=STYLE (split at '=')" "$(comp tcplens --ladder = '')" "$(lines ascii unicode)"
is "--fail-on's values" "$(comp tcplens --fail-on '')" "$(lines error info warning)"
is "--fail-on=w (split at '=')" "$(comp tcplens --fail-on = w)" "warning"
is "--fail-on= (split at '=')" "$(comp tcplens --fail-on =)" "$(lines error info warning)"
is "--fail-on=w as one word ('=' not a word break): the answer keeps '--fail-on='" \
    "$(comp tcplens --fail-on=w)" "--fail-on=warning"
is "-c takes a number: nothing offered" "$(comp tcplens -c '')" ""
is "--max-flows takes a number: nothing offered" "$(comp tcplens --max-flows 1)" ""

want_ifaces=$(
    echo any
    for d in /sys/class/net/*; do [ -e "$d" ] && echo "${d##*/}"; done
)
is "-i: the interfaces in /sys/class/net, and any" \
    "$(comp tcplens -i '')" "$(printf '%s\n' $want_ifaces | sort)"
is "-i a" "$(comp tcplens -i a)" "$(printf '%s\n' $want_ifaces | grep '^a' | sort)"

work=$(mktemp -d "${TMPDIR:-/tmp}/tl-completion.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
mkdir "$work/dir"
touch "$work/a.pcap" "$work/b.pcapng" "$work/c.cap" "$work/notes.txt" "$work/report.json"
cd "$work" || exit 1
is "-r: capture files and directories" "$(comp tcplens -r '')" \
    "$(lines a.pcap b.pcapng c.cap dir)"
is "a file without -r: capture files and directories" "$(comp tcplens -n '')" \
    "$(lines a.pcap b.pcapng c.cap dir)"
is "after a capture file: more capture files" "$(comp tcplens a.pcap b)" "b.pcapng"
is "--json: any file" "$(comp tcplens --json '')" \
    "$(lines a.pcap b.pcapng c.cap dir notes.txt report.json)"
is "--ndjson=r (split at '='): any file" "$(comp tcplens --ndjson = r)" "report.json"
is "--ndjson FILE is not its argument: a capture file" "$(comp tcplens --ndjson '')" \
    "$(lines a.pcap b.pcapng c.cap dir)"
is "--ladder STYLE is not its argument: a capture file" "$(comp tcplens --ladder '')" \
    "$(lines a.pcap b.pcapng c.cap dir)"
cd - >/dev/null || exit 1

# Every option --help lists is offered, and nothing else: the words of the
# option column (as tests/help-man.sh reads them).
if help=$("$tcplens" --help); then
    in_help=$(printf '%s\n' "$help" | sed -n 's/^ \{1,8\}\(-.*\)$/\1/p' | sed 's/   .*//' |
        grep -oE '(^|[ ,])--?[A-Za-z0-9][-A-Za-z0-9]*' | sed 's/^[ ,]*//' | sort -u)
    offered=$(comp tcplens - | sort -u)
    not_offered=$(comm -23 <(printf '%s\n' "$in_help") <(printf '%s\n' "$offered"))
    not_in_help=$(comm -13 <(printf '%s\n' "$in_help") <(printf '%s\n' "$offered"))
    is "'-' offers every option of --help" "$not_offered" ""
    is "'-' offers only options of --help" "$not_in_help" ""
    long=$(printf '%s\n' "$in_help" | grep -c '^--')
    is "--help lists long options ($long)" "$( [ "$long" -ge 10 ] && echo yes)" "yes"
else
    n=$((n + 1))
    echo "not ok $n - $tcplens --help runs"
fi
echo "1..$n"
