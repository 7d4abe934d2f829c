#!/usr/bin/python3
"""The reverse proxy where its request and response cross: the client connection and the upstream
exchange call each other, and either may end the request from inside the other's call. Asserted,
against a real portico (run it on the ASan build too: a use after free there aborts the worker):
  - a chunked POST whose last chunk is malformed, to an upstream that drains the body slowly: the
    client gets its 400 when the upstream's drain lets the connection parse that chunk;
  - an upstream that answers 413 while the client's body is held back: the rest of the body is
    discarded and the client gets the 413 and its body;
  - after both, the same worker (no respawn) still answers, and no sanitizer report was written;
  - a proxied location's add_headers and expires apply to the upstream's 200 (expires replacing
    the upstream's Cache-Control and Expires) and not to its 404;
  - try_files' fallback into a proxied location sends the changed URI and query upstream;
  - an upstream's 204 loses its Content-Length;
  - error_pages answer the proxy's own 502 (no server) and 504 (proxy_read_timeout), a page held in
    memory and one read from its file; a missing page, or one its location's access rules deny,
    gives the built-in one.

usage: proxy_edges_test.py PORTICO_BINARY
"""
import fcntl
import os
import socket
import struct
import sys
import termios
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import Portico, RawServer, check, finish, read_head, read_to_close, wait_until  # noqa: E402


