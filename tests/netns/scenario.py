#!/usr/bin/env python3
"""Real-socket TCP scenarios for tcplens kernel tests (stdlib only).

Run inside a private network namespace (see lib.sh / make-samples.sh); uses
127.0.0.1 / ::1 only (captured_twice: 192.0.2.1/.2 on a veth pair it creates
inside the namespace; pmtu_*: 10.77.1.1 here and 10.77.2.1 in the server's
namespace, which kernel-lib.sh's topo=router makes).  Every scenario is bounded: all sockets have timeouts
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

Scenarios for tests/kernel-states.sh (see docs/kernel-scenarios.md; the
driver sets the sysctls they need inside the namespace):
  server_first       request/response; the SERVER closes first (TIME_WAIT on
                     the server, LAST_ACK on the client)
  fin_ack_close      client closes first; the server close()s as soon as it
                     reads the EOF, so its FIN carries the (otherwise delayed)
                     ACK of the client's FIN: one FIN+ACK segment takes the
                     client from FIN_WAIT_1 to TIME_WAIT
  fin_wait2_reaped   client closes, server stays in CLOSE_WAIT for --wait s
                     (> net.ipv4.tcp_fin_timeout, so the client's orphaned
                     FIN_WAIT_2 is reaped), then writes -> RST
  write_after_close  client closes; server writes -> RST; writes again -> EPIPE
  syn_dropped        nft input drops SYNs to the (listening) port; connect()
                     retries until net.ipv4.tcp_syn_retries, then ETIMEDOUT
  backlog_full       listen(1), never accept(): two connections fill the
                     accept queue; a third one's handshake ACK (delayed by
                     TCP_DEFER_ACCEPT on that client) is dropped, so the
                     server retransmits SYN-ACKs while that client is
                     ESTABLISHED; a fourth client's SYNs are dropped
  close_before_accept  client connects, sends, closes while the connection
                     sits in the accept queue (CLOSE_WAIT); accepted --wait s
                     later, then closed (LAST_ACK)
  final_ack_dropped  client closes first; nft output drops the client's final
                     ACK once, so the server retransmits its FIN from LAST_ACK
  final_ack_lost_late  as final_ack_dropped, but nft input drops the client's
                     final ACK and the next three (after tcpdump saw them):
                     the capture shows the FIN handshake complete, then the
                     server's FIN retransmitted from LAST_ACK for 3 s, each
                     answered from TIME_WAIT, until the fifth ACK gets in
  fin_ack_lost_late  client closes first; nft input drops the server's ACK of
                     the client's FIN (after tcpdump saw it): the client
                     retransmits its FIN from FIN_WAIT_1, the server's second
                     ACK gets in; the server closes --wait s later
  simultaneous_close both close at once; a slow HTB class on lo holds both
                     FINs so they cross (CLOSING on both sides)
  half_close         client shutdown(SHUT_WR) after its request; the server
                     keeps sending data, then closes
  zero_window        small SO_RCVBUF, reader pauses --wait s: zero window and
                     window probes, then the reader drains and both close
  keepalive          TCP_KEEPIDLE/INTVL 1 s on the client, idle --wait s:
                     answered keepalive probes, then a normal close
  keepalive_timeout  as keepalive, but nft output drops the server's pure ACKs:
                     probes go unanswered, the client resets (ETIMEDOUT)
  midstream          one request/response, then GATE capture (the driver
                     starts tcpdump), a second request/response and a close
  synack_lost        nft output drops the client's handshake ACK once: the
                     server retransmits its SYN-ACK after 1 s, the client
                     (already ESTABLISHED) answers it with an ACK that
                     completes the handshake; it waits --wait s before its
                     request, then a normal client-first close

Scenarios for the data-phase and host-level anomalies (docs/anomalies.md):
  blackhole          after a request/response nft drops everything between the
                     two (client->server in input, after tcpdump saw it;
                     server->client in output, before): the client writes
                     (send() succeeds), retransmits with backoff and gives up
                     after net.ipv4.tcp_retries2 (ETIMEDOUT); then the path
                     comes back, the server writes, and the client host, with
                     no socket left, answers RST
  lossy              the server sends 48 KiB; nft input drops every 8th
                     full-size segment to the client (after tcpdump saw it):
                     SACK recovery, retransmissions, then a normal close
  scan               one client connect()s to 40 ports (50..89 of the run's
                     port block): 3 listen (reset at once, as a connect scan
                     does), 4 listen behind an nft SYN drop (left SYN_SENT),
                     33 are closed (RST)
  tw_pressure        150 short connections to one port, 0.5 ms apart, the
                     client closing first: TIME_WAIT piles up on the client

Default-sysctl and capture-shape scenarios (docs/kernel-scenarios.md):
  syn_blackhole_default  nft input drops SYNs to a listening port, all
                     sysctls at their defaults; --wait s (33) of capture with a
                     UDP datagram a second to port 9 (bound sink), the client
                     still connecting when the scenario ends
  syn_dropped_then_answered  nft input drops the first three SYNs (quota); the
                     fourth is answered, then request/response, client-first
                     close
  accept_overflow_default  listen(5), never accept(); seven clients: six fill
                     the accept queue, the seventh's SYNs are dropped; --wait s
                     (8.5) after the seventh connect()
  half_open_scan     raw-socket SYN scan (no TCP socket on the scanner side) of
                     ports 50..69 of the run's block from --client-port; 3
                     listen; answers toward the scanner pass a slow HTB class
                     so the request sockets live long enough for ss
  challenge_ack      SO_LINGER 0 close whose RST nft drops; reconnect from the
                     same port: the old ESTABLISHED server answers the SYN with
                     a challenge ACK, the client's RST kills it, the SYN is
                     re-sent and answered; client-first close
  captured_twice     normal over a veth pair with both ends in the namespace
                     (policy routing); with tcpdump -i any every frame is
                     captured twice (sent on one end, received on the other)

ICMP errors on a TCP connection (docs/kernel-scenarios.md):
  icmp_port_unreach  a listener behind an nft input rule that answers SYNs to
                     it with ICMP port unreachable: connect() ECONNREFUSED; a
                     slow HTB class holds the ICMP ~16 ms, so it arrives after
                     connect() released the socket
  icmp_admin_prohibited  the same with ICMP admin prohibited (code 13):
                     connect() EHOSTUNREACH
  icmp6_admin_prohibited  the same over ::1 with ICMPv6 administratively
                     prohibited: connect() EACCES
  icmp_router_ttl    nft drops the SYN (after tcpdump saw it); a raw socket
                     bound to 127.0.0.9 (a router on the path) sends ICMP time
                     exceeded quoting it: connect() EHOSTUNREACH
  icmp_established_soft  after a request/response nft rejects everything the
                     client sends with ICMP host unreachable: the client
                     retransmits until net.ipv4.tcp_retries2, then recv()
                     EHOSTUNREACH; the server stays ESTABLISHED
  icmp_host_unreach  as icmp_port_unreach with ICMP host unreachable (code
                     1): connect() EHOSTUNREACH
  icmp6_port_unreach  as icmp6_admin_prohibited with ICMPv6 port unreachable
                     (code 4): connect() ECONNREFUSED

Path MTU across a router (kernel-lib.sh topo=router: this namespace is the
client's, --router-netns and --server-netns name the others; the listener is
made in the server's):
  pmtu_icmp          the client sends --size (1400) bytes in one segment,
                     over the router's 1280-byte link toward the server: ICMP
                     fragmentation needed, the MSS falls to 1228, the data is
                     resent and answered; client-first close
  pmtu_blackhole     the same with the router's ICMP dropped (nft output in
                     its namespace): the segment is retransmitted until
                     net.ipv4.tcp_retries2 (recv() ETIMEDOUT); a short line
                     from the server every --wait s (1.25) passes, the first
                     one after that draws the client host's RST (ECONNRESET)

The capture's end known only from its Interface Statistics Block
(kernel-lib.sh capture=dumpcap: a pcapng by dumpcap, no end-of-capture
datagram; each ends with --wait s without a TCP packet):
  isb_syn_giveup     as syn_dropped (net.ipv4.tcp_syn_retries=2, and
                     tcp_syn_linear_timeouts=0: SYNs at 0, 1, 3 s), connect()
                     ETIMEDOUT at ~7 s, then --wait s (2.5)
  isb_stall_giveup   after a request/response nft drops everything on the
                     connection; one more write is retransmitted until
                     net.ipv4.tcp_retries2 (3): recv() ETIMEDOUT, no segment;
                     the server stays ESTABLISHED; then --wait s (2.0)
  isb_close_wait     close_wait, the capture stopping --wait s (7.0) after
                     the client's FIN
"""

import argparse
import ctypes
import errno
import os
import select
import signal
import socket
import struct
import subprocess
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


def read_sysctl(name):
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as f:
            return f.read().strip()
    except OSError:
        return "(absent)"


def log_sysctls(*names):
    for n in names:
        event("sysctl %s = %s" % (n, read_sysctl(n)))


def run_tool(argv, stdin=None):
    """Run nft/tc (inside our namespace) with a timeout; raise on failure."""
    r = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), r.returncode,
                                                    r.stderr.strip()))
    return r.stdout


NFT_TABLE = "tcplens_test"


def nft_table(body):
    """(Re)create table inet tcplens_test with BODY (chains, quotas)."""
    run_tool(["nft", "-f", "-"], "table inet %s {}\ndelete table inet %s\n"
             "table inet %s {\n%s\n}\n" % (NFT_TABLE, NFT_TABLE, NFT_TABLE, body))
    event("nft table %s: %s" % (NFT_TABLE, " ".join(body.split())))


def nft_counters():
    try:
        out = run_tool(["nft", "list", "table", "inet", NFT_TABLE])
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        return "(%s)" % e
    return "; ".join(l.strip() for l in out.splitlines() if "counter" in l or "used" in l)


def nft_drop_table():
    try:
        run_tool(["nft", "delete", "table", "inet", NFT_TABLE])
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        event("nft delete table: %s" % e)


def gate(a, name):
    """Print GATE NAME and wait until the driver opens it (HOLD.NAME exists)."""
    print("GATE %s" % name, flush=True)
    if not a.hold:
        return
    path = a.hold + "." + name
    deadline = time.monotonic() + a.hold_timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise RuntimeError("gate %s was not opened" % name)
        time.sleep(0.005)
    event("gate %s opened" % name)


def peer_port(conn):
    return conn.getpeername()[1]


# ------------------------------------------------------------------ scenarios

def sc_normal(a, client_host=None):
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
    if client_host:
        c.bind((client_host, 0))
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


# ------------------------------------------------- kernel-states scenarios

def sc_server_first(a):
    host, port = a.host, a.port
    ls = listener(host, port)

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        event("server: accepted %s:%d" % peer[:2])
        read_request(conn)
        time.sleep(STEP)
        conn.sendall(RESPONSE)
        time.sleep(STEP)
        conn.close()
        event("server: close() first -> FIN (active close, will be TIME_WAIT)")

    srv = Server(ls, server)
    srv.start()
    c = client_socket(host)
    c.connect((host, port))
    event("client: connected from %s" % local(c))
    time.sleep(STEP)
    c.sendall(REQUEST)
    read_response(c)
    expect_eof(c, "client")
    time.sleep(2 * STEP)
    c.close()
    event("client: close() -> FIN (passive close, LAST_ACK)")
    srv.finish()
    ls.close()
    settle()


