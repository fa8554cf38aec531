#!/bin/bash
# The keys the JSON reporters write with TL_JW_KEY (src/json_writer.h) are
# copied without escaping: every one must be a literal of letters, digits
# and '_'. Checks each use in src/, and that there are uses to check. Prints
# TAP; a failure names the file, line and key.
# Env: SRCDIR (source tree).
set -u
export LC_ALL=C
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}

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

# file:line:argument for every TL_JW_KEY( use but the macro's definition.
uses=$(grep -n 'TL_JW_KEY(' "$srcdir"/src/*.c "$srcdir"/src/*.h |
    grep -v '#define TL_JW_KEY' |
    sed -n 's|^\([^:]*\):\([0-9]*\):.*TL_JW_KEY([^,]*, *\(.*\)$|\1:\2:\3|p' |
    sed 's|^'"$srcdir"'/||')
count=$(printf '%s\n' "$uses" | grep -c .)
[ "$count" -ge 40 ]
result $? "TL_JW_KEY is used (found $count uses)" <<< "expected the reporters' literal keys"

# The argument must start with a plain literal closed before the call is.
bad=$(printf '%s\n' "$uses" | grep -v ':"[A-Za-z0-9_][A-Za-z0-9_]*")' || true)
[ -z "$bad" ]
result $? "every TL_JW_KEY key is a literal of letters, digits and '_'" <<< "$bad"

echo "1..$n"
[ "$fail" -eq 0 ]