class HeldBack(RawServer):
    """Reads a request head and none of its body until told that the client's whole body sits in
    the proxy's receive buffer (self.arrived); then either answers 413 at once and closes
    ("early" in the path), or drains the body slowly through a small receive buffer and never
    answers (the proxy then keeps pausing the client and resuming it as the drain goes on)."""

    def __init__(self):
        self.arrived = threading.Event()
        super().__init__()
        # Inherited by the accepted sockets: a small window, and a small MSS so that the proxy's
        # send buffer (sized by the kernel from the MSS) stays small and the client is paused.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)

    def serve(self, c):
        with c:
            head, _ = read_head(c)
            if not head:
                return
            self.arrived.wait(30)
            if b"/early" in head.split(b"\r\n", 1)[0]:
                c.sendall(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope")
                return
            try:
                while c.recv(8192):
                    time.sleep(0.001)  # pacing the reader (the drain rate), not synchronising
            except OSError:
                pass


class Answers(RawServer):
    """Answers each request on its connection: 404 for a path with "missing", else 200 with its
    own Cache-Control and Expires, which a location's expires replaces."""

    def serve(self, c):
        with c:
            while True:
                head, _ = read_head(c)
                if not head:
                    return
                line = head.split(b"\r\n", 1)[0]
                if b"nocontent" in line:
                    c.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                elif b"missing" in line:
                    c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno")
                else:
                    target = line.split(b" ")[1]
                    c.sendall(b"HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nExpires: 0\r\nX-Up: 1\r\n"
                              b"X-Target: " + target + b"\r\nContent-Length: 2\r\n\r\nok")


def unsent(sock):
    """Bytes in `sock`'s send queue that the peer's kernel has not acknowledged."""
    return struct.unpack("i", fcntl.ioctl(sock, termios.TIOCOUTQ, b"\0" * 4))[0]


def exchange(port, request, upstream):
    """Sends `request` from a thread and, once the server's kernel holds all of it (the client's
    send queue is empty: the proxy, paused, has not read it), lets `upstream` go on. Returns what
    the client read until the server closed."""
    upstream.arrived.clear()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    sent = threading.Event()

    def send():
        try:
            s.sendall(request)
        except OSError:
            pass  # the server answered and closed before taking it all: the answer says why
        sent.set()

    t = threading.Thread(target=send, daemon=True)
    t.start()
    wait_until(lambda: sent.is_set() and unsent(s) == 0, "the request to reach the server's receive buffer")
    upstream.arrived.set()
    got = read_to_close(s)
    s.close()
    t.join(30)
    return got


def worker_pid(p):
    with open(f"/proc/{p.proc.pid}/task/{p.proc.pid}/children") as f:
        return int(f.read().split()[0])


def check_reentry(p, upstream):
    before = worker_pid(p)

    # 120 kB of 1000-byte chunks, then a chunk size that is not hex. The proxy holds 64 KiB for
    # the upstream, whose socket takes little more (its small MSS), so the client is paused with
    # the rest unread in the server's receive buffer (which holds it: see exchange); the chunk is
    # parsed when the upstream's drain, an upstream event, resumes the client.
    body = b"".join(b"3e8\r\n" + b"a" * 1000 + b"\r\n" for _ in range(120)) + b"zz\r\n"
    got = exchange(p.port, b"POST /held/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + body,
                   upstream)
    check(got.startswith(b"HTTP/1.1 400 "), f"a malformed last chunk behind a slow upstream: 400 ({got[:60]!r})")

    # 120 kB again: the client is paused when the 413 arrives, the rest of the body is discarded
    # and the response finished, all from inside the upstream's event.
    body = b"b" * 120_000
    head = b"POST /held/early HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    got = exchange(p.port, head + body, upstream)
    check(got.startswith(b"HTTP/1.1 413 ") and got.endswith(b"\r\n\r\nnope"),
          f"an upstream's early 413 while the client's body is paused reaches the client ({got[-80:]!r})")

    with socket.create_connection(("127.0.0.1", p.port), timeout=30) as s:
        s.sendall(b"GET /index.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        head, _ = read_head(s)
    check(head.startswith(b"HTTP/1.1 200"), f"the server answers after both ({head[:40]!r})")
    check(worker_pid(p) == before, "the same worker answered: it did not crash and respawn")


def fetch(port, path):
    """GET `path` on a connection of its own: the status line, the fields lower-cased, the body."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % path)
        got = read_to_close(s)
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    return lines[0], [l.lower() for l in lines[1:]], body


def check_route_headers(p):
    status, fields, _ = fetch(p.port, b"/hdr/ok")
    check(status.startswith("HTTP/1.1 200") and "x-added: yes" in fields and "x-up: 1" in fields,
          f"add_headers on a proxied 200, beside the upstream's fields: {status} {fields}")
    check("cache-control: max-age=3600" in fields and "cache-control: no-store" not in fields
          and "expires: 0" not in fields and sum(f.startswith("expires:") for f in fields) == 1,
          f"expires replaces the upstream's Cache-Control and Expires: {fields}")
    status, fields, _ = fetch(p.port, b"/try/no%20such?x=1")
    check(status.startswith("HTTP/1.1 200") and "x-target: /hdr/fallback?from=/try/no%20such" in fields,
          f"try_files' fallback into a proxied location sends the changed URI and its query up: {fields}")
    status, fields, _ = fetch(p.port, b"/hdr/nocontent")
    check(status.startswith("HTTP/1.1 204") and not any(f.startswith("content-length") for f in fields),
          f"an upstream's 204 goes on without its Content-Length: 0 (RFC 9110 8.6): {fields}")
    status, fields, _ = fetch(p.port, b"/hdr/missing")
    check(status.startswith("HTTP/1.1 404") and "x-added: yes" not in fields
          and not any(f.startswith("cache-control") for f in fields),
          f"no add_headers or expires on a proxied 404 (nginx without 'always'): {status} {fields}")


BIG_PAGE = ("<!DOCTYPE html><title>slow</title>" + "upstream too slow. " * 600 + "\n").encode()


def check_error_pages(p):
    status, fields, body = fetch(p.port, b"/dead/x")
    check(status.startswith("HTTP/1.1 502") and body == b"sorry\n" and "content-type: text/html" in fields
          and "content-length: 6" in fields, f"error_pages answer the proxy's own 502: {status} {fields} {body[:60]!r}")
    # A page larger than the cache keeps in memory: read from its descriptor.
    status, fields, body = fetch(p.port, b"/slow/x")
    check(status.startswith("HTTP/1.1 504") and body == BIG_PAGE and f"content-length: {len(BIG_PAGE)}" in fields,
          f"error_pages answer the proxy's own 504 with a {len(BIG_PAGE)}-byte page: {status} {len(body)} bytes")
    status, fields, body = fetch(p.port, b"/denied/x")
    check(status.startswith("HTTP/1.1 502") and b"secret" not in body and b"502 Bad Gateway" in body,
          f"an error page its location's access rules deny is not sent: {status} {body[:60]!r}")
    status, fields, body = fetch(p.port, b"/nopage/x")
    check(status.startswith("HTTP/1.1 502") and b"502 Bad Gateway" in body,
          f"a location whose error page is missing gets the built-in page: {status} {body[:60]!r}")


def main():
    binary = sys.argv[1]
    held, answers = HeldBack(), Answers()
    with tempfile.TemporaryDirectory(prefix="portico-proxy-edges-") as d:
        os.mkdir(os.path.join(d, "www"))
        with open(os.path.join(d, "www", "index.html"), "w") as f:
            f.write("static\n")
        with open(os.path.join(d, "www", "50x.html"), "w") as f:
            f.write("sorry\n")
        os.mkdir(os.path.join(d, "www", "private"))
        with open(os.path.join(d, "www", "private", "50x.html"), "w") as f:
            f.write("secret\n")
        with open(os.path.join(d, "www", "504.html"), "wb") as f:
            f.write(BIG_PAGE)
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))  # bound, never listening: connections to it are refused
        dead_port = dead.getsockname()[1]
        config = f"""
worker_processes = 1;
error_log = "@DIR@/error.log";
http = {{ access_log = "@DIR@/access.log"; client_max_body_size = "64m"; }};
servers = ({{
  listen = ["127.0.0.1:@PORT@"]; root = "@DIR@/www";
  error_pages = [ "502 /50x.html", "504 /504.html" ];
  locations = (
    {{ match = "/held/"; proxy_pass = "http://127.0.0.1:{held.port}"; }},
    {{ match = "/hdr/"; proxy_pass = "http://127.0.0.1:{answers.port}"; add_headers = [ "X-Added: yes" ];
       expires = "1h"; }},
    {{ match = "/try/"; try_files = [ "$uri", "/hdr/fallback?from=$uri" ]; }},
    {{ match = "/dead/"; proxy_pass = "http://127.0.0.1:{dead_port}"; }},
    {{ match = "/slow/"; proxy_pass = "http://127.0.0.1:{held.port}"; proxy_read_timeout = "300ms"; }},
    {{ match = "/private/"; access = [ "deny all" ]; }},
    {{ match = "/denied/"; proxy_pass = "http://127.0.0.1:{dead_port}"; error_pages = [ "502 /private/50x.html" ]; }},
    {{ match = "/nopage/"; proxy_pass = "http://127.0.0.1:{dead_port}"; error_pages = [ "502 /none.html" ]; }}
  );
}});
"""
        p = Portico(binary, d, config)
        try:
            check_reentry(p, held)
            check_route_headers(p)
            check_error_pages(p)
        finally:
            p.stop()
            p.check_clean_logs(allowed=("upstream",))
    finish()


if __name__ == "__main__":
    main()
