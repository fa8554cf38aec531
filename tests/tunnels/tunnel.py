#!/usr/bin/env python3
"""One end of a tunnel in user space, for tests/tunnels.sh.

usage: tunnel.py KIND DEV ADDR/PREFIX LOCAL REMOTE [KEY]

Where the kernel has no device of a kind (no module for it), this stands
in for it: it makes a TUN (or, for kinds that carry Ethernet, a TAP)
device DEV with the inner address ADDR/PREFIX, then carries every packet
the kernel sends through DEV to REMOTE in KIND's encapsulation, and
writes every one that arrives from REMOTE into DEV. The kernel's TCP runs
over DEV as over any link; tcpdump on the underlay sees the
encapsulation, written here from the RFCs (tshark checks it, as an
independent decoder). Prints READY once DEV is up; runs until killed.

KIND: geneve (RFC 8926, an option included), gretap, gre (RFC 2890,
key and sequence number), ip6gre, ipip, sit, ip6tnl (IPv6 in IPv6),
gtpu (3GPP TS 29.281, a sequence number), teredo (RFC 4380), l2tp
(RFC 2661 data messages with a length, PPP inside).
"""
import fcntl
import os
import select
import socket
import struct
import subprocess
import sys

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_TAP, IFF_NO_PI = 0x0001, 0x0002, 0x1000

# kind: (carries Ethernet, outer family, "udp" or "raw", UDP port or IP protocol)
KINDS = {
    "geneve": (True, socket.AF_INET, "udp", 6081),
    "gretap": (True, socket.AF_INET, "raw", 47),
    "gre": (False, socket.AF_INET, "raw", 47),
    "ip6gre": (False, socket.AF_INET6, "raw", 47),
    "ipip": (False, socket.AF_INET, "raw", 4),
    "sit": (False, socket.AF_INET, "raw", 41),
    "ip6tnl": (False, socket.AF_INET6, "raw", 41),
    "gtpu": (False, socket.AF_INET, "udp", 2152),
    "teredo": (False, socket.AF_INET, "udp", 3544),
    "l2tp": (False, socket.AF_INET, "udp", 1701),
}


def ethertype(pkt):
    return 0x86DD if pkt[0] >> 4 == 6 else 0x0800


class Tunnel:
    def __init__(self, kind, key):
        self.kind, self.key, self.seq = kind, key, 0

    def encap(self, pkt):
        k, key = self.kind, self.key
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        if k == "geneve":
            opt = struct.pack("!HBB", 0x0102, 0x80, 1) + b"\x00\x00\x00\x2a"
            return struct.pack("!BBHI", len(opt) // 4, 0, 0x6558, key << 8) + opt + pkt
        if k == "gretap":
            return struct.pack("!HHI", 0x2000, 0x6558, key) + pkt
        if k == "gre":
            return struct.pack("!HHII", 0x3000, ethertype(pkt), key, self.seq) + pkt
        if k == "ip6gre":
            return struct.pack("!HHI", 0x2000, ethertype(pkt), key) + pkt
        if k == "gtpu":
            return struct.pack("!BBHIHBB", 0x32, 0xFF, len(pkt) + 4, key, self.seq & 0xFFFF, 0, 0) + pkt
        if k == "l2tp":
            ppp = b"\xff\x03" + struct.pack("!H", 0x0057 if pkt[0] >> 4 == 6 else 0x0021)
            return struct.pack("!HHHH", 0x4002, 8 + len(ppp) + len(pkt), 1, key & 0xFFFF) + ppp + pkt
        return pkt  # ipip, sit, ip6tnl, teredo: the packet as it is

    def decap(self, data):
        k = self.kind
        if k == "geneve":
            return data[8 + (data[0] & 0x3F) * 4:]
        if k in ("gretap", "gre", "ip6gre"):
            flags = struct.unpack("!H", data[:2])[0]
            n = 4 + 4 * bin(flags & 0xB000).count("1")
            return data[n:]
        if k == "gtpu":
            return data[12:] if data[0] & 0x07 else data[8:]
        if k == "l2tp":
            return data[12:]
        return data


def make_dev(name, tap):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    ifr = struct.pack("16sH", name.encode(), (IFF_TAP if tap else IFF_TUN) | IFF_NO_PI)
    fcntl.ioctl(fd, TUNSETIFF, ifr)
    return fd


def main():
    kind, dev, addr, local, remote = sys.argv[1:6]
    key = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    tap, fam, transport, num = KINDS[kind]
    fd = make_dev(dev, tap)
    extra = ["nodad"] if ":" in addr else []
    subprocess.run(["ip", "addr", "add", addr, "dev", dev] + extra, check=True)
    subprocess.run(["ip", "link", "set", dev, "mtu", "1400", "up"], check=True)
    if transport == "udp":
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((local, num))
        dest = (remote, num)
    else:
        s = socket.socket(fam, socket.SOCK_RAW, num)
        s.bind((local, 0))
        dest = (remote, 0) if fam == socket.AF_INET else (remote, 0, 0, 0)
    t = Tunnel(kind, key)
    print("READY", flush=True)
    while True:
        ready, _, _ = select.select([fd, s], [], [])
        if fd in ready:
            s.sendto(t.encap(os.read(fd, 65536)), dest)
        if s in ready:
            data, src = s.recvfrom(65536)
            if src[0] != remote:
                continue
            if transport == "raw" and fam == socket.AF_INET:
                data = data[(data[0] & 0x0F) * 4:]  # IPv4 raw sockets see the IP header
            inner = t.decap(data)
            if inner:
                os.write(fd, inner)


if __name__ == "__main__":
    main()
