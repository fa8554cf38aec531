#!/usr/bin/env python3
"""Every state path tcplens reports is a legal one.

The legal steps are the table of the "## Legal transitions" section of
docs/state-machine.md, parsed here, so the document and the test cannot
drift apart. For each connection and each endpoint (client, server) the
path is: for every timeline entry, the states in its "via" for that
endpoint in order, then its state after the entry; then states_at_end.
Repeats collapse; the first state is free. CLOSED -> SYN_SENT is legal for
a new attempt only: taken at a SYN with the ISN the endpoint already used
(relative seq 0), it is illegal. Every step not in the table is
reported with the report's label, the connection id, the endpoint, FROM->TO
and the packet number of the entry that took it ("end" for the step into
states_at_end, "-" for an entry no packet carried).

Usage:
  legal_paths.py --doc docs/state-machine.md [--tap] REPORT...
  legal_paths.py --doc docs/state-machine.md --manifest FILE [--tap]
  legal_paths.py --doc docs/state-machine.md --self-test --tap
A REPORT is a JSON report (--json) or NDJSON (--ndjson), as LABEL=PATH or
PATH. The manifest holds one "LABEL<TAB>PATH" per line; a PATH of "-" (or
a missing file) is a report that could not be made: with the reason in a
third column it becomes a failing (or, with "SKIP ..." as the reason, a
skipped) test point. With --tap, prints TAP, one point per report;
otherwise one line per illegal step, and exits 1 if there was any.
--self-test adds one point first: the walk and the table at work on
hand-made paths (a known-legal and a known-illegal one each), so a table
that allows everything, or a walk that sees nothing, cannot pass unnoticed.

Also a module: real_captures.py imports load_table() and illegal_steps().
"""
import json
import os
import re
import sys

STATES = ("LISTEN", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
          "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT", "CLOSED", "UNKNOWN")
ROLES = ("client", "server")
SECTION = "## Legal transitions"
ROW = re.compile(r"^\|\s*`?\s*([A-Z_0-9]+)\s*->\s*([A-Z_0-9]+)\s*`?\s*\|\s*([a-z]+)\s*\|"
                 r"\s*([^|]*?)\s*\|\s*([^|]*?)\s*\|\s*$")


class TableError(Exception):
    pass


def load_table(doc):
    """Returns {(from, to): {roles}} from the doc's "Legal transitions" table."""
    with open(doc, encoding="utf-8") as f:
        lines = f.read().splitlines()
    try:
        start = next(i for i, l in enumerate(lines) if l.strip() == SECTION)
    except StopIteration:
        raise TableError(f"{doc}: no '{SECTION}' section")
    table = {}
    in_table = False
    for n, line in enumerate(lines[start + 1:], start + 2):
        if line.startswith("## "):
            break
        s = line.strip()
        if not s.startswith("|"):
            if in_table:
                break  # the first table of the section is the table
            continue
        if re.match(r"^\|[\s|:-]+\|$", s) or "transition" in s.split("|")[1]:
            in_table = True
            continue  # header or separator
        in_table = True
        m = ROW.match(s)
        if not m:
            raise TableError(f"{doc}:{n}: cannot read the table row: {s}")
        frm, to, who, source, reason = m.groups()
        for st in (frm, to):
            if st not in STATES:
                raise TableError(f"{doc}:{n}: unknown state {st}")
        if who not in ("any",) + ROLES:
            raise TableError(f"{doc}:{n}: endpoint must be any, client or server, not {who}")
        if frm == to:
            raise TableError(f"{doc}:{n}: {frm} -> {to} is not a step")
        if not reason:
            raise TableError(f"{doc}:{n}: {frm} -> {to} has no reason")
        roles = set(ROLES) if who == "any" else {who}
        if (frm, to) in table and table[(frm, to)] & roles:
            raise TableError(f"{doc}:{n}: {frm} -> {to} listed twice")
        table.setdefault((frm, to), set()).update(roles)
    if not table:
        raise TableError(f"{doc}: the '{SECTION}' section has no table rows")
    return table


def is_legal(table, role, frm, to):
    return role in table.get((frm, to), ())


