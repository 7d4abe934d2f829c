#!/usr/bin/python3
"""WebSocket tunnels through the reverse proxy, with Debian's python3-websockets at both ends (a
websockets server as the application, websockets clients as browsers) and raw sockets where the
bytes themselves are the point. Asserted:
  - 1000 echoes of text and binary messages (0 B to 1 MiB) come back equal, over plain HTTP and
    over TLS (wss://, through portico's TLS transport), and 40 tunnels at once do not mix;
  - a message the application sends right after its 101 (often in the same segment) arrives;
  - close codes and reasons pass both ways (client 4000, application 4001);
  - the application sees Upgrade: websocket, Connection: upgrade and X-Forwarded-For;
  - a refused upgrade (403) reaches the client as a 403 and the proxy goes on serving;
  - an upstream 101 without Upgrade, or a 101 to a request that asked for no upgrade: 502;
  - a half-close passes through: the client's FIN reaches the application, which then answers
    and closes, and the client reads everything up to the proxy's FIN;
  - an upgrade on a TLS connection that has just served a request carries bytes both ways;
  - back-pressure: 64 MiB pushed by the application to a client that does not read for a while
    arrive whole (SHA-256) while the worker's VmRSS grows by less than 16 MiB;
  - a tunnel with no byte either way for proxy_read_timeout (1 s here) is closed;
  - the access log has the 101 with the bytes sent through the tunnel.

usage: websocket_test.py PORTICO_BINARY
"""
import asyncio
import hashlib
import http
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import Portico, RawServer, check, finish, free_port, read, read_head, require, wait_until  # noqa: E402

FLOOD = 64 << 20
FLOOD_BLOCK = bytes((i * 13 + 5) % 251 for i in range(1 << 20))


class App:
    """The websockets server: /echo echoes, /push speaks first, /close closes with 4001, /refuse
    is refused with a 403. It records the request headers and the close codes it saw."""

    def __init__(self):
        self.port = free_port()
        self.headers = []
        self.close_codes = []
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        require(ready.wait(30), "the websockets application started")

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)

        async def refuse(path, headers):
            self.headers.append(headers)
            if path.endswith("/refuse"):
                return http.HTTPStatus.FORBIDDEN, [("Content-Type", "text/plain")], b"no upgrade for you\n"
            return None

        async def handler(ws, path):
            try:
                if path.endswith("/push"):
                    await ws.send("hello first")
                if path.endswith("/close"):
                    await ws.close(4001, "bye")
                    return
                async for message in ws:
                    await ws.send(message)
            except websockets.ConnectionClosed:
                pass
            self.close_codes.append(ws.close_code)

        async def serve():
            async with websockets.serve(handler, "127.0.0.1", self.port, process_request=refuse,
                                        max_size=None, ping_interval=None):
                ready.set()
                await asyncio.Future()

        self.loop.run_until_complete(serve())


