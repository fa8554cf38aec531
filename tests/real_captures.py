#!/usr/bin/env python3
"""Properties of tcplens on real third-party captures that have no answer file.

usage: real_captures.py --tcplens BIN --dir CAPTURE_DIR --allow ALLOWLIST
                        [--doc docs/state-machine.md] [--jobs N] [--timeout S]
                        [--cache DIR] [--only NAME]...

For every capture in CAPTURE_DIR (shared/real-captures: see its README.md)
runs `tcplens -r F --json - --timeline full` (every packet, no timeline cut)
and tshark once (every TCP frame: number, stream, flags, absolute seq and
ack), N files at a time (default 2), and prints TAP: one point per file and
property, named "FILE: PROPERTY":

  run       tcplens exits 0 with a JSON report, or 2 with a clean
            "unsupported link type" message; no crash, no hang (timeout)
  split     one connect() is one connection: no SYN (sender, absolute ISN)
            in two connections of one IP/port pair, and every SYN-ACK sits
            in the connection of the SYN it acknowledges
  synsent   no endpoint ends in SYN_SENT, SYN_RECV or LISTEN although it sent
            payload (not counting data on a SYN: TCP Fast Open) or ACKed its
            peer's SYN (the ack covers the peer's absolute ISN; when the
            peer's SYN is not in the capture, any ACK from SYN_SENT or LISTEN
            can only be that; for SYN_RECV a segment other than its SYN-ACK;
            RSTs do not count)
  overlap   no two connections of one IP/port pair with overlapping
            lifetimes [first_ts, last_ts]
  unexpected  no unexpected_segment anomaly
  illegal   every endpoint's path is legal (tests/legal_paths.py, the table
            of docs/state-machine.md)

Frames are matched to connections by packet number: tcplens numbers the
frames of one input as tshark does (frame.number), and --timeline full
lists every one. Coverage (TCP frames tshark decodes that tcplens analysed
or counted as skipped, connections against tshark's tcp.stream) is reported
as TAP comments, not as test points.

The allowlist (TSV: file, property, reason; '#' comments) turns a known,
explained failure into "not ok ... # TODO reason". Engine defects do not
belong there. Ends with the totals per property as TAP comments.
"""
import collections
import concurrent.futures
import hashlib
import ipaddress
import json
import os
import subprocess
import sys
import tempfile
import shutil
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import legal_paths  # noqa: E402

PROPS = ("run", "split", "synsent", "overlap", "unexpected", "illegal")
TOTAL_NAMES = {"run": "errors", "split": "splits", "synsent": "synsent", "overlap": "overlap",
               "unexpected": "unexpected", "illegal": "illegal"}
EXTS = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz")
TSHARK_FIELDS = ["frame.number", "tcp.stream", "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.reset",
                 "tcp.seq_raw", "tcp.ack_raw", "tcp.len"]
CLEAN_ERRORS = ("unsupported link type", "different from the type")
MAXDIAG = 8
BIG = 100000000  # --timeline-max: never cut


def nip(s):
    try:
        return str(ipaddress.ip_address(s))
    except ValueError:
        return s


def flag(v):
    return v in ("1", "True", "true")


def num(v):
    try:
        return int(v)
    except ValueError:
        return int(v, 16) if v.startswith("0x") else None


# ---------------------------------------------------------------- running

def tshark_version():
    try:
        p = subprocess.run(["tshark", "--version"], capture_output=True, text=True, timeout=30)
        return p.stdout.splitlines()[0] if p.stdout else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def run_tcplens(args, path, out, timeout):
    t0 = time.monotonic()
    cmd = [args.tcplens, "-r", path, "--json", "-", "--timeline", "full", "--timeline-max", str(BIG)]
    res = {"rc": None, "timeout": False, "stderr": "", "json": out}
    try:
        with open(out, "wb") as f:
            p = subprocess.run(cmd, stdout=f, stderr=subprocess.PIPE, timeout=timeout)
        res["rc"] = p.returncode
        res["stderr"] = p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        res["timeout"] = True
    res["secs"] = time.monotonic() - t0
    return res


