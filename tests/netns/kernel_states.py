#!/usr/bin/env python3
"""Kernel TCP states vs tcplens's inferred states (stdlib only).

    kernel_states.py analyze OUTDIR [NAME...]
        Build, for every scenario run by kernel-lib.sh into OUTDIR, the
        kernel's state sequence of every endpoint socket of every connection
        in NAME.pcap, from NAME.trace.txt (sock:inet_sock_set_state) and
        NAME.ss.txt (ss -tan polled every few ms).  Writes NAME.kernel.json
        and a readable NAME.kernel.txt.

    kernel_states.py compare OUTDIR --tcplens PATH
        Run `tcplens -r NAME.pcap --json -` for every analysed scenario and
        check every endpoint: (a) tcplens's state at capture end equals the
        kernel's; (b) the kernel's state sequence (consecutive duplicates
        collapsed) is a subsequence of tcplens's per-event states for that
        endpoint.  The n-th kernel connection of a 4-tuple is compared with
        tcplens's n-th; more tcplens connections than kernel ones on a
        4-tuple fail (a) for the last one ("split").  Prints TAP; writes
        OUTDIR/summary.tsv and summary.txt.
        Exit 0 if everything agreed.

    kernel_states.py compare --expected tests/netns/kernel/expected.tsv \\
                     --pcap-dir tests/netns/kernel --tcplens PATH
        The same check offline (no root needed), from the saved captures.

    kernel_states.py export OUTDIR DESTDIR
        Copy NAME.pcap and NAME.kernel.txt (trimmed) into DESTDIR and write
        DESTDIR/expected.tsv.

    kernel_states.py isb CAPTURE
        Print a pcapng file's Interface Statistics Blocks (isb_starttime,
        isb_endtime, ifrecv, ifdrop, ...) as key=value lines; exit 1 when
        none has an isb_endtime.

The capture is NAME.pcap (tcpdump), or NAME.pcapng for the scenarios that
kernel-lib.sh captures with dumpcap (option capture=dumpcap): there the
capture window ends at the isb_endtime of the file's Interface Statistics
Block, when dumpcap stopped, and nothing else in the file marks it.

How the kernel sequence is built (docs/kernel-scenarios.md has the detail):
  * Full sockets: every transition from the tracepoint, in order.  A SYN_SENT
    event carries sport 0 (the port is bound after the state change); the
    socket address (skaddr) links it to the socket's later events.  Listener
    sockets (dport 0) are not connection endpoints.
  * A server socket is born in SYN_RECV: the tracepoint shows the child
    socket created in SYN_RECV (LISTEN -> SYN_RECV) when the handshake ACK
    arrives; before that the request socket, visible only to ss as SYN-RECV,
    held the connection.  A request socket that never becomes a child (accept
    queue full) is known from ss alone.
  * TIME_WAIT and orphaned FIN_WAIT_2 live in timewait mini-sockets: the
    tracepoint shows the full socket going to CLOSE at the hand-over and ss
    shows TIME-WAIT / FIN-WAIT-2 afterwards; such a CLOSE is replaced by the
    state ss saw, and the mini-socket's disappearance (ss) is CLOSED.
  * A FIN_WAIT_2 held for less than 1 ms between FIN_WAIT_1 and TIME_WAIT is
    the kernel processing the ACK and the FIN of one FIN+ACK segment; it is
    not observable on the wire and is dropped (noted in the log).
  * A socket replaced by a new connection on the same 4-tuple (TIME_WAIT
    reused, or a new connect()) ends CLOSED at the new birth.
  * Only the capture window counts: the state at capture start, then every
    change until capture stop.  An endpoint that never had a socket for the
    4-tuple (refused, SYNs dropped) has the sequence CLOSED; tcplens passes
    if it never claims a connection state for it (LISTEN, CLOSED, UNKNOWN
    only) and, if a listener existed, may call it LISTEN at the end.
  * A raw-socket sender (meta raw_ports: half_open_scan's scanner) has no
    socket either, but the wire cannot tell it from a connect(): its
    sequence is empty and only its final state (CLOSED) is checked.
"""

import argparse
import ipaddress
import json
import os
import re
import shutil
import struct
import subprocess
import sys
from collections import defaultdict

STATES = ("LISTEN SYN_SENT SYN_RECV ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 CLOSE_WAIT "
          "CLOSING LAST_ACK TIME_WAIT CLOSED UNKNOWN").split()
NO_SOCKET_OK = {"LISTEN", "CLOSED", "UNKNOWN"}

SS_MAP = {"ESTAB": "ESTABLISHED", "SYN-SENT": "SYN_SENT", "SYN-RECV": "SYN_RECV",
          "FIN-WAIT-1": "FIN_WAIT_1", "FIN-WAIT-2": "FIN_WAIT_2",
          "TIME-WAIT": "TIME_WAIT", "CLOSE-WAIT": "CLOSE_WAIT", "LAST-ACK": "LAST_ACK",
          "LISTEN": "LISTEN", "CLOSING": "CLOSING", "CLOSE": "CLOSED",
          "UNCONN": "CLOSED"}
KSTATE = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT_1",
          5: "FIN_WAIT_2", 6: "TIME_WAIT", 7: "CLOSED", 8: "CLOSE_WAIT", 9: "LAST_ACK",
          10: "LISTEN", 11: "CLOSING", 12: "NEW_SYN_RECV"}
KNAME = {"TCP_" + v.replace("FIN_WAIT_", "FIN_WAIT"): v for v in KSTATE.values()}
KNAME["TCP_CLOSE"] = "CLOSED"
TW_STATES = ("TIME_WAIT", "FIN_WAIT_2")
TRANSIENT_S = 0.001
EPS = 0.0005

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


# ------------------------------------------------------------------ helpers

def norm_ip(ip):
    try:
        a = ipaddress.ip_address(ip.strip("[]").split("%")[0])
    except ValueError:
        return ip
    if a.version == 6 and a.ipv4_mapped:
        return str(a.ipv4_mapped)
    return str(a)


def ep_str(ep):
    ip, port = ep
    return ("[%s]:%s" % (ip, port)) if ":" in ip else ("%s:%s" % (ip, port))


def parse_ep(s):
    """'127.0.0.1:80' / '[::1]:80' -> (ip, port)"""
    s = s.strip()
    if s.startswith("["):
        ip, _, port = s[1:].partition("]:")
    else:
        ip, _, port = s.rpartition(":")
    return norm_ip(ip), int(port)


def collapse(seq):
    out = []
    for s in seq:
        if not out or out[-1] != s:
            out.append(s)
    return out


def is_subsequence(small, big):
    it = iter(big)
    return all(any(x == y for y in it) for x in small)


def read_meta(path):
    meta = {}
    try:
        with open(path) as f:
            for line in f:
                k, sep, v = line.rstrip("\n").partition("=")
                if sep:
                    meta[k] = v
    except OSError:
        pass
    return meta


def fnum(meta, key, default=None):
    try:
        return float(meta[key])
    except (KeyError, ValueError):
        return default


# ------------------------------------------------------------------ pcap

