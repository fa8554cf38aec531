#!/usr/bin/env python3
"""Writes one TCP connection for tests/alloc-steady.sh: handshake, ROUNDS
request/response exchanges (10 and 20 bytes, each acknowledged by the
next), FIN handshake; 0.1 ms between frames, so no pause packs it.

Usage: steady_gen.py OUT.pcap ROUNDS

Not a claim about TCP states (the kernel scenarios are that): only a
connection whose data phase is as long as asked, to count allocations.
"""
import struct, sys
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b)//2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def frame(src, dst, sport, dport, seq, ack, flags, payload=b'', win=502):
    tcp = struct.pack('!HHIIBBHHH', sport, dport, seq & 0xffffffff, ack & 0xffffffff, 5 << 4, flags, win, 0, 0)
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp) + len(payload), 1, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    ph = src + dst + struct.pack('!BBH', 0, 6, len(tcp) + len(payload))
    tcp = tcp[:16] + struct.pack('!H', csum(ph + tcp + payload)) + tcp[18:]
    return b'\x02\0\0\0\0\x02' + b'\x02\0\0\0\0\x01' + b'\x08\x00' + ip + tcp + payload
def main(out, rounds):
    c, s = bytes([10,0,0,1]), bytes([10,0,0,2])
    cp, sp = 40000, 80
    ci, si = 1000, 5000
    t = [1700000000.0]
    recs = []
    def add(f):
        t[0] += 0.0001
        sec = int(t[0]); usec = int(round((t[0] - sec) * 1e6))
        recs.append(struct.pack('<IIII', sec, usec, len(f), len(f)) + f)
    S, A, F, P = 2, 16, 1, 8
    add(frame(c, s, cp, sp, ci, 0, S))
    add(frame(s, c, sp, cp, si, ci + 1, S | A))
    add(frame(c, s, cp, sp, ci + 1, si + 1, A))
    cs, ss = ci + 1, si + 1
    for i in range(rounds):
        add(frame(c, s, cp, sp, cs, ss, P | A, b'q' * 10)); cs += 10
        add(frame(s, c, sp, cp, ss, cs, P | A, b'r' * 20)); ss += 20
    add(frame(c, s, cp, sp, cs, ss, F | A)); cs += 1
    add(frame(s, c, sp, cp, ss, cs, F | A)); ss += 1
    add(frame(c, s, cp, sp, cs, ss, A))
    with open(out, 'wb') as fh:
        fh.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        fh.write(b''.join(recs))
main(sys.argv[1], int(sys.argv[2]))
