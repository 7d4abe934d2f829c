#!/usr/bin/python3
"""The reverse proxy against real application servers: Python's http.server backends, in this
process, behind a real portico. Asserted:
  - a GET and a POST form (Content-Length) and a chunked POST reach the backend intact, with
    X-Forwarded-For, X-Real-IP, X-Forwarded-Proto and Host as documented, hop-by-hop fields gone;
  - responses framed by Content-Length, by chunks and by the close come back byte-equal (8 MiB);
  - HEAD, 304 and 204 answers carry no body;
  - keep-alive: many requests use few upstream connections;
  - the stale keep-alive race: a backend that closes every connection after its response (without
    saying so) never turns into a 502: each request is retried on a fresh connection;
  - a weighted group spreads requests 3:1; a dead server is skipped;
  - failures: no server listening -> 502, a server slower than proxy_read_timeout -> 504, a response
    with both Content-Length and Transfer-Encoding -> 502;
  - a slow client: 64 MiB read at ~8 MiB/s through a small receive buffer arrive whole (SHA-256)
    while the worker's VmRSS grows by less than 16 MiB (buffering the body would cost ~60 MiB);
  - a burst of 16 requests at once to an upstream with keepalive = 4: the 12 connections beyond
    the pool stay open for the surplus grace (100 ms, for the next burst), then exactly those 12
    close and 4 stay pooled.

usage: proxy_test.py PORTICO_BINARY
"""
import hashlib
import http.client
import http.server
import json
import os
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import Portico, RawServer, check, finish, free_port, read_head, read_to_close, require, wait_until  # noqa: E402

BIG = bytes((i * 7 + 3) % 251 for i in range(8 << 20))
HUGE_COPIES = 8  # /api/huge is BIG eight times: 64 MiB


class Backend:
    """A threaded http.server on a free port that records the connections and requests it saw."""

    def __init__(self, name, close_after_each=False):
        self.name, self.close_after_each = name, close_after_each
        self.connections = set()
        self.requests = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b""):
                                pass
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length", "0")))

            def reply(self, status, body, ctype="application/octet-stream", extra=()):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Backend", owner.name)
                for k, v in extra:
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                if owner.close_after_each:
                    self.close_connection = True  # and say nothing: the race the proxy must survive

            def do_GET(self):
                owner.connections.add(self.client_address)
                owner.requests += 1
                path = self.path
                if path.startswith("/api/headers"):
                    seen = {k.lower(): v for k, v in self.headers.items()}
                    seen["path"] = path
                    return self.reply(200, json.dumps(seen).encode(), "application/json")
                if path == "/api/big":
                    return self.reply(200, BIG)
                if path == "/api/huge":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(BIG) * HUGE_COPIES))
                    self.end_headers()
                    for _ in range(HUGE_COPIES):  # as fast as the proxy takes it
                        self.wfile.write(BIG)
                    return
                if path == "/api/chunked":
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for at in range(0, len(BIG), 100_000):
                        part = BIG[at:at + 100_000]
                        self.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                    return
                if path == "/api/close":
                    self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + BIG[:1_000_000])
                    self.close_connection = True
                    return
                if path == "/api/304":
                    self.send_response(304)
                    self.send_header("ETag", '"x"')
                    self.end_headers()
                    return
                if path == "/api/204":
                    self.send_response(204)
                    self.end_headers()
                    return
                if path == "/api/slow":
                    time.sleep(3)
                    return self.reply(200, b"late")
                if path == "/api/smuggle":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                                     b"0\r\n\r\n")
                    return
                return self.reply(200, f"{owner.name} {path}".encode(), "text/plain")

            do_HEAD = do_GET

            def do_POST(self):
                owner.connections.add(self.client_address)
                owner.requests += 1
                data = self.body()
                digest = hashlib.sha256(data).hexdigest()
                self.reply(200, json.dumps({"length": len(data), "sha256": digest,
                                            "type": self.headers.get("Content-Type", "")}).encode(),
                           "application/json")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def request(port, method, path, body=None, headers=None, chunked=False):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r, data