def path_of(conn, role):
    """[(state, packet, entry)]: the endpoint's states in order, repeats
    collapsed; packet is the entry's packet number, "-" without one, "end"
    for states_at_end."""
    out = []

    def add(state, where, e):
        if state and (not out or out[-1][0] != state):
            out.append((state, where, e))

    for e in conn.get("timeline") or []:
        where = e.get("packet", "-")
        for v in (e.get("via") or {}).get(role) or []:
            add(v, where, e)
        add(e.get(role), where, e)
    if not conn.get("timeline_dropped"):
        add((conn.get("states_at_end") or {}).get(role), "end", None)
    return out


def same_attempt(role, e):
    """True when entry e is a SYN of role's with its first ISN (relative seq
    0): a retransmission of the attempt, not a new one."""
    return (e is not None and e.get("dir") == f"{role}>{'server' if role == 'client' else 'client'}"
            and "S" in e.get("flags", "") and "A" not in e.get("flags", "") and e.get("seq") == 0)


def illegal_steps(table, conn):
    """[(role, from, to, packet, note)] for every step of the connection not
    in the table, and for CLOSED -> SYN_SENT taken at a SYN that carries the
    ISN the endpoint already used (the table allows it for a new attempt only)."""
    bad = []
    for role in ROLES:
        p = path_of(conn, role)
        for (a, _, _), (b, where, e) in zip(p, p[1:]):
            if not is_legal(table, role, a, b):
                bad.append((role, a, b, where, ""))
            elif (a, b) == ("CLOSED", "SYN_SENT") and same_attempt(role, e):
                bad.append((role, a, b, where, "the same ISN again: not a new attempt"))
    return bad


