#!/usr/bin/env python3
"""Real-socket TCP scenarios for tcplens kernel tests (stdlib only).

Run inside a private network namespace (see lib.sh / make-samples.sh); uses
127.0.0.1 / ::1 only.  Every scenario is bounded: all sockets have timeouts
and an overall SIGALRM (--timeout, default 20 s) aborts the process.

When a scenario is done it prints "READY-TO-STOP" and then, if --hold FILE is
given, waits (at most --hold-timeout s) until FILE exists or SIGUSR1/SIGTERM
arrives, and only then exits.  The driving shell stops its capture and ss
poll in between, so the capture ends before process exit closes anything
(this matters for close_wait, whose sockets are deliberately left open).

Progress lines "EVENT <epoch> <what>" go to stdout.  Exit status 0 means the
kernel behaved as the scenario expects (e.g. connect() refused, recv() reset).

Scenarios:
  normal       request/response; client closes first, then server
  ipv6         same as normal over ::1
  refused      connect to a port with no listener (SYN, RST/ACK)
  rst_unread   server close()s with unread data in its receive buffer -> RST
  linger0      client sets SO_LINGER {1,0} and close()s -> RST
  port_reuse   client binds a fixed port and connects twice to the same server
               port; the server closes first the first time so the SERVER
               holds the 4-tuple in TIME_WAIT when the second SYN (higher ISN)
               arrives and reuses it
  port_reuse_tw  same 4-tuple twice, but the CLIENT closes first and holds
               TIME_WAIT; the second connect() reuses it (needs
               net.ipv4.tcp_tw_reuse 1, or 2 = loopback only, and > 1 s gap)
  close_wait   client closes, server never closes: capture ends with the
               server in CLOSE_WAIT and the client in FIN_WAIT_2
"""

import argparse
import os
import select
import signal
import socket
import struct
import sys
import threading
import time

STEP = 0.05           # pause between protocol steps, keeps ACKs separate
SOCK_TIMEOUT = 5.0

REQUEST = b"GET /hello HTTP/1.0\r\nHost: tcplens.test\r\n\r\n"
BODY = b"hello from the tcplens sample server\n"
RESPONSE = (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
            b"Content-Length: %d\r\n\r\n" % len(BODY)) + BODY

_keep = []            # sockets that must stay open until process exit
_failures = []


def event(msg):
    print("EVENT %.6f %s" % (time.time(), msg), flush=True)


def fail(msg):
    _failures.append(msg)
    print("FAIL %s" % msg, flush=True)


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listener(host, port, backlog=16):
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(backlog)
    s.settimeout(SOCK_TIMEOUT)
    event("listen %s:%d" % (host, port))
    return s


def client_socket(host, bind_port=None):
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.settimeout(SOCK_TIMEOUT)
    if bind_port:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, bind_port))
    return s


def local(s):
    a = s.getsockname()
    return "%s:%d" % (a[0], a[1])


def recv_until(s, pred):
    """recv until pred(buf) is true or EOF; returns (buf, eof)."""
    buf = b""
    while not pred(buf):
        chunk = s.recv(4096)
        if not chunk:
            return buf, True
        buf += chunk
    return buf, False


def read_request(conn):
    buf, eof = recv_until(conn, lambda b: b"\r\n\r\n" in b)
    if eof and b"\r\n\r\n" not in buf:
        raise RuntimeError("EOF before full request (%d bytes)" % len(buf))
    return buf


def read_response(s):
    buf, eof = recv_until(s, lambda b: len(b) >= len(RESPONSE))
    if buf != RESPONSE:
        raise RuntimeError("bad response (%d bytes, eof=%s)" % (len(buf), eof))
    return buf


def expect_eof(s, who):
    data = s.recv(4096)
    if data:
        raise RuntimeError("%s: expected EOF, got %d bytes" % (who, len(data)))
    event("%s: read EOF (peer FIN)" % who)


class Server(threading.Thread):
    """Runs fn(listen_sock) in a thread; records exceptions as failures."""

    def __init__(self, lsock, fn):
        super().__init__(daemon=True)
        self.lsock, self.fn = lsock, fn

    def run(self):
        try:
            self.fn(self.lsock)
        except Exception as e:  # noqa: BLE001 - report everything
            fail("server: %r" % (e,))

    def finish(self, timeout=SOCK_TIMEOUT + 1):
        self.join(timeout)
        if self.is_alive():
            fail("server thread did not finish")


def settle(t=0.2):
    """Give the kernel time to exchange the last ACKs."""
    time.sleep(t)


# ------------------------------------------------------------------ scenarios