def read_pcap(path):
    """Minimal pcap reader: TCP over IPv4/IPv6 on Ethernet, SLL, SLL2, NULL, RAW."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError("%s: too short for a pcap file" % path)
    magic = data[:4]
    formats = {b"\xd4\xc3\xb2\xa1": ("<", 1e6), b"\xa1\xb2\xc3\xd4": (">", 1e6),
               b"\x4d\x3c\xb2\xa1": ("<", 1e9), b"\xa1\xb2\x3c\x4d": (">", 1e9)}
    if magic not in formats:
        raise ValueError("%s: not a pcap file (magic %s)" % (path, magic.hex()))
    end, div = formats[magic]
    linktype = struct.unpack(end + "I", data[20:24])[0] & 0x0FFFFFFF
    pkts, off, n = [], 24, 0
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        frame = data[off:off + incl]
        off += incl
        n += 1
        p = decode_frame(linktype, frame)
        if p:
            p["n"] = n
            p["ts"] = sec + frac / div
            pkts.append(p)
    return pkts, n


PCAPNG_SHB = 0x0A0D0D0A
ISB_OPTS = {2: "isb_starttime", 3: "isb_endtime", 4: "ifrecv", 5: "ifdrop",
            6: "filteraccept", 7: "osdrop", 8: "usrdeliv"}
QUIRK_WINDOW_S = 366 * 86400


def read_pcapng(path):
    """Minimal pcapng reader: Enhanced (and obsolete) Packet Blocks of every
    interface, each with its if_tsresol and if_tsoffset, and the Interface
    Statistics Blocks.  -> (packets, frames, isbs): isbs is one dict per
    interface that has an ISB (its last one): interface, linktype, the
    counters, and isb_starttime / isb_endtime as (seconds float, exact text,
    unit) -- see isb_time() for the unit."""
    with open(path, "rb") as f:
        data = f.read()
    end, ifaces, pkts, n, off = "<", [], [], 0, 0
    while off + 12 <= len(data):
        if struct.unpack("<I", data[off:off + 4])[0] == PCAPNG_SHB:
            bom = data[off + 8:off + 12]
            if bom == b"\x4d\x3c\x2b\x1a":
                end = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                end = ">"
            else:
                raise ValueError("%s: bad pcapng byte-order magic" % path)
            ifaces = []             # interface ids count per section
        btype, blen = struct.unpack(end + "II", data[off:off + 8])
        if blen < 12 or blen % 4 or off + blen > len(data):
            if btype == PCAPNG_SHB and off == 0:
                raise ValueError("%s: bad pcapng section header" % path)
            break                   # cut short: keep what came before
        body = data[off + 8:off + blen - 4]
        off += blen
        if btype == 1:              # Interface Description Block
            lt = struct.unpack(end + "H", body[0:2])[0]
            f = {"linktype": lt, "units": 10 ** 6, "tsoffset": 0, "name": None,
                 "last": None, "isb": None}
            for code, val in pcapng_options(body[8:], end):
                if code == 9 and val:
                    v = val[0]
                    f["units"] = 2 ** (v & 0x7F) if v & 0x80 else 10 ** (v & 0x7F)
                elif code == 14 and len(val) == 8:
                    f["tsoffset"] = struct.unpack(end + "q", val)[0]
                elif code == 2:
                    f["name"] = val.decode("utf-8", "replace")
            ifaces.append(f)
        elif btype in (6, 2):       # Enhanced / obsolete Packet Block
            if btype == 6:
                iid, hi, lo, incl = struct.unpack(end + "IIII", body[0:16])
                frame = body[20:20 + incl]
            else:
                iid, hi, lo, incl = struct.unpack(end + "HxxIII", body[0:16])
                frame = body[20:20 + incl]
            n += 1
            if iid >= len(ifaces):
                continue
            f = ifaces[iid]
            ts = seconds((hi << 32) | lo, f["units"], f["tsoffset"])
            f["last"] = max(f["last"] or ts, ts)
            p = decode_frame(f["linktype"], frame)
            if p:
                p["n"] = n
                p["ts"] = ts
                pkts.append(p)
        elif btype == 3:            # Simple Packet Block: no time stamp
            n += 1
        elif btype == 5:            # Interface Statistics Block
            iid = struct.unpack(end + "I", body[0:4])[0]
            if iid >= len(ifaces):
                continue
            isb = {"interface": iid}
            for code, val in pcapng_options(body[12:], end):
                if code in (2, 3) and len(val) == 8:
                    hi, lo = struct.unpack(end + "II", val)
                    isb[ISB_OPTS[code] + "_raw"] = (hi << 32) | lo
                elif code in ISB_OPTS and len(val) == 8:
                    isb[ISB_OPTS[code]] = struct.unpack(end + "Q", val)[0]
            ifaces[iid]["isb"] = isb
    isbs = []
    for iid, f in enumerate(ifaces):
        if f["isb"] is None:
            continue
        isb = dict(f["isb"], linktype=f["linktype"], name=f["name"])
        units, why = isb_units(isb.get("isb_endtime_raw"), isb.get("isb_starttime_raw"), f)
        for k in ("isb_starttime", "isb_endtime"):
            if k + "_raw" in isb:
                raw = isb.pop(k + "_raw")
                isb[k] = (seconds(raw, units, f["tsoffset"]),
                          exact_time(raw, units, f["tsoffset"]), why)
        isbs.append(isb)
    return pkts, n, isbs


def pcapng_options(b, end):
    off = 0
    while off + 4 <= len(b):
        code, ln = struct.unpack(end + "HH", b[off:off + 4])
        if code == 0:
            return
        yield code, b[off + 4:off + 4 + ln]
        off += 4 + ln + (-ln % 4)


def seconds(raw, units, tsoffset):
    sec, frac = divmod(raw, units)
    return sec + tsoffset + frac / units


def exact_time(raw, units, tsoffset):
    """raw/units + tsoffset as text, all its digits (units a power of 10)."""
    digits = len(str(units)) - 1
    if units != 10 ** digits:
        return "%.9f" % (raw / units + tsoffset)
    sec, frac = divmod(raw, units)
    return "%d.%0*d" % (sec + tsoffset, digits, frac) if digits else str(sec + tsoffset)


def isb_units(raw_end, raw_start, f):
    """The unit of interface f's ISB times -> (units a second, description).
    By the specification they count in the interface's if_tsresol; dumpcap
    (Wireshark 4.0) writes microseconds whatever if_tsresol says
    (nanoseconds on Linux), which read by the specification ends the capture
    in January 1970, before its own packets.  As tcplens does: when
    isb_endtime so read is before the interface's last packet and read as
    microseconds is at or after it (within a year), both times are
    microseconds.  Without packets: when the specification's reading is
    before 2001 and the microseconds' after."""
    units = f["units"]
    spec = (units, "1/%d s (if_tsresol)" % units)
    quirk = (10 ** 6, "microseconds, although if_tsresol says 1/%d s" % units)
    ref = raw_end if raw_end is not None else raw_start
    if units == 10 ** 6 or ref is None:
        return spec
    t, alt = seconds(ref, units, f["tsoffset"]), seconds(ref, 10 ** 6, f["tsoffset"])
    last = f["last"]
    if last is not None:
        if raw_end is not None and t < last <= alt <= last + QUIRK_WINDOW_S:
            return quirk
        return spec
    return quirk if t < 1e9 <= alt else spec


def read_capture(path):
    """pcap or pcapng -> (packets, frames, isbs); isbs is empty for pcap."""
    with open(path, "rb") as f:
        head = f.read(4)
    if len(head) == 4 and struct.unpack("<I", head)[0] == PCAPNG_SHB:
        return read_pcapng(path)
    pkts, n = read_pcap(path)
    return pkts, n, []


CAPTURE_EXTS = (".pcap", ".pcapng")


def capture_path(directory, name):
    """NAME.pcap, else NAME.pcapng (capture=dumpcap scenarios), in directory;
    NAME.pcap when neither exists."""
    for ext in CAPTURE_EXTS:
        p = os.path.join(directory, name + ext)
        if os.path.exists(p):
            return p
    return os.path.join(directory, name + CAPTURE_EXTS[0])