class RawApp(RawServer):
    """A raw TCP application for what websockets would hide. By the request's path:
    /bad101   a 101 without Upgrade;   /plain   a 101 with Upgrade to a request without one;
    /halfclose  101, then echoes until the client's FIN, then sends "bye" and closes;
    /flood    101, then 64 MiB as fast as the socket takes them."""

    def serve(self, c):
        with c:
            head, _ = read_head(c)
            if not head:
                return
            path = head.split(b" ")[1].decode()
            up = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x-raw\r\nConnection: upgrade\r\n\r\n"
            if path.endswith("/bad101"):
                c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n")
            elif path.endswith("/plain"):
                c.sendall(up + b"tunnel bytes nobody asked for")
            elif path.endswith("/halfclose"):
                c.sendall(up)
                while True:
                    data = c.recv(65536)
                    if not data:
                        break
                    c.sendall(data)
                c.sendall(b"bye")
            elif path.endswith("/flood"):
                c.sendall(up)
                try:
                    for _ in range(FLOOD // len(FLOOD_BLOCK)):
                        c.sendall(FLOOD_BLOCK)
                except OSError:
                    pass


def raw_upgrade(port, path, rcvbuf=None):
    """Opens a raw connection through the proxy and sends an upgrade request; returns the socket
    and the response head (and any bytes after it)."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: ws.test\r\nUpgrade: x-raw\r\nConnection: Upgrade\r\n\r\n".encode())
    head, rest = read_head(s)
    return s, head.decode(errors="replace"), rest


def recv_all(s):
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def echoes(uri, count, ssl_context=None):
    """count messages of varied sizes and kinds, each echoed; returns how many came back equal."""
    equal = 0
    async with websockets.connect(uri, max_size=None, ping_interval=None, ssl=ssl_context) as ws:
        for i in range(count):
            size = (i * 7919) % 65536 if i % 100 else (1 << 20)
            message = bytes((i + j) % 256 for j in range(size)) if i % 2 else "é" * (size // 2)
            await ws.send(message)
            if await ws.recv() == message:
                equal += 1
        await ws.close(4000, "client done")
    return equal


async def websocket_checks(port, tls_port, app, certificate):
    base = f"ws://127.0.0.1:{port}"
    n = await echoes(f"{base}/ws/echo", 1000)
    check(n == 1000, f"1000 echoes through the tunnel ({n} equal)")
    wait_until(lambda: 4000 in app.close_codes, "the application to see the client's close code 4000")

    tls = ssl.create_default_context(cafile=certificate)
    n = await echoes(f"wss://ws.test:{tls_port}/ws/echo", 200, tls)
    check(n == 200, f"200 echoes through a TLS tunnel ({n} equal)")

    results = await asyncio.gather(*(echoes(f"{base}/ws/echo", 25) for _ in range(40)))
    check(results == [25] * 40, f"40 tunnels at once, 25 echoes each: {results}")

    async with websockets.connect(f"{base}/ws/push", ping_interval=None) as ws:
        check(await ws.recv() == "hello first", "the application's first message, sent with its 101")

    async with websockets.connect(f"{base}/ws/close", ping_interval=None) as ws:
        try:
            await ws.recv()
            check(False, "the application's close reaches the client")
        except websockets.ConnectionClosed as e:
            check(e.code == 4001 and e.reason == "bye", f"close code 4001 'bye' passed on: {e.code} {e.reason!r}")

    seen = [h for h in app.headers if h.get("Upgrade", "").lower() == "websocket"]
    check(seen and all(h.get("Connection", "").lower() == "upgrade" for h in seen),
          "the application sees Upgrade: websocket and Connection: upgrade")
    check(seen and all(h.get("X-Forwarded-For") == "127.0.0.1" for h in seen), "X-Forwarded-For is set")

    try:
        async with websockets.connect(f"{base}/ws/refuse", ping_interval=None):
            check(False, "a refused upgrade is refused")
    except websockets.InvalidStatusCode as e:
        check(e.status_code == 403, f"a refused upgrade reaches the client as a 403 ({e.status_code})")

    # No byte either way for proxy_read_timeout (1 s in /idle/): the proxy closes the tunnel.
    async with websockets.connect(f"{base}/idle/echo", ping_interval=None) as ws:
        await ws.send("one")
        check(await ws.recv() == "one", "an echo before the idle wait")
        started = time.monotonic()
        try:
            await asyncio.wait_for(ws.recv(), 30)
            check(False, "an idle tunnel is closed")
        except websockets.ConnectionClosed:
            waited = time.monotonic() - started
            check(waited >= 0.9, f"the idle tunnel lasted its proxy_read_timeout ({waited:.2f} s)")
        except asyncio.TimeoutError:
            check(False, "an idle tunnel is closed within 30 s")


def raw_checks(p):
    port = p.port
    s, head, _ = raw_upgrade(port, "/raw/bad101")
    check(head.startswith("HTTP/1.1 502"), f"a 101 without Upgrade is a 502: {head.splitlines()[:1]}")
    s.close()

    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"GET /raw/plain HTTP/1.1\r\nHost: ws.test\r\nConnection: close\r\n\r\n")
    got = recv_all(s).decode(errors="replace")
    check(got.startswith("HTTP/1.1 502") and "nobody asked" not in got,
          f"a 101 to a request that asked for no upgrade is a 502: {got.splitlines()[:1]}")
    s.close()

    s, head, rest = raw_upgrade(port, "/raw/halfclose")
    check(head.startswith("HTTP/1.1 101") and "upgrade" in head.lower(), f"the raw 101: {head!r}")
    payload = bytes(range(256)) * 400  # 100 KiB
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
    got = rest + recv_all(s)
    check(got == payload + b"bye", f"a half-close passes through: {len(got)} bytes back, ends {got[-3:]!r}")
    s.close()

    with open(f"/proc/{p.proc.pid}/task/{p.proc.pid}/children") as f:
        worker = int(f.read().split()[0])
    base = vm_rss_kib(worker)
    s, head, rest = raw_upgrade(port, "/raw/flood", rcvbuf=64 << 10)
    check(head.startswith("HTTP/1.1 101"), f"the flood's 101: {head.splitlines()[:1]}")
    time.sleep(1)  # not a synchronisation: the client does not read for a while, on purpose
    peak = vm_rss_kib(worker)
    digest, total = hashlib.sha256(rest), len(rest)
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        digest.update(chunk)
        total += len(chunk)
        if total % (8 << 20) < len(chunk):
            peak = max(peak, vm_rss_kib(worker))
    s.close()
    want = hashlib.sha256(FLOOD_BLOCK * (FLOOD // len(FLOOD_BLOCK))).hexdigest()
    check(total == FLOOD and digest.hexdigest() == want, f"64 MiB through the tunnel arrive whole ({total} B)")
    check(peak - base < 16 << 10, f"back-pressure: worker VmRSS {base} KiB -> peak {peak} KiB (under 16 MiB more)")


def warm_tunnel_check(tls_port, certificate):
    """An upgrade on a TLS connection that has just been answered: the connection is warm (it
    keeps OpenSSL's record buffers between requests) and must cool as it becomes a tunnel, which
    then carries bytes both ways."""
    tls = ssl.create_default_context(cafile=certificate)
    s = tls.wrap_socket(socket.create_connection(("127.0.0.1", tls_port), timeout=30), server_hostname="ws.test")
    s.sendall(b"GET / HTTP/1.1\r\nHost: ws.test\r\n\r\n")
    head, body = read_head(s)
    while len(body) < len("static\n"):
        body += s.recv(4096)
    check(head.startswith(b"HTTP/1.1 200") and body == b"static\n", f"a GET before the upgrade: {head[:40]!r}")
    s.sendall(b"GET /raw/halfclose HTTP/1.1\r\nHost: ws.test\r\nUpgrade: x-raw\r\nConnection: Upgrade\r\n\r\n")
    head, got = read_head(s)
    check(head.startswith(b"HTTP/1.1 101"), f"the 101 on the reused TLS connection: {head[:40]!r}")
    payload = bytes(range(256)) * 400  # 100 KiB
    s.sendall(payload)
    while len(got) < len(payload):
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    check(got == payload, f"the tunnel on a once-warm TLS connection echoes: {len(got)} of {len(payload)} bytes")
    s.close()


def main():
    binary = sys.argv[1]
    app, raw = App(), RawApp()
    with tempfile.TemporaryDirectory(prefix="portico-ws-") as d:
        os.mkdir(os.path.join(d, "www"))
        with open(os.path.join(d, "www", "index.html"), "w") as f:
            f.write("static\n")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", f"{d}/ws.key", "-out", f"{d}/ws.pem", "-days", "2",
                        "-subj", "/CN=ws.test", "-addext", "subjectAltName=DNS:ws.test"],
                       check=True, capture_output=True)
        tls_port = free_port()
        config = f"""
worker_processes = 1;
error_log = "@DIR@/error.log";
log_level = "info";
http = {{ access_log = "@DIR@/access.log"; }};
upstreams = (
  {{ name = "app"; servers = [ "127.0.0.1:{app.port}" ]; }},
  {{ name = "raw"; servers = [ "127.0.0.1:{raw.port}" ]; }}
);
servers = ({{
  listen = ["127.0.0.1:@PORT@", "127.0.0.1:{tls_port} ssl"]; server_name = ["ws.test"]; root = "@DIR@/www";
  tls = {{ certificate = "@DIR@/ws.pem"; certificate_key = "@DIR@/ws.key"; }};
  locations = (
    {{ match = "/ws/"; proxy_pass = "http://app"; }},
    {{ match = "/idle/"; proxy_pass = "http://app/ws/"; proxy_read_timeout = "1s"; }},
    {{ match = "/raw/"; proxy_pass = "http://raw"; }}
  );
}});
"""
        # ws.test resolves nowhere: the TLS client connects to 127.0.0.1 and names ws.test (SNI).
        real_getaddrinfo = socket.getaddrinfo

        def getaddrinfo(host, *args, **kw):
            return real_getaddrinfo("127.0.0.1" if host == "ws.test" else host, *args, **kw)

        socket.getaddrinfo = getaddrinfo
        p = Portico(binary, d, config)
        try:
            asyncio.run(websocket_checks(p.port, tls_port, app, f"{d}/ws.pem"))
            raw_checks(p)
            warm_tunnel_check(tls_port, f"{d}/ws.pem")
            s = socket.create_connection(("127.0.0.1", p.port), timeout=30)
            s.sendall(b"GET / HTTP/1.1\r\nHost: ws.test\r\nConnection: close\r\n\r\n")
            check(recv_all(s).endswith(b"static\n"), "a static file beside the tunnels")
            s.close()
            wait_until(lambda: "idle past proxy_read_timeout" in p.log(), "the idle tunnel's log line")
            log = read(os.path.join(d, "access.log"))
            tunnels = [l for l in log.splitlines() if '"GET /ws/echo HTTP/1.1" 101 ' in l]
            sizes = [int(l.split('" 101 ')[1].split()[0]) for l in tunnels]
            check(len(tunnels) >= 42 and min(sizes) > 0,
                  f"the access log has each tunnel's 101 with its bytes ({len(tunnels)} lines, sizes {sizes[:3]}...)")
        finally:
            p.stop()
            p.check_clean_logs(allowed=("upstream",))
    finish()


if __name__ == "__main__":
    main()