def sc_fin_ack_close(a):
    host, port = a.host, a.port
    ls = listener(host, port)

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        event("server: accepted %s:%d" % peer[:2])
        read_request(conn)
        time.sleep(STEP)
        conn.sendall(RESPONSE)
        if conn.recv(4096):
            raise RuntimeError("server: expected EOF")
        conn.close()
        event("server: read EOF and close()d at once -> FIN+ACK")

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
    event("client: close() -> FIN")
    srv.finish()
    ls.close()
    settle()


def _expect_reset(conn, who):
    """The peer must answer our data with RST: in CLOSE_WAIT the kernel records
    EPIPE (ECONNRESET in other states) as the socket error; recv() would only
    report the EOF already seen, so read SO_ERROR."""
    deadline = time.monotonic() + SOCK_TIMEOUT
    while time.monotonic() < deadline:
        err = conn.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            if err in (errno.EPIPE, errno.ECONNRESET):
                event("%s: socket error %s (peer sent RST)" % (who, errno.errorcode[err]))
            else:
                fail("%s: socket error %s, expected EPIPE/ECONNRESET"
                     % (who, errno.errorcode.get(err, err)))
            return
        time.sleep(0.01)
    fail("%s: no RST within %ss" % (who, SOCK_TIMEOUT))


def sc_fin_wait2_reaped(a):
    host, port = a.host, a.port
    log_sysctls("net.ipv4.tcp_fin_timeout")
    ls = listener(host, port)

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        event("server: accepted %s:%d" % peer[:2])
        read_request(conn)
        time.sleep(STEP)
        conn.sendall(RESPONSE)
        expect_eof(conn, "server")
        event("server: CLOSE_WAIT; sleeping %.1fs so the peer's orphaned FIN_WAIT_2 "
              "is reaped" % a.wait)
        time.sleep(a.wait)
        conn.sendall(b"late data after the peer was reaped\n")
        event("server: wrote late data")
        _expect_reset(conn, "server")
        conn.close()

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
    event("client: close() -> FIN; orphaned FIN_WAIT_2 lives tcp_fin_timeout")
    srv.finish(a.wait + SOCK_TIMEOUT + 1)
    ls.close()
    settle()


def sc_write_after_close(a):
    host, port = a.host, a.port
    ls = listener(host, port)

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        event("server: accepted %s:%d" % peer[:2])
        read_request(conn)
        time.sleep(STEP)
        conn.sendall(RESPONSE)
        expect_eof(conn, "server")
        time.sleep(2 * STEP)
        conn.sendall(b"more data for a peer that has closed\n")
        event("server: wrote after the peer's close()")
        time.sleep(2 * STEP)
        try:
            conn.sendall(b"and more\n")
            fail("server: second write succeeded, expected EPIPE")
        except BrokenPipeError:
            event("server: second write -> EPIPE as expected")
        except ConnectionResetError:
            event("server: second write -> ECONNRESET (expected EPIPE)")
        conn.close()

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
    event("client: close() -> FIN")
    srv.finish()
    ls.close()
    settle()


def sc_syn_dropped(a):
    host, port = a.host, a.port
    log_sysctls("net.ipv4.tcp_syn_retries", "net.ipv4.tcp_syn_linear_timeouts")
    ls = listener(host, port)     # a listener exists; the firewall eats the SYNs
    nft_table("chain input { type filter hook input priority 0; policy accept;\n"
              "  tcp dport %d tcp flags & (syn | ack) == syn counter drop\n}" % port)
    c = client_socket(host)
    c.settimeout(None)            # the kernel's own SYN retry limit decides
    t0 = time.time()
    try:
        c.connect((host, port))
        fail("connect() succeeded through the SYN drop")
    except OSError as e:
        if e.errno == errno.ETIMEDOUT:
            event("client: connect() ETIMEDOUT after %.3fs" % (time.time() - t0))
        else:
            fail("client: connect() failed with %r, expected ETIMEDOUT" % (e,))
    finally:
        c.close()
        event("nft counters: %s" % nft_counters())
        nft_drop_table()
    ls.close()
    settle(0.1)


def sc_backlog_full(a):
    host, port = a.host, a.port
    log_sysctls("net.ipv4.tcp_syncookies", "net.ipv4.tcp_synack_retries",
                "net.core.somaxconn", "net.ipv4.tcp_abort_on_overflow")
    ls = listener(host, port, backlog=1)   # accept queue holds backlog+1 = 2
    _keep.append(ls)
    event("server: listen(1) and never accept()")
    # A: TCP_DEFER_ACCEPT on a client socket makes Linux delay the handshake
    # ACK (up to 200 ms, hoping to piggyback data): A's SYN is admitted while
    # the queue has room, its ACK arrives once B1 and B2 have filled it.
    ca = client_socket(host)
    ca.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 1)
    ca.connect((host, port))
    _keep.append(ca)
    event("client A: connect() returned (ESTABLISHED) from %s; its ACK is delayed"
          % local(ca))
    for name in ("B1", "B2"):
        cb = client_socket(host)
        cb.connect((host, port))
        _keep.append(cb)
        event("client %s: connected from %s (fills the accept queue)" % (name, local(cb)))
    time.sleep(0.5)
    event("client A's ACK was dropped by the full accept queue; SYN-ACKs follow")

    def client_c():
        cc = client_socket(host)
        cc.settimeout(None)
        _keep.append(cc)
        try:
            cc.connect((host, port))
            event("client C: connected?!")
        except OSError as e:
            event("client C: connect() -> %r" % (e,))

    threading.Thread(target=client_c, daemon=True).start()
    event("client C: connect() started; its SYNs meet a full accept queue")
    time.sleep(a.wait)


def sc_close_before_accept(a):
    host, port = a.host, a.port
    ls = listener(host, port, backlog=4)
    c = client_socket(host)
    c.connect((host, port))
    event("client: connected from %s (not accepted yet)" % local(c))
    time.sleep(STEP)
    c.sendall(REQUEST)
    time.sleep(STEP)
    c.close()
    event("client: close() -> FIN while the connection sits in the accept queue")
    time.sleep(a.wait)
    conn, peer = ls.accept()
    conn.settimeout(SOCK_TIMEOUT)
    event("server: accept() -> %s:%d, already in CLOSE_WAIT" % peer[:2])
    read_request(conn)
    expect_eof(conn, "server")
    time.sleep(STEP)
    conn.close()
    event("server: close() -> FIN (LAST_ACK)")
    ls.close()
    settle()


def lose_final_acks(a, hook, quota, bytes_, what):
    """Client closes first; just before the server closes, an nft rule in
    hook drops the client's next pure ACKs up to quota bytes (52 each):
    "output" drops them before tcpdump on lo sees them (real loss),
    "input" after (lost past the capture point)."""
    host, port = a.host, a.port
    ls = listener(host, port)

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        event("server: accepted %s:%d" % peer[:2])
        read_request(conn)
        time.sleep(STEP)
        conn.sendall(RESPONSE)
        expect_eof(conn, "server")
        time.sleep(2 * STEP)
        nft_table('quota %s { until %d bytes }\n'
                  'chain %s { type filter hook %s priority 0; policy accept;\n'
                  '  tcp sport %d tcp dport %d tcp flags == ack quota name "%s" '
                  'counter drop\n}' % (quota, bytes_, hook, hook, peer_port(conn), port, quota))
        conn.close()
        event("server: close() -> FIN (LAST_ACK); %s" % what)

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
    event("client: close() -> FIN (will be TIME_WAIT)")
    srv.finish()
    time.sleep(a.wait)
    event("nft counters: %s" % nft_counters())
    nft_drop_table()
    ls.close()
    settle()


def sc_final_ack_dropped(a):
    # The final ACK, answering the server's FIN, lost before the capture
    # point: the quota lets exactly one pure ACK (52/72 bytes) be dropped.
    lose_final_acks(a, "output", "once", 100, "the final ACK will be lost")


def sc_final_ack_lost_late(a):
    # The final ACK and the three the client's TIME_WAIT sends for the
    # retransmitted FINs, lost past the capture point: the quota takes four
    # 52-byte ACKs, not a fifth.
    lose_final_acks(a, "input", "acks", 210, "four final ACKs will be lost")


def sc_fin_ack_lost_late(a):
    host, port = a.host, a.port
    ls = listener(host, port)

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        event("server: accepted %s:%d" % peer[:2])
        read_request(conn)
        time.sleep(STEP)
        conn.sendall(RESPONSE)
        expect_eof(conn, "server")
        time.sleep(a.wait)
        conn.close()
        event("server: close() -> FIN (LAST_ACK)")

    srv = Server(ls, server)
    srv.start()
    c = client_socket(host)
    c.connect((host, port))
    event("client: connected from %s" % local(c))
    time.sleep(STEP)
    c.sendall(REQUEST)
    read_response(c)
    time.sleep(STEP)
    # The server's next pure ACK (of the client's FIN) is dropped in INPUT,
    # after tcpdump on lo saw it: lost past the capture point.  The quota
    # takes one 52-byte ACK, as in final_ack_dropped.
    nft_table('quota acks { until 100 bytes }\n'
              'chain input { type filter hook input priority 0; policy accept;\n'
              '  tcp sport %d tcp dport %d tcp flags == ack quota name "acks" '
              'counter drop\n}' % (port, c.getsockname()[1]))
    c.close()
    event("client: close() -> FIN (FIN_WAIT_1 until an ACK gets in)")
    srv.finish()
    event("nft counters: %s" % nft_counters())
    nft_drop_table()
    ls.close()
    settle()


def sc_simultaneous_close(a):
    host, port = a.host, a.port
    if family_of(host) != socket.AF_INET:
        raise RuntimeError("simultaneous_close: IPv4 only (u32 filter)")
    # everything of this connection goes through one slow HTB class (FIFO):
    # once a primer segment has emptied its bucket, both FINs wait in the
    # queue, so each FIN is sent before the other one arrives.
    run_tool(["tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb",
              "default", "1"])
    try:
        run_tool(["tc", "class", "add", "dev", "lo", "parent", "1:", "classid", "1:1",
                  "htb", "rate", "10gbit"])
        run_tool(["tc", "class", "add", "dev", "lo", "parent", "1:", "classid", "1:2",
                  "htb", "rate", "32kbit", "burst", "10", "cburst", "10"])
        for d in ("dport", "sport"):
            run_tool(["tc", "filter", "add", "dev", "lo", "parent", "1:", "protocol",
                      "ip", "prio", "1", "u32", "match", "ip", d, str(port), "0xffff",
                      "flowid", "1:2"])
        event("tc: HTB class 1:2 at 32kbit, burst 10 bytes, for port %d" % port)
        ls = listener(host, port)
        c = client_socket(host)
        c.connect((host, port))
        event("client: connected from %s" % local(c))
        conn, _ = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        c.sendall(REQUEST)
        read_request(conn)
        conn.sendall(RESPONSE)
        read_response(c)
        time.sleep(0.3)
        primer = b"p" * 300
        c.sendall(primer)
        buf, _ = recv_until(conn, lambda b: len(b) >= len(primer))
        event("primer: %d bytes sent, the slow class is now in debt ~90 ms" % len(buf))
        go = threading.Event()

        def closer():
            go.wait(SOCK_TIMEOUT)
            conn.close()
            event("server: close() -> FIN")

        t = threading.Thread(target=closer)
        t.start()
        go.set()
        c.close()
        event("client: close() -> FIN")
        t.join(SOCK_TIMEOUT)
        time.sleep(0.5)
        ls.close()
    finally:
        try:
            run_tool(["tc", "qdisc", "del", "dev", "lo", "root"])
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            event("tc qdisc del: %s" % e)
    settle()