def decode_frame(lt, b):
    try:
        if lt == 1:                       # Ethernet
            et, off = struct.unpack("!H", b[12:14])[0], 14
            while et in (0x8100, 0x88A8):
                et, off = struct.unpack("!H", b[off + 2:off + 4])[0], off + 4
        elif lt == 113:                   # Linux SLL
            et, off = struct.unpack("!H", b[14:16])[0], 16
        elif lt == 276:                   # Linux SLL2
            et, off = struct.unpack("!H", b[0:2])[0], 20
        elif lt == 0:                     # BSD NULL
            fam = struct.unpack("<I", b[0:4])[0]
            et, off = (0x0800 if fam == 2 else 0x86DD), 4
        elif lt in (12, 14, 101):         # raw IP
            et, off = (0x0800 if b[0] >> 4 == 4 else 0x86DD), 0
        else:
            return None
        if et == 0x0800:
            ihl = (b[off] & 0x0F) * 4
            tot = struct.unpack("!H", b[off + 2:off + 4])[0]
            if struct.unpack("!H", b[off + 6:off + 8])[0] & 0x1FFF or b[off + 9] != 6:
                return None
            src, dst = str(ipaddress.ip_address(b[off + 12:off + 16])), \
                str(ipaddress.ip_address(b[off + 16:off + 20]))
            t, plen = off + ihl, tot - ihl
        elif et == 0x86DD:
            plen, nh = struct.unpack("!H", b[off + 4:off + 6])[0], b[off + 6]
            src, dst = str(ipaddress.ip_address(b[off + 8:off + 24])), \
                str(ipaddress.ip_address(b[off + 24:off + 40]))
            t = off + 40
            while nh in (0, 43, 60):
                hl = (b[t + 1] + 1) * 8
                nh, t, plen = b[t], t + hl, plen - hl
            if nh != 6:
                return None
        else:
            return None
        sp, dp, seq, ack, offf, flags, win = struct.unpack("!HHIIBBH", b[t:t + 16])
        return {"src": (norm_ip(src), sp), "dst": (norm_ip(dst), dp), "seq": seq,
                "ack": ack, "flags": flags, "win": win,
                "len": max(0, plen - (offf >> 4) * 4)}
    except (IndexError, struct.error, ValueError):
        return None


def flag_str(f):
    return "".join(c for bit, c in ((SYN, "S"), (FIN, "F"), (RST, "R"), (PSH, "P"))
                   if f & bit) + ("." if f & ACK else "")


def pcap_conns(pkts):
    """Connections: by 4-tuple, a new one at each SYN with a new ISN."""
    conns, cur = [], {}
    for p in pkts:
        key = tuple(sorted([p["src"], p["dst"]]))
        c = cur.get(key)
        syn = p["flags"] & SYN and not p["flags"] & ACK
        if syn and (c is None or c["client"] != p["src"] or c["isn"] != p["seq"]):
            c = {"key": key, "client": p["src"], "server": p["dst"], "isn": p["seq"],
                 "syn": True, "first": p["ts"], "pkts": []}
            cur[key] = c
            conns.append(c)
        elif c is None:
            # mid-stream: the kernel side (trace) decides who is who later
            c = {"key": key, "client": None, "server": None, "isn": None,
                 "syn": False, "first": p["ts"], "pkts": []}
            cur[key] = c
            conns.append(c)
        c["pkts"].append(p)
        c["last"] = p["ts"]
    per_key = defaultdict(int)
    for c in conns:
        per_key[c["key"]] += 1
        c["nth"] = per_key[c["key"]]
    return conns


def ladder(c):
    a = c["client"] or c["key"][0]
    return " ".join(("c" if p["src"] == a else "s") + flag_str(p["flags"]) +
                    (str(p["len"]) if p["len"] else "") for p in c["pkts"])


# ------------------------------------------------------------------ ss log

def read_ss(path):
    snaps, cur = [], None
    try:
        f = open(path)
    except OSError:
        return snaps
    with f:
        for line in f:
            if line.startswith("# "):
                parts = line[2:].split()
                try:
                    t1 = float(parts[0])
                except (IndexError, ValueError):
                    continue
                t0 = None
                for x in parts[1:]:
                    if x.startswith("t0="):
                        try:
                            t0 = float(x[3:])
                        except ValueError:
                            pass
                same = "same" in parts[1:] and cur is not None
                cur = {"t0": t0 if t0 is not None else t1 - 0.02, "t1": t1,
                       "final": "final" in parts[1:], "same": same,
                       "socks": list(cur["socks"]) if same else [],
                       "raw": list(cur["raw"]) if same else []}
                snaps.append(cur)
                continue
            if cur is None:
                continue
            f_ = line.split()
            if len(f_) < 5 or f_[0] == "State":
                continue
            cur["raw"].append(line.rstrip())
            st = SS_MAP.get(f_[0])
            if not st:
                continue
            try:
                loc = parse_ep(f_[3])
            except ValueError:
                continue
            try:
                peer = parse_ep(f_[4])
            except ValueError:
                peer = None          # listener ("*" peer)
            cur["socks"].append((st, loc, peer))
    return snaps


# ------------------------------------------------------------------ trace

TRACE_RE = re.compile(r"^\s*(?P<task>.+?)-(?P<pid>\d+)\s+(?:\(\s*[-\d]+\)\s+)?"
                      r"\[(?P<cpu>\d+)\]\s+(?:(?P<flags>[.\w]{4,6})\s+)?"
                      r"(?P<ts>\d+\.\d+):\s+(?P<ev>\w+):\s*(?P<rest>.*)$")
FIELD_RE = re.compile(r"(\w+)=(?:0x[0-9a-fA-F]+ \((-?\d+)\)|(\S+))")


def kstate(v):
    try:
        return KSTATE.get(int(v), "?%s" % v)
    except ValueError:
        return KNAME.get(v, v)


def read_trace(path, offset):
    events, raw = [], []
    try:
        f = open(path)
    except OSError:
        return None, []
    with f:
        for line in f:
            m = TRACE_RE.match(line)
            if not m or m.group("ev") != "inet_sock_set_state":
                continue
            fl = {}
            for k, dec, s in FIELD_RE.findall(m.group("rest")):
                fl[k] = dec if dec else s
            try:
                fam = fl.get("family", "")
                fam = {"AF_INET": 2, "AF_INET6": 10}.get(fam, fam)
                proto = fl.get("protocol", "6")
                if proto not in ("6", "IPPROTO_TCP"):
                    continue
                e = {"t": float(m.group("ts")) + offset, "cpu": int(m.group("cpu")),
                     "ctx": (m.group("flags") or "")[2:3],
                     "sk": (re.search(r"skaddr=(0x[0-9a-f]+)", m.group("rest")) or
                            re.search(r"skaddr=(\S+)", m.group("rest")) or
                            [None, None])[1],
                     "family": int(fam), "sport": int(fl["sport"]), "dport": int(fl["dport"]),
                     "old": kstate(fl["oldstate"]), "new": kstate(fl["newstate"])}
            except (KeyError, ValueError):
                continue
            events.append(e)
            raw.append(e)
    events.sort(key=lambda e: e["t"])
    return events, raw


# ------------------------------------------------------------------ model

class Scenario:
    def __init__(self, outdir, name):
        self.name, self.dir = name, outdir
        self.meta = read_meta(os.path.join(outdir, name + ".meta"))
        self.notes, self.endpoints, self.conns = [], [], []
        self.error = None

    def path(self, ext):
        return os.path.join(self.dir, self.name + ext)

    def capture(self):
        return capture_path(self.dir, self.name)


def resolve_trace(events, server_port):
    """Drop listener events, fill in the sport of SYN_SENT events."""
    out, listeners, notes = [], set(), []
    for i, e in enumerate(events):
        if e["dport"] == 0 and (e["new"] == "LISTEN" or e["old"] == "LISTEN"):
            listeners.add(e["sport"])
            continue
        if e["sport"] == 0:
            later = None
            for x in events[i + 1:]:
                if e["sk"] and x["sk"] == e["sk"] and x["sport"]:
                    later = x
                    break
                if not e["sk"] and x["old"] == "SYN_SENT" and x["dport"] == e["dport"] \
                        and x["sport"] and not x.get("claimed"):
                    later = x
                    x["claimed"] = True
                    break
            if later is None:
                notes.append("trace: SYN_SENT socket to port %d never showed its port"
                             % e["dport"])
                continue
            e = dict(e, sport=later["sport"])
        out.append(e)
    return out, listeners, notes


