#!/usr/bin/env python3
"""Writes the malformed-capture corpus that tests/malformed.sh runs.

Usage: malformed-gen.py OUTDIR

Most files are samples/normal.pcap (11 records, one Ethernet/IPv4 TCP
connection: SYN, SYN-ACK, ACK, data both ways, FIN/ACK both ways) cut or with
one field changed; the rest are crafted with struct. Everything is
deterministic: the garbage comes from a fixed seed.

Next to the captures goes MANIFEST, one line per file, tab-separated:

    name  exit  valgrind  stderr  checks

valgrind is "vg" for the files tests/malformed.sh also runs under
valgrind (a few of each kind), else "-". exit is 0, 2 or "any" (0 or 2).
stderr is "-" when tcplens must print nothing, "*" when anything goes (at
most one line, as always), else a string its one line must contain. checks
are space-separated PATH=VALUE pairs on the JSON report (PATH is dotted,
list indexes are numbers), "-" for none. The expectations follow what the
decoder (src/decode*.c) and libpcap 1.10 do with each input.
"""

import os
import random
import struct
import sys

SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "samples")

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IEEE802_11 = 105  # not decoded by tcplens
MAX_SNAPLEN = 262144       # libpcap's largest snapshot for Ethernet

# Run under valgrind too (with every garbage-records-* file): one or two of
# each kind, as valgrind takes a second a file.
VALGRIND = {
    "cut-record-04-in-payload.pcap", "cut-record-06-in-tcp.pcap", "ng-cut-epb-04-in-data.pcapng",
    "caplen-over-len.pcap", "caplen-over-snaplen.pcap", "caplen-huge.pcap", "caplen-zero.pcap",
    "ipv4-ihl-4.pcap", "ipv4-totlen-zero.pcap", "tcp-doff-beyond-segment.pcap",
    "tcpopt-len-0.pcap", "tcpopt-len-past-header.pcap", "ipv6-ext-loop-dstopts.pcap",
    "ipv6-ext-len-past-packet.pcap", "ipv6-ext-cut-by-caplen.pcap", "ts-backwards-all.pcap",
    "ts-ng-jump.pcapng", "ng-eth-raw-wifi-interfaces.pcapng", "ng-raw-interface-midway.pcapng",
    "ng-epb-caplen-past-block.pcapng", "garbage-bytes-0.bin", "garbage-after-pcapng-idb-0.pcapng",
    "garbage-flipped-normal-5.pcap",
}

# What normal.pcap gives, untouched.
NORMAL_OK = ("capture.packets=11 capture.tcp_packets=11 capture.skipped.malformed=0 "
             "capture.skipped.truncated=0 capture.skipped.non_tcp=0 summary.connections=1 "
             "connections.0.zeek.conn_state=SF connections.0.zeek.history=ShADadFf")


class Corpus:
    def __init__(self, outdir):
        self.outdir = outdir
        self.lines = []
        self.names = set()

    def add(self, name, data, exit_status, stderr="-", checks="-"):
        assert name not in self.names, name
        assert "\t" not in stderr and "\t" not in checks
        self.names.add(name)
        with open(os.path.join(self.outdir, name), "wb") as f:
            f.write(data)
        vg = "vg" if name in VALGRIND or name.startswith("garbage-records-") else "-"
        self.lines.append("\t".join([name, str(exit_status), vg, stderr or "-", checks or "-"]))

    def finish(self):
        assert VALGRIND <= self.names, VALGRIND - self.names
        with open(os.path.join(self.outdir, "MANIFEST"), "w") as f:
            f.write("\n".join(self.lines) + "\n")


def skips(malformed=0, truncated=0, non_tcp=0):
    return (f"capture.skipped.malformed={malformed} capture.skipped.truncated={truncated} "
            f"capture.skipped.non_tcp={non_tcp}")


# ---------------------------------------------------------------- pcap


def pcap_header(linktype=LINKTYPE_ETHERNET, snaplen=MAX_SNAPLEN, magic=PCAP_MAGIC_US):
    return struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(data, sec=1700000000, usec=0, caplen=None, wirelen=None):
    caplen = len(data) if caplen is None else caplen
    wirelen = caplen if wirelen is None else wirelen
    return struct.pack("<IIII", sec & 0xFFFFFFFF, usec & 0xFFFFFFFF, caplen, wirelen) + data