def main():
    binary = sys.argv[1]
    a, b, closer = Backend("a"), Backend("b"), Backend("closer", close_after_each=True)
    dead = free_port()  # nothing listens here
    burst = BurstBackend()
    with tempfile.TemporaryDirectory(prefix="portico-proxy-") as d:
        os.mkdir(os.path.join(d, "www"))
        with open(os.path.join(d, "www", "index.html"), "w") as f:
            f.write("static\n")
        config = f"""
worker_processes = 1;
error_log = "@DIR@/error.log";
http = {{ access_log = "@DIR@/access.log"; client_max_body_size = "64m"; }};
upstreams = (
  {{ name = "app"; servers = [ "127.0.0.1:{a.port}" ]; keepalive = 8; }},
  {{ name = "pair"; servers = [ "127.0.0.1:{a.port} weight=3", "127.0.0.1:{b.port}",
                                 "127.0.0.1:{dead} max_fails=1 fail_timeout=30" ]; }},
  {{ name = "closer"; servers = [ "127.0.0.1:{closer.port}" ]; }},
  {{ name = "dead"; servers = [ "127.0.0.1:{dead}" ]; }},
  {{ name = "burst"; servers = [ "127.0.0.1:{burst.port}" ]; keepalive = 4; }}
);
servers = ({{
  listen = ["127.0.0.1:@PORT@"]; root = "@DIR@/www";
  locations = (
    {{ match = "/api/"; proxy_pass = "http://app"; proxy_read_timeout = "30s"; }},
    {{ match = "/short/"; proxy_pass = "http://app/api/"; proxy_read_timeout = "1s"; }},
    {{ match = "/pair/"; proxy_pass = "http://pair/api/"; }},
    {{ match = "/closer/"; proxy_pass = "http://closer/api/"; }},
    {{ match = "/dead/"; proxy_pass = "http://dead"; }},
    {{ match = "/literal/"; proxy_pass = "http://127.0.0.1:{b.port}/api/"; }},
    {{ match = "/download/"; proxy_pass = "http://app/api/"; }},
    {{ match = "/burst/"; proxy_pass = "http://burst"; }}
  );
}});
"""
        p = Portico(binary, d, config)
        try:
            run_checks(p.port, a, b, closer)
            check_burst(p.port, burst)
            check_slow_client(p)
        finally:
            p.stop()
            p.check_clean_logs(allowed=("upstream",))
    for s in (a, b, closer):
        s.stop()
    finish()