def kernel_model(sc):
    """Fill sc.conns / sc.endpoints from the pcap, the trace and the ss log."""
    meta = sc.meta
    try:
        pkts, nframes, isbs = read_capture(sc.capture())
    except (OSError, ValueError, struct.error) as e:
        sc.error = "no usable capture: %s" % e
        return
    sc.nframes = nframes
    sc.isbs = isbs
    server_port = int(meta.get("server_port", "0") or 0)
    cap_start = fnum(meta, "t_capture_start")
    stop_call = fnum(meta, "t_capture_stop_call")
    if cap_start is None or stop_call is None:
        sc.error = "capture window missing from %s.meta" % sc.name
        return
    ends = [i["isb_endtime"][0] for i in isbs if "isb_endtime" in i]
    if ends:
        # dumpcap's Interface Statistics Block: when the capture stopped
        cap_end = max(ends)
    elif meta.get("capture") == "dumpcap":
        cap_end = stop_call         # SIGINT at once
    else:
        cap_end = stop_call + 0.1   # tl_capture_stop waits 0.1 s, then SIGINT
    sc.cap = (cap_start, cap_end)
    conns = pcap_conns(pkts)
    sc.conns = conns
    sc.pkts = pkts
    snaps = read_ss(sc.path(".ss.txt"))
    sc.snaps = snaps
    have_trace = meta.get("trace") == "1" and os.path.exists(sc.path(".trace.txt"))
    offset = fnum(meta, "mono_offset", 0.0)
    events = []
    if have_trace:
        events, _ = read_trace(sc.path(".trace.txt"), offset)
        events, listeners, notes = resolve_trace(events, server_port)
        sc.notes += notes
    else:
        listeners = set()
        sc.notes.append("tracepoint unavailable (%s): kernel states from ss only"
                        % (meta.get("trace_why") or "no trace file"))
    sc.have_trace = have_trace
    sc.events = events
    for s in snaps:
        for st, loc, peer in s["socks"]:
            if st == "LISTEN":
                listeners.add(loc[1])

    # ---- full-socket lives per (lport, rport), from the tracepoint
    lives = defaultdict(list)
    for e in events:
        key = (e["sport"], e["dport"])
        L = lives[key]
        birth = e["new"] == "SYN_SENT" or (e["old"] == "LISTEN" and e["new"] == "SYN_RECV")
        if birth or not L or L[-1]["end"] is not None:
            role = ("client" if e["new"] == "SYN_SENT" else "server") if birth else \
                ("server" if e["sport"] == server_port else "client")
            L.append({"role": role, "birth": e["t"], "born": birth, "end": None,
                      "events": []})
        L[-1]["events"].append(e)
        if e["new"] == "CLOSED":
            L[-1]["end"] = e["t"]

    # ---- ss observations per key (only keys of the captured connections)
    keys = set(lives)
    for c in conns:
        (a, b) = c["key"]
        keys.add((a[1], b[1]))
        keys.add((b[1], a[1]))
    ssobs = defaultdict(list)
    for s in snaps:
        present = {}
        for st, loc, peer in s["socks"]:
            if peer is not None and st != "LISTEN":
                present[(loc[1], peer[1])] = st
        for k in keys:
            ssobs[k].append((s["t0"], s["t1"], present.get(k), s["final"]))

    sc.kernel = {}
    for k in sorted(keys):
        sc.kernel[k] = merge_key(sc, k, lives.get(k, []), ssobs.get(k, []),
                                 have_trace, server_port)
    attach_endpoints(sc, listeners, server_port)


def merge_key(sc, key, lives, obs, have_trace, server_port):
    """Kernel view of one (lport, rport): list of instances."""
    items = []      # (t, state, src, info)
    for li in lives:
        evs = li["events"]
        for j, e in enumerate(evs):
            items.append([e["t"], e["new"], "trace", {"life": li, "j": j, "e": e}])

    def overlaps(t0, t1):
        for li in lives:
            end = li["end"] if li["end"] is not None else float("inf")
            if t0 <= end + EPS and t1 >= li["birth"] - EPS:
                return True
        return False

    ss_items = []
    for i, (t0, t1, st, final) in enumerate(obs):
        if have_trace and overlaps(t0, t1):
            continue
        if st is None and 0 < i < len(obs) - 1 and obs[i - 1][2] and obs[i + 1][2] and \
                obs[i + 1][2] not in ("SYN_SENT", "SYN_RECV"):
            # one snapshot without the socket between two with it: ss dumps
            # full and timewait sockets separately and can miss a socket that
            # moves between them during the dump
            continue
        ss_items.append([(t0 + t1) / 2, st or "CLOSED", "ss",
                         {"t0": t0, "t1": t1, "final": final, "absent": st is None}])

    # hand-over of a full socket to a timewait mini-socket.  The tracepoint
    # shows "X -> CLOSE"; whether a timewait socket took over, and in which
    # substate, comes from the segment that triggered it (the last packet
    # from the peer, captured just before the kernel processed it) and from
    # the first ss snapshot taken entirely after the event.
    peer_pkts = [p for p in sc.pkts if p["src"][1] == key[1] and p["dst"][1] == key[0]]
    drop = set()
    for li in lives:
        if li["end"] is None:
            continue
        evs = li["events"]
        last = evs[-1]
        x, end = last["old"], li["end"]
        if x not in ("FIN_WAIT_1", "FIN_WAIT_2", "CLOSING"):
            continue
        seg = None
        for p in peer_pkts:
            if end - 0.002 <= p["ts"] <= end:
                seg = p
        nxt = sorted((it for it in ss_items if it[3]["t0"] > end), key=lambda it: it[0])
        first_ss = nxt[0][1] if nxt else None
        if seg is not None and seg["flags"] & RST:
            continue                                # reset: really closed
        if seg is None and first_ss not in TW_STATES:
            continue                                # timer/abort, no timewait
        if x == "CLOSING":
            target = "TIME_WAIT"
        elif seg is not None:
            target = "TIME_WAIT" if seg["flags"] & FIN else "FIN_WAIT_2"
        else:
            target = first_ss
        for it in items:
            if it[2] == "trace" and it[3]["e"] is last:
                it[1] = target
                it[3]["handover"] = True
        sc.notes.append("%d>%d: %s -> CLOSE at %s is the hand-over to a timewait "
                        "socket in %s (trigger: %s; first ss after it: %s)" % (
                            key[0], key[1], x, rel(end, sc.cap[0]), target,
                            "#%d %s" % (seg["n"], flag_str(seg["flags"])) if seg else "none",
                            first_ss or "none"))
        if first_ss in TW_STATES and first_ss != target and \
                not (target == "FIN_WAIT_2" and first_ss == "TIME_WAIT"):
            sc.notes.append("%d>%d: ss shows %s after the hand-over, expected %s"
                            % (key[0], key[1], first_ss, target))
        # FIN+ACK in one segment: FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT within
        # one segment's processing; FIN_WAIT_2 is not observable on the wire
        if x == "FIN_WAIT_2" and target == "TIME_WAIT" and len(evs) >= 2 and \
                evs[-2]["new"] == "FIN_WAIT_2" and evs[-2]["old"] == "FIN_WAIT_1" and \
                end - evs[-2]["t"] < TRANSIENT_S:
            drop.add(id(evs[-2]))
            sc.notes.append("%d>%d: FIN_WAIT_2 held %.0f us while one FIN+ACK segment "
                            "was processed: dropped" % (key[0], key[1],
                                                         (end - evs[-2]["t"]) * 1e6))
    items = [it for it in items if not (it[2] == "trace" and id(it[3]["e"]) in drop)]
    items += ss_items
    items.sort(key=lambda x: x[0])

    # split into instances at births
    insts, cur = [], None
    for t, st, src, info in items:
        birth_state = st in ("SYN_SENT", "SYN_RECV")
        trace_birth = src == "trace" and info["j"] == 0 and info["life"]["born"]
        new = False
        if cur is None:
            if st == "CLOSED":
                continue
            new = True
        elif trace_birth and not (cur["states"][-1][1] == st and not cur["trace"]):
            new = True
        elif birth_state and cur["states"][-1][1] != st:
            new = True
        elif src == "trace" and info["j"] == 0 and cur["trace"] and \
                info["life"] is not cur["life"]:
            new = True
        elif cur["states"][-1][1] in ("CLOSED", "TIME_WAIT") and \
                st not in ("CLOSED", "TIME_WAIT"):
            new = True          # nothing follows CLOSED/TIME_WAIT in one socket
        if new:
            if cur is not None and cur["states"][-1][1] != "CLOSED":
                cur["states"].append((t - 1e-6, "CLOSED", "superseded"))
            role = None
            if src == "trace":
                role = info["life"]["role"]
            elif st == "SYN_SENT":
                role = "client"
            elif st == "SYN_RECV":
                role = "server"
            cur = {"key": key, "birth": t, "role": role, "states": [],
                   "trace": src == "trace", "life": info.get("life"),
                   "born": birth_state}
            insts.append(cur)
        if src == "trace":
            if cur["role"] is None:
                cur["role"] = info["life"]["role"]
            cur["trace"] = True
            cur["life"] = info["life"]
        tag = src
        if src == "trace" and info.get("handover"):
            tag = "trace+ss"
        if src == "ss" and info["absent"]:
            tag = "ss-absent"
        cur["states"].append((t, st, tag))
    for inst in insts:
        if inst["role"] is None:
            inst["role"] = "server" if key[0] == server_port else "client"
    return insts