def sc_half_close(a):
    host, port = a.host, a.port
    ls = listener(host, port)

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        event("server: accepted %s:%d" % peer[:2])
        read_request(conn)
        expect_eof(conn, "server")
        for i in range(4):
            time.sleep(STEP)
            conn.sendall(b"chunk %d of the response after the client's FIN\n" % i)
        event("server: sent 4 chunks after the client's FIN")
        time.sleep(STEP)
        conn.close()
        event("server: close() -> FIN")

    srv = Server(ls, server)
    srv.start()
    c = client_socket(host)
    c.connect((host, port))
    event("client: connected from %s" % local(c))
    time.sleep(STEP)
    c.sendall(REQUEST)
    time.sleep(STEP)
    c.shutdown(socket.SHUT_WR)
    event("client: shutdown(SHUT_WR) -> FIN, still reading")
    buf, eof = recv_until(c, lambda b: False)
    event("client: read %d bytes, eof=%s" % (len(buf), eof))
    time.sleep(STEP)
    c.close()
    srv.finish()
    ls.close()
    settle()


def sc_zero_window(a):
    host, port = a.host, a.port
    total = 16 * 1024
    ls = socket.socket(family_of(host), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # inherited
    ls.bind((host, port))
    ls.listen(4)
    ls.settimeout(SOCK_TIMEOUT)
    got = []

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        event("server: accepted %s:%d, rcvbuf %d; not reading for %.1fs" % (
            peer[0], peer[1], conn.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF),
            a.wait))
        time.sleep(a.wait)
        event("server: reading again")
        buf, eof = recv_until(conn, lambda b: False)
        got.append(len(buf))
        event("server: read %d bytes, eof=%s" % (len(buf), eof))
        time.sleep(STEP)
        conn.close()

    srv = Server(ls, server)
    srv.start()
    c = client_socket(host)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    c.settimeout(a.wait + SOCK_TIMEOUT)
    c.connect((host, port))
    event("client: connected from %s, sending %d bytes" % (local(c), total))
    c.sendall(b"z" * total)
    event("client: all data accepted by the kernel")
    time.sleep(STEP)
    c.close()
    event("client: close() -> FIN")
    srv.finish(a.wait + SOCK_TIMEOUT + 1)
    if got and got[0] != total:
        fail("server read %d bytes, want %d" % (got[0], total))
    ls.close()
    settle()


def _keepalive_opts(s, idle, intvl, cnt):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, intvl)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, cnt)
    event("client: SO_KEEPALIVE, TCP_KEEPIDLE %d, TCP_KEEPINTVL %d, TCP_KEEPCNT %d"
          % (idle, intvl, cnt))


def sc_keepalive(a):
    host, port = a.host, a.port
    ls = listener(host, port)

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(a.wait + SOCK_TIMEOUT)
        event("server: accepted %s:%d" % peer[:2])
        read_request(conn)
        conn.sendall(RESPONSE)
        expect_eof(conn, "server")
        time.sleep(2 * STEP)
        conn.close()

    srv = Server(ls, server)
    srv.start()
    c = client_socket(host)
    _keepalive_opts(c, 1, 1, 3)
    c.connect((host, port))
    event("client: connected from %s" % local(c))
    c.sendall(REQUEST)
    read_response(c)
    event("client: idle for %.1fs (keepalive probes)" % a.wait)
    time.sleep(a.wait)
    c.close()
    event("client: close() -> FIN")
    srv.finish(a.wait + SOCK_TIMEOUT + 1)
    ls.close()
    settle()


def sc_keepalive_timeout(a):
    host, port = a.host, a.port
    ls = listener(host, port)

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(a.timeout)
        event("server: accepted %s:%d" % peer[:2])
        read_request(conn)
        conn.sendall(RESPONSE)
        time.sleep(2 * STEP)
        # the server's answers to keepalive probes are pure ACKs: drop them in
        # OUTPUT (they never reach the wire), as if the server were gone
        nft_table("chain output { type filter hook output priority 0; policy accept;\n"
                  "  tcp sport %d tcp flags == ack counter drop\n}" % port)
        try:
            data = conn.recv(4096)
            fail("server: expected a reset, got %r" % (data,))
        except ConnectionResetError:
            event("server: recv() -> ECONNRESET (client gave up)")
        conn.close()

    srv = Server(ls, server)
    srv.start()
    c = client_socket(host)
    _keepalive_opts(c, 1, 1, 2)
    c.connect((host, port))
    event("client: connected from %s" % local(c))
    c.sendall(REQUEST)
    read_response(c)
    c.settimeout(None)
    t0 = time.time()
    try:
        data = c.recv(4096)
        fail("client: expected ETIMEDOUT, got %r" % (data,))
    except OSError as e:
        if e.errno == errno.ETIMEDOUT:
            event("client: recv() ETIMEDOUT after %.3fs (keepalive gave up, RST sent)"
                  % (time.time() - t0))
        else:
            fail("client: recv() -> %r, expected ETIMEDOUT" % (e,))
    c.close()
    srv.finish()
    event("nft counters: %s" % nft_counters())
    nft_drop_table()
    ls.close()
    settle()


def sc_midstream(a):
    host, port = a.host, a.port
    ls = listener(host, port)

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(a.hold_timeout + SOCK_TIMEOUT)
        event("server: accepted %s:%d" % peer[:2])
        for _ in range(2):
            read_request(conn)
            time.sleep(STEP)
            conn.sendall(RESPONSE)
        expect_eof(conn, "server")
        time.sleep(2 * STEP)
        conn.close()
        event("server: close() -> FIN")

    srv = Server(ls, server)
    srv.start()
    c = client_socket(host)
    c.connect((host, port))
    event("client: connected from %s" % local(c))
    c.sendall(REQUEST)
    read_response(c)
    event("client: first exchange done; waiting for the capture to start")
    gate(a, "capture")
    time.sleep(STEP)
    c.sendall(REQUEST)
    read_response(c)
    time.sleep(STEP)
    c.close()
    event("client: close() -> FIN")
    srv.finish()
    ls.close()
    settle()


def sc_synack_lost(a):
    host, port = a.host, a.port
    ls = listener(host, port)
    # The client's first pure ACK to the server port -- the one completing
    # the handshake -- is dropped in OUTPUT, before tcpdump on lo sees it
    # (real loss).  The quota lets exactly one pure ACK (52/72 bytes) be
    # dropped; the client's next one passes.
    nft_table('quota once { until 100 bytes }\n'
              'chain output { type filter hook output priority 0; policy accept;\n'
              '  tcp dport %d tcp flags == ack quota name "once" counter drop\n}' % port)
    accepted = []

    def server(ls):
        conn, peer = ls.accept()
        accepted.append(time.time())
        conn.settimeout(SOCK_TIMEOUT)
        event("server: accepted %s:%d" % peer[:2])
        read_request(conn)
        time.sleep(STEP)
        conn.sendall(RESPONSE)
        expect_eof(conn, "server")
        time.sleep(2 * STEP)
        conn.close()
        event("server: close() -> FIN (LAST_ACK)")

    srv = Server(ls, server)
    srv.start()
    c = client_socket(host)
    t0 = time.time()
    c.connect((host, port))
    event("client: connected from %s (its handshake ACK is lost)" % local(c))
    # the server's SYN-ACK retransmission (after its 1 s initial RTO) draws
    # a second ACK from the client, which completes the handshake
    time.sleep(a.wait)
    if not accepted:
        fail("the server did not accept within %.1f s" % a.wait)
    elif accepted[0] - t0 < 0.5:
        fail("accepted after %.3f s: the handshake ACK was not lost" % (accepted[0] - t0))
    else:
        event("server accepted %.3f s after connect()" % (accepted[0] - t0))
    c.sendall(REQUEST)
    read_response(c)
    time.sleep(STEP)
    c.close()
    event("client: close() -> FIN (active close, will be TIME_WAIT)")
    srv.finish()
    event("nft counters: %s" % nft_counters())
    nft_drop_table()
    ls.close()
    settle()


# ----------------------------------- data-phase and host-level scenarios

def sc_blackhole(a):
    """The path between client and server dies after a request/response:
    the client's segments are dropped in input (tcpdump on lo saw them, as a
    capture at the client would), the server's in output (never seen)."""
    host, port = a.host, a.port
    log_sysctls("net.ipv4.tcp_retries2")
    ls = listener(host, port)
    up, back = threading.Event(), threading.Event()

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        event("server: accepted %s:%d" % peer[:2])
        read_request(conn)
        conn.sendall(RESPONSE)
        up.set()
        if not back.wait(a.timeout):
            raise RuntimeError("the path never came back")
        conn.sendall(b"late data once the path is back\n")
        event("server: wrote once the path was back")
        _expect_reset(conn, "server")
        conn.close()

    srv = Server(ls, server)
    srv.start()
    c = client_socket(host)
    c.connect((host, port))
    cport = c.getsockname()[1]
    event("client: connected from %s" % local(c))
    c.sendall(REQUEST)
    read_response(c)
    up.wait(SOCK_TIMEOUT)
    time.sleep(STEP)
    nft_table("chain input { type filter hook input priority 0; policy accept;\n"
              "  tcp sport %d tcp dport %d counter drop\n}\n"
              "chain output { type filter hook output priority 0; policy accept;\n"
              "  tcp sport %d tcp dport %d counter drop\n}" % (cport, port, port, cport))
    for i in range(3):
        c.sendall(b"write %d into the blackhole\n" % i)
        event("client: send() %d succeeded" % i)
        time.sleep(0.1)
    c.settimeout(None)          # the kernel's tcp_retries2 decides
    t0 = time.time()
    try:
        data = c.recv(4096)
        fail("client: expected ETIMEDOUT, got %r" % (data,))
    except OSError as e:
        if e.errno == errno.ETIMEDOUT:
            event("client: recv() ETIMEDOUT after %.3fs (tcp_retries2 exhausted, "
                  "nothing sent)" % (time.time() - t0))
        else:
            fail("client: recv() -> %r, expected ETIMEDOUT" % (e,))
    event("nft counters: %s" % nft_counters())
    nft_drop_table()
    event("path restored")
    time.sleep(0.3)
    back.set()
    srv.finish()
    c.close()
    ls.close()
    settle()


