#!/usr/bin/env python3
"""Re-tag a capture per direction with 802.1Q VLAN ids (stdlib only).

    retag-vlan.py IN.pcap OUT.pcap [--c2s 10] [--s2c 20]

Every TCP frame gets an 802.1Q tag: VLAN --c2s (default 10) when it goes from
the connection's client to its server, --s2c (default 20) the other way, as a
tap or a router-on-a-stick that sees the two directions of one connection on
different VLANs would record them.  The client of a 4-tuple is the sender of
its first SYN (without ACK); without one, the endpoint with the higher port.
Other frames (the end-of-capture UDP datagram, ICMP) are left untagged.

The input is a pcap file (any timestamp precision, either byte order) of
link type Ethernet, Linux SLL/SLL2, BSD NULL/loopback or raw IP; the output
is always Ethernet (frames of other link types get an Ethernet header with
the locally administered MACs 02:00:00:00:00:01 for the client side and
:02 for the server side; Ethernet frames keep their MACs).  Timestamps,
order and payloads are unchanged; caplen and length grow by 4 for tagged
frames.  Deterministic: the same input gives the same output.

Used by tests/netns/kernel-lib.sh (option retag=vlan: scenario vlan_split).
"""

import argparse
import struct
import sys

VLAN_TPID = 0x8100
MAC_CLIENT = bytes.fromhex("020000000001")
MAC_SERVER = bytes.fromhex("020000000002")


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError("%s: too short for a pcap file" % path)
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise ValueError("%s: not a pcap file (magic %s; pcapng is not supported)"
                         % (path, magic.hex()))
    header = data[:24]
    linktype = struct.unpack(end + "I", data[20:24])[0] & 0x0FFFFFFF
    recs, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        recs.append([sec, frac, orig, data[off:off + incl]])
        off += incl
    return end, header, linktype, recs


def l3_of(linktype, frame):
    """-> (ethertype, offset of the L3 header) or None."""
    try:
        if linktype == 1:
            et, off = struct.unpack("!H", frame[12:14])[0], 14
            while et in (0x8100, 0x88A8):
                et, off = struct.unpack("!H", frame[off + 2:off + 4])[0], off + 4
            return et, off
        if linktype == 113:
            return struct.unpack("!H", frame[14:16])[0], 16
        if linktype == 276:
            return struct.unpack("!H", frame[0:2])[0], 20
        if linktype == 0:
            fam = struct.unpack("<I", frame[0:4])[0]
            if fam == 2:
                return 0x0800, 4
            if fam in (10, 24, 28, 30):
                return 0x86DD, 4
            return None
        if linktype in (12, 14, 101):
            v = frame[0] >> 4
            return (0x0800 if v == 4 else 0x86DD if v == 6 else None), 0
    except (IndexError, struct.error):
        return None
    return None


def tcp_endpoints(et, b, off):
    """-> ((src ip bytes, sport), (dst ip bytes, dport), flags) or None."""
    try:
        if et == 0x0800:
            ihl = (b[off] & 0x0F) * 4
            if b[off + 9] != 6 or struct.unpack("!H", b[off + 6:off + 8])[0] & 0x1FFF:
                return None
            src, dst, t = b[off + 12:off + 16], b[off + 16:off + 20], off + ihl
        elif et == 0x86DD:
            nh, src, dst, t = b[off + 6], b[off + 8:off + 24], b[off + 24:off + 40], off + 40
            while nh in (0, 43, 60):
                nh, t = b[t], t + (b[t + 1] + 1) * 8
            if nh != 6:
                return None
        else:
            return None
        sp, dp = struct.unpack("!HH", b[t:t + 4])
        return (bytes(src), sp), (bytes(dst), dp), b[t + 13]
    except (IndexError, struct.error):
        return None


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--c2s", type=int, default=10, help="VLAN id client->server")
    p.add_argument("--s2c", type=int, default=20, help="VLAN id server->client")
    a = p.parse_args()
    for v in (a.c2s, a.s2c):
        if not 0 < v < 4095:
            p.error("VLAN ids are 1..4094")
    end, header, lt, recs = read_pcap(a.input)
    parsed = []
    client = {}
    for r in recs:
        l3 = l3_of(lt, r[3])
        tcp = tcp_endpoints(l3[0], r[3], l3[1]) if l3 and l3[0] else None
        parsed.append((l3, tcp))
        if tcp:
            s, d, fl = tcp
            key = tuple(sorted((s, d)))
            if key not in client and fl & 0x12 == 0x02:
                client[key] = s
    out = [header[:20] + struct.pack(end + "I", 1)]
    ntag = {a.c2s: 0, a.s2c: 0}
    for r, (l3, tcp) in zip(recs, parsed):
        sec, frac, orig, frame = r
        if l3 is None or l3[0] is None:
            if lt != 1:
                print("retag-vlan: frame with unknown layer 3 dropped", file=sys.stderr)
                continue
            new = frame
        else:
            et, off = l3
            if lt == 1:
                dst_mac, src_mac = frame[0:6], frame[6:12]
            else:
                dst_mac, src_mac = MAC_SERVER, MAC_CLIENT
            tag = b""
            if tcp:
                s, d, _ = tcp
                key = tuple(sorted((s, d)))
                c = client.get(key, max((s, d), key=lambda e: e[1]))
                vid = a.c2s if s == c else a.s2c
                ntag[vid] += 1
                tag = struct.pack("!HH", VLAN_TPID, vid)
                if lt != 1 and s != c:
                    dst_mac, src_mac = MAC_CLIENT, MAC_SERVER
            if lt == 1:
                # keep the original tag stack; the new tag goes outermost
                new = dst_mac + src_mac + tag + frame[12:]
            else:
                new = dst_mac + src_mac + tag + struct.pack("!H", et) + frame[off:]
        grow = len(new) - len(frame)
        out.append(struct.pack(end + "IIII", sec, frac, len(new), orig + grow) + new)
    with open(a.output, "wb") as f:
        f.write(b"".join(out))
    print("retag-vlan: %s -> %s: %d frames, %d tagged VLAN %d (client->server), "
          "%d tagged VLAN %d (server->client)" % (a.input, a.output, len(out) - 1,
                                                   ntag[a.c2s], a.c2s, ntag[a.s2c], a.s2c),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
