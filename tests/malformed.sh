#!/bin/bash
# Malformed captures: the corpus tests/malformed-gen.py writes (cuts of
# samples/normal.pcap at every record boundary and inside every header,
# lying lengths, bad IPv4/TCP header lengths, IPv6 extension-header loops,
# bad TCP options, clocks going backwards or far ahead, pcapng files with
# several link types, random garbage). Every file must give exit 0 or 2 in
# bounded time, at most one line on stderr (naming the file when it is an
# input error), no sanitizer report, and a report that parses and adds up;
# each crafted file must also give the outcome its MANIFEST line states.
# Where valgrind is installed and tcplens is not built with ASan, a
# representative subset also runs under valgrind. Prints TAP.
set -u
export TZ=UTC LC_ALL=C
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-$srcdir/tcplens}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
[ -x "$tcplens" ] || skip "tcplens not built"
command -v python3 > /dev/null || skip "python3 not installed"
command -v timeout > /dev/null || skip "timeout not installed"
[ -f "$srcdir/samples/normal.pcap" ] || skip "samples/normal.pcap missing"

# Seconds one file may take; the largest is a few kilobytes.
LIMIT=10
VG_LIMIT=60

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tl-malformed.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
corpus=$tmp/corpus res=$tmp/res
mkdir "$res"
if ! python3 "$srcdir/tests/malformed-gen.py" "$corpus" 2> "$tmp/gen.err"; then
    echo "1..1"
    echo "not ok 1 - malformed-gen.py writes the corpus"
    sed 's/^/# /' "$tmp/gen.err"
    exit 1
fi

# Each file once, with the full timeline so every packet reaches the report.
while IFS=$'\t' read -r name _; do
    timeout -k 2 "$LIMIT" "$tcplens" --timeline full --json "$res/$name.json" "$corpus/$name" \
        > /dev/null 2> "$res/$name.err"
    echo $? > "$res/$name.rc"
done < "$corpus/MANIFEST"

# Judges every file against the generic rules and its MANIFEST line.
python3 - "$corpus" "$res" << 'EOF'
import json, os, sys

corpus, res = sys.argv[1], sys.argv[2]
SAN = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer", "ERROR: UndefinedBehavior")


def lookup(doc, path):
    for part in path.split("."):
        if isinstance(doc, list):
            doc = doc[int(part)] if part.isdigit() and int(part) < len(doc) else KeyError
        elif isinstance(doc, dict) and part in doc:
            doc = doc[part]
        else:
            return KeyError
        if doc is KeyError:
            return KeyError
    return doc


def same(want, got):
    if isinstance(got, bool) or got is KeyError:
        return False
    if isinstance(got, (int, float)):
        try:
            # Times are printed to the microsecond.
            return abs(float(want) - got) < 5e-7 if "." in want else int(want) == got
        except ValueError:
            return False
    return str(got) == want