def sc_lossy(a):
    host, port = a.host, a.port
    total = 48 * 1024
    ls = listener(host, port)

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        event("server: accepted %s:%d" % peer[:2])
        read_request(conn)
        # every 8th full-size segment to the client is lost after the
        # capture point (input hook: tcpdump on lo has seen it)
        nft_table("chain input { type filter hook input priority 0; policy accept;\n"
                  "  tcp sport %d ip length > 1000 numgen inc mod 8 == 7 counter drop\n}"
                  % port)
        conn.sendall(b"d" * total)
        event("server: sent %d bytes" % total)
        expect_eof(conn, "server")
        time.sleep(2 * STEP)
        conn.close()

    srv = Server(ls, server)
    srv.start()
    c = client_socket(host)
    c.connect((host, port))
    event("client: connected from %s" % local(c))
    c.sendall(REQUEST)
    buf, eof = recv_until(c, lambda b: len(b) >= total)
    if len(buf) != total:
        fail("client: read %d bytes, want %d (eof=%s)" % (len(buf), total, eof))
    event("client: read %d bytes; nft counters: %s" % (len(buf), nft_counters()))
    time.sleep(STEP)
    c.close()
    srv.finish()
    nft_drop_table()
    ls.close()
    settle()


def sc_scan(a):
    """A connect scan of 40 ports; the ports are 60..99 of the run's block
    (the tracepoint filter covers the block; 0..59 are the scenarios' own
    server ports)."""
    host = a.host
    ports = [a.port // 100 * 100 + 60 + i for i in range(40)]
    open_ports, filtered = {ports[7], ports[23], ports[31]}, ports[-4:]
    for p in sorted(open_ports) + filtered:
        _keep.append(listener(host, p, backlog=8))
    nft_table("chain input { type filter hook input priority 0; policy accept;\n"
              "  tcp dport { %s } tcp flags & (syn | ack) == syn counter drop\n}"
              % ", ".join(str(p) for p in filtered))
    socks = []
    for p in ports:                 # the filtered ones last: their SYN
        s = socket.socket(family_of(host), socket.SOCK_STREAM)   # retries
        s.setblocking(False)        # come after the capture stopped
        socks.append((p, s, s.connect_ex((host, p))))
        time.sleep(0.002)
    time.sleep(0.1)
    n = {"open": 0, "refused": 0, "pending": 0}
    for p, s, _ in socks:
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        try:
            s.getpeername()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            n["open"] += 1
        except OSError:
            if err == errno.ECONNREFUSED:
                s.close()
                n["refused"] += 1
            else:
                _keep.append(s)      # still SYN_SENT when the capture stops
                n["pending"] += 1
    event("client: scanned %d ports: %d open (reset), %d refused, %d unanswered"
          % (len(ports), n["open"], n["refused"], n["pending"]))
    if (n["open"], n["refused"], n["pending"]) != (3, 33, 4):
        fail("scan: expected 3 open, 33 refused, 4 unanswered")


def sc_tw_pressure(a):
    host, port = a.host, a.port
    count, gap = 150, 0.0005
    ls = listener(host, port, backlog=512)

    def server(ls):
        for _ in range(count):
            conn, _peer = ls.accept()
            conn.settimeout(SOCK_TIMEOUT)
            if conn.recv(64):
                raise RuntimeError("server: expected EOF")
            conn.close()

    srv = Server(ls, server)
    srv.start()
    t0 = time.time()
    for _ in range(count):
        c = client_socket(host)
        c.connect((host, port))
        c.close()
        time.sleep(gap)
    event("client: %d connections in %.3f s, each closed first (TIME_WAIT)"
          % (count, time.time() - t0))
    srv.finish()
    ls.close()
    settle()


# ------------------------------------------- default-sysctl and wire scenarios

TICK_PORT = 9          # UDP sink: the driver's end-of-capture datagram goes here


def udp_sink(host):
    """Bind the UDP port the ticks (and the driver's end-of-capture datagram)
    go to, so they draw no ICMP port unreachable."""
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    s.bind((host, TICK_PORT))
    _keep.append(s)
    return s


def sc_syn_blackhole_default(a):
    """SYNs to a listening port silently dropped, every sysctl at its default;
    a UDP datagram a second shows the capture going on (--wait s)."""
    host, port = a.host, a.port
    log_sysctls("net.ipv4.tcp_syn_retries", "net.ipv4.tcp_syn_linear_timeouts")
    ls = listener(host, port)
    _keep.append(ls)
    nft_table("chain input { type filter hook input priority 0; policy accept;\n"
              "  tcp dport %d tcp flags & (syn | ack) == syn counter drop\n}" % port)
    udp_sink(host)
    tick = socket.socket(family_of(host), socket.SOCK_DGRAM)
    res = {}

    def client():
        c = client_socket(host)
        c.settimeout(None)            # the kernel's own SYN retry limit decides
        _keep.append(c)
        res["t0"] = time.time()
        try:
            c.connect((host, port))
            res["err"] = "connected?!"
        except OSError as e:
            res["err"] = repr(e)
        res["t1"] = time.time()
        event("client: connect() -> %s after %.3f s" % (res["err"], res["t1"] - res["t0"]))

    threading.Thread(target=client, daemon=True).start()
    t0 = time.time()
    event("client: connect() started; a UDP datagram to port %d every second" % TICK_PORT)
    n, end = 0, t0 + a.wait
    while time.time() < end:
        if time.time() >= t0 + n:
            tick.sendto(b"tick %d" % n, (host, TICK_PORT))
            n += 1
        time.sleep(max(0.0, min(t0 + n, end) - time.time()))
    event("%d ticks sent; nft counters: %s" % (n, nft_counters()))
    if "t1" in res:
        event("client gave up %.3f s after connect()" % (res["t1"] - res["t0"]))
        if "connected" in res["err"]:
            fail("connect() succeeded through the SYN drop")
    else:
        event("client: still connecting (SYN_SENT) %.3f s after connect()"
              % (time.time() - res.get("t0", t0)))


def sc_syn_dropped_then_answered(a):
    """The first three SYNs of one connect() are dropped (nft input, after
    tcpdump saw them), the fourth is answered: one connection, then a normal
    client-first close."""
    host, port = a.host, a.port
    log_sysctls("net.ipv4.tcp_syn_retries", "net.ipv4.tcp_syn_linear_timeouts")
    ls = listener(host, port)
    # an IPv4 SYN here is 60 bytes: 60, 120, 180 < 200 match, 240 does not
    nft_table('quota three { until 200 bytes }\n'
              'chain input { type filter hook input priority 0; policy accept;\n'
              '  tcp dport %d tcp flags & (syn | ack) == syn quota name "three" '
              'counter drop\n}' % port)

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        event("server: accepted %s:%d" % peer[:2])
        read_request(conn)
        time.sleep(STEP)
        conn.sendall(RESPONSE)
        expect_eof(conn, "server")
        time.sleep(2 * STEP)
        conn.close()
        event("server: close() -> FIN (LAST_ACK)")

    ls.settimeout(SOCK_TIMEOUT + 5)
    srv = Server(ls, server)
    srv.start()
    c = client_socket(host)
    c.settimeout(SOCK_TIMEOUT + 5)
    t0 = time.time()
    c.connect((host, port))
    dt = time.time() - t0
    event("client: connected from %s %.3f s after connect()" % (local(c), dt))
    if dt < 2.5:
        fail("connected after %.3f s: the first three SYNs were not all dropped" % dt)
    event("nft counters: %s" % nft_counters())
    nft_drop_table()
    time.sleep(STEP)
    c.sendall(REQUEST)
    read_response(c)
    time.sleep(STEP)
    c.close()
    event("client: close() -> FIN (active close, will be TIME_WAIT)")
    srv.finish()
    ls.close()
    settle()


def sc_accept_overflow_default(a):
    """listen(5), seven clients, never accept(); default sysctls."""
    host, port = a.host, a.port
    log_sysctls("net.ipv4.tcp_syncookies", "net.ipv4.tcp_synack_retries",
                "net.core.somaxconn", "net.ipv4.tcp_abort_on_overflow")
    ls = listener(host, port, backlog=5)   # accept queue holds backlog+1 = 6
    _keep.append(ls)
    event("server: listen(5) and never accept()")
    socks = []
    for i in range(7):
        s = socket.socket(family_of(host), socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((host, port))
        _keep.append(s)
        socks.append(s)
        time.sleep(0.05)
        try:
            s.getpeername()
            event("client %d: connected from %s" % (i + 1, local(s)))
        except OSError:
            event("client %d: %s still connecting (SYN_SENT)" % (i + 1, local(s)))
    time.sleep(a.wait)
    n = 0
    for s in socks:
        try:
            s.getpeername()
            n += 1
        except OSError:
            pass
    event("%d of 7 clients connected after %.1f s" % (n, a.wait))
    if n != 6:
        fail("expected 6 connected clients (accept queue backlog+1), got %d" % n)


SYN_FLAG, RST_FLAG, ACK_FLAG = 0x02, 0x04, 0x10


def _csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _syn_probe(src, dst, sport, dport, seq):
    """An nmap-like SYN: window 1024, MSS 1460, correct checksum."""
    opts = struct.pack("!BBH", 2, 4, 1460)
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, (5 + len(opts) // 4) << 4,
                      SYN_FLAG, 1024, 0, 0) + opts
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(hdr))
    c = _csum(pseudo + hdr)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:]



