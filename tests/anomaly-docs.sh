#!/bin/bash
# docs/anomalies.md against the anomaly registry (TL_ANOMALIES in
# include/tcplens/anomaly.h): one "## `id`" section per type id, no other
# such section, and a contents table (under "## Contents") listing the same
# ids with the registry's severity and, as what the capture shows, the
# registry's one-line explanation of the type. Prints TAP; a failure names the ids
# that are missing or extra.
# Env: SRCDIR (source tree).
set -u
export LC_ALL=C
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
header=$srcdir/include/tcplens/anomaly.h
doc=$srcdir/docs/anomalies.md

n=0 fail=0
result() { # ok? description [detail lines on stdin]
    n=$((n + 1))
    if [ "$1" = 0 ]; then
        echo "ok $n - $2"
        cat > /dev/null
    else
        echo "not ok $n - $2"
        sed 's/^/# /'
        fail=$((fail + 1))
    fi
}

# "id severity" per registry line: X(NAME, "id", TL_SEV_X, host), in the
# backslash-continued body of #define TL_ANOMALIES(X).
registry() {
    awk '/^#define[ \t]+TL_ANOMALIES\(X\)/ { on = 1 }
         on { print; if ($0 !~ /\\[ \t]*$/) exit }' "$header" |
        sed -n 's/.*X([ \t]*[A-Z0-9_]*[ \t]*,[ \t]*"\([a-z0-9_]*\)"[ \t]*,[ \t]*TL_SEV_\([A-Z]*\).*/\1 \2/p' |
        tr 'A-Z' 'a-z'
}

# Ids of the "## `id`" headings.
headings() { sed -n 's/^##[ \t]\{1,\}`\([a-z0-9_]*\)`[ \t]*$/\1/p' "$doc"; }

# "id severity" per row of the table under "## Contents" (up to the next
# heading of any level).
contents() {
    awk '/^#+[ \t]/ { on = ($0 ~ /^## Contents[ \t]*$/); next }
         on && /^\|/' "$doc" |
        sed -n 's/^|[^`|]*`\([a-z0-9_]*\)`[^|]*|[ \t]*\([a-z]*\)[ \t]*|.*/\1 \2/p'
}

# Compares two sorted id lists; prints "missing: …" / "extra: …".
compare() { # want-file got-file what
    local missing extra
    missing=$(comm -23 "$1" "$2" | tr '\n' ' ')
    extra=$(comm -13 "$1" "$2" | tr '\n' ' ')
    [ -n "$missing" ] && echo "missing from $3: $missing"
    [ -n "$extra" ] && echo "in $3 but not in TL_ANOMALIES: $extra"
    [ -z "$missing" ] && [ -z "$extra" ]
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-andocs.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

if [ ! -f "$header" ] || [ ! -f "$doc" ]; then
    echo "1..1"
    echo "not ok 1 - $header and $doc exist"
    exit 1
fi

registry > "$tmp/reg"
cut -d' ' -f1 "$tmp/reg" | sort > "$tmp/ids"
[ -s "$tmp/ids" ]
result $? "TL_ANOMALIES parsed from include/tcplens/anomaly.h ($(wc -l < "$tmp/ids") ids)" < /dev/null
dups=$(uniq -d "$tmp/ids" | tr '\n' ' ')
[ -z "$dups" ]
result $? "registry ids are unique" <<< "duplicated: $dups"

headings > "$tmp/head.all"
sort "$tmp/head.all" > "$tmp/head.sorted"
sort -u "$tmp/head.all" > "$tmp/head"
compare "$tmp/ids" "$tmp/head" 'the "## `id`" sections of docs/anomalies.md' > "$tmp/msg"
result $? "docs/anomalies.md has exactly one section per registry id" < "$tmp/msg"
dups=$(uniq -d "$tmp/head.sorted" | tr '\n' ' ')
[ -z "$dups" ]
result $? "no type has two sections" <<< "sections repeated: $dups"

contents > "$tmp/toc.rows"
cut -d' ' -f1 "$tmp/toc.rows" | sort > "$tmp/toc.sorted"
sort -u "$tmp/toc.sorted" > "$tmp/toc"
compare "$tmp/ids" "$tmp/toc" 'the contents table of docs/anomalies.md' > "$tmp/msg"
result $? "the contents table lists exactly the registry ids" < "$tmp/msg"
dups=$(uniq -d "$tmp/toc.sorted" | tr '\n' ' ')
[ -z "$dups" ]
result $? "the contents table lists each id once" <<< "listed twice: $dups"

# Severity per id: the contents table says what the registry says.
sort "$tmp/reg" > "$tmp/reg.sev"
sort -u "$tmp/toc.rows" | join "$tmp/reg.sev" - |
    awk '$2 != $3 { print $1 ": registry " $2 ", contents table " $3; bad = 1 } END { exit bad }' \
    > "$tmp/msg"
result $? "the contents table gives each id the registry's severity" < "$tmp/msg"

# What the capture shows, per id: the registry's one-line explanation (its
# seventh argument, the first string after the renderer) is the contents
# table's last column, word for word.
shows() {
    awk '/^#define[ \t]+TL_ANOMALIES\(X\)/ { on = 1 }
         on && /X\([A-Z0-9_]+, "/ { match($0, /"[a-z0-9_]+"/); id = substr($0, RSTART + 1, RLENGTH - 2); k = 0 }
         on && /^[ \t]*"/ && id != "" { if (k++ == 0) { t = $0; sub(/^[ \t]*"/, "", t); sub(/", \\$/, "", t); print id "\t" t } }
         on && !/\\[ \t]*$/ { exit }' "$header" | sort
}
table_shows() {
    awk '/^#+[ \t]/ { on = ($0 ~ /^## Contents[ \t]*$/); next }
         on && /^\| \[`/' "$doc" |
        sed -n 's/^| \[`\([a-z0-9_]*\)`\][^|]*|[^|]*|[^|]*| \(.*\) |$/\1\t\2/p' | sort
}
shows > "$tmp/shows"
table_shows > "$tmp/toc.shows"
[ "$(wc -l < "$tmp/shows")" -eq "$(wc -l < "$tmp/ids")" ] && cmp -s "$tmp/shows" "$tmp/toc.shows"
result $? "the contents table says what the capture shows as the registry does" \
    < <(diff "$tmp/shows" "$tmp/toc.shows" | head -20)

echo "1..$n"
[ "$fail" -eq 0 ]