def judge(name, want_exit, want_err, checks):
    path = os.path.join(corpus, name)
    problems = []
    rc = int(open(os.path.join(res, name + ".rc")).read())
    err = open(os.path.join(res, name + ".err"), errors="replace").read()
    lines = err.splitlines()
    if rc == 124 or rc == 137:
        return [f"timed out (exit {rc})"]
    if rc not in (0, 2):
        problems.append(f"exit {rc}, not 0 or 2")
    elif want_exit != "any" and rc != int(want_exit):
        problems.append(f"exit {rc}, expected {want_exit}")
    if any(s in err for s in SAN):
        problems.append("sanitizer report on stderr")
    if len(lines) > 1:
        problems.append(f"{len(lines)} lines on stderr, at most 1 expected")
    if any(not l.startswith("tcplens: ") for l in lines):
        problems.append("a stderr line does not start with 'tcplens: '")
    if rc == 2 and (not lines or path not in lines[0]):
        problems.append("exit 2 without a line naming the file")
    if want_err == "-" and lines:
        problems.append("stderr not empty")
    elif want_err not in ("-", "*") and want_err not in err:
        problems.append(f"stderr lacks {want_err!r}")
    try:
        with open(os.path.join(res, name + ".json")) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        return problems + [f"no JSON report that parses: {e}"]
    # The line that names the file is the input's error in the report.
    inp = lookup(doc, "inputs.0")
    prefix = f"tcplens: {path}: "
    said = lines[0][len(prefix):] if lines and lines[0].startswith(prefix) else None
    if inp is KeyError or lookup(inp, "source") != path:
        problems.append("report's inputs[0] is not the file")
    elif said is not None and inp.get("error") != said:
        problems.append(f"report's input error {inp.get('error')!r} differs from stderr")
    elif said is None and "error" in inp:
        problems.append("report has an input error that stderr did not say")
    # Every packet read is used or counted as skipped, once.
    cap = doc.get("capture", {})
    sk = cap.get("skipped", {})
    classes = ("non_tcp", "malformed", "truncated")
    total = cap.get("tcp_packets", -1) + sum(sk.get(k, 0) for k in classes)
    if cap.get("packets") != total:
        problems.append(f"packets {cap.get('packets')} != tcp_packets + skipped {total}")
    if sum(cap.get("skipped_reasons", {}).values()) != total - cap.get("tcp_packets", 0):
        problems.append("skipped_reasons do not add up to skipped")
    if inp is not KeyError and inp.get("packets") != cap.get("packets"):
        problems.append("inputs[0].packets != capture.packets")
    if lookup(doc, "summary.connections") != len(doc.get("connections", [])):
        problems.append("summary.connections != number of connections listed")
    for check in checks.split() if checks != "-" else []:
        key, want = check.split("=", 1)
        got = lookup(doc, key)
        if not same(want, got):
            shown = "missing" if got is KeyError else repr(got)
            problems.append(f"{key} is {shown}, expected {want}")
    return problems


n = failed = 0
for line in open(os.path.join(corpus, "MANIFEST")):
    name, want_exit, _vg, want_err, checks = line.rstrip("\n").split("\t")
    n += 1
    problems = judge(name, want_exit, want_err, checks)
    if problems:
        failed += 1
        print(f"not ok {n} - {name}")
        for p in problems:
            print(f"# {p}")
        for l in open(os.path.join(res, name + ".err"), errors="replace").read().splitlines()[:20]:
            print(f"# stderr: {l}")
    else:
        print(f"ok {n} - {name}")
with open(os.path.join(res, "count"), "w") as f:
    f.write(f"{n} {failed}\n")
EOF
read -r n fail < "$res/count" 2> /dev/null || { n=0 fail=1; }

# Valgrind sees what ASan cannot share a process with; on the files the
# MANIFEST marks (a few of each kind: the whole corpus would take minutes),
# two at a time.
n=$((n + 1))
if ! command -v valgrind > /dev/null; then
    echo "ok $n # SKIP valgrind not installed"
elif grep -q __asan_init "$tcplens"; then
    echo "ok $n # SKIP tcplens is built with ASan"
else
    awk -F'\t' '$3 == "vg" { print $1 }' "$corpus/MANIFEST" > "$tmp/vg.list"
    [ -s "$tmp/vg.list" ] || echo "no-file-marked-for-valgrind" > "$tmp/vg.list"
    export corpus res tcplens VG_LIMIT
    # shellcheck disable=SC2016 # expanded by the inner shell, per file
    xargs -P 2 -I{} sh -c 'timeout -k 2 "$VG_LIMIT" valgrind -q --error-exitcode=99 \
        --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
        "$tcplens" --timeline full --json "$res/$1.vg.json" "$corpus/$1" \
        > /dev/null 2> "$res/$1.vg.err"; echo $? > "$res/$1.vg.rc"' sh {} < "$tmp/vg.list"
    bad=""
    while read -r name; do
        rc=$(cat "$res/$name.vg.rc")
        want=$(cat "$res/$name.rc")
        # Same exit as without valgrind, and no valgrind line at all.
        if [ "$rc" != "$want" ] || grep -q '^==[0-9]*==' "$res/$name.vg.err"; then
            bad="$bad $name"
        fi
    done < "$tmp/vg.list"
    if [ -z "$bad" ]; then
        echo "ok $n - valgrind: no error on $(wc -l < "$tmp/vg.list") files"
    else
        fail=$((fail + 1))
        echo "not ok $n - valgrind errors on:$bad"
        for name in $bad; do
            echo "# $name: exit $(cat "$res/$name.vg.rc")"
            grep '^==[0-9]*==' "$res/$name.vg.err" | head -30 | sed 's/^/# /'
        done
    fi
fi

echo "1..$n"
[ "$fail" -eq 0 ]