def attach_endpoints(sc, listeners, server_port):
    cap_start, cap_end = sc.cap
    raw_ports = {int(x) for x in sc.meta.get("raw_ports", "").split(",") if x.strip()}
    for c in sc.conns:
        (a, b) = c["key"]
        c["endpoints"] = []
        # which kernel instance of each side belongs to this connection?
        same = [x for x in sc.conns if x["key"] == c["key"]]
        idx = same.index(c)
        lo = c["first"] - 0.05 if idx > 0 else float("-inf")
        hi = same[idx + 1]["first"] - 0.05 if idx + 1 < len(same) else float("inf")
        sides = {}
        for loc, rem in ((a, b), (b, a)):
            insts = [i for i in sc.kernel.get((loc[1], rem[1]), [])
                     if lo <= i["birth"] < hi and i["birth"] <= cap_end]
            sides[loc] = insts[-1] if insts else None
            if len(insts) > 1:
                sc.notes.append("%s>%s: %d kernel sockets match connection %d; using "
                                "the last" % (ep_str(loc), ep_str(rem), len(insts), c["nth"]))
        # roles: the SYN sender, else the kernel's (connect()ing socket), else port
        if c["client"] is None:
            for loc, inst in sides.items():
                if inst and inst["role"] == "client":
                    c["client"] = loc
            if c["client"] is None:
                c["client"] = a if b[1] == server_port else b
            c["server"] = b if c["client"] == a else a
        for role in ("client", "server"):
            loc = c[role]
            rem = c["server"] if role == "client" else c["client"]
            inst = sides[loc]
            ep = {"scenario": sc.name, "conn": c["nth"], "role": role, "local": loc,
                  "remote": rem, "client": c["client"], "server": c["server"],
                  "notes": []}
            sent = any(p["src"] == loc and not p["flags"] & RST for p in c["pkts"])
            if inst is None and loc[1] in raw_ports:
                # a raw-socket sender (half-open scanner): the kernel has no
                # socket, and a closed port's RST leaves nothing on the wire
                # to tell it from a connect(); only the final state is checked
                ep["seq"], ep["final"] = [], "CLOSED"
                ep["no_socket"] = ep["listener"] = False
                ep["raw"] = []
                ep["raw_sender"] = True
                ep["notes"].append("raw-socket sender, no kernel socket; only its final "
                                   "state is checked")
            elif inst is None and sent and not sc.have_trace:
                # ss alone misses sockets that live for microseconds
                ep["seq"], ep["final"] = [], "CLOSED"
                ep["no_socket"] = ep["listener"] = False
                ep["raw"] = []
                ep["notes"].append("socket never seen by ss (too short-lived); "
                                   "only its final state is checked")
            elif inst is None:
                ep["seq"], ep["final"], ep["no_socket"] = ["CLOSED"], "CLOSED", True
                ep["listener"] = loc[1] in listeners
                ep["raw"] = []
                ep["notes"].append("no socket for this 4-tuple" +
                                   (" (a listener existed)" if ep["listener"] else ""))
            else:
                ep["no_socket"], ep["listener"] = False, False
                if inst["role"] != role:
                    ep["notes"].append("kernel role %s" % inst["role"])
                st = inst["states"]
                before = [s for t, s, _ in st if t <= cap_start]
                during = [s for t, s, _ in st if cap_start < t <= cap_end]
                seq = collapse(before[-1:] + during)
                if not seq:
                    seq = ["CLOSED"]
                ep["seq"], ep["final"] = seq, seq[-1]
                ep["raw"] = [(t, s, src) for t, s, src in st]
                ssf = final_ss_state(sc, loc, rem, inst)
                if ssf and ssf != ep["final"]:
                    ep["notes"].append("ss final snapshot shows %s" % ssf)
            c["endpoints"].append(ep)
            sc.endpoints.append(ep)


def final_ss_state(sc, loc, rem, inst):
    fin = [s for s in sc.snaps if s["final"]]
    if not fin:
        return None
    insts = sc.kernel.get((loc[1], rem[1]), [])
    if insts and insts[-1] is not inst:
        return "CLOSED"
    for st, l_, p in fin[-1]["socks"]:
        if p is not None and l_[1] == loc[1] and p[1] == rem[1]:
            return st
    return "CLOSED"


# ------------------------------------------------------------------ output

def rel(t, base):
    return "%+.6f" % (t - base)


# trimmed logs (export): at most this many lines per section, so a scenario
# with hundreds of connections (tw_pressure) still leaves a small file
TRIM_LINES = 60


def write_kernel_txt(sc, path, trim=False):
    cap_start = sc.cap[0]
    L = []

    def clip(start):
        """Trimmed: keep the first TRIM_LINES lines of the section from start."""
        if trim and len(L) - start > TRIM_LINES:
            more = len(L) - start - TRIM_LINES
            del L[start + TRIM_LINES:]
            L.append("... (%d more lines in a live run's log)" % more)
    m = sc.meta
    L.append("# tcplens kernel log: scenario %s (scenario.py %s %s)"
             % (sc.name, m.get("script", "?"), m.get("args", "")))
    L.append("# kernel %s; ss -tan every %s ms; tracepoint sock:inet_sock_set_state: %s"
             % (m.get("kernel", "?"), m.get("ss_interval_ms", "?"),
                "yes" if sc.have_trace else "NO (%s)" % (m.get("trace_why") or "-")))
    L.append("# sysctls: " + ", ".join("%s=%s" % (k[7:], v) for k, v in sorted(m.items())
                                       if k.startswith("sysctl.")))
    L.append("# times are seconds relative to capture start (epoch %.6f); capture "
             "stopped at %s" % (cap_start, rel(sc.cap[1], cap_start)))
    if m.get("capture") == "dumpcap" or getattr(sc, "isbs", None):
        L += isb_lines(sc)
    L.append("")
    L.append("== kernel state sequences (capture window)")
    start = len(L)
    for ep in sc.endpoints:
        L.append("conn %d %-6s %-22s peer %-22s final %-11s seq %s%s" % (
            ep["conn"], ep["role"], ep_str(ep["local"]), ep_str(ep["remote"]), ep["final"],
            " ".join(ep["seq"]), ("   [" + "; ".join(ep["notes"]) + "]") if ep["notes"] else ""))
    clip(start)
    L.append("")
    L.append("== packets (%s -i %s inside the namespace%s)" % (
        m.get("capture", "tcpdump"), m.get("capture_iface", "lo"),
        "; re-tagged by retag-%s.py" % m["retag"] if m.get("retag") else ""))
    start = len(L)
    for c in sc.conns:
        L.append("conn %d %s > %s: %s" % (c["nth"], ep_str(c["client"]), ep_str(c["server"]),
                                          ladder(c)))
    for c in sc.conns if not trim else []:
        for p in c["pkts"]:
            L.append("%s #%d %s > %s %s seq %d ack %d len %d win %d" % (
                rel(p["ts"], cap_start), p["n"], ep_str(p["src"]), ep_str(p["dst"]),
                flag_str(p["flags"]), p["seq"], p["ack"], p["len"], p["win"]))
    clip(start)
    L.append("")
    L.append("== merged kernel observations per socket (t, state, source)")
    start = len(L)
    for ep in sc.endpoints:
        L.append("conn %d %s %s:" % (ep["conn"], ep["role"], ep_str(ep["local"])))
        if ep["no_socket"]:
            L.append("   (no socket for this 4-tuple)")
        runs = []           # consecutive equal (state, source) observations
        for t, s, src in ep["raw"]:
            if runs and runs[-1][1] == s and runs[-1][2] == src:
                runs[-1][3] += 1
                runs[-1][4] = t
            else:
                runs.append([t, s, src, 1, t])
        for t, s, src, n, t_last in runs:
            L.append("   %s %-11s %s%s" % (rel(t, cap_start), s, src,
                                          " (x%d, last %s)" % (n, rel(t_last, cap_start))
                                          if n > 1 else ""))
    if not sc.endpoints:
        L.append("(no connection in the capture)")
    clip(start)
    if sc.notes:
        L.append("")
        L.append("== notes")
        start = len(L)
        L += ["- " + n for n in sc.notes]
        clip(start)
    L.append("")
    L.append("== scenario.py events")
    try:
        with open(sc.path(".scenario.log")) as f:
            for line in f:
                if line.startswith("EVENT "):
                    _, t, what = line.rstrip("\n").split(" ", 2)
                    L.append("%s %s" % (rel(float(t), cap_start), what))
                elif line.strip():
                    L.append(line.rstrip("\n"))
    except (OSError, ValueError):
        L.append("(no scenario log)")
    L.append("")
    L.append("== tracepoint sock:inet_sock_set_state (listeners included)")
    start = len(L)
    if sc.have_trace:
        allev, _ = read_trace(sc.path(".trace.txt"), fnum(sc.meta, "mono_offset", 0.0))
        for e in allev:
            L.append("%s cpu%d %-2s sk %s %5d > %-5d %s -> %s" % (
                rel(e["t"], cap_start), e["cpu"], e["ctx"] or "-", e["sk"] or "?",
                e["sport"], e["dport"], e["old"], e["new"]))
    else:
        L.append("(not available)")
    clip(start)
    L.append("")
    L.append("== ss -tan snapshots (changes only; @header time, snapshot taken within "
             "[t0, @]; %d unchanged polls not shown)" % sum(1 for s in sc.snaps if s["same"]))
    start = len(L)
    for s in sc.snaps:
        if s["same"]:
            continue
        L.append("@%s t0 %s%s" % (rel(s["t1"], cap_start), rel(s["t0"], cap_start),
                                 " final" if s["final"] else ""))
        for r in s["raw"]:
            L.append("   " + " ".join(r.split()[:5]))
    clip(start)
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