def sc_half_open_scan(a):
    """A half-open SYN scan from a raw socket (no TCP socket on the scanner's
    side) of 20 ports, 50..69 of the run's block; 3 listen.  Answers to the
    scanner's port go through a slow HTB class (a slow link toward the
    scanner), so the listeners' request sockets live long enough for ss."""
    host = a.host
    if family_of(host) != socket.AF_INET:
        raise RuntimeError("half_open_scan: IPv4 only")
    sport = a.client_port
    ports = [a.port // 100 * 100 + 50 + i for i in range(20)]
    open_ports = {ports[6], ports[12], ports[17]}   # late in the order: long-lived
    for p in sorted(open_ports):
        _keep.append(listener(host, p, backlog=8))
    run_tool(["tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb",
              "default", "1"])
    try:
        run_tool(["tc", "class", "add", "dev", "lo", "parent", "1:", "classid", "1:1",
                  "htb", "rate", "10gbit"])
        # 4 kbit/s: an answer (54-58 bytes on lo) leaves every ~110 ms, so the
        # request sockets live 0.6-1.8 s: ss sees them even on a loaded machine
        run_tool(["tc", "class", "add", "dev", "lo", "parent", "1:", "classid", "1:2",
                  "htb", "rate", "4kbit", "burst", "10", "cburst", "10"])
        run_tool(["tc", "filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip",
                  "prio", "1", "u32", "match", "ip", "protocol", "6", "0xff",
                  "match", "ip", "dport", str(sport), "0xffff", "flowid", "1:2"])
        event("tc: HTB class 1:2 at 4kbit, burst 10 bytes, for TCP to port %d" % sport)
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        _keep.append(raw)
        isn = 0x5CA90000
        for i, p in enumerate(ports):
            raw.sendto(_syn_probe(host, host, sport, p, isn + i), (host, 0))
            time.sleep(0.002)
        event("scanner: %d SYNs sent from raw socket, port %d" % (len(ports), sport))
        synack, rst, kernel_rst = set(), set(), set()
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and (len(synack) + len(rst) < len(ports) or
                                               len(kernel_rst) < len(synack)):
            r, _, _ = select.select([raw], [], [], 0.05)
            if not r:
                continue
            pkt = raw.recv(2048)
            ihl = (pkt[0] & 0x0F) * 4
            sp, dp = struct.unpack("!HH", pkt[ihl:ihl + 4])
            fl = pkt[ihl + 13]
            if dp == sport and sp in ports:
                if fl & SYN_FLAG and fl & ACK_FLAG:
                    synack.add(sp)
                elif fl & RST_FLAG:
                    rst.add(sp)
            elif sp == sport and dp in ports and fl & RST_FLAG:
                kernel_rst.add(dp)
        event("scanner: %d open (SYN-ACK: %s), %d closed (RST); the scanner's kernel "
              "reset %d SYN-ACKs" % (len(synack), sorted(synack), len(rst), len(kernel_rst)))
        if synack != open_ports or len(rst) != 17 or kernel_rst != open_ports:
            fail("scan: expected SYN-ACKs and kernel RSTs from %s, 17 RSTs"
                 % sorted(open_ports))
    finally:
        try:
            run_tool(["tc", "qdisc", "del", "dev", "lo", "root"])
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            event("tc qdisc del: %s" % e)
    settle()


def sc_challenge_ack(a):
    """The client aborts (SO_LINGER 0) while nft drops its RST, reconnects
    from the same port: challenge ACK, RST, SYN retry, new connection."""
    host, port, cport = a.host, a.port, a.client_port
    log_sysctls("net.ipv4.tcp_challenge_ack_limit", "net.ipv4.tcp_invalid_ratelimit")
    ls = listener(host, port)
    reset = threading.Event()

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        event("server: conn 1 accepted %s:%d" % peer[:2])
        read_request(conn)
        time.sleep(STEP)
        conn.sendall(RESPONSE)
        try:
            data = conn.recv(4096)
            fail("server: conn 1 expected ECONNRESET, got %r" % (data,))
        except ConnectionResetError:
            reset.set()
            event("server: conn 1 recv() -> ECONNRESET (the RST answering the "
                  "challenge ACK)")
        conn.close()
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        event("server: conn 2 accepted %s:%d" % peer[:2])
        read_request(conn)
        time.sleep(STEP)
        conn.sendall(RESPONSE)
        expect_eof(conn, "server conn 2")
        time.sleep(2 * STEP)
        conn.close()
        event("server: conn 2 close() -> FIN (LAST_ACK)")

    srv = Server(ls, server)
    srv.start()
    c = client_socket(host, cport)
    c.connect((host, port))
    event("client: conn 1 connected from %s" % local(c))
    time.sleep(STEP)
    c.sendall(REQUEST)
    read_response(c)
    time.sleep(STEP)
    # the abort's RST is dropped in OUTPUT, before tcpdump on lo: the server
    # never learns, and keeps its ESTABLISHED socket
    nft_table("chain output { type filter hook output priority 0; policy accept;\n"
              "  tcp sport %d tcp dport %d tcp flags & rst == rst counter drop\n}"
              % (cport, port))
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    event("client: conn 1 SO_LINGER{1,0} close(); its RST is dropped")
    event("nft counters: %s" % nft_counters())
    nft_drop_table()
    time.sleep(2 * STEP)
    c = client_socket(host, cport)
    t0 = time.time()
    c.connect((host, port))
    dt = time.time() - t0
    event("client: conn 2 connected from %s %.3f s after connect()" % (local(c), dt))
    # the SYN met the old ESTABLISHED socket: challenge ACK, the client's RST
    # killed it, and the SYN went again (Linux re-arms the SYN timer at
    # TCP_TIMEOUT_MIN after an unacceptable ACK in SYN_SENT, not after 1 s)
    if not reset.wait(1.0):
        fail("conn 1's server socket was not reset before conn 2 connected")
    time.sleep(STEP)
    c.sendall(REQUEST)
    read_response(c)
    time.sleep(STEP)
    c.close()
    event("client: conn 2 close() -> FIN (active close, will be TIME_WAIT)")
    srv.finish()
    ls.close()
    settle()


VETH = ("tlva", "tlvb")
VETH_ADDR = ("192.0.2.1", "192.0.2.2")      # client, server (TEST-NET-1)


def veth_loop():
    """A veth pair with both ends in this namespace, client address on one end,
    server address on the other, and policy routing so traffic between them
    leaves by one end and comes in by the other (not through lo): a capture
    on `any` sees every frame twice (sent on one end, received on the other)."""
    (va, vb), (ca, sa) = VETH, VETH_ADDR
    ip = ["ip"]
    # no IPv6 on the pair: its link-up MLD reports would be noise in the capture
    run_tool(["sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1"])
    run_tool(ip + ["link", "add", va, "type", "veth", "peer", "name", vb])
    for dev, addr in ((va, ca), (vb, sa)):
        run_tool(ip + ["addr", "add", addr + "/32", "dev", dev])
        run_tool(ip + ["link", "set", dev, "up"])
        subprocess.run(["ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off"],
                       capture_output=True, timeout=10)
    for k in ("all", "default", va, vb):
        run_tool(["sysctl", "-q", "-w", "net.ipv4.conf.%s.accept_local=1" % k,
                  "net.ipv4.conf.%s.rp_filter=0" % k])
    mac = {}
    for dev in (va, vb):
        with open("/sys/class/net/%s/address" % dev) as f:
            mac[dev] = f.read().strip()
    run_tool(ip + ["neigh", "replace", sa, "lladdr", mac[vb], "dev", va, "nud", "permanent"])
    run_tool(ip + ["neigh", "replace", ca, "lladdr", mac[va], "dev", vb, "nud", "permanent"])
    run_tool(ip + ["route", "add", sa, "dev", va, "src", ca, "table", "100"])
    run_tool(ip + ["route", "add", ca, "dev", vb, "src", sa, "table", "101"])
    run_tool(ip + ["rule", "add", "pref", "100", "iif", va, "lookup", "local"])
    run_tool(ip + ["rule", "add", "pref", "101", "iif", vb, "lookup", "local"])
    run_tool(ip + ["rule", "add", "pref", "200", "from", ca, "to", sa, "lookup", "100"])
    run_tool(ip + ["rule", "add", "pref", "201", "from", sa, "to", ca, "lookup", "101"])
    run_tool(ip + ["rule", "add", "pref", "300", "lookup", "local"])
    run_tool(ip + ["rule", "del", "pref", "0"])
    event("veth %s (%s) <-> %s (%s), routed through the pair" % (va, ca, vb, sa))


def sc_captured_twice(a):
    """client_first between two addresses of a veth pair whose ends are both
    in this namespace; the driver captures on `any`, so every frame is in the
    capture twice."""
    veth_loop()
    sc_normal(a, client_host=VETH_ADDR[0])


# --------------------------------------------- ICMP errors on a TCP connection

TCPI_STATE = {1: "ESTABLISHED", 2: "SYN_SENT", 7: "CLOSED"}


def tcpi_state(s):
    """The kernel's state of socket s (struct tcp_info's first byte)."""
    st = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
    return TCPI_STATE.get(st, str(st))


def icmp_counters():
    """ICMP-related MIB counters of this namespace, as one line."""
    want = {"TcpExt": ("LockDroppedIcmps", "OutOfWindowIcmps", "TCPLossProbes",
                       "TCPTimeouts", "TCPAbortOnTimeout"),
            "Tcp": ("RetransSegs",),
            "Icmp": ("InDestUnreachs", "InTimeExcds", "OutDestUnreachs"),
            "Icmp6": ("Icmp6InDestUnreachs", "Icmp6OutDestUnreachs")}
    got = {}
    for path in ("/proc/net/netstat", "/proc/net/snmp"):
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for k, v in zip(lines[0::2], lines[1::2]):
            k, v = k.split(), v.split()
            for name, val in zip(k[1:], v[1:]):
                if name in want.get(k[0][:-1], ()):
                    got[name] = val
    try:
        with open("/proc/net/snmp6") as f:
            for line in f:
                name, _, val = line.partition(" ")
                if name in want["Icmp6"]:
                    got[name] = val.strip()
    except OSError:
        pass
    return " ".join("%s=%s" % (n, got[n]) for g in want.values() for n in g if n in got)


def icmp_delay_class(host, port):
    """One slow HTB class (32 kbit/s, burst 10 bytes) for TCP to port and for
    ICMP/ICMPv6 on lo: the SYN leaves at once and puts the class in debt, so
    the ICMP answering it waits ~16-21 ms in the queue.  Without the wait the
    ICMP would come back inside connect() itself (loopback delivers in the
    same system call), while connect() still holds the socket: tcp_v4_err()
    then only notes the error (LockDroppedIcmps, sk_err_soft) and the socket
    stays SYN_SENT."""
    v6 = family_of(host) == socket.AF_INET6
    run_tool(["tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb",
              "default", "1"])
    run_tool(["tc", "class", "add", "dev", "lo", "parent", "1:", "classid", "1:1",
              "htb", "rate", "10gbit"])
    run_tool(["tc", "class", "add", "dev", "lo", "parent", "1:", "classid", "1:2",
              "htb", "rate", "32kbit", "burst", "10", "cburst", "10"])
    if v6:
        matches = (["ip6", "protocol", "6", "0xff", "match", "ip6", "dport", str(port),
                    "0xffff"], ["ip6", "protocol", "58", "0xff"])
    else:
        matches = (["ip", "protocol", "6", "0xff", "match", "ip", "dport", str(port),
                    "0xffff"], ["ip", "protocol", "1", "0xff"])
    for m in matches:
        run_tool(["tc", "filter", "add", "dev", "lo", "parent", "1:", "protocol",
                  "ipv6" if v6 else "ip", "prio", "1", "u32", "match"] + m +
                 ["flowid", "1:2"])
    event("tc: HTB class 1:2 at 32kbit, burst 10 bytes, for TCP to port %d and %s"
          % (port, "ICMPv6" if v6 else "ICMP"))


def icmp_reject_syn(a, reject, want_errno):
    """A listener behind an nft input rule that answers SYNs to it with an
    ICMP error (reject with REJECT); connect() must fail with want_errno and
    the kernel must have closed the socket itself (tcp_v4_err/tcp_v6_err)."""
    host, port = a.host, a.port
    ls = listener(host, port)
    _keep.append(ls)
    event("icmp counters before: %s" % icmp_counters())
    icmp_delay_class(host, port)
    try:
        nft_table("chain input { type filter hook input priority 0; policy accept;\n"
                  "  tcp dport %d tcp flags & (syn | ack) == syn counter reject with %s\n}"
                  % (port, reject))
        c = client_socket(host)
        _keep.append(c)
        t0 = time.time()
        try:
            c.connect((host, port))
            fail("connect() succeeded through the reject rule")
        except OSError as e:
            dt = time.time() - t0
            if e.errno == want_errno:
                event("client: connect() %s after %.3f s (%s)" % (
                    errno.errorcode[e.errno], dt, os.strerror(e.errno)))
            else:
                fail("client: connect() -> %r after %.3f s, expected %s"
                     % (e, dt, errno.errorcode[want_errno]))
        st = tcpi_state(c)
        event("client: socket state %s before close()" % st)
        if st != "CLOSED":
            fail("the ICMP error did not close the socket (state %s)" % st)
        event("nft counters: %s" % nft_counters())
        event("icmp counters after: %s" % icmp_counters())
        nft_drop_table()
        settle(0.1)
    finally:
        try:
            run_tool(["tc", "qdisc", "del", "dev", "lo", "root"])
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            event("tc qdisc del: %s" % e)


def sc_icmp_port_unreach(a):
    icmp_reject_syn(a, "icmp type port-unreachable", errno.ECONNREFUSED)


def sc_icmp_admin_prohibited(a):
    icmp_reject_syn(a, "icmp type admin-prohibited", errno.EHOSTUNREACH)


def sc_icmp6_admin_prohibited(a):
    icmp_reject_syn(a, "icmpv6 type admin-prohibited", errno.EACCES)


def sc_icmp_host_unreach(a):
    icmp_reject_syn(a, "icmp type host-unreachable", errno.EHOSTUNREACH)


def sc_icmp6_port_unreach(a):
    icmp_reject_syn(a, "icmpv6 type port-unreachable", errno.ECONNREFUSED)


def sc_icmp6_addr_unreach(a):
    # ICMPv6 destination unreachable code 3: icmpv6_err_convert() maps it to
    # EHOSTUNREACH, fatal; tcp_v6_err() ends a SYN_SENT socket on it
    icmp_reject_syn(a, "icmpv6 type addr-unreachable", errno.EHOSTUNREACH)


ROUTER = "127.0.0.9"        # icmp_router_ttl: the router that sends time exceeded


def _sniff_syn(sniffer, host, port, deadline):
    """The first SYN to host:port seen on lo (AF_PACKET, IPv4): its IP header
    and TCP header, as bytes, and the sequence number."""
    dst = socket.inet_aton(host)
    while time.monotonic() < deadline:
        r, _, _ = select.select([sniffer], [], [], 0.05)
        if not r:
            continue
        pkt = sniffer.recv(65535)
        if len(pkt) < 40 or pkt[0] >> 4 != 4 or pkt[9] != 6 or pkt[16:20] != dst:
            continue
        ihl = (pkt[0] & 0x0F) * 4
        dp, = struct.unpack("!H", pkt[ihl + 2:ihl + 4])
        fl, thl = pkt[ihl + 13], (pkt[ihl + 12] >> 4) * 4
        if dp == port and fl & SYN_FLAG and not fl & ACK_FLAG:
            seq, = struct.unpack("!I", pkt[ihl + 4:ihl + 8])
            return pkt[:ihl], pkt[ihl:ihl + thl], seq
    return None


def _time_exceeded(iphdr, tcphdr):
    """ICMP time exceeded in transit (type 11, code 0) quoting the datagram as
    the router that dropped it received it: TTL 1, header checksum redone,
    then the whole TCP header."""
    quoted = bytearray(iphdr)
    quoted[8], quoted[10:12] = 1, b"\0\0"
    quoted[10:12] = struct.pack("!H", _csum(bytes(quoted)))
    msg = struct.pack("!BBHI", 11, 0, 0, 0) + bytes(quoted) + tcphdr
    return msg[:2] + struct.pack("!H", _csum(msg)) + msg[4:]


def sc_icmp_router_ttl(a):
    """The client's SYN never reaches the listener (nft input drop, after
    tcpdump saw it); a router on the path (ROUTER, a raw socket) answers it
    with an ICMP time exceeded quoting the SYN: connect() EHOSTUNREACH."""
    host, port = a.host, a.port
    if family_of(host) != socket.AF_INET:
        raise RuntimeError("icmp_router_ttl: IPv4 only")
    ls = listener(host, port)
    _keep.append(ls)
    event("icmp counters before: %s" % icmp_counters())
    nft_table("chain input { type filter hook input priority 0; policy accept;\n"
              "  tcp dport %d tcp flags & (syn | ack) == syn counter drop\n}" % port)
    sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    sniffer.bind(("lo", 0x0800))
    router = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    router.bind((ROUTER, 0))
    _keep.extend((sniffer, router))
    c = client_socket(host)
    c.setblocking(False)
    _keep.append(c)
    t0 = time.time()
    rc = c.connect_ex((host, port))
    if rc != errno.EINPROGRESS:
        raise RuntimeError("connect_ex -> %s" % errno.errorcode.get(rc, rc))
    event("client: connect() from %s in progress (SYN_SENT)" % local(c))
    syn = _sniff_syn(sniffer, host, port, time.monotonic() + 0.9)
    if syn is None:
        raise RuntimeError("the client's SYN was not seen on lo")
    iphdr, tcphdr, isn = syn
    time.sleep(STEP)
    router.sendto(_time_exceeded(iphdr, tcphdr), (host, 0))
    event("router %s: ICMP time exceeded (11/0) sent, quoting the SYN (seq %d, "
          "%d+%d bytes)" % (ROUTER, isn, len(iphdr), len(tcphdr)))
    _, w, _ = select.select([], [c], [], 0.8)
    err = c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    dt = time.time() - t0
    if not w:
        fail("client: connect() still in progress %.3f s after the ICMP" % dt)
    elif err == errno.EHOSTUNREACH:
        event("client: connect() %s after %.3f s (%s)" % (
            errno.errorcode[err], dt, os.strerror(err)))
    else:
        fail("client: connect() -> %s after %.3f s, expected EHOSTUNREACH"
             % (errno.errorcode.get(err, err), dt))
    st = tcpi_state(c)
    event("client: socket state %s before close()" % st)
    if st != "CLOSED":
        fail("the ICMP error did not close the socket (state %s)" % st)
    event("nft counters: %s" % nft_counters())
    event("icmp counters after: %s" % icmp_counters())
    nft_drop_table()
    settle(0.1)


def sc_icmp_established_soft(a):
    """After a request/response, nft rejects everything the client sends on
    the connection with ICMP host unreachable (input hook, after tcpdump saw
    the segment).  In ESTABLISHED an ICMP error is soft: the client keeps
    retransmitting until net.ipv4.tcp_retries2, then its recv() fails with
    the ICMP's error (EHOSTUNREACH), not ETIMEDOUT.  The server never learns
    and stays ESTABLISHED."""
    host, port = a.host, a.port
    log_sysctls("net.ipv4.tcp_retries2")
    ls = listener(host, port)
    done = threading.Event()

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        _keep.append(conn)          # open until the capture stopped
        event("server: accepted %s:%d" % peer[:2])
        read_request(conn)
        time.sleep(STEP)
        conn.sendall(RESPONSE)
        event("server: sent response; keeps the connection open")
        done.set()

    srv = Server(ls, server)
    srv.start()
    c = client_socket(host)
    c.connect((host, port))
    cport = c.getsockname()[1]
    event("client: connected from %s" % local(c))
    time.sleep(STEP)
    c.sendall(REQUEST)
    read_response(c)
    event("client: got response")
    done.wait(SOCK_TIMEOUT)
    time.sleep(2 * STEP)            # the client's ACK of the response went out
    event("icmp counters before: %s" % icmp_counters())
    nft_table("chain input { type filter hook input priority 0; policy accept;\n"
              "  ip saddr %s tcp sport %d tcp dport %d counter reject with icmp type "
              "host-unreachable\n}" % (host, cport, port))
    c.sendall(b"a second request, into the reject rule\n")
    event("client: send() succeeded")
    c.settimeout(a.timeout)         # tcp_retries2 decides; the alarm bounds it
    t0 = time.time()
    try:
        data = c.recv(4096)
        fail("client: expected EHOSTUNREACH, got %r" % (data,))
    except OSError as e:
        dt = time.time() - t0
        if e.errno == errno.EHOSTUNREACH:
            event("client: recv() %s after %.3f s (%s; tcp_retries2 exhausted, the "
                  "soft error reported)" % (errno.errorcode[e.errno], dt,
                                            os.strerror(e.errno)))
        else:
            fail("client: recv() -> %r after %.3f s, expected EHOSTUNREACH" % (e, dt))
    st = tcpi_state(c)
    event("client: socket state %s before close()" % st)
    if st != "CLOSED":
        fail("client socket still %s after the error" % st)
    _keep.append(c)
    event("nft counters: %s" % nft_counters())
    event("icmp counters after: %s" % icmp_counters())
    nft_drop_table()
    srv.finish()
    ls.close()
    settle(0.1)


# ------------------------------------------- path MTU (three namespaces)

PMTU_CLIENT, PMTU_ROUTER, PMTU_SERVER = "10.77.1.1", "10.77.1.254", "10.77.2.1"
# pmtu6_icmp (kernel-lib.sh topo=router6): the same wiring over IPv6
PMTU6_CLIENT, PMTU6_ROUTER, PMTU6_SERVER = "fd77:1::1", "fd77:1::fe", "fd77:2::1"
PMTU_MTU = 1280                 # the router's link toward the server
CLONE_NEWNET = 0x40000000


class netns:
    """with netns(NAME): this thread is in network namespace NAME (ip netns
    add's /run/netns/NAME) inside the block; sockets made there stay in it."""

    def __init__(self, name):
        self.name = name

    def _setns(self, fd):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns(%s): %s" % (self.name, os.strerror(e)))

    def __enter__(self):
        self.home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        fd = os.open("/run/netns/" + self.name, os.O_RDONLY)
        try:
            self._setns(fd)
        finally:
            os.close(fd)
        return self

    def __exit__(self, *exc):
        try:
            self._setns(self.home)
        finally:
            os.close(self.home)


def ns_counters(ns, names):
    """MIB counters (/proc/net/snmp, /proc/net/netstat) of namespace ns (None:
    this process's)."""
    out = run_tool((["ip", "netns", "exec", ns] if ns else []) +
                   ["cat", "/proc/net/snmp", "/proc/net/netstat"])
    lines, got = out.splitlines(), {}
    for k, v in zip(lines[0::2], lines[1::2]):
        for name, val in zip(k.split()[1:], v.split()[1:]):
            got.setdefault(name, val)
    if any(n.startswith(("Icmp6", "Ip6", "Tcp6")) for n in names):
        # /proc/net/snmp6: one "name value" pair a line
        out = run_tool((["ip", "netns", "exec", ns] if ns else []) +
                       ["cat", "/proc/net/snmp6"])
        for line in out.splitlines():
            f = line.split()
            if len(f) == 2:
                got.setdefault(f[0], f[1])
    return " ".join("%s=%s" % (n, got.get(n, "?")) for n in names)


PMTU_CLIENT_MIB = ("InDestUnreachs", "RetransSegs", "TCPTimeouts", "TCPLossProbes",
                   "TCPAbortOnTimeout", "LockDroppedIcmps", "Icmp6InPktTooBigs")
PMTU_ROUTER_MIB = ("OutDestUnreachs", "ForwDatagrams")
PMTU6_ROUTER_MIB = ("Icmp6OutPktTooBigs", "Ip6OutForwDatagrams")


def tcp_mss(s):
    return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)


