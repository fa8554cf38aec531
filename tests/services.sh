#!/bin/bash
# The services and hosts tables against the connections they count, on
# every sample and kernel capture: each table's connections plus those
# left untracked are the summary's; refusals, timeouts and states at end
# add up to the connections'; the order is first-seen; each handshake
# quantile lies between the smallest and the largest of the connections'
# own legs; the text report lists the top services and the HTML page has
# a row per service. Prints TAP.
set -u
export LC_ALL=C TZ=UTC
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tcplens=${TCPLENS:-./tcplens}
skip() { echo "1..0 # SKIP $*"; exit "${TL_SKIP_STATUS:-77}"; }
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
exec python3 - "$tcplens" "$srcdir"/samples/*.pcap "$srcdir"/tests/netns/kernel/*.pcap <<'PY'
import json, subprocess, sys

tcplens, caps = sys.argv[1], sys.argv[2:]
n = failed = 0


def check(ok, name):
    global n, failed
    n += 1
    failed += not ok
    print(("ok" if ok else "not ok") + " %d - %s" % (n, name))


def conn_key(c, table):
    if table == "services":
        return (c["server"]["ip"], c["server"]["port"])
    return c["client"]["ip"]


def row_key(r, table):
    if table == "services":
        return (r["server"]["ip"], r["server"]["port"])
    return r["client"]


for cap in caps:
    name = cap.rsplit("/", 1)[-1]
    out = subprocess.run([tcplens, "-r", cap, "--json", "-", "--html", "/dev/stdout"],
                         capture_output=True, text=True).stdout
    # The JSON document ends where the page begins.
    cut = out.index("<!DOCTYPE html>")
    doc, page = json.loads(out[:cut]), out[cut:]
    conns = doc["connections"]
    for table in ("services", "hosts"):
        rows = doc[table]
        untracked = doc["services_untracked"][table + "_connections"]
        ok = sum(r["connections"] for r in rows) + untracked == doc["summary"]["connections"]
        firsts = [r["first_connection"] for r in rows]
        ok = ok and firsts == sorted(firsts) and len(set(firsts)) == len(firsts)
        for r in rows:
            mine = [c for c in conns if conn_key(c, table) == row_key(r, table)]
            ok = ok and len(mine) == r["connections"] and mine[0]["id"] == r["first_connection"]
            ok = ok and r["refused"] == sum(any(a["type"] == "refused" for a in c["anomalies"])
                                            for c in mine)
            ok = ok and r["timeouts"] == sum(c["end"] == "timeout" for c in mine)
            for role in ("client", "server"):
                want = {}
                for c in mine:
                    st = c["states_at_end"][role]
                    want[st] = want.get(st, 0) + 1
                ok = ok and r["states_at_end"][role] == want
            for leg in ("syn_synack", "synack_ack"):
                vals = [c["rtt"][leg] for c in mine if c["rtt"][leg] is not None]
                q = r["handshake_rtt"][leg]
                ok = ok and q["samples"] == len(vals)
                if vals:
                    lo, hi = min(vals), max(vals)
                    ok = ok and q["max"] == hi and all(
                        lo * 0.968 - 1e-6 <= q[p] <= hi + 1e-6 for p in ("p50", "p90", "p99"))
        check(ok, "%s: %s add up to the connections (%d rows)" % (name, table, len(rows)))
    nsvc = len(doc["services"])
    check(page.count("<tr><td data-v=") == nsvc,
          "%s: the HTML services table has a row per service (%d)" % (name, nsvc))
    text = subprocess.run([tcplens, "-r", cap], capture_output=True, text=True).stdout
    lines = text.splitlines()
    if nsvc == 0:
        check(not any(l.startswith("top services") for l in lines), name + ": no services, no section")
        continue
    at = [i for i, l in enumerate(lines) if l.startswith("top services")]
    ok = len(at) == 1
    if ok:
        shown = min(5, nsvc)
        body = lines[at[0] + 2: at[0] + 2 + shown]
        top = sorted(doc["services"], key=lambda r: (-r["connections"], r["first_connection"]))[:shown]
        for l, r in zip(body, top):
            ep = ("[%s]:%d" if ":" in r["server"]["ip"] else "%s:%d") % (r["server"]["ip"],
                                                                          r["server"]["port"])
            f = l.split()
            ok = ok and f[0] == ep and int(f[1]) == r["connections"]
    check(ok, "%s: the text lists the top %d services, most connections first" % (name, min(5, nsvc)))
    if not ok:
        continue

    def trouble(r):
        return r["refused"] + r["unanswered"] + r["timeouts"] + r["resets"]["client"] + \
            r["resets"]["server"]

    rest = [r for r in doc["services"] if r not in top and trouble(r) > 0]
    more = min(5, len(rest))
    after = lines[at[0] + 2 + shown:]
    ok = (more == 0) == (not after or not after[0].startswith("  and the "))
    if more:
        ok = ok and after[0].startswith("  and the %d with the most" % more)
        best = sorted(rest, key=lambda r: (-trouble(r), r["first_connection"]))[:more]
        for l, r in zip(after[1:1 + more], best):
            ok = ok and l.split()[0].endswith(":%d" % r["server"]["port"])
    check(ok, "%s: then the %d services with the most trouble beyond them" % (name, more))
print("1..%d" % n)
sys.exit(1 if failed else 0)
PY