def isb_lines(sc):
    """kernel.txt header lines of a pcapng capture: its Interface Statistics
    Blocks and the last TCP packet against the capture's stop."""
    cap_start = sc.cap[0]
    L = []
    if not sc.isbs:
        L.append("# capture: %s, pcapng; NO Interface Statistics Block (capture stop "
                 "from the harness's clock)" % sc.meta.get("capture", "?"))
    for i in sc.isbs:
        parts = []
        for k in ("isb_starttime", "isb_endtime"):
            if k in i:
                t, text, unit = i[k]
                parts.append("%s %s (%s; %s)" % (k, text, rel(t, cap_start), unit))
        for k in ("ifrecv", "ifdrop", "filteraccept", "osdrop", "usrdeliv"):
            if k in i:
                parts.append("%s %d" % (k, i[k]))
        L.append("# capture: %s, pcapng; Interface Statistics Block of interface %d (%s): "
                 "%s" % (sc.meta.get("capture", "?"), i["interface"], i.get("name") or "?",
                         ", ".join(parts)))
    if sc.pkts:
        last = max(p["ts"] for p in sc.pkts)
        L.append("# last TCP packet at %s, %.3f s before the capture stopped"
                 % (rel(last, cap_start), sc.cap[1] - last))
    return L


def ep_json(ep):
    return {"scenario": ep["scenario"], "conn": ep["conn"], "role": ep["role"],
            "local": ep_str(ep["local"]), "remote": ep_str(ep["remote"]),
            "client": ep_str(ep["client"]), "server": ep_str(ep["server"]),
            "final": ep["final"], "seq": ep["seq"], "no_socket": ep["no_socket"],
            "listener": ep["listener"], "raw_sender": bool(ep.get("raw_sender")),
            "notes": ep["notes"]}


def scenario_names(outdir, names):
    if names:
        return names
    found = sorted(f[:-5] for f in os.listdir(outdir) if f.endswith(".meta"))
    order = {n: int(read_meta(os.path.join(outdir, n + ".meta")).get("index", 0) or 0)
             for n in found}
    return sorted(found, key=lambda n: (order[n], n))


def analyze(outdir, names):
    res = []
    for name in scenario_names(outdir, names):
        sc = Scenario(outdir, name)
        kernel_model(sc)
        doc = {"scenario": name, "status": sc.meta.get("status", "missing"),
               "error": sc.error, "trace": bool(getattr(sc, "have_trace", False)),
               "notes": sc.notes, "endpoints": [ep_json(e) for e in sc.endpoints],
               "packets": getattr(sc, "nframes", 0)}
        with open(sc.path(".kernel.json"), "w") as f:
            json.dump(doc, f, indent=1)
        if sc.error is None:
            write_kernel_txt(sc, sc.path(".kernel.txt"))
        res.append((sc, doc))
    return res


# ------------------------------------------------------------------ compare

def load_expected_tsv(path):
    docs = {}
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            c = line.rstrip("\n").split("\t")
            if len(c) < 8:
                continue
            scn, conn, role, client, server, final, seq = c[:7]
            note = c[7] if len(c) > 7 else ""
            d = docs.setdefault(scn, {"scenario": scn, "status": "ok", "error": None,
                                      "trace": "ss-only" not in note, "notes": [],
                                      "endpoints": [], "packets": None})
            local, remote = (client, server) if role == "client" else (server, client)
            d["endpoints"].append({
                "scenario": scn, "conn": int(conn), "role": role, "local": local,
                "remote": remote, "client": client, "server": server, "final": final,
                "seq": [x for x in seq.split() if x != "-"],
                "no_socket": "no-socket" in note,
                "listener": "listener" in note, "notes": []})
    return list(docs.values())


