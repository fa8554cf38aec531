#!/bin/bash
# The progress line on stderr (src/progress.c): none when stderr is not a
# terminal, none for a short run even when forced; with --progress on a
# read that lasts, a line with the expected fields redrawn in place a few
# times a second and erased at the end; on a terminal (a pty) it comes by
# itself and --no-progress stops it; the report on stdout never changes.
# Captures come from bench/gen; the run that must last is sized from a
# first run, so that it lasts a few seconds on any build. Prints TAP.
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
command -v "${CC:-cc}" >/dev/null 2>&1 || skip "no C compiler to build the generator"
command -v python3 >/dev/null 2>&1 || skip "python3 not found"

work=$(mktemp -d "${TMPDIR:-/tmp}/tl-progress.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
if ! "${CC:-cc}" -std=c11 -o "$work/gen" "$srcdir/bench/gen.c" "$srcdir/bench/gen_tcp.c" ||
    ! "$work/gen" -n 100k -c 10k -q -o "$work/cap.pcap"; then
    echo "Bail out! cannot build bench/gen or make its capture"
    exit 1
fi

n=0
check() { # check NAME CONDITION-STATUS [DIAGNOSTIC]
    n=$((n + 1))
    if [ "$2" -eq 0 ]; then
        echo "ok $n - $1"
    else
        echo "not ok $n - $1"
        [ -z "${3:-}" ] || printf '%s\n' "$3" | sed 's/^/# /'
    fi
}
ms() { echo $(($(date +%s%N) / 1000000)); }

# 1. stderr a file: nothing on it.
t0=$(ms)
"$tcplens" "$work/cap.pcap" >"$work/out.plain" 2>"$work/err.plain"
rc=$?
t1=$((($(ms) - t0)))
check "stderr not a terminal: exit 0, stderr empty" \
    "$([ "$rc" -eq 0 ] && [ ! -s "$work/err.plain" ]; echo $?)" "$(head -c 300 "$work/err.plain")"

# 2. Forced on, a run under a second prints nothing.
"$tcplens" --progress "$srcdir/samples/demo.pcap" >/dev/null 2>"$work/err.short"
check "--progress on a short run: nothing on stderr" "$([ ! -s "$work/err.short" ]; echo $?)" \
    "$(od -c "$work/err.short" | head -5)"

# 3. Forced on, a run of a few seconds: the same capture given k times (the
# inputs are merged), k sized from the first run's time, and doubled should
# the machine have sped up so much that the read took under a second.
k=$(((3000 + t1 - 1) / (t1 > 0 ? t1 : 1)))
((k < 1)) && k=1
((k > 40)) && k=40
for attempt in 1 2 3; do
    args=()
    for ((i = 0; i < k; i++)); do args+=(-r "$work/cap.pcap"); done
    t0=$(ms)
    "$tcplens" --progress "${args[@]}" >"$work/out.on" 2>"$work/err.on"
    rc_on=$?
    elapsed_on=$((($(ms) - t0)))
    { [ -s "$work/err.on" ] || [ "$attempt" -eq 3 ]; } && break
    k=$((k * 2))
done
"$tcplens" --no-progress "${args[@]}" >"$work/out.off" 2>"$work/err.off"
rc_off=$?
size=$(wc -c <"$work/cap.pcap")
# Prints what is wrong with a forced progress stream, nothing when right.
verdict=$(python3 - "$work/err.on" $((size * k)) "$elapsed_on" <<'EOF'
import re, sys
data = open(sys.argv[1], 'rb').read()
total, elapsed = int(sys.argv[2]), int(sys.argv[3]) / 1000
units = {b'B': 1, b'kB': 1e3, b'MB': 1e6, b'GB': 1e9}
line = re.compile(rb'tcplens: ([0-9.]+) ([kMG]?B) of ([0-9.]+) ([kMG]?B), ([0-9]+)%, '
                  rb'ETA [0-9]+:[0-9]{2}(:[0-9]{2})?, [0-9.]+[kMG]? packets/s, '
                  rb'[0-9]+ connections? open\x1b\[K')
problems = []
if not data.endswith(b'\r\x1b[K'):
    problems.append('does not end erased (\\r ESC[K)')
if b'\n' in data:
    problems.append('has a newline: the line is not redrawn in place')
parts = data[:-4].split(b'\r') if data.endswith(b'\r\x1b[K') else data.split(b'\r')
if parts[0] != b'':
    problems.append('does not start with \\r')
lines = parts[1:]
if not lines:
    problems.append('no progress line (the run took %.1f s)' % elapsed)
last_pct, last_done = -1, -1
for l in lines:
    m = line.fullmatch(l)
    if not m:
        problems.append('unexpected line: %r' % l)
        continue
    done = float(m.group(1)) * units[m.group(2)]
    of = float(m.group(3)) * units[m.group(4)]
    pct = int(m.group(5))
    if abs(of - total) > total * 0.01:
        problems.append('total %r, expected %d bytes' % (l, total))
    if pct < last_pct or done < last_done or pct > 100:
        problems.append('progress goes back or past 100%%: %r' % l)
    last_pct, last_done = pct, done
# At most 4 lines a second, none in the first second.
if len(lines) > 4 * max(elapsed - 1, 0) + 1:
    problems.append('%d lines in %.1f s: more than 4 a second' % (len(lines), elapsed))
print('\n'.join(problems))
EOF
)
check "--progress on a long read: lines with bytes of total, percent, ETA, packets/s, connections open; erased at the end" \
    "$([ "$rc_on" -eq 0 ] && [ -z "$verdict" ]; echo $?)" "k=$k; $verdict"
check "the report on stdout is the same with and without the progress line" \
    "$([ "$rc_off" -eq 0 ] && cmp -s "$work/out.on" "$work/out.off" && [ -s "$work/out.on" ]; echo $?)"
check "--no-progress: stderr empty" "$([ ! -s "$work/err.off" ]; echo $?)"

# 4. stderr a terminal (a pty), stdin a pipe that stalls for 1.5 s after a
# fifth of the capture: the line comes by itself, without a total (a pipe
# has none); --no-progress keeps the terminal clean; stdout the same.
pty_run() { # pty_run OUT-FILE [OPTION...]: prints what the pty received
    python3 - "$tcplens" "$work/cap.pcap" "$@" <<'EOF'
import os, pty, subprocess, sys, threading, time
tcplens, cap, out = sys.argv[1:4]
master, slave = pty.openpty()
p = subprocess.Popen([tcplens, '-r', '-'] + sys.argv[4:], stdin=subprocess.PIPE,
                     stdout=open(out, 'wb'), stderr=slave)
os.close(slave)
got = []
def drain():
    while True:
        try:
            b = os.read(master, 4096)
        except OSError:
            break
        if not b:
            break
        got.append(b)
reader = threading.Thread(target=drain)
reader.start()
data = open(cap, 'rb').read()
cut = len(data) // 5
try:
    p.stdin.write(data[:cut])
    p.stdin.flush()
    time.sleep(1.5)
    p.stdin.write(data[cut:])
    p.stdin.close()
except BrokenPipeError:
    pass
rc = p.wait()
reader.join(timeout=10)
sys.stdout.write('rc=%d\n' % rc)
sys.stdout.write(repr(b''.join(got)) + '\n')
EOF
}
tty_on=$(pty_run "$work/out.tty")
tty_off=$(pty_run "$work/out.notty" --no-progress)
verdict=$(printf '%s\n' "$tty_on" | python3 -c '
import ast, re, sys
rc, data = sys.stdin.read().split("\n", 1)
data = ast.literal_eval(data.strip())
line = re.compile(rb"tcplens: [0-9.]+ [kMG]?B, [0-9.]+ [kMG]?B/s, [0-9.]+[kMG]? packets/s, "
                  rb"[0-9]+ connections? open\x1b\[K")
parts = data[:-4].split(b"\r")
if rc != "rc=0":
    print(rc)
elif (not data.endswith(b"\r\x1b[K") or parts[0] != b"" or len(parts) < 2 or
      not all(line.fullmatch(l) for l in parts[1:])):
    print("got %r" % data[:400])
')
check "stderr a terminal, stdin a pipe: a line by itself, bytes and rates, no total; erased" \
    "$([ -z "$verdict" ]; echo $?)" "$verdict"
check "stderr a terminal with --no-progress: nothing on it" \
    "$([ "$tty_off" = "$(printf 'rc=0\n%s' "b''")" ]; echo $?)" "$tty_off"
check "stdin a pipe: the report on stdout is the same with and without the line" \
    "$(cmp -s "$work/out.tty" "$work/out.notty" && [ -s "$work/out.tty" ]; echo $?)"
echo "1..$n"