def sc_normal(a):
    host, port = a.host, a.port
    ls = listener(host, port)

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        event("server: accepted %s:%d" % peer[:2])
        read_request(conn)
        time.sleep(STEP)
        conn.sendall(RESPONSE)
        event("server: sent response")
        expect_eof(conn, "server")
        time.sleep(2 * STEP)
        conn.close()
        event("server: close() -> FIN (LAST_ACK)")

    srv = Server(ls, server)
    srv.start()
    c = client_socket(host)
    c.connect((host, port))
    event("client: connected from %s" % local(c))
    time.sleep(STEP)
    c.sendall(REQUEST)
    event("client: sent request")
    read_response(c)
    event("client: got response")
    time.sleep(STEP)
    c.close()
    event("client: close() -> FIN (active close, will be TIME_WAIT)")
    srv.finish()
    ls.close()
    settle()


def sc_refused(a):
    c = client_socket(a.host)
    try:
        c.connect((a.host, a.port))
        fail("connect to %s:%d succeeded" % (a.host, a.port))
    except ConnectionRefusedError:
        event("client: connect refused (RST) as expected")
    finally:
        c.close()
    settle(0.1)


def sc_rst_unread(a):
    host, port = a.host, a.port
    ls = listener(host, port)

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        event("server: accepted %s:%d" % peer[:2])
        r, _, _ = select.select([conn], [], [], SOCK_TIMEOUT)
        if not r:
            raise RuntimeError("no request arrived")
        time.sleep(2 * STEP)      # let the whole request arrive and be ACKed
        n = len(conn.recv(8, socket.MSG_PEEK))
        event("server: %d+ bytes unread; close() -> RST" % n)
        conn.close()

    srv = Server(ls, server)
    srv.start()
    c = client_socket(host)
    c.connect((host, port))
    event("client: connected from %s" % local(c))
    time.sleep(STEP)
    c.sendall(REQUEST)
    event("client: sent request, waiting for response")
    try:
        data = c.recv(4096)
        fail("client: expected ECONNRESET, got %r" % (data,))
    except ConnectionResetError:
        event("client: recv() -> ECONNRESET as expected")
    c.close()
    srv.finish()
    ls.close()
    settle()


def sc_linger0(a):
    host, port = a.host, a.port
    ls = listener(host, port)

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        event("server: accepted %s:%d" % peer[:2])
        read_request(conn)
        time.sleep(STEP)
        conn.sendall(RESPONSE)
        event("server: sent response")
        try:
            data = conn.recv(4096)
            fail("server: expected ECONNRESET, got %r" % (data,))
        except ConnectionResetError:
            event("server: recv() -> ECONNRESET as expected")
        conn.close()

    srv = Server(ls, server)
    srv.start()
    c = client_socket(host)
    c.connect((host, port))
    event("client: connected from %s" % local(c))
    time.sleep(STEP)
    c.sendall(REQUEST)
    read_response(c)
    event("client: got response")
    time.sleep(STEP)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    event("client: SO_LINGER{1,0} close() -> RST")
    srv.finish()
    ls.close()
    settle()


def sc_port_reuse(a):
    """Same 4-tuple twice; the server holds TIME_WAIT from connection 1."""
    host, port, cport = a.host, a.port, a.client_port

    def server(ls):
        for i in (1, 2):
            conn, peer = ls.accept()
            conn.settimeout(SOCK_TIMEOUT)
            event("server: conn %d accepted %s:%d" % (i, peer[0], peer[1]))
            read_request(conn)
            time.sleep(STEP)
            conn.sendall(RESPONSE)
            if i == 1:
                time.sleep(STEP)
                conn.close()
                event("server: conn 1 close() first -> server will hold TIME_WAIT")
            else:
                expect_eof(conn, "server conn 2")
                time.sleep(2 * STEP)
                conn.close()
                event("server: conn 2 close()")

    ls = listener(host, port)
    srv = Server(ls, server)
    srv.start()
    # connection 1: server closes first
    c = client_socket(host, cport)
    c.connect((host, port))
    event("client: conn 1 connected from %s" % local(c))
    time.sleep(STEP)
    c.sendall(REQUEST)
    read_response(c)
    expect_eof(c, "client conn 1")
    time.sleep(STEP)
    c.close()
    event("client: conn 1 close() (passive close, LAST_ACK)")
    time.sleep(a.gap)
    # connection 2: same local port, same server -> same 4-tuple
    c = client_socket(host, cport)
    c.connect((host, port))
    event("client: conn 2 connected from %s (same 4-tuple)" % local(c))
    time.sleep(STEP)
    c.sendall(REQUEST)
    read_response(c)
    time.sleep(STEP)
    c.close()
    event("client: conn 2 close() first -> client TIME_WAIT")
    srv.finish()
    ls.close()
    settle()