def route_mtu(dst):
    """The client's route to dst, cached PMTU included (ip route get)."""
    return " ".join(run_tool(["ip", "-o", "route", "get", dst]).split())


def pmtu_request(n):
    """An n-byte HTTP request whose Content-Length is right."""
    head = b"POST /upload HTTP/1.0\r\nHost: tcplens.test\r\nContent-Length: %d\r\n\r\n"
    for k in range(n, -1, -1):
        if len(head % k) + k == n:
            return head % k + b"x" * k
    raise ValueError("no %d-byte request" % n)


def pmtu_addrs(a):
    """(client, router, server) of the scenario's topology, by its family."""
    if a.host == PMTU6_SERVER:
        return PMTU6_CLIENT, PMTU6_ROUTER, PMTU6_SERVER
    return PMTU_CLIENT, PMTU_ROUTER, PMTU_SERVER


def pmtu_common(a):
    if not (a.router_netns and a.server_netns):
        raise RuntimeError("%s needs --router-netns and --server-netns (kernel-lib.sh "
                           "topo=router)" % a.scenario)
    client, router, server = pmtu_addrs(a)
    event("client %s (this namespace), router %s (%s), server %s (%s); route: %s" % (
        client, router, a.router_netns, server, a.server_netns, route_mtu(server)))
    with netns(a.server_netns):
        ls = listener(server, a.port)
    return ls