def run_tcplens(tcplens, pcap):
    try:
        r = subprocess.run([tcplens, "-r", pcap, "--json", "-"], capture_output=True,
                           text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, "could not run %s: %s" % (tcplens, e)
    if r.returncode != 0:
        return None, "tcplens exited %d: %s" % (r.returncode, r.stderr.strip()[:300])
    try:
        return json.loads(r.stdout), None
    except ValueError as e:
        return None, "tcplens JSON unreadable: %s" % e


def jconn_ep(jc, role):
    try:
        return (norm_ip(str(jc[role]["ip"])), int(jc[role]["port"]))
    except (KeyError, TypeError, ValueError):
        return None


def find_jconn(report, ep, nkernel=None):
    """The n-th tcplens connection with this 4-tuple (n = ep conn).  With
    nkernel (the kernel's number of connections on the 4-tuple), the last
    kernel connection also fails if tcplens reports more connections than
    that: a connect() split in two (say at a late SYN retransmission) would
    otherwise pass on its first half."""
    conns = report.get("connections") if isinstance(report, dict) else None
    if not isinstance(conns, list):
        return None, "tcplens JSON has no \"connections\" array"
    want = {ep["local"], ep["remote"]}
    same = []
    for jc in conns:
        if not isinstance(jc, dict):
            continue
        c, s = jconn_ep(jc, "client"), jconn_ep(jc, "server")
        if c and s and {ep_str(c), ep_str(s)} == want:
            same.append(jc)
    if len(same) < ep["conn"]:
        return None, "tcplens reports %d connection(s) for %s <-> %s, need #%d" % (
            len(same), ep["local"], ep["remote"], ep["conn"])
    if nkernel is not None and ep["conn"] == nkernel and len(same) > nkernel:
        return same[ep["conn"] - 1], "tcplens reports %d connections for %s <-> %s, " \
            "the kernel had %d (the last one ends %s)" % (
                len(same), ep["local"], ep["remote"], nkernel,
                (same[-1].get("states_at_end") or {}).get(ep["role"], "?")
                if isinstance(same[-1].get("states_at_end"), dict) else "?")
    return same[ep["conn"] - 1], None


def inferred(jc, ep):
    """-> (role in tcplens, final, sequence, problems)"""
    probs = []
    c = jconn_ep(jc, "client")
    role = "client" if c and ep_str(c) == ep["local"] else "server"
    final = None
    sae = jc.get("states_at_end")
    if not isinstance(sae, dict):
        probs.append("tcplens connection %s has no \"states_at_end\"" % jc.get("id"))
    else:
        final = sae.get(role)
        if not isinstance(final, str):
            probs.append("\"states_at_end\" has no \"%s\"" % role)
            final = None
    seq = None
    tl = jc.get("timeline")
    if not isinstance(tl, list):
        probs.append("tcplens connection %s has no \"timeline\"" % jc.get("id"))
    else:
        vals = []
        for ev in tl:
            if not isinstance(ev, dict):
                continue
            # States the endpoint passed through within this one event.
            via = ev.get("via", {}).get(role, [])
            vals.extend(s for s in via if isinstance(s, str))
            v = ev.get(role)
            if isinstance(v, str):
                vals.append(v)
        if tl and not vals:
            probs.append("timeline events carry no \"%s\" state" % role)
        seq = collapse(vals)
    for s in ([final] if final else []) + (seq or []):
        if s not in STATES:
            probs.append("unknown state name %r" % s)
            break
    return role, final, seq, probs


def check_final(ep, final):
    if final is None:
        return False
    if final == ep["final"]:
        return True
    return bool(ep["no_socket"] and ep["listener"] and final == "LISTEN")


def check_seq(ep, seq):
    if seq is None:
        return False
    if ep["no_socket"]:
        return all(s in NO_SOCKET_OK for s in seq)
    return is_subsequence(ep["seq"], seq)


class Tap:
    def __init__(self):
        self.n, self.failed = 0, 0

    def point(self, ok, desc, diag=()):
        self.n += 1
        if not ok:
            self.failed += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", self.n, desc))
        for d in diag:
            print("#   " + d)
        sys.stdout.flush()

    def comment(self, text):
        for line in text.splitlines():
            print("# " + line)


# What tcplens must also say, beyond the endpoint states, for the scenarios
# where the capture alone shows why the connection ended or when the capture
# did: "end" the connection's end, "errno" the icmp_unreachable anomaly's
# evidence.errno (what the kernel's connect() failed with: the scenario
# fails unless it is that), "icmp" the ICMP error matched to the connection
# (its icmp_errors, a timeline event icmp_error, none unmatched in the
# capture), "capture_end" the source of the capture's end time.
TCPLENS_EXPECT = {
    "icmp_port_unreach": {"end": "icmp", "errno": "ECONNREFUSED", "icmp": True},
    "icmp_admin_prohibited": {"end": "icmp", "errno": "EHOSTUNREACH", "icmp": True},
    "icmp6_admin_prohibited": {"end": "icmp", "errno": "EACCES", "icmp": True},
    "icmp_host_unreach": {"end": "icmp", "errno": "EHOSTUNREACH", "icmp": True},
    "icmp6_port_unreach": {"end": "icmp", "errno": "ECONNREFUSED", "icmp": True},
    "icmp6_addr_unreach": {"end": "icmp", "errno": "EHOSTUNREACH", "icmp": True},
    "pmtu_icmp": {"icmp": True},
    "pmtu6_icmp": {"icmp": True},
    "isb_syn_giveup": {"capture_end": "pcapng_isb"},
    "isb_syn_pending": {"capture_end": "pcapng_isb"},
}


def check_expect(report, jc, want):
    """Problems with tcplens's report against TCPLENS_EXPECT's want."""
    probs = []
    if "capture_end" in want:
        got = ((report.get("capture") or {}).get("end") or {}).get("source")
        if got != want["capture_end"]:
            probs.append("capture end from %s, want %s" % (got, want["capture_end"]))
    if "end" in want and jc.get("end") != want["end"]:
        probs.append("connection end %s, want %s" % (jc.get("end"), want["end"]))
    if "errno" in want:
        got = [(a.get("evidence") or {}).get("errno") for a in jc.get("anomalies") or []
               if a.get("type") == "icmp_unreachable"]
        if got != [want["errno"]]:
            probs.append("icmp_unreachable errno %s, want [%s]" % (got, want["errno"]))
    if want.get("icmp"):
        if not jc.get("icmp_errors"):
            probs.append("no ICMP error matched to the connection (icmp_errors %s)"
                         % jc.get("icmp_errors"))
        if not any(t.get("event") == "icmp_error" for t in jc.get("timeline") or []):
            probs.append("no icmp_error event in the timeline")
        unmatched = ((report.get("capture") or {}).get("icmp_errors") or {}).get("unmatched")
        if unmatched:
            probs.append("%s ICMP error(s) matched to no connection" % unmatched)
    return probs


def compare(docs, pcap_of, tcplens, summary_dir):
    tap = Tap()
    rows = []
    agree = checked = 0
    nfinal = nseq = 0
    for d in docs:
        name = d["scenario"]
        pcap = pcap_of(name)
        ok = d["status"] == "ok" and d["error"] is None and os.path.exists(pcap)
        diag = []
        if d["status"] != "ok":
            diag.append("scenario run failed: %s" % d["status"])
        if d["error"]:
            diag.append(d["error"])
        if not os.path.exists(pcap):
            diag.append("missing %s" % pcap)
        if not d["endpoints"] and ok:
            ok = False
            diag.append("no connection in the capture")
        tap.point(ok, "%s: kernel scenario captured (%s)" % (
            name, "tracepoint + ss" if d["trace"] else "ss only, no tracepoint"), diag)
        if not d["endpoints"]:
            continue
        report, err = (None, "no capture") if not os.path.exists(pcap) else \
            run_tcplens(tcplens, pcap)
        nkernel = defaultdict(int)      # kernel connections per 4-tuple
        for ep in d["endpoints"]:
            k = frozenset((ep["local"], ep["remote"]))
            nkernel[k] = max(nkernel[k], ep["conn"])
        for ep in d["endpoints"]:
            label = "%s conn %d %s %s" % (name, ep["conn"], ep["role"], ep["local"])
            kseq = " ".join(ep["seq"])
            probs, role, final, seq, split = [], ep["role"], None, None, False
            if report is None:
                probs.append(err)
            else:
                jc, e2 = find_jconn(report, ep, nkernel[frozenset((ep["local"],
                                                                     ep["remote"]))])
                if jc is None:
                    probs.append(e2)
                else:
                    role, final, seq, p2 = inferred(jc, ep)
                    probs += p2
                    if e2:
                        probs.append(e2)
                        split = True
            f_ok = check_final(ep, final) and not split
            s_ok = check_seq(ep, seq)
            want = ep["final"] + (" (or LISTEN: no socket, listener existed)"
                                  if ep["no_socket"] and ep["listener"] else "")
            tap.point(f_ok, "%s: state at capture end %s" % (label, ep["final"]),
                      [] if f_ok else ["kernel final:   " + want,
                                       "tcplens final:  %s (as %s)" % (final, role)] +
                      ["problem: %s" % p for p in probs])
            tap.point(s_ok, "%s: kernel sequence within tcplens's" % label,
                      [] if s_ok else [
                          "kernel seq:  " + kseq + (" (no socket: tcplens must not claim a "
                                                    "connection state)" if ep["no_socket"]
                                                    else ""),
                          "tcplens seq: " + (" ".join(seq) if seq is not None else "-")] +
                      ["problem: %s" % p for p in probs] +
                      ["kernel note: %s" % n for n in ep.get("notes", [])])
            checked += 1
            nfinal += f_ok
            nseq += s_ok
            agree += f_ok and s_ok
            if ep["role"] == "client" and ep["conn"] == 1 and name in TCPLENS_EXPECT:
                want = TCPLENS_EXPECT[name]
                xp = probs or check_expect(report, jc, want)
                tap.point(not xp, "%s: tcplens reports %s" % (label, ", ".join(
                    "%s %s" % (k, "yes" if v is True else v) for k, v in sorted(want.items()))),
                          ["problem: %s" % p for p in xp])
            rows.append((name, "conn%d/%s" % (ep["conn"], ep["role"]),
                         "%s>%s" % (ep["local"], ep["remote"]),
                         ep["final"], (final or "-") + (" (split)" if split else ""),
                         kseq + (" (no socket)" if ep["no_socket"] else ""),
                         " ".join(seq) if seq is not None else "-",
                         "ok" if f_ok and s_ok else
                         ("final" if not f_ok and s_ok else
                          "seq" if f_ok else "final+seq") + " differ"))
    head = ("scenario", "endpoint", "local>peer", "kernel final", "tcplens final",
            "kernel sequence", "tcplens sequence", "verdict")
    acc = "accuracy: %d/%d endpoints agree (%.1f%%); final state %d/%d, sequence %d/%d" % (
        agree, checked, 100.0 * agree / checked if checked else 0.0, nfinal, checked,
        nseq, checked)
    table = format_table(head, rows)
    if summary_dir:
        with open(os.path.join(summary_dir, "summary.tsv"), "w") as f:
            f.write("\t".join(head) + "\n")
            for r in rows:
                f.write("\t".join(r) + "\n")
        with open(os.path.join(summary_dir, "summary.txt"), "w") as f:
            f.write(table + "\n" + acc + "\n")
    tap.comment(table)
    tap.comment(acc)
    print("1..%d" % tap.n)
    return tap.failed == 0


def format_table(head, rows):
    w = [max(len(str(r[i])) for r in list(rows) + [head]) for i in range(len(head))]
    out = ["  ".join(str(h).ljust(w[i]) for i, h in enumerate(head)).rstrip()]
    for r in rows:
        out.append("  ".join(str(x).ljust(w[i]) for i, x in enumerate(r)).rstrip())
    return "\n".join(out)


# ------------------------------------------------------------------ export

def export(outdir, dest, names):
    os.makedirs(dest, exist_ok=True)
    res = analyze(outdir, names)
    lines = ["# Kernel ground truth for tests/netns/kernel/<scenario>.pcap, made by "
             "tests/netns/make-kernel-samples.sh",
             "# (tests/kernel-states.sh re-runs the scenarios live; see "
             "docs/kernel-scenarios.md).  One line per endpoint socket:",
             "# scenario, conn (n-th connection on that 4-tuple), role, client ip:port, "
             "server ip:port, kernel final state at capture end, kernel state sequence "
             "in the capture window, notes",
             "#scenario\tconn\trole\tclient\tserver\tfinal\tsequence\tnotes"]
    for sc, doc in res:
        if sc.error or doc["status"] != "ok":
            print("export: skipping %s (%s)" % (sc.name, sc.error or doc["status"]),
                  file=sys.stderr)
            continue
        src = sc.capture()
        ext = os.path.splitext(src)[1]
        shutil.copyfile(src, os.path.join(dest, sc.name + ext))
        for other in CAPTURE_EXTS:      # a recording in the other format is stale
            if other != ext and os.path.exists(os.path.join(dest, sc.name + other)):
                os.remove(os.path.join(dest, sc.name + other))
        write_kernel_txt(sc, os.path.join(dest, sc.name + ".kernel.txt"), trim=True)
        for ep in doc["endpoints"]:
            notes = []
            if ep["no_socket"]:
                notes.append("no-socket")
                if ep["listener"]:
                    notes.append("listener")
            if ep.get("raw_sender"):
                notes.append("raw-sender")
            if not doc["trace"]:
                notes.append("ss-only")
            lines.append("\t".join([sc.name, str(ep["conn"]), ep["role"], ep["client"],
                                    ep["server"], ep["final"], " ".join(ep["seq"]) or "-",
                                    ",".join(notes) or "-"]))
    # keep the lines of scenarios not exported this time, in their order
    done = {sc.name for sc, doc in res if not sc.error and doc["status"] == "ok"}
    header, new = lines[:4], lines[4:]
    by_scn = defaultdict(list)
    for l in new:
        by_scn[l.split("\t")[0]].append(l)
    path = os.path.join(dest, "expected.tsv")
    try:
        with open(path) as f:
            old = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    except OSError:
        old = []
    body, emitted = [], set()
    for l in old:
        scn = l.split("\t")[0]
        if scn in done:
            if scn not in emitted:
                body += by_scn[scn]
                emitted.add(scn)
        else:
            body.append(l)
    for l in new:
        if l.split("\t")[0] not in emitted:
            body.append(l)
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(header + body) + "\n")
    os.replace(path + ".tmp", path)
    return res