def run_checks(port, a, b, closer):
    # Static files still come from the root.
    r, data = request(port, "GET", "/index.html")
    check(r.status == 200 and data == b"static\n", "a static file beside the proxied locations")

    # Headers the backend sees.
    r, data = request(port, "GET", "/api/headers?x=1", headers={"Connection": "keep-alive, X-Hop", "X-Hop": "1",
                                                              "X-Forwarded-For": "10.0.0.1", "Host": "front.test"})
    require(r.status == 200, f"GET through the proxy: {r.status}")
    seen = json.loads(data)
    check(seen["path"] == "/api/headers?x=1", f"the URI passes unchanged: {seen['path']}")
    check(seen.get("x-forwarded-for") == "10.0.0.1, 127.0.0.1", f"X-Forwarded-For appended: {seen}")
    check(seen.get("x-real-ip") == "127.0.0.1" and seen.get("x-forwarded-proto") == "http", f"X-Real-IP/Proto: {seen}")
    check(seen.get("host") == "front.test", f"Host is the client's ($host): {seen.get('host')}")
    check("x-hop" not in seen, "a field Connection names is not forwarded")
    check(r.getheader("X-Backend") == "a" and r.getheader("Server") == "portico", "the response's fields, our Server")

    # Bodies up.
    form = b"name=portico&text=" + b"x" * 300_000
    r, data = request(port, "POST", "/api/form", body=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    got = json.loads(data)
    check(r.status == 200 and got["length"] == len(form) and got["sha256"] == hashlib.sha256(form).hexdigest(),
          f"a POST form arrives whole: {got}")
    chunks = [BIG[i:i + 65536] for i in range(0, 2_000_000, 65536)]
    r, data = request(port, "POST", "/api/chunked-up", body=iter(chunks), chunked=True)
    got = json.loads(data)
    want = b"".join(chunks)
    check(r.status == 200 and got["sha256"] == hashlib.sha256(want).hexdigest(), f"a chunked POST arrives whole: {got}")

    # Bodies down, each framing.
    for path, what in (("/api/big", "Content-Length"), ("/api/chunked", "chunked")):
        r, data = request(port, "GET", path)
        check(r.status == 200 and data == BIG, f"an 8 MiB body framed by {what} comes back byte-equal")
    r, data = request(port, "GET", "/api/close")
    check(r.status == 200 and data == BIG[:1_000_000], "a body delimited by the upstream's close comes back whole")
    r, data = request(port, "HEAD", "/api/big")
    check(r.status == 200 and data == b"" and r.getheader("Content-Length") == str(len(BIG)), "HEAD: the length, no body")
    r, data = request(port, "GET", "/api/304")
    check(r.status == 304 and data == b"", "a 304 carries no body")
    r, data = request(port, "GET", "/api/204")
    check(r.status == 204 and data == b"", "a 204 carries no body")

    # Keep-alive to the upstream: many requests, few connections.
    before_conns, before_reqs = len(a.connections), a.requests
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for i in range(50):
        conn.request("GET", f"/api/n{i}")
        r = conn.getresponse()
        check(r.read() == f"a /api/n{i}".encode(), f"keep-alive request {i}")
    conn.close()
    new_conns = len(a.connections) - before_conns
    check(a.requests - before_reqs == 50 and new_conns <= 2, f"50 requests over {new_conns} upstream connections")

    # The stale keep-alive race: every pooled connection has been closed by the backend.
    statuses = [request(port, "GET", f"/closer/{i}")[0].status for i in range(40)]
    check(statuses == [200] * 40, f"a backend that closes idle connections never gives a 502: {statuses}")

    # A weighted group with a dead member.
    counts = {"a": 0, "b": 0}
    for i in range(40):
        r, data = request(port, "GET", f"/pair/{i}")
        check(r.status == 200, f"/pair/{i}: {r.status}")
        counts[r.getheader("X-Backend") or "?"] = counts.get(r.getheader("X-Backend") or "?", 0) + 1
    # The dead member is tried (and taken out) once; then the live ones share 3:1.
    check(counts["a"] + counts["b"] == 40 and 27 <= counts["a"] <= 33, f"weights 3:1 over the live servers: {counts}")
    r, data = request(port, "GET", "/literal/x")
    check(r.status == 200 and data == b"b /api/x", f"proxy_pass to an address, prefix replaced: {data!r}")

    # Failures.
    check(request(port, "GET", "/dead/x")[0].status == 502, "no server listening: 502")
    # Only here a short proxy_read_timeout: the body tests above must not race it on a busy machine.
    check(request(port, "GET", "/short/slow")[0].status == 504, "slower than proxy_read_timeout: 504")
    check(request(port, "GET", "/api/smuggle")[0].status == 502, "Content-Length with Transfer-Encoding: 502")
    r, data = request(port, "GET", "/api/after")
    check(r.status == 200, "the proxy still serves after the failures")


class BurstBackend(RawServer):
    """Holds requests until BURST have arrived, answers them all at once (keep-alive), and then
    records when the proxy closes each connection, measured from that answer."""
    BURST = 16

    def __init__(self):
        self.lock = threading.Condition()
        self.waiting = 0
        self.answered_at = None
        self.closed_after = []  # seconds from the answer to the proxy's close, per connection
        super().__init__()

    def serve(self, c):
        with c:
            head, _ = read_head(c)
            if not head:
                return
            with self.lock:
                self.waiting += 1
                if self.waiting == self.BURST:
                    self.answered_at = time.monotonic()
                    self.lock.notify_all()
                while self.answered_at is None:
                    self.lock.wait()
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nburst")
            c.settimeout(30)
            try:
                while c.recv(4096):
                    pass
            except OSError:
                return  # still open after 30 s: not recorded
            with self.lock:
                self.closed_after.append(time.monotonic() - self.answered_at)


def check_burst(port, burst):
    """16 requests at once through an upstream with keepalive = 4 (see the module's doc)."""
    answers = []

    def one():
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(b"GET /burst/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            answers.append(read_to_close(s))

    threads = [threading.Thread(target=one) for _ in range(BurstBackend.BURST)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    check(len(answers) == 16 and all(a.startswith(b"HTTP/1.1 200") and a.endswith(b"burst") for a in answers),
          f"16 requests at once through keepalive = 4: {[a[:12] for a in answers if not a.endswith(b'burst')]}")
    wait_until(lambda: len(burst.closed_after) >= 12, "the surplus connections to close", limit=10)
    closed = sorted(burst.closed_after)
    check(len(closed) == 12, f"exactly the 12 connections beyond keepalive close, 4 stay pooled ({len(closed)})")
    check(closed[0] >= 0.09, f"the surplus waits its grace before closing (first close {closed[0] * 1000:.0f} ms "
                             "after the answers; closing at once would be a few ms)")


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def check_slow_client(p, rate=8 << 20):
    """A client reading 64 MiB at `rate` bytes/s: the proxy must slow its reading from the upstream,
    not hold the body. Growth is measured from the worker's RSS after a warm-up request."""
    with open(f"/proc/{p.proc.pid}/task/{p.proc.pid}/children") as f:
        worker = int(f.read().split()[0])
    request(p.port, "GET", "/download/big")  # the buffers a large body uses, once
    base = peak = vm_rss_kib(worker)
    size = len(BIG) * HUGE_COPIES
    s = socket.create_connection(("127.0.0.1", p.port), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
    s.sendall(b"GET /download/huge HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        part = s.recv(4096)
        require(part, "the slow download's head")
        data += part
    head, body = data.split(b"\r\n\r\n", 1)
    require(head.startswith(b"HTTP/1.1 200"), f"the slow download: {head[:100]!r}")
    digest, got = hashlib.sha256(body), len(body)
    start, last = time.monotonic(), 0.0
    while got < size:
        part = s.recv(min(256 << 10, size - got))
        if not part:
            break
        digest.update(part)
        got += len(part)
        ahead = got / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)  # pacing the reader, not waiting for a state
        if time.monotonic() - last >= 0.25:
            last = time.monotonic()
            peak = max(peak, vm_rss_kib(worker))
    s.close()
    want = hashlib.sha256()
    for _ in range(HUGE_COPIES):
        want.update(BIG)
    check(got == size and digest.hexdigest() == want.hexdigest(), f"a slow 64 MiB download arrives whole: {got} bytes")
    check(peak - base < 16 << 10, f"slow client: worker VmRSS {base} KiB -> peak {peak} KiB (growth under 16 MiB)")


if __name__ == "__main__":
    main()
