#!/bin/bash
# `tcplens --help` and the man page (docs/tcplens.1) document the same
# options: every short and long option one defines, the other defines too.
# Both are parsed, nothing is listed here, so a new option fails this test
# until it is in both. Prints TAP.
set -u
export LC_ALL=C
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
man=$srcdir/docs/tcplens.1

# The options --help defines: on each line indented like an option entry
# (a few spaces, then '-'), the words before the description column.
help_options() {
    sed -n 's/^ \{1,8\}\(-.*\)$/\1/p' |
        sed 's/   .*//' |
        grep -oE '(^|[ ,])--?[A-Za-z0-9][-A-Za-z0-9]*' |
        sed 's/^[ ,]*//' | sort -u
}

# The options the man page defines: the tags of the .TP (and .TQ) entries
# of its OPTIONS section, with roff's escapes removed.
man_options() {
    awk '/^\.SH/ { in_opts = ($2 == "OPTIONS") }
         in_opts && tag { print; tag = 0; next }
         in_opts && /^\.(TP|TQ)/ { tag = 1 }' |
        sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(..//g' |
        grep -oE '(^|[ ,"])--?[A-Za-z0-9][-A-Za-z0-9]*' |
        sed 's/^[ ,"]*//' | sort -u
}

echo "1..4"
if ! help=$("$tcplens" --help); then
    echo "Bail out! $tcplens --help failed"
    exit 1
fi
in_help=$(printf '%s\n' "$help" | help_options)
in_man=$(man_options <"$man")

n=$(printf '%s\n' "$in_help" | grep -c .)
if printf '%s\n' "$in_help" | grep -qx -- '--help' && [ "$n" -ge 10 ]; then
    echo "ok 1 - --help defines $n options (--help among them)"
else
    echo "not ok 1 - --help defines options (found $n: parsing failed?)"
fi
n=$(printf '%s\n' "$in_man" | grep -c .)
if printf '%s\n' "$in_man" | grep -qx -- '--help' && [ "$n" -ge 10 ]; then
    echo "ok 2 - the man page defines $n options (--help among them)"
else
    echo "not ok 2 - the man page defines options (found $n: parsing failed?)"
fi

only_help=$(comm -23 <(printf '%s\n' "$in_help") <(printf '%s\n' "$in_man"))
only_man=$(comm -13 <(printf '%s\n' "$in_help") <(printf '%s\n' "$in_man"))
if [ -z "$only_help" ]; then
    echo "ok 3 - every option of --help is in the man page"
else
    echo "not ok 3 - every option of --help is in the man page"
    printf '# missing from %s: %s\n' "$man" $only_help
fi
if [ -z "$only_man" ]; then
    echo "ok 4 - every option of the man page is in --help"
else
    echo "not ok 4 - every option of the man page is in --help"
    printf '# missing from --help: %s\n' $only_man
fi