# ------------------------------------------------------------------ main

def isb_main(path):
    """Print a pcapng file's Interface Statistics Blocks as key=value lines
    (isb.IFACE.KEY=VALUE, times exact) and its last TCP packet; exit 1 when
    no interface has an isb_endtime, 2 when the file is unreadable."""
    try:
        pkts, _, isbs = read_capture(path)
    except (OSError, ValueError, struct.error) as e:
        print("isb: %s: %s" % (path, e), file=sys.stderr)
        return 2
    for i in isbs:
        for k in ("isb_starttime", "isb_endtime"):
            if k in i:
                print("isb.%d.%s=%s" % (i["interface"], k, i[k][1]))
        for k in ("ifrecv", "ifdrop", "filteraccept", "osdrop", "usrdeliv"):
            if k in i:
                print("isb.%d.%s=%d" % (i["interface"], k, i[k]))
        if "isb_endtime" in i:
            print("isb.%d.time_unit=%s" % (i["interface"], i["isb_endtime"][2]))
    if pkts:
        print("last_tcp_packet=%.9f" % max(p["ts"] for p in pkts))
    if not any("isb_endtime" in i for i in isbs):
        print("isb: %s: no Interface Statistics Block with isb_endtime" % path,
              file=sys.stderr)
        return 1
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("analyze")
    a.add_argument("outdir")
    a.add_argument("names", nargs="*")
    c = sub.add_parser("compare")
    c.add_argument("outdir", nargs="?")
    c.add_argument("names", nargs="*")
    c.add_argument("--tcplens", default=os.environ.get("TCPLENS", "./tcplens"))
    c.add_argument("--expected", help="expected.tsv (offline mode)")
    c.add_argument("--pcap-dir", help="directory of <scenario>.pcap (offline mode)")
    c.add_argument("--summary-dir", help="where summary.tsv/.txt go (default OUTDIR)")
    e = sub.add_parser("export")
    e.add_argument("outdir")
    e.add_argument("dest")
    e.add_argument("names", nargs="*")
    i = sub.add_parser("isb")
    i.add_argument("capture")
    args = p.parse_args()

    if args.cmd == "isb":
        return isb_main(args.capture)

    if args.cmd == "analyze":
        for sc, doc in analyze(args.outdir, args.names):
            print("%-20s %s" % (sc.name, sc.error or "%d endpoints" % len(doc["endpoints"])))
            for ep in doc["endpoints"]:
                print("    conn %d %-6s %-22s final %-11s seq %s" % (
                    ep["conn"], ep["role"], ep["local"], ep["final"], " ".join(ep["seq"])))
        return 0
    if args.cmd == "export":
        export(args.outdir, args.dest, args.names)
        return 0
    if args.expected:
        docs = load_expected_tsv(args.expected)
        if args.names:
            docs = [d for d in docs if d["scenario"] in args.names]
        pdir = args.pcap_dir or os.path.dirname(args.expected)
        ok = compare(docs, lambda n: capture_path(pdir, n), args.tcplens,
                     args.summary_dir)
    else:
        if not args.outdir:
            p.error("compare needs OUTDIR or --expected")
        docs = [doc for _, doc in analyze(args.outdir, args.names)]
        ok = compare(docs, lambda n: capture_path(args.outdir, n),
                     args.tcplens, args.summary_dir or args.outdir)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
