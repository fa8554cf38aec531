#!/bin/bash
# Every connection's wireshark_filter must select exactly its packets in
# Wireshark: for each capture, tshark counts the frames each filter matches
# and the count must equal the connection's packets (client + server).
# Captures: samples/, tests/netns/kernel/, and the conformance traces when
# ../shared/conformance is there. Skips without tshark. Prints TAP.
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
command -v tshark >/dev/null 2>&1 || skip "tshark not installed"
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
captures=("$srcdir"/samples/*.pcap "$srcdir"/samples/*.pcapng "$srcdir"/tests/netns/kernel/*.pcap)
for t in mixed-vlan-mpls.pcap http__get.pcap ftp__ipv6.pcap tcp__missing-syn.pcap; do
    f=${TL_CONFORMANCE:-$srcdir/../shared/conformance}/zeek/traces/$t
    [ -f "$f" ] && captures+=("$f")
done
exec python3 - "$tcplens" "${captures[@]}" <<'PY'
import json, subprocess, sys

tcplens, captures = sys.argv[1], sys.argv[2:]
n = failed = 0
for cap in captures:
    out = subprocess.run([tcplens, "-r", cap, "--ndjson"], capture_output=True, text=True)
    recs = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    conns = [c for c in recs if c.get("record") == "connection"]
    # One tshark pass per capture: every filter becomes a column of 0/1.
    filters = [c["wireshark_filter"] for c in conns]
    counts = [0] * len(filters)
    if filters:
        for i, f in enumerate(filters):
            r = subprocess.run(["tshark", "-n", "-r", cap, "-Y", f, "-T", "fields",
                                "-e", "frame.number"], capture_output=True, text=True)
            counts[i] = len([x for x in r.stdout.splitlines() if x.strip()])
    name = cap.split("/")[-1]
    for c, got in zip(conns, counts):
        # The filter also selects ICMP errors quoting the connection's segments.
        want = c["packets"]["client"] + c["packets"]["server"] + c.get("icmp_errors", 0)
        n += 1
        if got == want:
            print("ok %d - %s connection %d: filter selects its %d packets" % (n, name, c["id"], want))
        else:
            failed += 1
            print("not ok %d - %s connection %d: filter selects %d packets, connection has %d"
                  % (n, name, c["id"], got, want))
            print("#   %s" % c["wireshark_filter"])
print("1..%d" % n)
sys.exit(1 if failed or n == 0 else 0)
PY