def read_pcap(path):
    """Returns (global header, [(offset, sec, usec, caplen, len, data)])."""
    with open(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack_from("<I", raw, 0)
    assert magic == PCAP_MAGIC_US, "normal.pcap is a little-endian microsecond pcap"
    recs = []
    off = 24
    while off < len(raw):
        sec, usec, caplen, wirelen = struct.unpack_from("<IIII", raw, off)
        recs.append((off, sec, usec, caplen, wirelen, raw[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    assert off == len(raw)
    return raw, recs


def rebuild(raw, recs, header=None):
    """A pcap of normal.pcap's header (or another) and the given records."""
    out = raw[:24] if header is None else header
    for _, sec, usec, caplen, wirelen, data in recs:
        out += pcap_record(data, sec, usec, caplen, wirelen)
    return out


def with_packet(recs, i, data, caplen=None, wirelen=None):
    """recs with record i's bytes (and, if given, lengths) replaced."""
    off, sec, usec = recs[i][:3]
    recs = list(recs)
    recs[i] = (off, sec, usec, len(data) if caplen is None else caplen,
               len(data) if wirelen is None else wirelen, data)
    return recs


def poke(data, off, value, size=1):
    fmt = {1: ">B", 2: ">H", 4: ">I"}[size]
    b = bytearray(data)
    struct.pack_into(fmt, b, off, value)
    return bytes(b)


# ---------------------------------------------------------------- packets

ETH_IP = 14          # IPv4/IPv6 header offset in an Ethernet frame
ETH_TCP = ETH_IP + 20


def eth(payload, ethertype=0x0800):
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + \
        struct.pack(">H", ethertype) + payload


def tcp_header(sport=40000, dport=80, seq=1000, ack=0, flags=0x02, doff=5, options=b""):
    hdr = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, 65535, 0, 0)
    return hdr + options


def ipv4(payload, proto=6, ihl=5, tot=None, src=b"\x0a\x00\x00\x01", dst=b"\x0a\x00\x00\x02"):
    tot = 20 + len(payload) if tot is None else tot
    hdr = struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, 0, tot, 1, 0, 64, proto, 0, src, dst)
    return hdr + payload


def ipv6(nh, payload, plen=None):
    plen = len(payload) if plen is None else plen
    src = b"\xfd" + b"\x00" * 14 + b"\x01"
    dst = b"\xfd" + b"\x00" * 14 + b"\x02"
    return struct.pack(">IHBB", 0x60000000, plen, nh, 64) + src + dst + payload


def v6_ext_chain(kinds, last_nh=6, hdr_len=0):
    """Extension headers of the given types, each pointing to the next and
    the last to last_nh; returns (first next-header value, bytes)."""
    out = b""
    for i, kind in enumerate(kinds):
        nxt = kinds[i + 1] if i + 1 < len(kinds) else last_nh
        if kind == 44:  # fragment header: offset 0, M clear (atomic)
            out += struct.pack(">BBHI", nxt, 0, 0, i)
        else:
            out += struct.pack(">BB", nxt, hdr_len) + b"\x01\x04\x00\x00\x00\x00" + \
                b"\x00" * (8 * hdr_len)
    return kinds[0], out


# ---------------------------------------------------------------- pcapng


def ng_block(btype, body):
    body += b"\x00" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def ng_shb():
    return ng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def ng_idb(linktype, snaplen=0, tsresol=None, tsoffset=None):
    opts = b""
    if tsresol is not None:
        opts += struct.pack("<HHB", 9, 1, tsresol) + b"\x00" * 3
    if tsoffset is not None:
        opts += struct.pack("<HHq", 14, 8, tsoffset)
    if opts:
        opts += struct.pack("<HH", 0, 0)
    return ng_block(1, struct.pack("<HHI", linktype, 0, snaplen) + opts)


def ng_epb(ifid, data, ts=1700000000 * 1000000, caplen=None, wirelen=None):
    caplen = len(data) if caplen is None else caplen
    wirelen = len(data) if wirelen is None else wirelen
    hdr = struct.pack("<IIIII", ifid, ts >> 32, ts & 0xFFFFFFFF, caplen, wirelen)
    return ng_block(6, hdr + data)


# ---------------------------------------------------------------- cases


def truncations(c, raw, recs):
    """normal.pcap cut at every record boundary and inside every header."""
    n = len(recs)
    # Inside the file header: libpcap cannot open it.
    for cut in (1, 4, 8, 16, 20, 23):
        c.add(f"cut-file-header-{cut:02d}.pcap", raw[:cut], 2, "truncated dump file")
    for k in range(n + 1):
        end = recs[k][0] if k < n else len(raw)
        # A clean end after k records: every one is read, nothing is said.
        conns = 1 if k > 0 else 0
        c.add(f"cut-record-boundary-{k:02d}.pcap", raw[:end], 0, "-",
              f"capture.packets={k} capture.tcp_packets={k} inputs.0.packets={k} "
              f"summary.connections={conns} " + skips())
    for k, (off, _, _, caplen, _, _) in enumerate(recs):
        # Cuts inside record k: in its record header, then in its Ethernet,
        # IPv4 and TCP headers and (when it has one) its payload. The k
        # records before it are read and reported; the cut is said.
        inside = {"rechdr-01": 1, "rechdr-08": 8, "rechdr-15": 15,
                  "eth": 16 + 7, "ipv4": 16 + ETH_IP + 9, "tcp": 16 + ETH_TCP + 13}
        if caplen > 66:
            inside["payload"] = 16 + caplen - 5
        for what, delta in inside.items():
            name = f"cut-record-{k + 1:02d}-in-{what}.pcap"
            if k == 0:
                c.add(name, raw[:off + delta], 2, "truncated dump file")
            else:
                c.add(name, raw[:off + delta], 0, "truncated dump file",
                      f"capture.packets={k} capture.tcp_packets={k} inputs.0.packets={k} "
                      f"summary.connections=1 " + skips())


def ng_truncations(c):
    """normal.pcapng cut at every block boundary and inside block headers."""
    with open(os.path.join(SAMPLES, "normal.pcapng"), "rb") as f:
        raw = f.read()
    starts = []
    off = 0
    while off < len(raw):
        starts.append(off)
        off += struct.unpack_from("<I", raw, off + 4)[0]
    starts.append(len(raw))
    # Blocks: SHB, IDB, then one EPB a packet.
    assert len(starts) == 14
    c.add("ng-cut-in-shb.pcapng", raw[:10], 2, "unknown file format")
    c.add("ng-cut-before-idb.pcapng", raw[:starts[1]], 2, "no Interface Description Blocks")
    c.add("ng-cut-in-idb.pcapng", raw[:starts[1] + 10], 2, "truncated pcapng dump file")
    for k in range(12):
        c.add(f"ng-cut-block-boundary-{k:02d}.pcapng", raw[:starts[2 + k]], 0, "-",
              f"capture.packets={k} capture.tcp_packets={k} " + skips())
    for k in (0, 3, 10):
        for what, delta in (("blkhdr", 6), ("epbhdr", 20), ("data", 40)):
            name = f"ng-cut-epb-{k + 1:02d}-in-{what}.pcapng"
            if k == 0:
                c.add(name, raw[:starts[2 + k] + delta], 2, "truncated pcapng dump file")
            else:
                c.add(name, raw[:starts[2 + k] + delta], 0, "truncated pcapng dump file",
                      f"capture.packets={k} capture.tcp_packets={k} " + skips())


def lengths(c, raw, recs):
    """Record lengths that disagree with each other and with the snaplen."""
    syn = recs[0][5]
    # caplen > len: the decoder trusts neither.
    c.add("caplen-over-len.pcap", rebuild(raw, with_packet(recs, 0, syn, wirelen=60)), 0, "-",
          "capture.packets=11 capture.tcp_packets=10 "
          "capture.skipped_reasons.caplen_exceeds_wirelen=1 " + skips(malformed=1))
    # caplen > snaplen: libpcap keeps snaplen bytes of each record. At 70 the
    # 74-byte SYN and SYN-ACK lose the end of their TCP options; the others
    # keep whole headers.
    c.add("caplen-over-snaplen.pcap", rebuild(raw, recs, pcap_header(snaplen=70)), 0, "-",
          "capture.packets=11 capture.tcp_packets=9 "
          "capture.skipped_reasons.truncated_tcp_header=2 " + skips(truncated=2))
    # caplen beyond anything a snapshot can be: libpcap stops reading there.
    _, sec, usec, _, _, data = recs[3]
    body = rebuild(raw, recs[:3]) + struct.pack("<IIII", sec, usec, 0x7FFFFFFF, 0x7FFFFFFF) + data
    c.add("caplen-huge.pcap", body, 0, "invalid packet capture length",
          "capture.packets=3 capture.tcp_packets=3 " + skips())
    c.add("caplen-huge-first.pcap", pcap_header() + pcap_record(syn, caplen=0xFFFFFFF0), 2,
          "invalid packet capture length")
    # snaplen 0 and huge: libpcap takes its maximum instead.
    for tag, snap in (("0", 0), ("huge", 0xFFFFFFFF), ("2g", 0x80000000)):
        c.add(f"snaplen-{tag}.pcap", rebuild(raw, recs, pcap_header(snaplen=snap)), 0, "-",
              NORMAL_OK)
    # Records of no bytes at all: a link header cannot be there.
    c.add("caplen-zero.pcap", pcap_header() + pcap_record(b"", wirelen=60) * 100, 0,
          "no TCP packets",
          "capture.packets=100 capture.tcp_packets=0 "
          "capture.skipped_reasons.truncated_link_header=100 " + skips(truncated=100))
    # caplen short of len in the middle of the TCP header of the SYN (its
    # 40-byte header is on the wire but only 26 bytes were kept).
    c.add("caplen-cuts-tcp-header.pcap",
          rebuild(raw, with_packet(recs, 0, syn[:ETH_TCP + 26], wirelen=len(syn))), 0, "-",
          "capture.packets=11 capture.tcp_packets=10 "
          "capture.skipped_reasons.truncated_tcp_header=1 " + skips(truncated=1))


def ipv4_cases(c, raw, recs):
    """IPv4 header and total-length lies, on the SYN (74 bytes: 20 IP,
    40 TCP) or the first data segment (109 bytes: 43 of payload)."""
    syn = recs[0][5]
    data = recs[3][5]

    def one(name, i, pkt, reason, cls):
        c.add(name, rebuild(raw, with_packet(recs, i, pkt)), 0, "-",
              f"capture.packets=11 capture.tcp_packets=10 capture.skipped_reasons.{reason}=1 "
              + skips(**{cls: 1}))

    for ihl in (0, 1, 4):
        one(f"ipv4-ihl-{ihl}.pcap", 0, poke(syn, ETH_IP, 0x40 | ihl),
            "bad_ipv4_header_length", "malformed")
    # IHL 15: the 60-byte datagram is all IP header, with no room for TCP.
    one("ipv4-ihl-15.pcap", 0, poke(syn, ETH_IP, 0x4F), "bad_ip_total_length", "malformed")
    # A header longer than the whole frame was on the wire: a lie, not a
    # cut by the snap length.
    ack = recs[2][5]
    one("ipv4-ihl-15-beyond-frame.pcap", 2, poke(poke(ack, ETH_IP, 0x4F), ETH_IP + 2, 52),
        "bad_ipv4_header_length", "malformed")
    one("ipv4-version-5.pcap", 0, poke(syn, ETH_IP, 0x55), "bad_ip_version", "malformed")
    one("ipv4-totlen-beyond-frame.pcap", 0, poke(syn, ETH_IP + 2, 1500, 2),
        "bad_ip_total_length", "malformed")
    one("ipv4-totlen-65535.pcap", 3, poke(data, ETH_IP + 2, 0xFFFF, 2),
        "bad_ip_total_length", "malformed")
    one("ipv4-totlen-below-ihl.pcap", 0, poke(syn, ETH_IP + 2, 12, 2),
        "bad_ip_total_length", "malformed")
    # Room for the IP header but not for a TCP one.
    one("ipv4-totlen-no-room-for-tcp.pcap", 0, poke(syn, ETH_IP + 2, 30, 2),
        "bad_ip_total_length", "malformed")
    # A TCP header whose data offset runs past the total length.
    one("ipv4-totlen-cuts-tcp-options.pcap", 0, poke(syn, ETH_IP + 2, 50, 2),
        "bad_tcp_data_offset", "malformed")
    one("ipv4-fragment.pcap", 0, poke(syn, ETH_IP + 6, 0x2000, 2), "ip_fragment", "non_tcp")
    one("ipv4-proto-udp.pcap", 0, poke(syn, ETH_IP + 9, 17), "not_tcp", "non_tcp")
    # Shorter than the frame but still holding the headers: the rest is
    # link padding, the segment is used (its payload shrinks).
    c.add("ipv4-totlen-short-padding.pcap",
          rebuild(raw, with_packet(recs, 3, poke(data, ETH_IP + 2, 20 + 32 + 10, 2))), 0, "-",
          "capture.packets=11 capture.tcp_packets=11 " + skips() +
          " summary.connections=1 connections.0.bytes.client=10")
    # 0, as segmentation offload leaves it: the frame length is used.
    c.add("ipv4-totlen-zero.pcap",
          rebuild(raw, with_packet(recs, 3, poke(data, ETH_IP + 2, 0, 2))), 0, "-",
          NORMAL_OK + " connections.0.bytes.client=43")


def tcp_cases(c, raw, recs):
    """TCP data offsets and options, on the SYN (options: MSS, SACK-permitted,
    timestamps, NOP, window scale) and the handshake ACK (32-byte header)."""
    syn = recs[0][5]
    ack = recs[2][5]
    doff_at = ETH_TCP + 12

    def one(name, i, pkt, reason, cls, extra=""):
        c.add(name, rebuild(raw, with_packet(recs, i, pkt)), 0, "-",
              f"capture.packets=11 capture.tcp_packets=10 capture.skipped_reasons.{reason}=1 "
              + skips(**{cls: 1}) + extra)

    for doff in (0, 1, 4):
        one(f"tcp-doff-{doff}.pcap", 0, poke(syn, doff_at, doff << 4),
            "bad_tcp_data_offset", "malformed")
    # 60 bytes of header in a 32-byte segment.
    one("tcp-doff-beyond-segment.pcap", 2, poke(ack, doff_at, 15 << 4),
        "bad_tcp_data_offset", "malformed")
    # 60 bytes claimed where the segment has 40 (then 16 bytes of padding
    # in the frame, which the IP total length excludes).
    one("tcp-doff-into-padding.pcap", 0, poke(syn, doff_at, 15 << 4) + b"\x00" * 16,
        "bad_tcp_data_offset", "malformed")
    # The frame (captured whole) ends inside the TCP header, while the IP
    # total length claims the whole segment.
    one("tcp-header-cut-by-frame.pcap", 0, syn[:ETH_TCP + 12], "bad_ip_total_length",
        "malformed")
    # Options that lie: decoding stops at them, the segment is still used.
    opts = syn[ETH_TCP + 20:ETH_TCP + 40]
    assert opts[0] == 2 and len(opts) == 20
    bad = {
        "len-0": b"\x02\x00" + opts[2:],
        "len-1": b"\x02\x01" + opts[2:],
        "len-past-header": b"\x08\x28" + opts[2:],
        "ts-len-past-header": opts[:10] + b"\x08\x0b" + opts[12:],
        "kind-last-byte": b"\x01" * 19 + b"\x02",
        "sack-len-1": b"\x05\x01" + opts[2:],
        "wscale-len-0-last": opts[:17] + b"\x03\x00\x0e",
        "all-nop": b"\x01" * 20,
        "unknown-kind-255": b"\xff\x14" + b"\x00" * 18,
    }
    for tag, o in bad.items():
        assert len(o) == 20
        pkt = syn[:ETH_TCP + 20] + o
        c.add(f"tcpopt-{tag}.pcap", rebuild(raw, with_packet(recs, 0, pkt)), 0, "-", NORMAL_OK)


def ipv6_cases(c):
    """IPv6 extension-header chains, each in front of a SYN."""
    seg = tcp_header()

    def v6(name, nh, ext, reason=None, cls=None, plen=None, caplen=None):
        frame = eth(ipv6(nh, ext + seg, plen), 0x86DD)
        cap = len(frame) if caplen is None else caplen
        body = pcap_header() + pcap_record(frame[:cap], wirelen=len(frame))
        if reason is None:
            c.add(name, body, 0, "-",
                  "capture.packets=1 capture.tcp_packets=1 summary.connections=1 " + skips())
        else:
            c.add(name, body, 0, "no TCP packets",
                  f"capture.packets=1 capture.tcp_packets=0 capture.skipped_reasons.{reason}=1 "
                  + skips(**{cls: 1}))

    # The decoder walks at most 16 extension headers.
    v6("ipv6-ext-16-then-tcp.pcap", *v6_ext_chain([60] * 16))
    v6("ipv6-ext-17-then-tcp.pcap", *v6_ext_chain([60] * 17), "bad_ipv6_ext_header", "malformed")
    # A chain that never ends before the packet does (every header says
    # "destination options" again), and one of hop-by-hop headers.
    v6("ipv6-ext-loop-dstopts.pcap", *v6_ext_chain([60] * 200, last_nh=60),
       "bad_ipv6_ext_header", "malformed")
    v6("ipv6-ext-loop-hopopts.pcap", *v6_ext_chain([0] * 64, last_nh=0),
       "bad_ipv6_ext_header", "malformed")
    # Atomic fragment headers one after another.
    v6("ipv6-ext-loop-fragment.pcap", *v6_ext_chain([44] * 40, last_nh=44),
       "bad_ipv6_ext_header", "malformed")
    v6("ipv6-ext-mixed-then-tcp.pcap", *v6_ext_chain([0, 60, 43, 44, 51, 60]))
    # A header whose length runs past the packet.
    nh, ext = v6_ext_chain([0])
    v6("ipv6-ext-len-past-packet.pcap", nh, b"\x06\xff" + ext[2:], "bad_ipv6_ext_header",
       "malformed")
    # The chain is on the wire but the capture stops inside it.
    nh, ext = v6_ext_chain([60, 60, 60], hdr_len=1)
    v6("ipv6-ext-cut-by-caplen.pcap", nh, ext, "truncated_ipv6_ext_header", "truncated",
       caplen=ETH_IP + 40 + 16 + 4)
    # A payload length beyond the frame.
    v6("ipv6-plen-beyond-frame.pcap", 6, b"", "bad_ip_total_length", "malformed", plen=4000)
    # A chain ended by "no next header".
    v6("ipv6-ext-no-next.pcap", *v6_ext_chain([60, 60], last_nh=59), "not_tcp", "non_tcp")


def timestamp_cases(c, raw, recs):
    """Clocks that go backwards or far ahead."""
    r = list(recs)
    # Record 6 from an hour earlier than the first.
    back = with_packet(r, 5, r[5][5])
    off, sec, usec, cl, wl, d = back[5]
    back[5] = (off, sec - 3600, usec, cl, wl, d)
    # The connection is still one, ended by its FINs: the step back is not
    # an hour of silence (Zeek's view of it may differ, as Zeek's would).
    one_conn = ("capture.packets=11 capture.tcp_packets=11 " + skips() +
                " summary.connections=1 connections.0.end=fin capture.evicted.idle=0"
                " connections.0.states_at_end.client=TIME_WAIT"
                " connections.0.states_at_end.server=CLOSED")
    last = f"{r[-1][1]}.{r[-1][2]:06d}"
    c.add("ts-backwards-one.pcap", rebuild(raw, back), 0, "-",
          one_conn + f" capture.first_ts={sec - 3600}.{usec:06d} capture.last_ts={last}")
    # The whole file in reverse time order.
    rev = [(o, r[-1 - i][1], r[-1 - i][2], cl, wl, d) for i, (o, _, _, cl, wl, d) in enumerate(r)]
    c.add("ts-backwards-all.pcap", rebuild(raw, rev), 0, "-",
          one_conn + f" capture.first_ts={r[0][1]}.{r[0][2]:06d} capture.last_ts={last}")
    # Far ahead: from the seventh record on, the last second of 2038. The
    # twelve years of silence end the connection by the idle timeout; the
    # rest starts another.
    far = list(r)
    for i in range(6, 11):
        o, _, _, cl, wl, d = far[i]
        far[i] = (o, 0x7FFFFFFF, 999989 + i, cl, wl, d)
    c.add("ts-far-future.pcap", rebuild(raw, far), 0, "-",
          "capture.packets=11 capture.tcp_packets=11 capture.last_ts=2147483647.999999 "
          "summary.connections=2 connections.0.end=timeout capture.evicted.idle=1 "
          "connections.1.end=fin " + skips())
    # All bits set in the seconds or the microseconds (libpcap 1.10 reads
    # both as signed: a second before 1970, or a microsecond before).
    top = [(o, 0xFFFFFFFF, u, cl, wl, d) for o, _, u, cl, wl, d in r]
    c.add("ts-sec-all-ones.pcap", rebuild(raw, top), 0, "-",
          "capture.packets=11 capture.tcp_packets=11 " + skips())
    bad_us = [(o, s, 0xFFFFFFFF, cl, wl, d) for o, s, _, cl, wl, d in r]
    c.add("ts-usec-out-of-range.pcap", rebuild(raw, bad_us), 0, "-",
          "capture.packets=11 capture.tcp_packets=11 " + skips())
    zero = [(o, 0, 0, cl, wl, d) for o, _, _, cl, wl, d in r]
    c.add("ts-all-zero.pcap", rebuild(raw, zero), 0, "-", NORMAL_OK + " capture.first_ts=0")
    # Nanosecond pcap with the largest stamps.
    ns = pcap_header(magic=PCAP_MAGIC_NS)
    for _, _, _, cl, wl, d in r:
        ns += pcap_record(d, 0xFFFFFFFF, 0xFFFFFFFF, cl, wl)
    c.add("ts-far-future-nsec.pcap", ns, 0, "-",
          "capture.packets=11 capture.tcp_packets=11 " + skips())
    # pcapng's 64-bit stamps: the largest one, in microseconds, in seconds
    # (if_tsresol 0) and pushed further by if_tsoffset.
    for tag, idb, stamps in (
            ("max-usec", ng_idb(1), [2**64 - 1] * 11),
            ("max-sec", ng_idb(1, tsresol=0), [2**64 - 1 - i for i in range(11)]),
            ("offset", ng_idb(1, tsoffset=2**62), [i for i in range(11)]),
            ("neg-offset", ng_idb(1, tsoffset=-2**62), [i for i in range(11)]),
            ("jump", ng_idb(1, tsresol=0), [0, 2**63 + 5, 1, 2**64 - 1, 2, 3, 4, 5, 6, 7, 8])):
        body = ng_shb() + idb
        for (_, _, _, _, _, d), ts in zip(r, stamps):
            body += ng_epb(0, d, ts)
        c.add(f"ts-ng-{tag}.pcapng", body, 0, "-",
              "capture.packets=11 capture.tcp_packets=11 " + skips())


def pcapng_interfaces(c, raw, recs):
    """pcapng files with several interfaces."""
    pk = [d for _, _, _, _, _, d in recs]
    raw_ip = [d[ETH_IP:] for d in pk]
    # Same link type on two interfaces: one stream, every packet read.
    body = ng_shb() + ng_idb(1) + ng_idb(1)
    for i, d in enumerate(pk):
        body += ng_epb(i % 2, d, 1700000000000000 + i)
    c.add("ng-two-ethernet-interfaces.pcapng", body, 0, "-", NORMAL_OK)
    # Ethernet, raw IP and 802.11 interfaces described up front. libpcap
    # 1.10 gives a file one link type and refuses an interface of another
    # when it meets its description: nothing can be read, and the message
    # says which interface and how to split the file.
    body = ng_shb() + ng_idb(LINKTYPE_ETHERNET) + ng_idb(LINKTYPE_RAW) + \
        ng_idb(LINKTYPE_IEEE802_11)
    for i, d in enumerate(pk):
        body += ng_epb(0, d) + ng_epb(1, raw_ip[i]) + ng_epb(2, b"\x08\x00" + d[:30])
    c.add("ng-eth-raw-wifi-interfaces.pcapng", body, 2,
          "interface 1 is RAW (101), not EN10MB like the first")
    # The same with Linux cooked (SLL) in second place.
    body = ng_shb() + ng_idb(LINKTYPE_ETHERNET) + ng_idb(LINKTYPE_LINUX_SLL)
    sll = b"\x00\x00\x03\x04\x00\x06" + b"\x00" * 8 + b"\x08\x00"
    for i, d in enumerate(pk):
        body += ng_epb(0, d) + ng_epb(1, sll + raw_ip[i])
    c.add("ng-eth-sll-interfaces.pcapng", body, 2,
          "-Y \"frame.interface_id == 1\" -w T.pcapng && editcap -T linux-sll -F pcap")
    # The second interface is described after three packets: those three
    # are reported, then the refusal is said.
    body = ng_shb() + ng_idb(LINKTYPE_ETHERNET)
    for d in pk[:3]:
        body += ng_epb(0, d)
    body += ng_idb(LINKTYPE_RAW)
    for d, r_ in zip(pk[3:], raw_ip[3:]):
        body += ng_epb(0, d) + ng_epb(1, r_)
    c.add("ng-raw-interface-midway.pcapng", body, 0,
          "read error after packet 3: interface 1 is RAW (101), not EN10MB like the first",
          "capture.packets=3 capture.tcp_packets=3 summary.connections=1 " + skips())
    body = ng_shb() + ng_idb(LINKTYPE_ETHERNET)
    for d in pk[:5]:
        body += ng_epb(0, d)
    body += ng_idb(LINKTYPE_IEEE802_11) + ng_epb(1, b"\x08\x00" + b"\x00" * 40)
    c.add("ng-wifi-interface-midway.pcapng", body, 0,
          "interface 1 is IEEE802_11 (105), not EN10MB like the first",
          "capture.packets=5 capture.tcp_packets=5 " + skips())
    # The first interface is of a type tcplens does not decode.
    body = ng_shb() + ng_idb(LINKTYPE_IEEE802_11) + ng_idb(LINKTYPE_ETHERNET)
    for d in pk:
        body += ng_epb(1, d)
    c.add("ng-wifi-first-interface.pcapng", body, 2, "unsupported link type 105")
    # Raw IP only, across two interfaces. libpcap 1.10 maps the first
    # interface's LINKTYPE_RAW (101) to DLT_RAW (12), then compares the
    # second's 101 with that 12 and refuses it: said, with the way round it
    # (editcap writes the file as one pcap).
    body = ng_shb() + ng_idb(LINKTYPE_RAW) + ng_idb(LINKTYPE_RAW)
    for i, d in enumerate(raw_ip):
        body += ng_epb(i % 2, d, 1700000000000000 + i)
    c.add("ng-two-raw-interfaces.pcapng", body, 2,
          "libpcap refuses a second interface of link type 101 (RAW) though it is the first's")
    # One raw IP interface: read whole.
    body = ng_shb() + ng_idb(LINKTYPE_RAW)
    for d in raw_ip:
        body += ng_epb(0, d)
    c.add("ng-one-raw-interface.pcapng", body, 0, "-", NORMAL_OK)
    # Interfaces of one type but different snapshot lengths.
    body = ng_shb() + ng_idb(1, snaplen=0) + ng_idb(1, snaplen=96)
    for i, d in enumerate(pk):
        body += ng_epb(i % 2, d)
    c.add("ng-different-snaplens.pcapng", body, 2,
          "different from the snapshot length of the first interface")
    # A packet on an interface that was never described.
    body = ng_shb() + ng_idb(1)
    for d in pk[:4]:
        body += ng_epb(0, d)
    body += ng_epb(7, pk[4])
    c.add("ng-undescribed-interface.pcapng", body, 0,
          "no Interface Description Block for that interface",
          "capture.packets=4 capture.tcp_packets=4 " + skips())
    # An EPB whose caplen says more than the block holds.
    body = ng_shb() + ng_idb(1) + ng_epb(0, pk[0]) + ng_epb(0, pk[1], caplen=4000)
    c.add("ng-epb-caplen-past-block.pcapng", body, 0, "pcapng",
          "capture.packets=1 capture.tcp_packets=1 " + skips())
    # A block length that is not a multiple of 4, and one below the minimum.
    good = ng_shb() + ng_idb(1) + ng_epb(0, pk[0])
    odd = bytearray(ng_epb(0, pk[1]))
    struct.pack_into("<I", odd, 4, len(odd) - 1)
    c.add("ng-block-length-odd.pcapng", good + bytes(odd), 0, "pcapng",
          "capture.packets=1 capture.tcp_packets=1 " + skips())
    tiny = bytearray(ng_epb(0, pk[1]))
    struct.pack_into("<I", tiny, 4, 8)
    c.add("ng-block-length-tiny.pcapng", good + bytes(tiny), 0, "pcapng",
          "capture.packets=1 capture.tcp_packets=1 " + skips())


def garbage(c, raw):
    """Random bytes from a fixed seed, with less and less structure around
    them. Only the generic checks apply, and where the framing is known,
    the number of records read."""
    rng = random.Random(20240611)
    magics = {struct.pack("<I", m) for m in (PCAP_MAGIC_US, PCAP_MAGIC_NS)} | \
        {struct.pack(">I", m) for m in (PCAP_MAGIC_US, PCAP_MAGIC_NS)} | {b"\x0a\x0d\x0d\x0a"}
    for i in range(8):
        blob = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 3000)))
        assert blob[:4] not in magics
        c.add(f"garbage-bytes-{i}.bin", blob, 2, "unknown file format")
    # A good file header, then garbage: libpcap's framing meets nonsense.
    for i in range(4):
        blob = bytes(rng.getrandbits(8) for _ in range(rng.randint(16, 3000)))
        c.add(f"garbage-after-pcap-header-{i}.pcap", pcap_header() + blob, "any", "*")
        c.add(f"garbage-after-pcapng-idb-{i}.pcapng", ng_shb() + ng_idb(1) + blob, "any", "*")
    # Well-framed records of random bytes at every layer: every record is
    # read and each is either used or counted as skipped.
    def tcp_opts(b):
        words = b[1] % 11
        opts = b[2:42].ljust(40, b"\0")[:4 * words]
        return eth(ipv4(tcp_header(flags=b[0], doff=5 + words, options=opts) + b[42:]))

    layers = {
        "eth": lambda b: b,
        "eth-ipv4": lambda b: eth(bytes([0x40 | (b[0] & 15)]) + b[1:]),
        "ipv4-tcp": lambda b: eth(ipv4(b)),
        "ipv6-tcp": lambda b: eth(ipv6(6, b), 0x86DD),
        "ipv6-ext": lambda b: eth(ipv6(b[0] % 2 * 60, b), 0x86DD),
        "tcp-options": tcp_opts,
    }
    for tag, wrap in layers.items():
        body = pcap_header()
        n = 300
        for j in range(n):
            b = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 120)))
            b = b.ljust(2, b"\0")
            body += pcap_record(wrap(b), 1700000000 + j)
        c.add(f"garbage-records-{tag}.pcap", body, 0, "*", f"capture.packets={n}")
    # normal.pcap with random bytes changed, framing included.
    for i in range(6):
        b = bytearray(raw)
        for _ in range(1 + i * 4):
            b[rng.randrange(24, len(b))] = rng.getrandbits(8)
        c.add(f"garbage-flipped-normal-{i}.pcap", bytes(b), "any", "*")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: malformed-gen.py OUTDIR")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    raw, recs = read_pcap(os.path.join(SAMPLES, "normal.pcap"))
    assert len(recs) == 11 and all(cl == w for _, _, _, cl, w, _ in recs)
    c = Corpus(outdir)
    truncations(c, raw, recs)
    ng_truncations(c)
    lengths(c, raw, recs)
    ipv4_cases(c, raw, recs)
    tcp_cases(c, raw, recs)
    ipv6_cases(c)
    timestamp_cases(c, raw, recs)
    pcapng_interfaces(c, raw, recs)
    garbage(c, raw)
    c.finish()


if __name__ == "__main__":
    main()