def sc_pmtu_icmp(a):
    """The client writes a request bigger than the router's link toward the
    server; the router answers the full-sized segment with ICMP fragmentation
    needed (mtu 1280), the client lowers its MSS, resends in smaller segments
    and the exchange completes; client-first close.  pmtu6_icmp: the same
    over IPv6, where the router sends ICMPv6 packet too big (mtu 1280)."""
    host, port = pmtu_addrs(a)[2], a.port
    hdrs = 60 if family_of(host) == socket.AF_INET6 else 40   # IP + TCP
    req = pmtu_request(a.size)
    ls = pmtu_common(a)
    event("client counters before: %s" % ns_counters(None, PMTU_CLIENT_MIB))

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        event("server: accepted %s:%d" % peer[:2])
        buf, eof = recv_until(conn, lambda b: len(b) >= len(req))
        if buf != req:
            raise RuntimeError("server: got %d bytes (eof=%s), expected %d"
                               % (len(buf), eof, len(req)))
        event("server: read the %d-byte request" % len(buf))
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
    event("client: connected from %s, MSS %d" % (local(c), tcp_mss(c)))
    time.sleep(STEP)
    t0 = time.time()
    c.sendall(req)
    event("client: send() of %d bytes returned" % len(req))
    read_response(c)
    event("client: got the response %.3f s after the send(); MSS now %d"
          % (time.time() - t0, tcp_mss(c)))
    event("client: route after: %s" % route_mtu(host))
    if tcp_mss(c) > PMTU_MTU - hdrs:
        fail("client MSS %d: the path MTU was not lowered" % tcp_mss(c))
    time.sleep(STEP)
    c.close()
    event("client: close() -> FIN (active close)")
    srv.finish()
    ls.close()
    settle()
    event("client counters after: %s" % ns_counters(None, PMTU_CLIENT_MIB))
    event("router counters after: %s" % ns_counters(
        a.router_netns, PMTU6_ROUTER_MIB if hdrs == 60 else PMTU_ROUTER_MIB))


def sc_pmtu_blackhole(a):
    """As pmtu_icmp, but an nft rule in the router's output hook drops its
    ICMP fragmentation needed: the full-sized segment is retransmitted with
    backoff, never acknowledged, until net.ipv4.tcp_retries2 (ETIMEDOUT).
    Meanwhile the server sends a short line every --wait s (1.25: the client
    gives up 6.7-6.9 s after the accept, between the fifth and the sixth
    line), which passes (small segments cross the narrow link); the first one
    after the client gave up draws a RST from the client host."""
    host, port = PMTU_SERVER, a.port
    req = pmtu_request(a.size)
    log_sysctls("net.ipv4.tcp_retries2")
    ls = pmtu_common(a)
    run_tool(["ip", "netns", "exec", a.router_netns, "nft", "-f", "-"],
             "table inet %s {\nchain output { type filter hook output priority 0; "
             "policy accept;\n  icmp type destination-unreachable icmp code frag-needed "
             "counter drop\n}\n}\n" % NFT_TABLE)
    event("router: nft output drops its ICMP fragmentation needed")
    event("client counters before: %s" % ns_counters(None, PMTU_CLIENT_MIB))

    def server(ls):
        conn, peer = ls.accept()
        _keep.append(conn)
        event("server: accepted %s:%d" % peer[:2])
        t_acc = time.monotonic()
        n = 0
        while time.monotonic() < t_acc + a.timeout:
            # line n+1 at (n+1) * --wait after the accept, whatever came in between
            r, _, _ = select.select([conn], [], [],
                                    max(0.0, t_acc + (n + 1) * a.wait - time.monotonic()))
            if r:
                try:
                    data = conn.recv(65536)
                except OSError as e:
                    if e.errno != errno.ECONNRESET:
                        raise
                    event("server: recv() ECONNRESET (the client host's RST), %d lines sent"
                          % n)
                    return
                raise RuntimeError("server: recv() got %d bytes%s" % (
                    len(data), "" if data else " (EOF)"))
            n += 1
            conn.send(b"line %d from the server\n" % n)
            event("server: sent line %d" % n)
        raise RuntimeError("server: no RST within %d s" % a.timeout)

    srv = Server(ls, server)
    srv.start()
    c = client_socket(host)
    c.connect((host, port))
    event("client: connected from %s, MSS %d" % (local(c), tcp_mss(c)))
    time.sleep(STEP)
    c.sendall(req)
    t0 = time.time()
    event("client: send() of %d bytes returned" % len(req))
    c.settimeout(a.timeout)         # tcp_retries2 decides; the alarm bounds it
    got = 0
    try:
        while True:
            data = c.recv(4096)
            if not data:
                fail("client: EOF, expected ETIMEDOUT")
                break
            got += len(data)
    except OSError as e:
        dt = time.time() - t0
        if e.errno == errno.ETIMEDOUT:
            event("client: recv() ETIMEDOUT %.3f s after the send() (tcp_retries2 "
                  "exhausted), %d bytes of server lines read; MSS %d" % (dt, got, tcp_mss(c)))
        else:
            fail("client: recv() -> %r after %.3f s, expected ETIMEDOUT" % (e, dt))
    _keep.append(c)
    st = tcpi_state(c)
    event("client: socket state %s" % st)
    if st != "CLOSED":
        fail("client socket still %s after the error" % st)
    event("client: route after: %s" % route_mtu(host))
    srv.finish(a.wait + 2)
    ls.close()
    event("client counters after: %s" % ns_counters(None, PMTU_CLIENT_MIB))
    event("router counters after: %s" % ns_counters(a.router_netns, PMTU_ROUTER_MIB))
    out = run_tool(["ip", "netns", "exec", a.router_netns, "nft", "list", "table", "inet",
                    NFT_TABLE])
    event("router nft: %s" % "; ".join(l.strip() for l in out.splitlines() if "counter" in l))
    settle(0.1)

# ------------------------------------- capture end known only from the ISB
# kernel-lib.sh captures these with dumpcap (capture=dumpcap, pcapng) and
# stops it as soon as READY-TO-STOP: each scenario ends with --wait s with no
# TCP packet, and nothing but the Interface Statistics Block's isb_endtime
# says how long the capture went on.

TCP_STATE_NAMES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT_1",
                   5: "FIN_WAIT_2", 6: "TIME_WAIT", 7: "CLOSED", 8: "CLOSE_WAIT",
                   9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING"}
ISB_MIB = ("RetransSegs", "TCPTimeouts", "TCPLossProbes", "TCPAbortOnTimeout")


def tcp_state(s):
    st = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
    return TCP_STATE_NAMES.get(st, str(st))


def quiet_tail(a, since, what):
    """Sleep until --wait s after since (no TCP packet meanwhile), then say
    the capture may stop."""
    time.sleep(max(0.0, since + a.wait - time.time()))
    event("%.3f s after %s: the capture may stop (no TCP packet since)"
          % (time.time() - since, what))


def sc_isb_syn_giveup(a):
    """A listener behind an nft input drop of SYNs to its port (after the
    capture saw them); connect() retries until net.ipv4.tcp_syn_retries (2,
    with tcp_syn_linear_timeouts 0: SYNs at 0, 1, 3 s) and fails with
    ETIMEDOUT at ~7 s; --wait s (2.5) of capture follow."""
    host, port = a.host, a.port
    log_sysctls("net.ipv4.tcp_syn_retries", "net.ipv4.tcp_syn_linear_timeouts")
    ls = listener(host, port)
    _keep.append(ls)
    nft_table("chain input { type filter hook input priority 0; policy accept;\n"
              "  tcp dport %d tcp flags & (syn | ack) == syn counter drop\n}" % port)
    c = client_socket(host)
    c.settimeout(None)            # the kernel's own SYN retry limit decides
    _keep.append(c)
    t0 = time.time()
    event("client: connect()")
    try:
        c.connect((host, port))
        fail("connect() succeeded through the SYN drop")
    except OSError as e:
        if e.errno == errno.ETIMEDOUT:
            event("client: connect() ETIMEDOUT after %.3f s" % (time.time() - t0))
        else:
            fail("client: connect() failed with %r, expected ETIMEDOUT" % (e,))
    st = tcp_state(c)
    event("client: socket state %s" % st)
    if st != "CLOSED":
        fail("client socket %s after ETIMEDOUT" % st)
    event("nft counters: %s" % nft_counters())
    quiet_tail(a, time.time(), "ETIMEDOUT")
    event("%.3f s after connect()" % (time.time() - t0))