def connections_of(path):
    """The connection objects of a JSON report or an NDJSON stream."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        doc = json.loads(text)
        if isinstance(doc, dict) and "connections" in doc:
            return doc["connections"]
        if isinstance(doc, dict) and doc.get("record") == "connection":
            return [doc]
        if isinstance(doc, dict):
            return []
    except ValueError:
        pass
    conns = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        rec = json.loads(line)  # ValueError propagates: not a report
        if rec.get("record", "connection") == "connection" and "states_at_end" in rec:
            conns.append(rec)
    return conns


def check_report(table, path):
    """[(conn id, role, from, to, packet, note)]"""
    out = []
    for c in connections_of(path):
        for v in illegal_steps(table, c):
            out.append((c.get("id"),) + v)
    return out


def self_test(table):
    """[problem] with hand-made connections; empty when all is as expected."""
    def conn(pairs, end, via=None):
        tl = [{"packet": i + 1, "client": c, "server": s} for i, (c, s) in enumerate(pairs)]
        if via:
            tl[via[0]]["via"] = via[1]
        return {"id": 1, "timeline": tl, "states_at_end": {"client": end[0], "server": end[1]}}
    cases = [
        # a normal life, with CLOSE_WAIT passed through within one entry
        (conn([("SYN_SENT", "LISTEN"), ("SYN_SENT", "SYN_RECV"), ("ESTABLISHED", "ESTABLISHED"),
               ("FIN_WAIT_1", "ESTABLISHED"), ("FIN_WAIT_2", "LAST_ACK"), ("TIME_WAIT", "CLOSED")],
              ("TIME_WAIT", "CLOSED"), via=(4, {"server": ["CLOSE_WAIT"]})), []),
        # mid-stream: the first state is free
        (conn([("FIN_WAIT_2", "CLOSE_WAIT")], ("FIN_WAIT_2", "CLOSE_WAIT")), []),
        # the backward step of a dropped handshake ACK
        (conn([("SYN_SENT", "LISTEN"), ("SYN_SENT", "SYN_RECV"), ("ESTABLISHED", "ESTABLISHED"),
               ("ESTABLISHED", "SYN_RECV")], ("ESTABLISHED", "SYN_RECV")),
         [("server", "ESTABLISHED", "SYN_RECV", 4, "")]),
        # a skipped state without via, and a step in states_at_end
        (conn([("ESTABLISHED", "ESTABLISHED"), ("ESTABLISHED", "LAST_ACK")], ("UNKNOWN", "LAST_ACK")),
         [("server", "ESTABLISHED", "LAST_ACK", 2, ""), ("client", "ESTABLISHED", "UNKNOWN", "end", "")]),
        # a client never listens
        (conn([("CLOSED", "CLOSED"), ("LISTEN", "CLOSED")], ("LISTEN", "CLOSED")),
         [("client", "CLOSED", "LISTEN", 2, "")]),
    ]
    # a SYN retry after a give-up is the same attempt; a new ISN is a new one
    for seq, want in ((0, [("client", "CLOSED", "SYN_SENT", 3, "the same ISN again: not a new attempt")]),
                      (123456, [])):
        c = conn([("SYN_SENT", "LISTEN"), ("CLOSED", "LISTEN"), ("SYN_SENT", "LISTEN")], ("SYN_SENT", "LISTEN"))
        c["timeline"][1].pop("packet")
        c["timeline"][2].update({"dir": "client>server", "flags": "S", "seq": seq})
        cases.append((c, want))
    problems = []
    for n, (c, want) in enumerate(cases, 1):
        got = illegal_steps(table, c)
        if sorted(map(str, got)) != sorted(map(str, want)):
            problems.append(f"hand-made path {n}: illegal steps {got}, expected {want}")
    return problems


def fmt(label, v):
    cid, role, a, b, where, note = v
    return f"{label}: connection {cid} {role} {a}->{b} at packet {where}" + (f" ({note})" if note else "")


def main(argv):
    doc = None
    tap = False
    manifest = None
    selftest = False
    items = []
    it = iter(argv)
    for a in it:
        if a == "--doc":
            doc = next(it)
        elif a == "--tap":
            tap = True
        elif a == "--self-test":
            selftest = True
        elif a == "--manifest":
            manifest = next(it)
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            label, _, path = a.rpartition("=") if "=" in a else (a, "", a)
            items.append((label, path, ""))
    if doc is None:
        doc = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "state-machine.md")
    if manifest:
        with open(manifest, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if line:
                    c = line.split("\t")
                    items.append((c[0], c[1] if len(c) > 1 else "-", c[2] if len(c) > 2 else ""))
    try:
        table = load_table(doc)
    except (OSError, TableError) as e:
        if tap:
            print("1..1")
            print(f"not ok 1 - the legal-transitions table of {doc}")
            print(f"# {e}")
        else:
            print(e, file=sys.stderr)
        return 1
    nsteps = sum(len(r) for r in table.values())
    failed = 0
    first = 1
    if tap:
        print(f"1..{len(items) + (1 if selftest else 0)}")
        print(f"# {nsteps} legal endpoint steps ({len(table)} FROM -> TO rows) read from {doc}")
    if selftest:
        problems = self_test(table)
        first = 2
        if tap:
            print(f"{'not ok' if problems else 'ok'} 1 - the walk and the table on hand-made paths")
        for p in problems:
            print(f"# {p}")
        failed += bool(problems)
    allbad = []
    for n, (label, path, why) in enumerate(items, first):
        if path == "-" or not os.path.exists(path):
            if why.startswith("SKIP"):
                print(f"ok {n} - {label} # {why}" if tap else f"{label}: skipped: {why}")
                continue
            failed += 1
            print(f"not ok {n} - {label}" if tap else f"{label}: no report")
            print(f"# {label}: no report: {why or 'missing ' + path}")
            continue
        try:
            bad = check_report(table, path)
        except (OSError, ValueError, AttributeError, TypeError) as e:
            failed += 1
            print(f"not ok {n} - {label}" if tap else f"{label}: unreadable report")
            print(f"# {label}: cannot read {path}: {e}")
            continue
        allbad += [(label,) + v for v in bad]
        if tap:
            print(f"{'not ok' if bad else 'ok'} {n} - {label}")
            for v in bad:
                print("# " + fmt(label, v))
        else:
            for v in bad:
                print(fmt(label, v))
        if bad:
            failed += 1
    if tap:
        steps = {}
        for v in allbad:
            k = f"{v[3]}->{v[4]}" + (" (same attempt)" if v[6] else "")
            steps[k] = steps.get(k, 0) + 1
        summary = ", ".join(f"{k} {v}" for k, v in sorted(steps.items())) or "none"
        nrep = len({v[0] for v in allbad})
        print(f"# illegal steps {len(allbad)} in {nrep} of {len(items)} reports: {summary}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