def run_tshark(args, path, out, timeout):
    """Writes tshark's fields to out (cached under --cache); returns an error or ''."""
    if os.path.exists(out):
        return ""
    cmd = ["tshark", "-n", "-r", path, "-Y", "tcp", "-T", "fields", "-E", "occurrence=l"]
    for f in TSHARK_FIELDS:
        cmd += ["-e", f]
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "tshark timed out"
    err = "" if p.returncode == 0 else f"tshark exit {p.returncode}: " + \
        p.stderr.decode("utf-8", "replace").strip().replace("\n", " ")[:150]
    with open(out + ".tmp", "wb") as f:
        f.write(p.stdout)
    os.replace(out + ".tmp", out)
    return err


def work(args, name, tmp, cache, tsv):
    path = os.path.join(args.dir, name)
    st = os.stat(path)
    key = hashlib.sha1(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\0{tsv}".encode()).hexdigest()[:16]
    tsfile = os.path.join(cache, f"{key}.tshark")
    res = run_tcplens(args, path, os.path.join(tmp, f"{key}.json"), args.timeout)
    res["tshark"] = tsfile
    res["tshark_error"] = run_tshark(args, path, tsfile, 4 * args.timeout)
    return res


def read_tshark(path):
    rows = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            c = line.rstrip("\n").split("\t")
            if len(c) < len(TSHARK_FIELDS) or not c[0]:
                continue
            fr = num(c[0])
            if fr is None:
                continue
            rows[fr] = {"stream": c[1], "syn": flag(c[2]), "ack": flag(c[3]), "rst": flag(c[4]),
                        "seq": num(c[5]) if c[5] else None, "ackno": num(c[6]) if c[6] else None}
    return rows


# ---------------------------------------------------------------- checks

def endpoints(c):
    a = (nip(c["client"]["ip"]), int(c["client"]["port"]))
    b = (nip(c["server"]["ip"]), int(c["server"]["port"]))
    return a, b


def segments(c):
    """[(entry, sender role)] for the timeline entries that are segments."""
    out = []
    for e in c.get("timeline") or []:
        d = e.get("dir")
        if "packet" in e and d in ("client>server", "server>client"):
            out.append((e, "client" if d == "client>server" else "server"))
    return out


def check_split(conns, ts):
    bad = []
    groups = collections.defaultdict(list)
    syns = {}     # conn id -> {(sender endpoint, ISN): first packet}
    synacks = {}  # conn id -> [(receiver endpoint, acked ISN, packet)]
    for c in conns:
        eps = dict(zip(("client", "server"), endpoints(c)))
        groups[frozenset(eps.values())].append(c)
        mine, acks = {}, []
        for e, who in segments(c):
            r = ts.get(e["packet"])
            if not r or not r["syn"] or r["rst"]:
                continue
            peer = "server" if who == "client" else "client"
            if not r["ack"] and r["seq"] is not None:
                mine.setdefault((eps[who], r["seq"]), e["packet"])
            elif r["ack"] and r["ackno"] is not None:
                acks.append((eps[peer], (r["ackno"] - 1) % 2**32, e["packet"]))
        syns[c["id"]], synacks[c["id"]] = mine, acks
    for k, cs in groups.items():
        if len(cs) < 2:
            continue
        cs.sort(key=lambda c: (c.get("first_ts", 0), c["id"]))
        seen = {}
        for c in cs:
            rep = [(isn, seen[isn], p) for isn, p in syns[c["id"]].items() if isn in seen]
            if rep:
                (ep, isn), other, p = rep[0]
                bad.append(f"connection {c['id']} repeats the SYN of connection {other} "
                           f"({ep[0]}:{ep[1]} ISN {isn}, packet {p})")
            for isn in syns[c["id"]]:
                seen.setdefault(isn, c["id"])
        owner = collections.defaultdict(set)
        for c in cs:
            for isn in syns[c["id"]]:
                owner[isn].add(c["id"])
        for c in cs:
            for ep, isn, p in synacks[c["id"]]:
                if (ep, isn) in syns[c["id"]] or (ep, isn) not in owner:
                    continue
                bad.append(f"connection {c['id']} holds the SYN-ACK (packet {p}) of a SYN of "
                           f"connection {min(owner[(ep, isn)])} (ISN {isn})")
                break
    return bad


def check_synsent(conns, ts):
    bad = []
    for c in conns:
        segs = segments(c)
        isns = {"client": set(), "server": set()}
        for e, who in segs:
            r = ts.get(e["packet"])
            if r and r["syn"] and r["seq"] is not None:
                isns[who].add(r["seq"])
        for role in ("client", "server"):
            st = (c.get("states_at_end") or {}).get(role)
            if st not in ("SYN_SENT", "SYN_RECV", "LISTEN"):
                continue
            peer = "server" if role == "client" else "client"
            payload, acked = 0, None
            for e, who in segs:
                if who != role:
                    continue
                fl = e.get("flags", "")
                if "S" not in fl:
                    payload += e.get("len", 0)
                if acked is None and "A" in fl and "R" not in fl and not (st == "SYN_RECV" and "S" in fl):
                    r = ts.get(e["packet"])
                    if r and r["ackno"] is not None and any(
                            1 <= (r["ackno"] - i) % 2**32 < 2**31 for i in isns[peer]):
                        acked = e["packet"]
                    elif st != "SYN_RECV" and not isns[peer]:
                        # The peer's SYN is not in the capture, but an ACK from
                        # SYN_SENT or LISTEN can only acknowledge one.
                        acked = e["packet"]
            why = []
            if payload:
                why.append(f"sent {payload} bytes of payload")
            if acked is not None:
                why.append(f"ACKed the {peer}'s SYN (packet {acked})")
            if why:
                bad.append(f"connection {c['id']} {role} ends {st} but " + " and ".join(why))
    return bad


def check_overlap(conns):
    bad = []
    groups = collections.defaultdict(list)
    for c in conns:
        groups[frozenset(endpoints(c))].append(c)
    for k, cs in groups.items():
        if len(cs) < 2:
            continue
        cs.sort(key=lambda c: (c.get("first_ts", 0), c["id"]))
        last, lid = cs[0].get("last_ts", 0), cs[0]["id"]
        for c in cs[1:]:
            if c.get("first_ts", 0) < last - 1e-6:
                a, b = sorted(k)
                bad.append(f"connections {lid} and {c['id']} overlap on {a[0]}:{a[1]} - {b[0]}:{b[1]}")
            if c.get("last_ts", 0) > last:
                last, lid = c.get("last_ts", 0), c["id"]
    return bad


def check_unexpected(conns):
    bad = []
    for c in conns:
        for a in c.get("anomalies") or []:
            if a.get("type") == "unexpected_segment":
                bad.append(f"connection {c['id']} {a.get('endpoint', '?')}: unexpected_segment "
                           f"at packets {a.get('packets')}")
    return bad


def check_illegal(conns, table):
    return [f"connection {c['id']} {role} {a}->{b} at packet {where}" + (f" ({note})" if note else "")
            for c in conns for role, a, b, where, note in legal_paths.illegal_steps(table, c)]


# ---------------------------------------------------------------- main

def read_allow(path):
    allow = {}
    problems = []
    if not path or not os.path.exists(path):
        return allow, problems
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            c = line.split("\t")
            if len(c) < 3 or not c[2].strip():
                problems.append(f"{path}:{n}: want FILE<TAB>PROPERTY<TAB>REASON")
                continue
            if c[1] not in PROPS:
                problems.append(f"{path}:{n}: unknown property {c[1]!r} (one of {', '.join(PROPS)})")
                continue
            allow[(c[0], c[1])] = c[2].strip()
    return allow, problems


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tcplens", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--allow")
    ap.add_argument("--doc", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "docs", "state-machine.md"))
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("TL_JOBS", "2") or 2))
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--cache", help="keep tshark's output here across runs (default: a temporary directory)")
    ap.add_argument("--only", action="append", default=[], help="only this capture (repeatable)")
    ap.add_argument("--expect-files", type=int, default=0)
    args = ap.parse_args()
    t_start = time.monotonic()

    names = sorted(f for f in os.listdir(args.dir) if f.endswith(EXTS))
    if args.only:
        names = [n for n in names if n in args.only]
    try:
        table = legal_paths.load_table(args.doc)
    except (OSError, legal_paths.TableError) as e:
        print("1..1\nnot ok 1 - the legal-transitions table\n# " + str(e))
        return 1
    allow, allow_problems = read_allow(args.allow)

    tmp = tempfile.mkdtemp(prefix="tl-real.")
    cache = args.cache or tmp
    os.makedirs(cache, exist_ok=True)
    tsv = tshark_version()
    try:
        jobs = max(1, args.jobs)
        results = {}
        # Biggest first, so the last file to finish is a small one.
        order = sorted(names, key=lambda n: -os.path.getsize(os.path.join(args.dir, n)))
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
            futs = {ex.submit(work, args, n, tmp, cache, tsv): n for n in order}
            for fu in concurrent.futures.as_completed(futs):
                results[futs[fu]] = fu.result()
        t_run = time.monotonic() - t_start

        print(f"1..{len(names) * len(PROPS)}")
        print(f"# {len(names)} captures in {args.dir}; {tsv}; {jobs} at a time")
        if args.expect_files and len(names) != args.expect_files and not args.only:
            print(f"# expected {args.expect_files} captures, found {len(names)}")
        for p in allow_problems:
            print(f"# allowlist: {p}")
        for (f, p) in sorted(allow):
            if f not in names:
                print(f"# allowlist: {f} ({p}) is not in {args.dir}")

        n = 0
        viol = collections.Counter()
        files_failed = collections.defaultdict(list)
        todo = collections.Counter()
        cov = collections.Counter()
        cov_notes = []

        def point(name, prop, problems, skip=None):
            nonlocal n
            n += 1
            label = f"{name}: {prop}"
            if skip:
                print(f"ok {n} - {label} # SKIP {skip}")
                return
            reason = allow.get((name, prop))
            if problems:
                viol[prop] += len(problems)
                files_failed[prop].append(name)
                if reason:
                    todo[prop] += 1
                    print(f"not ok {n} - {label} # TODO {reason}")
                else:
                    print(f"not ok {n} - {label}")
                for d in problems[:MAXDIAG]:
                    print(f"#   {d}")
                if len(problems) > MAXDIAG:
                    print(f"#   ... and {len(problems) - MAXDIAG} more")
            else:
                note = "  (allowlisted, but passes: the allowlist entry can go)" if reason else ""
                print(f"ok {n} - {label}{note}")

        for name in names:
            r = results[name]
            report, why = None, None
            if r["timeout"]:
                point(name, "run", [f"tcplens did not finish within {args.timeout:g} s"])
                why = "no report (timeout)"
            elif r["rc"] == 0:
                try:
                    with open(r["json"], encoding="utf-8") as f:
                        report = json.load(f)
                    point(name, "run", [])
                except ValueError as e:
                    point(name, "run", [f"exit 0 but the JSON does not parse: {e}"])
                    why = "no report (bad JSON)"
            elif r["rc"] == 2 and any(m in r["stderr"] for m in CLEAN_ERRORS):
                point(name, "run", [])
                why = r["stderr"].strip().splitlines()[-1][:100]
            else:
                sig = f" (signal {-r['rc']})" if r["rc"] < 0 else ""
                point(name, "run", [f"exit {r['rc']}{sig}: {r['stderr'].strip()[:200]}"])
                why = "no report"
            try:
                os.unlink(r["json"])
            except OSError:
                pass
            ts = {}
            if os.path.exists(r["tshark"]):
                ts = read_tshark(r["tshark"])
            if r["tshark_error"]:
                print(f"# {name}: {r['tshark_error']}")
            cov["tshark_tcp"] += len(ts)
            streams = {x["stream"] for x in ts.values() if x["stream"]}
            cov["tshark_streams"] += len(streams)
            if report is None:
                for prop in PROPS[1:]:
                    point(name, prop, [], skip=why)
                cov["unsupported_tcp"] += len(ts)
                if ts:
                    cov_notes.append(f"{name}: {len(ts)} TCP frames, {len(streams)} streams in a file "
                                     f"tcplens cannot read ({why})")
                continue
            conns = report.get("connections") or []
            point(name, "split", check_split(conns, ts))
            point(name, "synsent", check_synsent(conns, ts))
            point(name, "overlap", check_overlap(conns))
            point(name, "unexpected", check_unexpected(conns))
            point(name, "illegal", check_illegal(conns, table))

            capture = report.get("capture") or {}
            seen = {e["packet"] for c in conns for e, _ in segments(c)}
            analysed = len(seen & ts.keys())
            skipped = sum((capture.get("skipped") or {}).values())
            missing = len(ts) - analysed
            cov["analysed"] += analysed
            cov["tcplens_tcp"] += capture.get("tcp_packets", 0)
            cov["not_analysed"] += missing
            cov["connections"] += len(conns)
            if missing > skipped:
                cov["unaccounted"] += missing - skipped
            if missing or len(conns) != len(streams):
                reasons = ", ".join(f"{k} {v}" for k, v in sorted((capture.get("skipped_reasons") or {}).items()))
                cov_notes.append(f"{name}: tshark TCP {len(ts)}, analysed {analysed}, skipped (any frame) "
                                 f"{skipped}{' [' + reasons + ']' if reasons else ''}"
                                 f"{', unaccounted ' + str(missing - skipped) if missing > skipped else ''}; "
                                 f"connections {len(conns)} vs tcp.stream {len(streams)}")

        print("# coverage (not failing): per file where tcplens did not analyse every TCP frame "
              "tshark decodes or the connection count differs from tcp.stream:")
        for c in cov_notes:
            print(f"#   {c}")
        t = cov["tshark_tcp"]
        pct = 100.0 * cov["analysed"] / t if t else 0.0
        print(f"# coverage totals: tshark TCP frames {t}, analysed by tcplens {cov['analysed']} ({pct:.1f} %), "
              f"not analysed {cov['not_analysed']} + {cov['unsupported_tcp']} in unreadable files, "
              f"not even counted as skipped {cov['unaccounted']}; "
              f"tcplens connections {cov['connections']} vs tshark tcp.stream {cov['tshark_streams']}")
        print("# failing files per property:")
        for prop in PROPS:
            fl = files_failed.get(prop, [])
            print(f"#   {prop} ({len(fl)}): {' '.join(fl) if fl else '-'}")
        print("# totals (violations, files, of which allowlisted): " + ", ".join(
            f"{TOTAL_NAMES[p]} {viol[p]} ({len(files_failed.get(p, []))} files, {todo[p]} todo)" for p in PROPS))
        print(f"# {TOTAL_NAMES['split']} {viol['split']}, synsent {viol['synsent']}, overlap {viol['overlap']}, "
              f"unexpected {viol['unexpected']}, illegal {viol['illegal']}, errors {viol['run']}")
        print(f"# time: {t_run:.1f} s running tcplens and tshark, {time.monotonic() - t_start:.1f} s in all")
        failed = sum(len(v) for v in files_failed.values()) - sum(todo.values())
        return 1 if failed else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