def sc_isb_syn_pending(a):
    """A listener behind an nft input drop of SYNs to its port (after the
    capture saw them), every sysctl at its default (tcp_syn_retries 6): the
    capture stops --wait s (40) after connect(), between two SYN
    retransmissions (on Linux 6.5+ with tcp_syn_linear_timeouts 4 the SYNs go
    at +0, 1, 2, 3, 4, 5, 7, 11, 19, 35 s, the next at ~67 s; before it, at
    +0, 1, 3, 7, 15, 31 s, the next at ~63 s): the client is still SYN_SENT,
    its connect() still blocked.  Nothing but the ISB's isb_endtime says the
    capture went on past the last SYN."""
    host, port = a.host, a.port
    log_sysctls("net.ipv4.tcp_syn_retries", "net.ipv4.tcp_syn_linear_timeouts")
    ls = listener(host, port)
    _keep.append(ls)
    nft_table("chain input { type filter hook input priority 0; policy accept;\n"
              "  tcp dport %d tcp flags & (syn | ack) == syn counter drop\n}" % port)
    c = client_socket(host)
    c.setblocking(False)          # the kernel's own SYN retries go on meanwhile
    _keep.append(c)
    t0 = time.time()
    err = c.connect_ex((host, port))
    event("client: connect() -> %s" % errno.errorcode.get(err, err))
    if err != errno.EINPROGRESS:
        fail("client: connect() -> %s, expected EINPROGRESS" % errno.errorcode.get(err, err))
    time.sleep(max(0.0, t0 + a.wait - time.time()))
    st = tcp_state(c)
    event("client: socket state %s %.3f s after connect(); nft counters: %s"
          % (st, time.time() - t0, nft_counters()))
    if st != "SYN_SENT":
        fail("client socket %s, expected SYN_SENT" % st)
    event("%.3f s after connect(): the capture may stop" % (time.time() - t0))


def sc_isb_stall_giveup(a):
    """After a request/response nft drops everything on the connection
    (client->server in input, after the capture saw it; server->client in
    output).  The client writes once more and retransmits until
    net.ipv4.tcp_retries2 (3) gives up: recv() ETIMEDOUT, no segment.  The
    server, never told, stays ESTABLISHED and open until the capture stopped;
    --wait s (2.0) of capture after the give-up."""
    host, port = a.host, a.port
    log_sysctls("net.ipv4.tcp_retries2")
    ls = listener(host, port)
    _keep.append(ls)
    up = threading.Event()
    held = []

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        _keep.append(conn)          # open until the capture stopped
        held.append(conn)
        event("server: accepted %s:%d" % peer[:2])
        read_request(conn)
        time.sleep(STEP)
        conn.sendall(RESPONSE)
        event("server: sent response; keeps the connection open, sends nothing more")
        up.set()

    srv = Server(ls, server)
    srv.start()
    c = client_socket(host)
    c.connect((host, port))
    cport = c.getsockname()[1]
    event("client: connected from %s" % local(c))
    time.sleep(STEP)
    c.sendall(REQUEST)
    read_response(c)
    event("client: got response")
    up.wait(SOCK_TIMEOUT)
    srv.finish()
    time.sleep(2 * STEP)            # the client's ACK of the response went out
    event("client counters before: %s" % ns_counters(None, ISB_MIB))
    nft_table("chain input { type filter hook input priority 0; policy accept;\n"
              "  tcp sport %d tcp dport %d counter drop\n}\n"
              "chain output { type filter hook output priority 0; policy accept;\n"
              "  tcp sport %d tcp dport %d counter drop\n}" % (cport, port, port, cport))
    c.sendall(b"one more write, into the dead path\n")
    t0 = time.time()
    event("client: send() succeeded")
    c.settimeout(a.timeout)         # tcp_retries2 decides; the alarm bounds it
    try:
        data = c.recv(4096)
        fail("client: expected ETIMEDOUT, got %r" % (data,))
    except OSError as e:
        if e.errno == errno.ETIMEDOUT:
            event("client: recv() ETIMEDOUT after %.3f s (tcp_retries2 exhausted, "
                  "nothing sent)" % (time.time() - t0))
        else:
            fail("client: recv() -> %r after %.3f s, expected ETIMEDOUT"
                 % (e, time.time() - t0))
    t1 = time.time()
    st = tcp_state(c)
    event("client: socket state %s" % st)
    if st != "CLOSED":
        fail("client socket still %s after ETIMEDOUT" % st)
    _keep.append(c)
    event("client counters after: %s" % ns_counters(None, ISB_MIB))
    event("nft counters: %s" % nft_counters())
    quiet_tail(a, t1, "ETIMEDOUT")
    for conn in held:
        st = tcp_state(conn)
        event("server: socket state %s" % st)
        if st != "ESTABLISHED":
            fail("server socket %s, expected ESTABLISHED" % st)


def sc_isb_close_wait(a):
    """The client closes after a request/response; the server reads the EOF
    and never calls close() (CLOSE_WAIT, the client's orphan in FIN_WAIT_2).
    The capture stops --wait s (7.0) after the client's FIN."""
    host, port = a.host, a.port
    ls = listener(host, port)
    _keep.append(ls)
    held = []

    def server(ls):
        conn, peer = ls.accept()
        conn.settimeout(SOCK_TIMEOUT)
        _keep.append(conn)
        held.append(conn)
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
    t_fin = time.time()
    c.close()
    event("client: close() -> FIN; its orphan sits in FIN_WAIT_2")
    srv.finish()
    for conn in held:
        event("server: socket state %s" % tcp_state(conn))
    quiet_tail(a, t_fin, "the client's close()")
    for conn in held:
        st = tcp_state(conn)
        event("server: socket state %s" % st)
        if st != "CLOSE_WAIT":
            fail("server socket %s, expected CLOSE_WAIT" % st)


SCENARIOS = {
    "normal": (sc_normal, "127.0.0.1"),
    "ipv6": (sc_normal, "::1"),
    "refused": (sc_refused, "127.0.0.1"),
    "rst_unread": (sc_rst_unread, "127.0.0.1"),
    "linger0": (sc_linger0, "127.0.0.1"),
    "port_reuse": (sc_port_reuse, "127.0.0.1"),
    "port_reuse_tw": (sc_port_reuse_tw, "127.0.0.1"),
    "close_wait": (sc_close_wait, "127.0.0.1"),
    "server_first": (sc_server_first, "127.0.0.1"),
    "fin_ack_close": (sc_fin_ack_close, "127.0.0.1"),
    "fin_wait2_reaped": (sc_fin_wait2_reaped, "127.0.0.1"),
    "write_after_close": (sc_write_after_close, "127.0.0.1"),
    "syn_dropped": (sc_syn_dropped, "127.0.0.1"),
    "backlog_full": (sc_backlog_full, "127.0.0.1"),
    "close_before_accept": (sc_close_before_accept, "127.0.0.1"),
    "final_ack_dropped": (sc_final_ack_dropped, "127.0.0.1"),
    "final_ack_lost_late": (sc_final_ack_lost_late, "127.0.0.1"),
    "fin_ack_lost_late": (sc_fin_ack_lost_late, "127.0.0.1"),
    "simultaneous_close": (sc_simultaneous_close, "127.0.0.1"),
    "half_close": (sc_half_close, "127.0.0.1"),
    "zero_window": (sc_zero_window, "127.0.0.1"),
    "keepalive": (sc_keepalive, "127.0.0.1"),
    "keepalive_timeout": (sc_keepalive_timeout, "127.0.0.1"),
    "midstream": (sc_midstream, "127.0.0.1"),
    "synack_lost": (sc_synack_lost, "127.0.0.1"),
    "blackhole": (sc_blackhole, "127.0.0.1"),
    "lossy": (sc_lossy, "127.0.0.1"),
    "scan": (sc_scan, "127.0.0.1"),
    "tw_pressure": (sc_tw_pressure, "127.0.0.1"),
    "syn_blackhole_default": (sc_syn_blackhole_default, "127.0.0.1"),
    "syn_dropped_then_answered": (sc_syn_dropped_then_answered, "127.0.0.1"),
    "accept_overflow_default": (sc_accept_overflow_default, "127.0.0.1"),
    "half_open_scan": (sc_half_open_scan, "127.0.0.1"),
    "challenge_ack": (sc_challenge_ack, "127.0.0.1"),
    "captured_twice": (sc_captured_twice, VETH_ADDR[1]),
    "icmp_port_unreach": (sc_icmp_port_unreach, "127.0.0.1"),
    "icmp_admin_prohibited": (sc_icmp_admin_prohibited, "127.0.0.1"),
    "icmp6_admin_prohibited": (sc_icmp6_admin_prohibited, "::1"),
    "icmp_router_ttl": (sc_icmp_router_ttl, "127.0.0.1"),
    "icmp_established_soft": (sc_icmp_established_soft, "127.0.0.1"),
    "icmp_host_unreach": (sc_icmp_host_unreach, "127.0.0.1"),
    "icmp6_port_unreach": (sc_icmp6_port_unreach, "::1"),
    "icmp6_addr_unreach": (sc_icmp6_addr_unreach, "::1"),
    "pmtu_icmp": (sc_pmtu_icmp, PMTU_SERVER),
    "pmtu_blackhole": (sc_pmtu_blackhole, PMTU_SERVER),
    "pmtu6_icmp": (sc_pmtu_icmp, PMTU6_SERVER),
    "isb_syn_giveup": (sc_isb_syn_giveup, "127.0.0.1"),
    "isb_syn_pending": (sc_isb_syn_pending, "127.0.0.1"),
    "isb_stall_giveup": (sc_isb_stall_giveup, "127.0.0.1"),
    "isb_close_wait": (sc_isb_close_wait, "127.0.0.1"),
}

# default --wait per scenario (seconds)
WAIT_DEFAULT = {
    "fin_wait2_reaped": 2.0,
    "backlog_full": 3.0,
    "close_before_accept": 0.5,
    "final_ack_dropped": 1.0,
    "final_ack_lost_late": 4.0,
    "fin_ack_lost_late": 1.5,
    "zero_window": 1.5,
    "keepalive": 2.5,
    "synack_lost": 1.5,
    "syn_blackhole_default": 33.0,
    "accept_overflow_default": 8.5,
    "pmtu_blackhole": 1.25,
    "isb_syn_giveup": 2.5,
    "isb_stall_giveup": 2.0,
    "isb_close_wait": 7.0,
    "isb_syn_pending": 40.0,
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
                   help="fixed client port for port_reuse*, challenge_ack, and the "
                   "scanner's port in half_open_scan (default 40000)")
    p.add_argument("--gap", type=float, default=0.3,
                   help="pause between the two port_reuse connections (s)")
    p.add_argument("--hold-open", type=float, default=1.0,
                   help="close_wait: seconds to keep CLOSE_WAIT before READY-TO-STOP")
    p.add_argument("--wait", type=float, default=None,
                   help="scenario-specific pause (s); see the scenario list")
    p.add_argument("--size", type=int, default=1400,
                   help="pmtu_*: bytes of the client's request (one send())")
    p.add_argument("--router-netns", help="pmtu_*: the router's namespace")
    p.add_argument("--server-netns", help="pmtu_*: the server's namespace")
    p.add_argument("--hold", metavar="FILE",
                   help="after READY-TO-STOP wait for FILE (or SIGUSR1) before exiting")
    p.add_argument("--hold-timeout", type=float, default=30.0)
    p.add_argument("--timeout", type=int, default=20,
                   help="overall alarm for the scenario itself (s)")
    a = p.parse_args()
    fn, default_host = SCENARIOS[a.scenario]
    if a.host is None:
        a.host = default_host
    if a.wait is None:
        a.wait = WAIT_DEFAULT.get(a.scenario, 1.0)
    if a.host not in ("127.0.0.1", "::1", default_host):
        p.error("only 127.0.0.1, ::1 and the scenario's own address are allowed")

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