def sc_port_reuse_tw(a):
    """Same 4-tuple twice; the CLIENT holds TIME_WAIT and reuses it."""
    host, port, cport = a.host, a.port, a.client_port
    try:
        with open("/proc/sys/net/ipv4/tcp_tw_reuse") as f:
            event("net.ipv4.tcp_tw_reuse = %s" % f.read().strip())
    except OSError:
        pass

    def server(ls):
        for i in (1, 2):
            conn, peer = ls.accept()
            conn.settimeout(SOCK_TIMEOUT)
            event("server: conn %d accepted %s:%d" % (i, peer[0], peer[1]))
            read_request(conn)
            time.sleep(STEP)
            conn.sendall(RESPONSE)
            expect_eof(conn, "server conn %d" % i)
            time.sleep(2 * STEP)
            conn.close()

    ls = listener(host, port)
    srv = Server(ls, server)
    srv.start()
    for i in (1, 2):
        if i == 2:
            time.sleep(max(a.gap, 1.1))   # tw_reuse needs > 1 s since last TS
        c = client_socket(host, cport)
        c.connect((host, port))
        event("client: conn %d connected from %s" % (i, local(c)))
        time.sleep(STEP)
        c.sendall(REQUEST)
        read_response(c)
        time.sleep(STEP)
        c.close()
        event("client: conn %d close() first -> client TIME_WAIT" % i)
    srv.finish()
    ls.close()
    settle()


def sc_close_wait(a):
    host, port = a.host, a.port
    ls = listener(host, port)   # stays listening, like a leaky server would

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        _keep.append(conn)
        event("server: accepted %s:%d" % peer[:2])
        read_request(conn)
        time.sleep(STEP)
        conn.sendall(RESPONSE)
        expect_eof(conn, "server")
        event("server: never calls close() -> CLOSE_WAIT")

    srv = Server(ls, server)
    srv.start()
    c = client_socket(host)
    c.connect((host, port))
    event("client: connected from %s" % local(c))
    time.sleep(STEP)
    c.sendall(REQUEST)
    read_response(c)
    time.sleep(STEP)
    c.close()
    event("client: close() -> FIN; will sit in FIN_WAIT_2")
    srv.finish()
    _keep.append(ls)
    time.sleep(a.hold_open)


SCENARIOS = {
    "normal": (sc_normal, "127.0.0.1"),
    "ipv6": (sc_normal, "::1"),
    "refused": (sc_refused, "127.0.0.1"),
    "rst_unread": (sc_rst_unread, "127.0.0.1"),
    "linger0": (sc_linger0, "127.0.0.1"),
    "port_reuse": (sc_port_reuse, "127.0.0.1"),
    "port_reuse_tw": (sc_port_reuse_tw, "127.0.0.1"),
    "close_wait": (sc_close_wait, "127.0.0.1"),
}


# ------------------------------------------------------------------ driver

_released = threading.Event()


def _release(signum, frame):  # noqa: ARG001
    _released.set()


def _alarm(signum, frame):  # noqa: ARG001
    print("FAIL overall timeout (SIGALRM)", flush=True)
    os._exit(3)


def hold(path, timeout):
    deadline = time.monotonic() + timeout
    while not _released.is_set():
        if path and os.path.exists(path):
            return True
        if time.monotonic() > deadline:
            print("WARN hold timeout, exiting anyway", flush=True)
            return False
        time.sleep(0.01)
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--host", help="address (default 127.0.0.1, ::1 for ipv6)")
    p.add_argument("--port", type=int, default=8080, help="server port (default 8080)")
    p.add_argument("--client-port", type=int, default=40000,
                   help="fixed client port for port_reuse* (default 40000)")
    p.add_argument("--gap", type=float, default=0.3,
                   help="pause between the two port_reuse connections (s)")
    p.add_argument("--hold-open", type=float, default=1.0,
                   help="close_wait: seconds to keep CLOSE_WAIT before READY-TO-STOP")
    p.add_argument("--hold", metavar="FILE",
                   help="after READY-TO-STOP wait for FILE (or SIGUSR1) before exiting")
    p.add_argument("--hold-timeout", type=float, default=30.0)
    p.add_argument("--timeout", type=int, default=20,
                   help="overall alarm for the scenario itself (s)")
    a = p.parse_args()
    fn, default_host = SCENARIOS[a.scenario]
    if a.host is None:
        a.host = default_host
    if a.host not in ("127.0.0.1", "::1"):
        p.error("only 127.0.0.1 and ::1 are allowed")

    signal.signal(signal.SIGUSR1, _release)
    signal.signal(signal.SIGTERM, _release)
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(a.timeout)
    event("scenario %s start" % a.scenario)
    try:
        fn(a)
    except Exception as e:  # noqa: BLE001
        fail("%s: %r" % (a.scenario, e))
    signal.alarm(0)
    event("scenario %s done" % a.scenario)
    print("READY-TO-STOP", flush=True)
    if a.hold:
        hold(a.hold, a.hold_timeout)
    rc = 1 if _failures else 0
    sys.stdout.flush()
    # os._exit: no interpreter teardown; the kernel closes what is left open
    os._exit(rc)


if __name__ == "__main__":
    main()
